//! `limbpath classify paley`: Paley multiplier method, predicted limb-length
//! discrepancy and length at skeletal maturity (engine: `limb_length`).

use clap::ValueEnum;
use limbpath_clinical::InvalidInput;
use limbpath_clinical::limb_length::{self, Input, LldType, Output, Sex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SexArg {
    /// Boys column of the multiplier table.
    Male,
    /// Girls column of the multiplier table.
    Female,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TypeArg {
    /// LLD at maturity = Δ × M.
    Congenital,
    /// LLD at maturity = Δ + I × L(M − 1); needs --length-cm and --inhibition.
    Developmental,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Sex (selects the boys or girls multiplier column).
    #[arg(long, value_enum)]
    sex: SexArg,
    /// Chronological age in years, 0 (birth) to 17.
    #[arg(long, allow_negative_numbers = true)]
    age_years: f64,
    /// Type of discrepancy.
    #[arg(long = "type", value_enum)]
    lld_type: TypeArg,
    /// Current limb-length discrepancy Δ in cm.
    #[arg(long = "lld-cm", visible_alias = "current-lld-cm", allow_negative_numbers = true)]
    current_lld_cm: f64,
    /// Current length L of the long (normal) limb segment in cm (required for developmental).
    #[arg(long = "length-cm", visible_alias = "current-length-cm", allow_negative_numbers = true)]
    current_length_cm: Option<f64>,
    /// Growth inhibition I, 0 to 1, as assessed by the clinician (developmental only; not computed from visits).
    #[arg(long = "inhibition", visible_alias = "growth-inhibition", allow_negative_numbers = true)]
    growth_inhibition: Option<f64>,
}

impl Args {
    fn input(&self) -> Input {
        Input {
            sex: match self.sex {
                SexArg::Male => Sex::Male,
                SexArg::Female => Sex::Female,
            },
            age_years: self.age_years,
            lld_type: match self.lld_type {
                TypeArg::Congenital => LldType::Congenital,
                TypeArg::Developmental => LldType::Developmental,
            },
            current_lld_cm: self.current_lld_cm,
            current_length_cm: self.current_length_cm,
            growth_inhibition: self.growth_inhibition,
        }
    }

    pub fn run(&self) -> Result<Output, InvalidInput> {
        limb_length::classify(&self.input())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        super::super::parse_args(argv)
    }

    #[test]
    fn worked_example_from_flags() {
        let a = parse(&["--sex", "male", "--age-years", "4", "--type", "congenital", "--lld-cm", "3"]).unwrap();
        let out = a.run().unwrap();
        assert!((out.lld_at_maturity.value_cm - 6.0).abs() < 1e-9);
        assert!(out.length_at_maturity.is_none());
    }

    #[test]
    fn developmental_flags_and_negative_age_reaches_the_engine() {
        let a = parse(&[
            "--sex",
            "female",
            "--age-years",
            "10",
            "--type",
            "developmental",
            "--lld-cm",
            "2",
            "--length-cm",
            "40",
            "--inhibition",
            "0.5",
        ])
        .unwrap();
        assert_eq!(a.input().growth_inhibition, Some(0.5));
        assert!(a.run().is_ok());
        let a = parse(&["--sex", "male", "--age-years", "-0.1", "--type", "congenital", "--lld-cm", "3"]).unwrap();
        let e = a.run().unwrap_err();
        assert_eq!(e.field, "age_years");
        assert!(parse(&["--sex", "boy", "--age-years", "4", "--type", "congenital", "--lld-cm", "3"]).is_err());
        assert!(parse(&["--sex", "male", "--type", "congenital", "--lld-cm", "3"]).is_err());
    }
}
