//! Coordinated care over HTTP (issue 5): an episode's care plan, the
//! coordinator's worklist, task transitions, follow-ups and second-opinion
//! referrals. The rules are `limbpath-pathway`'s (pure); this module runs them
//! on the server's date and keeps their results through `limbpath-store`.
//!
//! Every staff endpoint follows the API's flow: authenticate → the role matrix
//! ([`Family::Care`]: admin, clinician, coordinator; analysts and patient
//! accounts are refused) → act → audit, with the task's patient on the audit
//! entry. Transitions need `If-Match`.
//!
//! Referrers are not users: they hold a per-referrer token
//! (`Authorization: Bearer …`) that only the `/api/v1/referrer/…` endpoints
//! accept, and those only ever return the token holder's own referrals. The
//! token is not a session, so every other endpoint answers it 401.
//!
//! The plan runs after an assessment, wound, wound measurement or procedure is
//! created (in the same request; the response carries
//! `LimbPath-Care-Tasks-Created`), and on demand
//! (`POST /api/v1/episodes/{id}/care-plan/run`). "Today" is the server's UTC date.

use crate::access::{Action, Family};
use crate::app::{
    AppResult, AppState, Audit, Caller, PageBody, PageParams, RemoteAddr, authenticate, authorise, log_error, now_ms,
    parse_body, remote, store_problem, with_etag,
};
use crate::http::{QueryParams, credential, if_match, page_limit};
use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use limbpath_clinical::InvalidInput;
use limbpath_pathway::task::{TaskError, TaskKey};
use limbpath_pathway::{
    Advice, CareRules, CareTaskData, FollowUpItem, FollowUpKey, FollowUpStatus, PlanProgress, ProgrammeSettings,
    ReviewDecision, ReviewDecisionData, TaskState, Undetermined, WoundTrajectory, follow_up_status,
    missed_follow_up_tasks, plan_progress, shipped_rule_set, triage_referral,
};
use limbpath_record::{Date, Discipline, Role, Stored};
use limbpath_store::{
    AuditOutcome, NewReferral, PlanAfter, RecordKind, Referral, ReferralSubmission, Referrer, StoreError, WorklistQuery,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The response header that says how many care tasks a record's creation made.
pub const TASKS_CREATED_HEADER: HeaderName = HeaderName::from_static("limbpath-care-tasks-created");

/// The rule set and settings the server runs (the shipped ones, built once;
/// a programme's own would be loaded here).
pub fn rules() -> Arc<CareRules> {
    static RULES: std::sync::LazyLock<Arc<CareRules>> = std::sync::LazyLock::new(|| {
        // The shipped rules are validated by limbpath-pathway's tests.
        Arc::new(CareRules::new(shipped_rule_set(), ProgrammeSettings::shipped()).expect("the shipped rules are valid"))
    });
    RULES.clone()
}

/// Today's date (UTC).
pub fn today() -> Date {
    let days = now_ms().div_euclid(86_400_000);
    Date::from_julian_day(2_440_588 + days as i32).unwrap_or(Date::MIN)
}

/// The staff care routes (merged into [`crate::router`]).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/episodes/{id}/care-plan", get(care_plan))
        .route("/api/v1/episodes/{id}/care-plan/run", post(run_plan))
        .route("/api/v1/episodes/{id}/follow-ups", get(follow_ups))
        .route("/api/v1/episodes/{id}/follow-up-visits", post(record_visit))
        .route("/api/v1/care-plans/run", post(sweep))
        .route("/api/v1/care-tasks", get(worklist))
        .route("/api/v1/care-tasks/{id}", get(get_task))
        .route("/api/v1/care-tasks/{id}/assign", post(assign_task))
        .route("/api/v1/care-tasks/{id}/complete", post(complete_task))
        .route("/api/v1/care-tasks/{id}/cancel", post(cancel_task))
        .route("/api/v1/referrers", post(create_referrer).get(list_referrers))
        .route("/api/v1/referrers/{id}/revoke", post(revoke_referrer))
        .route("/api/v1/referrals", get(referral_queue))
        .route("/api/v1/referrals/{id}", get(get_referral))
        .route("/api/v1/referrals/{id}/decision", post(decide_referral))
        .route("/api/v1/referrer/referrals", post(referrer_submit).get(referrer_list))
        .route("/api/v1/referrer/referrals/{id}", get(referrer_get))
}

// ---------------------------------------------------------------------------
// Running the plan
// ---------------------------------------------------------------------------

/// What the care plan did after a record's creation (the plan ran in the
/// store with the record, and the store audited it with the plan's tasks:
/// [`limbpath_store::Store::create_owned_and_run_care_plan`]): how many tasks
/// it created, `None` when it did not run (the kind does not feed the plan,
/// or the episode is closed). A failure of the plan does not undo the record
/// (it is saved and audited); it is logged here, and the explicit re-run
/// endpoint repeats it.
pub(crate) fn tasks_created(kind: RecordKind, id: &str, after: PlanAfter) -> Option<usize> {
    match after {
        PlanAfter::NotRun | PlanAfter::EpisodeClosed { .. } => None,
        PlanAfter::Ran { run, .. } => Some(run.created.len()),
        PlanAfter::Failed { episode_id: None, error } => {
            log_error(&format!("care plan after {} {id}: {error}", kind.entity()));
            None
        }
        PlanAfter::Failed { episode_id: Some(episode), error } => {
            log_error(&format!("care plan of episode {episode} after {} {id}: {error}", kind.entity()));
            None
        }
    }
}

/// An episode's care plan: its tasks and progress, and what the rules say
/// today (advice, undetermined rules, wound trajectories, and tasks the rules
/// would create on a re-run: `pending`).
#[derive(Debug, Serialize)]
pub struct CarePlanBody {
    pub episode_id: String,
    pub patient_id: String,
    pub evaluated_on: Date,
    pub ruleset_id: String,
    pub ruleset_version: String,
    pub tasks: Vec<Stored<CareTaskData>>,
    pub progress: PlanProgress,
    /// Tasks created by this request (the run endpoint only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub created: Vec<Stored<CareTaskData>>,
    /// Tasks the rules would create if the plan were re-run now.
    pub pending: Vec<CareTaskData>,
    pub advice: Vec<Advice>,
    pub undetermined: Vec<Undetermined>,
    pub wounds: Vec<WoundTrajectory>,
    /// Why the rules were not evaluated (a closed episode), if they were not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_evaluated: Option<String>,
}

/// Build the plan body for an episode (read only).
pub(crate) async fn care_plan_body(state: &AppState, episode_id: &str) -> Result<CarePlanBody, StoreError> {
    let (patient_id, snapshot) = state.store.episode_snapshot(episode_id).await?;
    let rules = rules();
    let ruleset = rules.ruleset();
    let on = today();
    let mut body = CarePlanBody {
        episode_id: episode_id.to_owned(),
        patient_id,
        evaluated_on: on,
        ruleset_id: ruleset.id.clone(),
        ruleset_version: ruleset.version.clone(),
        progress: plan_progress(snapshot.tasks.iter().map(|t| &t.data)),
        tasks: snapshot.tasks.clone(),
        created: Vec::new(),
        pending: Vec::new(),
        advice: Vec::new(),
        undetermined: Vec::new(),
        wounds: Vec::new(),
        not_evaluated: None,
    };
    match rules.plan(&snapshot, on) {
        Ok(diff) => {
            body.pending = diff.create;
            body.advice = diff.advice;
            body.undetermined = diff.undetermined;
            body.wounds = diff.wounds;
        }
        Err(e) if e.field == "episode.status" => body.not_evaluated = Some(e.to_string()),
        Err(e) => return Err(StoreError::Invalid(e)),
    }
    Ok(body)
}

/// Authenticate and check the care family; the audit is returned for the handler.
async fn staff(
    state: &AppState,
    headers: &HeaderMap,
    addr: &RemoteAddr,
    entity: &'static str,
    action: &'static str,
    access: Action,
    entity_id: Option<&str>,
) -> AppResult<Caller> {
    let remote = remote(addr);
    let caller = authenticate(state, headers, entity, remote.clone()).await?;
    let audit = Audit::of(state, &caller, remote, action, entity);
    authorise(&audit, &caller, Family::Care, access, entity_id).await?;
    Ok(caller)
}

async fn care_plan(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let caller = staff(&state, &headers, &addr, "care_plan", "read", Action::Read, Some(&id)).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "read", "care_plan");
    match care_plan_body(&state, &id).await {
        Ok(body) => {
            audit.record(Some(&id), Some(&body.patient_id), AuditOutcome::Ok, "").await?;
            Ok(Json(body).into_response())
        }
        Err(e) => audit.failed(Some(&id), None, e).await,
    }
}

async fn run_plan(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let caller = staff(&state, &headers, &addr, "care_plan", "run_care_plan", Action::Write, Some(&id)).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "run_care_plan", "care_plan");
    let rules = rules();
    let (ruleset, settings) = (rules.ruleset(), rules.settings());
    let mut run = match state.store.run_care_plan(&id, ruleset, settings, today()).await {
        Ok(run) => run,
        Err(e) => return audit.failed(Some(&id), None, e).await,
    };
    match missed_follow_ups(&state, &id, today()).await {
        Ok((_, missed)) => run.created.extend(missed),
        Err(e) => return audit.failed(Some(&id), Some(&run.patient_id), e).await,
    }
    let detail = format!("{} tasks created", run.created.len());
    audit.record(Some(&id), Some(&run.patient_id), AuditOutcome::Ok, &detail).await?;
    let tasks = match state.store.care_tasks_of_episode(&id).await {
        Ok(t) => t,
        Err(e) => return Err(store_problem(e).0),
    };
    let body = CarePlanBody {
        episode_id: id,
        patient_id: run.patient_id,
        evaluated_on: run.diff.evaluated_on,
        ruleset_id: run.diff.ruleset_id,
        ruleset_version: run.diff.ruleset_version,
        progress: plan_progress(tasks.iter().map(|t| &t.data)),
        tasks,
        created: run.created,
        pending: Vec::new(),
        advice: run.diff.advice,
        undetermined: run.diff.undetermined,
        wounds: run.diff.wounds,
        not_evaluated: None,
    };
    Ok(Json(body).into_response())
}

#[derive(Serialize)]
struct SweepBody {
    episodes: usize,
    tasks_created: usize,
    /// Of `tasks_created`, the coordinator tasks for missed follow-up visits.
    missed_follow_ups: usize,
    /// Episodes whose plan could not run (their error), if any.
    failed: Vec<serde_json::Value>,
    next_cursor: Option<String>,
}

/// Re-run the plan of one page of open episodes (`?cursor=&limit=`): what a
/// daily job calls, page after page, so that tasks that come due with time (a
/// wound checkpoint passed without a new record, a follow-up visit missed)
/// are created. Admins and coordinators.
async fn sweep(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    QueryParams(page): QueryParams<PageParams>,
) -> AppResult<Response> {
    let caller = staff(&state, &headers, &addr, "care_plan", "run_care_plan", Action::Write, None).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "run_care_plan", "care_plan");
    if !matches!(caller.role(), Role::Admin | Role::Coordinator) {
        audit.record(None, None, AuditOutcome::Denied, "only admins and coordinators sweep every plan").await?;
        return Err(Problem::forbidden("only admins and coordinators sweep every plan"));
    }
    let ids = match state.store.open_episode_ids(page.cursor.as_deref(), page_limit(page.limit)?).await {
        Ok(p) => p,
        Err(e) => return audit.failed(None, None, e).await,
    };
    let mut body = SweepBody {
        episodes: ids.items.len(),
        tasks_created: 0,
        missed_follow_ups: 0,
        failed: Vec::new(),
        next_cursor: ids.next_cursor,
    };
    sweep_episodes(&state, &audit, &ids.items, &mut body).await?;
    audit.record(None, None, AuditOutcome::Ok, &format!("sweep of {} episodes", body.episodes)).await?;
    Ok(Json(body).into_response())
}

/// Re-run the plan of each episode in `ids` and add the tasks for missed
/// follow-up visits, counting into `body` and auditing every episode that got
/// new tasks (or failed).
async fn sweep_episodes(state: &AppState, audit: &Audit<'_>, ids: &[String], body: &mut SweepBody) -> AppResult<()> {
    let rules = rules();
    let (ruleset, settings) = (rules.ruleset(), rules.settings());
    let on = today();
    for id in ids {
        let run = match state.store.run_care_plan(id, ruleset, settings, on).await {
            Ok(run) => missed_follow_ups(state, id, on).await.map(|(_, missed)| (run, missed)),
            Err(e) => Err(e),
        };
        match run {
            Ok((run, missed)) => {
                body.tasks_created += run.created.len() + missed.len();
                body.missed_follow_ups += missed.len();
                if !run.created.is_empty() || !missed.is_empty() {
                    let detail = format!(
                        "sweep: {} tasks created, {} for missed follow-ups",
                        run.created.len() + missed.len(),
                        missed.len()
                    );
                    audit.record(Some(id), Some(&run.patient_id), AuditOutcome::Ok, &detail).await?;
                }
            }
            Err(e) => {
                let (p, outcome) = store_problem(e);
                audit.record(Some(id), None, outcome, &format!("sweep: {}", p.detail)).await?;
                body.failed.push(serde_json::json!({"episode_id": id, "problem": p.detail, "field": p.field}));
            }
        }
    }
    Ok(())
}

/// What one scheduled sweep of every open episode did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepTotals {
    pub episodes: usize,
    pub tasks_created: usize,
    pub missed_follow_ups: usize,
    pub failed: usize,
}

/// Sweep every open episode, page after page, as the server itself (audited
/// with no caller and no address): what `limbpath serve` runs on its own
/// timer so that a wound checkpoint passed or a follow-up visit missed reaches
/// the worklist without anyone asking. Idempotent, so several servers on one
/// database may each run it.
pub async fn sweep_open_episodes(state: &AppState) -> Result<SweepTotals, Problem> {
    sweep_open_episodes_until(state, &|| false).await
}

/// [`sweep_open_episodes`], stopping between pages of 200 episodes once
/// `stop()` says so (the server is shutting down).
async fn sweep_open_episodes_until(state: &AppState, stop: &(dyn Fn() -> bool + Sync)) -> Result<SweepTotals, Problem> {
    let audit = Audit { state, caller: None, remote: None, action: "run_care_plan", entity: "care_plan" };
    let mut totals = SweepTotals::default();
    let mut cursor: Option<String> = None;
    loop {
        let page = match state.store.open_episode_ids(cursor.as_deref(), 200).await {
            Ok(p) => p,
            Err(e) => {
                let (p, outcome) = store_problem(e);
                audit.record(None, None, outcome, &format!("scheduled sweep: {}", p.detail)).await?;
                return Err(p);
            }
        };
        let mut body = SweepBody {
            episodes: page.items.len(),
            tasks_created: 0,
            missed_follow_ups: 0,
            failed: Vec::new(),
            next_cursor: None,
        };
        sweep_episodes(state, &audit, &page.items, &mut body).await?;
        totals.episodes += body.episodes;
        totals.tasks_created += body.tasks_created;
        totals.missed_follow_ups += body.missed_follow_ups;
        totals.failed += body.failed.len();
        match page.next_cursor {
            Some(next) if !stop() => cursor = Some(next),
            _ => break,
        }
    }
    let detail = format!(
        "scheduled sweep of {} episodes: {} tasks created, {} for missed follow-ups, {} failed",
        totals.episodes, totals.tasks_created, totals.missed_follow_ups, totals.failed
    );
    audit.record(None, None, AuditOutcome::Ok, &detail).await?;
    Ok(totals)
}

/// Run [`sweep_open_episodes`] `every` after the server starts and then
/// `every` after each sweep ends (never back to back, however long a sweep of
/// a large programme takes), until `stop` turns true; a failed sweep is logged
/// and tried again next time. A sweep under way when `stop` turns true ends
/// after its current page (every task it made has its audit entry), then the
/// task returns.
pub fn start_care_plan_sweeps(
    state: Arc<AppState>,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let stopping = stop.clone();
            match sweep_open_episodes_until(&state, &move || *stopping.borrow()).await {
                Ok(t) => tracing::info!(
                    episodes = t.episodes,
                    tasks_created = t.tasks_created,
                    missed_follow_ups = t.missed_follow_ups,
                    failed = t.failed,
                    "scheduled care-plan sweep"
                ),
                Err(p) => tracing::warn!(problem = %p.detail, "scheduled care-plan sweep failed"),
            }
        }
    })
}

// ---------------------------------------------------------------------------
// Worklist and task transitions
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct WorklistParams {
    discipline: Option<String>,
    assignee: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// Parse a discipline code, naming the field.
pub(crate) fn discipline_param(code: Option<&str>) -> AppResult<Option<Discipline>> {
    match code {
        None | Some("") => Ok(None),
        Some(c) => Discipline::from_code(c).map(Some).ok_or_else(|| {
            Problem::invalid(InvalidInput::unrecognised(
                "discipline",
                c,
                Discipline::ALL.iter().map(|d| d.code()).collect::<Vec<_>>().join(", "),
            ))
        }),
    }
}

async fn worklist(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    QueryParams(params): QueryParams<WorklistParams>,
) -> AppResult<Response> {
    let caller = staff(&state, &headers, &addr, "care_task", "worklist", Action::Read, None).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "worklist", "care_task");
    let query = WorklistQuery {
        discipline: discipline_param(params.discipline.as_deref())?,
        assignee: params.assignee.filter(|a| !a.trim().is_empty()),
        today: Some(today()),
        cursor: params.cursor,
        limit: page_limit(params.limit)?,
    };
    match state.store.worklist(&query).await {
        Ok(page) => {
            // One entry per patient on the page: the worklist reads their tasks.
            let mut patients: Vec<&str> = page.items.iter().map(|i| i.patient_id.as_str()).collect();
            patients.sort_unstable();
            patients.dedup();
            for p in &patients {
                audit.record(None, Some(p), AuditOutcome::Ok, "worklist").await?;
            }
            if patients.is_empty() {
                audit.record(None, None, AuditOutcome::Ok, "worklist: no tasks").await?;
            }
            Ok(Json(PageBody::from(page)).into_response())
        }
        Err(e) => audit.failed(None, None, e).await,
    }
}

async fn get_task(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let caller = staff(&state, &headers, &addr, "care_task", "read", Action::Read, Some(&id)).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "read", "care_task");
    match state.store.get_care_task(&id).await {
        Ok(owned) => {
            audit.record(Some(&id), Some(&owned.owner), AuditOutcome::Ok, "").await?;
            Ok(with_etag(StatusCode::OK, owned.record.version, &owned.record))
        }
        Err(e) => audit.failed(Some(&id), None, e).await,
    }
}

/// A transition asked for.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    Assign(String),
    Complete,
    Cancel(String),
}

impl Change {
    fn action(&self) -> &'static str {
        match self {
            Change::Assign(_) => "assign",
            Change::Complete => "complete",
            Change::Cancel(_) => "cancel",
        }
    }
}

/// Apply a transition to a stored task on `today`: read, check the version,
/// run the lifecycle rule, write with the version. Audited by the caller's
/// `audit` (action = the transition).
pub(crate) async fn change_task(
    audit: &Audit<'_>,
    id: &str,
    expected_version: i64,
    change: &Change,
) -> AppResult<Stored<CareTaskData>> {
    let state = audit.state;
    let owned = match state.store.get_care_task(id).await {
        Ok(o) => o,
        Err(e) => return audit.failed(Some(id), None, e).await,
    };
    let owner = owned.owner.clone();
    let task = owned.record;
    if task.version != expected_version {
        let e = StoreError::VersionConflict { entity: "care_task", id: id.to_owned(), current: task.version };
        return audit.failed(Some(id), Some(&owner), e).await;
    }
    let on = today();
    let result = match change {
        Change::Assign(who) => task.data.assign(who, on),
        Change::Complete => task.data.complete(on),
        Change::Cancel(reason) => task.data.cancel(reason, on),
    };
    let next = match result {
        Ok(n) => n,
        Err(TaskError::IllegalTransition { .. }) => {
            let msg = result.err().map(|e| e.to_string()).unwrap_or_default();
            let mut p = Problem::conflict(msg);
            p.field = Some("state".into());
            audit.record(Some(id), Some(&owner), AuditOutcome::Conflict, &p.detail).await?;
            return Err(p);
        }
        Err(TaskError::InvalidInput(e)) => {
            return audit.failed(Some(id), Some(&owner), StoreError::Invalid(e)).await;
        }
    };
    match state.store.update_care_task_status(id, expected_version, &next.status).await {
        Ok(saved) => {
            audit.record(Some(id), Some(&owner), AuditOutcome::Ok, "").await?;
            Ok(saved)
        }
        Err(e) => audit.failed(Some(id), Some(&owner), e).await,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    assignee: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteBody {
    /// Assign to this person first when the task is still open (the crate
    /// completes only assigned tasks: someone did it).
    #[serde(default)]
    assignee: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    reason: String,
}

async fn transition(
    state: &AppState,
    addr: &RemoteAddr,
    headers: &HeaderMap,
    id: &str,
    action: &'static str,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let caller = staff(state, headers, addr, "care_task", action, Action::Write, Some(id)).await?;
    let audit = Audit::of(state, &caller, remote(addr), action, "care_task");
    let version = if_match(headers)?;
    let parsed: AppResult<Vec<Change>> = match action {
        "assign" => parse_body::<AssignBody>(headers, body).map(|b| vec![Change::Assign(b.assignee)]),
        "cancel" => parse_body::<CancelBody>(headers, body).map(|b| vec![Change::Cancel(b.reason)]),
        _ => {
            let b = match body.as_deref() {
                Ok([]) => Ok(CompleteBody::default()),
                _ => parse_body::<CompleteBody>(headers, body),
            };
            b.map(|b| match b.assignee {
                Some(a) => vec![Change::Assign(a), Change::Complete],
                None => vec![Change::Complete],
            })
        }
    };
    let changes = audit.valid(Some(id), None, parsed).await?;
    let mut version = version;
    let mut saved = None;
    for change in &changes {
        // "complete with assignee" on an already assigned task: just complete.
        if let (Change::Assign(_), true) = (change, changes.len() > 1) {
            let current = state.store.get_care_task(id).await.map_err(|e| store_problem(e).0)?;
            if current.record.data.status.state() == TaskState::Assigned {
                continue;
            }
        }
        let a = Audit { action: change.action(), remote: audit.remote.clone(), ..audit };
        let s = change_task(&a, id, version, change).await?;
        version = s.version;
        saved = Some(s);
    }
    let saved = saved.ok_or_else(Problem::internal)?;
    Ok(with_etag(StatusCode::OK, saved.version, &saved))
}

async fn assign_task(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    transition(&state, &addr, &headers, &id, "assign", body).await
}

async fn complete_task(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    transition(&state, &addr, &headers, &id, "complete", body).await
}

async fn cancel_task(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    transition(&state, &addr, &headers, &id, "cancel", body).await
}

// ---------------------------------------------------------------------------
// Follow-ups
// ---------------------------------------------------------------------------

/// One follow-up item and where it stands today.
#[derive(Debug, Serialize)]
pub struct FollowUpRow {
    pub item: FollowUpItem,
    pub status: FollowUpStatus,
}

/// Make the coordinator tasks for an episode's follow-up visits missed as of
/// `on` (`limbpath_pathway::missed_follow_up_tasks`): each once, whatever
/// the number of sweeps (the rule skips keys the episode has, and the task
/// key's UNIQUE index covers two sweeps at once). Returns the patient and the
/// tasks inserted.
pub(crate) async fn missed_follow_ups(
    state: &AppState,
    episode_id: &str,
    on: Date,
) -> Result<(String, Vec<Stored<CareTaskData>>), StoreError> {
    let (patient_id, snapshot, items) = state.store.follow_up_items(episode_id).await?;
    if items.is_empty() {
        return Ok((patient_id, Vec::new()));
    }
    let visits = state.store.follow_up_visits(episode_id).await?;
    let rules = rules();
    let settings = rules.settings();
    let existing: Vec<TaskKey> = snapshot.tasks.iter().map(|t| t.data.key.clone()).collect();
    let tasks = missed_follow_up_tasks(episode_id, &items, &visits, &existing, on, settings)?;
    let created = state.store.insert_care_tasks(&patient_id, &tasks).await?;
    Ok((patient_id, created))
}

/// The follow-up schedule of an episode, recomputed from its procedures and
/// the templates in use (the programme's edit where it has one), with each item's state against the recorded visits.
pub(crate) async fn follow_up_rows(
    state: &AppState,
    episode_id: &str,
) -> Result<(String, Vec<FollowUpRow>), StoreError> {
    let (patient_id, _, items) = state.store.follow_up_items(episode_id).await?;
    let visits = state.store.follow_up_visits(episode_id).await?;
    let rules = rules();
    let settings = rules.settings();
    let statuses = follow_up_status(&items, &visits, today(), settings)?;
    let rows = items.into_iter().zip(statuses).map(|(item, status)| FollowUpRow { item, status }).collect();
    Ok((patient_id, rows))
}

async fn follow_ups(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let caller = staff(&state, &headers, &addr, "follow_up", "read", Action::Read, Some(&id)).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "read", "follow_up");
    match follow_up_rows(&state, &id).await {
        Ok((patient, rows)) => {
            audit.record(Some(&id), Some(&patient), AuditOutcome::Ok, "").await?;
            Ok(Json(serde_json::json!({"episode_id": id, "evaluated_on": today(), "items": rows})).into_response())
        }
        Err(e) => audit.failed(Some(&id), None, e).await,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VisitBody {
    key: FollowUpKey,
    completed_on: Date,
}

async fn record_visit(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let caller = staff(&state, &headers, &addr, "follow_up", "create", Action::Write, Some(&id)).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "create", "follow_up");
    let req: VisitBody = audit.valid(Some(&id), None, parse_body(&headers, body)).await?;
    let (patient, rows) = match follow_up_rows(&state, &id).await {
        Ok(r) => r,
        Err(e) => return audit.failed(Some(&id), None, e).await,
    };
    if !rows.iter().any(|r| r.item.key == req.key) {
        let e = InvalidInput::unrecognised(
            "key",
            format!("{}/{}#{}", req.key.template_id, req.key.item_id, req.key.occurrence),
            "the key of a follow-up item of this episode (GET …/follow-ups)",
        );
        return audit.failed(Some(&id), Some(&patient), StoreError::Invalid(e)).await;
    }
    match state.store.record_follow_up_visit(&id, &req.key, req.completed_on, &caller.user.data.display_name).await {
        Ok(v) => {
            audit.record(Some(&v.id), Some(&patient), AuditOutcome::Ok, "").await?;
            Ok((StatusCode::CREATED, Json(v)).into_response())
        }
        Err(e) => audit.failed(Some(&id), Some(&patient), e).await,
    }
}

// ---------------------------------------------------------------------------
// Referrers and referrals
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewReferrer {
    name: String,
    organisation: String,
    /// Days the token works, 1 to [`REFERRER_TOKEN_MAX_DAYS`]; default
    /// [`REFERRER_TOKEN_DEFAULT_DAYS`].
    #[serde(default)]
    valid_days: Option<u32>,
}

/// How long a referrer token works unless the request says otherwise
/// (programme policy, not a clinical number).
pub const REFERRER_TOKEN_DEFAULT_DAYS: u32 = 90;
/// The longest validity a referrer token may be given.
pub const REFERRER_TOKEN_MAX_DAYS: u32 = 365;

#[derive(Serialize)]
struct ReferrerCreated {
    referrer: Referrer,
    /// Shown once; only its SHA-256 is stored.
    token: String,
}

async fn create_referrer(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let caller = staff(&state, &headers, &addr, "referrer", "create", Action::Write, None).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "create", "referrer");
    if !matches!(caller.role(), Role::Admin | Role::Coordinator) {
        audit.record(None, None, AuditOutcome::Denied, "only admins and coordinators issue referrer tokens").await?;
        return Err(Problem::forbidden("only admins and coordinators issue referrer tokens"));
    }
    let req: NewReferrer = parse_body(&headers, body)?;
    let days = req.valid_days.unwrap_or(REFERRER_TOKEN_DEFAULT_DAYS);
    if !(1..=REFERRER_TOKEN_MAX_DAYS).contains(&days) {
        let p = Problem::invalid(InvalidInput::out_of_range(
            "valid_days",
            days,
            format!("1 to {REFERRER_TOKEN_MAX_DAYS} days"),
        ));
        return audit.valid(None, None, Err(p)).await;
    }
    let expires = now_ms() + i64::from(days) * 86_400_000;
    match state.store.create_referrer(&req.name, &req.organisation, expires).await {
        Ok((referrer, token)) => {
            audit.record(Some(&referrer.id), None, AuditOutcome::Ok, "").await?;
            Ok((StatusCode::CREATED, Json(ReferrerCreated { referrer, token })).into_response())
        }
        Err(e) => audit.failed(None, None, e).await,
    }
}

/// Admins and coordinators manage referrer tokens; anyone else is refused (audited).
async fn referrer_admin(
    state: &AppState,
    headers: &HeaderMap,
    addr: &RemoteAddr,
    action: &'static str,
    id: Option<&str>,
) -> AppResult<Caller> {
    let caller = staff(state, headers, addr, "referrer", action, Action::Write, id).await?;
    if !matches!(caller.role(), Role::Admin | Role::Coordinator) {
        let audit = Audit::of(state, &caller, remote(addr), action, "referrer");
        audit.record(id, None, AuditOutcome::Denied, "only admins and coordinators manage referrer tokens").await?;
        return Err(Problem::forbidden("only admins and coordinators manage referrer tokens"));
    }
    Ok(caller)
}

/// The referrers, newest first (`?limit=`), with expiry and revocation.
async fn list_referrers(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    QueryParams(page): QueryParams<PageParams>,
) -> AppResult<Response> {
    let caller = referrer_admin(&state, &headers, &addr, "list", None).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "list", "referrer");
    match state.store.list_referrers(page_limit(page.limit)?).await {
        Ok(items) => {
            audit.record(None, None, AuditOutcome::Ok, &format!("{} referrers", items.len())).await?;
            Ok(Json(serde_json::json!({ "items": items })).into_response())
        }
        Err(e) => audit.failed(None, None, e).await,
    }
}

/// Revoke a referrer's token now: it reaches nothing from the next request.
async fn revoke_referrer(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let caller = referrer_admin(&state, &headers, &addr, "revoke", Some(&id)).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "revoke", "referrer");
    match state.store.revoke_referrer(&id, now_ms()).await {
        Ok(r) => {
            audit.record(Some(&id), None, AuditOutcome::Ok, "").await?;
            Ok(Json(r).into_response())
        }
        Err(e) => audit.failed(Some(&id), None, e).await,
    }
}

async fn referral_queue(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    QueryParams(page): QueryParams<PageParams>,
) -> AppResult<Response> {
    let caller = staff(&state, &headers, &addr, "referral", "list", Action::Read, None).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "list", "referral");
    match state.store.list_referrals(None, page.cursor.as_deref(), page_limit(page.limit)?).await {
        Ok(p) => {
            audit.record(None, None, AuditOutcome::Ok, &format!("{} referrals", p.items.len())).await?;
            Ok(Json(PageBody::from(p)).into_response())
        }
        Err(e) => audit.failed(None, None, e).await,
    }
}

async fn get_referral(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let caller = staff(&state, &headers, &addr, "referral", "read", Action::Read, Some(&id)).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "read", "referral");
    match state.store.get_referral(&id).await {
        Ok(r) => {
            audit.record(Some(&id), None, AuditOutcome::Ok, "").await?;
            Ok(with_etag(StatusCode::OK, r.version, &r))
        }
        Err(e) => audit.failed(Some(&id), None, e).await,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionBody {
    pub decision: ReviewDecision,
    pub reasons: String,
}

async fn decide_referral(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let caller = staff(&state, &headers, &addr, "referral", "decide", Action::Write, Some(&id)).await?;
    let audit = Audit::of(&state, &caller, remote(&addr), "decide", "referral");
    let version = if_match(&headers)?;
    let req: DecisionBody = audit.valid(Some(&id), None, parse_body(&headers, body)).await?;
    let decision = ReviewDecisionData {
        decision: req.decision,
        reasons: req.reasons,
        decided_on: today(),
        decided_by: caller.user.data.display_name.clone(),
    };
    match state.store.decide_referral(&id, version, &decision).await {
        Ok(r) => {
            audit.record(Some(&id), None, AuditOutcome::Ok, "").await?;
            Ok(with_etag(StatusCode::OK, r.version, &r))
        }
        Err(e) => audit.failed(Some(&id), None, e).await,
    }
}

/// The referrer a request's bearer token belongs to, or 401 (audited).
pub(crate) async fn referrer(state: &AppState, token: Option<&str>, remote: Option<String>) -> AppResult<Referrer> {
    let found = match token {
        Some(t) => state.store.referrer_by_token(t, now_ms()).await.map_err(|e| store_problem(e).0)?,
        None => None,
    };
    match found {
        Some(r) => Ok(r),
        None => {
            let audit = Audit { state, caller: None, remote, action: "denied", entity: "referral" };
            let why = if token.is_some() { "unknown, expired or revoked referrer token" } else { "no referrer token" };
            audit.record(None, None, AuditOutcome::Denied, why).await?;
            Err(Problem::unauthenticated())
        }
    }
}

/// Triage and store a referral from a referrer.
pub(crate) async fn submit_referral(
    state: &AppState,
    referrer: &Referrer,
    submission: ReferralSubmission,
) -> Result<Referral, StoreError> {
    use limbpath_record::Validate;
    submission.validate()?;
    let rules = rules();
    let settings = rules.settings();
    let triage = triage_referral(&submission.findings(), settings)?;
    state.store.create_referral(NewReferral { referrer_id: referrer.id.clone(), submission, triage }).await
}

fn referrer_audit<'a>(state: &'a AppState, remote: Option<String>, action: &'static str) -> Audit<'a> {
    Audit { state, caller: None, remote, action, entity: "referral" }
}

async fn referrer_submit(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let r = referrer(&state, credential(&headers, state.config.cookies()).as_deref(), remote(&addr)).await?;
    let audit = referrer_audit(&state, remote(&addr), "referrer_create");
    let who = format!("referrer {}", r.id);
    let submission: ReferralSubmission = match parse_body(&headers, body) {
        Ok(s) => s,
        Err(p) => {
            audit.record(None, None, AuditOutcome::Invalid, &format!("{who}: {}", p.detail)).await?;
            return Err(p);
        }
    };
    match submit_referral(&state, &r, submission).await {
        Ok(referral) => {
            audit.record(Some(&referral.id), None, AuditOutcome::Ok, &who).await?;
            Ok(with_etag(StatusCode::CREATED, referral.version, &referral))
        }
        Err(e) => {
            let (p, outcome) = store_problem(e);
            audit.record(None, None, outcome, &format!("{who}: {}", p.detail)).await?;
            Err(p)
        }
    }
}

async fn referrer_list(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    QueryParams(page): QueryParams<PageParams>,
) -> AppResult<Response> {
    let r = referrer(&state, credential(&headers, state.config.cookies()).as_deref(), remote(&addr)).await?;
    let audit = referrer_audit(&state, remote(&addr), "referrer_list");
    match state.store.list_referrals(Some(&r.id), page.cursor.as_deref(), page_limit(page.limit)?).await {
        Ok(p) => {
            audit.record(None, None, AuditOutcome::Ok, &format!("referrer {}", r.id)).await?;
            Ok(Json(PageBody::from(p)).into_response())
        }
        Err(e) => {
            let (p, outcome) = store_problem(e);
            audit.record(None, None, outcome, &format!("referrer {}: {}", r.id, p.detail)).await?;
            Err(p)
        }
    }
}

async fn referrer_get(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let r = referrer(&state, credential(&headers, state.config.cookies()).as_deref(), remote(&addr)).await?;
    let audit = referrer_audit(&state, remote(&addr), "referrer_read");
    match state.store.get_referral(&id).await {
        Ok(referral) if referral.referrer_id == r.id => {
            audit.record(Some(&id), None, AuditOutcome::Ok, &format!("referrer {}", r.id)).await?;
            Ok(with_etag(StatusCode::OK, referral.version, &referral))
        }
        // Another referrer's referral is answered exactly like a missing one.
        Ok(_) | Err(StoreError::NotFound { .. }) => {
            audit
                .record(Some(&id), None, AuditOutcome::Denied, &format!("referrer {}: not their referral", r.id))
                .await?;
            Err(Problem::not_found(format!("no referral with id {id}")))
        }
        Err(e) => {
            let (p, outcome) = store_problem(e);
            audit.record(Some(&id), None, outcome, &p.detail).await?;
            Err(p)
        }
    }
}
