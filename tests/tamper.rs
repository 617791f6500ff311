//! Tampering with a signed final PDF is detected, with a reason a person understands.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use countersign_shared::log::Act;
use countersign_shared::log::bundle::{LOG_MAGIC, decode_log};
use countersign_shared::test_utils::{CLIENT, Scenario, contract_pdf, contract_terms};
use countersign_shared::verify::{Report, Verdict, verify};
use lopdf::{Document, IncrementalDocument, Object, Stream};

fn signed() -> (Scenario, Vec<u8>) {
    let scenario = Scenario::signed_contract();
    let pdf = scenario.render();
    assert_eq!(verify(&pdf).verdict, Verdict::Valid);
    (scenario, pdf)
}

fn assert_invalid_because(report: &Report, expected: &str) {
    assert_eq!(report.verdict, Verdict::Invalid, "{report:?}");
    assert!(report.reasons.iter().any(|r| r.contains(expected)), "expected a reason containing {expected:?}, got {:?}", report.reasons);
}

/// Where the embedded log starts and how long it is.
fn log_span(pdf: &[u8]) -> (usize, usize) {
    let at = pdf.windows(LOG_MAGIC.len()).rposition(|w| w == LOG_MAGIC).expect("a log is embedded");
    let (_, entries) = decode_log(&pdf[at..]).expect("the log decodes");
    let len = LOG_MAGIC.len() + 32 + 4 + entries.iter().map(|e| 4 + e.bytes().len()).sum::<usize>();
    (at, len)
}

fn splice(pdf: &[u8], at: usize, len: usize, with: &[u8]) -> Vec<u8> {
    [&pdf[..at], with, &pdf[at + len..]].concat()
}

#[test]
fn bytes_appended_after_signing() {
    let (_, mut pdf) = signed();
    pdf.extend_from_slice(b"\n% harmless-looking comment\n");
    assert_invalid_because(&verify(&pdf), "Bytes were added after signing");
}

#[test]
fn any_byte_of_the_source_part_changed() {
    let (scenario, pdf) = signed();
    for at in [0, scenario.pdf.len() / 3, scenario.pdf.len() - 1] {
        let mut changed = pdf.clone();
        changed[at] ^= 0x01;
        assert_invalid_because(&verify(&changed), "The original document was changed");
    }
}

#[test]
fn an_extra_incremental_update_that_draws_something_new() {
    let (_, pdf) = signed();
    let previous = Document::load_mem(&pdf).expect("our output parses");
    let page = previous.get_pages()[&1];
    let mut update = IncrementalDocument::create_from(pdf.clone(), previous);
    update.opt_clone_object_to_new_document(page).expect("page clones");
    let drawing =
        update.new_document.add_object(Stream::new(lopdf::Dictionary::new(), b"BT /F1 30 Tf 100 400 Td (PAID IN FULL) Tj ET".to_vec()));
    let page_dict = update.new_document.get_object_mut(page).and_then(Object::as_dict_mut).expect("page dict");
    let old = page_dict.get(b"Contents").cloned().expect("contents");
    let mut parts = old.as_array().cloned().unwrap_or_else(|_| vec![old]);
    parts.push(Object::Reference(drawing));
    page_dict.set("Contents", Object::Array(parts));
    let mut tampered = Vec::new();
    update.save_to(&mut tampered).expect("saves");
    assert!(tampered.starts_with(&pdf));
    assert_invalid_because(&verify(&tampered), "Bytes were added after signing");
}

#[test]
fn the_embedded_log_swapped_for_another() {
    let (_, pdf) = signed();
    let pdf_b = {
        let source = contract_pdf(2);
        let mut terms = contract_terms(&source);
        terms.title = "Consulting agreement (cheaper)".into();
        let mut other = Scenario::joined(source, terms);
        other.director_signs();
        other.client_signs();
        other.render()
    };
    let (at, len) = log_span(&pdf);
    let (at_b, len_b) = log_span(&pdf_b);
    let swapped = splice(&pdf, at, len, &pdf_b[at_b..at_b + len_b]);
    let report = verify(&swapped);
    assert_eq!(report.title.as_deref(), Some("Consulting agreement (cheaper)"));
    assert_invalid_because(&report, "The file was changed after signing");
}

#[test]
fn a_partys_entry_removed_from_the_log() {
    let (scenario, pdf) = signed();
    let (at, len) = log_span(&pdf);
    let (envelope, entries) = decode_log(&pdf[at..]).expect("decodes");
    let kept: Vec<_> = entries.iter().filter(|e| !matches!(e.entry().act, Act::Sign { slot: CLIENT, .. })).cloned().collect();
    assert_eq!(kept.len(), entries.len() - 1);
    let state = countersign_shared::state::fold(envelope, kept).expect("folds");
    let valid: Vec<_> = state.valid().iter().collect();
    let log = countersign_shared::log::bundle::encode_log(&envelope, &valid);
    let report = verify(&splice(&pdf, at, len, &log));
    assert_invalid_because(&report, "Carl Client (client) has not signed");
    assert_eq!(scenario.envelope.to_string(), report.envelope.unwrap_or_default());
}

#[test]
fn a_log_entry_altered_in_place() {
    let (_, pdf) = signed();
    let (at, len) = log_span(&pdf);
    let mut altered = pdf.clone();
    altered[at + len - 1] ^= 0x01; // the last byte of the last entry's signature
    assert_invalid_because(&verify(&altered), "signature does not verify");
}

#[test]
fn the_file_cut_short() {
    let (_, pdf) = signed();
    for cut in [1, 100] {
        let report = verify(&pdf[..pdf.len() - cut]);
        // A broken download cannot be checked; the person is told to fetch it again.
        assert_eq!(report.verdict, Verdict::Unreadable, "{:?}", report.reasons);
        assert!(report.summary.contains("cut short") && report.summary.contains("Download it again"), "{}", report.summary);
    }
    // Cut into the client's step, the file is the director's step plus
    // leftovers: never valid.
    let (at, _) = log_span(&pdf);
    let report = verify(&pdf[..at + 10]);
    assert_ne!(report.verdict, Verdict::Valid, "{:?}", report.reasons);
}

#[test]
fn a_pdf_signature_value_changed_in_place() {
    let scenario = Scenario::signed_contract();
    let rendered = countersign_shared::render::render(&scenario.pdf, &scenario.state(), &scenario.blobs).expect("renders");
    // The last hex digit of the director's Ed25519 value (the CMS ends with it).
    let mut pdf = rendered.bytes.clone();
    let last_digit = rendered.steps[0].hole.end - 2;
    pdf[last_digit] = if pdf[last_digit] == b'0' { b'1' } else { b'0' };
    let report = verify(&pdf);
    assert_invalid_because(&report, "The PDF signature of Dmitri Director (countersign-signature-1) does not verify");
    assert_invalid_because(&report, "differs from the one the signing log records");
    // The client's signature covers the director's, value included: it breaks too.
    assert!(report.pdf_signatures.iter().all(|s| !s.valid), "{:?}", report.pdf_signatures);

    // The client's value: the last step, whose Seal is not in the file.
    let mut pdf = rendered.bytes.clone();
    let last_digit = rendered.steps[1].hole.end - 2;
    pdf[last_digit] = if pdf[last_digit] == b'0' { b'1' } else { b'0' };
    assert_invalid_because(&verify(&pdf), "The PDF signature of Carl Client (countersign-signature-2) does not verify");

    // Not a CMS at all in the director's hole: the rebuilt file differs there.
    let mut pdf = rendered.bytes;
    let hole = rendered.steps[0].hole;
    pdf[hole.start + 1..hole.end - 1].fill(b'f');
    assert_invalid_because(&verify(&pdf), "in the part signed by Dmitri Director");
}

/// Each PDF signature is judged over the bytes of the file as uploaded: a
/// change inside the client's step leaves the director's signature, which
/// does not cover it, intact, and breaks the client's.
#[test]
fn each_pdf_signature_is_judged_over_the_uploaded_bytes() {
    let scenario = Scenario::signed_contract();
    let rendered = countersign_shared::render::render(&scenario.pdf, &scenario.state(), &scenario.blobs).expect("renders");
    let client_step = &rendered.steps[1];
    // A byte of the client's step, outside its signature value.
    let at = client_step.start + 40;
    let mut pdf = rendered.bytes.clone();
    pdf[at] ^= 0x20;
    let report = verify(&pdf);
    assert_invalid_because(&report, "in the part signed by Carl Client");
    assert_eq!(report.pdf_signatures.len(), 2, "{:?}", report.reasons);
    assert!(report.pdf_signatures[0].valid, "the director's signature does not cover the changed byte");
    assert!(!report.pdf_signatures[1].valid, "the client's signature covers it");
    assert_invalid_because(&report, "The PDF signature of Carl Client (countersign-signature-2) does not verify over the bytes it covers");
}

#[test]
fn a_second_pdf_joined_to_the_end_is_named_as_such() {
    let (_, pdf) = signed();
    let other = contract_pdf(1);
    let joined = [pdf.as_slice(), &other].concat();
    let report = verify(&joined);
    assert_invalid_because(&report, "Bytes were added after signing");
    assert!(report.summary.contains("another PDF file was joined to its end"), "{}", report.summary);
    // A second Countersign document joined to the end reads the same way.
    let (_, second) = signed();
    let report = verify(&[pdf.as_slice(), &second].concat());
    assert!(report.summary.contains("another PDF file was joined to its end"), "{}", report.summary);
}

#[test]
fn a_damaged_last_log_is_a_change_not_a_missing_signature() {
    let (_, pdf) = signed();
    let (at, len) = log_span(&pdf);
    let mut damaged = pdf.clone();
    // A length prefix of an entry in the middle of the last log.
    damaged[at + len / 2] ^= 0xff;
    let report = verify(&damaged);
    assert_eq!(report.verdict, Verdict::Invalid);
    assert!(!report.summary.contains("has not signed"), "{}", report.summary);
    assert!(
        report.summary.contains("damaged") || report.summary.contains("changed after signing"),
        "the reason names the change: {}",
        report.summary
    );
}

/// Where the object holding the last log starts (the start of the last step).
fn last_step_start(pdf: &[u8]) -> usize {
    let (at, _) = log_span(pdf);
    let header = memchr::memmem::rfind(&pdf[..at], b" 0 obj").expect("the log's object");
    pdf[..header].iter().rposition(|b| *b == b'\n').map_or(0, |newline| newline + 1)
}

#[test]
fn a_change_followed_by_the_start_of_a_log_is_a_change_not_a_broken_download() {
    let (_, pdf) = signed();
    let previous = Document::load_mem(&pdf).expect("our output parses");
    let page = previous.get_pages()[&1];
    let mut update = IncrementalDocument::create_from(pdf.clone(), previous);
    update.opt_clone_object_to_new_document(page).expect("page clones");
    let drawing = update.new_document.add_object(Stream::new(lopdf::Dictionary::new(), b"BT /F1 30 Tf 100 400 Td (VOID) Tj ET".to_vec()));
    let page_dict = update.new_document.get_object_mut(page).and_then(Object::as_dict_mut).expect("page dict");
    page_dict.set("Contents", Object::Reference(drawing));
    let mut tampered = Vec::new();
    update.save_to(&mut tampered).expect("saves");
    // Then what looks like the first bytes of another signing step's log.
    tampered.extend_from_slice(b"1 0 obj\n<</Type/EmbeddedFile/Length 900>>stream\n");
    tampered.extend_from_slice(LOG_MAGIC);
    tampered.extend_from_slice(&[0; 5]);
    let report = verify(&tampered);
    assert_invalid_because(&report, "Bytes were added after signing");
    assert!(!report.summary.contains("Download it again"), "{}", report.summary);
}

#[test]
fn many_end_markers_added_after_signing_are_added_bytes() {
    let (_, mut pdf) = signed();
    pdf.extend_from_slice(&b"%%EOF\n".repeat(200));
    assert_invalid_because(&verify(&pdf), "Bytes were added after signing");
}

#[test]
fn a_copy_of_the_last_step_appended_is_named_as_such() {
    let (_, pdf) = signed();
    let step = pdf[last_step_start(&pdf)..].to_vec();
    let report = verify(&[pdf.as_slice(), &step].concat());
    assert_invalid_because(&report, "Bytes were added after signing");
    assert!(report.summary.contains("a copy of a signing step"), "{}", report.summary);
    assert!(!report.summary.contains("altered"), "{}", report.summary);
}

#[test]
fn a_change_hidden_behind_many_update_ends_is_a_change_not_a_broken_download() {
    let (_, pdf) = signed();
    let previous = Document::load_mem(&pdf).expect("our output parses");
    let page = previous.get_pages()[&1];
    let mut update = IncrementalDocument::create_from(pdf.clone(), previous);
    update.opt_clone_object_to_new_document(page).expect("page clones");
    // Inside the change, 70 ends of updates that look well formed, then the
    // start of a log cut short.
    let mut hidden = b"xref\n0 1\n0000000010 00000 n\r\ntrailer\n".to_vec();
    for _ in 0..70 {
        // Where the section above lands, filled in once the file is written.
        hidden.extend_from_slice(b"startxref\n@@@@@@@@@@\n%%EOF\n");
    }
    hidden.extend_from_slice(b"9 0 obj\n<<>>stream\n");
    hidden.extend_from_slice(LOG_MAGIC);
    hidden.extend_from_slice(&[0; 32]);
    hidden.extend_from_slice(&1u32.to_be_bytes());
    hidden.extend_from_slice(&200_000u32.to_be_bytes());
    let drawing = update.new_document.add_object(Stream::new(lopdf::Dictionary::new(), hidden));
    let page_dict = update.new_document.get_object_mut(page).and_then(Object::as_dict_mut).expect("page dict");
    page_dict.set("Contents", Object::Reference(drawing));
    let mut tampered = Vec::new();
    update.save_to(&mut tampered).expect("saves");
    let section = memchr::memmem::find(&tampered, b"xref\n0 1\n0000000010").expect("the hidden section is written as it is");
    let offset = format!("{section:010}");
    while let Some(at) = memchr::memmem::find(&tampered, b"@@@@@@@@@@") {
        tampered[at..at + 10].copy_from_slice(offset.as_bytes());
    }
    let report = verify(&tampered);
    assert_eq!(report.verdict, Verdict::Invalid, "{report:?}");
    assert!(report.summary.contains("changed after signing") || report.summary.contains("added after signing"), "{}", report.summary);
    assert!(!report.summary.contains("Download it again"), "{}", report.summary);
}
