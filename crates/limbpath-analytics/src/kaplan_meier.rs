//! Kaplan-Meier product-limit estimate with Greenwood variance and log(-log)
//! confidence intervals, computed the way lifelines' `KaplanMeierFitter`
//! computes them (its defaults), in one pass over the sorted cohort.

use crate::cohort::{Cohort, EVENT, GroupLabel};
use crate::distribution::two_sided_z;
use crate::error::{AnalyticsError, InvalidInput, Problem};
use serde::Serialize;

/// A reporting horizon: a time at which survival is read off the curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReportingHorizon {
    /// How a report names it ("1 year").
    pub label: &'static str,
    /// Days from time zero.
    pub days: f64,
}

/// The usual reporting horizons in days. These are calendar conventions, not
/// clinical thresholds: a year is 365 days (the synthetic benchmark cohort's
/// 5-year administrative censoring is 1825 days), six months is 182 days
/// (365 / 2 rounded down so that whole-day durations are compared on a whole
/// day), 30 days is the peri-operative window as usually written.
pub const STANDARD_HORIZONS: [ReportingHorizon; 5] = [
    ReportingHorizon { label: "30 days", days: 30.0 },
    ReportingHorizon { label: "6 months", days: 182.0 },
    ReportingHorizon { label: "1 year", days: 365.0 },
    ReportingHorizon { label: "2 years", days: 730.0 },
    ReportingHorizon { label: "5 years", days: 1825.0 },
];

/// The days of [`STANDARD_HORIZONS`], for [`KaplanMeierOptions::times`].
pub fn standard_horizon_days() -> Vec<f64> {
    STANDARD_HORIZONS.iter().map(|h| h.days).collect()
}

/// How a confidence interval was transformed before applying the normal
/// approximation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfidenceTransform {
    /// log(-log S) (Kalbfleisch & Prentice; lifelines' default for
    /// Kaplan-Meier, and for Aalen-Johansen applied to F). Bounds stay in [0, 1].
    LogMinusLog,
}

/// Options for [`kaplan_meier`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KaplanMeierOptions {
    /// 1 - confidence level; 0.05 gives 95% intervals.
    pub alpha: f64,
    /// Times (days) at which to report survival, its interval and the number
    /// at risk, in the order wanted (e.g. [`standard_horizon_days`]).
    pub times: Vec<f64>,
}

impl Default for KaplanMeierOptions {
    fn default() -> Self {
        KaplanMeierOptions { alpha: 0.05, times: Vec::new() }
    }
}

/// The estimate at one distinct event time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KaplanMeierStep {
    /// The event time (days).
    pub time: f64,
    /// Subjects with duration >= time.
    pub n_at_risk: u64,
    /// Events at this time.
    pub n_events: u64,
    /// Subjects censored at exactly this time (still at risk at it).
    pub n_censored: u64,
    /// S(time), the product of (1 - d/n) over event times <= time.
    pub survival: f64,
    /// Greenwood's variance of S(time): S² Σ d / (n (n - d)); a term with
    /// n = d counts 0, as in lifelines (S is then 0).
    pub greenwood_variance: f64,
    /// Lower confidence bound (log(-log) transform).
    pub ci_lower: f64,
    /// Upper confidence bound.
    pub ci_upper: f64,
    /// Index of this time in lifelines' timeline ({0} and every distinct
    /// duration, censored ones included), for the median interval's search.
    #[serde(skip)]
    timeline_index: usize,
}

/// Median survival and its confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MedianSurvival {
    /// The smallest event time with S(t) <= 0.5; absent when S stays above
    /// 0.5 (the median is not reached).
    pub time: Option<f64>,
    /// Where the lower confidence band reaches 0.5; absent when it does not.
    pub ci_lower: Option<f64>,
    /// Where the upper confidence band reaches 0.5; absent when it does not
    /// (the interval is open above).
    pub ci_upper: Option<f64>,
    /// The rule, in words.
    pub rule: &'static str,
}

const MEDIAN_RULE: &str = "median = smallest event time with S(t) <= 0.5; its interval = the times at which the \
     lower and upper log(-log) bands reach 0.5, found as lifelines' median_survival_times(confidence_interval_) finds \
     them (a binary search over every distinct duration, which is the first crossing when the band is non-increasing)";

/// Survival read off the curve at a caller-given time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurvivalAtTime {
    /// The time asked for (days).
    pub time: f64,
    /// S at the largest event time <= time (1 before the first event).
    pub survival: f64,
    /// Lower bound at that event time.
    pub ci_lower: f64,
    /// Upper bound at that event time.
    pub ci_upper: f64,
    /// Subjects with duration >= time.
    pub n_at_risk: u64,
}

/// A fitted Kaplan-Meier curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KaplanMeier {
    /// What was computed, in words, for the UI.
    pub method: String,
    /// The group this curve is for; absent for the whole cohort.
    pub group: Option<GroupLabel>,
    /// 1 - alpha.
    pub confidence_level: f64,
    /// The interval transform.
    pub ci_transform: ConfidenceTransform,
    /// Subjects in the curve.
    pub n_subjects: u64,
    /// Events (code 1).
    pub n_events: u64,
    /// Censored subjects (code 0).
    pub n_censored: u64,
    /// The estimate at every distinct event time, ascending.
    pub steps: Vec<KaplanMeierStep>,
    /// Median survival and its interval.
    pub median: MedianSurvival,
    /// The estimate at each of `options.times`, in the order given.
    pub at_times: Vec<SurvivalAtTime>,
}

impl KaplanMeier {
    /// S(t): the estimate at the largest event time <= t (1 before the first).
    pub fn survival_at(&self, t: f64) -> f64 {
        self.step_at(t).map_or(1.0, |s| s.survival)
    }

    fn step_at(&self, t: f64) -> Option<&KaplanMeierStep> {
        let n = self.steps.partition_point(|s| s.time <= t);
        n.checked_sub(1).map(|i| &self.steps[i])
    }
}

/// Fit one Kaplan-Meier curve to the whole cohort (groups ignored).
pub fn kaplan_meier(cohort: &Cohort, options: &KaplanMeierOptions) -> Result<KaplanMeier, AnalyticsError> {
    cohort.require_binary_events("Kaplan-Meier")?;
    let z = two_sided_z(options.alpha)?;
    check_times(&options.times)?;
    fit(cohort, None, z, options)
}

/// Fit one Kaplan-Meier curve per group, in the cohort's group order.
pub fn kaplan_meier_by_group(
    cohort: &Cohort,
    options: &KaplanMeierOptions,
) -> Result<Vec<KaplanMeier>, AnalyticsError> {
    cohort.require_binary_events("Kaplan-Meier")?;
    let z = two_sided_z(options.alpha)?;
    check_times(&options.times)?;
    if cohort.group_labels.is_empty() {
        return Err(InvalidInput::option("group", None, Problem::Missing, "a group for every subject").into());
    }
    (0..cohort.group_labels.len() as u32).map(|g| fit(cohort, Some(g), z, options)).collect()
}

pub(crate) fn check_times(times: &[f64]) -> Result<(), InvalidInput> {
    for (i, &t) in times.iter().enumerate() {
        if !t.is_finite() || t < 0.0 {
            return Err(InvalidInput::option(
                format!("options.times[{i}]"),
                Some(t.to_string()),
                if t.is_finite() { Problem::OutOfRange } else { Problem::NotANumber },
                "a finite number of days >= 0",
            ));
        }
    }
    Ok(())
}

/// lifelines' exponential-Greenwood (log(-log)) bounds: with v = ln S and
/// V = Σ d/(n(n-d)), lower = exp(-exp(ln(-v) - z √V / v)), upper with +.
/// Where the formula is 0/0 (S = 1) lifelines fills 1.0; at S = 0 both are 0.
pub(crate) fn log_minus_log_bounds(survival: f64, cumulative: f64, z: f64) -> (f64, f64) {
    let v = survival.ln();
    let spread = z * cumulative.sqrt() / v;
    let lower = (-(((-v).ln() - spread).exp())).exp();
    let upper = (-(((-v).ln() + spread).exp())).exp();
    (if lower.is_nan() { 1.0 } else { lower }, if upper.is_nan() { 1.0 } else { upper })
}

fn fit(
    cohort: &Cohort,
    group: Option<u32>,
    z: f64,
    options: &KaplanMeierOptions,
) -> Result<KaplanMeier, AnalyticsError> {
    let durations = &cohort.duration_days;
    let events = &cohort.event;
    let in_fit = |i: usize| group.is_none_or(|g| cohort.group[i] == g);
    let n_subjects: u64 = match group {
        None => (0..durations.len()).map(|i| cohort.count_of(i)).sum(),
        Some(g) => (0..durations.len()).filter(|&i| cohort.group[i] == g).map(|i| cohort.count_of(i)).sum(),
    };
    if n_subjects == 0 {
        return Err(AnalyticsError::not_estimable("Kaplan-Meier", "the cohort has no subjects"));
    }

    // Query times, resolved for "at risk" in ascending order during the pass.
    let mut query: Vec<usize> = (0..options.times.len()).collect();
    query.sort_by(|&a, &b| options.times[a].total_cmp(&options.times[b]));
    let mut at_risk_at = vec![0u64; options.times.len()];
    let mut next_query = 0;

    let mut steps = Vec::new();
    let mut at_risk = n_subjects;
    let mut survival = 1.0f64;
    let mut cumulative = 0.0f64;
    let (mut n_events, mut n_censored) = (0u64, 0u64);
    // lifelines' timeline starts at 0 whether or not a duration is 0.
    let mut timeline_index = 0usize;
    let mut first_block = true;

    let n = durations.len();
    let mut i = 0;
    while i < n {
        if !in_fit(i) {
            i += 1;
            continue;
        }
        let time = durations[i];
        let (mut d, mut removed) = (0u64, 0u64);
        while i < n && durations[i] == time {
            if in_fit(i) {
                let c = cohort.count_of(i);
                removed += c;
                d += c * u64::from(events[i] == EVENT);
            }
            i += 1;
        }
        while next_query < query.len() && options.times[query[next_query]] <= time {
            at_risk_at[query[next_query]] = at_risk;
            next_query += 1;
        }
        if !(first_block && time == 0.0) {
            timeline_index += 1;
        }
        first_block = false;
        if d > 0 {
            let nf = at_risk as f64;
            let df = d as f64;
            survival *= 1.0 - df / nf;
            if at_risk > d {
                cumulative += df / (nf * (nf - df));
            }
            let (ci_lower, ci_upper) = log_minus_log_bounds(survival, cumulative, z);
            steps.push(KaplanMeierStep {
                time,
                n_at_risk: at_risk,
                n_events: d,
                n_censored: removed - d,
                survival,
                greenwood_variance: survival * survival * cumulative,
                ci_lower,
                ci_upper,
                timeline_index,
            });
        }
        n_events += d;
        n_censored += removed - d;
        at_risk -= removed;
    }
    let timeline_len = timeline_index + 1;

    let at_times = options
        .times
        .iter()
        .zip(&at_risk_at)
        .map(|(&t, &n_at_risk)| {
            let k = steps.partition_point(|s| s.time <= t);
            let (survival, ci_lower, ci_upper) =
                k.checked_sub(1).map_or((1.0, 1.0, 1.0), |k| (steps[k].survival, steps[k].ci_lower, steps[k].ci_upper));
            SurvivalAtTime { time: t, survival, ci_lower, ci_upper, n_at_risk }
        })
        .collect();

    let median = MedianSurvival {
        time: steps.iter().find(|s| s.survival <= 0.5).map(|s| s.time),
        ci_lower: band_crossing(&steps, timeline_len, |s| s.ci_lower),
        ci_upper: band_crossing(&steps, timeline_len, |s| s.ci_upper),
        rule: MEDIAN_RULE,
    };
    let confidence_level = 1.0 - options.alpha;
    Ok(KaplanMeier {
        method: format!(
            "Kaplan-Meier product-limit estimate, Greenwood variance, log(-log) {}% confidence interval",
            percent(confidence_level)
        ),
        group: group.map(|g| cohort.group_labels[g as usize].clone()),
        confidence_level,
        ci_transform: ConfidenceTransform::LogMinusLog,
        n_subjects,
        n_events,
        n_censored,
        steps,
        median,
        at_times,
    })
}

/// lifelines `qth_survival_time(0.5, band)`: `band.index[(-band).searchsorted([-0.5])[0]]`
/// over the full timeline, after returning "not reached" when the band's last
/// value is above 0.5. numpy's searchsorted is a binary search, reproduced
/// here over the virtual timeline (the band is constant between event steps).
fn band_crossing(
    steps: &[KaplanMeierStep],
    timeline_len: usize,
    band: impl Fn(&KaplanMeierStep) -> f64,
) -> Option<f64> {
    let value_at = |k: usize| {
        let last = steps.partition_point(|s| s.timeline_index <= k);
        last.checked_sub(1).map_or(1.0, |j| band(&steps[j]))
    };
    if value_at(timeline_len - 1) > 0.5 {
        return None;
    }
    let (mut lo, mut hi) = (0usize, timeline_len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if -value_at(mid) < -0.5 {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    // The value changes between lo - 1 and lo, so lo is an event step.
    steps.iter().find(|s| s.timeline_index >= lo).map(|s| s.time)
}

pub(crate) fn percent(level: f64) -> String {
    let p = level * 100.0;
    let rounded = (p * 1e6).round() / 1e6;
    format!("{rounded}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cohort::{CohortBuilder, Subject};

    fn cohort(rows: &[(f64, u8)]) -> Cohort {
        let mut b = CohortBuilder::new();
        for &(d, e) in rows {
            b.push(Subject { duration_days: d, event: e, covariates: &[] }, None).unwrap();
        }
        b.build().unwrap()
    }

    // Hand derivation. Durations 1,2+,3,3,3+,4,5+,6 (+ = censored), n = 8:
    // t=1: n=8 d=1 -> S = 7/8
    // t=3: n=6 d=2 -> S = 7/8 * 4/6 = 7/12
    // t=4: n=3 d=1 -> S = 7/12 * 2/3 = 7/18
    // t=6: n=1 d=1 -> S = 0
    // Greenwood sum at t=3: 1/(8*7) + 2/(6*4) = 1/56 + 1/12.
    fn small() -> Cohort {
        cohort(&[(3.0, 1), (1.0, 1), (2.0, 0), (3.0, 1), (3.0, 0), (4.0, 1), (5.0, 0), (6.0, 1)])
    }

    #[test]
    fn product_limit_by_hand() {
        let km = kaplan_meier(&small(), &KaplanMeierOptions::default()).unwrap();
        let s: Vec<(f64, u64, u64, u64, f64)> =
            km.steps.iter().map(|s| (s.time, s.n_at_risk, s.n_events, s.n_censored, s.survival)).collect();
        let expect =
            [(1.0, 8, 1, 0, 7.0 / 8.0), (3.0, 6, 2, 1, 7.0 / 12.0), (4.0, 3, 1, 0, 7.0 / 18.0), (6.0, 1, 1, 0, 0.0)];
        assert_eq!(s.len(), expect.len());
        for (got, want) in s.iter().zip(expect) {
            assert_eq!((got.0, got.1, got.2, got.3), (want.0, want.1, want.2, want.3));
            assert!((got.4 - want.4).abs() < 1e-15, "{got:?} vs {want:?}");
        }
        let v = (7.0f64 / 12.0).powi(2) * (1.0 / 56.0 + 1.0 / 12.0);
        assert!((km.steps[1].greenwood_variance - v).abs() < 1e-15);
        // n = d at t = 6: the term counts 0 (lifelines), S = 0, bounds 0.
        assert_eq!((km.steps[3].greenwood_variance, km.steps[3].ci_lower, km.steps[3].ci_upper), (0.0, 0.0, 0.0));
        assert_eq!((km.n_subjects, km.n_events, km.n_censored), (8, 5, 3));
        // median: first S <= 0.5 is 7/18 at t = 4.
        assert_eq!(km.median.time, Some(4.0));
        assert_eq!(km.survival_at(3.5), 7.0 / 12.0);
        assert_eq!(km.survival_at(0.5), 1.0);
    }

    #[test]
    fn log_minus_log_interval_by_hand() {
        // S = 7/8, V = 1/56, z = 1.959963984540054 (scipy norm.ppf(0.975)).
        let km = kaplan_meier(&small(), &KaplanMeierOptions::default()).unwrap();
        let (s, v, z) = (7.0f64 / 8.0, 1.0f64 / 56.0, 1.959963984540054f64);
        let se = v.sqrt() / s.ln().abs();
        let lower = s.powf((z * se).exp());
        let upper = s.powf((-z * se).exp());
        assert!((km.steps[0].ci_lower - lower).abs() < 1e-14, "{} vs {lower}", km.steps[0].ci_lower);
        assert!((km.steps[0].ci_upper - upper).abs() < 1e-14);
        assert!(lower < s && s < upper);
    }

    #[test]
    fn at_times_read_the_step_and_count_at_risk() {
        let opts = KaplanMeierOptions { alpha: 0.05, times: vec![3.0, 0.0, 2.5, 10.0] };
        let km = kaplan_meier(&small(), &opts).unwrap();
        let got: Vec<(f64, u64)> = km.at_times.iter().map(|a| (a.survival, a.n_at_risk)).collect();
        assert_eq!(got, vec![(7.0 / 12.0, 6), (1.0, 8), (7.0 / 8.0, 6), (0.0, 0)]);
    }

    #[test]
    fn median_not_reached_and_no_events() {
        let km = kaplan_meier(&cohort(&[(1.0, 1), (2.0, 0), (3.0, 0)]), &KaplanMeierOptions::default()).unwrap();
        assert_eq!(km.median.time, None);
        let km = kaplan_meier(&cohort(&[(1.0, 0), (2.0, 0)]), &KaplanMeierOptions::default()).unwrap();
        assert!(km.steps.is_empty());
        assert_eq!((km.median.time, km.median.ci_lower, km.median.ci_upper), (None, None, None));
        assert!(kaplan_meier(&cohort(&[]), &KaplanMeierOptions::default()).is_err());
    }

    #[test]
    fn options_are_checked() {
        let bad = KaplanMeierOptions { alpha: 1.5, times: vec![] };
        assert!(kaplan_meier(&small(), &bad).is_err());
        let bad = KaplanMeierOptions { alpha: 0.05, times: vec![1.0, f64::NAN] };
        match kaplan_meier(&small(), &bad) {
            Err(AnalyticsError::InvalidInput(e)) => assert_eq!(e.field, "options.times[1]"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn horizons_are_the_documented_day_counts() {
        assert_eq!(standard_horizon_days(), vec![30.0, 182.0, 365.0, 730.0, 1825.0]);
    }
}
