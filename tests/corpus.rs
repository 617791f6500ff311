//! Every real-world PDF of the corpus goes through the whole flow; the final
//! PDF is sound to other tools (qpdf, pdftoppm) and verifies. The encrypted
//! one, truncated files and non-PDFs get clear errors.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use countersign_scenarios::{ENCRYPTED, corpus_dir, pdftoppm, qpdf_check, signable_corpus};
use countersign_shared::source::{PdfError, inspect, prepare};
use countersign_shared::test_utils::{Scenario, VERIFIER, contract_terms, prepared};
use countersign_shared::verify::{Verdict, verify};

#[test]
fn every_corpus_pdf_is_signed_checked_by_other_tools_and_verifies() -> anyhow::Result<()> {
    for (name, original) in signable_corpus()? {
        let pdf = prepared(&original);
        let pages = inspect(&pdf).map_err(|e| anyhow::anyhow!("{name}: {e}"))?.pages.len();
        let terms = contract_terms(&pdf);
        let mut scenario = Scenario::joined(pdf.clone(), terms);
        scenario.director_signs();
        scenario.client_signs();
        let final_pdf = scenario.render();

        assert!(final_pdf.starts_with(&pdf), "{name}: the prepared source's bytes must stay untouched at the start");
        assert_eq!(final_pdf, scenario.render(), "{name}: two renders must be byte-identical");

        let (source_code, _) = qpdf_check(&pdf)?;
        let (code, output) = qpdf_check(&final_pdf)?;
        assert!(code == 0 || code == source_code, "{name}: qpdf --check exit {code} (source: {source_code}):\n{output}");
        assert!(!output.contains("ERROR"), "{name}: qpdf found errors:\n{output}");

        let rendered = pdftoppm(&final_pdf, 20)?;
        assert_eq!(rendered.len(), pages + 1, "{name}: every page and the certificate page must render");

        let report = verify(&final_pdf);
        assert_eq!(report.verdict, Verdict::Valid, "{name}: {:?}", report.reasons);
        assert_eq!(report.parties.len(), 2);
        assert!(report.parties.iter().all(|p| p.signed));
    }
    Ok(())
}

#[test]
fn the_encrypted_pdf_is_refused_with_a_clear_error() -> anyhow::Result<()> {
    let pdf = std::fs::read(corpus_dir().join(ENCRYPTED.0))?;
    assert_eq!(prepare(&pdf).map(|p| p.bytes), Err(PdfError::Encrypted));
    assert!(PdfError::Encrypted.to_string().contains("password"));
    let report = verify(&pdf);
    assert_eq!(report.verdict, Verdict::Unreadable);
    assert!(report.summary.contains("encrypted"), "{}", report.summary);
    Ok(())
}

#[test]
fn truncated_and_non_pdf_files_get_clear_errors() -> anyhow::Result<()> {
    assert_eq!(prepare(b"Hello, this is a text file.").map(|p| p.bytes), Err(PdfError::NotPdf));
    assert_eq!(prepare(b"").map(|p| p.bytes), Err(PdfError::NotPdf));
    for (name, pdf) in signable_corpus()? {
        for cut in [pdf.len() / 2, pdf.len() / 10, 40] {
            match prepare(&pdf[..cut]).map(|p| p.bytes) {
                Err(PdfError::Damaged(_)) | Err(PdfError::NotPdf) | Err(PdfError::Ambiguous(_)) => {}
                other => panic!("{name} cut at {cut}: expected a damaged-file error, got {other:?}"),
            }
        }
    }
    let report = verify(b"just text");
    assert_eq!(report.verdict, Verdict::Unreadable);
    assert_eq!(report.summary, "This file is not a PDF.");
    Ok(())
}

/// The QR code on the certificate page is drawn by the renderer itself; a QR
/// reader must get this envelope's verifier page from the printed page.
#[test]
fn the_certificate_qr_code_opens_this_documents_verifier_page() -> anyhow::Result<()> {
    let scenario = Scenario::signed_contract();
    let pages = pdftoppm(&scenario.render(), 150)?;
    let certificate = pages.last().expect("the certificate page renders");
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(certificate)?));
    let mut reader = decoder.read_info()?;
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels)?;
    let channels = info.color_type.samples();
    let luma = |x: usize, y: usize| pixels[(y * info.width as usize + x) * channels];
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(info.width as usize, info.height as usize, luma);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code on the certificate page");
    let (_, link) = grids[0].decode()?;
    assert_eq!(link, format!("{VERIFIER}/e/{}", scenario.envelope));
    Ok(())
}

#[test]
fn a_pdf_that_is_already_digitally_signed_is_refused_with_a_clear_error() -> anyhow::Result<()> {
    // A Countersign final PDF is certified (DocMDP): nothing may be signed after it.
    let signed = Scenario::signed_contract().render();
    assert_eq!(prepare(&signed).map(|p| p.bytes), Err(PdfError::Certified));
    // The same file with approval signatures only: a certification must still come first.
    let mut doc = lopdf::Document::load_mem(&signed)?;
    let root = doc.trailer.get(b"Root")?.as_reference()?;
    doc.get_dictionary_mut(root)?.remove(b"Perms");
    let mut approved = Vec::new();
    doc.save_to(&mut approved)?;
    assert_eq!(prepare(&approved).map(|p| p.bytes), Err(PdfError::AlreadySigned));
    assert!(PdfError::AlreadySigned.to_string().contains("already digitally signed"));
    Ok(())
}
