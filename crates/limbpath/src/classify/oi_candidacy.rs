//! `limbpath classify oi-candidacy`: osseointegration candidacy from the
//! clinic protocol (engine: `osseointegration`).
//!
//! Every criterion and contraindication is three-valued: absent flag = not
//! assessed; `--flag` or `--flag yes` = yes; `--flag no` (or `--no-flag`) = no.

use clap::ValueEnum;
use limbpath_clinical::InvalidInput;
use limbpath_clinical::osseointegration::{self, AmputationLevel, Input, Output, Smoking, SocketProblem};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LevelArg {
    /// Above-knee amputation.
    Transfemoral,
    /// Knee disarticulation.
    KneeDisarticulation,
    /// Below-knee amputation.
    Transtibial,
    /// Any other level.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SocketProblemArg {
    /// Pain after lower-limb amputation, or pain in the lumbar spine.
    Pain,
    /// Recurrent skin infections and ulcers at the socket contact site.
    #[value(alias = "skin-infections", alias = "ulcers")]
    SkinInfectionsOrUlcers,
    /// Residual limb too short for effective use of a socket prosthesis.
    #[value(alias = "short-residual-limb")]
    ResidualLimbTooShort,
    /// Volume fluctuations of the residual limb.
    VolumeFluctuation,
    /// Extensive scarring or skin grafting.
    #[value(alias = "scarring", alias = "skin-grafting")]
    ScarringOrSkinGrafting,
    /// Excessive sweating.
    #[value(alias = "sweating")]
    ExcessiveSweating,
    /// Limited mobility.
    LimitedMobility,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SmokingArg {
    Never,
    /// Give --months-since-quit as well.
    Former,
    Current,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum YesNo {
    #[value(alias = "true", alias = "y")]
    Yes,
    #[value(alias = "false", alias = "n")]
    No,
}

/// `--flag [yes|no]` and `--no-flag`: yes, no, or `None` (not assessed).
fn tri(value: Option<YesNo>, negated: bool) -> Option<bool> {
    if negated {
        return Some(false);
    }
    value.map(|v| v == YesNo::Yes)
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Amputation level.
    #[arg(long = "level", visible_alias = "amputation-level", value_enum)]
    amputation_level: LevelArg,
    /// A problem using the socket prosthesis (repeat for several; none given = no listed indication).
    #[arg(long = "socket-problem", value_enum, action = clap::ArgAction::Append)]
    socket_problems: Vec<SocketProblemArg>,

    /// Cooperates with the medical protocol: yes|no (bare flag = yes; absent = not assessed).
    #[arg(long = "cooperates", visible_alias = "cooperates-with-protocol", value_name = "YES|NO",
          num_args = 0..=1, default_missing_value = "yes", value_enum, conflicts_with = "no_cooperates")]
    cooperates_with_protocol: Option<YesNo>,
    /// Does not cooperate with the medical protocol (same as --cooperates no).
    #[arg(long = "no-cooperates")]
    no_cooperates: bool,

    /// Understands the benefits and risks: yes|no (bare flag = yes; absent = not assessed).
    #[arg(long = "understands", visible_alias = "understands-benefits-and-risks", value_name = "YES|NO",
          num_args = 0..=1, default_missing_value = "yes", value_enum, conflicts_with = "no_understands")]
    understands_benefits_and_risks: Option<YesNo>,
    /// Does not understand the benefits and risks (same as --understands no).
    #[arg(long = "no-understands")]
    no_understands: bool,

    /// Body-mass index in kg/m² (criterion: BMI <40; absent = not assessed).
    #[arg(long, allow_negative_numbers = true)]
    bmi: Option<f64>,

    /// Blood glucose controlled: yes|no (bare flag = yes; absent = not assessed).
    #[arg(long = "glucose-controlled", value_name = "YES|NO", num_args = 0..=1, default_missing_value = "yes",
          value_enum, conflicts_with = "no_glucose_controlled")]
    glucose_controlled: Option<YesNo>,
    /// Blood glucose not controlled (same as --glucose-controlled no).
    #[arg(long = "no-glucose-controlled")]
    no_glucose_controlled: bool,

    /// Smoking history (absent = not assessed).
    #[arg(long, value_enum)]
    smoking: Option<SmokingArg>,
    /// Months since quitting (with --smoking former).
    #[arg(long, allow_negative_numbers = true)]
    months_since_quit: Option<f64>,

    /// Contraindication: active residual-limb infection requiring treatment: yes|no (bare flag = yes; absent = not assessed).
    #[arg(long = "active-infection", visible_alias = "active-residual-limb-infection", value_name = "YES|NO",
          num_args = 0..=1, default_missing_value = "yes", value_enum, conflicts_with = "no_active_infection")]
    active_residual_limb_infection: Option<YesNo>,
    /// No active residual-limb infection (same as --active-infection no).
    #[arg(long = "no-active-infection")]
    no_active_infection: bool,

    /// Contraindication: irradiation of the bone within the limb: yes|no (bare flag = yes; absent = not assessed).
    #[arg(long = "irradiated-bone", value_name = "YES|NO", num_args = 0..=1, default_missing_value = "yes",
          value_enum, conflicts_with = "no_irradiated_bone")]
    irradiated_bone: Option<YesNo>,
    /// No irradiation of the bone (same as --irradiated-bone no).
    #[arg(long = "no-irradiated-bone")]
    no_irradiated_bone: bool,

    /// Contraindication: pregnancy: yes|no (bare flag = yes; absent = not assessed).
    #[arg(long = "pregnancy", value_name = "YES|NO", num_args = 0..=1, default_missing_value = "yes",
          value_enum, conflicts_with = "no_pregnancy")]
    pregnancy: Option<YesNo>,
    /// Not pregnant (same as --pregnancy no).
    #[arg(long = "no-pregnancy")]
    no_pregnancy: bool,

    /// Contraindication: mental instability: yes|no (bare flag = yes; absent = not assessed).
    #[arg(long = "mental-instability", value_name = "YES|NO", num_args = 0..=1, default_missing_value = "yes",
          value_enum, conflicts_with = "no_mental_instability")]
    mental_instability: Option<YesNo>,
    /// No mental instability (same as --mental-instability no).
    #[arg(long = "no-mental-instability")]
    no_mental_instability: bool,

    /// DEXA T-score, if measured (only repeated in the work-up reminder; no threshold applied).
    #[arg(long, allow_negative_numbers = true)]
    dexa_t_score: Option<f64>,
}

impl Args {
    fn input(&self) -> Input {
        Input {
            amputation_level: match self.amputation_level {
                LevelArg::Transfemoral => AmputationLevel::Transfemoral,
                LevelArg::KneeDisarticulation => AmputationLevel::KneeDisarticulation,
                LevelArg::Transtibial => AmputationLevel::Transtibial,
                LevelArg::Other => AmputationLevel::Other,
            },
            socket_problems: self
                .socket_problems
                .iter()
                .map(|p| match p {
                    SocketProblemArg::Pain => SocketProblem::Pain,
                    SocketProblemArg::SkinInfectionsOrUlcers => SocketProblem::SkinInfectionsOrUlcers,
                    SocketProblemArg::ResidualLimbTooShort => SocketProblem::ResidualLimbTooShort,
                    SocketProblemArg::VolumeFluctuation => SocketProblem::VolumeFluctuation,
                    SocketProblemArg::ScarringOrSkinGrafting => SocketProblem::ScarringOrSkinGrafting,
                    SocketProblemArg::ExcessiveSweating => SocketProblem::ExcessiveSweating,
                    SocketProblemArg::LimitedMobility => SocketProblem::LimitedMobility,
                })
                .collect(),
            cooperates_with_protocol: tri(self.cooperates_with_protocol, self.no_cooperates),
            understands_benefits_and_risks: tri(self.understands_benefits_and_risks, self.no_understands),
            bmi: self.bmi,
            glucose_controlled: tri(self.glucose_controlled, self.no_glucose_controlled),
            smoking: self.smoking.map(|s| match s {
                SmokingArg::Never => Smoking::Never,
                SmokingArg::Former => Smoking::Former,
                SmokingArg::Current => Smoking::Current,
            }),
            months_since_quit: self.months_since_quit,
            active_residual_limb_infection: tri(self.active_residual_limb_infection, self.no_active_infection),
            irradiated_bone: tri(self.irradiated_bone, self.no_irradiated_bone),
            pregnancy: tri(self.pregnancy, self.no_pregnancy),
            mental_instability: tri(self.mental_instability, self.no_mental_instability),
            dexa_t_score: self.dexa_t_score,
        }
    }

    pub fn run(&self) -> Result<Output, InvalidInput> {
        osseointegration::classify(&self.input())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use limbpath_clinical::osseointegration::Decision;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        super::super::parse_args(argv)
    }

    #[test]
    fn absent_flags_are_not_assessed_bare_flags_yes_and_no_forms_no() {
        let a = parse(&["--level", "transfemoral"]).unwrap();
        let i = a.input();
        assert_eq!(i.cooperates_with_protocol, None);
        assert_eq!(i.active_residual_limb_infection, None);
        assert!(i.socket_problems.is_empty());

        let a = parse(&[
            "--level",
            "transfemoral",
            "--cooperates",
            "--understands",
            "yes",
            "--no-glucose-controlled",
            "--active-infection",
            "no",
            "--no-pregnancy",
            "--irradiated-bone",
        ])
        .unwrap();
        let i = a.input();
        assert_eq!(i.cooperates_with_protocol, Some(true));
        assert_eq!(i.understands_benefits_and_risks, Some(true));
        assert_eq!(i.glucose_controlled, Some(false));
        assert_eq!(i.active_residual_limb_infection, Some(false));
        assert_eq!(i.pregnancy, Some(false));
        assert_eq!(i.irradiated_bone, Some(true));
        assert_eq!(i.mental_instability, None);
        assert!(parse(&["--level", "transfemoral", "--pregnancy", "--no-pregnancy"]).is_err());
    }

    #[test]
    fn brief_example_is_eligible() {
        let a = parse(&[
            "--level",
            "transfemoral",
            "--socket-problem",
            "pain",
            "--socket-problem",
            "sweating",
            "--bmi",
            "32",
            "--cooperates",
            "--understands",
            "--glucose-controlled",
            "--smoking",
            "never",
            "--no-active-infection",
            "--no-irradiated-bone",
            "--no-pregnancy",
            "--no-mental-instability",
        ])
        .unwrap();
        assert_eq!(a.input().socket_problems, vec![SocketProblem::Pain, SocketProblem::ExcessiveSweating]);
        assert_eq!(a.run().unwrap().decision, Decision::Eligible);
    }

    #[test]
    fn former_smoker_and_negative_dexa() {
        let a = parse(&[
            "--level",
            "transtibial",
            "--smoking",
            "former",
            "--months-since-quit",
            "2",
            "--dexa-t-score",
            "-2.6",
        ])
        .unwrap();
        let i = a.input();
        assert_eq!(i.smoking, Some(Smoking::Former));
        assert_eq!(i.dexa_t_score, Some(-2.6));
        assert_eq!(a.run().unwrap().decision, Decision::NeedsReview);
    }
}
