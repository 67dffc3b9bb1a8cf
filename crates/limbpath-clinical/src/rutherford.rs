//! Rutherford categories 0-6 (grades 0, I, II, III) with their objective
//! criteria, Fontaine stages I, IIa, IIb, III, IV, and the usual APPROXIMATE
//! correspondence between the two (REFERENCES.md §3).
//!
//! Each classification is derived from its own criteria: Rutherford from the
//! clinical presentation (or a category given directly, or for claudication
//! from the treadmill findings), Fontaine from the presentation and, for
//! claudication, the walking distance. The correspondence table (Fontaine I ≈
//! R0; IIa ≈ R1; IIb ≈ R2–3; III ≈ R4; IV ≈ R5–6) is exposed both ways and is
//! only ever returned as a separate counterpart labelled APPROXIMATE; it never
//! computes one classification from the other.
//!
//! Rules chosen:
//! - Claudication with treadmill findings: category 1 when the patient completes
//!   the standard treadmill exercise AND the post-exercise ankle pressure (AP)
//!   is >50 mmHg AND it is at least 20 mmHg below the resting AP; category 3 when the
//!   patient cannot complete it AND the post-exercise AP is <50 mmHg; otherwise
//!   category 2 ("between categories 1 and 3"). A completed test with AP >50 mmHg
//!   but a fall of less than 20 mmHg is milder than the category-1 criterion yet
//!   literally "between": it is placed in category 2 with a `Review` flag. The
//!   treadmill findings override a stated claudication severity (a disagreement is
//!   flagged `Review`); a category given directly is kept and a disagreement is
//!   flagged `Review`. Treadmill findings with any other presentation are an
//!   `Inconsistent` error.
//! - The standard treadmill protocol is UNVERIFIED in the reference pack: no
//!   protocol is named, and an `Unverified` flag says so whenever the treadmill
//!   findings are used.
//! - Categories 4-6: when a resting AP, toe pressure (TP) or PVR finding is given,
//!   each is checked against the printed objective criteria (category 4: resting
//!   AP <40 mmHg, TP <30 mmHg, flat or barely pulsatile PVR; categories 5-6:
//!   resting AP <60 mmHg, TP <40 mmHg, flat or barely pulsatile PVR). The reference
//!   does not say whether all criteria or any one are required, so a `Review` flag
//!   is raised whenever any measured criterion is NOT met, listing each; the
//!   category is never changed.
//! - Fontaine claudication: >200 m → IIa, <200 m → IIb. Exactly 200 m is not
//!   covered by the printed table: IIb is chosen (the shorter, more severe stage)
//!   with an `AmbiguousBoundary` flag. Claudication without a walking distance
//!   gives no Fontaine stage (IIa/IIb cannot be told apart); minor and major
//!   tissue loss are both Fontaine IV ("ulceration or gangrene").

use crate::error::{InvalidInput, Result};
use crate::explain::{EvidenceStatus, Explain, Explanation, FlagKind, Section, Source, number};
use crate::limits::{self, PRESSURE_MMHG, Plausible};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------

// source: Rutherford (SVS/ISCVS 1997 reporting standards) via PMC4232437 Table 2 | status: VERIFIED
pub static RUTHERFORD_SOURCE: Source = Source {
    id: "rutherford.categories",
    citation: "Rutherford (SVS/ISCVS 1997 reporting standards) with objective criteria, via PMC4232437 Table 2; \
               consistent with PMC11279131 Table 2",
    reference: "REFERENCES.md §3",
    status: EvidenceStatus::Verified,
    status_note: "the standard treadmill protocol is UNVERIFIED and is not named",
};

// source: Fontaine via primarycarenotebook (citing ESC 2017), a Trials journal table, webop.de Rutherford↔Fontaine mapping (REFERENCES.md §3) | status: VERIFIED
pub static FONTAINE_SOURCE: Source = Source {
    id: "fontaine.stages",
    citation: "Fontaine classification via primarycarenotebook (citing ESC 2017), a Trials journal table and the \
               webop.de Rutherford↔Fontaine mapping",
    reference: "REFERENCES.md §3",
    status: EvidenceStatus::Verified,
    status_note: "",
};

// source: usual Rutherford↔Fontaine correspondence (webop.de mapping), REFERENCES.md §3 | status: VERIFIED (approximate mapping)
pub static CORRESPONDENCE_SOURCE: Source = Source {
    id: "rutherford.fontaine_correspondence",
    citation: "Usual Rutherford↔Fontaine correspondence (webop.de Rutherford↔Fontaine mapping)",
    reference: "REFERENCES.md §3",
    status: EvidenceStatus::Verified,
    status_note: "APPROXIMATE mapping, not a lookup to compute one classification from the other",
};

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

/// Rutherford grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RutherfordGrade {
    #[serde(rename = "0")]
    Zero,
    I,
    II,
    III,
}

impl RutherfordGrade {
    pub fn label(self) -> &'static str {
        match self {
            RutherfordGrade::Zero => "0",
            RutherfordGrade::I => "I",
            RutherfordGrade::II => "II",
            RutherfordGrade::III => "III",
        }
    }
}

/// One row of the Rutherford table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RutherfordRow {
    pub category: u8,
    pub grade: RutherfordGrade,
    pub clinical: &'static str,
    pub objective: &'static str,
}

// source: Rutherford (SVS/ISCVS 1997 reporting standards) via PMC4232437 Table 2 | status: VERIFIED
/// Rutherford categories 0-6 as printed in REFERENCES.md §3 (AP = ankle pressure, TP = toe pressure).
pub const RUTHERFORD_CATEGORIES: [RutherfordRow; 7] = [
    RutherfordRow {
        category: 0,
        grade: RutherfordGrade::Zero,
        clinical: "Asymptomatic",
        objective: "Normal treadmill or reactive-hyperaemia test",
    },
    RutherfordRow {
        category: 1,
        grade: RutherfordGrade::I,
        clinical: "Mild claudication",
        objective: "Completes the treadmill exercise; AP after exercise >50 mmHg but at least 20 mmHg lower than the \
                    resting value",
    },
    RutherfordRow {
        category: 2,
        grade: RutherfordGrade::I,
        clinical: "Moderate claudication",
        objective: "Between categories 1 and 3",
    },
    RutherfordRow {
        category: 3,
        grade: RutherfordGrade::I,
        clinical: "Severe claudication",
        objective: "Cannot complete the standard treadmill exercise; AP after exercise <50 mmHg",
    },
    RutherfordRow {
        category: 4,
        grade: RutherfordGrade::II,
        clinical: "Ischaemic rest pain",
        objective: "Resting AP <40 mmHg; flat or barely pulsatile ankle or metatarsal PVR; TP <30 mmHg",
    },
    RutherfordRow {
        category: 5,
        grade: RutherfordGrade::III,
        clinical: "Minor tissue loss: non-healing ulcer, focal gangrene with diffuse pedal ischaemia",
        objective: "Resting AP <60 mmHg; flat or barely pulsatile ankle or metatarsal PVR; TP <40 mmHg",
    },
    RutherfordRow {
        category: 6,
        grade: RutherfordGrade::III,
        clinical: "Major tissue loss: extending above the TM level; functional foot no longer salvageable",
        objective: "Same as category 5",
    },
];

// source: Rutherford (SVS/ISCVS 1997 reporting standards) via PMC4232437 Table 2 | status: VERIFIED
// Objective-criteria numbers printed in §3 (mmHg).
const CAT1_POST_EXERCISE_AP_ABOVE: f64 = 50.0; // category 1: "AP after exercise >50 mmHg"
const CAT1_MIN_FALL: f64 = 20.0; // category 1: "at least 20 mmHg lower than the resting value"
const CAT3_POST_EXERCISE_AP_BELOW: f64 = 50.0; // category 3: "AP after exercise <50 mmHg"
const CAT4_RESTING_AP_BELOW: f64 = 40.0; // category 4: "Resting AP <40 mmHg"
const CAT4_TP_BELOW: f64 = 30.0; // category 4: "TP <30 mmHg"
const CAT56_RESTING_AP_BELOW: f64 = 60.0; // categories 5-6: "Resting AP <60 mmHg"
const CAT56_TP_BELOW: f64 = 40.0; // categories 5-6: "TP <40 mmHg"

/// Fontaine stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FontaineStage {
    I,
    IIa,
    IIb,
    III,
    IV,
}

impl FontaineStage {
    pub fn label(self) -> &'static str {
        match self {
            FontaineStage::I => "I",
            FontaineStage::IIa => "IIa",
            FontaineStage::IIb => "IIb",
            FontaineStage::III => "III",
            FontaineStage::IV => "IV",
        }
    }

    pub fn definition(self) -> &'static str {
        FONTAINE_STAGES.iter().find(|(s, _)| *s == self).map_or("", |(_, d)| d)
    }
}

// source: Fontaine via primarycarenotebook (citing ESC 2017), a Trials journal table, webop.de Rutherford↔Fontaine mapping (REFERENCES.md §3) | status: VERIFIED
/// Fontaine stages as printed in REFERENCES.md §3.
pub const FONTAINE_STAGES: [(FontaineStage, &str); 5] = [
    (FontaineStage::I, "Asymptomatic"),
    (FontaineStage::IIa, "Claudication, walking distance >200 m"),
    (FontaineStage::IIb, "Claudication, walking distance <200 m"),
    (FontaineStage::III, "Ischaemic rest pain"),
    (FontaineStage::IV, "Ulceration or gangrene"),
];

// source: Fontaine via primarycarenotebook (citing ESC 2017), a Trials journal table, webop.de Rutherford↔Fontaine mapping (REFERENCES.md §3) | status: VERIFIED
const FONTAINE_WALKING_DISTANCE_M: f64 = 200.0; // IIa ">200 m", IIb "<200 m"

// source: usual Rutherford↔Fontaine correspondence (webop.de mapping), REFERENCES.md §3 | status: VERIFIED (approximate mapping)
/// APPROXIMATE correspondence, Fontaine stage → Rutherford categories. Not a lookup
/// to compute one classification from the other.
pub const FONTAINE_RUTHERFORD_CORRESPONDENCE: [(FontaineStage, &[u8]); 5] = [
    (FontaineStage::I, &[0]),
    (FontaineStage::IIa, &[1]),
    (FontaineStage::IIb, &[2, 3]),
    (FontaineStage::III, &[4]),
    (FontaineStage::IV, &[5, 6]),
];

/// Shown with every approximate counterpart.
pub const APPROXIMATE_LABEL: &str = "APPROXIMATE";

// Engineering plausibility bound (not clinical): a walking distance from 0 m to
// 100 km. Kept here because limits.rs is shared; the lead may move it there.
const WALKING_DISTANCE_M: Plausible = Plausible { min: 0.0, max: 100_000.0, unit: "m" };

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

/// The clinical presentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presentation {
    Asymptomatic,
    Claudication,
    RestPain,
    MinorTissueLoss,
    MajorTissueLoss,
}

impl Presentation {
    pub fn label(self) -> &'static str {
        match self {
            Presentation::Asymptomatic => "asymptomatic",
            Presentation::Claudication => "claudication",
            Presentation::RestPain => "ischaemic rest pain",
            Presentation::MinorTissueLoss => "minor tissue loss",
            Presentation::MajorTissueLoss => "major tissue loss",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaudicationSeverity {
    Mild,
    Moderate,
    Severe,
}

/// Rutherford/Fontaine input. Give `presentation`, or `category` directly, or both (they must agree).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RutherfordInput {
    pub presentation: Option<Presentation>,
    /// For claudication without treadmill findings.
    pub claudication_severity: Option<ClaudicationSeverity>,
    /// Rutherford category 0-6 given directly.
    pub category: Option<u8>,
    /// Completed the standard treadmill exercise (protocol not named: UNVERIFIED).
    pub treadmill_completed: Option<bool>,
    pub post_exercise_ankle_pressure_mmhg: Option<f64>,
    pub resting_ankle_pressure_mmhg: Option<f64>,
    pub toe_pressure_mmhg: Option<f64>,
    /// Flat or barely pulsatile ankle or metatarsal pulse-volume recording.
    pub pvr_flat_or_barely_pulsatile: Option<bool>,
    /// Claudication walking distance (m), for Fontaine IIa/IIb.
    pub walking_distance_m: Option<f64>,
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/// How the Rutherford category was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoryBasis {
    Given,
    Presentation,
    Treadmill,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RutherfordResult {
    pub category: u8,
    pub grade: RutherfordGrade,
    pub clinical: &'static str,
    pub basis: CategoryBasis,
    pub explanation: Explanation,
}

/// One objective criterion of categories 4-6 checked against a measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriterionCheck {
    pub criterion: &'static str,
    pub measured: String,
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectiveCriteria {
    /// True when every measured criterion is met.
    pub all_met: bool,
    pub checks: Vec<CriterionCheck>,
    pub explanation: Explanation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FontaineResult {
    pub stage: FontaineStage,
    pub definition: &'static str,
    pub explanation: Explanation,
}

/// The Fontaine stage that usually corresponds to the Rutherford category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApproximateFontaine {
    pub stage: FontaineStage,
    /// Always "APPROXIMATE".
    pub label: &'static str,
    pub explanation: Explanation,
}

/// The Rutherford categories that usually correspond to the Fontaine stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApproximateRutherford {
    pub categories: Vec<u8>,
    /// Always "APPROXIMATE".
    pub label: &'static str,
    pub explanation: Explanation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RutherfordOutput {
    pub rutherford: RutherfordResult,
    /// Present for categories 4-6 when a resting AP, TP or PVR finding was given.
    pub objective_criteria: Option<ObjectiveCriteria>,
    /// Fontaine from its own criteria; absent when the presentation does not allow it.
    pub fontaine: Option<FontaineResult>,
    /// Why `fontaine` is absent.
    pub fontaine_not_derived: Option<String>,
    pub approximate_fontaine: ApproximateFontaine,
    /// Present when `fontaine` is.
    pub approximate_rutherford: Option<ApproximateRutherford>,
}

// ---------------------------------------------------------------------------
// Public lookups
// ---------------------------------------------------------------------------

/// The Rutherford table row of a category 0-6.
pub fn rutherford_row(category: u8) -> Result<&'static RutherfordRow> {
    RUTHERFORD_CATEGORIES
        .iter()
        .find(|r| r.category == category)
        .ok_or_else(|| InvalidInput::out_of_range("category", category, "a whole number from 0 to 6"))
}

/// APPROXIMATE: the Fontaine stage usually corresponding to a Rutherford category.
pub fn approximate_fontaine_for_rutherford(category: u8) -> Result<FontaineStage> {
    FONTAINE_RUTHERFORD_CORRESPONDENCE
        .iter()
        .find(|(_, cats)| cats.contains(&category))
        .map(|(s, _)| *s)
        .ok_or_else(|| InvalidInput::out_of_range("category", category, "a whole number from 0 to 6"))
}

/// APPROXIMATE: the Rutherford categories usually corresponding to a Fontaine stage.
pub fn approximate_rutherford_for_fontaine(stage: FontaineStage) -> &'static [u8] {
    FONTAINE_RUTHERFORD_CORRESPONDENCE.iter().find(|(s, _)| *s == stage).map_or(&[], |(_, c)| c)
}

fn presentation_of(category: u8) -> Option<Presentation> {
    match category {
        0 => Some(Presentation::Asymptomatic),
        1..=3 => Some(Presentation::Claudication),
        4 => Some(Presentation::RestPain),
        5 => Some(Presentation::MinorTissueLoss),
        6 => Some(Presentation::MajorTissueLoss),
        _ => None,
    }
}

fn severity_category(s: ClaudicationSeverity) -> u8 {
    match s {
        ClaudicationSeverity::Mild => 1,
        ClaudicationSeverity::Moderate => 2,
        ClaudicationSeverity::Severe => 3,
    }
}

fn severity_label(s: ClaudicationSeverity) -> &'static str {
    match s {
        ClaudicationSeverity::Mild => "mild",
        ClaudicationSeverity::Moderate => "moderate",
        ClaudicationSeverity::Severe => "severe",
    }
}

fn cat_label(c: u8) -> String {
    let clinical = rutherford_row(c).map_or("", |r| r.clinical);
    format!("category {c} ({clinical})")
}

const TREADMILL_UNVERIFIED: &str = "The standard treadmill protocol is UNVERIFIED in the reference pack and is not named \
     here; the category assumes the vascular laboratory's standard treadmill exercise.";

// ---------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------

struct Treadmill {
    category: u8,
    rule: String,
    review: Option<String>,
}

fn treadmill_category(input: &RutherfordInput, e: &mut Explanation) -> Result<Treadmill> {
    let completed = limits::require("treadmill_completed", input.treadmill_completed, "true or false")?;
    let post = limits::require(
        "post_exercise_ankle_pressure_mmhg",
        input.post_exercise_ankle_pressure_mmhg,
        &PRESSURE_MMHG.describe(),
    )?;
    e.push_input("treadmill_completed", completed);
    e.push_input("post_exercise_ankle_pressure_mmhg", post);
    let resting = if completed {
        Some(limits::require(
            "resting_ankle_pressure_mmhg",
            input.resting_ankle_pressure_mmhg,
            "a resting ankle pressure (needed for category 1 when the treadmill exercise was completed)",
        )?)
    } else {
        input.resting_ankle_pressure_mmhg
    };
    if let Some(r) = resting {
        e.push_input("resting_ankle_pressure_mmhg", r);
    }
    let fall = resting.map(|r| r - post);
    if completed && post > CAT1_POST_EXERCISE_AP_ABOVE && fall.is_some_and(|f| f >= CAT1_MIN_FALL) {
        let f = number(fall.unwrap_or(0.0));
        return Ok(Treadmill {
            category: 1,
            rule: format!(
                "completed the standard treadmill exercise, post-exercise AP {post} mmHg (>50) and {f} mmHg below the \
                 resting AP (at least 20) -> category 1 ('{}')",
                RUTHERFORD_CATEGORIES[1].objective
            ),
            review: None,
        });
    }
    if !completed && post < CAT3_POST_EXERCISE_AP_BELOW {
        return Ok(Treadmill {
            category: 3,
            rule: format!(
                "could not complete the standard treadmill exercise and post-exercise AP {post} mmHg (<50) -> category \
                 3 ('{}')",
                RUTHERFORD_CATEGORIES[3].objective
            ),
            review: None,
        });
    }
    let why = if completed {
        match fall {
            Some(f) if post > CAT1_POST_EXERCISE_AP_ABOVE => format!(
                "completed the treadmill exercise with post-exercise AP {post} mmHg (>50) but only {} mmHg below the \
                 resting AP (category 1 needs at least 20)",
                number(f)
            ),
            _ => format!("completed the treadmill exercise but post-exercise AP {post} mmHg is not above 50"),
        }
    } else {
        format!("could not complete the treadmill exercise but post-exercise AP {post} mmHg is not below 50")
    };
    let review = (completed && post > CAT1_POST_EXERCISE_AP_ABOVE).then(|| {
        format!(
            "Treadmill completed with post-exercise AP {post} mmHg and a fall of less than 20 mmHg from rest: milder \
             than the category-1 criterion, but placed in category 2 because the printed category 2 is 'between \
             categories 1 and 3'. Check the findings."
        )
    });
    Ok(Treadmill {
        category: 2,
        rule: format!(
            "{why}: meets neither category 1 nor category 3 -> category 2 ('{}')",
            RUTHERFORD_CATEGORIES[2].objective
        ),
        review,
    })
}

/// Classify Rutherford and Fontaine, each from its own criteria, with the approximate counterparts.
pub fn classify(input: &RutherfordInput) -> Result<RutherfordOutput> {
    // Validate every number given, used or not.
    PRESSURE_MMHG.check_opt("post_exercise_ankle_pressure_mmhg", input.post_exercise_ankle_pressure_mmhg)?;
    PRESSURE_MMHG.check_opt("resting_ankle_pressure_mmhg", input.resting_ankle_pressure_mmhg)?;
    PRESSURE_MMHG.check_opt("toe_pressure_mmhg", input.toe_pressure_mmhg)?;
    WALKING_DISTANCE_M.check_opt("walking_distance_m", input.walking_distance_m)?;
    if let Some(c) = input.category {
        limits::check_grade("category", c, 0, 6)?;
    }

    let treadmill_given = input.treadmill_completed.is_some() || input.post_exercise_ankle_pressure_mmhg.is_some();
    let treadmill_field =
        if input.treadmill_completed.is_some() { "treadmill_completed" } else { "post_exercise_ankle_pressure_mmhg" };
    let treadmill_only_claudication = "treadmill findings grade claudication only (Rutherford categories 1-3)";

    let mut e = Explanation::new(&RUTHERFORD_SOURCE, String::new());
    let mut treadmill_used = false;

    let (category, basis, mut rule) = if let Some(c) = input.category {
        e.push_input("category", c);
        if let Some(p) = input.presentation {
            e.push_input("presentation", p.label());
            if presentation_of(c) != Some(p) {
                return Err(InvalidInput::inconsistent(
                    "category",
                    c,
                    format!("Rutherford {} does not match the presentation '{}'", cat_label(c), p.label()),
                ));
            }
        }
        if let Some(s) = input.claudication_severity {
            e.push_input("claudication_severity", severity_label(s));
            if severity_category(s) != c {
                return Err(InvalidInput::inconsistent(
                    "claudication_severity",
                    severity_label(s),
                    format!("{} claudication does not match Rutherford {}", severity_label(s), cat_label(c)),
                ));
            }
        }
        let mut rule = format!("Rutherford {} given directly.", cat_label(c));
        if treadmill_given {
            if !(1..=3).contains(&c) {
                return Err(InvalidInput::inconsistent(treadmill_field, "given", treadmill_only_claudication));
            }
            let t = treadmill_category(input, &mut e)?;
            treadmill_used = true;
            rule.push_str(&format!(" Treadmill findings: {}.", t.rule));
            if t.category != c {
                e.push_flag(
                    FlagKind::Review,
                    format!(
                        "The treadmill findings meet category {} but category {c} was given; the given category is kept.",
                        t.category
                    ),
                );
            }
            if let Some(r) = t.review {
                e.push_flag(FlagKind::Review, r);
            }
        }
        (c, CategoryBasis::Given, rule)
    } else {
        let p = limits::require(
            "presentation",
            input.presentation,
            "asymptomatic, claudication, rest_pain, minor_tissue_loss or major_tissue_loss, or a category 0-6",
        )?;
        e.push_input("presentation", p.label());
        if p != Presentation::Claudication {
            if let Some(s) = input.claudication_severity {
                return Err(InvalidInput::inconsistent(
                    "claudication_severity",
                    severity_label(s),
                    format!("a claudication severity needs the presentation 'claudication', not '{}'", p.label()),
                ));
            }
            if treadmill_given {
                return Err(InvalidInput::inconsistent(treadmill_field, "given", treadmill_only_claudication));
            }
        }
        match p {
            Presentation::Claudication if treadmill_given => {
                let t = treadmill_category(input, &mut e)?;
                treadmill_used = true;
                let mut rule = format!("Claudication graded by the objective criteria: {}.", t.rule);
                if let Some(s) = input.claudication_severity {
                    e.push_input("claudication_severity", severity_label(s));
                    if severity_category(s) != t.category {
                        rule.push_str(" The stated severity is overridden by the treadmill findings.");
                        e.push_flag(
                            FlagKind::Review,
                            format!(
                                "Stated {} claudication (category {}) differs from the treadmill findings (category {}).",
                                severity_label(s),
                                severity_category(s),
                                t.category
                            ),
                        );
                    }
                }
                if let Some(r) = t.review {
                    e.push_flag(FlagKind::Review, r);
                }
                (t.category, CategoryBasis::Treadmill, rule)
            }
            Presentation::Claudication => {
                let s = limits::require(
                    "claudication_severity",
                    input.claudication_severity,
                    "mild, moderate or severe, or the treadmill findings (treadmill_completed, \
                     post_exercise_ankle_pressure_mmhg, resting_ankle_pressure_mmhg)",
                )?;
                e.push_input("claudication_severity", severity_label(s));
                let c = severity_category(s);
                (
                    c,
                    CategoryBasis::Presentation,
                    format!("{} claudication -> Rutherford {}.", severity_label(s), cat_label(c)),
                )
            }
            Presentation::Asymptomatic => fixed(p, 0),
            Presentation::RestPain => fixed(p, 4),
            Presentation::MinorTissueLoss => fixed(p, 5),
            Presentation::MajorTissueLoss => fixed(p, 6),
        }
    };

    let row = rutherford_row(category)?;
    rule.push_str(&format!(" Grade {}.", row.grade.label()));
    if treadmill_used {
        e.push_flag(FlagKind::Unverified, TREADMILL_UNVERIFIED);
    }

    // Objective criteria of categories 4-6.
    let objective_criteria = objective_check(category, input);
    let mut unused = Vec::new();
    if category < 4 {
        if input.toe_pressure_mmhg.is_some() {
            unused.push("toe_pressure_mmhg");
        }
        if input.pvr_flat_or_barely_pulsatile.is_some() {
            unused.push("pvr_flat_or_barely_pulsatile");
        }
        if input.resting_ankle_pressure_mmhg.is_some() && !treadmill_used {
            unused.push("resting_ankle_pressure_mmhg");
        }
    }
    if !unused.is_empty() {
        rule.push_str(&format!(
            " Not used (they are objective criteria of categories 4-6 only): {}.",
            unused.join(", ")
        ));
    }
    e.rule = rule;
    let rutherford = RutherfordResult { category, grade: row.grade, clinical: row.clinical, basis, explanation: e };

    // Fontaine from its own criteria.
    let (fontaine, fontaine_not_derived) = match fontaine_from_presentation(input) {
        Ok(f) => (Some(f), None),
        Err(why) => (None, Some(why)),
    };

    // Approximate counterparts.
    let approx_stage = approximate_fontaine_for_rutherford(category)?;
    let mut approx_rule = format!(
        "Rutherford category {category} usually corresponds to Fontaine {} (Fontaine {} ≈ R{}). APPROXIMATE: shown \
         for orientation only, never used to compute either classification.",
        approx_stage.label(),
        approx_stage.label(),
        range_label(approximate_rutherford_for_fontaine(approx_stage))
    );
    if let Some(why) = &fontaine_not_derived {
        approx_rule.push_str(&format!(" Fontaine not derived from its own criteria: {why}"));
    }
    let mut approx_e =
        Explanation::new(&CORRESPONDENCE_SOURCE, approx_rule).input("rutherford_category", category).flag(
            FlagKind::Caution,
            "APPROXIMATE correspondence, not a lookup: the Fontaine stage is not computed from it.",
        );
    if let Some(f) = fontaine.as_ref().filter(|f| f.stage != approx_stage) {
        approx_e.push_flag(
            FlagKind::Review,
            format!(
                "Fontaine {} (from its own criteria) and Rutherford category {category} do not follow the usual \
                     correspondence (Fontaine {} ≈ R{}). Both are shown as derived.",
                f.stage.label(),
                f.stage.label(),
                range_label(approximate_rutherford_for_fontaine(f.stage))
            ),
        );
    }
    let approximate_fontaine =
        ApproximateFontaine { stage: approx_stage, label: APPROXIMATE_LABEL, explanation: approx_e };
    let approximate_rutherford = fontaine.as_ref().map(|f| {
        let cats = approximate_rutherford_for_fontaine(f.stage);
        ApproximateRutherford {
            categories: cats.to_vec(),
            label: APPROXIMATE_LABEL,
            explanation: Explanation::new(
                &CORRESPONDENCE_SOURCE,
                format!(
                    "Fontaine {} usually corresponds to Rutherford R{}. APPROXIMATE: shown for orientation only, never \
                     used to compute either classification.",
                    f.stage.label(),
                    range_label(cats)
                ),
            )
            .input("fontaine_stage", f.stage.label())
            .flag(
                FlagKind::Caution,
                "APPROXIMATE correspondence, not a lookup: the Rutherford category is not computed from it.",
            ),
        }
    });

    Ok(RutherfordOutput {
        rutherford,
        objective_criteria,
        fontaine,
        fontaine_not_derived,
        approximate_fontaine,
        approximate_rutherford,
    })
}

fn fixed(p: Presentation, c: u8) -> (u8, CategoryBasis, String) {
    (c, CategoryBasis::Presentation, format!("Presentation {} -> Rutherford {}.", p.label(), cat_label(c)))
}

fn range_label(cats: &[u8]) -> String {
    match cats {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] => format!("{first}–{last}"),
    }
}

fn objective_check(category: u8, input: &RutherfordInput) -> Option<ObjectiveCriteria> {
    let (ap_below, tp_below, ap_text, tp_text, group) = match category {
        4 => (CAT4_RESTING_AP_BELOW, CAT4_TP_BELOW, "Resting AP <40 mmHg", "TP <30 mmHg", "category 4"),
        5 | 6 => (CAT56_RESTING_AP_BELOW, CAT56_TP_BELOW, "Resting AP <60 mmHg", "TP <40 mmHg", "categories 5-6"),
        _ => return None,
    };
    let ap = input.resting_ankle_pressure_mmhg;
    let tp = input.toe_pressure_mmhg;
    let pvr = input.pvr_flat_or_barely_pulsatile;
    if ap.is_none() && tp.is_none() && pvr.is_none() {
        return None;
    }
    let mut e = Explanation::new(&RUTHERFORD_SOURCE, String::new()).input("rutherford_category", category);
    let mut checks = Vec::new();
    if let Some(v) = ap {
        e.push_input("resting_ankle_pressure_mmhg", v);
        checks.push(CriterionCheck { criterion: ap_text, measured: format!("{v} mmHg"), met: v < ap_below });
    }
    if let Some(v) = tp {
        e.push_input("toe_pressure_mmhg", v);
        checks.push(CriterionCheck { criterion: tp_text, measured: format!("{v} mmHg"), met: v < tp_below });
    }
    if let Some(v) = pvr {
        e.push_input("pvr_flat_or_barely_pulsatile", v);
        checks.push(CriterionCheck {
            criterion: "flat or barely pulsatile ankle or metatarsal PVR",
            measured: if v { "flat or barely pulsatile".to_owned() } else { "not flat".to_owned() },
            met: v,
        });
    }
    let all_met = checks.iter().all(|c| c.met);
    let listing: Vec<String> = checks
        .iter()
        .map(|c| format!("{}: {} -> {}", c.criterion, c.measured, if c.met { "met" } else { "NOT met" }))
        .collect();
    e.rule = format!(
        "Objective criteria of {group} checked against the measurements given: {}. {}",
        listing.join("; "),
        if all_met { "Every measured criterion is met." } else { "The category is not changed." }
    );
    if !all_met {
        let failed: Vec<&str> = checks.iter().filter(|c| !c.met).map(|c| c.criterion).collect();
        e.push_flag(
            FlagKind::Review,
            format!(
                "Rutherford category {category} objective criteria NOT met for: {}. The category is kept as presented; \
                 check the presentation and the measurements.",
                failed.join(", ")
            ),
        );
    }
    Some(ObjectiveCriteria { all_met, checks, explanation: e })
}

/// Fontaine stage from the presentation and walking distance; `Err(reason)` when not derivable.
fn fontaine_from_presentation(input: &RutherfordInput) -> std::result::Result<FontaineResult, String> {
    let Some(p) = input.presentation else {
        return Err("no presentation given (a Rutherford category alone does not give a Fontaine stage).".to_owned());
    };
    let mut e = Explanation::new(&FONTAINE_SOURCE, String::new()).input("presentation", p.label());
    let (stage, mut rule) = match p {
        Presentation::Asymptomatic => (FontaineStage::I, "asymptomatic -> Fontaine I".to_owned()),
        Presentation::RestPain => (FontaineStage::III, "ischaemic rest pain -> Fontaine III".to_owned()),
        Presentation::MinorTissueLoss | Presentation::MajorTissueLoss => {
            (FontaineStage::IV, format!("{} (ulceration or gangrene) -> Fontaine IV", p.label()))
        }
        Presentation::Claudication => {
            let Some(w) = input.walking_distance_m else {
                return Err(
                    "claudication without a walking distance: Fontaine IIa and IIb cannot be told apart.".to_owned()
                );
            };
            e.push_input("walking_distance_m", w);
            if w > FONTAINE_WALKING_DISTANCE_M {
                (FontaineStage::IIa, format!("claudication, walking distance {w} m (>200 m) -> Fontaine IIa"))
            } else if w < FONTAINE_WALKING_DISTANCE_M {
                (FontaineStage::IIb, format!("claudication, walking distance {w} m (<200 m) -> Fontaine IIb"))
            } else {
                e.push_flag(
                    FlagKind::AmbiguousBoundary,
                    "Walking distance exactly 200 m is not covered by the printed table (IIa >200 m, IIb <200 m); \
                     IIb (the shorter distance, more severe stage) was chosen.",
                );
                (
                    FontaineStage::IIb,
                    format!("claudication, walking distance {w} m (exactly 200 m, not covered) -> Fontaine IIb"),
                )
            }
        }
    };
    rule = format!("{rule} ('{}').", stage.definition());
    if p != Presentation::Claudication && input.walking_distance_m.is_some() {
        rule.push_str(" walking_distance_m not used: it separates IIa from IIb in claudication only.");
    }
    e.rule = rule;
    Ok(FontaineResult { stage, definition: stage.definition(), explanation: e })
}

// ---------------------------------------------------------------------------
// Explain
// ---------------------------------------------------------------------------

impl Explain for RutherfordOutput {
    fn sections(&self) -> Vec<Section<'_>> {
        let r = &self.rutherford;
        let mut s = vec![Section {
            label: "Rutherford category",
            result: format!("R{} (grade {}): {}", r.category, r.grade.label(), r.clinical),
            explanation: &r.explanation,
        }];
        if let Some(o) = &self.objective_criteria {
            s.push(Section {
                label: "Rutherford objective criteria",
                result: if o.all_met { "met".to_owned() } else { "NOT met (review)".to_owned() },
                explanation: &o.explanation,
            });
        }
        if let Some(f) = &self.fontaine {
            s.push(Section {
                label: "Fontaine stage",
                result: format!("{}: {}", f.stage.label(), f.definition),
                explanation: &f.explanation,
            });
        }
        s.push(Section {
            label: "Fontaine counterpart of the Rutherford category",
            result: format!("≈ {} ({APPROXIMATE_LABEL})", self.approximate_fontaine.stage.label()),
            explanation: &self.approximate_fontaine.explanation,
        });
        if let Some(a) = &self.approximate_rutherford {
            s.push(Section {
                label: "Rutherford counterpart of the Fontaine stage",
                result: format!("≈ R{} ({APPROXIMATE_LABEL})", range_label(&a.categories)),
                explanation: &a.explanation,
            });
        }
        s
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Problem;
    use proptest::prelude::*;

    fn blank() -> RutherfordInput {
        RutherfordInput {
            presentation: None,
            claudication_severity: None,
            category: None,
            treadmill_completed: None,
            post_exercise_ankle_pressure_mmhg: None,
            resting_ankle_pressure_mmhg: None,
            toe_pressure_mmhg: None,
            pvr_flat_or_barely_pulsatile: None,
            walking_distance_m: None,
        }
    }

    fn pres(p: Presentation) -> RutherfordInput {
        RutherfordInput { presentation: Some(p), ..blank() }
    }

    fn claud(completed: bool, post: f64, resting: Option<f64>) -> RutherfordInput {
        RutherfordInput {
            presentation: Some(Presentation::Claudication),
            treadmill_completed: Some(completed),
            post_exercise_ankle_pressure_mmhg: Some(post),
            resting_ankle_pressure_mmhg: resting,
            ..blank()
        }
    }

    fn walk(w: f64) -> RutherfordInput {
        RutherfordInput {
            presentation: Some(Presentation::Claudication),
            claudication_severity: Some(ClaudicationSeverity::Moderate),
            walking_distance_m: Some(w),
            ..blank()
        }
    }

    #[test]
    fn every_category_from_presentation() {
        let cases = [
            (pres(Presentation::Asymptomatic), 0, RutherfordGrade::Zero, Some(FontaineStage::I)),
            (
                RutherfordInput {
                    claudication_severity: Some(ClaudicationSeverity::Mild),
                    ..pres(Presentation::Claudication)
                },
                1,
                RutherfordGrade::I,
                None,
            ),
            (
                RutherfordInput {
                    claudication_severity: Some(ClaudicationSeverity::Moderate),
                    ..pres(Presentation::Claudication)
                },
                2,
                RutherfordGrade::I,
                None,
            ),
            (
                RutherfordInput {
                    claudication_severity: Some(ClaudicationSeverity::Severe),
                    ..pres(Presentation::Claudication)
                },
                3,
                RutherfordGrade::I,
                None,
            ),
            (pres(Presentation::RestPain), 4, RutherfordGrade::II, Some(FontaineStage::III)),
            (pres(Presentation::MinorTissueLoss), 5, RutherfordGrade::III, Some(FontaineStage::IV)),
            (pres(Presentation::MajorTissueLoss), 6, RutherfordGrade::III, Some(FontaineStage::IV)),
        ];
        for (input, cat, grade, fontaine) in cases {
            let out = classify(&input).unwrap();
            assert_eq!(out.rutherford.category, cat);
            assert_eq!(out.rutherford.grade, grade, "R{cat}");
            assert_eq!(out.rutherford.basis, CategoryBasis::Presentation);
            assert_eq!(out.rutherford.clinical, RUTHERFORD_CATEGORIES[usize::from(cat)].clinical);
            assert_eq!(out.fontaine.as_ref().map(|f| f.stage), fontaine, "R{cat}");
            assert_eq!(out.approximate_fontaine.label, "APPROXIMATE");
            assert!(out.approximate_fontaine.explanation.has_flag(FlagKind::Caution));
        }
    }

    #[test]
    fn every_category_given_directly() {
        let grades = ["0", "I", "I", "I", "II", "III", "III"];
        for c in 0..=6u8 {
            let out = classify(&RutherfordInput { category: Some(c), ..blank() }).unwrap();
            assert_eq!(out.rutherford.category, c);
            assert_eq!(out.rutherford.grade.label(), grades[usize::from(c)]);
            assert_eq!(out.rutherford.basis, CategoryBasis::Given);
            assert!(out.fontaine.is_none(), "no presentation: no Fontaine from its own criteria");
            assert!(out.fontaine_not_derived.is_some());
            assert!(out.approximate_rutherford.is_none());
        }
        let e = classify(&RutherfordInput { category: Some(7), ..blank() }).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("category", Problem::OutOfRange));
    }

    #[test]
    fn category_and_presentation_must_agree() {
        let out = classify(&RutherfordInput { category: Some(4), ..pres(Presentation::RestPain) }).unwrap();
        assert_eq!(out.fontaine.unwrap().stage, FontaineStage::III);
        let e = classify(&RutherfordInput { category: Some(5), ..pres(Presentation::RestPain) }).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("category", Problem::Inconsistent));
        let e = classify(&RutherfordInput {
            category: Some(1),
            claudication_severity: Some(ClaudicationSeverity::Severe),
            ..blank()
        })
        .unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("claudication_severity", Problem::Inconsistent));
    }

    #[test]
    fn missing_inputs() {
        let e = classify(&blank()).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("presentation", Problem::Missing));
        let e = classify(&pres(Presentation::Claudication)).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("claudication_severity", Problem::Missing));
        let e = classify(&RutherfordInput {
            post_exercise_ankle_pressure_mmhg: Some(40.0),
            ..pres(Presentation::Claudication)
        })
        .unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("treadmill_completed", Problem::Missing));
        let e = classify(&RutherfordInput { treadmill_completed: Some(false), ..pres(Presentation::Claudication) })
            .unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("post_exercise_ankle_pressure_mmhg", Problem::Missing));
        let e = classify(&claud(true, 80.0, None)).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("resting_ankle_pressure_mmhg", Problem::Missing));
    }

    #[test]
    fn treadmill_only_for_claudication() {
        let e =
            classify(&RutherfordInput { treadmill_completed: Some(true), ..pres(Presentation::RestPain) }).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("treadmill_completed", Problem::Inconsistent));
        let e =
            classify(&RutherfordInput { post_exercise_ankle_pressure_mmhg: Some(30.0), category: Some(5), ..blank() })
                .unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("post_exercise_ankle_pressure_mmhg", Problem::Inconsistent));
        let e = classify(&RutherfordInput {
            claudication_severity: Some(ClaudicationSeverity::Mild),
            ..pres(Presentation::RestPain)
        })
        .unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("claudication_severity", Problem::Inconsistent));
    }

    #[test]
    fn treadmill_category_1_boundaries() {
        // post-exercise AP 50/51 and fall 19/20
        let cases = [
            (51.0, 71.0, 1),  // >50, fall 20
            (50.0, 70.0, 2),  // not >50
            (51.0, 70.0, 2),  // fall 19
            (80.0, 100.0, 1), // fall 20
            (80.0, 99.0, 2),  // fall 19
        ];
        for (post, rest, want) in cases {
            let out = classify(&claud(true, post, Some(rest))).unwrap();
            assert_eq!(out.rutherford.category, want, "post {post} rest {rest}");
            assert_eq!(out.rutherford.basis, CategoryBasis::Treadmill);
            assert!(out.rutherford.explanation.has_flag(FlagKind::Unverified), "protocol UNVERIFIED flag");
        }
        // Fall <20 with AP >50 is flagged for review; AP <=50 is not.
        assert!(classify(&claud(true, 80.0, Some(99.0))).unwrap().rutherford.explanation.has_flag(FlagKind::Review));
        assert!(!classify(&claud(true, 50.0, Some(70.0))).unwrap().rutherford.explanation.has_flag(FlagKind::Review));
        assert!(!classify(&claud(true, 51.0, Some(71.0))).unwrap().rutherford.explanation.has_flag(FlagKind::Review));
    }

    #[test]
    fn treadmill_category_3_boundaries() {
        assert_eq!(classify(&claud(false, 49.0, None)).unwrap().rutherford.category, 3);
        assert_eq!(classify(&claud(false, 50.0, None)).unwrap().rutherford.category, 2);
        assert_eq!(classify(&claud(false, 51.0, Some(90.0))).unwrap().rutherford.category, 2);
        assert_eq!(classify(&claud(false, 0.0, None)).unwrap().rutherford.category, 3);
    }

    #[test]
    fn treadmill_protocol_is_not_named() {
        let out = classify(&claud(true, 80.0, Some(120.0))).unwrap();
        let text = serde_json::to_string(&out).unwrap().to_lowercase();
        assert!(!text.contains("mph") && !text.contains("12 %") && !text.contains("5 min"), "{text}");
        assert!(text.contains("unverified"));
    }

    #[test]
    fn treadmill_overrides_stated_severity_with_review() {
        let mut i = claud(false, 30.0, None);
        i.claudication_severity = Some(ClaudicationSeverity::Mild);
        let out = classify(&i).unwrap();
        assert_eq!(out.rutherford.category, 3);
        assert!(out.rutherford.explanation.has_flag(FlagKind::Review));
        // Given category kept, disagreement flagged.
        let i = RutherfordInput { category: Some(1), ..claud(false, 30.0, None) };
        let out = classify(&i).unwrap();
        assert_eq!((out.rutherford.category, out.rutherford.basis), (1, CategoryBasis::Given));
        assert!(out.rutherford.explanation.has_flag(FlagKind::Review));
        let i = RutherfordInput { category: Some(3), ..claud(false, 30.0, None) };
        assert!(!classify(&i).unwrap().rutherford.explanation.has_flag(FlagKind::Review));
    }

    fn objective(p: Presentation, ap: Option<f64>, tp: Option<f64>, pvr: Option<bool>) -> ObjectiveCriteria {
        let i = RutherfordInput {
            resting_ankle_pressure_mmhg: ap,
            toe_pressure_mmhg: tp,
            pvr_flat_or_barely_pulsatile: pvr,
            ..pres(p)
        };
        let out = classify(&i).unwrap();
        out.objective_criteria.unwrap()
    }

    #[test]
    fn objective_criteria_category_4_boundaries() {
        let o = objective(Presentation::RestPain, Some(39.0), Some(29.0), Some(true));
        assert!(o.all_met);
        assert!(!o.explanation.has_flag(FlagKind::Review));
        let o = objective(Presentation::RestPain, Some(40.0), Some(29.0), None);
        assert!(!o.all_met);
        assert!(!o.checks[0].met);
        assert!(o.explanation.has_flag(FlagKind::Review));
        let o = objective(Presentation::RestPain, None, Some(30.0), None);
        assert!(!o.all_met && o.explanation.has_flag(FlagKind::Review));
        let o = objective(Presentation::RestPain, None, None, Some(false));
        assert!(!o.all_met);
        // Category is never changed.
        let out =
            classify(&RutherfordInput { resting_ankle_pressure_mmhg: Some(120.0), ..pres(Presentation::RestPain) })
                .unwrap();
        assert_eq!(out.rutherford.category, 4);
    }

    #[test]
    fn objective_criteria_category_5_6_boundaries() {
        for p in [Presentation::MinorTissueLoss, Presentation::MajorTissueLoss] {
            assert!(objective(p, Some(59.0), Some(39.0), Some(true)).all_met);
            let o = objective(p, Some(60.0), Some(39.0), None);
            assert!(!o.all_met && o.explanation.has_flag(FlagKind::Review));
            let o = objective(p, Some(59.0), Some(40.0), None);
            assert!(!o.all_met);
            assert_eq!(o.checks.iter().map(|c| c.met).collect::<Vec<_>>(), vec![true, false]);
            // 40 and 30 are fine here: the 5-6 cut-offs are 60 and 40.
            assert!(objective(p, Some(40.0), Some(30.0), None).all_met);
        }
    }

    #[test]
    fn objective_criteria_absent_without_measurements_or_below_4() {
        assert!(classify(&pres(Presentation::RestPain)).unwrap().objective_criteria.is_none());
        let i = RutherfordInput { toe_pressure_mmhg: Some(20.0), ..pres(Presentation::Asymptomatic) };
        let out = classify(&i).unwrap();
        assert!(out.objective_criteria.is_none());
        assert!(out.rutherford.explanation.rule.contains("Not used"), "{}", out.rutherford.explanation.rule);
    }

    #[test]
    fn fontaine_walking_distance_boundaries() {
        let cases = [
            (199.0, FontaineStage::IIb, false),
            (200.0, FontaineStage::IIb, true),
            (201.0, FontaineStage::IIa, false),
            (0.0, FontaineStage::IIb, false),
        ];
        for (w, want, flag) in cases {
            let out = classify(&walk(w)).unwrap();
            let f = out.fontaine.unwrap();
            assert_eq!(f.stage, want, "{w} m");
            assert_eq!(f.explanation.has_flag(FlagKind::AmbiguousBoundary), flag, "{w} m");
            assert_eq!(f.explanation.source.id, "fontaine.stages");
        }
        let out = classify(&RutherfordInput {
            claudication_severity: Some(ClaudicationSeverity::Mild),
            ..pres(Presentation::Claudication)
        })
        .unwrap();
        assert!(out.fontaine.is_none());
        assert!(out.fontaine_not_derived.unwrap().contains("walking distance"));
        let e = classify(&walk(f64::NAN)).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("walking_distance_m", Problem::NotANumber));
        let e = classify(&walk(-1.0)).unwrap_err();
        assert_eq!(e.problem, Problem::OutOfRange);
    }

    #[test]
    fn fontaine_comes_from_its_own_criteria_not_the_mapping() {
        // Severe claudication (R3, usual counterpart IIb) walking 500 m: Fontaine IIa from its own criteria.
        let i = RutherfordInput {
            claudication_severity: Some(ClaudicationSeverity::Severe),
            walking_distance_m: Some(500.0),
            ..pres(Presentation::Claudication)
        };
        let out = classify(&i).unwrap();
        assert_eq!(out.rutherford.category, 3);
        assert_eq!(out.fontaine.as_ref().unwrap().stage, FontaineStage::IIa);
        assert_eq!(out.approximate_fontaine.stage, FontaineStage::IIb);
        assert!(out.approximate_fontaine.explanation.has_flag(FlagKind::Review));
        let ar = out.approximate_rutherford.unwrap();
        assert_eq!((ar.categories, ar.label), (vec![1], "APPROXIMATE"));
        // Consistent pair: no review flag.
        let out = classify(&walk(150.0)).unwrap();
        assert!(!out.approximate_fontaine.explanation.has_flag(FlagKind::Review));
    }

    #[test]
    fn full_mapping_table_both_ways() {
        let table: [(FontaineStage, &[u8]); 5] = [
            (FontaineStage::I, &[0]),
            (FontaineStage::IIa, &[1]),
            (FontaineStage::IIb, &[2, 3]),
            (FontaineStage::III, &[4]),
            (FontaineStage::IV, &[5, 6]),
        ];
        for (stage, cats) in table {
            assert_eq!(approximate_rutherford_for_fontaine(stage), cats);
            for c in cats {
                assert_eq!(approximate_fontaine_for_rutherford(*c).unwrap(), stage);
            }
        }
        let want = [
            FontaineStage::I,
            FontaineStage::IIa,
            FontaineStage::IIb,
            FontaineStage::IIb,
            FontaineStage::III,
            FontaineStage::IV,
            FontaineStage::IV,
        ];
        for c in 0..=6u8 {
            assert_eq!(approximate_fontaine_for_rutherford(c).unwrap(), want[usize::from(c)]);
            let out = classify(&RutherfordInput { category: Some(c), ..blank() }).unwrap();
            assert_eq!(out.approximate_fontaine.stage, want[usize::from(c)]);
        }
        assert_eq!(approximate_fontaine_for_rutherford(7).unwrap_err().problem, Problem::OutOfRange);
    }

    #[test]
    fn tables_are_as_printed() {
        assert_eq!(RUTHERFORD_CATEGORIES.len(), 7);
        for (i, r) in RUTHERFORD_CATEGORIES.iter().enumerate() {
            assert_eq!(usize::from(r.category), i);
        }
        assert_eq!(FontaineStage::IIa.definition(), "Claudication, walking distance >200 m");
        assert_eq!(FontaineStage::IV.definition(), "Ulceration or gangrene");
        assert_eq!(
            RUTHERFORD_CATEGORIES[4].objective,
            "Resting AP <40 mmHg; flat or barely pulsatile ankle or metatarsal PVR; TP <30 mmHg"
        );
    }

    #[test]
    fn sections_and_json_shape() {
        let i: RutherfordInput = serde_json::from_str(
            r#"{"presentation": "rest_pain", "resting_ankle_pressure_mmhg": 35, "toe_pressure_mmhg": 20}"#,
        )
        .unwrap();
        let out = classify(&i).unwrap();
        let secs = out.sections();
        let labels: Vec<&str> = secs.iter().map(|s| s.label).collect();
        assert_eq!(
            labels,
            [
                "Rutherford category",
                "Rutherford objective criteria",
                "Fontaine stage",
                "Fontaine counterpart of the Rutherford category",
                "Rutherford counterpart of the Fontaine stage"
            ]
        );
        assert_eq!(secs[0].result, "R4 (grade II): Ischaemic rest pain");
        assert_eq!(secs[3].result, "≈ III (APPROXIMATE)");
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(v["rutherford"]["category"], 4);
        assert_eq!(v["rutherford"]["grade"], "II");
        assert_eq!(v["fontaine"]["stage"], "III");
        assert_eq!(v["approximate_fontaine"]["label"], "APPROXIMATE");
        assert_eq!(v["approximate_rutherford"]["categories"][0], 4);
        assert_eq!(v["objective_criteria"]["all_met"], true);
        assert!(serde_json::from_str::<RutherfordInput>(r#"{"presentation": "rest_pain", "x": 1}"#).is_err());
        assert!(serde_json::from_str::<RutherfordInput>(r#"{"presentation": "gangrene"}"#).is_err());
    }

    #[test]
    fn pressures_are_validated() {
        let e = classify(&RutherfordInput { toe_pressure_mmhg: Some(f64::NAN), ..pres(Presentation::RestPain) })
            .unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("toe_pressure_mmhg", Problem::NotANumber));
        let e = classify(&RutherfordInput { resting_ankle_pressure_mmhg: Some(-5.0), ..pres(Presentation::RestPain) })
            .unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("resting_ankle_pressure_mmhg", Problem::OutOfRange));
        let e = classify(&claud(true, 900.0, Some(100.0))).unwrap_err();
        assert_eq!(e.field, "post_exercise_ankle_pressure_mmhg");
    }

    fn any_num() -> impl Strategy<Value = Option<f64>> {
        prop::option::of(prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-1.0),
            Just(0.0),
            Just(40.0),
            Just(50.0),
            Just(200.0),
            Just(1e12),
            -10.0..400.0f64,
            any::<f64>(),
        ])
    }

    fn any_presentation() -> impl Strategy<Value = Option<Presentation>> {
        prop::option::of(prop_oneof![
            Just(Presentation::Asymptomatic),
            Just(Presentation::Claudication),
            Just(Presentation::RestPain),
            Just(Presentation::MinorTissueLoss),
            Just(Presentation::MajorTissueLoss),
        ])
    }

    fn bad(v: Option<f64>, max: f64) -> bool {
        v.is_some_and(|x| !x.is_finite() || x < 0.0 || x > max)
    }

    proptest! {
        #[test]
        fn never_panics_and_invalid_is_err(
            p in any_presentation(),
            s in prop::option::of(prop_oneof![Just(ClaudicationSeverity::Mild), Just(ClaudicationSeverity::Moderate), Just(ClaudicationSeverity::Severe)]),
            c in prop::option::of(any::<u8>()),
            done in prop::option::of(any::<bool>()),
            post in any_num(), rest in any_num(), toe in any_num(),
            pvr in prop::option::of(any::<bool>()),
            w in any_num(),
        ) {
            let input = RutherfordInput {
                presentation: p, claudication_severity: s, category: c, treadmill_completed: done,
                post_exercise_ankle_pressure_mmhg: post, resting_ankle_pressure_mmhg: rest, toe_pressure_mmhg: toe,
                pvr_flat_or_barely_pulsatile: pvr, walking_distance_m: w,
            };
            let r = classify(&input);
            let invalid = c.is_some_and(|c| c > 6) || (c.is_none() && p.is_none())
                || bad(post, 300.0) || bad(rest, 300.0) || bad(toe, 300.0) || bad(w, 100_000.0);
            if invalid {
                prop_assert!(r.is_err());
            }
            if let Ok(out) = r {
                prop_assert!(out.rutherford.category <= 6);
                prop_assert_eq!(out.rutherford.grade, RUTHERFORD_CATEGORIES[usize::from(out.rutherford.category)].grade);
                prop_assert_eq!(out.approximate_fontaine.label, APPROXIMATE_LABEL);
                prop_assert_eq!(out.fontaine.is_some(), out.approximate_rutherford.is_some());
                prop_assert_eq!(out.fontaine.is_none(), out.fontaine_not_derived.is_some());
                if let Some(cat) = c { prop_assert_eq!(out.rutherford.category, cat); }
            }
        }

        #[test]
        fn treadmill_category_is_1_2_or_3(done in any::<bool>(), post in 0.0..300.0f64, rest in 0.0..300.0f64) {
            let out = classify(&claud(done, post, Some(rest))).unwrap();
            let want = if done && post > 50.0 && rest - post >= 20.0 { 1 } else if !done && post < 50.0 { 3 } else { 2 };
            prop_assert_eq!(out.rutherford.category, want);
        }

        #[test]
        fn random_json_never_panics(s in "\\PC*") {
            if let Ok(i) = serde_json::from_str::<RutherfordInput>(&s) {
                let _ = classify(&i);
            }
        }
    }
}
