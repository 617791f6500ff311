//! The signing certificate appended to every final PDF: the envelope's audit
//! trail, on as many A4 pages as its parties need.
//!
//! Step 1 draws what the terms fix: the document, when it was sent and by
//! which key, a heading and an empty box per signer, a closing box, and the
//! QR code and link to the verifier. Each signer's own step fills their box
//! (a read-only text field whose appearance also shows their signature and
//! stamp): how they were identified, their key, and every event of the log
//! about them, each time as its author's clock read it (the offset from UTC
//! recorded in the entry) and in UTC. The last signer's step fills the
//! closing box: completion, each step's PDF signature, and the viewers.
//!
//! A box shows only entries of the log its own step embeds, so every node
//! writes the same box.

use std::collections::BTreeMap;

use fast_qr::{ECL, QRBuilder};
use lopdf::{Dictionary, Object, ObjectId, Stream};

use crate::font::{self, Subset};
use crate::log::{Act, Entry, ValidEntry};
use crate::model::{Role, Slot};
use crate::pades::certificate::describe;
use crate::render::form::{FONT, Widget, form_xobject, widget_dict};
use crate::render::signature;
use crate::render::{IdAllocator, RenderError};
use crate::source::Source;
use crate::state::EnvelopeState;
use crate::time::local_and_utc;
use crate::typeset::{cut_to_fit, fitted_lines, num, show_lines, wrap};

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 40.0;
const QR_SIZE: f32 = 96.0;
/// A signer's heading line and box.
const HEADING: f32 = 14.0;
const PARTY_BOX: f32 = 92.0;
/// The closing box: room for a line per party, as large as a page at most.
fn closing_box(parties: usize) -> f32 {
    (HEADING + 30.0 + 9.0 * parties as f32).min(HEIGHT - 2.0 * MARGIN - FOOTER)
}
/// The left part of a signer's box, where their signature and stamp go.
const PICTURES: f32 = 150.0;
const FOOTER: f32 = 16.0;

/// The laid-out pages.
#[derive(Debug)]
pub(crate) struct Certificate {
    pub(crate) pages: Vec<ObjectId>,
    pub(crate) rows: BTreeMap<Slot, Widget>,
    pub(crate) closing: Widget,
    /// The empty signature fields, in signing order: (object, dictionary).
    pub(crate) signature_fields: Vec<(ObjectId, Dictionary)>,
}

/// The address the QR code and the id lines point to.
pub(crate) fn verifier_link(state: &EnvelopeState) -> String {
    format!("{}/e/{}", state.terms().verifier_url.trim_end_matches('/'), state.envelope())
}

/// One page being drawn: its object, its content and its widgets.
struct Page {
    id: ObjectId,
    content: Content,
    annots: Vec<ObjectId>,
}

/// Lays out the pages, their content and their (empty) boxes; the boxes'
/// `/DA` names the font as the form's default resources do (`form_font`).
pub(crate) fn lay_out(
    state: &EnvelopeState,
    source: &Source,
    font: &mut Subset,
    form_font: &str,
    ids: &mut IdAllocator,
    objects: &mut BTreeMap<u32, Object>,
) -> Result<Certificate, RenderError> {
    let terms = state.terms();
    let mut pages = vec![Page { id: ids.next()?, content: Content::default(), annots: Vec::new() }];
    let text_width = WIDTH - 3.0 * MARGIN - QR_SIZE;
    let c = &mut pages[0].content;
    let mut y = HEIGHT - MARGIN - 16.0;
    c.text(font, MARGIN, y, 16.0, "Signing certificate and audit trail");
    y -= 20.0;
    // At most three lines of title; a longer one ends in "…".
    let title = wrap(&terms.title, text_width, 11.0, font::width);
    for (index, line) in title.iter().enumerate().take(3) {
        let line = if index == 2 && title.len() > 3 { cut_to_fit(&format!("{line} {}", title[3]), text_width, 11.0) } else { line.clone() };
        c.text(font, MARGIN, y, 11.0, &line);
        y -= 14.0;
    }
    y -= 2.0;
    let sent = state.valid().first().map(|v| v.entry().utc_offset).unwrap_or_default();
    let link = verifier_link(state);
    let facts = [
        format!("Envelope {}", state.envelope()),
        format!("Document: {} pages, {} bytes, BLAKE3 {}", terms.document.pages, terms.document.len, terms.document.hash),
        format!("Sent {} by key {}", local_and_utc(state.created_at(), sent), state.creator().fingerprint()),
        format!("Check this document: scan the code, or open {link} and upload this PDF."),
        "Each signer's step carries a standard PDF signature made with their own key; the signing log and the images are embedded in this file. Times are as each person's device claimed them, in their own offset from UTC, and in UTC.".to_owned(),
    ];
    for fact in &facts {
        for line in wrap(fact, text_width, 7.0, font::width) {
            c.text(font, MARGIN, y, 7.0, &line);
            y -= 9.0;
        }
        y -= 2.0;
    }
    c.qr(WIDTH - MARGIN - QR_SIZE, HEIGHT - MARGIN - QR_SIZE, QR_SIZE, &link);
    y = y.min(HEIGHT - MARGIN - QR_SIZE) - 12.0;

    let order = terms.signing_order();
    let mut rows = BTreeMap::new();
    let mut place =
        |pages: &mut Vec<Page>, y: &mut f32, height: f32, heading: &str, font: &mut Subset| -> Result<(usize, [f32; 4]), RenderError> {
            if *y - height < MARGIN + FOOTER {
                pages.push(Page { id: ids.next()?, content: Content::default(), annots: Vec::new() });
                *y = HEIGHT - MARGIN;
            }
            let page = pages.len() - 1;
            let c = &mut pages[page].content;
            c.rule(MARGIN, *y, WIDTH - MARGIN);
            c.text(font, MARGIN, *y - 11.0, 9.5, &cut_to_fit(heading, WIDTH - 2.0 * MARGIN, 9.5));
            let rect = [MARGIN, *y - height + 2.0, WIDTH - MARGIN, *y - HEADING];
            *y -= height;
            Ok((page, rect))
        };
    let mut boxes = Vec::with_capacity(order.len() + 1);
    for (position, slot) in order.iter().enumerate() {
        let Some(party) = terms.party(*slot) else { continue };
        let heading = format!("{}. {} · {} · {}", position + 1, party.name, party.role.label(), party.contact);
        let (page, rect) = place(&mut pages, &mut y, PARTY_BOX, &heading, font)?;
        boxes.push((Some(*slot), page, rect, format!("Signature record of {}", party.name)));
    }
    let (page, rect) = place(&mut pages, &mut y, closing_box(terms.parties.len()), "Completion", font)?;
    boxes.push((None, page, rect, "Completion of the envelope".to_owned()));

    let mut closing = None;
    for (slot, page, rect, tooltip) in boxes {
        let id = ids.next()?;
        let field_name = slot.map_or_else(|| "countersign-certificate-closing".to_owned(), |s| format!("countersign-certificate-{s}"));
        let mut dict = widget_dict(&field_name, &tooltip, pages[page].id, rect, 0);
        dict.set("FT", Object::Name(b"Tx".to_vec()));
        dict.set("Ff", 1 + 4096);
        dict.set("DA", Object::string_literal(format!("/{form_font} 0 Tf 0 g")));
        pages[page].annots.push(id);
        let widget = Widget { id, dict, size: (rect[2] - rect[0], rect[3] - rect[1]), upright: [1.0, 0.0, 0.0, 1.0, 0.0, 0.0] };
        match slot {
            Some(slot) => {
                rows.insert(slot, widget);
            }
            None => closing = Some(widget),
        }
    }
    let closing = closing.ok_or_else(|| RenderError::Signature("internal layout error: no closing box".into()))?;

    let mut signature_fields: Vec<(ObjectId, Dictionary)> = Vec::with_capacity(order.len());
    for (position, slot) in order.iter().enumerate() {
        let signer = terms.party(*slot).map_or("", |p| p.name.as_str());
        let id = ids.next()?;
        signature_fields.push((id, signature::empty_field(position + 1, signer, pages[0].id)));
        pages[0].annots.push(id);
    }

    let count = pages.len();
    let mut page_ids = Vec::with_capacity(count);
    for (index, mut page) in pages.into_iter().enumerate() {
        let footer = format!("Countersign · envelope {} · certificate page {} of {count}", state.envelope(), index + 1);
        page.content.text(font, MARGIN, MARGIN - 14.0, 6.5, &footer);
        let content_id = ids.next()?;
        objects.insert(content_id.0, Object::Stream(Stream::new(Dictionary::new(), page.content.bytes)));
        let mut fonts = Dictionary::new();
        fonts.set(FONT, Object::Reference(font.id));
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
        dict.set("Annots", Object::Array(page.annots.into_iter().map(Object::Reference).collect()));
        objects.insert(page.id.0, Object::Dictionary(dict));
        page_ids.push(page.id);
    }
    Ok(Certificate { pages: page_ids, rows, closing, signature_fields })
}

/// A picture already in the file (a signature or stamp image) and its size in pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Picture {
    pub(crate) id: ObjectId,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

/// A signer's box: their pictures at the left, one above the other, and
/// `text` beside them, as large as fits.
pub(crate) fn box_appearance(widget: &Widget, pictures: &[Picture], text: &str, font: &mut Subset) -> Stream {
    let (width, height) = widget.size;
    let pad = 3.0;
    let mut content = b"/Tx BMC q\n".to_vec();
    let mut xobjects = Dictionary::new();
    let shown = pictures.iter().take(2).collect::<Vec<_>>();
    let slot_height = (height - 2.0 * pad) / shown.len().max(1) as f32;
    for (index, picture) in shown.iter().enumerate() {
        let name = format!("Im{index}");
        xobjects.set(name.as_str(), Object::Reference(picture.id));
        let (box_w, box_h) = (PICTURES - 2.0 * pad, slot_height - pad);
        let scale = (box_w / picture.width.max(1) as f32).min(box_h / picture.height.max(1) as f32);
        let (w, h) = (picture.width as f32 * scale, picture.height as f32 * scale);
        let top = height - pad - index as f32 * slot_height;
        content.extend(format!("q {} 0 0 {} {} {} cm /{name} Do Q\n", num(w), num(h), num(pad), num(top - h)).bytes());
    }
    let left = if shown.is_empty() { pad } else { PICTURES + pad };
    let (size, lines) = fitted_lines(text, width - left - pad, height - 2.0 * pad, 8.0);
    content
        .extend(format!("BT /{FONT} {} Tf 0 g {} TL {} {} Td ", num(size), num(size * 1.2), num(left), num(height - pad - size)).bytes());
    show_lines(&mut content, &lines, |line| font.show(line));
    content.extend_from_slice(b"ET Q EMC\n");
    let mut fonts = Dictionary::new();
    fonts.set(FONT, Object::Reference(font.id));
    let mut resources = Dictionary::new();
    resources.set("Font", Object::Dictionary(fonts));
    if !shown.is_empty() {
        resources.set("XObject", Object::Dictionary(xobjects));
    }
    form_xobject(widget, content, resources)
}

/// What a signer's step writes into their box: how they were identified,
/// their key, and every event about them in the log the step embeds.
pub(crate) fn signer_text(state: &EnvelopeState, slot: Slot, log: &[&ValidEntry]) -> String {
    let key = state.binding(slot).map_or_else(|| "unknown".to_owned(), |k| k.fingerprint());
    // The rules admitted the Join only with a valid chain for its key.
    let mut identified = state.certificates(slot).and_then(describe).map_or_else(
        || "no valid certificate".to_owned(),
        |c| if c.self_signed { "key only (self-issued certificate)".to_owned() } else { format!("certificate issued by {}", c.issuer) },
    );
    if state.phone_confirmed(slot)
        && let Some(party) = state.terms().party(slot)
    {
        identified.push_str(&format!("; phone {} confirmed by a texted code", party.contact));
    }
    let mut lines = vec![format!("Identified by {identified}"), format!("Key {key}")];
    lines.extend(events_of(state, slot, log));
    if let Some(record) = state.signature(slot) {
        lines.push(format!("Signing entry {}", record.entry));
    }
    lines.join("\n")
}

/// What the last signer's step writes into the closing box: completion,
/// each earlier step's PDF signature, and the viewers' events.
pub(crate) fn closing_text(state: &EnvelopeState, log: &[&ValidEntry]) -> String {
    let terms = state.terms();
    let signers = terms.signing_order();
    let last = signers.iter().filter_map(|s| state.signature(*s)).max_by_key(|r| r.claimed_time);
    let mut lines = Vec::new();
    if let Some(last) = last {
        lines.push(format!("Completed {}: all {} signers signed", local_and_utc(last.claimed_time, last.utc_offset), signers.len()));
    }
    // Each step's PDF signature; when it was made, where this step's log has its `Seal`.
    for (step, slot) in signers.iter().enumerate() {
        let sealed = log.iter().map(|v| v.entry()).find(|e| matches!(e.act, Act::Seal { slot: s, .. } if s == *slot));
        let made = sealed.map_or_else(String::new, |e| format!(", made {}", when(e)));
        lines.push(format!("Step {}: PDF signature of {}{made}", step + 1, name_of(state, *slot)));
    }
    for (slot, party) in terms.parties.iter().enumerate() {
        let Ok(slot) = Slot::try_from(slot) else { continue };
        if party.role != Role::Viewer {
            continue;
        }
        let events = events_of(state, slot, log);
        let said = if events.is_empty() { "no event yet".to_owned() } else { events.join("; ") };
        lines.push(format!("{} (viewer, {}): {said}", party.name, party.contact));
    }
    lines.join("\n")
}

/// The events about the party at `slot` in `log`, one line each: invited
/// (the first time, and how often again), joined, phone confirmed, signed.
fn events_of(state: &EnvelopeState, slot: Slot, log: &[&ValidEntry]) -> Vec<String> {
    let mut lines = Vec::new();
    let invites: Vec<&Entry> =
        log.iter().map(|v| v.entry()).filter(|e| matches!(e.act, Act::Invite { slot: s, .. } if s == slot)).collect();
    if let Some(first) = invites.first() {
        lines.push(format!("Invited {}, by {}", when(first), author_of(state, first)));
    }
    let again = invites.len().saturating_sub(1);
    if let Some(last) = invites.last().filter(|_| again > 0) {
        let times = if again == 1 { "once".to_owned() } else { format!("{again} times") };
        lines.push(format!("Invited again {times}, last {}", when(last)));
    }
    // Only a confirmation of the key that joined counts, and once.
    let binding = state.binding(slot);
    let mut confirmed = false;
    for entry in log.iter().map(|v| v.entry()) {
        let what = match &entry.act {
            Act::Join { slot: s, .. } if *s == slot => "Opened the invitation and joined",
            Act::Confirm { slot: s, key } if *s == slot && Some(*key) == binding && !confirmed => {
                confirmed = true;
                "Phone confirmed by a texted code"
            }
            Act::Sign { slot: s, .. } if *s == slot => "Signed",
            _ => continue,
        };
        lines.push(format!("{what} {}", when(entry)));
    }
    lines
}

fn when(entry: &Entry) -> String {
    local_and_utc(entry.claimed_time, entry.utc_offset)
}

fn name_of(state: &EnvelopeState, slot: Slot) -> String {
    state.terms().party(slot).map_or_else(|| format!("party {slot}"), |p| p.name.clone())
}

/// Who made an entry: "the sender" for the envelope's creator, a party by
/// name, or a key.
fn author_of(state: &EnvelopeState, entry: &Entry) -> String {
    if entry.author == state.creator() {
        return "the sender".to_owned();
    }
    let parties = state.terms().parties.len();
    (0..parties)
        .filter_map(|slot| Slot::try_from(slot).ok())
        .find(|slot| state.binding(*slot) == Some(entry.author))
        .map_or_else(|| format!("key {}", entry.author.fingerprint()), |slot| name_of(state, slot))
}

/// A content stream being written.
#[derive(Debug, Default)]
struct Content {
    bytes: Vec<u8>,
}

impl Content {
    fn text(&mut self, font: &mut Subset, x: f32, y: f32, size: f32, text: &str) {
        self.bytes.extend(format!("BT /{FONT} {} Tf 0 g {} {} Td ", num(size), num(x), num(y)).bytes());
        self.bytes.extend_from_slice(&font.show(text));
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
