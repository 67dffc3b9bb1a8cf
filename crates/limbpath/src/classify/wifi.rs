//! `limbpath classify wifi`: from grades, or from bedside measurements.

use super::vocab;
use limbpath_clinical::InvalidInput;
use limbpath_clinical::infection::{DeepInfection, InfectionFindings, SirsFindings};
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

    /// Local swelling or induration.
    #[arg(long)]
    swelling: bool,
    /// Erythema extent from the wound margin, cm.
    #[arg(long)]
    erythema_cm: Option<f64>,
    /// Local tenderness or pain.
    #[arg(long)]
    tenderness: bool,
    /// Local warmth.
    #[arg(long)]
    warmth: bool,
    /// Purulent discharge.
    #[arg(long)]
    purulence: bool,
    /// Infected deep structure (repeatable): abscess, osteomyelitis, septic-arthritis, fasciitis, tendon, muscle.
    #[arg(long, value_parser = vocab::<DeepInfection>)]
    deep_infection: Vec<DeepInfection>,
    /// Temperature, °C (SIRS).
    #[arg(long)]
    temperature: Option<f64>,
    /// Heart rate, /min (SIRS).
    #[arg(long)]
    heart_rate: Option<f64>,
    /// Respiratory rate, /min (SIRS).
    #[arg(long)]
    resp_rate: Option<f64>,
    /// PaCO2, mmHg (SIRS).
    #[arg(long)]
    paco2: Option<f64>,
    /// White cell count, /µL (SIRS).
    #[arg(long)]
    wbc: Option<f64>,
    /// Immature bands, % (SIRS).
    #[arg(long)]
    bands: Option<f64>,

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
        (any || self.non_compressible).then(|| IschaemiaMeasurements {
            abi: self.abi,
            ankle_pressure_mmhg: self.ankle_pressure,
            toe_pressure_mmhg: self.toe_pressure,
            tcpo2_mmhg: self.tcpo2,
            non_compressible: self.non_compressible,
            diabetes: self.diabetes,
        })
    }

    pub fn infection_findings(&self) -> Option<InfectionFindings> {
        let sirs = SirsFindings {
            temperature_c: self.temperature,
            heart_rate_bpm: self.heart_rate,
            respiratory_rate_per_min: self.resp_rate,
            paco2_mmhg: self.paco2,
            wbc_per_ul: self.wbc,
            immature_bands_percent: self.bands,
        };
        let any = self.swelling
            || self.erythema_cm.is_some()
            || self.tenderness
            || self.warmth
            || self.purulence
            || !self.deep_infection.is_empty()
            || sirs != SirsFindings::default();
        any.then(|| InfectionFindings {
            local_swelling_or_induration: self.swelling,
            erythema_cm: self.erythema_cm.unwrap_or(0.0),
            local_tenderness_or_pain: self.tenderness,
            local_warmth: self.warmth,
            purulent_discharge: self.purulence,
            deep_involvement: self.deep_infection.clone(),
            sirs,
        })
    }

    pub fn run(&self) -> Result<WifiResult, InvalidInput> {
        let infection = self.infection_findings();
        // With no infection findings and no grade, the foot has no signs of infection only if the
        // clinician says so: require --infection 0 rather than assuming it.
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
