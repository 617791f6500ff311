//! The normal form: the one layout in which Countersign accepts a source PDF.
//!
//! ```text
//! %PDF-1.7                                the source's own version, 1.0 to 2.0
//! %âãÏÓ
//! 1 0 obj                                 objects numbered 1..n in the order a
//! <</Type /Catalog/Pages 2 0 R>>          breadth-first walk from the trailer's
//! endobj                                  /Root (then /Info) first meets them
//! 2 0 obj
//! <</Length 44>>                          a stream's /Length is direct and exact
//! stream
//! …44 bytes…
//! endstream
//! endobj
//! xref                                    one classic cross-reference section
//! 0 n+1
//! 0000000000 65535 f\r\n
//! 0000000015 00000 n\r\n                  one entry per object, in order
//! trailer
//! <</Size n+1/Root 1 0 R/Info k 0 R/ID [<…> <…>]>>
//! startxref
//! offset
//! %%EOF                                   and nothing after it
//! ```
//!
//! Every value is spelled one way: integers in decimal, reals with a point and
//! the fewest digits that read back to the same number, names with `#XX` for
//! anything but plain characters, literal strings with `\ooo` for anything but
//! printable ASCII, one space between array items and between a key and its
//! value. A reference to an object that does not exist is null, and a null
//! dictionary entry is left out. Objects nothing reaches are not written.
//!
//! So one document has one normal form, and a file is in normal form exactly
//! when writing what it holds gives back its bytes: [`check`] does that,
//! comparing as it writes, and names the first byte that differs.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::io::Write as _;

use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat};

use crate::source::{MAX_DEPTH, MAX_OBJECTS, PdfError};

/// The header versions the normal form keeps as they are.
pub(crate) const VERSIONS: [&str; 9] = ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "2.0"];
/// The binary comment after the header, so tools treat the file as binary.
pub(crate) const BINARY_LINE: &[u8] = b"%\xE2\xE3\xCF\xD3\n";

/// Where a stream's bytes are: in the stream (a document read by lopdf), or
/// at the stream's `start_position` in the file it was read from (a document
/// read by the strict reader, which does not copy them).
#[derive(Debug, Clone, Copy)]
pub(crate) enum StreamData<'a> {
    /// `Stream::content`.
    Inline,
    /// `file[start_position..start_position + /Length]`.
    In(&'a [u8]),
}

/// Writes `doc` in normal form.
pub(crate) fn write(doc: &Document, data: StreamData<'_>) -> Result<Vec<u8>, PdfError> {
    let mut out = Buffer(Vec::new());
    emit(doc, data, &mut out)?;
    Ok(out.0)
}

/// Drops the objects the normal form would not write (those the catalog
/// and the document information do not reach).
pub(crate) fn prune(doc: &mut Document) -> Result<(), PdfError> {
    let trailer = trailer(doc)?;
    let roots: Vec<ObjectId> = std::iter::once(trailer.root).chain(trailer.info).collect();
    let numbers = number(doc, &roots)?;
    doc.objects.retain(|id, _| numbers.by_id.contains_key(id));
    Ok(())
}

/// Whether `bytes`, from which the strict reader read `doc`, are the normal
/// form of `doc`: `Err` holds the offset of the first byte that differs.
pub(crate) fn check(doc: &Document, bytes: &[u8]) -> Result<(), usize> {
    let mut compare = Compare { expected: bytes, at: 0, differs_at: None };
    if emit(doc, StreamData::In(bytes), &mut compare).is_err() {
        return Err(compare.differs_at.unwrap_or(compare.at));
    }
    match compare.differs_at {
        Some(at) => Err(at),
        None if compare.at != bytes.len() => Err(compare.at),
        None => Ok(()),
    }
}

/// Where the normal form goes: a buffer, or a comparison with bytes we have.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
    fn position(&self) -> usize;
}

struct Buffer(Vec<u8>);

impl Sink for Buffer {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
    fn position(&self) -> usize {
        self.0.len()
    }
}

struct Compare<'a> {
    expected: &'a [u8],
    at: usize,
    differs_at: Option<usize>,
}

impl Sink for Compare<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if self.differs_at.is_some() {
            return;
        }
        let found = self.expected.get(self.at..).unwrap_or_default();
        // A stream's data is a slice of the very bytes compared: nothing to read.
        let same_place = found.as_ptr() == bytes.as_ptr() && found.len() >= bytes.len();
        if !same_place && !found.starts_with(bytes) {
            let offset = found.iter().zip(bytes).position(|(a, b)| a != b).unwrap_or(found.len().min(bytes.len()));
            self.differs_at = Some(self.at + offset);
        }
        self.at += bytes.len();
    }
    fn position(&self) -> usize {
        self.at
    }
}

/// Object numbers in the normal form, by the object's id in `doc`.
struct Numbers {
    by_id: HashMap<ObjectId, u32>,
    order: Vec<ObjectId>,
}

impl Numbers {
    fn of(&self, id: ObjectId) -> Option<u32> {
        self.by_id.get(&id).copied()
    }
}

/// What a reference to `id` stands for: the object it names, followed
/// through objects that are themselves references; `None` (null) when that
/// object does not exist or is a piece of another file layout (an object or
/// cross-reference stream).
fn resolve(doc: &Document, mut id: ObjectId) -> Option<ObjectId> {
    for _ in 0..MAX_DEPTH {
        match doc.objects.get(&id)? {
            Object::Reference(next) => id = *next,
            Object::Stream(stream) if stream.dict.has_type(b"ObjStm") || stream.dict.has_type(b"XRef") => return None,
            _ => return Some(id),
        }
    }
    None
}

/// Numbers the objects reachable from the trailer, breadth first, in the
/// order their references are written.
fn number(doc: &Document, roots: &[ObjectId]) -> Result<Numbers, PdfError> {
    let mut numbers = Numbers { by_id: HashMap::new(), order: Vec::new() };
    let mut queue: VecDeque<ObjectId> = VecDeque::new();
    let meet = |id: ObjectId, numbers: &mut Numbers, queue: &mut VecDeque<ObjectId>| -> Result<(), PdfError> {
        if numbers.by_id.contains_key(&id) {
            return Ok(());
        }
        let Some(object) = resolve(doc, id) else { return Ok(()) };
        let number = match numbers.by_id.get(&object) {
            Some(number) => *number,
            None => {
                if numbers.order.len() >= MAX_OBJECTS {
                    return Err(PdfError::TooComplex(format!("it has more than {MAX_OBJECTS} objects")));
                }
                numbers.order.push(object);
                queue.push_back(object);
                let number = u32::try_from(numbers.order.len()).unwrap_or(u32::MAX);
                numbers.by_id.insert(object, number);
                number
            }
        };
        numbers.by_id.insert(id, number);
        Ok(())
    };
    for id in roots {
        meet(*id, &mut numbers, &mut queue)?;
    }
    let mut found = Vec::new();
    while let Some(id) = queue.pop_front() {
        found.clear();
        match doc.objects.get(&id) {
            Some(Object::Stream(stream)) => references_in_dict(&stream.dict, true, 0, &mut found)?,
            Some(object) => references_in(object, 0, &mut found)?,
            None => {}
        }
        for reference in &found {
            meet(*reference, &mut numbers, &mut queue)?;
        }
    }
    Ok(numbers)
}

fn too_deep() -> PdfError {
    PdfError::TooComplex(format!("its objects nest more than {MAX_DEPTH} levels deep"))
}

/// The references in `object`, in the order they are written.
fn references_in(object: &Object, depth: usize, found: &mut Vec<ObjectId>) -> Result<(), PdfError> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    match object {
        Object::Reference(id) => found.push(*id),
        Object::Array(items) => {
            for item in items {
                references_in(item, depth + 1, found)?;
            }
        }
        Object::Dictionary(dict) => references_in_dict(dict, false, depth, found)?,
        Object::Stream(stream) => references_in_dict(&stream.dict, true, depth, found)?,
        _ => {}
    }
    Ok(())
}

fn references_in_dict(dict: &Dictionary, stream: bool, depth: usize, found: &mut Vec<ObjectId>) -> Result<(), PdfError> {
    for (key, value) in dict.iter() {
        // A stream's /Length is written as the direct, exact length.
        if !(stream && key.as_slice() == b"Length") {
            references_in(value, depth + 1, found)?;
        }
    }
    Ok(())
}

/// The trailer entries the normal form keeps: the catalog, the document
/// information dictionary and the file identifier.
struct Trailer {
    root: ObjectId,
    info: Option<ObjectId>,
    id: Option<Object>,
}

fn trailer(doc: &Document) -> Result<Trailer, PdfError> {
    let dictionary = |key: &[u8]| {
        let id = doc.trailer.get(key).and_then(Object::as_reference).ok()?;
        resolve(doc, id).filter(|id| matches!(doc.objects.get(id), Some(Object::Dictionary(_))))
    };
    let root = dictionary(b"Root").ok_or_else(|| PdfError::Damaged("its document catalog is missing".into()))?;
    let info = dictionary(b"Info").filter(|info| *info != root);
    let id = match doc.trailer.get(b"ID") {
        Ok(Object::Array(parts)) if parts.len() == 2 && parts.iter().all(|p| matches!(p, Object::String(..))) => {
            Some(Object::Array(parts.clone()))
        }
        _ => None,
    };
    Ok(Trailer { root, info, id })
}

fn emit(doc: &Document, data: StreamData<'_>, out: &mut impl Sink) -> Result<(), PdfError> {
    let trailer = trailer(doc)?;
    let roots: Vec<ObjectId> = std::iter::once(trailer.root).chain(trailer.info).collect();
    let numbers = number(doc, &roots)?;
    let version = if VERSIONS.contains(&doc.version.as_str()) { doc.version.as_str() } else { "1.7" };
    out.put(b"%PDF-");
    out.put(version.as_bytes());
    out.put(b"\n");
    out.put(BINARY_LINE);

    let mut offsets = Vec::with_capacity(numbers.order.len());
    let mut scratch = Vec::new();
    for (index, id) in numbers.order.iter().enumerate() {
        offsets.push(out.position());
        scratch.clear();
        let _ = writeln!(scratch, "{} 0 obj", index + 1);
        match doc.objects.get(id) {
            Some(Object::Stream(stream)) => {
                let bytes = stream_bytes(stream, data)?;
                let mut dict = stream.dict.clone();
                dict.set("Length", i64::try_from(bytes.len()).unwrap_or(i64::MAX));
                write_dict(&mut scratch, &dict, &numbers, 0)?;
                scratch.extend_from_slice(b"\nstream\n");
                out.put(&scratch);
                out.put(bytes);
                out.put(b"\nendstream\nendobj\n");
            }
            Some(object) => {
                write_value(&mut scratch, object, &numbers, 0)?;
                scratch.extend_from_slice(b"\nendobj\n");
                out.put(&scratch);
            }
            None => return Err(PdfError::Damaged("an object vanished while writing".into())),
        }
    }

    let startxref = out.position();
    scratch.clear();
    let _ = write!(scratch, "xref\n0 {}\n0000000000 65535 f\r\n", offsets.len() + 1);
    for offset in &offsets {
        if *offset as u64 >= 10_000_000_000 {
            return Err(PdfError::TooComplex("it is larger than a cross-reference table can address".into()));
        }
        let _ = write!(scratch, "{offset:010} 00000 n\r\n");
    }
    let mut dict = Dictionary::new();
    dict.set("Size", i64::try_from(offsets.len() + 1).unwrap_or(i64::MAX));
    dict.set("Root", Object::Reference(trailer.root));
    if let Some(info) = trailer.info {
        dict.set("Info", Object::Reference(info));
    }
    if let Some(id) = trailer.id {
        dict.set("ID", id);
    }
    scratch.extend_from_slice(b"trailer\n");
    write_dict(&mut scratch, &dict, &numbers, 0)?;
    let _ = write!(scratch, "\nstartxref\n{startxref}\n%%EOF\n");
    out.put(&scratch);
    Ok(())
}

fn stream_bytes<'a>(stream: &'a Stream, data: StreamData<'a>) -> Result<&'a [u8], PdfError> {
    match data {
        StreamData::Inline => Ok(&stream.content),
        StreamData::In(file) => {
            let len = stream.dict.get(b"Length").and_then(Object::as_i64).ok().and_then(|len| usize::try_from(len).ok());
            stream
                .start_position
                .zip(len)
                .and_then(|(start, len)| file.get(start..start.checked_add(len)?))
                .ok_or_else(|| PdfError::Damaged("a stream's length does not fit the file".into()))
        }
    }
}

fn write_value(out: &mut Vec<u8>, object: &Object, numbers: &Numbers, depth: usize) -> Result<(), PdfError> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    match object {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(true) => out.extend_from_slice(b"true"),
        Object::Boolean(false) => out.extend_from_slice(b"false"),
        Object::Integer(value) => {
            let _ = write!(out, "{value}");
        }
        Object::Real(value) => out.extend_from_slice(real(*value).as_bytes()),
        Object::Name(name) => write_name(out, name),
        Object::String(bytes, StringFormat::Literal) => write_literal(out, bytes),
        Object::String(bytes, StringFormat::Hexadecimal) => {
            out.push(b'<');
            out.extend_from_slice(crate::hash::to_hex(bytes).as_bytes());
            out.push(b'>');
        }
        Object::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b' ');
                }
                write_value(out, item, numbers, depth + 1)?;
            }
            out.push(b']');
        }
        Object::Dictionary(dict) => write_dict(out, dict, numbers, depth)?,
        Object::Reference(id) => match numbers.of(*id) {
            Some(number) => {
                let _ = write!(out, "{number} 0 R");
            }
            None => out.extend_from_slice(b"null"),
        },
        // Streams are written by `emit`; one nested in another object is not PDF.
        Object::Stream(_) => return Err(PdfError::Damaged("a stream sits inside another object".into())),
    }
    Ok(())
}

fn write_dict(out: &mut Vec<u8>, dict: &Dictionary, numbers: &Numbers, depth: usize) -> Result<(), PdfError> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    out.extend_from_slice(b"<<");
    for (key, value) in dict.iter() {
        let dropped = match value {
            Object::Null => true,
            Object::Reference(id) => numbers.of(*id).is_none(),
            _ => false,
        };
        if dropped {
            continue;
        }
        write_name(out, key);
        out.push(b' ');
        write_value(out, value, numbers, depth + 1)?;
    }
    out.extend_from_slice(b">>");
    Ok(())
}

/// A real with a point and the fewest digits that read back as the same `f32`.
pub(crate) fn real(value: f32) -> String {
    let value = if value.is_finite() && value != 0.0 { value } else { 0.0 };
    let text = format!("{value}");
    if text.contains('.') { text } else { text + ".0" }
}

/// Whether a byte stands for itself in a name.
pub(crate) fn plain_in_name(byte: u8) -> bool {
    matches!(byte, b'!'..=b'~') && !matches!(byte, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%' | b'#')
}

fn write_name(out: &mut Vec<u8>, name: &[u8]) {
    out.push(b'/');
    for &byte in name {
        if plain_in_name(byte) {
            out.push(byte);
        } else {
            let _ = write!(out, "#{byte:02X}");
        }
    }
}

fn write_literal(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'(');
    for &byte in bytes {
        match byte {
            b'(' | b')' | b'\\' => out.extend_from_slice(&[b'\\', byte]),
            b' '..=b'~' => out.push(byte),
            _ => {
                let _ = write!(out, "\\{byte:03o}");
            }
        }
    }
    out.push(b')');
}
