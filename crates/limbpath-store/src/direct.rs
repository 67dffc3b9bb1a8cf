//! SQLite lookups on the calling thread, and writes in one blocking call.
//!
//! sqlx runs each SQLite connection on a worker thread of its own, and every
//! statement is a round trip between the async task and that thread: two
//! thread wake-ups, which under load cost more than the statement. Profiles of
//! `GET /api/v1/patients/{id}` showed over half the server's CPU time in the
//! kernel switching threads and SQLite itself under 1 % (BENCHMARKS.md,
//! "The HTTP API under load").
//!
//! [`DirectReads`] keeps a few read-only connections of its own (rusqlite, on
//! the same bundled SQLite library as sqlx) and runs a lookup on the thread
//! that asks for it, with its prepared statement cached per connection.
//!
//! Only **lookups by primary key or unique index** come here (the session
//! behind a credential, a record and its owner by id): they read a handful of
//! pages, usually from SQLite's cache, so they hold the async worker for about
//! as long as decoding the row does. Scans, lists and snapshots of several
//! statements stay on sqlx.
//!
//! [`DirectWriter`] runs a whole write transaction (record creation with its
//! search refresh, an audit group) on one blocking thread, on a connection of
//! its own, while the caller holds the sqlx write pool's single connection
//! (`Store::write_direct`): one round trip instead of one per statement, and
//! still one writer at a time. Other writes stay on sqlx.
//!
//! Consistency is SQLite's: in WAL mode a statement on any connection sees
//! every transaction committed before it began, so a lookup sees what the
//! writer connection has committed, as a sqlx reader would. The connections
//! are opened read-only (`SQLITE_OPEN_READ_ONLY`): nothing can be written
//! through them.
//!
//! In-memory databases have no file to open a second connection on; their
//! store has no `DirectReads` and every read goes through sqlx.

use crate::checkpoints::Checkpoints;
use crate::error::{Result, StoreError, corrupt};
use crate::sql::{RowExt, Val};
use rusqlite::{Connection, OpenFlags, ffi};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The direct connections of one SQLite file: lookups and the writer.
#[derive(Debug)]
pub(crate) struct Direct {
    pub(crate) reads: DirectReads,
    pub(crate) writer: DirectWriter,
}

/// Idle connections kept for reuse. A lookup holds a connection only while it
/// runs on a thread, never across an `.await`, so no more are in use at once
/// than threads run lookups (the runtime's workers); extra ones are closed.
const KEEP_IDLE: usize = 8;
/// Each connection's page cache (KiB, as `PRAGMA cache_size = -N`). Lookups
/// touch a few pages; the OS page cache holds the rest.
const CACHE_KIB: i64 = 4096;
/// Statements kept prepared per connection.
const STATEMENTS: usize = 64;

/// Read-only connections to one SQLite file for lookups on the calling thread.
#[derive(Debug)]
pub(crate) struct DirectReads {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl DirectReads {
    /// Lookups on `path`, which must exist (the store has opened and migrated
    /// it). Opens one connection now, so a file it cannot read fails here.
    pub(crate) fn open(path: &Path, busy_timeout: Duration) -> Result<DirectReads> {
        let direct = DirectReads { path: path.to_owned(), busy_timeout, idle: Mutex::new(Vec::new()) };
        let first = direct.connect()?;
        direct.idle().push(first);
        Ok(direct)
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // A panic while the lock was held left the list itself intact.
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn connect(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(self.busy_timeout)?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS);
        Ok(conn)
    }

    /// The first row `sql` returns with `vals` bound (`$n` is the n-th value,
    /// as sqlx binds), decoded; `None` when there is none.
    pub(crate) fn optional<T>(
        &self,
        sql: &str,
        vals: &[Val],
        decode: impl FnOnce(&DirectRow<'_, '_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let taken = self.idle().pop();
        let conn = match taken {
            Some(c) => c,
            None => self.connect()?,
        };
        let out = first_row(&conn, sql, vals, decode);
        let mut idle = self.idle();
        if idle.len() < KEEP_IDLE {
            idle.push(conn);
        }
        out?.transpose()
    }
}

/// The connection direct writes go through. SQLite has one writer at a time;
/// the store's writers queue for the single connection of the sqlx write pool
/// ([`crate::SqlitePools::write`]), and direct writes run only while one of
/// them holds that connection (see `Store::write_direct`), so this connection
/// never competes with it for the database's write lock.
///
/// **Group commit.** A direct write is queued here as a job. Whichever writer
/// next holds the write connection takes every job queued by then, its own
/// and others', and runs them in one transaction, each under a savepoint of
/// its own: a job that fails is undone alone and the others go on. After the
/// one `COMMIT` every job's caller gets its answer, so no write is
/// acknowledged before it is durable; if the commit fails, every job of the
/// group gets the failure and none of them is stored. Under load one commit
/// (and its WAL append) serves many requests; when idle a group is one job.
///
/// **Checkpoints** of the WAL run beside the writer, not in its commits
/// (`checkpoints.rs`).
pub(crate) struct DirectWriter {
    conn: Mutex<Connection>,
    queue: Mutex<Vec<WriteJob>>,
    next_id: AtomicU64,
    checkpoints: Checkpoints,
}

impl std::fmt::Debug for DirectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectWriter").finish_non_exhaustive()
    }
}

/// The most jobs one transaction takes: bounds how long the first waits.
const MAX_GROUP: usize = 64;
/// The writer's page cache (KiB): it reads what it writes to (indexes, the
/// patients' search rows, the episodes its care plans read).
const WRITER_CACHE_KIB: i64 = 65536;

/// A queued write ([`WriteJob::new`]).
pub(crate) struct WriteJob {
    /// Unique within its writer's queue (given by [`DirectWriter::enqueue`]).
    id: u64,
    job: Box<dyn Job>,
}

/// A write and the caller waiting for it.
trait Job: Send {
    /// Run in the group's transaction: whether to keep what it wrote, and how
    /// to answer the caller once the commit is known.
    fn run(self: Box<Self>, tx: &DirectTx<'_>) -> Ran;
    /// Answer without running (the group could not start it).
    fn refuse(self: Box<Self>, why: &CommitFailure);
}

/// A job that ran, waiting for its group's commit.
struct Ran {
    /// `Ok` to keep what it wrote; else why it failed.
    kept: std::result::Result<(), CommitFailure>,
    answer: Answer,
}

/// Answers a job's caller: called with `None` once the group is committed,
/// else with why it was not.
type Answer = Box<dyn FnOnce(Option<&CommitFailure>) + Send>;

/// Why a group's writes were not stored, for each of its callers.
#[derive(Debug, Clone)]
struct CommitFailure {
    code: Option<i32>,
    message: String,
}

impl CommitFailure {
    fn of(e: rusqlite::Error) -> CommitFailure {
        CommitFailure::of_sqlx(&sqlx_error(e))
    }

    fn of_sqlx(e: &sqlx::Error) -> CommitFailure {
        match e {
            sqlx::Error::Database(d) => {
                CommitFailure { code: d.code().and_then(|c| c.parse().ok()), message: d.message().to_owned() }
            }
            other => CommitFailure { code: None, message: other.to_string() },
        }
    }

    fn error(&self) -> sqlx::Error {
        match self.code {
            Some(code) => sqlx::Error::Database(Box::new(DirectSqliteError { code, message: self.message.clone() })),
            None => sqlx::Error::Protocol(self.message.clone()),
        }
    }
}

type Reply<T> = tokio::sync::oneshot::Sender<std::result::Result<T, sqlx::Error>>;

struct JobOf<T, F> {
    f: F,
    reply: Reply<T>,
}

impl<T, F> Job for JobOf<T, F>
where
    T: Send + 'static,
    F: FnOnce(&DirectTx<'_>) -> std::result::Result<T, sqlx::Error> + Send + 'static,
{
    fn run(self: Box<Self>, tx: &DirectTx<'_>) -> Ran {
        let JobOf { f, reply } = *self;
        // A panic is this job's failure, not the group's.
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(tx)))
            .unwrap_or_else(|_| Err(sqlx::Error::Protocol("the direct write panicked".into())));
        Ran {
            kept: out.as_ref().map(drop).map_err(CommitFailure::of_sqlx),
            answer: Box::new(move |failed: Option<&CommitFailure>| {
                let out = match failed {
                    Some(why) => out.and(Err(why.error())),
                    None => out,
                };
                // a caller that went away (request cancelled) needs no answer
                let _ = reply.send(out);
            }),
        }
    }

    fn refuse(self: Box<Self>, why: &CommitFailure) {
        let _ = self.reply.send(Err(why.error()));
    }
}

impl WriteJob {
    /// A job running `f` as one write, and where its answer arrives.
    pub(crate) fn new<T, F>(f: F) -> (WriteJob, tokio::sync::oneshot::Receiver<std::result::Result<T, sqlx::Error>>)
    where
        T: Send + 'static,
        F: FnOnce(&DirectTx<'_>) -> std::result::Result<T, sqlx::Error> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        (WriteJob { id: 0, job: Box::new(JobOf { f, reply }) }, answer)
    }
}

impl DirectWriter {
    /// A read-write connection to `path` with the store's settings: foreign
    /// keys on, `synchronous` as the sqlx connections have it (`NORMAL` or
    /// `FULL`), WAL (already set on the file by the store).
    pub(crate) fn open(path: &Path, busy_timeout: Duration, synchronous: &str) -> Result<DirectWriter> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(busy_timeout)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "synchronous", synchronous)?;
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        // As the sqlx connections have it. Here it also keeps the statement
        // journal of the jobs' savepoints in memory: by default SQLite moves
        // it to a temporary file past 64 KiB, which a group of jobs reaches
        // (a file opened, written and deleted in the writer's transaction).
        conn.pragma_update(None, "temp_store", "memory")?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS);
        let checkpoints = Checkpoints::start(path, &conn, synchronous)?;
        Ok(DirectWriter {
            conn: Mutex::new(conn),
            queue: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            checkpoints,
        })
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<WriteJob>> {
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queue a job for the next group; returns its id (for [`DirectWriter::withdraw`]).
    pub(crate) fn enqueue(&self, mut job: WriteJob) -> u64 {
        job.id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = job.id;
        self.queue().push(job);
        id
    }

    /// Take job `id` back out of the queue, unanswered, if no group has taken
    /// it yet (its caller gave up: it is then never run). `false` when a group
    /// has it: it runs, or ran, and is answered.
    pub(crate) fn withdraw(&self, id: u64) -> bool {
        let mut queue = self.queue();
        let found = queue.iter().position(|j| j.id == id);
        found.map(|i| queue.remove(i)).is_some()
    }

    /// Take the next group: the jobs queued longest, at most [`MAX_GROUP`].
    pub(crate) fn take_group(&self) -> Vec<WriteJob> {
        let mut queue = self.queue();
        let n = queue.len().min(MAX_GROUP);
        queue.drain(..n).collect()
    }

    /// Run `jobs` in one write transaction (`BEGIN IMMEDIATE` … `COMMIT`),
    /// each under a savepoint of its own, then answer each. Blocks: call it
    /// from a blocking thread, while holding the store's write connection.
    pub(crate) fn run_group(&self, jobs: Vec<WriteJob>) {
        let conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let run = |sql: &str| conn.prepare_cached(sql).and_then(|mut s| s.raw_execute()).map(drop);
        let mut jobs = jobs.into_iter();
        // A transaction left open (a failed rollback below) is rolled back first.
        let begun = if conn.is_autocommit() { Ok(()) } else { conn.execute_batch("ROLLBACK") };
        if let Err(e) = begun.and_then(|()| run("BEGIN IMMEDIATE")) {
            let why = CommitFailure::of(e);
            jobs.for_each(|WriteJob { job, .. }| job.refuse(&why));
            return;
        }
        let mut ran = Vec::with_capacity(jobs.len());
        let mut failed = None;
        for WriteJob { job, .. } in jobs.by_ref() {
            if let Err(e) = run("SAVEPOINT job") {
                let why = CommitFailure::of(e);
                job.refuse(&why);
                failed = Some(why);
                break;
            }
            let done = job.run(&DirectTx(&conn));
            let end = match &done.kept {
                Ok(()) => run("RELEASE job").map_err(CommitFailure::of),
                // Some failures (a full disk, an I/O error) make SQLite roll
                // the whole transaction back: the group is lost, for that reason.
                Err(why) if conn.is_autocommit() => Err(why.clone()),
                Err(_) => run("ROLLBACK TO job").and_then(|()| run("RELEASE job")).map_err(CommitFailure::of),
            };
            ran.push(done);
            if let Err(why) = end {
                // What the group wrote cannot be told apart: none of it is kept.
                failed = Some(why);
                break;
            }
        }
        let failed = match failed {
            Some(why) => {
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                jobs.for_each(|WriteJob { job, .. }| job.refuse(&why));
                Some(why)
            }
            None => run("COMMIT").err().map(|e| {
                let _ = conn.execute_batch("ROLLBACK");
                CommitFailure::of(e)
            }),
        };
        for done in ran {
            (done.answer)(failed.as_ref());
        }
        if failed.is_none() {
            self.checkpoints.after_commit(&conn);
        }
    }
}

/// Statements inside a direct write ([`DirectWriter::run_group`]).
pub(crate) struct DirectTx<'c>(&'c Connection);

impl DirectTx<'_> {
    /// The first row `sql` returns, decoded (see [`DirectReads::optional`]).
    pub(crate) fn optional<T>(
        &self,
        sql: &str,
        vals: &[Val],
        decode: impl FnOnce(&DirectRow<'_, '_>) -> Result<T>,
    ) -> std::result::Result<Option<T>, sqlx::Error> {
        first_row(self.0, sql, vals, decode).map_err(sqlx_error)?.transpose().map_err(crate::sql::into_sqlx)
    }

    /// Every row `sql` returns, decoded (see [`DirectReads::optional`]).
    pub(crate) fn all<T>(
        &self,
        sql: &str,
        vals: &[Val],
        mut decode: impl FnMut(&DirectRow<'_, '_>) -> Result<T>,
    ) -> std::result::Result<Vec<T>, sqlx::Error> {
        let mut stmt = self.0.prepare_cached(sql).map_err(sqlx_error)?;
        bind(&mut stmt, vals).map_err(sqlx_error)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(sqlx_error)? {
            out.push(decode(&DirectRow(row)).map_err(crate::sql::into_sqlx)?);
        }
        Ok(out)
    }

    /// Run `f` under a savepoint: when it fails, what it wrote is undone and
    /// the transaction goes on without it. `Err` only when the savepoint
    /// itself cannot be taken, released or rolled back to.
    pub(crate) fn savepoint<T, E>(
        &self,
        f: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<std::result::Result<T, E>, sqlx::Error> {
        let run = |sql: &str| self.execute(sql, &[]).map(drop);
        run("SAVEPOINT inner_work")?;
        let out = f();
        if out.is_err() {
            run("ROLLBACK TO inner_work")?;
        }
        run("RELEASE inner_work")?;
        Ok(out)
    }

    /// Run `sql` for its effect; the number of rows it changed.
    pub(crate) fn execute(&self, sql: &str, vals: &[Val]) -> std::result::Result<usize, sqlx::Error> {
        let run = || -> rusqlite::Result<usize> {
            let mut stmt = self.0.prepare_cached(sql)?;
            bind(&mut stmt, vals)?;
            stmt.raw_execute()
        };
        run().map_err(sqlx_error)
    }
}

/// The first row of `sql` with `vals` bound: SQLite's failure outside, the
/// decoding's inside.
fn first_row<T>(
    conn: &Connection,
    sql: &str,
    vals: &[Val],
    decode: impl FnOnce(&DirectRow<'_, '_>) -> Result<T>,
) -> rusqlite::Result<Option<Result<T>>> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, vals)?;
    let mut rows = stmt.raw_query();
    Ok(rows.next()?.map(|row| decode(&DirectRow(row))))
}

/// Bind as sqlx does: a parameter named `$n` or `?n` takes the n-th value
/// (however often and in whatever order it appears), an anonymous `?` the
/// next one.
fn bind(stmt: &mut rusqlite::Statement<'_>, vals: &[Val]) -> rusqlite::Result<()> {
    let mut next = 0;
    for i in 1..=stmt.parameter_count() {
        let n = match stmt.parameter_name(i) {
            Some(name) => name
                .strip_prefix('$')
                .or_else(|| name.strip_prefix('?'))
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| rusqlite::Error::InvalidParameterName(name.to_owned()))?,
            None => {
                next += 1;
                next
            }
        };
        let Some(v) = n.checked_sub(1).and_then(|k| vals.get(k)) else {
            return Err(rusqlite::Error::InvalidParameterName(format!("no value for SQL parameter {i}")));
        };
        match v {
            Val::Text(x) => stmt.raw_bind_parameter(i, x)?,
            Val::OptText(x) => stmt.raw_bind_parameter(i, x)?,
            Val::Int(x) => stmt.raw_bind_parameter(i, x)?,
            Val::OptInt(x) => stmt.raw_bind_parameter(i, x)?,
            Val::Float(x) => stmt.raw_bind_parameter(i, x)?,
            Val::OptFloat(x) => stmt.raw_bind_parameter(i, x)?,
            Val::Bool(x) => stmt.raw_bind_parameter(i, i64::from(*x))?,
        }
    }
    Ok(())
}

/// A row of a direct lookup, read by column name like a sqlx row.
pub(crate) struct DirectRow<'r, 's>(&'r rusqlite::Row<'s>);

impl DirectRow<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, col: &str) -> Result<T> {
        self.0.get(col).map_err(|e| corrupt(format_args!("{col}: {e}")))
    }
}

impl RowExt for DirectRow<'_, '_> {
    fn text(&self, col: &str) -> Result<String> {
        self.get(col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        self.get(col)
    }
    fn int(&self, col: &str) -> Result<i64> {
        self.get(col)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        self.get(col)
    }
    fn float(&self, col: &str) -> Result<f64> {
        self.get(col)
    }
    fn opt_float(&self, col: &str) -> Result<Option<f64>> {
        self.get(col)
    }
    fn boolean(&self, col: &str) -> Result<bool> {
        self.get(col)
    }
}

impl From<rusqlite::Error> for StoreError {
    /// As a sqlx error would be: a full disk is `StorageFull`; busy or locked
    /// is `Unavailable` (a retry may cure it); anything else is a database error.
    fn from(e: rusqlite::Error) -> Self {
        StoreError::from(sqlx_error(e))
    }
}

/// A rusqlite error as the sqlx error the same failure on a sqlx connection
/// would be, so that the store maps both alike (constraint violations,
/// `SQLITE_FULL`, `SQLITE_BUSY`).
pub(crate) fn sqlx_error(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(f, message) => sqlx::Error::Database(Box::new(DirectSqliteError {
            code: f.extended_code,
            message: message.unwrap_or_else(|| f.to_string()),
        })),
        other => sqlx::Error::Protocol(format!("SQLite: {other}")),
    }
}

/// A SQLite error from a statement run directly, with its extended result code.
#[derive(Debug)]
pub(crate) struct DirectSqliteError {
    code: i32,
    message: String,
}

impl std::fmt::Display for DirectSqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for DirectSqliteError {}

impl sqlx::error::DatabaseError for DirectSqliteError {
    fn message(&self) -> &str {
        &self.message
    }
    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some(self.code.to_string().into())
    }
    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }
    fn kind(&self) -> sqlx::error::ErrorKind {
        use sqlx::error::ErrorKind;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoints::{FINISH_FRAMES, START_FRAMES};

    fn db() -> (tempfile::TempDir, DirectReads) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let w = Connection::open(&path).unwrap();
        w.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, x REAL, b INTEGER, note TEXT);
             INSERT INTO t VALUES ('a', 1, 1.5, 1, NULL), ('b', 2, 2.5, 0, 'two');",
        )
        .unwrap();
        let direct = DirectReads::open(&path, Duration::from_secs(1)).unwrap();
        (dir, direct)
    }

    #[test]
    fn numbered_parameters_take_their_value_wherever_they_appear() {
        let (_dir, d) = db();
        let sql = "SELECT id, n, x, b, note FROM t WHERE n > $2 AND id <> $1 AND n > $2 ORDER BY id";
        let got = d
            .optional(sql, &[Val::text("zzz"), Val::Int(1)], |r| {
                Ok((r.text("id")?, r.int("n")?, r.float("x")?, r.boolean("b")?, r.opt_text("note")?))
            })
            .unwrap();
        assert_eq!(got, Some(("b".to_owned(), 2, 2.5, false, Some("two".to_owned()))));
        let none = d.optional("SELECT id FROM t WHERE id = ?", &[Val::text("c")], |r| r.text("id")).unwrap();
        assert_eq!(none, None);
        let null = d.optional("SELECT note FROM t WHERE id = $1", &[Val::text("a")], |r| r.opt_text("note")).unwrap();
        assert_eq!(null, Some(None));
    }

    #[test]
    fn a_missing_value_a_wrong_type_and_a_write_are_errors_not_panics() {
        let (_dir, d) = db();
        let e = d.optional("SELECT id FROM t WHERE id = $2", &[Val::text("a")], |r| r.text("id")).unwrap_err();
        assert!(e.to_string().contains("no value for SQL parameter"), "{e}");
        let e = d.optional("SELECT note FROM t WHERE id = 'a'", &[], |r| r.text("note")).unwrap_err();
        assert!(e.to_string().contains("note"), "{e}");
        let e = d.optional("INSERT INTO t (id) VALUES ('c') RETURNING id", &[], |r| r.text("id")).unwrap_err();
        assert!(e.to_string().contains("readonly"), "{e}");
    }

    /// Queue a job inserting `id` into `t` (or running `f` first), for `w`.
    fn queue_insert(
        w: &DirectWriter,
        id: &'static str,
        f: impl FnOnce(&DirectTx<'_>) -> std::result::Result<(), sqlx::Error> + Send + 'static,
    ) -> tokio::sync::oneshot::Receiver<std::result::Result<usize, sqlx::Error>> {
        let (job, answer) = WriteJob::new(move |tx| {
            f(tx)?;
            tx.execute("INSERT INTO t (id, n) VALUES ($1, 9)", &[Val::text(id)])
        });
        w.enqueue(job);
        answer
    }

    fn ids(dir: &tempfile::TempDir) -> Vec<String> {
        let c = Connection::open(dir.path().join("t.sqlite3")).unwrap();
        let mut stmt = c.prepare("SELECT id FROM t ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn a_group_commits_together_and_a_failing_or_panicking_job_is_undone_alone() {
        let (dir, _) = db();
        let w = DirectWriter::open(&dir.path().join("t.sqlite3"), Duration::from_secs(1), "NORMAL").unwrap();
        let ok = |_: &DirectTx<'_>| Ok(());
        let mut answers = [
            queue_insert(&w, "c", ok),
            // a duplicate key after a write of its own: both undone, nothing else
            queue_insert(&w, "a", |tx| tx.execute("INSERT INTO t (id, n) VALUES ('d', 1)", &[]).map(drop)),
            queue_insert(&w, "e", |tx| {
                // an earlier job's write is visible within the group
                let seen = tx.optional("SELECT id FROM t WHERE id = 'c'", &[], |r| r.text("id"))?;
                assert_eq!(seen.as_deref(), Some("c"));
                Ok(())
            }),
            queue_insert(&w, "f", |_| panic!("a bug in one job")),
            queue_insert(&w, "g", ok),
        ];
        let group = w.take_group();
        assert_eq!(group.len(), 5);
        assert!(w.take_group().is_empty());
        w.run_group(group);
        let mut got = answers.iter_mut().map(|a| a.try_recv().expect("answered after the commit"));
        assert_eq!(got.next().unwrap().unwrap(), 1);
        let e = got.next().unwrap().unwrap_err();
        assert!(e.as_database_error().is_some_and(|d| d.is_unique_violation()), "{e}");
        assert_eq!(got.next().unwrap().unwrap(), 1);
        assert!(got.next().unwrap().unwrap_err().to_string().contains("panicked"));
        assert_eq!(got.next().unwrap().unwrap(), 1);
        assert_eq!(ids(&dir), ["a", "b", "c", "e", "g"]);
    }

    #[test]
    fn when_the_database_rolls_the_transaction_back_no_job_of_the_group_is_kept_or_acknowledged() {
        let (dir, _) = db();
        let w = DirectWriter::open(&dir.path().join("t.sqlite3"), Duration::from_secs(1), "NORMAL").unwrap();
        let mut answers = vec![
            queue_insert(&w, "c", |_| Ok(())),
            // as SQLite does on some failures (a full disk, an I/O error)
            queue_insert(&w, "d", |tx| {
                tx.execute("ROLLBACK", &[])?;
                Err(sqlx::Error::Protocol("disk I/O error".into()))
            }),
            queue_insert(&w, "e", |_| Ok(())),
        ];
        w.run_group(w.take_group());
        for a in &mut answers {
            let e = a.try_recv().expect("answered").unwrap_err();
            assert!(e.to_string().contains("disk I/O error"), "{e}");
        }
        assert_eq!(ids(&dir), ["a", "b"]);
        // the writer goes on: the next group is committed
        let mut next = queue_insert(&w, "h", |_| Ok(()));
        w.run_group(w.take_group());
        assert_eq!(next.try_recv().unwrap().unwrap(), 1);
        assert_eq!(ids(&dir), ["a", "b", "h"]);
    }

    #[test]
    fn the_wal_is_copied_beside_the_writer_and_starts_over_instead_of_growing() {
        let (dir, _) = db();
        let path = dir.path().join("t.sqlite3");
        let w = DirectWriter::open(&path, Duration::from_secs(1), "NORMAL").unwrap();
        // Groups of 50 rows of about a page each: some three times
        // START_FRAMES WAL frames in all.
        let groups = 3 * START_FRAMES / 50;
        for g in 0..groups {
            let answers: Vec<_> = (0..50)
                .map(|i| {
                    let (job, answer) = WriteJob::new(move |tx| {
                        tx.execute(
                            "INSERT INTO t (id, n, note) VALUES ($1, $2, $3)",
                            &[Val::Text(format!("g{g:03}r{i:02}")), Val::Int(i), Val::Text("x".repeat(3000))],
                        )
                    });
                    w.enqueue(job);
                    answer
                })
                .collect();
            w.run_group(w.take_group());
            for mut a in answers {
                assert_eq!(a.try_recv().unwrap().unwrap(), 1);
            }
            w.checkpoints.settle();
        }
        // Without the checkpointer the WAL would hold every frame (about 50
        // MB); it starts over after each copy instead.
        let frame = 4096 + 24;
        let wal = std::fs::metadata(dir.path().join("t.sqlite3-wal")).unwrap().len();
        assert!(wal < 2 * START_FRAMES as u64 * frame, "WAL of {wal} bytes");
        let c = Connection::open(&path).unwrap();
        let rows: i64 = c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 2 + i64::from(groups) * 50);
        let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
        // What the WAL still holds is a few groups, not the run.
        let (_, frames, copied): (i64, i64, i64) =
            c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
        let most = i64::from(START_FRAMES + FINISH_FRAMES + 100);
        assert!(frames < most && copied == frames, "{frames} frames, {copied} copied");
    }

    #[test]
    fn a_group_takes_the_oldest_jobs_and_at_most_max_group() {
        let (dir, _) = db();
        let w = DirectWriter::open(&dir.path().join("t.sqlite3"), Duration::from_secs(1), "NORMAL").unwrap();
        let answers: Vec<_> = (0..MAX_GROUP + 6)
            .map(|i| {
                let (job, answer) = WriteJob::new(move |tx| {
                    tx.execute(
                        "INSERT INTO t (id, n) VALUES ($1, $2)",
                        &[Val::Text(format!("k{i:03}")), Val::Int(i as i64)],
                    )
                });
                w.enqueue(job);
                answer
            })
            .collect();
        let first = w.take_group();
        assert_eq!(first.len(), MAX_GROUP);
        w.run_group(first);
        assert_eq!(ids(&dir).len(), 2 + MAX_GROUP);
        let rest = w.take_group();
        assert_eq!(rest.len(), 6);
        w.run_group(rest);
        assert_eq!(ids(&dir).last().map(String::as_str), Some("k069"));
        drop(answers);

        // A job its caller withdraws before a group takes it is never run.
        let mut gone = queue_insert(&w, "w1", |_| Ok(()));
        let (job, _kept) = WriteJob::new(|tx| tx.execute("INSERT INTO t (id, n) VALUES ('w2', 1)", &[]));
        let kept = w.enqueue(job);
        let withdrawn = kept - 1;
        assert!(w.withdraw(withdrawn));
        assert!(!w.withdraw(withdrawn), "once");
        let group = w.take_group();
        assert!(!w.withdraw(kept), "a group has it");
        w.run_group(group);
        assert!(gone.try_recv().is_err(), "never answered");
        assert!(ids(&dir).contains(&"w2".to_owned()) && !ids(&dir).contains(&"w1".to_owned()));
    }

    #[test]
    fn connections_are_reused_and_see_later_commits() {
        let (dir, d) = db();
        let w = Connection::open(dir.path().join("t.sqlite3")).unwrap();
        for i in 0..20 {
            w.execute("UPDATE t SET n = ?1 WHERE id = 'a'", [i]).unwrap();
            let n = d.optional("SELECT n FROM t WHERE id = $1", &[Val::text("a")], |r| r.int("n")).unwrap();
            assert_eq!(n, Some(i));
        }
        assert_eq!(d.idle().len(), 1, "one thread, one connection");
    }
}
