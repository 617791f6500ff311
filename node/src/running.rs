//! A node running inside this process: the event loop on the tokio runtime,
//! driven through a handle. `countersign serve` wraps one with the local API;
//! the `contract` example runs three side by side.

use std::time::Duration;

use anyhow::Context as _;
use countersign_shared::hash::{EnvelopeId, Hash};
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

use crate::NodeError;
use crate::codes::Codes;
use crate::datadir::DataDir;
use crate::documents::{self, PreparedDocument};
use crate::envelopes::{Envelopes, ListItem, Summary};
use crate::net::behaviour;
use crate::net::command::{Command, CreateRequest, Created, NodeInfo, Reply, SignRequest};
use crate::net::event_loop::{EventLoop, Options};
use crate::notify::Notifier;

/// How a node runs.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// libp2p listen addresses.
    pub listen: Vec<Multiaddr>,
    /// A public relay to be reachable through (circuit relay v2), for nodes behind NAT.
    pub relay: Option<Multiaddr>,
    /// Find peers on the LAN.
    pub mdns: bool,
    /// Accept test-only commands.
    pub test_tools: bool,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions { listen: vec![loopback()], relay: None, mdns: false, test_tools: false }
    }
}

/// `/ip4/127.0.0.1/tcp/0`.
pub fn loopback() -> Multiaddr {
    Multiaddr::from(std::net::Ipv4Addr::LOCALHOST).with(libp2p::multiaddr::Protocol::Tcp(0))
}

/// A node running in this process. Dropping it stops the node.
#[derive(Debug)]
pub struct RunningNode {
    commands: mpsc::Sender<Command>,
    task: tokio::task::JoinHandle<()>,
    notify_task: tokio::task::JoinHandle<()>,
    peer_id: PeerId,
    envelopes_at_start: usize,
    _lock: std::fs::File,
}

impl RunningNode {
    /// Opens the data dir (taking its lock) and starts the node.
    pub async fn start(data: &DataDir, options: NodeOptions) -> anyhow::Result<Self> {
        let lock = data.lock()?;
        let key = data.key()?;
        let envelopes = Envelopes::open(data.clone())?;
        let envelopes_at_start = envelopes.ids().len();
        let mut swarm = behaviour::build(&key, options.mdns)?;
        for address in &options.listen {
            swarm.listen_on(address.clone()).with_context(|| format!("cannot listen on {address}"))?;
        }
        if let Some(relay) = &options.relay {
            // The event loop listens through the relay once connected to it.
            swarm.dial(relay.clone()).with_context(|| format!("cannot reach the relay {relay}"))?;
        }
        let peer_id = *swarm.local_peer_id();
        let (commands, inbox) = mpsc::channel(256);
        let (notifier, deliveries) = Notifier::open(data)?;
        let notify_task = tokio::spawn(deliveries);
        let options_of_loop = Options { test_tools: options.test_tools, relay: options.relay.clone() };
        let codes = Codes::new(data.clone(), notifier.code_policy());
        let event_loop = EventLoop::new(swarm, envelopes, inbox, options_of_loop, notifier, codes);
        let task = tokio::spawn(event_loop.run());
        let node = RunningNode { commands, task, notify_task, peer_id, envelopes_at_start, _lock: lock };
        // Wait until the listeners are up, so invitations carry addresses.
        for _ in 0..100 {
            if !node.info().await?.addresses.is_empty() || options.listen.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(node)
    }

    /// The command channel (for the local API).
    pub fn commands(&self) -> mpsc::Sender<Command> {
        self.commands.clone()
    }

    /// The node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// How many envelopes the node loaded at start.
    pub fn envelopes_at_start(&self) -> usize {
        self.envelopes_at_start
    }

    /// Sends a command and waits for its answer.
    pub async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, NodeError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(make(reply)).await.map_err(|_| NodeError::internal("the node has stopped"))?;
        answer.await.map_err(|_| NodeError::internal("the node dropped the request"))?
    }

    /// About the node.
    pub async fn info(&self) -> Result<NodeInfo, NodeError> {
        self.ask(Command::Info).await
    }

    /// Prepares a PDF for signing and stores it (see [`crate::documents`]).
    pub async fn put_document(&self, pdf: Vec<u8>) -> Result<PreparedDocument, NodeError> {
        let prepared = documents::prepare(pdf).await?;
        let removed = documents::removed(&prepared);
        let pages = prepared.info.pages.len();
        let hash = self.put_blob(prepared.bytes).await?;
        Ok(PreparedDocument { hash: hash.to_string(), pages, removed })
    }

    /// Stores a blob.
    pub async fn put_blob(&self, bytes: Vec<u8>) -> Result<Hash, NodeError> {
        self.ask(|reply| Command::PutBlob(bytes, reply)).await
    }

    /// Creates and sends an envelope.
    pub async fn create(&self, request: CreateRequest) -> Result<Created, NodeError> {
        self.ask(|reply| Command::Create(Box::new(request), reply)).await
    }

    /// Joins with a link.
    pub async fn join(&self, link: &str) -> Result<String, NodeError> {
        let link = link.to_owned();
        self.ask(|reply| Command::Join(link, None, reply)).await
    }

    /// Signs.
    pub async fn sign(&self, envelope: EnvelopeId, request: SignRequest) -> Result<String, NodeError> {
        self.ask(|reply| Command::Sign(envelope, request, reply)).await
    }

    /// One envelope's summary.
    pub async fn status(&self, envelope: EnvelopeId) -> Result<Summary, NodeError> {
        self.ask(|reply| Command::Status(envelope, reply)).await
    }

    /// Every envelope.
    pub async fn list(&self) -> Result<Vec<ListItem>, NodeError> {
        self.ask(Command::List).await
    }

    /// The final PDF.
    pub async fn export(&self, envelope: EnvelopeId) -> Result<Vec<u8>, NodeError> {
        self.ask(|reply| Command::Export(envelope, reply)).await
    }

    /// Polls until `check` holds for the envelope (or `timeout` passes).
    pub async fn wait_for(&self, envelope: EnvelopeId, timeout: Duration, check: impl Fn(&Summary) -> bool) -> Result<Summary, NodeError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(summary) = self.status(envelope).await
                && check(&summary)
            {
                return Ok(summary);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(NodeError::unavailable("timed out waiting for the other nodes"));
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        self.task.abort();
        self.notify_task.abort();
    }
}
