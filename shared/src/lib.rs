//! Countersign's shared core: the model, the signed log and its rules, the
//! deterministic final PDF and its verification. No IO, no async: every
//! function takes values and bytes and returns values and bytes, so nodes and
//! the verifier run the very same rules.
//!
//! # Layout
//! - [`keys`], [`hash`]: ed25519 keys and signatures, BLAKE3 hashes and ids.
//! - [`model`]: the terms an envelope fixes: document, parties, fields.
//! - [`encoding`]: the canonical byte encoding.
//! - [`log`]: signed entries and their acts; [`log::rules`] the rules P2–P5;
//!   [`log::bundle`] the log as one file.
//! - [`state`]: the fold of valid entries into the envelope's state (P6).
//! - [`invite`]: invitation links.
//! - `envelope_doc` (feature `envelope-doc`): an envelope's replicated
//!   Automerge document, for nodes and the guest signer.
//! - [`source`]: the source document: preparing any PDF into the normal form
//!   every reader reads alike, and the strict reader of that form.
//! - [`render`]: the deterministic final PDF.
//! - [`pades`]: the parties' X.509 certificates and the CMS of each step's PDF signature.
//! - [`verify`]: the complete check of a final PDF.
//! - [`time`]: claimed times for people.
//! - `typeset`: text in PDF content streams (encoding, escaping, widths, wrapping).
//!
//! # The flow in code
//! A creator signs a `Create` with the terms; `Invite`s carry the public half
//! of one-time secrets; each party's `Join` proves it holds one; `Sign`s come
//! in signing order, each followed by the signer's `Seal` (the PDF signature
//! of its step, see [`render::seal_message`]); [`render::render`] turns the
//! source PDF and the folded state into the final PDF; [`verify::verify`]
//! checks one.

pub mod encoding;
#[cfg(feature = "envelope-doc")]
pub mod envelope_doc;
pub mod font;
pub mod hash;
pub mod invite;
pub mod keys;
pub mod log;
pub mod model;
pub mod pades;
pub mod render;
pub mod source;
pub mod state;
pub mod time;
pub(crate) mod typeset;
pub mod verify;

#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use hash::{EntryId, EnvelopeId, Hash};
pub use keys::{PublicKey, SecretKey, Signature};
