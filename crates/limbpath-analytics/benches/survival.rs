//! The estimators on the synthetic cohort (shared/bench/cohort.md, seed
//! 20240601) held in memory: 100,000 and 1,000,000 subjects.
//!
//! `cargo bench -p limbpath-analytics --bench survival`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use limbpath_analytics::*;
use std::hint::black_box;
use std::time::Duration;

const SIZES: [u64; 2] = [100_000, 1_000_000];

/// The synthetic cohort with a competing event: every third subject's event
/// (by id) is recoded as code 2.
fn competing(n: u64) -> Cohort {
    let mut b = CohortBuilder::new();
    b.reserve(n as usize);
    for i in 0..n {
        let r = synthetic_row(REFERENCE_SEED, i);
        let event = match (r.event, r.id % 3) {
            (false, _) => CENSORED,
            (true, 0) => 2,
            (true, _) => EVENT,
        };
        b.push(
            Subject { duration_days: f64::from(r.duration_days), event, covariates: &[] },
            Some(GroupLabel::Number(i64::from(r.group))),
        )
        .expect("valid synthetic subject");
    }
    b.build().expect("valid cohort")
}

fn estimators(c: &mut Criterion) {
    let mut group = c.benchmark_group("survival");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    for n in SIZES {
        let cohort = synthetic_cohort(REFERENCE_SEED, n).expect("valid cohort");
        let with_groups = cohort.with_group_indicators().expect("4 groups");
        let competing = competing(n);
        let csv = synthetic_csv(REFERENCE_SEED, n);
        group.throughput(Throughput::Elements(n));
        group.bench_with_input(BenchmarkId::new("parse_csv", n), &csv, |b, csv| {
            b.iter(|| parse_cohort_csv(black_box(csv)).expect("valid"))
        });
        let km = KaplanMeierOptions { alpha: 0.05, times: standard_horizon_days() };
        group.bench_with_input(BenchmarkId::new("kaplan_meier", n), &cohort, |b, c| {
            b.iter(|| kaplan_meier(black_box(c), &km).expect("fits"))
        });
        group.bench_with_input(BenchmarkId::new("kaplan_meier_by_group", n), &cohort, |b, c| {
            b.iter(|| kaplan_meier_by_group(black_box(c), &km).expect("fits"))
        });
        group.bench_with_input(BenchmarkId::new("log_rank", n), &cohort, |b, c| {
            b.iter(|| log_rank_test(black_box(c)).expect("fits"))
        });
        let aj = CumulativeIncidenceOptions { times: standard_horizon_days(), ..Default::default() };
        group.bench_with_input(BenchmarkId::new("aalen_johansen", n), &competing, |b, c| {
            b.iter(|| cumulative_incidence(black_box(c), &aj).expect("fits"))
        });
        let no_c = CoxOptions { concordance: false, ..CoxOptions::default() };
        group.bench_with_input(BenchmarkId::new("cox_3_indicators", n), &with_groups, |b, c| {
            b.iter(|| cox_proportional_hazards(black_box(c), &no_c).expect("fits"))
        });
        group.bench_with_input(BenchmarkId::new("cox_3_indicators_with_concordance", n), &with_groups, |b, c| {
            b.iter(|| cox_proportional_hazards(black_box(c), &CoxOptions::default()).expect("fits"))
        });
    }
    group.finish();
}

criterion_group!(benches, estimators);
criterion_main!(benches);
