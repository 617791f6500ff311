#![allow(clippy::expect_used)] // a benchmark may stop on a broken fixture
//! Speed of the core: verifying and rendering a final PDF built from a 10 MB
//! source (against SHA-512 + BLAKE3 of the same bytes, which every check
//! needs: the aim is at most 1.5 times that), from the corpus's Google Docs
//! PDF and from the 2-page contract; preparing a source; what a signer's node
//! does to seal its step; checking a log of 1,000 entries, and a log built to
//! be slow (a chain of invitations and joins with wrong proofs), and one
//! where a signer signs 10,000 times more.
//!
//! `cargo bench -p countersign-shared --features test-utils`

use countersign_shared::hash::Hash;
use countersign_shared::render::render;
use countersign_shared::state::fold;
use countersign_shared::test_utils::{Scenario, contract_terms, equivocating_log, hostile_log, large_pdf, long_log, prepared};
use countersign_shared::verify::{Verdict, verify};
use criterion::{Criterion, criterion_group, criterion_main};

fn ten_megabyte_final_pdf(c: &mut Criterion) {
    let pdf = large_pdf(10 * 1024 * 1024);
    let terms = contract_terms(&pdf);
    let mut scenario = Scenario::joined(pdf, terms);
    scenario.director_signs();
    scenario.client_signs();
    let state = scenario.state();
    let final_pdf = scenario.render();
    assert_eq!(verify(&final_pdf).verdict, Verdict::Valid);
    eprintln!("final PDF: {} bytes from a {} byte source", final_pdf.len(), scenario.pdf.len());

    let mut group = c.benchmark_group("final_pdf_10mb");
    group.sample_size(20);
    group.bench_function("blake3_hash_lower_bound", |b| b.iter(|| Hash::of(&final_pdf)));
    group.bench_function("sha512_plus_blake3", |b| {
        b.iter(|| {
            use sha2::Digest as _;
            (sha2::Sha512::digest(&final_pdf), Hash::of(&final_pdf))
        })
    });
    group.bench_function("verify", |b| b.iter(|| verify(&final_pdf)));
    group.bench_function("render", |b| b.iter(|| render(&scenario.pdf, &state, &scenario.blobs)));
    group.finish();
}

/// A typical document: the 2-page contract (about 50 KB signed, two signers).
fn contract_final_pdf(c: &mut Criterion) {
    let scenario = Scenario::signed_contract();
    let state = scenario.state();
    let final_pdf = scenario.render();
    assert_eq!(verify(&final_pdf).verdict, Verdict::Valid);
    let mut group = c.benchmark_group("final_pdf_contract");
    group.bench_function("verify", |b| b.iter(|| verify(&final_pdf)));
    group.bench_function("render", |b| b.iter(|| render(&scenario.pdf, &state, &scenario.blobs)));
    group.finish();
}

/// The final PDF made from the corpus's Google Docs document (about 130 KB):
/// the file the verifier service's throughput is measured with.
fn google_doc_final_pdf(c: &mut Criterion) {
    let original = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/corpus/google-doc-document.pdf")).expect("the corpus file");
    let pdf = prepared(&original);
    let terms = contract_terms(&pdf);
    let mut scenario = Scenario::joined(pdf, terms);
    scenario.director_signs();
    scenario.client_signs();
    let final_pdf = scenario.render();
    assert_eq!(verify(&final_pdf).verdict, Verdict::Valid);
    eprintln!("Google Docs final PDF: {} bytes", final_pdf.len());
    if let Some(path) = std::env::var_os("COUNTERSIGN_WRITE_GOOGLE_DOC_FINAL") {
        std::fs::write(path, &final_pdf).expect("writes the final PDF for wrk");
    }
    let mut group = c.benchmark_group("final_pdf_google_doc");
    group.bench_function("verify", |b| b.iter(|| verify(&final_pdf)));
    group.bench_function("prepare_source", |b| b.iter(|| countersign_shared::source::prepare(&original)));
    group.finish();
}

/// What the client's node computes to seal the last step: the file up to it
/// and the bytes its key signs, then the signature itself.
fn sealing_a_step(c: &mut Criterion) {
    use countersign_shared::render::seal_message;
    use countersign_shared::test_utils::{CLIENT, party_key};
    let scenario = Scenario::signed_contract();
    let state = scenario.state();
    let key = party_key(CLIENT);
    let mut group = c.benchmark_group("seal_contract");
    group.bench_function("client_step_message", |b| b.iter(|| seal_message(&scenario.pdf, &state, &scenario.blobs, CLIENT)));
    let message = seal_message(&scenario.pdf, &state, &scenario.blobs, CLIENT).expect("the client's step");
    group.bench_function("ed25519_sign", |b| b.iter(|| key.sign(&message)));
    group.finish();
}

fn thousand_entry_log(c: &mut Criterion) {
    let (envelope, entries) = long_log(1_000);
    let state = fold(envelope, entries.clone()).expect("the log folds");
    assert_eq!(state.valid().len(), 1_000);
    assert!(state.rejected().is_empty());
    c.bench_function("fold_log_1000_entries", |b| b.iter(|| fold(envelope, entries.clone())));
}

/// A log built to be slow to fold: 10,000 chained invitations (those past
/// the 1,024 grants an envelope may hold are refused) and 10,000 joins with
/// wrong proofs. It took 65 s when each join walked its ancestry.
fn hostile_log_fold(c: &mut Criterion) {
    let (envelope, entries) = hostile_log(10_000, 10_000);
    let mut group = c.benchmark_group("fold_hostile_log");
    group.sample_size(10);
    group.bench_function("10000_invites_10000_wrong_joins", |b| b.iter(|| fold(envelope, entries.clone())));
    group.finish();
}

/// A completed contract and 10,000 second signatures by the director beside
/// the first: each is settled (the first, which the client built on, stands).
fn equivocating_log_fold(c: &mut Criterion) {
    let (envelope, entries) = equivocating_log(10_000);
    let state = fold(envelope, entries.clone()).expect("folds");
    assert_eq!(state.rejected().len(), 10_000);
    let mut group = c.benchmark_group("fold_equivocating_log");
    group.sample_size(10);
    group.bench_function("10000_second_signatures", |b| b.iter(|| fold(envelope, entries.clone())));
    group.finish();
}

/// The floor for the fold above: 1,000 strict ed25519 verifications.
fn thousand_signatures(c: &mut Criterion) {
    let key = countersign_shared::test_utils::key(3);
    let signed: Vec<(Vec<u8>, countersign_shared::Signature)> = (0..1_000)
        .map(|i| {
            let message = format!("entry {i} of a log").into_bytes();
            let signature = key.sign(&message);
            (message, signature)
        })
        .collect();
    let public = key.public();
    c.bench_function("ed25519_verify_strict_1000", |b| b.iter(|| signed.iter().all(|(m, s)| public.verify(m, s).is_ok())));
}

criterion_group!(
    benches,
    ten_megabyte_final_pdf,
    google_doc_final_pdf,
    contract_final_pdf,
    sealing_a_step,
    thousand_entry_log,
    hostile_log_fold,
    equivocating_log_fold,
    thousand_signatures
);
criterion_main!(benches);
