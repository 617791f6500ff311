//! The guest's whole part, through the operations the page calls: it syncs
//! with a node's copy of the envelope, reads its short link, joins with a
//! key that signs elsewhere (as WebCrypto does), is refused before the
//! company signed, signs after, seals the step it was shown, and makes the
//! final PDF, byte for byte the one a node renders, which verifies.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

use automerge::sync;
use countersign_guest::frames;
use countersign_guest::ops::{self, run};
use countersign_shared::envelope_doc::EnvelopeDoc;
use countersign_shared::keys::{SecretKey, Signature};
use countersign_shared::test_utils::{CLIENT, Scenario, contract_pdf, contract_terms, signature_png};

/// Calls an operation as the page does: strings framed in, framed out.
/// The browser's clock as the core reads it: Unix ms, then minutes east of
/// UTC (the client is in New York, UTC-05:00).
fn clock(ms: u64) -> [u8; 10] {
    let mut out = [0; 10];
    out[..8].copy_from_slice(&ms.to_be_bytes());
    out[8..].copy_from_slice(&(-300i16).to_be_bytes());
    out
}

fn call(op: u32, input: &[&[u8]]) -> Result<Vec<Vec<u8>>, String> {
    let framed = frames::write(input);
    let strings = frames::read(&framed).map_err(|e| e.to_string())?;
    let output = run(op, &strings).map_err(|e| e.to_string())?;
    let framed = frames::write(&output);
    Ok(frames::read(&framed).map_err(|e| e.to_string())?.into_iter().map(<[u8]>::to_vec).collect())
}

fn ok(op: u32, input: &[&[u8]]) -> Vec<Vec<u8>> {
    call(op, input).unwrap_or_else(|e| panic!("operation {op} failed: {e}"))
}

/// Syncs the guest's document with the node's copy until neither has more to say.
fn sync_with(node: &mut EnvelopeDoc, state: &mut sync::State) {
    ok(ops::RECONNECTED, &[]);
    for _ in 0..20 {
        let out = ok(ops::SYNC_OUT, &[]);
        if let Some(message) = out.first() {
            node.receive_sync(state, message).unwrap();
        }
        let back = node.sync_message(state);
        if let Some(message) = &back {
            ok(ops::SYNC_IN, &[message]);
        }
        if out.is_empty() && back.is_none() {
            return;
        }
    }
    panic!("sync did not settle");
}

fn node_doc(scenario: &Scenario, node: &mut EnvelopeDoc) {
    for entry in &scenario.entries {
        node.add_entry(entry).unwrap();
    }
}

/// Carl's self-signed certificate for the guest's key, made as the page makes it.
fn certificate(guest: &SecretKey) -> Vec<u8> {
    let me = guest.public().as_bytes().to_vec();
    let (name, contact, since) = (b"Carl Client".as_slice(), b"+15550100".as_slice(), 1_800_000_000_000u64.to_be_bytes());
    let to_sign = ok(ops::CERTIFICATE, &[&me, name, contact, &since]);
    ok(ops::CERTIFICATE_SIGNED, &[&me, name, contact, &since, guest.sign(&to_sign[0]).as_bytes()]).remove(0)
}

fn guest_signs(key: &SecretKey, unsigned: &[Vec<u8>]) -> Signature {
    key.sign(&unsigned[1])
}

#[test]
fn the_guest_joins_waits_signs_seals_and_makes_the_final_pdf_every_node_makes() {
    let pdf = contract_pdf(1);
    let mut scenario = Scenario::invited(pdf.clone(), contract_terms(&pdf));
    scenario.join(0);
    let envelope = scenario.envelope.as_bytes().to_vec();
    let (invitation, _) = scenario.invites[&CLIENT].clone();
    let link = invitation.short().to_web_link("https://verify.example");
    // The guest's key: it signs elsewhere (WebCrypto in the browser).
    let guest = SecretKey::from_seed([42; 32]);
    let me = guest.public().as_bytes().to_vec();

    let mut node = EnvelopeDoc::new();
    let mut peer = sync::State::new();
    node_doc(&scenario, &mut node);
    ok(ops::OPEN, &[&[7; 16], b""]);
    sync_with(&mut node, &mut peer);
    let view: serde_json::Value = serde_json::from_slice(&ok(ops::SUMMARY, &[&envelope, &me])[0]).unwrap();
    assert_eq!(view["title"], "Consulting agreement");
    assert_eq!(view["me"], serde_json::Value::Null);
    assert_eq!(view["status"], "awaiting");

    // The short link: the inviter, and a lookup proof for this key.
    let opened = ok(ops::OPEN_LINK, &[link.as_bytes(), &me]);
    assert_eq!(opened[0], scenario.invites[&CLIENT].0.inviter.as_bytes());
    assert!(opened[3].is_empty(), "a short link does not say which envelope");
    let expires = invitation.expires_at.to_be_bytes();

    // Its certificate and its Join, each signed elsewhere.
    let certificate = certificate(&guest);
    let now = clock(scenario.tick());
    let join = ok(ops::JOIN, &[link.as_bytes(), &envelope, &[CLIENT], &expires, &me, &now, &certificate]);
    let forged = SecretKey::from_seed([43; 32]).sign(&join[1]);
    let refused = call(ops::FINISH, &[&envelope, &join[0], forged.as_bytes()]).unwrap_err();
    assert!(refused.contains("signature"), "{refused}");
    ok(ops::FINISH, &[&envelope, &join[0], guest_signs(&guest, &join).as_bytes()]);
    let view: serde_json::Value = serde_json::from_slice(&ok(ops::SUMMARY, &[&envelope, &me])[0]).unwrap();
    assert_eq!(view["me"], 1);
    assert_eq!(view["my_turn"], false, "the director signs first");

    // Signing before the director is refused by the rules, and nothing is kept.
    let signature = signature_png(3);
    let values: Vec<&[u8]> =
        vec![b"t\x00\x03", b"Carl Client", b"t\x00\x04", b"1 Main St, Springfield", b"i\x00\x05", signature.as_slice()];
    let early = ok(ops::SIGN, &[[envelope.as_slice(), &me, &now].as_slice(), values.as_slice()].concat());
    let error = call(ops::FINISH, &[&envelope, &early[0], guest_signs(&guest, &early).as_bytes()]).unwrap_err();
    assert!(error.contains("may sign only after Dmitri Director"), "{error}");

    // The node hears of the join; the director signs and seals there; the guest hears of it.
    sync_with(&mut node, &mut peer);
    let entries = node.entries();
    assert!(entries.len() > scenario.entries.len(), "the guest's join reached the node");
    scenario.entries = entries;
    scenario.director_signs();
    node_doc(&scenario, &mut node);
    sync_with(&mut node, &mut peer);
    let view: serde_json::Value = serde_json::from_slice(&ok(ops::SUMMARY, &[&envelope, &me])[0]).unwrap();
    assert_eq!(view["my_turn"], true);

    let now = clock(scenario.tick());
    let sign = ok(ops::SIGN, &[[envelope.as_slice(), &me, &now].as_slice(), values.as_slice()].concat());
    ok(ops::FINISH, &[&envelope, &sign[0], guest_signs(&guest, &sign).as_bytes()]);
    let view: serde_json::Value = serde_json::from_slice(&ok(ops::SUMMARY, &[&envelope, &me])[0]).unwrap();
    assert_eq!(view["to_seal"], true);

    // The step the guest shows, and its seal.
    let mut blobs: Vec<Vec<u8>> = scenario.blobs.values().cloned().collect();
    blobs.push(signature.clone());
    let blob_refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
    let step = ok(ops::STEP, &[[envelope.as_slice(), &me, &pdf].as_slice(), blob_refs.as_slice()].concat());
    assert!(step[0].starts_with(&pdf), "the step is the document plus the updates");
    let seal = ok(ops::SEAL, &[&envelope, &me, &now, guest.sign(&step[1]).as_bytes()]);
    ok(ops::FINISH, &[&envelope, &seal[0], guest_signs(&guest, &seal).as_bytes()]);

    // The final PDF: verified, and the node's render of the same log is the same bytes.
    let made = ok(ops::FINAL, &[[envelope.as_slice(), &pdf].as_slice(), blob_refs.as_slice()].concat());
    let report: serde_json::Value = serde_json::from_slice(&made[1]).unwrap();
    assert_eq!(report["verdict"], "valid", "{report}");
    sync_with(&mut node, &mut peer);
    scenario.entries = node.entries();
    scenario.blobs.insert(countersign_shared::Hash::of(&signature), signature);
    assert_eq!(made[0], scenario.render(), "the node renders the very same final PDF");

    // The document kept in the browser opens again with everything in it.
    let saved = ok(ops::SAVE, &[]).remove(0);
    ok(ops::OPEN, &[&[8; 16], &saved]);
    let view: serde_json::Value = serde_json::from_slice(&ok(ops::SUMMARY, &[&envelope, &me])[0]).unwrap();
    assert_eq!(view["status"], "completed");
}

#[test]
fn damaged_calls_get_errors_not_panics() {
    assert!(call(ops::SUMMARY, &[b"short"]).is_err());
    ok(ops::OPEN, &[&[1; 16], b""]);
    assert!(call(ops::SUMMARY, &[&[0; 32], &[0; 32]]).is_err(), "an empty document has no envelope");
    assert!(call(ops::OPEN_LINK, &[b"https://x/join#garbage", &[0; 32]]).is_err());
    assert!(call(ops::SYNC_IN, &[b"not a sync message"]).is_err());
    assert!(call(999, &[]).is_err());
    assert!(call(ops::OPEN, &[&[1; 3], b""]).is_err());
    assert!(frames::read(&[0, 0, 0, 2, 0, 0, 0, 9]).is_err());
}

#[test]
fn the_guest_may_decline_with_a_reason_and_the_envelope_ends() {
    let pdf = contract_pdf(1);
    let mut scenario = Scenario::invited(pdf.clone(), contract_terms(&pdf));
    let envelope = scenario.envelope.as_bytes().to_vec();
    let (invitation, _) = scenario.invites[&CLIENT].clone();
    let link = invitation.to_web_link("https://verify.example");
    let guest = SecretKey::from_seed([44; 32]);
    let me = guest.public().as_bytes().to_vec();
    let mut node = EnvelopeDoc::new();
    let mut peer = sync::State::new();
    node_doc(&scenario, &mut node);
    ok(ops::OPEN, &[&[9; 16], b""]);
    sync_with(&mut node, &mut peer);
    let certificate = certificate(&guest);
    let now = clock(scenario.tick());
    let expires = invitation.expires_at.to_be_bytes();
    let join = ok(ops::JOIN, &[link.as_bytes(), &envelope, &[CLIENT], &expires, &me, &now, &certificate]);
    ok(ops::FINISH, &[&envelope, &join[0], guest_signs(&guest, &join).as_bytes()]);
    assert!(call(ops::DECLINE, &[&envelope, &me, &now, b"   "]).unwrap_err().contains("say why"));
    let decline = ok(ops::DECLINE, &[&envelope, &me, &now, b"The fee is wrong"]);
    ok(ops::FINISH, &[&envelope, &decline[0], guest_signs(&guest, &decline).as_bytes()]);
    let view: serde_json::Value = serde_json::from_slice(&ok(ops::SUMMARY, &[&envelope, &me])[0]).unwrap();
    assert_eq!(view["status"], "declined");
    assert_eq!(view["ended"], "The fee is wrong");
}
