//! Second-opinion referrals: triage of the submitted findings, and the review
//! decision's vocabulary.
//!
//! Triage (programme policy for issue 5; the reference pack has no referral
//! triage, only the classifications it reads):
//! 1. **Emergency** when the foot-infection grade is fI3, or ≥2 SIRS criteria
//!    are met (REFERENCES.md §1.3, §7.1), or the referrer reports wet
//!    gangrene (not defined in the reference pack: the referrer's report is
//!    taken as given and flagged for review).
//! 2. Otherwise **urgent** when the ischaemia grade, the foot-infection grade
//!    or the WIfI stage reaches its programme-setting threshold (defaults I2,
//!    fI2, stage 3), or — when `urgent_when_emergency_not_excluded` is on
//!    (default) — when the findings cannot exclude an emergency (SIRS not
//!    assessed, or wet gangrene not reported), flagged `INCOMPLETE`.
//! 3. Otherwise **routine**.
//!
//! Each urgency has a response-time target in hours (programme settings).

use crate::condition::Truth;
use crate::picture::picture;
use crate::rationale::{Flag, FlagKind, Rationale, RuleSource, SourceStatus};
use crate::rules::Priority;
use crate::settings::ProgrammeSettings;
use limbpath_clinical::InvalidInput;
use limbpath_record::{AmputationLevel, Date, Validate, check_text};
use serde::{Deserialize, Serialize};

/// What a referrer submits for a second opinion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralFindings {
    /// Findings in the `limbpath assess` input schema.
    pub findings: serde_json::Value,
    /// Wet (infected) gangrene, as the referrer reports it; absent when not reported.
    pub wet_gangrene: Option<bool>,
}

/// The triage of a referral.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Triage {
    pub urgency: Priority,
    /// The programme's response-time target for this urgency.
    pub respond_within_hours: u32,
    pub rationale: Rationale,
}

fn triage_source() -> RuleSource {
    RuleSource {
        citation: "LimbPath programme second-opinion triage policy: fI3, SIRS or wet gangrene → emergency; the urgent \
                   and routine thresholds and the response targets are programme settings"
            .to_owned(),
        reference: "not in the reference pack; the criteria are from REFERENCES.md §1.2 (ischaemia), §1.3 (fI, SIRS), \
                    §1.4 (stage), §7.1 (IWGDF/IDSA); wet gangrene is not defined there"
            .to_owned(),
        status: SourceStatus::ProgrammePolicy,
        note: "issue 5 (coordinated care)".to_owned(),
        criteria_sources: ["wifi.foot_infection", "iwgdf_idsa.infection", "wifi.ischaemia", "wifi.stage_matrix"]
            .map(str::to_owned)
            .to_vec(),
    }
}

/// Triage a second-opinion referral. Errors name the field (`findings.…`,
/// `settings.…`).
pub fn triage_referral(referral: &ReferralFindings, settings: &ProgrammeSettings) -> Result<Triage, InvalidInput> {
    settings.validate()?;
    let pic = picture(&referral.findings, "findings", "result")?;
    let s = &settings.referral;
    let mut r = Rationale::new(
        "emergency: fI3, ≥2 SIRS criteria or wet gangrene; otherwise urgent when a programme threshold is reached \
         (or an emergency cannot be excluded); otherwise routine",
        triage_source(),
    );
    r.flag(Flag::new(FlagKind::ProgrammePolicy, "referral triage is programme policy, not from the reference pack"));
    for fact in [&pic.wound, &pic.ischaemia, &pic.infection, &pic.stage].into_iter().flatten() {
        r.input(fact.field.clone(), fact.value);
        for f in &fact.flags {
            r.flag(f.clone());
        }
    }
    r.input("wet_gangrene", referral.wet_gangrene);

    let fi = pic.infection.as_ref().map(|f| f.value);
    let sirs = pic.sirs.as_ref().map(|f| f.value.clone());
    let mut emergency = Vec::new();
    if fi == Some(3) {
        emergency.push("foot infection fI3".to_owned());
    }
    if let Some(sirs) = sirs.as_ref().filter(|s| s.truth == Truth::Yes) {
        emergency.push(format!("systemic inflammation: {}", sirs.words));
    }
    if referral.wet_gangrene == Some(true) {
        emergency.push("wet gangrene reported".to_owned());
        r.flag(Flag::new(
            FlagKind::Review,
            "wet gangrene is the referrer's report; the reference pack does not define it: confirm on review",
        ));
    }
    let urgency = if !emergency.is_empty() {
        r.because.push(format!("{}: emergency", emergency.join("; ")));
        Priority::Emergency
    } else {
        r.because.push("no fI3, no systemic inflammation, no wet gangrene reported: not an emergency".to_owned());
        let mut urgent = Vec::new();
        let thresholds = [
            ("ischaemia", "urgent_ischaemia_grade_at_least", "I", &s.urgent_ischaemia_grade_at_least, &pic.ischaemia),
            (
                "foot infection",
                "urgent_foot_infection_grade_at_least",
                "fI",
                &s.urgent_foot_infection_grade_at_least,
                &pic.infection,
            ),
            ("WIfI stage", "urgent_wifi_stage_at_least", "", &s.urgent_wifi_stage_at_least, &pic.stage),
        ];
        for (what, name, prefix, setting, fact) in thresholds {
            r.setting(setting.used(&format!("referral.{name}")));
            if let Some(f) = fact
                && f.value >= setting.value
            {
                urgent.push(format!("{what} {prefix}{} ≥ {prefix}{} (programme setting)", f.value, setting.value));
            }
        }
        let mut not_excluded = Vec::new();
        if sirs.as_ref().is_none_or(|s| s.truth == Truth::Unknown) {
            not_excluded.push("SIRS not assessed");
        }
        if referral.wet_gangrene.is_none() {
            not_excluded.push("wet gangrene not reported");
        }
        let flag_incomplete = s.urgent_when_emergency_not_excluded;
        if !not_excluded.is_empty() {
            r.flag(Flag::new(
                FlagKind::Incomplete,
                format!("an emergency cannot be excluded: {}", not_excluded.join("; ")),
            ));
            r.setting(flag_incomplete.used("referral.urgent_when_emergency_not_excluded"));
            if flag_incomplete.value {
                urgent.push(format!("emergency not excluded ({})", not_excluded.join("; ")));
            }
        }
        if urgent.is_empty() {
            r.because.push("no urgent threshold reached: routine".to_owned());
            Priority::Routine
        } else {
            r.because.push(format!("{}: urgent", urgent.join("; ")));
            Priority::Urgent
        }
    };
    let targets = &s.respond_within;
    let (name, target) = match urgency {
        Priority::Emergency => ("emergency_hours", targets.emergency_hours),
        Priority::Urgent => ("urgent_hours", targets.urgent_hours),
        Priority::Routine => ("routine_hours", targets.routine_hours),
    };
    r.setting(target.used(&format!("referral.respond_within.{name}")));
    r.because.push(format!("{} referral: respond within {} hours (programme setting)", urgency.label(), target.value));
    Ok(Triage { urgency, respond_within_hours: target.value, rationale: r })
}

/// What the second-opinion review decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReviewDecision {
    /// Attempt limb salvage.
    LimbSalvageAttempt,
    /// Primary amputation at this level.
    PrimaryAmputation { level: AmputationLevel },
    /// Palliation.
    Palliation,
}

/// A review decision as recorded: the decision and its reasons (required).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewDecisionData {
    pub decision: ReviewDecision,
    /// Why, in the reviewer's words. Required.
    pub reasons: String,
    pub decided_on: Date,
    pub decided_by: String,
}

impl Validate for ReviewDecisionData {
    fn validate(&self) -> Result<(), InvalidInput> {
        check_text("reasons", &self.reasons, 8000, true)?;
        check_text("decided_by", &self.decided_by, 256, true)?;
        crate::check_date("decided_on", self.decided_on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::date;

    fn triage(findings: serde_json::Value, wet_gangrene: Option<bool>) -> Triage {
        triage_referral(&ReferralFindings { findings, wet_gangrene }, &ProgrammeSettings::shipped()).unwrap()
    }

    const SIRS_FOOT: &str = r#"{"infection": {"local_warmth": true, "purulent_discharge": true,
        "sirs": {"temperature_c": 38.6, "heart_rate_bpm": 104, "respiratory_rate_per_min": 18, "wbc_per_ul": 9000}}}"#;

    // Programme triage policy (issue 5); fI3/SIRS per REFERENCES.md §1.3, §7.1.
    #[test]
    fn fi3_sirs_or_wet_gangrene_is_an_emergency() {
        let t = triage(serde_json::from_str(SIRS_FOOT).unwrap(), Some(false));
        assert_eq!(t.urgency, Priority::Emergency);
        assert_eq!(t.respond_within_hours, 1);
        let t = triage(json!({"wound_grade": 1, "ischaemia_grade": 0, "infection_grade": 3}), Some(false));
        assert_eq!(t.urgency, Priority::Emergency);
        let t = triage(json!({"wound_grade": 1, "ischaemia_grade": 0, "infection_grade": 0}), Some(true));
        assert_eq!(t.urgency, Priority::Emergency);
        assert!(t.rationale.flags.iter().any(|f| f.kind == FlagKind::Review));
    }

    #[test]
    fn programme_thresholds_decide_urgent_or_routine() {
        // I2 reaches the default urgent threshold I2
        let t = triage(json!({"wound_grade": 1, "ischaemia_grade": 2, "infection_grade": 0}), Some(false));
        assert_eq!(t.urgency, Priority::Urgent);
        assert_eq!(t.respond_within_hours, 48);
        // W1 I0 fI1 is stage 1 (REFERENCES.md §1.4); fI1 excludes SIRS; no wet gangrene: routine
        let t = triage(json!({"wound_grade": 1, "ischaemia_grade": 0, "infection_grade": 1}), Some(false));
        assert_eq!(t.urgency, Priority::Routine);
        assert_eq!(t.respond_within_hours, 168);
        assert!(t.rationale.settings.iter().all(|s| s.note == "programme setting, not from the reference pack"));
        // a programme that raises the stage threshold to 4: W2 I0 fI0 (stage 2) stays routine either way
        let mut s = ProgrammeSettings::shipped();
        s.referral.urgent_wifi_stage_at_least = crate::settings::Setting::programme(2);
        let r = ReferralFindings {
            findings: json!({"wound_grade": 2, "ischaemia_grade": 0, "infection_grade": 0}),
            wet_gangrene: Some(false),
        };
        // fI0 given as a grade cannot exclude SIRS: urgent by default; the stage-2 threshold also reaches it
        assert_eq!(triage_referral(&r, &s).unwrap().urgency, Priority::Urgent);
        s.referral.urgent_when_emergency_not_excluded = crate::settings::Setting::programme(false);
        s.referral.urgent_wifi_stage_at_least = crate::settings::Setting::programme(4);
        assert_eq!(triage_referral(&r, &s).unwrap().urgency, Priority::Routine);
    }

    #[test]
    fn findings_that_cannot_exclude_an_emergency_are_urgent_and_flagged() {
        let t = triage(json!({"wound_grade": 1, "ischaemia_grade": 0, "infection_grade": 1}), None);
        assert_eq!(t.urgency, Priority::Urgent);
        assert!(t.rationale.flags.iter().any(|f| f.kind == FlagKind::Incomplete && f.message.contains("wet gangrene")));
        let t = triage(json!({}), Some(false));
        assert_eq!(t.urgency, Priority::Urgent);
    }

    #[test]
    fn review_decisions_need_reasons_and_use_the_record_amputation_levels() {
        let d = ReviewDecisionData {
            decision: ReviewDecision::PrimaryAmputation { level: AmputationLevel::Transtibial },
            reasons: "Non-reconstructable disease, W3 with extensive heel necrosis".into(),
            decided_on: date!(2026 - 03 - 01),
            decided_by: "Second-opinion panel".into(),
        };
        d.validate().unwrap();
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["decision"], json!({"kind": "primary_amputation", "level": "transtibial"}));
        assert_eq!(serde_json::from_value::<ReviewDecisionData>(v).unwrap(), d);
        let e = ReviewDecisionData { reasons: "  ".into(), ..d.clone() }.validate().unwrap_err();
        assert_eq!(e.field, "reasons");
        let e = ReviewDecisionData { decision: ReviewDecision::Palliation, decided_by: String::new(), ..d }
            .validate()
            .unwrap_err();
        assert_eq!(e.field, "decided_by");
        assert!(serde_json::from_value::<ReviewDecision>(json!({"kind": "primary_amputation"})).is_err());
        assert!(
            serde_json::from_value::<ReviewDecision>(json!({"kind": "primary_amputation", "level": "knee"})).is_err()
        );
    }

    #[test]
    fn invalid_findings_name_the_field() {
        let e = triage_referral(
            &ReferralFindings { findings: json!({"ischaemia_grade": 9}), wet_gangrene: None },
            &ProgrammeSettings::shipped(),
        )
        .unwrap_err();
        assert_eq!(e.field, "findings.ischaemia_grade");
    }
}
