//! The clinician's web UI: server-rendered HTML over the same store, session,
//! role matrix, patient scoping and audit trail as the JSON API.
//!
//! - Pages work without JavaScript; `/static/app.js` only enhances (the foot
//!   map's clickable regions, the print button). CSS and JS are files compiled
//!   into the binary: the CSP forbids inline scripts and styles.
//! - Every page and action follows the API's flow: authenticate (the session
//!   cookie) → role matrix → a patient account sees its own record only →
//!   act → audit (denials too). An expired session redirects to the login page
//!   with a message.
//! - Every form carries a CSRF token: hex SHA-256 of a fixed label and the
//!   session token (stateless; compared in constant time). The login form,
//!   which has no session yet, uses a random pre-login cookie the same way.
//! - All HTML goes through [`html::Markup`] and the `html!` macro, which
//!   escape every runtime value.

pub mod analytics_charts;
pub mod chart;
pub mod footmap;
pub mod html;

pub mod analytics;
mod care;
mod forms;
mod pages;
pub mod templates;
pub mod visits;

use crate::app::{AppState, Audit, Caller, RemoteAddr, log_error, remote};
use crate::http::credential;
use crate::problem::Problem;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use html::Markup;
use limbpath_record::Role;
use limbpath_store::AuditOutcome;
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub use pages::{patient_list_page, patient_page};

const APP_CSS: &str = include_str!("assets/app.css");
const APP_JS: &str = include_str!("assets/app.js");
const CSRF_LABEL: &str = "limbpath-web-csrf-v1";
pub(crate) const CSRF_FIELD: &str = "_csrf";

/// The web routes (merged into [`crate::router`]).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", axum::routing::post(pages::logout))
        .route("/account/password", get(pages::password_form).post(pages::change_password))
        .route("/patients", get(pages::patient_list))
        .route("/patients/{id}", get(pages::patient))
        .route("/patients/{id}/summary", get(pages::summary))
        .route("/assessments/{id}", get(pages::assessment))
        .route("/episodes/{id}/assessments/new", get(pages::assessment_form).post(pages::assessment_create))
        .route("/admin/audit", get(pages::admin_audit))
        .route("/admin/users", get(pages::admin_users))
        .route("/analytics", get(analytics::dashboard))
        .merge(forms::routes())
        .merge(care::routes())
        .merge(templates::routes())
        .merge(visits::routes())
        .route("/static/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
        .route("/static/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .layer(axum::middleware::map_response(security_headers))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}

/// CSP without inline scripts or styles, no framing, no referrer, no sniffing.
async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// A logged-in browser session.
pub(crate) struct Web {
    pub caller: Caller,
    /// The CSRF token of this session's forms.
    pub csrf: String,
    pub remote: Option<String>,
}

impl Web {
    pub fn role(&self) -> Role {
        self.caller.role()
    }
    pub fn audit<'a>(&'a self, state: &'a AppState, action: &'static str, entity: &'static str) -> Audit<'a> {
        Audit::of(state, &self.caller, self.remote.clone(), action, entity)
    }
}

/// The CSRF token for a secret (session token or pre-login nonce).
pub fn csrf_token(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(CSRF_LABEL.as_bytes());
    h.update([0u8]);
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal in constant time (for equal lengths).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Authenticate a browser request by its session cookie; audited like the
/// API. No or an expired session redirects to the login page.
pub(crate) async fn session(
    state: &AppState,
    headers: &HeaderMap,
    addr: &RemoteAddr,
    entity: &'static str,
) -> Result<Web, Response> {
    let remote = remote(addr);
    let token = credential(headers, state.config.cookies());
    let found = match &token {
        Some(t) => state
            .store
            .session_user(t, state.config.session_idle)
            .await
            .map_err(|e| error_page(None, crate::app::store_problem(e).0))?,
        None => None,
    };
    match (found, token) {
        (Some((user, _)), Some(token)) => Ok(Web { caller: Caller { user }, csrf: csrf_token(&token), remote }),
        (_, token) => {
            let audit = Audit { state, caller: None, remote, action: "denied", entity };
            let why = if token.is_some() { "invalid or expired credential" } else { "no credential" };
            audit.record(None, None, AuditOutcome::Denied, why).await.map_err(|p| error_page(None, p))?;
            let to = if token.is_some() { "/login?expired=1" } else { "/login" };
            let mut r = redirect(to);
            if token.is_some() {
                r.headers_mut().insert(header::SET_COOKIE, state.config.cookies().clear_session());
            }
            Err(r)
        }
    }
}

/// Check a form's CSRF token; a missing or wrong one is 403 and audited.
/// A form that is not UTF-8 once decoded is refused first (400, audited).
pub(crate) async fn check_csrf(state: &AppState, web: &Web, form: &forms::FormData) -> Result<(), Response> {
    if form.undecodable() {
        return Err(refuse_undecodable(&web.audit(state, "denied", "form"), Some(web)).await);
    }
    let sent = form.get(CSRF_FIELD).unwrap_or("");
    if constant_time_eq(sent.as_bytes(), web.csrf.as_bytes()) {
        return Ok(());
    }
    let audit = web.audit(state, "denied", "form");
    audit
        .record(None, None, AuditOutcome::Denied, "CSRF token missing or wrong")
        .await
        .map_err(|p| page_error(web, p))?;
    Err(page_error(
        web,
        Problem::forbidden("the form's security token is missing or out of date: reload the page and submit it again"),
    ))
}

/// The answer to a form whose text is not UTF-8: 400, audited, nothing done.
pub(crate) async fn refuse_undecodable(audit: &Audit<'_>, web: Option<&Web>) -> Response {
    if let Err(p) = audit.record(None, None, AuditOutcome::Invalid, "form text is not UTF-8").await {
        return error_page(web, p);
    }
    error_page(
        web,
        Problem::malformed("the form contained text that is not UTF-8; nothing was saved: please type it again", None),
    )
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf_field(token: &str) -> Markup {
    crate::markup!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", CSRF_FIELD, token)
}

pub(crate) fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A page: the layout around `body`, with the navigation for the caller's role.
pub(crate) fn page(web: Option<&Web>, title: &str, body: Markup) -> Response {
    page_with(web, title, body, "")
}

/// A page with an extra class on `<body>` (e.g. the printable summary).
pub(crate) fn page_with(web: Option<&Web>, title: &str, body: Markup, body_class: &'static str) -> Response {
    let mut m = Markup::new();
    crate::html!(
        m,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · LimbPath</title><link rel=\"stylesheet\" href=\"/static/app.css\"><script src=\"/static/app.js\" defer></script></head><body class=\"{}\"><a class=\"skip\" href=\"#main\">Skip to content</a><header class=\"top\"><a class=\"brand\" href=\"/\">LimbPath</a>",
        title,
        body_class
    );
    if let Some(web) = web {
        crate::html!(m, "<nav aria-label=\"Main\"><ul>");
        match web.role() {
            Role::Admin | Role::Clinician | Role::Coordinator => {
                crate::html!(
                    m,
                    "<li><a href=\"/worklist\">Worklist</a></li><li><a href=\"/patients\">Patients</a></li><li><a href=\"/patients/new\">New patient</a></li><li><a href=\"/alerts\">Alerts</a></li><li><a href=\"/referrals\">Referrals</a></li><li><a href=\"/programme/instructions\">Instructions</a></li><li><a href=\"/analytics\">Outcomes</a></li>"
                );
            }
            Role::Patient => {
                if let Some(p) = &web.caller.user.data.patient_id {
                    crate::html!(
                        m,
                        "<li><a href=\"/check-in\">Check in</a></li><li><a href=\"{}\">My record</a></li>",
                        format!("/patients/{p}")
                    );
                }
            }
            Role::Analyst => crate::html!(m, "<li><a href=\"/analytics\">Outcomes</a></li>"),
        }
        if web.role() == Role::Admin {
            crate::html!(
                m,
                "<li><a href=\"/admin/users\">Users</a></li><li><a href=\"/admin/follow-up-templates\">Follow-up templates</a></li><li><a href=\"/admin/audit\">Audit trail</a></li>"
            );
        }
        crate::html!(
            m,
            "</ul></nav><div class=\"who\"><span>{} <span class=\"role\">{}</span></span><a href=\"/account/password\">Change password</a><form method=\"post\" action=\"/logout\">{}<button type=\"submit\" class=\"link\">Log out</button></form></div>",
            web.caller.user.data.display_name,
            web.role().code(),
            csrf_field(&web.csrf)
        );
    }
    crate::html!(
        m,
        "</header><main id=\"main\" tabindex=\"-1\">{}</main><footer class=\"foot\">Decision support — for the clinician's judgement. Every classification cites its source; check flagged results against it.</footer></body></html>",
        body
    );
    let mut r = m.into_string().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r
}

/// An error as an HTML page with the problem's status.
pub(crate) fn error_page(web: Option<&Web>, p: Problem) -> Response {
    let status = p.status();
    let heading = match status {
        StatusCode::FORBIDDEN => "You do not have access to this page",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::SERVICE_UNAVAILABLE => "Temporarily unavailable",
        _ => p.title,
    };
    let body = crate::markup!(
        "<section class=\"card error-page\"><h1>{}</h1><p>{}</p><p><a href=\"/\">Back to the start page</a></p></section>",
        heading,
        p.detail
    );
    let mut r = page(web, heading, body);
    *r.status_mut() = status;
    r
}

pub(crate) fn page_error(web: &Web, p: Problem) -> Response {
    error_page(Some(web), p)
}

/// 32 random bytes as hex (the pre-login CSRF secret).
fn nonce() -> Option<String> {
    let mut bytes = [0u8; 32];
    match getrandom::fill(&mut bytes) {
        Ok(()) => Some(bytes.iter().map(|b| format!("{b:02x}")).collect()),
        Err(e) => {
            log_error(&format!("no randomness from the OS: {e}"));
            None
        }
    }
}

/// The pre-login cookie's value, if the browser sent one (of this deployment's name).
fn login_cookie(state: &AppState, headers: &HeaderMap) -> Option<String> {
    state.config.cookies().read_login(headers).filter(|v| v.len() == 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_depend_on_the_session_and_compare_exactly() {
        let a = csrf_token("session-a");
        assert_eq!(a.len(), 64);
        assert_ne!(a, csrf_token("session-b"));
        assert_eq!(a, csrf_token("session-a"));
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), csrf_token("session-b").as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), &a.as_bytes()[..63]));
        assert!(!constant_time_eq(b"", a.as_bytes()));
    }
}
