//! The k-sample log-rank test (k - 1 degrees of freedom), as lifelines'
//! `multivariate_logrank_test`, and the two-sample test for every pair of
//! groups, as lifelines' `pairwise_logrank_test` (no multiplicity
//! adjustment). One pass over the sorted cohort computes all of them.

use crate::cohort::{Cohort, EVENT, GroupLabel};
use crate::distribution::chi_square_upper_tail;
use crate::error::{AnalyticsError, InvalidInput, Problem};
use serde::Serialize;

/// Observed and expected events in one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupEvents {
    /// The group.
    pub group: GroupLabel,
    /// Subjects in the group.
    pub n_subjects: u64,
    /// Events observed in the group.
    pub observed: u64,
    /// Events expected under equal hazards: Σ over event times of d n_g / n.
    pub expected: f64,
}

/// A two-group log-rank test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairwiseLogRank {
    /// The first group (in report order).
    pub group_a: GroupLabel,
    /// The second group.
    pub group_b: GroupLabel,
    /// The chi-square statistic (1 degree of freedom).
    pub chi_square: f64,
    /// P(χ²₁ >= chi_square), unadjusted for multiple comparisons.
    pub p_value: f64,
}

/// The log-rank test across all groups, with every pairwise test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRankTest {
    /// What was computed, in words, for the UI.
    pub method: String,
    /// Observed and expected events per group, in report order.
    pub groups: Vec<GroupEvents>,
    /// (O - E)ᵀ V⁻¹ (O - E) over the first k - 1 groups.
    pub chi_square: f64,
    /// k - 1.
    pub degrees_of_freedom: usize,
    /// P(χ²_{k-1} >= chi_square).
    pub p_value: f64,
    /// Every pair of groups, in report order (a < b).
    pub pairwise: Vec<PairwiseLogRank>,
}

/// Test equality of the survival curves of the cohort's groups.
pub fn log_rank_test(cohort: &Cohort) -> Result<LogRankTest, AnalyticsError> {
    cohort.require_binary_events("the log-rank test")?;
    let k = cohort.group_labels.len();
    if k < 2 {
        return Err(InvalidInput::option(
            "group",
            Some(format!("{k} groups")),
            Problem::OutOfRange,
            "a group for every subject, with at least 2 distinct groups",
        )
        .into());
    }
    let n_pairs = k * (k - 1) / 2;
    let mut at_risk = vec![0u64; k];
    for (i, &g) in cohort.group.iter().enumerate() {
        at_risk[g as usize] += cohort.count_of(i);
    }
    let n_subjects = at_risk.clone();
    let mut observed = vec![0u64; k];
    let mut expected = vec![0.0f64; k];
    let mut variance = vec![0.0f64; k * k];
    // Per pair: expected events of the first group and its variance.
    let mut pair_expected = vec![0.0f64; n_pairs];
    let mut pair_variance = vec![0.0f64; n_pairs];
    let mut pair_observed = vec![0u64; n_pairs];

    let mut d = vec![0u64; k];
    let mut removed = vec![0u64; k];
    let durations = &cohort.duration_days;
    let n = durations.len();
    let mut total_at_risk: u64 = at_risk.iter().sum();
    let mut i = 0;
    while i < n {
        let time = durations[i];
        d.iter_mut().for_each(|x| *x = 0);
        removed.iter_mut().for_each(|x| *x = 0);
        let mut block_events = 0u64;
        while i < n && durations[i] == time {
            let g = cohort.group[i] as usize;
            let c = cohort.count_of(i);
            removed[g] += c;
            if cohort.event[i] == EVENT {
                d[g] += c;
                block_events += c;
            }
            i += 1;
        }
        if block_events > 0 {
            let nt = total_at_risk as f64;
            let dt = block_events as f64;
            // lifelines: factor = (n - d)/(n - 1) * d / n², with (n-d)/(n-1) := 1 when n = 1.
            let factor = if total_at_risk > 1 { (nt - dt) / (nt - 1.0) } else { 1.0 } * dt / (nt * nt);
            for a in 0..k {
                observed[a] += d[a];
                let na = at_risk[a] as f64;
                expected[a] += na * (dt / nt);
                for b in 0..k {
                    let nb = at_risk[b] as f64;
                    variance[a * k + b] += factor * na * (if a == b { nt } else { 0.0 } - nb);
                }
            }
            let mut pair = 0;
            for a in 0..k {
                for b in a + 1..k {
                    let dab = d[a] + d[b];
                    if dab > 0 {
                        let (na, nb) = (at_risk[a] as f64, at_risk[b] as f64);
                        let nab = na + nb;
                        let dab = dab as f64;
                        let f = if nab > 1.0 { (nab - dab) / (nab - 1.0) } else { 1.0 } * dab / (nab * nab);
                        pair_observed[pair] += d[a];
                        pair_expected[pair] += na * (dab / nab);
                        pair_variance[pair] += f * na * nb;
                    }
                    pair += 1;
                }
            }
        }
        for g in 0..k {
            at_risk[g] -= removed[g];
        }
        total_at_risk -= removed.iter().sum::<u64>();
    }

    // lifelines: U = Z[:-1] @ pinv(V[:-1, :-1]) @ Z[:-1].
    let m = k - 1;
    let z: Vec<f64> = (0..m).map(|a| observed[a] as f64 - expected[a]).collect();
    let mut v = vec![0.0; m * m];
    for a in 0..m {
        for b in 0..m {
            v[a * m + b] = variance[a * k + b];
        }
    }
    let chi_square = quadratic_form_pinv(&v, &z, m);
    let mut pairwise = Vec::with_capacity(n_pairs);
    let mut pair = 0;
    for a in 0..k {
        for b in a + 1..k {
            let za = pair_observed[pair] as f64 - pair_expected[pair];
            let stat = quadratic_form_pinv(&[pair_variance[pair]], &[za], 1);
            pairwise.push(PairwiseLogRank {
                group_a: cohort.group_labels[a].clone(),
                group_b: cohort.group_labels[b].clone(),
                chi_square: stat,
                p_value: chi_square_upper_tail(stat, 1),
            });
            pair += 1;
        }
    }
    Ok(LogRankTest {
        method: format!(
            "log-rank test across {k} groups (chi-square, {m} degree{} of freedom), with unadjusted pairwise \
             two-group log-rank tests",
            if m == 1 { "" } else { "s" }
        ),
        groups: (0..k)
            .map(|g| GroupEvents {
                group: cohort.group_labels[g].clone(),
                n_subjects: n_subjects[g],
                observed: observed[g],
                expected: expected[g],
            })
            .collect(),
        chi_square,
        degrees_of_freedom: m,
        p_value: chi_square_upper_tail(chi_square, m),
        pairwise,
    })
}

/// zᵀ A⁺ z for a symmetric positive semi-definite `m`×`m` matrix A, with the
/// Moore-Penrose inverse as numpy's `pinv` forms it (singular values below
/// 1e-15 × the largest are treated as 0). The eigen-decomposition is by
/// cyclic Jacobi rotations, accurate to rounding for the small m of a
/// log-rank test.
pub(crate) fn quadratic_form_pinv(a: &[f64], z: &[f64], m: usize) -> f64 {
    let (values, vectors) = symmetric_eigen(a, m);
    let largest = values.iter().fold(0.0f64, |acc, v| acc.max(v.abs()));
    let cutoff = 1e-15 * largest;
    let mut total = 0.0;
    for (j, &lambda) in values.iter().enumerate() {
        if lambda.abs() > cutoff && lambda != 0.0 {
            let proj: f64 = (0..m).map(|r| vectors[r * m + j] * z[r]).sum();
            total += proj * proj / lambda;
        }
    }
    total
}

/// Eigenvalues and eigenvectors (columns of a row-major matrix) of a symmetric
/// matrix, by cyclic Jacobi.
fn symmetric_eigen(a: &[f64], m: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; m * m];
    for r in 0..m {
        v[r * m + r] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..m).flat_map(|p| (p + 1..m).map(move |q| (p, q))).map(|(p, q)| a[p * m + q].powi(2)).sum();
        let diag: f64 = (0..m).map(|p| a[p * m + p].powi(2)).sum();
        if off <= f64::EPSILON * f64::EPSILON * diag || off == 0.0 {
            break;
        }
        for p in 0..m {
            for q in p + 1..m {
                let apq = a[p * m + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * m + q] - a[p * m + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..m {
                    let arp = a[r * m + p];
                    let arq = a[r * m + q];
                    a[r * m + p] = c * arp - s * arq;
                    a[r * m + q] = s * arp + c * arq;
                }
                for r in 0..m {
                    let apr = a[p * m + r];
                    let aqr = a[q * m + r];
                    a[p * m + r] = c * apr - s * aqr;
                    a[q * m + r] = s * apr + c * aqr;
                }
                for r in 0..m {
                    let vrp = v[r * m + p];
                    let vrq = v[r * m + q];
                    v[r * m + p] = c * vrp - s * vrq;
                    v[r * m + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    ((0..m).map(|p| a[p * m + p]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cohort::{CohortBuilder, Subject};

    fn cohort(rows: &[(f64, u8, i64)]) -> Cohort {
        let mut b = CohortBuilder::new();
        for &(d, e, g) in rows {
            b.push(Subject { duration_days: d, event: e, covariates: &[] }, Some(GroupLabel::Number(g))).unwrap();
        }
        b.build().unwrap()
    }

    #[test]
    fn two_groups_by_hand() {
        // Group 0: 1, 3; group 1: 2, 4+ (+ censored).
        // t=1: n=4 (2,2) d=1 in g0: E0 = 1*2/4 = 0.5, V = 2*2*1*3/(16*3) = 0.25
        // t=2: n=3 (1,2) d=1 in g1: E0 = 1/3,       V = 1*2*1*2/(9*2) = 2/9
        // t=3: n=2 (1,1) d=1 in g0: E0 = 1/2,       V = 1*1*1*1/(4*1) = 1/4
        // O0 = 2, E0 = 4/3, V = 13/18, U = (2/3)² / (13/18) = 8/13.
        let c = cohort(&[(1.0, 1, 0), (3.0, 1, 0), (2.0, 1, 1), (4.0, 0, 1)]);
        let t = log_rank_test(&c).unwrap();
        assert!((t.groups[0].expected - 4.0 / 3.0).abs() < 1e-15);
        assert_eq!(t.groups[0].observed, 2);
        assert!((t.chi_square - 8.0 / 13.0).abs() < 1e-14, "{}", t.chi_square);
        assert_eq!(t.degrees_of_freedom, 1);
        assert_eq!(t.pairwise.len(), 1);
        assert!((t.pairwise[0].chi_square - 8.0 / 13.0).abs() < 1e-14);
        assert!((t.p_value - t.pairwise[0].p_value).abs() < 1e-15);
    }

    #[test]
    fn pinv_of_a_diagonal_and_a_singular_matrix() {
        assert!((quadratic_form_pinv(&[2.0, 0.0, 0.0, 4.0], &[2.0, 4.0], 2) - (2.0 + 4.0)).abs() < 1e-14);
        // [[1,1],[1,1]] has pseudo-inverse [[1,1],[1,1]]/4: z = (1,1) -> 4/4 = 1.
        assert!((quadratic_form_pinv(&[1.0, 1.0, 1.0, 1.0], &[1.0, 1.0], 2) - 1.0).abs() < 1e-14);
        // A general SPD matrix: [[4,1],[1,3]]⁻¹ = [[3,-1],[-1,4]]/11; z = (1,2): (3 - 4 + 16)/11.
        let q = quadratic_form_pinv(&[4.0, 1.0, 1.0, 3.0], &[1.0, 2.0], 2);
        assert!((q - 15.0 / 11.0).abs() < 1e-14, "{q}");
    }

    #[test]
    fn needs_two_groups() {
        let c = cohort(&[(1.0, 1, 0), (2.0, 0, 0)]);
        assert!(matches!(log_rank_test(&c), Err(AnalyticsError::InvalidInput(_))));
    }
}
