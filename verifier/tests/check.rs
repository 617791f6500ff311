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
    assert_eq!(report["schema"], 3);
    assert_eq!(report["parties"][0]["name"], "Dmitri Director");
    assert_eq!(report["pdf_signatures"][0]["signer"], "Dmitri Director");
    assert_eq!(report["pdf_signatures"][0]["certification"], true);
    assert_eq!(report["pdf_signatures"][1]["valid"], true);
    assert_eq!(report["parties"][1]["values"][1]["value"], "1 Main St, Springfield");
    assert_eq!(report["reasons"].as_array().map(Vec::len), Some(0));
}

/// `countersign-verifier check F | head -1`: the reader closes the pipe
/// before the report is written; that is no reason to panic.
#[test]
fn a_closed_pipe_is_not_a_crash() {
    let pdf = Scenario::signed_contract().render();
    let path = scratch("piped.pdf", &pdf);
    let mut child = Command::new(env!("CARGO_BIN_EXE_countersign-verifier"))
        .arg("check")
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the verifier runs");
    // Close the reading end before the verifier has written anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("it ends");
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(!errors.contains("panicked"), "{errors}");
    assert_eq!(out.status.code(), Some(0), "the exit code still says valid: {errors}");
}

/// A company CA given with `--trust`: its signer is vouched for, the
/// self-certified client is not.
#[test]
fn a_trusted_ca_vouches_for_its_signers_only() {
    use countersign_shared::pades::certificate::to_pem;
    use countersign_shared::test_utils::company_authority;
    let scenario = Scenario::certified_contract();
    let (ca, _) = company_authority();
    let path = scratch("certified.pdf", &scenario.render());
    let ca_pem = scratch("acme.pem", to_pem(&ca).as_bytes());
    let out =
        Command::new(env!("CARGO_BIN_EXE_countersign-verifier")).arg("check").arg(&path).arg("--trust").arg(&ca_pem).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Identity: 1 of 2 signers hold a certificate from an authority this verifier trusts"), "{text}");
    assert!(text.contains("certificate issued by Acme Ltd, an authority this verifier trusts"), "{text}");
    assert!(text.contains("key only: the name is as the sender typed it"), "{text}");
    // Without --trust, nobody is vouched for.
    let text = String::from_utf8_lossy(&check(&path, false).stdout).into_owned();
    assert!(text.contains("Identity: No signer's identity is vouched for"), "{text}");
    // A file that is not a certificate is refused clearly.
    let bad = Command::new(env!("CARGO_BIN_EXE_countersign-verifier")).arg("check").arg(&path).arg("--trust").arg(&path).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("does not hold PEM certificates"));
}

#[test]
fn a_signing_time_claimed_in_the_future_is_flagged() {
    let pdf = Scenario::signed_contract().render();
    let report = countersign_verifier::check::check_bytes(&pdf, &countersign_shared::verify::TrustedRoots::none());
    let signed_at = report.parties.iter().filter_map(|p| p.claimed_time_ms).max().expect("signing times");
    let flag = "a time in the future: the signer's clock was wrong";
    // Read a day or more before the signers' clocks said, every signature is flagged; read after, none.
    let early = countersign_verifier::check::plain_text(&report, signed_at - 2 * 24 * 3600 * 1000);
    assert_eq!(early.matches(flag).count(), report.parties.len(), "{early}");
    let later = countersign_verifier::check::plain_text(&report, signed_at + 1000);
    assert!(!later.contains(flag), "{later}");
}
