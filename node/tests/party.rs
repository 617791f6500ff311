//! Three parties, each with its own key, carry out the flow by exchanging
//! packets of signed entries and blobs, as their nodes will over the network.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use countersign_node::party::{Packet, Party, PartyError, SignInput};
use countersign_shared::invite::Invitation;
use countersign_shared::log::rules::Rejection;
use countersign_shared::state::Status;
use countersign_shared::test_utils::{contract_pdf, contract_terms, signature_png, stamp_png};
use countersign_shared::verify::{Verdict, verify};

struct Deal {
    anna: Party,
    dmitri: Party,
    carl: Party,
    envelope: countersign_shared::EnvelopeId,
    links: Vec<String>,
}

fn send(from: &Party, to: &mut Party, envelope: countersign_shared::EnvelopeId) {
    to.receive(&from.packet(envelope).expect("packet")).expect("receives");
}

fn joined_deal() -> Deal {
    let pdf = contract_pdf(2);
    let mut anna = Party::generate("Anna Sales");
    let (envelope, invitations) = anna.create(&pdf, contract_terms(&pdf)).expect("creates");
    let links: Vec<String> = invitations.iter().map(Invitation::to_link).collect();
    let mut dmitri = Party::generate("Dmitri Director");
    let mut carl = Party::generate("Carl Client");
    send(&anna, &mut dmitri, envelope);
    dmitri.join(&Invitation::parse(&links[0]).expect("link")).expect("joins");
    send(&anna, &mut carl, envelope);
    carl.join(&Invitation::parse(&links[1]).expect("link")).expect("joins");
    send(&dmitri, &mut anna, envelope);
    send(&carl, &mut anna, envelope);
    send(&anna, &mut dmitri, envelope);
    send(&anna, &mut carl, envelope);
    Deal { anna, dmitri, carl, envelope, links }
}

fn director_input() -> SignInput {
    SignInput { texts: vec![], images: vec![("Company signature".into(), signature_png(1)), ("Company stamp".into(), stamp_png())] }
}

fn client_input() -> SignInput {
    SignInput {
        texts: vec![("Client name".into(), "Carl Client".into()), ("Client address".into(), "1 Main St".into())],
        images: vec![("Client signature".into(), signature_png(2))],
    }
}

#[test]
fn three_parties_end_with_byte_identical_verified_pdfs() {
    let mut deal = joined_deal();
    let e = deal.envelope;
    assert!(matches!(deal.carl.sign(e, &client_input()), Err(PartyError::Refused(Rejection::OutOfOrder { .. }))));
    deal.dmitri.sign(e, &director_input()).expect("director signs");
    // The client cannot seal before signing, nor the director twice.
    assert!(deal.carl.seal_pending(e).expect("nothing to seal").is_none());
    assert!(!deal.carl.may_need_sealing(e) && deal.dmitri.may_need_sealing(e));
    assert!(deal.dmitri.seal_pending(e).expect("director seals").is_some());
    assert!(!deal.dmitri.may_need_sealing(e));
    assert!(deal.dmitri.seal_pending(e).expect("already sealed").is_none());
    send(&deal.dmitri, &mut deal.carl, e);
    deal.carl.sign(e, &client_input()).expect("client signs");
    send(&deal.carl, &mut deal.anna, e);
    assert!(matches!(deal.anna.final_pdf(e), Err(PartyError::NotComplete(why)) if why.contains("PDF signature of Carl")));
    deal.carl.seal_pending(e).expect("client seals").expect("a seal");
    send(&deal.carl, &mut deal.anna, e);
    send(&deal.carl, &mut deal.dmitri, e);

    let finals = [deal.anna.final_pdf(e).expect("a"), deal.dmitri.final_pdf(e).expect("d"), deal.carl.final_pdf(e).expect("c")];
    assert!(finals[0] == finals[1] && finals[1] == finals[2]);
    let report = verify(&finals[0]);
    assert_eq!(report.verdict, Verdict::Valid, "{:?}", report.reasons);
    let date = &report.parties[0].values.iter().find(|v| v.label == "Date").expect("date filled").value;
    assert_eq!(date.len(), 10, "the date field is filled with the signing date: {date}");
}

#[test]
fn a_refused_act_stores_nothing() {
    let mut deal = joined_deal();
    let e = deal.envelope;
    let before = deal.carl.packet(e).expect("packet").entries.len();
    assert!(deal.carl.sign(e, &client_input()).is_err());
    assert_eq!(deal.carl.packet(e).expect("packet").entries.len(), before);

    let broken = SignInput { images: vec![("Company signature".into(), b"\x89PNG\r\n\x1a\nbroken".to_vec())], ..director_input() };
    assert!(matches!(deal.dmitri.sign(e, &broken), Err(PartyError::Image(_))));
    let unknown = SignInput { texts: vec![("Client address".into(), "not mine".into())], ..director_input() };
    assert!(matches!(deal.dmitri.sign(e, &unknown), Err(PartyError::UnknownField { label, .. }) if label == "Client address"));
    let no_stamp = SignInput { images: vec![("Company signature".into(), signature_png(1))], texts: vec![] };
    assert!(matches!(deal.dmitri.sign(e, &no_stamp), Err(PartyError::Refused(Rejection::StampMissing(_)))));
    assert_eq!(deal.dmitri.state(e).expect("state").status(), Status::Awaiting { slots: vec![0] });
}

#[test]
fn a_used_invitation_cannot_join_again() {
    let deal = joined_deal();
    let mut mallory = Party::generate("Mallory");
    send(&deal.anna, &mut mallory, deal.envelope);
    let again = mallory.join(&Invitation::parse(&deal.links[1]).expect("link"));
    assert!(matches!(again, Err(PartyError::Refused(Rejection::InviteAlreadyUsed))), "{again:?}");
    assert!(matches!(mallory.sign(deal.envelope, &client_input()), Err(PartyError::NotAParty)));
}

#[test]
fn entries_from_a_lying_peer_change_nothing() {
    let mut deal = joined_deal();
    let e = deal.envelope;
    let before = deal.anna.state(e).expect("state");
    let mut forged = deal.carl.packet(e).expect("packet");
    forged.entries.push(vec![1, 4, 0, 0]);
    if let Some(last) = forged.entries.iter_mut().rev().nth(1) {
        let end = last.len() - 1;
        last[end] ^= 1;
    }
    deal.anna.receive(&forged).expect("receives");
    deal.anna.receive(&Packet::default()).expect("empty packet");
    let after = deal.anna.state(e).expect("state");
    assert_eq!(after.status(), before.status());
    assert_eq!(after.valid().len(), before.valid().len());
}

#[test]
fn decline_ends_the_envelope() {
    let mut deal = joined_deal();
    let e = deal.envelope;
    deal.dmitri.sign(e, &director_input()).expect("signs");
    send(&deal.dmitri, &mut deal.carl, e);
    deal.carl.decline(e, "The price is wrong").expect("declines");
    assert_eq!(deal.carl.state(e).expect("state").status(), Status::Declined { slot: 1, reason: "The price is wrong".into() });
    assert!(matches!(deal.carl.sign(e, &client_input()), Err(PartyError::Refused(Rejection::AfterTerminal("declined")))));
    assert!(matches!(deal.carl.final_pdf(e), Err(PartyError::NotComplete(_))));
}

#[test]
fn a_company_ca_certifies_only_the_name_its_person_gave_their_node() {
    use countersign_node::party::Authority;
    let pdf = contract_pdf(2);
    let mut anna = Party::generate("Anna Sales");
    let (envelope, invitations) = anna.create(&pdf, contract_terms(&pdf)).expect("creates");
    let (certificate, key) = countersign_shared::test_utils::company_authority();
    // The envelope calls the director "Dmitri Director"; his node is "Dmitri D.".
    let mut dmitri = Party::generate("Dmitri D.");
    dmitri.set_authority(Authority { certificate, key });
    send(&anna, &mut dmitri, envelope);
    let refused = dmitri.join(&invitations[0]);
    assert!(
        matches!(&refused, Err(PartyError::NameMismatch { invited_as, certified_as }) if invited_as == "Dmitri Director" && certified_as == "Dmitri D."),
        "{refused:?}"
    );
    assert!(refused.unwrap_err().to_string().contains("ask the sender to correct the name"));
}

/// A creator's node that skipped preparing sends a document readers may
/// show differently: the party's node refuses to sign it, saying why.
#[test]
fn a_party_does_not_sign_a_document_that_was_not_prepared() {
    use countersign_shared::source::PdfError;
    use countersign_shared::test_utils::{DIRECTOR, Scenario, contract_pdf_as_made};
    let raw = contract_pdf_as_made(1);
    let mut terms = contract_terms(&raw);
    terms.document.pages = 1;
    let hostile = Scenario::invited(raw.clone(), terms);
    let mut dmitri = Party::generate("Dmitri Director");
    let packet = Packet {
        envelope: Some(hostile.envelope),
        entries: hostile.entries.iter().map(|e| e.bytes().to_vec()).collect(),
        blobs: vec![raw],
    };
    dmitri.receive(&packet).expect("receives");
    dmitri.join(&hostile.invites[&DIRECTOR].0).expect("joins");
    match dmitri.sign(hostile.envelope, &director_input()) {
        Err(PartyError::Pdf(e @ PdfError::NotNormal(_))) => assert!(e.to_string().contains("not prepared by Countersign"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
