//! Writes one incremental update (ISO 32000-1, 7.5.6): changed and new objects,
//! a classic cross-reference section (the source's normal form has one) and a
//! trailer whose `/Prev` links back. The bytes before it are never touched.
//!
//! Objects are serialized with lopdf's `Writer::write_object`; the framing,
//! object order and cross-reference layout are fixed here, so the same
//! objects always give the same bytes. A step first writes the objects whose
//! place must be known early (its attachments: see `attachments`), then the
//! rest by number.

use std::collections::BTreeMap;
use std::io::Write as _;

use lopdf::{Dictionary, Object, Writer};

use crate::render::RenderError;

/// The state of the file an update is appended to.
#[derive(Debug, Clone)]
pub(crate) struct Tail {
    /// Offset of the previous cross-reference section.
    pub(crate) startxref: usize,
    /// The next free object number.
    pub(crate) size: u32,
    /// `/Root`, `/Info` and `/ID` carried into every trailer.
    pub(crate) trailer: Dictionary,
}

/// Where updates are written: the bytes after the source, which itself is
/// `base` bytes long and ends with `source_last`.
#[derive(Debug)]
pub(crate) struct Out {
    pub(crate) base: usize,
    pub(crate) source_last: Option<u8>,
    pub(crate) bytes: Vec<u8>,
}

impl Out {
    /// The offset in the whole file of the next byte written.
    pub(crate) fn position(&self) -> usize {
        self.base + self.bytes.len()
    }

    fn last(&self) -> Option<u8> {
        self.bytes.last().copied().or(self.source_last)
    }
}

/// The largest offset a cross-reference entry (ten digits) can hold.
const MAX_OFFSET: u64 = 9_999_999_999;

/// Starts an update: it begins on a line of its own.
pub(crate) fn begin(out: &mut Out) {
    if out.last() != Some(b'\n') {
        out.bytes.push(b'\n');
    }
}

/// Writes one object, returning the file offset it starts at.
pub(crate) fn write_object(out: &mut Out, id: u32, object: &Object) -> usize {
    let at = out.position();
    write_indirect(&mut out.bytes, id, object);
    at
}

/// Writes the start of a stream object, up to its data, with `/Length`
/// `len`; returns the file offsets of the object and of its data. The bytes
/// are those lopdf writes for the whole stream object, cut before its data.
pub(crate) fn open_stream(out: &mut Out, id: u32, dict: &Dictionary, len: usize) -> (usize, usize) {
    let at = out.position();
    let mut dict = dict.clone();
    dict.set("Length", i64::try_from(len).unwrap_or(i64::MAX));
    let _ = writeln!(out.bytes, "{id} 0 obj");
    let _ = Writer::write_object(&mut out.bytes, &Object::Dictionary(dict));
    out.bytes.extend_from_slice(b"stream\n");
    (at, out.position())
}

/// Writes a stream object's data and its end.
pub(crate) fn close_stream(out: &mut Out, data: &[u8]) {
    out.bytes.extend_from_slice(data);
    out.bytes.extend_from_slice(b"\nendstream\nendobj\n");
}

/// Ends an update: writes `objects` after those already written (whose offsets
/// are in `offsets`), a cross-reference section (of the same kind as the
/// source's: a classic table) and the trailer. Returns the new tail, and the
/// file offset of every object of the update.
pub(crate) fn append(
    out: &mut Out,
    tail: &Tail,
    mut offsets: BTreeMap<u32, usize>,
    objects: &BTreeMap<u32, Object>,
) -> Result<(Tail, BTreeMap<u32, usize>), RenderError> {
    for (id, object) in objects {
        offsets.insert(*id, write_object(out, *id, object));
    }
    let size = offsets.keys().next_back().map_or(Some(tail.size), |id| id.checked_add(1).map(|next| next.max(tail.size)));
    let size = size.ok_or_else(|| RenderError::Signature("internal layout error: object numbers ran out".into()))?;
    if out.position() as u64 > MAX_OFFSET {
        return Err(RenderError::Signature("the document is too large for a cross-reference table".into()));
    }
    let mut trailer = tail.trailer.clone();
    trailer.set("Prev", i64::try_from(tail.startxref).unwrap_or(i64::MAX));
    let startxref = out.position();
    let file = &mut out.bytes;
    file.extend_from_slice(b"xref\n");
    for (start, count) in subsections(&offsets) {
        let _ = writeln!(file, "{start} {count}");
        for id in start..start.saturating_add(count) {
            let _ = write!(file, "{:010} 00000 n\r\n", offsets.get(&id).copied().unwrap_or(0));
        }
    }
    trailer.set("Size", i64::from(size));
    file.extend_from_slice(b"trailer\n");
    let _ = Writer::write_object(file, &Object::Dictionary(trailer));
    file.push(b'\n');
    let _ = write!(file, "startxref\n{startxref}\n%%EOF\n");
    let mut next = tail.clone();
    next.startxref = startxref;
    next.size = size;
    Ok((next, offsets))
}

fn write_indirect(file: &mut Vec<u8>, id: u32, object: &Object) {
    let _ = writeln!(file, "{id} 0 obj");
    // Writing into a Vec cannot fail.
    let _ = Writer::write_object(file, object);
    file.extend_from_slice(b"\nendobj\n");
}

/// Runs of consecutive object numbers: (first, count).
fn subsections(offsets: &BTreeMap<u32, usize>) -> Vec<(u32, u32)> {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for id in offsets.keys() {
        match runs.last_mut() {
            Some((start, count)) if start.checked_add(*count) == Some(*id) => *count += 1,
            _ => runs.push((*id, 1)),
        }
    }
    runs
}

/// The trailer entries every update repeats.
pub(crate) fn base_trailer(source: &Dictionary) -> Dictionary {
    let mut trailer = Dictionary::new();
    for key in [&b"Root"[..], b"Info", b"ID"] {
        if let Ok(value) = source.get(key) {
            trailer.set(key.to_vec(), value.clone());
        }
    }
    trailer
}
