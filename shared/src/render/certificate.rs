//! The certificate page appended to every final PDF.
//!
//! Its static part (document, parties, QR code to the verifier) is drawn in
//! step 1 from the terms; each signing party's row is a read-only text field
//! that the party's own step fills with its key fingerprint, claimed time and
//! entry id.

use std::collections::BTreeMap;

use fast_qr::{ECL, QRBuilder};
use lopdf::{Dictionary, Object, ObjectId, Stream};

use crate::model::Slot;
use crate::pades::certificate::describe;
use crate::render::form::{FONT, Widget, widget_dict};
use crate::render::signature;
use crate::render::{IdAllocator, RenderError};
use crate::source::Source;
use crate::state::EnvelopeState;
use crate::time::utc;
use crate::typeset::{literal, num, win_ansi, wrap};

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 48.0;
const QR_SIZE: f32 = 110.0;

/// The laid-out page.
#[derive(Debug)]
pub(crate) struct Certificate {
    pub(crate) page: ObjectId,
    pub(crate) rows: BTreeMap<Slot, Widget>,
    /// The empty signature fields, in signing order: (object, dictionary).
    pub(crate) signature_fields: Vec<(ObjectId, Dictionary)>,
}

/// The address the QR code and the id lines point to.
pub(crate) fn verifier_link(state: &EnvelopeState) -> String {
    format!("{}/e/{}", state.terms().verifier_url.trim_end_matches('/'), state.envelope())
}

/// Builds the page, its content and its (empty) row fields; the rows' `/DA`
/// names the font as the form's default resources do (`form_font`).
pub(crate) fn lay_out(
    state: &EnvelopeState,
    source: &Source,
    font: ObjectId,
    form_font: &str,
    ids: &mut IdAllocator,
    objects: &mut BTreeMap<u32, Object>,
) -> Result<Certificate, RenderError> {
    let terms = state.terms();
    let page = ids.next()?;
    let content_id = ids.next()?;
    let mut c = Content::default();
    let mut y = HEIGHT - MARGIN - 16.0;
    c.text(MARGIN, y, 16.0, "Signing certificate");
    y -= 22.0;
    for line in wrap(&terms.title, WIDTH - 2.0 * MARGIN, 11.0) {
        c.text(MARGIN, y, 11.0, &line);
        y -= 14.0;
    }
    y -= 4.0;
    let facts = [
        format!("Envelope {}", state.envelope()),
        format!("Original document: {} pages, {} bytes, BLAKE3 {}", terms.document.pages, terms.document.len, terms.document.hash),
        format!("Prepared by key {} on {} (claimed)", state.creator().fingerprint(), utc(state.created_at())),
    ];
    for fact in &facts {
        for line in wrap(fact, WIDTH - 2.0 * MARGIN, 7.5) {
            c.text(MARGIN, y, 7.5, &line);
            y -= 10.0;
        }
    }
    y -= 10.0;
    c.text(MARGIN, y, 11.0, "Signatures, in signing order");
    y -= 8.0;
    let order = terms.signing_order();
    let bottom = MARGIN + QR_SIZE + 24.0;
    let row_height = ((y - bottom) / order.len().max(1) as f32).min(78.0);
    let mut rows = BTreeMap::new();
    for (position, slot) in order.iter().enumerate() {
        let Some(party) = terms.party(*slot) else { continue };
        let top = y - position as f32 * row_height;
        c.rule(MARGIN, top, WIDTH - MARGIN);
        let heading = format!("{}. {} · {} · {}", position + 1, party.name, party.role.label(), party.contact);
        c.text(MARGIN, top - 13.0, 9.5, &heading);
        let rect = [MARGIN, top - row_height + 4.0, WIDTH - MARGIN, top - 18.0];
        let id = ids.next()?;
        let mut dict =
            widget_dict(&format!("countersign-certificate-{slot}"), &format!("Signature record of {}", party.name), page, rect, 0);
        dict.set("FT", Object::Name(b"Tx".to_vec()));
        dict.set("Ff", 1 + 4096);
        dict.set("DA", Object::string_literal(format!("/{form_font} 0 Tf 0 g")));
        let size = (rect[2] - rect[0], rect[3] - rect[1]);
        rows.insert(*slot, Widget { id, dict, size, upright: [1.0, 0.0, 0.0, 1.0, 0.0, 0.0] });
    }
    let mut signature_fields: Vec<(ObjectId, Dictionary)> = Vec::with_capacity(order.len());
    for (position, slot) in order.iter().enumerate() {
        let signer = terms.party(*slot).map_or("", |p| p.name.as_str());
        signature_fields.push((ids.next()?, signature::empty_field(position + 1, signer, page)));
    }
    let link = verifier_link(state);
    c.qr(WIDTH - MARGIN - QR_SIZE, MARGIN, QR_SIZE, &link);
    let notes = [
        "Check this document: scan the code or open".to_owned(),
        link.clone(),
        "and upload this PDF. The signing log and the signature".to_owned(),
        "images are embedded in this file, and each signer's step".to_owned(),
        "carries a standard PDF signature made with their own key.".to_owned(),
        "Each time shown is the time the signer's own device claimed.".to_owned(),
    ];
    let mut ny = MARGIN + QR_SIZE - 10.0;
    for note in &notes {
        for line in wrap(note, WIDTH - 3.0 * MARGIN - QR_SIZE, 7.5) {
            c.text(MARGIN, ny, 7.5, &line);
            ny -= 10.0;
        }
    }
    objects.insert(content_id.0, Object::Stream(Stream::new(Dictionary::new(), c.bytes)));

    let mut fonts = Dictionary::new();
    fonts.set(FONT, Object::Reference(font));
    let mut resources = Dictionary::new();
    resources.set("Font", Object::Dictionary(fonts));
    let mut dict = Dictionary::new();
    dict.set("Type", Object::Name(b"Page".to_vec()));
    dict.set("Parent", Object::Reference(source.pages_root));
    dict.set("MediaBox", Object::Array(vec![0.into(), 0.into(), Object::Real(WIDTH), Object::Real(HEIGHT)]));
    // Its own crop box: nothing inherited from the source's page tree.
    dict.set("CropBox", Object::Array(vec![0.into(), 0.into(), Object::Real(WIDTH), Object::Real(HEIGHT)]));
    dict.set("Rotate", 0);
    dict.set("Resources", Object::Dictionary(resources));
    dict.set("Contents", Object::Reference(content_id));
    let annots = rows.values().map(|w| w.id).chain(signature_fields.iter().map(|(id, _)| *id));
    dict.set("Annots", Object::Array(annots.map(Object::Reference).collect()));
    objects.insert(page.0, Object::Dictionary(dict));
    Ok(Certificate { page, rows, signature_fields })
}

/// The text a party's step writes into its row: when they signed, how they
/// were identified, their key and their `Sign` entry. Everything in it is
/// fixed by the step's own ancestry (a phone confirmation is an ancestor of
/// the party's `Join`), so every node writes the same row.
pub(crate) fn row_text(state: &EnvelopeState, slot: Slot) -> String {
    let key = state.binding(slot).map_or_else(|| "unknown".to_owned(), |k| k.fingerprint());
    // The rules admitted the Join only with a valid chain for its key.
    let mut identified = state.certificates(slot).and_then(describe).map_or_else(
        || "no valid certificate".to_owned(),
        |c| if c.self_signed { "key only (self-issued certificate)".to_owned() } else { format!("certificate issued by {}", c.issuer) },
    );
    if state.phone_confirmed(slot)
        && let Some(party) = state.terms().party(slot)
    {
        identified.push_str(&format!("; phone {} confirmed by a code", party.contact));
    }
    match state.signature(slot) {
        Some(record) => format!(
            "Signed {} (time claimed by the signer)\nIdentified by {identified}\nKey fingerprint {key}, signing entry {}",
            utc(record.claimed_time),
            record.entry
        ),
        None => "Not signed".to_owned(),
    }
}

/// A content stream being written.
#[derive(Debug, Default)]
struct Content {
    bytes: Vec<u8>,
}

impl Content {
    fn text(&mut self, x: f32, y: f32, size: f32, text: &str) {
        self.bytes.extend(format!("BT /{FONT} {} Tf 0 g {} {} Td ", num(size), num(x), num(y)).bytes());
        self.bytes.extend_from_slice(&literal(&win_ansi(text)));
        self.bytes.extend_from_slice(b" Tj ET\n");
    }

    fn rule(&mut self, x1: f32, y: f32, x2: f32) {
        self.bytes.extend(format!("0.8 G 0.5 w {} {} m {} {} l S\n", num(x1), num(y), num(x2), num(y)).bytes());
    }

    /// A QR code as filled squares (runs of dark modules merged per row).
    fn qr(&mut self, x: f32, y: f32, size: f32, data: &str) {
        let Ok(code) = QRBuilder::new(data.as_bytes()).ecl(ECL::M).build() else { return };
        let modules = code.size;
        let dark = |row: usize, col: usize| code[row][col].value();
        // Draw in module units (exact integers) scaled once, so modules meet without gaps.
        let quiet = 2;
        let cell = size / (modules + 2 * quiet) as f32;
        self.bytes.extend(format!("q 0 g {} 0 0 {} {} {} cm\n", num(cell), num(cell), num(x), num(y)).bytes());
        let top = modules + 2 * quiet;
        for row in 0..modules {
            let mut col = 0;
            while col < modules {
                if !dark(row, col) {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < modules && dark(row, col) {
                    col += 1;
                }
                self.bytes.extend(format!("{} {} {} 1 re\n", start + quiet, top - quiet - row - 1, col - start).bytes());
            }
        }
        self.bytes.extend_from_slice(b"f Q\n");
    }
}
