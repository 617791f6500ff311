#![allow(clippy::expect_used)] // a benchmark may stop on a broken fixture
//! Files made to knock a reader over, and what they cost now: each must be
//! answered in time and memory in line with its size.
//!
//! - preparing an object stream that names 20,000 objects at one place (a
//!   12 KB file that once took 5 GB), 20,000 cross-reference entries at one
//!   object, and a cross-reference stream that inflates to 250 MB;
//! - preparing files whose cost is the product of two of their sizes in a
//!   naive reader: resources inherited by 2,000 pages, one annotation list
//!   named 100,000 times, 100,000 actions 96 levels deep, a large field value
//!   passed to 100,000 kids, a 1 MB address named by 100,000 links, one list
//!   of 100,000 drawing parts on 2,000 pages, an 8 MB drawing part listed
//!   10,000 times, a 1 MB value inherited by 10,000 kids, a large link
//!   destination listed 100,000 times, a string of 4,000,000 backslashes
//!   (hundreds of gigabytes, or hours, each);
//! - verifying a final PDF followed by 8 MB of image markers (each once made
//!   the verifier hash 4 MiB).
//!
//! `cargo bench -p countersign-scenarios --bench hostile`

use countersign_scenarios::crafted;
use countersign_shared::source::prepare;
use countersign_shared::test_utils::Scenario;
use countersign_shared::verify::verify;
use criterion::{Criterion, criterion_group, criterion_main};

fn hostile_sources(c: &mut Criterion) {
    let mut group = c.benchmark_group("prepare_hostile");
    group.sample_size(10);
    for (name, pdf) in [
        ("object_stream_20000_at_one_offset", crafted::object_stream_bomb(20_000)),
        ("xref_20000_entries_at_one_object", crafted::many_entries_at_one_place(20_000)),
        ("xref_stream_inflating_to_250_mb", crafted::xref_stream_bomb(250)),
    ]
    .into_iter()
    .chain(crafted::files_that_multiply_a_readers_work())
    {
        eprintln!("{name}: {} bytes, {:?}", pdf.len(), prepare(&pdf).map(|p| p.bytes.len()));
        group.bench_function(name, |b| b.iter(|| prepare(&pdf)));
    }
    group.finish();
}

fn hostile_final(c: &mut Criterion) {
    let scenario = Scenario::signed_contract();
    let final_pdf = scenario.render();
    let hash = scenario.blobs.keys().next().expect("an image").to_string();
    let marker = format!("/CountersignBlob/{hash}>>stream\n");
    let mut padded = final_pdf.clone();
    while padded.len() < final_pdf.len() + 8 * 1024 * 1024 {
        padded.extend_from_slice(marker.as_bytes());
    }
    let mut group = c.benchmark_group("verify_hostile");
    group.sample_size(10);
    group.bench_function("final_pdf", |b| b.iter(|| verify(&final_pdf)));
    group.bench_function("final_pdf_then_8mb_of_image_markers", |b| b.iter(|| verify(&padded)));
    group.finish();
}

criterion_group!(benches, hostile_sources, hostile_final);
criterion_main!(benches);
