//! What the signers saw is what the final PDF shows, to every reader.
//!
//! For every corpus PDF and one crafted file per known attack on that promise,
//! either preparing refuses the file with a clear error, or the final PDF,
//! drawn by two independent renderers (poppler and MuPDF), is pixel-identical
//! to the prepared source drawn by the same renderer everywhere outside the
//! fields and the id line. A source that skipped preparing never verifies.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use countersign_scenarios::crafted;
use countersign_scenarios::raster::{Renderer, SeenRect};
use countersign_scenarios::signable_corpus;
use countersign_shared::log::bundle::encode_log;
use countersign_shared::source::{ActiveContent, PdfError, inspect, prepare};
use countersign_shared::test_utils::{Scenario, contract_terms, prepared};
use countersign_shared::verify::{Verdict, verify};

const DPI: u32 = 40;

/// Signs `pdf` (prepared) as the standard contract and checks, with both
/// renderers, that every page of the final shows what the source shows
/// outside the fields and the id line. Returns the final PDF.
fn assert_final_shows_the_source(name: &str, pdf: &[u8]) -> Vec<u8> {
    let terms = contract_terms(pdf);
    let mut scenario = Scenario::joined(pdf.to_vec(), terms.clone());
    scenario.director_signs();
    scenario.client_signs();
    let final_pdf = scenario.render();
    assert_eq!(verify(&final_pdf).verdict, Verdict::Valid, "{name}: the final verifies");
    let pages = inspect(pdf).unwrap().pages;
    for renderer in Renderer::ALL {
        let before = renderer.draw(pdf, DPI).unwrap();
        let after = renderer.draw(&final_pdf, DPI).unwrap();
        assert_eq!(after.len(), before.len() + 1, "{name}, {renderer:?}: every page and the certificate page");
        for (index, (before, after)) in before.iter().zip(&after).enumerate() {
            let (width, height) = pages[index].visible_size();
            let mut masks: Vec<SeenRect> = terms
                .fields
                .iter()
                .filter(|f| f.page as usize == index + 1)
                .map(|f| SeenRect { x: f.rect.x, y: f.rect.y, width: f.rect.width, height: f.rect.height })
                .collect();
            // The document-id line along the bottom edge.
            masks.push(SeenRect { x: 0.0, y: 0.0, width, height: 18.0 });
            let differences = before.differences_outside(after, &masks, height, DPI, 2.0).unwrap();
            assert!(
                differences.is_empty(),
                "{name}, {renderer:?}, page {}: {} pixels differ outside the fields, first at {:?}",
                index + 1,
                differences.len(),
                differences.first()
            );
        }
    }
    final_pdf
}

/// The rectangles of the form widgets on each page of `pdf`, as seen.
fn widget_rects(pdf: &[u8]) -> Vec<Vec<SeenRect>> {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let pages = inspect(&prepared(pdf)).unwrap().pages;
    doc.get_pages()
        .values()
        .zip(&pages)
        .map(|(id, geometry)| {
            let page = doc.get_dictionary(*id).unwrap();
            let annots = page.get(b"Annots").ok().and_then(|a| doc.dereference(a).ok()).and_then(|(_, a)| a.as_array().ok().cloned());
            annots
                .unwrap_or_default()
                .iter()
                .filter_map(|a| doc.dereference(a).ok()?.1.as_dict().ok().cloned())
                .filter(|a| a.get(b"Subtype").and_then(lopdf::Object::as_name).is_ok_and(|s| s == b"Widget"))
                .filter_map(|a| {
                    let r: Vec<f32> = a.get(b"Rect").ok()?.as_array().ok()?.iter().filter_map(|v| v.as_float().ok()).collect();
                    let (x0, y0) = (r[0].min(r[2]) - geometry.bounds[0], r[1].min(r[3]) - geometry.bounds[1]);
                    Some(SeenRect { x: x0, y: y0, width: (r[2] - r[0]).abs(), height: (r[3] - r[1]).abs() })
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_corpus_pdf_shows_the_same_pages_prepared_and_signed_to_two_renderers() {
    for (name, original) in signable_corpus().unwrap() {
        let pdf = prepared(&original);
        // Preparing changes how the file is written, not what it shows: the
        // pages are the same outside the form fields, whose values preparing
        // draws where a form asked readers to draw them.
        let widgets = widget_rects(&original);
        let pages = inspect(&pdf).unwrap().pages;
        for renderer in Renderer::ALL {
            let before = renderer.draw(&original, DPI).unwrap();
            let after = renderer.draw(&pdf, DPI).unwrap();
            assert_eq!(before.len(), after.len(), "{name}, {renderer:?}: the page count");
            for (index, (before, after)) in before.iter().zip(&after).enumerate() {
                let height = pages[index].visible_size().1;
                let differences = before.differences_outside(after, &widgets[index], height, DPI, 1.0).unwrap();
                assert!(differences.is_empty(), "{name}, {renderer:?}, page {}: preparing changed {} pixels", index + 1, differences.len());
                for widget in &widgets[index] {
                    assert!(
                        !before.drawn_inside(*widget, height, DPI) || after.drawn_inside(*widget, height, DPI),
                        "{name}, {renderer:?}, page {}: a form field's value vanished",
                        index + 1
                    );
                }
            }
        }
        // Preparing a prepared file changes nothing.
        assert_eq!(prepared(&pdf), pdf, "{name}: preparing twice gives the same bytes");
        assert_final_shows_the_source(&name, &pdf);
    }
}

/// A form that asks readers to draw its values: poppler draws "Alice",
/// MuPDF draws nothing. Prepared, both draw it.
#[test]
fn readers_that_disagree_about_a_forms_values_agree_once_it_is_prepared() {
    let original = std::fs::read(countersign_scenarios::corpus_dir().join("libreoffice-form.pdf")).unwrap();
    let first_name = widget_with_value(&original, "Alice");
    let height = inspect(&prepared(&original)).unwrap().pages[0].visible_size().1;
    let shows = |pdf: &[u8], renderer: Renderer| renderer.draw(pdf, DPI).unwrap()[0].drawn_inside(inner(first_name), height, DPI);
    assert!(shows(&original, Renderer::Poppler) && !shows(&original, Renderer::MuPdf), "the corpus form no longer shows the disagreement");
    let pdf = prepared(&original);
    assert!(shows(&pdf, Renderer::Poppler) && shows(&pdf, Renderer::MuPdf));
}

/// The rectangle of the widget on page 1 whose value is `value`.
fn widget_with_value(pdf: &[u8], value: &str) -> SeenRect {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let (_, page) = doc.get_pages().into_iter().next().unwrap();
    let annots = doc.get_dictionary(page).unwrap().get(b"Annots").unwrap().as_array().unwrap().clone();
    let widget = annots
        .iter()
        .filter_map(|a| doc.dereference(a).ok()?.1.as_dict().ok().cloned())
        .find(|a| a.get(b"V").ok().and_then(|v| lopdf::decode_text_string(v).ok()).is_some_and(|v| v == value))
        .unwrap();
    let r: Vec<f32> = widget.get(b"Rect").unwrap().as_array().unwrap().iter().map(|v| v.as_float().unwrap()).collect();
    SeenRect { x: r[0].min(r[2]), y: r[1].min(r[3]), width: (r[2] - r[0]).abs(), height: (r[3] - r[1]).abs() }
}

/// `rect` without its outer 2 points (a field's border).
fn inner(rect: SeenRect) -> SeenRect {
    SeenRect { x: rect.x + 2.0, y: rect.y + 2.0, width: rect.width - 4.0, height: rect.height - 4.0 }
}

#[test]
fn a_file_readers_would_read_differently_is_refused() {
    for (what, pdf) in [("unterminated startxref", crafted::two_prices_unterminated()), ("data after %%EOF", crafted::data_after_the_end())]
    {
        match prepare(&pdf) {
            Err(e @ PdfError::Ambiguous(_)) => assert!(e.to_string().contains("save it again"), "{what}: {e}"),
            other => panic!("{what}: expected a refusal as ambiguous, got {:?}", other.map(|p| p.bytes.len())),
        }
    }
}

#[test]
fn a_font_named_like_the_renderers_own_still_draws_the_source_text() {
    let pdf = prepared(&crafted::font_named_like_the_renderers());
    let final_pdf = assert_final_shows_the_source("font collision", &pdf);
    // The source's Courier keeps its name; Countersign's font took another.
    assert!(memchr::memmem::find(&final_pdf, b"/CSHelv1").is_some());
}

#[test]
fn references_to_objects_that_do_not_exist_stay_empty_after_signing() {
    let original = crafted::references_to_objects_not_there();
    let pdf = prepared(&original);
    let final_pdf = assert_final_shows_the_source("dangling references", &pdf);
    // Where the source drew /Im1 (an object that does not exist), nothing appears.
    let drawn = Renderer::Poppler.draw(&final_pdf, DPI).unwrap();
    let clause = SeenRect { x: 72.0, y: 450.0, width: 200.0, height: 80.0 };
    assert!(!drawn[0].drawn_inside(clause, 842.0, DPI), "something was drawn where the source draws a missing image");
}

#[test]
fn a_size_near_the_top_of_object_numbers_is_written_small() {
    let pdf = prepared(&crafted::size_near_the_top());
    let trailer = &pdf[memchr::memmem::rfind(&pdf, b"trailer").unwrap()..];
    assert!(memchr::memmem::find(trailer, b"/Size 6/Root").is_some(), "{}", String::from_utf8_lossy(trailer));
    assert_final_shows_the_source("size near 2^32", &pdf);
}

#[test]
fn preparing_removes_active_content_and_keeps_web_links() {
    let prepared = prepare(&crafted::active_content()).unwrap();
    let kinds: Vec<ActiveContent> = prepared.removed.keys().copied().collect();
    for kind in [
        ActiveContent::Script,
        ActiveContent::TriggeredAction,
        ActiveContent::Action,
        ActiveContent::Xfa,
        ActiveContent::PrintOnly,
        ActiveContent::Media,
        ActiveContent::NeedAppearances,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} not removed: {kinds:?}");
    }
    let bytes = &prepared.bytes;
    for gone in [&b"JavaScript"[..], b"/JS", b"/Launch", b"/XFA", b"Price doubled", b"/Screen", b"/AA", b"NeedAppearances"] {
        assert!(memchr::memmem::find(bytes, gone).is_none(), "{} is still there", String::from_utf8_lossy(gone));
    }
    assert!(memchr::memmem::find(bytes, b"(https://acme.test/terms)").is_some(), "the web link was removed");
    assert!(inspect(bytes).is_ok());
    assert_final_shows_the_source("active content", bytes);
}

#[test]
fn layers_and_reserved_field_names_are_refused_with_what_to_do() {
    let layers = prepare(&crafted::with_layers()).map(|p| p.bytes);
    assert_eq!(layers, Err(PdfError::OptionalContent));
    assert!(PdfError::OptionalContent.to_string().contains("layers"));
    match prepare(&crafted::with_a_reserved_field_name()).map(|p| p.bytes) {
        Err(PdfError::ReservedField(name)) => assert_eq!(name, "countersign-0"),
        other => panic!("expected the reserved name to be refused, got {other:?}"),
    }
}

/// A file as a node that skipped preparing would make it: the raw source,
/// then an update whose first object is the envelope's log.
fn with_log_after(source: &[u8], scenario: &Scenario) -> Vec<u8> {
    let state = scenario.state();
    let entries: Vec<_> = state.valid().iter().collect();
    let log = encode_log(&scenario.envelope, &entries);
    let mut pdf = source.to_vec();
    if !pdf.ends_with(b"\n") {
        pdf.push(b'\n');
    }
    let previous = memchr::memmem::rfind(&pdf, b"startxref\n").map(|at| {
        let digits: Vec<u8> = pdf[at + 10..].iter().copied().take_while(u8::is_ascii_digit).collect();
        String::from_utf8(digits).unwrap()
    });
    let at = pdf.len();
    pdf.extend_from_slice(format!("90 0 obj\n<</Type/EmbeddedFile/Length {}>>stream\n", log.len()).as_bytes());
    pdf.extend_from_slice(&log);
    pdf.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!(
            "xref\n90 1\n{at:010} 00000 n\r\ntrailer\n<</Root 1 0 R/Size 91/Prev {}>>\nstartxref\n{xref}\n%%EOF\n",
            previous.unwrap_or_default()
        )
        .as_bytes(),
    );
    pdf
}

#[test]
fn a_final_whose_source_skipped_preparing_never_verifies() {
    for (what, source) in [
        ("active content", crafted::active_content()),
        ("two revisions", crafted::two_prices_unterminated()),
        ("dangling references", crafted::references_to_objects_not_there()),
    ] {
        let mut terms = contract_terms(&source);
        terms.document.pages = 1;
        let mut scenario = Scenario::joined(source.clone(), terms);
        scenario.director_signs_without_seal();
        let report = verify(&with_log_after(&source, &scenario));
        assert_eq!(report.verdict, Verdict::Invalid, "{what}");
        assert!(report.summary.contains("original document cannot be trusted"), "{what}: {}", report.summary);
        assert!(report.summary.contains("not prepared by Countersign"), "{what}: {}", report.summary);
    }
}

#[test]
fn files_built_to_overload_a_reader_are_refused_with_clear_errors() {
    match prepare(&crafted::object_stream_bomb(20_000)).map(|p| p.bytes) {
        Err(PdfError::Damaged(why)) => assert!(why.contains("object stream"), "{why}"),
        other => panic!("the object stream bomb: {other:?}"),
    }
    match prepare(&crafted::many_entries_at_one_place(20_000)).map(|p| p.bytes) {
        Err(PdfError::Ambiguous(why)) => assert!(why.contains("same object"), "{why}"),
        other => panic!("many entries at one place: {other:?}"),
    }
    match prepare(&crafted::xref_stream_bomb(250)).map(|p| p.bytes) {
        Err(PdfError::TooComplex(why)) => assert!(why.contains("decompresses"), "{why}"),
        other => panic!("the cross-reference stream bomb: {other:?}"),
    }
}
