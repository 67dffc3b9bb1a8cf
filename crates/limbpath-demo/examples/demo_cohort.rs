//! Generate a demo cohort and report how long it took; optionally print one record.
//!
//! ```text
//! cargo run --release -p limbpath-demo --example demo_cohort -- [N] [SEED] [THREADS]
//! cargo run --release -p limbpath-demo --example demo_cohort -- show INDEX [SEED]
//! ```

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("show") {
        let index = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let seed = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20_261_121);
        let rec = limbpath_demo::patient_record(seed, index);
        match serde_json::to_string_pretty(&rec) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("{e}"),
        }
        return;
    }
    let n: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let seed: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20_261_121);
    let threads: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2).max(1);
    let start = Instant::now();
    // Contiguous chunks per thread: record i depends only on (seed, i).
    let per = n.div_ceil(threads);
    let counts: Vec<(usize, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let (mut rows, mut assessments) = (0usize, 0usize);
                    for i in (t * per)..((t + 1) * per).min(n) {
                        let r = limbpath_demo::patient_record(seed, i);
                        assessments += r.assessments.len();
                        rows += 1
                            + r.limbs.len()
                            + r.episodes.len()
                            + r.assessments.len()
                            + r.wounds.len()
                            + r.wound_measurements.len()
                            + r.vascular_studies.len()
                            + r.imaging_studies.len()
                            + r.procedures.len()
                            + r.outcome_events.len()
                            + r.consents.len()
                            + r.care_team.len();
                    }
                    (rows, assessments)
                })
            })
            .collect();
        // A generator panic has already printed its seed, index and field.
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| std::process::exit(1))).collect()
    });
    let elapsed = start.elapsed();
    let rows: usize = counts.iter().map(|c| c.0).sum();
    let assessments: usize = counts.iter().map(|c| c.1).sum();
    println!(
        "{n} patients ({rows} rows, {assessments} derived assessments) in {:.2} s on {threads} thread(s): {:.1} µs/patient",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / n as f64 * threads as f64
    );
}
