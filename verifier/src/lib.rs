//! The Countersign verifier: checks that a final PDF is a complete, intact,
//! correctly ordered signed document.
//!
//! Today it is the offline `countersign-verifier check FILE.pdf` command; the
//! public web service comes next and will serve the same [`Report`].
//!
//! # Layout
//! - [`check`]: reading a file, the exit codes, and the plain-language report.

pub mod check;

pub use countersign_shared::verify::{Report, Verdict};
