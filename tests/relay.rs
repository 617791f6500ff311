//! A party reachable only through a public relay (circuit relay v2): the
//! invitation carries just the relayed address, and the joiner gets in.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use countersign_scenarios::nodes::{Node, countersign_bin, send};
use countersign_scenarios::scratch_dir;
use countersign_shared::invite::Invitation;
use countersign_shared::test_utils::contract_pdf;

#[test]
fn a_party_behind_a_relay_is_reached_through_it() -> anyhow::Result<()> {
    let mut relay = Command::new(countersign_bin()?)
        .args(["relay", "--listen", "/ip4/127.0.0.1/tcp/0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = relay.stdout.take().expect("piped");
    let relay_address = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("listening ").map(str::to_owned))
        .expect("the relay prints its address");

    let dir = scratch_dir("relay")?;
    std::fs::write(dir.join("contract.pdf"), contract_pdf(1))?;
    let mut anna = Node::init("Anna Sales", "anna@acme.test")?;
    let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
    anna.start(&["--relay", &relay_address])?;
    dmitri.start(&[])?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !anna.cli(&["info"])?.stdout.contains("p2p-circuit") {
        assert!(Instant::now() < deadline, "no relay reservation: {}", anna.log());
        std::thread::sleep(Duration::from_millis(50));
    }

    let (envelope, director_link, _) = send(&anna, &dir.join("contract.pdf"), "Consulting agreement")?;
    let mut invitation = Invitation::parse(&director_link)?;
    invitation.addresses.retain(|a| a.contains("p2p-circuit"));
    assert!(!invitation.addresses.is_empty());
    dmitri.cli(&["join", &invitation.to_link()])?.ok()?;
    let status = dmitri.status(&envelope)?;
    assert!(status.parties[0].joined);
    assert!(status.missing_blobs.is_empty());
    let _ = relay.kill();
    let _ = relay.wait();
    Ok(())
}
