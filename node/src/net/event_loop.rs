//! The event loop: one task owns the swarm and the node's envelopes; the API
//! talks to it through [`Command`]s (the rust-libp2p file-sharing pattern).
//!
//! Sync: when an envelope changes here (an act, or entries from a peer), the
//! loop runs an Automerge sync round with every other party of it; when a
//! party connects, every envelope shared with it is synced; parties that
//! cannot be reached are retried with backoff. Blobs an envelope needs are
//! fetched chunk by chunk from a party that has them and checked by hash.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use automerge::sync;
use countersign_shared::hash::{EnvelopeId, Hash};
use countersign_shared::invite::Invitation;
use countersign_shared::keys::PublicKey;
use countersign_shared::log::RawEntry;
use countersign_shared::model::{Contact, Party as PartyTerms, Role, Terms};
use countersign_shared::render;
use futures::StreamExt as _;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, identify, mdns};
use tokio::sync::mpsc;

use crate::api::error::{ApiError, ErrorKind};
use crate::blobs::{BlobStore as _, ChunkOutcome};
use crate::clock::now_ms;
use crate::envelopes::Envelopes;
use crate::fields::default_fields;
use crate::net::behaviour::{Behaviour, BehaviourEvent, party_key, peer_id};
use crate::net::command::{Command, CreateRequest, Created, InviteOut, NodeInfo, Reply, SignRequest, Transfer};
use crate::net::protocol::{CHUNK, Request, Response};
use crate::party::SignInput;

/// The verifier named in certificates when the sender names none.
pub const DEFAULT_VERIFIER: &str = "https://verify.countersign.app";
/// The largest blob a node accepts from a peer.
pub const MAX_BLOB: u64 = 256 * 1024 * 1024;
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Chunk requests kept in flight per blob.
const WINDOW: usize = 4;

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
}

#[derive(Debug)]
struct PendingJoin {
    invitation: Invitation,
    replies: Vec<Reply<String>>,
    deadline: Instant,
}

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
    /// request until the others know its `Join` (kept on disk across restarts).
    proofs: HashMap<EnvelopeId, (u8, countersign_shared::Signature)>,
}

impl std::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop").field("peer", self.swarm.local_peer_id()).finish_non_exhaustive()
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorKind::Internal, e.to_string())
}

impl EventLoop {
    /// A loop over `swarm` and `envelopes`, taking commands from `commands`.
    pub fn new(swarm: Swarm<Behaviour>, envelopes: Envelopes, commands: mpsc::Receiver<Command>, options: Options) -> Self {
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
        }
    }

    /// Runs until the command channel closes.
    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => return,
                },
                event = self.swarm.select_next_some() => self.handle_event(event),
                _ = tick.tick() => self.retry(),
            }
        }
    }

    fn me(&self) -> PublicKey {
        self.envelopes.public_key()
    }

    fn addresses(&self) -> Vec<String> {
        self.listen.iter().map(ToString::to_string).collect()
    }

    // ---- commands -------------------------------------------------------

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::Info(reply) => {
                let me = self.me();
                let info = NodeInfo {
                    peer_id: self.swarm.local_peer_id().to_string(),
                    key: me.to_string(),
                    fingerprint: me.fingerprint(),
                    name: self.envelopes.party().name().to_owned(),
                    addresses: self.addresses(),
                };
                let _ = reply.send(Ok(info));
            }
            Command::PutBlob(bytes, reply) => {
                let _ = reply.send(self.envelopes.party_mut().blobs_mut().put(&bytes).map_err(internal));
            }
            Command::Create(request, reply) => {
                let _ = reply.send(self.create(*request));
            }
            Command::Join(link, reply) => self.join(&link, reply),
            Command::Sign(envelope, request, reply) => {
                let _ = reply.send(self.sign(envelope, &request));
            }
            Command::Decline(envelope, reason, reply) => {
                let result = self.envelopes.party_mut().decline(envelope, &reason).map_err(ApiError::from);
                let _ = reply.send(result.and_then(|entry| self.after_act(envelope, entry)));
            }
            Command::List(reply) => {
                let mut list: Vec<_> = self.envelopes.ids().into_iter().filter_map(|id| self.envelopes.summary(id)).collect();
                list.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
                let _ = reply.send(Ok(list));
            }
            Command::Status(envelope, reply) => {
                let summary = self.envelopes.summary(envelope).ok_or_else(|| unknown(&envelope));
                let _ = reply.send(summary);
            }
            Command::Export(envelope, reply) => {
                let result = if self.envelopes.state(envelope).is_none() {
                    Err(unknown(&envelope))
                } else {
                    self.envelopes.party().final_pdf(envelope).map_err(ApiError::from)
                };
                let _ = reply.send(result);
            }
            Command::Transfers(reply) => {
                let transfers = self
                    .fetches
                    .iter()
                    .map(|(hash, f)| Transfer {
                        envelope: f.envelope.to_string(),
                        hash: hash.to_string(),
                        received: f.received,
                        total: f.total,
                    })
                    .collect();
                let _ = reply.send(Ok(transfers));
            }
            Command::ImportRaw(envelope, bytes, reply) => {
                let _ = reply.send(self.import_raw(envelope, &bytes));
            }
        }
    }

    fn create(&mut self, request: CreateRequest) -> Result<Created, ApiError> {
        let pdf = self
            .envelopes
            .disk()
            .get(&request.document)
            .ok_or_else(|| ApiError::invalid("the PDF has not been uploaded to this node; upload it first"))?;
        let info = render::inspect(&pdf).map_err(|e| ApiError::invalid(e.to_string()))?;
        let mut parties = Vec::with_capacity(request.parties.len());
        for input in &request.parties {
            let role = match input.role.as_str() {
                "company_signer" | "signer" => Role::CompanySigner,
                "client" => Role::Client,
                "viewer" => Role::Viewer,
                other => return Err(ApiError::invalid(format!("unknown role '{other}' for {}", input.name))),
            };
            let contact = Contact::parse(&input.contact).map_err(|e| ApiError::invalid(format!("{}: {e}", input.name)))?;
            let order = input.order.unwrap_or(if role == Role::Client { 2 } else { 1 });
            let stamp_required = input.stamp_required.unwrap_or(false);
            parties.push(PartyTerms { name: input.name.trim().to_owned(), role, contact, order, stamp_required });
        }
        let fields = match &request.fields {
            Some(fields) => fields.iter().map(|f| f.to_field(&request.parties)).collect::<Result<Vec<_>, _>>()?,
            None => default_fields(&parties, &info.pages),
        };
        let terms = Terms {
            title: request.title.trim().to_owned(),
            document: countersign_shared::model::DocumentRef { hash: request.document, len: 0, pages: 0 },
            parties: parties.clone(),
            fields,
            verifier_url: request.verifier_url.clone().unwrap_or_else(|| DEFAULT_VERIFIER.to_owned()),
        };
        let (envelope, invitations) = self.envelopes.party_mut().create(&pdf, terms)?;
        let entries: Vec<RawEntry> =
            self.envelopes.state(envelope).map(|s| s.valid().iter().map(|v| v.raw().clone()).collect()).unwrap_or_default();
        let me = self.me();
        let addresses = self.addresses();
        self.envelopes.doc_mut(envelope).set_addresses(&me, &addresses).map_err(internal)?;
        self.envelopes.record(envelope, &entries)?;
        let invites = invitations
            .into_iter()
            .map(|mut invitation| {
                invitation.addresses = addresses.clone();
                let party = &parties[usize::from(invitation.slot)];
                InviteOut {
                    slot: invitation.slot,
                    name: party.name.clone(),
                    contact: party.contact.to_string(),
                    link: invitation.to_link(),
                }
            })
            .collect();
        Ok(Created { envelope: envelope.to_string(), invites })
    }

    fn join(&mut self, link: &str, reply: Reply<String>) {
        let invitation = match Invitation::parse(link) {
            Ok(invitation) => invitation,
            Err(e) => {
                let _ = reply.send(Err(ApiError::invalid(format!("this is not a valid invitation link: {e}"))));
                return;
            }
        };
        if now_ms() > invitation.expires_at {
            let when = countersign_shared::time::utc(invitation.expires_at);
            let _ = reply
                .send(Err(ApiError::new(ErrorKind::Refused, format!("this invitation expired on {when}; ask the sender for a new one"))));
            return;
        }
        let envelope = invitation.envelope;
        if let Some(state) = self.envelopes.state(envelope)
            && state.binding(invitation.slot) == Some(self.me())
        {
            let _ = reply.send(Ok(envelope.to_string()));
            return;
        }
        let Some(inviter) = peer_id(&invitation.inviter) else {
            let _ = reply.send(Err(ApiError::invalid("the invitation names an invalid inviter")));
            return;
        };
        for address in invitation.addresses.iter().filter_map(|a| a.parse::<Multiaddr>().ok()) {
            self.swarm.add_peer_address(inviter, address);
        }
        let pending = self.joins.entry(envelope).or_insert_with(|| PendingJoin {
            invitation: invitation.clone(),
            replies: Vec::new(),
            deadline: Instant::now() + JOIN_TIMEOUT,
        });
        pending.replies.push(reply);
        self.sync_with(inviter, envelope);
    }

    fn sign(&mut self, envelope: EnvelopeId, request: &SignRequest) -> Result<String, ApiError> {
        let state = self.envelopes.state(envelope).ok_or_else(|| unknown(&envelope))?;
        let slot = self.envelopes.party().my_slot(&state)?;
        let mut input = SignInput { texts: request.texts.clone(), images: Vec::new() };
        for (_, field) in state.terms().fields_of(slot) {
            let hash = match crate::net::command::image_kind(field.kind) {
                Some("signature") => request.signature,
                Some(_) => request.stamp,
                None => continue,
            };
            if let Some(hash) = hash {
                let bytes = self.envelopes.disk().get(&hash).ok_or_else(|| ApiError::invalid("upload the image to this node first"))?;
                input.images.push((field.label.clone(), bytes));
            }
        }
        let entry = self.envelopes.party_mut().sign(envelope, &input)?;
        self.after_act(envelope, entry)
    }

    fn after_act(&mut self, envelope: EnvelopeId, entry: RawEntry) -> Result<String, ApiError> {
        let me = self.me();
        let addresses = self.addresses();
        self.envelopes.doc_mut(envelope).set_addresses(&me, &addresses).map_err(internal)?;
        self.envelopes.record(envelope, std::slice::from_ref(&entry))?;
        self.changed(envelope, None);
        Ok(entry.id().to_string())
    }

    fn import_raw(&mut self, envelope: EnvelopeId, bytes: &[u8]) -> Result<String, ApiError> {
        if !self.options.test_tools {
            return Err(ApiError::new(ErrorKind::Forbidden, "raw import is a test tool; start the node with --test-tools"));
        }
        let entry = RawEntry::decode(bytes).map_err(|e| ApiError::invalid(e.to_string()))?;
        self.envelopes.doc_mut(envelope).add_entry(&entry).map_err(internal)?;
        self.envelopes.absorb(envelope)?;
        self.changed(envelope, None);
        Ok(entry.id().to_string())
    }

    // ---- sync -----------------------------------------------------------

    /// Something changed in `envelope`: tell every other party, fetch what is missing.
    fn changed(&mut self, envelope: EnvelopeId, except: Option<PeerId>) {
        self.active.insert(envelope, Instant::now());
        self.learn_addresses(envelope);
        for key in self.envelopes.peers_of(envelope) {
            if let Some(peer) = peer_id(&key)
                && Some(peer) != except
            {
                self.sync_with(peer, envelope);
            }
        }
        self.fetch_missing(envelope);
    }

    fn learn_addresses(&mut self, envelope: EnvelopeId) {
        let me = self.me();
        for (key, addresses) in self.envelopes.doc_mut(envelope).addresses() {
            if key == me {
                continue;
            }
            if let Some(peer) = peer_id(&key) {
                for address in addresses.iter().filter_map(|a| a.parse::<Multiaddr>().ok()) {
                    self.swarm.add_peer_address(peer, address);
                }
            }
        }
    }

    fn sync_with(&mut self, peer: PeerId, envelope: EnvelopeId) {
        if peer == *self.swarm.local_peer_id() {
            return;
        }
        let key = (peer, envelope);
        if let Some(again) = self.syncing.get_mut(&key) {
            *again = true;
            return;
        }
        let me = self.me();
        let invite = self
            .joins
            .get(&envelope)
            .map(|j| (j.invitation.slot, j.invitation.prove(&me)))
            .or_else(|| self.proofs.get(&envelope).copied())
            .or_else(|| self.envelopes.invite_proof(envelope));
        let state = self.sync_states.entry(key).or_default();
        let message = self.envelopes.doc_mut(envelope).sync_message(state);
        // Nothing to say ends the round; only a join in progress knocks anyway.
        if message.is_none() && !self.joins.contains_key(&envelope) {
            return;
        }
        let request = Request::Sync { envelope, invite, message: message.unwrap_or_default() };
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
        self.sync_requests.insert(id, key);
        self.syncing.insert(key, false);
    }

    fn handle_sync_request(&mut self, peer: PeerId, request: Request, channel: request_response::ResponseChannel<Response>) {
        let Request::Sync { envelope, invite, message } = request else {
            let _ = self.swarm.behaviour_mut().sync.send_response(channel, Response::Unknown);
            return;
        };
        if !self.may_see(&peer, envelope, invite) {
            let _ = self.swarm.behaviour_mut().sync.send_response(channel, Response::Unknown);
            return;
        }
        let state = self.sync_states.entry((peer, envelope)).or_default();
        let doc = self.envelopes.doc_mut(envelope);
        if !message.is_empty()
            && let Err(e) = doc.receive_sync(state, &message)
        {
            tracing::warn!(%peer, "cutting off a peer that sent a bad sync message: {e}");
            let _ = self.swarm.disconnect_peer_id(peer);
            return;
        }
        let reply = doc.sync_message(state);
        // The reply travels in this response; the peer answers by its next
        // request, if ever. Not waiting for that lets this node start a round
        // of its own when something changes here.
        state.in_flight = false;
        let _ = self.swarm.behaviour_mut().sync.send_response(channel, Response::Sync(reply));
        match self.envelopes.absorb(envelope) {
            Ok(0) => {}
            Ok(_) => self.changed(envelope, Some(peer)),
            Err(e) => tracing::error!("cannot save envelope {}: {e}", envelope.short()),
        }
    }

    /// Whether `peer` may see `envelope`: a party of it, or holding a valid invite.
    fn may_see(&self, peer: &PeerId, envelope: EnvelopeId, invite: Option<(u8, countersign_shared::Signature)>) -> bool {
        let (Some(key), Some(state)) = (party_key(peer), self.envelopes.state(envelope)) else { return false };
        let party = self.envelopes.party();
        party.is_party(&state, &key) || invite.is_some_and(|(slot, proof)| party.invite_admits(&state, slot, &key, &proof))
    }

    fn handle_sync_response(&mut self, id: OutboundRequestId, response: Response) {
        let Some((peer, envelope)) = self.sync_requests.remove(&id) else { return };
        // A change made meanwhile is covered: the next round below carries it.
        self.syncing.remove(&(peer, envelope));
        let message = match response {
            Response::Sync(message) => message,
            Response::Unknown | Response::Blob { .. } => {
                self.fail_join(
                    envelope,
                    "the inviter's node does not recognise this invitation: it was used, has expired, or the envelope was withdrawn",
                );
                return;
            }
        };
        if let Some(message) = message {
            let state = self.sync_states.entry((peer, envelope)).or_default();
            if let Err(e) = self.envelopes.doc_mut(envelope).receive_sync(state, &message) {
                tracing::warn!(%peer, "cutting off a peer that sent a bad sync message: {e}");
                let _ = self.swarm.disconnect_peer_id(peer);
                return;
            }
        }
        let added = match self.envelopes.absorb(envelope) {
            Ok(added) => added,
            Err(e) => {
                tracing::error!("cannot save envelope {}: {e}", envelope.short());
                0
            }
        };
        self.complete_join(envelope);
        if added > 0 {
            self.changed(envelope, Some(peer));
        }
        self.sync_with(peer, envelope);
        // The peer now knows what we know (e.g. our Join): blobs it refused may come now.
        self.fetch_missing(envelope);
    }

    fn complete_join(&mut self, envelope: EnvelopeId) {
        let Some(pending) = self.joins.get(&envelope) else { return };
        let Some(state) = self.envelopes.state(envelope) else { return };
        if state.binding(pending.invitation.slot) == Some(self.me()) {
            if let Some(pending) = self.joins.remove(&envelope) {
                for reply in pending.replies {
                    let _ = reply.send(Ok(envelope.to_string()));
                }
            }
            return;
        }
        let invitation = pending.invitation.clone();
        let result = self.envelopes.party_mut().join(&invitation);
        match result {
            Ok(entry) => {
                let proof = (invitation.slot, invitation.prove(&self.me()));
                self.proofs.insert(envelope, proof);
                if let Err(e) = self.envelopes.keep_invite_proof(envelope, proof) {
                    tracing::warn!("cannot keep the invite proof: {e}");
                }
                let outcome = self.after_act(envelope, entry).map(|_| envelope.to_string());
                if let Some(pending) = self.joins.remove(&envelope) {
                    for reply in pending.replies {
                        let _ = reply.send(outcome.clone());
                    }
                }
            }
            Err(crate::party::PartyError::Refused(countersign_shared::log::rules::Rejection::InviteNotFound)) => {}
            Err(e) => {
                let message = e.to_string();
                self.fail_join(envelope, &message);
            }
        }
    }

    fn fail_join(&mut self, envelope: EnvelopeId, why: &str) {
        if let Some(pending) = self.joins.remove(&envelope) {
            for reply in pending.replies {
                let _ = reply.send(Err(ApiError::new(ErrorKind::Refused, why)));
            }
        }
    }

    // ---- blobs ----------------------------------------------------------

    fn fetch_missing(&mut self, envelope: EnvelopeId) {
        for hash in self.envelopes.missing_blobs(envelope) {
            if self.fetches.contains_key(&hash) {
                continue;
            }
            let offset = self.envelopes.disk().partial_len(&hash);
            let fetch = Fetch {
                envelope,
                total: None,
                received: offset,
                next: offset,
                in_flight: 0,
                ahead: Default::default(),
                source: None,
                tried: HashSet::new(),
            };
            self.fetches.insert(hash, fetch);
            self.ask_next_source(hash);
        }
    }

    /// Asks a connected party that has not been asked yet for a blob; gives up
    /// (until the next retry) when none is left.
    fn ask_next_source(&mut self, hash: Hash) {
        let Some(fetch) = self.fetches.get(&hash) else { return };
        let (envelope, offset) = (fetch.envelope, fetch.received);
        let connected: HashSet<PeerId> = self.swarm.connected_peers().copied().collect();
        let source = self
            .envelopes
            .peers_of(envelope)
            .into_iter()
            .filter_map(|k| peer_id(&k))
            .find(|p| connected.contains(p) && !fetch.tried.contains(p));
        match source {
            Some(peer) => {
                if let Some(fetch) = self.fetches.get_mut(&hash) {
                    fetch.source = Some(peer);
                    fetch.next = offset;
                    fetch.in_flight = 0;
                    fetch.ahead.clear();
                }
                self.fill_window(hash);
            }
            None => {
                self.fetches.remove(&hash);
            }
        }
    }

    /// Keeps up to [`WINDOW`] chunk requests in flight (one until the size is known).
    fn fill_window(&mut self, hash: Hash) {
        loop {
            let Some(fetch) = self.fetches.get_mut(&hash) else { return };
            let Some(peer) = fetch.source else { return };
            let limit = if fetch.total.is_some() { WINDOW } else { 1 };
            if fetch.in_flight >= limit || fetch.total.is_some_and(|t| fetch.next >= t) {
                return;
            }
            let (envelope, offset) = (fetch.envelope, fetch.next);
            fetch.next += CHUNK as u64;
            fetch.in_flight += 1;
            self.request_chunk(peer, envelope, hash, offset);
        }
    }

    fn request_chunk(&mut self, peer: PeerId, envelope: EnvelopeId, hash: Hash, offset: u64) {
        let id = self.swarm.behaviour_mut().blobs.send_request(&peer, Request::Blob { envelope, hash, offset });
        self.blob_requests.insert(id, (peer, hash, offset));
    }

    fn handle_blob_request(&mut self, peer: PeerId, request: Request, channel: request_response::ResponseChannel<Response>) {
        let response = match request {
            Request::Blob { envelope, hash, offset } if self.may_fetch(&peer, envelope, &hash) => {
                match self.envelopes.disk().read_chunk(&hash, offset, CHUNK) {
                    Some((total, chunk)) => Response::Blob { total, chunk },
                    None => Response::Unknown,
                }
            }
            _ => Response::Unknown,
        };
        let _ = self.swarm.behaviour_mut().blobs.send_response(channel, response);
    }

    /// A blob goes only to a party of an envelope that names it.
    fn may_fetch(&self, peer: &PeerId, envelope: EnvelopeId, hash: &Hash) -> bool {
        let (Some(key), Some(state)) = (party_key(peer), self.envelopes.state(envelope)) else { return false };
        let party = self.envelopes.party();
        party.is_party(&state, &key) && party.needed_blobs(&state).contains(hash)
    }

    fn handle_blob_response(&mut self, id: OutboundRequestId, response: Response) {
        let Some((peer, hash, offset)) = self.blob_requests.remove(&id) else { return };
        let Some(fetch) = self.fetches.get_mut(&hash) else { return };
        let envelope = fetch.envelope;
        let (total, chunk) = match response {
            Response::Blob { total, chunk } if total <= MAX_BLOB && !chunk.is_empty() => (total, chunk),
            Response::Blob { total, .. } if total > MAX_BLOB => {
                tracing::warn!(%peer, "cutting off a peer that offered a {total}-byte blob");
                self.fetches.remove(&hash);
                let _ = self.swarm.disconnect_peer_id(peer);
                return;
            }
            _ => {
                fetch.tried.insert(peer);
                self.ask_next_source(hash);
                return;
            }
        };
        fetch.total = Some(total);
        fetch.in_flight = fetch.in_flight.saturating_sub(1);
        fetch.ahead.insert(offset, chunk);
        // Store every chunk whose turn has come, in order.
        let disk = self.envelopes.disk().clone();
        while let Some(chunk) = fetch.ahead.remove(&fetch.received) {
            match disk.write_chunk(&hash, total, fetch.received, &chunk) {
                Ok(ChunkOutcome::Stored(held)) => fetch.received = held,
                Ok(ChunkOutcome::Complete) => {
                    self.fetches.remove(&hash);
                    tracing::info!("received blob {} for envelope {}", hash.short(), envelope.short());
                    return;
                }
                Err(e) => {
                    tracing::warn!(%peer, "cutting off a peer that sent a bad blob: {e}");
                    self.fetches.remove(&hash);
                    let _ = self.swarm.disconnect_peer_id(peer);
                    return;
                }
            }
        }
        fetch.ahead.retain(|at, _| *at > fetch.received);
        self.fill_window(hash);
    }

    // ---- swarm events and retries ----------------------------------------

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

fn unknown(envelope: &EnvelopeId) -> ApiError {
    ApiError::not_found(format!("this node has no envelope {envelope}"))
}
