//! Drawing instructions with one meaning.
//!
//! Readers agree on well-formed drawing instructions and disagree on the
//! rest: a text render mode out of range is filled text to one reader and
//! invisible to another, a colour with the wrong number of components is
//! ignored by one and half-used by another, a name with a NUL byte names one
//! resource to poppler and another to everyone else. So prepare reads every
//! content stream (each page's, and those of forms, tiling patterns and
//! Type 3 glyphs), refuses what is not well formed, and writes it back one
//! way: each page's parts become one stream that leaves the graphics state as
//! it found it. The strict reader checks that every content stream is
//! written so. Decoded content is bounded in all.
//!
//! Not accepted (the file is refused): inline images, operators outside
//! ISO 32000, operands of the wrong number or kind.
//!
//! Prepare reads a source's drawing instructions with lopdf's content
//! parser, which takes what producers write; [`syntax`] writes them back and
//! reads only what it writes.

mod syntax;

use std::collections::{HashMap, HashSet};

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

use crate::source::PdfError;
use crate::source::lenient::MAX_STREAM;
use crate::source::pages::{dictionary, resolved};

/// Most bytes of drawing instructions a document may hold, decoded, in all
/// (a part listed by two pages counts twice).
pub(crate) const MAX_CONTENT: usize = 64 * 1024 * 1024;

/// How much decoded content is left to read.
#[derive(Debug)]
pub(crate) struct Budget(usize);

impl Budget {
    pub(crate) fn new() -> Self {
        Budget(MAX_CONTENT)
    }

    fn spend(&mut self, bytes: usize) -> Result<(), PdfError> {
        self.0 = self.0.checked_sub(bytes).ok_or_else(|| {
            PdfError::TooComplex(format!("its pages hold more than {} MB of drawing instructions", MAX_CONTENT / 1024 / 1024))
        })?;
        Ok(())
    }
}

fn ambiguous(why: &str) -> PdfError {
    PdfError::Ambiguous(format!("a page's drawing instructions {why}"))
}

/// The decoded data of a content stream.
fn decoded(stream: &Stream, data: &[u8], budget: &mut Budget) -> Result<Vec<u8>, PdfError> {
    let unreadable = || PdfError::Damaged("a page's drawing instructions cannot be read".into());
    let decoded = match stream.dict.get(b"Filter").map(|f| f.as_name()) {
        Err(_) => data.to_vec(),
        Ok(Ok(b"FlateDecode")) if !stream.dict.has(b"DecodeParms") => {
            miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(data, MAX_STREAM).map_err(|_| unreadable())?
        }
        // Other encodings: lopdf's decoders, within the same limit.
        Ok(_) => Stream::new(stream.dict.clone(), data.to_vec()).decompressed_content_with_limit(MAX_STREAM).map_err(|_| unreadable())?,
    };
    budget.spend(decoded.len())?;
    Ok(decoded)
}

/// What a content stream can name: its resources' colour spaces.
struct Names<'a> {
    doc: &'a Document,
    resources: Option<&'a Dictionary>,
}

/// A colour space, as far as its operators' operands go.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Space {
    /// Colours of this many components.
    Components(usize),
    /// A pattern, with this many components for an uncoloured one.
    Pattern(Option<usize>),
}

impl Names<'_> {
    fn space(&self, name: &[u8]) -> Option<Space> {
        match name {
            b"DeviceGray" => return Some(Space::Components(1)),
            b"DeviceRGB" => return Some(Space::Components(3)),
            b"DeviceCMYK" => return Some(Space::Components(4)),
            b"Pattern" => return Some(Space::Pattern(None)),
            _ => {}
        }
        let spaces = dictionary(self.doc, self.resources?.get(b"ColorSpace").ok()?)?;
        self.family(resolved(self.doc, spaces.get(name).ok()?), 0)
    }

    fn family(&self, value: &Object, depth: usize) -> Option<Space> {
        let components = |n: usize| Some(Space::Components(n));
        match value {
            Object::Name(name) => match name.as_slice() {
                b"DeviceGray" | b"CalGray" => components(1),
                b"DeviceRGB" | b"CalRGB" | b"Lab" => components(3),
                b"DeviceCMYK" => components(4),
                b"Pattern" => Some(Space::Pattern(None)),
                _ => None,
            },
            Object::Array(parts) => {
                let family = resolved(self.doc, parts.first()?).as_name().ok()?;
                match family {
                    b"CalGray" | b"Indexed" | b"Separation" => components(1),
                    b"CalRGB" | b"Lab" => components(3),
                    b"ICCBased" => {
                        let Object::Stream(profile) = resolved(self.doc, parts.get(1)?) else { return None };
                        let n = resolved(self.doc, profile.dict.get(b"N").ok()?).as_i64().ok()?;
                        matches!(n, 1 | 3 | 4).then(|| Space::Components(n as usize))
                    }
                    b"DeviceN" => components(resolved(self.doc, parts.get(1)?).as_array().ok()?.len()).filter(|_| parts.len() >= 4),
                    b"Pattern" if depth == 0 => match parts.get(1) {
                        None => Some(Space::Pattern(None)),
                        Some(base) => match self.family(resolved(self.doc, base), depth + 1)? {
                            Space::Components(n) => Some(Space::Pattern(Some(n))),
                            Space::Pattern(_) => None,
                        },
                    },
                    _ => self.family(&Object::Name(family.to_vec()), depth + 1).filter(|_| parts.len() == 1),
                }
            }
            _ => None,
        }
    }
}

/// The graphics state an operator's operands depend on.
#[derive(Debug, Clone, Copy)]
struct Colours {
    stroke: Space,
    fill: Space,
}

/// How drawing instructions change the graphics state: the lowest depth of
/// `q`/`Q` they reach and where they end, relative to where they start, and
/// whether they end inside a text object.
#[derive(Debug, Clone, Copy, Default)]
struct StateUse {
    lowest: i64,
    end: i64,
    in_text: bool,
}

/// Follows the graphics state through drawing instructions, checking each
/// operation as it comes.
struct Drawing<'a> {
    names: Names<'a>,
    state: StateUse,
    colours: Colours,
    saved: Vec<Colours>,
}

impl<'a> Drawing<'a> {
    const INITIAL: Colours = Colours { stroke: Space::Components(1), fill: Space::Components(1) };

    fn new(names: Names<'a>) -> Self {
        Drawing { names, state: StateUse::default(), colours: Self::INITIAL, saved: Vec::new() }
    }

    fn step(&mut self, operator: &str, operands: &[Object]) -> Result<(), PdfError> {
        check_operands(operator, operands, &self.names, &mut self.colours)?;
        match operator {
            "q" => {
                self.saved.push(self.colours);
                self.state.end += 1;
            }
            "Q" => {
                self.colours = self.saved.pop().unwrap_or(Self::INITIAL);
                self.state.end -= 1;
                self.state.lowest = self.state.lowest.min(self.state.end);
            }
            "BT" => self.state.in_text = true,
            "ET" => self.state.in_text = false,
            _ => {}
        }
        Ok(())
    }
}

/// Checks `data` (decoded, as a producer wrote it) and returns its operations.
fn well_formed(data: &[u8], names: Names<'_>) -> Result<(Vec<Operation>, StateUse), PdfError> {
    let content = Content::decode_strict(data).map_err(|_| ambiguous("cannot be read the same way by every reader"))?;
    let mut drawing = Drawing::new(names);
    for operation in &content.operations {
        drawing.step(&operation.operator, &operation.operands)?;
    }
    Ok((content.operations, drawing.state))
}

/// Checks `data` (decoded) as [`encode`] writes it, operation by operation.
fn well_written(data: &[u8], names: Names<'_>) -> Result<StateUse, PdfError> {
    let mut drawing = Drawing::new(names);
    let mut written = syntax::Written::new(data);
    while let Some((operator, operands)) = written.next_operation().map_err(|_| not_prepared("are not written as preparing writes them"))? {
        drawing.step(operator, operands)?;
    }
    Ok(drawing.state)
}

fn not_prepared(why: &str) -> PdfError {
    PdfError::NotNormal(format!("its drawing instructions {why}"))
}

/// The kinds of operand an operator takes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Number,
    Integer,
    Name,
    String,
    /// A dash array: numbers.
    Numbers,
    /// `TJ`'s array: strings and numbers.
    Text,
    /// A property list: a name or a dictionary.
    Properties,
}

fn signature(operator: &str) -> Option<&'static [Kind]> {
    use Kind::*;
    Some(match operator {
        "q" | "Q" | "h" | "S" | "s" | "f" | "F" | "f*" | "B" | "B*" | "b" | "b*" | "n" | "W" | "W*" | "BT" | "ET" | "T*" | "EMC" | "BX"
        | "EX" => &[],
        "w" | "M" | "i" | "Tc" | "Tw" | "Tz" | "TL" | "Ts" | "G" | "g" => &[Number],
        "J" | "j" | "Tr" => &[Integer],
        "d" => &[Numbers, Number],
        "ri" | "gs" | "CS" | "cs" | "sh" | "Do" | "MP" | "BMC" => &[Name],
        "cm" | "c" | "Tm" | "d1" => &[Number; 6],
        "m" | "l" | "Td" | "TD" | "d0" => &[Number; 2],
        "v" | "y" | "re" => &[Number; 4],
        "Tf" => &[Name, Number],
        "Tj" | "'" => &[String],
        "\"" => &[Number, Number, String],
        "TJ" => &[Text],
        "RG" | "rg" => &[Number; 3],
        "K" | "k" => &[Number; 4],
        "DP" | "BDC" => &[Name, Properties],
        _ => return None,
    })
}

/// A number every reader reads the same: an integer or a finite real of a
/// size readers handle.
fn is_number(value: &Object) -> bool {
    match value {
        Object::Integer(n) => n.unsigned_abs() <= i32::MAX as u64,
        Object::Real(x) => x.is_finite() && x.abs() <= 1.0e9,
        _ => false,
    }
}

fn has_nul(value: &Object) -> bool {
    match value {
        Object::Name(name) => name.contains(&0),
        Object::Array(items) => items.iter().any(has_nul),
        Object::Dictionary(dict) => dict.iter().any(|(key, value)| key.contains(&0) || has_nul(value)),
        _ => false,
    }
}

fn check_operands(operator: &str, operands: &[Object], names: &Names<'_>, colours: &mut Colours) -> Result<(), PdfError> {
    if operands.iter().any(has_nul) {
        return Err(ambiguous("hold a name with a NUL byte, which some readers cut short"));
    }
    let wrong =
        || ambiguous(&format!("give the operator {operator} operands of the wrong number or kind, which readers handle differently"));
    match operator {
        "BI" => return Err(ambiguous("draw an image inline, which readers delimit differently")),
        "CS" | "cs" => {
            let [Object::Name(name)] = operands else { return Err(wrong()) };
            let space = names.space(name).ok_or_else(|| ambiguous("name a colour space they do not define"))?;
            if operator == "CS" {
                colours.stroke = space
            } else {
                colours.fill = space
            }
            return Ok(());
        }
        "SC" | "sc" | "SCN" | "scn" => {
            let space = if operator.starts_with('S') { colours.stroke } else { colours.fill };
            let with_name = operator.ends_with('N') || operator.ends_with('n');
            let fits = match (space, operands.split_last()) {
                (Space::Components(n), _) => operands.len() == n && operands.iter().all(is_number),
                (Space::Pattern(base), Some((Object::Name(_), numbers))) if with_name => {
                    numbers.len() == base.unwrap_or(0) && numbers.iter().all(is_number)
                }
                _ => false,
            };
            return if fits { Ok(()) } else { Err(wrong()) };
        }
        _ => {}
    }
    let Some(kinds) = signature(operator) else {
        return Err(ambiguous(&format!("use an operator ({operator}) that is not part of PDF")));
    };
    if kinds.len() != operands.len() {
        return Err(wrong());
    }
    let fits = kinds.iter().zip(operands).all(|(kind, operand)| match kind {
        Kind::Number => is_number(operand),
        Kind::Integer => matches!(operand, Object::Integer(n) if n.unsigned_abs() <= i32::MAX as u64),
        Kind::Name => matches!(operand, Object::Name(_)),
        Kind::String => matches!(operand, Object::String(..)),
        Kind::Numbers => matches!(operand, Object::Array(items) if items.iter().all(is_number)),
        Kind::Text => matches!(operand, Object::Array(items) if items.iter().all(|i| is_number(i) || matches!(i, Object::String(..)))),
        Kind::Properties => matches!(operand, Object::Name(_) | Object::Dictionary(_)),
    });
    if !fits {
        return Err(wrong());
    }
    match (operator, operands) {
        ("Tr", [Object::Integer(mode)]) if !(0..=7).contains(mode) => Err(ambiguous("set a text rendering mode readers do not share")),
        ("G" | "g", _) => {
            set(colours, operator, Space::Components(1));
            Ok(())
        }
        ("RG" | "rg", _) => {
            set(colours, operator, Space::Components(3));
            Ok(())
        }
        ("K" | "k", _) => {
            set(colours, operator, Space::Components(4));
            Ok(())
        }
        _ => Ok(()),
    }
}

fn set(colours: &mut Colours, operator: &str, space: Space) {
    if operator.starts_with(|c: char| c.is_ascii_uppercase()) {
        colours.stroke = space;
    } else {
        colours.fill = space;
    }
}

/// The one way drawing instructions are written.
fn encode(operations: &[Operation]) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::new();
    for (index, operation) in operations.iter().enumerate() {
        if index > 0 {
            out.push(b'\n');
        }
        syntax::write_operation(&mut out, &operation.operator, &operation.operands).map_err(|_| ambiguous("cannot be written back"))?;
    }
    Ok(out)
}

fn op(operator: &str, operands: Vec<Object>) -> Operation {
    Operation::new(operator, operands)
}

/// A content stream's new bytes: `data`, compressed.
fn flate(data: &[u8]) -> Stream {
    let mut dict = Dictionary::new();
    dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
    Stream::new(dict, miniz_oxide::deflate::compress_to_vec_zlib(data, 6)).with_compression(false)
}

/// The parts of a page's `/Contents`: streams, in order (anything else in
/// the list is skipped, as most readers skip it).
fn parts(doc: &Document, contents: Option<&Object>) -> Vec<ObjectId> {
    let listed: &[Object] = match contents {
        Some(Object::Reference(id)) => match doc.objects.get(id) {
            Some(Object::Array(items)) => items,
            _ => std::slice::from_ref(contents.unwrap_or(&Object::Null)),
        },
        Some(Object::Array(items)) => items,
        _ => &[],
    };
    listed.iter().filter_map(|item| item.as_reference().ok()).filter(|id| matches!(doc.objects.get(id), Some(Object::Stream(_)))).collect()
}

/// Rewrites each page's drawing as one well-formed stream that leaves the
/// graphics state as it found it, then draws `layers[i]` (a form the page's
/// resources name) over page `i`; and every form, tiling pattern and Type 3
/// glyph, written one way. Pages with the same parts and no layer share
/// their stream.
pub(crate) fn normalise(doc: &mut Document, pages: &[ObjectId], layers: &[Option<String>]) -> Result<(), PdfError> {
    let mut budget = Budget::new();
    // Pages whose `/Contents` is the same object, and no annotations over
    // it, get the same stream: its list is read once, however many pages share it.
    let mut made: HashMap<ObjectId, ObjectId> = HashMap::new();
    let mut decoded_parts: HashMap<ObjectId, Vec<u8>> = HashMap::new();
    for (index, page) in pages.iter().enumerate() {
        let contents = doc.get_dictionary(*page).ok().and_then(|p| p.get(b"Contents").ok());
        let shared = contents.and_then(|c| c.as_reference().ok());
        let layer = layers.get(index).cloned().flatten();
        if layer.is_none()
            && let Some(stream) = shared.and_then(|id| made.get(&id))
        {
            set_contents(doc, *page, *stream);
            continue;
        }
        let parts = parts(doc, contents);
        let mut data = Vec::new();
        for part in &parts {
            if !decoded_parts.contains_key(part) {
                let Some(Object::Stream(stream)) = doc.objects.get(part) else { continue };
                let bytes = decoded(stream, &stream.content, &mut Budget(MAX_STREAM))?;
                decoded_parts.insert(*part, bytes);
            }
            // Counted each time a page lists it: that is what readers decode.
            budget.spend(decoded_parts[part].len() + 1)?;
            // Each part ends where the next begins: no token runs across.
            data.extend_from_slice(&decoded_parts[part]);
            data.push(b'\n');
        }
        let resources = doc.get_dictionary(*page).ok().and_then(|p| p.get(b"Resources").ok()).and_then(|r| dictionary(doc, r));
        let (operations, state) = well_formed(&data, Names { doc, resources })?;
        // The page's drawing in saves of its own: enough that no restore
        // inside reaches past them, and restores after that bring the state
        // back to where the page started, outside a text object. What
        // follows (the annotations, Countersign's id line) starts there. A
        // restore with no save before it, which readers ignore, then restores
        // one of these: every reader still draws the page one way.
        // (Without annotations over it, a page's drawing needs only to end at
        // the depth it started: the renderer saves and restores around it.)
        let outer = i64::from(layer.is_some());
        let saves = usize::try_from(outer - state.lowest).unwrap_or(0);
        let restores = usize::try_from(outer - state.lowest + state.end).unwrap_or(0);
        let mut wrapped: Vec<Operation> = (0..saves).map(|_| op("q", vec![])).collect();
        wrapped.extend(operations);
        if state.in_text {
            wrapped.push(op("ET", vec![]));
        }
        wrapped.extend((0..restores).map(|_| op("Q", vec![])));
        if let Some(layer) = &layer {
            wrapped.extend([op("q", vec![]), op("Do", vec![Object::Name(layer.as_bytes().to_vec())]), op("Q", vec![])]);
        }
        let stream = doc.add_object(flate(&encode(&wrapped)?));
        if layer.is_none()
            && let Some(shared) = shared
        {
            made.insert(shared, stream);
        }
        set_contents(doc, *page, stream);
    }
    normalise_other_content(doc, &mut budget)
}

fn set_contents(doc: &mut Document, page: ObjectId, stream: ObjectId) {
    if let Ok(Object::Dictionary(dict)) = doc.get_object_mut(page) {
        dict.set("Contents", Object::Reference(stream));
    }
}

/// Content streams other than the pages': forms, tiling patterns and the
/// glyphs of Type 3 fonts, each with the resources it names.
fn other_content(doc: &Document) -> Vec<(ObjectId, Option<ObjectId>)> {
    let mut found = Vec::new();
    for (id, object) in &doc.objects {
        match object {
            Object::Stream(stream) => {
                let is = |key: &[u8], value: &Object| stream.dict.get(key).is_ok_and(|v| resolved(doc, v) == value);
                if is(b"Subtype", &Object::Name(b"Form".to_vec())) || is(b"PatternType", &Object::Integer(1)) {
                    found.push((*id, Some(*id)));
                }
            }
            Object::Dictionary(font) if font.get(b"Subtype").and_then(Object::as_name).is_ok_and(|s| s == b"Type3") => {
                let Some(glyphs) = font.get(b"CharProcs").ok().and_then(|c| dictionary(doc, c)) else { continue };
                for (_, glyph) in glyphs.iter() {
                    if let Ok(glyph) = glyph.as_reference() {
                        found.push((glyph, Some(*id)));
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// The resources the object `holder` names (a form's or a Type 3 font's own).
fn resources_of(doc: &Document, holder: Option<ObjectId>) -> Option<&Dictionary> {
    let holder = doc.objects.get(&holder?)?;
    let dict = match holder {
        Object::Stream(stream) => &stream.dict,
        Object::Dictionary(dict) => dict,
        _ => return None,
    };
    dictionary(doc, dict.get(b"Resources").ok()?)
}

fn normalise_other_content(doc: &mut Document, budget: &mut Budget) -> Result<(), PdfError> {
    for (id, holder) in other_content(doc) {
        let Some(Object::Stream(stream)) = doc.objects.get(&id) else { continue };
        let data = decoded(stream, &stream.content, budget)?;
        let (operations, _) = well_formed(&data, Names { doc, resources: resources_of(doc, holder) })?;
        let written = flate(&encode(&operations)?);
        if let Some(Object::Stream(stream)) = doc.objects.get_mut(&id) {
            for key in [&b"Filter"[..], b"DecodeParms", b"Length"] {
                crate::source::remove_key(&mut stream.dict, key);
            }
            stream.dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
            stream.set_content(written.content);
        }
    }
    Ok(())
}

/// Checks that every content stream of a source in normal form is written
/// one way (as [`normalise`] writes it) and that each page's drawing leaves
/// the graphics state as it found it. `file` holds the streams' bytes (the
/// strict reader does not copy them).
pub(crate) fn check(doc: &Document, pages: &[ObjectId], file: &[u8]) -> Result<(), PdfError> {
    let data = |stream: &Stream| -> Option<&[u8]> {
        let start = stream.start_position?;
        let len = usize::try_from(stream.dict.get(b"Length").and_then(Object::as_i64).ok()?).ok()?;
        file.get(start..start.checked_add(len)?)
    };
    let mut budget = Budget::new();
    let mut checked: HashSet<ObjectId> = HashSet::new();
    let check_one = |id: ObjectId, resources: Option<&Dictionary>, page: bool, budget: &mut Budget| -> Result<(), PdfError> {
        let Some(Object::Stream(stream)) = doc.objects.get(&id) else { return Err(not_prepared("are not a stream")) };
        let only_flate =
            stream.dict.get(b"Filter").is_ok_and(|f| f.as_name().is_ok_and(|n| n == b"FlateDecode")) && !stream.dict.has(b"DecodeParms");
        if !only_flate {
            return Err(not_prepared("are not written as preparing writes them"));
        }
        let bytes = data(stream).ok_or_else(|| not_prepared("are missing"))?;
        let decoded = decoded(stream, bytes, budget)?;
        let state = well_written(&decoded, Names { doc, resources })?;
        if page && (state.lowest != 0 || state.end != 0 || state.in_text) {
            return Err(not_prepared("leave the graphics state other than they found it"));
        }
        Ok(())
    };
    for page in pages {
        let dict = doc.get_dictionary(*page).map_err(|_| not_prepared("have no page"))?;
        let Ok(Object::Reference(stream)) = dict.get(b"Contents") else {
            return Err(not_prepared("are not one stream per page"));
        };
        if checked.insert(*stream) {
            let resources = dict.get(b"Resources").ok().and_then(|r| dictionary(doc, r));
            check_one(*stream, resources, true, &mut budget)?;
        }
    }
    for (id, holder) in other_content(doc) {
        if checked.insert(id) {
            check_one(id, resources_of(doc, holder), false, &mut budget)?;
        }
    }
    Ok(())
}
