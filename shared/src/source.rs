//! The source document: a person's PDF in the one form Countersign signs.
//!
//! PDF readers do not all read a file the same way. A file can carry several
//! revisions and leave readers to pick one, reference objects that do not
//! exist yet, hold scripts, actions and layers that show or print other
//! things than the pages. A document whose meaning depends on the reader
//! cannot promise that what the signers saw is what the final PDF shows.
//!
//! So [`prepare`] reads any PDF as leniently as readers do, refuses what
//! cannot be made unambiguous (encrypted, already signed, layers, an
//! ambiguous end), removes active content, and writes the document in its
//! **normal form**: one revision, one cross-reference table, objects numbered
//! densely in a fixed order, no dangling references, every value spelled one
//! way, nothing after `%%EOF` (see `normal`). The previews, the hash in
//! `Create` and the final PDF are all made from those bytes.
//!
//! Everything after prepare, the renderer on every node and the verifier,
//! reads a source only with the strict reader ([`Source::read`]), which
//! accepts exactly the normal form: a node that skipped prepare cannot make
//! a document that verifies.
//!
//! # Layout
//! - `lenient`: reading any PDF, within bounds (prepare only).
//! - [`active`]: active content, removed by prepare, reported by the strict reader.
//! - `appearances`: form values readers were asked to draw, drawn by prepare.
//! - `normal`: the normal form's writer, and the check that bytes are in it.
//! - `strict`: the strict reader of the normal form.
//! - `pages`: the page tree and the pages' geometry.

pub mod active;
mod appearances;
mod lenient;
pub(crate) mod normal;
mod pages;
mod strict;

use std::collections::BTreeMap;

use lopdf::{Document, Object, ObjectId};
use thiserror::Error;

pub use active::ActiveContent;
pub use pages::PageGeometry;
pub(crate) use pages::SourcePage;
pub(crate) use pages::{dictionary, resolved};

/// Most pages a document may have.
pub const MAX_PAGES: usize = 5_000;
/// Most objects a source may have.
pub(crate) const MAX_OBJECTS: usize = 1_000_000;
/// How deeply values may nest inside one object.
pub(crate) const MAX_DEPTH: usize = 100;
/// Form fields whose names start with this are Countersign's own.
pub const RESERVED_FIELD_PREFIX: &str = "countersign";

/// Why a PDF cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PdfError {
    /// The bytes do not start like a PDF.
    #[error("this is not a PDF file")]
    NotPdf,
    /// The PDF is password-protected.
    #[error("this PDF is encrypted (password-protected); save an unprotected copy and use that")]
    Encrypted,
    /// The PDF is damaged or truncated beyond what preparing can repair.
    #[error("this PDF is damaged: {0}; save it again from the program that made it")]
    Damaged(String),
    /// Different PDF readers would read different documents from it.
    #[error("PDF readers may read this file differently: {0}; save it again (for example print it to a new PDF) and use that")]
    Ambiguous(String),
    /// Reading it would take far more time or memory than its size explains.
    #[error("this PDF is built in a way too costly to read safely: {0}; save it again from the program that made it")]
    TooComplex(String),
    /// The PDF is already certified (DocMDP): its author forbade the changes signing makes.
    #[error("this PDF is already certified with a digital signature that forbids further changes; use a copy without that certification")]
    Certified,
    /// The PDF already carries a digital signature.
    #[error("this PDF is already digitally signed; Countersign's signatures must be the first ones, so use the unsigned original")]
    AlreadySigned,
    /// The PDF has too many pages.
    #[error("this PDF has {0} pages or more; a document may have at most {MAX_PAGES}")]
    PageCount(usize),
    /// The PDF has optional content (layers).
    #[error(
        "this PDF has layers (optional content), which can show one thing on screen and another on paper; save it without layers (for example print it to a new PDF) and use that"
    )]
    OptionalContent,
    /// A form field has a name Countersign keeps for its own.
    #[error("this PDF has a form field named '{0}', a name Countersign keeps for its own fields; rename that field")]
    ReservedField(String),
    /// A source that is not in normal form: not prepared by Countersign.
    #[error("this PDF was not prepared by Countersign ({0}), so PDF readers may show it differently")]
    NotNormal(String),
    /// A source in normal form's layout that still holds active content.
    #[error("this PDF was not prepared by Countersign: it holds {0}, which preparing removes")]
    ActiveContent(String),
}

/// What a person preparing an envelope needs to know about a PDF.
#[derive(Debug, Clone, PartialEq)]
pub struct PdfInfo {
    /// Each page's geometry, in order.
    pub pages: Vec<PageGeometry>,
}

/// A PDF prepared for signing.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The document in normal form: what the envelope fixes and everyone sees.
    pub bytes: Vec<u8>,
    /// Its pages.
    pub info: PdfInfo,
    /// The active content removed, by kind, with how many places held it.
    pub removed: BTreeMap<ActiveContent, usize>,
}

/// Prepares any PDF for signing: reads it, refuses what cannot be signed
/// safely, draws the form values readers were asked to draw, removes active
/// content and writes it in normal form.
pub fn prepare(pdf: &[u8]) -> Result<Prepared, PdfError> {
    if !looks_like_pdf(pdf) {
        return Err(PdfError::NotPdf);
    }
    let mut doc = lenient::load(pdf)?;
    admit(&doc)?;
    appearances::draw_values(&mut doc);
    let removed = active::neutralise(&mut doc);
    let bytes = normal::write(&doc, normal::StreamData::Inline)?;
    // The normal form must read back strictly; if it does not, say what broke.
    let source = Source::read(&bytes).map_err(|e| PdfError::Damaged(format!("it could not be put in normal form ({e})")))?;
    let info = source.info();
    Ok(Prepared { bytes, info, removed })
}

/// Checks that `pdf` is a prepared source (in normal form) and describes its pages.
pub fn inspect(pdf: &[u8]) -> Result<PdfInfo, PdfError> {
    Source::read(pdf).map(|source| source.info())
}

fn looks_like_pdf(bytes: &[u8]) -> bool {
    memchr::memmem::find(&bytes[..bytes.len().min(1024)], b"%PDF-").is_some()
}

/// A source in normal form, read.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) doc: Document,
    pub(crate) pages: Vec<SourcePage>,
    pub(crate) root: ObjectId,
    pub(crate) pages_root: ObjectId,
    /// Where its cross-reference section starts.
    pub(crate) startxref: usize,
    /// The next free object number.
    pub(crate) size: u32,
}

impl Source {
    /// Reads a source in normal form; anything else is refused with the reason.
    pub(crate) fn read(bytes: &[u8]) -> Result<Self, PdfError> {
        if !bytes.starts_with(b"%PDF-") {
            return Err(if looks_like_pdf(bytes) {
                PdfError::NotNormal("it does not start with its header".into())
            } else {
                PdfError::NotPdf
            });
        }
        let read = strict::read(bytes)?;
        let admitted = admit(&read.doc)?;
        let found = active::find(&read.doc);
        if !found.is_empty() {
            let kinds: Vec<&str> = found.keys().map(|kind| kind.describe()).collect();
            return Err(PdfError::ActiveContent(kinds.join(", ")));
        }
        let size = read.objects.checked_add(1).ok_or_else(|| PdfError::TooComplex("it has too many objects".into()))?;
        Ok(Source {
            doc: read.doc,
            pages: admitted.pages,
            root: admitted.root,
            pages_root: admitted.pages_root,
            startxref: read.startxref,
            size,
        })
    }

    /// Its pages' geometry.
    pub(crate) fn info(&self) -> PdfInfo {
        PdfInfo { pages: self.pages.iter().map(|p| p.geometry).collect() }
    }
}

/// What admission finds: the catalog, the page tree and the pages.
struct Admitted {
    root: ObjectId,
    pages_root: ObjectId,
    pages: Vec<SourcePage>,
}

/// The rules a document must meet to be signed, however it was read: not
/// encrypted, signed or certified, no layers, no field with a reserved name,
/// a readable page tree of 1 to [`MAX_PAGES`] pages.
fn admit(doc: &Document) -> Result<Admitted, PdfError> {
    if doc.trailer.has(b"Encrypt") {
        return Err(PdfError::Encrypted);
    }
    let root = doc.trailer.get(b"Root").and_then(Object::as_reference).map_err(|_| damaged("its document catalog is missing"))?;
    let Some(Object::Dictionary(catalog)) = doc.objects.get(&root) else { return Err(damaged("its document catalog is missing")) };
    if catalog.get(b"Perms").ok().and_then(|perms| dictionary(doc, perms)).is_some_and(|perms| perms.has(b"DocMDP")) {
        return Err(PdfError::Certified);
    }
    // Countersign's first signature certifies the document, and a
    // certification must come before any other signature (ISO 32000-2 12.8.2.2).
    if any_dictionary(doc, |dict| dict.has_type(b"Sig") && dict.has(b"ByteRange")) {
        return Err(PdfError::AlreadySigned);
    }
    if catalog.has(b"OCProperties") {
        return Err(PdfError::OptionalContent);
    }
    if let Some(form) = catalog.get(b"AcroForm").ok().and_then(|form| dictionary(doc, form))
        && let Ok(Object::Array(fields)) = form.get(b"Fields").map(|f| resolved(doc, f))
    {
        for field in fields.iter().filter_map(|field| dictionary(doc, field)) {
            if let Ok(Object::String(name, _)) = field.get(b"T").map(|t| resolved(doc, t)) {
                let name = lopdf::decode_text_string(&Object::String(name.clone(), lopdf::StringFormat::Literal))
                    .unwrap_or_else(|_| String::from_utf8_lossy(name).into_owned());
                if name.to_lowercase().starts_with(RESERVED_FIELD_PREFIX) {
                    return Err(PdfError::ReservedField(name));
                }
            }
        }
    }
    let pages_root = catalog.get(b"Pages").and_then(Object::as_reference).map_err(|_| damaged("its page list cannot be read"))?;
    let pages = pages::page_ids(doc, pages_root)?.into_iter().map(|id| pages::page(doc, id)).collect::<Result<Vec<_>, _>>()?;
    Ok(Admitted { root, pages_root, pages })
}

fn damaged(what: &str) -> PdfError {
    PdfError::Damaged(what.to_owned())
}

/// Whether any dictionary in `doc`, at any depth, satisfies `test`.
fn any_dictionary(doc: &Document, test: impl Fn(&lopdf::Dictionary) -> bool) -> bool {
    let mut stack: Vec<(&Object, usize)> = doc.objects.values().map(|object| (object, 0)).collect();
    while let Some((object, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            continue;
        }
        let dict = match object {
            Object::Dictionary(dict) => dict,
            Object::Stream(stream) => &stream.dict,
            Object::Array(items) => {
                stack.extend(items.iter().map(|item| (item, depth + 1)));
                continue;
            }
            _ => continue,
        };
        if test(dict) {
            return true;
        }
        stack.extend(dict.iter().map(|(_, value)| (value, depth + 1)));
    }
    false
}

#[cfg(test)]
mod tests {
    use lopdf::{Dictionary, Object, Stream};

    use super::*;
    use crate::test_utils::contract_pdf;

    /// A normal-form file holding `extra` in its catalog, written by the
    /// normal form's own writer (as a node that skipped prepare could).
    fn normal_with_catalog_entry(key: &str, value: Object) -> Vec<u8> {
        let mut doc = lenient::load(&contract_pdf(1)).expect("loads");
        let root = doc.trailer.get(b"Root").and_then(Object::as_reference).expect("a catalog");
        if let Ok(Object::Dictionary(catalog)) = doc.get_object_mut(root) {
            catalog.set(key, value);
        }
        normal::write(&doc, normal::StreamData::Inline).expect("writes")
    }

    #[test]
    fn a_prepared_file_is_its_own_normal_form() {
        let pdf = contract_pdf(2);
        let read = strict::read(&pdf).expect("reads strictly");
        assert_eq!(normal::write(&read.doc, normal::StreamData::In(&pdf)).expect("writes"), pdf);
        assert_eq!(prepare(&pdf).expect("prepares").bytes, pdf);
    }

    #[test]
    fn the_strict_reader_names_what_is_not_normal() {
        let pdf = contract_pdf(1);
        let refused = |bytes: &[u8]| match Source::read(bytes) {
            Err(PdfError::NotNormal(why)) => why,
            other => panic!("expected a refusal, got {:?}", other.map(|s| s.size)),
        };
        let mut longer = pdf.clone();
        longer.extend_from_slice(b"\n% more\n");
        assert!(refused(&longer).contains("follow its end"));
        // Two spaces where the normal form writes one.
        let at = memchr::memmem::find(&pdf, b"/Type /Catalog").expect("the catalog");
        let mut spaced = pdf.clone();
        spaced.splice(at + 5..at + 6, *b"  ");
        assert!(refused(&spaced).contains("at byte"));
        // A cross-reference offset one byte off.
        let xref = memchr::memmem::rfind(&pdf, b"0000000015 00000 n").expect("object 1's entry");
        let mut shifted = pdf.clone();
        shifted[xref + 9] = b'6';
        assert!(refused(&shifted).contains("at byte"));
    }

    #[test]
    fn a_normal_layout_with_active_content_or_a_dangling_reference_is_refused() {
        let mut script = Dictionary::new();
        script.set("S", Object::Name(b"JavaScript".to_vec()));
        script.set("JS", Object::string_literal("app.alert(1)"));
        let with_script = normal_with_catalog_entry("OpenAction", Object::Dictionary(script));
        match Source::read(&with_script) {
            Err(e @ PdfError::ActiveContent(_)) => assert!(e.to_string().contains("JavaScript"), "{e}"),
            other => panic!("expected active content, got {:?}", other.map(|s| s.size)),
        }
        // The writer turns a reference to nothing into nothing: such a file
        // cannot be in normal form. Put one in by hand, keeping the layout.
        let pdf = contract_pdf(1);
        let at = memchr::memmem::find(&pdf, b"/Type /Catalog").expect("the catalog");
        let mut dangling = pdf.clone();
        dangling.splice(at..at + 14, *b"/Type 99 0 R  ");
        assert!(matches!(Source::read(&dangling), Err(PdfError::NotNormal(_))));
    }

    #[test]
    fn the_writer_spells_values_one_way() {
        assert_eq!(normal::real(12.0), "12.0");
        assert_eq!(normal::real(-0.0), "0.0");
        assert_eq!(normal::real(0.1), "0.1");
        assert_eq!(normal::real(f32::NAN), "0.0");
        let mut dict = Dictionary::new();
        dict.set("A b", Object::String(b"(x)\\\n\xff".to_vec(), lopdf::StringFormat::Literal));
        let mut doc = lopdf::Document::with_version("1.7");
        // Nothing reaches this one: it is not written.
        doc.add_object(Dictionary::new());
        let id = doc.add_object(Stream::new(dict, b"data".to_vec()));
        let mut catalog = Dictionary::new();
        catalog.set("Thing", Object::Reference(id));
        let root = doc.add_object(catalog);
        doc.trailer.set("Root", Object::Reference(root));
        let bytes = normal::write(&doc, normal::StreamData::Inline).expect("writes");
        assert!(memchr::memmem::find(&bytes, br"/A#20b (\(x\)\\\012\377)").is_some(), "{}", String::from_utf8_lossy(&bytes));
        let read = strict::read(&bytes).expect("reads back");
        assert_eq!(read.objects, 2);
    }
}
