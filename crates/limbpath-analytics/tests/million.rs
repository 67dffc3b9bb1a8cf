//! The 1,000,000-row synthetic cohort against the numbers lifelines 0.30.3 and
//! R survival 3.5.3 printed for it in `bench/analytics_vs_lifelines.py`
//! (R: `coef(fit)` with 10 significant digits; lifelines: `repr`). Slow in a
//! debug build, so ignored by default:
//! `cargo test -p limbpath-analytics --release --test million -- --ignored`
//! (a few seconds in release; the 10,000,000-row test needs about 1 GB)

use limbpath_analytics::*;

#[test]
#[ignore]
fn one_million_rows_match_lifelines_and_coxph() {
    let cohort = synthetic_cohort(REFERENCE_SEED, 1_000_000).expect("valid cohort");
    let km = kaplan_meier(&cohort, &KaplanMeierOptions::default()).unwrap();
    assert_eq!(km.median.time, Some(779.0));
    let lr = log_rank_test(&cohort).unwrap();
    assert!((lr.chi_square - 164153.8332585888).abs() <= 1e-9 * 164153.8332585888, "{}", lr.chi_square);
    let cox = cox_proportional_hazards(&cohort.with_group_indicators().unwrap(), &CoxOptions::default()).unwrap();
    let want = [-0.4093915000, -0.8557538854, -1.4271948206];
    for (c, w) in cox.coefficients.iter().zip(want) {
        // 10 significant digits printed: agree to 1e-9 relative.
        assert!((c.coefficient - w).abs() <= 1e-9 * w.abs(), "{} {} vs {w}", c.name, c.coefficient);
    }
}

/// 10,000,000 rows: rounding in the sums is then larger than 1e-13 of the
/// log-likelihood, which once made the Newton loop halve steps on noise and
/// exhaust its iterations (274 s). lifelines 0.30.3 on the same file gave
/// median 779 and chi-square 1632121.4343089105.
#[test]
#[ignore]
fn ten_million_rows_converge_and_match_lifelines() {
    let cohort = synthetic_cohort(REFERENCE_SEED, 10_000_000).expect("valid cohort");
    let km = kaplan_meier(&cohort, &KaplanMeierOptions::default()).unwrap();
    assert_eq!(km.median.time, Some(779.0));
    let lr = log_rank_test(&cohort).unwrap();
    assert!((lr.chi_square - 1632121.4343089105).abs() <= 1e-9 * 1632121.4343089105, "{}", lr.chi_square);
    let options = CoxOptions { concordance: false, ..CoxOptions::default() };
    let cox = cox_proportional_hazards(&cohort.with_group_indicators().unwrap(), &options).unwrap();
    assert!(cox.converged && cox.iterations <= 8, "{} iterations", cox.iterations);
}
