//! Form fields that readers were asked to draw themselves.
//!
//! A form saved with `/NeedAppearances true`, or a field without an
//! appearance, leaves drawing it to each reader: one reader shows the value,
//! another in another font, another (the preview's) not at all. So prepare
//! draws each such field as a reader would (its background and border from
//! `/MK`, then its value, check mark or caption), before `flatten` puts every
//! appearance into the page: from then on every reader shows the same thing.
//! Values are drawn in the document's font (see [`crate::font`]), embedded
//! as a subset, so Cyrillic and Greek values show and can be copied.

use std::collections::HashSet;
use std::rc::Rc;

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

use crate::font::{self, Subset};
use crate::source::PdfError;
use crate::source::pages::{dictionary, resolved};
use crate::typeset::{num, show_lines, wrap};

/// How deep a field tree may nest.
const MAX_FIELD_DEPTH: usize = 32;
/// Most text all the fields drawn here may show together, in bytes.
const MAX_DRAWN_TEXT: usize = 16 * 1024 * 1024;
/// The font name inside the appearances drawn here (their own resources).
const FONT: &str = "Helv";

/// What a field passes down to its kids.
#[derive(Debug, Clone, Default)]
struct Inherited {
    kind: Option<Vec<u8>>,
    /// Shared, not copied, down the tree: a value may be large and a field
    /// may have many kids.
    value: Option<Rc<Object>>,
    appearance: Option<Rc<Vec<u8>>>,
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
            next.value = Some(Rc::new(value.clone()));
        }
        if let Ok(Object::String(da, _)) = field.get(b"DA") {
            next.appearance = Some(Rc::new(da.clone()));
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

/// Draws the form fields whose drawing is left to readers (every field when
/// the form asks readers to draw them, and any field without an
/// appearance); returns how many were drawn.
pub(crate) fn draw_values(doc: &mut Document) -> Result<usize, PdfError> {
    let Some(form) = form(doc) else { return Ok(0) };
    let readers_draw_all = form.get(b"NeedAppearances").and_then(Object::as_bool).unwrap_or(false);
    let default_appearance = match form.get(b"DA") {
        Ok(Object::String(da, _)) => Some(Rc::new(da.clone())),
        _ => None,
    };
    let Ok(Object::Array(fields)) = form.get(b"Fields").map(|f| resolved(doc, f)) else { return Ok(0) };
    let mut widgets = Vec::new();
    let mut seen = HashSet::new();
    // Shared, not copied, down the tree: a field may hold a large value and many kids.
    let root = Rc::new(Inherited { appearance: default_appearance, ..Inherited::default() });
    let mut stack: Vec<(ObjectId, Rc<Inherited>, usize)> = Vec::new();
    for field in fields.iter().rev() {
        if let Object::Reference(id) = field
            && seen.insert(*id)
        {
            stack.push((*id, Rc::clone(&root), 0));
        }
    }
    while let Some((id, inherited, depth)) = stack.pop() {
        if depth > MAX_FIELD_DEPTH {
            continue;
        }
        let Some(dict) = doc.objects.get(&id).and_then(|o| o.as_dict().ok()) else { continue };
        let here = Rc::new(inherited.under(dict));
        match dict.get(b"Kids").map(|k| resolved(doc, k)) {
            Ok(Object::Array(kids)) => {
                for kid in kids.iter().rev() {
                    if let Object::Reference(kid) = kid
                        && seen.insert(*kid)
                    {
                        stack.push((*kid, Rc::clone(&here), depth + 1));
                    }
                }
            }
            _ => widgets.push((id, here)),
        }
    }
    let mut font: Option<Subset> = None;
    let mut drawn = 0;
    let mut text_left = MAX_DRAWN_TEXT;
    for (widget, field) in widgets {
        let has_appearance = doc.get_dictionary(widget).is_ok_and(|w| w.has(b"AP"));
        // Readers draw every field themselves when the form asks; a field
        // without an appearance, always. A widget with no place on the page shows nothing.
        if (has_appearance && !readers_draw_all) || !has_place(doc, widget) {
            continue;
        }
        let Some(shown) = what_shows(doc, widget, &field) else { continue };
        // The same value may be drawn in many widgets: what is drawn is bounded in all.
        let text = match &shown {
            Shown::Text(text) | Shown::Caption(text) => text.len(),
            Shown::Check(_) => 0,
        };
        text_left = text_left.checked_sub(text).ok_or_else(|| {
            PdfError::TooComplex(format!("its form fields would draw more than {} MB of text", MAX_DRAWN_TEXT / 1024 / 1024))
        })?;
        let font = font.get_or_insert_with(|| Subset::new(doc.new_object_id()));
        if let Some(appearance) = appearance(doc, widget, &field, &shown, font) {
            let id = doc.add_object(appearance);
            if let Ok(Object::Dictionary(dict)) = doc.get_object_mut(widget) {
                let mut ap = Dictionary::new();
                ap.set("N", Object::Reference(id));
                dict.set("AP", Object::Dictionary(ap));
                crate::source::remove_key(dict, b"AS");
                drawn += 1;
            }
        }
    }
    if let Some(font) = font {
        let mut next_id = || Some(doc.new_object_id());
        let mut objects = Vec::new();
        font.write(&mut next_id, &mut |id, object| objects.push((id, object)))
            .map_err(|e| PdfError::Damaged(format!("its form values could not be drawn ({e})")))?;
        doc.objects.extend(objects);
    }
    Ok(drawn)
}

/// Whether `widget` has a rectangle on the page to be drawn in.
fn has_place(doc: &Document, widget: ObjectId) -> bool {
    let Some(rect) = doc.get_dictionary(widget).ok().and_then(|w| w.get(b"Rect").ok()).and_then(|r| resolved(doc, r).as_array().ok())
    else {
        return false;
    };
    rect.len() == 4 && rect.iter().all(|v| resolved(doc, v).as_float().is_ok_and(f32::is_finite))
}

/// What a field shows, as readers draw it.
#[derive(Debug, Clone, PartialEq)]
enum Shown {
    /// A text or choice field's value (empty when it has none).
    Text(String),
    /// A check box or radio button, on or off.
    Check(bool),
    /// A push button's caption.
    Caption(String),
}

/// What `widget` of `field` shows; none for a password.
fn what_shows(doc: &Document, widget: ObjectId, field: &Inherited) -> Option<Shown> {
    const PUSH_BUTTON: i64 = 1 << 16;
    match field.kind.as_deref() {
        Some(b"Btn") if field.flags & PUSH_BUTTON != 0 => {
            let caption = doc
                .get_dictionary(widget)
                .ok()
                .and_then(|w| w.get(b"MK").ok())
                .and_then(|mk| dictionary(doc, mk))
                .and_then(|mk| mk.get(b"CA").ok())
                .and_then(|ca| lopdf::decode_text_string(resolved(doc, ca)).ok());
            Some(Shown::Caption(caption.unwrap_or_default()))
        }
        Some(b"Btn") => {
            let state = doc.get_dictionary(widget).ok().and_then(|w| w.get(b"AS").ok()).or(field.value.as_deref());
            let on = state.and_then(|s| resolved(doc, s).as_name().ok()).is_some_and(|name| name != b"Off");
            Some(Shown::Check(on))
        }
        _ => value_text(field).map(Shown::Text),
    }
}

fn form(doc: &Document) -> Option<&Dictionary> {
    let root = doc.trailer.get(b"Root").and_then(Object::as_reference).ok()?;
    let catalog = doc.objects.get(&root)?.as_dict().ok()?;
    dictionary(doc, catalog.get(b"AcroForm").ok()?)
}

/// The text a text or choice field shows (empty when it has no value); none
/// for other fields and for passwords.
fn value_text(field: &Inherited) -> Option<String> {
    const PASSWORD: i64 = 1 << 13;
    if !matches!(field.kind.as_deref(), Some(b"Tx" | b"Ch")) || field.flags & PASSWORD != 0 {
        return None;
    }
    // An empty field is drawn too: its background and border.
    let value = match field.value.as_deref() {
        Some(Object::Array(options)) => options.first(),
        Some(value) => Some(value),
        None => None,
    };
    Some(value.and_then(|value| lopdf::decode_text_string(value).ok()).unwrap_or_default())
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

/// The widget's appearance as readers make one: background and border from
/// `/MK` and `/BS`, then the value.
fn appearance(doc: &Document, widget: ObjectId, field: &Inherited, shown: &Shown, font: &mut Subset) -> Option<Stream> {
    let dict = doc.objects.get(&widget)?.as_dict().ok()?;
    let rect: Vec<f32> = dict.get(b"Rect").ok()?.as_array().ok()?.iter().filter_map(|v| resolved(doc, v).as_float().ok()).collect();
    let [x1, y1, x2, y2] = <[f32; 4]>::try_from(rect).ok()?;
    let (width, height) = ((x2 - x1).abs(), (y2 - y1).abs());
    if !(width >= 1.0 && height >= 1.0 && width.is_finite() && height.is_finite()) {
        return None;
    }
    let mut resources = Dictionary::new();
    let mut fonts = Dictionary::new();
    fonts.set(FONT, Object::Reference(font.id));
    resources.set("Font", Object::Dictionary(fonts));
    let mut content = Vec::new();
    let characteristics = dict.get(b"MK").ok().and_then(|mk| dictionary(doc, mk));
    let colour = |key: &[u8], operators: [&str; 3]| -> Option<String> {
        let values: Vec<String> = characteristics?
            .get(key)
            .ok()?
            .as_array()
            .ok()?
            .iter()
            .filter_map(|v| resolved(doc, v).as_float().ok().filter(|v| v.is_finite()).map(num))
            .collect();
        let operator = match values.len() {
            1 => operators[0],
            3 => operators[1],
            4 => operators[2],
            _ => return None,
        };
        Some(format!("{} {operator}", values.join(" ")))
    };
    if let Some(fill) = colour(b"BG", ["g", "rg", "k"]) {
        content.extend(format!("q {fill} 0 0 {} {} re f Q\n", num(width), num(height)).bytes());
    }
    if let Some(stroke) = colour(b"BC", ["G", "RG", "K"]) {
        let border = dict
            .get(b"BS")
            .ok()
            .and_then(|bs| dictionary(doc, bs))
            .and_then(|bs| bs.get(b"W").ok()?.as_float().ok())
            .filter(|w| w.is_finite() && *w >= 0.0)
            .unwrap_or(1.0);
        if border > 0.0 {
            let half = border / 2.0;
            content.extend(
                format!(
                    "q {stroke} {} w {} {} {} {} re S Q\n",
                    num(border),
                    num(half),
                    num(half),
                    num(width - border),
                    num(height - border)
                )
                .bytes(),
            );
        }
    }
    // Turned as the widget's /MK /R says; the text box is then as seen.
    let rotation = dict.get(b"MK").ok().and_then(|mk| dictionary(doc, mk)).and_then(|mk| mk.get(b"R").ok()?.as_i64().ok());
    let (matrix, box_w, box_h) = match rotation.unwrap_or(0).rem_euclid(360) {
        90 => ([0.0, 1.0, -1.0, 0.0, width, 0.0], height, width),
        180 => ([-1.0, 0.0, 0.0, -1.0, width, height], width, height),
        270 => ([0.0, -1.0, 1.0, 0.0, 0.0, height], height, width),
        _ => ([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], width, height),
    };
    let (asked, colour) = text_style(field.appearance.as_deref().map(Vec::as_slice));
    let [a, b, c, d, e, f] = matrix;
    content.extend(format!("/Tx BMC q {} {} {} {} {} {} cm ", num(a), num(b), num(c), num(d), num(e), num(f)).bytes());
    let text_box = TextBox { width: box_w, height: box_h, asked, colour };
    match shown {
        Shown::Text(text) => {
            const MULTILINE: i64 = 1 << 12;
            if field.flags & MULTILINE != 0 {
                text_box.paragraph(&mut content, text, font);
            } else {
                text_box.line(&mut content, text, field.alignment, font);
            }
        }
        Shown::Caption(caption) => text_box.line(&mut content, caption, 1, font),
        Shown::Check(true) => text_box.check_mark(&mut content),
        Shown::Check(false) => {}
    }
    content.extend_from_slice(b"Q EMC\n");
    let mut stream_dict = Dictionary::new();
    stream_dict.set("Type", Object::Name(b"XObject".to_vec()));
    stream_dict.set("Subtype", Object::Name(b"Form".to_vec()));
    stream_dict.set("BBox", Object::Array(vec![0.into(), 0.into(), Object::Real(width), Object::Real(height)]));
    stream_dict.set("Resources", Object::Dictionary(resources));
    Some(Stream::new(stream_dict, content))
}

/// The box a field's value is drawn in, as seen (after `/MK /R`), and the
/// size and colour its `/DA` asks for.
struct TextBox {
    width: f32,
    height: f32,
    /// The font size asked for; 0 means "fit the box".
    asked: f32,
    colour: String,
}

impl TextBox {
    const PAD: f32 = 2.0;

    /// One line, aligned as `/Q` says (0 left, 1 centre, 2 right).
    fn line(&self, content: &mut Vec<u8>, text: &str, alignment: i64, font: &mut Subset) {
        let line = text.replace(['\n', '\r'], " ");
        let fit = (self.width - 2.0 * Self::PAD) / font::width(&line).max(0.1);
        let size = if self.asked > 0.0 { self.asked } else { (self.height * 0.7).min(12.0).min(fit).max(4.0) };
        let text_width = font::width(&line) * size;
        let x = match alignment {
            1 => (self.width - text_width) / 2.0,
            2 => self.width - Self::PAD - text_width,
            _ => Self::PAD,
        };
        let baseline = (self.height - size * 0.7) / 2.0;
        content.extend(format!("BT /{FONT} {} Tf {} {} {} Td ", num(size), self.colour, num(x.max(Self::PAD)), num(baseline)).bytes());
        content.extend_from_slice(&font.show(&line));
        content.extend_from_slice(b" Tj ET ");
    }

    /// Lines wrapped to the box's width, from its top.
    fn paragraph(&self, content: &mut Vec<u8>, text: &str, font: &mut Subset) {
        let size = if self.asked > 0.0 { self.asked } else { 10.0 };
        let lines = wrap(text, self.width - 2.0 * Self::PAD, size, font::width);
        let top = self.height - Self::PAD - size;
        content.extend(
            format!("BT /{FONT} {} Tf {} {} TL {} {} Td ", num(size), self.colour, num(size * 1.15), num(Self::PAD), num(top)).bytes(),
        );
        show_lines(content, &lines, |line| font.show(line));
        content.extend_from_slice(b"ET ");
    }

    /// A check mark filling the middle of the box, drawn as a path so it
    /// needs no font.
    fn check_mark(&self, content: &mut Vec<u8>) {
        let side = self.width.min(self.height) * 0.7;
        let (x, y) = ((self.width - side) / 2.0, (self.height - side) / 2.0);
        let fill = &self.colour;
        let at = |u: f32, v: f32| format!("{} {}", num(x + u * side), num(y + v * side));
        content.extend(
            format!(
                "{fill} {} m {} l {} l {} l {} l {} l h f ",
                at(0.0, 0.5),
                at(0.15, 0.62),
                at(0.4, 0.35),
                at(0.85, 1.0),
                at(1.0, 0.88),
                at(0.4, 0.1),
            )
            .bytes(),
        );
    }
}
