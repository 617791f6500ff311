//! Golden vectors: the canonical bytes of every act, an invitation link and
//! the hash of the standard final PDF are committed in `tests/vectors/`. A
//! change to any of them breaks every signature and final PDF made before it,
//! so it must be a new format version, never an accident.
//!
//! To regenerate after a deliberate format change:
//! `COUNTERSIGN_BLESS=1 cargo test -p countersign-shared --test golden`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use std::path::PathBuf;

use countersign_shared::hash::Hash;
use countersign_shared::log::{Act, RawEntry};
use countersign_shared::test_utils::{CLIENT, Scenario, creator, party_key};

fn vector_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors").join(name)
}

fn check(name: &str, bytes: &[u8]) {
    let path = vector_path(name);
    if std::env::var_os("COUNTERSIGN_BLESS").is_some() {
        std::fs::write(&path, bytes).expect("writes the vector");
        return;
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run with COUNTERSIGN_BLESS=1 to create)", path.display()));
    assert!(golden == bytes, "{name} changed: the encoding is no longer what was signed before");
}

/// Every act of the standard envelope, in the order made.
fn acts() -> Vec<(&'static str, RawEntry)> {
    let mut s = Scenario::contract();
    let director_sign = s.director_signs();
    let director_seal = s.entries.last().expect("the director's seal").clone();
    let mut declined = s.clone();
    let decline = declined.append(&party_key(CLIENT), Act::Decline { slot: CLIENT, reason: "The price is wrong".into() });
    let mut voided = s.clone();
    let void = voided.append(&creator(), Act::Void { reason: "Sent to the wrong client".into() });
    let mut confirmed = s.clone();
    let confirm = confirmed.append(&creator(), Act::Confirm { slot: CLIENT, key: party_key(CLIENT).public() });
    vec![
        ("create.bin", s.entries[0].clone()),
        ("invite.bin", s.entries[1].clone()),
        ("join.bin", s.entries[3].clone()),
        ("sign.bin", director_sign),
        ("seal.bin", director_seal),
        ("decline.bin", decline),
        ("void.bin", void),
        ("confirm.bin", confirm),
    ]
}

#[test]
fn every_act_encodes_to_its_golden_bytes_and_back() {
    for (name, entry) in acts() {
        check(name, entry.bytes());
        let golden = std::fs::read(vector_path(name)).expect("vector exists");
        let decoded = RawEntry::decode(&golden).expect("golden bytes decode");
        assert_eq!(decoded, entry, "{name} decodes to a different entry");
        assert_eq!(decoded.entry().encode().len() + 64, golden.len());
    }
}

#[test]
fn the_invitation_links_are_stable() {
    let s = Scenario::contract();
    let invitation = &s.invites[&CLIENT].0;
    check("invitation.txt", invitation.to_web_link("https://verify.example").as_bytes());
    check("invitation-short.txt", invitation.short().to_web_link("https://verify.example").as_bytes());
}

#[test]
fn the_standard_final_pdf_is_stable() {
    let pdf = Scenario::signed_contract().render();
    check("final-contract.blake3", Hash::of(&pdf).to_string().as_bytes());
}
