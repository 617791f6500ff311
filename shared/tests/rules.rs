//! Every way an entry can break the rules gets its specific reason, and a
//! rejected entry changes nothing (P2–P6).

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use countersign_shared::hash::EntryId;
use countersign_shared::log::rules::Rejection;
use countersign_shared::log::{Act, RawEntry, Value};
use countersign_shared::pades::certificate::{Issuer, issue, issue_authority};
use countersign_shared::render::{RenderError, render, seal_message};
use countersign_shared::state::{EnvelopeState, Status, fold};
use countersign_shared::test_utils::*;
use countersign_shared::time::UtcOffset;

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

/// A void and the client's last signature made concurrently (neither
/// builds on the other), the signature `later_by` minutes after the void.
fn void_racing_the_last_signature(later_by: u64) -> EnvelopeState {
    let mut s = Scenario::contract();
    s.director_signs();
    let parents = s.state().heads();
    let void = s.entry(&creator(), parents.clone(), Act::Void { reason: "the price changed".into() });
    for _ in 1..later_by {
        s.tick();
    }
    let values = s.client_values();
    let sign = s.entry(&party_key(CLIENT), parents, Act::Sign { slot: CLIENT, values });
    let mut entries = s.entries.clone();
    entries.extend([void, sign]);
    fold(s.envelope, entries).expect("the envelope folds")
}

#[test]
fn a_void_racing_the_last_signature() {
    // Made at about the same time: completion wins, the void is kept as too late.
    let raced = void_racing_the_last_signature(1);
    assert_eq!(raced.status(), Status::Completed);
    assert!(matches!(raced.late_end(), Some(Status::Voided { .. })));
    // A signature that leaves the void out of its parents long after cannot undo it.
    let after = void_racing_the_last_signature(30);
    assert!(matches!(after.status(), Status::Voided { .. }), "{:?}", after.status());
    assert!(after.late_end().is_none());
}

/// Signs `entry` again and again, a millisecond later each time, until its
/// id sorts before `rival`'s: what an author can do to any act.
fn ground_to_sort_before(entry: countersign_shared::log::Entry, key: &countersign_shared::SecretKey, rival: &RawEntry) -> RawEntry {
    (0..256)
        .map(|n| countersign_shared::log::Entry { claimed_time: entry.claimed_time + n, ..entry.clone() }.sign(key))
        .find(|raw| raw.id() < rival.id())
        .expect("one in 256 sorts first")
}

/// A join of the client's slot by `key` on the parents of `original`, id
/// ground to sort before it: what whoever holds the client's link can make.
fn second_join_beside(s: &mut Scenario, key: &countersign_shared::SecretKey, original: &RawEntry) -> RawEntry {
    let second = s.join_by(key, CLIENT, original.entry().parents.clone());
    ground_to_sort_before(second.entry().clone(), key, original)
}

/// Asserts that `second`, made beside `kept`, is rejected as a conflicting
/// `act` and leaves the state and the order of the valid entries as they were.
fn assert_second_claim_changes_nothing(s: &Scenario, kept: &RawEntry, second: &RawEntry, slot: u8, act: &str) {
    let before = s.state();
    let (after, reason) = judge(s, second);
    assert!(
        matches!(&reason, Some(Rejection::Conflicting { slot: s, act: a, kept: k }) if *s == slot && *a == act && *k == kept.id().short()),
        "{reason:?}"
    );
    assert_eq!(after.status(), before.status(), "what the others built on stands");
    let ids = |s: &EnvelopeState| s.valid().iter().map(|v| v.id()).collect::<Vec<EntryId>>();
    assert_eq!(ids(&after), ids(&before), "the valid entries keep their order: the seals are made over it");
}

#[test]
fn a_signers_second_signature_cannot_undo_what_the_others_built_on() {
    let mut s = Scenario::contract();
    let original = s.director_signs();
    s.client_signs();
    assert_eq!(s.state().status(), Status::Completed);
    // Long after, the director signs again on the same parents, with other
    // values and an id ground to sort before the original's.
    let values = s.other_director_values();
    let second =
        countersign_shared::log::Entry { act: Act::Sign { slot: DIRECTOR, values }, claimed_time: s.tick(), ..original.entry().clone() };
    let second = ground_to_sort_before(second, &party_key(DIRECTOR), &original);
    assert_second_claim_changes_nothing(&s, &original, &second, DIRECTOR, "signature");
    // The final PDF is still made, from the original signature.
    let mut with_second = s.clone();
    with_second.entries.push(second);
    assert_eq!(with_second.render(), s.render());
}

#[test]
fn a_clients_second_join_with_a_new_key_cannot_undo_their_signature() {
    let mut s = Scenario::contract();
    let original = s.entries.iter().find(|e| matches!(e.entry().act, Act::Join { slot: CLIENT, .. })).cloned().expect("the client joined");
    s.director_signs();
    s.client_signs();
    // The client still holds the invitation's secret: it proves a join for any key.
    let second = second_join_beside(&mut s, &key(67), &original);
    assert_second_claim_changes_nothing(&s, &original, &second, CLIENT, "join");
    // Nor can they make it look answered by joining once more on top of it:
    // every key they hold speaks for the same slot.
    let third = s.join_by(&key(68), CLIENT, vec![second.id()]);
    s.entries.push(second.clone());
    let (state, _) = judge(&s, &third);
    assert_eq!(state.status(), Status::Completed);
    assert_eq!(state.binding(CLIENT), Some(party_key(CLIENT).public()));
}

#[test]
fn a_signers_second_seal_cannot_break_the_final_pdf() {
    let mut s = Scenario::contract();
    s.director_signs();
    let original = s.entries.last().cloned().expect("the director's seal");
    s.client_signs();
    let forged = countersign_shared::log::Entry {
        act: Act::Seal { slot: DIRECTOR, value: party_key(DIRECTOR).sign(b"not the step") },
        ..original.entry().clone()
    };
    let second = ground_to_sort_before(forged, &party_key(DIRECTOR), &original);
    assert_second_claim_changes_nothing(&s, &original, &second, DIRECTOR, "seal");
}

#[test]
fn before_anyone_builds_on_either_of_two_signatures_the_smaller_id_stands_in_any_order() {
    let mut s = Scenario::contract();
    let first = s.director_signs_without_seal();
    let values = s.other_director_values();
    let second = countersign_shared::log::Entry { act: Act::Sign { slot: DIRECTOR, values }, ..first.entry().clone() };
    let second = ground_to_sort_before(second, &party_key(DIRECTOR), &first);
    let (state, reason) = judge(&s, &second);
    assert_eq!(reason, None, "nobody answered either yet: the smaller id stands");
    assert_eq!(state.signature(DIRECTOR).map(|r| r.entry), Some(second.id()));
    let mut reversed = s.entries.clone();
    reversed.push(second.clone());
    reversed.reverse();
    let again = fold(s.envelope, reversed).expect("folds");
    assert_eq!(again.signature(DIRECTOR).map(|r| r.entry), Some(second.id()), "the order of arrival changes nothing");
    // Once the client answers the first, the first stands.
    s.seal(DIRECTOR);
    s.client_signs();
    let (state, reason) = judge(&s, &second);
    assert!(matches!(reason, Some(Rejection::Conflicting { .. })), "{reason:?}");
    assert_eq!(state.status(), Status::Completed);
    assert_eq!(state.signature(DIRECTOR).map(|r| r.entry), Some(first.id()));
}

/// A Join proven with an invitation of another envelope by the same
/// creator is no party here, so it cannot answer a second claim.
#[test]
fn a_key_joined_through_another_envelopes_invitation_answers_nothing() {
    use countersign_shared::hash::EnvelopeId;
    use countersign_shared::invite::Invitation;
    use countersign_shared::log::Entry;
    let mut s = Scenario::contract();
    let original = s.director_signs();
    s.client_signs();
    assert_eq!(s.state().status(), Status::Completed);
    // Elsewhere the same creator invited the director to another envelope, as its party 1.
    let pdf2 = contract_pdf(1);
    let create2 = Entry {
        envelope: None,
        parents: vec![],
        author: creator().public(),
        claimed_time: T0,
        utc_offset: UtcOffset::UTC,
        act: Act::Create(contract_terms(&pdf2)),
    }
    .sign(&creator());
    let other = EnvelopeId::from(create2.id());
    let link = Invitation {
        envelope: other,
        slot: CLIENT,
        secret: countersign_shared::invite::InviteSecret([77; 16]),
        expires_at: T0 + 86_400_000,
        inviter: creator().public(),
        addresses: vec![],
    };
    let invite2 = Entry {
        envelope: Some(other),
        parents: vec![create2.id()],
        author: creator().public(),
        claimed_time: T0 + 1,
        utc_offset: UtcOffset::UTC,
        act: Act::Invite { slot: CLIENT, invite_key: link.invite_key(), expires_at: link.expires_at },
    }
    .sign(&creator());
    // The director signs again beside the original, id ground to sort first...
    let values = s.other_director_values();
    let second = Entry { act: Act::Sign { slot: DIRECTOR, values }, claimed_time: s.tick(), ..original.entry().clone() };
    let second = ground_to_sort_before(second, &party_key(DIRECTOR), &original);
    // ...and "answers" it with a fresh key joined here through the other envelope's invitation.
    let sock = key(77);
    let proof = Invitation { envelope: s.envelope, ..link.clone() }.prove(&sock.public());
    let answer = s.entry(&sock, vec![second.id()], Act::Join { slot: CLIENT, invite: invite2.id(), proof, certificates: vec![] });
    s.entries.push(invite2);
    s.entries.push(answer);
    assert_eq!(s.state().status(), Status::Completed);
    assert_second_claim_changes_nothing(&s, &original, &second, DIRECTOR, "signature");
}

/// Only claims that could stand compete: a Join with a good proof but no
/// certificate, id ground to sort first, does not push out the client's
/// Join when something else starts the settling.
#[test]
fn a_join_the_fold_rejects_cannot_push_out_a_valid_one() {
    let mut s = Scenario::contract();
    let original = s.entries.iter().find(|e| matches!(e.entry().act, Act::Join { slot: CLIENT, .. })).cloned().expect("the client joined");
    let (invitation, invite) = s.invites[&CLIENT].clone();
    let intruder = key(78);
    let bad = countersign_shared::log::Entry {
        author: intruder.public(),
        act: Act::Join { slot: CLIENT, invite: invite.id(), proof: invitation.prove(&intruder.public()), certificates: vec![] },
        ..original.entry().clone()
    };
    let bad = ground_to_sort_before(bad, &intruder, &original);
    s.entries.push(bad.clone());
    assert_eq!(s.state().binding(CLIENT), Some(party_key(CLIENT).public()), "alone, the bad join changes nothing");
    // Any second claim anywhere starts the settling: a Join on top of the client's.
    let other = key(79);
    let act = Act::Join { slot: CLIENT, invite: invite.id(), proof: invitation.prove(&other.public()), certificates: vec![] };
    let trigger = s.entry(&other, vec![original.id()], act);
    let (state, _) = judge(&s, &trigger);
    let reason = state.rejected().iter().find(|r| r.id == original.id()).map(|r| r.reason.clone());
    assert_eq!(reason, None, "the client's join was pushed out by a join the fold rejects");
    assert_eq!(state.binding(CLIENT), Some(party_key(CLIENT).public()));
}

/// Nobody answers the last party's Join when it joins after the others
/// acted; a second Join by whoever holds the link, made after completion,
/// still loses: the first is further along (its Sign and Seal are below it).
#[test]
fn someone_holding_the_last_partys_link_cannot_undo_it_by_joining_again() {
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let mut s = Scenario::invited(pdf, terms);
    s.join(DIRECTOR);
    s.director_signs();
    let original = s.join(CLIENT);
    s.client_signs();
    assert_eq!(s.state().status(), Status::Completed);
    let second = second_join_beside(&mut s, &key(80), &original);
    let (state, _) = judge(&s, &second);
    assert_eq!(state.status(), Status::Completed, "a completed envelope was undone by a link holder");
}

/// The creator holds every invitation; a key of its own joined beside the
/// client's and answered by the creator does not undo a completed envelope.
#[test]
fn the_creator_cannot_undo_a_completed_envelope_with_a_key_of_its_own() {
    let mut s = Scenario::signed_contract();
    assert_eq!(s.state().status(), Status::Completed);
    let original = s.entries.iter().find(|e| matches!(e.entry().act, Act::Join { slot: CLIENT, .. })).cloned().expect("the client joined");
    let puppet = key(81);
    let second = second_join_beside(&mut s, &puppet, &original);
    let ack = s.entry(&creator(), vec![second.id()], Act::Confirm { slot: CLIENT, key: puppet.public() });
    s.entries.push(ack);
    let (state, _) = judge(&s, &second);
    assert_eq!(state.status(), Status::Completed, "the creator undid a completed envelope");
    assert_eq!(state.binding(CLIENT), Some(party_key(CLIENT).public()));
}

#[test]
fn a_signers_backdated_decline_beside_their_own_signature_does_not_undo_completion() {
    let mut s = Scenario::contract();
    let signed = s.director_signs();
    s.client_signs();
    let decline = countersign_shared::log::Entry {
        claimed_time: T0 - 86_400_000,
        act: Act::Decline { slot: DIRECTOR, reason: "I changed my mind".into() },
        ..signed.entry().clone()
    }
    .sign(&party_key(DIRECTOR));
    let (state, reason) = judge(&s, &decline);
    assert_eq!(reason, None, "a decline beside the signature is a valid entry");
    assert_eq!(state.status(), Status::Completed);
    assert!(matches!(state.late_end(), Some(Status::Declined { .. })), "shown as too late");
}

/// The standard contract plus a second client, Clara (slot 2), who signs in
/// parallel with Carl (both order 2) and fills no field.
fn parallel_clients() -> Scenario {
    use countersign_shared::model::{Contact, Party, Role};
    let pdf = contract_pdf(1);
    let mut terms = contract_terms(&pdf);
    terms.parties.push(Party {
        name: "Clara Cosigner".into(),
        role: Role::Client,
        contact: Contact::Email("clara@client.test".into()),
        order: 2,
        stamp_required: false,
    });
    Scenario::joined(pdf, terms)
}

const CLARA: u8 = 2;

fn bogus_seal(s: &mut Scenario, slot: u8, parent: &RawEntry) -> RawEntry {
    let value = party_key(slot).sign(b"a step");
    s.entry(&party_key(slot), vec![parent.id()], Act::Seal { slot, value })
}

/// Parallel signers shown different branches: the director's second
/// signature, answered by Clara, ties with the first, answered by Carl, and
/// wins by id; Carl's signature falls with the first, and he signs again
/// (his old, sealed signature no longer competes: it fell).
#[test]
fn a_party_whose_signature_fell_with_someone_elses_second_claim_signs_again() {
    let mut s = parallel_clients();
    // The director signs and seals; Carl signs on it and seals.
    let s1 = s.director_signs_without_seal();
    let p1 = bogus_seal(&mut s, DIRECTOR, &s1);
    s.entries.push(p1.clone());
    let values = s.client_values();
    let sb = s.entry(&party_key(CLIENT), vec![p1.id()], Act::Sign { slot: CLIENT, values });
    s.entries.push(sb.clone());
    let pb = bogus_seal(&mut s, CLIENT, &sb);
    s.entries.push(pb.clone());
    assert_eq!(s.state().signature(CLIENT).map(|r| r.entry), Some(sb.id()));
    // The director signs again beside S1 (id ground), seals it, and shows only
    // that branch to Clara, who signs on it: one answer each side.
    let values2 = s.other_director_values();
    let s2 =
        countersign_shared::log::Entry { act: Act::Sign { slot: DIRECTOR, values: values2 }, claimed_time: s.tick(), ..s1.entry().clone() };
    let s2 = ground_to_sort_before(s2, &party_key(DIRECTOR), &s1);
    let p2 = bogus_seal(&mut s, DIRECTOR, &s2);
    let sc = s.entry(&party_key(CLARA), vec![p2.id()], Act::Sign { slot: CLARA, values: vec![] });
    s.entries.extend([s2.clone(), p2, sc]);
    let state = s.state();
    // (a) Carl answered S1 before S2 existed, yet S2 stands: a tie broken by the director's ground id.
    assert_eq!(state.signature(DIRECTOR).map(|r| r.entry), Some(s2.id()), "S2 won the tie by id");
    assert_eq!(state.signature(CLIENT), None, "Carl's signature went out with S1");
    // (b) Carl signs again on what he now sees. His new Sign is rejected as
    // conflicting with his old one, which is itself rejected: locked for good.
    let values = s.client_values();
    let again = s.append(&party_key(CLIENT), Act::Sign { slot: CLIENT, values });
    let state = s.state();
    let reason = |id: EntryId| state.rejected().iter().find(|r| r.id == id).map(|r| r.reason.clone());
    assert_eq!(reason(again.id()), None, "Carl signs again: his fallen signature no longer competes");
    assert_eq!(state.signature(CLIENT).map(|r| r.entry), Some(again.id()));
}

/// A viewer declined, and the last signer signed long after, leaving the
/// decline out of its parents: the decline stands, and a decline of the
/// signer's own (ignored beside their signature), id ground to be judged
/// first, does not hide it.
#[test]
fn a_signers_own_decline_does_not_hide_a_viewers() {
    use countersign_shared::model::{Contact, Party, Role};
    let pdf = contract_pdf(1);
    let mut terms = contract_terms(&pdf);
    terms.parties.push(Party {
        name: "Vera Viewer".into(),
        role: Role::Viewer,
        contact: Contact::Email("vera@acme.test".into()),
        order: 3,
        stamp_required: false,
    });
    let mut s = Scenario::joined(pdf, terms);
    s.director_signs();
    let heads = s.state().heads();
    let dv = s.append(&party_key(2), Act::Decline { slot: 2, reason: "the manager says no".into() });
    for _ in 0..20 {
        s.tick();
    }
    let values = s.client_values();
    let sb = s.entry(&party_key(CLIENT), heads.clone(), Act::Sign { slot: CLIENT, values });
    s.entries.push(sb.clone());
    assert!(matches!(s.state().status(), Status::Declined { slot: 2, .. }), "{:?}", s.state().status());
    let mask = countersign_shared::log::Entry {
        parents: heads,
        author: party_key(CLIENT).public(),
        act: Act::Decline { slot: CLIENT, reason: "mask".into() },
        ..sb.entry().clone()
    };
    let mask = ground_to_sort_before(mask, &party_key(CLIENT), &dv);
    let (state, _) = judge(&s, &mask);
    assert!(matches!(state.status(), Status::Declined { slot: 2, .. }), "the viewer's decline was undone: {:?}", state.status());
}

/// A party's second join, which the rules reject, does not count as an
/// answer to the entry it builds on.
#[test]
fn a_rejected_second_join_answers_nothing() {
    let mut s = Scenario::contract();
    let s1 = s.director_signs_without_seal();
    let p1 = bogus_seal(&mut s, DIRECTOR, &s1);
    let values2 = s.other_director_values();
    let s2 = countersign_shared::log::Entry { act: Act::Sign { slot: DIRECTOR, values: values2 }, ..s1.entry().clone() };
    let s2 = ground_to_sort_before(s2, &party_key(DIRECTOR), &s1);
    let p2 = bogus_seal(&mut s, DIRECTOR, &s2);
    s.entries.extend([p1.clone(), s2.clone(), p2]);
    assert_eq!(s.state().signature(DIRECTOR).map(|r| r.entry), Some(s2.id()));
    let join = s.join_by(&key(91), CLIENT, vec![p1.id()]);
    let (state, reason) = judge(&s, &join);
    assert!(reason.is_some(), "the join itself is rejected: {reason:?}");
    assert_eq!(state.signature(DIRECTOR).map(|r| r.entry), Some(s2.id()), "a rejected entry decided which signature stands");
}

#[test]
fn a_join_with_a_wrong_invite_secret() {
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let mut s = Scenario::invited(pdf, terms);
    let (mut invitation, invite) = s.invites[&CLIENT].clone();
    invitation.secret = countersign_shared::invite::InviteSecret([0x55; 16]);
    let key = party_key(CLIENT);
    let parents = s.state().heads();
    let certificates = s.certificate(CLIENT, Issuer::Itself(&key));
    let join =
        s.entry(&key, parents, Act::Join { slot: CLIENT, invite: invite.id(), proof: invitation.prove(&key.public()), certificates });
    assert_rejected(&s, &join, Rejection::WrongInviteSecret);
}

#[test]
fn a_reused_invite() {
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let mut s = Scenario::invited(pdf, terms);
    s.join(CLIENT);
    let parents = s.state().heads();
    let join = s.join_by(&key(66), CLIENT, parents);
    assert_rejected(&s, &join, Rejection::InviteAlreadyUsed);
}

/// The client invited to the one-page contract, and its `Join` claimed at
/// a time `at` picks from the invitation's expiry and the log's latest time.
fn client_join_dated(at: impl Fn(u64, u64) -> u64) -> (Scenario, RawEntry) {
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let s = Scenario::invited(pdf, terms);
    let (invitation, invite) = s.invites[&CLIENT].clone();
    let key = party_key(CLIENT);
    let certificates = s.certificate(CLIENT, Issuer::Itself(&key));
    let join = countersign_shared::log::Entry {
        envelope: Some(s.envelope),
        parents: s.state().heads(),
        author: key.public(),
        claimed_time: at(invitation.expires_at, s.state().latest_time()),
        utc_offset: UtcOffset::UTC,
        act: Act::Join { slot: CLIENT, invite: invite.id(), proof: invitation.prove(&key.public()), certificates },
    }
    .sign(&key);
    (s, join)
}

#[test]
fn a_join_after_the_invite_expired() {
    let (s, join) = client_join_dated(|expires, _| expires + countersign_shared::log::rules::CLOCK_TOLERANCE_MS + 1);
    assert_rejected(&s, &join, Rejection::InviteExpired);
}

#[test]
fn a_join_just_past_the_expiry_by_a_clock_a_little_ahead_is_taken() {
    let (s, join) = client_join_dated(|expires, _| expires + 60_000);
    assert_eq!(judge(&s, &join).1, None, "a minute past the expiry is within what clocks differ by");
}

#[test]
fn an_act_dated_before_what_it_builds_on() {
    // A clock a little behind is nothing; a year behind is flagged, never
    // rejected: a rule that rejected would let one entry dated in the future
    // stop every honest act that builds on it.
    let (s, join) = client_join_dated(|_, latest| latest - 60_000);
    let (state, rejected) = judge(&s, &join);
    assert_eq!(rejected, None);
    assert!(!state.backdated(&join.id()));
    let (s, join) = client_join_dated(|_, latest| latest - 365 * 24 * 3600 * 1000);
    let (state, rejected) = judge(&s, &join);
    assert_eq!(rejected, None);
    assert!(state.backdated(&join.id()));
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

#[test]
fn a_join_whose_certificate_is_for_another_key_or_forged() {
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let mut s = Scenario::invited(pdf, terms);
    let (invitation, invite) = s.invites[&CLIENT].clone();
    let key = party_key(CLIENT);
    let proof = invitation.prove(&key.public());
    let parents = s.state().heads();
    // Someone else's certificate.
    let certificates = s.certificate(DIRECTOR, Issuer::Itself(&party_key(DIRECTOR)));
    let join = s.entry(&key, parents.clone(), Act::Join { slot: CLIENT, invite: invite.id(), proof, certificates });
    assert_rejected(&s, &join, Rejection::BadCertificate("the certificate is for another key than the party's".into()));
    // A certificate claiming an organization's CA that did not sign it.
    let ca_key = key_n(90);
    let ca = issue_authority(&ca_key, "Acme Ltd", T0).unwrap();
    let mut chain = s.certificate(CLIENT, Issuer::Authority { certificate: &ca, key: &key_n(91) });
    chain[1] = ca;
    let join = s.entry(&key, parents.clone(), Act::Join { slot: CLIENT, invite: invite.id(), proof, certificates: chain });
    assert_rejected(&s, &join, Rejection::BadCertificate("the certificate is not signed by its issuer".into()));
    // A valid certificate for the right key, under another name than the party's.
    let renamed =
        issue(&key.public(), "Mallory", &countersign_shared::model::Contact::Phone("+15550100".into()), Issuer::Itself(&key), T0).unwrap();
    let join = s.entry(&key, parents.clone(), Act::Join { slot: CLIENT, invite: invite.id(), proof, certificates: renamed });
    assert_rejected(&s, &join, Rejection::BadCertificate("it certifies 'Mallory', but the party is 'Carl Client' in this envelope".into()));
    // No certificate at all.
    let join = s.entry(&key, parents, Act::Join { slot: CLIENT, invite: invite.id(), proof, certificates: vec![] });
    assert!(matches!(judge(&s, &join).1, Some(Rejection::BadCertificate(_))));
}

fn key_n(n: u8) -> countersign_shared::SecretKey {
    key(n)
}

#[test]
fn a_ca_issued_certificate_is_accepted_and_named_on_the_certificate_page() {
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let mut s = Scenario::invited(pdf, terms);
    let (invitation, invite) = s.invites[&DIRECTOR].clone();
    let ca_key = key_n(90);
    let ca = issue_authority(&ca_key, "Acme Ltd", T0).unwrap();
    let key = party_key(DIRECTOR);
    let chain = s.certificate(DIRECTOR, Issuer::Authority { certificate: &ca, key: &ca_key });
    assert_eq!(chain.len(), 2);
    s.append(&key, Act::Join { slot: DIRECTOR, invite: invite.id(), proof: invitation.prove(&key.public()), certificates: chain });
    s.join(CLIENT);
    s.director_signs();
    s.client_signs();
    assert!(s.state().rejected().is_empty());
    let pdf = s.render();
    let report = countersign_shared::verify::verify(&pdf);
    assert!(report.reasons.is_empty(), "{:?}", report.reasons);
    let first = &report.pdf_signatures[0];
    assert_eq!(first.certificate_issuer.as_deref(), Some("Acme Ltd"));
    assert_eq!(report.pdf_signatures[1].certificate_issuer, report.pdf_signatures[1].certificate_subject, "the client's is self-signed");
}

#[test]
fn a_seal_needs_the_step_signed_and_every_earlier_step_sealed() {
    let mut s = Scenario::contract();
    // The director seals before signing.
    let parents = s.state().heads();
    let bogus = countersign_shared::Signature::from_bytes([1; 64]);
    let early = s.entry(&party_key(DIRECTOR), parents, Act::Seal { slot: DIRECTOR, value: bogus });
    assert_rejected(&s, &early, Rejection::SealWithoutSign(DIRECTOR));

    // The director signs but has not sealed: the client signs, and cannot seal first.
    let values = s.director_values();
    s.append(&party_key(DIRECTOR), Act::Sign { slot: DIRECTOR, values });
    let values = s.client_values();
    s.append(&party_key(CLIENT), Act::Sign { slot: CLIENT, values });
    assert_eq!(s.state().status(), Status::Completed);
    assert_eq!(s.state().unsealed(), vec![DIRECTOR, CLIENT]);
    let parents = s.state().heads();
    let client_first = s.entry(&party_key(CLIENT), parents, Act::Seal { slot: CLIENT, value: bogus });
    assert_rejected(&s, &client_first, Rejection::SealOutOfOrder { signer: "Carl Client".into(), waiting_for: "Dmitri Director".into() });
    let unsealed = render(&s.pdf, &s.state(), &s.blobs);
    assert!(matches!(&unsealed, Err(RenderError::NotSealed(name)) if name == "Dmitri Director"), "{unsealed:?}");

    // Someone else seals the director's step.
    let parents = s.state().heads();
    let impostor = s.entry(&party_key(CLIENT), parents, Act::Seal { slot: DIRECTOR, value: bogus });
    assert_rejected(&s, &impostor, Rejection::NotBound(DIRECTOR));

    s.seal(DIRECTOR);
    let parents = s.state().heads();
    let twice = s.entry(&party_key(DIRECTOR), parents, Act::Seal { slot: DIRECTOR, value: bogus });
    assert_rejected(&s, &twice, Rejection::AlreadySealed(DIRECTOR));
    s.seal(CLIENT);
    assert!(s.state().unsealed().is_empty());
    assert!(render(&s.pdf, &s.state(), &s.blobs).is_ok());
}

#[test]
fn a_seal_whose_value_does_not_sign_the_step_makes_no_pdf() {
    let mut s = Scenario::contract();
    let values = s.director_values();
    s.append(&party_key(DIRECTOR), Act::Sign { slot: DIRECTOR, values });
    // The right key, the wrong message: a valid entry, but not a signature of the step.
    let message = seal_message(&s.pdf, &s.state(), &s.blobs, DIRECTOR).unwrap();
    let mut wrong = message.clone();
    wrong.push(0);
    let value = party_key(DIRECTOR).sign(&wrong);
    s.append(&party_key(DIRECTOR), Act::Seal { slot: DIRECTOR, value });
    assert!(s.state().rejected().is_empty(), "the log alone cannot tell");
    let result = render(&s.pdf, &s.state(), &s.blobs);
    assert!(matches!(&result, Err(RenderError::BadSeal(name)) if name == "Dmitri Director"), "{result:?}");
}
