//! The complete verification of arbitrary bytes: whatever a person or a
//! program uploads to the verifier must get a report, never a crash.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let report = countersign_shared::verify::verify(data);
    // Whatever the bytes, the report is self-consistent.
    assert_eq!(report.reasons.is_empty(), report.verdict == countersign_shared::verify::Verdict::Valid);
});
