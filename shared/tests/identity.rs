//! Integrity is not identity: the report says how each signer's identity is
//! known (key only, a certificate authority and whether this verifier
//! trusts it, a phone confirmed by a code) and never presents a name the
//! sender typed as verified. And the log's own rules for phone
//! confirmations and for the number of grants.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use countersign_shared::log::Act;
use countersign_shared::log::rules::{MAX_GRANTS, Rejection};
use countersign_shared::pades::certificate::Issuer;
use countersign_shared::state::fold;
use countersign_shared::test_utils::*;
use countersign_shared::verify::{IdentityLevel, TrustedRoots, Verdict, verify, verify_with};

/// The standard contract with the director certified by the company's CA,
/// and that CA's certificate.
fn certified_contract() -> (Scenario, Vec<u8>) {
    (Scenario::certified_contract(), company_authority().0)
}

#[test]
fn a_valid_report_never_states_a_typed_name_as_verified() {
    let (s, _) = certified_contract();
    let report = verify(&s.render());
    assert_eq!(report.verdict, Verdict::Valid);
    assert!(!report.summary.contains("Dmitri") && !report.summary.contains("Carl"), "{}", report.summary);
    assert!(report.summary.contains("in order"), "{}", report.summary);
    assert!(report.identity_summary.starts_with("No signer's identity is vouched for"), "{}", report.identity_summary);

    let director = report.parties[0].identity.as_ref().unwrap();
    assert_eq!(director.level, IdentityLevel::Certificate);
    assert_eq!(director.authority.as_deref(), Some("Acme Ltd"));
    assert!(!director.trusted);
    assert!(director.description.contains("does not know"), "{}", director.description);
    let client = report.parties[1].identity.as_ref().unwrap();
    assert_eq!(client.level, IdentityLevel::KeyOnly);
    assert!(client.description.contains("nobody vouches"), "{}", client.description);
}

#[test]
fn a_verifier_that_trusts_the_company_ca_vouches_for_its_signer_only() {
    let (s, ca) = certified_contract();
    let trusted = TrustedRoots::from_certificates([ca.as_slice()]);
    let report = verify_with(&s.render(), &trusted);
    assert_eq!(report.verdict, Verdict::Valid);
    let director = report.parties[0].identity.as_ref().unwrap();
    assert!(director.trusted, "{director:?}");
    assert!(director.description.contains("an authority this verifier trusts"), "{}", director.description);
    assert!(!report.parties[1].identity.as_ref().unwrap().trusted);
    assert!(report.identity_summary.starts_with("1 of 2 signers hold a certificate"), "{}", report.identity_summary);
    // Trusting a CA is not trusting whatever calls itself by its name.
    let (impostor, _) = {
        let key = key(91);
        (countersign_shared::pades::certificate::issue_authority(&key, "Acme Ltd", T0).unwrap(), key)
    };
    let report = verify_with(&s.render(), &TrustedRoots::from_certificates([impostor.as_slice()]));
    assert!(!report.parties[0].identity.as_ref().unwrap().trusted);
}

/// The contract where the sender's node confirmed the client's phone before
/// the client joined.
fn phone_confirmed_contract() -> Scenario {
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let mut s = Scenario::invited(pdf, terms);
    s.join(DIRECTOR);
    s.append(&creator(), Act::Confirm { slot: CLIENT, key: party_key(CLIENT).public() });
    s.join(CLIENT);
    s
}

#[test]
fn a_phone_confirmed_by_a_code_shows_in_the_report_and_on_the_certificate_page() {
    let mut s = phone_confirmed_contract();
    s.director_signs();
    s.client_signs();
    let state = s.state();
    assert!(state.rejected().is_empty(), "{:?}", state.rejected());
    assert!(state.phone_confirmed(CLIENT));
    assert!(!state.phone_confirmed(DIRECTOR));
    let pdf = s.render();
    let report = verify(&pdf);
    assert_eq!(report.verdict, Verdict::Valid);
    let client = report.parties[1].identity.as_ref().unwrap();
    assert_eq!(client.phone_confirmed.as_deref(), Some("+15550100"));
    assert!(client.description.contains("phone +15550100 confirmed by a code"), "{}", client.description);
    assert!(report.identity_summary.contains("1 confirmed their phone"), "{}", report.identity_summary);
    assert!(memchr::memmem::find(&pdf, b"phone +15550100 confirmed by a texted code").is_some(), "the certificate says so");
}

#[test]
fn a_confirmation_counts_only_for_its_key_and_only_before_the_join() {
    // A confirmation of another key: the client's Join is not confirmed.
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let mut s = Scenario::invited(pdf.clone(), terms.clone());
    s.append(&creator(), Act::Confirm { slot: CLIENT, key: key(77).public() });
    s.join(CLIENT);
    assert!(!s.state().phone_confirmed(CLIENT));
    // A confirmation that is not among the Join's ancestors does not count.
    let mut s = Scenario::invited(pdf, terms);
    s.join(CLIENT);
    s.append(&creator(), Act::Confirm { slot: CLIENT, key: party_key(CLIENT).public() });
    assert!(!s.state().phone_confirmed(CLIENT));
}

#[test]
fn only_the_sender_confirms_a_phone_and_only_a_phone() {
    let s = phone_confirmed_contract();
    let mut attempt = s.clone();
    let heads = attempt.state().heads();
    let by_client = attempt.entry(&party_key(CLIENT), heads.clone(), Act::Confirm { slot: CLIENT, key: party_key(CLIENT).public() });
    let state = fold(s.envelope, [s.entries.clone(), vec![by_client.clone()]].concat()).unwrap();
    let reason = state.rejected().iter().find(|r| r.id == by_client.id()).map(|r| r.reason.clone());
    assert_eq!(reason, Some(Rejection::NotCreator("confirm a phone")));
    // The director is reached by email: there is no phone to confirm.
    let email = attempt.entry(&creator(), heads, Act::Confirm { slot: DIRECTOR, key: party_key(DIRECTOR).public() });
    let state = fold(s.envelope, [s.entries.clone(), vec![email.clone()]].concat()).unwrap();
    let reason = state.rejected().iter().find(|r| r.id == email.id()).map(|r| r.reason.clone());
    assert_eq!(reason, Some(Rejection::NoPhoneToConfirm(DIRECTOR)));
}

#[test]
fn grants_beyond_the_limit_are_refused() {
    let (envelope, entries) = long_log(MAX_GRANTS + 10);
    let state = fold(envelope, entries).unwrap();
    // A chain of invitations: the first past the limit is refused, and the
    // rest build on it.
    let too_many = state.rejected().iter().filter(|r| r.reason == Rejection::TooManyGrants).count();
    assert_eq!(too_many, 1);
    assert_eq!(state.rejected().len(), 9);
    assert_eq!(state.valid().len(), 1 + MAX_GRANTS);
}

#[test]
fn joins_that_name_an_invite_outside_their_ancestry_are_refused() {
    // The client's invitation is re-issued on a branch the Join does not build on.
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let mut s = Scenario::invited(pdf, terms);
    let create = s.entries[0].id();
    let (invitation, _) = s.invites[&CLIENT].clone();
    let side = s.entry(&creator(), vec![create], Act::Invite { slot: CLIENT, invite_key: invitation.invite_key(), expires_at: T0 + 1 });
    s.entries.push(side.clone());
    let key = party_key(CLIENT);
    let certificates = s.certificate(CLIENT, Issuer::Itself(&key));
    let join = s.entry(
        &key,
        vec![s.invites[&DIRECTOR].1.id()],
        Act::Join { slot: CLIENT, invite: side.id(), proof: invitation.prove(&key.public()), certificates },
    );
    let state = fold(s.envelope, [s.entries.clone(), vec![join.clone()]].concat()).unwrap();
    let reason = state.rejected().iter().find(|r| r.id == join.id()).map(|r| r.reason.clone());
    assert_eq!(reason, Some(Rejection::InviteNotFound));
}
