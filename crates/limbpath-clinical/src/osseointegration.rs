//! Osseointegration (bone-anchored prosthesis) candidacy from the treating
//! institute's clinic protocol (REFERENCES.md §12, SINGLE-SOURCE): eligible
//! (a candidate to discuss with the team), not eligible, or needs review.
//!
//! What it checks: the amputation level, the socket problems that are the
//! published indications (§12.1), the surgical criteria (§12.2) and the
//! contraindications (§12.3). It always lists every item with its status and
//! why, and the pre-operative work-up reminders (§12.4) as plain text.
//!
//! Rules chosen:
//! - **Contraindications** (§12.3): any one present -> `not_eligible`, listing
//!   which. This takes precedence over everything else.
//! - **Surgical criteria** (§12.2) are published as "surgical criteria *may
//!   include*": a criterion not met is a checklist item for clinician review,
//!   never an automatic exclusion. Each one not met gives `needs_review` and a
//!   `REVIEW` warning. BMI: the criterion is "BMI <40", so 40 or more is not met
//!   (the warning adds the published note that a few morbidly obese patients
//!   were treated successfully). Smoking: "no smoking for at least 3 months
//!   before the operation", so a current smoker, or a former smoker who quit
//!   less than 3 months ago, does not meet it; 3 months or more meets it.
//! - **Not assessed** (a criterion or contraindication left out, or a former
//!   smoker with no months since quitting) -> `needs_review`, listing what is
//!   missing, with an `INCOMPLETE` flag. Nothing is assumed met.
//! - **Indication**: no listed socket problem -> `needs_review`
//!   (osseointegration is suggested when a socket prosthesis cannot be used).
//! - **Level**: the indications are published "for above-knee and below-knee
//!   amputations, among others", so transfemoral and transtibial pass; knee
//!   disarticulation and other levels -> `needs_review`.
//! - Otherwise `eligible`, worded as "candidate to discuss with the team".
//! - The DEXA T-score, when given, is only repeated in the work-up reminder:
//!   the protocol gives no threshold and none is applied.
//!
//! Every result carries a `SINGLE_SOURCE` flag and a `CAUTION` flag saying it
//! is decision support.

use crate::error::{InvalidInput, Result};
use crate::explain::{EvidenceStatus, Explain, Explanation, FlagKind, InputValue, Section, Source, number as num};
use crate::limits::{self, Plausible};
use serde::{Deserialize, Serialize};

/// The clinic protocol (§12).
pub static OI_CLINIC_PROTOCOL_SOURCE: Source = Source {
    id: "osseointegration.clinic_protocol",
    citation: "Clinic protocol as published by the treating institute (osseointegration patient information): \
               indications, surgical criteria, contraindications and pre-operative work-up",
    reference: "REFERENCES.md §12",
    status: EvidenceStatus::SingleSource,
    status_note: "single source (the treating institute's published protocol); surgical criteria are published \
                  as \"may include\" (review items, not exclusions)",
};

// source: clinic protocol as published by the treating institute (osseointegration patient information) | status: SINGLE-SOURCE
/// Surgical criterion "BMI <40" (§12.2): met when the BMI is strictly below this.
pub const BMI_CRITERION_BELOW: f64 = 40.0;

// source: clinic protocol as published by the treating institute (osseointegration patient information) | status: SINGLE-SOURCE
/// Surgical criterion "no smoking for at least 3 months before the operation"
/// (§12.2): met by a former smoker who quit at least this many months ago.
pub const SMOKE_FREE_MONTHS_AT_LEAST: f64 = 3.0;

// Engineering bound (not clinical, no threshold applied): a DEXA T-score is a
// number of standard deviations; ±10 SD accepts every real report and refuses
// a typo. It would belong in limits.rs; kept here because this module may not
// edit limits.rs.
const DEXA_T_SCORE: Plausible = Plausible { min: -10.0, max: 10.0, unit: "SD" };

/// Amputation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AmputationLevel {
    /// Above-knee.
    Transfemoral,
    KneeDisarticulation,
    /// Below-knee.
    Transtibial,
    Other,
}

impl AmputationLevel {
    fn as_str(self) -> &'static str {
        match self {
            AmputationLevel::Transfemoral => "transfemoral",
            AmputationLevel::KneeDisarticulation => "knee_disarticulation",
            AmputationLevel::Transtibial => "transtibial",
            AmputationLevel::Other => "other",
        }
    }
}

/// The causes of inability to use a socket prosthesis listed as indications
/// in the clinic protocol (§12.1), every one.
// source: clinic protocol as published by the treating institute (osseointegration patient information) | status: SINGLE-SOURCE
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SocketProblem {
    /// Pain after lower-limb amputation, or pain in the lumbar spine.
    Pain,
    /// Recurrent skin infections and ulcers at the socket contact site.
    SkinInfectionsOrUlcers,
    /// A residual limb too short for effective use of a socket prosthesis.
    ResidualLimbTooShort,
    /// Volume fluctuations of the residual limb.
    VolumeFluctuation,
    /// Extensive scarring or skin grafting.
    ScarringOrSkinGrafting,
    /// Excessive sweating.
    ExcessiveSweating,
    /// Limited mobility.
    LimitedMobility,
}

impl SocketProblem {
    /// Every listed indication, in the protocol's order.
    pub const ALL: [SocketProblem; 7] = [
        SocketProblem::Pain,
        SocketProblem::SkinInfectionsOrUlcers,
        SocketProblem::ResidualLimbTooShort,
        SocketProblem::VolumeFluctuation,
        SocketProblem::ScarringOrSkinGrafting,
        SocketProblem::ExcessiveSweating,
        SocketProblem::LimitedMobility,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SocketProblem::Pain => "pain",
            SocketProblem::SkinInfectionsOrUlcers => "skin_infections_or_ulcers",
            SocketProblem::ResidualLimbTooShort => "residual_limb_too_short",
            SocketProblem::VolumeFluctuation => "volume_fluctuation",
            SocketProblem::ScarringOrSkinGrafting => "scarring_or_skin_grafting",
            SocketProblem::ExcessiveSweating => "excessive_sweating",
            SocketProblem::LimitedMobility => "limited_mobility",
        }
    }

    /// The indication as the protocol describes it.
    pub fn description(self) -> &'static str {
        match self {
            SocketProblem::Pain => "pain after lower-limb amputation, or pain in the lumbar spine",
            SocketProblem::SkinInfectionsOrUlcers => "recurrent skin infections and ulcers at the socket contact site",
            SocketProblem::ResidualLimbTooShort => "residual limb too short for effective use of a socket prosthesis",
            SocketProblem::VolumeFluctuation => "volume fluctuations of the residual limb",
            SocketProblem::ScarringOrSkinGrafting => "extensive scarring or skin grafting",
            SocketProblem::ExcessiveSweating => "excessive sweating",
            SocketProblem::LimitedMobility => "limited mobility",
        }
    }
}

/// Smoking history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Smoking {
    Never,
    /// Former smoker: give `months_since_quit`.
    Former,
    Current,
}

impl Smoking {
    fn as_str(self) -> &'static str {
        match self {
            Smoking::Never => "never",
            Smoking::Former => "former",
            Smoking::Current => "current",
        }
    }
}

/// The input of the candidacy check. Every criterion and contraindication is
/// optional: absent (or `null`) means "not assessed", which never counts as met.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub amputation_level: AmputationLevel,
    /// The socket problems present (§12.1); `[]` when none.
    pub socket_problems: Vec<SocketProblem>,
    /// Surgical criterion: the patient cooperates with the medical protocol.
    #[serde(default)]
    pub cooperates_with_protocol: Option<bool>,
    /// Surgical criterion: proper understanding of the benefits and risks.
    #[serde(default)]
    pub understands_benefits_and_risks: Option<bool>,
    /// Body-mass index in kg/m² (criterion: BMI <40).
    #[serde(default)]
    pub bmi: Option<f64>,
    /// Surgical criterion: blood glucose controlled (especially with diabetes).
    #[serde(default)]
    pub glucose_controlled: Option<bool>,
    /// Smoking history (criterion: no smoking for at least 3 months).
    #[serde(default)]
    pub smoking: Option<Smoking>,
    /// Months since quitting; only with `smoking = former`.
    #[serde(default)]
    pub months_since_quit: Option<f64>,
    /// Contraindication: active infection of the residual limb requiring treatment.
    #[serde(default)]
    pub active_residual_limb_infection: Option<bool>,
    /// Contraindication: irradiation of the bone within the limb.
    #[serde(default)]
    pub irradiated_bone: Option<bool>,
    /// Contraindication: pregnancy.
    #[serde(default)]
    pub pregnancy: Option<bool>,
    /// Contraindication: mental instability.
    #[serde(default)]
    pub mental_instability: Option<bool>,
    /// DEXA T-score, if already measured: repeated in the work-up reminder only.
    #[serde(default)]
    pub dexa_t_score: Option<f64>,
}

/// The candidacy decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Candidate to discuss with the osseointegration team.
    Eligible,
    /// A contraindication is present.
    NotEligible,
    /// Something must be reviewed or assessed first.
    NeedsReview,
}

/// Which part of the protocol an item comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemGroup {
    AmputationLevel,
    Indication,
    SurgicalCriterion,
    Contraindication,
}

/// The status of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Criterion or indication met.
    Met,
    /// Surgical criterion not met: a review item, not an exclusion.
    NotMet,
    /// Not assessed: needs assessment before a decision.
    NotAssessed,
    /// Contraindication present.
    Present,
    /// Contraindication absent.
    Absent,
    /// Outside what the protocol describes (level, indication): team review.
    Review,
}

impl ItemStatus {
    fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Met => "met",
            ItemStatus::NotMet => "not met (review)",
            ItemStatus::NotAssessed => "not assessed",
            ItemStatus::Present => "PRESENT",
            ItemStatus::Absent => "absent",
            ItemStatus::Review => "review",
        }
    }
}

/// One item of the checklist, with its status and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// The input field the item comes from.
    pub item: &'static str,
    pub label: &'static str,
    pub group: ItemGroup,
    pub status: ItemStatus,
    /// `rule` says why the item has this status.
    pub explanation: Explanation,
}

/// The pre-operative work-up reminders of the clinic protocol (§12.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkUp {
    pub reminders: Vec<String>,
    pub explanation: Explanation,
}

/// The result of the candidacy check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    pub decision: Decision,
    /// Contraindications present (field names).
    pub contraindications_present: Vec<&'static str>,
    /// Surgical criteria not met (field names): review items.
    pub criteria_not_met: Vec<&'static str>,
    /// Items not assessed (field names).
    pub not_assessed: Vec<&'static str>,
    /// Every item: level, indication, 5 surgical criteria, 4 contraindications.
    pub items: Vec<Item>,
    pub work_up: WorkUp,
    pub explanation: Explanation,
}

fn opt_bool(v: Option<bool>) -> InputValue {
    match v {
        Some(b) => InputValue::Bool(b),
        None => InputValue::from("not assessed"),
    }
}

fn opt_num(v: Option<f64>) -> InputValue {
    match v {
        Some(n) => InputValue::Number(n),
        None => InputValue::from("not assessed"),
    }
}

fn item(
    field: &'static str,
    label: &'static str,
    group: ItemGroup,
    status: ItemStatus,
    value: InputValue,
    why: String,
) -> Item {
    Item {
        item: field,
        label,
        group,
        status,
        explanation: Explanation::new(&OI_CLINIC_PROTOCOL_SOURCE, why).input(field, value),
    }
}

/// A yes/no surgical criterion (`true` = met).
fn criterion(field: &'static str, label: &'static str, value: Option<bool>, wording: &str) -> Item {
    let (status, why) = match value {
        Some(true) => (ItemStatus::Met, format!("{wording}: yes -> criterion met")),
        Some(false) => (
            ItemStatus::NotMet,
            format!(
                "{wording}: no -> surgical criterion not met; review with the team (a checklist item, not an exclusion)"
            ),
        ),
        None => (ItemStatus::NotAssessed, format!("{wording}: not assessed")),
    };
    item(field, label, ItemGroup::SurgicalCriterion, status, opt_bool(value), why)
}

/// A yes/no contraindication (`true` = present).
fn contraindication(field: &'static str, label: &'static str, value: Option<bool>, wording: &str) -> Item {
    let (status, why) = match value {
        Some(true) => (ItemStatus::Present, format!("{wording}: present -> contraindication (§12.3)")),
        Some(false) => (ItemStatus::Absent, format!("{wording}: absent")),
        None => (ItemStatus::NotAssessed, format!("{wording}: not assessed")),
    };
    item(field, label, ItemGroup::Contraindication, status, opt_bool(value), why)
}

fn level_item(level: AmputationLevel) -> Item {
    let (status, why) = match level {
        AmputationLevel::Transfemoral => {
            (ItemStatus::Met, "transfemoral (above-knee) amputation: a level for which the indications are published")
        }
        AmputationLevel::Transtibial => {
            (ItemStatus::Met, "transtibial (below-knee) amputation: a level for which the indications are published")
        }
        AmputationLevel::KneeDisarticulation => (
            ItemStatus::Review,
            "knee disarticulation: indications published for above- and below-knee amputations, among others; \
             review this level with the team",
        ),
        AmputationLevel::Other => (
            ItemStatus::Review,
            "other level: indications published for above- and below-knee amputations, among others; review \
             this level with the team",
        ),
    };
    item(
        "amputation_level",
        "Amputation level",
        ItemGroup::AmputationLevel,
        status,
        InputValue::from(level.as_str()),
        why.to_owned(),
    )
}

fn indication_item(problems: &[SocketProblem]) -> Item {
    let (status, why, value) = if problems.is_empty() {
        (
            ItemStatus::Review,
            "no listed indication: osseointegration is suggested when a socket prosthesis cannot be used (§12.1 \
             lists pain, recurrent skin infections or ulcers at the socket, a residual limb too short, volume \
             fluctuation, extensive scarring or skin grafting, excessive sweating, limited mobility)"
                .to_owned(),
            "none listed".to_owned(),
        )
    } else {
        let described: Vec<&str> = problems.iter().map(|p| p.description()).collect();
        let names: Vec<&str> = problems.iter().map(|p| p.as_str()).collect();
        (
            ItemStatus::Met,
            format!("problems using a socket prosthesis, listed as indications (§12.1): {}", described.join("; ")),
            names.join(", "),
        )
    };
    item("socket_problems", "Indication: socket problems", ItemGroup::Indication, status, InputValue::from(value), why)
}

fn bmi_item(bmi: Option<f64>) -> Item {
    let (status, why) = match bmi {
        Some(b) if b < BMI_CRITERION_BELOW => {
            (ItemStatus::Met, format!("BMI {} is below 40 -> criterion \"BMI <40\" met", num(b)))
        }
        Some(b) => (
            ItemStatus::NotMet,
            format!(
                "BMI {} is not below 40 -> criterion \"BMI <40\" not met; review with the team (the published note \
                 adds that a small number of morbidly obese patients have been treated successfully, because they \
                 ultimately could not wear a socket)",
                num(b)
            ),
        ),
        None => (ItemStatus::NotAssessed, "BMI not assessed".to_owned()),
    };
    item("bmi", "Surgical criterion: BMI <40", ItemGroup::SurgicalCriterion, status, opt_num(bmi), why)
}

fn smoking_item(smoking: Option<Smoking>, months: Option<f64>) -> Item {
    const WORDING: &str = "criterion \"no smoking for at least 3 months before the operation\"";
    let (status, why) = match (smoking, months) {
        (Some(Smoking::Never), _) => (ItemStatus::Met, format!("never smoked -> {WORDING} met")),
        (Some(Smoking::Current), _) => {
            (ItemStatus::NotMet, format!("current smoker -> {WORDING} not met; review with the team"))
        }
        (Some(Smoking::Former), Some(m)) if m >= SMOKE_FREE_MONTHS_AT_LEAST => {
            (ItemStatus::Met, format!("former smoker, quit {} months ago (at least 3) -> {WORDING} met", num(m)))
        }
        (Some(Smoking::Former), Some(m)) => (
            ItemStatus::NotMet,
            format!(
                "former smoker, quit {} months ago: smoked within the last 3 months -> {WORDING} not met; review \
                 with the team",
                num(m)
            ),
        ),
        (Some(Smoking::Former), None) => (
            ItemStatus::NotAssessed,
            "former smoker, months since quitting not recorded: cannot tell whether the patient smoked within \
             the last 3 months"
                .to_owned(),
        ),
        (None, _) => (ItemStatus::NotAssessed, "smoking status not assessed".to_owned()),
    };
    let value = InputValue::from(match smoking {
        Some(s) => s.as_str(),
        None => "not assessed",
    });
    let mut it = item(
        "smoking",
        "Surgical criterion: no smoking for at least 3 months",
        ItemGroup::SurgicalCriterion,
        status,
        value,
        why,
    );
    if let Some(m) = months {
        it.explanation.push_input("months_since_quit", m);
    }
    it
}

fn work_up(dexa_t_score: Option<f64>) -> WorkUp {
    let dexa = match dexa_t_score {
        Some(t) => format!(
            "DEXA T-score recorded: {} (no threshold is applied here; the clinician sets the rate of \
             Phase I loading from the DEXA and the intra-operative bone assessment)",
            num(t)
        ),
        None => "DEXA not yet recorded".to_owned(),
    };
    let reminders = vec![
        format!(
            "Imaging: X-ray, CT and DEXA (bone density). DEXA assesses osteoporosis and resorption of diseased \
             bone; the degree of osteoporosis also determines the rate of post-operative physiotherapy (Phase I). \
             {dexa}."
        ),
        "Full medical history, in particular allergies, prolonged bleeding or clotting problems, mental illness \
         and diabetes."
            .to_owned(),
        "A custom implant may be requested by the surgeon (extra planning and manufacturing time).".to_owned(),
        "Skin: avoid excessive socket use for 2 weeks before surgery; an infection near the incision site must be \
         reported and may delay surgery."
            .to_owned(),
        "Pre-admission appointment to confirm fitness for surgery; pre-operative conditioning may be advised \
         (upper-body and trunk strength, crutch training, correction of any deformity, vitamin D3, regular \
         exercise)."
            .to_owned(),
        "Shared decision: the decision is the patient's, made knowing the benefits and risks; a signed consent \
         form is required."
            .to_owned(),
    ];
    let mut explanation = Explanation::new(
        &OI_CLINIC_PROTOCOL_SOURCE,
        format!("pre-operative work-up (clinic protocol §12.4): {}", reminders.join(" | ")),
    );
    explanation.push_input("dexa_t_score", opt_num(dexa_t_score));
    WorkUp { reminders, explanation }
}

fn check_consistency(input: &Input) -> Result<()> {
    match (input.smoking, input.months_since_quit) {
        (Some(Smoking::Former), _) | (_, None) => Ok(()),
        (Some(s), Some(m)) => Err(InvalidInput::inconsistent(
            "months_since_quit",
            m,
            format!("months_since_quit applies only to smoking = former (smoking = {})", s.as_str()),
        )),
        (None, Some(m)) => Err(InvalidInput::inconsistent(
            "months_since_quit",
            m,
            "months_since_quit applies only to smoking = former; give smoking as well",
        )),
    }
}

/// Osseointegration candidacy per the clinic protocol.
pub fn classify(input: &Input) -> Result<Output> {
    let bmi = limits::BMI.check_opt("bmi", input.bmi)?;
    let months = limits::MONTHS.check_opt("months_since_quit", input.months_since_quit)?;
    let dexa = DEXA_T_SCORE.check_opt("dexa_t_score", input.dexa_t_score)?;
    check_consistency(input)?;

    // Listed socket problems, duplicates removed, in the order given.
    let mut problems: Vec<SocketProblem> = Vec::new();
    for p in &input.socket_problems {
        if !problems.contains(p) {
            problems.push(*p);
        }
    }

    let items = vec![
        level_item(input.amputation_level),
        indication_item(&problems),
        criterion(
            "cooperates_with_protocol",
            "Surgical criterion: cooperation with the medical protocol",
            input.cooperates_with_protocol,
            "patient cooperation with the medical protocol",
        ),
        criterion(
            "understands_benefits_and_risks",
            "Surgical criterion: understanding of benefits and risks",
            input.understands_benefits_and_risks,
            "proper patient understanding of the benefits and risks of the procedure",
        ),
        bmi_item(bmi),
        criterion(
            "glucose_controlled",
            "Surgical criterion: blood-glucose control",
            input.glucose_controlled,
            "blood-glucose control, especially in patients with diabetes",
        ),
        smoking_item(input.smoking, months),
        contraindication(
            "active_residual_limb_infection",
            "Contraindication: active residual-limb infection",
            input.active_residual_limb_infection,
            "active infection of the residual limb requiring treatment",
        ),
        contraindication(
            "irradiated_bone",
            "Contraindication: irradiated bone",
            input.irradiated_bone,
            "irradiation of the bone within the limb",
        ),
        contraindication("pregnancy", "Contraindication: pregnancy", input.pregnancy, "pregnancy"),
        contraindication(
            "mental_instability",
            "Contraindication: mental instability",
            input.mental_instability,
            "mental instability",
        ),
    ];

    let with = |status: ItemStatus| -> Vec<&'static str> {
        items.iter().filter(|i| i.status == status).map(|i| i.item).collect()
    };
    let contraindications_present = with(ItemStatus::Present);
    let criteria_not_met = with(ItemStatus::NotMet);
    let mut not_assessed = Vec::new();
    for it in items.iter().filter(|i| i.status == ItemStatus::NotAssessed) {
        not_assessed.push(it.item);
        // A former smoker without months: name the missing field itself too.
        if it.item == "smoking" && input.smoking == Some(Smoking::Former) {
            not_assessed.push("months_since_quit");
        }
    }
    let review: Vec<&Item> = items.iter().filter(|i| i.status == ItemStatus::Review).collect();

    let mut explanation = Explanation::new(&OI_CLINIC_PROTOCOL_SOURCE, "")
        .input("amputation_level", input.amputation_level.as_str())
        .input(
            "socket_problems",
            if problems.is_empty() {
                "none listed".to_owned()
            } else {
                problems.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
            },
        )
        .input("cooperates_with_protocol", opt_bool(input.cooperates_with_protocol))
        .input("understands_benefits_and_risks", opt_bool(input.understands_benefits_and_risks))
        .input("bmi", opt_num(bmi))
        .input("glucose_controlled", opt_bool(input.glucose_controlled))
        .input("smoking", input.smoking.map_or("not assessed", Smoking::as_str))
        .input("months_since_quit", opt_num(months))
        .input("active_residual_limb_infection", opt_bool(input.active_residual_limb_infection))
        .input("irradiated_bone", opt_bool(input.irradiated_bone))
        .input("pregnancy", opt_bool(input.pregnancy))
        .input("mental_instability", opt_bool(input.mental_instability))
        .flag(
            FlagKind::SingleSource,
            "osseointegration clinic protocol as published by the treating institute (single source): re-check \
             before clinical release",
        )
        .flag(
            FlagKind::Caution,
            "decision support only: the protocol's surgical criteria \"may include\" these items; \"eligible\" \
             means a candidate to discuss with the osseointegration team, and the decision is the patient's, \
             made with the team",
        );

    for it in items.iter().filter(|i| i.status == ItemStatus::NotMet || i.status == ItemStatus::Review) {
        explanation.push_flag(FlagKind::Review, format!("{}: {}", it.label, it.explanation.rule));
    }
    if !not_assessed.is_empty() {
        explanation.push_flag(
            FlagKind::Incomplete,
            format!("not assessed: {}; assess before deciding", not_assessed.join(", ")),
        );
    }

    let decision = if !contraindications_present.is_empty() {
        explanation.rule = format!(
            "contraindication present ({}) -> not eligible (clinic protocol contraindications, §12.3)",
            contraindications_present.join(", ")
        );
        Decision::NotEligible
    } else if !criteria_not_met.is_empty() || !not_assessed.is_empty() || !review.is_empty() {
        let mut parts = Vec::new();
        if !criteria_not_met.is_empty() {
            parts.push(format!(
                "surgical criteria not met: {} (checklist items for review, not exclusions: the protocol says \
                 the criteria \"may include\")",
                criteria_not_met.join(", ")
            ));
        }
        if !not_assessed.is_empty() {
            parts.push(format!("not assessed: {}", not_assessed.join(", ")));
        }
        for it in &review {
            parts.push(it.explanation.rule.clone());
        }
        explanation.rule = format!("no contraindication recorded as present, but {} -> needs review", parts.join("; "));
        Decision::NeedsReview
    } else {
        explanation.rule = format!(
            "no contraindication, every surgical criterion met, listed socket problem(s) ({}), {} amputation -> \
             eligible: candidate to discuss with the team",
            problems.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", "),
            input.amputation_level.as_str()
        );
        Decision::Eligible
    };

    Ok(Output {
        decision,
        contraindications_present,
        criteria_not_met,
        not_assessed,
        items,
        work_up: work_up(dexa),
        explanation,
    })
}

impl Explain for Output {
    fn sections(&self) -> Vec<Section<'_>> {
        let mut s = vec![Section {
            label: "Osseointegration candidacy",
            result: match self.decision {
                Decision::Eligible => "eligible: candidate to discuss with the team".to_owned(),
                Decision::NotEligible => {
                    format!("not eligible (contraindication: {})", self.contraindications_present.join(", "))
                }
                Decision::NeedsReview => "needs review".to_owned(),
            },
            explanation: &self.explanation,
        }];
        for it in &self.items {
            s.push(Section { label: it.label, result: it.status.as_str().to_owned(), explanation: &it.explanation });
        }
        s.push(Section {
            label: "Pre-operative work-up (reminder)",
            result: format!("{} items", self.work_up.reminders.len()),
            explanation: &self.work_up.explanation,
        });
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Problem;
    use proptest::prelude::*;

    fn all_good() -> Input {
        Input {
            amputation_level: AmputationLevel::Transfemoral,
            socket_problems: vec![SocketProblem::Pain, SocketProblem::ExcessiveSweating],
            cooperates_with_protocol: Some(true),
            understands_benefits_and_risks: Some(true),
            bmi: Some(32.0),
            glucose_controlled: Some(true),
            smoking: Some(Smoking::Never),
            months_since_quit: None,
            active_residual_limb_infection: Some(false),
            irradiated_bone: Some(false),
            pregnancy: Some(false),
            mental_instability: Some(false),
            dexa_t_score: None,
        }
    }

    /// Sets one field of an input for a table-driven test.
    type SetField = fn(&mut Input);

    fn status(out: &Output, field: &str) -> ItemStatus {
        out.items.iter().find(|i| i.item == field).map(|i| i.status).unwrap()
    }

    #[test]
    fn all_good_is_eligible_with_flags_and_every_item_listed() {
        let out = classify(&all_good()).unwrap();
        assert_eq!(out.decision, Decision::Eligible);
        assert!(out.explanation.rule.contains("candidate to discuss with the team"), "{}", out.explanation.rule);
        assert!(out.explanation.has_flag(FlagKind::SingleSource));
        assert!(out.explanation.has_flag(FlagKind::Caution));
        assert!(!out.explanation.has_flag(FlagKind::Review));
        assert!(!out.explanation.has_flag(FlagKind::Incomplete));
        assert_eq!(out.explanation.source.status, EvidenceStatus::SingleSource);
        let fields: Vec<&str> = out.items.iter().map(|i| i.item).collect();
        assert_eq!(
            fields,
            vec![
                "amputation_level",
                "socket_problems",
                "cooperates_with_protocol",
                "understands_benefits_and_risks",
                "bmi",
                "glucose_controlled",
                "smoking",
                "active_residual_limb_infection",
                "irradiated_bone",
                "pregnancy",
                "mental_instability",
            ]
        );
        assert!(out.contraindications_present.is_empty());
        assert!(out.criteria_not_met.is_empty());
        assert!(out.not_assessed.is_empty());
        assert_eq!(out.work_up.reminders.len(), 6);
        assert_eq!(out.sections().len(), 13);
        // Transtibial too.
        let out = classify(&Input { amputation_level: AmputationLevel::Transtibial, ..all_good() }).unwrap();
        assert_eq!(out.decision, Decision::Eligible);
    }

    #[test]
    fn each_contraindication_alone_is_not_eligible() {
        let cases: [(&str, SetField); 4] = [
            ("active_residual_limb_infection", |i| i.active_residual_limb_infection = Some(true)),
            ("irradiated_bone", |i| i.irradiated_bone = Some(true)),
            ("pregnancy", |i| i.pregnancy = Some(true)),
            ("mental_instability", |i| i.mental_instability = Some(true)),
        ];
        for (field, set) in cases {
            let mut input = all_good();
            set(&mut input);
            let out = classify(&input).unwrap();
            assert_eq!(out.decision, Decision::NotEligible, "{field}");
            assert_eq!(out.contraindications_present, vec![field]);
            assert_eq!(status(&out, field), ItemStatus::Present);
            assert!(out.explanation.rule.contains(field), "{}", out.explanation.rule);
            // Still not eligible when everything else is unknown.
            let mut sparse = Input {
                amputation_level: AmputationLevel::Other,
                socket_problems: vec![],
                cooperates_with_protocol: None,
                understands_benefits_and_risks: None,
                bmi: None,
                glucose_controlled: None,
                smoking: None,
                months_since_quit: None,
                active_residual_limb_infection: None,
                irradiated_bone: None,
                pregnancy: None,
                mental_instability: None,
                dexa_t_score: None,
            };
            set(&mut sparse);
            assert_eq!(classify(&sparse).unwrap().decision, Decision::NotEligible, "{field}");
        }
        let out = classify(&Input { pregnancy: Some(true), irradiated_bone: Some(true), ..all_good() }).unwrap();
        assert_eq!(out.contraindications_present, vec!["irradiated_bone", "pregnancy"]);
    }

    #[test]
    fn each_criterion_failing_alone_needs_review_with_a_warning() {
        let cases: [(&str, SetField); 6] = [
            ("cooperates_with_protocol", |i| i.cooperates_with_protocol = Some(false)),
            ("understands_benefits_and_risks", |i| i.understands_benefits_and_risks = Some(false)),
            ("bmi", |i| i.bmi = Some(45.0)),
            ("glucose_controlled", |i| i.glucose_controlled = Some(false)),
            ("smoking", |i| i.smoking = Some(Smoking::Current)),
            ("smoking", |i| {
                i.smoking = Some(Smoking::Former);
                i.months_since_quit = Some(1.0);
            }),
        ];
        for (field, set) in cases {
            let mut input = all_good();
            set(&mut input);
            let out = classify(&input).unwrap();
            assert_eq!(out.decision, Decision::NeedsReview, "{field}");
            assert_eq!(out.criteria_not_met, vec![field]);
            assert_eq!(status(&out, field), ItemStatus::NotMet);
            let reviews = out.explanation.flags.iter().filter(|f| f.kind == FlagKind::Review).count();
            assert_eq!(reviews, 1, "{field}");
            assert!(out.explanation.rule.contains("not exclusions"), "{}", out.explanation.rule);
            assert!(out.not_assessed.is_empty());
        }
    }

    #[test]
    fn bmi_boundary_39_9_met_40_not_met() {
        let out = classify(&Input { bmi: Some(39.9), ..all_good() }).unwrap();
        assert_eq!(out.decision, Decision::Eligible);
        assert_eq!(status(&out, "bmi"), ItemStatus::Met);
        let out = classify(&Input { bmi: Some(40.0), ..all_good() }).unwrap();
        assert_eq!(out.decision, Decision::NeedsReview);
        assert_eq!(status(&out, "bmi"), ItemStatus::NotMet);
        let warning = out.explanation.flags.iter().find(|f| f.kind == FlagKind::Review).unwrap();
        assert!(
            warning.message.contains("morbidly obese patients have been treated successfully"),
            "{}",
            warning.message
        );
    }

    #[test]
    fn months_since_quit_boundary_2_not_met_3_met() {
        let former = |m: f64| Input { smoking: Some(Smoking::Former), months_since_quit: Some(m), ..all_good() };
        let out = classify(&former(2.0)).unwrap();
        assert_eq!(out.decision, Decision::NeedsReview);
        assert_eq!(status(&out, "smoking"), ItemStatus::NotMet);
        let out = classify(&former(2.99)).unwrap();
        assert_eq!(status(&out, "smoking"), ItemStatus::NotMet);
        let out = classify(&former(3.0)).unwrap();
        assert_eq!(out.decision, Decision::Eligible);
        assert_eq!(status(&out, "smoking"), ItemStatus::Met);
        let out = classify(&former(0.0)).unwrap();
        assert_eq!(status(&out, "smoking"), ItemStatus::NotMet);
    }

    #[test]
    fn missing_items_need_review_and_are_listed() {
        let cases: [(&str, SetField); 10] = [
            ("cooperates_with_protocol", |i| i.cooperates_with_protocol = None),
            ("understands_benefits_and_risks", |i| i.understands_benefits_and_risks = None),
            ("bmi", |i| i.bmi = None),
            ("glucose_controlled", |i| i.glucose_controlled = None),
            ("smoking", |i| i.smoking = None),
            ("active_residual_limb_infection", |i| i.active_residual_limb_infection = None),
            ("irradiated_bone", |i| i.irradiated_bone = None),
            ("pregnancy", |i| i.pregnancy = None),
            ("mental_instability", |i| i.mental_instability = None),
            ("smoking", |i| i.smoking = Some(Smoking::Former)),
        ];
        for (field, set) in cases {
            let mut input = all_good();
            set(&mut input);
            let out = classify(&input).unwrap();
            assert_eq!(out.decision, Decision::NeedsReview, "{field}");
            assert_eq!(out.not_assessed[0], field);
            assert_eq!(status(&out, field), ItemStatus::NotAssessed);
            let flag = out.explanation.flags.iter().find(|f| f.kind == FlagKind::Incomplete).unwrap();
            assert!(flag.message.contains(field), "{}", flag.message);
            assert!(out.explanation.rule.contains(field), "{}", out.explanation.rule);
        }
        let out = classify(&Input { smoking: Some(Smoking::Former), ..all_good() }).unwrap();
        assert_eq!(out.not_assessed, vec!["smoking", "months_since_quit"]);
    }

    #[test]
    fn no_listed_socket_problem_needs_review() {
        let out = classify(&Input { socket_problems: vec![], ..all_good() }).unwrap();
        assert_eq!(out.decision, Decision::NeedsReview);
        assert_eq!(status(&out, "socket_problems"), ItemStatus::Review);
        assert!(
            out.explanation.rule.contains(
                "no listed indication: osseointegration is suggested when a socket prosthesis cannot be used"
            ),
            "{}",
            out.explanation.rule
        );
        assert!(out.explanation.has_flag(FlagKind::Review));
        // Each single indication suffices.
        for p in SocketProblem::ALL {
            let out = classify(&Input { socket_problems: vec![p], ..all_good() }).unwrap();
            assert_eq!(out.decision, Decision::Eligible, "{p:?}");
        }
        // Duplicates are listed once.
        let out =
            classify(&Input { socket_problems: vec![SocketProblem::Pain, SocketProblem::Pain], ..all_good() }).unwrap();
        assert_eq!(out.items[1].explanation.inputs[0].value, InputValue::from("pain"));
    }

    #[test]
    fn levels_other_than_transfemoral_and_transtibial_need_review() {
        for level in [AmputationLevel::KneeDisarticulation, AmputationLevel::Other] {
            let out = classify(&Input { amputation_level: level, ..all_good() }).unwrap();
            assert_eq!(out.decision, Decision::NeedsReview, "{level:?}");
            assert_eq!(status(&out, "amputation_level"), ItemStatus::Review);
            assert!(
                out.explanation
                    .rule
                    .contains("indications published for above- and below-knee amputations, among others"),
                "{}",
                out.explanation.rule
            );
        }
    }

    #[test]
    fn invalid_numbers_and_inconsistent_smoking_are_errors() {
        for (bmi, problem) in
            [(f64::NAN, Problem::NotANumber), (5.0, Problem::OutOfRange), (101.0, Problem::OutOfRange)]
        {
            let e = classify(&Input { bmi: Some(bmi), ..all_good() }).unwrap_err();
            assert_eq!((e.field.as_str(), e.problem), ("bmi", problem));
        }
        let e = classify(&Input { smoking: Some(Smoking::Former), months_since_quit: Some(-1.0), ..all_good() })
            .unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("months_since_quit", Problem::OutOfRange));
        for smoking in [Some(Smoking::Never), Some(Smoking::Current), None] {
            let e = classify(&Input { smoking, months_since_quit: Some(6.0), ..all_good() }).unwrap_err();
            assert_eq!((e.field.as_str(), e.problem), ("months_since_quit", Problem::Inconsistent));
        }
        let e = classify(&Input { dexa_t_score: Some(f64::INFINITY), ..all_good() }).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("dexa_t_score", Problem::NotANumber));
        let e = classify(&Input { dexa_t_score: Some(-11.0), ..all_good() }).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("dexa_t_score", Problem::OutOfRange));
    }

    #[test]
    fn dexa_is_only_carried_into_the_work_up_reminder() {
        let with = classify(&Input { dexa_t_score: Some(-2.6), ..all_good() }).unwrap();
        let without = classify(&all_good()).unwrap();
        assert_eq!(with.decision, without.decision);
        assert_eq!(with.items, without.items);
        assert!(with.work_up.reminders[0].contains("DEXA T-score recorded: -2.6"), "{}", with.work_up.reminders[0]);
        assert!(without.work_up.reminders[0].contains("DEXA not yet recorded"));
        let all = without.work_up.reminders.join(" ");
        for needle in ["X-ray, CT and DEXA", "allergies", "signed consent form"] {
            assert!(all.contains(needle), "{needle}");
        }
    }

    #[test]
    fn json_input_and_output_shapes() {
        let input: Input = serde_json::from_str(
            r#"{"amputation_level":"transfemoral","socket_problems":["pain","excessive_sweating"],
                "cooperates_with_protocol":true,"understands_benefits_and_risks":true,"bmi":32,
                "glucose_controlled":true,"smoking":"never","active_residual_limb_infection":false,
                "irradiated_bone":false,"pregnancy":false,"mental_instability":false}"#,
        )
        .unwrap();
        assert_eq!(input, all_good());
        let sparse: Input = serde_json::from_str(r#"{"amputation_level":"transtibial","socket_problems":[]}"#).unwrap();
        assert_eq!(sparse.bmi, None);
        assert!(
            serde_json::from_str::<Input>(r#"{"amputation_level":"transtibial","socket_problems":[],"x":1}"#).is_err()
        );
        assert!(serde_json::from_str::<Input>(r#"{"amputation_level":"hip","socket_problems":[]}"#).is_err());
        assert!(serde_json::from_str::<Input>(r#"{"amputation_level":"transtibial"}"#).is_err());

        let v = serde_json::to_value(classify(&input).unwrap()).unwrap();
        assert_eq!(v["decision"], "eligible");
        assert_eq!(v["items"][4]["item"], "bmi");
        assert_eq!(v["items"][4]["group"], "surgical_criterion");
        assert_eq!(v["items"][4]["status"], "met");
        assert_eq!(v["items"][7]["status"], "absent");
        assert_eq!(v["explanation"]["flags"][0]["kind"], "SINGLE_SOURCE");
        assert!(v["work_up"]["reminders"].as_array().unwrap().len() == 6);
        let v = serde_json::to_value(classify(&sparse).unwrap()).unwrap();
        assert_eq!(v["decision"], "needs_review");
        assert_eq!(v["items"][2]["status"], "not_assessed");
    }

    fn arb_opt_bool() -> impl Strategy<Value = Option<bool>> {
        proptest::option::of(any::<bool>())
    }

    fn arb_opt_f64() -> impl Strategy<Value = Option<f64>> {
        prop_oneof![
            Just(None),
            any::<f64>().prop_map(Some),
            (-20.0..120.0f64).prop_map(Some),
            Just(Some(f64::NAN)),
            Just(Some(40.0)),
            Just(Some(3.0)),
        ]
    }

    fn arb_level() -> impl Strategy<Value = AmputationLevel> {
        prop_oneof![
            Just(AmputationLevel::Transfemoral),
            Just(AmputationLevel::KneeDisarticulation),
            Just(AmputationLevel::Transtibial),
            Just(AmputationLevel::Other),
        ]
    }

    fn arb_smoking() -> impl Strategy<Value = Option<Smoking>> {
        proptest::option::of(prop_oneof![Just(Smoking::Never), Just(Smoking::Former), Just(Smoking::Current)])
    }

    fn ok_range(v: Option<f64>, min: f64, max: f64) -> bool {
        v.is_none_or(|x| x.is_finite() && x >= min && x <= max)
    }

    proptest! {
        #[test]
        fn never_panics_and_decisions_are_consistent(
            amputation_level in arb_level(),
            socket_problems in proptest::collection::vec(proptest::sample::select(SocketProblem::ALL.to_vec()), 0..10),
            cooperates_with_protocol in arb_opt_bool(),
            understands_benefits_and_risks in arb_opt_bool(),
            bmi in arb_opt_f64(),
            glucose_controlled in arb_opt_bool(),
            smoking in arb_smoking(),
            months_since_quit in arb_opt_f64(),
            active_residual_limb_infection in arb_opt_bool(),
            irradiated_bone in arb_opt_bool(),
            pregnancy in arb_opt_bool(),
            mental_instability in arb_opt_bool(),
            dexa_t_score in arb_opt_f64(),
        ) {
            let input = Input {
                amputation_level, socket_problems, cooperates_with_protocol, understands_benefits_and_risks, bmi,
                glucose_controlled, smoking, months_since_quit, active_residual_limb_infection, irradiated_bone,
                pregnancy, mental_instability, dexa_t_score,
            };
            let valid = ok_range(bmi, 10.0, 100.0)
                && ok_range(months_since_quit, 0.0, 1200.0)
                && ok_range(dexa_t_score, -10.0, 10.0)
                && (months_since_quit.is_none() || smoking == Some(Smoking::Former));
            let result = classify(&input);
            prop_assert_eq!(result.is_ok(), valid);
            if let Ok(out) = result {
                let contra = [active_residual_limb_infection, irradiated_bone, pregnancy, mental_instability];
                let any_contra = contra.contains(&Some(true));
                prop_assert_eq!(out.decision == Decision::NotEligible, any_contra);
                let all_assessed = contra.iter().all(Option::is_some)
                    && [cooperates_with_protocol, understands_benefits_and_risks, glucose_controlled]
                        .iter().all(Option::is_some)
                    && bmi.is_some() && smoking.is_some()
                    && (smoking != Some(Smoking::Former) || months_since_quit.is_some());
                if out.decision == Decision::Eligible {
                    prop_assert!(all_assessed);
                    prop_assert!(bmi.is_some_and(|b| b < 40.0));
                    prop_assert!(!input.socket_problems.is_empty());
                    prop_assert!(matches!(amputation_level, AmputationLevel::Transfemoral | AmputationLevel::Transtibial));
                    prop_assert!(out.criteria_not_met.is_empty() && out.not_assessed.is_empty());
                }
                if !any_contra && !all_assessed {
                    prop_assert_eq!(out.decision, Decision::NeedsReview);
                }
                prop_assert_eq!(out.items.len(), 11);
                prop_assert!(out.explanation.has_flag(FlagKind::SingleSource));
                prop_assert!(out.explanation.has_flag(FlagKind::Caution));
                prop_assert!(!out.explanation.rule.is_empty());
                let _ = serde_json::to_string(&out).unwrap();
            }
        }
    }
}
