//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document, built from the same
//! table of record kinds the router is generated from.

use crate::app::AppState;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use std::sync::Arc;

/// (path segment, parent path segment for the list route, schema name, summary)
const RECORDS: [(&str, Option<&str>, &str, &str); 12] = [
    ("patients", None, "PatientData", "Patients: demographics, site MRN and risk factors"),
    ("limbs", Some("patients"), "LimbData", "Limbs of a patient"),
    ("episodes", Some("limbs"), "EpisodeData", "Episodes: one limb-threatening problem from referral to outcome"),
    ("assessments", Some("episodes"), "AssessmentData", "Assessments: findings and every derived classification"),
    ("wounds", Some("episodes"), "WoundData", "Wounds on the foot map"),
    ("wound-measurements", Some("wounds"), "WoundMeasurementData", "Dated wound measurements"),
    ("vascular-studies", Some("episodes"), "VascularStudyData", "ABI, TBI, toe pressure, TcPO2, duplex"),
    ("imaging-studies", Some("episodes"), "ImagingStudyData", "Angiography, X-ray, CT, MRI, bone scan, DEXA"),
    ("procedures", Some("episodes"), "ProcedureData", "Procedures"),
    ("outcome-events", Some("episodes"), "OutcomeEventData", "Dated outcome events"),
    ("consents", Some("episodes"), "ConsentData", "Consent records"),
    ("care-team-members", Some("episodes"), "CareTeamMemberData", "Care-team membership"),
];

/// The coordinated-care endpoints: (path, method, summary, (status, description)).
const CARE: [(&str, &str, &str, (&str, &str)); 23] = [
    (
        "/api/v1/care-plans/run",
        "post",
        "Re-run the plans of one page of open episodes (?cursor=&limit=; admin, coordinator)",
        ("200", "{episodes, tasks_created, failed, next_cursor}"),
    ),
    (
        "/api/v1/episodes/{id}/care-plan",
        "get",
        "An episode's care plan: tasks, progress, advice, undetermined rules, wound trajectories, pending tasks",
        ("200", "CarePlan"),
    ),
    (
        "/api/v1/episodes/{id}/care-plan/run",
        "post",
        "Re-run the care-plan rules and insert the new tasks (idempotent)",
        ("200", "CarePlan with `created`"),
    ),
    (
        "/api/v1/episodes/{id}/follow-ups",
        "get",
        "Follow-up items recomputed from the procedures and templates, with done/upcoming/overdue/missed",
        ("200", "{items}"),
    ),
    (
        "/api/v1/follow-up-templates",
        "get",
        "The follow-up schedule templates: shipped and the programme's edit of each (care team)",
        ("200", "{templates}"),
    ),
    (
        "/api/v1/follow-up-templates/{id}",
        "get",
        "One follow-up template, shipped and the programme's edit (ETag: its version, 0 if never edited)",
        ("200", "ProgrammeTemplate"),
    ),
    (
        "/api/v1/follow-up-templates/{id}",
        "put",
        "Edit a template for the programme {template, reason} (admin; If-Match, or none if never edited; 422 names the field)",
        ("200", "ProgrammeTemplate"),
    ),
    (
        "/api/v1/follow-up-templates/{id}",
        "delete",
        "Reset a template to the shipped one (admin; If-Match)",
        ("200", "ProgrammeTemplate"),
    ),
    (
        "/api/v1/episodes/{id}/follow-up-visits",
        "post",
        "Record a follow-up visit {key, completed_on}",
        ("201", "Recorded"),
    ),
    (
        "/api/v1/care-tasks",
        "get",
        "The worklist: open and assigned tasks by due date (overdue first); ?discipline=&assignee=&cursor=&limit=",
        ("200", "{items, next_cursor}"),
    ),
    ("/api/v1/care-tasks/{id}", "get", "A care task", ("200", "The task; ETag is its version")),
    ("/api/v1/care-tasks/{id}/assign", "post", "Assign {assignee}; requires If-Match", ("200", "Assigned")),
    (
        "/api/v1/care-tasks/{id}/complete",
        "post",
        "Complete ({} or {assignee} to assign first); requires If-Match",
        ("200", "Completed"),
    ),
    ("/api/v1/care-tasks/{id}/cancel", "post", "Cancel {reason}; requires If-Match", ("200", "Cancelled")),
    (
        "/api/v1/referrers",
        "post",
        "Register a referrer {name, organisation, valid_days?} (admin, coordinator; the token works for valid_days, \
         default 90, at most 365); the token is shown once",
        ("201", "{referrer, token}"),
    ),
    ("/api/v1/referrers", "get", "The referrers with expiry and revocation (admin, coordinator)", ("200", "{items}")),
    (
        "/api/v1/referrers/{id}/revoke",
        "post",
        "Revoke a referrer token (admin, coordinator): it reaches nothing from then on",
        ("200", "The referrer"),
    ),
    ("/api/v1/referrals", "get", "The second-opinion queue (staff)", ("200", "{items, next_cursor}")),
    ("/api/v1/referrals/{id}", "get", "A referral (staff)", ("200", "Referral")),
    (
        "/api/v1/referrals/{id}/decision",
        "post",
        "Record the review's decision {decision, reasons}; requires If-Match",
        ("200", "Decided"),
    ),
    (
        "/api/v1/referrer/referrals",
        "post",
        "Submit a referral with a referrer token (triaged on submission)",
        ("201", "Referral"),
    ),
    ("/api/v1/referrer/referrals", "get", "The token holder's own referrals", ("200", "{items, next_cursor}")),
    (
        "/api/v1/referrer/referrals/{id}",
        "get",
        "One of the token holder's own referrals, with the decision",
        ("200", "Referral"),
    ),
];

fn problem_responses() -> Value {
    let content = json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}});
    let mut out = serde_json::Map::new();
    for (status, description) in [
        ("400", "Malformed request"),
        ("401", "Authentication required"),
        ("403", "Role not permitted"),
        ("404", "Not found (or another patient's record)"),
        ("413", "Body too large"),
        ("415", "Not application/json"),
        ("422", "Invalid input: `field` names it; nothing was stored"),
        ("429", "Too many requests from this address (or a locked username): wait Retry-After seconds"),
        ("503", "Database or audit trail unavailable; nothing was done"),
    ] {
        out.insert(status.into(), json!({"description": description, "content": content}));
    }
    Value::Object(out)
}

/// The document; the session cookie's name is the one `cookies` sets.
pub fn build(cookies: crate::http::Cookies) -> Value {
    let mut paths = serde_json::Map::new();
    let errors = problem_responses();
    let merge = |mut base: Value| {
        if let (Some(b), Some(e)) = (base.as_object_mut(), errors.as_object()) {
            for (k, v) in e {
                b.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        base
    };
    for (segment, parent, schema, summary) in RECORDS {
        let data = json!({"$ref": format!("#/components/schemas/{schema}")});
        paths.insert(
            format!("/api/v1/{segment}"),
            json!({"post": {
                "summary": format!("Create ({summary})"),
                "requestBody": {"required": true, "content": {"application/json": {"schema": data}}},
                "responses": merge(json!({"201": {"description": "Created; ETag is the version, Location the new record"}, "409": {"description": "Duplicate"}}))
            }}),
        );
        paths.insert(
            format!("/api/v1/{segment}/{{id}}"),
            json!({
                "get": {"summary": format!("Read ({summary})"), "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
                        "responses": merge(json!({"200": {"description": "The record; ETag is its version"}}))},
                "put": {"summary": format!("Replace ({summary}); requires If-Match"),
                        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}},
                                       {"name": "If-Match", "in": "header", "required": true, "schema": {"type": "string"}}],
                        "requestBody": {"required": true, "content": {"application/json": {"schema": data}}},
                        "responses": merge(json!({"200": {"description": "Updated"}, "412": {"description": "Stale version: nothing changed"}, "428": {"description": "If-Match missing"}}))}
            }),
        );
        if let Some(parent) = parent {
            paths.insert(
                format!("/api/v1/{parent}/{{id}}/{segment}"),
                json!({"get": {"summary": format!("List ({summary}) of one {parent}, keyset-paginated"),
                               "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                                              {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                                              {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}}],
                               "responses": merge(json!({"200": {"description": "{items, next_cursor}"}}))}}),
            );
        }
    }
    if let Some(patients) = paths.get_mut("/api/v1/patients").and_then(Value::as_object_mut) {
        patients.insert(
            "get".into(),
            json!({"summary": "Search patients by name prefix or MRN, site, episode status, WIfI stage, aetiology, overdue tasks; keyset-paginated",
                   "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}},
                                  {"name": "site", "in": "query", "schema": {"type": "string"}},
                                  {"name": "episode_status", "in": "query", "schema": {"type": "string"}},
                                  {"name": "aetiology", "in": "query", "schema": {"type": "string"}},
                                  {"name": "wifi_stage", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 5}},
                                  {"name": "overdue_tasks", "in": "query", "description": "true: only patients with an open care task past its due date", "schema": {"type": "boolean"}},
                                  {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                                  {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                   "responses": merge(json!({"200": {"description": "{items, next_cursor}"}}))}),
        );
    }
    paths.insert("/api/v1/patients/{id}/record".into(), json!({"get": {"summary": "A patient's whole record", "responses": merge(json!({"200": {"description": "PatientRecord"}}))}}));
    paths.insert("/api/v1/session".into(), json!({
        "post": {"summary": "Log in: sets the session cookie and returns a bearer token", "responses": merge(json!({"201": {"description": "Session"}, "429": {"description": "Locked after repeated failures"}}))},
        "delete": {"summary": "Log out", "responses": merge(json!({"204": {"description": "Logged out"}}))}
    }));
    paths.insert("/api/v1/session/password".into(), json!({
        "put": {"summary": "Change your own password (any role)",
                "description": "Body {current_password, new_password}. A wrong current password counts as a failed login towards the username's lockout. On success every session and API token of the account ends, the one used for this request included: log in again with the new password.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
                    "required": ["current_password", "new_password"],
                    "properties": {"current_password": {"type": "string"}, "new_password": {"type": "string", "minLength": 12, "maxLength": 256}}}}}},
                "responses": merge(json!({"204": {"description": "Changed; every session of the account has ended (this one too)"},
                                          "412": {"description": "The account changed meanwhile; nothing changed"},
                                          "422": {"description": "`field` current_password: wrong current password; new_password: refused by the password policy or equal to the current one; nothing changed"},
                                          "429": {"description": "The username is locked after repeated failures: wait Retry-After seconds"}}))}
    }));
    paths.insert("/api/v1/users".into(), json!({
        "post": {"summary": "Create a user (admin)", "responses": merge(json!({"201": {"description": "Created"}}))},
        "get": {"summary": "List users (admin)", "responses": merge(json!({"200": {"description": "{items, next_cursor}"}}))}
    }));
    paths.insert(
        "/api/v1/audit".into(),
        json!({"get": {"summary": "The audit trail of one patient (admin)",
        "parameters": [{"name": "patient", "in": "query", "required": true, "schema": {"type": "string"}}],
        "responses": merge(json!({"200": {"description": "{items, next_cursor}"}}))}}),
    );
    // Coordinated care (issue 5; `care.rs`): (path, method, summary, success).
    for (path, method, summary, ok) in CARE {
        let op = json!({"summary": summary, "responses": merge(json!({ok.0: {"description": ok.1}}))});
        if let Some(o) = paths.entry(path.to_owned()).or_insert_with(|| json!({})).as_object_mut() {
            o.insert(method.to_owned(), op);
        }
    }
    for (path, method, summary) in crate::visits::OPENAPI_PATHS {
        let item = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        item[method] =
            json!({"summary": summary, "responses": merge(json!({"200": {"description": "OK (201 for a creation)"}}))});
    }
    for (path, summary) in crate::analytics::OPENAPI_PATHS {
        paths.insert(
            path.to_owned(),
            json!({"get": {"summary": summary, "responses": merge(json!({"200": {"description": "OK"}}))}}),
        );
    }

    // Operations (issue 9; `ops.rs`): probes without authentication, metrics for the same host or a token.
    paths.insert(
        "/healthz".into(),
        json!({"get": {"summary": "Liveness: the process answers (no database)", "security": [],
        "responses": {"200": {"description": "ok", "content": {"text/plain": {}}}}}}),
    );
    paths.insert("/readyz".into(), json!({"get": {"summary": "Readiness: a database round trip", "security": [],
        "responses": {"200": {"description": "ready", "content": {"text/plain": {}}},
                      "503": {"description": "The database is unreachable", "content": {crate::problem::PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}}}}));
    paths.insert("/metrics".into(), json!({"get": {"summary": "Prometheus text: for a client on the same host not through a proxy, or with the metrics token as bearer token",
        "responses": {"200": {"description": "text/plain; version=0.0.4", "content": {"text/plain": {}}},
                      "403": {"description": "Neither the same host nor the metrics token", "content": {crate::problem::PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}}}}));

    let mut schemas = serde_json::Map::new();
    for (_, _, schema, summary) in RECORDS {
        schemas.insert(schema.into(), json!({"type": "object", "description": format!("{summary}. Field list and vocabularies: README.md and limbpath-record."), "additionalProperties": false}));
    }
    schemas.insert("Problem".into(), json!({"type": "object", "description": "RFC 9457 problem details",
        "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                       "detail": {"type": "string"}, "field": {"type": "string"}, "value": {"type": "string"}, "accepted": {"type": "string"}},
        "required": ["type", "title", "status", "detail"]}));

    json!({
        "openapi": "3.1.0",
        "info": {"title": "LimbPath API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "The limb-centred record of a limb salvage programme. Every read and write is audited. Results are decision support for clinicians."},
        "servers": [{"url": "/"}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": cookies.session_name()}}
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths
    })
}

pub async fn document(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(build(state.config.cookies()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_record_kind_has_its_paths() {
        let doc = super::build(crate::http::Cookies::PLAIN);
        let paths = doc["paths"].as_object().unwrap();
        for (segment, parent, _, _) in super::RECORDS {
            assert!(paths.contains_key(&format!("/api/v1/{segment}")));
            assert!(paths[&format!("/api/v1/{segment}/{{id}}")]["put"].is_object());
            if let Some(parent) = parent {
                assert!(paths.contains_key(&format!("/api/v1/{parent}/{{id}}/{segment}")));
            }
        }
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(paths["/api/v1/patients"]["get"].is_object());
        assert!(paths["/api/v1/session/password"]["put"]["responses"]["204"].is_object());
        for probe in ["/healthz", "/readyz", "/metrics"] {
            assert!(paths[probe]["get"]["responses"]["200"].is_object(), "{probe}");
        }
        for (path, method, _, _) in super::CARE {
            assert!(paths[path][method]["responses"].is_object(), "{method} {path}");
        }
        assert!(
            paths["/api/v1/referrer/referrals"]["get"].is_object()
                && paths["/api/v1/referrer/referrals"]["post"].is_object()
        );
    }

    #[test]
    fn the_analytics_paths_are_documented() {
        let doc = super::build(crate::http::Cookies::PLAIN);
        for (path, _) in crate::analytics::OPENAPI_PATHS {
            assert!(doc["paths"][path]["get"]["responses"].is_object(), "{path}");
        }
    }
}
