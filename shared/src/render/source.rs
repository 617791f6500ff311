//! The user's PDF as the renderer sees it: its pages (with inherited boxes and
//! rotation), catalog, cross-reference kind and where its last `startxref` is.
//!
//! Parsing uses lopdf. Because the source comes from a user or, inside a final
//! PDF, from anyone, parsing runs behind `catch_unwind`: a parser bug in a
//! dependency becomes a clear error, never a crash of the node or verifier.

use std::panic::{AssertUnwindSafe, catch_unwind};

use lopdf::{Dictionary, Document, Object, ObjectId};
use thiserror::Error;

use crate::model::Rect;

/// Most pages a document may have.
pub const MAX_PAGES: usize = 5_000;
/// How deep a page tree may inherit attributes.
const MAX_TREE_DEPTH: usize = 64;

/// Why a PDF cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PdfError {
    /// The bytes do not start like a PDF.
    #[error("this is not a PDF file")]
    NotPdf,
    /// The PDF is password-protected.
    #[error("this PDF is encrypted (password-protected); save an unprotected copy and use that")]
    Encrypted,
    /// The PDF is damaged or truncated.
    #[error("this PDF is damaged or incomplete and cannot be read ({0})")]
    Damaged(String),
    /// The PDF is already certified (DocMDP): its author forbade the changes signing makes.
    #[error("this PDF is already certified with a digital signature that forbids further changes; use a copy without that certification")]
    Certified,
    /// The PDF already carries a digital signature.
    #[error("this PDF is already digitally signed; Countersign's signatures must be the first ones, so use the unsigned original")]
    AlreadySigned,
    /// The PDF has no pages, or too many.
    #[error("this PDF has {0} pages; a document needs 1 to {MAX_PAGES}")]
    PageCount(usize),
}

/// A page's geometry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageGeometry {
    /// The visible box (CropBox, else MediaBox): llx, lly, urx, ury.
    pub bounds: [f32; 4],
    /// Clockwise rotation when shown: 0, 90, 180 or 270.
    pub rotate: i64,
}

impl PageGeometry {
    fn box_size(&self) -> (f32, f32) {
        (self.bounds[2] - self.bounds[0], self.bounds[3] - self.bounds[1])
    }

    /// Width and height of the page as people see it.
    pub fn visible_size(&self) -> (f32, f32) {
        let (w, h) = self.box_size();
        if self.rotate % 180 == 0 { (w, h) } else { (h, w) }
    }

    /// The matrix `[a b c d e f]` from seen coordinates (origin at the visible
    /// lower-left corner) to the page's user space.
    pub(crate) fn seen_to_user(&self) -> [f32; 6] {
        let [llx, lly, _, _] = self.bounds;
        let (w, h) = self.box_size();
        match self.rotate {
            90 => [0.0, 1.0, -1.0, 0.0, llx + w, lly],
            180 => [-1.0, 0.0, 0.0, -1.0, llx + w, lly + h],
            270 => [0.0, -1.0, 1.0, 0.0, llx, lly + h],
            _ => [1.0, 0.0, 0.0, 1.0, llx, lly],
        }
    }

    /// The rotation that makes an appearance upright on this page.
    pub(crate) fn upright_matrix(&self) -> [f32; 6] {
        let [a, b, c, d, _, _] = self.seen_to_user();
        [a, b, c, d, 0.0, 0.0]
    }

    /// A rectangle in seen coordinates as `[x1 y1 x2 y2]` in user space.
    pub(crate) fn user_rect(&self, rect: Rect) -> [f32; 4] {
        let [a, b, c, d, e, f] = self.seen_to_user();
        let corners = [(rect.x, rect.y), (rect.x + rect.width, rect.y + rect.height)];
        let (mut x1, mut y1, mut x2, mut y2) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for (x, y) in corners {
            let (ux, uy) = (a * x + c * y + e, b * x + d * y + f);
            x1 = x1.min(ux);
            y1 = y1.min(uy);
            x2 = x2.max(ux);
            y2 = y2.max(uy);
        }
        [x1, y1, x2, y2]
    }
}

/// A page of the source.
#[derive(Debug, Clone)]
pub(crate) struct SourcePage {
    pub(crate) id: ObjectId,
    pub(crate) geometry: PageGeometry,
    /// Resources in force for the page (own or inherited), resolved one level.
    pub(crate) resources: Dictionary,
}

/// A parsed source PDF.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) doc: Document,
    pub(crate) pages: Vec<SourcePage>,
    pub(crate) root: ObjectId,
    pub(crate) pages_root: ObjectId,
    pub(crate) startxref: usize,
    pub(crate) xref_stream: bool,
    pub(crate) size: u32,
}

/// What a person preparing an envelope needs to know about a PDF.
#[derive(Debug, Clone, PartialEq)]
pub struct PdfInfo {
    /// Each page's geometry, in order.
    pub pages: Vec<PageGeometry>,
}

/// Checks that `bytes` is a PDF Countersign can sign, and describes its pages.
pub fn inspect(bytes: &[u8]) -> Result<PdfInfo, PdfError> {
    let source = Source::parse(bytes)?;
    Ok(PdfInfo { pages: source.pages.iter().map(|p| p.geometry).collect() })
}

impl Source {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, PdfError> {
        let head = &bytes[..bytes.len().min(1024)];
        if !head.windows(5).any(|w| w == b"%PDF-") {
            return Err(PdfError::NotPdf);
        }
        if find_encrypt_in_trailer(bytes) {
            return Err(PdfError::Encrypted);
        }
        let loaded = catch_unwind(AssertUnwindSafe(|| Document::load_mem(bytes)));
        let doc = match loaded {
            Ok(Ok(doc)) => doc,
            Ok(Err(lopdf::Error::Decryption(_))) => return Err(PdfError::Encrypted),
            Ok(Err(e)) => return Err(PdfError::Damaged(e.to_string())),
            Err(_) => return Err(PdfError::Damaged("the PDF parser gave up on it".into())),
        };
        if doc.is_encrypted() || doc.encryption_state.is_some() {
            return Err(PdfError::Encrypted);
        }
        let startxref = last_startxref(bytes).ok_or_else(|| PdfError::Damaged("no startxref at the end".into()))?;
        let root = doc.trailer.get(b"Root").and_then(Object::as_reference).map_err(|_| damaged("no document catalog"))?;
        let catalog = doc.get_dictionary(root).map_err(|_| damaged("no document catalog"))?;
        let pages_root = catalog.get(b"Pages").and_then(Object::as_reference).map_err(|_| damaged("no page tree"))?;
        let perms = catalog.get(b"Perms").ok().and_then(|p| doc.dereference(p).ok()).and_then(|(_, p)| p.as_dict().ok());
        if perms.is_some_and(|perms| perms.has(b"DocMDP")) {
            return Err(PdfError::Certified);
        }
        // Countersign's first signature certifies the document, and a
        // certification must come before any other signature (ISO 32000-2 12.8.2.2).
        let signed = doc.objects.values().any(|object| {
            object
                .as_dict()
                .is_ok_and(|dict| dict.get(b"Type").and_then(Object::as_name).is_ok_and(|t| t == b"Sig") && dict.has(b"ByteRange"))
        });
        if signed {
            return Err(PdfError::AlreadySigned);
        }
        let page_ids: Vec<ObjectId> = catch_unwind(AssertUnwindSafe(|| doc.page_iter().take(MAX_PAGES + 1).collect()))
            .map_err(|_| damaged("the page tree is broken"))?;
        if page_ids.is_empty() || page_ids.len() > MAX_PAGES {
            return Err(PdfError::PageCount(page_ids.len()));
        }
        let pages = page_ids.into_iter().map(|id| page(&doc, id)).collect::<Result<Vec<_>, _>>()?;
        let xref_stream = matches!(doc.reference_table.cross_reference_type, lopdf::xref::XrefType::CrossReferenceStream);
        let declared = doc.trailer.get(b"Size").and_then(Object::as_i64).ok().and_then(|s| u32::try_from(s).ok());
        let size = declared.unwrap_or(0).max(doc.max_id.saturating_add(1));
        Ok(Source { doc, pages, root, pages_root, startxref, xref_stream, size })
    }
}

fn damaged(what: &str) -> PdfError {
    PdfError::Damaged(what.to_owned())
}

/// An `/Encrypt` key in the last trailer means the file is encrypted.
fn find_encrypt_in_trailer(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(2048)..];
    tail.windows(8).any(|w| w == b"/Encrypt")
}

/// The offset after the last `startxref` keyword.
pub(crate) fn last_startxref(bytes: &[u8]) -> Option<usize> {
    let tail_start = bytes.len().saturating_sub(4096);
    let tail = &bytes[tail_start..];
    let at = tail.windows(9).rposition(|w| w == b"startxref")?;
    let digits: Vec<u8> = tail[at + 9..].iter().copied().skip_while(u8::is_ascii_whitespace).take_while(u8::is_ascii_digit).collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// Looks up a page attribute on the page or, if inheritable, its ancestors.
fn inherited<'a>(doc: &'a Document, page: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    let mut node = page;
    for _ in 0..MAX_TREE_DEPTH {
        if let Ok(value) = node.get(key) {
            return doc.dereference(value).ok().map(|(_, v)| v);
        }
        let parent = node.get(b"Parent").and_then(Object::as_reference).ok()?;
        node = doc.get_dictionary(parent).ok()?;
    }
    None
}

fn page(doc: &Document, id: ObjectId) -> Result<SourcePage, PdfError> {
    let dict = doc.get_dictionary(id).map_err(|_| damaged("a page is missing"))?;
    let rect = |key: &[u8]| -> Option<[f32; 4]> {
        let array = inherited(doc, dict, key)?.as_array().ok()?;
        let mut values = [0f32; 4];
        for (slot, value) in values.iter_mut().zip(array.iter()) {
            *slot = doc.dereference(value).ok()?.1.as_float().ok()?;
        }
        (array.len() == 4 && values.iter().all(|v| v.is_finite())).then_some(values)
    };
    let normal = |[a, b, c, d]: [f32; 4]| [a.min(c), b.min(d), a.max(c), b.max(d)];
    let media = rect(b"MediaBox").map(normal).unwrap_or([0.0, 0.0, 612.0, 792.0]);
    let bounds = match rect(b"CropBox").map(normal) {
        // The visible box is the crop box clipped to the media box.
        Some(crop) => [crop[0].max(media[0]), crop[1].max(media[1]), crop[2].min(media[2]), crop[3].min(media[3])],
        None => media,
    };
    if bounds[2] - bounds[0] < 1.0 || bounds[3] - bounds[1] < 1.0 {
        return Err(damaged("a page has no visible area"));
    }
    let rotate = inherited(doc, dict, b"Rotate").and_then(|r| r.as_i64().ok()).unwrap_or(0).rem_euclid(360);
    let rotate = if rotate % 90 == 0 { rotate } else { 0 };
    let resources = inherited(doc, dict, b"Resources").and_then(|r| r.as_dict().ok()).cloned().unwrap_or_default();
    Ok(SourcePage { id, geometry: PageGeometry { bounds, rotate }, resources })
}
