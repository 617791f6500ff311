//! The page tree and each page's geometry: the visible box (inherited, the
//! crop box clipped to the media box) and the rotation.
//!
//! The walk is bounded: a page tree that loops, nests too deeply or holds
//! too many pages is refused, never followed for ever.

use std::collections::HashSet;

use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::model::Rect;
use crate::source::{MAX_PAGES, PdfError};

/// How deep a page tree may nest (and inherit attributes).
const MAX_TREE_DEPTH: usize = 64;

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

fn damaged(what: &str) -> PdfError {
    PdfError::Damaged(what.to_owned())
}

/// `object`, or the object it references (one level).
pub(crate) fn resolved<'a>(doc: &'a Document, object: &'a Object) -> &'a Object {
    match object {
        Object::Reference(id) => doc.objects.get(id).unwrap_or(&Object::Null),
        other => other,
    }
}

/// The dictionary `object` is or references.
pub(crate) fn dictionary<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Dictionary> {
    match resolved(doc, object) {
        Object::Dictionary(dict) => Some(dict),
        Object::Stream(stream) => Some(&stream.dict),
        _ => None,
    }
}

/// The catalog's page tree, in page order.
pub(crate) fn page_ids(doc: &Document, pages_root: ObjectId) -> Result<Vec<ObjectId>, PdfError> {
    let broken = || damaged("its page list cannot be read");
    let mut pages = Vec::new();
    let mut seen = HashSet::new();
    // Depth-first, children in order: a stack of (node, depth), kids pushed reversed.
    let mut stack = vec![(pages_root, 0usize)];
    while let Some((id, depth)) = stack.pop() {
        if depth > MAX_TREE_DEPTH || !seen.insert(id) {
            return Err(broken());
        }
        let node = match doc.objects.get(&id) {
            Some(Object::Dictionary(dict)) => dict,
            _ => return Err(broken()),
        };
        let kids = node.get(b"Kids").ok().map(|kids| resolved(doc, kids));
        match (node.get(b"Type").and_then(Object::as_name).ok(), kids) {
            (Some(b"Pages"), Some(Object::Array(kids))) | (None, Some(Object::Array(kids))) => {
                for kid in kids.iter().rev() {
                    let kid = kid.as_reference().map_err(|_| broken())?;
                    stack.push((kid, depth + 1));
                }
            }
            (Some(b"Page"), _) | (None, None) => {
                pages.push(id);
                if pages.len() > MAX_PAGES {
                    return Err(PdfError::PageCount(pages.len()));
                }
            }
            _ => return Err(broken()),
        }
    }
    if pages.is_empty() {
        return Err(damaged("its page list is empty"));
    }
    Ok(pages)
}

/// Looks up a page attribute on the page or, if inheritable, its ancestors.
fn inherited<'a>(doc: &'a Document, page: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    let mut node = page;
    for _ in 0..MAX_TREE_DEPTH {
        if let Ok(value) = node.get(key) {
            return Some(resolved(doc, value));
        }
        let parent = node.get(b"Parent").and_then(Object::as_reference).ok()?;
        node = match doc.objects.get(&parent)? {
            Object::Dictionary(dict) => dict,
            _ => return None,
        };
    }
    None
}

/// The page `id`: its geometry and resources.
pub(crate) fn page(doc: &Document, id: ObjectId) -> Result<SourcePage, PdfError> {
    let Some(Object::Dictionary(dict)) = doc.objects.get(&id) else { return Err(damaged("a page is missing")) };
    let rect = |key: &[u8]| -> Option<[f32; 4]> {
        let array = inherited(doc, dict, key)?.as_array().ok()?;
        let mut values = [0f32; 4];
        for (slot, value) in values.iter_mut().zip(array.iter()) {
            *slot = resolved(doc, value).as_float().ok()?;
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
