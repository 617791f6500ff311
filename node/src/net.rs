//! Networking: the swarm, the wire protocols and the event loop that drives
//! sync and blob transfer.
//!
//! # Layout
//! - [`behaviour`]: the libp2p behaviours and key ↔ peer id mapping.
//! - [`protocol`]: `/countersign/sync/1` and `/countersign/blob/1`.
//! - [`command`]: what the API asks of the loop.
//! - [`event_loop`]: the loop itself.

pub mod behaviour;
pub mod command;
pub mod event_loop;
pub mod protocol;
