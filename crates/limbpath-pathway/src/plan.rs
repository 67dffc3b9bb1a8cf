//! The care plan of one episode: run the rule set over an episode snapshot and
//! return the difference to make — tasks to create, and the existing tasks
//! that already cover a rule that fired.
//!
//! Re-running is safe: a task is keyed by rule id + episode (+ wound for
//! wound-scoped rules). If a task with that key exists in any state — open,
//! assigned, completed or cancelled — the rule is reported as covered by it
//! and nothing is created, so a new assessment never duplicates an open task
//! and never reopens a finished one. The key does not include the rule-set
//! version: a new version of a rule does not re-create its task. (A problem
//! that recurs after its task was finished needs a new task made by hand, or a
//! new episode.)
//!
//! The plan also returns advice ("do not revascularise", never a task), the
//! rules it could not decide for want of an input (naming the input), and
//! every wound's trajectory.

use crate::condition::{self, Context, Truth, WoundView};
use crate::picture::{Picture, picture_of_input};
use crate::rationale::Rationale;
use crate::risk::{SurgicalRiskEstimate, surgical_risk};
use crate::rules::{Action, Due, RuleSet, Scope};
use crate::settings::ProgrammeSettings;
use crate::task::{CareTaskData, TaskKey, TaskState, TaskStatus};
use crate::trajectory::{WoundTrajectory, trajectory};
use crate::{add_days, check_today};
use limbpath_clinical::InvalidInput;
use limbpath_record::{
    AssessmentData, Date, Discipline, EpisodeData, EpisodeStatus, Id, PatientData, ProcedureData, Stored, Validate,
    WoundData, WoundMeasurementData, check_id,
};
use serde::Serialize;

/// Everything the rules read about one episode, as the server loads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeSnapshot {
    /// The patient's risk factors (HbA1c, smoking, diabetes) and demographics.
    pub patient: PatientData,
    pub episode: Stored<EpisodeData>,
    /// The latest assessment: its findings are re-derived with the engine.
    pub latest_assessment: Option<Stored<AssessmentData>>,
    /// The clinician's surgical-risk estimate (GVG 6.4/6.5), if made.
    pub surgical_risk: Option<SurgicalRiskEstimate>,
    pub wounds: Vec<Stored<WoundData>>,
    /// Measurements of the episode's wounds, in any order.
    pub wound_measurements: Vec<Stored<WoundMeasurementData>>,
    pub procedures: Vec<Stored<ProcedureData>>,
    /// The episode's existing care tasks, in every state.
    pub tasks: Vec<Stored<CareTaskData>>,
}

/// The assessment the plan read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssessmentUsed {
    pub id: Id,
    pub assessed_on: Date,
}

/// An existing task that already covers a rule that fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoveredTask {
    pub task_id: Id,
    pub key: TaskKey,
    pub state: TaskState,
    /// Why the rule fired this time.
    pub rationale: Rationale,
}

/// Advice against an action (GVG 6.9, 6.10): shown with the plan, never a task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advice {
    pub rule_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wound_id: Option<Id>,
    pub discipline: Discipline,
    pub advice: String,
    pub rationale: Rationale,
}

/// A rule that could not be decided: no test failed, and one needs an input
/// the snapshot does not have.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Undetermined {
    pub rule_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wound_id: Option<Id>,
    pub title: String,
    /// What is missing, in words.
    pub missing: Vec<String>,
    pub rationale: Rationale,
}

/// What to change in the episode's care plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanDiff {
    pub episode_id: Id,
    pub evaluated_on: Date,
    pub ruleset_id: String,
    pub ruleset_version: String,
    pub engine_version: String,
    pub assessment: Option<AssessmentUsed>,
    /// Tasks to create (status open), most urgent first.
    pub create: Vec<CareTaskData>,
    /// Rules that fired and already have their task.
    pub covered: Vec<CoveredTask>,
    pub advice: Vec<Advice>,
    pub undetermined: Vec<Undetermined>,
    pub wounds: Vec<WoundTrajectory>,
}

/// Run `ruleset` over `snapshot` on `today`. Errors name the field in the
/// rule set (`ruleset.…`), the settings (`settings.…`) or the snapshot.
pub fn plan(
    ruleset: &RuleSet,
    settings: &ProgrammeSettings,
    snapshot: &EpisodeSnapshot,
    today: Date,
) -> Result<PlanDiff, InvalidInput> {
    settings.validate()?;
    ruleset.validate(settings)?;
    plan_valid(ruleset, settings, snapshot, today)
}

/// A rule set with the programme settings it runs under, validated once: what
/// a server keeps to plan episode after episode without checking the rules
/// again each time ([`plan`] checks them on every call).
#[derive(Debug, Clone, PartialEq)]
pub struct CareRules {
    ruleset: RuleSet,
    settings: ProgrammeSettings,
}

impl CareRules {
    /// The pair, if the settings and the rule set (against those settings) are valid.
    pub fn new(ruleset: RuleSet, settings: ProgrammeSettings) -> Result<CareRules, InvalidInput> {
        settings.validate()?;
        ruleset.validate(&settings)?;
        Ok(CareRules { ruleset, settings })
    }

    pub fn ruleset(&self) -> &RuleSet {
        &self.ruleset
    }

    pub fn settings(&self) -> &ProgrammeSettings {
        &self.settings
    }

    /// [`plan`] with these rules, which are known to be valid.
    pub fn plan(&self, snapshot: &EpisodeSnapshot, today: Date) -> Result<PlanDiff, InvalidInput> {
        plan_valid(&self.ruleset, &self.settings, snapshot, today)
    }
}

/// [`plan`] after the rule set and settings were validated.
fn plan_valid(
    ruleset: &RuleSet,
    settings: &ProgrammeSettings,
    snapshot: &EpisodeSnapshot,
    today: Date,
) -> Result<PlanDiff, InvalidInput> {
    check_today(today)?;
    check_snapshot(snapshot)?;
    let episode_id = &snapshot.episode.id;

    let (pic, assessment) = match &snapshot.latest_assessment {
        Some(a) => (
            picture_of_input(
                &a.data.findings.input().map_err(|e| e.within("latest_assessment"))?,
                "latest_assessment.findings",
                "latest_assessment.derived.result",
            )?,
            Some(AssessmentUsed { id: a.id.clone(), assessed_on: a.data.assessed_on }),
        ),
        None => (Picture::default(), None),
    };
    let risk = snapshot.surgical_risk.as_ref().map(|e| surgical_risk(e, "surgical_risk")).transpose()?;
    let wounds: Vec<WoundView> = snapshot
        .wounds
        .iter()
        .enumerate()
        .map(|(index, w)| {
            let ms = snapshot.wound_measurements.iter().filter(|m| m.data.wound_id == w.id).map(|m| &m.data).collect();
            WoundView {
                id: w.id.clone(),
                index,
                open: w.data.healed_on.is_none_or(|h| h > today),
                healed_on: w.data.healed_on,
                trajectory: trajectory(&w.id, &w.data, ms, settings, today),
            }
        })
        .collect();
    let cx = Context {
        picture: &pic,
        assessment: assessment.as_ref().map(|a| (a.id.as_str(), a.assessed_on)),
        patient: &snapshot.patient,
        settings,
        risk: risk.as_ref(),
        wounds: &wounds,
        procedures: &snapshot.procedures,
        today,
    };

    let mut diff = PlanDiff {
        episode_id: episode_id.clone(),
        evaluated_on: today,
        ruleset_id: ruleset.id.clone(),
        ruleset_version: ruleset.version.clone(),
        engine_version: limbpath_clinical::ENGINE_VERSION.to_owned(),
        assessment: assessment.clone(),
        create: Vec::new(),
        covered: Vec::new(),
        advice: Vec::new(),
        undetermined: Vec::new(),
        wounds: Vec::new(),
    };
    for rule in &ruleset.rules {
        let mut instances: Vec<Option<&WoundView>> = match rule.scope {
            Scope::Episode => vec![None],
            Scope::EachOpenWound => wounds.iter().filter(|w| w.open).map(Some).collect(),
        };
        // A wound the assessment grades (W ≥1) but nobody recorded: a wound rule
        // can then only be undetermined, never fire.
        let unrecorded = match (&pic.wound, rule.scope, instances.is_empty()) {
            (Some(w), Scope::EachOpenWound, true) if w.value >= 1 => {
                instances.push(None);
                Some(format!(
                    "an open wound recorded with its measurements (the latest assessment grades W{} but no open \
                     wound is recorded)",
                    w.value
                ))
            }
            _ => None,
        };
        for wound in instances {
            let mut r = Rationale::new(&rule.condition, rule.source.clone());
            for f in &rule.flags {
                r.flag(f.clone());
            }
            let mut missing = Vec::new();
            let wound_id = wound.map(|w| w.id.clone());
            let truth = match (condition::evaluate(&rule.when, &cx, wound, &mut r, &mut missing), &unrecorded) {
                (Truth::No, _) => Truth::No,
                (_, Some(what)) => {
                    missing.insert(0, what.clone());
                    Truth::Unknown
                }
                (t, None) => t,
            };
            match truth {
                Truth::No => {}
                Truth::Unknown => diff.undetermined.push(Undetermined {
                    rule_id: rule.id.clone(),
                    wound_id,
                    title: rule.title.clone(),
                    missing,
                    rationale: r,
                }),
                Truth::Yes => match rule.action {
                    Action::AdviseAgainst => diff.advice.push(Advice {
                        rule_id: rule.id.clone(),
                        wound_id,
                        discipline: rule.discipline,
                        advice: rule.title.clone(),
                        rationale: r,
                    }),
                    Action::Task { priority, due } => {
                        let key = TaskKey { rule_id: rule.id.clone(), episode_id: episode_id.clone(), wound_id };
                        if let Some(existing) = snapshot.tasks.iter().find(|t| t.data.key == key) {
                            diff.covered.push(CoveredTask {
                                task_id: existing.id.clone(),
                                key,
                                state: existing.data.status.state(),
                                rationale: r,
                            });
                            continue;
                        }
                        let days = match due {
                            Due::SameDay => {
                                r.because.push("due the same day (the rule's timing)".to_owned());
                                0
                            }
                            Due::Within(t) => {
                                let (days, used) = settings.timing(t);
                                r.because.push(format!(
                                    "due within {days} days ({}: {})",
                                    used.name,
                                    crate::settings::PROGRAMME_SETTING_NOTE
                                ));
                                r.setting(used);
                                days
                            }
                        };
                        let due_on = add_days(today, i64::from(days)).ok_or_else(|| {
                            InvalidInput::out_of_range("today", today, "a date a due offset can follow")
                        })?;
                        diff.create.push(CareTaskData {
                            key,
                            title: rule.title.clone(),
                            discipline: rule.discipline,
                            priority,
                            created_on: today,
                            due_on,
                            ruleset_id: ruleset.id.clone(),
                            ruleset_version: ruleset.version.clone(),
                            rationale: r,
                            status: TaskStatus::Open,
                        });
                    }
                },
            }
        }
    }
    diff.create.sort_by_key(|t| (t.priority, t.due_on)); // stable: rule order within
    diff.wounds = wounds.into_iter().map(|w| w.trajectory).collect();
    Ok(diff)
}

fn same_episode(field: String, given: &str, episode_id: &str) -> Result<(), InvalidInput> {
    if given != episode_id {
        return Err(InvalidInput::inconsistent(field, given, format!("the snapshot's episode ({episode_id})")));
    }
    Ok(())
}

/// Whether an episode in `status` takes new care tasks: a closed one does not,
/// and [`plan`] refuses it (the error names `episode.status`). A caller that
/// knows only the status may check it before reading the rest of the episode.
pub fn check_takes_tasks(status: EpisodeStatus) -> Result<(), InvalidInput> {
    if status == EpisodeStatus::Closed {
        return Err(InvalidInput::inconsistent(
            "episode.status",
            "closed",
            "an episode that is not closed: a closed episode gets no new care tasks",
        ));
    }
    Ok(())
}

fn check_snapshot(s: &EpisodeSnapshot) -> Result<(), InvalidInput> {
    s.patient.validate().map_err(|e| e.within("patient"))?;
    let episode_id = &s.episode.id;
    check_id("episode.id", episode_id)?;
    s.episode.data.validate().map_err(|e| e.within("episode"))?;
    check_takes_tasks(s.episode.data.status)?;
    if let Some(a) = &s.latest_assessment {
        check_id("latest_assessment.id", &a.id)?;
        same_episode("latest_assessment.episode_id".into(), &a.data.episode_id, episode_id)?;
    }
    let mut wound_ids: Vec<&str> = Vec::with_capacity(s.wounds.len());
    for (i, w) in s.wounds.iter().enumerate() {
        check_id(&format!("wounds[{i}].id"), &w.id)?;
        w.data.validate().map_err(|e| e.within(&format!("wounds[{i}]")))?;
        same_episode(format!("wounds[{i}].episode_id"), &w.data.episode_id, episode_id)?;
        if wound_ids.contains(&w.id.as_str()) {
            return Err(InvalidInput::inconsistent(format!("wounds[{i}].id"), &w.id, "each wound once"));
        }
        wound_ids.push(&w.id);
    }
    for (i, m) in s.wound_measurements.iter().enumerate() {
        m.data.validate().map_err(|e| e.within(&format!("wound_measurements[{i}]")))?;
        if !wound_ids.contains(&m.data.wound_id.as_str()) {
            return Err(InvalidInput::inconsistent(
                format!("wound_measurements[{i}].wound_id"),
                &m.data.wound_id,
                "a wound listed in the snapshot's wounds",
            ));
        }
    }
    for (i, p) in s.procedures.iter().enumerate() {
        p.data.validate().map_err(|e| e.within(&format!("procedures[{i}]")))?;
        same_episode(format!("procedures[{i}].episode_id"), &p.data.episode_id, episode_id)?;
    }
    for (i, t) in s.tasks.iter().enumerate() {
        check_id(&format!("tasks[{i}].id"), &t.id)?;
        t.data.validate().map_err(|e| e.within(&format!("tasks[{i}]")))?;
        same_episode(format!("tasks[{i}].key.episode_id"), &t.data.key.episode_id, episode_id)?;
    }
    Ok(())
}
