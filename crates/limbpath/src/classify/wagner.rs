//! `limbpath classify wagner`: Meggitt-Wagner grade 0-5, given directly
//! (`--grade 3`) or derived from findings (`--open-lesion --ulcer-depth deep
//! --abscess-osteomyelitis-or-joint-sepsis`, `--no-open-lesion --gangrene localised`).
use limbpath_clinical::InvalidInput;
use limbpath_clinical::diabetic_foot::{self, Gangrene, UlcerDepth, WagnerFindings, WagnerInput};

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("mode").required(true).args(["grade", "open_lesion", "no_open_lesion"]))]
pub struct Args {
    /// Wagner grade 0-5 given directly (instead of findings).
    #[arg(long)]
    pub grade: Option<u8>,
    /// Findings: there is an open lesion (ulcer).
    #[arg(long)]
    pub open_lesion: bool,
    /// Findings: no open lesion (intact skin).
    #[arg(long)]
    pub no_open_lesion: bool,
    /// Findings: depth of the ulcer (required for an open lesion without gangrene).
    #[arg(long, value_enum)]
    pub ulcer_depth: Option<UlcerDepthArg>,
    /// Findings: abscess, osteomyelitis or joint sepsis present.
    #[arg(long)]
    pub abscess_osteomyelitis_or_joint_sepsis: bool,
    /// Findings: gangrene (omit, or `none`, when there is none).
    #[arg(long, value_enum)]
    pub gangrene: Option<GangreneArg>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum UlcerDepthArg {
    /// Superficial ulcer, partial or full thickness (not to tendon, capsule or bone).
    Superficial,
    /// Deep ulcer to tendon, capsule or bone.
    Deep,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum GangreneArg {
    /// No gangrene.
    None,
    /// Localised gangrene: toes or forefoot, or heel.
    Localised,
    /// Gangrene of the whole foot.
    #[value(alias = "whole_foot")]
    WholeFoot,
}

impl Args {
    pub fn run(&self) -> Result<diabetic_foot::WagnerOutput, InvalidInput> {
        let findings_given = self.open_lesion
            || self.no_open_lesion
            || self.ulcer_depth.is_some()
            || self.abscess_osteomyelitis_or_joint_sepsis
            || self.gangrene.is_some();
        let findings = findings_given.then(|| WagnerFindings {
            open_lesion: self.open_lesion,
            ulcer_depth: self.ulcer_depth.map(|d| match d {
                UlcerDepthArg::Superficial => UlcerDepth::Superficial,
                UlcerDepthArg::Deep => UlcerDepth::Deep,
            }),
            abscess_osteomyelitis_or_joint_sepsis: self.abscess_osteomyelitis_or_joint_sepsis,
            gangrene: match self.gangrene {
                None | Some(GangreneArg::None) => Gangrene::None,
                Some(GangreneArg::Localised) => Gangrene::Localised,
                Some(GangreneArg::WholeFoot) => Gangrene::WholeFoot,
            },
        });
        diabetic_foot::classify_wagner(&WagnerInput { grade: self.grade, findings })
    }
}
