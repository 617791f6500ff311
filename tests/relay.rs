//! A party reachable only through a public relay (circuit relay v2): the
//! invitation carries just the relayed address, and the joiner gets in; a
//! short link, which carries no address at all, works through the relay the
//! joiner's node uses.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use std::time::{Duration, Instant};

use countersign_scenarios::nodes::{Node, Relay, send};
use countersign_scenarios::scratch_dir;
use countersign_shared::invite::Invitation;
use countersign_shared::test_utils::contract_pdf;

fn wait_for_reservation(node: &Node) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !node.cli(&["info"])?.stdout.contains("p2p-circuit") {
        assert!(Instant::now() < deadline, "no relay reservation: {}", node.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

#[test]
fn a_party_behind_a_relay_is_reached_through_it() -> anyhow::Result<()> {
    let relay = Relay::start()?;
    let dir = scratch_dir("relay")?;
    std::fs::write(dir.join("contract.pdf"), contract_pdf(1))?;
    let mut anna = Node::init("Anna Sales", "anna@acme.test")?;
    let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
    let mut carl = Node::init("Carl Client", "+15550100")?;
    anna.start(&["--relay", &relay.address])?;
    dmitri.start(&[])?;
    carl.start(&["--relay", &relay.address])?;
    wait_for_reservation(&anna)?;

    let (envelope, director_link, client_link) = send(&anna, &dir.join("contract.pdf"), "Consulting agreement")?;
    let mut invitation = Invitation::parse(&director_link)?;
    invitation.addresses.retain(|a| a.contains("p2p-circuit"));
    assert!(!invitation.addresses.is_empty());
    dmitri.cli(&["join", &invitation.to_link()])?.ok()?;
    let status = dmitri.status(&envelope)?;
    assert!(status.parties[0].joined);
    assert!(status.missing_blobs.is_empty());

    // The short link of a text message: the secret and Anna's key, no address.
    let short = Invitation::parse(&client_link)?.short().to_web_link("https://verify.example");
    let joined = carl.cli(&["join", &short])?.ok()?;
    assert!(joined.stdout.contains(&envelope), "{}", joined.stdout);
    let status = carl.status(&envelope)?;
    assert!(status.parties[1].joined && status.title == "Consulting agreement", "{status:?}");
    assert!(status.missing_blobs.is_empty());

    // Used once: the same short link lets nobody else in.
    let mut mallory = Node::init("Mallory", "mallory@evil.test")?;
    mallory.start(&["--relay", &relay.address])?;
    let refused = mallory.cli(&["join", &short])?;
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("does not recognise this invitation"), "{}", refused.stderr);
    Ok(())
}
