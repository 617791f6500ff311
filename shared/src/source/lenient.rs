//! Reading any PDF a person brings, as leniently as readers do, within bounds.
//!
//! Only prepare reads PDFs this way (everything after reads the normal form
//! with the strict reader). lopdf does the reading, with these bounds:
//! - the end of the file must be unambiguous: the last `startxref` closed by
//!   `%%EOF`, and nothing but blanks after it (readers disagree about which
//!   revision such a file holds);
//! - a stream may decompress to at most [`MAX_STREAM`] bytes;
//! - the objects read may take at most a budget linear in the file's size,
//!   and no object may be read twice (a cross-reference table that points
//!   many entries at one place);
//! - object streams are expanded here, one object per slice of the stream,
//!   so that no byte of one is read for more than one object.
//!
//! lopdf calls a filter on every object it reads; the filter keeps the
//! account and stops the load by unwinding with [`Abort`] (without the panic
//! hook: `resume_unwind`), which [`load`] catches. A panic inside lopdf on a
//! broken file becomes a "damaged" error the same way.

use std::cell::RefCell;
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use lopdf::xref::XrefEntry;
use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId, ObjectStream, Stream};

use crate::source::PdfError;

/// Most bytes one stream may decompress to while reading.
pub(crate) const MAX_STREAM: usize = 8 * 1024 * 1024;
/// Most objects one object stream may hold.
const MAX_IN_OBJECT_STREAM: usize = 100_000;

/// Why a load stopped early.
struct Abort(PdfError);

/// The account of one load, kept for the filter.
struct Loading {
    budget: usize,
    seen: HashSet<ObjectId>,
    object_streams: Vec<ObjectId>,
}

thread_local! {
    static LOADING: RefCell<Option<Loading>> = const { RefCell::new(None) };
}

/// Reads `bytes` as any PDF, within the bounds above.
pub(crate) fn load(bytes: &[u8]) -> Result<Document, PdfError> {
    // lopdf decrypts what it can (a file with an empty user password) on a
    // path that passes no object through the filter: refuse first.
    if memchr::memmem::find(bytes, b"/Encrypt").is_some() {
        return Err(PdfError::Encrypted);
    }
    check_end(bytes)?;
    let budget = 64 * 1024 * 1024 + bytes.len().saturating_mul(8);
    LOADING.with(|loading| *loading.borrow_mut() = Some(Loading { budget, seen: HashSet::new(), object_streams: Vec::new() }));
    let options = LoadOptions { filter: Some(vet), max_decompressed_size: Some(MAX_STREAM), ..LoadOptions::default() };
    let loaded = catch_unwind(AssertUnwindSafe(|| Document::load_mem_with_options(bytes, options)));
    let account = LOADING.with(|loading| loading.borrow_mut().take());
    let mut doc = match loaded {
        Ok(Ok(doc)) => doc,
        Ok(Err(lopdf::Error::Decryption(_))) => return Err(PdfError::Encrypted),
        Ok(Err(lopdf::Error::Decompress(_))) => {
            return Err(PdfError::TooComplex(format!("a stream decompresses to more than {} MB", MAX_STREAM / 1024 / 1024)));
        }
        Ok(Err(e)) => return Err(PdfError::Damaged(e.to_string())),
        Err(payload) => match payload.downcast::<Abort>() {
            Ok(abort) => return Err(abort.0),
            Err(_) => return Err(PdfError::Damaged("the PDF parser gave up on it".into())),
        },
    };
    if doc.trailer.has(b"Encrypt") || doc.encryption_state.is_some() {
        return Err(PdfError::Encrypted);
    }
    let Some(mut account) = account else { return Err(PdfError::Damaged("the PDF could not be read".into())) };
    for container in std::mem::take(&mut account.object_streams) {
        expand(&mut doc, container, &mut account)?;
    }
    Ok(doc)
}

/// The end of the file must say, without doubt, where its last revision is.
fn check_end(bytes: &[u8]) -> Result<(), PdfError> {
    let end = bytes.iter().rposition(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')).map_or(0, |at| at + 1);
    let body = &bytes[..end];
    let last_eof = memchr::memmem::rfind(body, b"%%EOF");
    let last_startxref = memchr::memmem::rfind(body, b"startxref");
    match (last_startxref, last_eof) {
        (_, None) => Err(PdfError::Damaged("it is incomplete (it has no end marker); it may have been cut short while downloading".into())),
        (_, Some(eof)) if eof + 5 != end => Err(PdfError::Ambiguous("data follows its end (%%EOF)".into())),
        (Some(startxref), Some(eof)) if startxref < eof => {
            let between = &body[startxref + 9..eof];
            let digits = between.iter().filter(|b| b.is_ascii_digit()).count();
            if digits > 0 && between.iter().all(|b| b.is_ascii_digit() || b.is_ascii_whitespace()) {
                Ok(())
            } else {
                Err(PdfError::Ambiguous("its last cross-reference pointer (startxref) is malformed".into()))
            }
        }
        _ => Err(PdfError::Ambiguous("its last cross-reference pointer (startxref) is not closed by %%EOF".into())),
    }
}

fn abort(error: PdfError) -> ! {
    resume_unwind(Box::new(Abort(error)))
}

/// lopdf's filter: charges each object to the budget, refuses an object read
/// twice, and keeps object streams for [`expand`].
fn vet(id: ObjectId, object: &mut Object) -> Option<(ObjectId, Object)> {
    let verdict = LOADING.with(|loading| {
        let mut loading = loading.borrow_mut();
        let account = loading.as_mut()?;
        if !account.seen.insert(id) {
            return Some(PdfError::Ambiguous("its cross-reference table points several entries at the same object".into()));
        }
        match account.budget.checked_sub(weight(object)) {
            Some(left) => account.budget = left,
            None => return Some(too_big()),
        }
        if let Object::Stream(stream) = object
            && stream.dict.has_type(b"ObjStm")
        {
            // lopdf would expand it eagerly and without slicing: hide it from
            // lopdf, expand it afterwards.
            stream.dict.remove(b"Type");
            account.object_streams.push(id);
        }
        None
    });
    if let Some(error) = verdict {
        abort(error);
    }
    // lopdf keeps the object it passed in; the one returned is not used.
    Some((id, Object::Null))
}

fn too_big() -> PdfError {
    PdfError::TooComplex("its objects take far more memory than its size explains".into())
}

/// About how much memory an object takes, in bytes.
fn weight(object: &Object) -> usize {
    let mut total = 0usize;
    let mut stack = vec![object];
    while let Some(object) = stack.pop() {
        total = total.saturating_add(48);
        match object {
            Object::Name(bytes) | Object::String(bytes, _) => total = total.saturating_add(bytes.len()),
            Object::Array(items) => stack.extend(items.iter()),
            Object::Dictionary(dict) => dict_weight(dict, &mut total, &mut stack),
            Object::Stream(stream) => {
                total = total.saturating_add(stream.content.len());
                dict_weight(&stream.dict, &mut total, &mut stack);
            }
            _ => {}
        }
    }
    total
}

fn dict_weight<'a>(dict: &'a Dictionary, total: &mut usize, stack: &mut Vec<&'a Object>) {
    for (key, value) in dict.iter() {
        *total = total.saturating_add(key.len() + 16);
        stack.push(value);
    }
}

/// Expands the object stream `container`: each object is read from its own
/// slice of the stream, and kept where the cross-reference table places it
/// there (or names it nowhere else).
fn expand(doc: &mut Document, container: ObjectId, account: &mut Loading) -> Result<(), PdfError> {
    let Some(Object::Stream(stream)) = doc.objects.remove(&container) else { return Ok(()) };
    let damaged = |what: &str| PdfError::Damaged(format!("an object stream is broken ({what})"));
    let content = stream
        .get_plain_content_with_limit(MAX_STREAM)
        .map_err(|_| PdfError::TooComplex(format!("an object stream decompresses to more than {} MB", MAX_STREAM / 1024 / 1024)))?;
    let count = stream.dict.get(b"N").and_then(Object::as_i64).ok().and_then(|n| usize::try_from(n).ok());
    let first = stream.dict.get(b"First").and_then(Object::as_i64).ok().and_then(|n| usize::try_from(n).ok());
    let (Some(count), Some(first)) = (count, first) else { return Err(damaged("no /N or /First")) };
    if count > MAX_IN_OBJECT_STREAM {
        return Err(PdfError::TooComplex(format!("an object stream holds more than {MAX_IN_OBJECT_STREAM} objects")));
    }
    let header = content.get(..first).ok_or_else(|| damaged("/First is past its end"))?;
    let numbers: Vec<usize> = std::str::from_utf8(header)
        .map_err(|_| damaged("its index is not text"))?
        .split_ascii_whitespace()
        .take(2 * count)
        .map(|n| n.parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| damaged("its index is not numbers"))?;
    let entries: Vec<(u32, usize)> = numbers.chunks_exact(2).map(|pair| (u32::try_from(pair[0]).unwrap_or(u32::MAX), pair[1])).collect();
    let body = &content[first..];
    for (index, (number, offset)) in entries.iter().enumerate() {
        let end = entries.get(index + 1).map_or(body.len(), |(_, next)| *next);
        if *offset >= end || end > body.len() {
            return Err(damaged("its objects overlap or lie outside it"));
        }
        let id = (*number, 0);
        let placed_here = match doc.reference_table.entries.get(number) {
            Some(XrefEntry::Compressed { container: at, .. }) => *at == container.0,
            Some(_) => false,
            None => true,
        };
        if !placed_here || doc.objects.contains_key(&id) {
            continue;
        }
        // One object, alone in a stream of its own slice: lopdf's reader
        // cannot run past the slice.
        let mut single = format!("{number} 0 ").into_bytes();
        let start = single.len();
        single.extend_from_slice(&body[*offset..end]);
        let mut dict = Dictionary::new();
        dict.set("Type", Object::Name(b"ObjStm".to_vec()));
        dict.set("N", 1);
        dict.set("First", i64::try_from(start).unwrap_or(i64::MAX));
        let single = Stream::new(dict, single);
        let parsed = catch_unwind(AssertUnwindSafe(|| ObjectStream::new_with_limit(&single, Some(MAX_STREAM))));
        let Ok(Ok(mut parsed)) = parsed else { continue };
        let Some(object) = parsed.objects.remove(&id) else { continue };
        account.budget = account.budget.checked_sub(weight(&object)).ok_or_else(too_big)?;
        doc.objects.insert(id, object);
    }
    Ok(())
}
