//! # limbpath-store
//!
//! The LimbPath record store: patients and their limb-centred records
//! ([`limbpath_record`]), users, sessions and API tokens, and the audit trail,
//! on **SQLite** (the embedded default: one file in a data directory) or
//! **PostgreSQL** (`postgres://…`), through one code path.
//!
//! ## Invariants
//! - **Nothing invalid is stored.** Every write validates its input first
//!   ([`limbpath_record::Validate`]; assessments derive through the engine) and
//!   fails with [`StoreError::Invalid`] naming the field before touching the
//!   database. A child whose parent does not exist is [`StoreError::NotFound`]
//!   naming the parent field; the database's foreign keys (`ON DELETE
//!   RESTRICT`) and `STRICT` tables (SQLite) back this up.
//! - **Nothing half-written.** A write that touches more than one row (an
//!   episode and its patient's status flags and search rows, an assessment and
//!   the patient's latest WIfI stage, a whole
//!   [`limbpath_record::PatientRecord`]) is one transaction. `tests/suite`
//!   kills a writer process with SIGKILL mid-stream and finds every commit it
//!   reported.
//! - **Optimistic concurrency.** Every record has a `version`; an update names
//!   the version it was based on (`If-Match`) and runs
//!   `UPDATE … WHERE id = $1 AND version = $2`. A stale update changes nothing
//!   and returns [`StoreError::VersionConflict`] with the current version.
//!   Parents are fixed at creation: an update naming another parent is Invalid.
//! - **No in-process state.** Sessions, API tokens, failed-login counts and the
//!   audit trail live in the database, so several `limbpath serve` processes can
//!   share one PostgreSQL. Migrations take PostgreSQL's advisory lock (sqlx).
//!   Writers of one patient queue on the patient row (`FOR NO KEY UPDATE`)
//!   before recomputing its search columns, so concurrent episode writes on two
//!   servers cannot each miss the other's. SQLite is for one server process
//!   (its writers are serialised by `BEGIN IMMEDIATE`); other processes may read
//!   it, or load it while the server is stopped.
//! - **SQLite: one writer connection.** Reads use a pool of connections; every
//!   write goes through a pool of exactly one ([`SqlitePools`]), so writers
//!   queue in order instead of sleeping in SQLite's busy handler. Record
//!   creation and audit groups on a SQLite file run on a second, direct
//!   connection (`direct.rs`) only while holding that one, so there is still
//!   one writer at a time; lookups by key run on read-only direct connections
//!   on the calling thread.
//! - **Audited before answered.** [`AuditTrail`] writes the audit entries of
//!   concurrent requests in groups (one transaction each) and returns from
//!   `append` only once the entry is committed.
//! - **Append-only audit.** The store has no API to change or remove an audit
//!   entry, and the database refuses `UPDATE`/`DELETE` on the `audit` table
//!   itself (SQLite: `RAISE(ABORT)` triggers; PostgreSQL: a trigger function,
//!   also on `TRUNCATE`).
//! - **No deletes.** Clinical records are corrected by update, never removed.
//!
//! ## One code path, two engines
//! [`Store`] is an enum over the two pools. Each method's body is written once
//! inside `with_pool!` and compiled once per engine, so the SQL text is shared:
//! both drivers accept `$1` placeholders, `RETURNING`, row-value comparisons
//! and `EXISTS`. Only the DDL differs (`migrations/sqlite`,
//! `migrations/postgres`), plus, where an engine needs it: transaction starts
//! (SQLite `BEGIN IMMEDIATE` for writes, so a transaction that reads first
//! waits for the write lock instead of failing; PostgreSQL `REPEATABLE READ`
//! for consistent multi-table reads), the patient-row lock (PostgreSQL), the
//! placeholders of multi-row INSERTs (`?` on SQLite, where thousands of `$n`
//! cost O(n²) to bind) and the integrity check. The SQL of
//! create/get/update/list is generated once per record type from a table
//! description (`entity.rs`); only table and column names from constants go
//! into SQL text, every value is a bind. Queries are runtime `sqlx::query`
//! with binds: building needs no database and no `.sqlx` offline data. Migrations are embedded with `include_str!` and run by
//! sqlx's migrator at connect (checksummed: never edit an applied migration,
//! add a new one to both directories).
//!
//! Portable column types: ids TEXT (UUIDv7 from the store, time-ordered;
//! supplied ids for bulk loads), versions and instants BIGINT milliseconds since
//! the Unix epoch, clinical dates TEXT `YYYY-MM-DD`, measurements REAL/DOUBLE
//! PRECISION, booleans INTEGER 0/1 / BOOLEAN, JSON documents TEXT (findings, the
//! derived result, pressures, GLASS segments, target arteries, complications).
//! On PostgreSQL ids and search keys are `COLLATE "C"`, which is SQLite's
//! byte order, so keyset pagination visits rows in the same order on both.
//!
//! ## Search at 1,000,000 patients
//! Every list is keyset-paginated (`WHERE (order…) > (cursor…) ORDER BY order…
//! LIMIT n+1`); the cursor is the id of the last row of the previous page, and
//! its sort keys are looked up by primary key. No `OFFSET`, no `COUNT`, so page
//! 10,000 costs what page 1 costs.
//!
//! Patients are ordered by `(family_key, given_key, id)`: trimmed, lower-cased
//! names, so a name prefix is an index range (`family_key >= 'smi' AND
//! family_key < 'smj'`), not a `LIKE`. The text of a search is "family-name
//! prefix, or `family, given-prefix`, or exact MRN": the name range, plus a
//! second tiny branch on the MRN index, merged with `UNION ALL`.
//!
//! Filters (site, episode status, WIfI stage) never join episodes or
//! assessments at query time, and never leave the choice of index to the
//! planner. The patient row carries denormalised `status_<status>` flags
//! (whether any of the patient's episodes is in that status) and
//! `latest_wifi_stage` (the stage of the most recent assessment that has one,
//! by assessment date then id), recomputed from scratch, not incremented, in
//! the transaction of every patient, episode and assessment write, so they
//! cannot drift. From them the store keeps a search index, `patient_search`:
//! one row per combination of the patient's facets, `site␟status␟stage` with
//! an empty component for "any" (7 rows for a patient with one status and a
//! stage, 11 with two statuses), keyed `(facet, family_key, given_key,
//! patient_id)`. Any combination of filters, with or without a name prefix, is
//! then one range scan of that primary key, already in page order: a page
//! reads about 50 index entries and 50 patients, whether the combination
//! matches half the patients or five. The rows are rebuilt only when what they
//! are built from changes (`patients.search_key`); an assessment that leaves
//! the stage as it was writes nothing more than its own row.
//!
//! Aetiology (any of the patient's episodes) is the fourth facet dimension
//! (migration 0005; before, an `EXISTS` probe per candidate of the range scan,
//! which read the whole range when a combination matched nobody). The
//! "overdue tasks" filter (an open or assigned care task due before the day
//! the caller passes) changes with the date, not with a write, so it is no
//! facet: the patients with an overdue task drive that query, one range of
//! the partial index `care_tasks_overdue (due_on, patient_id)`, each looked up
//! by primary key and checked against the facet by the primary key of
//! `patient_search`, then sorted; it costs what the overdue tasks number.
//!
//! Why not partial indexes per status (the first design): SQLite's planner
//! prefers an equality seek on a large index (`site = ?`, 200,000 rows) over a
//! scan of a small partial index (`WHERE status_referred`, 5,500 rows), so a
//! rare combination took 72 ms at 1,000,000 patients; the search index takes
//! the choice away (0.6 ms). Its cost: about 8 rows per patient (0.55 GB of
//! 6.1 GB on SQLite, 1.5 GB of 6.2 GB on PostgreSQL at 1,000,000 patients) and
//! a slower bulk load on SQLite (2,760 instead of 4,900 patients/s).
//!
//! ## Measured (2026-11, `examples/scale.rs`, release, 2 shared cores)
//! 1,000,000 synthetic patients, 7.6 million rows (limbs, episodes,
//! assessments with their derived JSON, wounds, measurements):
//!
//! | | SQLite | PostgreSQL 15 |
//! |---|---|---|
//! | bulk load (`insert_patient_records`, 1,000 per transaction) | 2,760 patients/s (21,000 rows/s), 363 s | 3,940 patients/s (29,900 rows/s), 254 s |
//! | search page of 50, median, any filter combination | 0.2–0.8 ms | 0.1–1.0 ms |
//! | slowest of 100 consecutive pages (cursor walk) | 4.3 ms | 15.5 ms |
//! | `create_assessment`, 1 / 4 tasks (one patient) | 2,340 / 2,990 per s | 1,920 / 1,390 per s |
//! | `get_patient`, 1 / 8 tasks | 9,970 / 43,260 per s | 6,960 / 16,440 per s |
//! | `get_patient_record` (13 queries), 1 / 8 tasks | 395 / 1,300 per s | 500 / 1,170 per s |
//!
//! `cargo run --release -p limbpath-store --example scale -- --url URL
//! --patients 1000000 [--explain]` reproduces them (`--explain` prints each
//! search's plan). The four writers of the write test share one patient, so on
//! PostgreSQL they queue on its row lock.
//!
//! ## Durability (SQLite)
//! WAL journal, `synchronous=NORMAL`, `foreign_keys=ON`, `busy_timeout` 5 s.
//! In WAL mode with NORMAL, a commit is written to the WAL file before it
//! returns, so a committed transaction survives the process being killed
//! (SIGKILL, panic, OOM): the OS holds the data. What NORMAL gives up is the
//! fsync at every commit (the WAL is synced at checkpoints): after a power cut
//! or kernel crash the most recent commits may be lost, but the database is
//! never corrupted. That trade is what makes thousands of writes per second possible
//! on one disk; installations that must survive power loss without a UPS set
//! `LIMBPATH_SQLITE_SYNCHRONOUS=FULL` (read at connect). PostgreSQL is used with
//! its own defaults (`synchronous_commit=on`).
//!
//! ## Users, sessions, lockout
//! Passwords: Argon2id (the `argon2` crate's defaults: m=19 MiB, t=2, p=1,
//! OWASP's recommendation), hashed and verified on tokio's blocking pool.
//! Session and API tokens: 32 random bytes (OS RNG) as 64 hex digits; only
//! their SHA-256 is stored, so a database leak yields no usable token.
//! Lockout: 5 failed logins for one username within 15 minutes lock that
//! username for 15 minutes from the 5th failure; while locked, the password is
//! not checked and attempts are not counted; a successful login clears the
//! failures. Unknown usernames are counted and hashed against a dummy hash like
//! known ones, so neither timing nor lockout tells whether a username exists.
//! Idle sessions: a browser session unused for longer than the caller's idle
//! limit (`session_user`) is refused; its `last_seen_at_ms` is in the database
//! (every server process sees the same), written at most once a minute per
//! session so that authenticating a request stays a read. API tokens have no
//! idle limit, only their lifetime.

mod audit;
mod auth;
mod bulk;
mod care;
mod checkpoints;
mod cohort;
mod direct;
mod entity;
mod error;
mod facets;
mod fhir;
mod portable;
mod records;
mod search;
mod sql;
mod templates;
mod visits;

pub use audit::{AuditEntry, AuditOutcome, AuditTrail, StoredAuditEntry};
pub use auth::{
    LOCKOUT_DURATION_MS, LOCKOUT_FAILURES, LOCKOUT_WINDOW_MS, LoginOutcome, MAX_TOKEN_TTL, SESSION_TOUCH_INTERVAL_MS,
    Token, TokenKind,
};
pub use care::{
    CarePlanRun, FollowUpVisit, NewReferral, PlanAfter, RUN_CARE_PLAN, Referral, ReferralStatus, ReferralSubmission,
    Referrer, WorklistItem, WorklistQuery,
};
pub use cohort::COHORT_PAGE;
pub use error::{Result, StoreError};
pub use fhir::{
    FhirImportSummary, FhirPatient, FhirResource, ImportedPatientSummary, ImportedResource, ImportedResources,
    PatientOutcome,
};
pub use portable::{
    CopyReport, RestoreReport, SqliteFileReport, TableDigest, backup_sqlite, copy_sqlite_to_postgres,
    inspect_sqlite_file, latest_migration, restore_sqlite,
};
pub use records::{MAX_PAGE, MeasurementWithReduction, Owned, Record, RecordKind};
pub use search::{PatientQuery, PatientSummary};
pub use templates::ProgrammeTemplate;
pub use visits::{
    AlertBadges, AlertQuery, INSTRUCTION_PROTOCOLS, MAX_ALERTS, NewCheckIn, PlanProtocol, StoredAlert, StoredCheckIn,
    StoredDistractionEntry, StoredInstructions, StoredLoadEntry, StoredPlan, StoredSetting,
};

use limbpath_clinical::InvalidInput;
use serde::{Deserialize, Serialize};
use sql::with_pool;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::PgConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Row, SqlSafeStr};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// The file name of the SQLite database inside a data directory.
pub const SQLITE_FILE_NAME: &str = "limbpath.sqlite3";

/// The store: connection pools on one of the two engines. Cheap to clone
/// (pools are reference-counted); share one per process.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqlitePools),
    Postgres(PgPool),
}

/// SQLite allows one writer at a time. Writes go through a pool of exactly one
/// connection, so writers wait their turn in the pool's queue (first come,
/// first served, woken the moment the writer is free) rather than in SQLite's
/// busy handler, which sleeps between retries; reads use the other pool and
/// never wait for writers (WAL). An in-memory database is one connection, both
/// pools being the same.
#[derive(Debug, Clone)]
pub struct SqlitePools {
    pub read: SqlitePool,
    pub write: SqlitePool,
    /// Lookups by key on the calling thread and writes without a round trip
    /// per statement (`direct.rs`); `None` for an in-memory database.
    pub(crate) direct: Option<std::sync::Arc<direct::Direct>>,
}

/// One page of a list, and the cursor of the next page (`None` on the last).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the direct writer keeps the write connection while direct writes
/// keep arriving (see [`Store::write_direct`]): the longest a write through
/// sqlx waits behind them.
const DIRECT_WRITER_HOLD: Duration = Duration::from_millis(20);
/// PostgreSQL's pool gives up sooner: during an outage every new request waits this long for a connection
/// before its 503, and the audit trail's group writer, which runs one group at a time, can make a request
/// wait for two such waits.
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

impl Store {
    /// Connect to `sqlite://PATH` (created if missing; `sqlite::memory:` for a
    /// throwaway database) or `postgres://…`/`postgresql://…`, and apply the
    /// migrations. An unreachable server is [`StoreError::Unavailable`].
    pub async fn connect(url: &str) -> Result<Store> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url).map_err(|e| bad_url(url, e))?;
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            if !in_memory && let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
                create_dir(dir)?;
            }
            Store::open_sqlite(options, in_memory).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(|e| bad_url(url, e))?;
            Store::open_postgres(options).await
        } else {
            Err(bad_url(url, "the scheme is neither sqlite: nor postgres:"))
        }
    }

    /// Open (creating if needed) the SQLite database `limbpath.sqlite3` in
    /// `dir`, creating the directory too.
    pub async fn open_data_dir(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = dir.as_ref();
        create_dir(dir)?;
        let options = SqliteConnectOptions::new().filename(dir.join(SQLITE_FILE_NAME));
        Store::open_sqlite(options, false).await
    }

    async fn open_sqlite(options: SqliteConnectOptions, in_memory: bool) -> Result<Store> {
        let (synchronous, synchronous_name) = match std::env::var("LIMBPATH_SQLITE_SYNCHRONOUS").as_deref() {
            Ok(v) if v.eq_ignore_ascii_case("full") => (SqliteSynchronous::Full, "FULL"),
            _ => (SqliteSynchronous::Normal, "NORMAL"),
        };
        let mut options = options
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .synchronous(synchronous)
            // 16 MiB page cache per connection (negative = KiB)
            .pragma("cache_size", "-16384")
            .pragma("temp_store", "memory")
            .optimize_on_close(true, 400);
        // One writer connection, kept open; for an in-memory database it is
        // the only connection (the database lives and dies with it).
        let single = || {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(ACQUIRE_TIMEOUT)
        };
        if in_memory {
            let pool = single().connect_with(options).await?;
            migrator(SQLITE_MIGRATIONS).run(&pool).await?;
            return Ok(Store::Sqlite(SqlitePools { read: pool.clone(), write: pool, direct: None }));
        }
        options = options.journal_mode(SqliteJournalMode::Wal);
        // (Not for an in-memory database: closing its one connection would drop it.)
        let write = single()
            .after_release(|conn, _| Box::pin(keep_sqlite_connection(conn)))
            .connect_with(options.clone())
            .await?;
        migrator(SQLITE_MIGRATIONS).run(&write).await?;
        sqlx::query("PRAGMA optimize=0x10002").execute(&write).await?;
        let path = options.get_filename();
        let direct = direct::Direct {
            reads: direct::DirectReads::open(path, SQLITE_BUSY_TIMEOUT)?,
            writer: direct::DirectWriter::open(path, SQLITE_BUSY_TIMEOUT, synchronous_name)?,
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let read = SqlitePoolOptions::new()
            .max_connections((2 * cores).clamp(4, 16) as u32)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_release(|conn, _| Box::pin(keep_sqlite_connection(conn)))
            .connect_with(options)
            .await?;
        Ok(Store::Sqlite(SqlitePools { read, write, direct: Some(std::sync::Arc::new(direct)) }))
    }

    async fn open_postgres(options: PgConnectOptions) -> Result<Store> {
        // One direct attempt first: the pool would retry a refused connection
        // until its acquire timeout; a server that is down should be reported now.
        let probe = PgConnection::connect_with(&options).await.map_err(|e| StoreError::Unavailable(e.to_string()))?;
        probe.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Database(e) => StoreError::Unavailable(e.to_string()),
                other => other,
            })?;
        migrator(POSTGRES_MIGRATIONS).run(&pool).await?;
        Ok(Store::Postgres(pool))
    }

    /// Whether multi-row statements number their placeholders (`$1`: PostgreSQL)
    /// or leave them anonymous (`?`: SQLite); see `sql::values_list`.
    pub(crate) fn numbered_placeholders(&self) -> bool {
        self.is_postgres()
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// Whether [`Store::write_direct`] is available (a SQLite file).
    pub(crate) fn writes_directly(&self) -> bool {
        matches!(self, Store::Sqlite(SqlitePools { direct: Some(_), .. }))
    }

    /// Run `f` as one write on the direct writer of a SQLite file
    /// (`direct.rs`): all its statements on one blocking thread instead of a
    /// round trip to sqlx's connection thread each, in a transaction it may
    /// share with other direct writes queued meanwhile (group commit: see
    /// [`direct::DirectWriter`]), under a savepoint of its own. Answers once
    /// that transaction is committed. The group runs while holding the write
    /// pool's single connection, so it is one of the store's writers queued in
    /// order, never two at once. The writer that holds it goes on with the
    /// groups queued while its own ran, for up to [`DIRECT_WRITER_HOLD`],
    /// instead of handing the connection to the next caller (a task to wake on
    /// a busy runtime, then a blocking thread) between every two groups.
    /// Only after [`Store::writes_directly`].
    pub(crate) async fn write_direct<T, F>(&self, f: F) -> std::result::Result<T, sqlx::Error>
    where
        T: Send + 'static,
        F: FnOnce(&direct::DirectTx<'_>) -> std::result::Result<T, sqlx::Error> + Send + 'static,
    {
        let Store::Sqlite(SqlitePools { write, direct: Some(direct), .. }) = self else {
            return Err(sqlx::Error::Configuration("this store has no direct writer".into()));
        };
        let (job, mut answer) = direct::WriteJob::new(f);
        // A caller that goes away (its request cancelled) or cannot get the
        // connection takes its job back unless a group has it: a write is
        // never done for a caller that was told it failed.
        struct Queued<'w>(&'w direct::DirectWriter, u64);
        impl Drop for Queued<'_> {
            fn drop(&mut self) {
                self.0.withdraw(self.1);
            }
        }
        let _queued = Queued(&direct.writer, direct.writer.enqueue(job));
        let stopped = || sqlx::Error::Protocol("the direct writer stopped before answering".into());
        loop {
            // Either a group run by another writer answers this job, or this
            // caller gets the write connection and runs the next group itself.
            let held = tokio::select! {
                biased;
                out = &mut answer => return out.unwrap_or_else(|_| Err(stopped())),
                held = write.acquire() => match held {
                    Ok(held) => held,
                    Err(e) if direct.writer.withdraw(_queued.1) => return Err(e),
                    // A group has the job: its answer is the outcome.
                    Err(_) => return answer.await.unwrap_or_else(|_| Err(stopped())),
                },
            };
            let group = direct.writer.take_group();
            if group.is_empty() {
                // Taken by a group that has not answered yet.
                drop(held);
                return answer.await.unwrap_or_else(|_| Err(stopped()));
            }
            let direct = direct.clone();
            let mut ran = tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                let mut group = group;
                loop {
                    direct.writer.run_group(group);
                    if started.elapsed() >= DIRECT_WRITER_HOLD {
                        break;
                    }
                    group = direct.writer.take_group();
                    if group.is_empty() {
                        break;
                    }
                }
                drop(held);
            });
            // This caller's answer comes with the group that holds its job; the
            // groups after it are other callers' and run on without it.
            tokio::select! {
                biased;
                out = &mut answer => return out.unwrap_or_else(|_| Err(stopped())),
                done = &mut ran => if let Err(e) = done {
                    // A panic outside the jobs (they catch their own): the
                    // group's callers get no answer, and learn that here.
                    return Err(sqlx::Error::Protocol(format!("the direct writer failed: {e}")));
                },
            }
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn engine(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Close the pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(pools) => {
                pools.read.close().await;
                pools.write.close().await;
            }
            Store::Postgres(p) => p.close().await,
        }
    }

    /// The connection pools' sizes, for monitoring: `(pool, open, idle)` per
    /// pool (`read` and `write` on SQLite, `main` on PostgreSQL).
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, usize)> {
        match self {
            Store::Sqlite(pools) => vec![
                ("read", pools.read.size(), pools.read.num_idle()),
                ("write", pools.write.size(), pools.write.num_idle()),
            ],
            Store::Postgres(p) => vec![("main", p.size(), p.num_idle())],
        }
    }

    /// A round trip to the database (readiness probe).
    pub async fn health(&self) -> Result<()> {
        with_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Problems found by the database's own checks; empty when healthy.
    /// SQLite: `PRAGMA integrity_check` and `PRAGMA foreign_key_check`.
    /// PostgreSQL keeps its own consistency: a round trip plus a check that the
    /// schema is in place.
    pub async fn integrity_check(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        match self {
            Store::Sqlite(SqlitePools { write: p, .. }) => {
                for row in sqlx::query("PRAGMA integrity_check").fetch_all(p).await? {
                    let line: String = row.try_get(0)?;
                    if line != "ok" {
                        problems.push(line);
                    }
                }
                for row in sqlx::query("PRAGMA foreign_key_check").fetch_all(p).await? {
                    let table: String = row.try_get(0)?;
                    let parent: String = row.try_get(2)?;
                    problems.push(format!("foreign key violation: a row of {table} names a missing {parent} row"));
                }
            }
            Store::Postgres(p) => {
                let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success")
                    .fetch_one(p)
                    .await?
                    .try_get("n")?;
                if n < 1 {
                    problems.push("no migration has been applied".to_owned());
                }
            }
        }
        Ok(problems)
    }

    /// Update the query planner's statistics (after a bulk load).
    pub async fn analyze(&self) -> Result<()> {
        match self {
            Store::Sqlite(p) => sqlx::query("ANALYZE").execute(&p.write).await.map(|_| ())?,
            Store::Postgres(p) => sqlx::query("ANALYZE").execute(p).await.map(|_| ())?,
        }
        Ok(())
    }
}

/// Whether a SQLite connection returned to its pool is fit for reuse. A
/// transaction that failed with an error after which SQLite rolls back by
/// itself (`SQLITE_FULL`: the disk is full) leaves sqlx believing it is still
/// open, since its own `ROLLBACK` then fails ("no transaction is active");
/// every later `BEGIN` on that connection would fail. Such a connection is
/// closed, and the pool opens a fresh one. The `SELECT 1` runs only after a
/// transaction was dropped unfinished, to let its queued rollback happen first.
async fn keep_sqlite_connection(conn: &mut sqlx::SqliteConnection) -> std::result::Result<bool, sqlx::Error> {
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    if sqlx::query("SELECT 1").execute(&mut *conn).await.is_err() {
        return Ok(false);
    }
    Ok(!conn.is_in_transaction())
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::Unavailable(format!("cannot create the data directory {}: {e}", dir.display())))
}

fn bad_url(url: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(InvalidInput::unrecognised(
        "database_url",
        format!("{} ({e})", redact(url)),
        "sqlite://PATH, sqlite::memory: or postgres://USER@HOST:PORT/DATABASE",
    ))
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// One embedded migration file: (version, description, SQL).
type EmbeddedMigration = (i64, &'static str, &'static str);

const SQLITE_MIGRATIONS: &[EmbeddedMigration] = &[
    (1, "schema", include_str!("../migrations/sqlite/0001_schema.sql")),
    (2, "care pathways", include_str!("../migrations/sqlite/0002_care_pathways.sql")),
    (3, "patient between visits", include_str!("../migrations/sqlite/0003_patient_between_visits.sql")),
    (4, "fhir import", include_str!("../migrations/sqlite/0004_fhir_import.sql")),
    (5, "search gaps", include_str!("../migrations/sqlite/0005_search_gaps.sql")),
    (9, "follow up templates", include_str!("../migrations/sqlite/0009_follow_up_templates.sql")),
    (10, "cohort covering index", include_str!("../migrations/sqlite/0010_cohort_covering_index.sql")),
    (12, "session last seen", include_str!("../migrations/sqlite/0012_session_last_seen.sql")),
    (13, "drop unused stage index", include_str!("../migrations/sqlite/0013_drop_unused_stage_index.sql")),
    (
        14,
        "assessments reached through episodes",
        include_str!("../migrations/sqlite/0014_assessments_reached_through_episodes.sql"),
    ),
];

const POSTGRES_MIGRATIONS: &[EmbeddedMigration] = &[
    (1, "schema", include_str!("../migrations/postgres/0001_schema.sql")),
    (2, "care pathways", include_str!("../migrations/postgres/0002_care_pathways.sql")),
    (3, "patient between visits", include_str!("../migrations/postgres/0003_patient_between_visits.sql")),
    (4, "fhir import", include_str!("../migrations/postgres/0004_fhir_import.sql")),
    (5, "search gaps", include_str!("../migrations/postgres/0005_search_gaps.sql")),
    (9, "follow up templates", include_str!("../migrations/postgres/0009_follow_up_templates.sql")),
    (10, "cohort covering index", include_str!("../migrations/postgres/0010_cohort_covering_index.sql")),
    (12, "session last seen", include_str!("../migrations/postgres/0012_session_last_seen.sql")),
    (13, "drop unused stage index", include_str!("../migrations/postgres/0013_drop_unused_stage_index.sql")),
    (
        14,
        "assessments reached through episodes",
        include_str!("../migrations/postgres/0014_assessments_reached_through_episodes.sql"),
    ),
];

fn migrator(files: &[EmbeddedMigration]) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(*version, (*description).into(), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn both_engines_have_the_same_migrations() {
        let versions = |m: &[EmbeddedMigration]| m.iter().map(|(v, d, _)| (*v, *d)).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE_MIGRATIONS), versions(POSTGRES_MIGRATIONS));
    }
}
