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
//! - `pages`: the page tree, made canonical, and the pages' geometry.
//! - `flatten`: annotations and form fields drawn into the pages.
//! - `names`: names for resources added beside the source's own.

pub mod active;
mod appearances;
mod content;
mod flatten;
pub(crate) mod lenient;
pub(crate) mod names;
pub(crate) mod normal;
mod pages;
mod streams;
mod strict;

use std::collections::{BTreeMap, HashMap};

use lopdf::{Document, Object, ObjectId};
use thiserror::Error;

pub use active::ActiveContent;
pub(crate) use names::unique_name;
pub use pages::PageGeometry;
pub(crate) use pages::SourcePage;
pub(crate) use pages::{dictionary, resolved};

/// Most pages a document may have.
pub const MAX_PAGES: usize = 5_000;
/// Most objects a source may have.
pub(crate) const MAX_OBJECTS: usize = 1_000_000;
/// How deeply values may nest inside one object.
pub(crate) const MAX_DEPTH: usize = 100;
/// Most values (numbers, names, strings, …) a source may hold outside its
/// streams: each takes about 120 bytes in memory once read (the size of
/// lopdf's `Object`), so a source takes at most about 250 MB to check.
pub(crate) const MAX_VALUES: usize = 2_000_000;

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
    /// What preparing removed or drew into the pages, by kind, with how many places held it.
    pub removed: BTreeMap<ActiveContent, usize>,
}

/// Prepares any PDF for signing: reads it, refuses what cannot be signed
/// safely, makes its page tree canonical, draws form values and
/// annotations into the pages, removes active content and writes it in
/// normal form.
pub fn prepare(pdf: &[u8]) -> Result<Prepared, PdfError> {
    if !looks_like_pdf(pdf) {
        return Err(PdfError::NotPdf);
    }
    // lopdf decrypts what it can (a file with an empty user password) on a
    // path that passes no object through the loader's bounds: refuse first.
    if mentions_name(pdf, b"Encrypt") {
        return Err(PdfError::Encrypted);
    }
    let mut doc = lenient::load(pdf)?;
    refuse_what_cannot_be_signed(&doc)?;
    number_from_one(&mut doc);
    streams::normalise(&mut doc)?;
    let catalog = doc.trailer.get(b"Root").and_then(Object::as_reference).map_err(|_| damaged("its document catalog is missing"))?;
    let mut removed = BTreeMap::new();
    if appearances::draw_values(&mut doc)? > 0 {
        *removed.entry(ActiveContent::NeedAppearances).or_insert(0) += 1;
    }
    let pages = pages::make_canonical(&mut doc, catalog)?;
    let layers = flatten::flatten(&mut doc, catalog, &pages, &mut removed)?;
    // What flattening left unreachable (the form, annotations) is not
    // written: nothing to read, neutralise or count there.
    normal::prune(&mut doc)?;
    content::normalise(&mut doc, &pages, &layers)?;
    normal::prune(&mut doc)?;
    active::neutralise(&mut doc, &mut removed);
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

/// A prepared source with a blank signature page of `width` × `height`
/// points added after its last page, headed "Signatures": where the signature
/// blocks go when the document's last page has no room for them. The result
/// is prepared again, so it is in normal form like any source.
pub fn with_signature_page(pdf: &[u8], width: f32, height: f32) -> Result<Prepared, PdfError> {
    let source = Source::read(pdf)?;
    // Read again as stored (the strict reader's streams are its own).
    let mut doc = lenient::load(pdf)?;
    let mut font = lopdf::Dictionary::new();
    font.set("Type", Object::Name(b"Font".to_vec()));
    font.set("Subtype", Object::Name(b"Type1".to_vec()));
    font.set("BaseFont", Object::Name(b"Helvetica".to_vec()));
    font.set("Encoding", Object::Name(b"WinAnsiEncoding".to_vec()));
    let font = doc.add_object(font);
    let heading = format!("BT /F1 14 Tf 0 g 40 {} Td (Signatures) Tj ET", crate::typeset::num(height - 50.0));
    let content = doc.add_object(lopdf::Stream::new(lopdf::Dictionary::new(), heading.into_bytes()));
    let mut fonts = lopdf::Dictionary::new();
    fonts.set("F1", Object::Reference(font));
    let mut resources = lopdf::Dictionary::new();
    resources.set("Font", Object::Dictionary(fonts));
    let mut page = lopdf::Dictionary::new();
    page.set("Type", Object::Name(b"Page".to_vec()));
    page.set("Parent", Object::Reference(source.pages_root));
    page.set("MediaBox", Object::Array(vec![0.into(), 0.into(), Object::Real(width), Object::Real(height)]));
    page.set("Resources", Object::Dictionary(resources));
    page.set("Contents", Object::Reference(content));
    let page = doc.add_object(page);
    let tree = doc.get_object_mut(source.pages_root).and_then(Object::as_dict_mut).map_err(|_| damaged("its page list cannot be read"))?;
    let mut kids = tree.get(b"Kids").and_then(Object::as_array).cloned().unwrap_or_default();
    kids.push(Object::Reference(page));
    let count = tree.get(b"Count").and_then(Object::as_i64).unwrap_or(0);
    tree.set("Kids", Object::Array(kids));
    tree.set("Count", count + 1);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).map_err(|e| PdfError::Damaged(format!("the signature page could not be added ({e})")))?;
    prepare(&bytes)
}

fn looks_like_pdf(bytes: &[u8]) -> bool {
    memchr::memmem::find(&bytes[..bytes.len().min(1024)], b"%PDF-").is_some()
}

/// Whether `bytes` hold the name `/name`, however its letters are escaped (`#XX`).
fn mentions_name(bytes: &[u8], name: &[u8]) -> bool {
    let mut rest = bytes;
    while let Some(at) = memchr::memchr(b'/', rest) {
        rest = &rest[at + 1..];
        let mut matched = 0;
        let mut i = 0;
        while matched < name.len() {
            let byte = match rest.get(i) {
                Some(b'#') => {
                    let hex = rest.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
                    i += 3;
                    hex
                }
                Some(byte) => {
                    i += 1;
                    Some(*byte)
                }
                None => None,
            };
            if byte != Some(name[matched]) {
                break;
            }
            matched += 1;
        }
        let ends = rest.get(i).is_none_or(|b| !normal::plain_in_name(*b) || *b == b'/');
        if matched == name.len() && ends {
            return true;
        }
    }
    false
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
        refuse_what_cannot_be_signed(&read.doc)?;
        streams::check(&read.doc)?;
        let root = read.doc.trailer.get(b"Root").and_then(Object::as_reference).map_err(|_| damaged("its document catalog is missing"))?;
        let Some(Object::Dictionary(catalog)) = read.doc.objects.get(&root) else { return Err(damaged("its document catalog is missing")) };
        let (pages_root, pages) = pages::read_canonical(&read.doc, catalog)?;
        let page_ids: Vec<ObjectId> = pages.iter().map(|p| p.id).collect();
        content::check(&read.doc, &page_ids, bytes)?;
        let found = active::find(&read.doc, &page_ids);
        if !found.is_empty() {
            let kinds: Vec<&str> = found.keys().map(|kind| kind.describe()).collect();
            return Err(PdfError::ActiveContent(kinds.join(", ")));
        }
        let size = read.objects.checked_add(1).ok_or_else(|| PdfError::TooComplex("it has too many objects".into()))?;
        Ok(Source { doc: read.doc, pages, root, pages_root, startxref: read.startxref, size })
    }

    /// Its pages' geometry.
    pub(crate) fn info(&self) -> PdfInfo {
        PdfInfo { pages: self.pages.iter().map(|p| p.geometry).collect() }
    }
}

/// The rules a document must meet to be signed, however it was read: not
/// encrypted, signed or certified, no layers, no PostScript, no name that
/// some readers would cut short.
fn refuse_what_cannot_be_signed(doc: &Document) -> Result<(), PdfError> {
    if doc.trailer.has(b"Encrypt") {
        return Err(PdfError::Encrypted);
    }
    let catalog = doc.trailer.get(b"Root").and_then(Object::as_reference).ok().and_then(|root| doc.get_dictionary(root).ok());
    if catalog.and_then(|c| c.get(b"Perms").ok()).and_then(|perms| dictionary(doc, perms)).is_some_and(|perms| perms.has(b"DocMDP")) {
        return Err(PdfError::Certified);
    }
    let mut stack: Vec<(&Object, usize)> = doc.objects.values().map(|object| (object, 0)).collect();
    for (key, value) in doc.trailer.iter() {
        refuse_nul(key)?;
        stack.push((value, 1));
    }
    while let Some((object, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(PdfError::TooComplex(format!("its objects nest more than {MAX_DEPTH} levels deep")));
        }
        let dict = match object {
            Object::Dictionary(dict) => dict,
            Object::Stream(stream) => &stream.dict,
            Object::Array(items) => {
                stack.extend(items.iter().map(|item| (item, depth + 1)));
                continue;
            }
            Object::Name(name) => {
                refuse_nul(name)?;
                continue;
            }
            _ => continue,
        };
        // Countersign's first signature certifies the document, and a
        // certification must come before any other signature (ISO 32000-2 12.8.2.2).
        // A name may be an object of its own: readers follow the reference.
        let is = |key: &[u8], value: &[u8]| dict.get(key).is_ok_and(|v| resolved(doc, v).as_name().is_ok_and(|name| name == value));
        let signature_field = is(b"FT", b"Sig") && dict.has(b"V");
        if dict.has(b"ByteRange") || signature_field {
            return Err(PdfError::AlreadySigned);
        }
        let layer = dict.has(b"OCProperties") || dict.has(b"OC") || is(b"Type", b"OCG") || is(b"Type", b"OCMD");
        if layer {
            return Err(PdfError::OptionalContent);
        }
        if is(b"Subtype", b"PS") {
            return Err(PdfError::Ambiguous("it holds PostScript, which some readers run and others ignore".into()));
        }
        for (key, value) in dict.iter() {
            refuse_nul(key)?;
            stack.push((value, depth + 1));
        }
    }
    Ok(())
}

/// Numbers the objects from 1 and turns references to objects the file does
/// not have into null, which is how readers read them: the objects prepare
/// adds then can neither answer such a reference nor run out of numbers.
fn number_from_one(doc: &mut Document) {
    let numbers: HashMap<ObjectId, ObjectId> =
        doc.objects.keys().enumerate().map(|(index, id)| (*id, (u32::try_from(index + 1).unwrap_or(u32::MAX), 0))).collect();
    for (id, mut object) in std::mem::take(&mut doc.objects) {
        renumber(&mut object, &numbers, 0);
        if let Some(number) = numbers.get(&id) {
            doc.objects.insert(*number, object);
        }
    }
    for (_, value) in doc.trailer.iter_mut() {
        renumber(value, &numbers, 0);
    }
    doc.max_id = u32::try_from(numbers.len()).unwrap_or(u32::MAX);
}

fn renumber(object: &mut Object, numbers: &HashMap<ObjectId, ObjectId>, depth: usize) {
    // Deeper values were refused before.
    if depth > MAX_DEPTH {
        return;
    }
    match object {
        Object::Reference(id) => *object = numbers.get(id).map_or(Object::Null, |number| Object::Reference(*number)),
        Object::Array(items) => items.iter_mut().for_each(|item| renumber(item, numbers, depth + 1)),
        Object::Dictionary(dict) => dict.iter_mut().for_each(|(_, value)| renumber(value, numbers, depth + 1)),
        Object::Stream(stream) => stream.dict.iter_mut().for_each(|(_, value)| renumber(value, numbers, depth + 1)),
        _ => {}
    }
}

/// Some readers keep names in C strings, which end at a NUL byte: to them
/// `/Contents#00` is `/Contents`.
fn refuse_nul(name: &[u8]) -> Result<(), PdfError> {
    if name.contains(&0) {
        return Err(PdfError::Ambiguous("a name in it holds a NUL byte, which some readers cut short".into()));
    }
    Ok(())
}

fn damaged(what: &str) -> PdfError {
    PdfError::Damaged(what.to_owned())
}

/// Removes `key` from `dict`, keeping the order of the other keys (lopdf's
/// own `remove` moves the last key into the gap): the normal form writes
/// keys in their order, and preparing a prepared file must change nothing.
pub(crate) fn remove_key(dict: &mut lopdf::Dictionary, key: &[u8]) -> Option<Object> {
    let removed = dict.get(key).ok().cloned()?;
    let kept: Vec<(Vec<u8>, Object)> = dict.iter().filter(|(k, _)| k.as_slice() != key).map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut rebuilt = lopdf::Dictionary::new();
    for (k, v) in kept {
        rebuilt.set(k, v);
    }
    *dict = rebuilt;
    Some(removed)
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
        // An outline entry whose action is a stream: readers take the
        // stream's dictionary as the action.
        let mut doc = lenient::load(&contract_pdf(1)).expect("loads");
        let mut launch = Dictionary::new();
        launch.set("S", Object::Name(b"Launch".to_vec()));
        let mut windows = Dictionary::new();
        windows.set("F", Object::string_literal("calc.exe"));
        launch.set("Win", Object::Dictionary(windows));
        let action = doc.add_object(Stream::new(launch, Vec::new()));
        let mut entry = Dictionary::new();
        entry.set("Title", Object::string_literal("Terms"));
        entry.set("A", Object::Reference(action));
        let mut outlines = Dictionary::new();
        outlines.set("First", Object::Dictionary(entry));
        let root = doc.trailer.get(b"Root").and_then(Object::as_reference).expect("a catalog");
        if let Ok(Object::Dictionary(catalog)) = doc.get_object_mut(root) {
            catalog.set("Outlines", Object::Dictionary(outlines));
        }
        let with_stream_action = normal::write(&doc, normal::StreamData::Inline).expect("writes");
        match Source::read(&with_stream_action) {
            Err(e @ PdfError::ActiveContent(_)) => assert!(e.to_string().contains("link actions"), "{e}"),
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

    /// The prepared contract with its page's drawing replaced by `drawing`
    /// (compressed as preparing compresses it) and `extra` set on that
    /// stream: what a node that skipped preparing could write.
    fn with_page_drawing(drawing: &[u8], extra: Option<(&str, Object)>) -> Vec<u8> {
        let mut doc = lenient::load(&contract_pdf(1)).expect("loads");
        let page = *doc.get_pages().values().next().expect("a page");
        let contents = doc.get_dictionary(page).and_then(|p| p.get(b"Contents")).and_then(Object::as_reference).expect("one stream");
        let mut dict = Dictionary::new();
        dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
        if let Some((key, value)) = extra {
            dict.set(key, value);
        }
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(drawing, 6);
        doc.objects.insert(contents, Object::Stream(Stream::new(dict, packed)));
        normal::write(&doc, normal::StreamData::Inline).expect("writes")
    }

    #[test]
    fn the_strict_reader_reads_drawing_instructions_only_as_preparing_writes_them() {
        let refused = |pdf: Vec<u8>| Source::read(&pdf).map(|s| s.size).expect_err("refused").to_string();
        assert!(refused(with_page_drawing(b"BT\n/F1 12 Tf\n11 Tr\n(x) Tj\nET", None)).contains("text rendering mode"));
        assert!(refused(with_page_drawing(b"BT  /F1 12 Tf (x) Tj ET", None)).contains("not written as preparing writes them"));
        assert!(refused(with_page_drawing(b"q\n1 0 0 1 0 0 cm", None)).contains("leave the graphics state"));
        assert!(refused(with_page_drawing(b"q\nQ", Some(("F", Object::string_literal("terms.dat"))))).contains("points elsewhere"));
        // Written as preparing writes it, the same drawing is read.
        assert!(Source::read(&with_page_drawing(b"q\nQ", None)).is_ok());
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
