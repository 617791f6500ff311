//! The task that owns the swarm: the application's commands become swarm
//! calls, swarm events become [`NetEvent`]s (the rust-libp2p file-sharing
//! pattern, with the application on the other side of two channels).

use std::collections::HashMap;

use countersign_shared::keys::PublicKey;
use futures::StreamExt as _;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::{PeerId, Swarm, identify, mdns, ping};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::behaviour::{Behaviour, BehaviourEvent, party_key, peer_id};
use super::protocol::{Request, Response};
use super::{Inbound, NetCommand, NetEvent, NetOptions, Responder, Tag, Unanswered};

pub(super) struct SwarmTask {
    swarm: Swarm<Behaviour>,
    options: NetOptions,
    commands: mpsc::UnboundedReceiver<NetCommand>,
    events: mpsc::Sender<NetEvent>,
    /// Requests out, by protocol (each behaviour numbers its own).
    sync_requests: HashMap<OutboundRequestId, (Tag, PublicKey)>,
    /// Whether this node already listens through its relay.
    relayed: bool,
}

impl SwarmTask {
    pub(super) fn new(
        swarm: Swarm<Behaviour>,
        options: NetOptions,
        commands: mpsc::UnboundedReceiver<NetCommand>,
        events: mpsc::Sender<NetEvent>,
    ) -> Self {
        SwarmTask { swarm, options, commands, events, sync_requests: HashMap::new(), relayed: false }
    }

    /// Runs until `cancel` is cancelled or the application goes away.
    pub(super) async fn run(mut self, cancel: CancellationToken) {
        loop {
            let event = tokio::select! {
                () = cancel.cancelled() => return,
                command = self.commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => return,
                },
                event = self.swarm.select_next_some() => self.handle_event(event),
            };
            if let Some(event) = event
                && self.events.send(event).await.is_err()
            {
                return;
            }
        }
    }

    fn handle_command(&mut self, command: NetCommand) -> Option<NetEvent> {
        match command {
            NetCommand::Send { to, request, tag } => {
                let Some(peer) = peer_id(&to) else {
                    return Some(NetEvent::Answer { tag, peer: to, answer: Err(Unanswered("not a peer's key".into())) });
                };
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.sync_requests.insert(id, (tag, to));
            }
            NetCommand::Respond { responder: Responder(inbound), response } => {
                // A peer that went away meanwhile gets nothing: no error.
                let Inbound::Sync(channel) = inbound;
                let _ = self.swarm.behaviour_mut().sync.send_response(channel, response);
            }
            NetCommand::AddAddresses { of, addresses } => {
                if let Some(peer) = peer_id(&of) {
                    for address in addresses {
                        self.swarm.add_peer_address(peer, address);
                    }
                }
            }
            NetCommand::Disconnect(key) => {
                if let Some(peer) = peer_id(&key) {
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
            }
        }
        None
    }

    fn handle_event(&mut self, event: SwarmEvent<BehaviourEvent>) -> Option<NetEvent> {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!("listening on {address}");
                Some(NetEvent::Listening(address.to_string()))
            }
            SwarmEvent::ConnectionEstablished { peer_id: peer, num_established, .. } => {
                self.listen_through_relay(peer);
                let key = party_key(&peer)?;
                (num_established.get() == 1).then_some(NetEvent::Connected(key))
            }
            SwarmEvent::ConnectionClosed { peer_id: peer, num_established: 0, .. } => party_key(&peer).map(NetEvent::Disconnected),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id: peer, info, .. })) => {
                for address in info.listen_addrs {
                    self.swarm.add_peer_address(peer, address);
                }
                None
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, address) in found {
                    self.swarm.add_peer_address(peer, address);
                }
                None
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event { peer, connection, result: Err(error) })) => {
                tracing::info!(%peer, "closing a connection that stopped answering: {error}");
                self.swarm.close_connection(connection);
                None
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => Self::exchange(event, &mut self.sync_requests, Inbound::Sync),
            _ => None,
        }
    }

    /// A request from a party's node, or the answer (or failure) of one of ours.
    fn exchange(
        event: request_response::Event<Request, Response>,
        requests: &mut HashMap<OutboundRequestId, (Tag, PublicKey)>,
        inbound: fn(request_response::ResponseChannel<Response>) -> Inbound,
    ) -> Option<NetEvent> {
        match event {
            request_response::Event::Message { peer, message: request_response::Message::Request { request, channel, .. }, .. } => {
                // Only parties have keys as peer ids; anyone else gets no answer.
                let from = party_key(&peer)?;
                Some(NetEvent::Request { from, request, responder: Responder(inbound(channel)) })
            }
            request_response::Event::Message { message: request_response::Message::Response { request_id, response }, .. } => {
                let (tag, peer) = requests.remove(&request_id)?;
                Some(NetEvent::Answer { tag, peer, answer: Ok(response) })
            }
            request_response::Event::OutboundFailure { request_id, error, .. } => {
                let (tag, peer) = requests.remove(&request_id)?;
                Some(NetEvent::Answer { tag, peer, answer: Err(Unanswered(error.to_string())) })
            }
            _ => None,
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
}

impl std::fmt::Debug for SwarmTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwarmTask").field("peer", self.swarm.local_peer_id()).finish_non_exhaustive()
    }
}
