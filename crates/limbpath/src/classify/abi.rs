//! `limbpath classify abi`: ABI and TBI per leg.

use limbpath_clinical::InvalidInput;
use limbpath_clinical::perfusion::{self, LegPressures, PerfusionResult, PressureSet};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: limbpath classify abi --brachial-left 132 --brachial-right 128 --left-dp 60 --left-pt 54 --left-toe 31"
)]
pub struct Args {
    /// Left brachial systolic pressure, mmHg.
    #[arg(long)]
    brachial_left: Option<f64>,
    /// Right brachial systolic pressure, mmHg.
    #[arg(long)]
    brachial_right: Option<f64>,
    /// Left dorsalis pedis pressure, mmHg.
    #[arg(long)]
    left_dp: Option<f64>,
    /// Left posterior tibial pressure, mmHg.
    #[arg(long)]
    left_pt: Option<f64>,
    /// Left toe pressure, mmHg.
    #[arg(long)]
    left_toe: Option<f64>,
    /// Right dorsalis pedis pressure, mmHg.
    #[arg(long)]
    right_dp: Option<f64>,
    /// Right posterior tibial pressure, mmHg.
    #[arg(long)]
    right_pt: Option<f64>,
    /// Right toe pressure, mmHg.
    #[arg(long)]
    right_toe: Option<f64>,
}

fn leg(dp: Option<f64>, pt: Option<f64>, toe: Option<f64>) -> Option<LegPressures> {
    (dp.is_some() || pt.is_some() || toe.is_some()).then_some(LegPressures {
        dorsalis_pedis_mmhg: dp,
        posterior_tibial_mmhg: pt,
        toe_pressure_mmhg: toe,
    })
}

impl Args {
    pub fn run(&self) -> Result<PerfusionResult, InvalidInput> {
        perfusion::classify(&PressureSet {
            brachial_left_mmhg: self.brachial_left,
            brachial_right_mmhg: self.brachial_right,
            left: leg(self.left_dp, self.left_pt, self.left_toe),
            right: leg(self.right_dp, self.right_pt, self.right_toe),
        })
    }
}
