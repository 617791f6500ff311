//! Preparing any bytes as a source PDF (source admission): never a panic,
//! and what comes out is in normal form, reads back strictly, and prepares
//! to itself.

#![no_main]

use countersign_shared::source::{inspect, prepare};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(prepared) = prepare(data) {
        let info = inspect(&prepared.bytes).expect("a prepared document reads strictly");
        assert_eq!(info, prepared.info);
        let again = prepare(&prepared.bytes).expect("a prepared document prepares again");
        assert_eq!(again.bytes, prepared.bytes, "preparing is idempotent");
    }
    // The strict reader on the raw bytes: a refusal or a reading, never a panic.
    let _ = inspect(data);
});
