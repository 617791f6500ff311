//! The log as one file: the form in which it travels inside a final PDF.
//!
//! ```text
//! "%countersign-log/1\n" envelope:32 count:u32 (entry: u32-length-prefixed bytes)*
//! ```
//!
//! The magic line lets a verifier find the log in a PDF without trusting the
//! PDF's structure; what it finds is then checked entry by entry, and the whole
//! file is rebuilt from it and compared byte for byte.

use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::EnvelopeId;
use crate::log::{MAX_ENTRY_BYTES, RawEntry, ValidEntry};
use crate::model::len_u32;

/// The first bytes of an encoded log.
pub const LOG_MAGIC: &[u8] = b"%countersign-log/1\n";
/// Most entries a log may hold.
pub const MAX_LOG_ENTRIES: usize = 100_000;

/// Encodes the entries of an envelope, in the order given.
pub fn encode_log(envelope: &EnvelopeId, entries: &[&ValidEntry]) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(LOG_MAGIC).fixed(envelope.as_bytes()).u32(len_u32(entries.len()));
    for entry in entries {
        w.bytes(entry.bytes());
    }
    w.finish()
}

/// Decodes a log from the start of `bytes`; bytes after it are ignored (inside
/// a PDF the stream's end follows). Returns the envelope id and the entries.
pub fn decode_log(bytes: &[u8]) -> Result<(EnvelopeId, Vec<RawEntry>), DecodeError> {
    let mut r = Reader::new(bytes);
    if r.take(LOG_MAGIC.len(), "log header")? != LOG_MAGIC {
        return Err(DecodeError::Invalid("this is not a Countersign log".into()));
    }
    let envelope = EnvelopeId::from_bytes(r.array("envelope id")?);
    let count = r.count(MAX_LOG_ENTRIES, "log entries")?;
    let mut entries = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        entries.push(RawEntry::decode(r.bytes(MAX_ENTRY_BYTES, "entry")?)?);
    }
    Ok((envelope, entries))
}
