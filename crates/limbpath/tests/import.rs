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

/// A Bulk Data `$export` folder as the server writes it (`run_export`): one
/// NDJSON file per resource type, each patient's resources appended in
/// patient order, references to `Patient/<id>` across the files. Observation
/// lines are written in reverse patient order so the import cannot rely on
/// the files agreeing on an order.
fn export_folder(dir: &std::path::Path, records: &[limbpath_record::PatientRecord]) {
    let mut files: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for r in records {
        for res in limbpath_fhir::export_patient(r).unwrap() {
            files.entry(res.resource_type().to_owned()).or_default().push(serde_json::to_string(&res).unwrap());
        }
    }
    std::fs::create_dir_all(dir).unwrap();
    for (ty, mut lines) in files {
        if ty == "Observation" {
            lines.reverse();
        }
        std::fs::write(dir.join(format!("{ty}.ndjson")), lines.join("\n") + "\n").unwrap();
    }
}

/// A fresh database on `engine`: the import arguments and a way to open it.
struct Db {
    dir: tempfile::TempDir,
    pg_url: Option<String>,
}

impl Db {
    async fn new(postgres: bool) -> Db {
        let dir = tempfile::tempdir().unwrap();
        let pg_url = if postgres {
            use sqlx::Connection;
            let admin = std::env::var("LIMBPATH_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
            let name = format!("limbpath_import_{}_{nanos}", std::process::id());
            let mut c = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL is required at {admin}: {e}"));
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut c).await.unwrap();
            let _ = c.close().await;
            let (root, _) = admin.rsplit_once('/').unwrap();
            Some(format!("{root}/{name}"))
        } else {
            None
        };
        Db { dir, pg_url }
    }

    fn args(&self) -> Vec<String> {
        match &self.pg_url {
            Some(url) => vec!["--database-url".into(), url.clone()],
            None => vec!["--data-dir".into(), self.dir.path().join("data").display().to_string()],
        }
    }

    async fn store(&self) -> Store {
        match &self.pg_url {
            Some(url) => Store::connect(url).await.unwrap(),
            None => Store::open_data_dir(&self.dir.path().join("data")).await.unwrap(),
        }
    }

    /// Drop the PostgreSQL database (the SQLite one goes with its directory).
    async fn finish(self) {
        use sqlx::Connection;
        if let Some(url) = &self.pg_url {
            let (root, name) = url.rsplit_once('/').unwrap();
            let mut c = sqlx::PgConnection::connect(&format!("{root}/postgres")).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
                .execute(&mut c)
                .await
                .unwrap();
            let _ = c.close().await;
        }
    }
}

/// A record with every list in id order (the store reads some lists in
/// another order than the record was built in).
fn by_id(mut r: limbpath_record::PatientRecord) -> limbpath_record::PatientRecord {
    macro_rules! sort {
        ($($v:ident),*) => {$(r.$v.sort_by(|a, b| a.id.cmp(&b.id));)*};
    }
    sort!(
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
    r.assessments.sort_by(|a, b| a.stored.id.cmp(&b.stored.id));
    r
}

/// Where two JSON values first differ (a path and both values).
fn first_difference(a: &serde_json::Value, b: &serde_json::Value, at: String) -> String {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                if y.get(k) != Some(v) {
                    return first_difference(v, y.get(k).unwrap_or(&Value::Null), format!("{at}.{k}"));
                }
            }
            format!("{at}: keys {:?} / {:?}", x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>())
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if v != w {
                    return first_difference(v, w, format!("{at}[{i}]"));
                }
            }
            at
        }
        _ => format!("{at}: {a} / {b}"),
    }
}

async fn an_export_folder_imports_as_one_unit_into_the_same_records(postgres: bool) {
    let records: Vec<_> =
        limbpath_demo::cohort(20_261_121, 6).map(|r| limbpath_fhir::exportable(&r)).collect::<Vec<_>>();
    let src = tempfile::tempdir().unwrap();
    let folder = src.path().join("export");
    export_folder(&folder, &records);
    let types = std::fs::read_dir(&folder).unwrap().count();
    assert!(types >= 5, "one file per type, {types}");
    // --chunk 1: every chunk is one whole patient, each its own transaction
    for (chunk, whole) in [("1", false), ("5000", true)] {
        let db = Db::new(postgres).await;
        let import = |db: &Db| {
            let mut cmd = limbpath();
            cmd.args(["import", "--source", "export", "--chunk", chunk]).args(db.args()).arg(&folder);
            if whole {
                cmd.arg("--whole-files");
            }
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stderr).unwrap()
        };
        let first = import(&db);
        assert!(first.contains("patients: 6 created"), "{first}");
        assert!(!first.contains("warning"), "no resource left without its patient: {first}");
        let store = db.store().await;
        assert_eq!(store.count_patients().await.unwrap(), 6);
        for r in &records {
            let id = &r.patient.as_ref().unwrap().id;
            let (back, r) = (by_id(store.get_patient_record(id).await.unwrap()), by_id(r.clone()));
            if back != r {
                let (a, b) = (serde_json::to_value(&back).unwrap(), serde_json::to_value(r).unwrap());
                panic!("{id}: {}", first_difference(&a, &b, String::new()));
            }
        }
        store.close().await;
        let again = import(&db);
        assert!(again.contains(" 0 stored"), "a second import changes nothing: {again}");
        assert!(again.contains("patients: 0 created"), "{again}");
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_folder_imports_as_one_unit_into_the_same_records_on_sqlite() {
    an_export_folder_imports_as_one_unit_into_the_same_records(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_folder_imports_as_one_unit_into_the_same_records_on_postgres() {
    an_export_folder_imports_as_one_unit_into_the_same_records(true).await;
}

#[test]
fn an_error_in_a_folder_names_its_file_and_line() {
    let records: Vec<_> = limbpath_demo::cohort(7, 2).map(|r| limbpath_fhir::exportable(&r)).collect();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("export");
    export_folder(&folder, &records);
    let path = folder.join("Procedure.ndjson");
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    text.push_str("{not json\n");
    let bad_line = text.lines().count();
    std::fs::write(&path, text).unwrap();
    let out = limbpath().args(["import", "--data-dir"]).arg(dir.path().join("data")).arg(&folder).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(&format!("Procedure.ndjson: error at ndjson[line {bad_line}]")), "{err}");
}

/// The real thing: a server's Bulk Data `$export` (system level), its files
/// downloaded into a folder as a client saves them, and `limbpath import` of
/// that folder into an empty database on each engine.
#[tokio::test(flavor = "multi_thread")]
async fn a_downloaded_bulk_export_folder_round_trips_into_an_empty_database() {
    use limbpath_server::{AppState, Config, router};
    let records: Vec<_> = limbpath_demo::cohort(20_261_121, 5).map(|r| limbpath_fhir::exportable(&r)).collect();
    let tmp = tempfile::tempdir().unwrap();
    let source = Store::open_data_dir(&tmp.path().join("source")).await.unwrap();
    source.insert_patient_records(&records).await.unwrap();
    let config = Config { export_dir: tmp.path().join("exports"), ..Config::default() };
    let state = std::sync::Arc::new(AppState::new(source.clone(), config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let password = "correct horse battery staple";
    let user = limbpath_record::UserData {
        username: "exporter".into(),
        display_name: "Exporter (test)".into(),
        role: limbpath_record::Role::Clinician,
        patient_id: None,
    };
    source.create_user(user, password).await.unwrap();
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("http://{addr}/api/v1/session"))
        .json(&serde_json::json!({"username": "exporter", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let r = http.get(format!("http://{addr}/fhir/$export")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let status_url = r.headers()["content-location"].to_str().unwrap().to_owned();
    let manifest: serde_json::Value = loop {
        let r = http.get(&status_url).bearer_auth(&token).send().await.unwrap();
        match r.status().as_u16() {
            202 => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            200 => break r.json().await.unwrap(),
            other => panic!("{other}: {}", r.text().await.unwrap()),
        }
    };
    let folder = tmp.path().join("downloaded");
    std::fs::create_dir_all(&folder).unwrap();
    for o in manifest["output"].as_array().unwrap() {
        let text = http.get(o["url"].as_str().unwrap()).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
        std::fs::write(folder.join(format!("{}.ndjson", o["type"].as_str().unwrap())), text).unwrap();
    }
    assert!(std::fs::read_dir(&folder).unwrap().count() >= 5);
    for postgres in [false, true] {
        let db = Db::new(postgres).await;
        let out = limbpath().args(["import", "--source", "clinic"]).args(db.args()).arg(&folder).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("patients: 5 created") && !err.contains("warning"), "{err}");
        let store = db.store().await;
        for r in &records {
            let id = &r.patient.as_ref().unwrap().id;
            let copy = by_id(store.get_patient_record(id).await.unwrap());
            let original = by_id(source.get_patient_record(id).await.unwrap());
            assert_eq!(copy, original, "postgres {postgres}: {id}");
        }
        store.close().await;
        db.finish().await;
    }
    source.close().await;
}
