//! Demographics and risk factors, plausible for the patient's main aetiology.
//! Every mix here is a demo choice (see the crate documentation), not data.

use crate::rng::Rng;
use crate::{AS_OF_JD, FIRST_OPENED_JD, LAST_OPENED_JD};
use limbpath_record::{
    Aetiology, AmbulatoryStatus, AmputationLevel, DiabetesStatus, LimbKind, Sex, Side, SmokingStatus,
};

/// Aetiology of the patient's first episode (per mille; demo mix).
pub(crate) const AETIOLOGY_MIX: [(Aetiology, u32); 8] = [
    (Aetiology::Clti, 380),
    (Aetiology::DiabeticFoot, 300),
    (Aetiology::Venous, 100),
    (Aetiology::Trauma, 60),
    (Aetiology::Infection, 50),
    (Aetiology::Tumour, 40),
    (Aetiology::PostAmputationOsseointegration, 40),
    (Aetiology::LimbLengthDiscrepancy, 30),
];

pub(crate) struct Patient {
    pub primary: Aetiology,
    pub sex: Sex,
    pub birth: i32,
    pub given: &'static str,
    pub family: &'static str,
    pub site: usize,
    pub diabetes: DiabetesStatus,
    pub hba1c: Option<f64>,
    pub ckd: Option<u8>,
    pub dialysis: bool,
    pub smoking: SmokingStatus,
    pub bmi: Option<f64>,
    pub ambulatory: AmbulatoryStatus,
    /// The day the first episode opened.
    pub first_opened: i32,
}

impl Patient {
    pub(crate) fn diabetic(&self) -> bool {
        self.diabetes != DiabetesStatus::None
    }

    /// Age in years (fractional) on `day`.
    pub(crate) fn age(&self, day: i32) -> f64 {
        f64::from(day - self.birth) / 365.25
    }

    /// Completed years on `day`.
    pub(crate) fn age_years(&self, day: i32) -> u32 {
        self.age(day).floor().max(0.0) as u32
    }
}

fn age_at_first_episode(rng: &mut Rng, a: Aetiology) -> f64 {
    match a {
        Aetiology::Clti => rng.hump(50.0, 93.0),
        Aetiology::DiabeticFoot => rng.hump(35.0, 90.0),
        Aetiology::Venous => rng.hump(30.0, 90.0),
        // Young adults mostly: the smaller of two uniforms.
        Aetiology::Trauma => 18.0 + 62.0 * rng.unit().min(rng.unit()),
        Aetiology::Tumour => {
            if rng.chance(0.5) {
                rng.uniform(12.0, 30.0)
            } else {
                rng.hump(35.0, 80.0)
            }
        }
        Aetiology::Infection => rng.hump(25.0, 88.0),
        Aetiology::PostAmputationOsseointegration => rng.hump(20.0, 72.0),
        Aetiology::LimbLengthDiscrepancy => rng.uniform(2.0, 14.0),
    }
}

fn male_share(a: Aetiology) -> f64 {
    match a {
        Aetiology::Clti => 0.62,
        Aetiology::DiabeticFoot => 0.66,
        Aetiology::Venous => 0.40,
        Aetiology::Trauma => 0.78,
        Aetiology::Tumour => 0.56,
        Aetiology::Infection => 0.60,
        Aetiology::PostAmputationOsseointegration => 0.72,
        Aetiology::LimbLengthDiscrepancy => 0.50,
    }
}

fn diabetes_share(a: Aetiology) -> f64 {
    match a {
        Aetiology::Clti => 0.55,
        Aetiology::DiabeticFoot => 1.0,
        Aetiology::Venous => 0.20,
        Aetiology::Trauma | Aetiology::Tumour => 0.08,
        Aetiology::Infection => 0.35,
        Aetiology::PostAmputationOsseointegration => 0.12,
        Aetiology::LimbLengthDiscrepancy => 0.0,
    }
}

fn smoking(rng: &mut Rng, a: Aetiology) -> SmokingStatus {
    use SmokingStatus::*;
    if rng.chance(0.02) {
        return Unknown;
    }
    let w: [(SmokingStatus, u32); 3] = match a {
        Aetiology::Clti => [(Never, 12), (Former, 50), (Current, 38)],
        Aetiology::DiabeticFoot => [(Never, 35), (Former, 42), (Current, 23)],
        Aetiology::Venous => [(Never, 50), (Former, 35), (Current, 15)],
        Aetiology::Trauma => [(Never, 45), (Former, 20), (Current, 35)],
        Aetiology::Tumour => [(Never, 60), (Former, 25), (Current, 15)],
        Aetiology::Infection => [(Never, 40), (Former, 30), (Current, 30)],
        Aetiology::PostAmputationOsseointegration => [(Never, 45), (Former, 35), (Current, 20)],
        Aetiology::LimbLengthDiscrepancy => [(Never, 1), (Former, 0), (Current, 0)],
    };
    rng.weighted(&w)
}

fn bmi(rng: &mut Rng, a: Aetiology, age: f64, dialysis: bool) -> Option<f64> {
    if rng.chance(0.05) {
        return None;
    }
    let (lo, hi) = match a {
        Aetiology::LimbLengthDiscrepancy => (14.0, 17.0 + age / 2.0),
        Aetiology::DiabeticFoot | Aetiology::Venous => (22.0, 42.0),
        Aetiology::Infection => (20.0, 38.0),
        Aetiology::PostAmputationOsseointegration => (19.0, 36.0),
        Aetiology::Tumour => (18.0, 33.0),
        Aetiology::Clti | Aetiology::Trauma => (19.0, 35.0),
    };
    let v = rng.hump(lo, hi) - if dialysis { 2.0 } else { 0.0 };
    Some((v * 10.0).round() / 10.0)
}

fn ambulatory(rng: &mut Rng, a: Aetiology, age: f64, dialysis: bool) -> AmbulatoryStatus {
    use AmbulatoryStatus::*;
    let mut w: [(AmbulatoryStatus, u32); 4] = match a {
        Aetiology::Clti => [(Independent, 40), (WithAid, 40), (Wheelchair, 15), (Bedbound, 5)],
        Aetiology::DiabeticFoot => [(Independent, 60), (WithAid, 30), (Wheelchair, 8), (Bedbound, 2)],
        Aetiology::Venous => [(Independent, 70), (WithAid, 25), (Wheelchair, 4), (Bedbound, 1)],
        Aetiology::Trauma => [(Independent, 45), (WithAid, 40), (Wheelchair, 14), (Bedbound, 1)],
        Aetiology::Tumour => [(Independent, 60), (WithAid, 30), (Wheelchair, 9), (Bedbound, 1)],
        Aetiology::Infection => [(Independent, 55), (WithAid, 33), (Wheelchair, 10), (Bedbound, 2)],
        Aetiology::PostAmputationOsseointegration => {
            [(Independent, 30), (WithAid, 50), (Wheelchair, 20), (Bedbound, 0)]
        }
        Aetiology::LimbLengthDiscrepancy => [(Independent, 85), (WithAid, 15), (Wheelchair, 0), (Bedbound, 0)],
    };
    if dialysis || age >= 80.0 {
        w[0].1 /= 2;
        w[1].1 += 10;
    }
    rng.weighted(&w)
}

pub(crate) fn sample(rng: &mut Rng) -> Patient {
    let primary = rng.weighted(&AETIOLOGY_MIX);
    let child = primary == Aetiology::LimbLengthDiscrepancy;
    let first_opened = rng.days(FIRST_OPENED_JD, LAST_OPENED_JD);
    let age = age_at_first_episode(rng, primary);
    let birth = first_opened - (age * 365.25).round() as i32;
    let sex = if !child && rng.chance(0.006) {
        if rng.chance(0.6) { Sex::Other } else { Sex::Unknown }
    } else if rng.chance(male_share(primary)) {
        Sex::Male
    } else {
        Sex::Female
    };
    let given = match sex {
        Sex::Male => rng.pick(&crate::names::GIVEN_MALE),
        Sex::Female => rng.pick(&crate::names::GIVEN_FEMALE),
        Sex::Other | Sex::Unknown => rng.pick(&crate::names::GIVEN_OTHER),
    };
    let family = rng.pick(&crate::names::FAMILY);
    let site = rng.int(0, crate::names::SITES.len() as i64 - 1) as usize;

    let diabetes = if rng.chance(diabetes_share(primary)) {
        let type1 = if primary == Aetiology::DiabeticFoot && age < 45.0 { 40 } else { 7 };
        rng.weighted(&[
            (DiabetesStatus::Type2, 100 - type1 - 2),
            (DiabetesStatus::Type1, type1),
            (DiabetesStatus::Other, 2),
        ])
    } else {
        DiabetesStatus::None
    };
    let hba1c = match diabetes {
        DiabetesStatus::None if child || rng.chance(0.6) => None,
        DiabetesStatus::None => Some(rng.tenth(4.8, 6.3)),
        _ if primary == Aetiology::DiabeticFoot => Some(rng.tenth(6.2, 12.5)),
        _ => Some(rng.tenth(6.0, 11.0)),
    };
    let ckd_share = match primary {
        Aetiology::Clti => 0.45,
        Aetiology::DiabeticFoot => 0.5,
        Aetiology::Infection => 0.15,
        Aetiology::LimbLengthDiscrepancy => 0.0,
        _ => 0.08,
    };
    let ckd =
        if rng.chance(ckd_share) { Some(rng.weighted(&[(1u8, 10), (2, 25), (3, 35), (4, 15), (5, 15)])) } else { None };
    // Dialysis only with CKD stage 5 (the record's validation enforces it).
    let dialysis = ckd == Some(5) && rng.chance(0.75);
    let smoking = if child { SmokingStatus::Never } else { smoking(rng, primary) };
    let bmi = bmi(rng, primary, age, dialysis);
    let ambulatory = ambulatory(rng, primary, age, dialysis);
    Patient {
        primary,
        sex,
        birth,
        given,
        family,
        site,
        diabetes,
        hba1c,
        ckd,
        dialysis,
        smoking,
        bmi,
        ambulatory,
        first_opened,
    }
}

/// The day the patient dies, if before the data cut-off: a monthly hazard
/// from the first episode on (demo rates by aetiology, raised with dialysis
/// and age). Pure arithmetic: one uniform against the running survival.
pub(crate) fn death_day(rng: &mut Rng, p: &Patient) -> Option<i32> {
    let annual: f64 = match p.primary {
        Aetiology::Clti => 0.16,
        Aetiology::DiabeticFoot => 0.08,
        Aetiology::Tumour => 0.07,
        Aetiology::Infection => 0.04,
        Aetiology::Venous => 0.03,
        Aetiology::Trauma | Aetiology::PostAmputationOsseointegration => 0.01,
        Aetiology::LimbLengthDiscrepancy => 0.0005,
    };
    let age = p.age(p.first_opened);
    let factor = (if p.dialysis { 2.0 } else { 1.0 })
        * (if age >= 80.0 {
            1.6
        } else if age >= 70.0 {
            1.2
        } else {
            1.0
        });
    let monthly = (annual * factor / 12.0).min(0.5);
    let u = rng.unit();
    let within = rng.days(0, 29);
    let mut survival = 1.0;
    let mut month = 0;
    loop {
        let day = p.first_opened + month * 30 + within;
        if day > AS_OF_JD {
            return None;
        }
        survival *= 1.0 - monthly;
        if survival < u {
            return Some(day);
        }
        month += 1;
    }
}

/// A limb as it stands when the patient enters the programme.
pub(crate) struct LimbPlan {
    pub side: Side,
    pub kind: LimbKind,
    pub level: Option<AmputationLevel>,
}

pub(crate) fn limbs(rng: &mut Rng, p: &Patient) -> Vec<LimbPlan> {
    let a = p.primary;
    let two = rng.chance(match a {
        Aetiology::Clti | Aetiology::DiabeticFoot => 0.3,
        Aetiology::Venous => 0.25,
        Aetiology::Trauma | Aetiology::Infection | Aetiology::PostAmputationOsseointegration => 0.05,
        Aetiology::Tumour | Aetiology::LimbLengthDiscrepancy => 0.0,
    });
    let upper = rng.chance(match a {
        Aetiology::Trauma | Aetiology::Tumour => 0.25,
        Aetiology::Infection => 0.2,
        Aetiology::PostAmputationOsseointegration => 0.08,
        _ => 0.0,
    });
    let kind = if upper { LimbKind::Upper } else { LimbKind::Lower };
    let first = if rng.chance(0.5) { Side::Left } else { Side::Right };
    let sides = if two { vec![Side::Left, Side::Right] } else { vec![first] };
    sides
        .into_iter()
        .map(|side| {
            // Osseointegration candidates come with the amputation they live with.
            let level = (a == Aetiology::PostAmputationOsseointegration).then(|| match kind {
                LimbKind::Lower => rng.weighted(&[
                    (AmputationLevel::Transfemoral, 55),
                    (AmputationLevel::Transtibial, 38),
                    (AmputationLevel::KneeDisarticulation, 7),
                ]),
                LimbKind::Upper => {
                    rng.weighted(&[(AmputationLevel::Transhumeral, 50), (AmputationLevel::Transradial, 50)])
                }
            });
            LimbPlan { side, kind, level }
        })
        .collect()
}
