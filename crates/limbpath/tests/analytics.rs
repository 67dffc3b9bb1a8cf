//! `limbpath analytics` end to end: the CSV columns README documents, text and
//! JSON output, and errors that name the row and column (exit code 2). The
//! estimators' numbers are checked against lifelines and R in
//! `limbpath-analytics`; these tests check the command around them.

use serde_json::Value;
use std::process::{Command, Output, Stdio};

fn analytics(args: &[&str], csv: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_limbpath"))
        .arg("analytics")
        .args(args)
        .args(["--input", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn limbpath");
    child.stdin.take().expect("stdin").write_all(csv.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn json(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("stdout is JSON")
}

// Six subjects: deaths at 1, 3, 3 and 5; censored at 2 and 4.
// By hand: S(1) = 5/6; S(3) = 5/6 x 2/4 = 5/12; S(5) = 0. Median: first t with S <= 0.5, day 3.
const SIX: &str = "id,group,duration_days,event\n1,a,1,1\n2,a,2,0\n3,b,3,1\n4,a,3,1\n5,b,4,0\n6,b,5,1\n";

#[test]
fn kaplan_meier_of_a_hand_computed_cohort() {
    let v = json(&analytics(&["km", "--json", "--times", "1,3,5"], SIX));
    assert_eq!(v["schema"], "limbpath.analytics.km/1");
    let km = &v["result"][0];
    let survival: Vec<f64> =
        km["at_times"].as_array().unwrap().iter().map(|t| t["survival"].as_f64().unwrap()).collect();
    let expected = [5.0 / 6.0, 5.0 / 12.0, 0.0];
    for (got, want) in survival.iter().zip(expected) {
        assert!((got - want).abs() < 1e-12, "{survival:?}");
    }
    assert_eq!(km["median"]["time"], 3.0);
    assert_eq!(km["n_events"], 4);
    assert!(km["method"].as_str().unwrap().contains("log(-log)"), "the interval transform is named");

    let text = String::from_utf8(analytics(&["km", "--times", "1,3,5"], SIX).stdout).unwrap();
    assert!(text.contains("median survival 3 days"), "{text}");
    assert!(text.contains("0.4167"), "{text}");
}

#[test]
fn one_curve_and_one_test_per_group() {
    let v = json(&analytics(&["km", "--json", "--by-group"], SIX));
    let groups: Vec<&str> = v["result"].as_array().unwrap().iter().map(|k| k["group"].as_str().unwrap()).collect();
    assert_eq!(groups, ["a", "b"]);
    let v = json(&analytics(&["logrank", "--json"], SIX));
    assert_eq!(v["result"]["degrees_of_freedom"], 1);
    let observed: u64 = v["result"]["groups"].as_array().unwrap().iter().map(|g| g["observed"].as_u64().unwrap()).sum();
    assert_eq!(observed, 4);
    let v = json(&analytics(&["cox", "--json"], SIX));
    assert_eq!(v["result"]["coefficients"][0]["name"], "group=b", "the first group is the reference");
}

#[test]
fn competing_risks_count_each_event_code() {
    // Codes: 1 = event of interest, 2 = competing (e.g. death before amputation), 0 = censored.
    let csv = "duration_days,event\n1,1\n2,2\n3,1\n4,0\n5,2\n";
    let v = json(&analytics(&["cif", "--json", "--event-of-interest", "1", "--times", "10"], csv));
    let c = &v["result"][0];
    assert_eq!((c["n_events_of_interest"].as_u64(), c["n_competing_events"].as_u64()), (Some(2), Some(2)));
    // By hand (Aalen-Johansen): at t=1, 1/5; at t=3 the event-free survival is 4/5 x 3/4 = 3/5, so + 3/5 x 1/3.
    let at = c["at_times"][0]["cumulative_incidence"].as_f64().unwrap();
    assert!((at - 0.4).abs() < 1e-12, "{at}");
}

#[test]
fn a_bad_row_is_named_with_its_column_and_exits_2() {
    let o = analytics(&["km"], "duration_days,event\n3,1\n-4,1\n");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("duration_days") && err.contains("-4"), "{err}");
    let o = analytics(&["km"], "duration_days\n3\n");
    assert_eq!(o.status.code(), Some(2), "a missing event column is refused");
    assert!(String::from_utf8_lossy(&o.stderr).contains("event"));
    let o = analytics(&["cox"], "duration_days,event\n3,1\n4,0\n");
    assert_eq!(o.status.code(), Some(2), "Cox without covariates or groups says so");
}
