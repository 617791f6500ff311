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
        ("resources_inherited_by_2000_pages", crafted::resources_inherited_by_many_pages(2_000, 200_000)),
        ("annotation_list_named_100000_times", crafted::one_annotation_list_named_everywhere(100_000, 200_000)),
        ("actions_96_levels_deep", crafted::actions_deep_inside(96, 100_000)),
        ("large_value_passed_to_100000_kids", crafted::large_value_passed_to_many_kids(200_000, 100_000)),
        ("address_of_1_mb_named_by_100000_links", crafted::one_address_named_by_many_links(100_000, 1_000_000)),
        ("drawing_list_of_100000_parts_on_2000_pages", crafted::drawing_list_shared_by_many_pages(2_000, 100_000)),
        ("drawing_part_of_8_mb_listed_10000_times", crafted::one_large_part_listed_many_times(10_000, 8)),
        ("value_of_1_mb_inherited_by_10000_kids", crafted::large_value_inherited_by_distinct_kids(1_000_000, 10_000)),
        ("link_destination_listed_100000_times", crafted::link_with_a_large_destination_listed_many_times(100_000, 100_000)),
        ("string_of_4000000_backslashes", crafted::string_of_backslashes(4_000_000)),
    ] {
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
