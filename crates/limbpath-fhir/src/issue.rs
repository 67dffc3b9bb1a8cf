//! Typed errors: what was wrong, where (a FHIRPath-like location such as
//! `Bundle.entry[3].resource.code`), the value, and what is accepted; and
//! their FHIR form, an OperationOutcome.

use crate::r4::{OperationOutcome, OperationOutcomeIssue};
use serde::Serialize;
use std::fmt;

/// How bad an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The import is refused.
    Error,
    /// Worth telling the user; the import goes on.
    Warning,
}

/// What kind of problem, as FHIR's issue types name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// Not JSON, not an object, or an element of the wrong JSON type.
    Structure,
    /// A required element is missing.
    Required,
    /// An element has a value LimbPath cannot accept (a bad date, a
    /// measurement outside the plausible range).
    Value,
    /// A reference that does not resolve within the import.
    NotFound,
    /// The same resource (fullUrl or type/id) twice.
    Duplicate,
    /// Something LimbPath does not support (a bundle type, a modifier extension).
    NotSupported,
    /// Record data that contradicts other record data (LimbPath's own rules).
    BusinessRule,
}

impl IssueKind {
    /// The FHIR IssueType code (<http://hl7.org/fhir/issue-type>).
    pub fn fhir_code(self) -> &'static str {
        match self {
            IssueKind::Structure => "structure",
            IssueKind::Required => "required",
            IssueKind::Value => "value",
            IssueKind::NotFound => "not-found",
            IssueKind::Duplicate => "duplicate",
            IssueKind::NotSupported => "not-supported",
            IssueKind::BusinessRule => "business-rule",
        }
    }
}

/// One problem found while importing or exporting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    pub severity: Severity,
    pub kind: IssueKind,
    /// Where: `Bundle.entry[3].resource.code`, `ndjson[line 7].subject.reference`,
    /// or a record path (`wounds[2].episode_id`) on export.
    pub location: String,
    /// The offending value as text (empty when the element is missing).
    pub value: String,
    /// What is wrong, in words.
    pub problem: String,
    /// What would be accepted.
    pub expected: String,
}

impl Issue {
    pub(crate) fn error(
        kind: IssueKind,
        location: impl Into<String>,
        value: impl fmt::Display,
        problem: impl Into<String>,
        expected: impl Into<String>,
    ) -> Issue {
        let mut value = value.to_string();
        if value.chars().count() > 200 {
            value = value.chars().take(200).chain("…".chars()).collect();
        }
        Issue {
            severity: Severity::Error,
            kind,
            location: location.into(),
            value,
            problem: problem.into(),
            expected: expected.into(),
        }
    }

    pub(crate) fn warning(
        kind: IssueKind,
        location: impl Into<String>,
        value: impl fmt::Display,
        problem: impl Into<String>,
        expected: impl Into<String>,
    ) -> Issue {
        Issue { severity: Severity::Warning, ..Issue::error(kind, location, value, problem, expected) }
    }

    fn to_fhir(&self) -> OperationOutcomeIssue {
        OperationOutcomeIssue {
            severity: match self.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            }
            .to_owned(),
            code: self.kind.fhir_code().to_owned(),
            diagnostics: Some(self.to_string()),
            expression: vec![self.location.clone()],
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.problem)?;
        if !self.value.is_empty() {
            write!(f, " (got {:?})", self.value)?;
        }
        if !self.expected.is_empty() {
            write!(f, "; expected {}", self.expected)?;
        }
        Ok(())
    }
}

impl std::error::Error for Issue {}

/// An OperationOutcome listing the issues (errors first, in input order).
pub fn operation_outcome(issues: &[Issue]) -> OperationOutcome {
    let mut list: Vec<&Issue> = issues.iter().collect();
    list.sort_by_key(|i| i.severity != Severity::Error);
    OperationOutcome { issue: list.into_iter().map(Issue::to_fhir).collect(), ..OperationOutcome::default() }
}

/// An import refused: every error found (not only the first), and the
/// warnings gathered on the way.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("the import was refused: {} error(s), the first: {}", .errors.len(), .errors.first().map(ToString::to_string).unwrap_or_default())]
pub struct ImportError {
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

impl ImportError {
    /// The errors and warnings as a FHIR OperationOutcome.
    pub fn operation_outcome(&self) -> OperationOutcome {
        let all: Vec<Issue> = self.errors.iter().chain(&self.warnings).cloned().collect();
        operation_outcome(&all)
    }
}

/// Export failed: the record contradicts itself (a wound whose episode is not
/// in the record, a timestamp FHIR cannot express).
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{0}")]
pub struct ExportError(pub Issue);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issue_reads_as_location_problem_value_expected() {
        let i = Issue::error(
            IssueKind::Value,
            "Bundle.entry[3].resource.birthDate",
            "1999-13-01",
            "not a date",
            "YYYY-MM-DD",
        );
        assert_eq!(
            i.to_string(),
            "Bundle.entry[3].resource.birthDate: not a date (got \"1999-13-01\"); expected YYYY-MM-DD"
        );
    }

    #[test]
    fn the_operation_outcome_lists_errors_before_warnings_with_their_locations() {
        let w = Issue::warning(IssueKind::NotFound, "a", "", "w", "");
        let e = Issue::error(IssueKind::Required, "b", "", "e", "");
        let oo = operation_outcome(&[w, e]);
        assert_eq!(oo.issue.len(), 2);
        assert_eq!(oo.issue[0].severity, "error");
        assert_eq!(oo.issue[0].code, "required");
        assert_eq!(oo.issue[0].expression, vec!["b".to_owned()]);
        assert_eq!(oo.issue[1].severity, "warning");
        assert_eq!(oo.issue[1].code, "not-found");
    }

    #[test]
    fn long_values_are_cut() {
        let i = Issue::error(IssueKind::Value, "x", "y".repeat(500), "p", "");
        assert_eq!(i.value.chars().count(), 201);
    }
}
