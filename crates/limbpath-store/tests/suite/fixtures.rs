//! Valid records to start from; tests change one thing at a time.

use limbpath_clinical::angiosome::WoundLocation;
use limbpath_record::*;
use serde_json::{Value, json};
use time::macros::date;

pub fn patient(mrn: &str, family: &str, given: &str) -> PatientData {
    PatientData {
        mrn: mrn.into(),
        site: "St Elsewhere".into(),
        family_name: family.into(),
        given_name: given.into(),
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

pub fn limb(patient_id: &str) -> LimbData {
    LimbData { patient_id: patient_id.into(), side: Side::Left, kind: LimbKind::Lower, amputation_level: None }
}

pub fn episode(limb_id: &str, status: EpisodeStatus) -> EpisodeData {
    EpisodeData {
        limb_id: limb_id.into(),
        aetiology: Aetiology::Clti,
        status,
        opened_on: date!(2025 - 01 - 10),
        closed_on: (status == EpisodeStatus::Closed).then_some(date!(2025 - 06 - 30)),
        summary: "Rest pain and a non-healing ulcer of the left hallux".into(),
    }
}

/// Findings the engine grades to the given WIfI clinical stage (1-4).
pub fn findings_for_stage(stage: u8) -> Value {
    for w in 0..=3u8 {
        for i in 0..=3u8 {
            for f in 0..=3u8 {
                let findings = json!({"wound_grade": w, "ischaemia_grade": i, "infection_grade": f});
                let a = AssessmentData {
                    episode_id: ID.into(),
                    assessed_on: date!(2025 - 01 - 12),
                    findings: findings.into(),
                };
                if a.derive().ok().and_then(|d| d.wifi_stage) == Some(stage) {
                    return a.findings.value();
                }
            }
        }
    }
    panic!("no grades give WIfI stage {stage}")
}

pub const ID: &str = "0192f0c5-3b1e-7c2a-9f00-1a2b3c4d5e6f";

pub fn assessment(episode_id: &str, on: Date, stage: u8) -> AssessmentData {
    AssessmentData { episode_id: episode_id.into(), assessed_on: on, findings: findings_for_stage(stage).into() }
}

pub fn wound(episode_id: &str) -> WoundData {
    WoundData {
        episode_id: episode_id.into(),
        location: WoundLocation::PlantarForefoot,
        noted_on: date!(2025 - 01 - 10),
        description: "Punched-out ulcer, 1st metatarsal head".into(),
        healed_on: None,
    }
}

pub fn measurement(wound_id: &str, on: Date, length: f64, width: f64, area: Option<f64>) -> WoundMeasurementData {
    WoundMeasurementData {
        wound_id: wound_id.into(),
        measured_on: on,
        length_cm: length,
        width_cm: width,
        depth_cm: Some(0.4),
        area_cm2: area,
    }
}

pub fn vascular_study(episode_id: &str) -> VascularStudyData {
    VascularStudyData {
        episode_id: episode_id.into(),
        performed_on: date!(2025 - 01 - 11),
        kind: VascularStudyKind::Abi,
        pressures: Some(
            serde_json::from_value(json!({
                "brachial_left_mmhg": 130, "brachial_right_mmhg": 128,
                "left": {"dorsalis_pedis_mmhg": 60, "posterior_tibial_mmhg": 55, "toe_pressure_mmhg": 30}
            }))
            .expect("pressures"),
        ),
        tcpo2_mmhg: Some(25.0),
        findings: "Monophasic pedal signals".into(),
    }
}

pub fn imaging_study(episode_id: &str) -> ImagingStudyData {
    ImagingStudyData {
        episode_id: episode_id.into(),
        performed_on: date!(2025 - 01 - 13),
        modality: ImagingModality::Angiography,
        findings: "SFA occlusion, single-vessel runoff".into(),
        arterial_segments: Some(json!({
            "fp_grade": 2, "fp_severe_calcification": false, "ip_grade": 1, "ip_severe_calcification": false
        })),
        dexa_t_score: None,
    }
}

pub fn procedure(episode_id: &str) -> ProcedureData {
    ProcedureData {
        episode_id: episode_id.into(),
        performed_on: date!(2025 - 01 - 20),
        kind: ProcedureKind::Pta,
        amputation_level: None,
        target_arteries: vec![TargetArtery::SuperficialFemoral, TargetArtery::AnteriorTibial],
        angiosome_route: Some(AngiosomeRoute::Direct),
        complications: vec!["groin haematoma".into()],
        notes: "Drug-coated balloon".into(),
    }
}

pub fn outcome_event(episode_id: &str) -> OutcomeEventData {
    OutcomeEventData {
        episode_id: episode_id.into(),
        occurred_on: date!(2025 - 03 - 01),
        kind: OutcomeKind::MinorAmputation,
        amputation_level: Some(AmputationLevel::Ray),
        notes: String::new(),
    }
}

pub fn consent(episode_id: &str) -> ConsentData {
    ConsentData {
        episode_id: episode_id.into(),
        consented_to: "left first ray amputation".into(),
        consented_on: date!(2025 - 02 - 27),
        given_to: "Dr Lee".into(),
        withdrawn_on: None,
    }
}

pub fn care_team_member(episode_id: &str, user_id: Option<&str>) -> CareTeamMemberData {
    CareTeamMemberData {
        episode_id: episode_id.into(),
        user_id: user_id.map(str::to_owned),
        name: "Sam Rivera".into(),
        discipline: Discipline::Podiatry,
        lead: true,
    }
}

pub fn user(username: &str, role: Role) -> UserData {
    UserData { username: username.into(), display_name: format!("User {username}"), role, patient_id: None }
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A new random UUID (v7), for ids no record has.
pub fn unknown_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

fn stored<T>(data: T, at: i64) -> Stored<T> {
    Stored { id: unknown_id(), version: 1, created_at_ms: at, updated_at_ms: at, data }
}

/// A whole patient record with ids assigned, one of every child.
pub fn record(mrn: &str, family: &str, given: &str) -> PatientRecord {
    let at = 1_736_500_000_000;
    let p = stored(patient(mrn, family, given), at);
    let l = stored(limb(&p.id), at);
    let e = stored(episode(&l.id, EpisodeStatus::Treatment), at);
    let a1 = assessment(&e.id, date!(2025 - 01 - 12), 4);
    let a2 = assessment(&e.id, date!(2025 - 02 - 12), 2);
    let assessments = [a1, a2]
        .into_iter()
        .map(|a| {
            let derived = a.derive().expect("fixture findings derive");
            StoredAssessment { stored: stored(a, at), derived }
        })
        .collect();
    let w = stored(wound(&e.id), at);
    let m1 = stored(measurement(&w.id, date!(2025 - 01 - 12), 4.0, 2.5, None), at);
    let m2 = stored(measurement(&w.id, date!(2025 - 02 - 12), 3.0, 2.0, Some(5.0)), at);
    PatientRecord {
        limbs: vec![l],
        assessments,
        wound_measurements: vec![m1, m2],
        vascular_studies: vec![stored(vascular_study(&e.id), at)],
        imaging_studies: vec![stored(imaging_study(&e.id), at)],
        procedures: vec![stored(procedure(&e.id), at)],
        outcome_events: vec![stored(outcome_event(&e.id), at)],
        consents: vec![stored(consent(&e.id), at)],
        care_team: vec![stored(care_team_member(&e.id, None), at)],
        wounds: vec![w],
        episodes: vec![e],
        patient: Some(p),
    }
}
