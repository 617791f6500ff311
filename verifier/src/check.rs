//! `countersign-verifier check`: one file in, a report and an exit code out.

use std::fmt::Write as _;

use countersign_shared::verify::{IdentityLevel, Report, TrustedRoots, Verdict, verify_with};

/// Exit code: a complete, intact, correctly ordered signed document.
pub const EXIT_VALID: u8 = 0;
/// Exit code: a document that fails a check.
pub const EXIT_INVALID: u8 = 1;
/// Exit code: a file that cannot be read or checked.
pub const EXIT_UNREADABLE: u8 = 2;

/// Checks the bytes of one file, vouching for the signers `trusted` certified.
pub fn check_bytes(pdf: &[u8], trusted: &TrustedRoots) -> Report {
    verify_with(pdf, trusted)
}

/// The exit code for a report.
pub fn exit_code(report: &Report) -> u8 {
    match report.verdict {
        Verdict::Valid => EXIT_VALID,
        Verdict::Invalid => EXIT_INVALID,
        Verdict::Unreadable => EXIT_UNREADABLE,
    }
}

/// How far ahead of this computer's clock a claimed time must be to be
/// called wrong (beyond time zones and clocks a little off).
const FUTURE_BY_MS: u64 = 24 * 60 * 60 * 1000;

/// The report as a person reads it in a terminal (`now_ms`: this computer's
/// clock, to flag a signing time claimed in the future).
pub fn plain_text(report: &Report, now_ms: u64) -> String {
    let mut out = String::new();
    let verdict = match report.verdict {
        Verdict::Valid => "VALID",
        Verdict::Invalid => "NOT VALID",
        Verdict::Unreadable => "CANNOT BE CHECKED",
    };
    let _ = writeln!(out, "{verdict}: {}", report.summary);
    if !report.identity_summary.is_empty() {
        let _ = writeln!(out, "Identity: {}", report.identity_summary);
    }
    let _ = writeln!(out);
    if let Some(title) = &report.title {
        let _ = writeln!(out, "Document        {title}");
    }
    if let Some(envelope) = &report.envelope {
        let _ = writeln!(out, "Envelope        {envelope}");
    }
    if let Some(hash) = &report.document_hash {
        let _ = writeln!(out, "Original hash   {hash} (BLAKE3 of the document the parties fixed)");
    }
    let _ = writeln!(out, "File hash       {} ({} bytes)", report.file_hash, report.file_len);
    if !report.parties.is_empty() {
        let _ = writeln!(out, "\nSigners, in signing order:");
    }
    for party in &report.parties {
        let _ = writeln!(out, "  {}. {} ({}), {}", party.position, party.name, party.role.label(), party.contact);
        match (&party.fingerprint, &party.claimed_time) {
            (Some(fingerprint), Some(time)) => {
                let future = party.claimed_time_ms.is_some_and(|at| at > now_ms.saturating_add(FUTURE_BY_MS));
                let flag = match (future, party.claimed_time_backdated) {
                    (true, _) => " — a time in the future: the signer's clock was wrong",
                    (false, true) => " — a time before what the signature follows: this signer's clock, or an earlier one's, was wrong",
                    (false, false) => "",
                };
                let _ = writeln!(out, "     signed {time} (claimed by the signer){flag}, key {fingerprint}");
            }
            (Some(fingerprint), None) => {
                let _ = writeln!(out, "     joined with key {fingerprint}, has not signed");
            }
            _ => {
                let _ = writeln!(out, "     has not joined or signed");
            }
        }
        if let Some(identity) = &party.identity {
            let level = match identity.level {
                IdentityLevel::KeyOnly => "key only",
                IdentityLevel::Certificate => "certificate",
            };
            let _ = writeln!(out, "     identity ({level}): {}", identity.description);
            let _ = writeln!(out, "     root certificate SHA-256 {}", identity.root_fingerprint);
        }
        for value in &party.values {
            let _ = writeln!(out, "     {}: {}", value.label, value.value);
        }
    }
    if !report.pdf_signatures.is_empty() {
        let _ = writeln!(out, "\nPDF signatures (PAdES, Ed25519), in signing order:");
    }
    for signature in &report.pdf_signatures {
        let state = if signature.valid { "verifies" } else { "DOES NOT VERIFY" };
        let kind = if signature.certification { "certifies the document (form filling and signing allowed after it)" } else { "approves" };
        let _ = writeln!(out, "  {}. {} by {}: {state}, {kind}", signature.position, signature.field, signature.signer);
        let subject = signature.certificate_subject.as_deref().unwrap_or("no valid certificate");
        let issuer = signature.certificate_issuer.as_deref().unwrap_or("?");
        let _ = writeln!(out, "     certificate of {subject} issued by {issuer}; covers bytes 0 to {}", signature.covers_bytes);
        if let Some(root) = &signature.certificate_root_fingerprint {
            let _ = writeln!(out, "     root certificate SHA-256 {root}");
        }
    }
    if !report.reasons.is_empty() {
        let _ = writeln!(out, "\nReasons:");
        for reason in &report.reasons {
            let _ = writeln!(out, "  - {reason}");
        }
    }
    out
}
