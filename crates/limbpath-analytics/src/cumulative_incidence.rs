//! Aalen-Johansen cumulative incidence of one event type in the presence of
//! competing events, with the variance and log(-log) interval lifelines'
//! `AalenJohansenFitter` reports (Collett, Modelling Survival Data in Medical
//! Research, 3rd ed., p. 411: a Greenwood-type delta-method variance).
//!
//! Ties: the Aalen-Johansen estimator is defined for tied event times of
//! different types (all events at t leave the risk set together, the
//! increment is S(t-) d_k / n). lifelines instead jitters tied event times of
//! different types at random before fitting. This crate does not jitter; its
//! fixtures are computed with lifelines' formulas on the unjittered data (see
//! `fixtures/make_fixtures.py`).
//!
//! Time zero: an event of interest at duration 0 counts here (S(0-) = 1).
//! lifelines multiplies it by a lagged survival that is NaN on its first row
//! and drops it from F (its variance still counts it); the fixtures have no
//! duration 0.

use crate::cohort::{CENSORED, Cohort, GroupLabel};
use crate::distribution::two_sided_z;
use crate::error::{AnalyticsError, InvalidInput, Problem};
use crate::kaplan_meier::{ConfidenceTransform, check_times, percent};
use serde::Serialize;

/// Options for [`cumulative_incidence`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CumulativeIncidenceOptions {
    /// The event code whose incidence is estimated (1 by default); every
    /// other non-zero code is a competing event.
    pub event_of_interest: u8,
    /// 1 - confidence level; 0.05 gives 95% intervals.
    pub alpha: f64,
    /// Times (days) at which to report the incidence and the number at risk.
    pub times: Vec<f64>,
}

impl Default for CumulativeIncidenceOptions {
    fn default() -> Self {
        CumulativeIncidenceOptions { event_of_interest: 1, alpha: 0.05, times: Vec::new() }
    }
}

/// The estimate at one time with any event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CumulativeIncidenceStep {
    /// The event time (days).
    pub time: f64,
    /// Subjects with duration >= time.
    pub n_at_risk: u64,
    /// Events of interest at this time.
    pub n_events_of_interest: u64,
    /// Competing events at this time.
    pub n_competing_events: u64,
    /// Subjects censored at exactly this time.
    pub n_censored: u64,
    /// F(time) = Σ over event times <= time of S(t-) d_k / n, S the all-cause
    /// Kaplan-Meier estimate.
    pub cumulative_incidence: f64,
    /// Var F(time); absent where it is undefined (all remaining subjects
    /// have an event at the last time).
    pub variance: Option<f64>,
    /// Lower log(-log) bound; absent where F = 0 or the variance is undefined.
    pub ci_lower: Option<f64>,
    /// Upper bound; absent likewise.
    pub ci_upper: Option<f64>,
}

/// The incidence read off the curve at a caller-given time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidenceAtTime {
    /// The time asked for (days).
    pub time: f64,
    /// F at the largest event time <= time (0 before the first).
    pub cumulative_incidence: f64,
    /// Lower bound at that event time.
    pub ci_lower: Option<f64>,
    /// Upper bound at that event time.
    pub ci_upper: Option<f64>,
    /// Subjects with duration >= time.
    pub n_at_risk: u64,
}

/// A fitted cumulative incidence curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CumulativeIncidence {
    /// What was computed, in words, for the UI.
    pub method: String,
    /// The group this curve is for; absent for the whole cohort.
    pub group: Option<GroupLabel>,
    /// The event code estimated.
    pub event_of_interest: u8,
    /// 1 - alpha.
    pub confidence_level: f64,
    /// The interval transform (applied to F).
    pub ci_transform: ConfidenceTransform,
    /// Subjects in the curve.
    pub n_subjects: u64,
    /// Events of interest.
    pub n_events_of_interest: u64,
    /// Competing events (any other non-zero code).
    pub n_competing_events: u64,
    /// Censored subjects.
    pub n_censored: u64,
    /// The estimate at every time with an event of any type, ascending.
    pub steps: Vec<CumulativeIncidenceStep>,
    /// The estimate at each of `options.times`, in the order given.
    pub at_times: Vec<IncidenceAtTime>,
}

/// Estimate the cumulative incidence of `options.event_of_interest` in the
/// whole cohort (groups ignored).
pub fn cumulative_incidence(
    cohort: &Cohort,
    options: &CumulativeIncidenceOptions,
) -> Result<CumulativeIncidence, AnalyticsError> {
    let z = check(options)?;
    fit(cohort, None, z, options)
}

/// Estimate the cumulative incidence per group, in the cohort's group order.
pub fn cumulative_incidence_by_group(
    cohort: &Cohort,
    options: &CumulativeIncidenceOptions,
) -> Result<Vec<CumulativeIncidence>, AnalyticsError> {
    let z = check(options)?;
    if cohort.group_labels.is_empty() {
        return Err(InvalidInput::option("group", None, Problem::Missing, "a group for every subject").into());
    }
    (0..cohort.group_labels.len() as u32).map(|g| fit(cohort, Some(g), z, options)).collect()
}

fn check(options: &CumulativeIncidenceOptions) -> Result<f64, AnalyticsError> {
    if options.event_of_interest == CENSORED {
        return Err(InvalidInput::option(
            "options.event_of_interest",
            Some("0".into()),
            Problem::OutOfRange,
            "an event code from 1 to 255 (0 means censored)",
        )
        .into());
    }
    check_times(&options.times)?;
    Ok(two_sided_z(options.alpha)?)
}

fn fit(
    cohort: &Cohort,
    group: Option<u32>,
    z: f64,
    options: &CumulativeIncidenceOptions,
) -> Result<CumulativeIncidence, AnalyticsError> {
    let durations = &cohort.duration_days;
    let events = &cohort.event;
    let interest = options.event_of_interest;
    let in_fit = |i: usize| group.is_none_or(|g| cohort.group[i] == g);
    let n_subjects: u64 = match group {
        None => (0..durations.len()).map(|i| cohort.count_of(i)).sum(),
        Some(g) => (0..durations.len()).filter(|&i| cohort.group[i] == g).map(|i| cohort.count_of(i)).sum(),
    };
    if n_subjects == 0 {
        return Err(AnalyticsError::not_estimable("Aalen-Johansen cumulative incidence", "the cohort has no subjects"));
    }
    let mut query: Vec<usize> = (0..options.times.len()).collect();
    query.sort_by(|&a, &b| options.times[a].total_cmp(&options.times[b]));
    let mut at_risk_at = vec![0u64; options.times.len()];
    let mut next_query = 0;

    let mut steps = Vec::new();
    let mut at_risk = n_subjects;
    let mut survival = 1.0f64; // all-cause KM, S(t-) before each block
    let mut incidence = 0.0f64;
    // lifelines' prefix sums: Σ a (x - b)², Σ a (x - b) kept as polynomials in x.
    let (mut q_const, mut q_lin, mut q_quad) = (0.0f64, 0.0f64, 0.0f64);
    let (mut l_const, mut l_lin) = (0.0f64, 0.0f64);
    let mut second = 0.0f64;
    let (mut n_interest, mut n_competing, mut n_censored) = (0u64, 0u64, 0u64);

    let n = durations.len();
    let mut i = 0;
    while i < n {
        if !in_fit(i) {
            i += 1;
            continue;
        }
        let time = durations[i];
        let (mut dk, mut dother, mut removed) = (0u64, 0u64, 0u64);
        while i < n && durations[i] == time {
            if in_fit(i) {
                let c = cohort.count_of(i);
                removed += c;
                let e = events[i];
                if e == interest {
                    dk += c;
                } else if e != CENSORED {
                    dother += c;
                }
            }
            i += 1;
        }
        while next_query < query.len() && options.times[query[next_query]] <= time {
            at_risk_at[query[next_query]] = at_risk;
            next_query += 1;
        }
        let d = dk + dother;
        if d > 0 {
            let nf = at_risk as f64;
            let (df, dkf) = (d as f64, dk as f64);
            let lag = survival;
            incidence += dkf / nf * lag;
            let f_t = incidence;
            // Order of operations as lifelines 0.30 `AalenJohansenFitter._bounds`.
            let a = df / nf / (nf - df);
            q_const += a * (f_t * f_t);
            q_lin -= 2.0 * a * f_t;
            q_quad += a;
            second += (lag * lag) * dkf * (nf - dkf) / (nf * nf * nf);
            let a3 = lag * dkf / (nf * nf);
            l_const -= a3 * f_t;
            l_lin += a3;
            let variance = (q_const + q_lin * f_t + q_quad * (f_t * f_t)) + second - 2.0 * (l_const + l_lin * f_t);
            let transformed = (-(f_t.ln())).ln();
            let se = variance.sqrt() / (f_t * f_t.ln().abs());
            let lower = (-((transformed + z * se).exp())).exp();
            let upper = (-((transformed - z * se).exp())).exp();
            survival *= 1.0 - df / nf;
            steps.push(CumulativeIncidenceStep {
                time,
                n_at_risk: at_risk,
                n_events_of_interest: dk,
                n_competing_events: dother,
                n_censored: removed - d,
                cumulative_incidence: f_t,
                variance: finite(variance),
                ci_lower: finite(lower),
                ci_upper: finite(upper),
            });
        }
        n_interest += dk;
        n_competing += dother;
        n_censored += removed - d;
        at_risk -= removed;
    }
    let at_times = options
        .times
        .iter()
        .zip(&at_risk_at)
        .map(|(&t, &n_at_risk)| {
            let k = steps.partition_point(|s| s.time <= t);
            let (cumulative_incidence, ci_lower, ci_upper) = k
                .checked_sub(1)
                .map_or((0.0, None, None), |k| (steps[k].cumulative_incidence, steps[k].ci_lower, steps[k].ci_upper));
            IncidenceAtTime { time: t, cumulative_incidence, ci_lower, ci_upper, n_at_risk }
        })
        .collect();
    let confidence_level = 1.0 - options.alpha;
    Ok(CumulativeIncidence {
        method: format!(
            "Aalen-Johansen cumulative incidence of event {interest} with competing events (no jitter of ties), \
             Greenwood-type delta-method variance (Collett), log(-log) {}% confidence interval",
            percent(confidence_level)
        ),
        group: group.map(|g| cohort.group_labels[g as usize].clone()),
        event_of_interest: interest,
        confidence_level,
        ci_transform: ConfidenceTransform::LogMinusLog,
        n_subjects,
        n_events_of_interest: n_interest,
        n_competing_events: n_competing,
        n_censored,
        steps,
        at_times,
    })
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cohort::{CohortBuilder, Subject};
    use crate::kaplan_meier::{KaplanMeierOptions, kaplan_meier};

    fn cohort(rows: &[(f64, u8)]) -> Cohort {
        let mut b = CohortBuilder::new();
        for &(d, e) in rows {
            b.push(Subject { duration_days: d, event: e, covariates: &[] }, None).unwrap();
        }
        b.build().unwrap()
    }

    #[test]
    fn incidence_by_hand_with_a_tie_across_causes() {
        // 1:cause1, 2:cause2, 2:cause1, 3:censored, 4:cause1, 5:censored; n = 6.
        // t=1: n=6, S-=1,        F = 1/6
        // t=2: n=5, S- = 5/6,    F = 1/6 + (1/5)(5/6) = 1/3, S = 5/6 * 3/5 = 1/2
        // t=4: n=2, S- = 1/2,    F = 1/3 + (1/2)(1/2) = 7/12
        let c = cohort(&[(1.0, 1), (2.0, 2), (2.0, 1), (3.0, 0), (4.0, 1), (5.0, 0)]);
        let f = cumulative_incidence(&c, &CumulativeIncidenceOptions::default()).unwrap();
        let got: Vec<(f64, f64)> = f.steps.iter().map(|s| (s.time, s.cumulative_incidence)).collect();
        let want = [(1.0, 1.0 / 6.0), (2.0, 1.0 / 3.0), (4.0, 7.0 / 12.0)];
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.0, w.0);
            assert!((g.1 - w.1).abs() < 1e-15, "{g:?} {w:?}");
        }
        assert_eq!((f.n_events_of_interest, f.n_competing_events, f.n_censored), (3, 1, 2));
        // Variance at t=1 by the Collett formula: first and third terms vanish
        // (F_t - F_1 = 0), second = 1² * 1 * 5 / 6³.
        assert!((f.steps[0].variance.unwrap() - 5.0 / 216.0).abs() < 1e-15);
    }

    #[test]
    fn without_competing_events_incidence_is_one_minus_kaplan_meier() {
        let rows = [(1.0, 1), (2.0, 0), (3.0, 1), (3.0, 1), (5.0, 0), (6.0, 1), (7.0, 0)];
        let f = cumulative_incidence(&cohort(&rows), &CumulativeIncidenceOptions::default()).unwrap();
        let km = kaplan_meier(&cohort(&rows), &KaplanMeierOptions::default()).unwrap();
        assert_eq!(f.steps.len(), km.steps.len());
        for (a, b) in f.steps.iter().zip(&km.steps) {
            assert!((a.cumulative_incidence - (1.0 - b.survival)).abs() < 1e-15);
        }
    }

    #[test]
    fn undefined_values_are_absent_not_nan() {
        // Everyone left at the last time has an event: n = d, variance undefined.
        let f = cumulative_incidence(&cohort(&[(1.0, 2), (2.0, 1)]), &CumulativeIncidenceOptions::default()).unwrap();
        assert_eq!(f.steps[0].cumulative_incidence, 0.0);
        assert_eq!((f.steps[0].ci_lower, f.steps[0].ci_upper), (None, None));
        assert_eq!(f.steps[1].variance, None);
        let json = serde_json::to_string(&f).unwrap();
        assert!(!json.contains("NaN"));
    }

    #[test]
    fn event_of_interest_zero_is_refused() {
        let opts = CumulativeIncidenceOptions { event_of_interest: 0, ..Default::default() };
        assert!(cumulative_incidence(&cohort(&[(1.0, 1)]), &opts).is_err());
    }
}
