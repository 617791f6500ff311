//! Where fields go when the sender gives none: a column per signing party,
//! the way a contract's signature block is laid out, where the last page has
//! room for it, or else on a signature page added after the document.
//!
//! Company signers get a signature, a stamp when required, and a date; clients
//! get their name, their address and a signature. Labels are "Company
//! signature", "Client address", …, with the party's name added when two
//! parties share a role.
//!
//! Room is found by drawing the last page (hayro) and looking for a band of
//! blank rows tall enough for the block, at full size or somewhat smaller;
//! nothing is placed over the page's own text or past its edges. A page that
//! cannot be drawn, or that the renderer warns about (a font or image it
//! could not use, so it may have left text out), counts as having no room.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use countersign_shared::model::{Field, FieldKind, Party, Rect, Role, Slot};
use countersign_shared::source::PageGeometry;
use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings, render};

/// The block's height at full size, in points.
const BLOCK_HEIGHT: f32 = 160.0;
/// The widest a signature gets.
const SIGNATURE_WIDTH: f32 = 170.0;
/// Kept clear at the page's bottom: Countersign's id line goes there.
const BOTTOM_CLEAR: f32 = 20.0;
/// Between the page's text and the block, and at the sides.
const GAP: f32 = 10.0;
/// The sizes tried, largest first.
const SCALES: [f32; 4] = [1.0, 0.85, 0.7, 0.55];
/// The narrowest a client's name and address get, at any scale: room for
/// "12 Rue de la République, 75001 Paris" at the smallest size drawn.
const CLIENT_TEXT_WIDTH: f32 = 150.0;
/// A signature page's size when the last page is too small to copy: A4.
pub const A4: (f32, f32) = (595.0, 842.0);

/// Where the default fields go.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// On the document's last page, where it is blank.
    LastPage(Vec<Field>),
    /// The last page has no room: add a signature page of this size and
    /// place the fields there ([`on_signature_page`]).
    SignaturePage {
        /// Width in points.
        width: f32,
        /// Height in points.
        height: f32,
    },
}

/// Default fields placed, and the document with its signature page when one was added.
#[derive(Debug, Clone)]
pub struct Placed {
    /// The fields.
    pub fields: Vec<Field>,
    /// The prepared document with a signature page, where the fields are.
    pub with_signature_page: Option<Vec<u8>>,
}

/// Places the default fields for `parties` on the prepared `pdf`: on its
/// last page, or on a signature page added to it. The message says why not.
pub fn place(parties: &[Party], pdf: &[u8]) -> Result<Placed, String> {
    let pages = countersign_shared::source::inspect(pdf).map_err(|e| e.to_string())?.pages;
    match default_fields(parties, pdf, &pages) {
        Placement::LastPage(fields) => Ok(Placed { fields, with_signature_page: None }),
        Placement::SignaturePage { width, height } => {
            let added = countersign_shared::source::with_signature_page(pdf, width, height).map_err(|e| e.to_string())?;
            let fields = on_signature_page(parties, &added.info.pages)
                .ok_or("the signature blocks of this many signers do not fit on a page: place the fields yourself in the editor")?;
            Ok(Placed { fields, with_signature_page: Some(added.bytes) })
        }
    }
}

/// Default fields for `parties` on the prepared `pdf`, whose pages are `pages`.
pub fn default_fields(parties: &[Party], pdf: &[u8], pages: &[PageGeometry]) -> Placement {
    let Some(last) = pages.last() else { return Placement::SignaturePage { width: A4.0, height: A4.1 } };
    let (width, height) = last.visible_size();
    let page_number = pages.len() as u32;
    let blank = blank_bands(pdf, page_number, height).unwrap_or_default();
    for scale in SCALES {
        let Some(grid) = Grid::for_page(parties, width, scale) else { continue };
        let needed = grid.height() + 2.0 * GAP;
        // The band nearest the page's bottom that holds the block, which then
        // sits right under the text above it.
        let band = blank.iter().filter(|(bottom, top)| top - bottom.max(BOTTOM_CLEAR) >= needed).min_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((_, top)) = band {
            return Placement::LastPage(grid.fields(parties, page_number, top - GAP));
        }
    }
    let fits = width >= 2.0 * SIGNATURE_WIDTH && height >= 2.0 * BLOCK_HEIGHT;
    let (width, height) = if fits { (width, height) } else { A4 };
    Placement::SignaturePage { width, height }
}

/// Default fields on a signature page (`pages`' last, blank under its
/// heading), as large as fits; `None` if even the smallest does not.
pub fn on_signature_page(parties: &[Party], pages: &[PageGeometry]) -> Option<Vec<Field>> {
    let last = pages.last()?;
    let (width, height) = last.visible_size();
    let top = height - 80.0;
    SCALES
        .iter()
        .filter_map(|scale| Grid::for_page(parties, width, *scale))
        .find(|grid| top - grid.height() >= BOTTOM_CLEAR)
        .map(|grid| grid.fields(parties, pages.len() as u32, top))
}

/// The signers' columns, side by side, in as many rows as the page's width
/// needs, at one scale.
#[derive(Debug, Clone, Copy)]
struct Grid {
    scale: f32,
    /// The page's side margin.
    side: f32,
    column: f32,
    per_row: usize,
    rows: usize,
}

impl Grid {
    /// The grid for `parties`' signers on a page `width` wide, if a column fits.
    fn for_page(parties: &[Party], width: f32, scale: f32) -> Option<Grid> {
        let signers = parties.iter().filter(|p| p.role.signs()).count().max(1);
        let stamp = parties.iter().any(|p| p.role == Role::CompanySigner && p.stamp_required);
        let client = parties.iter().any(|p| p.role == Role::Client);
        // A page's usual margin where it is wide enough, a narrow one on a card.
        let side = (width * 0.07).clamp(GAP, 40.0);
        let usable = width - 2.0 * side;
        // A stamp needs its square; a client's name and address need room to be read.
        let narrowest = (if stamp { 80.0 } else { 60.0 } * scale).max(if client { CLIENT_TEXT_WIDTH } else { 0.0 }) + GAP;
        if usable < narrowest {
            return None;
        }
        let per_row = ((usable / narrowest) as usize).clamp(1, signers);
        let column = (usable / per_row as f32).min(SIGNATURE_WIDTH * scale + 2.0 * GAP);
        Some(Grid { scale, side, column, per_row, rows: signers.div_ceil(per_row) })
    }

    fn row_height(&self) -> f32 {
        BLOCK_HEIGHT * self.scale
    }

    fn height(&self) -> f32 {
        self.rows as f32 * self.row_height() + (self.rows - 1) as f32 * GAP
    }

    /// Each signer's fields, the grid's top at `top`.
    fn fields(&self, parties: &[Party], page: u32, top: f32) -> Vec<Field> {
        let signers: Vec<(Slot, &Party)> = parties
            .iter()
            .enumerate()
            .filter(|(_, p)| p.role.signs())
            .filter_map(|(i, p)| Slot::try_from(i).ok().map(|s| (s, p)))
            .collect();
        let scale = self.scale;
        let mut fields = Vec::new();
        for (index, (slot, party)) in signers.iter().enumerate() {
            let (row, column) = (index / self.per_row, index % self.per_row);
            let x = self.side + column as f32 * self.column;
            let bottom = top - (row + 1) as f32 * self.row_height() - row as f32 * GAP;
            let w = self.column - GAP;
            let shared_role = signers.iter().filter(|(_, p)| p.role == party.role).count() > 1;
            let prefix = match party.role {
                Role::CompanySigner => "Company",
                Role::Client => "Client",
                Role::Viewer => continue,
            };
            let label = |what: &str| if shared_role { format!("{prefix} {what} ({})", party.name) } else { format!("{prefix} {what}") };
            let mut add = |label: String, kind, y: f32, height: f32, width: f32| {
                let rect = Rect { x, y: bottom + y * scale, width, height: height * scale };
                fields.push(Field { label, kind, page, rect, assignee: *slot, required: true });
            };
            add(label("signature"), FieldKind::Signature, 110.0, 50.0, w.min(SIGNATURE_WIDTH * scale));
            match party.role {
                Role::CompanySigner => {
                    // The stamp below the date, the date below the signature: nothing covers anything.
                    if party.stamp_required {
                        add(label("stamp"), FieldKind::Stamp, 0.0, 80.0, 80.0 * scale);
                    }
                    let date = if shared_role { format!("Date ({})", party.name) } else { "Date".to_owned() };
                    add(date, FieldKind::Date, 85.0, 16.0, w.min(120.0 * scale));
                }
                _ => {
                    add(label("name"), FieldKind::Text, 70.0, 16.0, w);
                    add(label("address"), FieldKind::Text, 48.0, 16.0, w);
                }
            }
        }
        fields
    }
}

/// The blank bands of page `number` (from 1) of `pdf`, as (bottom, top) in
/// points from the page's bottom as seen; `None` if it cannot be drawn.
fn blank_bands(pdf: &[u8], number: u32, height: f32) -> Option<Vec<(f32, f32)>> {
    let rows = catch_unwind(AssertUnwindSafe(|| blank_rows(pdf, number))).ok()??;
    let per_point = rows.len() as f32 / height.max(1.0);
    let mut bands = Vec::new();
    let mut run_start: Option<usize> = None;
    for (row, blank) in rows.iter().copied().chain([false]).enumerate() {
        match (blank, run_start) {
            (true, None) => run_start = Some(row),
            (false, Some(start)) => {
                // Rows run from the top; points from the bottom.
                bands.push((height - row as f32 / per_point, height - start as f32 / per_point));
                run_start = None;
            }
            _ => {}
        }
    }
    Some(bands)
}

/// For each row of pixels of the drawn page, top first, whether it is blank.
fn blank_rows(pdf: &[u8], number: u32) -> Option<Vec<bool>> {
    let pdf = Pdf::new(pdf.to_vec()).ok()?;
    let pages = pdf.pages();
    let page = pages.get(usize::try_from(number).ok()?.checked_sub(1)?)?;
    let (width, height) = page.render_dimensions();
    // About two pixels a point, at most 1,500 pixels each way.
    let scale = (1500.0 / width.max(height).max(1.0)).min(2.0);
    let settings = PixmapSettings { x_scale: scale, y_scale: scale, bg_color: WHITE };
    let warned = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&warned);
    let interpreter =
        InterpreterSettings { warning_sink: Arc::new(move |_| flag.store(true, Ordering::Relaxed)), ..InterpreterSettings::default() };
    let pixmap = render(page, &RenderCache::new(), &interpreter, &RenderSettings::default(), &settings);
    if warned.load(Ordering::Relaxed) {
        return None;
    }
    let columns = usize::from(pixmap.width());
    let pixels = pixmap.data();
    Some(pixels.chunks(columns.max(1)).map(|row| row.iter().all(|p| p.r > 245 && p.g > 245 && p.b > 245)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use countersign_shared::model::Contact;
    use countersign_shared::source::{inspect, prepare};
    use countersign_shared::test_utils::one_page_pdf;

    fn parties() -> Vec<Party> {
        vec![
            Party {
                name: "D".into(),
                role: Role::CompanySigner,
                contact: Contact::Email("d@a.test".into()),
                order: 1,
                stamp_required: true,
            },
            Party { name: "C".into(), role: Role::Client, contact: Contact::Phone("+15550100".into()), order: 2, stamp_required: false },
        ]
    }

    /// A prepared one-page PDF of `width` × `height` with black bars over
    /// the given bands (bottom, top) of its height.
    fn page_with_ink(width: f32, height: f32, ink: &[(f32, f32)]) -> Vec<u8> {
        let content: String = ink.iter().map(|(bottom, top)| format!("0 g 10 {bottom} {} {} re f\n", width - 20.0, top - bottom)).collect();
        prepare(&one_page_pdf(width, height, content.as_bytes())).expect("prepares").bytes
    }

    fn assert_apart_and_inside(fields: &[Field], width: f32, height: f32, ink: &[(f32, f32)]) {
        for (i, a) in fields.iter().enumerate() {
            let r = a.rect;
            assert!(
                r.x >= 0.0 && r.y >= BOTTOM_CLEAR && r.x + r.width <= width && r.y + r.height <= height,
                "{} leaves the page: {r:?}",
                a.label
            );
            for (bottom, top) in ink {
                assert!(r.y >= *top || r.y + r.height <= *bottom, "{} covers the page's ink {bottom}..{top}: {r:?}", a.label);
            }
            for b in &fields[i + 1..] {
                let apart = a.rect.x + a.rect.width <= b.rect.x
                    || b.rect.x + b.rect.width <= a.rect.x
                    || a.rect.y + a.rect.height <= b.rect.y
                    || b.rect.y + b.rect.height <= a.rect.y;
                assert!(apart, "{} covers {}", a.label, b.label);
            }
        }
    }

    #[test]
    fn the_block_goes_under_the_text_of_the_last_page_and_above_its_footer() {
        let ink = [(700.0, 800.0), (300.0, 420.0), (30.0, 40.0)];
        let pdf = page_with_ink(595.0, 842.0, &ink);
        let pages = inspect(&pdf).expect("prepared").pages;
        let Placement::LastPage(fields) = default_fields(&parties(), &pdf, &pages) else { panic!("an A4 page with room") };
        let labels: Vec<&str> = fields.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(labels, ["Company signature", "Company stamp", "Date", "Client signature", "Client name", "Client address"]);
        assert_apart_and_inside(&fields, 595.0, 842.0, &ink);
        let top = fields.iter().map(|f| f.rect.y + f.rect.height).fold(0.0, f32::max);
        assert!(top > 250.0 && top < 300.0, "right under the text that ends at 300, not {top}");
    }

    #[test]
    fn a_small_page_gets_a_smaller_block_and_a_full_page_a_signature_page() {
        // A card, 243 × 337 points, with text at the top.
        let ink = [(250.0, 320.0)];
        let pdf = page_with_ink(243.0, 337.0, &ink);
        let pages = inspect(&pdf).expect("prepared").pages;
        let Placement::LastPage(fields) = default_fields(&parties(), &pdf, &pages) else { panic!("a card has room at its bottom") };
        assert_apart_and_inside(&fields, 243.0, 337.0, &ink);

        // The same card full of text, and a page of a few points.
        for (width, height, ink) in [(243.0, 337.0, vec![(30.0, 320.0)]), (6.0, 6.0, vec![])] {
            let pdf = page_with_ink(width, height, &ink);
            let pages = inspect(&pdf).expect("prepared").pages;
            assert_eq!(
                default_fields(&parties(), &pdf, &pages),
                Placement::SignaturePage { width: A4.0, height: A4.1 },
                "{width}×{height}"
            );
        }
        // A full A4 page: a signature page of its own size.
        let pdf = page_with_ink(595.0, 842.0, &[(30.0, 800.0)]);
        let pages = inspect(&pdf).expect("prepared").pages;
        let placement = default_fields(&parties(), &pdf, &pages);
        assert_eq!(placement, Placement::SignaturePage { width: 595.0, height: 842.0 });
        let with_page = countersign_shared::source::with_signature_page(&pdf, 595.0, 842.0).expect("a page is added");
        assert_eq!(with_page.info.pages.len(), 2);
        let fields = on_signature_page(&parties(), &with_page.info.pages).expect("the signature page has room");
        assert!(fields.iter().all(|f| f.page == 2));
        assert_apart_and_inside(&fields, 595.0, 842.0, &[(780.0, 800.0)]);
    }

    #[test]
    fn many_signers_get_rows_of_blocks_on_a_signature_page() {
        let mut many = Vec::new();
        for n in 0..12 {
            let mut party = parties()[n % 2].clone();
            party.name = format!("Signer {n}");
            many.push(party);
        }
        let pdf = page_with_ink(595.0, 842.0, &[(30.0, 800.0)]);
        let with_page = countersign_shared::source::with_signature_page(&pdf, 595.0, 842.0).expect("a page is added");
        let fields = on_signature_page(&many, &with_page.info.pages).expect("twelve signers fit in rows");
        assert_eq!(fields.iter().filter(|f| f.kind == FieldKind::Signature).count(), 12);
        assert_apart_and_inside(&fields, 595.0, 842.0, &[(780.0, 800.0)]);
        let rows: std::collections::BTreeSet<i64> =
            fields.iter().filter(|f| f.kind == FieldKind::Signature).map(|f| f.rect.y as i64).collect();
        assert!(rows.len() > 1, "in more than one row: {rows:?}");
        let narrowest = fields.iter().filter(|f| f.kind == FieldKind::Text).map(|f| f.rect.width).fold(f32::MAX, f32::min);
        assert!(narrowest >= CLIENT_TEXT_WIDTH - GAP, "a client's name and address stay readable: {narrowest}");
    }
}
