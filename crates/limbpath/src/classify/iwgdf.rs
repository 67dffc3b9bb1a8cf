//! `limbpath classify iwgdf`: IWGDF/IDSA infection grade (and WIfI fI) from findings.
//! The infection flags are shared with `classify wifi`.

use super::vocab;
use limbpath_clinical::InvalidInput;
use limbpath_clinical::infection::{self, DeepInfection, InfectionFindings, InfectionResult, SirsFindings};

/// Foot-infection findings as flags; findings not given are absent.
#[derive(Debug, clap::Args)]
pub struct InfectionFlags {
    /// Local swelling or induration.
    #[arg(long)]
    swelling: bool,
    /// Erythema extent from the wound margin, cm (none when not given).
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
}

impl InfectionFlags {
    /// The findings, whether or not any flag was given.
    pub fn findings(&self) -> InfectionFindings {
        InfectionFindings {
            local_swelling_or_induration: self.swelling,
            erythema_cm: self.erythema_cm.unwrap_or(0.0),
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
        }
    }

    /// The findings if at least one flag was given.
    pub fn given(&self) -> Option<InfectionFindings> {
        let f = self.findings();
        let any = self.erythema_cm.is_some() || f != InfectionFindings::default();
        any.then_some(f)
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Findings not given are taken as absent. \
Example: limbpath classify iwgdf --warmth --purulence --erythema-cm 3 --deep-infection osteomyelitis")]
pub struct Args {
    #[command(flatten)]
    findings: InfectionFlags,
}

impl Args {
    pub fn run(&self) -> Result<InfectionResult, InvalidInput> {
        infection::classify(&self.findings.findings())
    }
}
