//! Care-plan rules as versioned data: a [`RuleSet`] the programme can edit and
//! the server stores as JSON, and the rule set LimbPath ships
//! ([`shipped_rule_set`]).
//!
//! Each rule says what fires it (tests, [`Predicate`]) and in words, who acts
//! (a [`Discipline`]), how urgently ([`Priority`], [`Due`]) and on what
//! authority ([`RuleSource`]). Where the reference pack recommends the action
//! itself (GVG 6.9–6.11) the source is the guideline; where the programme
//! decided the action or its timing (an infectious-disease review the same
//! day, imaging within days, endocrinology, smoking cessation, the wound
//! re-evaluation task) the source says `PROGRAMME_POLICY`, names the
//! reference for the classification the test reads, and the rule carries a
//! `PROGRAMME_POLICY` flag. Numbers the pack does not give are never in a
//! rule: a rule points at a programme setting (`Due::Within`,
//! `hba1c_above_target`).
//!
//! "Do not" recommendations (GVG 6.9, 6.10) are [`Action::AdviseAgainst`]:
//! advice shown with the plan, never a task and never a block.

use crate::condition::{self, Predicate};
use crate::rationale::{Flag, FlagKind, RuleSource, SourceStatus};
use crate::risk::SurgicalRisk;
use crate::settings::{PROGRAMME_CHECKPOINT_WEEK_8, ProgrammeSettings, Timing};
use crate::trajectory::{CheckpointStatus, GVG_6_9_CHECKPOINT_ID};
use limbpath_clinical::InvalidInput;
use limbpath_record::{Discipline, SmokingStatus, check_text};
use serde::{Deserialize, Serialize};

/// A versioned set of care-plan rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Stable id, e.g. `limbpath.care_plan`.
    pub id: String,
    /// Changes whenever a rule changes; stored on every task the set creates.
    pub version: String,
    pub rules: Vec<Rule>,
}

/// One care-plan rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id; tasks are keyed by it (with the episode and wound).
    pub id: String,
    /// The task or advice as shown to the team.
    pub title: String,
    /// The condition in words.
    pub condition: String,
    pub scope: Scope,
    /// The tests; the rule fires when all hold.
    pub when: Vec<Predicate>,
    pub discipline: Discipline,
    pub action: Action,
    pub source: RuleSource,
    /// Flags every result of this rule carries.
    #[serde(default)]
    pub flags: Vec<Flag>,
}

/// What a rule is evaluated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Once per episode.
    Episode,
    /// Once per wound open today; the task key includes the wound.
    EachOpenWound,
}

/// How urgent a task (or a referral) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Emergency,
    Urgent,
    Routine,
}

impl Priority {
    pub fn label(self) -> &'static str {
        match self {
            Priority::Emergency => "emergency",
            Priority::Urgent => "urgent",
            Priority::Routine => "routine",
        }
    }
}

/// When a task is due, counted from the day the plan creates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Due {
    /// The same day.
    SameDay,
    /// Within the days of a programme setting.
    Within(Timing),
}

/// What a rule does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Create a task.
    Task { priority: Priority, due: Due },
    /// Advise against something ("do not revascularise"): shown with the plan,
    /// never a task and never a block.
    AdviseAgainst,
}

impl RuleSet {
    /// Check the rule set against the settings it will run with, naming the
    /// field (`ruleset.rules[3].when[0].grade`).
    pub fn validate(&self, settings: &ProgrammeSettings) -> Result<(), InvalidInput> {
        check_text("ruleset.id", &self.id, 128, true)?;
        check_text("ruleset.version", &self.version, 64, true)?;
        let checkpoint_ids: Vec<String> = crate::trajectory::checkpoints(settings).into_iter().map(|c| c.id).collect();
        let mut seen: Vec<&str> = Vec::with_capacity(self.rules.len());
        for (i, rule) in self.rules.iter().enumerate() {
            let at = format!("ruleset.rules[{i}]");
            crate::check_code(&format!("{at}.id"), &rule.id)?;
            if seen.contains(&rule.id.as_str()) {
                return Err(InvalidInput::inconsistent(format!("{at}.id"), &rule.id, "a rule id used once"));
            }
            seen.push(&rule.id);
            check_text(&format!("{at}.title"), &rule.title, 500, true)?;
            check_text(&format!("{at}.condition"), &rule.condition, 2000, true)?;
            condition::validate(
                &rule.when,
                &format!("{at}.when"),
                rule.scope == Scope::EachOpenWound,
                &checkpoint_ids,
            )?;
            if let Action::Task { priority: Priority::Emergency, due } = rule.action
                && due != Due::SameDay
            {
                return Err(InvalidInput::inconsistent(
                    format!("{at}.action.due"),
                    format!("{due:?}"),
                    "an emergency task is due the same day (same_day)",
                ));
            }
            check_text(&format!("{at}.source.citation"), &rule.source.citation, 1000, true)?;
            check_text(&format!("{at}.source.reference"), &rule.source.reference, 500, true)?;
            for (j, id) in rule.source.criteria_sources.iter().enumerate() {
                if limbpath_clinical::source(id).is_none() {
                    return Err(InvalidInput::unrecognised(
                        format!("{at}.source.criteria_sources[{j}]"),
                        id,
                        "an engine source id from `limbpath sources` (e.g. wifi.foot_infection)",
                    ));
                }
            }
            for (j, f) in rule.flags.iter().enumerate() {
                check_text(&format!("{at}.flags[{j}].message"), &f.message, 1000, true)?;
            }
        }
        Ok(())
    }

    /// A rule by id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

// ---------------------------------------------------------------------------
// The shipped rule set.
// ---------------------------------------------------------------------------

/// Id of the shipped rule set.
pub const SHIPPED_RULE_SET_ID: &str = "limbpath.care_plan";
/// Version of the shipped rule set.
pub const SHIPPED_RULE_SET_VERSION: &str = "1";

/// Rule ids of the shipped rule set.
pub mod rule_ids {
    pub const INFECTIOUS_DISEASE_REVIEW: &str = "fi2.infectious_disease_review";
    pub const EMERGENCY_ADMISSION: &str = "fi3_or_sirs.emergency_admission";
    pub const VASCULAR_IMAGING: &str = "i2_wound.vascular_imaging";
    pub const GVG_6_9_ADVICE: &str = "gvg_6_9.no_revascularisation_i0";
    pub const GVG_6_9_EXCEPTION: &str = "gvg_6_9.wound_not_improving_i0";
    pub const GVG_6_10_ADVICE: &str = "gvg_6_10.no_revascularisation_stage_1";
    pub const GVG_6_11_OFFER: &str = "gvg_6_11.offer_revascularisation";
    pub const ENDOCRINOLOGY: &str = "hba1c.endocrinology";
    pub const SMOKING_CESSATION: &str = "smoking.cessation_support";
    pub const WEEK_4_MISSED: &str = "wound_week_4.missed_reevaluate";
    pub const WEEK_4_UNMEASURED: &str = "wound_week_4.unmeasured";
    pub const WEEK_8_MISSED: &str = "wound_week_8.missed_reevaluate";
}

const POLICY_NOTE: &str = "LimbPath programme policy for issue 5 (coordinated care): the reference pack classifies \
                           the finding but does not prescribe this action or its timing";

fn programme_policy(action: &str, criterion: &str, criteria: &[&str]) -> RuleSource {
    RuleSource {
        citation: format!("LimbPath programme care-plan policy: {action}"),
        reference: format!("not in the reference pack; the criterion is from {criterion}"),
        status: SourceStatus::ProgrammePolicy,
        note: POLICY_NOTE.to_owned(),
        criteria_sources: criteria.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn gvg(rec: &str, words: &str, criteria: &[&str]) -> RuleSource {
    RuleSource {
        citation: format!(
            "Conte MS et al. Global Vascular Guidelines on CLTI, J Vasc Surg 2019;69(6S):3S-125S (PMC8365864), \
             recommendation {rec}: {words}"
        ),
        reference: "REFERENCES.md §2.3".to_owned(),
        status: SourceStatus::Verified,
        note: "paraphrase in the reference pack; quote the guideline itself in the product".to_owned(),
        criteria_sources: criteria.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn policy_flag() -> Flag {
    Flag::new(
        FlagKind::ProgrammePolicy,
        "the action and its timing are programme policy, not a recommendation of the reference pack",
    )
}

fn task(priority: Priority, due: Due) -> Action {
    Action::Task { priority, due }
}

/// The rule set LimbPath ships (`limbpath.care_plan` version 1). Every rule's
/// test names a test in `tests` of this crate with the same source.
pub fn shipped_rule_set() -> RuleSet {
    use Predicate::*;
    use rule_ids::*;
    const FI: &str = "wifi.foot_infection";
    const IWGDF: &str = "iwgdf_idsa.infection";
    const ISCH: &str = "wifi.ischaemia";
    const STAGE: &str = "wifi.stage_matrix";
    let not_missed = vec![
        CheckpointStatus::Met,
        CheckpointStatus::NotYetDue,
        CheckpointStatus::AwaitingMeasurement,
        CheckpointStatus::NoMeasurementInWindow,
    ];
    let reevaluate = "Re-evaluate perfusion, infection and offloading: the wound missed its area-reduction checkpoint";
    RuleSet {
        id: SHIPPED_RULE_SET_ID.to_owned(),
        version: SHIPPED_RULE_SET_VERSION.to_owned(),
        rules: vec![
            Rule {
                id: INFECTIOUS_DISEASE_REVIEW.to_owned(),
                title: "Infectious-disease review today: moderate or severe foot infection".to_owned(),
                condition: "WIfI foot infection grade fI2 or worse (IWGDF/IDSA 3–4)".to_owned(),
                scope: Scope::Episode,
                when: vec![FootInfectionGradeAtLeast { grade: 2 }],
                discipline: Discipline::InfectiousDisease,
                action: task(Priority::Urgent, Due::SameDay),
                source: programme_policy(
                    "fI ≥2 → infectious-disease review the same day",
                    "REFERENCES.md §1.3 (WIfI fI), §7.1 (IWGDF/IDSA)",
                    &[FI, IWGDF],
                ),
                flags: vec![policy_flag()],
            },
            Rule {
                id: EMERGENCY_ADMISSION.to_owned(),
                title: "Start the emergency admission pathway: severe foot infection or systemic inflammation"
                    .to_owned(),
                condition: "WIfI foot infection grade fI3, or ≥2 SIRS criteria".to_owned(),
                scope: Scope::Episode,
                when: vec![AnyOf { any_of: vec![FootInfectionGradeAtLeast { grade: 3 }, SystemicInflammation] }],
                discipline: Discipline::VascularSurgery,
                action: task(Priority::Emergency, Due::SameDay),
                source: programme_policy(
                    "fI3 or SIRS → emergency admission pathway",
                    "REFERENCES.md §1.3 (WIfI fI3, SIRS), §7.1 (IWGDF/IDSA grade 4)",
                    &[FI, IWGDF],
                ),
                flags: vec![policy_flag()],
            },
            Rule {
                id: VASCULAR_IMAGING.to_owned(),
                title: "Vascular imaging to plan revascularisation: significant ischaemia with a wound".to_owned(),
                condition: "WIfI ischaemia grade I2 or worse, with an open wound".to_owned(),
                scope: Scope::Episode,
                when: vec![IschaemiaGradeAtLeast { grade: 2 }, OpenWound],
                discipline: Discipline::VascularSurgery,
                action: task(Priority::Urgent, Due::Within(Timing::VascularImaging)),
                source: programme_policy(
                    "ischaemia I ≥2 with a wound → vascular imaging within days (a programme setting)",
                    "REFERENCES.md §1.2 (WIfI ischaemia)",
                    &[ISCH],
                ),
                flags: vec![policy_flag()],
            },
            Rule {
                id: GVG_6_9_ADVICE.to_owned(),
                title: "Do not revascularise for this wound: ischaemia grade I0 and the wound has not failed its \
                        4-week checkpoint (GVG 6.9)"
                    .to_owned(),
                condition: "WIfI ischaemia grade I0 with an open wound that has not missed the ≥50 % area \
                            reduction at 4 weeks"
                    .to_owned(),
                scope: Scope::EachOpenWound,
                when: vec![
                    IschaemiaGradeAtMost { grade: 0 },
                    WoundCheckpoint { checkpoint: GVG_6_9_CHECKPOINT_ID.to_owned(), status_in: not_missed },
                ],
                discipline: Discipline::VascularSurgery,
                action: Action::AdviseAgainst,
                source: gvg(
                    "6.9",
                    "do not revascularise patients with ischaemia grade I0, unless the wound fails to improve \
                     (≥50 % area reduction within 4 weeks) despite good care and infection control",
                    &[ISCH],
                ),
                flags: vec![],
            },
            Rule {
                id: GVG_6_9_EXCEPTION.to_owned(),
                title: "Vascular review: the wound failed ≥50 % area reduction at 4 weeks with ischaemia grade I0; \
                        revascularisation may be considered (GVG 6.9 exception)"
                    .to_owned(),
                condition: "WIfI ischaemia grade I0 and the wound missed the ≥50 % area reduction at 4 weeks"
                    .to_owned(),
                scope: Scope::EachOpenWound,
                when: vec![
                    IschaemiaGradeAtMost { grade: 0 },
                    WoundCheckpoint {
                        checkpoint: GVG_6_9_CHECKPOINT_ID.to_owned(),
                        status_in: vec![CheckpointStatus::Missed],
                    },
                ],
                discipline: Discipline::VascularSurgery,
                action: task(Priority::Urgent, Due::Within(Timing::Urgent)),
                source: gvg(
                    "6.9",
                    "do not revascularise patients with ischaemia grade I0, unless the wound fails to improve \
                     (≥50 % area reduction within 4 weeks) despite good care and infection control",
                    &[ISCH],
                ),
                flags: vec![Flag::new(
                    FlagKind::Review,
                    "GVG 6.9's exception needs the wound to fail despite good care and infection control: confirm \
                     both before revascularising",
                )],
            },
            Rule {
                id: GVG_6_10_ADVICE.to_owned(),
                title: "Revascularisation is not recommended for a WIfI clinical stage 1 limb, except in selected \
                        cases (GVG 6.10)"
                    .to_owned(),
                condition: "WIfI clinical stage 1".to_owned(),
                scope: Scope::Episode,
                when: vec![WifiStageIn { stages: vec![1] }],
                discipline: Discipline::VascularSurgery,
                action: Action::AdviseAgainst,
                source: RuleSource {
                    note: "the exception wording (\"except in selected cases\") is not recorded in the reference \
                           pack (REFERENCES.md §2.3, §14 item 9)"
                        .to_owned(),
                    ..gvg(
                        "6.10",
                        "do not revascularise WIfI clinical stage 1 limbs, except in selected cases",
                        &[STAGE],
                    )
                },
                flags: vec![Flag::new(
                    FlagKind::Unverified,
                    "GVG 6.10's exceptions are not recorded in the reference pack (REFERENCES.md §2.3 says to take \
                     the wording from the guideline; §14 item 9): no exception is encoded. Whether this limb is a \
                     selected case is the clinician's decision: advice only, never a block",
                )],
            },
            Rule {
                id: GVG_6_11_OFFER.to_owned(),
                title: "Offer revascularisation (GVG 6.11): average-risk patient, WIfI stage 4 with ischaemia I2–I3"
                    .to_owned(),
                condition: "Average surgical risk (GVG 6.4), WIfI clinical stage 4 and ischaemia grade I2 or I3, \
                            not yet revascularised in this episode"
                    .to_owned(),
                scope: Scope::Episode,
                when: vec![
                    WifiStageIn { stages: vec![4] },
                    IschaemiaGradeAtLeast { grade: 2 },
                    SurgicalRiskIs { risk: SurgicalRisk::Average },
                    NoRevascularisationInEpisode,
                ],
                discipline: Discipline::VascularSurgery,
                action: task(Priority::Urgent, Due::Within(Timing::Urgent)),
                source: gvg(
                    "6.11 (risk: 6.4/6.5)",
                    "offer revascularisation to average-risk patients with WIfI stage 4 and I2–I3",
                    &[STAGE, ISCH],
                ),
                flags: vec![Flag::new(
                    FlagKind::Review,
                    "the strategy (endovascular-first or bypass-first) is not suggested: the PLAN matrix is \
                     UNVERIFIED and not encoded (REFERENCES.md §2.3)",
                )],
            },
            Rule {
                id: ENDOCRINOLOGY.to_owned(),
                title: "Endocrinology referral for glycaemic control: HbA1c above the programme's target".to_owned(),
                condition: "HbA1c above the programme's target (a programme setting)".to_owned(),
                scope: Scope::Episode,
                when: vec![Hba1cAboveTarget],
                discipline: Discipline::Endocrinology,
                action: task(Priority::Routine, Due::Within(Timing::Routine)),
                source: RuleSource {
                    reference: "not in the reference pack (REFERENCES.md §12.2 asks for blood-glucose control before \
                                osseointegration, with no target)"
                        .to_owned(),
                    ..programme_policy("HbA1c above target → endocrinology", "the patient record", &[])
                },
                flags: vec![policy_flag()],
            },
            Rule {
                id: SMOKING_CESSATION.to_owned(),
                title: "Smoking cessation support: refer the patient to the cessation service".to_owned(),
                condition: "The patient currently smokes".to_owned(),
                scope: Scope::Episode,
                when: vec![SmokingIs { status: SmokingStatus::Current }],
                // The record's Discipline vocabulary has no smoking-cessation service:
                // the coordinator arranges it.
                discipline: Discipline::CareCoordination,
                action: task(Priority::Routine, Due::Within(Timing::Routine)),
                source: RuleSource {
                    reference: "not in the reference pack (REFERENCES.md §12.2 asks for no smoking for at least \
                                3 months before osseointegration)"
                        .to_owned(),
                    ..programme_policy("active smoker → cessation support", "the patient record", &[])
                },
                flags: vec![policy_flag()],
            },
            Rule {
                id: WEEK_4_MISSED.to_owned(),
                title: reevaluate.to_owned(),
                condition: "The wound missed ≥50 % area reduction at 4 weeks (GVG 6.9 checkpoint)".to_owned(),
                scope: Scope::EachOpenWound,
                when: vec![WoundCheckpoint {
                    checkpoint: GVG_6_9_CHECKPOINT_ID.to_owned(),
                    status_in: vec![CheckpointStatus::Missed],
                }],
                discipline: Discipline::CareCoordination,
                action: task(Priority::Urgent, Due::Within(Timing::Urgent)),
                source: programme_policy(
                    "a missed wound checkpoint → re-evaluate perfusion, infection and offloading",
                    "REFERENCES.md §2.3 (GVG 6.9: ≥50 % area reduction within 4 weeks)",
                    &[],
                ),
                flags: vec![policy_flag()],
            },
            Rule {
                id: WEEK_4_UNMEASURED.to_owned(),
                title: "Measure the wound: no measurement in its 4-week checkpoint window".to_owned(),
                condition: "The wound's 4-week checkpoint window closed with no measurement".to_owned(),
                scope: Scope::EachOpenWound,
                when: vec![WoundCheckpoint {
                    checkpoint: GVG_6_9_CHECKPOINT_ID.to_owned(),
                    status_in: vec![CheckpointStatus::NoMeasurementInWindow],
                }],
                discipline: Discipline::CareCoordination,
                action: task(Priority::Urgent, Due::Within(Timing::Urgent)),
                source: programme_policy(
                    "an unmeasured 4-week checkpoint → measure the wound (GVG 6.9 cannot be applied without it)",
                    "REFERENCES.md §2.3 (GVG 6.9)",
                    &[],
                ),
                flags: vec![policy_flag()],
            },
            Rule {
                id: WEEK_8_MISSED.to_owned(),
                title: reevaluate.to_owned(),
                condition: "The wound missed the programme's 8-week checkpoint (≥90 % area reduction, a programme \
                            setting)"
                    .to_owned(),
                scope: Scope::EachOpenWound,
                when: vec![WoundCheckpoint {
                    checkpoint: PROGRAMME_CHECKPOINT_WEEK_8.to_owned(),
                    status_in: vec![CheckpointStatus::Missed],
                }],
                discipline: Discipline::CareCoordination,
                action: task(Priority::Urgent, Due::Within(Timing::Urgent)),
                source: programme_policy(
                    "a missed wound checkpoint → re-evaluate perfusion, infection and offloading",
                    "the programme's own 8-week checkpoint (not in the reference pack)",
                    &[],
                ),
                flags: vec![policy_flag()],
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rule_set_is_valid_and_round_trips_as_json() {
        let set = shipped_rule_set();
        set.validate(&ProgrammeSettings::shipped()).unwrap();
        let json = serde_json::to_string_pretty(&set).unwrap();
        let back: RuleSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, set);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let imaging = &v["rules"][2];
        assert_eq!(
            imaging["action"],
            serde_json::json!({"kind": "task", "priority": "urgent", "due": {"within": "vascular_imaging"}})
        );
        assert_eq!(imaging["when"][0], serde_json::json!({"test": "ischaemia_grade_at_least", "grade": 2}));
        assert_eq!(v["rules"][0]["action"]["due"], "same_day");
    }

    #[test]
    fn every_programme_policy_rule_says_so_and_no_rule_carries_a_number_the_pack_lacks() {
        for rule in shipped_rule_set().rules {
            if rule.source.status == SourceStatus::ProgrammePolicy {
                assert!(rule.flags.iter().any(|f| f.kind == FlagKind::ProgrammePolicy), "{}", rule.id);
                assert!(rule.source.reference.starts_with("not in the reference pack"), "{}", rule.id);
            } else {
                assert_eq!(rule.source.reference, "REFERENCES.md §2.3", "{}", rule.id);
            }
            // Due offsets other than "same day" (stated by the issue) are programme settings.
            if let Action::Task { due, .. } = rule.action {
                assert!(matches!(due, Due::SameDay | Due::Within(_)));
            }
        }
    }

    #[test]
    fn an_edited_rule_set_with_errors_names_the_field() {
        let settings = ProgrammeSettings::shipped();
        let cases: Vec<(crate::Edit<RuleSet>, &str)> = vec![
            (Box::new(|s| s.version = " ".into()), "ruleset.version"),
            (Box::new(|s| s.rules[1].id = s.rules[0].id.clone()), "ruleset.rules[1].id"),
            (Box::new(|s| s.rules[0].id = "Has Space".into()), "ruleset.rules[0].id"),
            (
                Box::new(|s| s.rules[0].when = vec![Predicate::FootInfectionGradeAtLeast { grade: 4 }]),
                "ruleset.rules[0].when[0].grade",
            ),
            (Box::new(|s| s.rules[0].when.clear()), "ruleset.rules[0].when"),
            (
                Box::new(|s| {
                    s.rules[1].when =
                        vec![Predicate::AnyOf { any_of: vec![Predicate::WifiStageIn { stages: vec![6] }] }]
                }),
                "ruleset.rules[1].when[0].any_of[0].stages[0]",
            ),
            (
                Box::new(|s| {
                    s.rules[0].when = vec![Predicate::WoundCheckpoint {
                        checkpoint: GVG_6_9_CHECKPOINT_ID.into(),
                        status_in: vec![CheckpointStatus::Missed],
                    }]
                }),
                "ruleset.rules[0].when[0].test",
            ),
            (
                Box::new(|s| {
                    s.rules[9].when = vec![Predicate::WoundCheckpoint {
                        checkpoint: "area_75_by_week_6".into(),
                        status_in: vec![CheckpointStatus::Missed],
                    }]
                }),
                "ruleset.rules[9].when[0].checkpoint",
            ),
            (
                Box::new(|s| s.rules[1].action = task(Priority::Emergency, Due::Within(Timing::Urgent))),
                "ruleset.rules[1].action.due",
            ),
            (
                Box::new(|s| s.rules[0].source.criteria_sources = vec!["no.such".into()]),
                "ruleset.rules[0].source.criteria_sources[0]",
            ),
        ];
        for (edit, field) in cases {
            let mut set = shipped_rule_set();
            edit(&mut set);
            assert_eq!(set.validate(&settings).unwrap_err().field, field);
        }
        // removing the week-8 checkpoint from the settings invalidates the rule that reads it
        let mut no_week_8 = ProgrammeSettings::shipped();
        no_week_8.programme_checkpoints.clear();
        assert_eq!(shipped_rule_set().validate(&no_week_8).unwrap_err().field, "ruleset.rules[11].when[0].checkpoint");
        // CareRules, validated once, refuses the same pairs
        let e = crate::CareRules::new(shipped_rule_set(), no_week_8).unwrap_err();
        assert_eq!(e.field, "ruleset.rules[11].when[0].checkpoint");
        let mut bad_settings = ProgrammeSettings::shipped();
        bad_settings.hba1c_target_percent.value = 42.0;
        let e = crate::CareRules::new(shipped_rule_set(), bad_settings).unwrap_err();
        assert_eq!(e.field, "settings.hba1c_target_percent.value");
        let rules = crate::CareRules::new(shipped_rule_set(), ProgrammeSettings::shipped()).unwrap();
        assert_eq!((rules.ruleset(), rules.settings()), (&shipped_rule_set(), &ProgrammeSettings::shipped()));
    }

    #[test]
    fn unknown_fields_and_tests_are_rejected_when_a_programme_edit_is_read() {
        let mut v = serde_json::to_value(shipped_rule_set()).unwrap();
        v["rules"][0]["when"][0] = serde_json::json!({"test": "foot_infection_grade_at_least", "grade": 2, "x": 1});
        assert!(serde_json::from_value::<RuleSet>(v.clone()).is_err());
        v["rules"][0]["when"][0] = serde_json::json!({"test": "moon_phase"});
        assert!(serde_json::from_value::<RuleSet>(v).is_err());
    }
}
