//! Care tasks and their lifecycle, as pure functions.
//!
//! ```text
//!   open ──assign──► assigned ──complete──► completed
//!    │                 │  ▲
//!    │                 └──┘ assign (reassign)
//!    └─────cancel──────┴──────cancel──────► cancelled (reason required)
//! ```
//!
//! A task is completed only once assigned (someone did it). Completed and
//! cancelled are final: nothing reopens them, and the plan never recreates a
//! task whose key one of them holds. A care plan is complete when every task
//! is completed or cancelled. Dates never go backwards: a transition dated
//! before the task was created or assigned is refused.

use crate::rationale::Rationale;
use crate::rules::Priority;
use limbpath_clinical::InvalidInput;
use limbpath_record::{Date, Discipline, Id, Validate, check_id, check_text};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What identifies a task across re-runs of the plan: the rule, the episode
/// and, for wound-scoped rules, the wound.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskKey {
    pub rule_id: String,
    pub episode_id: Id,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wound_id: Option<Id>,
}

/// Where a task is in its lifecycle, with who and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskStatus {
    Open,
    Assigned {
        assignee: String,
        assigned_on: Date,
    },
    Completed {
        assignee: String,
        assigned_on: Date,
        completed_on: Date,
    },
    Cancelled {
        cancelled_on: Date,
        reason: String,
        /// Who held it when it was cancelled, if anyone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assignee: Option<String>,
    },
}

/// The lifecycle state without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Open,
    Assigned,
    Completed,
    Cancelled,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Open => "open",
            TaskState::Assigned => "assigned",
            TaskState::Completed => "completed",
            TaskState::Cancelled => "cancelled",
        })
    }
}

impl TaskStatus {
    pub fn state(&self) -> TaskState {
        match self {
            TaskStatus::Open => TaskState::Open,
            TaskStatus::Assigned { .. } => TaskState::Assigned,
            TaskStatus::Completed { .. } => TaskState::Completed,
            TaskStatus::Cancelled { .. } => TaskState::Cancelled,
        }
    }

    /// Completed or cancelled.
    pub fn is_finished(&self) -> bool {
        matches!(self.state(), TaskState::Completed | TaskState::Cancelled)
    }
}

/// A transition a caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Assign,
    Complete,
    Cancel,
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transition::Assign => "assigned",
            Transition::Complete => "completed",
            Transition::Cancel => "cancelled",
        })
    }
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum TaskError {
    /// The task's state does not allow it.
    #[error("a task that is {from} cannot be {attempted}; accepted: {accepted}")]
    IllegalTransition { from: TaskState, attempted: Transition, accepted: &'static str },
    /// A value given with the transition is not acceptable (a blank reason, a
    /// date before the task was created or assigned).
    #[error("{0}")]
    InvalidInput(InvalidInput),
}

impl From<InvalidInput> for TaskError {
    fn from(e: InvalidInput) -> Self {
        TaskError::InvalidInput(e)
    }
}

/// A care task as stored: what the plan created and where it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CareTaskData {
    pub key: TaskKey,
    pub title: String,
    pub discipline: Discipline,
    pub priority: Priority,
    pub created_on: Date,
    pub due_on: Date,
    pub ruleset_id: String,
    pub ruleset_version: String,
    /// Inputs used, the rule in words, the settings used, the source and flags.
    pub rationale: Rationale,
    pub status: TaskStatus,
}

fn not_before(field: &str, on: Date, earliest: Date, what: &str) -> Result<(), InvalidInput> {
    if on < earliest {
        return Err(InvalidInput::inconsistent(field, on, format!("a date on or after {what} ({earliest})")));
    }
    Ok(())
}

const ASSIGN_ACCEPTED: &str = "assign an open or assigned task";
const COMPLETE_ACCEPTED: &str = "complete an assigned task (assign it first)";
const CANCEL_ACCEPTED: &str = "cancel an open or assigned task";

impl CareTaskData {
    /// Assign (or reassign) the task to someone.
    pub fn assign(&self, assignee: &str, on: Date) -> Result<CareTaskData, TaskError> {
        let earliest = match &self.status {
            TaskStatus::Open => self.created_on,
            TaskStatus::Assigned { assigned_on, .. } => *assigned_on,
            s => return Err(illegal(s, Transition::Assign, ASSIGN_ACCEPTED)),
        };
        check_text("assignee", assignee, 256, true)?;
        not_before("assigned_on", on, earliest, "the task's creation or last assignment")?;
        Ok(CareTaskData {
            status: TaskStatus::Assigned { assignee: assignee.trim().to_owned(), assigned_on: on },
            ..self.clone()
        })
    }

    /// Mark an assigned task done.
    pub fn complete(&self, on: Date) -> Result<CareTaskData, TaskError> {
        let TaskStatus::Assigned { assignee, assigned_on } = &self.status else {
            return Err(illegal(&self.status, Transition::Complete, COMPLETE_ACCEPTED));
        };
        not_before("completed_on", on, *assigned_on, "the assignment")?;
        Ok(CareTaskData {
            status: TaskStatus::Completed { assignee: assignee.clone(), assigned_on: *assigned_on, completed_on: on },
            ..self.clone()
        })
    }

    /// Cancel an open or assigned task, saying why.
    pub fn cancel(&self, reason: &str, on: Date) -> Result<CareTaskData, TaskError> {
        let (earliest, assignee) = match &self.status {
            TaskStatus::Open => (self.created_on, None),
            TaskStatus::Assigned { assignee, assigned_on } => (*assigned_on, Some(assignee.clone())),
            s => return Err(illegal(s, Transition::Cancel, CANCEL_ACCEPTED)),
        };
        check_text("reason", reason, 2000, true)?;
        not_before("cancelled_on", on, earliest, "the task's creation or assignment")?;
        Ok(CareTaskData {
            status: TaskStatus::Cancelled { cancelled_on: on, reason: reason.trim().to_owned(), assignee },
            ..self.clone()
        })
    }
}

fn illegal(from: &TaskStatus, attempted: Transition, accepted: &'static str) -> TaskError {
    TaskError::IllegalTransition { from: from.state(), attempted, accepted }
}

impl Validate for CareTaskData {
    fn validate(&self) -> Result<(), InvalidInput> {
        crate::check_code("key.rule_id", &self.key.rule_id)?;
        check_id("key.episode_id", &self.key.episode_id)?;
        if let Some(w) = &self.key.wound_id {
            check_id("key.wound_id", w)?;
        }
        check_text("title", &self.title, 500, true)?;
        check_text("ruleset_id", &self.ruleset_id, 128, true)?;
        check_text("ruleset_version", &self.ruleset_version, 64, true)?;
        not_before("due_on", self.due_on, self.created_on, "created_on")?;
        match &self.status {
            TaskStatus::Open => Ok(()),
            TaskStatus::Assigned { assignee, assigned_on } => {
                check_text("status.assignee", assignee, 256, true)?;
                not_before("status.assigned_on", *assigned_on, self.created_on, "created_on")
            }
            TaskStatus::Completed { assignee, assigned_on, completed_on } => {
                check_text("status.assignee", assignee, 256, true)?;
                not_before("status.assigned_on", *assigned_on, self.created_on, "created_on")?;
                not_before("status.completed_on", *completed_on, *assigned_on, "status.assigned_on")
            }
            TaskStatus::Cancelled { cancelled_on, reason, assignee } => {
                check_text("status.reason", reason, 2000, true)?;
                if let Some(a) = assignee {
                    check_text("status.assignee", a, 256, true)?;
                }
                not_before("status.cancelled_on", *cancelled_on, self.created_on, "created_on")
            }
        }
    }
}

/// How far a care plan is: counts per state, and whether it is complete
/// (every task completed or cancelled; a plan with no tasks is complete).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlanProgress {
    pub total: usize,
    pub open: usize,
    pub assigned: usize,
    pub completed: usize,
    pub cancelled: usize,
    pub complete: bool,
}

/// Count a care plan's tasks by state.
pub fn plan_progress<'a>(tasks: impl IntoIterator<Item = &'a CareTaskData>) -> PlanProgress {
    let mut p = PlanProgress { total: 0, open: 0, assigned: 0, completed: 0, cancelled: 0, complete: true };
    for t in tasks {
        p.total += 1;
        match t.status.state() {
            TaskState::Open => p.open += 1,
            TaskState::Assigned => p.assigned += 1,
            TaskState::Completed => p.completed += 1,
            TaskState::Cancelled => p.cancelled += 1,
        }
    }
    p.complete = p.open + p.assigned == 0;
    p
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rationale::{RuleSource, SourceStatus};
    use time::macros::date;

    pub(crate) fn open_task(rule_id: &str) -> CareTaskData {
        CareTaskData {
            key: TaskKey {
                rule_id: rule_id.into(),
                episode_id: "0192f0c5-3b1e-7c2a-9f00-00000000e001".into(),
                wound_id: None,
            },
            title: "Do something".into(),
            discipline: Discipline::CareCoordination,
            priority: Priority::Routine,
            created_on: date!(2026 - 03 - 01),
            due_on: date!(2026 - 03 - 15),
            ruleset_id: "limbpath.care_plan".into(),
            ruleset_version: "1".into(),
            rationale: Rationale::new(
                "rule",
                RuleSource {
                    citation: "c".into(),
                    reference: "r".into(),
                    status: SourceStatus::ProgrammePolicy,
                    note: String::new(),
                    criteria_sources: vec![],
                },
            ),
            status: TaskStatus::Open,
        }
    }

    #[test]
    fn open_assigned_completed_is_the_happy_path() {
        let t = open_task("x");
        t.validate().unwrap();
        let a = t.assign("  Nurse Ada  ", date!(2026 - 03 - 02)).unwrap();
        assert_eq!(a.status, TaskStatus::Assigned { assignee: "Nurse Ada".into(), assigned_on: date!(2026 - 03 - 02) });
        let r = a.assign("Dr Lee", date!(2026 - 03 - 03)).unwrap();
        let c = r.complete(date!(2026 - 03 - 04)).unwrap();
        assert_eq!(c.status.state(), TaskState::Completed);
        c.validate().unwrap();
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["status"]["state"], "completed");
        assert_eq!(serde_json::from_value::<CareTaskData>(json).unwrap(), c);
    }

    #[test]
    fn illegal_transitions_are_typed_errors() {
        let t = open_task("x");
        let e = t.complete(date!(2026 - 03 - 02)).unwrap_err();
        assert_eq!(
            e,
            TaskError::IllegalTransition {
                from: TaskState::Open,
                attempted: Transition::Complete,
                accepted: COMPLETE_ACCEPTED
            }
        );
        assert_eq!(
            e.to_string(),
            "a task that is open cannot be completed; accepted: complete an assigned task (assign it first)"
        );
        let done = t.assign("A", date!(2026 - 03 - 02)).unwrap().complete(date!(2026 - 03 - 02)).unwrap();
        let cancelled = t.cancel("duplicate referral", date!(2026 - 03 - 02)).unwrap();
        for finished in [&done, &cancelled] {
            for result in [
                finished.assign("B", date!(2026 - 03 - 05)),
                finished.complete(date!(2026 - 03 - 05)),
                finished.cancel("why", date!(2026 - 03 - 05)),
            ] {
                assert!(matches!(result, Err(TaskError::IllegalTransition { .. })), "{result:?}");
            }
        }
    }

    #[test]
    fn cancelling_needs_a_reason_and_dates_never_go_backwards() {
        let t = open_task("x");
        let e = t.cancel("   ", date!(2026 - 03 - 02)).unwrap_err();
        assert!(matches!(&e, TaskError::InvalidInput(i) if i.field == "reason"), "{e:?}");
        let e = t.assign("A", date!(2026 - 02 - 28)).unwrap_err();
        assert!(matches!(&e, TaskError::InvalidInput(i) if i.field == "assigned_on"), "{e:?}");
        let a = t.assign("A", date!(2026 - 03 - 05)).unwrap();
        let e = a.complete(date!(2026 - 03 - 04)).unwrap_err();
        assert!(matches!(&e, TaskError::InvalidInput(i) if i.field == "completed_on"), "{e:?}");
        let c = a.cancel("patient declined", date!(2026 - 03 - 06)).unwrap();
        assert_eq!(
            c.status,
            TaskStatus::Cancelled {
                cancelled_on: date!(2026 - 03 - 06),
                reason: "patient declined".into(),
                assignee: Some("A".into())
            }
        );
        let e = t.assign("", date!(2026 - 03 - 02)).unwrap_err();
        assert!(matches!(&e, TaskError::InvalidInput(i) if i.field == "assignee"), "{e:?}");
    }

    #[test]
    fn a_plan_is_complete_when_every_task_is_completed_or_cancelled() {
        let t = open_task("x");
        let assigned = t.assign("A", date!(2026 - 03 - 02)).unwrap();
        let done = assigned.complete(date!(2026 - 03 - 03)).unwrap();
        let cancelled = t.cancel("not indicated", date!(2026 - 03 - 02)).unwrap();
        let p = plan_progress([&t, &assigned, &done, &cancelled]);
        assert_eq!((p.total, p.open, p.assigned, p.completed, p.cancelled, p.complete), (4, 1, 1, 1, 1, false));
        assert!(!plan_progress([&done, &assigned]).complete);
        assert!(plan_progress([&done, &cancelled]).complete);
        assert!(plan_progress([]).complete);
    }

    #[test]
    fn stored_tasks_with_impossible_values_name_the_field() {
        let mut t = open_task("x");
        t.due_on = date!(2026 - 02 - 01);
        assert_eq!(t.validate().unwrap_err().field, "due_on");
        let mut t = open_task("x");
        t.status = TaskStatus::Cancelled { cancelled_on: date!(2026 - 03 - 02), reason: "".into(), assignee: None };
        assert_eq!(t.validate().unwrap_err().field, "status.reason");
        let mut t = open_task("x");
        t.key.episode_id = "nope".into();
        assert_eq!(t.validate().unwrap_err().field, "key.episode_id");
    }
}
