//! The full assessment: cross-feeding, what is not computed, errors with
//! dotted field paths, and property tests that no input panics.

use limbpath_clinical::assess::{AssessmentInput, assess};
use limbpath_clinical::{FlagKind, Problem};
use proptest::prelude::*;
use serde_json::{Value, json};

const EXAMPLE: &str = include_str!("../../../examples/findings.json");

fn example() -> Value {
    serde_json::from_str(EXAMPLE).unwrap()
}

fn run(v: &Value) -> Result<limbpath_clinical::assess::Assessment, limbpath_clinical::InvalidInput> {
    let input: AssessmentInput = serde_json::from_value(v.clone()).expect("input shape");
    assess(&input)
}

#[test]
fn the_example_limb_gets_every_classification() {
    let a = run(&example()).unwrap();
    let wifi = a.wifi.as_ref().unwrap();
    assert_eq!(wifi.code, "W2 I3 fI1");
    assert_eq!(wifi.stage.stage, 4);
    assert!(a.perfusion.is_some() && a.angiosome.is_some() && a.glass.is_some() && a.rutherford.is_some());
    assert!(a.wagner.is_some() && a.texas.is_some() && a.sinbad.is_some());
    // the IWGDF grade is inside WIfI, not repeated
    assert!(a.infection.is_none());
    assert_eq!(wifi.infection_detail.as_ref().unwrap().iwgdf.grade, 2);
    assert!(a.not_computed.is_empty());
}

#[test]
fn pressures_of_the_assessed_side_drive_the_ischaemia_grade() {
    let mut v = example();
    // left toe pressure 24 → I3; switch to the right leg (toe 71, ABI 0.87 → I0)
    v["side"] = json!("right");
    let a = run(&v).unwrap();
    let wifi = a.wifi.unwrap();
    assert_eq!(wifi.ischaemia.grade, 0);
    assert_eq!(
        wifi.ischaemia.explanation.inputs.iter().find(|i| i.field == "derived_from").map(|i| i.value.to_string()),
        Some("pressures.right".to_owned())
    );
}

#[test]
fn explicit_ischaemia_grade_wins_over_pressures() {
    let mut v = example();
    v["ischaemia_grade"] = json!(1);
    assert_eq!(run(&v).unwrap().wifi.unwrap().ischaemia.grade, 1);
}

#[test]
fn side_without_its_pressures_is_an_error() {
    let mut v = example();
    v["pressures"].as_object_mut().unwrap().remove("right");
    v["side"] = json!("right");
    let e = run(&v).unwrap_err();
    assert_eq!(e.field, "pressures.right");
    assert_eq!(e.problem, Problem::Missing);
}

#[test]
fn partial_wifi_is_listed_not_guessed() {
    let a = run(&json!({"wound_grade": 2, "infection": {"local_warmth": true, "purulent_discharge": true}})).unwrap();
    assert!(a.wifi.is_none());
    assert_eq!(a.not_computed[0].classification, "wifi");
    assert!(a.not_computed[0].reason.contains("ischaemia"));
    // infection findings are still graded on their own
    assert_eq!(a.infection.unwrap().grade, 1);
}

#[test]
fn an_ungradable_ischaemia_makes_wifi_incomplete_not_invalid() {
    // ankle pressure above the arm: ABI > 1.40 (non-compressible) and no toe pressure
    let a = run(&json!({
        "side": "left", "wound_grade": 1, "infection_grade": 0,
        "pressures": {"brachial_left_mmhg": 120, "left": {"dorsalis_pedis_mmhg": 190}}
    }))
    .unwrap();
    assert!(a.wifi.is_none());
    assert_eq!(a.not_computed.len(), 1);
    assert!(a.not_computed[0].reason.contains("toe_pressure_mmhg"), "{}", a.not_computed[0].reason);
    assert!(a.perfusion.is_some());
    // an impossible value is still an error
    assert!(run(&json!({"wound_grade": 1, "infection_grade": 0, "ischaemia": {"abi": 9}})).is_err());
}

#[test]
fn arteries_without_locations_are_listed() {
    let a = run(&json!({"arteries": {"anterior_tibial": "patent"}})).unwrap();
    assert_eq!(a.not_computed[0].classification, "angiosome");
}

#[test]
fn an_empty_assessment_is_valid_and_empty() {
    let a = run(&json!({})).unwrap();
    assert!(a.wifi.is_none() && a.not_computed.is_empty());
}

#[test]
fn errors_carry_the_dotted_path_of_the_field() {
    let cases = [
        (
            json!({"pressures": {"brachial_left_mmhg": 120, "left": {"dorsalis_pedis_mmhg": -3}}}),
            "pressures.left.dorsalis_pedis_mmhg",
        ),
        (json!({"wound_grade": 1, "infection_grade": 0, "ischaemia": {"abi": 7}}), "ischaemia.abi"),
        (json!({"infection": {"erythema_cm": -2}}), "infection.erythema_cm"),
        (json!({"ceap": "C9"}), "ceap"),
        (json!({"wound_locations": []}), ""),
        // values are validated even when WIfI cannot be completed
        (json!({"ischaemia": {"abi": -1}}), "ischaemia.abi"),
        (json!({"wound_grade": 9}), "wound_grade"),
        (json!({"infection_grade": 1, "ischaemia": {"toe_pressure_mmhg": 900}}), "ischaemia.toe_pressure_mmhg"),
    ];
    for (v, field) in cases {
        match run(&v) {
            Err(e) => assert_eq!(e.field, field, "{v}"),
            Ok(_) => assert!(field.is_empty(), "{v} should fail"),
        }
    }
}

#[test]
fn stage_5_override_flows_through() {
    let mut v = example();
    v["stage5_unsalvageable"] = json!(true);
    let wifi = run(&v).unwrap().wifi.unwrap();
    assert_eq!(wifi.stage.stage, 5);
    assert!(wifi.stage.explanation.has_flag(FlagKind::ClinicianOverride));
}

/// Every leaf path of a JSON document.
fn leaves(v: &Value, path: Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| {
            let mut p = path.clone();
            p.push(k.clone());
            leaves(c, p, out);
        }),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| {
            let mut p = path.clone();
            p.push(i.to_string());
            leaves(c, p, out);
        }),
        _ => out.push(path),
    }
}

fn set(v: &mut Value, path: &[String], new: Value) {
    let mut cur = v;
    for k in path {
        cur = match cur {
            Value::Object(m) => m.get_mut(k).unwrap(),
            Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
            _ => unreachable!(),
        };
    }
    *cur = new;
}

fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<f64>().prop_filter_map("finite for JSON", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        (-1.0e6f64..1.0e6).prop_map(|f| json!(f)),
        any::<i64>().prop_map(|i| json!(i)),
        any::<u8>().prop_map(|i| json!(i)),
        any::<bool>().prop_map(Value::Bool),
        ".{0,12}".prop_map(Value::String),
        Just(Value::Null),
        Just(json!("C4b,6r,S,Es,Ad,Pr,o")),
        Just(json!("none")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Replace up to four leaves of the example with hostile values: the
    /// engine either assesses or returns a field-named error; it never panics.
    #[test]
    fn no_input_panics(picks in prop::collection::vec((any::<prop::sample::Index>(), hostile_value()), 1..5)) {
        let mut v = example();
        let mut paths = Vec::new();
        leaves(&v, Vec::new(), &mut paths);
        for (index, value) in picks {
            let path = index.get(&paths).clone();
            set(&mut v, &path, value);
        }
        if let Ok(input) = serde_json::from_value::<AssessmentInput>(v) {
            match assess(&input) {
                Ok(a) => {
                    if let Some(w) = a.wifi { prop_assert!((1..=5).contains(&w.stage.stage)); }
                }
                Err(e) => prop_assert!(!e.field.is_empty() && !e.accepted.is_empty(), "{e:?}"),
            }
        }
    }

    /// Arbitrary JSON never panics the deserialiser or the engine.
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        if let Ok(input) = serde_json::from_str::<AssessmentInput>(&text) {
            let _ = assess(&input);
        }
    }
}
