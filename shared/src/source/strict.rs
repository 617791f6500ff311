//! The strict reader: reads a file that claims to be in normal form, in one
//! pass, and proves it by writing what it read again (see [`super::normal`]).
//!
//! It reads only what the normal form's writer writes: objects numbered from
//! 1 one after another, a direct `/Length` on every stream, one classic
//! cross-reference section whose offsets are the objects' own, a trailer and
//! `%%EOF` at the very end. Every value is bounded: nesting depth, object
//! count, value count, lengths that must fit the file. Each byte is looked at
//! a fixed number of times, so reading costs time and memory linear in the
//! file, whatever the file holds; stream data is not copied.

use lopdf::{Dictionary, Document, Object, Stream, StringFormat};

use crate::source::normal::{self, BINARY_LINE, VERSIONS, plain_in_name};
use crate::source::{MAX_DEPTH, MAX_OBJECTS, MAX_VALUES, PdfError};

/// A normal-form file, read.
#[derive(Debug)]
pub(crate) struct Read {
    /// Its objects (streams without their data: see [`normal::StreamData::In`]).
    pub(crate) doc: Document,
    /// Where its cross-reference section starts.
    pub(crate) startxref: usize,
    /// How many objects it has: numbered 1 to this.
    pub(crate) objects: u32,
}

/// Reads `bytes` as a normal-form file. The error says where it stops being one.
pub(crate) fn read(bytes: &[u8]) -> Result<Read, PdfError> {
    let mut cursor = Cursor { bytes, at: 0, values: 0 };
    let mut doc = Document::new();
    cursor.expect(b"%PDF-")?;
    let version = cursor.take_until(b'\n', 3)?;
    doc.version = VERSIONS
        .iter()
        .find(|v| v.as_bytes() == version)
        .map(|v| (*v).to_owned())
        .ok_or_else(|| cursor.unexpected("a PDF version from 1.0 to 2.0"))?;
    cursor.expect(b"\n")?;
    cursor.expect(BINARY_LINE)?;
    let mut offsets = Vec::new();
    while !cursor.rest().starts_with(b"xref\n") {
        let number = u32::try_from(offsets.len() + 1).unwrap_or(u32::MAX);
        if offsets.len() >= MAX_OBJECTS {
            return Err(not_normal(format!("it has more than {MAX_OBJECTS} objects")));
        }
        offsets.push(cursor.at);
        cursor.expect(number.to_string().as_bytes())?;
        cursor.expect(b" 0 obj\n")?;
        let value = cursor.value(0)?;
        let object = if cursor.rest().starts_with(b"\nstream\n") {
            let Object::Dictionary(dict) = value else { return Err(cursor.unexpected("a stream dictionary")) };
            cursor.expect(b"\nstream\n")?;
            let start = cursor.at;
            let len = dict.get(b"Length").and_then(Object::as_i64).ok().and_then(|len| usize::try_from(len).ok());
            let end = len.and_then(|len| start.checked_add(len)).filter(|end| *end <= bytes.len());
            let Some(end) = end else { return Err(cursor.unexpected("a stream whose /Length fits the file")) };
            cursor.at = end;
            cursor.expect(b"\nendstream")?;
            Object::Stream(Stream { dict, content: Vec::new(), allows_compression: false, start_position: Some(start) })
        } else {
            value
        };
        cursor.expect(b"\nendobj\n")?;
        doc.objects.insert((number, 0), object);
    }
    let startxref = cursor.at;
    let count = offsets.len();
    cursor.expect(format!("xref\n0 {}\n0000000000 65535 f\r\n", count + 1).as_bytes())?;
    for offset in &offsets {
        cursor.expect(format!("{offset:010} 00000 n\r\n").as_bytes())?;
    }
    cursor.expect(b"trailer\n")?;
    let Object::Dictionary(trailer) = cursor.value(0)? else { return Err(cursor.unexpected("the trailer dictionary")) };
    doc.trailer = trailer;
    cursor.expect(format!("\nstartxref\n{startxref}\n%%EOF\n").as_bytes())?;
    if !cursor.rest().is_empty() {
        return Err(not_normal(format!("{} bytes follow its end (%%EOF)", cursor.rest().len())));
    }
    let objects = u32::try_from(count).unwrap_or(u32::MAX);
    doc.max_id = objects;
    // The layout is right; the values must be written as the normal form
    // writes them, and the objects numbered as it numbers them.
    normal::check(&doc, bytes).map_err(|at| not_normal(format!("at byte {at} it differs from the normal form of what it holds")))?;
    Ok(Read { doc, startxref, objects })
}

fn not_normal(why: String) -> PdfError {
    PdfError::NotNormal(why)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Values read so far (each becomes an object in memory).
    values: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.at..).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn unexpected(&self, what: &str) -> PdfError {
        not_normal(format!("at byte {} it should have {what}", self.at))
    }

    fn expect(&mut self, literal: &[u8]) -> Result<(), PdfError> {
        if self.rest().starts_with(literal) {
            self.at += literal.len();
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{}'", String::from_utf8_lossy(literal).escape_debug())))
        }
    }

    /// The bytes before the next `stop`, at most `max` of them.
    fn take_until(&mut self, stop: u8, max: usize) -> Result<&'a [u8], PdfError> {
        let rest = self.rest();
        let len = rest.iter().take(max + 1).position(|b| *b == stop).ok_or_else(|| self.unexpected("a line end"))?;
        self.at += len;
        Ok(&rest[..len])
    }

    fn value(&mut self, depth: usize) -> Result<Object, PdfError> {
        if depth > MAX_DEPTH {
            return Err(not_normal(format!("its objects nest more than {MAX_DEPTH} levels deep")));
        }
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(PdfError::TooComplex(format!("it holds more than {MAX_VALUES} values")));
        }
        match self.peek() {
            Some(b'n') => self.expect(b"null").map(|()| Object::Null),
            Some(b't') => self.expect(b"true").map(|()| Object::Boolean(true)),
            Some(b'f') => self.expect(b"false").map(|()| Object::Boolean(false)),
            Some(b'/') => self.name().map(Object::Name),
            Some(b'(') => self.literal(),
            Some(b'<') if self.rest().starts_with(b"<<") => self.dictionary(depth).map(Object::Dictionary),
            Some(b'<') => self.hex(),
            Some(b'[') => self.array(depth),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected("a value")),
        }
    }

    fn name(&mut self) -> Result<Vec<u8>, PdfError> {
        self.expect(b"/")?;
        let mut name = Vec::new();
        loop {
            match self.peek() {
                Some(b'#') => {
                    let hex = self.rest().get(1..3).ok_or_else(|| self.unexpected("two hex digits"))?;
                    let byte = std::str::from_utf8(hex).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                    name.push(byte.ok_or_else(|| self.unexpected("two hex digits"))?);
                    self.at += 3;
                }
                Some(byte) if plain_in_name(byte) => {
                    name.push(byte);
                    self.at += 1;
                }
                _ => return Ok(name),
            }
        }
    }

    fn literal(&mut self) -> Result<Object, PdfError> {
        self.expect(b"(")?;
        let mut text = Vec::new();
        loop {
            match self.peek() {
                Some(b')') => {
                    self.at += 1;
                    return Ok(Object::String(text, StringFormat::Literal));
                }
                Some(b'\\') => {
                    let escape = self.rest().get(1..4).unwrap_or_default();
                    match escape.first() {
                        Some(b @ (b'(' | b')' | b'\\')) => {
                            text.push(*b);
                            self.at += 2;
                        }
                        Some(b'0'..=b'3') if escape.len() == 3 && escape.iter().all(|d| (b'0'..=b'7').contains(d)) => {
                            text.push(escape.iter().fold(0u8, |value, d| value * 8 + (d - b'0')));
                            self.at += 4;
                        }
                        _ => return Err(self.unexpected("an escape like \\( or \\012")),
                    }
                }
                Some(byte) => {
                    text.push(byte);
                    self.at += 1;
                }
                None => return Err(self.unexpected("the end of a string")),
            }
        }
    }

    fn hex(&mut self) -> Result<Object, PdfError> {
        self.expect(b"<")?;
        let rest = self.rest();
        let len = rest.iter().position(|b| *b == b'>').ok_or_else(|| self.unexpected("the end of a hex string"))?;
        let bytes = crate::hash::from_hex_bytes(&rest[..len]).ok_or_else(|| self.unexpected("hex digits"))?;
        self.at += len + 1;
        Ok(Object::String(bytes, StringFormat::Hexadecimal))
    }

    fn array(&mut self, depth: usize) -> Result<Object, PdfError> {
        self.expect(b"[")?;
        let mut items = Vec::new();
        if self.peek() != Some(b']') {
            loop {
                items.push(self.value(depth + 1)?);
                if self.peek() != Some(b' ') {
                    break;
                }
                self.at += 1;
            }
        }
        self.expect(b"]")?;
        Ok(Object::Array(items))
    }

    fn dictionary(&mut self, depth: usize) -> Result<Dictionary, PdfError> {
        self.expect(b"<<")?;
        let mut dict = Dictionary::new();
        while self.peek() == Some(b'/') {
            let key = self.name()?;
            self.expect(b" ")?;
            let value = self.value(depth + 1)?;
            if dict.has(&key) {
                return Err(not_normal(format!("a dictionary has the key /{} twice", String::from_utf8_lossy(&key))));
            }
            dict.set(key, value);
        }
        self.expect(b">>")?;
        Ok(dict)
    }

    /// An integer, a real (with a point) or a reference `n 0 R`.
    fn number(&mut self) -> Result<Object, PdfError> {
        let rest = self.rest();
        let len = rest.iter().take(64).position(|b| !matches!(b, b'-' | b'.' | b'0'..=b'9')).unwrap_or(rest.len().min(64));
        let text = std::str::from_utf8(&rest[..len]).map_err(|_| self.unexpected("a number"))?;
        self.at += len;
        if text.contains('.') {
            return text.parse::<f32>().map(Object::Real).map_err(|_| self.unexpected("a number"));
        }
        let value: i64 = text.parse().map_err(|_| self.unexpected("a number"))?;
        if self.rest().starts_with(b" 0 R") {
            let number = u32::try_from(value).map_err(|_| self.unexpected("an object number"))?;
            self.at += 4;
            return Ok(Object::Reference((number, 0)));
        }
        Ok(Object::Integer(value))
    }
}
