//! Check-in triage: a patient's answers between visits → for each answer a
//! level (contact the team immediately / contact the team today / routine),
//! the most urgent of them, and what the patient should do now.
//!
//! The rules are data ([`TriageRuleSet`]: id, version, rules), built from the
//! clinic protocol (REFERENCES.md §12.8 and §12.7) and a programme's
//! [`TriageSettings`].
//!
//! Rules chosen (each rule's basis is in its data and in every result):
//! - **Patients with an osseointegrated implant**: the clinic's red-flag list
//!   (§12.8) applies item by item, each on its own, no score: temperature
//!   strictly higher than 38.5 °C, chills, severe pain or tenderness, profuse
//!   bleeding from the incision, spreading redness around the wound, nausea or
//!   vomiting, reduced mobility of the limb, a fall or trauma, inability to load
//!   the implant, any other symptom related to the operation → **contact the
//!   osseointegration team immediately**. That is the only urgent action the
//!   reference gives: it never says "emergency services", so no rule here does.
//!   A check-in reporting 39 °C is at that top level because 39 > 38.5 (§12.8);
//!   38.5 °C exactly is not (the criterion is "higher than").
//! - §12.7 adds, for the same patients: unusual leakage must be reported to the
//!   team immediately (top level); discharge that is yellow or clear is normal
//!   after surgery and usually subsides by 3–6 months (routine).
//! - §12.7 also says "pain, redness, fever or unusual leakage must be reported
//!   to the team immediately", while §12.8 qualifies pain as *severe* and
//!   redness as *spreading*. By default the §12.8 wording decides and pain that
//!   is not rated severe, or redness that is not spreading, takes a programme
//!   level; [`TriageSettings::oi_any_pain_or_redness_immediately`] switches to
//!   the literal §12.7 reading. Either way the rationale quotes both.
//! - **Everything the reference is silent on** takes a programme level,
//!   routine or contact-the-team-today, labelled "programme setting, not from
//!   the reference pack": pain not rated severe, redness not spreading, minor
//!   bleeding, pin-site problems on a frame (the pack has no pin-site protocol),
//!   a free-text message (LimbPath does not read it; a person must), and every
//!   answer of a patient without an osseointegrated implant (the §12.8 list is
//!   the osseointegration clinic's). No programme rule can reach the top level.
//! - **No invented threshold**: the reference gives no temperature for
//!   patients without an implant and no pain score for "severe". A programme
//!   may set a temperature ([`TriageSettings::temperature_above_c_without_implant`]);
//!   until it does, any temperature such a patient records goes to the team at
//!   the programme level. "Severe" is the patient's own answer to the
//!   reference's question, never derived from the pain score.
//! - An unanswered question is listed, never assumed "no", and flagged.

use crate::rationale::{Basis, Rationale};
use crate::sources::{OI_FOLLOW_UP_SOURCE, OI_RED_FLAGS_SOURCE};
use limbpath_clinical::explain::{FlagKind, InputValue, number as num};
use limbpath_clinical::{InvalidInput, limits};
use serde::{Deserialize, Serialize};

type Result<T> = std::result::Result<T, InvalidInput>;

// source: clinic protocol as published by the treating institute (osseointegration patient information) | REFERENCES.md §12.8 | status: SINGLE-SOURCE
/// "Temperature higher than 38.5 °C (fever)": the red flag fires strictly
/// above this value. Unrelated to the SIRS >38 °C criterion of WIfI/IWGDF.
pub const OI_FEVER_ABOVE_C: f64 = 38.5;

/// The rule set's id.
pub const RULE_SET_ID: &str = "check_in_triage.oi_clinic";

/// The version of the rules in this file; the rule set's version is this plus
/// the programme settings' version (`1+settings.<version>`).
pub const RULES_VERSION: &str = "1";

/// The longest free-text message accepted (an input bound, not clinical).
pub const FREE_TEXT_MAX_CHARS: usize = 4000;

/// How urgently the patient should act. Ordered: routine < today < immediately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriageLevel {
    /// Nothing to do now; the team sees the answers at routine review.
    Routine,
    /// Contact the team today (a programme level: the reference has none).
    ContactTeamToday,
    /// "Contact the osseointegration team immediately" (§12.8): the most
    /// urgent action the reference gives.
    ContactTeamImmediately,
}

impl TriageLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            TriageLevel::Routine => "routine",
            TriageLevel::ContactTeamToday => "contact_team_today",
            TriageLevel::ContactTeamImmediately => "contact_team_immediately",
        }
    }
}

/// The levels a programme may give where the reference is silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgrammeLevel {
    Routine,
    ContactTeamToday,
}

impl From<ProgrammeLevel> for TriageLevel {
    fn from(l: ProgrammeLevel) -> Self {
        match l {
            ProgrammeLevel::Routine => TriageLevel::Routine,
            ProgrammeLevel::ContactTeamToday => TriageLevel::ContactTeamToday,
        }
    }
}

/// Bleeding, as the patient reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bleeding {
    None,
    Minor,
    /// "Profuse bleeding from the incision" (§12.8).
    Profuse,
}

/// Redness around the wound, as the patient reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Redness {
    None,
    NotSpreading,
    /// "Spreading redness around the wound" (§12.8).
    Spreading,
}

/// A change at the wound (or the skin-implant site), as the patient reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WoundChange {
    None,
    /// Yellow or clear discharge, as §12.7 describes the normal discharge.
    UsualDischarge,
    /// Unusual leakage (§12.7: report to the team immediately).
    UnusualLeakage,
    /// Any other change at the wound.
    Other,
}

/// A patient's check-in. Every answer is optional: an unanswered question is
/// listed as such, never read as "no".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    /// Body temperature, °C.
    pub temperature_c: Option<f64>,
    pub chills: Option<bool>,
    /// Pain score, NRS 0–10.
    pub pain_nrs: Option<u8>,
    /// The reference's own question: severe pain or tenderness?
    pub severe_pain_or_tenderness: Option<bool>,
    pub bleeding: Option<Bleeding>,
    pub redness: Option<Redness>,
    pub nausea_or_vomiting: Option<bool>,
    /// Reduced mobility of the limb.
    pub reduced_mobility: Option<bool>,
    pub fall_or_trauma: Option<bool>,
    /// Inability to load the implant (patients with an osseointegrated implant).
    pub unable_to_load_implant: Option<bool>,
    pub wound_change: Option<WoundChange>,
    /// A problem at a pin site of an external frame.
    pub pin_site_problem: Option<bool>,
    /// "Any other symptoms related to the operation" (§12.8 catch-all).
    pub other_symptom_related_to_operation: Option<bool>,
    /// A message for the team, read by a person (LimbPath does not interpret it).
    pub free_text: Option<String>,
}

/// A check-in form answer that could not be read: the question's name (the
/// form control's name, which is also the [`CheckIn`] field) and what to enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnreadableAnswer {
    pub question: &'static str,
    pub message: &'static str,
}

impl CheckIn {
    /// The patient's check-in form as a check-in. `answer(name)` gives the
    /// text posted for the question `name`, trimmed, or `""` when it was left
    /// unanswered; answers are named after the [`CheckIn`] fields, yes/no
    /// questions answer `yes` or `no`, choices their snake_case code. An
    /// unanswered or unrecognised choice stays unanswered (never "no"); a
    /// temperature that is not a number (a decimal comma is accepted) is an
    /// error naming the question. Ranges are checked by [`triage`].
    pub fn from_form_answers<'a>(
        answer: impl Fn(&str) -> &'a str,
    ) -> std::result::Result<CheckIn, Vec<UnreadableAnswer>> {
        let yes_no = |name: &str| match answer(name) {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        };
        let mut errors = Vec::new();
        let temperature_c = match answer("temperature_c").replace(',', ".").as_str() {
            "" => None,
            t => match t.parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    errors.push(UnreadableAnswer {
                        question: "temperature_c",
                        message: "Enter your temperature as a number, for example 37.2",
                    });
                    None
                }
            },
        };
        let bleeding = match answer("bleeding") {
            "none" => Some(Bleeding::None),
            "minor" => Some(Bleeding::Minor),
            "profuse" => Some(Bleeding::Profuse),
            _ => None,
        };
        let redness = match answer("redness") {
            "none" => Some(Redness::None),
            "not_spreading" => Some(Redness::NotSpreading),
            "spreading" => Some(Redness::Spreading),
            _ => None,
        };
        let wound_change = match answer("wound_change") {
            "none" => Some(WoundChange::None),
            "usual_discharge" => Some(WoundChange::UsualDischarge),
            "unusual_leakage" => Some(WoundChange::UnusualLeakage),
            "other" => Some(WoundChange::Other),
            _ => None,
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CheckIn {
            temperature_c,
            chills: yes_no("chills"),
            pain_nrs: answer("pain_nrs").parse::<u8>().ok(),
            severe_pain_or_tenderness: yes_no("severe_pain_or_tenderness"),
            bleeding,
            redness,
            nausea_or_vomiting: yes_no("nausea_or_vomiting"),
            reduced_mobility: yes_no("reduced_mobility"),
            fall_or_trauma: yes_no("fall_or_trauma"),
            unable_to_load_implant: yes_no("unable_to_load_implant"),
            wound_change,
            pin_site_problem: yes_no("pin_site_problem"),
            other_symptom_related_to_operation: yes_no("other_symptom_related_to_operation"),
            free_text: Some(answer("free_text").to_owned()).filter(|t| !t.is_empty()),
        })
    }
}

/// What the record says about the patient when the check-in arrives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckInContext {
    pub osseointegrated_implant: bool,
    pub external_frame: bool,
    /// Days since the (latest relevant) operation, if known.
    pub days_since_surgery: Option<u32>,
}

// Days since surgery: at most a century (an input bound, not clinical).
const DAYS_SINCE_SURGERY_MAX: u32 = 36_525;

/// What a programme chooses where the reference pack is silent. Every value
/// here is labelled "programme setting, not from the reference pack" wherever
/// it is used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageSettings {
    /// The programme's version of these settings (part of the rule set version).
    pub version: String,
    /// Pain scores from this NRS value up count as "pain reported" (default 1:
    /// any pain; not a clinical threshold).
    pub pain_reported_from_nrs: u8,
    /// Level for pain reported but not rated severe by the patient.
    pub pain_reported: ProgrammeLevel,
    /// Level for redness that is not spreading.
    pub redness_not_spreading: ProgrammeLevel,
    /// Level for bleeding that is not profuse.
    pub minor_bleeding: ProgrammeLevel,
    /// Level for a pin-site problem (the pack has no pin-site protocol).
    pub pin_site_problem: ProgrammeLevel,
    /// Level for a free-text message (a person has to read it).
    pub free_text: ProgrammeLevel,
    /// Level for each symptom of the §12.8 kind reported by a patient without
    /// an osseointegrated implant (the §12.8 list is the osseointegration
    /// clinic's; the pack has none for other patients).
    pub without_implant: ProgrammeLevel,
    /// Temperature above which a patient without an implant is given the
    /// `without_implant` level. `None` (default): the pack gives no figure, so
    /// any temperature such a patient records is passed on at that level.
    pub temperature_above_c_without_implant: Option<f64>,
    /// Read §12.7 literally for patients with an implant: any pain, any
    /// redness → contact the team immediately. Default `false` (§12.8 wording:
    /// severe pain, spreading redness).
    pub oi_any_pain_or_redness_immediately: bool,
}

impl Default for TriageSettings {
    /// Every silent item at "contact the team today" (the more cautious of the
    /// two programme levels), no invented number.
    fn default() -> Self {
        TriageSettings {
            version: "default".to_owned(),
            pain_reported_from_nrs: 1,
            pain_reported: ProgrammeLevel::ContactTeamToday,
            redness_not_spreading: ProgrammeLevel::ContactTeamToday,
            minor_bleeding: ProgrammeLevel::ContactTeamToday,
            pin_site_problem: ProgrammeLevel::ContactTeamToday,
            free_text: ProgrammeLevel::ContactTeamToday,
            without_implant: ProgrammeLevel::ContactTeamToday,
            temperature_above_c_without_implant: None,
            oi_any_pain_or_redness_immediately: false,
        }
    }
}

impl TriageSettings {
    /// Check the settings, naming the field (`settings.<name>`).
    pub fn validate(&self) -> Result<()> {
        check_version("settings.version", &self.version)?;
        limits::check_grade("settings.pain_reported_from_nrs", self.pain_reported_from_nrs, 1, 10)?;
        limits::TEMPERATURE_C
            .check_opt("settings.temperature_above_c_without_implant", self.temperature_above_c_without_implant)?;
        Ok(())
    }
}

pub(crate) fn check_version(field: &str, version: &str) -> Result<()> {
    let ok = !version.is_empty()
        && version.len() <= 64
        && version.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::unrecognised(field, version, "1-64 characters: letters, digits, '.', '_', '-', '+'"))
    }
}

/// Which patients a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliesTo {
    WithImplant,
    WithoutImplant,
    AnyPatient,
}

impl AppliesTo {
    fn covers(self, context: &CheckInContext) -> bool {
        match self {
            AppliesTo::WithImplant => context.osseointegrated_implant,
            AppliesTo::WithoutImplant => !context.osseointegrated_implant,
            AppliesTo::AnyPatient => true,
        }
    }
}

/// When a rule fires, on its answer's value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "when", rename_all = "snake_case")]
pub enum Trigger {
    /// Temperature strictly greater than `celsius`.
    TemperatureAbove {
        celsius: f64,
    },
    /// Any temperature recorded.
    TemperatureRecorded,
    /// The yes/no answer is yes.
    Yes,
    /// Pain score at least `nrs`.
    PainNrsAtLeast {
        nrs: u8,
    },
    BleedingIs {
        is: Bleeding,
    },
    RednessIs {
        is: Redness,
    },
    WoundChangeIs {
        is: WoundChange,
    },
    /// Any wound change other than none.
    WoundChangeReported,
    /// A non-blank free-text message.
    TextGiven,
}

/// One answer's value.
#[derive(Debug, Clone, PartialEq)]
enum Value<'a> {
    Temperature(f64),
    YesNo(bool),
    Nrs(u8),
    Bleeding(Bleeding),
    Redness(Redness),
    Wound(WoundChange),
    Text(&'a str),
}

impl Trigger {
    fn fires(self, value: &Value<'_>) -> bool {
        match (self, value) {
            (Trigger::TemperatureAbove { celsius }, Value::Temperature(t)) => *t > celsius,
            (Trigger::TemperatureRecorded, Value::Temperature(_)) => true,
            (Trigger::Yes, Value::YesNo(b)) => *b,
            (Trigger::PainNrsAtLeast { nrs }, Value::Nrs(n)) => *n >= nrs,
            (Trigger::BleedingIs { is }, Value::Bleeding(b)) => *b == is,
            (Trigger::RednessIs { is }, Value::Redness(r)) => *r == is,
            (Trigger::WoundChangeIs { is }, Value::Wound(w)) => *w == is,
            (Trigger::WoundChangeReported, Value::Wound(w)) => *w != WoundChange::None,
            (Trigger::TextGiven, Value::Text(t)) => !t.trim().is_empty(),
            _ => false,
        }
    }
}

/// One triage rule, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageRule {
    /// Stable id, e.g. `oi.temperature_above_38_5`.
    pub id: &'static str,
    /// The check-in field the rule reads.
    pub answer: &'static str,
    pub applies_to: AppliesTo,
    pub trigger: Trigger,
    pub level: TriageLevel,
    /// The rule in words, with its source's wording.
    pub says: String,
    /// What the patient is told to do when it fires (empty for routine rules).
    pub instruction: &'static str,
    /// What the rule rests on.
    pub basis: Vec<Basis>,
}

/// A versioned set of triage rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageRuleSet {
    pub id: &'static str,
    /// `RULES_VERSION+settings.<settings version>`.
    pub version: String,
    pub rules: Vec<TriageRule>,
}

// source: clinic protocol as published by the treating institute (osseointegration patient information) | REFERENCES.md §12.8 | status: SINGLE-SOURCE
/// The §12.8 action, in the reference's words.
pub const CONTACT_OI_TEAM_IMMEDIATELY: &str = "Contact the osseointegration team immediately.";

// source: clinic protocol as published by the treating institute (osseointegration patient information) | REFERENCES.md §12.7 | status: SINGLE-SOURCE
/// §12.7's wording for signs of infection (pain, redness, fever, unusual leakage).
pub const REPORT_WITH_DESCRIPTION_AND_PHOTOS: &str = "Contact the osseointegration team immediately. Give a \
     detailed description and photos. Antibiotic treatment should not be started until the type of infection has \
     been determined.";

/// Programme wording (not from the reference pack) for "contact the team today".
pub const CONTACT_TEAM_TODAY: &str = "Contact the team today.";

/// Programme wording (not from the reference pack) when nothing needs action.
pub const ROUTINE_INSTRUCTION: &str = "Nothing you reported needs action now. Keep to your plan; the team sees \
     your answers at the routine review.";

fn reference(sources: &[&'static limbpath_clinical::Source]) -> Vec<Basis> {
    sources.iter().map(|s| Basis::reference(s)).collect()
}

fn programme(setting: &'static str, value: impl ToString) -> Vec<Basis> {
    vec![Basis::setting(setting, value)]
}

fn programme_rule(
    id: &'static str,
    answer: &'static str,
    applies_to: AppliesTo,
    trigger: Trigger,
    level: ProgrammeLevel,
    setting: &'static str,
    says: impl Into<String>,
) -> TriageRule {
    let level = TriageLevel::from(level);
    TriageRule {
        id,
        answer,
        applies_to,
        trigger,
        level,
        says: says.into(),
        instruction: match level {
            TriageLevel::Routine => "",
            _ => CONTACT_TEAM_TODAY,
        },
        basis: programme(setting, level.as_str()),
    }
}

impl TriageRuleSet {
    /// The clinic-protocol rule set with a programme's settings.
    pub fn clinic(settings: &TriageSettings) -> Result<TriageRuleSet> {
        settings.validate()?;
        let red = &OI_RED_FLAGS_SOURCE;
        let follow = &OI_FOLLOW_UP_SOURCE;
        let urgent = TriageLevel::ContactTeamImmediately;
        let oi = |id, answer, trigger, says: &str, instruction, basis: Vec<Basis>| TriageRule {
            id,
            answer,
            applies_to: AppliesTo::WithImplant,
            trigger,
            level: urgent,
            says: says.to_owned(),
            instruction,
            basis,
        };
        let mut rules = vec![
            oi(
                "oi.temperature_above_38_5",
                "temperature_c",
                Trigger::TemperatureAbove { celsius: OI_FEVER_ABOVE_C },
                "temperature higher than 38.5 °C (fever), strictly above 38.5 -> contact the osseointegration team \
                 immediately (§12.8); fever is to be reported with a description and photos (§12.7)",
                REPORT_WITH_DESCRIPTION_AND_PHOTOS,
                reference(&[red, follow]),
            ),
            oi(
                "oi.chills",
                "chills",
                Trigger::Yes,
                "chills -> contact the osseointegration team immediately (§12.8: \"temperature higher than 38.5 °C \
                 (fever), or chills\")",
                CONTACT_OI_TEAM_IMMEDIATELY,
                reference(&[red]),
            ),
            oi(
                "oi.severe_pain_or_tenderness",
                "severe_pain_or_tenderness",
                Trigger::Yes,
                "severe pain or tenderness -> contact the osseointegration team immediately (§12.8); pain is to be \
                 reported with a description and photos (§12.7)",
                REPORT_WITH_DESCRIPTION_AND_PHOTOS,
                reference(&[red, follow]),
            ),
            oi(
                "oi.profuse_bleeding",
                "bleeding",
                Trigger::BleedingIs { is: Bleeding::Profuse },
                "profuse bleeding from the incision -> contact the osseointegration team immediately (§12.8)",
                CONTACT_OI_TEAM_IMMEDIATELY,
                reference(&[red]),
            ),
            oi(
                "oi.spreading_redness",
                "redness",
                Trigger::RednessIs { is: Redness::Spreading },
                "spreading redness around the wound -> contact the osseointegration team immediately (§12.8); \
                 redness is to be reported with a description and photos (§12.7)",
                REPORT_WITH_DESCRIPTION_AND_PHOTOS,
                reference(&[red, follow]),
            ),
            oi(
                "oi.nausea_or_vomiting",
                "nausea_or_vomiting",
                Trigger::Yes,
                "nausea or vomiting -> contact the osseointegration team immediately (§12.8)",
                CONTACT_OI_TEAM_IMMEDIATELY,
                reference(&[red]),
            ),
            oi(
                "oi.reduced_mobility",
                "reduced_mobility",
                Trigger::Yes,
                "reduced mobility of the limb -> contact the osseointegration team immediately (§12.8)",
                CONTACT_OI_TEAM_IMMEDIATELY,
                reference(&[red]),
            ),
            oi(
                "oi.fall_or_trauma",
                "fall_or_trauma",
                Trigger::Yes,
                "a fall or trauma -> contact the osseointegration team immediately (§12.8: \"trauma, fall, and \
                 inability to load the implant\", each a trigger on its own)",
                CONTACT_OI_TEAM_IMMEDIATELY,
                reference(&[red]),
            ),
            oi(
                "oi.unable_to_load_implant",
                "unable_to_load_implant",
                Trigger::Yes,
                "inability to load the implant -> contact the osseointegration team immediately (§12.8: \"trauma, \
                 fall, and inability to load the implant\", each a trigger on its own)",
                CONTACT_OI_TEAM_IMMEDIATELY,
                reference(&[red]),
            ),
            oi(
                "oi.other_symptom_related_to_operation",
                "other_symptom_related_to_operation",
                Trigger::Yes,
                "any other symptom related to the operation -> contact the osseointegration team immediately \
                 (§12.8 catch-all)",
                CONTACT_OI_TEAM_IMMEDIATELY,
                reference(&[red]),
            ),
            oi(
                "oi.unusual_leakage",
                "wound_change",
                Trigger::WoundChangeIs { is: WoundChange::UnusualLeakage },
                "unusual leakage -> must be reported to the team immediately, with a detailed description and \
                 photos (§12.7)",
                REPORT_WITH_DESCRIPTION_AND_PHOTOS,
                reference(&[follow]),
            ),
            oi(
                "oi.other_wound_change",
                "wound_change",
                Trigger::WoundChangeIs { is: WoundChange::Other },
                "a change at the wound other than the usual discharge: a symptom related to the operation -> \
                 contact the osseointegration team immediately (§12.8 catch-all)",
                CONTACT_OI_TEAM_IMMEDIATELY,
                reference(&[red]),
            ),
            TriageRule {
                id: "oi.usual_discharge",
                answer: "wound_change",
                applies_to: AppliesTo::WithImplant,
                trigger: Trigger::WoundChangeIs { is: WoundChange::UsualDischarge },
                level: TriageLevel::Routine,
                says: "yellow or clear discharge from the skin-implant site is normal after surgery and usually \
                       subsides by 3–6 months; it is more intense in women and in overweight patients (§12.7) -> \
                       routine"
                    .to_owned(),
                instruction: "",
                basis: reference(&[follow]),
            },
        ];
        if settings.oi_any_pain_or_redness_immediately {
            let option = Basis::setting("triage.oi_any_pain_or_redness_immediately", true);
            rules.push(TriageRule {
                id: "oi.pain_reported_section_12_7",
                answer: "pain_nrs",
                applies_to: AppliesTo::WithImplant,
                trigger: Trigger::PainNrsAtLeast { nrs: 1 },
                level: urgent,
                says: "pain (any score above 0) -> \"pain, redness, fever or unusual leakage must be reported to \
                       the team immediately\" (§12.7, read literally by programme choice)"
                    .to_owned(),
                instruction: REPORT_WITH_DESCRIPTION_AND_PHOTOS,
                basis: vec![Basis::reference(follow), option.clone()],
            });
            rules.push(TriageRule {
                id: "oi.redness_section_12_7",
                answer: "redness",
                applies_to: AppliesTo::WithImplant,
                trigger: Trigger::RednessIs { is: Redness::NotSpreading },
                level: urgent,
                says: "redness, not spreading -> \"pain, redness, fever or unusual leakage must be reported to the \
                       team immediately\" (§12.7, read literally by programme choice)"
                    .to_owned(),
                instruction: REPORT_WITH_DESCRIPTION_AND_PHOTOS,
                basis: vec![Basis::reference(follow), option],
            });
        }

        let any = AppliesTo::AnyPatient;
        let nrs = settings.pain_reported_from_nrs;
        rules.push(programme_rule(
            "programme.pain_reported",
            "pain_nrs",
            any,
            Trigger::PainNrsAtLeast { nrs },
            settings.pain_reported,
            "triage.pain_reported",
            format!(
                "pain score NRS {nrs} or more, not a red flag by itself: the reference gives no pain score for \
                 \"severe\" (§12.8 asks about severe pain or tenderness, which the patient answers separately) \
                 -> the programme's level (§12.7 says pain, redness, fever or unusual leakage must be reported to \
                 the osseointegration team immediately; the programme decides how §12.7 and §12.8 combine)"
            ),
        ));
        rules.push(programme_rule(
            "programme.redness_not_spreading",
            "redness",
            any,
            Trigger::RednessIs { is: Redness::NotSpreading },
            settings.redness_not_spreading,
            "triage.redness_not_spreading",
            "redness that is not spreading: §12.8 names spreading redness only -> the programme's level (§12.7 \
             says redness must be reported to the osseointegration team immediately; the programme decides how \
             §12.7 and §12.8 combine)",
        ));
        rules.push(programme_rule(
            "programme.minor_bleeding",
            "bleeding",
            any,
            Trigger::BleedingIs { is: Bleeding::Minor },
            settings.minor_bleeding,
            "triage.minor_bleeding",
            "bleeding that is not profuse: the reference names profuse bleeding only -> the programme's level",
        ));
        rules.push(programme_rule(
            "programme.pin_site_problem",
            "pin_site_problem",
            any,
            Trigger::Yes,
            settings.pin_site_problem,
            "triage.pin_site_problem",
            "a pin-site problem on an external frame: the reference pack has no pin-site protocol -> the \
             programme's level",
        ));
        rules.push(programme_rule(
            "programme.free_text",
            "free_text",
            any,
            Trigger::TextGiven,
            settings.free_text,
            "triage.free_text",
            "a free-text message: LimbPath does not interpret it, a person must read it -> the programme's level",
        ));

        let without = AppliesTo::WithoutImplant;
        let level = settings.without_implant;
        let setting = "triage.without_implant";
        const SILENT: &str = "no osseointegrated implant: the §12.8 red-flag list is the osseointegration clinic's \
                              and the reference pack has none for this patient -> the programme's level";
        let temperature = match settings.temperature_above_c_without_implant {
            Some(t) => programme_rule(
                "programme.without_implant.temperature",
                "temperature_c",
                without,
                Trigger::TemperatureAbove { celsius: t },
                level,
                setting,
                format!(
                    "temperature higher than {} °C (the programme's figure; the pack gives none for patients \
                     without an implant): {SILENT}",
                    num(t)
                ),
            )
            .also(Basis::setting("triage.temperature_above_c_without_implant", num(t))),
            None => programme_rule(
                "programme.without_implant.temperature",
                "temperature_c",
                without,
                Trigger::TemperatureRecorded,
                level,
                setting,
                format!(
                    "any temperature recorded: the programme has set no temperature for patients without an \
                     implant and the pack gives none, so the reading is passed to the team; {SILENT}"
                ),
            ),
        };
        rules.push(temperature);
        let silent = |id, answer, trigger, what: &str| {
            programme_rule(id, answer, without, trigger, level, setting, format!("{what}: {SILENT}"))
        };
        rules.extend([
            silent("programme.without_implant.chills", "chills", Trigger::Yes, "chills"),
            silent(
                "programme.without_implant.severe_pain_or_tenderness",
                "severe_pain_or_tenderness",
                Trigger::Yes,
                "severe pain or tenderness",
            ),
            silent(
                "programme.without_implant.profuse_bleeding",
                "bleeding",
                Trigger::BleedingIs { is: Bleeding::Profuse },
                "profuse bleeding",
            ),
            silent(
                "programme.without_implant.spreading_redness",
                "redness",
                Trigger::RednessIs { is: Redness::Spreading },
                "spreading redness",
            ),
            silent(
                "programme.without_implant.nausea_or_vomiting",
                "nausea_or_vomiting",
                Trigger::Yes,
                "nausea or vomiting",
            ),
            silent("programme.without_implant.reduced_mobility", "reduced_mobility", Trigger::Yes, "reduced mobility"),
            silent("programme.without_implant.fall_or_trauma", "fall_or_trauma", Trigger::Yes, "a fall or trauma"),
            silent(
                "programme.without_implant.unable_to_load_implant",
                "unable_to_load_implant",
                Trigger::Yes,
                "inability to load an implant (reported, though the record shows none)",
            ),
            silent(
                "programme.without_implant.wound_change",
                "wound_change",
                Trigger::WoundChangeReported,
                "a wound change",
            ),
            silent(
                "programme.without_implant.other_symptom_related_to_operation",
                "other_symptom_related_to_operation",
                Trigger::Yes,
                "another symptom related to the operation",
            ),
        ]);
        Ok(TriageRuleSet { id: RULE_SET_ID, version: format!("{RULES_VERSION}+settings.{}", settings.version), rules })
    }
}

impl TriageRule {
    fn also(mut self, basis: Basis) -> Self {
        if !self.basis.contains(&basis) {
            self.basis.push(basis);
        }
        self
    }
}

/// A rule that fired on an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FiredRule {
    pub id: &'static str,
    pub level: TriageLevel,
}

/// The triage of one answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerTriage {
    /// The check-in field.
    pub answer: &'static str,
    pub value: InputValue,
    pub level: TriageLevel,
    pub fired: Vec<FiredRule>,
    /// The answer in the patient's words, when a rule above routine fired.
    pub reported_as: Option<String>,
    pub rationale: Rationale,
}

/// The triage of a whole check-in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageDecision {
    pub rule_set_id: &'static str,
    pub rule_set_version: String,
    /// The most urgent level of any answer.
    pub level: TriageLevel,
    /// What the patient should do now, in the reference's words where it has any.
    pub instruction: String,
    pub answers: Vec<AnswerTriage>,
    /// Every rule that fired, in answer order.
    pub fired: Vec<FiredRule>,
    /// Every source and programme setting the decision rests on.
    pub source_ids: Vec<String>,
    /// Questions relevant to this patient that were not answered.
    pub unanswered: Vec<&'static str>,
    pub rationale: Rationale,
}

fn patient_words(answer: &'static str, value: &Value<'_>) -> String {
    match (answer, value) {
        (_, Value::Temperature(t)) => format!("a temperature of {} °C", num(*t)),
        (_, Value::Nrs(n)) => format!("pain {n}/10"),
        (_, Value::Bleeding(Bleeding::Profuse)) => "profuse bleeding from the incision".to_owned(),
        (_, Value::Bleeding(_)) => "some bleeding".to_owned(),
        (_, Value::Redness(Redness::Spreading)) => "spreading redness around the wound".to_owned(),
        (_, Value::Redness(_)) => "redness that is not spreading".to_owned(),
        (_, Value::Wound(WoundChange::UsualDischarge)) => "yellow or clear discharge".to_owned(),
        (_, Value::Wound(WoundChange::UnusualLeakage)) => "unusual leakage from the wound".to_owned(),
        (_, Value::Wound(_)) => "a change at the wound".to_owned(),
        (_, Value::Text(_)) => "a message for the team".to_owned(),
        ("chills", _) => "chills".to_owned(),
        ("severe_pain_or_tenderness", _) => "severe pain or tenderness".to_owned(),
        ("nausea_or_vomiting", _) => "nausea or vomiting".to_owned(),
        ("reduced_mobility", _) => "reduced mobility of the limb".to_owned(),
        ("fall_or_trauma", _) => "a fall or trauma".to_owned(),
        ("unable_to_load_implant", _) => "that you cannot load the implant".to_owned(),
        ("pin_site_problem", _) => "a problem at a pin site".to_owned(),
        ("other_symptom_related_to_operation", _) => "another symptom related to the operation".to_owned(),
        (other, _) => other.replace('_', " "),
    }
}

fn input_value(value: &Value<'_>) -> InputValue {
    match value {
        Value::Temperature(t) => InputValue::from(*t),
        Value::YesNo(b) => InputValue::from(*b),
        Value::Nrs(n) => InputValue::from(*n),
        Value::Bleeding(b) => InputValue::from(match b {
            Bleeding::None => "none",
            Bleeding::Minor => "minor",
            Bleeding::Profuse => "profuse",
        }),
        Value::Redness(r) => InputValue::from(match r {
            Redness::None => "none",
            Redness::NotSpreading => "not_spreading",
            Redness::Spreading => "spreading",
        }),
        Value::Wound(w) => InputValue::from(match w {
            WoundChange::None => "none",
            WoundChange::UsualDischarge => "usual_discharge",
            WoundChange::UnusualLeakage => "unusual_leakage",
            WoundChange::Other => "other",
        }),
        // The message itself is not repeated into rationales (it may hold
        // anything); its length is.
        Value::Text(t) => InputValue::from(format!("{} characters", t.chars().count())),
    }
}

fn check(check_in: &CheckIn, context: &CheckInContext) -> Result<()> {
    limits::TEMPERATURE_C.check_opt("check_in.temperature_c", check_in.temperature_c)?;
    if let Some(n) = check_in.pain_nrs {
        limits::check_grade("check_in.pain_nrs", n, 0, 10)?;
    }
    if let Some(t) = &check_in.free_text {
        limbpath_record::check_text("check_in.free_text", t, FREE_TEXT_MAX_CHARS, false)?;
    }
    if let Some(d) = context.days_since_surgery
        && d > DAYS_SINCE_SURGERY_MAX
    {
        return Err(InvalidInput::out_of_range(
            "context.days_since_surgery",
            d,
            format!("a whole number of days from 0 to {DAYS_SINCE_SURGERY_MAX}"),
        ));
    }
    Ok(())
}

/// Triage a check-in with a rule set, for a patient in `context`.
pub fn triage(rule_set: &TriageRuleSet, check_in: &CheckIn, context: &CheckInContext) -> Result<TriageDecision> {
    check(check_in, context)?;
    let c = check_in;
    // Every question, in form order: (field, value if answered, relevant to this patient).
    let questions: [(&'static str, Option<Value<'_>>, bool); 14] = [
        ("temperature_c", c.temperature_c.map(Value::Temperature), true),
        ("chills", c.chills.map(Value::YesNo), true),
        ("pain_nrs", c.pain_nrs.map(Value::Nrs), true),
        ("severe_pain_or_tenderness", c.severe_pain_or_tenderness.map(Value::YesNo), true),
        ("bleeding", c.bleeding.map(Value::Bleeding), true),
        ("redness", c.redness.map(Value::Redness), true),
        ("nausea_or_vomiting", c.nausea_or_vomiting.map(Value::YesNo), true),
        ("reduced_mobility", c.reduced_mobility.map(Value::YesNo), true),
        ("fall_or_trauma", c.fall_or_trauma.map(Value::YesNo), true),
        ("unable_to_load_implant", c.unable_to_load_implant.map(Value::YesNo), context.osseointegrated_implant),
        ("wound_change", c.wound_change.map(Value::Wound), true),
        ("pin_site_problem", c.pin_site_problem.map(Value::YesNo), context.external_frame),
        ("other_symptom_related_to_operation", c.other_symptom_related_to_operation.map(Value::YesNo), true),
        // The message is optional: never "unanswered".
        ("free_text", c.free_text.as_deref().map(Value::Text), false),
    ];

    let mut answers = Vec::new();
    let mut unanswered = Vec::new();
    for (answer, value, relevant) in questions {
        let Some(value) = value else {
            if relevant {
                unanswered.push(answer);
            }
            continue;
        };
        answers.push(triage_answer(rule_set, answer, &value, context));
    }

    let level = answers.iter().map(|a| a.level).max().unwrap_or(TriageLevel::Routine);
    let fired: Vec<FiredRule> = answers.iter().flat_map(|a| a.fired.iter().cloned()).collect();
    let mut source_ids: Vec<String> = Vec::new();
    for a in &answers {
        for id in a.rationale.source_ids() {
            if !source_ids.contains(&id) {
                source_ids.push(id);
            }
        }
    }

    // The instruction: the top level's wording, then what the patient reported at that level.
    let top: Vec<&AnswerTriage> = answers.iter().filter(|a| a.level == level).collect();
    let instruction = if level == TriageLevel::Routine {
        ROUTINE_INSTRUCTION.to_owned()
    } else {
        let mut wording: Vec<&str> = Vec::new();
        for a in &top {
            for f in a.fired.iter().filter(|f| f.level == level) {
                let said = rule_set.rules.iter().find(|r| r.id == f.id).map_or("", |r| r.instruction);
                if !said.is_empty() && !wording.contains(&said) {
                    wording.push(said);
                }
            }
        }
        // The §12.7 wording contains the §12.8 sentence: say it once.
        if wording.contains(&REPORT_WITH_DESCRIPTION_AND_PHOTOS) {
            wording.retain(|w| *w != CONTACT_OI_TEAM_IMMEDIATELY);
        }
        let reported: Vec<&str> = top.iter().filter_map(|a| a.reported_as.as_deref()).collect();
        format!("{} You reported: {}.", wording.join(" "), reported.join("; "))
    };

    let mut rationale = Rationale::new(
        Basis::reference(&OI_RED_FLAGS_SOURCE),
        match level {
            TriageLevel::Routine => "no answer fired a rule above routine -> routine".to_owned(),
            _ => format!(
                "the most urgent answer decides (any single item triggers the action; there is no score, §12.8): \
                 {} -> {}",
                top.iter().map(|a| a.answer).collect::<Vec<_>>().join(", "),
                level.as_str()
            ),
        },
    )
    .input("context.osseointegrated_implant", context.osseointegrated_implant)
    .input("context.external_frame", context.external_frame)
    .input(
        "context.days_since_surgery",
        context.days_since_surgery.map_or(InputValue::from("unknown"), InputValue::from),
    );
    rationale.basis.clear();
    for a in &answers {
        for b in &a.rationale.basis {
            rationale.push_basis(b.clone());
        }
    }
    if rationale.basis.is_empty() {
        rationale.push_basis(Basis::reference(&OI_RED_FLAGS_SOURCE));
    }
    if !context.osseointegrated_implant {
        rationale.push_flag(
            FlagKind::Caution,
            "no osseointegrated implant in the record: the §12.8 red-flag list (the osseointegration clinic's) does \
             not apply, and the reference pack has no other; every level comes from programme settings",
        );
    } else {
        rationale.push_flag(
            FlagKind::SingleSource,
            "the red-flag list is the treating institute's published osseointegration protocol (single source): \
             re-check before clinical release",
        );
    }
    if !unanswered.is_empty() {
        rationale
            .push_flag(FlagKind::Incomplete, format!("not answered: {} (not read as \"no\")", unanswered.join(", ")));
    }
    if answers.is_empty() {
        rationale.push_flag(FlagKind::Incomplete, "no question answered: nothing could be triaged");
    }

    Ok(TriageDecision {
        rule_set_id: rule_set.id,
        rule_set_version: rule_set.version.clone(),
        level,
        instruction,
        answers,
        fired,
        source_ids,
        unanswered,
        rationale,
    })
}

fn triage_answer(
    rule_set: &TriageRuleSet,
    answer: &'static str,
    value: &Value<'_>,
    context: &CheckInContext,
) -> AnswerTriage {
    let applicable: Vec<&TriageRule> =
        rule_set.rules.iter().filter(|r| r.answer == answer && r.applies_to.covers(context)).collect();
    let firing: Vec<&TriageRule> = applicable.iter().copied().filter(|r| r.trigger.fires(value)).collect();
    let level = firing.iter().map(|r| r.level).max().unwrap_or(TriageLevel::Routine);
    let fired: Vec<FiredRule> = firing.iter().map(|r| FiredRule { id: r.id, level: r.level }).collect();

    let shown = input_value(value);
    let rule = if firing.is_empty() {
        let checked: Vec<String> = applicable.iter().map(|r| r.says.clone()).collect();
        if checked.is_empty() {
            format!("{answer} = {shown}: no rule reads this answer for this patient -> routine")
        } else {
            format!("{answer} = {shown}: no rule fires -> routine (rules checked: {})", checked.join(" | "))
        }
    } else {
        let says: Vec<&str> = firing.iter().map(|r| r.says.as_str()).collect();
        format!("{answer} = {shown}: {}", says.join(" | "))
    };

    let bases: Vec<&Basis> = if firing.is_empty() {
        applicable.iter().flat_map(|r| &r.basis).collect()
    } else {
        firing.iter().flat_map(|r| &r.basis).collect()
    };
    let mut rationale = Rationale { inputs: Vec::new(), rule, basis: Vec::new(), flags: Vec::new() };
    rationale.push_input(answer_field(answer), shown.clone());
    for b in bases {
        rationale.push_basis(b.clone());
    }
    if rationale.basis.is_empty() {
        rationale.push_basis(Basis::setting("triage.rule_set", format!("{} {}", rule_set.id, rule_set.version)));
    }

    // The temperature criterion is strict: say so at the boundary.
    if let Value::Temperature(t) = value
        && context.osseointegrated_implant
        && *t == OI_FEVER_ABOVE_C
    {
        rationale.push_flag(
            FlagKind::AmbiguousBoundary,
            "38.5 °C exactly: the criterion is \"higher than 38.5 °C\", so it does not fire; recheck the temperature",
        );
    }
    if let Value::Wound(WoundChange::UsualDischarge) = value
        && context.osseointegrated_implant
    {
        let day = context.days_since_surgery.map_or("unknown".to_owned(), |d| d.to_string());
        rationale.push_flag(
            FlagKind::Review,
            format!(
                "discharge on day {day} after surgery: the protocol says it usually subsides by 3–6 months (§12.7)"
            ),
        );
    }
    if matches!(value, Value::YesNo(true)) && answer == "unable_to_load_implant" && !context.osseointegrated_implant {
        rationale
            .push_flag(FlagKind::Review, "the patient reports an implant the record does not show: check the record");
    }
    if matches!(value, Value::YesNo(true)) && answer == "pin_site_problem" && !context.external_frame {
        rationale.push_flag(
            FlagKind::Review,
            "the patient reports a pin site but the record shows no external frame: check the record",
        );
    }
    let reported_as = (level > TriageLevel::Routine).then(|| patient_words(answer, value));
    AnswerTriage { answer, value: shown, level, fired, reported_as, rationale }
}

/// The dotted input name of an answer (`check_in.<answer>`).
fn answer_field(answer: &'static str) -> &'static str {
    match answer {
        "temperature_c" => "check_in.temperature_c",
        "chills" => "check_in.chills",
        "pain_nrs" => "check_in.pain_nrs",
        "severe_pain_or_tenderness" => "check_in.severe_pain_or_tenderness",
        "bleeding" => "check_in.bleeding",
        "redness" => "check_in.redness",
        "nausea_or_vomiting" => "check_in.nausea_or_vomiting",
        "reduced_mobility" => "check_in.reduced_mobility",
        "fall_or_trauma" => "check_in.fall_or_trauma",
        "unable_to_load_implant" => "check_in.unable_to_load_implant",
        "wound_change" => "check_in.wound_change",
        "pin_site_problem" => "check_in.pin_site_problem",
        "other_symptom_related_to_operation" => "check_in.other_symptom_related_to_operation",
        "free_text" => "check_in.free_text",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OI: CheckInContext =
        CheckInContext { osseointegrated_implant: true, external_frame: false, days_since_surgery: Some(10) };
    const FRAME: CheckInContext =
        CheckInContext { osseointegrated_implant: false, external_frame: true, days_since_surgery: Some(10) };
    const RED: &str = "protocols.oi_clinic.red_flags";
    const FOLLOW: &str = "protocols.oi_clinic.follow_up";

    fn rules() -> TriageRuleSet {
        TriageRuleSet::clinic(&TriageSettings::default()).unwrap()
    }

    fn literal_rules() -> TriageRuleSet {
        TriageRuleSet::clinic(&TriageSettings { oi_any_pain_or_redness_immediately: true, ..TriageSettings::default() })
            .unwrap()
    }

    fn temperature(t: f64) -> CheckIn {
        CheckIn { temperature_c: Some(t), ..CheckIn::default() }
    }

    type Case = (&'static str, fn() -> CheckIn, CheckInContext, TriageLevel, &'static [&'static str]);

    const IMMEDIATELY: TriageLevel = TriageLevel::ContactTeamImmediately;
    const TODAY: TriageLevel = TriageLevel::ContactTeamToday;
    const ROUTINE: TriageLevel = TriageLevel::Routine;
    const WITHOUT: &[&str] = &["programme_setting:triage.without_implant"];

    /// One case per rule: the check-in that fires it, the patient, the level
    /// the answer gets, and the sources the rule names (REFERENCES.md §12.8
    /// red flags, §12.7 follow-up, or the programme setting).
    const CASES: &[Case] = &[
        ("oi.temperature_above_38_5", || temperature(39.0), OI, IMMEDIATELY, &[RED, FOLLOW]),
        ("oi.chills", || CheckIn { chills: Some(true), ..CheckIn::default() }, OI, IMMEDIATELY, &[RED]),
        (
            "oi.severe_pain_or_tenderness",
            || CheckIn { severe_pain_or_tenderness: Some(true), ..CheckIn::default() },
            OI,
            IMMEDIATELY,
            &[RED, FOLLOW],
        ),
        (
            "oi.profuse_bleeding",
            || CheckIn { bleeding: Some(Bleeding::Profuse), ..CheckIn::default() },
            OI,
            IMMEDIATELY,
            &[RED],
        ),
        (
            "oi.spreading_redness",
            || CheckIn { redness: Some(Redness::Spreading), ..CheckIn::default() },
            OI,
            IMMEDIATELY,
            &[RED, FOLLOW],
        ),
        (
            "oi.nausea_or_vomiting",
            || CheckIn { nausea_or_vomiting: Some(true), ..CheckIn::default() },
            OI,
            IMMEDIATELY,
            &[RED],
        ),
        (
            "oi.reduced_mobility",
            || CheckIn { reduced_mobility: Some(true), ..CheckIn::default() },
            OI,
            IMMEDIATELY,
            &[RED],
        ),
        ("oi.fall_or_trauma", || CheckIn { fall_or_trauma: Some(true), ..CheckIn::default() }, OI, IMMEDIATELY, &[RED]),
        (
            "oi.unable_to_load_implant",
            || CheckIn { unable_to_load_implant: Some(true), ..CheckIn::default() },
            OI,
            IMMEDIATELY,
            &[RED],
        ),
        (
            "oi.other_symptom_related_to_operation",
            || CheckIn { other_symptom_related_to_operation: Some(true), ..CheckIn::default() },
            OI,
            IMMEDIATELY,
            &[RED],
        ),
        (
            "oi.unusual_leakage",
            || CheckIn { wound_change: Some(WoundChange::UnusualLeakage), ..CheckIn::default() },
            OI,
            IMMEDIATELY,
            &[FOLLOW],
        ),
        (
            "oi.other_wound_change",
            || CheckIn { wound_change: Some(WoundChange::Other), ..CheckIn::default() },
            OI,
            IMMEDIATELY,
            &[RED],
        ),
        (
            "oi.usual_discharge",
            || CheckIn { wound_change: Some(WoundChange::UsualDischarge), ..CheckIn::default() },
            OI,
            ROUTINE,
            &[FOLLOW],
        ),
        (
            "programme.pain_reported",
            || CheckIn { pain_nrs: Some(3), ..CheckIn::default() },
            OI,
            TODAY,
            &["programme_setting:triage.pain_reported"],
        ),
        (
            "programme.redness_not_spreading",
            || CheckIn { redness: Some(Redness::NotSpreading), ..CheckIn::default() },
            OI,
            TODAY,
            &["programme_setting:triage.redness_not_spreading"],
        ),
        (
            "programme.minor_bleeding",
            || CheckIn { bleeding: Some(Bleeding::Minor), ..CheckIn::default() },
            OI,
            TODAY,
            &["programme_setting:triage.minor_bleeding"],
        ),
        (
            "programme.pin_site_problem",
            || CheckIn { pin_site_problem: Some(true), ..CheckIn::default() },
            FRAME,
            TODAY,
            &["programme_setting:triage.pin_site_problem"],
        ),
        (
            "programme.free_text",
            || CheckIn { free_text: Some("the frame squeaks".into()), ..CheckIn::default() },
            OI,
            TODAY,
            &["programme_setting:triage.free_text"],
        ),
        ("programme.without_implant.temperature", || temperature(37.0), FRAME, TODAY, WITHOUT),
        (
            "programme.without_implant.chills",
            || CheckIn { chills: Some(true), ..CheckIn::default() },
            FRAME,
            TODAY,
            WITHOUT,
        ),
        (
            "programme.without_implant.severe_pain_or_tenderness",
            || CheckIn { severe_pain_or_tenderness: Some(true), ..CheckIn::default() },
            FRAME,
            TODAY,
            WITHOUT,
        ),
        (
            "programme.without_implant.profuse_bleeding",
            || CheckIn { bleeding: Some(Bleeding::Profuse), ..CheckIn::default() },
            FRAME,
            TODAY,
            WITHOUT,
        ),
        (
            "programme.without_implant.spreading_redness",
            || CheckIn { redness: Some(Redness::Spreading), ..CheckIn::default() },
            FRAME,
            TODAY,
            WITHOUT,
        ),
        (
            "programme.without_implant.nausea_or_vomiting",
            || CheckIn { nausea_or_vomiting: Some(true), ..CheckIn::default() },
            FRAME,
            TODAY,
            WITHOUT,
        ),
        (
            "programme.without_implant.reduced_mobility",
            || CheckIn { reduced_mobility: Some(true), ..CheckIn::default() },
            FRAME,
            TODAY,
            WITHOUT,
        ),
        (
            "programme.without_implant.fall_or_trauma",
            || CheckIn { fall_or_trauma: Some(true), ..CheckIn::default() },
            FRAME,
            TODAY,
            WITHOUT,
        ),
        (
            "programme.without_implant.unable_to_load_implant",
            || CheckIn { unable_to_load_implant: Some(true), ..CheckIn::default() },
            FRAME,
            TODAY,
            WITHOUT,
        ),
        (
            "programme.without_implant.wound_change",
            || CheckIn { wound_change: Some(WoundChange::UsualDischarge), ..CheckIn::default() },
            FRAME,
            TODAY,
            WITHOUT,
        ),
        (
            "programme.without_implant.other_symptom_related_to_operation",
            || CheckIn { other_symptom_related_to_operation: Some(true), ..CheckIn::default() },
            FRAME,
            TODAY,
            WITHOUT,
        ),
    ];

    /// The rules only the literal §12.7 reading adds.
    const LITERAL_CASES: &[Case] = &[
        (
            "oi.pain_reported_section_12_7",
            || CheckIn { pain_nrs: Some(2), ..CheckIn::default() },
            OI,
            IMMEDIATELY,
            &[FOLLOW, "programme_setting:triage.oi_any_pain_or_redness_immediately"],
        ),
        (
            "oi.redness_section_12_7",
            || CheckIn { redness: Some(Redness::NotSpreading), ..CheckIn::default() },
            OI,
            IMMEDIATELY,
            &[FOLLOW, "programme_setting:triage.oi_any_pain_or_redness_immediately"],
        ),
    ];

    fn check_case(set: &TriageRuleSet, (id, check_in, context, level, sources): &Case) {
        let rule = set.rules.iter().find(|r| r.id == *id).unwrap_or_else(|| panic!("{id} not in the rule set"));
        let rule_sources: Vec<String> = rule.basis.iter().map(Basis::id).collect();
        for s in *sources {
            assert!(rule_sources.iter().any(|r| r == s), "{id}: rule basis {rule_sources:?} lacks {s}");
        }
        let d = triage(set, &check_in(), context).unwrap();
        assert!(d.fired.iter().any(|f| f.id == *id), "{id} did not fire: {:?}", d.fired);
        let answer = d.answers.iter().find(|a| a.answer == rule.answer).unwrap();
        assert_eq!(answer.level, *level, "{id}");
        assert_eq!(d.level, *level, "{id}");
        for s in *sources {
            assert!(answer.rationale.source_ids().iter().any(|r| r == s), "{id}: answer cites {s}");
            assert!(d.source_ids.iter().any(|r| r == s), "{id}: decision cites {s}");
        }
        // A rule from the reference pack names its section in words.
        if rule.basis.iter().any(|b| matches!(b, Basis::Reference { .. })) {
            assert!(rule.says.contains("§12."), "{id}: {}", rule.says);
        }
    }

    #[test]
    fn every_rule_fires_on_its_case_with_its_source() {
        for case in CASES {
            check_case(&rules(), case);
        }
        for case in LITERAL_CASES {
            check_case(&literal_rules(), case);
        }
    }

    #[test]
    fn every_rule_has_a_case() {
        let ids: Vec<&str> = CASES.iter().chain(LITERAL_CASES).map(|c| c.0).collect();
        for set in [rules(), literal_rules()] {
            for r in &set.rules {
                assert!(ids.contains(&r.id), "rule {} has no test case", r.id);
            }
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        assert_eq!(rules().rules.len(), CASES.len());
        assert_eq!(literal_rules().rules.len(), CASES.len() + LITERAL_CASES.len());
    }

    #[test]
    fn thirty_nine_degrees_is_the_top_level_because_it_is_higher_than_38_5() {
        // §12.8: "Temperature higher than 38.5 °C (fever)" -> contact the OI team immediately.
        let d = triage(&rules(), &temperature(39.0), &OI).unwrap();
        assert_eq!(d.level, TriageLevel::ContactTeamImmediately);
        assert_eq!(d.fired, vec![FiredRule { id: "oi.temperature_above_38_5", level: IMMEDIATELY }]);
        assert!(d.source_ids.contains(&RED.to_owned()));
        // The reference never says "emergency services": neither does the instruction.
        assert!(!d.instruction.to_lowercase().contains("emergency"), "{}", d.instruction);
        assert_eq!(
            d.instruction,
            "Contact the osseointegration team immediately. Give a detailed description and photos. Antibiotic \
             treatment should not be started until the type of infection has been determined. You reported: a \
             temperature of 39 °C."
        );
        assert_eq!(d.instruction.matches("Contact the osseointegration team immediately.").count(), 1);
    }

    #[test]
    fn the_temperature_criterion_is_strictly_above_38_5() {
        let at = triage(&rules(), &temperature(38.5), &OI).unwrap();
        assert_eq!(at.level, TriageLevel::Routine);
        assert!(at.answers[0].rationale.has_flag(FlagKind::AmbiguousBoundary));
        assert_eq!(triage(&rules(), &temperature(38.6), &OI).unwrap().level, IMMEDIATELY);
        // The SIRS >38 °C criterion of WIfI/IWGDF is a different threshold (§12.8 note).
        let sirs = triage(&rules(), &temperature(38.2), &OI).unwrap();
        assert_eq!(sirs.level, TriageLevel::Routine);
        assert!(!sirs.answers[0].rationale.has_flag(FlagKind::AmbiguousBoundary));
    }

    #[test]
    fn without_an_implant_no_answer_reaches_the_top_level() {
        // The same 39 °C: §12.8 is the osseointegration clinic's list; for a
        // frame patient the pack has nothing, so the programme level applies.
        let d = triage(&rules(), &temperature(39.0), &FRAME).unwrap();
        assert_eq!(d.level, TriageLevel::ContactTeamToday);
        assert!(d.rationale.has_flag(FlagKind::Caution));
        assert_eq!(d.instruction, "Contact the team today. You reported: a temperature of 39 °C.");
        // With a programme threshold, a temperature at or under it is routine.
        let set = TriageRuleSet::clinic(&TriageSettings {
            temperature_above_c_without_implant: Some(38.0),
            ..TriageSettings::default()
        })
        .unwrap();
        assert_eq!(triage(&set, &temperature(38.0), &FRAME).unwrap().level, TriageLevel::Routine);
        let d = triage(&set, &temperature(38.1), &FRAME).unwrap();
        assert_eq!(d.level, TriageLevel::ContactTeamToday);
        assert!(d.source_ids.contains(&"programme_setting:triage.temperature_above_c_without_implant".to_owned()));
        // A programme may put every silent item at routine; the reference rules stay.
        let quiet = TriageRuleSet::clinic(&TriageSettings {
            without_implant: ProgrammeLevel::Routine,
            ..TriageSettings::default()
        })
        .unwrap();
        let all = CheckIn { chills: Some(true), fall_or_trauma: Some(true), ..temperature(40.0) };
        assert_eq!(triage(&quiet, &all, &FRAME).unwrap().level, TriageLevel::Routine);
        assert_eq!(triage(&quiet, &all, &OI).unwrap().level, IMMEDIATELY);
    }

    #[test]
    fn programme_rules_never_reach_the_top_level() {
        for set in [rules(), literal_rules()] {
            for r in &set.rules {
                let from_reference = r.basis.iter().any(|b| matches!(b, Basis::Reference { .. }));
                if !from_reference {
                    assert!(r.level < IMMEDIATELY, "{}", r.id);
                    assert!(r.basis.iter().all(
                        |b| matches!(b, Basis::ProgrammeSetting { label, .. } if *label == crate::PROGRAMME_SETTING)
                    ));
                }
            }
        }
    }

    #[test]
    fn the_most_urgent_answer_decides_and_each_answer_keeps_its_own_level() {
        let c = CheckIn {
            chills: Some(false),
            bleeding: Some(Bleeding::Minor),
            nausea_or_vomiting: Some(true),
            wound_change: Some(WoundChange::UsualDischarge),
            ..temperature(37.1)
        };
        let d = triage(&rules(), &c, &OI).unwrap();
        assert_eq!(d.level, IMMEDIATELY);
        let level = |a: &str| d.answers.iter().find(|x| x.answer == a).unwrap().level;
        assert_eq!(level("temperature_c"), ROUTINE);
        assert_eq!(level("chills"), ROUTINE);
        assert_eq!(level("bleeding"), TODAY);
        assert_eq!(level("nausea_or_vomiting"), IMMEDIATELY);
        assert_eq!(level("wound_change"), ROUTINE);
        assert_eq!(d.instruction, "Contact the osseointegration team immediately. You reported: nausea or vomiting.");
        // The usual discharge carries the §12.7 "usually subsides by 3–6 months" note with the day.
        let w = d.answers.iter().find(|x| x.answer == "wound_change").unwrap();
        assert!(w.rationale.flags.iter().any(|f| f.message.contains("day 10") && f.message.contains("3–6 months")));
    }

    #[test]
    fn unanswered_questions_are_listed_not_read_as_no() {
        let d = triage(&rules(), &CheckIn::default(), &OI).unwrap();
        assert_eq!(d.level, ROUTINE);
        assert!(d.answers.is_empty());
        assert!(d.unanswered.contains(&"unable_to_load_implant"));
        assert!(!d.unanswered.contains(&"pin_site_problem"), "no frame: not asked");
        assert!(!d.unanswered.contains(&"free_text"));
        assert!(d.rationale.has_flag(FlagKind::Incomplete));
        let d = triage(&rules(), &CheckIn::default(), &FRAME).unwrap();
        assert!(d.unanswered.contains(&"pin_site_problem"));
        assert!(!d.unanswered.contains(&"unable_to_load_implant"));
        assert_eq!(d.instruction, ROUTINE_INSTRUCTION);
    }

    #[test]
    fn answers_that_contradict_the_record_are_flagged_for_review() {
        let c = CheckIn { pin_site_problem: Some(true), ..CheckIn::default() };
        let d = triage(&rules(), &c, &OI).unwrap();
        assert!(d.answers[0].rationale.has_flag(FlagKind::Review));
        let c = CheckIn { unable_to_load_implant: Some(true), ..CheckIn::default() };
        let d = triage(&rules(), &c, &FRAME).unwrap();
        assert!(d.answers[0].rationale.has_flag(FlagKind::Review));
    }

    #[test]
    fn blank_free_text_fires_nothing_and_the_text_is_not_copied_into_rationales() {
        let c = CheckIn { free_text: Some("   ".into()), ..CheckIn::default() };
        assert_eq!(triage(&rules(), &c, &OI).unwrap().level, ROUTINE);
        let c = CheckIn { free_text: Some("secret words".into()), ..CheckIn::default() };
        let json = serde_json::to_string(&triage(&rules(), &c, &OI).unwrap()).unwrap();
        assert!(!json.contains("secret words"));
    }

    #[test]
    fn invalid_input_and_settings_name_the_field() {
        let cases: Vec<(CheckIn, CheckInContext, &str)> = vec![
            (temperature(f64::NAN), OI, "check_in.temperature_c"),
            (temperature(46.0), OI, "check_in.temperature_c"),
            (CheckIn { pain_nrs: Some(11), ..CheckIn::default() }, OI, "check_in.pain_nrs"),
            (CheckIn { free_text: Some("a\u{7}b".into()), ..CheckIn::default() }, OI, "check_in.free_text"),
            (CheckIn { free_text: Some("x".repeat(4001)), ..CheckIn::default() }, OI, "check_in.free_text"),
            (
                CheckIn::default(),
                CheckInContext { days_since_surgery: Some(40_000), ..OI },
                "context.days_since_surgery",
            ),
        ];
        for (c, ctx, field) in cases {
            assert_eq!(triage(&rules(), &c, &ctx).unwrap_err().field, field);
        }
        let bad: Vec<(TriageSettings, &str)> = vec![
            (TriageSettings { version: String::new(), ..TriageSettings::default() }, "settings.version"),
            (
                TriageSettings { pain_reported_from_nrs: 0, ..TriageSettings::default() },
                "settings.pain_reported_from_nrs",
            ),
            (
                TriageSettings {
                    temperature_above_c_without_implant: Some(f64::INFINITY),
                    ..TriageSettings::default()
                },
                "settings.temperature_above_c_without_implant",
            ),
        ];
        for (s, field) in bad {
            assert_eq!(TriageRuleSet::clinic(&s).unwrap_err().field, field);
        }
    }

    #[test]
    fn rule_set_is_versioned_and_serialises_as_data() {
        let set =
            TriageRuleSet::clinic(&TriageSettings { version: "2025-01".into(), ..TriageSettings::default() }).unwrap();
        assert_eq!(set.id, "check_in_triage.oi_clinic");
        assert_eq!(set.version, "1+settings.2025-01");
        let v = serde_json::to_value(&set).unwrap();
        let fever = &v["rules"][0];
        assert_eq!(fever["id"], "oi.temperature_above_38_5");
        assert_eq!(fever["trigger"], serde_json::json!({"when": "temperature_above", "celsius": 38.5}));
        assert_eq!(fever["level"], "contact_team_immediately");
        assert_eq!(fever["basis"][0], serde_json::json!({"kind": "reference", "source_id": RED}));
        let programme = v["rules"].as_array().unwrap().iter().find(|r| r["id"] == "programme.minor_bleeding").unwrap();
        assert_eq!(programme["basis"][0]["label"], "programme setting, not from the reference pack");
    }

    #[test]
    fn json_shapes() {
        let c: CheckIn =
            serde_json::from_str(r#"{"temperature_c": 39, "chills": false, "bleeding": "profuse"}"#).unwrap();
        assert_eq!(c.bleeding, Some(Bleeding::Profuse));
        assert!(serde_json::from_str::<CheckIn>(r#"{"fever": true}"#).is_err());
        assert!(serde_json::from_str::<CheckIn>(r#"{"bleeding": "lots"}"#).is_err());
        let d = triage(&rules(), &c, &OI).unwrap();
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["level"], "contact_team_immediately");
        assert_eq!(v["rule_set_version"], "1+settings.default");
        assert_eq!(v["answers"][0]["answer"], "temperature_c");
        assert_eq!(v["answers"][0]["rationale"]["inputs"]["check_in.temperature_c"], 39.0);
        assert_eq!(v["answers"][2]["fired"][0]["id"], "oi.profuse_bleeding");
        assert_eq!(v["rationale"]["inputs"]["context.osseointegrated_implant"], true);
    }

    fn arb_opt_bool() -> impl Strategy<Value = Option<bool>> {
        proptest::option::of(any::<bool>())
    }

    fn arb_check_in() -> impl Strategy<Value = CheckIn> {
        let bleeding =
            proptest::option::of(prop_oneof![Just(Bleeding::None), Just(Bleeding::Minor), Just(Bleeding::Profuse)]);
        let redness = proptest::option::of(prop_oneof![
            Just(Redness::None),
            Just(Redness::NotSpreading),
            Just(Redness::Spreading)
        ]);
        let wound = proptest::option::of(prop_oneof![
            Just(WoundChange::None),
            Just(WoundChange::UsualDischarge),
            Just(WoundChange::UnusualLeakage),
            Just(WoundChange::Other)
        ]);
        let temp =
            prop_oneof![Just(None), any::<f64>().prop_map(Some), (30.0..42.0f64).prop_map(Some), Just(Some(38.5))];
        (
            (
                temp,
                arb_opt_bool(),
                proptest::option::of(any::<u8>()),
                arb_opt_bool(),
                bleeding,
                redness,
                arb_opt_bool(),
            ),
            (
                arb_opt_bool(),
                arb_opt_bool(),
                arb_opt_bool(),
                wound,
                arb_opt_bool(),
                arb_opt_bool(),
                proptest::option::of(".{0,20}"),
            ),
        )
            .prop_map(|((t, ch, p, sev, b, r, n), (m, f, u, w, pin, o, text))| CheckIn {
                temperature_c: t,
                chills: ch,
                pain_nrs: p,
                severe_pain_or_tenderness: sev,
                bleeding: b,
                redness: r,
                nausea_or_vomiting: n,
                reduced_mobility: m,
                fall_or_trauma: f,
                unable_to_load_implant: u,
                wound_change: w,
                pin_site_problem: pin,
                other_symptom_related_to_operation: o,
                free_text: text,
            })
    }

    fn arb_level() -> impl Strategy<Value = ProgrammeLevel> {
        prop_oneof![Just(ProgrammeLevel::Routine), Just(ProgrammeLevel::ContactTeamToday)]
    }

    fn form<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> &'a str + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| *v)
    }

    #[test]
    fn the_check_in_form_reads_answers_and_leaves_the_unanswered_out() {
        let c = CheckIn::from_form_answers(form(&[
            ("temperature_c", "38,7"),
            ("chills", "yes"),
            ("reduced_mobility", "no"),
            ("redness", "spreading"),
            ("wound_change", "unusual_leakage"),
            ("bleeding", "gushing"),
            ("pain_nrs", "-3"),
            ("free_text", "the pin itches"),
        ]))
        .unwrap();
        assert_eq!(c.temperature_c, Some(38.7));
        assert_eq!((c.chills, c.reduced_mobility, c.fall_or_trauma), (Some(true), Some(false), None));
        assert_eq!((c.redness, c.wound_change), (Some(Redness::Spreading), Some(WoundChange::UnusualLeakage)));
        assert_eq!((c.bleeding, c.pain_nrs), (None, None), "unrecognised answers stay unanswered");
        assert_eq!(c.free_text.as_deref(), Some("the pin itches"));
        assert_eq!(CheckIn::from_form_answers(form(&[])).unwrap(), CheckIn::default());
        for bad in ["hot", "NaN", "inf", "1e999", "39..0"] {
            let e = CheckIn::from_form_answers(form(&[("temperature_c", bad)])).unwrap_err();
            assert_eq!(e[0].question, "temperature_c", "{bad}");
        }
    }

    proptest! {
        #[test]
        fn no_input_panics_and_the_reference_rules_hold(
            c in arb_check_in(),
            implant in any::<bool>(),
            frame in any::<bool>(),
            days in proptest::option::of(any::<u32>()),
            levels in (arb_level(), arb_level(), arb_level(), arb_level(), arb_level(), arb_level()),
            nrs in any::<u8>(),
            t_without in prop_oneof![Just(None), any::<f64>().prop_map(Some), (35.0..40.0f64).prop_map(Some)],
            literal in any::<bool>(),
        ) {
            let settings = TriageSettings {
                version: "p".into(),
                pain_reported_from_nrs: nrs,
                pain_reported: levels.0,
                redness_not_spreading: levels.1,
                minor_bleeding: levels.2,
                pin_site_problem: levels.3,
                free_text: levels.4,
                without_implant: levels.5,
                temperature_above_c_without_implant: t_without,
                oi_any_pain_or_redness_immediately: literal,
            };
            let Ok(set) = TriageRuleSet::clinic(&settings) else {
                prop_assert!(settings.validate().is_err());
                return Ok(());
            };
            let ctx = CheckInContext { osseointegrated_implant: implant, external_frame: frame, days_since_surgery: days };
            if let Ok(d) = triage(&set, &c, &ctx) {
                let _ = serde_json::to_string(&d).unwrap();
                prop_assert_eq!(d.level, d.answers.iter().map(|a| a.level).max().unwrap_or(TriageLevel::Routine));
                prop_assert!(!d.instruction.is_empty());
                for a in &d.answers {
                    prop_assert!(!a.rationale.basis.is_empty());
                }
                if !implant {
                    prop_assert!(d.level < TriageLevel::ContactTeamImmediately);
                }
                if implant && c.temperature_c.is_some_and(|t| t > 38.5) {
                    prop_assert_eq!(d.level, TriageLevel::ContactTeamImmediately);
                }
                if implant && c.chills == Some(true) {
                    prop_assert_eq!(d.level, TriageLevel::ContactTeamImmediately);
                }
            }
        }

        #[test]
        fn no_check_in_form_panics(pairs in proptest::collection::vec(("[a-z_]{0,12}|temperature_c|pain_nrs|chills|bleeding", ".{0,12}"), 0..8)) {
            let answer = |name: &str| pairs.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim());
            if let Ok(c) = CheckIn::from_form_answers(answer) {
                prop_assert!(c.temperature_c.is_none_or(f64::is_finite));
                let set = TriageRuleSet::clinic(&TriageSettings::default()).unwrap();
                for implant in [false, true] {
                    let ctx = CheckInContext { osseointegrated_implant: implant, external_frame: !implant, days_since_surgery: Some(3) };
                    let _ = triage(&set, &c, &ctx);
                }
            }
        }
    }
}
