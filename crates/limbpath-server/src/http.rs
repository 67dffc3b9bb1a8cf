//! Small HTTP helpers: credentials from the request, ETags and If-Match,
//! page parameters.

use crate::problem::Problem;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use serde::de::DeserializeOwned;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "limbpath_session";

/// The credential a request carries: `Authorization: Bearer <token>` wins over
/// the session cookie.
pub fn credential(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = v.split_once(' ')?;
        return (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim().to_owned());
    }
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SESSION_COOKIE && !value.is_empty()).then(|| value.to_owned())
    })
}

/// A strong ETag for a record version: `"7"`.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// The version an update expects, from `If-Match` (required on updates).
pub fn if_match(headers: &HeaderMap) -> Result<i64, Problem> {
    let raw = headers.get(header::IF_MATCH).ok_or_else(Problem::precondition_required)?;
    let text = raw.to_str().map_err(|_| Problem::malformed("If-Match is not text", Some("If-Match".into())))?;
    let text = text.trim().trim_start_matches("W/").trim_matches('"');
    text.parse::<i64>().ok().filter(|v| *v >= 1).ok_or_else(|| {
        Problem::malformed(format!("If-Match {text:?} is not a LimbPath ETag such as \"3\""), Some("If-Match".into()))
    })
}

/// `Set-Cookie` for a new session: HttpOnly, SameSite=Strict, Path=/, and
/// Secure when the deployment is served over TLS.
pub fn session_cookie(token: &str, max_age_s: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_s}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("limbpath_session=; Max-Age=0; Path=/"))
}

/// `Set-Cookie` that clears the session cookie.
pub fn clear_session_cookie() -> HeaderValue {
    HeaderValue::from_static("limbpath_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

/// Query parameters for the API: a value that cannot be read is a
/// problem+json 400 naming the parameter (axum's own `Query` answers plain text).
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        Query::<T>::try_from_uri(&parts.uri).map(|Query(v)| QueryParams(v)).map_err(|e| {
            let detail = e.body_text();
            Problem::malformed(detail.clone(), query_field(&detail))
        })
    }
}

/// The parameter axum's rejection names: `Failed to deserialize query string: limit: invalid digit…`.
fn query_field(detail: &str) -> Option<String> {
    let (_, rest) = detail.split_once(": ")?;
    let (field, _) = rest.split_once(": ")?;
    (!field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']')))
        .then(|| field.to_owned())
}

/// Page size bounds for list endpoints.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// A requested page size, clamped to bounds; an unusable value is a 400 naming `limit`.
pub fn page_limit(limit: Option<u32>) -> Result<u32, Problem> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(0) => Err(Problem::malformed("limit must be at least 1", Some("limit".into()))),
        Some(n) => Ok(n.min(MAX_LIMIT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn bearer_wins_over_cookie_and_bad_schemes_are_ignored() {
        let h = headers(&[(header::AUTHORIZATION, "Bearer abc"), (header::COOKIE, "limbpath_session=xyz")]);
        assert_eq!(credential(&h).as_deref(), Some("abc"));
        let h = headers(&[(header::COOKIE, "theme=dark; limbpath_session=xyz")]);
        assert_eq!(credential(&h).as_deref(), Some("xyz"));
        let h = headers(&[(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")]);
        assert_eq!(credential(&h), None);
        assert_eq!(credential(&headers(&[(header::COOKIE, "limbpath_session=")])), None);
        assert_eq!(credential(&HeaderMap::new()), None);
    }

    #[test]
    fn if_match_parses_etags_and_requires_one() {
        assert_eq!(if_match(&headers(&[(header::IF_MATCH, "\"3\"")])).unwrap(), 3);
        assert_eq!(if_match(&headers(&[(header::IF_MATCH, "W/\"12\"")])).unwrap(), 12);
        assert_eq!(if_match(&HeaderMap::new()).unwrap_err().status, 428);
        assert_eq!(if_match(&headers(&[(header::IF_MATCH, "\"abc\"")])).unwrap_err().status, 400);
        assert_eq!(if_match(&headers(&[(header::IF_MATCH, "*")])).unwrap_err().status, 400);
        assert_eq!(etag(7), "\"7\"");
    }

    #[test]
    fn unreadable_query_parameters_are_problems_naming_the_parameter() {
        #[derive(Debug, serde::Deserialize)]
        struct P {
            #[allow(dead_code)]
            limit: Option<u32>,
        }
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let extract = |uri: &str| {
            let (mut parts, ()) = axum::http::Request::builder().uri(uri).body(()).unwrap().into_parts();
            rt.block_on(QueryParams::<P>::from_request_parts(&mut parts, &()))
        };
        assert!(extract("/x?limit=5").is_ok());
        let p = extract("/x?limit=abc").unwrap_err();
        assert_eq!((p.status, p.field.as_deref()), (400, Some("limit")));
        let p = extract("/x?limit=%27%20OR%201%3D1").unwrap_err();
        assert_eq!(p.field.as_deref(), Some("limit"));
        assert_eq!(query_field("no colon here"), None);
    }

    #[test]
    fn page_limits() {
        assert_eq!(page_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(page_limit(Some(10_000)).unwrap(), MAX_LIMIT);
        assert!(page_limit(Some(0)).is_err());
    }

    #[test]
    fn session_cookie_is_http_only_and_strict() {
        let c = session_cookie("t0k", 3600, true);
        let s = c.to_str().unwrap();
        assert!(
            s.contains("HttpOnly")
                && s.contains("SameSite=Strict")
                && s.contains("Secure")
                && s.contains("Max-Age=3600")
        );
    }
}
