//! Every way an entry can break the rules gets its specific reason, and a
//! rejected entry changes nothing (P2–P6).

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use countersign_shared::hash::EntryId;
use countersign_shared::log::rules::Rejection;
use countersign_shared::log::{Act, RawEntry, Value};
use countersign_shared::state::{EnvelopeState, Status, fold};
use countersign_shared::test_utils::*;

/// Folds `scenario` plus `extra` and returns the state and why `extra` was rejected.
fn judge(scenario: &Scenario, extra: &RawEntry) -> (EnvelopeState, Option<Rejection>) {
    let mut entries = scenario.entries.clone();
    entries.push(extra.clone());
    let state = fold(scenario.envelope, entries).expect("the envelope folds");
    let reason = state.rejected().iter().find(|r| r.id == extra.id()).map(|r| r.reason.clone());
    (state, reason)
}

/// Asserts `extra` is rejected for `expected` and leaves the state as it was.
fn assert_rejected(scenario: &Scenario, extra: &RawEntry, expected: Rejection) {
    let before = scenario.state();
    let (after, reason) = judge(scenario, extra);
    assert_eq!(reason, Some(expected));
    assert_eq!(after.status(), before.status(), "a rejected entry must not change the status");
    let ids = |s: &EnvelopeState| s.valid().iter().map(|v| v.id()).collect::<Vec<EntryId>>();
    assert_eq!(ids(&after), ids(&before), "a rejected entry must not join the valid set");
}

#[test]
fn the_standard_flow_completes() {
    let mut s = Scenario::contract();
    assert_eq!(s.state().status(), Status::Awaiting { slots: vec![DIRECTOR] });
    s.director_signs();
    assert_eq!(s.state().status(), Status::Awaiting { slots: vec![CLIENT] });
    s.client_signs();
    let state = s.state();
    assert_eq!(state.status(), Status::Completed);
    assert!(state.rejected().is_empty());
}

#[test]
fn a_draft_before_anyone_is_invited() {
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let s = Scenario::invited(pdf, terms);
    let state = fold(s.envelope, s.entries[..1].to_vec()).expect("folds");
    assert_eq!(state.status(), Status::Draft);
}

#[test]
fn an_entry_whose_signature_does_not_verify() {
    let mut s = Scenario::contract();
    let sign = {
        let values = s.director_values();
        let parents = s.state().heads();
        s.entry(&party_key(DIRECTOR), parents, Act::Sign { slot: DIRECTOR, values })
    };
    let mut bytes = sign.bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    let forged = RawEntry::decode(&bytes).expect("still decodes");
    assert_rejected(&s, &forged, Rejection::BadSignature);
}

#[test]
fn the_client_cannot_sign_before_the_company_even_with_a_perfect_entry() {
    let mut s = Scenario::contract();
    let values = s.client_values();
    let parents = s.state().heads();
    let early = s.entry(&party_key(CLIENT), parents, Act::Sign { slot: CLIENT, values });
    let before = s.state();
    let (_, reason) = judge(&s, &early);
    assert!(matches!(reason, Some(Rejection::OutOfOrder { .. })), "{reason:?}");
    assert_eq!(
        reason.map(|r| r.to_string()).unwrap_or_default(),
        "Carl Client (client) may sign only after Dmitri Director (company signer), who has not signed yet"
    );
    assert_eq!(before.status(), Status::Awaiting { slots: vec![DIRECTOR] });

    // Even once the director has signed, the early entry stays invalid: it
    // does not build on the director's Sign.
    s.entries.push(early.clone());
    s.director_signs();
    let state = s.state();
    assert!(state.rejected().iter().any(|r| r.id == early.id()));
    assert_eq!(state.status(), Status::Awaiting { slots: vec![CLIENT] });
}

#[test]
fn a_value_for_a_field_that_is_not_the_signers() {
    let mut s = Scenario::contract();
    let mut values = s.director_values();
    values.push((3, Value::Text("Not the director's field".into())));
    let parents = s.state().heads();
    let sign = s.entry(&party_key(DIRECTOR), parents, Act::Sign { slot: DIRECTOR, values });
    assert_rejected(&s, &sign, Rejection::NotYourField("#3".into()));
}

#[test]
fn a_required_field_left_empty() {
    let mut s = Scenario::contract();
    s.director_signs();
    let mut values = s.client_values();
    values.retain(|(index, _)| *index != 4);
    let parents = s.state().heads();
    let sign = s.entry(&party_key(CLIENT), parents, Act::Sign { slot: CLIENT, values });
    assert_rejected(&s, &sign, Rejection::MissingRequired("Client address".into()));

    let mut values = s.client_values();
    values[0].1 = Value::Text("   ".into());
    let parents = s.state().heads();
    let blank = s.entry(&party_key(CLIENT), parents, Act::Sign { slot: CLIENT, values });
    let (_, reason) = judge(&s, &blank);
    assert!(matches!(reason, Some(Rejection::BadValue { ref field, .. }) if field == "Client name"), "{reason:?}");
}

#[test]
fn a_stamp_missing_where_the_party_requires_one() {
    let mut s = Scenario::contract();
    let mut values = s.director_values();
    values.retain(|(index, _)| *index != 1);
    let parents = s.state().heads();
    let sign = s.entry(&party_key(DIRECTOR), parents, Act::Sign { slot: DIRECTOR, values });
    assert_rejected(&s, &sign, Rejection::StampMissing("Dmitri Director".into()));
}

#[test]
fn an_entry_replayed_from_another_envelope() {
    let mut other = Scenario::contract();
    let replayed = other.director_signs();
    let pdf = contract_pdf(1);
    let mut terms = contract_terms(&pdf);
    terms.title = "Another agreement".into();
    let target = Scenario::joined(pdf, terms);
    assert_rejected(&target, &replayed, Rejection::WrongEnvelope(other.envelope.short()));
}

#[test]
fn an_unknown_or_missing_parent() {
    let mut s = Scenario::contract();
    let values = s.director_values();
    let ghost = EntryId::from_bytes([0xee; 32]);
    let sign = s.entry(&party_key(DIRECTOR), vec![ghost], Act::Sign { slot: DIRECTOR, values });
    assert_rejected(&s, &sign, Rejection::MissingParent(ghost.short()));

    let values = s.director_values();
    let orphan = s.entry(&party_key(DIRECTOR), vec![], Act::Sign { slot: DIRECTOR, values });
    assert_rejected(&s, &orphan, Rejection::NoParents);
}

#[test]
fn a_sign_after_decline_or_void() {
    let mut declined = Scenario::contract();
    declined.director_signs();
    declined.append(&party_key(CLIENT), Act::Decline { slot: CLIENT, reason: "The price is wrong".into() });
    assert_eq!(declined.state().status(), Status::Declined { slot: CLIENT, reason: "The price is wrong".into() });
    let values = declined.client_values();
    let parents = declined.state().heads();
    let late = declined.entry(&party_key(CLIENT), parents, Act::Sign { slot: CLIENT, values });
    assert_rejected(&declined, &late, Rejection::AfterTerminal("declined"));

    let mut voided = Scenario::contract();
    voided.append(&creator(), Act::Void { reason: "Sent to the wrong client".into() });
    let values = voided.director_values();
    let parents = voided.state().heads();
    let late = voided.entry(&party_key(DIRECTOR), parents, Act::Sign { slot: DIRECTOR, values });
    assert_rejected(&voided, &late, Rejection::AfterTerminal("voided"));
}

#[test]
fn only_the_creator_voids_and_not_after_completion() {
    let mut s = Scenario::contract();
    let parents = s.state().heads();
    let void = s.entry(&party_key(CLIENT), parents, Act::Void { reason: "I want out".into() });
    assert_rejected(&s, &void, Rejection::NotCreator("void"));

    let mut done = Scenario::signed_contract();
    let parents = done.state().heads();
    let void = done.entry(&creator(), parents, Act::Void { reason: "too late".into() });
    assert_rejected(&done, &void, Rejection::AlreadyComplete);
}

#[test]
fn a_join_with_a_wrong_invite_secret() {
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let mut s = Scenario::invited(pdf, terms);
    let (mut invitation, invite) = s.invites[&CLIENT].clone();
    invitation.secret = [0x55; 32];
    let key = party_key(CLIENT);
    let parents = s.state().heads();
    let join = s.entry(&key, parents, Act::Join { slot: CLIENT, invite: invite.id(), proof: invitation.prove(&key.public()) });
    assert_rejected(&s, &join, Rejection::WrongInviteSecret);
}

#[test]
fn a_reused_invite() {
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let mut s = Scenario::invited(pdf, terms);
    s.join(CLIENT);
    let (invitation, invite) = s.invites[&CLIENT].clone();
    let stranger = key(66);
    let parents = s.state().heads();
    let join = s.entry(&stranger, parents, Act::Join { slot: CLIENT, invite: invite.id(), proof: invitation.prove(&stranger.public()) });
    assert_rejected(&s, &join, Rejection::InviteAlreadyUsed);
}

#[test]
fn a_join_after_the_invite_expired() {
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let s = Scenario::invited(pdf, terms);
    let (invitation, invite) = s.invites[&CLIENT].clone();
    let key = party_key(CLIENT);
    let join = countersign_shared::log::Entry {
        envelope: Some(s.envelope),
        parents: s.state().heads(),
        author: key.public(),
        claimed_time: invitation.expires_at + 1,
        act: Act::Join { slot: CLIENT, invite: invite.id(), proof: invitation.prove(&key.public()) },
    }
    .sign(&key);
    assert_rejected(&s, &join, Rejection::InviteExpired);
}

#[test]
fn a_sign_by_a_key_that_did_not_join() {
    let mut s = Scenario::contract();
    let values = s.director_values();
    let parents = s.state().heads();
    let impostor = s.entry(&key(77), parents, Act::Sign { slot: DIRECTOR, values });
    assert_rejected(&s, &impostor, Rejection::NotBound(DIRECTOR));
}

#[test]
fn entries_that_build_on_a_rejected_entry_are_rejected_too() {
    let mut s = Scenario::contract();
    let values = s.client_values();
    let parents = s.state().heads();
    let early = s.entry(&party_key(CLIENT), parents, Act::Sign { slot: CLIENT, values });
    let follow = s.entry(&party_key(CLIENT), vec![early.id()], Act::Decline { slot: CLIENT, reason: "x".into() });
    s.entries.push(early.clone());
    assert_rejected(&s, &follow, Rejection::RejectedParent(early.id().short()));
}
