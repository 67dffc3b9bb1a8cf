//! The patient between visits (issue 6) over HTTP: check-ins triaged by
//! `limbpath-protocols`, the care team's alert worklist with escalation
//! computed at request time, acknowledgement, osseointegration and
//! lengthening plans with their logs and reviews, patient flags, and the
//! programme's instructions and settings.
//!
//! Every operation is a function over [`Ctx`] (the authenticated caller) used
//! by both the JSON API (below) and the web pages (`web::visits`), so both
//! follow the same flow: authorise (role matrix) → scope (a patient account
//! sees its own patient only; anything else is a 404, audited as denied) →
//! act → audit. Times come from [`AppState::clock`], so tests drive
//! escalation by moving the clock instead of sleeping.

use crate::access::{Action, Family};
use crate::app::{
    AppResult, AppState, Audit, Caller, RemoteAddr, authenticate, authorise, now_ms, parse_body, remote, scope,
};
use crate::http::QueryParams;
use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use limbpath_clinical::InvalidInput;
use limbpath_protocols::alerts::{
    self, EscalationPolicy, EscalationState, EscalationStep, alert_escalation, check_in_signals,
};
use limbpath_protocols::flags::{PatientFlag, check_in_context, patient_flags};
use limbpath_protocols::lengthening::{
    DistractionLogEntry, DistractionReview, DriftSettings, LengtheningInput, LengtheningPlan, lengthening_plan,
    review_distraction,
};
use limbpath_protocols::oi_rehab::{
    DeviationKind, LoadLogEntry, LoadingLogSettings, LoadingReview, OI_CLINIC_TEMPLATE, RehabInput, RehabPlan,
    RehabSettings, rehab_plan, review_loading,
};
use limbpath_protocols::triage::{
    CheckIn, CheckInContext, TriageDecision, TriageLevel, TriageRuleSet, TriageSettings, triage,
};
use limbpath_protocols::{PROGRAMME_SETTING, Reasoned};
use limbpath_record::{PatientRecord, Role};
use limbpath_store::{AlertQuery, AuditOutcome, NewCheckIn, PlanProtocol, StoreError, StoredAlert, StoredPlan};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::Date;

// ---------------------------------------------------------------------------
// Clock
// ---------------------------------------------------------------------------

/// The server's clock for the between-visits rules: the system clock plus an
/// offset that only tests move ([`Clock::advance`]). Cheap to clone; clones
/// share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Milliseconds since the Unix epoch, now (plus the offset).
    pub fn now_ms(&self) -> i64 {
        now_ms().saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Move the clock forward by `ms` (tests: "an hour later").
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Today's date, UTC.
    pub fn today(&self) -> Date {
        date_of_ms(self.now_ms())
    }
}

/// The UTC date of an instant.
pub fn date_of_ms(ms: i64) -> Date {
    let days = ms.div_euclid(86_400_000);
    Date::from_julian_day(2_440_588 + i32::try_from(days).unwrap_or(0)).unwrap_or(Date::MIN)
}

// ---------------------------------------------------------------------------
// Programme settings
// ---------------------------------------------------------------------------

/// Where a setting in force came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingSource {
    /// Set by the programme (`PUT /api/v1/programme/settings/{key}`).
    Programme,
    /// LimbPath's demo default, used until the programme sets its own.
    DemoDefault,
    /// The rule layer's own default (which adds no clinical number).
    RuleLayerDefault,
}

/// The setting keys a programme may set, and what each holds.
pub const SETTING_KEYS: [(&str, &str); 5] = [
    ("escalation_policy", "EscalationPolicy: minutes and whom to notify per alert level"),
    ("triage", "TriageSettings: the levels of what the reference is silent on"),
    ("oi_rehab", "RehabSettings: Phase I kg/day per bone status, optional T-score bands (no default)"),
    ("loading_log", "LoadingLogSettings: loading-log tolerances and pain threshold"),
    ("distraction_drift", "DriftSettings: distraction drift tolerances"),
];

/// The demo escalation policy: a **programme setting, not from the reference
/// pack** (which gives no response times). LimbPath uses it until the
/// programme sets `escalation_policy`: an alert at "contact the team
/// immediately" not acknowledged in 15 minutes goes to the team's on-call
/// nurse, at 30 to the on-call surgeon, at 60 to the clinical lead; one at
/// "contact the team today" goes to the care coordinator after 4 hours and
/// the clinical lead after 8.
pub fn demo_escalation_policy() -> EscalationPolicy {
    let step = |after_minutes: u32, notify: &str| EscalationStep { after_minutes, notify: notify.to_owned() };
    EscalationPolicy {
        version: "demo-default-1".to_owned(),
        contact_team_immediately: vec![
            step(15, "osseointegration team nurse on call"),
            step(30, "on-call orthopaedic surgeon"),
            step(60, "programme clinical lead"),
        ],
        contact_team_today: vec![step(240, "care coordinator"), step(480, "programme clinical lead")],
    }
}

/// A setting in force, with where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct InForce<T> {
    pub value: T,
    pub source: SettingSource,
    /// "programme setting, not from the reference pack".
    pub label: &'static str,
}

async fn setting<T: DeserializeOwned>(state: &AppState, key: &str) -> AppResult<Option<T>> {
    match state.store.programme_setting(key).await {
        Ok(Some(s)) => serde_json::from_value(s.value).map(Some).map_err(|e| {
            crate::app::log_error(&format!("programme setting {key} is unreadable: {e}"));
            Problem::internal()
        }),
        Ok(None) => Ok(None),
        Err(e) => Err(crate::app::store_problem(e).0),
    }
}

async fn escalation_policy(state: &AppState) -> AppResult<InForce<EscalationPolicy>> {
    Ok(match setting(state, "escalation_policy").await? {
        Some(value) => InForce { value, source: SettingSource::Programme, label: PROGRAMME_SETTING },
        None => {
            InForce { value: demo_escalation_policy(), source: SettingSource::DemoDefault, label: PROGRAMME_SETTING }
        }
    })
}

async fn triage_settings(state: &AppState) -> AppResult<InForce<TriageSettings>> {
    Ok(match setting(state, "triage").await? {
        Some(value) => InForce { value, source: SettingSource::Programme, label: PROGRAMME_SETTING },
        None => InForce {
            value: TriageSettings::default(),
            source: SettingSource::RuleLayerDefault,
            label: PROGRAMME_SETTING,
        },
    })
}

/// "contact_team_immediately" → what the patient and the team read.
pub fn level_label(level: TriageLevel) -> &'static str {
    match level {
        TriageLevel::ContactTeamImmediately => "Urgent — contact the team now",
        TriageLevel::ContactTeamToday => "Contact the team today",
        TriageLevel::Routine => "Routine",
    }
}

// ---------------------------------------------------------------------------
// The caller and the guard every operation passes
// ---------------------------------------------------------------------------

/// An authenticated caller, for the operations below.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub caller: &'a Caller,
    pub remote: Option<String>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn audit(&'a self, action: &'static str, entity: &'static str) -> Audit<'a> {
        Audit::of(self.state, self.caller, self.remote.clone(), action, entity)
    }
}

/// Role, then scope to the patient, then the patient must exist (404).
async fn guard_patient(audit: &Audit<'_>, ctx: &Ctx<'_>, family: Family, action: Action, pid: &str) -> AppResult<()> {
    authorise(audit, ctx.caller, family, action, Some(pid)).await?;
    scope(audit, ctx.caller, pid, pid).await?;
    if let Err(e) = ctx.state.store.get_patient(pid).await {
        return audit.failed(Some(pid), Some(pid), e).await;
    }
    Ok(())
}

/// Prefix a rule-layer error's field with where it sits in the request body,
/// or strip the rule layer's own prefix when the body is the thing itself.
fn at_field(mut e: InvalidInput, strip: &str, prefix: &str) -> InvalidInput {
    let rest = e.field.strip_prefix(strip).unwrap_or(&e.field).to_owned();
    e.field = format!("{prefix}{rest}");
    e
}

async fn invalid<T>(audit: &Audit<'_>, id: Option<&str>, pid: Option<&str>, e: InvalidInput) -> AppResult<T> {
    audit.valid(id, pid, Err(Problem::invalid(e))).await
}

// ---------------------------------------------------------------------------
// Check-ins
// ---------------------------------------------------------------------------

/// What a check-in answers: the decision and what to do now.
#[derive(Debug, Clone, Serialize)]
pub struct CheckInAnswer {
    pub check_in_id: String,
    pub at_ms: i64,
    pub level: TriageLevel,
    /// The level as the patient reads it ("Urgent — contact the team now").
    pub level_label: &'static str,
    /// What to do now, in the reference's words where it has any.
    pub instruction: String,
    pub decision: TriageDecision,
    /// What the record said about the patient (implant, frame, days since surgery).
    pub context: Reasoned<CheckInContext>,
    pub triage_settings_source: SettingSource,
    /// The alerts this check-in raised or joined.
    pub alerts: Vec<StoredAlert>,
}

/// Triage a check-in for `pid`, store it with its decision and raise its
/// alerts. A patient account may check in for itself only.
pub async fn submit_check_in(ctx: &Ctx<'_>, pid: &str, check_in: CheckIn) -> AppResult<CheckInAnswer> {
    let audit = ctx.audit("create", "check_in");
    authorise(&audit, ctx.caller, Family::PatientReported, Action::Write, Some(pid)).await?;
    scope(&audit, ctx.caller, pid, pid).await?;
    // The context is the procedures, outcome events and episodes: not the assessments, which are most of a record.
    let record = match ctx.state.store.get_patient_record_without_assessments(pid).await {
        Ok(r) => r,
        Err(e) => return audit.failed(Some(pid), Some(pid), e).await,
    };
    let now = ctx.state.clock.now_ms();
    let context = match check_in_context(&record, date_of_ms(now)) {
        Ok(c) => c,
        Err(e) => return invalid(&audit, Some(pid), Some(pid), e).await,
    };
    let settings = triage_settings(ctx.state).await?;
    let decision = match TriageRuleSet::clinic(&settings.value).and_then(|r| triage(&r, &check_in, &context.value)) {
        Ok(d) => d,
        Err(e) => return invalid(&audit, Some(pid), Some(pid), at_field(e, "check_in.", "")).await,
    };
    let signals = check_in_signals(pid, &decision, now);
    let new = NewCheckIn {
        patient_id: pid.to_owned(),
        at_ms: now,
        submitted_by: ctx.caller.user.id.clone(),
        answers: serde_json::to_value(&check_in).unwrap_or(Value::Null),
        decision: serde_json::to_value(&decision).unwrap_or(Value::Null),
        level: decision.level,
        rule_set_version: decision.rule_set_version.clone(),
        signals,
    };
    let (stored, alerts) = match ctx.state.store.record_check_in(new).await {
        Ok(x) => x,
        Err(e) => return audit.failed(Some(pid), Some(pid), e).await,
    };
    let detail = format!("level {}; {} alert(s) raised or joined", decision.level.as_str(), alerts.len());
    audit.record(Some(&stored.id), Some(pid), AuditOutcome::Ok, &detail).await?;
    Ok(CheckInAnswer {
        check_in_id: stored.id,
        at_ms: now,
        level: decision.level,
        level_label: level_label(decision.level),
        instruction: decision.instruction.clone(),
        decision,
        context,
        triage_settings_source: settings.source,
        alerts,
    })
}

/// A patient's recent check-ins, newest first.
pub async fn check_ins(ctx: &Ctx<'_>, pid: &str, limit: u32) -> AppResult<Vec<limbpath_store::StoredCheckIn>> {
    let audit = ctx.audit("list", "check_in");
    guard_patient(&audit, ctx, Family::PatientRecord, Action::Read, pid).await?;
    match ctx.state.store.list_check_ins(pid, limit).await {
        Ok(items) => {
            audit.record(Some(pid), Some(pid), AuditOutcome::Ok, "").await?;
            Ok(items)
        }
        Err(e) => audit.failed(Some(pid), Some(pid), e).await,
    }
}

// ---------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------

/// An alert with its escalation state at the time of the request.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    #[serde(flatten)]
    pub alert: StoredAlert,
    pub level_label: &'static str,
    pub high_priority: bool,
    pub escalation: EscalationState,
    /// "Family, Given" and MRN, on the care team's worklist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient_mrn: Option<String>,
}

/// The care team's worklist.
#[derive(Debug, Clone, Serialize)]
pub struct Worklist {
    /// The instant the escalation states were computed at.
    pub now_ms: i64,
    pub policy: InForce<EscalationPolicy>,
    /// Most urgent first: not acknowledged, escalated, then by level and age.
    pub items: Vec<AlertView>,
}

fn view(a: StoredAlert, now: i64, policy: &EscalationPolicy) -> AppResult<AlertView> {
    // The escalation is computed at `now`, never before the alert was seen or acknowledged.
    let now = now.max(a.last_seen_ms).max(a.acknowledged_at_ms.unwrap_or(i64::MIN));
    let escalation = alert_escalation(&a.grouped(), now, policy).map_err(Problem::invalid)?;
    Ok(AlertView {
        level_label: level_label(a.level),
        high_priority: a.grouped().is_high_priority(),
        escalation,
        alert: a,
        patient_name: None,
        patient_mrn: None,
    })
}

fn sort_views(items: &mut [AlertView]) {
    use alerts::EscalationStatus::*;
    let rank = |v: &AlertView| match v.escalation.status {
        Escalated => 0,
        AwaitingAcknowledgement => 1,
        Acknowledged => 2,
    };
    items.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then(b.alert.level.cmp(&a.alert.level))
            .then(a.alert.first_seen_ms.cmp(&b.alert.first_seen_ms))
            .then(a.alert.id.cmp(&b.alert.id))
    });
}

/// The care team's open alerts, most urgent first, escalation computed now.
/// A patient account cannot read it (403, audited).
pub async fn worklist(ctx: &Ctx<'_>) -> AppResult<Worklist> {
    let audit = ctx.audit("list", "alert");
    if ctx.caller.role() == Role::Patient {
        audit.record(None, None, AuditOutcome::Denied, "patients cannot read the team's worklist").await?;
        return Err(Problem::forbidden("a patient account sees its own alerts only, not the team's worklist"));
    }
    authorise(&audit, ctx.caller, Family::PatientRecord, Action::Read, None).await?;
    let policy = escalation_policy(ctx.state).await?;
    let now = ctx.state.clock.now_ms();
    let alerts = match ctx.state.store.open_alerts(&AlertQuery { patient_id: None, limit: 200 }).await {
        Ok(a) => a,
        Err(e) => return audit.failed(None, None, e).await,
    };
    let mut items = Vec::with_capacity(alerts.len());
    let mut names: Vec<(String, String, String)> = Vec::new();
    for a in alerts {
        let pid = a.patient_id.clone();
        let mut v = view(a, now, &policy.value)?;
        if !names.iter().any(|(id, _, _)| *id == pid) {
            let (name, mrn) = match ctx.state.store.get_patient(&pid).await {
                Ok(p) => (format!("{}, {}", p.data.family_name, p.data.given_name), p.data.mrn),
                Err(_) => (String::new(), String::new()),
            };
            names.push((pid.clone(), name, mrn));
        }
        if let Some((_, name, mrn)) = names.iter().find(|(id, _, _)| *id == pid) {
            v.patient_name = Some(name.clone());
            v.patient_mrn = Some(mrn.clone());
        }
        items.push(v);
    }
    sort_views(&mut items);
    // Patient data was read: one entry per patient shown.
    for (pid, _, _) in &names {
        audit.record(None, Some(pid), AuditOutcome::Ok, "alert worklist").await?;
    }
    if names.is_empty() {
        audit.record(None, None, AuditOutcome::Ok, "alert worklist: empty").await?;
    }
    Ok(Worklist { now_ms: now, policy, items })
}

/// One patient's open alerts (a patient account: its own only).
pub async fn patient_alerts(ctx: &Ctx<'_>, pid: &str) -> AppResult<Vec<AlertView>> {
    let audit = ctx.audit("list", "alert");
    guard_patient(&audit, ctx, Family::PatientRecord, Action::Read, pid).await?;
    let policy = escalation_policy(ctx.state).await?;
    let now = ctx.state.clock.now_ms();
    let alerts = match ctx.state.store.open_alerts(&AlertQuery { patient_id: Some(pid.to_owned()), limit: 200 }).await {
        Ok(a) => a,
        Err(e) => return audit.failed(Some(pid), Some(pid), e).await,
    };
    let mut items = alerts.into_iter().map(|a| view(a, now, &policy.value)).collect::<AppResult<Vec<_>>>()?;
    sort_views(&mut items);
    audit.record(Some(pid), Some(pid), AuditOutcome::Ok, "").await?;
    Ok(items)
}

/// Acknowledge an alert (care team only). The first acknowledgement stands.
pub async fn acknowledge(ctx: &Ctx<'_>, alert_id: &str) -> AppResult<AlertView> {
    let audit = ctx.audit("acknowledge", "alert");
    authorise(&audit, ctx.caller, Family::PatientRecord, Action::Write, Some(alert_id)).await?;
    let alert = match ctx.state.store.get_alert(alert_id).await {
        Ok(a) => a,
        Err(e) => return audit.failed(Some(alert_id), None, e).await,
    };
    let now = ctx.state.clock.now_ms();
    let acked = match ctx.state.store.acknowledge_alert(alert_id, &ctx.caller.user.id, now).await {
        Ok(a) => a,
        Err(e) => return audit.failed(Some(alert_id), Some(&alert.patient_id), e).await,
    };
    let policy = escalation_policy(ctx.state).await?;
    let v = view(acked, now, &policy.value)?;
    let detail = if alert.acknowledged_at_ms.is_some() { "already acknowledged" } else { "" };
    audit.record(Some(alert_id), Some(&alert.patient_id), AuditOutcome::Ok, detail).await?;
    Ok(v)
}

/// What closing an alert takes: the clinician's note (what was done, why it is resolved).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseAlert {
    pub note: String,
}

/// Close (resolve) an acknowledged alert with a note. Clinicians and admins
/// only: a coordinator acknowledges, a clinician decides it is resolved. The
/// first close stands.
pub async fn close(ctx: &Ctx<'_>, alert_id: &str, req: &CloseAlert) -> AppResult<AlertView> {
    let audit = ctx.audit("close", "alert");
    authorise(&audit, ctx.caller, Family::PatientRecord, Action::Write, Some(alert_id)).await?;
    let alert = match ctx.state.store.get_alert(alert_id).await {
        Ok(a) => a,
        Err(e) => return audit.failed(Some(alert_id), None, e).await,
    };
    if !matches!(ctx.caller.role(), Role::Clinician | Role::Admin) {
        let why = "only a clinician closes an alert";
        audit.record(Some(alert_id), Some(&alert.patient_id), AuditOutcome::Denied, why).await?;
        return Err(Problem::forbidden(why));
    }
    let now = ctx.state.clock.now_ms();
    let closed = match ctx.state.store.close_alert(alert_id, &ctx.caller.user.id, &req.note, now).await {
        Ok(a) => a,
        Err(e) => return audit.failed(Some(alert_id), Some(&alert.patient_id), e).await,
    };
    let policy = escalation_policy(ctx.state).await?;
    let v = view(closed, now, &policy.value)?;
    let detail = if alert.closed_at_ms.is_some() { "already closed" } else { "" };
    audit.record(Some(alert_id), Some(&alert.patient_id), AuditOutcome::Ok, detail).await?;
    Ok(v)
}

// ---------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------

/// The flags to show wherever the patient appears.
pub async fn flags(ctx: &Ctx<'_>, pid: &str) -> AppResult<Vec<PatientFlag>> {
    let audit = ctx.audit("read", "patient_flags");
    authorise(&audit, ctx.caller, Family::PatientRecord, Action::Read, Some(pid)).await?;
    scope(&audit, ctx.caller, pid, pid).await?;
    // The flags come from the patient, episodes, procedures and outcome events (see `patient_flags`).
    let record = match ctx.state.store.get_patient_record_without_assessments(pid).await {
        Ok(r) => r,
        Err(e) => return audit.failed(Some(pid), Some(pid), e).await,
    };
    let out = flags_of(ctx.state, &record, pid).await;
    match out {
        Ok(f) => {
            audit.record(Some(pid), Some(pid), AuditOutcome::Ok, "").await?;
            Ok(f)
        }
        Err(p) => {
            audit.record(Some(pid), Some(pid), AuditOutcome::Error, &p.detail).await?;
            Err(p)
        }
    }
}

/// The flags of a record already read (and audited) by the caller.
pub(crate) async fn flags_of(state: &AppState, record: &PatientRecord, pid: &str) -> AppResult<Vec<PatientFlag>> {
    let open = state
        .store
        .open_alerts(&AlertQuery { patient_id: Some(pid.to_owned()), limit: 200 })
        .await
        .map_err(|e| crate::app::store_problem(e).0)?;
    let grouped: Vec<_> = open.iter().map(StoredAlert::grouped).collect();
    patient_flags(record, &grouped, state.clock.today()).map_err(Problem::invalid)
}

// ---------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------

/// A new osseointegration rehabilitation plan.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOiPlan {
    pub input: RehabInput,
    /// The programme's Phase I rates; default: the programme setting `oi_rehab`
    /// (there is no LimbPath default: the reference gives no rate).
    pub settings: Option<RehabSettings>,
    /// Default: the programme setting `loading_log`, else the rule layer's.
    pub loading_log_settings: Option<LoadingLogSettings>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OiSettings {
    rehab: RehabSettings,
    loading_log: LoadingLogSettings,
}

/// An osseointegration plan: what was stored and the plan day by day.
#[derive(Debug, Clone, Serialize)]
pub struct OiPlanView {
    pub plan: StoredPlan,
    pub computed: RehabPlan,
    pub log: Vec<limbpath_store::StoredLoadEntry>,
}

/// A new lengthening plan.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLengtheningPlan {
    /// A [`LengtheningInput`] (kept as sent).
    pub input: Value,
    /// Default: the programme setting `distraction_drift`, else the rule layer's.
    pub drift_settings: Option<DriftSettings>,
}

/// A lengthening plan: what was stored and the plan day by day.
#[derive(Debug, Clone, Serialize)]
pub struct LengtheningPlanView {
    pub plan: StoredPlan,
    pub computed: LengtheningPlan,
    pub log: Vec<limbpath_store::StoredDistractionEntry>,
}

/// A log entry's answer: the entry, the review through its date, the alerts raised.
#[derive(Debug, Clone, Serialize)]
pub struct Logged<E, R> {
    pub entry: E,
    pub review: R,
    pub alerts: Vec<StoredAlert>,
}

fn lengthening_input(v: &Value) -> Result<LengtheningInput, InvalidInput> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        InvalidInput::unrecognised(format!("input.{path}").trim_end_matches('.'), "", e.inner().to_string())
    })
}

fn oi_computed(plan: &StoredPlan) -> AppResult<(RehabPlan, OiSettings)> {
    let input: RehabInput = serde_json::from_value(plan.input.clone()).map_err(|_| Problem::internal())?;
    let settings: OiSettings = serde_json::from_value(plan.settings.clone()).map_err(|_| Problem::internal())?;
    let computed = rehab_plan(&OI_CLINIC_TEMPLATE, &settings.rehab, &input).map_err(Problem::invalid)?;
    Ok((computed, settings))
}

fn lengthening_computed(plan: &StoredPlan) -> AppResult<(LengtheningPlan, DriftSettings)> {
    let input = lengthening_input(&plan.input).map_err(Problem::invalid)?;
    let settings: DriftSettings = serde_json::from_value(plan.settings.clone()).map_err(|_| Problem::internal())?;
    Ok((lengthening_plan(&input).map_err(Problem::invalid)?, settings))
}

/// Create an osseointegration plan for `pid` (care team).
pub async fn create_oi_plan(ctx: &Ctx<'_>, pid: &str, req: NewOiPlan) -> AppResult<OiPlanView> {
    let audit = ctx.audit("create", "oi_plan");
    guard_patient(&audit, ctx, Family::PatientRecord, Action::Write, pid).await?;
    let rehab = match req.settings {
        Some(s) => s,
        None => match setting::<RehabSettings>(ctx.state, "oi_rehab").await? {
            Some(s) => s,
            None => {
                let e = InvalidInput::missing(
                    "settings",
                    "the programme's Phase I kg/day per bone status (RehabSettings): the reference gives no rate, \
                     and the programme setting oi_rehab is not set",
                );
                return invalid(&audit, None, Some(pid), e).await;
            }
        },
    };
    let loading_log = match req.loading_log_settings {
        Some(s) => s,
        None => setting(ctx.state, "loading_log").await?.unwrap_or_default(),
    };
    if let Err(e) = loading_log.validate() {
        return invalid(&audit, None, Some(pid), at_field(e, "settings.", "loading_log_settings.")).await;
    }
    let computed = match rehab_plan(&OI_CLINIC_TEMPLATE, &rehab, &req.input) {
        Ok(p) => p,
        Err(e) if e.field.starts_with("settings.") => return invalid(&audit, None, Some(pid), e).await,
        Err(e) => return invalid(&audit, None, Some(pid), at_field(e, "", "input.")).await,
    };
    let input = serde_json::to_value(&req.input).unwrap_or(Value::Null);
    let settings = serde_json::to_value(OiSettings { rehab, loading_log }).unwrap_or(Value::Null);
    let now = ctx.state.clock.now_ms();
    let user = &ctx.caller.user.id;
    match ctx.state.store.create_plan(pid, PlanProtocol::OiRehab, &input, &settings, user, now).await {
        Ok(plan) => {
            audit.record(Some(&plan.id), Some(pid), AuditOutcome::Ok, "").await?;
            Ok(OiPlanView { plan, computed, log: Vec::new() })
        }
        Err(e) => audit.failed(None, Some(pid), e).await,
    }
}

/// Create a lengthening plan for `pid` (care team).
pub async fn create_lengthening_plan(
    ctx: &Ctx<'_>,
    pid: &str,
    req: NewLengtheningPlan,
) -> AppResult<LengtheningPlanView> {
    let audit = ctx.audit("create", "lengthening_plan");
    guard_patient(&audit, ctx, Family::PatientRecord, Action::Write, pid).await?;
    let drift = match req.drift_settings {
        Some(s) => s,
        None => setting(ctx.state, "distraction_drift").await?.unwrap_or_default(),
    };
    if let Err(e) = drift.validate() {
        return invalid(&audit, None, Some(pid), at_field(e, "settings.", "drift_settings.")).await;
    }
    let computed = match lengthening_input(&req.input).and_then(|i| lengthening_plan(&i)) {
        Ok(p) => p,
        Err(e) if e.field.starts_with("input.") => return invalid(&audit, None, Some(pid), e).await,
        Err(e) => return invalid(&audit, None, Some(pid), at_field(e, "", "input.")).await,
    };
    let settings = serde_json::to_value(&drift).unwrap_or(Value::Null);
    let now = ctx.state.clock.now_ms();
    let user = &ctx.caller.user.id;
    match ctx.state.store.create_plan(pid, PlanProtocol::Lengthening, &req.input, &settings, user, now).await {
        Ok(plan) => {
            audit.record(Some(&plan.id), Some(pid), AuditOutcome::Ok, "").await?;
            Ok(LengtheningPlanView { plan, computed, log: Vec::new() })
        }
        Err(e) => audit.failed(None, Some(pid), e).await,
    }
}

/// Read a plan by id with role and scope checks (404 for another patient's).
async fn read_plan(audit: &Audit<'_>, ctx: &Ctx<'_>, id: &str, protocol: PlanProtocol) -> AppResult<StoredPlan> {
    let plan = match ctx.state.store.get_plan(id).await {
        Ok(p) if p.protocol == protocol => p,
        Ok(p) => {
            let e = StoreError::NotFound { entity: audit.entity, id: p.id, field: None };
            return audit.failed(Some(id), None, e).await;
        }
        Err(e) => return audit.failed(Some(id), None, e).await,
    };
    scope(audit, ctx.caller, &plan.patient_id, id).await?;
    Ok(plan)
}

/// The latest plan of a protocol for a patient, if any (the patient: own only).
pub async fn latest_plan_id(ctx: &Ctx<'_>, pid: &str, protocol: PlanProtocol) -> AppResult<Option<String>> {
    let audit = ctx.audit("read", if protocol == PlanProtocol::OiRehab { "oi_plan" } else { "lengthening_plan" });
    guard_patient(&audit, ctx, Family::PatientRecord, Action::Read, pid).await?;
    match ctx.state.store.latest_plan(pid, protocol).await {
        Ok(None) => {
            audit.record(Some(pid), Some(pid), AuditOutcome::Ok, "no plan").await?;
            Ok(None)
        }
        Ok(p) => Ok(p.map(|p| p.id)),
        Err(e) => audit.failed(Some(pid), Some(pid), e).await,
    }
}

/// An osseointegration plan with its log.
pub async fn oi_plan(ctx: &Ctx<'_>, id: &str) -> AppResult<OiPlanView> {
    let audit = ctx.audit("read", "oi_plan");
    authorise(&audit, ctx.caller, Family::PatientRecord, Action::Read, Some(id)).await?;
    let plan = read_plan(&audit, ctx, id, PlanProtocol::OiRehab).await?;
    let (computed, _) = oi_computed(&plan)?;
    let log = ctx.state.store.load_log(id).await.map_err(|e| crate::app::store_problem(e).0)?;
    audit.record(Some(id), Some(&plan.patient_id), AuditOutcome::Ok, "").await?;
    Ok(OiPlanView { plan, computed, log })
}

/// A lengthening plan with its log.
pub async fn lengthening(ctx: &Ctx<'_>, id: &str) -> AppResult<LengtheningPlanView> {
    let audit = ctx.audit("read", "lengthening_plan");
    authorise(&audit, ctx.caller, Family::PatientRecord, Action::Read, Some(id)).await?;
    let plan = read_plan(&audit, ctx, id, PlanProtocol::Lengthening).await?;
    let (computed, _) = lengthening_computed(&plan)?;
    let log = ctx.state.store.distraction_log(id).await.map_err(|e| crate::app::store_problem(e).0)?;
    audit.record(Some(id), Some(&plan.patient_id), AuditOutcome::Ok, "").await?;
    Ok(LengtheningPlanView { plan, computed, log })
}

/// Field of the entry being logged: the review names it `log[i].x`.
fn entry_field(e: InvalidInput) -> InvalidInput {
    match e.field.find("].") {
        Some(i) if e.field.starts_with("log[") => {
            let rest = e.field[i + 2..].to_owned();
            InvalidInput { field: rest, ..e }
        }
        _ => e,
    }
}

/// Log a loading session (the patient for itself, or the team); review the
/// log through the entry's date and raise its deviation alerts.
pub async fn log_load(
    ctx: &Ctx<'_>,
    id: &str,
    entry: LoadLogEntry,
) -> AppResult<Logged<limbpath_store::StoredLoadEntry, LoadingReview>> {
    let audit = ctx.audit("create", "oi_load_log");
    authorise(&audit, ctx.caller, Family::PatientReported, Action::Write, Some(id)).await?;
    let plan = read_plan(&audit, ctx, id, PlanProtocol::OiRehab).await?;
    let pid = plan.patient_id.clone();
    let (computed, settings) = oi_computed(&plan)?;
    let existing = ctx.state.store.load_log(id).await.map_err(|e| crate::app::store_problem(e).0)?;
    let mut log: Vec<LoadLogEntry> = existing.iter().map(|e| e.entry()).filter(|e| e.date <= entry.date).collect();
    log.push(entry.clone());
    let review = match review_loading(&computed, &log, entry.date, &settings.loading_log) {
        Ok(r) => r,
        Err(e) => return invalid(&audit, Some(id), Some(&pid), entry_field(e)).await,
    };
    let now = ctx.state.clock.now_ms();
    let stored = match ctx.state.store.add_load_entry(&plan, &entry, &ctx.caller.user.id, now).await {
        Ok(s) => s,
        Err(e) => return audit.failed(Some(id), Some(&pid), e).await,
    };
    // The entry's own day is not over: fewer sessions than planned (or a
    // missed day) on it is not yet a deviation to alert on; the rest is.
    let mut settled = review.clone();
    settled.deviations.retain(|d| {
        d.date < entry.date || !matches!(d.kind, DeviationKind::FewerSessionsThanPlanned | DeviationKind::MissedDay)
    });
    let alerts = match ctx.state.store.raise_alerts(&pid, &settled.signals(&pid, now)).await {
        Ok(a) => a,
        Err(e) => return audit.failed(Some(id), Some(&pid), e).await,
    };
    let detail = format!("{} deviation(s); {} alert(s)", review.deviations.len(), alerts.len());
    audit.record(Some(&stored.id), Some(&pid), AuditOutcome::Ok, &detail).await?;
    Ok(Logged { entry: stored, review, alerts })
}

/// Log the turns done on a day; review the log through that day and raise
/// the drift alert when it passes the programme's tolerance.
pub async fn log_distraction(
    ctx: &Ctx<'_>,
    id: &str,
    entry: DistractionLogEntry,
) -> AppResult<Logged<limbpath_store::StoredDistractionEntry, DistractionReview>> {
    let audit = ctx.audit("create", "distraction_log");
    authorise(&audit, ctx.caller, Family::PatientReported, Action::Write, Some(id)).await?;
    let plan = read_plan(&audit, ctx, id, PlanProtocol::Lengthening).await?;
    let pid = plan.patient_id.clone();
    let (computed, drift) = lengthening_computed(&plan)?;
    let existing = ctx.state.store.distraction_log(id).await.map_err(|e| crate::app::store_problem(e).0)?;
    let mut log: Vec<DistractionLogEntry> =
        existing.iter().map(|e| e.entry()).filter(|e| e.date <= entry.date).collect();
    log.push(entry.clone());
    let review = match review_distraction(&computed, &log, entry.date, &drift) {
        Ok(r) => r,
        Err(e) if e.field == "as_of" => {
            return invalid(&audit, Some(id), Some(&pid), InvalidInput { field: "date".into(), ..e }).await;
        }
        Err(e) => return invalid(&audit, Some(id), Some(&pid), entry_field(e)).await,
    };
    let now = ctx.state.clock.now_ms();
    let stored = match ctx.state.store.add_distraction_entry(&plan, &entry, &ctx.caller.user.id, now).await {
        Ok(s) => s,
        Err(e) => return audit.failed(Some(id), Some(&pid), e).await,
    };
    let signals: Vec<_> = review.signal(&pid, now).into_iter().collect();
    let alerts = match ctx.state.store.raise_alerts(&pid, &signals).await {
        Ok(a) => a,
        Err(e) => return audit.failed(Some(id), Some(&pid), e).await,
    };
    let detail = format!("drift {} mm; {} alert(s)", review.drift_mm, alerts.len());
    audit.record(Some(&stored.id), Some(&pid), AuditOutcome::Ok, &detail).await?;
    Ok(Logged { entry: stored, review, alerts })
}

/// The loading log compared with the plan through `as_of` (default today).
pub async fn oi_review(ctx: &Ctx<'_>, id: &str, as_of: Option<Date>) -> AppResult<LoadingReview> {
    let audit = ctx.audit("review", "oi_plan");
    authorise(&audit, ctx.caller, Family::PatientRecord, Action::Read, Some(id)).await?;
    let plan = read_plan(&audit, ctx, id, PlanProtocol::OiRehab).await?;
    let (computed, settings) = oi_computed(&plan)?;
    let as_of = as_of.unwrap_or_else(|| ctx.state.clock.today());
    let log = ctx.state.store.load_log(id).await.map_err(|e| crate::app::store_problem(e).0)?;
    let log: Vec<_> = log.iter().map(|e| e.entry()).filter(|e| e.date <= as_of).collect();
    match review_loading(&computed, &log, as_of, &settings.loading_log) {
        Ok(r) => {
            audit.record(Some(id), Some(&plan.patient_id), AuditOutcome::Ok, "").await?;
            Ok(r)
        }
        Err(e) => invalid(&audit, Some(id), Some(&plan.patient_id), e).await,
    }
}

/// The distraction log compared with the plan through `as_of` (default today).
pub async fn lengthening_review(ctx: &Ctx<'_>, id: &str, as_of: Option<Date>) -> AppResult<DistractionReview> {
    let audit = ctx.audit("review", "lengthening_plan");
    authorise(&audit, ctx.caller, Family::PatientRecord, Action::Read, Some(id)).await?;
    let plan = read_plan(&audit, ctx, id, PlanProtocol::Lengthening).await?;
    let (computed, drift) = lengthening_computed(&plan)?;
    let as_of = as_of.unwrap_or_else(|| ctx.state.clock.today());
    let log = ctx.state.store.distraction_log(id).await.map_err(|e| crate::app::store_problem(e).0)?;
    let log: Vec<_> = log.iter().map(|e| e.entry()).filter(|e| e.date <= as_of).collect();
    match review_distraction(&computed, &log, as_of, &drift) {
        Ok(r) => {
            audit.record(Some(id), Some(&plan.patient_id), AuditOutcome::Ok, "").await?;
            Ok(r)
        }
        Err(e) => invalid(&audit, Some(id), Some(&plan.patient_id), e).await,
    }
}

// ---------------------------------------------------------------------------
// Programme instructions and settings
// ---------------------------------------------------------------------------

/// The programme's written instructions (every account may read them).
pub async fn instructions(ctx: &Ctx<'_>) -> AppResult<Vec<limbpath_store::StoredInstructions>> {
    let audit = ctx.audit("read", "programme_instructions");
    authorise(&audit, ctx.caller, Family::Programme, Action::Read, None).await?;
    ctx.state.store.instructions().await.map_err(|e| crate::app::store_problem(e).0)
}

/// Write the programme's instructions for a protocol (the care team).
pub async fn put_instructions(
    ctx: &Ctx<'_>,
    protocol: &str,
    text: &str,
) -> AppResult<limbpath_store::StoredInstructions> {
    let audit = ctx.audit("update", "programme_instructions");
    authorise(&audit, ctx.caller, Family::Programme, Action::Write, Some(protocol)).await?;
    let now = ctx.state.clock.now_ms();
    match ctx.state.store.put_instructions(protocol, text, Some(&ctx.caller.user.id), now).await {
        Ok(s) => {
            audit.record(Some(protocol), None, AuditOutcome::Ok, "").await?;
            Ok(s)
        }
        Err(e) => audit.failed(Some(protocol), None, e).await,
    }
}

fn check_setting(key: &str, value: &Value) -> Result<(), InvalidInput> {
    fn parse<T: DeserializeOwned>(v: &Value) -> Result<T, InvalidInput> {
        serde_path_to_error::deserialize(v).map_err(|e| {
            let path = e.path().to_string();
            InvalidInput::unrecognised(format!("value.{path}").trim_end_matches('.'), "", e.inner().to_string())
        })
    }
    let prefixed = |e: InvalidInput| at_field(e, "", "value.");
    match key {
        "escalation_policy" => parse::<EscalationPolicy>(value)?.validate().map_err(prefixed),
        "triage" => parse::<TriageSettings>(value)?.validate().map_err(prefixed),
        "oi_rehab" => parse::<RehabSettings>(value)?.validate().map_err(prefixed),
        "loading_log" => parse::<LoadingLogSettings>(value)?.validate().map_err(prefixed),
        "distraction_drift" => parse::<DriftSettings>(value)?.validate().map_err(prefixed),
        other => Err(InvalidInput::unrecognised(
            "key",
            other,
            SETTING_KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", "),
        )),
    }
}

/// A setting in force (the programme's, or the default with its label).
#[derive(Debug, Clone, Serialize)]
pub struct SettingView {
    pub key: String,
    pub value: Option<Value>,
    pub source: Option<SettingSource>,
    pub label: &'static str,
    pub updated_at_ms: Option<i64>,
}

/// Read a programme setting (every account).
pub async fn get_setting(ctx: &Ctx<'_>, key: &str) -> AppResult<SettingView> {
    let audit = ctx.audit("read", "programme_setting");
    authorise(&audit, ctx.caller, Family::Programme, Action::Read, Some(key)).await?;
    if !SETTING_KEYS.iter().any(|(k, _)| *k == key) {
        return Err(Problem::not_found(format!("no programme setting {key}")));
    }
    let stored = ctx.state.store.programme_setting(key).await.map_err(|e| crate::app::store_problem(e).0)?;
    Ok(match stored {
        Some(s) => SettingView {
            key: s.key,
            value: Some(s.value),
            source: Some(SettingSource::Programme),
            label: PROGRAMME_SETTING,
            updated_at_ms: Some(s.updated_at_ms),
        },
        None => {
            let (value, source) = match key {
                "escalation_policy" => {
                    (serde_json::to_value(demo_escalation_policy()).ok(), Some(SettingSource::DemoDefault))
                }
                "triage" => {
                    (serde_json::to_value(TriageSettings::default()).ok(), Some(SettingSource::RuleLayerDefault))
                }
                "loading_log" => {
                    (serde_json::to_value(LoadingLogSettings::default()).ok(), Some(SettingSource::RuleLayerDefault))
                }
                "distraction_drift" => {
                    (serde_json::to_value(DriftSettings::default()).ok(), Some(SettingSource::RuleLayerDefault))
                }
                _ => (None, None),
            };
            SettingView { key: key.to_owned(), value, source, label: PROGRAMME_SETTING, updated_at_ms: None }
        }
    })
}

/// Set a programme setting (an admin only), validated by the rule layer.
pub async fn put_setting(ctx: &Ctx<'_>, key: &str, value: Value) -> AppResult<SettingView> {
    let audit = ctx.audit("update", "programme_setting");
    authorise(&audit, ctx.caller, Family::Programme, Action::Write, Some(key)).await?;
    if ctx.caller.role() != Role::Admin {
        audit.record(Some(key), None, AuditOutcome::Denied, "programme settings are an admin's").await?;
        return Err(Problem::forbidden("only an admin may change the programme's settings"));
    }
    if let Err(e) = check_setting(key, &value) {
        return invalid(&audit, Some(key), None, e).await;
    }
    let now = ctx.state.clock.now_ms();
    match ctx.state.store.put_programme_setting(key, &value, Some(&ctx.caller.user.id), now).await {
        Ok(s) => {
            audit.record(Some(key), None, AuditOutcome::Ok, "").await?;
            Ok(SettingView {
                key: s.key,
                value: Some(s.value),
                source: Some(SettingSource::Programme),
                label: PROGRAMME_SETTING,
                updated_at_ms: Some(s.updated_at_ms),
            })
        }
        Err(e) => audit.failed(Some(key), None, e).await,
    }
}

// ---------------------------------------------------------------------------
// JSON API
// ---------------------------------------------------------------------------

/// The between-visits API routes (merged into [`crate::router`]).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/patients/{id}/check-ins", post(api_check_in).get(api_check_ins))
        .route("/api/v1/patients/{id}/alerts", get(api_patient_alerts))
        .route("/api/v1/patients/{id}/flags", get(api_flags))
        .route("/api/v1/patients/{id}/oi-plans", post(api_create_oi_plan).get(api_latest_oi_plan))
        .route(
            "/api/v1/patients/{id}/lengthening-plans",
            post(api_create_lengthening_plan).get(api_latest_lengthening_plan),
        )
        .route("/api/v1/alerts", get(api_worklist))
        .route("/api/v1/alerts/{id}/acknowledge", post(api_acknowledge))
        .route("/api/v1/alerts/{id}/close", post(api_close))
        .route("/api/v1/oi-plans/{id}", get(api_oi_plan))
        .route("/api/v1/oi-plans/{id}/log", post(api_log_load))
        .route("/api/v1/oi-plans/{id}/review", get(api_oi_review))
        .route("/api/v1/lengthening-plans/{id}", get(api_lengthening_plan))
        .route("/api/v1/lengthening-plans/{id}/log", post(api_log_distraction))
        .route("/api/v1/lengthening-plans/{id}/review", get(api_lengthening_review))
        .route("/api/v1/programme/instructions", get(api_instructions))
        .route("/api/v1/programme/instructions/{protocol}", axum::routing::put(api_put_instructions))
        .route("/api/v1/programme/settings/{key}", get(api_get_setting).put(api_put_setting))
}

async fn caller(state: &AppState, headers: &HeaderMap, addr: &RemoteAddr, entity: &'static str) -> AppResult<Caller> {
    authenticate(state, headers, entity, remote(addr)).await
}

/// Parse a body, auditing a malformed one.
async fn body<T: DeserializeOwned>(
    ctx: &Ctx<'_>,
    entity: &'static str,
    id: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<T> {
    ctx.audit("create", entity).valid(Some(id), None, parse_body(headers, body)).await
}

/// The body of a write about patient `pid`. A body that cannot be read is
/// described only to a caller who may make that write for that patient;
/// anyone else gets the role or scope refusal (403/404, audited), as if the
/// body had been good.
async fn patient_body<T: DeserializeOwned>(
    ctx: &Ctx<'_>,
    entity: &'static str,
    family: Family,
    pid: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<T> {
    match parse_body(headers, body) {
        Ok(v) => Ok(v),
        Err(p) => {
            let audit = ctx.audit("create", entity);
            guard_patient(&audit, ctx, family, Action::Write, pid).await?;
            audit.valid(Some(pid), Some(pid), Err(p)).await
        }
    }
}

macro_rules! ctx {
    ($state:ident, $headers:ident, $addr:ident, $entity:literal, $c:ident) => {
        let $c = caller(&$state, &$headers, &$addr, $entity).await?;
        let $c = Ctx { state: &$state, caller: &$c, remote: remote(&$addr) };
    };
}

async fn api_check_in(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(pid): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "check_in", ctx);
    let check_in: CheckIn = patient_body(&ctx, "check_in", Family::PatientReported, &pid, &headers, raw).await?;
    let answer = submit_check_in(&ctx, &pid, check_in).await?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

#[derive(Debug, Deserialize)]
struct LimitParams {
    limit: Option<u32>,
}

async fn api_check_ins(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(pid): Path<String>,
    QueryParams(q): QueryParams<LimitParams>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "check_in", ctx);
    let items = check_ins(&ctx, &pid, q.limit.unwrap_or(50)).await?;
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

async fn api_patient_alerts(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(pid): Path<String>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "alert", ctx);
    let items = patient_alerts(&ctx, &pid).await?;
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

async fn api_worklist(State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap) -> AppResult<Response> {
    ctx!(state, headers, addr, "alert", ctx);
    Ok(Json(worklist(&ctx).await?).into_response())
}

async fn api_acknowledge(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "alert", ctx);
    Ok(Json(acknowledge(&ctx, &id).await?).into_response())
}

async fn api_close(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "alert", ctx);
    let req: CloseAlert = ctx.audit("close", "alert").valid(Some(&id), None, parse_body(&headers, raw)).await?;
    Ok(Json(close(&ctx, &id, &req).await?).into_response())
}

async fn api_flags(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(pid): Path<String>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "patient_flags", ctx);
    Ok(Json(serde_json::json!({ "items": flags(&ctx, &pid).await? })).into_response())
}

async fn api_create_oi_plan(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(pid): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "oi_plan", ctx);
    let req: NewOiPlan = patient_body(&ctx, "oi_plan", Family::PatientRecord, &pid, &headers, raw).await?;
    Ok((StatusCode::CREATED, Json(create_oi_plan(&ctx, &pid, req).await?)).into_response())
}

async fn api_latest_oi_plan(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(pid): Path<String>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "oi_plan", ctx);
    match latest_plan_id(&ctx, &pid, PlanProtocol::OiRehab).await? {
        Some(id) => Ok(Json(oi_plan(&ctx, &id).await?).into_response()),
        None => Err(Problem::not_found("this patient has no osseointegration plan")),
    }
}

async fn api_create_lengthening_plan(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(pid): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "lengthening_plan", ctx);
    let req: NewLengtheningPlan =
        patient_body(&ctx, "lengthening_plan", Family::PatientRecord, &pid, &headers, raw).await?;
    Ok((StatusCode::CREATED, Json(create_lengthening_plan(&ctx, &pid, req).await?)).into_response())
}

async fn api_latest_lengthening_plan(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(pid): Path<String>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "lengthening_plan", ctx);
    match latest_plan_id(&ctx, &pid, PlanProtocol::Lengthening).await? {
        Some(id) => Ok(Json(lengthening(&ctx, &id).await?).into_response()),
        None => Err(Problem::not_found("this patient has no lengthening plan")),
    }
}

async fn api_oi_plan(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "oi_plan", ctx);
    Ok(Json(oi_plan(&ctx, &id).await?).into_response())
}

async fn api_lengthening_plan(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "lengthening_plan", ctx);
    Ok(Json(lengthening(&ctx, &id).await?).into_response())
}

async fn api_log_load(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "oi_load_log", ctx);
    let entry: LoadLogEntry = body(&ctx, "oi_load_log", &id, &headers, raw).await?;
    Ok((StatusCode::CREATED, Json(log_load(&ctx, &id, entry).await?)).into_response())
}

async fn api_log_distraction(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "distraction_log", ctx);
    let entry: DistractionLogEntry = body(&ctx, "distraction_log", &id, &headers, raw).await?;
    Ok((StatusCode::CREATED, Json(log_distraction(&ctx, &id, entry).await?)).into_response())
}

#[derive(Debug, Deserialize)]
struct AsOfParams {
    as_of: Option<String>,
}

fn parse_as_of(q: &AsOfParams) -> AppResult<Option<Date>> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    q.as_of
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            Date::parse(s, fmt)
                .map_err(|_| Problem::invalid(InvalidInput::unrecognised("as_of", s, "a date as YYYY-MM-DD")))
        })
        .transpose()
}

async fn api_oi_review(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<AsOfParams>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "oi_plan", ctx);
    let as_of = parse_as_of(&q)?;
    Ok(Json(oi_review(&ctx, &id, as_of).await?).into_response())
}

async fn api_lengthening_review(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<AsOfParams>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "lengthening_plan", ctx);
    let as_of = parse_as_of(&q)?;
    Ok(Json(lengthening_review(&ctx, &id, as_of).await?).into_response())
}

async fn api_instructions(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "programme_instructions", ctx);
    Ok(Json(serde_json::json!({ "items": instructions(&ctx).await? })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstructionsBody {
    text: String,
}

async fn api_put_instructions(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(protocol): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "programme_instructions", ctx);
    let b: InstructionsBody = body(&ctx, "programme_instructions", &protocol, &headers, raw).await?;
    Ok(Json(put_instructions(&ctx, &protocol, &b.text).await?).into_response())
}

async fn api_get_setting(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "programme_setting", ctx);
    Ok(Json(get_setting(&ctx, &key).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingBody {
    value: Value,
}

async fn api_put_setting(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(key): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    ctx!(state, headers, addr, "programme_setting", ctx);
    let b: SettingBody = body(&ctx, "programme_setting", &key, &headers, raw).await?;
    Ok(Json(put_setting(&ctx, &key, b.value).await?).into_response())
}

/// The between-visits paths for the OpenAPI document: (path, method, summary).
pub const OPENAPI_PATHS: [(&str, &str, &str); 21] = [
    (
        "/api/v1/patients/{id}/check-ins",
        "post",
        "A check-in (CheckIn answers); the patient for itself. Returns the triage decision, what to do now, and the alerts raised",
    ),
    ("/api/v1/patients/{id}/check-ins", "get", "A patient's check-ins, newest first"),
    (
        "/api/v1/patients/{id}/alerts",
        "get",
        "A patient's open alerts with their escalation state now (the patient: own only)",
    ),
    ("/api/v1/patients/{id}/flags", "get", "Patient flags: osseointegrated implant, external frame, open urgent alert"),
    (
        "/api/v1/patients/{id}/oi-plans",
        "post",
        "Create an osseointegration rehabilitation plan ({input: RehabInput, settings?: RehabSettings, loading_log_settings?})",
    ),
    (
        "/api/v1/patients/{id}/oi-plans",
        "get",
        "The patient's latest osseointegration plan, day by day, with its loading log",
    ),
    (
        "/api/v1/patients/{id}/lengthening-plans",
        "post",
        "Create a lengthening plan ({input: LengtheningInput, drift_settings?})",
    ),
    (
        "/api/v1/patients/{id}/lengthening-plans",
        "get",
        "The patient's latest lengthening plan with its distraction log",
    ),
    (
        "/api/v1/alerts",
        "get",
        "The care team's worklist: open alerts, most urgent first, escalation computed at request time",
    ),
    ("/api/v1/alerts/{id}/acknowledge", "post", "Acknowledge an alert (care team); escalation stops"),
    (
        "/api/v1/alerts/{id}/close",
        "post",
        "Close (resolve) an acknowledged alert with {\"note\"} (clinician, admin); the first close stands",
    ),
    ("/api/v1/oi-plans/{id}", "get", "An osseointegration plan with its loading log"),
    (
        "/api/v1/oi-plans/{id}/log",
        "post",
        "Log a loading session (LoadLogEntry); returns the review and the deviation alerts raised",
    ),
    (
        "/api/v1/oi-plans/{id}/review",
        "get",
        "The loading log compared with the plan (?as_of=YYYY-MM-DD, default today)",
    ),
    ("/api/v1/lengthening-plans/{id}", "get", "A lengthening plan with its distraction log"),
    (
        "/api/v1/lengthening-plans/{id}/log",
        "post",
        "Log the turns done on a day (DistractionLogEntry); returns the review and the drift alert raised",
    ),
    (
        "/api/v1/lengthening-plans/{id}/review",
        "get",
        "The distraction log compared with the plan (?as_of=YYYY-MM-DD, default today)",
    ),
    ("/api/v1/programme/instructions", "get", "The programme's written instructions per protocol"),
    (
        "/api/v1/programme/instructions/{protocol}",
        "put",
        "Write the instructions for general, oi_rehab, lengthening or external_frame (care team)",
    ),
    (
        "/api/v1/programme/settings/{key}",
        "get",
        "A programme setting in force, with its source (programme, demo default, rule-layer default)",
    ),
    (
        "/api/v1/programme/settings/{key}",
        "put",
        "Set a programme setting ({value}); admin; validated by the rule layer",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_policy_is_valid_and_escalates_an_urgent_alert_first() {
        let p = demo_escalation_policy();
        p.validate().unwrap();
        assert!(p.contact_team_immediately[0].after_minutes < p.contact_team_today[0].after_minutes);
    }

    #[test]
    fn dates_of_instants_are_utc_days() {
        assert_eq!(date_of_ms(0), time::macros::date!(1970 - 01 - 01));
        assert_eq!(date_of_ms(86_400_000 * 365 - 1), time::macros::date!(1970 - 12 - 31));
        assert_eq!(date_of_ms(-1), time::macros::date!(1969 - 12 - 31));
    }

    #[test]
    fn the_clock_moves_only_when_told() {
        let c = Clock::system();
        let shared = c.clone();
        let before = c.now_ms();
        shared.advance(3_600_000);
        assert!(c.now_ms() >= before + 3_600_000);
    }

    #[test]
    fn settings_are_checked_by_the_rule_layer_naming_the_field() {
        let bad = serde_json::json!({"version": "x", "contact_team_immediately": [{"after_minutes": 30, "notify": "a"}, {"after_minutes": 10, "notify": "b"}], "contact_team_today": []});
        let e = check_setting("escalation_policy", &bad).unwrap_err();
        assert_eq!(e.field, "value.policy.contact_team_immediately[1].after_minutes");
        assert_eq!(check_setting("nope", &bad).unwrap_err().field, "key");
        let unknown =
            serde_json::json!({"version": "x", "contact_team_immediately": [], "contact_team_today": [], "extra": 1});
        assert!(check_setting("escalation_policy", &unknown).is_err());
    }

    #[test]
    fn labels_say_urgent_for_the_top_level() {
        assert_eq!(level_label(TriageLevel::ContactTeamImmediately), "Urgent — contact the team now");
    }
}
