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
        assert!(prepared(&pdf) == pdf, "{name}: preparing twice gives other bytes");
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
    // The source's Courier keeps its name; Countersign's font is named
    // after the envelope, which the source cannot know.
    let envelope = countersign_shared::verify::envelope_of(&final_pdf).unwrap().to_string();
    assert!(memchr::memmem::find(&final_pdf, format!("/CS{} ", &envelope[..16]).as_bytes()).is_some());
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
    let trailer = String::from_utf8_lossy(&pdf[memchr::memmem::rfind(&pdf, b"trailer").unwrap()..]).into_owned();
    let size: u32 = trailer.split("/Size ").nth(1).and_then(|s| s.split('/').next()).and_then(|s| s.trim().parse().ok()).unwrap();
    assert!(size < 20, "{trailer}");
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
        ActiveContent::UndrawnAnnotation,
        ActiveContent::Flattened,
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
fn layers_are_refused_and_form_fields_become_part_of_the_page() {
    let layers = prepare(&crafted::with_layers()).map(|p| p.bytes);
    assert_eq!(layers, Err(PdfError::OptionalContent));
    assert!(PdfError::OptionalContent.to_string().contains("layers"));
    // A field named like Countersign's own: the form is drawn into the page,
    // so no field of the source remains to be confused with Countersign's.
    let prepared = prepare(&crafted::with_a_reserved_field_name()).unwrap();
    assert!(memchr::memmem::find(&prepared.bytes, b"countersign-0").is_none());
    assert!(memchr::memmem::find(&prepared.bytes, b"/AcroForm").is_none());
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

/// The region the review's attacks draw or hide their mark in.
fn mark() -> SeenRect {
    let [x, y, width, height] = crafted::MARK.map(|v| v as f32);
    // Inside by a point: anti-aliasing at the edges is not a mark.
    SeenRect { x: x + 1.0, y: y + 1.0, width: width - 2.0, height: height - 2.0 }
}

/// Whether each renderer draws the mark on page 1 of `pdf`.
fn mark_drawn(pdf: &[u8]) -> Vec<(Renderer, bool)> {
    Renderer::ALL.iter().map(|renderer| (*renderer, renderer.draw(pdf, DPI).unwrap()[0].drawn_inside(mark(), 842.0, DPI))).collect()
}

/// Files that readers, among them the previews' renderer, draw differently:
/// each fooled one of them before preparing. Prepared, all three draw the
/// same page, and the signed final shows what the prepared source shows.
#[test]
fn files_that_readers_draw_differently_are_drawn_alike_once_prepared() {
    for (what, original) in [
        ("a field with a value and no appearance", crafted::field_without_appearance()),
        ("a page-tree node without a type", crafted::page_node_without_type()),
        ("an appearance state that is not there", crafted::state_that_is_not_there()),
        ("a /Parent that is not the tree parent", crafted::parent_that_is_not_the_tree_parent()),
        ("page resources that are not a dictionary", crafted::resources_that_are_not_a_dictionary()),
        ("drawing said to be in another file", crafted::content_said_to_be_elsewhere()),
        ("a list of drawing parts holding null", crafted::contents_with_a_null_part()),
    ] {
        let before = mark_drawn(&original);
        assert!(
            before.iter().any(|(_, drawn)| *drawn) && before.iter().any(|(_, drawn)| !*drawn),
            "{what}: the readers agreed already: {before:?}"
        );
        let pdf = prepared(&original);
        let after = mark_drawn(&pdf);
        assert!(after.iter().all(|(_, drawn)| *drawn == after[0].1), "{what}: the readers still disagree: {after:?}");
        // A source that skipped preparing is not read at all.
        assert!(inspect(&countersign_shared::test_utils::unprepared_normal_form(&original)).is_err(), "{what}: read without preparing");
        assert_final_shows_the_source(what, &pdf);
    }
}

/// Files whose meaning depends on the reader in a way preparing cannot
/// settle are refused, prepared or written in normal form by hand.
#[test]
fn names_some_readers_cut_short_and_hidden_layers_are_refused() {
    for (what, original, expected) in [
        (
            "a NUL byte in a name",
            crafted::nul_in_a_name(),
            PdfError::Ambiguous("a name in it holds a NUL byte, which some readers cut short".into()),
        ),
        ("layer membership without layer properties", crafted::layer_without_properties(), PdfError::OptionalContent),
    ] {
        assert_eq!(prepare(&original).map(|p| p.bytes), Err(expected.clone()), "{what}");
        let unprepared = countersign_shared::test_utils::unprepared_normal_form(&original);
        assert_eq!(inspect(&unprepared).map(|info| info.pages.len()), Err(expected), "{what}: read without preparing");
    }
}

#[test]
fn an_action_stored_as_a_stream_is_removed() {
    let original = crafted::action_in_a_stream();
    let prepared = prepare(&original).unwrap();
    assert_eq!(prepared.removed.get(&ActiveContent::Action), Some(&1), "{:?}", prepared.removed);
    assert!(memchr::memmem::find(&prepared.bytes, b"/Launch").is_none());
    let unprepared = countersign_shared::test_utils::unprepared_normal_form(&original);
    assert!(inspect(&unprepared).is_err());
}

/// Files whose cost grows with the product of two of their sizes in a naive
/// reader (hundreds of gigabytes or hours): prepared and read back in
/// linear time and memory, or refused. `cargo bench --bench hostile` times them.
#[test]
fn files_built_to_multiply_a_readers_work_are_read_in_linear_time() {
    for (what, pdf) in crafted::files_that_multiply_a_readers_work() {
        match prepare(&pdf) {
            Ok(prepared) => assert!(inspect(&prepared.bytes).is_ok(), "{what}"),
            Err(e @ PdfError::TooComplex(_)) => assert!(!e.to_string().is_empty()),
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

#[test]
fn preparing_a_prepared_crafted_file_changes_nothing() {
    for (what, original) in [
        ("a reference to the next object number", crafted::reference_to_the_next_number()),
        ("active content", crafted::active_content()),
        ("a field with a value and no appearance", crafted::field_without_appearance()),
        ("a page-tree node without a type", crafted::page_node_without_type()),
        ("an appearance state that is not there", crafted::state_that_is_not_there()),
        ("a /Parent that is not the tree parent", crafted::parent_that_is_not_the_tree_parent()),
        ("page resources that are not a dictionary", crafted::resources_that_are_not_a_dictionary()),
        ("an action in a stream", crafted::action_in_a_stream()),
        ("dangling references", crafted::references_to_objects_not_there()),
        ("a page without drawing instructions", crafted::page_without_contents()),
    ] {
        let once = prepared(&original);
        assert!(prepared(&once) == once, "{what}: preparing twice gives other bytes");
    }
}

#[test]
fn a_reference_to_an_object_not_there_stays_empty_whatever_preparing_adds() {
    let pdf = prepared(&crafted::reference_to_the_next_number());
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let metadata = doc.catalog().unwrap().get(b"Metadata").ok().cloned();
    assert!(!matches!(metadata, Some(lopdf::Object::Reference(_))), "it names {metadata:?} now");
}

/// Drawing instructions readers carry out differently are refused, with
/// what is wrong in words; written in normal form by hand, they are not read.
#[test]
fn drawing_instructions_readers_carry_out_differently_are_refused() {
    for (what, original, expected) in [
        ("text render mode 11", crafted::text_render_mode_out_of_range(), "text rendering mode"),
        ("a NUL byte in a drawn name", crafted::nul_in_a_drawn_name(), "NUL byte"),
        ("a grey colour with two components", crafted::colour_with_too_many_components(), "operands of the wrong number or kind"),
    ] {
        match prepare(&original).map(|p| p.bytes) {
            Err(e @ PdfError::Ambiguous(_)) => assert!(e.to_string().contains(expected), "{what}: {e}"),
            other => panic!("{what}: expected a refusal, got {:?}", other.map(|b| b.len())),
        }
        let unprepared = countersign_shared::test_utils::unprepared_normal_form(&original);
        assert!(inspect(&unprepared).is_err(), "{what}: read without preparing");
    }
}

/// An empty `/Filter` beside the inline-image abbreviation `/F /AHx`: the
/// previews' renderer decodes the hex, poppler and MuPDF read the digits.
/// Preparing keeps only `/Filter`, so all three draw the same page.
#[test]
fn a_filter_abbreviation_beside_the_filter_means_one_thing_once_prepared() {
    let original = crafted::filter_abbreviation_beside_filter();
    let before = mark_drawn(&original);
    assert!(before.iter().any(|(_, drawn)| *drawn) && before.iter().any(|(_, drawn)| !*drawn), "the readers agreed already: {before:?}");
    let pdf = prepared(&original);
    let after = mark_drawn(&pdf);
    assert!(after.iter().all(|(_, drawn)| *drawn == after[0].1), "the readers still disagree: {after:?}");
    assert_final_shows_the_source("a filter abbreviation", &pdf);
}
