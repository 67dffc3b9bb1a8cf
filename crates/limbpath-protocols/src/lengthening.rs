//! Limb lengthening: a distraction plan (REFERENCES.md §11) and a daily
//! distraction log compared with it.
//!
//! What the reference gives, and the rules chosen:
//! - **Rate and rhythm** (VERIFIED): 1 mm/day in 4 × 0.25 mm; 3–4 increments
//!   a day are common. The plan takes the rate, turns per day and mm per turn
//!   as inputs (protocol numbers are templates, not constants); they must agree
//!   (turns × mm per turn = rate), and a value other than the reference's is
//!   flagged for review, not refused.
//! - **Latency** (VERIFIED, secondary): 5–7 days typical (younger 4–5, older
//!   up to 10–15). An input; outside 5–7 it is flagged. With latency N the
//!   first distraction day is N days after the osteotomy (day 0).
//! - **Healing (consolidation) index**: the pack has no standard. The "30–40
//!   d/cm" often quoted is UNVERIFIED; one study (Siriraj) reports medians of
//!   41.4 d/cm (4 × /day) and 49.1 d/cm (2 × /day). So the index is a required
//!   input and every plan quotes those facts. The pack does not say which
//!   interval the index counts, so the caller states it
//!   ([`HealingIndexCountsFrom`]): from the osteotomy or from the end of
//!   distraction. Expected end of consolidation = that date + index × cm
//!   lengthened (rounded up to whole days).
//! - **Target**: in mm, or for a child the predicted discrepancy at maturity
//!   from the clinical engine's Paley multiplier method (`limb_length`), with
//!   its flags; the amount to lengthen now remains the clinician's decision.
//! - **Turns are whole**: a target that is not a whole number of turns is
//!   planned to the next whole turn and flagged.
//! - **Drift**: mm done − mm planned through `as_of` (negative = behind),
//!   missed days (planned turns, none logged) and short days. An alert is
//!   raised when the drift passes the programme's tolerance (strictly more
//!   than it, either way). The tolerance is a programme setting; the default 0
//!   adds no number (any drift alerts).

use crate::alerts::{AlertKey, AlertKind, AlertSignal};
use crate::rationale::{Basis, Rationale, Reasoned};
use crate::sources::{LENGTHENING_DISTRACTION_SOURCE, LENGTHENING_HEALING_INDEX_SOURCE};
use crate::triage::{ProgrammeLevel, TriageLevel, check_version};
use limbpath_clinical::InvalidInput;
use limbpath_clinical::explain::{FlagKind, number as num};
use limbpath_clinical::limb_length;
use limbpath_clinical::limits::Plausible;
use limbpath_record::Date;
use serde::{Deserialize, Serialize};
use time::Duration;

type Result<T> = std::result::Result<T, InvalidInput>;

// source: paperexplained; orthonotes; orthovellum (Ilizarov) | REFERENCES.md §11 | status: VERIFIED
/// Distraction rate, mm/day (Ilizarov).
pub const REFERENCE_RATE_MM_PER_DAY: f64 = 1.0;
// source: orthovellum; scilit abstract | REFERENCES.md §11 | status: VERIFIED
/// Rhythm: 4 × 0.25 mm/day ("0.25 mm every 6 h").
pub const REFERENCE_TURNS_PER_DAY: u32 = 4;
// source: orthovellum; scilit abstract | REFERENCES.md §11 | status: VERIFIED
pub const REFERENCE_MM_PER_TURN: f64 = 0.25;
// source: orthovellum; scilit abstract | REFERENCES.md §11 | status: VERIFIED
/// "3–4 increments are common".
pub const COMMON_TURNS_PER_DAY: (u32, u32) = (3, 4);
// source: theorthonotes and others (secondary) | REFERENCES.md §11 | status: VERIFIED (secondary)
/// Latency 5–7 days typical.
pub const TYPICAL_LATENCY_DAYS: (u32, u32) = (5, 7);
// source: Siriraj study | REFERENCES.md §11 | status: SINGLE study
/// Median healing index with 4 increments a day, d/cm (quoted, never applied).
pub const SIRIRAJ_HEALING_INDEX_4_PER_DAY: f64 = 41.4;
// source: Siriraj study | REFERENCES.md §11 | status: SINGLE study
/// Median healing index with 2 increments a day, d/cm (quoted, never applied).
pub const SIRIRAJ_HEALING_INDEX_2_PER_DAY: f64 = 49.1;

// Input bounds (engineering, not clinical).
const TARGET_MM: Plausible = Plausible { min: 0.1, max: 500.0, unit: "mm" };
const RATE_MM_PER_DAY: Plausible = Plausible { min: 0.01, max: 5.0, unit: "mm/day" };
const MM_PER_TURN: Plausible = Plausible { min: 0.01, max: 5.0, unit: "mm" };
const HEALING_INDEX: Plausible = Plausible { min: 1.0, max: 365.0, unit: "days/cm" };
const TOLERANCE_MM: Plausible = Plausible { min: 0.0, max: 100.0, unit: "mm" };
const LATENCY_DAYS_MAX: u32 = 60;
const TURNS_PER_DAY_MAX: u32 = 24;
const TURNS_PER_ENTRY_MAX: u32 = 100;
/// The longest review window, in days from the osteotomy.
pub const REVIEW_DAYS_MAX: i64 = 3_650;

/// The lengthening target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case", deny_unknown_fields)]
pub enum LengtheningTarget {
    /// A length in mm set by the clinician.
    Millimetres { mm: f64 },
    /// A child's predicted discrepancy at maturity (Paley multiplier method).
    PaleyPrediction { paley: limb_length::Input },
}

/// Which interval the healing index counts (the pack does not define it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealingIndexCountsFrom {
    Osteotomy,
    EndOfDistraction,
}

/// What a lengthening plan is made from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LengtheningInput {
    pub target: LengtheningTarget,
    pub osteotomy_date: Date,
    pub latency_days: u32,
    pub rate_mm_per_day: f64,
    pub turns_per_day: u32,
    pub mm_per_turn: f64,
    /// Days per cm lengthened; required (the pack has no standard).
    pub healing_index_days_per_cm: f64,
    pub healing_index_counts_from: HealingIndexCountsFrom,
}

/// One distraction day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DistractionDay {
    /// 1 = the first distraction day.
    pub distraction_day: u32,
    pub date: Date,
    pub turns: u32,
    pub mm: f64,
    pub cumulative_mm: f64,
}

/// A lengthening plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LengtheningPlan {
    pub osteotomy_date: Date,
    /// The target asked for, mm.
    pub target_mm: Reasoned<f64>,
    /// What the whole turns give, mm (≥ target).
    pub planned_mm: f64,
    pub total_turns: u32,
    pub turns_per_day: u32,
    pub mm_per_turn: f64,
    pub rate: Reasoned<f64>,
    pub latency: Reasoned<u32>,
    pub distraction_starts_on: Date,
    pub distraction_ends_on: Date,
    /// Expected end of consolidation.
    pub consolidation_ends_on: Reasoned<Date>,
    pub days: Vec<DistractionDay>,
    pub rationale: Rationale,
}

fn add_days(field: &str, date: Date, days: i64) -> Result<Date> {
    date.checked_add(Duration::days(days))
        .ok_or_else(|| InvalidInput::out_of_range(field, date, "a date whose plan stays within the calendar"))
}

fn check_date(field: &str, d: Date) -> Result<()> {
    if d.year() < 1900 || d.year() > 2200 {
        return Err(InvalidInput::out_of_range(field, d, "a date from 1900-01-01 to 2200-12-31"));
    }
    Ok(())
}

fn target(t: &LengtheningTarget) -> Result<Reasoned<f64>> {
    match t {
        LengtheningTarget::Millimetres { mm } => {
            let mm = TARGET_MM.check("target.mm", *mm)?;
            Ok(Reasoned {
                value: mm,
                rationale: Rationale::new(
                    Basis::reference(&LENGTHENING_DISTRACTION_SOURCE),
                    format!("target {} mm as set by the clinician", num(mm)),
                )
                .input("target.mm", mm),
            })
        }
        LengtheningTarget::PaleyPrediction { paley } => {
            let out = limb_length::classify(paley).map_err(|e| e.within("target.paley"))?;
            let mm = out.lld_at_maturity.value_cm * 10.0;
            let mm = TARGET_MM.check("target.paley.current_lld_cm", mm).map_err(|e| {
                InvalidInput::out_of_range(
                    e.field,
                    format!("{} mm predicted at maturity", num(mm)),
                    "a predicted discrepancy at maturity from 0.1 to 500 mm to lengthen",
                )
            })?;
            let e = &out.lld_at_maturity.explanation;
            let mut rationale = Rationale::new(
                Basis::reference(e.source),
                format!(
                    "target {} mm = the predicted limb-length discrepancy at maturity, {} cm (Paley multiplier \
                     method: {})",
                    num(mm),
                    num(out.lld_at_maturity.value_cm),
                    e.rule
                ),
            )
            .also(Basis::reference(out.multiplier.explanation.source));
            rationale.inputs.extend(e.inputs.iter().cloned());
            rationale.flags.extend(e.flags.iter().cloned());
            rationale.push_flag(
                FlagKind::Review,
                "the target is the predicted discrepancy at maturity: how much to lengthen now (and whether to \
                 stage it) is the clinician's decision",
            );
            Ok(Reasoned { value: mm, rationale })
        }
    }
}

/// A lengthening plan.
pub fn lengthening_plan(input: &LengtheningInput) -> Result<LengtheningPlan> {
    check_date("osteotomy_date", input.osteotomy_date)?;
    let target_mm = target(&input.target)?;
    let rate = RATE_MM_PER_DAY.check("rate_mm_per_day", input.rate_mm_per_day)?;
    let per_turn = MM_PER_TURN.check("mm_per_turn", input.mm_per_turn)?;
    let tpd = input.turns_per_day;
    if tpd == 0 || tpd > TURNS_PER_DAY_MAX {
        return Err(InvalidInput::out_of_range(
            "turns_per_day",
            tpd,
            format!("a whole number of turns a day from 1 to {TURNS_PER_DAY_MAX}"),
        ));
    }
    if input.latency_days > LATENCY_DAYS_MAX {
        return Err(InvalidInput::out_of_range(
            "latency_days",
            input.latency_days,
            format!("a whole number of days from 0 to {LATENCY_DAYS_MAX}"),
        ));
    }
    let hi = HEALING_INDEX.check("healing_index_days_per_cm", input.healing_index_days_per_cm)?;
    let per_day = f64::from(tpd) * per_turn;
    if (per_day - rate).abs() > 1e-9 * rate.max(1.0) {
        return Err(InvalidInput::inconsistent(
            "mm_per_turn",
            per_turn,
            format!(
                "turns_per_day × mm_per_turn must equal rate_mm_per_day: {tpd} × {} = {} mm/day, rate {} mm/day",
                num(per_turn),
                num(per_day),
                num(rate)
            ),
        ));
    }

    // Whole turns.
    let exact = target_mm.value / per_turn;
    let whole = (exact - exact.round()).abs() < 1e-9;
    let total_turns = if whole { exact.round() } else { exact.ceil() } as u32;
    let planned_mm = f64::from(total_turns) * per_turn;
    let mut target_mm = target_mm;
    if !whole {
        target_mm.rationale.push_flag(
            FlagKind::Review,
            format!(
                "{} mm is not a whole number of {} mm turns: planned {total_turns} turns = {} mm",
                num(target_mm.value),
                num(per_turn),
                num(planned_mm)
            ),
        );
    }

    let osteotomy = input.osteotomy_date;
    let latency_days = input.latency_days;
    let start = add_days("osteotomy_date", osteotomy, i64::from(latency_days))?;
    let distraction_days = total_turns.div_ceil(tpd);
    let mut days = Vec::with_capacity(distraction_days as usize);
    let mut done = 0u32;
    for k in 1..=distraction_days {
        let turns = tpd.min(total_turns - done);
        done += turns;
        days.push(DistractionDay {
            distraction_day: k,
            date: add_days("osteotomy_date", start, i64::from(k - 1))?,
            turns,
            mm: f64::from(turns) * per_turn,
            cumulative_mm: f64::from(done) * per_turn,
        });
    }
    let end = days.last().map_or(start, |d| d.date);

    let dist = &LENGTHENING_DISTRACTION_SOURCE;
    let mut rate_part = Reasoned {
        value: rate,
        rationale: Rationale::new(
            Basis::reference(dist),
            format!(
                "distraction {} mm/day in {tpd} × {} mm (reference: 1 mm/day in 4 × 0.25 mm; 3–4 increments are \
                 common)",
                num(rate),
                num(per_turn)
            ),
        )
        .input("rate_mm_per_day", rate)
        .input("turns_per_day", tpd)
        .input("mm_per_turn", per_turn),
    };
    if rate != REFERENCE_RATE_MM_PER_DAY {
        rate_part.rationale.push_flag(
            FlagKind::Review,
            format!("rate {} mm/day differs from the reference's 1 mm/day (Ilizarov, §11)", num(rate)),
        );
    }
    if tpd < COMMON_TURNS_PER_DAY.0 || tpd > COMMON_TURNS_PER_DAY.1 {
        rate_part.rationale.push_flag(
            FlagKind::Review,
            format!("{tpd} increments a day: the reference gives 4 × 0.25 mm, with 3–4 increments common (§11)"),
        );
    }
    let mut latency = Reasoned {
        value: latency_days,
        rationale: Rationale::new(
            Basis::reference(dist),
            format!(
                "latency {latency_days} days: the first distraction day is {start}, {latency_days} days after the \
                 osteotomy on {osteotomy} (typical 5–7 days; younger 4–5, older up to 10–15)"
            ),
        )
        .input("latency_days", latency_days),
    };
    if latency_days < TYPICAL_LATENCY_DAYS.0 || latency_days > TYPICAL_LATENCY_DAYS.1 {
        latency.rationale.push_flag(
            FlagKind::Review,
            format!(
                "latency {latency_days} days is outside the typical 5–7 days (secondary sources: younger 4–5 d, \
                 older up to 10–15 d)"
            ),
        );
    }

    let cm = planned_mm / 10.0;
    let consolidation_days = (hi * cm - 1e-9).ceil().max(0.0) as i64;
    let (from, from_words) = match input.healing_index_counts_from {
        HealingIndexCountsFrom::Osteotomy => (osteotomy, "the osteotomy"),
        HealingIndexCountsFrom::EndOfDistraction => (end, "the end of distraction"),
    };
    let consolidation_end = add_days("healing_index_days_per_cm", from, consolidation_days)?;
    if consolidation_end < end {
        return Err(InvalidInput::inconsistent(
            "healing_index_days_per_cm",
            hi,
            format!(
                "with {} d/cm counted from the osteotomy, consolidation would end on {consolidation_end}, before \
                 distraction ends on {end}",
                num(hi)
            ),
        ));
    }
    let consolidation_ends_on = Reasoned {
        value: consolidation_end,
        rationale: Rationale::new(
            Basis::reference(&LENGTHENING_HEALING_INDEX_SOURCE),
            format!(
                "expected end of consolidation = {from_words} ({from}) + healing index {} d/cm × {} cm = {} days \
                 (rounded up) -> {consolidation_end}. The index is the clinician's input: the pack has no standard \
                 (the commonly quoted 30–40 d/cm is UNVERIFIED; a single study, Siriraj, reports medians of {} d/cm \
                 with 4 increments a day and {} d/cm with 2)",
                num(hi),
                num(cm),
                consolidation_days,
                num(SIRIRAJ_HEALING_INDEX_4_PER_DAY),
                num(SIRIRAJ_HEALING_INDEX_2_PER_DAY)
            ),
        )
        .input("healing_index_days_per_cm", hi)
        .input(
            "healing_index_counts_from",
            match input.healing_index_counts_from {
                HealingIndexCountsFrom::Osteotomy => "osteotomy",
                HealingIndexCountsFrom::EndOfDistraction => "end_of_distraction",
            },
        )
        .flag(
            FlagKind::SingleSource,
            "healing index: one study only; the \"30–40 d/cm\" standard is UNVERIFIED. An estimate, not a date to \
             remove the frame by",
        ),
    };

    let rationale = Rationale::new(
        Basis::reference(dist),
        format!(
            "{total_turns} turns of {} mm ({} mm) at {tpd} a day: {distraction_days} distraction day(s) from {start} \
             to {end}; consolidation expected to end {consolidation_end}",
            num(per_turn),
            num(planned_mm)
        ),
    )
    .also(Basis::reference(&LENGTHENING_HEALING_INDEX_SOURCE))
    .input("osteotomy_date", osteotomy.to_string());

    Ok(LengtheningPlan {
        osteotomy_date: osteotomy,
        target_mm,
        planned_mm,
        total_turns,
        turns_per_day: tpd,
        mm_per_turn: per_turn,
        rate: rate_part,
        latency,
        distraction_starts_on: start,
        distraction_ends_on: end,
        consolidation_ends_on,
        days,
        rationale,
    })
}

// ---------------------------------------------------------------------------
// The distraction log
// ---------------------------------------------------------------------------

/// Turns done on a date (several entries on one date add up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistractionLogEntry {
    pub date: Date,
    pub turns: u32,
}

/// The programme's drift settings. The defaults add no number: any drift
/// alerts, at "contact the team today".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftSettings {
    pub version: String,
    /// Alert when more than this many mm behind the plan (default 0).
    pub behind_tolerance_mm: f64,
    /// Alert when more than this many mm ahead of the plan (default 0).
    pub ahead_tolerance_mm: f64,
    pub alert_level: ProgrammeLevel,
}

impl Default for DriftSettings {
    fn default() -> Self {
        DriftSettings {
            version: "default".to_owned(),
            behind_tolerance_mm: 0.0,
            ahead_tolerance_mm: 0.0,
            alert_level: ProgrammeLevel::ContactTeamToday,
        }
    }
}

impl DriftSettings {
    pub fn validate(&self) -> Result<()> {
        check_version("settings.version", &self.version)?;
        TOLERANCE_MM.check("settings.behind_tolerance_mm", self.behind_tolerance_mm)?;
        TOLERANCE_MM.check("settings.ahead_tolerance_mm", self.ahead_tolerance_mm)?;
        Ok(())
    }
}

/// One day of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftDay {
    pub date: Date,
    pub planned_turns: u32,
    pub done_turns: u32,
    pub planned_cumulative_mm: f64,
    pub done_cumulative_mm: f64,
    /// done − planned, mm (negative = behind).
    pub drift_mm: f64,
}

/// Behind or ahead of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftDirection {
    Behind,
    Ahead,
}

impl DriftDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftDirection::Behind => "behind",
            DriftDirection::Ahead => "ahead",
        }
    }
}

/// An alert: the drift passed the programme's tolerance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftAlert {
    pub direction: DriftDirection,
    pub drift_mm: f64,
    pub tolerance_mm: f64,
    pub level: TriageLevel,
    pub rationale: Rationale,
}

/// A distraction log compared with the plan through `as_of`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DistractionReview {
    pub as_of: Date,
    pub planned_mm: f64,
    pub done_mm: f64,
    /// done − planned, mm (negative = behind).
    pub drift_mm: f64,
    /// Planned distraction days with no turn logged.
    pub missed_days: Vec<Date>,
    /// Planned distraction days with fewer turns than planned (but some).
    pub short_days: Vec<Date>,
    pub days: Vec<DriftDay>,
    pub alert: Option<DriftAlert>,
    pub rationale: Rationale,
}

impl DistractionReview {
    /// The alert signal, if the drift passed the tolerance.
    pub fn signal(&self, patient_id: &str, at_ms: i64) -> Option<AlertSignal> {
        let a = self.alert.as_ref()?;
        (a.level > TriageLevel::Routine).then(|| AlertSignal {
            key: AlertKey {
                patient_id: patient_id.to_owned(),
                kind: AlertKind::DistractionDrift { direction: a.direction.as_str().to_owned() },
            },
            level: a.level,
            at_ms,
            summary: format!(
                "distraction {} mm {} the plan on {}",
                num(a.drift_mm.abs()),
                a.direction.as_str(),
                self.as_of
            ),
        })
    }
}

/// Compare a distraction log with the plan through `as_of`.
pub fn review_distraction(
    plan: &LengtheningPlan,
    log: &[DistractionLogEntry],
    as_of: Date,
    settings: &DriftSettings,
) -> Result<DistractionReview> {
    settings.validate()?;
    let osteotomy = plan.osteotomy_date;
    if as_of < osteotomy || (as_of - osteotomy).whole_days() > REVIEW_DAYS_MAX {
        return Err(InvalidInput::out_of_range(
            "as_of",
            as_of,
            format!("a date from the osteotomy ({osteotomy}) to {REVIEW_DAYS_MAX} days after it"),
        ));
    }
    for (i, e) in log.iter().enumerate() {
        if e.date > as_of || e.date < osteotomy {
            return Err(InvalidInput::out_of_range(
                format!("log[{i}].date"),
                e.date,
                format!("a date from the osteotomy ({osteotomy}) to as_of ({as_of})"),
            ));
        }
        if e.turns > TURNS_PER_ENTRY_MAX {
            return Err(InvalidInput::out_of_range(
                format!("log[{i}].turns"),
                e.turns,
                format!("a whole number of turns from 0 to {TURNS_PER_ENTRY_MAX}"),
            ));
        }
    }
    let per_turn = plan.mm_per_turn;
    let first =
        log.iter().map(|e| e.date).min().map_or(plan.distraction_starts_on, |d| d.min(plan.distraction_starts_on));

    let mut days = Vec::new();
    let mut missed_days = Vec::new();
    let mut short_days = Vec::new();
    let mut early_turns = 0u64;
    let (mut planned_total, mut done_total) = (0u64, 0u64);
    let mut date = first;
    while date <= as_of {
        let planned = plan.days.iter().find(|d| d.date == date).map_or(0, |d| d.turns);
        let done: u64 = log.iter().filter(|e| e.date == date).map(|e| u64::from(e.turns)).sum();
        if date < plan.distraction_starts_on {
            early_turns += done;
        }
        planned_total += u64::from(planned);
        done_total += done;
        if planned > 0 && done == 0 {
            missed_days.push(date);
        } else if done < u64::from(planned) {
            short_days.push(date);
        }
        let planned_mm = planned_total as f64 * per_turn;
        let done_mm = done_total as f64 * per_turn;
        days.push(DriftDay {
            date,
            planned_turns: planned,
            done_turns: u32::try_from(done).unwrap_or(u32::MAX),
            planned_cumulative_mm: planned_mm,
            done_cumulative_mm: done_mm,
            drift_mm: (done_total as f64 - planned_total as f64) * per_turn,
        });
        match date.next_day() {
            Some(d) => date = d,
            None => break,
        }
    }
    let planned_mm = planned_total as f64 * per_turn;
    let done_mm = done_total as f64 * per_turn;
    let drift_mm = (done_total as f64 - planned_total as f64) * per_turn;

    let level = TriageLevel::from(settings.alert_level);
    let alert = if drift_mm < 0.0 && -drift_mm > settings.behind_tolerance_mm + 1e-9 {
        Some((DriftDirection::Behind, settings.behind_tolerance_mm, "lengthening.behind_tolerance_mm"))
    } else if drift_mm > 0.0 && drift_mm > settings.ahead_tolerance_mm + 1e-9 {
        Some((DriftDirection::Ahead, settings.ahead_tolerance_mm, "lengthening.ahead_tolerance_mm"))
    } else {
        None
    }
    .map(|(direction, tolerance_mm, setting)| DriftAlert {
        direction,
        drift_mm,
        tolerance_mm,
        level,
        rationale: Rationale::new(
            Basis::setting(setting, format!("{} mm", num(tolerance_mm))),
            format!(
                "{} mm {} the plan through {as_of}: more than the programme's tolerance of {} mm -> alert ({})",
                num(drift_mm.abs()),
                direction.as_str(),
                num(tolerance_mm),
                level.as_str()
            ),
        )
        .also(Basis::setting("lengthening.alert_level", level.as_str()))
        .input("drift_mm", drift_mm),
    });

    let mut rationale = Rationale::new(
        Basis::reference(&LENGTHENING_DISTRACTION_SOURCE),
        format!(
            "through {as_of}: planned {} mm ({planned_total} turns), done {} mm ({done_total} turns), drift {} mm; \
             {} missed day(s), {} short day(s)",
            num(planned_mm),
            num(done_mm),
            num(drift_mm),
            missed_days.len(),
            short_days.len()
        ),
    )
    .also(Basis::setting("lengthening.behind_tolerance_mm", format!("{} mm", num(settings.behind_tolerance_mm))))
    .also(Basis::setting("lengthening.ahead_tolerance_mm", format!("{} mm", num(settings.ahead_tolerance_mm))))
    .input("as_of", as_of.to_string());
    if early_turns > 0 {
        rationale.push_flag(
            FlagKind::Review,
            format!(
                "{early_turns} turn(s) logged before distraction was due to start ({})",
                plan.distraction_starts_on
            ),
        );
    }
    if done_total > u64::from(plan.total_turns) {
        rationale.push_flag(
            FlagKind::Review,
            format!("{done_total} turns logged, more than the {} the plan has in all", plan.total_turns),
        );
    }
    Ok(DistractionReview { as_of, planned_mm, done_mm, drift_mm, missed_days, short_days, days, alert, rationale })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::group;
    use proptest::prelude::*;
    use time::macros::date;

    fn input() -> LengtheningInput {
        LengtheningInput {
            target: LengtheningTarget::Millimetres { mm: 40.0 },
            osteotomy_date: date!(2025 - 01 - 06),
            latency_days: 7,
            rate_mm_per_day: 1.0,
            turns_per_day: 4,
            mm_per_turn: 0.25,
            healing_index_days_per_cm: 41.4,
            healing_index_counts_from: HealingIndexCountsFrom::Osteotomy,
        }
    }

    #[test]
    fn forty_mm_at_one_mm_a_day() {
        let p = lengthening_plan(&input()).unwrap();
        assert_eq!((p.total_turns, p.planned_mm, p.days.len()), (160, 40.0, 40));
        // Latency 7 days after 6 January: distraction from 13 January, 40 days to 21 February.
        assert_eq!(p.distraction_starts_on, date!(2025 - 01 - 13));
        assert_eq!(p.distraction_ends_on, date!(2025 - 02 - 21));
        assert_eq!(p.days[0].turns, 4);
        assert_eq!(p.days[0].cumulative_mm, 1.0);
        assert_eq!(p.days[39].cumulative_mm, 40.0);
        // 41.4 d/cm × 4 cm = 165.6 -> 166 days after the osteotomy = 21 June.
        assert_eq!(p.consolidation_ends_on.value, date!(2025 - 06 - 21));
        let r = &p.consolidation_ends_on.rationale;
        for needle in ["41.4", "49.1", "UNVERIFIED", "30–40"] {
            assert!(r.rule.contains(needle), "{needle}: {}", r.rule);
        }
        assert!(r.has_flag(FlagKind::SingleSource));
        assert_eq!(r.source_ids(), vec!["protocols.lengthening.healing_index"]);
        // Reference values: no review flags on rate, rhythm or latency.
        assert!(p.rate.rationale.flags.is_empty());
        assert!(p.latency.rationale.flags.is_empty());
        // Counted from the end of distraction instead: 21 February + 166 days = 6 August.
        let from_end =
            LengtheningInput { healing_index_counts_from: HealingIndexCountsFrom::EndOfDistraction, ..input() };
        assert_eq!(lengthening_plan(&from_end).unwrap().consolidation_ends_on.value, date!(2025 - 08 - 06));
    }

    #[test]
    fn values_other_than_the_references_are_flagged_not_refused() {
        let slow = LengtheningInput { rate_mm_per_day: 0.75, turns_per_day: 3, latency_days: 10, ..input() };
        let p = lengthening_plan(&slow).unwrap();
        assert!(p.rate.rationale.flags.iter().any(|f| f.message.contains("differs from the reference's 1 mm/day")));
        assert!(!p.rate.rationale.flags.iter().any(|f| f.message.contains("increments a day")), "3 a day is common");
        assert!(p.latency.rationale.has_flag(FlagKind::Review));
        assert_eq!(p.days.len(), 54); // 160 turns at 3 a day
        assert_eq!(p.days[53].turns, 1);
        let two = LengtheningInput { rate_mm_per_day: 0.5, turns_per_day: 2, ..input() };
        assert!(lengthening_plan(&two).unwrap().rate.rationale.flags.iter().any(|f| f.message.contains("increments")));
    }

    #[test]
    fn a_target_that_is_not_whole_turns_is_planned_to_the_next_turn() {
        let p = lengthening_plan(&LengtheningInput { target: LengtheningTarget::Millimetres { mm: 10.1 }, ..input() })
            .unwrap();
        assert_eq!((p.total_turns, p.planned_mm), (41, 10.25));
        assert_eq!(p.days.len(), 11);
        assert_eq!(p.days[10].turns, 1);
        assert!(p.target_mm.rationale.has_flag(FlagKind::Review));
    }

    #[test]
    fn a_childs_target_comes_from_the_paley_prediction() {
        // §9.2 example: boy, 4 y, congenital LLD 3 cm: 3 × 2.000 = 6.0 cm at maturity.
        let paley: limb_length::Input =
            serde_json::from_str(r#"{"sex":"male","age_years":4,"type":"congenital","current_lld_cm":3}"#).unwrap();
        let p = lengthening_plan(&LengtheningInput { target: LengtheningTarget::PaleyPrediction { paley }, ..input() })
            .unwrap();
        assert_eq!(p.target_mm.value, 60.0);
        assert_eq!(p.total_turns, 240);
        let ids = p.target_mm.rationale.source_ids();
        assert!(ids.contains(&"limb_length.paley_formulas".to_owned()));
        assert!(ids.contains(&"limb_length.paley_lld_multipliers".to_owned()));
        assert!(p.target_mm.rationale.has_flag(FlagKind::SingleSource));
        assert!(p.target_mm.rationale.flags.iter().any(|f| f.message.contains("clinician's decision")));
        let old: limb_length::Input =
            serde_json::from_str(r#"{"sex":"male","age_years":18,"type":"congenital","current_lld_cm":3}"#).unwrap();
        let e = lengthening_plan(&LengtheningInput {
            target: LengtheningTarget::PaleyPrediction { paley: old },
            ..input()
        })
        .unwrap_err();
        assert_eq!(e.field, "target.paley.age_years");
    }

    #[test]
    fn invalid_input_names_the_field() {
        let cases: Vec<(LengtheningInput, &str)> = vec![
            (LengtheningInput { turns_per_day: 3, ..input() }, "mm_per_turn"),
            (LengtheningInput { turns_per_day: 0, ..input() }, "turns_per_day"),
            (LengtheningInput { rate_mm_per_day: f64::NAN, ..input() }, "rate_mm_per_day"),
            (LengtheningInput { mm_per_turn: 0.0, ..input() }, "mm_per_turn"),
            (LengtheningInput { latency_days: 61, ..input() }, "latency_days"),
            (LengtheningInput { target: LengtheningTarget::Millimetres { mm: 0.0 }, ..input() }, "target.mm"),
            (LengtheningInput { healing_index_days_per_cm: 0.5, ..input() }, "healing_index_days_per_cm"),
            // 5 d/cm × 4 cm = 20 days after the osteotomy, before distraction ends (day 46).
            (LengtheningInput { healing_index_days_per_cm: 5.0, ..input() }, "healing_index_days_per_cm"),
            (LengtheningInput { osteotomy_date: date!(1800 - 01 - 01), ..input() }, "osteotomy_date"),
        ];
        for (i, field) in cases {
            assert_eq!(lengthening_plan(&i).unwrap_err().field, field);
        }
    }

    fn log(turns: &[u32]) -> Vec<DistractionLogEntry> {
        let start = date!(2025 - 01 - 13);
        turns
            .iter()
            .enumerate()
            .map(|(i, t)| DistractionLogEntry { date: start + Duration::days(i as i64), turns: *t })
            .filter(|e| e.turns > 0)
            .collect()
    }

    #[test]
    fn a_log_that_falls_behind_raises_the_alert() {
        let p = lengthening_plan(&input()).unwrap();
        // Days 1–5 in full, day 6 missed, day 7 half: 22 of 28 turns = 5.5 of 7 mm, 1.5 mm behind.
        let entries = log(&[4, 4, 4, 4, 4, 0, 2]);
        let as_of = date!(2025 - 01 - 19);
        let settings = DriftSettings { behind_tolerance_mm: 1.0, ..DriftSettings::default() };
        let r = review_distraction(&p, &entries, as_of, &settings).unwrap();
        assert_eq!((r.planned_mm, r.done_mm, r.drift_mm), (7.0, 5.5, -1.5));
        assert_eq!(r.missed_days, vec![date!(2025 - 01 - 18)]);
        assert_eq!(r.short_days, vec![date!(2025 - 01 - 19)]);
        let a = r.alert.as_ref().expect("1.5 mm behind is more than the 1 mm tolerance");
        assert_eq!((a.direction, a.level), (DriftDirection::Behind, TriageLevel::ContactTeamToday));
        assert_eq!(a.rationale.source_ids()[0], "programme_setting:lengthening.behind_tolerance_mm");
        assert_eq!(r.days.len(), 7);
        assert_eq!(r.days[5].drift_mm, -1.0);
        // Within tolerance: no alert. Exactly at it: no alert (it must pass the tolerance).
        let loose = DriftSettings { behind_tolerance_mm: 2.0, ..DriftSettings::default() };
        assert!(review_distraction(&p, &entries, as_of, &loose).unwrap().alert.is_none());
        let exact = DriftSettings { behind_tolerance_mm: 1.5, ..DriftSettings::default() };
        assert!(review_distraction(&p, &entries, as_of, &exact).unwrap().alert.is_none());
        // The default tolerance adds no number: any drift alerts.
        assert!(review_distraction(&p, &entries, as_of, &DriftSettings::default()).unwrap().alert.is_some());
        // On track: nothing.
        let on_track = review_distraction(&p, &log(&[4; 7]), as_of, &DriftSettings::default()).unwrap();
        assert_eq!(on_track.drift_mm, 0.0);
        assert!(on_track.alert.is_none() && on_track.missed_days.is_empty());
    }

    #[test]
    fn ahead_of_the_plan_and_turns_during_latency_are_shown() {
        let p = lengthening_plan(&input()).unwrap();
        let settings = DriftSettings { ahead_tolerance_mm: 0.5, ..DriftSettings::default() };
        let r = review_distraction(&p, &log(&[5, 5, 5, 5]), date!(2025 - 01 - 16), &settings).unwrap();
        assert_eq!(r.drift_mm, 1.0);
        assert_eq!(r.alert.as_ref().map(|a| a.direction), Some(DriftDirection::Ahead));
        let early = vec![DistractionLogEntry { date: date!(2025 - 01 - 10), turns: 2 }];
        let r = review_distraction(&p, &early, date!(2025 - 01 - 12), &DriftSettings::default()).unwrap();
        assert_eq!(r.drift_mm, 0.5);
        assert_eq!(r.days[0].date, date!(2025 - 01 - 10));
        assert!(r.rationale.flags.iter().any(|f| f.message.contains("before distraction was due")));
    }

    #[test]
    fn repeated_reviews_behind_group_into_one_alert() {
        let p = lengthening_plan(&input()).unwrap();
        let entries = log(&[4, 4, 0, 0]);
        let mut signals = Vec::new();
        for (i, day) in [date!(2025 - 01 - 15), date!(2025 - 01 - 16)].into_iter().enumerate() {
            let r = review_distraction(&p, &entries, day, &DriftSettings::default()).unwrap();
            signals.extend(r.signal("patient-1", i as i64 * 86_400_000));
        }
        let alerts = group(Vec::new(), &signals).unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].count, 2);
        assert_eq!(alerts[0].key.kind, AlertKind::DistractionDrift { direction: "behind".into() });
        assert_eq!(alerts[0].latest_summary, "distraction 2 mm behind the plan on 2025-01-16");
    }

    #[test]
    fn drift_errors_name_the_field() {
        let p = lengthening_plan(&input()).unwrap();
        let s = DriftSettings::default();
        let as_of = date!(2025 - 01 - 20);
        let one = |d: Date, t: u32| vec![DistractionLogEntry { date: d, turns: t }];
        assert_eq!(review_distraction(&p, &one(date!(2025 - 01 - 21), 4), as_of, &s).unwrap_err().field, "log[0].date");
        assert_eq!(review_distraction(&p, &one(date!(2025 - 01 - 05), 4), as_of, &s).unwrap_err().field, "log[0].date");
        assert_eq!(
            review_distraction(&p, &one(date!(2025 - 01 - 14), 101), as_of, &s).unwrap_err().field,
            "log[0].turns"
        );
        assert_eq!(review_distraction(&p, &[], date!(2025 - 01 - 01), &s).unwrap_err().field, "as_of");
        let bad = DriftSettings { behind_tolerance_mm: -1.0, ..s };
        assert_eq!(review_distraction(&p, &[], as_of, &bad).unwrap_err().field, "settings.behind_tolerance_mm");
    }

    #[test]
    fn json_shapes() {
        let i: LengtheningInput = serde_json::from_str(
            r#"{"target":{"from":"millimetres","mm":40},"osteotomy_date":"2025-01-06","latency_days":7,
                "rate_mm_per_day":1,"turns_per_day":4,"mm_per_turn":0.25,"healing_index_days_per_cm":41.4,
                "healing_index_counts_from":"osteotomy"}"#,
        )
        .unwrap();
        assert_eq!(i, input());
        assert!(serde_json::from_str::<LengtheningInput>(r#"{"target":{"from":"guess"}}"#).is_err());
        let v = serde_json::to_value(lengthening_plan(&i).unwrap()).unwrap();
        assert_eq!(v["distraction_ends_on"], "2025-02-21");
        assert_eq!(v["consolidation_ends_on"]["value"], "2025-06-21");
        assert_eq!(v["days"][0]["turns"], 4);
    }

    proptest! {
        #[test]
        fn no_input_panics(
            mm in prop_oneof![any::<f64>(), 0.0..600.0f64],
            latency in 0u32..80,
            tpd in 0u32..30,
            per_turn in prop_oneof![any::<f64>(), 0.0..6.0f64, Just(0.25)],
            hi in prop_oneof![any::<f64>(), 0.0..400.0f64],
            from_end in any::<bool>(),
            turns in proptest::collection::vec(0u32..120, 0..80),
            as_of in 0i64..200,
            tolerance in prop_oneof![any::<f64>(), 0.0..5.0f64],
        ) {
            let i = LengtheningInput {
                target: LengtheningTarget::Millimetres { mm },
                osteotomy_date: date!(2025 - 01 - 06),
                latency_days: latency,
                rate_mm_per_day: f64::from(tpd) * per_turn,
                turns_per_day: tpd,
                mm_per_turn: per_turn,
                healing_index_days_per_cm: hi,
                healing_index_counts_from: if from_end { HealingIndexCountsFrom::EndOfDistraction } else { HealingIndexCountsFrom::Osteotomy },
            };
            if let Ok(p) = lengthening_plan(&i) {
                prop_assert!(p.planned_mm + 1e-9 >= p.target_mm.value);
                prop_assert!(p.consolidation_ends_on.value >= p.distraction_ends_on);
                prop_assert_eq!(p.days.iter().map(|d| d.turns).sum::<u32>(), p.total_turns);
                let entries: Vec<DistractionLogEntry> = turns.iter().enumerate().map(|(k, t)| DistractionLogEntry {
                    date: date!(2025 - 01 - 06) + Duration::days(k as i64), turns: *t }).collect();
                let s = DriftSettings { behind_tolerance_mm: tolerance, ahead_tolerance_mm: tolerance, ..DriftSettings::default() };
                if let Ok(r) = review_distraction(&p, &entries, date!(2025 - 01 - 06) + Duration::days(as_of), &s) {
                    prop_assert!((r.drift_mm - (r.done_mm - r.planned_mm)).abs() < 1e-6);
                    prop_assert_eq!(r.alert.is_some(), r.drift_mm.abs() > tolerance + 1e-9);
                    let _ = serde_json::to_string(&r).unwrap();
                }
            }
        }
    }
}
