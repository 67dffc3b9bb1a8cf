//! The clinical picture the rules read: the WIfI grades, the clinical stage and
//! the SIRS status of one set of findings, each with the field it came from
//! and the engine's flags. The findings are run through the engine
//! (`limbpath_clinical::assess`), so the same validation and the same tables
//! apply as for a stored assessment.
//!
//! Where each value comes from, first match wins:
//! - grades: the WIfI result (when all three components were given), else the
//!   grade given in the findings, else the findings graded on their own (wound
//!   findings, ischaemia measurements, infection findings). Ischaemia derived
//!   only from `side` + `pressures` needs a complete WIfI; otherwise it is
//!   not known here.
//! - SIRS: the engine's SIRS check on the infection findings (≥2 criteria met:
//!   yes; fewer than 2 met even if every unassessed criterion were met: no;
//!   otherwise unknown). Without infection findings, a foot-infection grade
//!   given by the clinician answers it by definition (REFERENCES.md §1.3:
//!   fI3 is local infection with SIRS, so fI3 → yes and fI1/fI2 → no); fI0
//!   leaves it unknown (SIRS without a foot infection is graded fI0).

use crate::condition::Truth;
use crate::rationale::{Flag, FlagKind};
use limbpath_clinical::assess::{Assessment, AssessmentInput, assess};
use limbpath_clinical::explain::Explanation;
use limbpath_clinical::infection::SirsAssessment;
use limbpath_clinical::wifi::{self, IschaemiaMeasurements};
use limbpath_clinical::{FlagKind as EngineFlag, InvalidInput};
use serde::Deserialize;

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fact<T> {
    pub value: T,
    /// Dotted path, e.g. `latest_assessment.derived.result.wifi.infection.grade`.
    pub field: String,
    pub flags: Vec<Flag>,
}

/// The SIRS status and what it rests on, in words.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sirs {
    pub truth: Truth,
    pub words: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Picture {
    pub wound: Option<Fact<u8>>,
    pub ischaemia: Option<Fact<u8>>,
    pub infection: Option<Fact<u8>>,
    pub sirs: Option<Fact<Sirs>>,
    pub stage: Option<Fact<u8>>,
}

fn engine_flags(label: &str, e: &Explanation) -> Vec<Flag> {
    e.flags
        .iter()
        .map(|f| {
            let kind = if f.kind == EngineFlag::Disputed { FlagKind::Disputed } else { FlagKind::Classification };
            Flag::new(kind, format!("{label}: {}: {}", f.kind.code(), f.message))
        })
        .collect()
}

fn fact<T>(value: T, field: String, label: &str, e: Option<&Explanation>) -> Fact<T> {
    Fact { value, field, flags: e.map(|e| engine_flags(label, e)).unwrap_or_default() }
}

fn sirs_from_detail(s: &SirsAssessment) -> Sirs {
    let met = s.met.len();
    let open = s.not_assessed.len();
    let truth = if s.systemic() {
        Truth::Yes
    } else if met + open < 2 {
        Truth::No
    } else {
        Truth::Unknown
    };
    let words = match truth {
        Truth::Yes => format!("{met} of 4 SIRS criteria met (≥2 = systemic inflammation)"),
        Truth::No => format!("{met} SIRS criteria met, {open} not assessed: fewer than 2 possible"),
        Truth::Unknown => format!("{met} SIRS criteria met, {open} not assessed: 2 not excluded"),
    };
    Sirs { truth, words }
}

/// Run the engine on findings in the `limbpath assess` schema and read the
/// picture. `at` is the findings' dotted path (used in errors and inputs);
/// `result_at` names where the engine's result is kept (for inputs).
pub(crate) fn picture(findings: &serde_json::Value, at: &str, result_at: &str) -> Result<Picture, InvalidInput> {
    let input = AssessmentInput::deserialize(findings)
        .map_err(|e| InvalidInput::unrecognised(at, e, "findings in the `limbpath assess` input schema (README)"))?;
    picture_of_input(&input, at, result_at)
}

/// [`picture`] of findings already read into the engine's input.
pub(crate) fn picture_of_input(input: &AssessmentInput, at: &str, result_at: &str) -> Result<Picture, InvalidInput> {
    let result = assess(input).map_err(|e| e.within(at))?;
    Ok(read(input, &result, at, result_at))
}

fn read(input: &AssessmentInput, r: &Assessment, at: &str, result_at: &str) -> Picture {
    let mut p = Picture::default();
    let res = |path: &str| format!("{result_at}.{path}");
    let given = |path: &str| format!("{at}.{path}");
    if let Some(w) = &r.wifi {
        p.wound = Some(fact(w.wound.grade, res("wifi.wound.grade"), "WIfI wound", Some(&w.wound.explanation)));
        p.ischaemia = Some(fact(
            w.ischaemia.grade,
            res("wifi.ischaemia.grade"),
            "WIfI ischaemia",
            Some(&w.ischaemia.explanation),
        ));
        p.infection = Some(fact(
            w.infection.grade,
            res("wifi.infection.grade"),
            "WIfI foot infection",
            Some(&w.infection.explanation),
        ));
        p.stage = Some(fact(w.stage.stage, res("wifi.stage.stage"), "WIfI stage", Some(&w.stage.explanation)));
        if let Some(d) = &w.infection_detail {
            p.sirs = Some(fact(sirs_from_detail(&d.sirs), res("wifi.infection_detail.sirs"), "SIRS", None));
        }
    } else {
        // WIfI incomplete: each component on its own (the engine validated every value).
        p.wound = match (input.wound_grade, &input.wound) {
            (Some(g), _) => Some(fact(g, given("wound_grade"), "", None)),
            (None, Some(f)) => {
                let g = wifi::wound_grade(f);
                Some(fact(g.grade, given("wound"), "WIfI wound", Some(&g.explanation)))
            }
            (None, None) => None,
        };
        p.ischaemia = match (input.ischaemia_grade, &input.ischaemia) {
            (Some(g), _) => Some(fact(g, given("ischaemia_grade"), "", None)),
            (None, Some(m)) => {
                let m = IschaemiaMeasurements { diabetes: m.diabetes || input.diabetes, ..m.clone() };
                wifi::ischaemia_grade(&m)
                    .ok()
                    .map(|g| fact(g.grade, given("ischaemia"), "WIfI ischaemia", Some(&g.explanation)))
            }
            (None, None) => None,
        };
        p.infection = match (&r.infection, input.infection_grade) {
            (Some(i), _) => {
                p.sirs = Some(fact(sirs_from_detail(&i.detail.sirs), res("infection.sirs"), "SIRS", None));
                Some(fact(i.grade, res("infection.grade"), "foot infection", Some(&i.explanation)))
            }
            (None, Some(g)) => Some(fact(g, given("infection_grade"), "", None)),
            (None, None) => None,
        };
    }
    if p.sirs.is_none()
        && let Some(i) = &p.infection
    {
        let (truth, words) = match i.value {
            3 => (Truth::Yes, "fI3 given: local infection with SIRS by definition (REFERENCES.md §1.3)"),
            1 | 2 => (Truth::No, "fI1/fI2 given: an infection with SIRS would be fI3 (REFERENCES.md §1.3)"),
            _ => (Truth::Unknown, "fI0 given and no SIRS findings: SIRS without a foot infection is graded fI0"),
        };
        p.sirs = Some(Fact { value: Sirs { truth, words: words.to_owned() }, field: i.field.clone(), flags: vec![] });
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_complete_wifi_gives_every_grade_from_the_engine_result() {
        let p = picture(&json!({"wound_grade": 2, "ischaemia_grade": 3, "infection_grade": 1}), "f", "r").unwrap();
        assert_eq!(p.wound.unwrap().value, 2);
        assert_eq!(p.ischaemia.unwrap().value, 3);
        assert_eq!(p.infection.as_ref().unwrap().value, 1);
        // REFERENCES.md §1.4: I3 W2 fI1 → stage 4
        assert_eq!(p.stage.unwrap().value, 4);
        assert_eq!(p.sirs.unwrap().value.truth, Truth::No);
    }

    #[test]
    fn sirs_comes_from_the_findings_when_given() {
        let f = json!({"infection": {"local_warmth": true, "purulent_discharge": true,
            "sirs": {"temperature_c": 38.6, "heart_rate_bpm": 104}}});
        let p = picture(&f, "f", "r").unwrap();
        assert_eq!(p.infection.unwrap().value, 3);
        assert_eq!(p.sirs.unwrap().value.truth, Truth::Yes);
        // one criterion met and three not assessed: two are not excluded
        let f = json!({"infection": {"local_warmth": true, "purulent_discharge": true,
            "sirs": {"temperature_c": 38.6}}});
        assert_eq!(picture(&f, "f", "r").unwrap().sirs.unwrap().value.truth, Truth::Unknown);
        // fI0 given as a grade: SIRS is not answered
        assert_eq!(
            picture(&json!({"infection_grade": 0}), "f", "r").unwrap().sirs.unwrap().value.truth,
            Truth::Unknown
        );
    }

    #[test]
    fn the_disputed_stage_cell_is_flagged() {
        // REFERENCES.md §1.4: W0-I2-fI3 is DISPUTED (4 used, ESC app says 3)
        let p = picture(&json!({"wound_grade": 0, "ischaemia_grade": 2, "infection_grade": 3}), "f", "r").unwrap();
        let stage = p.stage.unwrap();
        assert_eq!(stage.value, 4);
        assert!(stage.flags.iter().any(|f| f.kind == FlagKind::Disputed), "{:?}", stage.flags);
    }

    #[test]
    fn bad_findings_are_an_error_naming_the_path() {
        let e = picture(&json!({"infection_grade": 7}), "latest_assessment.findings", "r").unwrap_err();
        assert_eq!(e.field, "latest_assessment.findings.infection_grade");
        let e = picture(&json!({"no_such": 1}), "referral.findings", "r").unwrap_err();
        assert_eq!(e.field, "referral.findings");
    }
}
