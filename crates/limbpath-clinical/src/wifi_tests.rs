//! WIfI tests: every published cell, every threshold on both sides, the
//! known-wrong implementations of REFERENCES.md §13 as negative tests.

use super::*;
use crate::infection::{InfectionFindings, SirsFindings};
use proptest::prelude::*;

// Typed from REFERENCES.md §1.4 (markdown table), rows I then W, columns fI0..fI3.
const STAGE_MATRIX: [[[u8; 4]; 4]; 4] = [
    [
        [1, 1, 2, 3], // I0 W0
        [1, 1, 2, 3], // I0 W1
        [2, 2, 3, 4], // I0 W2
        [3, 3, 4, 4], // I0 W3
    ],
    [
        [1, 2, 3, 4], // I1 W0
        [1, 2, 3, 4], // I1 W1
        [3, 3, 4, 4], // I1 W2
        [4, 4, 4, 4], // I1 W3
    ],
    [
        [2, 2, 3, 4], // I2 W0
        [2, 3, 4, 4], // I2 W1
        [3, 4, 4, 4], // I2 W2
        [4, 4, 4, 4], // I2 W3
    ],
    [
        [2, 3, 3, 4], // I3 W0
        [3, 3, 4, 4], // I3 W1
        [4, 4, 4, 4], // I3 W2
        [4, 4, 4, 4], // I3 W3
    ],
];
// Typed from REFERENCES.md §1.5 (markdown table), rows I then W, columns fI0..fI3.
const BENEFIT_MATRIX: [[[&str; 4]; 4]; 4] = [
    [
        ["VL", "VL", "VL", "VL"], // I0 W0
        ["VL", "VL", "VL", "VL"], // I0 W1
        ["VL", "VL", "VL", "VL"], // I0 W2
        ["VL", "VL", "VL", "VL"], // I0 W3
    ],
    [
        ["VL", "L", "L", "M"], // I1 W0
        ["L", "M", "M", "M"],  // I1 W1
        ["M", "M", "H", "H"],  // I1 W2
        ["M", "M", "M", "H"],  // I1 W3
    ],
    [
        ["L", "L", "M", "M"], // I2 W0
        ["M", "H", "H", "H"], // I2 W1
        ["H", "H", "H", "H"], // I2 W2
        ["H", "H", "H", "H"], // I2 W3
    ],
    [
        ["M", "H", "H", "H"], // I3 W0
        ["H", "H", "H", "H"], // I3 W1
        ["H", "H", "H", "H"], // I3 W2
        ["H", "H", "H", "H"], // I3 W3
    ],
];

fn benefit_code(b: Benefit) -> &'static str {
    match b {
        Benefit::VeryLow => "VL",
        Benefit::Low => "L",
        Benefit::Moderate => "M",
        Benefit::High => "H",
    }
}

fn grades(w: u8, i: u8, fi: u8) -> WifiInput {
    WifiInput { wound_grade: Some(w), ischaemia_grade: Some(i), infection_grade: Some(fi), ..Default::default() }
}

fn stage(w: u8, i: u8, fi: u8) -> u8 {
    classify(&grades(w, i, fi)).unwrap().stage.stage
}

#[test]
fn all_64_stage_cells_match_the_reference() {
    for i in 0..4u8 {
        for w in 0..4u8 {
            for fi in 0..4u8 {
                let r = classify(&grades(w, i, fi)).unwrap();
                let expected = STAGE_MATRIX[i as usize][w as usize][fi as usize];
                assert_eq!(r.stage.stage, expected, "stage W{w} I{i} fI{fi}");
                assert_eq!(r.stage.table_stage, expected);
                assert_eq!(r.stage.amputation_risk, STAGE_RISK[expected as usize - 1]);
            }
        }
    }
}

#[test]
fn all_64_revascularisation_benefit_cells_match_the_reference() {
    for i in 0..4u8 {
        for w in 0..4u8 {
            for fi in 0..4u8 {
                let r = classify(&grades(w, i, fi)).unwrap();
                let expected = BENEFIT_MATRIX[i as usize][w as usize][fi as usize];
                assert_eq!(benefit_code(r.revascularisation_benefit.benefit), expected, "benefit W{w} I{i} fI{fi}");
            }
        }
    }
}

#[test]
fn table_has_64_explicit_cells_in_index_order_and_the_published_counts() {
    let mut counts = [0usize; 5];
    for (index, c) in WIFI_TABLE.iter().enumerate() {
        assert_eq!(index, usize::from(c.ischaemia) * 16 + usize::from(c.wound) * 4 + usize::from(c.infection));
        counts[c.stage as usize] += 1;
        assert!((1..=4).contains(&c.stage), "no cell is stage 5 or 0");
    }
    // REFERENCES.md §1.4: stage 1 = 6 cells, 2 = 10, 3 = 16, 4 = 32.
    assert_eq!(&counts[1..], &[6, 10, 16, 32]);
}

#[test]
fn table_equals_the_vendored_reference_json() {
    let text = include_str!("../reference/wifi.json");
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    let cells = json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 64);
    for c in cells {
        let (w, i, fi) =
            (c["w"].as_u64().unwrap() as u8, c["i"].as_u64().unwrap() as u8, c["fi"].as_u64().unwrap() as u8);
        let ours = cell_for(w, i, fi).unwrap();
        assert_eq!(u64::from(ours.stage), c["stage"].as_u64().unwrap(), "W{w} I{i} fI{fi}");
        assert_eq!(benefit_code(ours.benefit), c["revasc_benefit"].as_str().unwrap());
        assert_eq!(ours.stage_dissent.is_some(), c["status"] == "DISPUTED", "stage status W{w} I{i} fI{fi}");
        assert_eq!(ours.benefit_dissent.is_some(), c["revasc_status"] == "DISPUTED", "benefit status W{w} I{i} fI{fi}");
        if let Some(d) = ours.benefit_dissent {
            assert_eq!(c["revasc_dissent"][d.source].as_str().unwrap(), benefit_code(d.value));
        }
        if let Some(d) = ours.stage_dissent {
            assert_eq!(c["dissent"][d.source]["stage"].as_u64().unwrap(), u64::from(d.value));
        }
    }
}

#[test]
fn disputed_stage_cell_w0_i2_fi3_is_4_and_flagged() {
    let r = classify(&grades(0, 2, 3)).unwrap();
    assert_eq!(r.stage.stage, 4);
    assert!(r.stage.disputed);
    assert!(r.stage.explanation.has_flag(FlagKind::Disputed));
    // and an undisputed neighbour is not flagged
    assert!(!classify(&grades(1, 2, 3)).unwrap().stage.explanation.has_flag(FlagKind::Disputed));
}

#[test]
fn the_six_disputed_benefit_cells_are_provisional() {
    let disputed = [(1, 1, 0), (2, 1, 0), (3, 1, 0), (1, 3, 0), (2, 3, 0), (3, 3, 0)];
    for i in 0..4u8 {
        for w in 0..4u8 {
            for fi in 0..4u8 {
                let r = classify(&grades(w, i, fi)).unwrap();
                let expect = disputed.contains(&(w, i, fi));
                assert_eq!(r.revascularisation_benefit.provisional, expect, "W{w} I{i} fI{fi}");
                assert_eq!(r.revascularisation_benefit.explanation.has_flag(FlagKind::Provisional), expect);
            }
        }
    }
}

// REFERENCES.md §13: summing grades is wrong: same sum, different stage.
#[test]
fn stage_is_not_a_function_of_the_sum_of_grades() {
    assert_eq!(stage(0, 3, 0), 2);
    assert_eq!(stage(3, 0, 0), 3);
    assert_eq!(stage(1, 1, 1), 2);
    assert_eq!(stage(0, 0, 3), 3);
    assert_eq!(stage(0, 2, 0), 2);
    assert_eq!(stage(1, 1, 0), 1);
    // and exhaustively: for sums 2..=5 there are cells of equal sum with different stages
    for sum in 2..=5u8 {
        let mut stages = std::collections::BTreeSet::new();
        for c in &WIFI_TABLE {
            if c.wound + c.ischaemia + c.infection == sum {
                stages.insert(c.stage);
            }
        }
        assert!(stages.len() >= 2, "sum {sum} maps to several stages");
    }
}

// REFERENCES.md §13: ramchik/CLTI_Registry differs on 13 cells.
#[test]
fn not_the_clti_registry_matrix() {
    let cells = [
        (0, 0, 3, 3),
        (1, 0, 1, 1),
        (1, 0, 2, 2),
        (1, 0, 3, 3),
        (2, 0, 1, 2),
        (2, 0, 2, 3),
        (2, 1, 0, 3),
        (3, 1, 0, 4),
        (1, 2, 2, 4),
        (2, 2, 1, 4),
        (0, 3, 0, 2),
        (0, 3, 2, 3),
        (2, 3, 0, 4),
    ];
    for (w, i, fi, correct) in cells {
        assert_eq!(stage(w, i, fi), correct, "W{w} I{i} fI{fi}");
    }
}

// REFERENCES.md §13: FireSquid precedence bugs and the S8 "stage 5".
#[test]
fn not_the_precedence_bug_nor_a_table_stage_5() {
    assert_eq!(stage(3, 0, 1), 3);
    assert_eq!(stage(2, 0, 1), 2);
    assert_eq!(stage(1, 1, 3), 4);
    assert_eq!(stage(3, 3, 3), 4);
}

#[test]
fn stage_5_only_by_clinician_override() {
    let mut input = grades(3, 3, 3);
    input.stage5_unsalvageable = true;
    let r = classify(&input).unwrap();
    assert_eq!(r.stage.stage, 5);
    assert_eq!(r.stage.table_stage, 4);
    assert_eq!(r.stage.amputation_risk, AmputationRisk::Unsalvageable);
    assert!(r.stage.explanation.has_flag(FlagKind::ClinicianOverride));
    let mut low = grades(0, 0, 0);
    low.stage5_unsalvageable = true;
    assert_eq!(classify(&low).unwrap().stage.stage, 5);
}

fn isch(m: IschaemiaMeasurements) -> IschaemiaResult {
    ischaemia_grade(&m).unwrap()
}

fn abi(v: f64) -> u8 {
    isch(IschaemiaMeasurements { abi: Some(v), ..Default::default() }).grade
}
fn ankle(v: f64) -> u8 {
    isch(IschaemiaMeasurements { ankle_pressure_mmhg: Some(v), ..Default::default() }).grade
}
fn toe(v: f64) -> u8 {
    isch(IschaemiaMeasurements { toe_pressure_mmhg: Some(v), ..Default::default() }).grade
}
fn tcpo2(v: f64) -> u8 {
    isch(IschaemiaMeasurements { tcpo2_mmhg: Some(v), ..Default::default() }).grade
}

#[test]
fn abi_thresholds_both_sides() {
    for (v, g) in [(1.2, 0), (0.80, 0), (0.79, 1), (0.60, 1), (0.59, 2), (0.40, 2), (0.39, 3), (0.0, 3)] {
        assert_eq!(abi(v), g, "ABI {v}");
    }
}

#[test]
fn toe_pressure_and_tcpo2_thresholds_both_sides() {
    for (v, g) in [(60.0, 0), (59.0, 1), (40.0, 1), (39.0, 2), (30.0, 2), (29.0, 3), (0.0, 3)] {
        assert_eq!(toe(v), g, "TP {v}");
        assert_eq!(tcpo2(v), g, "TcPO2 {v}");
    }
    // medicaltextbook.ai's wrong threshold (I0 ≥40): TP 45 is I1, not I0.
    assert_eq!(toe(45.0), 1);
}

#[test]
fn ankle_pressure_thresholds_both_sides() {
    for (v, g) in [(101.0, 0), (100.0, 1), (71.0, 1), (70.0, 2), (69.0, 2), (50.0, 2), (49.0, 3)] {
        assert_eq!(ankle(v), g, "AP {v}");
    }
}

#[test]
fn ankle_pressure_70_is_flagged_ambiguous() {
    let r = isch(IschaemiaMeasurements { ankle_pressure_mmhg: Some(70.0), ..Default::default() });
    assert!(r.explanation.has_flag(FlagKind::AmbiguousBoundary));
    let r = isch(IschaemiaMeasurements { ankle_pressure_mmhg: Some(71.0), ..Default::default() });
    assert!(!r.explanation.has_flag(FlagKind::AmbiguousBoundary));
}

#[test]
fn values_between_printed_bands_take_the_severe_side_and_are_flagged() {
    let r = isch(IschaemiaMeasurements { abi: Some(0.795), ..Default::default() });
    assert_eq!(r.grade, 1);
    assert!(r.explanation.has_flag(FlagKind::BetweenPrintedBands));
    let r = isch(IschaemiaMeasurements { toe_pressure_mmhg: Some(29.5), ..Default::default() });
    assert_eq!(r.grade, 3);
    assert!(r.explanation.has_flag(FlagKind::BetweenPrintedBands));
    assert!(
        !isch(IschaemiaMeasurements { abi: Some(0.80), ..Default::default() })
            .explanation
            .has_flag(FlagKind::BetweenPrintedBands)
    );
}

#[test]
fn worst_measurement_drives_the_grade_and_is_reported() {
    let r = isch(IschaemiaMeasurements { abi: Some(0.52), toe_pressure_mmhg: Some(24.0), ..Default::default() });
    assert_eq!(r.grade, 3);
    assert_eq!(r.detail.driven_by, Measurement::ToePressure);
    assert!(r.explanation.has_flag(FlagKind::DiscordantMeasurements));
    let r = isch(IschaemiaMeasurements { abi: Some(0.35), toe_pressure_mmhg: Some(45.0), ..Default::default() });
    assert_eq!((r.grade, r.detail.driven_by), (3, Measurement::Abi));
    let r = isch(IschaemiaMeasurements { abi: Some(0.5), toe_pressure_mmhg: Some(35.0), ..Default::default() });
    assert_eq!((r.grade, r.detail.driven_by), (2, Measurement::ToePressure));
    assert!(!r.explanation.has_flag(FlagKind::DiscordantMeasurements));
}

#[test]
fn non_compressible_abi_is_set_aside_for_toe_pressure() {
    let r = isch(IschaemiaMeasurements { abi: Some(1.45), toe_pressure_mmhg: Some(35.0), ..Default::default() });
    assert_eq!((r.grade, r.detail.driven_by), (2, Measurement::ToePressure));
    assert!(r.explanation.has_flag(FlagKind::MeasurementExcluded));
    assert!(r.detail.measurements.iter().any(|m| m.measurement == Measurement::Abi && !m.used));
    // 1.40 is still reliable (">1.40" is the cut)
    let r = isch(IschaemiaMeasurements { abi: Some(1.40), toe_pressure_mmhg: Some(65.0), ..Default::default() });
    assert!(r.detail.measurements.iter().all(|m| m.used));
    // declared non-compressible: ankle pressure and ABI set aside
    let r = isch(IschaemiaMeasurements {
        abi: Some(0.9),
        ankle_pressure_mmhg: Some(120.0),
        tcpo2_mmhg: Some(25.0),
        non_compressible: true,
        ..Default::default()
    });
    assert_eq!((r.grade, r.detail.driven_by), (3, Measurement::Tcpo2));
    // no toe pressure or TcPO2: a typed error naming what is needed
    let e = ischaemia_grade(&IschaemiaMeasurements { abi: Some(1.6), ..Default::default() }).unwrap_err();
    assert_eq!(e.field, "toe_pressure_mmhg");
    assert_eq!(e.problem, crate::Problem::Missing);
}

#[test]
fn diabetes_without_toe_pressure_is_flagged() {
    let r = isch(IschaemiaMeasurements { abi: Some(0.9), diabetes: true, ..Default::default() });
    assert!(r.explanation.has_flag(FlagKind::Review));
}

#[test]
fn wound_vocabulary_codes_match_serde() {
    for u in [Ulcer::None, Ulcer::Shallow, Ulcer::ExposedBoneDistalPhalanx, Ulcer::Deep, Ulcer::ExtensiveDeep] {
        assert_eq!(serde_json::to_value(u).unwrap(), u.code());
    }
    for h in [HeelUlcer::None, HeelUlcer::Shallow, HeelUlcer::Deep] {
        assert_eq!(serde_json::to_value(h).unwrap(), h.code());
    }
    for g in [Gangrene::None, Gangrene::Digits, Gangrene::Extensive, Gangrene::HeelNecrosis] {
        assert_eq!(serde_json::to_value(g).unwrap(), g.code());
    }
}

#[test]
fn wound_grade_from_findings() {
    let f = |ulcer, heel, gangrene| wound_grade(&WoundFindings { ulcer, heel, gangrene, rest_pain: false }).grade;
    assert_eq!(f(Ulcer::None, HeelUlcer::None, Gangrene::None), 0);
    assert_eq!(f(Ulcer::Shallow, HeelUlcer::None, Gangrene::None), 1);
    assert_eq!(f(Ulcer::ExposedBoneDistalPhalanx, HeelUlcer::None, Gangrene::None), 1);
    assert_eq!(f(Ulcer::Deep, HeelUlcer::None, Gangrene::None), 2);
    assert_eq!(f(Ulcer::None, HeelUlcer::Shallow, Gangrene::None), 2);
    assert_eq!(f(Ulcer::None, HeelUlcer::None, Gangrene::Digits), 2);
    assert_eq!(f(Ulcer::ExtensiveDeep, HeelUlcer::None, Gangrene::None), 3);
    assert_eq!(f(Ulcer::None, HeelUlcer::Deep, Gangrene::None), 3);
    assert_eq!(f(Ulcer::None, HeelUlcer::None, Gangrene::Extensive), 3);
    assert_eq!(f(Ulcer::Shallow, HeelUlcer::None, Gangrene::HeelNecrosis), 3);
}

#[test]
fn rest_pain_with_w0_needs_i3() {
    let input = WifiInput {
        wound: Some(WoundFindings {
            ulcer: Ulcer::None,
            heel: HeelUlcer::None,
            gangrene: Gangrene::None,
            rest_pain: true,
        }),
        ischaemia_grade: Some(2),
        infection_grade: Some(0),
        ..Default::default()
    };
    let r = classify(&input).unwrap();
    assert!(r.wound.explanation.flags.iter().any(|f| f.message.contains("only with typical symptoms and I3")));
}

#[test]
fn from_measurements_end_to_end() {
    let input = WifiInput {
        wound: Some(WoundFindings {
            ulcer: Ulcer::Deep,
            heel: HeelUlcer::None,
            gangrene: Gangrene::None,
            rest_pain: false,
        }),
        ischaemia: Some(IschaemiaMeasurements { abi: Some(0.52), toe_pressure_mmhg: Some(24.0), ..Default::default() }),
        infection: Some(InfectionFindings {
            erythema_cm: 1.5,
            local_warmth: true,
            sirs: SirsFindings { temperature_c: Some(37.2), heart_rate_bpm: Some(88.0), ..Default::default() },
            ..Default::default()
        }),
        ..Default::default()
    };
    let r = classify(&input).unwrap();
    assert_eq!(r.code, "W2 I3 fI1");
    assert_eq!(r.stage.stage, 4);
    assert_eq!(r.revascularisation_benefit.benefit, Benefit::High);
    assert_eq!(r.ischaemia_detail.as_ref().unwrap().driven_by, Measurement::ToePressure);
    assert_eq!(r.infection_detail.as_ref().unwrap().iwgdf.grade, 2);
}

#[test]
fn missing_and_double_inputs_are_errors_naming_the_field() {
    let e =
        classify(&WifiInput { ischaemia_grade: Some(1), infection_grade: Some(1), ..Default::default() }).unwrap_err();
    assert_eq!((e.field.as_str(), e.problem), ("wound_grade", crate::Problem::Missing));
    let mut both = grades(1, 1, 1);
    both.ischaemia = Some(IschaemiaMeasurements { abi: Some(0.5), ..Default::default() });
    let e = classify(&both).unwrap_err();
    assert_eq!((e.field.as_str(), e.problem), ("ischaemia_grade", crate::Problem::Inconsistent));
    let e = classify(&grades(4, 1, 1)).unwrap_err();
    assert_eq!(e.field, "wound_grade");
    let bad = WifiInput {
        wound_grade: Some(1),
        infection_grade: Some(0),
        ischaemia: Some(IschaemiaMeasurements { abi: Some(-1.0), ..Default::default() }),
        ..Default::default()
    };
    let e = classify(&bad).unwrap_err();
    assert_eq!(e.field, "ischaemia.abi");
    assert_eq!(e.problem, crate::Problem::OutOfRange);
    let bad = WifiInput {
        wound_grade: Some(1),
        infection_grade: Some(0),
        ischaemia: Some(IschaemiaMeasurements { toe_pressure_mmhg: Some(900.0), ..Default::default() }),
        ..Default::default()
    };
    assert_eq!(classify(&bad).unwrap_err().field, "ischaemia.toe_pressure_mmhg");
    let bad = WifiInput {
        wound_grade: Some(1),
        infection_grade: Some(0),
        ischaemia: Some(IschaemiaMeasurements { tcpo2_mmhg: Some(f64::NAN), ..Default::default() }),
        ..Default::default()
    };
    assert_eq!(classify(&bad).unwrap_err().problem, crate::Problem::NotANumber);
}

#[test]
fn json_input_rejects_unknown_fields_and_bad_vocabulary() {
    assert!(serde_json::from_str::<WifiInput>(r#"{"wound_grade":1,"woundgrade":2}"#).is_err());
    assert!(serde_json::from_str::<WoundFindings>(r#"{"ulcer":"huge","heel":"none","gangrene":"none"}"#).is_err());
    let ok: WifiInput = serde_json::from_str(
        r#"{"wound":{"ulcer":"deep","heel":"none","gangrene":"digits"},"ischaemia_grade":2,"infection_grade":0}"#,
    )
    .unwrap();
    assert_eq!(classify(&ok).unwrap().code, "W2 I2 fI0");
}

proptest! {
    #[test]
    fn any_grades_never_panic_and_only_valid_grades_succeed(w: u8, i: u8, fi: u8, s5: bool) {
        let mut input = grades(w, i, fi);
        input.stage5_unsalvageable = s5;
        match classify(&input) {
            Ok(r) => {
                prop_assert!(w <= 3 && i <= 3 && fi <= 3);
                prop_assert!((1..=5).contains(&r.stage.stage));
                prop_assert_eq!(r.stage.stage == 5, s5);
            }
            Err(e) => prop_assert!(w > 3 || i > 3 || fi > 3, "unexpected error {}", e),
        }
    }

    #[test]
    fn any_measurements_never_panic(abi in prop::option::of(prop::num::f64::ANY),
                                    ankle in prop::option::of(-50.0f64..1000.0),
                                    toe in prop::option::of(prop::num::f64::ANY),
                                    tc in prop::option::of(-50.0f64..1000.0),
                                    nc: bool, dm: bool) {
        let m = IschaemiaMeasurements { abi, ankle_pressure_mmhg: ankle, toe_pressure_mmhg: toe, tcpo2_mmhg: tc, non_compressible: nc, diabetes: dm };
        if let Ok(r) = ischaemia_grade(&m) {
            prop_assert!(r.grade <= 3);
            prop_assert!(r.detail.measurements.iter().any(|g| g.used && g.measurement == r.detail.driven_by && g.grade == r.grade));
            prop_assert!(r.detail.measurements.iter().filter(|g| g.used).all(|g| g.grade <= r.grade));
        }
    }
}
