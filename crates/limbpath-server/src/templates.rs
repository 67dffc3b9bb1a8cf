//! The follow-up schedule templates over HTTP (issue 5 item 4): the shipped
//! templates and the programme's edits of them.
//!
//! - `GET /api/v1/follow-up-templates`: every template, shipped and the
//!   programme's version (care team: admin, clinician, coordinator).
//! - `PUT /api/v1/follow-up-templates/{id}`: the programme's edit, admin only.
//!   Body `{"template": {…}, "reason": "…"}`; the template's id must be `{id}`.
//!   `If-Match` names the version the edit was made against; without it the
//!   edit is accepted only if the programme never edited the template (version
//!   0). An invalid template is 422 naming the field, and nothing is stored.
//! - `DELETE /api/v1/follow-up-templates/{id}` with `If-Match`: reset to the
//!   shipped template, admin only.
//!
//! The access rule is [`Family::FollowUpTemplates`]; every request, denials
//! and refusals included, is audited (entity `follow_up_template`). Every
//! follow-up computation (an episode's follow-ups, the missed-follow-up sweep
//! and so the worklist, the patient's next appointments) reads the templates
//! through `Store::follow_up_templates`, so an edit moves them all.

use crate::access::{Action, Family};
use crate::app::{
    AppResult, AppState, Audit, Caller, RemoteAddr, authenticate, authorise, now_ms, parse_body, remote, with_etag,
};
use crate::http::if_match;
use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use limbpath_clinical::InvalidInput;
use limbpath_pathway::FollowUpTemplate;
use limbpath_store::{AuditOutcome, ProgrammeTemplate};
use serde::Deserialize;
use std::sync::Arc;

/// The template routes (merged into [`crate::router`]).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/follow-up-templates", get(list))
        .route("/api/v1/follow-up-templates/{id}", get(get_one).put(put).delete(reset))
}

async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    addr: &RemoteAddr,
    action: &'static str,
    access: Action,
    id: Option<&str>,
) -> AppResult<Caller> {
    let remote = remote(addr);
    let caller = authenticate(state, headers, "follow_up_template", remote.clone()).await?;
    let audit = Audit::of(state, &caller, remote, action, "follow_up_template");
    authorise(&audit, &caller, Family::FollowUpTemplates, access, id).await?;
    Ok(caller)
}

async fn list(State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap) -> AppResult<Response> {
    let caller = caller(&state, &headers, &addr, "read", Action::Read, None).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "read", "follow_up_template");
    match state.store.programme_templates().await {
        Ok(templates) => {
            audit.record(None, None, AuditOutcome::Ok, "").await?;
            Ok(Json(serde_json::json!({ "templates": templates })).into_response())
        }
        Err(e) => audit.failed(None, None, e).await,
    }
}

async fn get_one(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let caller = caller(&state, &headers, &addr, "read", Action::Read, Some(&id)).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "read", "follow_up_template");
    match state.store.programme_templates().await {
        Ok(all) => match all.into_iter().find(|t| t.id == id) {
            Some(t) => {
                audit.record(Some(&id), None, AuditOutcome::Ok, "").await?;
                Ok(with_etag(StatusCode::OK, t.version.max(0), &t))
            }
            None => {
                audit.record(Some(&id), None, AuditOutcome::NotFound, "no such template").await?;
                Err(Problem::not_found(format!("no follow-up template with id {id}")))
            }
        },
        Err(e) => audit.failed(Some(&id), None, e).await,
    }
}

/// The body of a template edit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateEdit {
    pub template: FollowUpTemplate,
    /// Why, or the programme's source for the change, in the editor's words.
    pub reason: String,
}

/// The version an edit names: `If-Match`, or 0 (never edited) without it.
fn expected_version(headers: &HeaderMap) -> AppResult<i64> {
    if headers.contains_key(header::IF_MATCH) { if_match(headers) } else { Ok(0) }
}

/// Store an edit, auditing the outcome (shared with the web form).
pub(crate) async fn store_edit(
    audit: &Audit<'_>,
    caller: &Caller,
    id: &str,
    edit: &TemplateEdit,
    expected: i64,
) -> AppResult<ProgrammeTemplate> {
    if edit.template.id != id {
        let e = InvalidInput::inconsistent("template.id", &edit.template.id, format!("the id in the path, {id}"));
        audit.record(Some(id), None, AuditOutcome::Invalid, &e.to_string()).await?;
        return Err(Problem::invalid(e));
    }
    let by = caller.user.data.display_name.clone();
    match audit.state.store.put_programme_template(&edit.template, expected, &by, &edit.reason, now_ms()).await {
        Ok(t) => {
            let detail = format!("edited to version {} ({}): {}", t.version, t.in_use().version, edit.reason.trim());
            audit.record(Some(id), None, AuditOutcome::Ok, &detail).await?;
            Ok(t)
        }
        Err(e) => audit.failed(Some(id), None, e).await,
    }
}

/// Reset a template to the shipped one, auditing the outcome.
pub(crate) async fn store_reset(
    audit: &Audit<'_>,
    caller: &Caller,
    id: &str,
    expected: i64,
) -> AppResult<ProgrammeTemplate> {
    let by = caller.user.data.display_name.clone();
    match audit.state.store.reset_programme_template(id, expected, &by, now_ms()).await {
        Ok(t) => {
            audit
                .record(
                    Some(id),
                    None,
                    AuditOutcome::Ok,
                    &format!("reset to the shipped template (version {})", t.version),
                )
                .await?;
            Ok(t)
        }
        Err(e) => audit.failed(Some(id), None, e).await,
    }
}

async fn put(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let caller = caller(&state, &headers, &addr, "update", Action::Write, Some(&id)).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "update", "follow_up_template");
    let expected = audit.valid(Some(&id), None, expected_version(&headers)).await?;
    let edit: TemplateEdit = audit.valid(Some(&id), None, parse_body(&headers, body)).await?;
    let t = store_edit(&audit, &caller, &id, &edit, expected).await?;
    Ok(with_etag(StatusCode::OK, t.version, &t))
}

async fn reset(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let caller = caller(&state, &headers, &addr, "reset", Action::Write, Some(&id)).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "reset", "follow_up_template");
    let expected = audit.valid(Some(&id), None, if_match(&headers)).await?;
    let t = store_reset(&audit, &caller, &id, expected).await?;
    Ok(with_etag(StatusCode::OK, t.version, &t))
}
