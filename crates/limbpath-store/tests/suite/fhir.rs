//! FHIR import into the store (issue 8): idempotent, all or nothing, nothing
//! dropped, and LimbPath's own export coming back as the same record.

use super::harness::{TestDb, count};
use limbpath_fhir::{BundleKind, bundle, export_patient, exportable, import_bundle, import_ndjson, ndjson};
use limbpath_record::PatientRecord;
use limbpath_store::*;
use std::path::PathBuf;

/// (file, Condition count, Observation count, entries), as counted by the
/// fhir crate's tests (Python's json module).
const SAMPLES: [(&str, usize, usize, usize); 5] = [
    ("Almeda_Conn_67e13ece-8aed-46fa-ab6c-673137d5460e.json", 17, 233, 485),
    ("Dirk_Kuhlman_1e503533-b8c2-42cb-a6d5-bbd7d70d07ad.json", 18, 266, 419),
    ("Emery_Purdy_298c62e6-b204-4a14-8e21-73d5be0ce22e.json", 11, 190, 303),
    ("Morris_Lockman_cd9e9826-aea1-4682-adc0-c1d97633bf31.json", 9, 149, 237),
    ("Renato_Dare_f07e9b1d-9cc7-465e-8abc-94e84793d1fb.json", 10, 118, 218),
];

fn synthea(name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../limbpath-fhir/tests/synthea");
    std::fs::read_to_string(dir.join(name)).unwrap()
}

async fn fhir_counts(s: &Store) -> (i64, i64, i64, i64) {
    (
        count(s, "fhir_resources").await,
        count(s, "fhir_patients").await,
        count(s, "patients").await,
        count(s, "limbs").await,
    )
}

#[tokio::test]
async fn synthea_bundles_import_with_their_conditions_and_observations_once() {
    let db = TestDb::new().await;
    let s = &db.store;
    let mut total = 0;
    for (name, conditions, observations, entries) in SAMPLES {
        let text = synthea(name);
        let summary = s.import_fhir(&import_bundle(&text, "synthea").unwrap()).await.unwrap();
        assert_eq!(summary.resources, entries as u64, "{name}");
        assert_eq!(summary.stored + summary.already_imported, entries as u64, "{name}");
        total += summary.stored;
        assert_eq!(summary.patients.len(), 1);
        let p = &summary.patients[0];
        // Synthea does not say how the patient walks: a LimbPath patient whose
        // ambulatory status is not recorded (not a guessed one)
        assert_eq!(p.outcome, PatientOutcome::Created, "{name}");
        let patient = s.get_patient(p.patient_id.as_deref().unwrap()).await.unwrap();
        assert_eq!(patient.data.ambulatory_status, limbpath_record::AmbulatoryStatus::NotRecorded, "{name}");
        assert_eq!(patient.data.diabetes, limbpath_record::DiabetesStatus::Type2, "{name}");

        let kept = s.fhir_patient(&p.fhir_patient_id).await.unwrap();
        assert_eq!(kept.facts["diabetes"], "type_2", "{name}");
        assert!(kept.facts["hba1c_percent"].as_f64().is_some(), "{name}");
        let res = s.fhir_resources_of(&p.fhir_patient_id).await.unwrap();
        let conds: Vec<&FhirResource> = res.iter().filter(|r| r.resource_type == "Condition").collect();
        assert_eq!(conds.len(), conditions, "{name}: every Condition kept");
        let neuropathy: Vec<_> =
            conds.iter().filter(|c| c.code.as_deref() == Some("http://snomed.info/sct|368581000119106")).collect();
        assert_eq!(neuropathy.len(), 1, "{name}");
        assert_eq!(neuropathy[0].mapped_as.as_deref(), Some("diabetic_neuropathy_type2"));
        assert!(neuropathy[0].json.as_deref().unwrap().contains("368581000119106"));
        assert!(conds.iter().any(|c| c.mapped_as.as_deref() == Some("diabetes_type2")), "{name}");
        let obs: Vec<&FhirResource> = res.iter().filter(|r| r.resource_type == "Observation").collect();
        assert_eq!(obs.len(), observations, "{name}: every Observation kept");
        assert!(obs.iter().any(|o| o.mapped_as.as_deref() == Some("hba1c")
            && o.code.as_deref() == Some("http://loinc.org|4548-4")
            && o.effective.is_some()));
        // the original JSON of every patient resource is there
        assert!(res.iter().all(|r| r.json.as_deref().is_some_and(|j| j.starts_with('{'))));
    }
    assert_eq!(count(s, "fhir_resources").await as u64, total);

    // importing everything again changes nothing
    let before = fhir_counts(s).await;
    for (name, ..) in SAMPLES {
        let summary = s.import_fhir(&import_bundle(&synthea(name), "synthea").unwrap()).await.unwrap();
        assert_eq!(summary.stored, 0, "{name}");
        assert_eq!(summary.patients[0].outcome, PatientOutcome::AlreadyImported);
    }
    assert_eq!(fhir_counts(s).await, before);
    assert_eq!(before.2, 5, "five LimbPath patients");
}

#[tokio::test]
async fn what_came_with_a_patient_is_listed_newest_first_with_its_source_and_bounded() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (name, conditions, observations, _) = SAMPLES[1];
    let summary = s.import_fhir(&import_bundle(&synthea(name), "synthea").unwrap()).await.unwrap();
    let id = summary.patients[0].patient_id.clone().unwrap();

    let conds = s.imported_with_patient(&id, "condition", 1000).await.unwrap();
    assert_eq!(conds.total, conditions as u64);
    assert_eq!(conds.resources.len(), conditions);
    assert!(conds.resources.iter().all(|r| r.source == "synthea" && r.resource.resource_type == "Condition"));
    let dates: Vec<&str> = conds.resources.iter().filter_map(|r| r.resource.effective.as_deref()).collect();
    assert_eq!(dates.len(), conditions, "every Synthea condition has an onset");
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest first: {dates:?}");
    for known in ["diabetes_type2", "diabetic_neuropathy_type2"] {
        assert!(conds.resources.iter().any(|r| r.resource.mapped_as.as_deref() == Some(known)), "{known}");
    }

    // bounded: the newest few and the count of all
    let measured = s.imported_with_patient(&id, "measurement", 3).await.unwrap();
    assert_eq!(measured.resources.len(), 3);
    let all = s.imported_with_patient(&id, "measurement", 1000).await.unwrap();
    assert_eq!(measured.total, all.resources.len() as u64);
    assert_eq!(measured.resources[..], all.resources[..3]);
    assert!(all.resources.iter().any(|r| r.resource.mapped_as.as_deref() == Some("hba1c")));
    let unmapped = s.imported_with_patient(&id, "unmapped", 1000).await.unwrap();
    let unmapped_obs = unmapped.resources.iter().filter(|r| r.resource.resource_type == "Observation").count();
    assert_eq!(all.resources.len() + unmapped_obs, observations, "every Observation is listed");
    // what LimbPath does not map is dated from its own JSON, so it can be ordered too
    let encounters: Vec<_> = unmapped.resources.iter().filter(|r| r.resource.resource_type == "Encounter").collect();
    assert!(!encounters.is_empty() && encounters.iter().all(|r| r.resource.effective.is_some()));

    // another patient's imports are not theirs; a patient without imports has none
    let other = s.import_fhir(&import_bundle(&synthea(SAMPLES[2].0), "synthea").unwrap()).await.unwrap();
    let other_id = other.patients[0].patient_id.clone().unwrap();
    assert_eq!(s.imported_with_patient(&other_id, "condition", 1000).await.unwrap().total, SAMPLES[2].1 as u64);
    assert_eq!(s.imported_with_patient(&id, "condition", 1000).await.unwrap(), conds);
    let plain = s.create_patient(super::fixtures::patient("MRN-PLAIN", "Plain", "Pat")).await.unwrap();
    let none = s.imported_with_patient(&plain.id, "condition", 50).await.unwrap();
    assert_eq!((none.resources.len(), none.total), (0, 0));
}

fn cohort(n: u64) -> Vec<PatientRecord> {
    limbpath_demo::cohort(20_261_121, n).map(|r| exportable(&r)).collect()
}

#[tokio::test]
async fn an_export_imported_into_an_empty_database_is_the_same_record() {
    let source = TestDb::new().await;
    let records = cohort(6);
    source.store.insert_patient_records(&records).await.unwrap();
    let target = TestDb::new().await;
    for (i, r) in records.iter().enumerate() {
        let id = &r.patient.as_ref().unwrap().id;
        let stored = source.store.get_patient_record(id).await.unwrap();
        let resources = export_patient(&stored).unwrap();
        // half as transaction Bundles, half as NDJSON
        let import = if i % 2 == 0 {
            let text =
                serde_json::to_string(&bundle(BundleKind::Transaction, resources, "https://a.example/fhir")).unwrap();
            import_bundle(&text, "a.example").unwrap()
        } else {
            import_ndjson(&ndjson(&resources), "a.example").unwrap()
        };
        let summary = target.store.import_fhir(&import).await.unwrap();
        assert_eq!(summary.patients[0].outcome, PatientOutcome::Created);
        assert_eq!(summary.patients[0].patient_id.as_deref(), Some(id.as_str()));
        let back = target.store.get_patient_record(id).await.unwrap();
        assert_eq!(back, exportable(&stored), "patient {i}");
        // and again: nothing changes, the record is not touched
        let before = fhir_counts(&target.store).await;
        let again = target.store.import_fhir(&import).await.unwrap();
        assert_eq!((again.stored, again.record_rows), (0, 0));
        assert_eq!(fhir_counts(&target.store).await, before);
        assert_eq!(target.store.get_patient_record(id).await.unwrap(), back);
    }
}

#[tokio::test]
async fn a_bundle_that_collides_stores_nothing() {
    let db = TestDb::new().await;
    let s = &db.store;
    let records = cohort(3);
    // patient 2 is already here under another id with the same site and MRN
    let mut clash = records[2].clone();
    let p = clash.patient.as_mut().unwrap();
    p.id = "0192f650-0000-7000-8000-00000000abcd".into();
    s.insert_patient_records(&[PatientRecord { patient: clash.patient.clone(), ..PatientRecord::default() }])
        .await
        .unwrap();
    let mut resources = Vec::new();
    for r in &records {
        resources.extend(export_patient(r).unwrap());
    }
    let text = serde_json::to_string(&bundle(BundleKind::Transaction, resources, "https://a.example/fhir")).unwrap();
    let import = import_bundle(&text, "a.example").unwrap();
    assert_eq!(import.patients.len(), 3);
    let before = fhir_counts(s).await;
    match s.import_fhir(&import).await {
        Err(StoreError::Duplicate { field, value }) => {
            assert_eq!(field, "mrn");
            assert!(value.contains(&records[2].patient.as_ref().unwrap().data.mrn), "{value}");
        }
        other => panic!("expected a duplicate MRN, got {other:?}"),
    }
    assert_eq!(fhir_counts(s).await, before, "nothing of the bundle was stored");
    assert_eq!(before.0, 0);
}

/// A Synthea bundle plus one Observation stating how the patient walks (the
/// one fact Synthea does not give), in LimbPath's own code systems.
fn synthea_with_ambulatory_status(name: &str) -> String {
    let mut b: serde_json::Value = serde_json::from_str(&synthea(name)).unwrap();
    let patient = b["entry"][0]["fullUrl"].as_str().unwrap().to_owned();
    let obs = serde_json::json!({
        "fullUrl": "urn:uuid:5d1c0000-0000-4000-8000-000000000001",
        "resource": {
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": limbpath_fhir::codes::CS_OBSERVATION, "code": "ambulatory-status"}]},
            "subject": {"reference": patient},
            "valueCodeableConcept": {"coding": [{"system": limbpath_fhir::codes::CS_AMBULATORY_STATUS, "code": "with_aid"}]}
        },
        "request": {"method": "POST", "url": "Observation"}
    });
    b["entry"].as_array_mut().unwrap().push(obs);
    b.to_string()
}

#[tokio::test]
async fn a_foreign_patient_with_every_fact_becomes_a_limbpath_patient_once_and_is_matched_by_mrn() {
    let db = TestDb::new().await;
    let s = &db.store;
    let text = synthea_with_ambulatory_status(SAMPLES[4].0);
    let first = s.import_fhir(&import_bundle(&text, "synthea").unwrap()).await.unwrap();
    let p = &first.patients[0];
    assert_eq!(p.outcome, PatientOutcome::Created, "{first:?}");
    let id = p.patient_id.clone().unwrap();
    let created = s.get_patient(&id).await.unwrap();
    assert_eq!(created.data.ambulatory_status, limbpath_record::AmbulatoryStatus::WithAid);
    assert_eq!(created.data.diabetes, limbpath_record::DiabetesStatus::Type2);
    assert_eq!(s.fhir_patients_of(&id).await.unwrap().len(), 1);
    assert_eq!(count(s, "patients").await, 1);

    // the same again: nothing new
    let again = s.import_fhir(&import_bundle(&text, "synthea").unwrap()).await.unwrap();
    assert_eq!((again.stored, again.patients[0].outcome.clone()), (0, PatientOutcome::AlreadyImported));
    // the same patient from another source (other keys): matched by site and MRN, not duplicated
    let other = s.import_fhir(&import_bundle(&text, "other-ehr").unwrap()).await.unwrap();
    assert_eq!(other.patients[0].outcome, PatientOutcome::Linked);
    assert_eq!(other.patients[0].patient_id.as_deref(), Some(id.as_str()));
    assert_eq!(count(s, "patients").await, 1);
    assert_eq!(s.fhir_patients_of(&id).await.unwrap().len(), 2);
    assert_eq!(s.get_patient(&id).await.unwrap(), created, "a linked patient is not changed");
}

/// `record` with every row stamped at `at`.
fn stamped(mut r: PatientRecord, at: i64) -> PatientRecord {
    macro_rules! stamp {
        ($($v:ident),*) => {$(for x in &mut r.$v { x.created_at_ms = at; x.updated_at_ms = at; })*};
    }
    if let Some(p) = r.patient.as_mut() {
        (p.created_at_ms, p.updated_at_ms) = (at, at);
    }
    for a in &mut r.assessments {
        (a.stored.created_at_ms, a.stored.updated_at_ms) = (at, at);
    }
    stamp!(
        limbs,
        episodes,
        wounds,
        wound_measurements,
        vascular_studies,
        imaging_studies,
        procedures,
        outcome_events,
        consents,
        care_team
    );
    r
}

#[tokio::test]
async fn patients_changed_since_counts_any_exported_row_and_fhir_imports_after_the_instant() {
    let db = TestDb::new().await;
    let s = &db.store;
    const OLD: i64 = 1_700_000_000_000;
    let records: Vec<PatientRecord> = limbpath_demo::cohort(11, 4).map(|r| stamped(exportable(&r), OLD)).collect();
    s.insert_patient_records(&records[..3]).await.unwrap();
    let ids: Vec<String> = records.iter().map(|r| r.patient.as_ref().unwrap().id.clone()).collect();
    let mut asked = ids.clone();
    asked.push("not-an-id".into());
    assert_eq!(s.patients_changed_since(&asked, OLD - 1).await.unwrap().len(), 3, "every stored patient");
    assert!(s.patients_changed_since(&asked, OLD).await.unwrap().is_empty(), "after, strictly");
    assert!(s.patients_changed_since(&[], 0).await.unwrap().is_empty());

    // A child row's update counts for its patient (a wound: not the patient row).
    let (owner, wound) = records[..3]
        .iter()
        .enumerate()
        .find_map(|(i, r)| r.wounds.first().map(|w| (i, w.clone())))
        .expect("a demo wound");
    let before = s.get_patient(&ids[owner]).await.unwrap();
    s.update_wound(&wound.id, wound.version, wound.data.clone()).await.unwrap();
    assert_eq!(s.get_patient(&ids[owner]).await.unwrap(), before, "the patient row itself is unchanged");
    assert_eq!(s.patients_changed_since(&asked, OLD).await.unwrap(), vec![ids[owner].clone()]);

    // A LimbPath export imported through FHIR keeps its old stamps; its import is the change.
    let text = ndjson(&export_patient(&records[3]).unwrap());
    s.import_fhir(&import_ndjson(&text, "suite").unwrap()).await.unwrap();
    let imported = s.get_patient_record(&ids[3]).await.unwrap();
    assert_eq!(imported.patient.as_ref().unwrap().updated_at_ms, OLD, "the sent stamps are kept");
    let mut want = vec![ids[owner].clone(), ids[3].clone()];
    want.sort();
    assert_eq!(s.patients_changed_since(&asked, OLD).await.unwrap(), want);
}
