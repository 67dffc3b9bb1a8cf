//! The reference distributions the tests and intervals use (statrs, whose
//! incomplete gamma and inverse error function are ports of Cephes/Boost, as
//! are scipy's and R's).

use crate::error::{InvalidInput, Problem};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// Upper-tail probability P(X >= x) of a chi-square with `df` degrees of
/// freedom (scipy `chi2.sf`). NaN when `df` is 0 or `x` is NaN.
pub(crate) fn chi_square_upper_tail(x: f64, df: usize) -> f64 {
    if df == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    match ChiSquared::new(df as f64) {
        Ok(d) => d.sf(x),
        Err(_) => f64::NAN,
    }
}

/// Two-sided p-value of a standard normal z statistic, 2 * P(Z >= |z|).
pub(crate) fn normal_two_sided(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    // P(χ²₁ >= z²) = 2 P(Z >= |z|); statrs' regularized incomplete gamma is
    // accurate to ~1e-15 here, its erfc only to ~1e-10.
    chi_square_upper_tail(z * z, 1)
}

/// The normal quantile z(1 - alpha/2) for a two-sided (1 - alpha) interval,
/// after checking alpha is in (0, 1).
pub(crate) fn two_sided_z(alpha: f64) -> Result<f64, InvalidInput> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(InvalidInput::option(
            "options.alpha",
            Some(alpha.to_string()),
            Problem::OutOfRange,
            "a number strictly between 0 and 1 (0.05 for a 95% interval)",
        ));
    }
    let standard = Normal::standard();
    Ok(standard.inverse_cdf(1.0 - alpha / 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    // Expected values: scipy 1.17.1 (scipy.stats.norm.ppf, chi2.sf, norm.sf),
    // computed independently of this crate.
    #[test]
    fn normal_quantile_matches_scipy() {
        assert!(close(two_sided_z(0.05).unwrap(), 1.959963984540054, 1e-15));
        assert!(close(two_sided_z(0.10).unwrap(), 1.6448536269514722, 1e-15));
        assert!(close(two_sided_z(0.01).unwrap(), 2.5758293035489004, 1e-15));
        assert!(two_sided_z(0.0).is_err());
        assert!(two_sided_z(1.0).is_err());
        assert!(two_sided_z(f64::NAN).is_err());
    }

    #[test]
    fn chi_square_tail_matches_scipy() {
        assert!(close(chi_square_upper_tail(3.841458820694124, 1), 0.04999999999999989, 1e-12));
        assert!(close(chi_square_upper_tail(10.0, 3), 0.01856613546304325, 1e-12));
        assert!(close(chi_square_upper_tail(200.0, 3), 4.218541107192018e-43, 1e-10));
        assert!(close(chi_square_upper_tail(0.5, 2), 0.7788007830714049, 1e-14));
        assert_eq!(chi_square_upper_tail(0.0, 3), 1.0);
    }

    #[test]
    fn normal_two_sided_matches_scipy() {
        assert!(close(normal_two_sided(1.959963984540054), 0.05, 1e-13));
        assert!(close(normal_two_sided(-3.0), 0.0026997960632601866, 1e-13));
        assert!(close(normal_two_sided(10.0), 1.523970604832094e-23, 1e-12));
    }
}
