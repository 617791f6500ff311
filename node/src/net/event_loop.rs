//! The event loop: one task owns the swarm and the node's envelopes; the API
//! talks to it through [`Command`]s (the rust-libp2p file-sharing pattern).
//!
//! Sync: when an envelope changes here (an act, or entries from a peer), the
//! loop runs an Automerge sync round with every other party of it; when a
//! party connects, every envelope shared with it is synced; parties that
//! cannot be reached are retried with backoff. Blobs an envelope needs are
//! fetched chunk by chunk from a party that has them and checked by hash.
//!
//! # Layout
//! - this file: the loop's state, swarm events, retries and re-syncs;
//! - `commands`: answers to the API's commands;
//! - `replication`: sync rounds and who may see an envelope;
//! - `fetch`: fetching and serving blobs.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use automerge::sync;
use countersign_shared::hash::{EnvelopeId, Hash};
use countersign_shared::invite::Invitation;
use countersign_shared::keys::PublicKey;
use countersign_shared::log::RawEntry;
use countersign_shared::model::{Contact, FieldKind, Party as PartyTerms, Role, Terms};
use countersign_shared::source::{self, PdfError};
use futures::StreamExt as _;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, identify, mdns};
use tokio::sync::broadcast;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::NodeError;
use crate::blobs::{BlobStore as _, ChunkOutcome};
use crate::clock::now_ms;
use crate::codes::{Codes, Gate};
use crate::envelopes::Envelopes;
use crate::fields::default_fields;
use crate::net::behaviour::{Behaviour, BehaviourEvent, party_key, peer_id};
use crate::net::command::{Command, CreateRequest, Created, InviteOut, NodeInfo, Reply, SignRequest, Transfer};
use crate::net::protocol::{CHUNK, CodeAnswer, Request, Response};
use crate::notify::Notifier;
use crate::party::SignInput;

mod commands;
mod fetch;
mod replication;

/// The verifier named in certificates when the sender names none.
pub const DEFAULT_VERIFIER: &str = "https://verify.countersign.app";
/// The largest blob a node accepts from a peer.
pub const MAX_BLOB: u64 = 256 * 1024 * 1024;
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Chunk requests kept in flight per blob.
const WINDOW: usize = 8;

#[derive(Debug)]
struct Fetch {
    envelope: EnvelopeId,
    total: Option<u64>,
    /// Bytes stored so far (in order).
    received: u64,
    /// The next offset to request.
    next: u64,
    /// Requests in flight.
    in_flight: usize,
    /// Chunks that arrived ahead of their turn.
    ahead: std::collections::BTreeMap<u64, Vec<u8>>,
    /// The peer being asked.
    source: Option<PeerId>,
    /// Peers asked that did not have it.
    tried: HashSet<PeerId>,
    /// The hash of what is stored so far.
    digest: crate::blobs::Digest,
}

#[derive(Debug)]
struct PendingJoin {
    invitation: Invitation,
    /// The one-time code the person gave, if the inviter asked for one.
    code: Option<u32>,
    replies: Vec<Reply<String>>,
    deadline: Instant,
}

/// Ticks (half seconds) between looks for reminders that are due.
const REMIND_EVERY_TICKS: u64 = 20;

/// Options of a running node.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Accept [`Command::ImportRaw`] (tests only).
    pub test_tools: bool,
    /// A relay to listen through (`/…/p2p/<relay id>`), once connected to it.
    pub relay: Option<Multiaddr>,
}

/// The loop's state.
pub struct EventLoop {
    swarm: Swarm<Behaviour>,
    envelopes: Envelopes,
    commands: mpsc::Receiver<Command>,
    options: Options,
    sync_states: HashMap<(PeerId, EnvelopeId), sync::State>,
    syncing: HashMap<(PeerId, EnvelopeId), bool>,
    sync_requests: HashMap<OutboundRequestId, (PeerId, EnvelopeId)>,
    joins: HashMap<EnvelopeId, PendingJoin>,
    fetches: HashMap<Hash, Fetch>,
    blob_requests: HashMap<OutboundRequestId, (PeerId, Hash, u64)>,
    listen: Vec<Multiaddr>,
    backoff: HashMap<PeerId, (Instant, Duration)>,
    relayed: bool,
    /// Envelopes that changed lately, with when: re-synced from scratch
    /// every few seconds for a minute (anti-entropy for lost messages).
    active: HashMap<EnvelopeId, Instant>,
    ticks: u64,
    /// Invite proofs of envelopes this node joined, shown with every sync
    /// request until the others know its `Join` (kept on disk across restarts;
    /// `None` once looked up and absent, so the disk is read once per envelope).
    proofs: HashMap<EnvelopeId, Option<(u8, countersign_shared::Signature)>>,
    /// Queues the emails and texts this node sends.
    notifier: Notifier,
    /// One-time codes confirming invited phones (on the sender's node).
    codes: Codes,
    /// Tells whoever listens that an envelope changed (see [`crate::handle::NodeHandle::wait_for`]).
    changes: broadcast::Sender<EnvelopeId>,
    /// Envelopes whose step this node is rendering for its PDF signature,
    /// on a blocking thread; the messages come back on `sealed`.
    sealing: HashSet<EnvelopeId>,
    sealed_tx: mpsc::Sender<Sealed>,
    sealed: mpsc::Receiver<Sealed>,
}

/// A step rendered for its PDF signature, off the loop.
#[derive(Debug)]
struct Sealed {
    envelope: EnvelopeId,
    slot: countersign_shared::model::Slot,
    message: Result<Vec<u8>, crate::party::PartyError>,
}

impl std::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop").field("peer", self.swarm.local_peer_id()).finish_non_exhaustive()
    }
}

fn internal(e: impl std::fmt::Display) -> NodeError {
    NodeError::internal(e.to_string())
}

impl EventLoop {
    /// A loop over `swarm` and `envelopes`, taking commands from `commands`.
    pub fn new(
        swarm: Swarm<Behaviour>,
        envelopes: Envelopes,
        commands: mpsc::Receiver<Command>,
        options: Options,
        notifier: Notifier,
        codes: Codes,
        changes: broadcast::Sender<EnvelopeId>,
    ) -> Self {
        let (sealed_tx, sealed) = mpsc::channel(64);
        EventLoop {
            swarm,
            envelopes,
            commands,
            options,
            sync_states: HashMap::new(),
            syncing: HashMap::new(),
            sync_requests: HashMap::new(),
            joins: HashMap::new(),
            fetches: HashMap::new(),
            blob_requests: HashMap::new(),
            listen: Vec::new(),
            backoff: HashMap::new(),
            relayed: false,
            active: HashMap::new(),
            ticks: 0,
            proofs: HashMap::new(),
            notifier,
            codes,
            changes,
            sealing: HashSet::new(),
            sealed_tx,
            sealed,
        }
    }

    /// Runs until `cancel` is cancelled or the command channel closes.
    pub async fn run(mut self, cancel: CancellationToken) {
        // A step signed but not sealed when the node last stopped is sealed now
        // (only envelopes where this node signed are folded for it).
        for envelope in self.envelopes.ids() {
            if self.envelopes.party().may_need_sealing(envelope) {
                self.start_sealing(envelope);
            }
        }
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                biased;
                () = cancel.cancelled() => return,
                command = self.commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => return,
                },
                Some(sealed) = self.sealed.recv() => self.finish_sealing(sealed),
                event = self.swarm.select_next_some() => self.handle_event(event),
                _ = tick.tick() => self.retry(),
            }
        }
    }

    /// Renders this node's step of `envelope` for its PDF signature on a
    /// blocking thread, when it is due and not already under way (a few
    /// milliseconds, some tens for a large document: not on the loop).
    pub(super) fn start_sealing(&mut self, envelope: EnvelopeId) {
        if self.sealing.contains(&envelope) {
            return;
        }
        let Some(job) = self.envelopes.seal_job(envelope) else { return };
        self.sealing.insert(envelope);
        let done = self.sealed_tx.clone();
        let slot = job.slot();
        tokio::spawn(async move {
            // A render that panicked still comes back, as an error, so the
            // envelope is not left marked as being sealed.
            let message = tokio::task::spawn_blocking(move || job.message()).await.unwrap_or_else(|_| {
                Err(crate::party::PartyError::Image(countersign_shared::render::RenderError::Signature("rendering the step failed".into())))
            });
            let _ = done.send(Sealed { envelope, slot, message }).await;
        });
    }

    /// Signs and stores the step rendered off the loop; the seal then goes
    /// out with the rest (and the next step may be due).
    fn finish_sealing(&mut self, sealed: Sealed) {
        self.sealing.remove(&sealed.envelope);
        if self.envelopes.seal_with(sealed.envelope, sealed.slot, sealed.message) {
            self.changed(sealed.envelope, None);
        }
    }

    fn me(&self) -> PublicKey {
        self.envelopes.public_key()
    }

    fn addresses(&self) -> Vec<String> {
        self.listen.iter().map(ToString::to_string).collect()
    }

    fn handle_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!("listening on {address}");
                self.listen.push(address);
            }
            SwarmEvent::ConnectionEstablished { peer_id: peer, num_established, .. } => {
                self.backoff.remove(&peer);
                self.listen_through_relay(peer);
                if num_established.get() == 1 {
                    self.on_connected(peer);
                }
            }
            SwarmEvent::ConnectionClosed { peer_id: peer, num_established: 0, .. } => {
                self.sync_states.retain(|(p, _), _| *p != peer);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id: peer, info, .. })) => {
                for address in info.listen_addrs {
                    self.swarm.add_peer_address(peer, address);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, address) in found {
                    self.swarm.add_peer_address(peer, address);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => match event {
                request_response::Event::Message { peer, message, .. } => match message {
                    request_response::Message::Request { request, channel, .. } => self.handle_sync_request(peer, request, channel),
                    request_response::Message::Response { request_id, response } => self.handle_sync_response(request_id, response),
                },
                request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                    tracing::debug!(%peer, "sync failed: {error}");
                    if let Some(key) = self.sync_requests.remove(&request_id) {
                        self.syncing.remove(&key);
                        self.sync_states.remove(&key);
                    }
                    self.back_off(peer);
                }
                _ => {}
            },
            SwarmEvent::Behaviour(BehaviourEvent::Blobs(event)) => match event {
                request_response::Event::Message { peer, message, .. } => match message {
                    request_response::Message::Request { request, channel, .. } => self.handle_blob_request(peer, request, channel),
                    request_response::Message::Response { request_id, response } => self.handle_blob_response(request_id, response),
                },
                request_response::Event::OutboundFailure { request_id, .. } => {
                    if let Some((peer, hash, _)) = self.blob_requests.remove(&request_id) {
                        if let Some(fetch) = self.fetches.get_mut(&hash) {
                            fetch.tried.insert(peer);
                        }
                        self.ask_next_source(hash);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// Once connected to the configured relay, reserve a slot on it so
    /// parties behind NAT can reach this node through it.
    fn listen_through_relay(&mut self, peer: PeerId) {
        let Some(relay) = self.options.relay.clone() else { return };
        let relay_peer = relay.iter().find_map(|p| match p {
            libp2p::multiaddr::Protocol::P2p(id) => Some(id),
            _ => None,
        });
        if self.relayed || relay_peer != Some(peer) {
            return;
        }
        match self.swarm.listen_on(relay.with(libp2p::multiaddr::Protocol::P2pCircuit)) {
            Ok(_) => self.relayed = true,
            Err(e) => tracing::warn!("cannot listen through the relay: {e}"),
        }
    }

    fn on_connected(&mut self, peer: PeerId) {
        let Some(key) = party_key(&peer) else { return };
        for envelope in self.envelopes.ids() {
            if self.envelopes.peers_of(envelope).contains(&key) {
                self.sync_with(peer, envelope);
                self.fetch_missing(envelope);
            }
        }
    }

    fn back_off(&mut self, peer: PeerId) {
        let delay = self.backoff.get(&peer).map_or(Duration::from_secs(1), |(_, d)| (*d * 2).min(MAX_BACKOFF));
        self.backoff.insert(peer, (Instant::now() + delay, delay));
    }

    /// Retries parties that could not be reached, and joins that did not finish.
    fn retry(&mut self) {
        self.envelopes.persist_verified();
        let now = Instant::now();
        self.ticks += 1;
        if self.ticks.is_multiple_of(4) {
            self.resync_active(now);
        }
        if self.ticks.is_multiple_of(REMIND_EVERY_TICKS) {
            self.remind_due();
        }
        let expired: Vec<EnvelopeId> = self.joins.iter().filter(|(_, j)| j.deadline < now).map(|(e, _)| *e).collect();
        for envelope in expired {
            self.fail_join(envelope, "the inviter's node could not be reached; make sure it is running, then try again");
        }
        let joins: Vec<(PeerId, EnvelopeId)> =
            self.joins.iter().filter_map(|(e, j)| peer_id(&j.invitation.inviter).map(|p| (p, *e))).collect();
        for (peer, envelope) in joins {
            if self.due(&peer, now) {
                self.sync_with(peer, envelope);
            }
        }
        let connected: HashSet<PeerId> = self.swarm.connected_peers().copied().collect();
        for envelope in self.envelopes.ids() {
            for key in self.envelopes.peers_of(envelope) {
                let Some(peer) = peer_id(&key) else { continue };
                if !connected.contains(&peer) && self.due(&peer, now) {
                    self.learn_addresses(envelope);
                    self.sync_with(peer, envelope);
                }
            }
            if self.fetches.values().all(|f| f.envelope != envelope) {
                self.fetch_missing(envelope);
            }
        }
    }

    /// Automatic reminders for envelopes this node sent that wait on someone.
    /// (A file date per waiting party is all it reads until one is due.)
    fn remind_due(&mut self) {
        let me = self.me();
        for envelope in self.envelopes.ids() {
            let due = self.envelopes.party().state_ref(envelope).is_ok_and(|state| match state.status() {
                countersign_shared::state::Status::Awaiting { slots } => {
                    state.creator() == me && self.notifier.reminder_due(&envelope.to_string(), &slots)
                }
                _ => false,
            });
            if let Some(summary) = due.then(|| self.envelopes.summary(envelope)).flatten() {
                self.notifier.remind_if_due(&summary);
            }
        }
    }

    /// Tells this node's person about a completed, declined or voided envelope (once).
    pub(super) fn notice(&mut self, envelope: EnvelopeId) {
        // Called on every change (nobody listening is no error).
        let _ = self.changes.send(envelope);
        // Only an ended envelope is worth a summary.
        // A completed envelope's final PDF exists once the last step is sealed.
        let ended = self.envelopes.party().state_ref(envelope).is_ok_and(|state| match state.status() {
            countersign_shared::state::Status::Completed => state.unsealed().is_empty(),
            countersign_shared::state::Status::Declined { .. } | countersign_shared::state::Status::Voided { .. } => true,
            _ => false,
        });
        if !ended {
            return;
        }
        let Some(summary) = self.envelopes.summary(envelope) else { return };
        let envelopes = &self.envelopes;
        self.notifier.observe(&summary, || envelopes.party().final_pdf(envelope).ok());
    }

    /// Runs a fresh sync round (new sync state) with every party of each
    /// envelope that changed in the last minute, so a message lost on the way
    /// is made good within seconds.
    fn resync_active(&mut self, now: Instant) {
        self.active.retain(|_, at| now.duration_since(*at) < Duration::from_secs(60));
        let envelopes: Vec<EnvelopeId> = self.active.keys().copied().collect();
        for envelope in envelopes {
            for key in self.envelopes.peers_of(envelope) {
                let Some(peer) = peer_id(&key) else { continue };
                if self.syncing.contains_key(&(peer, envelope)) || !self.due(&peer, now) {
                    continue;
                }
                self.sync_states.remove(&(peer, envelope));
                self.sync_with(peer, envelope);
            }
        }
    }

    fn due(&self, peer: &PeerId, now: Instant) -> bool {
        self.backoff.get(peer).is_none_or(|(at, _)| *at <= now)
    }
}

fn unknown(envelope: &EnvelopeId) -> NodeError {
    NodeError::not_found(format!("this node has no envelope {envelope}"))
}
