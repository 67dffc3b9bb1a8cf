//! Changing one's own password (ASVS 2.1.5, 2.1.6): `PUT /api/v1/session/password`
//! checks the current password like a login, applies the policy to the new
//! one, ends every session of the account, and audits every attempt.

use super::{PASSWORD, Server, chart};
use limbpath_record::Role;
use limbpath_store::{AuditOutcome, StoredAuditEntry};
use reqwest::StatusCode;
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "violet lantern over the harbour";

impl Server {
    async fn change_password(&self, token: &str, current: &str, new: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .put(self.url("/api/v1/session/password"))
            .bearer_auth(token)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Another session of an existing user (a second device).
    async fn user_session(&self, username: &str) -> String {
        let body = json!({"username": username, "password": PASSWORD});
        let r = self.http.post(self.url("/api/v1/session")).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    async fn login_status(&self, username: &str, password: &str) -> StatusCode {
        let body = json!({"username": username, "password": password});
        self.http.post(self.url("/api/v1/session")).json(&body).send().await.unwrap().status()
    }

    /// The audit entries of password changes, oldest first.
    async fn password_audit(&self) -> Vec<StoredAuditEntry> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.db.store.list_audit(cursor.as_deref(), 100).await.unwrap();
            out.extend(page.items.into_iter().filter(|e| e.entry.action == "change_password"));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        // The trail lists newest first.
        out.sort_by_key(|e| e.id);
        out
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_change_needs_the_current_password_and_a_good_new_one_and_ends_every_session() {
    let s = Server::start().await;
    let token = s.user("clin", Role::Clinician, None).await;
    let other_session = s.user_session("clin").await;
    let user_id = s.db.store.list_users(None, 10).await.unwrap().items[0].id.clone();

    // A wrong current password: 422 at current_password; nothing changes.
    let (st, p) = s.change_password(&token, "not my password at all", NEW_PASSWORD).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "current_password", "{p}");
    assert_eq!(s.login_status("clin", PASSWORD).await, StatusCode::CREATED, "the old password still logs in");
    assert_eq!(s.login_status("clin", NEW_PASSWORD).await, StatusCode::UNAUTHORIZED);

    // A new password the policy refuses: 422 at new_password with the policy's words.
    let (st, p) = s.change_password(&token, PASSWORD, "short").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "new_password", "{p}");
    assert!(p["accepted"].as_str().unwrap().contains("12 to 256 characters"), "{p}");
    let (st, p) = s.change_password(&token, PASSWORD, "password1234").await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("new_password")), "{p}");
    assert!(p["accepted"].as_str().unwrap().contains("common passwords"), "{p}");
    // The same password again is no change.
    let (st, p) = s.change_password(&token, PASSWORD, PASSWORD).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("new_password")), "{p}");
    // A body that is not the change's: 422 naming the field, nothing changes.
    let r = s
        .http
        .put(s.url("/api/v1/session/password"))
        .bearer_auth(&token)
        .json(&json!({"current_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(s.login_status("clin", PASSWORD).await, StatusCode::CREATED, "nothing was changed");
    assert_eq!(s.get(&token, "/api/v1/patients").await.0, StatusCode::OK, "the session still works");

    // Without a credential: 401.
    let r = s
        .http
        .put(s.url("/api/v1/session/password"))
        .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Success: 204; the token used and every other session end; only the new password logs in.
    let (st, p) = s.change_password(&token, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{p}");
    assert_eq!(s.get(&token, "/api/v1/patients").await.0, StatusCode::UNAUTHORIZED, "the token used has ended");
    assert_eq!(s.get(&other_session, "/api/v1/patients").await.0, StatusCode::UNAUTHORIZED, "so has every other");
    assert_eq!(s.login_status("clin", PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(s.login_status("clin", NEW_PASSWORD).await, StatusCode::CREATED);

    // Every attempt is audited: who, the user, no patient, and never a password.
    let audit = s.password_audit().await;
    let outcomes: Vec<AuditOutcome> = audit.iter().map(|e| e.entry.outcome).collect();
    assert_eq!(
        outcomes,
        [
            AuditOutcome::Denied,
            AuditOutcome::Invalid,
            AuditOutcome::Invalid,
            AuditOutcome::Invalid,
            AuditOutcome::Invalid,
            AuditOutcome::Ok
        ],
        "{audit:?}"
    );
    for e in &audit {
        assert_eq!(e.entry.entity.as_deref(), Some("user"));
        assert_eq!(e.entry.entity_id.as_deref(), Some(user_id.as_str()));
        assert_eq!(e.entry.user_id.as_deref(), Some(user_id.as_str()));
        assert_eq!(e.entry.patient_id, None);
        let text = serde_json::to_string(&e.entry).unwrap();
        for secret in [PASSWORD, NEW_PASSWORD, "not my password at all", "password1234", "short\""] {
            assert!(!text.contains(secret), "{secret:?} in the audit trail: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_current_passwords_count_towards_the_login_lockout() {
    let s = Server::start().await;
    let token = s.user("coord", Role::Coordinator, None).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(s.change_password(&token, "a wrong guess again", NEW_PASSWORD).await.0);
    }
    assert_eq!(statuses[..4], [StatusCode::UNPROCESSABLE_ENTITY; 4], "{statuses:?}");
    assert_eq!(statuses[4], StatusCode::TOO_MANY_REQUESTS, "the fifth failure locks the username");
    // Locked: even the right password logs in or changes nothing until the lock ends.
    assert_eq!(s.login_status("coord", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);
    let r = s
        .http
        .put(s.url("/api/v1/session/password"))
        .bearer_auth(&token)
        .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["field"], "current_password", "{p}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patient_account_changes_its_own_password() {
    let s = Server::start().await;
    let admin = s.user("admin", Role::Admin, None).await;
    let (pid, _, _) = chart(&s, &admin, "MRN-PW", "Nakamura").await;
    let token = s.user("pat", Role::Patient, Some(&pid)).await;
    let (st, p) = s.change_password(&token, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{p}");
    assert_eq!(s.get(&token, &format!("/api/v1/patients/{pid}")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.login_status("pat", PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(s.login_status("pat", NEW_PASSWORD).await, StatusCode::CREATED);
    // The admin's own sessions are untouched.
    assert_eq!(s.get(&admin, &format!("/api/v1/patients/{pid}")).await.0, StatusCode::OK);
    let audit = s.password_audit().await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].entry.role, Some(Role::Patient));
    assert_eq!(audit[0].entry.patient_id, None);
    assert_eq!(audit[0].entry.outcome, AuditOutcome::Ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_password_change_is_in_the_openapi_document() {
    let s = Server::start().await;
    let doc: Value = s.http.get(s.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let op = &doc["paths"]["/api/v1/session/password"]["put"];
    assert!(op["responses"]["204"].is_object(), "{op}");
    assert!(op["description"].as_str().unwrap().contains("every session"), "{op}");
}
