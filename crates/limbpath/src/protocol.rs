//! `limbpath triage …` and `limbpath protocol oi|lengthening …`: the
//! between-visits rules of `limbpath-protocols` on the command line, as text
//! or the JSON envelope (`limbpath.triage/1`, `limbpath.protocol.oi/1`,
//! `limbpath.protocol.lengthening/1`). This module maps flags onto the rule
//! layer's inputs and renders its results; it decides nothing itself.

use crate::output::Format;
use clap::{Subcommand, ValueEnum};
use limbpath_clinical::explain::Flag;
use limbpath_clinical::{DECISION_SUPPORT_NOTICE, ENGINE_VERSION, InvalidInput, Source};
use limbpath_protocols::lengthening::{
    HealingIndexCountsFrom, LengtheningInput, LengtheningPlan, LengtheningTarget, lengthening_plan,
};
use limbpath_protocols::oi_rehab::{
    AmputationLevel, BoneAssessment, BoneStatus, LoadingRates, OI_CLINIC_TEMPLATE, RehabInput, RehabPlan,
    RehabSettings, TScoreBands, rehab_plan,
};
use limbpath_protocols::triage::{
    Bleeding, CheckIn, CheckInContext, Redness, TriageDecision, TriageLevel, TriageRuleSet, TriageSettings,
    WoundChange, triage,
};
use limbpath_protocols::{Basis, Rationale};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use time::Date;

type Result<T> = std::result::Result<T, InvalidInput>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum YesNo {
    Yes,
    No,
}

fn yn(v: Option<YesNo>) -> Option<bool> {
    v.map(|v| v == YesNo::Yes)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BleedingArg {
    None,
    Minor,
    Profuse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RednessArg {
    None,
    NotSpreading,
    Spreading,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WoundArg {
    None,
    UsualDischarge,
    UnusualLeakage,
    Other,
}

/// `limbpath triage`: one check-in's answers and the patient's context.
#[derive(Debug, clap::Args)]
pub struct TriageArgs {
    /// Body temperature, °C.
    #[arg(long, allow_negative_numbers = true)]
    temperature_c: Option<f64>,
    #[arg(long, value_enum)]
    chills: Option<YesNo>,
    /// Pain score, NRS 0-10.
    #[arg(long)]
    pain_nrs: Option<u8>,
    /// The patient's own answer: is the pain or tenderness severe?
    #[arg(long, value_enum)]
    severe_pain_or_tenderness: Option<YesNo>,
    #[arg(long, value_enum)]
    bleeding: Option<BleedingArg>,
    #[arg(long, value_enum)]
    redness: Option<RednessArg>,
    #[arg(long, value_enum)]
    nausea_or_vomiting: Option<YesNo>,
    /// Reduced mobility of the limb.
    #[arg(long, value_enum)]
    reduced_mobility: Option<YesNo>,
    #[arg(long, value_enum)]
    fall_or_trauma: Option<YesNo>,
    /// Inability to load the implant.
    #[arg(long, value_enum)]
    unable_to_load_implant: Option<YesNo>,
    #[arg(long, value_enum)]
    wound_change: Option<WoundArg>,
    /// A problem at a pin site of an external frame.
    #[arg(long, value_enum)]
    pin_site_problem: Option<YesNo>,
    /// Any other symptom related to the operation.
    #[arg(long, value_enum)]
    other_symptom_related_to_operation: Option<YesNo>,
    /// A message for the team (read by a person; only its length is used).
    #[arg(long)]
    message: Option<String>,
    /// Context: the patient has an osseointegrated implant (the §12.8 red flags apply).
    #[arg(long)]
    osseointegrated_implant: bool,
    /// Context: the patient has an external frame.
    #[arg(long)]
    external_frame: bool,
    /// Context: days since the operation.
    #[arg(long)]
    days_since_surgery: Option<u32>,
    /// The programme's triage settings (TriageSettings JSON); default: the rule layer's.
    #[arg(long, value_name = "FILE")]
    settings: Option<std::path::PathBuf>,
}

/// `limbpath protocol …`
#[derive(Debug, Subcommand)]
pub enum Protocol {
    /// The clinic's osseointegration rehabilitation plan (§12.6), day by day.
    Oi(OiArgs),
    /// A limb-lengthening distraction plan (§11): turns per day, end of distraction and of consolidation.
    Lengthening(LengtheningArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    Transfemoral,
    KneeDisarticulation,
    Transtibial,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BoneArg {
    Normal,
    Osteopenia,
    Osteoporosis,
}

#[derive(Debug, clap::Args)]
pub struct OiArgs {
    /// Date of the implant surgery (YYYY-MM-DD).
    #[arg(long)]
    surgery_date: String,
    #[arg(long, allow_negative_numbers = true)]
    body_weight_kg: f64,
    #[arg(long, value_enum)]
    amputation_level: LevelArg,
    /// The clinician's bone category after DEXA and the intra-operative assessment.
    #[arg(long, value_enum)]
    bone_status: Option<BoneArg>,
    /// Pre-operative DEXA T-score (used only with programme T-score bands).
    #[arg(long, allow_negative_numbers = true)]
    dexa_t_score: Option<f64>,
    /// The clinician's Phase I increase, kg/day (takes precedence over the programme's rates).
    #[arg(long, allow_negative_numbers = true)]
    clinician_kg_per_day: Option<f64>,
    /// Programme setting: Phase I kg/day in normal bone (the reference gives no number).
    #[arg(long, allow_negative_numbers = true)]
    normal_kg_per_day: Option<f64>,
    /// Programme setting: Phase I kg/day in osteopenia.
    #[arg(long, allow_negative_numbers = true)]
    osteopenia_kg_per_day: Option<f64>,
    /// Programme setting: Phase I kg/day in osteoporosis (slower than normal).
    #[arg(long, allow_negative_numbers = true)]
    osteoporosis_kg_per_day: Option<f64>,
    /// Programme setting: T-score below which bone is osteopenic (with --osteoporosis-t-at-or-below).
    #[arg(long, allow_negative_numbers = true)]
    osteopenia_t_below: Option<f64>,
    /// Programme setting: T-score at or below which bone is osteoporotic.
    #[arg(long, allow_negative_numbers = true)]
    osteoporosis_t_at_or_below: Option<f64>,
    /// Programme settings version label.
    #[arg(long, default_value = "cli")]
    settings_version: String,
    /// The day Phase I starts (default and earliest: 1, the day after surgery).
    #[arg(long)]
    phase_one_start_day: Option<u32>,
    /// The date gait training started (Phase II), when set by the team.
    #[arg(long)]
    gait_training_started_on: Option<String>,
    /// The date the final prosthesis was fitted (Phase III), when known.
    #[arg(long)]
    final_prosthesis_fitted_on: Option<String>,
    /// Lay the plan out through this day.
    #[arg(long)]
    through_day: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CountsFromArg {
    Osteotomy,
    EndOfDistraction,
}

#[derive(Debug, clap::Args)]
pub struct LengtheningArgs {
    /// The whole input as JSON (LengtheningInput, e.g. with a Paley prediction as the target); replaces the flags.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["osteotomy_date", "target_mm"])]
    input: Option<std::path::PathBuf>,
    /// Date of the osteotomy (YYYY-MM-DD, day 0).
    #[arg(long, required_unless_present = "input")]
    osteotomy_date: Option<String>,
    /// Target length, mm (the clinician's).
    #[arg(long, allow_negative_numbers = true, required_unless_present = "input")]
    target_mm: Option<f64>,
    /// Latency in days (typically 5-7).
    #[arg(long, default_value_t = 7)]
    latency_days: u32,
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    rate_mm_per_day: f64,
    #[arg(long, default_value_t = 4)]
    turns_per_day: u32,
    #[arg(long, default_value_t = 0.25, allow_negative_numbers = true)]
    mm_per_turn: f64,
    /// Healing (consolidation) index, days per cm: required, the reference pack has no standard.
    #[arg(long, allow_negative_numbers = true, required_unless_present = "input")]
    healing_index_days_per_cm: Option<f64>,
    /// Which interval the healing index counts.
    #[arg(long, value_enum, default_value = "osteotomy")]
    healing_index_counts_from: CountsFromArg,
}

fn date(field: &str, s: &str) -> Result<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, fmt).map_err(|_| InvalidInput::unrecognised(field, s, "a date as YYYY-MM-DD"))
}

fn read_json<T: serde::de::DeserializeOwned>(field: &str, path: &std::path::Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InvalidInput::unrecognised(field, path.display().to_string(), format!("a readable file ({e})")))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        InvalidInput::unrecognised(format!("{field}:{at}"), path.display().to_string(), e.inner().to_string())
    })
}

/// Every source id cited anywhere in a result (`"source_id": …`).
fn cited(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("source_id", Value::String(id)) if !out.contains(id) => out.push(id.clone()),
                    _ => cited(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| cited(x, out)),
        _ => {}
    }
}

/// The JSON envelope: `{"schema", "engine_version", "result", "sources", "notice"}`.
fn envelope<T: Serialize>(kind: &str, result: &T) -> String {
    let result = serde_json::to_value(result).unwrap_or(Value::Null);
    let mut ids = Vec::new();
    cited(&result, &mut ids);
    let sources: BTreeMap<String, &Source> =
        ids.iter().filter_map(|id| limbpath_protocols::source(id).map(|s| (id.clone(), s))).collect();
    let doc = serde_json::json!({
        "schema": format!("limbpath.{kind}/1"),
        "engine_version": ENGINE_VERSION,
        "result": result,
        "sources": sources,
        "notice": DECISION_SUPPORT_NOTICE,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

fn basis_line(b: &Basis) -> String {
    match b {
        Basis::Reference { source } => format!("{} [{}]", source.citation, source.status),
        Basis::ProgrammeSetting { setting, value, label } => format!("{setting} = {value} ({label})"),
        Basis::Record { entry } => format!("record: {entry}"),
    }
}

fn rationale_lines(out: &mut String, indent: &str, r: &Rationale) {
    let _ = writeln!(out, "{indent}rule:   {}", r.rule);
    for b in &r.basis {
        let _ = writeln!(out, "{indent}basis:  {}", basis_line(b));
    }
    flags(out, indent, &r.flags);
}

fn flags(out: &mut String, indent: &str, flags: &[Flag]) {
    for f in flags {
        let _ = writeln!(out, "{indent}! {}: {}", f.kind.code(), f.message);
    }
}

/// "Urgent — contact the team now" for the top level (as the web UI says it).
pub fn level_words(level: TriageLevel) -> &'static str {
    match level {
        TriageLevel::ContactTeamImmediately => "Urgent — contact the team now",
        TriageLevel::ContactTeamToday => "Contact the team today",
        TriageLevel::Routine => "Routine",
    }
}

impl TriageArgs {
    fn check_in(&self) -> CheckIn {
        CheckIn {
            temperature_c: self.temperature_c,
            chills: yn(self.chills),
            pain_nrs: self.pain_nrs,
            severe_pain_or_tenderness: yn(self.severe_pain_or_tenderness),
            bleeding: self.bleeding.map(|b| match b {
                BleedingArg::None => Bleeding::None,
                BleedingArg::Minor => Bleeding::Minor,
                BleedingArg::Profuse => Bleeding::Profuse,
            }),
            redness: self.redness.map(|r| match r {
                RednessArg::None => Redness::None,
                RednessArg::NotSpreading => Redness::NotSpreading,
                RednessArg::Spreading => Redness::Spreading,
            }),
            nausea_or_vomiting: yn(self.nausea_or_vomiting),
            reduced_mobility: yn(self.reduced_mobility),
            fall_or_trauma: yn(self.fall_or_trauma),
            unable_to_load_implant: yn(self.unable_to_load_implant),
            wound_change: self.wound_change.map(|w| match w {
                WoundArg::None => WoundChange::None,
                WoundArg::UsualDischarge => WoundChange::UsualDischarge,
                WoundArg::UnusualLeakage => WoundChange::UnusualLeakage,
                WoundArg::Other => WoundChange::Other,
            }),
            pin_site_problem: yn(self.pin_site_problem),
            other_symptom_related_to_operation: yn(self.other_symptom_related_to_operation),
            free_text: self.message.clone(),
        }
    }

    /// The decision for these answers.
    pub fn decide(&self) -> Result<TriageDecision> {
        let settings: TriageSettings = match &self.settings {
            Some(p) => read_json("--settings", p)?,
            None => TriageSettings::default(),
        };
        let rules = TriageRuleSet::clinic(&settings)?;
        let context = CheckInContext {
            osseointegrated_implant: self.osseointegrated_implant,
            external_frame: self.external_frame,
            days_since_surgery: self.days_since_surgery,
        };
        triage(&rules, &self.check_in(), &context)
    }

    pub fn run(&self, format: Format) -> Result<String> {
        let d = self.decide()?;
        Ok(match format {
            Format::Json => envelope("triage", &d),
            Format::Text => {
                let mut out = String::new();
                let _ = writeln!(out, "Triage: {} ({})", level_words(d.level), d.level.as_str());
                let _ = writeln!(out, "What to do now: {}", d.instruction);
                let _ = writeln!(out, "Rule set: {} version {}", d.rule_set_id, d.rule_set_version);
                for a in &d.answers {
                    let fired: Vec<&str> = a.fired.iter().map(|f| f.id).collect();
                    let _ = writeln!(
                        out,
                        "\n{} = {}: {}{}",
                        a.answer,
                        a.value,
                        a.level.as_str(),
                        if fired.is_empty() { String::new() } else { format!(" (rules: {})", fired.join(", ")) }
                    );
                    rationale_lines(&mut out, "  ", &a.rationale);
                }
                if !d.unanswered.is_empty() {
                    let _ = writeln!(out, "\nUnanswered (not assumed \"no\"): {}", d.unanswered.join(", "));
                }
                flags(&mut out, "", &d.rationale.flags);
                let _ = writeln!(out, "\n{DECISION_SUPPORT_NOTICE}");
                out
            }
        })
    }
}

impl OiArgs {
    fn settings(&self) -> Result<RehabSettings> {
        let rate = |flag: &str, v: Option<f64>| {
            v.ok_or_else(|| {
                InvalidInput::missing(
                    flag,
                    "the programme's Phase I kg/day (the reference gives no number): give --normal-kg-per-day, \
                     --osteopenia-kg-per-day and --osteoporosis-kg-per-day",
                )
            })
        };
        let t_score_bands = match (self.osteopenia_t_below, self.osteoporosis_t_at_or_below) {
            (Some(a), Some(b)) => Some(TScoreBands { osteopenia_below: a, osteoporosis_at_or_below: b }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(InvalidInput::missing("--osteoporosis-t-at-or-below", "both T-score bands, or neither"));
            }
            (None, Some(_)) => {
                return Err(InvalidInput::missing("--osteopenia-t-below", "both T-score bands, or neither"));
            }
        };
        Ok(RehabSettings {
            version: self.settings_version.clone(),
            loading_rates: LoadingRates {
                normal_kg_per_day: rate("--normal-kg-per-day", self.normal_kg_per_day)?,
                osteopenia_kg_per_day: rate("--osteopenia-kg-per-day", self.osteopenia_kg_per_day)?,
                osteoporosis_kg_per_day: rate("--osteoporosis-kg-per-day", self.osteoporosis_kg_per_day)?,
            },
            t_score_bands,
        })
    }

    /// The plan for these flags.
    pub fn plan(&self) -> Result<RehabPlan> {
        let input = RehabInput {
            surgery_date: date("--surgery-date", &self.surgery_date)?,
            body_weight_kg: self.body_weight_kg,
            amputation_level: match self.amputation_level {
                LevelArg::Transfemoral => AmputationLevel::Transfemoral,
                LevelArg::KneeDisarticulation => AmputationLevel::KneeDisarticulation,
                LevelArg::Transtibial => AmputationLevel::Transtibial,
                LevelArg::Other => AmputationLevel::Other,
            },
            bone: BoneAssessment {
                dexa_t_score: self.dexa_t_score,
                clinician_category: self.bone_status.map(|b| match b {
                    BoneArg::Normal => BoneStatus::Normal,
                    BoneArg::Osteopenia => BoneStatus::Osteopenia,
                    BoneArg::Osteoporosis => BoneStatus::Osteoporosis,
                }),
            },
            clinician_kg_per_day: self.clinician_kg_per_day,
            phase_one_start_day: self.phase_one_start_day,
            gait_training_started_on: self
                .gait_training_started_on
                .as_deref()
                .map(|s| date("--gait-training-started-on", s))
                .transpose()?,
            final_prosthesis_fitted_on: self
                .final_prosthesis_fitted_on
                .as_deref()
                .map(|s| date("--final-prosthesis-fitted-on", s))
                .transpose()?,
            through_day: self.through_day,
        };
        rehab_plan(&OI_CLINIC_TEMPLATE, &self.settings()?, &input)
    }
}

impl LengtheningArgs {
    /// The plan for these flags (or the --input file).
    pub fn plan(&self) -> Result<LengtheningPlan> {
        let input: LengtheningInput = match &self.input {
            Some(p) => read_json("--input", p)?,
            None => LengtheningInput {
                target: LengtheningTarget::Millimetres { mm: self.target_mm.unwrap_or(f64::NAN) },
                osteotomy_date: date("--osteotomy-date", self.osteotomy_date.as_deref().unwrap_or(""))?,
                latency_days: self.latency_days,
                rate_mm_per_day: self.rate_mm_per_day,
                turns_per_day: self.turns_per_day,
                mm_per_turn: self.mm_per_turn,
                healing_index_days_per_cm: self.healing_index_days_per_cm.unwrap_or(f64::NAN),
                healing_index_counts_from: match self.healing_index_counts_from {
                    CountsFromArg::Osteotomy => HealingIndexCountsFrom::Osteotomy,
                    CountsFromArg::EndOfDistraction => HealingIndexCountsFrom::EndOfDistraction,
                },
            },
        };
        lengthening_plan(&input)
    }
}

fn kg(v: Option<f64>) -> String {
    v.map_or("-".to_owned(), |v| format!("{}", (v * 100.0).round() / 100.0))
}

fn code<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

impl Protocol {
    pub fn run(&self, format: Format) -> Result<String> {
        match self {
            Protocol::Oi(a) => {
                let p = a.plan()?;
                Ok(match format {
                    Format::Json => envelope("protocol.oi", &p),
                    Format::Text => oi_text(&p),
                })
            }
            Protocol::Lengthening(a) => {
                let p = a.plan()?;
                Ok(match format {
                    Format::Json => envelope("protocol.lengthening", &p),
                    Format::Text => lengthening_text(&p),
                })
            }
        }
    }
}

fn oi_text(p: &RehabPlan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Osseointegration rehabilitation plan ({}), surgery {}", p.template_id, p.surgery_date);
    let _ = writeln!(out, "Target load: {} kg", kg(Some(p.target_load_kg.value)));
    rationale_lines(&mut out, "  ", &p.target_load_kg.rationale);
    let _ = writeln!(
        out,
        "Bone status: {}",
        p.bone_status.value.map_or("not given (clinician rate used)".to_owned(), |b| b.as_str().to_owned())
    );
    rationale_lines(&mut out, "  ", &p.bone_status.rationale);
    let _ = writeln!(out, "Phase I increase: {} kg/day", kg(Some(p.kg_per_day.value)));
    rationale_lines(&mut out, "  ", &p.kg_per_day.rationale);
    let _ = writeln!(out, "Target reached: day {} ({})", p.target_reached_day, p.target_reached_on);
    let _ = writeln!(out, "Gait training (Phase II): {}", if p.gait_training.value { "yes" } else { "no" });
    rationale_lines(&mut out, "  ", &p.gait_training.rationale);
    let _ = writeln!(out, "No excessive physical activity until: {}", p.excessive_activity_restricted_until.value);
    let _ = writeln!(
        out,
        "\n{:>4}  {:<10}  {:<16}  {:>9}  {:>8}  {:<12}  notes",
        "day", "date", "phase", "target kg", "sessions", "walking aid"
    );
    for d in &p.days {
        let sessions = match (d.sessions_per_day, d.minutes_per_session) {
            (Some(n), Some(m)) => format!("{n}x{m} min"),
            _ => "-".to_owned(),
        };
        let aid = d.walking_aid.map_or("-".to_owned(), |a| code(&a));
        let _ = writeln!(
            out,
            "{:>4}  {}  {:<16}  {:>9}  {:>8}  {:<12}  {}",
            d.day,
            d.date,
            code(&d.phase),
            kg(d.target_load_kg),
            sessions,
            aid,
            d.notes.join("; ")
        );
    }
    for n in &p.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out);
    rationale_lines(&mut out, "", &p.rationale);
    let _ = writeln!(out, "\n{DECISION_SUPPORT_NOTICE}");
    out
}

fn lengthening_text(p: &LengtheningPlan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Lengthening plan, osteotomy {}", p.osteotomy_date);
    let _ = writeln!(
        out,
        "Target: {} mm (planned {} mm in {} turns)",
        kg(Some(p.target_mm.value)),
        kg(Some(p.planned_mm)),
        p.total_turns
    );
    rationale_lines(&mut out, "  ", &p.target_mm.rationale);
    let _ =
        writeln!(out, "Rate: {} mm/day in {} turns of {} mm", kg(Some(p.rate.value)), p.turns_per_day, p.mm_per_turn);
    rationale_lines(&mut out, "  ", &p.rate.rationale);
    let _ = writeln!(out, "Latency: {} days", p.latency.value);
    rationale_lines(&mut out, "  ", &p.latency.rationale);
    let _ = writeln!(out, "Distraction: {} to {}", p.distraction_starts_on, p.distraction_ends_on);
    let _ = writeln!(out, "Expected end of consolidation: {}", p.consolidation_ends_on.value);
    rationale_lines(&mut out, "  ", &p.consolidation_ends_on.rationale);
    let _ = writeln!(out, "\n{:>4}  {:<10}  {:>5}  {:>6}  {:>13}", "day", "date", "turns", "mm", "cumulative mm");
    for d in &p.days {
        let _ = writeln!(
            out,
            "{:>4}  {}  {:>5}  {:>6}  {:>13}",
            d.distraction_day,
            d.date,
            d.turns,
            kg(Some(d.mm)),
            kg(Some(d.cumulative_mm))
        );
    }
    let _ = writeln!(out);
    rationale_lines(&mut out, "", &p.rationale);
    let _ = writeln!(out, "\n{DECISION_SUPPORT_NOTICE}");
    out
}
