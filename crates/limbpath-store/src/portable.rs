//! Moving a whole programme: online backups of a SQLite database, checking a
//! file before it is restored, and copying a SQLite programme into an empty
//! PostgreSQL database, verified table by table.
//!
//! - **Backup** ([`backup_sqlite`]): `VACUUM INTO` a file beside the target,
//!   from one read transaction, so the copy is the database as of one commit
//!   (WAL readers see a snapshot; the server's writers go on meanwhile). The
//!   copy is fsynced, checked ([`inspect_sqlite_file`]: `integrity_check`,
//!   `foreign_key_check`, the migration version) and only then renamed to
//!   the target name.
//! - **Restore** ([`restore_sqlite`]): the file is checked the same way, and
//!   must be a LimbPath database whose migrations this binary knows. It is
//!   copied beside the live name, fsynced and renamed over it; a database that
//!   was there (only with `force`) is first moved aside with its WAL, never
//!   deleted.
//! - **SQLite → PostgreSQL** ([`copy_sqlite_to_postgres`]): every table in
//!   foreign-key order (parents first), in one PostgreSQL transaction, in
//!   multi-row INSERT batches; the identity columns (`audit.id`,
//!   `login_failures.id`) keep their values and their sequences are moved past
//!   the largest. The target must be empty. After the commit both databases
//!   are digested ([`Store::table_digests`]) and must agree.
//!
//! **Digests.** A table's digest is its row count and a checksum computed
//! identically on both engines: each row is encoded canonically (columns in
//! name order; NULL, integer, real or text, booleans as the integers 0/1 that
//! SQLite stores), hashed with SHA-256, and the first 16 bytes of the row
//! hashes are summed modulo 2^128. The sum does not depend on row order, so
//! no collation question arises, and any changed, missing or extra row changes
//! it (short of a deliberate collision).

use crate::error::{Result, StoreError};
use crate::sql::Begin;
use crate::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, SqlitePools, Store};
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgRow;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteRow};
use sqlx::{AssertSqlSafe, Connection, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The newest migration this binary knows (both engines have the same list).
pub fn latest_migration() -> i64 {
    SQLITE_MIGRATIONS
        .iter()
        .map(|m| m.0)
        .max()
        .unwrap_or(0)
        .max(POSTGRES_MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0))
}

/// Tables of the store that are not data (the migrator's bookkeeping).
const BOOKKEEPING: &[&str] = &["_sqlx_migrations"];

/// Tables every LimbPath database has, from the first migration on.
const REQUIRED_TABLES: &[&str] = &["patients", "limbs", "episodes", "assessments", "users", "audit"];

/// A portable column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Bool,
    Float,
    Text,
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
}

/// One value read from either engine.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Int(Option<i64>),
    Bool(Option<bool>),
    Float(Option<f64>),
    Text(Option<String>),
}

impl Value {
    /// The canonical encoding of the digest: a tag byte, then the value.
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Value::Int(None) | Value::Bool(None) | Value::Float(None) | Value::Text(None) => out.push(0),
            Value::Int(Some(v)) => {
                out.push(1);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::Bool(Some(b)) => {
                out.push(1);
                out.extend_from_slice(&i64::from(*b).to_le_bytes());
            }
            Value::Float(Some(f)) => {
                out.push(2);
                // -0.0 and 0.0 compare equal in SQL; one encoding for both.
                let f = if *f == 0.0 { 0.0f64 } else { *f };
                out.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            Value::Text(Some(s)) => {
                out.push(3);
                out.extend_from_slice(&(s.len() as u64).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
}

fn read_sqlite(row: &SqliteRow, i: usize, kind: Kind) -> Result<Value> {
    Ok(match kind {
        Kind::Int => Value::Int(row.try_get(i)?),
        Kind::Bool => Value::Bool(row.try_get::<Option<i64>, _>(i)?.map(|v| v != 0)),
        Kind::Float => Value::Float(row.try_get(i)?),
        Kind::Text => Value::Text(row.try_get(i)?),
    })
}

fn read_postgres(row: &PgRow, i: usize, kind: Kind) -> Result<Value> {
    Ok(match kind {
        Kind::Int => Value::Int(row.try_get(i)?),
        Kind::Bool => Value::Bool(row.try_get(i)?),
        Kind::Float => Value::Float(row.try_get(i)?),
        Kind::Text => Value::Text(row.try_get(i)?),
    })
}

/// A table's row count and content checksum (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDigest {
    pub table: String,
    pub rows: i64,
    /// 32 hex digits.
    pub checksum: String,
}

/// Sums of row fingerprints.
#[derive(Default)]
struct Accumulator {
    rows: i64,
    sum: u128,
    buf: Vec<u8>,
}

impl Accumulator {
    fn add(&mut self, values: &[Value]) {
        self.buf.clear();
        for v in values {
            v.encode(&mut self.buf);
        }
        self.rows += 1;
        self.sum = self.sum.wrapping_add(fingerprint(&self.buf));
    }
}

fn fingerprint(bytes: &[u8]) -> u128 {
    let hash = Sha256::digest(bytes);
    let mut first = [0u8; 16];
    first.copy_from_slice(&hash[..16]);
    u128::from_le_bytes(first)
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn sqlite_kind(declared: &str) -> Kind {
    let d = declared.to_ascii_uppercase();
    if d.contains("INT") {
        Kind::Int
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        Kind::Float
    } else {
        Kind::Text
    }
}

fn postgres_kind(data_type: &str) -> Result<Kind> {
    match data_type {
        "bigint" => Ok(Kind::Int),
        "boolean" => Ok(Kind::Bool),
        "double precision" => Ok(Kind::Float),
        "text" => Ok(Kind::Text),
        other => Err(StoreError::Internal(format!("column type {other} has no portable form"))),
    }
}

/// The data tables of a SQLite database and their columns (in name order).
async fn sqlite_tables(conn: &mut SqliteConnection) -> Result<BTreeMap<String, Vec<Column>>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = BTreeMap::new();
    for name in names.into_iter().filter(|n| !BOOKKEEPING.contains(&n.as_str())) {
        let rows = sqlx::query("SELECT name, type FROM pragma_table_info($1) ORDER BY name")
            .bind(&name)
            .fetch_all(&mut *conn)
            .await?;
        let mut columns = Vec::with_capacity(rows.len());
        for r in rows {
            let declared: String = r.try_get(1)?;
            columns.push(Column { name: r.try_get(0)?, kind: sqlite_kind(&declared) });
        }
        out.insert(name, columns);
    }
    Ok(out)
}

/// The data tables of the PostgreSQL schema in use and their columns (in name order).
async fn postgres_tables(conn: &mut sqlx::PgConnection) -> Result<BTreeMap<String, Vec<Column>>> {
    let rows = sqlx::query(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
         ORDER BY c.table_name COLLATE \"C\", c.column_name COLLATE \"C\"",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    for r in rows {
        let table: String = r.try_get(0)?;
        if BOOKKEEPING.contains(&table.as_str()) {
            continue;
        }
        let data_type: String = r.try_get(2)?;
        out.entry(table).or_default().push(Column { name: r.try_get(1)?, kind: postgres_kind(&data_type)? });
    }
    Ok(out)
}

fn select_sql(table: &str, columns: &[Column]) -> String {
    let cols: Vec<String> = columns.iter().map(|c| quote(&c.name)).collect();
    format!("SELECT {} FROM {}", cols.join(", "), quote(table))
}

async fn digest_sqlite(conn: &mut SqliteConnection, table: &str, columns: &[Column]) -> Result<TableDigest> {
    let sql = select_sql(table, columns);
    let mut acc = Accumulator::default();
    let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *conn);
    let mut values = Vec::with_capacity(columns.len());
    while let Some(row) = rows.try_next().await? {
        values.clear();
        for (i, c) in columns.iter().enumerate() {
            values.push(read_sqlite(&row, i, c.kind)?);
        }
        acc.add(&values);
    }
    Ok(TableDigest { table: table.to_owned(), rows: acc.rows, checksum: format!("{:032x}", acc.sum) })
}

async fn digest_postgres(conn: &mut sqlx::PgConnection, table: &str, columns: &[Column]) -> Result<TableDigest> {
    let sql = select_sql(table, columns);
    let mut acc = Accumulator::default();
    let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *conn);
    let mut values = Vec::with_capacity(columns.len());
    while let Some(row) = rows.try_next().await? {
        values.clear();
        for (i, c) in columns.iter().enumerate() {
            values.push(read_postgres(&row, i, c.kind)?);
        }
        acc.add(&values);
    }
    Ok(TableDigest { table: table.to_owned(), rows: acc.rows, checksum: format!("{:032x}", acc.sum) })
}

/// The canonical row fingerprints of one SQLite table, sorted: two databases
/// hold the same rows exactly when these are equal, and one database's rows
/// are all in another's when its fingerprints are a sub-multiset.
async fn fingerprints_sqlite(conn: &mut SqliteConnection, table: &str, columns: &[Column]) -> Result<Vec<u128>> {
    let sql = select_sql(table, columns);
    let mut out = Vec::new();
    let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *conn);
    let mut buf = Vec::new();
    while let Some(row) = rows.try_next().await? {
        buf.clear();
        for (i, c) in columns.iter().enumerate() {
            read_sqlite(&row, i, c.kind)?.encode(&mut buf);
        }
        out.push(fingerprint(&buf));
    }
    out.sort_unstable();
    Ok(out)
}

impl Store {
    /// Every data table's row count and content checksum, in table-name order,
    /// read in one transaction (a consistent snapshot on both engines).
    pub async fn table_digests(&self) -> Result<Vec<TableDigest>> {
        let mut out = Vec::new();
        match self {
            Store::Sqlite(SqlitePools { read, .. }) => {
                // A transaction (rolled back if dropped on an error): one snapshot.
                let mut conn = read.begin().await?;
                let tables = sqlite_tables(&mut conn).await?;
                for (table, columns) in &tables {
                    out.push(digest_sqlite(&mut conn, table, columns).await?);
                }
                conn.commit().await?;
            }
            Store::Postgres(pool) => {
                let mut conn = pool.begin_snapshot().await?;
                let tables = postgres_tables(&mut conn).await?;
                for (table, columns) in &tables {
                    out.push(digest_postgres(&mut conn, table, columns).await?);
                }
                conn.commit().await?;
            }
        }
        Ok(out)
    }

    /// The sorted row fingerprints of every data table (SQLite only; for tests
    /// that compare a backup with its source row by row).
    pub async fn row_fingerprints(&self) -> Result<BTreeMap<String, Vec<u128>>> {
        let Store::Sqlite(SqlitePools { read, .. }) = self else {
            return Err(StoreError::Internal("row fingerprints are read from SQLite databases only".to_owned()));
        };
        let mut conn = read.begin().await?;
        let tables = sqlite_tables(&mut conn).await?;
        let mut out = BTreeMap::new();
        for (table, columns) in &tables {
            out.insert(table.clone(), fingerprints_sqlite(&mut conn, table, columns).await?);
        }
        conn.commit().await?;
        Ok(out)
    }
}

/// What a check of a SQLite file found.
#[derive(Debug, Clone)]
pub struct SqliteFileReport {
    pub path: PathBuf,
    pub size_bytes: u64,
    /// The newest migration applied to the file.
    pub migration: i64,
    /// Row counts of every data table, by name.
    pub row_counts: BTreeMap<String, i64>,
}

/// Why a file cannot be used as a LimbPath database.
fn not_usable(path: &Path, why: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("{} is not a usable LimbPath database: {why}", path.display()))
}

async fn open_file(path: &Path, read_only: bool) -> Result<SqliteConnection> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .read_only(read_only)
        .busy_timeout(std::time::Duration::from_secs(5));
    SqliteConnection::connect_with(&options).await.map_err(|e| not_usable(path, format!("it cannot be opened ({e})")))
}

/// Check a SQLite file (a backup, or a file about to be restored): SQLite's
/// `integrity_check` and `foreign_key_check` pass, it has LimbPath's tables
/// and migration table, and its newest migration is one this binary knows.
/// Opens the file read-only; changes nothing.
pub async fn inspect_sqlite_file(path: &Path) -> Result<SqliteFileReport> {
    let meta = std::fs::metadata(path).map_err(|e| not_usable(path, format!("it cannot be read ({e})")))?;
    if !meta.is_file() {
        return Err(not_usable(path, "it is not a regular file"));
    }
    let mut header = [0u8; 16];
    {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| not_usable(path, format!("it cannot be read ({e})")))?;
        f.read_exact(&mut header).map_err(|_| not_usable(path, "it is too short to be a SQLite database"))?;
    }
    if &header != b"SQLite format 3\0" {
        return Err(not_usable(path, "it is not a SQLite database"));
    }
    let mut conn = open_file(path, true).await?;
    let result = inspect_open(path, &mut conn, meta.len()).await;
    conn.close().await.ok();
    result
}

async fn inspect_open(path: &Path, conn: &mut SqliteConnection, size_bytes: u64) -> Result<SqliteFileReport> {
    let mut problems = Vec::new();
    for line in sqlx::query_scalar::<_, String>("PRAGMA integrity_check").fetch_all(&mut *conn).await? {
        if line != "ok" {
            problems.push(line);
        }
    }
    for row in sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut *conn).await? {
        let table: String = row.try_get(0)?;
        let parent: String = row.try_get(2)?;
        problems.push(format!("foreign key violation: a row of {table} names a missing {parent} row"));
    }
    if !problems.is_empty() {
        return Err(not_usable(path, format!("the integrity check failed: {}", problems.join("; "))));
    }
    let tables: BTreeSet<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    if !tables.contains("_sqlx_migrations") {
        return Err(not_usable(path, "it has no migration table (not a LimbPath database)"));
    }
    let missing: Vec<&str> = REQUIRED_TABLES.iter().copied().filter(|t| !tables.contains(*t)).collect();
    if !missing.is_empty() {
        return Err(not_usable(path, format!("tables {} are missing (not a LimbPath database)", missing.join(", "))));
    }
    let failed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE NOT success").fetch_one(&mut *conn).await?;
    if failed > 0 {
        return Err(not_usable(path, "a migration failed part-way in it"));
    }
    let migration: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut *conn)
        .await?;
    let latest = latest_migration();
    if migration > latest {
        return Err(not_usable(
            path,
            format!(
                "its schema is at migration {migration}, newer than this limbpath knows ({latest}); use a newer limbpath"
            ),
        ));
    }
    let mut row_counts = BTreeMap::new();
    for table in tables.iter().filter(|t| !BOOKKEEPING.contains(&t.as_str())) {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", quote(table))))
            .fetch_one(&mut *conn)
            .await?;
        row_counts.insert(table.clone(), n);
    }
    Ok(SqliteFileReport { path: path.to_owned(), size_bytes, migration, row_counts })
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    if e.raw_os_error() == Some(28) {
        StoreError::StorageFull(format!("{what} {}: {e}", path.display()))
    } else {
        StoreError::Internal(format!("{what} {}: {e}", path.display()))
    }
}

fn fsync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path).and_then(|f| f.sync_all()).map_err(|e| io_error("syncing", path, e))
}

fn fsync_dir(dir: &Path) -> Result<()> {
    // A directory is synced so that a rename in it survives a power cut.
    std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(|e| io_error("syncing the directory", dir, e))
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn unique_suffix() -> String {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    format!("{ms}-{}", std::process::id())
}

/// Write a consistent copy of the SQLite database `source` (a live database,
/// possibly being written by a server) to `out`, which must not exist yet.
/// The copy is written beside `out`, fsynced, checked with
/// [`inspect_sqlite_file`], and renamed to `out`.
pub async fn backup_sqlite(source: &Path, out: &Path) -> Result<SqliteFileReport> {
    if out.exists() {
        return Err(StoreError::Internal(format!("{} exists already; choose a new file name", out.display())));
    }
    if !source.is_file() {
        return Err(StoreError::NotFound { entity: "SQLite database", id: source.display().to_string(), field: None });
    }
    let dir = parent_of(out);
    let file_name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "backup".to_owned());
    let partial = dir.join(format!(".{file_name}.partial-{}", unique_suffix()));
    let result = async {
        let mut conn = open_file(source, false).await?;
        // VACUUM INTO reads the source in one read transaction: a snapshot as
        // of one commit, taken without blocking the server's writer (WAL).
        let partial_text = partial
            .to_str()
            .ok_or_else(|| StoreError::Internal(format!("{} is not UTF-8", partial.display())))?
            .to_owned();
        let vacuum = sqlx::query("VACUUM INTO $1").bind(partial_text).execute(&mut conn).await;
        conn.close().await.ok();
        vacuum?;
        fsync_file(&partial)?;
        let report = inspect_sqlite_file(&partial).await?;
        std::fs::rename(&partial, out).map_err(|e| io_error("renaming the backup to", out, e))?;
        fsync_dir(&dir)?;
        Ok(SqliteFileReport { path: out.to_owned(), ..report })
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// What [`restore_sqlite`] did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub installed: PathBuf,
    /// Where the database that was there before went (with `force`).
    pub moved_aside: Vec<PathBuf>,
    pub report: SqliteFileReport,
}

/// Install the SQLite file `file` as the database of `data_dir`. Refuses a
/// file that fails [`inspect_sqlite_file`], and an existing database unless
/// `force` (which moves it, its WAL and shared-memory file aside as
/// `limbpath.sqlite3.before-restore-<time>`). The server must be stopped.
pub async fn restore_sqlite(file: &Path, data_dir: &Path, force: bool) -> Result<RestoreReport> {
    inspect_sqlite_file(file).await?;
    std::fs::create_dir_all(data_dir).map_err(|e| io_error("creating", data_dir, e))?;
    let live = data_dir.join(crate::SQLITE_FILE_NAME);
    let sidecars = |base: &Path| -> Vec<PathBuf> {
        ["", "-wal", "-shm", "-journal"].iter().map(|s| PathBuf::from(format!("{}{s}", base.display()))).collect()
    };
    let existing: Vec<PathBuf> = sidecars(&live).into_iter().filter(|p| p.exists()).collect();
    if !existing.is_empty() && !force {
        return Err(StoreError::Duplicate { field: "data_dir", value: live.display().to_string() });
    }
    let partial = data_dir.join(format!(".{}.restore-{}", crate::SQLITE_FILE_NAME, unique_suffix()));
    let copied = async {
        std::fs::copy(file, &partial).map_err(|e| io_error("copying the backup to", &partial, e))?;
        fsync_file(&partial)?;
        // Check the copy itself, as it will be used.
        inspect_sqlite_file(&partial).await
    }
    .await;
    let report = match copied {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    // Move the old database aside with its WAL: a WAL left beside the new file
    // would be replayed into it.
    let aside = data_dir.join(format!("{}.before-restore-{}", crate::SQLITE_FILE_NAME, unique_suffix()));
    let mut moved_aside = Vec::new();
    for (from, to) in sidecars(&live).into_iter().zip(sidecars(&aside)) {
        if from.exists() {
            std::fs::rename(&from, &to).map_err(|e| io_error("moving aside", &from, e))?;
            moved_aside.push(to);
        }
    }
    std::fs::rename(&partial, &live).map_err(|e| io_error("installing", &live, e))?;
    fsync_dir(data_dir)?;
    Ok(RestoreReport { installed: live.clone(), moved_aside, report: SqliteFileReport { path: live, ..report } })
}

/// What [`copy_sqlite_to_postgres`] copied and verified, table by table.
#[derive(Debug, Clone)]
pub struct CopyReport {
    /// Tables in the order they were copied (parents first).
    pub order: Vec<String>,
    /// The digests of both databases, which are equal.
    pub digests: Vec<TableDigest>,
}

/// Order tables so that every table comes after the tables its foreign keys
/// name (a self-reference is allowed: rows are copied in rowid order).
async fn foreign_key_order(conn: &mut SqliteConnection, tables: &BTreeSet<String>) -> Result<Vec<String>> {
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in tables {
        let names: Vec<String> = sqlx::query_scalar("SELECT \"table\" FROM pragma_foreign_key_list($1)")
            .bind(t)
            .fetch_all(&mut *conn)
            .await?;
        parents.insert(t.clone(), names.into_iter().filter(|p| p != t && tables.contains(p)).collect());
    }
    let mut order = Vec::with_capacity(tables.len());
    let mut done = BTreeSet::new();
    while order.len() < tables.len() {
        let ready: Vec<String> = parents
            .iter()
            .filter(|(t, ps)| !done.contains(*t) && ps.iter().all(|p| done.contains(p)))
            .map(|(t, _)| t.clone())
            .collect();
        if ready.is_empty() {
            let left: Vec<&String> = tables.iter().filter(|t| !done.contains(*t)).collect();
            return Err(StoreError::Internal(format!("the foreign keys of {left:?} form a cycle")));
        }
        for t in ready {
            done.insert(t.clone());
            order.push(t);
        }
    }
    Ok(order)
}

/// Rows per INSERT statement: PostgreSQL takes at most 65,535 parameters.
fn batch_rows(columns: usize) -> usize {
    (60_000 / columns.max(1)).clamp(1, 1_000)
}

fn bind_value<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    v: Value,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    match v {
        Value::Int(x) => q.bind(x),
        Value::Bool(x) => q.bind(x),
        Value::Float(x) => q.bind(x),
        Value::Text(x) => q.bind(x),
    }
}

async fn insert_batch(
    tx: &mut sqlx::PgConnection,
    table: &str,
    columns: &[Column],
    identity: bool,
    rows: &mut Vec<Vec<Value>>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let cols: Vec<String> = columns.iter().map(|c| quote(&c.name)).collect();
    let mut sql = format!(
        "INSERT INTO {} ({}){} VALUES ",
        quote(table),
        cols.join(", "),
        if identity { " OVERRIDING SYSTEM VALUE" } else { "" }
    );
    let mut n = 0;
    for (r, _) in rows.iter().enumerate() {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(false);
    for row in rows.drain(..) {
        for v in row {
            q = bind_value(q, v);
        }
    }
    q.execute(&mut *tx).await?;
    Ok(())
}

/// Copy every table of the SQLite database `source` into the PostgreSQL
/// database `target` (both already migrated to the same version, `target`
/// empty), in one transaction, then verify the digests of both.
/// `progress` is called after each table with its name and row count.
pub async fn copy_sqlite_to_postgres(
    source: &Store,
    target: &Store,
    mut progress: impl FnMut(&str, i64),
) -> Result<CopyReport> {
    let (Store::Sqlite(SqlitePools { read, .. }), Store::Postgres(pg)) = (source, target) else {
        return Err(StoreError::Internal("the source must be SQLite and the target PostgreSQL".to_owned()));
    };
    // One read transaction on the source: the copy is one consistent snapshot.
    let mut src = read.begin().await?;
    let source_migration: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *src)
            .await?;
    let source_tables = sqlite_tables(&mut src).await?;
    let mut tx = pg.begin_write().await?;
    let target_migration: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *tx)
            .await?;
    if source_migration != target_migration {
        return Err(StoreError::Internal(format!(
            "the source is at migration {source_migration} and the target at {target_migration}; open both with this limbpath first"
        )));
    }
    let target_tables = postgres_tables(&mut tx).await?;
    let names: BTreeSet<String> = source_tables.keys().cloned().collect();
    let target_names: BTreeSet<String> = target_tables.keys().cloned().collect();
    if names != target_names {
        return Err(StoreError::Internal(format!(
            "the two schemas differ: only in SQLite {:?}, only in PostgreSQL {:?}",
            names.difference(&target_names).collect::<Vec<_>>(),
            target_names.difference(&names).collect::<Vec<_>>()
        )));
    }
    for (table, columns) in &target_tables {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", quote(table))))
            .fetch_one(&mut *tx)
            .await?;
        if n > 0 {
            return Err(StoreError::Duplicate {
                field: "target",
                value: format!("the target database is not empty: {table} holds {n} rows"),
            });
        }
        let source_cols: BTreeSet<&str> = source_tables[table].iter().map(|c| c.name.as_str()).collect();
        let target_cols: BTreeSet<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        if source_cols != target_cols {
            return Err(StoreError::Internal(format!("the columns of {table} differ between the two databases")));
        }
    }
    let identities: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_all(&mut *tx)
    .await?;
    let order = foreign_key_order(&mut src, &names).await?;
    for table in &order {
        let columns = &target_tables[table];
        let identity = identities.iter().any(|(t, _)| t == table);
        let per_batch = batch_rows(columns.len());
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(per_batch);
        let mut copied = 0i64;
        // rowid order where there is one (insertion order); WITHOUT ROWID
        // tables come in primary-key order.
        let has_rowid: bool = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM sqlite_schema WHERE name = $1 AND sql NOT LIKE '%WITHOUT ROWID%'",
        )
        .bind(table)
        .fetch_one(&mut *src)
        .await?
            > 0;
        let sql = format!("{}{}", select_sql(table, columns), if has_rowid { " ORDER BY rowid" } else { "" });
        let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *src);
        while let Some(row) = rows.try_next().await? {
            let mut values = Vec::with_capacity(columns.len());
            for (i, c) in columns.iter().enumerate() {
                values.push(read_sqlite(&row, i, c.kind)?);
            }
            batch.push(values);
            copied += 1;
            if batch.len() == per_batch {
                insert_batch(&mut tx, table, columns, identity, &mut batch).await?;
            }
        }
        drop(rows);
        insert_batch(&mut tx, table, columns, identity, &mut batch).await?;
        progress(table, copied);
    }
    // New rows continue after the copied ones.
    for (table, column) in &identities {
        if !names.contains(table) {
            continue;
        }
        sqlx::query(AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX({c}) FROM {t}), 0) + 1, false)",
            c = quote(column),
            t = quote(table)
        )))
        .bind(table)
        .bind(column)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    src.commit().await?;

    let from = source.table_digests().await?;
    let to = target.table_digests().await?;
    if from != to {
        let differing: Vec<String> = from
            .iter()
            .zip(&to)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("{}: {} rows {} vs {} rows {}", a.table, a.rows, a.checksum, b.rows, b.checksum))
            .collect();
        return Err(StoreError::Internal(format!(
            "verification failed after the copy (the target now holds the copy; inspect it): {}",
            differing.join("; ")
        )));
    }
    Ok(CopyReport { order, digests: to })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_encode_the_same_on_both_engines() {
        let encode = |v: Value| {
            let mut out = Vec::new();
            v.encode(&mut out);
            out
        };
        // A boolean is the integer SQLite stores; every NULL is one NULL.
        assert_eq!(encode(Value::Bool(Some(true))), encode(Value::Int(Some(1))));
        assert_eq!(encode(Value::Bool(Some(false))), encode(Value::Int(Some(0))));
        assert_eq!(encode(Value::Text(None)), encode(Value::Int(None)));
        assert_eq!(encode(Value::Float(Some(-0.0))), encode(Value::Float(Some(0.0))));
        assert_ne!(encode(Value::Text(Some("1".into()))), encode(Value::Int(Some(1))));
        // Length-prefixed text: ("ab", "c") is not ("a", "bc").
        let row = |a: &str, b: &str| {
            let mut acc = Accumulator::default();
            acc.add(&[Value::Text(Some(a.into())), Value::Text(Some(b.into()))]);
            acc.sum
        };
        assert_ne!(row("ab", "c"), row("a", "bc"));
    }

    #[test]
    fn tables_are_ordered_parents_first() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
            for sql in [
                "CREATE TABLE c (id TEXT PRIMARY KEY, b TEXT REFERENCES b (id), a TEXT REFERENCES a (id))",
                "CREATE TABLE b (id TEXT PRIMARY KEY, a TEXT REFERENCES a (id), up TEXT REFERENCES b (id))",
                "CREATE TABLE a (id TEXT PRIMARY KEY)",
            ] {
                sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await.unwrap();
            }
            let tables = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
            assert_eq!(foreign_key_order(&mut conn, &tables).await.unwrap(), ["a", "b", "c"]);
        });
    }

    #[test]
    fn files_that_are_not_limbpath_databases_or_too_new_are_refused() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let junk = dir.path().join("junk");
            std::fs::write(&junk, b"not a database at all, just text").unwrap();
            let e = inspect_sqlite_file(&junk).await.unwrap_err().to_string();
            assert!(e.contains("not a SQLite database"), "{e}");

            let other = dir.path().join("other.sqlite3");
            let options = SqliteConnectOptions::new().filename(&other).create_if_missing(true);
            let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
            sqlx::query("CREATE TABLE t (x INTEGER)").execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
            let e = inspect_sqlite_file(&other).await.unwrap_err().to_string();
            assert!(e.contains("no migration table"), "{e}");

            // A real store, backed up, then marked as migrated past this binary.
            let live = dir.path().join("live");
            let store = Store::open_data_dir(&live).await.unwrap();
            store.close().await;
            let backup = dir.path().join("backup.sqlite3");
            let report = backup_sqlite(&live.join(crate::SQLITE_FILE_NAME), &backup).await.unwrap();
            assert_eq!(report.migration, latest_migration());
            assert_eq!(report.row_counts.get("patients"), Some(&0));
            assert!(backup_sqlite(&live.join(crate::SQLITE_FILE_NAME), &backup).await.is_err(), "never overwrites");
            let mut conn =
                SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(&backup)).await.unwrap();
            sqlx::query(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                 VALUES (9999, 'future', 1, x'00', 0)",
            )
            .execute(&mut conn)
            .await
            .unwrap();
            conn.close().await.unwrap();
            let e = inspect_sqlite_file(&backup).await.unwrap_err().to_string();
            assert!(e.contains("newer than this limbpath knows"), "{e}");
            let target = dir.path().join("target");
            assert!(restore_sqlite(&backup, &target, false).await.is_err());
            assert!(!target.join(crate::SQLITE_FILE_NAME).exists(), "nothing installed");
        });
    }
}
