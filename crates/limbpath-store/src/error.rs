//! The store's one error type.

use limbpath_clinical::InvalidInput;
use sqlx::error::DatabaseError;

/// What can go wrong in the store. Every variant maps onto one HTTP status:
/// `NotFound` 404 (or 422 when `field` names a reference in the request),
/// `VersionConflict` 412, `Duplicate` 409, `Invalid` 422, `Unavailable` 503,
/// `StorageFull` 507,
/// `Database` and `Internal` 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No record with that id. When a create or update names a parent (or a
    /// user) that does not exist, `field` is the request field that named it
    /// (`limb_id`, `user_id`, ...) and `entity` the kind of record it names.
    #[error("no {entity} with id {id:?}{}", .field.map(|f| format!(" (from field {f})")).unwrap_or_default())]
    NotFound { entity: &'static str, id: String, field: Option<&'static str> },
    /// The update was based on `expected_version` but the record is at
    /// `current`: nothing was changed.
    #[error("{entity} {id} was changed by someone else: it is now at version {current}")]
    VersionConflict { entity: &'static str, id: String, current: i64 },
    /// A unique value is taken (a site's MRN, a username, a record id).
    #[error("{field} {value:?} is already taken")]
    Duplicate { field: &'static str, value: String },
    /// The input failed validation; nothing was stored.
    #[error("invalid input: {0}")]
    Invalid(#[from] InvalidInput),
    /// The database cannot be reached, is too busy, or rolled the transaction
    /// back to resolve a conflict (deadlock): nothing was changed; retry later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The disk holding the database is full (SQLite `SQLITE_FULL`, PostgreSQL
    /// `disk_full`): nothing was changed; free space, then retry.
    #[error("the database's storage is full: {0}")]
    StorageFull(String),
    /// Anything else the database reported, including stored values the store
    /// cannot read back (a sign of corruption or a schema mismatch).
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// A failure inside the store that is not the database's (the OS random
    /// number generator, a password-hashing task).
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_storage_full(&e) {
            StoreError::StorageFull(e.to_string())
        } else if is_unavailable(&e) {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Database(e)
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::Execute(inner) => inner.into(),
            other => StoreError::Database(sqlx::Error::Migrate(Box::new(other))),
        }
    }
}

/// The disk is full: SQLite's SQLITE_FULL (13, also reported for ENOSPC while
/// writing the WAL), PostgreSQL's 53100 `disk_full`, or an I/O error ENOSPC.
fn is_storage_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(io) => io.raw_os_error() == Some(28),
        sqlx::Error::Database(db) => {
            if let Some(code) = sqlite_code(db.as_ref()) {
                code & 0xff == 13
            } else {
                db.code().is_some_and(|c| c == "53100")
            }
        }
        _ => false,
    }
}

/// Connection loss, pool exhaustion, a server shutting down, or SQLite still
/// busy after `busy_timeout`: conditions a retry may cure (HTTP 503).
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(code) = sqlite_code(db.as_ref()) {
                // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
                matches!(code & 0xff, 5 | 6)
            } else {
                // PostgreSQL: class 08 (connection exception), 40 (transaction
                // rolled back: deadlock, serialization failure; safe to retry),
                // 53 (insufficient resources), 57P01-57P03 (shutdown, cannot
                // connect now).
                db.code().is_some_and(|c| {
                    c.starts_with("08") || c.starts_with("40") || c.starts_with("53") || c.starts_with("57P")
                })
            }
        }
        _ => false,
    }
}

/// The extended result code of a SQLite error, from sqlx's driver or from a
/// statement run directly (`crate::direct`); `None` for PostgreSQL.
fn sqlite_code(db: &dyn DatabaseError) -> Option<i32> {
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        || db.try_downcast_ref::<crate::direct::DirectSqliteError>().is_some()
    {
        Some(db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0))
    } else {
        None
    }
}

/// A database error's kind, if it is a constraint violation.
pub(crate) fn db_kind(e: &sqlx::Error) -> Option<sqlx::error::ErrorKind> {
    match e {
        sqlx::Error::Database(db) => Some(db.kind()),
        _ => None,
    }
}

/// The text of a database error (constraint name on PostgreSQL, message on SQLite),
/// to tell which unique constraint was violated.
pub(crate) fn db_text(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => format!("{} {}", db.constraint().unwrap_or(""), db.message()),
        _ => String::new(),
    }
}

/// A stored value the store cannot read back.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(format!("unreadable stored value: {what}").into()))
}
