//! The log and its images inside the final PDF.
//!
//! Each step begins with the log so far and the images its `Sign` names, as
//! `/EmbeddedFile` streams that nothing references: the step's PDF signature
//! covers them, and a certified document may gain such objects in later
//! steps (a name-tree attachment would be an illegal change after
//! certification). The source's own attachments are kept as they are.
//!
//! Because they come first in their step, their place in the file is known
//! before anything drawn from them: the verifier takes each image from
//! exactly where its step puts it and checks its hash there, and finds the
//! log through the file's structure ([`find_log`]), never by searching for
//! bytes a signer's text could imitate.

use std::collections::BTreeMap;

use lopdf::{Dictionary, Object};

use crate::encoding::DecodeError;
use crate::hash::{EnvelopeId, Hash};
use crate::log::bundle::{LOG_MAGIC, decode_log, encode_log};
use crate::log::{ImageFormat, RawEntry, ValidEntry, Value};
use crate::model::Slot;
use crate::render::update::{self, Out};
use crate::render::{IdAllocator, Mode, RenderError};
use crate::state::EnvelopeState;

const BLOB_KEY: &str = "CountersignBlob";

/// A step's images by hash, borrowed from the blobs or from the file checked.
pub(crate) type Images<'a> = BTreeMap<Hash, &'a [u8]>;

/// Writes the first objects of `slot`'s step: the log so far, then each
/// image its `Sign` names. Returns their offsets and the images.
pub(crate) fn write_step<'a>(
    out: &mut Out,
    state: &EnvelopeState,
    log: &[&ValidEntry],
    slot: Slot,
    mode: Mode<'a>,
    ids: &mut IdAllocator,
) -> Result<(BTreeMap<u32, usize>, Images<'a>), RenderError> {
    let mut offsets = BTreeMap::new();
    let log = encode_log(&state.envelope(), log);
    let id = ids.next()?.0;
    let (at, _) = update::open_stream(out, id, &embedded(None, "application/octet-stream", log.len()), log.len());
    update::close_stream(out, &log);
    offsets.insert(id, at);

    let mut images = Images::new();
    for (hash, len, format) in step_images(state, slot) {
        let id = ids.next()?.0;
        let mime = match format {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
        };
        let len = usize::try_from(len).map_err(|_| RenderError::MissingBlob(hash.short()))?;
        let (at, data_at) = update::open_stream(out, id, &embedded(Some(&hash), mime, len), len);
        let bytes: &'a [u8] = match mode {
            Mode::Log(blobs) | Mode::UpTo(blobs, _) => blobs.get(&hash).ok_or_else(|| RenderError::MissingBlob(hash.short()))?,
            Mode::File(file, _) => data_at
                .checked_add(len)
                .and_then(|end| file.get(data_at..end))
                .filter(|data| Hash::of(data) == hash)
                .ok_or_else(|| RenderError::ImageNotInFile(hash.short()))?,
        };
        if bytes.len() != len {
            return Err(RenderError::MissingBlob(hash.short()));
        }
        update::close_stream(out, bytes);
        offsets.insert(id, at);
        images.insert(hash, bytes);
    }
    Ok((offsets, images))
}

/// The images `slot`'s `Sign` names, each once, in the order named.
fn step_images(state: &EnvelopeState, slot: Slot) -> Vec<(Hash, u64, ImageFormat)> {
    let mut images: Vec<(Hash, u64, ImageFormat)> = Vec::new();
    for (_, value) in state.signature(slot).map(|record| record.values.as_slice()).unwrap_or_default() {
        if let Value::Image { hash, len, format } = value
            && !images.iter().any(|(known, ..)| known == hash)
        {
            images.push((*hash, *len, *format));
        }
    }
    images
}

fn embedded(blob: Option<&Hash>, mime: &str, len: usize) -> Dictionary {
    let mut dict = Dictionary::new();
    if let Some(hash) = blob {
        dict.set(BLOB_KEY, Object::Name(hash.to_string().into_bytes()));
    }
    dict.set("Type", Object::Name(b"EmbeddedFile".to_vec()));
    dict.set("Subtype", Object::Name(mime.as_bytes().to_vec()));
    let mut params = Dictionary::new();
    params.set("Size", i64::try_from(len).unwrap_or(i64::MAX));
    dict.set("Params", Object::Dictionary(params));
    dict
}

/// What the file's structure leads to.
#[derive(Debug)]
pub enum LogFound {
    /// The log of the last complete signing step the file holds.
    Log {
        /// Its envelope.
        envelope: EnvelopeId,
        /// Its entries, undecided.
        entries: Vec<RawEntry>,
        /// Whether the file ends inside the log of a step after it (a broken
        /// download, if the rest of the file is what that log's steps make).
        cut_after: bool,
    },
    /// The file ends inside the first signing step's log, right after the
    /// source: a broken download or copy.
    CutShort,
    /// More updates follow the last signing step than a signed file has:
    /// the file was changed after signing.
    TooManyUpdates,
    /// The last step's log is there but does not decode: the file was changed.
    Damaged(DecodeError),
    /// No update of the file starts with a Countersign log.
    Missing,
}

/// How many well-formed updates from the end [`find_log`] looks at.
const MAX_UPDATES_BACK: usize = 64;
/// Most entries one cross-reference section of a step may have.
const MAX_SECTION_ENTRIES: usize = 200_000;

/// Finds the log of the last signing step through the file's structure:
/// from the end, each update (a `%%EOF` with its `startxref` and
/// cross-reference section) is looked at, and the first whose first object
/// is a Countersign log is the last complete step. If a further step
/// follows it whole, that step's log is the one; if cut short, the complete
/// one before it is, and the caller checks that the rest is what it makes.
/// Bytes a signer wrote into a value cannot pass for a log, and the work is
/// bounded whatever the file holds: `%%EOF` markers that end no update cost
/// a few bytes' look each.
pub fn find_log(pdf: &[u8]) -> LogFound {
    let mut end = pdf.len();
    let mut updates_seen = 0;
    let mut cut_after = false;
    while let Some(eof) = memchr::memmem::rfind(&pdf[..end], b"%%EOF") {
        end = eof;
        let Some(first) = first_object_of_update(pdf, eof) else { continue };
        if updates_seen == MAX_UPDATES_BACK {
            return LogFound::TooManyUpdates;
        }
        updates_seen += 1;
        // A step that follows this update, whole or cut before its own end.
        let after = eof + b"%%EOF".len() + usize::from(pdf.get(eof + 5) == Some(&b'\n'));
        if let Some(next) = stream_data(pdf, after).filter(|next| next.starts_with(LOG_MAGIC)) {
            match decode_log(next) {
                Ok((envelope, entries)) => return LogFound::Log { envelope, entries, cut_after },
                // The last complete step is further back.
                Err(DecodeError::Truncated(_)) => cut_after = true,
                Err(e) => return LogFound::Damaged(e),
            }
        }
        if let Some(data) = stream_data(pdf, first).filter(|data| data.starts_with(LOG_MAGIC)) {
            return match decode_log(data) {
                Ok((envelope, entries)) => LogFound::Log { envelope, entries, cut_after },
                Err(e) => LogFound::Damaged(e),
            };
        }
        // The source's own end, or an update added after signing: further back.
    }
    // A cut first step follows the source's one update (the normal form has
    // one): anything else before it is not what signing writes.
    if cut_after && updates_seen == 1 { LogFound::CutShort } else { LogFound::Missing }
}

/// Whether `bytes` begin with a signing step (its log first).
pub(crate) fn starts_a_step(bytes: &[u8]) -> bool {
    let start = usize::from(bytes.first() == Some(&b'\n'));
    stream_data(bytes, start).is_some_and(|data| data.starts_with(LOG_MAGIC))
}

/// The offset of the first object of the update whose `%%EOF` is at `eof`:
/// the smallest offset its cross-reference section names.
fn first_object_of_update(pdf: &[u8], eof: usize) -> Option<usize> {
    let before = &pdf[..eof];
    let line_end = before.len().checked_sub(1).filter(|at| before[*at] == b'\n')?;
    let digits_start = before[..line_end].iter().rposition(|b| !b.is_ascii_digit()).map_or(0, |at| at + 1);
    if !before[..digits_start].ends_with(b"startxref\n") {
        return None;
    }
    let xref: usize = std::str::from_utf8(&before[digits_start..line_end]).ok()?.parse().ok()?;
    let mut rest = pdf.get(xref..eof)?.strip_prefix(b"xref\n")?;
    let mut first: Option<usize> = None;
    let mut entries = 0usize;
    while !rest.starts_with(b"trailer") {
        let line = rest.iter().position(|b| *b == b'\n')?;
        let mut header = std::str::from_utf8(&rest[..line]).ok()?.split(' ');
        let (_start, count): (u32, usize) = (header.next()?.parse().ok()?, header.next()?.parse().ok()?);
        entries = entries.checked_add(count).filter(|n| *n <= MAX_SECTION_ENTRIES)?;
        rest = &rest[line + 1..];
        for _ in 0..count {
            let entry = rest.get(..20)?;
            if entry[17] == b'n' {
                let offset: usize = std::str::from_utf8(&entry[..10]).ok()?.parse().ok()?;
                first = Some(first.map_or(offset, |known| known.min(offset)));
            }
            rest = &rest[20..];
        }
    }
    first.filter(|offset| *offset < xref)
}

/// The data of the stream object at `offset`: its header, a dictionary of
/// at most a few hundred bytes, then `stream`.
fn stream_data(pdf: &[u8], offset: usize) -> Option<&[u8]> {
    let object = pdf.get(offset..)?;
    let header = object.iter().take(24).position(|b| *b == b'\n')?;
    if !object[..header].ends_with(b" 0 obj") {
        return None;
    }
    let window = &object[..object.len().min(header + 1024)];
    let open = memchr::memmem::find(window, b">>stream\n")?;
    object.get(open + b">>stream\n".len()..)
}
