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

use crate::error::{Result, StoreError, corrupt};
use crate::sql::{RowExt, Val};
use rusqlite::{Connection, OpenFlags, ffi};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
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
/// ([`crate::SqlitePools::write`]), and a direct write runs only while it holds
/// that connection (see `Store::write_direct`), so this connection never
/// competes with it for the database's write lock.
#[derive(Debug)]
pub(crate) struct DirectWriter {
    conn: Mutex<Connection>,
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
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS);
        Ok(DirectWriter { conn: Mutex::new(conn) })
    }

    /// Run `f` in one write transaction (`BEGIN IMMEDIATE` … `COMMIT`); if it
    /// fails, or the commit does, nothing of it is stored. Blocks: call it
    /// from a blocking thread.
    pub(crate) fn transaction<T>(
        &self,
        f: impl FnOnce(&DirectTx<'_>) -> std::result::Result<T, sqlx::Error>,
    ) -> std::result::Result<T, sqlx::Error> {
        let mut conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // A transaction left open by a panic is rolled back here.
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK").map_err(sqlx_error)?;
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sqlx_error)?;
        let out = f(&DirectTx(&tx))?;
        tx.commit().map_err(sqlx_error)?;
        Ok(out)
    }
}

/// Statements inside a [`DirectWriter::transaction`].
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
        self.0.execute_batch("SAVEPOINT inner_work").map_err(sqlx_error)?;
        let out = f();
        let end = if out.is_ok() { "RELEASE inner_work" } else { "ROLLBACK TO inner_work; RELEASE inner_work" };
        self.0.execute_batch(end).map_err(sqlx_error)?;
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
