//! Programme settings: every number the care-plan rules, the wound watch, the
//! follow-up check and the referral triage need that the reference pack
//! (`shared/clinical/REFERENCES.md`) does not give.
//!
//! None of these is a clinical fact. Each has a documented shipped default,
//! labelled "programme setting, not from the reference pack", which the
//! programme edits (the server stores the edited settings as JSON). Every
//! setting remembers whether it is still the shipped default ([`SettingOrigin`]);
//! results that used a shipped default carry a `SHIPPED_DEFAULT` flag so a
//! clinician can see the programme has not decided it yet.

use crate::rationale::SettingUsed;
use limbpath_clinical::InvalidInput;
use serde::{Deserialize, Serialize};

/// The label every programme setting carries in results.
pub const PROGRAMME_SETTING_NOTE: &str = "programme setting, not from the reference pack";

/// Whether a setting is the value LimbPath ships or one the programme set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingOrigin {
    /// LimbPath's shipped default, not decided by the programme.
    ShippedDefault,
    /// Set by the programme.
    Programme,
}

/// One programme setting: its value and who set it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting<T> {
    pub value: T,
    pub origin: SettingOrigin,
}

impl<T: Copy + Serialize> Setting<T> {
    /// A shipped default.
    pub const fn shipped(value: T) -> Self {
        Setting { value, origin: SettingOrigin::ShippedDefault }
    }

    /// A value the programme set.
    pub const fn programme(value: T) -> Self {
        Setting { value, origin: SettingOrigin::Programme }
    }

    pub(crate) fn used(&self, name: &str) -> SettingUsed {
        SettingUsed {
            name: name.to_owned(),
            value: serde_json::to_value(self.value).unwrap_or(serde_json::Value::Null),
            origin: self.origin,
            note: PROGRAMME_SETTING_NOTE.to_owned(),
        }
    }
}

/// A wound-area checkpoint the programme adds to the one from the reference
/// pack (GVG 6.9's ≥50 % by week 4, see [`crate::trajectory`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeCheckpoint {
    /// Stable id that rules refer to, e.g. `area_90_by_week_8`.
    pub id: String,
    /// Days after the baseline (first) measurement.
    pub day: u32,
    /// The area reduction from baseline, in percent, the wound must reach (≥).
    pub min_area_reduction_percent: f64,
    pub origin: SettingOrigin,
}

/// Timings a rule can point at (`Due::Within`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// `vascular_imaging_within_days`.
    VascularImaging,
    /// `urgent_within_days`.
    Urgent,
    /// `routine_within_days`.
    Routine,
}

/// Response-time targets for second-opinion referrals, per urgency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseTargets {
    pub emergency_hours: Setting<u32>,
    pub urgent_hours: Setting<u32>,
    pub routine_hours: Setting<u32>,
}

/// How a second-opinion referral that is not an emergency is triaged.
/// (Emergency criteria are fixed: fI3, SIRS or wet gangrene; see
/// [`crate::referral`].)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralSettings {
    /// Urgent when the WIfI ischaemia grade is at least this.
    pub urgent_ischaemia_grade_at_least: Setting<u8>,
    /// Urgent when the WIfI foot-infection grade is at least this.
    pub urgent_foot_infection_grade_at_least: Setting<u8>,
    /// Urgent when the WIfI clinical stage is at least this.
    pub urgent_wifi_stage_at_least: Setting<u8>,
    /// Urgent (not routine) when the findings cannot exclude an emergency:
    /// SIRS not assessed, or wet gangrene not reported.
    pub urgent_when_emergency_not_excluded: Setting<bool>,
    pub respond_within: ResponseTargets,
}

/// Every programme setting. See [`ProgrammeSettings::shipped`] for the defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeSettings {
    /// HbA1c (%) above which the endocrinology rule fires (strictly above).
    pub hba1c_target_percent: Setting<f64>,
    /// "Vascular imaging within days" (ischaemia grade ≥2 with a wound).
    pub vascular_imaging_within_days: Setting<u32>,
    /// Due offset of urgent tasks that are not same-day.
    pub urgent_within_days: Setting<u32>,
    /// Due offset of routine tasks.
    pub routine_within_days: Setting<u32>,
    /// A wound checkpoint on day D is judged on a measurement from day
    /// D − this, up to D (the latest such)…
    pub checkpoint_window_before_days: Setting<u32>,
    /// …or, failing that, the earliest from D + 1 to D + this (flagged late).
    pub checkpoint_window_after_days: Setting<u32>,
    /// Checkpoints the programme adds to the reference one.
    pub programme_checkpoints: Vec<ProgrammeCheckpoint>,
    /// A follow-up visit not done by its due date is overdue; after this many
    /// more days it is missed.
    pub follow_up_grace_days: Setting<u32>,
    pub referral: ReferralSettings,
}

impl Default for ProgrammeSettings {
    fn default() -> Self {
        Self::shipped()
    }
}

/// Id of the shipped programme checkpoint (≥90 % by week 8).
pub const PROGRAMME_CHECKPOINT_WEEK_8: &str = "area_90_by_week_8";

impl ProgrammeSettings {
    /// The shipped defaults. Every value below is a programme setting, not
    /// from the reference pack; the reference pack was searched for each and
    /// is silent on all of them.
    pub fn shipped() -> Self {
        ProgrammeSettings {
            // programme setting, not from the reference pack: REFERENCES.md gives no HbA1c target
            // (§12.2 only asks for "blood-glucose control" before osseointegration).
            hba1c_target_percent: Setting::shipped(7.0),
            // programme setting, not from the reference pack: "within days" has no number in REFERENCES.md.
            vascular_imaging_within_days: Setting::shipped(3),
            // programme setting, not from the reference pack.
            urgent_within_days: Setting::shipped(2),
            // programme setting, not from the reference pack.
            routine_within_days: Setting::shipped(14),
            // programme setting, not from the reference pack: GVG 6.9 (§2.3) says "within 4 weeks" and
            // gives no measurement window.
            checkpoint_window_before_days: Setting::shipped(7),
            // programme setting, not from the reference pack.
            checkpoint_window_after_days: Setting::shipped(7),
            // programme setting, not from the reference pack: REFERENCES.md has no 8-week / 90 % checkpoint.
            programme_checkpoints: vec![ProgrammeCheckpoint {
                id: PROGRAMME_CHECKPOINT_WEEK_8.to_owned(),
                day: 56,
                min_area_reduction_percent: 90.0,
                origin: SettingOrigin::ShippedDefault,
            }],
            // programme setting, not from the reference pack.
            follow_up_grace_days: Setting::shipped(7),
            // programme settings, not from the reference pack: REFERENCES.md has no referral triage.
            referral: ReferralSettings {
                urgent_ischaemia_grade_at_least: Setting::shipped(2),
                urgent_foot_infection_grade_at_least: Setting::shipped(2),
                urgent_wifi_stage_at_least: Setting::shipped(3),
                urgent_when_emergency_not_excluded: Setting::shipped(true),
                respond_within: ResponseTargets {
                    emergency_hours: Setting::shipped(1),
                    urgent_hours: Setting::shipped(48),
                    routine_hours: Setting::shipped(168),
                },
            },
        }
    }

    /// The days a rule's `Due::Within` timing points at, and the setting used.
    pub(crate) fn timing(&self, timing: Timing) -> (u32, SettingUsed) {
        let (name, s) = match timing {
            Timing::VascularImaging => ("vascular_imaging_within_days", self.vascular_imaging_within_days),
            Timing::Urgent => ("urgent_within_days", self.urgent_within_days),
            Timing::Routine => ("routine_within_days", self.routine_within_days),
        };
        (s.value, s.used(name))
    }

    /// Check every setting is usable, naming the field (`settings.…`).
    pub fn validate(&self) -> Result<(), InvalidInput> {
        // Engineering bounds, not clinical: a due offset or window of more than
        // a year is a typo; HbA1c 3–20 % is an assay's reportable range (as in
        // limbpath-record).
        const MAX_DAYS: u32 = 366;
        let days = |field: &str, v: u32, min: u32| {
            if v < min || v > MAX_DAYS {
                Err(InvalidInput::out_of_range(field, v, format!("whole days from {min} to {MAX_DAYS}")))
            } else {
                Ok(())
            }
        };
        let hba1c = self.hba1c_target_percent.value;
        if !hba1c.is_finite() || !(3.0..=20.0).contains(&hba1c) {
            return Err(InvalidInput::out_of_range(
                "settings.hba1c_target_percent.value",
                hba1c,
                "an HbA1c in % (NGSP/DCCT) from 3 to 20",
            ));
        }
        days("settings.vascular_imaging_within_days.value", self.vascular_imaging_within_days.value, 0)?;
        days("settings.urgent_within_days.value", self.urgent_within_days.value, 0)?;
        days("settings.routine_within_days.value", self.routine_within_days.value, 0)?;
        days("settings.checkpoint_window_before_days.value", self.checkpoint_window_before_days.value, 0)?;
        days("settings.checkpoint_window_after_days.value", self.checkpoint_window_after_days.value, 0)?;
        days("settings.follow_up_grace_days.value", self.follow_up_grace_days.value, 0)?;
        let before = self.checkpoint_window_before_days.value;
        let mut ids = vec![crate::trajectory::GVG_6_9_CHECKPOINT_ID];
        for (i, c) in self.programme_checkpoints.iter().enumerate() {
            let field = format!("settings.programme_checkpoints[{i}]");
            crate::check_code(&format!("{field}.id"), &c.id)?;
            if ids.contains(&c.id.as_str()) {
                return Err(InvalidInput::inconsistent(format!("{field}.id"), &c.id, "a checkpoint id used once"));
            }
            ids.push(&c.id);
            days(&format!("{field}.day"), c.day, 1)?;
            if c.day <= before {
                return Err(InvalidInput::inconsistent(
                    format!("{field}.day"),
                    c.day,
                    format!(
                        "a checkpoint day after checkpoint_window_before_days ({before}), so its window starts after \
                         the baseline measurement"
                    ),
                ));
            }
            let p = c.min_area_reduction_percent;
            if !p.is_finite() || p <= 0.0 || p > 100.0 {
                return Err(InvalidInput::out_of_range(
                    format!("{field}.min_area_reduction_percent"),
                    p,
                    "a percentage above 0 and at most 100",
                ));
            }
        }
        if crate::trajectory::GVG_6_9_DAY <= before {
            return Err(InvalidInput::inconsistent(
                "settings.checkpoint_window_before_days.value",
                before,
                format!("fewer days than the GVG 6.9 checkpoint day ({})", crate::trajectory::GVG_6_9_DAY),
            ));
        }
        let r = &self.referral;
        for (field, v) in [
            ("urgent_ischaemia_grade_at_least", r.urgent_ischaemia_grade_at_least.value),
            ("urgent_foot_infection_grade_at_least", r.urgent_foot_infection_grade_at_least.value),
        ] {
            limbpath_clinical::limits::check_grade(&format!("settings.referral.{field}.value"), v, 0, 3)?;
        }
        limbpath_clinical::limits::check_grade(
            "settings.referral.urgent_wifi_stage_at_least.value",
            r.urgent_wifi_stage_at_least.value,
            1,
            5,
        )?;
        // Engineering bound: a response target longer than a year is a typo.
        for (field, v) in [
            ("emergency_hours", r.respond_within.emergency_hours.value),
            ("urgent_hours", r.respond_within.urgent_hours.value),
            ("routine_hours", r.respond_within.routine_hours.value),
        ] {
            if v == 0 || v > 8784 {
                return Err(InvalidInput::out_of_range(
                    format!("settings.referral.respond_within.{field}.value"),
                    v,
                    "whole hours from 1 to 8784 (a year)",
                ));
            }
        }
        let rw = &r.respond_within;
        if rw.emergency_hours.value > rw.urgent_hours.value || rw.urgent_hours.value > rw.routine_hours.value {
            return Err(InvalidInput::inconsistent(
                "settings.referral.respond_within",
                format!(
                    "emergency {} h, urgent {} h, routine {} h",
                    rw.emergency_hours.value, rw.urgent_hours.value, rw.routine_hours.value
                ),
                "targets no longer for a more urgent referral (emergency ≤ urgent ≤ routine)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_defaults_are_valid_labelled_and_not_marked_as_the_programmes() {
        let s = ProgrammeSettings::shipped();
        s.validate().unwrap();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["hba1c_target_percent"], serde_json::json!({"value": 7.0, "origin": "shipped_default"}));
        assert_eq!(json["programme_checkpoints"][0]["origin"], "shipped_default");
        let back: ProgrammeSettings = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
        let used = s.hba1c_target_percent.used("hba1c_target_percent");
        assert_eq!(used.note, "programme setting, not from the reference pack");
    }

    #[test]
    fn a_programme_edit_round_trips_and_bad_values_name_the_field() {
        let mut s = ProgrammeSettings::shipped();
        s.hba1c_target_percent = Setting::programme(8.0);
        let back: ProgrammeSettings = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back.hba1c_target_percent.origin, SettingOrigin::Programme);

        let cases: Vec<(crate::Edit<ProgrammeSettings>, &str)> = vec![
            (Box::new(|s| s.hba1c_target_percent.value = f64::NAN), "settings.hba1c_target_percent.value"),
            (Box::new(|s| s.routine_within_days.value = 400), "settings.routine_within_days.value"),
            (Box::new(|s| s.checkpoint_window_before_days.value = 28), "settings.checkpoint_window_before_days.value"),
            (Box::new(|s| s.programme_checkpoints[0].day = 0), "settings.programme_checkpoints[0].day"),
            (
                Box::new(|s| s.programme_checkpoints[0].min_area_reduction_percent = 120.0),
                "settings.programme_checkpoints[0].min_area_reduction_percent",
            ),
            (
                Box::new(|s| s.programme_checkpoints[0].id = crate::trajectory::GVG_6_9_CHECKPOINT_ID.into()),
                "settings.programme_checkpoints[0].id",
            ),
            (
                Box::new(|s| s.referral.urgent_ischaemia_grade_at_least.value = 4),
                "settings.referral.urgent_ischaemia_grade_at_least.value",
            ),
            (
                Box::new(|s| s.referral.respond_within.emergency_hours.value = 0),
                "settings.referral.respond_within.emergency_hours.value",
            ),
            (Box::new(|s| s.referral.respond_within.urgent_hours.value = 500), "settings.referral.respond_within"),
        ];
        for (edit, field) in cases {
            let mut s = ProgrammeSettings::shipped();
            edit(&mut s);
            assert_eq!(s.validate().unwrap_err().field, field);
        }
        assert!(serde_json::from_str::<ProgrammeSettings>(r#"{"hba1c_target_percent": 7}"#).is_err());
    }
}
