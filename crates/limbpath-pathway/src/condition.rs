//! The tests a care-plan rule's condition is made of, as data, and their
//! evaluation against an episode.
//!
//! A rule fires when every test in its `when` list holds. Evaluation is
//! three-valued: a test whose input is missing (no assessment, no HbA1c, no
//! surgical-risk estimate, a wound with no measurements) is *unknown*, never
//! guessed. A rule with a failing test does not fire; a rule with no failing
//! test and at least one unknown is reported as *undetermined*, naming what is
//! missing. `any_of` holds when one of its tests holds, fails when all fail,
//! and is unknown otherwise.

use crate::picture::{Fact, Picture};
use crate::rationale::Rationale;
use crate::risk::{SurgicalRisk, SurgicalRiskResult};
use crate::settings::ProgrammeSettings;
use crate::trajectory::{CheckpointStatus, WoundTrajectory};
use limbpath_record::{Date, Id, PatientData, ProcedureData, SmokingStatus, Stored};
use serde::{Deserialize, Serialize};

/// A three-valued answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Truth {
    Yes,
    No,
    Unknown,
}

impl Truth {
    fn word(self) -> &'static str {
        match self {
            Truth::Yes => "yes",
            Truth::No => "no",
            Truth::Unknown => "unknown",
        }
    }

    fn from(b: bool) -> Self {
        if b { Truth::Yes } else { Truth::No }
    }
}

/// One test of a rule's condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "test", rename_all = "snake_case", deny_unknown_fields)]
pub enum Predicate {
    /// WIfI foot-infection grade fI ≥ `grade` (REFERENCES.md §1.3).
    FootInfectionGradeAtLeast { grade: u8 },
    /// Systemic inflammation: ≥2 SIRS criteria (REFERENCES.md §1.3, §7.1).
    SystemicInflammation,
    /// WIfI ischaemia grade I ≥ `grade` (REFERENCES.md §1.2).
    IschaemiaGradeAtLeast { grade: u8 },
    /// WIfI ischaemia grade I ≤ `grade`.
    IschaemiaGradeAtMost { grade: u8 },
    /// WIfI clinical stage is one of `stages` (1–4 from the table, 5 by override).
    WifiStageIn { stages: Vec<u8> },
    /// GVG surgical risk (6.4/6.5) from the clinician's estimate.
    SurgicalRiskIs { risk: SurgicalRisk },
    /// Episode scope: any recorded wound open today, or a WIfI wound grade ≥1
    /// in the latest assessment. Wound scope: this wound is open today.
    OpenWound,
    /// No revascularisation procedure recorded in the episode up to today.
    NoRevascularisationInEpisode,
    /// The patient's HbA1c is above the programme's target (a programme setting).
    Hba1cAboveTarget,
    /// The patient's smoking status is `status`.
    SmokingIs { status: SmokingStatus },
    /// Wound scope only: the wound's status at checkpoint `checkpoint` is one of `status_in`.
    WoundCheckpoint { checkpoint: String, status_in: Vec<CheckpointStatus> },
    /// One of the tests holds.
    AnyOf { any_of: Vec<Predicate> },
}

/// A wound as the rules see it.
#[derive(Debug, Clone)]
pub(crate) struct WoundView {
    pub id: Id,
    /// Index in the snapshot's `wounds`.
    pub index: usize,
    pub open: bool,
    pub healed_on: Option<Date>,
    pub trajectory: WoundTrajectory,
}

/// What the tests read.
pub(crate) struct Context<'a> {
    pub picture: &'a Picture,
    /// "latest_assessment" id and date, recorded with every assessment-based input.
    pub assessment: Option<(&'a str, Date)>,
    pub patient: &'a PatientData,
    pub settings: &'a ProgrammeSettings,
    pub risk: Option<&'a SurgicalRiskResult>,
    pub wounds: &'a [WoundView],
    pub procedures: &'a [Stored<ProcedureData>],
    pub today: Date,
}

/// Evaluate `when` (all must hold) for one scope instance (`wound` for
/// wound-scoped rules), recording each test in `r` and what is missing.
pub(crate) fn evaluate(
    when: &[Predicate],
    cx: &Context<'_>,
    wound: Option<&WoundView>,
    r: &mut Rationale,
    missing: &mut Vec<String>,
) -> Truth {
    let mut all = Truth::Yes;
    for p in when {
        match eval(p, cx, wound, r, missing) {
            Truth::No => all = Truth::No,
            Truth::Unknown if all == Truth::Yes => all = Truth::Unknown,
            _ => {}
        }
    }
    all
}

fn assessment_fact<T: Serialize + Copy>(
    fact: Option<&Fact<T>>,
    what: &str,
    cx: &Context<'_>,
    r: &mut Rationale,
    missing: &mut Vec<String>,
) -> Option<T> {
    let Some(f) = fact else {
        missing.push(if cx.assessment.is_some() {
            format!("{what} (not in the latest assessment's findings)")
        } else {
            format!("{what} (no assessment recorded)")
        });
        return None;
    };
    if let Some((id, on)) = cx.assessment {
        r.input("latest_assessment.id", id);
        r.input("latest_assessment.assessed_on", on);
    }
    r.input(f.field.clone(), f.value);
    for flag in &f.flags {
        r.flag(flag.clone());
    }
    Some(f.value)
}

fn eval(
    p: &Predicate,
    cx: &Context<'_>,
    wound: Option<&WoundView>,
    r: &mut Rationale,
    missing: &mut Vec<String>,
) -> Truth {
    let pic = cx.picture;
    let say = |r: &mut Rationale, t: Truth, words: String| {
        r.because.push(format!("{words}: {}", t.word()));
        t
    };
    match p {
        Predicate::FootInfectionGradeAtLeast { grade } => {
            match assessment_fact(pic.infection.as_ref(), "the WIfI foot-infection grade", cx, r, missing) {
                Some(v) => say(r, Truth::from(v >= *grade), format!("foot infection fI{v} ≥ fI{grade}")),
                None => say(r, Truth::Unknown, format!("foot infection ≥ fI{grade}: grade not known")),
            }
        }
        Predicate::SystemicInflammation => match pic.sirs.as_ref() {
            Some(f) => {
                if let Some((id, on)) = cx.assessment {
                    r.input("latest_assessment.id", id);
                    r.input("latest_assessment.assessed_on", on);
                }
                r.input(f.field.clone(), f.value.words.clone());
                if f.value.truth == Truth::Unknown {
                    missing.push("the SIRS criteria (temperature, heart rate, respiratory rate/PaCO2, WBC)".into());
                }
                say(r, f.value.truth, format!("systemic inflammation (≥2 SIRS criteria): {}", f.value.words))
            }
            None => {
                missing.push("infection findings with the SIRS criteria".into());
                say(r, Truth::Unknown, "systemic inflammation (≥2 SIRS criteria): not assessed".into())
            }
        },
        Predicate::IschaemiaGradeAtLeast { grade } => {
            match assessment_fact(pic.ischaemia.as_ref(), "the WIfI ischaemia grade", cx, r, missing) {
                Some(v) => say(r, Truth::from(v >= *grade), format!("ischaemia I{v} ≥ I{grade}")),
                None => say(r, Truth::Unknown, format!("ischaemia ≥ I{grade}: grade not known")),
            }
        }
        Predicate::IschaemiaGradeAtMost { grade } => {
            match assessment_fact(pic.ischaemia.as_ref(), "the WIfI ischaemia grade", cx, r, missing) {
                Some(v) => say(r, Truth::from(v <= *grade), format!("ischaemia I{v} ≤ I{grade}")),
                None => say(r, Truth::Unknown, format!("ischaemia ≤ I{grade}: grade not known")),
            }
        }
        Predicate::WifiStageIn { stages } => {
            let list = stages.iter().map(u8::to_string).collect::<Vec<_>>().join(", ");
            match assessment_fact(
                pic.stage.as_ref(),
                "the WIfI clinical stage (W, I and fI all needed)",
                cx,
                r,
                missing,
            ) {
                Some(v) => {
                    let words = match stages.as_slice() {
                        [one] => format!("WIfI clinical stage {v} = {one}"),
                        _ => format!("WIfI clinical stage {v} is one of {list}"),
                    };
                    say(r, Truth::from(stages.contains(&v)), words)
                }
                None => say(r, Truth::Unknown, format!("WIfI clinical stage in {list}: stage not known")),
            }
        }
        Predicate::SurgicalRiskIs { risk } => match cx.risk {
            Some(result) => {
                let words = result.rationale.because.join("; ");
                r.absorb(Rationale { because: Vec::new(), ..result.rationale.clone() });
                let required = risk.label();
                say(r, Truth::from(result.risk == *risk), format!("GVG 6.4/6.5: {words}; {required} required"))
            }
            None => {
                missing.push(
                    "a surgical-risk estimate (peri-procedural mortality and 2-year survival, GVG 6.4/6.5)".into(),
                );
                say(r, Truth::Unknown, format!("{}: surgical risk not estimated", risk.label()))
            }
        },
        Predicate::OpenWound => match wound {
            Some(w) => {
                r.input(format!("wounds[{}].id", w.index), &w.id);
                r.input(format!("wounds[{}].healed_on", w.index), w.healed_on);
                say(r, Truth::from(w.open), format!("wound {} open on {}", w.id, cx.today))
            }
            None => {
                let open: Vec<&WoundView> = cx.wounds.iter().filter(|w| w.open).collect();
                for w in &open {
                    r.input(format!("wounds[{}].id", w.index), &w.id);
                }
                let graded = pic.wound.as_ref().filter(|f| f.value >= 1);
                if let Some(f) = graded {
                    r.input(f.field.clone(), f.value);
                }
                let words = match (open.len(), graded) {
                    (0, None) => "no open wound recorded and no WIfI wound grade ≥ W1".to_owned(),
                    (0, Some(f)) => format!("WIfI wound grade W{} in the latest assessment", f.value),
                    (n, _) => format!("{n} open wound(s) recorded"),
                };
                say(r, Truth::from(!open.is_empty() || graded.is_some()), format!("a wound: {words}"))
            }
        },
        Predicate::NoRevascularisationInEpisode => {
            let done: Vec<(usize, &Stored<ProcedureData>)> = cx
                .procedures
                .iter()
                .enumerate()
                .filter(|(_, p)| p.data.kind.is_revascularisation() && p.data.performed_on <= cx.today)
                .collect();
            for (i, p) in &done {
                r.input(format!("procedures[{i}].kind"), p.data.kind);
                r.input(format!("procedures[{i}].performed_on"), p.data.performed_on);
            }
            let words = match done.first() {
                None => "no revascularisation recorded in the episode".to_owned(),
                Some((_, p)) => format!("{} performed on {}", p.data.kind, p.data.performed_on),
            };
            say(r, Truth::from(done.is_empty()), format!("not yet revascularised: {words}"))
        }
        Predicate::Hba1cAboveTarget => {
            let target = cx.settings.hba1c_target_percent;
            r.setting(target.used("hba1c_target_percent"));
            let num = limbpath_clinical::explain::number;
            match cx.patient.hba1c_percent {
                Some(v) => {
                    r.input("patient.hba1c_percent", v);
                    say(
                        r,
                        Truth::from(v > target.value),
                        format!(
                            "HbA1c {} % above the programme's target {} % (programme setting, not from the \
                             reference pack)",
                            num(v),
                            num(target.value)
                        ),
                    )
                }
                None => {
                    missing.push("the patient's HbA1c (patient.hba1c_percent)".into());
                    say(r, Truth::Unknown, format!("HbA1c above {} %: not recorded", num(target.value)))
                }
            }
        }
        Predicate::SmokingIs { status } => {
            let s = cx.patient.smoking;
            r.input("patient.smoking", s);
            if s == SmokingStatus::Unknown && *status != SmokingStatus::Unknown {
                missing.push("the patient's smoking status (patient.smoking is unknown)".into());
                return say(r, Truth::Unknown, format!("smoking status {status}: recorded as unknown"));
            }
            say(r, Truth::from(s == *status), format!("smoking status {s} is {status}"))
        }
        Predicate::WoundCheckpoint { checkpoint, status_in } => {
            let list = status_in.iter().map(|s| s.label()).collect::<Vec<_>>().join(" or ");
            let Some(w) = wound else {
                // Only for a wound the assessment grades but nobody recorded: the plan
                // reports the rule as undetermined and names the unrecorded wound itself.
                return say(r, Truth::Unknown, format!("checkpoint {checkpoint} {list}: no wound in scope"));
            };
            r.input(format!("wounds[{}].id", w.index), &w.id);
            match w.trajectory.checkpoint(checkpoint) {
                Some(c) => {
                    r.input(format!("wounds[{}].checkpoints.{checkpoint}.status", w.index), c.status);
                    r.input(format!("wounds[{}].checkpoints.{checkpoint}.due_on", w.index), c.due_on);
                    if let Some(p) = c.area_reduction_percent {
                        r.input(format!("wounds[{}].checkpoints.{checkpoint}.area_reduction_percent", w.index), p);
                    }
                    for f in &c.rationale.flags {
                        r.flag(f.clone());
                    }
                    for s in &c.rationale.settings {
                        r.setting(s.clone());
                    }
                    let detail = c.rationale.because.join("; ");
                    say(
                        r,
                        Truth::from(status_in.contains(&c.status)),
                        format!("wound {} at checkpoint {checkpoint} ({detail}) is {list}", w.id),
                    )
                }
                None => {
                    let why = w.trajectory.note.clone().unwrap_or_else(|| "no such checkpoint".into());
                    missing.push(format!("wound {} measurements ({why})", w.id));
                    say(r, Truth::Unknown, format!("wound {} at checkpoint {checkpoint}: {why}", w.id))
                }
            }
        }
        Predicate::AnyOf { any_of } => {
            let mut sub_missing = Vec::new();
            let mut any = Truth::No;
            for q in any_of {
                match eval(q, cx, wound, r, &mut sub_missing) {
                    Truth::Yes => any = Truth::Yes,
                    Truth::Unknown if any == Truth::No => any = Truth::Unknown,
                    _ => {}
                }
            }
            // What is missing matters only when nothing else decided it.
            if any == Truth::Unknown {
                missing.extend(sub_missing);
            }
            any
        }
    }
}

/// Check a predicate list for a rule: grades and stages in range, lists not
/// empty, wound tests only in wound scope, checkpoints that exist.
pub(crate) fn validate(
    when: &[Predicate],
    field: &str,
    wound_scope: bool,
    checkpoint_ids: &[String],
) -> Result<(), limbpath_clinical::InvalidInput> {
    use limbpath_clinical::InvalidInput;
    use limbpath_clinical::limits::check_grade;
    if when.is_empty() {
        return Err(InvalidInput::missing(field, "at least one test"));
    }
    for (i, p) in when.iter().enumerate() {
        let at = format!("{field}[{i}]");
        match p {
            Predicate::FootInfectionGradeAtLeast { grade }
            | Predicate::IschaemiaGradeAtLeast { grade }
            | Predicate::IschaemiaGradeAtMost { grade } => {
                check_grade(&format!("{at}.grade"), *grade, 0, 3)?;
            }
            Predicate::WifiStageIn { stages } => {
                if stages.is_empty() {
                    return Err(InvalidInput::missing(format!("{at}.stages"), "one or more WIfI stages 1–5"));
                }
                for (j, s) in stages.iter().enumerate() {
                    check_grade(&format!("{at}.stages[{j}]"), *s, 1, 5)?;
                }
            }
            Predicate::WoundCheckpoint { checkpoint, status_in } => {
                if !wound_scope {
                    return Err(InvalidInput::inconsistent(
                        format!("{at}.test"),
                        "wound_checkpoint",
                        "a wound checkpoint test only in a rule with scope each_open_wound",
                    ));
                }
                if !checkpoint_ids.contains(checkpoint) {
                    return Err(InvalidInput::unrecognised(
                        format!("{at}.checkpoint"),
                        checkpoint,
                        format!("a checkpoint id: {}", checkpoint_ids.join(", ")),
                    ));
                }
                if status_in.is_empty() {
                    return Err(InvalidInput::missing(format!("{at}.status_in"), "one or more checkpoint statuses"));
                }
            }
            Predicate::AnyOf { any_of } => validate(any_of, &format!("{at}.any_of"), wound_scope, checkpoint_ids)?,
            Predicate::SystemicInflammation
            | Predicate::SurgicalRiskIs { .. }
            | Predicate::OpenWound
            | Predicate::NoRevascularisationInEpisode
            | Predicate::Hba1cAboveTarget
            | Predicate::SmokingIs { .. } => {}
        }
    }
    Ok(())
}
