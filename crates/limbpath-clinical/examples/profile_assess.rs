//! Runs the example assessment in a loop, for profilers (callgrind, perf).
//! cargo run --release -p limbpath-clinical --example profile_assess -- 20000
use limbpath_clinical::assess::{AssessmentInput, assess};

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let input: AssessmentInput = serde_json::from_str(include_str!("../../../examples/findings.json")).expect("parse");
    let mut stages = 0u64;
    for _ in 0..n {
        let a = assess(std::hint::black_box(&input)).expect("assess");
        stages += a.wifi.map_or(0, |w| u64::from(w.stage.stage));
    }
    println!("{stages}");
}
