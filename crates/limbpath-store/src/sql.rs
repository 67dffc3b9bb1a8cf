//! Engine-neutral plumbing: bind values, reading rows of either engine, and
//! the `with_pool!` / `bind_all!` macros that let one body of code serve both.

use crate::error::{Result, StoreError, corrupt};
use limbpath_record::Date;
use sqlx::Row;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// Run `$body` with `$p` bound to the store's pool for reading. The body is
/// written once and compiled twice, once per engine, so it may use anything
/// both drivers accept: `$1`-style placeholders, `RETURNING`, row values.
/// On SQLite this is the pool of reader connections.
macro_rules! with_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match $store {
            $crate::Store::Sqlite(pools) => {
                let $p = &pools.read;
                $body
            }
            $crate::Store::Postgres($p) => $body,
        }
    };
}
pub(crate) use with_pool;

/// One row by key, decoded: `$decode` is an expression over `$row` (any
/// [`RowExt`]), written once and compiled per engine. On a SQLite file the
/// lookup runs on the calling thread (`crate::direct`); otherwise it is a
/// `fetch_optional` on the reading pool. Only for lookups by primary key or
/// unique index (see `direct.rs` for why).
macro_rules! lookup {
    ($store:expr, $sql:expr, $vals:expr, |$row:ident| $decode:expr) => {
        match $store {
            $crate::Store::Sqlite($crate::SqlitePools { direct: Some(direct), .. }) => {
                direct.reads.optional($sql, &$vals, |$row| $decode)
            }
            $crate::Store::Sqlite($crate::SqlitePools { read: p, .. }) => {
                match $crate::sql::bind_all!(sqlx::query($sql), $vals).fetch_optional(p).await {
                    Ok(Some(ref $row)) => $decode.map(Some),
                    Ok(None) => Ok(None),
                    Err(e) => Err($crate::StoreError::from(e)),
                }
            }
            $crate::Store::Postgres(p) => {
                match $crate::sql::bind_all!(sqlx::query($sql), $vals).fetch_optional(p).await {
                    Ok(Some(ref $row)) => $decode.map(Some),
                    Ok(None) => Ok(None),
                    Err(e) => Err($crate::StoreError::from(e)),
                }
            }
        }
    };
}
pub(crate) use lookup;

/// [`with_pool!`] for statements that write. On SQLite, `$p` is the single
/// writer connection: writers queue for it in the pool (in order, without
/// sleeping) instead of contending for the database's write lock, whose
/// busy handler backs off by sleeping. PostgreSQL has one pool for both.
macro_rules! with_writer {
    ($store:expr, $p:ident => $body:expr) => {
        match $store {
            $crate::Store::Sqlite(pools) => {
                let $p = &pools.write;
                $body
            }
            $crate::Store::Postgres($p) => $body,
        }
    };
}
pub(crate) use with_writer;

/// Bind every [`Val`] of an iterator, in order, to a `sqlx::query`.
macro_rules! bind_all {
    ($query:expr, $vals:expr) => {{
        let mut q = $query;
        for v in $vals {
            q = match v {
                $crate::sql::Val::Text(x) => q.bind(x),
                $crate::sql::Val::OptText(x) => q.bind(x),
                $crate::sql::Val::Int(x) => q.bind(x),
                $crate::sql::Val::OptInt(x) => q.bind(x),
                $crate::sql::Val::Float(x) => q.bind(x),
                $crate::sql::Val::OptFloat(x) => q.bind(x),
                $crate::sql::Val::Bool(x) => q.bind(x),
            };
        }
        q
    }};
}
pub(crate) use bind_all;

/// A value to bind, in one of the portable column types.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Float(f64),
    OptFloat(Option<f64>),
    Bool(bool),
}

impl Val {
    pub(crate) fn text(s: impl Into<String>) -> Val {
        Val::Text(s.into())
    }
    pub(crate) fn date(d: Date) -> Val {
        Val::Text(date_text(d))
    }
    pub(crate) fn opt_date(d: Option<Date>) -> Val {
        Val::OptText(d.map(date_text))
    }
    pub(crate) fn opt_code(c: Option<&'static str>) -> Val {
        Val::OptText(c.map(str::to_owned))
    }
}

const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// A clinical date as stored: `YYYY-MM-DD`.
pub(crate) fn date_text(d: Date) -> String {
    // Dates are validated to years 1900-2200 before they reach the store, and
    // this format cannot fail for them; fall back to Display (same shape) anyway.
    d.format(DATE).unwrap_or_else(|_| d.to_string())
}

pub(crate) fn parse_date(s: &str) -> Result<Date> {
    Date::parse(s, DATE).map_err(|e| corrupt(format_args!("date {s:?}: {e}")))
}

/// Reading a column of a row from either engine, by name.
pub(crate) trait RowExt {
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn int(&self, col: &str) -> Result<i64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    fn float(&self, col: &str) -> Result<f64>;
    fn opt_float(&self, col: &str) -> Result<Option<f64>>;
    fn boolean(&self, col: &str) -> Result<bool>;

    fn date(&self, col: &str) -> Result<Date> {
        parse_date(&self.text(col)?)
    }
    fn opt_date(&self, col: &str) -> Result<Option<Date>> {
        self.opt_text(col)?.as_deref().map(parse_date).transpose()
    }
    /// A vocabulary code, through the vocabulary's `from_code`.
    fn code<T>(&self, col: &str, from_code: fn(&str) -> Option<T>) -> Result<T> {
        let s = self.text(col)?;
        from_code(&s).ok_or_else(|| corrupt(format_args!("{col} = {s:?} is not a known code")))
    }
    fn opt_code<T>(&self, col: &str, from_code: fn(&str) -> Option<T>) -> Result<Option<T>> {
        match self.opt_text(col)? {
            None => Ok(None),
            Some(s) => {
                from_code(&s).map(Some).ok_or_else(|| corrupt(format_args!("{col} = {s:?} is not a known code")))
            }
        }
    }
    /// A JSON document stored as text, as the type it was stored from.
    fn json<T: serde::de::DeserializeOwned>(&self, col: &str) -> Result<T> {
        let s = self.text(col)?;
        serde_json::from_str(&s).map_err(|e| corrupt(format_args!("{col}: {e}")))
    }
    fn opt_json<T: serde::de::DeserializeOwned>(&self, col: &str) -> Result<Option<T>> {
        match self.opt_text(col)? {
            None => Ok(None),
            Some(s) => serde_json::from_str(&s).map(Some).map_err(|e| corrupt(format_args!("{col}: {e}"))),
        }
    }
    fn opt_small(&self, col: &str) -> Result<Option<u8>> {
        match self.opt_int(col)? {
            None => Ok(None),
            Some(v) => u8::try_from(v).map(Some).map_err(|_| corrupt(format_args!("{col} = {v}"))),
        }
    }
}

macro_rules! impl_row_ext {
    ($row:ty) => {
        impl RowExt for $row {
            fn text(&self, col: &str) -> Result<String> {
                Ok(self.try_get(col)?)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>> {
                Ok(self.try_get(col)?)
            }
            fn int(&self, col: &str) -> Result<i64> {
                Ok(self.try_get(col)?)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>> {
                Ok(self.try_get(col)?)
            }
            fn float(&self, col: &str) -> Result<f64> {
                Ok(self.try_get(col)?)
            }
            fn opt_float(&self, col: &str) -> Result<Option<f64>> {
                Ok(self.try_get(col)?)
            }
            fn boolean(&self, col: &str) -> Result<bool> {
                Ok(self.try_get(col)?)
            }
        }
    };
}

impl_row_ext!(sqlx::sqlite::SqliteRow);
impl_row_ext!(sqlx::postgres::PgRow);

/// Bring a patient's search columns and rows up to date inside a write
/// transaction (`$tx`), after a write that may have changed them.
///
/// On PostgreSQL the patient row is locked first (`FOR NO KEY UPDATE`), in its own
/// statement: under READ COMMITTED a statement sees what was committed when it
/// started, so two transactions adding episodes to one patient at once would
/// otherwise each recompute the flags without the other's episode. After the
/// lock the recomputation starts later than the other's commit and sees it.
/// SQLite needs no lock: `BEGIN IMMEDIATE` already runs writers one at a time.
///
/// `$search` is what the write can change ([`crate::entity::Search`]): when
/// only the latest WIfI stage, and that is unchanged (after the lock, so that
/// a concurrent writer's stage is seen), nothing is recomputed.
macro_rules! sync_search {
    ($tx:ident, $patient_id:expr, $postgres:expr, $search:expr) => {{
        if $postgres {
            sqlx::query($crate::facets::LOCK_PATIENT).bind($patient_id).execute(&mut *$tx).await?;
        }
        let unchanged = $search == $crate::entity::Search::LatestStage
            && sqlx::query($crate::facets::STAGE_UNCHANGED)
                .bind($patient_id)
                .fetch_optional(&mut *$tx)
                .await?
                .is_some();
        if !unchanged {
            let row = sqlx::query($crate::facets::REFRESH).bind($patient_id).fetch_one(&mut *$tx).await?;
            let statements =
                $crate::facets::sync_statements(&row, $patient_id, $postgres).map_err($crate::sql::into_sqlx)?;
            for (sql, vals) in statements {
                $crate::sql::bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), vals).execute(&mut *$tx).await?;
            }
        }
    }};
}
pub(crate) use sync_search;

/// A store error inside code that speaks `sqlx::Error` (transaction bodies).
pub(crate) fn into_sqlx(e: StoreError) -> sqlx::Error {
    match e {
        StoreError::Database(e) => e,
        other => sqlx::Error::Decode(other.to_string().into()),
    }
}

/// Write transactions. SQLite: `BEGIN IMMEDIATE`, so a transaction that reads
/// before it writes takes the write lock first and waits (`busy_timeout`)
/// instead of failing with `SQLITE_BUSY` when it upgrades. PostgreSQL: `BEGIN`.
/// Read snapshots: SQLite's deferred `BEGIN` holds one snapshot from the first
/// read; PostgreSQL needs `REPEATABLE READ` for the same.
pub(crate) trait Begin {
    type Db: sqlx::Database;
    fn begin_write(&self) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send;
    fn begin_snapshot(&self) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl Begin for sqlx::SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
    async fn begin_snapshot(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN DEFERRED").await
    }
}

impl Begin for sqlx::PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        begin_postgres(self, "BEGIN").await
    }
    async fn begin_snapshot(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        begin_postgres(self, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await
    }
}

/// `pool.begin_with(statement)`, finished even when the caller is dropped
/// while waiting for it. sqlx 0.9.0 counts a PostgreSQL transaction as open
/// only once the server has answered `BEGIN`: a caller dropped in between (an
/// HTTP client that hung up) left the session inside a transaction that
/// nothing rolled back, and the pool lent that connection out again, so the
/// next borrower's statements ran inside it (sqlx issues 4385 and 4393, fixed
/// upstream after 0.9.0; the storage suite's
/// `a_caller_cancelled_while_its_transaction_begins_leaves_no_transaction_open`).
/// Here the `BEGIN` runs in a task of its own, which finishes whether or not
/// anyone waits for it; a transaction nobody received is then dropped there,
/// and sqlx rolls back a dropped open transaction before the connection is
/// lent again.
pub(crate) async fn begin_postgres(
    pool: &sqlx::PgPool,
    statement: &'static str,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let pool = pool.clone();
    match tokio::spawn(async move { pool.begin_with(statement).await }).await {
        Ok(begun) => begun,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // The runtime is shutting down.
        Err(_) => Err(sqlx::Error::PoolClosed),
    }
}

/// The `VALUES` list of a multi-row INSERT: `($1, $2), ($3, $4)` on
/// PostgreSQL, `(?, ?), (?, ?)` on SQLite. The one place the SQL text differs
/// for a reason other than DDL: SQLite finds a named parameter (`$n`) by a
/// linear search, and sqlx looks up every parameter's name, so a statement of
/// n named parameters costs O(n²); thousands of anonymous `?` cost O(n).
pub(crate) fn values_list(rows: usize, width: usize, numbered: bool) -> String {
    let mut sql = String::with_capacity(rows * width * 6);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            if numbered {
                sql.push('$');
                sql.push_str(&(r * width + c + 1).to_string());
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A new record id: UUIDv7 (time-ordered), hyphenated lower case.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// Serialise a value the store itself built into JSON text.
pub(crate) fn to_json<T: serde::Serialize>(field: &str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| {
        StoreError::Invalid(limbpath_clinical::InvalidInput::unrecognised(field, e, "a value that serialises as JSON"))
    })
}
