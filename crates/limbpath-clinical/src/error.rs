//! The one error the engine returns: an input it cannot accept, naming the
//! field, the value and what is accepted.

use serde::Serialize;
use std::fmt;

/// What was wrong with the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// A required field was not given.
    Missing,
    /// NaN or infinity.
    NotANumber,
    /// A number outside what the field can physically or by definition hold.
    OutOfRange,
    /// A code or word that is not in the field's vocabulary.
    Unrecognised,
    /// Values that contradict each other (e.g. CEAP `An` with `Ad`).
    Inconsistent,
}

/// An input the engine cannot accept. Nothing is derived from a request that
/// contains one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct InvalidInput {
    /// The field, as named in the JSON input (dotted path inside `assess`).
    pub field: String,
    /// The value given, as text; absent when the field was missing.
    pub value: Option<String>,
    pub problem: Problem,
    /// What the field accepts, in words.
    pub accepted: String,
}

impl InvalidInput {
    pub fn new(field: impl Into<String>, value: Option<String>, problem: Problem, accepted: impl Into<String>) -> Self {
        InvalidInput { field: field.into(), value, problem, accepted: accepted.into() }
    }

    pub fn missing(field: impl Into<String>, accepted: impl Into<String>) -> Self {
        Self::new(field, None, Problem::Missing, accepted)
    }

    pub fn out_of_range(field: impl Into<String>, value: impl ToString, accepted: impl Into<String>) -> Self {
        Self::new(field, Some(value.to_string()), Problem::OutOfRange, accepted)
    }

    pub fn unrecognised(field: impl Into<String>, value: impl ToString, accepted: impl Into<String>) -> Self {
        Self::new(field, Some(value.to_string()), Problem::Unrecognised, accepted)
    }

    pub fn inconsistent(field: impl Into<String>, value: impl ToString, accepted: impl Into<String>) -> Self {
        Self::new(field, Some(value.to_string()), Problem::Inconsistent, accepted)
    }

    /// Prefix the field with the section it came from (`perfusion.abi`).
    pub fn within(mut self, section: &str) -> Self {
        self.field = format!("{section}.{}", self.field);
        self
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.value.as_deref().unwrap_or("");
        match self.problem {
            Problem::Missing => write!(f, "{} is required; accepted: {}", self.field, self.accepted),
            Problem::NotANumber => {
                write!(f, "{} = {value} is not a number; accepted: {}", self.field, self.accepted)
            }
            Problem::OutOfRange => {
                write!(f, "{} = {value} is out of range; accepted: {}", self.field, self.accepted)
            }
            Problem::Unrecognised => {
                write!(f, "{} = {value:?} is not recognised; accepted: {}", self.field, self.accepted)
            }
            Problem::Inconsistent => {
                write!(f, "{} = {value:?} is inconsistent; {}", self.field, self.accepted)
            }
        }
    }
}

pub type Result<T> = std::result::Result<T, InvalidInput>;
