//! Form values that readers were asked to draw themselves.
//!
//! A form saved with `/NeedAppearances true` leaves drawing its fields'
//! values to each reader: one reader shows them, another shows them in
//! another font, and once the request is removed (prepare removes it, see
//! `active`) none shows them at all. So prepare draws each filled text or
//! choice field's value into the field's own appearance, over what the
//! appearance already drew (its border and background), and every reader
//! shows the same value from then on.

use std::collections::HashSet;

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

use crate::source::pages::{dictionary, resolved};
use crate::typeset::{approx_width, literal, num, win_ansi, wrap};

/// How deep a field tree may nest.
const MAX_FIELD_DEPTH: usize = 32;
/// The font name inside the appearances drawn here (their own resources).
const FONT: &str = "Helv";

/// What a field passes down to its kids.
#[derive(Debug, Clone, Default)]
struct Inherited {
    kind: Option<Vec<u8>>,
    value: Option<Object>,
    appearance: Option<Vec<u8>>,
    alignment: i64,
    flags: i64,
}

impl Inherited {
    fn under(&self, field: &Dictionary) -> Inherited {
        let mut next = self.clone();
        if let Ok(Object::Name(kind)) = field.get(b"FT") {
            next.kind = Some(kind.clone());
        }
        if let Ok(value) = field.get(b"V") {
            next.value = Some(value.clone());
        }
        if let Ok(Object::String(da, _)) = field.get(b"DA") {
            next.appearance = Some(da.clone());
        }
        if let Ok(q) = field.get(b"Q").and_then(Object::as_i64) {
            next.alignment = q;
        }
        if let Ok(flags) = field.get(b"Ff").and_then(Object::as_i64) {
            next.flags = flags;
        }
        next
    }
}

/// Draws the values of the filled text and choice fields of a form that asks
/// readers to draw them; returns how many were drawn.
pub(crate) fn draw_values(doc: &mut Document) -> usize {
    let Some(form) = form(doc) else { return 0 };
    if !form.get(b"NeedAppearances").and_then(Object::as_bool).unwrap_or(false) {
        return 0;
    }
    let default_appearance = match form.get(b"DA") {
        Ok(Object::String(da, _)) => Some(da.clone()),
        _ => None,
    };
    let Ok(Object::Array(fields)) = form.get(b"Fields").map(|f| resolved(doc, f)) else { return 0 };
    let mut widgets = Vec::new();
    let mut seen = HashSet::new();
    let root = Inherited { appearance: default_appearance, ..Inherited::default() };
    let mut stack: Vec<(Object, Inherited, usize)> = fields.iter().rev().map(|f| (f.clone(), root.clone(), 0)).collect();
    while let Some((field, inherited, depth)) = stack.pop() {
        let Object::Reference(id) = field else { continue };
        if depth > MAX_FIELD_DEPTH || !seen.insert(id) {
            continue;
        }
        let Some(dict) = dictionary(doc, &field) else { continue };
        let here = inherited.under(dict);
        match dict.get(b"Kids").map(|k| resolved(doc, k)) {
            Ok(Object::Array(kids)) => stack.extend(kids.iter().rev().map(|kid| (kid.clone(), here.clone(), depth + 1))),
            _ => widgets.push((id, here)),
        }
    }
    let mut font = None;
    let mut drawn = 0;
    for (widget, field) in widgets {
        let Some(text) = value_text(&field) else { continue };
        let font = *font.get_or_insert_with(|| doc.add_object(helvetica()));
        if let Some(appearance) = appearance(doc, widget, &field, &text, font) {
            let id = doc.add_object(appearance);
            if let Ok(Object::Dictionary(dict)) = doc.get_object_mut(widget) {
                let mut ap = Dictionary::new();
                ap.set("N", Object::Reference(id));
                dict.set("AP", Object::Dictionary(ap));
                drawn += 1;
            }
        }
    }
    drawn
}

fn form(doc: &Document) -> Option<&Dictionary> {
    let root = doc.trailer.get(b"Root").and_then(Object::as_reference).ok()?;
    let catalog = doc.objects.get(&root)?.as_dict().ok()?;
    dictionary(doc, catalog.get(b"AcroForm").ok()?)
}

fn helvetica() -> Dictionary {
    let mut font = Dictionary::new();
    font.set("Type", Object::Name(b"Font".to_vec()));
    font.set("Subtype", Object::Name(b"Type1".to_vec()));
    font.set("BaseFont", Object::Name(b"Helvetica".to_vec()));
    font.set("Encoding", Object::Name(b"WinAnsiEncoding".to_vec()));
    font
}

/// The text a text or choice field shows; none for other fields, empty
/// values and passwords.
fn value_text(field: &Inherited) -> Option<String> {
    const PASSWORD: i64 = 1 << 13;
    if !matches!(field.kind.as_deref(), Some(b"Tx" | b"Ch")) || field.flags & PASSWORD != 0 {
        return None;
    }
    let value = match field.value.as_ref()? {
        Object::Array(options) => options.first()?.clone(),
        value => value.clone(),
    };
    let text = lopdf::decode_text_string(&value).ok()?;
    (!text.trim().is_empty()).then_some(text)
}

/// The size and colour the field's `/DA` asks for: `(size, colour operator)`.
fn text_style(da: Option<&[u8]>) -> (f32, String) {
    let da = da.map(String::from_utf8_lossy).unwrap_or_default();
    let tokens: Vec<&str> = da.split_ascii_whitespace().collect();
    let size = tokens.windows(2).find(|w| w[1] == "Tf").and_then(|w| w[0].parse::<f32>().ok()).filter(|s| s.is_finite() && *s >= 0.0);
    let mut colour = String::from("0 g");
    for (at, token) in tokens.iter().enumerate() {
        let operands = match *token {
            "g" => 1,
            "rg" => 3,
            "k" => 4,
            _ => continue,
        };
        if let Some(values) = at.checked_sub(operands).map(|from| &tokens[from..at])
            && values.iter().all(|v| v.parse::<f32>().is_ok_and(f32::is_finite))
        {
            colour = format!("{} {token}", values.join(" "));
        }
    }
    (size.unwrap_or(0.0), colour)
}

/// The widget's new appearance: what it drew before, then the value.
fn appearance(doc: &Document, widget: ObjectId, field: &Inherited, text: &str, font: ObjectId) -> Option<Stream> {
    let dict = doc.objects.get(&widget)?.as_dict().ok()?;
    let rect: Vec<f32> = dict.get(b"Rect").ok()?.as_array().ok()?.iter().filter_map(|v| resolved(doc, v).as_float().ok()).collect();
    let [x1, y1, x2, y2] = <[f32; 4]>::try_from(rect).ok()?;
    let (width, height) = ((x2 - x1).abs(), (y2 - y1).abs());
    if !(width >= 1.0 && height >= 1.0 && width.is_finite() && height.is_finite()) {
        return None;
    }
    let mut resources = Dictionary::new();
    let mut fonts = Dictionary::new();
    fonts.set(FONT, Object::Reference(font));
    resources.set("Font", Object::Dictionary(fonts));
    let mut content = Vec::new();
    // What the old appearance drew, fitted to the box as a reader fits it.
    if let Some(old) = dict.get(b"AP").ok().and_then(|ap| dictionary(doc, ap)).and_then(|ap| ap.get(b"N").ok())
        && let Object::Reference(old_id) = old
        && let Some(Object::Stream(old_stream)) = doc.objects.get(old_id)
        && let Some([bx0, by0, bx1, by1]) = transformed_box(&old_stream.dict)
        && bx1 - bx0 > 0.0
        && by1 - by0 > 0.0
    {
        let (sx, sy) = (width / (bx1 - bx0), height / (by1 - by0));
        let mut xobjects = Dictionary::new();
        xobjects.set("Old", Object::Reference(*old_id));
        resources.set("XObject", Object::Dictionary(xobjects));
        content.extend(format!("q {} 0 0 {} {} {} cm /Old Do Q\n", num(sx), num(sy), num(-bx0 * sx), num(-by0 * sy)).bytes());
    }
    // Turned as the widget's /MK /R says; the text box is then as seen.
    let rotation = dict.get(b"MK").ok().and_then(|mk| dictionary(doc, mk)).and_then(|mk| mk.get(b"R").ok()?.as_i64().ok());
    let (matrix, box_w, box_h) = match rotation.unwrap_or(0).rem_euclid(360) {
        90 => ([0.0, 1.0, -1.0, 0.0, width, 0.0], height, width),
        180 => ([-1.0, 0.0, 0.0, -1.0, width, height], width, height),
        270 => ([0.0, -1.0, 1.0, 0.0, 0.0, height], height, width),
        _ => ([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], width, height),
    };
    let (asked, colour) = text_style(field.appearance.as_deref());
    let pad = 2.0;
    let [a, b, c, d, e, f] = matrix;
    content.extend(format!("/Tx BMC q {} {} {} {} {} {} cm BT /{FONT} ", num(a), num(b), num(c), num(d), num(e), num(f)).bytes());
    const MULTILINE: i64 = 1 << 12;
    if field.flags & MULTILINE != 0 {
        let size = if asked > 0.0 { asked } else { 10.0 };
        let lines = wrap(text, box_w - 2.0 * pad, size);
        content.extend(format!("{} Tf {colour} {} TL {} {} Td ", num(size), num(size * 1.15), num(pad), num(box_h - pad - size)).bytes());
        for (index, line) in lines.iter().enumerate() {
            if index > 0 {
                content.extend_from_slice(b"T* ");
            }
            content.extend_from_slice(&literal(&win_ansi(line)));
            content.extend_from_slice(b" Tj ");
        }
    } else {
        let line = text.replace(['\n', '\r'], " ");
        let fit = (box_w - 2.0 * pad) / approx_width(&line).max(0.1);
        let size = if asked > 0.0 { asked } else { (box_h * 0.7).min(12.0).min(fit).max(4.0) };
        let text_width = approx_width(&line) * size;
        let x = match field.alignment {
            1 => (box_w - text_width) / 2.0,
            2 => box_w - pad - text_width,
            _ => pad,
        };
        let baseline = (box_h - size * 0.7) / 2.0;
        content.extend(format!("{} Tf {colour} {} {} Td ", num(size), num(x.max(pad)), num(baseline)).bytes());
        content.extend_from_slice(&literal(&win_ansi(&line)));
        content.extend_from_slice(b" Tj ");
    }
    content.extend_from_slice(b"ET Q EMC\n");
    let mut stream_dict = Dictionary::new();
    stream_dict.set("Type", Object::Name(b"XObject".to_vec()));
    stream_dict.set("Subtype", Object::Name(b"Form".to_vec()));
    stream_dict.set("BBox", Object::Array(vec![0.into(), 0.into(), Object::Real(width), Object::Real(height)]));
    stream_dict.set("Resources", Object::Dictionary(resources));
    Some(Stream::new(stream_dict, content))
}

/// A form XObject's box as its `/Matrix` places it.
fn transformed_box(form: &Dictionary) -> Option<[f32; 4]> {
    let numbers = |key: &[u8]| -> Option<Vec<f32>> {
        form.get(key).ok()?.as_array().ok()?.iter().map(|v| v.as_float().ok().filter(|v| v.is_finite())).collect()
    };
    let bbox = numbers(b"BBox").filter(|b| b.len() == 4)?;
    let matrix = numbers(b"Matrix").filter(|m| m.len() == 6).unwrap_or_else(|| vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    let corners = [(bbox[0], bbox[1]), (bbox[2], bbox[1]), (bbox[0], bbox[3]), (bbox[2], bbox[3])];
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for (x, y) in corners {
        let (tx, ty) = (matrix[0] * x + matrix[2] * y + matrix[4], matrix[1] * x + matrix[3] * y + matrix[5]);
        x0 = x0.min(tx);
        y0 = y0.min(ty);
        x1 = x1.max(tx);
        y1 = y1.max(ty);
    }
    Some([x0, y0, x1, y1])
}
