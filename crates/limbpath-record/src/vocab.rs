//! The record's vocabularies. Each is a closed list of codes, serialised as
//! the code (snake_case), with `ALL` for forms and filters.

use serde::{Deserialize, Serialize};

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $code)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code used in JSON, query strings and the database.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The variant for a code, if any.
            pub fn from_code(code: &str) -> Option<$name> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

vocabulary!(Sex { Female = "female", Male = "male", Other = "other", Unknown = "unknown" });

vocabulary!(DiabetesStatus { None = "none", Type1 = "type_1", Type2 = "type_2", Other = "other" });

vocabulary!(SmokingStatus { Never = "never", Former = "former", Current = "current", Unknown = "unknown" });

vocabulary!(AmbulatoryStatus {
    Independent = "independent",
    WithAid = "with_aid",
    Wheelchair = "wheelchair",
    Bedbound = "bedbound",
    /// Nobody has recorded how the patient walks yet (a patient imported from
    /// a system that does not say): something to complete, never a guess.
    NotRecorded = "not_recorded",
});

impl AmbulatoryStatus {
    /// The statuses a clinician records (every one but `NotRecorded`).
    pub const RECORDED: &'static [AmbulatoryStatus] = &[
        AmbulatoryStatus::Independent,
        AmbulatoryStatus::WithAid,
        AmbulatoryStatus::Wheelchair,
        AmbulatoryStatus::Bedbound,
    ];

    /// Whether someone has recorded how the patient walks.
    pub fn is_recorded(self) -> bool {
        self != AmbulatoryStatus::NotRecorded
    }
}

vocabulary!(Side { Left = "left", Right = "right" });

vocabulary!(LimbKind { Lower = "lower", Upper = "upper" });

vocabulary!(
    /// Amputation levels, lower then upper limb.
    AmputationLevel {
        Toe = "toe",
        Ray = "ray",
        Transmetatarsal = "transmetatarsal",
        Lisfranc = "lisfranc",
        Chopart = "chopart",
        Syme = "syme",
        Transtibial = "transtibial",
        KneeDisarticulation = "knee_disarticulation",
        Transfemoral = "transfemoral",
        HipDisarticulation = "hip_disarticulation",
        Hemipelvectomy = "hemipelvectomy",
        Digit = "digit",
        PartialHand = "partial_hand",
        WristDisarticulation = "wrist_disarticulation",
        Transradial = "transradial",
        ElbowDisarticulation = "elbow_disarticulation",
        Transhumeral = "transhumeral",
        ShoulderDisarticulation = "shoulder_disarticulation",
    }
);

impl AmputationLevel {
    pub fn limb_kind(self) -> LimbKind {
        use AmputationLevel::*;
        match self {
            Toe | Ray | Transmetatarsal | Lisfranc | Chopart | Syme | Transtibial | KneeDisarticulation
            | Transfemoral | HipDisarticulation | Hemipelvectomy => LimbKind::Lower,
            Digit
            | PartialHand
            | WristDisarticulation
            | Transradial
            | ElbowDisarticulation
            | Transhumeral
            | ShoulderDisarticulation => LimbKind::Upper,
        }
    }

    /// Major amputation: above the ankle (lower limb) or the wrist (upper
    /// limb). Syme (ankle disarticulation) counts as minor here; outcome
    /// definitions that need another convention say so.
    pub fn is_major(self) -> bool {
        use AmputationLevel::*;
        matches!(
            self,
            Transtibial
                | KneeDisarticulation
                | Transfemoral
                | HipDisarticulation
                | Hemipelvectomy
                | Transradial
                | ElbowDisarticulation
                | Transhumeral
                | ShoulderDisarticulation
        )
    }
}

vocabulary!(
    /// Why the episode exists.
    Aetiology {
        Clti = "clti",
        DiabeticFoot = "diabetic_foot",
        Venous = "venous",
        Trauma = "trauma",
        Tumour = "tumour",
        Infection = "infection",
        PostAmputationOsseointegration = "post_amputation_osseointegration",
        LimbLengthDiscrepancy = "limb_length_discrepancy",
    }
);

vocabulary!(EpisodeStatus {
    Referred = "referred",
    Evaluation = "evaluation",
    Treatment = "treatment",
    FollowUp = "follow_up",
    Closed = "closed",
});

vocabulary!(VascularStudyKind {
    Abi = "abi",
    Tbi = "tbi",
    ToePressure = "toe_pressure",
    Tcpo2 = "tcpo2",
    ArterialDuplex = "arterial_duplex",
    VenousDuplex = "venous_duplex",
});

vocabulary!(ImagingModality {
    Angiography = "angiography",
    Xray = "xray",
    Ct = "ct",
    CtAngiography = "ct_angiography",
    Mri = "mri",
    MrAngiography = "mr_angiography",
    BoneScan = "bone_scan",
    Dexa = "dexa",
    Ultrasound = "ultrasound",
});

vocabulary!(
    /// Procedure types of a limb salvage programme.
    ProcedureKind {
        Pta = "pta",
        StentBare = "stent_bare",
        StentDrugEluting = "stent_drug_eluting",
        Atherectomy = "atherectomy",
        Bypass = "bypass",
        VenousStent = "venous_stent",
        Thrombolysis = "thrombolysis",
        Thrombectomy = "thrombectomy",
        Ablation = "ablation",
        Debridement = "debridement",
        MinorAmputation = "minor_amputation",
        MajorAmputation = "major_amputation",
        SkinGraft = "skin_graft",
        Flap = "flap",
        SoftTissueReconstruction = "soft_tissue_reconstruction",
        BoneResectionEndoprosthesis = "bone_resection_endoprosthesis",
        BoneResectionGraft = "bone_resection_graft",
        JointReplacement = "joint_replacement",
        OsseointegrationImplantStandard = "osseointegration_implant_standard",
        OsseointegrationImplantCustom = "osseointegration_implant_custom",
        LengtheningExternalFrame = "lengthening_external_frame",
        LengtheningInternalNail = "lengthening_internal_nail",
    }
);

impl ProcedureKind {
    /// `Some(major)` for amputations.
    pub fn amputation(self) -> Option<bool> {
        match self {
            ProcedureKind::MinorAmputation => Some(false),
            ProcedureKind::MajorAmputation => Some(true),
            _ => None,
        }
    }

    /// Arterial revascularisation (for angiosome routes and outcome definitions).
    pub fn is_revascularisation(self) -> bool {
        use ProcedureKind::*;
        matches!(self, Pta | StentBare | StentDrugEluting | Atherectomy | Bypass | Thrombolysis | Thrombectomy)
    }
}

vocabulary!(
    /// Arteries a procedure can target, aorto-iliac to pedal.
    TargetArtery {
        Aorta = "aorta",
        CommonIliac = "common_iliac",
        ExternalIliac = "external_iliac",
        CommonFemoral = "common_femoral",
        ProfundaFemoris = "profunda_femoris",
        SuperficialFemoral = "superficial_femoral",
        Popliteal = "popliteal",
        TibioperonealTrunk = "tibioperoneal_trunk",
        AnteriorTibial = "anterior_tibial",
        PosteriorTibial = "posterior_tibial",
        Peroneal = "peroneal",
        DorsalisPedis = "dorsalis_pedis",
        PlantarArch = "plantar_arch",
    }
);

vocabulary!(AngiosomeRoute { Direct = "direct", Indirect = "indirect" });

vocabulary!(
    /// Dated events that outcome analytics count.
    OutcomeKind {
        WoundHealed = "wound_healed",
        WoundRecurrence = "wound_recurrence",
        MinorAmputation = "minor_amputation",
        MajorAmputation = "major_amputation",
        Death = "death",
        Reintervention = "reintervention",
        Restenosis = "restenosis",
        LossOfPatency = "loss_of_patency",
        Infection = "infection",
        Dvt = "dvt",
        PulmonaryEmbolism = "pulmonary_embolism",
        TumourRecurrence = "tumour_recurrence",
        ImplantLoosening = "implant_loosening",
        ImplantFracture = "implant_fracture",
        ImplantRemoval = "implant_removal",
        Fracture = "fracture",
    }
);

vocabulary!(
    /// Disciplines of the multidisciplinary team.
    Discipline {
        VascularSurgery = "vascular_surgery",
        InterventionalRadiology = "interventional_radiology",
        WoundCare = "wound_care",
        Podiatry = "podiatry",
        InfectiousDisease = "infectious_disease",
        Endocrinology = "endocrinology",
        Rehabilitation = "rehabilitation",
        Prosthetics = "prosthetics",
        Psychology = "psychology",
        Orthopaedics = "orthopaedics",
        PlasticSurgery = "plastic_surgery",
        Oncology = "oncology",
        CareCoordination = "care_coordination",
    }
);

vocabulary!(
    /// What a user may do (enforced by the server).
    Role {
        /// Everything, including users and the audit trail.
        Admin = "admin",
        /// Reads and writes patient records.
        Clinician = "clinician",
        /// Reads and writes patient records; runs the worklist.
        Coordinator = "coordinator",
        /// Aggregate and de-identified data only.
        Analyst = "analyst",
        /// Their own record only, read-only.
        Patient = "patient",
    }
);
