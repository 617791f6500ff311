//! The PDF signatures of every signing step, judged by someone else: pyHanko
//! (a third-party PAdES validator, installed by `scripts/test`) must find one
//! intact, trusted Ed25519 signature per signer, in signing order, the first
//! certifying the document and every later step a permitted change (form
//! filling and signing), and must call a tampered copy invalid.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use countersign_scenarios::{pem, pyhanko_validate, qpdf_check, signable_corpus};
use countersign_shared::test_utils::{CLIENT, Scenario, company_authority, prepared};
use countersign_shared::verify::{Verdict, verify};

/// A completed envelope on `pdf`: the director certified by the company's CA,
/// the client self-certified. Returns the final PDF and the trust roots (PEM).
fn signed(original: Vec<u8>) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut scenario = Scenario::certified(prepared(&original));
    let (ca, _) = company_authority();
    scenario.director_signs();
    scenario.client_signs();
    // The client's certificate as everyone knows it: from its Join in the log.
    let state = scenario.state();
    let client = state.certificates(CLIENT).expect("the client joined with a certificate");
    (scenario.render(), vec![pem(&ca), pem(&client[0])])
}

#[test]
fn pyhanko_finds_each_signers_signature_intact_in_order_for_every_corpus_pdf() -> anyhow::Result<()> {
    for (name, pdf) in signable_corpus()? {
        let (final_pdf, trust) = signed(pdf);
        let checked = pyhanko_validate(&final_pdf, &trust)?;
        assert_eq!(checked.code, 0, "{name}: pyHanko says invalid:\n{}", checked.output);
        assert_eq!(checked.lines.len(), 2, "{name}: one signature per signer:\n{}", checked.output);
        let director = &checked.lines[0];
        assert!(director.starts_with("countersign-signature-1:"), "{name}: {director}");
        assert!(
            director.ends_with(":INTACT:TRUSTED,EXTENDED_WITH_FORM_FILLING,ACCEPTABLE_MODIFICATIONS"),
            "{name}: the client's step must be a permitted change after the director's certification:\n{}",
            checked.output
        );
        let client = &checked.lines[1];
        assert!(client.starts_with("countersign-signature-2:"), "{name}: {client}");
        assert!(client.ends_with(":INTACT:TRUSTED,UNTOUCHED"), "{name}: the last signature covers the whole file:\n{}", checked.output);

        let (code, output) = qpdf_check(&final_pdf)?;
        assert!(!output.contains("ERROR"), "{name}: qpdf --check exit {code}:\n{output}");
        let report = verify(&final_pdf);
        assert_eq!(report.verdict, Verdict::Valid, "{name}: {:?}", report.reasons);
        assert_eq!(report.pdf_signatures.len(), 2);
        assert!(report.pdf_signatures.iter().all(|s| s.valid));
        assert_eq!(report.pdf_signatures[0].certificate_issuer.as_deref(), Some("Acme Ltd"));
    }
    Ok(())
}

#[test]
fn pyhanko_and_our_verifier_both_call_a_tampered_copy_invalid() -> anyhow::Result<()> {
    let (_, pdf) = signable_corpus()?.into_iter().next().expect("a corpus PDF");
    let (final_pdf, trust) = signed(pdf);
    // One byte of the signing log embedded in the director's step, which both signatures cover.
    let log_at = memchr_find(&final_pdf, countersign_shared::log::bundle::LOG_MAGIC).expect("the embedded log");
    let mut tampered = final_pdf.clone();
    tampered[log_at + 40] ^= 0x01;
    let checked = pyhanko_validate(&tampered, &trust)?;
    assert_ne!(checked.code, 0, "pyHanko must reject it:\n{}", checked.output);
    assert!(checked.lines.iter().all(|l| l.contains(":INVALID")), "{}", checked.output);
    assert_eq!(verify(&tampered).verdict, Verdict::Invalid);

    // Without the client's certificate among the trust roots, pyHanko does
    // not trust that signature: the trust comes from the certificates, not
    // from the file.
    let checked = pyhanko_validate(&final_pdf, &trust[..1])?;
    assert_ne!(checked.code, 0);
    assert!(checked.lines[1].contains("UNTRUSTED"), "{}", checked.output);
    Ok(())
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
