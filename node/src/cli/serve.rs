//! `countersign serve` and `countersign relay`: run a node (or a relay) until
//! ctrl-c or SIGTERM.

use std::net::SocketAddr;

use anyhow::Context as _;
use countersign_shared::keys::SecretKey;
use futures::StreamExt as _;
use libp2p::Multiaddr;
use libp2p::swarm::SwarmEvent;

use crate::api;
use crate::datadir::{ApiInfo, DataDir};
use crate::net::behaviour;
use crate::party::random_secret;
use crate::running::{NodeOptions, RunningNode};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs the node of `data` until ctrl-c or SIGTERM.
pub async fn serve(data: DataDir, options: NodeOptions) -> anyhow::Result<()> {
    let node = RunningNode::start(&data, options).await?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.context("cannot open the local API")?;
    let port = listener.local_addr()?.port();
    let token = hex(&random_secret());
    data.write_api_info(&ApiInfo { port, token: token.clone(), pid: std::process::id() })?;
    let app = api::app(node.commands(), token, port);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let info = node.info().await.map_err(anyhow::Error::msg)?;
    let profile = data.profile()?;
    println!("Countersign node of {} ({} envelopes)", profile.name, node.envelopes_at_start());
    println!("peer id   {}", node.peer_id());
    println!("key       {}", info.fingerprint);
    for address in &info.addresses {
        println!("listening {address}");
    }
    println!("local API http://127.0.0.1:{port} (token in {})", data.path("api.json").display());
    println!("Press ctrl-c to stop.");

    shutdown_signal().await;
    server.abort();
    drop(node);
    let _ = std::fs::remove_file(data.path("api.json"));
    println!("Stopped.");
    Ok(())
}

/// Runs a public relay (circuit relay v2) until ctrl-c.
pub async fn relay(listen: Vec<Multiaddr>, seed: Option<[u8; 32]>) -> anyhow::Result<()> {
    let key = SecretKey::from_seed(seed.unwrap_or_else(random_secret));
    let mut swarm = behaviour::build_relay(&key)?;
    for address in &listen {
        swarm.listen_on(address.clone()).with_context(|| format!("cannot listen on {address}"))?;
    }
    println!("Countersign relay, peer id {}", swarm.local_peer_id());
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            event = swarm.select_next_some() => {
                if let SwarmEvent::NewListenAddr { address, .. } = event {
                    // A public relay's listen address is its external address; the
                    // relay protocol is offered only on confirmed external addresses.
                    swarm.add_external_address(address.clone());
                    println!("listening {address}/p2p/{}", swarm.local_peer_id());
                }
            }
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
