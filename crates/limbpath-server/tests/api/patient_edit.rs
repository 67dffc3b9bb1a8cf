//! Editing a patient through the web form (`/patients/{id}/edit`): pre-filled
//! with what is stored, CSRF-checked, every value validated by the store with
//! the error at its control and nothing saved, a save against a stale version
//! refused with the current values shown, audited like the API's update, and
//! only for the roles that may change patient records.

use super::{Server, patient_body};
use limbpath_record::Role;
use limbpath_store::AuditOutcome;
use reqwest::StatusCode;
use serde_json::json;

/// The page of `path` for a web session of `token`.
async fn page(s: &Server, token: &str, path: &str) -> (StatusCode, String) {
    let r = s.http.get(s.url(path)).header("cookie", format!("limbpath_session={token}")).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// POST a form as a browser would (no redirects followed): status, Location, page.
async fn submit(s: &Server, token: &str, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, String, String) {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let r = http
        .post(s.url(path))
        .header("cookie", format!("limbpath_session={token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (r.status(), location, r.text().await.unwrap())
}

/// The edit form's fields for the patient `patient_body(mrn, family)` stores,
/// with `changes` applied (an empty value: the field is left out).
fn edited(csrf: &str, version: &str, mrn: &str, family: &str, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = vec![("_csrf".into(), csrf.into()), ("_version".into(), version.into())];
    for (k, v) in [
        ("family_name", family),
        ("given_name", "Alex"),
        ("mrn", mrn),
        ("site", "Test Site"),
        ("birth_date", "1956-04-02"),
        ("sex", "male"),
        ("diabetes", "type_2"),
        ("hba1c_percent", "7.9"),
        ("ckd_stage", "3"),
        ("smoking", "former"),
        ("bmi", "28"),
        ("ambulatory_status", "independent"),
    ] {
        pairs.push((k.into(), v.into()));
    }
    for (k, v) in changes {
        pairs.retain(|(name, _)| name != k);
        if !v.is_empty() {
            pairs.push(((*k).into(), (*v).into()));
        }
    }
    pairs
}

fn refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn new_patient(s: &Server, token: &str, mrn: &str, family: &str, ambulatory: &str) -> String {
    let mut body = patient_body(mrn, family);
    body["ambulatory_status"] = json!(ambulatory);
    let (st, p) = s.post(token, "/api/v1/patients", body).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    p["id"].as_str().unwrap().to_owned()
}

/// The audit entries of `action` on the patient, as (outcome, entity id).
async fn audited(s: &Server, pid: &str, action: &str) -> Vec<(AuditOutcome, Option<String>)> {
    let trail = s.db.store.audit_for_patient(pid, None, 500).await.unwrap();
    trail
        .items
        .iter()
        .filter(|e| e.entry.action == action && e.entry.entity.as_deref() == Some("patient"))
        .map(|e| (e.entry.outcome, e.entry.entity_id.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clinician_corrects_an_imported_patient_and_an_impossible_value_saves_nothing() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let csrf = limbpath_server::web::csrf_token(&clin);
    let pid = new_patient(&s, &clin, "MRN-E1", "Okafor", "not_recorded").await;
    let edit = format!("/patients/{pid}/edit");

    // The patient page links the form from its header and from what is to complete.
    let (st, html) = page(&s, &clin, &format!("/patients/{pid}")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains(&format!("<a class=\"button\" href=\"{edit}\">Edit patient</a>")), "{html}");
    assert!(html.contains(&format!("<a href=\"{edit}#f-ambulatory_status\">to complete</a>")), "{html}");

    // The form: the stored values, the version, the CSRF token; "not recorded" kept as the current value.
    let (st, html) = page(&s, &clin, &edit).await;
    assert_eq!(st, StatusCode::OK, "{html}");
    for want in [
        format!("action=\"{edit}\""),
        "name=\"_version\" value=\"1\"".to_owned(),
        format!("name=\"_csrf\" value=\"{csrf}\""),
        "name=\"family_name\" value=\"Okafor\"".to_owned(),
        "name=\"hba1c_percent\" value=\"7.9\"".to_owned(),
        "name=\"ckd_stage\" value=\"3\"".to_owned(),
        "name=\"birth_date\" value=\"1956-04-02\"".to_owned(),
        "<option value=\"type_2\" selected>".to_owned(),
        "<option value=\"not_recorded\" selected>not recorded</option>".to_owned(),
        "<label for=\"f-hba1c_percent\">HbA1c".to_owned(),
    ] {
        assert!(html.contains(&want), "{want} missing from the edit form: {html}");
    }

    // An HbA1c no assay reports: the error at that control, the input kept, nothing saved.
    let bad = edited(&csrf, "1", "MRN-E1", "Okafor", &[("hba1c_percent", "42"), ("ambulatory_status", "with_aid")]);
    let (st, _, html) = submit(&s, &clin, &edit, &refs(&bad)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("id=\"f-hba1c_percent-error\""), "the error is at the HbA1c control: {html}");
    assert!(html.contains("HbA1c &quot;42&quot; is out of range"), "{html}");
    assert!(html.contains("href=\"#field-hba1c_percent\""), "the summary links the control: {html}");
    assert!(html.contains("name=\"hba1c_percent\" value=\"42\""), "the input is kept: {html}");
    assert!(html.contains("name=\"_version\" value=\"1\""), "{html}");
    let now = s.db.store.get_patient(&pid).await.unwrap();
    assert_eq!((now.version, now.data.hba1c_percent), (1, Some(7.9)));
    assert_eq!(now.data.ambulatory_status.code(), "not_recorded", "nothing saved");

    // A CKD stage that is not a whole number and dialysis below stage 5: field errors too.
    let bad = edited(&csrf, "1", "MRN-E1", "Okafor", &[("ckd_stage", "three")]);
    let (st, _, html) = submit(&s, &clin, &edit, &refs(&bad)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"f-ckd_stage-error\""), "{html}");
    let bad = edited(&csrf, "1", "MRN-E1", "Okafor", &[("dialysis", "on")]);
    let (st, _, html) = submit(&s, &clin, &edit, &refs(&bad)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"f-ckd_stage-error\"") && html.contains("dialysis implies CKD stage 5"), "{html}");

    // No or a wrong CSRF token: refused, nothing saved.
    let good = edited(&csrf, "1", "MRN-E1", "Okafor", &[("ambulatory_status", "with_aid"), ("hba1c_percent", "8.4")]);
    let mut forged = good.clone();
    forged.retain(|(k, _)| k != "_csrf");
    let (st, _, _) = submit(&s, &clin, &edit, &refs(&forged)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(s.db.store.get_patient(&pid).await.unwrap().version, 1);

    // A real status and a new HbA1c: saved, back to the patient page, which shows them.
    let (st, location, _) = submit(&s, &clin, &edit, &refs(&good)).await;
    assert_eq!((st, location.as_str()), (StatusCode::SEE_OTHER, format!("/patients/{pid}").as_str()));
    let now = s.db.store.get_patient(&pid).await.unwrap();
    assert_eq!((now.version, now.data.hba1c_percent), (2, Some(8.4)));
    assert_eq!(now.data.ambulatory_status.code(), "with_aid");
    assert_eq!((now.data.family_name.as_str(), now.data.ckd_stage, now.data.bmi), ("Okafor", Some(3), Some(28.0)));
    let (_, html) = page(&s, &clin, &format!("/patients/{pid}")).await;
    assert!(html.contains("<dt>Ambulatory status</dt><dd>with aid</dd>"), "{html}");
    assert!(html.contains("8.4 %") && !html.contains("to complete"), "{html}");
    // Once corrected, "not recorded" is no longer offered.
    let (_, html) = page(&s, &clin, &edit).await;
    assert!(!html.contains("not_recorded") && html.contains("name=\"_version\" value=\"2\""), "{html}");

    // Audited like the API's update: the refusals as invalid, the save as ok, naming the patient.
    let updates = audited(&s, &pid, "update").await;
    assert_eq!(updates.iter().filter(|(o, _)| *o == AuditOutcome::Invalid).count(), 3, "{updates:?}");
    assert_eq!(updates.iter().filter(|(o, _)| *o == AuditOutcome::Ok).count(), 1, "{updates:?}");
    assert!(updates.iter().all(|(_, id)| id.as_deref() == Some(pid.as_str())), "{updates:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_save_against_a_stale_version_overwrites_nothing_and_shows_the_current_values() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let csrf = limbpath_server::web::csrf_token(&clin);
    let pid = new_patient(&s, &clin, "MRN-E2", "Nakamura", "independent").await;
    let edit = format!("/patients/{pid}/edit");
    let (_, html) = page(&s, &clin, &edit).await;
    assert!(html.contains("name=\"_version\" value=\"1\""), "{html}");

    // Someone else saves meanwhile (through the API): BMI 30, now smoking.
    let mut theirs = patient_body("MRN-E2", "Nakamura");
    theirs["bmi"] = json!(30.0);
    theirs["smoking"] = json!("current");
    let (st, p) = s.put(&clin, &format!("/api/v1/patients/{pid}"), 1, theirs).await;
    assert_eq!(st, StatusCode::OK, "{p}");

    // The form loaded at version 1 is sent: refused, the message on top, the current values in the form.
    let mine = edited(&csrf, "1", "MRN-E2", "Nakamura", &[("bmi", "22"), ("ambulatory_status", "wheelchair")]);
    let (st, _, html) = submit(&s, &clin, &edit, &refs(&mine)).await;
    assert_eq!(st, StatusCode::CONFLICT, "{html}");
    assert!(
        html.contains("This patient was changed by someone else since you opened the form; review the current values and save again"),
        "{html}"
    );
    assert!(html.contains("name=\"bmi\" value=\"30.0\""), "the current BMI is shown: {html}");
    assert!(html.contains("<option value=\"current\" selected>"), "the current smoking status is shown: {html}");
    assert!(html.contains("name=\"_version\" value=\"2\""), "the form now carries the current version: {html}");
    let now = s.db.store.get_patient(&pid).await.unwrap();
    assert_eq!((now.version, now.data.bmi), (2, Some(30.0)), "nothing overwritten");
    assert_eq!(now.data.ambulatory_status.code(), "independent");
    assert!(audited(&s, &pid, "update").await.iter().any(|(o, _)| *o == AuditOutcome::Conflict));

    // Saved again from the reloaded form: it goes through.
    let again = edited(
        &csrf,
        "2",
        "MRN-E2",
        "Nakamura",
        &[("bmi", "30"), ("smoking", "current"), ("ambulatory_status", "wheelchair")],
    );
    let (st, _, html) = submit(&s, &clin, &edit, &refs(&again)).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{html}");
    let now = s.db.store.get_patient(&pid).await.unwrap();
    assert_eq!((now.version, now.data.ambulatory_status.code()), (3, "wheelchair"));

    // A form without its version is refused: it could overwrite anything.
    let mut versionless = again.clone();
    versionless.retain(|(k, _)| k != "_version");
    let (st, _, _) = submit(&s, &clin, &edit, &refs(&versionless)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(s.db.store.get_patient(&pid).await.unwrap().version, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_coordinator_may_edit_a_patient_and_a_patient_account_or_analyst_may_not() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let pid = new_patient(&s, &clin, "MRN-E3", "Sato", "independent").await;
    let coord = s.user("coord", Role::Coordinator, None).await;
    let analyst = s.user("analyst", Role::Analyst, None).await;
    let me = s.user("sato", Role::Patient, Some(&pid)).await;
    let edit = format!("/patients/{pid}/edit");

    // The coordinator: the form, then a save.
    let (st, html) = page(&s, &coord, &edit).await;
    assert_eq!(st, StatusCode::OK, "{html}");
    let csrf = limbpath_server::web::csrf_token(&coord);
    let pairs = edited(&csrf, "1", "MRN-E3", "Sato", &[("smoking", "never")]);
    let (st, location, html) = submit(&s, &coord, &edit, &refs(&pairs)).await;
    assert_eq!((st, location.as_str()), (StatusCode::SEE_OTHER, format!("/patients/{pid}").as_str()), "{html}");
    assert_eq!(s.db.store.get_patient(&pid).await.unwrap().data.smoking.code(), "never");

    // The patient themself and an analyst: 403 pages, audited as denied, nothing saved; no edit link for the patient.
    let (_, html) = page(&s, &me, &format!("/patients/{pid}")).await;
    assert!(!html.contains(&edit), "{html}");
    for token in [&me, &analyst] {
        let (st, html) = page(&s, token, &edit).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{html}");
        assert!(html.contains("You do not have access to this page") && !html.contains("name=\"mrn\""), "{html}");
        let csrf = limbpath_server::web::csrf_token(token);
        let pairs = edited(&csrf, "2", "MRN-E3", "Sato", &[("smoking", "current")]);
        let (st, _, html) = submit(&s, token, &edit, &refs(&pairs)).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{html}");
    }
    let now = s.db.store.get_patient(&pid).await.unwrap();
    assert_eq!((now.version, now.data.smoking.code()), (2, "never"));
    let trail = s.db.store.list_audit(None, 500).await.unwrap();
    let denied: Vec<_> = trail
        .items
        .iter()
        .filter(|e| e.entry.outcome == AuditOutcome::Denied && e.entry.entity_id.as_deref() == Some(pid.as_str()))
        .map(|e| (e.entry.username.clone().unwrap_or_default(), e.entry.action.clone()))
        .collect();
    for want in [("sato", "form"), ("sato", "update"), ("analyst", "form"), ("analyst", "update")] {
        assert!(denied.iter().any(|(u, a)| u == want.0 && a == want.1), "{want:?} not audited: {denied:?}");
    }

    // No such patient: 404.
    let (st, _) = page(&s, &clin, "/patients/00000000000000000000000000/edit").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
