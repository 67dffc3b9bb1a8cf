//! # limbpath-analytics
//!
//! Outcomes analytics for the limb salvage programme: the survival estimators
//! a registry report needs, exact and fast enough for 10,000,000 subjects.
//!
//! - [`kaplan_meier`] / [`kaplan_meier_by_group`]: product-limit survival,
//!   Greenwood variance, log(-log) intervals, median and its interval,
//!   survival and numbers at risk at caller-given times (lifelines' conventions).
//! - [`log_rank_test`]: k-sample log-rank test and all pairwise tests.
//! - [`cumulative_incidence`] / [`cumulative_incidence_by_group`]:
//!   Aalen-Johansen cumulative incidence with competing events.
//! - [`cox_proportional_hazards`]: Cox regression, Efron ties (as R's `coxph`).
//! - [`parse_cohort_csv`]: a cohort from CSV bytes the caller has read.
//! - [`outcomes`]: the programme's outcome definitions (versioned data) from an
//!   episode's dated history; [`programme`]: the per-episode analysis table,
//!   stratified analyses, Cox with chosen covariates and observed-versus-expected
//!   benchmarking with Poisson funnel limits.
//! - [`synthetic_cohort`] and friends: the benchmark cohort of `shared/bench/cohort.md`.
//!
//! Invariants:
//! - Pure: no I/O (no files, network, clock, environment, threads or OS
//!   randomness). The caller reads files and passes bytes or values.
//! - A [`Cohort`] is validated once (errors name the row, the field and the
//!   value) and sorted once by duration; every estimator is then one pass
//!   (Cox: one pass per Newton iteration) with memory linear in the cohort.
//! - Every result says what was computed in a `method` sentence, carries the
//!   counts it used, and serialises with serde (undefined values as absent,
//!   never NaN). Nothing panics on any input.
//! - The estimators are validated against lifelines and R `survival` on the
//!   fixtures in `fixtures/` (see `tests/fixtures.rs`).
//!
//! This crate computes statistics; it holds no clinical thresholds. The outcome
//! definitions in [`outcomes`] are LimbPath operational definitions over the
//! record's vocabularies (amputation levels, procedure and outcome kinds), and
//! say so in every result.

mod cohort;
mod cox;
mod csv;
mod cumulative_incidence;
mod distribution;
mod error;
mod kaplan_meier;
mod log_rank;
pub mod outcomes;
pub mod programme;
mod synthetic;

pub use cohort::{CENSORED, Cohort, CohortBuilder, EVENT, GroupLabel, Subject};
pub use cox::{ChiSquareTest, Concordance, CoxCoefficient, CoxModel, CoxOptions, cox_proportional_hazards};
pub use csv::{
    CohortCsvHeader, CohortCsvTally, combine_cohort_csv_tallies, parse_cohort_csv, parse_cohort_csv_counts,
    read_cohort_csv_header,
};
pub use cumulative_incidence::{
    CumulativeIncidence, CumulativeIncidenceOptions, CumulativeIncidenceStep, IncidenceAtTime, cumulative_incidence,
    cumulative_incidence_by_group,
};
pub use error::{AnalyticsError, InvalidInput, Problem};
pub use kaplan_meier::{
    ConfidenceTransform, KaplanMeier, KaplanMeierOptions, KaplanMeierStep, MedianSurvival, ReportingHorizon,
    STANDARD_HORIZONS, SurvivalAtTime, kaplan_meier, kaplan_meier_by_group, standard_horizon_days,
};
pub use log_rank::{GroupEvents, LogRankTest, PairwiseLogRank, log_rank_test};
pub use synthetic::{
    REFERENCE_SEED, SYNTHETIC_CSV_HEADER, SyntheticRow, append_synthetic_csv_rows, synthetic_cohort, synthetic_csv,
    synthetic_row,
};
