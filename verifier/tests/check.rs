//! `countersign-verifier check` as a person runs it: report and exit code.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use countersign_shared::test_utils::Scenario;

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("countersign-verifier-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("writes");
    path
}

fn check(path: &Path, json: bool) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_countersign-verifier"));
    command.arg("check").arg(path);
    if json {
        command.arg("--json");
    }
    command.output().expect("the verifier runs")
}

#[test]
fn a_valid_document_exits_0_with_parties_in_order() {
    let scenario = Scenario::signed_contract();
    let pdf = scenario.render();
    let out = check(&scratch("valid.pdf", &pdf), false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("VALID: "), "{text}");
    let director = text.find("1. Dmitri Director (company signer)").expect("director listed first");
    let client = text.find("2. Carl Client (client)").expect("client listed second");
    assert!(director < client);
    assert!(text.contains("Client address: 1 Main St, Springfield"), "{text}");
    assert!(text.contains(&scenario.state().binding(0).expect("joined").fingerprint()), "{text}");
    assert!(text.contains(&scenario.state().terms().document.hash.to_string()), "{text}");
    assert!(text.contains("1. countersign-signature-1 by Dmitri Director: verifies, certifies the document"), "{text}");
    assert!(text.contains("2. countersign-signature-2 by Carl Client: verifies, approves"), "{text}");
}

#[test]
fn a_tampered_document_exits_1_with_every_reason() {
    let mut pdf = Scenario::signed_contract().render();
    pdf[10] ^= 1;
    pdf.extend_from_slice(b"% appended\n");
    let out = check(&scratch("tampered.pdf", &pdf), false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.starts_with("NOT VALID: "), "{text}");
    assert!(text.contains("The original document was changed"), "{text}");
}

#[test]
fn unreadable_files_exit_2() {
    let out = check(&scratch("notes.pdf", b"meeting notes, not a PDF"), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not a PDF"));
    let missing = check(Path::new("/nonexistent/contract.pdf"), false);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read /nonexistent/contract.pdf"));
}

#[test]
fn json_carries_the_same_report() {
    let pdf = Scenario::signed_contract().render();
    let out = check(&scratch("valid-json.pdf", &pdf), true);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(report["verdict"], "valid");
    assert_eq!(report["schema"], 2);
    assert_eq!(report["parties"][0]["name"], "Dmitri Director");
    assert_eq!(report["pdf_signatures"][0]["signer"], "Dmitri Director");
    assert_eq!(report["pdf_signatures"][0]["certification"], true);
    assert_eq!(report["pdf_signatures"][1]["valid"], true);
    assert_eq!(report["parties"][1]["values"][1]["value"], "1 Main St, Springfield");
    assert_eq!(report["reasons"].as_array().map(Vec::len), Some(0));
}
