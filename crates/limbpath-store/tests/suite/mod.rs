//! The storage suite, written once and compiled into one test binary per
//! engine (`tests/sqlite.rs`, `tests/postgres.rs`); `crate::ENGINE` says which.

pub mod care;
mod cohort;
mod fhir;
pub mod fixtures;
pub mod harness;

use fixtures::*;
use harness::{TestDb, count, counts, execute_raw};
use limbpath_record::*;
use limbpath_store::*;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;
use time::macros::date;

fn invalid_field(e: StoreError) -> String {
    match e {
        StoreError::Invalid(i) => i.field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// A patient with one limb and one episode; returns (patient, limb, episode) ids.
async fn chain(s: &Store, mrn: &str, status: EpisodeStatus) -> (String, String, String) {
    let p = s.create_patient(patient(mrn, "Chain", "Test")).await.unwrap();
    let l = s.create_limb(limb(&p.id)).await.unwrap();
    let e = s.create_episode(episode(&l.id, status)).await.unwrap();
    (p.id, l.id, e.id)
}

// ---------------------------------------------------------------------------
// Create, read, update
// ---------------------------------------------------------------------------

#[tokio::test]
async fn patients_are_created_read_and_updated_with_versions() {
    let db = TestDb::new().await;
    let s = &db.store;
    let created = s.create_patient(patient("MRN-1", "Doe", "Jane")).await.unwrap();
    assert_eq!(created.version, 1);
    assert!(check_id("id", &created.id).is_ok());
    assert_eq!(uuid::Uuid::parse_str(&created.id).unwrap().get_version_num(), 7);
    assert_eq!(created.created_at_ms, created.updated_at_ms);
    assert_eq!(s.get_patient(&created.id).await.unwrap(), created);

    let changed = PatientData {
        given_name: "Janet".into(),
        bmi: None,
        ckd_stage: Some(5),
        dialysis: true,
        ..created.data.clone()
    };
    let updated = s.update_patient(&created.id, 1, changed.clone()).await.unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.created_at_ms, created.created_at_ms);
    assert!(updated.updated_at_ms >= created.updated_at_ms);
    assert_eq!(s.get_patient(&created.id).await.unwrap(), updated);
    assert_eq!(updated.data, changed);
    assert_eq!(s.count_patients().await.unwrap(), 1);

    // same MRN at the same site is taken; at another site it is not
    let dup = s.create_patient(patient("MRN-1", "Other", "Person")).await.unwrap_err();
    assert!(matches!(dup, StoreError::Duplicate { field: "mrn", .. }), "{dup:?}");
    s.create_patient(PatientData { site: "Other Hospital".into(), ..patient("MRN-1", "Other", "Person") })
        .await
        .unwrap();
    // an update onto a taken MRN is refused too, and changes nothing
    let second = s.create_patient(patient("MRN-2", "Roe", "Rick")).await.unwrap();
    let e = s.update_patient(&second.id, 1, patient("MRN-1", "Roe", "Rick")).await.unwrap_err();
    assert!(matches!(e, StoreError::Duplicate { field: "mrn", .. }), "{e:?}");
    assert_eq!(s.get_patient(&second.id).await.unwrap(), second);

    for missing in [unknown_id(), "not-an-id".to_owned(), "'; DROP TABLE patients; --".to_owned()] {
        let e = s.get_patient(&missing).await.unwrap_err();
        assert!(matches!(e, StoreError::NotFound { entity: "patient", field: None, .. }), "{e:?}");
        let e = s.update_patient(&missing, 1, patient("MRN-9", "X", "Y")).await.unwrap_err();
        assert!(matches!(e, StoreError::NotFound { entity: "patient", .. }), "{e:?}");
    }
    assert_eq!(count(s, "patients").await, 3);
}

/// Create, read, update and list one kind of child, and check the stored
/// record reads back exactly.
macro_rules! crud_child {
    ($s:expr, $create:ident, $get:ident, $update:ident, $list:ident, $parent:expr, $data:expr, $changed:expr) => {{
        let s = $s;
        let first = s.$create($data).await.unwrap();
        assert_eq!(first.version, 1);
        assert_eq!(s.$get(&first.id).await.unwrap(), first, "{} reads back", stringify!($get));
        let second = s.$create($data).await.unwrap();
        let updated = s.$update(&first.id, 1, $changed).await.unwrap();
        assert_eq!(updated.version, 2);
        assert_eq!(updated.data, $changed);
        assert_eq!(s.$get(&first.id).await.unwrap(), updated);
        let page = s.$list($parent, None, 10).await.unwrap();
        let ids: HashSet<String> = page.items.iter().map(|x| x.id.clone()).collect();
        assert_eq!(ids, HashSet::from([first.id.clone(), second.id.clone()]), "{}", stringify!($list));
        assert_eq!(page.next_cursor, None);
        let e = s.$get(&unknown_id()).await.unwrap_err();
        assert!(matches!(e, StoreError::NotFound { field: None, .. }), "{e:?}");
        updated
    }};
}

#[tokio::test]
async fn every_record_type_is_created_read_updated_and_listed() {
    let db = TestDb::new().await;
    let s = &db.store;
    let p = s.create_patient(patient("MRN-1", "Doe", "Jane")).await.unwrap();
    let limb_ = crud_child!(
        s,
        create_limb,
        get_limb,
        update_limb,
        list_limbs,
        &p.id,
        limb(&p.id),
        LimbData { amputation_level: Some(AmputationLevel::Transtibial), ..limb(&p.id) }
    );
    let l = limb_.id.clone();
    let ep = crud_child!(
        s,
        create_episode,
        get_episode,
        update_episode,
        list_episodes,
        &l,
        episode(&l, EpisodeStatus::Referred),
        EpisodeData { summary: "Updated summary\nwith two lines".into(), ..episode(&l, EpisodeStatus::Closed) }
    );
    let e = ep.id.clone();
    let w = crud_child!(
        s,
        create_wound,
        get_wound,
        update_wound,
        list_wounds,
        &e,
        wound(&e),
        WoundData { healed_on: Some(date!(2025 - 05 - 01)), description: String::new(), ..wound(&e) }
    );
    crud_child!(
        s,
        create_wound_measurement,
        get_wound_measurement,
        update_wound_measurement,
        list_wound_measurements_plain,
        &w.id,
        measurement(&w.id, date!(2025 - 01 - 12), 4.0, 2.5, None),
        measurement(&w.id, date!(2025 - 01 - 12), 4.5, 2.5, Some(9.75))
    );
    crud_child!(
        s,
        create_vascular_study,
        get_vascular_study,
        update_vascular_study,
        list_vascular_studies,
        &e,
        vascular_study(&e),
        VascularStudyData { pressures: None, tcpo2_mmhg: None, ..vascular_study(&e) }
    );
    crud_child!(
        s,
        create_imaging_study,
        get_imaging_study,
        update_imaging_study,
        list_imaging_studies,
        &e,
        imaging_study(&e),
        ImagingStudyData {
            modality: ImagingModality::Dexa,
            arterial_segments: None,
            dexa_t_score: Some(-2.8),
            ..imaging_study(&e)
        }
    );
    crud_child!(
        s,
        create_procedure,
        get_procedure,
        update_procedure,
        list_procedures,
        &e,
        procedure(&e),
        ProcedureData {
            kind: ProcedureKind::MajorAmputation,
            amputation_level: Some(AmputationLevel::Transfemoral),
            target_arteries: vec![],
            angiosome_route: None,
            complications: vec![],
            ..procedure(&e)
        }
    );
    crud_child!(
        s,
        create_outcome_event,
        get_outcome_event,
        update_outcome_event,
        list_outcome_events,
        &e,
        outcome_event(&e),
        OutcomeEventData {
            kind: OutcomeKind::Death,
            amputation_level: None,
            notes: "Unrelated".into(),
            ..outcome_event(&e)
        }
    );
    crud_child!(
        s,
        create_consent,
        get_consent,
        update_consent,
        list_consents,
        &e,
        consent(&e),
        ConsentData { withdrawn_on: Some(date!(2025 - 02 - 28)), ..consent(&e) }
    );
    let u = s.create_user(user("sam.rivera", Role::Clinician), PASSWORD).await.unwrap();
    crud_child!(
        s,
        create_care_team_member,
        get_care_team_member,
        update_care_team_member,
        list_care_team_members,
        &e,
        care_team_member(&e, None),
        CareTeamMemberData {
            lead: false,
            discipline: Discipline::VascularSurgery,
            ..care_team_member(&e, Some(&u.id))
        }
    );

    // every record knows its patient (what the server audits against)
    for (kind, id) in
        [(RecordKind::Patient, &p.id), (RecordKind::Limb, &l), (RecordKind::Episode, &e), (RecordKind::Wound, &w.id)]
    {
        assert_eq!(s.owner_patient_id(kind, id).await.unwrap(), p.id, "{kind:?}");
    }
    let e2 = s.owner_patient_id(RecordKind::Consent, &unknown_id()).await.unwrap_err();
    assert!(matches!(e2, StoreError::NotFound { entity: "consent", .. }), "{e2:?}");
}

/// `list_wound_measurements` without the reductions, for the CRUD macro.
trait PlainMeasurements {
    async fn list_wound_measurements_plain(
        &self,
        wound_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Stored<WoundMeasurementData>>>;
}

impl PlainMeasurements for Store {
    async fn list_wound_measurements_plain(
        &self,
        wound_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Stored<WoundMeasurementData>>> {
        let page = self.list_wound_measurements(wound_id, cursor, limit).await?;
        Ok(Page { items: page.items.into_iter().map(|m| m.measurement).collect(), next_cursor: page.next_cursor })
    }
}

#[tokio::test]
async fn assessments_are_derived_stored_and_re_derived_on_update() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (pid, _, e) = chain(s, "MRN-1", EpisodeStatus::Evaluation).await;
    let data = AssessmentData {
        episode_id: e.clone(),
        assessed_on: date!(2025 - 01 - 12),
        findings: json!({"wound_grade": 2, "ischaemia_grade": 3, "infection_grade": 1}).into(),
    };
    let a = s.create_assessment(data.clone()).await.unwrap();
    assert_eq!(a.derived.wifi_stage, Some(4));
    assert_eq!(a.derived.engine_version, limbpath_clinical::ENGINE_VERSION);
    assert_eq!(a.derived.result_value()["wifi"]["code"], "W2 I3 fI1");
    assert_eq!(a.stored.data.findings, data.findings, "findings kept as sent");
    assert_eq!(s.get_assessment(&a.stored.id).await.unwrap(), a);
    let summary = search_one(s, &pid).await;
    assert_eq!(summary.latest_wifi_stage, Some(4));

    // an update derives again; the patient's latest stage follows
    let milder = AssessmentData { findings: findings_for_stage(1).into(), ..data.clone() };
    let b = s.update_assessment(&a.stored.id, 1, milder).await.unwrap();
    assert_eq!(b.stored.version, 2);
    assert_eq!(b.derived.wifi_stage, Some(1));
    assert_eq!(s.get_assessment(&a.stored.id).await.unwrap(), b);
    assert_eq!(search_one(s, &pid).await.latest_wifi_stage, Some(1));

    // the latest assessment by date decides, whatever the order of entry
    s.create_assessment(assessment(&e, date!(2024 - 12 - 01), 3)).await.unwrap();
    assert_eq!(search_one(s, &pid).await.latest_wifi_stage, Some(1));
    s.create_assessment(assessment(&e, date!(2025 - 03 - 01), 3)).await.unwrap();
    assert_eq!(search_one(s, &pid).await.latest_wifi_stage, Some(3));
    // an assessment without WIfI findings does not clear it
    let other = AssessmentData {
        episode_id: e.clone(),
        assessed_on: date!(2025 - 04 - 01),
        findings: json!({"ceap": "C6 Es Ad Pr"}).into(),
    };
    let c = s.create_assessment(other).await.unwrap();
    assert_eq!(c.derived.wifi_stage, None);
    assert_eq!(search_one(s, &pid).await.latest_wifi_stage, Some(3));

    let page = s.list_assessments(&e, None, 10).await.unwrap();
    let dates: Vec<Date> = page.items.iter().map(|a| a.stored.data.assessed_on).collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted, "assessments list by date");
    assert_eq!(dates.len(), 4);

    // findings the engine refuses: nothing stored, the field named
    let before = count(s, "assessments").await;
    let bad = AssessmentData { findings: json!({"ischaemia": {"abi": -1}}).into(), ..data.clone() };
    assert_eq!(invalid_field(s.create_assessment(bad.clone()).await.unwrap_err()), "findings.ischaemia.abi");
    assert_eq!(invalid_field(s.update_assessment(&a.stored.id, 2, bad).await.unwrap_err()), "findings.ischaemia.abi");
    let unknown = AssessmentData { findings: json!({"abii": 1}).into(), ..data };
    assert_eq!(invalid_field(s.create_assessment(unknown).await.unwrap_err()), "findings.abii");
    assert_eq!(count(s, "assessments").await, before);
    assert_eq!(s.get_assessment(&a.stored.id).await.unwrap(), b);
}

async fn search_one(s: &Store, patient_id: &str) -> PatientSummary {
    let p = s.get_patient(patient_id).await.unwrap();
    let page = s.search_patients(&PatientQuery { text: Some(p.data.mrn.clone()), ..Default::default() }).await.unwrap();
    page.items.into_iter().find(|x| x.patient.id == patient_id).expect("the patient is found by MRN")
}

// ---------------------------------------------------------------------------
// What is refused
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_missing_parent_is_not_found_naming_the_field_and_nothing_is_stored() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (_, _, e) = chain(s, "MRN-1", EpisodeStatus::Treatment).await;
    let before = counts(s).await;
    let nobody = unknown_id();
    macro_rules! missing_parent {
        ($create:ident, $data:expr, $entity:literal, $field:literal) => {
            match s.$create($data).await.unwrap_err() {
                StoreError::NotFound { entity, id, field } => {
                    assert_eq!((entity, field), ($entity, Some($field)), "{}", stringify!($create));
                    assert_eq!(id, nobody);
                }
                other => panic!("{}: expected NotFound, got {other:?}", stringify!($create)),
            }
        };
    }
    missing_parent!(create_limb, limb(&nobody), "patient", "patient_id");
    missing_parent!(create_episode, episode(&nobody, EpisodeStatus::Referred), "limb", "limb_id");
    missing_parent!(create_assessment, assessment(&nobody, date!(2025 - 01 - 01), 2), "episode", "episode_id");
    missing_parent!(create_wound, wound(&nobody), "episode", "episode_id");
    missing_parent!(
        create_wound_measurement,
        measurement(&nobody, date!(2025 - 01 - 01), 1.0, 1.0, None),
        "wound",
        "wound_id"
    );
    missing_parent!(create_vascular_study, vascular_study(&nobody), "episode", "episode_id");
    missing_parent!(create_imaging_study, imaging_study(&nobody), "episode", "episode_id");
    missing_parent!(create_procedure, procedure(&nobody), "episode", "episode_id");
    missing_parent!(create_outcome_event, outcome_event(&nobody), "episode", "episode_id");
    missing_parent!(create_consent, consent(&nobody), "episode", "episode_id");
    missing_parent!(create_care_team_member, care_team_member(&nobody, None), "episode", "episode_id");
    // a care team member's user must exist too
    missing_parent!(create_care_team_member, care_team_member(&e, Some(&nobody)), "user", "user_id");
    // and lists of a missing parent are NotFound, not empty
    let err = s.list_wounds(&nobody, None, 10).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { entity: "episode", .. }), "{err:?}");
    assert_eq!(counts(s).await, before);
}

#[tokio::test]
async fn invalid_input_is_refused_naming_the_field_and_nothing_is_stored() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (pid, l, e) = chain(s, "MRN-1", EpisodeStatus::Treatment).await;
    let w = s.create_wound(wound(&e)).await.unwrap();
    let before = counts(s).await;
    let p = patient("MRN-2", "Doe", "Jane");
    let cases: Vec<(StoreError, &str)> = vec![
        (s.create_patient(PatientData { mrn: " ".into(), ..p.clone() }).await.unwrap_err(), "mrn"),
        (s.create_patient(PatientData { hba1c_percent: Some(42.0), ..p.clone() }).await.unwrap_err(), "hba1c_percent"),
        (s.create_patient(PatientData { bmi: Some(f64::NAN), ..p.clone() }).await.unwrap_err(), "bmi"),
        (
            s.create_patient(PatientData { family_name: "a\u{0}b".into(), ..p.clone() }).await.unwrap_err(),
            "family_name",
        ),
        (s.update_patient(&pid, 1, PatientData { ckd_stage: Some(9), ..p.clone() }).await.unwrap_err(), "ckd_stage"),
        (
            s.create_limb(LimbData { amputation_level: Some(AmputationLevel::Transradial), ..limb(&pid) })
                .await
                .unwrap_err(),
            "amputation_level",
        ),
        (s.create_limb(limb("not-a-uuid")).await.unwrap_err(), "patient_id"),
        (
            s.create_episode(EpisodeData { closed_on: None, ..episode(&l, EpisodeStatus::Closed) }).await.unwrap_err(),
            "closed_on",
        ),
        (
            s.create_wound(WoundData { healed_on: Some(date!(2020 - 01 - 01)), ..wound(&e) }).await.unwrap_err(),
            "healed_on",
        ),
        (
            s.create_wound_measurement(measurement(&w.id, date!(2025 - 01 - 01), -1.0, 1.0, None)).await.unwrap_err(),
            "length_cm",
        ),
        (
            s.create_vascular_study(VascularStudyData {
                pressures: Some(
                    serde_json::from_value(json!({"brachial_left_mmhg": 130, "left": {"dorsalis_pedis_mmhg": 900}}))
                        .unwrap(),
                ),
                ..vascular_study(&e)
            })
            .await
            .unwrap_err(),
            "pressures.left.dorsalis_pedis_mmhg",
        ),
        (
            s.create_imaging_study(ImagingStudyData { dexa_t_score: Some(-2.0), ..imaging_study(&e) })
                .await
                .unwrap_err(),
            "dexa_t_score",
        ),
        (
            s.create_procedure(ProcedureData { kind: ProcedureKind::MajorAmputation, ..procedure(&e) })
                .await
                .unwrap_err(),
            "amputation_level",
        ),
        (
            s.create_outcome_event(OutcomeEventData { kind: OutcomeKind::Death, ..outcome_event(&e) })
                .await
                .unwrap_err(),
            "amputation_level",
        ),
        (s.create_consent(ConsentData { given_to: String::new(), ..consent(&e) }).await.unwrap_err(), "given_to"),
        (
            s.create_care_team_member(CareTeamMemberData { name: "x".repeat(300), ..care_team_member(&e, None) })
                .await
                .unwrap_err(),
            "name",
        ),
        (s.list_limbs(&pid, None, 0).await.unwrap_err(), "limit"),
        (s.list_limbs(&pid, None, MAX_PAGE + 1).await.unwrap_err(), "limit"),
        (s.list_limbs(&pid, Some("bogus"), 10).await.unwrap_err(), "cursor"),
        (s.list_limbs(&pid, Some(&unknown_id()), 10).await.unwrap_err(), "cursor"),
    ];
    for (err, field) in cases {
        assert_eq!(invalid_field(err), field);
    }
    assert_eq!(counts(s).await, before);
}

#[tokio::test]
async fn a_stale_update_is_a_conflict_and_changes_nothing() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (pid, l, e) = chain(s, "MRN-1", EpisodeStatus::Referred).await;
    let v2 = s.update_patient(&pid, 1, patient("MRN-1", "Doe", "Second")).await.unwrap();
    match s.update_patient(&pid, 1, patient("MRN-1", "Doe", "Stale")).await.unwrap_err() {
        StoreError::VersionConflict { entity, id, current } => {
            assert_eq!((entity, id.as_str(), current), ("patient", pid.as_str(), 2));
        }
        other => panic!("expected VersionConflict, got {other:?}"),
    }
    assert_eq!(s.get_patient(&pid).await.unwrap(), v2);
    // a version from the future is stale too
    assert!(matches!(
        s.update_patient(&pid, 7, patient("MRN-1", "Doe", "Future")).await.unwrap_err(),
        StoreError::VersionConflict { current: 2, .. }
    ));

    // a stale episode update leaves the episode and the patient's status flags alone
    let ep = s.get_episode(&e).await.unwrap();
    s.update_episode(&e, 1, episode(&l, EpisodeStatus::Treatment)).await.unwrap();
    let err = s.update_episode(&e, 1, episode(&l, EpisodeStatus::Closed)).await.unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict { current: 2, .. }), "{err:?}");
    assert_eq!(s.get_episode(&e).await.unwrap().data.status, EpisodeStatus::Treatment);
    assert_eq!(search_one(s, &pid).await.episode_statuses, vec![EpisodeStatus::Treatment]);
    assert_ne!(ep.data.status, EpisodeStatus::Treatment);

    // parents are fixed: moving an episode to another limb is refused
    let other_limb = s.create_limb(limb(&pid)).await.unwrap();
    let err = s.update_episode(&e, 2, episode(&other_limb.id, EpisodeStatus::Treatment)).await.unwrap_err();
    assert_eq!(invalid_field(err), "limb_id");
    assert_eq!(s.get_episode(&e).await.unwrap().version, 2);

    // concurrent writers with the same version: exactly one wins
    let w = s.create_wound(wound(&e)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        let id = w.id.clone();
        let data = WoundData { description: format!("writer {i}"), ..wound(&e) };
        tasks.push(tokio::spawn(async move { s.update_wound(&id, 1, data).await }));
    }
    let mut won = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(x) => won.push(x),
            Err(StoreError::VersionConflict { current: 2, .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one concurrent update wins");
    assert_eq!(s.get_wound(&w.id).await.unwrap(), won[0]);
}

// ---------------------------------------------------------------------------
// Lists, search and pagination
// ---------------------------------------------------------------------------

#[tokio::test]
async fn child_lists_page_in_date_order_and_visit_every_row_once() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (_, _, e) = chain(s, "MRN-1", EpisodeStatus::Treatment).await;
    let mut expected = Vec::new();
    // entered out of date order, with ties on the date
    for (i, day) in [5u8, 1, 3, 3, 9, 2, 3].into_iter().enumerate() {
        let noted_on = Date::from_calendar_date(2025, time::Month::January, day).unwrap();
        let w = s.create_wound(WoundData { noted_on, description: format!("w{i}"), ..wound(&e) }).await.unwrap();
        expected.push((noted_on, w.id));
    }
    expected.sort();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    while pages < 100 {
        let page = s.list_wounds(&e, cursor.as_deref(), 3).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|w| (w.data.noted_on, w.id.clone())));
        pages += 1;
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);
    // a cursor from another list is refused
    let (_, _, e2) = chain(s, "MRN-2", EpisodeStatus::Treatment).await;
    assert_eq!(invalid_field(s.list_wounds(&e2, Some(&expected[0].1), 3).await.unwrap_err()), "cursor");
}

#[tokio::test]
async fn wound_measurements_carry_the_percent_area_reduction_from_baseline() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (_, _, e) = chain(s, "MRN-1", EpisodeStatus::Treatment).await;
    let w = s.create_wound(wound(&e)).await.unwrap();
    // entered out of order: the baseline is the earliest by date
    s.create_wound_measurement(measurement(&w.id, date!(2025 - 02 - 01), 3.0, 2.0, None)).await.unwrap();
    s.create_wound_measurement(measurement(&w.id, date!(2025 - 01 - 01), 4.0, 2.5, None)).await.unwrap();
    s.create_wound_measurement(measurement(&w.id, date!(2025 - 03 - 01), 4.0, 4.0, Some(12.0))).await.unwrap();
    s.create_wound_measurement(measurement(&w.id, date!(2025 - 04 - 01), 1.0, 1.0, Some(2.5))).await.unwrap();
    let all = s.list_wound_measurements(&w.id, None, 10).await.unwrap();
    let got: Vec<(Date, f64, Option<f64>)> =
        all.items.iter().map(|m| (m.measurement.data.measured_on, m.area_cm2_used, m.percent_area_reduction)).collect();
    assert_eq!(
        got,
        vec![
            (date!(2025 - 01 - 01), 10.0, Some(0.0)),
            (date!(2025 - 02 - 01), 6.0, Some(40.0)),
            (date!(2025 - 03 - 01), 12.0, Some(-20.0)),
            (date!(2025 - 04 - 01), 2.5, Some(75.0)),
        ]
    );
    // a later page still measures from the baseline
    let first = s.list_wound_measurements(&w.id, None, 2).await.unwrap();
    let second = s.list_wound_measurements(&w.id, first.next_cursor.as_deref(), 2).await.unwrap();
    assert_eq!(second.items[1].percent_area_reduction, Some(75.0));
    assert_eq!(second.next_cursor, None);
    // a zero baseline has no reduction
    let w2 = s.create_wound(wound(&e)).await.unwrap();
    s.create_wound_measurement(measurement(&w2.id, date!(2025 - 01 - 01), 1.0, 1.0, Some(0.0))).await.unwrap();
    s.create_wound_measurement(measurement(&w2.id, date!(2025 - 02 - 01), 1.0, 1.0, Some(1.0))).await.unwrap();
    let z = s.list_wound_measurements(&w2.id, None, 10).await.unwrap();
    assert!(z.items.iter().all(|m| m.percent_area_reduction.is_none()));
}

/// The order search promises: lower-cased family name, given name, id, byte-wise.
fn search_order(p: &Stored<PatientData>) -> (String, String, String) {
    (p.data.family_name.trim().to_lowercase(), p.data.given_name.trim().to_lowercase(), p.id.clone())
}

/// A seeded patient: the record, its site, its first episode's status,
/// whether it has a second (follow-up) episode, its WIfI stage.
type Seeded = (Stored<PatientData>, &'static str, EpisodeStatus, bool, u8);

async fn all_pages(s: &Store, q: PatientQuery) -> Vec<PatientSummary> {
    let mut out = Vec::new();
    let mut q = q;
    for _ in 0..1000 {
        let page = s.search_patients(&q).await.unwrap();
        assert!(page.items.len() <= q.limit as usize);
        let last = page.items.len();
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => {
                assert_eq!(last, q.limit as usize, "only a full page has a next page");
                q.cursor = Some(c);
            }
            None => return out,
        }
    }
    panic!("paging did not end: the cursor does not advance")
}

#[tokio::test]
async fn patients_are_searched_by_name_mrn_site_status_and_wifi_stage_with_stable_paging() {
    let db = TestDb::new().await;
    let s = &db.store;
    let names = [
        ("Smith", "John"),
        ("smith", "Anna"),
        ("Smithers", "Waylon"),
        ("SMYTH", "Jo"),
        ("Smith", "john"),
        ("Doe", "Jane"),
        ("Doe", "John"),
        ("Ábel", "Zoë"),
        ("abel", "Émile"),
        ("Zeta", "Omega"),
        ("O'Brien", "Pat"),
        ("van der Berg", "Ilse"),
        (" Padded ", " Name "),
        ("Smith", "Zed"),
    ];
    let mut patients = Vec::new();
    for (i, (family, given)) in names.iter().enumerate() {
        let site = if i % 3 == 0 { "North" } else { "South" };
        let data = PatientData { site: site.into(), ..patient(&format!("MRN-{i:03}"), family, given) };
        let p = s.create_patient(data).await.unwrap();
        let l = s.create_limb(limb(&p.id)).await.unwrap();
        let status = EpisodeStatus::ALL[i % EpisodeStatus::ALL.len()];
        let ep = s.create_episode(episode(&l.id, status)).await.unwrap();
        if i % 2 == 0 {
            // a second episode on another limb, in another status, of another aetiology
            let l2 = s.create_limb(LimbData { side: Side::Right, ..limb(&p.id) }).await.unwrap();
            let diabetic =
                EpisodeData { aetiology: Aetiology::DiabeticFoot, ..episode(&l2.id, EpisodeStatus::FollowUp) };
            s.create_episode(diabetic).await.unwrap();
        }
        let stage = (i % 4) as u8 + 1;
        s.create_assessment(assessment(&ep.id, date!(2025 - 01 - 12), stage)).await.unwrap();
        patients.push((p, site, status, i % 2 == 0, stage));
    }
    let expect = |keep: &dyn Fn(&Seeded) -> bool| {
        let mut v: Vec<_> = patients.iter().filter(|x| keep(x)).map(|x| search_order(&x.0)).collect();
        v.sort();
        v.into_iter().map(|(_, _, id)| id).collect::<Vec<_>>()
    };
    let ids = |v: Vec<PatientSummary>| v.into_iter().map(|x| x.patient.id).collect::<Vec<_>>();

    // everyone, paged by 4: every patient exactly once, in order
    for limit in [1, 4, 50] {
        let got = ids(all_pages(s, PatientQuery { limit, ..Default::default() }).await);
        assert_eq!(got, expect(&|_| true), "limit {limit}");
    }
    // a family-name prefix, any case
    let smi = expect(&|x| x.0.data.family_name.to_lowercase().starts_with("smi"));
    assert_eq!(smi.len(), 5);
    for text in ["smi", "SMI", " Smi "] {
        let got = ids(all_pages(s, PatientQuery { text: Some(text.into()), limit: 2, ..Default::default() }).await);
        assert_eq!(got, smi, "{text:?}");
    }
    // non-ASCII prefixes
    let abel = ids(all_pages(s, PatientQuery { text: Some("ÁB".into()), limit: 2, ..Default::default() }).await);
    assert_eq!(abel, expect(&|x| x.0.data.family_name == "Ábel"));
    // "family, given prefix"
    let got = ids(all_pages(s, PatientQuery { text: Some("smith, jo".into()), limit: 1, ..Default::default() }).await);
    assert_eq!(
        got,
        expect(
            &|x| x.0.data.family_name.to_lowercase() == "smith" && x.0.data.given_name.to_lowercase().starts_with("jo")
        )
    );
    assert_eq!(got.len(), 2);
    // exact MRN (and not a prefix of one)
    let got = ids(all_pages(s, PatientQuery { text: Some("MRN-007".into()), ..Default::default() }).await);
    assert_eq!(got, vec![patients[7].0.id.clone()]);
    assert!(
        s.search_patients(&PatientQuery { text: Some("MRN-00".into()), ..Default::default() })
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // site
    let got = ids(all_pages(s, PatientQuery { site: Some("North".into()), limit: 2, ..Default::default() }).await);
    assert_eq!(got, expect(&|x| x.1 == "North"));
    // episode status: any of the patient's episodes
    for status in EpisodeStatus::ALL {
        let got =
            ids(all_pages(s, PatientQuery { episode_status: Some(*status), limit: 2, ..Default::default() }).await);
        let want = expect(&|x| x.2 == *status || (x.3 && *status == EpisodeStatus::FollowUp));
        assert_eq!(got, want, "{status}");
        assert!(!want.is_empty());
    }
    // WIfI stage
    for stage in 1..=4u8 {
        let got = all_pages(s, PatientQuery { wifi_stage: Some(stage), limit: 2, ..Default::default() }).await;
        assert!(got.iter().all(|x| x.latest_wifi_stage == Some(stage)));
        assert_eq!(ids(got), expect(&|x| x.4 == stage), "stage {stage}");
    }
    // aetiology: any of the patient's episodes, alone, with a facet, and on the MRN branch
    let aetiology = |a: Aetiology| PatientQuery { aetiology: Some(a), limit: 3, ..Default::default() };
    assert_eq!(ids(all_pages(s, aetiology(Aetiology::Clti)).await), expect(&|_| true));
    assert_eq!(ids(all_pages(s, aetiology(Aetiology::DiabeticFoot)).await), expect(&|x| x.3));
    assert!(ids(all_pages(s, aetiology(Aetiology::Venous)).await).is_empty());
    let north_diabetic = PatientQuery { site: Some("North".into()), ..aetiology(Aetiology::DiabeticFoot) };
    assert_eq!(ids(all_pages(s, north_diabetic).await), expect(&|x| x.3 && x.1 == "North"));
    for (mrn, found) in [("MRN-004", true), ("MRN-003", false)] {
        let q = PatientQuery { text: Some(mrn.into()), ..aetiology(Aetiology::DiabeticFoot) };
        assert_eq!(ids(all_pages(s, q).await).len(), usize::from(found), "{mrn}");
    }
    // everything at once
    let q = PatientQuery {
        text: Some("smith".into()),
        site: Some("South".into()),
        episode_status: Some(EpisodeStatus::Evaluation),
        wifi_stage: Some(2),
        aetiology: Some(Aetiology::Clti),
        overdue_on: None,
        limit: 1,
        cursor: None,
    };
    let got = ids(all_pages(s, q).await);
    let want = expect(&|x| {
        x.0.data.family_name.to_lowercase().starts_with("smith")
            && x.1 == "South"
            && x.2 == EpisodeStatus::Evaluation
            && x.4 == 2
    });
    assert_eq!(got, want);
    // the summary carries what it was filtered on
    let one = search_one(s, &patients[0].0.id).await;
    assert_eq!(one.episode_statuses, vec![EpisodeStatus::Referred, EpisodeStatus::FollowUp]);
    assert_eq!(one.latest_wifi_stage, Some(1));

    // bad queries are refused
    let bad = |q: PatientQuery| async move { invalid_field(s.search_patients(&q).await.unwrap_err()) };
    assert_eq!(bad(PatientQuery { limit: 0, ..Default::default() }).await, "limit");
    assert_eq!(bad(PatientQuery { wifi_stage: Some(6), ..Default::default() }).await, "wifi_stage");
    assert_eq!(bad(PatientQuery { cursor: Some("x".into()), ..Default::default() }).await, "cursor");
    assert_eq!(bad(PatientQuery { cursor: Some(unknown_id()), ..Default::default() }).await, "cursor");
    // text that looks like SQL is only text
    let q = PatientQuery { text: Some("' OR 1=1 --".into()), ..Default::default() };
    assert!(s.search_patients(&q).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn episode_status_flags_follow_every_episode_write() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (pid, l, e) = chain(s, "MRN-1", EpisodeStatus::Referred).await;
    let pid = &pid;
    let find = |status| async move {
        let q = PatientQuery { episode_status: Some(status), ..Default::default() };
        s.search_patients(&q).await.unwrap().items.iter().any(|x| &x.patient.id == pid)
    };
    assert!(find(EpisodeStatus::Referred).await);
    assert!(!find(EpisodeStatus::Treatment).await);
    s.update_episode(&e, 1, episode(&l, EpisodeStatus::Treatment)).await.unwrap();
    assert!(!find(EpisodeStatus::Referred).await);
    assert!(find(EpisodeStatus::Treatment).await);
    let second = s.create_episode(episode(&l, EpisodeStatus::Referred)).await.unwrap();
    assert!(find(EpisodeStatus::Referred).await && find(EpisodeStatus::Treatment).await);
    s.update_episode(&second.id, 1, episode(&l, EpisodeStatus::Closed)).await.unwrap();
    s.update_episode(&e, 2, episode(&l, EpisodeStatus::Closed)).await.unwrap();
    assert!(!find(EpisodeStatus::Referred).await && !find(EpisodeStatus::Treatment).await);
    assert!(find(EpisodeStatus::Closed).await);
}

/// The rows of the search index for one patient, read directly.
async fn search_rows(s: &Store, patient_id: &str) -> Vec<(String, String, String)> {
    let sql = "SELECT facet, family_key, given_key FROM patient_search WHERE patient_id = $1 ORDER BY facet";
    let mut rows: Vec<(String, String, String)> = match s {
        Store::Sqlite(p) => sqlx::query_as(sql).bind(patient_id).fetch_all(&p.write).await.unwrap(),
        Store::Postgres(p) => sqlx::query_as(sql).bind(patient_id).fetch_all(p).await.unwrap(),
    };
    rows.sort();
    rows
}

#[tokio::test]
async fn the_search_index_follows_names_sites_statuses_and_stages() {
    let db = TestDb::new().await;
    let s = &db.store;
    let found = |q: PatientQuery| async move {
        s.search_patients(&q).await.unwrap().items.into_iter().map(|x| x.patient.id).collect::<Vec<_>>()
    };
    // a site whose name looks like another facet does not collide with it
    let tricky = PatientData { site: "North|treatment|4".into(), ..patient("MRN-1", "Doe", "Jane") };
    let p = s.create_patient(tricky.clone()).await.unwrap();
    assert_eq!(search_rows(s, &p.id).await.len(), 1, "a new patient is findable by site");
    let l = s.create_limb(limb(&p.id)).await.unwrap();
    let e = s.create_episode(episode(&l.id, EpisodeStatus::Treatment)).await.unwrap();
    s.create_assessment(assessment(&e.id, date!(2025 - 01 - 12), 4)).await.unwrap();
    assert_eq!(
        search_rows(s, &p.id).await.len(),
        7 + 8,
        "site x status x stage, less 'any, any, any', and the same again with the episode's aetiology"
    );
    let q = |site: Option<&str>, status, stage, text: Option<&str>| PatientQuery {
        site: site.map(str::to_owned),
        episode_status: status,
        wifi_stage: stage,
        text: text.map(str::to_owned),
        ..Default::default()
    };
    let treatment = Some(EpisodeStatus::Treatment);
    assert_eq!(found(q(Some("North|treatment|4"), treatment, Some(4), Some("do"))).await, vec![p.id.clone()]);
    assert!(found(q(Some("North"), treatment, Some(4), None)).await.is_empty());

    // a new name, a new site: found under the new ones only
    let renamed = PatientData { family_name: "Roe".into(), site: "South".into(), ..tricky };
    s.update_patient(&p.id, 1, renamed).await.unwrap();
    assert_eq!(found(q(Some("South"), treatment, None, Some("ro"))).await, vec![p.id.clone()]);
    assert!(found(q(Some("North|treatment|4"), None, None, None)).await.is_empty());
    assert!(found(q(None, treatment, None, Some("do"))).await.is_empty());
    assert!(search_rows(s, &p.id).await.iter().all(|(_, f, _)| f == "roe"));

    // a second episode adds its status; closing both leaves only closed
    let e2 = s.create_episode(episode(&l.id, EpisodeStatus::Referred)).await.unwrap();
    assert_eq!(search_rows(s, &p.id).await.len(), 11 + 12);
    assert_eq!(found(q(None, Some(EpisodeStatus::Referred), Some(4), None)).await, vec![p.id.clone()]);
    s.update_episode(&e.id, 1, episode(&l.id, EpisodeStatus::Closed)).await.unwrap();
    s.update_episode(&e2.id, 1, episode(&l.id, EpisodeStatus::Closed)).await.unwrap();
    assert!(found(q(None, treatment, None, None)).await.is_empty());
    assert_eq!(found(q(Some("South"), Some(EpisodeStatus::Closed), Some(4), None)).await, vec![p.id.clone()]);
    // a later assessment moves the stage
    s.create_assessment(assessment(&e.id, date!(2025 - 02 - 12), 2)).await.unwrap();
    assert!(found(q(None, None, Some(4), None)).await.is_empty());
    assert_eq!(found(q(None, Some(EpisodeStatus::Closed), Some(2), None)).await, vec![p.id.clone()]);
    assert_eq!(search_rows(s, &p.id).await.len(), 7 + 8);
    // a new aetiology adds its rows; the old one's stay while an episode has it
    let trauma = |status| EpisodeData { aetiology: Aetiology::Trauma, ..episode(&l.id, status) };
    let e3 = s.create_episode(trauma(EpisodeStatus::Closed)).await.unwrap();
    assert_eq!(search_rows(s, &p.id).await.len(), 7 + 8 + 8);
    let aet = |a: Aetiology, status| PatientQuery { aetiology: Some(a), episode_status: status, ..Default::default() };
    assert_eq!(found(aet(Aetiology::Trauma, Some(EpisodeStatus::Closed))).await, vec![p.id.clone()]);
    assert_eq!(found(aet(Aetiology::Clti, None)).await, vec![p.id.clone()]);
    s.update_episode(&e3.id, 1, trauma(EpisodeStatus::Referred)).await.unwrap();
    assert_eq!(found(aet(Aetiology::Trauma, Some(EpisodeStatus::Referred))).await, vec![p.id.clone()]);
    assert!(found(aet(Aetiology::Venous, None)).await.is_empty());
    // Facets combine per patient, not per episode: as with status and stage,
    // "trauma and closed" matches a patient with a trauma episode and a closed one.
    assert_eq!(found(aet(Aetiology::Trauma, Some(EpisodeStatus::Closed))).await, vec![p.id.clone()]);

    // a bulk-loaded record gets exactly the rows the API would have built
    let r = record("MRN-2", "Bulk", "Loaded");
    s.insert_patient_record(&r).await.unwrap();
    let bulk_id = r.patient.as_ref().unwrap().id.clone();
    let bulk_rows = search_rows(s, &bulk_id).await;
    let (api_id, api_limb, api_episode) = {
        let p = s.create_patient(patient("MRN-3", "Bulk", "Loaded")).await.unwrap();
        let l = s.create_limb(limb(&p.id)).await.unwrap();
        let e = s.create_episode(episode(&l.id, EpisodeStatus::Treatment)).await.unwrap();
        (p.id, l.id, e.id)
    };
    let _ = api_limb;
    s.create_assessment(assessment(&api_episode, date!(2025 - 01 - 12), 4)).await.unwrap();
    s.create_assessment(assessment(&api_episode, date!(2025 - 02 - 12), 2)).await.unwrap();
    assert_eq!(bulk_rows, search_rows(s, &api_id).await);
    assert_eq!(bulk_rows.len(), 7 + 8);
}

/// (patient id, search key) and (facet, family key, given key, patient id) rows.
type SearchIndex = (Vec<(String, Option<String>)>, Vec<(String, String, String, String)>);

/// Every patient's search key and search rows, read directly.
async fn search_index(s: &Store) -> SearchIndex {
    let keys = "SELECT id, search_key FROM patients ORDER BY id";
    let rows = "SELECT facet, family_key, given_key, patient_id FROM patient_search";
    let (keys, mut rows): SearchIndex = match s {
        Store::Sqlite(p) => (
            sqlx::query_as(keys).fetch_all(&p.write).await.unwrap(),
            sqlx::query_as(rows).fetch_all(&p.write).await.unwrap(),
        ),
        Store::Postgres(p) => {
            (sqlx::query_as(keys).fetch_all(p).await.unwrap(), sqlx::query_as(rows).fetch_all(p).await.unwrap())
        }
    };
    rows.sort();
    (keys, rows)
}

#[tokio::test]
async fn migration_0005_backfills_exactly_the_aetiology_rows_and_keys_the_store_builds() {
    let db = TestDb::new().await;
    let s = &db.store;
    // patients as the store builds them: no episode, one, several aetiologies
    // and statuses, with and without a stage, at two sites
    s.create_patient(patient("MIG-0", "Alone", "Nobody")).await.unwrap();
    let (_, l1, e1) = chain(s, "MIG-1", EpisodeStatus::Treatment).await;
    s.create_assessment(assessment(&e1, date!(2025 - 01 - 12), 3)).await.unwrap();
    let trauma = EpisodeData { aetiology: Aetiology::Trauma, ..episode(&l1, EpisodeStatus::Closed) };
    s.create_episode(trauma).await.unwrap();
    let p2 = s.create_patient(PatientData { site: "South".into(), ..patient("MIG-2", "Second", "Pat") }).await.unwrap();
    let l2 = s.create_limb(limb(&p2.id)).await.unwrap();
    let lld = EpisodeData { aetiology: Aetiology::LimbLengthDiscrepancy, ..episode(&l2.id, EpisodeStatus::Referred) };
    s.create_episode(lld).await.unwrap();
    let built = search_index(s).await;
    assert!(built.1.iter().any(|r| r.0.ends_with("\u{1f}limb_length_discrepancy")));

    // Back to what migration 0004 left: three-component facets, five-part keys.
    let sep = |t: &str| t.matches('\u{1f}').count();
    for (facet, family, given, id) in built.1.iter().filter(|r| sep(&r.0) == 3) {
        let sql =
            "DELETE FROM patient_search WHERE facet = $1 AND family_key = $2 AND given_key = $3 AND patient_id = $4";
        match s {
            Store::Sqlite(p) => {
                sqlx::query(sql).bind(facet).bind(family).bind(given).bind(id).execute(&p.write).await.unwrap();
            }
            Store::Postgres(p) => {
                sqlx::query(sql).bind(facet).bind(family).bind(given).bind(id).execute(p).await.unwrap();
            }
        }
    }
    for (id, key) in &built.0 {
        let key = key.as_deref().unwrap();
        let old = &key[..key.rfind('\u{1f}').unwrap()];
        let sql = "UPDATE patients SET search_key = $2 WHERE id = $1";
        match s {
            Store::Sqlite(p) => {
                sqlx::query(sql).bind(id).bind(old).execute(&p.write).await.unwrap();
            }
            Store::Postgres(p) => {
                sqlx::query(sql).bind(id).bind(old).execute(p).await.unwrap();
            }
        }
    }
    assert_ne!(search_index(s).await, built);

    // The migration's backfill statements (its index already exists here).
    let migration = match crate::ENGINE {
        harness::Engine::Sqlite => include_str!("../../migrations/sqlite/0005_search_gaps.sql"),
        harness::Engine::Postgres => include_str!("../../migrations/postgres/0005_search_gaps.sql"),
    };
    let statements: Vec<String> = migration
        .split(";\n")
        .map(|st| {
            st.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n").trim().to_owned()
        })
        .filter(|st| st.starts_with("INSERT") || st.starts_with("UPDATE"))
        .collect();
    assert_eq!(statements.len(), 2, "{statements:?}");
    for st in &statements {
        execute_raw(s, st).await.unwrap();
    }
    assert_eq!(search_index(s).await, built);
}

#[tokio::test]
async fn concurrent_writes_to_one_patient_keep_the_search_columns_whole() {
    let db = TestDb::new().await;
    let s = &db.store;
    let p = s.create_patient(patient("MRN-1", "Busy", "Patient")).await.unwrap();
    let left = s.create_limb(limb(&p.id)).await.unwrap();
    let right = s.create_limb(LimbData { side: Side::Right, ..limb(&p.id) }).await.unwrap();
    // one episode per status, created at once from separate tasks (and so
    // separate connections), each recomputing the patient's flags
    let mut tasks = Vec::new();
    for (i, status) in EpisodeStatus::ALL.iter().enumerate() {
        let s = s.clone();
        let limb_id = if i % 2 == 0 { left.id.clone() } else { right.id.clone() };
        let status = *status;
        tasks.push(tokio::spawn(async move { s.create_episode(episode(&limb_id, status)).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(search_one(s, &p.id).await.episode_statuses, EpisodeStatus::ALL.to_vec());
    assert_eq!(
        search_rows(s, &p.id).await.len(),
        2 * 6 - 1 + 2 * 6,
        "site x (any + 5 statuses), no stage, x aetiology"
    );
}

// ---------------------------------------------------------------------------
// Whole records
// ---------------------------------------------------------------------------

/// Lists compared as sets of ids would hide a lost field; compare whole
/// records, each list in id order.
fn sorted(mut r: PatientRecord) -> PatientRecord {
    r.limbs.sort_by(|a, b| a.id.cmp(&b.id));
    r.episodes.sort_by(|a, b| a.id.cmp(&b.id));
    r.assessments.sort_by(|a, b| a.stored.id.cmp(&b.stored.id));
    r.wounds.sort_by(|a, b| a.id.cmp(&b.id));
    r.wound_measurements.sort_by(|a, b| a.id.cmp(&b.id));
    r.vascular_studies.sort_by(|a, b| a.id.cmp(&b.id));
    r.imaging_studies.sort_by(|a, b| a.id.cmp(&b.id));
    r.procedures.sort_by(|a, b| a.id.cmp(&b.id));
    r.outcome_events.sort_by(|a, b| a.id.cmp(&b.id));
    r.consents.sort_by(|a, b| a.id.cmp(&b.id));
    r.care_team.sort_by(|a, b| a.id.cmp(&b.id));
    r
}

#[tokio::test]
async fn a_whole_record_is_inserted_in_one_piece_and_read_back_whole() {
    let db = TestDb::new().await;
    let s = &db.store;
    let r = record("MRN-1", "Whole", "Record");
    s.insert_patient_record(&r).await.unwrap();
    let pid = r.patient.as_ref().unwrap().id.clone();
    let back = s.get_patient_record(&pid).await.unwrap();
    assert_eq!(sorted(back), sorted(r.clone()));
    // the search columns were computed: the latest assessment (Feb, stage 2)
    let summary = search_one(s, &pid).await;
    assert_eq!(summary.latest_wifi_stage, Some(2));
    assert_eq!(summary.episode_statuses, vec![EpisodeStatus::Treatment]);
    // and the loaded records behave like any other: versions, updates, lists
    let e = &r.episodes[0];
    s.update_episode(&e.id, 1, EpisodeData { status: EpisodeStatus::FollowUp, ..e.data.clone() }).await.unwrap();
    assert_eq!(search_one(s, &pid).await.episode_statuses, vec![EpisodeStatus::FollowUp]);
    assert_eq!(s.list_assessments(&e.id, None, 10).await.unwrap().items.len(), 2);

    let e = s.get_patient_record(&unknown_id()).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { entity: "patient", .. }), "{e:?}");

    // a batch of records in one transaction
    let batch: Vec<PatientRecord> = (0..40).map(|i| record(&format!("B-{i}"), "Batch", &format!("P{i}"))).collect();
    let rows = s.insert_patient_records(&batch).await.unwrap();
    assert_eq!(rows, 40 * 14);
    assert_eq!(count(s, "patients").await, 41);
    assert_eq!(count(s, "wound_measurements").await, 82);
    let q = PatientQuery { text: Some("batch".into()), limit: 7, ..Default::default() };
    assert_eq!(all_pages(s, q).await.len(), 40);
}

#[tokio::test]
async fn a_bad_part_of_a_record_rolls_back_the_whole_record() {
    let db = TestDb::new().await;
    let s = &db.store;
    s.insert_patient_record(&record("MRN-0", "Existing", "Record")).await.unwrap();
    let before = counts(s).await;

    // refused before the database: an invalid child, named
    let mut r = record("MRN-1", "Bad", "Child");
    r.episodes[0].data.status = EpisodeStatus::Closed;
    r.episodes[0].data.closed_on = None;
    assert_eq!(invalid_field(s.insert_patient_record(&r).await.unwrap_err()), "episodes[0].closed_on");
    let mut r = record("MRN-1", "Bad", "Findings");
    r.assessments[1].stored.data.findings = json!({"wound_grade": 9}).into();
    assert_eq!(invalid_field(s.insert_patient_record(&r).await.unwrap_err()), "assessments[1].findings.wound_grade");
    // a child naming a parent outside the record
    let mut r = record("MRN-1", "Orphan", "Child");
    r.wounds[0].data.episode_id = unknown_id();
    assert_eq!(invalid_field(s.insert_patient_record(&r).await.unwrap_err()), "wounds[0].episode_id");
    let mut r = record("MRN-1", "No", "Patient");
    r.patient = None;
    assert_eq!(invalid_field(s.insert_patient_record(&r).await.unwrap_err()), "patient");
    let mut r = record("MRN-1", "Bad", "Version");
    r.consents[0].version = 0;
    assert_eq!(invalid_field(s.insert_patient_record(&r).await.unwrap_err()), "consents[0].version");

    // refused by the database half-way: a child whose id is taken, after the
    // patient, limb and episodes were inserted; the transaction rolls back
    let existing = s.search_patients(&PatientQuery { text: Some("MRN-0".into()), ..Default::default() }).await.unwrap();
    let existing = s.get_patient_record(&existing.items[0].patient.id).await.unwrap();
    let mut r = record("MRN-1", "Late", "Collision");
    r.consents[0].id = existing.consents[0].id.clone();
    let e = s.insert_patient_record(&r).await.unwrap_err();
    assert!(matches!(e, StoreError::Duplicate { field: "id", .. }), "{e:?}");
    // a care team member naming a user that does not exist
    let mut r = record("MRN-1", "Unknown", "User");
    r.care_team[0].data.user_id = Some(unknown_id());
    let e = s.insert_patient_record(&r).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { entity: "user", .. }), "{e:?}");
    assert_eq!(counts(s).await, before);

    // a batch whose last record's MRN is taken: none of the batch is stored
    let mut batch: Vec<PatientRecord> = (0..5).map(|i| record(&format!("B-{i}"), "Batch", "P")).collect();
    batch.push(record("MRN-0", "Taken", "Mrn"));
    let e = s.insert_patient_records(&batch).await.unwrap_err();
    assert!(matches!(&e, StoreError::Duplicate { field: "mrn", value } if value.contains("MRN-0")), "{e:?}");
    // and two records with one MRN in a batch are refused up front, naming the record
    let batch = vec![record("D-1", "A", "A"), record("D-1", "B", "B")];
    assert_eq!(invalid_field(s.insert_patient_records(&batch).await.unwrap_err()), "records[1].patient.mrn");
    assert_eq!(counts(s).await, before);
}

// ---------------------------------------------------------------------------
// Users, logins, sessions
// ---------------------------------------------------------------------------

#[tokio::test]
async fn users_have_argon2id_hashes_and_checked_passwords() {
    let db = TestDb::new().await;
    let s = &db.store;
    assert_eq!(s.count_users().await.unwrap(), 0);
    let u = s.create_user(user("Dr.Lee", Role::Clinician), PASSWORD).await.unwrap();
    assert_eq!(s.get_user(&u.id).await.unwrap(), u);
    assert_eq!(s.count_users().await.unwrap(), 1);
    let hash: String = match s {
        Store::Sqlite(p) => sqlx::query_scalar("SELECT password_hash FROM users").fetch_one(&p.write).await.unwrap(),
        Store::Postgres(p) => sqlx::query_scalar("SELECT password_hash FROM users").fetch_one(p).await.unwrap(),
    };
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));

    // the policy, names taken case-insensitively, patient accounts
    assert_eq!(invalid_field(s.create_user(user("weak", Role::Analyst), "short").await.unwrap_err()), "password");
    assert_eq!(invalid_field(s.create_user(user("has space", Role::Analyst), PASSWORD).await.unwrap_err()), "username");
    let e = s.create_user(user("dr.lee", Role::Admin), PASSWORD).await.unwrap_err();
    assert!(matches!(e, StoreError::Duplicate { field: "username", .. }), "{e:?}");
    let orphan = UserData { patient_id: Some(unknown_id()), ..user("pat", Role::Patient) };
    let e = s.create_user(orphan, PASSWORD).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { entity: "patient", field: Some("patient_id"), .. }), "{e:?}");
    let p = s.create_patient(patient("MRN-1", "Doe", "Jane")).await.unwrap();
    let pat = s
        .create_user(UserData { patient_id: Some(p.id.clone()), ..user("pat", Role::Patient) }, PASSWORD)
        .await
        .unwrap();
    assert_eq!(s.count_users().await.unwrap(), 2);

    // logins
    match s.verify_login("DR.LEE", PASSWORD, Some("10.0.0.1")).await.unwrap() {
        LoginOutcome::Success(who) => assert_eq!(who, u),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.verify_login("dr.lee", "wrong password!!", None).await.unwrap(), LoginOutcome::BadCredentials);
    assert_eq!(s.verify_login("nobody", PASSWORD, None).await.unwrap(), LoginOutcome::BadCredentials);
    assert_eq!(s.verify_login("", PASSWORD, None).await.unwrap(), LoginOutcome::BadCredentials);

    // updates: optimistic, and a new password ends the user's sessions
    let renamed =
        s.update_user(&pat.id, 1, UserData { display_name: "Jane D".into(), ..pat.data.clone() }).await.unwrap();
    assert_eq!(renamed.version, 2);
    let e = s.update_user(&pat.id, 1, pat.data.clone()).await.unwrap_err();
    assert!(matches!(e, StoreError::VersionConflict { current: 2, .. }), "{e:?}");
    let session = s.create_session(&u.id, Duration::from_secs(3600)).await.unwrap();
    assert!(s.session_user(&session.token, None).await.unwrap().is_some());
    assert_eq!(invalid_field(s.set_password(&u.id, 1, "u").await.unwrap_err()), "password");
    let u2 = s.set_password(&u.id, 1, "another long passphrase").await.unwrap();
    assert_eq!(u2.version, 2);
    assert!(s.session_user(&session.token, None).await.unwrap().is_none(), "sessions end with a new password");
    assert_eq!(s.verify_login("dr.lee", PASSWORD, None).await.unwrap(), LoginOutcome::BadCredentials);
    assert!(matches!(
        s.verify_login("dr.lee", "another long passphrase", None).await.unwrap(),
        LoginOutcome::Success(_)
    ));

    let page1 = s.list_users(None, 1).await.unwrap();
    let page2 = s.list_users(page1.next_cursor.as_deref(), 1).await.unwrap();
    assert_eq!(page2.next_cursor, None);
    let listed: HashSet<String> = page1.items.iter().chain(&page2.items).map(|x| x.id.clone()).collect();
    assert_eq!(listed, HashSet::from([u.id.clone(), pat.id.clone()]));
}

/// Replace every stored hash of [`PASSWORD`] with an Argon2id hash of it at
/// the lowest cost (verification reads the cost from the hash), so that tests
/// making many login attempts stay fast in debug builds.
async fn cheapen_password_hashes(s: &Store) {
    use argon2::password_hash::PasswordHasher;
    let params = argon2::Params::new(8, 1, 1, None).unwrap();
    let cheap = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(PASSWORD.as_bytes())
        .unwrap()
        .to_string();
    assert!(cheap.starts_with("$argon2id$") && !cheap.contains('\''));
    execute_raw(s, &format!("UPDATE users SET password_hash = '{cheap}'")).await.unwrap();
}

#[tokio::test]
async fn five_failed_logins_lock_the_username_for_fifteen_minutes() {
    let db = TestDb::new().await;
    let s = &db.store;
    s.create_user(user("dr.lee", Role::Clinician), PASSWORD).await.unwrap();
    s.create_user(user("dr.kim", Role::Clinician), PASSWORD).await.unwrap();
    cheapen_password_hashes(s).await;
    for i in 1..LOCKOUT_FAILURES {
        assert_eq!(
            s.verify_login("dr.lee", "wrong password!!", Some("10.0.0.9")).await.unwrap(),
            LoginOutcome::BadCredentials,
            "failure {i}"
        );
    }
    let locked = s.verify_login("Dr.Lee", "wrong password!!", None).await.unwrap();
    let LoginOutcome::Locked { until_ms } = locked else { panic!("the 5th failure locks: {locked:?}") };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!((until_ms - now - LOCKOUT_DURATION_MS).abs() < 60_000);
    // while locked, even the right password is refused, and attempts are not counted
    assert_eq!(s.verify_login("dr.lee", PASSWORD, None).await.unwrap(), LoginOutcome::Locked { until_ms });
    assert_eq!(count(s, "login_failures").await, 5);
    // other usernames are not affected
    assert!(matches!(s.verify_login("dr.kim", PASSWORD, None).await.unwrap(), LoginOutcome::Success(_)));
    // unknown usernames lock the same way (no telling which names exist)
    for _ in 0..LOCKOUT_FAILURES {
        s.verify_login("ghost", PASSWORD, None).await.unwrap();
    }
    assert!(matches!(s.verify_login("ghost", PASSWORD, None).await.unwrap(), LoginOutcome::Locked { .. }));

    // sixteen minutes later (moved in the database, which every process shares)
    execute_raw(s, "UPDATE login_failures SET at_ms = at_ms - 960000").await.unwrap();
    assert!(matches!(s.verify_login("dr.lee", PASSWORD, None).await.unwrap(), LoginOutcome::Success(_)));
    // success cleared the failures: four more do not lock
    for _ in 1..LOCKOUT_FAILURES {
        assert_eq!(s.verify_login("dr.lee", "wrong password!!", None).await.unwrap(), LoginOutcome::BadCredentials);
    }
    // five failures spread over more than fifteen minutes do not lock either
    execute_raw(s, "UPDATE login_failures SET at_ms = at_ms - 960000").await.unwrap();
    assert_eq!(s.verify_login("dr.lee", "wrong password!!", None).await.unwrap(), LoginOutcome::BadCredentials);
}

#[tokio::test]
async fn sessions_and_api_tokens_authenticate_until_they_end() {
    let db = TestDb::new().await;
    let s = &db.store;
    let u = s.create_user(user("dr.lee", Role::Coordinator), PASSWORD).await.unwrap();
    let session = s.create_session(&u.id, Duration::from_secs(8 * 3600)).await.unwrap();
    assert_eq!(session.token.len(), 64);
    assert_eq!(session.kind, TokenKind::Session);
    let (who, expires) = s.session_user(&session.token, None).await.unwrap().expect("a live session");
    assert_eq!(who, u);
    assert_eq!(expires, session.expires_at_ms);
    // only the SHA-256 is stored
    let stored: Vec<String> = match s {
        Store::Sqlite(p) => sqlx::query_scalar("SELECT token_hash FROM sessions").fetch_all(&p.write).await.unwrap(),
        Store::Postgres(p) => sqlx::query_scalar("SELECT token_hash FROM sessions").fetch_all(p).await.unwrap(),
    };
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], session.token);
    assert_eq!(stored[0].len(), 64);
    // a second session is another token
    let other = s.create_session(&u.id, Duration::from_secs(60)).await.unwrap();
    assert_ne!(other.token, session.token);

    let api = s.create_api_token(&u.id, "nightly export", Duration::from_secs(30 * 86400)).await.unwrap();
    assert_eq!(api.kind, TokenKind::ApiToken);
    assert_eq!(s.session_user(&api.token, None).await.unwrap().unwrap().0, u);
    assert_eq!(invalid_field(s.create_api_token(&u.id, "", Duration::from_secs(60)).await.unwrap_err()), "name");
    assert_eq!(invalid_field(s.create_session(&u.id, Duration::ZERO).await.unwrap_err()), "ttl");
    let e = s.create_session(&unknown_id(), Duration::from_secs(60)).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { entity: "user", .. }), "{e:?}");

    // logout
    assert!(s.delete_session(&session.token).await.unwrap());
    assert!(!s.delete_session(&session.token).await.unwrap());
    assert!(s.session_user(&session.token, None).await.unwrap().is_none());
    assert!(s.session_user(&api.token, None).await.unwrap().is_some());
    // expiry
    let brief = s.create_session(&u.id, Duration::from_millis(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(s.session_user(&brief.token, None).await.unwrap().is_none());
    assert!(s.purge_expired_sessions().await.unwrap() >= 1);
    // nonsense
    for t in ["", "abc", &"g".repeat(64), &unknown_id()] {
        assert!(s.session_user(t, None).await.unwrap().is_none(), "{t}");
    }
}

/// Each stored token's kind and when it was last seen, API tokens first (raw SQL: the store does not expose it).
async fn last_seen(s: &Store) -> Vec<(String, i64)> {
    let sql = "SELECT kind, last_seen_at_ms FROM sessions ORDER BY kind";
    match s {
        Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(&p.write).await.unwrap(),
        Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
    }
}

#[tokio::test]
async fn browser_sessions_end_when_idle_but_api_tokens_do_not() {
    let db = TestDb::new().await;
    let s = &db.store;
    let u = s.create_user(user("dr.lee", Role::Coordinator), PASSWORD).await.unwrap();
    let session = s.create_session(&u.id, Duration::from_secs(12 * 3600)).await.unwrap();
    let api = s.create_api_token(&u.id, "nightly export", Duration::from_secs(30 * 86400)).await.unwrap();
    let idle = Some(Duration::from_secs(30 * 60));
    let minute = 60_000;
    // Time is moved by moving `last_seen_at_ms` back, as the lockout test moves failures.
    let age = |minutes: i64| format!("UPDATE sessions SET last_seen_at_ms = last_seen_at_ms - {}", minutes * minute);

    // a fresh session is kept, and reading it does not write (last seen is younger than a minute)
    let before = last_seen(s).await;
    assert!(s.session_user(&session.token, idle).await.unwrap().is_some());
    assert_eq!(last_seen(s).await, before, "no write for a session seen within the last minute");

    // used within the idle limit: kept, and last seen moves forward to now
    execute_raw(s, &age(29)).await.unwrap();
    let t0 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!(s.session_user(&session.token, idle).await.unwrap().is_some());
    let seen = last_seen(s).await;
    assert_eq!(seen[1].0, "session");
    assert!(seen[1].1 >= t0, "touched: {seen:?} vs {t0}");
    // ... so another 29 minutes later it is still alive (58 minutes after creation)
    execute_raw(s, &age(29)).await.unwrap();
    assert!(s.session_user(&session.token, idle).await.unwrap().is_some());

    // unused for longer than the limit: refused, like an expired session
    execute_raw(s, &age(31)).await.unwrap();
    assert!(s.session_user(&session.token, idle).await.unwrap().is_none());
    assert!(s.session_user(&session.token, Some(Duration::from_secs(3600))).await.unwrap().is_some(), "a longer limit");
    execute_raw(s, &age(61)).await.unwrap();
    assert!(s.session_user(&session.token, idle).await.unwrap().is_none());
    assert!(s.session_user(&session.token, None).await.unwrap().is_some(), "no idle limit: only the lifetime counts");

    // an API token is never idle-limited: last used weeks ago, it still authenticates
    execute_raw(s, &age(3 * 7 * 24 * 60)).await.unwrap();
    assert_eq!(s.session_user(&api.token, idle).await.unwrap().unwrap().0, u);
    assert_eq!(last_seen(s).await[0].0, "api_token");
    assert!(last_seen(s).await[0].1 < t0 - 60 * minute, "API tokens are not written on use");
}

// ---------------------------------------------------------------------------
// Audit trail
// ---------------------------------------------------------------------------

fn entry(at_ms: i64, action: &str, patient_id: Option<&str>, outcome: AuditOutcome) -> AuditEntry {
    AuditEntry {
        at_ms,
        user_id: Some(unknown_id()),
        username: Some("dr.lee".into()),
        role: Some(Role::Clinician),
        action: action.into(),
        entity: Some("patient".into()),
        entity_id: patient_id.map(str::to_owned),
        patient_id: patient_id.map(str::to_owned),
        remote_addr: Some("192.0.2.7".into()),
        outcome,
        detail: String::new(),
    }
}

#[tokio::test]
async fn the_audit_trail_is_append_only_and_queryable_by_patient() {
    let db = TestDb::new().await;
    let s = &db.store;
    let a = unknown_id();
    let b = unknown_id();
    let t0 = 1_750_000_000_000;
    for i in 0..7 {
        s.append_audit(&entry(t0 + i, "read", Some(&a), AuditOutcome::Ok)).await.unwrap();
    }
    // a denied attempt on a patient, and entries without a patient
    let denied = AuditEntry {
        detail: "role analyst may not read records".into(),
        ..entry(t0 + 100, "read", Some(&a), AuditOutcome::Denied)
    };
    let denied_id = s.append_audit(&denied).await.unwrap();
    s.append_audit(&AuditEntry {
        user_id: None,
        username: Some("ghost\u{1b}[31m".into()),
        role: None,
        ..entry(t0, "login", None, AuditOutcome::Denied)
    })
    .await
    .unwrap();
    s.append_audit_batch(&[
        entry(t0 + 1, "update", Some(&b), AuditOutcome::Conflict),
        entry(t0 + 2, "read", Some(&b), AuditOutcome::NotFound),
    ])
    .await
    .unwrap();
    assert_eq!(s.count_audit().await.unwrap(), 11);

    // newest first, paged, every entry once
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..100 {
        let page = s.audit_for_patient(&a, cursor.as_deref(), 3).await.unwrap();
        seen.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8);
    assert_eq!(seen[0].id, denied_id);
    assert_eq!(seen[0].entry, denied);
    assert!(seen.windows(2).all(|w| w[0].entry.at_ms >= w[1].entry.at_ms));
    assert_eq!(seen.iter().map(|e| e.id).collect::<HashSet<_>>().len(), 8);
    assert_eq!(s.audit_for_patient(&b, None, 10).await.unwrap().items.len(), 2);
    let everything = s.list_audit(None, 100).await.unwrap();
    assert_eq!(everything.items.len(), 11);
    let ghost = everything.items.iter().find(|e| e.entry.action == "login").unwrap();
    assert_eq!(
        ghost.entry.username.as_deref(),
        Some("ghost\\u{1b}[31m"),
        "control characters are escaped, not refused"
    );

    // the database itself refuses to change or remove entries
    for sql in ["UPDATE audit SET outcome = 'ok'", "DELETE FROM audit", "UPDATE audit SET detail = '' WHERE id = 1"] {
        let e = execute_raw(s, sql).await.unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    if matches!(s, Store::Postgres(_)) {
        let e = execute_raw(s, "TRUNCATE audit").await.unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
    }
    assert_eq!(s.count_audit().await.unwrap(), 11);
    assert_eq!(s.audit_for_patient(&a, None, 100).await.unwrap().items, seen);

    // what the server controls is checked
    assert_eq!(
        invalid_field(s.append_audit(&entry(t0, "Read Patient", None, AuditOutcome::Ok)).await.unwrap_err()),
        "action"
    );
    assert_eq!(
        invalid_field(
            s.append_audit_batch(&[
                entry(t0, "read", None, AuditOutcome::Ok),
                entry(-1, "read", None, AuditOutcome::Ok)
            ])
            .await
            .unwrap_err()
        ),
        "at_ms"
    );
    assert_eq!(s.count_audit().await.unwrap(), 11, "a refused batch appends nothing");
    assert_eq!(invalid_field(s.audit_for_patient(&a, Some("x"), 10).await.unwrap_err()), "cursor");
}

#[tokio::test]
async fn the_audit_trail_writer_groups_concurrent_appends_and_answers_each_once_stored() {
    let db = TestDb::new().await;
    let trail = AuditTrail::start(db.store.clone());
    let t0 = 1_750_000_000_000;
    let patient = unknown_id();
    let mut appends = tokio::task::JoinSet::new();
    for i in 0..300 {
        let (trail, store, patient) = (trail.clone(), db.store.clone(), patient.clone());
        appends.spawn(async move {
            trail.append(&entry(t0 + i, "read", Some(&patient), AuditOutcome::Ok)).await.unwrap();
            // answered only once stored: this entry is visible now
            let page = store.audit_for_patient(&patient, None, MAX_PAGE).await.unwrap();
            assert!(page.items.iter().any(|e| e.entry.at_ms == t0 + i), "entry {i} answered before it was stored");
        });
    }
    // an entry the store refuses is refused alone, without failing the others
    let refused = trail.append(&entry(t0, "Not An Action", Some(&patient), AuditOutcome::Ok)).await.unwrap_err();
    assert_eq!(invalid_field(refused), "action");
    while let Some(done) = appends.join_next().await {
        done.unwrap();
    }
    assert_eq!(db.store.count_audit().await.unwrap(), 300);
    let stored = db.store.list_audit(None, MAX_PAGE).await.unwrap();
    assert_eq!(stored.items.iter().map(|e| e.entry.at_ms).collect::<HashSet<_>>().len(), stored.items.len());
}

#[tokio::test]
async fn records_are_created_and_read_with_the_patient_they_belong_to() {
    let db = TestDb::new().await;
    let s = &db.store;
    let p = s.create_owned(patient("OWN-1", "Owner", "Olive")).await.unwrap();
    assert_eq!(p.owner, p.record.id);
    let l = s.create_owned(limb(&p.record.id)).await.unwrap();
    let e = s.create_owned(episode(&l.record.id, EpisodeStatus::Treatment)).await.unwrap();
    let a = s.create_owned(assessment(&e.record.id, date!(2026 - 03 - 01), 3)).await.unwrap();
    let w = s.create_owned(wound(&e.record.id)).await.unwrap();
    let m = s.create_owned(measurement(&w.record.id, date!(2026 - 03 - 01), 2.0, 1.0, None)).await.unwrap();
    for owner in [&l.owner, &e.owner, &a.owner, &w.owner, &m.owner] {
        assert_eq!(owner, &p.record.id);
    }
    let read = s.get_owned::<AssessmentData>(&a.record.stored.id).await.unwrap();
    assert_eq!((read.owner.as_str(), &read.record), (p.record.id.as_str(), &a.record));
    let read = s.get_owned::<WoundMeasurementData>(&m.record.id).await.unwrap();
    assert_eq!((read.owner.as_str(), &read.record), (p.record.id.as_str(), &m.record));
    assert_eq!(s.get_owned::<PatientData>(&p.record.id).await.unwrap().record, p.record);
    assert!(matches!(s.get_owned::<LimbData>(&unknown_id()).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(s.get_owned::<LimbData>(&p.record.id).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(s.get_owned::<LimbData>("not an id").await, Err(StoreError::NotFound { .. })));
    // a create under a missing parent stores nothing and names the parent
    assert!(matches!(s.create_owned(limb(&unknown_id())).await, Err(StoreError::NotFound { .. })));
}

// ---------------------------------------------------------------------------
// Connection, health, durability
// ---------------------------------------------------------------------------

#[tokio::test]
async fn reconnecting_applies_no_migration_twice_and_the_database_is_healthy() {
    let db = TestDb::new().await;
    let s = &db.store;
    let p = s.create_patient(patient("MRN-1", "Doe", "Jane")).await.unwrap();
    s.health().await.unwrap();
    assert_eq!(s.integrity_check().await.unwrap(), Vec::<String>::new());
    let applied = count(s, "_sqlx_migrations").await;
    assert!(applied >= 2, "0001 and 0002 at least: {applied}");
    // a second process on the same database
    let again = Store::connect(&db.url).await.unwrap();
    assert_eq!(again.engine(), s.engine());
    assert_eq!(again.get_patient(&p.id).await.unwrap(), p);
    assert_eq!(count(&again, "_sqlx_migrations").await, applied, "no migration applied twice");
    again.analyze().await.unwrap();
    again.close().await;
    let e = again.health().await.unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "a closed pool is unavailable: {e:?}");

    // bad URLs are refused with the password hidden; unreachable servers are Unavailable
    let e = Store::connect("mysql://root:hunter2@localhost/x").await.unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert_eq!(invalid_field(e), "database_url");
    let unreachable = match crate::ENGINE {
        harness::Engine::Sqlite => {
            // the throwaway in-memory database works too (one connection, kept)
            let memory = Store::connect("sqlite::memory:").await.unwrap();
            let p = memory.create_patient(patient("MRN-1", "Doe", "Jane")).await.unwrap();
            let e = memory.create_limb(limb(&p.id)).await.unwrap();
            memory.create_episode(episode(&e.id, EpisodeStatus::Treatment)).await.unwrap();
            assert_eq!(memory.get_patient_record(&p.id).await.unwrap().episodes.len(), 1);
            Store::open_data_dir("/proc/limbpath-cannot-exist").await.unwrap_err()
        }
        harness::Engine::Postgres => Store::connect("postgres://postgres@127.0.0.1:1/none").await.unwrap_err(),
    };
    assert!(matches!(unreachable, StoreError::Unavailable(_)), "{unreachable:?}");
}

/// Commits reported by a writer process survive it being killed (SIGKILL)
/// mid-stream. The writer is this test binary run again as
/// `crash_writer_child` with `LIMBPATH_CRASH_DB` set.
#[tokio::test]
async fn committed_writes_survive_the_writer_being_killed() {
    use std::io::BufRead;
    let db = TestDb::new().await;
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args(["--exact", "suite::crash_writer_child", "--nocapture", "--include-ignored", "--test-threads=1"])
        .env("LIMBPATH_CRASH_DB", &db.url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(id) = line.strip_prefix("COMMITTED ")
                && tx.send(id.to_owned()).is_err()
            {
                break;
            }
        }
    });
    let mut committed = Vec::new();
    while committed.len() < 60 {
        let id = rx.recv_timeout(Duration::from_secs(60)).expect("the writer reports commits");
        committed.push(id);
    }
    child.kill().unwrap(); // SIGKILL on Unix: no destructors, no clean shutdown
    child.wait().unwrap();
    while let Ok(id) = rx.try_recv() {
        committed.push(id);
    }
    let s = Store::connect(&db.url).await.unwrap();
    assert_eq!(s.integrity_check().await.unwrap(), Vec::<String>::new());
    for id in &committed {
        let a = s.get_assessment(id).await.unwrap_or_else(|e| panic!("committed assessment {id} lost: {e}"));
        assert_eq!(a.derived.wifi_stage, Some(4));
    }
    assert!(count(&s, "assessments").await >= committed.len() as i64);
}

/// The writer of `committed_writes_survive_the_writer_being_killed`: does
/// nothing unless run by it.
#[tokio::test]
#[ignore = "run by committed_writes_survive_the_writer_being_killed"]
async fn crash_writer_child() {
    let Ok(url) = std::env::var("LIMBPATH_CRASH_DB") else { return };
    let s = Store::connect(&url).await.unwrap();
    let (_, _, e) = chain(&s, &format!("CRASH-{}", unknown_id()), EpisodeStatus::Treatment).await;
    loop {
        let a = s
            .create_assessment(AssessmentData {
                episode_id: e.clone(),
                assessed_on: date!(2025 - 01 - 12),
                findings: json!({"wound_grade": 2, "ischaemia_grade": 3, "infection_grade": 1}).into(),
            })
            .await
            .unwrap();
        println!("COMMITTED {}", a.stored.id);
    }
}

/// A caller cancelled while its transaction begins (an HTTP client that hung
/// up) leaves no transaction open on a pooled connection. sqlx 0.9.0 counts a
/// PostgreSQL transaction only once the server has answered `BEGIN`, so a
/// future dropped in between left the session inside a transaction nothing
/// rolled back, and the pool lent it out again: the next borrower's statements
/// ran inside it (in `http_load.py` a write failed with "cannot execute INSERT
/// in a read-only transaction"; an autocommitted write would have stayed
/// uncommitted). Cancelled at many points of a snapshot read and of a write,
/// then: every store call still works, and no connection is left idle inside a
/// transaction.
#[tokio::test]
async fn a_caller_cancelled_while_its_transaction_begins_leaves_no_transaction_open() {
    use sqlx::Connection;
    let db = TestDb::new().await;
    let s = &db.store;
    let (_, _, episode_id) = chain(s, "MRN-CANCEL", EpisodeStatus::Evaluation).await;
    // On PostgreSQL, a connection of its own sees the pool's sessions.
    let mut watcher = match crate::ENGINE {
        harness::Engine::Postgres => Some(sqlx::PgConnection::connect(&db.url).await.unwrap()),
        harness::Engine::Sqlite => None,
    };
    let mut left_open = Vec::new();
    // Calls go on until 100 of each kind were cancelled: how many a timeout
    // cuts off depends on the machine's speed (and tokio's timer counts whole
    // milliseconds), so a fixed number of calls cancelled too few on a fast one.
    let (mut cancelled, mut calls) = ([0; 2], 0u64);
    while cancelled.iter().any(|&c| c < 100) {
        assert!(calls < 6_000, "only {cancelled:?} reads and writes of {calls} were cancelled: the test needs more");
        let (i, write) = (calls / 2, calls % 2 == 1);
        calls += 1;
        // 0 to 1.5 ms in steps of 5 µs: some land inside each round trip.
        let wait = Duration::from_micros(i % 300 * 5);
        let call = async {
            if write {
                s.create_patient(patient(&format!("MRN-CANCEL-{i}"), "Cancel", "Test")).await.map(drop)
            } else {
                s.episode_snapshot(&episode_id).await.map(drop)
            }
        };
        cancelled[usize::from(write)] += usize::from(tokio::time::timeout(wait, call).await.is_err());
        // The pool takes a dropped caller's connection back, and sends the
        // rollback of a dropped transaction, in a task of its own: on a busy
        // machine (CI runs the suites side by side) that can take a while. A
        // session still inside a transaction after 2 s was left there.
        tokio::time::sleep(Duration::from_millis(5)).await;
        if let Some(conn) = watcher.as_mut() {
            for waited in 0.. {
                let open: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'",
                )
                .fetch_one(&mut *conn)
                .await
                .unwrap();
                if open == 0 {
                    break;
                }
                if waited == 200 {
                    left_open.push((i, if write { "create_patient" } else { "episode_snapshot" }));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    assert_eq!(left_open, vec![], "calls cancelled at (step, call) left a pooled connection inside a transaction");
    // And every call still works on every pooled connection.
    for i in 0..40 {
        s.create_patient(patient(&format!("MRN-AFTER-{i}"), "After", "Cancel")).await.unwrap();
        s.episode_snapshot(&episode_id).await.unwrap();
    }
    if let Some(conn) = watcher {
        conn.close().await.unwrap();
    }
}

mod visits;
