//! The signed log as it arrives from a peer or inside a file: decoding an
//! entry or a whole log, then folding it, never panics, and an entry that
//! decodes is in its one canonical encoding.

#![no_main]

use countersign_shared::log::RawEntry;
use countersign_shared::log::bundle::decode_log;
use countersign_shared::state::fold;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = RawEntry::decode(data) {
        // One value, one encoding: what decodes re-encodes to the same bytes.
        let mut bytes = raw.entry().encode();
        bytes.extend_from_slice(&data[data.len() - 64..]);
        assert_eq!(bytes, data);
    }
    if let Ok((envelope, entries)) = decode_log(data)
        && let Ok(state) = fold(envelope, entries)
    {
        // Whatever was folded, the state is one the rules stand behind.
        let _ = state.status();
        assert!(state.valid().iter().all(|entry| !state.rejected().iter().any(|r| r.id == entry.id())));
    }
});
