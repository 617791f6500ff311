//! Nodes that heal: each node in its own network namespace, a partition
//! made of dropped packets (the TCP connections stay open, as on a cut
//! route), and what a person sees once the route returns.

use std::time::{Duration, Instant};

use countersign_node::envelopes::Stage;
use countersign_scenarios::lan::Lan;
use countersign_scenarios::nodes::send;
use countersign_scenarios::scratch_dir;
use countersign_shared::test_utils::{contract_pdf, signature_png, stamp_png};

/// Longer than a node takes to call a silent connection dead.
const PARTITION: Duration = Duration::from_secs(20);
/// The most a change may take to reach everyone after the route returns.
const AFTER_HEAL: Duration = Duration::from_secs(5);

#[test]
fn a_signature_made_during_a_partition_reaches_everyone_within_seconds_of_the_heal() -> anyhow::Result<()> {
    let lan = Lan::new(3)?;
    let mut anna = lan.node(0, "Anna Sales", "anna@acme.test")?;
    let mut dmitri = lan.node(1, "Dmitri Director", "dmitri@acme.test")?;
    let mut carl = lan.node(2, "Carl Client", "+15550100")?;
    for node in [&mut anna, &mut dmitri, &mut carl] {
        node.start(&[])?;
    }
    let files = scratch_dir("heal-files")?;
    let (pdf, signature, stamp) = (files.join("contract.pdf"), files.join("signature.png"), files.join("stamp.png"));
    std::fs::write(&pdf, contract_pdf(1))?;
    std::fs::write(&signature, signature_png(1))?;
    std::fs::write(&stamp, stamp_png())?;
    let (envelope, director_link, client_link) = send(&anna, &pdf, "Consulting agreement")?;
    dmitri.cli(&["join", &director_link])?.ok()?;
    carl.cli(&["join", &client_link])?.ok()?;
    let settled = |s: &countersign_node::envelopes::Summary| s.parties.iter().all(|p| p.joined) && s.missing_blobs.is_empty();
    for node in [&anna, &dmitri, &carl] {
        node.wait_for(&envelope, Duration::from_secs(30), "both parties joined", settled)?;
    }

    // The director's machine loses its route; he signs meanwhile.
    lan.cut(1)?;
    let cut_at = Instant::now();
    let sign = ["sign", &envelope, "--signature", &signature.to_string_lossy(), "--stamp", &stamp.to_string_lossy()];
    dmitri.cli(&sign)?.ok()?;
    std::thread::sleep(PARTITION.saturating_sub(cut_at.elapsed()));
    let unseen = carl.status(&envelope)?;
    assert!(!unseen.my_turn, "the client cannot see a signature made behind a partition");

    // The route returns: both others see the signature within seconds.
    lan.heal(1)?;
    let healed_at = Instant::now();
    let clients_turn = |s: &countersign_node::envelopes::Summary| s.stage == Stage::Awaiting && s.my_turn;
    carl.wait_for(&envelope, Duration::from_secs(60), "the director's signature", clients_turn)?;
    let to_client = healed_at.elapsed();
    anna.wait_for(&envelope, Duration::from_secs(60), "the director's signature", |s| s.parties[0].signed_at.is_some())?;
    let to_sender = healed_at.elapsed();
    eprintln!("after a {PARTITION:?} partition: the client saw the signature {to_client:?} after the heal, the sender {to_sender:?}");
    assert!(
        to_client <= AFTER_HEAL && to_sender <= AFTER_HEAL,
        "after the heal the client saw the signature in {to_client:?}, the sender in {to_sender:?} (at most {AFTER_HEAL:?})"
    );
    Ok(())
}
