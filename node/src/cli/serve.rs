//! `countersign serve` and `countersign relay`: run a node (or a relay) until
//! ctrl-c or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use countersign_shared::keys::SecretKey;
use futures::StreamExt as _;
use libp2p::Multiaddr;
use libp2p::swarm::SwarmEvent;
use tokio::sync::watch;

use crate::datadir::{ApiInfo, DataDir};
use crate::net::behaviour;
use crate::party::{random_hex, random_secret};
use crate::running::{NodeOptions, RunningNode};
use crate::web::setup::Phase;
use crate::{api, web};

/// Runs the node of `data` until ctrl-c or SIGTERM. On a data dir without
/// an identity, the web app first asks for one ([`web::setup`]).
pub async fn serve(data: DataDir, options: NodeOptions, open_browser: bool) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.context("cannot open the local API")?;
    let port = listener.local_addr()?.port();
    let token = random_hex();
    let sessions = web::sessions();
    let gate = api::Gate::new(token.clone(), port, sessions.clone());
    let first_login = format!("http://127.0.0.1:{port}/app/login?code={}", sessions.new_code());
    let new = !data.is_initialised();
    let phase = Arc::new(watch::channel(if new { Phase::Setup } else { Phase::Starting }).0);
    let front = web::setup::front(gate.clone(), data.clone(), phase.clone());
    // The guard looks at who connects (see `api::local_user`).
    let server = tokio::spawn(async move { axum::serve(listener, front.into_make_service_with_connect_info::<SocketAddr>()).await });
    // The lock is held from now on (a second `countersign` opens this one's
    // app), and the API's address is known: `countersign app` works in setup too.
    std::fs::create_dir_all(data.root()).with_context(|| format!("cannot create {}", data.root().display()))?;
    let lock = data.lock()?;
    data.write_api_info(&ApiInfo { port, token: token.clone(), pid: std::process::id() })?;
    if new {
        println!("{} has no Countersign identity yet: set it up in the web app,", data.root().display());
        println!("web app   {first_login}");
        if open_browser {
            open_in_browser(&first_login);
        }
        let mut setup = phase.subscribe();
        tokio::select! {
            () = shutdown_signal() => {
                server.abort();
                let _ = std::fs::remove_file(data.path("api.json"));
                return Ok(());
            }
            _ = setup.wait_for(|p| matches!(p, Phase::Starting)) => {}
        }
    }
    let node = match RunningNode::start_locked(&data, options, lock).await {
        Ok(node) => node,
        Err(e) => {
            phase.send_replace(Phase::Failed(format!("{e:#}")));
            server.abort();
            let _ = std::fs::remove_file(data.path("api.json"));
            return Err(e);
        }
    };
    phase.send_replace(Phase::Running(api::app(node.handle(), gate)));
    if let Some(link) = web::setup::take_team_link(&data) {
        // Given at setup: the company's directory, joined as the node starts.
        let handle = node.handle();
        tokio::spawn(async move {
            match handle.join_team(link).await {
                Ok(()) => tracing::info!("joined the company directory with the colleague link given at setup"),
                Err(e) => tracing::warn!("the colleague link given at setup did not work: {e}"),
            }
        });
    }
    let info = node.info().await.map_err(anyhow::Error::msg)?;
    let profile = data.profile()?;
    println!("Countersign node of {} ({} envelopes)", profile.name, node.envelopes_at_start());
    println!("peer id   {}", node.peer_id());
    println!("key       {}", info.fingerprint);
    for address in &info.addresses {
        println!("listening {address}");
    }
    println!("local API http://127.0.0.1:{port} (token in {})", data.path("api.json").display());
    if !new {
        println!("web app   {first_login}");
        println!("          (a one-time link; `countersign app` makes a new one)");
        if open_browser {
            open_in_browser(&first_login);
        }
    }
    if crate::desktop::in_desktop_session() {
        // Invitation links handed over by the verifier's join page open here.
        match std::env::current_exe().and_then(|exe| crate::desktop::register(&exe, data.root())) {
            Ok(registered) => tracing::debug!("countersign:// links open this node ({})", registered.file.display()),
            Err(e) => tracing::warn!("cannot make countersign:// links open this node: {e}"),
        }
    }
    println!("Press ctrl-c to stop.");

    let mut node = node;
    let failed = tokio::select! {
        () = shutdown_signal() => false,
        () = node.stopped() => true,
    };
    server.abort();
    node.close().await;
    let _ = std::fs::remove_file(data.path("api.json"));
    if failed {
        anyhow::bail!("the node stopped by itself; its log above says why");
    }
    // Printing may fail (a full disk under a redirected output): no panic.
    let _ = writeln!(std::io::stdout(), "Stopped.");
    Ok(())
}

/// Opens `url` in the desktop's browser, if there is one; says so otherwise.
pub fn open_in_browser(url: &str) {
    if open::that_detached(url).is_err() {
        println!("(no browser could be opened here: open the link above yourself)");
    }
}

/// Runs a public relay (circuit relay v2) until ctrl-c.
pub async fn relay(listen: Vec<Multiaddr>, seed: Option<[u8; 32]>) -> anyhow::Result<()> {
    let key = SecretKey::from_seed(seed.unwrap_or_else(random_secret));
    let mut swarm = behaviour::build_relay(&key).await?;
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
