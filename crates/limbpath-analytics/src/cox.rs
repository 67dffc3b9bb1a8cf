//! Cox proportional hazards regression with Efron's handling of tied event
//! times, fitted by Newton-Raphson with step halving from β = 0, as R's
//! `survival::coxph(ties = "efron")` fits it.
//!
//! Each iteration is one pass from the longest duration down, keeping the
//! risk-set sums Σ r, Σ r x and Σ r x xᵀ (r = exp(β·x)) as running totals, and
//! applying Efron's correction within each block of tied event times.

use crate::cohort::{Cohort, EVENT};
use crate::distribution::{chi_square_upper_tail, normal_two_sided, two_sided_z};
use crate::error::{AnalyticsError, InvalidInput, Problem};
use crate::kaplan_meier::percent;
use serde::Serialize;

const ESTIMATOR: &str = "Cox proportional hazards";

/// Options for [`cox_proportional_hazards`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoxOptions {
    /// 1 - confidence level of the hazard ratio intervals (0.05: 95%).
    pub alpha: f64,
    /// Newton-Raphson iterations before giving up (R's default is 20).
    pub max_iterations: u32,
    /// Also compute Harrell's concordance of the linear predictor (one more
    /// O(n log n) pass).
    pub concordance: bool,
}

impl Default for CoxOptions {
    fn default() -> Self {
        CoxOptions { alpha: 0.05, max_iterations: 30, concordance: true }
    }
}

/// One covariate's estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoxCoefficient {
    /// The covariate.
    pub name: String,
    /// β, the log hazard ratio per unit of the covariate.
    pub coefficient: f64,
    /// √ of the diagonal of the inverse information at β.
    pub standard_error: f64,
    /// exp(β).
    pub hazard_ratio: f64,
    /// exp(β - z se), the Wald interval's lower end.
    pub hazard_ratio_ci_lower: f64,
    /// exp(β + z se).
    pub hazard_ratio_ci_upper: f64,
    /// β / se.
    pub z: f64,
    /// Two-sided Wald p-value, 2 P(Z >= |z|).
    pub p_value: f64,
}

/// A chi-square test of all coefficients being 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChiSquareTest {
    /// The statistic.
    pub chi_square: f64,
    /// The number of coefficients.
    pub degrees_of_freedom: usize,
    /// P(χ² >= chi_square).
    pub p_value: f64,
}

/// Harrell's concordance of the linear predictor with survival, counted as R's
/// `concordance` counts it for a Cox model: a pair is comparable when the
/// shorter time is an event (a censored time tied with an event time counts as
/// longer); pairs with tied event times are not comparable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Concordance {
    /// Comparable pairs in which the shorter time has the higher risk.
    pub concordant: u64,
    /// Comparable pairs in which the shorter time has the lower risk.
    pub discordant: u64,
    /// Comparable pairs with equal risk (counted as half concordant).
    pub tied_risk: u64,
    /// (concordant + tied_risk / 2) / (concordant + discordant + tied_risk).
    pub concordance: f64,
}

/// A fitted Cox model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoxModel {
    /// What was computed, in words, for the UI.
    pub method: String,
    /// Subjects in the fit.
    pub n_subjects: u64,
    /// Events.
    pub n_events: u64,
    /// 1 - alpha.
    pub confidence_level: f64,
    /// One row per covariate, in the cohort's covariate order.
    pub coefficients: Vec<CoxCoefficient>,
    /// The inverse information matrix at β (row-major rows).
    pub variance_matrix: Vec<Vec<f64>>,
    /// Efron partial log-likelihood at β = 0.
    pub log_likelihood_null: f64,
    /// Efron partial log-likelihood at β.
    pub log_likelihood: f64,
    /// 2 (log L(β) - log L(0)).
    pub likelihood_ratio_test: ChiSquareTest,
    /// βᵀ I(β) β.
    pub wald_test: ChiSquareTest,
    /// U(0)ᵀ I(0)⁻¹ U(0), the score (log-rank) test.
    pub score_test: ChiSquareTest,
    /// Newton-Raphson iterations used.
    pub iterations: u32,
    /// False when the iteration limit was reached first (estimates then are
    /// the last iterate and should not be reported as converged; a
    /// coefficient running off to infinity, monotone likelihood, looks so).
    pub converged: bool,
    /// Harrell's concordance, when asked for.
    pub concordance: Option<Concordance>,
}

/// Fit a Cox model on all the cohort's covariates.
pub fn cox_proportional_hazards(cohort: &Cohort, options: &CoxOptions) -> Result<CoxModel, AnalyticsError> {
    cohort.require_binary_events("Cox regression")?;
    if cohort.is_aggregated() {
        return Err(InvalidInput::option(
            "subjects",
            Some(format!("{} rows standing for {} subjects", cohort.rows(), cohort.len())),
            Problem::Inconsistent,
            "one row per subject (parse the CSV with parse_cohort_csv, not the counting reader)",
        )
        .into());
    }
    let z_alpha = two_sided_z(options.alpha)?;
    let p = cohort.covariate_names.len();
    if p == 0 {
        return Err(InvalidInput::option(
            "covariate_names",
            None,
            Problem::Missing,
            "at least one covariate (Cohort::with_group_indicators codes groups as covariates)",
        )
        .into());
    }
    let n = cohort.len();
    let n_events = cohort.event.iter().filter(|&&e| e == EVENT).count() as u64;
    if n_events == 0 {
        return Err(AnalyticsError::not_estimable(ESTIMATOR, "the cohort has no events"));
    }
    // Centre the covariates (R does too): the likelihood is unchanged, exp() stays in range.
    let mut mean = vec![0.0; p];
    let mut lo = vec![f64::INFINITY; p];
    let mut hi = vec![f64::NEG_INFINITY; p];
    for i in 0..n {
        for (j, &x) in cohort.covariate_row(i).iter().enumerate() {
            mean[j] += x;
            lo[j] = lo[j].min(x);
            hi[j] = hi[j].max(x);
        }
    }
    for j in 0..p {
        mean[j] /= n as f64;
        if lo[j] == hi[j] {
            return Err(AnalyticsError::not_estimable(
                ESTIMATOR,
                format!("covariate {} is constant ({}) in this cohort", cohort.covariate_names[j], lo[j]),
            ));
        }
    }
    let mut work = Workspace::new(p);
    let mut beta = vec![0.0; p];
    let mut current = work.evaluate(cohort, &mean, &beta);
    let log_likelihood_null = current.log_likelihood;
    let not_singular = || {
        AnalyticsError::not_estimable(
            ESTIMATOR,
            "the information matrix is singular: some covariates are collinear, or constant among subjects at risk",
        )
    };
    let null_factor = cholesky(&current.information, p).ok_or_else(not_singular)?;
    let score_chi = dot(&current.score, &cholesky_solve(&null_factor, &current.score, p));

    // Rounding in sums over n subjects bounds how well two log-likelihoods can be
    // compared: a "decrease" smaller than that is not a reason to halve the step.
    let rounding = |ll: f64| n as f64 * f64::EPSILON * ll.abs();
    let mut iterations = 0;
    let mut converged = false;
    let mut factor = null_factor;
    while iterations < options.max_iterations {
        iterations += 1;
        let step = cholesky_solve(&factor, &current.score, p);
        // Newton decrement Uᵀ I⁻¹ U = stepᵀ I step: the step's size in standard-error units, squared.
        let decrement = dot(&current.score, &step);
        let mut candidate: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + s).collect();
        let mut next = work.evaluate(cohort, &mean, &candidate);
        let mut halvings = 0;
        while (next.log_likelihood.is_nan()
            || next.log_likelihood < current.log_likelihood - rounding(current.log_likelihood))
            && halvings < 60
        {
            halvings += 1;
            for (c, b) in candidate.iter_mut().zip(&beta) {
                *c = (*c + b) / 2.0;
            }
            next = work.evaluate(cohort, &mean, &candidate);
        }
        if !next.log_likelihood.is_finite() {
            return Err(AnalyticsError::not_estimable(ESTIMATOR, "the partial likelihood overflowed"));
        }
        let change = (next.log_likelihood - current.log_likelihood).abs();
        beta = candidate;
        current = next;
        factor = cholesky(&current.information, p).ok_or_else(not_singular)?;
        // Converged: the full Newton step just taken was below 1e-9 standard errors (the
        // new point is a quadratic step better still), or below 1e-5 standard errors
        // with a log-likelihood change within rounding.
        if halvings == 0 && (decrement <= 1e-18 || (decrement <= 1e-10 && change <= rounding(current.log_likelihood))) {
            converged = true;
            break;
        }
    }

    let variance = cholesky_inverse(&factor, p);
    let coefficients = (0..p)
        .map(|j| {
            let se = variance[j * p + j].sqrt();
            let z = beta[j] / se;
            CoxCoefficient {
                name: cohort.covariate_names[j].clone(),
                coefficient: beta[j],
                standard_error: se,
                hazard_ratio: beta[j].exp(),
                hazard_ratio_ci_lower: (beta[j] - z_alpha * se).exp(),
                hazard_ratio_ci_upper: (beta[j] + z_alpha * se).exp(),
                z,
                p_value: normal_two_sided(z),
            }
        })
        .collect();
    let information_beta: Vec<f64> =
        (0..p).map(|r| (0..p).map(|c| current.information[r * p + c] * beta[c]).sum()).collect();
    let test =
        |chi: f64| ChiSquareTest { chi_square: chi, degrees_of_freedom: p, p_value: chi_square_upper_tail(chi, p) };
    let confidence_level = 1.0 - options.alpha;
    Ok(CoxModel {
        method: format!(
            "Cox proportional hazards, Efron ties, Newton-Raphson with step halving; Wald {}% confidence \
             intervals for the hazard ratios",
            percent(confidence_level)
        ),
        n_subjects: n as u64,
        n_events,
        confidence_level,
        coefficients,
        variance_matrix: variance.chunks(p).map(<[f64]>::to_vec).collect(),
        log_likelihood_null,
        log_likelihood: current.log_likelihood,
        likelihood_ratio_test: test(2.0 * (current.log_likelihood - log_likelihood_null)),
        wald_test: test(dot(&beta, &information_beta)),
        score_test: test(score_chi),
        iterations,
        converged,
        concordance: options.concordance.then(|| concordance(cohort, &beta)),
    })
}

struct Evaluation {
    log_likelihood: f64,
    score: Vec<f64>,
    information: Vec<f64>,
}

/// Scratch space for one likelihood evaluation (no per-subject allocation).
struct Workspace {
    p: usize,
    x: Vec<f64>,
    s1: Vec<f64>,
    s2: Vec<f64>,
    d1: Vec<f64>,
    d2: Vec<f64>,
    a: Vec<f64>,
}

impl Workspace {
    fn new(p: usize) -> Self {
        Workspace {
            p,
            x: vec![0.0; p],
            s1: vec![0.0; p],
            s2: vec![0.0; p * p],
            d1: vec![0.0; p],
            d2: vec![0.0; p * p],
            a: vec![0.0; p],
        }
    }

    /// Efron log partial likelihood, score and information at β.
    // Index loops: several arrays share the covariate index j, k.
    #[allow(clippy::needless_range_loop)]
    fn evaluate(&mut self, cohort: &Cohort, mean: &[f64], beta: &[f64]) -> Evaluation {
        let p = self.p;
        let durations = &cohort.duration_days;
        let mut log_likelihood = 0.0;
        let mut score = vec![0.0; p];
        let mut information = vec![0.0; p * p];
        let mut s0 = 0.0;
        self.s1.iter_mut().for_each(|v| *v = 0.0);
        self.s2.iter_mut().for_each(|v| *v = 0.0);
        let mut end = durations.len();
        while end > 0 {
            let time = durations[end - 1];
            let mut start = end - 1;
            while start > 0 && durations[start - 1] == time {
                start -= 1;
            }
            // Add the whole tied block to the risk set; collect its deaths.
            let mut deaths = 0usize;
            let mut d0 = 0.0;
            self.d1.iter_mut().for_each(|v| *v = 0.0);
            self.d2.iter_mut().for_each(|v| *v = 0.0);
            for i in start..end {
                let row = cohort.covariate_row(i);
                let mut eta = 0.0;
                for j in 0..p {
                    self.x[j] = row[j] - mean[j];
                    eta += beta[j] * self.x[j];
                }
                let r = eta.exp();
                s0 += r;
                let event = cohort.event[i] == EVENT;
                if event {
                    deaths += 1;
                    d0 += r;
                    log_likelihood += eta;
                }
                for j in 0..p {
                    let rx = r * self.x[j];
                    self.s1[j] += rx;
                    if event {
                        self.d1[j] += rx;
                        score[j] += self.x[j];
                    }
                    for k in 0..=j {
                        let rxx = rx * self.x[k];
                        self.s2[j * p + k] += rxx;
                        if event {
                            self.d2[j * p + k] += rxx;
                        }
                    }
                }
            }
            // Efron: the l-th of d tied deaths sees the risk set less l/d of the deaths' weight.
            for l in 0..deaths {
                let phi = l as f64 / deaths as f64;
                let denom = s0 - phi * d0;
                log_likelihood -= denom.ln();
                for j in 0..p {
                    self.a[j] = (self.s1[j] - phi * self.d1[j]) / denom;
                    score[j] -= self.a[j];
                }
                for j in 0..p {
                    for k in 0..=j {
                        information[j * p + k] +=
                            (self.s2[j * p + k] - phi * self.d2[j * p + k]) / denom - self.a[j] * self.a[k];
                    }
                }
            }
            end = start;
        }
        for j in 0..p {
            for k in 0..j {
                information[k * p + j] = information[j * p + k];
            }
        }
        Evaluation { log_likelihood, score, information }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Lower-triangular L with A = L Lᵀ, or None when A is not positive definite.
fn cholesky(a: &[f64], p: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; p * p];
    let scale = (0..p).fold(0.0f64, |m, j| m.max(a[j * p + j].abs()));
    for j in 0..p {
        let mut diag = a[j * p + j];
        for k in 0..j {
            diag -= l[j * p + k] * l[j * p + k];
        }
        if diag.is_nan() || diag <= 1e-12 * scale {
            return None;
        }
        let d = diag.sqrt();
        l[j * p + j] = d;
        for i in j + 1..p {
            let mut v = a[i * p + j];
            for k in 0..j {
                v -= l[i * p + k] * l[j * p + k];
            }
            l[i * p + j] = v / d;
        }
    }
    Some(l)
}

fn cholesky_solve(l: &[f64], b: &[f64], p: usize) -> Vec<f64> {
    let mut y = b.to_vec();
    for i in 0..p {
        for k in 0..i {
            y[i] -= l[i * p + k] * y[k];
        }
        y[i] /= l[i * p + i];
    }
    for i in (0..p).rev() {
        for k in i + 1..p {
            y[i] -= l[k * p + i] * y[k];
        }
        y[i] /= l[i * p + i];
    }
    y
}

fn cholesky_inverse(l: &[f64], p: usize) -> Vec<f64> {
    let mut inv = vec![0.0; p * p];
    let mut e = vec![0.0; p];
    for c in 0..p {
        e.iter_mut().for_each(|v| *v = 0.0);
        e[c] = 1.0;
        let col = cholesky_solve(l, &e, p);
        for r in 0..p {
            inv[r * p + c] = col[r];
        }
    }
    inv
}

/// Harrell's C in O(n log n): from the longest time down, a Fenwick tree over
/// the ranks of the linear predictor counts, for each event, the subjects
/// known to outlive it.
// Index loops: subject i indexes the event, rank and duration columns alike.
#[allow(clippy::needless_range_loop)]
fn concordance(cohort: &Cohort, beta: &[f64]) -> Concordance {
    let n = cohort.len();
    let lp: Vec<f64> = (0..n).map(|i| dot(cohort.covariate_row(i), beta)).collect();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_unstable_by(|&a, &b| lp[a as usize].total_cmp(&lp[b as usize]));
    let mut rank = vec![0u32; n];
    let mut levels = 0u32;
    for (k, &i) in order.iter().enumerate() {
        if k > 0 && lp[order[k - 1] as usize] != lp[i as usize] {
            levels += 1;
        }
        rank[i as usize] = levels;
    }
    let size = levels as usize + 1;
    let mut tree = vec![0u64; size + 1];
    let mut at_level = vec![0u64; size];
    let mut in_tree = 0u64;
    let add = |tree: &mut [u64], r: usize| {
        let mut i = r + 1;
        while i < tree.len() {
            tree[i] += 1;
            i += i & i.wrapping_neg();
        }
    };
    let below = |tree: &[u64], r: usize| {
        let mut i = r;
        let mut s = 0;
        while i > 0 {
            s += tree[i];
            i -= i & i.wrapping_neg();
        }
        s
    };
    let (mut concordant, mut discordant, mut tied) = (0u64, 0u64, 0u64);
    let durations = &cohort.duration_days;
    let mut end = n;
    while end > 0 {
        let time = durations[end - 1];
        let mut start = end - 1;
        while start > 0 && durations[start - 1] == time {
            start -= 1;
        }
        for i in start..end {
            if cohort.event[i] != EVENT {
                let r = rank[i] as usize;
                add(&mut tree, r);
                at_level[r] += 1;
                in_tree += 1;
            }
        }
        for i in start..end {
            if cohort.event[i] == EVENT {
                let r = rank[i] as usize;
                let lower = below(&tree, r);
                let equal = at_level[r];
                concordant += lower;
                tied += equal;
                discordant += in_tree - lower - equal;
            }
        }
        for i in start..end {
            if cohort.event[i] == EVENT {
                let r = rank[i] as usize;
                add(&mut tree, r);
                at_level[r] += 1;
                in_tree += 1;
            }
        }
        end = start;
    }
    let total = (concordant + discordant + tied) as f64;
    Concordance {
        concordant,
        discordant,
        tied_risk: tied,
        concordance: (concordant as f64 + tied as f64 / 2.0) / total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cohort::{CohortBuilder, Subject};

    fn cohort(rows: &[(f64, u8, f64)]) -> Cohort {
        let mut b = CohortBuilder::with_covariates(vec!["x".into()]).unwrap();
        for (d, e, x) in rows {
            b.push(Subject { duration_days: *d, event: *e, covariates: &[*x] }, None).unwrap();
        }
        b.build().unwrap()
    }

    #[test]
    fn efron_likelihood_by_hand() {
        // Times 1,1 (both events, x = 1, 0), 2 (event, x = 1), 3 (censored, x = 0).
        // Mean x = 1/2. At β: r = exp(β (x - 1/2)).
        // Block t=1: risk set all 4; deaths x = 1, 0.
        //   l=0: denom = S0;  l=1: denom = S0 - (r1 + r0)/2.
        // Block t=2: risk set {x=1 at 2, x=0 at 3}, death x=1: denom = r1 + r0.
        // At β = 0 all r = 1: log L = -ln 4 - ln(4 - 1) - ln 2 = -ln 24.
        let c = cohort(&[(1.0, 1, 1.0), (1.0, 1, 0.0), (2.0, 1, 1.0), (3.0, 0, 0.0)]);
        let mut w = Workspace::new(1);
        let e = w.evaluate(&c, &[0.5], &[0.0]);
        assert!((e.log_likelihood + 24.0f64.ln()).abs() < 1e-14);
        // Score at 0: Σ_deaths (x - 1/2) - Σ_l mean of (x - 1/2) over the Efron risk set.
        // Deaths: 1/2 - 1/2 + 1/2 = 1/2. l=0 set mean: (1/2 - 1/2 + 1/2 - 1/2)/4 = 0.
        // l=1: weights 1,1 for the non-deaths and 1/2 for each death: mean 0.
        // t=2: (1/2 - 1/2)/2 = 0. U = 1/2.
        assert!((e.score[0] - 0.5).abs() < 1e-15);
        // Information: t=1 l=0: var over 4 equal weights of ±1/2 = 1/4; l=1: same, weights
        // (1,1,1/2,1/2) of ±1/2 → 1/4; t=2: 1/4. Total 3/4.
        assert!((e.information[0] - 0.75).abs() < 1e-15);
    }

    #[test]
    fn newton_reaches_a_zero_score() {
        let c = cohort(&[
            (1.0, 1, 2.0),
            (2.0, 1, 1.0),
            (2.0, 1, 3.0),
            (3.0, 0, 0.0),
            (4.0, 1, 1.5),
            (5.0, 1, -1.0),
            (6.0, 0, 0.5),
        ]);
        let m = cox_proportional_hazards(&c, &CoxOptions::default()).unwrap();
        assert!(m.converged);
        let mut w = Workspace::new(1);
        let mean = [(2.0 + 1.0 + 3.0 + 0.0 + 1.5 - 1.0 + 0.5) / 7.0];
        let e = w.evaluate(&c, &mean, &[m.coefficients[0].coefficient]);
        assert!(e.score[0].abs() < 1e-10, "{}", e.score[0]);
        assert!(m.log_likelihood >= m.log_likelihood_null);
        let se = m.coefficients[0].standard_error;
        assert!((se * se - 1.0 / e.information[0]).abs() < 1e-12);
    }

    #[test]
    fn concordance_by_hand() {
        // x: higher = higher risk. Times 1(e, x=3), 2(e, x=1), 2(c, x=2), 3(c, x=1).
        // Comparable pairs (shorter is an event): (t1, t2e) x 3>1 concordant; (t1, t2c) 3>2 conc;
        // (t1, t3) 3>1 conc; (t2e, t2c): censored tie counts as longer: 1<2 discordant;
        // (t2e, t3): 1=1 tied. C = (3 + 0.5) / 5.
        let c = cohort(&[(1.0, 1, 3.0), (2.0, 1, 1.0), (2.0, 0, 2.0), (3.0, 0, 1.0)]);
        let k = concordance(&c, &[1.0]);
        assert_eq!((k.concordant, k.discordant, k.tied_risk), (3, 1, 1));
        assert!((k.concordance - 0.7).abs() < 1e-15);
    }

    #[test]
    fn refusals() {
        let c = cohort(&[(1.0, 0, 1.0), (2.0, 0, 2.0)]);
        assert!(matches!(
            cox_proportional_hazards(&c, &CoxOptions::default()),
            Err(AnalyticsError::NotEstimable { .. })
        ));
        let c = cohort(&[(1.0, 1, 1.0), (2.0, 0, 1.0)]);
        assert!(matches!(
            cox_proportional_hazards(&c, &CoxOptions::default()),
            Err(AnalyticsError::NotEstimable { .. })
        ));
    }

    #[test]
    fn cholesky_inverts() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let l = cholesky(&a, 2).unwrap();
        let inv = cholesky_inverse(&l, 2);
        // [[4,2],[2,3]]⁻¹ = [[3,-2],[-2,4]] / 8
        for (g, w) in inv.iter().zip([3.0 / 8.0, -0.25, -0.25, 0.5]) {
            assert!((g - w).abs() < 1e-15);
        }
        assert!(cholesky(&[1.0, 1.0, 1.0, 1.0], 2).is_none());
    }
}
