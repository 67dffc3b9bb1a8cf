//! Import and export throughput. The import path's budget is ≥ 20 000
//! resources/s on 2 cores *including storage*; this measures the pure part
//! (JSON parse + mapping), which should be a small fraction of that budget.
//!
//! Run: cargo bench -p limbpath-fhir --bench import

// The allocator the `limbpath` binary ships with, so the numbers are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use limbpath_fhir::{BundleKind, bundle, export_patient, import_bundle, import_ndjson, ndjson};
use std::hint::black_box;
use std::path::PathBuf;

fn synthea() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/synthea");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/synthea")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files.into_iter().map(|p| std::fs::read_to_string(p).expect("sample")).collect()
}

fn benches(c: &mut Criterion) {
    let samples = synthea();
    let resources: usize = samples.iter().map(|s| import_bundle(s, "synthea").expect("import").resource_count()).sum();
    let bytes: usize = samples.iter().map(String::len).sum();
    let mut g = c.benchmark_group("import");
    g.throughput(Throughput::Elements(resources as u64));
    g.bench_function(format!("synthea_5_bundles_{resources}_resources_{}_kB", bytes / 1000), |b| {
        b.iter(|| {
            for s in &samples {
                black_box(import_bundle(black_box(s), "synthea").expect("import"));
            }
        })
    });

    // A LimbPath export (the full record rebuild, with every assessment re-derived).
    let cohort: Vec<_> = limbpath_demo::cohort(20_261_121, 50).collect();
    let exported: Vec<String> = cohort
        .iter()
        .map(|r| {
            serde_json::to_string(&bundle(BundleKind::Transaction, export_patient(r).expect("export"), "https://x"))
                .expect("json")
        })
        .collect();
    let n: usize = exported.iter().map(|s| import_bundle(s, "lp").expect("import").resource_count()).sum();
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(format!("limbpath_export_50_patients_{n}_resources"), |b| {
        b.iter(|| {
            for s in &exported {
                black_box(import_bundle(black_box(s), "lp").expect("import"));
            }
        })
    });
    let lines: String = cohort.iter().map(|r| ndjson(&export_patient(r).expect("export"))).collect();
    g.bench_function(format!("limbpath_ndjson_50_patients_{n}_resources"), |b| {
        b.iter(|| black_box(import_ndjson(black_box(&lines), "lp").expect("import")))
    });
    g.finish();

    let mut g = c.benchmark_group("export");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(format!("50_patients_{n}_resources_to_json"), |b| {
        b.iter(|| {
            for r in &cohort {
                let b = bundle(BundleKind::Transaction, export_patient(black_box(r)).expect("export"), "https://x");
                black_box(serde_json::to_string(&b).expect("json"));
            }
        })
    });
    g.finish();
}

criterion_group!(name = import; config = Criterion::default().sample_size(20); targets = benches);
criterion_main!(import);
