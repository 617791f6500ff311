//! A node that was offline catches up with everything at once: the client's
//! node is stopped while the director signs many envelopes; started again,
//! it shows every one of them as the client's turn within seconds, although
//! far more rounds are owed than one connection takes at a time.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test stops at the first failure

use std::time::{Duration, Instant};

use countersign_node::app::requests::{CreateRequest, PartyInput, SignRequest};
use countersign_node::datadir::{DataDir, Profile};
use countersign_node::party::{random_hex, random_secret};
use countersign_node::running::{NodeOptions, RunningNode};
use countersign_shared::EnvelopeId;
use countersign_shared::model::Role;
use countersign_shared::test_utils::{contract_pdf, signature_png, stamp_png};

/// More envelopes than one connection takes requests at a time (100).
const ENVELOPES: usize = 200;

async fn start(root: &std::path::Path, name: &str) -> (DataDir, RunningNode) {
    let data = DataDir::resolve(Some(root.join(name))).unwrap();
    if !data.root().join("key").exists() {
        data.init(&Profile { name: name.into(), contact: None }, random_secret()).unwrap();
    }
    let node = RunningNode::start(&data, NodeOptions::default()).await.unwrap();
    (data, node)
}

fn request(document: countersign_shared::Hash, title: String) -> CreateRequest {
    let party = |name: &str, role, contact: &str| PartyInput {
        name: name.into(),
        role,
        contact: contact.into(),
        order: None,
        stamp_required: None,
    };
    CreateRequest {
        title,
        document,
        parties: vec![party("Dmitri Director", Role::CompanySigner, "d@acme.test"), party("Carl Client", Role::Client, "+15550100")],
        fields: None,
        verifier_url: None,
        confirm_by_code: false,
        invite_all_now: false,
        placed: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_back_after_many_envelopes_were_signed_catches_up_within_seconds() {
    let root = std::env::temp_dir().join(format!("countersign-catch-up-{}", random_hex()));
    let (_, anna) = start(&root, "anna").await;
    let (_, dmitri) = start(&root, "dmitri").await;
    let (carl_data, carl) = start(&root, "carl").await;
    let document = anna.put_blob(contract_pdf(1)).await.unwrap();
    let mut envelopes = Vec::new();
    for n in 0..ENVELOPES {
        let created = anna.create(request(document, format!("Contract {n}"))).await.unwrap();
        dmitri.join(created.invites[0].link.clone(), None).await.unwrap();
        carl.join(created.invites[1].link.clone(), None).await.unwrap();
        envelopes.push(created.envelope.parse::<EnvelopeId>().unwrap());
    }
    let long = Duration::from_secs(120);
    for envelope in &envelopes {
        let everyone_in = |s: &countersign_node::envelopes::Summary| s.parties.iter().all(|p| p.joined) && s.missing_blobs.is_empty();
        dmitri.wait_for(*envelope, long, everyone_in).await.unwrap();
        carl.wait_for(*envelope, long, everyone_in).await.unwrap();
    }

    // The client's node stops; the director signs every envelope meanwhile.
    carl.close().await;
    let signature = dmitri.put_blob(signature_png(1)).await.unwrap();
    let stamp = dmitri.put_blob(stamp_png()).await.unwrap();
    for envelope in &envelopes {
        dmitri.sign(*envelope, SignRequest { signature: Some(signature), stamp: Some(stamp), texts: vec![] }).await.unwrap();
    }

    // Back again (on a new port): every envelope is the client's turn within seconds.
    let carl = RunningNode::start(&carl_data, NodeOptions::default()).await.unwrap();
    let started = Instant::now();
    let deadline = Duration::from_secs(10);
    let mut behind = Vec::new();
    for envelope in &envelopes {
        let left = deadline.saturating_sub(started.elapsed());
        if carl.wait_for(*envelope, left, |s| s.my_turn).await.is_err() {
            behind.push(envelope.short());
        }
    }
    assert!(behind.is_empty(), "{} of {ENVELOPES} envelopes not caught up after {deadline:?}: {behind:?}", behind.len());
    for node in [anna, dmitri, carl] {
        node.close().await;
    }
    let _ = std::fs::remove_dir_all(root);
}
