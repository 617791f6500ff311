//! The Countersign verifier: checks that a final PDF is a complete, intact,
//! correctly ordered signed document — offline (`countersign-verifier check`)
//! and as a public, stateless web service (`countersign-verifier serve`).
//!
//! # Layout
//! - [`check`]: reading a file, the exit codes, and the plain-language report.
//! - [`config`]: the service's settings.
//! - [`http`]: the service: pages, API, errors.

pub mod check;
pub mod config;
pub mod http;

pub use countersign_shared::verify::{Report, Verdict};
