//! `limbpath triage` and `limbpath protocol oi|lengthening` end to end: exit
//! codes (0 ok, 2 invalid input naming the flag or field), text and the JSON
//! envelope with the cited sources.

use serde_json::Value;
use std::process::{Command, Output};

fn limbpath(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_limbpath")).args(args).output().expect("run limbpath")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("stdout is JSON")
}

const RATES: [&str; 6] =
    ["--normal-kg-per-day", "5", "--osteopenia-kg-per-day", "2.5", "--osteoporosis-kg-per-day", "1"];

#[test]
fn a_fever_of_39_with_an_implant_is_urgent_as_text() {
    let o = limbpath(&["triage", "--temperature-c", "39", "--osseointegrated-implant"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("Triage: Urgent — contact the team now (contact_team_immediately)"), "{text}");
    assert!(text.contains("Contact the osseointegration team immediately"), "{text}");
    assert!(text.contains("oi.temperature_above_38_5"), "{text}");
    assert!(text.contains("Decision support only"), "{text}");
}

#[test]
fn triage_as_json_names_the_rule_and_its_source() {
    let v = json(&limbpath(&[
        "triage",
        "--json",
        "--temperature-c",
        "38.5",
        "--chills",
        "yes",
        "--osseointegrated-implant",
    ]));
    assert_eq!(v["schema"], "limbpath.triage/1");
    // 38.5 °C exactly is not "higher than 38.5" (§12.8); chills is a red flag on its own.
    assert_eq!(v["result"]["level"], "contact_team_immediately");
    let fired: Vec<&str> = v["result"]["fired"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert!(!fired.iter().any(|f| f.contains("temperature")), "{fired:?}");
    assert!(fired.iter().any(|f| f.contains("chills")), "{fired:?}");
    assert!(!v["sources"].as_object().unwrap().is_empty(), "the cited sources are listed: {v}");
}

#[test]
fn nothing_reported_is_routine_and_unanswered_is_listed() {
    let v = json(&limbpath(&["triage", "--json", "--chills", "no"]));
    assert_eq!(v["result"]["level"], "routine");
    assert!(v["result"]["unanswered"].as_array().unwrap().iter().any(|u| u == "temperature_c"));
}

#[test]
fn invalid_triage_input_exits_2_naming_the_field() {
    let o = limbpath(&["triage", "--temperature-c", "60"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("check_in.temperature_c"), "{}", stderr(&o));
    let o = limbpath(&["triage", "--pain-nrs", "11"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("pain_nrs"), "{}", stderr(&o));
}

#[test]
fn an_oi_plan_for_120_kg_caps_at_50_kg_and_osteoporosis_is_slower() {
    let mut args = vec!["protocol", "oi", "--json", "--surgery-date", "2025-03-03", "--body-weight-kg", "120"];
    args.extend(["--amputation-level", "transfemoral", "--bone-status", "osteoporosis"]);
    args.extend(RATES);
    let v = json(&limbpath(&args));
    assert_eq!(v["schema"], "limbpath.protocol.oi/1");
    let plan = &v["result"];
    // min(0.5 × 120, 50) = 50 kg; 5 kg on day 1 + 1 kg/day (osteoporosis rate) → 50 kg on day 46.
    assert_eq!(plan["target_load_kg"]["value"], 50.0);
    assert_eq!(plan["target_reached_day"], 46);
    let day =
        |n: u64| plan["days"].as_array().unwrap().iter().find(|d| d["day"] == n).unwrap()["target_load_kg"].clone();
    assert_eq!((day(1), day(2), day(45), day(46)), (5.0.into(), 6.0.into(), 49.0.into(), 50.0.into()));
}

#[test]
fn an_oi_plan_as_text_is_day_by_day() {
    let mut args = vec!["protocol", "oi", "--surgery-date", "2025-03-03", "--body-weight-kg", "80"];
    args.extend(["--amputation-level", "transfemoral", "--bone-status", "normal"]);
    args.extend(RATES);
    let o = limbpath(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("Target load: 40 kg"), "{text}");
    assert!(text.contains("   8  2025-03-11  static_loading           40"), "{text}");
    assert!(text.contains("programme setting, not from the reference pack"), "{text}");
}

#[test]
fn an_oi_plan_without_the_programmes_rates_is_refused_naming_the_flag() {
    let o = limbpath(&[
        "protocol",
        "oi",
        "--surgery-date",
        "2025-03-03",
        "--body-weight-kg",
        "80",
        "--amputation-level",
        "transfemoral",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--normal-kg-per-day"), "{}", stderr(&o));
    let mut args = vec!["protocol", "oi", "--surgery-date", "2025-02-30", "--body-weight-kg", "80"];
    args.extend(["--amputation-level", "transfemoral"]);
    args.extend(RATES);
    let o = limbpath(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--surgery-date"), "{}", stderr(&o));
}

#[test]
fn a_lengthening_plan_of_40_mm_at_1_mm_a_day() {
    let v = json(&limbpath(&[
        "protocol",
        "lengthening",
        "--json",
        "--osteotomy-date",
        "2025-01-06",
        "--target-mm",
        "40",
        "--latency-days",
        "7",
        "--healing-index-days-per-cm",
        "41.4",
    ]));
    assert_eq!(v["schema"], "limbpath.protocol.lengthening/1");
    let p = &v["result"];
    // Latency 7: first turn on 13 January; 40 days of 1 mm: last on 21 February (13 Jan + 39 days).
    assert_eq!(p["distraction_starts_on"], "2025-01-13");
    assert_eq!(p["distraction_ends_on"], "2025-02-21");
    assert_eq!(p["total_turns"], 160);
    // 41.4 d/cm × 4 cm = 165.6 → 166 days after the osteotomy: 21 June.
    assert_eq!(p["consolidation_ends_on"]["value"], "2025-06-21");
    let o = limbpath(&["protocol", "lengthening", "--osteotomy-date", "2025-01-06", "--target-mm", "40"]);
    assert_eq!(o.status.code(), Some(2), "the healing index is required: {}", stderr(&o));
}
