//! The patient between visits over HTTP (issue 6): check-ins, the alert
//! worklist and its escalation (driven by moving the server's clock, never by
//! sleeping), grouping, acknowledgement, plans and their logs, flags, and a
//! patient's scope.

use super::{Server, chart};
use limbpath_record::Role;
use limbpath_server::visits::Clock;
use limbpath_server::{AppState, Config, router};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

const MINUTE: i64 = 60_000;

/// A server whose clock the test moves.
async fn start() -> (Server, Clock) {
    let db = crate::harness::TestDb::new().await;
    let mut state = AppState::new(db.store.clone(), Config::default());
    let clock = Clock::system();
    state.clock = clock.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
    let addr = listener.local_addr().expect("local addr");
    let app = router(Arc::new(state)).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (Server { db, base: format!("http://{addr}"), http: reqwest::Client::new() }, clock)
}

/// A patient with an osseointegrated implant (procedure in an open episode)
/// and the patient's own account; returns (patient id, patient token).
async fn oi_patient(s: &Server, clin: &str, mrn: &str, username: &str) -> (String, String) {
    let (pid, _lid, eid) = chart(s, clin, mrn, "Osei").await;
    let (st, p) = s
        .post(
            clin,
            "/api/v1/procedures",
            json!({"episode_id": eid, "performed_on": "2025-01-20", "kind": "osseointegration_implant_standard",
                   "amputation_level": null, "target_arteries": [], "angiosome_route": null}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let token = s.user(username, Role::Patient, Some(&pid)).await;
    (pid, token)
}

fn alerts_of<'a>(worklist: &'a Value, pid: &str) -> Vec<&'a Value> {
    worklist["items"].as_array().unwrap().iter().filter(|a| a["patient_id"] == pid).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fever_check_in_raises_an_urgent_alert_the_team_sees_and_it_escalates_until_acknowledged() {
    let (s, clock) = start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (pid, me) = oi_patient(&s, &clin, "MRN-F", "pat").await;

    // 39 °C > 38.5 °C (§12.8): the top level, told to the patient at once.
    let (st, answer) = s.post(&me, &format!("/api/v1/patients/{pid}/check-ins"), json!({"temperature_c": 39.0})).await;
    assert_eq!(st, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["level"], "contact_team_immediately");
    assert_eq!(answer["level_label"], "Urgent — contact the team now");
    assert!(answer["instruction"].as_str().unwrap().contains("Contact the osseointegration team immediately"));
    assert!(!answer["decision"]["source_ids"].as_array().unwrap().is_empty());
    assert_eq!(answer["context"]["value"]["osseointegrated_implant"], true);
    assert_eq!(answer["alerts"].as_array().unwrap().len(), 1);

    // The team's next request sees it, at the top, awaiting acknowledgement.
    let (st, list) = s.get(&clin, "/api/v1/alerts").await;
    assert_eq!(st, StatusCode::OK, "{list}");
    assert_eq!(list["policy"]["source"], "demo_default");
    let mine = alerts_of(&list, &pid);
    assert_eq!(mine.len(), 1);
    let alert = mine[0];
    assert_eq!(alert["level"], "contact_team_immediately");
    assert_eq!(alert["high_priority"], true);
    assert_eq!(alert["patient_name"], "Osei, Alex");
    assert_eq!(alert["escalation"]["status"], "awaiting_acknowledgement");
    assert_eq!(alert["escalation"]["next_step"]["notify"], "osseointegration team nurse on call");
    let id = alert["id"].as_str().unwrap().to_owned();

    // Not acknowledged: 16 minutes on, the first step (15 min) is reached; 31 minutes on, the second.
    clock.advance(16 * MINUTE);
    let (_, list) = s.get(&clin, "/api/v1/alerts").await;
    let a = alerts_of(&list, &pid)[0].clone();
    assert_eq!(a["escalation"]["status"], "escalated");
    assert_eq!(a["escalation"]["steps_reached"].as_array().unwrap().len(), 1);
    clock.advance(15 * MINUTE);
    let (_, list) = s.get(&clin, "/api/v1/alerts").await;
    assert_eq!(alerts_of(&list, &pid)[0]["escalation"]["steps_reached"].as_array().unwrap().len(), 2);

    // A patient cannot read the worklist nor acknowledge.
    let (st, p) = s.get(&me, "/api/v1/alerts").await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{p}");
    let (st, _) = s.post(&me, &format!("/api/v1/alerts/{id}/acknowledge"), json!({})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Acknowledged: escalation stops; two hours later it is still two steps, acknowledged.
    let (st, acked) = s.post(&clin, &format!("/api/v1/alerts/{id}/acknowledge"), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{acked}");
    assert_eq!(acked["escalation"]["status"], "acknowledged");
    assert!(acked["acknowledged_by"].is_string());
    clock.advance(120 * MINUTE);
    let (_, list) = s.get(&clin, "/api/v1/alerts").await;
    let a = alerts_of(&list, &pid)[0];
    assert_eq!(a["escalation"]["status"], "acknowledged");
    assert_eq!(a["escalation"]["steps_reached"].as_array().unwrap().len(), 2);

    // The patient's flags: the implant and the open high-priority alert.
    let (st, flags) = s.get(&me, &format!("/api/v1/patients/{pid}/flags")).await;
    assert_eq!(st, StatusCode::OK, "{flags}");
    let kinds: Vec<&str> = flags["items"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"osseointegrated_implant"), "{kinds:?}");
    assert!(kinds.contains(&"open_high_priority_alert"), "{kinds:?}");

    // Audited: the check-in, the reads and the acknowledgement name the patient.
    let trail = s.db.store.audit_for_patient(&pid, None, 200).await.unwrap();
    let actions: Vec<String> = trail
        .items
        .iter()
        .map(|e| format!("{}:{}", e.entry.action, e.entry.entity.clone().unwrap_or_default()))
        .collect();
    assert!(actions.contains(&"create:check_in".to_owned()), "{actions:?}");
    assert!(actions.contains(&"acknowledge:alert".to_owned()), "{actions:?}");
    assert!(actions.contains(&"list:alert".to_owned()), "{actions:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_identical_check_ins_make_one_grouped_alert() {
    let (s, _clock) = start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (pid, me) = oi_patient(&s, &clin, "MRN-G", "pat").await;
    for _ in 0..10 {
        let (st, a) = s.post(&me, &format!("/api/v1/patients/{pid}/check-ins"), json!({"chills": true})).await;
        assert_eq!(st, StatusCode::CREATED, "{a}");
    }
    let (_, list) = s.get(&clin, "/api/v1/alerts").await;
    let mine = alerts_of(&list, &pid);
    assert_eq!(mine.len(), 1, "{list}");
    assert_eq!(mine[0]["count"], 10);
    assert_eq!(mine[0]["kind"]["kind"], "check_in_rule");
    let (_, history) = s.get(&clin, &format!("/api/v1/patients/{pid}/check-ins")).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 10, "every check-in is kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_in_errors_are_problems_naming_the_field() {
    let (s, _clock) = start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (pid, me) = oi_patient(&s, &clin, "MRN-E", "pat").await;
    let path = format!("/api/v1/patients/{pid}/check-ins");
    let (st, p) = s.post(&me, &path, json!({"temperature_c": 60.0})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "temperature_c");
    let (st, p) = s.post(&me, &path, json!({"pain_nrs": 11})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "pain_nrs");
    let (st, p) = s.post(&me, &path, json!({"bleeding": "a lot"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "bleeding");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patient_never_sees_another_patients_plan_or_alerts() {
    let (s, _clock) = start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (mine, me) = oi_patient(&s, &clin, "MRN-A", "alice").await;
    let (theirs, them) = oi_patient(&s, &clin, "MRN-B", "bob").await;
    let (st, _) = s.post(&them, &format!("/api/v1/patients/{theirs}/check-ins"), json!({"temperature_c": 39.5})).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, plan) = s
        .post(
            &clin,
            &format!("/api/v1/patients/{theirs}/oi-plans"),
            json!({"input": oi_input(80.0), "settings": rates()}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{plan}");
    let plan_id = plan["plan"]["id"].as_str().unwrap().to_owned();
    let (st, lplan) = s
        .post(&clin, &format!("/api/v1/patients/{theirs}/lengthening-plans"), json!({"input": lengthening_input()}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{lplan}");
    let lplan_id = lplan["plan"]["id"].as_str().unwrap().to_owned();

    let denied_before = denied(&s, &theirs).await;
    for path in [
        format!("/api/v1/patients/{theirs}/alerts"),
        format!("/api/v1/patients/{theirs}/flags"),
        format!("/api/v1/patients/{theirs}/check-ins"),
        format!("/api/v1/patients/{theirs}/oi-plans"),
        format!("/api/v1/patients/{theirs}/lengthening-plans"),
        format!("/api/v1/oi-plans/{plan_id}"),
        format!("/api/v1/oi-plans/{plan_id}/review"),
        format!("/api/v1/lengthening-plans/{lplan_id}"),
        format!("/api/v1/lengthening-plans/{lplan_id}/review"),
    ] {
        let (st, p) = s.get(&me, &path).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}: {p}");
        assert!(p.to_string().find("Osei").is_none(), "{path} leaks nothing");
    }
    for (path, body) in [
        (format!("/api/v1/patients/{theirs}/check-ins"), json!({"chills": true})),
        (format!("/api/v1/oi-plans/{plan_id}/log"), json!({"date": "2025-03-04", "load_kg": 5.0, "pain_nrs": 1})),
        (format!("/api/v1/lengthening-plans/{lplan_id}/log"), json!({"date": "2025-01-13", "turns": 4})),
    ] {
        let (st, p) = s.post(&me, &path, body).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}: {p}");
    }
    // Nothing was written for the other patient, and every attempt was audited as denied.
    assert_eq!(denied(&s, &theirs).await, denied_before + 12);
    let (_, list) = s.get(&clin, "/api/v1/alerts").await;
    assert_eq!(alerts_of(&list, &theirs)[0]["count"], 1);
    // The patient's own alerts are readable (none yet), and a patient cannot create a plan.
    let (st, own) = s.get(&me, &format!("/api/v1/patients/{mine}/alerts")).await;
    assert_eq!((st, own["items"].as_array().unwrap().len()), (StatusCode::OK, 0));
    let (st, _) = s
        .post(&me, &format!("/api/v1/patients/{mine}/oi-plans"), json!({"input": oi_input(80.0), "settings": rates()}))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

async fn denied(s: &Server, pid: &str) -> usize {
    let trail = s.db.store.audit_for_patient(pid, None, 500).await.unwrap();
    trail.items.iter().filter(|e| matches!(e.entry.outcome, limbpath_store::AuditOutcome::Denied)).count()
}

/// A programme's rates, chosen for the tests (not from the reference pack).
fn rates() -> Value {
    json!({"version": "test-1", "loading_rates": {"normal_kg_per_day": 5.0, "osteopenia_kg_per_day": 2.5, "osteoporosis_kg_per_day": 1.0}, "t_score_bands": null})
}

fn oi_input(weight: f64) -> Value {
    json!({"surgery_date": "2025-03-03", "body_weight_kg": weight, "amputation_level": "transfemoral",
           "bone": {"dexa_t_score": null, "clinician_category": "normal"}, "clinician_kg_per_day": null,
           "phase_one_start_day": null, "gait_training_started_on": null, "final_prosthesis_fitted_on": null, "through_day": null})
}

fn lengthening_input() -> Value {
    json!({"target": {"from": "millimetres", "mm": 40.0}, "osteotomy_date": "2025-01-06", "latency_days": 7,
           "rate_mm_per_day": 1.0, "turns_per_day": 4, "mm_per_turn": 0.25, "healing_index_days_per_cm": 41.4,
           "healing_index_counts_from": "osteotomy"})
}

#[tokio::test(flavor = "multi_thread")]
async fn oi_plans_are_created_day_by_day_and_the_loading_log_is_reviewed() {
    let (s, _clock) = start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (pid, me) = oi_patient(&s, &clin, "MRN-O", "pat").await;
    let path = format!("/api/v1/patients/{pid}/oi-plans");

    // No rate: the reference gives none and the programme has not set one.
    let (st, p) = s.post(&clin, &path, json!({"input": oi_input(80.0)})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "settings");
    let (st, p) = s.post(&clin, &path, json!({"input": oi_input(-3.0), "settings": rates()})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "input.body_weight_kg");

    // 120 kg: target min(60, 50) = 50 kg (the cap); 80 kg: 40 kg. 5 kg on day 1, +5 kg/day.
    let (st, big) = s.post(&clin, &path, json!({"input": oi_input(120.0), "settings": rates()})).await;
    assert_eq!(st, StatusCode::CREATED, "{big}");
    assert_eq!(big["computed"]["target_load_kg"]["value"], 50.0);
    let (st, plan) = s.post(&clin, &path, json!({"input": oi_input(80.0), "settings": rates()})).await;
    assert_eq!(st, StatusCode::CREATED, "{plan}");
    assert_eq!(plan["computed"]["target_load_kg"]["value"], 40.0);
    let days = plan["computed"]["days"].as_array().unwrap();
    let loads: Vec<f64> = days.iter().map(|d| d["target_load_kg"].as_f64().unwrap()).collect();
    assert_eq!(loads, [5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0]);
    assert_eq!(days[0]["date"], "2025-03-04");
    let id = plan["plan"]["id"].as_str().unwrap().to_owned();

    // The latest plan is what the patient sees.
    let (st, latest) = s.get(&me, &path).await;
    assert_eq!(st, StatusCode::OK, "{latest}");
    assert_eq!(latest["plan"]["id"], id);

    // The patient logs day 1 as planned, twice: no deviation. Day 2 under target: a deviation alert.
    for _ in 0..2 {
        let (st, l) = s
            .post(
                &me,
                &format!("/api/v1/oi-plans/{id}/log"),
                json!({"date": "2025-03-04", "load_kg": 5.0, "pain_nrs": 2}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{l}");
        assert!(l["alerts"].as_array().unwrap().is_empty(), "the day is not over: {l}");
    }
    let (st, l) = s
        .post(
            &me,
            &format!("/api/v1/oi-plans/{id}/log"),
            json!({"date": "2025-03-05", "load_kg": 6.0, "pain_nrs": null}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{l}");
    let kinds: Vec<&str> =
        l["review"]["deviations"].as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"under_target"), "{kinds:?}");
    assert!(l["alerts"].as_array().unwrap().iter().any(|a| a["kind"]["deviation"] == "under_target"), "{l}");
    let (st, p) = s
        .post(
            &me,
            &format!("/api/v1/oi-plans/{id}/log"),
            json!({"date": "2025-03-01", "load_kg": 5.0, "pain_nrs": null}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "date");

    let (st, review) = s.get(&clin, &format!("/api/v1/oi-plans/{id}/review?as_of=2025-03-05")).await;
    assert_eq!(st, StatusCode::OK, "{review}");
    assert_eq!(review["logged_sessions"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lengthening_log_that_falls_behind_raises_its_alert() {
    let (s, _clock) = start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (pid, me) = oi_patient(&s, &clin, "MRN-L", "pat").await;
    let (st, plan) = s
        .post(&clin, &format!("/api/v1/patients/{pid}/lengthening-plans"), json!({"input": lengthening_input()}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{plan}");
    // Latency 7 after the osteotomy on 6 January: distraction starts on 13 January, 4 turns a day.
    assert_eq!(plan["computed"]["distraction_starts_on"], "2025-01-13");
    let id = plan["plan"]["id"].as_str().unwrap().to_owned();
    let (st, l) =
        s.post(&me, &format!("/api/v1/lengthening-plans/{id}/log"), json!({"date": "2025-01-13", "turns": 4})).await;
    assert_eq!(st, StatusCode::CREATED, "{l}");
    assert!(l["alerts"].as_array().unwrap().is_empty(), "on plan: {l}");
    // Two turns of four on day 2: 0.5 mm behind, past the default tolerance (0).
    let (st, l) =
        s.post(&me, &format!("/api/v1/lengthening-plans/{id}/log"), json!({"date": "2025-01-14", "turns": 2})).await;
    assert_eq!(st, StatusCode::CREATED, "{l}");
    assert_eq!(l["review"]["drift_mm"], -0.5);
    assert_eq!(l["review"]["alert"]["direction"], "behind");
    let (_, list) = s.get(&clin, "/api/v1/alerts").await;
    let mine = alerts_of(&list, &pid);
    assert_eq!(mine.len(), 1, "{list}");
    assert_eq!(mine[0]["kind"], json!({"kind": "distraction_drift", "direction": "behind"}));
    assert_eq!(mine[0]["level"], "contact_team_today");
}

#[tokio::test(flavor = "multi_thread")]
async fn programme_settings_and_instructions_are_the_programmes() {
    let (s, _clock) = start().await;
    let admin = s.user("admin", Role::Admin, None).await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (st, v) = s.get(&clin, "/api/v1/programme/settings/escalation_policy").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (v["source"].as_str(), v["label"].as_str()),
        (Some("demo_default"), Some(limbpath_protocols::PROGRAMME_SETTING))
    );
    let policy = json!({"version": "north-2026", "contact_team_immediately": [{"after_minutes": 10, "notify": "on-call"}], "contact_team_today": []});
    let r = s
        .http
        .put(s.url("/api/v1/programme/settings/escalation_policy"))
        .bearer_auth(&clin)
        .json(&json!({"value": policy}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a clinician may not change settings");
    let r = s
        .http
        .put(s.url("/api/v1/programme/settings/escalation_policy"))
        .bearer_auth(&admin)
        .json(&json!({"value": policy}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bad = json!({"value": {"version": "x", "contact_team_immediately": [{"after_minutes": 10, "notify": ""}], "contact_team_today": []}});
    let r = s
        .http
        .put(s.url("/api/v1/programme/settings/escalation_policy"))
        .bearer_auth(&admin)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["field"], "value.policy.contact_team_immediately[0].notify");
    let (_, list) = s.get(&clin, "/api/v1/alerts").await;
    assert_eq!(list["policy"]["value"]["version"], "north-2026");

    let r = s
        .http
        .put(s.url("/api/v1/programme/instructions/oi_rehab"))
        .bearer_auth(&clin)
        .json(&json!({"text": "Clean the stoma daily with water."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = s
        .http
        .put(s.url("/api/v1/programme/instructions/bogus"))
        .bearer_auth(&clin)
        .json(&json!({"text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, ins) = s.get(&clin, "/api/v1/programme/instructions").await;
    assert_eq!(ins["items"][0]["text"], "Clean the stoma daily with water.");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clinician_closes_an_acknowledged_alert_with_a_note_and_the_patient_list_shows_open_red_flags() {
    let (s, clock) = start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let coord = s.user("coord", Role::Coordinator, None).await;
    let (pid, me) = oi_patient(&s, &clin, "MRN-C", "pat").await;
    let (quiet, _, _) = chart(&s, &clin, "MRN-Q", "Quietly").await;
    let (st, answer) = s.post(&me, &format!("/api/v1/patients/{pid}/check-ins"), json!({"temperature_c": 39.0})).await;
    assert_eq!(st, StatusCode::CREATED, "{answer}");
    let (_, list) = s.get(&clin, "/api/v1/alerts").await;
    let id = alerts_of(&list, &pid)[0]["id"].as_str().unwrap().to_owned();
    let close = |token: String, body: Value| {
        let s = &s;
        let id = id.clone();
        async move { s.post(&token, &format!("/api/v1/alerts/{id}/close"), body).await }
    };

    // The patient list's badge: one red flag, at the urgent level; none for the other patient.
    let page = || async {
        let r = s.http.get(s.url("/patients")).header("Cookie", format!("limbpath_session={clin}")).send().await;
        r.unwrap().text().await.unwrap()
    };
    let html = page().await;
    let row = |html: &str, pid: &str| -> String {
        let at = html.find(&format!("/patients/{pid}\"")).unwrap();
        html[at..].split("</tr>").next().unwrap().to_owned()
    };
    assert!(row(&html, &pid).contains("badge level-urgent\" href=\"/alerts\">1 red flag</a>"), "{}", row(&html, &pid));
    assert!(!row(&html, &quiet).contains("red flag"));

    // Not before acknowledgement; not by a coordinator; not without a note; not by the patient.
    let (st, p) = close(clin.clone(), json!({"note": "called the patient"})).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("acknowledged_at_ms")), "{p}");
    let (st, _) = s.post(&coord, &format!("/api/v1/alerts/{id}/acknowledge"), json!({})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, p) = close(coord.clone(), json!({"note": "called the patient"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{p}");
    // The alerts page offers the close form (note, CSRF) to the clinician only.
    let alerts_page = |token: String| {
        let s = &s;
        async move {
            let r = s.http.get(s.url("/alerts")).header("Cookie", format!("limbpath_session={token}")).send().await;
            r.unwrap().text().await.unwrap()
        }
    };
    let form = format!("action=\"/alerts/{id}/close\"");
    let html = alerts_page(clin.clone()).await;
    assert!(html.contains(&form) && html.contains("name=\"note\"") && html.contains("name=\"_csrf\""), "{html}");
    assert!(!alerts_page(coord.clone()).await.contains(&form));
    let (st, p) = close(me.clone(), json!({"note": "fine now"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{p}");
    let (st, p) = close(clin.clone(), json!({"note": "   "})).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("note")), "{p}");
    let (st, p) = close(clin.clone(), json!({"reason": "x"})).await;
    assert!(st.is_client_error(), "{p}");

    // Closed by the clinician: who, when, the note; off the worklist and the patient list.
    clock.advance(5 * MINUTE);
    let (st, closed) =
        close(clin.clone(), json!({"note": "Seen in clinic: pin-site infection treated, afebrile"})).await;
    assert_eq!(st, StatusCode::OK, "{closed}");
    assert!(closed["closed_at_ms"].is_i64() && closed["closed_by"].is_string(), "{closed}");
    assert_eq!(closed["close_note"], "Seen in clinic: pin-site infection treated, afebrile");
    let (st, again) = close(clin.clone(), json!({"note": "a second note"})).await;
    assert_eq!((st, &again["close_note"]), (StatusCode::OK, &closed["close_note"]), "the first close stands");
    let (_, list) = s.get(&clin, "/api/v1/alerts").await;
    assert!(alerts_of(&list, &pid).is_empty(), "{list}");
    assert!(!row(&page().await, &pid).contains("red flag"));

    // A new fever opens a new alert (the closed one stays closed).
    let (st, _) = s.post(&me, &format!("/api/v1/patients/{pid}/check-ins"), json!({"temperature_c": 39.2})).await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, list) = s.get(&clin, "/api/v1/alerts").await;
    let open = alerts_of(&list, &pid);
    assert_eq!(open.len(), 1);
    assert_ne!(open[0]["id"].as_str().unwrap(), id);
    assert!(row(&page().await, &pid).contains("1 red flag"));

    // Audited, naming the patient: the refusals and the close.
    let trail = s.db.store.audit_for_patient(&pid, None, 200).await.unwrap();
    let closes: Vec<String> =
        trail.items.iter().filter(|e| e.entry.action == "close").map(|e| format!("{:?}", e.entry.outcome)).collect();
    assert!(closes.iter().any(|o| o.contains("Denied")), "{closes:?}");
    assert!(closes.iter().any(|o| o.contains("Ok")), "{closes:?}");
}

/// The `#appointments` section of a patient's check-in page.
async fn appointments(s: &Server, token: &str) -> String {
    let r = s.http.get(s.url("/check-in")).header("Cookie", format!("limbpath_session={token}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let at = html.find("id=\"appointments\"").expect("the appointments section");
    html[at..].split("</section>").next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patient_sees_their_own_next_follow_up_visits_from_the_programmes_schedule_and_never_anothers() {
    let (s, _clock) = start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let admin = s.user("admin", Role::Admin, None).await;
    // Alice: osseointegration on 2025-01-20 (the suture removals long missed).
    let (alice_pid, alice) = oi_patient(&s, &clin, "MRN-A", "alice").await;
    // Bob: angioplasty ten days ago (the first review upcoming).
    let (bob_pid, _, eid) = chart(&s, &clin, "MRN-B", "Baker").await;
    let today = time::OffsetDateTime::now_utc().date();
    let (st, p) = s
        .post(
            &clin,
            "/api/v1/procedures",
            json!({"episode_id": eid, "performed_on": (today - time::Duration::days(10)).to_string(), "kind": "pta",
                   "amputation_level": null, "target_arteries": ["posterior_tibial"], "angiosome_route": "direct"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let bob = s.user("bob", Role::Patient, Some(&bob_pid)).await;

    let mine = appointments(&s, &alice).await;
    assert!(mine.contains("your team confirms the exact day and time"), "{mine}");
    assert!(mine.contains("Remove skin sutures partially") && mine.contains("planned for 2025-02-10"), "{mine}");
    assert!(mine.contains("cp-missed") && mine.contains("Missed: please contact your team"), "{mine}");
    assert!(mine.contains("lower limb"), "{mine}");
    assert!(!mine.contains("ABI/toe pressure"), "never another patient's follow-ups: {mine}");
    assert!(!mine.contains("No follow-up visits"), "{mine}");

    let theirs = appointments(&s, &bob).await;
    assert!(theirs.contains("Clinical review with ABI/toe pressure and arterial duplex"), "{theirs}");
    assert!(!theirs.contains("cp-missed"), "nothing missed yet: {theirs}");
    assert!(!theirs.contains("sutures"), "never another patient's follow-ups: {theirs}");

    // The page follows the programme's schedule: an admin's edit moves Bob's first visit to 6 weeks.
    let (_, t) = s.get(&admin, "/api/v1/follow-up-templates/after_revascularisation").await;
    let mut doc = t["shipped"].clone();
    doc["items"][0]["timing"] = json!({"kind": "at", "at": [{"weeks": 6}]});
    let r = s
        .http
        .put(s.url("/api/v1/follow-up-templates/after_revascularisation"))
        .bearer_auth(&admin)
        .json(&json!({"template": doc, "reason": "local protocol"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let theirs = appointments(&s, &bob).await;
    let six_weeks = (today - time::Duration::days(10) + time::Duration::days(42)).to_string();
    assert!(theirs.contains(&format!("planned around {six_weeks}")), "{theirs}");

    // Each page view is audited against the viewer's own patient only.
    let trail = s.db.store.audit_for_patient(&alice_pid, None, 500).await.unwrap();
    assert!(trail.items.iter().any(|e| e.entry.entity.as_deref() == Some("follow_up") && e.entry.action == "read"));
    let trail = s.db.store.audit_for_patient(&bob_pid, None, 500).await.unwrap();
    assert!(
        trail.items.iter().filter(|e| e.entry.entity.as_deref() == Some("follow_up")).all(|e| e
            .entry
            .username
            .as_deref()
            == Some("bob"))
    );
}
