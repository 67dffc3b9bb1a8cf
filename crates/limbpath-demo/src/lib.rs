//! # limbpath-demo
//!
//! A synthetic, deterministic demo cohort: fictional patients with complete
//! limb-salvage records ([`PatientRecord`]) for clinicians to click through,
//! and for loading, search and analytics to be exercised at scale.
//!
//! **Everything here is invented.** Names, MRNs ("DEMO-…"), sites, clinicians
//! and every clinical course are made up. The mixes below are demo choices to
//! make the data look like a limb-salvage clinic's; they are not clinical
//! facts and must not be quoted as such. The one sourced mix is the WIfI
//! stage distribution (Zhan 2016).
//!
//! ## Properties
//! - **Pure and deterministic:** no I/O, no clock. [`patient_record`]`(seed, i)`
//!   depends only on `(seed, i)`, so a cohort of n is a prefix of any larger
//!   one and chunks can be generated in parallel. A small self-contained
//!   SplitMix64 over (seed, index, k) is used (no RNG crate), with only
//!   integer arithmetic, `+ - * /` and `sqrt` on the draws, so the output does
//!   not change with a dependency upgrade or between platforms.
//! - **Valid:** every `*Data` passes [`Validate`], every assessment is derived
//!   by the real engine ([`limbpath_record::AssessmentData::derive`]) and the
//!   stored [`limbpath_record::Derived`] is exactly its output.
//! - **Ids** are UUIDv7-shaped (the first 48 bits are `created_at_ms`), unique
//!   within a seed by construction. Timestamps come from the clinical dates
//!   (a time of day between 08:00 and 18:00 UTC); `updated_at_ms` is the last
//!   clinical change of that row (closing, healing, amputation). Version 1.
//! - **Dates:** episodes open from [`FIRST_OPENED`] to [`LAST_OPENED`]; nothing
//!   is dated after [`AS_OF`] (the data cut-off) or after the patient's death.
//!
//! ## Mixes (demo choices, not data)
//! - **Aetiology of the first episode** (per mille): CLTI 380, diabetic foot
//!   300, venous 100, trauma 60, infection 50, tumour 40, post-amputation /
//!   osseointegration 40, limb-length discrepancy 30. Later episodes mostly
//!   keep it; CLTI and diabetic foot cross over; trauma and tumour may be
//!   followed by infection; an amputee under 75 may be referred for
//!   osseointegration.
//! - **Age at the first episode:** CLTI 50–93 (mode ≈ 71), diabetic foot 35–90,
//!   venous 30–90, trauma 18–80 skewed young, tumour half 12–30 and half 35–80,
//!   infection 25–88, osseointegration 20–72, limb-length discrepancy 2–14
//!   (children; every Paley assessment is at 17 or younger).
//! - **Sex** (share male): CLTI 62 %, diabetic foot 66 %, venous 40 %, trauma
//!   78 %, tumour 56 %, infection 60 %, osseointegration 72 %, LLD 50 %; 0.6 %
//!   of adults "other" or "unknown".
//! - **Risk factors:** diabetes in all diabetic-foot patients, 55 % of CLTI,
//!   fewer elsewhere, none in children; HbA1c 6–12.5 % with diabetes; CKD
//!   stage recorded for about half of CLTI/diabetic-foot patients, with
//!   dialysis only at stage 5; smoking and BMI ranges by aetiology; ambulatory
//!   status worse with age, dialysis and after a major amputation.
//! - **Limbs:** 1 or 2 (both legs in 30 % of CLTI/diabetic foot, 25 % of
//!   venous); upper limbs only for trauma, tumour, infection and
//!   osseointegration. **Episodes:** 1 (60 %), 2 (28 %) or 3 (12 %) planned,
//!   one after another, 2 weeks to 18 months apart (fewer when the patient
//!   dies, an episode is still open at the cut-off, or no limb fits).
//! - **WIfI stage at the baseline assessment of each CLTI / diabetic-foot
//!   episode:** stages 1/2/3/4/5 = 12/28/24/28/3 % plus 5 % unstaged — the
//!   distribution of limbs reported by Zhan LX et al., J Vasc Surg
//!   2016;63:1563 (PMID 27036309), shared/clinical/REFERENCES.md §1.6. The
//!   cell (W, I, fI) within a stage is weighted by aetiology (CLTI leans to
//!   ischaemia, diabetic foot to wound and infection). Stage 5 is the
//!   clinician override on a W3, I2–3 foot; "unstaged" has the pressures
//!   pending (a second assessment with pressures follows).
//! - **Wound trajectories:** fast healers (≥ 55 % smaller by week 4), slow,
//!   stalled and worsening wounds; fast healers are likelier at lower stages
//!   and after a successful revascularisation.
//! - **Outcomes:** revascularisation for most I2–3 limbs (bypass likelier at
//!   GLASS III), success 80 %; major amputation risk rising with stage and
//!   revascularisation failure (stage 5: primary amputation in 75 %); restenosis
//!   18 % after endovascular treatment; death from a monthly hazard by
//!   aetiology (CLTI about 16 %/year), doubled with dialysis.
//!
//! ## Known simplifications
//! - A death is recorded only when it falls within an episode (the outcome
//!   event needs one); a patient who dies between episodes simply has no
//!   later episode.
//! - Venous ulcers sit on the ankle regions of the foot map (lateral
//!   malleolus, anterior ankle): the engine's location vocabulary has no
//!   medial malleolus or gaiter area.
//! - A wound taken by a minor amputation keeps `healed_on` empty (the record
//!   has no "removed" state); its description says so and the amputation-site
//!   wound is recorded as a new wound.
//!
//! ## Use
//! ```
//! let first = limbpath_demo::patient_record(20261130, 0);
//! assert!(first.patient.is_some());
//! let n = limbpath_demo::cohort(20261130, 3).count();
//! assert_eq!(n, 3);
//! ```
//! For a server, prefer [`try_patient_record`]: it returns an error (with the
//! seed, the index and the field) instead of panicking, should a future engine
//! refuse something this generator makes.

use limbpath_clinical::InvalidInput;
use limbpath_record::{
    Aetiology, AmbulatoryStatus, AmputationLevel, Date, LimbData, LimbKind, PatientData, PatientRecord, Side, Stored,
    Validate,
};
use time::macros::date;

/// A typed engine input as JSON findings (a macro, so no `serde` dependency
/// is needed for the trait bound). Absent findings are left out, as a form
/// would, rather than sent as null.
macro_rules! to_json {
    ($field:expr, $value:expr) => {
        serde_json::to_value($value)
            .map(|mut v| {
                crate::drop_nulls(&mut v);
                v
            })
            .map_err(|e| {
                $crate::Fail::new(
                    "assessment",
                    limbpath_clinical::InvalidInput::unrecognised($field, e, "a value serde_json can write"),
                )
            })
    };
}

/// Drop `null` members of objects, recursively, in place.
pub(crate) fn drop_nulls(v: &mut serde_json::Value) {
    if let serde_json::Value::Object(m) = v {
        m.retain(|_, v| !v.is_null());
        m.values_mut().for_each(drop_nulls);
    }
}

mod course;
mod draft;
mod ids;
mod names;
mod other;
mod patient;
mod rng;
mod vascular;
mod wifi;

#[cfg(test)]
mod tests;

use draft::Draft;
use ids::{Ids, ms};
use patient::Patient;
use rng::Rng;

/// The data cut-off: nothing in the cohort is dated after it.
pub const AS_OF: Date = date!(2026 - 11 - 30);
/// The earliest day an episode opens.
pub const FIRST_OPENED: Date = date!(2019 - 01 - 01);
/// The latest day an episode opens.
pub const LAST_OPENED: Date = date!(2026 - 10 - 31);

pub(crate) const AS_OF_JD: i32 = AS_OF.to_julian_day();
pub(crate) const FIRST_OPENED_JD: i32 = FIRST_OPENED.to_julian_day();
pub(crate) const LAST_OPENED_JD: i32 = LAST_OPENED.to_julian_day();

/// A record the generator made that the record crate or the engine refused.
/// This is a bug in the generator (or a stricter engine); the tests generate
/// thousands of records to make sure it does not happen.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoError {
    pub seed: u64,
    pub index: u64,
    /// Which item: "assessment", "wound measurement", …
    pub context: String,
    pub error: InvalidInput,
}

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "demo patient (seed {}, index {}): {} invalid: {} (field {})",
            self.seed, self.index, self.context, self.error, self.error.field
        )
    }
}

impl std::error::Error for DemoError {}

/// An item refused while building one patient (seed and index added later).
#[derive(Debug)]
pub(crate) struct Fail {
    context: String,
    error: InvalidInput,
}

impl Fail {
    pub(crate) fn new(context: &str, error: InvalidInput) -> Fail {
        Fail { context: context.to_owned(), error }
    }
}

/// `map_err` helper: an `InvalidInput` about `context`.
pub(crate) fn ctx(context: &'static str) -> impl FnOnce(InvalidInput) -> Fail {
    move |error| Fail { context: context.to_owned(), error }
}

/// What an episode planner works with.
pub(crate) struct Ctx<'a> {
    pub rng: &'a mut Rng,
    pub patient: &'a Patient,
    pub side: Side,
    pub kind: LimbKind,
    /// The limb's amputation level when the episode opens.
    pub level: Option<AmputationLevel>,
    /// How many earlier episodes of the same aetiology the patient had.
    pub nth: usize,
    /// The limb carries an osseointegrated implant.
    pub implant: bool,
}

pub(crate) fn side_word(s: Side) -> &'static str {
    match s {
        Side::Left => "left",
        Side::Right => "right",
    }
}

fn level_rank(l: AmputationLevel) -> usize {
    AmputationLevel::ALL.iter().position(|x| *x == l).unwrap_or(0)
}

/// Whether an amputation at `new` is possible on a limb amputated at
/// `current`: more proximal, or another toe/ray while the forefoot is there.
pub(crate) fn level_allowed(current: Option<AmputationLevel>, new: AmputationLevel) -> bool {
    use AmputationLevel::*;
    match current {
        None => true,
        Some(c) if c.limb_kind() != new.limb_kind() => false,
        Some(c) => {
            level_rank(new) > level_rank(c)
                || (matches!(new, Toe | Ray) && matches!(c, Toe | Ray))
                || (matches!(new, Digit) && matches!(c, Digit))
        }
    }
}

/// Patient `index` of the cohort `seed`.
///
/// # Panics
/// If the generator made something the record crate or the engine refuses
/// (a bug; see [`try_patient_record`], which returns the error instead).
pub fn patient_record(seed: u64, index: u64) -> PatientRecord {
    match try_patient_record(seed, index) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// Patient `index` of the cohort `seed`, or what was refused.
pub fn try_patient_record(seed: u64, index: u64) -> Result<PatientRecord, DemoError> {
    build(seed, index).map_err(|f| DemoError { seed, index, context: f.context, error: f.error })
}

/// The first `n` patients of the cohort `seed` (a prefix of any longer cohort).
pub fn cohort(seed: u64, n: u64) -> impl Iterator<Item = PatientRecord> {
    (0..n).map(move |i| patient_record(seed, i))
}

struct Limb {
    id: String,
    side: Side,
    kind: LimbKind,
    level: Option<AmputationLevel>,
    changed: Option<i32>,
    implant: bool,
}

fn eligible(l: &Limb, a: Aetiology) -> bool {
    let major = l.level.is_some_and(AmputationLevel::is_major);
    match a {
        Aetiology::Clti | Aetiology::DiabeticFoot | Aetiology::Venous => l.kind == LimbKind::Lower && !major,
        Aetiology::LimbLengthDiscrepancy => l.kind == LimbKind::Lower && l.level.is_none(),
        Aetiology::Trauma | Aetiology::Tumour | Aetiology::Infection => !major,
        Aetiology::PostAmputationOsseointegration => matches!(
            l.level,
            Some(
                AmputationLevel::Transtibial
                    | AmputationLevel::KneeDisarticulation
                    | AmputationLevel::Transfemoral
                    | AmputationLevel::Transradial
                    | AmputationLevel::ElbowDisarticulation
                    | AmputationLevel::Transhumeral
            )
        ),
    }
}

fn choose_limb(rng: &mut Rng, limbs: &[Limb], a: Aetiology, prev: Option<usize>) -> Option<usize> {
    let ok: Vec<usize> = (0..limbs.len()).filter(|i| eligible(&limbs[*i], a)).collect();
    if ok.is_empty() {
        return None;
    }
    match prev {
        Some(p) if ok.contains(&p) && rng.chance(0.6) => Some(p),
        _ => Some(rng.pick(&ok)),
    }
}

/// The next episode's aetiology, if the patient has another one.
fn next_aetiology(
    rng: &mut Rng,
    p: &Patient,
    prev: Aetiology,
    limbs: &[Limb],
    day: i32,
    had_oi: bool,
) -> Option<Aetiology> {
    let amputee = limbs.iter().any(|l| eligible(l, Aetiology::PostAmputationOsseointegration));
    if amputee && !had_oi && p.age(day) < 75.0 && rng.chance(0.3) {
        return Some(Aetiology::PostAmputationOsseointegration);
    }
    if prev == Aetiology::LimbLengthDiscrepancy && p.age(day) >= 16.0 {
        return None;
    }
    Some(match prev {
        Aetiology::Clti if p.diabetic() && rng.chance(0.2) => Aetiology::DiabeticFoot,
        Aetiology::DiabeticFoot if rng.chance(0.25) => Aetiology::Clti,
        Aetiology::Trauma if rng.chance(0.6) => Aetiology::Infection,
        Aetiology::Tumour if rng.chance(0.4) => Aetiology::Infection,
        a => a,
    })
}

fn build(seed: u64, index: u64) -> Result<PatientRecord, Fail> {
    let mut rng = Rng::new(seed, index);
    let mut ids = Ids::new(seed, index);
    let p = patient::sample(&mut rng);
    let death = patient::death_day(&mut rng, &p);
    let plans = patient::limbs(&mut rng, &p);

    let mut rec = PatientRecord::default();
    let patient_created = ms(p.first_opened, rng.days(8 * 60, 10 * 60));
    let patient_id = ids.next(patient_created);
    let mut limbs: Vec<Limb> = plans
        .iter()
        .map(|l| Limb {
            id: ids.next(patient_created),
            side: l.side,
            kind: l.kind,
            level: l.level,
            changed: None,
            implant: false,
        })
        .collect();

    let episodes = rng.weighted(&[(1u32, 60), (2, 28), (3, 12)]);
    let mut opened = p.first_opened;
    let mut aetiology = p.primary;
    let mut last_day = p.first_opened;
    let mut prev_limb = None;
    let mut had_oi = false;
    let mut seen: Vec<Aetiology> = Vec::with_capacity(3);
    for _ in 0..episodes {
        let limit = AS_OF_JD.min(death.unwrap_or(i32::MAX));
        if opened > limit || opened > LAST_OPENED_JD {
            break;
        }
        let Some(li) = choose_limb(&mut rng, &limbs, aetiology, prev_limb) else { break };
        had_oi |= aetiology == Aetiology::PostAmputationOsseointegration;
        let opened_ms = ms(opened, rng.days(8 * 60, 18 * 60 - 1));
        let mut d = Draft::new(aetiology, opened, opened_ms, limit, ids.next(opened_ms));
        {
            let limb = &limbs[li];
            let nth = seen.iter().filter(|a| **a == aetiology).count();
            let mut c = Ctx {
                rng: &mut rng,
                patient: &p,
                side: limb.side,
                kind: limb.kind,
                level: limb.level,
                nth,
                implant: limb.implant,
            };
            match aetiology {
                Aetiology::Clti | Aetiology::DiabeticFoot => vascular::plan(&mut c, &mut d)?,
                Aetiology::Venous => other::venous(&mut c, &mut d)?,
                Aetiology::Trauma => other::trauma(&mut c, &mut d)?,
                Aetiology::Tumour => other::tumour(&mut c, &mut d)?,
                Aetiology::Infection => other::infection(&mut c, &mut d)?,
                Aetiology::PostAmputationOsseointegration => other::osseointegration(&mut c, &mut d)?,
                Aetiology::LimbLengthDiscrepancy => other::limb_length(&mut c, &mut d)?,
            }
        }
        seen.push(aetiology);
        let limb_id = limbs[li].id.clone();
        let ended = d.finish(&mut rec, &mut ids, &mut rng, &limb_id, death)?;
        let limb = &mut limbs[li];
        limb.implant |= ended.implant;
        for (day, level) in ended.amputations {
            if limb.level.is_none_or(|c| level_rank(level) > level_rank(c)) {
                limb.level = Some(level);
                limb.changed = Some(day);
            }
        }
        last_day = last_day.max(ended.last_day);
        if ended.death.is_some() {
            break;
        }
        let Some(closed) = ended.closed_on else { break };
        prev_limb = Some(li);
        opened = closed + rng.days(14, 540);
        let Some(next) = next_aetiology(&mut rng, &p, aetiology, &limbs, opened, had_oi) else { break };
        aetiology = next;
    }

    // After a major leg amputation few walk unaided.
    let mut ambulatory = p.ambulatory;
    let leg_lost = limbs
        .iter()
        .any(|l| l.kind == LimbKind::Lower && l.changed.is_some() && l.level.is_some_and(AmputationLevel::is_major));
    if leg_lost && ambulatory == AmbulatoryStatus::Independent {
        ambulatory = if rng.chance(0.6) { AmbulatoryStatus::WithAid } else { AmbulatoryStatus::Wheelchair };
    }
    let site = names::SITES[p.site.min(names::SITES.len() - 1)];
    let patient = PatientData {
        mrn: format!("DEMO-{}-{index:07}", site.0),
        site: site.1.to_owned(),
        family_name: p.family.to_owned(),
        given_name: p.given.to_owned(),
        birth_date: ids::date("birth_date", p.birth).map_err(ctx("patient"))?,
        sex: p.sex,
        diabetes: p.diabetes,
        hba1c_percent: p.hba1c,
        ckd_stage: p.ckd,
        dialysis: p.dialysis,
        smoking: p.smoking,
        bmi: p.bmi,
        ambulatory_status: ambulatory,
    };
    patient.validate().map_err(ctx("patient"))?;
    let updated = if last_day > p.first_opened { ms(last_day, rng.days(8 * 60, 18 * 60 - 1)) } else { patient_created };
    rec.patient = Some(Stored {
        id: patient_id.clone(),
        version: 1,
        created_at_ms: patient_created,
        updated_at_ms: updated.max(patient_created),
        data: patient,
    });
    for l in limbs {
        let data = LimbData { patient_id: patient_id.clone(), side: l.side, kind: l.kind, amputation_level: l.level };
        data.validate().map_err(ctx("limb"))?;
        let updated = l.changed.map_or(patient_created, |d| ms(d, rng.days(8 * 60, 18 * 60 - 1)).max(patient_created));
        rec.limbs.push(Stored { id: l.id, version: 1, created_at_ms: patient_created, updated_at_ms: updated, data });
    }
    Ok(rec)
}
