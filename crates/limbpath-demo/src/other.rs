//! Episodes of the other aetiologies: venous (CEAP, VCSS), trauma (MESS),
//! tumour (MSTS), limb infection (IWGDF/IDSA), osseointegration (candidacy,
//! DEXA) and limb-length discrepancy (Paley). Rates are demo choices.

use crate::course;
use crate::draft::{Draft, ImagingDraft, ProcedureDraft, VascularDraft};
use crate::rng::Rng;
use crate::vascular::{amputation_text, consented_amputation, major_level, procedure_words};
use crate::wifi::{self, Lesion, LesionKind};
use crate::{Ctx, Fail, level_allowed, side_word};
use limbpath_clinical::angiosome::WoundLocation as Loc;
use limbpath_record::{
    AmputationLevel, DiabetesStatus, Discipline, ImagingModality, LimbKind, OutcomeKind, ProcedureKind, Sex,
    SmokingStatus, TargetArtery, VascularStudyKind,
};
use serde_json::{Map, Value, json};

fn imaging(d: &mut Draft, day: i32, modality: ImagingModality, findings: &str) {
    d.imaging(ImagingDraft { day, modality, findings: findings.to_owned(), segments: None, t_score: None });
}

fn limb_word(kind: LimbKind) -> &'static str {
    match kind {
        LimbKind::Lower => "leg",
        LimbKind::Upper => "arm",
    }
}

// ---------------------------------------------------------------------------
// Venous
// ---------------------------------------------------------------------------

/// CEAP 2020 strings by highest clinical class; the second of each pair is
/// secondary deep disease with reflux and obstruction. (The tests parse every
/// one through the engine.)
pub(crate) const CEAP: [(u8, [&str; 2]); 5] = [
    (2, ["C2,S,Ep,As,Pr", "C2r,S,Ep,As,Pr"]),
    (3, ["C2,3,S,Ep,As,Pr", "C3,S,Es,Ad,Pr,o"]),
    (4, ["C4a,S,Ep,As,Pr", "C4b,S,Es,Ad,Pr,o"]),
    (5, ["C4b,5,S,Ep,As,Pr", "C5,S,Es,Ad,Pr,o"]),
    (6, ["C4b,6,S,Ep,As,Pr", "C6,S,Es,Ad,Pr,o"]),
];

fn ceap(class: u8, deep: bool) -> &'static str {
    let row = CEAP.iter().find(|(c, _)| *c == class).unwrap_or(&CEAP[0]);
    row.1[usize::from(deep)]
}

fn vcss(rng: &mut Rng, class: u8, ulcer_area: Option<f64>, compression: i64) -> Value {
    let ulcer = ulcer_area.is_some();
    let size = match ulcer_area {
        // VCSS ulcer size by diameter: <2 cm, 2–6 cm, >6 cm (area of a circle ≈ 0.785 d²).
        Some(a) if a < 3.1 => 1,
        Some(a) if a <= 28.3 => 2,
        Some(_) => 3,
        None => 0,
    };
    json!({
        "pain": if class <= 2 { rng.int(0, 2) } else { rng.int(1, 3) },
        "varicose_veins": rng.int(1, 3),
        "venous_oedema": if class >= 3 { rng.int(1, 3) } else { rng.int(0, 1) },
        "skin_pigmentation": if class >= 4 { rng.int(1, 3) } else { 0 },
        "inflammation": if class >= 4 { rng.int(0, 2) } else { 0 },
        "induration": if class >= 4 { rng.int(0, 3) } else { 0 },
        "active_ulcer_number": if ulcer { rng.weighted(&[(1, 70), (2, 20), (3, 10)]) } else { 0 },
        "active_ulcer_duration": if ulcer { rng.int(1, 3) } else { 0 },
        "active_ulcer_size": size,
        "compression_therapy": compression,
    })
}

pub(crate) fn venous(c: &mut Ctx, d: &mut Draft) -> Result<(), Fail> {
    let sw = side_word(c.side);
    let opened = d.opened;
    let class = c.rng.weighted(&[(2u8, 15), (3, 15), (4, 20), (5, 15), (6, 35)]);
    let deep = c.rng.chance(0.3);
    d.summary = format!(
        "Chronic venous disease of the {sw} leg, CEAP C{class}{}.",
        if deep { ", deep venous disease" } else { "" }
    );
    d.member(c.rng, Discipline::CareCoordination, opened);
    let surgeon = d.member(c.rng, Discipline::VascularSurgery, opened);
    let b = opened + c.rng.days(7, 45);
    if class == 6 {
        d.member(c.rng, Discipline::WoundCare, b);
    }
    d.vascular(VascularDraft {
        day: (b - c.rng.days(0, 14)).max(opened),
        kind: VascularStudyKind::VenousDuplex,
        pressures: None,
        tcpo2: None,
        findings: if deep {
            "Venous duplex: post-thrombotic femoral and popliteal veins with reflux > 1 s and partial obstruction; iliac outflow to assess.".to_owned()
        } else {
            format!("Venous duplex: great saphenous vein reflux {:.1} s from the saphenofemoral junction; deep veins competent.", c.rng.tenth(1.0, 4.5))
        },
    });

    // The ulcer (C6), on the ankle regions the foot map has.
    let mut ulcer: Option<(f64, Option<i32>)> = None;
    if class == 6 {
        // The foot map has no medial malleolus or gaiter area: ankle regions only.
        let location = c.rng.pick(&[Loc::LateralMalleolus, Loc::AnteriorAnkle]);
        let area = c.rng.tenth(2.0, 40.0);
        let t = course::trajectory(c.rng, 0.35);
        let depth = Some(c.rng.tenth(0.1, 0.5));
        let w = course::wound(
            c.rng,
            location,
            b,
            area,
            depth,
            t,
            format!("Venous leg ulcer, {} ({sw})", location.label()),
            i32::MAX,
            d.limit,
        );
        ulcer = Some((area, w.healed));
        if let Some(h) = w.healed
            && c.rng.chance(0.15)
        {
            let recur = h + c.rng.days(60, 400);
            d.outcome(recur, OutcomeKind::WoundRecurrence, "Venous ulcer recurred.");
            let t = course::trajectory(c.rng, 0.4);
            let area = c.rng.tenth(1.0, 15.0);
            let again = course::wound(
                c.rng,
                location,
                recur,
                area,
                Some(0.2),
                t,
                format!("Recurrent venous leg ulcer, {} ({sw})", location.label()),
                i32::MAX,
                d.limit,
            );
            d.wound(again);
        }
        d.wound(w);
    }
    let compression = c.rng.int(0, 3);
    d.assess(b, json!({ "ceap": ceap(class, deep), "vcss": vcss(c.rng, class, ulcer.map(|u| u.0), compression) }))?;

    // Treatment.
    let mut last = b;
    if !deep && c.rng.chance(0.55) {
        let day = b + c.rng.days(14, 90);
        d.consent(day - c.rng.days(0, 14).min(day - opened), format!("{sw} endovenous ablation"), surgeon, None);
        if d.procedure(ProcedureDraft::new(
            day,
            ProcedureKind::Ablation,
            "Endovenous thermal ablation of the great saphenous vein.",
        )) {
            last = day;
            if c.rng.chance(0.02) {
                d.outcome(
                    day + c.rng.days(2, 21),
                    OutcomeKind::Dvt,
                    "Endovenous heat-induced thrombosis extending into the femoral vein.",
                );
            }
        }
    }
    if deep && c.rng.chance(0.5) {
        let day = b + c.rng.days(30, 120);
        let ir = d.member(c.rng, Discipline::InterventionalRadiology, day);
        d.consent(day - c.rng.days(0, 14).min(day - opened), format!("{sw} iliac venous stenting"), ir, None);
        if d.procedure(ProcedureDraft::new(day, ProcedureKind::VenousStent, "Iliofemoral venous stenting.")) {
            last = day;
        }
    }
    if let Some((area, _)) = ulcer
        && area > 15.0
        && c.rng.chance(0.2)
    {
        let day = b + c.rng.days(30, 120);
        let plastic = d.member(c.rng, Discipline::PlasticSurgery, day);
        d.consent(day - c.rng.days(0, 7).min(day - opened), format!("{sw} leg split-skin graft"), plastic, None);
        d.procedure(ProcedureDraft::new(day, ProcedureKind::SkinGraft, "Split-skin graft to a clean venous ulcer."));
    }
    if c.rng.chance(0.05) {
        d.outcome(
            b + c.rng.days(14, 200),
            OutcomeKind::Infection,
            "Cellulitis of the leg, treated with oral antibiotics.",
        );
    }

    // Follow-up: healed ulcers become C5.
    let fu = last.max(b) + c.rng.days(60, 180);
    let healed = ulcer.is_some_and(|(_, h)| h.is_some_and(|h| h <= fu));
    let class2 = if class == 6 && healed { 5 } else { class };
    let open_area = if class2 == 6 { ulcer.map(|u| u.0 * 0.7) } else { None };
    let compression = c.rng.int(1, 3);
    d.assess(fu, json!({ "ceap": ceap(class2, deep), "vcss": vcss(c.rng, class2, open_area, compression) }))?;
    d.tail = c.rng.days(60, 365);
    Ok(())
}

// ---------------------------------------------------------------------------
// Trauma
// ---------------------------------------------------------------------------

fn mess_total(derived: Option<&limbpath_record::Derived>) -> u64 {
    let result = derived.map(limbpath_record::Derived::result_value);
    result.as_ref().and_then(|r| r.pointer("/mess/total")).and_then(Value::as_u64).unwrap_or(0)
}

pub(crate) fn trauma(c: &mut Ctx, d: &mut Draft) -> Result<(), Fail> {
    let sw = side_word(c.side);
    let limb = limb_word(c.kind);
    let upper = c.kind == LimbKind::Upper;
    let b = d.opened;
    let skeletal = c.rng.weighted(&[(1u8, 20), (2, 35), (3, 30), (4, 15)]);
    let ischaemia = c.rng.weighted(&[(1u8, 50), (2, 30), (3, 20)]);
    let hours = c.rng.tenth(0.5, 12.0);
    let shock = c.rng.weighted(&[(0u8, 55), (1, 30), (2, 15)]);
    d.summary = format!(
        "{}{} injury of the {sw} {limb}{}.",
        if c.nth > 0 { "New " } else { "" },
        ["low-energy", "medium-energy", "high-energy", "very high-energy (crush)"][usize::from(skeletal - 1)],
        if ischaemia >= 2 { " with vascular compromise" } else { "" }
    );
    d.member(c.rng, Discipline::CareCoordination, b);
    let ortho = d.member(c.rng, Discipline::Orthopaedics, b);
    let vascular = (ischaemia >= 2).then(|| d.member(c.rng, Discipline::VascularSurgery, b));
    imaging(d, b, ImagingModality::Xray, "Radiographs: comminuted fracture.");
    if ischaemia >= 2 {
        imaging(d, b, ImagingModality::CtAngiography, "CT angiography: arterial injury with distal reconstitution.");
    }
    let age = c.patient.age_years(b);
    let derived = d.assess(
        b,
        json!({ "mess": {
            "skeletal_soft_tissue_injury": skeletal,
            "limb_ischaemia": ischaemia,
            "ischaemia_hours": hours,
            "shock": shock,
            "age_years": age,
        }}),
    )?;
    let total = mess_total(derived);

    let primary = c.rng.chance(if total >= 7 { 0.45 } else { 0.03 });
    let surgeon = vascular.unwrap_or(ortho);
    let mut amputated = false;
    if primary {
        let level = major_level(c.rng, upper);
        if level_allowed(c.level, level) {
            let day = b + c.rng.days(0, 2);
            amputated = consented_amputation(c, d, day, level, ortho, "Primary amputation of a mangled limb.");
        }
    } else {
        if let Some(v) = vascular {
            let day = b + c.rng.days(0, 1);
            d.consent(b, format!("{sw} {limb} arterial repair"), v, None);
            let mut p = ProcedureDraft::new(
                day,
                ProcedureKind::Bypass,
                if upper {
                    "Brachial artery interposition vein graft."
                } else {
                    "Interposition vein graft of the injured artery."
                },
            );
            if !upper {
                p.targets = vec![c.rng.pick(&[TargetArtery::SuperficialFemoral, TargetArtery::Popliteal])];
            }
            d.procedure(p);
        }
        let mut day = b;
        for _ in 0..c.rng.int(1, 3) {
            d.procedure(ProcedureDraft::new(day, ProcedureKind::Debridement, "Wound debridement and washout."));
            day += c.rng.days(2, 5);
        }
        let cover = b + c.rng.days(5, 30);
        match c.rng.int(0, 9) {
            0..=2 => {
                let plastic = d.member(c.rng, Discipline::PlasticSurgery, cover);
                d.consent(cover - c.rng.days(0, 3).min(cover - b), format!("{sw} {limb} free flap"), plastic, None);
                d.procedure(ProcedureDraft::new(cover, ProcedureKind::Flap, "Free flap coverage."));
            }
            3..=5 => {
                d.procedure(ProcedureDraft::new(cover, ProcedureKind::SkinGraft, "Split-skin graft."));
            }
            6 => {
                d.procedure(ProcedureDraft::new(
                    cover,
                    ProcedureKind::SoftTissueReconstruction,
                    "Soft-tissue reconstruction.",
                ));
            }
            _ => {}
        }
        if !upper && c.rng.chance(0.3) {
            let location = c.rng.pick(&[Loc::Dorsum, Loc::AnteriorAnkle, Loc::LateralMalleolus, Loc::MedialHeel]);
            let noted = b + c.rng.days(2, 10);
            let t = course::trajectory(c.rng, 0.5);
            let area = c.rng.tenth(4.0, 60.0);
            let depth = Some(c.rng.tenth(0.3, 2.0));
            let w = course::wound(
                c.rng,
                location,
                noted,
                area,
                depth,
                t,
                format!("Traumatic wound, {} ({sw})", location.label()),
                i32::MAX,
                d.limit,
            );
            d.wound(w);
        }
        if c.rng.chance(if total >= 7 { 0.16 } else { 0.05 }) {
            let level = major_level(c.rng, upper);
            let day = cover + c.rng.days(7, 90);
            if level_allowed(c.level, level) {
                amputated = consented_amputation(c, d, day, level, surgeon, "Delayed amputation after failed salvage.");
            }
        }
    }
    if amputated {
        let day = b + c.rng.days(2, 14);
        d.member(c.rng, Discipline::Rehabilitation, day);
        d.member(c.rng, Discipline::Prosthetics, day);
    } else {
        let day = b + c.rng.days(3, 30);
        d.member(c.rng, Discipline::Rehabilitation, day);
    }
    if c.rng.chance(0.4) {
        let day = b + c.rng.days(7, 60);
        d.member(c.rng, Discipline::Psychology, day);
    }
    if c.rng.chance(0.15) {
        d.outcome(b + c.rng.days(7, 60), OutcomeKind::Infection, "Deep surgical-site infection.");
    }
    if c.rng.chance(0.05) {
        let day = b + c.rng.days(3, 30);
        d.outcome(day, OutcomeKind::Dvt, "Deep vein thrombosis on duplex.");
        if c.rng.chance(0.3) {
            d.outcome(
                day + c.rng.days(0, 5),
                OutcomeKind::PulmonaryEmbolism,
                "Pulmonary embolism on CT pulmonary angiography.",
            );
        }
    }
    d.tail = c.rng.days(60, 300);
    Ok(())
}

// ---------------------------------------------------------------------------
// Tumour
// ---------------------------------------------------------------------------

fn msts(rng: &mut Rng, upper: bool, base: i64) -> Value {
    let mut s = || rng.int(base - 1, base + 1).clamp(0, 5);
    if upper {
        json!({ "limb": "upper", "pain": s(), "function": s(), "emotional_acceptance": s(),
                "hand_positioning": s(), "manual_dexterity": s(), "lifting_ability": s() })
    } else {
        json!({ "limb": "lower", "pain": s(), "function": s(), "emotional_acceptance": s(),
                "supports": s(), "walking": s(), "gait": s() })
    }
}

pub(crate) fn tumour(c: &mut Ctx, d: &mut Draft) -> Result<(), Fail> {
    let sw = side_word(c.side);
    let limb = limb_word(c.kind);
    let upper = c.kind == LimbKind::Upper;
    let opened = d.opened;
    // One diagnosis per patient (from the birth day, so every episode agrees).
    let diagnosis = if c.patient.age(c.patient.first_opened) < 30.0 {
        ["Osteosarcoma", "Ewing sarcoma"][(c.patient.birth.rem_euclid(4) == 0) as usize]
    } else {
        ["Soft-tissue sarcoma", "Chondrosarcoma", "Bone metastasis"][c.patient.birth.rem_euclid(3) as usize]
    };
    d.summary = if c.nth == 0 {
        format!("{diagnosis} of the {sw} {limb}.")
    } else {
        format!("{diagnosis} of the {sw} {limb}: local recurrence or new lesion on surveillance.")
    };
    d.member(c.rng, Discipline::CareCoordination, opened);
    let ortho = d.member(c.rng, Discipline::Orthopaedics, opened);
    d.member(c.rng, Discipline::Oncology, opened);
    let b = opened + c.rng.days(0, 14);
    imaging(
        d,
        (b - c.rng.days(0, 7)).max(opened),
        ImagingModality::Mri,
        "MRI: intramedullary and soft-tissue tumour extent mapped for resection margins.",
    );
    imaging(d, b + c.rng.days(0, 7), ImagingModality::Ct, "CT chest: no pulmonary metastases.");
    if c.rng.chance(0.4) {
        imaging(d, b + c.rng.days(0, 10), ImagingModality::BoneScan, "Bone scan: no skip lesions.");
    }
    d.assess(b, json!({ "msts": msts(c.rng, upper, 3) }))?;

    let surgery = b + c.rng.days(14, 60);
    d.member(c.rng, Discipline::Rehabilitation, surgery);
    if c.rng.chance(0.5) {
        d.member(c.rng, Discipline::Psychology, b);
    }
    let amputation = c.rng.chance(0.1);
    let mut endoprosthesis = false;
    let mut operated = false;
    if amputation {
        let level = if upper {
            c.rng.weighted(&[
                (AmputationLevel::Transhumeral, 40),
                (AmputationLevel::ShoulderDisarticulation, 30),
                (AmputationLevel::Transradial, 30),
            ])
        } else {
            c.rng.weighted(&[
                (AmputationLevel::Transfemoral, 50),
                (AmputationLevel::HipDisarticulation, 20),
                (AmputationLevel::Transtibial, 30),
            ])
        };
        if level_allowed(c.level, level) {
            operated = consented_amputation(c, d, surgery, level, ortho, "Oncological amputation with clear margins.");
            d.member(c.rng, Discipline::Prosthetics, surgery);
        }
    } else {
        let kind = c.rng.weighted(&[
            (ProcedureKind::BoneResectionEndoprosthesis, 55),
            (ProcedureKind::BoneResectionGraft, 20),
            (ProcedureKind::SoftTissueReconstruction, 25),
        ]);
        endoprosthesis = kind == ProcedureKind::BoneResectionEndoprosthesis;
        d.consent(
            surgery - c.rng.days(1, 7).min(surgery - opened),
            format!("{sw} {limb} limb-salvage resection"),
            ortho,
            None,
        );
        operated = d.procedure(ProcedureDraft::new(surgery, kind, "Wide resection; reconstruction."));
        if c.rng.chance(0.25) {
            d.member(c.rng, Discipline::PlasticSurgery, surgery);
            d.procedure(ProcedureDraft::new(
                surgery,
                ProcedureKind::Flap,
                "Pedicled flap coverage of the resection bed.",
            ));
        }
    }
    if !operated {
        d.tail = c.rng.days(30, 120);
        return Ok(());
    }
    // Function recovers over the first two years.
    for (months, base) in [(6, 3), (12, 3), (24, 4)] {
        let day = surgery + months * 30 + c.rng.days(-10, 10);
        d.assess(day, json!({ "msts": msts(c.rng, upper, base) }))?;
    }
    if c.rng.chance(0.12) {
        let day = surgery + c.rng.days(180, 1000);
        d.outcome(day, OutcomeKind::TumourRecurrence, "Local recurrence on surveillance MRI.");
        imaging(d, day, ImagingModality::Mri, "MRI: local recurrence at the resection margin.");
        if !amputation && c.rng.chance(0.3) {
            let level = major_level(c.rng, upper);
            if level_allowed(c.level, level) {
                let amp = day + c.rng.days(14, 60);
                if consented_amputation(c, d, amp, level, ortho, "Amputation for local recurrence.") {
                    d.member(c.rng, Discipline::Prosthetics, amp);
                }
            }
        }
    }
    if c.rng.chance(0.1) {
        d.outcome(
            surgery + c.rng.days(14, 120),
            OutcomeKind::Infection,
            "Deep periprosthetic / surgical-site infection.",
        );
    }
    if endoprosthesis {
        if c.rng.chance(0.06) {
            d.outcome(
                surgery + c.rng.days(365, 1500),
                OutcomeKind::ImplantLoosening,
                "Aseptic loosening of the endoprosthesis stem.",
            );
        }
        if c.rng.chance(0.02) {
            d.outcome(surgery + c.rng.days(200, 1500), OutcomeKind::ImplantFracture, "Fracture of the endoprosthesis.");
        }
    }
    d.tail = c.rng.days(90, 720);
    Ok(())
}

// ---------------------------------------------------------------------------
// Limb infection
// ---------------------------------------------------------------------------

pub(crate) fn infection(c: &mut Ctx, d: &mut Draft) -> Result<(), Fail> {
    let sw = side_word(c.side);
    let limb = limb_word(c.kind);
    let lower = c.kind == LimbKind::Lower;
    let opened = d.opened;
    let b = opened + c.rng.days(0, 3);
    let fi = c.rng.weighted(&[(1u8, 20), (2, 45), (3, 35)]);
    let inf = wifi::infection(c.rng, fi, true);
    d.summary = format!(
        "{} of the {sw} {limb}.",
        if inf.deep_involvement.is_empty() { "Spreading soft-tissue infection" } else { "Deep infection" }
    );
    d.member(c.rng, Discipline::CareCoordination, opened);
    d.member(c.rng, Discipline::InfectiousDisease, b);
    let discipline = if lower && c.rng.chance(0.4) { Discipline::VascularSurgery } else { Discipline::Orthopaedics };
    let surgeon = d.member(c.rng, discipline, opened);
    if c.patient.diabetic() {
        d.member(c.rng, Discipline::Endocrinology, b);
    }
    let mri = c.rng.chance(0.6);
    let text = match (mri, inf.deep_involvement.is_empty()) {
        (true, true) => "MRI: soft-tissue oedema; no collection, no marrow oedema.",
        (true, false) => "MRI: deep collection and/or marrow oedema consistent with deep infection.",
        (false, true) => "Radiographs: soft-tissue swelling; no gas, no bone destruction.",
        (false, false) => "Radiographs: soft-tissue swelling; cortical irregularity, MRI advised.",
    };
    imaging(d, b, if mri { ImagingModality::Mri } else { ImagingModality::Xray }, text);

    let mut f = Map::new();
    f.insert("infection".into(), to_json!("infection", &inf)?);
    let foot = lower && c.rng.chance(0.5);
    let mut lesion = None;
    if foot {
        let kind = if c.rng.chance(0.6) { LesionKind::DeepUlcer } else { LesionKind::ShallowUlcer };
        let location = c.rng.pick(kind.locations());
        let l = Lesion::new(c.rng, kind, location);
        f.insert("wound_locations".into(), json!([location.code()]));
        d.member(c.rng, Discipline::WoundCare, b);
        let t = course::trajectory(c.rng, 0.45);
        let w = course::wound(
            c.rng,
            location,
            b,
            l.area,
            l.depth,
            t,
            format!("{}, {} ({sw})", kind.words(), location.label()),
            i32::MAX,
            d.limit,
        );
        d.wound(w);
        lesion = Some(l);
    }
    d.assess(b, Value::Object(f))?;

    let mut day = b + c.rng.days(0, 2);
    for _ in 0..c.rng.int(1, 3) {
        d.consent(day, format!("{sw} {limb} debridement"), surgeon, None);
        d.procedure(ProcedureDraft::new(
            day,
            ProcedureKind::Debridement,
            "Surgical debridement; deep samples to microbiology.",
        ));
        day += c.rng.days(2, 7);
    }
    if let Some(l) = lesion.filter(|l| l.kind == LesionKind::DeepUlcer)
        && matches!(l.location, Loc::DorsalToes | Loc::PlantarToes)
        && c.rng.chance(0.3)
    {
        let level = c.rng.pick(&[AmputationLevel::Toe, AmputationLevel::Ray]);
        if level_allowed(c.level, level) {
            consented_amputation(c, d, day, level, surgeon, "Amputation of the infected toe.");
        }
    }
    if c.rng.chance(if fi == 3 { 0.12 } else { 0.04 }) {
        let level = major_level(c.rng, !lower);
        let amp = day + c.rng.days(1, 21);
        if level_allowed(c.level, level)
            && consented_amputation(c, d, amp, level, surgeon, "Amputation for uncontrolled infection.")
        {
            d.member(c.rng, Discipline::Rehabilitation, amp);
            d.member(c.rng, Discipline::Prosthetics, amp);
        }
    } else if c.rng.chance(0.2) {
        let cover = day + c.rng.days(7, 30);
        let plastic = d.member(c.rng, Discipline::PlasticSurgery, cover);
        let kind = if c.rng.chance(0.75) { ProcedureKind::SkinGraft } else { ProcedureKind::Flap };
        d.consent(
            cover - c.rng.days(0, 5).min(cover - opened),
            format!("{sw} {limb} {}", procedure_words(kind)),
            plastic,
            None,
        );
        d.procedure(ProcedureDraft::new(cover, kind, "Coverage after infection control."));
    }
    // Follow-up once the infection has settled.
    let fu = b + c.rng.days(21, 56);
    let settled = if c.rng.chance(0.8) { 0 } else { 1 };
    let inf2 = wifi::infection(c.rng, settled, false);
    d.assess(fu, json!({ "infection": to_json!("infection", &inf2)? }))?;
    if c.rng.chance(0.12) {
        d.outcome(b + c.rng.days(60, 400), OutcomeKind::Infection, "Recurrent infection.");
    }
    d.tail = c.rng.days(30, 200);
    Ok(())
}

// ---------------------------------------------------------------------------
// Osseointegration
// ---------------------------------------------------------------------------

fn oi_level(level: Option<AmputationLevel>) -> &'static str {
    match level {
        Some(AmputationLevel::Transfemoral) => "transfemoral",
        Some(AmputationLevel::Transtibial) => "transtibial",
        Some(AmputationLevel::KneeDisarticulation) => "knee_disarticulation",
        _ => "other",
    }
}

const SOCKET_PROBLEMS: [&str; 7] = [
    "pain",
    "skin_infections_or_ulcers",
    "residual_limb_too_short",
    "volume_fluctuation",
    "scarring_or_skin_grafting",
    "excessive_sweating",
    "limited_mobility",
];

pub(crate) fn osseointegration(c: &mut Ctx, d: &mut Draft) -> Result<(), Fail> {
    if c.implant {
        return osseointegration_review(c, d);
    }
    let sw = side_word(c.side);
    let limb = limb_word(c.kind);
    let p = c.patient;
    let opened = d.opened;
    d.summary = format!(
        "{} for osseointegration: {} with socket problems.",
        if c.nth > 0 { "Re-referred" } else { "Referred" },
        amputation_text(c.side, c.level.unwrap_or(AmputationLevel::Transfemoral))
    );
    d.member(c.rng, Discipline::CareCoordination, opened);
    let ortho = d.member(c.rng, Discipline::Orthopaedics, opened);
    d.member(c.rng, Discipline::Rehabilitation, opened);
    d.member(c.rng, Discipline::Prosthetics, opened);
    if c.rng.chance(0.6) {
        d.member(c.rng, Discipline::Psychology, opened);
    }
    let b = opened + c.rng.days(14, 60);
    let dexa_day = (b - c.rng.days(0, 14)).max(opened);
    let age = p.age(b);
    let t_score = if p.sex == Sex::Female && age > 50.0 { c.rng.tenth(-3.5, 0.0) } else { c.rng.tenth(-3.0, 1.2) };
    d.imaging(ImagingDraft {
        day: dexa_day,
        modality: ImagingModality::Dexa,
        findings: format!("DEXA of the residual {limb}: T-score {t_score:.1}."),
        segments: None,
        t_score: Some(t_score),
    });
    imaging(
        d,
        dexa_day,
        ImagingModality::Xray,
        "Radiographs of the residual limb: bone length and canal diameter measured.",
    );
    if c.rng.chance(0.5) {
        imaging(d, dexa_day, ImagingModality::Ct, "CT of the residual limb for implant planning.");
    }

    let mut o = Map::new();
    o.insert("amputation_level".into(), json!(oi_level(c.level)));
    let n = c.rng.int(1, 3) as usize;
    let problems: Vec<&str> =
        wifi::choose_distinct(c.rng, SOCKET_PROBLEMS.len(), n).into_iter().map(|i| SOCKET_PROBLEMS[i]).collect();
    o.insert("socket_problems".into(), json!(problems));
    o.insert("cooperates_with_protocol".into(), json!(c.rng.chance(0.95)));
    o.insert("understands_benefits_and_risks".into(), json!(c.rng.chance(0.95)));
    if let Some(bmi) = p.bmi {
        o.insert("bmi".into(), json!(bmi));
    }
    let glucose = match p.diabetes {
        DiabetesStatus::None => true,
        _ => p.hba1c.is_some_and(|h| h < 8.5),
    };
    o.insert("glucose_controlled".into(), json!(glucose));
    match p.smoking {
        SmokingStatus::Never => {
            o.insert("smoking".into(), json!("never"));
        }
        SmokingStatus::Current => {
            o.insert("smoking".into(), json!("current"));
        }
        SmokingStatus::Former => {
            o.insert("smoking".into(), json!("former"));
            let most = ((age - 14.0) * 12.0).clamp(3.0, 240.0) as i64;
            o.insert("months_since_quit".into(), json!(c.rng.whole(3, most)));
        }
        SmokingStatus::Unknown => {}
    }
    o.insert("active_residual_limb_infection".into(), json!(c.rng.chance(0.08)));
    o.insert("irradiated_bone".into(), json!(c.rng.chance(0.03)));
    o.insert("pregnancy".into(), json!(p.sex == Sex::Female && age < 50.0 && c.rng.chance(0.01)));
    o.insert("mental_instability".into(), json!(c.rng.chance(0.03)));
    o.insert("dexa_t_score".into(), json!(t_score));
    let result = d.assess(b, json!({ "oi_candidacy": Value::Object(o) }))?.map(|r| r.result_value());
    let decision = result.as_ref().and_then(|r| r.pointer("/oi_candidacy/decision")).and_then(Value::as_str);
    let proceed = match decision {
        Some("eligible") => c.rng.chance(0.8),
        Some("needs_review") => c.rng.chance(0.4),
        _ => false,
    };
    if proceed {
        let day = b + c.rng.days(30, 180);
        let kind = if c.rng.chance(0.75) {
            ProcedureKind::OsseointegrationImplantStandard
        } else {
            ProcedureKind::OsseointegrationImplantCustom
        };
        d.consent(day - c.rng.days(1, 14), format!("{sw} {limb} osseointegrated implant"), ortho, None);
        if d.procedure(ProcedureDraft::new(day, kind, "Press-fit intramedullary implant with percutaneous connector."))
        {
            let mut trouble = false;
            if c.rng.chance(0.25) {
                d.outcome(
                    day + c.rng.days(30, 500),
                    OutcomeKind::Infection,
                    "Superficial stoma infection, oral antibiotics.",
                );
                trouble = true;
            }
            if c.rng.chance(0.04) {
                d.outcome(
                    day + c.rng.days(180, 1200),
                    OutcomeKind::ImplantLoosening,
                    "Implant loosening on radiographs.",
                );
                trouble = true;
            }
            if c.rng.chance(0.02) {
                d.outcome(day + c.rng.days(180, 1200), OutcomeKind::ImplantFracture, "Fracture of the connector.");
            }
            if c.rng.chance(0.03) {
                d.outcome(day + c.rng.days(60, 900), OutcomeKind::Fracture, "Periprosthetic fracture after a fall.");
            }
            if trouble && c.rng.chance(0.2) {
                let removal = day + c.rng.days(600, 1300);
                d.outcome(removal, OutcomeKind::ImplantRemoval, "Implant removed.");
            }
        }
    }
    d.tail = c.rng.days(90, 540);
    Ok(())
}

/// A later osseointegration episode on a limb with an implant: review, with
/// the problems such reviews find.
fn osseointegration_review(c: &mut Ctx, d: &mut Draft) -> Result<(), Fail> {
    let limb = limb_word(c.kind);
    let opened = d.opened;
    d.summary = format!("Osseointegration implant review, {} residual {limb}.", side_word(c.side));
    d.member(c.rng, Discipline::CareCoordination, opened);
    let ortho = d.member(c.rng, Discipline::Orthopaedics, opened);
    d.member(c.rng, Discipline::Rehabilitation, opened);
    d.member(c.rng, Discipline::Prosthetics, opened);
    let day = opened + c.rng.days(7, 45);
    imaging(d, day, ImagingModality::Xray, "Radiographs of the residual limb and implant.");
    let t_score = c.rng.tenth(-3.0, 1.0);
    d.imaging(ImagingDraft {
        day,
        modality: ImagingModality::Dexa,
        findings: format!("DEXA of the residual {limb} around the implant: T-score {t_score:.1}."),
        segments: None,
        t_score: Some(t_score),
    });
    match c.rng.int(0, 9) {
        0..=2 => d.outcome(day, OutcomeKind::Infection, "Stoma infection, oral antibiotics."),
        3 => {
            d.outcome(day, OutcomeKind::ImplantLoosening, "Implant loosening on radiographs.");
            if c.rng.chance(0.4) {
                let removal = day + c.rng.days(14, 90);
                d.consent(
                    removal - c.rng.days(1, 7),
                    format!("{} {limb} implant removal", side_word(c.side)),
                    ortho,
                    None,
                );
                d.outcome(removal, OutcomeKind::ImplantRemoval, "Implant removed.");
            }
        }
        4 => d.outcome(day, OutcomeKind::Fracture, "Periprosthetic fracture after a fall."),
        _ => {}
    }
    d.tail = c.rng.days(60, 365);
    Ok(())
}

// ---------------------------------------------------------------------------
// Limb-length discrepancy
// ---------------------------------------------------------------------------

pub(crate) fn limb_length(c: &mut Ctx, d: &mut Draft) -> Result<(), Fail> {
    let sw = side_word(c.side);
    let p = c.patient;
    let opened = d.opened;
    let congenital = c.rng.chance(0.6);
    d.summary = format!(
        "{} limb-length discrepancy, {sw} leg short{}.",
        if congenital { "Congenital" } else { "Developmental" },
        if c.nth > 0 { "; review after treatment" } else { "" }
    );
    d.member(c.rng, Discipline::CareCoordination, opened);
    let ortho = d.member(c.rng, Discipline::Orthopaedics, opened);
    d.member(c.rng, Discipline::Rehabilitation, opened);
    if c.rng.chance(0.3) {
        d.member(c.rng, Discipline::Psychology, opened);
    }
    let sex = match p.sex {
        Sex::Male => Some("male"),
        Sex::Female => Some("female"),
        Sex::Other | Sex::Unknown => None,
    };
    let b = opened + c.rng.days(14, 60);
    let mut lld = c.rng.tenth(1.0, 6.0);
    let inhibition = c.rng.tenth(0.1, 0.6);
    let give_length = !congenital || c.rng.chance(0.5);
    let mut lengthened: Option<(i32, ProcedureKind)> = None;
    let mut day = b;
    for visit in 0..3 {
        let age = (p.age(day) * 10.0).floor() / 10.0;
        if !(0.0..=17.0).contains(&age) {
            break;
        }
        imaging(d, day, ImagingModality::Xray, &format!("Standing long-leg radiograph: discrepancy {lld:.1} cm."));
        let Some(sex) = sex else { break };
        let mut paley = Map::new();
        paley.insert("sex".into(), json!(sex));
        paley.insert("age_years".into(), json!(age));
        paley.insert("type".into(), json!(if congenital { "congenital" } else { "developmental" }));
        paley.insert("current_lld_cm".into(), json!(lld));
        if give_length {
            let length = ((30.0 + 3.6 * age) * c.rng.uniform(0.95, 1.05) * 10.0).round() / 10.0;
            paley.insert("current_length_cm".into(), json!(length));
        }
        if !congenital {
            paley.insert("growth_inhibition".into(), json!(inhibition));
        }
        let result = d.assess(day, json!({ "paley": Value::Object(paley) }))?.map(|r| r.result_value());
        let at_maturity =
            result.as_ref().and_then(|r| r.pointer("/paley/lld_at_maturity/value_cm")).and_then(Value::as_f64);
        if visit == 0 && at_maturity.is_some_and(|m| m > 5.0) && c.rng.chance(0.6) {
            let when = day + c.rng.days(60, 300);
            let kind = if age >= 10.0 && c.rng.chance(0.7) {
                ProcedureKind::LengtheningInternalNail
            } else {
                ProcedureKind::LengtheningExternalFrame
            };
            d.consent(
                when - c.rng.days(7, 30),
                format!("{sw} leg lengthening (consent by parent or guardian)"),
                ortho,
                None,
            );
            if d.procedure(ProcedureDraft::new(
                when,
                kind,
                "Lengthening at 1 mm/day in four steps after a 7-day latency.",
            )) {
                lengthened = Some((when, kind));
            }
        }
        let next = day + 365 + c.rng.days(-30, 30);
        lld = if congenital { (lld * 1.08 * 10.0).round() / 10.0 } else { ((lld + 0.3) * 10.0).round() / 10.0 };
        if let Some((when, _)) = lengthened
            && when < next
        {
            lld = (lld - c.rng.tenth(2.0, 5.0)).max(0.0);
        }
        day = next;
    }
    if let Some((when, kind)) = lengthened {
        if kind == ProcedureKind::LengtheningExternalFrame && c.rng.chance(0.25) {
            d.outcome(when + c.rng.days(14, 120), OutcomeKind::Infection, "Pin-site infection, oral antibiotics.");
        }
        if c.rng.chance(0.05) {
            d.outcome(
                when + c.rng.days(90, 300),
                OutcomeKind::Fracture,
                "Fracture through the regenerate after frame removal.",
            );
        }
    }
    d.tail = c.rng.days(90, 540);
    Ok(())
}
