//! Writes what the FHIR endpoints answer, for the external validators
//! (tools/fhir-validate/run.sh, run by CI): a server on a fresh SQLite
//! database with 12 demo patients, then `DIR/valid/` gets the Bulk Data
//! `$export` NDJSON files, a `$everything` Bundle, a search Bundle, the
//! CapabilityStatement and an OperationOutcome of a refused transaction.
//!
//! Usage: cargo run -p limbpath-server --example fhir_export_samples -- DIR

use limbpath_record::{Role, UserData};
use limbpath_server::{AppState, Config, router};
use limbpath_store::Store;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: fhir_export_samples DIR")).join("valid");
    std::fs::create_dir_all(&dir).expect("create DIR/valid");
    let tmp = tempfile::tempdir().expect("temporary directory");
    let store = Store::open_data_dir(tmp.path()).await.expect("open the store");
    let records: Vec<_> = limbpath_demo::cohort(20_261_121, 12).collect();
    store.insert_patient_records(&records).await.expect("load demo patients");
    let user =
        UserData { username: "exporter".into(), display_name: "Exporter".into(), role: Role::Admin, patient_id: None };
    store.create_user(user, "correct horse battery staple").await.expect("user");
    let config = Config { export_dir: tmp.path().join("exports"), ..Config::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = router(Arc::new(AppState::new(store, config))).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });

    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": "exporter", "password": "correct horse battery staple"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("session");
    let token = login["token"].as_str().expect("token").to_owned();
    let get = |path: String| {
        let (http, token) = (http.clone(), token.clone());
        async move { http.get(path).bearer_auth(token).send().await.expect("GET") }
    };
    let save = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write a sample");

    let kick = get(format!("{base}/fhir/$export")).await;
    assert_eq!(kick.status().as_u16(), 202, "kick-off");
    let status = kick.headers()["content-location"].to_str().expect("location").to_owned();
    let manifest: Value = loop {
        let r = get(status.clone()).await;
        if r.status().as_u16() == 200 {
            break r.json().await.expect("manifest");
        }
        assert_eq!(r.status().as_u16(), 202, "status");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for o in manifest["output"].as_array().expect("output") {
        let ty = o["type"].as_str().expect("type");
        let text = get(o["url"].as_str().expect("url").to_owned()).await.text().await.expect("file");
        save(&format!("export-{ty}.ndjson"), &text);
    }
    let pid = records[0].patient.as_ref().expect("patient").id.clone();
    let text = get(format!("{base}/fhir/Patient/{pid}/$everything")).await.text().await.expect("everything");
    save("everything.json", &text);
    let text = get(format!("{base}/fhir/Observation?patient={pid}&_count=20")).await.text().await.expect("search");
    save("search-observation.json", &text);
    let text = get(format!("{base}/fhir/metadata")).await.text().await.expect("metadata");
    save("metadata.json", &text);
    let refused = http
        .post(format!("{base}/fhir"))
        .bearer_auth(&token)
        .header("content-type", "application/fhir+json")
        .body(r#"{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1"}]}"#)
        .send()
        .await
        .expect("POST");
    save("transaction-refused-outcome.json", &refused.text().await.expect("outcome"));
    eprintln!(
        "{} export files and 4 other samples in {}",
        manifest["output"].as_array().map_or(0, Vec::len),
        dir.display()
    );
}
