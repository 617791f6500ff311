//! The deterministic final PDF.
//!
//! [`render`] is a pure function of the source PDF bytes, the envelope's valid
//! entries and the blobs they name: no clock, no randomness, so every node and
//! the verifier produce the same bytes. The file is the untouched source
//! followed by one incremental update per signing step, in signing order:
//!
//! 1. The first step lays out everything: a document-id line on every page,
//!    every party's fields as AcroForm widgets (signature fields for images,
//!    read-only text fields for data), and a certificate page with a field per
//!    signing party and a QR code to the verifier. It then fills step 1.
//! 2. Each step fills its party's fields and certificate row (values and
//!    appearance streams) and attaches the log so far, with the images it
//!    names, as embedded files. Page content is never edited after step 1.
//!
//! # Layout
//! - [`source`]: parsing the user's PDF.
//! - `form`: the fields, their widgets and appearances.
//! - `certificate`: the certificate page.
//! - `attachments`: the embedded log and images.
//! - `image`, `text`: drawing helpers.
//! - `update`: writing an incremental update.

mod attachments;
mod certificate;
mod form;
mod image;
pub mod source;
mod text;
mod update;

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;

use crate::hash::Hash;
use crate::model::Slot;
use crate::state::EnvelopeState;

pub use attachments::{find_blob, find_log};
pub use source::{PdfError, PdfInfo, inspect};

/// Blobs (signature and stamp images) by hash.
pub type Blobs = BTreeMap<Hash, Vec<u8>>;

/// Why a final PDF could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The source bytes are not the document the envelope fixed.
    #[error("the PDF given is not the envelope's document (its hash or length differs)")]
    WrongSource,
    /// The source cannot be parsed.
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// The source's page count differs from the terms.
    #[error("the envelope expects {expected} pages, the PDF has {found}")]
    PageCount {
        /// Pages in the terms.
        expected: u32,
        /// Pages in the PDF.
        found: usize,
    },
    /// An image named by a `Sign` entry is not available.
    #[error("the image {0} named in the log is missing")]
    MissingBlob(String),
    /// An image named by a `Sign` entry cannot be drawn.
    #[error("{what} cannot be drawn: {why}")]
    BadImage {
        /// Which image.
        what: String,
        /// Why.
        why: String,
    },
}

/// Where one signing step's update sits in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSpan {
    /// The party that signed in this step.
    pub slot: Slot,
    /// First byte of the update.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
}

/// A rendered final (or, before every party signed, partial) PDF.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The file.
    pub bytes: Vec<u8>,
    /// Where the source ends.
    pub source_len: usize,
    /// Each step's update, in order.
    pub steps: Vec<StepSpan>,
}

/// Renders the PDF of `state`: the source plus one update per party that has
/// signed, in signing order.
pub fn render(source: &[u8], state: &EnvelopeState, blobs: &Blobs) -> Result<Rendered, RenderError> {
    let terms = state.terms();
    if source.len() as u64 != terms.document.len || Hash::of(source) != terms.document.hash {
        return Err(RenderError::WrongSource);
    }
    let (updates, steps) = render_updates(source, state, blobs)?;
    let mut bytes = Vec::with_capacity(source.len() + updates.len());
    bytes.extend_from_slice(source);
    bytes.extend_from_slice(&updates);
    Ok(Rendered { bytes, source_len: source.len(), steps })
}

/// The bytes that follow the source: one update per signing step. The caller
/// has checked that `source` is the envelope's document.
pub(crate) fn render_updates(source: &[u8], state: &EnvelopeState, blobs: &Blobs) -> Result<(Vec<u8>, Vec<StepSpan>), RenderError> {
    let terms = state.terms();
    let parsed = source::Source::parse(source)?;
    if parsed.pages.len() != terms.document.pages as usize {
        return Err(RenderError::PageCount { expected: terms.document.pages, found: parsed.pages.len() });
    }
    let signed: Vec<Slot> = terms.signing_order().into_iter().filter(|slot| state.signature(*slot).is_some()).collect();
    let mut out = update::Out { base: source.len(), source_last: source.last().copied(), bytes: Vec::new() };
    let mut steps = Vec::with_capacity(signed.len());
    let mut tail = update::Tail {
        startxref: parsed.startxref,
        xref_stream: parsed.xref_stream,
        size: parsed.size,
        trailer: update::base_trailer(&parsed.doc.trailer),
    };
    let mut form: Option<form::Form> = None;
    let mut attached = attachments::Attached::new(&parsed)?;
    for (index, slot) in signed.iter().enumerate() {
        let mut ids = IdAllocator { next: tail.size };
        let mut objects = BTreeMap::new();
        if form.is_none() {
            form = Some(form::Form::lay_out(&parsed, state, &mut ids, &mut objects, &mut attached));
        }
        if let Some(form) = &form {
            form.fill(*slot, state, blobs, &mut ids, &mut objects)?;
        }
        let log = state.closure_of_signs(&signed[..=index]);
        attached.attach_step(state, &log, *slot, blobs, &mut ids, &mut objects)?;
        let start = source.len() + out.bytes.len();
        tail.size = ids.next;
        tail = update::append(&mut out, &tail, &objects);
        steps.push(StepSpan { slot: *slot, start, end: source.len() + out.bytes.len() });
    }
    Ok((out.bytes, steps))
}

/// Checks that image bytes can be drawn as a signature or stamp; the message
/// says what is wrong (format, damage, size).
pub fn check_image(bytes: &[u8]) -> Result<crate::log::ImageFormat, RenderError> {
    image::to_pdf_image(bytes, "the image")?;
    crate::log::ImageFormat::sniff(bytes)
        .ok_or_else(|| RenderError::BadImage { what: "the image".into(), why: "it is neither a PNG nor a JPEG".into() })
}

/// Hands out new object numbers in order.
#[derive(Debug)]
pub(crate) struct IdAllocator {
    next: u32,
}

impl IdAllocator {
    pub(crate) fn next(&mut self) -> lopdf::ObjectId {
        let id = self.next;
        self.next += 1;
        (id, 0)
    }
}

/// The images a set of slots' `Sign` entries name.
pub(crate) fn images_of(state: &EnvelopeState, slots: &[Slot]) -> BTreeSet<Hash> {
    slots
        .iter()
        .filter_map(|slot| state.signature(*slot))
        .flat_map(|record| record.values.iter())
        .filter_map(|(_, value)| match value {
            crate::log::Value::Image { hash, .. } => Some(*hash),
            crate::log::Value::Text(_) => None,
        })
        .collect()
}
