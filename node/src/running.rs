//! A node running inside this process: the network's task and the
//! application's task on the tokio runtime, driven through a handle. `countersign serve` wraps one with the local API;
//! the `contract` example runs three side by side.

use std::time::Duration;

use anyhow::Context as _;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::app::{App, AppOptions, Parts};
use crate::codes::Codes;
use crate::datadir::DataDir;
use crate::envelopes::Envelopes;
use crate::handle::NodeHandle;
use crate::net::{NetOptions, Network, behaviour};
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
    /// How long invitations work (`None`: two weeks; tests shorten it).
    pub invite_ttl: Option<Duration>,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions { listen: vec![loopback()], relay: None, mdns: false, test_tools: false, invite_ttl: None }
    }
}

/// `/ip4/127.0.0.1/tcp/0`.
pub fn loopback() -> Multiaddr {
    Multiaddr::from(std::net::Ipv4Addr::LOCALHOST).with(libp2p::multiaddr::Protocol::Tcp(0))
}

/// A node running in this process. Dropping it stops the node.
#[derive(Debug)]
pub struct RunningNode {
    handle: NodeHandle,
    cancel: CancellationToken,
    app_task: tokio::task::JoinHandle<()>,
    net_task: tokio::task::JoinHandle<()>,
    notify_task: tokio::task::JoinHandle<()>,
    peer_id: PeerId,
    envelopes_at_start: usize,
    _lock: std::fs::File,
}

impl RunningNode {
    /// Opens the data dir (taking its lock) and starts the node.
    pub async fn start(data: &DataDir, options: NodeOptions) -> anyhow::Result<Self> {
        Self::start_locked(data, options, data.lock()?).await
    }

    /// Starts the node of a data dir whose `lock` this process holds already.
    pub async fn start_locked(data: &DataDir, options: NodeOptions, lock: std::fs::File) -> anyhow::Result<Self> {
        data.remove_leftovers();
        let key = data.key()?;
        let envelopes = Envelopes::open(data.clone())?;
        let envelopes_at_start = envelopes.ids().len();
        let mut swarm = behaviour::build(&key, options.mdns)?;
        for address in &options.listen {
            swarm.listen_on(address.clone()).with_context(|| format!("cannot listen on {address}"))?;
        }
        if let Some(relay) = &options.relay {
            // The network listens through the relay once connected to it.
            swarm.dial(relay.clone()).with_context(|| format!("cannot reach the relay {relay}"))?;
        }
        let peer_id = *swarm.local_peer_id();
        let (commands, inbox) = mpsc::channel(256);
        let (notifier, deliveries) = Notifier::open(data)?;
        let cancel = CancellationToken::new();
        let stop_delivering = cancel.child_token();
        let notify_task = tokio::spawn(async move {
            tokio::select! {
                biased;
                () = stop_delivering.cancelled() => {}
                () = deliveries => {}
            }
        });
        let (net, net_events, net_task) = Network::start(swarm, NetOptions { relay: options.relay.clone() }, cancel.child_token());
        let codes = Codes::new(data.clone(), notifier.code_policy());
        let (changes, _) = broadcast::channel(256);
        let directory = crate::directory::Directory::open(data)?;
        let parts = Parts { net, net_events, envelopes, notifier, codes, changes: changes.clone(), directory };
        let invite_ttl_ms = options.invite_ttl.map(|ttl| u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        let app = App::new(parts, inbox, AppOptions { test_tools: options.test_tools, invite_ttl_ms });
        let app_task = tokio::spawn(app.run(cancel.child_token()));
        let handle = NodeHandle::new(commands, changes);
        let node = RunningNode { handle, cancel, app_task, net_task, notify_task, peer_id, envelopes_at_start, _lock: lock };
        // Wait until the listeners are up, so invitations carry addresses.
        for _ in 0..100 {
            if !node.info().await?.addresses.is_empty() || options.listen.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(node)
    }

    /// A handle on the node (for the local API).
    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
    }

    /// The node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Stops the node and waits (a few seconds at most) until its tasks
    /// (application, network, notifier) have ended: what they store is
    /// written by then.
    pub async fn close(mut self) {
        self.cancel.cancel();
        for task in [&mut self.app_task, &mut self.net_task, &mut self.notify_task] {
            // (A task already awaited, see `stopped`, is not polled again.)
            if !task.is_finished() {
                let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
            }
        }
    }

    /// Waits until the node stops by itself (its application's task ended
    /// without being asked to: a bug), so that a program serving it can
    /// stop too instead of answering "shutting down" forever.
    pub async fn stopped(&mut self) {
        let _ = (&mut self.app_task).await;
    }

    /// How many envelopes the node loaded at start.
    pub fn envelopes_at_start(&self) -> usize {
        self.envelopes_at_start
    }
}

impl std::ops::Deref for RunningNode {
    type Target = NodeHandle;

    /// Every act of [`NodeHandle`] on this node.
    fn deref(&self) -> &NodeHandle {
        &self.handle
    }
}

impl Drop for RunningNode {
    /// Without [`RunningNode::close`]: stops the tasks where they are.
    fn drop(&mut self) {
        self.cancel.cancel();
        self.app_task.abort();
        self.net_task.abort();
        self.notify_task.abort();
    }
}
