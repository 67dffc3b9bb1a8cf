//! Nothing panics on any input: arbitrary CSV bytes, arbitrary subject values
//! (NaN, infinities, negatives, huge covariates, any event code) and arbitrary
//! options go in; a result or a typed error comes out.

use limbpath_analytics::*;
use proptest::prelude::*;

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.0f64..50.0,
        1 => any::<f64>(),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(-1.0),
        1 => Just(1e300),
        1 => (0u32..5).prop_map(f64::from),
    ]
}

fn run_everything(cohort: &Cohort, alpha: f64, times: &[f64], code: u8) {
    let km = KaplanMeierOptions { alpha, times: times.to_vec() };
    let _ = kaplan_meier(cohort, &km).map(|r| serde_json::to_string(&r).unwrap());
    let _ = kaplan_meier_by_group(cohort, &km);
    let _ = log_rank_test(cohort).map(|r| serde_json::to_string(&r).unwrap());
    let aj = CumulativeIncidenceOptions { event_of_interest: code, alpha, times: times.to_vec() };
    let _ = cumulative_incidence(cohort, &aj).map(|r| serde_json::to_string(&r).unwrap());
    let _ = cumulative_incidence_by_group(cohort, &aj);
    let cox = CoxOptions { alpha, max_iterations: 25, concordance: true };
    let _ = cox_proportional_hazards(cohort, &cox).map(|r| serde_json::to_string(&r).unwrap());
    if let Ok(with) = cohort.with_group_indicators() {
        let _ = cox_proportional_hazards(&with, &cox);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_cohort_csv(&bytes);
    }

    #[test]
    fn csv_like_text_does_not_panic(
        header in prop_oneof![
            Just("id,group,duration_days,event\n"),
            Just("duration_days,event,x\n"),
            Just("group,duration_days,event,x,y\r\n"),
        ],
        rows in proptest::collection::vec(
            (prop_oneof![Just("1"), Just("a"), Just("-3"), Just(""), Just("x,y")],
             prop_oneof![Just("0"), Just("5"), Just("2.5"), Just("-1"), Just("nan"), Just("1e400"), Just("")],
             prop_oneof![Just("0"), Just("1"), Just("2"), Just("300"), Just("x")],
             prop_oneof![Just("0.5"), Just("-2"), Just("inf"), Just("")]),
            0..30),
        alpha in any_f64(),
    ) {
        let mut text = String::from(header);
        for (g, d, e, x) in rows {
            text.push_str(&format!("{g},{d},{e},{x},{x}\n"));
        }
        if let Ok(c) = parse_cohort_csv(text.as_bytes()) {
            run_everything(&c, alpha, &[1.0, 3.0], 1);
        }
    }

    #[test]
    fn arbitrary_subjects_and_options_do_not_panic(
        subjects in proptest::collection::vec((any_f64(), 0u8..4, 0i64..4, any_f64(), any_f64()), 0..60),
        grouped in any::<bool>(),
        alpha in any_f64(),
        times in proptest::collection::vec(any_f64(), 0..4),
        code in any::<u8>(),
    ) {
        let mut b = CohortBuilder::with_covariates(vec!["a".into(), "b".into()]).unwrap();
        for (d, e, g, x, y) in subjects {
            let group = grouped.then_some(GroupLabel::Number(g));
            let _ = b.push(Subject { duration_days: d, event: e, covariates: &[x, y] }, group);
        }
        if let Ok(c) = b.build() {
            run_everything(&c, alpha, &times, code);
        }
    }
}
