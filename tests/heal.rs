//! Nodes that heal: each node in its own network namespace, a partition
//! made of dropped packets (the TCP connections stay open, as on a cut
//! route), and what a person sees once the route returns.

use std::time::{Duration, Instant};

use countersign_node::envelopes::Stage;
use countersign_scenarios::browser::Browser;
use countersign_scenarios::disk::SmallDisk;
use countersign_scenarios::lan::Lan;
use countersign_scenarios::nodes::{Node, send};
use countersign_scenarios::scratch_dir;
use countersign_shared::test_utils::{contract_pdf, large_pdf, signature_png, stamp_png};

/// Longer than a node takes to call a silent connection dead.
const PARTITION: Duration = Duration::from_secs(20);
/// The most a change may take to reach everyone after the route returns.
const AFTER_HEAL: Duration = Duration::from_secs(5);

/// Sender, director and client, each on its own host of a LAN, with the
/// contract sent and both parties joined; and the director's images' paths.
fn three_on_a_lan() -> anyhow::Result<(Lan, [Node; 3], String, [String; 2])> {
    let lan = Lan::new(3)?;
    let mut anna = lan.node(0, "Anna Sales", "anna@acme.test")?;
    let mut dmitri = lan.node(1, "Dmitri Director", "dmitri@acme.test")?;
    let mut carl = lan.node(2, "Carl Client", "+15550100")?;
    for node in [&mut anna, &mut dmitri, &mut carl] {
        node.start(&[])?;
    }
    let files = scratch_dir("lan-files")?;
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
    let images = [signature, stamp].map(|p| p.to_string_lossy().into_owned());
    Ok((lan, [anna, dmitri, carl], envelope, images))
}

#[test]
fn a_signature_made_during_a_partition_reaches_everyone_within_seconds_of_the_heal() -> anyhow::Result<()> {
    let (lan, [anna, dmitri, carl], envelope, [signature, stamp]) = three_on_a_lan()?;

    // The director's machine loses its route; he signs meanwhile.
    lan.cut(1)?;
    let cut_at = Instant::now();
    let sign = ["sign", envelope.as_str(), "--signature", signature.as_str(), "--stamp", stamp.as_str()];
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

#[test]
fn a_full_disk_is_an_error_the_person_can_read_and_the_node_carries_on_when_space_returns() -> anyhow::Result<()> {
    const MB: u64 = 1024 * 1024;
    let pdf = large_pdf(12 * 1024 * 1024);
    let files = scratch_dir("full-disk-files")?;
    std::fs::write(files.join("contract.pdf"), &pdf)?;
    // The director's data dir (and his node's log) on a disk too small for the PDF.
    let disk = SmallDisk::mount("full-disk", 4 * MB)?;
    let mut anna = Node::init("Anna Sales", "anna@acme.test")?;
    let mut dmitri = Node::init_at(disk.path.clone(), "Dmitri Director", "dmitri@acme.test", None)?;
    anna.start(&[])?;
    dmitri.start(&[])?;
    let (envelope, director_link, _) = send(&anna, &files.join("contract.pdf"), "Large contract")?;
    // The download fills the disk: joining says so (the Join itself is
    // made), the node keeps answering, and the sender is not blamed (never
    // cut off).
    let joined = dmitri.cli(&["join", &director_link])?;
    assert_ne!(joined.code, 0);
    assert!(joined.stdout.contains("Joined envelope"), "{}", joined.stdout);
    assert!(joined.stderr.contains("cannot be stored on this computer: the disk is full"), "{}\n{}", joined.stderr, dmitri.log());
    let status = dmitri.status(&envelope)?;
    assert_eq!(status.missing_blobs.len(), 1, "{status:?}");
    // The web app's document page says it too, instead of "still arriving".
    let browser = Browser::start(1280, 900)?;
    let link = dmitri.app_link()?;
    browser.go(&link)?;
    let origin = link.split("/app/").next().unwrap_or_default().to_owned();
    browser.go(&format!("{origin}/app/e/{envelope}"))?;
    browser.wait_for_text("The document cannot be stored on this computer: the disk is full")?;
    browser.screenshot("full-disk-document-page")?;
    drop(browser);
    let upload = dmitri.cli(&["send", "--pdf", &files.join("contract.pdf").to_string_lossy(), "--title", "T", "--signer", "A:a@b.test"])?;
    assert_ne!(upload.code, 0);
    assert!(upload.stderr.contains("the disk is full"), "{}", upload.stderr);
    assert!(!anna.log().contains("cutting off") && !dmitri.log().contains("cutting off"), "{}", dmitri.log());
    let leftovers: Vec<_> = walk(&disk.path).into_iter().filter(|p| p.ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "temporary files left on the full disk: {leftovers:?}");

    // Space returns: the download finishes by itself, byte for byte.
    disk.resize(64 * MB)?;
    dmitri.wait_for(&envelope, Duration::from_secs(30), "the PDF once space returned", |s| s.missing_blobs.is_empty())?;
    let hash = countersign_shared::Hash::of(&pdf).to_string();
    assert_eq!(std::fs::read(disk.path.join("blobs").join(hash))?, pdf);

    // Full again when the director signs: the signature is refused with the
    // reason, and not half-made (nobody receives it); with space, it goes through.
    std::fs::write(files.join("signature.png"), signature_png(1))?;
    std::fs::write(files.join("stamp.png"), stamp_png())?;
    let signature = files.join("signature.png").to_string_lossy().into_owned();
    let stamp = files.join("stamp.png").to_string_lossy().into_owned();
    let sign = ["sign", envelope.as_str(), "--signature", signature.as_str(), "--stamp", stamp.as_str()];
    // (The images are stored first, by a signature refused for a field the
    // director does not have: what fills up below is the act itself.)
    let no_such_field = [&sign[..], &["--set", "No such field=x"]].concat();
    assert!(dmitri.cli(&no_such_field)?.stderr.contains("No such field"));
    let filler = disk.path.join("filler");
    fill(&filler)?;
    let refused = dmitri.cli(&sign)?;
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("the disk is full"), "{}", refused.stderr);
    std::thread::sleep(Duration::from_secs(1));
    assert!(anna.status(&envelope)?.parties[0].signed_at.is_none(), "a signature that was refused must not travel");
    assert!(dmitri.status(&envelope)?.parties[0].signed_at.is_none(), "nor stay on the director's node");
    std::fs::remove_file(&filler)?;
    dmitri.cli(&sign)?.ok()?;
    anna.wait_for(&envelope, Duration::from_secs(30), "the director's signature", |s| s.parties[0].signed_at.is_some())?;
    dmitri.stop()?;
    Ok(())
}

/// Writes zeros to `path` until the disk is full.
fn fill(path: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path)?;
    let block = vec![0u8; 256 * 1024];
    loop {
        if let Err(e) = file.write_all(&block) {
            anyhow::ensure!(e.kind() == std::io::ErrorKind::StorageFull, "filling the disk: {e}");
            return Ok(());
        }
    }
}

/// Every file under `dir`, as text paths.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path.to_string_lossy().into_owned());
        }
    }
    found
}

#[test]
fn a_void_racing_the_last_signature_loses_on_every_node_and_the_final_pdf_stands() -> anyhow::Result<()> {
    let (lan, [anna, dmitri, carl], envelope, [signature, stamp]) = three_on_a_lan()?;
    dmitri.cli(&["sign", &envelope, "--signature", &signature, "--stamp", &stamp])?.ok()?;
    let clients_turn = |s: &countersign_node::envelopes::Summary| s.my_turn;
    carl.wait_for(&envelope, Duration::from_secs(30), "the client's turn", clients_turn)?;
    anna.wait_for(&envelope, Duration::from_secs(30), "the director's signature", |s| s.parties[0].signed_at.is_some())?;

    // The client signs behind a partition (his node completes the envelope
    // and makes the final PDF) while the sender, who cannot know, voids it.
    lan.cut(2)?;
    let client_values = ["--set", "Client name=Carl Client", "--set", "Client address=1 Main St"];
    carl.cli(&[&["sign", envelope.as_str(), "--signature", signature.as_str()][..], &client_values[..]].concat())?.ok()?;
    let completed = |s: &countersign_node::envelopes::Summary| s.stage == Stage::Completed;
    carl.wait_for(&envelope, Duration::from_secs(30), "the client's own final PDF", completed)?;
    anna.cli(&["void", &envelope, "--reason", "the price changed"])?.ok()?;
    assert_eq!(anna.status(&envelope)?.stage, Stage::Voided);
    lan.heal(2)?;

    // After the heal every node agrees: completed, the void kept as too late,
    // and one final PDF, byte for byte, that the verifier calls valid.
    let mut finals = Vec::new();
    for node in [&anna, &dmitri, &carl] {
        let summary = node.wait_for(&envelope, Duration::from_secs(30), "completion after the heal", |s| {
            s.stage == Stage::Completed && s.timeline.iter().any(|t| t.what.contains("voided"))
        })?;
        let void = summary.timeline.iter().find(|t| t.what.contains("voided")).map(|t| t.what.clone()).unwrap_or_default();
        assert!(void.contains("too late"), "{void}");
        let out = scratch_dir("race-final")?.join("final.pdf");
        node.cli(&["export", &envelope, "--out", &out.to_string_lossy()])?.ok()?;
        finals.push(std::fs::read(out)?);
    }
    assert!(finals.windows(2).all(|pair| pair[0] == pair[1]), "every node holds the same final PDF");
    let report = countersign_shared::verify::verify(&finals[0]);
    assert_eq!(report.verdict, countersign_shared::verify::Verdict::Valid, "{:?}", report.reasons);
    Ok(())
}

#[test]
fn a_node_whose_clock_is_a_year_behind_is_told_and_cannot_date_an_act_before_what_it_follows() -> anyhow::Result<()> {
    let mut anna = Node::init("Anna Sales", "anna@acme.test")?;
    let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
    let mut carl = Node::init("Carl Client", "+15550100")?;
    carl.set_clock("-400d");
    for node in [&mut anna, &mut dmitri, &mut carl] {
        node.start(&[])?;
    }
    let files = scratch_dir("clock-files")?;
    std::fs::write(files.join("contract.pdf"), contract_pdf(1))?;
    let (envelope, director_link, client_link) = send(&anna, &files.join("contract.pdf"), "Consulting agreement")?;
    dmitri.cli(&["join", &director_link])?.ok()?;

    // The client's computer dates his acceptance a year before the invitation:
    // refused, with what to do; and his node says its clock looks behind.
    let refused = carl.cli(&["join", &client_link])?;
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("this computer's clock says") && refused.stderr.contains("set the clock right"), "{}", refused.stderr);
    let info = carl.cli(&["info"])?.ok()?;
    assert!(info.stdout.contains("warning: this computer's clock seems to be behind"), "{}\n{}", info.stdout, carl.log());
    assert!(info.stdout.contains("399 days ahead"), "{}", info.stdout);
    // The web app's pipeline, where the person looks, says so too.
    let browser = Browser::start(390, 844)?;
    browser.go(&carl.app_link()?)?;
    browser.wait_for_text("This computer's clock seems to be behind")?;
    browser.screenshot("clock-behind-pipeline-phone")?;
    drop(browser);
    // Nobody else took anything from him, and the envelope waits as before.
    let status = anna.status(&envelope)?;
    assert!(!status.parties[1].joined, "{status:?}");
    Ok(())
}

#[test]
fn a_node_killed_again_and_again_loses_no_act_it_acknowledged() -> anyhow::Result<()> {
    let mut anna = Node::init("Anna Sales", "anna@acme.test")?;
    let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
    anna.start(&[])?;
    dmitri.start(&[])?;
    let files = scratch_dir("kill-files")?;
    let (pdf, signature, stamp) = (files.join("c.pdf"), files.join("s.png"), files.join("t.png"));
    std::fs::write(&pdf, contract_pdf(1))?;
    std::fs::write(&signature, signature_png(1))?;
    std::fs::write(&stamp, stamp_png())?;
    let (signature, stamp) = (signature.to_string_lossy().into_owned(), stamp.to_string_lossy().into_owned());
    for round in 0..6u64 {
        let (envelope, director_link, _) = send(&anna, &pdf, &format!("Contract {round}"))?;
        // Each acknowledged act is followed by a kill -9 a few milliseconds later
        // (a different moment each round); after the restart it is still there.
        dmitri.cli(&["join", &director_link])?.ok()?;
        std::thread::sleep(Duration::from_millis(round * 7));
        dmitri.kill()?;
        dmitri.start(&[])?;
        assert!(dmitri.status(&envelope)?.parties[0].is_me, "round {round}: the join was lost");
        dmitri.cli(&["sign", &envelope, "--signature", &signature, "--stamp", &stamp])?.ok()?;
        std::thread::sleep(Duration::from_millis(round * 5));
        dmitri.kill()?;
        dmitri.start(&[])?;
        let signed = dmitri.status(&envelope)?;
        assert!(signed.parties[0].signed_at.is_some(), "round {round}: the signature was lost: {signed:?}");
        // Nothing is damaged, and the step is sealed and reaches the sender.
        anna.wait_for(&envelope, Duration::from_secs(30), "the director's sealed signature", |s| {
            s.parties[0].signed_at.is_some() && s.timeline.iter().any(|t| t.what.contains("PDF signature"))
        })?;
    }
    assert!(!dmitri.log().contains("is damaged"), "{}", dmitri.log());
    Ok(())
}
