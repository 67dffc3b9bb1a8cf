//! The HTTP API end to end: a real server on a free port over a fresh
//! database, driven with an HTTP client. Written once, run per engine.

mod analytics;
mod care;
mod fhir;
mod ops;
mod password;

use crate::harness::TestDb;
use limbpath_record::{Role, UserData};
use limbpath_server::{AppState, Config, router};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

const PASSWORD: &str = "correct horse battery staple";

struct Server {
    db: TestDb,
    base: String,
    http: Client,
}

impl Server {
    async fn start() -> Server {
        let db = TestDb::new().await;
        let state = Arc::new(AppState::new(db.store.clone(), Config::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
        let addr = listener.local_addr().expect("local addr");
        let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Server { db, base: format!("http://{addr}"), http: Client::new() }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A user of `role` (created through the store) and their bearer token (through the API).
    async fn user(&self, username: &str, role: Role, patient_id: Option<&str>) -> String {
        let data = UserData {
            username: username.into(),
            display_name: format!("{username} (test)"),
            role,
            patient_id: patient_id.map(str::to_owned),
        };
        self.db.store.create_user(data, PASSWORD).await.expect("create user");
        let r = self
            .http
            .post(self.url("/api/v1/session"))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "login {username}");
        assert!(r.headers()["set-cookie"].to_str().unwrap().contains("HttpOnly"));
        let body: Value = r.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self.http.post(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// POST `body` as sent, under `content_type`: for bodies that are not JSON, or not only JSON.
    async fn post_raw(
        &self,
        token: &str,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Result<reqwest::Response> {
        self.http.post(self.url(path)).bearer_auth(token).header("content-type", content_type).body(body).send().await
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let r = self.http.get(self.url(path)).bearer_auth(token).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn put(&self, token: &str, path: &str, version: i64, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .put(self.url(path))
            .bearer_auth(token)
            .header("If-Match", format!("\"{version}\""))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn audit_rows(&self) -> i64 {
        self.db.store.count_audit().await.unwrap()
    }

    async fn patients(&self) -> i64 {
        self.db.store.count_patients().await.unwrap()
    }
}

fn patient_body(mrn: &str, family: &str) -> Value {
    json!({
        "mrn": mrn, "site": "Test Site", "family_name": family, "given_name": "Alex",
        "birth_date": "1956-04-02", "sex": "male", "diabetes": "type_2", "hba1c_percent": 7.9,
        "ckd_stage": 3, "dialysis": false, "smoking": "former", "bmi": 28.0, "ambulatory_status": "independent"
    })
}

/// A patient with a limb and an open CLTI episode; returns (patient, limb, episode) ids.
async fn chart(s: &Server, token: &str, mrn: &str, family: &str) -> (String, String, String) {
    let (st, p) = s.post(token, "/api/v1/patients", patient_body(mrn, family)).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let pid = p["id"].as_str().unwrap().to_owned();
    let (st, l) = s
        .post(
            token,
            "/api/v1/limbs",
            json!({"patient_id": pid, "side": "left", "kind": "lower", "amputation_level": null}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{l}");
    let lid = l["id"].as_str().unwrap().to_owned();
    let (st, e) = s
        .post(token, "/api/v1/episodes", json!({"limb_id": lid, "aetiology": "clti", "status": "treatment", "opened_on": "2025-01-10", "closed_on": null}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{e}");
    (pid, lid, e["id"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn create_read_update_list_every_entity() {
    let s = Server::start().await;
    let token = s.user("clin", Role::Clinician, None).await;
    let (pid, lid, eid) = chart(&s, &token, "MRN-1", "Okafor").await;

    // Every child entity of an episode: create, read back, list under its parent.
    let children: Vec<(&str, Value)> = vec![
        (
            "assessments",
            json!({"episode_id": eid, "assessed_on": "2025-01-12", "findings": {"wound_grade": 2, "ischaemia_grade": 3, "infection_grade": 1}}),
        ),
        ("wounds", json!({"episode_id": eid, "location": "plantar_heel", "noted_on": "2025-01-12", "healed_on": null})),
        (
            "vascular-studies",
            json!({"episode_id": eid, "performed_on": "2025-01-11", "kind": "abi",
            "pressures": {"brachial_left_mmhg": 140, "left": {"dorsalis_pedis_mmhg": 70}}, "tcpo2_mmhg": null}),
        ),
        (
            "imaging-studies",
            json!({"episode_id": eid, "performed_on": "2025-01-13", "modality": "angiography",
            "arterial_segments": {"fp_grade": 2, "fp_severe_calcification": false, "ip_grade": 3, "ip_severe_calcification": false}, "dexa_t_score": null}),
        ),
        (
            "procedures",
            json!({"episode_id": eid, "performed_on": "2025-01-20", "kind": "pta", "amputation_level": null,
            "target_arteries": ["posterior_tibial"], "angiosome_route": "direct"}),
        ),
        (
            "outcome-events",
            json!({"episode_id": eid, "occurred_on": "2025-04-01", "kind": "wound_healed", "amputation_level": null}),
        ),
        (
            "consents",
            json!({"episode_id": eid, "consented_to": "left tibial angioplasty", "consented_on": "2025-01-15", "given_to": "Dr Lee", "withdrawn_on": null}),
        ),
        (
            "care-team-members",
            json!({"episode_id": eid, "user_id": null, "name": "Sam Patel", "discipline": "care_coordination", "lead": true}),
        ),
    ];
    for (path, body) in children {
        let (st, created) = s.post(&token, &format!("/api/v1/{path}"), body).await;
        assert_eq!(st, StatusCode::CREATED, "{path}: {created}");
        let id = created["id"].as_str().unwrap();
        let (st, read) = s.get(&token, &format!("/api/v1/{path}/{id}")).await;
        assert_eq!(st, StatusCode::OK, "{path}");
        assert_eq!(read, created, "{path} reads back as created");
        let (st, list) = s.get(&token, &format!("/api/v1/episodes/{eid}/{path}")).await;
        assert_eq!(st, StatusCode::OK, "{path} list");
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{path} list");
    }

    // The assessment carries its derived classifications and engine version.
    let (_, list) = s.get(&token, &format!("/api/v1/episodes/{eid}/assessments")).await;
    let a = &list["items"][0];
    assert_eq!(a["derived"]["result"]["wifi"]["stage"]["stage"], 4);
    assert_eq!(a["derived"]["engine_version"], limbpath_clinical::ENGINE_VERSION);

    // Wound measurements list under their wound.
    let (_, wounds) = s.get(&token, &format!("/api/v1/episodes/{eid}/wounds")).await;
    let wid = wounds["items"][0]["id"].as_str().unwrap().to_owned();
    for (day, l) in [("2025-01-12", 4.0), ("2025-02-09", 2.0)] {
        let (st, m) = s
            .post(&token, "/api/v1/wound-measurements", json!({"wound_id": wid, "measured_on": day, "length_cm": l, "width_cm": 2.5, "depth_cm": null, "area_cm2": null}))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{m}");
    }
    let (st, ms) = s.get(&token, &format!("/api/v1/wounds/{wid}/wound-measurements")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ms["items"].as_array().unwrap().len(), 2);

    // Update with If-Match bumps the version; the limb list and patient search see the patient.
    let (_, p) = s.get(&token, &format!("/api/v1/patients/{pid}")).await;
    let mut changed = patient_body("MRN-1", "Okafor");
    changed["bmi"] = json!(27.5);
    let (st, updated) =
        s.put(&token, &format!("/api/v1/patients/{pid}"), p["version"].as_i64().unwrap(), changed).await;
    assert_eq!(st, StatusCode::OK, "{updated}");
    assert_eq!(updated["version"], p["version"].as_i64().unwrap() + 1);
    assert_eq!(updated["bmi"], 27.5);
    let (_, limbs) = s.get(&token, &format!("/api/v1/patients/{pid}/limbs")).await;
    assert_eq!(limbs["items"][0]["id"], lid.as_str());
    let (st, found) = s.get(&token, "/api/v1/patients?q=okaf").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(found["items"][0]["id"], pid.as_str());
    let (st, found) = s.get(&token, "/api/v1/patients?q=MRN-1").await;
    assert_eq!((st, found["items"].as_array().unwrap().len()), (StatusCode::OK, 1));
    let (st, found) = s.get(&token, "/api/v1/patients?q=okaf&aetiology=clti").await;
    assert_eq!((st, found["items"].as_array().unwrap().len()), (StatusCode::OK, 1), "{found}");
    let (st, found) = s.get(&token, "/api/v1/patients?q=okaf&aetiology=tumour").await;
    assert_eq!((st, found["items"].as_array().unwrap().len()), (StatusCode::OK, 0), "{found}");
    let (st, problem) = s.get(&token, "/api/v1/patients?aetiology=gout").await;
    assert_eq!((st, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("aetiology")));
    let (_, record) = s.get(&token, &format!("/api/v1/patients/{pid}/record")).await;
    assert_eq!(record["episodes"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_update_is_412_and_changes_nothing() {
    let s = Server::start().await;
    let token = s.user("clin", Role::Clinician, None).await;
    let (pid, _, _) = chart(&s, &token, "MRN-2", "Nakamura").await;
    let mut first = patient_body("MRN-2", "Nakamura");
    first["bmi"] = json!(30.0);
    let (st, _) = s.put(&token, &format!("/api/v1/patients/{pid}"), 1, first).await;
    assert_eq!(st, StatusCode::OK);
    let mut stale = patient_body("MRN-2", "Nakamura");
    stale["bmi"] = json!(22.0);
    let (st, problem) = s.put(&token, &format!("/api/v1/patients/{pid}"), 1, stale).await;
    assert_eq!(st, StatusCode::PRECONDITION_FAILED, "{problem}");
    assert_eq!(problem["type"], "/problems/stale-version");
    let (_, now) = s.get(&token, &format!("/api/v1/patients/{pid}")).await;
    assert_eq!((now["version"].as_i64(), now["bmi"].as_f64()), (Some(2), Some(30.0)));
    // no If-Match at all: 428
    let r = s
        .http
        .put(s.url(&format!("/api/v1/patients/{pid}")))
        .bearer_auth(&token)
        .json(&patient_body("MRN-2", "Nakamura"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_REQUIRED);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_are_4xx_naming_the_field_and_store_nothing() {
    let s = Server::start().await;
    let token = s.user("clin", Role::Clinician, None).await;
    let (_, _, eid) = chart(&s, &token, "MRN-3", "Silva").await;
    let before = s.patients().await;

    // malformed JSON
    let r = s.post_raw(&token, "/api/v1/patients", "application/json", "{\"mrn\": ").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // a whole patient, then more than whitespace
    let trailing = format!("{} {{\"mrn\": \"MRN-5\"}}", patient_body("MRN-4", "Silva"));
    let r = s.post_raw(&token, "/api/v1/patients", "application/json", trailing).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let p: Value = r.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("trailing characters"), "{p}");
    // wrong type
    let mut wrong = patient_body("MRN-4", "Silva");
    wrong["bmi"] = json!("heavy");
    let (st, p) = s.post(&token, "/api/v1/patients", wrong).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bmi")));
    // unknown field
    let mut unknown = patient_body("MRN-4", "Silva");
    unknown["favourite_colour"] = json!("blue");
    let (st, p) = s.post(&token, "/api/v1/patients", unknown).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    // out-of-range value
    let mut impossible = patient_body("MRN-4", "Silva");
    impossible["hba1c_percent"] = json!(95);
    let (st, p) = s.post(&token, "/api/v1/patients", impossible).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("hba1c_percent")));
    // an impossible ABI inside an assessment's findings
    let (st, p) = s
        .post(
            &token,
            "/api/v1/assessments",
            json!({"episode_id": eid, "assessed_on": "2025-01-12", "findings": {"ischaemia": {"abi": -1}}}),
        )
        .await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("findings.ischaemia.abi")), "{p}");
    let (_, list) = s.get(&token, &format!("/api/v1/episodes/{eid}/assessments")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "nothing stored");
    // a parent that does not exist
    let (st, p) = s
        .post(&token, "/api/v1/limbs", json!({"patient_id": "0192f0c5-3b1e-7c2a-9f00-1a2b3c4d5e6f", "side": "left", "kind": "lower", "amputation_level": null}))
        .await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("patient_id")), "{p}");
    // a 50 MB body
    let huge = format!("{{\"mrn\": \"{}\"}}", "x".repeat(50 * 1024 * 1024));
    let r = s.post_raw(&token, "/api/v1/patients", "application/json", huge).await;
    if let Ok(r) = r {
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    // wrong content type
    let r = s.post_raw(&token, "/api/v1/patients", "text/plain", patient_body("MRN-5", "X").to_string()).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // a duplicate MRN at the same site
    let (st, p) = s.post(&token, "/api/v1/patients", patient_body("MRN-3", "Other")).await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");

    assert_eq!(s.patients().await, before, "no patient stored by any bad request");
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_against_every_endpoint_family() {
    let s = Server::start().await;
    let admin = s.user("admin", Role::Admin, None).await;
    let clinician = s.user("clin", Role::Clinician, None).await;
    let coordinator = s.user("coord", Role::Coordinator, None).await;
    let analyst = s.user("analyst", Role::Analyst, None).await;
    let (pid, _, eid) = chart(&s, &clinician, "MRN-10", "Haddad").await;
    let (other, _, other_episode) = chart(&s, &clinician, "MRN-11", "Kowalski").await;
    let patient = s.user("pat", Role::Patient, Some(&pid)).await;

    let patient_read = format!("/api/v1/patients/{pid}");
    let audit = format!("/api/v1/audit?patient={pid}");
    // (token, read patient, search, create patient, read audit, list users)
    let expect = [
        (&admin, StatusCode::OK, StatusCode::OK, StatusCode::CREATED, StatusCode::OK, StatusCode::OK),
        (&clinician, StatusCode::OK, StatusCode::OK, StatusCode::CREATED, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
        (
            &coordinator,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::CREATED,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
        ),
        (
            &analyst,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
        ),
        (
            &patient,
            StatusCode::OK,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
        ),
    ];
    for (i, (token, read, search, create, audit_status, users)) in expect.iter().enumerate() {
        assert_eq!(s.get(token, &patient_read).await.0, *read, "role {i} read");
        assert_eq!(s.get(token, "/api/v1/patients?q=had").await.0, *search, "role {i} search");
        assert_eq!(
            s.post(token, "/api/v1/patients", patient_body(&format!("MRN-R{i}"), "Role")).await.0,
            *create,
            "role {i} create"
        );
        assert_eq!(s.get(token, &audit).await.0, *audit_status, "role {i} audit");
        assert_eq!(s.get(token, "/api/v1/users").await.0, *users, "role {i} users");
    }

    // A patient reads their own chart but never another patient's: 404, audited as denied.
    assert_eq!(s.get(&patient, &format!("/api/v1/episodes/{eid}/assessments")).await.0, StatusCode::OK);
    let before = s.audit_rows().await;
    assert_eq!(s.get(&patient, &format!("/api/v1/patients/{other}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get(&patient, &format!("/api/v1/episodes/{other_episode}/wounds")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get(&patient, &format!("/api/v1/patients/{other}/record")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.audit_rows().await, before + 3);
    let (_, trail) = s.get(&admin, &format!("/api/v1/audit?patient={other}")).await;
    let denied: Vec<&Value> = trail["items"].as_array().unwrap().iter().filter(|e| e["outcome"] == "denied").collect();
    assert_eq!(denied.len(), 3, "{trail}");
    assert!(denied.iter().all(|e| e["username"] == "pat"));

    // No credential, or a forged one: 401, audited.
    let before = s.audit_rows().await;
    let r = s.http.get(s.url(&patient_read)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("forged-token", &patient_read).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.audit_rows().await, before + 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_patient_data_request_is_audited_and_sessions_end() {
    let s = Server::start().await;
    let admin = s.user("admin", Role::Admin, None).await;
    let (pid, _, _) = chart(&s, &admin, "MRN-20", "Ibrahim").await;
    let before = s.audit_rows().await;
    for _ in 0..3 {
        assert_eq!(s.get(&admin, &format!("/api/v1/patients/{pid}")).await.0, StatusCode::OK);
    }
    assert_eq!(s.audit_rows().await, before + 3);
    let (_, trail) = s.get(&admin, &format!("/api/v1/audit?patient={pid}")).await;
    assert!(
        trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "read" && e["outcome"] == "ok" && e["username"] == "admin")
    );

    // logout ends the session
    let r = s.http.delete(s.url("/api/v1/session")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.get(&admin, &format!("/api/v1/patients/{pid}")).await.0, StatusCode::UNAUTHORIZED);

    // wrong passwords are refused, then locked out
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = s
            .http
            .post(s.url("/api/v1/session"))
            .json(&json!({"username": "admin", "password": "wrong password!!"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(*statuses.last().unwrap(), StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_document_is_served() {
    let s = Server::start().await;
    let r = s.http.get(s.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/assessments"]["post"].is_object());
}

mod hostile;
mod patient_edit;
mod visits;
