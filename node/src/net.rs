//! Networking: the swarm, the wire protocols and the event loop that drives
//! sync and blob transfer.
//!
//! # Sync in brief
//! - A node syncs an envelope only with its parties: the creator and every
//!   key bound by a `Join`. A joiner shows the proof of its invitation (the
//!   invite secret's signature over envelope, slot and its key) with every
//!   sync request until the others know its `Join`; the proof is kept beside
//!   the envelope's document, so a restart does not lock it out.
//! - Each act starts an Automerge sync round with every party at once; an
//!   envelope that changed in the last minute is also re-synced from a fresh
//!   sync state every two seconds, which makes good any message lost on the
//!   way. Unreachable parties are retried with exponential backoff (to 60 s).
//! - Blobs are fetched from any connected party that has them, four 1 MiB
//!   chunks in flight, appended to a partial file, and kept only if the whole
//!   hashes to its name; a peer that sends a wrong or oversized blob is
//!   disconnected.
//! - Start-up does not re-verify signatures it verified before: the node keeps
//!   the ids of entries whose signatures it checked (`verified.bin`) and the
//!   fold trusts exactly those ids (an id is the hash of the signed bytes).
//!   Every other rule is applied again.
//!
//! # Layout
//! - [`behaviour`]: the libp2p behaviours and key ↔ peer id mapping.
//! - [`protocol`]: `/countersign/sync/4` and `/countersign/blob/1`.
//! - [`command`]: what the API asks of the loop.
//! - [`event_loop`]: the loop itself.

pub mod behaviour;
pub mod command;
pub mod event_loop;
pub mod protocol;
