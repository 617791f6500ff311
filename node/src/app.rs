//! The node's application: one task owns the node's envelopes, its
//! notifications and its one-time codes, answers [`crate::handle::NodeHandle`]'s
//! requests, and decides what to sync with whom; the network ([`crate::net`])
//! only carries the messages.
//!
//! Sync: when an envelope changes here (an act, or entries from a peer), the
//! application runs an Automerge sync round with every other party of it; when
//! a party connects, every envelope shared with it is synced; parties that
//! cannot be reached are retried with backoff. Blobs an envelope needs are
//! fetched in one stream each from a party that has them and checked by hash.
//!
//! # Layout
//! - this file: the task's state, its inputs, retries and re-syncs;
//! - [`requests`]: the shapes of what the node is asked and answers;
//! - `command`: the handle's requests to the task;
//! - `acts`: the answers to them (create, join, sign, …);
//! - `replication`: sync rounds and who may see an envelope;
//! - `fetch`: fetching and serving blobs.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use automerge::sync;
use countersign_shared::hash::{EnvelopeId, Hash};
use countersign_shared::invite::{Invitation, InvitationLink, ShortInvitation};
use countersign_shared::keys::PublicKey;
use countersign_shared::log::RawEntry;
use countersign_shared::model::{Contact, FieldKind, Terms};
use tokio::sync::broadcast;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::NodeError;
use crate::app::command::{Command, Reply};
use crate::app::requests::{CreateRequest, Created, InviteOut, NodeInfo, PartyInput, SignRequest, Transfer};
use crate::blobs::BlobStore as _;
use crate::clock::now_ms;
use crate::codes::{Codes, Gate};
use crate::envelopes::Envelopes;
use crate::net::protocol::{CodeAnswer, Request, Response};
use crate::net::{NetEvent, Network, Responder, Tag, Unanswered};
use crate::notify::Notifier;
use crate::party::SignInput;

mod acts;
pub(crate) mod command;
mod fetch;
mod lookup;
mod replication;
pub mod requests;
mod settings;
mod team;

/// The verifier named in certificates when the sender names none.
pub const DEFAULT_VERIFIER: &str = "https://verify.countersign.app";
/// The largest blob a node accepts from a peer.
pub const MAX_BLOB: u64 = 256 * 1024 * 1024;
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Retrying a party that cannot be reached: at least every few seconds for
/// a while (a partition that heals is noticed at once), then every minute.
const SHORT_BACKOFF: Duration = Duration::from_secs(2);
const LONG_BACKOFF: Duration = Duration::from_secs(60);
const SHORT_BACKOFF_FOR: Duration = Duration::from_secs(10 * 60);
/// Sync rounds in flight with one party at once; more wait their turn (a
/// node never asks more than the other's request limit takes).
const ROUNDS_IN_FLIGHT: usize = 16;

/// How long downloads wait after this node could not store one (a full
/// disk) before they are tried again.
const PAUSE_DOWNLOADS: Duration = Duration::from_secs(5);

/// A blob being downloaded (by a task of its own; see `fetch`).
#[derive(Debug)]
struct Fetch {
    envelope: EnvelopeId,
    /// The length the log names.
    total: u64,
    /// Bytes stored so far, as the download task goes.
    received: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The party being asked.
    source: Option<PublicKey>,
    /// Parties asked that did not have it.
    tried: HashSet<PublicKey>,
}

/// A download stopped by this node's own trouble (a full disk).
#[derive(Debug)]
struct Stalled {
    envelope: EnvelopeId,
    received: u64,
    total: u64,
    problem: String,
}

#[derive(Debug)]
struct PendingJoin {
    invitation: Invitation,
    /// The one-time code the person gave, if the inviter asked for one.
    code: Option<u32>,
    replies: Vec<Reply<String>>,
    deadline: Instant,
    /// Handed over by a colleague's node (see `team`): taken only for a slot
    /// that is this node's person's.
    offered: bool,
}

/// A join from a short link, waiting for the inviter to say what it opens.
#[derive(Debug)]
struct PendingLookup {
    short: ShortInvitation,
    code: Option<u32>,
    replies: Vec<Reply<String>>,
    deadline: Instant,
    asking: bool,
}

/// What one of this node's requests to a peer was for.
#[derive(Debug, Clone, Copy)]
enum Asked {
    /// A sync round of an envelope.
    Sync(EnvelopeId),
    /// Which envelope the short invitation with this invite key opens.
    Lookup(PublicKey),
    /// Joining the company directory with a colleague link.
    Colleague,
    /// News of members, to a member.
    Members,
    /// An invitation handed to a colleague's node.
    Offer,
}

/// When a party that could not be reached is tried again.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    next: Instant,
    delay: Duration,
    failing_since: Instant,
}

/// Ticks (half seconds) between looks for reminders that are due.
const REMIND_EVERY_TICKS: u64 = 20;

/// Options of the application.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppOptions {
    /// Accept [`Command::ImportRaw`] (tests only).
    pub test_tools: bool,
    /// How long invitations work (`None`: two weeks; tests shorten it).
    pub invite_ttl_ms: Option<u64>,
}

/// The application's state.
#[derive(Debug)]
pub struct App {
    net: Network,
    net_events: mpsc::Receiver<NetEvent>,
    envelopes: Envelopes,
    commands: mpsc::Receiver<Command>,
    options: AppOptions,
    sync_states: HashMap<(PublicKey, EnvelopeId), sync::State>,
    syncing: HashMap<(PublicKey, EnvelopeId), bool>,
    /// This node's requests awaiting an answer.
    asked: HashMap<Tag, Asked>,
    next_tag: u64,
    joins: HashMap<EnvelopeId, PendingJoin>,
    /// Joins from short links, by invite key.
    lookups: HashMap<PublicKey, PendingLookup>,
    /// The envelopes this node created, by the invite keys of their
    /// invitations (built at the first lookup, kept up to date by `create`).
    invite_keys: Option<HashMap<PublicKey, EnvelopeId>>,
    fetches: HashMap<Hash, Fetch>,
    /// Envelopes whose entries from peers arrived but could not be saved (a
    /// full disk): saved again on each tick, and acted on once they are.
    unsaved: HashSet<EnvelopeId>,
    /// Set when a peer's act is dated ahead of this computer's clock.
    clock_warning: Option<String>,
    /// Set when a download could not be stored here: none starts before then.
    downloads_paused_until: Option<Instant>,
    /// Downloads this node could not store, and why (until one is stored).
    stalled: HashMap<Hash, Stalled>,
    /// Where the network listens (told to the other parties).
    addresses: Vec<String>,
    /// Parties' nodes connected now.
    connected: HashSet<PublicKey>,
    backoff: HashMap<PublicKey, Backoff>,
    /// Sync rounds owed: (party, envelope) pairs not known to agree. Each is
    /// synced whenever its party is due, until a round ends with nothing
    /// left to say; a round that failed stays owed.
    owed: HashSet<(PublicKey, EnvelopeId)>,
    /// Per party: envelopes whose round waits for one of the
    /// [`ROUNDS_IN_FLIGHT`] slots (first come, first served).
    waiting: HashMap<PublicKey, std::collections::VecDeque<EnvelopeId>>,
    /// Per party: sync rounds in flight.
    in_flight: HashMap<PublicKey, usize>,
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
    /// on a blocking thread.
    sealing: HashSet<EnvelopeId>,
    /// Envelopes that changed while their step was being rendered (a render
    /// that failed for want of what then arrived is started again).
    seal_again: HashSet<EnvelopeId>,
    /// Completed envelopes whose final PDF is being rendered for the email
    /// that tells this node's person.
    completing: HashSet<EnvelopeId>,
    /// Blobs being served (see [`fetch::SERVING_AT_ONCE`]).
    serving: std::sync::Arc<tokio::sync::Semaphore>,
    /// Blob streams whose ask is being read (see [`fetch::ASKS_AT_ONCE`]).
    asks_read: std::sync::Arc<tokio::sync::Semaphore>,
    /// Per party: blob streams whose ask is being read.
    asking: HashMap<PublicKey, usize>,
    /// Per party: blobs being served to it.
    serving_to: HashMap<PublicKey, usize>,
    /// The parties of every envelope held here (`None`: gather again).
    parties: Option<HashSet<PublicKey>>,
    /// The company directory.
    directory: crate::directory::Directory,
    /// Joins of the company directory waiting for the colleague's node, by colleague.
    team_joins: HashMap<PublicKey, team::PendingTeamJoin>,
    /// Colleagues are to hear this node's card (its addresses changed).
    greet_due: bool,
    /// Work done on blocking threads comes back here.
    done_tx: mpsc::Sender<Done>,
    done: mpsc::Receiver<Done>,
}

/// Work done off the task, back with its result.
#[derive(Debug)]
enum Done {
    /// A step rendered for its PDF signature.
    Sealed { envelope: EnvelopeId, slot: countersign_shared::model::Slot, message: Result<Vec<u8>, crate::party::PartyError> },
    /// A final PDF rendered for the completion email (`None`: it cannot be made).
    Completed { envelope: EnvelopeId, pdf: Option<Vec<u8>> },
    /// A download from a party ended.
    Downloaded { hash: Hash, peer: PublicKey, outcome: fetch::Downloaded },
    /// A party's node opened a blob stream and said what it wants (`None`:
    /// it did not, in time); `reading` is the permit its reading held.
    BlobAsked {
        from: PublicKey,
        ask: Option<crate::net::blob_stream::BlobAsk>,
        stream: crate::net::blob_stream::BlobStream,
        reading: tokio::sync::OwnedSemaphorePermit,
    },
    /// A blob served to a party is done.
    Served { to: PublicKey },
}

/// What the application's parts are: the network it talks through, the
/// store, the notifier and codes, and where changes are announced.
#[derive(Debug)]
pub struct Parts {
    /// The network's handle.
    pub net: Network,
    /// The network's events.
    pub net_events: mpsc::Receiver<NetEvent>,
    /// The node's envelopes.
    pub envelopes: Envelopes,
    /// Queues emails and texts.
    pub notifier: Notifier,
    /// One-time codes.
    pub codes: Codes,
    /// Announces changed envelopes.
    pub changes: broadcast::Sender<EnvelopeId>,
    /// The company directory.
    pub directory: crate::directory::Directory,
}

fn internal(e: impl std::fmt::Display) -> NodeError {
    NodeError::internal(e.to_string())
}

impl App {
    /// The application over `parts`, taking the handle's requests from `commands`.
    pub(crate) fn new(parts: Parts, commands: mpsc::Receiver<Command>, options: AppOptions) -> Self {
        let Parts { net, net_events, envelopes, notifier, codes, changes, directory } = parts;
        let (done_tx, done) = mpsc::channel(64);
        let mut envelopes = envelopes;
        if let Some(ttl) = options.invite_ttl_ms {
            envelopes.party_mut().set_invite_ttl(ttl);
        }
        App {
            net,
            net_events,
            envelopes,
            commands,
            options,
            sync_states: HashMap::new(),
            syncing: HashMap::new(),
            asked: HashMap::new(),
            next_tag: 0,
            joins: HashMap::new(),
            lookups: HashMap::new(),
            invite_keys: None,
            fetches: HashMap::new(),
            downloads_paused_until: None,
            clock_warning: None,
            unsaved: HashSet::new(),
            stalled: HashMap::new(),
            addresses: Vec::new(),
            connected: HashSet::new(),
            backoff: HashMap::new(),
            owed: HashSet::new(),
            waiting: HashMap::new(),
            in_flight: HashMap::new(),
            active: HashMap::new(),
            ticks: 0,
            proofs: HashMap::new(),
            notifier,
            codes,
            changes,
            sealing: HashSet::new(),
            seal_again: HashSet::new(),
            completing: HashSet::new(),
            serving: std::sync::Arc::new(tokio::sync::Semaphore::new(fetch::SERVING_AT_ONCE)),
            asks_read: std::sync::Arc::new(tokio::sync::Semaphore::new(fetch::ASKS_AT_ONCE)),
            asking: HashMap::new(),
            serving_to: HashMap::new(),
            parties: None,
            directory,
            team_joins: HashMap::new(),
            greet_due: false,
            done_tx,
            done,
        }
    }

    /// Runs until `cancel` is cancelled, or the handle or the network goes away.
    pub async fn run(mut self, cancel: CancellationToken) {
        // A step signed but not sealed when the node last stopped is sealed now
        // (only envelopes where this node signed are folded for it).
        for envelope in self.envelopes.ids() {
            if self.envelopes.party().may_need_sealing(envelope) {
                self.start_sealing(envelope);
            }
            // Until a round says otherwise, every party may lack something.
            for peer in self.envelopes.peers_of(envelope) {
                if peer != self.me() {
                    self.owed.insert((peer, envelope));
                }
            }
        }
        // Documents found damaged: fetched again from their parties.
        for repair in self.envelopes.take_repairs() {
            for (peer, addresses) in repair.parties {
                self.net.add_addresses(peer, &addresses);
                self.sync_with(peer, repair.envelope);
            }
        }
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                command = self.commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => return,
                },
                event = self.net_events.recv() => match event {
                    Some(event) => self.handle_net_event(event),
                    None => return,
                },
                Some(done) = self.done.recv() => match done {
                    Done::Sealed { envelope, slot, message } => self.finish_sealing(envelope, slot, message),
                    Done::Completed { envelope, pdf } => self.finish_completing(envelope, pdf),
                    Done::Downloaded { hash, peer, outcome } => self.finish_download(hash, peer, outcome),
                    Done::BlobAsked { from, ask, stream, reading } => {
                        drop(reading);
                        self.serve(from, ask, stream);
                    }
                    Done::Served { to } => self.served(to),
                },
                _ = tick.tick() => self.retry(),
            }
        }
    }

    /// Renders this node's step of `envelope` for its PDF signature on a
    /// blocking thread, when it is due and not already under way (a few
    /// milliseconds, some tens for a large document: not on this task).
    pub(super) fn start_sealing(&mut self, envelope: EnvelopeId) {
        if self.sealing.contains(&envelope) {
            // Something changed while a render is under way (an image that
            // arrived, say): look again when it is back.
            self.seal_again.insert(envelope);
            return;
        }
        let Some(job) = self.envelopes.seal_job(envelope) else { return };
        self.sealing.insert(envelope);
        let slot = job.slot();
        let failed =
            crate::party::PartyError::Image(countersign_shared::render::RenderError::Signature("rendering the step failed".into()));
        self.off_task(
            move || {
                let message = job.message();
                Done::Sealed { envelope, slot, message }
            },
            Done::Sealed { envelope, slot, message: Err(failed) },
        );
    }

    /// Signs and stores the step rendered off the task; the seal then goes
    /// out with the rest (and the next step may be due).
    fn finish_sealing(
        &mut self,
        envelope: EnvelopeId,
        slot: countersign_shared::model::Slot,
        message: Result<Vec<u8>, crate::party::PartyError>,
    ) {
        self.sealing.remove(&envelope);
        let look_again = self.seal_again.remove(&envelope);
        if self.envelopes.seal_with(envelope, slot, message) {
            self.changed(envelope, None);
        } else if look_again {
            self.start_sealing(envelope);
        }
    }

    /// Runs `work` on a blocking thread; its result comes back to this task
    /// (`if_panicked` in its place if it panics, so that nothing is left
    /// marked as under way).
    fn off_task(&self, work: impl FnOnce() -> Done + Send + 'static, if_panicked: Done) {
        let done = self.done_tx.clone();
        tokio::spawn(async move {
            let result = tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
                tracing::error!("work off the application's task failed: {e}");
                if_panicked
            });
            let _ = done.send(result).await;
        });
    }

    fn me(&self) -> PublicKey {
        self.envelopes.public_key()
    }

    fn handle_net_event(&mut self, event: NetEvent) {
        match event {
            NetEvent::Listening(address) => {
                self.addresses.push(address);
                // Colleagues hear where this node is, once the addresses settle (next tick).
                self.greet_due = true;
            }
            NetEvent::Connected(peer) => {
                self.backoff.remove(&peer);
                self.connected.insert(peer);
                self.on_connected(peer);
            }
            NetEvent::Disconnected(peer) => {
                self.connected.remove(&peer);
                self.sync_states.retain(|(p, _), _| *p != peer);
                // Whatever changed on either side meanwhile is owed once the
                // party is back: both sides knock, whichever comes first.
                for envelope in self.envelopes.ids() {
                    if self.envelopes.peers_of(envelope).contains(&peer) {
                        self.owed.insert((peer, envelope));
                    }
                }
            }
            NetEvent::Request { from, request, responder } => match request {
                Request::Sync { envelope, invite, code, message } => {
                    self.handle_sync_request(from, envelope, invite, code, &message, responder)
                }
                Request::Lookup { invite_key, proof } => {
                    let answer = self.look_up_invite(from, invite_key, &proof);
                    self.net.respond(responder, answer);
                }
                Request::Colleague { invite_key, proof, card } => {
                    let answer = self.colleague_asks(from, &invite_key, &proof, card);
                    self.net.respond(responder, answer);
                }
                Request::Members(members) => {
                    let answer = self.members_told(from, members);
                    self.net.respond(responder, answer);
                }
                Request::Offer(link) => {
                    let answer = self.offered(from, &link);
                    self.net.respond(responder, answer);
                }
            },
            NetEvent::BlobStream { from, stream } => self.blob_stream_opened(from, stream),
            NetEvent::Answer { tag, peer, answer } => match (self.asked.remove(&tag), answer) {
                (None, _) => {}
                (Some(Asked::Sync(envelope)), Ok(response)) => {
                    self.round_ended(peer);
                    self.backoff.remove(&peer);
                    self.handle_sync_response(peer, envelope, response);
                    self.next_waiting(peer);
                }
                (Some(Asked::Sync(envelope)), Err(Unanswered(error))) => {
                    // Still owed: tried again when the party is due.
                    tracing::debug!(%peer, "sync failed: {error}");
                    self.round_ended(peer);
                    self.syncing.remove(&(peer, envelope));
                    self.sync_states.remove(&(peer, envelope));
                    self.back_off(peer);
                }
                (Some(Asked::Lookup(invite_key)), answer) => self.lookup_answered(peer, invite_key, answer),
                (Some(Asked::Colleague), answer) => self.team_join_answered(peer, answer),
                (Some(Asked::Members), answer) => self.members_answered(peer, answer),
                (Some(Asked::Offer), answer) => {
                    if let Err(Unanswered(error)) = answer {
                        tracing::debug!(%peer, "a colleague's node did not take its invitation yet: {error}");
                    }
                }
            },
        }
    }

    /// Sends `request` to `peer`, remembering what it was for.
    fn ask(&mut self, peer: PublicKey, request: Request, asked: Asked) {
        let tag = Tag(self.next_tag);
        self.next_tag += 1;
        self.asked.insert(tag, asked);
        self.net.send(peer, request, tag);
    }

    fn on_connected(&mut self, peer: PublicKey) {
        let colleague = self.directory.member(&peer).is_some();
        for envelope in self.envelopes.ids() {
            if colleague {
                self.offer_to_colleagues(envelope, Some(peer));
            }
            if self.envelopes.peers_of(envelope).contains(&peer) {
                self.sync_with(peer, envelope);
                self.fetch_missing(envelope);
            }
        }
    }

    fn back_off(&mut self, peer: PublicKey) {
        let now = Instant::now();
        let backoff = match self.backoff.get(&peer) {
            Some(last) if last.next > now => return, // failures of rounds sent together count once
            Some(last) => {
                let cap = if now.duration_since(last.failing_since) < SHORT_BACKOFF_FOR { SHORT_BACKOFF } else { LONG_BACKOFF };
                let delay = (last.delay * 2).min(cap);
                Backoff { next: now + delay, delay, failing_since: last.failing_since }
            }
            None => Backoff { next: now + Duration::from_millis(500), delay: Duration::from_millis(500), failing_since: now },
        };
        self.backoff.insert(peer, backoff);
    }

    /// One round with `peer` is over (answered or failed): a slot is free.
    fn round_ended(&mut self, peer: PublicKey) {
        if let Some(count) = self.in_flight.get_mut(&peer) {
            *count = count.saturating_sub(1);
        }
    }

    /// Starts waiting rounds with `peer` while slots are free.
    fn next_waiting(&mut self, peer: PublicKey) {
        while self.in_flight.get(&peer).copied().unwrap_or(0) < ROUNDS_IN_FLIGHT {
            let Some(envelope) = self.waiting.get_mut(&peer).and_then(std::collections::VecDeque::pop_front) else { return };
            self.sync_with(peer, envelope);
        }
    }

    /// Retries parties that could not be reached, and joins that did not finish.
    fn retry(&mut self) {
        self.envelopes.persist_verified();
        let unsaved: Vec<EnvelopeId> = self.unsaved.iter().copied().collect();
        for envelope in unsaved {
            if self.envelopes.save(envelope).is_ok() {
                self.unsaved.remove(&envelope);
                self.changed(envelope, None);
            }
        }
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
        self.retry_lookups(now);
        self.retry_team_joins(now);
        if std::mem::take(&mut self.greet_due) {
            self.greet_colleagues();
        }
        let joins: Vec<(PublicKey, EnvelopeId)> = self.joins.iter().map(|(e, j)| (j.invitation.inviter, *e)).collect();
        for (peer, envelope) in joins {
            if self.due(&peer, now) {
                self.sync_with(peer, envelope);
            }
        }
        // Every round still owed, with each party that is due (first the
        // addresses of a party not connected, which may have changed).
        let owed: Vec<(PublicKey, EnvelopeId)> = self
            .owed
            .iter()
            .copied()
            .filter(|(peer, envelope)| self.due(peer, now) && !self.syncing.contains_key(&(*peer, *envelope)))
            .collect();
        for (peer, envelope) in owed {
            if !self.connected.contains(&peer) {
                self.learn_addresses(envelope);
            }
            self.sync_with(peer, envelope);
        }
        for envelope in self.envelopes.ids() {
            if self.fetches.values().all(|f| f.envelope != envelope) {
                self.fetch_missing(envelope);
            }
        }
        self.start_waiting_downloads();
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
            if due && let Some(next) = self.envelopes.summary(envelope).map(|s| s.next_slots) {
                // A link that ran out is made anew before it is sent again.
                self.renew_invites(envelope, &next);
                if let Some(summary) = self.envelopes.summary(envelope) {
                    self.notifier.remind_if_due(&summary);
                }
            }
        }
    }

    /// On the sender's node: the parties whose turn has come and who were not
    /// told yet are invited, or told it is their turn. (File dates only,
    /// until someone is owed a message.)
    fn tell_turns(&mut self, envelope: EnvelopeId) {
        let me = self.me();
        let owed = self.envelopes.party().state_ref(envelope).is_ok_and(|state| match state.status() {
            countersign_shared::state::Status::Awaiting { slots } => {
                state.creator() == me && self.notifier.turn_untold(&envelope.to_string(), &slots)
            }
            _ => false,
        });
        if let Some(summary) = owed.then(|| self.envelopes.summary(envelope)).flatten() {
            // A colleague's document is on their board: told so, with no link.
            let colleagues: Vec<u8> = self.colleague_slots(envelope).into_iter().map(|(slot, _)| slot).collect();
            let mut invites = self.renew_invites(envelope, &summary.next_slots);
            invites.retain(|invite| !colleagues.contains(&invite.slot));
            self.notifier.tell_turns(&summary, &invites);
        }
    }

    /// The invitations kept for `envelope`, those of `slots` made anew first
    /// when they ran out (or nearly) before their party's turn came: a
    /// client invited when the company has signed may be invited weeks
    /// after the envelope was made.
    fn renew_invites(&mut self, envelope: EnvelopeId, slots: &[u8]) -> Vec<InviteOut> {
        let mut invites = self.envelopes.kept_invites(envelope);
        let Some(state) = self.envelopes.state(envelope) else { return invites };
        let (now, ttl) = (now_ms(), self.envelopes.party().invite_ttl());
        let verifier = state.terms().verifier_url.clone();
        let mut renewed = false;
        for slot in slots.iter().filter(|slot| state.binding(**slot).is_none()) {
            let Some(invite) = invites.iter_mut().find(|i| i.slot == *slot) else { continue };
            let expires = Invitation::parse(&invite.link).map_or(0, |i| i.expires_at);
            if expires > now.saturating_add(ttl / 5) {
                continue;
            }
            let made = self.envelopes.party_mut().reinvite(envelope, *slot).map_err(NodeError::from).and_then(|(mut invitation, entry)| {
                self.envelopes.record(envelope, std::slice::from_ref(&entry))?;
                invitation.addresses = self.addresses.clone();
                Ok(invitation)
            });
            match made {
                Ok(invitation) => {
                    if let Some(index) = &mut self.invite_keys {
                        index.insert(invitation.invite_key(), envelope);
                    }
                    invite.link = invitation.to_web_link(&verifier);
                    renewed = true;
                }
                Err(e) => tracing::warn!("the invitation of party {slot} of {envelope} ran out and cannot be made anew: {e}"),
            }
        }
        if renewed {
            if let Err(e) = self.envelopes.keep_invites(envelope, &invites) {
                tracing::warn!("the renewed invitations of {envelope} cannot be kept: {e}");
            }
            for peer in self.envelopes.peers_of(envelope) {
                self.sync_with(peer, envelope);
            }
        }
        invites
    }

    /// Tells this node's person about a completed, declined or voided envelope (once).
    pub(super) fn notice(&mut self, envelope: EnvelopeId) {
        // Called on every change (nobody listening is no error).
        let _ = self.changes.send(envelope);
        self.parties = None;
        self.tell_turns(envelope);
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
        if !self.notifier.wants_final_pdf(&summary) {
            self.notifier.observe(&summary, || None);
            return;
        }
        // The email carries the final PDF: rendered off the task, once.
        let Ok(job) = self.envelopes.party().final_pdf_job(envelope) else { return };
        if self.completing.insert(envelope) {
            self.off_task(move || Done::Completed { envelope, pdf: job.render().ok() }, Done::Completed { envelope, pdf: None });
        }
    }

    /// Queues the completion email with the final PDF rendered off the task.
    fn finish_completing(&mut self, envelope: EnvelopeId, pdf: Option<Vec<u8>>) {
        self.completing.remove(&envelope);
        if let Some(summary) = self.envelopes.summary(envelope) {
            self.notifier.observe(&summary, || pdf);
        }
    }

    /// Runs a fresh sync round (new sync state) with every party of each
    /// envelope that changed in the last minute, so a message lost on the way
    /// is made good within seconds.
    fn resync_active(&mut self, now: Instant) {
        self.active.retain(|_, at| now.duration_since(*at) < Duration::from_secs(60));
        let envelopes: Vec<EnvelopeId> = self.active.keys().copied().collect();
        for envelope in envelopes {
            for peer in self.envelopes.peers_of(envelope) {
                if self.syncing.contains_key(&(peer, envelope)) || !self.due(&peer, now) {
                    continue;
                }
                self.sync_states.remove(&(peer, envelope));
                self.sync_with(peer, envelope);
            }
        }
    }

    fn due(&self, peer: &PublicKey, now: Instant) -> bool {
        self.backoff.get(peer).is_none_or(|b| b.next <= now)
    }
}

fn unknown(envelope: &EnvelopeId) -> NodeError {
    NodeError::not_found(format!("this node has no envelope {envelope}"))
}
