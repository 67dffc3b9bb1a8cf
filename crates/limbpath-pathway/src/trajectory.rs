//! Wound trajectory watch: percent area reduction from the baseline (first)
//! measurement at set checkpoints.
//!
//! Checkpoints:
//! - **≥50 % by week 4** (day 28): GVG recommendation 6.9's "≥50 % area
//!   reduction within 4 weeks" (REFERENCES.md §2.3, VERIFIED). Always present.
//! - **≥90 % by week 8** (day 56): *not* in the reference pack. Shipped as a
//!   programme setting ([`ProgrammeSettings::programme_checkpoints`]), flagged
//!   `PROGRAMME_SETTING`, with no citation claimed. A programme may edit or
//!   remove it, or add others.
//!
//! Which measurement judges a checkpoint on day D (the reference gives no
//! window; the window widths are programme settings, default 7 and 7 days):
//! 1. the **latest** measurement from day D − before to day D (a reading "within"
//!    the weeks, the closest to the checkpoint);
//! 2. failing that, the **earliest** from day D + 1 to day D + after, flagged
//!    `MEASURED_LATE`;
//! 3. failing that: `awaiting_measurement` while the window is open (today ≤
//!    D + after), `no_measurement_in_window` once it has closed.
//!
//! Before day D the checkpoint is `not_yet_due`, whatever the readings so far
//! (a wound can regress). A wound healed on or before the end of the window
//! (and not after today) has met the checkpoint. Met means reduction ≥ the
//! target (50 % exactly is met). Measurements after today are ignored. Days
//! count from the baseline measurement's date; area is the measured area, or
//! length × width (`WoundMeasurementData::area`).

use crate::rationale::{Flag, FlagKind, Rationale, RuleSource, SourceStatus};
use crate::settings::{ProgrammeSettings, SettingOrigin};
use crate::{add_days, days_between};
use limbpath_clinical::InvalidInput;
use limbpath_clinical::explain::number;
use limbpath_record::{Date, Id, Validate, WoundData, WoundMeasurementData, percent_area_reduction};
use serde::Serialize;

/// Id of the reference checkpoint (GVG 6.9).
pub const GVG_6_9_CHECKPOINT_ID: &str = "area_50_by_week_4";
// source: Conte MS et al., Global Vascular Guidelines, J Vasc Surg 2019;69(6S):3S-125S (PMC8365864), rec 6.9 ("≥50 % area reduction within 4 weeks") | REFERENCES.md §2.3 | status: VERIFIED
/// GVG 6.9's "within 4 weeks", as days from the baseline measurement.
pub const GVG_6_9_DAY: u32 = 28;
// source: as above | REFERENCES.md §2.3 | status: VERIFIED
/// GVG 6.9's "≥50 % area reduction".
pub const GVG_6_9_MIN_AREA_REDUCTION_PERCENT: f64 = 50.0;

/// The source of the GVG 6.9 checkpoint.
pub fn gvg_6_9_source() -> RuleSource {
    RuleSource {
        citation: "Conte MS et al. Global Vascular Guidelines on CLTI, J Vasc Surg 2019;69(6S):3S-125S (PMC8365864), \
                   recommendation 6.9: the wound fails to improve (≥50 % area reduction within 4 weeks) despite good \
                   care and infection control"
            .to_owned(),
        reference: "REFERENCES.md §2.3".to_owned(),
        status: SourceStatus::Verified,
        note: "paraphrase in the reference pack; quote the guideline itself in the product".to_owned(),
        criteria_sources: Vec::new(),
    }
}

/// One checkpoint: reach at least this reduction by this day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checkpoint {
    pub id: String,
    /// Days after the baseline measurement.
    pub day: u32,
    pub min_area_reduction_percent: f64,
    pub source: RuleSource,
    /// `None` for the reference checkpoint; the setting's origin for a programme one.
    pub origin: Option<SettingOrigin>,
}

/// Every checkpoint: the reference one (GVG 6.9), then the programme's.
pub fn checkpoints(settings: &ProgrammeSettings) -> Vec<Checkpoint> {
    let mut out = vec![Checkpoint {
        id: GVG_6_9_CHECKPOINT_ID.to_owned(),
        day: GVG_6_9_DAY,
        min_area_reduction_percent: GVG_6_9_MIN_AREA_REDUCTION_PERCENT,
        source: gvg_6_9_source(),
        origin: None,
    }];
    out.extend(settings.programme_checkpoints.iter().map(|c| Checkpoint {
        id: c.id.clone(),
        day: c.day,
        min_area_reduction_percent: c.min_area_reduction_percent,
        source: RuleSource {
            citation: format!(
                "LimbPath programme setting: ≥{} % area reduction by day {}",
                number(c.min_area_reduction_percent),
                c.day
            ),
            reference: "not in the reference pack".to_owned(),
            status: SourceStatus::ProgrammePolicy,
            note: "REFERENCES.md has no such checkpoint; no citation is claimed".to_owned(),
            criteria_sources: Vec::new(),
        },
        origin: Some(c.origin),
    }));
    out
}

/// Where a wound stands at a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointStatus {
    /// The judging measurement reached the target (or the wound healed).
    Met,
    /// The judging measurement fell short of the target.
    Missed,
    /// Today is before the checkpoint day.
    NotYetDue,
    /// The checkpoint day has passed, the window is still open and no
    /// measurement has been taken in it yet.
    AwaitingMeasurement,
    /// The window closed with no measurement in it.
    NoMeasurementInWindow,
}

impl CheckpointStatus {
    pub fn label(self) -> &'static str {
        match self {
            CheckpointStatus::Met => "met",
            CheckpointStatus::Missed => "missed",
            CheckpointStatus::NotYetDue => "not yet due",
            CheckpointStatus::AwaitingMeasurement => "awaiting measurement",
            CheckpointStatus::NoMeasurementInWindow => "no measurement in window",
        }
    }
}

/// One checkpoint for one wound.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointResult {
    pub checkpoint_id: String,
    pub due_on: Date,
    pub window_from: Date,
    pub window_to: Date,
    pub min_area_reduction_percent: f64,
    pub status: CheckpointStatus,
    /// The measurement that judged it (or the healing date).
    pub measured_on: Option<Date>,
    pub area_cm2: Option<f64>,
    pub area_reduction_percent: Option<f64>,
    pub rationale: Rationale,
}

/// The baseline (first) measurement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Baseline {
    pub measured_on: Date,
    pub area_cm2: f64,
}

/// A wound's checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WoundTrajectory {
    pub wound_id: Id,
    pub baseline: Option<Baseline>,
    pub healed_on: Option<Date>,
    /// Empty when there is no usable baseline (see `note`).
    pub checkpoints: Vec<CheckpointResult>,
    /// Why there are no checkpoints, when there are none.
    pub note: Option<String>,
}

impl WoundTrajectory {
    /// The result for a checkpoint id, if the trajectory has one.
    pub fn checkpoint(&self, id: &str) -> Option<&CheckpointResult> {
        self.checkpoints.iter().find(|c| c.checkpoint_id == id)
    }
}

/// A wound's trajectory at `today`. `measurements` are this wound's (each is
/// validated and must name `wound_id`); their order does not matter.
pub fn wound_trajectory<'a>(
    wound_id: &str,
    wound: &WoundData,
    measurements: impl IntoIterator<Item = &'a WoundMeasurementData>,
    settings: &ProgrammeSettings,
    today: Date,
) -> Result<WoundTrajectory, InvalidInput> {
    settings.validate()?;
    wound.validate().map_err(|e| e.within("wound"))?;
    let mut sorted: Vec<&WoundMeasurementData> = Vec::new();
    for (i, m) in measurements.into_iter().enumerate() {
        m.validate().map_err(|e| e.within(&format!("measurements[{i}]")))?;
        if m.wound_id != wound_id {
            return Err(InvalidInput::inconsistent(
                format!("measurements[{i}].wound_id"),
                &m.wound_id,
                format!("measurements of wound {wound_id} only"),
            ));
        }
        sorted.push(m);
    }
    Ok(trajectory(wound_id, wound, sorted, settings, today))
}

/// The trajectory of validated measurements (the plan validates the snapshot first).
pub(crate) fn trajectory(
    wound_id: &str,
    wound: &WoundData,
    mut sorted: Vec<&WoundMeasurementData>,
    settings: &ProgrammeSettings,
    today: Date,
) -> WoundTrajectory {
    sorted.retain(|m| m.measured_on <= today);
    sorted.sort_by_key(|m| m.measured_on); // stable: same-day readings keep their order
    let healed_on = wound.healed_on.filter(|h| *h <= today);
    let mut out =
        WoundTrajectory { wound_id: wound_id.to_owned(), baseline: None, healed_on, checkpoints: vec![], note: None };
    let Some(first) = sorted.first() else {
        out.note = Some("no measurement yet: the trajectory starts at the first (baseline) measurement".to_owned());
        return out;
    };
    let baseline = Baseline { measured_on: first.measured_on, area_cm2: first.area() };
    out.baseline = Some(baseline);
    if percent_area_reduction(baseline.area_cm2, baseline.area_cm2).is_none() {
        out.note = Some(format!(
            "the baseline measurement of {} has an area of {} cm²: no percent reduction can be computed",
            baseline.measured_on,
            number(baseline.area_cm2)
        ));
        return out;
    }
    for c in checkpoints(settings) {
        if let Some(r) = judge(&c, baseline, healed_on, &sorted, settings, today) {
            out.checkpoints.push(r);
        }
    }
    out
}

/// One checkpoint. `None` only when a date falls off the calendar or the
/// baseline area is 0, both excluded before this is called (validated dates
/// are 1900–2200; `trajectory` checks the baseline).
fn judge(
    c: &Checkpoint,
    baseline: Baseline,
    healed_on: Option<Date>,
    sorted: &[&WoundMeasurementData],
    settings: &ProgrammeSettings,
    today: Date,
) -> Option<CheckpointResult> {
    let before = settings.checkpoint_window_before_days;
    let after = settings.checkpoint_window_after_days;
    let due_on = add_days(baseline.measured_on, i64::from(c.day))?;
    let window_from = add_days(due_on, -i64::from(before.value))?;
    let window_to = add_days(due_on, i64::from(after.value))?;
    let target = c.min_area_reduction_percent;
    let day = |d: Date| days_between(baseline.measured_on, d);
    let mut rationale = Rationale::new(
        format!(
            "≥{} % area reduction from the baseline measurement by day {} ({}); judged on the latest measurement \
             from day {} to day {}, else the earliest from day {} to day {} (flagged late)",
            number(target),
            c.day,
            due_on,
            day(window_from),
            c.day,
            c.day + 1,
            day(window_to),
        ),
        c.source.clone(),
    );
    rationale.setting(before.used("checkpoint_window_before_days"));
    rationale.setting(after.used("checkpoint_window_after_days"));
    if let Some(origin) = c.origin {
        rationale.flag(Flag::new(
            FlagKind::ProgrammeSetting,
            format!("checkpoint {} is a programme setting, not from the reference pack", c.id),
        ));
        rationale.setting(crate::rationale::SettingUsed {
            name: format!("programme_checkpoints.{}", c.id),
            value: serde_json::json!({"day": c.day, "min_area_reduction_percent": target}),
            origin,
            note: crate::settings::PROGRAMME_SETTING_NOTE.to_owned(),
        });
    }
    rationale.input("baseline.measured_on", baseline.measured_on);
    rationale.input("baseline.area_cm2", baseline.area_cm2);
    let mut result = CheckpointResult {
        checkpoint_id: c.id.clone(),
        due_on,
        window_from,
        window_to,
        min_area_reduction_percent: target,
        status: CheckpointStatus::NotYetDue,
        measured_on: None,
        area_cm2: None,
        area_reduction_percent: None,
        rationale,
    };
    let r = &mut result;
    if let Some(h) = healed_on.filter(|h| *h <= window_to) {
        r.status = CheckpointStatus::Met;
        r.measured_on = Some(h);
        r.area_cm2 = Some(0.0);
        r.area_reduction_percent = Some(100.0);
        r.rationale.input("healed_on", h);
        r.rationale.because.push(format!("healed on {h} (day {}), by the end of the window: met", day(h)));
        return Some(result);
    }
    if today < due_on {
        r.rationale.because.push(format!("today ({today}) is before day {} ({due_on}): not yet due", c.day));
        return Some(result);
    }
    let within = sorted.iter().rev().find(|m| m.measured_on >= window_from && m.measured_on <= due_on);
    let late = sorted.iter().find(|m| m.measured_on > due_on && m.measured_on <= window_to);
    let Some(m) = within.or(late) else {
        if today <= window_to {
            r.status = CheckpointStatus::AwaitingMeasurement;
            r.rationale.because.push(format!(
                "no measurement from day {} yet; the window is open until {window_to}: awaiting measurement",
                day(window_from)
            ));
        } else {
            r.status = CheckpointStatus::NoMeasurementInWindow;
            r.rationale.because.push(format!(
                "no measurement from {window_from} to {window_to} (days {} to {}): no measurement in window",
                day(window_from),
                day(window_to)
            ));
        }
        return Some(result);
    };
    let area = m.area();
    let reduction = percent_area_reduction(baseline.area_cm2, area)?;
    r.measured_on = Some(m.measured_on);
    r.area_cm2 = Some(area);
    r.area_reduction_percent = Some(reduction);
    r.rationale.input("measurement.measured_on", m.measured_on);
    r.rationale.input("measurement.area_cm2", area);
    r.rationale.input("area_reduction_percent", reduction);
    let met = reduction >= target;
    r.status = if met { CheckpointStatus::Met } else { CheckpointStatus::Missed };
    r.rationale.because.push(format!(
        "measurement of {} (day {}): {} cm² vs baseline {} cm² = {} % reduction {} {} %: {}",
        m.measured_on,
        day(m.measured_on),
        number(area),
        number(baseline.area_cm2),
        number(reduction),
        if met { "≥" } else { "<" },
        number(target),
        r.status.label()
    ));
    if m.measured_on > due_on {
        r.rationale.flag(Flag::new(
            FlagKind::MeasuredLate,
            format!(
                "no measurement from day {} to day {}; judged on the measurement of day {}, {} days after the \
                 checkpoint",
                day(window_from),
                c.day,
                day(m.measured_on),
                days_between(due_on, m.measured_on)
            ),
        ));
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const WOUND: &str = "0192f0c5-3b1e-7c2a-9f00-00000000a001";
    const EPISODE: &str = "0192f0c5-3b1e-7c2a-9f00-00000000e001";

    fn wound(healed_on: Option<Date>) -> WoundData {
        WoundData {
            episode_id: EPISODE.into(),
            location: limbpath_clinical::angiosome::WoundLocation::PlantarHeel,
            noted_on: date!(2026 - 01 - 01),
            description: String::new(),
            healed_on,
        }
    }

    fn m(on: Date, area: f64) -> WoundMeasurementData {
        WoundMeasurementData {
            wound_id: WOUND.into(),
            measured_on: on,
            length_cm: 1.0,
            width_cm: 1.0,
            depth_cm: None,
            area_cm2: Some(area),
        }
    }

    fn week4(ms: &[WoundMeasurementData], today: Date) -> CheckpointResult {
        let t = wound_trajectory(WOUND, &wound(None), ms, &ProgrammeSettings::shipped(), today).unwrap();
        t.checkpoint(GVG_6_9_CHECKPOINT_ID).unwrap().clone()
    }

    // Baseline 2026-01-05; day 28 = 2026-02-02; window 2026-01-26 .. 2026-02-09.
    const BASE: Date = date!(2026 - 01 - 05);

    #[test]
    fn a_wound_halved_by_week_4_meets_gvg_6_9_and_one_that_did_not_misses_it() {
        let met = week4(&[m(BASE, 10.0), m(date!(2026 - 02 - 01), 5.0)], date!(2026 - 02 - 03));
        assert_eq!(met.status, CheckpointStatus::Met);
        assert_eq!(met.area_reduction_percent, Some(50.0)); // (10 − 5) / 10 = 50 %, exactly the target
        assert_eq!(met.due_on, date!(2026 - 02 - 02));
        assert_eq!(met.rationale.source.reference, "REFERENCES.md §2.3");

        let missed = week4(&[m(BASE, 10.0), m(date!(2026 - 02 - 01), 5.1)], date!(2026 - 02 - 03));
        assert_eq!(missed.status, CheckpointStatus::Missed);
        assert!(missed.rationale.because[0].contains("49 % reduction < 50 %"), "{:?}", missed.rationale.because);
    }

    #[test]
    fn the_latest_reading_in_the_window_judges_not_an_earlier_better_one() {
        // day 20 (before the window) 80 %; day 22 70 %; day 27 40 %: day 27 judges -> missed
        let ms = [
            m(BASE, 10.0),
            m(date!(2026 - 01 - 25), 2.0),
            m(date!(2026 - 01 - 27), 3.0),
            m(date!(2026 - 02 - 01), 6.0),
        ];
        let r = week4(&ms, date!(2026 - 02 - 02));
        assert_eq!(r.measured_on, Some(date!(2026 - 02 - 01)));
        assert_eq!(r.status, CheckpointStatus::Missed);
        // a reading before the window (day 20) does not count at all
        let r = week4(&[m(BASE, 10.0), m(date!(2026 - 01 - 25), 2.0)], date!(2026 - 02 - 20));
        assert_eq!(r.status, CheckpointStatus::NoMeasurementInWindow);
    }

    #[test]
    fn a_late_reading_within_tolerance_judges_and_is_flagged() {
        let r = week4(
            &[m(BASE, 10.0), m(date!(2026 - 02 - 06), 4.0), m(date!(2026 - 02 - 08), 9.0)],
            date!(2026 - 02 - 10),
        );
        assert_eq!(r.measured_on, Some(date!(2026 - 02 - 06))); // the earliest late one
        assert_eq!(r.status, CheckpointStatus::Met);
        assert!(r.rationale.flags.iter().any(|f| f.kind == FlagKind::MeasuredLate));
    }

    #[test]
    fn statuses_before_during_and_after_the_window() {
        let ms = [m(BASE, 10.0), m(date!(2026 - 01 - 29), 3.0)];
        // day 24, measured already at 70 %: still not yet due (a wound can regress)
        assert_eq!(week4(&ms, date!(2026 - 01 - 29)).status, CheckpointStatus::NotYetDue);
        let only_baseline = [m(BASE, 10.0)];
        assert_eq!(week4(&only_baseline, date!(2026 - 02 - 01)).status, CheckpointStatus::NotYetDue);
        assert_eq!(week4(&only_baseline, date!(2026 - 02 - 02)).status, CheckpointStatus::AwaitingMeasurement);
        assert_eq!(week4(&only_baseline, date!(2026 - 02 - 09)).status, CheckpointStatus::AwaitingMeasurement);
        assert_eq!(week4(&only_baseline, date!(2026 - 02 - 10)).status, CheckpointStatus::NoMeasurementInWindow);
        // a measurement dated after today is not used
        let future = [m(BASE, 10.0), m(date!(2026 - 02 - 05), 1.0)];
        assert_eq!(week4(&future, date!(2026 - 02 - 03)).status, CheckpointStatus::AwaitingMeasurement);
        assert_eq!(week4(&future, date!(2026 - 02 - 05)).status, CheckpointStatus::Met);
    }

    #[test]
    fn a_healed_wound_has_met_its_checkpoints_and_a_zero_baseline_gives_none() {
        let ms = [m(BASE, 10.0)];
        let t = wound_trajectory(
            WOUND,
            &wound(Some(date!(2026 - 01 - 20))),
            &ms,
            &ProgrammeSettings::shipped(),
            date!(2026 - 03 - 30),
        )
        .unwrap();
        assert!(t.checkpoints.iter().all(|c| c.status == CheckpointStatus::Met));
        let t = wound_trajectory(
            WOUND,
            &wound(None),
            &[m(BASE, 0.0)],
            &ProgrammeSettings::shipped(),
            date!(2026 - 03 - 30),
        )
        .unwrap();
        assert!(t.checkpoints.is_empty() && t.note.as_deref().unwrap_or("").contains("0 cm²"));
        let t =
            wound_trajectory(WOUND, &wound(None), &[], &ProgrammeSettings::shipped(), date!(2026 - 03 - 30)).unwrap();
        assert!(t.baseline.is_none() && t.checkpoints.is_empty());
    }

    #[test]
    fn the_week_8_checkpoint_is_a_flagged_programme_setting_without_a_citation() {
        // day 56 = 2026-03-02; 92 % reduction on day 55
        let ms = [m(BASE, 10.0), m(date!(2026 - 03 - 01), 0.8)];
        let t =
            wound_trajectory(WOUND, &wound(None), &ms, &ProgrammeSettings::shipped(), date!(2026 - 03 - 02)).unwrap();
        let w8 = t.checkpoint(crate::settings::PROGRAMME_CHECKPOINT_WEEK_8).unwrap();
        assert_eq!(w8.status, CheckpointStatus::Met);
        assert_eq!(w8.rationale.source.status, SourceStatus::ProgrammePolicy);
        assert_eq!(w8.rationale.source.reference, "not in the reference pack");
        assert!(w8.rationale.flags.iter().any(|f| f.kind == FlagKind::ProgrammeSetting));
        assert!(w8.rationale.flags.iter().any(|f| f.kind == FlagKind::ShippedDefault));
        // 88 % misses 90 %
        let ms = [m(BASE, 10.0), m(date!(2026 - 03 - 01), 1.2)];
        let t =
            wound_trajectory(WOUND, &wound(None), &ms, &ProgrammeSettings::shipped(), date!(2026 - 03 - 02)).unwrap();
        assert_eq!(
            t.checkpoint(crate::settings::PROGRAMME_CHECKPOINT_WEEK_8).unwrap().status,
            CheckpointStatus::Missed
        );
    }

    #[test]
    fn measurements_of_another_wound_or_invalid_ones_are_errors_naming_the_field() {
        let mut other = m(BASE, 1.0);
        other.wound_id = EPISODE.into();
        let e = wound_trajectory(WOUND, &wound(None), &[m(BASE, 2.0), other], &ProgrammeSettings::shipped(), BASE)
            .unwrap_err();
        assert_eq!(e.field, "measurements[1].wound_id");
        let mut bad = m(BASE, 1.0);
        bad.length_cm = f64::NAN;
        let e = wound_trajectory(WOUND, &wound(None), &[bad], &ProgrammeSettings::shipped(), BASE).unwrap_err();
        assert_eq!(e.field, "measurements[0].length_cm");
    }
}
