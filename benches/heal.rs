#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark stops on a broken fixture
//! Convergence after a partition: three `countersign` processes, each in its
//! own network namespace; the director is cut off (iptables DROP) for 60
//! seconds and signs meanwhile; the route returns; how long until the client
//! and the sender see the signature. Once with the network quiet, once while
//! the sender keeps sending the client 20 MB contracts over the same
//! connection. Needs root (CI has it) and a release build of the node:
//!
//! `cargo build --release -p countersign-node && cargo bench -p countersign-scenarios --bench heal`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use countersign_node::envelopes::Summary;
use countersign_scenarios::lan::Lan;
use countersign_scenarios::nodes::send;
use countersign_scenarios::scratch_dir;
use countersign_shared::test_utils::{contract_pdf, large_pdf, signature_png, stamp_png};

const PARTITION: Duration = Duration::from_secs(60);
const RUNS: usize = 3;

fn converge(with_traffic: bool) -> Duration {
    let lan = Lan::new(3).unwrap();
    let mut anna = lan.node(0, "Anna Sales", "anna@acme.test").unwrap();
    let mut dmitri = lan.node(1, "Dmitri Director", "dmitri@acme.test").unwrap();
    let mut carl = lan.node(2, "Carl Client", "+15550100").unwrap();
    for node in [&mut anna, &mut dmitri, &mut carl] {
        node.start(&[]).unwrap();
    }
    let files = scratch_dir("heal-bench").unwrap();
    let (pdf, large, signature, stamp) = (files.join("c.pdf"), files.join("large.pdf"), files.join("s.png"), files.join("t.png"));
    std::fs::write(&pdf, contract_pdf(1)).unwrap();
    std::fs::write(&signature, signature_png(1)).unwrap();
    std::fs::write(&stamp, stamp_png()).unwrap();
    let (envelope, director_link, client_link) = send(&anna, &pdf, "Consulting agreement").unwrap();
    dmitri.cli(&["join", &director_link]).unwrap().ok().unwrap();
    carl.cli(&["join", &client_link]).unwrap().ok().unwrap();
    let settled = |s: &Summary| s.parties.iter().all(|p| p.joined) && s.missing_blobs.is_empty();
    for node in [&anna, &dmitri, &carl] {
        node.wait_for(&envelope, Duration::from_secs(60), "joined", settled).unwrap();
    }

    // Other traffic on the sender-client connection, all along: 20 MB contracts.
    let busy = Arc::new(AtomicBool::new(with_traffic));
    let traffic = with_traffic.then(|| {
        let (busy, anna_dir, carl_dir) = (busy.clone(), anna.dir.clone(), carl.dir.clone());
        let (anna_ns, carl_ns) = (lan.namespace(0), lan.namespace(2));
        std::fs::write(&large, large_pdf(20 * 1024 * 1024)).unwrap();
        std::thread::spawn(move || {
            let run = |ns: &str, dir: &std::path::Path, args: &[&str]| {
                std::process::Command::new("ip")
                    .args(["netns", "exec", ns])
                    .arg(countersign_scenarios::nodes::countersign_bin().unwrap())
                    .arg("--data-dir")
                    .arg(dir)
                    .args(args)
                    .output()
                    .unwrap()
            };
            // The invitations' QR codes go to the sender's folder, not the working directory.
            let qr_dir = anna_dir.join("qr").to_string_lossy().into_owned();
            let mut n = 0;
            while busy.load(Ordering::Relaxed) {
                n += 1;
                let large = large.to_string_lossy().into_owned();
                let title = format!("Large {n}");
                let send = ["send", "--pdf", &large, "--title", &title, "--signer", "D:d@acme.test", "--client", "Carl:+15550100"];
                let out = run(&anna_ns, &anna_dir, &[&send[..], &["--qr-dir", &qr_dir]].concat());
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                if let Some(link) = text.split_whitespace().filter(|w| w.contains(countersign_shared::invite::WEB_PATH)).nth(1) {
                    run(&carl_ns, &carl_dir, &["join", link]);
                }
            }
        })
    });

    lan.cut(1).unwrap();
    let cut_at = Instant::now();
    let sign = ["sign", &envelope, "--signature", &signature.to_string_lossy(), "--stamp", &stamp.to_string_lossy()];
    dmitri.cli(&sign).unwrap().ok().unwrap();
    std::thread::sleep(PARTITION.saturating_sub(cut_at.elapsed()));
    lan.heal(1).unwrap();
    let healed = Instant::now();
    carl.wait_for(&envelope, Duration::from_secs(900), "the signature", |s| s.my_turn).unwrap();
    anna.wait_for(&envelope, Duration::from_secs(900), "the signature", |s| s.parties[0].signed_at.is_some()).unwrap();
    let took = healed.elapsed();
    busy.store(false, Ordering::Relaxed);
    if let Some(traffic) = traffic {
        let _ = traffic.join();
    }
    took
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    for with_traffic in [false, true] {
        let mut runs: Vec<Duration> = (0..RUNS).map(|_| converge(with_traffic)).collect();
        runs.sort();
        let shown: Vec<String> = runs.iter().map(|d| format!("{:.2}", d.as_secs_f64())).collect();
        println!(
            "after a {} s partition{}: the signature made behind it reached client and sender {:.2} s after the heal (median of {RUNS}: {} s)",
            PARTITION.as_secs(),
            if with_traffic { ", with 20 MB contracts flowing sender → client" } else { ", network otherwise quiet" },
            runs[RUNS / 2].as_secs_f64(),
            shown.join(", ")
        );
    }
}
