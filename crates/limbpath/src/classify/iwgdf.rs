//! `limbpath classify iwgdf`: IWGDF/IDSA infection grade (and WIfI fI) from findings.

use super::vocab;
use limbpath_clinical::InvalidInput;
use limbpath_clinical::infection::{self, DeepInfection, InfectionFindings, InfectionResult, SirsFindings};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Findings not given are taken as absent. Example: limbpath classify iwgdf --warmth --purulence --erythema-cm 3 --deep-infection osteomyelitis"
)]
pub struct Args {
    /// Local swelling or induration.
    #[arg(long)]
    swelling: bool,
    /// Erythema extent from the wound margin, cm (0 when none).
    #[arg(long, default_value_t = 0.0)]
    erythema_cm: f64,
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
    /// Temperature, °C.
    #[arg(long)]
    temperature: Option<f64>,
    /// Heart rate, /min.
    #[arg(long)]
    heart_rate: Option<f64>,
    /// Respiratory rate, /min.
    #[arg(long)]
    resp_rate: Option<f64>,
    /// PaCO2, mmHg.
    #[arg(long)]
    paco2: Option<f64>,
    /// White cell count, /µL.
    #[arg(long)]
    wbc: Option<f64>,
    /// Immature bands, %.
    #[arg(long)]
    bands: Option<f64>,
}

impl Args {
    pub fn run(&self) -> Result<InfectionResult, InvalidInput> {
        infection::classify(&InfectionFindings {
            local_swelling_or_induration: self.swelling,
            erythema_cm: self.erythema_cm,
            local_tenderness_or_pain: self.tenderness,
            local_warmth: self.warmth,
            purulent_discharge: self.purulence,
            deep_involvement: self.deep_infection.clone(),
            sirs: SirsFindings {
                temperature_c: self.temperature,
                heart_rate_bpm: self.heart_rate,
                respiratory_rate_per_min: self.resp_rate,
                paco2_mmhg: self.paco2,
                wbc_per_ul: self.wbc,
                immature_bands_percent: self.bands,
            },
        })
    }
}
