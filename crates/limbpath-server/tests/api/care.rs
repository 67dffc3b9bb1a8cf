//! Coordinated care over HTTP (issue 5): assessment → care plan → tasks →
//! completion, idempotent re-runs, the wound trajectory watch, referrals and
//! the referrer token's reach.

use super::*;

/// Today (UTC), as the server sees it, shifted by `days`.
fn day(days: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(days)).to_string()
}

async fn post_with_header(s: &Server, token: &str, path: &str, body: Value) -> (StatusCode, Value, Option<String>) {
    let r = s.http.post(s.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = r.status();
    let created = r.headers().get("limbpath-care-tasks-created").map(|v| v.to_str().unwrap().to_owned());
    (status, r.json().await.unwrap_or(Value::Null), created)
}

async fn transition(
    s: &Server,
    token: &str,
    task: &str,
    action: &str,
    version: i64,
    body: Value,
) -> (StatusCode, Value) {
    let r = s
        .http
        .post(s.url(&format!("/api/v1/care-tasks/{task}/{action}")))
        .bearer_auth(token)
        .header("If-Match", format!("\"{version}\""))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn rule_ids(plan: &Value) -> Vec<String> {
    plan["tasks"].as_array().unwrap().iter().map(|t| t["key"]["rule_id"].as_str().unwrap().to_owned()).collect()
}

/// W2 I3 fI2: infectious-disease review (same day), vascular imaging (with a recorded wound); the patient's
/// HbA1c 7.9 % is above the shipped 7.0 % target (endocrinology).
fn assessment(eid: &str, on: &str) -> Value {
    json!({"episode_id": eid, "assessed_on": on, "findings": {"wound_grade": 2, "ischaemia_grade": 3, "infection_grade": 2}})
}

#[tokio::test(flavor = "multi_thread")]
async fn assessment_to_care_plan_to_tasks_to_completion_and_a_rerun_duplicates_nothing() {
    let s = Server::start().await;
    let coord = s.user("coord", Role::Coordinator, None).await;
    let (pid, _, eid) = chart(&s, &coord, "CARE-1", "Mensah").await;
    let (st, _, created) = post_with_header(
        &s,
        &coord,
        "/api/v1/wounds",
        json!({"episode_id": eid, "location": "plantar_heel", "noted_on": day(-1), "healed_on": null}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    // HbA1c 7.9 % above the 7.0 % target needs no assessment: the endocrinology task comes with the first record.
    assert_eq!(created.as_deref(), Some("1"));

    // The assessment creates the rest in the same request.
    let (st, a, created) = post_with_header(&s, &coord, "/api/v1/assessments", assessment(&eid, &day(0))).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let n: usize = created.unwrap().parse::<usize>().unwrap() + 1;
    assert!(n >= 3, "{n}");
    let (st, plan) = s.get(&coord, &format!("/api/v1/episodes/{eid}/care-plan")).await;
    assert_eq!(st, StatusCode::OK, "{plan}");
    assert_eq!(plan["patient_id"], pid.as_str());
    let rules = rule_ids(&plan);
    assert_eq!(rules.len(), n);
    for rule in ["fi2.infectious_disease_review", "i2_wound.vascular_imaging", "hba1c.endocrinology"] {
        assert!(rules.contains(&rule.to_owned()), "{rule} in {rules:?}");
    }
    assert!(!rules.contains(&"smoking.cessation_support".to_owned()), "a former smoker");
    let id_task = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"]["rule_id"] == "fi2.infectious_disease_review")
        .unwrap();
    assert_eq!(id_task["due_on"], day(0).as_str(), "fI ≥2 → review the same day");
    assert_eq!(id_task["discipline"], "infectious_disease");
    assert!(id_task["rationale"]["source"]["citation"].as_str().unwrap().contains("fI ≥2"));
    assert_eq!(plan["progress"]["complete"], false);
    assert_eq!(plan["pending"], json!([]));

    // A new assessment and an explicit re-run duplicate nothing.
    let (_, _, created) = post_with_header(&s, &coord, "/api/v1/assessments", assessment(&eid, &day(0))).await;
    assert_eq!(created.as_deref(), Some("0"));
    let (st, rerun) = s.post(&coord, &format!("/api/v1/episodes/{eid}/care-plan/run"), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{rerun}");
    assert!(rerun.get("created").is_none(), "{rerun}");
    assert_eq!(rule_ids(&rerun).len(), n);

    // The worklist lists them, by due date.
    let (st, wl) = s.get(&coord, "/api/v1/care-tasks?limit=100").await;
    assert_eq!(st, StatusCode::OK, "{wl}");
    let items = wl["items"].as_array().unwrap();
    assert_eq!(items.len(), n);
    let dues: Vec<&str> = items.iter().map(|i| i["task"]["due_on"].as_str().unwrap()).collect();
    let mut sorted = dues.clone();
    sorted.sort();
    assert_eq!(dues, sorted);
    assert_eq!(items[0]["patient_name"], "Mensah, Alex");
    let (_, by_discipline) = s.get(&coord, "/api/v1/care-tasks?discipline=endocrinology").await;
    assert_eq!(by_discipline["items"].as_array().unwrap().len(), 1);
    let (st, bad) = s.get(&coord, "/api/v1/care-tasks?discipline=astrology").await;
    assert_eq!((st, bad["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("discipline")));

    // Transitions: If-Match required and checked; a reason required to cancel; completion needs an assignee.
    let tasks: Vec<(String, i64)> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap().to_owned(), t["version"].as_i64().unwrap()))
        .collect();
    let (first, v) = &tasks[0];
    let r =
        s.http.post(s.url(&format!("/api/v1/care-tasks/{first}/complete"))).bearer_auth(&coord).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_REQUIRED);
    let (st, e) = transition(&s, &coord, first, "complete", *v, json!({})).await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::CONFLICT, Some("state")), "{e}");
    let (st, e) = transition(&s, &coord, first, "assign", v + 5, json!({"assignee": "Nurse Ada"})).await;
    assert_eq!(st, StatusCode::PRECONDITION_FAILED, "{e}");
    let (st, assigned) = transition(&s, &coord, first, "assign", *v, json!({"assignee": "Nurse Ada"})).await;
    assert_eq!(st, StatusCode::OK, "{assigned}");
    assert_eq!(assigned["status"], json!({"state": "assigned", "assignee": "Nurse Ada", "assigned_on": day(0)}));
    let (_, mine) = s.get(&coord, "/api/v1/care-tasks?assignee=Nurse%20Ada").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let (st, done) = transition(&s, &coord, first, "complete", 2, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{done}");
    assert_eq!(done["status"]["state"], "completed");
    let (second, v2) = &tasks[1];
    let (st, e) = transition(&s, &coord, second, "cancel", *v2, json!({"reason": "  "})).await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")), "{e}");
    let (st, _) =
        transition(&s, &coord, second, "cancel", *v2, json!({"reason": "seen by ID at the referring hospital"})).await;
    assert_eq!(st, StatusCode::OK);
    for (id, v) in &tasks[2..] {
        let (st, e) = transition(&s, &coord, id, "complete", *v, json!({"assignee": "Coordinator"})).await;
        assert_eq!(st, StatusCode::OK, "{e}");
    }
    let (_, plan) = s.get(&coord, &format!("/api/v1/episodes/{eid}/care-plan")).await;
    assert_eq!(plan["progress"]["complete"], true, "{}", plan["progress"]);
    assert_eq!(plan["progress"]["cancelled"], 1);
    assert_eq!(plan["progress"]["completed"], n - 1);
    let (_, wl) = s.get(&coord, "/api/v1/care-tasks").await;
    assert_eq!(wl["items"], json!([]));
    // Finished tasks are never reopened by a re-run.
    let (_, rerun) = s.post(&coord, &format!("/api/v1/episodes/{eid}/care-plan/run"), json!({})).await;
    assert_eq!(rerun["progress"]["complete"], true);
    assert_eq!(rule_ids(&rerun).len(), n);

    // Audited with the patient.
    let admin = s.user("admin", Role::Admin, None).await;
    let (_, trail) = s.get(&admin, &format!("/api/v1/audit?patient={pid}&limit=500")).await;
    let actions: Vec<&str> = trail["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["run_care_plan", "assign", "complete", "cancel", "worklist"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wound_that_misses_its_4_week_checkpoint_gets_its_task_through_the_api_and_one_that_meets_it_does_not() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let mut found = Vec::new();
    // GVG 6.9 (REFERENCES.md §2.3): ≥50 % area reduction by day 28. Baseline 10 cm² 30 days ago; day 28 two days ago.
    for (mrn, area_day_28) in [("WT-MISS", 8.0), ("WT-MEET", 4.0)] {
        let (_, _, eid) = chart(&s, &clin, mrn, "Trajectory").await;
        let (_, w) = s
            .post(
                &clin,
                "/api/v1/wounds",
                json!({"episode_id": eid, "location": "plantar_heel", "noted_on": day(-30), "healed_on": null}),
            )
            .await;
        let wid = w["id"].as_str().unwrap().to_owned();
        for (on, area) in [(day(-30), 10.0), (day(-2), area_day_28)] {
            let (st, m, created) = post_with_header(
                &s,
                &clin,
                "/api/v1/wound-measurements",
                json!({"wound_id": wid, "measured_on": on, "length_cm": 4.0, "width_cm": 3.0, "area_cm2": area}),
            )
            .await;
            assert_eq!(st, StatusCode::CREATED, "{m}");
            assert!(created.is_some(), "a measurement re-runs the plan");
        }
        let (_, plan) = s.get(&clin, &format!("/api/v1/episodes/{eid}/care-plan")).await;
        let task = plan["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["key"]["rule_id"] == "wound_week_4.missed_reevaluate" && t["key"]["wound_id"] == wid.as_str())
            .cloned();
        let status = plan["wounds"][0]["checkpoints"][0]["status"].clone();
        found.push((task, status));
    }
    let (missed, status) = &found[0];
    let missed = missed.as_ref().expect("20 % at day 28 misses the 50 % checkpoint");
    assert!(missed["title"].as_str().unwrap().contains("Re-evaluate perfusion, infection and offloading"));
    assert_eq!(status, "missed");
    let (met, status) = &found[1];
    assert!(met.is_none(), "60 % at day 28 meets it: {met:?}");
    assert_eq!(status, "met");
}

#[tokio::test(flavor = "multi_thread")]
async fn referrals_wet_gangrene_is_an_emergency_and_a_referrer_token_reaches_only_its_own_referrals() {
    let s = Server::start().await;
    let coord = s.user("coord", Role::Coordinator, None).await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (pid, _, eid) = chart(&s, &clin, "REF-1", "Private").await;

    // Referrer tokens: admins and coordinators issue them; clinicians do not.
    let (st, _) = s.post(&clin, "/api/v1/referrers", json!({"name": "Dr X", "organisation": "Y"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, one) = s.post(&coord, "/api/v1/referrers", json!({"name": "Dr One", "organisation": "District A"})).await;
    assert_eq!(st, StatusCode::CREATED, "{one}");
    let t1 = one["token"].as_str().unwrap().to_owned();
    let (_, two) = s.post(&coord, "/api/v1/referrers", json!({"name": "Dr Two", "organisation": "District B"})).await;
    let t2 = two["token"].as_str().unwrap().to_owned();

    let referral = |wet: bool| {
        json!({
            "patient_reference": "JD-1", "age_years": 68, "summary": "Advised above-knee amputation",
            "findings": {"wound_grade": 3, "ischaemia_grade": 2, "infection_grade": 1}, "wet_gangrene": wet,
            "question": "Can the limb be saved?"
        })
    };
    let (st, wet) = s.post(&t1, "/api/v1/referrer/referrals", referral(true)).await;
    assert_eq!(st, StatusCode::CREATED, "{wet}");
    assert_eq!(wet["urgency"], "emergency", "wet gangrene → emergency");
    assert!(wet["triage_rationale"]["because"].to_string().contains("wet gangrene"));
    assert_eq!(wet["status"], "awaiting_review");
    let wet_id = wet["id"].as_str().unwrap().to_owned();
    let (_, dry) = s.post(&t1, "/api/v1/referrer/referrals", referral(false)).await;
    assert_ne!(dry["urgency"], "emergency", "{dry}");
    let (_, theirs) = s.post(&t2, "/api/v1/referrer/referrals", referral(false)).await;
    let theirs_id = theirs["id"].as_str().unwrap().to_owned();
    let (st, e) = s
        .post(
            &t1,
            "/api/v1/referrer/referrals",
            json!({"patient_reference": "x", "summary": "y", "findings": {"wound_grade": 9}}),
        )
        .await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("findings.wound_grade")), "{e}");

    // The referrer token reaches no patient, no episode, no task, no staff list, no other referral.
    for path in [
        format!("/api/v1/patients/{pid}"),
        "/api/v1/patients?q=pri".to_owned(),
        format!("/api/v1/patients/{pid}/record"),
        format!("/api/v1/episodes/{eid}/care-plan"),
        "/api/v1/care-tasks".to_owned(),
        "/api/v1/referrals".to_owned(),
        format!("/api/v1/referrals/{theirs_id}"),
    ] {
        assert_eq!(s.get(&t1, &path).await.0, StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(s.get(&t1, &format!("/api/v1/referrer/referrals/{theirs_id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        s.get(&t1, &format!("/api/v1/referrer/referrals/{}", uuid::Uuid::now_v7())).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, mine) = s.get(&t1, "/api/v1/referrer/referrals").await;
    let ids: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&theirs_id.as_str()));
    // A staff session is not a referrer token, nor is a made-up one.
    assert_eq!(s.get(&coord, "/api/v1/referrer/referrals").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get(&"a".repeat(64), "/api/v1/referrer/referrals").await.0, StatusCode::UNAUTHORIZED);

    // Staff: the queue (emergency first), the decision with reasons, which the referrer then sees.
    let (st, queue) = s.get(&clin, "/api/v1/referrals").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(queue["items"][0]["id"], wet_id.as_str());
    assert_eq!(queue["items"].as_array().unwrap().len(), 3);
    let decide = |version: i64, reasons: &str| {
        s.http
            .post(s.url(&format!("/api/v1/referrals/{wet_id}/decision")))
            .bearer_auth(&clin)
            .header("If-Match", format!("\"{version}\""))
            .json(&json!({"decision": {"kind": "primary_amputation", "level": "transtibial"}, "reasons": reasons}))
            .send()
    };
    let r = decide(1, "").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = decide(1, "Non-reconstructable; sepsis source control").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = decide(2, "again").await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let (st, seen) = s.get(&t1, &format!("/api/v1/referrer/referrals/{wet_id}")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(seen["status"], "decided");
    assert_eq!(seen["decision"]["decision"], json!({"kind": "primary_amputation", "level": "transtibial"}));
    assert_eq!(seen["decision"]["reasons"], "Non-reconstructable; sepsis source control");
}

#[tokio::test(flavor = "multi_thread")]
async fn analysts_and_patients_are_refused_coordinated_care() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (pid, _, eid) = chart(&s, &clin, "ROLE-1", "Refused").await;
    let analyst = s.user("analyst", Role::Analyst, None).await;
    let patient = s.user("pat", Role::Patient, Some(&pid)).await;
    for token in [&analyst, &patient] {
        for path in
            [format!("/api/v1/episodes/{eid}/care-plan"), "/api/v1/care-tasks".into(), "/api/v1/referrals".into()]
        {
            assert_eq!(s.get(token, &path).await.0, StatusCode::FORBIDDEN, "{path}");
        }
        assert_eq!(
            s.post(token, &format!("/api/v1/episodes/{eid}/care-plan/run"), json!({})).await.0,
            StatusCode::FORBIDDEN
        );
    }
    for token in [&clin] {
        assert_eq!(s.get(token, &format!("/api/v1/episodes/{eid}/care-plan")).await.0, StatusCode::OK);
        let (st, fu) = s.get(token, &format!("/api/v1/episodes/{eid}/follow-ups")).await;
        assert_eq!(st, StatusCode::OK, "{fu}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn follow_ups_after_revascularisation_show_missed_items_and_take_visits() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (_, _, eid) = chart(&s, &clin, "FU-1", "Followed").await;
    let (st, p) = s
        .post(
            &clin,
            "/api/v1/procedures",
            json!({"episode_id": eid, "performed_on": day(-400), "kind": "pta", "amputation_level": null,
                   "target_arteries": ["posterior_tibial"], "angiosome_route": "direct"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let (st, fu) = s.get(&clin, &format!("/api/v1/episodes/{eid}/follow-ups")).await;
    assert_eq!(st, StatusCode::OK, "{fu}");
    let items = fu["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{fu}");
    assert!(items.iter().any(|i| i["status"]["state"] == "missed"), "a year on, the early visits are missed");
    let key = items[0]["item"]["key"].clone();
    let (st, v) = s
        .post(
            &clin,
            &format!("/api/v1/episodes/{eid}/follow-up-visits"),
            json!({"key": key, "completed_on": day(-390)}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (_, fu) = s.get(&clin, &format!("/api/v1/episodes/{eid}/follow-ups")).await;
    let first = fu["items"].as_array().unwrap().iter().find(|i| i["item"]["key"] == key).unwrap().clone();
    assert_eq!(first["status"]["state"], "done");
    let mut bad = key.clone();
    bad["item_id"] = json!("no_such_item");
    let (st, e) = s
        .post(&clin, &format!("/api/v1/episodes/{eid}/follow-up-visits"), json!({"key": bad, "completed_on": day(0)}))
        .await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("key")), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_runs_every_open_plan_once_and_is_idempotent() {
    let s = Server::start().await;
    let coord = s.user("coord", Role::Coordinator, None).await;
    let clin = s.user("clin", Role::Clinician, None).await;
    // Records written straight to the store run no plan: the sweep finds them.
    let store = &s.db.store;
    let mut episodes = Vec::new();
    for i in 0..3 {
        let p = store
            .create_patient(serde_json::from_value(patient_body(&format!("SW-{i}"), "Sweep")).unwrap())
            .await
            .unwrap();
        let l = store
            .create_limb(limbpath_record::LimbData {
                patient_id: p.id.clone(),
                side: limbpath_record::Side::Left,
                kind: limbpath_record::LimbKind::Lower,
                amputation_level: None,
            })
            .await
            .unwrap();
        let e = store
            .create_episode(serde_json::from_value(json!({"limb_id": l.id, "aetiology": "clti", "status": "evaluation", "opened_on": day(-3), "closed_on": null})).unwrap())
            .await
            .unwrap();
        episodes.push(e.id);
    }
    assert_eq!(s.post(&clin, "/api/v1/care-plans/run", json!({})).await.0, StatusCode::FORBIDDEN);
    let mut created = 0;
    let mut seen = 0;
    let mut cursor = String::new();
    loop {
        let (st, b) = s.post(&coord, &format!("/api/v1/care-plans/run?limit=2{cursor}"), json!({})).await;
        assert_eq!(st, StatusCode::OK, "{b}");
        created += b["tasks_created"].as_u64().unwrap();
        seen += b["episodes"].as_u64().unwrap();
        match b["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, 3);
    assert_eq!(created, 3, "HbA1c 7.9 % above target: one endocrinology task per episode");
    let (_, again) = s.post(&coord, "/api/v1/care-plans/run?limit=50", json!({})).await;
    assert_eq!(again["tasks_created"], 0);
    for e in &episodes {
        let (_, plan) = s.get(&coord, &format!("/api/v1/episodes/{e}/care-plan")).await;
        assert_eq!(rule_ids(&plan), vec!["hba1c.endocrinology".to_owned()]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_patient_list_filters_on_overdue_tasks_in_the_api_and_the_web_page() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (late, _, late_episode) = chart(&s, &clin, "OVD-1", "Latimer").await;
    let (on_time, _, on_time_episode) = chart(&s, &clin, "OVD-2", "Ontime").await;
    let (quiet, _, _) = chart(&s, &clin, "OVD-3", "Quiet").await;
    // Through the API the plan runs today: nothing is overdue yet.
    let (st, a) = s.post(&clin, "/api/v1/assessments", assessment(&on_time_episode, &day(-10))).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    // A plan made ten days ago (the assessment stored directly, the plan run
    // as of that day) has its same-day infectious-disease review overdue.
    let store = &s.db.store;
    store.create_assessment(serde_json::from_value(assessment(&late_episode, &day(-10))).unwrap()).await.unwrap();
    let (rules, settings) = (limbpath_pathway::shipped_rule_set(), limbpath_pathway::ProgrammeSettings::shipped());
    let ten_days_ago = time::OffsetDateTime::now_utc().date() - time::Duration::days(10);
    let run = store.run_care_plan(&late_episode, &rules, &settings, ten_days_ago).await.unwrap();
    assert!(run.created.iter().any(|t| t.data.due_on == ten_days_ago));
    let (_, plan) = s.get(&clin, &format!("/api/v1/episodes/{on_time_episode}/care-plan")).await;
    assert!(!rule_ids(&plan).is_empty(), "{plan}");

    let ids = |v: &Value| -> Vec<String> {
        v["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
    };
    let (st, found) = s.get(&clin, "/api/v1/patients?overdue_tasks=true").await;
    assert_eq!(st, StatusCode::OK, "{found}");
    assert_eq!(ids(&found), vec![late.clone()]);
    let (_, found) = s.get(&clin, "/api/v1/patients?overdue_tasks=false").await;
    assert_eq!(ids(&found).len(), 3);
    let (_, found) =
        s.get(&clin, "/api/v1/patients?overdue_tasks=true&q=lat&aetiology=clti&episode_status=treatment").await;
    assert_eq!(ids(&found), vec![late.clone()]);
    let (_, found) = s.get(&clin, "/api/v1/patients?overdue_tasks=true&q=OVD-2").await;
    assert!(ids(&found).is_empty(), "{found}");
    let (_, found) = s.get(&clin, "/api/v1/patients?overdue_tasks=true&aetiology=trauma").await;
    assert!(ids(&found).is_empty(), "{found}");
    let (st, problem) = s.get(&clin, "/api/v1/patients?overdue_tasks=maybe").await;
    assert!(st.is_client_error(), "{st} {problem}");

    // The web patient list: the checkbox, ticked, shows only the late patient.
    let page = |query: &str| {
        let r = s.http.get(s.url(&format!("/patients{query}"))).header("Cookie", format!("limbpath_session={clin}"));
        async move {
            let r = r.send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (st, html) = page("").await;
    assert_eq!(st, StatusCode::OK, "{html}");
    assert!(html.contains("name=\"overdue_tasks\" value=\"true\">"), "unticked by default");
    for name in ["Latimer", "Ontime", "Quiet"] {
        assert!(html.contains(name), "{name}");
    }
    let (st, html) = page("?overdue_tasks=true").await;
    assert_eq!(st, StatusCode::OK, "{html}");
    assert!(html.contains("name=\"overdue_tasks\" value=\"true\" checked>"));
    assert!(html.contains(&format!("/patients/{late}")) && html.contains("Latimer"));
    assert!(!html.contains(&format!("/patients/{on_time}")) && !html.contains(&format!("/patients/{quiet}")));
    let (st, html) = page("?overdue_tasks=maybe").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("overdue_tasks"), "the error names the field");
}

/// Nobody calls the sweep: the server's own timer (as `limbpath serve` starts
/// it, here a second server state on the same database, as with several app
/// servers) puts the missed visit on the worklist, once, and stops when told.
#[tokio::test(flavor = "multi_thread")]
async fn the_servers_own_sweep_puts_a_missed_follow_up_on_the_worklist_unasked() {
    let s = Server::start().await;
    let coord = s.user("coord", Role::Coordinator, None).await;
    let (_, _, eid) = chart(&s, &coord, "MFU-2", "Timerswept").await;
    let (st, p) = s
        .post(
            &coord,
            "/api/v1/procedures",
            json!({"episode_id": eid, "performed_on": day(-75), "kind": "bypass", "amputation_level": null,
                   "target_arteries": ["posterior_tibial"], "angiosome_route": "direct"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let missed = |worklist: &Value| -> usize {
        worklist["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["task"]["key"]["rule_id"].as_str().unwrap().starts_with("follow_up.missed."))
            .count()
    };
    let (_, before) = s.get(&coord, "/api/v1/care-tasks?limit=100").await;
    assert_eq!(missed(&before), 0, "{before}");

    let state = Arc::new(AppState::new(s.db.store.clone(), Config::default()));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let sweeps = limbpath_server::care::start_care_plan_sweeps(state, std::time::Duration::from_millis(100), stopping);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let worklist = loop {
        let (_, worklist) = s.get(&coord, "/api/v1/care-tasks?limit=100").await;
        if missed(&worklist) > 0 || std::time::Instant::now() > deadline {
            break worklist;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(missed(&worklist), 1, "the timer's sweep made the task: {worklist}");
    // More ticks make no duplicate; then the sweeps stop when told.
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    stop.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), sweeps).await.expect("the sweeps stop").unwrap();
    let (_, after) = s.get(&coord, "/api/v1/care-tasks?limit=100").await;
    assert_eq!(missed(&after), 1, "{after}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missed_follow_up_becomes_one_overdue_worklist_task_however_often_the_sweep_runs() {
    let s = Server::start().await;
    let coord = s.user("coord", Role::Coordinator, None).await;
    let (_, _, eid) = chart(&s, &coord, "MFU-1", "Missedvisit").await;
    // A bypass 75 days ago: the 1-month review (due about 45 days ago) is
    // missed; the 3-month one is not due yet.
    let (st, p) = s
        .post(
            &coord,
            "/api/v1/procedures",
            json!({"episode_id": eid, "performed_on": day(-75), "kind": "bypass", "amputation_level": null,
                   "target_arteries": ["posterior_tibial"], "angiosome_route": "direct"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let missed_tasks = |worklist: &Value| -> Vec<Value> {
        worklist["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["task"]["key"]["rule_id"].as_str().unwrap().starts_with("follow_up.missed."))
            .cloned()
            .collect()
    };
    let (_, before) = s.get(&coord, "/api/v1/care-tasks?limit=100").await;
    assert!(missed_tasks(&before).is_empty(), "nothing until a sweep or a plan run: {before}");

    let (st, sweep) = s.post(&coord, "/api/v1/care-plans/run?limit=50", json!({})).await;
    assert_eq!(st, StatusCode::OK, "{sweep}");
    assert_eq!(sweep["missed_follow_ups"], 1, "{sweep}");
    let (_, worklist) = s.get(&coord, "/api/v1/care-tasks?limit=100").await;
    let missed = missed_tasks(&worklist);
    assert_eq!(missed.len(), 1, "{worklist}");
    let item = &missed[0];
    assert_eq!(item["overdue"], true);
    assert_eq!(item["task"]["discipline"], "care_coordination");
    assert_eq!(item["task"]["ruleset_id"], "follow-up template after_revascularisation");
    let rationale = &item["task"]["rationale"];
    assert!(rationale["rule"].as_str().unwrap().contains("follow_up.missed"), "{rationale}");
    assert!(rationale["inputs"].as_array().unwrap().iter().any(|i| i["field"] == "follow_up.key"));
    let (_, fu) = s.get(&coord, &format!("/api/v1/episodes/{eid}/follow-ups")).await;
    let missed_item = fu["items"].as_array().unwrap().iter().find(|i| i["status"]["state"] == "missed").unwrap();
    let key_input = rationale["inputs"].as_array().unwrap().iter().find(|i| i["field"] == "follow_up.key").unwrap();
    assert_eq!(key_input["value"], missed_item["item"]["key"]);

    // Again, and through the episode's own re-run: no duplicate.
    let (_, again) = s.post(&coord, "/api/v1/care-plans/run?limit=50", json!({})).await;
    assert_eq!((again["missed_follow_ups"].as_u64(), again["tasks_created"].as_u64()), (Some(0), Some(0)), "{again}");
    let (st, run) = s.post(&coord, &format!("/api/v1/episodes/{eid}/care-plan/run"), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{run}");
    assert!(run["created"].as_array().is_none_or(|c| c.is_empty()), "{run}");
    let (_, worklist) = s.get(&coord, "/api/v1/care-tasks?limit=100").await;
    assert_eq!(missed_tasks(&worklist).len(), 1);

    // The coordinator's worklist page shows it, overdue, with its rule.
    let r = s.http.get(s.url("/worklist")).header("Cookie", format!("limbpath_session={coord}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("Missed follow-up: "), "{html}");
    let task_id = item["task"]["id"].as_str().unwrap();
    assert!(html.contains(&format!("/care-tasks/{task_id}")));

    // Rebooked and done: completing the task takes it off the worklist, and
    // a later sweep does not make it again.
    let version = item["task"]["version"].as_i64().unwrap();
    let (st, t) = transition(&s, &coord, task_id, "assign", version, json!({"assignee": "Coordinator A"})).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let (st, t) = transition(&s, &coord, task_id, "complete", t["version"].as_i64().unwrap(), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let (_, again) = s.post(&coord, "/api/v1/care-plans/run?limit=50", json!({})).await;
    assert_eq!(again["missed_follow_ups"], 0, "{again}");
    let (_, worklist) = s.get(&coord, "/api/v1/care-tasks?limit=100").await;
    assert!(missed_tasks(&worklist).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn referrer_tokens_expire_and_are_revoked_through_the_api() {
    let s = Server::start().await;
    let coord = s.user("coord", Role::Coordinator, None).await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let before = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let (st, one) =
        s.post(&coord, "/api/v1/referrers", json!({"name": "Dr One", "organisation": "A", "valid_days": 7})).await;
    assert_eq!(st, StatusCode::CREATED, "{one}");
    let expires = one["referrer"]["expires_at_ms"].as_i64().unwrap();
    assert!((before + 7 * 86_400_000..before + 7 * 86_400_000 + 60_000).contains(&expires), "{one}");
    let (_, default) = s.post(&coord, "/api/v1/referrers", json!({"name": "Dr Two", "organisation": "B"})).await;
    let default_expires = default["referrer"]["expires_at_ms"].as_i64().unwrap();
    assert!(default_expires >= before + 90 * 86_400_000, "90 days unless said: {default}");
    for bad in [json!(0), json!(366)] {
        let (st, p) =
            s.post(&coord, "/api/v1/referrers", json!({"name": "Dr X", "organisation": "C", "valid_days": bad})).await;
        assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("valid_days")), "{p}");
    }
    let t1 = one["token"].as_str().unwrap().to_owned();
    let t2 = default["token"].as_str().unwrap().to_owned();
    let id1 = one["referrer"]["id"].as_str().unwrap().to_owned();
    let id2 = default["referrer"]["id"].as_str().unwrap().to_owned();
    assert_eq!(s.get(&t1, "/api/v1/referrer/referrals").await.0, StatusCode::OK);

    // Revoked: the token is refused at once; a clinician cannot revoke; revoking twice keeps the first.
    assert_eq!(s.post(&clin, &format!("/api/v1/referrers/{id1}/revoke"), json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.get(&clin, "/api/v1/referrers").await.0, StatusCode::FORBIDDEN);
    let (st, revoked) = s.post(&coord, &format!("/api/v1/referrers/{id1}/revoke"), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["active"], false);
    assert!(revoked["revoked_at_ms"].is_i64());
    assert_eq!(s.get(&t1, "/api/v1/referrer/referrals").await.0, StatusCode::UNAUTHORIZED);
    let (_, again) = s.post(&coord, &format!("/api/v1/referrers/{id1}/revoke"), json!({})).await;
    assert_eq!(again["revoked_at_ms"], revoked["revoked_at_ms"]);
    let (st, missing) = s.post(&coord, &format!("/api/v1/referrers/{}/revoke", uuid::Uuid::now_v7()), json!({})).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{missing}");
    // the referrer's web form is refused too
    let r = s.http.get(s.url(&format!("/refer/{t1}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Expired: once its expiry has passed (moved into the past here), the token reaches nothing.
    assert_eq!(s.get(&t2, "/api/v1/referrer/referrals").await.0, StatusCode::OK);
    let past = before - 1;
    crate::harness::execute_raw(
        &s.db.store,
        &format!("UPDATE referrers SET expires_at_ms = {past} WHERE id = '{id2}'"),
    )
    .await
    .unwrap();
    assert_eq!(s.get(&t2, "/api/v1/referrer/referrals").await.0, StatusCode::UNAUTHORIZED);
    let (st, list) = s.get(&coord, "/api/v1/referrers").await;
    assert_eq!(st, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|r| r.get("token").is_none() && r.get("token_hash").is_none()));

    // The referrals page lists the tokens with their state for a coordinator, not for a clinician.
    let (_, three) = s.post(&coord, "/api/v1/referrers", json!({"name": "Dr Three", "organisation": "D"})).await;
    let id3 = three["referrer"]["id"].as_str().unwrap().to_owned();
    let page = |token: String| {
        let s = &s;
        async move {
            let r = s.http.get(s.url("/referrals")).header("Cookie", format!("limbpath_session={token}")).send().await;
            r.unwrap().text().await.unwrap()
        }
    };
    let html = page(coord.clone()).await;
    let row = |id: &str| html[html.find(&format!("id=\"referrer-{id}\"")).unwrap()..].split("</tr>").next().unwrap();
    assert!(row(&id1).contains("revoked ") && !row(&id1).contains("Revoke</button>"), "{}", row(&id1));
    assert!(row(&id2).contains("expired") && !row(&id2).contains("Revoke</button>"));
    assert!(row(&id3).contains("active") && row(&id3).contains(&format!("action=\"/referrers/{id3}/revoke\"")));
    assert!(!page(clin.clone()).await.contains("Referrer tokens"));
}

async fn delete_with(s: &Server, token: &str, path: &str, version: Option<i64>) -> (StatusCode, Value) {
    let mut r = s.http.delete(s.url(path)).bearer_auth(token);
    if let Some(v) = version {
        r = r.header("If-Match", format!("\"{v}\""));
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn put_without_if_match(s: &Server, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let r = s.http.put(s.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_edits_a_follow_up_template_the_follow_ups_move_and_a_reset_restores_them() {
    let s = Server::start().await;
    let admin = s.user("admin", Role::Admin, None).await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let coord = s.user("coord", Role::Coordinator, None).await;
    let analyst = s.user("analyst", Role::Analyst, None).await;
    let (pid, _, eid) = chart(&s, &clin, "TPL-1", "Templated").await;
    let pat = s.user("pat", Role::Patient, Some(&pid)).await;
    let (st, p) = s
        .post(
            &clin,
            "/api/v1/procedures",
            json!({"episode_id": eid, "performed_on": day(-10), "kind": "pta", "amputation_level": null,
                   "target_arteries": ["posterior_tibial"], "angiosome_route": "direct"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let path = "/api/v1/follow-up-templates/after_revascularisation";

    // Reads: the care team; never a patient account or an analyst.
    for t in [&admin, &clin, &coord] {
        let (st, all) = s.get(t, "/api/v1/follow-up-templates").await;
        assert_eq!(st, StatusCode::OK, "{all}");
        assert_eq!(all["templates"].as_array().unwrap().len(), 3);
    }
    for t in [&pat, &analyst] {
        assert_eq!(s.get(t, "/api/v1/follow-up-templates").await.0, StatusCode::FORBIDDEN);
    }
    let (_, one) = s.get(&admin, path).await;
    assert_eq!((one["version"].as_i64(), one["edited"].is_null()), (Some(0), true));
    let shipped = one["shipped"].clone();

    // Writes: admin only; every other role 403 and nothing changes.
    let mut doc = shipped.clone();
    doc["items"][0]["timing"] = json!({"kind": "at", "at": [{"weeks": 6}, {"months": 6}]});
    let body = json!({"template": doc, "reason": "Vascular MDT protocol 2026"});
    for t in [&clin, &coord, &analyst, &pat] {
        assert_eq!(put_without_if_match(&s, t, path, body.clone()).await.0, StatusCode::FORBIDDEN);
        assert_eq!(delete_with(&s, t, path, Some(1)).await.0, StatusCode::FORBIDDEN);
    }

    // An invalid template: 422 naming the field; nothing stored.
    let mut bad = shipped.clone();
    bad["items"][0]["timing"] = json!({"kind": "at", "at": []});
    let (st, e) = put_without_if_match(&s, &admin, path, json!({"template": bad, "reason": "typo"})).await;
    assert_eq!(
        (st, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("template.items[0].timing.at")),
        "{e}"
    );
    let (st, e) =
        put_without_if_match(&s, &admin, "/api/v1/follow-up-templates/during_lengthening", body.clone()).await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("template.id")), "{e}");
    assert_eq!(s.get(&admin, path).await.1["version"], 0);

    let before = s.get(&clin, &format!("/api/v1/episodes/{eid}/follow-ups")).await.1;
    assert_eq!(before["items"].as_array().unwrap().len(), 4);
    let audit_before = s.audit_rows().await;
    let (st, edited) = put_without_if_match(&s, &admin, path, body.clone()).await;
    assert_eq!(st, StatusCode::OK, "{edited}");
    assert_eq!(edited["version"], 1);
    assert_eq!(edited["edited"]["version"], "1+programme.1");
    assert!(edited["edited_by"].as_str().unwrap().starts_with("admin"));
    assert!(s.audit_rows().await > audit_before, "the edit is audited");
    let after = s.get(&clin, &format!("/api/v1/episodes/{eid}/follow-ups")).await.1;
    let items = after["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{after}");
    assert_eq!(items[0]["item"]["when"]["due_on"].as_str(), Some(day(-10 + 42).as_str()));
    assert!(
        items[0]["item"]["rationale"]["source"]["citation"].as_str().unwrap().starts_with("Edited by the programme")
    );

    // A second edit without If-Match, or with a stale one, is refused.
    assert_eq!(put_without_if_match(&s, &admin, path, body.clone()).await.0, StatusCode::PRECONDITION_FAILED);
    assert_eq!(delete_with(&s, &admin, path, None).await.0, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(delete_with(&s, &admin, path, Some(5)).await.0, StatusCode::PRECONDITION_FAILED);

    let (st, reset) = delete_with(&s, &admin, path, Some(1)).await;
    assert_eq!(st, StatusCode::OK, "{reset}");
    assert_eq!((reset["version"].as_i64(), reset["edited"].is_null()), (Some(2), true));
    let restored = s.get(&clin, &format!("/api/v1/episodes/{eid}/follow-ups")).await.1;
    assert_eq!(restored["items"], before["items"]);
}

async fn web_get(s: &Server, token: &str, path: &str) -> (StatusCode, String) {
    let r = s.http.get(s.url(path)).header("Cookie", format!("limbpath_session={token}")).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn web_post(s: &Server, token: &str, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, String) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let r = client
        .post(s.url(path))
        .header("Cookie", format!("limbpath_session={token}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_templates_page_edits_with_csrf_shows_errors_at_the_field_and_resets() {
    let s = Server::start().await;
    let admin = s.user("admin", Role::Admin, None).await;
    let coord = s.user("coord", Role::Coordinator, None).await;
    let csrf = limbpath_server::web::csrf_token(&admin);
    let (st, html) = web_get(&s, &admin, "/admin/follow-up-templates").await;
    assert_eq!(st, StatusCode::OK);
    for id in ["after_revascularisation", "after_osseointegration", "during_lengthening"] {
        assert!(html.contains(&format!("action=\"/admin/follow-up-templates/{id}\"")), "{id}");
    }
    assert!(html.contains("name=\"_csrf\"") && html.contains("REFERENCES.md §12.5"), "shipped sources shown");
    assert!(!html.contains("Reset to shipped"), "nothing edited yet");
    assert_eq!(web_get(&s, &coord, "/admin/follow-up-templates").await.0, StatusCode::FORBIDDEN);

    let (_, one) = s.get(&admin, "/api/v1/follow-up-templates/during_lengthening").await;
    let mut doc = one["shipped"].clone();
    doc["items"][0]["timing"]["every"] = json!({"weeks": 0});
    let bad = doc.to_string();
    let path = "/admin/follow-up-templates/during_lengthening";
    // Without the CSRF token: refused, nothing stored.
    let (st, _) = web_post(&s, &admin, path, &[("version", "0"), ("template", &bad), ("reason", "x")]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // An invalid template: the form again, the error at the template field naming the JSON path, input kept.
    let (st, html) =
        web_post(&s, &admin, path, &[("_csrf", &csrf), ("version", "0"), ("template", &bad), ("reason", "weekly")])
            .await;
    assert_eq!(st, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"template-json-during_lengthening-error\""), "{html}");
    assert!(html.contains("template.items[0].timing.every"), "{html}");
    assert!(html.contains("value=\"weekly\""), "the reason is kept");
    assert_eq!(s.get(&admin, "/api/v1/follow-up-templates/during_lengthening").await.1["version"], 0);

    doc["items"][0]["timing"]["every"] = json!({"weeks": 1});
    let good = doc.to_string();
    let (st, html) =
        web_post(&s, &admin, path, &[("_csrf", &csrf), ("version", "0"), ("template", &good), ("reason", "   ")]).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("id=\"reason-during_lengthening-error\""), "{html}");
    let (st, _) = web_post(
        &s,
        &admin,
        path,
        &[("_csrf", &csrf), ("version", "0"), ("template", &good), ("reason", "Weekly radiographs (local protocol)")],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, html) = web_get(&s, &admin, "/admin/follow-up-templates?saved=during_lengthening").await;
    assert!(html.contains("Edited by the programme: Weekly radiographs (local protocol)"), "{html}");
    assert!(html.contains("from 2 weeks every 1 week until 12 weeks"), "{html}");
    assert!(html.contains("Reset to shipped"));

    let (st, _) = web_post(&s, &admin, &format!("{path}/reset"), &[("_csrf", &csrf), ("version", "1")]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, one) = s.get(&admin, "/api/v1/follow-up-templates/during_lengthening").await;
    assert_eq!((one["version"].as_i64(), one["edited"].is_null()), (Some(2), true));
    let trail = s.db.store.count_audit().await.unwrap();
    assert!(trail > 0);
}
