//! A node running in this process stops when asked: `close` ends its event
//! loop and its notifier and gives its data dir back.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test stops at the first failure

use std::time::{Duration, Instant};

use countersign_node::datadir::{DataDir, Profile};
use countersign_node::party::{random_hex, random_secret};
use countersign_node::running::{NodeOptions, RunningNode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_node_ends_its_work_and_its_data_dir_opens_again() {
    let dir = std::env::temp_dir().join(format!("countersign-close-{}", random_hex()));
    let data = DataDir::resolve(Some(dir.clone())).unwrap();
    data.init(&Profile { name: "Anna Sales".into(), contact: Some("anna@acme.test".into()) }, random_secret()).unwrap();
    let node = RunningNode::start(&data, NodeOptions::default()).await.unwrap();
    let handle = node.handle();
    assert_eq!(handle.info().await.unwrap().name, "Anna Sales");
    assert!(RunningNode::start(&data, NodeOptions::default()).await.is_err(), "a second node on the same data dir");

    let started = Instant::now();
    node.close().await;
    assert!(started.elapsed() < Duration::from_secs(5), "closing took {:?}", started.elapsed());
    let after = handle.info().await.unwrap_err();
    assert_eq!(after.to_string(), "the node is shutting down");

    let again = RunningNode::start(&data, NodeOptions::default()).await.unwrap();
    assert_eq!(again.info().await.unwrap().name, "Anna Sales");
    again.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
