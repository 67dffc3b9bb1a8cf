//! The application: state, router, and the request flow every endpoint
//! follows — authenticate, check the role matrix, scope a patient account to
//! its own record, act, and audit the outcome (denials included).

use crate::access::{Action, Family, allowed};
use crate::http::{QueryParams, credential, etag, if_match, page_limit};
use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use limbpath_record::{Role, Stored, UserData};
use limbpath_store::{AuditEntry, AuditOutcome, AuditTrail, LoginOutcome, Owned, Page, RecordKind, Store, StoreError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long a login session lasts.
    pub session_ttl: Duration,
    /// How long a browser session may go unused before it ends (ASVS 3.3.2);
    /// `None`: no idle limit. API tokens keep only their absolute lifetime.
    pub session_idle: Option<Duration>,
    /// The deployment is reached over TLS (served over TLS or behind a TLS proxy): the browser cookies are
    /// marked `Secure` and named with the `__Host-` prefix (see [`crate::http::Cookies`]).
    pub secure_cookies: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Where FHIR bulk export jobs write their NDJSON files.
    pub export_dir: std::path::PathBuf,
    /// Send `Strict-Transport-Security` (the deployment is reached over TLS only).
    pub hsts: bool,
    /// Per-client-address rate limits (off by default; `limbpath serve` sets them).
    pub rate_limits: crate::ops::RateLimits,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed for the client address.
    pub trusted_proxies: Vec<crate::ops::IpNet>,
    /// A bearer token that may read `/metrics` from anywhere (else same host only).
    pub metrics_token: Option<String>,
    /// How long the outcomes dashboard waits for the first read of the
    /// analysis cohort before it shows the read's progress instead.
    pub dashboard_first_read_wait: Duration,
}

impl Config {
    /// The browser cookies of this deployment: `__Host-` prefixed over TLS.
    pub fn cookies(&self) -> crate::http::Cookies {
        crate::http::Cookies::new(self.secure_cookies)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            session_ttl: Duration::from_secs(8 * 3600),
            session_idle: Some(Duration::from_secs(30 * 60)),
            secure_cookies: false,
            body_limit_bytes: 1 << 20,
            export_dir: std::env::temp_dir().join("limbpath-fhir-exports"),
            hsts: false,
            rate_limits: crate::ops::RateLimits::OFF,
            trusted_proxies: Vec::new(),
            metrics_token: None,
            dashboard_first_read_wait: Duration::from_secs(5),
        }
    }
}

pub struct AppState {
    pub store: Store,
    pub config: Config,
    /// Where handlers append audit entries (group commit over `store`).
    pub audit: AuditTrail,
    /// The time the between-visits rules are evaluated at (check-ins, alert
    /// escalation); the system clock, or an adjustable one in tests.
    pub clock: crate::visits::Clock,
    /// This process's metrics and rate limiters.
    pub ops: crate::ops::Ops,
    /// The programme analytics' analysis tables (issue 7), reused for a few minutes.
    pub analytics: Arc<crate::analytics::TableCache>,
}

impl AppState {
    /// The state of a server over `store`; starts the audit trail's group
    /// writer, so it must be called on the Tokio runtime that will serve.
    pub fn new(store: Store, config: Config) -> AppState {
        let audit = AuditTrail::start(store.clone());
        let ops = crate::ops::Ops::new(config.rate_limits);
        AppState { store, config, audit, clock: crate::visits::Clock::system(), ops, analytics: Default::default() }
    }
}

pub(crate) type AppResult<T> = Result<T, Problem>;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: Stored<UserData>,
}

impl Caller {
    pub fn role(&self) -> Role {
        self.user.data.role
    }
}

/// What one request is about, for the audit trail.
pub(crate) struct Audit<'a> {
    pub(crate) state: &'a AppState,
    pub(crate) caller: Option<&'a Caller>,
    pub(crate) remote: Option<String>,
    pub(crate) action: &'static str,
    pub(crate) entity: &'static str,
}

impl<'a> Audit<'a> {
    /// What an authenticated caller's request is about.
    pub(crate) fn of(
        state: &'a AppState,
        caller: &'a Caller,
        remote: Option<String>,
        action: &'static str,
        entity: &'static str,
    ) -> Audit<'a> {
        Audit { state, caller: Some(caller), remote, action, entity }
    }

    /// The entry of this request with its outcome.
    pub(crate) fn entry(
        &self,
        entity_id: Option<&str>,
        patient_id: Option<&str>,
        outcome: AuditOutcome,
        detail: &str,
    ) -> AuditEntry {
        AuditEntry {
            at_ms: now_ms(),
            user_id: self.caller.map(|c| c.user.id.clone()),
            username: self.caller.map(|c| c.user.data.username.clone()),
            role: self.caller.map(Caller::role),
            action: self.action.to_owned(),
            entity: Some(self.entity.to_owned()),
            entity_id: entity_id.map(str::to_owned),
            patient_id: patient_id.map(str::to_owned),
            remote_addr: self.remote.clone(),
            outcome,
            detail: detail.to_owned(),
        }
    }

    /// Append an entry. A request whose audit entry cannot be written fails:
    /// patient data is never read or written unaudited.
    pub(crate) async fn record(
        &self,
        entity_id: Option<&str>,
        patient_id: Option<&str>,
        outcome: AuditOutcome,
        detail: &str,
    ) -> AppResult<()> {
        let entry = self.entry(entity_id, patient_id, outcome, detail);
        self.state.audit.append(&entry).await.map_err(|e| {
            log_error(&format!("audit append failed: {e}"));
            match e {
                StoreError::StorageFull(_) => Problem::storage_full(
                    "the database's storage is full: the audit trail cannot be written, so the request was not carried out",
                ),
                _ => Problem::unavailable("the audit trail cannot be written; the request was not carried out"),
            }
        })
    }

    /// Pass a checked input through, or audit its problem as invalid input
    /// and answer with it: a refused request is audited like any other.
    pub(crate) async fn valid<T>(
        &self,
        entity_id: Option<&str>,
        patient_id: Option<&str>,
        checked: AppResult<T>,
    ) -> AppResult<T> {
        match checked {
            Ok(v) => Ok(v),
            Err(p) => {
                self.record(entity_id, patient_id, AuditOutcome::Invalid, &p.detail).await?;
                Err(p)
            }
        }
    }

    /// Audit a store failure with its outcome, and answer with its problem.
    pub(crate) async fn failed<T>(
        &self,
        entity_id: Option<&str>,
        patient_id: Option<&str>,
        e: StoreError,
    ) -> AppResult<T> {
        let (p, outcome) = store_problem(e);
        self.record(entity_id, patient_id, outcome, &p.detail).await?;
        Err(p)
    }
}

/// Server-side failures, as `tracing` error events (the binary decides where
/// they go and in which format).
pub(crate) fn log_error(message: &str) {
    // Never log patient identifiers: messages here name ids at most.
    tracing::error!(target: "limbpath::server", "{message}");
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The client address, when the server was started with connect info
/// (absent in in-process tests).
pub struct RemoteAddr(pub Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RemoteAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        // The address the ops layer settled on (X-Forwarded-For from a trusted
        // proxy), else the TCP peer.
        if let Some(crate::ops::ClientIp(ip)) = parts.extensions.get::<crate::ops::ClientIp>() {
            return Ok(RemoteAddr(Some(ip.to_string())));
        }
        Ok(RemoteAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip().to_string())))
    }
}

pub(crate) fn remote(addr: &RemoteAddr) -> Option<String> {
    addr.0.clone()
}

/// Map a store error to a problem, auditing it with its outcome.
pub(crate) fn store_problem(e: StoreError) -> (Problem, AuditOutcome) {
    match e {
        StoreError::NotFound { entity, id, field: Some(field) } => (
            Problem::invalid(limbpath_clinical::InvalidInput::new(
                field,
                Some(id),
                limbpath_clinical::Problem::Unrecognised,
                format!("the id of an existing {entity}"),
            )),
            AuditOutcome::Invalid,
        ),
        StoreError::NotFound { entity, id, field: None } => {
            (Problem::not_found(format!("no {entity} with id {id}")), AuditOutcome::NotFound)
        }
        StoreError::VersionConflict { entity, id, current } => (
            Problem::precondition_failed(format!(
                "{entity} {id} is now at version {current}: reload it, re-apply your change, and send If-Match: \"{current}\""
            )),
            AuditOutcome::Conflict,
        ),
        StoreError::Duplicate { field, value } => {
            let mut p = Problem::conflict(format!("{field} {value:?} is already taken"));
            p.field = Some(field.to_owned());
            (p, AuditOutcome::Conflict)
        }
        StoreError::Invalid(e) => (Problem::invalid(e), AuditOutcome::Invalid),
        StoreError::Unavailable(m) => {
            log_error(&format!("database unavailable: {m}"));
            (Problem::unavailable("the database is unavailable; try again shortly"), AuditOutcome::Error)
        }
        StoreError::StorageFull(m) => {
            log_error(&format!("database storage full: {m}"));
            (
                Problem::storage_full(
                    "the database's storage is full; nothing was stored; free disk space and try again",
                ),
                AuditOutcome::Error,
            )
        }
        other => {
            log_error(&format!("store error: {other}"));
            (Problem::internal(), AuditOutcome::Error)
        }
    }
}

/// Parse a JSON request body, naming the field that was wrong.
pub(crate) fn parse_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<T> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "/problems/too-large", "Request body too large", r.body_text())
        } else {
            Problem::malformed(r.body_text(), None)
        }
    })?;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "/problems/unsupported-media-type",
            "Unsupported media type",
            "send the body as application/json",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(&body);
    let value: T = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = (path != ".").then_some(path);
        if inner.is_syntax() || inner.is_eof() {
            Problem::malformed(format!("the body is not valid JSON: {inner}"), field)
        } else {
            let mut p = Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/invalid-input",
                "Invalid input",
                match &field {
                    Some(f) => format!("{f}: {inner}"),
                    None => inner.to_string(),
                },
            );
            p.field = field;
            p
        }
    })?;
    // Nothing but whitespace may follow the one JSON value.
    de.end().map_err(|inner| Problem::malformed(format!("the body is not valid JSON: {inner}"), None))?;
    Ok(value)
}

/// Authenticate, or answer 401 and audit the attempt.
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    audit_entity: &'static str,
    remote: Option<String>,
) -> AppResult<Caller> {
    let token = credential(headers, state.config.cookies());
    let found = match &token {
        Some(t) => state.store.session_user(t, state.config.session_idle).await.map_err(|e| store_problem(e).0)?,
        None => None,
    };
    match found {
        Some((user, _expires)) => Ok(Caller { user }),
        None => {
            let audit = Audit { state, caller: None, remote, action: "denied", entity: audit_entity };
            let why = if token.is_some() { "invalid or expired credential" } else { "no credential" };
            audit.record(None, None, AuditOutcome::Denied, why).await?;
            Err(Problem::unauthenticated())
        }
    }
}

/// The role check, audited when it fails.
pub(crate) async fn authorise(
    audit: &Audit<'_>,
    caller: &Caller,
    family: Family,
    action: Action,
    entity_id: Option<&str>,
) -> AppResult<()> {
    if allowed(caller.role(), family, action) {
        return Ok(());
    }
    audit.record(entity_id, None, AuditOutcome::Denied, "role not permitted").await?;
    Err(Problem::forbidden(format!(
        "the {} role may not {} {:?}",
        caller.role(),
        match action {
            Action::Read => "read",
            Action::Write => "change",
        },
        family
    )))
}

/// A patient account may only see its own patient: anything else is a 404
/// (so ids of other patients are not confirmed), audited as denied.
pub(crate) async fn scope(audit: &Audit<'_>, caller: &Caller, owner: &str, entity_id: &str) -> AppResult<()> {
    if caller.role() != Role::Patient || caller.user.data.patient_id.as_deref() == Some(owner) {
        return Ok(());
    }
    audit.record(Some(entity_id), Some(owner), AuditOutcome::Denied, "another patient's record").await?;
    Err(Problem::not_found(format!("no {} with id {entity_id}", audit.entity)))
}

pub(crate) fn with_etag<T: Serialize>(status: StatusCode, version: i64, body: &T) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut().insert(header::ETAG, etag(version));
    r
}

#[derive(Debug, Deserialize)]
pub(crate) struct PageParams {
    pub(crate) cursor: Option<String>,
    pub(crate) limit: Option<u32>,
}

#[derive(Serialize)]
pub(crate) struct PageBody<T: Serialize> {
    pub(crate) items: Vec<T>,
    pub(crate) next_cursor: Option<String>,
}

impl<T: Serialize> From<Page<T>> for PageBody<T> {
    fn from(p: Page<T>) -> Self {
        PageBody { items: p.items, next_cursor: p.next_cursor }
    }
}

/// Per-entity CRUD and list routes, generated once per record kind.
macro_rules! record_routes {
    ($router:ident, $kind:expr, $Data:ty, $plural:literal, $update:ident,
     $(list: $parent_plural:literal, $parent_kind:expr, $list:ident)?) => {{
        let entity = $kind.entity();
        $router = $router
            .route(
                concat!("/api/v1/", $plural),
                post(move |State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap,
                      body: Result<Bytes, BytesRejection>| async move {
                    let remote = remote(&addr);
                    let caller = authenticate(&state, &headers, entity, remote.clone()).await?;
                    let audit = Audit::of(&state, &caller, remote, "create", entity);
                    authorise(&audit, &caller, Family::PatientRecord, Action::Write, None).await?;
                    let data: $Data = audit.valid(None, None, parse_body(&headers, body)).await?;
                    // The care plan follows the record (issue 5): its episode's plan runs with it.
                    // The creation's audit entry is stored with the record, the plan's with its tasks.
                    let entry = audit.entry(None, None, AuditOutcome::Ok, "");
                    let (rules, today) = (crate::care::rules(), crate::care::today());
                    match state.store.create_owned_and_run_care_plan(data, &rules, today, entry).await {
                        Ok((Owned { owner: _, record: stored }, plan)) => {
                            let id = record_id(&stored).to_owned();
                            let care = crate::care::tasks_created($kind, &id, plan);
                            let mut r = with_etag(StatusCode::CREATED, record_version(&stored), &stored);
                            if let Some(n) = care {
                                r.headers_mut().insert(crate::care::TASKS_CREATED_HEADER, HeaderValue::from(n));
                            }
                            if let Ok(loc) = HeaderValue::from_str(&format!(concat!("/api/v1/", $plural, "/{}"), id)) {
                                r.headers_mut().insert(header::LOCATION, loc);
                            }
                            Ok::<Response, Problem>(r)
                        }
                        Err(e) => audit.failed(None, None, e).await,
                    }
                }),
            )
            .route(
                concat!("/api/v1/", $plural, "/{id}"),
                get(move |State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap,
                     Path(id): Path<String>| async move {
                    let remote = remote(&addr);
                    let caller = authenticate(&state, &headers, entity, remote.clone()).await?;
                    let audit = Audit::of(&state, &caller, remote, "read", entity);
                    authorise(&audit, &caller, Family::PatientRecord, Action::Read, Some(&id)).await?;
                    // The record and its owner in one statement; nothing is
                    // answered before the scope check and the audit entry.
                    let Owned { owner, record: stored } = match state.store.get_owned::<$Data>(&id).await {
                        Ok(o) => o,
                        Err(e) => audit.failed(Some(&id), None, e).await?,
                    };
                    scope(&audit, &caller, &owner, &id).await?;
                    audit.record(Some(&id), Some(&owner), AuditOutcome::Ok, "").await?;
                    Ok::<Response, Problem>(with_etag(StatusCode::OK, record_version(&stored), &stored))
                })
                .put(move |State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap,
                      Path(id): Path<String>, body: Result<Bytes, BytesRejection>| async move {
                    let remote = remote(&addr);
                    let caller = authenticate(&state, &headers, entity, remote.clone()).await?;
                    let audit = Audit::of(&state, &caller, remote, "update", entity);
                    authorise(&audit, &caller, Family::PatientRecord, Action::Write, Some(&id)).await?;
                    let owner = match state.store.owner_patient_id($kind, &id).await {
                        Ok(o) => o,
                        Err(e) => audit.failed(Some(&id), None, e).await?,
                    };
                    let parsed = if_match(&headers).and_then(|v| parse_body::<$Data>(&headers, body).map(|d| (v, d)));
                    let (expected, data) = audit.valid(Some(&id), Some(&owner), parsed).await?;
                    match state.store.$update(&id, expected, data).await {
                        Ok(stored) => {
                            audit.record(Some(&id), Some(&owner), AuditOutcome::Ok, "").await?;
                            Ok::<Response, Problem>(with_etag(StatusCode::OK, record_version(&stored), &stored))
                        }
                        Err(e) => audit.failed(Some(&id), Some(&owner), e).await,
                    }
                }),
            );
        $(
            $router = $router.route(
                concat!("/api/v1/", $parent_plural, "/{id}/", $plural),
                get(move |State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap,
                     Path(parent): Path<String>, QueryParams(page): QueryParams<PageParams>| async move {
                    let remote = remote(&addr);
                    let caller = authenticate(&state, &headers, entity, remote.clone()).await?;
                    let audit = Audit::of(&state, &caller, remote, "list", entity);
                    authorise(&audit, &caller, Family::PatientRecord, Action::Read, Some(&parent)).await?;
                    let limit = page_limit(page.limit)?;
                    let owner = match state.store.owner_patient_id($parent_kind, &parent).await {
                        Ok(o) => o,
                        Err(e) => audit.failed(Some(&parent), None, e).await?,
                    };
                    scope(&audit, &caller, &owner, &parent).await?;
                    match state.store.$list(&parent, page.cursor.as_deref(), limit).await {
                        Ok(p) => {
                            audit.record(Some(&parent), Some(&owner), AuditOutcome::Ok, "").await?;
                            Ok::<Json<PageBody<_>>, Problem>(Json(PageBody::from(p)))
                        }
                        Err(e) => audit.failed(Some(&parent), Some(&owner), e).await,
                    }
                }),
            );
        )?
    }};
}

/// The id and version of any stored record (assessments wrap theirs).
pub trait Versioned {
    fn id(&self) -> &str;
    fn version(&self) -> i64;
}

impl<T> Versioned for Stored<T> {
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
}

impl Versioned for limbpath_record::StoredAssessment {
    fn id(&self) -> &str {
        &self.stored.id
    }
    fn version(&self) -> i64 {
        self.stored.version
    }
}

fn record_id<V: Versioned>(v: &V) -> &str {
    v.id()
}
fn record_version<V: Versioned>(v: &V) -> i64 {
    v.version()
}

/// Build the router over a store.
pub fn router(state: Arc<AppState>) -> Router {
    use limbpath_record::*;
    let body_limit = state.config.body_limit_bytes;
    let mut r: Router<Arc<AppState>> = Router::new();
    record_routes!(r, RecordKind::Patient, PatientData, "patients", update_patient,);
    record_routes!(r, RecordKind::Limb, LimbData, "limbs", update_limb,
        list: "patients", RecordKind::Patient, list_limbs);
    record_routes!(r, RecordKind::Episode, EpisodeData, "episodes", update_episode,
        list: "limbs", RecordKind::Limb, list_episodes);
    record_routes!(r, RecordKind::Assessment, AssessmentData, "assessments", update_assessment,
        list: "episodes", RecordKind::Episode, list_assessments);
    record_routes!(r, RecordKind::Wound, WoundData, "wounds", update_wound,
        list: "episodes", RecordKind::Episode, list_wounds);
    record_routes!(r, RecordKind::WoundMeasurement, WoundMeasurementData, "wound-measurements", update_wound_measurement,
        list: "wounds", RecordKind::Wound, list_wound_measurements);
    record_routes!(r, RecordKind::VascularStudy, VascularStudyData, "vascular-studies", update_vascular_study,
        list: "episodes", RecordKind::Episode, list_vascular_studies);
    record_routes!(r, RecordKind::ImagingStudy, ImagingStudyData, "imaging-studies", update_imaging_study,
        list: "episodes", RecordKind::Episode, list_imaging_studies);
    record_routes!(r, RecordKind::Procedure, ProcedureData, "procedures", update_procedure,
        list: "episodes", RecordKind::Episode, list_procedures);
    record_routes!(r, RecordKind::OutcomeEvent, OutcomeEventData, "outcome-events", update_outcome_event,
        list: "episodes", RecordKind::Episode, list_outcome_events);
    record_routes!(r, RecordKind::Consent, ConsentData, "consents", update_consent,
        list: "episodes", RecordKind::Episode, list_consents);
    record_routes!(r, RecordKind::CareTeamMember, CareTeamMemberData, "care-team-members", update_care_team_member,
        list: "episodes", RecordKind::Episode, list_care_team_members);

    r.route("/api/v1/patients", get(search_patients))
        .route("/api/v1/patients/{id}/record", get(patient_record))
        .route("/api/v1/session", post(login).delete(logout))
        .route("/api/v1/session/password", axum::routing::put(change_password))
        .route("/api/v1/users", post(create_user).get(list_users))
        .route("/api/v1/audit", get(audit_trail))
        .route("/api/v1/openapi.json", get(crate::openapi::document))
        .route("/healthz", get(crate::ops::healthz))
        .route("/readyz", get(crate::ops::readyz))
        .route("/metrics", get(crate::ops::metrics))
        .merge(crate::care::routes())
        .merge(crate::templates::routes())
        .merge(crate::visits::routes())
        .merge(crate::web::routes())
        .merge(crate::fhir::routes())
        .merge(crate::analytics::routes())
        .fallback(|| async { Problem::not_found("no such endpoint") })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::ops::observe))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
struct SearchParams {
    q: Option<String>,
    site: Option<String>,
    episode_status: Option<String>,
    wifi_stage: Option<u8>,
    aetiology: Option<String>,
    /// `true`: only patients with an open care task past its due date.
    overdue_tasks: Option<bool>,
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn search_patients(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    QueryParams(params): QueryParams<SearchParams>,
) -> AppResult<Response> {
    let remote = remote(&addr);
    let caller = authenticate(&state, &headers, "patient", remote.clone()).await?;
    let audit = Audit::of(&state, &caller, remote, "search", "patient");
    // A patient account reads its own record by id; it cannot search.
    if caller.role() == Role::Patient {
        audit.record(None, None, AuditOutcome::Denied, "patients cannot search").await?;
        return Err(Problem::forbidden("a patient account reads its own record, it cannot search others"));
    }
    authorise(&audit, &caller, Family::PatientRecord, Action::Read, None).await?;
    use limbpath_record::{Aetiology, EpisodeStatus};
    let episode_status = vocabulary_filter(
        "episode_status",
        params.episode_status.as_deref(),
        EpisodeStatus::from_code,
        EpisodeStatus::ALL,
        EpisodeStatus::code,
    )?;
    if let Some(stage) = params.wifi_stage {
        limbpath_clinical::limits::check_grade("wifi_stage", stage, 1, 5).map_err(Problem::invalid)?;
    }
    let aetiology = vocabulary_filter(
        "aetiology",
        params.aetiology.as_deref(),
        Aetiology::from_code,
        Aetiology::ALL,
        Aetiology::code,
    )?;
    let query = limbpath_store::PatientQuery {
        text: params.q.filter(|q| !q.trim().is_empty()),
        site: params.site.filter(|s| !s.trim().is_empty()),
        episode_status,
        wifi_stage: params.wifi_stage,
        aetiology,
        overdue_on: params.overdue_tasks.unwrap_or(false).then(crate::care::today),
        cursor: params.cursor,
        limit: page_limit(params.limit)?,
    };
    match state.store.search_patients(&query).await {
        Ok(page) => {
            audit.record(None, None, AuditOutcome::Ok, &format!("{} results", page.items.len())).await?;
            Ok(Json(PageBody::from(page)).into_response())
        }
        Err(e) => audit.failed(None, None, e).await,
    }
}

/// An optional filter on a vocabulary word (`?aetiology=clti`): absent or
/// empty is "any"; an unknown word is a 422 naming the field and every word
/// accepted.
pub(crate) fn vocabulary_filter<T: Copy>(
    field: &str,
    value: Option<&str>,
    from_code: fn(&str) -> Option<T>,
    all: &[T],
    code: fn(T) -> &'static str,
) -> AppResult<Option<T>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(word) => from_code(word).map(Some).ok_or_else(|| {
            let accepted = all.iter().map(|v| code(*v)).collect::<Vec<_>>().join(", ");
            Problem::invalid(limbpath_clinical::InvalidInput::unrecognised(field, word, accepted))
        }),
    }
}

async fn patient_record(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let remote = remote(&addr);
    let caller = authenticate(&state, &headers, "patient", remote.clone()).await?;
    let audit = Audit::of(&state, &caller, remote, "read_record", "patient");
    authorise(&audit, &caller, Family::PatientRecord, Action::Read, Some(&id)).await?;
    scope(&audit, &caller, &id, &id).await?;
    match state.store.get_patient_record(&id).await {
        Ok(record) => {
            audit.record(Some(&id), Some(&id), AuditOutcome::Ok, "").await?;
            Ok(Json(record).into_response())
        }
        Err(e) => audit.failed(Some(&id), Some(&id), e).await,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct SessionBody {
    token: String,
    expires_at_ms: i64,
    user: SessionUser,
}

#[derive(Serialize)]
struct SessionUser {
    id: String,
    username: String,
    display_name: String,
    role: Role,
    patient_id: Option<String>,
}

async fn login(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let remote = remote(&addr);
    let audit = Audit { state: &state, caller: None, remote: remote.clone(), action: "login", entity: "session" };
    let req: LoginRequest = parse_body(&headers, body)?;
    let outcome = state
        .store
        .verify_login(&req.username, &req.password, remote.as_deref())
        .await
        .map_err(|e| store_problem(e).0)?;
    match outcome {
        LoginOutcome::Success(user) => {
            let token =
                state.store.create_session(&user.id, state.config.session_ttl).await.map_err(|e| store_problem(e).0)?;
            let caller = Caller { user: user.clone() };
            let audit = Audit { caller: Some(&caller), ..audit };
            audit.record(Some(&user.id), user.data.patient_id.as_deref(), AuditOutcome::Ok, "").await?;
            let body = SessionBody {
                token: token.token.clone(),
                expires_at_ms: token.expires_at_ms,
                user: SessionUser {
                    id: user.id.clone(),
                    username: user.data.username.clone(),
                    display_name: user.data.display_name.clone(),
                    role: user.data.role,
                    patient_id: user.data.patient_id.clone(),
                },
            };
            let mut r = (StatusCode::CREATED, Json(body)).into_response();
            let max_age = i64::try_from(state.config.session_ttl.as_secs()).unwrap_or(i64::MAX);
            r.headers_mut().insert(header::SET_COOKIE, state.config.cookies().session(&token.token, max_age));
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(r)
        }
        LoginOutcome::BadCredentials => {
            audit.record(None, None, AuditOutcome::Denied, "bad credentials").await?;
            Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "/problems/bad-credentials",
                "Login failed",
                "unknown username or wrong password",
            ))
        }
        LoginOutcome::Locked { until_ms } => {
            audit.record(None, None, AuditOutcome::Denied, "locked after repeated failures").await?;
            let wait_s = ((until_ms - now_ms()) / 1000).max(1);
            let mut r =
                Problem::too_many_requests(format!("too many failed logins; try again in {wait_s} s")).into_response();
            if let Ok(v) = HeaderValue::from_str(&wait_s.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(r)
        }
    }
}

async fn logout(State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap) -> AppResult<Response> {
    let remote = remote(&addr);
    let caller = authenticate(&state, &headers, "session", remote.clone()).await?;
    if let Some(token) = credential(&headers, state.config.cookies()) {
        state.store.delete_session(&token).await.map_err(|e| store_problem(e).0)?;
    }
    Audit::of(&state, &caller, remote, "logout", "session")
        .record(Some(&caller.user.id), None, AuditOutcome::Ok, "")
        .await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(header::SET_COOKIE, state.config.cookies().clear_session());
    Ok(r)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// A refused password change: its problem, and for a locked username how
/// long until it may try again (the API's `Retry-After`).
#[derive(Debug)]
pub(crate) struct PasswordRefused {
    pub(crate) problem: Problem,
    pub(crate) retry_after_s: Option<i64>,
}

impl From<Problem> for PasswordRefused {
    fn from(problem: Problem) -> Self {
        PasswordRefused { problem, retry_after_s: None }
    }
}

impl IntoResponse for PasswordRefused {
    fn into_response(self) -> Response {
        let mut r = self.problem.into_response();
        if let Some(v) = self.retry_after_s.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

/// A 422 naming one field of a password change; never the password itself.
fn password_problem(field: &str, detail: &str) -> Problem {
    let mut p = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "/problems/invalid-input", "Invalid input", detail);
    p.field = Some(field.to_owned());
    p
}

/// Change the caller's own password (ASVS 2.1.5 and 2.1.6), for the API and
/// the web form alike. `audit` is the caller's, action `change_password`,
/// entity `user`. The current password is checked by the login check itself,
/// so a wrong one counts towards the username's lockout exactly like a failed
/// login: a stolen session cannot be used to guess the password unhindered.
/// On success every session and API token of the user has ended, the one
/// used for this request included.
pub(crate) async fn change_own_password(
    audit: &Audit<'_>,
    caller: &Caller,
    current_password: &str,
    new_password: &str,
) -> Result<(), PasswordRefused> {
    let id = caller.user.id.as_str();
    let outcome = match audit
        .state
        .store
        .verify_login(&caller.user.data.username, current_password, audit.remote.as_deref())
        .await
    {
        Ok(o) => o,
        Err(e) => return audit.failed(Some(id), None, e).await.map_err(Into::into),
    };
    let user = match outcome {
        // The same account: its username may have been given to another
        // account since this session began, which is then no proof at all.
        LoginOutcome::Success(user) if user.id == id => user,
        LoginOutcome::Success(_) | LoginOutcome::BadCredentials => {
            audit.record(Some(id), None, AuditOutcome::Denied, "wrong current password").await?;
            return Err(
                password_problem("current_password", "current_password: this is not your current password").into()
            );
        }
        LoginOutcome::Locked { until_ms } => {
            audit.record(Some(id), None, AuditOutcome::Denied, "locked after repeated failures").await?;
            let wait_s = ((until_ms - now_ms()) / 1000).max(1);
            let mut problem = Problem::too_many_requests(format!(
                "too many wrong passwords for this username; try again in {} minutes",
                (wait_s + 59) / 60
            ));
            problem.field = Some("current_password".to_owned());
            return Err(PasswordRefused { problem, retry_after_s: Some(wait_s) });
        }
    };
    let differs = if new_password == current_password {
        Err(password_problem("new_password", "new_password: choose a password different from the current one"))
    } else {
        Ok(())
    };
    audit.valid(Some(id), None, differs).await?;
    let policy = limbpath_record::check_password(&user.data.username, new_password).map_err(|mut e| {
        e.field = "new_password".to_owned();
        Problem::invalid(e)
    });
    audit.valid(Some(id), None, policy).await?;
    match audit.state.store.set_password(id, user.version, new_password).await {
        Ok(_) => {
            audit.record(Some(id), None, AuditOutcome::Ok, "every session of the user ended").await?;
            Ok(())
        }
        Err(e) => audit.failed(Some(id), None, e).await.map_err(Into::into),
    }
}

/// `PUT /api/v1/session/password`: any account changes its own password.
async fn change_password(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PasswordRefused> {
    let remote = remote(&addr);
    let caller = authenticate(&state, &headers, "user", remote.clone()).await?;
    let audit = Audit::of(&state, &caller, remote, "change_password", "user");
    authorise(&audit, &caller, Family::Session, Action::Write, Some(&caller.user.id)).await?;
    let req: PasswordChange = audit.valid(Some(&caller.user.id), None, parse_body(&headers, body)).await?;
    change_own_password(&audit, &caller, &req.current_password, &req.new_password).await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    // The session this request came with has ended too: drop its cookie.
    r.headers_mut().insert(header::SET_COOKIE, state.config.cookies().clear_session());
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    #[serde(flatten)]
    user: UserData,
    password: String,
}

async fn create_user(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let remote = remote(&addr);
    let caller = authenticate(&state, &headers, "user", remote.clone()).await?;
    let audit = Audit::of(&state, &caller, remote, "create", "user");
    authorise(&audit, &caller, Family::Users, Action::Write, None).await?;
    let req: NewUser = parse_body(&headers, body)?;
    match state.store.create_user(req.user, &req.password).await {
        Ok(user) => {
            audit.record(Some(&user.id), user.data.patient_id.as_deref(), AuditOutcome::Ok, "").await?;
            Ok(with_etag(StatusCode::CREATED, user.version, &user))
        }
        Err(e) => audit.failed(None, None, e).await,
    }
}

async fn list_users(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    QueryParams(page): QueryParams<PageParams>,
) -> AppResult<Response> {
    let remote = remote(&addr);
    let caller = authenticate(&state, &headers, "user", remote.clone()).await?;
    let audit = Audit::of(&state, &caller, remote, "list", "user");
    authorise(&audit, &caller, Family::Users, Action::Read, None).await?;
    let page = state
        .store
        .list_users(page.cursor.as_deref(), page_limit(page.limit)?)
        .await
        .map_err(|e| store_problem(e).0)?;
    audit.record(None, None, AuditOutcome::Ok, "").await?;
    Ok(Json(PageBody::from(page)).into_response())
}

#[derive(Debug, Deserialize)]
struct AuditParams {
    patient: String,
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn audit_trail(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    query: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Response> {
    let remote = remote(&addr);
    let caller = authenticate(&state, &headers, "audit", remote.clone()).await?;
    let audit = Audit::of(&state, &caller, remote, "read", "audit");
    authorise(&audit, &caller, Family::Audit, Action::Read, None).await?;
    let Query(params) = query.map_err(|e| Problem::malformed(e.body_text(), Some("patient".into())))?;
    limbpath_record::check_id("patient", &params.patient).map_err(Problem::invalid)?;
    let page = state
        .store
        .audit_for_patient(&params.patient, params.cursor.as_deref(), page_limit(params.limit)?)
        .await
        .map_err(|e| store_problem(e).0)?;
    audit.record(None, Some(&params.patient), AuditOutcome::Ok, "").await?;
    Ok(Json(PageBody::from(page)).into_response())
}
