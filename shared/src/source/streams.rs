//! Stream dictionaries with one meaning.
//!
//! A stream's data is decoded by the filters its `/Filter` names. Some
//! readers also honour keys that point elsewhere or abbreviate: `/F` (the
//! data is in another file: one reader skips the stream, another draws the
//! data here), `/FFilter`, `/FDecodeParms`, `/DL`, and the inline-image
//! abbreviations `/F` and `/DP`, which some readers take before `/Filter`.
//! Prepare removes those keys, so every reader decodes the data here with
//! `/Filter`; filters not every reader has are refused. The strict reader
//! refuses a stream that still has them.

use lopdf::{Dictionary, Document, Object};

use crate::source::{PdfError, remove_key};

/// Keys some readers honour in a stream dictionary and others do not.
const READER_SPECIFIC: [&[u8]; 5] = [b"F", b"FFilter", b"FDecodeParms", b"DL", b"DP"];

/// Filters every reader decodes.
const FILTERS: [&[u8]; 9] = [
    b"FlateDecode",
    b"LZWDecode",
    b"ASCIIHexDecode",
    b"ASCII85Decode",
    b"RunLengthDecode",
    b"DCTDecode",
    b"JPXDecode",
    b"CCITTFaxDecode",
    b"JBIG2Decode",
];

fn filters_known(dict: &Dictionary) -> Result<(), PdfError> {
    let known = |name: &Object| name.as_name().is_ok_and(|name| FILTERS.contains(&name));
    let fits = match dict.get(b"Filter") {
        Err(_) => true,
        Ok(Object::Array(names)) => names.iter().all(known),
        Ok(name) => known(name),
    };
    if fits { Ok(()) } else { Err(PdfError::Ambiguous("a stream in it is encoded in a way not every reader decodes".into())) }
}

/// Removes the keys some readers honour and others do not from every
/// stream; refuses filters not every reader has.
pub(crate) fn normalise(doc: &mut Document) -> Result<(), PdfError> {
    for object in doc.objects.values_mut() {
        if let Object::Stream(stream) = object {
            for key in READER_SPECIFIC {
                remove_key(&mut stream.dict, key);
            }
            filters_known(&stream.dict)?;
        }
    }
    Ok(())
}

/// Refuses a stream with keys some readers honour and others do not, or
/// with a filter not every reader has.
pub(crate) fn check(doc: &Document) -> Result<(), PdfError> {
    for object in doc.objects.values() {
        if let Object::Stream(stream) = object {
            if READER_SPECIFIC.iter().any(|key| stream.dict.has(key)) {
                return Err(PdfError::NotNormal("a stream in it points elsewhere for its data or its decoding".into()));
            }
            filters_known(&stream.dict)?;
        }
    }
    Ok(())
}
