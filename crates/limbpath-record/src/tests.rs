use super::*;
use proptest::prelude::*;
use serde_json::json;
use time::macros::date;

const ID: &str = "0192f0c5-3b1e-7c2a-9f00-1a2b3c4d5e6f";

fn patient() -> PatientData {
    PatientData {
        mrn: "MRN-0001".into(),
        site: "St Elsewhere".into(),
        family_name: "Doe".into(),
        given_name: "Jane".into(),
        birth_date: date!(1950 - 03 - 14),
        sex: Sex::Female,
        diabetes: DiabetesStatus::Type2,
        hba1c_percent: Some(8.1),
        ckd_stage: Some(3),
        dialysis: false,
        smoking: SmokingStatus::Former,
        bmi: Some(29.4),
        ambulatory_status: AmbulatoryStatus::WithAid,
    }
}

#[test]
fn a_valid_patient_passes_and_round_trips_as_json() {
    let p = patient();
    p.validate().unwrap();
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(v["birth_date"], "1950-03-14");
    assert_eq!(v["diabetes"], "type_2");
    let back: PatientData = serde_json::from_value(v).unwrap();
    assert_eq!(back, p);
}

#[test]
fn patient_errors_name_the_field() {
    let cases: Vec<(PatientData, &str)> = vec![
        (PatientData { mrn: " ".into(), ..patient() }, "mrn"),
        (PatientData { hba1c_percent: Some(42.0), ..patient() }, "hba1c_percent"),
        (PatientData { bmi: Some(f64::NAN), ..patient() }, "bmi"),
        (PatientData { ckd_stage: Some(6), ..patient() }, "ckd_stage"),
        (PatientData { dialysis: true, ckd_stage: Some(3), ..patient() }, "ckd_stage"),
        (PatientData { birth_date: date!(1850 - 01 - 01), ..patient() }, "birth_date"),
        (PatientData { family_name: "a\u{0}b".into(), ..patient() }, "family_name"),
        (PatientData { given_name: "x".repeat(129), ..patient() }, "given_name"),
    ];
    for (p, field) in cases {
        assert_eq!(p.validate().unwrap_err().field, field);
    }
}

#[test]
fn unknown_fields_and_bad_vocabulary_are_rejected() {
    let mut v = serde_json::to_value(patient()).unwrap();
    v["favourite_colour"] = json!("blue");
    assert!(serde_json::from_value::<PatientData>(v).is_err());
    let mut v = serde_json::to_value(patient()).unwrap();
    v["sex"] = json!("f");
    assert!(serde_json::from_value::<PatientData>(v).is_err());
    let mut v = serde_json::to_value(patient()).unwrap();
    v["birth_date"] = json!("14/03/1950");
    assert!(serde_json::from_value::<PatientData>(v).is_err());
}

#[test]
fn ids_are_checked() {
    assert!(check_id("patient_id", ID).is_ok());
    for bad in [
        "",
        "1",
        "0192f0c5-3b1e-7c2a-9f00-1a2b3c4d5e6",
        "0192f0c5x3b1e-7c2a-9f00-1a2b3c4d5e6f",
        "'; drop table patient; --",
    ] {
        assert_eq!(check_id("patient_id", bad).unwrap_err().field, "patient_id", "{bad}");
    }
}

#[test]
fn limb_amputation_level_must_fit_the_limb() {
    let limb = LimbData {
        patient_id: ID.into(),
        side: Side::Left,
        kind: LimbKind::Lower,
        amputation_level: Some(AmputationLevel::Transtibial),
    };
    limb.validate().unwrap();
    let bad = LimbData { amputation_level: Some(AmputationLevel::Transradial), ..limb };
    assert_eq!(bad.validate().unwrap_err().field, "amputation_level");
}

#[test]
fn episode_closing_rules() {
    let open = EpisodeData {
        limb_id: ID.into(),
        aetiology: Aetiology::Clti,
        status: EpisodeStatus::Treatment,
        opened_on: date!(2025 - 01 - 10),
        closed_on: None,
        summary: String::new(),
    };
    open.validate().unwrap();
    let closed_without_date = EpisodeData { status: EpisodeStatus::Closed, ..open.clone() };
    assert_eq!(closed_without_date.validate().unwrap_err().field, "closed_on");
    let closed_before_open =
        EpisodeData { status: EpisodeStatus::Closed, closed_on: Some(date!(2024 - 12 - 31)), ..open.clone() };
    assert_eq!(closed_before_open.validate().unwrap_err().field, "closed_on");
    let open_with_date = EpisodeData { closed_on: Some(date!(2025 - 02 - 01)), ..open };
    assert_eq!(open_with_date.validate().unwrap_err().field, "closed_on");
}

#[test]
fn assessment_derives_through_the_engine() {
    let a = AssessmentData {
        episode_id: ID.into(),
        assessed_on: date!(2025 - 01 - 12),
        findings: json!({"wound_grade": 2, "ischaemia_grade": 3, "infection_grade": 1}).into(),
    };
    let d = a.derive().unwrap();
    assert_eq!(d.wifi_stage, Some(4));
    assert_eq!(d.engine_version, limbpath_clinical::ENGINE_VERSION);
    assert_eq!(d.result_value()["wifi"]["code"], "W2 I3 fI1");

    let impossible = AssessmentData { findings: json!({"ischaemia": {"abi": -1}}).into(), ..a.clone() };
    let e = impossible.derive().unwrap_err();
    assert_eq!(e.field, "findings.ischaemia.abi");
    let unknown = AssessmentData { findings: json!({"abii": 1}).into(), ..a };
    assert_eq!(unknown.derive().unwrap_err().field, "findings.abii");
}

#[test]
fn wound_measurements_and_area_reduction() {
    let m = WoundMeasurementData {
        wound_id: ID.into(),
        measured_on: date!(2025 - 01 - 12),
        length_cm: 4.0,
        width_cm: 2.5,
        depth_cm: Some(0.5),
        area_cm2: None,
    };
    m.validate().unwrap();
    assert_eq!(m.area(), 10.0);
    assert_eq!(WoundMeasurementData { area_cm2: Some(7.5), ..m.clone() }.area(), 7.5);
    assert_eq!(percent_area_reduction(10.0, 4.0), Some(60.0));
    assert_eq!(percent_area_reduction(10.0, 12.0), Some(-20.0));
    assert_eq!(percent_area_reduction(0.0, 1.0), None);
    assert_eq!(WoundMeasurementData { length_cm: -1.0, ..m }.validate().unwrap_err().field, "length_cm");
}

#[test]
fn studies_validate_through_the_engine() {
    let v = VascularStudyData {
        episode_id: ID.into(),
        performed_on: date!(2025 - 01 - 11),
        kind: VascularStudyKind::Abi,
        pressures: serde_json::from_value(json!({"brachial_left_mmhg": 130, "left": {"dorsalis_pedis_mmhg": 900}}))
            .unwrap(),
        tcpo2_mmhg: None,
        findings: String::new(),
    };
    assert_eq!(v.validate().unwrap_err().field, "pressures.left.dorsalis_pedis_mmhg");
    let dexa = ImagingStudyData {
        episode_id: ID.into(),
        performed_on: date!(2025 - 01 - 11),
        modality: ImagingModality::Xray,
        findings: String::new(),
        arterial_segments: None,
        dexa_t_score: Some(-2.8),
    };
    assert_eq!(dexa.validate().unwrap_err().field, "dexa_t_score");
    assert!(ImagingStudyData { modality: ImagingModality::Dexa, ..dexa.clone() }.validate().is_ok());
    let glass = ImagingStudyData {
        modality: ImagingModality::Angiography,
        dexa_t_score: None,
        arterial_segments: Some(json!({"fp_grade": 9})),
        ..dexa
    };
    assert!(glass.validate().unwrap_err().field.starts_with("arterial_segments"));
}

#[test]
fn procedure_and_outcome_amputation_levels() {
    let p = ProcedureData {
        episode_id: ID.into(),
        performed_on: date!(2025 - 02 - 01),
        kind: ProcedureKind::MajorAmputation,
        amputation_level: Some(AmputationLevel::Transtibial),
        target_arteries: vec![],
        angiosome_route: None,
        complications: vec![],
        notes: String::new(),
    };
    p.validate().unwrap();
    let toe_as_major = ProcedureData { amputation_level: Some(AmputationLevel::Toe), ..p.clone() };
    assert_eq!(toe_as_major.validate().unwrap_err().field, "amputation_level");
    let no_level = ProcedureData { amputation_level: None, ..p.clone() };
    assert_eq!(no_level.validate().unwrap_err().field, "amputation_level");
    let route_on_debridement = ProcedureData {
        kind: ProcedureKind::Debridement,
        amputation_level: None,
        angiosome_route: Some(AngiosomeRoute::Direct),
        ..p
    };
    assert_eq!(route_on_debridement.validate().unwrap_err().field, "angiosome_route");

    let o = OutcomeEventData {
        episode_id: ID.into(),
        occurred_on: date!(2025 - 03 - 01),
        kind: OutcomeKind::MinorAmputation,
        amputation_level: Some(AmputationLevel::Ray),
        notes: String::new(),
    };
    o.validate().unwrap();
    assert!(OutcomeEventData { kind: OutcomeKind::Death, ..o.clone() }.validate().is_err());
    assert!(OutcomeEventData { kind: OutcomeKind::Death, amputation_level: None, ..o }.validate().is_ok());
}

#[test]
fn users_and_passwords() {
    let u =
        UserData { username: "dr.lee".into(), display_name: "Dr Lee".into(), role: Role::Clinician, patient_id: None };
    u.validate().unwrap();
    assert_eq!(UserData { username: "dr lee".into(), ..u.clone() }.validate().unwrap_err().field, "username");
    assert_eq!(UserData { role: Role::Patient, ..u.clone() }.validate().unwrap_err().field, "patient_id");
    assert!(UserData { role: Role::Patient, patient_id: Some(ID.into()), ..u.clone() }.validate().is_ok());
    assert_eq!(UserData { patient_id: Some(ID.into()), ..u }.validate().unwrap_err().field, "patient_id");
    assert!(check_password("dr.lee", "correct horse battery").is_ok());
    assert!(check_password("dr.lee", "short").is_err());
    assert!(check_password("dr.lee.longname", "DR.LEE.LONGNAME").is_err());
    assert!(check_password("x", "aaaaaaaaaaaaaaaa").is_err());
}

#[test]
fn password_policy_follows_asvs_level_2() {
    // 2.1.1: at least 12 characters; 11 are refused, naming the field but not the password
    assert!(check_password("dr.lee", "tulip-meadow").is_ok());
    let e = check_password("dr.lee", "tulip-meado").unwrap_err();
    assert_eq!(e.field, "password");
    assert!(!e.to_string().contains("tulip-meado"), "{e}");
    // 2.1.2: at least 64 allowed (up to 256), 257 refused
    assert!(check_password("dr.lee", &"walnut ".repeat(40)[..256]).is_ok());
    assert!(check_password("dr.lee", &"walnut ".repeat(40)[..257]).is_err());
    // 2.1.3/2.1.4: spaces and any Unicode are accepted, no composition rules
    assert!(check_password("dr.lee", "all lower case words").is_ok());
    assert!(check_password("dr.lee", "über größe straße ✓").is_ok());
    // containing the username, in any case
    assert!(check_password("dr.lee", "I-am-DR.LEE-at-work").is_err());
    assert!(check_password("ab", "ab-and-more-words").is_ok());
    // 2.1.7: the committed list of common passwords, in any case
    assert!(check_password("dr.lee", "Password1234").is_err());
    assert!(check_password("dr.lee", "QWERTYUIOP123").is_err());
    assert!(check_password("dr.lee", "1q2w3e4r5t6y").is_err());
    assert!(check_password("dr.lee", "correcthorsebatterystaple").is_err());
    let listed: Vec<&str> =
        COMMON_PASSWORDS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert!(listed.len() >= 100, "{}", listed.len());
    for p in listed {
        assert!(p.chars().count() >= 12, "{p:?} is refused by length already");
        assert!(check_password("someone", p).is_err(), "{p}");
    }
}

#[test]
fn every_vocabulary_code_round_trips() {
    for r in Role::ALL {
        assert_eq!(Role::from_code(r.code()), Some(*r));
        assert_eq!(serde_json::to_value(r).unwrap(), r.code());
    }
    for k in ProcedureKind::ALL {
        assert_eq!(serde_json::from_value::<ProcedureKind>(json!(k.code())).unwrap(), *k);
    }
    for l in AmputationLevel::ALL {
        assert_eq!(AmputationLevel::from_code(l.code()), Some(*l));
    }
    assert!(Aetiology::from_code("gout").is_none());
}

proptest! {
    #[test]
    fn text_and_id_checks_never_panic(s in ".{0,80}") {
        let _ = check_id("id", &s);
        let _ = check_text("t", &s, 40, true);
        let _ = check_password("user", &s);
    }

    #[test]
    fn area_reduction_is_consistent(base in 0.01f64..1000.0, cur in 0.0f64..1000.0) {
        let r = percent_area_reduction(base, cur).unwrap();
        prop_assert!(r <= 100.0);
        prop_assert_eq!(r >= 50.0, cur <= base / 2.0 + 1e-9 * base);
    }
}

#[test]
fn findings_errors_name_the_field_inside_the_findings() {
    let field_and_value = |findings: serde_json::Value| {
        let e = Findings::from(findings).input().unwrap_err();
        (e.field, e.value.unwrap_or_default())
    };
    let (field, value) = field_and_value(json!({"ischaemia": {"abi": "low"}}));
    assert_eq!(field, "findings.ischaemia.abi");
    assert!(value.starts_with("invalid type: string \"low\""), "{value}");
    assert!(!value.contains("line"), "no position inside the findings: {value}");
    let (field, value) = field_and_value(json!({"abii": 1}));
    assert_eq!(field, "findings.abii");
    assert!(value.starts_with("unknown field `abii`"), "{value}");
    assert_eq!(field_and_value(json!([1])).0, "findings[0]");
    assert_eq!(field_and_value(json!("text")).0, "findings");
    // Text as received keeps its form: a repeated field is refused, not overwritten.
    let repeated = Findings::from_text(r#"{"wound_grade": 1, "wound_grade": 2}"#.to_owned()).unwrap();
    assert!(repeated.input().unwrap_err().value.unwrap().starts_with("duplicate field `wound_grade`"));
    assert!(Findings::from_text("{".to_owned()).is_err());
}
