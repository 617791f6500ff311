//! Properties: the order entries arrive in never matters (P6), and no random
//! change to a valid final PDF verifies as valid.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use std::sync::OnceLock;

use countersign_shared::log::{Act, RawEntry};
use countersign_shared::render::render;
use countersign_shared::state::fold;
use countersign_shared::test_utils::{CLIENT, Scenario, party_key};
use countersign_shared::verify::{Verdict, verify};
use proptest::prelude::*;

/// A completed envelope plus entries that must stay out: a client Sign made
/// before the director's, and a forged duplicate of it.
fn entries_with_noise() -> &'static (Scenario, Vec<RawEntry>) {
    static FIXTURE: OnceLock<(Scenario, Vec<RawEntry>)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut scenario = Scenario::contract();
        let values = scenario.client_values();
        let parents = scenario.state().heads();
        let early = scenario.entry(&party_key(CLIENT), parents, Act::Sign { slot: CLIENT, values });
        scenario.director_signs();
        scenario.client_signs();
        let mut entries = scenario.entries.clone();
        entries.push(early);
        (scenario, entries)
    })
}

fn final_pdf() -> &'static Vec<u8> {
    static PDF: OnceLock<Vec<u8>> = OnceLock::new();
    PDF.get_or_init(|| Scenario::signed_contract().render())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_arrival_order_gives_the_same_state_and_bytes(
        order in Just((0..entries_with_noise().1.len()).collect::<Vec<_>>()).prop_shuffle(),
        repeats in proptest::collection::vec(0usize..100, 0..4),
    ) {
        let (scenario, entries) = entries_with_noise();
        let reference = fold(scenario.envelope, entries.clone()).expect("folds");
        let mut arrived: Vec<RawEntry> = order.iter().map(|i| entries[*i].clone()).collect();
        for r in repeats {
            arrived.push(entries[r % entries.len()].clone());
        }
        let state = fold(scenario.envelope, arrived).expect("folds");
        let ids = |s: &countersign_shared::state::EnvelopeState| s.valid().iter().map(|v| v.id()).collect::<Vec<_>>();
        prop_assert_eq!(ids(&state), ids(&reference));
        prop_assert_eq!(state.status(), reference.status());
        prop_assert_eq!(state.rejected(), reference.rejected());
        let bytes = render(&scenario.pdf, &state, &scenario.blobs).expect("renders").bytes;
        let expected = render(&scenario.pdf, &reference, &scenario.blobs).expect("renders").bytes;
        prop_assert!(bytes == expected, "renders differ");
    }

    #[test]
    fn a_flipped_byte_never_verifies(at in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let mut pdf = final_pdf().clone();
        let at = at.index(pdf.len());
        pdf[at] ^= mask;
        prop_assert_ne!(verify(&pdf).verdict, Verdict::Valid, "flipping byte {} still verified", at);
    }

    #[test]
    fn inserted_or_removed_bytes_never_verify(
        at in any::<prop::sample::Index>(),
        insert in proptest::collection::vec(any::<u8>(), 0..16),
        remove in 0usize..16,
    ) {
        prop_assume!(!insert.is_empty() || remove > 0);
        let pdf = final_pdf();
        let at = at.index(pdf.len());
        let end = (at + remove).min(pdf.len());
        let mutated = [&pdf[..at], &insert[..], &pdf[end..]].concat();
        prop_assume!(mutated != *pdf);
        prop_assert_ne!(verify(&mutated).verdict, Verdict::Valid);
    }
}
