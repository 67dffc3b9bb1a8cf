//! The `limbpath` binary end to end: exit codes (0 ok, 2 invalid input),
//! text and JSON output, errors that name the field, stdin, and --batch.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn limbpath(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_limbpath")).args(args).output().expect("run limbpath")
}

fn limbpath_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_limbpath"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn limbpath");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait")
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

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/findings.json");

#[test]
fn wifi_from_grades_as_text() {
    let o = limbpath(&["classify", "wifi", "--wound", "2", "--ischemia", "3", "--infection", "1"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.contains("WIfI clinical stage: stage 4 (W2 I3 fI1): high 1-year amputation risk"), "{text}");
    assert!(text.contains("source: Mills JL Sr et al."), "{text}");
    assert!(text.contains("Decision support only"), "{text}");
}

#[test]
fn wifi_from_measurements_as_json_envelope() {
    let o = limbpath(&[
        "classify",
        "wifi",
        "--json",
        "--wound-depth",
        "deep",
        "--abi",
        "0.52",
        "--toe-pressure",
        "24",
        "--erythema-cm",
        "1.5",
        "--warmth",
        "--swelling",
    ]);
    let v = json(&o);
    assert_eq!(v["schema"], "limbpath.classify.wifi/1");
    assert_eq!(v["result"]["code"], "W2 I3 fI1");
    assert_eq!(v["result"]["stage"]["stage"], 4);
    assert_eq!(v["result"]["ischaemia_detail"]["driven_by"], "toe_pressure");
    assert_eq!(v["result"]["stage"]["explanation"]["source"], "wifi.stage_matrix");
    assert!(v["sources"]["wifi.stage_matrix"]["citation"].as_str().unwrap().contains("Mills"));
    assert!(v["notice"].as_str().unwrap().starts_with("Decision support"));
}

#[test]
fn disputed_cell_is_flagged_in_json() {
    let v = json(&limbpath(&["classify", "--json", "wifi", "--wound", "0", "--ischemia", "2", "--infection", "3"]));
    assert_eq!(v["result"]["stage"]["stage"], 4);
    let flags = v["result"]["stage"]["explanation"]["flags"].as_array().unwrap();
    assert!(flags.iter().any(|f| f["kind"] == "DISPUTED"), "{flags:?}");
}

#[test]
fn invalid_input_exits_2_and_names_the_field() {
    let o = limbpath(&["classify", "wifi", "--wound", "1", "--infection", "0", "--abi", "-1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty());
    let err = stderr(&o);
    assert!(err.contains("ischaemia.abi = -1 is out of range"), "{err}");

    let o = limbpath(&["classify", "wifi", "--wound", "1", "--infection", "0", "--toe-pressure", "900"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("toe_pressure_mmhg = 900"), "{}", stderr(&o));

    let o = limbpath(&["classify", "wifi", "--wound", "1", "--infection", "0", "--abi", "NaN"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a number"), "{}", stderr(&o));

    let o = limbpath(&["classify", "wifi", "--wound", "1", "--infection", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("ischaemia_grade is required"), "{}", stderr(&o));

    let o = limbpath(&["classify", "wifi", "--wound", "5", "--ischemia", "0", "--infection", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("wound_grade = 5"), "{}", stderr(&o));
}

#[test]
fn unknown_vocabulary_word_is_a_usage_error_naming_the_choices() {
    let o = limbpath(&["classify", "wifi", "--wound-depth", "huge", "--ischemia", "1", "--infection", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("huge") && err.contains("extensive_deep"), "{err}");
}

#[test]
fn abi_and_angiosome_subcommands() {
    let v = json(&limbpath(&[
        "classify",
        "--json",
        "abi",
        "--brachial-left",
        "140",
        "--brachial-right",
        "120",
        "--left-dp",
        "70",
        "--left-pt",
        "56",
    ]));
    assert_eq!(v["result"]["legs"][0]["abi"]["abi_reported"], "0.50");

    let v = json(&limbpath(&[
        "classify",
        "--json",
        "angiosome",
        "--location",
        "plantar-heel",
        "--at",
        "treatable",
        "--pt",
        "untreatable",
        "--peroneal",
        "treatable",
    ]));
    let options = v["result"]["options"].as_array().unwrap();
    assert_eq!(options[0]["artery"], "anterior_tibial");
    assert_eq!(options[0]["route"], "indirect");
    assert_eq!(options[1]["artery"], "peroneal");
    assert_eq!(options[1]["route"], "direct");

    let o = limbpath(&["classify", "angiosome", "--location", "knee"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("location = \"knee\" is not recognised"), "{}", stderr(&o));
}

#[test]
fn assess_a_file_and_stdin_give_the_same_result() {
    let from_file = json(&limbpath(&["assess", "--json", "--input", EXAMPLE]));
    let text = std::fs::read_to_string(EXAMPLE).unwrap();
    let from_stdin = json(&limbpath_stdin(&["assess", "--json", "--input", "-"], &text));
    assert_eq!(from_file, from_stdin);
    assert_eq!(from_file["schema"], "limbpath.assess/1");
    let r = &from_file["result"];
    assert_eq!(r["wifi"]["code"], "W2 I3 fI1");
    assert_eq!(r["wifi"]["ischaemia"]["explanation"]["inputs"]["derived_from"], "pressures.left");
    assert_eq!(r["angiosome"]["source_arteries"], serde_json::json!(["anterior_tibial"]));
    assert!(r["texas"]["class"].is_string());
    // every cited source id is in the document's sources map
    let sources = from_file["sources"].as_object().unwrap();
    let text = serde_json::to_string(r).unwrap();
    for (id, s) in sources {
        assert_eq!(s["id"], *id);
        assert!(text.contains(&format!("\"source\":\"{id}\"")));
    }
}

#[test]
fn assess_rejects_bad_input_naming_the_field() {
    let o = limbpath_stdin(
        &["assess", "--input", "-"],
        r#"{"side":"left","pressures":{"brachial_left_mmhg":120,"left":{"toe_pressure_mmhg":900}}}"#,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("pressures.left.toe_pressure_mmhg = 900"), "{}", stderr(&o));

    let o = limbpath_stdin(&["assess", "--input", "-"], r#"{"wound_grade": 1, "abii": 0.5}"#);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown field `abii`"), "{}", stderr(&o));

    let o =
        limbpath_stdin(&["assess", "--input", "-"], r#"{"wound": {"ulcer": 3, "heel": "none", "gangrene": "none"}}"#);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("wound.ulcer"), "{}", stderr(&o));

    let o = limbpath_stdin(&["assess", "--input", "-"], "{not json");
    assert_eq!(o.status.code(), Some(2));

    let o = limbpath_stdin(&["assess", "--input", "-"], r#"{"ceap": "C9"}"#);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("C9"), "{}", stderr(&o));
}

#[test]
fn assess_lists_what_it_could_not_compute() {
    let v = json(&limbpath_stdin(&["assess", "--json", "--input", "-"], r#"{"wound_grade": 2, "infection_grade": 1}"#));
    let nc = &v["result"]["not_computed"][0];
    assert_eq!(nc["classification"], "wifi");
    assert!(nc["reason"].as_str().unwrap().contains("ischaemia"));
}

#[test]
fn batch_keeps_order_reports_errors_per_line_and_exits_2() {
    let lines = [
        r#"{"wound_grade":2,"ischaemia_grade":3,"infection_grade":1}"#,
        r#"{"wound_grade":9,"ischaemia_grade":3,"infection_grade":1}"#,
        "",
        r#"{"wound_grade":0,"ischaemia_grade":0,"infection_grade":0}"#,
    ]
    .join("\n");
    let o = limbpath_stdin(&["assess", "--batch", "--input", "-", "--threads", "2"], &lines);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let out: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(out.len(), 3);
    assert_eq!((out[0]["line"].as_u64(), out[0]["result"]["wifi"]["stage"]["stage"].as_u64()), (Some(1), Some(4)));
    assert_eq!(out[1]["line"], 2);
    assert_eq!(out[1]["schema"], "limbpath.assess.error/1");
    assert_eq!(out[1]["error"]["field"], "wound_grade");
    assert_eq!(out[2]["line"], 4);
    assert_eq!(out[2]["result"]["wifi"]["stage"]["stage"], 1);
    // batch lines cite sources by id only
    assert!(out[0].get("sources").is_none());
    assert!(stderr(&o).contains("3 findings assessed, 1 invalid"), "{}", stderr(&o));
}

#[test]
fn batch_of_valid_lines_exits_0() {
    let lines = r#"{"wound_grade":1,"ischaemia_grade":1,"infection_grade":1}"#.to_owned() + "\n";
    let o = limbpath_stdin(&["assess", "--batch", "--input", "-"], &lines);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn help_and_version_work() {
    let o = limbpath(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("classify"));
    let o = limbpath(&["classify", "--help"]);
    for sub in [
        "wifi",
        "abi",
        "glass",
        "rutherford",
        "angiosome",
        "ceap",
        "vcss",
        "mess",
        "iwgdf",
        "wagner",
        "texas",
        "sinbad",
        "msts",
        "paley",
        "oi-candidacy",
    ] {
        assert!(stdout(&o).contains(sub), "classify --help lists {sub}");
    }
    assert_eq!(limbpath(&["--version"]).status.code(), Some(0));
}

#[test]
fn sources_catalogue_covers_every_cited_source() {
    let v = json(&limbpath(&["sources", "--json"]));
    assert_eq!(v["schema"], "limbpath.sources/1");
    let catalogue = v["sources"].as_object().unwrap();
    let assessed = json(&limbpath(&["assess", "--json", "--input", EXAMPLE]));
    for id in assessed["sources"].as_object().unwrap().keys() {
        assert!(catalogue.contains_key(id), "{id} in catalogue");
    }
    assert!(catalogue["wifi.stage_matrix"]["status_note"].as_str().unwrap().contains("DISPUTED"));
}
