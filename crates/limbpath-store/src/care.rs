//! Coordinated care (issue 5): care tasks, follow-up visits, second-opinion
//! referrers and referrals.
//!
//! The rules live in `limbpath-pathway` (pure); this module keeps what they
//! produce and what the team records against it:
//! - **Care tasks**, one row per task key (episode, rule, wound). A UNIQUE
//!   index on the key and `INSERT … ON CONFLICT DO NOTHING` make a re-run of
//!   the plan idempotent even when two requests run it at once: an open task
//!   is never duplicated and a finished one never reopened (the plan itself
//!   skips keys it already sees; the index covers the race). Transitions
//!   (assign, complete, cancel) are optimistic: `UPDATE … WHERE version = $n`.
//! - **Follow-up items are recomputed, not stored**: they are a pure function
//!   of the episode's procedures and the schedule templates
//!   (`limbpath_pathway::schedule`), so editing a template moves every
//!   upcoming date at once and nothing can drift. What is stored is the
//!   visits that took place (`follow_up_visits`), keyed like the items.
//! - **Referrers** are outside clinicians with a token (only its SHA-256 is
//!   stored, like sessions) that reaches their own referrals and nothing else:
//!   the token is not a session, so no patient-record endpoint accepts it.
//! - **Referrals** keep the submission as JSON, the triage computed at
//!   submission (urgency, response target, rationale) and the review decision.

use crate::audit::{INSERT_ENTRY, check_entry, entry_values};
use crate::auth::{is_token, random_hex, token_hash};
use crate::entity::Entity;
use crate::error::{Result, StoreError, corrupt};
use crate::records::{check_limit, cut_page};
use crate::sql::{Begin, RowExt, Val, bind_all, date_text, lookup, new_id, now_ms, to_json, with_pool, with_writer};
use crate::{AuditEntry, AuditOutcome, Page, RecordKind, Store};
use limbpath_clinical::InvalidInput;
use limbpath_pathway::{
    CareRules, CareTaskData, CompletedVisit, EpisodeSnapshot, FollowUpKey, PlanDiff, Priority, ProgrammeSettings,
    Rationale, ReferralFindings, ReviewDecisionData, RuleSet, TaskKey, TaskStatus, Triage, plan,
};
use limbpath_record::{
    Date, Discipline, EpisodeData, EpisodeStatus, PatientData, ProcedureData, Stored, Validate, WoundData,
    WoundMeasurementData, check_id, check_text,
};
use serde::{Deserialize, Serialize};

const TASK_COLUMNS: &str = "t.id, t.version, t.created_at_ms, t.updated_at_ms, t.episode_id, t.patient_id, t.rule_id, \
                            t.wound_key, t.ruleset_id, t.ruleset_version, t.title, t.discipline, t.priority, \
                            t.created_on, t.due_on, t.state, t.assignee, t.assigned_on, t.completed_on, \
                            t.cancelled_on, t.cancel_reason, t.rationale";

const OPEN_STATES: &str = "t.state IN ('open', 'assigned')";

/// What one run of the care plan did: the plan's difference and the tasks
/// actually inserted (fewer than `diff.create` only when another request
/// inserted the same key first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CarePlanRun {
    pub patient_id: String,
    pub diff: PlanDiff,
    pub created: Vec<Stored<CareTaskData>>,
}

/// The coordinator's worklist filters and page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorklistQuery {
    pub discipline: Option<Discipline>,
    /// Exact assignee name.
    pub assignee: Option<String>,
    /// The day that decides what is overdue.
    pub today: Option<Date>,
    /// The id of the last task of the previous page.
    pub cursor: Option<String>,
    pub limit: u32,
}

/// An open or assigned task with its patient, for the worklist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorklistItem {
    pub task: Stored<CareTaskData>,
    pub patient_id: String,
    pub patient_name: String,
    pub mrn: String,
    /// Due before today.
    pub overdue: bool,
}

/// A follow-up visit recorded against a schedule item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUpVisit {
    pub id: String,
    pub episode_id: String,
    pub key: FollowUpKey,
    pub completed_on: Date,
    pub recorded_by: String,
}

/// A referring clinician (their token is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Referrer {
    pub id: String,
    pub version: i64,
    pub created_at_ms: i64,
    pub name: String,
    pub organisation: String,
    pub active: bool,
    /// After this instant the token reaches nothing (`None`: issued before
    /// tokens expired, migration 0005).
    pub expires_at_ms: Option<i64>,
    /// When the token was revoked (then `active` is false).
    pub revoked_at_ms: Option<i64>,
}

const REFERRER_COLUMNS: &str = "id, version, created_at_ms, name, organisation, active, expires_at_ms, revoked_at_ms";

fn decode_referrer(r: &impl RowExt) -> Result<Referrer> {
    Ok(Referrer {
        id: r.text("id")?,
        version: r.int("version")?,
        created_at_ms: r.int("created_at_ms")?,
        name: r.text("name")?,
        organisation: r.text("organisation")?,
        active: r.boolean("active")?,
        expires_at_ms: r.opt_int("expires_at_ms")?,
        revoked_at_ms: r.opt_int("revoked_at_ms")?,
    })
}

/// What a referrer submits: who (in the referrer's own reference, no record in
/// LimbPath is needed), the findings in the `limbpath assess` schema, wet
/// gangrene as reported, and the question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralSubmission {
    /// The referrer's own reference for the patient (initials, their MRN).
    pub patient_reference: String,
    #[serde(default)]
    pub age_years: Option<u8>,
    /// The clinical summary, including why amputation was advised.
    pub summary: String,
    /// Findings in the `limbpath assess` input schema.
    pub findings: serde_json::Value,
    /// Wet (infected) gangrene, as the referrer reports it; absent when not reported.
    #[serde(default)]
    pub wet_gangrene: Option<bool>,
    /// What the referrer asks the review.
    #[serde(default)]
    pub question: String,
}

impl ReferralSubmission {
    /// The part the triage reads.
    pub fn findings(&self) -> ReferralFindings {
        ReferralFindings { findings: self.findings.clone(), wet_gangrene: self.wet_gangrene }
    }
}

impl Validate for ReferralSubmission {
    fn validate(&self) -> Result<(), InvalidInput> {
        check_text("patient_reference", &self.patient_reference, 128, true)?;
        check_text("summary", &self.summary, 8000, true)?;
        check_text("question", &self.question, 4000, false)?;
        if let Some(age) = self.age_years
            && !(1..=120).contains(&age)
        {
            return Err(InvalidInput::out_of_range("age_years", age, "1 to 120"));
        }
        if !self.findings.is_object() {
            return Err(InvalidInput::unrecognised("findings", &self.findings, "an object of assessment findings"));
        }
        Ok(())
    }
}

/// A new referral with its triage, as the server stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReferral {
    pub referrer_id: String,
    pub submission: ReferralSubmission,
    pub triage: Triage,
}

/// Where a referral is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    AwaitingReview,
    Decided,
}

impl ReferralStatus {
    fn code(self) -> &'static str {
        match self {
            ReferralStatus::AwaitingReview => "awaiting_review",
            ReferralStatus::Decided => "decided",
        }
    }
    fn from_code(s: &str) -> Option<ReferralStatus> {
        match s {
            "awaiting_review" => Some(ReferralStatus::AwaitingReview),
            "decided" => Some(ReferralStatus::Decided),
            _ => None,
        }
    }
}

/// A stored second-opinion referral.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Referral {
    pub id: String,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub referrer_id: String,
    pub submission: ReferralSubmission,
    pub urgency: Priority,
    pub respond_within_hours: u32,
    /// The response-time target: submission time + `respond_within_hours`.
    pub respond_by_ms: i64,
    pub triage_rationale: Rationale,
    pub status: ReferralStatus,
    pub decision: Option<ReviewDecisionData>,
}

const REFERRAL_COLUMNS: &str = "id, version, created_at_ms, updated_at_ms, referrer_id, submission, urgency, \
                                respond_within_hours, respond_by_ms, triage_rationale, status, decision";

fn priority_code(p: Priority) -> &'static str {
    p.label()
}

fn priority_from_code(s: &str) -> Option<Priority> {
    [Priority::Emergency, Priority::Urgent, Priority::Routine].into_iter().find(|p| p.label() == s)
}

fn decode_task(r: &impl RowExt) -> Result<Stored<CareTaskData>> {
    let state = r.text("state")?;
    let status = match state.as_str() {
        "open" => TaskStatus::Open,
        "assigned" => TaskStatus::Assigned { assignee: r.text("assignee")?, assigned_on: r.date("assigned_on")? },
        "completed" => TaskStatus::Completed {
            assignee: r.text("assignee")?,
            assigned_on: r.date("assigned_on")?,
            completed_on: r.date("completed_on")?,
        },
        "cancelled" => TaskStatus::Cancelled {
            cancelled_on: r.date("cancelled_on")?,
            reason: r.text("cancel_reason")?,
            assignee: r.opt_text("assignee")?,
        },
        other => return Err(corrupt(format_args!("care task state {other:?}"))),
    };
    let wound_key = r.text("wound_key")?;
    Ok(Stored {
        id: r.text("id")?,
        version: r.int("version")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
        data: CareTaskData {
            key: TaskKey {
                rule_id: r.text("rule_id")?,
                episode_id: r.text("episode_id")?,
                wound_id: (!wound_key.is_empty()).then_some(wound_key),
            },
            title: r.text("title")?,
            discipline: r.code("discipline", Discipline::from_code)?,
            priority: r.code("priority", priority_from_code)?,
            created_on: r.date("created_on")?,
            due_on: r.date("due_on")?,
            ruleset_id: r.text("ruleset_id")?,
            ruleset_version: r.text("ruleset_version")?,
            rationale: r.json("rationale")?,
            status,
        },
    })
}

/// The lifecycle columns of a status: state, assignee, assigned_on,
/// completed_on, cancelled_on, cancel_reason.
fn status_values(s: &TaskStatus) -> [Val; 6] {
    match s {
        TaskStatus::Open => [
            Val::text("open"),
            Val::OptText(None),
            Val::OptText(None),
            Val::OptText(None),
            Val::OptText(None),
            Val::OptText(None),
        ],
        TaskStatus::Assigned { assignee, assigned_on } => [
            Val::text("assigned"),
            Val::OptText(Some(assignee.clone())),
            Val::opt_date(Some(*assigned_on)),
            Val::OptText(None),
            Val::OptText(None),
            Val::OptText(None),
        ],
        TaskStatus::Completed { assignee, assigned_on, completed_on } => [
            Val::text("completed"),
            Val::OptText(Some(assignee.clone())),
            Val::opt_date(Some(*assigned_on)),
            Val::opt_date(Some(*completed_on)),
            Val::OptText(None),
            Val::OptText(None),
        ],
        TaskStatus::Cancelled { cancelled_on, reason, assignee } => [
            Val::text("cancelled"),
            Val::OptText(assignee.clone()),
            Val::OptText(None),
            Val::OptText(None),
            Val::opt_date(Some(*cancelled_on)),
            Val::OptText(Some(reason.clone())),
        ],
    }
}

fn decode_referral(r: &impl RowExt) -> Result<Referral> {
    let hours = r.int("respond_within_hours")?;
    Ok(Referral {
        id: r.text("id")?,
        version: r.int("version")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
        referrer_id: r.text("referrer_id")?,
        submission: r.json("submission")?,
        urgency: r.code("urgency", priority_from_code)?,
        respond_within_hours: u32::try_from(hours)
            .map_err(|_| corrupt(format_args!("respond_within_hours {hours}")))?,
        respond_by_ms: r.int("respond_by_ms")?,
        triage_rationale: r.json("triage_rationale")?,
        status: r.code("status", ReferralStatus::from_code)?,
        decision: r.opt_json("decision")?,
    })
}

fn not_found(entity: &'static str, id: &str) -> StoreError {
    StoreError::NotFound { entity, id: id.to_owned(), field: None }
}

/// What became of the care plan after a record was created
/// ([`Store::create_owned_and_run_care_plan`]). The record is stored in every
/// case: the plan's failure does not undo it.
#[derive(Debug)]
pub enum PlanAfter {
    /// The record does not feed a care plan (its kind, or it has no episode).
    NotRun,
    /// The episode is closed: the rules were not evaluated.
    EpisodeClosed { episode_id: String },
    /// The plan ran over the episode (the record included).
    Ran { episode_id: String, run: Box<CarePlanRun> },
    /// The plan failed; nothing of it is stored.
    Failed { episode_id: Option<String>, error: StoreError },
}

impl PlanAfter {
    fn of(episode_id: String, run: Result<CarePlanRun>) -> PlanAfter {
        match run {
            Ok(run) => PlanAfter::Ran { episode_id, run: Box::new(run) },
            Err(error) if is_closed_episode(&error) => PlanAfter::EpisodeClosed { episode_id },
            Err(error) => PlanAfter::Failed { episode_id: Some(episode_id), error },
        }
    }
}

/// Whether the plan refused to run because the episode is closed.
fn is_closed_episode(error: &StoreError) -> bool {
    matches!(error, StoreError::Invalid(e) if e.field == "episode.status")
}

/// The audit entries a record's creation stores in its own transaction
/// ([`Store::create_owned_and_run_care_plan`]): the creation's, and the care
/// plan's when it ran or failed. Built from the caller's entry (who, from
/// where, the action and entity), which is checked before anything is written.
#[derive(Clone)]
pub(crate) struct CreationAudit(AuditEntry);

/// The action of the care plan's audit entry after a record's creation.
pub const RUN_CARE_PLAN: &str = "run_care_plan";

impl CreationAudit {
    pub(crate) fn new(entry: AuditEntry) -> Result<CreationAudit> {
        check_entry(&entry)?;
        Ok(CreationAudit(entry))
    }

    /// The creation's entry: the record `id` of patient `owner`, done.
    pub(crate) fn of_record(&self, id: &str, owner: &str) -> Vec<Val> {
        entry_values(&AuditEntry {
            entity_id: Some(id.to_owned()),
            patient_id: Some(owner.to_owned()),
            outcome: AuditOutcome::Ok,
            ..self.0.clone()
        })
    }

    /// The plan's entry after record `id` of `kind` (of patient `owner`),
    /// once its outcome is known: `run_care_plan` on `care_task`, with the
    /// episode.
    pub(crate) fn of_plan(&self, kind: RecordKind, id: &str, owner: &str, episode_id: &str) -> PlanAudit {
        PlanAudit {
            entry: AuditEntry {
                action: RUN_CARE_PLAN.to_owned(),
                entity: Some("care_task".to_owned()),
                entity_id: Some(episode_id.to_owned()),
                patient_id: Some(owner.to_owned()),
                ..self.0.clone()
            },
            after: format!("{} {id}", kind.entity()),
        }
    }
}

/// The care plan's audit entry after a record's creation
/// ([`CreationAudit::of_plan`]), waiting for the plan's outcome.
#[derive(Clone)]
pub(crate) struct PlanAudit {
    entry: AuditEntry,
    /// The record the plan ran after (`assessment <id>`).
    after: String,
}

impl PlanAudit {
    /// The entry of a plan that ran and created `created` tasks.
    fn ran(&self, created: usize) -> Vec<Val> {
        let detail = format!("{created} tasks created after {}", self.after);
        entry_values(&AuditEntry { outcome: AuditOutcome::Ok, detail, ..self.entry.clone() })
    }

    /// The entry of a plan that failed (nothing of it is stored).
    fn failed(&self, error: &StoreError) -> Vec<Val> {
        entry_values(&AuditEntry { outcome: AuditOutcome::Error, detail: error.to_string(), ..self.entry.clone() })
    }
}

/// The statement finding the episode of a record of `kind`, by the record's
/// id (`$1`), as column `e`, with the episode's status as `s`; `None` for
/// kinds the care plan does not read.
fn episode_of_record_sql(kind: RecordKind) -> Option<&'static str> {
    Some(match kind {
        RecordKind::Episode => "SELECT id AS e, status AS s FROM episodes WHERE id = $1",
        RecordKind::Assessment => {
            "SELECT r.episode_id AS e, p.status AS s FROM assessments r JOIN episodes p ON p.id = r.episode_id \
             WHERE r.id = $1"
        }
        RecordKind::Wound => {
            "SELECT r.episode_id AS e, p.status AS s FROM wounds r JOIN episodes p ON p.id = r.episode_id WHERE r.id = $1"
        }
        RecordKind::Procedure => {
            "SELECT r.episode_id AS e, p.status AS s FROM procedures r JOIN episodes p ON p.id = r.episode_id \
             WHERE r.id = $1"
        }
        RecordKind::WoundMeasurement => {
            "SELECT w.episode_id AS e, p.status AS s FROM wound_measurements m JOIN wounds w ON w.id = m.wound_id \
             JOIN episodes p ON p.id = w.episode_id WHERE m.id = $1"
        }
        _ => return None,
    })
}

/// A record's episode and its status (a row of [`episode_of_record_sql`]).
fn decode_episode_of_record(row: &impl RowExt) -> Result<(String, String)> {
    Ok((row.text("e")?, row.text("s")?))
}

/// Whether an episode with the stored status `status` takes new care tasks
/// (`plan::check_takes_tasks`): checked before its snapshot is read, so that a
/// closed episode costs one lookup.
fn takes_tasks(status: &str) -> Result<()> {
    let status = EpisodeStatus::from_code(status).ok_or_else(|| corrupt(format_args!("episodes.status {status:?}")))?;
    Ok(limbpath_pathway::plan::check_takes_tasks(status)?)
}

/// The wound measurements of an episode (`$1`), in date order.
static EPISODE_MEASUREMENTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {} FROM wound_measurements WHERE wound_id IN (SELECT id FROM wounds WHERE episode_id = $1) \
         ORDER BY measured_on, id",
        WoundMeasurementData::sql().columns
    )
});

/// An episode's care tasks in every state, by due date then id (`$1`).
static EPISODE_TASKS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT {TASK_COLUMNS} FROM care_tasks t WHERE t.episode_id = $1 ORDER BY t.due_on, t.id")
});

/// The statements of [`Store::episode_snapshot`], written once for each way
/// of running them: `$one!(sql, vals, decode)` is `Result<Option<T>>` (the
/// first row, decoded) and `$all!(sql, vals, decode)` is `Result<Vec<T>>`.
/// Evaluates to `Result<(patient id, EpisodeSnapshot)>`.
macro_rules! read_episode_snapshot {
    ($episode_id:expr, $one:ident, $all:ident) => {
        'snapshot: {
            let episode_id: &str = $episode_id;
            let by_episode = [Val::text(episode_id)];
            let Some((patient_id, episode)) =
                $one!(EpisodeData::sql().get_owned.as_str(), by_episode.clone(), decode_owned_episode)?
            else {
                break 'snapshot Err(not_found("episode", episode_id));
            };
            let Some(patient) = $one!(PatientData::sql().get.as_str(), [Val::text(&patient_id)], PatientData::decode)?
            else {
                break 'snapshot Err(not_found("patient", &patient_id));
            };
            let latest_assessment = $one!(
                crate::entity::LATEST_ASSESSMENT_FINDINGS,
                by_episode.clone(),
                crate::entity::decode_assessment_findings
            )?;
            let snapshot = EpisodeSnapshot {
                patient: patient.data,
                episode,
                latest_assessment,
                surgical_risk: None,
                wounds: $all!(WoundData::sql().all_of_parent.as_str(), by_episode.clone(), WoundData::decode)?,
                wound_measurements: $all!(
                    EPISODE_MEASUREMENTS.as_str(),
                    by_episode.clone(),
                    WoundMeasurementData::decode
                )?,
                procedures: $all!(
                    ProcedureData::sql().all_of_parent.as_str(),
                    by_episode.clone(),
                    ProcedureData::decode
                )?,
                tasks: $all!(EPISODE_TASKS.as_str(), by_episode.clone(), decode_task)?,
            };
            Ok::<_, StoreError>((patient_id, snapshot))
        }
    };
}

fn decode_owned_episode(row: &impl RowExt) -> Result<(String, Stored<EpisodeData>)> {
    Ok((row.text("owner")?, EpisodeData::decode(row)?))
}

/// Inserts a care task unless its key exists; returns its id when inserted.
const INSERT_TASK: &str = "INSERT INTO care_tasks (id, version, created_at_ms, updated_at_ms, episode_id, patient_id, \
    rule_id, wound_key, ruleset_id, ruleset_version, title, discipline, priority, created_on, due_on, state, \
    rationale) SELECT $1, 1, $2, $2, e.id, e.patient_id, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'open', $14 \
    FROM episodes e WHERE e.id = $3 AND e.patient_id = $4 ON CONFLICT (episode_id, rule_id, wound_key) DO NOTHING \
    RETURNING id";

/// New care tasks of one patient, validated, with their ids and the time.
struct NewTasks {
    patient_id: String,
    now: i64,
    rows: Vec<(String, CareTaskData, String)>,
}

impl NewTasks {
    fn of(patient_id: &str, tasks: &[CareTaskData]) -> Result<NewTasks> {
        let mut rows = Vec::with_capacity(tasks.len());
        for t in tasks {
            t.validate()?;
            if t.status != TaskStatus::Open {
                return Err(InvalidInput::inconsistent("status", t.status.state(), "a new task is open").into());
            }
            rows.push((new_id(), t.clone(), to_json("rationale", &t.rationale)?));
        }
        Ok(NewTasks { patient_id: patient_id.to_owned(), now: now_ms(), rows })
    }

    /// Each task's id and the values of [`INSERT_TASK`].
    fn binds(&self) -> impl Iterator<Item = (&str, Vec<Val>)> {
        self.rows.iter().map(|(id, t, rationale)| {
            let vals = vec![
                Val::text(id),
                Val::Int(self.now),
                Val::text(&t.key.episode_id),
                Val::text(&self.patient_id),
                Val::text(&t.key.rule_id),
                Val::Text(t.key.wound_id.clone().unwrap_or_default()),
                Val::text(&t.ruleset_id),
                Val::text(&t.ruleset_version),
                Val::text(&t.title),
                Val::text(t.discipline.code()),
                Val::text(priority_code(t.priority)),
                Val::Text(date_text(t.created_on)),
                Val::Text(date_text(t.due_on)),
                Val::text(rationale),
            ];
            (id.as_str(), vals)
        })
    }

    /// The tasks whose ids are in `inserted`, as stored.
    fn stored(self, inserted: &[String]) -> Vec<Stored<CareTaskData>> {
        let now = self.now;
        self.rows
            .into_iter()
            .filter(|(id, _, _)| inserted.contains(id))
            .map(|(id, data, _)| Stored { id, version: 1, created_at_ms: now, updated_at_ms: now, data })
            .collect()
    }
}

/// [`Store::episode_snapshot`] on the direct writer, in the transaction `tx`
/// is in.
fn direct_snapshot(tx: &crate::direct::DirectTx<'_>, episode_id: &str) -> Result<(String, EpisodeSnapshot)> {
    macro_rules! one {
        ($sql:expr, $vals:expr, $decode:expr) => {
            tx.optional($sql, &$vals, |row| $decode(row)).map_err(StoreError::from)
        };
    }
    macro_rules! all {
        ($sql:expr, $vals:expr, $decode:expr) => {
            tx.all($sql, &$vals, |row| $decode(row)).map_err(StoreError::from)
        };
    }
    read_episode_snapshot!(episode_id, one, all)
}

/// The care plan after a record's creation, inside the creating transaction
/// on the direct writer: the snapshot as that transaction sees it (the new
/// record included), the rules, the tasks inserted, and the plan's audit
/// entry. The plan runs under a savepoint, so its failure leaves the record's
/// own writes in place (and is audited as an error). Which kinds feed a plan
/// is [`Store::create_owned_and_run_care_plan`]'s decision.
pub(crate) fn care_plan_in_transaction(
    tx: &crate::direct::DirectTx<'_>,
    (kind, id, owner): (RecordKind, &str, &str),
    rules: &CareRules,
    today: Date,
    audit: &CreationAudit,
) -> std::result::Result<PlanAfter, sqlx::Error> {
    let Some(sql) = episode_of_record_sql(kind) else {
        return Ok(PlanAfter::NotRun);
    };
    let Some((episode_id, status)) = tx.optional(sql, &[Val::text(id)], |row| decode_episode_of_record(row))? else {
        return Ok(PlanAfter::NotRun);
    };
    let plan_audit = audit.of_plan(kind, id, owner, &episode_id);
    let run = match takes_tasks(&status) {
        Err(refused) => Err(refused),
        Ok(()) => tx.savepoint(|| -> Result<CarePlanRun> {
            let (patient_id, snapshot) = direct_snapshot(tx, &episode_id)?;
            let diff = rules.plan(&snapshot, today)?;
            let new = NewTasks::of(&patient_id, &diff.create)?;
            let mut inserted = Vec::new();
            for (id, vals) in new.binds() {
                if tx.optional(INSERT_TASK, &vals, |row| row.text("id"))?.is_some() {
                    inserted.push(id.to_owned());
                }
            }
            Ok(CarePlanRun { patient_id, diff, created: new.stored(&inserted) })
        })?,
    };
    match &run {
        Ok(run) => tx.execute(INSERT_ENTRY, &plan_audit.ran(run.created.len()))?,
        Err(error) if !is_closed_episode(error) => tx.execute(INSERT_ENTRY, &plan_audit.failed(error))?,
        Err(_) => 0,
    };
    Ok(PlanAfter::of(episode_id, run))
}

impl Store {
    // -- care plan --------------------------------------------------------------

    /// The episode a record belongs to, for the record kinds the care plan
    /// reads (episode, assessment, wound, wound measurement, procedure);
    /// `None` for other kinds or a record that does not exist.
    pub async fn episode_of_record(&self, kind: RecordKind, id: &str) -> Result<Option<String>> {
        Ok(self.episode_and_status_of_record(kind, id).await?.map(|(episode_id, _)| episode_id))
    }

    /// [`Store::episode_of_record`], with the episode's stored status.
    async fn episode_and_status_of_record(&self, kind: RecordKind, id: &str) -> Result<Option<(String, String)>> {
        let Some(sql) = episode_of_record_sql(kind) else {
            return Ok(None);
        };
        if check_id("id", id).is_err() {
            return Ok(None);
        }
        lookup!(self, sql, [Val::text(id)], |row| decode_episode_of_record(row))
    }

    /// What the rules read about an episode: its patient, the episode, the
    /// latest assessment (by date, then id), wounds and measurements,
    /// procedures, and every care task of the episode, read in one snapshot.
    /// Only the episode's own rows are read (the latest assessment from the
    /// end of the episode's assessment index), so the cost does not grow with
    /// the rest of the patient's record or with the episode's assessment
    /// history. No surgical-risk estimate is stored yet, so GVG 6.11 is
    /// reported as undetermined. Returns the patient id with the snapshot.
    pub async fn episode_snapshot(&self, episode_id: &str) -> Result<(String, EpisodeSnapshot)> {
        if check_id("episode_id", episode_id).is_err() {
            return Err(not_found("episode", episode_id));
        }
        let out = with_pool!(self, p => {
            let mut tx = p.begin_snapshot().await?;
            macro_rules! one {
                ($sql:expr, $vals:expr, $decode:expr) => {
                    match bind_all!(sqlx::query(sqlx::AssertSqlSafe($sql)), $vals).fetch_optional(&mut *tx).await? {
                        Some(row) => Ok::<_, StoreError>(Some($decode(&row)?)),
                        None => Ok(None),
                    }
                };
            }
            macro_rules! all {
                ($sql:expr, $vals:expr, $decode:expr) => {{
                    let mut out = Vec::new();
                    for row in bind_all!(sqlx::query(sqlx::AssertSqlSafe($sql)), $vals).fetch_all(&mut *tx).await? {
                        out.push($decode(&row)?);
                    }
                    Ok::<_, StoreError>(out)
                }};
            }
            let out = read_episode_snapshot!(episode_id, one, all)?;
            tx.commit().await?;
            out
        });
        Ok(out)
    }

    /// Run the rule set over an episode on `today` and insert the tasks it
    /// creates (idempotent: see the module documentation). A closed episode
    /// is `Invalid` naming `episode.status`.
    pub async fn run_care_plan(
        &self,
        episode_id: &str,
        ruleset: &RuleSet,
        settings: &ProgrammeSettings,
        today: Date,
    ) -> Result<CarePlanRun> {
        let (patient_id, snapshot) = self.episode_snapshot(episode_id).await?;
        let diff = plan(ruleset, settings, &snapshot, today)?;
        let created = self.insert_care_tasks(&patient_id, &diff.create).await?;
        Ok(CarePlanRun { patient_id, diff, created })
    }

    /// The care plan after a record of `kind` was created (see
    /// [`Store::create_owned_and_run_care_plan`]) where it could not run in the
    /// record's own transaction: the plan reads its episode as committed, then
    /// stores its tasks with its audit entry in one transaction. `Err` only
    /// when the audit entry of a failed plan cannot be stored.
    pub(crate) async fn care_plan_after(
        &self,
        kind: RecordKind,
        id: &str,
        owner: &str,
        rules: &CareRules,
        today: Date,
        audit: &CreationAudit,
    ) -> Result<PlanAfter> {
        let (episode_id, status) = match self.episode_and_status_of_record(kind, id).await {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(PlanAfter::NotRun),
            Err(error) => return Ok(PlanAfter::Failed { episode_id: None, error }),
        };
        let plan_audit = audit.of_plan(kind, id, owner, &episode_id);
        let run: Result<CarePlanRun> = async {
            takes_tasks(&status)?;
            let (patient_id, snapshot) = self.episode_snapshot(&episode_id).await?;
            let diff = rules.plan(&snapshot, today)?;
            let created = self.insert_care_tasks_audited(&patient_id, &diff.create, Some(plan_audit.clone())).await?;
            Ok(CarePlanRun { patient_id, diff, created })
        }
        .await;
        if let Err(error) = &run
            && !is_closed_episode(error)
        {
            self.append_audit_values(plan_audit.failed(error)).await?;
        }
        Ok(PlanAfter::of(episode_id, run))
    }

    /// Insert care tasks made by a rule (the plan's, or the missed-follow-up
    /// rule's) for one patient's episodes, status open, in one transaction.
    /// A task whose key (episode, rule, wound) exists already, in any state,
    /// is skipped (`ON CONFLICT DO NOTHING`): returns the tasks inserted.
    pub async fn insert_care_tasks(
        &self,
        patient_id: &str,
        tasks: &[CareTaskData],
    ) -> Result<Vec<Stored<CareTaskData>>> {
        self.insert_care_tasks_audited(patient_id, tasks, None).await
    }

    /// [`Store::insert_care_tasks`], with the plan's audit entry (how many
    /// tasks it inserted) stored in the same transaction.
    async fn insert_care_tasks_audited(
        &self,
        patient_id: &str,
        tasks: &[CareTaskData],
        audit: Option<PlanAudit>,
    ) -> Result<Vec<Stored<CareTaskData>>> {
        let new = NewTasks::of(patient_id, tasks)?;
        if new.rows.is_empty() && audit.is_none() {
            return Ok(Vec::new());
        }
        let rows = &new;
        let inserted: Vec<String> = with_writer!(self, p => {
            async move {
                let mut tx = p.begin_write().await?;
                let mut ids = Vec::new();
                for (id, vals) in rows.binds() {
                    if bind_all!(sqlx::query(INSERT_TASK), vals).fetch_optional(&mut *tx).await?.is_some() {
                        ids.push(id.to_owned());
                    }
                }
                if let Some(audit) = &audit {
                    bind_all!(sqlx::query(INSERT_ENTRY), audit.ran(ids.len())).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(ids)
            }
            .await
        })?;
        Ok(new.stored(&inserted))
    }

    /// A page of the ids of episodes that are not closed, in id order: what a
    /// sweep re-runs the plan over (checkpoints and due dates move with time,
    /// not only with new records).
    pub async fn open_episode_ids(&self, cursor: Option<&str>, limit: u32) -> Result<Page<String>> {
        let fetch = check_limit(limit)?;
        let ids: Vec<String> = with_pool!(self, p => {
            let rows = match cursor {
                Some(c) => {
                    sqlx::query("SELECT id FROM episodes WHERE status <> 'closed' AND id > $1 ORDER BY id LIMIT $2")
                        .bind(c)
                        .bind(fetch)
                        .fetch_all(p)
                        .await?
                }
                None => {
                    sqlx::query("SELECT id FROM episodes WHERE status <> 'closed' ORDER BY id LIMIT $1")
                        .bind(fetch)
                        .fetch_all(p)
                        .await?
                }
            };
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(r.text("id")?);
            }
            out
        });
        Ok(cut_page(ids, limit, Clone::clone))
    }

    /// Every care task of an episode, most urgent due date first.
    pub async fn care_tasks_of_episode(&self, episode_id: &str) -> Result<Vec<Stored<CareTaskData>>> {
        if check_id("episode_id", episode_id).is_err() {
            return Err(not_found("episode", episode_id));
        }
        let out = with_pool!(self, p => {
            let mut out = Vec::new();
            for row in sqlx::query(sqlx::AssertSqlSafe(EPISODE_TASKS.as_str())).bind(episode_id).fetch_all(p).await? {
                out.push(decode_task(&row)?);
            }
            out
        });
        Ok(out)
    }

    /// One care task with its patient's id.
    pub async fn get_care_task(&self, id: &str) -> Result<crate::Owned<Stored<CareTaskData>>> {
        if check_id("id", id).is_err() {
            return Err(not_found("care_task", id));
        }
        let sql = format!("SELECT {TASK_COLUMNS} FROM care_tasks t WHERE t.id = $1");
        let out = with_pool!(self, p => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await? {
                Some(row) => Some(crate::Owned { owner: row.text("patient_id")?, record: decode_task(&row)? }),
                None => None,
            }
        });
        out.ok_or_else(|| not_found("care_task", id))
    }

    /// Store a task's new lifecycle status (from `CareTaskData::assign`,
    /// `complete` or `cancel`), based on `expected_version`. Only the status
    /// changes; a stale version is `VersionConflict`.
    pub async fn update_care_task_status(
        &self,
        id: &str,
        expected_version: i64,
        status: &TaskStatus,
    ) -> Result<Stored<CareTaskData>> {
        let current = self.get_care_task(id).await?.record;
        let next = CareTaskData { status: status.clone(), ..current.data };
        next.validate()?;
        let now = now_ms();
        let mut binds = vec![Val::text(id), Val::Int(expected_version), Val::Int(now)];
        binds.extend(status_values(status));
        let sql = "UPDATE care_tasks SET state = $4, assignee = $5, assigned_on = $6, completed_on = $7, \
                   cancelled_on = $8, cancel_reason = $9, version = version + 1, updated_at_ms = $3 \
                   WHERE id = $1 AND version = $2 RETURNING version";
        let updated: Option<i64> = with_writer!(self, p => {
            match bind_all!(sqlx::query(sql), binds).fetch_optional(p).await? {
                Some(row) => Some(row.int("version")?),
                None => None,
            }
        });
        match updated {
            Some(version) => Ok(Stored { version, updated_at_ms: now, data: next, ..current }),
            None => {
                let now_at = self.get_care_task(id).await?.record.version;
                Err(StoreError::VersionConflict { entity: "care_task", id: id.to_owned(), current: now_at })
            }
        }
    }

    /// Open and assigned tasks across patients by due date (so overdue first),
    /// then id; filtered by discipline and/or assignee; keyset-paginated.
    pub async fn worklist(&self, q: &WorklistQuery) -> Result<Page<WorklistItem>> {
        let fetch = check_limit(q.limit)?;
        let mut sql = format!(
            "SELECT {TASK_COLUMNS}, p.family_name, p.given_name, p.mrn FROM care_tasks t \
             JOIN patients p ON p.id = t.patient_id WHERE {OPEN_STATES}"
        );
        let mut binds: Vec<Val> = Vec::new();
        if let Some(d) = q.discipline {
            binds.push(Val::text(d.code()));
            sql.push_str(&format!(" AND t.discipline = ${}", binds.len()));
        }
        if let Some(a) = q.assignee.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            binds.push(Val::text(a));
            sql.push_str(&format!(" AND t.assignee = ${}", binds.len()));
        }
        if let Some(cursor) = &q.cursor {
            let bad = || StoreError::Invalid(InvalidInput::unrecognised("cursor", cursor, "a next_cursor from a page"));
            check_id("cursor", cursor).map_err(|_| bad())?;
            let due: Option<String> = with_pool!(self, p => {
                match sqlx::query("SELECT due_on FROM care_tasks WHERE id = $1").bind(cursor).fetch_optional(p).await? {
                    Some(row) => Some(row.text("due_on")?),
                    None => None,
                }
            });
            let due = due.ok_or_else(bad)?;
            binds.push(Val::Text(due));
            binds.push(Val::text(cursor));
            sql.push_str(&format!(" AND (t.due_on, t.id) > (${}, ${})", binds.len() - 1, binds.len()));
        }
        binds.push(Val::Int(fetch));
        sql.push_str(&format!(" ORDER BY t.due_on, t.id LIMIT ${}", binds.len()));
        let today = q.today;
        let items = with_pool!(self, p => {
            let mut out = Vec::new();
            for row in bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), binds.clone()).fetch_all(p).await? {
                let task = decode_task(&row)?;
                out.push(WorklistItem {
                    overdue: today.is_some_and(|d| task.data.due_on < d),
                    patient_id: row.text("patient_id")?,
                    patient_name: format!("{}, {}", row.text("family_name")?, row.text("given_name")?),
                    mrn: row.text("mrn")?,
                    task,
                });
            }
            out
        });
        Ok(cut_page(items, q.limit, |i| i.task.id.clone()))
    }

    // -- follow-up visits -------------------------------------------------------

    /// Record that a follow-up visit took place. The procedure must belong to
    /// the episode (`key.procedure_id` otherwise); that the key names an item
    /// of the procedure's schedule is the caller's check (it has the templates).
    pub async fn record_follow_up_visit(
        &self,
        episode_id: &str,
        key: &FollowUpKey,
        completed_on: Date,
        recorded_by: &str,
    ) -> Result<FollowUpVisit> {
        check_id("key.procedure_id", &key.procedure_id)?;
        check_text("key.template_id", &key.template_id, 64, true)?;
        check_text("key.item_id", &key.item_id, 64, true)?;
        if key.occurrence == 0 {
            return Err(InvalidInput::out_of_range("key.occurrence", key.occurrence, "1 or more").into());
        }
        if !(1900..=2200).contains(&completed_on.year()) {
            return Err(InvalidInput::out_of_range("completed_on", completed_on, "a date from 1900 to 2200").into());
        }
        check_text("recorded_by", recorded_by, 256, true)?;
        let id = new_id();
        let now = now_ms();
        let row: Option<String> = with_writer!(self, p => {
            match sqlx::query(
                "INSERT INTO follow_up_visits (id, created_at_ms, episode_id, patient_id, procedure_id, template_id, \
                 item_id, occurrence, completed_on, recorded_by) SELECT $1, $2, pr.episode_id, pr.patient_id, pr.id, \
                 $3, $4, $5, $6, $7 FROM procedures pr WHERE pr.id = $8 AND pr.episode_id = $9 RETURNING id",
            )
            .bind(&id)
            .bind(now)
            .bind(&key.template_id)
            .bind(&key.item_id)
            .bind(i64::from(key.occurrence))
            .bind(date_text(completed_on))
            .bind(recorded_by)
            .bind(&key.procedure_id)
            .bind(episode_id)
            .fetch_optional(p)
            .await?
            {
                Some(r) => Some(r.text("id")?),
                None => None,
            }
        });
        match row {
            Some(_) => Ok(FollowUpVisit {
                id,
                episode_id: episode_id.to_owned(),
                key: key.clone(),
                completed_on,
                recorded_by: recorded_by.to_owned(),
            }),
            None => Err(StoreError::NotFound {
                entity: "procedure",
                id: key.procedure_id.clone(),
                field: Some("key.procedure_id"),
            }),
        }
    }

    /// The follow-up visits recorded for an episode.
    pub async fn follow_up_visits(&self, episode_id: &str) -> Result<Vec<CompletedVisit>> {
        if check_id("episode_id", episode_id).is_err() {
            return Err(not_found("episode", episode_id));
        }
        let out = with_pool!(self, p => {
            let mut out = Vec::new();
            for r in sqlx::query(
                "SELECT procedure_id, template_id, item_id, occurrence, completed_on FROM follow_up_visits \
                 WHERE episode_id = $1 ORDER BY completed_on, id",
            )
            .bind(episode_id)
            .fetch_all(p)
            .await?
            {
                let occurrence = r.int("occurrence")?;
                out.push(CompletedVisit {
                    key: FollowUpKey {
                        procedure_id: r.text("procedure_id")?,
                        template_id: r.text("template_id")?,
                        item_id: r.text("item_id")?,
                        occurrence: u32::try_from(occurrence)
                            .map_err(|_| corrupt(format_args!("occurrence {occurrence}")))?,
                    },
                    completed_on: r.date("completed_on")?,
                });
            }
            out
        });
        Ok(out)
    }

    // -- referrers and referrals ------------------------------------------------

    /// Register a referring clinician whose token works until `expires_at_ms`
    /// (after now); returns them with their token (64 hex digits), shown
    /// once: only its SHA-256 is stored.
    pub async fn create_referrer(
        &self,
        name: &str,
        organisation: &str,
        expires_at_ms: i64,
    ) -> Result<(Referrer, String)> {
        check_text("name", name, 256, true)?;
        check_text("organisation", organisation, 256, true)?;
        let now = now_ms();
        if expires_at_ms <= now {
            return Err(InvalidInput::out_of_range("expires_at_ms", expires_at_ms, "an instant after now").into());
        }
        let token = random_hex()?;
        let id = new_id();
        with_writer!(self, p => {
            sqlx::query(
                "INSERT INTO referrers (id, version, created_at_ms, updated_at_ms, name, organisation, token_hash, \
                 active, expires_at_ms) VALUES ($1, 1, $2, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&id)
            .bind(now)
            .bind(name.trim())
            .bind(organisation.trim())
            .bind(token_hash(&token))
            .bind(true)
            .bind(expires_at_ms)
            .execute(p)
            .await
            .map(|_| ())
        })?;
        Ok((
            Referrer {
                id,
                version: 1,
                created_at_ms: now,
                name: name.trim().to_owned(),
                organisation: organisation.trim().to_owned(),
                active: true,
                expires_at_ms: Some(expires_at_ms),
                revoked_at_ms: None,
            },
            token,
        ))
    }

    /// The referrer a token belongs to while it is active and not expired at
    /// `now_ms`; `None` for anything else (unknown, revoked, expired).
    pub async fn referrer_by_token(&self, token: &str, now_ms: i64) -> Result<Option<Referrer>> {
        if !is_token(token) {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {REFERRER_COLUMNS} FROM referrers WHERE token_hash = $1 AND active = $2 \
             AND (expires_at_ms IS NULL OR expires_at_ms > $3)"
        );
        let found = with_pool!(self, p => {
            match sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(token_hash(&token.to_ascii_lowercase()))
                .bind(true)
                .bind(now_ms)
                .fetch_optional(p)
                .await?
            {
                Some(r) => Some(decode_referrer(&r)?),
                None => None,
            }
        });
        Ok(found)
    }

    /// One referrer by id.
    pub async fn get_referrer(&self, id: &str) -> Result<Referrer> {
        if check_id("id", id).is_err() {
            return Err(not_found("referrer", id));
        }
        let sql = format!("SELECT {REFERRER_COLUMNS} FROM referrers WHERE id = $1");
        let found = with_pool!(self, p => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await? {
                Some(r) => Some(decode_referrer(&r)?),
                None => None,
            }
        });
        found.ok_or_else(|| not_found("referrer", id))
    }

    /// Every referrer, newest first (at most `limit`, 1 to [`crate::MAX_PAGE`]).
    pub async fn list_referrers(&self, limit: u32) -> Result<Vec<Referrer>> {
        let fetch = check_limit(limit)?;
        let sql = format!("SELECT {REFERRER_COLUMNS} FROM referrers ORDER BY created_at_ms DESC, id DESC LIMIT $1");
        let out = with_pool!(self, p => {
            let mut out = Vec::new();
            for r in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(fetch).fetch_all(p).await? {
                out.push(decode_referrer(&r)?);
            }
            out
        });
        Ok(out.into_iter().take(limit as usize).collect())
    }

    /// Revoke a referrer's token at `at_ms`: from then on it reaches nothing.
    /// Revoking again changes nothing (the first revocation stands).
    pub async fn revoke_referrer(&self, id: &str, at_ms: i64) -> Result<Referrer> {
        let current = self.get_referrer(id).await?;
        if current.revoked_at_ms.is_some() {
            return Ok(current);
        }
        with_writer!(self, p => sqlx::query(
            "UPDATE referrers SET active = $2, revoked_at_ms = $3, version = version + 1, updated_at_ms = $3 \
             WHERE id = $1 AND revoked_at_ms IS NULL",
        )
        .bind(id)
        .bind(false)
        .bind(at_ms)
        .execute(p)
        .await
        .map(|_| ())?);
        self.get_referrer(id).await
    }

    /// Store a referral with its triage; its response target is now +
    /// `respond_within_hours`.
    pub async fn create_referral(&self, new: NewReferral) -> Result<Referral> {
        new.submission.validate()?;
        check_id("referrer_id", &new.referrer_id)?;
        let id = new_id();
        let now = now_ms();
        let hours = new.triage.respond_within_hours;
        let respond_by_ms = now.saturating_add(i64::from(hours) * 3_600_000);
        let submission = to_json("submission", &new.submission)?;
        let rationale = to_json("triage", &new.triage.rationale)?;
        let result = with_writer!(self, p => {
            sqlx::query(
                "INSERT INTO referrals (id, version, created_at_ms, updated_at_ms, referrer_id, submission, urgency, \
                 respond_within_hours, respond_by_ms, triage_rationale, status, decision) \
                 VALUES ($1, 1, $2, $2, $3, $4, $5, $6, $7, $8, 'awaiting_review', NULL)",
            )
            .bind(&id)
            .bind(now)
            .bind(&new.referrer_id)
            .bind(&submission)
            .bind(priority_code(new.triage.urgency))
            .bind(i64::from(hours))
            .bind(respond_by_ms)
            .bind(&rationale)
            .execute(p)
            .await
            .map(|_| ())
        });
        if let Err(e) = result {
            if crate::error::db_kind(&e) == Some(sqlx::error::ErrorKind::ForeignKeyViolation) {
                return Err(StoreError::NotFound {
                    entity: "referrer",
                    id: new.referrer_id,
                    field: Some("referrer_id"),
                });
            }
            return Err(e.into());
        }
        Ok(Referral {
            id,
            version: 1,
            created_at_ms: now,
            updated_at_ms: now,
            referrer_id: new.referrer_id,
            submission: new.submission,
            urgency: new.triage.urgency,
            respond_within_hours: hours,
            respond_by_ms,
            triage_rationale: new.triage.rationale,
            status: ReferralStatus::AwaitingReview,
            decision: None,
        })
    }

    /// One referral.
    pub async fn get_referral(&self, id: &str) -> Result<Referral> {
        if check_id("id", id).is_err() {
            return Err(not_found("referral", id));
        }
        let sql = format!("SELECT {REFERRAL_COLUMNS} FROM referrals WHERE id = $1");
        let out = with_pool!(self, p => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await? {
                Some(r) => Some(decode_referral(&r)?),
                None => None,
            }
        });
        out.ok_or_else(|| not_found("referral", id))
    }

    /// The review queue: awaiting review first, by response target; then the
    /// decided ones. `referrer_id` limits it to one referrer's referrals.
    pub async fn list_referrals(
        &self,
        referrer_id: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Referral>> {
        let fetch = check_limit(limit)?;
        let mut sql = format!("SELECT {REFERRAL_COLUMNS} FROM referrals WHERE 1 = 1");
        let mut binds: Vec<Val> = Vec::new();
        if let Some(r) = referrer_id {
            binds.push(Val::text(r));
            sql.push_str(&format!(" AND referrer_id = ${}", binds.len()));
        }
        if let Some(cursor) = cursor {
            let bad = || StoreError::Invalid(InvalidInput::unrecognised("cursor", cursor, "a next_cursor from a page"));
            let c = self.get_referral(cursor).await.map_err(|_| bad())?;
            if referrer_id.is_some_and(|r| r != c.referrer_id) {
                return Err(bad());
            }
            binds.push(Val::text(c.status.code()));
            binds.push(Val::Int(c.respond_by_ms));
            binds.push(Val::Text(c.id));
            let n = binds.len();
            sql.push_str(&format!(" AND (status, respond_by_ms, id) > (${}, ${}, ${n})", n - 2, n - 1));
        }
        binds.push(Val::Int(fetch));
        sql.push_str(&format!(" ORDER BY status, respond_by_ms, id LIMIT ${}", binds.len()));
        let items = with_pool!(self, p => {
            let mut out = Vec::new();
            for r in bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), binds.clone()).fetch_all(p).await? {
                out.push(decode_referral(&r)?);
            }
            out
        });
        Ok(cut_page(items, limit, |r| r.id.clone()))
    }

    /// Record the review's decision (once; a decided referral is
    /// `Duplicate` on `decision`), based on `expected_version`.
    pub async fn decide_referral(
        &self,
        id: &str,
        expected_version: i64,
        decision: &ReviewDecisionData,
    ) -> Result<Referral> {
        decision.validate()?;
        let current = self.get_referral(id).await?;
        if current.status == ReferralStatus::Decided {
            return Err(StoreError::Duplicate { field: "decision", value: format!("referral {id} is decided") });
        }
        let json = to_json("decision", decision)?;
        let now = now_ms();
        let n = with_writer!(self, p => {
            sqlx::query(
                "UPDATE referrals SET status = 'decided', decision = $3, version = version + 1, updated_at_ms = $4 \
                 WHERE id = $1 AND version = $2 AND status = 'awaiting_review'",
            )
            .bind(id)
            .bind(expected_version)
            .bind(&json)
            .bind(now)
            .execute(p)
            .await?
            .rows_affected()
        });
        if n == 0 {
            let now_at = self.get_referral(id).await?.version;
            return Err(StoreError::VersionConflict { entity: "referral", id: id.to_owned(), current: now_at });
        }
        self.get_referral(id).await
    }
}
