//! # limbpath-pathway
//!
//! Coordinated care for a limb salvage programme, as pure rules over the
//! record: what the team should do next for an episode, and whether it is
//! being done.
//!
//! What it owns:
//! - [`rules`]: care-plan rules as versioned data ([`RuleSet`]), the shipped
//!   rule set, and [`plan()`]: an episode snapshot + `today` → a [`PlanDiff`]
//!   (tasks to create, tasks that already cover a rule, advice, rules that
//!   need an input, wound trajectories). Re-running never duplicates a task
//!   nor reopens a finished one.
//! - [`task`]: care tasks and their lifecycle (open → assigned → completed,
//!   or cancelled with a reason) as pure functions with typed errors.
//! - [`trajectory`]: wound area-reduction checkpoints (GVG 6.9's ≥50 % by
//!   week 4; programme checkpoints such as ≥90 % by week 8).
//! - [`follow_up`]: follow-up schedule templates (versioned data) → dated
//!   follow-up items, which are overdue or missed, and the coordinator task
//!   a missed visit becomes ([`missed_follow_up_tasks`]).
//! - [`referral`]: second-opinion triage and the review-decision vocabulary.
//! - [`risk`]: GVG 6.4/6.5 surgical risk.
//! - [`settings`]: every number the reference pack does not give, as a
//!   labelled programme setting with a shipped default.
//!
//! Invariants:
//! - **Pure.** No I/O, no clock, no randomness: `today` is an argument.
//! - **Clinical numbers come from `shared/clinical/REFERENCES.md`** with a
//!   `// source:` comment; what the pack does not give is a programme setting
//!   ([`ProgrammeSettings`]) or programme policy, labelled as such in every
//!   result (`PROGRAMME_SETTING`, `SHIPPED_DEFAULT`, `PROGRAMME_POLICY` flags),
//!   never presented as a clinical fact.
//! - **Every result explains itself** ([`Rationale`]): the rule in words, the
//!   inputs it read, each test as evaluated, the settings used, the source and
//!   the flags.
//! - **Invalid input is a typed error naming the field** (dotted path), never
//!   a default; nothing panics on any input.
//! - Decision support: tasks and advice are suggestions for the team.

pub mod condition;
pub mod follow_up;
mod picture;
pub mod plan;
pub mod rationale;
pub mod referral;
pub mod risk;
pub mod rules;
pub mod settings;
pub mod task;
pub mod trajectory;

pub use condition::Predicate;
pub use follow_up::{
    CompletedVisit, EDITED_BY_THE_PROGRAMME, FollowUpItem, FollowUpKey, FollowUpState, FollowUpStatus,
    FollowUpTemplate, MISSED_FOLLOW_UP_RULE, ProgrammeEdit, follow_up_status, missed_follow_up_rule_id,
    missed_follow_up_tasks, programme_template, schedule, shipped_template, shipped_templates,
};
pub use plan::{Advice, CareRules, CoveredTask, EpisodeSnapshot, PlanDiff, Undetermined, plan};
pub use rationale::{Flag, FlagKind, Rationale, RuleSource, SourceStatus};
pub use referral::{ReferralFindings, ReviewDecision, ReviewDecisionData, Triage, triage_referral};
pub use risk::{SurgicalRisk, SurgicalRiskEstimate, surgical_risk};
pub use rules::{Action, Due, Priority, Rule, RuleSet, Scope, shipped_rule_set};
pub use settings::{ProgrammeSettings, Setting, SettingOrigin};
pub use task::{CareTaskData, PlanProgress, TaskError, TaskKey, TaskState, TaskStatus, plan_progress};
pub use trajectory::{CheckpointResult, CheckpointStatus, WoundTrajectory, wound_trajectory};

use limbpath_clinical::InvalidInput;
use limbpath_record::Date;

/// `date` plus `days` (negative: minus); `None` past the calendar's range.
pub(crate) fn add_days(date: Date, days: i64) -> Option<Date> {
    let jd = i64::from(date.to_julian_day()).checked_add(days)?;
    Date::from_julian_day(i32::try_from(jd).ok()?).ok()
}

/// Days from `from` to `to` (negative when `to` is earlier).
pub(crate) fn days_between(from: Date, to: Date) -> i64 {
    i64::from(to.to_julian_day()) - i64::from(from.to_julian_day())
}

/// Dates must lie in 1900–2200, as in the record (a plausibility bound, not clinical).
pub(crate) fn check_date(field: &str, d: Date) -> Result<(), InvalidInput> {
    if !(1900..=2200).contains(&d.year()) {
        return Err(InvalidInput::out_of_range(field, d, "a date from 1900-01-01 to 2200-12-31"));
    }
    Ok(())
}

pub(crate) fn check_today(today: Date) -> Result<(), InvalidInput> {
    check_date("today", today)
}

/// An id chosen by a programme (rule, checkpoint, template, item): 1–64 of
/// `a-z 0-9 . _ -`, so it is stable in URLs, JSON and task keys.
pub(crate) fn check_code(field: &str, code: &str) -> Result<(), InvalidInput> {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if ok { Ok(()) } else { Err(InvalidInput::unrecognised(field, code, "1-64 characters of a-z, 0-9, '.', '_', '-'")) }
}

/// A test case's edit of a valid value, paired with the field its error must name.
#[cfg(test)]
pub(crate) type Edit<T> = Box<dyn Fn(&mut T)>;

#[cfg(test)]
mod tests;
