//! Mangled Extremity Severity Score (MESS), Johansen K et al., J Trauma
//! 1990;30:568-573: four components summed to a total of 2 to 14.
//!
//! Rules chosen where the sources leave room (REFERENCES.md §6, §13, §14):
//! - **Johansen only.** The Helfet et al. 1990 "MESS" (its ischaemia scale starts
//!   at 0) is a different score and is not mixed in.
//! - **Ischaemia doubling** only when the ischaemia time is strictly more than
//!   6 h: exactly 6 h is not doubled. The ischaemia time is required; without it
//!   the doubling cannot be decided, so a missing time is an error.
//! - **No ischaemia 0.** Johansen has no score for a normally perfused limb (an
//!   open item, §14). A limb ischaemia of 0 is rejected with an explanation; the
//!   Helfet 0 is not borrowed.
//! - **Age** is taken in completed years. Johansen's bands are <30 → 0,
//!   30-50 → 1, >50 → 2, so age exactly 50 scores 1; an MDCalc-style "≥50" would
//!   give 2. At 50 an `AmbiguousBoundary` flag says so and gives the other total.
//! - **Threshold.** Johansen's ≥7 is shown as a `Caution` with its known limits
//!   whatever the total, plus a plain line saying whether the total is at/above
//!   or below it. It is never a verdict.

use crate::error::{InvalidInput, Problem, Result};
use crate::explain::{EvidenceStatus, Explain, Explanation, FlagKind, Section, Source};
use crate::limits;
use serde::{Deserialize, Serialize};

pub static MESS_SOURCE: Source = Source {
    id: "trauma.mess",
    citation: "Johansen K et al., J Trauma 1990;30:568-573 (MESS), via PMC3415969 table 1",
    reference: "REFERENCES.md §6",
    status: EvidenceStatus::Verified,
    status_note: "age-50 boundary differs between sources (Johansen's 30-50 band used, flagged)",
};

/// One level of a MESS component: the points it scores and its definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessLevel {
    pub points: u8,
    pub definition: &'static str,
}

// source: Johansen K et al., J Trauma 1990;30:568-573 (MESS), via PMC3415969 table 1 | status: VERIFIED; age-50 boundary differs between sources
pub const SKELETAL_SOFT_TISSUE: [MessLevel; 4] = [
    MessLevel { points: 1, definition: "low energy (stab, simple fracture, civilian/pistol GSW)" },
    MessLevel { points: 2, definition: "medium energy (open or multiple fractures, dislocation)" },
    MessLevel {
        points: 3,
        definition: "high energy (high-speed MVA or rifle GSW; the original also lists \
                     close-range shotgun, military GSW, crush)",
    },
    MessLevel { points: 4, definition: "very high energy (as 3 plus gross contamination or soft-tissue avulsion)" },
];

// source: Johansen K et al., J Trauma 1990;30:568-573 (MESS), via PMC3415969 table 1 | status: VERIFIED; age-50 boundary differs between sources
// Johansen has no level 0 (REFERENCES.md §6, §14 item 7).
pub const LIMB_ISCHAEMIA: [MessLevel; 3] = [
    MessLevel { points: 1, definition: "pulse reduced or absent but perfusion normal" },
    MessLevel { points: 2, definition: "pulseless, paraesthesias, diminished capillary refill" },
    MessLevel { points: 3, definition: "cool, paralysed, insensate, numb" },
];

// source: Johansen K et al., J Trauma 1990;30:568-573 (MESS), via PMC3415969 table 1 | status: VERIFIED; age-50 boundary differs between sources
pub const SHOCK: [MessLevel; 3] = [
    MessLevel { points: 0, definition: "systolic BP always >90 mmHg" },
    MessLevel { points: 1, definition: "transient hypotension" },
    MessLevel { points: 2, definition: "persistent hypotension" },
];

/// An age band in completed years, both ends inclusive (`max` None: no upper end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeBand {
    pub min_years: u32,
    pub max_years: Option<u32>,
    pub points: u8,
    pub definition: &'static str,
}

// source: Johansen K et al., J Trauma 1990;30:568-573 (MESS), via PMC3415969 table 1 | status: VERIFIED; age-50 boundary differs between sources
// Johansen's "30-50" includes 50 (MDCalc-style ">=50" gives 2; flagged at 50).
pub const AGE_BANDS: [AgeBand; 3] = [
    AgeBand { min_years: 0, max_years: Some(29), points: 0, definition: "<30 y" },
    AgeBand { min_years: 30, max_years: Some(50), points: 1, definition: "30-50 y" },
    AgeBand { min_years: 51, max_years: None, points: 2, definition: ">50 y" },
];

// source: Johansen K et al., J Trauma 1990;30:568-573 (MESS), via PMC3415969 table 1 | status: VERIFIED
/// Limb ischaemia points double when the ischaemia time is MORE than this (h).
pub const ISCHAEMIA_DOUBLING_HOURS: f64 = 6.0;
/// The age at which Johansen (1 point) and MDCalc-style ">=50" (2 points) differ.
pub const AGE_BOUNDARY_YEARS: u32 = 50;
/// A total at or above this predicted amputation in Johansen's series.
pub const JOHANSEN_THRESHOLD: u8 = 7;
/// The lowest and highest totals the Johansen table can give.
pub const MESS_MIN_TOTAL: u8 = 2;
pub const MESS_MAX_TOTAL: u8 = 14;

/// MESS input: points for the three graded components, the ischaemia time and
/// the age.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessInput {
    /// Skeletal / soft-tissue injury, 1 to 4.
    pub skeletal_soft_tissue_injury: u8,
    /// Limb ischaemia, 1 to 3 (before doubling).
    pub limb_ischaemia: u8,
    /// Ischaemia time in hours; required to decide the doubling (> 6 h).
    #[serde(default)]
    pub ischaemia_hours: Option<f64>,
    /// Shock, 0 to 2.
    pub shock: u8,
    /// Age in completed years.
    pub age_years: u32,
}

/// A scored MESS component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessComponent {
    pub points: u8,
    /// The definition of the level (or age band) that scored.
    pub definition: &'static str,
    pub explanation: Explanation,
}

/// The limb-ischaemia component: the level given and whether it was doubled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IschaemiaComponent {
    /// The level given, 1 to 3.
    pub level: u8,
    pub doubled: bool,
    /// Points counted in the total (level, or twice the level).
    pub points: u8,
    pub definition: &'static str,
    pub explanation: Explanation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessOutput {
    /// 2 to 14.
    pub total: u8,
    /// Johansen's threshold (7), shown with its limits; never a verdict.
    pub johansen_threshold: u8,
    /// One line placing the total at/above or below Johansen's threshold.
    pub threshold_note: String,
    pub skeletal_soft_tissue_injury: MessComponent,
    pub limb_ischaemia: IschaemiaComponent,
    pub shock: MessComponent,
    pub age: MessComponent,
    pub explanation: Explanation,
}

impl Explain for MessOutput {
    fn sections(&self) -> Vec<Section<'_>> {
        vec![
            Section {
                label: "MESS (Johansen 1990)",
                result: format!("{} (range 2-14)", self.total),
                explanation: &self.explanation,
            },
            Section {
                label: "MESS skeletal/soft-tissue injury",
                result: self.skeletal_soft_tissue_injury.points.to_string(),
                explanation: &self.skeletal_soft_tissue_injury.explanation,
            },
            Section {
                label: "MESS limb ischaemia",
                result: if self.limb_ischaemia.doubled {
                    format!("{} ({} doubled)", self.limb_ischaemia.points, self.limb_ischaemia.level)
                } else {
                    self.limb_ischaemia.points.to_string()
                },
                explanation: &self.limb_ischaemia.explanation,
            },
            Section {
                label: "MESS shock",
                result: self.shock.points.to_string(),
                explanation: &self.shock.explanation,
            },
            Section { label: "MESS age", result: self.age.points.to_string(), explanation: &self.age.explanation },
        ]
    }
}

const CAUTION: &str = "MESS is not a decision rule. A total of 7 or more predicted amputation \
     in Johansen's 1990 series, but the LEAP study (Bosse MJ et al., JBJS Am 2001;83:3-14) \
     found low sensitivity, and MDCalc notes that the score's creator later suggested a cut-off \
     of 8-9. The score must not decide amputation on its own.";

const NO_ISCHAEMIA_ZERO: &str = "1, 2 or 3 (Johansen 1990). Johansen's MESS has no ischaemia \
     score for a normally perfused limb (open item, REFERENCES.md §14), so a normally perfused \
     limb cannot be scored here; the 0 of the Helfet et al. 1990 variant is a different score and \
     must not be borrowed";

fn level(table: &'static [MessLevel], field: &str, points: u8, accepted: &str) -> Result<&'static MessLevel> {
    table.iter().find(|l| l.points == points).ok_or_else(|| InvalidInput::out_of_range(field, points, accepted))
}

fn age_band(age: u32) -> Result<&'static AgeBand> {
    AGE_BANDS
        .iter()
        .find(|b| age >= b.min_years && b.max_years.is_none_or(|max| age <= max))
        .ok_or_else(|| InvalidInput::out_of_range("age_years", age, limits::AGE_YEARS.describe()))
}

/// MESS total and its four components.
pub fn classify(input: &MessInput) -> Result<MessOutput> {
    // Validation, field by field.
    let skeletal = level(
        &SKELETAL_SOFT_TISSUE,
        "skeletal_soft_tissue_injury",
        input.skeletal_soft_tissue_injury,
        "a whole number from 1 to 4",
    )?;
    if input.limb_ischaemia == 0 {
        return Err(InvalidInput::new("limb_ischaemia", Some("0".to_owned()), Problem::OutOfRange, NO_ISCHAEMIA_ZERO));
    }
    let ischaemia = level(&LIMB_ISCHAEMIA, "limb_ischaemia", input.limb_ischaemia, NO_ISCHAEMIA_ZERO)?;
    let hours = limits::require(
        "ischaemia_hours",
        input.ischaemia_hours,
        "the limb ischaemia time in hours (0 to 720); required to decide whether the \
         ischaemia points are doubled (> 6 h)",
    )?;
    let hours = limits::HOURS.check("ischaemia_hours", hours)?;
    let shock = level(&SHOCK, "shock", input.shock, "a whole number from 0 to 2")?;
    limits::AGE_YEARS.check("age_years", f64::from(input.age_years))?;
    let age = age_band(input.age_years)?;

    // Scoring.
    let doubled = hours > ISCHAEMIA_DOUBLING_HOURS;
    let ischaemia_points = if doubled { ischaemia.points * 2 } else { ischaemia.points };
    let total = skeletal.points + ischaemia_points + shock.points + age.points;
    let at_age_boundary = input.age_years == AGE_BOUNDARY_YEARS;

    let skeletal_c = MessComponent {
        points: skeletal.points,
        definition: skeletal.definition,
        explanation: Explanation::new(
            &MESS_SOURCE,
            format!(
                "skeletal/soft-tissue injury {}: {} -> {} point(s)",
                skeletal.points, skeletal.definition, skeletal.points
            ),
        )
        .input("skeletal_soft_tissue_injury", input.skeletal_soft_tissue_injury),
    };

    let doubling_rule = if doubled {
        format!("ischaemia time {hours} h is more than 6 h: doubled to {ischaemia_points}")
    } else if hours == ISCHAEMIA_DOUBLING_HOURS {
        "ischaemia time exactly 6 h is not more than 6 h: not doubled".to_owned()
    } else {
        format!("ischaemia time {hours} h is not more than 6 h: not doubled")
    };
    let ischaemia_c = IschaemiaComponent {
        level: ischaemia.points,
        doubled,
        points: ischaemia_points,
        definition: ischaemia.definition,
        explanation: Explanation::new(
            &MESS_SOURCE,
            format!(
                "limb ischaemia {}: {}; {doubling_rule} -> {ischaemia_points} point(s)",
                ischaemia.points, ischaemia.definition
            ),
        )
        .input("limb_ischaemia", input.limb_ischaemia)
        .input("ischaemia_hours", hours),
    };

    let shock_c = MessComponent {
        points: shock.points,
        definition: shock.definition,
        explanation: Explanation::new(
            &MESS_SOURCE,
            format!("shock {}: {} -> {} point(s)", shock.points, shock.definition, shock.points),
        )
        .input("shock", input.shock),
    };

    let boundary_message = format!(
        "Age exactly 50: Johansen's 30-50 band gives 1 point (used here); MDCalc-style \
         implementations that use >=50 give 2 points, which would make the total {} instead of \
         {total}.",
        total + 1
    );
    let mut age_explanation = Explanation::new(
        &MESS_SOURCE,
        format!(
            "age {} completed years is in Johansen's band {} -> {} point(s)",
            input.age_years, age.definition, age.points
        ),
    )
    .input("age_years", input.age_years);
    if at_age_boundary {
        age_explanation.push_flag(FlagKind::AmbiguousBoundary, boundary_message.clone());
    }
    let age_c = MessComponent { points: age.points, definition: age.definition, explanation: age_explanation };

    let threshold_note = if total >= JOHANSEN_THRESHOLD {
        format!(
            "Total {total} is at or above Johansen's threshold of {JOHANSEN_THRESHOLD} (read it \
             with the caution)."
        )
    } else {
        format!(
            "Total {total} is below Johansen's threshold of {JOHANSEN_THRESHOLD} (read it with \
             the caution)."
        )
    };
    let mut explanation = Explanation::new(
        &MESS_SOURCE,
        format!(
            "skeletal/soft-tissue {} + limb ischaemia {ischaemia_points}{} + shock {} + age {} = \
             {total}. {threshold_note}",
            skeletal.points,
            if doubled { format!(" ({} doubled, > 6 h)", ischaemia.points) } else { String::new() },
            shock.points,
            age.points,
        ),
    )
    .input("skeletal_soft_tissue_injury", input.skeletal_soft_tissue_injury)
    .input("limb_ischaemia", input.limb_ischaemia)
    .input("ischaemia_hours", hours)
    .input("shock", input.shock)
    .input("age_years", input.age_years)
    .flag(FlagKind::Caution, CAUTION);
    if at_age_boundary {
        explanation.push_flag(FlagKind::AmbiguousBoundary, boundary_message);
    }

    Ok(MessOutput {
        total,
        johansen_threshold: JOHANSEN_THRESHOLD,
        threshold_note,
        skeletal_soft_tissue_injury: skeletal_c,
        limb_ischaemia: ischaemia_c,
        shock: shock_c,
        age: age_c,
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input(energy: u8, isch: u8, hours: f64, shock: u8, age: u32) -> MessInput {
        MessInput {
            skeletal_soft_tissue_injury: energy,
            limb_ischaemia: isch,
            ischaemia_hours: Some(hours),
            shock,
            age_years: age,
        }
    }

    #[test]
    fn brief_example() {
        // --energy 3 --ischaemia 2 --ischaemia-hours 7 --shock 1 --age-years 50
        let out = classify(&input(3, 2, 7.0, 1, 50)).unwrap();
        assert_eq!(out.skeletal_soft_tissue_injury.points, 3);
        assert_eq!(out.limb_ischaemia.level, 2);
        assert!(out.limb_ischaemia.doubled);
        assert_eq!(out.limb_ischaemia.points, 4);
        assert_eq!(out.shock.points, 1);
        assert_eq!(out.age.points, 1);
        assert_eq!(out.total, 9);
        assert!(out.explanation.has_flag(FlagKind::AmbiguousBoundary));
        assert!(out.age.explanation.has_flag(FlagKind::AmbiguousBoundary));
        let msg = &out.explanation.flags.iter().find(|f| f.kind == FlagKind::AmbiguousBoundary).unwrap().message;
        assert!(msg.contains("total 10 instead of 9"), "{msg}");
        assert_eq!(out.threshold_note, "Total 9 is at or above Johansen's threshold of 7 (read it with the caution).");
    }

    #[test]
    fn every_level_of_every_component() {
        let energy = [
            (1, "low energy (stab, simple fracture, civilian/pistol GSW)"),
            (2, "medium energy (open or multiple fractures, dislocation)"),
            (
                3,
                "high energy (high-speed MVA or rifle GSW; the original also lists close-range shotgun, military GSW, crush)",
            ),
            (4, "very high energy (as 3 plus gross contamination or soft-tissue avulsion)"),
        ];
        for (p, def) in energy {
            let out = classify(&input(p, 1, 0.0, 0, 20)).unwrap();
            assert_eq!(out.skeletal_soft_tissue_injury.points, p);
            assert_eq!(out.skeletal_soft_tissue_injury.definition, def);
            assert_eq!(out.total, p + 1);
        }
        let isch = [
            (1, "pulse reduced or absent but perfusion normal"),
            (2, "pulseless, paraesthesias, diminished capillary refill"),
            (3, "cool, paralysed, insensate, numb"),
        ];
        for (p, def) in isch {
            let out = classify(&input(1, p, 6.0, 0, 20)).unwrap();
            assert_eq!(out.limb_ischaemia.points, p);
            assert_eq!(out.limb_ischaemia.definition, def);
            let out = classify(&input(1, p, 6.01, 0, 20)).unwrap();
            assert_eq!(out.limb_ischaemia.points, 2 * p);
        }
        let shock = [(0, "systolic BP always >90 mmHg"), (1, "transient hypotension"), (2, "persistent hypotension")];
        for (p, def) in shock {
            let out = classify(&input(1, 1, 0.0, p, 20)).unwrap();
            assert_eq!(out.shock.points, p);
            assert_eq!(out.shock.definition, def);
            assert_eq!(out.total, 2 + p);
        }
    }

    #[test]
    fn ischaemia_doubling_boundary() {
        for (hours, doubled, points) in
            [(0.0, false, 2), (5.99, false, 2), (6.0, false, 2), (6.01, true, 4), (7.0, true, 4), (720.0, true, 4)]
        {
            let out = classify(&input(1, 2, hours, 0, 20)).unwrap();
            assert_eq!(out.limb_ischaemia.doubled, doubled, "{hours} h");
            assert_eq!(out.limb_ischaemia.points, points, "{hours} h");
            assert_eq!(out.total, 1 + points, "{hours} h");
        }
        let out = classify(&input(1, 2, 6.0, 0, 20)).unwrap();
        assert!(out.limb_ischaemia.explanation.rule.contains("exactly 6 h is not more than 6 h: not doubled"));
    }

    #[test]
    fn age_bands_and_the_50_boundary() {
        for (age, points, flagged) in [
            (0, 0, false),
            (29, 0, false),
            (30, 1, false),
            (49, 1, false),
            (50, 1, true),
            (51, 2, false),
            (120, 2, false),
        ] {
            let out = classify(&input(1, 1, 0.0, 0, age)).unwrap();
            assert_eq!(out.age.points, points, "age {age}");
            assert_eq!(out.total, 2 + points, "age {age}");
            assert_eq!(out.explanation.has_flag(FlagKind::AmbiguousBoundary), flagged, "age {age}");
            assert_eq!(out.age.explanation.has_flag(FlagKind::AmbiguousBoundary), flagged, "age {age}");
        }
        assert_eq!(classify(&input(1, 1, 0.0, 0, 50)).unwrap().age.definition, "30-50 y");
    }

    #[test]
    fn range_is_2_to_14() {
        assert_eq!(classify(&input(1, 1, 0.0, 0, 0)).unwrap().total, MESS_MIN_TOTAL);
        assert_eq!(classify(&input(4, 3, 6.5, 2, 80)).unwrap().total, MESS_MAX_TOTAL);
    }

    #[test]
    fn caution_always_and_threshold_line_both_sides() {
        // 6: below.
        let out = classify(&input(2, 2, 6.0, 1, 40)).unwrap();
        assert_eq!(out.total, 6);
        assert!(out.explanation.has_flag(FlagKind::Caution));
        assert_eq!(out.threshold_note, "Total 6 is below Johansen's threshold of 7 (read it with the caution).");
        // 7: at.
        let out = classify(&input(2, 2, 6.0, 2, 40)).unwrap();
        assert_eq!(out.total, 7);
        assert!(out.explanation.has_flag(FlagKind::Caution));
        assert_eq!(out.threshold_note, "Total 7 is at or above Johansen's threshold of 7 (read it with the caution).");
        assert_eq!(out.johansen_threshold, 7);
        let caution = &out.explanation.flags.iter().find(|f| f.kind == FlagKind::Caution).unwrap().message;
        for part in ["LEAP", "Bosse", "low sensitivity", "8-9", "must not decide amputation"] {
            assert!(caution.contains(part), "{part}");
        }
        assert!(out.explanation.rule.contains("= 7."));
        // Minimum total still carries the caution; no boundary flag away from 50.
        let out = classify(&input(1, 1, 0.0, 0, 0)).unwrap();
        assert_eq!(out.explanation.flags.len(), 1);
        assert_eq!(out.explanation.flags[0].kind, FlagKind::Caution);
    }

    #[test]
    fn ischaemia_zero_is_rejected_with_explanation() {
        let e = classify(&input(1, 0, 0.0, 0, 20)).unwrap_err();
        assert_eq!(e.field, "limb_ischaemia");
        assert_eq!(e.problem, Problem::OutOfRange);
        assert_eq!(e.value.as_deref(), Some("0"));
        assert!(e.accepted.contains("normally perfused"));
        assert!(e.accepted.contains("Helfet"));
        let e = classify(&input(1, 4, 0.0, 0, 20)).unwrap_err();
        assert_eq!(e.field, "limb_ischaemia");
    }

    #[test]
    fn errors_name_fields() {
        let cases: [(MessInput, &str, Problem); 9] = [
            (input(0, 1, 0.0, 0, 20), "skeletal_soft_tissue_injury", Problem::OutOfRange),
            (input(5, 1, 0.0, 0, 20), "skeletal_soft_tissue_injury", Problem::OutOfRange),
            (input(1, 1, 0.0, 3, 20), "shock", Problem::OutOfRange),
            (input(1, 1, -0.5, 0, 20), "ischaemia_hours", Problem::OutOfRange),
            (input(1, 1, 721.0, 0, 20), "ischaemia_hours", Problem::OutOfRange),
            (input(1, 1, f64::NAN, 0, 20), "ischaemia_hours", Problem::NotANumber),
            (input(1, 1, f64::NEG_INFINITY, 0, 20), "ischaemia_hours", Problem::NotANumber),
            (input(1, 1, 0.0, 0, 121), "age_years", Problem::OutOfRange),
            (MessInput { ischaemia_hours: None, ..input(1, 1, 0.0, 0, 20) }, "ischaemia_hours", Problem::Missing),
        ];
        for (i, field, problem) in cases {
            let e = classify(&i).unwrap_err();
            assert_eq!((e.field.as_str(), e.problem), (field, problem), "{i:?}");
        }
    }

    #[test]
    fn json_shape() {
        let i: MessInput = serde_json::from_str(
            r#"{"skeletal_soft_tissue_injury":3,"limb_ischaemia":2,"ischaemia_hours":7,"shock":1,"age_years":50}"#,
        )
        .unwrap();
        let v = serde_json::to_value(classify(&i).unwrap()).unwrap();
        assert_eq!(v["total"], 9);
        assert_eq!(v["limb_ischaemia"]["points"], 4);
        assert_eq!(v["limb_ischaemia"]["doubled"], true);
        assert_eq!(v["age"]["explanation"]["flags"][0]["kind"], "AMBIGUOUS_BOUNDARY");
        assert!(serde_json::from_str::<MessInput>(r#"{"skeletal_soft_tissue_injury":3}"#).is_err());
        // ischaemia_hours absent parses, then is refused by classify.
        let i: MessInput =
            serde_json::from_str(r#"{"skeletal_soft_tissue_injury":3,"limb_ischaemia":2,"shock":1,"age_years":50}"#)
                .unwrap();
        assert_eq!(classify(&i).unwrap_err().field, "ischaemia_hours");
    }

    proptest! {
        #[test]
        fn never_panics_and_invalid_is_err(e in any::<u8>(), i in any::<u8>(), s in any::<u8>(),
                                           h in proptest::option::of(any::<f64>()), a in any::<u32>()) {
            let input = MessInput { skeletal_soft_tissue_injury: e, limb_ischaemia: i, ischaemia_hours: h, shock: s, age_years: a };
            let valid = (1..=4).contains(&e) && (1..=3).contains(&i) && (0..=2).contains(&s) && a <= 120
                && h.is_some_and(|h| h.is_finite() && (0.0..=720.0).contains(&h));
            match classify(&input) {
                Ok(out) => {
                    prop_assert!(valid);
                    prop_assert!((MESS_MIN_TOTAL..=MESS_MAX_TOTAL).contains(&out.total));
                    prop_assert_eq!(out.total, out.skeletal_soft_tissue_injury.points + out.limb_ischaemia.points
                        + out.shock.points + out.age.points);
                    prop_assert!(out.explanation.has_flag(FlagKind::Caution));
                }
                Err(_) => prop_assert!(!valid),
            }
        }

        #[test]
        fn valid_totals_within_2_to_14(e in 1u8..=4, i in 1u8..=3, s in 0u8..=2, h in 0.0f64..=720.0, a in 0u32..=120) {
            let out = classify(&input(e, i, h, s, a)).unwrap();
            prop_assert!((2..=14).contains(&out.total));
            prop_assert_eq!(out.limb_ischaemia.doubled, h > 6.0);
        }

        #[test]
        fn json_with_random_values_never_panics(s in ".{0,12}", n in any::<i64>(), f in any::<f64>()) {
            let f = if f.is_finite() { serde_json::json!(f) } else { serde_json::json!(s) };
            let v = serde_json::json!({"skeletal_soft_tissue_injury": n, "limb_ischaemia": n,
                "ischaemia_hours": f, "shock": n, "age_years": n});
            if let Ok(i) = serde_json::from_value::<MessInput>(v) { let _ = classify(&i); }
            let _ = serde_json::from_str::<MessInput>(&s);
        }
    }
}
