//! One party's Countersign node.
//!
//! Today the node is its in-memory core, [`party::Party`]: one identity with
//! the envelopes it takes part in, making signed entries and exchanging them
//! (with the blobs they name) as [`party::Packet`]s. The networked node —
//! data dir, Automerge documents over libp2p, CLI — builds on it.
//!
//! # Layout
//! - [`party`]: a party's envelopes and the acts it performs on them.
//! - [`clock`]: the wall clock, the one source of claimed times.

pub mod clock;
pub mod party;
