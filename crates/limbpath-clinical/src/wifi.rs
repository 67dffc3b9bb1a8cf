//! SVS WIfI: Wound, Ischaemia and foot Infection grades, the clinical stage
//! (estimated 1-year amputation risk) and the benefit of revascularisation.
//!
//! Rules chosen where the reference leaves a choice (REFERENCES.md §1, §14):
//! - **Stage from the 64-cell table**, every cell listed; never from a sum or a
//!   formula (REFERENCES.md §13). Stage 5 (unsalvageable) is only ever a
//!   clinician override; the lookup never returns 5.
//! - **Ischaemia bands are continuous**, with the printed lower bound of each
//!   band as its edge: ABI I0 ≥0.80, I1 [0.60, 0.80), I2 [0.40, 0.60), I3 <0.40
//!   (PMC11279131 prints I3 as "<0.40"); TP/TcPO2 I0 ≥60, I1 [40, 60),
//!   I2 [30, 40), I3 <30. No rounding: an ABI of 0.795 is I1, never rounded up
//!   into I0, and is flagged `BetweenPrintedBands`.
//! - **Ankle pressure 70 mmHg** is claimed by I1 ("70–100") and I2 ("50–70"):
//!   it is graded **I2**, the more severe, so ischaemia is never under-called,
//!   and flagged `AmbiguousBoundary` (AMBIGUOUS_1_or_2 in tables/wifi.json).
//! - **Several measurements:** each is graded separately; the grade is the
//!   **worst** of the reliable ones, and the measurement that drove it is
//!   reported (toe pressure, then TcPO2, then ABI, then ankle pressure when
//!   several tie). Discordant grades are flagged; the unverified rule "TP is
//!   the primary determinant" is not applied.
//! - **Unreliable ABI:** when the ABI is >1.40 or the vessels are declared
//!   non-compressible, the ABI and the ankle pressure are set aside (flagged)
//!   and toe pressure or TcPO2 is required.
//! - **Revascularisation benefit** is the secondary consensus of three
//!   transcriptions; the six DISPUTED cells are flagged provisional with the
//!   dissenting value.

use crate::error::{InvalidInput, Result};
use crate::explain::{EvidenceStatus, Explain, Explanation, FlagKind, Section, Source, number};
use crate::infection::{self, InfectionDetail, InfectionFindings};
use crate::limits::{INDEX_RATIO, PRESSURE_MMHG, TCPO2_MMHG};
use serde::{Deserialize, Serialize};

// source: Mills JL Sr et al., J Vasc Surg 2014;59(1):220-234, doi:10.1016/j.jvs.2013.08.003; values = consensus of 8 independent transcriptions (REFERENCES.md §1.4) | status: VERIFIED; W0-I2-fI3 DISPUTED (4 used, ESC app says 3)
pub static WIFI_STAGE_SOURCE: Source = Source {
    id: "wifi.stage_matrix",
    citation: "Mills JL Sr et al. SVS WIfI. J Vasc Surg 2014;59(1):220-234, doi:10.1016/j.jvs.2013.08.003; cells = consensus of 8 independent transcriptions",
    reference: "REFERENCES.md §1.4, tables/wifi.json",
    status: EvidenceStatus::Verified,
    status_note: "63 of 64 cells verified; W0-I2-fI3 DISPUTED (4 used, ESC 2017 app says 3); primary figure not yet checked",
};

// source: Mills 2014 benefit-of-revascularisation matrix; secondary consensus of S2, S3, S4 (REFERENCES.md §1.5) | status: SECONDARY_CONSENSUS; 6 cells DISPUTED
pub static WIFI_REVASC_SOURCE: Source = Source {
    id: "wifi.revascularisation_benefit",
    citation: "Mills JL Sr et al. SVS WIfI. J Vasc Surg 2014;59(1):220-234 (benefit of revascularisation, assuming infection can be controlled first); secondary consensus of 3 transcriptions",
    reference: "REFERENCES.md §1.5, tables/wifi.json",
    status: EvidenceStatus::SecondaryConsensus,
    status_note: "6 cells DISPUTED (I1 W1-3 fI0: S4 says VL; I3 W1-3 fI0: S2 says M)",
};

// source: Mills 2014 wound grades via idwiki, Medscape, PMC6200626 T1, BMJ Best Practice, PMC11279131 T2 (REFERENCES.md §1.1) | status: VERIFIED
pub static WIFI_WOUND_SOURCE: Source = Source {
    id: "wifi.wound",
    citation: "Mills JL Sr et al. SVS WIfI. J Vasc Surg 2014;59(1):220-234 (wound grade)",
    reference: "REFERENCES.md §1.1",
    status: EvidenceStatus::Verified,
    status_note: "",
};

// source: Mills 2014 ischaemia grades via the §1.1 sources, PMC11279131 Table 2 and the ESC 2017 app (REFERENCES.md §1.2) | status: VERIFIED; 70 mmHg ankle pressure AMBIGUOUS_1_or_2
pub static WIFI_ISCHAEMIA_SOURCE: Source = Source {
    id: "wifi.ischaemia",
    citation: "Mills JL Sr et al. SVS WIfI. J Vasc Surg 2014;59(1):220-234 (ischaemia grade); PMC11279131 Table 2",
    reference: "REFERENCES.md §1.2",
    status: EvidenceStatus::Verified,
    status_note: "ankle pressure 70 mmHg is claimed by I1 and I2 (graded I2, flagged)",
};

// source: Zhan LX et al., J Vasc Surg 2016;63:1563 (PMID 27036309); PMID 28410924 (REFERENCES.md §1.6) | status: VERIFIED as a concept; not a matrix cell
pub static WIFI_STAGE5_SOURCE: Source = Source {
    id: "wifi.stage5",
    citation: "Zhan LX et al. J Vasc Surg 2016;63:1563 (PMID 27036309): stage 5 = unsalvageable foot, a clinical judgement",
    reference: "REFERENCES.md §1.6",
    status: EvidenceStatus::Verified,
    status_note: "a clinician override, never produced by the W/I/fI lookup",
};

// ---------------------------------------------------------------------------
// Stage and revascularisation-benefit table: 64 cells, every one explicit.
// ---------------------------------------------------------------------------

/// Estimated 1-year amputation risk for a clinical stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AmputationRisk {
    VeryLow,
    Low,
    Moderate,
    High,
    /// Stage 5, by clinician override.
    Unsalvageable,
}

impl AmputationRisk {
    pub fn label(self) -> &'static str {
        match self {
            AmputationRisk::VeryLow => "very low",
            AmputationRisk::Low => "low",
            AmputationRisk::Moderate => "moderate",
            AmputationRisk::High => "high",
            AmputationRisk::Unsalvageable => "unsalvageable (clinician judgement)",
        }
    }
}

// Stage → 1-year amputation risk: VL=1, L=2, M=3, H=4 (REFERENCES.md §1.4;
// confirmed by medcalcu and a Brazilian dissertation) | status: VERIFIED
const STAGE_RISK: [AmputationRisk; 4] =
    [AmputationRisk::VeryLow, AmputationRisk::Low, AmputationRisk::Moderate, AmputationRisk::High];

/// Benefit of, or requirement for, revascularisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Benefit {
    VeryLow,
    Low,
    Moderate,
    High,
}

impl Benefit {
    pub fn label(self) -> &'static str {
        match self {
            Benefit::VeryLow => "very low",
            Benefit::Low => "low",
            Benefit::Moderate => "moderate",
            Benefit::High => "high",
        }
    }
}

/// A source that disagrees with the stage used for a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Dissent {
    pub source: &'static str,
    pub value: u8,
}

/// A source that disagrees with the revascularisation benefit used for a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BenefitDissent {
    pub source: &'static str,
    pub value: Benefit,
}

/// One cell of the WIfI tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WifiCell {
    pub wound: u8,
    pub ischaemia: u8,
    pub infection: u8,
    pub stage: u8,
    pub benefit: Benefit,
    pub stage_dissent: Option<Dissent>,
    pub benefit_dissent: Option<BenefitDissent>,
}

const fn cell(
    wound: u8,
    ischaemia: u8,
    infection: u8,
    stage: u8,
    benefit: Benefit,
    stage_dissent: Option<Dissent>,
    benefit_dissent: Option<BenefitDissent>,
) -> WifiCell {
    WifiCell { wound, ischaemia, infection, stage, benefit, stage_dissent, benefit_dissent }
}

// source: Mills JL Sr et al., J Vasc Surg 2014;59(1):220-234, doi:10.1016/j.jvs.2013.08.003; values = consensus of 8 independent transcriptions (REFERENCES.md §1.4) | status: VERIFIED; W0-I2-fI3 DISPUTED (4 used, ESC app says 3)
// benefit: REFERENCES.md §1.5, secondary consensus of S2, S3, S4 | status: SECONDARY_CONSENSUS; 6 cells DISPUTED
// Transcribed from tables/wifi.json. Order: ischaemia, then wound, then infection
// (index = 16·I + 4·W + fI); a test checks every index against its coordinates.
// cell(W, I, fI, stage, revascularisation benefit, stage dissent, benefit dissent)
pub const WIFI_TABLE: [WifiCell; 64] = [
    cell(0, 0, 0, 1, Benefit::VeryLow, None, None),
    cell(0, 0, 1, 1, Benefit::VeryLow, None, None),
    cell(0, 0, 2, 2, Benefit::VeryLow, None, None),
    cell(0, 0, 3, 3, Benefit::VeryLow, None, None),
    cell(1, 0, 0, 1, Benefit::VeryLow, None, None),
    cell(1, 0, 1, 1, Benefit::VeryLow, None, None),
    cell(1, 0, 2, 2, Benefit::VeryLow, None, None),
    cell(1, 0, 3, 3, Benefit::VeryLow, None, None),
    cell(2, 0, 0, 2, Benefit::VeryLow, None, None),
    cell(2, 0, 1, 2, Benefit::VeryLow, None, None),
    cell(2, 0, 2, 3, Benefit::VeryLow, None, None),
    cell(2, 0, 3, 4, Benefit::VeryLow, None, None),
    cell(3, 0, 0, 3, Benefit::VeryLow, None, None),
    cell(3, 0, 1, 3, Benefit::VeryLow, None, None),
    cell(3, 0, 2, 4, Benefit::VeryLow, None, None),
    cell(3, 0, 3, 4, Benefit::VeryLow, None, None),
    cell(0, 1, 0, 1, Benefit::VeryLow, None, None),
    cell(0, 1, 1, 2, Benefit::Low, None, None),
    cell(0, 1, 2, 3, Benefit::Low, None, None),
    cell(0, 1, 3, 4, Benefit::Moderate, None, None),
    cell(1, 1, 0, 1, Benefit::Low, None, Some(BenefitDissent { source: "S4", value: Benefit::VeryLow })),
    cell(1, 1, 1, 2, Benefit::Moderate, None, None),
    cell(1, 1, 2, 3, Benefit::Moderate, None, None),
    cell(1, 1, 3, 4, Benefit::Moderate, None, None),
    cell(2, 1, 0, 3, Benefit::Moderate, None, Some(BenefitDissent { source: "S4", value: Benefit::VeryLow })),
    cell(2, 1, 1, 3, Benefit::Moderate, None, None),
    cell(2, 1, 2, 4, Benefit::High, None, None),
    cell(2, 1, 3, 4, Benefit::High, None, None),
    cell(3, 1, 0, 4, Benefit::Moderate, None, Some(BenefitDissent { source: "S4", value: Benefit::VeryLow })),
    cell(3, 1, 1, 4, Benefit::Moderate, None, None),
    cell(3, 1, 2, 4, Benefit::Moderate, None, None),
    cell(3, 1, 3, 4, Benefit::High, None, None),
    cell(0, 2, 0, 2, Benefit::Low, None, None),
    cell(0, 2, 1, 2, Benefit::Low, None, None),
    cell(0, 2, 2, 3, Benefit::Moderate, None, None),
    cell(0, 2, 3, 4, Benefit::Moderate, Some(Dissent { source: "S1", value: 3 }), None),
    cell(1, 2, 0, 2, Benefit::Moderate, None, None),
    cell(1, 2, 1, 3, Benefit::High, None, None),
    cell(1, 2, 2, 4, Benefit::High, None, None),
    cell(1, 2, 3, 4, Benefit::High, None, None),
    cell(2, 2, 0, 3, Benefit::High, None, None),
    cell(2, 2, 1, 4, Benefit::High, None, None),
    cell(2, 2, 2, 4, Benefit::High, None, None),
    cell(2, 2, 3, 4, Benefit::High, None, None),
    cell(3, 2, 0, 4, Benefit::High, None, None),
    cell(3, 2, 1, 4, Benefit::High, None, None),
    cell(3, 2, 2, 4, Benefit::High, None, None),
    cell(3, 2, 3, 4, Benefit::High, None, None),
    cell(0, 3, 0, 2, Benefit::Moderate, None, None),
    cell(0, 3, 1, 3, Benefit::High, None, None),
    cell(0, 3, 2, 3, Benefit::High, None, None),
    cell(0, 3, 3, 4, Benefit::High, None, None),
    cell(1, 3, 0, 3, Benefit::High, None, Some(BenefitDissent { source: "S2", value: Benefit::Moderate })),
    cell(1, 3, 1, 3, Benefit::High, None, None),
    cell(1, 3, 2, 4, Benefit::High, None, None),
    cell(1, 3, 3, 4, Benefit::High, None, None),
    cell(2, 3, 0, 4, Benefit::High, None, Some(BenefitDissent { source: "S2", value: Benefit::Moderate })),
    cell(2, 3, 1, 4, Benefit::High, None, None),
    cell(2, 3, 2, 4, Benefit::High, None, None),
    cell(2, 3, 3, 4, Benefit::High, None, None),
    cell(3, 3, 0, 4, Benefit::High, None, Some(BenefitDissent { source: "S2", value: Benefit::Moderate })),
    cell(3, 3, 1, 4, Benefit::High, None, None),
    cell(3, 3, 2, 4, Benefit::High, None, None),
    cell(3, 3, 3, 4, Benefit::High, None, None),
];

/// Look up the cell for a W/I/fI combination; grades must be 0–3.
pub fn cell_for(wound: u8, ischaemia: u8, infection: u8) -> Result<&'static WifiCell> {
    let w = crate::limits::check_grade("wound_grade", wound, 0, 3)?;
    let i = crate::limits::check_grade("ischaemia_grade", ischaemia, 0, 3)?;
    let fi = crate::limits::check_grade("infection_grade", infection, 0, 3)?;
    let index = usize::from(i) * 16 + usize::from(w) * 4 + usize::from(fi);
    WIFI_TABLE
        .get(index)
        .filter(|c| c.wound == w && c.ischaemia == i && c.infection == fi)
        .ok_or_else(|| InvalidInput::out_of_range("wound_grade", w, "grades W0-3, I0-3, fI0-3"))
}

// ---------------------------------------------------------------------------
// Wound grade W0–W3 from findings (REFERENCES.md §1.1).
// ---------------------------------------------------------------------------

/// The ulcer, excluding the heel (heel ulcers are described by [`HeelUlcer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ulcer {
    None,
    /// Small, shallow ulcer(s) on the distal leg or foot.
    Shallow,
    /// Exposed bone limited to the distal phalanx.
    ExposedBoneDistalPhalanx,
    /// Deeper ulcer with exposed bone, joint or tendon.
    Deep,
    /// Extensive, deep ulcer involving the forefoot and/or midfoot.
    ExtensiveDeep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeelUlcer {
    None,
    /// Shallow heel ulcer without calcaneal involvement.
    Shallow,
    /// Deep, full-thickness heel ulcer ± calcaneal involvement.
    Deep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gangrene {
    None,
    /// Gangrene limited to digits.
    Digits,
    /// Extensive gangrene of the forefoot and/or midfoot.
    Extensive,
    /// Full-thickness heel necrosis ± calcaneal involvement.
    HeelNecrosis,
}

impl Ulcer {
    /// The JSON / CLI word.
    pub fn code(self) -> &'static str {
        match self {
            Ulcer::None => "none",
            Ulcer::Shallow => "shallow",
            Ulcer::ExposedBoneDistalPhalanx => "exposed_bone_distal_phalanx",
            Ulcer::Deep => "deep",
            Ulcer::ExtensiveDeep => "extensive_deep",
        }
    }
}

impl HeelUlcer {
    pub fn code(self) -> &'static str {
        match self {
            HeelUlcer::None => "none",
            HeelUlcer::Shallow => "shallow",
            HeelUlcer::Deep => "deep",
        }
    }
}

impl Gangrene {
    pub fn code(self) -> &'static str {
        match self {
            Gangrene::None => "none",
            Gangrene::Digits => "digits",
            Gangrene::Extensive => "extensive",
            Gangrene::HeelNecrosis => "heel_necrosis",
        }
    }
}

// W grade reached by each finding, with the printed definition it matches.
// source: REFERENCES.md §1.1 (Mills 2014 via idwiki, Medscape, PMC6200626 T1, PMC11279131 T2) | status: VERIFIED
const ULCER_GRADES: [(Ulcer, u8, &str); 5] = [
    (Ulcer::None, 0, "no ulcer"),
    (Ulcer::Shallow, 1, "small, shallow ulcer on the distal leg or foot (W1)"),
    (Ulcer::ExposedBoneDistalPhalanx, 1, "exposed bone limited to the distal phalanx (W1)"),
    (Ulcer::Deep, 2, "deeper ulcer with exposed bone, joint or tendon (W2)"),
    (Ulcer::ExtensiveDeep, 3, "extensive, deep ulcer involving the forefoot and/or midfoot (W3)"),
];
const HEEL_GRADES: [(HeelUlcer, u8, &str); 3] = [
    (HeelUlcer::None, 0, "no heel ulcer"),
    (HeelUlcer::Shallow, 2, "shallow heel ulcer without calcaneal involvement (W2)"),
    (HeelUlcer::Deep, 3, "deep, full-thickness heel ulcer ± calcaneal involvement (W3)"),
];
const GANGRENE_GRADES: [(Gangrene, u8, &str); 4] = [
    (Gangrene::None, 0, "no gangrene"),
    (Gangrene::Digits, 2, "gangrene limited to digits (W2)"),
    (Gangrene::Extensive, 3, "extensive gangrene of the forefoot and/or midfoot (W3)"),
    (Gangrene::HeelNecrosis, 3, "full-thickness heel necrosis ± calcaneal involvement (W3)"),
];

fn lookup<T: PartialEq + Copy>(table: &[(T, u8, &'static str)], key: T) -> (u8, &'static str) {
    table.iter().find(|(k, _, _)| *k == key).map_or((0, ""), |(_, g, d)| (*g, *d))
}

/// Wound findings for the W grade.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WoundFindings {
    pub ulcer: Ulcer,
    pub heel: HeelUlcer,
    pub gangrene: Gangrene,
    /// Ischaemic rest pain with typical symptoms (matters only for W0).
    #[serde(default)]
    pub rest_pain: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradeResult {
    pub grade: u8,
    pub explanation: Explanation,
}

pub fn wound_grade(f: &WoundFindings) -> GradeResult {
    let parts = [
        ("ulcer", lookup(&ULCER_GRADES, f.ulcer)),
        ("heel", lookup(&HEEL_GRADES, f.heel)),
        ("gangrene", lookup(&GANGRENE_GRADES, f.gangrene)),
    ];
    let grade = parts.iter().map(|(_, (g, _))| *g).max().unwrap_or(0);
    let drivers: Vec<&str> =
        parts.iter().filter(|(_, (g, _))| *g == grade && grade > 0).map(|(_, (_, d))| *d).collect();
    let rule = if grade == 0 {
        "W0: no ulcer and no gangrene".to_owned()
    } else {
        format!("W{grade}: {}", drivers.join("; "))
    };
    let e = Explanation::new(&WIFI_WOUND_SOURCE, rule)
        .input("ulcer", f.ulcer.code())
        .input("heel", f.heel.code())
        .input("gangrene", f.gangrene.code())
        .input("rest_pain", f.rest_pain);
    GradeResult { grade, explanation: e }
}

// ---------------------------------------------------------------------------
// Ischaemia grade I0–I3 (REFERENCES.md §1.2).
// ---------------------------------------------------------------------------

/// A perfusion measurement used for the ischaemia grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measurement {
    ToePressure,
    Tcpo2,
    Abi,
    AnklePressure,
}

impl Measurement {
    pub fn label(self) -> &'static str {
        match self {
            Measurement::ToePressure => "toe pressure",
            Measurement::Tcpo2 => "TcPO2",
            Measurement::Abi => "ABI",
            Measurement::AnklePressure => "ankle systolic pressure",
        }
    }
    fn field(self) -> &'static str {
        match self {
            Measurement::ToePressure => "toe_pressure_mmhg",
            Measurement::Tcpo2 => "tcpo2_mmhg",
            Measurement::Abi => "abi",
            Measurement::AnklePressure => "ankle_pressure_mmhg",
        }
    }
}

/// One ischaemia band: the grade, its lower edge, whether the edge is
/// inclusive, and the band as printed.
#[derive(Debug, Clone, Copy)]
struct Band {
    grade: u8,
    from: f64,
    inclusive: bool,
    printed: &'static str,
}

// source: Mills JL Sr et al., J Vasc Surg 2014;59(1):220-234 (REFERENCES.md §1.2, tables/wifi.json ischaemia_thresholds) | status: VERIFIED
// Checked top-down; below the last band is I3.
const ABI_BANDS: [Band; 3] = [
    Band { grade: 0, from: 0.80, inclusive: true, printed: "≥0.80" },
    Band { grade: 1, from: 0.60, inclusive: true, printed: "0.60–0.79" },
    Band { grade: 2, from: 0.40, inclusive: true, printed: "0.40–0.59" },
];
const ABI_I3_PRINTED: &str = "≤0.39";
// Ankle pressure: 70 mmHg is printed in both I1 (70–100) and I2 (50–70); graded I2 (documented rule).
const ANKLE_BANDS: [Band; 3] = [
    Band { grade: 0, from: 100.0, inclusive: false, printed: ">100 mmHg" },
    Band { grade: 1, from: 70.0, inclusive: false, printed: "70–100 mmHg" },
    Band { grade: 2, from: 50.0, inclusive: true, printed: "50–70 mmHg" },
];
const ANKLE_I3_PRINTED: &str = "<50 mmHg";
const ANKLE_AMBIGUOUS_MMHG: f64 = 70.0;
const TOE_BANDS: [Band; 3] = [
    Band { grade: 0, from: 60.0, inclusive: true, printed: "≥60 mmHg" },
    Band { grade: 1, from: 40.0, inclusive: true, printed: "40–59 mmHg" },
    Band { grade: 2, from: 30.0, inclusive: true, printed: "30–39 mmHg" },
];
const TOE_I3_PRINTED: &str = "<30 mmHg";
// Gaps between printed bands (values strictly inside are placed by the lower edge, flagged).
const ABI_PRINTED_GAPS: [(f64, f64); 3] = [(0.79, 0.80), (0.59, 0.60), (0.39, 0.40)];
const TOE_PRINTED_GAPS: [(f64, f64); 3] = [(59.0, 60.0), (39.0, 40.0), (29.0, 30.0)];

fn band_grade(value: f64, bands: &[Band; 3], i3_printed: &'static str) -> (u8, &'static str) {
    for b in bands {
        if value > b.from || (b.inclusive && value == b.from) {
            return (b.grade, b.printed);
        }
    }
    (3, i3_printed)
}

/// Perfusion measurements for the ischaemia grade.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IschaemiaMeasurements {
    pub abi: Option<f64>,
    pub ankle_pressure_mmhg: Option<f64>,
    pub toe_pressure_mmhg: Option<f64>,
    pub tcpo2_mmhg: Option<f64>,
    /// Vessels declared non-compressible (calcified): ABI and ankle pressure are unreliable.
    #[serde(default)]
    pub non_compressible: bool,
    /// Diabetes: toe pressure or TcPO2 should be measured.
    #[serde(default)]
    pub diabetes: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradedMeasurement {
    pub measurement: Measurement,
    pub value: f64,
    pub grade: u8,
    /// The band as printed, e.g. "0.40–0.59".
    pub band: &'static str,
    /// False when set aside as unreliable.
    pub used: bool,
}

/// How the ischaemia grade was reached from measurements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IschaemiaDetail {
    /// The measurement that drove the grade.
    pub driven_by: Measurement,
    /// Every measurement given, graded, and whether it was used.
    pub measurements: Vec<GradedMeasurement>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IschaemiaResult {
    pub grade: u8,
    #[serde(flatten)]
    pub detail: IschaemiaDetail,
    pub explanation: Explanation,
}

/// Grade ischaemia from whichever measurements are available.
pub fn ischaemia_grade(m: &IschaemiaMeasurements) -> Result<IschaemiaResult> {
    let abi = INDEX_RATIO.check_opt("abi", m.abi)?;
    let ankle = PRESSURE_MMHG.check_opt("ankle_pressure_mmhg", m.ankle_pressure_mmhg)?;
    let toe = PRESSURE_MMHG.check_opt("toe_pressure_mmhg", m.toe_pressure_mmhg)?;
    let tcpo2 = TCPO2_MMHG.check_opt("tcpo2_mmhg", m.tcpo2_mmhg)?;

    let abi_unreliable = m.non_compressible || abi.is_some_and(crate::perfusion::abi_unreliable);
    let mut graded: Vec<GradedMeasurement> = Vec::with_capacity(4);
    let mut flags: Vec<(FlagKind, String)> = Vec::new();
    // Preference order when grades tie: toe pressure, TcPO2, ABI, ankle pressure.
    let candidates = [
        (Measurement::ToePressure, toe, &TOE_BANDS, TOE_I3_PRINTED, true),
        (Measurement::Tcpo2, tcpo2, &TOE_BANDS, TOE_I3_PRINTED, true),
        (Measurement::Abi, abi, &ABI_BANDS, ABI_I3_PRINTED, !abi_unreliable),
        (Measurement::AnklePressure, ankle, &ANKLE_BANDS, ANKLE_I3_PRINTED, !abi_unreliable),
    ];
    for (measurement, value, bands, i3, reliable) in candidates {
        let Some(value) = value else { continue };
        let (grade, band) = band_grade(value, bands, i3);
        graded.push(GradedMeasurement { measurement, value, grade, band, used: reliable });
        if !reliable {
            continue;
        }
        let gaps: &[(f64, f64)] = match measurement {
            Measurement::Abi => &ABI_PRINTED_GAPS,
            Measurement::ToePressure | Measurement::Tcpo2 => &TOE_PRINTED_GAPS,
            Measurement::AnklePressure => &[],
        };
        if let Some((lo, hi)) = gaps.iter().find(|(lo, hi)| value > *lo && value < *hi) {
            flags.push((
                FlagKind::BetweenPrintedBands,
                format!(
                    "{} {} lies between the printed bands {lo} and {hi}: graded on continuous bands (lower edge {hi} belongs to the milder band), so I{grade}",
                    measurement.label(),
                    number(value)
                ),
            ));
        }
        if measurement == Measurement::AnklePressure && value == ANKLE_AMBIGUOUS_MMHG {
            flags.push((
                FlagKind::AmbiguousBoundary,
                "ankle pressure 70 mmHg is printed in both I1 (70–100) and I2 (50–70): graded I2, the more severe (AMBIGUOUS_1_or_2)".to_owned(),
            ));
        }
    }

    let any_reliable = graded.iter().any(|g| g.used);
    if !any_reliable {
        return Err(if graded.is_empty() {
            InvalidInput::missing(
                "toe_pressure_mmhg",
                "at least one of abi, ankle_pressure_mmhg, toe_pressure_mmhg or tcpo2_mmhg (or an ischaemia grade 0-3)",
            )
        } else {
            InvalidInput::missing(
                "toe_pressure_mmhg",
                "toe_pressure_mmhg or tcpo2_mmhg: the ABI is over 1.40 or the vessels are non-compressible, so the ABI and ankle pressure cannot grade ischaemia",
            )
        });
    }
    // Worst reliable grade; first in preference order among ties.
    let grade = graded.iter().filter(|g| g.used).map(|g| g.grade).max().unwrap_or(0);
    let driver = graded.iter().find(|g| g.used && g.grade == grade).map_or(Measurement::Abi, |g| g.measurement);

    let driver_m = graded.iter().find(|g| g.measurement == driver);
    let rule = match driver_m {
        Some(d) => format!(
            "I{grade}: {} {} is in the I{grade} band {}; the worst grade of the reliable measurements is used",
            d.measurement.label(),
            number(d.value),
            d.band
        ),
        None => format!("I{grade}"),
    };
    let mut e = Explanation::new(&WIFI_ISCHAEMIA_SOURCE, rule);
    for g in &graded {
        e.push_input(g.measurement.field(), g.value);
    }
    e.push_input("non_compressible", m.non_compressible);
    e.push_input("diabetes", m.diabetes);
    if abi_unreliable {
        let why =
            if m.non_compressible { "vessels declared non-compressible" } else { "ABI over 1.40 (non-compressible)" };
        for g in graded.iter().filter(|g| !g.used) {
            e.push_flag(
                FlagKind::MeasurementExcluded,
                format!("{} {} set aside: {why}", g.measurement.label(), number(g.value)),
            );
        }
    }
    let used_grades: Vec<String> = graded
        .iter()
        .filter(|g| g.used)
        .map(|g| format!("{} {} → I{}", g.measurement.label(), number(g.value), g.grade))
        .collect();
    if graded.iter().filter(|g| g.used).any(|g| g.grade != grade) {
        e.push_flag(
            FlagKind::DiscordantMeasurements,
            format!("measurements disagree ({}); the worst grade is used", used_grades.join(", ")),
        );
    }
    for (kind, message) in flags {
        e.push_flag(kind, message);
    }
    if m.diabetes && toe.is_none() && tcpo2.is_none() {
        e.push_flag(
            FlagKind::Review,
            "diabetes: toe pressure or TcPO2 is recommended, since the ABI can be falsely normal with calcified vessels",
        );
    }
    Ok(IschaemiaResult { grade, detail: IschaemiaDetail { driven_by: driver, measurements: graded }, explanation: e })
}

// ---------------------------------------------------------------------------
// The WIfI classification.
// ---------------------------------------------------------------------------

/// WIfI input: each component given as a grade, or as findings to grade.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WifiInput {
    pub wound_grade: Option<u8>,
    pub wound: Option<WoundFindings>,
    pub ischaemia_grade: Option<u8>,
    pub ischaemia: Option<IschaemiaMeasurements>,
    pub infection_grade: Option<u8>,
    pub infection: Option<InfectionFindings>,
    /// Clinician's judgement that the foot is unsalvageable: stage 5.
    #[serde(default)]
    pub stage5_unsalvageable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageResult {
    /// 1–4 from the table, or 5 by clinician override.
    pub stage: u8,
    /// What the table gives for this W/I/fI cell (1–4).
    pub table_stage: u8,
    pub amputation_risk: AmputationRisk,
    pub disputed: bool,
    pub explanation: Explanation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenefitResult {
    pub benefit: Benefit,
    /// True where the reference marks the cell DISPUTED.
    pub provisional: bool,
    pub dissent: Option<BenefitDissent>,
    pub explanation: Explanation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WifiResult {
    /// "W2 I3 fI1".
    pub code: String,
    pub wound: GradeResult,
    pub ischaemia: GradeResult,
    /// Present when the ischaemia grade was derived from measurements.
    pub ischaemia_detail: Option<IschaemiaDetail>,
    pub infection: GradeResult,
    /// Present when the infection grade was derived from findings.
    pub infection_detail: Option<InfectionDetail>,
    pub stage: StageResult,
    pub revascularisation_benefit: BenefitResult,
}

fn one_of<'a, T>(
    field: &str,
    findings_field: &str,
    grade: Option<u8>,
    findings: Option<&'a T>,
    accepted: &str,
) -> Result<Either<'a, T>> {
    match (grade, findings) {
        (Some(_), Some(_)) => Err(InvalidInput::inconsistent(
            field,
            "given twice",
            format!("give either {field} or {findings_field}, not both"),
        )),
        (Some(g), None) => Ok(Either::Grade(g)),
        (None, Some(f)) => Ok(Either::Findings(f)),
        (None, None) => Err(InvalidInput::missing(field, accepted)),
    }
}

enum Either<'a, T> {
    Grade(u8),
    Findings(&'a T),
}

fn given(field: &'static str, grade: u8, source: &'static Source, letter: &str) -> Result<GradeResult> {
    let g = crate::limits::check_grade(field, grade, 0, 3)?;
    Ok(GradeResult {
        grade: g,
        explanation: Explanation::new(source, format!("{letter}{g}: grade given by the clinician")).input(field, g),
    })
}

/// Classify a limb with WIfI.
pub fn classify(input: &WifiInput) -> Result<WifiResult> {
    let wound = match one_of(
        "wound_grade",
        "wound",
        input.wound_grade,
        input.wound.as_ref(),
        "a wound grade 0-3 or wound findings",
    )? {
        Either::Grade(g) => given("wound_grade", g, &WIFI_WOUND_SOURCE, "W")?,
        Either::Findings(f) => wound_grade(f),
    };
    let (ischaemia, ischaemia_detail) = match one_of(
        "ischaemia_grade",
        "ischaemia",
        input.ischaemia_grade,
        input.ischaemia.as_ref(),
        "an ischaemia grade 0-3 or perfusion measurements (abi, ankle_pressure_mmhg, toe_pressure_mmhg, tcpo2_mmhg)",
    )? {
        Either::Grade(g) => (given("ischaemia_grade", g, &WIFI_ISCHAEMIA_SOURCE, "I")?, None),
        Either::Findings(m) => {
            let r = ischaemia_grade(m).map_err(|e| e.within("ischaemia"))?;
            (GradeResult { grade: r.grade, explanation: r.explanation }, Some(r.detail))
        }
    };
    let (infection, infection_detail) = match one_of(
        "infection_grade",
        "infection",
        input.infection_grade,
        input.infection.as_ref(),
        "a foot-infection grade 0-3 or infection findings",
    )? {
        Either::Grade(g) => (given("infection_grade", g, &infection::WIFI_INFECTION_SOURCE, "fI")?, None),
        Either::Findings(f) => {
            let r = infection::classify(f).map_err(|e| e.within("infection"))?;
            (GradeResult { grade: r.grade, explanation: r.explanation }, Some(r.detail))
        }
    };
    let mut wound = wound;
    if input.wound.as_ref().is_some_and(|f| f.rest_pain) && wound.grade == 0 {
        if ischaemia.grade == 3 {
            wound
                .explanation
                .push_flag(FlagKind::Review, "W0 with ischaemic rest pain and I3: qualifies as a threatened limb");
        } else {
            wound.explanation.push_flag(
                FlagKind::Review,
                format!("ischaemic rest pain qualifies for WIfI W0 only with typical symptoms and I3; ischaemia here is I{}", ischaemia.grade),
            );
        }
    }

    let (w, i, fi) = (wound.grade, ischaemia.grade, infection.grade);
    let c = cell_for(w, i, fi)?;
    let code = format!("W{w} I{i} fI{fi}");
    let table_stage = c.stage;
    let table_risk = STAGE_RISK[usize::from(table_stage.saturating_sub(1)).min(3)];
    let mut se = Explanation::new(
        &WIFI_STAGE_SOURCE,
        format!(
            "{code} → clinical stage {table_stage} ({} estimated 1-year amputation risk), table cell I{i} row W{w} column fI{fi}",
            table_risk.label()
        ),
    )
    .input("wound_grade", w)
    .input("ischaemia_grade", i)
    .input("infection_grade", fi)
    .input("stage5_unsalvageable", input.stage5_unsalvageable);
    if let Some(d) = c.stage_dissent {
        se.push_flag(
            FlagKind::Disputed,
            format!(
                "cell {code} is DISPUTED: the majority of transcriptions give stage {table_stage}, {} (ESC 2017 app) gives {}; re-check against Mills 2014",
                d.source, d.value
            ),
        );
    }
    let (stage, risk) = if input.stage5_unsalvageable {
        se.source = &WIFI_STAGE5_SOURCE;
        se.rule = format!(
            "stage 5 (unsalvageable foot) by clinician override; the table gives stage {table_stage} for {code}"
        );
        se.push_flag(
            FlagKind::ClinicianOverride,
            "stage 5 is a clinical judgement set by a clinician, not a table cell",
        );
        (5, AmputationRisk::Unsalvageable)
    } else {
        (table_stage, table_risk)
    };
    let disputed = c.stage_dissent.is_some();

    let mut be = Explanation::new(
        &WIFI_REVASC_SOURCE,
        format!(
            "{code} → {} benefit of (or requirement for) revascularisation, assuming the infection can be controlled first",
            c.benefit.label()
        ),
    )
    .input("wound_grade", w)
    .input("ischaemia_grade", i)
    .input("infection_grade", fi);
    if let Some(d) = c.benefit_dissent {
        be.push_flag(
            FlagKind::Provisional,
            "this cell is DISPUTED between transcriptions: treat the label as provisional",
        );
        be.push_flag(
            FlagKind::Disputed,
            format!("majority {} (S3 and one other); {} gives {}", c.benefit.label(), d.source, d.value.label()),
        );
    }

    Ok(WifiResult {
        code,
        wound,
        ischaemia,
        ischaemia_detail,
        infection,
        infection_detail,
        stage: StageResult { stage, table_stage, amputation_risk: risk, disputed, explanation: se },
        revascularisation_benefit: BenefitResult {
            benefit: c.benefit,
            provisional: c.benefit_dissent.is_some(),
            dissent: c.benefit_dissent,
            explanation: be,
        },
    })
}

impl Explain for WifiResult {
    fn sections(&self) -> Vec<Section<'_>> {
        let mut out = vec![
            Section {
                label: "WIfI clinical stage",
                result: format!(
                    "stage {} ({}): {} 1-year amputation risk",
                    self.stage.stage,
                    self.code,
                    self.stage.amputation_risk.label()
                ),
                explanation: &self.stage.explanation,
            },
            Section {
                label: "WIfI revascularisation benefit",
                result: format!(
                    "{}{}",
                    self.revascularisation_benefit.benefit.label(),
                    if self.revascularisation_benefit.provisional { " (provisional: disputed cell)" } else { "" }
                ),
                explanation: &self.revascularisation_benefit.explanation,
            },
            Section {
                label: "WIfI wound grade",
                result: format!("W{}", self.wound.grade),
                explanation: &self.wound.explanation,
            },
            Section {
                label: "WIfI ischaemia grade",
                result: format!("I{}", self.ischaemia.grade),
                explanation: &self.ischaemia.explanation,
            },
            Section {
                label: "WIfI foot infection grade",
                result: format!("fI{}", self.infection.grade),
                explanation: &self.infection.explanation,
            },
        ];
        if let Some(d) = &self.infection_detail {
            out.push(Section {
                label: "IWGDF/IDSA infection grade",
                result: d.iwgdf.label.clone(),
                explanation: &d.iwgdf.explanation,
            });
        }
        out
    }
}

#[cfg(test)]
#[path = "wifi_tests.rs"]
mod tests;
