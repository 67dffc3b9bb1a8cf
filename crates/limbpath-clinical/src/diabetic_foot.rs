//! Diabetic foot ulcer classifications: Meggitt–Wagner grade 0-5, University
//! of Texas grade × stage (16 cells, written "2B") and the SINBAD score 0-6.
//! (IWGDF/IDSA infection grading lives in `infection.rs`.)
//!
//! Rules chosen where the published tables leave room (REFERENCES.md §7):
//! - **Wagner.** Either a grade given directly, or findings, never both. From
//!   findings the grade is the highest grade whose definition is met. Findings
//!   that contradict each other are rejected as `Inconsistent`, naming the field:
//!   an ulcer depth without an open lesion; an open lesion without gangrene but
//!   with no ulcer depth (missing: it decides grade 1 against 2/3); abscess,
//!   osteomyelitis or joint sepsis with neither a deep ulcer nor gangrene (fits
//!   no Wagner grade). Gangrene does not need an ulcer (dry gangrene of a toe is
//!   grade 4 whatever the skin elsewhere).
//! - **University of Texas.** Either a grade or a depth, never both. Stage A-D
//!   from two booleans (infection, ischaemia); every one of the 16 cells is
//!   reachable, including 0B-0D.
//! - **SINBAD.** Area `< 1 cm²` scores 0 and `≥ 1 cm²` scores 1. A total of 3 or
//!   more is returned as a `Caution` note ("associated with slower healing"),
//!   never as a verdict.

use crate::error::{InvalidInput, Result};
use crate::explain::{EvidenceStatus, Explain, Explanation, FlagKind, Section, Source};
use crate::limits;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt::Write as _;

// ---------------------------------------------------------------------------
// Wagner
// ---------------------------------------------------------------------------

pub static WAGNER_SOURCE: Source = Source {
    id: "diabetic_foot.wagner_grades",
    citation: "Meggitt–Wagner grades via PMC3189128 T2",
    reference: "REFERENCES.md §7.2",
    status: EvidenceStatus::Verified,
    status_note: "",
};

/// One Wagner grade and its definition as REFERENCES.md §7.2 prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WagnerRow {
    pub grade: u8,
    pub definition: &'static str,
}

// source: Meggitt–Wagner grades via PMC3189128 T2 | status: VERIFIED
pub const WAGNER_GRADES: [WagnerRow; 6] = [
    WagnerRow { grade: 0, definition: "No open lesion: intact skin (may have deformity, pre- or post-ulcerative)" },
    WagnerRow { grade: 1, definition: "Superficial ulcer (partial or full thickness)" },
    WagnerRow { grade: 2, definition: "Deep ulcer to tendon, capsule or bone, without abscess or osteomyelitis" },
    WagnerRow { grade: 3, definition: "Deep ulcer with abscess, osteomyelitis or joint sepsis" },
    WagnerRow { grade: 4, definition: "Localised gangrene (toes or forefoot, or heel)" },
    WagnerRow { grade: 5, definition: "Gangrene of the whole foot" },
];

fn wagner_row(field: &str, grade: u8) -> Result<&'static WagnerRow> {
    WAGNER_GRADES
        .iter()
        .find(|r| r.grade == grade)
        .ok_or_else(|| InvalidInput::out_of_range(field, grade, "a whole number from 0 to 5"))
}

/// Depth of an open ulcer, as Wagner distinguishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UlcerDepth {
    /// Partial or full thickness, not reaching tendon, capsule or bone.
    Superficial,
    /// Deep to tendon, capsule or bone.
    Deep,
}

impl UlcerDepth {
    pub fn as_str(self) -> &'static str {
        match self {
            UlcerDepth::Superficial => "superficial",
            UlcerDepth::Deep => "deep",
        }
    }
}

/// Gangrene, as Wagner distinguishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gangrene {
    None,
    /// Localised: toes or forefoot, or heel.
    Localised,
    /// The whole foot.
    WholeFoot,
}

impl Gangrene {
    pub fn as_str(self) -> &'static str {
        match self {
            Gangrene::None => "none",
            Gangrene::Localised => "localised",
            Gangrene::WholeFoot => "whole_foot",
        }
    }
}

/// Bedside findings from which the Wagner grade is derived.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WagnerFindings {
    /// Is there an open lesion (ulcer)? `false` means intact skin.
    pub open_lesion: bool,
    /// Depth of the ulcer; required for an open lesion without gangrene.
    #[serde(default)]
    pub ulcer_depth: Option<UlcerDepth>,
    /// Abscess, osteomyelitis or joint sepsis present.
    pub abscess_osteomyelitis_or_joint_sepsis: bool,
    pub gangrene: Gangrene,
}

/// Wagner input: a grade given directly, or findings; exactly one.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WagnerInput {
    #[serde(default)]
    pub grade: Option<u8>,
    #[serde(default)]
    pub findings: Option<WagnerFindings>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WagnerOutput {
    pub grade: u8,
    pub definition: &'static str,
    pub explanation: Explanation,
}

impl Explain for WagnerOutput {
    fn sections(&self) -> Vec<Section<'_>> {
        vec![Section {
            label: "Wagner grade",
            result: format!("{}: {}", self.grade, self.definition),
            explanation: &self.explanation,
        }]
    }
}

const WAGNER_INPUT_ACCEPTED: &str = "either a Wagner grade (0 to 5) or findings (open_lesion, ulcer_depth, \
     abscess_osteomyelitis_or_joint_sepsis, gangrene), not both";

/// Wagner grade from a given grade or from findings.
pub fn classify_wagner(input: &WagnerInput) -> Result<WagnerOutput> {
    match (input.grade, &input.findings) {
        (Some(g), None) => {
            let row = wagner_row("grade", limits::check_grade("grade", g, 0, 5)?)?;
            let explanation = Explanation::new(
                &WAGNER_SOURCE,
                format!("Wagner grade {} given directly: {}", row.grade, row.definition),
            )
            .input("grade", row.grade);
            Ok(WagnerOutput { grade: row.grade, definition: row.definition, explanation })
        }
        (None, Some(f)) => wagner_from_findings(f),
        (Some(g), Some(_)) => Err(InvalidInput::inconsistent("grade", g, format!("give {WAGNER_INPUT_ACCEPTED}"))),
        (None, None) => Err(InvalidInput::missing("grade", WAGNER_INPUT_ACCEPTED)),
    }
}

fn wagner_from_findings(f: &WagnerFindings) -> Result<WagnerOutput> {
    let sepsis = f.abscess_osteomyelitis_or_joint_sepsis;
    // Consistency of the findings.
    if let (false, Some(depth)) = (f.open_lesion, f.ulcer_depth) {
        return Err(InvalidInput::inconsistent(
            "findings.ulcer_depth",
            depth.as_str(),
            "an ulcer depth needs an open lesion, but open_lesion is false (intact skin): \
             set open_lesion true or leave ulcer_depth out",
        ));
    }
    if f.open_lesion && f.ulcer_depth.is_none() && f.gangrene == Gangrene::None {
        return Err(InvalidInput::missing(
            "findings.ulcer_depth",
            "superficial or deep (to tendon, capsule or bone): required for an open lesion \
             without gangrene, as it decides Wagner grade 1 against 2 or 3",
        ));
    }
    if sepsis && f.ulcer_depth != Some(UlcerDepth::Deep) && f.gangrene == Gangrene::None {
        return Err(InvalidInput::inconsistent(
            "findings.abscess_osteomyelitis_or_joint_sepsis",
            sepsis,
            "Wagner grade 3 is a deep ulcer with abscess, osteomyelitis or joint sepsis; \
             without a deep ulcer or gangrene these findings fit no Wagner grade: \
             check ulcer_depth (deep to tendon, capsule or bone), and grade the infection \
             with IWGDF/IDSA",
        ));
    }

    // Which grade definitions are met.
    let met: [(u8, bool); 6] = [
        (0, !f.open_lesion && f.gangrene == Gangrene::None),
        (1, f.ulcer_depth == Some(UlcerDepth::Superficial)),
        (2, f.ulcer_depth == Some(UlcerDepth::Deep) && !sepsis),
        (3, f.ulcer_depth == Some(UlcerDepth::Deep) && sepsis),
        (4, f.gangrene == Gangrene::Localised),
        (5, f.gangrene == Gangrene::WholeFoot),
    ];
    let met: Vec<u8> = met.iter().filter(|(_, m)| *m).map(|(g, _)| *g).collect();
    let grade = met
        .iter()
        .copied()
        .max()
        .ok_or_else(|| InvalidInput::missing("findings", "findings that meet one Wagner grade definition"))?;
    let row = wagner_row("grade", grade)?;

    let mut rule = format!(
        "open lesion {}, ulcer depth {}, abscess/osteomyelitis/joint sepsis {}, gangrene {} \
         -> Wagner grade {} ({}): the highest grade whose definition is met",
        yes_no(f.open_lesion),
        f.ulcer_depth.map_or("not given", UlcerDepth::as_str),
        yes_no(sepsis),
        f.gangrene.as_str(),
        row.grade,
        row.definition,
    );
    let lower: Vec<String> = met.iter().filter(|g| **g != grade).map(u8::to_string).collect();
    if !lower.is_empty() {
        rule.push_str(&format!(" (definition also met for grade {})", lower.join(", ")));
    }

    let mut explanation = Explanation::new(&WAGNER_SOURCE, rule).input("findings.open_lesion", f.open_lesion);
    if let Some(d) = f.ulcer_depth {
        explanation.push_input("findings.ulcer_depth", d.as_str());
    }
    explanation.push_input("findings.abscess_osteomyelitis_or_joint_sepsis", sepsis);
    explanation.push_input("findings.gangrene", f.gangrene.as_str());
    Ok(WagnerOutput { grade: row.grade, definition: row.definition, explanation })
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

// ---------------------------------------------------------------------------
// University of Texas
// ---------------------------------------------------------------------------

pub static TEXAS_SOURCE: Source = Source {
    id: "diabetic_foot.texas_grade_stage",
    citation: "University of Texas wound classification (Armstrong/Lavery 1996-98) via WJD 2022 table 2",
    reference: "REFERENCES.md §7.3",
    status: EvidenceStatus::Verified,
    status_note: "",
};

/// Depth of the wound, as the University of Texas grades it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TexasDepth {
    /// Pre- or post-ulcerative lesion, completely epithelialised (grade 0).
    Epithelialised,
    /// Superficial wound, not involving tendon, capsule or bone (grade 1).
    Superficial,
    /// Wound penetrating to tendon or capsule (grade 2).
    TendonOrCapsule,
    /// Wound penetrating to bone or joint (grade 3).
    BoneOrJoint,
}

impl TexasDepth {
    pub fn as_str(self) -> &'static str {
        match self {
            TexasDepth::Epithelialised => "epithelialised",
            TexasDepth::Superficial => "superficial",
            TexasDepth::TendonOrCapsule => "tendon_or_capsule",
            TexasDepth::BoneOrJoint => "bone_or_joint",
        }
    }

    /// The grade this depth defines (explicit for every depth).
    pub fn grade(self) -> u8 {
        match self {
            TexasDepth::Epithelialised => 0,
            TexasDepth::Superficial => 1,
            TexasDepth::TendonOrCapsule => 2,
            TexasDepth::BoneOrJoint => 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TexasGradeRow {
    pub grade: u8,
    pub definition: &'static str,
}

// source: University of Texas wound classification (Armstrong/Lavery 1996-98) via WJD 2022 table 2 | status: VERIFIED
pub const TEXAS_GRADES: [TexasGradeRow; 4] = [
    TexasGradeRow { grade: 0, definition: "Pre- or post-ulcerative lesion, completely epithelialised" },
    TexasGradeRow { grade: 1, definition: "Superficial wound, not involving tendon, capsule or bone" },
    TexasGradeRow { grade: 2, definition: "Wound penetrating to tendon or capsule" },
    TexasGradeRow { grade: 3, definition: "Wound penetrating to bone or joint" },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TexasStageRow {
    pub stage: &'static str,
    pub infection: bool,
    pub ischaemia: bool,
    pub definition: &'static str,
}

// source: University of Texas wound classification (Armstrong/Lavery 1996-98) via WJD 2022 table 2 | status: VERIFIED
pub const TEXAS_STAGES: [TexasStageRow; 4] = [
    TexasStageRow { stage: "A", infection: false, ischaemia: false, definition: "Clean (no infection, no ischaemia)" },
    TexasStageRow { stage: "B", infection: true, ischaemia: false, definition: "Infection" },
    TexasStageRow { stage: "C", infection: false, ischaemia: true, definition: "Ischaemia" },
    TexasStageRow { stage: "D", infection: true, ischaemia: true, definition: "Infection and ischaemia" },
];

/// University of Texas input: a grade (0-3) or a depth, exactly one; and the
/// two stage findings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TexasInput {
    #[serde(default)]
    pub grade: Option<u8>,
    #[serde(default)]
    pub depth: Option<TexasDepth>,
    /// Wound infection present.
    pub infection: bool,
    /// Ischaemia present.
    pub ischaemia: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TexasOutput {
    /// Grade and stage together, e.g. "2B".
    pub class: String,
    pub grade: u8,
    pub grade_definition: &'static str,
    /// "A", "B", "C" or "D".
    pub stage: &'static str,
    pub stage_definition: &'static str,
    pub explanation: Explanation,
}

impl Explain for TexasOutput {
    fn sections(&self) -> Vec<Section<'_>> {
        vec![Section {
            label: "University of Texas class",
            result: format!(
                "{} (grade {}: {}; stage {}: {})",
                self.class, self.grade, self.grade_definition, self.stage, self.stage_definition
            ),
            explanation: &self.explanation,
        }]
    }
}

/// University of Texas grade × stage.
pub fn classify_texas(input: &TexasInput) -> Result<TexasOutput> {
    let (grade, how) = match (input.grade, input.depth) {
        (Some(g), None) => (limits::check_grade("grade", g, 0, 3)?, format!("grade {g} given directly")),
        (None, Some(d)) => (d.grade(), format!("depth {}", d.as_str())),
        (Some(g), Some(_)) => {
            return Err(InvalidInput::inconsistent("grade", g, "give either a grade (0 to 3) or a depth, not both"));
        }
        (None, None) => {
            return Err(InvalidInput::missing(
                "depth",
                "epithelialised, superficial, tendon_or_capsule or bone_or_joint \
                 (or a grade 0 to 3)",
            ));
        }
    };
    let g = TEXAS_GRADES
        .iter()
        .find(|r| r.grade == grade)
        .ok_or_else(|| InvalidInput::out_of_range("grade", grade, "a whole number from 0 to 3"))?;
    let s = TEXAS_STAGES
        .iter()
        .find(|r| r.infection == input.infection && r.ischaemia == input.ischaemia)
        .ok_or_else(|| InvalidInput::inconsistent("infection", input.infection, "a stage A to D"))?;
    let class = format!("{}{}", g.grade, s.stage);
    let mut explanation = Explanation::new(
        &TEXAS_SOURCE,
        format!(
            "{how} -> grade {} ({}); infection {}, ischaemia {} -> stage {} ({}); class {class}",
            g.grade,
            g.definition,
            yes_no(input.infection),
            yes_no(input.ischaemia),
            s.stage,
            s.definition,
        ),
    );
    if let Some(gr) = input.grade {
        explanation.push_input("grade", gr);
    }
    if let Some(d) = input.depth {
        explanation.push_input("depth", d.as_str());
    }
    explanation.push_input("infection", input.infection);
    explanation.push_input("ischaemia", input.ischaemia);
    Ok(TexasOutput {
        class,
        grade: g.grade,
        grade_definition: g.definition,
        stage: s.stage,
        stage_definition: s.definition,
        explanation,
    })
}

// ---------------------------------------------------------------------------
// SINBAD
// ---------------------------------------------------------------------------

pub static SINBAD_SOURCE: Source = Source {
    id: "diabetic_foot.sinbad",
    citation: "Ince P et al., Diabetes Care 2008;31:964-7 (SINBAD) via WJD 2022 table 4",
    reference: "REFERENCES.md §7.4",
    status: EvidenceStatus::Verified,
    status_note: "",
};

/// Site of the ulcer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SinbadSite {
    Forefoot,
    Midfoot,
    Hindfoot,
}

impl SinbadSite {
    pub fn as_str(self) -> &'static str {
        match self {
            SinbadSite::Forefoot => "forefoot",
            SinbadSite::Midfoot => "midfoot",
            SinbadSite::Hindfoot => "hindfoot",
        }
    }
}

/// Depth of the ulcer, as SINBAD distinguishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SinbadDepth {
    /// Confined to skin or subcutaneous tissue.
    SkinOrSubcutaneous,
    /// Reaching muscle, tendon or deeper.
    MuscleTendonOrDeeper,
}

impl SinbadDepth {
    pub fn as_str(self) -> &'static str {
        match self {
            SinbadDepth::SkinOrSubcutaneous => "skin_or_subcutaneous",
            SinbadDepth::MuscleTendonOrDeeper => "muscle_tendon_or_deeper",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinbadInput {
    pub site: SinbadSite,
    /// Clinical evidence of reduced pedal blood flow (`false`: pedal flow
    /// intact, at least one palpable pulse).
    pub ischaemia: bool,
    /// Protective sensation lost (`false`: intact).
    pub neuropathy: bool,
    /// Bacterial infection present.
    pub bacterial_infection: bool,
    /// Ulcer area in cm².
    pub area_cm2: f64,
    pub depth: SinbadDepth,
}

/// One SINBAD item as REFERENCES.md §7.4 prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinbadItemRow {
    pub item: &'static str,
    pub zero: &'static str,
    pub one: &'static str,
}

// source: Ince P et al., Diabetes Care 2008;31:964-7 (SINBAD) via WJD 2022 table 4 | status: VERIFIED
pub const SINBAD_ITEMS: [SinbadItemRow; 6] = [
    SinbadItemRow { item: "site", zero: "forefoot", one: "midfoot or hindfoot" },
    SinbadItemRow {
        item: "ischaemia",
        zero: "pedal blood flow intact (>=1 palpable pulse)",
        one: "clinical evidence of reduced flow",
    },
    SinbadItemRow { item: "neuropathy", zero: "protective sensation intact", one: "protective sensation lost" },
    SinbadItemRow { item: "bacterial_infection", zero: "none", one: "present" },
    SinbadItemRow { item: "area", zero: "< 1 cm²", one: ">= 1 cm²" },
    SinbadItemRow {
        item: "depth",
        zero: "confined to skin or subcutaneous tissue",
        one: "reaching muscle, tendon or deeper",
    },
];

// source: Ince P et al., Diabetes Care 2008;31:964-7 (SINBAD) via WJD 2022 table 4 | status: VERIFIED
/// Area at or above which the area item scores 1 (cm²).
pub const SINBAD_AREA_CM2: f64 = 1.0;
/// A total at or above this is associated with slower healing.
pub const SINBAD_SLOWER_HEALING_TOTAL: u8 = 3;

/// One scored SINBAD item: the finding, its point and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SinbadItem {
    pub item: &'static str,
    pub finding: Cow<'static, str>,
    pub points: u8,
    /// The definition of the level that scored, as printed.
    pub level: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SinbadOutput {
    /// 0 to 6.
    pub total: u8,
    pub items: Vec<SinbadItem>,
    pub explanation: Explanation,
}

impl Explain for SinbadOutput {
    fn sections(&self) -> Vec<Section<'_>> {
        vec![Section { label: "SINBAD score", result: format!("{}/6", self.total), explanation: &self.explanation }]
    }
}

fn sinbad_item(row: &SinbadItemRow, finding: impl Into<Cow<'static, str>>, scores: bool) -> SinbadItem {
    let (points, level) = if scores { (1, row.one) } else { (0, row.zero) };
    SinbadItem { item: row.item, finding: finding.into(), points, level }
}

/// SINBAD score 0-6 with each item's point.
pub fn classify_sinbad(input: &SinbadInput) -> Result<SinbadOutput> {
    let area = limits::AREA_CM2.check("area_cm2", input.area_cm2)?;
    let [site, isch, neuro, infection, area_row, depth] = &SINBAD_ITEMS;
    let items = vec![
        sinbad_item(
            site,
            input.site.as_str(),
            match input.site {
                SinbadSite::Forefoot => false,
                SinbadSite::Midfoot | SinbadSite::Hindfoot => true,
            },
        ),
        sinbad_item(isch, if input.ischaemia { "reduced pedal flow" } else { "pedal flow intact" }, input.ischaemia),
        sinbad_item(
            neuro,
            if input.neuropathy { "protective sensation lost" } else { "protective sensation intact" },
            input.neuropathy,
        ),
        sinbad_item(infection, if input.bacterial_infection { "present" } else { "none" }, input.bacterial_infection),
        sinbad_item(area_row, format!("{area} cm²"), area >= SINBAD_AREA_CM2),
        sinbad_item(
            depth,
            input.depth.as_str(),
            match input.depth {
                SinbadDepth::SkinOrSubcutaneous => false,
                SinbadDepth::MuscleTendonOrDeeper => true,
            },
        ),
    ];
    let total: u8 = items.iter().map(|i| i.points).sum();
    let mut rule = String::with_capacity(512);
    for i in &items {
        let _ = write!(rule, "{} {} = {} ({} scores {}); ", i.item, i.finding, i.points, i.level, i.points);
    }
    let _ = write!(rule, "total {total}/6");
    let mut explanation = Explanation::new(&SINBAD_SOURCE, rule)
        .input("site", input.site.as_str())
        .input("ischaemia", input.ischaemia)
        .input("neuropathy", input.neuropathy)
        .input("bacterial_infection", input.bacterial_infection)
        .input("area_cm2", area)
        .input("depth", input.depth.as_str());
    if total >= SINBAD_SLOWER_HEALING_TOTAL {
        explanation.push_flag(
            FlagKind::Caution,
            format!(
                "A SINBAD score of 3 or more (here {total}) is associated with slower healing \
                 (Ince 2008). This is a note for communication and audit, not a prediction for \
                 this patient."
            ),
        );
    }
    Ok(SinbadOutput { total, items, explanation })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Problem;
    use proptest::prelude::*;

    fn findings(open_lesion: bool, ulcer_depth: Option<UlcerDepth>, sepsis: bool, gangrene: Gangrene) -> WagnerInput {
        WagnerInput {
            grade: None,
            findings: Some(WagnerFindings {
                open_lesion,
                ulcer_depth,
                abscess_osteomyelitis_or_joint_sepsis: sepsis,
                gangrene,
            }),
        }
    }

    use Gangrene as G;
    use UlcerDepth::{Deep, Superficial};

    // ---- Wagner ----

    #[test]
    fn wagner_every_grade_given_directly() {
        let expected = [
            "No open lesion: intact skin (may have deformity, pre- or post-ulcerative)",
            "Superficial ulcer (partial or full thickness)",
            "Deep ulcer to tendon, capsule or bone, without abscess or osteomyelitis",
            "Deep ulcer with abscess, osteomyelitis or joint sepsis",
            "Localised gangrene (toes or forefoot, or heel)",
            "Gangrene of the whole foot",
        ];
        for (g, def) in (0u8..=5).zip(expected) {
            let out = classify_wagner(&WagnerInput { grade: Some(g), findings: None }).unwrap();
            assert_eq!(out.grade, g);
            assert_eq!(out.definition, def);
            assert_eq!(out.explanation.source.id, "diabetic_foot.wagner_grades");
        }
    }

    #[test]
    fn wagner_grade_out_of_range() {
        let e = classify_wagner(&WagnerInput { grade: Some(6), findings: None }).unwrap_err();
        assert_eq!(e.field, "grade");
        assert_eq!(e.problem, Problem::OutOfRange);
        assert_eq!(e.value.as_deref(), Some("6"));
    }

    #[test]
    fn wagner_from_findings_every_grade() {
        let cases = [
            (findings(false, None, false, G::None), 0),
            (findings(true, Some(Superficial), false, G::None), 1),
            (findings(true, Some(Deep), false, G::None), 2),
            (findings(true, Some(Deep), true, G::None), 3),
            (findings(false, None, false, G::Localised), 4),
            (findings(true, Some(Superficial), false, G::Localised), 4),
            (findings(true, Some(Deep), true, G::Localised), 4),
            (findings(true, None, false, G::Localised), 4),
            (findings(false, None, false, G::WholeFoot), 5),
            (findings(true, Some(Deep), true, G::WholeFoot), 5),
            // Deep infection with gangrene and no ulcer: gangrene grades it.
            (findings(false, None, true, G::Localised), 4),
        ];
        for (input, grade) in cases {
            let out = classify_wagner(&input).unwrap();
            assert_eq!(out.grade, grade, "{input:?}");
            assert_eq!(out.definition, WAGNER_GRADES[usize::from(grade)].definition);
        }
    }

    #[test]
    fn wagner_rule_names_lower_grades_also_met() {
        let out = classify_wagner(&findings(true, Some(Deep), true, G::Localised)).unwrap();
        assert!(out.explanation.rule.contains("-> Wagner grade 4"), "{}", out.explanation.rule);
        assert!(out.explanation.rule.contains("also met for grade 3"), "{}", out.explanation.rule);
        assert_eq!(out.explanation.inputs.len(), 4);
        let out = classify_wagner(&findings(false, None, false, G::None)).unwrap();
        assert!(!out.explanation.rule.contains("also met"));
    }

    #[test]
    fn wagner_inconsistent_findings_name_the_field() {
        // No open lesion but an ulcer depth.
        for depth in [Superficial, Deep] {
            let e = classify_wagner(&findings(false, Some(depth), false, G::None)).unwrap_err();
            assert_eq!(e.field, "findings.ulcer_depth");
            assert_eq!(e.problem, Problem::Inconsistent);
        }
        // Even with gangrene, an ulcer depth needs an open lesion.
        let e = classify_wagner(&findings(false, Some(Deep), false, G::Localised)).unwrap_err();
        assert_eq!(e.field, "findings.ulcer_depth");
        // Open lesion, no gangrene, no depth: missing.
        let e = classify_wagner(&findings(true, None, false, G::None)).unwrap_err();
        assert_eq!(e.field, "findings.ulcer_depth");
        assert_eq!(e.problem, Problem::Missing);
        // Abscess/osteomyelitis without a deep ulcer or gangrene.
        for (open, depth) in [(false, None), (true, Some(Superficial))] {
            let e = classify_wagner(&findings(open, depth, true, G::None)).unwrap_err();
            assert_eq!(e.field, "findings.abscess_osteomyelitis_or_joint_sepsis");
            assert_eq!(e.problem, Problem::Inconsistent);
        }
    }

    #[test]
    fn wagner_grade_and_findings_or_neither() {
        let mut both = findings(false, None, false, G::None);
        both.grade = Some(0);
        let e = classify_wagner(&both).unwrap_err();
        assert_eq!(e.field, "grade");
        assert_eq!(e.problem, Problem::Inconsistent);
        let e = classify_wagner(&WagnerInput { grade: None, findings: None }).unwrap_err();
        assert_eq!(e.field, "grade");
        assert_eq!(e.problem, Problem::Missing);
    }

    #[test]
    fn wagner_json_shape() {
        let i: WagnerInput = serde_json::from_str(
            r#"{"findings":{"open_lesion":true,"ulcer_depth":"deep",
                "abscess_osteomyelitis_or_joint_sepsis":true,"gangrene":"none"}}"#,
        )
        .unwrap();
        assert_eq!(classify_wagner(&i).unwrap().grade, 3);
        let i: WagnerInput = serde_json::from_str(r#"{"grade":5}"#).unwrap();
        let v = serde_json::to_value(classify_wagner(&i).unwrap()).unwrap();
        assert_eq!(v["grade"], 5);
        assert_eq!(v["definition"], "Gangrene of the whole foot");
        assert!(serde_json::from_str::<WagnerInput>(r#"{"grade":1,"stage":"A"}"#).is_err());
        // Missing booleans are not defaulted.
        assert!(serde_json::from_str::<WagnerInput>(r#"{"findings":{"open_lesion":false}}"#).is_err());
    }

    // ---- University of Texas ----

    fn texas(depth: TexasDepth, infection: bool, ischaemia: bool) -> TexasInput {
        TexasInput { grade: None, depth: Some(depth), infection, ischaemia }
    }

    #[test]
    fn texas_all_sixteen_cells() {
        let depths =
            [TexasDepth::Epithelialised, TexasDepth::Superficial, TexasDepth::TendonOrCapsule, TexasDepth::BoneOrJoint];
        let grade_defs = [
            "Pre- or post-ulcerative lesion, completely epithelialised",
            "Superficial wound, not involving tendon, capsule or bone",
            "Wound penetrating to tendon or capsule",
            "Wound penetrating to bone or joint",
        ];
        let stages = [
            (false, false, "A", "Clean (no infection, no ischaemia)"),
            (true, false, "B", "Infection"),
            (false, true, "C", "Ischaemia"),
            (true, true, "D", "Infection and ischaemia"),
        ];
        let expected_cells =
            ["0A", "0B", "0C", "0D", "1A", "1B", "1C", "1D", "2A", "2B", "2C", "2D", "3A", "3B", "3C", "3D"];
        let mut n = 0;
        for (g, (depth, gdef)) in depths.iter().zip(grade_defs).enumerate() {
            for (inf, isch, stage, sdef) in stages {
                let out = classify_texas(&texas(*depth, inf, isch)).unwrap();
                assert_eq!(out.class, expected_cells[n]);
                assert_eq!(usize::from(out.grade), g);
                assert_eq!(out.grade_definition, gdef);
                assert_eq!(out.stage, stage);
                assert_eq!(out.stage_definition, sdef);
                // The same cell from the grade given directly.
                let direct = classify_texas(&TexasInput {
                    grade: Some(out.grade),
                    depth: None,
                    infection: inf,
                    ischaemia: isch,
                })
                .unwrap();
                assert_eq!(direct.class, expected_cells[n]);
                n += 1;
            }
        }
        assert_eq!(n, 16);
    }

    #[test]
    fn texas_rule_and_inputs() {
        let out = classify_texas(&texas(TexasDepth::BoneOrJoint, true, true)).unwrap();
        assert_eq!(out.class, "3D");
        assert!(out.explanation.rule.contains("depth bone_or_joint -> grade 3"));
        assert!(out.explanation.rule.contains("stage D (Infection and ischaemia)"));
        assert_eq!(out.explanation.inputs.len(), 3);
        assert!(out.explanation.flags.is_empty());
    }

    #[test]
    fn texas_errors_name_fields() {
        let e = classify_texas(&TexasInput { grade: Some(4), depth: None, infection: false, ischaemia: false })
            .unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("grade", Problem::OutOfRange));
        let e =
            classify_texas(&TexasInput { grade: None, depth: None, infection: false, ischaemia: false }).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("depth", Problem::Missing));
        let e = classify_texas(&TexasInput {
            grade: Some(1),
            depth: Some(TexasDepth::Superficial),
            infection: false,
            ischaemia: false,
        })
        .unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("grade", Problem::Inconsistent));
    }

    // ---- SINBAD ----

    fn sinbad_zero() -> SinbadInput {
        SinbadInput {
            site: SinbadSite::Forefoot,
            ischaemia: false,
            neuropathy: false,
            bacterial_infection: false,
            area_cm2: 0.5,
            depth: SinbadDepth::SkinOrSubcutaneous,
        }
    }

    fn points(out: &SinbadOutput, item: &str) -> u8 {
        out.items.iter().find(|i| i.item == item).unwrap().points
    }

    #[test]
    fn sinbad_each_item_both_sides() {
        let base = classify_sinbad(&sinbad_zero()).unwrap();
        assert_eq!(base.total, 0);
        assert_eq!(base.items.len(), 6);
        assert!(base.items.iter().all(|i| i.points == 0));

        type Edit = fn(&mut SinbadInput);
        let variants: [(&str, Edit); 8] = [
            ("site", |i| i.site = SinbadSite::Midfoot),
            ("site", |i| i.site = SinbadSite::Hindfoot),
            ("ischaemia", |i| i.ischaemia = true),
            ("neuropathy", |i| i.neuropathy = true),
            ("bacterial_infection", |i| i.bacterial_infection = true),
            ("area", |i| i.area_cm2 = 1.0),
            ("area", |i| i.area_cm2 = 250.0),
            ("depth", |i| i.depth = SinbadDepth::MuscleTendonOrDeeper),
        ];
        for (item, set) in variants {
            let mut input = sinbad_zero();
            set(&mut input);
            let out = classify_sinbad(&input).unwrap();
            assert_eq!(out.total, 1, "{item}");
            assert_eq!(points(&out, item), 1, "{item}");
        }
    }

    #[test]
    fn sinbad_area_boundary() {
        for (area, p) in [(0.0, 0), (0.99, 0), (0.999_999, 0), (1.0, 1), (1.01, 1)] {
            let out = classify_sinbad(&SinbadInput { area_cm2: area, ..sinbad_zero() }).unwrap();
            assert_eq!(points(&out, "area"), p, "area {area}");
        }
        let out = classify_sinbad(&SinbadInput { area_cm2: 1.0, ..sinbad_zero() }).unwrap();
        let area = out.items.iter().find(|i| i.item == "area").unwrap();
        assert_eq!((area.level, area.points), (">= 1 cm²", 1));
        assert_eq!(area.finding, "1 cm²");
    }

    #[test]
    fn sinbad_all_ones_and_caution_threshold() {
        let all = SinbadInput {
            site: SinbadSite::Midfoot,
            ischaemia: true,
            neuropathy: true,
            bacterial_infection: true,
            area_cm2: 1.5,
            depth: SinbadDepth::MuscleTendonOrDeeper,
        };
        let out = classify_sinbad(&all).unwrap();
        assert_eq!(out.total, 6);
        assert!(out.explanation.has_flag(FlagKind::Caution));

        let two = SinbadInput { ischaemia: true, neuropathy: true, ..sinbad_zero() };
        let out = classify_sinbad(&two).unwrap();
        assert_eq!(out.total, 2);
        assert!(out.explanation.flags.is_empty());

        let three = SinbadInput { bacterial_infection: true, ..two };
        let out = classify_sinbad(&three).unwrap();
        assert_eq!(out.total, 3);
        assert_eq!(out.explanation.flags.len(), 1);
        assert_eq!(out.explanation.flags[0].kind, FlagKind::Caution);
        assert!(out.explanation.flags[0].message.contains("slower healing"));
        assert!(out.explanation.rule.ends_with("total 3/6"));
    }

    #[test]
    fn sinbad_area_errors() {
        for (area, problem) in [
            (f64::NAN, Problem::NotANumber),
            (f64::INFINITY, Problem::NotANumber),
            (-0.1, Problem::OutOfRange),
            (2_000.1, Problem::OutOfRange),
        ] {
            let e = classify_sinbad(&SinbadInput { area_cm2: area, ..sinbad_zero() }).unwrap_err();
            assert_eq!((e.field.as_str(), e.problem), ("area_cm2", problem));
        }
    }

    #[test]
    fn sinbad_json_shape() {
        let i: SinbadInput = serde_json::from_str(
            r#"{"site":"hindfoot","ischaemia":false,"neuropathy":true,"bacterial_infection":false,
                "area_cm2":0.99,"depth":"muscle_tendon_or_deeper"}"#,
        )
        .unwrap();
        let v = serde_json::to_value(classify_sinbad(&i).unwrap()).unwrap();
        assert_eq!(v["total"], 3);
        assert_eq!(v["items"][0]["item"], "site");
        assert_eq!(v["items"][0]["points"], 1);
        assert_eq!(v["explanation"]["flags"][0]["kind"], "CAUTION");
    }

    fn ulcer_depth() -> impl Strategy<Value = Option<UlcerDepth>> {
        prop_oneof![Just(None), Just(Some(Superficial)), Just(Some(Deep))]
    }
    fn gangrene() -> impl Strategy<Value = Gangrene> {
        prop_oneof![Just(G::None), Just(G::Localised), Just(G::WholeFoot)]
    }

    proptest! {
        #[test]
        fn wagner_never_panics(grade in proptest::option::of(any::<u8>()),
                               f in proptest::option::of((any::<bool>(), ulcer_depth(), any::<bool>(), gangrene()))) {
            let input = WagnerInput {
                grade,
                findings: f.map(|(o, d, s, g)| WagnerFindings {
                    open_lesion: o, ulcer_depth: d, abscess_osteomyelitis_or_joint_sepsis: s, gangrene: g,
                }),
            };
            match classify_wagner(&input) {
                Ok(out) => {
                    prop_assert!(out.grade <= 5);
                    prop_assert!(input.grade.is_some() != input.findings.is_some());
                    if let Some(g) = input.grade { prop_assert_eq!(out.grade, g); }
                }
                Err(e) => prop_assert!(!e.field.is_empty()),
            }
            if let Some(g) = grade && g > 5 { prop_assert!(classify_wagner(&input).is_err()); }
        }

        #[test]
        fn texas_never_panics(grade in proptest::option::of(any::<u8>()), inf in any::<bool>(), isch in any::<bool>()) {
            let r = classify_texas(&TexasInput { grade, depth: None, infection: inf, ischaemia: isch });
            match grade {
                Some(g) if g <= 3 => prop_assert_eq!(r.unwrap().grade, g),
                _ => prop_assert!(r.is_err()),
            }
        }

        #[test]
        fn sinbad_never_panics(area in any::<f64>(), site in 0u8..3, flags in any::<[bool; 4]>()) {
            let input = SinbadInput {
                site: [SinbadSite::Forefoot, SinbadSite::Midfoot, SinbadSite::Hindfoot][usize::from(site)],
                ischaemia: flags[0],
                neuropathy: flags[1],
                bacterial_infection: flags[2],
                area_cm2: area,
                depth: if flags[3] { SinbadDepth::MuscleTendonOrDeeper } else { SinbadDepth::SkinOrSubcutaneous },
            };
            match classify_sinbad(&input) {
                Ok(out) => {
                    prop_assert!(area.is_finite() && (0.0..=2_000.0).contains(&area));
                    prop_assert!(out.total <= 6);
                    prop_assert_eq!(out.total, out.items.iter().map(|i| i.points).sum::<u8>());
                    prop_assert_eq!(out.explanation.has_flag(FlagKind::Caution), out.total >= 3);
                }
                Err(e) => {
                    prop_assert_eq!(e.field.as_str(), "area_cm2");
                    prop_assert!(!(area.is_finite() && (0.0..=2_000.0).contains(&area)));
                }
            }
        }

        #[test]
        fn json_with_random_strings_never_panics(s in ".{0,20}", n in any::<f64>()) {
            let n = if n.is_finite() { serde_json::json!(n) } else { serde_json::json!(null) };
            let sinbad = serde_json::json!({"site": s, "ischaemia": true, "neuropathy": false,
                "bacterial_infection": false, "area_cm2": n, "depth": s});
            if let Ok(i) = serde_json::from_value::<SinbadInput>(sinbad) { let _ = classify_sinbad(&i); }
            let texas = serde_json::json!({"depth": s, "infection": true, "ischaemia": false});
            if let Ok(i) = serde_json::from_value::<TexasInput>(texas) { let _ = classify_texas(&i); }
            let wagner = serde_json::json!({"findings": {"open_lesion": true, "ulcer_depth": s,
                "abscess_osteomyelitis_or_joint_sepsis": false, "gangrene": s}});
            if let Ok(i) = serde_json::from_value::<WagnerInput>(wagner) { let _ = classify_wagner(&i); }
            let _ = serde_json::from_str::<WagnerInput>(&s);
        }
    }
}
