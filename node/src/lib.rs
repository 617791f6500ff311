//! One party's Countersign node.
//!
//! A node holds one identity (an ed25519 key that is both the party's signing
//! key and its libp2p peer id), the envelopes it takes part in, and their
//! blobs. It replicates each envelope's signed entries as an Automerge
//! document over libp2p, fetches blobs by hash, and serves a local HTTP API
//! that the `countersign` CLI and the web app in a browser drive.
//!
//! # Layout
//! - [`error`]: [`NodeError`], what can go wrong when the node is asked to act.
//! - [`party`]: a party's acts on its envelopes (create, join, sign, decline),
//!   checked against the shared rules before anything is stored.
//! - [`datadir`]: the data dir: lock, key, profile, atomic writes.
//! - [`blobs`]: blobs by hash on disk, stored as they arrive and resumable.
//! - [`documents`]: a person's PDF prepared into an envelope's document.
//! - [`drafts`]: a document being prepared, checked and turned into an envelope.
//! - [`envelopes`]: the node's envelopes on disk and their summaries.
//! - [`app`]: the application's task: acts, sync decisions, notifications.
//! - [`net`]: the swarm and its protocols, nothing else.
//! - [`api`]: the local HTTP API; [`client`]: the CLI's side of it.
//! - [`web`]: the web app (pipeline, prepare and send, sign) on the same server.
//! - [`cli`]: the `countersign` commands.
//! - [`running`]: a node running in this process.
//! - [`handle`]: [`handle::NodeHandle`], one typed method per act.
//! - [`fields`]: where fields go when none are given.
//! - [`templates`]: prepared documents and saved templates.
//! - [`notify`]: invitations, reminders and completion notices by email and SMS.
//! - [`codes`]: one-time codes that confirm a party's phone before they join.
//! - [`qr`]: invite links as QR codes (terminal, PNG, SVG).
//! - [`desktop`]: the desktop's handler for `countersign://` links.
//! - [`clock`]: the wall clock.

pub mod api;
pub mod app;
pub mod authority;
pub mod blobs;
pub mod cli;
pub mod client;
pub mod clock;
pub mod codes;
pub mod datadir;
pub mod desktop;
pub mod directory;
pub mod documents;
pub mod drafts;
pub mod envelopes;
pub mod error;
pub mod fields;
pub mod handle;
pub mod net;
pub mod notify;
pub mod party;
pub mod qr;
pub mod running;
pub mod settings;
pub mod templates;
pub mod web;

pub use error::NodeError;
