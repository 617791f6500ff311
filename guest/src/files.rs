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
