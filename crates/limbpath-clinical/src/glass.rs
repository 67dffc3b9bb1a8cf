//! GLASS (Global Limb Anatomic Staging System, Global Vascular Guidelines 2019):
//! the femoropopliteal (FP) and infrapopliteal (IP) grades 0-4, the severe
//! calcification modifier, the inframalleolar (IM) modifier P0-P2 and the
//! FP × IP stage matrix (stage I-III, or "not applicable" for FP0/IP0).
//! Reference: REFERENCES.md §2.1 (grades, modifiers) and §2.2 (matrix, stage meaning).
//!
//! Each segment grade is either GIVEN (`fp_grade`, `ip_grade`) or DERIVED from
//! segment descriptors (`fp_descriptors`, `ip_descriptors`); giving both for one
//! segment is an `Inconsistent` error. Severe calcification raises that
//! segment's grade by 1, capped at 4, before the matrix (pre- and post-modifier
//! grades are both returned). The IM modifier is displayed with the stage
//! ("GLASS II (P2)") and never changes it. Aorto-iliac inflow is assessed
//! separately and is not part of GLASS.
//!
//! The matrix is the 25-cell table of §2.2, listed cell by cell; it is never a
//! formula. In particular the stage is NOT `min(FP + IP, 3)` (ramchik/CLTI_Registry,
//! REFERENCES.md §13), and FP0/IP0 is [`GlassStage::NotApplicable`], not a stage.
//!
//! # How descriptors are graded
//!
//! Every descriptor is graded on its own against the printed definitions, and the
//! segment grade is the highest of those descriptor grades; the rule text names
//! the descriptor(s) that drove it. The "may include ..." clauses of a definition
//! are read as what that grade allows at most, so a lesion takes the LOWEST grade
//! whose definition allows it (a 3 cm single non-flush SFA CTO is FP1, not FP2
//! although it also "totals <10 cm"). Printed ranges written with an en dash
//! ("10–20 cm", "2–5 cm") include both end points; "<", ">" and "up to" are
//! taken literally. Lengths are compared exactly as given; fractions of vessel
//! length are compared by cross-multiplication with a relative tolerance of
//! 1e-9 so that e.g. 10 cm of 30 cm is exactly 1/3.
//!
//! FP descriptors (`sfa_diseased_length_cm` counts every segment with ≥50 %
//! stenosis, occlusions included; `popliteal_stenosis_length_cm` counts ≥50 %
//! popliteal stenosis):
//! - SFA disease 0 → FP0; <10 cm → FP1; 10–20 cm → FP2; >20 cm → FP3.
//! - SFA CTO (graded on the TOTAL CTO length, since the flush occlusion's own
//!   length is not an input): total >20 cm → FP4 ("total length of SFA
//!   occlusion >20 cm"); any flush occlusion ≤20 cm → FP3 ("any flush occlusion
//!   <20 cm"); non-flush 10–20 cm → FP3; a single non-flush CTO <5 cm → FP1;
//!   any other non-flush CTO (two or more, or 5 cm up to <10 cm) → FP2
//!   ("CTO totalling <1/3 (10 cm)").
//! - Popliteal: any CTO → FP4; disease extending into the trifurcation → FP4;
//!   stenosis 0 → FP0; <2 cm → FP2; 2–5 cm → FP3; >5 cm → FP4.
//!
//! IP descriptors (graded along the selected target artery path;
//! `diseased_length_cm` counts every segment with significant stenosis,
//! occlusions included):
//! - Stenosis: none → IP0; fraction of vessel length >2/3 → IP4; >1/3 up to
//!   2/3 → IP3 ("disease up to 2/3"); exactly 1/3 → IP2; below 1/3: <3 cm →
//!   IP1 ("focal stenosis <3 cm"), ≥3 cm → IP2 ("stenosis involving 1/3" is
//!   read as "up to 1/3", which closes the gap between a focal <3 cm stenosis
//!   and 1/3 of the vessel).
//! - CTO: fraction >1/3 → IP4; exactly 1/3 → IP3 ("CTO up to 1/3"); a single
//!   CTO <3 cm → IP2 ("single focal CTO (<3 cm)"); any other CTO → IP3.
//! - Tibial origin involved → IP3 (IP2 excludes the tibial origin, IP3 "may
//!   include" it).
//! - TP-trunk CTO when the target is not the AT → IP4.
//!
//! # Boundary choices (each returns a `FlagKind::AmbiguousBoundary` flag)
//!
//! The flag is raised whenever an input sits on one of these points, whether or
//! not another descriptor drove the grade higher:
//! - SFA disease exactly 10 cm: "<10 cm" (FP1) vs "10–20 cm" (FP2) → FP2.
//! - SFA disease exactly 20 cm: "10–20 cm" (FP2) vs ">20 cm" (FP3) → FP2.
//! - Single non-flush SFA CTO exactly 5 cm: "single focal CTO (<5 cm)" (FP1) vs
//!   "CTO totalling <10 cm" (FP2) → FP2.
//! - Non-flush SFA CTO exactly 10 cm: "CTO totalling <10 cm" (FP2) vs
//!   "non-flush CTO 10–20 cm" (FP3) → FP3.
//! - Non-flush SFA CTO exactly 20 cm: "non-flush CTO 10–20 cm" (FP3) vs
//!   "occlusion >20 cm" (FP4) → FP3.
//! - Flush SFA occlusion exactly 20 cm: a GAP, neither "flush occlusion <20 cm"
//!   (FP3) nor "occlusion >20 cm" (FP4) → FP3 (FP4 requires >20 cm for every
//!   occlusion, and a non-flush 20 cm CTO is FP3).
//! - Popliteal stenosis exactly 2 cm: "<2 cm" (FP2) vs "2–5 cm" (FP3) → FP3.
//! - Popliteal stenosis exactly 5 cm: "2–5 cm" (FP3) vs ">5 cm" (FP4) → FP3.
//! - IP stenosis exactly 3 cm (below 1/3 of the vessel): "focal stenosis <3 cm"
//!   (IP1) vs IP2 → IP2.
//! - IP diseased fraction exactly 1/3: "involving 1/3" (IP2) vs "up to 2/3"
//!   (IP3) → IP2.
//! - IP diseased fraction exactly 2/3: "up to 2/3" (IP3) vs ">2/3" (IP4) → IP3.
//! - Single IP CTO exactly 3 cm: "single focal CTO (<3 cm)" (IP2) vs
//!   "CTO up to 1/3" (IP3) → IP3.
//! - IP CTO fraction exactly 1/3: "CTO up to 1/3" (IP3) vs ">1/3" (IP4) → IP3.
//! - Tibial origin involved when every other descriptor is IP0-IP1 (a focal
//!   <3 cm stenosis at the origin): IP1 does not mention the origin, IP2
//!   excludes it, IP3 allows it → IP3.
//! - TP-trunk CTO when the AT IS the target artery: not covered (IP4 applies
//!   only "if the AT is not the target artery"; IP2/IP3 exclude the TP trunk,
//!   which is not on the AT path) → not graded (contributes IP0).
//!
//! Not modelled: TP-trunk stenosis without occlusion (the printed definitions
//! only exclude it from IP2/IP3); give `ip_grade` directly in that case.
//!
//! IM modifier from descriptors: the target artery does not cross the ankle →
//! P2; it crosses and the pedal arch is intact → P0; it crosses and the arch is
//! absent or severely diseased (`pedal_arch_intact: false`) → P1.

use crate::error::{InvalidInput, Result};
use crate::explain::{EvidenceStatus, Explain, Explanation, FlagKind, Section, Source};
use crate::limits::{self, LENGTH_CM};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

// ---------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------

/// FP and IP grade definitions (REFERENCES.md §2.1).
pub static GLASS_GRADES_SOURCE: Source = Source {
    id: "glass.grades",
    citation: "Conte MS et al., Global Vascular Guidelines, J Vasc Surg 2019;69(6S):3S-125S (PMC8365864), GLASS \
               FP/IP grades: VQI data-dictionary comments (independent open-source R script) and an independent \
               open-source JS GLASS implementation; consistent with GVG Table 5.1",
    reference: "REFERENCES.md §2.1",
    status: EvidenceStatus::Verified,
    status_note: "",
};

/// Severe calcification modifier (REFERENCES.md §2.1).
pub static GLASS_CALCIFICATION_SOURCE: Source = Source {
    id: "glass.calcification_modifier",
    citation: "Conte MS et al., Global Vascular Guidelines, J Vasc Surg 2019;69(6S):3S-125S (PMC8365864), GLASS \
               calcification modifier",
    reference: "REFERENCES.md §2.1",
    status: EvidenceStatus::Verified,
    status_note: "",
};

/// Inframalleolar (IM) / pedal modifier P0-P2 (REFERENCES.md §2.1).
pub static GLASS_IM_SOURCE: Source = Source {
    id: "glass.im_modifier",
    citation: "Conte MS et al., Global Vascular Guidelines, J Vasc Surg 2019;69(6S):3S-125S (PMC8365864), GLASS \
               inframalleolar (IM) modifier",
    reference: "REFERENCES.md §2.1",
    status: EvidenceStatus::Verified,
    status_note: "a descriptor displayed with the stage; it does not change the stage",
};

/// The 25-cell FP × IP stage matrix (REFERENCES.md §2.2).
pub static GLASS_STAGE_MATRIX_SOURCE: Source = Source {
    id: "glass.stage_matrix",
    citation: "Conte MS et al., Global Vascular Guidelines, J Vasc Surg 2019;69(6S):3S-125S (PMC8365864), GLASS; \
               matrix = 2 independent transcriptions (Vova-s/CLTI-Diagnosis_WebApp GLASS_FinalStage.razor.cs; an \
               independent open-source JS GLASS implementation)",
    reference: "REFERENCES.md §2.2",
    status: EvidenceStatus::Verified,
    status_note: "the two transcriptions agree on all 25 cells; not yet checked against the GVG figure itself",
};

/// Expected technical failure and 1-year limb-based patency per stage (REFERENCES.md §2.2).
pub static GLASS_STAGE_MEANING_SOURCE: Source = Source {
    id: "glass.stage_meaning",
    citation: "independent open-source JS GLASS implementation; consistent with GVG (Conte MS et al., J Vasc Surg \
               2019;69(6S):3S-125S, PMC8365864)",
    reference: "REFERENCES.md §2.2",
    status: EvidenceStatus::Verified,
    status_note: "",
};

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

// source: Conte MS et al., Global Vascular Guidelines, J Vasc Surg 2019;69(6S):3S-125S (PMC8365864), GLASS; matrix = 2 independent transcriptions (REFERENCES.md §2.2) | status: VERIFIED
/// FP grade definitions 0-4 as printed in REFERENCES.md §2.1.
pub const FP_GRADE_DEFINITIONS: [&str; 5] = [
    "Mild or no significant (<50 %) disease",
    "Total length of SFA disease <1/3 (<10 cm). May include a single focal CTO (<5 cm) as long as it is not a \
     flush occlusion. Popliteal artery with mild or no significant disease.",
    "Total length of SFA disease 1/3–2/3 (10–20 cm). May include CTO totalling <1/3 (10 cm), but not a flush \
     occlusion. Focal popliteal stenosis <2 cm, not involving the trifurcation.",
    "Total length of SFA disease >2/3 (>20 cm). May include any flush occlusion <20 cm, or a non-flush CTO \
     10–20 cm long. Short popliteal stenosis 2–5 cm, not involving the trifurcation.",
    "Total length of SFA occlusion >20 cm; popliteal disease >5 cm or extending into the trifurcation; any \
     popliteal CTO",
];

// source: Conte MS et al., Global Vascular Guidelines, J Vasc Surg 2019;69(6S):3S-125S (PMC8365864), GLASS; matrix = 2 independent transcriptions (REFERENCES.md §2.2) | status: VERIFIED
/// IP grade definitions 0-4 as printed in REFERENCES.md §2.1 (graded along the target artery path).
pub const IP_GRADE_DEFINITIONS: [&str; 5] = [
    "Mild or no significant disease in the target artery path",
    "Focal stenosis of a tibial artery <3 cm",
    "Stenosis involving 1/3 of total vessel length. May include a single focal CTO (<3 cm). Not including the TP \
     trunk or the tibial origin.",
    "Disease up to 2/3 of total vessel length; CTO up to 1/3 of vessel length (may include the tibial origin, but \
     not the TP trunk)",
    "Diffuse stenosis >2/3 of total vessel length; CTO >1/3 of vessel length (may include the tibial origin); any \
     CTO of the TP trunk if the AT is not the target artery",
];

// source: Conte MS et al., Global Vascular Guidelines, J Vasc Surg 2019;69(6S):3S-125S (PMC8365864), GLASS; matrix = 2 independent transcriptions (REFERENCES.md §2.2) | status: VERIFIED
// Cut-offs printed in the FP/IP definitions of §2.1 (cm, or fractions of total vessel length).
const SFA_DISEASE_FP2_FROM_CM: f64 = 10.0; // FP1 "<1/3 (<10 cm)"; FP2 "1/3–2/3 (10–20 cm)"
const SFA_DISEASE_FP2_TO_CM: f64 = 20.0; // FP3 ">2/3 (>20 cm)"
const SFA_FOCAL_CTO_BELOW_CM: f64 = 5.0; // FP1 "a single focal CTO (<5 cm)"
const SFA_CTO_FP3_FROM_CM: f64 = 10.0; // FP2 "CTO totalling <1/3 (10 cm)"; FP3 "non-flush CTO 10–20 cm"
const SFA_OCCLUSION_FP4_ABOVE_CM: f64 = 20.0; // FP3 "flush occlusion <20 cm", "10–20 cm"; FP4 "occlusion >20 cm"
const POPLITEAL_FOCAL_BELOW_CM: f64 = 2.0; // FP2 "focal popliteal stenosis <2 cm"; FP3 "2–5 cm"
const POPLITEAL_SHORT_TO_CM: f64 = 5.0; // FP3 "2–5 cm"; FP4 "popliteal disease >5 cm"
const IP_FOCAL_STENOSIS_BELOW_CM: f64 = 3.0; // IP1 "focal stenosis of a tibial artery <3 cm"
const IP_FOCAL_CTO_BELOW_CM: f64 = 3.0; // IP2 "a single focal CTO (<3 cm)"
const ONE_THIRD: (f64, f64) = (1.0, 3.0); // IP2 "1/3"; IP3 "CTO up to 1/3"; IP4 "CTO >1/3"
const TWO_THIRDS: (f64, f64) = (2.0, 3.0); // IP3 "up to 2/3"; IP4 ">2/3"

/// Relative tolerance for comparing a fraction of vessel length with 1/3 or 2/3
/// (engineering choice, not a clinical number).
const FRACTION_TOLERANCE: f64 = 1e-9;

/// A GLASS matrix cell: a stage, or "not applicable" for FP0/IP0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GlassStage {
    /// FP0/IP0: no significant infrainguinal disease; GLASS gives no stage.
    #[serde(rename = "not_applicable")]
    NotApplicable,
    I,
    II,
    III,
}

impl GlassStage {
    /// "I", "II", "III", or "not applicable".
    pub fn label(self) -> &'static str {
        match self {
            GlassStage::NotApplicable => "not applicable",
            GlassStage::I => "I",
            GlassStage::II => "II",
            GlassStage::III => "III",
        }
    }

    /// True for stages I-III, false for "not applicable".
    pub fn is_stage(self) -> bool {
        !matches!(self, GlassStage::NotApplicable)
    }
}

// source: Conte MS et al., Global Vascular Guidelines, J Vasc Surg 2019;69(6S):3S-125S (PMC8365864), GLASS; matrix = 2 independent transcriptions (REFERENCES.md §2.2) | status: VERIFIED
/// The GLASS stage matrix, `GLASS_STAGE_MATRIX[fp][ip]`, grades AFTER the
/// calcification modifier. Every one of the 25 cells is listed; there is no default.
pub const GLASS_STAGE_MATRIX: [[GlassStage; 5]; 5] = {
    use GlassStage::{I, II, III, NotApplicable as NA};
    [
        // IP:  0    1   2    3    4
        [NA, I, I, II, III],       // FP0
        [I, I, II, II, III],       // FP1
        [I, II, II, II, III],      // FP2
        [II, II, II, III, III],    // FP3
        [III, III, III, III, III], // FP4
    ]
};

/// Expected outcome band of a GLASS stage, as §2.2 prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageMeaning {
    pub stage: GlassStage,
    pub technical_failure: &'static str,
    pub one_year_limb_based_patency: &'static str,
    pub text: &'static str,
}

// source: independent open-source JS GLASS implementation; consistent with GVG (REFERENCES.md §2.2) | status: VERIFIED
/// Stage meaning (LBP = limb-based patency). "Not applicable" has no row.
pub const GLASS_STAGE_MEANING: [StageMeaning; 3] = [
    StageMeaning {
        stage: GlassStage::I,
        technical_failure: "<10 %",
        one_year_limb_based_patency: ">70 %",
        text: "technical failure <10 %, 1-year LBP >70 %",
    },
    StageMeaning {
        stage: GlassStage::II,
        technical_failure: "<20 %",
        one_year_limb_based_patency: "50–70 %",
        text: "technical failure <20 %, 1-year LBP 50–70 %",
    },
    StageMeaning {
        stage: GlassStage::III,
        technical_failure: ">20 %",
        one_year_limb_based_patency: "<50 %",
        text: "technical failure >20 %, 1-year LBP <50 %",
    },
];

/// Inframalleolar (pedal) modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum ImModifier {
    #[serde(rename = "P0", alias = "p0")]
    P0,
    #[serde(rename = "P1", alias = "p1")]
    P1,
    #[serde(rename = "P2", alias = "p2")]
    P2,
}

// source: Conte MS et al., Global Vascular Guidelines, J Vasc Surg 2019;69(6S):3S-125S (PMC8365864), GLASS; matrix = 2 independent transcriptions (REFERENCES.md §2.2) | status: VERIFIED
/// IM modifier descriptions as printed in REFERENCES.md §2.1.
pub const IM_MODIFIER_DEFINITIONS: [(ImModifier, &str); 3] = [
    (ImModifier::P0, "target artery crosses the ankle into the foot, with an intact pedal arch"),
    (ImModifier::P1, "target artery crosses the ankle, but the arch is absent or severely diseased"),
    (ImModifier::P2, "no target artery crosses the ankle into the foot"),
];

impl ImModifier {
    pub fn label(self) -> &'static str {
        match self {
            ImModifier::P0 => "P0",
            ImModifier::P1 => "P1",
            ImModifier::P2 => "P2",
        }
    }

    pub fn definition(self) -> &'static str {
        IM_MODIFIER_DEFINITIONS.iter().find(|(m, _)| *m == self).map_or("", |(_, d)| d)
    }
}

/// Shown with every GLASS result.
pub const INFLOW_NOTE: &str = "Aorto-iliac inflow is assessed separately; it is not part of GLASS.";

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

/// The selected target artery path (TAP) for the IP grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetArtery {
    AnteriorTibial,
    PosteriorTibial,
    Peroneal,
}

impl TargetArtery {
    pub fn name(self) -> &'static str {
        match self {
            TargetArtery::AnteriorTibial => "anterior tibial (AT)",
            TargetArtery::PosteriorTibial => "posterior tibial (PT)",
            TargetArtery::Peroneal => "peroneal",
        }
    }
}

/// Femoropopliteal descriptors. Every field is required when this block is given.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FpDescriptors {
    /// Total length of SFA disease with ≥50 % stenosis, occlusions included (cm).
    pub sfa_diseased_length_cm: Option<f64>,
    /// Total length of SFA chronic total occlusion (cm); 0 if none.
    pub sfa_cto_length_cm: Option<f64>,
    /// Number of SFA CTOs; 0 if none.
    pub sfa_cto_count: Option<u32>,
    /// Any SFA occlusion is a flush occlusion (at the SFA origin).
    pub sfa_flush_occlusion: Option<bool>,
    /// Length of popliteal stenosis ≥50 % (cm); 0 if none.
    pub popliteal_stenosis_length_cm: Option<f64>,
    /// Popliteal disease extends into the trifurcation.
    pub popliteal_trifurcation_involved: Option<bool>,
    /// Any popliteal CTO.
    pub popliteal_cto: Option<bool>,
}

/// Infrapopliteal descriptors along the target artery path. Every field is
/// required when this block is given.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpDescriptors {
    pub target_artery: Option<TargetArtery>,
    /// Total diseased length of the target artery, occlusions included (cm).
    pub diseased_length_cm: Option<f64>,
    /// Total length of the target vessel (cm), the denominator of the fractions.
    pub vessel_length_cm: Option<f64>,
    /// Total CTO length in the target artery (cm); 0 if none.
    pub cto_length_cm: Option<f64>,
    /// Number of CTOs in the target artery; 0 if none.
    pub cto_count: Option<u32>,
    /// The disease involves the tibial origin.
    pub tibial_origin_involved: Option<bool>,
    /// CTO of the tibioperoneal (TP) trunk.
    pub tp_trunk_cto: Option<bool>,
}

/// IM descriptors.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImDescriptors {
    /// The target artery crosses the ankle into the foot.
    pub target_crosses_ankle: Option<bool>,
    /// The pedal arch is intact (false: absent or severely diseased). Required when the target crosses the ankle.
    pub pedal_arch_intact: Option<bool>,
}

/// GLASS input. For each segment give the grade OR the descriptors.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlassInput {
    pub fp_grade: Option<u8>,
    pub fp_descriptors: Option<FpDescriptors>,
    /// Severe calcification of the FP segment (>50 % of the circumference, diffuse, bulky or coral-reef). Required.
    pub fp_severe_calcification: Option<bool>,
    pub ip_grade: Option<u8>,
    pub ip_descriptors: Option<IpDescriptors>,
    /// Severe calcification of the IP segment. Required.
    pub ip_severe_calcification: Option<bool>,
    /// IM modifier given directly (optional; or `im_descriptors`, not both).
    pub im_modifier: Option<ImModifier>,
    pub im_descriptors: Option<ImDescriptors>,
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/// How a grade or modifier was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Given,
    Derived,
}

/// One segment (FP or IP).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentGrade {
    /// Grade before the calcification modifier.
    pub grade_before_modifier: u8,
    pub severe_calcification: bool,
    /// Grade after the calcification modifier: the one the matrix uses.
    pub grade: u8,
    pub basis: Basis,
    /// How the pre-modifier grade was obtained.
    pub explanation: Explanation,
    /// The calcification modifier step.
    pub modifier_explanation: Explanation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageResult {
    pub stage: GlassStage,
    /// e.g. "GLASS II (P2)".
    pub display: String,
    pub explanation: Explanation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageOutcome {
    pub technical_failure: &'static str,
    pub one_year_limb_based_patency: &'static str,
    pub text: &'static str,
    pub explanation: Explanation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImResult {
    pub modifier: ImModifier,
    pub basis: Basis,
    pub definition: &'static str,
    pub explanation: Explanation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlassOutput {
    pub stage: StageResult,
    /// Expected outcome band; absent when the stage is "not applicable".
    pub outcome: Option<StageOutcome>,
    pub fp: SegmentGrade,
    pub ip: SegmentGrade,
    /// Absent when no IM modifier or descriptor was given.
    pub im: Option<ImResult>,
    pub inflow_note: &'static str,
}

// ---------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------

/// The matrix cell for post-modifier grades `fp` and `ip` (0-4).
pub fn stage_for(fp: u8, ip: u8) -> Result<GlassStage> {
    let fp = limits::check_grade("fp_grade", fp, 0, 4)?;
    let ip = limits::check_grade("ip_grade", ip, 0, 4)?;
    GLASS_STAGE_MATRIX
        .get(usize::from(fp))
        .and_then(|row| row.get(usize::from(ip)))
        .copied()
        .ok_or_else(|| InvalidInput::out_of_range("fp_grade", fp, "a whole number from 0 to 4"))
}

/// The expected outcome band of a stage; `None` for "not applicable".
pub fn stage_meaning(stage: GlassStage) -> Option<&'static StageMeaning> {
    GLASS_STAGE_MEANING.iter().find(|m| m.stage == stage)
}

/// Apply the calcification modifier: +1, capped at 4.
pub fn apply_calcification(grade: u8, severe_calcification: bool) -> u8 {
    if severe_calcification { grade.saturating_add(1).min(4) } else { grade }
}

/// Classify GLASS: segment grades, modifiers, stage and expected outcome.
pub fn classify(input: &GlassInput) -> Result<GlassOutput> {
    let (fp_pre, fp_basis, fp_expl) = match (&input.fp_grade, &input.fp_descriptors) {
        (Some(_), Some(_)) => {
            return Err(InvalidInput::inconsistent(
                "fp_grade",
                input.fp_grade.map_or(String::new(), |g| g.to_string()),
                "give fp_grade or fp_descriptors, not both",
            ));
        }
        (Some(g), None) => {
            let g = limits::check_grade("fp_grade", *g, 0, 4)?;
            (g, Basis::Given, given_grade_explanation("FP", "fp_grade", g, &FP_GRADE_DEFINITIONS))
        }
        (None, Some(d)) => {
            let (g, e) = derive_fp(d)?;
            (g, Basis::Derived, e)
        }
        (None, None) => {
            return Err(InvalidInput::missing("fp_grade", "a whole number from 0 to 4, or fp_descriptors"));
        }
    };
    let (ip_pre, ip_basis, ip_expl) = match (&input.ip_grade, &input.ip_descriptors) {
        (Some(_), Some(_)) => {
            return Err(InvalidInput::inconsistent(
                "ip_grade",
                input.ip_grade.map_or(String::new(), |g| g.to_string()),
                "give ip_grade or ip_descriptors, not both",
            ));
        }
        (Some(g), None) => {
            let g = limits::check_grade("ip_grade", *g, 0, 4)?;
            (g, Basis::Given, given_grade_explanation("IP", "ip_grade", g, &IP_GRADE_DEFINITIONS))
        }
        (None, Some(d)) => {
            let (g, e) = derive_ip(d)?;
            (g, Basis::Derived, e)
        }
        (None, None) => {
            return Err(InvalidInput::missing("ip_grade", "a whole number from 0 to 4, or ip_descriptors"));
        }
    };
    let fp_calc = limits::require("fp_severe_calcification", input.fp_severe_calcification, "true or false")?;
    let ip_calc = limits::require("ip_severe_calcification", input.ip_severe_calcification, "true or false")?;
    let im = classify_im(input)?;

    let fp = segment("FP", "fp_severe_calcification", fp_pre, fp_calc, fp_basis, fp_expl);
    let ip = segment("IP", "ip_severe_calcification", ip_pre, ip_calc, ip_basis, ip_expl);

    let stage = stage_for(fp.grade, ip.grade)?;
    let im_label = im.as_ref().map(|m| m.modifier.label());
    let display = match im_label {
        Some(p) => format!("GLASS {} ({p})", stage.label()),
        None => format!("GLASS {}", stage.label()),
    };
    let cell = format!("GVG matrix row FP{}, column IP{}", fp.grade, ip.grade);
    let mut rule = if stage.is_stage() {
        format!(
            "FP grade {} and IP grade {} (after the calcification modifier) -> stage {} ({cell}).",
            fp.grade,
            ip.grade,
            stage.label()
        )
    } else {
        format!(
            "FP grade 0 and IP grade 0 (after the calcification modifier) -> not applicable ({cell}): no \
             significant infrainguinal disease, so GLASS gives no stage."
        )
    };
    match im_label {
        Some(p) => rule.push_str(&format!(" IM modifier {p} is displayed with the stage and does not change it.")),
        None => rule.push_str(" IM modifier not assessed."),
    }
    rule.push(' ');
    rule.push_str(INFLOW_NOTE);
    let stage_expl = Explanation::new(&GLASS_STAGE_MATRIX_SOURCE, rule)
        .input("fp_grade_after_modifier", fp.grade)
        .input("ip_grade_after_modifier", ip.grade);

    let outcome = stage_meaning(stage).map(|m| StageOutcome {
        technical_failure: m.technical_failure,
        one_year_limb_based_patency: m.one_year_limb_based_patency,
        text: m.text,
        explanation: Explanation::new(
            &GLASS_STAGE_MEANING_SOURCE,
            format!("GLASS stage {} -> {} (LBP = limb-based patency).", stage.label(), m.text),
        )
        .input("stage", stage.label()),
    });

    Ok(GlassOutput {
        stage: StageResult { stage, display, explanation: stage_expl },
        outcome,
        fp,
        ip,
        im,
        inflow_note: INFLOW_NOTE,
    })
}

fn given_grade_explanation(seg: &str, field: &'static str, g: u8, defs: &[&str; 5]) -> Explanation {
    let def = defs.get(usize::from(g)).copied().unwrap_or("");
    Explanation::new(&GLASS_GRADES_SOURCE, format!("{seg} grade {g} given directly ({seg}{g}: '{def}')."))
        .input(field, g)
}

fn segment(
    seg: &str,
    calc_field: &'static str,
    pre: u8,
    calcified: bool,
    basis: Basis,
    explanation: Explanation,
) -> SegmentGrade {
    let post = apply_calcification(pre, calcified);
    let rule = if !calcified {
        format!("No severe calcification of the {seg} segment: {seg} grade {pre} unchanged.")
    } else if post > pre {
        format!("Severe calcification of the {seg} segment raises the grade by 1: {seg}{pre} -> {seg}{post}.")
    } else {
        format!("Severe calcification of the {seg} segment: {seg}{pre} is already 4, the cap; grade stays {post}.")
    };
    let modifier_explanation = Explanation::new(&GLASS_CALCIFICATION_SOURCE, rule)
        .input(calc_field, calcified)
        .input(if seg == "FP" { "fp_grade_before_modifier" } else { "ip_grade_before_modifier" }, pre);
    SegmentGrade {
        grade_before_modifier: pre,
        severe_calcification: calcified,
        grade: post,
        basis,
        explanation,
        modifier_explanation,
    }
}

fn classify_im(input: &GlassInput) -> Result<Option<ImResult>> {
    match (&input.im_modifier, &input.im_descriptors) {
        (Some(m), Some(_)) => {
            Err(InvalidInput::inconsistent("im_modifier", m.label(), "give im_modifier or im_descriptors, not both"))
        }
        (None, None) => Ok(None),
        (Some(m), None) => Ok(Some(ImResult {
            modifier: *m,
            basis: Basis::Given,
            definition: m.definition(),
            explanation: Explanation::new(
                &GLASS_IM_SOURCE,
                format!(
                    "IM modifier {} given directly ('{}'); displayed with the stage, never changes it.",
                    m.label(),
                    m.definition()
                ),
            )
            .input("im_modifier", m.label()),
        })),
        (None, Some(d)) => {
            let crosses =
                limits::require("im_descriptors.target_crosses_ankle", d.target_crosses_ankle, "true or false")?;
            let mut e =
                Explanation::new(&GLASS_IM_SOURCE, String::new()).input("im_descriptors.target_crosses_ankle", crosses);
            let (m, why) = if !crosses {
                if let Some(arch) = d.pedal_arch_intact {
                    e.push_input("im_descriptors.pedal_arch_intact", arch);
                }
                (
                    ImModifier::P2,
                    "No target artery crosses the ankle into the foot (pedal arch status not needed for P2)",
                )
            } else {
                let arch = limits::require("im_descriptors.pedal_arch_intact", d.pedal_arch_intact, "true or false")?;
                e.push_input("im_descriptors.pedal_arch_intact", arch);
                if arch {
                    (ImModifier::P0, "The target artery crosses the ankle and the pedal arch is intact")
                } else {
                    (
                        ImModifier::P1,
                        "The target artery crosses the ankle and the pedal arch is absent or severely diseased",
                    )
                }
            };
            e.rule = format!(
                "{why} -> IM modifier {} ('{}'); displayed with the stage, never changes it.",
                m.label(),
                m.definition()
            );
            Ok(Some(ImResult { modifier: m, basis: Basis::Derived, definition: m.definition(), explanation: e }))
        }
    }
}

// ---------------------------------------------------------------------------
// Descriptor derivation
// ---------------------------------------------------------------------------

/// One descriptor graded on its own.
struct Finding {
    grade: u8,
    text: String,
}

fn finding(grade: u8, text: impl Into<String>) -> Finding {
    Finding { grade, text: text.into() }
}

fn length(field: &'static str, v: Option<f64>) -> Result<f64> {
    let v = limits::require(field, v, &LENGTH_CM.describe())?;
    LENGTH_CM.check(field, v)
}

/// `part / whole` compared with `num / den` by cross-multiplication, equal within a relative tolerance.
fn cmp_fraction(part: f64, whole: f64, (num, den): (f64, f64)) -> Ordering {
    let lhs = part * den;
    let rhs = whole * num;
    if (lhs - rhs).abs() <= FRACTION_TOLERANCE * rhs.abs().max(lhs.abs()).max(1.0) {
        Ordering::Equal
    } else if lhs < rhs {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

fn summarise(seg: &str, findings: &[Finding], flags: Vec<String>, mut e: Explanation) -> (u8, Explanation) {
    let grade = findings.iter().map(|f| f.grade).max().unwrap_or(0);
    let drivers: Vec<&str> = findings.iter().filter(|f| f.grade == grade).map(|f| f.text.as_str()).collect();
    let others: Vec<String> =
        findings.iter().filter(|f| f.grade != grade).map(|f| format!("{} [{seg}{}]", f.text, f.grade)).collect();
    let mut rule = format!(
        "{seg} grade {grade} derived from descriptors: the highest descriptor grade, driven by {}.",
        drivers.join("; and by ")
    );
    if !others.is_empty() {
        rule.push_str(&format!(" Other descriptors: {}.", others.join("; ")));
    }
    e.rule = rule;
    for f in flags {
        e.push_flag(FlagKind::AmbiguousBoundary, f);
    }
    (grade, e)
}

fn derive_fp(d: &FpDescriptors) -> Result<(u8, Explanation)> {
    const F_L: &str = "fp_descriptors.sfa_diseased_length_cm";
    const F_C: &str = "fp_descriptors.sfa_cto_length_cm";
    const F_N: &str = "fp_descriptors.sfa_cto_count";
    const F_FL: &str = "fp_descriptors.sfa_flush_occlusion";
    const F_P: &str = "fp_descriptors.popliteal_stenosis_length_cm";
    const F_T: &str = "fp_descriptors.popliteal_trifurcation_involved";
    const F_K: &str = "fp_descriptors.popliteal_cto";
    let l = length(F_L, d.sfa_diseased_length_cm)?;
    let c = length(F_C, d.sfa_cto_length_cm)?;
    let n = limits::require(F_N, d.sfa_cto_count, "a whole number of occlusions (0 if none)")?;
    let flush = limits::require(F_FL, d.sfa_flush_occlusion, "true or false")?;
    let p = length(F_P, d.popliteal_stenosis_length_cm)?;
    let t = limits::require(F_T, d.popliteal_trifurcation_involved, "true or false")?;
    let k = limits::require(F_K, d.popliteal_cto, "true or false")?;

    if c > l {
        return Err(InvalidInput::inconsistent(
            F_C,
            c,
            "the CTO length must not exceed sfa_diseased_length_cm (an occlusion is part of the diseased length)",
        ));
    }
    if n == 0 && c > 0.0 {
        return Err(InvalidInput::inconsistent(F_N, n, "a CTO length above 0 needs sfa_cto_count of at least 1"));
    }
    if n > 0 && c == 0.0 {
        return Err(InvalidInput::inconsistent(F_C, c, "sfa_cto_count above 0 needs a CTO length above 0"));
    }
    if flush && n == 0 {
        return Err(InvalidInput::inconsistent(F_FL, flush, "a flush occlusion needs sfa_cto_count of at least 1"));
    }
    if t && p == 0.0 && !k {
        return Err(InvalidInput::inconsistent(
            F_T,
            t,
            "disease extending into the trifurcation needs popliteal stenosis length above 0 or a popliteal CTO",
        ));
    }

    let e = Explanation::new(&GLASS_GRADES_SOURCE, String::new())
        .input(F_L, l)
        .input(F_C, c)
        .input(F_N, n)
        .input(F_FL, flush)
        .input(F_P, p)
        .input(F_T, t)
        .input(F_K, k);
    let mut findings = Vec::new();
    let mut flags = Vec::new();

    // SFA diseased length.
    findings.push(if l == 0.0 {
        finding(0, "no SFA stenosis ≥50 % (FP0: 'mild or no significant (<50 %) disease')")
    } else if l < SFA_DISEASE_FP2_FROM_CM {
        finding(1, format!("SFA disease {l} cm (FP1: 'total length of SFA disease <1/3 (<10 cm)')"))
    } else if l <= SFA_DISEASE_FP2_TO_CM {
        if l == SFA_DISEASE_FP2_FROM_CM {
            flags
                .push("SFA disease exactly 10 cm: FP1 reads '<10 cm', FP2 reads '10–20 cm'; placed in FP2.".to_owned());
        }
        if l == SFA_DISEASE_FP2_TO_CM {
            flags
                .push("SFA disease exactly 20 cm: FP2 reads '10–20 cm', FP3 reads '>20 cm'; placed in FP2.".to_owned());
        }
        finding(2, format!("SFA disease {l} cm (FP2: 'total length of SFA disease 1/3–2/3 (10–20 cm)')"))
    } else {
        finding(3, format!("SFA disease {l} cm (FP3: 'total length of SFA disease >2/3 (>20 cm)')"))
    });

    // SFA occlusion(s).
    let kind = if flush { "flush" } else { "non-flush" };
    findings.push(if n == 0 {
        finding(0, "no SFA CTO")
    } else if c > SFA_OCCLUSION_FP4_ABOVE_CM {
        finding(4, format!("SFA CTO total {c} cm, {kind} (FP4: 'total length of SFA occlusion >20 cm')"))
    } else if flush {
        if c == SFA_OCCLUSION_FP4_ABOVE_CM {
            flags.push(
                "Flush SFA occlusion exactly 20 cm: not covered by FP3 'flush occlusion <20 cm' nor by FP4 \
                 'occlusion >20 cm'; placed in FP3."
                    .to_owned(),
            );
        }
        finding(3, format!("SFA CTO total {c} cm including a flush occlusion (FP3: 'any flush occlusion <20 cm')"))
    } else if c >= SFA_CTO_FP3_FROM_CM {
        if c == SFA_CTO_FP3_FROM_CM {
            flags.push(
                "Non-flush SFA CTO exactly 10 cm: FP2 reads 'CTO totalling <1/3 (10 cm)', FP3 reads 'non-flush CTO \
                 10–20 cm'; placed in FP3."
                    .to_owned(),
            );
        }
        if c == SFA_OCCLUSION_FP4_ABOVE_CM {
            flags.push(
                "Non-flush SFA CTO exactly 20 cm: FP3 reads 'non-flush CTO 10–20 cm', FP4 reads 'occlusion >20 cm'; \
                 placed in FP3."
                    .to_owned(),
            );
        }
        finding(3, format!("SFA CTO total {c} cm, non-flush (FP3: 'a non-flush CTO 10–20 cm long')"))
    } else if n == 1 && c < SFA_FOCAL_CTO_BELOW_CM {
        finding(1, format!("single SFA CTO {c} cm, non-flush (FP1: 'a single focal CTO (<5 cm)', not flush)"))
    } else {
        if n == 1 && c == SFA_FOCAL_CTO_BELOW_CM {
            flags.push(
                "Single non-flush SFA CTO exactly 5 cm: FP1 reads 'single focal CTO (<5 cm)', FP2 reads 'CTO \
                 totalling <1/3 (10 cm)'; placed in FP2."
                    .to_owned(),
            );
        }
        finding(2, format!("SFA CTO total {c} cm in {n} occlusion(s), non-flush (FP2: 'CTO totalling <1/3 (10 cm)')"))
    });

    // Popliteal.
    if k {
        findings.push(finding(4, "popliteal CTO (FP4: 'any popliteal CTO')"));
    }
    if t {
        findings.push(finding(4, "popliteal disease extends into the trifurcation (FP4)"));
    }
    findings.push(if p == 0.0 {
        finding(0, "no popliteal stenosis ≥50 % ('mild or no significant disease')")
    } else if p < POPLITEAL_FOCAL_BELOW_CM {
        finding(2, format!("popliteal stenosis {p} cm (FP2: 'focal popliteal stenosis <2 cm')"))
    } else if p <= POPLITEAL_SHORT_TO_CM {
        if p == POPLITEAL_FOCAL_BELOW_CM {
            flags.push(
                "Popliteal stenosis exactly 2 cm: FP2 reads '<2 cm', FP3 reads '2–5 cm'; placed in FP3.".to_owned(),
            );
        }
        if p == POPLITEAL_SHORT_TO_CM {
            flags.push(
                "Popliteal stenosis exactly 5 cm: FP3 reads '2–5 cm', FP4 reads '>5 cm'; placed in FP3.".to_owned(),
            );
        }
        finding(3, format!("popliteal stenosis {p} cm (FP3: 'short popliteal stenosis 2–5 cm')"))
    } else {
        finding(4, format!("popliteal stenosis {p} cm (FP4: 'popliteal disease >5 cm')"))
    });

    Ok(summarise("FP", &findings, flags, e))
}

fn derive_ip(d: &IpDescriptors) -> Result<(u8, Explanation)> {
    const F_A: &str = "ip_descriptors.target_artery";
    const F_D: &str = "ip_descriptors.diseased_length_cm";
    const F_V: &str = "ip_descriptors.vessel_length_cm";
    const F_C: &str = "ip_descriptors.cto_length_cm";
    const F_N: &str = "ip_descriptors.cto_count";
    const F_O: &str = "ip_descriptors.tibial_origin_involved";
    const F_T: &str = "ip_descriptors.tp_trunk_cto";
    let target = limits::require(F_A, d.target_artery, "anterior_tibial, posterior_tibial or peroneal")?;
    let dl = length(F_D, d.diseased_length_cm)?;
    let v = length(F_V, d.vessel_length_cm)?;
    let c = length(F_C, d.cto_length_cm)?;
    let n = limits::require(F_N, d.cto_count, "a whole number of occlusions (0 if none)")?;
    let o = limits::require(F_O, d.tibial_origin_involved, "true or false")?;
    let t = limits::require(F_T, d.tp_trunk_cto, "true or false")?;

    if v <= 0.0 {
        return Err(InvalidInput::out_of_range(F_V, v, "a vessel length above 0 up to 150 cm"));
    }
    if dl > v {
        return Err(InvalidInput::inconsistent(F_D, dl, "the diseased length must not exceed vessel_length_cm"));
    }
    if c > dl {
        return Err(InvalidInput::inconsistent(
            F_C,
            c,
            "the CTO length must not exceed diseased_length_cm (an occlusion is part of the diseased length)",
        ));
    }
    if n == 0 && c > 0.0 {
        return Err(InvalidInput::inconsistent(F_N, n, "a CTO length above 0 needs cto_count of at least 1"));
    }
    if n > 0 && c == 0.0 {
        return Err(InvalidInput::inconsistent(F_C, c, "cto_count above 0 needs a CTO length above 0"));
    }
    if o && dl == 0.0 {
        return Err(InvalidInput::inconsistent(F_O, o, "tibial origin involvement needs diseased_length_cm above 0"));
    }

    let e = Explanation::new(&GLASS_GRADES_SOURCE, String::new())
        .input(F_A, target.name())
        .input(F_D, dl)
        .input(F_V, v)
        .input(F_C, c)
        .input(F_N, n)
        .input(F_O, o)
        .input(F_T, t);
    let mut findings = Vec::new();
    let mut flags = Vec::new();

    // Stenosis / diseased fraction of the target vessel.
    let frac = dl / v;
    findings.push(if dl == 0.0 {
        finding(0, format!("no significant disease in the {} path (IP0)", target.name()))
    } else {
        match (cmp_fraction(dl, v, TWO_THIRDS), cmp_fraction(dl, v, ONE_THIRD)) {
            (Ordering::Greater, _) => finding(
                4,
                format!("disease {dl} of {v} cm ({frac:.3} of the vessel) (IP4: 'diffuse stenosis >2/3 of total vessel length')"),
            ),
            (Ordering::Equal, _) => {
                flags.push(
                    "Diseased length exactly 2/3 of the vessel: IP3 reads 'up to 2/3', IP4 reads '>2/3'; placed in IP3."
                        .to_owned(),
                );
                finding(3, format!("disease {dl} of {v} cm (exactly 2/3) (IP3: 'disease up to 2/3 of total vessel length')"))
            }
            (Ordering::Less, Ordering::Greater) => finding(
                3,
                format!("disease {dl} of {v} cm ({frac:.3} of the vessel) (IP3: 'disease up to 2/3 of total vessel length')"),
            ),
            (Ordering::Less, Ordering::Equal) => {
                flags.push(
                    "Diseased length exactly 1/3 of the vessel: IP2 reads 'involving 1/3', IP3 reads 'up to 2/3'; \
                     placed in IP2."
                        .to_owned(),
                );
                finding(2, format!("disease {dl} of {v} cm (exactly 1/3) (IP2: 'stenosis involving 1/3 of total vessel length')"))
            }
            (Ordering::Less, Ordering::Less) if dl < IP_FOCAL_STENOSIS_BELOW_CM => {
                finding(1, format!("disease {dl} cm (IP1: 'focal stenosis of a tibial artery <3 cm')"))
            }
            (Ordering::Less, Ordering::Less) => {
                if dl == IP_FOCAL_STENOSIS_BELOW_CM {
                    flags.push(
                        "Stenosis exactly 3 cm: IP1 reads 'focal stenosis <3 cm'; placed in IP2 (up to 1/3 of the vessel)."
                            .to_owned(),
                    );
                }
                finding(
                    2,
                    format!(
                        "disease {dl} of {v} cm ({frac:.3} of the vessel, 3 cm or more) (IP2: 'stenosis involving 1/3 \
                         of total vessel length', read as up to 1/3)"
                    ),
                )
            }
        }
    });

    // CTO.
    findings.push(if n == 0 {
        finding(0, "no CTO in the target artery")
    } else {
        match cmp_fraction(c, v, ONE_THIRD) {
            Ordering::Greater => {
                finding(4, format!("CTO {c} of {v} cm ({:.3} of the vessel) (IP4: 'CTO >1/3 of vessel length')", c / v))
            }
            Ordering::Equal => {
                flags.push(
                    "CTO exactly 1/3 of the vessel: IP3 reads 'CTO up to 1/3', IP4 reads 'CTO >1/3'; placed in IP3."
                        .to_owned(),
                );
                finding(3, format!("CTO {c} of {v} cm (exactly 1/3) (IP3: 'CTO up to 1/3 of vessel length')"))
            }
            Ordering::Less if n == 1 && c < IP_FOCAL_CTO_BELOW_CM => {
                finding(2, format!("single CTO {c} cm (IP2: 'may include a single focal CTO (<3 cm)')"))
            }
            Ordering::Less => {
                if n == 1 && c == IP_FOCAL_CTO_BELOW_CM {
                    flags.push(
                        "Single CTO exactly 3 cm: IP2 reads 'single focal CTO (<3 cm)', IP3 reads 'CTO up to 1/3'; \
                         placed in IP3."
                            .to_owned(),
                    );
                }
                finding(
                    3,
                    format!(
                        "CTO {c} cm in {n} occlusion(s), up to 1/3 of {v} cm (IP3: 'CTO up to 1/3 of vessel length')"
                    ),
                )
            }
        }
    });

    // TP trunk.
    if t {
        if target == TargetArtery::AnteriorTibial {
            flags.push(
                "TP-trunk CTO with the AT as target artery: IP4 applies only 'if the AT is not the target artery' and \
                 IP2/IP3 exclude the TP trunk; the TP trunk is not on the AT path, so it was not graded. Check."
                    .to_owned(),
            );
            findings.push(finding(0, "TP-trunk CTO, not on the AT target path (not graded)"));
        } else {
            findings.push(finding(
                4,
                format!(
                    "TP-trunk CTO with the {} as target (IP4: 'any CTO of the TP trunk if the AT is not the target artery')",
                    target.name()
                ),
            ));
        }
    }

    // Tibial origin: compared with every other descriptor, for the boundary flag.
    if o {
        let others = findings.iter().map(|f| f.grade).max().unwrap_or(0);
        if others <= 1 {
            flags.push(
                "Tibial origin involved by otherwise focal (IP0-IP1) disease: IP1 'focal stenosis <3 cm' does not \
                 mention the origin, IP2 excludes 'the tibial origin', IP3 'may include the tibial origin'; placed in IP3."
                    .to_owned(),
            );
        }
        findings.push(finding(
            3,
            "tibial origin involved (IP2 excludes 'the tibial origin'; IP3 'may include the tibial origin')",
        ));
    }

    Ok(summarise("IP", &findings, flags, e))
}

// ---------------------------------------------------------------------------
// Explain
// ---------------------------------------------------------------------------

impl Explain for GlassOutput {
    fn sections(&self) -> Vec<Section<'_>> {
        let mut s = vec![Section {
            label: "GLASS stage",
            result: self.stage.display.clone(),
            explanation: &self.stage.explanation,
        }];
        if let Some(o) = &self.outcome {
            s.push(Section { label: "GLASS expected outcome", result: o.text.to_owned(), explanation: &o.explanation });
        }
        for (label, mlabel, seg, g) in [
            ("GLASS FP grade", "GLASS FP calcification modifier", "FP", &self.fp),
            ("GLASS IP grade", "GLASS IP calcification modifier", "IP", &self.ip),
        ] {
            let basis = match g.basis {
                Basis::Given => "given",
                Basis::Derived => "derived",
            };
            s.push(Section {
                label,
                result: format!("{seg}{} ({basis}, before calcification modifier)", g.grade_before_modifier),
                explanation: &g.explanation,
            });
            s.push(Section {
                label: mlabel,
                result: format!("{seg}{} -> {seg}{}", g.grade_before_modifier, g.grade),
                explanation: &g.modifier_explanation,
            });
        }
        if let Some(im) = &self.im {
            s.push(Section {
                label: "GLASS IM modifier",
                result: im.modifier.label().to_owned(),
                explanation: &im.explanation,
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

    fn given(fp: u8, ip: u8) -> GlassInput {
        GlassInput {
            fp_grade: Some(fp),
            fp_descriptors: None,
            fp_severe_calcification: Some(false),
            ip_grade: Some(ip),
            ip_descriptors: None,
            ip_severe_calcification: Some(false),
            im_modifier: None,
            im_descriptors: None,
        }
    }

    fn fp_none() -> FpDescriptors {
        FpDescriptors {
            sfa_diseased_length_cm: Some(0.0),
            sfa_cto_length_cm: Some(0.0),
            sfa_cto_count: Some(0),
            sfa_flush_occlusion: Some(false),
            popliteal_stenosis_length_cm: Some(0.0),
            popliteal_trifurcation_involved: Some(false),
            popliteal_cto: Some(false),
        }
    }

    fn ip_none() -> IpDescriptors {
        IpDescriptors {
            target_artery: Some(TargetArtery::PosteriorTibial),
            diseased_length_cm: Some(0.0),
            vessel_length_cm: Some(30.0),
            cto_length_cm: Some(0.0),
            cto_count: Some(0),
            tibial_origin_involved: Some(false),
            tp_trunk_cto: Some(false),
        }
    }

    fn fp(d: FpDescriptors) -> (u8, Explanation) {
        derive_fp(&d).unwrap()
    }

    fn ip(d: IpDescriptors) -> (u8, Explanation) {
        derive_ip(&d).unwrap()
    }

    fn sfa(l: f64) -> FpDescriptors {
        FpDescriptors { sfa_diseased_length_cm: Some(l), ..fp_none() }
    }

    fn sfa_cto(l: f64, c: f64, n: u32, flush: bool) -> FpDescriptors {
        FpDescriptors {
            sfa_diseased_length_cm: Some(l),
            sfa_cto_length_cm: Some(c),
            sfa_cto_count: Some(n),
            sfa_flush_occlusion: Some(flush),
            ..fp_none()
        }
    }

    fn pop(p: f64) -> FpDescriptors {
        FpDescriptors { popliteal_stenosis_length_cm: Some(p), ..fp_none() }
    }

    fn ip_sten(d: f64, v: f64) -> IpDescriptors {
        IpDescriptors { diseased_length_cm: Some(d), vessel_length_cm: Some(v), ..ip_none() }
    }

    fn ip_cto(d: f64, v: f64, c: f64, n: u32) -> IpDescriptors {
        IpDescriptors {
            diseased_length_cm: Some(d),
            vessel_length_cm: Some(v),
            cto_length_cm: Some(c),
            cto_count: Some(n),
            ..ip_none()
        }
    }

    fn boundary(e: &Explanation) -> bool {
        e.has_flag(FlagKind::AmbiguousBoundary)
    }

    // ----- matrix -----

    /// §2.2 typed literally: rows FP0-4, columns IP0-4.
    const PRINTED: [[&str; 5]; 5] = [
        ["NA", "I", "I", "II", "III"],
        ["I", "I", "II", "II", "III"],
        ["I", "II", "II", "II", "III"],
        ["II", "II", "II", "III", "III"],
        ["III", "III", "III", "III", "III"],
    ];

    fn printed_label(s: GlassStage) -> &'static str {
        match s {
            GlassStage::NotApplicable => "NA",
            GlassStage::I => "I",
            GlassStage::II => "II",
            GlassStage::III => "III",
        }
    }

    #[test]
    fn all_25_cells_match_references_2_2() {
        let mut checked = 0;
        for (f, row) in PRINTED.iter().enumerate() {
            for (i, want) in row.iter().enumerate() {
                let out = classify(&given(f as u8, i as u8)).unwrap();
                assert_eq!(printed_label(out.stage.stage), *want, "FP{f} IP{i}");
                assert_eq!(printed_label(stage_for(f as u8, i as u8).unwrap()), *want);
                assert!(out.stage.explanation.rule.contains(&format!("row FP{f}, column IP{i}")));
                checked += 1;
            }
        }
        assert_eq!(checked, 25);
    }

    #[test]
    fn matrix_equals_vendored_glass_json() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/reference/glass.json");
        let text = std::fs::read_to_string(path).expect("vendored glass.json");
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let cells = json["matrix_cells"].as_array().expect("matrix_cells");
        assert_eq!(cells.len(), 25);
        let mut seen = [[false; 5]; 5];
        for cell in cells {
            let f = cell["fp"].as_u64().unwrap() as usize;
            let i = cell["ip"].as_u64().unwrap() as usize;
            let ours = GLASS_STAGE_MATRIX[f][i];
            match cell["stage"].as_str() {
                None => {
                    assert!(cell["stage"].is_null());
                    assert_eq!(cell["display"], "NA");
                    assert_eq!(ours, GlassStage::NotApplicable, "FP{f} IP{i}");
                }
                Some(s) => assert_eq!(ours.label(), s, "FP{f} IP{i}"),
            }
            assert_eq!(cell["status"], "VERIFIED");
            seen[f][i] = true;
        }
        assert!(seen.iter().flatten().all(|s| *s));
        // Definitions, modifiers and stage meaning as transcribed.
        for g in 0..5 {
            assert_eq!(json["fp_grades"][g.to_string()], FP_GRADE_DEFINITIONS[g], "FP{g}");
            assert_eq!(json["ip_grades"][g.to_string()], IP_GRADE_DEFINITIONS[g], "IP{g}");
        }
        for (m, def) in IM_MODIFIER_DEFINITIONS {
            assert_eq!(json["inframalleolar_modifier"][m.label()], def);
        }
        for m in GLASS_STAGE_MEANING {
            let s = json["stage_meaning"][m.stage.label()].as_str().unwrap();
            assert!(s.contains(&format!("technical failure {}", m.technical_failure)), "{s}");
            assert!(s.contains(m.one_year_limb_based_patency), "{s}");
        }
    }

    #[test]
    fn stage_is_not_min_fp_plus_ip_3() {
        // ramchik/CLTI_Registry formula (REFERENCES.md §13); the cells where it differs from §2.2.
        let differing =
            [(0, 0), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3), (2, 0), (2, 1), (2, 2), (2, 3), (3, 0), (3, 1), (3, 2)];
        let num = |s: GlassStage| match s {
            GlassStage::NotApplicable => None,
            GlassStage::I => Some(1u8),
            GlassStage::II => Some(2),
            GlassStage::III => Some(3),
        };
        let mut found = Vec::new();
        for f in 0..5u8 {
            for i in 0..5u8 {
                let ours = num(classify(&given(f, i)).unwrap().stage.stage);
                if ours != Some((f + i).min(3)) {
                    found.push((f, i));
                }
            }
        }
        assert_eq!(found, differing);
        assert_eq!(classify(&given(0, 0)).unwrap().stage.stage, GlassStage::NotApplicable);
        assert_eq!(classify(&given(0, 2)).unwrap().stage.stage, GlassStage::I);
        assert_eq!(classify(&given(1, 1)).unwrap().stage.stage, GlassStage::I);
        assert_eq!(classify(&given(2, 0)).unwrap().stage.stage, GlassStage::I);
        assert_eq!(classify(&given(3, 0)).unwrap().stage.stage, GlassStage::II);
    }

    #[test]
    fn not_applicable_is_distinct_and_explained() {
        let out = classify(&given(0, 0)).unwrap();
        assert_eq!(out.stage.stage, GlassStage::NotApplicable);
        assert!(!out.stage.stage.is_stage());
        assert!(out.outcome.is_none());
        assert_eq!(out.stage.display, "GLASS not applicable");
        assert!(out.stage.explanation.rule.contains("no significant infrainguinal disease"));
        let json = serde_json::to_value(&out).unwrap();
        assert_eq!(json["stage"]["stage"], "not_applicable");
        assert!(json["outcome"].is_null());
    }

    #[test]
    fn outcome_text_per_stage() {
        let o = classify(&given(0, 1)).unwrap().outcome.unwrap();
        assert_eq!(o.text, "technical failure <10 %, 1-year LBP >70 %");
        assert_eq!((o.technical_failure, o.one_year_limb_based_patency), ("<10 %", ">70 %"));
        assert_eq!(o.explanation.source.id, "glass.stage_meaning");
        let o = classify(&given(2, 2)).unwrap().outcome.unwrap();
        assert_eq!(o.text, "technical failure <20 %, 1-year LBP 50–70 %");
        let o = classify(&given(4, 0)).unwrap().outcome.unwrap();
        assert_eq!(o.text, "technical failure >20 %, 1-year LBP <50 %");
        assert!(GLASS_STAGE_MEANING_SOURCE.citation.contains("independent open-source JS GLASS"));
    }

    #[test]
    fn inflow_note_and_sources() {
        let out = classify(&given(3, 1)).unwrap();
        assert_eq!(out.inflow_note, INFLOW_NOTE);
        assert!(out.stage.explanation.rule.contains("Aorto-iliac inflow is assessed separately"));
        assert_eq!(
            out.stage.explanation.rule,
            "FP grade 3 and IP grade 1 (after the calcification modifier) -> stage II (GVG matrix row FP3, column \
             IP1). IM modifier not assessed. Aorto-iliac inflow is assessed separately; it is not part of GLASS."
        );
        assert_eq!(out.stage.explanation.source.id, "glass.stage_matrix");
        assert_eq!(out.fp.explanation.source.id, "glass.grades");
        assert_eq!(out.fp.modifier_explanation.source.id, "glass.calcification_modifier");
        let secs = out.sections();
        assert_eq!(secs[0].label, "GLASS stage");
        assert_eq!(secs[0].result, "GLASS II");
        assert_eq!(secs.len(), 6);
    }

    // ----- calcification -----

    #[test]
    fn calcification_adds_one_and_caps_at_4() {
        for g in 0..=4u8 {
            assert_eq!(apply_calcification(g, false), g);
            assert_eq!(apply_calcification(g, true), (g + 1).min(4));
        }
        let mut i = given(4, 3);
        i.fp_severe_calcification = Some(true);
        i.ip_severe_calcification = Some(true);
        let out = classify(&i).unwrap();
        assert_eq!((out.fp.grade_before_modifier, out.fp.grade), (4, 4));
        assert_eq!((out.ip.grade_before_modifier, out.ip.grade), (3, 4));
        assert!(out.fp.modifier_explanation.rule.contains("cap"));
        // Applied before the matrix: FP1 IP1 = I, but calcified FP -> FP2 IP1 = II.
        let mut i = given(1, 1);
        assert_eq!(classify(&i).unwrap().stage.stage, GlassStage::I);
        i.fp_severe_calcification = Some(true);
        let out = classify(&i).unwrap();
        assert_eq!(out.stage.stage, GlassStage::II);
        assert!(out.stage.explanation.rule.contains("row FP2, column IP1"));
        // Calcified FP0/IP0 is no longer "not applicable".
        let mut i = given(0, 0);
        i.ip_severe_calcification = Some(true);
        assert_eq!(classify(&i).unwrap().stage.stage, GlassStage::I);
    }

    #[test]
    fn calcification_is_required() {
        let mut i = given(1, 1);
        i.fp_severe_calcification = None;
        let e = classify(&i).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("fp_severe_calcification", Problem::Missing));
        let mut i = given(1, 1);
        i.ip_severe_calcification = None;
        assert_eq!(classify(&i).unwrap_err().field, "ip_severe_calcification");
    }

    // ----- IM -----

    #[test]
    fn im_modifier_displayed_never_changes_stage() {
        for (m, want) in
            [(ImModifier::P0, "GLASS II (P0)"), (ImModifier::P1, "GLASS II (P1)"), (ImModifier::P2, "GLASS II (P2)")]
        {
            let mut i = given(3, 1);
            i.im_modifier = Some(m);
            let out = classify(&i).unwrap();
            assert_eq!(out.stage.stage, GlassStage::II);
            assert_eq!(out.stage.display, want);
            assert_eq!(out.im.as_ref().unwrap().basis, Basis::Given);
        }
        let mut i = given(0, 0);
        i.im_modifier = Some(ImModifier::P2);
        assert_eq!(classify(&i).unwrap().stage.display, "GLASS not applicable (P2)");
    }

    #[test]
    fn im_derived_from_descriptors() {
        let cases = [
            (Some(true), Some(true), ImModifier::P0),
            (Some(true), Some(false), ImModifier::P1),
            (Some(false), None, ImModifier::P2),
            (Some(false), Some(true), ImModifier::P2),
        ];
        for (crosses, arch, want) in cases {
            let mut i = given(2, 2);
            i.im_descriptors = Some(ImDescriptors { target_crosses_ankle: crosses, pedal_arch_intact: arch });
            let im = classify(&i).unwrap().im.unwrap();
            assert_eq!(im.modifier, want);
            assert_eq!(im.basis, Basis::Derived);
        }
        let mut i = given(2, 2);
        i.im_descriptors = Some(ImDescriptors { target_crosses_ankle: Some(true), pedal_arch_intact: None });
        let e = classify(&i).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("im_descriptors.pedal_arch_intact", Problem::Missing));
        i.im_descriptors = Some(ImDescriptors { target_crosses_ankle: None, pedal_arch_intact: Some(true) });
        assert_eq!(classify(&i).unwrap_err().field, "im_descriptors.target_crosses_ankle");
        i.im_modifier = Some(ImModifier::P0);
        let e = classify(&i).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("im_modifier", Problem::Inconsistent));
    }

    // ----- given vs derived errors -----

    #[test]
    fn grade_errors() {
        let e = classify(&given(5, 0)).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("fp_grade", Problem::OutOfRange));
        let e = classify(&given(0, 9)).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("ip_grade", Problem::OutOfRange));
        let mut i = given(1, 1);
        i.fp_descriptors = Some(fp_none());
        let e = classify(&i).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("fp_grade", Problem::Inconsistent));
        let mut i = given(1, 1);
        i.ip_descriptors = Some(ip_none());
        let e = classify(&i).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("ip_grade", Problem::Inconsistent));
        let mut i = given(1, 1);
        i.fp_grade = None;
        let e = classify(&i).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("fp_grade", Problem::Missing));
        let mut i = given(1, 1);
        i.ip_grade = None;
        assert_eq!(classify(&i).unwrap_err().field, "ip_grade");
    }

    #[test]
    fn descriptor_errors_name_the_field() {
        let mut d = fp_none();
        d.popliteal_cto = None;
        let e = derive_fp(&d).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("fp_descriptors.popliteal_cto", Problem::Missing));
        let e = derive_fp(&sfa(f64::NAN)).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("fp_descriptors.sfa_diseased_length_cm", Problem::NotANumber));
        let e = derive_fp(&sfa(-1.0)).unwrap_err();
        assert_eq!(e.problem, Problem::OutOfRange);
        let e = derive_fp(&sfa_cto(5.0, 6.0, 1, false)).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("fp_descriptors.sfa_cto_length_cm", Problem::Inconsistent));
        let e = derive_fp(&sfa_cto(5.0, 2.0, 0, false)).unwrap_err();
        assert_eq!(e.field, "fp_descriptors.sfa_cto_count");
        let e = derive_fp(&sfa_cto(5.0, 0.0, 1, false)).unwrap_err();
        assert_eq!(e.field, "fp_descriptors.sfa_cto_length_cm");
        let e = derive_fp(&sfa_cto(5.0, 0.0, 0, true)).unwrap_err();
        assert_eq!(e.field, "fp_descriptors.sfa_flush_occlusion");
        let e = derive_fp(&FpDescriptors { popliteal_trifurcation_involved: Some(true), ..fp_none() }).unwrap_err();
        assert_eq!(e.field, "fp_descriptors.popliteal_trifurcation_involved");

        let e = derive_ip(&IpDescriptors { target_artery: None, ..ip_none() }).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("ip_descriptors.target_artery", Problem::Missing));
        let e = derive_ip(&ip_sten(0.0, 0.0)).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("ip_descriptors.vessel_length_cm", Problem::OutOfRange));
        let e = derive_ip(&ip_sten(31.0, 30.0)).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("ip_descriptors.diseased_length_cm", Problem::Inconsistent));
        let e = derive_ip(&ip_cto(2.0, 30.0, 3.0, 1)).unwrap_err();
        assert_eq!(e.field, "ip_descriptors.cto_length_cm");
        let e = derive_ip(&ip_cto(5.0, 30.0, 2.0, 0)).unwrap_err();
        assert_eq!(e.field, "ip_descriptors.cto_count");
        let e = derive_ip(&ip_cto(5.0, 30.0, 0.0, 2)).unwrap_err();
        assert_eq!(e.field, "ip_descriptors.cto_length_cm");
        let e = derive_ip(&IpDescriptors { tibial_origin_involved: Some(true), ..ip_none() }).unwrap_err();
        assert_eq!(e.field, "ip_descriptors.tibial_origin_involved");
        let e = derive_ip(&ip_sten(f64::INFINITY, 30.0)).unwrap_err();
        assert_eq!(e.problem, Problem::NotANumber);
    }

    // ----- FP derivation, both sides of every boundary -----

    #[test]
    fn fp_no_disease_is_fp0() {
        let (g, e) = fp(fp_none());
        assert_eq!(g, 0);
        assert!(!boundary(&e));
        assert_eq!(e.inputs.len(), 7);
    }

    #[test]
    fn fp_sfa_disease_boundaries() {
        let cases = [
            (0.1, 1, false),
            (9.9, 1, false),
            (10.0, 2, true),
            (10.1, 2, false),
            (19.9, 2, false),
            (20.0, 2, true),
            (20.1, 3, false),
            (40.0, 3, false),
        ];
        for (l, want, flag) in cases {
            let (g, e) = fp(sfa(l));
            assert_eq!(g, want, "SFA {l} cm");
            assert_eq!(boundary(&e), flag, "SFA {l} cm flag");
            assert!(e.rule.contains(&format!("SFA disease {l} cm")), "{}", e.rule);
        }
    }

    #[test]
    fn fp_sfa_cto_boundaries() {
        // (diseased, cto, count, flush) -> grade, flag
        let cases = [
            (15.0, 4.9, 1, false, 2, false), // FP2 from disease 15 cm; CTO itself FP1
            (8.0, 4.9, 1, false, 1, false),
            (8.0, 5.0, 1, false, 2, true),
            (8.0, 5.1, 1, false, 2, false),
            (8.0, 4.0, 2, false, 2, false), // two CTOs totalling <10: FP2
        ];
        for (l, c, n, flush, want, flag) in cases {
            let (g, e) = fp(sfa_cto(l, c, n, flush));
            assert_eq!(g, want, "L{l} C{c} N{n} flush {flush}");
            assert_eq!(boundary(&e), flag, "L{l} C{c} flag: {:?}", e.flags);
        }
        let more = [
            (25.0, 9.9, 1, false, 3, false), // disease >20 drives FP3; CTO 9.9 is FP2
            (15.0, 9.9, 1, false, 2, false),
            (15.0, 10.0, 1, false, 3, true),
            (15.0, 10.1, 1, false, 3, false),
            (25.0, 19.9, 1, false, 3, false),
            (25.0, 20.0, 1, false, 3, true),
            (25.0, 20.1, 1, false, 4, false),
            (8.0, 1.0, 1, true, 3, false), // any flush occlusion <20 -> FP3
            (25.0, 19.9, 1, true, 3, false),
            (25.0, 20.0, 1, true, 3, true), // gap
            (25.0, 20.1, 1, true, 4, false),
        ];
        for (l, c, n, flush, want, flag) in more {
            let (g, e) = fp(sfa_cto(l, c, n, flush));
            assert_eq!(g, want, "L{l} C{c} N{n} flush {flush}");
            assert_eq!(boundary(&e), flag, "L{l} C{c} flush {flush} flag: {:?}", e.flags);
        }
        // The CTO alone drives FP2 at 5 cm and the rule names it.
        let (_, e) = fp(sfa_cto(8.0, 5.0, 1, false));
        assert!(e.rule.contains("driven by SFA CTO total 5 cm"), "{}", e.rule);
        let (_, e) = fp(sfa_cto(25.0, 20.0, 1, true));
        assert!(e.flags[0].message.contains("Flush SFA occlusion exactly 20 cm"));
        // Flush 1 cm drives FP3 although the disease length is FP1.
        let (_, e) = fp(sfa_cto(8.0, 1.0, 1, true));
        assert!(e.rule.contains("driven by SFA CTO total 1 cm including a flush occlusion"), "{}", e.rule);
        assert!(e.rule.contains("Other descriptors: SFA disease 8 cm"), "{}", e.rule);
    }

    #[test]
    fn fp_popliteal_boundaries() {
        let cases = [
            (0.1, 2, false),
            (1.9, 2, false),
            (2.0, 3, true),
            (2.1, 3, false),
            (4.9, 3, false),
            (5.0, 3, true),
            (5.1, 4, false),
        ];
        for (p, want, flag) in cases {
            let (g, e) = fp(pop(p));
            assert_eq!(g, want, "popliteal {p} cm");
            assert_eq!(boundary(&e), flag, "popliteal {p} flag");
        }
        let (g, e) = fp(FpDescriptors { popliteal_cto: Some(true), ..fp_none() });
        assert_eq!(g, 4);
        assert!(e.rule.contains("popliteal CTO"));
        let (g, e) = fp(FpDescriptors {
            popliteal_trifurcation_involved: Some(true),
            popliteal_stenosis_length_cm: Some(1.0),
            ..fp_none()
        });
        assert_eq!(g, 4);
        assert!(e.rule.contains("trifurcation"));
    }

    #[test]
    fn fp_boundary_flag_raised_even_when_another_descriptor_drives() {
        let (g, e) = fp(FpDescriptors { sfa_diseased_length_cm: Some(10.0), popliteal_cto: Some(true), ..fp_none() });
        assert_eq!(g, 4);
        assert!(boundary(&e));
    }

    // ----- IP derivation -----

    #[test]
    fn ip_no_disease_is_ip0() {
        let (g, e) = ip(ip_none());
        assert_eq!(g, 0);
        assert!(!boundary(&e));
    }

    #[test]
    fn ip_stenosis_boundaries() {
        // vessel 30 cm: 1/3 = 10 cm, 2/3 = 20 cm
        let cases = [
            (2.9, 30.0, 1, false),
            (3.0, 30.0, 2, true),
            (3.1, 30.0, 2, false),
            (9.9, 30.0, 2, false),
            (10.0, 30.0, 2, true),
            (10.1, 30.0, 3, false),
            (19.9, 30.0, 3, false),
            (20.0, 30.0, 3, true),
            (20.1, 30.0, 4, false),
            (30.0, 30.0, 4, false),
            (2.0, 5.0, 3, false),  // short vessel: fraction 0.4 beats the focal rule
            (2.0, 6.0, 2, true),   // exactly 1/3 with <3 cm
            (12.1, 36.3, 2, true), // decimal exactly 1/3 within tolerance
        ];
        for (d, v, want, flag) in cases {
            let (g, e) = ip(ip_sten(d, v));
            assert_eq!(g, want, "IP disease {d}/{v}");
            assert_eq!(boundary(&e), flag, "IP disease {d}/{v} flag {:?}", e.flags);
        }
    }

    #[test]
    fn ip_cto_boundaries() {
        let cases = [
            (9.0, 30.0, 2.9, 1, 2, false),
            (9.0, 30.0, 3.0, 1, 3, true),
            (9.0, 30.0, 3.1, 1, 3, false),
            (5.0, 30.0, 2.0, 2, 3, false), // two CTOs -> 'CTO up to 1/3'
            (15.0, 30.0, 9.9, 1, 3, false),
            (15.0, 30.0, 10.0, 1, 3, true),
            (15.0, 30.0, 10.1, 1, 4, false),
        ];
        for (d, v, c, n, want, flag) in cases {
            let (g, e) = ip(ip_cto(d, v, c, n));
            assert_eq!(g, want, "IP CTO {c}/{v} n{n}");
            assert_eq!(boundary(&e), flag, "IP CTO {c}/{v} flag {:?}", e.flags);
        }
        let (_, e) = ip(ip_cto(2.5, 30.0, 2.0, 1));
        assert!(e.rule.contains("driven by single CTO 2 cm"), "{}", e.rule);
    }

    #[test]
    fn ip_tibial_origin() {
        let (g, e) = ip(IpDescriptors { tibial_origin_involved: Some(true), ..ip_sten(2.0, 30.0) });
        assert_eq!(g, 3);
        assert!(boundary(&e));
        assert!(e.rule.contains("driven by tibial origin involved"), "{}", e.rule);
        let (g, e) = ip(IpDescriptors { tibial_origin_involved: Some(true), ..ip_sten(5.0, 30.0) });
        assert_eq!(g, 3);
        assert!(!boundary(&e), "IP2 explicitly excludes the origin: no ambiguity");
        let (g, _) = ip(IpDescriptors { tibial_origin_involved: Some(false), ..ip_sten(5.0, 30.0) });
        assert_eq!(g, 2);
    }

    #[test]
    fn ip_tp_trunk_cto() {
        for target in [TargetArtery::PosteriorTibial, TargetArtery::Peroneal] {
            let (g, e) = ip(IpDescriptors { target_artery: Some(target), tp_trunk_cto: Some(true), ..ip_none() });
            assert_eq!(g, 4, "{target:?}");
            assert!(!boundary(&e));
        }
        let (g, e) = ip(IpDescriptors {
            target_artery: Some(TargetArtery::AnteriorTibial),
            tp_trunk_cto: Some(true),
            ..ip_sten(5.0, 30.0)
        });
        assert_eq!(g, 2, "TP trunk not on the AT path");
        assert!(boundary(&e));
        assert!(e.flags[0].message.contains("AT as target"));
        let (g, _) = ip(IpDescriptors { target_artery: Some(TargetArtery::AnteriorTibial), ..ip_sten(5.0, 30.0) });
        assert_eq!(g, 2);
    }

    #[test]
    fn derived_grades_flow_through_classify() {
        let i = GlassInput {
            fp_grade: None,
            fp_descriptors: Some(sfa_cto(15.0, 12.0, 1, false)),
            fp_severe_calcification: Some(false),
            ip_grade: None,
            ip_descriptors: Some(ip_sten(2.0, 30.0)),
            ip_severe_calcification: Some(true),
            im_modifier: None,
            im_descriptors: Some(ImDescriptors { target_crosses_ankle: Some(false), pedal_arch_intact: None }),
        };
        let out = classify(&i).unwrap();
        assert_eq!((out.fp.grade, out.fp.basis), (3, Basis::Derived));
        assert_eq!((out.ip.grade_before_modifier, out.ip.grade), (1, 2));
        assert_eq!(out.stage.stage, GlassStage::II);
        assert_eq!(out.stage.display, "GLASS II (P2)");
    }

    #[test]
    fn json_input_shape() {
        let i: GlassInput = serde_json::from_str(
            r#"{"fp_grade": 3, "fp_severe_calcification": false,
                "ip_descriptors": {"target_artery": "posterior_tibial", "diseased_length_cm": 12,
                  "vessel_length_cm": 36, "cto_length_cm": 0, "cto_count": 0,
                  "tibial_origin_involved": false, "tp_trunk_cto": false},
                "ip_severe_calcification": true, "im_modifier": "P2"}"#,
        )
        .unwrap();
        let out = classify(&i).unwrap();
        assert_eq!(out.stage.display, "GLASS III (P2)");
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(v["stage"]["stage"], "III");
        assert_eq!(v["ip"]["grade_before_modifier"], 2);
        assert_eq!(v["ip"]["grade"], 3);
        assert_eq!(v["im"]["modifier"], "P2");
        assert!(serde_json::from_str::<GlassInput>(r#"{"fp_grade": 1, "bogus": 1}"#).is_err());
    }

    // ----- properties -----

    fn any_len() -> impl Strategy<Value = Option<f64>> {
        prop::option::of(prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-1.0),
            Just(0.0),
            Just(3.0),
            Just(5.0),
            Just(10.0),
            Just(20.0),
            Just(1e300),
            -5.0..200.0f64,
            any::<f64>(),
        ])
    }

    prop_compose! {
        fn any_fp()(l in any_len(), c in any_len(), n in prop::option::of(0u32..4), f in prop::option::of(any::<bool>()),
                    p in any_len(), t in prop::option::of(any::<bool>()), k in prop::option::of(any::<bool>())) -> FpDescriptors {
            FpDescriptors { sfa_diseased_length_cm: l, sfa_cto_length_cm: c, sfa_cto_count: n, sfa_flush_occlusion: f,
                            popliteal_stenosis_length_cm: p, popliteal_trifurcation_involved: t, popliteal_cto: k }
        }
    }

    prop_compose! {
        fn any_ip()(a in prop::option::of(prop_oneof![Just(TargetArtery::AnteriorTibial), Just(TargetArtery::PosteriorTibial), Just(TargetArtery::Peroneal)]),
                    d in any_len(), v in any_len(), c in any_len(), n in prop::option::of(0u32..4),
                    o in prop::option::of(any::<bool>()), t in prop::option::of(any::<bool>())) -> IpDescriptors {
            IpDescriptors { target_artery: a, diseased_length_cm: d, vessel_length_cm: v, cto_length_cm: c, cto_count: n,
                            tibial_origin_involved: o, tp_trunk_cto: t }
        }
    }

    fn bad(v: Option<f64>) -> bool {
        v.is_some_and(|x| !x.is_finite() || !(0.0..=150.0).contains(&x))
    }

    proptest! {
        #[test]
        fn never_panics_and_invalid_is_err(
            fpg in prop::option::of(any::<u8>()), fpd in prop::option::of(any_fp()), fpc in prop::option::of(any::<bool>()),
            ipg in prop::option::of(any::<u8>()), ipd in prop::option::of(any_ip()), ipc in prop::option::of(any::<bool>()),
            im in prop::option::of(prop_oneof![Just(ImModifier::P0), Just(ImModifier::P1), Just(ImModifier::P2)]),
            imd in prop::option::of((prop::option::of(any::<bool>()), prop::option::of(any::<bool>()))),
        ) {
            let input = GlassInput {
                fp_grade: fpg, fp_descriptors: fpd.clone(), fp_severe_calcification: fpc,
                ip_grade: ipg, ip_descriptors: ipd.clone(), ip_severe_calcification: ipc,
                im_modifier: im,
                im_descriptors: imd.map(|(a, b)| ImDescriptors { target_crosses_ankle: a, pedal_arch_intact: b }),
            };
            let r = classify(&input);
            let invalid = fpg.is_some_and(|g| g > 4) || ipg.is_some_and(|g| g > 4)
                || fpc.is_none() || ipc.is_none()
                || fpg.is_some() == fpd.is_some() || ipg.is_some() == ipd.is_some()
                || fpd.as_ref().is_some_and(|d| bad(d.sfa_diseased_length_cm) || bad(d.sfa_cto_length_cm) || bad(d.popliteal_stenosis_length_cm))
                || ipd.as_ref().is_some_and(|d| bad(d.diseased_length_cm) || bad(d.vessel_length_cm) || bad(d.cto_length_cm));
            if invalid {
                prop_assert!(r.is_err());
            }
            if let Ok(out) = r {
                prop_assert!(out.fp.grade <= 4 && out.ip.grade <= 4);
                prop_assert!(out.fp.grade >= out.fp.grade_before_modifier);
                prop_assert_eq!(out.fp.grade, apply_calcification(out.fp.grade_before_modifier, out.fp.severe_calcification));
                prop_assert_eq!(out.stage.stage, GLASS_STAGE_MATRIX[usize::from(out.fp.grade)][usize::from(out.ip.grade)]);
                prop_assert_eq!(out.outcome.is_some(), out.stage.stage.is_stage());
            }
        }

        #[test]
        fn derivation_is_monotone_in_sfa_length(a in 0.0..150.0f64, b in 0.0..150.0f64) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let (g1, _) = derive_fp(&sfa(lo)).unwrap();
            let (g2, _) = derive_fp(&sfa(hi)).unwrap();
            prop_assert!(g1 <= g2);
        }

        #[test]
        fn random_json_never_panics(s in "\\PC*") {
            if let Ok(i) = serde_json::from_str::<GlassInput>(&s) {
                let _ = classify(&i);
            }
        }
    }
}
