//! The deterministic final PDF.
//!
//! [`render`] is a pure function of the source PDF bytes, the envelope's valid
//! entries and the blobs they name: no clock, no randomness, so every node and
//! the verifier produce the same bytes. The file is the untouched source
//! followed by one incremental update per signing step, in signing order:
//!
//! 1. The first step lays out everything: a document-id line on every page,
//!    every party's fields as AcroForm widgets (read-only pushbuttons for
//!    images, read-only text fields for data), and the signing certificate
//!    (see `certificate`): the audit trail, with a box per signing party, an
//!    empty signature field per signing party and a QR code to the verifier.
//!    It certifies the document (see `signature`), then fills step 1.
//! 2. Each step fills its party's fields and certificate box (values and
//!    appearance streams), embeds the log so far with the images it names,
//!    and ends with the party's PDF signature over the whole file so far.
//!    Page content is never edited after step 1. Each step embeds its own
//!    subset of the one font (see [`crate::font`]).
//!
//! A step's PDF signature value is made by the signer's node ([`seal_message`]
//! says what it signs) and travels in a `Seal` entry; [`render`] takes it from
//! there, and the verifier takes it from the file it checks.
//!
//! The source is read with the strict reader (see [`crate::source`]): the
//! renderer only ever works on a document in normal form.
//!
//! # Layout
//! - `form`: the fields, their widgets and appearances.
//! - `certificate`: the signing certificate and audit trail.
//! - `attachments`: the embedded log and images.
//! - `signature`: each step's PDF signature.
//! - `image`: signature and stamp images.
//! - `update`: writing an incremental update.

mod attachments;
mod certificate;
mod form;
mod image;
pub mod signature;
mod update;

use std::collections::BTreeMap;

use lopdf::Object;
use thiserror::Error;

use crate::font;
use crate::hash::Hash;
use crate::keys::Signature;
use crate::model::Slot;
use crate::source::Source;
use crate::state::EnvelopeState;

pub use crate::source::PdfError;
pub(crate) use attachments::starts_a_step;
pub use attachments::{LogFound, find_log};
pub use signature::Hole;

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
    /// Verifying: the file does not hold the image a step names where that step puts it.
    #[error("the image {0} named in the log is not where the signed document has it")]
    ImageNotInFile(String),
    /// A signed step has no `Seal` yet: its signer's node has not made the PDF signature.
    #[error("the PDF signature of {0} is not in the log yet")]
    NotSealed(String),
    /// A `Seal`'s value does not verify for the step it seals.
    #[error("the PDF signature of {0} in the log does not verify for the document")]
    BadSeal(String),
    /// The PDF signature cannot be built (e.g. an unusable certificate).
    #[error("the PDF signature cannot be made: {0}")]
    Signature(String),
    /// Verifying was stopped by its caller (a deadline).
    #[error("the check was stopped before it ended")]
    Interrupted,
    /// An image named by a `Sign` entry cannot be drawn.
    #[error("{what} cannot be drawn: {why}")]
    BadImage {
        /// Which image.
        what: String,
        /// Why.
        why: String,
    },
}

/// Where one signing step's update sits in the file, and its PDF signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSpan {
    /// The party that signed in this step.
    pub slot: Slot,
    /// First byte of the update.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
    /// The signature's `/Contents` value in the file.
    pub hole: Hole,
    /// The bytes the party's key signs: the DER of the CMS signed attributes.
    pub message: Vec<u8>,
    /// The signature value written into the step.
    pub value: Signature,
    /// The signature field's name.
    pub field: String,
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

/// Where each step's images and PDF signature value come from.
#[derive(Clone, Copy)]
pub(crate) enum Mode<'a> {
    /// Rendering: the images from the blobs, each `Seal` from the log
    /// (checked against its step).
    Log(&'a Blobs),
    /// Like `Log`, up to the step of this slot, which gets a placeholder and
    /// is the last step rendered: its signer's node wants its message.
    UpTo(&'a Blobs, Slot),
    /// Verifying this file: each step's images and signature value are read
    /// from where the step puts them in it (zeros where it holds no readable
    /// value); the caller checks the values. `stop` is asked between images
    /// and steps whether to give up ([`RenderError::Interrupted`]).
    File(&'a [u8], &'a dyn Fn() -> bool),
}

impl Mode<'_> {
    /// Whether the caller asked to stop.
    fn stopped(&self) -> bool {
        match self {
            Mode::File(_, stop) => stop(),
            Mode::Log(_) | Mode::UpTo(..) => false,
        }
    }
}

/// Renders the PDF of `state`: the source plus one update per party that has
/// signed, in signing order, each with its PDF signature from the log.
pub fn render(source: &[u8], state: &EnvelopeState, blobs: &Blobs) -> Result<Rendered, RenderError> {
    check_source(source, state)?;
    let (updates, steps) = render_updates(source, state, Mode::Log(blobs))?;
    let mut bytes = Vec::with_capacity(source.len() + updates.len());
    bytes.extend_from_slice(source);
    bytes.extend_from_slice(&updates);
    Ok(Rendered { bytes, source_len: source.len(), steps })
}

/// What the party at `slot` signs to seal its signing step: the DER of the
/// step's CMS signed attributes. The step must be signed, and every earlier
/// step sealed.
pub fn seal_message(source: &[u8], state: &EnvelopeState, blobs: &Blobs, slot: Slot) -> Result<Vec<u8>, RenderError> {
    Ok(step_to_seal(source, state, blobs, slot)?.message)
}

/// The file as it stands once the party at `slot` signed (its step's PDF
/// signature still a placeholder), and what that party signs to seal it. A
/// signer who is shown `file` signs exactly what they saw: the message
/// carries the hash of every byte of it but the placeholder.
#[derive(Debug, Clone)]
pub struct StepToSeal {
    /// The source and every update up to this step.
    pub file: Vec<u8>,
    /// The DER of the step's CMS signed attributes.
    pub message: Vec<u8>,
}

/// The step of the party at `slot`, to show and seal (see [`StepToSeal`]).
/// The step must be signed, and every earlier step sealed.
pub fn step_to_seal(source: &[u8], state: &EnvelopeState, blobs: &Blobs, slot: Slot) -> Result<StepToSeal, RenderError> {
    check_source(source, state)?;
    let (updates, steps) = render_updates(source, state, Mode::UpTo(blobs, slot))?;
    match steps.into_iter().last() {
        Some(step) if step.slot == slot => Ok(StepToSeal { file: [source, &updates].concat(), message: step.message }),
        _ => Err(RenderError::NotSealed(party_name(state, slot))),
    }
}

fn check_source(source: &[u8], state: &EnvelopeState) -> Result<(), RenderError> {
    let document = &state.terms().document;
    if source.len() as u64 != document.len || Hash::of(source) != document.hash {
        return Err(RenderError::WrongSource);
    }
    Ok(())
}

fn party_name(state: &EnvelopeState, slot: Slot) -> String {
    state.terms().party(slot).map_or_else(|| format!("party {slot}"), |p| p.name.clone())
}

/// The bytes that follow the source: one update per signing step. The caller
/// has checked that `source` is the envelope's document.
pub(crate) fn render_updates(source: &[u8], state: &EnvelopeState, mode: Mode<'_>) -> Result<(Vec<u8>, Vec<StepSpan>), RenderError> {
    let terms = state.terms();
    let parsed = Source::read(source)?;
    if parsed.pages.len() != terms.document.pages as usize {
        return Err(RenderError::PageCount { expected: terms.document.pages, found: parsed.pages.len() });
    }
    let mut signed: Vec<Slot> = terms.signing_order().into_iter().filter(|slot| state.signature(*slot).is_some()).collect();
    if let Mode::UpTo(_, last) = mode {
        let Some(position) = signed.iter().position(|s| *s == last) else {
            return Err(RenderError::NotSealed(party_name(state, last)));
        };
        signed.truncate(position + 1);
    }
    let mut out = update::Out { base: source.len(), source_last: source.last().copied(), bytes: Vec::new() };
    let mut steps = Vec::with_capacity(signed.len());
    let mut tail = update::Tail { startxref: parsed.startxref, size: parsed.size, trailer: update::base_trailer(&parsed.doc.trailer) };
    let mut form: Option<form::Form> = None;
    let mut digest = signature::RunningDigest::new(source);
    let order = terms.signing_order();
    let position_of = |slot: Slot| order.iter().position(|s| *s == slot).unwrap_or(0);
    for (index, slot) in signed.iter().enumerate() {
        if mode.stopped() {
            return Err(RenderError::Interrupted);
        }
        let start = out.position();
        update::begin(&mut out);
        let mut ids = IdAllocator { next: tail.size };
        // The step's log and images come first, where their places are known
        // before anything drawn from them: a verifier reads them from there.
        let log = state.closure_of_signs(&signed[..=index]);
        let (offsets, images) = attachments::write_step(&mut out, state, &log, *slot, mode, &mut ids)?;
        let mut objects = BTreeMap::new();
        // The step's own font: the glyphs it shows (see `font`).
        let mut font = font::Subset::new(ids.next()?);
        let form = match &mut form {
            Some(form) => form,
            None => form.insert(form::Form::lay_out(&parsed, state, &mut font, &mut ids, &mut objects)?),
        };
        form.fill(*slot, state, &log, &images, &mut font, &mut ids, &mut objects, &|| mode.stopped())?;
        font.write(&mut || ids.next().ok(), &mut |id, object| {
            objects.insert(id.0, object);
        })
        .map_err(|e| RenderError::Signature(e.to_string()))?;

        let name = party_name(state, *slot);
        let chain = state.certificates(*slot).ok_or_else(|| RenderError::Signature(format!("{name} has no certificate")))?;
        let record = state.signature(*slot).ok_or_else(|| RenderError::NotSealed(name.clone()))?;
        let signature_id = if index == 0 { form.first_signature } else { ids.next()? };
        let dict = signature::dictionary(signature::cms_len(chain)?, record.claimed_time, &name, index == 0);
        objects.insert(signature_id.0, Object::Dictionary(dict));
        let position = position_of(*slot);
        form.sign_field(position, signature_id, &mut objects);

        tail.size = ids.next;
        let (next, offsets) = update::append(&mut out, &tail, offsets, &objects)?;
        tail = next;
        let object_at = offsets
            .get(&signature_id.0)
            .copied()
            .ok_or_else(|| RenderError::Signature("internal layout error: the signature dictionary was not written".into()))?;
        let (hole, step_digest) = digest.close(&mut out, object_at)?;
        let (attributes, message) = signature::signed_attributes(chain, &step_digest)?;
        let value = match mode {
            Mode::UpTo(_, last) if last == *slot => [0; 64],
            Mode::Log(_) | Mode::UpTo(..) => {
                let value = state.seal(*slot).ok_or_else(|| RenderError::NotSealed(name.clone()))?;
                let key = state.binding(*slot).ok_or_else(|| RenderError::BadSeal(name.clone()))?;
                key.verify(&message, &value).map_err(|_| RenderError::BadSeal(name.clone()))?;
                *value.as_bytes()
            }
            Mode::File(found, _) => signature::value_in(found, hole).unwrap_or([0; 64]),
        };
        digest.fill(&mut out, hole, &signature::cms(chain, attributes, &value)?)?;
        let field = signature::field_name(position + 1);
        steps.push(StepSpan { slot: *slot, start, end: out.position(), hole, message, value: Signature::from_bytes(value), field });
    }
    Ok((out.bytes, steps))
}

/// Checks that image bytes can be drawn as a signature or stamp; the message
/// says what is wrong (format, damage, size).
pub fn check_image(bytes: &[u8]) -> Result<crate::log::ImageFormat, RenderError> {
    let mut pixels = image::MAX_DOCUMENT_PIXELS;
    image::to_pdf_image(bytes, "the image", &mut pixels)?;
    crate::log::ImageFormat::sniff(bytes)
        .ok_or_else(|| RenderError::BadImage { what: "the image".into(), why: "it is neither a PNG nor a JPEG".into() })
}

/// Hands out new object numbers in order.
#[derive(Debug)]
pub(crate) struct IdAllocator {
    next: u32,
}

impl IdAllocator {
    pub(crate) fn next(&mut self) -> Result<lopdf::ObjectId, RenderError> {
        let id = self.next;
        self.next = id
            .checked_add(1)
            .filter(|next| *next < MAX_OBJECT_NUMBER)
            .ok_or_else(|| RenderError::Signature("internal layout error: the document has too many objects for PDF".into()))?;
        Ok((id, 0))
    }
}

/// The highest object number a PDF reader must accept (ISO 32000-1, annex C).
const MAX_OBJECT_NUMBER: u32 = 8_388_607;
