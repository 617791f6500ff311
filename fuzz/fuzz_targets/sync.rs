//! What a peer sends on `/countersign/sync`: the request and response
//! frames, and the Automerge sync message itself, applied to an envelope
//! this node holds. Never a panic; whatever it adds, the node reads back
//! only entries whose bytes match their key, and folds them by the rules.

#![no_main]

use std::sync::OnceLock;

use automerge::sync;
use countersign_node::envelope_doc::EnvelopeDoc;
use countersign_node::net::protocol::{Request, Response};
use countersign_shared::log::RawEntry;
use countersign_shared::state::fold;
use countersign_shared::test_utils::Scenario;
use libfuzzer_sys::fuzz_target;

/// A signed contract's entries: the envelope the node holds.
fn envelope() -> &'static Scenario {
    static SCENARIO: OnceLock<Scenario> = OnceLock::new();
    SCENARIO.get_or_init(Scenario::signed_contract)
}

fuzz_target!(|data: &[u8]| {
    let _ = Request::decode(data);
    let _ = Response::decode(data);

    let scenario = envelope();
    let mut doc = EnvelopeDoc::new();
    for entry in &scenario.entries {
        let _ = doc.add_entry(entry);
    }
    let mut state = sync::State::new();
    // This node opened the round; the peer's answer is the fuzz input.
    let _ = doc.sync_message(&mut state);
    if doc.receive_sync(&mut state, data).is_ok() {
        let entries: Vec<RawEntry> = doc.entries();
        assert!(entries.iter().all(|entry| RawEntry::decode(entry.bytes()).as_ref() == Ok(entry)));
        let _ = fold(scenario.envelope, entries);
        let _ = doc.addresses();
        let _ = doc.sync_message(&mut state);
    }
});
