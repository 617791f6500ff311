//! The libp2p behaviours a node runs, and the mapping between party keys and
//! peer ids (the same ed25519 key is both).

use std::time::Duration;

use countersign_shared::keys::{PublicKey, SecretKey};
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{PeerId, Swarm, dcutr, identify, identity, mdns, noise, ping, relay, request_response, tcp, yamux};

use crate::net::protocol::{Codec, SYNC_PROTOCOL};

/// Identify's protocol name for Countersign nodes.
pub const IDENTIFY_PROTOCOL: &str = "/countersign/id/1";

/// Everything a party's node speaks. (libp2p behaviours have no `Debug`.)
#[allow(missing_debug_implementations)]
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Who the peer is and where it listens.
    pub identify: identify::Behaviour,
    /// Liveness.
    pub ping: ping::Behaviour,
    /// Peers on the same LAN (off when the network has no multicast).
    pub mdns: Toggle<mdns::tokio::Behaviour>,
    /// Reaching and being reached through a relay.
    pub relay_client: relay::client::Behaviour,
    /// Upgrading relayed connections to direct ones.
    pub dcutr: dcutr::Behaviour,
    /// `/countersign/sync/5`.
    pub sync: request_response::Behaviour<Codec>,
    /// Streams of their own: `/countersign/blob/2`.
    pub streams: libp2p_stream::Behaviour,
}

/// The libp2p keypair of a party key.
pub fn keypair(key: &SecretKey) -> Result<identity::Keypair, identity::DecodingError> {
    identity::Keypair::ed25519_from_bytes(key.to_seed())
}

/// The peer id of a party key.
pub fn peer_id(key: &PublicKey) -> Option<PeerId> {
    let public = identity::ed25519::PublicKey::try_from_bytes(key.as_bytes()).ok()?;
    Some(identity::PublicKey::from(public).to_peer_id())
}

/// The party key behind a peer id (ed25519 keys are inlined in their peer ids).
pub fn party_key(peer: &PeerId) -> Option<PublicKey> {
    let public = identity::PublicKey::try_decode_protobuf(peer.as_ref().digest()).ok()?;
    Some(PublicKey::from_bytes(public.try_into_ed25519().ok()?.to_bytes()))
}

/// Builds a node's swarm on TCP (noise, yamux) plus the relay transport.
pub fn build(key: &SecretKey, with_mdns: bool) -> anyhow::Result<Swarm<Behaviour>> {
    let keypair = keypair(key)?;
    let request_config = request_response::Config::default().with_request_timeout(Duration::from_secs(30));
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)?
        .with_relay_client(noise::Config::new, yamux::Config::default)?
        .with_behaviour(|keypair, relay_client| {
            let local = keypair.public().to_peer_id();
            let mdns = if with_mdns {
                match mdns::tokio::Behaviour::new(mdns::Config::default(), local) {
                    Ok(mdns) => Some(mdns),
                    Err(e) => {
                        tracing::warn!("mDNS is off: {e}");
                        None
                    }
                }
            } else {
                None
            };
            Behaviour {
                identify: identify::Behaviour::new(identify::Config::new(IDENTIFY_PROTOCOL.into(), keypair.public())),
                ping: ping::Behaviour::new(liveness()),
                mdns: mdns.into(),
                relay_client,
                dcutr: dcutr::Behaviour::new(local),
                sync: request_response::Behaviour::with_codec(
                    Codec,
                    [(SYNC_PROTOCOL, request_response::ProtocolSupport::Full)],
                    request_config.clone(),
                ),
                streams: libp2p_stream::Behaviour::new(),
            }
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .with_connection_timeout(DIAL_TIMEOUT)
        .build();
    Ok(swarm)
}

/// How long a dial may take (a route that drops packets gives no answer;
/// the next try must not wait behind this one for long).
const DIAL_TIMEOUT: Duration = Duration::from_secs(3);

/// Pings every two seconds; one unanswered for five marks the connection
/// dead (a partition leaves TCP connections open for minutes), and the
/// network closes it so that the parties reconnect when the route returns.
/// (Ten seconds was tried: the heal then took over five seconds to notice.
/// On a very slow uplink a pong may queue behind a transfer's bytes and
/// the connection be reopened; a known trade-off.)
fn liveness() -> ping::Config {
    ping::Config::new().with_interval(Duration::from_secs(2)).with_timeout(Duration::from_secs(5))
}

/// A public relay node's behaviours.
#[allow(missing_debug_implementations)]
#[derive(NetworkBehaviour)]
pub struct RelayBehaviour {
    /// Who the peer is.
    pub identify: identify::Behaviour,
    /// Liveness.
    pub ping: ping::Behaviour,
    /// Circuit relay v2, server side.
    pub relay: relay::Behaviour,
}

/// A relay for signing parties: circuits long and large enough to carry a
/// contract PDF before DCUtR upgrades the connection to a direct one, and
/// enough of them per node for the clients signing in their browsers at once
/// (each guest holds one circuit to the sender's node; libp2p's default of
/// four per peer would turn the fifth away).
fn relay_config() -> relay::Config {
    relay::Config {
        max_circuit_duration: Duration::from_secs(30 * 60),
        max_circuit_bytes: 256 * 1024 * 1024,
        max_circuits: 1024,
        max_circuits_per_peer: 64,
        ..relay::Config::default()
    }
}

/// Builds a relay node's swarm.
pub async fn build_relay(key: &SecretKey) -> anyhow::Result<Swarm<RelayBehaviour>> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair(key)?)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)?
        // Browsers reach the relay over WebSocket (`…/tcp/<port>/ws`), the
        // guest signer's only way in; nodes use TCP.
        .with_websocket(noise::Config::new, yamux::Config::default)
        .await?
        .with_behaviour(|keypair| RelayBehaviour {
            identify: identify::Behaviour::new(identify::Config::new(IDENTIFY_PROTOCOL.into(), keypair.public())),
            ping: ping::Behaviour::default(),
            relay: relay::Behaviour::new(keypair.public().to_peer_id(), relay_config()),
        })?
        .build();
    Ok(swarm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_party_key_and_its_peer_id_map_both_ways() {
        let key = SecretKey::from_seed([8; 32]);
        let peer = peer_id(&key.public()).unwrap();
        assert_eq!(party_key(&peer), Some(key.public()));
        assert_eq!(keypair(&key).unwrap().public().to_peer_id(), peer);
    }
}
