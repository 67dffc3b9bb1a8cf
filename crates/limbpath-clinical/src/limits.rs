//! Plausibility limits for measured inputs.
//!
//! These are NOT clinical thresholds and come from no clinical table: they are
//! the engineering bounds of what an instrument can report or a body can
//! survive, chosen wide so that no real measurement is refused, while a typo
//! (an ABI of -1, a toe pressure of 900 mmHg) is. Clinical thresholds live in
//! the classification modules, each with its source.

use crate::error::{InvalidInput, Problem, Result};

/// A closed range a measured value must lie in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plausible {
    pub min: f64,
    pub max: f64,
    pub unit: &'static str,
}

// Engineering bounds (not clinical): cuff manometers and Doppler read to about
// 300 mmHg; a calcified ankle can exceed the brachial pressure, so ankle and toe
// allow the same span as the arm.
pub const PRESSURE_MMHG: Plausible = Plausible { min: 0.0, max: 300.0, unit: "mmHg" };
// The arm pressure an ABI is divided by: a cuff cannot read a systolic below
// about 20 mmHg, and below that no index is meaningful (engineering bound).
pub const BRACHIAL_MMHG: Plausible = Plausible { min: 20.0, max: 300.0, unit: "mmHg" };
// ABI/TBI: pressure ratios; 0 (no signal) to 3 (grossly non-compressible).
pub const INDEX_RATIO: Plausible = Plausible { min: 0.0, max: 3.0, unit: "" };
// TcPO2 on room air or oxygen challenge: up to about 150 mmHg.
pub const TCPO2_MMHG: Plausible = Plausible { min: 0.0, max: 150.0, unit: "mmHg" };
// Body temperature compatible with a living patient.
pub const TEMPERATURE_C: Plausible = Plausible { min: 25.0, max: 45.0, unit: "°C" };
pub const HEART_RATE_BPM: Plausible = Plausible { min: 0.0, max: 300.0, unit: "/min" };
pub const RESPIRATORY_RATE: Plausible = Plausible { min: 0.0, max: 80.0, unit: "/min" };
pub const PACO2_MMHG: Plausible = Plausible { min: 5.0, max: 150.0, unit: "mmHg" };
pub const WBC_PER_UL: Plausible = Plausible { min: 0.0, max: 500_000.0, unit: "/µL" };
pub const PERCENT: Plausible = Plausible { min: 0.0, max: 100.0, unit: "%" };
// Lengths on a limb: a wound, an erythema margin, an arterial lesion.
pub const LENGTH_CM: Plausible = Plausible { min: 0.0, max: 150.0, unit: "cm" };
pub const AREA_CM2: Plausible = Plausible { min: 0.0, max: 2_000.0, unit: "cm²" };
pub const AGE_YEARS: Plausible = Plausible { min: 0.0, max: 120.0, unit: "years" };
pub const HOURS: Plausible = Plausible { min: 0.0, max: 720.0, unit: "h" };
pub const BMI: Plausible = Plausible { min: 10.0, max: 100.0, unit: "kg/m²" };
pub const MONTHS: Plausible = Plausible { min: 0.0, max: 1_200.0, unit: "months" };
pub const FRACTION: Plausible = Plausible { min: 0.0, max: 1.0, unit: "" };
// Limb segment or whole-limb length, child to adult.
pub const LIMB_LENGTH_CM: Plausible = Plausible { min: 1.0, max: 150.0, unit: "cm" };

impl Plausible {
    pub fn describe(&self) -> String {
        if self.unit.is_empty() {
            format!("a number from {} to {}", self.min, self.max)
        } else {
            format!("a number from {} to {} {}", self.min, self.max, self.unit)
        }
    }

    /// Accept `value` if it is a finite number inside the range.
    pub fn check(&self, field: &str, value: f64) -> Result<f64> {
        if !value.is_finite() {
            return Err(InvalidInput::new(field, Some(value.to_string()), Problem::NotANumber, self.describe()));
        }
        if value < self.min || value > self.max {
            return Err(InvalidInput::out_of_range(field, value, self.describe()));
        }
        Ok(value)
    }

    /// Like [`Plausible::check`] for an optional field.
    pub fn check_opt(&self, field: &str, value: Option<f64>) -> Result<Option<f64>> {
        value.map(|v| self.check(field, v)).transpose()
    }
}

/// Accept an integer score or grade in `min..=max`.
pub fn check_grade(field: &str, value: u8, min: u8, max: u8) -> Result<u8> {
    if value < min || value > max {
        return Err(InvalidInput::out_of_range(field, value, format!("a whole number from {min} to {max}")));
    }
    Ok(value)
}

/// Require an optional field.
pub fn require<T>(field: &str, value: Option<T>, accepted: &str) -> Result<T> {
    value.ok_or_else(|| InvalidInput::missing(field, accepted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_nan_infinity_and_out_of_range() {
        assert_eq!(PRESSURE_MMHG.check("toe_pressure_mmhg", f64::NAN).unwrap_err().problem, Problem::NotANumber);
        assert_eq!(PRESSURE_MMHG.check("x", f64::INFINITY).unwrap_err().problem, Problem::NotANumber);
        let e = PRESSURE_MMHG.check("toe_pressure_mmhg", 900.0).unwrap_err();
        assert_eq!(e.problem, Problem::OutOfRange);
        assert_eq!(e.field, "toe_pressure_mmhg");
        assert_eq!(e.value.as_deref(), Some("900"));
        assert!(e.to_string().contains("0 to 300 mmHg"), "{e}");
        assert!(INDEX_RATIO.check("abi", -1.0).is_err());
        assert_eq!(INDEX_RATIO.check("abi", 0.0).unwrap(), 0.0);
        assert_eq!(INDEX_RATIO.check("abi", 3.0).unwrap(), 3.0);
    }

    #[test]
    fn grade_bounds_are_inclusive() {
        assert!(check_grade("w", 3, 0, 3).is_ok());
        assert!(check_grade("w", 4, 0, 3).is_err());
        assert!(check_grade("w", 0, 1, 3).is_err());
    }
}
