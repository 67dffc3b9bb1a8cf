//! The estimators against lifelines 0.30.3 and R survival 3.5.3 on the
//! committed fixtures (regenerate with `fixtures/make_fixtures.py`; neither
//! Python nor R is needed here).
//!
//! Tolerances: lifelines quantities to 1e-9 relative, R coxph to 1e-6
//! relative (and to 1e-9 against a tightly converged coxph, which shows the
//! 1e-6 is R's default convergence criterion, not this crate's).

use limbpath_analytics::*;
use serde_json::Value;

const LIFELINES: f64 = 1e-9;
const COXPH: f64 = 1e-6;
const COXPH_TIGHT: f64 = 1e-9;

const FIXTURES: [(&str, &str); 4] = [
    ("cohort2000", include_str!("../fixtures/cohort2000.json")),
    ("ties_small", include_str!("../fixtures/ties_small.json")),
    ("heavy", include_str!("../fixtures/heavy.json")),
    ("competing_distinct", include_str!("../fixtures/competing_distinct.json")),
];

fn fixture(name: &str) -> Value {
    let text = FIXTURES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).expect("known fixture");
    serde_json::from_str(text).expect("fixture JSON")
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("number expected, got {v}"))
}

fn opt(v: &Value) -> Option<f64> {
    v.as_f64()
}

#[track_caller]
fn close(got: f64, want: f64, rel: f64, what: &str) {
    let ok = got == want || (got - want).abs() <= rel * want.abs();
    assert!(ok, "{what}: got {got:e}, want {want:e} (rel {:e})", ((got - want) / want).abs());
}

#[track_caller]
fn close_opt(got: Option<f64>, want: Option<f64>, rel: f64, what: &str) {
    match (got, want) {
        (Some(g), Some(w)) => close(g, w, rel, what),
        (g, w) => assert_eq!(g, w, "{what}"),
    }
}

fn label(v: &Value) -> GroupLabel {
    match v {
        Value::Number(n) => GroupLabel::Number(n.as_i64().expect("integer label")),
        Value::String(s) => GroupLabel::Text(s.clone()),
        other => panic!("label {other}"),
    }
}

/// The fixture's cohort. `binary`: event codes other than 1 recoded as
/// censored (the cause-specific view KM, log-rank and Cox use).
fn cohort(fx: &Value, binary: bool) -> Cohort {
    if let Some(s) = fx.get("synthetic") {
        let c = synthetic_cohort(s["seed"].as_u64().unwrap(), s["rows"].as_u64().unwrap()).expect("valid cohort");
        return c.with_group_indicators().unwrap();
    }
    let d = &fx["data"];
    let names: Vec<String> =
        d["covariate_names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    let mut b = CohortBuilder::with_covariates(names).unwrap();
    let durations = d["duration_days"].as_array().unwrap();
    for (i, t) in durations.iter().enumerate() {
        let code = d["event"][i].as_u64().unwrap() as u8;
        let event = if binary && code != 1 { 0 } else { code };
        let covariates: Vec<f64> =
            d["covariates"].get(i).map_or(Vec::new(), |r| r.as_array().unwrap().iter().map(f).collect());
        b.push(Subject { duration_days: f(t), event, covariates: &covariates }, Some(label(&d["group"][i]))).unwrap();
    }
    b.build().unwrap()
}

fn times() -> Vec<f64> {
    vec![0.0, 1.0, 7.5, 30.0, 90.0, 182.0, 365.0, 500.0, 730.0, 1000.0, 1825.0, 5000.0]
}

fn check_km(got: &KaplanMeier, want: &Value, what: &str) {
    let steps = want["steps"].as_array().unwrap();
    assert_eq!(got.steps.len(), steps.len(), "{what}: number of event times");
    for (g, w) in got.steps.iter().zip(steps) {
        let at = format!("{what} t={}", g.time);
        assert_eq!(g.time, f(&w["time"]), "{at}");
        assert_eq!(
            (g.n_at_risk, g.n_events, g.n_censored),
            (w["n_at_risk"].as_u64().unwrap(), w["n_events"].as_u64().unwrap(), w["n_censored"].as_u64().unwrap()),
            "{at}"
        );
        close(g.survival, f(&w["survival"]), LIFELINES, &format!("{at} survival"));
        close(g.greenwood_variance, f(&w["greenwood_variance"]), LIFELINES, &format!("{at} variance"));
        close(g.ci_lower, f(&w["ci_lower"]), LIFELINES, &format!("{at} ci_lower"));
        close(g.ci_upper, f(&w["ci_upper"]), LIFELINES, &format!("{at} ci_upper"));
    }
    // Median and its interval are times: exact.
    assert_eq!(got.median.time, opt(&want["median"]), "{what}: median");
    assert_eq!(got.median.ci_lower, opt(&want["median_ci_lower"]), "{what}: median ci_lower");
    assert_eq!(got.median.ci_upper, opt(&want["median_ci_upper"]), "{what}: median ci_upper");
    for (g, w) in got.at_times.iter().zip(want["at_times"].as_array().unwrap()) {
        let at = format!("{what} at t={}", g.time);
        assert_eq!(g.time, f(&w["time"]));
        assert_eq!(g.n_at_risk, w["n_at_risk"].as_u64().unwrap(), "{at} n_at_risk");
        close(g.survival, f(&w["survival"]), LIFELINES, &format!("{at} survival"));
        close(g.ci_lower, f(&w["ci_lower"]), LIFELINES, &format!("{at} ci_lower"));
        close(g.ci_upper, f(&w["ci_upper"]), LIFELINES, &format!("{at} ci_upper"));
    }
}

fn check_kaplan_meier(name: &str) {
    let fx = fixture(name);
    let c = cohort(&fx, true);
    let opts = KaplanMeierOptions { alpha: 0.05, times: times() };
    check_km(&kaplan_meier(&c, &opts).unwrap(), &fx["kaplan_meier"], name);
    let by_group = kaplan_meier_by_group(&c, &opts).unwrap();
    let want = fx["kaplan_meier_by_group"].as_array().unwrap();
    assert_eq!(by_group.len(), want.len());
    for (g, w) in by_group.iter().zip(want) {
        assert_eq!(g.group.as_ref(), Some(&label(&w["group"])));
        check_km(g, w, &format!("{name} group {}", w["group"]));
    }
}

fn check_log_rank(name: &str) {
    let fx = fixture(name);
    let got = log_rank_test(&cohort(&fx, true)).unwrap();
    let want = &fx["log_rank"];
    close(got.chi_square, f(&want["chi_square"]), LIFELINES, &format!("{name} chi_square"));
    assert_eq!(got.degrees_of_freedom as u64, want["degrees_of_freedom"].as_u64().unwrap());
    close(got.p_value, f(&want["p_value"]), LIFELINES, &format!("{name} p_value"));
    let pairs = want["pairwise"].as_array().unwrap();
    assert_eq!(got.pairwise.len(), pairs.len());
    for (g, w) in got.pairwise.iter().zip(pairs) {
        let what = format!("{name} {}-{}", g.group_a, g.group_b);
        assert_eq!((&g.group_a, &g.group_b), (&label(&w["group_a"]), &label(&w["group_b"])));
        close(g.chi_square, f(&w["chi_square"]), LIFELINES, &format!("{what} chi_square"));
        close(g.p_value, f(&w["p_value"]), LIFELINES, &format!("{what} p_value"));
    }
}

fn check_cumulative_incidence(name: &str) {
    let fx = fixture(name);
    let c = cohort(&fx, false);
    for want in fx["cumulative_incidence"].as_array().unwrap() {
        let k = want["event_of_interest"].as_u64().unwrap() as u8;
        let opts = CumulativeIncidenceOptions { event_of_interest: k, alpha: 0.05, times: times() };
        let got = cumulative_incidence(&c, &opts).unwrap();
        let steps = want["steps"].as_array().unwrap();
        assert_eq!(got.steps.len(), steps.len(), "{name} event {k}: number of event times");
        for (g, w) in got.steps.iter().zip(steps) {
            let at = format!("{name} event {k} t={}", g.time);
            assert_eq!(g.time, f(&w["time"]), "{at}");
            assert_eq!(g.n_at_risk, w["n_at_risk"].as_u64().unwrap(), "{at}");
            assert_eq!(g.n_events_of_interest, w["n_events_of_interest"].as_u64().unwrap(), "{at}");
            close(g.cumulative_incidence, f(&w["cumulative_incidence"]), LIFELINES, &format!("{at} F"));
            close_opt(g.variance, opt(&w["variance"]), LIFELINES, &format!("{at} variance"));
            close_opt(g.ci_lower, opt(&w["ci_lower"]), LIFELINES, &format!("{at} ci_lower"));
            close_opt(g.ci_upper, opt(&w["ci_upper"]), LIFELINES, &format!("{at} ci_upper"));
        }
        for (g, w) in got.at_times.iter().zip(want["at_times"].as_array().unwrap()) {
            let at = format!("{name} event {k} at t={}", g.time);
            assert_eq!(g.n_at_risk, w["n_at_risk"].as_u64().unwrap(), "{at}");
            close(g.cumulative_incidence, f(&w["cumulative_incidence"]), LIFELINES, &format!("{at} F"));
            close_opt(g.ci_lower, opt(&w["ci_lower"]), LIFELINES, &format!("{at} ci_lower"));
            close_opt(g.ci_upper, opt(&w["ci_upper"]), LIFELINES, &format!("{at} ci_upper"));
        }
    }
}

fn check_cox(name: &str) {
    let fx = fixture(name);
    let c = cohort(&fx, true);
    let got = cox_proportional_hazards(&c, &CoxOptions::default()).unwrap();
    assert!(got.converged);
    for (fit, rel) in [("default", COXPH), ("tight", COXPH_TIGHT)] {
        let want = &fx["cox"][fit];
        let what = format!("{name} coxph {fit}");
        for (g, w) in got.coefficients.iter().zip(want["coefficients"].as_array().unwrap()) {
            assert_eq!(g.name, w["name"].as_str().unwrap());
            let at = format!("{what} {}", g.name);
            close(g.coefficient, f(&w["coefficient"]), rel, &format!("{at} coefficient"));
            close(g.standard_error, f(&w["standard_error"]), rel, &format!("{at} se"));
            close(g.z, f(&w["z"]), rel, &format!("{at} z"));
            close(g.p_value, f(&w["p_value"]), rel, &format!("{at} p"));
            close(g.hazard_ratio_ci_lower, f(&w["hazard_ratio_ci_lower"]), rel, &format!("{at} HR lower"));
            close(g.hazard_ratio_ci_upper, f(&w["hazard_ratio_ci_upper"]), rel, &format!("{at} HR upper"));
        }
        for (g, w) in got
            .variance_matrix
            .iter()
            .flatten()
            .zip(want["variance_matrix"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap()))
        {
            close(*g, f(w), rel, &format!("{what} variance matrix"));
        }
        close(got.log_likelihood_null, f(&want["log_likelihood_null"]), rel, &format!("{what} loglik null"));
        close(got.log_likelihood, f(&want["log_likelihood"]), rel, &format!("{what} loglik"));
        for (test, key) in
            [(&got.likelihood_ratio_test, "likelihood_ratio"), (&got.wald_test, "wald"), (&got.score_test, "score")]
        {
            close(test.chi_square, f(&want[key][0]), rel, &format!("{what} {key} test"));
            close(test.p_value, f(&want[key][1]), rel, &format!("{what} {key} p"));
        }
        let cc = got.concordance.as_ref().unwrap();
        let w = &want["concordance"];
        assert_eq!(cc.concordant as f64, f(&w["concordant"]), "{what} concordant");
        assert_eq!(cc.discordant as f64, f(&w["discordant"]), "{what} discordant");
        assert_eq!(cc.tied_risk as f64, f(&w["tied.x"]), "{what} tied.x");
        close(cc.concordance, f(&w["concordance"]), 1e-12, &format!("{what} concordance"));
    }
}

#[test]
fn kaplan_meier_matches_lifelines() {
    for name in ["cohort2000", "ties_small", "heavy"] {
        check_kaplan_meier(name);
    }
}

#[test]
fn log_rank_matches_lifelines() {
    for name in ["cohort2000", "ties_small", "heavy"] {
        check_log_rank(name);
    }
}

#[test]
fn cumulative_incidence_matches_lifelines() {
    for name in ["heavy", "competing_distinct"] {
        check_cumulative_incidence(name);
    }
}

#[test]
fn cox_matches_r_coxph() {
    for name in ["cohort2000", "ties_small", "heavy"] {
        check_cox(name);
    }
}
