//! Paley multiplier method: predicted lower-limb-length discrepancy (LLD) and
//! limb length at skeletal maturity (Paley D et al., JBJS Am 2000;82:1432-46;
//! REFERENCES.md §9).
//!
//! What it computes, from sex, chronological age, the type of discrepancy and
//! the current discrepancy Δ (and optionally the current length L of the long,
//! normal limb segment):
//! - the LLD multiplier M for that sex and age (table §9.2, SINGLE-SOURCE);
//! - the LLD at maturity: congenital Δm = Δ × M; developmental
//!   Δm = Δ + I × G, where G = L × (M − 1) is the growth remaining of the normal
//!   limb and I the growth inhibition (formulas §9.1, VERIFIED from the abstract);
//! - when L is given: length at maturity Lm = L × M and growth remaining
//!   G = L × (M − 1).
//!
//! Rules chosen for the ambiguities the reference leaves open:
//! - **Table status.** The multiplier table has a single source: every result
//!   carries a `SINGLE_SOURCE` flag.
//! - **Girls at 0.25 y = 4.355** is probably a transcription error (§9.2). It is
//!   shipped as printed and every result that uses it, as the tabulated cell or
//!   as one end of an interpolation (girls older than 0 y and younger than
//!   0.5 y), carries a `SUSPECT` flag.
//! - **Ages between tabulated rows.** The reference leaves the rule UNVERIFIED
//!   (nearest row or interpolation). LimbPath uses linear interpolation between
//!   the two bracketing rows: for a0 < age < a1 with multipliers m0 and m1,
//!   M = m0 + (age − a0) / (a1 − a0) × (m1 − m0). The result carries an
//!   `INTERPOLATED` flag naming both rows and their values. Tabulated ages are
//!   looked up exactly, with no interpolation.
//! - **Age range.** The table covers birth (0 y) to 17 y; any other age is
//!   refused (out of range), never clamped to the nearest row.
//! - **Growth inhibition I** is required for a developmental discrepancy and
//!   accepted as given by the clinician (0 to 1). LimbPath does not compute I
//!   from two visits because the wording of that formula is UNVERIFIED (§9.1);
//!   the result carries a `CAUTION` flag saying so. I given for a congenital
//!   discrepancy is refused as inconsistent (Δm = Δ × M does not use it).
//!
//! Deliberately not shipped (UNVERIFIED in the reference): the two-visit
//! growth-inhibition formula, epiphysiodesis timing (and physis shares) and the
//! height multipliers (§9.3).

use crate::error::{InvalidInput, Problem, Result};
use crate::explain::{EvidenceStatus, Explain, Explanation, Flag, FlagKind, Section, Source, number as num};
use crate::limits;
use serde::{Deserialize, Serialize};

/// The LLD multiplier table (§9.2).
pub static PALEY_LLD_MULTIPLIERS_SOURCE: Source = Source {
    id: "limb_length.paley_lld_multipliers",
    citation: "Paley D, Bhave A, Herzenberg JE, Bowen JR. Multiplier method for predicting limb-length \
               discrepancy. J Bone Joint Surg Am 2000;82(10):1432-46 (PMID 11057472); table via \
               guided-growth-calculations.com/multipliers.html",
    reference: "REFERENCES.md §9.2",
    status: EvidenceStatus::SingleSource,
    status_note: "single source, not yet checked against the paper; girls 0.25 y = 4.355 SUSPECT (shipped as \
                  printed); the rule for ages between rows is UNVERIFIED",
};

/// The multiplier formulas (§9.1).
pub static PALEY_FORMULAS_SOURCE: Source = Source {
    id: "limb_length.paley_formulas",
    citation: "Paley D, Bhave A, Herzenberg JE, Bowen JR. Multiplier method for predicting limb-length \
               discrepancy. J Bone Joint Surg Am 2000;82(10):1432-46 (PMID 11057472), abstract \
               (orthobullets.com/evidence/11057472)",
    reference: "REFERENCES.md §9.1",
    status: EvidenceStatus::Verified,
    status_note: "formulas verified from the abstract; they use the SINGLE-SOURCE multiplier table; the \
                  growth-inhibition formula wording is UNVERIFIED and not computed",
};

/// Sex: the table has a boys and a girls column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Sex::Male => "boys",
            Sex::Female => "girls",
        }
    }
}

/// Type of discrepancy, which selects the formula for the LLD at maturity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LldType {
    /// Congenital: the discrepancy grows in proportion, Δm = Δ × M.
    Congenital,
    /// Developmental (progressive): Δm = Δ + I × G.
    Developmental,
}

impl LldType {
    fn as_str(self) -> &'static str {
        match self {
            LldType::Congenital => "congenital",
            LldType::Developmental => "developmental",
        }
    }
}

/// One printed row of the Paley LLD multiplier table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MultiplierRow {
    /// Chronological age in years (0 = birth).
    pub age_years: f64,
    pub boys: f64,
    pub girls: f64,
    /// The girls value is a SUSPECT cell (probable transcription error).
    pub girls_suspect: bool,
}

const fn row(age_years: f64, boys: f64, girls: f64) -> MultiplierRow {
    MultiplierRow { age_years, boys, girls, girls_suspect: false }
}

const fn suspect_girls(age_years: f64, boys: f64, girls: f64) -> MultiplierRow {
    MultiplierRow { age_years, boys, girls, girls_suspect: true }
}

/// The 41 rows of the Paley LLD multiplier table, birth to 17 y, every cell as
/// printed. No default cell: ages outside the table are refused.
// source: Paley D et al., JBJS Am 2000;82(10):1432-46 (PMID 11057472), table via guided-growth-calculations.com/multipliers.html | status: SINGLE-SOURCE; girls 0.25 y SUSPECT
pub const LLD_MULTIPLIERS: [MultiplierRow; 41] = [
    row(0.0, 5.080, 4.630),            // birth
    suspect_girls(0.25, 4.550, 4.355), // girls 4.355 SUSPECT: shipped as printed, flagged when used
    row(0.5, 4.050, 3.725),
    row(0.75, 3.600, 3.300),
    row(1.0, 3.240, 2.970),
    row(1.25, 2.975, 2.750),
    row(1.5, 2.825, 2.600),
    row(1.75, 2.700, 2.490),
    row(2.0, 2.590, 2.390),
    row(2.25, 2.480, 2.295),
    row(2.5, 2.385, 2.200),
    row(2.75, 2.300, 2.125),
    row(3.0, 2.230, 2.050),
    row(3.5, 2.110, 1.925),
    row(4.0, 2.000, 1.830),
    row(4.5, 1.890, 1.740),
    row(5.0, 1.820, 1.660),
    row(5.5, 1.740, 1.580),
    row(6.0, 1.670, 1.510),
    row(6.5, 1.620, 1.460),
    row(7.0, 1.570, 1.430),
    row(7.5, 1.520, 1.370),
    row(8.0, 1.470, 1.330),
    row(8.5, 1.420, 1.290),
    row(9.0, 1.380, 1.260),
    row(9.5, 1.340, 1.220),
    row(10.0, 1.310, 1.190),
    row(10.5, 1.280, 1.160),
    row(11.0, 1.240, 1.130),
    row(11.5, 1.220, 1.100),
    row(12.0, 1.180, 1.070),
    row(12.5, 1.160, 1.050),
    row(13.0, 1.130, 1.030),
    row(13.5, 1.100, 1.010),
    row(14.0, 1.080, 1.000),
    row(14.5, 1.060, 1.000),
    row(15.0, 1.040, 1.000),
    row(15.5, 1.020, 1.000),
    row(16.0, 1.010, 1.000),
    row(16.5, 1.010, 1.000),
    row(17.0, 1.000, 1.000),
];

/// First and last tabulated ages: the domain of the table.
pub const TABLE_FIRST_AGE_YEARS: f64 = LLD_MULTIPLIERS[0].age_years;
pub const TABLE_LAST_AGE_YEARS: f64 = LLD_MULTIPLIERS[LLD_MULTIPLIERS.len() - 1].age_years;

const AGE_ACCEPTED: &str = "a number from 0 (birth) to 17 years: the Paley LLD multiplier table covers birth to 17 y";

/// The input of the Paley multiplier method.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub sex: Sex,
    /// Chronological age in years, 0 (birth) to 17.
    pub age_years: f64,
    /// `congenital` or `developmental` (JSON field `type`).
    #[serde(rename = "type")]
    pub lld_type: LldType,
    /// Current limb-length discrepancy Δ in cm (≥ 0).
    pub current_lld_cm: f64,
    /// Current length L of the long (normal) limb segment in cm. Required for
    /// a developmental discrepancy; gives length at maturity and growth
    /// remaining whenever present.
    #[serde(default)]
    pub current_length_cm: Option<f64>,
    /// Growth inhibition I, 0 to 1, as assessed by the clinician. Required for
    /// a developmental discrepancy, refused for a congenital one.
    #[serde(default)]
    pub growth_inhibition: Option<f64>,
}

/// A tabulated row used for the multiplier: its age and the value of the
/// column for the patient's sex.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RowUsed {
    pub age_years: f64,
    pub multiplier: f64,
}

/// The multiplier M for one sex and age, with the rows it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Multiplier {
    pub value: f64,
    /// True when the age lies between two rows and M was interpolated.
    pub interpolated: bool,
    /// The tabulated row (one) or the two bracketing rows (interpolated).
    pub rows_used: Vec<RowUsed>,
    /// True when the SUSPECT girls 0.25 y cell was used.
    pub suspect_cell_used: bool,
    pub explanation: Explanation,
}

/// A length in cm derived from the multiplier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub value_cm: f64,
    pub explanation: Explanation,
}

/// The result of the Paley multiplier method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    pub multiplier: Multiplier,
    /// Predicted LLD at skeletal maturity Δm.
    pub lld_at_maturity: Estimate,
    /// Lm = L × M; present only when `current_length_cm` was given.
    pub length_at_maturity: Option<Estimate>,
    /// G = L × (M − 1); present only when `current_length_cm` was given.
    pub growth_remaining: Option<Estimate>,
}

/// Where an age falls in the table.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Position {
    Exact(MultiplierRow),
    Between(MultiplierRow, MultiplierRow),
}

fn locate(age_years: f64) -> Option<Position> {
    if let Some(r) = LLD_MULTIPLIERS.iter().find(|r| r.age_years == age_years) {
        return Some(Position::Exact(*r));
    }
    LLD_MULTIPLIERS.windows(2).find_map(|pair| match pair {
        [lo, hi] if lo.age_years < age_years && age_years < hi.age_years => Some(Position::Between(*lo, *hi)),
        _ => None,
    })
}

fn cell(row: &MultiplierRow, sex: Sex) -> (f64, bool) {
    match sex {
        Sex::Male => (row.boys, false),
        Sex::Female => (row.girls, row.girls_suspect),
    }
}

fn check_age(age_years: f64) -> Result<f64> {
    if !age_years.is_finite() {
        return Err(InvalidInput::new("age_years", Some(age_years.to_string()), Problem::NotANumber, AGE_ACCEPTED));
    }
    if !(TABLE_FIRST_AGE_YEARS..=TABLE_LAST_AGE_YEARS).contains(&age_years) {
        return Err(InvalidInput::out_of_range("age_years", age_years, AGE_ACCEPTED));
    }
    Ok(age_years)
}

fn age_label(age_years: f64) -> String {
    if age_years == 0.0 { "birth (0 y)".to_owned() } else { format!("{} y", num(age_years)) }
}

/// Look up the LLD multiplier M for a sex and chronological age, with the
/// table flags (SINGLE-SOURCE, SUSPECT, INTERPOLATED) in its explanation.
pub fn multiplier(sex: Sex, age_years: f64) -> Result<Multiplier> {
    let age_years = check_age(age_years)?;
    let position = locate(age_years).ok_or_else(|| InvalidInput::out_of_range("age_years", age_years, AGE_ACCEPTED))?;
    let mut explanation =
        Explanation::new(&PALEY_LLD_MULTIPLIERS_SOURCE, "").input("sex", sex.as_str()).input("age_years", age_years);
    let (value, interpolated, rows_used, suspect) = match position {
        Position::Exact(r) => {
            let (m, suspect) = cell(&r, sex);
            explanation.rule = format!(
                "age {} is a tabulated row: M = {} ({} column, Paley LLD multiplier table)",
                age_label(r.age_years),
                num(m),
                sex.column()
            );
            (m, false, vec![RowUsed { age_years: r.age_years, multiplier: m }], suspect)
        }
        Position::Between(lo, hi) => {
            let (m0, s0) = cell(&lo, sex);
            let (m1, s1) = cell(&hi, sex);
            let t = (age_years - lo.age_years) / (hi.age_years - lo.age_years);
            // Adjacent multipliers are within a factor of 2 of each other, so
            // m1 - m0 is exact and, with 0 < t < 1 and monotone rounding, the
            // result stays within [m1, m0]; the clamp only makes that explicit.
            let m = (m0 + t * (m1 - m0)).clamp(m0.min(m1), m0.max(m1));
            explanation.rule = format!(
                "age {} y lies between the tabulated rows {} (M = {}) and {} (M = {}) of the {} column: \
                 linear interpolation M = {} + ({} − {}) / ({} − {}) × ({} − {}) = {}",
                num(age_years),
                age_label(lo.age_years),
                num(m0),
                age_label(hi.age_years),
                num(m1),
                sex.column(),
                num(m0),
                num(age_years),
                num(lo.age_years),
                num(hi.age_years),
                num(lo.age_years),
                num(m1),
                num(m0),
                num(m)
            );
            explanation.push_flag(
                FlagKind::Interpolated,
                format!(
                    "M interpolated linearly between the rows {} (M = {}) and {} (M = {}); only tabulated \
                     ages are exact: the rule for ages between rows is UNVERIFIED in the reference (§9.2)",
                    age_label(lo.age_years),
                    num(m0),
                    age_label(hi.age_years),
                    num(m1)
                ),
            );
            (
                m,
                true,
                vec![
                    RowUsed { age_years: lo.age_years, multiplier: m0 },
                    RowUsed { age_years: hi.age_years, multiplier: m1 },
                ],
                s0 || s1,
            )
        }
    };
    explanation.push_flag(
        FlagKind::SingleSource,
        "the Paley LLD multiplier table has a single source (guided-growth-calculations.com transcription of \
         Paley 2000): re-check against the paper before clinical release",
    );
    if suspect {
        explanation.push_flag(
            FlagKind::Suspect,
            "uses the girls 0.25 y cell (4.355 as printed), probably a transcription error (the boys/girls ratio \
             at birth and at 0.5 y implies about 4.155): shipped as printed; check against Paley 2000 before \
             relying on this result",
        );
    }
    Ok(Multiplier { value, interpolated, rows_used, suspect_cell_used: suspect, explanation })
}

/// The flags a value derived from M inherits from the table lookup.
fn table_flags(m: &Multiplier) -> Vec<Flag> {
    m.explanation
        .flags
        .iter()
        .filter(|f| matches!(f.kind, FlagKind::SingleSource | FlagKind::Suspect | FlagKind::Interpolated))
        .cloned()
        .collect()
}

/// Paley multiplier method: multiplier, LLD at maturity and, when the current
/// length of the long limb is given, length at maturity and growth remaining.
pub fn classify(input: &Input) -> Result<Output> {
    let age_years = check_age(input.age_years)?;
    let lld = limits::LENGTH_CM.check("current_lld_cm", input.current_lld_cm)?;
    let length = limits::LIMB_LENGTH_CM.check_opt("current_length_cm", input.current_length_cm)?;
    let inhibition = limits::FRACTION.check_opt("growth_inhibition", input.growth_inhibition)?;

    let m = multiplier(input.sex, age_years)?;
    let mv = m.value;
    let inherited = table_flags(&m);

    let base = |source: &'static Source, rule: String| {
        let mut e = Explanation::new(source, rule)
            .input("sex", input.sex.as_str())
            .input("age_years", age_years)
            .input("type", input.lld_type.as_str());
        e.flags.extend(inherited.iter().cloned());
        e
    };

    let lld_at_maturity = match input.lld_type {
        LldType::Congenital => {
            if let Some(i) = inhibition {
                return Err(InvalidInput::inconsistent(
                    "growth_inhibition",
                    i,
                    "growth inhibition applies only to type = developmental; a congenital LLD at maturity is \
                     Δ × M and does not use it",
                ));
            }
            let value = lld * mv;
            let e = base(
                &PALEY_FORMULAS_SOURCE,
                format!(
                    "congenital LLD: LLD at maturity = current LLD × multiplier (Δm = Δ × M) = {} cm × {} = {} cm",
                    num(lld),
                    num(mv),
                    num(value)
                ),
            )
            .input("current_lld_cm", lld)
            .input("multiplier", mv);
            Estimate { value_cm: value, explanation: e }
        }
        LldType::Developmental => {
            let l = length.ok_or_else(|| {
                InvalidInput::missing(
                    "current_length_cm",
                    "the current length L of the long (normal) limb segment, 1 to 150 cm: required for type = \
                     developmental (growth remaining G = L × (M − 1))",
                )
            })?;
            let i = inhibition.ok_or_else(|| {
                InvalidInput::missing(
                    "growth_inhibition",
                    "the growth inhibition I, a fraction from 0 to 1 as assessed by the clinician: required for \
                     type = developmental (LimbPath does not compute it from two visits)",
                )
            })?;
            let g = l * (mv - 1.0);
            let value = lld + i * g;
            let mut e = base(
                &PALEY_FORMULAS_SOURCE,
                format!(
                    "developmental LLD: LLD at maturity = current LLD + growth inhibition × growth remaining of the \
                     normal limb (Δm = Δ + I × G, with G = L × (M − 1)) = {} cm + {} × {} cm × ({} − 1) = {} cm",
                    num(lld),
                    num(i),
                    num(l),
                    num(mv),
                    num(value)
                ),
            )
            .input("current_lld_cm", lld)
            .input("current_length_cm", l)
            .input("growth_inhibition", i)
            .input("multiplier", mv);
            e.push_flag(
                FlagKind::Caution,
                "growth inhibition I was accepted as given by the clinician; LimbPath does not compute I from two \
                 visits because the wording of that formula is UNVERIFIED in the reference (§9.1)",
            );
            Estimate { value_cm: value, explanation: e }
        }
    };

    let (length_at_maturity, growth_remaining) = match length {
        Some(l) => {
            let lm = l * mv;
            let g = l * (mv - 1.0);
            let e_lm = base(
                &PALEY_FORMULAS_SOURCE,
                format!(
                    "length at maturity = current length of the long limb segment × multiplier (Lm = L × M) = \
                     {} cm × {} = {} cm",
                    num(l),
                    num(mv),
                    num(lm)
                ),
            )
            .input("current_length_cm", l)
            .input("multiplier", mv);
            let e_g = base(
                &PALEY_FORMULAS_SOURCE,
                format!(
                    "growth remaining of the long limb segment = L × (M − 1) = {} cm × ({} − 1) = {} cm",
                    num(l),
                    num(mv),
                    num(g)
                ),
            )
            .input("current_length_cm", l)
            .input("multiplier", mv);
            (Some(Estimate { value_cm: lm, explanation: e_lm }), Some(Estimate { value_cm: g, explanation: e_g }))
        }
        None => (None, None),
    };

    Ok(Output { multiplier: m, lld_at_maturity, length_at_maturity, growth_remaining })
}

impl Explain for Output {
    fn sections(&self) -> Vec<Section<'_>> {
        let mut s = vec![
            Section {
                label: "Paley predicted LLD at maturity",
                result: format!("{} cm", num(self.lld_at_maturity.value_cm)),
                explanation: &self.lld_at_maturity.explanation,
            },
            Section {
                label: "Paley LLD multiplier",
                result: if self.multiplier.interpolated {
                    format!("M = {} (interpolated)", num(self.multiplier.value))
                } else {
                    format!("M = {:.3}", self.multiplier.value)
                },
                explanation: &self.multiplier.explanation,
            },
        ];
        if let Some(lm) = &self.length_at_maturity {
            s.push(Section {
                label: "Paley length at maturity (long limb segment)",
                result: format!("{} cm", num(lm.value_cm)),
                explanation: &lm.explanation,
            });
        }
        if let Some(g) = &self.growth_remaining {
            s.push(Section {
                label: "Paley growth remaining (long limb segment)",
                result: format!("{} cm", num(g.value_cm)),
                explanation: &g.explanation,
            });
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// §9.2 typed again by hand: (age, boys, girls). The girls 0.25 y cell is
    /// deliberately `None`: it is SUSPECT and must not be asserted as correct.
    const EXPECTED: [(f64, f64, Option<f64>); 41] = [
        (0.0, 5.080, Some(4.630)),
        (0.25, 4.550, None),
        (0.5, 4.050, Some(3.725)),
        (0.75, 3.600, Some(3.300)),
        (1.0, 3.240, Some(2.970)),
        (1.25, 2.975, Some(2.750)),
        (1.5, 2.825, Some(2.600)),
        (1.75, 2.700, Some(2.490)),
        (2.0, 2.590, Some(2.390)),
        (2.25, 2.480, Some(2.295)),
        (2.5, 2.385, Some(2.200)),
        (2.75, 2.300, Some(2.125)),
        (3.0, 2.230, Some(2.050)),
        (3.5, 2.110, Some(1.925)),
        (4.0, 2.000, Some(1.830)),
        (4.5, 1.890, Some(1.740)),
        (5.0, 1.820, Some(1.660)),
        (5.5, 1.740, Some(1.580)),
        (6.0, 1.670, Some(1.510)),
        (6.5, 1.620, Some(1.460)),
        (7.0, 1.570, Some(1.430)),
        (7.5, 1.520, Some(1.370)),
        (8.0, 1.470, Some(1.330)),
        (8.5, 1.420, Some(1.290)),
        (9.0, 1.380, Some(1.260)),
        (9.5, 1.340, Some(1.220)),
        (10.0, 1.310, Some(1.190)),
        (10.5, 1.280, Some(1.160)),
        (11.0, 1.240, Some(1.130)),
        (11.5, 1.220, Some(1.100)),
        (12.0, 1.180, Some(1.070)),
        (12.5, 1.160, Some(1.050)),
        (13.0, 1.130, Some(1.030)),
        (13.5, 1.100, Some(1.010)),
        (14.0, 1.080, Some(1.000)),
        (14.5, 1.060, Some(1.000)),
        (15.0, 1.040, Some(1.000)),
        (15.5, 1.020, Some(1.000)),
        (16.0, 1.010, Some(1.000)),
        (16.5, 1.010, Some(1.000)),
        (17.0, 1.000, Some(1.000)),
    ];

    fn congenital(sex: Sex, age_years: f64, lld: f64) -> Input {
        Input {
            sex,
            age_years,
            lld_type: LldType::Congenital,
            current_lld_cm: lld,
            current_length_cm: None,
            growth_inhibition: None,
        }
    }

    fn developmental(sex: Sex, age_years: f64, lld: f64, l: Option<f64>, i: Option<f64>) -> Input {
        Input {
            sex,
            age_years,
            lld_type: LldType::Developmental,
            current_lld_cm: lld,
            current_length_cm: l,
            growth_inhibition: i,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn every_boys_row_matches_the_printed_table() {
        for (age, boys, _) in EXPECTED {
            let m = multiplier(Sex::Male, age).unwrap();
            assert_eq!(m.value, boys, "boys {age} y");
            assert!(!m.interpolated, "boys {age} y");
            assert_eq!(m.rows_used, vec![RowUsed { age_years: age, multiplier: boys }]);
            assert!(!m.explanation.has_flag(FlagKind::Suspect), "boys {age} y");
            assert!(!m.explanation.has_flag(FlagKind::Interpolated), "boys {age} y");
            assert!(m.explanation.has_flag(FlagKind::SingleSource));
            // And through classify: congenital 1 cm at maturity = M cm.
            let out = classify(&congenital(Sex::Male, age, 1.0)).unwrap();
            assert_eq!(out.lld_at_maturity.value_cm, boys, "boys {age} y");
        }
    }

    #[test]
    fn every_girls_row_matches_the_printed_table_except_the_suspect_cell() {
        for (age, _, girls) in EXPECTED {
            let m = multiplier(Sex::Female, age).unwrap();
            assert!(!m.interpolated, "girls {age} y");
            match girls {
                Some(g) => {
                    assert_eq!(m.value, g, "girls {age} y");
                    assert!(!m.explanation.has_flag(FlagKind::Suspect), "girls {age} y");
                    assert!(!m.suspect_cell_used);
                    let out = classify(&congenital(Sex::Female, age, 1.0)).unwrap();
                    assert_eq!(out.lld_at_maturity.value_cm, g, "girls {age} y");
                }
                None => {
                    // Value deliberately not asserted: only that it is flagged.
                    assert!(m.explanation.has_flag(FlagKind::Suspect));
                    assert!(m.suspect_cell_used);
                }
            }
        }
    }

    #[test]
    fn table_has_41_rows_in_strictly_increasing_age() {
        assert_eq!(LLD_MULTIPLIERS.len(), EXPECTED.len());
        for (r, (age, _, _)) in LLD_MULTIPLIERS.iter().zip(EXPECTED) {
            assert_eq!(r.age_years, age);
        }
        for w in LLD_MULTIPLIERS.windows(2) {
            assert!(w[0].age_years < w[1].age_years);
        }
        assert_eq!(TABLE_FIRST_AGE_YEARS, 0.0);
        assert_eq!(TABLE_LAST_AGE_YEARS, 17.0);
        let suspects: Vec<f64> = LLD_MULTIPLIERS.iter().filter(|r| r.girls_suspect).map(|r| r.age_years).collect();
        assert_eq!(suspects, vec![0.25]);
    }

    #[test]
    fn girls_suspect_cell_is_flagged_in_every_result_that_uses_it() {
        let input = Input { current_length_cm: Some(20.0), ..congenital(Sex::Female, 0.25, 1.0) };
        let out = classify(&input).unwrap();
        for s in out.sections() {
            assert!(s.explanation.has_flag(FlagKind::Suspect), "{}", s.label);
        }
        // Interpolating from it, on either side.
        for age in [0.1, 0.2, 0.3, 0.4, 0.49] {
            let m = multiplier(Sex::Female, age).unwrap();
            assert!(m.interpolated, "{age}");
            assert!(m.explanation.has_flag(FlagKind::Suspect), "girls {age}");
            let out = classify(&congenital(Sex::Female, age, 2.0)).unwrap();
            assert!(out.lld_at_maturity.explanation.has_flag(FlagKind::Suspect), "girls {age}");
        }
        // Not used: boys at the same ages, girls beyond 0.5 y.
        for age in [0.1, 0.25, 0.4] {
            assert!(!multiplier(Sex::Male, age).unwrap().explanation.has_flag(FlagKind::Suspect));
        }
        for age in [0.0, 0.5, 0.6] {
            assert!(!multiplier(Sex::Female, age).unwrap().explanation.has_flag(FlagKind::Suspect), "{age}");
        }
    }

    #[test]
    fn rust_table_equals_vendored_reference_json() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/reference/paley_lld_multipliers.json");
        let text = std::fs::read_to_string(path).expect("vendored reference table");
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let rows = json["lld_multipliers"].as_array().expect("lld_multipliers array");
        assert_eq!(rows.len(), LLD_MULTIPLIERS.len());
        for (r, j) in LLD_MULTIPLIERS.iter().zip(rows) {
            assert_eq!(j["age_years"].as_f64(), Some(r.age_years));
            assert_eq!(j["boys"].as_f64(), Some(r.boys), "boys {}", r.age_years);
            // Equality with the reference as printed, including the SUSPECT cell
            // (shipped as printed); this does not assert that 4.355 is correct.
            assert_eq!(j["girls"].as_f64(), Some(r.girls), "girls {}", r.age_years);
            assert_eq!(j["status"].as_str(), Some("SINGLE-SOURCE"));
            assert_eq!(j["girls_flag"].as_str() == Some("SUSPECT"), r.girls_suspect, "girls flag {}", r.age_years);
        }
    }

    #[test]
    fn both_columns_decrease_monotonically() {
        for w in LLD_MULTIPLIERS.windows(2) {
            assert!(w[1].boys <= w[0].boys, "boys {} -> {}", w[0].age_years, w[1].age_years);
            assert!(w[1].girls <= w[0].girls, "girls {} -> {}", w[0].age_years, w[1].age_years);
        }
        // Boys reach 1.000 at 17 y, girls at 14 y and stay there.
        assert!(LLD_MULTIPLIERS.iter().filter(|r| r.age_years < 17.0).all(|r| r.boys > 1.0));
        assert!(LLD_MULTIPLIERS.iter().filter(|r| r.age_years < 14.0).all(|r| r.girls > 1.0));
        assert!(LLD_MULTIPLIERS.iter().filter(|r| r.age_years >= 14.0).all(|r| r.girls == 1.0));
    }

    #[test]
    fn worked_example_boy_4_congenital_3_cm() {
        let out = classify(&congenital(Sex::Male, 4.0, 3.0)).unwrap();
        assert_eq!(out.multiplier.value, 2.0);
        assert!(close(out.lld_at_maturity.value_cm, 6.0), "{}", out.lld_at_maturity.value_cm);
        assert!(out.length_at_maturity.is_none());
        assert!(out.growth_remaining.is_none());
        let e = &out.lld_at_maturity.explanation;
        assert!(e.rule.contains("Δm = Δ × M"), "{}", e.rule);
        assert!(e.has_flag(FlagKind::SingleSource));
        assert!(!e.has_flag(FlagKind::Interpolated));
        assert!(!e.has_flag(FlagKind::Suspect));
        assert_eq!(e.source.id, "limb_length.paley_formulas");
        assert_eq!(out.multiplier.explanation.source.status, EvidenceStatus::SingleSource);
    }

    #[test]
    fn worked_example_girl_10_congenital_2_cm() {
        let out = classify(&congenital(Sex::Female, 10.0, 2.0)).unwrap();
        assert_eq!(out.multiplier.value, 1.19);
        assert!(close(out.lld_at_maturity.value_cm, 2.38), "{}", out.lld_at_maturity.value_cm);
    }

    #[test]
    fn interpolates_linearly_between_bracketing_rows_and_flags_it() {
        let m = multiplier(Sex::Male, 4.25).unwrap();
        assert!(m.interpolated);
        assert!(close(m.value, 1.945), "{}", m.value);
        assert_eq!(
            m.rows_used,
            vec![RowUsed { age_years: 4.0, multiplier: 2.0 }, RowUsed { age_years: 4.5, multiplier: 1.89 }]
        );
        let flag = m.explanation.flags.iter().find(|f| f.kind == FlagKind::Interpolated).unwrap();
        assert!(flag.message.contains("4 y (M = 2)"), "{}", flag.message);
        assert!(flag.message.contains("4.5 y (M = 1.89)"), "{}", flag.message);
        assert!(flag.message.contains("UNVERIFIED"), "{}", flag.message);

        // A quarter of the way from 0.75 to 1 y, girls: 3.3 + 0.25 × (2.97 − 3.3).
        let m = multiplier(Sex::Female, 0.8125).unwrap();
        assert!(close(m.value, 3.2175), "{}", m.value);
        // Between birth and 0.25 y (boys).
        let m = multiplier(Sex::Male, 0.125).unwrap();
        assert!(close(m.value, 4.815), "{}", m.value);
        assert!(m.explanation.rule.contains("birth (0 y)"), "{}", m.explanation.rule);
        // Between two equal cells the value is that cell.
        let m = multiplier(Sex::Male, 16.25).unwrap();
        assert!(m.interpolated);
        assert_eq!(m.value, 1.01);
        // Interpolation flag propagates into every derived value.
        let out = classify(&Input { current_length_cm: Some(30.0), ..congenital(Sex::Male, 4.25, 3.0) }).unwrap();
        for s in out.sections() {
            assert!(s.explanation.has_flag(FlagKind::Interpolated), "{}", s.label);
            assert!(s.explanation.has_flag(FlagKind::SingleSource), "{}", s.label);
        }
        assert!(close(out.lld_at_maturity.value_cm, 3.0 * 1.945));
    }

    #[test]
    fn boundary_ages_birth_and_17_are_tabulated() {
        let m = multiplier(Sex::Male, 0.0).unwrap();
        assert_eq!(m.value, 5.08);
        assert!(!m.interpolated);
        assert_eq!(multiplier(Sex::Female, 0.0).unwrap().value, 4.63);
        for sex in [Sex::Male, Sex::Female] {
            let m = multiplier(sex, 17.0).unwrap();
            assert_eq!(m.value, 1.0);
            assert!(!m.interpolated);
            let out = classify(&Input { current_length_cm: Some(45.0), ..congenital(sex, 17.0, 2.5) }).unwrap();
            assert_eq!(out.lld_at_maturity.value_cm, 2.5);
            assert_eq!(out.growth_remaining.unwrap().value_cm, 0.0);
        }
    }

    #[test]
    fn ages_outside_the_table_are_refused() {
        for age in [-0.1, 17.1, -1.0, 18.0, 120.0] {
            let e = classify(&congenital(Sex::Male, age, 1.0)).unwrap_err();
            assert_eq!(e.field, "age_years");
            assert_eq!(e.problem, Problem::OutOfRange);
            assert!(e.to_string().contains("birth to 17 y"), "{e}");
            let e = multiplier(Sex::Female, age).unwrap_err();
            assert_eq!(e.field, "age_years");
        }
        for age in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = classify(&congenital(Sex::Female, age, 1.0)).unwrap_err();
            assert_eq!(e.field, "age_years");
            assert_eq!(e.problem, Problem::NotANumber);
        }
    }

    #[test]
    fn lengths_are_validated() {
        let e = classify(&congenital(Sex::Male, 4.0, -0.5)).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("current_lld_cm", Problem::OutOfRange));
        let e = classify(&congenital(Sex::Male, 4.0, f64::NAN)).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("current_lld_cm", Problem::NotANumber));
        let e = classify(&Input { current_length_cm: Some(0.0), ..congenital(Sex::Male, 4.0, 1.0) }).unwrap_err();
        assert_eq!(e.field, "current_length_cm");
        let e = classify(&Input { current_length_cm: Some(f64::NAN), ..congenital(Sex::Male, 4.0, 1.0) }).unwrap_err();
        assert_eq!(e.field, "current_length_cm");
        // Zero LLD is accepted.
        assert_eq!(classify(&congenital(Sex::Male, 4.0, 0.0)).unwrap().lld_at_maturity.value_cm, 0.0);
    }

    #[test]
    fn congenital_with_length_gives_length_at_maturity_and_growth_remaining() {
        let out = classify(&Input { current_length_cm: Some(30.0), ..congenital(Sex::Male, 4.0, 3.0) }).unwrap();
        assert!(close(out.length_at_maturity.as_ref().unwrap().value_cm, 60.0));
        assert!(close(out.growth_remaining.as_ref().unwrap().value_cm, 30.0));
        let rule = &out.length_at_maturity.as_ref().unwrap().explanation.rule;
        assert!(rule.contains("Lm = L × M"), "{rule}");
        let labels: Vec<&str> = out.sections().iter().map(|s| s.label).collect();
        assert_eq!(
            labels,
            vec![
                "Paley predicted LLD at maturity",
                "Paley LLD multiplier",
                "Paley length at maturity (long limb segment)",
                "Paley growth remaining (long limb segment)",
            ]
        );
    }

    #[test]
    fn developmental_formula() {
        // Boy 10 y: M = 1.31; L = 40 cm -> G = 12.4 cm; Δ = 2, I = 0.2 -> 2 + 2.48 = 4.48 cm.
        let out = classify(&developmental(Sex::Male, 10.0, 2.0, Some(40.0), Some(0.2))).unwrap();
        assert!(close(out.lld_at_maturity.value_cm, 4.48), "{}", out.lld_at_maturity.value_cm);
        assert!(close(out.growth_remaining.as_ref().unwrap().value_cm, 12.4));
        assert!(close(out.length_at_maturity.as_ref().unwrap().value_cm, 52.4));
        let e = &out.lld_at_maturity.explanation;
        assert!(e.rule.contains("Δm = Δ + I × G"), "{}", e.rule);
        assert!(e.has_flag(FlagKind::Caution));
        let caution = e.flags.iter().find(|f| f.kind == FlagKind::Caution).unwrap();
        assert!(caution.message.contains("UNVERIFIED"), "{}", caution.message);
        assert!(e.inputs.iter().any(|i| i.field == "growth_inhibition"));
        // I = 0: the discrepancy does not grow; I = 1: it grows by all of G.
        let out = classify(&developmental(Sex::Female, 10.0, 2.0, Some(40.0), Some(0.0))).unwrap();
        assert_eq!(out.lld_at_maturity.value_cm, 2.0);
        let out = classify(&developmental(Sex::Female, 10.0, 2.0, Some(40.0), Some(1.0))).unwrap();
        assert!(close(out.lld_at_maturity.value_cm, 2.0 + 40.0 * 0.19));
    }

    #[test]
    fn developmental_requires_length_and_inhibition() {
        let e = classify(&developmental(Sex::Male, 10.0, 2.0, None, Some(0.2))).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("current_length_cm", Problem::Missing));
        let e = classify(&developmental(Sex::Male, 10.0, 2.0, Some(40.0), None)).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("growth_inhibition", Problem::Missing));
        for bad in [-0.01, 1.01] {
            let e = classify(&developmental(Sex::Male, 10.0, 2.0, Some(40.0), Some(bad))).unwrap_err();
            assert_eq!((e.field.as_str(), e.problem), ("growth_inhibition", Problem::OutOfRange));
        }
        let e = classify(&developmental(Sex::Male, 10.0, 2.0, Some(40.0), Some(f64::NAN))).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("growth_inhibition", Problem::NotANumber));
    }

    #[test]
    fn inhibition_with_congenital_is_refused() {
        let e = classify(&Input { growth_inhibition: Some(0.2), ..congenital(Sex::Male, 4.0, 3.0) }).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("growth_inhibition", Problem::Inconsistent));
    }

    #[test]
    fn json_input_and_output_shapes() {
        let input: Input = serde_json::from_str(
            r#"{"sex":"female","age_years":10,"type":"developmental","current_lld_cm":2,
                "current_length_cm":40,"growth_inhibition":0.5}"#,
        )
        .unwrap();
        assert_eq!(input, developmental(Sex::Female, 10.0, 2.0, Some(40.0), Some(0.5)));
        let minimal: Input =
            serde_json::from_str(r#"{"sex":"male","age_years":4,"type":"congenital","current_lld_cm":3}"#).unwrap();
        assert_eq!(minimal, congenital(Sex::Male, 4.0, 3.0));
        assert!(
            serde_json::from_str::<Input>(
                r#"{"sex":"male","age_years":4,"type":"congenital","current_lld_cm":3,"x":1}"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<Input>(r#"{"sex":"boy","age_years":4,"type":"congenital","current_lld_cm":3}"#)
                .is_err()
        );

        let v = serde_json::to_value(classify(&minimal).unwrap()).unwrap();
        assert_eq!(v["multiplier"]["value"], 2.0);
        assert_eq!(v["multiplier"]["interpolated"], false);
        assert_eq!(v["multiplier"]["rows_used"][0]["age_years"], 4.0);
        assert_eq!(v["multiplier"]["suspect_cell_used"], false);
        assert_eq!(v["lld_at_maturity"]["value_cm"], 6.0);
        assert_eq!(v["lld_at_maturity"]["explanation"]["flags"][0]["kind"], "SINGLE_SOURCE");
        assert_eq!(v["multiplier"]["explanation"]["source"], "limb_length.paley_lld_multipliers");
        assert_eq!(v["multiplier"]["explanation"]["inputs"]["sex"], "male");
        assert_eq!(v["lld_at_maturity"]["explanation"]["inputs"]["type"], "congenital");
        assert!(v["length_at_maturity"].is_null());
        assert!(v["growth_remaining"].is_null());
    }

    fn arb_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            -1.0..20.0f64,
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(0.0),
            Just(17.0),
            Just(-0.0),
        ]
    }

    fn arb_sex() -> impl Strategy<Value = Sex> {
        prop_oneof![Just(Sex::Male), Just(Sex::Female)]
    }

    fn arb_type() -> impl Strategy<Value = LldType> {
        prop_oneof![Just(LldType::Congenital), Just(LldType::Developmental)]
    }

    proptest! {
        #[test]
        fn never_panics_and_invalid_is_err(
            sex in arb_sex(),
            lld_type in arb_type(),
            age in arb_f64(),
            lld in arb_f64(),
            l in proptest::option::of(arb_f64()),
            i in proptest::option::of(arb_f64()),
        ) {
            let input = Input { sex, age_years: age, lld_type, current_lld_cm: lld, current_length_cm: l, growth_inhibition: i };
            let result = classify(&input);
            let age_ok = age.is_finite() && (0.0..=17.0).contains(&age);
            let lld_ok = lld.is_finite() && (0.0..=150.0).contains(&lld);
            let l_ok = l.is_none_or(|v| v.is_finite() && (1.0..=150.0).contains(&v));
            let i_ok = i.is_none_or(|v| v.is_finite() && (0.0..=1.0).contains(&v));
            let consistent = match lld_type {
                LldType::Congenital => i.is_none(),
                LldType::Developmental => l.is_some() && i.is_some(),
            };
            prop_assert_eq!(result.is_ok(), age_ok && lld_ok && l_ok && i_ok && consistent);
            if let Ok(out) = result {
                prop_assert!(out.multiplier.value >= 1.0 && out.multiplier.value <= 5.08);
                prop_assert!(out.lld_at_maturity.value_cm.is_finite());
                prop_assert!(out.lld_at_maturity.value_cm >= lld);
                prop_assert!(out.lld_at_maturity.explanation.has_flag(FlagKind::SingleSource));
                prop_assert_eq!(out.length_at_maturity.is_some(), l.is_some());
                let _ = serde_json::to_string(&out).unwrap();
            }
        }

        #[test]
        fn interpolated_multiplier_lies_between_its_bracketing_rows(sex in arb_sex(), age in 0.0..=17.0f64) {
            let m = multiplier(sex, age).unwrap();
            if m.interpolated {
                prop_assert_eq!(m.rows_used.len(), 2);
                let (lo, hi) = (m.rows_used[0], m.rows_used[1]);
                prop_assert!(lo.age_years < age && age < hi.age_years);
                prop_assert!(hi.multiplier <= m.value && m.value <= lo.multiplier,
                    "{} not in [{}, {}]", m.value, hi.multiplier, lo.multiplier);
                prop_assert!(m.explanation.has_flag(FlagKind::Interpolated));
                // Adjacent rows: no tabulated age strictly between them.
                prop_assert!(!LLD_MULTIPLIERS.iter().any(|r| lo.age_years < r.age_years && r.age_years < hi.age_years));
            } else {
                prop_assert_eq!(m.rows_used.len(), 1);
                prop_assert_eq!(m.rows_used[0].age_years, age);
                prop_assert!(!m.explanation.has_flag(FlagKind::Interpolated));
            }
            prop_assert_eq!(
                m.explanation.has_flag(FlagKind::Suspect),
                sex == Sex::Female && age > 0.0 && age < 0.5
            );
        }

        #[test]
        fn ages_outside_birth_to_17_are_err(sex in arb_sex(), age in prop_oneof![-1e9..-1e-9f64, 17.000_000_001..1e9f64]) {
            let e = multiplier(sex, age).unwrap_err();
            prop_assert_eq!(e.field.as_str(), "age_years");
            prop_assert_eq!(e.problem, Problem::OutOfRange);
        }
    }
}
