//! The signed document itself, as other programs read it: names, titles and
//! values in Cyrillic and Greek come out of `pdftotext` exactly; the signing
//! certificate is an audit trail (pictures, identification, every event at
//! its author's offset from UTC and in UTC) that flows onto more pages for
//! many signers; scripts the PDF cannot show yet are refused in plain words;
//! signature blocks placed without explicit fields land on blank parts of the
//! real PDFs' last pages, or on a signature page, never past an edge.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use std::path::Path;
use std::process::Command;

use countersign_node::fields::{Placement, default_fields, on_signature_page};
use countersign_scenarios::crafted::{self, RawPdf};
use countersign_scenarios::raster::{Renderer, SeenRect};
use countersign_scenarios::{pdftoppm, qpdf_check, scratch_dir, signable_corpus};
use countersign_shared::log::{Act, Value};
use countersign_shared::model::{Contact, Field, FieldKind, Party, Rect, Role};
use countersign_shared::source::{prepare, with_signature_page};
use countersign_shared::state::Status;
use countersign_shared::test_utils::{CLIENT, DIRECTOR, Scenario, contract_pdf, contract_terms, one_page_pdf, party_key, signature_png};
use countersign_shared::verify::{Verdict, verify};

const TITLE: &str = "Договор № 118 — Σύμβαση παροχής υπηρεσιών";
const DIRECTOR_NAME: &str = "Дмитрий Петров";
const CLIENT_NAME: &str = "Αθηνά Παπαδοπούλου";
const CLIENT_ADDRESS: &str = "Οδός Ερμού 12, Αθήνα";

/// The text `pdftotext` reads from `pdf`, pages `first` to `last` (from 1).
fn pdftotext(pdf: &[u8], first: usize, last: usize) -> String {
    let dir = scratch_dir("document-text").unwrap();
    let path = dir.join("final.pdf");
    std::fs::write(&path, pdf).unwrap();
    let output = Command::new("pdftotext")
        .args(["-f", &first.to_string(), "-l", &last.to_string(), "-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext runs (poppler-utils)");
    assert!(output.status.success(), "pdftotext: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn page_count(pdf: &[u8]) -> usize {
    lopdf::Document::load_mem(pdf).unwrap().get_pages().len()
}

/// Keeps a picture of `page` (from 1) under `target/screenshots/`.
fn screenshot(pdf: &[u8], page: usize, name: &str) {
    let pages = pdftoppm(pdf, 100).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&pages[page - 1], dir.join(format!("{name}.png"))).unwrap();
}

/// The standard contract with a Russian title and director and a Greek client.
fn international_contract() -> Scenario {
    let pdf = contract_pdf(2);
    let mut terms = contract_terms(&pdf);
    terms.title = TITLE.into();
    terms.parties[DIRECTOR as usize].name = DIRECTOR_NAME.into();
    terms.parties[CLIENT as usize].name = CLIENT_NAME.into();
    Scenario::joined(pdf, terms)
}

#[test]
fn cyrillic_and_greek_come_out_of_the_final_pdf_exactly() {
    let mut s = international_contract();
    s.director_signs();
    let signature = s.image(signature_png(2));
    let values = vec![(3, Value::Text(CLIENT_NAME.into())), (4, Value::Text(CLIENT_ADDRESS.into())), (5, signature)];
    s.append(&party_key(CLIENT), Act::Sign { slot: CLIENT, values });
    s.seal(CLIENT);
    assert!(s.state().rejected().is_empty(), "{:?}", s.state().rejected());
    assert_eq!(s.state().status(), Status::Completed);
    let pdf = s.render();
    assert_eq!(verify(&pdf).verdict, Verdict::Valid);
    let (code, problems) = qpdf_check(&pdf).unwrap();
    assert_eq!(code, 0, "qpdf --check: {problems}");

    let document = pdftotext(&pdf, 1, 2);
    assert!(document.contains(CLIENT_NAME), "the client's name field:\n{document}");
    assert!(document.contains(CLIENT_ADDRESS), "the client's address field:\n{document}");
    let certificate = pdftotext(&pdf, 3, page_count(&pdf));
    for expected in [TITLE, DIRECTOR_NAME, CLIENT_NAME] {
        assert!(certificate.contains(expected), "'{expected}' on the certificate:\n{certificate}");
    }
    assert!(!certificate.contains('?'), "no letter drawn as a question mark:\n{certificate}");
    screenshot(&pdf, 3, "document-certificate");
}

#[test]
fn the_certificate_is_an_audit_trail_at_each_persons_offset_and_in_utc() {
    let mut s = international_contract();
    s.director_signs();
    s.client_signs();
    let pdf = s.render();
    let certificate = pdftotext(&pdf, 3, page_count(&pdf));
    let flat = certificate.split_whitespace().collect::<Vec<_>>().join(" ");
    // The company is in Moscow (UTC+03:00) and the client in New York (UTC-05:00), as
    // their entries record (see `test_utils::utc_offset_of`); each time is also given in UTC.
    for expected in [
        "Sent 2026-11-28 12:00:00 UTC+03:00 (09:00:00 UTC)",
        "Identified by key only (self-issued certificate)",
        "Invited 2026-11-28 12:01:00 UTC+03:00 (09:01:00 UTC), by the sender",
        "Opened the invitation and joined",
        "Opened the invitation and joined 2026-11-28 04:04:00 UTC-05:00 (09:04:00 UTC)",
        "Completed",
        "Step 1: PDF signature of Дмитрий Петров, made 2026-11-28",
        "Step 2: PDF signature of Αθηνά Παπαδοπούλου",
    ] {
        assert!(flat.contains(expected), "'{expected}' in the audit trail:\n{certificate}");
    }
    let director_signed = s.state().signature(DIRECTOR).unwrap().claimed_time;
    let local = countersign_shared::time::local_and_utc(director_signed, countersign_shared::time::UtcOffset::from_minutes(180).unwrap());
    assert!(flat.contains(&format!("Signed {local}")), "the director's signature at +03:00 and in UTC ({local}):\n{certificate}");
}

#[test]
fn many_signers_flow_onto_more_certificate_pages() {
    let pdf = contract_pdf(1);
    let mut terms = contract_terms(&pdf);
    terms.fields.clear();
    terms.parties.clear();
    for n in 0..12u8 {
        terms.parties.push(Party {
            name: format!("Signer {n} Подписант"),
            role: if n == 11 { Role::Client } else { Role::CompanySigner },
            contact: Contact::Email(format!("signer{n}@acme.test")),
            order: n + 1,
            stamp_required: false,
        });
        terms.fields.push(Field {
            label: format!("Signature {n}"),
            kind: FieldKind::Signature,
            page: 1,
            rect: Rect { x: 20.0 + f32::from(n % 4) * 140.0, y: 40.0 + f32::from(n / 4) * 60.0, width: 120.0, height: 50.0 },
            assignee: n,
            required: true,
        });
    }
    let mut s = Scenario::joined(pdf, terms);
    for n in 0..12u8 {
        let signature = s.image(signature_png(u32::from(n)));
        s.append(&party_key(n), Act::Sign { slot: n, values: vec![(u16::from(n), signature)] });
        s.seal(n);
    }
    assert_eq!(s.state().status(), Status::Completed, "{:?}", s.state().rejected());
    let final_pdf = s.render();
    assert_eq!(verify(&final_pdf).verdict, Verdict::Valid);
    let pages = page_count(&final_pdf);
    assert!(pages >= 3, "one document page and at least two certificate pages, not {pages}");
    let certificate = pdftotext(&final_pdf, 2, pages);
    for n in 0..12 {
        assert!(certificate.contains(&format!("Signer {n} Подписант")), "signer {n} has a box:\n{certificate}");
    }
    assert!(certificate.contains(&format!("certificate page {} of {}", pages - 1, pages - 1)), "{certificate}");
    screenshot(&final_pdf, pages, "document-certificate-last-page");
}

#[test]
fn writing_the_pdf_cannot_show_yet_is_refused_in_plain_words() {
    let pdf = contract_pdf(1);
    let mut terms = contract_terms(&pdf);
    terms.parties[CLIENT as usize].name = "שרה כהן".into();
    let refused = terms.validate().unwrap_err();
    assert!(refused.contains("right-to-left"), "{refused}");
    let mut terms = contract_terms(&pdf);
    terms.title = "契約書".into();
    let refused = terms.validate().unwrap_err();
    assert!(refused.contains("Chinese, Japanese and Korean"), "{refused}");

    // A signer's value in such writing is refused by every node's rules.
    let mut s = Scenario::contract();
    s.director_signs();
    let signature = s.image(signature_png(2));
    let values = vec![(3, Value::Text("王小明".into())), (4, Value::Text("Main St".into())), (5, signature)];
    s.append(&party_key(CLIENT), Act::Sign { slot: CLIENT, values });
    let rejected = format!("{:?}", s.state().rejected());
    assert!(rejected.contains("cannot be shown in the signed PDF yet"), "{rejected}");
    assert!(s.state().signature(CLIENT).is_none());

    // Text that reads one way in a browser and another in the PDF: a
    // right-to-left override turns "0001" into "1000" on screen only.
    let mut s = Scenario::contract();
    s.director_signs();
    let signature = s.image(signature_png(2));
    let values = vec![(3, Value::Text("Pay \u{202E}0001\u{202C} EUR".into())), (4, Value::Text("Main St".into())), (5, signature)];
    s.append(&party_key(CLIENT), Act::Sign { slot: CLIENT, values });
    let rejected = format!("{:?}", s.state().rejected());
    assert!(rejected.contains("invisible formatting character"), "{rejected}");
    let mut terms = contract_terms(&pdf);
    terms.parties[CLIENT as usize].name = "Carl\nSigned 2026-01-01".into();
    assert!(terms.validate().unwrap_err().contains("one line"));
}

#[test]
fn a_value_too_long_for_its_box_is_refused_rather_than_cut_off() {
    let mut s = Scenario::contract();
    s.director_signs();
    let signature = s.image(signature_png(2));
    let long = "Carl Client, acting on behalf of a company whose name goes on and on and on".repeat(3);
    let values = vec![(3, Value::Text(long)), (4, Value::Text("1 Main St".into())), (5, signature)];
    s.append(&party_key(CLIENT), Act::Sign { slot: CLIENT, values });
    let rejected = format!("{:?}", s.state().rejected());
    assert!(rejected.contains("too long for its box on the page"), "{rejected}");
    assert!(s.state().signature(CLIENT).is_none());
    s.client_signs();
    assert_eq!(s.state().status(), Status::Completed, "the usual values fit");
}

#[test]
fn a_certificate_issuer_that_would_add_lines_to_the_audit_trail_is_refused() {
    use countersign_shared::pades::certificate::{Issuer, issue_authority};
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let mut s = Scenario::invited(pdf, terms);
    let ca_key = countersign_shared::test_utils::key(90);
    let forged = issue_authority(&ca_key, "Acme\nPhone confirmed by a texted code", 0).unwrap();
    s.join_certified_by(DIRECTOR, Issuer::Authority { certificate: &forged, key: &ca_key });
    let rejected = format!("{:?}", s.state().rejected());
    assert!(rejected.contains("issuer's name") && rejected.contains("one line"), "{rejected}");
    assert!(s.state().binding(DIRECTOR).is_none());
}

#[test]
fn default_signature_blocks_cover_nothing_on_the_corpus_and_fit_any_page() {
    let parties = contract_terms(&contract_pdf(1)).parties;
    for (name, original) in signable_corpus().unwrap() {
        let prepared = prepare(&original).unwrap();
        let pages = &prepared.info.pages;
        let (pdf, pages, fields) = match default_fields(&parties, &prepared.bytes, pages) {
            Placement::LastPage(fields) => (prepared.bytes.clone(), pages.clone(), fields),
            Placement::SignaturePage { width, height } => {
                let added = with_signature_page(&prepared.bytes, width, height).unwrap();
                let fields = on_signature_page(&parties, &added.info.pages).unwrap();
                (added.bytes, added.info.pages, fields)
            }
        };
        let last = pages.last().unwrap();
        let (width, height) = last.visible_size();
        let drawn = Renderer::Poppler.draw(&pdf, 72).unwrap();
        let page = drawn.last().unwrap();
        assert_eq!(fields.len(), 6, "{name}");
        for field in &fields {
            let r = field.rect;
            assert_eq!(field.page as usize, pages.len(), "{name}: {} on the last page", field.label);
            assert!(
                r.x >= 0.0 && r.y >= 0.0 && r.x + r.width <= width && r.y + r.height <= height,
                "{name}: {} leaves the page",
                field.label
            );
            let rect = SeenRect { x: r.x, y: r.y, width: r.width, height: r.height };
            assert!(!page.drawn_inside(rect, height, 72), "{name}: {} covers what the page shows", field.label);
        }
    }
}

#[test]
fn a_page_of_a_few_points_gets_a_signature_page_and_a_whole_final_pdf() {
    let tiny = prepare(&one_page_pdf(6.0, 6.0, b"0 g 1 1 2 2 re f")).unwrap();
    let parties = contract_terms(&contract_pdf(1)).parties;
    let Placement::SignaturePage { width, height } = default_fields(&parties, &tiny.bytes, &tiny.info.pages) else {
        panic!("a page of six points has no room for a signature");
    };
    let added = with_signature_page(&tiny.bytes, width, height).unwrap();
    assert_eq!((added.info.pages.len(), added.info.pages[1].visible_size()), (2, (595.0, 842.0)), "an A4 signature page");
    let mut terms = contract_terms(&added.bytes);
    terms.fields = on_signature_page(&parties, &added.info.pages).unwrap();
    let mut s = Scenario::joined(added.bytes.clone(), terms);
    s.director_signs();
    let signature = s.image(signature_png(2));
    let values = vec![(3, signature), (4, Value::Text(CLIENT_NAME.into())), (5, Value::Text(CLIENT_ADDRESS.into()))];
    s.append(&party_key(CLIENT), Act::Sign { slot: CLIENT, values });
    s.seal(CLIENT);
    assert_eq!(s.state().status(), Status::Completed, "{:?}", s.state().rejected());
    let pdf = s.render();
    assert_eq!(verify(&pdf).verdict, Verdict::Valid);
    assert_eq!(qpdf_check(&pdf).unwrap().0, 0);
    assert_eq!(page_count(&pdf), 3, "the tiny page, the signature page, the certificate");
    let signature_page = pdftotext(&pdf, 2, 2);
    assert!(signature_page.contains("Signatures") && signature_page.contains(CLIENT_ADDRESS), "{signature_page}");
    screenshot(&pdf, 2, "document-signature-page");
}

#[test]
fn a_pdf_whose_pages_cannot_be_found_is_refused_in_plain_words() {
    let objects = [(1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()), (2, b"<< /Type /Pages /Kids [] /Count 0 >>".to_vec())];
    let bytes = RawPdf::new(&objects, "/Size 3 /Root 1 0 R").bytes();
    let refused = prepare(&bytes).unwrap_err().to_string();
    assert_eq!(refused, "this PDF is damaged: its page list is empty; save it again from the program that made it");
}

#[test]
fn a_source_forms_cyrillic_value_is_drawn_and_can_be_copied() {
    // A form that leaves drawing its value to readers; the value in UTF-16 (a PDF text string).
    let value: String = "Иван Иванов, ООО «Ромашка»".encode_utf16().map(|unit| format!("{unit:04X}")).collect();
    let catalog = "/AcroForm << /Fields [6 0 R] /NeedAppearances true /DA (/Helv 0 Tf 0 g) >>";
    let mut objects = crafted::one_page("0 g 50 750 200 2 re f", "", "/Annots [6 0 R]", catalog);
    let widget = format!("<< /Type /Annot /Subtype /Widget /FT /Tx /T (buyer) /V <FEFF{value}> /Rect [50 700 400 720] /P 3 0 R /F 4 >>");
    objects.push((6, widget.into_bytes()));
    let bytes = RawPdf::new(&objects, "/Size 7 /Root 1 0 R").bytes();

    let prepared = prepare(&bytes).unwrap();
    let text = pdftotext(&prepared.bytes, 1, 1);
    assert!(text.contains("Иван Иванов, ООО «Ромашка»"), "{text}");
}
