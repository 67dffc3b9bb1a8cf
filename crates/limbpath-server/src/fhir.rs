//! FHIR R4 endpoints under `/fhir` (`application/fhir+json`), over the
//! mapping in `limbpath-fhir`. Every request that touches patient data goes
//! through the same flow as the JSON API: authenticate → authorise (the role
//! matrix; analysts are refused) → scope (a patient account sees only its own
//! record) → act → audit. Errors are OperationOutcomes.
//!
//! - `GET /fhir/metadata`: the CapabilityStatement (public, as FHIR expects).
//! - `GET /fhir/{Type}/{id}` and `GET /fhir/{Type}?patient=&code=&date=&_count=`
//!   for Patient, Condition, Observation, Procedure, EpisodeOfCare: the
//!   resources of the patient's exported record (searchset Bundles). Searches
//!   other than Patient need `patient`, so a search reads one record.
//! - `GET /fhir/Patient/{id}/$everything`: the exported record plus every
//!   resource imported with that patient (raw, as sent).
//! - Bulk Data `$export` (`/fhir/$export`, `/fhir/Patient/$export`, optional
//!   `_type`): 202 + `Content-Location` of a status URL; the job pages through
//!   patients (200 at a time, a few records read at once) and appends NDJSON
//!   files per type under the export directory, so memory stays bounded
//!   whatever the number of patients. Status: 202 with `X-Progress`, then
//!   200 with the output manifest. Files are streamed from disk. Job state
//!   lives in its directory (owner, progress, manifest), not in the process.
//! - `POST /fhir`: a transaction Bundle imported in one transaction
//!   (idempotent by import key); refused whole with an OperationOutcome naming
//!   each error's location (`Bundle.entry[3].resource.code`).

use crate::access::{Action, Family};
use crate::app::{AppResult, AppState, Audit, Caller, RemoteAddr, authenticate, authorise, now_ms, remote, scope};
use crate::problem::Problem;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use limbpath_fhir::r4::{RawJson, Resource};
use limbpath_fhir::{BundleKind, bundle, capability_statement, export_patient, import_bundle};
use limbpath_record::{PatientRecord, Role};
use limbpath_store::{AuditOutcome, PatientQuery, RecordKind, Store, StoreError};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

/// The FHIR JSON media type.
pub const FHIR_JSON: &str = "application/fhir+json";
const NDJSON: &str = "application/fhir+ndjson";
/// The types that can be read and searched.
pub const SEARCHABLE: &[&str] = &["Patient", "Condition", "Observation", "Procedure", "EpisodeOfCare"];
const DEFAULT_COUNT: usize = 50;
const MAX_COUNT: usize = 1000;
/// Patients per page of an export job.
const EXPORT_PAGE: u32 = 200;
/// Records read at once by an export job.
const EXPORT_READ_AHEAD: usize = 4;
/// The largest `POST /fhir` body.
pub const MAX_TRANSACTION_BYTES: usize = 64 << 20;

/// The FHIR routes (merged into the application router).
pub fn routes() -> Router<Arc<AppState>> {
    let mut r = Router::new()
        .route("/fhir/metadata", get(metadata))
        .route("/fhir", axum::routing::post(transaction).layer(DefaultBodyLimit::max(MAX_TRANSACTION_BYTES)))
        .route("/fhir/$export", get(export_kickoff))
        .route("/fhir/Patient/$export", get(export_kickoff))
        .route("/fhir/$export-status/{job}", get(export_status))
        .route("/fhir/$export-file/{job}/{file}", get(export_file))
        .route("/fhir/Patient/{id}/$everything", get(everything));
    for ty in SEARCHABLE {
        r = r
            .route(&format!("/fhir/{ty}"), get(move |s, a, h, q| search(s, a, h, ty, q)))
            .route(&format!("/fhir/{ty}/{{id}}"), get(move |s, a, h, p| read(s, a, h, ty, p)));
    }
    r
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

fn fhir(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let mut r = (status, serde_json::to_vec(body).unwrap_or_default()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    r
}

/// An OperationOutcome with one issue per (code, location, diagnostics).
fn outcome(status: StatusCode, issues: &[(&str, Option<&str>, &str)]) -> Response {
    let issue: Vec<Value> = issues
        .iter()
        .map(|(code, at, text)| {
            let mut i = json!({"severity": "error", "code": code, "diagnostics": text});
            if let Some(at) = at {
                i["expression"] = json!([at]);
            }
            i
        })
        .collect();
    fhir(status, &json!({"resourceType": "OperationOutcome", "issue": issue}))
}

/// A problem (from the shared request flow) as an OperationOutcome.
fn from_problem(p: Problem) -> Response {
    let status = p.status();
    let code = match status {
        StatusCode::UNAUTHORIZED => "login",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "too-costly",
        s if s.is_client_error() => "invalid",
        _ => "exception",
    };
    let mut r = outcome(status, &[(code, p.field.as_deref(), &p.detail)]);
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

fn respond(r: AppResult<Response>) -> Response {
    r.unwrap_or_else(from_problem)
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}/fhir")
}

fn invalid(param: &str, value: &str, what: &str) -> Problem {
    let mut p = Problem::malformed(format!("{param}={value:?}: {what}"), Some(param.to_owned()));
    p.value = Some(value.to_owned());
    p
}

// ---------------------------------------------------------------------------
// metadata
// ---------------------------------------------------------------------------

fn today() -> String {
    let days = now_ms().div_euclid(86_400_000);
    let d = time::Date::from_julian_day(2_440_588 + days as i32).unwrap_or(time::Date::MIN);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

async fn metadata() -> Response {
    let mut v = serde_json::to_value(capability_statement(&today(), env!("CARGO_PKG_VERSION"))).unwrap_or(Value::Null);
    let params = json!([
        {"name": "patient", "type": "reference"},
        {"name": "code", "type": "token"},
        {"name": "date", "type": "date"},
        {"name": "_count", "type": "number"}
    ]);
    if let Some(rest) = v["rest"][0].as_object_mut() {
        if let Some(resources) = rest.get_mut("resource").and_then(Value::as_array_mut) {
            for r in resources {
                if SEARCHABLE.contains(&r["type"].as_str().unwrap_or("")) {
                    r["searchParam"] = params.clone();
                }
            }
        }
        rest.insert(
            "operation".into(),
            json!([
                {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"},
                {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}
            ]),
        );
    }
    fhir(StatusCode::OK, &v)
}

// ---------------------------------------------------------------------------
// read and search
// ---------------------------------------------------------------------------

/// The LimbPath patient that owns an exported resource id (`<uuid>` or
/// `<uuid>-<suffix>`, the uuid being a record's id).
async fn owner_of(store: &Store, id: &str) -> Result<Option<String>, StoreError> {
    let Some(base) = id.get(..36) else { return Ok(None) };
    for kind in [
        RecordKind::Patient,
        RecordKind::Episode,
        RecordKind::Assessment,
        RecordKind::Procedure,
        RecordKind::Wound,
        RecordKind::WoundMeasurement,
        RecordKind::VascularStudy,
        RecordKind::ImagingStudy,
        RecordKind::Limb,
        RecordKind::OutcomeEvent,
    ] {
        match store.owner_patient_id(kind, base).await {
            Ok(owner) => return Ok(Some(owner)),
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// The patient's whole record as FHIR resources.
async fn exported(audit: &Audit<'_>, store: &Store, patient: &str) -> AppResult<Vec<Resource>> {
    let record = match store.get_patient_record(patient).await {
        Ok(r) => r,
        Err(e) => return audit.failed(Some(patient), Some(patient), e).await,
    };
    match export_patient(&record) {
        Ok(r) => Ok(r),
        Err(e) => {
            crate::app::log_error(&format!("FHIR export of a stored record failed: {e}"));
            audit.record(Some(patient), Some(patient), AuditOutcome::Error, "export failed").await?;
            Err(Problem::internal())
        }
    }
}

async fn read(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    ty: &'static str,
    Path(id): Path<String>,
) -> Response {
    respond(
        async {
            let remote = remote(&addr);
            let caller = authenticate(&state, &headers, "fhir", remote.clone()).await?;
            let audit = Audit { state: &state, caller: Some(&caller), remote, action: "read", entity: "fhir" };
            authorise(&audit, &caller, Family::PatientRecord, Action::Read, Some(&id)).await?;
            let owner = match owner_of(&state.store, &id).await {
                Ok(Some(o)) => o,
                Ok(None) => {
                    audit.record(Some(&id), None, AuditOutcome::NotFound, ty).await?;
                    return Err(Problem::not_found(format!("no {ty} with id {id}")));
                }
                Err(e) => return audit.failed(Some(&id), None, e).await,
            };
            scope(&audit, &caller, &owner, &id).await?;
            let resources = exported(&audit, &state.store, &owner).await?;
            match resources.into_iter().find(|r| r.resource_type() == ty && r.id() == Some(id.as_str())) {
                Some(r) => {
                    audit.record(Some(&id), Some(&owner), AuditOutcome::Ok, ty).await?;
                    Ok(fhir(StatusCode::OK, &r))
                }
                None => {
                    audit.record(Some(&id), Some(&owner), AuditOutcome::NotFound, ty).await?;
                    Err(Problem::not_found(format!("no {ty} with id {id}")))
                }
            }
        }
        .await,
    )
}

/// A search's parameters, parsed and checked.
#[derive(Debug, Default)]
struct Search {
    patient: Option<String>,
    codes: Vec<String>,
    dates: Vec<(&'static str, String)>,
    count: usize,
}

fn parse_search(query: Option<&str>) -> AppResult<Search> {
    let mut s = Search { count: DEFAULT_COUNT, ..Search::default() };
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "patient" | "subject" | "_id" => {
                let id = v.strip_prefix("Patient/").unwrap_or(&v).to_owned();
                if limbpath_record::check_id(&k, &id).is_err() {
                    return Err(invalid(&k, &v, "a patient id (a UUID) or Patient/<id>"));
                }
                s.patient = Some(id);
            }
            "code" => s.codes.extend(v.split(',').filter(|c| !c.is_empty()).map(str::to_owned)),
            "date" => {
                let (op, rest) = match v.get(..2) {
                    Some(p @ ("eq" | "ne" | "gt" | "lt" | "ge" | "le")) => {
                        let op: &'static str = match p {
                            "eq" => "eq",
                            "ne" => "ne",
                            "gt" => "gt",
                            "lt" => "lt",
                            "ge" => "ge",
                            _ => "le",
                        };
                        (op, &v[2..])
                    }
                    _ => ("eq", &v[..]),
                };
                let ok = matches!(rest.len(), 4 | 7 | 10)
                    && rest
                        .bytes()
                        .enumerate()
                        .all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
                if !ok {
                    return Err(invalid("date", &v, "[eq|ne|gt|lt|ge|le]YYYY, YYYY-MM or YYYY-MM-DD"));
                }
                s.dates.push((op, rest.to_owned()));
            }
            "_count" => {
                s.count = match v.parse::<usize>() {
                    Ok(n) if n >= 1 => n.min(MAX_COUNT),
                    _ => return Err(invalid("_count", &v, "a whole number from 1")),
                }
            }
            "_format" => {}
            other => {
                return Err(invalid(other, &v, "a supported search parameter: patient, code, date, _count"));
            }
        }
    }
    Ok(s)
}

/// The date a search's `date` compares: the clinical date of the resource.
fn resource_date(v: &Value) -> Option<&str> {
    [
        &v["effectiveDateTime"],
        &v["effectivePeriod"]["start"],
        &v["onsetDateTime"],
        &v["onsetPeriod"]["start"],
        &v["recordedDate"],
        &v["performedDateTime"],
        &v["performedPeriod"]["start"],
        &v["period"]["start"],
        &v["birthDate"],
    ]
    .into_iter()
    .find_map(Value::as_str)
}

fn matches_date(v: &Value, dates: &[(&str, String)]) -> bool {
    dates.iter().all(|(op, want)| {
        let Some(d) = resource_date(v) else { return false };
        let d = d.get(..want.len()).unwrap_or(d);
        match *op {
            "eq" => d == want,
            "ne" => d != want,
            "gt" => d > want.as_str(),
            "lt" => d < want.as_str(),
            "ge" => d >= want.as_str(),
            _ => d <= want.as_str(),
        }
    })
}

fn matches_code(v: &Value, codes: &[String]) -> bool {
    if codes.is_empty() {
        return true;
    }
    let concepts: Vec<&Value> = match &v["type"] {
        Value::Array(a) => a.iter().chain(std::iter::once(&v["code"])).collect(),
        _ => vec![&v["code"]],
    };
    concepts.iter().filter_map(|c| c["coding"].as_array()).flatten().any(|coding| {
        let system = coding["system"].as_str().unwrap_or("");
        let code = coding["code"].as_str().unwrap_or("");
        codes.iter().any(|want| match want.split_once('|') {
            Some(("", c)) => c == code,
            Some((s, c)) => s == system && c == code,
            None => want == code,
        })
    })
}

fn searchset(resources: Vec<Resource>, headers: &HeaderMap) -> Response {
    fhir(StatusCode::OK, &bundle(BundleKind::Searchset, resources, &base_url(headers)))
}

async fn search(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    ty: &'static str,
    RawQuery(query): RawQuery,
) -> Response {
    respond(
        async {
            let remote = remote(&addr);
            let caller = authenticate(&state, &headers, "fhir", remote.clone()).await?;
            let audit = Audit { state: &state, caller: Some(&caller), remote, action: "search", entity: "fhir" };
            authorise(&audit, &caller, Family::PatientRecord, Action::Read, None).await?;
            let s = audit.valid(None, None, parse_search(query.as_deref())).await?;
            let detail = format!("{ty}?{}", query.as_deref().unwrap_or(""));
            // A patient account searches its own record only.
            let patient = match (&s.patient, caller.role()) {
                (Some(p), _) => Some(p.clone()),
                (None, Role::Patient) => caller.user.data.patient_id.clone(),
                (None, _) => None,
            };
            let Some(patient) = patient else {
                if ty != "Patient" {
                    let p = invalid("patient", "", "a patient id: this server searches one patient's record at a time");
                    return audit.valid(None, None, Err(p)).await;
                }
                // All patients, one page (name order).
                let q = PatientQuery {
                    limit: s.count.min(limbpath_store::MAX_PAGE as usize) as u32,
                    ..PatientQuery::default()
                };
                let page = match state.store.search_patients(&q).await {
                    Ok(p) => p,
                    Err(e) => return audit.failed(None, None, e).await,
                };
                let mut out = Vec::new();
                for summary in page.items {
                    let record = PatientRecord { patient: Some(summary.patient), ..PatientRecord::default() };
                    if let Some(r) = export_patient(&record).ok().and_then(|r| r.into_iter().next()) {
                        let v = serde_json::to_value(&r).unwrap_or(Value::Null);
                        if matches_date(&v, &s.dates) {
                            out.push(r);
                        }
                    }
                }
                audit.record(None, None, AuditOutcome::Ok, &detail).await?;
                return Ok(searchset(out, &headers));
            };
            // The patient must exist and be the caller's to see.
            if let Err(e) = state.store.owner_patient_id(RecordKind::Patient, &patient).await {
                return audit.failed(Some(&patient), None, e).await;
            }
            scope(&audit, &caller, &patient, &patient).await?;
            let resources = exported(&audit, &state.store, &patient).await?;
            let found: Vec<Resource> = resources
                .into_iter()
                .filter(|r| r.resource_type() == ty)
                .filter(|r| {
                    let v = serde_json::to_value(r).unwrap_or(Value::Null);
                    matches_code(&v, &s.codes) && matches_date(&v, &s.dates)
                })
                .take(s.count)
                .collect();
            audit.record(Some(&patient), Some(&patient), AuditOutcome::Ok, &detail).await?;
            Ok(searchset(found, &headers))
        }
        .await,
    )
}

async fn everything(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond(
        async {
            let remote = remote(&addr);
            let caller = authenticate(&state, &headers, "fhir", remote.clone()).await?;
            let audit = Audit { state: &state, caller: Some(&caller), remote, action: "read_record", entity: "fhir" };
            authorise(&audit, &caller, Family::PatientRecord, Action::Read, Some(&id)).await?;
            if let Err(e) = state.store.owner_patient_id(RecordKind::Patient, &id).await {
                return audit.failed(Some(&id), None, e).await;
            }
            scope(&audit, &caller, &id, &id).await?;
            let mut resources = exported(&audit, &state.store, &id).await?;
            // Everything imported with this patient, as it was sent.
            let imported = async {
                let mut out = Vec::new();
                for fp in state.store.fhir_patients_of(&id).await? {
                    for r in state.store.fhir_resources_of(&fp.id).await? {
                        if r.kind != "limbpath"
                            && r.kind != "patient"
                            && let Some(json) = r.json
                            && let Ok(raw) = RawJson::from_string(json)
                        {
                            out.push(Resource::Other(raw));
                        }
                    }
                }
                Ok::<_, StoreError>(out)
            }
            .await;
            match imported {
                Ok(more) => resources.extend(more),
                Err(e) => return audit.failed(Some(&id), Some(&id), e).await,
            }
            audit.record(Some(&id), Some(&id), AuditOutcome::Ok, "$everything").await?;
            Ok(searchset(resources, &headers))
        }
        .await,
    )
}

// ---------------------------------------------------------------------------
// POST /fhir: transaction Bundles
// ---------------------------------------------------------------------------

async fn transaction(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let remote = remote(&addr);
    let caller = match authenticate(&state, &headers, "fhir", remote.clone()).await {
        Ok(c) => c,
        Err(p) => return from_problem(p),
    };
    let audit = Audit { state: &state, caller: Some(&caller), remote, action: "create", entity: "fhir" };
    respond(transaction_as(&audit, &caller, &state, &headers, body).await)
}

async fn transaction_as(
    audit: &Audit<'_>,
    caller: &Caller,
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    authorise(audit, caller, Family::PatientRecord, Action::Write, None).await?;
    let body = match body {
        Ok(b) => b,
        Err(r) => {
            audit.record(None, None, AuditOutcome::Invalid, "body rejected").await?;
            return Ok(outcome(r.status(), &[("too-costly", None, &r.body_text())]));
        }
    };
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media != FHIR_JSON && media != "application/json" {
        audit.record(None, None, AuditOutcome::Invalid, "media type").await?;
        return Ok(outcome(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &[("not-supported", None, "send the Bundle as application/fhir+json")],
        ));
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        audit.record(None, None, AuditOutcome::Invalid, "not UTF-8").await?;
        return Ok(outcome(StatusCode::BAD_REQUEST, &[("structure", Some("Bundle"), "the body is not UTF-8 text")]));
    };
    #[derive(serde::Deserialize)]
    struct BundleType<'a> {
        #[serde(rename = "type", borrow)]
        type_: Option<std::borrow::Cow<'a, str>>,
    }
    // A body that is not JSON falls through to the import, which names the error.
    let head = serde_json::from_str::<BundleType<'_>>(text);
    if head.is_ok_and(|b| !matches!(b.type_.as_deref(), Some("transaction" | "batch"))) {
        audit.record(None, None, AuditOutcome::Invalid, "not a transaction").await?;
        return Ok(outcome(
            StatusCode::BAD_REQUEST,
            &[("not-supported", Some("Bundle.type"), "POST /fhir takes a Bundle of type transaction or batch")],
        ));
    }
    let source = format!("api:{}", caller.user.data.username);
    let import = match import_bundle(text, &source) {
        Ok(i) => i,
        Err(e) => {
            audit
                .record(None, None, AuditOutcome::Invalid, &format!("{} error(s), nothing stored", e.errors.len()))
                .await?;
            return Ok(fhir(StatusCode::BAD_REQUEST, &e.operation_outcome()));
        }
    };
    let summary = match state.store.import_fhir(&import).await {
        Ok(s) => s,
        Err(StoreError::Invalid(e)) => {
            audit.record(None, None, AuditOutcome::Invalid, &e.to_string()).await?;
            return Ok(outcome(StatusCode::UNPROCESSABLE_ENTITY, &[("invalid", Some(&e.field), &e.to_string())]));
        }
        Err(e @ StoreError::Duplicate { .. }) => {
            audit.record(None, None, AuditOutcome::Conflict, &e.to_string()).await?;
            return Ok(outcome(StatusCode::CONFLICT, &[("duplicate", None, &e.to_string())]));
        }
        Err(e) => return audit.failed(None, None, e).await,
    };
    let detail = format!("{} resources, {} stored", summary.resources, summary.stored);
    let mut audited = false;
    for p in &summary.patients {
        if let Some(pid) = &p.patient_id {
            audit.record(Some(pid), Some(pid), AuditOutcome::Ok, &detail).await?;
            audited = true;
        }
    }
    if !audited {
        audit.record(None, None, AuditOutcome::Ok, &detail).await?;
    }
    // One response entry per input entry, in order.
    let mut located: Vec<(usize, String, Option<String>)> = Vec::new();
    let mut add = |r: &limbpath_fhir::RawResource| {
        let n = r
            .location
            .strip_prefix("Bundle.entry[")
            .and_then(|s| s.split(']').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(usize::MAX);
        located.push((n, r.resource_type.clone(), r.id.clone()));
    };
    for p in &import.patients {
        add(&p.resource);
        p.conditions.iter().for_each(|c| add(&c.source));
        p.measurements.iter().for_each(|m| add(&m.source));
        p.unmapped.iter().for_each(&mut add);
        p.limbpath_resources.iter().for_each(&mut add);
    }
    import.shared.iter().for_each(&mut add);
    located.sort_by_key(|l| l.0);
    let entry: Vec<Value> = located
        .into_iter()
        .map(|(_, ty, id)| {
            let mut response = json!({"status": "200 OK"});
            if let Some(id) = id {
                response["location"] = json!(format!("{ty}/{id}"));
            }
            json!({"response": response})
        })
        .collect();
    let mut r =
        fhir(StatusCode::OK, &json!({"resourceType": "Bundle", "type": "transaction-response", "entry": entry}));
    if let Ok(v) = HeaderValue::from_str(&detail) {
        r.headers_mut().insert("x-limbpath-import", v);
    }
    Ok(r)
}

// ---------------------------------------------------------------------------
// Bulk Data $export
// ---------------------------------------------------------------------------

fn job_dir(state: &AppState, job: &str) -> Option<PathBuf> {
    (job.len() == 32 && job.bytes().all(|b| b.is_ascii_hexdigit())).then(|| state.config.export_dir.join(job))
}

fn new_job_id() -> Result<String, Problem> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|_| Problem::internal())?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Bulk export may be asked for by clinicians, coordinators and admins; not by
/// analysts (identifiable data) nor patient accounts (everyone's records).
async fn may_export(audit: &Audit<'_>, caller: &Caller) -> AppResult<()> {
    authorise(audit, caller, Family::PatientRecord, Action::Read, None).await?;
    if caller.role() == Role::Patient {
        audit.record(None, None, AuditOutcome::Denied, "patients cannot export the programme").await?;
        return Err(Problem::forbidden("a patient account cannot export other patients' records"));
    }
    Ok(())
}

async fn export_kickoff(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    respond(
        async {
            let remote = remote(&addr);
            let caller = authenticate(&state, &headers, "fhir", remote.clone()).await?;
            let audit = Audit { state: &state, caller: Some(&caller), remote, action: "export", entity: "fhir" };
            may_export(&audit, &caller).await?;
            let mut types: Option<Vec<String>> = None;
            for (k, v) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
                match k.as_ref() {
                    "_type" => {
                        let list: Vec<String> = v.split(',').map(str::to_owned).collect();
                        if let Some(bad) = list.iter().find(|t| !limbpath_fhir::SERVED_TYPES.contains(&t.as_str())) {
                            let p =
                                invalid("_type", bad, &format!("one of {}", limbpath_fhir::SERVED_TYPES.join(", ")));
                            return audit.valid(None, None, Err(p)).await;
                        }
                        types = Some(list);
                    }
                    "_outputFormat"
                        if matches!(v.as_ref(), "application/fhir+ndjson" | "application/ndjson" | "ndjson") => {}
                    other => {
                        let p = invalid(other, &v, "a supported $export parameter: _type, _outputFormat=ndjson");
                        return audit.valid(None, None, Err(p)).await;
                    }
                }
            }
            let job = new_job_id()?;
            let dir = state.config.export_dir.join(&job);
            let prepared = std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(dir.join("owner"), &caller.user.id))
                .and_then(|()| std::fs::write(dir.join("progress"), "0 patients"));
            if let Err(e) = prepared {
                crate::app::log_error(&format!("cannot create an export directory: {e}"));
                audit.record(None, None, AuditOutcome::Error, "export directory").await?;
                return Err(Problem::unavailable("the export directory cannot be written"));
            }
            audit.record(Some(&job), None, AuditOutcome::Ok, "bulk export kick-off").await?;
            let base = base_url(&headers);
            let request = format!("{base}/$export{}", query.map(|q| format!("?{q}")).unwrap_or_default());
            let store = state.store.clone();
            let job_for_task = job.clone();
            tokio::spawn(async move {
                if let Err(e) = run_export(&store, &dir, types.as_deref(), &request, &base, &job_for_task).await {
                    crate::app::log_error(&format!("export job {job_for_task} failed: {e}"));
                    let _ = std::fs::write(dir.join("error"), e.to_string());
                }
            });
            let mut r = StatusCode::ACCEPTED.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("{}/$export-status/{job}", base_url(&headers))) {
                r.headers_mut().insert(header::CONTENT_LOCATION, v);
            }
            Ok(r)
        }
        .await,
    )
}

/// The export job: every patient, a page at a time, appended to one NDJSON
/// file per resource type; the manifest is written last (atomically), so a
/// status request sees either progress or the whole result.
async fn run_export(
    store: &Store,
    dir: &FsPath,
    types: Option<&[String]>,
    request: &str,
    base: &str,
    job: &str,
) -> anyhow_free::Result<()> {
    let started = now_ms();
    let mut files: BTreeMap<String, (std::io::BufWriter<std::fs::File>, u64)> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    let mut patients = 0u64;
    loop {
        let q = PatientQuery { limit: EXPORT_PAGE, cursor: cursor.take(), ..PatientQuery::default() };
        let page = store.search_patients(&q).await?;
        let ids: Vec<String> = page.items.iter().map(|s| s.patient.id.clone()).collect();
        let mut records = futures_util::stream::iter(ids)
            .map(|id| async move { store.get_patient_record(&id).await })
            .buffered(EXPORT_READ_AHEAD);
        while let Some(record) = records.next().await {
            let record = record?;
            for r in export_patient(&record)? {
                let ty = r.resource_type().to_owned();
                if types.is_some_and(|t| !t.contains(&ty)) {
                    continue;
                }
                let (w, n) = match files.get_mut(&ty) {
                    Some(f) => f,
                    None => {
                        let f = std::fs::File::create(dir.join(format!("{ty}.ndjson")))?;
                        files.entry(ty.clone()).or_insert((std::io::BufWriter::with_capacity(1 << 16, f), 0))
                    }
                };
                serde_json::to_writer(&mut *w, &r)?;
                w.write_all(b"\n")?;
                *n += 1;
            }
            patients += 1;
        }
        std::fs::write(dir.join("progress"), format!("{patients} patients"))?;
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut output = Vec::new();
    for (ty, (mut w, n)) in files {
        w.flush()?;
        output.push(json!({"type": ty, "url": format!("{base}/$export-file/{job}/{ty}.ndjson"), "count": n}));
    }
    let manifest = json!({
        "transactionTime": limbpath_fhir_instant(started),
        "request": request,
        "requiresAccessToken": true,
        "output": output,
        "error": [],
    });
    let tmp = dir.join("manifest.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&manifest)?)?;
    std::fs::rename(tmp, dir.join("manifest.json"))?;
    Ok(())
}

/// An instant as FHIR `instant` text (UTC, milliseconds).
fn limbpath_fhir_instant(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                ms.rem_euclid(1000)
            )
        })
        .unwrap_or_default()
}

/// The job directory of `job` if the caller started it (admins: any job).
async fn own_job(audit: &Audit<'_>, state: &AppState, caller: &Caller, job: &str) -> AppResult<PathBuf> {
    let dir = job_dir(state, job);
    let owner = dir.as_ref().and_then(|d| std::fs::read_to_string(d.join("owner")).ok());
    match (dir, owner) {
        (Some(d), Some(o)) if o == caller.user.id || caller.role() == Role::Admin => Ok(d),
        _ => {
            audit.record(Some(job), None, AuditOutcome::NotFound, "export job").await?;
            Err(Problem::not_found(format!("no export job {job}")))
        }
    }
}

async fn export_status(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(job): Path<String>,
) -> Response {
    respond(
        async {
            let remote = remote(&addr);
            let caller = authenticate(&state, &headers, "fhir", remote.clone()).await?;
            let audit = Audit { state: &state, caller: Some(&caller), remote, action: "export", entity: "fhir" };
            may_export(&audit, &caller).await?;
            let dir = own_job(&audit, &state, &caller, &job).await?;
            if let Ok(manifest) = std::fs::read(dir.join("manifest.json")) {
                let mut r = (StatusCode::OK, manifest).into_response();
                r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                return Ok(r);
            }
            if let Ok(e) = std::fs::read_to_string(dir.join("error")) {
                return Ok(outcome(StatusCode::INTERNAL_SERVER_ERROR, &[("exception", None, &e)]));
            }
            let progress = std::fs::read_to_string(dir.join("progress")).unwrap_or_default();
            let mut r = StatusCode::ACCEPTED.into_response();
            if let Ok(v) = HeaderValue::from_str(progress.trim()) {
                r.headers_mut().insert("x-progress", v);
            }
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            Ok(r)
        }
        .await,
    )
}

async fn export_file(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path((job, file)): Path<(String, String)>,
) -> Response {
    respond(
        async {
            let remote = remote(&addr);
            let caller = authenticate(&state, &headers, "fhir", remote.clone()).await?;
            let audit = Audit { state: &state, caller: Some(&caller), remote, action: "export", entity: "fhir" };
            may_export(&audit, &caller).await?;
            let dir = own_job(&audit, &state, &caller, &job).await?;
            let ty = file.strip_suffix(".ndjson").unwrap_or("");
            let valid = !ty.is_empty() && ty.bytes().all(|b| b.is_ascii_alphabetic());
            let opened = if valid && dir.join("manifest.json").exists() {
                tokio::fs::File::open(dir.join(&file)).await.ok()
            } else {
                None
            };
            let Some(f) = opened else {
                audit.record(Some(&job), None, AuditOutcome::NotFound, &file).await?;
                return Err(Problem::not_found(format!("no file {file} in export {job}")));
            };
            audit.record(Some(&job), None, AuditOutcome::Ok, &format!("bulk export file {file}")).await?;
            // Streamed from disk, 64 KiB at a time.
            let stream = futures_util::stream::unfold(f, |mut f| async move {
                use tokio::io::AsyncReadExt;
                let mut buf = vec![0u8; 1 << 16];
                match f.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok::<_, std::io::Error>(Bytes::from(buf)), f))
                    }
                    Err(e) => Some((Err(e), f)),
                }
            });
            let mut r = Body::from_stream(stream).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
            Ok(r)
        }
        .await,
    )
}

/// The export job's error: whatever stopped it, as text.
mod anyhow_free {
    pub type Result<T> = std::result::Result<T, Error>;

    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        #[error("store: {0}")]
        Store(#[from] limbpath_store::StoreError),
        #[error("export: {0}")]
        Export(#[from] limbpath_fhir::ExportError),
        #[error("writing: {0}")]
        Io(#[from] std::io::Error),
        #[error("serialising: {0}")]
        Json(#[from] serde_json::Error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_parameters_are_checked_by_name() {
        let s =
            parse_search(Some("patient=Patient/0192f650-0000-7000-8000-000000000001&code=a,b&date=ge2024-01&_count=5"))
                .unwrap();
        assert_eq!(s.patient.as_deref(), Some("0192f650-0000-7000-8000-000000000001"));
        assert_eq!(s.codes, vec!["a", "b"]);
        assert_eq!(s.dates, vec![("ge", "2024-01".to_owned())]);
        assert_eq!(s.count, 5);
        assert_eq!(parse_search(Some("date=2024-1-1")).unwrap_err().field.as_deref(), Some("date"));
        assert_eq!(parse_search(Some("_count=0")).unwrap_err().field.as_deref(), Some("_count"));
        assert_eq!(parse_search(Some("colour=red")).unwrap_err().field.as_deref(), Some("colour"));
        assert_eq!(parse_search(Some("patient=x")).unwrap_err().field.as_deref(), Some("patient"));
    }

    #[test]
    fn dates_compare_at_the_precision_asked() {
        let v = json!({"effectiveDateTime": "2024-03-15T10:00:00Z"});
        assert!(matches_date(&v, &[("eq", "2024-03".into())]));
        assert!(matches_date(&v, &[("ge", "2024-03-15".into()), ("lt", "2024-03-16".into())]));
        assert!(!matches_date(&v, &[("gt", "2024-03-15".into())]));
        assert!(!matches_date(&json!({}), &[("eq", "2024".into())]));
    }

    #[test]
    fn codes_match_with_or_without_system() {
        let v = json!({"code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]}});
        assert!(matches_code(&v, &["4548-4".into()]));
        assert!(matches_code(&v, &["http://loinc.org|4548-4".into()]));
        assert!(!matches_code(&v, &["http://snomed.info/sct|4548-4".into()]));
        assert!(matches_code(&v, &[]));
    }

    #[test]
    fn instants_are_utc_with_milliseconds() {
        assert_eq!(limbpath_fhir_instant(1_730_709_300_123), "2024-11-04T08:35:00.123Z");
    }
}
