//! Programme outcomes (issue 7): the JSON API under `/api/v1/analytics/`,
//! the de-identified cohort CSV, and the analysis table they share.
//!
//! Every request follows the API's flow: authenticate → the role matrix
//! (family [`Family::Aggregates`]: admin, clinician, coordinator and analyst
//! may read programme-level aggregates; a patient account may not) → compute
//! → audit. An aggregate read is audited with entity `analytics`, the
//! analysis in the detail, and no patient (it concerns none in particular).
//!
//! The analysis tables are streamed from the store page by page
//! ([`limbpath_store::Store::for_each_cohort_episode`]), both index dates in
//! one pass, by a background read ([`TableCache`]) that `limbpath serve`
//! starts at start-up and repeats when a table older than [`TABLE_TTL`] is
//! asked for. The dashboard's several charts and consecutive requests share
//! one pass over the database. Every answer says when the table was read.

use crate::access::{Action, Family};
use crate::app::{AppResult, AppState, Audit, RemoteAddr, authenticate, authorise, remote, store_problem};
use crate::http::QueryParams;
use crate::problem::Problem;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use limbpath_analytics::outcomes::{IndexDate, OUTCOME_DEFINITIONS, OUTCOME_DEFINITIONS_VERSION, Outcome};
use limbpath_analytics::programme::{AnalysisTable, Covariate, PUBLISHED_STAGE_RATES, Stratum};
use limbpath_analytics::{AnalyticsError, Problem as AProblem};
use limbpath_store::{AuditOutcome, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long an analysis table is answered from before it is read again.
pub const TABLE_TTL: Duration = Duration::from_secs(300);

/// The analysis tables of both index dates, read together in one pass over
/// the cohort, and the read in progress.
///
/// A request never reads the cohort itself: reads run as background tasks,
/// one at a time. A fresh table answers at once. A table older than
/// [`TABLE_TTL`] still answers at once, and a new read starts behind it
/// (stale while revalidating). Only when no table exists yet does a request
/// wait for a read, and [`TableCache::lookup`] can bound that wait, so the
/// dashboard shows the read's progress instead of hanging for the minutes a
/// registry-sized database takes.
pub struct TableCache {
    /// [`TABLE_TTL`] unless built with [`TableCache::with_ttl`].
    ttl: Duration,
    inner: std::sync::Mutex<CacheInner>,
    /// Counts the reads that have ended, with or without a table.
    reads_ended: tokio::sync::watch::Sender<u64>,
}

impl Default for TableCache {
    fn default() -> Self {
        TableCache::with_ttl(TABLE_TTL)
    }
}

#[derive(Default)]
struct CacheInner {
    tables: HashMap<IndexDate, Built>,
    reading: Option<Reading>,
    /// Why the last read failed; cleared by a read that succeeds.
    failed: Option<String>,
}

struct Reading {
    started: Instant,
    episodes: Arc<AtomicU64>,
    abort: tokio::task::AbortHandle,
}

impl Reading {
    /// How far this read has got.
    fn progress(&self) -> ReadProgress {
        ReadProgress { episodes_read: self.episodes.load(Ordering::Relaxed), running_for: self.started.elapsed() }
    }
}

/// An analysis table and when it was read.
#[derive(Clone)]
pub struct Built {
    pub table: Arc<AnalysisTable>,
    pub at: Instant,
    /// Milliseconds since the Unix epoch when it was read.
    pub at_ms: i64,
    /// How long reading it took.
    pub took: Duration,
}

/// A read of the cohort still under way.
#[derive(Debug, Clone, Copy)]
pub struct ReadProgress {
    pub episodes_read: u64,
    pub running_for: Duration,
}

/// What [`TableCache::lookup`] found.
pub enum Lookup {
    Ready(Built),
    /// No table yet, and the read did not end within the wait allowed.
    Reading(ReadProgress),
}

impl TableCache {
    /// A cache whose tables are read again once older than `ttl`.
    pub fn with_ttl(ttl: Duration) -> TableCache {
        TableCache { ttl, inner: Default::default(), reads_ended: tokio::sync::watch::channel(0).0 }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        // The guarded state is replaced whole; a panic elsewhere cannot leave it half-written.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start reading both tables in the background, unless a read is
    /// already running. Must be called within the Tokio runtime.
    pub fn refresh(self: &Arc<Self>, store: &Store) {
        let mut inner = self.lock();
        if inner.reading.is_some() {
            return;
        }
        let episodes = Arc::new(AtomicU64::new(0));
        let (cache, store, counter) = (Arc::clone(self), store.clone(), Arc::clone(&episodes));
        // The task cannot record its end before `reading` is set: that needs the lock held here.
        let task = tokio::spawn(async move {
            let read = build_tables(&store, &IndexDate::ALL, &counter).await;
            let mut inner = cache.lock();
            inner.reading = None;
            match read {
                Ok(tables) => {
                    if let Some(b) = tables.values().next() {
                        tracing::info!(
                            target: "limbpath::analytics",
                            episodes = b.table.episodes_read(),
                            seconds = b.took.as_secs_f64(),
                            "analysis table read"
                        );
                    }
                    inner.tables = tables;
                    inner.failed = None;
                }
                Err(e) => {
                    crate::app::log_error(&format!("reading the analysis cohort failed: {e}"));
                    inner.failed = Some(e.to_string());
                }
            }
            drop(inner);
            cache.reads_ended.send_modify(|n| *n += 1);
        });
        inner.reading = Some(Reading { started: Instant::now(), episodes, abort: task.abort_handle() });
    }

    /// Cancel a read in progress (at shutdown: it only reads).
    pub fn stop(&self) {
        if let Some(r) = self.lock().reading.take() {
            r.abort.abort();
        }
    }

    /// The table for `index`, waiting for a read when there is none yet.
    pub async fn get(self: &Arc<Self>, store: &Store, index: IndexDate) -> Result<Built, StoreError> {
        match self.lookup(store, index, None).await? {
            Lookup::Ready(b) => Ok(b),
            // Unreachable without a wait limit; answered as a busy database all the same.
            Lookup::Reading(_) => Err(StoreError::Unavailable("the analysis cohort is still being read".into())),
        }
    }

    /// The table for `index`: a fresh one at once; a stale one (older than
    /// the cache's time to live) at once, with
    /// a read started behind it; none yet: start a read (unless one runs)
    /// and wait for it, for at most `wait` when given. A read that fails
    /// while the request waits answers with its error.
    pub async fn lookup(
        self: &Arc<Self>,
        store: &Store,
        index: IndexDate,
        wait: Option<Duration>,
    ) -> Result<Lookup, StoreError> {
        let deadline = wait.map(|w| tokio::time::Instant::now() + w);
        let mut ended = self.reads_ended.subscribe();
        let mut waited = false;
        loop {
            let progress = {
                let inner = self.lock();
                if let Some(b) = inner.tables.get(&index) {
                    let b = b.clone();
                    drop(inner);
                    if b.at.elapsed() >= self.ttl {
                        self.refresh(store);
                    }
                    return Ok(Lookup::Ready(b));
                }
                if let (true, None, Some(why)) = (waited, &inner.reading, &inner.failed) {
                    return Err(StoreError::Unavailable(format!("reading the analysis cohort failed: {why}")));
                }
                inner.reading.as_ref().map(Reading::progress)
            };
            if progress.is_none() {
                self.refresh(store);
            }
            // `ended` has seen every read that ended before this pass's check,
            // so a read ending from here on wakes it.
            let changed = match deadline {
                None => ended.changed().await.is_ok(),
                Some(d) => match tokio::time::timeout_at(d, ended.changed()).await {
                    Ok(r) => r.is_ok(),
                    Err(_) => {
                        let p =
                            self.progress().unwrap_or(ReadProgress { episodes_read: 0, running_for: Duration::ZERO });
                        return Ok(Lookup::Reading(p));
                    }
                },
            };
            if !changed {
                return Err(StoreError::Unavailable("the analysis cache was closed".into()));
            }
            waited = true;
        }
    }

    /// The read in progress, if any.
    pub fn progress(&self) -> Option<ReadProgress> {
        self.lock().reading.as_ref().map(Reading::progress)
    }
}

/// Stream the cohort from the store into the analysis tables of `indexes`
/// in one pass, counting episodes into `counter` as they are read.
pub async fn build_tables(
    store: &Store,
    indexes: &[IndexDate],
    counter: &AtomicU64,
) -> Result<HashMap<IndexDate, Built>, StoreError> {
    let start = Instant::now();
    let mut tables: Vec<AnalysisTable> = indexes.iter().map(|&i| AnalysisTable::new(i)).collect();
    store
        .for_each_cohort_episode(|e| {
            for t in &mut tables {
                t.push(e);
            }
            counter.fetch_add(1, Ordering::Relaxed);
        })
        .await?;
    let (at, at_ms, took) = (Instant::now(), crate::app::now_ms(), start.elapsed());
    Ok(indexes.iter().zip(tables).map(|(&i, t)| (i, Built { table: Arc::new(t), at, at_ms, took })).collect())
}

/// Stream the cohort from the store into one analysis table (the report's).
pub async fn build_table(store: &Store, index: IndexDate) -> Result<Built, StoreError> {
    let mut tables = build_tables(store, &[index], &AtomicU64::new(0)).await?;
    tables.remove(&index).ok_or_else(|| StoreError::Unavailable("the analysis table was not built".into()))
}

/// The query string of the analytics endpoints and the dashboard.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AnalysisQuery {
    pub outcome: Option<String>,
    pub index: Option<String>,
    pub stratify: Option<String>,
    /// Comma-separated covariate codes.
    pub covariates: Option<String>,
}

/// A query checked against the vocabularies.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub outcome: Outcome,
    pub index: IndexDate,
    pub stratify: Stratum,
    pub covariates: Vec<Covariate>,
}

/// The covariates used when none are chosen (dialysis is one click away; it
/// is rare enough in a small programme to leave the model not estimable).
pub const DEFAULT_COVARIATES: [Covariate; 3] = [Covariate::Age, Covariate::Diabetes, Covariate::WifiStage];

fn unknown(field: &str, value: &str, accepted: String) -> Problem {
    Problem::invalid(limbpath_clinical::InvalidInput::unrecognised(field, value, accepted))
}

impl AnalysisQuery {
    pub fn check(&self, default_outcome: Outcome, default_stratum: Stratum) -> Result<Analysis, Problem> {
        let outcome = match self.outcome.as_deref().filter(|s| !s.is_empty()) {
            None => default_outcome,
            Some(c) => Outcome::from_code(c).ok_or_else(|| {
                unknown("outcome", c, Outcome::ALL.iter().map(|o| o.code()).collect::<Vec<_>>().join(", "))
            })?,
        };
        let index = match self.index.as_deref().filter(|s| !s.is_empty()) {
            None => IndexDate::EpisodeStart,
            Some(c) => IndexDate::from_code(c)
                .ok_or_else(|| unknown("index", c, "episode_start, index_procedure".to_owned()))?,
        };
        let stratify = match self.stratify.as_deref().filter(|s| !s.is_empty()) {
            None => default_stratum,
            Some(c) => Stratum::from_code(c).ok_or_else(|| {
                unknown("stratify", c, Stratum::ALL.iter().map(|s| s.code()).collect::<Vec<_>>().join(", "))
            })?,
        };
        let covariates = match self.covariates.as_deref().filter(|s| !s.trim().is_empty()) {
            None => DEFAULT_COVARIATES.to_vec(),
            Some(list) => {
                let mut v = Vec::new();
                for c in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                    let cov = Covariate::from_code(c).ok_or_else(|| {
                        unknown("covariates", c, Covariate::ALL.iter().map(|c| c.code()).collect::<Vec<_>>().join(", "))
                    })?;
                    if !v.contains(&cov) {
                        v.push(cov);
                    }
                }
                v
            }
        };
        Ok(Analysis { outcome, index, stratify, covariates })
    }
}

/// An estimator's refusal as a problem naming the field.
pub fn analytics_problem(e: AnalyticsError) -> Problem {
    match e {
        AnalyticsError::InvalidInput(i) => {
            let problem = match i.problem {
                AProblem::Missing => limbpath_clinical::Problem::Missing,
                AProblem::NotANumber => limbpath_clinical::Problem::NotANumber,
                AProblem::OutOfRange => limbpath_clinical::Problem::OutOfRange,
                AProblem::Unrecognised => limbpath_clinical::Problem::Unrecognised,
                AProblem::Inconsistent => limbpath_clinical::Problem::Inconsistent,
            };
            Problem::invalid(limbpath_clinical::InvalidInput::new(i.field, i.value, problem, i.accepted))
        }
        AnalyticsError::NotEstimable { estimator, reason } => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/problems/not-estimable",
            "Not estimable on this cohort",
            format!("{estimator} cannot be estimated: {reason}"),
        ),
    }
}

/// The analytics paths for the OpenAPI document: (path, summary).
pub const OPENAPI_PATHS: [(&str, &str); 7] = [
    ("/api/v1/analytics/definitions", "The versioned outcome definitions, time zeros, strata and covariates"),
    ("/api/v1/analytics/km", "Kaplan-Meier by stratum (query: outcome, index, stratify)"),
    ("/api/v1/analytics/logrank", "Log-rank test across strata and pairwise (query: outcome, index, stratify)"),
    (
        "/api/v1/analytics/cif",
        "Aalen-Johansen cumulative incidence, competing events competing (query: outcome, index, stratify)",
    ),
    ("/api/v1/analytics/cox", "Cox proportional hazards, Efron ties (query: outcome, index, covariates)"),
    (
        "/api/v1/analytics/benchmark",
        "Observed vs expected 1-year major amputation by WIfI stage, funnel by site (query: index)",
    ),
    ("/api/v1/analytics/cohort.csv", "The de-identified analysis cohort as CSV (no names, MRNs, ids or dates)"),
];

/// The routes (merged into [`crate::router`]).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/analytics/definitions", get(definitions))
        .route("/api/v1/analytics/km", get(km))
        .route("/api/v1/analytics/logrank", get(logrank))
        .route("/api/v1/analytics/cif", get(cif))
        .route("/api/v1/analytics/cox", get(cox))
        .route("/api/v1/analytics/benchmark", get(benchmark))
        .route("/api/v1/analytics/cohort.csv", get(cohort_csv))
}

/// What every answer carries beside its result.
#[derive(Serialize)]
struct Answer<T: Serialize> {
    /// When the analysis table was read from the database (ms since the epoch).
    table_read_at_ms: i64,
    /// Episodes read from the database.
    episodes_read: u64,
    #[serde(flatten)]
    analysis: T,
}

/// Authenticate, authorise (aggregates, read), read the table, run `f`, audit.
async fn run<T: Serialize>(
    state: &AppState,
    addr: &RemoteAddr,
    headers: &HeaderMap,
    what: &'static str,
    query: &AnalysisQuery,
    defaults: (Outcome, Stratum),
    f: impl FnOnce(&AnalysisTable, &Analysis) -> Result<T, AnalyticsError>,
) -> AppResult<Response> {
    let remote = remote(addr);
    let caller = authenticate(state, headers, "analytics", remote.clone()).await?;
    let audit = Audit::of(state, &caller, remote, what, "analytics");
    authorise(&audit, &caller, Family::Aggregates, Action::Read, None).await?;
    let a = audit.valid(None, None, query.check(defaults.0, defaults.1)).await?;
    let detail = describe(&a);
    let built = match state.analytics.get(&state.store, a.index).await {
        Ok(b) => b,
        Err(e) => {
            let (p, outcome) = store_problem(e);
            audit.record(None, None, outcome, &p.detail).await?;
            return Err(p);
        }
    };
    match f(&built.table, &a) {
        Ok(result) => {
            audit.record(None, None, AuditOutcome::Ok, &detail).await?;
            let answer =
                Answer { table_read_at_ms: built.at_ms, episodes_read: built.table.episodes_read(), analysis: result };
            Ok(Json(answer).into_response())
        }
        Err(e) => {
            let p = analytics_problem(e);
            audit.record(None, None, AuditOutcome::Invalid, &format!("{detail}: {}", p.detail)).await?;
            Err(p)
        }
    }
}

/// The analysis in words, for the audit trail.
pub fn describe(a: &Analysis) -> String {
    format!(
        "outcome={} index={} stratify={} covariates={}",
        a.outcome.code(),
        a.index.code(),
        a.stratify.code(),
        a.covariates.iter().map(|c| c.code()).collect::<Vec<_>>().join(",")
    )
}

async fn definitions(State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap) -> AppResult<Response> {
    let remote = remote(&addr);
    let caller = authenticate(&state, &headers, "analytics", remote.clone()).await?;
    let audit = Audit::of(&state, &caller, remote, "definitions", "analytics");
    authorise(&audit, &caller, Family::Aggregates, Action::Read, None).await?;
    audit.record(None, None, AuditOutcome::Ok, "").await?;
    let index: Vec<_> =
        IndexDate::ALL.iter().map(|i| serde_json::json!({"code": i.code(), "definition": i.definition()})).collect();
    Ok(Json(serde_json::json!({
        "version": OUTCOME_DEFINITIONS_VERSION,
        "outcomes": OUTCOME_DEFINITIONS,
        "index_dates": index,
        "strata": Stratum::ALL.iter().map(|s| s.code()).collect::<Vec<_>>(),
        "covariates": Covariate::ALL.iter().map(|c| c.code()).collect::<Vec<_>>(),
        "censoring": "at the last follow-up: the last dated entry of the episode (opening and closing dates, \
            assessments, wounds noted or healed, wound measurements, vascular and imaging studies, procedures, \
            outcome events), or a death recorded within it",
    }))
    .into_response())
}

async fn km(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    QueryParams(q): QueryParams<AnalysisQuery>,
) -> AppResult<Response> {
    run(&state, &addr, &headers, "km", &q, (Outcome::AmputationFreeSurvival, Stratum::None), |t, a| {
        t.kaplan_meier(a.outcome, a.stratify)
    })
    .await
}

async fn logrank(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    QueryParams(q): QueryParams<AnalysisQuery>,
) -> AppResult<Response> {
    run(&state, &addr, &headers, "logrank", &q, (Outcome::AmputationFreeSurvival, Stratum::WifiStage), |t, a| {
        t.log_rank(a.outcome, a.stratify)
    })
    .await
}

async fn cif(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    QueryParams(q): QueryParams<AnalysisQuery>,
) -> AppResult<Response> {
    run(&state, &addr, &headers, "cif", &q, (Outcome::MajorAmputation, Stratum::None), |t, a| {
        t.cumulative_incidence(a.outcome, a.stratify)
    })
    .await
}

async fn cox(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    QueryParams(q): QueryParams<AnalysisQuery>,
) -> AppResult<Response> {
    run(&state, &addr, &headers, "cox", &q, (Outcome::AmputationFreeSurvival, Stratum::None), |t, a| {
        t.cox(a.outcome, &a.covariates)
    })
    .await
}

async fn benchmark(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    QueryParams(q): QueryParams<AnalysisQuery>,
) -> AppResult<Response> {
    run(&state, &addr, &headers, "benchmark", &q, (Outcome::MajorAmputation, Stratum::Site), |t, _| {
        Ok(t.benchmark(PUBLISHED_STAGE_RATES))
    })
    .await
}

/// Rows per chunk of the CSV body.
const CSV_CHUNK: usize = 20_000;

/// The cohort as CSV, de-identified: no names, MRNs, record ids or dates
/// (the index year and age in whole years only), streamed in chunks.
async fn cohort_csv(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    QueryParams(q): QueryParams<AnalysisQuery>,
) -> AppResult<Response> {
    let remote = remote(&addr);
    let caller = authenticate(&state, &headers, "analytics", remote.clone()).await?;
    let audit = Audit::of(&state, &caller, remote, "export", "analytics");
    authorise(&audit, &caller, Family::Aggregates, Action::Read, None).await?;
    let a = audit.valid(None, None, q.check(Outcome::AmputationFreeSurvival, Stratum::None)).await?;
    let built = match state.analytics.get(&state.store, a.index).await {
        Ok(b) => b,
        Err(e) => {
            let (p, outcome) = store_problem(e);
            audit.record(None, None, outcome, &p.detail).await?;
            return Err(p);
        }
    };
    audit.record(None, None, AuditOutcome::Ok, &format!("de-identified cohort CSV, index={}", a.index.code())).await?;
    let table = built.table;
    let chunks = table.rows.len().div_ceil(CSV_CHUNK);
    let header =
        futures_util::stream::once(async { Ok::<Bytes, std::io::Error>(Bytes::from(AnalysisTable::csv_header())) });
    let body = futures_util::stream::iter(0..chunks).map(move |i| {
        let mut s = String::with_capacity(CSV_CHUNK * 100);
        for row in table.rows.iter().skip(i * CSV_CHUNK).take(CSV_CHUNK) {
            s.push_str(&table.csv_line(row));
        }
        Ok::<Bytes, std::io::Error>(Bytes::from(s))
    });
    let mut r = Body::from_stream(header.chain(body)).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"limbpath-cohort-deidentified.csv\""),
    );
    Ok(r)
}
