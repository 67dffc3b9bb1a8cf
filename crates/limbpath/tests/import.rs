//! `limbpath import`: the Synthea samples, twice; a bad bundle; exit codes.

use limbpath_record::{AmbulatoryStatus, DiabetesStatus};
use limbpath_store::{PatientQuery, Store};
use std::path::PathBuf;
use std::process::Command;

fn limbpath() -> Command {
    Command::new(env!("CARGO_BIN_EXE_limbpath"))
}

fn synthea_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../limbpath-fhir/tests/synthea")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_synthea_samples_import_once_and_a_second_import_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = || {
        let out = limbpath()
            .args(["import", "--source", "synthea", "--data-dir"])
            .arg(&data)
            .arg(synthea_dir())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stderr).unwrap()
    };
    let first = run();
    assert!(first.contains("1662 resources"), "{first}");
    // Synthea never says how a patient walks: each is a LimbPath patient whose
    // ambulatory status is not recorded
    assert!(first.contains("patients: 5 created, 0 linked, 0 kept without every fact"), "{first}");
    assert!(first.contains(" 0 already imported") || first.contains("2 already imported"), "{first}");
    let second = run();
    assert!(second.contains("0 stored, 1662 already imported"), "{second}");
    assert!(second.contains("patients: 0 created, 0 linked, 0 kept without every fact"), "{second}");

    let store = Store::open_data_dir(&data).await.unwrap();
    assert_eq!(store.count_patients().await.unwrap(), 5, "five LimbPath patients, not ten");
    let page = store.search_patients(&PatientQuery { limit: 10, ..PatientQuery::default() }).await.unwrap();
    assert_eq!(page.items.len(), 5);
    for p in &page.items {
        let patient = store.get_patient(&p.patient.id).await.unwrap();
        assert_eq!(patient.data.ambulatory_status, AmbulatoryStatus::NotRecorded, "{}", patient.data.family_name);
        assert_eq!(patient.data.diabetes, DiabetesStatus::Type2, "{}", patient.data.family_name);
        let conditions = store.imported_with_patient(&p.patient.id, "condition", 50).await.unwrap();
        assert!(
            conditions.resources.iter().any(|c| c.resource.mapped_as.as_deref() == Some("diabetic_neuropathy_type2")),
            "{}: the neuropathy came with them",
            patient.data.family_name
        );
    }
    store.close().await;
}

#[test]
fn a_bad_bundle_exits_2_naming_each_error_with_its_location_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:1"},
            {"resource":{"resourceType":"Patient","id":"p"},"request":{"method":"DELETE","url":"Patient/p"}}]}"#,
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = limbpath().args(["import", "--data-dir"]).arg(&data).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("error at Bundle.entry[0].resource"), "{err}");
    assert!(err.contains("error at Bundle.entry[1].request.method"), "{err}");
    assert!(err.contains("0 resources"), "{err}");

    let out =
        limbpath().args(["import", "--data-dir"]).arg(&data).arg(dir.path().join("missing.json")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}
