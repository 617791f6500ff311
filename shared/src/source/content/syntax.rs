//! The one way drawing instructions are written, and a reader of exactly
//! that way.
//!
//! [`write`] spells operations as lopdf's `Content::encode` does (so sources
//! prepared before keep their bytes), in time linear in their size: lopdf's
//! own encoder looks up each byte of a literal string in the list of its
//! escapes, so a string of a million backslashes took minutes.
//!
//! [`Written`] reads back what [`write`] writes and nothing else: each
//! operation it yields was checked to be spelled exactly as [`write`] spells
//! it. No comments, no spare white space, no other spelling of a number, a
//! name or a string: the strict reader needs no general content parser, and
//! reads a page's drawing in one pass without building it whole.

use lopdf::{Dictionary, Object, StringFormat};

/// How deep arrays and dictionaries may nest in an operand (as in lopdf).
const MAX_NESTING: usize = 100;
/// Most operands one operation takes (no PDF operator takes more than 33).
const MAX_OPERANDS: usize = 64;
/// Most items of one array or dictionary, so that the values read at once
/// stay small whatever the size of the drawing.
const MAX_ITEMS: usize = 1 << 16;

/// An operand no spelling stands for: a stream, a reference, or a number
/// that is not finite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unwritable;

/// Drawing instructions not spelled as [`write`] spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotWritten;

/// Writes one operation: each operand followed by a space, then the operator.
/// Operations are separated by one line feed.
pub(crate) fn write_operation(out: &mut Vec<u8>, operator: &str, operands: &[Object]) -> Result<(), Unwritable> {
    for operand in operands {
        write_object(out, operand, 0)?;
        out.push(b' ');
    }
    out.extend_from_slice(operator.as_bytes());
    Ok(())
}

fn needs_separator(object: &Object) -> bool {
    matches!(object, Object::Null | Object::Boolean(_) | Object::Integer(_) | Object::Real(_))
}

fn write_object(out: &mut Vec<u8>, object: &Object, depth: usize) -> Result<(), Unwritable> {
    use std::io::Write as _;
    match object {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(true) => out.extend_from_slice(b"true"),
        Object::Boolean(false) => out.extend_from_slice(b"false"),
        Object::Integer(n) => write!(out, "{n}").map_err(|_| Unwritable)?,
        Object::Real(x) if x.is_finite() => {
            let start = out.len();
            write!(out, "{x}").map_err(|_| Unwritable)?;
            // A whole number keeps its point, or it would read back as an integer.
            if !out[start..].contains(&b'.') {
                out.extend_from_slice(b".0");
            }
        }
        Object::Name(name) => write_name(out, name),
        Object::String(text, StringFormat::Literal) => write_literal(out, text),
        Object::String(text, StringFormat::Hexadecimal) => {
            out.push(b'<');
            for byte in text {
                out.extend_from_slice(&hex_pair(*byte));
            }
            out.push(b'>');
        }
        Object::Array(items) if depth < MAX_NESTING => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 && needs_separator(item) {
                    out.push(b' ');
                }
                write_object(out, item, depth + 1)?;
            }
            out.push(b']');
        }
        Object::Dictionary(dict) if depth < MAX_NESTING => {
            out.extend_from_slice(b"<<");
            for (key, value) in dict.iter() {
                write_name(out, key);
                if needs_separator(value) {
                    out.push(b' ');
                }
                write_object(out, value, depth + 1)?;
            }
            out.extend_from_slice(b">>");
        }
        _ => return Err(Unwritable),
    }
    Ok(())
}

fn hex_pair(byte: u8) -> [u8; 2] {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    [DIGITS[usize::from(byte >> 4)], DIGITS[usize::from(byte & 0x0F)]]
}

/// Whether a name's byte is written as `#XX`: white space, delimiters, `#`
/// and anything outside `!`..`~`.
fn escaped_in_name(byte: u8) -> bool {
    b" \t\n\r\x0C()<>[]{}/%#".contains(&byte) || !(33..=126).contains(&byte)
}

fn write_name(out: &mut Vec<u8>, name: &[u8]) {
    out.push(b'/');
    for &byte in name {
        if escaped_in_name(byte) {
            out.push(b'#');
            out.extend_from_slice(&hex_pair(byte));
        } else {
            out.push(byte);
        }
    }
}

/// A literal string: backslashes, carriage returns (as `\r`), a `)` that
/// closes nothing and a `(` that nothing closes are escaped; every other
/// byte is itself.
fn write_literal(out: &mut Vec<u8>, text: &[u8]) {
    let mut escaped = vec![false; text.len()];
    let mut open = Vec::new();
    for (index, &byte) in text.iter().enumerate() {
        match byte {
            b'(' => open.push(index),
            b')' if open.pop().is_none() => escaped[index] = true,
            b'\\' | b'\r' => escaped[index] = true,
            _ => {}
        }
    }
    for index in open {
        escaped[index] = true;
    }
    out.push(b'(');
    for (&byte, escaped) in text.iter().zip(escaped) {
        if escaped {
            out.push(b'\\');
            out.push(if byte == b'\r' { b'r' } else { byte });
        } else {
            out.push(byte);
        }
    }
    out.push(b')');
}

/// The operations of drawing instructions spelled as [`write_operation`]
/// spells them (separated by one line feed), one at a time. Each token is
/// checked to be spelled so as it is read: nothing is written to compare.
pub(crate) struct Written<'a> {
    data: &'a [u8],
    at: usize,
    /// The current operation's operands.
    operands: Vec<Object>,
    /// A literal string as [`write_literal`] spells it.
    spelled: Vec<u8>,
}

impl<'a> Written<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Written { data, at: 0, operands: Vec::new(), spelled: Vec::new() }
    }

    /// The next operation (operator, operands), `None` at the end.
    pub(crate) fn next_operation(&mut self) -> Result<Option<(&'a str, &[Object])>, NotWritten> {
        if self.at >= self.data.len() {
            return Ok(None);
        }
        if self.at > 0 {
            // Operations are separated by one line feed, and none ends the data.
            if self.data[self.at] != b'\n' || self.at + 1 == self.data.len() {
                return Err(NotWritten);
            }
            self.at += 1;
        }
        self.operands.clear();
        let operator = loop {
            if let Some(operator) = self.operator() {
                break operator;
            }
            if self.operands.len() == MAX_OPERANDS {
                return Err(NotWritten);
            }
            let operand = self.object(0)?;
            self.operands.push(operand);
            self.expect(b' ')?;
        };
        Ok(Some((operator, &self.operands)))
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), NotWritten> {
        if self.peek() != Some(byte) {
            return Err(NotWritten);
        }
        self.at += 1;
        Ok(())
    }

    /// Takes a space here if there is one, and says whether there was.
    fn space(&mut self) -> bool {
        let found = self.peek() == Some(b' ');
        self.at += usize::from(found);
        found
    }

    /// An operator here, ending the operation: letters, digits (not first),
    /// `*`, `'` and `"`, up to a line feed or the end.
    fn operator(&mut self) -> Option<&'a str> {
        let rest = &self.data[self.at..];
        let len = rest.iter().position(|c| !(c.is_ascii_alphanumeric() || b"*'\"".contains(c))).unwrap_or(rest.len());
        let word = &rest[..len];
        let ends = matches!(rest.get(len), None | Some(b'\n'));
        let keyword = matches!(word, b"null" | b"true" | b"false");
        if len == 0 || word[0].is_ascii_digit() || !ends || keyword {
            return None;
        }
        self.at += len;
        std::str::from_utf8(word).ok()
    }

    fn object(&mut self, depth: usize) -> Result<Object, NotWritten> {
        if depth >= MAX_NESTING {
            return Err(NotWritten);
        }
        let rest = &self.data[self.at..];
        let keyword = |word: &[u8], object: Object| rest.starts_with(word).then_some((word.len(), object));
        let found = match self.peek().ok_or(NotWritten)? {
            b'n' => keyword(b"null", Object::Null),
            b't' => keyword(b"true", Object::Boolean(true)),
            b'f' => keyword(b"false", Object::Boolean(false)),
            _ => None,
        };
        if let Some((len, object)) = found {
            self.at += len;
            return Ok(object);
        }
        match self.peek().ok_or(NotWritten)? {
            b'/' => Ok(Object::Name(self.name()?)),
            b'(' => self.literal(),
            b'<' if rest.starts_with(b"<<") => self.dictionary(depth),
            b'<' => self.hexadecimal(),
            b'[' => self.array(depth),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(NotWritten),
        }
    }

    /// A name: bytes that need no escape as themselves, the others as `#`
    /// and two upper-case hexadecimal digits.
    fn name(&mut self) -> Result<Vec<u8>, NotWritten> {
        self.expect(b'/')?;
        let mut name = Vec::new();
        while let Some(byte) = self.peek() {
            if byte == b'#' {
                let pair = self.data.get(self.at + 1..self.at + 3).ok_or(NotWritten)?;
                let value = hex_value(pair[0], pair[1]).filter(|v| escaped_in_name(*v)).ok_or(NotWritten)?;
                name.push(value);
                self.at += 3;
            } else if escaped_in_name(byte) {
                break;
            } else {
                name.push(byte);
                self.at += 1;
            }
        }
        Ok(name)
    }

    /// A literal string, read up to the `)` that closes it, then checked
    /// against how [`write_literal`] spells what it holds.
    fn literal(&mut self) -> Result<Object, NotWritten> {
        let start = self.at;
        self.at += 1;
        let mut text = Vec::new();
        let mut depth = 0usize;
        loop {
            let byte = self.peek().ok_or(NotWritten)?;
            self.at += 1;
            match byte {
                b'\\' => {
                    let escaped = self.peek().ok_or(NotWritten)?;
                    self.at += 1;
                    text.push(match escaped {
                        b'r' => b'\r',
                        b'\\' | b'(' | b')' => escaped,
                        _ => return Err(NotWritten),
                    });
                }
                b')' if depth == 0 => break,
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ => {}
            }
            if byte != b'\\' {
                text.push(byte);
            }
        }
        self.spelled.clear();
        write_literal(&mut self.spelled, &text);
        if self.spelled != self.data[start..self.at] {
            return Err(NotWritten);
        }
        Ok(Object::String(text, StringFormat::Literal))
    }

    /// A hexadecimal string: pairs of upper-case digits.
    fn hexadecimal(&mut self) -> Result<Object, NotWritten> {
        self.at += 1;
        let rest = &self.data[self.at..];
        let len = memchr::memchr(b'>', rest).ok_or(NotWritten)?;
        let digits = &rest[..len];
        if !digits.len().is_multiple_of(2) {
            return Err(NotWritten);
        }
        let text = digits.chunks_exact(2).map(|pair| hex_value(pair[0], pair[1])).collect::<Option<Vec<u8>>>().ok_or(NotWritten)?;
        self.at += len + 1;
        Ok(Object::String(text, StringFormat::Hexadecimal))
    }

    /// An array: a space before each item after the first that is a
    /// number, a boolean or null, and nowhere else.
    fn array(&mut self, depth: usize) -> Result<Object, NotWritten> {
        self.at += 1;
        let mut items = Vec::new();
        while self.peek() != Some(b']') {
            if items.len() == MAX_ITEMS {
                return Err(NotWritten);
            }
            let spaced = self.space();
            let item = self.object(depth + 1)?;
            if spaced != (!items.is_empty() && needs_separator(&item)) {
                return Err(NotWritten);
            }
            items.push(item);
        }
        self.at += 1;
        Ok(Object::Array(items))
    }

    /// A dictionary: each key once, a space after it before a number, a
    /// boolean or null, and nowhere else.
    fn dictionary(&mut self, depth: usize) -> Result<Object, NotWritten> {
        self.at += 2;
        let mut dict = Dictionary::new();
        while !self.data[self.at..].starts_with(b">>") {
            if dict.len() == MAX_ITEMS {
                return Err(NotWritten);
            }
            let key = self.name()?;
            let spaced = self.space();
            let value = self.object(depth + 1)?;
            if spaced != needs_separator(&value) || dict.has(&key) {
                return Err(NotWritten);
            }
            dict.set(key, value);
        }
        self.at += 2;
        Ok(Object::Dictionary(dict))
    }

    /// An integer (`0`, or digits not starting with 0 after an optional
    /// `-`) or a real (with a point), spelled as `Display` spells it.
    fn number(&mut self) -> Result<Object, NotWritten> {
        let rest = &self.data[self.at..];
        let len = rest.iter().skip(1).position(|c| !(c.is_ascii_digit() || *c == b'.')).map_or(rest.len(), |n| n + 1);
        let token = &rest[..len];
        let object = if token.contains(&b'.') {
            let text = std::str::from_utf8(token).map_err(|_| NotWritten)?;
            let value = text.parse::<f32>().map_err(|_| NotWritten)?;
            self.spelled.clear();
            write_object(&mut self.spelled, &Object::Real(value), 0).map_err(|_| NotWritten)?;
            if self.spelled != token {
                return Err(NotWritten);
            }
            Object::Real(value)
        } else {
            let digits = token.strip_prefix(b"-").unwrap_or(token);
            let canonical = !digits.is_empty() && (digits == b"0" && digits.len() == token.len() || digits[0] != b'0');
            if !canonical {
                return Err(NotWritten);
            }
            let magnitude = digits.iter().try_fold(0u64, |value, digit| value.checked_mul(10)?.checked_add(u64::from(digit - b'0')));
            let value =
                magnitude.and_then(|m| if digits.len() < token.len() { 0i64.checked_sub_unsigned(m) } else { i64::try_from(m).ok() });
            Object::Integer(value.ok_or(NotWritten)?)
        };
        self.at += len;
        Ok(object)
    }
}

/// The byte two upper-case hexadecimal digits stand for.
fn hex_value(high: u8, low: u8) -> Option<u8> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    Some(digit(high)? << 4 | digit(low)?)
}

#[cfg(test)]
mod tests {
    use lopdf::content::{Content, Operation};

    use super::*;

    fn written(operations: &[Operation]) -> Vec<u8> {
        let mut out = Vec::new();
        for (index, operation) in operations.iter().enumerate() {
            if index > 0 {
                out.push(b'\n');
            }
            write_operation(&mut out, &operation.operator, &operation.operands).unwrap();
        }
        out
    }

    fn read(data: &[u8]) -> Result<Vec<Operation>, NotWritten> {
        let mut reader = Written::new(data);
        let mut found = Vec::new();
        while let Some((operator, operands)) = reader.next_operation()? {
            found.push(Operation::new(operator, operands.to_vec()));
        }
        Ok(found)
    }

    const SAMPLE: &[u8] = b"q 1 0 0 1 72.5 -3 cm /F1 12 Tf BT [(a\\\\b)-250 (c\\)d(e)) <00FF>]TJ ET\n\
        /P <</MCID 3/Alt (x(y)z) /L [1 2.25 null true]>>BDC EMC 0.1 0.2 0.3 rg /N#20a Do Q\n\
        (unclosed \\( and \\r and (nested)) Tj 3 w";

    #[test]
    fn it_writes_what_lopdf_writes_and_reads_it_back() {
        let operations = Content::decode(SAMPLE).unwrap().operations;
        assert!(operations.len() > 10);
        let ours = written(&operations);
        assert_eq!(ours, Content { operations: operations.clone() }.encode().unwrap());
        let back = read(&ours).unwrap();
        assert_eq!(format!("{back:?}"), format!("{operations:?}"));
    }

    #[test]
    fn it_reads_no_other_spelling() {
        let canonical = written(&Content::decode(b"0.5 g 1 0 0 RG /F1 12 Tf (a) Tj [(b) -3]TJ").unwrap().operations);
        assert!(read(&canonical).is_ok());
        for other in [
            &b"0.50 g"[..],
            b".5 g",
            b"+1 g",
            b"-0 g",
            b"01 g",
            b"1.0e3 g",
            b"1  g",
            b" 1 g",
            b"1 g\n",
            b"1 g\n\nQ",
            b"1 g\r\nQ",
            b"1 g %note",
            b"/F#31 12 Tf",
            b"/F#2f 12 Tf",
            b"(a\\nb) Tj",
            b"(a\\101) Tj",
            b"(a\rb) Tj",
            b"<0a> Tj",
            b"<0A 0B> Tj",
            b"9223372036854775808 g",
            b"<<>>BDC",
            b"[(b)  -3]TJ",
            b"[(b)-3]TJ",
            b"[ (b)]TJ",
            b"/P <</A 1/A 2>>BDC",
            b"1 null",
        ] {
            let verdict = read(other).map(|ops| written(&ops) == other);
            assert!(!matches!(verdict, Ok(true)), "{:?} was read", String::from_utf8_lossy(other));
            assert!(verdict.is_err(), "{:?} was read", String::from_utf8_lossy(other));
        }
    }

    /// Whatever the reader takes is exactly what the writer writes for it:
    /// checked over many small changes to written instructions.
    #[test]
    fn what_it_reads_it_writes_back_byte_for_byte() {
        let operations = Content::decode(SAMPLE).unwrap().operations;
        let canonical = written(&operations);
        let alphabet = b" \n\r\\()<>[]/#0123456789.-+AaFfnulrtEe%";
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut random = |below: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % below as u64) as usize
        };
        let (mut taken, mut refused) = (0, 0);
        for _ in 0..50_000 {
            let mut changed = canonical.clone();
            for _ in 0..=random(3) {
                let at = random(changed.len());
                match random(3) {
                    0 => changed[at] = alphabet[random(alphabet.len())],
                    1 => changed.insert(at, alphabet[random(alphabet.len())]),
                    _ => {
                        changed.remove(at);
                    }
                }
            }
            match read(&changed) {
                Ok(back) => {
                    assert_eq!(written(&back), changed, "read {:?}", String::from_utf8_lossy(&changed));
                    taken += 1;
                }
                Err(NotWritten) => refused += 1,
            }
        }
        assert!(taken > 1_000 && refused > 1_000, "taken {taken}, refused {refused}");
    }

    #[test]
    fn a_string_of_backslashes_is_written_in_linear_time() {
        let text = vec![b'\\'; 4_000_000];
        let mut out = Vec::new();
        write_operation(&mut out, "Tj", &[Object::String(text, StringFormat::Literal)]).unwrap();
        assert_eq!(out.len(), 8_000_000 + 5);
        assert_eq!(read(&out).unwrap().len(), 1);
    }

    #[test]
    fn numbers_that_are_not_finite_and_deep_nesting_have_no_spelling_and_extremes_read_back() {
        let mut out = Vec::new();
        assert_eq!(write_operation(&mut out, "g", &[Object::Real(f32::INFINITY)]), Err(Unwritable));
        let mut deep = Object::Array(vec![]);
        for _ in 0..MAX_NESTING {
            deep = Object::Array(vec![deep]);
        }
        assert_eq!(write_operation(&mut out, "TJ", &[deep]), Err(Unwritable));
        let nested = [b"[".repeat(MAX_NESTING + 1), b"]".repeat(MAX_NESTING + 1), b"TJ".to_vec()].concat();
        assert!(read(&nested).is_err());
        // What one operation holds at once is bounded, however long the drawing.
        assert!(read(&[b"0 ".repeat(MAX_OPERANDS + 1), b"n".to_vec()].concat()).is_err());
        let long_text = [b"[".to_vec(), b"(a)".repeat(MAX_ITEMS + 1), b"] TJ".to_vec()].concat();
        assert!(read(&long_text).is_err());
        assert!(read(&[b"[".to_vec(), b"(a)".repeat(MAX_ITEMS), b"] TJ".to_vec()].concat()).is_ok());
        let extremes = [Object::Integer(i64::MIN), Object::Integer(i64::MAX), Object::Real(f32::MAX), Object::Real(-0.0)];
        let mut out = Vec::new();
        write_operation(&mut out, "g", &extremes).unwrap();
        assert_eq!(format!("{:?}", read(&out).unwrap()[0].operands), format!("{extremes:?}"));
    }
}
