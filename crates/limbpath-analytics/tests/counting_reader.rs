//! The counting CSV reader (`parse_cohort_csv_counts`, one row per distinct
//! time, event and group) gives the same Kaplan-Meier, log-rank and cumulative
//! incidence results as the subject-per-row reader, bit for bit, and the same
//! error (row, column, value) on bad text, whatever the number of slices the
//! text is cut into.

use limbpath_analytics::*;
use proptest::prelude::*;

/// Every count-based estimator on one cohort, as JSON (errors included).
fn estimates(cohort: &Cohort) -> Vec<String> {
    fn json<T: serde::Serialize, E: std::fmt::Debug>(r: Result<T, E>) -> String {
        match r {
            Ok(v) => serde_json::to_string(&v).unwrap(),
            Err(e) => format!("{e:?}"),
        }
    }
    let km = KaplanMeierOptions { alpha: 0.05, times: vec![0.0, 1.0, 2.5, 4.0, 30.0] };
    let mut out = vec![
        cohort.len().to_string(),
        format!("{:?}", cohort.group_labels()),
        json(kaplan_meier(cohort, &km)),
        json(kaplan_meier_by_group(cohort, &km)),
        json(log_rank_test(cohort)),
    ];
    for code in 1..=3 {
        let aj = CumulativeIncidenceOptions { event_of_interest: code, alpha: 0.05, times: vec![1.0, 3.0] };
        out.push(json(cumulative_incidence(cohort, &aj)));
        out.push(json(cumulative_incidence_by_group(cohort, &aj)));
    }
    out
}

/// The text's data lines fed to one tally in pieces of `piece` bytes.
fn counted_in_pieces(text: &[u8], piece: usize) -> Result<Cohort, InvalidInput> {
    let (header, start) = read_cohort_csv_header(text)?;
    let mut tally = CohortCsvTally::new(&header);
    let fed = text[start..].chunks(piece).try_for_each(|p| tally.feed(p));
    combine_cohort_csv_tallies(&header, vec![fed.and_then(|()| tally.finish())])
}

fn same_as_subject_reader(text: &str) {
    let subjects = parse_cohort_csv(text.as_bytes());
    let sliced =
        (1..=4).map(|threads| (format!("{threads} slices"), parse_cohort_csv_counts(text.as_bytes(), threads)));
    let pieces = [1, 3, 7].map(|piece| (format!("pieces of {piece} bytes"), counted_in_pieces(text.as_bytes(), piece)));
    for (how, counts) in sliced.chain(pieces) {
        match (&subjects, &counts) {
            (Ok(s), Ok(c)) => assert_eq!(estimates(s), estimates(c), "{how} of {text:?}"),
            (Err(s), Err(c)) => assert_eq!(s, c, "{how} of {text:?}"),
            _ => panic!("{how} of {text:?}: {subjects:?} vs {counts:?}"),
        }
    }
}

#[test]
fn a_known_file_aggregates_to_distinct_cells() {
    let text = "id,group,duration_days,event\n1,a,5,1\n2,a,5,1\n3,b,5,0\n4,a,7,1\n5,b,5,0\n6,b,9,1\n";
    let c = parse_cohort_csv_counts(text.as_bytes(), 2).unwrap();
    assert_eq!(c.len(), 6);
    let km = kaplan_meier(&c, &KaplanMeierOptions::default()).unwrap();
    // 6 at risk at day 5 with 2 events (4 leave), then 2 at risk at day 7 with 1, then 1 at day 9 with 1.
    let survival: Vec<f64> = km.steps.iter().map(|s| s.survival).collect();
    let want = [4.0 / 6.0, 4.0 / 6.0 * 0.5, 0.0];
    assert_eq!(survival.len(), want.len());
    assert!(survival.iter().zip(want).all(|(s, w)| (s - w).abs() < 1e-15), "{survival:?}");
    same_as_subject_reader(text);
    same_as_subject_reader(&text.replace(",7,1", ",7,2"));
}

#[test]
fn errors_count_rows_from_the_start_of_the_file_in_every_slice() {
    let mut text = String::from("group,duration_days,event\n");
    for i in 0..1000 {
        text.push_str(&format!("{},{},{}\n", i % 3, i % 17, i % 2));
    }
    text.push_str("1,-4,1\n2,3,1\n");
    let e = parse_cohort_csv_counts(text.as_bytes(), 3).unwrap_err();
    assert_eq!((e.row, e.field.as_str()), (Some(1000), "duration_days"));
    same_as_subject_reader(&text);
    // A blank line inside the text is an error; blank lines at its end are not.
    same_as_subject_reader("group,duration_days,event\n1,2,1\n\n1,3,0\n1,4,1\n");
    same_as_subject_reader("group,duration_days,event\n1,2,1\n1,3,0\n\n\r\n\n");
}

#[test]
fn cox_refuses_an_aggregated_cohort() {
    let c = parse_cohort_csv_counts(b"group,duration_days,event\n1,2,1\n2,3,0\n1,4,1\n2,5,1\n", 1).unwrap();
    let with = c.with_group_indicators().unwrap();
    assert!(cox_proportional_hazards(&with, &CoxOptions::default()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn valid_files_with_ties_give_identical_estimates(
        header in prop_oneof![
            Just("id,group,duration_days,event\n"),
            Just("group,duration_days,event,x\r\n"),
            Just("duration_days,event\n"),
        ],
        rows in proptest::collection::vec((0i64..4, 0u32..12, 0u8..2, prop_oneof![Just(""), Just(".5")]), 0..80),
    ) {
        let mut text = String::from(header);
        for (i, (g, d, e, frac)) in rows.into_iter().enumerate() {
            let line = match header {
                "id,group,duration_days,event\n" => format!("{i},g{g},{d}{frac},{e}\n"),
                "group,duration_days,event,x\r\n" => format!("{g},{d}{frac},{e},{i}.25\r\n"),
                _ => format!("{d}{frac},{e}\n"),
            };
            text.push_str(&line);
        }
        same_as_subject_reader(&text);
    }

    #[test]
    fn competing_events_give_identical_cumulative_incidence(
        rows in proptest::collection::vec((0i64..3, 0u32..9, 0u8..4), 0..80),
    ) {
        let mut text = String::from("group,duration_days,event\n");
        for (g, d, e) in rows {
            text.push_str(&format!("{g},{d},{e}\n"));
        }
        same_as_subject_reader(&text);
    }

    #[test]
    fn any_text_gives_the_same_answer_as_the_subject_reader(
        rows in proptest::collection::vec(
            (prop_oneof![Just("1"), Just("a"), Just("-3"), Just(""), Just("x,y")],
             prop_oneof![Just("0"), Just("5"), Just("2.5"), Just("-0"), Just("-1"), Just("nan"), Just("")],
             prop_oneof![Just("0"), Just("1"), Just("2"), Just("300"), Just("x")],
             prop_oneof![Just("\n"), Just("\r\n"), Just("\n\n"), Just("\n\r\n"), Just("\r\r\n")]),
            0..30),
    ) {
        let mut text = String::from("group,duration_days,event\n");
        for (g, d, e, end) in rows {
            text.push_str(&format!("{g},{d},{e}{end}"));
        }
        same_as_subject_reader(&text);
    }
}
