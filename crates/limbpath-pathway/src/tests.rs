//! Plan-level tests: one per shipped rule (named after it, citing its source),
//! re-running without duplicates, checkpoints driving tasks, and property
//! tests that no input panics.

use super::*;
use crate::rules::rule_ids::*;
use limbpath_clinical::angiosome::WoundLocation;
use limbpath_record::{
    Aetiology, AmbulatoryStatus, AssessmentData, DiabetesStatus, Discipline, EpisodeData, EpisodeStatus, PatientData,
    ProcedureData, ProcedureKind, Sex, SmokingStatus, Stored, WoundData, WoundMeasurementData,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use time::macros::date;

const EPISODE: &str = "0192f0c5-3b1e-7c2a-9f00-00000000e001";
const LIMB: &str = "0192f0c5-3b1e-7c2a-9f00-00000000f001";
const WOUND: &str = "0192f0c5-3b1e-7c2a-9f00-00000000a001";
const WOUND_2: &str = "0192f0c5-3b1e-7c2a-9f00-00000000a002";
const ASSESSMENT: &str = "0192f0c5-3b1e-7c2a-9f00-00000000c001";
const TODAY: Date = date!(2026 - 03 - 10);

fn stored<T>(id: &str, data: T) -> Stored<T> {
    Stored { id: id.into(), version: 1, created_at_ms: 0, updated_at_ms: 0, data }
}

fn id(n: u32) -> String {
    format!("0192f0c5-3b1e-7c2a-9f00-{n:012x}")
}

fn patient() -> PatientData {
    PatientData {
        mrn: "MRN-1".into(),
        site: "Site".into(),
        family_name: "Doe".into(),
        given_name: "Jane".into(),
        birth_date: date!(1950 - 03 - 14),
        sex: Sex::Female,
        diabetes: DiabetesStatus::Type2,
        hba1c_percent: Some(6.5),
        ckd_stage: None,
        dialysis: false,
        smoking: SmokingStatus::Never,
        bmi: None,
        ambulatory_status: AmbulatoryStatus::Independent,
    }
}

fn snapshot(findings: Option<Value>) -> EpisodeSnapshot {
    EpisodeSnapshot {
        patient: patient(),
        episode: stored(
            EPISODE,
            EpisodeData {
                limb_id: LIMB.into(),
                aetiology: Aetiology::Clti,
                status: EpisodeStatus::Evaluation,
                opened_on: date!(2026 - 01 - 01),
                closed_on: None,
                summary: String::new(),
            },
        ),
        latest_assessment: findings.map(|findings| {
            stored(
                ASSESSMENT,
                AssessmentData {
                    episode_id: EPISODE.into(),
                    assessed_on: date!(2026 - 03 - 01),
                    findings: findings.into(),
                },
            )
        }),
        surgical_risk: None,
        wounds: vec![],
        wound_measurements: vec![],
        procedures: vec![],
        tasks: vec![],
    }
}

fn wifi(w: u8, i: u8, fi: u8) -> Option<Value> {
    Some(json!({"wound_grade": w, "ischaemia_grade": i, "infection_grade": fi}))
}

/// Add an open wound with measurements (date, area cm²).
fn with_wound(mut s: EpisodeSnapshot, wound_id: &str, measurements: &[(Date, f64)]) -> EpisodeSnapshot {
    s.wounds.push(stored(
        wound_id,
        WoundData {
            episode_id: EPISODE.into(),
            location: WoundLocation::PlantarHeel,
            noted_on: date!(2026 - 01 - 01),
            description: String::new(),
            healed_on: None,
        },
    ));
    for (k, (on, area)) in measurements.iter().enumerate() {
        s.wound_measurements.push(stored(
            &id(0x900 + s.wound_measurements.len() as u32 + k as u32),
            WoundMeasurementData {
                wound_id: wound_id.into(),
                measured_on: *on,
                length_cm: 1.0,
                width_cm: 1.0,
                depth_cm: None,
                area_cm2: Some(*area),
            },
        ));
    }
    s
}

fn run(s: &EpisodeSnapshot, today: Date) -> PlanDiff {
    plan(&shipped_rule_set(), &ProgrammeSettings::shipped(), s, today).unwrap()
}

fn created<'a>(d: &'a PlanDiff, rule: &str) -> Option<&'a CareTaskData> {
    d.create.iter().find(|t| t.key.rule_id == rule)
}

fn advice<'a>(d: &'a PlanDiff, rule: &str) -> Option<&'a Advice> {
    d.advice.iter().find(|a| a.rule_id == rule)
}

fn undetermined<'a>(d: &'a PlanDiff, rule: &str) -> Option<&'a Undetermined> {
    d.undetermined.iter().find(|u| u.rule_id == rule)
}

fn has_flag(r: &Rationale, kind: FlagKind) -> bool {
    r.flags.iter().any(|f| f.kind == kind)
}

// Baseline 2026-02-01; day 28 = 2026-03-01 (window 2026-02-22 .. 2026-03-08); today 2026-03-10.
const BASE: Date = date!(2026 - 02 - 01);
const MISSED_WEEK_4: [(Date, f64); 2] = [(BASE, 10.0), (date!(2026 - 02 - 27), 7.0)]; // 30 % reduction
const MET_WEEK_4: [(Date, f64); 2] = [(BASE, 10.0), (date!(2026 - 02 - 27), 4.0)]; // 60 % reduction

// ---------------------------------------------------------------------------
// One test per shipped rule.
// ---------------------------------------------------------------------------

/// Rule fi2.infectious_disease_review — programme policy; fI from REFERENCES.md §1.3 / §7.1.
#[test]
fn rule_fi2_infectious_disease_review_same_day_programme_policy_on_wifi_fi_ref_1_3() {
    let d = run(&snapshot(wifi(1, 0, 2)), TODAY);
    let t = created(&d, INFECTIOUS_DISEASE_REVIEW).expect("fI2 fires the ID review");
    assert_eq!((t.discipline, t.priority, t.due_on), (Discipline::InfectiousDisease, Priority::Urgent, TODAY));
    assert_eq!(t.rationale.source.status, SourceStatus::ProgrammePolicy);
    assert!(t.rationale.source.reference.contains("§1.3"));
    assert!(t.rationale.source.criteria_sources.contains(&"wifi.foot_infection".to_owned()));
    assert!(has_flag(&t.rationale, FlagKind::ProgrammePolicy));
    assert!(t.rationale.because.iter().any(|b| b == "foot infection fI2 ≥ fI2: yes"), "{:?}", t.rationale.because);
    assert!(t.rationale.inputs.iter().any(|i| i.field == "latest_assessment.derived.result.wifi.infection.grade"));
    assert_eq!((t.ruleset_id.as_str(), t.ruleset_version.as_str()), ("limbpath.care_plan", "1"));
    // fI1 does not fire it
    assert!(created(&run(&snapshot(wifi(1, 0, 1)), TODAY), INFECTIOUS_DISEASE_REVIEW).is_none());
}

/// Rule fi3_or_sirs.emergency_admission — programme policy; fI3 and SIRS from REFERENCES.md §1.3 / §7.1.
#[test]
fn rule_fi3_or_sirs_emergency_admission_programme_policy_on_ref_1_3() {
    let d = run(&snapshot(wifi(2, 1, 3)), TODAY);
    let t = created(&d, EMERGENCY_ADMISSION).expect("fI3 fires the emergency pathway");
    assert_eq!((t.priority, t.due_on), (Priority::Emergency, TODAY));
    assert_eq!(d.create[0].key.rule_id, EMERGENCY_ADMISSION, "the emergency comes first");
    // SIRS without a foot infection (the engine grades it fI0 and flags it) still fires it
    let sirs_only = json!({"infection": {"sirs": {"temperature_c": 38.9, "heart_rate_bpm": 112}}});
    let d = run(&snapshot(Some(sirs_only)), TODAY);
    let t = created(&d, EMERGENCY_ADMISSION).expect("SIRS fires the emergency pathway");
    assert!(t.rationale.because.iter().any(|b| b.contains("2 of 4 SIRS criteria met")), "{:?}", t.rationale.because);
    assert!(created(&d, INFECTIOUS_DISEASE_REVIEW).is_none());
    // fI2 given by the clinician excludes SIRS by definition: no emergency, not undetermined
    let d = run(&snapshot(wifi(1, 0, 2)), TODAY);
    assert!(created(&d, EMERGENCY_ADMISSION).is_none() && undetermined(&d, EMERGENCY_ADMISSION).is_none());
    // fI0 given with no SIRS findings: SIRS unknown -> undetermined, naming the SIRS criteria
    let d = run(&snapshot(wifi(1, 0, 0)), TODAY);
    let u = undetermined(&d, EMERGENCY_ADMISSION).expect("fI0 cannot exclude SIRS");
    assert!(u.missing.iter().any(|m| m.contains("SIRS")), "{:?}", u.missing);
}

/// Rule i2_wound.vascular_imaging — programme policy; ischaemia from REFERENCES.md §1.2; "within days" is a setting.
#[test]
fn rule_i2_with_a_wound_vascular_imaging_within_the_programme_setting_ref_1_2() {
    let d = run(&snapshot(wifi(1, 2, 0)), TODAY);
    let t = created(&d, VASCULAR_IMAGING).expect("I2 with W1 fires imaging");
    assert_eq!(t.due_on, date!(2026 - 03 - 13)); // shipped default: 3 days
    assert_eq!(t.rationale.settings[0].name, "vascular_imaging_within_days");
    assert_eq!(t.rationale.settings[0].note, "programme setting, not from the reference pack");
    assert!(has_flag(&t.rationale, FlagKind::ShippedDefault));
    assert!(t.rationale.source.reference.contains("§1.2"));
    // the programme sets 5 days: due in 5, flagged as the programme's setting
    let mut settings = ProgrammeSettings::shipped();
    settings.vascular_imaging_within_days = Setting::programme(5);
    let d = plan(&shipped_rule_set(), &settings, &snapshot(wifi(1, 2, 0)), TODAY).unwrap();
    let t = created(&d, VASCULAR_IMAGING).unwrap();
    assert_eq!(t.due_on, date!(2026 - 03 - 15));
    assert!(has_flag(&t.rationale, FlagKind::ProgrammeSetting) && !has_flag(&t.rationale, FlagKind::ShippedDefault));
    // I2 without a wound (W0, no wound recorded) does not fire; a recorded open wound does
    let no_wound = snapshot(wifi(0, 2, 0));
    assert!(created(&run(&no_wound, TODAY), VASCULAR_IMAGING).is_none());
    let recorded = with_wound(no_wound, WOUND, &[]);
    assert!(created(&run(&recorded, TODAY), VASCULAR_IMAGING).is_some());
    // I1 does not fire
    assert!(created(&run(&snapshot(wifi(1, 1, 0)), TODAY), VASCULAR_IMAGING).is_none());
}

/// Rules gvg_6_9.* — GVG 6.9, REFERENCES.md §2.3 (VERIFIED).
#[test]
fn rule_gvg_6_9_i0_advice_until_the_wound_misses_week_4_then_a_vascular_review_ref_2_3() {
    let met = with_wound(snapshot(wifi(1, 0, 0)), WOUND, &MET_WEEK_4);
    let d = run(&met, TODAY);
    let a = advice(&d, GVG_6_9_ADVICE).expect("I0 with an improving wound: advice against revascularisation");
    assert_eq!(a.wound_id.as_deref(), Some(WOUND));
    assert_eq!(a.rationale.source.reference, "REFERENCES.md §2.3");
    assert_eq!(a.rationale.source.status, SourceStatus::Verified);
    assert!(created(&d, GVG_6_9_EXCEPTION).is_none());

    let missed = with_wound(snapshot(wifi(1, 0, 0)), WOUND, &MISSED_WEEK_4);
    let d = run(&missed, TODAY);
    assert!(advice(&d, GVG_6_9_ADVICE).is_none());
    let t = created(&d, GVG_6_9_EXCEPTION).expect("I0 and the wound missed week 4: vascular review");
    assert_eq!(t.key.wound_id.as_deref(), Some(WOUND));
    assert_eq!(t.discipline, Discipline::VascularSurgery);
    assert!(has_flag(&t.rationale, FlagKind::Review), "good care and infection control must be confirmed");
    assert!(
        t.rationale
            .inputs
            .iter()
            .any(|i| i.field == "wounds[0].checkpoints.area_50_by_week_4.status" && i.value == json!("missed"))
    );
    // I1 is not I0: neither rule
    let i1 = with_wound(snapshot(wifi(1, 1, 0)), WOUND, &MISSED_WEEK_4);
    let d = run(&i1, TODAY);
    assert!(advice(&d, GVG_6_9_ADVICE).is_none() && created(&d, GVG_6_9_EXCEPTION).is_none());
}

/// Rule gvg_6_10.* — GVG 6.10, REFERENCES.md §2.3; exception wording unrecorded (§14 item 9).
#[test]
fn rule_gvg_6_10_stage_1_advice_is_flagged_unverified_and_never_a_task_ref_2_3() {
    // W1 I0 fI1 = stage 1 (REFERENCES.md §1.4)
    let d = run(&snapshot(wifi(1, 0, 1)), TODAY);
    let a = advice(&d, GVG_6_10_ADVICE).expect("stage 1: advice");
    assert!(has_flag(&a.rationale, FlagKind::Unverified));
    assert!(a.rationale.source.note.contains("not recorded"));
    assert!(!d.create.iter().any(|t| t.key.rule_id == GVG_6_10_ADVICE));
    // W1 I0 fI2 = stage 2: no advice
    assert!(advice(&run(&snapshot(wifi(1, 0, 2)), TODAY), GVG_6_10_ADVICE).is_none());
}

/// Rule gvg_6_11.offer_revascularisation — GVG 6.11 with 6.4/6.5 risk, REFERENCES.md §2.3 and the §13 ≤50 % test.
#[test]
fn rule_gvg_6_11_offer_revascularisation_to_average_risk_stage_4_i2_i3_ref_2_3_and_13() {
    // W2 I2 fI1 = stage 4 (REFERENCES.md §1.4)
    let mut s = snapshot(wifi(2, 2, 1));
    s.surgical_risk =
        Some(SurgicalRiskEstimate { periprocedural_mortality_percent: 2.0, two_year_survival_percent: 60.0 });
    let d = run(&s, TODAY);
    let t = created(&d, GVG_6_11_OFFER).expect("average risk, stage 4, I2: offer revascularisation");
    assert_eq!(t.rationale.source.reference, "REFERENCES.md §2.3");
    assert!(has_flag(&t.rationale, FlagKind::Review), "PLAN matrix not encoded");
    assert!(t.rationale.inputs.iter().any(|i| i.field == "surgical_risk.two_year_survival_percent"));
    // §13: 2-year survival of exactly 50 % is high risk (6.5 is ≤50 %, not guidelinecentral's >50 %)
    s.surgical_risk =
        Some(SurgicalRiskEstimate { periprocedural_mortality_percent: 2.0, two_year_survival_percent: 50.0 });
    assert!(created(&run(&s, TODAY), GVG_6_11_OFFER).is_none());
    // no estimate: undetermined, naming it
    s.surgical_risk = None;
    let d = run(&s, TODAY);
    let u = undetermined(&d, GVG_6_11_OFFER).expect("no risk estimate");
    assert!(u.missing.iter().any(|m| m.contains("surgical-risk estimate")), "{:?}", u.missing);
    // already revascularised in the episode: not offered again
    s.surgical_risk =
        Some(SurgicalRiskEstimate { periprocedural_mortality_percent: 2.0, two_year_survival_percent: 60.0 });
    s.procedures.push(stored(
        &id(0xb01),
        ProcedureData {
            episode_id: EPISODE.into(),
            performed_on: date!(2026 - 03 - 05),
            kind: ProcedureKind::Pta,
            amputation_level: None,
            target_arteries: vec![],
            angiosome_route: None,
            complications: vec![],
            notes: String::new(),
        },
    ));
    assert!(created(&run(&s, TODAY), GVG_6_11_OFFER).is_none());
    // stage 4 with I1 (W3 I1 fI0 = stage 4) is not 6.11
    let mut s = snapshot(wifi(3, 1, 0));
    s.surgical_risk =
        Some(SurgicalRiskEstimate { periprocedural_mortality_percent: 2.0, two_year_survival_percent: 60.0 });
    assert!(created(&run(&s, TODAY), GVG_6_11_OFFER).is_none());
}

/// Rule hba1c.endocrinology — programme policy; the target is a programme setting (none in the reference pack).
#[test]
fn rule_hba1c_above_the_programme_target_refers_to_endocrinology_programme_setting() {
    let mut s = snapshot(None);
    s.patient.hba1c_percent = Some(8.1);
    let d = run(&s, TODAY);
    let t = created(&d, ENDOCRINOLOGY).expect("HbA1c 8.1 > 7.0");
    assert_eq!(
        (t.discipline, t.priority, t.due_on),
        (Discipline::Endocrinology, Priority::Routine, date!(2026 - 03 - 24))
    );
    let names: Vec<&str> = t.rationale.settings.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["hba1c_target_percent", "routine_within_days"]);
    assert!(t.rationale.because[0].contains("programme setting, not from the reference pack"));
    // exactly the target is not above it
    s.patient.hba1c_percent = Some(7.0);
    assert!(created(&run(&s, TODAY), ENDOCRINOLOGY).is_none());
    s.patient.hba1c_percent = None;
    assert!(undetermined(&run(&s, TODAY), ENDOCRINOLOGY).is_some());
}

/// Rule smoking.cessation_support — programme policy (none in the reference pack beyond §12.2 for osseointegration).
#[test]
fn rule_current_smoker_gets_cessation_support_programme_policy() {
    let mut s = snapshot(None);
    s.patient.smoking = SmokingStatus::Current;
    let t = run(&s, TODAY).create.into_iter().find(|t| t.key.rule_id == SMOKING_CESSATION).expect("current smoker");
    assert_eq!(t.discipline, Discipline::CareCoordination);
    assert!(has_flag(&t.rationale, FlagKind::ProgrammePolicy));
    s.patient.smoking = SmokingStatus::Former;
    assert!(created(&run(&s, TODAY), SMOKING_CESSATION).is_none());
    s.patient.smoking = SmokingStatus::Unknown;
    assert!(undetermined(&run(&s, TODAY), SMOKING_CESSATION).is_some());
}

/// Rule wound_week_4.missed_reevaluate — checkpoint from GVG 6.9 (REFERENCES.md §2.3); the task is programme policy.
#[test]
fn rule_week_4_missed_creates_the_reevaluation_task_and_a_met_checkpoint_does_not_ref_2_3() {
    let missed = with_wound(snapshot(None), WOUND, &MISSED_WEEK_4);
    let d = run(&missed, TODAY);
    let t = created(&d, WEEK_4_MISSED).expect("missed week 4");
    assert_eq!(
        t.title,
        "Re-evaluate perfusion, infection and offloading: the wound missed its area-reduction checkpoint"
    );
    assert_eq!(t.key.wound_id.as_deref(), Some(WOUND));
    assert_eq!(d.wounds[0].checkpoint("area_50_by_week_4").unwrap().status, CheckpointStatus::Missed);

    let met = with_wound(snapshot(None), WOUND, &MET_WEEK_4);
    let d = run(&met, TODAY);
    assert!(created(&d, WEEK_4_MISSED).is_none());
    assert_eq!(d.wounds[0].checkpoint("area_50_by_week_4").unwrap().status, CheckpointStatus::Met);

    // two wounds, one missed and one met: one task, for the right wound
    let both = with_wound(with_wound(snapshot(None), WOUND, &MET_WEEK_4), WOUND_2, &MISSED_WEEK_4);
    let d = run(&both, TODAY);
    let tasks: Vec<_> = d.create.iter().filter(|t| t.key.rule_id == WEEK_4_MISSED).collect();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].key.wound_id.as_deref(), Some(WOUND_2));
    // a healed wound gets no task
    let mut healed = with_wound(snapshot(None), WOUND, &MISSED_WEEK_4);
    healed.wounds[0].data.healed_on = Some(date!(2026 - 03 - 09));
    assert!(created(&run(&healed, TODAY), WEEK_4_MISSED).is_none());
}

/// Rule wound_week_4.unmeasured — programme policy around GVG 6.9's checkpoint (REFERENCES.md §2.3).
#[test]
fn rule_week_4_window_closed_unmeasured_asks_for_a_measurement() {
    let s = with_wound(snapshot(None), WOUND, &[(BASE, 10.0), (date!(2026 - 02 - 10), 9.0)]);
    let d = run(&s, TODAY);
    assert!(created(&d, WEEK_4_UNMEASURED).is_some());
    // on 2026-03-05 the window is still open: nothing yet
    assert!(created(&run(&s, date!(2026 - 03 - 05)), WEEK_4_UNMEASURED).is_none());
}

/// Rule wound_week_8.missed_reevaluate — a programme checkpoint (≥90 % by week 8), not from the reference pack.
#[test]
fn rule_week_8_missed_is_a_programme_checkpoint_flagged_as_such() {
    // day 56 = 2026-03-29; 80 % reduction on day 55
    let s =
        with_wound(snapshot(None), WOUND, &[(BASE, 10.0), (date!(2026 - 02 - 27), 4.0), (date!(2026 - 03 - 28), 2.0)]);
    let d = run(&s, date!(2026 - 03 - 30));
    let t = created(&d, WEEK_8_MISSED).expect("80 % < 90 % at week 8");
    assert!(has_flag(&t.rationale, FlagKind::ProgrammeSetting));
    assert!(t.rationale.settings.iter().any(|s| s.name == "programme_checkpoints.area_90_by_week_8"));
    assert!(created(&d, WEEK_4_MISSED).is_none(), "60 % met week 4");
}

// ---------------------------------------------------------------------------
// Re-running, snapshots, output.
// ---------------------------------------------------------------------------

fn store(tasks: Vec<CareTaskData>, first_id: u32) -> Vec<Stored<CareTaskData>> {
    tasks.into_iter().enumerate().map(|(k, t)| stored(&id(first_id + k as u32), t)).collect()
}

#[test]
fn re_running_after_a_new_assessment_never_duplicates_an_open_task_nor_reopens_a_finished_one() {
    let mut s = with_wound(snapshot(wifi(1, 2, 2)), WOUND, &MISSED_WEEK_4);
    s.patient.smoking = SmokingStatus::Current;
    let first = run(&s, TODAY);
    let rules: Vec<&str> = first.create.iter().map(|t| t.key.rule_id.as_str()).collect();
    for r in [INFECTIOUS_DISEASE_REVIEW, VASCULAR_IMAGING, SMOKING_CESSATION, WEEK_4_MISSED] {
        assert!(rules.contains(&r), "{r} in {rules:?}");
    }
    // the server stores them; the team works on them
    let mut tasks = store(first.create.clone(), 0x700);
    for t in &mut tasks {
        t.data = match t.data.key.rule_id.as_str() {
            r if r == INFECTIOUS_DISEASE_REVIEW => {
                t.data.assign("Dr Id", TODAY).unwrap().complete(date!(2026 - 03 - 11)).unwrap()
            }
            r if r == SMOKING_CESSATION => t.data.cancel("patient declined referral", date!(2026 - 03 - 11)).unwrap(),
            r if r == VASCULAR_IMAGING => t.data.assign("Dr Vasc", date!(2026 - 03 - 11)).unwrap(),
            _ => t.data.clone(),
        };
    }
    s.tasks = tasks;
    // a new assessment a week later: still fI2 and I2, now also SIRS-level fI3
    s.latest_assessment.as_mut().unwrap().data.findings = wifi(1, 2, 3).unwrap().into();
    s.latest_assessment.as_mut().unwrap().data.assessed_on = date!(2026 - 03 - 16);
    let second = run(&s, date!(2026 - 03 - 17));
    let created_rules: Vec<&str> = second.create.iter().map(|t| t.key.rule_id.as_str()).collect();
    assert_eq!(created_rules, [EMERGENCY_ADMISSION], "only the new emergency is created");
    let covered = |rule: &str| second.covered.iter().find(|c| c.key.rule_id == rule).map(|c| c.state);
    assert_eq!(covered(INFECTIOUS_DISEASE_REVIEW), Some(TaskState::Completed), "not reopened");
    assert_eq!(covered(SMOKING_CESSATION), Some(TaskState::Cancelled), "not recreated");
    assert_eq!(covered(VASCULAR_IMAGING), Some(TaskState::Assigned));
    assert_eq!(covered(WEEK_4_MISSED), Some(TaskState::Open));
    // a third run with the emergency task stored: nothing new
    s.tasks.extend(store(second.create, 0x800));
    let third = run(&s, date!(2026 - 03 - 17));
    assert!(third.create.is_empty(), "{:?}", third.create);
    // a new version of the rule set does not re-create tasks either
    let mut v2 = shipped_rule_set();
    v2.version = "2".into();
    let fourth = plan(&v2, &ProgrammeSettings::shipped(), &s, date!(2026 - 03 - 18)).unwrap();
    assert!(fourth.create.is_empty());
    assert_eq!(fourth.ruleset_version, "2");
}

#[test]
fn the_plan_is_deterministic_and_serialises_for_the_server() {
    let mut s = with_wound(snapshot(wifi(2, 2, 1)), WOUND, &MISSED_WEEK_4);
    s.patient.hba1c_percent = Some(9.0);
    let a = run(&s, TODAY);
    assert_eq!(a, run(&s, TODAY));
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["episode_id"], EPISODE);
    assert_eq!(json["evaluated_on"], "2026-03-10");
    assert_eq!(json["assessment"]["id"], ASSESSMENT);
    assert_eq!(json["create"][0]["status"], json!({"state": "open"}));
    // tasks are stored as JSON and read back unchanged
    for t in &a.create {
        let back: CareTaskData = serde_json::from_value(serde_json::to_value(t).unwrap()).unwrap();
        assert_eq!(&back, t);
    }
    // priorities are ordered: nothing more urgent after something less urgent
    assert!(a.create.windows(2).all(|w| w[0].priority <= w[1].priority));
}

#[test]
fn without_an_assessment_the_assessment_rules_are_undetermined_not_guessed() {
    let d = run(&snapshot(None), TODAY);
    assert!(d.create.is_empty());
    let u = undetermined(&d, INFECTIOUS_DISEASE_REVIEW).unwrap();
    assert!(u.missing.iter().any(|m| m.contains("no assessment recorded")), "{:?}", u.missing);
    assert!(d.assessment.is_none());
}

#[test]
fn a_wound_the_assessment_grades_but_nobody_recorded_leaves_the_wound_rules_undetermined() {
    // W1 I0: GVG 6.9 needs the wound's 4-week checkpoint, which needs the wound recorded with measurements
    let d = run(&snapshot(wifi(1, 0, 0)), TODAY);
    let u = undetermined(&d, GVG_6_9_ADVICE).expect("6.9 cannot be decided");
    assert!(u.missing[0].contains("grades W1 but no open wound is recorded"), "{:?}", u.missing);
    assert!(u.wound_id.is_none());
    assert!(undetermined(&d, WEEK_4_MISSED).is_some());
    assert!(advice(&d, GVG_6_9_ADVICE).is_none() && !d.create.iter().any(|t| t.key.wound_id.is_some()));
    assert!(advice(&d, GVG_6_10_ADVICE).is_some(), "W1 I0 fI0 is stage 1 (REFERENCES.md §1.4)");
    // I2: 6.9 fails on the ischaemia test, so it is not undetermined
    let d = run(&snapshot(wifi(1, 2, 0)), TODAY);
    assert!(undetermined(&d, GVG_6_9_ADVICE).is_none());
    // W0 and no wound: nothing to ask for
    let d = run(&snapshot(wifi(0, 0, 0)), TODAY);
    assert!(undetermined(&d, WEEK_4_MISSED).is_none());
}

#[test]
fn snapshot_errors_name_the_field() {
    let base = || with_wound(snapshot(wifi(1, 0, 0)), WOUND, &MET_WEEK_4);
    let cases: Vec<(crate::Edit<EpisodeSnapshot>, &str)> = vec![
        (Box::new(|s| s.wounds[0].data.episode_id = id(0xdead)), "wounds[0].episode_id"),
        (Box::new(|s| s.wound_measurements[1].data.wound_id = WOUND_2.into()), "wound_measurements[1].wound_id"),
        (Box::new(|s| s.wound_measurements[0].data.width_cm = -1.0), "wound_measurements[0].width_cm"),
        (
            Box::new(|s| s.latest_assessment.as_mut().unwrap().data.findings = json!({"wound_grade": 5}).into()),
            "latest_assessment.findings.wound_grade",
        ),
        (Box::new(|s| s.latest_assessment.as_mut().unwrap().data.episode_id = id(1)), "latest_assessment.episode_id"),
        (
            Box::new(|s| {
                s.episode.data.status = EpisodeStatus::Closed;
                s.episode.data.closed_on = Some(date!(2026 - 03 - 01));
            }),
            "episode.status",
        ),
        (Box::new(|s| s.patient.hba1c_percent = Some(f64::INFINITY)), "patient.hba1c_percent"),
        (
            Box::new(|s| {
                s.surgical_risk = Some(SurgicalRiskEstimate {
                    periprocedural_mortality_percent: -1.0,
                    two_year_survival_percent: 50.0,
                })
            }),
            "surgical_risk.periprocedural_mortality_percent",
        ),
        (
            Box::new(|s| {
                let mut t = crate::task::tests::open_task(WEEK_4_MISSED);
                t.key.episode_id = id(0xbeef);
                s.tasks.push(stored(&id(0x701), t));
            }),
            "tasks[0].key.episode_id",
        ),
    ];
    for (edit, field) in cases {
        let mut s = base();
        edit(&mut s);
        let e = plan(&shipped_rule_set(), &ProgrammeSettings::shipped(), &s, TODAY).unwrap_err();
        assert_eq!(e.field, field);
    }
    let e = plan(&shipped_rule_set(), &ProgrammeSettings::shipped(), &base(), date!(1066 - 10 - 14)).unwrap_err();
    assert_eq!(e.field, "today");
}

// ---------------------------------------------------------------------------
// Property tests: nothing panics, re-runs never duplicate.
// ---------------------------------------------------------------------------

fn any_findings() -> impl Strategy<Value = Value> {
    let grade = proptest::option::of(0u8..6);
    let vital = proptest::option::of(prop_oneof![Just(f64::NAN), -50.0..300.0f64]);
    (grade.clone(), grade.clone(), grade, any::<bool>(), vital.clone(), vital, 0.0..5.0f64).prop_map(
        |(w, i, fi, with_infection, temp, hr, erythema)| {
            let mut f = json!({});
            if let Some(w) = w {
                f["wound_grade"] = json!(w);
            }
            if let Some(i) = i {
                f["ischaemia_grade"] = json!(i);
            }
            if with_infection {
                let num = |v: Option<f64>| v.filter(|x| x.is_finite()).map_or(Value::Null, |x| json!(x));
                f["infection"] = json!({"local_warmth": true, "erythema_cm": erythema,
                    "sirs": {"temperature_c": num(temp), "heart_rate_bpm": num(hr)}});
            } else if let Some(fi) = fi {
                f["infection_grade"] = json!(fi);
            }
            f
        },
    )
}

fn any_status(created: Date) -> impl Strategy<Value = TaskStatus> {
    prop_oneof![
        Just(TaskStatus::Open),
        (0i64..30).prop_map(move |d| TaskStatus::Assigned {
            assignee: "A".into(),
            assigned_on: crate::add_days(created, d).unwrap()
        }),
        (0i64..30).prop_map(move |d| TaskStatus::Cancelled {
            cancelled_on: crate::add_days(created, d).unwrap(),
            reason: "r".into(),
            assignee: None
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn plan_never_panics_and_never_duplicates_a_key(
        findings in proptest::option::of(any_findings()),
        hba1c in proptest::option::of(2.0..25.0f64),
        smoking in prop::sample::select(SmokingStatus::ALL.to_vec()),
        measurements in proptest::collection::vec((-20i64..120, prop_oneof![Just(0.0), 0.0..60.0f64], 0usize..2), 0..8),
        risk in proptest::option::of((-5.0..105.0f64, -5.0..105.0f64)),
        today_offset in -30i64..200,
        existing in proptest::collection::vec((0usize..12, any_status(date!(2026 - 01 - 01)), proptest::option::of(0usize..2)), 0..6),
    ) {
        let mut s = snapshot(findings);
        s.patient.hba1c_percent = hba1c;
        s.patient.smoking = smoking;
        s.surgical_risk = risk.map(|(m, v)| SurgicalRiskEstimate { periprocedural_mortality_percent: m, two_year_survival_percent: v });
        s = with_wound(with_wound(s, WOUND, &[]), WOUND_2, &[]);
        for (k, (day, area, wound)) in measurements.iter().enumerate() {
            s.wound_measurements.push(stored(&id(0x600 + k as u32), WoundMeasurementData {
                wound_id: [WOUND, WOUND_2][*wound].into(),
                measured_on: crate::add_days(BASE, *day).unwrap(),
                length_cm: 1.0, width_cm: 1.0, depth_cm: None, area_cm2: Some(*area),
            }));
        }
        let rules = shipped_rule_set();
        for (k, (rule, status, wound)) in existing.iter().enumerate() {
            let mut t = crate::task::tests::open_task(&rules.rules[*rule].id);
            t.created_on = date!(2026 - 01 - 01);
            t.key.wound_id = wound.map(|w| [WOUND, WOUND_2][w].to_owned());
            t.status = status.clone();
            s.tasks.push(stored(&id(0x500 + k as u32), t));
        }
        let today = crate::add_days(BASE, today_offset).unwrap();
        if let Ok(d) = plan(&rules, &ProgrammeSettings::shipped(), &s, today) {
            let mut keys: Vec<&TaskKey> = d.create.iter().map(|t| &t.key).collect();
            for k in &keys {
                prop_assert!(!s.tasks.iter().any(|t| &t.data.key == *k), "created a task that exists: {k:?}");
            }
            let n = keys.len();
            keys.sort_by(|a, b| (&a.rule_id, &a.wound_id).cmp(&(&b.rule_id, &b.wound_id)));
            keys.dedup();
            prop_assert_eq!(keys.len(), n);
            // storing what was created and re-running creates nothing more
            let mut again = s.clone();
            again.tasks.extend(store(d.create.clone(), 0x400));
            let d2 = plan(&rules, &ProgrammeSettings::shipped(), &again, today).unwrap();
            prop_assert!(d2.create.is_empty());
        }
    }

    #[test]
    fn lifecycle_never_panics_and_finished_tasks_stay_finished(
        steps in proptest::collection::vec((0u8..3, -5i64..40, prop_oneof![Just(String::new()), Just("  ".to_owned()), "[a-z ]{1,12}"]), 0..12),
    ) {
        let mut t = crate::task::tests::open_task("x");
        for (op, day, text) in steps {
            let on = crate::add_days(t.created_on, day).unwrap();
            let before = t.clone();
            let result = match op {
                0 => t.assign(&text, on),
                1 => t.complete(on),
                _ => t.cancel(&text, on),
            };
            match result {
                Ok(next) => {
                    prop_assert!(!before.status.is_finished());
                    prop_assert!(limbpath_record::Validate::validate(&next).is_ok());
                    t = next;
                }
                Err(_) => prop_assert_eq!(&t, &before),
            }
        }
        let p = plan_progress([&t]);
        prop_assert_eq!(p.complete, t.status.is_finished());
    }

    #[test]
    fn follow_up_never_panics(
        year in 1850i32..2300,
        template in 0usize..3,
        first in 0u32..200, every in 0u32..50, until in 0u32..400, unit in 0u8..3,
        today_offset in -100i64..5000,
        grace in 0u32..400,
    ) {
        let Ok(on) = Date::from_calendar_date(year, time::Month::March, 31) else { return Ok(()) };
        let offset = |n: u32| match unit { 0 => follow_up::Offset::Days(n), 1 => follow_up::Offset::Weeks(n), _ => follow_up::Offset::Months(n) };
        let mut t = shipped_templates().swap_remove(template);
        t.items[0].timing = follow_up::Timing::Every { first: offset(first), every: offset(every), until: offset(until) };
        let kind = t.applies_to[0];
        let proc = ProcedureData {
            episode_id: EPISODE.into(), performed_on: on, kind, amputation_level: None, target_arteries: vec![],
            angiosome_route: None, complications: vec![], notes: String::new(),
        };
        if let Ok(items) = schedule(&id(1), &proc, &t) {
            prop_assert!(items.len() <= 200 * 8);
            let mut settings = ProgrammeSettings::shipped();
            settings.follow_up_grace_days = Setting::programme(grace);
            let today = crate::add_days(on, today_offset).unwrap_or(on);
            let _ = follow_up_status(&items, &[], today, &settings);
        }
    }

    #[test]
    fn triage_never_panics(findings in any_findings(), wet in proptest::option::of(any::<bool>())) {
        if let Ok(t) = triage_referral(&ReferralFindings { findings, wet_gangrene: wet }, &ProgrammeSettings::shipped()) {
            prop_assert!(t.respond_within_hours >= 1);
            if wet == Some(true) { prop_assert_eq!(t.urgency, Priority::Emergency); }
        }
    }
}
