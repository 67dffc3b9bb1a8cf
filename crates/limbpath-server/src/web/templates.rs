//! The admin's follow-up templates page: every template with its items, the
//! source of each ("Edited by the programme" for what the programme changed),
//! an edit form (the template as JSON and the reason; an error is shown at the
//! field it names) and "Reset to shipped". The writes go through
//! `crate::templates`, so the checks, versions and audit are the API's.

use super::forms::{FieldError, FormData, error_summary};
use super::html::Markup;
use super::{Web, check_csrf, csrf_field, page, page_error, redirect, session};
use crate::access::{Action, Family};
use crate::app::{AppState, RemoteAddr, authorise};
use crate::problem::Problem;
use crate::templates::{TemplateEdit, store_edit, store_reset};
use crate::{html, markup};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use limbpath_pathway::follow_up::Timing;
use limbpath_store::{AuditOutcome, ProgrammeTemplate};
use serde::Deserialize;
use std::sync::Arc;

const PATH: &str = "/admin/follow-up-templates";

/// The template pages (merged into the web routes).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(PATH, get(list_page))
        .route("/admin/follow-up-templates/{id}", post(save))
        .route("/admin/follow-up-templates/{id}/reset", post(reset))
}

/// A template item's timing in words.
pub fn timing_words(t: &Timing) -> String {
    match t {
        Timing::At { at } => format!("at {}", at.iter().map(|o| o.words()).collect::<Vec<_>>().join(", ")),
        Timing::Every { first, every, until } => {
            format!("from {} every {} until {}", first.words(), every.words(), until.words())
        }
        Timing::Restriction { until } => format!("restriction for {}", until.words()),
    }
}

/// A source's status in the reference pack's words.
pub fn status_words(s: limbpath_pathway::SourceStatus) -> &'static str {
    use limbpath_pathway::SourceStatus::*;
    match s {
        Verified => "verified",
        SingleSource => "single source",
        Disputed => "disputed",
        SecondaryConsensus => "secondary consensus",
        ProgrammePolicy => "programme policy, not from the reference pack",
    }
}

/// Where a follow-up item's schedule comes from, for display: the citation
/// (for an item the programme changed, "Edited by the programme: <reason>")
/// and its status.
pub fn source_words(s: &limbpath_pathway::RuleSource) -> String {
    format!("{} ({})", s.citation, status_words(s.status))
}

fn instant(ms: i64) -> String {
    super::visits::instant(ms)
}

/// One template's card. `form` is what the admin sent and its errors, when a
/// save was refused.
fn card(web: &Web, t: &ProgrammeTemplate, form: Option<(&FormData, &[FieldError])>) -> Markup {
    let used = t.in_use();
    let mut m = markup!("<section class=\"card\" id=\"template-{}\"><h2>{}</h2>", t.id, used.title);
    match &t.edited {
        Some(e) => html!(
            m,
            "<p class=\"notice\">Edited by the programme: version {} (shipped version {}), by {} on {}. Reason: {}</p>",
            e.version,
            t.shipped.version,
            t.edited_by.as_deref().unwrap_or(""),
            t.edited_at_ms.map(instant).unwrap_or_default(),
            t.reason.as_deref().unwrap_or("")
        ),
        None => html!(m, "<p class=\"muted\">The shipped template (version {}).</p>", t.shipped.version),
    }
    html!(m, "<table><thead><tr><th>Item</th><th>Discipline</th><th>When</th><th>Source</th></tr></thead><tbody>");
    for item in &used.items {
        html!(
            m,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} <span class=\"muted\">({}; {})</span></td></tr>",
            item.description,
            super::html::words(item.discipline.code()),
            timing_words(&item.timing),
            item.source.citation,
            item.source.reference,
            status_words(item.source.status)
        );
    }
    html!(m, "</tbody></table>");
    let (values, errors) = form.map_or((None, &[][..]), |(v, e)| (Some(v), e));
    let json = values
        .map(|v| v.text("template").to_owned())
        .unwrap_or_else(|| serde_json::to_string_pretty(used).unwrap_or_default());
    let reason = values.map(|v| v.text("reason").to_owned()).unwrap_or_default();
    let err = |name: &str| errors.iter().find(|e| e.field == name).map(|e| e.message.clone());
    let tid = format!("template-json-{}", t.id);
    let rid = format!("reason-{}", t.id);
    html!(
        m,
        "<form method=\"post\" action=\"{}/{}\">{}<input type=\"hidden\" name=\"version\" value=\"{}\"><div class=\"field\" id=\"field-template\"><label for=\"{}\">Template (JSON)</label><p class=\"hint\">Items whose description, discipline or timing you change are shown as edited by the programme, with your reason, instead of the shipped source.</p>",
        PATH,
        t.id,
        csrf_field(&web.csrf),
        t.version,
        tid,
    );
    if let Some(e) = err("template") {
        html!(m, "<p class=\"error\" id=\"{}-error\">{}</p>", tid, e);
    }
    html!(
        m,
        "<textarea id=\"{}\" name=\"template\" rows=\"16\" spellcheck=\"false\">{}</textarea></div><div class=\"field\" id=\"field-reason\"><label for=\"{}\">Reason or source for the change</label>",
        tid,
        json,
        rid
    );
    if let Some(e) = err("reason") {
        html!(m, "<p class=\"error\" id=\"{}-error\">{}</p>", rid, e);
    }
    html!(
        m,
        "<input type=\"text\" id=\"{}\" name=\"reason\" value=\"{}\"></div><div class=\"actions\"><button type=\"submit\" class=\"primary\">Save the programme's version</button></div></form>",
        rid,
        reason
    );
    if t.edited.is_some() {
        html!(
            m,
            "<form method=\"post\" action=\"{}/{}/reset\">{}<input type=\"hidden\" name=\"version\" value=\"{}\"><button type=\"submit\">Reset to shipped</button></form>",
            PATH,
            t.id,
            csrf_field(&web.csrf),
            t.version
        );
    }
    html!(m, "</section>");
    m
}

fn body(
    web: &Web,
    all: &[ProgrammeTemplate],
    failed: Option<(&str, &FormData, &[FieldError])>,
    saved: Option<&str>,
) -> Markup {
    let mut m = markup!(
        "<h1>Follow-up templates</h1><p class=\"muted\">The schedules follow-up visits are computed from. A programme may edit a template; every episode's follow-ups, the missed-follow-up worklist tasks and patients' next appointments then use the programme's version. Shipped intervals keep their sources.</p>"
    );
    if let Some((_, _, errors)) = failed {
        m.push(error_summary(errors));
    }
    if let Some(id) = saved {
        html!(m, "<p class=\"notice\" role=\"status\">Saved {}.</p>", id);
    }
    for t in all {
        let form = failed.filter(|(id, _, _)| *id == t.id).map(|(_, v, e)| (v, e));
        m.push(card(web, t, form));
    }
    m
}

async fn admin(
    state: &AppState,
    headers: &HeaderMap,
    addr: &RemoteAddr,
    action: &'static str,
) -> Result<Web, Response> {
    let web = session(state, headers, addr, "follow_up_template").await?;
    let audit = web.audit(state, action, "follow_up_template");
    let access = if action == "read" { Action::Read } else { Action::Write };
    if let Err(p) = authorise(&audit, &web.caller, Family::FollowUpTemplates, access, None).await {
        return Err(page_error(&web, p));
    }
    // The page is the admin's: the care team reads templates through the API and the episode pages.
    if web.role() != limbpath_record::Role::Admin {
        let _ = audit.record(None, None, AuditOutcome::Denied, "the templates page is for admins").await;
        return Err(page_error(&web, Problem::forbidden("the follow-up templates page is for admins")));
    }
    Ok(web)
}

#[derive(Deserialize)]
pub struct Saved {
    saved: Option<String>,
}

async fn list_page(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Query(q): Query<Saved>,
) -> Response {
    let web = match admin(&state, &headers, &addr, "read").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let audit = web.audit(&state, "read", "follow_up_template");
    let all = match state.store.programme_templates().await {
        Ok(a) => a,
        Err(e) => return page_error(&web, crate::app::store_problem(e).0),
    };
    if let Err(p) = audit.record(None, None, AuditOutcome::Ok, "").await {
        return page_error(&web, p);
    }
    let saved = q.saved.as_deref().filter(|s| all.iter().any(|t| t.id == *s));
    page(Some(&web), "Follow-up templates", body(&web, &all, None, saved))
}

/// The field a refused template names, for the form: `reason`, or the
/// template textarea (with the JSON path in the message).
fn field_error(p: &Problem) -> FieldError {
    match p.field.as_deref() {
        Some("reason") => FieldError { field: "reason".into(), message: format!("Reason: {}", p.detail) },
        Some(f) => FieldError { field: "template".into(), message: format!("{f}: {}", p.detail) },
        None => FieldError { field: "template".into(), message: p.detail.clone() },
    }
}

async fn save(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: Bytes,
) -> Response {
    let web = match admin(&state, &headers, &addr, "update").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let form = FormData::parse(&raw);
    if let Err(r) = check_csrf(&state, &web, &form).await {
        return r;
    }
    let audit = web.audit(&state, "update", "follow_up_template");
    let version: i64 = form.text("version").parse().unwrap_or(-1);
    let refused = |errors: Vec<FieldError>| {
        let state = &state;
        let web = &web;
        let form = &form;
        let id = id.clone();
        async move {
            match state.store.programme_templates().await {
                Ok(all) => page(Some(web), "Follow-up templates", body(web, &all, Some((&id, form, &errors)), None)),
                Err(e) => page_error(web, crate::app::store_problem(e).0),
            }
        }
    };
    let template = match serde_json::from_str(form.text("template")) {
        Ok(t) => t,
        Err(e) => {
            let detail = format!("the template is not a valid template document: {e}");
            if let Err(p) = audit.record(Some(&id), None, AuditOutcome::Invalid, &detail).await {
                return page_error(&web, p);
            }
            return refused(vec![FieldError { field: "template".into(), message: detail }]).await;
        }
    };
    let edit = TemplateEdit { template, reason: form.text("reason").to_owned() };
    match store_edit(&audit, &web.caller, &id, &edit, version).await {
        Ok(_) => redirect(&format!("{PATH}?saved={id}")),
        Err(p) if p.status == 422 => refused(vec![field_error(&p)]).await,
        Err(p) => page_error(&web, p),
    }
}

async fn reset(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: Bytes,
) -> Response {
    let web = match admin(&state, &headers, &addr, "reset").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let form = FormData::parse(&raw);
    if let Err(r) = check_csrf(&state, &web, &form).await {
        return r;
    }
    let audit = web.audit(&state, "reset", "follow_up_template");
    let version: i64 = form.text("version").parse().unwrap_or(-1);
    match store_reset(&audit, &web.caller, &id, version).await {
        Ok(_) => redirect(&format!("{PATH}?saved={id}")),
        Err(p) => page_error(&web, p),
    }
}
