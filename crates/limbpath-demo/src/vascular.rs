//! CLTI and diabetic-foot episodes: a baseline assessment with the WIfI stage
//! drawn from the Zhan 2016 mix, pressures, wounds and their courses,
//! angiography with GLASS segments, revascularisation, debridement,
//! amputations, restenosis and reintervention, follow-up assessments.

use crate::course;
use crate::draft::{Draft, ImagingDraft, ProcedureDraft, VascularDraft};
use crate::wifi::{self, Cell, Lesion, LesionKind, Target};
use crate::{Ctx, Fail, ctx, level_allowed, side_word};
use limbpath_clinical::angiosome::{self, ArterialStatus, Artery, ArteryStatus};
use limbpath_clinical::glass::{self, GlassInput, GlassStage};
use limbpath_clinical::infection::DeepInfection;
use limbpath_clinical::perfusion::Side as LegSide;
use limbpath_record::{
    Aetiology, AmputationLevel, AngiosomeRoute, Discipline, ImagingModality, OutcomeKind, ProcedureKind, Side,
    TargetArtery, VascularStudyKind,
};
use serde_json::{Map, Value, json};

fn leg_side(s: Side) -> LegSide {
    match s {
        Side::Left => LegSide::Left,
        Side::Right => LegSide::Right,
    }
}

fn target_artery(a: Artery) -> TargetArtery {
    match a {
        Artery::AnteriorTibial => TargetArtery::AnteriorTibial,
        Artery::PosteriorTibial => TargetArtery::PosteriorTibial,
        Artery::Peroneal => TargetArtery::Peroneal,
    }
}

fn artery_code(a: Artery) -> &'static str {
    match a {
        Artery::AnteriorTibial => "anterior_tibial",
        Artery::PosteriorTibial => "posterior_tibial",
        Artery::Peroneal => "peroneal",
    }
}

/// What the angiography showed, as the engine graded it.
struct Glass {
    segments: Value,
    fp: u8,
    ip: u8,
    stage: GlassStage,
    ip_target: Option<Artery>,
}

/// GLASS input for an arterial imaging study: grades given directly half the
/// time, segment descriptors (lengths, occlusions) the other half; always
/// consistent (the engine validates the descriptors).
fn glass(rng: &mut crate::rng::Rng, i: u8, calcifies: bool, tibial: Option<Artery>) -> Result<Glass, Fail> {
    let severity = |rng: &mut crate::rng::Rng, shift: u8| -> u8 {
        let s = rng.weighted(&[(0u8, 20), (1, 25), (2, 25), (3, 20), (4, 10)]);
        (s + shift).min(4)
    };
    let shift = u8::from(i >= 3);
    let mut fp = severity(rng, shift);
    let mut ip = severity(rng, shift);
    if fp == 0 && ip == 0 {
        ip = 1 + u8::from(rng.chance(0.5));
    }
    let target = tibial.unwrap_or_else(|| rng.pick(&Artery::ALL));
    let mut g = Map::new();
    if rng.chance(0.5) {
        g.insert("fp_grade".into(), json!(fp));
        g.insert("ip_grade".into(), json!(ip));
    } else {
        g.insert("fp_descriptors".into(), fp_descriptors(rng, fp));
        g.insert("ip_descriptors".into(), ip_descriptors(rng, ip, target));
    }
    g.insert("fp_severe_calcification".into(), json!(rng.chance(if calcifies { 0.35 } else { 0.12 })));
    g.insert("ip_severe_calcification".into(), json!(rng.chance(if calcifies { 0.45 } else { 0.18 })));
    match rng.int(0, 19) {
        0..=11 => {
            let crosses = rng.chance(0.8);
            let mut im = Map::new();
            im.insert("target_crosses_ankle".into(), json!(crosses));
            if crosses {
                im.insert("pedal_arch_intact".into(), json!(rng.chance(0.6)));
            }
            g.insert("im_descriptors".into(), Value::Object(im));
        }
        12..=16 => {
            g.insert("im_modifier".into(), json!(rng.pick(&["P0", "P1", "P2"])));
        }
        _ => {}
    }
    let segments = Value::Object(g);
    let input: GlassInput = serde_json::from_value(segments.clone()).map_err(|e| {
        Fail::new("imaging study", limbpath_clinical::InvalidInput::unrecognised("arterial_segments", e, "GLASS input"))
    })?;
    let out = glass::classify(&input).map_err(|e| e.within("arterial_segments")).map_err(ctx("imaging study"))?;
    fp = out.fp.grade;
    ip = out.ip.grade;
    Ok(Glass { segments, fp, ip, stage: out.stage.stage, ip_target: (ip > 0).then_some(target) })
}

fn fp_descriptors(rng: &mut crate::rng::Rng, s: u8) -> Value {
    // (diseased length, CTO length, CTO count, flush, popliteal stenosis, trifurcation, popliteal CTO)
    let (l, c, n, flush, p, t, k) = match s {
        0 => (0.0, 0.0, 0, false, 0.0, false, false),
        1 => {
            let l = rng.tenth(2.0, 9.5);
            if rng.chance(0.3) {
                (l, rng.tenth(1.0, 4.5).min(l), 1, false, 0.0, false, false)
            } else {
                (l, 0.0, 0, false, 0.0, false, false)
            }
        }
        2 => {
            let l = rng.tenth(10.5, 19.5);
            let p = if rng.chance(0.3) { rng.tenth(0.5, 1.8) } else { 0.0 };
            if rng.chance(0.4) {
                (l, rng.tenth(5.5, 9.5), rng.int(1, 2) as u32, false, p, false, false)
            } else {
                (l, 0.0, 0, false, p, false, false)
            }
        }
        3 => {
            let l = rng.tenth(20.5, 28.0);
            let p = if rng.chance(0.3) { rng.tenth(2.1, 4.9) } else { 0.0 };
            if rng.chance(0.5) {
                (l, rng.tenth(10.5, 19.5), 1, false, p, false, false)
            } else {
                (l, rng.tenth(3.0, 18.0), 1, true, p, false, false)
            }
        }
        _ => {
            let l = rng.tenth(21.0, 30.0);
            if rng.chance(0.6) {
                (l, rng.tenth(20.5, l), rng.int(1, 2) as u32, false, 0.0, false, false)
            } else {
                let p = rng.tenth(1.0, 6.0);
                (l, 0.0, 0, false, p, rng.chance(0.4), rng.chance(0.5))
            }
        }
    };
    json!({
        "sfa_diseased_length_cm": l,
        "sfa_cto_length_cm": c,
        "sfa_cto_count": n,
        "sfa_flush_occlusion": flush,
        "popliteal_stenosis_length_cm": p,
        "popliteal_trifurcation_involved": t,
        "popliteal_cto": k,
    })
}

fn ip_descriptors(rng: &mut crate::rng::Rng, s: u8, target: Artery) -> Value {
    let v = rng.tenth(28.0, 38.0);
    let third = v / 3.0;
    let (d, c, n) = match s {
        0 => (0.0, 0.0, 0),
        1 => (rng.tenth(0.5, 2.8), 0.0, 0),
        2 => {
            let d = rng.tenth(3.2, third - 0.5);
            if rng.chance(0.3) { (d, rng.tenth(0.5, 2.8), 1) } else { (d, 0.0, 0) }
        }
        3 => {
            let d = rng.tenth(third + 0.5, 2.0 * third - 0.5);
            if rng.chance(0.5) { (d, rng.tenth(3.2, third - 0.5), 1) } else { (d, 0.0, 0) }
        }
        _ => {
            let d = rng.tenth(2.0 * third + 0.5, v);
            if rng.chance(0.6) { (d, rng.tenth(third + 0.5, d), rng.int(1, 2) as u32) } else { (d, 0.0, 0) }
        }
    };
    let c = if c > d { d } else { c };
    json!({
        "target_artery": artery_code(target),
        "diseased_length_cm": d,
        "vessel_length_cm": v,
        "cto_length_cm": c,
        "cto_count": if c > 0.0 { n.max(1) } else { 0 },
        "tibial_origin_involved": d > 0.0 && rng.chance(0.3),
        "tp_trunk_cto": s >= 3 && rng.chance(0.1),
    })
}

/// The tibial artery to revascularise: a treatable one, preferring the
/// wound's source artery (direct).
fn tibial_target(rng: &mut crate::rng::Rng, arteries: Option<&ArterialStatus>, sources: &[Artery]) -> Option<Artery> {
    let status = |a: Artery| {
        arteries.and_then(|s| match a {
            Artery::AnteriorTibial => s.anterior_tibial,
            Artery::PosteriorTibial => s.posterior_tibial,
            Artery::Peroneal => s.peroneal,
        })
    };
    let treatable: Vec<Artery> = Artery::ALL
        .iter()
        .copied()
        .filter(|a| arteries.is_none() || status(*a) == Some(ArteryStatus::Treatable))
        .collect();
    if treatable.is_empty() {
        return None;
    }
    let direct: Vec<Artery> = treatable.iter().copied().filter(|a| sources.contains(a)).collect();
    if !direct.is_empty() && rng.chance(0.75) { Some(rng.pick(&direct)) } else { Some(rng.pick(&treatable)) }
}

/// Rutherford from the WIfI picture: tissue loss by W, rest pain with I2–3
/// and no wound, otherwise claudication (or none, after treatment).
fn rutherford(rng: &mut crate::rng::Rng, cell: Cell, ankle: Option<f64>, toe: Option<f64>, treated: bool) -> Value {
    let mut r = Map::new();
    let presentation = match (cell.w, cell.i) {
        (0, 0 | 1) if treated && rng.chance(0.5) => "asymptomatic",
        (0, 0 | 1) => {
            let severity =
                if cell.i == 0 { rng.pick(&["mild", "moderate"]) } else { rng.pick(&["moderate", "severe"]) };
            r.insert("claudication_severity".into(), json!(severity));
            "claudication"
        }
        (0, _) => "rest_pain",
        (1 | 2, _) => "minor_tissue_loss",
        _ => "major_tissue_loss",
    };
    r.insert("presentation".into(), json!(presentation));
    if let Some(a) = ankle {
        r.insert("resting_ankle_pressure_mmhg".into(), json!(a));
    }
    if let Some(t) = toe {
        r.insert("toe_pressure_mmhg".into(), json!(t));
    }
    Value::Object(r)
}

/// Wagner, Texas and SINBAD from the same lesions and infection.
fn diabetic_foot_scores(
    rng: &mut crate::rng::Rng,
    f: &mut Map<String, Value>,
    lesions: &[Lesion],
    cell: Cell,
    deep: &[DeepInfection],
    stage5: bool,
) {
    let open: Vec<&Lesion> = lesions.iter().filter(|l| !l.kind.gangrene()).collect();
    let deep_ulcer = open.iter().any(|l| l.kind.deep());
    let gangrene = lesions.iter().find(|l| l.kind.gangrene()).map(|l| {
        if l.kind == LesionKind::ExtensiveGangrene && stage5 && rng.chance(0.4) { "whole_foot" } else { "localised" }
    });
    let sepsis = deep
        .iter()
        .any(|d| matches!(d, DeepInfection::Abscess | DeepInfection::Osteomyelitis | DeepInfection::SepticArthritis))
        && (deep_ulcer || gangrene.is_some());
    let mut wf = Map::new();
    wf.insert("open_lesion".into(), json!(!open.is_empty()));
    if !open.is_empty() {
        wf.insert("ulcer_depth".into(), json!(if deep_ulcer { "deep" } else { "superficial" }));
    }
    wf.insert("abscess_osteomyelitis_or_joint_sepsis".into(), json!(sepsis));
    wf.insert("gangrene".into(), json!(gangrene.unwrap_or("none")));
    f.insert("wagner".into(), json!({ "findings": Value::Object(wf) }));

    let bone = deep.iter().any(|d| matches!(d, DeepInfection::Osteomyelitis | DeepInfection::SepticArthritis))
        || lesions.iter().any(|l| {
            matches!(l.kind, LesionKind::ExposedBoneToe | LesionKind::ExtensiveDeepUlcer | LesionKind::DeepHeel)
                || l.kind.gangrene()
        });
    let depth = if lesions.is_empty() {
        "epithelialised"
    } else if bone {
        "bone_or_joint"
    } else if lesions.iter().any(|l| l.kind.deep()) {
        "tendon_or_capsule"
    } else {
        "superficial"
    };
    f.insert("texas".into(), json!({ "depth": depth, "infection": cell.fi >= 1, "ischaemia": cell.i >= 1 }));

    if let Some(main) = lesions.first() {
        use limbpath_clinical::angiosome::WoundLocation as Loc;
        let site = match main.location {
            Loc::PlantarInstep | Loc::LateralPlantarMidfoot => "midfoot",
            Loc::MedialHeel | Loc::PlantarHeel | Loc::LateralHeel | Loc::AnteriorAnkle | Loc::LateralMalleolus => {
                "hindfoot"
            }
            _ => "forefoot",
        };
        f.insert(
            "sinbad".into(),
            json!({
                "site": site,
                "ischaemia": cell.i >= 1,
                "neuropathy": rng.chance(0.9),
                "bacterial_infection": cell.fi >= 1,
                "area_cm2": main.area,
                "depth": if main.kind.deep() { "muscle_tendon_or_deeper" } else { "skin_or_subcutaneous" },
            }),
        );
    }
}

fn locations(lesions: &[Lesion]) -> Value {
    let mut v: Vec<Value> = Vec::with_capacity(lesions.len());
    for l in lesions {
        let code = json!(l.location.code());
        if !v.contains(&code) {
            v.push(code);
        }
    }
    Value::Array(v)
}

fn amputation_words(level: AmputationLevel) -> &'static str {
    match level {
        AmputationLevel::Toe => "toe amputation",
        AmputationLevel::Ray => "ray amputation",
        AmputationLevel::Transmetatarsal => "transmetatarsal amputation",
        AmputationLevel::Lisfranc => "Lisfranc amputation",
        AmputationLevel::Chopart => "Chopart amputation",
        AmputationLevel::Syme => "Syme amputation",
        AmputationLevel::Transtibial => "transtibial (below-knee) amputation",
        AmputationLevel::KneeDisarticulation => "knee disarticulation",
        AmputationLevel::Transfemoral => "transfemoral (above-knee) amputation",
        AmputationLevel::HipDisarticulation => "hip disarticulation",
        AmputationLevel::Hemipelvectomy => "hemipelvectomy",
        AmputationLevel::Digit => "digit amputation",
        AmputationLevel::PartialHand => "partial hand amputation",
        AmputationLevel::WristDisarticulation => "wrist disarticulation",
        AmputationLevel::Transradial => "transradial (below-elbow) amputation",
        AmputationLevel::ElbowDisarticulation => "elbow disarticulation",
        AmputationLevel::Transhumeral => "transhumeral (above-elbow) amputation",
        AmputationLevel::ShoulderDisarticulation => "shoulder disarticulation",
    }
}

/// Whether a minor amputation at `level` takes a lesion at `location`.
fn removes(level: AmputationLevel, location: limbpath_clinical::angiosome::WoundLocation) -> bool {
    use limbpath_clinical::angiosome::WoundLocation as Loc;
    match level {
        AmputationLevel::Toe | AmputationLevel::Ray => matches!(location, Loc::DorsalToes | Loc::PlantarToes),
        AmputationLevel::Transmetatarsal | AmputationLevel::Lisfranc => {
            matches!(location, Loc::DorsalToes | Loc::PlantarToes | Loc::PlantarForefoot | Loc::Dorsum)
        }
        _ => matches!(
            location,
            Loc::DorsalToes
                | Loc::PlantarToes
                | Loc::PlantarForefoot
                | Loc::Dorsum
                | Loc::PlantarInstep
                | Loc::LateralPlantarMidfoot
        ),
    }
}

/// A procedure in words, for consent forms.
pub(crate) fn procedure_words(kind: ProcedureKind) -> &'static str {
    match kind {
        ProcedureKind::Pta => "balloon angioplasty",
        ProcedureKind::StentBare => "angioplasty and bare-metal stenting",
        ProcedureKind::StentDrugEluting => "angioplasty and drug-eluting stenting",
        ProcedureKind::Atherectomy => "atherectomy and angioplasty",
        ProcedureKind::Bypass => "bypass with vein graft",
        ProcedureKind::Thrombolysis => "catheter-directed thrombolysis",
        ProcedureKind::Thrombectomy => "thrombectomy",
        ProcedureKind::SkinGraft => "split-skin graft",
        ProcedureKind::Flap => "flap reconstruction",
        _ => "procedure",
    }
}

pub(crate) fn amputation_text(side: Side, level: AmputationLevel) -> String {
    format!("{} {}", side_word(side), amputation_words(level))
}

/// Consent a few days before an operation, then the operation.
pub(crate) fn consented_amputation(
    c: &mut Ctx,
    d: &mut Draft,
    day: i32,
    level: AmputationLevel,
    surgeon: &str,
    notes: &str,
) -> bool {
    let consent_day = (day - c.rng.days(0, 5)).max(d.opened);
    d.consent(consent_day, amputation_text(c.side, level), surgeon, None);
    d.amputation(day, level, notes.to_owned())
}

pub(crate) fn major_level(rng: &mut crate::rng::Rng, upper: bool) -> AmputationLevel {
    if upper {
        rng.weighted(&[
            (AmputationLevel::Transradial, 45),
            (AmputationLevel::Transhumeral, 40),
            (AmputationLevel::ElbowDisarticulation, 10),
            (AmputationLevel::ShoulderDisarticulation, 5),
        ])
    } else {
        rng.weighted(&[
            (AmputationLevel::Transtibial, 65),
            (AmputationLevel::Transfemoral, 28),
            (AmputationLevel::KneeDisarticulation, 7),
        ])
    }
}

const ENDOVASCULAR_COMPLICATIONS: [&str; 3] =
    ["access-site haematoma", "contrast-associated acute kidney injury", "distal embolisation"];
const BYPASS_COMPLICATIONS: [&str; 3] = ["surgical-site infection", "wound dehiscence", "groin haematoma"];

pub(crate) fn plan(c: &mut Ctx, d: &mut Draft) -> Result<(), Fail> {
    let a = d.aetiology;
    let p = c.patient;
    let diabetic = p.diabetic();
    let calcifies = diabetic || p.dialysis;
    let side = leg_side(c.side);

    // The baseline: a target stage from the Zhan 2016 mix, then a cell of it.
    let target = c.rng.weighted(&wifi::STAGE_MIX);
    let (table_stage, stage5) = match target {
        Target::Stage(5) => (4, true),
        Target::Stage(s) => (s, false),
        Target::Unstaged => (c.rng.weighted(&[(1u8, 12), (2, 28), (3, 24), (4, 28)]), false),
    };
    let cell = wifi::choose_cell(c.rng, if stage5 { 5 } else { table_stage }, a);
    let staged = target != Target::Unstaged;
    let lesions = wifi::lesions(c.rng, cell.w, a);
    let deep_ok = lesions.iter().any(|l| l.kind.deep());
    let inf = wifi::infection(c.rng, cell.fi, deep_ok);
    let osteomyelitis = inf.deep_involvement.contains(&DeepInfection::Osteomyelitis);
    let pr = wifi::pressures(c.rng, side, cell.i, diabetic, calcifies);
    let rest_pain = cell.w == 0 && cell.i >= 2;
    let arteries = (!lesions.is_empty() && c.rng.chance(0.75)).then(|| wifi::arteries(c.rng, cell.i));
    let sources: Vec<Artery> = {
        let mut s: Vec<Artery> = lesions.iter().flat_map(|l| angiosome::source_arteries(l.location)).collect();
        s.sort();
        s.dedup();
        s
    };
    let sw = side_word(c.side);
    d.summary = match lesions.first() {
        Some(l) => format!(
            "{} of the {sw} foot: {}, {}.",
            if a == Aetiology::Clti { "Chronic limb-threatening ischaemia" } else { "Diabetic foot" },
            l.kind.words().to_lowercase(),
            l.location.label()
        ),
        None if a == Aetiology::DiabeticFoot => format!(
            "Diabetic foot of the {sw} foot: intact skin, {}.",
            if cell.fi >= 1 {
                "cellulitis"
            } else if cell.i >= 2 {
                "ischaemic rest pain"
            } else {
                "pre-ulcerative callus"
            }
        ),
        None if cell.i >= 2 => format!("Chronic limb-threatening ischaemia of the {sw} leg: ischaemic rest pain."),
        None => format!("Peripheral arterial disease of the {sw} leg: limb pain under evaluation, no tissue loss."),
    };

    let opened = d.opened;
    let b = opened + c.rng.days(0, 10);
    d.member(c.rng, Discipline::CareCoordination, opened);
    let vascular_surgeon = d.member(c.rng, Discipline::VascularSurgery, opened);
    if !lesions.is_empty() {
        d.member(c.rng, Discipline::WoundCare, b);
    }
    if a == Aetiology::DiabeticFoot || (!lesions.is_empty() && c.rng.chance(0.6)) {
        d.member(c.rng, Discipline::Podiatry, b);
    }
    if diabetic && (a == Aetiology::DiabeticFoot || c.rng.chance(0.5)) {
        d.member(c.rng, Discipline::Endocrinology, b);
    }
    if cell.fi >= 2 {
        d.member(c.rng, Discipline::InfectiousDisease, b);
    }
    if a == Aetiology::DiabeticFoot && c.rng.chance(0.1) {
        d.member(c.rng, Discipline::Orthopaedics, b);
    }

    // Baseline assessment (pressures pending when unstaged).
    let wound = wifi::wound_findings(&lesions, rest_pain);
    let mut f = Map::new();
    f.insert("side".into(), json!(side.label()));
    f.insert("diabetes".into(), json!(diabetic));
    if staged {
        f.insert("pressures".into(), to_json!("pressures", &pr.set)?);
    }
    f.insert("wound".into(), to_json!("wound", &wound)?);
    f.insert("infection".into(), to_json!("infection", &inf)?);
    if !lesions.is_empty() {
        f.insert("wound_locations".into(), locations(&lesions));
    }
    if let Some(art) = &arteries {
        f.insert("arteries".into(), to_json!("arteries", art)?);
    }
    if stage5 {
        f.insert("stage5_unsalvageable".into(), json!(true));
    }
    // Rutherford's objective criteria only once the pressures are measured.
    let ankle = (staged && !pr.calcified).then_some(pr.ankle);
    let toe = pr.toe.filter(|_| staged);
    if a == Aetiology::Clti || cell.i >= 1 {
        f.insert("rutherford".into(), rutherford(c.rng, cell, ankle, toe, false));
    }
    if a == Aetiology::DiabeticFoot {
        diabetic_foot_scores(c.rng, &mut f, &lesions, cell, &inf.deep_involvement, stage5);
    }
    let baseline = Value::Object(f);

    // Unstaged: the perfusion studies come a week or two later, with a second assessment.
    let pressures_day = if staged { b } else { b + c.rng.days(5, 14) };
    let study_day = if staged { (b - c.rng.days(0, 3)).max(opened) } else { pressures_day };
    let mut perfusion_note = format!("Resting pressures, {sw} leg: ankle {} mmHg", pr.ankle);
    if let Some(t) = pr.toe {
        perfusion_note.push_str(&format!(", toe {t} mmHg"));
    }
    if pr.calcified {
        perfusion_note.push_str("; incompressible ankle vessels (ABI > 1.40), toe pressure used");
    }
    d.vascular(VascularDraft {
        day: study_day,
        kind: if pr.toe.is_some() { VascularStudyKind::Tbi } else { VascularStudyKind::Abi },
        pressures: Some(pr.set.clone()),
        tcpo2: (a == Aetiology::DiabeticFoot && c.rng.chance(0.3)).then(|| wifi::tcpo2(c.rng, cell.i)),
        findings: perfusion_note,
    });
    if staged {
        d.assess(b, baseline)?;
    } else {
        let mut second = baseline.clone();
        d.assess(b, baseline)?;
        if let Value::Object(m) = &mut second {
            m.insert("pressures".into(), to_json!("pressures", &pr.set)?);
        }
        d.assess(pressures_day, second)?;
    }
    if c.rng.chance(0.4) {
        let text = match cell.i {
            0 => "Arterial duplex: triphasic flow to the ankle, no haemodynamically significant stenosis.",
            1 => "Arterial duplex: moderate superficial femoral artery stenosis, monophasic tibial flow.",
            2 => {
                "Arterial duplex: superficial femoral artery occlusion reconstituting at the popliteal artery; tibial run-off reduced."
            }
            _ => "Arterial duplex: multilevel occlusive disease; tibial arteries occluded or barely detectable.",
        };
        let day = pressures_day + c.rng.days(0, 7);
        d.vascular(VascularDraft {
            day,
            kind: VascularStudyKind::ArterialDuplex,
            pressures: None,
            tcpo2: None,
            findings: text.to_owned(),
        });
    }

    // Management decisions.
    let primary_major = (stage5 && c.rng.chance(0.75)) || (cell.w == 3 && cell.i == 3 && c.rng.chance(0.06));
    let revasc_chance = match cell.i {
        0 => 0.0,
        1 if cell.w >= 1 => 0.5,
        1 => 0.3,
        2 => 0.85,
        _ => 0.88,
    };
    let revasc = !primary_major && c.rng.chance(revasc_chance);
    let success = revasc && c.rng.chance(0.8);

    let mut major: Option<(i32, AmputationLevel)> = None;
    if primary_major {
        major = Some((pressures_day + c.rng.days(7, 21), major_level(c.rng, false)));
    }

    // Revascularisation: angiography with GLASS, then endovascular or bypass.
    let mut revasc_day = None;
    let mut revasc_kind = None;
    let mut revasc_targets: Vec<TargetArtery> = Vec::new();
    let mut revasc_route = None;
    if revasc {
        let angio_day = pressures_day + c.rng.days(1, 21);
        let modality = c.rng.weighted(&[
            (ImagingModality::Angiography, 70),
            (ImagingModality::CtAngiography, 20),
            (ImagingModality::MrAngiography, 10),
        ]);
        let tibial = tibial_target(c.rng, arteries.as_ref(), &sources);
        let g = glass(c.rng, cell.i, calcifies, tibial)?;
        let bypass_chance = match g.stage {
            GlassStage::III => 0.5,
            GlassStage::II => 0.2,
            GlassStage::I => 0.05,
            GlassStage::NotApplicable => 0.0,
        };
        let bypass = c.rng.chance(bypass_chance);
        let kind = if bypass {
            ProcedureKind::Bypass
        } else {
            c.rng.weighted(&[
                (ProcedureKind::Pta, 50),
                (ProcedureKind::StentDrugEluting, 20),
                (ProcedureKind::StentBare, 15),
                (ProcedureKind::Atherectomy, 15),
            ])
        };
        d.imaging(ImagingDraft {
            day: angio_day,
            modality,
            findings: format!(
                "{} of the {sw} leg: GLASS {} (FP{} IP{} after the calcification modifier).",
                match modality {
                    ImagingModality::Angiography => "Digital subtraction angiography",
                    ImagingModality::CtAngiography => "CT angiography",
                    _ => "MR angiography",
                },
                g.stage.label(),
                g.fp,
                g.ip
            ),
            segments: Some(g.segments.clone()),
            t_score: None,
        });
        let day = if bypass {
            angio_day + c.rng.days(3, 21)
        } else if modality == ImagingModality::Angiography && c.rng.chance(0.7) {
            angio_day
        } else {
            angio_day + c.rng.days(2, 14)
        };
        let operator =
            if bypass { vascular_surgeon } else { d.member(c.rng, Discipline::InterventionalRadiology, angio_day) };
        let mut targets = Vec::new();
        if g.fp >= 1 {
            targets.push(TargetArtery::SuperficialFemoral);
            if g.fp >= 3 {
                targets.push(TargetArtery::Popliteal);
            }
        }
        let mut route = None;
        if let Some(t) = g.ip_target
            && !(bypass && g.ip <= 1)
        {
            targets.push(target_artery(t));
            if !sources.is_empty() {
                route = Some(if sources.contains(&t) { AngiosomeRoute::Direct } else { AngiosomeRoute::Indirect });
            }
        }
        if bypass && !targets.contains(&TargetArtery::Popliteal) && g.ip <= 1 {
            targets.push(TargetArtery::Popliteal);
        }
        if targets.is_empty() {
            targets.push(TargetArtery::SuperficialFemoral);
        }
        let words: Vec<String> = targets.iter().map(|t| t.code().replace('_', " ")).collect();
        let notes = match kind {
            ProcedureKind::Bypass => {
                format!("Vein bypass to the {} artery.", words.last().map_or("popliteal", String::as_str))
            }
            ProcedureKind::Pta => format!("Balloon angioplasty: {}.", words.join(", ")),
            ProcedureKind::Atherectomy => format!("Atherectomy and angioplasty: {}.", words.join(", ")),
            _ => format!("Stenting: {}.", words.join(", ")),
        };
        let consent_day = (day - c.rng.days(0, 7)).max(opened);
        d.consent(consent_day, format!("{sw} leg {}", procedure_words(kind)), operator, None);
        let mut proc = ProcedureDraft::new(day, kind, notes);
        proc.targets = targets.clone();
        proc.route = route;
        if c.rng.chance(0.06) {
            let list: &[&str] = if bypass { &BYPASS_COMPLICATIONS } else { &ENDOVASCULAR_COMPLICATIONS };
            proc.complications.push(c.rng.pick(list).to_owned());
        }
        if d.procedure(proc) {
            revasc_day = Some(day);
            revasc_kind = Some(kind);
        }
        revasc_targets = targets;
        revasc_route = route;
    }

    // A later major amputation: likelier with a higher stage, a failed revascularisation
    // or untreated severe ischaemia (demo rates).
    if major.is_none() {
        let mut risk = match table_stage {
            1 => 0.01,
            2 => 0.03,
            3 => 0.08,
            _ => 0.18,
        };
        if !staged {
            risk = 0.06;
        }
        if revasc && !success {
            risk *= 2.5;
        }
        if !revasc && cell.i >= 2 {
            risk *= 1.5;
        }
        if c.rng.chance(risk) {
            // After the revascularisation (whose failure it often follows).
            let day = match revasc_day {
                Some(r) => r + c.rng.days(21, 300),
                None => b + c.rng.days(30, 300),
            };
            major = Some((day, major_level(c.rng, false)));
        }
    }
    let major_day = major.map(|(day, _)| day);
    let before_major = |day: i32| major_day.is_none_or(|m| day < m);

    // Minor amputation for digital gangrene, forefoot tissue loss or osteomyelitis;
    // planned before the wounds because it removes the lesions it takes.
    let toes = |l: &Lesion| matches!(l.kind, LesionKind::DigitGangrene | LesionKind::ExposedBoneToe);
    let forefoot = |l: &Lesion| matches!(l.kind, LesionKind::ExtensiveGangrene | LesionKind::ExtensiveDeepUlcer);
    let minor_level = if !primary_major
        && (lesions.iter().any(toes) || (osteomyelitis && lesions.iter().any(|l| l.kind.deep())))
        && c.rng.chance(0.8)
    {
        Some(c.rng.weighted(&[(AmputationLevel::Toe, 65), (AmputationLevel::Ray, 35)]))
    } else if !primary_major && lesions.iter().any(forefoot) && c.rng.chance(0.6) {
        Some(c.rng.weighted(&[
            (AmputationLevel::Transmetatarsal, 60),
            (AmputationLevel::Ray, 15),
            (AmputationLevel::Lisfranc, 15),
            (AmputationLevel::Chopart, 10),
        ]))
    } else {
        None
    };
    let minor: Option<(i32, AmputationLevel)> = match minor_level.filter(|l| level_allowed(c.level, *l)) {
        Some(level) => {
            let day = match revasc_day {
                Some(r) => r + c.rng.days(1, 21),
                None => b + c.rng.days(2, 30),
            };
            before_major(day).then_some((day, level))
        }
        None => None,
    };

    // Wounds and their courses.
    let fast = match (stage5, table_stage) {
        (true, _) => 0.05,
        (_, 1) => 0.55,
        (_, 2) => 0.45,
        (_, 3) => 0.35,
        _ => 0.25,
    } + if success { 0.1 } else { 0.0 }
        - if revasc && !success { 0.15 } else { 0.0 }
        - if !revasc && cell.i >= 2 { 0.15 } else { 0.0 };
    let end = major_day.unwrap_or(i32::MAX);
    let removed_by = |l: &Lesion| minor.filter(|(_, level)| removes(*level, l.location));
    // Each lesion: (lesion, first day, healed, gone (removed by an amputation)).
    let mut tracked: Vec<(Lesion, i32, Option<i32>, i32)> = Vec::with_capacity(lesions.len() + 1);
    for l in &lesions {
        let cut = removed_by(l);
        let gone = cut.map_or(i32::MAX, |(day, _)| day);
        let lesion_end = end.min(gone);
        let t = course::trajectory(c.rng, fast);
        let mut description = format!("{}, {} ({sw})", l.kind.words(), l.location.label());
        if let Some((_, level)) = cut.filter(|(day, _)| *day <= d.limit) {
            description.push_str(&format!("; removed by the {}", amputation_words(level)));
        }
        let w = course::wound(c.rng, l.location, b, l.area, l.depth, t, description, lesion_end, d.limit);
        let healed = w.healed.filter(|h| *h <= lesion_end);
        tracked.push((*l, b, healed, gone));
        d.wound(w);
        if let (Some(h), None) = (healed, cut) {
            let recur = h + c.rng.days(30, 240);
            if c.rng.chance(0.12) && recur + 14 < end {
                d.outcome(recur, OutcomeKind::WoundRecurrence, format!("{} ulcer recurred", l.location.label()));
                let kind = if c.rng.chance(0.7) { LesionKind::ShallowUlcer } else { LesionKind::DeepUlcer };
                let again = Lesion::new(c.rng, kind, l.location);
                let t = course::trajectory(c.rng, 0.5);
                let description = format!("{} (recurrence), {} ({sw})", kind.words(), l.location.label());
                let w = course::wound(c.rng, l.location, recur, again.area, again.depth, t, description, end, d.limit);
                tracked.push((again, recur, w.healed.filter(|h| *h <= end), i32::MAX));
                d.wound(w);
            }
        }
    }

    // The minor amputation and the wound it leaves.
    if let Some((day, level)) = minor {
        let surgeon = if a == Aetiology::DiabeticFoot && c.rng.chance(0.5) {
            d.member(c.rng, Discipline::Podiatry, b)
        } else {
            vascular_surgeon
        };
        consented_amputation(c, d, day, level, surgeon, "Amputation through viable tissue; specimen to microbiology.");
        use limbpath_clinical::angiosome::WoundLocation as Loc;
        let location = match level {
            AmputationLevel::Toe => Loc::DorsalToes,
            AmputationLevel::Ray => Loc::PlantarForefoot,
            AmputationLevel::Transmetatarsal | AmputationLevel::Lisfranc => Loc::Dorsum,
            _ => Loc::AnteriorAnkle,
        };
        let (lo, hi) =
            if matches!(level, AmputationLevel::Toe | AmputationLevel::Ray) { (1.5, 10.0) } else { (6.0, 30.0) };
        let site = Lesion {
            kind: LesionKind::DeepUlcer,
            location,
            area: c.rng.tenth(lo, hi),
            depth: Some(c.rng.tenth(0.5, 2.0)),
        };
        let t = course::trajectory(c.rng, if success || !revasc { 0.6 } else { 0.35 });
        let description = format!("Amputation site ({}), {} ({sw})", amputation_words(level), location.label());
        let w = course::wound(c.rng, location, day, site.area, site.depth, t, description, end, d.limit);
        tracked.push((site, day, w.healed.filter(|h| *h <= end), i32::MAX));
        d.wound(w);
    }

    // Debridement.
    if cell.w >= 1 && (cell.fi >= 1 || cell.w >= 2) && c.rng.chance(0.7) {
        let day = b + c.rng.days(0, 10);
        if before_major(day) {
            d.procedure(ProcedureDraft::new(day, ProcedureKind::Debridement, "Sharp debridement of necrotic tissue."));
            if c.rng.chance(0.3) {
                let again = day + c.rng.days(7, 28);
                if before_major(again) {
                    d.procedure(ProcedureDraft::new(again, ProcedureKind::Debridement, "Repeat debridement."));
                }
            }
        }
    }

    // Skin graft or flap once a large wound is granulating after revascularisation.
    if success
        && lesions.iter().any(|l| l.area >= 6.0)
        && c.rng.chance(0.2)
        && let Some(r) = revasc_day
    {
        let day = r + c.rng.days(21, 90);
        if before_major(day) {
            let kind = c.rng.weighted(&[(ProcedureKind::SkinGraft, 75), (ProcedureKind::Flap, 25)]);
            let plastic = d.member(c.rng, Discipline::PlasticSurgery, day);
            d.consent(
                day - c.rng.days(0, 7).min(day - opened),
                format!("{sw} foot {}", procedure_words(kind)),
                plastic,
                None,
            );
            d.procedure(ProcedureDraft::new(day, kind, "Coverage of a clean granulating wound."));
        }
    }

    // Restenosis and reintervention after endovascular treatment; loss of patency after bypass.
    if let (Some(r), Some(kind)) = (revasc_day, revasc_kind) {
        if success && kind != ProcedureKind::Bypass && c.rng.chance(0.18) {
            let day = r + c.rng.days(90, 400);
            if before_major(day) {
                d.vascular(VascularDraft {
                    day,
                    kind: VascularStudyKind::ArterialDuplex,
                    pressures: None,
                    tcpo2: None,
                    findings: "Duplex surveillance: peak systolic velocity ratio > 3.5 at the treated segment (> 70 % restenosis).".to_owned(),
                });
                d.outcome(day, OutcomeKind::Restenosis, "Restenosis of the treated segment on duplex surveillance.");
                if c.rng.chance(0.65) {
                    let again = day + c.rng.days(3, 30);
                    if before_major(again) {
                        let operator = d.member(c.rng, Discipline::InterventionalRadiology, again);
                        let k = c.rng.weighted(&[(ProcedureKind::Pta, 50), (ProcedureKind::StentDrugEluting, 50)]);
                        d.consent(
                            (again - c.rng.days(0, 7)).max(opened),
                            format!("{sw} leg {}", procedure_words(k)),
                            operator,
                            None,
                        );
                        let mut proc = ProcedureDraft::new(again, k, "Reintervention for restenosis.");
                        proc.targets = revasc_targets.clone();
                        proc.route = revasc_route;
                        if d.procedure(proc) {
                            d.outcome(
                                again,
                                OutcomeKind::Reintervention,
                                "Endovascular reintervention for restenosis.",
                            );
                        }
                    }
                }
            }
        } else if kind == ProcedureKind::Bypass && c.rng.chance(0.1) {
            let day = r + c.rng.days(30, 500);
            if before_major(day) {
                d.outcome(day, OutcomeKind::LossOfPatency, "Bypass graft occluded.");
                if c.rng.chance(0.5) {
                    let again = day + c.rng.days(0, 3);
                    let k = c.rng.weighted(&[(ProcedureKind::Thrombolysis, 40), (ProcedureKind::Thrombectomy, 60)]);
                    let mut proc = ProcedureDraft::new(again, k, "Graft thrombectomy / thrombolysis.");
                    proc.targets = revasc_targets.clone();
                    if before_major(again) && d.procedure(proc) {
                        d.outcome(again, OutcomeKind::Reintervention, "Reintervention for graft occlusion.");
                    }
                }
            }
        }
    }

    // Follow-up assessments while the foot is there.
    let follow_ups = if revasc { c.rng.weighted(&[(1, 65), (2, 35)]) } else { i32::from(c.rng.chance(0.5)) };
    let mut day = match revasc_day {
        Some(r) => r + c.rng.days(28, 56),
        None => pressures_day + c.rng.days(42, 90),
    };
    for _ in 0..follow_ups {
        if !before_major(day) {
            break;
        }
        let i = if success { cell.i.saturating_sub(c.rng.int(1, 2) as u8) } else { cell.i };
        let open: Vec<Lesion> = tracked
            .iter()
            .filter(|(_, from, healed, gone)| *from <= day && healed.is_none_or(|h| h > day) && *gone > day)
            .map(|(l, ..)| *l)
            .collect();
        let w = open.iter().map(|l| l.kind.grade()).max().unwrap_or(0);
        let fi = if c.rng.chance(0.75) { 0 } else { cell.fi.min(1) };
        let inf = wifi::infection(c.rng, fi, open.iter().any(|l| l.kind.deep()));
        let pr = wifi::pressures(c.rng, side, i, diabetic, calcifies);
        let mut f = Map::new();
        f.insert("side".into(), json!(side.label()));
        f.insert("diabetes".into(), json!(diabetic));
        f.insert("pressures".into(), to_json!("pressures", &pr.set)?);
        f.insert("wound".into(), to_json!("wound", &wifi::wound_findings(&open, w == 0 && i >= 2))?);
        f.insert("infection".into(), to_json!("infection", &inf)?);
        if !open.is_empty() {
            f.insert("wound_locations".into(), locations(&open));
        }
        if a == Aetiology::Clti {
            let cell = Cell { w, i, fi };
            f.insert("rutherford".into(), rutherford(c.rng, cell, (!pr.calcified).then_some(pr.ankle), pr.toe, true));
        }
        d.vascular(VascularDraft {
            day,
            kind: if pr.toe.is_some() { VascularStudyKind::Tbi } else { VascularStudyKind::Abi },
            pressures: Some(pr.set),
            tcpo2: None,
            findings: format!("Follow-up pressures, {sw} leg: ankle {} mmHg.", pr.ankle),
        });
        d.assess(day, Value::Object(f))?;
        day += c.rng.days(60, 120);
    }

    // The major amputation, if any: consent (rarely declined), rehabilitation and prosthetics.
    if let Some((day, level)) = major {
        let consent_day = (day - c.rng.days(1, 7)).max(opened);
        if c.rng.chance(0.03) {
            let withdrawn = consent_day + c.rng.days(1, 5);
            d.consent(consent_day, amputation_text(c.side, level), vascular_surgeon, Some(withdrawn));
        } else {
            d.consent(consent_day, amputation_text(c.side, level), vascular_surgeon, None);
            if d.amputation(day, level, "Amputation for non-salvageable foot.") {
                d.member(c.rng, Discipline::Rehabilitation, day);
                d.member(c.rng, Discipline::Prosthetics, day);
                if c.rng.chance(0.4) {
                    d.member(c.rng, Discipline::Psychology, day);
                }
                if c.rng.chance(0.07) {
                    d.die(day + c.rng.days(2, 60));
                }
            }
        }
    }

    let unhealed = tracked.iter().any(|(_, _, healed, gone)| healed.is_none() && *gone == i32::MAX);
    d.tail = if unhealed && major.is_none() { c.rng.days(120, 400) } else { c.rng.days(30, 240) };
    Ok(())
}
