//! The guest's core as browsers run it: the wasm32 build (`scripts/build-guest`)
//! under Node.js. 32-bit `usize`, no threads, no unwinding: the same source
//! could still behave differently there, so the golden scenario is replayed
//! through it and must give the golden final PDF, byte for byte.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use std::path::Path;
use std::process::Command;

use countersign_scenarios::scratch_dir;
use countersign_shared::envelope_doc::EnvelopeDoc;
use countersign_shared::test_utils::{CLIENT, Scenario, party_key};

#[test]
fn the_wasm_core_renders_the_golden_final_pdf() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let wasm = root.join("guest/web/dist/countersign_guest.wasm");
    assert!(wasm.exists(), "{} is missing: run scripts/build-guest", wasm.display());
    let scenario = Scenario::signed_contract();
    let dir = scratch_dir("guest-wasm")?;
    let mut doc = EnvelopeDoc::new();
    for entry in &scenario.entries {
        doc.add_entry(entry)?;
    }
    std::fs::write(dir.join("document.automerge"), doc.save())?;
    std::fs::write(dir.join("envelope.id"), scenario.envelope.as_bytes())?;
    std::fs::write(dir.join("client.key"), party_key(CLIENT).public().as_bytes())?;
    std::fs::write(dir.join("source.pdf"), &scenario.pdf)?;
    for (index, bytes) in scenario.blobs.values().enumerate() {
        std::fs::write(dir.join(format!("image-{index}")), bytes)?;
    }
    let run = Command::new("node").arg(root.join("guest/web/test/golden.mjs")).arg(&wasm).arg(&dir).output()?;
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let out: serde_json::Value = serde_json::from_slice(&run.stdout)?;
    let golden = std::fs::read_to_string(root.join("shared/tests/vectors/final-contract.blake3"))?;
    assert_eq!(out["final_hash"], golden.trim(), "the wasm build's final PDF differs from the native one: {out}");
    assert_eq!(out["final_len"], scenario.render().len());
    assert_eq!(out["verdict"], "valid");
    assert_eq!(out["status"], "completed");
    assert_eq!(out["me"], 1);
    assert_eq!(out["parties"], serde_json::json!(["Dmitri Director", "Carl Client"]));
    assert!(out["refused"].as_str().unwrap_or_default().contains("not a valid sync message"), "{out}");
    Ok(())
}
