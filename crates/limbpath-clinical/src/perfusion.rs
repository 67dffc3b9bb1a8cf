//! Perfusion indices: the ankle-brachial index per leg from the DP and PT
//! ankle pressures and both brachial pressures, the toe-brachial index, and
//! their guideline categories (REFERENCES.md §4).
//!
//! These guideline categories are separate from the WIfI ischaemia grades
//! (`wifi.rs`); the two tables are never reused for each other.
//!
//! Rules chosen:
//! - ABI = higher of DP/PT at that ankle ÷ higher of the two brachial
//!   pressures (§4). One brachial pressure is accepted with a `Review` flag.
//! - Categories are graded on the unrounded ratio; the ABI is also reported
//!   to two decimals. A ratio that falls between two printed bands (0.90 <
//!   ABI < 0.91, 0.99 < ABI < 1.00) is placed by the band edges "≤0.90" and
//!   "1.00–1.40" and flagged `BetweenPrintedBands`.

use crate::error::{InvalidInput, Result};
use crate::explain::{EvidenceStatus, Explain, Explanation, FlagKind, Section, Source, fixed, number};
use crate::limits::{BRACHIAL_MMHG, PRESSURE_MMHG};
use serde::{Deserialize, Serialize};

// source: ACC/AHA 2016 (and 2024), ESC 2017/2024 via guideline summaries; REFERENCES.md §4 | status: VERIFIED through secondary summaries
pub static ABI_CATEGORY_SOURCE: Source = Source {
    id: "perfusion.abi_categories",
    citation: "ACC/AHA 2016 (and 2024) and ESC 2017/2024 PAD guidelines: ABI ≤0.90 abnormal, 0.91–0.99 borderline, 1.00–1.40 normal, >1.40 non-compressible",
    reference: "REFERENCES.md §4",
    status: EvidenceStatus::Verified,
    status_note: "verified through secondary guideline summaries",
};

// source: alexadduci.com vascular criteria (IAC-style): ABI per leg = higher ankle / higher brachial; >1.30 falsely elevated | status: SINGLE-SOURCE for 1.30 and 0.15
pub static ABI_COMPUTATION_SOURCE: Source = Source {
    id: "perfusion.abi_computation",
    citation: "IAC-style vascular laboratory criteria (alexadduci.com): ABI per leg = higher of DP/PT ÷ higher brachial pressure",
    reference: "REFERENCES.md §4",
    status: EvidenceStatus::SingleSource,
    status_note: "the >1.30 'falsely elevated' and 0.15 change figures are single-source; the guideline cut-off is >1.40",
};

// source: secondary summaries (droracle; xradiologist "normal >0.7"); IWGDF TBI ≥0.75 PAD less likely (secondary) | status: SINGLE-SOURCE (secondary only)
pub static TBI_SOURCE: Source = Source {
    id: "perfusion.tbi_categories",
    citation: "TBI <0.70 abnormal (secondary guideline summaries); IWGDF: TBI ≥0.75 makes PAD less likely (secondary)",
    reference: "REFERENCES.md §4",
    status: EvidenceStatus::SingleSource,
    status_note: "secondary summaries only",
};

/// ABI category per REFERENCES.md §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AbiCategory {
    /// ≤0.90: abnormal (PAD).
    Abnormal,
    /// 0.91–0.99.
    Borderline,
    /// 1.00–1.40.
    Normal,
    /// >1.40: vessels non-compressible, ABI unreliable.
    NonCompressible,
}

impl AbiCategory {
    pub fn label(self) -> &'static str {
        match self {
            AbiCategory::Abnormal => "abnormal (≤0.90, PAD)",
            AbiCategory::Borderline => "borderline (0.91–0.99)",
            AbiCategory::Normal => "normal (1.00–1.40)",
            AbiCategory::NonCompressible => "non-compressible (>1.40)",
        }
    }
}

// ABI category band edges, REFERENCES.md §4 (ACC/AHA, ESC).
const ABI_ABNORMAL_MAX: f64 = 0.90; // ≤ 0.90
const ABI_BORDERLINE_PRINTED_MIN: f64 = 0.91; // printed "0.91–0.99"
const ABI_BORDERLINE_PRINTED_MAX: f64 = 0.99;
const ABI_NORMAL_MIN: f64 = 1.00; // 1.00–1.40
const ABI_NORMAL_MAX: f64 = 1.40; // > 1.40 non-compressible
/// Some vascular labs flag an ABI above this as falsely elevated (single source).
pub const ABI_FALSELY_ELEVATED_LAB_FLAG: f64 = 1.30;
// TBI: < 0.70 abnormal; IWGDF ≥ 0.75 PAD less likely (both secondary).
const TBI_ABNORMAL_BELOW: f64 = 0.70;
const TBI_PAD_LESS_LIKELY_FROM: f64 = 0.75;

/// Whether an ABI this high is unreliable for grading (>1.40, non-compressible).
pub fn abi_unreliable(abi: f64) -> bool {
    abi > ABI_NORMAL_MAX
}

/// Categorise an ABI ratio; returns the category and whether the value lay
/// between two printed bands.
pub fn abi_category(abi: f64) -> (AbiCategory, bool) {
    if abi <= ABI_ABNORMAL_MAX {
        (AbiCategory::Abnormal, false)
    } else if abi < ABI_NORMAL_MIN {
        let between = abi < ABI_BORDERLINE_PRINTED_MIN || abi > ABI_BORDERLINE_PRINTED_MAX;
        (AbiCategory::Borderline, between)
    } else if abi <= ABI_NORMAL_MAX {
        (AbiCategory::Normal, false)
    } else {
        (AbiCategory::NonCompressible, false)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TbiCategory {
    /// < 0.70.
    Abnormal,
    /// ≥ 0.70 (≥ 0.75: IWGDF says PAD less likely).
    Normal,
}

/// Pressures measured on one leg.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LegPressures {
    pub dorsalis_pedis_mmhg: Option<f64>,
    pub posterior_tibial_mmhg: Option<f64>,
    pub toe_pressure_mmhg: Option<f64>,
}

/// Pressures for the ABI: both brachial pressures and each leg's ankle and toe.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PressureSet {
    pub brachial_left_mmhg: Option<f64>,
    pub brachial_right_mmhg: Option<f64>,
    pub left: Option<LegPressures>,
    pub right: Option<LegPressures>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Left,
    Right,
}

impl Side {
    pub fn label(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AbiResult {
    /// The unrounded ratio.
    pub abi: f64,
    /// As a vascular lab reports it: two decimals.
    pub abi_reported: String,
    pub category: AbiCategory,
    pub ankle_pressure_mmhg: f64,
    pub brachial_pressure_mmhg: f64,
    pub explanation: Explanation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TbiResult {
    pub tbi: f64,
    pub tbi_reported: String,
    pub category: TbiCategory,
    pub explanation: Explanation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegIndices {
    pub side: Side,
    pub abi: Option<AbiResult>,
    pub tbi: Option<TbiResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerfusionResult {
    pub legs: Vec<LegIndices>,
}

/// The higher of the two brachial pressures, validated, and a note when only one was given.
fn brachial(set: &PressureSet) -> Result<(f64, Option<&'static str>)> {
    let l = BRACHIAL_MMHG.check_opt("brachial_left_mmhg", set.brachial_left_mmhg)?;
    let r = BRACHIAL_MMHG.check_opt("brachial_right_mmhg", set.brachial_right_mmhg)?;
    let (value, note) = match (l, r) {
        (Some(l), Some(r)) => (l.max(r), None),
        (Some(l), None) => (l, Some("only the left brachial pressure was given; the ABI uses the higher of both arms")),
        (None, Some(r)) => {
            (r, Some("only the right brachial pressure was given; the ABI uses the higher of both arms"))
        }
        (None, None) => {
            return Err(InvalidInput::missing(
                "brachial_left_mmhg",
                "at least one brachial systolic pressure in mmHg (both recommended)",
            ));
        }
    };
    Ok((value, note))
}

fn two_decimals(v: f64) -> String {
    fixed(v, 2, false)
}

fn leg(side: Side, p: &LegPressures, brachial: f64, brachial_note: Option<&str>) -> Result<LegIndices> {
    let prefix = side.label();
    let dp = PRESSURE_MMHG.check_opt("dorsalis_pedis_mmhg", p.dorsalis_pedis_mmhg).map_err(|e| e.within(prefix))?;
    let pt = PRESSURE_MMHG.check_opt("posterior_tibial_mmhg", p.posterior_tibial_mmhg).map_err(|e| e.within(prefix))?;
    let toe = PRESSURE_MMHG.check_opt("toe_pressure_mmhg", p.toe_pressure_mmhg).map_err(|e| e.within(prefix))?;

    let ankle = match (dp, pt) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let abi = ankle.map(|ankle| {
        let ratio = ankle / brachial;
        let (category, between) = abi_category(ratio);
        let mut e = Explanation::new(
            &ABI_CATEGORY_SOURCE,
            format!(
                "{prefix} ABI = higher ankle pressure {ankle} ÷ higher brachial pressure {brachial} = {} → {}",
                two_decimals(ratio),
                category.label()
            ),
        )
        .input("brachial_mmhg", brachial);
        if let Some(dp) = dp {
            e.push_input("dorsalis_pedis_mmhg", dp);
        }
        if let Some(pt) = pt {
            e.push_input("posterior_tibial_mmhg", pt);
        }
        if dp.is_none() || pt.is_none() {
            e.push_flag(
                FlagKind::Incomplete,
                "only one ankle artery pressure given; the ABI uses the higher of DP and PT",
            );
        }
        if let Some(note) = brachial_note {
            e.push_flag(FlagKind::Incomplete, note);
        }
        if between {
            e.push_flag(
                FlagKind::BetweenPrintedBands,
                format!(
                    "ABI {} lies between the printed bands; placed by the edges ≤0.90 and 1.00–1.40",
                    number(ratio)
                ),
            );
        }
        if ratio > ABI_FALSELY_ELEVATED_LAB_FLAG && ratio <= ABI_NORMAL_MAX {
            e.push_flag(
                FlagKind::SingleSource,
                "ABI >1.30: some vascular labs regard this as falsely elevated (single source); consider toe pressure",
            );
        }
        if category == AbiCategory::NonCompressible {
            e.push_flag(
                FlagKind::MeasurementExcluded,
                "ABI >1.40: non-compressible vessels; use toe pressure or TcPO2",
            );
        }
        AbiResult {
            abi: ratio,
            abi_reported: two_decimals(ratio),
            category,
            ankle_pressure_mmhg: ankle,
            brachial_pressure_mmhg: brachial,
            explanation: e,
        }
    });
    let tbi = toe.map(|toe| {
        let ratio = toe / brachial;
        let category = if ratio < TBI_ABNORMAL_BELOW { TbiCategory::Abnormal } else { TbiCategory::Normal };
        let words = match category {
            TbiCategory::Abnormal => "abnormal (<0.70)",
            TbiCategory::Normal if ratio >= TBI_PAD_LESS_LIKELY_FROM => {
                "normal (≥0.70); ≥0.75 makes PAD less likely (IWGDF)"
            }
            TbiCategory::Normal => "normal (≥0.70)",
        };
        let e = Explanation::new(
            &TBI_SOURCE,
            format!(
                "{prefix} TBI = toe pressure {toe} ÷ higher brachial pressure {brachial} = {} → {words}",
                two_decimals(ratio)
            ),
        )
        .input("toe_pressure_mmhg", toe)
        .input("brachial_mmhg", brachial)
        .flag(FlagKind::SingleSource, "TBI thresholds come from secondary summaries only");
        TbiResult { tbi: ratio, tbi_reported: two_decimals(ratio), category, explanation: e }
    });
    Ok(LegIndices { side, abi, tbi })
}

/// ABI and TBI for each leg that has pressures.
pub fn classify(set: &PressureSet) -> Result<PerfusionResult> {
    let (brachial, note) = brachial(set)?;
    let mut legs = Vec::with_capacity(2);
    for (side, p) in [(Side::Left, &set.left), (Side::Right, &set.right)] {
        if let Some(p) = p {
            legs.push(leg(side, p, brachial, note)?);
        }
    }
    if legs.iter().all(|l| l.abi.is_none() && l.tbi.is_none()) {
        return Err(InvalidInput::missing(
            "left.dorsalis_pedis_mmhg",
            "at least one ankle (DP or PT) or toe pressure on the left or right leg",
        ));
    }
    Ok(PerfusionResult { legs })
}

impl Explain for PerfusionResult {
    fn sections(&self) -> Vec<Section<'_>> {
        let mut out = Vec::new();
        for leg in &self.legs {
            if let Some(a) = &leg.abi {
                out.push(Section {
                    label: if leg.side == Side::Left { "ABI left" } else { "ABI right" },
                    result: format!("{} {}", a.abi_reported, a.category.label()),
                    explanation: &a.explanation,
                });
            }
            if let Some(t) = &leg.tbi {
                out.push(Section {
                    label: if leg.side == Side::Left { "TBI left" } else { "TBI right" },
                    result: format!("{} {:?}", t.tbi_reported, t.category).to_lowercase(),
                    explanation: &t.explanation,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(bl: f64, br: f64, dp: f64, pt: f64) -> PressureSet {
        PressureSet {
            brachial_left_mmhg: Some(bl),
            brachial_right_mmhg: Some(br),
            left: Some(LegPressures {
                dorsalis_pedis_mmhg: Some(dp),
                posterior_tibial_mmhg: Some(pt),
                toe_pressure_mmhg: None,
            }),
            right: None,
        }
    }

    #[test]
    fn abi_uses_higher_ankle_over_higher_brachial() {
        let r = classify(&set(120.0, 140.0, 70.0, 63.0)).unwrap();
        let abi = r.legs[0].abi.as_ref().unwrap();
        assert_eq!(abi.ankle_pressure_mmhg, 70.0);
        assert_eq!(abi.brachial_pressure_mmhg, 140.0);
        assert_eq!(abi.abi, 0.5);
        assert_eq!(abi.abi_reported, "0.50");
        assert_eq!(abi.category, AbiCategory::Abnormal);
    }

    #[test]
    fn abi_category_boundaries() {
        assert_eq!(abi_category(0.90), (AbiCategory::Abnormal, false));
        assert_eq!(abi_category(0.91), (AbiCategory::Borderline, false));
        assert_eq!(abi_category(0.99), (AbiCategory::Borderline, false));
        assert_eq!(abi_category(0.905), (AbiCategory::Borderline, true));
        assert_eq!(abi_category(0.995), (AbiCategory::Borderline, true));
        assert_eq!(abi_category(1.00), (AbiCategory::Normal, false));
        assert_eq!(abi_category(1.40), (AbiCategory::Normal, false));
        assert_eq!(abi_category(1.41), (AbiCategory::NonCompressible, false));
        assert!(!abi_unreliable(1.40));
        assert!(abi_unreliable(1.41));
    }

    #[test]
    fn falsely_elevated_lab_flag_between_1_30_and_1_40() {
        let r = classify(&set(100.0, 100.0, 135.0, 120.0)).unwrap();
        assert!(r.legs[0].abi.as_ref().unwrap().explanation.has_flag(FlagKind::SingleSource));
        let r = classify(&set(100.0, 100.0, 130.0, 120.0)).unwrap();
        assert!(!r.legs[0].abi.as_ref().unwrap().explanation.has_flag(FlagKind::SingleSource));
    }

    #[test]
    fn tbi_boundaries() {
        let mut s = set(100.0, 100.0, 90.0, 90.0);
        s.left.as_mut().unwrap().toe_pressure_mmhg = Some(69.0);
        assert_eq!(classify(&s).unwrap().legs[0].tbi.as_ref().unwrap().category, TbiCategory::Abnormal);
        s.left.as_mut().unwrap().toe_pressure_mmhg = Some(70.0);
        assert_eq!(classify(&s).unwrap().legs[0].tbi.as_ref().unwrap().category, TbiCategory::Normal);
    }

    #[test]
    fn errors_name_the_field() {
        let e = classify(&set(0.0, 0.0, 50.0, 50.0)).unwrap_err();
        assert_eq!(e.field, "brachial_left_mmhg");
        // a vanishing arm pressure would make the index infinite
        let e = classify(&set(1e-308, 120.0, 50.0, 50.0)).unwrap_err();
        assert_eq!(e.field, "brachial_left_mmhg");
        assert_eq!(classify(&set(20.0, 19.0, 50.0, 50.0)).unwrap_err().field, "brachial_right_mmhg");
        let e = classify(&set(120.0, 120.0, -5.0, 50.0)).unwrap_err();
        assert_eq!(e.field, "left.dorsalis_pedis_mmhg");
        let e = classify(&PressureSet::default()).unwrap_err();
        assert_eq!(e.field, "brachial_left_mmhg");
        let e = classify(&PressureSet { brachial_left_mmhg: Some(120.0), ..Default::default() }).unwrap_err();
        assert_eq!(e.problem, crate::Problem::Missing);
    }

    #[test]
    fn one_brachial_is_flagged() {
        let mut s = set(120.0, 0.0, 60.0, 60.0);
        s.brachial_right_mmhg = None;
        let r = classify(&s).unwrap();
        assert!(r.legs[0].abi.as_ref().unwrap().explanation.has_flag(FlagKind::Incomplete));
    }

    proptest! {
        #[test]
        fn never_panics(bl in prop::option::of(prop::num::f64::ANY), br in prop::option::of(-10.0f64..400.0),
                        dp in prop::option::of(prop::num::f64::ANY), pt in prop::option::of(-10.0f64..400.0),
                        toe in prop::option::of(-10.0f64..400.0)) {
            let s = PressureSet {
                brachial_left_mmhg: bl, brachial_right_mmhg: br,
                left: Some(LegPressures { dorsalis_pedis_mmhg: dp, posterior_tibial_mmhg: pt, toe_pressure_mmhg: toe }),
                right: None,
            };
            if let Ok(r) = classify(&s) {
                for leg in r.legs {
                    if let Some(a) = leg.abi { prop_assert!(a.abi.is_finite() && a.abi >= 0.0); }
                }
            }
        }
    }
}
