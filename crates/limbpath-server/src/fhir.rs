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
//!   other than Patient need `patient`, so a search reads one record (the
//!   whole record, for every page: one record is bounded); a Patient search
//!   without `patient` reads one page of the store's keyset patient search.
//!   Paging: `_count` (default 50, at most 1000), a `self` link and, when more
//!   matches follow, a `next` link whose `_page_token` is the keyset position
//!   (the last match's id in id order, or the store's patient cursor), bound
//!   to the search's type and filters; any other token is a 400 naming
//!   `_page_token`. Every page is authorised, scoped and audited as a search.
//!   `_include=<Type>:patient` (not on Patient) adds the Patient once per
//!   non-empty page, `search.mode = include`.
//! - `GET /fhir/Patient/{id}/$everything`: the exported record plus every
//!   resource imported with that patient (raw, as sent).
//! - Bulk Data `$export` (`/fhir/$export`, `/fhir/Patient/$export`, optional
//!   `_type` and `_since`, see [`EXPORT_DOCUMENTATION`] for what `_since`
//!   selects and why `transactionTime` is 60 s before the job's start):
//!   202 + `Content-Location` of a status URL; the job pages through
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
use limbpath_fhir::r4::{BundleLink, RawJson, Resource};
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
/// How far `transactionTime` is before the job's start: a write's rows are
/// stamped before it waits for the writer and commits, so a change stamped
/// just before the job started may be committed only after the job read that
/// patient. Changes stamped within this allowance are sent again by the next
/// `_since` export rather than missed.
const TRANSACTION_TIME_ALLOWANCE_MS: i64 = 60_000;
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
        {"name": "_count", "type": "number", "documentation": format!(
            "Matches per page: {DEFAULT_COUNT} when not given, at most {MAX_COUNT} (a larger value is read as {MAX_COUNT}). \
             When more matches follow, the searchset has a `next` link; following `next` until there is none \
             returns every match once.")},
        {"name": PAGE_TOKEN, "type": "string", "documentation":
            "Opaque keyset position, only as given in a `next` link of the same search (same type and filters; \
             `_count` may change). Any other value is refused naming _page_token."}
    ]);
    if let Some(rest) = v["rest"][0].as_object_mut() {
        if let Some(resources) = rest.get_mut("resource").and_then(Value::as_array_mut) {
            for r in resources {
                let ty = r["type"].as_str().unwrap_or("").to_owned();
                if SEARCHABLE.contains(&ty.as_str()) {
                    r["searchParam"] = params.clone();
                }
                if INCLUDES_PATIENT.contains(&ty.as_str()) {
                    r["searchInclude"] = json!([format!("{ty}:patient")]);
                }
            }
        }
        rest.insert(
            "operation".into(),
            json!([
                {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                 "documentation": EXPORT_DOCUMENTATION},
                {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}
            ]),
        );
    }
    fhir(StatusCode::OK, &v)
}

/// What this server's `$export` does with its parameters (the
/// CapabilityStatement's `operation.documentation`).
const EXPORT_DOCUMENTATION: &str = "System level (`[base]/$export`) and Patient level (`[base]/Patient/$export`), \
     both every patient's record. Parameters: `_type` (resource types), `_outputFormat` (NDJSON only) and `_since` \
     (a FHIR instant with a time zone). With `_since`, the output holds every resource of each patient whose record \
     changed after `_since`: the patient, or any limb, episode, assessment, wound, wound measurement, vascular or \
     imaging study, procedure or outcome event of theirs, was written (created or updated) after it, or the \
     patient's record was imported through FHIR after it. A changed patient's unchanged resources come too (a \
     record is exported whole). `transactionTime` is when the job started minus 60 seconds, an allowance for \
     writes stamped before the job started but not yet committed; passing it as the next `_since` misses no \
     change, but may send a patient again.";

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
            let audit = Audit::of(&state, &caller, remote, "read", "fhir");
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

/// The paging parameter: an opaque keyset position from a `next` link.
pub const PAGE_TOKEN: &str = "_page_token";
/// The types whose search takes `_include=<Type>:patient`.
const INCLUDES_PATIENT: &[&str] = &["Condition", "Observation", "Procedure", "EpisodeOfCare"];

/// A search's parameters, parsed and checked.
#[derive(Debug, Default)]
struct Search {
    patient: Option<String>,
    codes: Vec<String>,
    dates: Vec<(&'static str, String)>,
    count: usize,
    /// `_include=<Type>:patient`: add the matches' Patient to each page.
    include_patient: bool,
    /// `_page_token` as sent (checked against the search by [`page_key`]).
    page_token: Option<String>,
    /// Every parameter as sent (still encoded) but `_page_token`, in order:
    /// the `next` link repeats them.
    params: Vec<String>,
    /// The query as sent: the `self` link.
    query: String,
}

fn parse_search(ty: &str, query: Option<&str>) -> AppResult<Search> {
    let mut s = Search { count: DEFAULT_COUNT, query: query.unwrap_or("").to_owned(), ..Search::default() };
    let pairs = query.unwrap_or("").split('&').filter(|p| !p.is_empty());
    for (raw, (k, v)) in pairs.flat_map(|p| form_urlencoded::parse(p.as_bytes()).map(move |kv| (p, kv))) {
        if k != PAGE_TOKEN {
            s.params.push(raw.to_owned());
        }
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
            "_include" => {
                if !(INCLUDES_PATIENT.contains(&ty) && v == format!("{ty}:patient")) {
                    let accepted = if INCLUDES_PATIENT.contains(&ty) {
                        format!("{ty}:patient (the only _include this server supports on {ty})")
                    } else {
                        format!("nothing: {ty} searches take no _include")
                    };
                    return Err(invalid("_include", &v, &accepted));
                }
                s.include_patient = true;
            }
            // `_include:iterate`, `_include:recurse`: nothing to iterate over.
            k if k.starts_with("_include:") => {
                return Err(invalid("_include", &v, "_include without a modifier"));
            }
            PAGE_TOKEN => {
                if s.page_token.is_some() {
                    return Err(invalid(PAGE_TOKEN, &v, "one _page_token"));
                }
                s.page_token = Some(v.into_owned());
            }
            "_format" => {}
            other => {
                return Err(invalid(
                    other,
                    &v,
                    "a supported search parameter: patient, code, date, _count, _include, _page_token",
                ));
            }
        }
    }
    Ok(s)
}

/// What a page token is bound to: the type, every filter (not `_count`,
/// which may change from page to page) and the key, as a short SHA-256
/// digest, so a token cut short, altered or taken to another search is
/// refused.
fn search_digest(ty: &str, s: &Search, key: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(ty.as_bytes());
    h.update(b"\0");
    h.update(s.patient.as_deref().unwrap_or("").as_bytes());
    h.update(b"\0");
    let mut codes = s.codes.clone();
    codes.sort();
    for c in &codes {
        h.update(c.as_bytes());
        h.update(b"\x1f");
    }
    h.update(b"\0");
    let mut dates = s.dates.clone();
    dates.sort();
    for (op, d) in &dates {
        h.update(op.as_bytes());
        h.update(d.as_bytes());
        h.update(b"\x1f");
    }
    h.update(b"\0");
    h.update([u8::from(s.include_patient)]);
    h.update(b"\0");
    h.update(key.as_bytes());
    h.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The token of the page after `key` (the last match's sort key) of search
/// `s`: hex of `1|<type>|<digest>|<key>`. The digest catches garbling and
/// reuse on another search; it is not keyed by a secret (several servers
/// must accept each other's tokens, and they share no secret), so a client
/// that rebuilds one by hand only chooses where its own page starts: every
/// page is authorised, scoped and audited like the first.
fn page_token(ty: &str, s: &Search, key: &str) -> String {
    format!("1|{ty}|{}|{key}", search_digest(ty, s, key)).bytes().map(|b| format!("{b:02x}")).collect()
}

/// The keyset position in `s`'s page token, if it has one; a token that is
/// not hex, not of this server's shape, of another type or another search,
/// or whose key is not an id is refused naming `_page_token`.
fn page_key(ty: &str, s: &Search) -> AppResult<Option<String>> {
    let Some(token) = &s.page_token else { return Ok(None) };
    let refuse = || invalid(PAGE_TOKEN, token, "the _page_token of a next link of this same search");
    if token.len() > 512 || token.len() % 2 != 0 {
        return Err(refuse());
    }
    let bytes: Option<Vec<u8>> =
        (0..token.len()).step_by(2).map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok()).collect();
    let text = bytes.and_then(|b| String::from_utf8(b).ok()).ok_or_else(refuse)?;
    let mut parts = text.splitn(4, '|');
    let (Some("1"), Some(t), Some(digest), Some(key)) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(refuse());
    };
    // A FHIR id: [A-Za-z0-9-.]{1,64}.
    let id_like = (1..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b));
    if t != ty || !id_like || digest != search_digest(ty, s, key) {
        return Err(refuse());
    }
    Ok(Some(key.to_owned()))
}

/// The `self` link: the search as it was asked.
fn self_url(base: &str, ty: &str, s: &Search) -> String {
    if s.query.is_empty() { format!("{base}/{ty}") } else { format!("{base}/{ty}?{}", s.query) }
}

/// The `next` link: the parameters as sent but `_page_token`, then the new one.
fn next_url(base: &str, ty: &str, s: &Search, token: &str) -> String {
    let mut q = s.params.clone();
    q.push(format!("{PAGE_TOKEN}={token}"));
    format!("{base}/{ty}?{}", q.join("&"))
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

/// One page of a search: the matches, then what `_include` adds
/// (`search.mode = include`), `total` when it is known, and the `self` link
/// and, when more matches follow, the `next` link (absolute URLs).
struct Page {
    matches: Vec<Resource>,
    included: Vec<Resource>,
    total: Option<usize>,
    next_key: Option<String>,
}

fn search_page(ty: &str, s: &Search, page: Page, headers: &HeaderMap) -> Response {
    let base = base_url(headers);
    let n = page.matches.len();
    let mut resources = page.matches;
    resources.extend(page.included);
    let mut b = bundle(BundleKind::Searchset, resources, &base);
    for e in b.entry.iter_mut().skip(n) {
        if let Some(search) = e.search.as_mut() {
            search.mode = Some("include".to_owned());
        }
    }
    b.total = page.total.map(|t| u32::try_from(t).unwrap_or(u32::MAX));
    b.link.push(BundleLink { relation: "self".to_owned(), url: self_url(&base, ty, s) });
    if let Some(key) = page.next_key {
        let url = next_url(&base, ty, s, &page_token(ty, s, &key));
        b.link.push(BundleLink { relation: "next".to_owned(), url });
    }
    fhir(StatusCode::OK, &b)
}

/// A page of one patient's matches: sorted by id, those after `after`, at
/// most `count`, and the key of the last when more follow. The whole record
/// is read for every page (one record is bounded), so paging costs one
/// record read per page.
fn page_of(mut found: Vec<Resource>, after: Option<&str>, count: usize) -> (Vec<Resource>, usize, Option<String>) {
    found.sort_by(|a, b| a.id().cmp(&b.id()));
    let total = found.len();
    let mut rest: Vec<Resource> =
        found.into_iter().filter(|r| after.is_none_or(|k| r.id().is_some_and(|id| id > k))).collect();
    let more = rest.len() > count;
    rest.truncate(count);
    let next = if more { rest.last().and_then(|r| r.id()).map(str::to_owned) } else { None };
    (rest, total, next)
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
            let audit = Audit::of(&state, &caller, remote, "search", "fhir");
            authorise(&audit, &caller, Family::PatientRecord, Action::Read, None).await?;
            let mut s = audit.valid(None, None, parse_search(ty, query.as_deref())).await?;
            let detail = format!("{ty}?{}", query.as_deref().unwrap_or(""));
            // A patient account searches its own record only.
            if s.patient.is_none() && caller.role() == Role::Patient {
                s.patient.clone_from(&caller.user.data.patient_id);
            }
            let after = audit.valid(None, None, page_key(ty, &s)).await?;
            let Some(patient) = s.patient.clone() else {
                if ty != "Patient" {
                    let p = invalid("patient", "", "a patient id: this server searches one patient's record at a time");
                    return audit.valid(None, None, Err(p)).await;
                }
                // All patients, one page of the store's keyset search (name
                // order); the page token carries the store's cursor (the last
                // patient's id). `date` filters the page, so a page may hold
                // fewer than `_count` matches, and `total` is not counted.
                let q = PatientQuery {
                    limit: s.count.min(limbpath_store::MAX_PAGE as usize) as u32,
                    cursor: after,
                    ..PatientQuery::default()
                };
                let page = match state.store.search_patients(&q).await {
                    Ok(p) => p,
                    Err(StoreError::Invalid(e)) if e.field == "cursor" => {
                        let token = s.page_token.as_deref().unwrap_or("");
                        let p = invalid(PAGE_TOKEN, token, "the _page_token of a next link of this same search");
                        return audit.valid(None, None, Err(p)).await;
                    }
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
                let page = Page { matches: out, included: Vec::new(), total: None, next_key: page.next_cursor };
                return Ok(search_page(ty, &s, page, &headers));
            };
            // The patient must exist and be the caller's to see.
            if let Err(e) = state.store.owner_patient_id(RecordKind::Patient, &patient).await {
                return audit.failed(Some(&patient), None, e).await;
            }
            scope(&audit, &caller, &patient, &patient).await?;
            let resources = exported(&audit, &state.store, &patient).await?;
            let patient_resource = resources.iter().find(|r| r.resource_type() == "Patient").cloned();
            let found: Vec<Resource> = resources
                .into_iter()
                .filter(|r| r.resource_type() == ty)
                .filter(|r| {
                    let v = serde_json::to_value(r).unwrap_or(Value::Null);
                    matches_code(&v, &s.codes) && matches_date(&v, &s.dates)
                })
                .collect();
            let (matches, total, next_key) = page_of(found, after.as_deref(), s.count);
            // Every match is this patient's: the Patient once per page.
            let included = match patient_resource {
                Some(p) if s.include_patient && !matches.is_empty() => vec![p],
                _ => Vec::new(),
            };
            audit.record(Some(&patient), Some(&patient), AuditOutcome::Ok, &detail).await?;
            Ok(search_page(ty, &s, Page { matches, included, total: Some(total), next_key }, &headers))
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
            let audit = Audit::of(&state, &caller, remote, "read_record", "fhir");
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
    let audit = Audit::of(&state, &caller, remote, "create", "fhir");
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
            let audit = Audit::of(&state, &caller, remote, "export", "fhir");
            may_export(&audit, &caller).await?;
            let mut types: Option<Vec<String>> = None;
            let mut since: Option<i64> = None;
            for (k, v) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
                match k.as_ref() {
                    "_since" => match parse_instant(&v) {
                        Some(ms) if since.is_none() => since = Some(ms),
                        _ => {
                            let p = invalid(
                                "_since",
                                &v,
                                "one FHIR instant with a time zone: YYYY-MM-DDThh:mm:ss[.sss](Z|+hh:mm|-hh:mm)",
                            );
                            return audit.valid(None, None, Err(p)).await;
                        }
                    },
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
                        let p =
                            invalid(other, &v, "a supported $export parameter: _type, _since, _outputFormat=ndjson");
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
                let spec = ExportJob { dir: &dir, types: types.as_deref(), since, request: &request, base: &base };
                if let Err(e) = run_export(&store, &spec, &job_for_task).await {
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

/// What an export job was asked for.
struct ExportJob<'a> {
    dir: &'a FsPath,
    types: Option<&'a [String]>,
    /// `_since` in milliseconds since the epoch: only patients whose record
    /// changed after it (`Store::patients_changed_since`).
    since: Option<i64>,
    request: &'a str,
    base: &'a str,
}

/// The export job: every patient, a page at a time, appended to one NDJSON
/// file per resource type; the manifest is written last (atomically), so a
/// status request sees either progress or the whole result. With `_since`,
/// each page of patients is narrowed to those changed after it by one store
/// query before any record is read.
async fn run_export(store: &Store, job: &ExportJob<'_>, id: &str) -> anyhow_free::Result<()> {
    let (dir, types, base) = (job.dir, job.types, job.base);
    let started = now_ms();
    let mut files: BTreeMap<String, (std::io::BufWriter<std::fs::File>, u64)> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    let (mut patients, mut exported) = (0u64, 0u64);
    loop {
        let q = PatientQuery { limit: EXPORT_PAGE, cursor: cursor.take(), ..PatientQuery::default() };
        let page = store.search_patients(&q).await?;
        let mut ids: Vec<String> = page.items.iter().map(|s| s.patient.id.clone()).collect();
        patients += ids.len() as u64;
        if let Some(since) = job.since {
            let changed = store.patients_changed_since(&ids, since).await?;
            ids.retain(|id| changed.binary_search(id).is_ok());
        }
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
            exported += 1;
        }
        std::fs::write(dir.join("progress"), format!("{patients} patients read, {exported} exported"))?;
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut output = Vec::new();
    for (ty, (mut w, n)) in files {
        w.flush()?;
        output.push(json!({"type": ty, "url": format!("{base}/$export-file/{id}/{ty}.ndjson"), "count": n}));
    }
    let manifest = json!({
        "transactionTime": limbpath_fhir_instant(started - TRANSACTION_TIME_ALLOWANCE_MS),
        "request": job.request,
        "requiresAccessToken": true,
        "output": output,
        "error": [],
    });
    let tmp = dir.join("manifest.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&manifest)?)?;
    std::fs::rename(tmp, dir.join("manifest.json"))?;
    Ok(())
}

/// A FHIR `instant` (`2024-11-04T08:35:00.123Z`, `…+01:00`; a time zone is
/// required) as milliseconds since the epoch, truncated. A `+` decoded from a
/// query string as a space is read as `+`.
fn parse_instant(text: &str) -> Option<i64> {
    let text = text.replace(' ', "+");
    // RFC 3339 also accepts a lower-case `t`/`z` and a space; FHIR does not.
    if text.len() < 20 || text.as_bytes()[10] != b'T' || text.ends_with('z') {
        return None;
    }
    let t = time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
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
            let audit = Audit::of(&state, &caller, remote, "export", "fhir");
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
            let audit = Audit::of(&state, &caller, remote, "export", "fhir");
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
        let s = parse_search(
            "Observation",
            Some("patient=Patient/0192f650-0000-7000-8000-000000000001&code=a,b&date=ge2024-01&_count=5"),
        )
        .unwrap();
        assert_eq!(s.patient.as_deref(), Some("0192f650-0000-7000-8000-000000000001"));
        assert_eq!(s.codes, vec!["a", "b"]);
        assert_eq!(s.dates, vec![("ge", "2024-01".to_owned())]);
        assert_eq!(s.count, 5);
        assert!(!s.include_patient);
        let field = |ty: &str, q: &str| parse_search(ty, Some(q)).unwrap_err().field;
        assert_eq!(field("Observation", "date=2024-1-1").as_deref(), Some("date"));
        assert_eq!(field("Observation", "_count=0").as_deref(), Some("_count"));
        assert_eq!(field("Observation", "colour=red").as_deref(), Some("colour"));
        assert_eq!(field("Observation", "patient=x").as_deref(), Some("patient"));
        assert!(parse_search("Condition", Some("_include=Condition:patient")).unwrap().include_patient);
        for (ty, q) in [
            ("Condition", "_include=Observation:patient"),
            ("Condition", "_include=Condition:subject"),
            ("Patient", "_include=Patient:patient"),
            ("Observation", "_include:iterate=Observation:patient"),
        ] {
            assert_eq!(field(ty, q).as_deref(), Some("_include"), "{ty}?{q}");
        }
    }

    #[test]
    fn a_page_token_is_bound_to_its_search() {
        let s = parse_search("Observation", Some("patient=0192f650-0000-7000-8000-000000000001&code=x")).unwrap();
        let token = page_token("Observation", &s, "0192f650-0000-7000-8000-000000000009-wifi");
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        let with = |ty: &str, q: &str| {
            let mut s = parse_search(ty, Some(q)).unwrap();
            s.page_token = Some(token.clone());
            page_key(ty, &s)
        };
        let q = "patient=0192f650-0000-7000-8000-000000000001&code=x";
        assert_eq!(with("Observation", q).unwrap().as_deref(), Some("0192f650-0000-7000-8000-000000000009-wifi"));
        // _count may change; the filters and the type may not
        assert!(with("Observation", &format!("{q}&_count=7")).is_ok());
        for (ty, q) in [
            ("Observation", "patient=0192f650-0000-7000-8000-000000000001"),
            ("Observation", "patient=0192f650-0000-7000-8000-000000000001&code=y"),
            ("Condition", q),
        ] {
            assert_eq!(with(ty, q).unwrap_err().field.as_deref(), Some(PAGE_TOKEN), "{ty}?{q}");
        }
        // next repeats the parameters as sent, not the old token; self is the query as sent
        let asked = format!("{q}&_include=Observation%3Apatient&_page_token={token}&_count=2");
        let s = parse_search("Observation", Some(&asked)).unwrap();
        assert_eq!(s.params.len(), 4);
        assert_eq!(
            next_url("http://h/fhir", "Observation", &s, "ab"),
            format!("http://h/fhir/Observation?{q}&_include=Observation%3Apatient&_count=2&_page_token=ab")
        );
        assert_eq!(self_url("http://h/fhir", "Observation", &s), format!("http://h/fhir/Observation?{asked}"));
    }

    #[test]
    fn pages_are_in_id_order_after_the_key() {
        let r = |id: &str| {
            Resource::Observation(limbpath_fhir::r4::Observation { id: Some(id.to_owned()), ..Default::default() })
        };
        let all = vec![r("c"), r("a"), r("d"), r("b")];
        let ids = |p: &[Resource]| p.iter().map(|r| r.id().unwrap().to_owned()).collect::<Vec<_>>();
        let (p, total, next) = page_of(all.clone(), None, 2);
        assert_eq!((ids(&p), total, next.as_deref()), (vec!["a".to_owned(), "b".to_owned()], 4, Some("b")));
        let (p, _, next) = page_of(all.clone(), Some("b"), 2);
        assert_eq!((ids(&p), next), (vec!["c".to_owned(), "d".to_owned()], None));
        let (p, _, next) = page_of(all, Some("d"), 2);
        assert_eq!((p.len(), next), (0, None));
    }

    #[test]
    fn since_is_an_instant_with_a_time_zone() {
        assert_eq!(parse_instant("2024-11-04T08:35:00.123Z"), Some(1_730_709_300_123));
        assert_eq!(parse_instant("2024-11-04T09:35:00.123+01:00"), Some(1_730_709_300_123));
        assert_eq!(parse_instant("2024-11-04T09:35:00.123 01:00"), Some(1_730_709_300_123), "+ read as a space");
        assert_eq!(parse_instant("2024-11-04T08:35:00.1239Z"), Some(1_730_709_300_123));
        assert_eq!(parse_instant(&limbpath_fhir_instant(1_730_709_300_123)), Some(1_730_709_300_123));
        for bad in ["2024-11-04", "2024-11-04T08:35:00", "2024-11-04t08:35:00Z", "2024-11-04T08:35:00z", "now", ""] {
            assert_eq!(parse_instant(bad), None, "{bad}");
        }
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
