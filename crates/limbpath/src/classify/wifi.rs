//! `limbpath classify wifi`: from grades, or from bedside measurements.

use super::vocab;
use limbpath_clinical::InvalidInput;
use limbpath_clinical::wifi::{
    self, Gangrene, HeelUlcer, IschaemiaMeasurements, Ulcer, WifiInput, WifiResult, WoundFindings,
};

#[derive(Debug, clap::Args)]
#[command(after_help = "Give each component as a grade (--wound, --ischemia, --infection) or as findings.\n\
Example: limbpath classify wifi --wound-depth deep --abi 0.52 --toe-pressure 24 --erythema-cm 1.5 --warmth")]
pub struct Args {
    /// Wound grade W0-3, given directly.
    #[arg(long, value_name = "0-3")]
    wound: Option<u8>,
    /// Ischaemia grade I0-3, given directly.
    #[arg(long, visible_alias = "ischaemia", value_name = "0-3")]
    ischemia: Option<u8>,
    /// Foot infection grade fI0-3, given directly.
    #[arg(long, value_name = "0-3")]
    infection: Option<u8>,

    /// Ulcer (outside the heel): none, shallow, exposed-bone-distal-phalanx, deep (exposed bone, joint or tendon), extensive-deep (forefoot/midfoot).
    #[arg(long, visible_alias = "ulcer", value_parser = vocab::<Ulcer>)]
    wound_depth: Option<Ulcer>,
    /// Heel ulcer: none, shallow (no calcaneal involvement), deep (full thickness ± calcaneus). Default none when --wound-depth is given.
    #[arg(long, value_parser = vocab::<HeelUlcer>)]
    heel: Option<HeelUlcer>,
    /// Gangrene: none, digits, extensive (forefoot/midfoot), heel-necrosis. Default none when --wound-depth is given.
    #[arg(long, value_parser = vocab::<Gangrene>)]
    gangrene: Option<Gangrene>,
    /// Ischaemic rest pain with typical symptoms.
    #[arg(long)]
    rest_pain: bool,

    /// Ankle-brachial index.
    #[arg(long)]
    abi: Option<f64>,
    /// Ankle systolic pressure, mmHg.
    #[arg(long, visible_alias = "ankle-pressure-mmhg")]
    ankle_pressure: Option<f64>,
    /// Toe pressure, mmHg.
    #[arg(long, visible_alias = "toe-pressure-mmhg")]
    toe_pressure: Option<f64>,
    /// Transcutaneous oxygen pressure, mmHg.
    #[arg(long, visible_alias = "tcpo2-mmhg")]
    tcpo2: Option<f64>,
    /// Vessels are non-compressible (calcified): ABI and ankle pressure are set aside.
    #[arg(long)]
    non_compressible: bool,
    /// The patient has diabetes (toe pressure or TcPO2 is expected).
    #[arg(long)]
    diabetes: bool,

    #[command(flatten)]
    infection_findings: super::iwgdf::InfectionFlags,

    /// Clinician's judgement: the foot is unsalvageable (stage 5).
    #[arg(long)]
    stage5_unsalvageable: bool,
}

impl Args {
    fn wound_findings(&self) -> Option<WoundFindings> {
        if self.wound_depth.is_none() && self.heel.is_none() && self.gangrene.is_none() && !self.rest_pain {
            return None;
        }
        Some(WoundFindings {
            ulcer: self.wound_depth.unwrap_or(Ulcer::None),
            heel: self.heel.unwrap_or(HeelUlcer::None),
            gangrene: self.gangrene.unwrap_or(Gangrene::None),
            rest_pain: self.rest_pain,
        })
    }

    fn ischaemia_measurements(&self) -> Option<IschaemiaMeasurements> {
        let any =
            self.abi.is_some() || self.ankle_pressure.is_some() || self.toe_pressure.is_some() || self.tcpo2.is_some();
        (any || self.non_compressible).then_some(IschaemiaMeasurements {
            abi: self.abi,
            ankle_pressure_mmhg: self.ankle_pressure,
            toe_pressure_mmhg: self.toe_pressure,
            tcpo2_mmhg: self.tcpo2,
            non_compressible: self.non_compressible,
            diabetes: self.diabetes,
        })
    }

    pub fn run(&self) -> Result<WifiResult, InvalidInput> {
        // With no infection findings and no grade, the foot has no signs of infection only if the
        // clinician says so: --infection 0 is required rather than assumed.
        let infection = self.infection_findings.given();
        wifi::classify(&WifiInput {
            wound_grade: self.wound,
            wound: self.wound_findings(),
            ischaemia_grade: self.ischemia,
            ischaemia: self.ischaemia_measurements(),
            infection_grade: self.infection,
            infection,
            stage5_unsalvageable: self.stage5_unsalvageable,
        })
    }
}
