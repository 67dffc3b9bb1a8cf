//! The FHIR endpoints (issue 8): metadata, read and search, $everything,
//! transaction Bundles, Bulk Data $export; access and audit as the JSON API.

use super::{PASSWORD, Server};
use limbpath_fhir::exportable;
use limbpath_record::{PatientRecord, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

fn cohort(n: u64) -> Vec<PatientRecord> {
    limbpath_demo::cohort(20_261_121, n).map(|r| exportable(&r)).collect()
}

async fn fhir_get(s: &Server, token: &str, path: &str) -> (StatusCode, Value, String) {
    let r = s.http.get(s.url(path)).bearer_auth(token).send().await.unwrap();
    let status = r.status();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, r.json().await.unwrap_or(Value::Null), ct)
}

async fn fhir_post(s: &Server, token: &str, body: &Value) -> (StatusCode, Value) {
    let r = s
        .http
        .post(s.url("/fhir"))
        .bearer_auth(token)
        .header("content-type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A searchset as a transaction Bundle (PUT Type/id per entry).
fn as_transaction(searchset: &Value) -> Value {
    let entry: Vec<Value> = searchset["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let r = &e["resource"];
            let url = format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap());
            json!({"fullUrl": e["fullUrl"], "resource": r, "request": {"method": "PUT", "url": url}})
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entry})
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_is_a_capability_statement() {
    let s = Server::start().await;
    let (st, v, ct) = fhir_get(&s, "", "/fhir/metadata").await;
    assert_eq!(st, StatusCode::OK);
    assert!(ct.starts_with("application/fhir+json"), "{ct}");
    assert_eq!(v["resourceType"], "CapabilityStatement");
    assert_eq!(v["fhirVersion"], "4.0.1");
    let ops: Vec<&str> =
        v["rest"][0]["operation"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(ops, ["export", "everything"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn everything_posted_to_an_empty_server_gives_the_same_record() {
    let a = Server::start().await;
    let records = cohort(3);
    a.db.store.insert_patient_records(&records).await.unwrap();
    let ta = a.user("clin.a", Role::Clinician, None).await;
    let b = Server::start().await;
    let tb = b.user("clin.b", Role::Clinician, None).await;
    for r in &records {
        let id = r.patient.as_ref().unwrap().id.clone();
        let (st, everything, ct) = fhir_get(&a, &ta, &format!("/fhir/Patient/{id}/$everything")).await;
        assert_eq!(st, StatusCode::OK, "{everything}");
        assert!(ct.starts_with("application/fhir+json"));
        assert_eq!(everything["type"], "searchset");
        let tx = as_transaction(&everything);
        let (st, resp) = fhir_post(&b, &tb, &tx).await;
        assert_eq!(st, StatusCode::OK, "{resp}");
        assert_eq!(resp["type"], "transaction-response");
        assert_eq!(resp["entry"].as_array().unwrap().len(), tx["entry"].as_array().unwrap().len());
        let (_, original) = a.get(&ta, &format!("/api/v1/patients/{id}/record")).await;
        let (st, copy) = b.get(&tb, &format!("/api/v1/patients/{id}/record")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(copy, original, "the same record on the other server");
        // posting it again changes nothing
        let audit_before = b.db.store.count_fhir_resources().await.unwrap();
        let (st, _) = fhir_post(&b, &tb, &tx).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(b.db.store.count_fhir_resources().await.unwrap(), audit_before);
        let (_, again) = b.get(&tb, &format!("/api/v1/patients/{id}/record")).await;
        assert_eq!(again, original);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_transaction_stores_nothing_and_names_each_error() {
    let s = Server::start().await;
    let t = s.user("clin", Role::Clinician, None).await;
    let bad = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0"},
        {"resource": {"resourceType": "Patient", "id": "x"}, "request": {"method": "PUT", "url": "Patient/x"}},
        {"resource": {"resourceType": "Observation", "id": "o"}, "request": {"method": "DELETE", "url": "Observation/o"}}
    ]});
    let (st, oo) = fhir_post(&s, &t, &bad).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{oo}");
    assert_eq!(oo["resourceType"], "OperationOutcome");
    let at: Vec<&str> = oo["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["severity"] == "error")
        .flat_map(|i| i["expression"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()))
        .collect();
    assert!(at.contains(&"Bundle.entry[0].resource"), "{oo}");
    assert!(at.contains(&"Bundle.entry[2].request.method"), "{oo}");
    assert_eq!(s.db.store.count_fhir_resources().await.unwrap(), 0);
    assert_eq!(s.patients().await, 0);
    // not a transaction; wrong media type
    let collection = json!({"resourceType": "Bundle", "type": "collection", "entry": [], "id": "transaction"});
    let (st, oo) = fhir_post(&s, &t, &collection).await;
    assert_eq!((st, oo["issue"][0]["expression"][0].as_str()), (StatusCode::BAD_REQUEST, Some("Bundle.type")));
    let r = s
        .http
        .post(s.url("/fhir"))
        .bearer_auth(&t)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test(flavor = "multi_thread")]
async fn read_and_search_with_patient_code_date_and_count() {
    let s = Server::start().await;
    let records = cohort(2);
    s.db.store.insert_patient_records(&records).await.unwrap();
    let t = s.user("clin", Role::Clinician, None).await;
    let pid = records[0].patient.as_ref().unwrap().id.clone();

    let (st, p, _) = fhir_get(&s, &t, &format!("/fhir/Patient/{pid}")).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!((p["resourceType"].as_str(), p["id"].as_str()), (Some("Patient"), Some(pid.as_str())));

    let (st, all, _) = fhir_get(&s, &t, &format!("/fhir/Observation?patient={pid}")).await;
    assert_eq!(st, StatusCode::OK, "{all}");
    let obs = all["entry"].as_array().unwrap();
    assert!(obs.len() > 2, "the demo record has observations");
    assert!(obs.iter().all(|e| e["resource"]["resourceType"] == "Observation"));
    // read one back by id
    let oid = obs[0]["resource"]["id"].as_str().unwrap();
    let (st, one, _) = fhir_get(&s, &t, &format!("/fhir/Observation/{oid}")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(one, obs[0]["resource"]);
    // _count
    let (_, two, _) = fhir_get(&s, &t, &format!("/fhir/Observation?patient={pid}&_count=2")).await;
    assert_eq!(two["entry"].as_array().unwrap().len(), 2);
    // code: every result has it, and it is the same set as filtering by hand
    let coding = &obs[0]["resource"]["code"]["coding"][0];
    let token = format!("{}|{}", coding["system"].as_str().unwrap(), coding["code"].as_str().unwrap());
    let by_hand = obs.iter().filter(|e| e["resource"]["code"]["coding"][0]["code"] == coding["code"]).count();
    let (_, coded, _) = fhir_get(&s, &t, &format!("/fhir/Observation?patient={pid}&code={}", urlencode(&token))).await;
    assert_eq!(coded["entry"].as_array().unwrap().len(), by_hand, "{coded}");
    // date: nothing after 2200, everything after 1900
    let (_, none, _) = fhir_get(&s, &t, &format!("/fhir/Observation?patient={pid}&date=gt2200-01-01")).await;
    assert!(none["entry"].as_array().is_none_or(|e| e.is_empty()), "{none}");
    // EpisodeOfCare and Condition and Procedure search answer searchsets
    for ty in ["EpisodeOfCare", "Condition", "Procedure"] {
        let (st, b, _) = fhir_get(&s, &t, &format!("/fhir/{ty}?patient={pid}")).await;
        assert_eq!((st, b["type"].as_str()), (StatusCode::OK, Some("searchset")), "{ty}");
    }
    // errors name the parameter
    let (st, oo, _) = fhir_get(&s, &t, "/fhir/Condition").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(oo["issue"][0]["expression"][0], "patient");
    let (st, oo, _) = fhir_get(&s, &t, &format!("/fhir/Condition?patient={pid}&date=yesterday")).await;
    assert_eq!((st, oo["issue"][0]["expression"][0].as_str()), (StatusCode::BAD_REQUEST, Some("date")));
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn patients_see_only_their_own_analysts_nothing_and_every_access_is_audited() {
    let s = Server::start().await;
    let records = cohort(2);
    s.db.store.insert_patient_records(&records).await.unwrap();
    let own = records[0].patient.as_ref().unwrap().id.clone();
    let other = records[1].patient.as_ref().unwrap().id.clone();
    let pt = s.user("pat", Role::Patient, Some(&own)).await;
    let an = s.user("ana", Role::Analyst, None).await;
    let admin = s.user("adm", Role::Admin, None).await;

    assert_eq!(fhir_get(&s, &pt, &format!("/fhir/Patient/{own}")).await.0, StatusCode::OK);
    assert_eq!(fhir_get(&s, &pt, &format!("/fhir/Patient/{other}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(fhir_get(&s, &pt, &format!("/fhir/Patient/{other}/$everything")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(fhir_get(&s, &pt, &format!("/fhir/Observation?patient={other}")).await.0, StatusCode::NOT_FOUND);
    let (st, mine, _) = fhir_get(&s, &pt, "/fhir/Observation").await;
    assert_eq!(st, StatusCode::OK, "a patient's search is of their own record");
    assert!(!mine["entry"].as_array().unwrap().is_empty());
    assert_eq!(fhir_get(&s, &pt, "/fhir/$export").await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        fhir_post(&s, &pt, &json!({"resourceType": "Bundle", "type": "transaction"})).await.0,
        StatusCode::FORBIDDEN
    );

    for path in [format!("/fhir/Patient/{own}"), format!("/fhir/Observation?patient={own}"), "/fhir/$export".into()] {
        let (st, oo, _) = fhir_get(&s, &an, &path).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(oo["resourceType"], "OperationOutcome");
    }
    let (st, oo, _) = fhir_get(&s, "not-a-token", &format!("/fhir/Patient/{own}")).await;
    assert_eq!((st, oo["issue"][0]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("login")));

    let (st, trail) = s.get(&admin, &format!("/api/v1/audit?patient={own}&limit=100")).await;
    assert_eq!(st, StatusCode::OK);
    let entries = trail["items"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["entity"] == "fhir" && e["action"] == "read" && e["outcome"] == "ok"), "{trail}");
    let (_, trail) = s.get(&admin, &format!("/api/v1/audit?patient={other}&limit=100")).await;
    assert!(
        trail["items"].as_array().unwrap().iter().any(|e| e["entity"] == "fhir" && e["outcome"] == "denied"),
        "{trail}"
    );
    let _ = PASSWORD;
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_export_is_asynchronous_and_returns_ndjson_per_type() {
    let s = Server::start().await;
    let records = cohort(7);
    s.db.store.insert_patient_records(&records).await.unwrap();
    let t = s.user("clin", Role::Clinician, None).await;
    let r = s.http.get(s.url("/fhir/$export")).bearer_auth(&t).header("prefer", "respond-async").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let status_url = r.headers()["content-location"].to_str().unwrap().to_owned();
    assert!(status_url.contains("/fhir/$export-status/"), "{status_url}");
    let manifest: Value = loop {
        let r = s.http.get(&status_url).bearer_auth(&t).send().await.unwrap();
        match r.status() {
            StatusCode::ACCEPTED => {
                assert!(r.headers().contains_key("x-progress"));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            StatusCode::OK => break r.json().await.unwrap(),
            other => panic!("status {other}: {}", r.text().await.unwrap()),
        }
    };
    let output = manifest["output"].as_array().unwrap();
    let mut types = Vec::new();
    for o in output {
        let ty = o["type"].as_str().unwrap();
        types.push(ty.to_owned());
        let r = s.http.get(o["url"].as_str().unwrap()).bearer_auth(&t).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/fhir+ndjson");
        let text = r.text().await.unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len() as u64, o["count"].as_u64().unwrap(), "{ty}");
        assert!(lines.iter().all(|l| l["resourceType"] == ty));
        if ty == "Patient" {
            assert_eq!(lines.len(), records.len());
        }
    }
    for ty in ["Patient", "EpisodeOfCare", "Observation"] {
        assert!(types.iter().any(|t| t == ty), "{types:?}");
    }
    // another user cannot poll or download it
    let other = s.user("clin2", Role::Clinician, None).await;
    let r = s.http.get(&status_url).bearer_auth(&other).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // _type limits the output; an unknown type is refused by name
    let r = s.http.get(s.url("/fhir/$export?_type=Nonsense")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

/// A Synthea sample bundle (`crates/limbpath-fhir/tests/synthea/`).
fn synthea(name: &str) -> Value {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../limbpath-fhir/tests/synthea");
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_synthea_patient_is_a_limbpath_patient_whose_page_shows_what_came_with_them() {
    let s = Server::start().await;
    let t = s.user("clin", Role::Clinician, None).await;
    let (st, resp) = fhir_post(&s, &t, &synthea("Renato_Dare_f07e9b1d-9cc7-465e-8abc-94e84793d1fb.json")).await;
    assert_eq!(st, StatusCode::OK, "{resp}");
    assert_eq!(s.patients().await, 1, "the Synthea patient is a LimbPath patient");
    let mrn = "f07e9b1d-9cc7-465e-8abc-94e84793d1fb";
    let found =
        s.db.store
            .search_patients(&limbpath_store::PatientQuery { text: Some(mrn.into()), ..Default::default() })
            .await
            .unwrap();
    let id = found.items[0].patient.id.clone();

    // the JSON record: diabetes from the conditions, not-recorded ambulatory status
    let (st, patient) = s.get(&t, &format!("/api/v1/patients/{id}")).await;
    assert_eq!(st, StatusCode::OK, "{patient}");
    assert_eq!(patient["mrn"], mrn);
    assert_eq!(patient["diabetes"], "type_2");
    assert_eq!(patient["ambulatory_status"], "not_recorded");

    // the patient page, as the browser asks for it
    let page = |s: &Server| {
        let r = s.http.get(s.url(&format!("/patients/{id}"))).header("cookie", format!("limbpath_session={t}")).send();
        async move {
            let r = r.await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.text().await.unwrap()
        }
    };
    let before = s.audit_rows().await;
    let html = page(&s).await;
    assert_eq!(s.audit_rows().await, before + 1, "one audited read of the record");
    assert!(
        html.contains("<dt>Ambulatory status</dt><dd><span class=\"flag flag-review\">not recorded</span>"),
        "{html}"
    );
    assert!(html.contains("From other systems"), "{html}");
    for shown in [
        "Neuropathy due to type 2 diabetes mellitus (disorder)",
        "LimbPath: diabetic neuropathy type2",
        "LimbPath: diabetes type2",
        "Hemoglobin A1c/Hemoglobin.total in Blood",
        "LimbPath: hba1c",
        "<td>Condition</td>",
        "<td>Observation</td>",
        "<td>api:clin</td>",
    ] {
        assert!(html.contains(shown), "{shown} on the page");
    }
    let conditions = html.find("Conditions (").unwrap();
    assert!(conditions < html.find("Measurements (").unwrap());

    // a clinician corrects the status through the API; the page then shows it
    let version = patient["version"].as_i64().unwrap();
    let mut changed = patient.clone();
    for stamp in ["id", "version", "created_at_ms", "updated_at_ms"] {
        changed.as_object_mut().unwrap().remove(stamp);
    }
    changed["ambulatory_status"] = json!("with_aid");
    let (st, updated) = s.put(&t, &format!("/api/v1/patients/{id}"), version, changed).await;
    assert_eq!(st, StatusCode::OK, "{updated}");
    let html = page(&s).await;
    assert!(html.contains("<dt>Ambulatory status</dt><dd>with aid</dd>"), "{html}");
    assert!(!html.contains("flag-review\">not recorded"));
}
