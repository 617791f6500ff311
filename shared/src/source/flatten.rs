//! Annotations and form fields become part of the pages.
//!
//! Readers disagree most about annotations: which appearance an `/AS` picks
//! when it names none, whether to draw a field whose value has no appearance,
//! whether a field shows its `/V` or its appearance, what a missing
//! appearance looks like, whether something shows on screen but not on
//! paper. So prepare draws each annotation's appearance into its page, as a
//! reader draws it over the page (ISO 32000-1, 12.5.5), and keeps of the
//! annotations only links, rewritten plainly. The form goes with its fields
//! (the document to sign is fixed; Countersign adds its own fields). The
//! annotations are drawn after the page's own drawing, which `content`
//! wraps so that it leaves the graphics state as it found it.

use std::collections::BTreeMap;

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

use crate::source::active::{ActiveContent, Verdict, action_kind};
use crate::source::pages::{dictionary, resolved};
use crate::source::{PdfError, remove_key, unique_name};

/// Most annotations all pages together may list (an annotation listed on
/// two pages counts twice): each is drawn into its page.
const MAX_ANNOTATIONS: usize = 100_000;

/// Flattens the annotations of `pages` into their pages and drops the form;
/// counts what it removed that was not drawn. Returns, for each page, the
/// name its resources give the form of its annotations, to be drawn over
/// the page (`content::normalise` does).
pub(crate) fn flatten(
    doc: &mut Document,
    catalog: ObjectId,
    pages: &[ObjectId],
    removed: &mut BTreeMap<ActiveContent, usize>,
) -> Result<Vec<Option<String>>, PdfError> {
    let mut annotations_left = MAX_ANNOTATIONS;
    let mut layers = Vec::with_capacity(pages.len());
    for (index, page) in pages.iter().enumerate() {
        layers.push(flatten_page(doc, *page, index, &mut annotations_left, removed)?);
    }
    let form = match doc.get_object_mut(catalog) {
        Ok(Object::Dictionary(catalog)) => remove_key(catalog, b"AcroForm"),
        _ => None,
    };
    if let Some(form) = form {
        *removed.entry(ActiveContent::Flattened).or_insert(0) += 1;
        // An XFA form goes with the form: say so.
        if dictionary(doc, &form).is_some_and(|form| form.has(b"XFA")) {
            *removed.entry(ActiveContent::Xfa).or_insert(0) += 1;
        }
    }
    Ok(layers)
}

/// Draws the page's annotations into it; keeps its links.
fn flatten_page(
    doc: &mut Document,
    page: ObjectId,
    index: usize,
    annotations_left: &mut usize,
    removed: &mut BTreeMap<ActiveContent, usize>,
) -> Result<Option<String>, PdfError> {
    let annots: Vec<Object> = match doc.get_dictionary(page).ok().and_then(|p| p.get(b"Annots").ok()).map(|a| resolved(doc, a)) {
        Some(Object::Array(items)) => {
            *annotations_left = annotations_left
                .checked_sub(items.len())
                .ok_or_else(|| PdfError::TooComplex(format!("its pages list more than {MAX_ANNOTATIONS} annotations")))?;
            items.clone()
        }
        _ => return Ok(None),
    };
    let mut drawing = Vec::new();
    let mut forms = Dictionary::new();
    let mut links = Vec::new();
    let mut used = Vec::new();
    let mut count = |kind| *removed.entry(kind).or_insert(0) += 1;
    for item in &annots {
        let Some(annotation) = dictionary(doc, item) else { continue };
        let subtype = annotation.get(b"Subtype").and_then(Object::as_name).unwrap_or_default();
        if subtype == b"Popup" {
            continue;
        }
        let flags = annotation.get(b"F").and_then(Object::as_i64).unwrap_or(0);
        let shown = flags & (2 | 32) == 0;
        if subtype == b"Link" {
            match link(doc, annotation) {
                Some(link) => links.push(Object::Dictionary(link)),
                None => count(ActiveContent::Action),
            }
        }
        let appearance = appearance(doc, annotation);
        match (shown, appearance) {
            (true, Some((form, matrix))) => {
                let name = format!("A{}", forms.len());
                forms.set(name.as_str(), Object::Reference(form));
                used.push(form);
                let [a, b, c, d, e, f] = matrix;
                drawing.extend(format!("q {a} {b} {c} {d} {e} {f} cm /{name} Do Q\n").bytes());
                if subtype != b"Link" {
                    count(ActiveContent::Flattened);
                }
            }
            (true, None) if subtype != b"Link" => count(ActiveContent::UndrawnAnnotation),
            (false, _) if flags & 4 != 0 && subtype != b"Link" => count(ActiveContent::PrintOnly),
            _ => {}
        }
    }
    // An appearance is a form (readers draw it as one even when it does not
    // say so); drawn from the page, it must say so.
    for form in used {
        if let Some(Object::Stream(stream)) = doc.objects.get_mut(&form) {
            stream.dict.set("Type", Object::Name(b"XObject".to_vec()));
            stream.dict.set("Subtype", Object::Name(b"Form".to_vec()));
        }
    }
    let media = doc.get_dictionary(page).ok().and_then(|p| p.get(b"MediaBox").ok()).cloned().unwrap_or(Object::Null);
    let mut layer_name = None;
    if !drawing.is_empty() {
        let mut resources = Dictionary::new();
        resources.set("XObject", Object::Dictionary(forms));
        let mut layer = Dictionary::new();
        layer.set("Type", Object::Name(b"XObject".to_vec()));
        layer.set("Subtype", Object::Name(b"Form".to_vec()));
        layer.set("BBox", media);
        layer.set("Resources", Object::Dictionary(resources));
        let layer = doc.add_object(Stream::new(layer, drawing));
        let name = add_to_resources(doc, page, index, layer)?;
        layer_name = Some(name);
    }
    if let Ok(Object::Dictionary(dict)) = doc.get_object_mut(page) {
        if links.is_empty() {
            remove_key(dict, b"Annots");
        } else {
            dict.set("Annots", Object::Array(links));
        }
    }
    Ok(layer_name)
}

/// Adds the annotations' layer to the page's resources under a name they do
/// not use; the resources may be shared, and keep the other pages' names.
fn add_to_resources(doc: &mut Document, page: ObjectId, index: usize, layer: ObjectId) -> Result<String, PdfError> {
    let missing = || PdfError::Damaged("a page has no resources".into());
    let resources =
        doc.get_dictionary(page).ok().and_then(|p| p.get(b"Resources").ok()).and_then(|r| r.as_reference().ok()).ok_or_else(missing)?;
    let xobjects = doc.get_dictionary(resources).ok().and_then(|r| r.get(b"XObject").ok()).cloned();
    // The XObject names live in the resources, or in a dictionary they reference.
    let (holder, mut names) = match xobjects {
        Some(Object::Reference(id)) => (Some(id), doc.get_dictionary(id).cloned().unwrap_or_default()),
        Some(Object::Dictionary(names)) => (None, names),
        _ => (None, Dictionary::new()),
    };
    let name = unique_name(Some(&names), &format!("CSAnnots{index}"));
    names.set(name.as_str(), Object::Reference(layer));
    match holder {
        Some(id) => doc.objects.insert(id, Object::Dictionary(names)),
        None => match doc.get_object_mut(resources) {
            Ok(Object::Dictionary(dict)) => {
                dict.set("XObject", Object::Dictionary(names));
                None
            }
            _ => return Err(missing()),
        },
    };
    Ok(name)
}

/// The appearance a reader draws for `annotation`, and the matrix that puts
/// it in its rectangle: `/AP /N`, or the state `/AS` names in it (none when
/// `/AS` names no state).
fn appearance(doc: &Document, annotation: &Dictionary) -> Option<(ObjectId, [f32; 6])> {
    let normal = dictionary(doc, annotation.get(b"AP").ok()?).and_then(|ap| ap.get(b"N").ok())?;
    let form = match normal {
        Object::Reference(id) if matches!(doc.objects.get(id), Some(Object::Stream(_))) => *id,
        states => {
            let state = annotation.get(b"AS").and_then(Object::as_name).ok()?;
            dictionary(doc, states)?.get(state).ok()?.as_reference().ok()?
        }
    };
    let Some(Object::Stream(stream)) = doc.objects.get(&form) else { return None };
    let rect = rectangle(doc, annotation.get(b"Rect").ok()?)?;
    let bbox = rectangle(doc, stream.dict.get(b"BBox").ok()?)?;
    let matrix = match stream.dict.get(b"Matrix").map(|m| resolved(doc, m)) {
        Ok(Object::Array(values)) if values.len() == 6 => {
            let numbers: Option<Vec<f32>> = values.iter().map(|v| resolved(doc, v).as_float().ok().filter(|v| v.is_finite())).collect();
            <[f32; 6]>::try_from(numbers?).ok()?
        }
        _ => [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    };
    // ISO 32000-1, 12.5.5: the box transformed by the matrix is fitted to the rectangle.
    let corners = [(bbox[0], bbox[1]), (bbox[2], bbox[1]), (bbox[0], bbox[3]), (bbox[2], bbox[3])];
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for (x, y) in corners {
        let (tx, ty) = (matrix[0] * x + matrix[2] * y + matrix[4], matrix[1] * x + matrix[3] * y + matrix[5]);
        x0 = x0.min(tx);
        y0 = y0.min(ty);
        x1 = x1.max(tx);
        y1 = y1.max(ty);
    }
    if x1 - x0 <= 0.0 || y1 - y0 <= 0.0 {
        return None;
    }
    let (sx, sy) = ((rect[2] - rect[0]) / (x1 - x0), (rect[3] - rect[1]) / (y1 - y0));
    let matrix = [sx, 0.0, 0.0, sy, rect[0] - x0 * sx, rect[1] - y0 * sy];
    matrix.iter().all(|v| v.is_finite()).then_some((form, matrix))
}

fn rectangle(doc: &Document, value: &Object) -> Option<[f32; 4]> {
    let values: Vec<f32> = resolved(doc, value).as_array().ok()?.iter().filter_map(|v| resolved(doc, v).as_float().ok()).collect();
    let [a, b, c, d] = <[f32; 4]>::try_from(values).ok()?;
    [a, b, c, d].iter().all(|v| v.is_finite()).then(|| [a.min(c), b.min(d), a.max(c), b.max(d)])
}

/// A link annotation as the normal form keeps it: its rectangle, no border,
/// and a destination in this document or a web or mail address.
fn link(doc: &Document, annotation: &Dictionary) -> Option<Dictionary> {
    let rect = rectangle(doc, annotation.get(b"Rect").ok()?)?;
    let mut link = Dictionary::new();
    link.set("Type", Object::Name(b"Annot".to_vec()));
    link.set("Subtype", Object::Name(b"Link".to_vec()));
    link.set("Rect", Object::Array(rect.iter().map(|v| Object::Real(*v)).collect()));
    link.set("Border", Object::Array(vec![0.into(), 0.into(), 0.into()]));
    if let Ok(destination) = annotation.get(b"Dest") {
        link.set("Dest", small(resolved(doc, destination))?.clone());
        return Some(link);
    }
    let action = dictionary(doc, annotation.get(b"A").ok()?)?;
    link.set("A", Object::Dictionary(kept_action(doc, action)?));
    Some(link)
}

/// An action rewritten with only what it needs, if it is one the normal
/// form keeps (see `active`).
pub(crate) fn kept_action(doc: &Document, action: &Dictionary) -> Option<Dictionary> {
    let mut kept = Dictionary::new();
    match action_kind(doc, action) {
        Verdict::GoTo => {
            kept.set("S", Object::Name(b"GoTo".to_vec()));
            kept.set("D", small(resolved(doc, action.get(b"D").ok()?))?.clone());
        }
        Verdict::Web => {
            kept.set("S", Object::Name(b"URI".to_vec()));
            kept.set("URI", small(resolved(doc, action.get(b"URI").ok()?))?.clone());
        }
        Verdict::Navigate => {
            kept.set("S", Object::Name(b"Named".to_vec()));
            kept.set("N", small(resolved(doc, action.get(b"N").ok()?))?.clone());
        }
        Verdict::Remove => return None,
    }
    Some(kept)
}

/// `value` if it is as small as a destination or an address is (a link
/// listed many times is copied each time): a page and a view, a name, a web
/// address of at most 8 KB.
fn small(value: &Object) -> Option<&Object> {
    let fits = match value {
        Object::Array(items) => items.len() <= 6 && items.iter().all(|item| !matches!(item, Object::Array(_) | Object::Dictionary(_))),
        Object::String(text, _) | Object::Name(text) => text.len() <= 8 * 1024,
        _ => false,
    };
    fits.then_some(value)
}
