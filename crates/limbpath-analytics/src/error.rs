//! The errors the estimators return: an input they cannot accept (naming the
//! row, the field, the value and what is accepted), or a cohort on which an
//! estimate does not exist (no events, collinear covariates, ...).

use serde::Serialize;
use std::fmt;

/// What was wrong with an input value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// A required column, field or value was not given.
    Missing,
    /// NaN, infinity, or text that is not a number.
    NotANumber,
    /// A number outside what the field can hold.
    OutOfRange,
    /// A code or word the field does not know.
    Unrecognised,
    /// Values that contradict each other (a row with more or fewer fields than the header).
    Inconsistent,
}

/// An input the estimators cannot accept. Nothing is estimated from a cohort
/// that contains one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct InvalidInput {
    /// The subject's row, 0-based, in the order the caller gave the subjects
    /// (for CSV input: the data row, so the file line is `row + 2`). Absent
    /// for an option or a header problem.
    pub row: Option<usize>,
    /// The field, as named in the input (`duration_days`, `covariates.age`,
    /// `options.alpha`).
    pub field: String,
    /// The value given, as text; absent when it was missing.
    pub value: Option<String>,
    /// What was wrong with it.
    pub problem: Problem,
    /// What the field accepts, in words.
    pub accepted: String,
}

impl InvalidInput {
    /// An invalid value in subject `row`.
    pub fn in_row(
        row: usize,
        field: impl Into<String>,
        value: Option<String>,
        problem: Problem,
        accepted: &str,
    ) -> Self {
        InvalidInput { row: Some(row), field: field.into(), value, problem, accepted: accepted.to_string() }
    }

    /// An invalid option or header, not tied to one subject.
    pub fn option(field: impl Into<String>, value: Option<String>, problem: Problem, accepted: &str) -> Self {
        InvalidInput { row: None, field: field.into(), value, problem, accepted: accepted.to_string() }
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(row) = self.row {
            write!(f, "row {row}: ")?;
        }
        let value = self.value.as_deref().unwrap_or("");
        match self.problem {
            Problem::Missing => write!(f, "{} is missing; accepted: {}", self.field, self.accepted),
            Problem::NotANumber => write!(f, "{} = {value:?} is not a number; accepted: {}", self.field, self.accepted),
            Problem::OutOfRange => write!(f, "{} = {value} is out of range; accepted: {}", self.field, self.accepted),
            Problem::Unrecognised => {
                write!(f, "{} = {value:?} is not recognised; accepted: {}", self.field, self.accepted)
            }
            Problem::Inconsistent => write!(f, "{} = {value:?} is inconsistent; {}", self.field, self.accepted),
        }
    }
}

/// Why an estimator returned no result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnalyticsError {
    /// An input value or option the estimator cannot accept.
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    /// The cohort is valid but the estimate does not exist for it (for
    /// example a Cox model on a cohort with no events).
    #[error("{estimator} cannot be estimated: {reason}")]
    NotEstimable {
        /// The estimator, in words ("Cox proportional hazards").
        estimator: &'static str,
        /// Why, in words a statistician would use.
        reason: String,
    },
}

impl AnalyticsError {
    pub(crate) fn not_estimable(estimator: &'static str, reason: impl Into<String>) -> Self {
        AnalyticsError::NotEstimable { estimator, reason: reason.into() }
    }
}
