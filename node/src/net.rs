//! Networking, and nothing else: the swarm, its transports and protocols,
//! and one task that drives it. The node's application ([`crate::app`])
//! decides what to say to whom; this layer carries it.
//!
//! The application speaks in party keys (a party's ed25519 key is also its
//! libp2p peer id): it sends requests through a [`Network`] handle and hears
//! back [`NetEvent`]s: peers connecting and leaving, requests from peers
//! (answered through the [`Responder`] that comes with them), and the
//! answers to its own requests, matched by the [`Tag`] it chose.
//!
//! # Layout
//! - [`behaviour`]: the libp2p behaviours and key ↔ peer id mapping.
//! - [`protocol`] speaks `/countersign/sync/5`, requests and answers.
//! - [`blob_stream`] speaks `/countersign/blob/2`, a blob in one stream.
//! - `swarm_task`: the task that owns the swarm.

pub mod behaviour;
pub mod blob_stream;
pub mod protocol;
mod swarm_task;

use countersign_shared::keys::PublicKey;
use libp2p::request_response::ResponseChannel;
use libp2p::{Multiaddr, Swarm};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::net::behaviour::{Behaviour, peer_id};
use crate::net::blob_stream::{BLOB_STREAM_PROTOCOL, BlobStream};
use crate::net::protocol::{Request, Response};

/// The application's name for one of its requests; the answer comes back
/// with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag(pub u64);

/// Where an answer to a peer's request goes (hand it back to
/// [`Network::respond`]; dropping it leaves the peer without an answer).
#[derive(Debug)]
pub struct Responder(Inbound);

#[derive(Debug)]
enum Inbound {
    Sync(ResponseChannel<Response>),
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unanswered(pub String);

/// What the network tells the application.
#[derive(Debug)]
pub enum NetEvent {
    /// The node listens on a new address (peers may be told it).
    Listening(String),
    /// A first connection to a party's node.
    Connected(PublicKey),
    /// The last connection to a party's node closed.
    Disconnected(PublicKey),
    /// A party's node asks something.
    Request {
        /// Who asks.
        from: PublicKey,
        /// What.
        request: Request,
        /// Where the answer goes.
        responder: Responder,
    },
    /// The answer to one of this node's requests, or why there is none.
    Answer {
        /// The request's tag.
        tag: Tag,
        /// Who was asked.
        peer: PublicKey,
        /// The answer.
        answer: Result<Response, Unanswered>,
    },
    /// A party's node opened a blob stream (it says what it wants first).
    BlobStream {
        /// Who opened it.
        from: PublicKey,
        /// The stream.
        stream: BlobStream,
    },
}

/// How the network runs.
#[derive(Debug, Clone, Default)]
pub struct NetOptions {
    /// A relay to listen through (`/…/p2p/<relay id>`), once connected to it.
    pub relay: Option<Multiaddr>,
}

#[derive(Debug)]
enum NetCommand {
    Send { to: PublicKey, request: Request, tag: Tag },
    Respond { responder: Responder, response: Response },
    AddAddresses { of: PublicKey, addresses: Vec<Multiaddr> },
    Disconnect(PublicKey),
}

/// The application's side of the network: requests out, answers back.
/// Sending never waits (the network's inbox is unbounded: the application
/// must not block on the network while the network waits on it).
#[derive(Debug, Clone)]
pub struct Network {
    commands: mpsc::UnboundedSender<NetCommand>,
    peer_id: String,
    streams: Streams,
    relay: Option<Multiaddr>,
}

/// Opens streams of their own (libp2p's control has no `Debug`).
#[derive(Clone)]
struct Streams(libp2p_stream::Control);

impl std::fmt::Debug for Streams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Streams")
    }
}

/// How many events may wait for the application before the swarm waits.
const EVENTS_WAITING: usize = 1024;

impl Network {
    /// Starts the task that drives `swarm`; it runs until `cancel`.
    pub fn start(
        swarm: Swarm<Behaviour>,
        options: NetOptions,
        cancel: CancellationToken,
    ) -> (Network, mpsc::Receiver<NetEvent>, tokio::task::JoinHandle<()>) {
        let (commands, inbox) = mpsc::unbounded_channel();
        let (events, outbox) = mpsc::channel(EVENTS_WAITING);
        let peer_id = swarm.local_peer_id().to_string();
        let mut control = swarm.behaviour().streams.new_control();
        match control.accept(BLOB_STREAM_PROTOCOL) {
            Ok(incoming) => {
                tokio::spawn(pass_on_blob_streams(incoming, events.clone(), cancel.clone()));
            }
            Err(e) => tracing::error!("cannot take blob streams: {e}"),
        }
        let relay = options.relay.clone();
        let task = tokio::spawn(swarm_task::SwarmTask::new(swarm, options, inbox, events).run(cancel));
        (Network { commands, peer_id, streams: Streams(control), relay }, outbox, task)
    }

    /// Opens a blob stream to `to`'s node (dialling it if need be).
    pub async fn open_blob_stream(&self, to: PublicKey) -> Result<BlobStream, Unanswered> {
        let peer = peer_id(&to).ok_or_else(|| Unanswered("not a peer's key".into()))?;
        let mut control = self.streams.0.clone();
        let stream = control.open_stream(peer, BLOB_STREAM_PROTOCOL).await.map_err(|e| Unanswered(e.to_string()))?;
        Ok(BlobStream::new(stream))
    }

    /// This node's libp2p peer id.
    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }

    /// Sends `request` to `to`'s node (dialling it if need be); the answer
    /// comes back as [`NetEvent::Answer`] with `tag`.
    pub fn send(&self, to: PublicKey, request: Request, tag: Tag) {
        self.command(NetCommand::Send { to, request, tag });
    }

    /// Answers a peer's request.
    pub fn respond(&self, responder: Responder, response: Response) {
        self.command(NetCommand::Respond { responder, response });
    }

    /// Where `of`'s node may be reached (addresses that do not parse are skipped).
    pub fn add_addresses(&self, of: PublicKey, addresses: &[String]) {
        let addresses: Vec<Multiaddr> = addresses.iter().filter_map(|a| a.parse().ok()).collect();
        if !addresses.is_empty() {
            self.command(NetCommand::AddAddresses { of, addresses });
        }
    }

    /// Lets `of`'s node be reached through this node's relay, where a node
    /// behind NAT listens (a short invitation carries no addresses).
    pub fn add_relay_route(&self, of: PublicKey) {
        let (Some(relay), Some(peer)) = (&self.relay, peer_id(&of)) else { return };
        let route = relay.clone().with(libp2p::multiaddr::Protocol::P2pCircuit).with(libp2p::multiaddr::Protocol::P2p(peer));
        self.command(NetCommand::AddAddresses { of, addresses: vec![route] });
    }

    /// Closes every connection to `peer`'s node (a peer that misbehaved).
    pub fn disconnect(&self, peer: PublicKey) {
        self.command(NetCommand::Disconnect(peer));
    }

    fn command(&self, command: NetCommand) {
        // A closed inbox means the node is stopping: nothing is left to send.
        let _ = self.commands.send(command);
    }
}

/// Hands the blob streams peers open to the application, until `cancel`.
async fn pass_on_blob_streams(mut incoming: libp2p_stream::IncomingStreams, events: mpsc::Sender<NetEvent>, cancel: CancellationToken) {
    use futures::StreamExt as _;
    loop {
        let (peer, stream) = tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            next = incoming.next() => match next {
                Some(opened) => opened,
                None => return,
            },
        };
        let Some(from) = behaviour::party_key(&peer) else { continue };
        if events.send(NetEvent::BlobStream { from, stream: BlobStream::new(stream) }).await.is_err() {
            return;
        }
    }
}
