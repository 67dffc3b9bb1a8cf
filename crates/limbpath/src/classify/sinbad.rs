//! `limbpath classify sinbad`: SINBAD score 0-6, each item with its point.
use limbpath_clinical::InvalidInput;
use limbpath_clinical::diabetic_foot::{self, SinbadDepth, SinbadInput, SinbadSite};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Site of the ulcer (forefoot 0; midfoot or hindfoot 1).
    #[arg(long, value_enum)]
    pub site: SiteArg,
    /// Clinical evidence of reduced pedal blood flow (omit: pedal flow intact, >=1 palpable pulse).
    #[arg(long)]
    pub ischaemia: bool,
    /// Protective sensation lost (omit: intact).
    #[arg(long)]
    pub neuropathy: bool,
    /// Bacterial infection present (omit: none).
    #[arg(long)]
    pub infection: bool,
    /// Ulcer area in cm² (< 1 scores 0, >= 1 scores 1).
    #[arg(long)]
    pub area_cm2: f64,
    /// Depth of the ulcer.
    #[arg(long, value_enum)]
    pub depth: DepthArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SiteArg {
    /// Forefoot (0 points).
    Forefoot,
    /// Midfoot (1 point).
    Midfoot,
    /// Hindfoot (1 point).
    Hindfoot,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DepthArg {
    /// Confined to skin or subcutaneous tissue (0 points; also accepted: `skin-or-subcutaneous`).
    #[value(alias = "skin-or-subcutaneous", alias = "skin_or_subcutaneous")]
    Superficial,
    /// Reaching muscle, tendon or deeper (1 point; also accepted: `muscle-tendon-or-deeper`).
    #[value(alias = "muscle-tendon-or-deeper", alias = "muscle_tendon_or_deeper")]
    Deep,
}

impl Args {
    pub fn run(&self) -> Result<diabetic_foot::SinbadOutput, InvalidInput> {
        diabetic_foot::classify_sinbad(&SinbadInput {
            site: match self.site {
                SiteArg::Forefoot => SinbadSite::Forefoot,
                SiteArg::Midfoot => SinbadSite::Midfoot,
                SiteArg::Hindfoot => SinbadSite::Hindfoot,
            },
            ischaemia: self.ischaemia,
            neuropathy: self.neuropathy,
            bacterial_infection: self.infection,
            area_cm2: self.area_cm2,
            depth: match self.depth {
                DepthArg::Superficial => SinbadDepth::SkinOrSubcutaneous,
                DepthArg::Deep => SinbadDepth::MuscleTendonOrDeeper,
            },
        })
    }
}
