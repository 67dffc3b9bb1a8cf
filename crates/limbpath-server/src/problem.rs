//! Errors as RFC 9457 `application/problem+json`, naming the field that was wrong.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use limbpath_clinical::InvalidInput;
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// `Retry-After` of a 503 or 507 answer (the database or its disk unavailable).
pub const RETRY_AFTER_SECONDS: &str = "5";

/// A problem document (RFC 9457) with LimbPath's extension members.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// A URI reference identifying the problem type (relative, documented in README).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// The field that was wrong, as a dotted path in the request body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            kind,
            title,
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            value: None,
            accepted: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn invalid(e: InvalidInput) -> Self {
        Problem {
            kind: "/problems/invalid-input",
            title: "Invalid input",
            status: StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
            detail: e.to_string(),
            field: Some(e.field),
            value: e.value,
            accepted: Some(e.accepted),
        }
    }

    pub fn malformed(detail: impl Into<String>, field: Option<String>) -> Self {
        Problem {
            field,
            ..Problem::new(StatusCode::BAD_REQUEST, "/problems/malformed-request", "Malformed request", detail)
        }
    }

    pub fn unauthenticated() -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "/problems/unauthenticated",
            "Authentication required",
            "log in, or send a bearer token",
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, "/problems/forbidden", "Forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "/problems/not-found", "Not found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::CONFLICT, "/problems/conflict", "Conflict", detail)
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::PRECONDITION_FAILED, "/problems/stale-version", "Stale version", detail)
    }

    pub fn precondition_required() -> Self {
        Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "/problems/if-match-required",
            "If-Match required",
            "send the record's ETag in If-Match to update it",
        )
    }

    pub fn too_many_requests(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::TOO_MANY_REQUESTS, "/problems/rate-limited", "Too many requests", detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "/problems/unavailable", "Service unavailable", detail)
    }

    /// The disk holding the database is full (507 Insufficient Storage).
    pub fn storage_full(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::INSUFFICIENT_STORAGE, "/problems/storage-full", "Storage full", detail)
    }

    pub fn internal() -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "/problems/internal",
            "Internal error",
            "the server could not complete the request; it has been logged",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        // The database or its disk is unavailable: a retry may succeed later.
        if matches!(status, StatusCode::SERVICE_UNAVAILABLE | StatusCode::INSUFFICIENT_STORAGE) {
            response.headers_mut().entry(header::RETRY_AFTER).or_insert(HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        response
    }
}

impl From<InvalidInput> for Problem {
    fn from(e: InvalidInput) -> Self {
        Problem::invalid(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use limbpath_clinical::Problem as Kind;

    #[test]
    fn invalid_input_becomes_422_naming_the_field() {
        let p = Problem::invalid(InvalidInput::out_of_range("findings.ischaemia.abi", -1, "a number from 0 to 3"));
        assert_eq!(p.status, 422);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["type"], "/problems/invalid-input");
        assert_eq!(v["field"], "findings.ischaemia.abi");
        assert_eq!(v["value"], "-1");
        assert!(v["detail"].as_str().unwrap().contains("out of range"));
        let _ = Kind::OutOfRange;
    }

    #[test]
    fn unavailable_and_storage_full_say_when_to_retry() {
        for p in [Problem::unavailable("down"), Problem::storage_full("full")] {
            let r = p.into_response();
            assert_eq!(r.headers()[header::RETRY_AFTER], RETRY_AFTER_SECONDS);
            assert_eq!(r.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        }
        assert_eq!(Problem::storage_full("full").status, 507);
        assert!(!Problem::not_found("x").into_response().headers().contains_key(header::RETRY_AFTER));
    }

    #[test]
    fn responses_carry_the_problem_content_type() {
        let r = Problem::not_found("no patient 1").into_response();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(r.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
