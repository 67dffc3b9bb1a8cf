//! Kernel benchmarks: WIfI from bedside measurements, and a full assessment
//! of one limb (the example in examples/findings.json). Results and the
//! machine they ran on are recorded in BENCHMARKS.md.
//!
//! Run: cargo bench -p limbpath-clinical --bench engine

// The allocator the `limbpath` binary ships with, so the numbers are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, criterion_group, criterion_main};
use limbpath_clinical::assess::{AssessmentInput, assess};
use limbpath_clinical::infection::{InfectionFindings, SirsFindings};
use limbpath_clinical::wifi::{self, Gangrene, HeelUlcer, IschaemiaMeasurements, Ulcer, WifiInput, WoundFindings};
use std::hint::black_box;

fn wifi_from_measurements() -> WifiInput {
    WifiInput {
        wound: Some(WoundFindings {
            ulcer: Ulcer::Deep,
            heel: HeelUlcer::None,
            gangrene: Gangrene::Digits,
            rest_pain: false,
        }),
        ischaemia: Some(IschaemiaMeasurements {
            abi: Some(0.52),
            ankle_pressure_mmhg: Some(74.0),
            toe_pressure_mmhg: Some(24.0),
            tcpo2_mmhg: None,
            non_compressible: false,
            diabetes: true,
        }),
        infection: Some(InfectionFindings {
            local_swelling_or_induration: true,
            erythema_cm: 1.5,
            local_warmth: true,
            sirs: SirsFindings {
                temperature_c: Some(37.4),
                heart_rate_bpm: Some(88.0),
                respiratory_rate_per_min: Some(16.0),
                wbc_per_ul: Some(9800.0),
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn benches(c: &mut Criterion) {
    let input = wifi_from_measurements();
    c.bench_function("wifi_from_measurements", |b| b.iter(|| wifi::classify(black_box(&input))));

    let findings: AssessmentInput =
        serde_json::from_str(include_str!("../../../examples/findings.json")).expect("example findings parse");
    assert!(assess(&findings).is_ok());
    c.bench_function("assess_full_limb", |b| b.iter(|| assess(black_box(&findings))));

    // Each section of the example on its own, to see where the time goes.
    let full: serde_json::Value = serde_json::from_str(include_str!("../../../examples/findings.json")).expect("parse");
    let mut group = c.benchmark_group("assess_section");
    for section in ["pressures", "wifi", "angiosome", "glass", "rutherford", "wagner", "texas", "sinbad"] {
        let mut v = serde_json::json!({});
        let keys: &[&str] = match section {
            "wifi" => &["side", "diabetes", "pressures", "wound", "infection"],
            "angiosome" => &["wound_locations", "arteries"],
            other => std::slice::from_ref(match other {
                "pressures" => &"pressures",
                "glass" => &"glass",
                "rutherford" => &"rutherford",
                "wagner" => &"wagner",
                "texas" => &"texas",
                _ => &"sinbad",
            }),
        };
        for k in keys {
            v[*k] = full[*k].clone();
        }
        let input: AssessmentInput = serde_json::from_value(v).expect("section parses");
        group.bench_function(section, |b| b.iter(|| assess(black_box(&input))));
    }
    group.finish();

    let text = include_str!("../../../examples/findings.json");
    c.bench_function("assess_full_limb_parse_and_serialise", |b| {
        b.iter(|| {
            let input: AssessmentInput = serde_json::from_str(black_box(text)).expect("parse");
            let a = assess(&input).expect("assess");
            serde_json::to_vec(&a).expect("serialise").len()
        })
    });
}

criterion_group!(engine, benches);
criterion_main!(engine);
