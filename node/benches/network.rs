//! Node speed over real libp2p on loopback:
//! 1. time from the director's `sign` to the client's node showing its turn;
//! 2. sending a 20 MB PDF to a newly joined party, against a plain loopback
//!    TCP copy of the same bytes written to a file and synced, in the same run;
//! 3. a node holding 10,000 envelopes: `countersign serve` start-up, `list`,
//!    resident memory;
//! 4. catch-up: a client's node off while the director signs 200 (then
//!    2,000) envelopes; from its restart until every one shows its turn.
//!
//! `cargo bench -p countersign-node --bench network` (all three), or with a
//! filter: `-- turn`, `-- transfer`, `-- envelopes`, `-- catch-up`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark stops on a broken fixture

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{busy_data_dir, median, ms, scratch};
use countersign_node::app::requests::{CreateRequest, PartyInput, SignRequest};
use countersign_node::datadir::{DataDir, Profile};
use countersign_node::party::random_secret;
use countersign_node::running::{NodeOptions, RunningNode};
use countersign_shared::EnvelopeId;
use countersign_shared::model::Role;
use countersign_shared::test_utils::{contract_pdf, large_pdf, signature_png, stamp_png};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const WAIT: Duration = Duration::from_secs(120);

async fn node(root: &std::path::Path, name: &str) -> RunningNode {
    let data = DataDir::resolve(Some(root.join(name))).unwrap();
    data.init(&Profile { name: name.into(), contact: None }, random_secret()).unwrap();
    RunningNode::start(&data, NodeOptions::default()).await.unwrap()
}

fn request(document: countersign_shared::Hash, title: impl Into<String>) -> CreateRequest {
    CreateRequest {
        title: title.into(),
        document,
        parties: vec![
            PartyInput {
                name: "Dmitri Director".into(),
                role: Role::CompanySigner,
                contact: "d@acme.test".into(),
                order: None,
                stamp_required: Some(true),
            },
            PartyInput { name: "Carl Client".into(), role: Role::Client, contact: "+15550100".into(), order: None, stamp_required: None },
        ],
        fields: None,
        verifier_url: None,
        confirm_by_code: false,
        invite_all_now: false,
        placed: None,
    }
}

async fn sign_to_client_ready(root: &std::path::Path) {
    let (anna, dmitri, carl) = (node(root, "anna").await, node(root, "dmitri").await, node(root, "carl").await);
    let pdf = contract_pdf(1);
    let signature = dmitri.put_blob(signature_png(1)).await.unwrap();
    let stamp = dmitri.put_blob(stamp_png()).await.unwrap();
    let mut samples = Vec::new();
    for round in 0..21 {
        let document = anna.put_blob(pdf.clone()).await.unwrap();
        let created = anna.create(request(document, format!("Contract {round}"))).await.unwrap();
        let envelope: EnvelopeId = created.envelope.parse().unwrap();
        dmitri.join(created.invites[0].link.clone(), None).await.unwrap();
        carl.join(created.invites[1].link.clone(), None).await.unwrap();
        let ready = |s: &countersign_node::envelopes::Summary| s.missing_blobs.is_empty() && s.parties.iter().all(|p| p.joined);
        if dmitri.wait_for(envelope, Duration::from_secs(10), ready).await.is_err() {
            let s = dmitri.status(envelope).await.unwrap();
            let a = anna.status(envelope).await.unwrap();
            let c = carl.status(envelope).await.unwrap();
            panic!(
                "round {round}: director sees joined {:?} missing {:?}; anna sees {:?}; carl sees {:?} missing {:?}",
                s.parties.iter().map(|p| p.joined).collect::<Vec<_>>(),
                s.missing_blobs,
                a.parties.iter().map(|p| p.joined).collect::<Vec<_>>(),
                c.parties.iter().map(|p| p.joined).collect::<Vec<_>>(),
                c.missing_blobs
            );
        }
        carl.wait_for(envelope, WAIT, ready).await.expect("the client's node sees both parties joined");
        let started = Instant::now();
        dmitri.sign(envelope, SignRequest { signature: Some(signature), stamp: Some(stamp), texts: vec![] }).await.unwrap();
        carl.wait_for(envelope, WAIT, |s| s.my_turn).await.unwrap();
        if round > 0 {
            samples.push(started.elapsed());
        }
    }
    let p90 = {
        let mut s = samples.clone();
        s.sort();
        s[s.len() * 9 / 10]
    };
    println!("director sign -> client's node shows its turn: median {:.2} ms, p90 {:.2} ms (20 runs)", ms(median(samples)), ms(p90));
}

/// A plain loopback TCP copy of `bytes`, written to a file in `dir` and
/// synced to disk, as a node must before it says it holds them.
/// Writes back everything the system holds dirty (`sync`).
fn settle_disk() {
    let _ = Command::new("sync").status();
}

async fn tcp_copy_and_fsync(bytes: &[u8], dir: &std::path::Path) -> Duration {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let len = bytes.len();
    let path = dir.join("tcp-copy.bin");
    let reader = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut received = Vec::with_capacity(len);
        socket.read_to_end(&mut received).await.unwrap();
        tokio::task::spawn_blocking(move || {
            let mut file = std::fs::File::create(&path).unwrap();
            std::io::Write::write_all(&mut file, &received).unwrap();
            file.sync_all().unwrap();
            received.len()
        })
        .await
        .unwrap()
    });
    let started = Instant::now();
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    socket.write_all(bytes).await.unwrap();
    socket.shutdown().await.unwrap();
    assert_eq!(reader.await.unwrap(), len);
    started.elapsed()
}

async fn twenty_megabytes(root: &std::path::Path) {
    let anna = node(root, "anna-large").await;
    let pdf = large_pdf(20 * 1024 * 1024);
    let (mut ours, mut tcp) = (Vec::new(), Vec::new());
    for run in 0..5 {
        let dmitri = node(root, &format!("dmitri-large-{run}")).await;
        let document = anna.put_blob(pdf.clone()).await.unwrap();
        let created = anna.create(request(document, format!("Large {run}"))).await.unwrap();
        let envelope: EnvelopeId = created.envelope.parse().unwrap();
        // Each side starts with nothing waiting to be written back: the
        // disk's backlog from the runs before is not what is measured.
        settle_disk();
        let started = Instant::now();
        dmitri.join(created.invites[0].link.clone(), None).await.unwrap();
        dmitri.wait_for(envelope, WAIT, |s| s.missing_blobs.is_empty()).await.unwrap();
        ours.push(started.elapsed());
        settle_disk();
        tcp.push(tcp_copy_and_fsync(&pdf, root).await);
    }
    let (ours, tcp) = (median(ours), median(tcp));
    println!(
        "20 MB PDF to a newly joined party: median {:.1} ms; plain loopback TCP copy + fsync {:.1} ms; ratio {:.1}x (5 runs, {} bytes)",
        ms(ours),
        ms(tcp),
        ours.as_secs_f64() / tcp.as_secs_f64(),
        pdf.len()
    );
}

fn ten_thousand_envelopes(root: &std::path::Path) {
    let data = busy_data_dir(root, 10_000);
    let bin = env!("CARGO_BIN_EXE_countersign");
    let mut starts = Vec::new();
    let mut lists = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let mut child = Command::new(bin)
            .arg("--data-dir")
            .arg(data.root())
            .args(["serve", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let probe = "0".repeat(64);
        let answers = |data: &DataDir| {
            let out = Command::new(bin).arg("--data-dir").arg(data.root()).args(["status", &probe]).output().unwrap();
            String::from_utf8_lossy(&out.stderr).contains("has no envelope")
        };
        while data.api_info().is_none_or(|i| i.pid != child.id()) || !answers(&data) {
            std::thread::sleep(Duration::from_millis(5));
        }
        starts.push(started.elapsed());
        for _ in 0..3 {
            let listed = Instant::now();
            let out = Command::new(bin).arg("--data-dir").arg(data.root()).args(["list", "--json"]).output().unwrap();
            assert!(out.status.success());
            lists.push(listed.elapsed());
        }
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
        let kb: u64 = status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0);
        rss.push(kb);
        Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
        child.wait().unwrap();
    }
    rss.sort();
    println!(
        "10,000 envelopes: serve start-up to answering {:.0} ms; `list` (CLI process, JSON of all) {:.0} ms; resident memory {} MB (medians of 3 and 9)",
        ms(median(starts)),
        ms(median(lists)),
        rss[1] / 1024
    );
}

async fn catch_up(root: &std::path::Path, count: usize) -> Duration {
    let (anna, dmitri) = (node(root, &format!("anna-{count}")).await, node(root, &format!("dmitri-{count}")).await);
    let carl_data = DataDir::resolve(Some(root.join(format!("carl-{count}")))).unwrap();
    carl_data.init(&Profile { name: "Carl".into(), contact: None }, random_secret()).unwrap();
    let carl = RunningNode::start(&carl_data, NodeOptions::default()).await.unwrap();
    let document = anna.put_blob(contract_pdf(1)).await.unwrap();
    let mut envelopes = Vec::with_capacity(count);
    for n in 0..count {
        let created = anna.create(request(document, format!("Contract {n}"))).await.unwrap();
        dmitri.join(created.invites[0].link.clone(), None).await.unwrap();
        carl.join(created.invites[1].link.clone(), None).await.unwrap();
        envelopes.push(created.envelope.parse::<EnvelopeId>().unwrap());
    }
    let ready = |s: &countersign_node::envelopes::Summary| s.parties.iter().all(|p| p.joined) && s.missing_blobs.is_empty();
    for envelope in &envelopes {
        dmitri.wait_for(*envelope, WAIT, ready).await.unwrap();
        carl.wait_for(*envelope, WAIT, ready).await.unwrap();
    }
    carl.close().await;
    let signature = dmitri.put_blob(signature_png(1)).await.unwrap();
    let stamp = dmitri.put_blob(stamp_png()).await.unwrap();
    for envelope in &envelopes {
        dmitri.sign(*envelope, SignRequest { signature: Some(signature), stamp: Some(stamp), texts: vec![] }).await.unwrap();
    }
    let started = Instant::now();
    let carl = RunningNode::start(&carl_data, NodeOptions::default()).await.unwrap();
    for envelope in &envelopes {
        carl.wait_for(*envelope, Duration::from_secs(600), |s| s.my_turn).await.unwrap();
    }
    let took = started.elapsed();
    for node in [anna, dmitri, carl] {
        node.close().await;
    }
    took
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes `--bench`; any other argument picks what runs.
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let runs = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let root = scratch("network");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if runs("turn") {
        runtime.block_on(sign_to_client_ready(&root));
    }
    if runs("transfer") {
        runtime.block_on(twenty_megabytes(&root));
    }
    if runs("envelopes") {
        ten_thousand_envelopes(&root);
    }
    if runs("catch-up") {
        for count in [200, 2_000] {
            let took = runtime.block_on(catch_up(&root, count));
            println!(
                "catch-up: {count} envelopes signed while the client's node was off are its turn {:.2} s after its restart",
                took.as_secs_f64()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}
