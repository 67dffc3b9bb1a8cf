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
    let export = v["rest"][0]["operation"][0]["documentation"].as_str().unwrap();
    assert!(export.contains("`_since`") && export.contains("transactionTime"), "{export}");
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

// ---------------------------------------------------------------------------
// Paging, _include, $export _since
// ---------------------------------------------------------------------------

/// Every page of a search from `path`, following `next` (absolute URLs)
/// until there is none; each page's `self` link is checked.
async fn every_page(s: &Server, token: &str, path: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut url = s.url(path);
    loop {
        let r = s.http.get(&url).bearer_auth(token).send().await.unwrap();
        let status = r.status();
        let page: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        assert_eq!(page["type"], "searchset");
        let link = |rel: &str| {
            page["link"].as_array().unwrap().iter().find(|l| l["relation"] == rel).map(|l| l["url"].as_str().unwrap())
        };
        assert_eq!(link("self"), Some(url.as_str()), "self is the page asked for");
        let next = link("next").map(str::to_owned);
        pages.push(page);
        assert!(pages.len() < 500, "paging does not end");
        match next {
            Some(n) => {
                assert!(n.starts_with("http://") && n.contains("_page_token="), "{n}");
                url = n;
            }
            None => break,
        }
    }
    pages
}

/// The `(type, id)` of a page's entries in one search mode.
fn entries(page: &Value, mode: &str) -> Vec<(String, String)> {
    page["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter(|e| e["search"]["mode"] == mode)
                .map(|e| {
                    let r = &e["resource"];
                    (r["resourceType"].as_str().unwrap().to_owned(), r["id"].as_str().unwrap().to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn following_next_visits_every_match_once_and_every_page_is_audited() {
    let s = Server::start().await;
    let records = cohort(5);
    s.db.store.insert_patient_records(&records).await.unwrap();
    let t = s.user("clin", Role::Clinician, None).await;
    let pid = records[0].patient.as_ref().unwrap().id.clone();
    for ty in ["Observation", "Condition", "Procedure", "EpisodeOfCare"] {
        let (st, all, _) = fhir_get(&s, &t, &format!("/fhir/{ty}?patient={pid}&_count=1000")).await;
        assert_eq!(st, StatusCode::OK, "{all}");
        let mut want = entries(&all, "match");
        assert_eq!(all["total"].as_u64(), Some(want.len() as u64), "{ty}: total counts every match");
        let before = s.audit_rows().await;
        let pages = every_page(&s, &t, &format!("/fhir/{ty}?patient={pid}&_count=2")).await;
        assert_eq!(s.audit_rows().await, before + pages.len() as i64, "{ty}: one audit entry per page");
        let mut got: Vec<(String, String)> = pages.iter().flat_map(|p| entries(p, "match")).collect();
        assert!(pages.iter().all(|p| entries(p, "match").len() <= 2), "{ty}: _count is the page size");
        assert!(pages.iter().all(|p| p["total"] == all["total"]), "{ty}");
        let n = got.len();
        got.sort();
        got.dedup();
        assert_eq!(got.len(), n, "{ty}: no match twice");
        want.sort();
        assert_eq!(got, want, "{ty}: every match once");
        if ty == "Observation" {
            assert!(pages.len() > 2, "the demo record has observations to page through");
        }
    }
    // All patients (name order, the store's keyset), with and without a date filter.
    let pages = every_page(&s, &t, "/fhir/Patient?_count=2").await;
    assert_eq!(pages.len(), 3);
    let mut got: Vec<String> = pages.iter().flat_map(|p| entries(p, "match")).map(|(_, id)| id).collect();
    got.sort();
    let mut want: Vec<String> = records.iter().map(|r| r.patient.as_ref().unwrap().id.clone()).collect();
    want.sort();
    assert_eq!(got, want);
    let pages = every_page(&s, &t, "/fhir/Patient?_count=2&date=gt1000").await;
    assert_eq!(pages.iter().map(|p| entries(p, "match").len()).sum::<usize>(), 5);
    // A patient account pages through its own record only.
    let pt = s.user("pat", Role::Patient, Some(&pid)).await;
    let pages = every_page(&s, &pt, "/fhir/Observation?_count=3").await;
    let (_, own, _) = fhir_get(&s, &t, &format!("/fhir/Observation?patient={pid}&_count=1000")).await;
    assert_eq!(pages.iter().map(|p| entries(p, "match").len()).sum::<usize>(), entries(&own, "match").len());
    // The default page size and the maximum.
    let (_, first, _) = fhir_get(&s, &t, &format!("/fhir/Observation?patient={pid}")).await;
    let total = first["total"].as_u64().unwrap() as usize;
    assert_eq!(entries(&first, "match").len(), total.min(50));
    let (_, big, _) = fhir_get(&s, &t, &format!("/fhir/Observation?patient={pid}&_count=100000")).await;
    assert_eq!(entries(&big, "match").len(), total.min(1000));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_garbled_or_forged_page_token_is_a_400_naming_it() {
    let s = Server::start().await;
    let records = cohort(3);
    s.db.store.insert_patient_records(&records).await.unwrap();
    let t = s.user("clin", Role::Clinician, None).await;
    let pid = records[0].patient.as_ref().unwrap().id.clone();
    let other = records[1].patient.as_ref().unwrap().id.clone();
    let (_, page, _) = fhir_get(&s, &t, &format!("/fhir/Observation?patient={pid}&_count=1")).await;
    let next = page["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = next.split("_page_token=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let (_, patients, _) = fhir_get(&s, &t, "/fhir/Patient?_count=1").await;
    let patient_next = patients["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let patient_token = patient_next.split("_page_token=").nth(1).unwrap().to_owned();
    // Tokens with their digest kept but the key changed (a forgery, or garbling).
    let unhex = |t: &str| -> String {
        (0..t.len()).step_by(2).map(|i| u8::from_str_radix(&t[i..i + 2], 16).unwrap() as char).collect()
    };
    let rekeyed = |t: &str, key: &str| hex(&format!("{}|{key}", unhex(t).rsplit_once('|').unwrap().0));
    let unknown = rekeyed(&patient_token, "0192f650-0000-7000-8000-00000000dead");
    let moved = rekeyed(&token, &pid);
    for path in [
        format!("/fhir/Observation?patient={pid}&_count=1&_page_token=zz"),
        format!("/fhir/Observation?patient={pid}&_count=1&_page_token="),
        format!("/fhir/Observation?patient={pid}&_count=1&_page_token={}", &token[..token.len() - 2]),
        format!("/fhir/Observation?patient={pid}&_count=1&_page_token={}", hex("1|Observation|0|x")),
        format!("/fhir/Observation?patient={pid}&_count=1&_page_token={}", hex("hello")),
        format!("/fhir/Observation?patient={pid}&_count=1&_page_token={}", "ab".repeat(300)),
        format!("/fhir/Observation?patient={pid}&_count=1&_page_token={token}&_page_token={token}"),
        // another search's token: other patient, other filter, other type
        format!("/fhir/Observation?patient={other}&_count=1&_page_token={token}"),
        format!("/fhir/Observation?patient={pid}&date=ge2000&_count=1&_page_token={token}"),
        format!("/fhir/Condition?patient={pid}&_count=1&_page_token={token}"),
        format!("/fhir/Patient?_count=1&_page_token={token}"),
        format!("/fhir/Patient?_count=1&_page_token={unknown}"),
        format!("/fhir/Observation?patient={pid}&_count=1&_page_token={moved}"),
    ] {
        let (st, oo, ct) = fhir_get(&s, &t, &path).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{path}: {oo}");
        assert!(ct.starts_with("application/fhir+json"));
        assert_eq!(oo["resourceType"], "OperationOutcome", "{path}");
        assert_eq!(oo["issue"][0]["expression"][0], "_page_token", "{path}: {oo}");
    }
    // The real tokens still work; _count may change between pages.
    let (st, _, _) = fhir_get(&s, &t, &format!("/fhir/Observation?patient={pid}&_count=5&_page_token={token}")).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = fhir_get(&s, &t, &format!("/fhir/Patient?_count=1&_page_token={patient_token}")).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn include_patient_adds_the_patient_once_per_page() {
    let s = Server::start().await;
    let records = cohort(2);
    s.db.store.insert_patient_records(&records).await.unwrap();
    let t = s.user("clin", Role::Clinician, None).await;
    let pid = records[0].patient.as_ref().unwrap().id.clone();
    for ty in ["Observation", "Condition", "Procedure", "EpisodeOfCare"] {
        let pages = every_page(&s, &t, &format!("/fhir/{ty}?patient={pid}&_include={ty}:patient&_count=2")).await;
        for page in &pages {
            let matches = entries(page, "match");
            assert!(matches.iter().all(|(t, _)| t == ty), "{ty}: {page}");
            let included = entries(page, "include");
            if matches.is_empty() {
                assert!(included.is_empty(), "{ty}");
            } else {
                assert_eq!(included, [("Patient".to_owned(), pid.clone())], "{ty}: the Patient once per page");
            }
        }
        assert!(pages.iter().all(|p| p["link"][0]["url"].as_str().unwrap().contains("_include=")), "{ty}");
    }
    // without _include, no Patient
    let (_, plain, _) = fhir_get(&s, &t, &format!("/fhir/Observation?patient={pid}&_count=2")).await;
    assert!(entries(&plain, "include").is_empty());
    for bad in [
        "Observation?_include=Observation:subject",
        "Observation?_include=Condition:patient",
        "Observation?_include=*",
        "Observation?_include:iterate=Observation:patient",
        "Patient?_include=Patient:link",
    ] {
        let (st, oo, _) = fhir_get(&s, &t, &format!("/fhir/{bad}&patient={pid}")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {oo}");
        assert_eq!(oo["issue"][0]["expression"][0], "_include", "{bad}: {oo}");
    }
    // declared in the CapabilityStatement
    let (_, cs, _) = fhir_get(&s, "", "/fhir/metadata").await;
    let resources = cs["rest"][0]["resource"].as_array().unwrap();
    let of = |ty: &str| resources.iter().find(|r| r["type"] == ty).unwrap();
    assert_eq!(of("Observation")["searchInclude"], json!(["Observation:patient"]));
    assert_eq!(of("EpisodeOfCare")["searchInclude"], json!(["EpisodeOfCare:patient"]));
    assert!(of("Patient").get("searchInclude").is_none());
    let count = of("Condition")["searchParam"].as_array().unwrap().iter().find(|p| p["name"] == "_count").unwrap();
    let doc = count["documentation"].as_str().unwrap();
    assert!(doc.contains("50") && doc.contains("1000"), "{doc}");
    assert!(of("Condition")["searchParam"].as_array().unwrap().iter().any(|p| p["name"] == "_page_token"));
}

/// Every row of the record stamped at a fixed instant in 2023 (the demo's
/// clinical timestamps run to its data cut-off, after today).
fn backdated(mut r: PatientRecord) -> PatientRecord {
    const AT: i64 = 1_700_000_000_000;
    macro_rules! stamp {
        ($($v:ident),*) => {$(for x in &mut r.$v { x.created_at_ms = AT; x.updated_at_ms = AT; })*};
    }
    if let Some(p) = r.patient.as_mut() {
        p.created_at_ms = AT;
        p.updated_at_ms = AT;
    }
    for a in &mut r.assessments {
        a.stored.created_at_ms = AT;
        a.stored.updated_at_ms = AT;
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

/// Run an export from `path` to its manifest.
async fn export(s: &Server, token: &str, path: &str) -> Value {
    let r = s.http.get(s.url(path)).bearer_auth(token).header("prefer", "respond-async").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{path}");
    let status_url = r.headers()["content-location"].to_str().unwrap().to_owned();
    loop {
        let r = s.http.get(&status_url).bearer_auth(token).send().await.unwrap();
        match r.status() {
            StatusCode::ACCEPTED => tokio::time::sleep(Duration::from_millis(50)).await,
            StatusCode::OK => return r.json().await.unwrap(),
            other => panic!("status {other}: {}", r.text().await.unwrap()),
        }
    }
}

/// The NDJSON lines of a manifest, by type.
async fn exported_lines(s: &Server, token: &str, manifest: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for o in manifest["output"].as_array().unwrap() {
        let text =
            s.http.get(o["url"].as_str().unwrap()).bearer_auth(token).send().await.unwrap().text().await.unwrap();
        for l in text.lines() {
            out.push((o["type"].as_str().unwrap().to_owned(), serde_json::from_str(l).unwrap()));
        }
    }
    out
}

/// The patient an exported resource belongs to.
fn owner(r: &Value) -> String {
    if r["resourceType"] == "Patient" {
        return r["id"].as_str().unwrap().to_owned();
    }
    let reference = r["subject"]["reference"].as_str().or(r["patient"]["reference"].as_str()).unwrap();
    reference.strip_prefix("Patient/").unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn export_since_the_last_transaction_time_sends_only_the_changed_patient() {
    let s = Server::start().await;
    let records: Vec<PatientRecord> = cohort(4).into_iter().map(backdated).collect();
    s.db.store.insert_patient_records(&records).await.unwrap();
    let t = s.user("clin", Role::Clinician, None).await;
    let first = export(&s, &t, "/fhir/$export").await;
    let all = exported_lines(&s, &t, &first).await;
    assert_eq!(all.iter().filter(|(ty, _)| ty == "Patient").count(), 4);
    let since = first["transactionTime"].as_str().unwrap().to_owned();
    assert!(since.ends_with('Z') && since.len() == 24, "{since}");

    // Nothing changed: an export since then is empty.
    let none = export(&s, &t, &format!("/fhir/$export?_since={since}")).await;
    assert_eq!(none["output"], json!([]), "{none}");

    // Change one patient through the API.
    let id = records[2].patient.as_ref().unwrap().id.clone();
    let (_, patient) = s.get(&t, &format!("/api/v1/patients/{id}")).await;
    let version = patient["version"].as_i64().unwrap();
    let mut changed = patient.clone();
    for stamp in ["id", "version", "created_at_ms", "updated_at_ms"] {
        changed.as_object_mut().unwrap().remove(stamp);
    }
    changed["given_name"] = json!("Changed");
    let (st, updated) = s.put(&t, &format!("/api/v1/patients/{id}"), version, changed).await;
    assert_eq!(st, StatusCode::OK, "{updated}");

    for level in ["/fhir/$export", "/fhir/Patient/$export"] {
        let second = export(&s, &t, &format!("{level}?_since={since}")).await;
        assert!(second["request"].as_str().unwrap().contains("_since="), "{second}");
        let lines = exported_lines(&s, &t, &second).await;
        assert!(!lines.is_empty());
        assert!(lines.iter().all(|(_, r)| owner(r) == id), "{level}: only the changed patient");
        // that patient's whole record, as the first export had it but the name
        let before = all.iter().filter(|(_, r)| owner(r) == id).count();
        assert_eq!(lines.len(), before, "{level}");
        let p = lines.iter().find(|(ty, _)| ty == "Patient").unwrap();
        assert_eq!(p.1["name"][0]["given"][0], "Changed");
        // an offset instant means the same moment
        let offset = since.replace('Z', "+00:00").replace('+', "%2B");
        let same = export(&s, &t, &format!("{level}?_since={offset}")).await;
        assert_eq!(exported_lines(&s, &t, &same).await.len(), lines.len());
    }
    // A change after the second export's transactionTime... is none yet: later instants give nothing.
    let later = export(&s, &t, "/fhir/$export?_since=2999-01-01T00:00:00Z").await;
    assert_eq!(later["output"], json!([]));

    for bad in ["yesterday", "2024-01-01", "2024-01-01T00:00:00", "2024-01-01t00:00:00z", "2024-13-01T00:00:00Z"] {
        for level in ["/fhir/$export", "/fhir/Patient/$export"] {
            let (st, oo, _) = fhir_get(&s, &t, &format!("{level}?_since={bad}")).await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {oo}");
            assert_eq!(oo["issue"][0]["expression"][0], "_since", "{bad}: {oo}");
        }
    }
    let (st, oo, _) = fhir_get(&s, &t, &format!("/fhir/$export?_since={since}&_since={since}")).await;
    assert_eq!((st, oo["issue"][0]["expression"][0].as_str()), (StatusCode::BAD_REQUEST, Some("_since")));
}
