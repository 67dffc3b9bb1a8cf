//! `limbpath classify mess`: Mangled Extremity Severity Score (Johansen 1990).
use limbpath_clinical::InvalidInput;
use limbpath_clinical::trauma::{self, MessInput};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Skeletal/soft-tissue injury 1-4: 1 low energy (stab, simple fracture, civilian/pistol GSW); 2 medium (open or multiple fractures, dislocation); 3 high (high-speed MVA, rifle GSW); 4 very high (as 3 plus gross contamination or soft-tissue avulsion).
    #[arg(long, alias = "skeletal-soft-tissue-injury")]
    pub energy: u8,
    /// Limb ischaemia 1-3 before doubling: 1 pulse reduced or absent, perfusion normal; 2 pulseless, paraesthesias, diminished capillary refill; 3 cool, paralysed, insensate, numb. Johansen has no 0 (`0`/`none` is refused).
    #[arg(long, alias = "limb-ischaemia", value_parser = parse_ischaemia)]
    pub ischaemia: u8,
    /// Ischaemia time in hours (required): points are doubled when more than 6 h.
    #[arg(long)]
    pub ischaemia_hours: Option<f64>,
    /// Shock 0-2: 0 systolic BP always >90 mmHg; 1 transient hypotension; 2 persistent hypotension.
    #[arg(long)]
    pub shock: u8,
    /// Age in completed years (<30: 0; 30-50: 1; >50: 2).
    #[arg(long)]
    pub age_years: u32,
}

/// A whole number, or `none` (passed on as 0 so the engine explains why it is refused).
fn parse_ischaemia(s: &str) -> Result<u8, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Ok(0);
    }
    s.trim().parse::<u8>().map_err(|_| format!("{s:?} is not a whole number from 1 to 3"))
}

impl Args {
    pub fn run(&self) -> Result<trauma::MessOutput, InvalidInput> {
        trauma::classify(&MessInput {
            skeletal_soft_tissue_injury: self.energy,
            limb_ischaemia: self.ischaemia,
            ischaemia_hours: self.ischaemia_hours,
            shock: self.shock,
            age_years: self.age_years,
        })
    }
}
