//! Coordinated-care pages (issue 5): the coordinator's worklist (their home
//! page), the care-plan board of an episode, a task with its complete /
//! cancel / assign forms, the referrals queue with the review's decision
//! form, and the referral form a referrer reaches with their token.
//!
//! Same flow as every page: session → role matrix (`Family::Care`) → act →
//! audit; forms carry the session's CSRF token, task forms the task's version
//! (a stale form is refused with the current state shown). The referrer's
//! form uses their token in the address (`/refer/{token}`) as its credential
//! and as the CSRF secret; it shows only that referrer's own referrals.

use super::forms::FormData;
use super::html::{Markup, words};
use super::{Web, check_csrf, csrf_field, csrf_token, error_page, page, page_error, redirect, session};
use crate::access::{Action, Family};
use crate::app::{AppState, Audit, RemoteAddr, authorise, remote, store_problem};
use crate::care::{Change, care_plan_body, change_task, follow_up_rows, referrer, submit_referral, today};
use crate::problem::Problem;
use crate::{html, markup};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use limbpath_pathway::{
    CareTaskData, FollowUpState, Priority, Rationale, ReviewDecision, ReviewDecisionData, TaskState, TaskStatus,
};
use limbpath_record::{AmputationLevel, Discipline, Role, Stored};
use limbpath_store::{AuditOutcome, Referral, ReferralStatus, ReferralSubmission, StoreError, WorklistQuery};
use serde::Deserialize;
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/worklist", get(worklist))
        .route("/episodes/{id}/care-plan", get(board))
        .route("/episodes/{id}/care-plan/run", post(run))
        .route("/care-tasks/{id}", get(task))
        .route("/care-tasks/{id}/{action}", post(task_action))
        .route("/referrals", get(referrals))
        .route("/referrers/{id}/revoke", post(revoke_referrer))
        .route("/referrals/{id}", get(referral).post(decide))
        .route("/refer/{token}", get(refer_form).post(refer_submit))
}

async fn staff(
    state: &AppState,
    headers: &HeaderMap,
    addr: &RemoteAddr,
    entity: &'static str,
    action: Action,
) -> Result<Web, Response> {
    let web = session(state, headers, addr, entity).await?;
    let audit = web.audit(state, "denied", entity);
    authorise(&audit, &web.caller, Family::Care, action, None).await.map_err(|p| page_error(&web, p))?;
    Ok(web)
}

fn priority_badge(p: Priority) -> Markup {
    markup!("<span class=\"prio prio-{}\">{}</span>", p.label(), p.label())
}

fn state_label(s: &TaskStatus) -> Markup {
    let st = s.state();
    match s {
        TaskStatus::Assigned { assignee, .. } => {
            markup!("<span class=\"tstate tstate-{}\">{}</span> · {}", st.to_string(), st.to_string(), assignee)
        }
        _ => markup!("<span class=\"tstate tstate-{}\">{}</span>", st.to_string(), st.to_string()),
    }
}

fn rationale_block(r: &Rationale) -> Markup {
    let mut m = markup!("<div class=\"expl\"><p class=\"rule\"><span class=\"expl-label\">Rule</span> {}</p>", r.rule);
    if !r.because.is_empty() {
        html!(m, "<ul>");
        for b in &r.because {
            html!(m, "<li>{}</li>", b);
        }
        html!(m, "</ul>");
    }
    html!(
        m,
        "<p class=\"source\"><span class=\"expl-label\">Source</span> {} <span class=\"muted\">({}; {})</span></p>",
        r.source.citation,
        r.source.reference,
        words(
            &serde_json::to_value(r.source.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        )
    );
    if !r.flags.is_empty() {
        html!(m, "<ul class=\"flags\">");
        for f in &r.flags {
            html!(m, "<li class=\"flag\">{}</li>", f.message);
        }
        html!(m, "</ul>");
    }
    html!(m, "</div>");
    m
}

// ---------------------------------------------------------------------------
// Worklist
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct WorklistParams {
    discipline: Option<String>,
    assignee: Option<String>,
    cursor: Option<String>,
}

pub async fn worklist(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Query(q): Query<WorklistParams>,
) -> Response {
    let web = match staff(&state, &headers, &addr, "care_task", Action::Read).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let audit = web.audit(&state, "worklist", "care_task");
    let discipline = match crate::care::discipline_param(q.discipline.as_deref()) {
        Ok(d) => d,
        Err(p) => return page_error(&web, p),
    };
    let assignee = q.assignee.clone().filter(|a| !a.trim().is_empty());
    let on = today();
    let query = WorklistQuery {
        discipline,
        assignee: assignee.clone(),
        today: Some(on),
        cursor: q.cursor.clone().filter(|c| !c.is_empty()),
        limit: 50,
    };
    let page_items = match state.store.worklist(&query).await {
        Ok(p) => p,
        Err(e) => return failed(&web, &audit, None, e).await,
    };
    let mut patients: Vec<&str> = page_items.items.iter().map(|i| i.patient_id.as_str()).collect();
    patients.sort_unstable();
    patients.dedup();
    for p in &patients {
        if let Err(e) = audit.record(None, Some(p), AuditOutcome::Ok, "web worklist").await {
            return page_error(&web, e);
        }
    }
    if patients.is_empty()
        && let Err(e) = audit.record(None, None, AuditOutcome::Ok, "web worklist: no tasks").await
    {
        return page_error(&web, e);
    }
    let mut m = markup!(
        "<h1>Worklist</h1><p class=\"lead\">Open and assigned care tasks across patients, by due date: overdue first. Today is {}.</p>",
        on
    );
    html!(
        m,
        "<form method=\"get\" action=\"/worklist\" class=\"card search\" role=\"search\"><div class=\"grid\"><div class=\"field\"><label for=\"discipline\">Discipline</label><select id=\"discipline\" name=\"discipline\"><option value=\"\">any</option>"
    );
    for d in Discipline::ALL {
        let sel = if discipline == Some(*d) { markup!(" selected") } else { Markup::new() };
        html!(m, "<option value=\"{}\"{}>{}</option>", d.code(), sel, words(d.code()));
    }
    html!(
        m,
        "</select></div><div class=\"field\"><label for=\"assignee\">Assignee</label><input id=\"assignee\" name=\"assignee\" value=\"{}\"></div></div><div class=\"actions\"><button type=\"submit\" class=\"primary\">Filter</button> <a href=\"/worklist\">Clear</a></div></form>",
        assignee.clone().unwrap_or_default()
    );
    if page_items.items.is_empty() {
        html!(m, "<p class=\"card\" id=\"worklist-empty\">No open tasks.</p>");
    } else {
        html!(
            m,
            "<div class=\"table-wrap\"><table class=\"list\" id=\"worklist\"><caption class=\"sr-only\">Open care tasks</caption><thead><tr><th scope=\"col\">Due</th><th scope=\"col\">Priority</th><th scope=\"col\">Task</th><th scope=\"col\">Discipline</th><th scope=\"col\">Patient</th><th scope=\"col\">State</th></tr></thead><tbody>"
        );
        for i in &page_items.items {
            let t = &i.task;
            let due = if i.overdue {
                markup!("<span class=\"overdue\">{} · overdue</span>", t.data.due_on)
            } else {
                markup!("{}", t.data.due_on)
            };
            html!(
                m,
                "<tr><td>{}</td><td>{}</td><td><a class=\"task-link\" href=\"{}\">{}</a></td><td>{}</td><td><a href=\"{}\">{}</a> <span class=\"muted\">{}</span> · <a href=\"{}\">plan</a></td><td>{}</td></tr>",
                due,
                priority_badge(t.data.priority),
                format!("/care-tasks/{}", t.id),
                t.data.title,
                words(t.data.discipline.code()),
                format!("/patients/{}", i.patient_id),
                i.patient_name,
                i.mrn,
                format!("/episodes/{}/care-plan", t.data.key.episode_id),
                state_label(&t.data.status)
            );
        }
        html!(m, "</tbody></table></div>");
    }
    if let Some(next) = &page_items.next_cursor {
        let mut qs = form_urlencoded::Serializer::new(String::new());
        if let Some(d) = discipline {
            qs.append_pair("discipline", d.code());
        }
        if let Some(a) = &assignee {
            qs.append_pair("assignee", a);
        }
        qs.append_pair("cursor", next);
        html!(
            m,
            "<nav class=\"pager\" aria-label=\"Pages\"><a rel=\"next\" class=\"button\" href=\"{}\">Next page →</a></nav>",
            format!("/worklist?{}", qs.finish())
        );
    }
    page(Some(&web), "Worklist", m)
}

async fn failed(web: &Web, audit: &Audit<'_>, id: Option<&str>, e: StoreError) -> Response {
    let (p, outcome) = store_problem(e);
    if let Err(p) = audit.record(id, None, outcome, &p.detail).await {
        return page_error(web, p);
    }
    page_error(web, p)
}

// ---------------------------------------------------------------------------
// Care-plan board
// ---------------------------------------------------------------------------

pub async fn board(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let web = match staff(&state, &headers, &addr, "care_plan", Action::Read).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let audit = web.audit(&state, "read", "care_plan");
    let body = match care_plan_body(&state, &id).await {
        Ok(b) => b,
        Err(e) => return failed(&web, &audit, Some(&id), e).await,
    };
    if let Err(p) = audit.record(Some(&id), Some(&body.patient_id), AuditOutcome::Ok, "web care plan").await {
        return page_error(&web, p);
    }
    let follow = match follow_up_rows(&state, &id).await {
        Ok((_, rows)) => rows,
        Err(e) => return failed(&web, &audit, Some(&id), e).await,
    };
    let p = body.progress;
    let mut m = markup!(
        "<p class=\"crumbs\"><a href=\"{}\">← Patient</a> · <a href=\"/worklist\">Worklist</a></p><div class=\"head-row\"><h1>Care plan</h1><form method=\"post\" action=\"{}\" class=\"head-actions\">{}<button type=\"submit\">Re-run the rules</button></form></div>",
        format!("/patients/{}", body.patient_id),
        format!("/episodes/{id}/care-plan/run"),
        csrf_field(&web.csrf)
    );
    let verdict = if p.complete { "complete: every task is completed or cancelled" } else { "in progress" };
    html!(
        m,
        "<p class=\"lead\" id=\"plan-progress\" data-complete=\"{}\">Plan {} — {} tasks: {} open, {} assigned, {} completed, {} cancelled. Rules {} v{}, evaluated {}.</p>",
        if p.complete { "true" } else { "false" },
        verdict,
        p.total,
        p.open,
        p.assigned,
        p.completed,
        p.cancelled,
        body.ruleset_id,
        body.ruleset_version,
        body.evaluated_on
    );
    if let Some(why) = &body.not_evaluated {
        html!(m, "<p class=\"notice\">The rules were not evaluated: {}</p>", why);
    }
    if !body.pending.is_empty() {
        html!(
            m,
            "<p class=\"notice\">{} task(s) would be created by re-running the rules now (for example a wound checkpoint that has come due).</p>",
            body.pending.len()
        );
    }
    html!(m, "<div class=\"board\">");
    for (state_, label) in [
        (TaskState::Open, "Open"),
        (TaskState::Assigned, "Assigned"),
        (TaskState::Completed, "Completed"),
        (TaskState::Cancelled, "Cancelled"),
    ] {
        html!(m, "<section class=\"card column\" id=\"{}\"><h2>{}</h2>", format!("column-{state_}"), label);
        let tasks: Vec<&Stored<CareTaskData>> = body.tasks.iter().filter(|t| t.data.status.state() == state_).collect();
        if tasks.is_empty() {
            html!(m, "<p class=\"muted\">None.</p>");
        }
        for t in tasks {
            let detail = match &t.data.status {
                TaskStatus::Open => markup!("due {}", t.data.due_on),
                TaskStatus::Assigned { assignee, .. } => markup!("due {} · {}", t.data.due_on, assignee),
                TaskStatus::Completed { assignee, completed_on, .. } => {
                    markup!("done {} by {}", *completed_on, assignee)
                }
                TaskStatus::Cancelled { cancelled_on, reason, .. } => {
                    markup!("cancelled {}: {}", *cancelled_on, reason)
                }
            };
            html!(
                m,
                "<article class=\"task-card\">{} <a href=\"{}\">{}</a><p class=\"muted\">{} · {}</p></article>",
                priority_badge(t.data.priority),
                format!("/care-tasks/{}", t.id),
                t.data.title,
                words(t.data.discipline.code()),
                detail
            );
        }
        html!(m, "</section>");
    }
    html!(m, "</div>");
    if !body.advice.is_empty() {
        html!(m, "<section class=\"card\"><h2>Advice</h2>");
        for a in &body.advice {
            html!(m, "<h3>{}</h3>{}", a.advice, rationale_block(&a.rationale));
        }
        html!(m, "</section>");
    }
    if !body.undetermined.is_empty() {
        html!(m, "<section class=\"card\"><h2>Rules that need an input</h2><ul>");
        for u in &body.undetermined {
            html!(m, "<li><strong>{}</strong>: missing {}</li>", u.title, u.missing.join("; "));
        }
        html!(m, "</ul></section>");
    }
    html!(m, "<section class=\"card\"><h2>Follow-up schedule</h2>");
    if follow.is_empty() {
        html!(m, "<p class=\"muted\">No procedure with a follow-up template.</p>");
    } else {
        html!(
            m,
            "<div class=\"table-wrap\"><table class=\"list\"><thead><tr><th scope=\"col\">When</th><th scope=\"col\">Follow-up</th><th scope=\"col\">Discipline</th><th scope=\"col\">State</th><th scope=\"col\">Schedule source</th></tr></thead><tbody>"
        );
        for row in &follow {
            let when = match row.item.when {
                limbpath_pathway::follow_up::FollowUpWhen::Visit { due_on } => markup!("{}", due_on),
                limbpath_pathway::follow_up::FollowUpWhen::Restriction { from, until } => {
                    markup!("{} – {}", from, until)
                }
            };
            let st = serde_json::to_value(row.status.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let class = match row.status.state {
                FollowUpState::Missed => "cp-status cp-missed",
                FollowUpState::Overdue => "cp-status overdue",
                FollowUpState::Done => "cp-status cp-met",
                _ => "cp-status",
            };
            html!(
                m,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><span class=\"{}\">{}</span></td><td>{}</td></tr>",
                when,
                row.item.description,
                words(row.item.discipline.code()),
                class,
                words(&st),
                super::templates::source_words(&row.item.rationale.source)
            );
        }
        html!(m, "</tbody></table></div>");
    }
    html!(m, "</section>");
    page(Some(&web), "Care plan", m)
}

pub async fn run(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let web = match staff(&state, &headers, &addr, "care_plan", Action::Write).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    if let Err(r) = check_csrf(&state, &web, &FormData::parse(&body)).await {
        return r;
    }
    let audit = web.audit(&state, "run_care_plan", "care_plan");
    let rules = crate::care::rules();
    let (ruleset, settings) = (rules.ruleset(), rules.settings());
    let run = match state.store.run_care_plan(&id, ruleset, settings, today()).await {
        Ok(run) => crate::care::missed_follow_ups(&state, &id, today()).await.map(|(_, missed)| (run, missed)),
        Err(e) => Err(e),
    };
    match run {
        Ok((run, missed)) => {
            let detail = format!(
                "web: {} tasks created, {} for missed follow-ups",
                run.created.len() + missed.len(),
                missed.len()
            );
            if let Err(p) = audit.record(Some(&id), Some(&run.patient_id), AuditOutcome::Ok, &detail).await {
                return page_error(&web, p);
            }
            redirect(&format!("/episodes/{id}/care-plan"))
        }
        Err(e) => failed(&web, &audit, Some(&id), e).await,
    }
}

// ---------------------------------------------------------------------------
// One task and its forms
// ---------------------------------------------------------------------------

fn task_page(
    web: &Web,
    t: &Stored<CareTaskData>,
    owner: &str,
    errors: &[(&str, String)],
    values: &FormData,
) -> Response {
    let err = |name: &str| errors.iter().find(|(f, _)| *f == name).map(|(_, m)| m.clone());
    let mut m = markup!(
        "<p class=\"crumbs\"><a href=\"{}\">← Care plan</a> · <a href=\"/worklist\">Worklist</a> · <a href=\"{}\">Patient</a></p><h1>{}</h1>",
        format!("/episodes/{}/care-plan", t.data.key.episode_id),
        format!("/patients/{owner}"),
        t.data.title
    );
    if let Some(general) = err("") {
        html!(m, "<p class=\"error\" role=\"alert\">{}</p>", general);
    }
    html!(
        m,
        "<dl class=\"facts\"><div><dt>State</dt><dd id=\"task-state\">{}</dd></div><div><dt>Priority</dt><dd>{}</dd></div><div><dt>Due</dt><dd>{}</dd></div><div><dt>Discipline</dt><dd>{}</dd></div><div><dt>Created</dt><dd>{} by rule <span class=\"code\">{}</span> ({} v{})</dd></div></dl>",
        state_label(&t.data.status),
        priority_badge(t.data.priority),
        t.data.due_on,
        words(t.data.discipline.code()),
        t.data.created_on,
        t.data.key.rule_id,
        t.data.ruleset_id,
        t.data.ruleset_version
    );
    html!(m, "<section class=\"card\"><h2>Why</h2>{}</section>", rationale_block(&t.data.rationale));
    if !t.data.status.is_finished() {
        let action = |a: &str| format!("/care-tasks/{}/{a}", t.id);
        let version = t.version.to_string();
        html!(
            m,
            "<section class=\"card\"><h2>Complete</h2><form method=\"post\" action=\"{}\" id=\"complete-form\">{}<input type=\"hidden\" name=\"version\" value=\"{}\"><p>Mark the task done{}.</p><div class=\"actions\"><button type=\"submit\" class=\"primary\" id=\"complete-task\">Complete task</button></div></form></section>",
            action("complete"),
            csrf_field(&web.csrf),
            version,
            if t.data.status.state() == TaskState::Open {
                markup!(" (it is assigned to you, {}, first)", web.caller.user.data.display_name)
            } else {
                Markup::new()
            }
        );
        let assign_err = err("assignee");
        html!(
            m,
            "<section class=\"card\"><h2>Assign</h2><form method=\"post\" action=\"{}\">{}<input type=\"hidden\" name=\"version\" value=\"{}\"><div class=\"field{}\"><label for=\"assignee\">Assignee</label>{}<input id=\"assignee\" name=\"assignee\" value=\"{}\"></div><div class=\"actions\"><button type=\"submit\">Assign</button></div></form></section>",
            action("assign"),
            csrf_field(&web.csrf),
            version,
            if assign_err.is_some() { " has-error" } else { "" },
            assign_err.map(|e| markup!("<p class=\"error\" id=\"assignee-error\">{}</p>", e)),
            values.text("assignee")
        );
        let reason_err = err("reason");
        html!(
            m,
            "<section class=\"card\"><h2>Cancel</h2><form method=\"post\" action=\"{}\" id=\"cancel-form\">{}<input type=\"hidden\" name=\"version\" value=\"{}\"><div class=\"field{}\"><label for=\"reason\">Reason <span class=\"req\">(required)</span></label>{}<textarea id=\"reason\" name=\"reason\" rows=\"3\">{}</textarea></div><div class=\"actions\"><button type=\"submit\">Cancel task</button></div></form></section>",
            action("cancel"),
            csrf_field(&web.csrf),
            version,
            if reason_err.is_some() { " has-error" } else { "" },
            reason_err.map(|e| markup!("<p class=\"error\" id=\"reason-error\">{}</p>", e)),
            values.text("reason")
        );
    }
    page(Some(web), "Care task", m)
}

pub async fn task(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let web = match staff(&state, &headers, &addr, "care_task", Action::Read).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let audit = web.audit(&state, "read", "care_task");
    match state.store.get_care_task(&id).await {
        Ok(owned) => {
            if let Err(p) = audit.record(Some(&id), Some(&owned.owner), AuditOutcome::Ok, "web").await {
                return page_error(&web, p);
            }
            task_page(&web, &owned.record, &owned.owner, &[], &FormData::default())
        }
        Err(e) => failed(&web, &audit, Some(&id), e).await,
    }
}

pub async fn task_action(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let web = match staff(&state, &headers, &addr, "care_task", Action::Write).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let values = FormData::parse(&body);
    if let Err(r) = check_csrf(&state, &web, &values).await {
        return r;
    }
    let Ok(mut version) = values.text("version").parse::<i64>() else {
        return page_error(
            &web,
            Problem::malformed("the form has no task version: reload the page", Some("version".into())),
        );
    };
    let changes = match action.as_str() {
        "assign" => vec![Change::Assign(values.text("assignee").to_owned())],
        "cancel" => vec![Change::Cancel(values.text("reason").to_owned())],
        "complete" => {
            let current = match state.store.get_care_task(&id).await {
                Ok(c) => c.record,
                Err(e) => return page_error(&web, store_problem(e).0),
            };
            if current.data.status.state() == TaskState::Open {
                vec![Change::Assign(web.caller.user.data.display_name.clone()), Change::Complete]
            } else {
                vec![Change::Complete]
            }
        }
        _ => return error_page(Some(&web), Problem::not_found("no such task action")),
    };
    for change in &changes {
        let action = match change {
            Change::Assign(_) => "assign",
            Change::Complete => "complete",
            Change::Cancel(_) => "cancel",
        };
        let audit = web.audit(&state, action, "care_task");
        match change_task(&audit, &id, version, change).await {
            Ok(saved) => version = saved.version,
            Err(p) => {
                // Show the task again with the error in place.
                let current = match state.store.get_care_task(&id).await {
                    Ok(c) => c,
                    Err(_) => return page_error(&web, p),
                };
                let field = match p.field.as_deref() {
                    Some("reason") => "reason",
                    Some("assignee") => "assignee",
                    _ => "",
                };
                let message = if p.status == 412 {
                    "Someone changed this task while you had it open: here it is as it is now.".to_owned()
                } else {
                    p.detail.clone()
                };
                let mut r = task_page(&web, &current.record, &current.owner, &[(field, message)], &values);
                *r.status_mut() = p.status();
                return r;
            }
        }
    }
    match state.store.get_care_task(&id).await {
        Ok(t) => redirect(&format!("/episodes/{}/care-plan", t.record.data.key.episode_id)),
        Err(e) => page_error(&web, store_problem(e).0),
    }
}

// ---------------------------------------------------------------------------
// Referrals: the staff queue and decision, the referrer's form
// ---------------------------------------------------------------------------

fn decision_words(d: &ReviewDecisionData) -> Markup {
    let what = match d.decision {
        ReviewDecision::LimbSalvageAttempt => "Limb salvage attempt".to_owned(),
        ReviewDecision::PrimaryAmputation { level } => format!("Primary amputation ({})", words(level.code())),
        ReviewDecision::Palliation => "Palliation".to_owned(),
    };
    markup!(
        "<strong>{}</strong> — {} <span class=\"muted\">({}, {})</span>",
        what,
        d.reasons,
        d.decided_by,
        d.decided_on
    )
}

fn referral_rows(m: &mut Markup, items: &[Referral], link: impl Fn(&Referral) -> Option<String>) {
    html!(
        m,
        "<div class=\"table-wrap\"><table class=\"list\"><thead><tr><th scope=\"col\">Urgency</th><th scope=\"col\">Respond by (UTC)</th><th scope=\"col\">Patient</th><th scope=\"col\">Status</th><th scope=\"col\">Decision</th></tr></thead><tbody>"
    );
    for r in items {
        let by = time::OffsetDateTime::from_unix_timestamp(r.respond_by_ms / 1000)
            .map(|t| format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute()))
            .unwrap_or_default();
        let who = match link(r) {
            Some(href) => markup!("<a href=\"{}\">{}</a>", href, r.submission.patient_reference),
            None => markup!("{}", r.submission.patient_reference),
        };
        let status = match r.status {
            ReferralStatus::AwaitingReview => "awaiting review",
            ReferralStatus::Decided => "decided",
        };
        html!(
            m,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            priority_badge(r.urgency),
            by,
            who,
            status,
            r.decision.as_ref().map(decision_words)
        );
    }
    html!(m, "</tbody></table></div>");
}

pub async fn referrals(State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap) -> Response {
    let web = match staff(&state, &headers, &addr, "referral", Action::Read).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let audit = web.audit(&state, "list", "referral");
    let page_ = match state.store.list_referrals(None, None, 200).await {
        Ok(p) => p,
        Err(e) => return failed(&web, &audit, None, e).await,
    };
    if let Err(p) = audit.record(None, None, AuditOutcome::Ok, "web referrals queue").await {
        return page_error(&web, p);
    }
    let mut m = markup!(
        "<h1>Second-opinion referrals</h1><p class=\"lead\">Awaiting review first, by response target; then decided.</p>"
    );
    if page_.items.is_empty() {
        html!(m, "<p class=\"card\">No referrals.</p>");
    } else {
        referral_rows(&mut m, &page_.items, |r| Some(format!("/referrals/{}", r.id)));
    }
    if matches!(web.role(), Role::Admin | Role::Coordinator) {
        let audit = web.audit(&state, "list", "referrer");
        let referrers = match state.store.list_referrers(200).await {
            Ok(r) => r,
            Err(e) => return failed(&web, &audit, None, e).await,
        };
        if let Err(p) = audit.record(None, None, AuditOutcome::Ok, "web referrer tokens").await {
            return page_error(&web, p);
        }
        referrer_rows(&mut m, &web, &referrers, crate::app::now_ms());
    }
    page(Some(&web), "Referrals", m)
}

fn utc(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .map(|t| format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute()))
        .unwrap_or_default()
}

/// The referrer tokens: who, until when, and a revoke button while usable.
fn referrer_rows(m: &mut Markup, web: &Web, referrers: &[limbpath_store::Referrer], now_ms: i64) {
    html!(
        m,
        "<h2 id=\"referrer-tokens\">Referrer tokens</h2><p class=\"muted\">Each referring clinician's link works until it expires or is revoked.</p>"
    );
    if referrers.is_empty() {
        html!(m, "<p class=\"card\">No referrers.</p>");
        return;
    }
    html!(
        m,
        "<div class=\"table-wrap\"><table class=\"list\"><thead><tr><th scope=\"col\">Referrer</th><th scope=\"col\">Issued (UTC)</th><th scope=\"col\">Expires (UTC)</th><th scope=\"col\">Status</th><th scope=\"col\">Action</th></tr></thead><tbody>"
    );
    for r in referrers {
        let expired = r.expires_at_ms.is_some_and(|e| e <= now_ms);
        let status = match (r.revoked_at_ms, expired) {
            (Some(at), _) => format!("revoked {}", utc(at)),
            (None, true) => "expired".to_owned(),
            (None, false) if r.active => "active".to_owned(),
            (None, false) => "inactive".to_owned(),
        };
        let action = if r.active && r.revoked_at_ms.is_none() && !expired {
            markup!(
                "<form method=\"post\" action=\"{}\">{}<button type=\"submit\">Revoke</button></form>",
                format!("/referrers/{}/revoke", r.id),
                csrf_field(&web.csrf)
            )
        } else {
            Markup::new()
        };
        html!(
            m,
            "<tr id=\"{}\"><td>{}<br><span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            format!("referrer-{}", r.id),
            r.name,
            r.organisation,
            utc(r.created_at_ms),
            r.expires_at_ms.map(utc).unwrap_or_else(|| "never (issued before expiry)".to_owned()),
            status,
            action
        );
    }
    html!(m, "</tbody></table></div>");
}

/// Revoke a referrer token (admins and coordinators; CSRF).
pub async fn revoke_referrer(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let web = match staff(&state, &headers, &addr, "referrer", Action::Write).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    if let Err(r) = check_csrf(&state, &web, &FormData::parse(&body)).await {
        return r;
    }
    let audit = web.audit(&state, "revoke", "referrer");
    if !matches!(web.role(), Role::Admin | Role::Coordinator) {
        let why = "only admins and coordinators manage referrer tokens";
        if let Err(p) = audit.record(Some(&id), None, AuditOutcome::Denied, why).await {
            return page_error(&web, p);
        }
        return page_error(&web, Problem::forbidden(why));
    }
    match state.store.revoke_referrer(&id, crate::app::now_ms()).await {
        Ok(_) => {
            if let Err(p) = audit.record(Some(&id), None, AuditOutcome::Ok, "web").await {
                return page_error(&web, p);
            }
            redirect("/referrals#referrer-tokens")
        }
        Err(e) => failed(&web, &audit, Some(&id), e).await,
    }
}

fn referral_detail(r: &Referral) -> Markup {
    let mut m = markup!(
        "<dl class=\"facts\"><div><dt>Patient</dt><dd>{}</dd></div><div><dt>Age</dt><dd>{}</dd></div><div><dt>Urgency</dt><dd>{} · respond within {} h</dd></div><div><dt>Wet gangrene</dt><dd>{}</dd></div></dl><p>{}</p>",
        r.submission.patient_reference,
        r.submission.age_years.map(|a| a.to_string()).unwrap_or_else(|| "not given".into()),
        priority_badge(r.urgency),
        r.respond_within_hours,
        match r.submission.wet_gangrene {
            Some(true) => "reported",
            Some(false) => "reported absent",
            None => "not reported",
        },
        r.submission.summary
    );
    if !r.submission.question.is_empty() {
        html!(m, "<p><strong>Question:</strong> {}</p>", r.submission.question);
    }
    html!(m, "<h2>Triage</h2>{}", rationale_block(&r.triage_rationale));
    m
}

fn referral_page(web: &Web, r: &Referral, error: Option<(&str, String)>, values: &FormData) -> Response {
    let mut m = markup!(
        "<p class=\"crumbs\"><a href=\"/referrals\">← Referrals</a></p><h1>Referral</h1>{}",
        referral_detail(r)
    );
    match &r.decision {
        Some(d) => html!(m, "<section class=\"card\"><h2>Decision</h2><p>{}</p></section>", decision_words(d)),
        None => {
            let (field, message) = error.unzip();
            html!(
                m,
                "<section class=\"card\"><h2>Record the review's decision</h2>{}<form method=\"post\" action=\"{}\">{}<input type=\"hidden\" name=\"version\" value=\"{}\"><div class=\"field\"><label for=\"decision\">Decision</label><select id=\"decision\" name=\"decision\">",
                if field == Some("") {
                    message.clone().map(|e| markup!("<p class=\"error\" role=\"alert\">{}</p>", e))
                } else {
                    None
                },
                format!("/referrals/{}", r.id),
                csrf_field(&web.csrf),
                r.version.to_string()
            );
            for (v, l) in [
                ("limb_salvage_attempt", "Limb salvage attempt"),
                ("primary_amputation", "Primary amputation (give the level)"),
                ("palliation", "Palliation"),
            ] {
                let sel = if values.text("decision") == v { markup!(" selected") } else { Markup::new() };
                html!(m, "<option value=\"{}\"{}>{}</option>", v, sel, l);
            }
            let level_err = if field == Some("level") { message.clone() } else { None };
            html!(
                m,
                "</select></div><div class=\"field{}\"><label for=\"level\">Amputation level</label>{}<select id=\"level\" name=\"level\"><option value=\"\">—</option>",
                if level_err.is_some() { " has-error" } else { "" },
                level_err.map(|e| markup!("<p class=\"error\" id=\"level-error\">{}</p>", e))
            );
            for l in AmputationLevel::ALL {
                let sel = if values.text("level") == l.code() { markup!(" selected") } else { Markup::new() };
                html!(m, "<option value=\"{}\"{}>{}</option>", l.code(), sel, words(l.code()));
            }
            let reasons_err = if field == Some("reasons") { message } else { None };
            html!(
                m,
                "</select></div><div class=\"field{}\"><label for=\"reasons\">Reasons <span class=\"req\">(required)</span></label>{}<textarea id=\"reasons\" name=\"reasons\" rows=\"4\">{}</textarea></div><div class=\"actions\"><button type=\"submit\" class=\"primary\">Record decision</button></div></form></section>",
                if reasons_err.is_some() { " has-error" } else { "" },
                reasons_err.map(|e| markup!("<p class=\"error\" id=\"reasons-error\">{}</p>", e)),
                values.text("reasons")
            );
        }
    }
    page(Some(web), "Referral", m)
}

pub async fn referral(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let web = match staff(&state, &headers, &addr, "referral", Action::Read).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let audit = web.audit(&state, "read", "referral");
    match state.store.get_referral(&id).await {
        Ok(r) => {
            if let Err(p) = audit.record(Some(&id), None, AuditOutcome::Ok, "web").await {
                return page_error(&web, p);
            }
            referral_page(&web, &r, None, &FormData::default())
        }
        Err(e) => failed(&web, &audit, Some(&id), e).await,
    }
}

pub async fn decide(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let web = match staff(&state, &headers, &addr, "referral", Action::Write).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let values = FormData::parse(&body);
    if let Err(r) = check_csrf(&state, &web, &values).await {
        return r;
    }
    let audit = web.audit(&state, "decide", "referral");
    let current = match state.store.get_referral(&id).await {
        Ok(r) => r,
        Err(e) => return failed(&web, &audit, Some(&id), e).await,
    };
    let decision = match values.text("decision") {
        "limb_salvage_attempt" => Ok(ReviewDecision::LimbSalvageAttempt),
        "palliation" => Ok(ReviewDecision::Palliation),
        "primary_amputation" => match AmputationLevel::from_code(values.text("level")) {
            Some(level) => Ok(ReviewDecision::PrimaryAmputation { level }),
            None => Err(("level", "Choose the amputation level for a primary amputation.".to_owned())),
        },
        _ => Err(("", "Choose a decision.".to_owned())),
    };
    let decision = match decision {
        Ok(d) => d,
        Err(e) => {
            if let Err(p) = audit.record(Some(&id), None, AuditOutcome::Invalid, &e.1).await {
                return page_error(&web, p);
            }
            return referral_page(&web, &current, Some(e), &values);
        }
    };
    let version = values.text("version").parse::<i64>().unwrap_or(current.version);
    let data = ReviewDecisionData {
        decision,
        reasons: values.text("reasons").to_owned(),
        decided_on: today(),
        decided_by: web.caller.user.data.display_name.clone(),
    };
    match state.store.decide_referral(&id, version, &data).await {
        Ok(_) => {
            if let Err(p) = audit.record(Some(&id), None, AuditOutcome::Ok, "web").await {
                return page_error(&web, p);
            }
            redirect(&format!("/referrals/{id}"))
        }
        Err(e) => {
            let (p, outcome) = store_problem(e);
            if let Err(p) = audit.record(Some(&id), None, outcome, &p.detail).await {
                return page_error(&web, p);
            }
            let field = if p.field.as_deref() == Some("reasons") { "reasons" } else { "" };
            let fresh = state.store.get_referral(&id).await.unwrap_or(current);
            referral_page(&web, &fresh, Some((field, p.detail)), &values)
        }
    }
}

/// The referrer's page: their form and their own referrals with decisions.
fn refer_page(token: &str, name: &str, own: &[Referral], error: Option<(&str, String)>, values: &FormData) -> Response {
    let (field, message) = error.unzip();
    let err = |f: &str| if field == Some(f) { message.clone() } else { None };
    let mut m = markup!(
        "<h1>Second opinion before amputation</h1><p class=\"lead\">Referring as {}. You see only the referrals you submitted.</p>",
        name
    );
    if let Some(e) = err("") {
        html!(m, "<p class=\"error\" role=\"alert\">{}</p>", e);
    }
    html!(
        m,
        "<form method=\"post\" action=\"{}\" class=\"card\"><input type=\"hidden\" name=\"_csrf\" value=\"{}\"><div class=\"grid\">",
        format!("/refer/{token}"),
        csrf_token(token)
    );
    let text_field = |m: &mut Markup, name: &str, label: &str, kind: &str| {
        let e = err(name);
        html!(
            m,
            "<div class=\"field{}\"><label for=\"{}\">{}</label>{}<input id=\"{}\" name=\"{}\" type=\"{}\" value=\"{}\"></div>",
            if e.is_some() { " has-error" } else { "" },
            name,
            label,
            e.map(|e| markup!("<p class=\"error\" id=\"{}\">{}</p>", format!("{name}-error"), e)),
            name,
            name,
            kind,
            values.text(name)
        );
    };
    text_field(&mut m, "patient_reference", "Your reference for the patient (initials, your MRN)", "text");
    text_field(&mut m, "age_years", "Age (years)", "text");
    for (name, label, max) in [
        ("wound_grade", "WIfI wound grade (0–3)", 3),
        ("ischaemia_grade", "WIfI ischaemia grade (0–3)", 3),
        ("infection_grade", "WIfI foot infection grade (0–3)", 3),
    ] {
        let e = err(name);
        html!(
            m,
            "<div class=\"field{}\"><label for=\"{}\">{}</label>{}<select id=\"{}\" name=\"{}\"><option value=\"\">not assessed</option>",
            if e.is_some() { " has-error" } else { "" },
            name,
            label,
            e.map(|e| markup!("<p class=\"error\">{}</p>", e)),
            name,
            name
        );
        for g in 0..=max {
            let sel = if values.text(name) == g.to_string() { markup!(" selected") } else { Markup::new() };
            html!(m, "<option value=\"{}\"{}>{}</option>", g, sel, g);
        }
        html!(m, "</select></div>");
    }
    html!(
        m,
        "<div class=\"field\"><label for=\"wet_gangrene\">Wet (infected) gangrene</label><select id=\"wet_gangrene\" name=\"wet_gangrene\">"
    );
    for (v, l) in [("", "not assessed"), ("yes", "present"), ("no", "absent")] {
        let sel = if values.text("wet_gangrene") == v { markup!(" selected") } else { Markup::new() };
        html!(m, "<option value=\"{}\"{}>{}</option>", v, sel, l);
    }
    html!(m, "</select></div></div>");
    for (name, label) in
        [("summary", "Clinical summary, and why amputation was advised (required)"), ("question", "Your question")]
    {
        let e = err(name);
        html!(
            m,
            "<div class=\"field{}\"><label for=\"{}\">{}</label>{}<textarea id=\"{}\" name=\"{}\" rows=\"4\">{}</textarea></div>",
            if e.is_some() { " has-error" } else { "" },
            name,
            label,
            e.map(|e| markup!("<p class=\"error\" id=\"{}\">{}</p>", format!("{name}-error"), e)),
            name,
            name,
            values.text(name)
        );
    }
    html!(
        m,
        "<div class=\"actions\"><button type=\"submit\" class=\"primary\">Submit referral</button></div></form><h2>Your referrals</h2>"
    );
    if own.is_empty() {
        html!(m, "<p class=\"muted\">None yet.</p>");
    } else {
        referral_rows(&mut m, own, |_| None);
    }
    page(None, "Refer a patient", m)
}

async fn refer_context(
    state: &AppState,
    token: &str,
    addr: &RemoteAddr,
) -> Result<(limbpath_store::Referrer, Vec<Referral>), Response> {
    let r = referrer(state, Some(token), remote(addr)).await.map_err(|p| error_page(None, p))?;
    let own =
        state.store.list_referrals(Some(&r.id), None, 200).await.map_err(|e| error_page(None, store_problem(e).0))?;
    let audit = Audit { state, caller: None, remote: remote(addr), action: "referrer_list", entity: "referral" };
    audit
        .record(None, None, AuditOutcome::Ok, &format!("web: referrer {}", r.id))
        .await
        .map_err(|p| error_page(None, p))?;
    Ok((r, own.items))
}

pub async fn refer_form(State(state): State<Arc<AppState>>, addr: RemoteAddr, Path(token): Path<String>) -> Response {
    match refer_context(&state, &token, &addr).await {
        Ok((r, own)) => refer_page(&token, &r.name, &own, None, &FormData::default()),
        Err(resp) => resp,
    }
}

pub async fn refer_submit(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let r = match referrer(&state, Some(&token), remote(&addr)).await {
        Ok(r) => r,
        Err(p) => return error_page(None, p),
    };
    let values = FormData::parse(&body);
    let audit =
        Audit { state: &state, caller: None, remote: remote(&addr), action: "referrer_create", entity: "referral" };
    let who = format!("web: referrer {}", r.id);
    if values.undecodable() {
        return super::refuse_undecodable(&audit, None).await;
    }
    if !super::constant_time_eq(values.text(super::CSRF_FIELD).as_bytes(), csrf_token(&token).as_bytes()) {
        if let Err(p) =
            audit.record(None, None, AuditOutcome::Denied, &format!("{who}: CSRF token missing or wrong")).await
        {
            return error_page(None, p);
        }
        return error_page(
            None,
            Problem::forbidden("the form's security token is missing: reload the page and submit it again"),
        );
    }
    let mut findings = serde_json::Map::new();
    for name in ["wound_grade", "ischaemia_grade", "infection_grade"] {
        if let Ok(g) = values.text(name).parse::<u8>() {
            findings.insert(name.to_owned(), g.into());
        }
    }
    let age = values.text("age_years");
    let age_years = if age.is_empty() {
        None
    } else {
        match age.parse::<u8>() {
            Ok(a) => Some(a),
            Err(_) => {
                let own = state.store.list_referrals(Some(&r.id), None, 200).await.map(|p| p.items).unwrap_or_default();
                return refer_page(
                    &token,
                    &r.name,
                    &own,
                    Some(("age_years", "Enter the age in whole years, 1 to 120.".into())),
                    &values,
                );
            }
        }
    };
    let submission = ReferralSubmission {
        patient_reference: values.text("patient_reference").to_owned(),
        age_years,
        summary: values.text("summary").to_owned(),
        findings: serde_json::Value::Object(findings),
        wet_gangrene: match values.text("wet_gangrene") {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        question: values.text("question").to_owned(),
    };
    match submit_referral(&state, &r, submission).await {
        Ok(referral) => {
            if let Err(p) = audit.record(Some(&referral.id), None, AuditOutcome::Ok, &who).await {
                return error_page(None, p);
            }
            redirect(&format!("/refer/{token}"))
        }
        Err(e) => {
            let (p, outcome) = store_problem(e);
            if let Err(p) = audit.record(None, None, outcome, &format!("{who}: {}", p.detail)).await {
                return error_page(None, p);
            }
            if p.status != 422 {
                return error_page(None, p);
            }
            let field = p.field.clone().unwrap_or_default();
            let field = [
                "patient_reference",
                "age_years",
                "summary",
                "question",
                "wound_grade",
                "ischaemia_grade",
                "infection_grade",
            ]
            .into_iter()
            .find(|f| field == *f || field == format!("findings.{f}"))
            .unwrap_or("");
            let own = state.store.list_referrals(Some(&r.id), None, 200).await.map(|p| p.items).unwrap_or_default();
            let status = p.status();
            let mut resp = refer_page(&token, &r.name, &own, Some((field, p.detail)), &values);
            *resp.status_mut() = status;
            resp
        }
    }
}
