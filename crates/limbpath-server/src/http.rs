//! Small HTTP helpers: credentials from the request, ETags and If-Match,
//! page parameters.

use crate::problem::Problem;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use serde::de::DeserializeOwned;

/// The browser cookies' names and attributes, which depend on whether the deployment is reached over TLS
/// (`Config::secure_cookies`, the setting that also marks cookies `Secure` and that HSTS requires).
///
/// Over TLS both cookies carry the `__Host-` prefix (ASVS 3.4.4): a browser accepts such a cookie only with
/// `Secure`, `Path=/` and no `Domain`, from a secure origin, so neither a sibling subdomain nor a plain-HTTP
/// response can plant or overwrite one. Over plain HTTP (development, tests, `limbpath demo` on loopback) a
/// browser refuses a `__Host-` cookie without `Secure`, so the names stay unprefixed there. Each mode reads
/// only the name it sets: over TLS an unprefixed cookie is ignored, else the prefix would protect nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cookies {
    tls: bool,
}

impl Cookies {
    /// Plain HTTP: `limbpath_session`, `limbpath_login`.
    pub const PLAIN: Cookies = Cookies { tls: false };
    /// Over TLS: `__Host-limbpath_session`, `__Host-limbpath_login`, both `Secure; Path=/`.
    pub const TLS: Cookies = Cookies { tls: true };

    pub fn new(tls: bool) -> Cookies {
        Cookies { tls }
    }

    /// The session cookie's name.
    pub fn session_name(self) -> &'static str {
        if self.tls { "__Host-limbpath_session" } else { "limbpath_session" }
    }

    /// The pre-login (login form CSRF) cookie's name.
    pub fn login_name(self) -> &'static str {
        if self.tls { "__Host-limbpath_login" } else { "limbpath_login" }
    }

    /// `Set-Cookie` for a new session: HttpOnly, SameSite=Strict, Path=/, and
    /// Secure over TLS.
    pub fn session(self, token: &str, max_age_s: i64) -> HeaderValue {
        self.set(self.session_name(), token, "/", max_age_s)
    }

    /// `Set-Cookie` that clears the session cookie (with the attributes it was
    /// set with: a browser ignores a `__Host-` cookie without `Secure`, even to delete it).
    pub fn clear_session(self) -> HeaderValue {
        self.set(self.session_name(), "", "/", 0)
    }

    /// `Set-Cookie` for the pre-login nonce: `Path=/login` over plain HTTP;
    /// over TLS the prefix requires `Path=/`.
    pub fn login(self, nonce: &str) -> HeaderValue {
        self.set(self.login_name(), nonce, if self.tls { "/" } else { "/login" }, 3600)
    }

    /// The session cookie's value, if the request carries the cookie of this mode.
    pub fn read_session(self, headers: &HeaderMap) -> Option<String> {
        cookie(headers, self.session_name())
    }

    /// The pre-login cookie's value, if the request carries the cookie of this mode.
    pub fn read_login(self, headers: &HeaderMap) -> Option<String> {
        cookie(headers, self.login_name())
    }

    fn set(self, name: &str, value: &str, path: &str, max_age_s: i64) -> HeaderValue {
        let secure = if self.tls { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={max_age_s}{secure}"
        ))
        // Tokens and nonces are hex, so this is unreachable; were it not, no usable cookie is set.
        .unwrap_or_else(|_| HeaderValue::from_static("limbpath_invalid=; Max-Age=0"))
    }
}

/// The first non-empty value of the cookie `name`.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (n, value) = pair.trim().split_once('=')?;
        (n == name && !value.is_empty()).then(|| value.to_owned())
    })
}

/// The credential a request carries: `Authorization: Bearer <token>` wins over
/// the session cookie (of the mode `cookies`); an `Authorization` header of
/// another scheme is no credential, whatever the cookie.
pub fn credential(headers: &HeaderMap, cookies: Cookies) -> Option<String> {
    match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(v) => bearer_token(v),
        None => cookies.read_session(headers),
    }
}

/// The token of `Authorization: Bearer <token>` (never a cookie).
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    bearer_token(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

fn bearer_token(authorization: &str) -> Option<String> {
    let (scheme, token) = authorization.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim().to_owned())
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
        let plain = Cookies::PLAIN;
        let h = headers(&[(header::AUTHORIZATION, "Bearer abc"), (header::COOKIE, "limbpath_session=xyz")]);
        assert_eq!(credential(&h, plain).as_deref(), Some("abc"));
        let h = headers(&[(header::COOKIE, "theme=dark; limbpath_session=xyz")]);
        assert_eq!(credential(&h, plain).as_deref(), Some("xyz"));
        let h = headers(&[(header::AUTHORIZATION, "Basic dXNlcjpwYXNz"), (header::COOKIE, "limbpath_session=xyz")]);
        assert_eq!(credential(&h, plain), None);
        assert_eq!(credential(&headers(&[(header::COOKIE, "limbpath_session=")]), plain), None);
        assert_eq!(credential(&HeaderMap::new(), plain), None);
    }

    #[test]
    fn each_mode_reads_only_the_cookie_name_it_sets() {
        let both = headers(&[(header::COOKIE, "limbpath_session=plain; __Host-limbpath_session=host")]);
        assert_eq!(credential(&both, Cookies::PLAIN).as_deref(), Some("plain"));
        assert_eq!(credential(&both, Cookies::TLS).as_deref(), Some("host"));
        let unprefixed = headers(&[(header::COOKIE, "limbpath_session=t; limbpath_login=n")]);
        assert_eq!(credential(&unprefixed, Cookies::TLS), None);
        assert_eq!(Cookies::TLS.read_login(&unprefixed), None);
        let prefixed = headers(&[(header::COOKIE, "__Host-limbpath_session=t; __Host-limbpath_login=n")]);
        assert_eq!(credential(&prefixed, Cookies::PLAIN), None);
        assert_eq!(Cookies::PLAIN.read_login(&prefixed), None);
        assert_eq!(Cookies::TLS.read_login(&prefixed).as_deref(), Some("n"));
        assert_eq!(Cookies::new(true), Cookies::TLS);
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
        let c = Cookies::TLS.session("t0k", 3600);
        assert_eq!(c, "__Host-limbpath_session=t0k; HttpOnly; SameSite=Strict; Path=/; Max-Age=3600; Secure");
        let c = Cookies::PLAIN.session("t0k", 3600);
        assert_eq!(c, "limbpath_session=t0k; HttpOnly; SameSite=Strict; Path=/; Max-Age=3600");
    }

    #[test]
    fn host_prefixed_cookies_are_secure_path_root_and_have_no_domain() {
        let tls = Cookies::TLS;
        for c in [tls.session("t0k", 60), tls.clear_session(), tls.login("n0nce")] {
            let s = c.to_str().unwrap();
            assert!(s.starts_with("__Host-"), "{s}");
            assert!(
                s.contains("; Secure") && s.contains("; Path=/;") && !s.to_ascii_lowercase().contains("domain"),
                "{s}"
            );
        }
        assert_eq!(
            tls.clear_session(),
            "__Host-limbpath_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure"
        );
        // over plain HTTP: unprefixed, not Secure, and the pre-login nonce only for /login
        let plain = Cookies::PLAIN;
        assert_eq!(plain.clear_session(), "limbpath_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
        assert_eq!(plain.login("n0nce"), "limbpath_login=n0nce; HttpOnly; SameSite=Strict; Path=/login; Max-Age=3600");
    }
}
