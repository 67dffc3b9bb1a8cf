//! Bedside findings that make the clinical engine give a chosen WIfI cell.
//!
//! The generator picks a target stage from the Zhan 2016 mix, then a W/I/fI
//! cell of that stage (weighted by aetiology), then findings for each grade:
//! lesions for W, pressures for I (checked against the engine's own ischaemia
//! grading, because integer pressures can cross a band edge), and local signs,
//! deep involvement and SIRS values for fI. The tests drive every one of the
//! 64 cells through `assess()` and check the derived code.

use crate::rng::Rng;
use limbpath_clinical::angiosome::{ArterialStatus, ArteryStatus, PedalArch, WoundLocation};
use limbpath_clinical::infection::{DeepInfection, InfectionFindings, SirsFindings};
use limbpath_clinical::perfusion::{LegPressures, PressureSet, Side};
use limbpath_clinical::wifi::{self, Gangrene, HeelUlcer, IschaemiaMeasurements, Ulcer, WoundFindings};
use limbpath_record::Aetiology;

/// What the baseline assessment of a CLTI or diabetic-foot episode should show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// A WIfI clinical stage 1–5 (5 = the clinician's unsalvageable override).
    Stage(u8),
    /// WIfI not computable yet: the perfusion studies are pending.
    Unstaged,
}

// source: Zhan LX et al., J Vasc Surg 2016;63:1563 (PMID 27036309), via REFERENCES.md §1.6:
// WIfI stages 1/2/3/4/5 = 12/28/24/28/3 % of limbs, plus 5 % unstaged (sums to 100).
// Used as the mix of *baseline* assessments of CLTI and diabetic-foot episodes in the
// demo cohort; it is one validation series, not a clinical fact about any population.
pub(crate) const STAGE_MIX: [(Target, u32); 6] = [
    (Target::Stage(1), 12),
    (Target::Stage(2), 28),
    (Target::Stage(3), 24),
    (Target::Stage(4), 28),
    (Target::Stage(5), 3),
    (Target::Unstaged, 5),
];

/// W, I and fI grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cell {
    pub w: u8,
    pub i: u8,
    pub fi: u8,
}

// Demo weights for the grades within a stage (not clinical data): CLTI leans to
// ischaemia, diabetic foot to wounds and infection with milder ischaemia.
const CLTI_W: [u32; 4] = [20, 30, 30, 20];
const CLTI_I: [u32; 4] = [2, 20, 35, 43];
const CLTI_FI: [u32; 4] = [50, 25, 18, 7];
const DF_W: [u32; 4] = [3, 35, 37, 25];
const DF_I: [u32; 4] = [35, 30, 20, 15];
const DF_FI: [u32; 4] = [25, 30, 30, 15];

/// A cell whose table stage is `stage` (1–4), or for stage 5 a stage-4 cell with
/// an extensive (W3) wound and I2–I3, the foot a clinician might call unsalvageable.
pub(crate) fn choose_cell(rng: &mut Rng, stage: u8, aetiology: Aetiology) -> Cell {
    let (ww, wi, wf) =
        if aetiology == Aetiology::DiabeticFoot { (DF_W, DF_I, DF_FI) } else { (CLTI_W, CLTI_I, CLTI_FI) };
    let mut cells: Vec<(Cell, u32)> = Vec::with_capacity(32);
    for c in &wifi::WIFI_TABLE {
        let fits = if stage == 5 { c.stage == 4 && c.wound == 3 && c.ischaemia >= 2 } else { c.stage == stage };
        if fits {
            let weight = ww[usize::from(c.wound)] * wi[usize::from(c.ischaemia)] * wf[usize::from(c.infection)];
            cells.push((Cell { w: c.wound, i: c.ischaemia, fi: c.infection }, weight));
        }
    }
    if cells.is_empty() {
        // Unreachable with the published table (every stage has cells; tested).
        return Cell { w: 3, i: 3, fi: 3 };
    }
    rng.weighted(&cells)
}

// ---------------------------------------------------------------------------
// Wound: lesions
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LesionKind {
    ShallowUlcer,
    ExposedBoneToe,
    DeepUlcer,
    ExtensiveDeepUlcer,
    ShallowHeel,
    DeepHeel,
    DigitGangrene,
    ExtensiveGangrene,
    HeelNecrosis,
}

use LesionKind as L;
use WoundLocation as Loc;

impl LesionKind {
    pub(crate) fn grade(self) -> u8 {
        match self {
            L::ShallowUlcer | L::ExposedBoneToe => 1,
            L::DeepUlcer | L::ShallowHeel | L::DigitGangrene => 2,
            L::ExtensiveDeepUlcer | L::DeepHeel | L::ExtensiveGangrene | L::HeelNecrosis => 3,
        }
    }

    pub(crate) fn locations(self) -> &'static [WoundLocation] {
        match self {
            L::ShallowUlcer => &[
                Loc::PlantarForefoot,
                Loc::DorsalToes,
                Loc::PlantarToes,
                Loc::Dorsum,
                Loc::LateralMalleolus,
                Loc::AnteriorAnkle,
                Loc::PlantarInstep,
                Loc::LateralPlantarMidfoot,
            ],
            L::ExposedBoneToe | L::DigitGangrene => &[Loc::DorsalToes, Loc::PlantarToes],
            L::DeepUlcer => &[
                Loc::PlantarForefoot,
                Loc::PlantarToes,
                Loc::DorsalToes,
                Loc::Dorsum,
                Loc::LateralPlantarMidfoot,
                Loc::PlantarInstep,
                Loc::LateralMalleolus,
            ],
            L::ExtensiveDeepUlcer => {
                &[Loc::PlantarForefoot, Loc::PlantarInstep, Loc::LateralPlantarMidfoot, Loc::Dorsum]
            }
            L::ShallowHeel | L::DeepHeel | L::HeelNecrosis => &[Loc::PlantarHeel, Loc::MedialHeel, Loc::LateralHeel],
            L::ExtensiveGangrene => &[Loc::Dorsum, Loc::PlantarForefoot],
        }
    }

    /// The wound through to tendon, capsule or bone (or gangrene): deep infection possible.
    pub(crate) fn deep(self) -> bool {
        !matches!(self, L::ShallowUlcer | L::ShallowHeel)
    }

    pub(crate) fn gangrene(self) -> bool {
        matches!(self, L::DigitGangrene | L::ExtensiveGangrene | L::HeelNecrosis)
    }

    pub(crate) fn words(self) -> &'static str {
        match self {
            L::ShallowUlcer => "Shallow ulcer",
            L::ExposedBoneToe => "Ulcer with exposed bone of the distal phalanx",
            L::DeepUlcer => "Deep ulcer to tendon/bone",
            L::ExtensiveDeepUlcer => "Extensive deep ulcer",
            L::ShallowHeel => "Shallow heel ulcer",
            L::DeepHeel => "Deep full-thickness heel ulcer",
            L::DigitGangrene => "Dry gangrene of a toe",
            L::ExtensiveGangrene => "Extensive forefoot gangrene",
            L::HeelNecrosis => "Full-thickness heel necrosis",
        }
    }

    /// Baseline area range, cm² (demo values).
    fn area_range(self) -> (f64, f64) {
        match self {
            L::ShallowUlcer => (0.3, 4.0),
            L::ExposedBoneToe => (0.3, 2.0),
            L::DeepUlcer => (1.5, 10.0),
            L::ShallowHeel => (1.0, 8.0),
            L::DigitGangrene => (0.5, 4.0),
            L::ExtensiveDeepUlcer => (8.0, 45.0),
            L::DeepHeel => (4.0, 25.0),
            L::ExtensiveGangrene => (10.0, 55.0),
            L::HeelNecrosis => (6.0, 30.0),
        }
    }

    /// Probe depth range, cm; gangrene is not probed.
    fn depth_range(self) -> Option<(f64, f64)> {
        match self {
            L::ShallowUlcer => Some((0.1, 0.3)),
            L::ShallowHeel => Some((0.1, 0.4)),
            L::ExposedBoneToe => Some((0.3, 0.8)),
            L::DeepUlcer => Some((0.5, 2.0)),
            L::ExtensiveDeepUlcer => Some((1.0, 3.0)),
            L::DeepHeel => Some((1.0, 2.5)),
            L::DigitGangrene | L::ExtensiveGangrene | L::HeelNecrosis => None,
        }
    }
}

/// One wound on the foot: its kind, where it is and its size when first seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Lesion {
    pub kind: LesionKind,
    pub location: WoundLocation,
    pub area: f64,
    pub depth: Option<f64>,
}

impl Lesion {
    pub(crate) fn new(rng: &mut Rng, kind: LesionKind, location: WoundLocation) -> Lesion {
        let (lo, hi) = kind.area_range();
        let area = rng.tenth(lo, hi);
        let depth = kind.depth_range().map(|(lo, hi)| rng.tenth(lo, hi));
        Lesion { kind, location, area, depth }
    }
}

fn main_lesion_kind(rng: &mut Rng, w: u8, aetiology: Aetiology) -> LesionKind {
    let df = aetiology == Aetiology::DiabeticFoot;
    match w {
        1 => rng.weighted(&[(L::ShallowUlcer, 80), (L::ExposedBoneToe, 20)]),
        2 if df => rng.weighted(&[(L::DeepUlcer, 60), (L::ShallowHeel, 15), (L::DigitGangrene, 25)]),
        2 => rng.weighted(&[(L::DeepUlcer, 35), (L::ShallowHeel, 20), (L::DigitGangrene, 45)]),
        _ if df => rng.weighted(&[
            (L::ExtensiveDeepUlcer, 45),
            (L::DeepHeel, 25),
            (L::ExtensiveGangrene, 20),
            (L::HeelNecrosis, 10),
        ]),
        _ => rng.weighted(&[
            (L::ExtensiveDeepUlcer, 30),
            (L::DeepHeel, 20),
            (L::ExtensiveGangrene, 35),
            (L::HeelNecrosis, 15),
        ]),
    }
}

/// The lesions of a foot whose wound grade is `w` (none for W0): one lesion of
/// grade `w`, sometimes a second, shallow one elsewhere.
pub(crate) fn lesions(rng: &mut Rng, w: u8, aetiology: Aetiology) -> Vec<Lesion> {
    if w == 0 {
        return Vec::new();
    }
    let kind = main_lesion_kind(rng, w, aetiology);
    let location = rng_location(rng, kind.locations());
    let main = Lesion::new(rng, kind, location);
    let mut out = vec![main];
    if w >= 2 && rng.chance(0.3) {
        let others: Vec<WoundLocation> =
            L::ShallowUlcer.locations().iter().copied().filter(|l| *l != main.location).collect();
        if !others.is_empty() {
            let loc = rng_location(rng, &others);
            out.push(Lesion::new(rng, L::ShallowUlcer, loc));
        }
    }
    out
}

fn rng_location(rng: &mut Rng, locations: &[WoundLocation]) -> WoundLocation {
    if locations.is_empty() { Loc::PlantarForefoot } else { rng.pick(locations) }
}

fn ulcer_rank(u: Ulcer) -> u8 {
    match u {
        Ulcer::None => 0,
        Ulcer::Shallow => 1,
        Ulcer::ExposedBoneDistalPhalanx => 2,
        Ulcer::Deep => 3,
        Ulcer::ExtensiveDeep => 4,
    }
}

fn heel_rank(h: HeelUlcer) -> u8 {
    match h {
        HeelUlcer::None => 0,
        HeelUlcer::Shallow => 1,
        HeelUlcer::Deep => 2,
    }
}

fn gangrene_rank(g: Gangrene) -> u8 {
    match g {
        Gangrene::None => 0,
        Gangrene::Digits => 1,
        Gangrene::Extensive | Gangrene::HeelNecrosis => 2,
    }
}

/// The WIfI wound findings for a set of lesions (the worst of each kind).
pub(crate) fn wound_findings(lesions: &[Lesion], rest_pain: bool) -> WoundFindings {
    let mut f = WoundFindings { ulcer: Ulcer::None, heel: HeelUlcer::None, gangrene: Gangrene::None, rest_pain };
    for l in lesions {
        match l.kind {
            L::ShallowUlcer | L::ExposedBoneToe | L::DeepUlcer | L::ExtensiveDeepUlcer => {
                let u = match l.kind {
                    L::ShallowUlcer => Ulcer::Shallow,
                    L::ExposedBoneToe => Ulcer::ExposedBoneDistalPhalanx,
                    L::DeepUlcer => Ulcer::Deep,
                    _ => Ulcer::ExtensiveDeep,
                };
                if ulcer_rank(u) > ulcer_rank(f.ulcer) {
                    f.ulcer = u;
                }
            }
            L::ShallowHeel | L::DeepHeel => {
                let h = if l.kind == L::DeepHeel { HeelUlcer::Deep } else { HeelUlcer::Shallow };
                if heel_rank(h) > heel_rank(f.heel) {
                    f.heel = h;
                }
            }
            L::DigitGangrene | L::ExtensiveGangrene | L::HeelNecrosis => {
                let g = match l.kind {
                    L::DigitGangrene => Gangrene::Digits,
                    L::ExtensiveGangrene => Gangrene::Extensive,
                    _ => Gangrene::HeelNecrosis,
                };
                if gangrene_rank(g) > gangrene_rank(f.gangrene) {
                    f.gangrene = g;
                }
            }
        }
    }
    f
}

// ---------------------------------------------------------------------------
// Infection
// ---------------------------------------------------------------------------

/// SIRS values with exactly `abnormal` of the four criteria met.
fn sirs(rng: &mut Rng, abnormal: usize) -> SirsFindings {
    let mut which = [false; 4];
    for i in choose_distinct(rng, 4, abnormal) {
        which[i] = true;
    }
    let temperature = if which[0] {
        if rng.chance(0.85) { rng.tenth(38.1, 39.8) } else { rng.tenth(34.8, 35.9) }
    } else {
        rng.tenth(36.1, 37.9)
    };
    let heart_rate = if which[1] { rng.whole(91, 132) } else { rng.whole(58, 90) };
    let (rr, paco2) = if which[2] {
        if rng.chance(0.15) { (rng.whole(14, 20), Some(rng.tenth(26.0, 31.5))) } else { (rng.whole(21, 30), None) }
    } else {
        (rng.whole(12, 20), None)
    };
    let wbc = if which[3] {
        if rng.chance(0.85) { rng.whole(121, 260) * 100.0 } else { rng.whole(20, 39) * 100.0 }
    } else {
        rng.whole(45, 119) * 100.0
    };
    let bands = if !which[3] && rng.chance(0.1) { Some(rng.whole(0, 8)) } else { None };
    SirsFindings {
        temperature_c: Some(temperature),
        heart_rate_bpm: Some(heart_rate),
        respiratory_rate_per_min: Some(rr),
        paco2_mmhg: paco2,
        wbc_per_ul: Some(wbc),
        immature_bands_percent: bands,
    }
}

/// `k` distinct indices out of `0..n` (partial Fisher–Yates).
pub(crate) fn choose_distinct(rng: &mut Rng, n: usize, k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = rng.int(i as i64, n as i64 - 1) as usize;
        idx.swap(i, j);
    }
    idx.truncate(k);
    idx
}

/// Set `k` of the five local signs; erythema, when chosen, gets an extent in
/// `erythema` cm.
fn local_signs(rng: &mut Rng, f: &mut InfectionFindings, k: usize, erythema: (f64, f64)) {
    for i in choose_distinct(rng, 5, k) {
        match i {
            0 => f.local_swelling_or_induration = true,
            1 => f.erythema_cm = rng.tenth(erythema.0, erythema.1),
            2 => f.local_tenderness_or_pain = true,
            3 => f.local_warmth = true,
            _ => f.purulent_discharge = true,
        }
    }
}

/// Foot-infection findings graded fI`fi` by the engine. `deep_ok`: the wound is
/// deep enough for a deep-tissue infection (abscess, osteomyelitis, …).
pub(crate) fn infection(rng: &mut Rng, fi: u8, deep_ok: bool) -> InfectionFindings {
    let mut f = InfectionFindings::default();
    match fi {
        0 => {
            // At most one local sign: not an infection.
            match rng.int(0, 3) {
                1 => f.local_tenderness_or_pain = true,
                2 => f.local_swelling_or_induration = true,
                3 => f.erythema_cm = rng.tenth(0.6, 1.5),
                _ => {}
            }
            if rng.chance(0.6) {
                f.sirs = sirs(rng, 0);
            }
        }
        1 => {
            let k = rng.int(2, 4) as usize;
            local_signs(rng, &mut f, k, (0.6, 2.0));
            if rng.chance(0.75) {
                let abnormal = usize::from(rng.chance(0.25));
                f.sirs = sirs(rng, abnormal);
            }
        }
        _ => {
            if deep_ok && rng.chance(0.6) {
                let deep = rng.weighted(&[
                    (DeepInfection::Osteomyelitis, 45),
                    (DeepInfection::Abscess, 25),
                    (DeepInfection::Tendon, 12),
                    (DeepInfection::SepticArthritis, 8),
                    (DeepInfection::Fasciitis, 5),
                    (DeepInfection::Muscle, 5),
                ]);
                f.deep_involvement.push(deep);
                if rng.chance(0.2) && deep != DeepInfection::Abscess {
                    f.deep_involvement.push(DeepInfection::Abscess);
                }
                let k = rng.int(1, 4) as usize;
                local_signs(rng, &mut f, k, (0.6, 4.0));
            } else {
                // Spreading cellulitis: erythema beyond 2 cm and at least one more sign.
                let k = rng.int(1, 3) as usize;
                for i in choose_distinct(rng, 4, k) {
                    match i {
                        0 => f.local_swelling_or_induration = true,
                        1 => f.local_tenderness_or_pain = true,
                        2 => f.local_warmth = true,
                        _ => f.purulent_discharge = true,
                    }
                }
                f.erythema_cm = rng.tenth(2.1, 8.0);
            }
            if fi >= 3 {
                let abnormal = rng.int(2, 4) as usize;
                f.sirs = sirs(rng, abnormal);
            } else if rng.chance(0.8) {
                let abnormal = usize::from(rng.chance(0.3));
                f.sirs = sirs(rng, abnormal);
            }
        }
    }
    f
}

// ---------------------------------------------------------------------------
// Ischaemia: pressures
// ---------------------------------------------------------------------------

/// A pressure set and what the assessed leg's numbers are.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pressures {
    pub set: PressureSet,
    /// Higher of DP/PT on the assessed leg.
    pub ankle: f64,
    pub toe: Option<f64>,
    /// ABI over 1.40 (non-compressible vessels).
    pub calcified: bool,
}

fn abi_band(rng: &mut Rng, g: u8) -> f64 {
    match g {
        0 => rng.uniform(0.82, 1.25),
        1 => rng.uniform(0.61, 0.78),
        2 => rng.uniform(0.41, 0.58),
        _ => rng.uniform(0.08, 0.38),
    }
}

fn toe_band(rng: &mut Rng, g: u8) -> f64 {
    match g {
        0 => rng.whole(60, 105),
        1 => rng.whole(40, 59),
        2 => rng.whole(30, 39),
        _ => rng.whole(4, 29),
    }
}

/// A TcPO2 reading in the WIfI band of grade `g` (same bands as toe pressure).
pub(crate) fn tcpo2(rng: &mut Rng, g: u8) -> f64 {
    match g {
        0 => rng.whole(60, 78),
        1 => rng.whole(40, 59),
        2 => rng.whole(30, 39),
        _ => rng.whole(5, 29),
    }
}

fn leg(rng: &mut Rng, ankle: f64, toe: Option<f64>) -> LegPressures {
    let other = (ankle - rng.whole(0, 30)).max(0.0);
    let (dp, pt) = if rng.chance(0.5) { (Some(ankle), Some(other)) } else { (Some(other), Some(ankle)) };
    // Sometimes one pedal signal is not found; the higher one is always recorded.
    let (dp, pt) = if rng.chance(0.08) { if dp == Some(ankle) { (dp, None) } else { (None, pt) } } else { (dp, pt) };
    LegPressures { dorsalis_pedis_mmhg: dp, posterior_tibial_mmhg: pt, toe_pressure_mmhg: toe }
}

/// Pressures whose assessed leg (`side`) grades I`g` through the engine's own
/// ischaemia grading, exactly as `assess` derives it from pressures.
pub(crate) fn pressures(rng: &mut Rng, side: Side, g: u8, diabetic: bool, calcifies: bool) -> Pressures {
    for _ in 0..32 {
        let bl = rng.whole(105, 175);
        let br = (bl + rng.whole(-12, 12)).clamp(95.0, 190.0);
        let brachial = bl.max(br);
        let toe_measured = rng.chance(if diabetic { 0.85 } else { 0.45 });
        let calcified = calcifies && toe_measured && rng.chance(0.12);
        let (abi_grade, toe_grade) = if calcified {
            (None, Some(g))
        } else if toe_measured {
            let lower = if g > 0 && rng.chance(0.5) { g - 1 } else { g };
            if rng.chance(0.5) { (Some(g), Some(lower)) } else { (Some(lower), Some(g)) }
        } else {
            (Some(g), None)
        };
        let ratio = match abi_grade {
            Some(a) => abi_band(rng, a),
            None => rng.uniform(1.45, 1.85),
        };
        let ankle = (ratio * brachial).round().clamp(0.0, 300.0);
        let toe = toe_grade.map(|t| toe_band(rng, t));
        let m = IschaemiaMeasurements {
            abi: Some(ankle / brachial),
            ankle_pressure_mmhg: Some(ankle),
            toe_pressure_mmhg: toe,
            tcpo2_mmhg: None,
            non_compressible: false,
            diabetes: diabetic,
        };
        if wifi::ischaemia_grade(&m).map(|r| r.grade) == Ok(g) {
            let assessed = leg(rng, ankle, toe);
            let other_ankle = (rng.uniform(0.45, 1.2) * brachial).round();
            let other_toe = if toe.is_some() && rng.chance(0.7) { Some(rng.whole(25, 95)) } else { None };
            let other = if rng.chance(0.85) { Some(leg(rng, other_ankle, other_toe)) } else { None };
            let (left, right) = match side {
                Side::Left => (Some(assessed), other),
                Side::Right => (other, Some(assessed)),
            };
            return Pressures {
                set: PressureSet { brachial_left_mmhg: Some(bl), brachial_right_mmhg: Some(br), left, right },
                ankle,
                toe,
                calcified: ratio > 1.40,
            };
        }
    }
    fallback_pressures(side, g)
}

/// Pressures known to grade I`g` (brachial 140 both arms): used if 32 draws miss.
pub(crate) fn fallback_pressures(side: Side, g: u8) -> Pressures {
    let (ankle, toe) = match g {
        0 => (130.0, 80.0),
        1 => (98.0, 50.0),
        2 => (68.0, 35.0),
        _ => (40.0, 15.0),
    };
    let leg = LegPressures {
        dorsalis_pedis_mmhg: Some(ankle),
        posterior_tibial_mmhg: Some(ankle - 6.0),
        toe_pressure_mmhg: Some(toe),
    };
    let (left, right) = match side {
        Side::Left => (Some(leg), None),
        Side::Right => (None, Some(leg)),
    };
    Pressures {
        set: PressureSet { brachial_left_mmhg: Some(140.0), brachial_right_mmhg: Some(140.0), left, right },
        ankle,
        toe: Some(toe),
        calcified: false,
    }
}

/// Tibial artery status and pedal arch for the angiosome options, worse with I.
pub(crate) fn arteries(rng: &mut Rng, i: u8) -> ArterialStatus {
    let weights: [(ArteryStatus, u32); 3] = match i {
        0 => [(ArteryStatus::Patent, 90), (ArteryStatus::Treatable, 10), (ArteryStatus::Untreatable, 0)],
        1 => [(ArteryStatus::Patent, 50), (ArteryStatus::Treatable, 40), (ArteryStatus::Untreatable, 10)],
        2 => [(ArteryStatus::Patent, 20), (ArteryStatus::Treatable, 55), (ArteryStatus::Untreatable, 25)],
        _ => [(ArteryStatus::Patent, 8), (ArteryStatus::Treatable, 52), (ArteryStatus::Untreatable, 40)],
    };
    let intact = [0.9, 0.75, 0.55, 0.4][usize::from(i.min(3))];
    ArterialStatus {
        anterior_tibial: Some(rng.weighted(&weights)),
        posterior_tibial: Some(rng.weighted(&weights)),
        peroneal: Some(rng.weighted(&weights)),
        pedal_arch: Some(if rng.chance(intact) { PedalArch::Intact } else { PedalArch::AbsentOrDiseased }),
    }
}
