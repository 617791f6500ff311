//! The page tree: made canonical by prepare, read only in that form after.
//!
//! Readers disagree on page trees: which nodes are pages (a node without
//! `/Type` that has `/Kids` and its own `/Contents`), where an inherited
//! attribute comes from (the `/Kids` path or a `/Parent` that points
//! elsewhere), whether an invalid value on a page hides a valid one above
//! it, and how far `/Count` is trusted. So prepare walks the tree along
//! `/Kids` (as most readers do: a node with `/Kids` is a node, an invalid
//! value is skipped), and writes it flat: one `/Pages` root whose direct
//! `/Kids` are the pages and whose `/Count` is exact, and on every page its
//! own `/MediaBox`, `/CropBox` (within the media box), `/Rotate` (0, 90, 180
//! or 270) and `/Resources` (a reference), nothing inherited. The strict
//! reader accepts only that shape, so there is nothing left to guess.
//!
//! Every walk is bounded: depth, page count, and no node visited twice.

use std::collections::{HashMap, HashSet};

use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::model::Rect;
use crate::source::{MAX_PAGES, PdfError, remove_key};

/// How deep a page tree may nest while prepare reads it.
const MAX_TREE_DEPTH: usize = 64;
/// The page attributes a page may inherit (ISO 32000-1, 7.7.3.4).
const INHERITED: [&[u8]; 4] = [b"Resources", b"MediaBox", b"CropBox", b"Rotate"];
/// US Letter, the media box when none is given.
const LETTER: [f32; 4] = [0.0, 0.0, 612.0, 792.0];

/// A page's geometry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageGeometry {
    /// The visible box (the crop box, within the media box): llx, lly, urx, ury.
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

/// A page of a source in normal form.
#[derive(Debug, Clone)]
pub(crate) struct SourcePage {
    pub(crate) id: ObjectId,
    pub(crate) geometry: PageGeometry,
    /// The page's resources dictionary object.
    pub(crate) resources: ObjectId,
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

/// Four finite numbers, normalised so that the first corner is the lower left.
fn rectangle(doc: &Document, value: &Object) -> Option<[f32; 4]> {
    let array = resolved(doc, value).as_array().ok()?;
    if array.len() != 4 {
        return None;
    }
    let mut values = [0f32; 4];
    for (slot, value) in values.iter_mut().zip(array) {
        *slot = resolved(doc, value).as_float().ok().filter(|v| v.is_finite())?;
    }
    let [a, b, c, d] = values;
    Some([a.min(c), b.min(d), a.max(c), b.max(d)])
}

/// A rotation readers agree on: an integer multiple of 90, as 0 to 270.
fn rotation(doc: &Document, value: &Object) -> Option<i64> {
    let degrees = resolved(doc, value).as_i64().ok()?;
    (degrees % 90 == 0).then(|| degrees.rem_euclid(360))
}

/// A page's attributes as prepare makes them explicit.
#[derive(Debug, Clone, Copy)]
struct Attributes {
    media: Option<[f32; 4]>,
    crop: Option<[f32; 4]>,
    rotate: Option<i64>,
    /// The node whose `/Resources` the page uses.
    resources: Option<ObjectId>,
}

impl Attributes {
    /// These attributes with the valid ones `node` sets instead.
    fn under(mut self, doc: &Document, id: ObjectId, node: &Dictionary) -> Self {
        if let Some(media) = node.get(b"MediaBox").ok().and_then(|v| rectangle(doc, v)) {
            self.media = Some(media);
        }
        if let Some(crop) = node.get(b"CropBox").ok().and_then(|v| rectangle(doc, v)) {
            self.crop = Some(crop);
        }
        if let Some(rotate) = node.get(b"Rotate").ok().and_then(|v| rotation(doc, v)) {
            self.rotate = Some(rotate);
        }
        if node.get(b"Resources").ok().and_then(|r| dictionary(doc, r)).is_some() {
            self.resources = Some(id);
        }
        self
    }
}

/// Makes the page tree of `doc` canonical, in place: one root holding
/// every page, each with its own attributes. Returns the pages, in order.
pub(crate) fn make_canonical(doc: &mut Document, catalog: ObjectId) -> Result<Vec<ObjectId>, PdfError> {
    let broken = || damaged("its page list cannot be read");
    let root =
        doc.get_dictionary(catalog).ok().and_then(|c| c.get(b"Pages").ok()).and_then(|p| p.as_reference().ok()).ok_or_else(broken)?;
    let mut pages: Vec<(ObjectId, Attributes)> = Vec::new();
    let mut seen = HashSet::new();
    let none = Attributes { media: None, crop: None, rotate: None, resources: None };
    let mut stack = vec![(root, none, 0usize)];
    while let Some((id, inherited, depth)) = stack.pop() {
        if depth > MAX_TREE_DEPTH || !seen.insert(id) {
            return Err(broken());
        }
        let Some(node) = doc.objects.get(&id).and_then(|o| o.as_dict().ok()) else { return Err(broken()) };
        let here = inherited.under(doc, id, node);
        let is_page = node.get(b"Type").and_then(Object::as_name).is_ok_and(|t| t == b"Page");
        match node.get(b"Kids").map(|k| resolved(doc, k)) {
            Ok(Object::Array(kids)) if !is_page => {
                for kid in kids.iter().rev() {
                    stack.push((kid.as_reference().map_err(|_| broken())?, here, depth + 1));
                }
            }
            _ => {
                if node.has(b"UserUnit") {
                    return Err(PdfError::Ambiguous(
                        "a page sets its own unit of length (UserUnit), which not every reader honours".into(),
                    ));
                }
                pages.push((id, here));
                if pages.len() > MAX_PAGES {
                    return Err(PdfError::PageCount(pages.len()));
                }
            }
        }
    }
    if pages.is_empty() {
        return Err(damaged("its page list is empty"));
    }
    // Resources held directly by a node become one object, shared by its pages.
    let mut shared: HashMap<ObjectId, ObjectId> = HashMap::new();
    // The root keeps its object (anything else that names it then names the
    // tree), unless the root is itself the one page.
    let new_root = if pages.iter().any(|(id, _)| *id == root) { doc.new_object_id() } else { root };
    let mut kids = Vec::with_capacity(pages.len());
    for (id, attributes) in &pages {
        let resources = match attributes.resources {
            Some(holder) => match shared.get(&holder) {
                Some(object) => *object,
                None => {
                    let object = resources_object(doc, holder);
                    shared.insert(holder, object);
                    object
                }
            },
            None => doc.add_object(Dictionary::new()),
        };
        let media = attributes.media.unwrap_or(LETTER);
        let crop = attributes.crop.map_or(media, |c| [c[0].max(media[0]), c[1].max(media[1]), c[2].min(media[2]), c[3].min(media[3])]);
        if crop[2] - crop[0] < 1.0 || crop[3] - crop[1] < 1.0 {
            return Err(damaged("a page has no visible area"));
        }
        let Some(Object::Dictionary(page)) = doc.objects.get_mut(id) else { return Err(broken()) };
        for key in INHERITED {
            remove_key(page, key);
        }
        remove_key(page, b"Kids");
        remove_key(page, b"Count");
        page.set("Type", Object::Name(b"Page".to_vec()));
        page.set("Parent", Object::Reference(new_root));
        // Every page gets its drawing later (`content::normalise`), in this
        // place: a page without /Contents is written as one with it, so
        // preparing a prepared file keeps its keys, and its objects' numbers.
        if !page.has(b"Contents") {
            page.set("Contents", Object::Null);
        }
        page.set("MediaBox", numbers(media));
        page.set("CropBox", numbers(crop));
        page.set("Rotate", attributes.rotate.unwrap_or(0));
        page.set("Resources", Object::Reference(resources));
        kids.push(Object::Reference(*id));
    }
    let mut tree = Dictionary::new();
    tree.set("Type", Object::Name(b"Pages".to_vec()));
    tree.set("Kids", Object::Array(kids));
    tree.set("Count", i64::try_from(pages.len()).unwrap_or(i64::MAX));
    doc.objects.insert(new_root, Object::Dictionary(tree));
    if let Ok(Object::Dictionary(catalog)) = doc.get_object_mut(catalog) {
        catalog.set("Pages", Object::Reference(new_root));
    }
    Ok(pages.into_iter().map(|(id, _)| id).collect())
}

/// The object holding the resources `holder` sets: its reference, or a new
/// object for a dictionary it holds directly.
fn resources_object(doc: &mut Document, holder: ObjectId) -> ObjectId {
    let value = doc.objects.get(&holder).and_then(|o| o.as_dict().ok()).and_then(|d| d.get(b"Resources").ok()).cloned();
    match value {
        Some(Object::Reference(id)) => id,
        Some(Object::Dictionary(dict)) => doc.add_object(dict),
        _ => doc.add_object(Dictionary::new()),
    }
}

fn numbers(rect: [f32; 4]) -> Object {
    Object::Array(
        rect.iter().map(|v| if v.fract() == 0.0 && v.abs() < 1e9 { Object::Integer(*v as i64) } else { Object::Real(*v) }).collect(),
    )
}

/// Reads a canonical page tree: the pages in order, with their geometry.
/// Anything else (a nested node, an inherited or invalid attribute, a wrong
/// `/Count` or `/Parent`) is refused, with what is wrong.
pub(crate) fn read_canonical(doc: &Document, catalog: &Dictionary) -> Result<(ObjectId, Vec<SourcePage>), PdfError> {
    let not_canonical = |what: &str| PdfError::NotNormal(format!("its page tree is not in the prepared form: {what}"));
    let root = catalog.get(b"Pages").and_then(Object::as_reference).map_err(|_| not_canonical("the catalog names no page tree"))?;
    let Some(Object::Dictionary(tree)) = doc.objects.get(&root) else { return Err(not_canonical("the page tree is not a dictionary")) };
    if !tree.has_type(b"Pages") || INHERITED.iter().any(|key| tree.has(key)) || tree.has(b"Parent") {
        return Err(not_canonical("its root is not a bare list of pages"));
    }
    let Ok(Object::Array(kids)) = tree.get(b"Kids") else { return Err(not_canonical("its root has no direct list of pages")) };
    if kids.is_empty() || kids.len() > MAX_PAGES {
        return Err(PdfError::PageCount(kids.len()));
    }
    if tree.get(b"Count").and_then(Object::as_i64).ok() != i64::try_from(kids.len()).ok() {
        return Err(not_canonical("its page count is wrong"));
    }
    let mut seen = HashSet::with_capacity(kids.len());
    let mut pages = Vec::with_capacity(kids.len());
    for kid in kids {
        let id = kid.as_reference().map_err(|_| not_canonical("a page is not a reference"))?;
        if !seen.insert(id) {
            return Err(not_canonical("a page is listed twice"));
        }
        let Some(Object::Dictionary(page)) = doc.objects.get(&id) else { return Err(not_canonical("a page is not a dictionary")) };
        if !page.has_type(b"Page") || page.has(b"Kids") || page.get(b"Parent").and_then(Object::as_reference).ok() != Some(root) {
            return Err(not_canonical("a page is not a page of the root"));
        }
        let direct_rectangle = |key: &[u8]| match page.get(key) {
            Ok(value @ Object::Array(_)) => rectangle(doc, value),
            _ => None,
        };
        let media = direct_rectangle(b"MediaBox").ok_or_else(|| not_canonical("a page's media box is not four numbers"))?;
        let crop = direct_rectangle(b"CropBox").ok_or_else(|| not_canonical("a page's crop box is not four numbers"))?;
        let within = crop[0] >= media[0] && crop[1] >= media[1] && crop[2] <= media[2] && crop[3] <= media[3];
        if !within || crop[2] - crop[0] < 1.0 || crop[3] - crop[1] < 1.0 {
            return Err(not_canonical("a page's crop box is empty or outside its media box"));
        }
        let rotate = match page.get(b"Rotate") {
            Ok(Object::Integer(degrees @ (0 | 90 | 180 | 270))) => *degrees,
            _ => return Err(not_canonical("a page's rotation is not 0, 90, 180 or 270")),
        };
        let resources = match page.get(b"Resources") {
            Ok(Object::Reference(id)) if matches!(doc.objects.get(id), Some(Object::Dictionary(_))) => *id,
            _ => return Err(not_canonical("a page's resources are not a dictionary of their own")),
        };
        if page.has(b"UserUnit") {
            return Err(not_canonical("a page sets its own unit of length"));
        }
        pages.push(SourcePage { id, geometry: PageGeometry { bounds: crop, rotate }, resources });
    }
    Ok((root, pages))
}
