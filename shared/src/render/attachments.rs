//! The log and its images inside the final PDF.
//!
//! Each step writes the log so far and the images its `Sign` names as
//! `/EmbeddedFile` streams that nothing references: the step's PDF signature
//! covers them, and a certified document may gain such objects in later steps
//! (a name-tree attachment would be an illegal change after certification).
//! The source's own attachments are kept as they are. The verifier finds the
//! log by its magic line and each image by the `/CountersignBlob` key in its
//! stream dictionary; both are then checked by hash and by rebuilding the file.

use std::collections::BTreeMap;

use lopdf::{Dictionary, Object, Stream};

use crate::hash::{EnvelopeId, Hash};
use crate::log::bundle::{LOG_MAGIC, decode_log, encode_log};
use crate::log::{RawEntry, ValidEntry, Value};
use crate::model::Slot;
use crate::render::{Blobs, IdAllocator, RenderError, images_of};
use crate::state::EnvelopeState;

const BLOB_KEY: &str = "CountersignBlob";

/// Writes the log of this step and the images `slot` signed with.
pub(crate) fn attach_step(
    state: &EnvelopeState,
    log: &[&ValidEntry],
    slot: Slot,
    blobs: &Blobs,
    ids: &mut IdAllocator,
    objects: &mut BTreeMap<u32, Object>,
) -> Result<(), RenderError> {
    let mut dict = Dictionary::new();
    dict.set("Type", Object::Name(b"EmbeddedFile".to_vec()));
    dict.set("Subtype", Object::Name(b"application/octet-stream".to_vec()));
    embed(dict, encode_log(&state.envelope(), log), ids, objects);
    for hash in images_of(state, &[slot]) {
        let bytes = blobs.get(&hash).ok_or_else(|| RenderError::MissingBlob(hash.short()))?;
        let mut dict = Dictionary::new();
        dict.set(BLOB_KEY, Object::Name(hash.to_string().into_bytes()));
        dict.set("Type", Object::Name(b"EmbeddedFile".to_vec()));
        let mime = if image_extension(state, slot, &hash) == "png" { "image/png" } else { "image/jpeg" };
        dict.set("Subtype", Object::Name(mime.as_bytes().to_vec()));
        embed(dict, bytes.clone(), ids, objects);
    }
    Ok(())
}

fn embed(dict: Dictionary, bytes: Vec<u8>, ids: &mut IdAllocator, objects: &mut BTreeMap<u32, Object>) {
    let size = bytes.len() as i64;
    let mut stream = Stream::new(dict, bytes).with_compression(false);
    let mut params = Dictionary::new();
    params.set("Size", size);
    stream.dict.set("Params", Object::Dictionary(params));
    objects.insert(ids.next().0, Object::Stream(stream));
}

fn image_extension(state: &EnvelopeState, slot: Slot, hash: &Hash) -> &'static str {
    state
        .signature(slot)
        .and_then(|record| {
            record.values.iter().find_map(|(_, value)| match value {
                Value::Image { hash: h, format, .. } if h == hash => Some(format.extension()),
                _ => None,
            })
        })
        .unwrap_or("png")
}

/// Finds the last well-formed Countersign log in a file.
pub fn find_log(pdf: &[u8]) -> Option<(EnvelopeId, Vec<RawEntry>)> {
    let finder = memchr::memmem::FinderRev::new(LOG_MAGIC);
    let mut end = pdf.len();
    while let Some(at) = finder.rfind(&pdf[..end]) {
        if let Ok(log) = decode_log(&pdf[at..]) {
            return Some(log);
        }
        end = at;
    }
    None
}

/// Finds the embedded image with this hash and length.
pub fn find_blob(pdf: &[u8], hash: &Hash, len: u64) -> Option<Vec<u8>> {
    let marker = format!("/{BLOB_KEY}/{hash}");
    let len = usize::try_from(len).ok()?;
    for at in memchr::memmem::find_iter(pdf, marker.as_bytes()) {
        let rest = &pdf[at..];
        let Some(open) = memchr::memmem::find(&rest[..rest.len().min(4096)], b">>stream\n") else { continue };
        let start = open + b">>stream\n".len();
        if let Some(data) = rest.get(start..start + len)
            && Hash::of(data) == *hash
        {
            return Some(data.to_vec());
        }
    }
    None
}
