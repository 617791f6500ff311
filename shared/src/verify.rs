//! The complete check of a final PDF, used by nodes and the verifier alike.
//!
//! 1. Find the embedded log and decode it.
//! 2. Fold it: every entry must satisfy the rules (P1–P5); every signing party
//!    must have signed.
//! 3. The bytes at the start of the file must be the original document: the
//!    length and BLAKE3 hash `Create` fixed.
//! 4. Rebuild the file from the original, the log, the embedded images and
//!    the PDF signature values found in the file, and compare every byte.
//!    Anything added, removed or changed anywhere is a difference, so nothing
//!    unsigned can be shown (this closes incremental-save, shadow and
//!    signature-wrapping attacks).
//! 5. Check each step's PDF signature value against the signer's key (from the
//!    log, certified in its `Join`) and, when the embedded log holds that
//!    step's `Seal` (never the last one's), against it.
//!
//! The [`Report`] says, in plain words, what was found and every reason the
//! file fails. Integrity is not identity: the verdict says the document is
//! intact and was signed in order; for each signer the report says how their
//! identity is known (key only, a certificate authority and whether this
//! verifier trusts it, a phone confirmed by a code) and never presents a name
//! the signer or sender typed as verified.

use serde::Serialize;
use sha2::Digest as _;

use crate::hash::{EnvelopeId, Hash};
use crate::log::Value;
use crate::model::{Contact, FieldKind, Role, Slot};
use std::collections::{BTreeSet, HashSet};

use crate::pades::certificate::{describe, fingerprint};
use crate::render::{self, LogFound, Mode, RenderError, StepSpan, find_log};
use crate::state::{self, EnvelopeState, FoldError, Status};
use crate::time::local_and_utc;

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A complete, intact, correctly ordered signed document.
    Valid,
    /// A Countersign document that fails at least one check (see reasons).
    Invalid,
    /// Not something that can be checked: not a PDF, encrypted, or a
    /// Countersign document cut short (a broken download).
    Unreadable,
}

/// How a signer's identity is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityLevel {
    /// Only a key: the name is the one the sender typed, repeated in a
    /// certificate the signer's own key issued. Nobody vouches for it.
    KeyOnly,
    /// A certificate issued by a certificate authority (a company's CA).
    Certificate,
}

/// How one signer's identity is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityReport {
    /// Key only, or a certificate authority's certificate.
    pub level: IdentityLevel,
    /// The authority's name, as its own certificate claims it.
    pub authority: Option<String>,
    /// SHA-256 fingerprint of the root certificate (the authority's, or the
    /// signer's own): compare it with the one you trust; names prove nothing.
    pub root_fingerprint: String,
    /// Whether that root is one this verifier was configured to trust.
    pub trusted: bool,
    /// The phone number the sender's node confirmed by a code before this
    /// signer joined, if it did.
    pub phone_confirmed: Option<String>,
    /// All of it, in words.
    pub description: String,
}

/// The root certificates a verifier trusts, by SHA-256 fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedRoots {
    fingerprints: BTreeSet<String>,
}

impl TrustedRoots {
    /// No trusted roots: every identity is reported as not vouched for by this verifier.
    pub fn none() -> Self {
        TrustedRoots::default()
    }

    /// The roots whose DER certificates are given.
    pub fn from_certificates<'a>(certificates: impl IntoIterator<Item = &'a [u8]>) -> Self {
        TrustedRoots { fingerprints: certificates.into_iter().map(fingerprint).collect() }
    }

    /// How many roots are trusted.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    fn trusts(&self, root_fingerprint: &str) -> bool {
        self.fingerprints.contains(root_fingerprint)
    }
}

/// One party as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyReport {
    /// Position in the signing order, from 1.
    pub position: usize,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Email or phone.
    pub contact: Contact,
    /// Full public key (hex), if the party joined.
    pub key: Option<String>,
    /// Short fingerprint people compare.
    pub fingerprint: Option<String>,
    /// Whether they signed.
    pub signed: bool,
    /// Their claimed signing time, as `YYYY-MM-DD hh:mm:ss UTC`.
    pub claimed_time: Option<String>,
    /// The same time in Unix ms.
    pub claimed_time_ms: Option<u64>,
    /// The signature claims a time before an act it builds on: the signer's
    /// clock, or that act's author's, was wrong (the order is what holds).
    pub claimed_time_backdated: bool,
    /// Their `Sign` entry id.
    pub entry: Option<String>,
    /// The values they gave.
    pub values: Vec<FieldReport>,
    /// How their identity is known, if they joined.
    pub identity: Option<IdentityReport>,
}

/// One filled field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldReport {
    /// The field's label.
    pub label: String,
    /// Its kind.
    pub kind: FieldKind,
    /// The page it is on.
    pub page: u32,
    /// The text, or a description of the image.
    pub value: String,
}

/// One standard PDF signature (PAdES, Ed25519) of a signing step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PdfSignatureReport {
    /// Position in signing order, from 1.
    pub position: usize,
    /// The signature field's name.
    pub field: String,
    /// The signing party's name, from the log.
    pub signer: String,
    /// The common name of the signer's certificate.
    pub certificate_subject: Option<String>,
    /// The common name of its issuer (the signer, or the organization's CA), as the certificate claims it.
    pub certificate_issuer: Option<String>,
    /// SHA-256 fingerprint of the root certificate (the CA's, or the signer's
    /// own): compare it with the certificate you trust; names prove nothing.
    pub certificate_root_fingerprint: Option<String>,
    /// The claimed signing time in the signature (`/M`), from the `Sign` entry.
    pub claimed_time: Option<String>,
    /// Whether it certifies the document (the first one: form filling and signing allowed after it).
    pub certification: bool,
    /// How many bytes of the file it covers (from the start).
    pub covers_bytes: u64,
    /// Whether the signature value verifies with the signer's key over exactly this file's bytes.
    pub valid: bool,
}

/// The report of checking one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Report format version.
    pub schema: u32,
    /// The answer.
    pub verdict: Verdict,
    /// One line for people: the integrity of the document and the order of
    /// its signatures (never who the signers are).
    pub summary: String,
    /// One line for people: how the signers' identities are known.
    pub identity_summary: String,
    /// BLAKE3 of the whole file checked.
    pub file_hash: String,
    /// Size of the file checked.
    pub file_len: u64,
    /// The envelope, if a log was found.
    pub envelope: Option<String>,
    /// The document's title.
    pub title: Option<String>,
    /// BLAKE3 of the original document, as the parties fixed it.
    pub document_hash: Option<String>,
    /// The envelope's stage according to the log.
    pub status: Option<Status>,
    /// Parties that sign, in signing order.
    pub parties: Vec<PartyReport>,
    /// The PDF signatures found for the signing steps, in signing order.
    pub pdf_signatures: Vec<PdfSignatureReport>,
    /// Every reason the file fails; empty when valid.
    pub reasons: Vec<String>,
}

/// Version of the [`Report`] format: 3 adds each party's `identity` and the
/// report's `identity_summary`.
pub const REPORT_SCHEMA: u32 = 3;

/// Checks a final PDF completely, trusting no certificate authority.
pub fn verify(pdf: &[u8]) -> Report {
    verify_with(pdf, &TrustedRoots::none())
}

/// Checks a final PDF completely; identities whose root certificate is
/// among `trusted` are reported as vouched for by this verifier.
pub fn verify_with(pdf: &[u8], trusted: &TrustedRoots) -> Report {
    // Nothing asks this check to stop, so it always ends with a report.
    verify_until(pdf, trusted, &|| false).unwrap_or_else(|Interrupted| Report::empty(pdf).unreadable("The check was stopped."))
}

/// A check given up because the caller said stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the check was stopped before it ended")]
pub struct Interrupted;

/// About the most memory checking a `len`-byte file takes, apart from
/// decoding its images (at most 64 million pixels a check): the file, the
/// final rebuilt from it, and its source's values once read (each value
/// takes at least two bytes of the file).
pub fn memory_to_check(len: usize) -> usize {
    let values = (len / 2).min(crate::source::MAX_VALUES);
    len.saturating_mul(3).saturating_add(values.saturating_mul(std::mem::size_of::<lopdf::Object>()))
}

/// Like [`verify_with`], asking `stop` now and then whether to give up: a
/// service stops a check past its deadline, and its thread is free again.
pub fn verify_until(pdf: &[u8], trusted: &TrustedRoots, stop: &dyn Fn() -> bool) -> Result<Report, Interrupted> {
    let mut report = Report::empty(pdf);
    // A log found means a Countersign document, however damaged: check it all,
    // so a changed header is reported as a change, not as "not a PDF".
    let (envelope, entries, cut_after) = match find_log(pdf) {
        LogFound::Log { envelope, entries, cut_after } => (envelope, entries, cut_after),
        LogFound::CutShort => return Ok(report.unreadable(CUT_SHORT)),
        LogFound::TooManyUpdates => {
            return Ok(report.fail("The file was changed after signing: more updates were added to it than signing ever writes.".into()));
        }
        LogFound::Damaged(e) => {
            return Ok(
                report.fail(format!("The signing log of the last signing step is damaged ({e}): the file was changed after signing."))
            );
        }
        LogFound::Missing => {
            if !pdf[..pdf.len().min(1024)].windows(5).any(|w| w == b"%PDF-") {
                return Ok(report.unreadable("This file is not a PDF."));
            }
            if pdf[pdf.len().saturating_sub(2048)..].windows(8).any(|w| w == b"/Encrypt") {
                return Ok(report.unreadable("This PDF is encrypted (password-protected); a Countersign document never is."));
            }
            return Ok(
                report.fail("This PDF has no Countersign signing log: it was not signed with Countersign, or the log was removed.".into())
            );
        }
    };
    report.envelope = Some(envelope.to_string());
    let state = match state::fold_until(envelope, entries, &HashSet::new(), stop) {
        Ok(state) => state,
        Err(FoldError::Interrupted) => return Err(Interrupted),
        Err(e) => return Ok(report.fail(format!("The signing log is unusable: {e}."))),
    };
    report.describe(&state, trusted);
    if stop() {
        return Err(Interrupted);
    }
    let mut findings = Findings::default();
    // A step after the last complete one, cut short, can only be a broken
    // download while someone is still to sign.
    let step_cut = cut_after && !matches!(state.status(), Status::Completed);
    if check(pdf, &state, step_cut, &mut report, &mut findings, stop)? == Ending::CutShort {
        return Ok(report.unreadable(CUT_SHORT));
    }
    report.reasons = findings.into_reasons();
    if report.reasons.is_empty() {
        report.verdict = Verdict::Valid;
        report.summary =
            format!("Complete and intact: nothing changed since signing, and all {} signatures are there, in order.", report.parties.len());
    } else {
        report.verdict = Verdict::Invalid;
        report.summary = report.reasons[0].clone();
    }
    Ok(report)
}

const CUT_SHORT: &str = "The file is incomplete: it was cut short and the end of the signed document is missing. Download it again.";

/// The reasons a file fails, by how much they say about it: a change to the
/// file first (it explains the rest), then the document itself, the log's
/// rules, who has not signed, and the PDF signatures.
#[derive(Debug, Default)]
struct Findings {
    changed: Vec<String>,
    document: Vec<String>,
    rules: Vec<String>,
    status: Vec<String>,
    signatures: Vec<String>,
}

impl Findings {
    fn into_reasons(self) -> Vec<String> {
        [self.changed, self.document, self.rules, self.status, self.signatures].concat()
    }
}

/// Whether the file ends where the signed document ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Ends where it should, or differs in a way the findings explain.
    AsSigned,
    /// A prefix of the signed document: a broken download or copy, not a
    /// document anyone can check.
    CutShort,
}

fn check(
    pdf: &[u8],
    state: &EnvelopeState,
    step_cut: bool,
    report: &mut Report,
    findings: &mut Findings,
    stop: &dyn Fn() -> bool,
) -> Result<Ending, Interrupted> {
    let terms = state.terms();
    for rejected in state.rejected() {
        findings.rules.push(format!("A {} entry ({}) in the log is not valid: {}.", rejected.act, rejected.id.short(), rejected.reason));
    }
    match state.status() {
        Status::Completed => {}
        Status::Declined { slot, reason } => {
            let name = terms.party(slot).map_or("A party", |p| p.name.as_str());
            findings.status.push(format!("{name} declined to sign (\"{reason}\")."));
        }
        Status::Voided { reason } => findings.status.push(format!("The envelope was voided (\"{reason}\").")),
        Status::Draft | Status::Awaiting { .. } => {
            for slot in terms.signing_order().into_iter().filter(|s| state.signature(*s).is_none()) {
                if let Some(party) = terms.party(slot) {
                    findings.status.push(format!("{} ({}) has not signed.", party.name, party.role.label()));
                }
            }
        }
    }
    let source_len = usize::try_from(terms.document.len).unwrap_or(usize::MAX);
    let Some(source) = pdf.get(..source_len) else {
        findings.changed.push("The file is shorter than the original document: it was cut or replaced.".into());
        return Ok(Ending::AsSigned);
    };
    if Hash::of(source) != terms.document.hash {
        findings.changed.push("The original document was changed: its bytes no longer match the hash every party signed.".into());
        return Ok(Ending::AsSigned);
    }
    // The source matched its hash, so only what follows it needs rebuilding.
    let signed_part = &pdf[source_len..];
    Ok(match render::render_updates(source, state, Mode::File(pdf, stop)) {
        Ok((updates, steps)) => {
            let ending = compare(signed_part, &updates, source_len, &steps, state, step_cut, &mut findings.changed);
            if ending == Ending::AsSigned {
                let identical = signed_part == updates.as_slice();
                report.pdf_signatures = check_pdf_signatures(pdf, identical, &steps, state, &mut findings.signatures);
            }
            ending
        }
        Err(RenderError::Pdf(e)) => {
            findings.document.push(format!(
                "The original document cannot be trusted: {e}. Countersign prepares every document so that all PDF readers show the same thing; this one was made by a program that skipped that."
            ));
            Ending::AsSigned
        }
        Err(RenderError::ImageNotInFile(hash)) => {
            findings.changed.push(format!(
                "The file was changed after signing: the image {hash} named in the log is not where the signed document has it."
            ));
            Ending::AsSigned
        }
        Err(RenderError::Interrupted) => return Err(Interrupted),
        Err(e) => {
            findings.document.push(format!("The signed document cannot be rebuilt from its log: {e}."));
            Ending::AsSigned
        }
    })
}

/// Checks each step's PDF signature over the bytes of the file as uploaded
/// (its byte range), with the signer's key, and against the log's `Seal`.
/// `identical`: the file is exactly the rebuilt one, so each step's message
/// is the one the rebuild computed.
fn check_pdf_signatures(
    pdf: &[u8],
    identical: bool,
    steps: &[StepSpan],
    state: &EnvelopeState,
    reasons: &mut Vec<String>,
) -> Vec<PdfSignatureReport> {
    let mut found = Vec::with_capacity(steps.len());
    for (index, step) in steps.iter().enumerate() {
        let name = state.terms().party(step.slot).map_or_else(String::new, |p| p.name.clone());
        let key = state.binding(step.slot);
        let message = if identical { Some(step.message.clone()) } else { message_over_file(pdf, step, state) };
        let valid = match (key, &message) {
            (Some(key), Some(message)) => key.verify(message, &step.value).is_ok(),
            _ => false,
        };
        if !valid {
            reasons.push(format!(
                "The PDF signature of {name} ({}) does not verify over the bytes it covers: the file was changed or the signature was not made with {name}'s key.",
                step.field
            ));
        }
        if state.seal(step.slot).is_some_and(|logged| logged != step.value) {
            reasons.push(format!("The PDF signature of {name} differs from the one the signing log records."));
        }
        // The rules admitted the party's Join only with a valid chain for its key.
        let certificate = state.certificates(step.slot).and_then(describe);
        found.push(PdfSignatureReport {
            position: index + 1,
            field: step.field.clone(),
            signer: name,
            certificate_subject: certificate.as_ref().map(|c| c.subject.clone()),
            certificate_issuer: certificate.as_ref().map(|c| c.issuer.clone()),
            certificate_root_fingerprint: certificate.map(|c| c.root_fingerprint),
            claimed_time: state.signature(step.slot).map(|r| local_and_utc(r.claimed_time, r.utc_offset)),
            certification: index == 0,
            covers_bytes: step.end as u64,
            valid,
        });
    }
    found
}

/// What the signer of `step` signed if the file's bytes in the step's range
/// are what they signed: the signed attributes over the digest of
/// `[0, hole) ∪ [hole end, step end)` of the uploaded file.
fn message_over_file(pdf: &[u8], step: &StepSpan, state: &EnvelopeState) -> Option<Vec<u8>> {
    let chain = state.certificates(step.slot)?;
    let mut hasher = sha2::Sha512::new();
    hasher.update(pdf.get(..step.hole.start)?);
    hasher.update(pdf.get(step.hole.end..step.end)?);
    let digest: [u8; 64] = hasher.finalize().into();
    render::signature::signed_attributes(chain, &digest).ok().map(|(_, message)| message)
}

/// Says where and how the part after the source differs from what the log
/// produces. `step_cut`: the file ends inside the log of a further step.
fn compare(
    found: &[u8],
    expected: &[u8],
    offset: usize,
    steps: &[render::StepSpan],
    state: &EnvelopeState,
    step_cut: bool,
    reasons: &mut Vec<String>,
) -> Ending {
    if found == expected {
        return Ending::AsSigned;
    }
    if found.len() > expected.len() && found.starts_with(expected) {
        let extra = &found[expected.len()..];
        if render::starts_a_step(extra) {
            if step_cut {
                // Every step before it is as its log makes it: a download cut
                // inside the next one.
                return Ending::CutShort;
            }
            if !state.rejected().is_empty() {
                // A step its log does not account for: the log in it was
                // changed (its entries no longer pass the rules).
                reasons.push(
                    "The file was changed after signing: the last signing step does not match the signing log it carries (an entry of that log was altered)."
                        .into(),
                );
                return Ending::AsSigned;
            }
        }
        let what = if memchr::memmem::find(extra, b"%PDF-").is_some() {
            "another PDF file was joined to its end"
        } else if render::starts_a_step(extra) {
            "a copy of a signing step that nobody signed there"
        } else {
            "for example an extra update that draws or changes something"
        };
        reasons.push(format!("Bytes were added after signing: {} bytes follow the last signature ({what}).", extra.len()));
        return Ending::AsSigned;
    }
    if found.len() < expected.len() && expected.starts_with(found) {
        return Ending::CutShort;
    }
    let at = offset + found.iter().zip(expected.iter()).position(|(a, b)| a != b).unwrap_or(found.len().min(expected.len()));
    let step = steps.iter().find(|s| at >= s.start && at < s.end);
    let place = match step {
        Some(step) => {
            let name = state.terms().party(step.slot).map_or("a party", |p| p.name.as_str());
            format!("in the part signed by {name}")
        }
        None => "after the signed parts".into(),
    };
    reasons.push(format!("The file was changed after signing: from byte {at} ({place}) it differs from the document the parties signed."));
    Ending::AsSigned
}

impl Report {
    /// The report of `pdf` before anything is known of it.
    fn empty(pdf: &[u8]) -> Report {
        Report {
            schema: REPORT_SCHEMA,
            verdict: Verdict::Unreadable,
            summary: String::new(),
            identity_summary: String::new(),
            file_hash: Hash::of(pdf).to_string(),
            file_len: pdf.len() as u64,
            envelope: None,
            title: None,
            document_hash: None,
            status: None,
            parties: Vec::new(),
            pdf_signatures: Vec::new(),
            reasons: Vec::new(),
        }
    }

    fn unreadable(mut self, why: &str) -> Report {
        self.verdict = Verdict::Unreadable;
        self.summary = why.to_owned();
        self.reasons = vec![why.to_owned()];
        self
    }

    fn fail(mut self, why: String) -> Report {
        self.verdict = Verdict::Invalid;
        self.summary = why.clone();
        self.reasons.push(why);
        self
    }

    fn describe(&mut self, state: &EnvelopeState, trusted: &TrustedRoots) {
        let terms = state.terms();
        self.envelope = Some(state.envelope().to_string());
        self.title = Some(terms.title.clone());
        self.document_hash = Some(terms.document.hash.to_string());
        self.status = Some(state.status());
        for (position, slot) in terms.signing_order().into_iter().enumerate() {
            let Some(party) = terms.party(slot) else { continue };
            let key = state.binding(slot);
            let record = state.signature(slot);
            let values = record
                .map(|r| {
                    r.values
                        .iter()
                        .filter_map(|(index, value)| {
                            let field = terms.fields.get(usize::from(*index))?;
                            let value = match value {
                                Value::Text(text) => text.clone(),
                                Value::Image { hash, len, format } => {
                                    format!(
                                        "{} image, {} KB, BLAKE3 {}",
                                        format.extension().to_uppercase(),
                                        len.div_ceil(1024),
                                        hash.short()
                                    )
                                }
                            };
                            Some(FieldReport { label: field.label.clone(), kind: field.kind, page: field.page, value })
                        })
                        .collect()
                })
                .unwrap_or_default();
            self.parties.push(PartyReport {
                position: position + 1,
                name: party.name.clone(),
                role: party.role,
                contact: party.contact.clone(),
                key: key.map(|k| k.to_string()),
                fingerprint: key.map(|k| k.fingerprint()),
                signed: record.is_some(),
                claimed_time: record.map(|r| local_and_utc(r.claimed_time, r.utc_offset)),
                claimed_time_ms: record.map(|r| r.claimed_time),
                claimed_time_backdated: record.is_some_and(|r| state.backdated(&r.entry)),
                entry: record.map(|r| r.entry.to_string()),
                values,
                identity: identity(state, slot, trusted),
            });
        }
        self.identity_summary = identity_summary(&self.parties);
    }
}

/// How the identity of the party at `slot` is known, if it joined.
fn identity(state: &EnvelopeState, slot: Slot, trusted: &TrustedRoots) -> Option<IdentityReport> {
    // The rules admitted the party's Join only with a valid chain for its key.
    let certificate = describe(state.certificates(slot)?)?;
    let phone_confirmed = state.phone_confirmed(slot).then(|| state.terms().party(slot).map(|p| p.contact.as_str().to_owned())).flatten();
    let trust = trusted.trusts(&certificate.root_fingerprint);
    let (level, authority) = if certificate.self_signed {
        (IdentityLevel::KeyOnly, None)
    } else {
        (IdentityLevel::Certificate, Some(certificate.issuer.clone()))
    };
    let mut description = match (&authority, trust) {
        (None, true) => "key only, but this verifier trusts that very key's certificate".to_owned(),
        (None, false) => "key only: the name is as the sender typed it, and nobody vouches for it".to_owned(),
        (Some(authority), true) => format!("certificate issued by {authority}, an authority this verifier trusts"),
        (Some(authority), false) => format!(
            "certificate issued by \"{authority}\" as it claims, an authority this verifier does not know: compare its root fingerprint with the one you trust"
        ),
    };
    if let Some(phone) = &phone_confirmed {
        description.push_str(&format!("; phone {phone} confirmed by a code the sender's node texted"));
    }
    Some(IdentityReport { level, authority, root_fingerprint: certificate.root_fingerprint, trusted: trust, phone_confirmed, description })
}

/// The identities in one line.
fn identity_summary(parties: &[PartyReport]) -> String {
    let joined: Vec<&PartyReport> = parties.iter().filter(|p| p.identity.is_some()).collect();
    if joined.is_empty() {
        return "No signer has joined: no identity to show.".into();
    }
    let vouched = joined.iter().filter(|p| p.identity.as_ref().is_some_and(|i| i.trusted && i.level == IdentityLevel::Certificate)).count();
    let phones = joined.iter().filter(|p| p.identity.as_ref().is_some_and(|i| i.phone_confirmed.is_some())).count();
    let mut line = match vouched {
        0 => "No signer's identity is vouched for by an authority this verifier trusts: the names are as the sender typed them".to_owned(),
        n if n == joined.len() => "Every signer holds a certificate from an authority this verifier trusts".to_owned(),
        n => format!(
            "{n} of {} signers hold a certificate from an authority this verifier trusts; the other names are as the sender typed them",
            joined.len()
        ),
    };
    if phones > 0 {
        line.push_str(&format!("; {phones} confirmed their phone by a code"));
    }
    line.push('.');
    line
}

/// The envelope id inside a final PDF, if it has a log.
pub fn envelope_of(pdf: &[u8]) -> Option<EnvelopeId> {
    match find_log(pdf) {
        LogFound::Log { envelope, .. } => Some(envelope),
        LogFound::CutShort | LogFound::TooManyUpdates | LogFound::Damaged(_) | LogFound::Missing => None,
    }
}
