//! Diabetic foot infection: the WIfI foot-infection grade fI0–fI3 and the
//! IWGDF/IDSA grade 1–4 with the (O) osteomyelitis suffix, from one set of
//! bedside findings (the two scales are the same grades: fI0–3 = IWGDF 1–4).
//!
//! Rules chosen where the reference leaves a choice (REFERENCES.md §1.3, §7.1):
//! - A local sign counts when present; erythema counts when it extends
//!   **more than 0.5 cm** from the wound margin. Infection is present with at
//!   least 2 local signs, or when a deep structure is infected (abscess,
//!   osteomyelitis, septic arthritis, fasciitis, tendon, muscle): a deep-tissue
//!   infection is an infection in itself; with fewer than 2 local signs a
//!   `Review` flag says so.
//! - fI3 / grade 4 needs infection **and** ≥2 SIRS criteria. SIRS criteria met
//!   without a foot infection give fI0 with a `Review` flag (look elsewhere).
//! - The immature-bands criterion is printed "≥10 %" in WIfI and ">10 %" in
//!   IWGDF/IDSA. The shared SIRS check uses **≥10 %** (it cannot under-call
//!   fI3); a value of exactly 10 % raises `AmbiguousBoundary`.
//! - A SIRS criterion whose measurements were not given is not counted; when
//!   the missing ones could have reached 2 criteria, `Incomplete` says fI3 was
//!   not excluded.
//! - Presence findings (swelling, warmth, …) are absent unless reported.

use crate::error::{InvalidInput, Result};
use crate::explain::{EvidenceStatus, Explain, Explanation, FlagKind, Section, Source};
use crate::limits::{HEART_RATE_BPM, LENGTH_CM, PACO2_MMHG, PERCENT, RESPIRATORY_RATE, TEMPERATURE_C, WBC_PER_UL};
use serde::{Deserialize, Serialize};

// source: Mills JL Sr et al., J Vasc Surg 2014;59(1):220-234, doi:10.1016/j.jvs.2013.08.003 (WIfI fI grades) | status: VERIFIED
pub static WIFI_INFECTION_SOURCE: Source = Source {
    id: "wifi.foot_infection",
    citation: "Mills JL Sr et al. SVS WIfI. J Vasc Surg 2014;59(1):220-234, doi:10.1016/j.jvs.2013.08.003 (foot infection grade)",
    reference: "REFERENCES.md §1.3",
    status: EvidenceStatus::Verified,
    status_note: "",
};

// source: IWGDF/IDSA infection classification 2019 (retained 2023), via PMC6174858 table 1 | status: VERIFIED
pub static IWGDF_SOURCE: Source = Source {
    id: "iwgdf_idsa.infection",
    citation: "IWGDF/IDSA diabetic foot infection classification 2019 (retained 2023), PMC6174858 table 1",
    reference: "REFERENCES.md §7.1",
    status: EvidenceStatus::Verified,
    status_note: "",
};

// SIRS thresholds as printed in REFERENCES.md §1.3 (WIfI fI3) and §7.1 (IWGDF grade 4).
// source: Mills 2014 fI3 row; IWGDF/IDSA 2019 grade 4 | status: VERIFIED (bands ≥10 % vs >10 % printed differently)
const SIRS_TEMP_HIGH_C: f64 = 38.0; // > 38 °C
const SIRS_TEMP_LOW_C: f64 = 36.0; // < 36 °C
const SIRS_HEART_RATE: f64 = 90.0; // > 90 /min
const SIRS_RESP_RATE: f64 = 20.0; // > 20 /min
const SIRS_PACO2_MMHG: f64 = 32.0; // < 32 mmHg
const SIRS_WBC_HIGH: f64 = 12_000.0; // > 12 000 /µL
const SIRS_WBC_LOW: f64 = 4_000.0; // < 4 000 /µL
const SIRS_BANDS_PERCENT: f64 = 10.0; // ≥ 10 % (WIfI) / > 10 % (IWGDF): ≥ used, flagged at 10
const SIRS_CRITERIA_FOR_SYSTEMIC: usize = 2; // ≥ 2 criteria

// Erythema extent around the wound (§1.3, §7.1): a local sign when > 0.5 cm;
// fI2 / IWGDF 3 when > 2 cm.
const ERYTHEMA_LOCAL_SIGN_CM: f64 = 0.5;
const ERYTHEMA_EXTENSIVE_CM: f64 = 2.0;
const LOCAL_SIGNS_FOR_INFECTION: usize = 2;

/// A structure deeper than skin and subcutaneous tissue that is infected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeepInfection {
    Abscess,
    Osteomyelitis,
    SepticArthritis,
    Fasciitis,
    Tendon,
    Muscle,
}

impl DeepInfection {
    pub fn label(self) -> &'static str {
        match self {
            DeepInfection::Abscess => "abscess",
            DeepInfection::Osteomyelitis => "osteomyelitis",
            DeepInfection::SepticArthritis => "septic arthritis",
            DeepInfection::Fasciitis => "fasciitis",
            DeepInfection::Tendon => "tendon",
            DeepInfection::Muscle => "muscle",
        }
    }
}

/// Systemic findings for the SIRS criteria. Each is optional; what is not
/// given is reported as not assessed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SirsFindings {
    pub temperature_c: Option<f64>,
    pub heart_rate_bpm: Option<f64>,
    pub respiratory_rate_per_min: Option<f64>,
    pub paco2_mmhg: Option<f64>,
    pub wbc_per_ul: Option<f64>,
    pub immature_bands_percent: Option<f64>,
}

/// Bedside findings of foot infection.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InfectionFindings {
    #[serde(default)]
    pub local_swelling_or_induration: bool,
    /// Extent of erythema from the wound margin, cm (0 when none).
    #[serde(default)]
    pub erythema_cm: f64,
    #[serde(default)]
    pub local_tenderness_or_pain: bool,
    #[serde(default)]
    pub local_warmth: bool,
    #[serde(default)]
    pub purulent_discharge: bool,
    /// Infected structures deeper than skin and subcutaneous tissue.
    #[serde(default)]
    pub deep_involvement: Vec<DeepInfection>,
    #[serde(default)]
    pub sirs: SirsFindings,
}

/// One SIRS criterion and whether it was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SirsCriterion {
    Temperature,
    HeartRate,
    RespiratoryRateOrPaco2,
    WhiteCellCount,
}

impl SirsCriterion {
    fn label(self) -> &'static str {
        match self {
            SirsCriterion::Temperature => "temperature >38 or <36 °C",
            SirsCriterion::HeartRate => "heart rate >90/min",
            SirsCriterion::RespiratoryRateOrPaco2 => "respiratory rate >20/min or PaCO2 <32 mmHg",
            SirsCriterion::WhiteCellCount => "WBC >12 000 or <4 000/µL or ≥10 % immature bands",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SirsAssessment {
    pub met: Vec<SirsCriterion>,
    pub not_assessed: Vec<SirsCriterion>,
}

impl SirsAssessment {
    pub fn systemic(&self) -> bool {
        self.met.len() >= SIRS_CRITERIA_FOR_SYSTEMIC
    }
}

/// IWGDF/IDSA grade 1–4 with its name and the (O) suffix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IwgdfGrade {
    pub grade: u8,
    pub name: &'static str,
    pub osteomyelitis: bool,
    /// "3(O)", "2", …
    pub label: String,
    pub explanation: Explanation,
}

/// What the infection grade rests on, and the IWGDF/IDSA grade.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InfectionDetail {
    /// The local signs counted (at least 2 make an infection).
    pub local_signs: Vec<&'static str>,
    pub sirs: SirsAssessment,
    pub iwgdf: IwgdfGrade,
}

/// The infection classification: WIfI fI and IWGDF/IDSA from the same findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InfectionResult {
    /// WIfI foot-infection grade 0–3.
    pub grade: u8,
    #[serde(flatten)]
    pub detail: InfectionDetail,
    pub explanation: Explanation,
}

// IWGDF/IDSA grade names, REFERENCES.md §7.1 (index = grade - 1).
const IWGDF_NAMES: [&str; 4] = ["uninfected", "mild", "moderate", "severe"];

// fI definitions as printed, REFERENCES.md §1.3 (index = fI).
const FI_DEFINITIONS: [&str; 4] = [
    "no symptoms or signs of infection",
    "infection present (≥2 local signs, erythema >0.5 to ≤2 cm), skin and subcutaneous tissue only",
    "local infection with erythema >2 cm or involving structures deeper than skin and subcutaneous tissue, no SIRS",
    "local infection with signs of SIRS (≥2 criteria)",
];

fn sirs(findings: &SirsFindings) -> Result<(SirsAssessment, bool)> {
    let t = TEMPERATURE_C.check_opt("sirs.temperature_c", findings.temperature_c)?;
    let hr = HEART_RATE_BPM.check_opt("sirs.heart_rate_bpm", findings.heart_rate_bpm)?;
    let rr = RESPIRATORY_RATE.check_opt("sirs.respiratory_rate_per_min", findings.respiratory_rate_per_min)?;
    let paco2 = PACO2_MMHG.check_opt("sirs.paco2_mmhg", findings.paco2_mmhg)?;
    let wbc = WBC_PER_UL.check_opt("sirs.wbc_per_ul", findings.wbc_per_ul)?;
    let bands = PERCENT.check_opt("sirs.immature_bands_percent", findings.immature_bands_percent)?;

    let mut met = Vec::new();
    let mut not_assessed = Vec::new();
    let mut judge = |criterion, values: &[Option<bool>]| {
        if values.contains(&Some(true)) {
            met.push(criterion);
        } else if values.iter().all(Option::is_none) {
            not_assessed.push(criterion);
        }
    };
    judge(SirsCriterion::Temperature, &[t.map(|t| t > SIRS_TEMP_HIGH_C || t < SIRS_TEMP_LOW_C)]);
    judge(SirsCriterion::HeartRate, &[hr.map(|hr| hr > SIRS_HEART_RATE)]);
    judge(
        SirsCriterion::RespiratoryRateOrPaco2,
        &[rr.map(|rr| rr > SIRS_RESP_RATE), paco2.map(|p| p < SIRS_PACO2_MMHG)],
    );
    judge(
        SirsCriterion::WhiteCellCount,
        &[wbc.map(|w| w > SIRS_WBC_HIGH || w < SIRS_WBC_LOW), bands.map(|b| b >= SIRS_BANDS_PERCENT)],
    );
    let bands_on_boundary = bands == Some(SIRS_BANDS_PERCENT);
    Ok((SirsAssessment { met, not_assessed }, bands_on_boundary))
}

/// Grade foot infection from bedside findings.
pub fn classify(findings: &InfectionFindings) -> Result<InfectionResult> {
    let erythema = LENGTH_CM.check("erythema_cm", findings.erythema_cm)?;
    let (sirs, bands_on_boundary) = sirs(&findings.sirs)?;

    let mut local_signs = Vec::with_capacity(5);
    if findings.local_swelling_or_induration {
        local_signs.push("local swelling or induration");
    }
    if erythema > ERYTHEMA_LOCAL_SIGN_CM {
        local_signs.push("erythema >0.5 cm");
    }
    if findings.local_tenderness_or_pain {
        local_signs.push("local tenderness or pain");
    }
    if findings.local_warmth {
        local_signs.push("local warmth");
    }
    if findings.purulent_discharge {
        local_signs.push("purulent discharge");
    }
    let mut deep: Vec<DeepInfection> = findings.deep_involvement.clone();
    deep.sort_by_key(|d| *d as u8);
    deep.dedup();
    let osteomyelitis = deep.contains(&DeepInfection::Osteomyelitis);

    let infected = local_signs.len() >= LOCAL_SIGNS_FOR_INFECTION || !deep.is_empty();
    let deep_text = deep.iter().map(|d| d.label()).collect::<Vec<_>>().join(", ");
    let (grade, why) = if !infected {
        (0, format!("{} local sign(s) (infection needs ≥2) and no deep-tissue infection", local_signs.len()))
    } else if sirs.systemic() {
        (3, format!("foot infection with {} SIRS criteria (≥2)", sirs.met.len()))
    } else if !deep.is_empty() {
        (2, format!("infection involving deeper structures ({deep_text}) without SIRS"))
    } else if erythema > ERYTHEMA_EXTENSIVE_CM {
        (2, format!("erythema {erythema} cm (>2 cm) without SIRS"))
    } else {
        (1, format!("{} local signs, erythema ≤2 cm, skin and subcutaneous tissue only, no SIRS", local_signs.len()))
    };

    let mut e =
        Explanation::new(&WIFI_INFECTION_SOURCE, format!("fI{grade}: {why} ({})", FI_DEFINITIONS[grade as usize]))
            .input("local_swelling_or_induration", findings.local_swelling_or_induration)
            .input("erythema_cm", erythema)
            .input("local_tenderness_or_pain", findings.local_tenderness_or_pain)
            .input("local_warmth", findings.local_warmth)
            .input("purulent_discharge", findings.purulent_discharge)
            .input("deep_involvement", if deep.is_empty() { "none".to_owned() } else { deep_text.clone() });
    push_sirs_inputs(&mut e, &findings.sirs);

    if !sirs.met.is_empty() {
        let met: Vec<&str> = sirs.met.iter().map(|c| c.label()).collect();
        e.push_flag(FlagKind::Review, format!("SIRS criteria met: {}", met.join("; ")));
    }
    if grade == 0 && sirs.systemic() {
        e.push_flag(
            FlagKind::Review,
            "≥2 SIRS criteria without signs of foot infection: fI3 needs a local infection; look for another source",
        );
    }
    if infected && local_signs.len() < LOCAL_SIGNS_FOR_INFECTION {
        e.push_flag(
            FlagKind::Review,
            format!(
                "graded as infected because a deep-tissue infection ({deep_text}) was reported, with {} local sign(s)",
                local_signs.len()
            ),
        );
    }
    if grade >= 1 {
        e.push_flag(
            FlagKind::Review,
            "assumes other causes of inflammation are excluded (trauma, gout, acute Charcot, fracture, thrombosis, venous stasis)",
        );
    }
    if grade < 3
        && infected
        && sirs.met.len() + sirs.not_assessed.len() >= SIRS_CRITERIA_FOR_SYSTEMIC
        && !sirs.not_assessed.is_empty()
    {
        let missing: Vec<&str> = sirs.not_assessed.iter().map(|c| c.label()).collect();
        e.push_flag(
            FlagKind::Incomplete,
            format!("fI3 not excluded: SIRS criteria not assessed: {}", missing.join("; ")),
        );
    }
    if bands_on_boundary {
        e.push_flag(
            FlagKind::AmbiguousBoundary,
            "immature bands exactly 10 %: counted as a SIRS criterion under WIfI's printed ≥10 %; IWGDF/IDSA prints >10 %",
        );
    }

    let iwgdf_grade = grade + 1;
    let o = osteomyelitis && iwgdf_grade >= 3;
    let label = if o { format!("{iwgdf_grade}(O)") } else { iwgdf_grade.to_string() };
    let mut ie = Explanation::new(
        &IWGDF_SOURCE,
        format!(
            "IWGDF/IDSA grade {label} ({}) = WIfI fI{grade} + 1 (PEDIS {iwgdf_grade}){}",
            IWGDF_NAMES[grade as usize],
            if o { "; (O): osteomyelitis with grade 3 or 4 (2019 rule)" } else { "" }
        ),
    )
    .input("wifi_foot_infection_grade", grade)
    .input("osteomyelitis", osteomyelitis);
    ie.flags = e.flags.clone();

    Ok(InfectionResult {
        grade,
        detail: InfectionDetail {
            local_signs,
            sirs,
            iwgdf: IwgdfGrade {
                grade: iwgdf_grade,
                name: IWGDF_NAMES[grade as usize],
                osteomyelitis: o,
                label,
                explanation: ie,
            },
        },
        explanation: e,
    })
}

fn push_sirs_inputs(e: &mut Explanation, s: &SirsFindings) {
    let fields: [(&'static str, Option<f64>); 6] = [
        ("sirs.temperature_c", s.temperature_c),
        ("sirs.heart_rate_bpm", s.heart_rate_bpm),
        ("sirs.respiratory_rate_per_min", s.respiratory_rate_per_min),
        ("sirs.paco2_mmhg", s.paco2_mmhg),
        ("sirs.wbc_per_ul", s.wbc_per_ul),
        ("sirs.immature_bands_percent", s.immature_bands_percent),
    ];
    for (field, value) in fields {
        if let Some(v) = value {
            e.push_input(field, v);
        }
    }
}

/// Accept an fI grade given directly by the clinician.
pub fn given_grade(field: &str, grade: u8) -> Result<u8> {
    if grade > 3 {
        return Err(InvalidInput::out_of_range(field, grade, "a foot-infection grade 0, 1, 2 or 3"));
    }
    Ok(grade)
}

impl Explain for InfectionResult {
    fn sections(&self) -> Vec<Section<'_>> {
        vec![
            Section {
                label: "IWGDF/IDSA infection grade",
                result: self.detail.iwgdf.label.clone(),
                explanation: &self.detail.iwgdf.explanation,
            },
            Section {
                label: "WIfI foot infection grade",
                result: format!("fI{}", self.grade),
                explanation: &self.explanation,
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signs(n: usize) -> InfectionFindings {
        InfectionFindings {
            local_swelling_or_induration: n >= 1,
            local_tenderness_or_pain: n >= 2,
            local_warmth: n >= 3,
            purulent_discharge: n >= 4,
            ..Default::default()
        }
    }

    #[test]
    fn no_signs_is_fi0_iwgdf1() {
        let r = classify(&InfectionFindings::default()).unwrap();
        assert_eq!((r.grade, r.detail.iwgdf.grade, r.detail.iwgdf.label.as_str()), (0, 1, "1"));
        assert_eq!(r.detail.iwgdf.name, "uninfected");
    }

    #[test]
    fn one_local_sign_is_not_infection_two_are() {
        assert_eq!(classify(&signs(1)).unwrap().grade, 0);
        assert_eq!(classify(&signs(2)).unwrap().grade, 1);
        assert_eq!(classify(&signs(2)).unwrap().detail.iwgdf.name, "mild");
    }

    #[test]
    fn erythema_counts_as_a_sign_only_above_half_a_centimetre() {
        let at = InfectionFindings { erythema_cm: 0.5, ..signs(1) };
        assert_eq!(classify(&at).unwrap().grade, 0);
        let above = InfectionFindings { erythema_cm: 0.6, ..signs(1) };
        assert_eq!(classify(&above).unwrap().grade, 1);
    }

    #[test]
    fn erythema_boundary_two_centimetres() {
        let at = InfectionFindings { erythema_cm: 2.0, ..signs(2) };
        assert_eq!(classify(&at).unwrap().grade, 1);
        let above = InfectionFindings { erythema_cm: 2.1, ..signs(2) };
        assert_eq!(classify(&above).unwrap().grade, 2);
        assert_eq!(classify(&above).unwrap().detail.iwgdf.label, "3");
    }

    #[test]
    fn deep_involvement_is_fi2_and_osteomyelitis_adds_o() {
        let f = InfectionFindings { deep_involvement: vec![DeepInfection::Osteomyelitis], ..signs(2) };
        let r = classify(&f).unwrap();
        assert_eq!((r.grade, r.detail.iwgdf.label.as_str()), (2, "3(O)"));
        let abscess = InfectionFindings { deep_involvement: vec![DeepInfection::Abscess], ..signs(2) };
        assert_eq!(classify(&abscess).unwrap().detail.iwgdf.label, "3");
    }

    #[test]
    fn deep_infection_alone_is_infection_with_review_flag() {
        let f = InfectionFindings { deep_involvement: vec![DeepInfection::Osteomyelitis], ..Default::default() };
        let r = classify(&f).unwrap();
        assert_eq!(r.grade, 2);
        assert!(r.explanation.flags.iter().any(|f| f.message.contains("deep-tissue infection")));
    }

    fn sirs_two() -> SirsFindings {
        SirsFindings { temperature_c: Some(38.5), heart_rate_bpm: Some(95.0), ..Default::default() }
    }

    #[test]
    fn sirs_makes_fi3_and_4o() {
        let f =
            InfectionFindings { sirs: sirs_two(), deep_involvement: vec![DeepInfection::Osteomyelitis], ..signs(2) };
        let r = classify(&f).unwrap();
        assert_eq!((r.grade, r.detail.iwgdf.label.as_str(), r.detail.iwgdf.name), (3, "4(O)", "severe"));
    }

    #[test]
    fn sirs_without_infection_stays_fi0_with_flag() {
        let r = classify(&InfectionFindings { sirs: sirs_two(), ..Default::default() }).unwrap();
        assert_eq!(r.grade, 0);
        assert!(r.explanation.flags.iter().any(|f| f.message.contains("another source")));
    }

    #[test]
    fn each_sirs_threshold_both_sides() {
        // (findings, criterion met?) with one criterion at a time
        let cases: Vec<(SirsFindings, bool)> = vec![
            (SirsFindings { temperature_c: Some(38.0), ..Default::default() }, false),
            (SirsFindings { temperature_c: Some(38.1), ..Default::default() }, true),
            (SirsFindings { temperature_c: Some(36.0), ..Default::default() }, false),
            (SirsFindings { temperature_c: Some(35.9), ..Default::default() }, true),
            (SirsFindings { heart_rate_bpm: Some(90.0), ..Default::default() }, false),
            (SirsFindings { heart_rate_bpm: Some(91.0), ..Default::default() }, true),
            (SirsFindings { respiratory_rate_per_min: Some(20.0), ..Default::default() }, false),
            (SirsFindings { respiratory_rate_per_min: Some(21.0), ..Default::default() }, true),
            (SirsFindings { paco2_mmhg: Some(32.0), ..Default::default() }, false),
            (SirsFindings { paco2_mmhg: Some(31.9), ..Default::default() }, true),
            (SirsFindings { wbc_per_ul: Some(12_000.0), ..Default::default() }, false),
            (SirsFindings { wbc_per_ul: Some(12_001.0), ..Default::default() }, true),
            (SirsFindings { wbc_per_ul: Some(4_000.0), ..Default::default() }, false),
            (SirsFindings { wbc_per_ul: Some(3_999.0), ..Default::default() }, true),
            (SirsFindings { immature_bands_percent: Some(9.9), ..Default::default() }, false),
            (SirsFindings { immature_bands_percent: Some(10.0), ..Default::default() }, true),
        ];
        for (s, expected) in cases {
            let (a, _) = sirs(&s).unwrap();
            assert_eq!(a.met.len() == 1, expected, "{s:?}");
        }
    }

    #[test]
    fn bands_exactly_ten_percent_is_flagged() {
        let s = SirsFindings { immature_bands_percent: Some(10.0), heart_rate_bpm: Some(100.0), ..Default::default() };
        let r = classify(&InfectionFindings { sirs: s, ..signs(2) }).unwrap();
        assert_eq!(r.grade, 3);
        assert!(r.explanation.has_flag(FlagKind::AmbiguousBoundary));
    }

    #[test]
    fn missing_sirs_measurements_flag_incomplete() {
        let r = classify(&signs(3)).unwrap();
        assert_eq!(r.grade, 1);
        assert!(r.explanation.has_flag(FlagKind::Incomplete));
        let all = SirsFindings {
            temperature_c: Some(37.0),
            heart_rate_bpm: Some(80.0),
            respiratory_rate_per_min: Some(16.0),
            wbc_per_ul: Some(8000.0),
            ..Default::default()
        };
        let r = classify(&InfectionFindings { sirs: all, ..signs(3) }).unwrap();
        assert!(!r.explanation.has_flag(FlagKind::Incomplete));
    }

    #[test]
    fn invalid_values_name_their_field() {
        let e = classify(&InfectionFindings { erythema_cm: -1.0, ..Default::default() }).unwrap_err();
        assert_eq!(e.field, "erythema_cm");
        let e = classify(&InfectionFindings {
            sirs: SirsFindings { temperature_c: Some(f64::NAN), ..Default::default() },
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.field, "sirs.temperature_c");
        assert!(given_grade("infection_grade", 4).is_err());
        assert_eq!(given_grade("infection_grade", 3).unwrap(), 3);
    }

    #[test]
    fn unknown_json_fields_are_rejected() {
        let r: std::result::Result<InfectionFindings, _> = serde_json::from_str(r#"{"erythema": 1}"#);
        assert!(r.is_err());
    }

    proptest! {
        #[test]
        fn never_panics_and_grade_is_consistent(
            swelling: bool, tender: bool, warm: bool, pus: bool,
            erythema in prop::num::f64::ANY,
            temp in prop::option::of(prop::num::f64::ANY),
            hr in prop::option::of(-10.0f64..400.0),
            deep in prop::collection::vec(0u8..6, 0..4),
        ) {
            let deep_involvement = deep.iter().map(|d| match d {
                0 => DeepInfection::Abscess, 1 => DeepInfection::Osteomyelitis, 2 => DeepInfection::SepticArthritis,
                3 => DeepInfection::Fasciitis, 4 => DeepInfection::Tendon, _ => DeepInfection::Muscle,
            }).collect();
            let f = InfectionFindings {
                local_swelling_or_induration: swelling, erythema_cm: erythema, local_tenderness_or_pain: tender,
                local_warmth: warm, purulent_discharge: pus, deep_involvement,
                sirs: SirsFindings { temperature_c: temp, heart_rate_bpm: hr, ..Default::default() },
            };
            match classify(&f) {
                Ok(r) => {
                    prop_assert!(r.grade <= 3);
                    prop_assert_eq!(r.detail.iwgdf.grade, r.grade + 1);
                    prop_assert!(erythema.is_finite() && (0.0..=150.0).contains(&erythema));
                }
                Err(e) => prop_assert!(!e.field.is_empty()),
            }
        }
    }
}
