//! The PDFs the guest makes itself, byte for byte what every node makes:
//! its step, to show the person and seal, and the final PDF with its check.

use countersign_shared::hash::Hash;
use countersign_shared::model::Slot;
use countersign_shared::render::{self, Blobs, StepToSeal};
use countersign_shared::state::{EnvelopeState, Status};
use countersign_shared::verify::{Report, verify};

use crate::GuestError;

/// The blobs given as (hash, bytes) pairs, each checked against its hash.
pub fn blobs<'a>(given: impl IntoIterator<Item = &'a [u8]>) -> Result<Blobs, GuestError> {
    let mut blobs = Blobs::new();
    for bytes in given {
        blobs.insert(Hash::of(bytes), bytes.to_vec());
    }
    Ok(blobs)
}

/// The document as it stands (the source and every sealed step), to show
/// the person before they sign; the source only while nothing can be drawn
/// over it yet. A source not in the normal form nodes prepare is refused:
/// readers may show such a file differently, so nobody should sign it.
pub fn view(source: &[u8], state: &EnvelopeState, blobs: &Blobs) -> Result<Vec<u8>, GuestError> {
    countersign_shared::source::inspect(source)
        .map_err(|e| GuestError::new(format!("this document cannot be shown safely, so do not sign it: {e}")))?;
    match render::render(source, state, blobs) {
        Ok(rendered) => Ok(rendered.bytes),
        Err(render::RenderError::WrongSource) => Err(GuestError::new("the file sent is not the document of this envelope")),
        Err(_) => Ok(source.to_vec()),
    }
}

/// The file once the guest (at `slot`) signed, and what its key signs to seal it.
pub fn step(source: &[u8], state: &EnvelopeState, blobs: &Blobs, slot: Slot) -> Result<StepToSeal, GuestError> {
    Ok(render::step_to_seal(source, state, blobs, slot)?)
}

/// The final PDF of a completed envelope, and what the verifier says of it.
pub fn final_pdf(source: &[u8], state: &EnvelopeState, blobs: &Blobs) -> Result<(Vec<u8>, Report), GuestError> {
    if state.status() != Status::Completed || !state.unsealed().is_empty() {
        return Err(GuestError::new("the document is not signed by everyone yet"));
    }
    let pdf = render::render(source, state, blobs)?.bytes;
    let report = verify(&pdf);
    Ok((pdf, report))
}
