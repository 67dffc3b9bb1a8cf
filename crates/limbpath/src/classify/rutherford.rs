//! `limbpath classify rutherford`: Rutherford category 0-6 and Fontaine stage,
//! each from its own criteria, with the APPROXIMATE correspondence between them.

use limbpath_clinical::InvalidInput;
use limbpath_clinical::rutherford::{self, ClaudicationSeverity, Presentation, RutherfordInput, RutherfordOutput};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PresentationArg {
    Asymptomatic,
    Claudication,
    /// Ischaemic rest pain.
    RestPain,
    /// Non-healing ulcer, focal gangrene with diffuse pedal ischaemia.
    MinorTissueLoss,
    /// Extending above the transmetatarsal level; functional foot no longer salvageable.
    MajorTissueLoss,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SeverityArg {
    Mild,
    Moderate,
    Severe,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  limbpath classify rutherford --presentation rest-pain --resting-ankle-pressure 35 \
    --toe-pressure 20\n  limbpath classify rutherford --presentation claudication --claudication-severity moderate \
    --walking-distance-m 150\n  limbpath classify rutherford --presentation claudication --treadmill-completed \
    --post-exercise-ankle-pressure 70 --resting-ankle-pressure 110\n\nThe standard treadmill protocol is not named: \
    it is UNVERIFIED in the reference pack."
)]
pub struct Args {
    /// Clinical presentation.
    #[arg(long, value_enum)]
    presentation: Option<PresentationArg>,
    /// Claudication severity, when no treadmill findings are given.
    #[arg(long, value_enum)]
    claudication_severity: Option<SeverityArg>,
    /// Rutherford category 0-6 given directly (must agree with --presentation if both are given).
    #[arg(long)]
    category: Option<u8>,
    /// Completed the standard treadmill exercise (`--treadmill-completed false`: could not complete it).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    treadmill_completed: Option<bool>,
    /// Ankle pressure after the treadmill exercise, mmHg.
    #[arg(long, alias = "post-exercise-ankle-pressure-mmhg")]
    post_exercise_ankle_pressure: Option<f64>,
    /// Resting ankle pressure, mmHg.
    #[arg(long, alias = "resting-ankle-pressure-mmhg")]
    resting_ankle_pressure: Option<f64>,
    /// Toe pressure, mmHg.
    #[arg(long, alias = "toe-pressure-mmhg")]
    toe_pressure: Option<f64>,
    /// Flat or barely pulsatile ankle or metatarsal PVR (`--pvr-flat false`: not flat).
    #[arg(long, alias = "pvr-flat-or-barely-pulsatile", num_args = 0..=1, default_missing_value = "true")]
    pvr_flat: Option<bool>,
    /// Claudication walking distance, metres (Fontaine IIa >200 m, IIb <200 m).
    #[arg(long)]
    walking_distance_m: Option<f64>,
}

impl Args {
    pub fn run(&self) -> Result<RutherfordOutput, InvalidInput> {
        rutherford::classify(&RutherfordInput {
            presentation: self.presentation.map(|p| match p {
                PresentationArg::Asymptomatic => Presentation::Asymptomatic,
                PresentationArg::Claudication => Presentation::Claudication,
                PresentationArg::RestPain => Presentation::RestPain,
                PresentationArg::MinorTissueLoss => Presentation::MinorTissueLoss,
                PresentationArg::MajorTissueLoss => Presentation::MajorTissueLoss,
            }),
            claudication_severity: self.claudication_severity.map(|s| match s {
                SeverityArg::Mild => ClaudicationSeverity::Mild,
                SeverityArg::Moderate => ClaudicationSeverity::Moderate,
                SeverityArg::Severe => ClaudicationSeverity::Severe,
            }),
            category: self.category,
            treadmill_completed: self.treadmill_completed,
            post_exercise_ankle_pressure_mmhg: self.post_exercise_ankle_pressure,
            resting_ankle_pressure_mmhg: self.resting_ankle_pressure,
            toe_pressure_mmhg: self.toe_pressure,
            pvr_flat_or_barely_pulsatile: self.pvr_flat,
            walking_distance_m: self.walking_distance_m,
        })
    }
}
