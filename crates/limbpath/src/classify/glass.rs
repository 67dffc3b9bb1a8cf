//! `limbpath classify glass`: GLASS FP and IP grades (given or derived from
//! segment descriptors), calcification and IM modifiers, and the stage.

use limbpath_clinical::InvalidInput;
use limbpath_clinical::glass::{
    self, FpDescriptors, GlassInput, GlassOutput, ImDescriptors, ImModifier, IpDescriptors, TargetArtery,
};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ImArg {
    #[value(name = "P0", alias = "p0")]
    P0,
    #[value(name = "P1", alias = "p1")]
    P1,
    #[value(name = "P2", alias = "p2")]
    P2,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TargetArg {
    /// Anterior tibial artery.
    #[value(name = "at", alias = "anterior-tibial")]
    At,
    /// Posterior tibial artery.
    #[value(name = "pt", alias = "posterior-tibial")]
    Pt,
    /// Peroneal artery.
    Peroneal,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  limbpath classify glass --fp 3 --ip 1 --im P2\n  limbpath classify glass --fp 2 \
    --fp-calcified --ip 1 --crosses-ankle --pedal-arch-intact false\n  limbpath classify glass --ip 0 \
    --sfa-disease-cm 15 --sfa-cto-cm 4 --sfa-cto-count 1 --flush-occlusion false --popliteal-stenosis-cm 0 \
    --popliteal-trifurcation false --popliteal-cto false\n\nBoolean descriptor flags take an optional value: \
    `--flush-occlusion` means true, `--flush-occlusion false` means false; a descriptor left out is reported \
    as missing.")]
pub struct Args {
    /// Femoropopliteal grade 0-4, given directly (or use the FP descriptor flags).
    #[arg(long)]
    fp: Option<u8>,
    /// Infrapopliteal grade 0-4, given directly (or use the IP descriptor flags).
    #[arg(long)]
    ip: Option<u8>,
    /// Severe calcification of the FP segment (+1 grade, capped at 4); absent: not severely calcified.
    #[arg(long)]
    fp_calcified: bool,
    /// Severe calcification of the IP segment (+1 grade, capped at 4); absent: not severely calcified.
    #[arg(long)]
    ip_calcified: bool,
    /// Inframalleolar modifier given directly (or use --crosses-ankle and --pedal-arch-intact).
    #[arg(long, value_enum)]
    im: Option<ImArg>,
    /// The target artery crosses the ankle into the foot (IM modifier descriptor).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    crosses_ankle: Option<bool>,
    /// The pedal arch is intact; false: absent or severely diseased (IM modifier descriptor).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pedal_arch_intact: Option<bool>,

    /// FP descriptor: total length of SFA disease with ≥50 % stenosis, occlusions included, cm.
    #[arg(long, alias = "sfa-diseased-length-cm")]
    sfa_disease_cm: Option<f64>,
    /// FP descriptor: total SFA CTO length, cm (0 if none).
    #[arg(long, alias = "sfa-cto-length-cm")]
    sfa_cto_cm: Option<f64>,
    /// FP descriptor: number of SFA CTOs (0 if none).
    #[arg(long)]
    sfa_cto_count: Option<u32>,
    /// FP descriptor: an SFA occlusion is a flush occlusion (at the SFA origin).
    #[arg(long, alias = "sfa-flush-occlusion", num_args = 0..=1, default_missing_value = "true")]
    flush_occlusion: Option<bool>,
    /// FP descriptor: popliteal stenosis (≥50 %) length, cm (0 if none).
    #[arg(long, alias = "popliteal-stenosis-length-cm")]
    popliteal_stenosis_cm: Option<f64>,
    /// FP descriptor: popliteal disease extends into the trifurcation.
    #[arg(long, alias = "popliteal-trifurcation-involved", num_args = 0..=1, default_missing_value = "true")]
    popliteal_trifurcation: Option<bool>,
    /// FP descriptor: any popliteal CTO.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    popliteal_cto: Option<bool>,

    /// IP descriptor: the selected target artery (the IP grade follows its path).
    #[arg(long, value_enum)]
    target_artery: Option<TargetArg>,
    /// IP descriptor: diseased length of the target artery, occlusions included, cm.
    #[arg(long)]
    ip_disease_cm: Option<f64>,
    /// IP descriptor: total length of the target vessel, cm.
    #[arg(long)]
    ip_vessel_length_cm: Option<f64>,
    /// IP descriptor: total CTO length in the target artery, cm (0 if none).
    #[arg(long)]
    ip_cto_cm: Option<f64>,
    /// IP descriptor: number of CTOs in the target artery (0 if none).
    #[arg(long)]
    ip_cto_count: Option<u32>,
    /// IP descriptor: the disease involves the tibial origin.
    #[arg(long, alias = "tibial-origin-involved", num_args = 0..=1, default_missing_value = "true")]
    tibial_origin: Option<bool>,
    /// IP descriptor: CTO of the tibioperoneal trunk.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    tp_trunk_cto: Option<bool>,
}

impl Args {
    fn fp_descriptors(&self) -> Option<FpDescriptors> {
        let d = FpDescriptors {
            sfa_diseased_length_cm: self.sfa_disease_cm,
            sfa_cto_length_cm: self.sfa_cto_cm,
            sfa_cto_count: self.sfa_cto_count,
            sfa_flush_occlusion: self.flush_occlusion,
            popliteal_stenosis_length_cm: self.popliteal_stenosis_cm,
            popliteal_trifurcation_involved: self.popliteal_trifurcation,
            popliteal_cto: self.popliteal_cto,
        };
        let any = d.sfa_diseased_length_cm.is_some()
            || d.sfa_cto_length_cm.is_some()
            || d.sfa_cto_count.is_some()
            || d.sfa_flush_occlusion.is_some()
            || d.popliteal_stenosis_length_cm.is_some()
            || d.popliteal_trifurcation_involved.is_some()
            || d.popliteal_cto.is_some();
        any.then_some(d)
    }

    fn ip_descriptors(&self) -> Option<IpDescriptors> {
        let d = IpDescriptors {
            target_artery: self.target_artery.map(|t| match t {
                TargetArg::At => TargetArtery::AnteriorTibial,
                TargetArg::Pt => TargetArtery::PosteriorTibial,
                TargetArg::Peroneal => TargetArtery::Peroneal,
            }),
            diseased_length_cm: self.ip_disease_cm,
            vessel_length_cm: self.ip_vessel_length_cm,
            cto_length_cm: self.ip_cto_cm,
            cto_count: self.ip_cto_count,
            tibial_origin_involved: self.tibial_origin,
            tp_trunk_cto: self.tp_trunk_cto,
        };
        let any = d.target_artery.is_some()
            || d.diseased_length_cm.is_some()
            || d.vessel_length_cm.is_some()
            || d.cto_length_cm.is_some()
            || d.cto_count.is_some()
            || d.tibial_origin_involved.is_some()
            || d.tp_trunk_cto.is_some();
        any.then_some(d)
    }

    pub fn run(&self) -> Result<GlassOutput, InvalidInput> {
        let im_descriptors =
            (self.crosses_ankle.is_some() || self.pedal_arch_intact.is_some()).then_some(ImDescriptors {
                target_crosses_ankle: self.crosses_ankle,
                pedal_arch_intact: self.pedal_arch_intact,
            });
        glass::classify(&GlassInput {
            fp_grade: self.fp,
            fp_descriptors: self.fp_descriptors(),
            fp_severe_calcification: Some(self.fp_calcified),
            ip_grade: self.ip,
            ip_descriptors: self.ip_descriptors(),
            ip_severe_calcification: Some(self.ip_calcified),
            im_modifier: self.im.map(|m| match m {
                ImArg::P0 => ImModifier::P0,
                ImArg::P1 => ImModifier::P1,
                ImArg::P2 => ImModifier::P2,
            }),
            im_descriptors,
        })
    }
}
