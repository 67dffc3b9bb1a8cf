//! `limbpath classify msts`: MSTS functional score (Enneking 1993), six domains
//! 0-5, total /30 and percentage. Level descriptors are UNVERIFIED and not shown.
use limbpath_clinical::InvalidInput;
use limbpath_clinical::tumour::{self, Limb, MstsInput};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which form: lower or upper limb.
    #[arg(long, value_enum)]
    pub limb: LimbArg,
    /// Pain, 0-5 (both forms).
    #[arg(long)]
    pub pain: Option<u8>,
    /// Function, 0-5 (both forms).
    #[arg(long)]
    pub function: Option<u8>,
    /// Emotional acceptance, 0-5 (both forms).
    #[arg(long)]
    pub emotional_acceptance: Option<u8>,
    /// Supports, 0-5 (lower limb only).
    #[arg(long)]
    pub supports: Option<u8>,
    /// Walking, 0-5 (lower limb only).
    #[arg(long)]
    pub walking: Option<u8>,
    /// Gait, 0-5 (lower limb only).
    #[arg(long)]
    pub gait: Option<u8>,
    /// Hand positioning, 0-5 (upper limb only).
    #[arg(long)]
    pub hand_positioning: Option<u8>,
    /// Manual dexterity, 0-5 (upper limb only).
    #[arg(long)]
    pub manual_dexterity: Option<u8>,
    /// Lifting ability, 0-5 (upper limb only).
    #[arg(long)]
    pub lifting_ability: Option<u8>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LimbArg {
    /// Lower-limb form: pain, function, emotional acceptance, supports, walking, gait.
    Lower,
    /// Upper-limb form: pain, function, emotional acceptance, hand positioning, manual dexterity, lifting ability.
    Upper,
}

impl Args {
    pub fn run(&self) -> Result<tumour::MstsOutput, InvalidInput> {
        tumour::classify(&MstsInput {
            limb: match self.limb {
                LimbArg::Lower => Limb::Lower,
                LimbArg::Upper => Limb::Upper,
            },
            pain: self.pain,
            function: self.function,
            emotional_acceptance: self.emotional_acceptance,
            supports: self.supports,
            walking: self.walking,
            gait: self.gait,
            hand_positioning: self.hand_positioning,
            manual_dexterity: self.manual_dexterity,
            lifting_ability: self.lifting_ability,
        })
    }
}
