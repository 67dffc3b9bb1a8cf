//! Surgical risk as the Global Vascular Guidelines define it (recommendations
//! 6.4 and 6.5, REFERENCES.md §2.3): average or high, from a clinician's
//! estimate of peri-procedural mortality and 2-year survival.
//!
//! - Average risk (6.4): anticipated peri-procedural mortality **<5 %** and
//!   estimated 2-year survival **>50 %**.
//! - High risk (6.5): peri-procedural mortality **≥5 %** or 2-year survival
//!   **≤50 %**. guidelinecentral misprints 6.5 as ">50 %"; the logic requires
//!   ≤50 % (REFERENCES.md §2.3, §13): exactly 50 % is high risk.

use crate::rationale::{Rationale, RuleSource, SourceStatus};
use limbpath_clinical::InvalidInput;
use limbpath_clinical::limits::PERCENT;
use serde::{Deserialize, Serialize};

// source: Conte MS et al., Global Vascular Guidelines, J Vasc Surg 2019;69(6S):3S-125S (PMC8365864), recs 6.4/6.5 | REFERENCES.md §2.3, §13 | status: VERIFIED
/// Average risk needs peri-procedural mortality strictly below this (%).
pub const AVERAGE_RISK_MORTALITY_BELOW_PERCENT: f64 = 5.0;
// source: as above (6.4: ">50 %"; 6.5: "≤50 %", not guidelinecentral's misprinted ">50 %") | REFERENCES.md §2.3, §13 | status: VERIFIED
/// Average risk needs 2-year survival strictly above this (%).
pub const AVERAGE_RISK_SURVIVAL_ABOVE_PERCENT: f64 = 50.0;

/// The source of the risk definitions.
pub fn gvg_risk_source() -> RuleSource {
    RuleSource {
        citation: "Conte MS et al. Global Vascular Guidelines on CLTI, J Vasc Surg 2019;69(6S):3S-125S (PMC8365864), \
                   recommendations 6.4 (average surgical risk) and 6.5 (high surgical risk)"
            .to_owned(),
        reference: "REFERENCES.md §2.3, §13".to_owned(),
        status: SourceStatus::Verified,
        note: "6.5 is \"≤50 %\" 2-year survival; guidelinecentral misprints it as \">50 %\"".to_owned(),
        criteria_sources: Vec::new(),
    }
}

/// A clinician's estimate for one patient.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurgicalRiskEstimate {
    /// Anticipated peri-procedural mortality, %.
    pub periprocedural_mortality_percent: f64,
    /// Estimated 2-year survival, %.
    pub two_year_survival_percent: f64,
}

/// GVG surgical risk category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurgicalRisk {
    Average,
    High,
}

impl SurgicalRisk {
    pub fn label(self) -> &'static str {
        match self {
            SurgicalRisk::Average => "average surgical risk",
            SurgicalRisk::High => "high surgical risk",
        }
    }
}

/// The category with its rationale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurgicalRiskResult {
    pub risk: SurgicalRisk,
    pub rationale: Rationale,
}

/// Classify surgical risk (GVG 6.4/6.5). Errors name `field_prefix.<field>`.
pub fn surgical_risk(estimate: &SurgicalRiskEstimate, field_prefix: &str) -> Result<SurgicalRiskResult, InvalidInput> {
    let f = |name: &str| if field_prefix.is_empty() { name.to_owned() } else { format!("{field_prefix}.{name}") };
    let mortality = PERCENT.check(&f("periprocedural_mortality_percent"), estimate.periprocedural_mortality_percent)?;
    let survival = PERCENT.check(&f("two_year_survival_percent"), estimate.two_year_survival_percent)?;
    let average = mortality < AVERAGE_RISK_MORTALITY_BELOW_PERCENT && survival > AVERAGE_RISK_SURVIVAL_ABOVE_PERCENT;
    let risk = if average { SurgicalRisk::Average } else { SurgicalRisk::High };
    let mut rationale = Rationale::new(
        "GVG 6.4: average surgical risk = peri-procedural mortality <5 % and 2-year survival >50 %; \
         GVG 6.5: high surgical risk = peri-procedural mortality ≥5 % or 2-year survival ≤50 %",
        gvg_risk_source(),
    );
    rationale.input(f("periprocedural_mortality_percent"), mortality);
    rationale.input(f("two_year_survival_percent"), survival);
    let num = limbpath_clinical::explain::number;
    rationale.because.push(if average {
        format!("mortality {} % < 5 % and 2-year survival {} % > 50 %: {}", num(mortality), num(survival), risk.label())
    } else if mortality >= AVERAGE_RISK_MORTALITY_BELOW_PERCENT {
        format!("mortality {} % ≥ 5 %: {}", num(mortality), risk.label())
    } else {
        format!("2-year survival {} % ≤ 50 %: {}", num(survival), risk.label())
    });
    Ok(SurgicalRiskResult { risk, rationale })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn risk(mortality: f64, survival: f64) -> SurgicalRisk {
        surgical_risk(
            &SurgicalRiskEstimate { periprocedural_mortality_percent: mortality, two_year_survival_percent: survival },
            "",
        )
        .unwrap()
        .risk
    }

    // REFERENCES.md §13 negative test: guidelinecentral's ">50 %" misprint of 6.5.
    #[test]
    fn two_year_survival_of_exactly_50_percent_is_high_risk_not_average() {
        assert_eq!(risk(2.0, 50.0), SurgicalRisk::High);
        assert_eq!(risk(4.9, 51.0), SurgicalRisk::Average);
    }

    #[test]
    fn each_boundary_of_gvg_6_4_and_6_5() {
        // mortality <5 % (6.4) vs ≥5 % (6.5)
        assert_eq!(risk(4.99, 80.0), SurgicalRisk::Average);
        assert_eq!(risk(5.0, 80.0), SurgicalRisk::High);
        // survival >50 % (6.4) vs ≤50 % (6.5)
        assert_eq!(risk(1.0, 50.01), SurgicalRisk::Average);
        assert_eq!(risk(1.0, 49.0), SurgicalRisk::High);
        // both fail
        assert_eq!(risk(10.0, 30.0), SurgicalRisk::High);
    }

    #[test]
    fn impossible_estimates_name_the_field() {
        let e = SurgicalRiskEstimate { periprocedural_mortality_percent: 120.0, two_year_survival_percent: 50.0 };
        assert_eq!(
            surgical_risk(&e, "surgical_risk").unwrap_err().field,
            "surgical_risk.periprocedural_mortality_percent"
        );
        let e = SurgicalRiskEstimate { periprocedural_mortality_percent: 1.0, two_year_survival_percent: f64::NAN };
        assert_eq!(surgical_risk(&e, "").unwrap_err().field, "two_year_survival_percent");
    }
}
