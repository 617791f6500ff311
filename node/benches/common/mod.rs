//! What the node benchmarks share: scratch folders, medians, and a data dir
//! holding many envelopes.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)] // each bench uses part of it; a broken fixture stops it

use std::path::{Path, PathBuf};
use std::time::Duration;

use countersign_node::datadir::{DataDir, Profile};
use countersign_node::envelopes::Envelopes;
use countersign_node::party::random_secret;
use countersign_shared::test_utils::{contract_pdf, contract_terms};

/// A fresh folder for one benchmark.
pub(crate) fn scratch(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("countersign-bench-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The median sample.
pub(crate) fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Milliseconds.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A data dir under `root` whose node created `count` envelopes.
pub(crate) fn busy_data_dir(root: &Path, count: usize) -> DataDir {
    let data = DataDir::resolve(Some(root.join("busy"))).unwrap();
    data.init(&Profile { name: "Busy Sales".into(), contact: None }, random_secret()).unwrap();
    let pdf = contract_pdf(1);
    let mut envelopes = Envelopes::open(data.clone()).unwrap();
    for i in 0..count {
        let mut terms = contract_terms(&pdf);
        terms.title = format!("Contract {i}");
        let (envelope, _) = envelopes.party_mut().create(&pdf, terms).unwrap();
        let entries: Vec<_> = envelopes.state(envelope).unwrap().valid().iter().map(|v| v.raw().clone()).collect();
        envelopes.record(envelope, &entries).unwrap();
    }
    data
}
