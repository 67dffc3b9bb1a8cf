//! The pages: login, patient list, patient page, printable summary, the
//! assessment form and its result panel, and the admin pages.

use super::chart::{ChartCheckpoint, ReductionPoint, reduction_chart};
use super::footmap::foot_map;
use super::forms::{Field, FieldError, FormData, Kind, Saved, control, error_summary, options, parent_owner, to_json};
use super::html::{Markup, num, words};
use super::{Web, check_csrf, csrf_field, csrf_token, error_page, page, page_error, page_with, redirect, session};
use crate::access::{Action, Family};
use crate::app::{
    AppState, Audit, Caller, RemoteAddr, authorise, now_ms, remote, scope, store_problem, vocabulary_filter,
};
use crate::http::{Cookies, credential};
use crate::problem::Problem;
use crate::{html, markup};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use limbpath_clinical::angiosome::WoundLocation;
use limbpath_pathway::ProgrammeSettings;
use limbpath_pathway::trajectory::{
    GVG_6_9_CHECKPOINT_ID, GVG_6_9_DAY, GVG_6_9_MIN_AREA_REDUCTION_PERCENT, wound_trajectory,
};
use limbpath_record::*;
use limbpath_store::{AlertBadges, AuditOutcome, LoginOutcome, Owned, PatientQuery, PatientSummary, RecordKind, Store};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Today's date (UTC), for default form dates and wound checkpoints.
pub fn today() -> Date {
    let days = now_ms().div_euclid(86_400_000);
    Date::from_julian_day(2_440_588 + days as i32).unwrap_or(Date::MIN)
}

pub async fn home(State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap) -> Response {
    let web = match session(&state, &headers, &addr, "session").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    match web.role() {
        Role::Coordinator => redirect("/worklist"),
        Role::Admin | Role::Clinician => redirect("/patients"),
        Role::Patient => match &web.caller.user.data.patient_id {
            Some(p) => redirect(&format!("/patients/{p}")),
            None => page_error(&web, Problem::forbidden("this patient account is not linked to a record")),
        },
        Role::Analyst => redirect("/analytics"),
    }
}

// ---------------------------------------------------------------------------
// Login and logout
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct LoginQuery {
    expired: Option<String>,
    out: Option<String>,
    /// After a password change (which ends every session): a fixed notice,
    /// whatever the value (nothing from the address is shown).
    password_changed: Option<String>,
}

fn login_page(
    cookies: Cookies,
    nonce: &str,
    message: Option<(&str, &str)>,
    username: &str,
    status: StatusCode,
) -> Response {
    let note = match message {
        Some((class, text)) => markup!("<p class=\"{}\" role=\"alert\">{}</p>", class, text),
        None => Markup::new(),
    };
    let body = markup!(
        "<section class=\"card login\"><h1>Log in</h1>{}<form method=\"post\" action=\"/login\">{}<div class=\"field\"><label for=\"username\">Username</label><input id=\"username\" name=\"username\" autocomplete=\"username\" value=\"{}\" required autofocus></div><div class=\"field\"><label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></div><div class=\"actions\"><button type=\"submit\" class=\"primary\">Log in</button></div></form></section>",
        note,
        csrf_field(&csrf_token(nonce)),
        username
    );
    let mut r = page(None, "Log in", body);
    *r.status_mut() = status;
    r.headers_mut().insert(header::SET_COOKIE, cookies.login(nonce));
    r
}

pub async fn login_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let nonce = super::login_cookie(&state, &headers).or_else(super::nonce).unwrap_or_default();
    let message = if q.expired.is_some() {
        Some(("notice", "Your session has expired. Please log in again."))
    } else if q.out.is_some() {
        Some(("notice", "You have logged out."))
    } else if q.password_changed.is_some() {
        Some((
            "notice",
            "Your password has been changed and you have been logged out everywhere. Please log in again with your new password.",
        ))
    } else {
        None
    };
    login_page(state.config.cookies(), &nonce, message, "", StatusCode::OK)
}

pub async fn login(State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    let remote = remote(&addr);
    let audit = Audit { state: &state, caller: None, remote: remote.clone(), action: "login", entity: "session" };
    if form.undecodable() {
        return super::refuse_undecodable(&audit, None).await;
    }
    let nonce = super::login_cookie(&state, &headers);
    let ok_csrf = nonce
        .as_deref()
        .is_some_and(|n| super::constant_time_eq(form.text(super::CSRF_FIELD).as_bytes(), csrf_token(n).as_bytes()));
    let fresh = nonce.clone().or_else(super::nonce).unwrap_or_default();
    if !ok_csrf {
        if let Err(p) = audit.record(None, None, AuditOutcome::Denied, "login form CSRF token missing or wrong").await {
            return error_page(None, p);
        }
        return login_page(
            state.config.cookies(),
            &fresh,
            Some(("error", "The login form had expired. Please enter your username and password again.")),
            form.text("username"),
            StatusCode::FORBIDDEN,
        );
    }
    let username = form.text("username").to_owned();
    let outcome = match state.store.verify_login(&username, form.get("password").unwrap_or(""), remote.as_deref()).await
    {
        Ok(o) => o,
        Err(e) => return error_page(None, store_problem(e).0),
    };
    match outcome {
        LoginOutcome::Success(user) => {
            let token = match state.store.create_session(&user.id, state.config.session_ttl).await {
                Ok(t) => t,
                Err(e) => return error_page(None, store_problem(e).0),
            };
            let caller = Caller { user: user.clone() };
            let audit = Audit { caller: Some(&caller), ..audit };
            if let Err(p) = audit.record(Some(&user.id), user.data.patient_id.as_deref(), AuditOutcome::Ok, "web").await
            {
                return error_page(None, p);
            }
            let mut r = redirect("/");
            let max_age = i64::try_from(state.config.session_ttl.as_secs()).unwrap_or(i64::MAX);
            r.headers_mut().insert(header::SET_COOKIE, state.config.cookies().session(&token.token, max_age));
            r
        }
        LoginOutcome::BadCredentials => {
            if let Err(p) = audit.record(None, None, AuditOutcome::Denied, "bad credentials").await {
                return error_page(None, p);
            }
            login_page(
                state.config.cookies(),
                &fresh,
                Some(("error", "Unknown username or wrong password.")),
                &username,
                StatusCode::UNAUTHORIZED,
            )
        }
        LoginOutcome::Locked { until_ms } => {
            if let Err(p) = audit.record(None, None, AuditOutcome::Denied, "locked after repeated failures").await {
                return error_page(None, p);
            }
            let minutes = ((until_ms - now_ms()) / 60_000).max(1);
            let msg = format!("Too many failed logins for this username. Try again in {minutes} minutes.");
            login_page(state.config.cookies(), &fresh, Some(("error", &msg)), &username, StatusCode::TOO_MANY_REQUESTS)
        }
    }
}

pub async fn logout(State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap, body: Bytes) -> Response {
    let web = match session(&state, &headers, &addr, "session").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    if let Err(r) = check_csrf(&state, &web, &FormData::parse(&body)).await {
        return r;
    }
    if let Some(token) = credential(&headers, state.config.cookies())
        && let Err(e) = state.store.delete_session(&token).await
    {
        return page_error(&web, store_problem(e).0);
    }
    if let Err(p) =
        web.audit(&state, "logout", "session").record(Some(&web.caller.user.id), None, AuditOutcome::Ok, "web").await
    {
        return page_error(&web, p);
    }
    let mut r = redirect("/login?out=1");
    r.headers_mut().insert(header::SET_COOKIE, state.config.cookies().clear_session());
    r
}

// ---------------------------------------------------------------------------
// Changing one's own password (every role)
// ---------------------------------------------------------------------------

const NEW_PASSWORD_REPEAT: &str = "new_password_repeat";

fn password_fields() -> [Field; 3] {
    [
        Field::new("current_password", "Current password", Kind::Password("current-password")).required(),
        Field::new("new_password", "New password", Kind::Password("new-password")).required().hint(
            "12 to 256 characters, spaces allowed: a passphrase of a few words is easiest. Not your username, not a common password.",
        ),
        Field::new(NEW_PASSWORD_REPEAT, "Repeat the new password", Kind::Password("new-password")).required(),
    ]
}

fn password_page(web: &Web, errors: &[FieldError], status: StatusCode) -> Response {
    let mut body = markup!(
        "<h1>Change password</h1><p class=\"muted\">Changing your password logs you out everywhere: every session and API token of your account ends, and you log in again with the new password.</p>{}<form method=\"post\" action=\"/account/password\" class=\"card record-form\" novalidate>{}",
        error_summary(errors),
        csrf_field(&web.csrf)
    );
    // Nothing typed is sent back: each control starts empty.
    let empty = FormData::default();
    for f in &password_fields() {
        body.push(control(f, &empty, errors));
    }
    html!(
        body,
        "<div class=\"actions\"><button type=\"submit\" class=\"primary\">Change password</button></div></form>"
    );
    let mut r = page(Some(web), "Change password", body);
    *r.status_mut() = status;
    r
}

pub async fn password_form(State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap) -> Response {
    match session(&state, &headers, &addr, "user").await {
        Ok(web) => password_page(&web, &[], StatusCode::OK),
        Err(r) => r,
    }
}

/// A refused change as a sentence at its control.
fn password_error(field: &str, p: &Problem) -> FieldError {
    let message = match (&p.accepted, p.status()) {
        (Some(accepted), _) => format!("This new password is refused: enter {accepted}."),
        (None, StatusCode::UNPROCESSABLE_ENTITY) if field == "current_password" => {
            "This is not your current password.".to_owned()
        }
        (None, StatusCode::UNPROCESSABLE_ENTITY) => "Choose a password different from the current one.".to_owned(),
        (None, _) => capitalise(&format!("{}.", p.detail)),
    };
    FieldError { field: field.to_owned(), message }
}

pub async fn change_password(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let web = match session(&state, &headers, &addr, "user").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let form = FormData::parse(&body);
    if let Err(r) = check_csrf(&state, &web, &form).await {
        return r;
    }
    let audit = web.audit(&state, "change_password", "user");
    let id = web.caller.user.id.as_str();
    // Empty controls and a mistyped repeat are the form's own checks, made
    // before the current password is tried (so they never count as a failed
    // login) or anything is changed.
    let mut errors: Vec<FieldError> = password_fields()
        .iter()
        .filter(|f| form.text(f.name).is_empty())
        .map(|f| FieldError {
            field: f.name.to_owned(),
            message: match f.name {
                NEW_PASSWORD_REPEAT => "Type the new password a second time.".to_owned(),
                _ => format!("Enter your {}.", f.label.to_lowercase()),
            },
        })
        .collect();
    if errors.is_empty() && form.text("new_password") != form.text(NEW_PASSWORD_REPEAT) {
        errors.push(FieldError {
            field: NEW_PASSWORD_REPEAT.to_owned(),
            message: "The repeated password is not the same as the new password: type it again.".to_owned(),
        });
    }
    if !errors.is_empty() {
        let fields = errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>().join(", ");
        if let Err(p) = audit.record(Some(id), None, AuditOutcome::Invalid, &format!("form: {fields}")).await {
            return page_error(&web, p);
        }
        return password_page(&web, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    match crate::app::change_own_password(&audit, &web.caller, form.text("current_password"), form.text("new_password"))
        .await
    {
        Ok(()) => {
            // Every session has ended, this one included: back to the login page.
            let mut r = redirect("/login?password_changed=1");
            r.headers_mut().insert(header::SET_COOKIE, state.config.cookies().clear_session());
            r
        }
        Err(refused) => match refused.problem.field.as_deref() {
            Some(field @ ("current_password" | "new_password")) => {
                let error = password_error(field, &refused.problem);
                password_page(&web, &[error], refused.problem.status())
            }
            _ => page_error(&web, refused.problem),
        },
    }
}

// ---------------------------------------------------------------------------
// Patient list
// ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    site: Option<String>,
    episode_status: Option<String>,
    wifi_stage: Option<String>,
    aetiology: Option<String>,
    /// The "overdue tasks" checkbox (`true` when ticked).
    overdue_tasks: Option<String>,
    cursor: Option<String>,
}

pub async fn patient_list(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let web = match session(&state, &headers, &addr, "patient").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let audit = web.audit(&state, "search", "patient");
    if web.role() == Role::Patient {
        if let Err(p) = audit.record(None, None, AuditOutcome::Denied, "patients cannot search").await {
            return page_error(&web, p);
        }
        return page_error(&web, Problem::forbidden("a patient account reads its own record; it cannot search others"));
    }
    if let Err(p) = authorise(&audit, &web.caller, Family::PatientRecord, Action::Read, None).await {
        return page_error(&web, p);
    }
    match patient_list_page(&state.store, &web.csrf, &q).await {
        Ok((body, n)) => {
            if let Err(p) = audit.record(None, None, AuditOutcome::Ok, &format!("{n} results (web)")).await {
                return page_error(&web, p);
            }
            page(Some(&web), "Patients", body)
        }
        Err(p) => {
            let _ = audit.record(None, None, AuditOutcome::Invalid, &p.detail).await;
            page_error(&web, p)
        }
    }
}

/// The patient list's content for a query: the search form, one page of
/// results and the next-page link (also what the page benchmark measures).
pub async fn patient_list_page(store: &Store, _csrf: &str, q: &ListQuery) -> Result<(Markup, usize), Problem> {
    let episode_status = vocabulary_filter(
        "episode_status",
        q.episode_status.as_deref(),
        EpisodeStatus::from_code,
        EpisodeStatus::ALL,
        EpisodeStatus::code,
    )?;
    let wifi_stage = match q.wifi_stage.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(s.parse::<u8>().ok().filter(|v| (1..=5).contains(v)).ok_or_else(|| {
            Problem::invalid(limbpath_clinical::InvalidInput::out_of_range("wifi_stage", s, "a stage from 1 to 5"))
        })?),
    };
    let aetiology =
        vocabulary_filter("aetiology", q.aetiology.as_deref(), Aetiology::from_code, Aetiology::ALL, Aetiology::code)?;
    let overdue_tasks = match q.overdue_tasks.as_deref().map(str::trim) {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(Problem::invalid(limbpath_clinical::InvalidInput::unrecognised(
                "overdue_tasks",
                other,
                "true or false",
            )));
        }
    };
    let text = q.q.clone().filter(|t| !t.trim().is_empty());
    let site = q.site.clone().filter(|t| !t.trim().is_empty());
    let query = PatientQuery {
        text: text.clone(),
        site: site.clone(),
        episode_status,
        wifi_stage,
        aetiology,
        overdue_on: overdue_tasks.then(crate::care::today),
        cursor: q.cursor.clone().filter(|c| !c.is_empty()),
        limit: 50,
    };
    let page = store.search_patients(&query).await.map_err(|e| store_problem(e).0)?;
    let ids: Vec<String> = page.items.iter().map(|p| p.patient.id.clone()).collect();
    let badges = store.alert_badges(&ids).await.map_err(|e| store_problem(e).0)?;
    let mut m = markup!(
        "<h1>Patients</h1><form method=\"get\" action=\"/patients\" class=\"card search\" role=\"search\"><div class=\"grid\">"
    );
    html!(
        m,
        "<div class=\"field\"><label for=\"q\">Name or MRN</label><span class=\"hint\" id=\"q-hint\">family name prefix, “family, given”, or exact MRN</span><input id=\"q\" name=\"q\" value=\"{}\" aria-describedby=\"q-hint\"></div>",
        text.clone().unwrap_or_default()
    );
    html!(
        m,
        "<div class=\"field\"><label for=\"site\">Site</label><input id=\"site\" name=\"site\" value=\"{}\"></div>",
        site.clone().unwrap_or_default()
    );
    html!(
        m,
        "<div class=\"field\"><label for=\"episode_status\">Episode status</label><select id=\"episode_status\" name=\"episode_status\"><option value=\"\">any</option>"
    );
    for s in EpisodeStatus::ALL {
        let sel = if episode_status == Some(*s) { markup!(" selected") } else { Markup::new() };
        html!(m, "<option value=\"{}\"{}>{}</option>", s.code(), sel, words(s.code()));
    }
    html!(
        m,
        "</select></div><div class=\"field\"><label for=\"wifi_stage\">Latest WIfI stage</label><select id=\"wifi_stage\" name=\"wifi_stage\"><option value=\"\">any</option>"
    );
    for s in 1u8..=5 {
        let sel = if wifi_stage == Some(s) { markup!(" selected") } else { Markup::new() };
        html!(m, "<option value=\"{}\"{}>stage {}</option>", s, sel, s);
    }
    html!(
        m,
        "</select></div><div class=\"field\"><label for=\"aetiology\">Aetiology</label><select id=\"aetiology\" name=\"aetiology\"><option value=\"\">any</option>"
    );
    for a in Aetiology::ALL {
        let sel = if aetiology == Some(*a) { markup!(" selected") } else { Markup::new() };
        html!(m, "<option value=\"{}\"{}>{}</option>", a.code(), sel, words(a.code()));
    }
    let checked = if overdue_tasks { markup!(" checked") } else { Markup::new() };
    html!(
        m,
        "</select></div><div class=\"field\"><label for=\"overdue_tasks\"><input type=\"checkbox\" id=\"overdue_tasks\" name=\"overdue_tasks\" value=\"true\"{}> Overdue tasks</label><span class=\"hint\">an open care-plan task past its due date</span></div>",
        checked
    );
    html!(
        m,
        "</div><div class=\"actions\"><button type=\"submit\" class=\"primary\">Search</button> <a href=\"/patients\">Clear</a></div></form>"
    );
    let n = page.items.len();
    if n == 0 {
        html!(m, "<p class=\"card\">No patients match.</p>");
    } else {
        html!(
            m,
            "<div class=\"table-wrap\"><table class=\"list\"><caption class=\"sr-only\">Patients</caption><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">MRN</th><th scope=\"col\">Site</th><th scope=\"col\">Born</th><th scope=\"col\">Episodes</th><th scope=\"col\">WIfI stage</th><th scope=\"col\">Flags</th></tr></thead><tbody>"
        );
        for PatientSummary { patient, latest_wifi_stage, episode_statuses } in &page.items {
            let statuses: Vec<String> = episode_statuses.iter().map(|s| words(s.code())).collect();
            html!(
                m,
                "<tr><td><a href=\"{}\">{}, {}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                format!("/patients/{}", patient.id),
                patient.data.family_name,
                patient.data.given_name,
                patient.data.mrn,
                patient.data.site,
                patient.data.birth_date,
                statuses.join(", "),
                stage_badge(*latest_wifi_stage),
                alert_badges(badges.iter().find(|(id, _)| *id == patient.id).map(|(_, b)| *b))
            );
        }
        html!(m, "</tbody></table></div>");
    }
    if let Some(next) = &page.next_cursor {
        let mut qs = form_urlencoded::Serializer::new(String::new());
        if let Some(t) = &text {
            qs.append_pair("q", t);
        }
        if let Some(s) = &site {
            qs.append_pair("site", s);
        }
        if let Some(s) = episode_status {
            qs.append_pair("episode_status", s.code());
        }
        if let Some(s) = wifi_stage {
            qs.append_pair("wifi_stage", &s.to_string());
        }
        if let Some(a) = aetiology {
            qs.append_pair("aetiology", a.code());
        }
        if overdue_tasks {
            qs.append_pair("overdue_tasks", "true");
        }
        qs.append_pair("cursor", next);
        html!(
            m,
            "<nav class=\"pager\" aria-label=\"Pages\"><a rel=\"next\" class=\"button\" href=\"{}\">Next page →</a></nav>",
            format!("/patients?{}", qs.finish())
        );
    }
    Ok((m, n))
}

/// The patient list's badges for open alerts: check-in red flags and
/// protocol deviations (a link to the alerts worklist).
fn alert_badges(b: Option<AlertBadges>) -> Markup {
    let Some(b) = b else {
        return markup!("<span class=\"muted\">–</span>");
    };
    let level = if b.immediate { "badge level-urgent" } else { "badge level-today" };
    let mut m = Markup::new();
    if b.red_flags > 0 {
        html!(
            m,
            "<a class=\"{}\" href=\"/alerts\">{} red flag{}</a> ",
            level,
            b.red_flags,
            if b.red_flags == 1 { "" } else { "s" }
        );
    }
    if b.protocol_deviations > 0 {
        html!(
            m,
            "<a class=\"{}\" href=\"/alerts\">{} protocol deviation{}</a>",
            level,
            b.protocol_deviations,
            if b.protocol_deviations == 1 { "" } else { "s" }
        );
    }
    m
}

fn stage_badge(stage: Option<u8>) -> Markup {
    match stage {
        Some(s) => markup!("<span class=\"stage stage-{}\">WIfI {}</span>", s, s),
        None => markup!("<span class=\"muted\">–</span>"),
    }
}

// ---------------------------------------------------------------------------
// Patient page
// ---------------------------------------------------------------------------

/// Read a patient's whole record for a page: role, scope and audit.
async fn read_record(state: &AppState, web: &Web, id: &str, detail: &str) -> Result<PatientRecord, Response> {
    let audit = web.audit(state, "read_record", "patient");
    authorise(&audit, &web.caller, Family::PatientRecord, Action::Read, Some(id))
        .await
        .map_err(|p| page_error(web, p))?;
    scope(&audit, &web.caller, id, id).await.map_err(|p| page_error(web, p))?;
    match state.store.get_patient_record(id).await {
        Ok(r) => {
            audit.record(Some(id), Some(id), AuditOutcome::Ok, detail).await.map_err(|p| page_error(web, p))?;
            Ok(r)
        }
        Err(e) => {
            let (p, outcome) = store_problem(e);
            audit.record(Some(id), Some(id), outcome, &p.detail).await.map_err(|p| page_error(web, p))?;
            Err(page_error(web, p))
        }
    }
}

pub async fn patient(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let web = match session(&state, &headers, &addr, "patient").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let record = match read_record(&state, &web, &id, "web patient page").await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let title = record
        .patient
        .as_ref()
        .map_or("Patient".to_owned(), |p| format!("{}, {}", p.data.family_name, p.data.given_name));
    // The patient flags (implant, frame, open urgent alert) above the page.
    let mut body = match crate::visits::flags_of(&state, &record, &id).await {
        Ok(flags) => super::visits::flag_badges(&flags),
        Err(p) => return page_error(&web, p),
    };
    body.push(patient_page(&record, web.role() != Role::Patient, today()));
    // What other systems sent with the patient: part of the record read
    // authorised, scoped and audited above, not a read of its own.
    let mut imported = Vec::with_capacity(IMPORTED_KINDS.len());
    for (kind, caption) in IMPORTED_KINDS {
        match state.store.imported_with_patient(&id, kind, IMPORTED_SHOWN).await {
            Ok(list) => imported.push((caption, list)),
            Err(e) => return page_error(&web, store_problem(e).0),
        }
    }
    body.push(imported_section(&imported));
    page(Some(&web), &title, body)
}

/// The imported resources shown per kind on the patient page, newest first.
const IMPORTED_SHOWN: u32 = 50;

/// The kinds of imported resources kept with a patient, as the page names
/// them: what LimbPath read (conditions, measurements), then the rest as sent.
const IMPORTED_KINDS: [(&str, &str); 3] =
    [("condition", "Conditions"), ("measurement", "Measurements"), ("unmapped", "Other resources")];

/// "From other systems": per kind, each resource's date, what it is, its value,
/// its FHIR type and the system that sent it; nothing when nothing came.
fn imported_section(lists: &[(&str, limbpath_store::ImportedResources)]) -> Markup {
    if lists.iter().all(|(_, l)| l.total == 0) {
        return Markup::new();
    }
    let mut m = markup!(
        "<section class=\"card imported\" id=\"from-other-systems\"><h2>From other systems</h2><p class=\"muted\">As the sending system recorded them; conditions and measurements LimbPath reads are marked.</p>"
    );
    for (caption, list) in lists {
        if list.total == 0 {
            continue;
        }
        html!(
            m,
            "<div class=\"table-wrap\"><table class=\"list imported\"><caption>{} ({})</caption><thead><tr><th scope=\"col\">Date</th><th scope=\"col\">What</th><th scope=\"col\">Value</th><th scope=\"col\">Type</th><th scope=\"col\">From</th></tr></thead><tbody>",
            *caption,
            list.total
        );
        for r in &list.resources {
            let f = &r.resource;
            let text = f.json.as_deref().map(limbpath_fhir::describe).unwrap_or_default();
            let what = text.what.or_else(|| f.code.clone()).unwrap_or_else(|| "—".to_owned());
            let read_as = f
                .mapped_as
                .as_deref()
                .map_or(Markup::new(), |k| markup!(" <span class=\"flag\">LimbPath: {}</span>", words(k)));
            html!(
                m,
                "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                f.effective.as_deref().unwrap_or("undated"),
                what,
                read_as,
                text.value.unwrap_or_default(),
                f.resource_type,
                r.source
            );
        }
        html!(m, "</tbody></table></div>");
        let rest = list.total.saturating_sub(list.resources.len() as u64);
        if rest > 0 {
            html!(m, "<p class=\"muted\">{} more not shown; the {} newest are listed.</p>", rest, list.resources.len());
        }
    }
    html!(m, "</section>");
    m
}

fn age(birth: Date, today: Date) -> i32 {
    let mut a = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        a -= 1;
    }
    a
}

/// The patient's risk factors; `edit` (the edit form's address, for those who
/// may change the record) links what is still to complete to its control.
fn risk_factors(p: &PatientData, today: Date, edit: Option<&str>) -> Markup {
    let mut m = markup!("<dl class=\"facts\">");
    let mut fact = |k: &str, v: String| html!(m, "<div><dt>{}</dt><dd>{}</dd></div>", k, v);
    fact("Born", format!("{} ({} y)", p.birth_date, age(p.birth_date, today)));
    fact("Sex", words(p.sex.code()));
    fact("Diabetes", words(p.diabetes.code()));
    fact("HbA1c", p.hba1c_percent.map_or("not recorded".into(), |v| format!("{} %", num(v, 1))));
    fact(
        "CKD",
        match (p.ckd_stage, p.dialysis) {
            (Some(s), true) => format!("stage {s}, on dialysis"),
            (Some(s), false) => format!("stage {s}"),
            (None, true) => "on dialysis".into(),
            (None, false) => "not recorded".into(),
        },
    );
    fact("Smoking", words(p.smoking.code()));
    fact("BMI", p.bmi.map_or("not recorded".into(), |v| num(v, 1)));
    if p.ambulatory_status.is_recorded() {
        fact("Ambulatory status", words(p.ambulatory_status.code()));
    } else {
        // An imported patient whose system never said how they walk: shown as
        // something to complete, not as a status.
        let todo = match edit {
            Some(edit) => markup!("<a href=\"{}\">to complete</a>", format!("{edit}#f-ambulatory_status")),
            None => markup!("<span class=\"muted\">to complete</span>"),
        };
        html!(
            m,
            "<div class=\"to-complete\"><dt>Ambulatory status</dt><dd><span class=\"flag flag-review\">not recorded</span> {}</dd></div>",
            todo
        );
    }
    html!(m, "</dl>");
    m
}

/// One timeline entry: date, kind, text, optional link.
struct Event {
    on: Date,
    order: u8,
    kind: &'static str,
    text: Markup,
}

/// The WIfI stage, code and amputation risk of an assessment, if it was staged.
fn wifi_of(a: &StoredAssessment) -> Option<(u8, String, Option<String>)> {
    let stage = a.derived.wifi_stage?;
    let result = a.derived.result_value();
    let w = result.get("wifi")?;
    let code = w.get("code").and_then(Value::as_str).unwrap_or("").to_owned();
    let risk = w.pointer("/stage/amputation_risk").and_then(Value::as_str).map(words);
    Some((stage, code, risk))
}

/// The patient page's content (also what the page benchmark measures).
pub fn patient_page(record: &PatientRecord, can_write: bool, today: Date) -> Markup {
    let Some(p) = &record.patient else { return markup!("<p>No patient.</p>") };
    let pid = &p.id;
    let mut m = markup!(
        "<section class=\"card patient-head\"><div class=\"head-row\"><div><h1>{}, {}</h1><p class=\"muted\">MRN {} · {}</p></div><div class=\"head-actions\"><a class=\"button\" href=\"{}\">Printable summary</a>",
        p.data.family_name,
        p.data.given_name,
        p.data.mrn,
        p.data.site,
        format!("/patients/{pid}/summary")
    );
    let edit = format!("/patients/{pid}/edit");
    if can_write {
        html!(m, "<a class=\"button\" href=\"{}\">Edit patient</a>", edit);
        html!(m, "<a class=\"button\" href=\"{}\">Add limb</a>", format!("/patients/{pid}/limbs/new"));
    }
    html!(
        m,
        "</div></div><h2 class=\"sr-only\">Risk factors</h2>{}</section>",
        risk_factors(&p.data, today, can_write.then_some(edit.as_str()))
    );
    if record.limbs.is_empty() {
        html!(m, "<p class=\"card\">No limbs recorded yet.</p>");
    }
    for limb in &record.limbs {
        let amp = limb.data.amputation_level.map(|l| format!(" · amputation level: {}", words(l.code())));
        html!(
            m,
            "<section class=\"limb card\" id=\"{}\"><div class=\"head-row\"><h2>{} {} limb{}</h2>",
            format!("limb-{}", limb.id),
            capitalise(limb.data.side.code()),
            limb.data.kind.code(),
            amp
        );
        if can_write {
            html!(m, "<a class=\"button\" href=\"{}\">New episode</a>", format!("/limbs/{}/episodes/new", limb.id));
        }
        html!(m, "</div>");
        let episodes: Vec<_> = record.episodes.iter().filter(|e| e.data.limb_id == limb.id).collect();
        if episodes.is_empty() {
            html!(m, "<p class=\"muted\">No episodes.</p>");
        }
        for ep in episodes {
            m.push(episode_block(record, ep, can_write, today));
        }
        html!(m, "</section>");
    }
    m
}

/// An aetiology in words (`clti` → CLTI).
fn aetiology(a: Aetiology) -> String {
    match a {
        Aetiology::Clti => "CLTI".into(),
        other => capitalise(&words(other.code())),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

fn episode_assessments<'a>(record: &'a PatientRecord, episode: &str) -> Vec<&'a StoredAssessment> {
    let mut v: Vec<_> = record.assessments.iter().filter(|a| a.stored.data.episode_id == episode).collect();
    v.sort_by(|a, b| (a.stored.data.assessed_on, &a.stored.id).cmp(&(b.stored.data.assessed_on, &b.stored.id)));
    v
}

/// Current WIfI stage and the trend over the episode's assessments.
fn wifi_trend(assessments: &[&StoredAssessment]) -> Markup {
    let staged: Vec<(Date, u8, String, Option<String>)> = assessments
        .iter()
        .filter_map(|a| {
            let (s, code, risk) = wifi_of(a)?;
            Some((a.stored.data.assessed_on, s, code, risk))
        })
        .collect();
    let Some((on, stage, code, risk)) = staged.last() else {
        return markup!("<p class=\"wifi-now muted\">No WIfI stage yet.</p>");
    };
    let trend = if staged.len() >= 2 {
        let prev = staged[staged.len() - 2].1;
        let word = match stage.cmp(&prev) {
            std::cmp::Ordering::Greater => "worse than",
            std::cmp::Ordering::Less => "better than",
            std::cmp::Ordering::Equal => "same as",
        };
        let path: Vec<String> = staged.iter().map(|s| s.1.to_string()).collect();
        markup!("<span class=\"trend\">Trend: {} ({} the previous assessment)</span>", path.join(" → "), word)
    } else {
        markup!("<span class=\"trend muted\">one staged assessment</span>")
    };
    markup!(
        "<p class=\"wifi-now\">Current {} <span class=\"code\">{}</span> on {}{} · {}</p>",
        stage_badge(Some(*stage)),
        code,
        *on,
        risk.clone().map(|r| format!(" · estimated 1-year amputation risk: {r}")),
        trend
    )
}

fn episode_block(record: &PatientRecord, ep: &Stored<EpisodeData>, can_write: bool, today: Date) -> Markup {
    let eid = &ep.id;
    let closed = ep.data.closed_on.map(|d| format!(", closed {d}"));
    let mut m = markup!(
        "<article class=\"episode\" id=\"{}\"><h3>{} · <span class=\"status status-{}\">{}</span> <span class=\"muted\">opened {}{}</span></h3>",
        format!("episode-{eid}"),
        aetiology(ep.data.aetiology),
        ep.data.status.code(),
        words(ep.data.status.code()),
        ep.data.opened_on,
        closed
    );
    if !ep.data.summary.is_empty() {
        html!(m, "<p>{}</p>", ep.data.summary);
    }
    let assessments = episode_assessments(record, eid);
    m.push(wifi_trend(&assessments));
    if can_write {
        html!(m, "<p class=\"actions\">");
        for (path, label) in [
            ("assessments/new", "New assessment"),
            ("wounds/new", "Add wound"),
            ("vascular-studies/new", "Vascular study"),
            ("procedures/new", "Procedure"),
            ("outcome-events/new", "Outcome event"),
            ("care-plan", "Care plan"),
        ] {
            html!(m, "<a class=\"button\" href=\"{}\">{}</a> ", format!("/episodes/{eid}/{path}"), label);
        }
        html!(m, "</p>");
    }
    // Timeline, in date order.
    let mut events: Vec<Event> = Vec::new();
    for a in &assessments {
        let text = match wifi_of(a) {
            Some((s, code, _)) => markup!(
                "<a href=\"{}\">Assessment</a>: {} → WIfI stage {}",
                format!("/assessments/{}", a.stored.id),
                code,
                s
            ),
            None => markup!("<a href=\"{}\">Assessment</a> (no WIfI stage)", format!("/assessments/{}", a.stored.id)),
        };
        events.push(Event { on: a.stored.data.assessed_on, order: 1, kind: "assessment", text });
    }
    for s in record.vascular_studies.iter().filter(|s| s.data.episode_id == *eid) {
        let mut text = markup!("{} study", words(s.data.kind.code()).to_uppercase());
        if let Some(p) = &s.data.pressures
            && let Ok(r) = limbpath_clinical::perfusion::classify(p)
        {
            for leg in &r.legs {
                if let Some(abi) = &leg.abi {
                    html!(
                        text,
                        " · {} ABI {} ({})",
                        leg.side.label(),
                        abi.abi_reported,
                        words(&serde_plain(&abi.category))
                    );
                }
            }
        }
        if let Some(t) = s.data.tcpo2_mmhg {
            html!(text, " · TcPO2 {} mmHg", num(t, 0));
        }
        if !s.data.findings.is_empty() {
            html!(text, " · {}", s.data.findings);
        }
        events.push(Event { on: s.data.performed_on, order: 0, kind: "study", text });
    }
    for s in record.imaging_studies.iter().filter(|s| s.data.episode_id == *eid) {
        let text = markup!("{} {}", words(s.data.modality.code()), s.data.findings);
        events.push(Event { on: s.data.performed_on, order: 0, kind: "imaging", text });
    }
    for w in record.wounds.iter().filter(|w| w.data.episode_id == *eid) {
        events.push(Event {
            on: w.data.noted_on,
            order: 2,
            kind: "wound",
            text: markup!("Wound noted: {}", w.data.location.label()),
        });
    }
    for p in record.procedures.iter().filter(|p| p.data.episode_id == *eid) {
        let mut text = markup!("{}", capitalise(&words(p.data.kind.code())));
        if let Some(l) = p.data.amputation_level {
            html!(text, " · level {}", words(l.code()));
        }
        if !p.data.target_arteries.is_empty() {
            let t: Vec<String> = p.data.target_arteries.iter().map(|a| words(a.code())).collect();
            html!(text, " · targets {}", t.join(", "));
        }
        if let Some(r) = p.data.angiosome_route {
            html!(text, " · {} angiosome route", r.code());
        }
        events.push(Event { on: p.data.performed_on, order: 3, kind: "procedure", text });
    }
    for o in record.outcome_events.iter().filter(|o| o.data.episode_id == *eid) {
        let mut text = markup!("{}", capitalise(&words(o.data.kind.code())));
        if let Some(l) = o.data.amputation_level {
            html!(text, " · level {}", words(l.code()));
        }
        events.push(Event { on: o.data.occurred_on, order: 4, kind: "outcome", text });
    }
    events.sort_by_key(|e| (e.on, e.order));
    html!(m, "<h4>Timeline</h4>");
    if events.is_empty() {
        html!(m, "<p class=\"muted\">Nothing recorded yet.</p>");
    } else {
        html!(m, "<ol class=\"timeline\">");
        for e in &events {
            html!(
                m,
                "<li class=\"ev ev-{}\"><time>{}</time> <span class=\"kind\">{}</span> {}</li>",
                e.kind,
                e.on,
                e.kind,
                e.text
            );
        }
        html!(m, "</ol>");
    }
    // Wound cards.
    let wounds: Vec<_> = record.wounds.iter().filter(|w| w.data.episode_id == *eid).collect();
    if !wounds.is_empty() {
        html!(m, "<div class=\"wounds\">");
        for w in wounds {
            m.push(wound_card(record, w, can_write, today, false));
        }
        html!(m, "</div>");
    }
    html!(m, "</article>");
    m
}

fn serde_plain<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn wound_card(record: &PatientRecord, w: &Stored<WoundData>, can_write: bool, today: Date, compact: bool) -> Markup {
    let mut ms: Vec<&Stored<WoundMeasurementData>> =
        record.wound_measurements.iter().filter(|m| m.data.wound_id == w.id).collect();
    ms.sort_by(|a, b| (a.data.measured_on, &a.id).cmp(&(b.data.measured_on, &b.id)));
    let label = w.data.location.label();
    let healed = w.data.healed_on.map(|d| format!(" · healed {d}"));
    let mut m = markup!(
        "<section class=\"wound card\" id=\"{}\"><h4>Wound: {}</h4><p class=\"muted\">noted {}{}</p>",
        format!("wound-{}", w.id),
        label,
        w.data.noted_on,
        healed
    );
    if !w.data.description.is_empty() {
        html!(m, "<p>{}</p>", w.data.description);
    }
    let baseline = ms.first().map(|b| (b.data.measured_on, b.data.area()));
    let points: Vec<ReductionPoint> = ms
        .iter()
        .filter_map(|x| {
            let (d0, a0) = baseline?;
            Some(ReductionPoint {
                day: (x.data.measured_on - d0).whole_days(),
                percent: percent_area_reduction(a0, x.data.area())?,
                label: x.data.measured_on.to_string(),
            })
        })
        .collect();
    if !ms.is_empty() && !compact {
        html!(
            m,
            "<div class=\"table-wrap\"><table class=\"measurements\"><caption>Measurements</caption><thead><tr><th scope=\"col\">Date</th><th scope=\"col\">L × W (cm)</th><th scope=\"col\">Depth (cm)</th><th scope=\"col\">Area (cm²)</th><th scope=\"col\">Area reduction</th></tr></thead><tbody>"
        );
        for x in &ms {
            let red = baseline.and_then(|(_, a0)| percent_area_reduction(a0, x.data.area()));
            html!(
                m,
                "<tr><td>{}</td><td>{} × {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                x.data.measured_on,
                num(x.data.length_cm, 1),
                num(x.data.width_cm, 1),
                x.data.depth_cm.map(|d| num(d, 1)).unwrap_or_else(|| "–".into()),
                num(x.data.area(), 2),
                red.map(|r| format!("{} %", num(r, 1))).unwrap_or_else(|| "–".into())
            );
        }
        html!(m, "</tbody></table></div>");
    }
    let cp = ChartCheckpoint { day: GVG_6_9_DAY as i64, min_percent: GVG_6_9_MIN_AREA_REDUCTION_PERCENT };
    html!(
        m,
        "<figure class=\"chart-fig\">{}<figcaption>Percent area reduction from the first measurement; the dashed lines mark GVG 6.9's ≥{} % by day {} (REFERENCES.md §2.3).</figcaption></figure>",
        reduction_chart(label, &points, cp),
        num(cp.min_percent, 0),
        cp.day
    );
    // The checkpoint's status, from the pathway rules.
    let data: Vec<&WoundMeasurementData> = ms.iter().map(|x| &x.data).collect();
    if let Ok(t) = wound_trajectory(&w.id, &w.data, data, &ProgrammeSettings::default(), today)
        && let Some(c) = t.checkpoint(GVG_6_9_CHECKPOINT_ID)
    {
        let status = serde_plain(&c.status);
        html!(
            m,
            "<p class=\"cp-status cp-{}\"><strong>4-week checkpoint (due {}): {}</strong>{}</p>",
            status,
            c.due_on,
            c.status.label(),
            c.area_reduction_percent.map(|r| format!(
                " · {} % reduction on {}",
                num(r, 1),
                c.measured_on.map(|d| d.to_string()).unwrap_or_default()
            ))
        );
    }
    if can_write && !compact {
        html!(
            m,
            "<p><a class=\"button\" href=\"{}\">Add measurement</a></p>",
            format!("/wounds/{}/measurements/new", w.id)
        );
    }
    html!(m, "</section>");
    m
}

// ---------------------------------------------------------------------------
// Printable summary
// ---------------------------------------------------------------------------

pub async fn summary(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let web = match session(&state, &headers, &addr, "patient").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let record = match read_record(&state, &web, &id, "web printable summary").await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Some(p) = &record.patient else { return page_error(&web, Problem::not_found("no patient")) };
    let today = today();
    let mut m = markup!(
        "<article class=\"summary\"><header class=\"sum-head\"><h1>{}, {}</h1><p>MRN {} · {} · printed {}</p><button type=\"button\" class=\"print-button\" hidden>Print</button></header><h2>Risk factors</h2>{}",
        p.data.family_name,
        p.data.given_name,
        p.data.mrn,
        p.data.site,
        today,
        risk_factors(&p.data, today, None)
    );
    for limb in &record.limbs {
        html!(m, "<section><h2>{} {} limb</h2>", capitalise(limb.data.side.code()), limb.data.kind.code());
        for ep in record.episodes.iter().filter(|e| e.data.limb_id == limb.id) {
            html!(
                m,
                "<h3>{} · {} · opened {}</h3>",
                aetiology(ep.data.aetiology),
                words(ep.data.status.code()),
                ep.data.opened_on
            );
            let assessments = episode_assessments(&record, &ep.id);
            m.push(wifi_trend(&assessments));
            if let Some(a) = assessments.last() {
                let r = &a.derived.result_value();
                if let Some(arts) = r.pointer("/angiosome/source_arteries").and_then(Value::as_array) {
                    let names: Vec<String> = arts.iter().filter_map(Value::as_str).map(words).collect();
                    html!(m, "<p>Angiosome source artery: {}</p>", names.join(", "));
                }
            }
            let procs: Vec<String> = record
                .procedures
                .iter()
                .filter(|x| x.data.episode_id == ep.id)
                .map(|x| format!("{} {}", x.data.performed_on, words(x.data.kind.code())))
                .collect();
            if !procs.is_empty() {
                html!(m, "<p>Procedures: {}</p>", procs.join("; "));
            }
            let outs: Vec<String> = record
                .outcome_events
                .iter()
                .filter(|x| x.data.episode_id == ep.id)
                .map(|x| format!("{} {}", x.data.occurred_on, words(x.data.kind.code())))
                .collect();
            if !outs.is_empty() {
                html!(m, "<p>Outcome events: {}</p>", outs.join("; "));
            }
            html!(m, "<div class=\"wounds\">");
            for w in record.wounds.iter().filter(|w| w.data.episode_id == ep.id) {
                m.push(wound_card(&record, w, false, today, true));
            }
            html!(m, "</div>");
        }
        html!(m, "</section>");
    }
    html!(
        m,
        "<p class=\"notice\">Decision support — for the clinician's judgement. Classifications cite their sources in LimbPath.</p></article>"
    );
    page_with(Some(&web), "Summary", m, "print-summary")
}

// ---------------------------------------------------------------------------
// Assessment: form and result
// ---------------------------------------------------------------------------

fn assessment_fields(side: Side) -> Vec<Field> {
    use Kind::*;
    let left = side == Side::Left;
    let pick = |l: &'static str, r: &'static str| if left { l } else { r };
    let status = || Select { options: options(["patent", "treatable", "untreatable"]), optional: true };
    vec![
        Field::new("assessed_on", "Assessed on", Date).required(),
        Field::new("diabetes", "Diabetes (toe pressure or TcPO2 expected)", Checkbox),
        Field::new("pressures.brachial_left_mmhg", "Brachial pressure, left arm", Number("mmHg")),
        Field::new("pressures.brachial_right_mmhg", "Brachial pressure, right arm", Number("mmHg")),
        Field::new(
            pick("pressures.left.dorsalis_pedis_mmhg", "pressures.right.dorsalis_pedis_mmhg"),
            "Ankle pressure, dorsalis pedis (DP)",
            Number("mmHg"),
        ),
        Field::new(
            pick("pressures.left.posterior_tibial_mmhg", "pressures.right.posterior_tibial_mmhg"),
            "Ankle pressure, posterior tibial (PT)",
            Number("mmHg"),
        ),
        Field::new(
            pick("pressures.left.toe_pressure_mmhg", "pressures.right.toe_pressure_mmhg"),
            "Toe pressure",
            Number("mmHg"),
        ),
        Field::new("tcpo2_mmhg", "TcPO2", Number("mmHg")),
        Field::new("non_compressible", "Ankle vessels non-compressible (calcified)", Checkbox),
        Field::new(
            "wound.ulcer",
            "Ulcer depth",
            Select {
                options: vec![
                    ("none", "no ulcer".into()),
                    ("shallow", "shallow, no exposed bone (except distal phalanx)".into()),
                    ("exposed_bone_distal_phalanx", "exposed bone of the distal phalanx only".into()),
                    ("deep", "deep, with exposed bone, joint or tendon".into()),
                    (
                        "extensive_deep",
                        "extensive deep ulcer (forefoot/midfoot, or full-thickness heel with calcaneal involvement)"
                            .into(),
                    ),
                ],
                optional: false,
            },
        )
        .required(),
        Field::new(
            "wound.heel",
            "Heel ulcer",
            Select {
                options: vec![
                    ("none", "none".into()),
                    ("shallow", "shallow, no calcaneal involvement".into()),
                    ("deep", "deep, with calcaneal involvement".into()),
                ],
                optional: false,
            },
        )
        .required(),
        Field::new(
            "wound.gangrene",
            "Gangrene",
            Select {
                options: vec![
                    ("none", "none".into()),
                    ("digits", "limited to the digits".into()),
                    ("extensive", "extensive (forefoot/midfoot)".into()),
                    ("heel_necrosis", "full-thickness heel necrosis".into()),
                ],
                optional: false,
            },
        )
        .required(),
        Field::new("wound.rest_pain", "Ischaemic rest pain", Checkbox),
        Field::new("infection.local_swelling_or_induration", "Local swelling or induration", Checkbox),
        Field::new("infection.erythema_cm", "Erythema from the wound margin", Number("cm")).hint("leave empty if none"),
        Field::new("infection.local_tenderness_or_pain", "Local tenderness or pain", Checkbox),
        Field::new("infection.local_warmth", "Local warmth", Checkbox),
        Field::new("infection.purulent_discharge", "Purulent discharge", Checkbox),
        Field::new(
            "infection.deep_involvement",
            "Deeper involvement",
            Multi(options(["abscess", "osteomyelitis", "septic_arthritis", "fasciitis", "tendon", "muscle"])),
        ),
        Field::new("infection.sirs.temperature_c", "Temperature", Number("°C")),
        Field::new("infection.sirs.heart_rate_bpm", "Heart rate", Number("/min")),
        Field::new("infection.sirs.respiratory_rate_per_min", "Respiratory rate", Number("/min")),
        Field::new("infection.sirs.paco2_mmhg", "PaCO2", Number("mmHg")),
        Field::new("infection.sirs.wbc_per_ul", "White cell count", Number("/µL")),
        Field::new("infection.sirs.immature_bands_percent", "Immature bands", Number("%")),
        Field::new("wound_locations", "Wound locations", Multi(Vec::new())),
        Field::new("arteries.anterior_tibial", "Anterior tibial artery", status()),
        Field::new("arteries.posterior_tibial", "Posterior tibial artery", status()),
        Field::new("arteries.peroneal", "Peroneal artery", status()),
        Field::new(
            "arteries.pedal_arch",
            "Pedal arch",
            Select { options: options(["intact", "absent_or_diseased"]), optional: true },
        ),
    ]
}

/// Store error paths that name derived values, mapped to the control the clinician typed.
fn assessment_aliases(side: Side) -> Vec<(&'static str, &'static str)> {
    let (dp, toe) = if side == Side::Left {
        ("pressures.left.dorsalis_pedis_mmhg", "pressures.left.toe_pressure_mmhg")
    } else {
        ("pressures.right.dorsalis_pedis_mmhg", "pressures.right.toe_pressure_mmhg")
    };
    vec![
        ("ischaemia.tcpo2_mmhg", "tcpo2_mmhg"),
        ("ischaemia.toe_pressure_mmhg", toe),
        ("ischaemia.abi", dp),
        ("ischaemia.ankle_pressure_mmhg", dp),
        ("pressures", dp),
    ]
}

/// The episode's limb side and the patient (for the header and diabetes default).
async fn assessment_context(
    state: &AppState,
    web: &Web,
    episode: &str,
) -> Result<(Side, Stored<PatientData>), Response> {
    let fail = |e| page_error(web, store_problem(e).0);
    let ep = state.store.get_owned::<EpisodeData>(episode).await.map_err(fail)?;
    let limb = state.store.get_owned::<LimbData>(&ep.record.data.limb_id).await.map_err(fail)?;
    let patient = state.store.get_owned::<PatientData>(&ep.owner).await.map_err(fail)?;
    web.audit(state, "read", "patient")
        .record(Some(&ep.owner), Some(&ep.owner), AuditOutcome::Ok, "assessment form header")
        .await
        .map_err(|p| page_error(web, p))?;
    Ok((limb.record.data.side, patient.record))
}

fn assessment_page(
    web: &Web,
    episode: &str,
    side: Side,
    patient: &Stored<PatientData>,
    values: &FormData,
    errors: &[FieldError],
) -> Response {
    let fields = assessment_fields(side);
    let f = |name: &str| fields.iter().find(|f| f.name == name).map(|f| control(f, values, errors)).unwrap_or_default();
    let side_name = side.code();
    let mut m = markup!(
        "<p class=\"crumbs\"><a href=\"{}\">{}, {}</a> · MRN {}</p><h1>New assessment: {} lower limb</h1><p class=\"lead\">Enter what you measured; LimbPath derives the grades.</p>{}",
        format!("/patients/{}", patient.id),
        patient.data.family_name,
        patient.data.given_name,
        patient.data.mrn,
        side_name,
        error_summary(errors)
    );
    let loc_error = errors.iter().find(|e| e.field == "wound_locations");
    html!(
        m,
        "<form method=\"post\" action=\"{}\" class=\"record-form assessment-form\" novalidate>{}",
        format!("/episodes/{episode}/assessments/new"),
        csrf_field(&web.csrf)
    );
    html!(
        m,
        "<section class=\"card\"><h2>Date</h2><div class=\"grid\">{}{}</div></section>",
        f("assessed_on"),
        f("diabetes")
    );
    html!(m, "<section class=\"card\"><h2>Perfusion</h2><div class=\"grid\">");
    for f2 in fields
        .iter()
        .filter(|x| x.name.starts_with("pressures.") || x.name == "tcpo2_mmhg" || x.name == "non_compressible")
    {
        m.push(control(f2, values, errors));
    }
    html!(
        m,
        "</div></section><section class=\"card\"><h2>Wound</h2><div class=\"grid\">{}{}{}{}</div>",
        f("wound.ulcer"),
        f("wound.heel"),
        f("wound.gangrene"),
        f("wound.rest_pain")
    );
    html!(
        m,
        "<h3>Wound locations (foot map)</h3><p class=\"hint\">Click or press Enter/Space on a region, or tick its box. Shading shows the angiosome's source artery.</p>"
    );
    if let Some(e) = loc_error {
        html!(m, "<p class=\"error\"><strong>Error:</strong> {}</p>", e.message);
    }
    let marked: Vec<WoundLocation> =
        values.all("wound_locations").iter().filter_map(|c| WoundLocation::parse("wound_locations", c).ok()).collect();
    m.push(foot_map(&marked));
    html!(m, "</section><section class=\"card\"><h2>Infection</h2><div class=\"grid\">");
    for f2 in fields.iter().filter(|x| x.name.starts_with("infection.") && !x.name.starts_with("infection.sirs.")) {
        m.push(control(f2, values, errors));
    }
    html!(m, "</div><h3>SIRS criteria</h3><div class=\"grid\">");
    for f2 in fields.iter().filter(|x| x.name.starts_with("infection.sirs.")) {
        m.push(control(f2, values, errors));
    }
    html!(m, "</div></section><section class=\"card\"><h2>Arteries (for angiosome targeting)</h2><div class=\"grid\">");
    for f2 in fields.iter().filter(|x| x.name.starts_with("arteries.")) {
        m.push(control(f2, values, errors));
    }
    html!(
        m,
        "</div></section><div class=\"actions\"><button type=\"submit\" class=\"primary\">Save and classify</button></div></form>"
    );
    let mut r = page(Some(web), "New assessment", m);
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub async fn assessment_form(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(episode): Path<String>,
) -> Response {
    let web = match session(&state, &headers, &addr, "assessment").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let audit = web.audit(&state, "form", "assessment");
    if let Err(r) = parent_owner(&state, &web, &audit, RecordKind::Episode, &episode).await {
        return r;
    }
    let (side, patient) = match assessment_context(&state, &web, &episode).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut values = FormData::default();
    values.set("assessed_on", &today().to_string());
    values.set("wound.ulcer", "none");
    values.set("wound.heel", "none");
    values.set("wound.gangrene", "none");
    if patient.data.diabetes != DiabetesStatus::None {
        values.set("diabetes", "on");
    }
    assessment_page(&web, &episode, side, &patient, &values, &[])
}

/// The findings JSON (the `assess` input schema) from the form.
fn findings(side: Side, fields: &[Field], values: &FormData) -> Result<Map<String, Value>, Vec<FieldError>> {
    let skip = ["assessed_on", "tcpo2_mmhg", "non_compressible"];
    let finding_fields: Vec<Field> = fields.iter().filter(|f| !skip.contains(&f.name)).cloned().collect();
    let mut all = to_json(fields, values)?;
    let mut json = to_json(&finding_fields, values)?;
    json.insert("side".into(), Value::String(side.code().into()));
    let tcpo2 = all.remove("tcpo2_mmhg");
    let non_compressible = all.get("non_compressible").and_then(Value::as_bool).unwrap_or(false);
    if tcpo2.is_some() || non_compressible {
        // TcPO2 and non-compressible vessels go with the ischaemia measurements;
        // the ABI and ankle pressure there are the engine's, from these pressures.
        let diabetes = json.get("diabetes").and_then(Value::as_bool).unwrap_or(false);
        let mut isch = Map::new();
        if let Some(set) = json
            .get("pressures")
            .cloned()
            .and_then(|p| serde_json::from_value::<limbpath_clinical::perfusion::PressureSet>(p).ok())
            && let Ok(r) = limbpath_clinical::perfusion::classify(&set)
            && let Some(leg) = r.legs.iter().find(|l| l.side.label() == side.code())
            && let Some(abi) = &leg.abi
        {
            isch.insert("abi".into(), Value::from(abi.abi));
            isch.insert("ankle_pressure_mmhg".into(), Value::from(abi.ankle_pressure_mmhg));
        }
        if let Some(t) = json.get("pressures").and_then(|p| p.get(side.code())).and_then(|l| l.get("toe_pressure_mmhg"))
        {
            isch.insert("toe_pressure_mmhg".into(), t.clone());
        }
        if let Some(t) = tcpo2 {
            isch.insert("tcpo2_mmhg".into(), t);
        }
        isch.insert("non_compressible".into(), Value::Bool(non_compressible));
        isch.insert("diabetes".into(), Value::Bool(diabetes));
        json.insert("ischaemia".into(), Value::Object(isch));
    }
    Ok(json)
}

pub async fn assessment_create(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(episode): Path<String>,
    body: Bytes,
) -> Response {
    let web = match session(&state, &headers, &addr, "assessment").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let values = FormData::parse(&body);
    if let Err(r) = check_csrf(&state, &web, &values).await {
        return r;
    }
    let audit = web.audit(&state, "create", "assessment");
    if let Err(r) = parent_owner(&state, &web, &audit, RecordKind::Episode, &episode).await {
        return r;
    }
    let (side, patient) = match assessment_context(&state, &web, &episode).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let fields = assessment_fields(side);
    let failed = |errors: Vec<FieldError>| {
        let web = &web;
        let audit = &audit;
        let patient = &patient;
        let values = &values;
        let episode = &episode;
        async move {
            let detail = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
            if let Err(p) = audit.record(None, None, AuditOutcome::Invalid, &detail).await {
                return page_error(web, p);
            }
            assessment_page(web, episode, side, patient, values, &errors)
        }
    };
    let assessed_on = values.text("assessed_on");
    let findings = match findings(side, &fields, &values) {
        Ok(f) => f,
        Err(errors) => return failed(errors).await,
    };
    let data = AssessmentData {
        episode_id: episode.clone(),
        assessed_on: match Date::parse(assessed_on, &time::format_description::well_known::Iso8601::DATE) {
            Ok(d) => d,
            Err(_) => {
                return failed(vec![FieldError {
                    field: "assessed_on".into(),
                    message: format!("Assessed on \"{assessed_on}\" is not a date; enter a date such as 2025-01-31"),
                }])
                .await;
            }
        },
        findings: Value::Object(findings).into(),
    };
    // The creation's audit entry is stored with the record, the plan's with its tasks.
    let entry = audit.entry(None, None, AuditOutcome::Ok, "web form");
    match state.store.create_owned_and_run_care_plan(data, &crate::care::rules(), crate::care::today(), entry).await {
        Ok((Owned { owner: _, record }, plan)) => {
            // The care plan followed the record (issue 5).
            crate::care::tasks_created(RecordKind::Assessment, &record.stored.id, plan);
            redirect(&format!("/assessments/{}?saved=1", record.stored.id))
        }
        Err(limbpath_store::StoreError::Invalid(mut e)) => {
            if let Some(rest) = e.field.strip_prefix("findings.") {
                e.field = rest.to_owned();
            }
            let aliases = assessment_aliases(side);
            failed(vec![super::forms::invalid_to_error(&e, &fields, &aliases)]).await
        }
        Err(e) => match super::forms::store_failure(e, &fields, &[]) {
            Saved::Invalid(errors) => failed(errors).await,
            Saved::Failed(p, outcome) => {
                let _ = audit.record(None, None, outcome, &p.detail).await;
                page_error(&web, p)
            }
        },
    }
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

pub async fn assessment(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Response {
    let web = match session(&state, &headers, &addr, "assessment").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let audit = web.audit(&state, "read", "assessment");
    if let Err(p) = authorise(&audit, &web.caller, Family::PatientRecord, Action::Read, Some(&id)).await {
        return page_error(&web, p);
    }
    let Owned { owner, record } = match state.store.get_owned::<AssessmentData>(&id).await {
        Ok(o) => o,
        Err(e) => {
            let (p, outcome) = store_problem(e);
            let _ = audit.record(Some(&id), None, outcome, &p.detail).await;
            return page_error(&web, p);
        }
    };
    if let Err(p) = scope(&audit, &web.caller, &owner, &id).await {
        return page_error(&web, p);
    }
    if let Err(p) = audit.record(Some(&id), Some(&owner), AuditOutcome::Ok, "web result panel").await {
        return page_error(&web, p);
    }
    let mut m = markup!("<p class=\"crumbs\"><a href=\"{}\">Back to the patient</a></p>", format!("/patients/{owner}"));
    if q.saved.is_some() {
        html!(m, "<p class=\"notice\" role=\"status\">Assessment saved.</p>");
    }
    html!(m, "<h1>Assessment of {}</h1>", record.stored.data.assessed_on);
    m.push(result_panel(&record.derived.result_value(), &record.derived.engine_version));
    page(Some(&web), "Assessment", m)
}

/// Every explanation in a result: (where, explanation object).
fn explanations<'a>(v: &'a Value, path: &str, out: &mut Vec<(String, &'a Map<String, Value>)>) {
    match v {
        Value::Object(o) => {
            if o.contains_key("rule") && o.contains_key("source") {
                out.push((path.to_owned(), o));
                return;
            }
            for (k, x) in o {
                let p = if k == "explanation" {
                    path.to_owned()
                } else if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path} › {k}")
                };
                explanations(x, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                explanations(x, &format!("{path} [{}]", i + 1), out);
            }
        }
        _ => {}
    }
}

fn explanation_block(label: &str, e: &Map<String, Value>) -> Markup {
    let rule = e.get("rule").and_then(Value::as_str).unwrap_or("");
    let source_id = e.get("source").and_then(Value::as_str).unwrap_or("");
    let mut m =
        markup!("<div class=\"expl\"><p class=\"expl-label\">{}</p><p class=\"rule\">{}</p>", words(label), rule);
    if let Some(s) = limbpath_clinical::catalogue().iter().find(|s| s.id == source_id) {
        let status = serde_plain(&s.status);
        html!(
            m,
            "<p class=\"source\">Source: {} <span class=\"muted\">({})</span> <span class=\"evidence ev-{}\">{}</span></p>",
            s.citation,
            s.reference,
            status.to_lowercase(),
            status
        );
    } else if !source_id.is_empty() {
        html!(m, "<p class=\"source\">Source: {}</p>", source_id);
    }
    if let Some(flags) = e.get("flags").and_then(Value::as_array).filter(|f| !f.is_empty()) {
        html!(m, "<ul class=\"flags\">");
        for f in flags {
            let kind = f.get("kind").and_then(Value::as_str).unwrap_or("");
            html!(
                m,
                "<li><span class=\"flag flag-{}\">{}</span> {}</li>",
                kind.to_lowercase(),
                kind,
                f.get("message").and_then(Value::as_str).unwrap_or("")
            );
        }
        html!(m, "</ul>");
    }
    html!(m, "</div>");
    m
}

/// The result panel: every classification with rationale and source; WIfI's
/// stage, amputation risk and revascularisation benefit; the angiosome source
/// arteries and direct/indirect options; flags visible.
pub fn result_panel(result: &Value, engine_version: &str) -> Markup {
    let mut m = markup!(
        "<section class=\"result\" aria-labelledby=\"result-h\"><p class=\"decision-support\" role=\"note\"><strong>Decision support — for the clinician's judgement.</strong> These are estimates and suggestions; check flagged items against the cited source.</p><h2 id=\"result-h\">Result <span class=\"muted\">(engine {})</span></h2>",
        engine_version
    );
    if let Some(w) = result.get("wifi") {
        let stage = w.pointer("/stage/stage").and_then(Value::as_u64).unwrap_or(0);
        let risk = w.pointer("/stage/amputation_risk").and_then(Value::as_str).map(words).unwrap_or_default();
        let benefit =
            w.pointer("/revascularisation_benefit/benefit").and_then(Value::as_str).map(words).unwrap_or_default();
        let disputed = w.pointer("/stage/disputed").and_then(Value::as_bool).unwrap_or(false);
        let provisional = w.pointer("/revascularisation_benefit/provisional").and_then(Value::as_bool).unwrap_or(false);
        html!(
            m,
            "<article class=\"card cls cls-wifi\"><h3>WIfI: <span class=\"code\">{}</span> → <span class=\"stage stage-{}\" id=\"wifi-stage\">Clinical stage {}</span></h3><dl class=\"facts\"><div><dt>Estimated 1-year amputation risk</dt><dd id=\"amputation-risk\">{}</dd></div><div><dt>Estimated benefit of revascularisation</dt><dd id=\"revasc-benefit\">{}</dd></div></dl>",
            w.get("code").and_then(Value::as_str).unwrap_or(""),
            stage,
            stage,
            risk,
            benefit
        );
        if disputed {
            html!(
                m,
                "<p><span class=\"flag flag-disputed\">DISPUTED</span> this cell of the stage table is disputed between sources; see the rationale.</p>"
            );
        }
        if provisional {
            html!(
                m,
                "<p><span class=\"flag flag-provisional\">PROVISIONAL</span> the benefit estimate is provisional; see the rationale.</p>"
            );
        }
        let mut ex = Vec::new();
        explanations(w, "", &mut ex);
        for (label, e) in ex {
            m.push(explanation_block(if label.is_empty() { "WIfI" } else { &label }, e));
        }
        html!(m, "</article>");
    }
    if let Some(a) = result.get("angiosome") {
        let arts: Vec<String> = a
            .get("source_arteries")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).map(words).collect())
            .unwrap_or_default();
        html!(
            m,
            "<article class=\"card cls cls-angiosome\"><h3>Angiosome target: <span id=\"angiosome-target\">{}</span></h3><ul>",
            if arts.is_empty() { "no source artery assigned".to_owned() } else { arts.join(" and ") }
        );
        for l in a.get("locations").and_then(Value::as_array).into_iter().flatten() {
            let loc = l.get("location").and_then(Value::as_str).unwrap_or("");
            let branches: Vec<String> = l
                .get("angiosomes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|x| {
                    format!(
                        "{} ({})",
                        x.get("branch").and_then(Value::as_str).unwrap_or(""),
                        words(x.get("source_artery").and_then(Value::as_str).unwrap_or(""))
                    )
                })
                .collect();
            html!(
                m,
                "<li>{}: {}</li>",
                words(loc),
                if branches.is_empty() { "no angiosome assigned".to_owned() } else { branches.join(" + ") }
            );
        }
        html!(m, "</ul>");
        let options: Vec<&Value> =
            a.get("options").and_then(Value::as_array).map(|v| v.iter().collect()).unwrap_or_default();
        if options.is_empty() {
            html!(
                m,
                "<p class=\"muted\">No revascularisation options listed: record the status of the tibial arteries to see direct and indirect options.</p>"
            );
        } else {
            html!(
                m,
                "<table class=\"options\"><caption>Revascularisation options</caption><thead><tr><th scope=\"col\">Artery</th><th scope=\"col\">Status</th><th scope=\"col\">Route</th><th scope=\"col\">Note</th></tr></thead><tbody>"
            );
            for o in options {
                let route = o.get("route").and_then(Value::as_str).unwrap_or("");
                html!(
                    m,
                    "<tr><td>{}</td><td>{}</td><td><span class=\"route route-{}\">{}</span></td><td>{}</td></tr>",
                    words(o.get("artery").and_then(Value::as_str).unwrap_or("")),
                    words(o.get("status").and_then(Value::as_str).unwrap_or("")),
                    route,
                    route,
                    o.get("note").and_then(Value::as_str).unwrap_or("")
                );
            }
            html!(m, "</tbody></table>");
        }
        if let Some(e) = a.get("explanation").and_then(Value::as_object) {
            m.push(explanation_block("angiosome", e));
        }
        html!(m, "</article>");
    }
    if let Some(obj) = result.as_object() {
        for (key, v) in obj {
            if matches!(key.as_str(), "wifi" | "angiosome" | "engine_version" | "side" | "not_computed") {
                continue;
            }
            let mut ex = Vec::new();
            explanations(v, "", &mut ex);
            if ex.is_empty() {
                continue;
            }
            html!(m, "<article class=\"card cls\"><h3>{}</h3>", classification_name(key));
            for (label, e) in ex {
                m.push(explanation_block(if label.is_empty() { key } else { &label }, e));
            }
            html!(m, "</article>");
        }
    }
    if let Some(nc) = result.get("not_computed").and_then(Value::as_array).filter(|v| !v.is_empty()) {
        html!(m, "<article class=\"card cls\"><h3>Not computed</h3><ul>");
        for n in nc {
            html!(
                m,
                "<li><strong>{}</strong>: {}</li>",
                n.get("classification").and_then(Value::as_str).unwrap_or(""),
                n.get("reason").and_then(Value::as_str).unwrap_or("")
            );
        }
        html!(m, "</ul></article>");
    }
    html!(m, "</section>");
    m
}

fn classification_name(key: &str) -> String {
    match key {
        "perfusion" => "Perfusion (ABI / TBI)".into(),
        "infection" => "Infection (IWGDF/IDSA)".into(),
        "glass" => "GLASS".into(),
        "rutherford" => "Rutherford / Fontaine".into(),
        "ceap" => "CEAP".into(),
        "vcss" => "VCSS".into(),
        "mess" => "MESS".into(),
        "sinbad" => "SINBAD".into(),
        "msts" => "MSTS".into(),
        other => capitalise(&words(other)),
    }
}

// ---------------------------------------------------------------------------
// Admin pages
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct AuditQuery {
    patient: Option<String>,
    cursor: Option<String>,
}

pub async fn admin_audit(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Response {
    let web = match session(&state, &headers, &addr, "audit").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let audit = web.audit(&state, "read", "audit");
    if let Err(p) = authorise(&audit, &web.caller, Family::Audit, Action::Read, None).await {
        return page_error(&web, p);
    }
    let patient = q.patient.clone().filter(|p| !p.trim().is_empty());
    let mut m = markup!(
        "<h1>Audit trail</h1><form method=\"get\" action=\"/admin/audit\" class=\"card search\"><div class=\"field\"><label for=\"patient\">Patient id</label><input id=\"patient\" name=\"patient\" value=\"{}\"></div><div class=\"actions\"><button type=\"submit\" class=\"primary\">Show</button></div></form>",
        patient.clone().unwrap_or_default()
    );
    let page = match &patient {
        Some(p) => {
            if let Err(e) = check_id("patient", p) {
                return page_error(&web, Problem::invalid(e));
            }
            state.store.audit_for_patient(p, q.cursor.as_deref(), 100).await
        }
        None => state.store.list_audit(q.cursor.as_deref(), 100).await,
    };
    let page = match page {
        Ok(p) => p,
        Err(e) => return page_error(&web, store_problem(e).0),
    };
    if let Err(p) = audit.record(None, patient.as_deref(), AuditOutcome::Ok, "web").await {
        return page_error(&web, p);
    }
    html!(
        m,
        "<div class=\"table-wrap\"><table class=\"list\"><thead><tr><th scope=\"col\">When (UTC ms)</th><th scope=\"col\">Who</th><th scope=\"col\">Action</th><th scope=\"col\">Entity</th><th scope=\"col\">Patient</th><th scope=\"col\">Outcome</th><th scope=\"col\">Detail</th></tr></thead><tbody>"
    );
    for e in &page.items {
        let v = serde_json::to_value(e).unwrap_or(Value::Null);
        let s = |k: &str| {
            v.get(k)
                .map(|x| x.as_str().map(str::to_owned).unwrap_or_else(|| x.to_string()))
                .filter(|x| x != "null")
                .unwrap_or_default()
        };
        html!(
            m,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s("at_ms"),
            s("username"),
            s("action"),
            s("entity"),
            s("patient_id"),
            s("outcome"),
            s("detail")
        );
    }
    html!(m, "</tbody></table></div>");
    if let Some(next) = &page.next_cursor {
        let mut qs = form_urlencoded::Serializer::new(String::new());
        if let Some(p) = &patient {
            qs.append_pair("patient", p);
        }
        qs.append_pair("cursor", next);
        html!(
            m,
            "<nav class=\"pager\"><a class=\"button\" rel=\"next\" href=\"{}\">Next page →</a></nav>",
            format!("/admin/audit?{}", qs.finish())
        );
    }
    super::page(Some(&web), "Audit trail", m)
}

pub async fn admin_users(State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap) -> Response {
    let web = match session(&state, &headers, &addr, "user").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let audit = web.audit(&state, "list", "user");
    if let Err(p) = authorise(&audit, &web.caller, Family::Users, Action::Read, None).await {
        return page_error(&web, p);
    }
    let users = match state.store.list_users(None, 500).await {
        Ok(u) => u,
        Err(e) => return page_error(&web, store_problem(e).0),
    };
    if let Err(p) = audit.record(None, None, AuditOutcome::Ok, "web").await {
        return page_error(&web, p);
    }
    let mut m = markup!(
        "<h1>Users</h1><p class=\"muted\">Accounts are added with <code>limbpath user add</code> or the API.</p><div class=\"table-wrap\"><table class=\"list\"><thead><tr><th scope=\"col\">Username</th><th scope=\"col\">Name</th><th scope=\"col\">Role</th></tr></thead><tbody>"
    );
    for u in &users.items {
        html!(
            m,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            u.data.username,
            u.data.display_name,
            u.data.role.code()
        );
    }
    html!(m, "</tbody></table></div>");
    page(Some(&web), "Users", m)
}

impl IntoResponse for Markup {
    fn into_response(self) -> Response {
        let mut r = self.into_string().into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        r
    }
}
