//! The guest signer's core: what a person who signs from a link in a browser
//! needs, compiled to WebAssembly (`guest/web` is the page around it).
//!
//! The guest runs the very code every node runs: the canonical encoding, the
//! log's rules and fold, the deterministic rendering and the verifier, from
//! `countersign-shared`, and the envelope's Automerge document. Nothing is
//! ported, so the guest cannot judge an envelope differently from a node.
//!
//! What stays in JavaScript: the network (js-libp2p), the person's key
//! (WebCrypto, non-extractable: this crate never sees a private key; it
//! returns the bytes to sign and takes the signature back), storage
//! (IndexedDB) and the page.
//!
//! # Layout
//! - [`frames`]: the byte strings that cross the boundary.
//! - [`session`]: the envelope's document and its sync with one node.
//! - [`entropy`]: randomness from the browser, for the crates inside.
//! - [`summary`]: the folded state, as the page shows it.
//! - [`acts`]: the guest's entries (join, sign, seal), to sign elsewhere.
//! - [`files`]: the step to show and seal, the final PDF and its check.
//! - [`ops`]: the operations the page calls, by number.
//! - [`boundary`]: the three functions exported to JavaScript.

pub mod acts;
pub mod boundary;
pub mod entropy;
pub mod files;
pub mod frames;
pub mod ops;
pub mod session;
pub mod summary;

/// Why an operation failed, in words for the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GuestError(pub String);

impl GuestError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        GuestError(message.into())
    }
}

macro_rules! from_error {
    ($($error:ty),*) => {$(
        impl From<$error> for GuestError {
            fn from(error: $error) -> Self {
                GuestError(error.to_string())
            }
        }
    )*};
}

from_error!(
    countersign_shared::encoding::DecodeError,
    countersign_shared::render::RenderError,
    countersign_shared::state::FoldError,
    countersign_shared::pades::certificate::CertificateError,
    countersign_shared::envelope_doc::SyncError,
    automerge::AutomergeError,
    serde_json::Error
);
