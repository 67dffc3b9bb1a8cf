//! The osseointegration rehabilitation plan of the clinic protocol
//! (REFERENCES.md §12.6, with §12.5 and §12.7), day by day, and a loading log
//! compared with it.
//!
//! What the reference gives, and what it does not:
//! - **Phase I, static loading** (all patients): 20 minutes twice a day, from
//!   as early as the day after surgery, starting at 5 kg and rising to
//!   "50 % of the body weight or max. 50 kg". That cap is read as
//!   `min(0.5 × body weight, 50 kg)`: an interpretation the reference asks to
//!   confirm (§14 item 10), flagged in every plan.
//! - **The rate of increase** is "set by bone status: pre-operative DEXA plus
//!   the intra-operative assessment", with no number. LimbPath takes it from
//!   the clinician (`clinician_kg_per_day`) or, failing that, from the
//!   programme's kg/day per bone status ([`LoadingRates`], a programme
//!   setting, slower in osteoporosis, no default). Bone status is the
//!   clinician's category (normal / osteopenia / osteoporosis, after DEXA and
//!   the intra-operative assessment). The pack and the existing candidacy
//!   module give **no T-score bands**; a programme may configure them
//!   ([`TScoreBands`], no default) to derive the category from the T-score
//!   when the clinician has not given one.
//! - **Phase II, gait training**, is for "knee amputees", read as transfemoral
//!   (§14 item 10, flagged); its timing and dose are not given, so it has no
//!   dates unless the team enters the day it started.
//! - **Phase III, final prosthesis**: two crutches for 6 weeks, then one for 6
//!   weeks, then walking unassisted in the following weeks. The reference says
//!   these are typical values, not deadlines, and not to derive hard dates from
//!   them: the walking aid is shown per day only from the fitting date the team
//!   enters, flagged as typical.
//! - **No excessive physical activity for the first 12 months** (§12.7): each
//!   day says whether it falls in those months (12 calendar months after the
//!   surgery date; 29 February → 28 February).
//! - **Loading log**: over the day's target, under it by more than the
//!   programme's tolerance, missed days, fewer sessions than planned, a load
//!   logged on a day without static loading, and pain at or above the
//!   programme's NRS setting. §12 gives **no pain threshold**; the Radboudumc
//!   NRS <5 belongs to a different programme (§11: never merge their numbers),
//!   so the clinic default is no pain threshold.

use crate::alerts::{AlertKey, AlertKind, AlertSignal};
use crate::rationale::{Basis, Rationale, Reasoned};
use crate::sources::{
    OI_AOFE_SOURCE, OI_FOLLOW_UP_SOURCE, OI_OPRA_SOURCE, OI_RADBOUDUMC_SOURCE, OI_REHABILITATION_SOURCE,
    OI_SURGERY_SOURCE,
};
use crate::triage::{ProgrammeLevel, TriageLevel, check_version};
use limbpath_clinical::InvalidInput;
use limbpath_clinical::explain::{FlagKind, InputValue, Source, number as num};
use limbpath_record::Date;
use serde::{Deserialize, Serialize};
use time::{Duration, Month};

pub use limbpath_clinical::osseointegration::AmputationLevel;

type Result<T> = std::result::Result<T, InvalidInput>;

/// The numbers of a rehabilitation protocol: a configurable template
/// (REFERENCES.md "protocol numbers are configurable templates, not
/// constants"). [`OI_CLINIC_TEMPLATE`] is the clinic's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OiRehabTemplate {
    pub id: &'static str,
    #[serde(serialize_with = "source_id")]
    pub source: &'static Source,
    /// Phase I sessions per day.
    pub sessions_per_day: u8,
    /// Phase I minutes per session.
    pub minutes_per_session: u16,
    /// Earliest day of Phase I (day 0 = the day of surgery).
    pub earliest_start_day: u32,
    /// Phase I starting load.
    pub start_load_kg: f64,
    /// Phase I target as a fraction of body weight…
    pub target_fraction_of_body_weight: f64,
    /// …capped at this load.
    pub target_cap_kg: f64,
    /// Phase III: weeks on two crutches, then weeks on one.
    pub two_crutches_weeks: u32,
    pub one_crutch_weeks: u32,
    /// Months after surgery without excessive physical activity.
    pub no_excessive_activity_months: u8,
}

fn source_id<S: serde::Serializer>(source: &&'static Source, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(source.id)
}

// source: clinic protocol as published by the treating institute (osseointegration patient information) | REFERENCES.md §12.6, §12.7 | status: SINGLE-SOURCE (cap = min(50 % BW, 50 kg) is an interpretation, §14 item 10)
/// The clinic protocol's rehabilitation numbers (§12.6; 12 months from §12.7).
pub const OI_CLINIC_TEMPLATE: OiRehabTemplate = OiRehabTemplate {
    id: "oi_programme_clinic",
    source: &OI_REHABILITATION_SOURCE,
    sessions_per_day: 2,
    minutes_per_session: 20,
    earliest_start_day: 1,
    start_load_kg: 5.0,
    target_fraction_of_body_weight: 0.5,
    target_cap_kg: 50.0,
    two_crutches_weeks: 6,
    one_crutch_weeks: 6,
    no_excessive_activity_months: 12,
};

// source: clinic protocol as published by the treating institute (osseointegration patient information) | REFERENCES.md §12.5 | status: SINGLE-SOURCE
/// Skin sutures "usually removed partially at 3 weeks and completely at 4 weeks".
pub const SUTURES_PARTLY_REMOVED_DAY: u32 = 21;
// source: clinic protocol as published by the treating institute (osseointegration patient information) | REFERENCES.md §12.5 | status: SINGLE-SOURCE
pub const SUTURES_FULLY_REMOVED_DAY: u32 = 28;

// Input bounds (engineering, not clinical): a body weight a scale reads for a
// person from whom 50 % is at least the 5 kg starting load; a plan of at most
// two years; a loading rate the scale can show (0.1 kg/day) up to the whole cap in a day.
const BODY_WEIGHT_KG: limbpath_clinical::limits::Plausible =
    limbpath_clinical::limits::Plausible { min: 10.0, max: 400.0, unit: "kg" };
const KG_PER_DAY: limbpath_clinical::limits::Plausible =
    limbpath_clinical::limits::Plausible { min: 0.1, max: 50.0, unit: "kg/day" };
const LOAD_KG: limbpath_clinical::limits::Plausible =
    limbpath_clinical::limits::Plausible { min: 0.0, max: 400.0, unit: "kg" };
const TOLERANCE_KG: limbpath_clinical::limits::Plausible =
    limbpath_clinical::limits::Plausible { min: 0.0, max: 50.0, unit: "kg" };
const T_SCORE: limbpath_clinical::limits::Plausible =
    limbpath_clinical::limits::Plausible { min: -10.0, max: 10.0, unit: "SD" };
/// The longest plan laid out day by day.
pub const PLAN_DAYS_MAX: u32 = 730;

/// Bone status, as the clinician categorises it from the DEXA and the
/// intra-operative assessment (WHO category names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoneStatus {
    Normal,
    Osteopenia,
    Osteoporosis,
}

impl BoneStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BoneStatus::Normal => "normal",
            BoneStatus::Osteopenia => "osteopenia",
            BoneStatus::Osteoporosis => "osteoporosis",
        }
    }
}

/// The bone assessment the Phase I rate rests on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoneAssessment {
    /// Pre-operative DEXA T-score (SD).
    pub dexa_t_score: Option<f64>,
    /// The clinician's category after DEXA and the intra-operative assessment.
    pub clinician_category: Option<BoneStatus>,
}

/// T-score bands a programme may configure (programme setting; the pack
/// gives none). A T-score at or below `osteoporosis_at_or_below` is
/// osteoporosis; otherwise below `osteopenia_below` is osteopenia; otherwise
/// normal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TScoreBands {
    pub osteopenia_below: f64,
    pub osteoporosis_at_or_below: f64,
}

impl TScoreBands {
    fn category(&self, t: f64) -> BoneStatus {
        if t <= self.osteoporosis_at_or_below {
            BoneStatus::Osteoporosis
        } else if t < self.osteopenia_below {
            BoneStatus::Osteopenia
        } else {
            BoneStatus::Normal
        }
    }
}

/// Phase I increase per day by bone status (programme setting; the pack gives
/// no number). Must be slower (or equal) as bone status worsens, and strictly
/// slower in osteoporosis than in normal bone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadingRates {
    pub normal_kg_per_day: f64,
    pub osteopenia_kg_per_day: f64,
    pub osteoporosis_kg_per_day: f64,
}

impl LoadingRates {
    fn rate(&self, status: BoneStatus) -> (f64, &'static str) {
        match status {
            BoneStatus::Normal => (self.normal_kg_per_day, "oi_rehab.loading_rates.normal_kg_per_day"),
            BoneStatus::Osteopenia => (self.osteopenia_kg_per_day, "oi_rehab.loading_rates.osteopenia_kg_per_day"),
            BoneStatus::Osteoporosis => {
                (self.osteoporosis_kg_per_day, "oi_rehab.loading_rates.osteoporosis_kg_per_day")
            }
        }
    }
}

/// The programme's settings for the rehabilitation plan. No default: the
/// loading rates are the programme's to set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RehabSettings {
    pub version: String,
    pub loading_rates: LoadingRates,
    /// `None`: the clinician's bone category is required (or a clinician rate).
    pub t_score_bands: Option<TScoreBands>,
}

impl RehabSettings {
    /// Check the settings, naming the field (`settings.<name>`).
    pub fn validate(&self) -> Result<()> {
        check_version("settings.version", &self.version)?;
        let r = &self.loading_rates;
        KG_PER_DAY.check("settings.loading_rates.normal_kg_per_day", r.normal_kg_per_day)?;
        KG_PER_DAY.check("settings.loading_rates.osteopenia_kg_per_day", r.osteopenia_kg_per_day)?;
        KG_PER_DAY.check("settings.loading_rates.osteoporosis_kg_per_day", r.osteoporosis_kg_per_day)?;
        if r.osteopenia_kg_per_day > r.normal_kg_per_day {
            return Err(InvalidInput::inconsistent(
                "settings.loading_rates.osteopenia_kg_per_day",
                r.osteopenia_kg_per_day,
                format!(
                    "at most the normal-bone rate ({} kg/day): slower as bone status worsens",
                    num(r.normal_kg_per_day)
                ),
            ));
        }
        if r.osteoporosis_kg_per_day > r.osteopenia_kg_per_day || r.osteoporosis_kg_per_day >= r.normal_kg_per_day {
            return Err(InvalidInput::inconsistent(
                "settings.loading_rates.osteoporosis_kg_per_day",
                r.osteoporosis_kg_per_day,
                format!(
                    "at most the osteopenia rate ({} kg/day) and below the normal-bone rate ({} kg/day): slower in \
                     osteoporosis",
                    num(r.osteopenia_kg_per_day),
                    num(r.normal_kg_per_day)
                ),
            ));
        }
        if let Some(b) = &self.t_score_bands {
            T_SCORE.check("settings.t_score_bands.osteopenia_below", b.osteopenia_below)?;
            T_SCORE.check("settings.t_score_bands.osteoporosis_at_or_below", b.osteoporosis_at_or_below)?;
            if b.osteoporosis_at_or_below >= b.osteopenia_below {
                return Err(InvalidInput::inconsistent(
                    "settings.t_score_bands.osteoporosis_at_or_below",
                    b.osteoporosis_at_or_below,
                    format!("below osteopenia_below ({})", num(b.osteopenia_below)),
                ));
            }
        }
        Ok(())
    }
}

/// What the plan is made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RehabInput {
    pub surgery_date: Date,
    pub body_weight_kg: f64,
    pub amputation_level: AmputationLevel,
    #[serde(default)]
    pub bone: BoneAssessment,
    /// The clinician's Phase I increase, kg/day: the reference's own model
    /// ("set by the clinician"). Takes precedence over the programme's rates.
    pub clinician_kg_per_day: Option<f64>,
    /// The day Phase I starts (default and earliest: the day after surgery).
    pub phase_one_start_day: Option<u32>,
    /// The date gait training (Phase II) started, when the team has set it.
    pub gait_training_started_on: Option<Date>,
    /// The date the final prosthesis was fitted (Phase III), when known.
    pub final_prosthesis_fitted_on: Option<Date>,
    /// Lay the plan out through this day (default: until the Phase I target
    /// is reached, or through the typical crutch weeks after fitting).
    pub through_day: Option<u32>,
}

/// The phase a day belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RehabPhase {
    /// After surgery, before Phase I starts.
    BeforeLoading,
    /// Phase I.
    StaticLoading,
    /// Phase II.
    GaitTraining,
    /// Phase III.
    FinalProsthesis,
}

/// The walking aid of a Phase III day (typical values, not deadlines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WalkingAid {
    TwoCrutches,
    OneCrutch,
    /// "Walking unassisted in the following weeks".
    UnassistedInTheFollowingWeeks,
}

/// One day of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanDay {
    /// Days since surgery (0 = the day of surgery).
    pub day: u32,
    pub date: Date,
    pub phase: RehabPhase,
    /// Phase I target load for the day.
    pub target_load_kg: Option<f64>,
    pub sessions_per_day: Option<u8>,
    pub minutes_per_session: Option<u16>,
    pub walking_aid: Option<WalkingAid>,
    /// Within the first 12 months: no excessive physical activity.
    pub excessive_activity_restricted: bool,
    pub notes: Vec<String>,
}

/// The day-by-day rehabilitation plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RehabPlan {
    pub template_id: &'static str,
    pub settings_version: String,
    pub surgery_date: Date,
    /// Phase I target load, kg (flagged interpretation).
    pub target_load_kg: Reasoned<f64>,
    /// The bone status used, if one was needed.
    pub bone_status: Reasoned<Option<BoneStatus>>,
    /// Phase I increase per day, kg.
    pub kg_per_day: Reasoned<f64>,
    pub phase_one_start_day: u32,
    /// The first day at the target load.
    pub target_reached_day: u32,
    pub target_reached_on: Date,
    /// Whether Phase II (gait training) is part of this patient's plan.
    pub gait_training: Reasoned<bool>,
    /// The first day after the 12 months without excessive activity.
    pub excessive_activity_restricted_until: Reasoned<Date>,
    pub days: Vec<PlanDay>,
    /// Plan-wide notes from §12.6–§12.7.
    pub notes: Vec<String>,
    pub rationale: Rationale,
}

fn add_days(field: &str, date: Date, days: u32) -> Result<Date> {
    date.checked_add(Duration::days(i64::from(days)))
        .ok_or_else(|| InvalidInput::out_of_range(field, date, "a date whose plan stays within the calendar"))
}

/// The same calendar day `months` months later (29 February → 28 February).
fn add_months(field: &str, date: Date, months: u8) -> Result<Date> {
    let total = i32::from(date.month() as u8) - 1 + i32::from(months);
    let year = date.year() + total / 12;
    let month = Month::try_from((total % 12 + 1) as u8).unwrap_or(Month::January);
    let mut day = date.day();
    loop {
        if let Ok(d) = Date::from_calendar_date(year, month, day) {
            return Ok(d);
        }
        if day <= 28 {
            return Err(InvalidInput::out_of_range(field, date, "a date whose plan stays within the calendar"));
        }
        day -= 1;
    }
}

fn days_between(from: Date, to: Date) -> i64 {
    (to - from).whole_days()
}

/// The Phase I load on `day` (capped at the target).
fn load_on(template: &OiRehabTemplate, start_day: u32, kg_per_day: f64, target: f64, day: u32) -> f64 {
    let steps = f64::from(day.saturating_sub(start_day));
    let load = template.start_load_kg + steps * kg_per_day;
    // Within a microgram of the target is the target (float steps such as 0.1 kg/day).
    if load >= target - 1e-6 { target } else { load }
}

fn validate_template(t: &OiRehabTemplate) -> Result<()> {
    let bad =
        |field: &str, v: String| Err(InvalidInput::out_of_range(format!("template.{field}"), v, "a positive value"));
    if t.sessions_per_day == 0 {
        return bad("sessions_per_day", "0".into());
    }
    if t.minutes_per_session == 0 {
        return bad("minutes_per_session", "0".into());
    }
    for (field, v) in [
        ("start_load_kg", t.start_load_kg),
        ("target_fraction_of_body_weight", t.target_fraction_of_body_weight),
        ("target_cap_kg", t.target_cap_kg),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return bad(field, v.to_string());
        }
    }
    Ok(())
}

/// The day-by-day plan for a patient.
pub fn rehab_plan(template: &OiRehabTemplate, settings: &RehabSettings, input: &RehabInput) -> Result<RehabPlan> {
    validate_template(template)?;
    settings.validate()?;
    if input.surgery_date.year() < 1900 || input.surgery_date.year() > 2200 {
        return Err(InvalidInput::out_of_range(
            "surgery_date",
            input.surgery_date,
            "a date from 1900-01-01 to 2200-12-31",
        ));
    }
    let weight = BODY_WEIGHT_KG.check("body_weight_kg", input.body_weight_kg)?;
    let clinician_rate = KG_PER_DAY.check_opt("clinician_kg_per_day", input.clinician_kg_per_day)?;
    let t_score = T_SCORE.check_opt("bone.dexa_t_score", input.bone.dexa_t_score)?;
    let start_day = input.phase_one_start_day.unwrap_or(template.earliest_start_day);
    if start_day < template.earliest_start_day || start_day > PLAN_DAYS_MAX {
        return Err(InvalidInput::out_of_range(
            "phase_one_start_day",
            start_day,
            format!(
                "a day from {} (Phase I can start as early as the day after surgery, §12.6) to {PLAN_DAYS_MAX}",
                template.earliest_start_day
            ),
        ));
    }
    let surgery = input.surgery_date;
    let red = &OI_REHABILITATION_SOURCE;

    // Target: min(fraction × body weight, cap) — an interpretation.
    let fraction_kg = template.target_fraction_of_body_weight * weight;
    let target = fraction_kg.min(template.target_cap_kg).max(template.start_load_kg);
    let capped = fraction_kg > template.target_cap_kg;
    let target_load_kg = Reasoned {
        value: target,
        rationale: Rationale::new(
            Basis::reference(red),
            format!(
                "Phase I target = min({} × body weight, {} kg) = min({} kg, {} kg) = {} kg{}",
                num(template.target_fraction_of_body_weight),
                num(template.target_cap_kg),
                num(fraction_kg),
                num(template.target_cap_kg),
                num(target),
                if capped { " (the cap applies)" } else { "" }
            ),
        )
        .input("body_weight_kg", weight)
        .flag(
            FlagKind::Review,
            "interpretation: the protocol says \"50 % of the body weight or max. 50 kg\"; read here as \
             min(50 % body weight, 50 kg). Confirm with the treating team (REFERENCES.md §14 item 10)",
        )
        .flag(FlagKind::SingleSource, "clinic osseointegration protocol: single source"),
    };

    // Bone status and the rate of increase.
    let from_bands = match (settings.t_score_bands, t_score) {
        (Some(b), Some(t)) => Some(b.category(t)),
        _ => None,
    };
    let bone_status_value = input.bone.clinician_category.or(from_bands);
    let mut bone_rationale = match (input.bone.clinician_category, from_bands) {
        (Some(c), _) => Rationale::new(
            Basis::reference(red),
            format!(
                "bone status {} as categorised by the clinician from the DEXA and the intra-operative assessment \
                 (§12.4, §12.6)",
                c.as_str()
            ),
        ),
        (None, Some(c)) => {
            let b =
                settings.t_score_bands.unwrap_or(TScoreBands { osteopenia_below: 0.0, osteoporosis_at_or_below: 0.0 });
            Rationale::new(
                Basis::setting(
                    "oi_rehab.t_score_bands",
                    format!(
                        "osteoporosis at or below {}, osteopenia below {}",
                        num(b.osteoporosis_at_or_below),
                        num(b.osteopenia_below)
                    ),
                ),
                format!(
                    "bone status {} from the DEXA T-score {} by the programme's T-score bands (the reference \
                     pack gives no bands); the intra-operative assessment is not included",
                    c.as_str(),
                    num(t_score.unwrap_or(0.0))
                ),
            )
            .also(Basis::reference(red))
            .flag(
                FlagKind::Review,
                "bone status derived from the T-score alone: the protocol sets the rate from the DEXA plus the \
                 intra-operative assessment; confirm the category",
            )
        }
        (None, None) => Rationale::new(Basis::reference(red), "bone status not categorised"),
    };
    bone_rationale.push_input("bone.dexa_t_score", t_score.map_or(InputValue::from("not recorded"), InputValue::from));
    bone_rationale
        .push_input("bone.clinician_category", input.bone.clinician_category.map_or("not given", BoneStatus::as_str));
    if let (Some(c), Some(b)) = (input.bone.clinician_category, from_bands)
        && c != b
    {
        bone_rationale.push_flag(
            FlagKind::Review,
            format!(
                "the clinician's category ({}) differs from the programme's T-score bands ({}): the clinician's is used",
                c.as_str(),
                b.as_str()
            ),
        );
    }

    let kg_per_day = match (clinician_rate, bone_status_value) {
        (Some(r), _) => Reasoned {
            value: r,
            rationale: Rationale::new(
                Basis::reference(red),
                format!(
                    "Phase I increase {} kg/day as set by the clinician (the protocol: the rate is set by bone \
                     status from the DEXA and the intra-operative assessment, §12.6)",
                    num(r)
                ),
            )
            .input("clinician_kg_per_day", r)
            .flag(FlagKind::ClinicianOverride, "rate set by the clinician"),
        },
        (None, Some(status)) => {
            let (r, setting) = settings.loading_rates.rate(status);
            Reasoned {
                value: r,
                rationale: Rationale::new(
                    Basis::setting(setting, format!("{} kg/day", num(r))),
                    format!(
                        "Phase I increase {} kg/day for {} bone: the programme's rate (the protocol sets the rate by \
                         bone status but gives no number, §12.6)",
                        num(r),
                        status.as_str()
                    ),
                )
                .also(Basis::reference(red))
                .input("bone_status", status.as_str()),
            }
        }
        (None, None) => {
            return Err(InvalidInput::missing(
                "bone.clinician_category",
                "the clinician's bone category (normal, osteopenia or osteoporosis) from the DEXA and the \
                 intra-operative assessment, or clinician_kg_per_day, or a DEXA T-score with t_score_bands \
                 configured in the programme settings: the Phase I rate of increase depends on it",
            ));
        }
    };
    let bone_status = Reasoned { value: bone_status_value, rationale: bone_rationale };
    let rate = kg_per_day.value;

    // First day at the target.
    let steps_needed = ((target - template.start_load_kg - 1e-6) / rate).ceil().max(0.0);
    let target_reached_day = start_day.saturating_add(steps_needed.min(f64::from(u32::MAX / 2)) as u32);
    let target_reached_on = add_days("surgery_date", surgery, target_reached_day)?;

    // Phase II.
    let level = input.amputation_level;
    let (gait_applies, gait_rule, gait_flag) = match level {
        AmputationLevel::Transfemoral => (
            true,
            "transfemoral amputation: Phase II (gait training) applies (\"knee amputees\", read as transfemoral)",
            Some("Phase II read as transfemoral amputees: confirm with the treating team (REFERENCES.md §14 item 10)"),
        ),
        AmputationLevel::KneeDisarticulation => (
            true,
            "knee disarticulation: Phase II (gait training) is for \"knee amputees\"; included",
            Some(
                "the protocol's \"knee amputees\" is read as transfemoral; whether it covers knee disarticulation is \
                 not stated: confirm with the treating team (REFERENCES.md §14 item 10)",
            ),
        ),
        AmputationLevel::Transtibial => (false, "transtibial amputation: Phase II (gait training) is skipped", None),
        AmputationLevel::Other => (
            false,
            "other amputation level: Phase II (gait training) is for knee-level amputees; skipped",
            Some("amputation level other than the protocol's: review the plan with the treating team"),
        ),
    };
    let mut gait_rationale =
        Rationale::new(Basis::reference(red), gait_rule).input("amputation_level", amputation_level_str(level));
    if let Some(f) = gait_flag {
        gait_rationale.push_flag(FlagKind::Review, f);
    }
    let gait_training = Reasoned { value: gait_applies, rationale: gait_rationale };

    // Phase dates.
    let phase_day = |field: &str, d: Option<Date>| -> Result<Option<u32>> {
        let Some(d) = d else { return Ok(None) };
        let n = days_between(surgery, d);
        if n < i64::from(start_day) || n > i64::from(PLAN_DAYS_MAX) {
            return Err(InvalidInput::out_of_range(
                field,
                d,
                format!("a date from Phase I start (day {start_day} after surgery) to day {PLAN_DAYS_MAX}"),
            ));
        }
        Ok(Some(n as u32))
    };
    let gait_day = phase_day("gait_training_started_on", input.gait_training_started_on)?;
    let fitted_day = phase_day("final_prosthesis_fitted_on", input.final_prosthesis_fitted_on)?;
    if let Some(d) = input.gait_training_started_on
        && !gait_applies
    {
        return Err(InvalidInput::inconsistent(
            "gait_training_started_on",
            d,
            format!(
                "Phase II (gait training) is for knee-level amputees only; amputation_level is {}",
                amputation_level_str(level)
            ),
        ));
    }
    if let (Some(g), Some(f), Some(fd)) = (gait_day, fitted_day, input.final_prosthesis_fitted_on)
        && f < g
    {
        return Err(InvalidInput::inconsistent(
            "final_prosthesis_fitted_on",
            fd,
            "not before gait_training_started_on: Phase III follows Phase II",
        ));
    }
    let crutch_days = (template.two_crutches_weeks + template.one_crutch_weeks) * 7;
    let default_through = match fitted_day {
        Some(f) => target_reached_day.max(f.saturating_add(crutch_days)),
        None => target_reached_day.max(gait_day.unwrap_or(0)),
    };
    let through_day = input.through_day.unwrap_or(default_through.min(PLAN_DAYS_MAX));
    if through_day == 0 || through_day > PLAN_DAYS_MAX {
        return Err(InvalidInput::out_of_range("through_day", through_day, format!("a day from 1 to {PLAN_DAYS_MAX}")));
    }

    let restricted_until = add_months("surgery_date", surgery, template.no_excessive_activity_months)?;
    let excessive_activity_restricted_until = Reasoned {
        value: restricted_until,
        rationale: Rationale::new(
            Basis::reference(&OI_FOLLOW_UP_SOURCE),
            format!(
                "no excessive physical activity for the first {} months after surgery (§12.7): until {} (the same \
                 calendar day {} months later; 29 February → 28 February)",
                template.no_excessive_activity_months, restricted_until, template.no_excessive_activity_months
            ),
        )
        .input("surgery_date", surgery.to_string()),
    };

    let mut days = Vec::with_capacity(through_day as usize);
    for day in 1..=through_day {
        let date = add_days("surgery_date", surgery, day)?;
        let phase = match (fitted_day, gait_day) {
            (Some(f), _) if day >= f => RehabPhase::FinalProsthesis,
            (_, Some(g)) if day >= g => RehabPhase::GaitTraining,
            _ if day >= start_day => RehabPhase::StaticLoading,
            _ => RehabPhase::BeforeLoading,
        };
        let mut notes = Vec::new();
        let (target_load_kg, sessions, minutes, aid) = match phase {
            RehabPhase::BeforeLoading => {
                notes.push(format!("Phase I starts on day {start_day}"));
                (None, None, None, None)
            }
            RehabPhase::StaticLoading => {
                let load = load_on(template, start_day, rate, target, day);
                notes.push(format!(
                    "static loading on a scale with the loading device: {} × {} minutes at {} kg",
                    template.sessions_per_day,
                    template.minutes_per_session,
                    num(load)
                ));
                if day == target_reached_day {
                    notes.push("target load reached".to_owned());
                }
                (Some(load), Some(template.sessions_per_day), Some(template.minutes_per_session), None)
            }
            RehabPhase::GaitTraining => {
                notes.push(
                    "gait training: prosthetic leg adjusted for gait training; first steps between parallel bars, \
                     then two crutches when safe (timing and dose not specified by the protocol; static loading \
                     during Phase II as the team directs)"
                        .to_owned(),
                );
                (None, None, None, None)
            }
            RehabPhase::FinalProsthesis => {
                let since = day - fitted_day.unwrap_or(day);
                let aid = if since < template.two_crutches_weeks * 7 {
                    WalkingAid::TwoCrutches
                } else if since < crutch_days {
                    WalkingAid::OneCrutch
                } else {
                    WalkingAid::UnassistedInTheFollowingWeeks
                };
                notes.push(format!(
                    "final prosthesis, week {} after fitting: {} (typical values, not deadlines: to minimise falls \
                     and premature overloading of the implant)",
                    since / 7 + 1,
                    match aid {
                        WalkingAid::TwoCrutches => "two crutches",
                        WalkingAid::OneCrutch => "one crutch",
                        WalkingAid::UnassistedInTheFollowingWeeks => "walking unassisted in the following weeks",
                    }
                ));
                (None, None, None, Some(aid))
            }
        };
        if day == SUTURES_PARTLY_REMOVED_DAY {
            notes.push("skin sutures are usually removed partially at about 3 weeks (§12.5)".to_owned());
        }
        if day == SUTURES_FULLY_REMOVED_DAY {
            notes.push("skin sutures are usually removed completely at about 4 weeks (§12.5)".to_owned());
        }
        days.push(PlanDay {
            day,
            date,
            phase,
            target_load_kg,
            sessions_per_day: sessions,
            minutes_per_session: minutes,
            walking_aid: aid,
            excessive_activity_restricted: date < restricted_until,
            notes,
        });
    }

    let notes = vec![
        "Excessive physical activity is to be avoided after surgery; none for the first 12 months (§12.6, §12.7)."
            .to_owned(),
        "Physiotherapy is usually complete by about 3–4 months, when most patients walk without assistive \
         devices; prosthetist and physiotherapist visits continue (§12.7)."
            .to_owned(),
        "Discharge from the skin-implant site is normal after surgery and usually subsides by 3–6 months; it is \
         usually yellow or clear (§12.7)."
            .to_owned(),
        "Components are tightened every 3 months: they may loosen as activity increases (§12.7).".to_owned(),
        "Durations are typical values, not deadlines (§12.6).".to_owned(),
    ];

    let mut rationale = Rationale::new(
        Basis::reference(red),
        format!(
            "clinic protocol Phase I: {} × {} min/day from day {start_day}, {} kg rising by {} kg/day to {} kg \
             (reached on day {target_reached_day}, {target_reached_on}); Phase II {}; Phase III {}; plan laid out \
             through day {through_day}",
            template.sessions_per_day,
            template.minutes_per_session,
            num(template.start_load_kg),
            num(rate),
            num(target),
            match (gait_applies, gait_day) {
                (false, _) => "skipped".to_owned(),
                (true, Some(g)) => format!("from day {g} (entered by the team)"),
                (true, None) => "timing not specified (the team enters the day it starts)".to_owned(),
            },
            match fitted_day {
                Some(f) => format!(
                    "from fitting on day {f}: {} weeks on two crutches, {} on one (typical)",
                    template.two_crutches_weeks, template.one_crutch_weeks
                ),
                None => "timing not specified (the team enters the fitting date)".to_owned(),
            }
        ),
    )
    .also(Basis::reference(&OI_FOLLOW_UP_SOURCE))
    .also(Basis::reference(&OI_SURGERY_SOURCE))
    .input("surgery_date", surgery.to_string())
    .input("body_weight_kg", weight)
    .input("amputation_level", amputation_level_str(level));
    for b in &kg_per_day.rationale.basis {
        rationale.push_basis(b.clone());
    }
    rationale.push_flag(
        FlagKind::SingleSource,
        "clinic osseointegration protocol: single source; re-check before clinical release",
    );
    rationale.push_flag(
        FlagKind::Review,
        "interpretations to confirm with the treating team (§14 item 10): the Phase I cap min(50 % body weight, \
         50 kg), Phase II for transfemoral amputees, and how the rate is set from DEXA",
    );
    if target_reached_day > through_day {
        rationale.push_flag(
            FlagKind::Incomplete,
            format!(
                "the plan is laid out through day {through_day}; the target is reached on day {target_reached_day}"
            ),
        );
    }

    Ok(RehabPlan {
        template_id: template.id,
        settings_version: settings.version.clone(),
        surgery_date: surgery,
        target_load_kg,
        bone_status,
        kg_per_day,
        phase_one_start_day: start_day,
        target_reached_day,
        target_reached_on,
        gait_training,
        excessive_activity_restricted_until,
        days,
        notes,
        rationale,
    })
}

fn amputation_level_str(level: AmputationLevel) -> &'static str {
    match level {
        AmputationLevel::Transfemoral => "transfemoral",
        AmputationLevel::KneeDisarticulation => "knee_disarticulation",
        AmputationLevel::Transtibial => "transtibial",
        AmputationLevel::Other => "other",
    }
}

// ---------------------------------------------------------------------------
// The loading log
// ---------------------------------------------------------------------------

/// One logged loading session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadLogEntry {
    pub date: Date,
    pub load_kg: f64,
    /// Pain during the session, NRS 0–10.
    pub pain_nrs: Option<u8>,
}

/// The programme's settings for reviewing a loading log. The defaults add no
/// number: no tolerance (any difference from the day's target is shown) and
/// no pain threshold (§12 gives none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadingLogSettings {
    pub version: String,
    /// A load above target + this is "over target" (default 0).
    pub over_target_tolerance_kg: f64,
    /// A load below target − this is "under target" (default 0).
    pub under_target_tolerance_kg: f64,
    /// Pain at or above this NRS is a deviation. Default `None`: the clinic
    /// protocol gives no threshold (Radboudumc's NRS <5 is another programme's).
    pub pain_nrs_flag_at_or_above: Option<u8>,
    /// The alert level of a deviation (default contact the team today).
    pub deviation_level: ProgrammeLevel,
}

impl Default for LoadingLogSettings {
    fn default() -> Self {
        LoadingLogSettings {
            version: "default".to_owned(),
            over_target_tolerance_kg: 0.0,
            under_target_tolerance_kg: 0.0,
            pain_nrs_flag_at_or_above: None,
            deviation_level: ProgrammeLevel::ContactTeamToday,
        }
    }
}

impl LoadingLogSettings {
    pub fn validate(&self) -> Result<()> {
        check_version("settings.version", &self.version)?;
        TOLERANCE_KG.check("settings.over_target_tolerance_kg", self.over_target_tolerance_kg)?;
        TOLERANCE_KG.check("settings.under_target_tolerance_kg", self.under_target_tolerance_kg)?;
        if let Some(n) = self.pain_nrs_flag_at_or_above {
            limbpath_clinical::limits::check_grade("settings.pain_nrs_flag_at_or_above", n, 1, 10)?;
        }
        Ok(())
    }
}

/// How a logged day differs from the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviationKind {
    OverTarget,
    UnderTarget,
    MissedDay,
    FewerSessionsThanPlanned,
    LoadOnDayWithoutStaticLoading,
    PainAtOrAboveSetting,
}

impl DeviationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviationKind::OverTarget => "over_target",
            DeviationKind::UnderTarget => "under_target",
            DeviationKind::MissedDay => "missed_day",
            DeviationKind::FewerSessionsThanPlanned => "fewer_sessions_than_planned",
            DeviationKind::LoadOnDayWithoutStaticLoading => "load_on_day_without_static_loading",
            DeviationKind::PainAtOrAboveSetting => "pain_at_or_above_setting",
        }
    }
}

/// One deviation of the log from the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadingDeviation {
    pub kind: DeviationKind,
    pub date: Date,
    /// Days since surgery.
    pub day: i64,
    pub planned_kg: Option<f64>,
    pub logged_kg: Option<f64>,
    pub pain_nrs: Option<u8>,
    pub rationale: Rationale,
}

/// A loading log compared with the plan, through `as_of`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadingReview {
    pub as_of: Date,
    /// Planned static-loading days through `as_of`.
    pub planned_days: u32,
    pub logged_sessions: u32,
    pub deviations: Vec<LoadingDeviation>,
    /// The alert level of the deviations (programme setting).
    pub deviation_level: TriageLevel,
    pub rationale: Rationale,
}

impl LoadingReview {
    /// One alert signal per deviation kind present (repeats group by key).
    pub fn signals(&self, patient_id: &str, at_ms: i64) -> Vec<AlertSignal> {
        if self.deviation_level == TriageLevel::Routine {
            return Vec::new();
        }
        let mut out: Vec<AlertSignal> = Vec::new();
        for d in &self.deviations {
            let key = AlertKey {
                patient_id: patient_id.to_owned(),
                kind: AlertKind::LoadingDeviation { deviation: d.kind.as_str().to_owned() },
            };
            let summary = format!("{} on {}", d.kind.as_str().replace('_', " "), d.date);
            match out.iter_mut().find(|s| s.key == key) {
                Some(s) => s.summary = summary,
                None => out.push(AlertSignal { key, level: self.deviation_level, at_ms, summary }),
            }
        }
        out
    }
}

/// What the plan says for a date: `(day, target, sessions)` on a static-loading
/// day; static loading continues at the target after the plan's last day when
/// that day was static loading.
fn planned_on(plan: &RehabPlan, date: Date) -> Option<(i64, f64, u8)> {
    let day = days_between(plan.surgery_date, date);
    if let Some(p) = plan.days.iter().find(|p| p.date == date) {
        return match (p.phase, p.target_load_kg, p.sessions_per_day) {
            (RehabPhase::StaticLoading, Some(kg), Some(n)) => Some((day, kg, n)),
            _ => None,
        };
    }
    match plan.days.last() {
        Some(last) if date > last.date && last.phase == RehabPhase::StaticLoading => {
            Some((day, plan.target_load_kg.value, last.sessions_per_day.unwrap_or(0)))
        }
        _ => None,
    }
}

/// Compare a loading log with the plan through `as_of`.
pub fn review_loading(
    plan: &RehabPlan,
    log: &[LoadLogEntry],
    as_of: Date,
    settings: &LoadingLogSettings,
) -> Result<LoadingReview> {
    settings.validate()?;
    if days_between(plan.surgery_date, as_of) > i64::from(PLAN_DAYS_MAX) * 4 {
        return Err(InvalidInput::out_of_range("as_of", as_of, "a date within eight years of the surgery date"));
    }
    for (i, e) in log.iter().enumerate() {
        if e.date > as_of {
            return Err(InvalidInput::inconsistent(
                format!("log[{i}].date"),
                e.date,
                format!("not after as_of ({as_of})"),
            ));
        }
        if e.date <= plan.surgery_date {
            return Err(InvalidInput::inconsistent(
                format!("log[{i}].date"),
                e.date,
                format!("after the surgery date ({})", plan.surgery_date),
            ));
        }
        LOAD_KG.check(&format!("log[{i}].load_kg"), e.load_kg)?;
        if let Some(n) = e.pain_nrs {
            limbpath_clinical::limits::check_grade(&format!("log[{i}].pain_nrs"), n, 0, 10)?;
        }
    }
    let over_tol = settings.over_target_tolerance_kg;
    let under_tol = settings.under_target_tolerance_kg;
    let setting = |name: &'static str, v: String| Basis::setting(name, v);
    let red = &OI_REHABILITATION_SOURCE;
    let mut deviations = Vec::new();

    // Each logged session against the day's target.
    for (i, e) in log.iter().enumerate() {
        let day = days_between(plan.surgery_date, e.date);
        let field_note = format!("log[{i}]");
        match planned_on(plan, e.date) {
            Some((_, target, _)) => {
                if e.load_kg > target + over_tol {
                    deviations.push(LoadingDeviation {
                        kind: DeviationKind::OverTarget,
                        date: e.date,
                        day,
                        planned_kg: Some(target),
                        logged_kg: Some(e.load_kg),
                        pain_nrs: e.pain_nrs,
                        rationale: Rationale::new(
                            Basis::reference(red),
                            format!(
                                "{field_note}: {} kg logged on day {day} is above the day's target {} kg + tolerance {} kg",
                                num(e.load_kg),
                                num(target),
                                num(over_tol)
                            ),
                        )
                        .also(setting("loading_log.over_target_tolerance_kg", num(over_tol)))
                        .input("load_kg", e.load_kg),
                    });
                } else if e.load_kg < target - under_tol {
                    deviations.push(LoadingDeviation {
                        kind: DeviationKind::UnderTarget,
                        date: e.date,
                        day,
                        planned_kg: Some(target),
                        logged_kg: Some(e.load_kg),
                        pain_nrs: e.pain_nrs,
                        rationale: Rationale::new(
                            Basis::reference(red),
                            format!(
                                "{field_note}: {} kg logged on day {day} is below the day's target {} kg − tolerance {} kg",
                                num(e.load_kg),
                                num(target),
                                num(under_tol)
                            ),
                        )
                        .also(setting("loading_log.under_target_tolerance_kg", num(under_tol)))
                        .input("load_kg", e.load_kg),
                    });
                }
            }
            None => deviations.push(LoadingDeviation {
                kind: DeviationKind::LoadOnDayWithoutStaticLoading,
                date: e.date,
                day,
                planned_kg: None,
                logged_kg: Some(e.load_kg),
                pain_nrs: e.pain_nrs,
                rationale: Rationale::new(
                    Basis::reference(red),
                    format!(
                        "{field_note}: {} kg logged on day {day}, a day without static loading in the plan",
                        num(e.load_kg)
                    ),
                )
                .input("load_kg", e.load_kg),
            }),
        }
        if let (Some(limit), Some(n)) = (settings.pain_nrs_flag_at_or_above, e.pain_nrs)
            && n >= limit
        {
            deviations.push(LoadingDeviation {
                kind: DeviationKind::PainAtOrAboveSetting,
                date: e.date,
                day,
                planned_kg: planned_on(plan, e.date).map(|p| p.1),
                logged_kg: Some(e.load_kg),
                pain_nrs: Some(n),
                rationale: Rationale::new(
                    setting("loading_log.pain_nrs_flag_at_or_above", limit.to_string()),
                    format!(
                        "{field_note}: pain NRS {n} at or above the programme's {limit} (the clinic protocol gives no \
                         pain threshold)"
                    ),
                )
                .input("pain_nrs", n),
            });
        }
    }

    // Missed days and fewer sessions, day by day through as_of.
    let first = plan.days.iter().find(|p| p.phase == RehabPhase::StaticLoading).map(|p| p.date);
    let mut planned_days = 0u32;
    if let Some(first) = first {
        let mut date = first;
        while date <= as_of {
            if let Some((day, _, sessions)) = planned_on(plan, date) {
                planned_days += 1;
                let logged = log.iter().filter(|e| e.date == date).count();
                if logged == 0 {
                    deviations.push(LoadingDeviation {
                        kind: DeviationKind::MissedDay,
                        date,
                        day,
                        planned_kg: planned_on(plan, date).map(|p| p.1),
                        logged_kg: None,
                        pain_nrs: None,
                        rationale: Rationale::new(
                            Basis::reference(red),
                            format!("no session logged on day {day} ({date}), a static-loading day in the plan"),
                        ),
                    });
                } else if logged < usize::from(sessions) {
                    deviations.push(LoadingDeviation {
                        kind: DeviationKind::FewerSessionsThanPlanned,
                        date,
                        day,
                        planned_kg: planned_on(plan, date).map(|p| p.1),
                        logged_kg: None,
                        pain_nrs: None,
                        rationale: Rationale::new(
                            Basis::reference(red),
                            format!("{logged} session(s) logged on day {day} ({date}); the plan has {sessions}"),
                        ),
                    });
                }
            }
            match date.next_day() {
                Some(d) => date = d,
                None => break,
            }
        }
    }
    deviations.sort_by(|a, b| a.date.cmp(&b.date).then((a.kind as u8).cmp(&(b.kind as u8))));

    let mut rationale = Rationale::new(
        Basis::reference(red),
        format!(
            "{} logged session(s) compared with {planned_days} planned static-loading day(s) through {as_of}: {} \
             deviation(s)",
            log.len(),
            deviations.len()
        ),
    )
    .also(setting("loading_log.over_target_tolerance_kg", num(over_tol)))
    .also(setting("loading_log.under_target_tolerance_kg", num(under_tol)))
    .also(setting("loading_log.deviation_level", TriageLevel::from(settings.deviation_level).as_str().to_owned()))
    .input("as_of", as_of.to_string());
    match settings.pain_nrs_flag_at_or_above {
        Some(n) => rationale.push_basis(setting("loading_log.pain_nrs_flag_at_or_above", n.to_string())),
        None => rationale.push_flag(
            FlagKind::Caution,
            "no pain threshold applied: the clinic protocol (§12) gives none, and the Radboudumc NRS <5 belongs to a \
             different programme (§11: never merge their numbers); the programme may set one",
        ),
    }
    Ok(LoadingReview {
        as_of,
        planned_days,
        logged_sessions: u32::try_from(log.len()).unwrap_or(u32::MAX),
        deviations,
        deviation_level: settings.deviation_level.into(),
        rationale,
    })
}

// ---------------------------------------------------------------------------
// The other programmes of §11, kept apart
// ---------------------------------------------------------------------------

/// Another osseointegration programme of §11, described as published. Kept
/// apart from the clinic protocol (§11: never merge their numbers) and not
/// used for day-by-day plans: each lacks numbers a plan needs (starting load
/// and rate for Radboudumc; the OPRA kg steps are UNVERIFIED; AOFE is too
/// vague), and none may be filled in from another programme.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OtherOiProgramme {
    pub id: &'static str,
    #[serde(serialize_with = "source_id")]
    pub source: &'static Source,
    /// The published parameters, as the reference pack gives them.
    pub published: &'static [&'static str],
    /// The programme's own pain criterion for loading, if it has one.
    pub loading_pain_nrs_below: Option<u8>,
    /// Why LimbPath makes no day-by-day plan from it.
    pub no_day_plan_because: &'static str,
}

// source: osseointegration.eu (Radboudumc); Hagberg & Brånemark 2009 (OPRA); AOFE (secondary) | REFERENCES.md §11 | status: Radboudumc SINGLE-SOURCE; OPRA structure VERIFIED, kg steps UNVERIFIED; AOFE SINGLE-SOURCE (secondary)
/// The §11 programmes other than the clinic's.
pub const OTHER_OI_PROGRAMMES: [OtherOiProgramme; 3] = [
    OtherOiProgramme {
        id: "oi_programme_radboudumc",
        source: &OI_RADBOUDUMC_SOURCE,
        published: &[
            "standard programme of 6 weeks to full weight-bearing",
            "days 3–10: axial loading on a scale, 3 × 30 min/day, up to 50 % of body weight, with pain NRS <5",
            "days 10–35: 50 % weight-bearing",
            "days 35–42: full weight-bearing",
            "a slow 12-week programme for short residual bone or poor bone quality",
        ],
        loading_pain_nrs_below: Some(5),
        no_day_plan_because: "the starting load and the daily increase are not given",
    },
    OtherOiProgramme {
        id: "oi_programme_opra",
        source: &OI_OPRA_SOURCE,
        published: &[
            "two-stage surgery",
            "about 12 months in total",
            "short training prosthesis with graded axial loading",
        ],
        loading_pain_nrs_below: None,
        no_day_plan_because: "the kg steps (e.g. 20 kg start, +10 kg/week) are UNVERIFIED and not shipped",
    },
    OtherOiProgramme {
        id: "oi_programme_aofe",
        source: &OI_AOFE_SOURCE,
        published: &[
            "rehabilitation starts 1 week after stage 2, or 3 weeks after single-stage surgery",
            "a programme of 4 weeks (transtibial) or 6 weeks (transfemoral); what that interval ends in is UNVERIFIED",
        ],
        loading_pain_nrs_below: None,
        no_day_plan_because: "no loads or rates are given, and what the 4- or 6-week interval ends in is UNVERIFIED",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    /// A programme's rates, chosen for the tests (not from the pack).
    fn settings() -> RehabSettings {
        RehabSettings {
            version: "test-1".into(),
            loading_rates: LoadingRates {
                normal_kg_per_day: 5.0,
                osteopenia_kg_per_day: 2.5,
                osteoporosis_kg_per_day: 1.0,
            },
            t_score_bands: None,
        }
    }

    fn input(weight: f64, bone: BoneStatus) -> RehabInput {
        RehabInput {
            surgery_date: date!(2025 - 03 - 03),
            body_weight_kg: weight,
            amputation_level: AmputationLevel::Transfemoral,
            bone: BoneAssessment { dexa_t_score: None, clinician_category: Some(bone) },
            clinician_kg_per_day: None,
            phase_one_start_day: None,
            gait_training_started_on: None,
            final_prosthesis_fitted_on: None,
            through_day: None,
        }
    }

    fn plan(i: &RehabInput) -> RehabPlan {
        rehab_plan(&OI_CLINIC_TEMPLATE, &settings(), i).unwrap()
    }

    fn load(p: &RehabPlan, day: u32) -> f64 {
        p.days.iter().find(|d| d.day == day).and_then(|d| d.target_load_kg).unwrap()
    }

    #[test]
    fn eighty_kg_normal_bone_day_by_day() {
        // Target min(0.5 × 80, 50) = 40 kg; 5 kg on day 1, +5 kg/day (the test programme's rate).
        let p = plan(&input(80.0, BoneStatus::Normal));
        assert_eq!(p.target_load_kg.value, 40.0);
        let expected = [5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0];
        assert_eq!(p.days.len(), expected.len(), "laid out through the day the target is reached");
        for (i, kg) in expected.iter().enumerate() {
            let d = &p.days[i];
            assert_eq!(d.day, i as u32 + 1);
            assert_eq!(d.phase, RehabPhase::StaticLoading);
            assert_eq!(d.target_load_kg, Some(*kg), "day {}", d.day);
            assert_eq!((d.sessions_per_day, d.minutes_per_session), (Some(2), Some(20)));
            assert!(d.excessive_activity_restricted);
        }
        assert_eq!(p.days[0].date, date!(2025 - 03 - 04), "day 1 is the day after surgery");
        assert_eq!(p.days[7].date, date!(2025 - 03 - 11));
        assert_eq!((p.target_reached_day, p.target_reached_on), (8, date!(2025 - 03 - 11)));
        assert!(p.days[7].notes.iter().any(|n| n == "target load reached"));
    }

    #[test]
    fn eighty_kg_osteoporotic_bone_is_slower() {
        // 5 kg on day 1, +1 kg/day: day d = 4 + d, 40 kg on day 36.
        let p = plan(&input(80.0, BoneStatus::Osteoporosis));
        for (day, kg) in [(1, 5.0), (2, 6.0), (10, 14.0), (35, 39.0), (36, 40.0)] {
            assert_eq!(load(&p, day), kg, "day {day}");
        }
        assert_eq!(p.target_reached_day, 36);
        assert_eq!(p.days.len(), 36);
        assert_eq!(p.kg_per_day.value, 1.0);
        assert_eq!(
            p.kg_per_day.rationale.source_ids()[0],
            "programme_setting:oi_rehab.loading_rates.osteoporosis_kg_per_day"
        );
        // Past the target the load stays at the target.
        let longer = plan(&RehabInput { through_day: Some(40), ..input(80.0, BoneStatus::Osteoporosis) });
        assert_eq!(load(&longer, 40), 40.0);
    }

    #[test]
    fn one_hundred_twenty_kg_is_capped_at_50_kg() {
        // min(0.5 × 120, 50) = min(60, 50) = 50 kg.
        let p = plan(&input(120.0, BoneStatus::Normal));
        assert_eq!(p.target_load_kg.value, 50.0);
        assert!(p.target_load_kg.rationale.rule.contains("the cap applies"));
        for (day, kg) in [(1, 5.0), (2, 10.0), (9, 45.0), (10, 50.0)] {
            assert_eq!(load(&p, day), kg, "day {day}");
        }
        assert_eq!(p.target_reached_day, 10);
        let p = plan(&input(120.0, BoneStatus::Osteoporosis));
        for (day, kg) in [(1, 5.0), (45, 49.0), (46, 50.0)] {
            assert_eq!(load(&p, day), kg, "day {day}");
        }
        assert_eq!(p.target_reached_day, 46);
        let p = plan(&input(120.0, BoneStatus::Osteopenia));
        // 2.5 kg/day: 5 + 2.5 × 18 = 50 on day 19.
        assert_eq!((load(&p, 18), load(&p, 19)), (47.5, 50.0));
    }

    #[test]
    fn the_target_is_flagged_as_an_interpretation() {
        for w in [80.0, 120.0] {
            let p = plan(&input(w, BoneStatus::Normal));
            let f = p.target_load_kg.rationale.flags.iter().find(|f| f.kind == FlagKind::Review).unwrap();
            assert!(f.message.contains("interpretation") && f.message.contains("§14 item 10"), "{}", f.message);
            assert_eq!(p.target_load_kg.rationale.source_ids(), vec!["protocols.oi_clinic.rehabilitation"]);
        }
    }

    #[test]
    fn phase_two_is_for_transfemoral_amputees_and_flagged() {
        let p = plan(&input(80.0, BoneStatus::Normal));
        assert!(p.gait_training.value);
        assert!(p.gait_training.rationale.flags.iter().any(|f| f.message.contains("§14 item 10")));
        let tt =
            plan(&RehabInput { amputation_level: AmputationLevel::Transtibial, ..input(80.0, BoneStatus::Normal) });
        assert!(!tt.gait_training.value);
        let e = rehab_plan(
            &OI_CLINIC_TEMPLATE,
            &settings(),
            &RehabInput {
                amputation_level: AmputationLevel::Transtibial,
                gait_training_started_on: Some(date!(2025 - 04 - 01)),
                ..input(80.0, BoneStatus::Normal)
            },
        )
        .unwrap_err();
        assert_eq!(e.field, "gait_training_started_on");
        // With a start date, days from then are gait training.
        let g = plan(&RehabInput {
            gait_training_started_on: Some(date!(2025 - 03 - 13)),
            ..input(80.0, BoneStatus::Normal)
        });
        assert_eq!(g.days.len(), 10);
        assert_eq!(g.days[9].phase, RehabPhase::GaitTraining);
        assert_eq!(g.days[9].target_load_kg, None);
        assert_eq!(g.days[8].phase, RehabPhase::StaticLoading);
    }

    #[test]
    fn phase_three_walking_aids_follow_the_fitting_date() {
        // Fitted on day 60: 6 weeks on two crutches (days 60–101), 6 on one (102–143), then unassisted.
        let surgery = date!(2025 - 03 - 03);
        let fitted = surgery + Duration::days(60);
        let p = plan(&RehabInput { final_prosthesis_fitted_on: Some(fitted), ..input(80.0, BoneStatus::Normal) });
        assert_eq!(p.days.len(), 144);
        let aid = |day: u32| p.days[day as usize - 1].walking_aid;
        assert_eq!(aid(59), None);
        assert_eq!(p.days[58].phase, RehabPhase::StaticLoading);
        assert_eq!(aid(60), Some(WalkingAid::TwoCrutches));
        assert_eq!(aid(101), Some(WalkingAid::TwoCrutches));
        assert_eq!(aid(102), Some(WalkingAid::OneCrutch));
        assert_eq!(aid(143), Some(WalkingAid::OneCrutch));
        assert_eq!(aid(144), Some(WalkingAid::UnassistedInTheFollowingWeeks));
        assert!(p.days[59].notes[0].contains("typical values, not deadlines"));
        // Fitting before gait training is refused.
        let e = rehab_plan(
            &OI_CLINIC_TEMPLATE,
            &settings(),
            &RehabInput {
                gait_training_started_on: Some(surgery + Duration::days(30)),
                final_prosthesis_fitted_on: Some(surgery + Duration::days(20)),
                ..input(80.0, BoneStatus::Normal)
            },
        )
        .unwrap_err();
        assert_eq!(e.field, "final_prosthesis_fitted_on");
    }

    #[test]
    fn twelve_months_without_excessive_activity_and_suture_notes() {
        let leap = RehabInput {
            surgery_date: date!(2024 - 02 - 29),
            through_day: Some(370),
            ..input(80.0, BoneStatus::Normal)
        };
        let p = plan(&leap);
        assert_eq!(p.excessive_activity_restricted_until.value, date!(2025 - 02 - 28));
        let until = p.days.iter().position(|d| d.date == date!(2025 - 02 - 28)).unwrap();
        assert!(p.days[until - 1].excessive_activity_restricted);
        assert!(!p.days[until].excessive_activity_restricted);
        assert_eq!(
            plan(&input(80.0, BoneStatus::Normal)).excessive_activity_restricted_until.value,
            date!(2026 - 03 - 03)
        );
        assert!(p.days[20].notes.iter().any(|n| n.contains("partially at about 3 weeks")));
        assert!(p.days[27].notes.iter().any(|n| n.contains("completely at about 4 weeks")));
    }

    #[test]
    fn bone_status_from_clinician_bands_or_rate() {
        // No category, no rate, no bands: refused, naming the field.
        let none = RehabInput {
            bone: BoneAssessment { dexa_t_score: Some(-2.7), clinician_category: None },
            ..input(80.0, BoneStatus::Normal)
        };
        assert_eq!(rehab_plan(&OI_CLINIC_TEMPLATE, &settings(), &none).unwrap_err().field, "bone.clinician_category");
        // The programme's bands (chosen here as the WHO cut-offs) derive the category, flagged.
        let banded = RehabSettings {
            t_score_bands: Some(TScoreBands { osteopenia_below: -1.0, osteoporosis_at_or_below: -2.5 }),
            ..settings()
        };
        let p = rehab_plan(&OI_CLINIC_TEMPLATE, &banded, &none).unwrap();
        assert_eq!(p.bone_status.value, Some(BoneStatus::Osteoporosis));
        assert_eq!(p.kg_per_day.value, 1.0);
        assert!(p.bone_status.rationale.has_flag(FlagKind::Review));
        assert_eq!(p.bone_status.rationale.source_ids()[0], "programme_setting:oi_rehab.t_score_bands");
        for (t, status) in
            [(-2.5, BoneStatus::Osteoporosis), (-2.4, BoneStatus::Osteopenia), (-1.0, BoneStatus::Normal)]
        {
            let i =
                RehabInput { bone: BoneAssessment { dexa_t_score: Some(t), clinician_category: None }, ..none.clone() };
            assert_eq!(rehab_plan(&OI_CLINIC_TEMPLATE, &banded, &i).unwrap().bone_status.value, Some(status), "{t}");
        }
        // The clinician's category wins over the bands, with a flag.
        let both = RehabInput {
            bone: BoneAssessment { dexa_t_score: Some(-2.7), clinician_category: Some(BoneStatus::Osteopenia) },
            ..none.clone()
        };
        let p = rehab_plan(&OI_CLINIC_TEMPLATE, &banded, &both).unwrap();
        assert_eq!(p.kg_per_day.value, 2.5);
        assert!(p.bone_status.rationale.flags.iter().any(|f| f.message.contains("differs")));
        // The clinician's own rate takes precedence.
        let rate = RehabInput { clinician_kg_per_day: Some(3.0), ..none };
        let p = rehab_plan(&OI_CLINIC_TEMPLATE, &settings(), &rate).unwrap();
        assert_eq!(p.kg_per_day.value, 3.0);
        assert!(p.kg_per_day.rationale.has_flag(FlagKind::ClinicianOverride));
        assert_eq!(load(&p, 3), 11.0);
    }

    #[test]
    fn invalid_input_and_settings_name_the_field() {
        let ok = input(80.0, BoneStatus::Normal);
        let cases: Vec<(RehabInput, &str)> = vec![
            (RehabInput { body_weight_kg: f64::NAN, ..ok.clone() }, "body_weight_kg"),
            (RehabInput { body_weight_kg: 5.0, ..ok.clone() }, "body_weight_kg"),
            (RehabInput { phase_one_start_day: Some(0), ..ok.clone() }, "phase_one_start_day"),
            (RehabInput { through_day: Some(0), ..ok.clone() }, "through_day"),
            (RehabInput { through_day: Some(731), ..ok.clone() }, "through_day"),
            (RehabInput { clinician_kg_per_day: Some(0.0), ..ok.clone() }, "clinician_kg_per_day"),
            (
                RehabInput {
                    bone: BoneAssessment { dexa_t_score: Some(-11.0), clinician_category: None },
                    ..ok.clone()
                },
                "bone.dexa_t_score",
            ),
            (
                RehabInput { final_prosthesis_fitted_on: Some(date!(2025 - 03 - 03)), ..ok.clone() },
                "final_prosthesis_fitted_on",
            ),
        ];
        for (i, field) in cases {
            assert_eq!(rehab_plan(&OI_CLINIC_TEMPLATE, &settings(), &i).unwrap_err().field, field);
        }
        let mut s = settings();
        s.loading_rates.osteoporosis_kg_per_day = 5.0;
        assert_eq!(
            rehab_plan(&OI_CLINIC_TEMPLATE, &s, &ok).unwrap_err().field,
            "settings.loading_rates.osteoporosis_kg_per_day"
        );
        let mut s = settings();
        s.loading_rates.osteopenia_kg_per_day = 6.0;
        assert_eq!(
            rehab_plan(&OI_CLINIC_TEMPLATE, &s, &ok).unwrap_err().field,
            "settings.loading_rates.osteopenia_kg_per_day"
        );
        let s = RehabSettings {
            t_score_bands: Some(TScoreBands { osteopenia_below: -2.5, osteoporosis_at_or_below: -1.0 }),
            ..settings()
        };
        assert_eq!(
            rehab_plan(&OI_CLINIC_TEMPLATE, &s, &ok).unwrap_err().field,
            "settings.t_score_bands.osteoporosis_at_or_below"
        );
    }

    #[test]
    fn the_loading_log_is_compared_with_the_plan() {
        // 80 kg, normal bone: targets 5, 10, 15, 20, 25 kg on days 1–5 (2025-03-04 .. 03-08).
        let p = plan(&input(80.0, BoneStatus::Normal));
        let e = |d: Date, kg: f64, pain: Option<u8>| LoadLogEntry { date: d, load_kg: kg, pain_nrs: pain };
        let log = vec![
            e(date!(2025 - 03 - 04), 5.0, Some(1)),
            e(date!(2025 - 03 - 04), 5.0, Some(1)),
            e(date!(2025 - 03 - 05), 12.0, Some(2)), // over 10
            e(date!(2025 - 03 - 05), 10.0, None),
            // 03-06: nothing -> missed
            e(date!(2025 - 03 - 07), 20.0, Some(3)), // one session of two
            e(date!(2025 - 03 - 08), 20.0, Some(6)), // under 25
            e(date!(2025 - 03 - 08), 25.0, Some(6)),
        ];
        let as_of = date!(2025 - 03 - 08);
        let r = review_loading(&p, &log, as_of, &LoadingLogSettings::default()).unwrap();
        let kinds: Vec<(DeviationKind, Date)> = r.deviations.iter().map(|d| (d.kind, d.date)).collect();
        assert_eq!(
            kinds,
            vec![
                (DeviationKind::OverTarget, date!(2025 - 03 - 05)),
                (DeviationKind::MissedDay, date!(2025 - 03 - 06)),
                (DeviationKind::FewerSessionsThanPlanned, date!(2025 - 03 - 07)),
                (DeviationKind::UnderTarget, date!(2025 - 03 - 08)),
            ]
        );
        assert_eq!(r.planned_days, 5);
        assert_eq!(r.deviations[0].planned_kg, Some(10.0));
        assert_eq!(r.deviations[0].logged_kg, Some(12.0));
        // No pain threshold by default: the clinic protocol gives none; Radboudumc's NRS <5 is not borrowed.
        assert!(r.rationale.flags.iter().any(|f| f.message.contains("Radboudumc")));
        // A programme tolerance and pain threshold change the result.
        let s = LoadingLogSettings {
            over_target_tolerance_kg: 2.0,
            under_target_tolerance_kg: 5.0,
            pain_nrs_flag_at_or_above: Some(6),
            ..LoadingLogSettings::default()
        };
        let r = review_loading(&p, &log, as_of, &s).unwrap();
        let kinds: Vec<DeviationKind> = r.deviations.iter().map(|d| d.kind).collect();
        assert_eq!(
            kinds,
            vec![
                DeviationKind::MissedDay,
                DeviationKind::FewerSessionsThanPlanned,
                DeviationKind::PainAtOrAboveSetting,
                DeviationKind::PainAtOrAboveSetting,
            ]
        );
        assert_eq!(
            r.deviations[2].rationale.source_ids(),
            vec!["programme_setting:loading_log.pain_nrs_flag_at_or_above"]
        );
        // Signals: one per deviation kind.
        let signals = r.signals("p1", 0);
        assert_eq!(signals.len(), 3);
        assert!(signals.iter().all(|s| s.level == TriageLevel::ContactTeamToday));
        let quiet = LoadingLogSettings { deviation_level: ProgrammeLevel::Routine, ..s };
        assert!(review_loading(&p, &log, as_of, &quiet).unwrap().signals("p1", 0).is_empty());
    }

    #[test]
    fn loading_after_the_plan_continues_at_the_target_and_loads_on_other_days_are_shown() {
        let p = plan(&input(80.0, BoneStatus::Normal)); // 8 days
        let log = vec![
            LoadLogEntry { date: date!(2025 - 03 - 13), load_kg: 40.0, pain_nrs: None },
            LoadLogEntry { date: date!(2025 - 03 - 13), load_kg: 41.0, pain_nrs: None },
        ];
        let r = review_loading(&p, &log, date!(2025 - 03 - 13), &LoadingLogSettings::default()).unwrap();
        assert_eq!(r.planned_days, 10);
        assert!(r.deviations.iter().any(|d| d.kind == DeviationKind::OverTarget && d.planned_kg == Some(40.0)));
        assert_eq!(r.deviations.iter().filter(|d| d.kind == DeviationKind::MissedDay).count(), 9);
        // Before Phase I starts (start on day 3), a load is on a day without static loading.
        let late = plan(&RehabInput { phase_one_start_day: Some(3), ..input(80.0, BoneStatus::Normal) });
        assert_eq!(late.days[0].phase, RehabPhase::BeforeLoading);
        let log = vec![LoadLogEntry { date: date!(2025 - 03 - 04), load_kg: 5.0, pain_nrs: None }];
        let r = review_loading(&late, &log, date!(2025 - 03 - 04), &LoadingLogSettings::default()).unwrap();
        assert_eq!(r.deviations[0].kind, DeviationKind::LoadOnDayWithoutStaticLoading);
    }

    #[test]
    fn loading_log_errors_name_the_entry() {
        let p = plan(&input(80.0, BoneStatus::Normal));
        let s = LoadingLogSettings::default();
        let at = |d: Date, kg: f64, pain: Option<u8>| vec![LoadLogEntry { date: d, load_kg: kg, pain_nrs: pain }];
        let as_of = date!(2025 - 03 - 10);
        assert_eq!(
            review_loading(&p, &at(date!(2025 - 03 - 11), 5.0, None), as_of, &s).unwrap_err().field,
            "log[0].date"
        );
        assert_eq!(
            review_loading(&p, &at(date!(2025 - 03 - 03), 5.0, None), as_of, &s).unwrap_err().field,
            "log[0].date"
        );
        assert_eq!(
            review_loading(&p, &at(date!(2025 - 03 - 05), -1.0, None), as_of, &s).unwrap_err().field,
            "log[0].load_kg"
        );
        assert_eq!(
            review_loading(&p, &at(date!(2025 - 03 - 05), 5.0, Some(11)), as_of, &s).unwrap_err().field,
            "log[0].pain_nrs"
        );
        let bad = LoadingLogSettings { pain_nrs_flag_at_or_above: Some(0), ..s };
        assert_eq!(review_loading(&p, &[], as_of, &bad).unwrap_err().field, "settings.pain_nrs_flag_at_or_above");
    }

    #[test]
    fn other_programmes_are_kept_apart() {
        let radboudumc = &OTHER_OI_PROGRAMMES[0];
        assert_eq!(radboudumc.loading_pain_nrs_below, Some(5));
        assert_eq!(radboudumc.source.id, "protocols.oi_radboudumc");
        assert!(radboudumc.published.iter().any(|p| p.contains("3 × 30 min/day")));
        // The clinic's template and defaults carry none of Radboudumc's numbers.
        assert_eq!((OI_CLINIC_TEMPLATE.sessions_per_day, OI_CLINIC_TEMPLATE.minutes_per_session), (2, 20));
        assert_eq!(LoadingLogSettings::default().pain_nrs_flag_at_or_above, None);
        let opra = &OTHER_OI_PROGRAMMES[1];
        assert!(opra.published.iter().all(|p| !p.contains("kg")), "OPRA kg steps are UNVERIFIED");
        let v = serde_json::to_value(&OTHER_OI_PROGRAMMES).unwrap();
        assert_eq!(v[2]["source"], "protocols.oi_aofe");
    }

    #[test]
    fn json_shapes() {
        let i: RehabInput = serde_json::from_str(
            r#"{"surgery_date":"2025-03-03","body_weight_kg":80,"amputation_level":"transfemoral",
                "bone":{"clinician_category":"osteoporosis"}}"#,
        )
        .unwrap();
        assert_eq!(i.bone.clinician_category, Some(BoneStatus::Osteoporosis));
        let v = serde_json::to_value(plan(&i)).unwrap();
        assert_eq!(v["template_id"], "oi_programme_clinic");
        assert_eq!(v["days"][0]["date"], "2025-03-04");
        assert_eq!(v["days"][0]["phase"], "static_loading");
        assert_eq!(v["days"][0]["target_load_kg"], 5.0);
        assert_eq!(v["target_load_kg"]["value"], 40.0);
        assert_eq!(v["kg_per_day"]["rationale"]["basis"][0]["label"], "programme setting, not from the reference pack");
        let s: RehabSettings = serde_json::from_value(serde_json::to_value(settings()).unwrap()).unwrap();
        assert_eq!(s, settings());
    }

    proptest! {
        #[test]
        fn no_input_panics(
            weight in prop_oneof![any::<f64>(), 10.0..400.0f64],
            rates in (0.05..60.0f64, 0.05..60.0f64, 0.05..60.0f64),
            clinician in proptest::option::of(prop_oneof![any::<f64>(), 0.05..60.0f64]),
            t in proptest::option::of(-12.0..12.0f64),
            category in proptest::option::of(prop_oneof![Just(BoneStatus::Normal), Just(BoneStatus::Osteopenia), Just(BoneStatus::Osteoporosis)]),
            bands in any::<bool>(),
            start in proptest::option::of(0u32..800),
            gait in proptest::option::of(-10i64..800),
            fitted in proptest::option::of(-10i64..800),
            through in proptest::option::of(0u32..800),
            level in prop_oneof![Just(AmputationLevel::Transfemoral), Just(AmputationLevel::Transtibial), Just(AmputationLevel::KneeDisarticulation), Just(AmputationLevel::Other)],
            log in proptest::collection::vec((0i64..60, prop_oneof![any::<f64>(), 0.0..60.0f64], proptest::option::of(0u8..12)), 0..20),
            as_of in 0i64..80,
        ) {
            let surgery = date!(2024 - 02 - 29);
            let s = RehabSettings {
                version: "p".into(),
                loading_rates: LoadingRates { normal_kg_per_day: rates.0, osteopenia_kg_per_day: rates.1, osteoporosis_kg_per_day: rates.2 },
                t_score_bands: bands.then_some(TScoreBands { osteopenia_below: -1.0, osteoporosis_at_or_below: -2.5 }),
            };
            let i = RehabInput {
                surgery_date: surgery,
                body_weight_kg: weight,
                amputation_level: level,
                bone: BoneAssessment { dexa_t_score: t, clinician_category: category },
                clinician_kg_per_day: clinician,
                phase_one_start_day: start,
                gait_training_started_on: gait.map(|d| surgery + Duration::days(d)),
                final_prosthesis_fitted_on: fitted.map(|d| surgery + Duration::days(d)),
                through_day: through,
            };
            if let Ok(p) = rehab_plan(&OI_CLINIC_TEMPLATE, &s, &i) {
                prop_assert!(p.target_load_kg.value <= 50.0 && p.target_load_kg.value >= 5.0);
                for d in &p.days {
                    if let Some(kg) = d.target_load_kg {
                        prop_assert!((5.0..=p.target_load_kg.value).contains(&kg));
                    }
                }
                prop_assert!(p.days.windows(2).all(|w| w[0].target_load_kg.zip(w[1].target_load_kg).is_none_or(|(a, b)| a <= b)));
                let entries: Vec<LoadLogEntry> = log.iter().map(|(d, kg, pain)| LoadLogEntry { date: surgery + Duration::days(*d), load_kg: *kg, pain_nrs: *pain }).collect();
                if let Ok(r) = review_loading(&p, &entries, surgery + Duration::days(as_of), &LoadingLogSettings::default()) {
                    let _ = serde_json::to_string(&r).unwrap();
                }
                let _ = serde_json::to_string(&p).unwrap();
            }
        }
    }
}
