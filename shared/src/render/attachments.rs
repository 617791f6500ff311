//! The log and its images as embedded files of the final PDF.
//!
//! Each step attaches the log so far (`countersign-log.bin`, replacing the
//! previous step's) and the images its `Sign` names. Attachments the source
//! already had are kept. The verifier finds the log by its magic line and each
//! image by the `/CountersignBlob` key in its stream dictionary; both are then
//! checked by hash and by rebuilding the whole file.

use std::collections::BTreeMap;

use lopdf::{Dictionary, Object, ObjectId, Stream, StringFormat};

use crate::hash::{EnvelopeId, Hash};
use crate::log::bundle::{LOG_MAGIC, decode_log, encode_log};
use crate::log::{RawEntry, ValidEntry, Value};
use crate::model::Slot;
use crate::render::source::Source;
use crate::render::{Blobs, IdAllocator, RenderError, images_of};
use crate::state::EnvelopeState;

const LOG_FILE: &str = "countersign-log.bin";
const BLOB_KEY: &str = "CountersignBlob";
const MAX_SOURCE_ATTACHMENTS: usize = 1_000;
const MAX_TREE_DEPTH: usize = 32;

/// The name tree being maintained across steps.
#[derive(Debug)]
pub(crate) struct Attached {
    tree: Option<ObjectId>,
    files: BTreeMap<Vec<u8>, Object>,
}

impl Attached {
    /// Starts from the source's own attachments.
    pub(crate) fn new(source: &Source) -> Result<Self, RenderError> {
        let mut files = BTreeMap::new();
        let tree = source
            .doc
            .get_dictionary(source.root)
            .ok()
            .and_then(|catalog| catalog.get(b"Names").ok())
            .and_then(|names| source.doc.dereference(names).ok())
            .and_then(|(_, names)| names.as_dict().ok())
            .and_then(|names| names.get(b"EmbeddedFiles").ok());
        if let Some(tree) = tree {
            collect_names(source, tree, 0, &mut files);
        }
        Ok(Attached { tree: None, files })
    }

    /// Step 1: points the catalog's `/Names` at the tree this module maintains.
    pub(crate) fn lay_out(&mut self, catalog: &mut Dictionary, source: &Source, ids: &mut IdAllocator) {
        let tree = ids.next();
        self.tree = Some(tree);
        let mut names = match catalog.get(b"Names").ok().map(|n| source.doc.dereference(n)) {
            Some(Ok((_, Object::Dictionary(names)))) => names.clone(),
            _ => Dictionary::new(),
        };
        names.set("EmbeddedFiles", Object::Reference(tree));
        catalog.set("Names", Object::Dictionary(names));
    }

    /// Attaches the log of this step and the images `slot` signed with.
    pub(crate) fn attach_step(
        &mut self,
        state: &EnvelopeState,
        log: &[&ValidEntry],
        slot: Slot,
        blobs: &Blobs,
        ids: &mut IdAllocator,
        objects: &mut BTreeMap<u32, Object>,
    ) -> Result<(), RenderError> {
        let log_bytes = encode_log(&state.envelope(), log);
        let mut dict = Dictionary::new();
        dict.set("Type", Object::Name(b"EmbeddedFile".to_vec()));
        dict.set("Subtype", Object::Name(b"application/octet-stream".to_vec()));
        let description = format!("Countersign signing log of envelope {}: {} signed entries", state.envelope(), log.len());
        self.attach(LOG_FILE, dict, log_bytes, &description, ids, objects);

        for hash in images_of(state, &[slot]) {
            let bytes = blobs.get(&hash).ok_or_else(|| RenderError::MissingBlob(hash.short()))?;
            let extension = image_extension(state, slot, &hash);
            let mut dict = Dictionary::new();
            dict.set(BLOB_KEY, Object::Name(hash.to_string().into_bytes()));
            dict.set("Type", Object::Name(b"EmbeddedFile".to_vec()));
            let mime = if extension == "png" { "image/png" } else { "image/jpeg" };
            dict.set("Subtype", Object::Name(mime.as_bytes().to_vec()));
            let name = format!("countersign-image-{}.{extension}", &hash.to_string()[..16]);
            let description = format!("Image signed by party {} (BLAKE3 {hash})", slot + 1);
            self.attach(&name, dict, bytes.clone(), &description, ids, objects);
        }

        let mut pairs = Vec::with_capacity(self.files.len() * 2);
        for (name, spec) in &self.files {
            pairs.push(Object::String(name.clone(), StringFormat::Literal));
            pairs.push(spec.clone());
        }
        let mut tree = Dictionary::new();
        tree.set("Names", Object::Array(pairs));
        if let Some(id) = self.tree {
            objects.insert(id.0, Object::Dictionary(tree));
        }
        Ok(())
    }

    fn attach(
        &mut self,
        name: &str,
        dict: Dictionary,
        bytes: Vec<u8>,
        description: &str,
        ids: &mut IdAllocator,
        objects: &mut BTreeMap<u32, Object>,
    ) {
        let size = bytes.len() as i64;
        let stream_id = ids.next();
        let mut stream = Stream::new(dict, bytes).with_compression(false);
        let mut params = Dictionary::new();
        params.set("Size", size);
        stream.dict.set("Params", Object::Dictionary(params));
        objects.insert(stream_id.0, Object::Stream(stream));
        let spec_id = ids.next();
        let mut spec = Dictionary::new();
        spec.set("Type", Object::Name(b"Filespec".to_vec()));
        spec.set("F", Object::string_literal(name));
        spec.set("UF", lopdf::text_string(name));
        spec.set("Desc", lopdf::text_string(description));
        spec.set("AFRelationship", Object::Name(b"Supplement".to_vec()));
        let mut ef = Dictionary::new();
        ef.set("F", Object::Reference(stream_id));
        spec.set("EF", Object::Dictionary(ef));
        objects.insert(spec_id.0, Object::Dictionary(spec));
        self.files.insert(name.as_bytes().to_vec(), Object::Reference(spec_id));
    }
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

/// Flattens a name tree (bounded in depth and size) into `files`.
fn collect_names(source: &Source, node: &Object, depth: usize, files: &mut BTreeMap<Vec<u8>, Object>) {
    if depth > MAX_TREE_DEPTH || files.len() >= MAX_SOURCE_ATTACHMENTS {
        return;
    }
    let Ok((_, Object::Dictionary(node))) = source.doc.dereference(node) else { return };
    if let Ok(names) = node.get(b"Names").and_then(Object::as_array) {
        for pair in names.chunks_exact(2) {
            if let Ok(key) = pair[0].as_str() {
                files.insert(key.to_vec(), pair[1].clone());
            }
        }
    }
    if let Ok(kids) = node.get(b"Kids").and_then(Object::as_array) {
        for kid in kids {
            collect_names(source, kid, depth + 1, files);
        }
    }
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
