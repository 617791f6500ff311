//! Writes one incremental update (ISO 32000-1, 7.5.6): changed and new objects,
//! a cross-reference section of the same kind as the previous one, and a
//! trailer whose `/Prev` links back. The bytes before it are never touched.
//!
//! Objects are serialized with lopdf's `Writer::write_object`; the framing,
//! object order (by number) and cross-reference layout are fixed here, so the
//! same objects always give the same bytes.

use std::collections::BTreeMap;
use std::io::Write as _;

use lopdf::{Dictionary, Object, Stream, Writer};

/// The state of the file an update is appended to.
#[derive(Debug, Clone)]
pub(crate) struct Tail {
    /// Offset of the previous cross-reference section.
    pub(crate) startxref: usize,
    /// Whether the previous section is a cross-reference stream.
    pub(crate) xref_stream: bool,
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

/// Appends an update holding `objects`, returning the new tail and the file
/// offset of each object written.
pub(crate) fn append(out: &mut Out, tail: &Tail, objects: &BTreeMap<u32, Object>) -> (Tail, BTreeMap<u32, usize>) {
    if out.last() != Some(b'\n') {
        out.bytes.push(b'\n');
    }
    let mut offsets: BTreeMap<u32, usize> = BTreeMap::new();
    for (id, object) in objects {
        offsets.insert(*id, out.position());
        write_indirect(&mut out.bytes, *id, object);
    }
    let mut size = tail.size.max(objects.keys().next_back().map_or(0, |id| id + 1));
    let mut trailer = tail.trailer.clone();
    trailer.set("Prev", i64::try_from(tail.startxref).unwrap_or(i64::MAX));
    let startxref = out.position();
    let file = &mut out.bytes;
    if tail.xref_stream {
        let xref_id = size;
        size += 1;
        offsets.insert(xref_id, startxref);
        trailer.set("Type", Object::Name(b"XRef".to_vec()));
        trailer.set("Size", i64::from(size));
        trailer.set(
            "Index",
            Object::Array(subsections(&offsets).iter().flat_map(|(s, n)| [Object::from(i64::from(*s)), Object::from(*n as i64)]).collect()),
        );
        trailer.set("W", Object::Array(vec![1.into(), 4.into(), 2.into()]));
        let mut data = Vec::with_capacity(offsets.len() * 7);
        for offset in offsets.values() {
            data.push(1);
            data.extend_from_slice(&u32::try_from(*offset).unwrap_or(u32::MAX).to_be_bytes());
            data.extend_from_slice(&[0, 0]);
        }
        write_indirect(file, xref_id, &Object::Stream(Stream::new(trailer, data).with_compression(false)));
    } else {
        file.extend_from_slice(b"xref\n");
        for (start, count) in subsections(&offsets) {
            let _ = writeln!(file, "{start} {count}");
            for id in start..start + count as u32 {
                let _ = write!(file, "{:010} 00000 n\r\n", offsets.get(&id).copied().unwrap_or(0));
            }
        }
        trailer.set("Size", i64::from(size));
        file.extend_from_slice(b"trailer\n");
        let _ = Writer::write_object(file, &Object::Dictionary(trailer));
        file.push(b'\n');
    }
    let _ = write!(file, "startxref\n{startxref}\n%%EOF\n");
    let mut next = tail.clone();
    next.startxref = startxref;
    next.size = size;
    (next, offsets)
}

fn write_indirect(file: &mut Vec<u8>, id: u32, object: &Object) {
    let _ = writeln!(file, "{id} 0 obj");
    // Writing into a Vec cannot fail.
    let _ = Writer::write_object(file, object);
    file.extend_from_slice(b"\nendobj\n");
}

/// Runs of consecutive object numbers: (first, count).
fn subsections(offsets: &BTreeMap<u32, usize>) -> Vec<(u32, usize)> {
    let mut runs: Vec<(u32, usize)> = Vec::new();
    for id in offsets.keys() {
        match runs.last_mut() {
            Some((start, count)) if *start + *count as u32 == *id => *count += 1,
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
