//! Values land where the fields are, upright, on rotated pages and on pages
//! whose MediaBox does not start at 0,0 — as poppler draws them.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use countersign_scenarios::{pdftoppm, pixel, png_size};
use countersign_shared::Hash;
use countersign_shared::log::Act;
use countersign_shared::model::{Contact, DocumentRef, Field, FieldKind, Party, Rect, Role, Terms};
use countersign_shared::source::inspect;
use countersign_shared::test_utils::{Scenario, VERIFIER, party_key, png, prepared};
use lopdf::{Dictionary, Document, Object, Stream};

/// Pages: rotated 0, 90, 180, 270 with MediaBox [100 200 712 992], then one
/// with a CropBox inside its MediaBox.
fn awkward_pdf() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    let boxes: [(i64, [i64; 4], Option<[i64; 4]>); 5] = [
        (0, [100, 200, 712, 992], None),
        (90, [100, 200, 712, 992], None),
        (180, [100, 200, 712, 992], None),
        (270, [100, 200, 712, 992], None),
        (0, [0, 0, 612, 792], Some([50, 60, 562, 732])),
    ];
    for (rotate, media, crop) in boxes {
        let content = doc.add_object(Stream::new(Dictionary::new(), b"0.9 g 100 200 20 20 re f".to_vec()));
        let mut page = Dictionary::new();
        page.set("Type", Object::Name(b"Page".to_vec()));
        page.set("Parent", Object::Reference(pages_id));
        page.set("MediaBox", Object::Array(media.iter().map(|v| Object::Integer(*v)).collect()));
        if let Some(crop) = crop {
            page.set("CropBox", Object::Array(crop.iter().map(|v| Object::Integer(*v)).collect()));
        }
        page.set("Rotate", rotate);
        page.set("Contents", Object::Reference(content));
        page.set("Resources", Dictionary::new());
        kids.push(Object::Reference(doc.add_object(page)));
    }
    let mut pages = Dictionary::new();
    pages.set("Type", Object::Name(b"Pages".to_vec()));
    pages.set("Count", kids.len() as i64);
    pages.set("Kids", Object::Array(kids));
    doc.objects.insert(pages_id, Object::Dictionary(pages));
    let mut catalog = Dictionary::new();
    catalog.set("Type", Object::Name(b"Catalog".to_vec()));
    catalog.set("Pages", Object::Reference(pages_id));
    let root = doc.add_object(catalog);
    doc.trailer.set("Root", Object::Reference(root));
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("saves");
    prepared(&out)
}

const FIELD: Rect = Rect { x: 60.0, y: 80.0, width: 120.0, height: 60.0 };

#[test]
fn images_land_upright_at_their_rectangles_on_every_kind_of_page() -> anyhow::Result<()> {
    let pdf = awkward_pdf();
    let info = inspect(&pdf)?;
    let terms = Terms {
        title: "Geometry".into(),
        document: DocumentRef { hash: Hash::of(&pdf), len: pdf.len() as u64, pages: 5 },
        parties: vec![Party {
            name: "Dmitri Director".into(),
            role: Role::CompanySigner,
            contact: Contact::Email("dmitri@acme.test".into()),
            order: 1,
            stamp_required: false,
        }],
        fields: (1..=5)
            .map(|page| Field {
                label: format!("Signature on page {page}"),
                kind: FieldKind::Signature,
                page,
                rect: FIELD,
                assignee: 0,
                required: true,
            })
            .collect(),
        verifier_url: VERIFIER.into(),
    };
    let mut scenario = Scenario::joined(pdf, terms);
    // Top half red, bottom half blue, same aspect as the field: shows both place and orientation.
    let image = scenario.image(png(120, 60, |_, y| if y < 30 { [255, 0, 0, 255] } else { [0, 0, 255, 255] }));
    let values = (0..5).map(|i| (i, image.clone())).collect();
    scenario.append(&party_key(0), Act::Sign { slot: 0, values });
    scenario.seal(0);
    let final_pdf = scenario.render();
    let pages = pdftoppm(&final_pdf, 72)?;
    assert_eq!(pages.len(), 6);

    for (index, page) in pages.iter().take(5).enumerate() {
        let (seen_w, seen_h) = info.pages[index].visible_size();
        let (w, h) = png_size(page)?;
        assert_eq!((w, h), (seen_w.round() as u32, seen_h.round() as u32), "page {} as seen", index + 1);
        // PNG rows go down from the top; field coordinates go up from the bottom.
        let x = (FIELD.x + FIELD.width / 2.0) as u32;
        let top_row = (seen_h - (FIELD.y + FIELD.height * 0.75)) as u32;
        let bottom_row = (seen_h - (FIELD.y + FIELD.height * 0.25)) as u32;
        let outside = (seen_h - (FIELD.y + FIELD.height + 15.0)) as u32;
        let red = pixel(page, x, top_row)?;
        let blue = pixel(page, x, bottom_row)?;
        assert!(red[0] > 200 && red[2] < 60, "page {}: expected red at the top of the field, got {red:?}", index + 1);
        assert!(blue[2] > 200 && blue[0] < 60, "page {}: expected blue at the bottom of the field, got {blue:?}", index + 1);
        assert_eq!(pixel(page, x, outside)?, [255, 255, 255], "page {}: nothing drawn outside the field", index + 1);
    }
    assert_eq!(countersign_shared::verify::verify(&final_pdf).verdict, countersign_shared::verify::Verdict::Valid);
    Ok(())
}
