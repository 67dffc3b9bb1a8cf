//! `limbpath classify texas`: University of Texas grade 0-3 × stage A-D, e.g.
//! `--depth bone --infection --ischaemia` -> 3D.
use limbpath_clinical::InvalidInput;
use limbpath_clinical::diabetic_foot::{self, TexasDepth, TexasInput};

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("grade_or_depth").required(true).args(["grade", "depth"]))]
pub struct Args {
    /// Grade 0-3 given directly (instead of --depth).
    #[arg(long)]
    pub grade: Option<u8>,
    /// Depth of the wound, which sets the grade.
    #[arg(long, value_enum)]
    pub depth: Option<TexasDepthArg>,
    /// The wound is infected (stage B, or D with ischaemia).
    #[arg(long)]
    pub infection: bool,
    /// The limb is ischaemic (stage C, or D with infection).
    #[arg(long)]
    pub ischaemia: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum TexasDepthArg {
    /// Grade 0: pre- or post-ulcerative lesion, completely epithelialised.
    Epithelialised,
    /// Grade 1: superficial wound, not involving tendon, capsule or bone.
    Superficial,
    /// Grade 2: wound penetrating to tendon or capsule (also accepted: `tendon`, `capsule`).
    #[value(alias = "tendon", alias = "capsule", alias = "tendon_or_capsule")]
    TendonOrCapsule,
    /// Grade 3: wound penetrating to bone or joint (also accepted: `bone`, `joint`).
    #[value(alias = "bone", alias = "joint", alias = "bone_or_joint")]
    BoneOrJoint,
}

impl Args {
    pub fn run(&self) -> Result<diabetic_foot::TexasOutput, InvalidInput> {
        diabetic_foot::classify_texas(&TexasInput {
            grade: self.grade,
            depth: self.depth.map(|d| match d {
                TexasDepthArg::Epithelialised => TexasDepth::Epithelialised,
                TexasDepthArg::Superficial => TexasDepth::Superficial,
                TexasDepthArg::TendonOrCapsule => TexasDepth::TendonOrCapsule,
                TexasDepthArg::BoneOrJoint => TexasDepth::BoneOrJoint,
            }),
            infection: self.infection,
            ischaemia: self.ischaemia,
        })
    }
}
