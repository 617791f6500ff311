//! Each signing step's PDF signature (PAdES baseline B with Ed25519, as
//! ISO/TS 32002 specifies), so that any standard validator sees one signature
//! per party, in signing order, made with that party's own key.
//!
//! Step 1 certifies the document (DocMDP, P=2: only form filling and signing
//! may follow), declares PDF 2.0 and the ISO 32002 extension, and lays out one
//! invisible signature field per signing party on the certificate page. Step k
//! then fills field k with a signature dictionary whose `/ByteRange` covers the
//! whole file up to the end of step k, except the `/Contents` hole:
//!
//! ```text
//! <</Contents<CMS in hex>/ByteRange[0 a b c]    /Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/M(D:…Z)…>>
//!            ^a         ^b                                              the step ends at b + c
//! ```
//!
//! The CMS (see `pades::cms`) is a function of the digest and the signer's
//! certificates, except the 64-byte Ed25519 value: that comes from the step's
//! `Seal` entry, from a placeholder when the signer's node asks what to sign,
//! or, in the verifier, from the file being checked.

use lopdf::{Dictionary, Object, ObjectId, StringFormat};
use sha2::{Digest, Sha512};

use crate::pades::cms;
use crate::render::RenderError;
use crate::render::update::Out;
use crate::time::pdf_date;

/// The signature fields' names: `countersign-signature-1` for the first signer, and so on.
pub(crate) const FIELD_PREFIX: &str = "countersign-signature-";
/// Width of each number in the `/ByteRange` placeholder.
const RANGE_DIGITS: usize = 10;

fn name(text: &str) -> Object {
    Object::Name(text.as_bytes().to_vec())
}

/// Step 1's catalog entries: PDF 2.0, the ISO 32002 extension and the DocMDP
/// certification by the first signature.
pub(crate) fn certify_catalog(catalog: &mut Dictionary, header_version: &str, first_signature: ObjectId) {
    let declared = catalog.get(b"Version").and_then(Object::as_name).ok().and_then(|v| std::str::from_utf8(v).ok()).unwrap_or("");
    let below_2 = |version: &str| version.split('.').next().and_then(|major| major.parse::<u32>().ok()).is_none_or(|major| major < 2);
    if below_2(header_version) && below_2(declared) {
        catalog.set("Version", name("2.0"));
    }
    let mut iso = Dictionary::new();
    iso.set("Type", name("DeveloperExtensions"));
    iso.set("BaseVersion", name("2.0"));
    iso.set("ExtensionLevel", 32002);
    iso.set("ExtensionRevision", Object::string_literal(":2022"));
    iso.set("URL", Object::string_literal("https://www.iso.org/standard/45875.html"));
    let mut extensions = match catalog.get(b"Extensions") {
        Ok(Object::Dictionary(existing)) => existing.clone(),
        _ => Dictionary::new(),
    };
    let mut iso_entries = match extensions.get(b"ISO_") {
        Ok(Object::Array(entries)) => entries.clone(),
        Ok(Object::Dictionary(entry)) => vec![Object::Dictionary(entry.clone())],
        _ => Vec::new(),
    };
    iso_entries.push(Object::Dictionary(iso));
    extensions.set("ISO_", Object::Array(iso_entries));
    catalog.set("Extensions", Object::Dictionary(extensions));
    let mut perms = Dictionary::new();
    perms.set("DocMDP", Object::Reference(first_signature));
    catalog.set("Perms", Object::Dictionary(perms));
}

/// An invisible signature field (and widget) on the certificate page.
pub(crate) fn empty_field(position: usize, signer: &str, page: ObjectId) -> Dictionary {
    let mut dict = Dictionary::new();
    dict.set("Type", name("Annot"));
    dict.set("Subtype", name("Widget"));
    dict.set("FT", name("Sig"));
    dict.set("T", lopdf::text_string(&field_name(position)));
    dict.set("TU", lopdf::text_string(&format!("PDF signature of {signer}")));
    dict.set("Rect", Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]));
    dict.set("P", Object::Reference(page));
    // Print and locked: invisible because the certificate row shows the signature.
    dict.set("F", 132);
    dict
}

/// The signature dictionary of a step, with a zeroed `/Contents` of exactly
/// `cms_len` bytes and a `/ByteRange` placeholder; both come first so that
/// [`Digest::close`] finds them at the start of the object.
pub(crate) fn dictionary(cms_len: usize, claimed_time_ms: u64, signer: &str, certify: bool) -> Dictionary {
    let mut dict = Dictionary::new();
    dict.set("Contents", Object::String(vec![0; cms_len], StringFormat::Hexadecimal));
    let placeholder = 10i64.pow(RANGE_DIGITS as u32) - 1;
    dict.set("ByteRange", Object::Array(vec![0.into(), placeholder.into(), placeholder.into(), placeholder.into()]));
    dict.set("Type", name("Sig"));
    dict.set("Filter", name("Adobe.PPKLite"));
    dict.set("SubFilter", name("ETSI.CAdES.detached"));
    dict.set("M", Object::string_literal(pdf_date(claimed_time_ms)));
    dict.set("Name", lopdf::text_string(signer));
    if certify {
        let mut params = Dictionary::new();
        params.set("Type", name("TransformParams"));
        params.set("V", name("1.2"));
        params.set("P", 2);
        let mut reference = Dictionary::new();
        reference.set("Type", name("SigRef"));
        reference.set("TransformMethod", name("DocMDP"));
        reference.set("TransformParams", Object::Dictionary(params));
        dict.set("Reference", Object::Array(vec![Object::Dictionary(reference)]));
    }
    dict
}

/// Where a step's `/Contents` value sits in the file: from its `<` to after its `>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hole {
    /// File offset of `<`.
    pub start: usize,
    /// File offset just after `>`.
    pub end: usize,
}

/// The SHA-512 of the file so far, kept running so that the whole file is
/// hashed once however many steps it has: it holds every byte before the
/// current step's hole (earlier holes included, filled), and each step's
/// digest adds the bytes after its hole to a copy.
#[derive(Debug, Clone)]
pub(crate) struct RunningDigest {
    hasher: Sha512,
    hashed: usize,
}

impl RunningDigest {
    /// Starts with the source document.
    pub(crate) fn new(source: &[u8]) -> Self {
        let mut hasher = Sha512::new();
        hasher.update(source);
        RunningDigest { hasher, hashed: source.len() }
    }

    /// After a step was written (its signature dictionary at file offset
    /// `object_at`, the step ending at the end of `out`): writes the real
    /// `/ByteRange` and returns the hole and the digest of the signed ranges.
    pub(crate) fn close(&mut self, out: &mut Out, object_at: usize) -> Result<(Hole, [u8; 64]), RenderError> {
        let base = out.base;
        let end = base + out.bytes.len();
        let local = object_at.checked_sub(base).ok_or_else(|| layout("the signature is not in the update"))?;
        let find = |needle: &[u8]| memchr::memmem::find(&out.bytes[local..], needle).map(|at| local + at + needle.len());
        let open = find(b"/Contents<").ok_or_else(|| layout("no /Contents"))? - 1;
        let close = open + memchr::memchr(b'>', &out.bytes[open..]).ok_or_else(|| layout("/Contents is not closed"))?;
        let range_at = find(b"/ByteRange[").ok_or_else(|| layout("no /ByteRange"))? - 1;
        let hole = Hole { start: base + open, end: base + close + 1 };
        let range = format!("[0 {} {} {}]", hole.start, hole.end, end - hole.end);
        let placeholder_len = 3 * RANGE_DIGITS + 6;
        if range.len() > placeholder_len || out.bytes.get(range_at + placeholder_len - 1) != Some(&b']') {
            return Err(layout("the file is too large for the /ByteRange"));
        }
        let mut padded = range.into_bytes();
        padded.resize(placeholder_len, b' ');
        out.bytes[range_at..range_at + placeholder_len].copy_from_slice(&padded);

        self.hasher.update(&out.bytes[self.hashed - base..open]);
        self.hashed = hole.start;
        let mut step = self.hasher.clone();
        step.update(&out.bytes[close + 1..]);
        Ok((hole, step.finalize().into()))
    }

    /// Writes the CMS into the hole and takes the rest of the step into the digest.
    pub(crate) fn fill(&mut self, out: &mut Out, hole: Hole, cms: &[u8]) -> Result<(), RenderError> {
        let (start, end) = (hole.start - out.base, hole.end - out.base);
        if 2 * cms.len() != end - start - 2 {
            return Err(layout("the CMS does not fit its hole"));
        }
        let hex = crate::hash::to_hex(cms).into_bytes();
        out.bytes[start + 1..end - 1].copy_from_slice(&hex);
        self.hasher.update(&out.bytes[start..]);
        self.hashed = out.base + out.bytes.len();
        Ok(())
    }
}

fn layout(what: &str) -> RenderError {
    RenderError::Signature(format!("internal layout error: {what}"))
}

fn unusable(e: der::Error) -> RenderError {
    RenderError::Signature(format!("the signer's certificate cannot be used: {e}"))
}

/// The signed attributes of a step over `digest`, and the bytes the signer's key signs.
pub(crate) fn signed_attributes(chain: &[Vec<u8>], digest: &[u8; 64]) -> Result<(cms::Attributes, Vec<u8>), RenderError> {
    let signer = chain.first().ok_or_else(|| RenderError::Signature("the signer has no certificate".into()))?;
    let attributes = cms::signed_attributes(digest, signer).map_err(unusable)?;
    let message = cms::message_of(&attributes).map_err(unusable)?;
    Ok((attributes, message))
}

/// The CMS of a step: the chain, its signed attributes and the signature `value`.
pub(crate) fn cms(chain: &[Vec<u8>], attributes: cms::Attributes, value: &[u8; 64]) -> Result<Vec<u8>, RenderError> {
    cms::signed_data(chain, attributes, value).map_err(unusable)
}

/// The size of a step's CMS, which does not depend on the digest or value.
pub(crate) fn cms_len(chain: &[Vec<u8>]) -> Result<usize, RenderError> {
    let (attributes, _) = signed_attributes(chain, &[0; 64])?;
    Ok(cms(chain, attributes, &[0; 64])?.len())
}

/// The signature value inside the `/Contents` hole of `file`, if the hole
/// holds a readable CMS.
pub(crate) fn value_in(file: &[u8], hole: Hole) -> Option<[u8; 64]> {
    let hex = file.get(hole.start + 1..hole.end.checked_sub(1)?)?;
    let der = crate::hash::from_hex_bytes(hex)?;
    cms::signature_value(&der)
}

/// The name of the signature field of the `position`th signer (from 1).
pub(crate) fn field_name(position: usize) -> String {
    format!("{FIELD_PREFIX}{position}")
}
