//! A fresh store per test, on the engine of the test binary.

use limbpath_store::Store;
use sqlx::{AssertSqlSafe, Connection};

/// Each test binary uses one engine, so the other variant is unused there.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_url() -> String {
    std::env::var("LIMBPATH_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    format!("{root}/{db}{query}")
}

/// A database that exists for one test.
pub struct TestDb {
    pub store: Store,
    /// The URL to reach the same database again (`sqlite://…` or `postgres://…`).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_database: Option<String>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        match crate::ENGINE {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let store = Store::open_data_dir(dir.path()).await.expect("open a fresh SQLite store");
                let url = format!("sqlite://{}", dir.path().join(limbpath_store::SQLITE_FILE_NAME).display());
                TestDb { store, url, _dir: Some(dir), pg_database: None }
            }
            Engine::Postgres => {
                let admin = admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is required for the storage suite and is not reachable at {admin}: {e}. \
                         Start it (CI runs it on 127.0.0.1:5432) or set LIMBPATH_TEST_POSTGRES_URL; \
                         these tests fail rather than skip."
                    )
                });
                let name = format!("limbpath_t_{}", uuid::Uuid::now_v7().simple());
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {admin}: {e}"));
                let _ = conn.close().await;
                let url = with_database(&admin, &name);
                let store = Store::connect(&url).await.unwrap_or_else(|e| panic!("connect to {url}: {e}"));
                TestDb { store, url, _dir: None, pg_database: Some(name) }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_database.take() else { return };
        // Best effort, also when the test panicked: a separate thread with its
        // own runtime, since Drop cannot await.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
                    let _ = sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// Rows in a table, read directly (not through the store's API).
pub async fn count(store: &Store, table: &str) -> i64 {
    let sql = AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
    match store {
        Store::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(&p.write).await,
        Store::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await,
    }
    .unwrap_or_else(|e| panic!("count {table}: {e}"))
}

/// Every record table, for before/after counts.
pub const RECORD_TABLES: &[&str] = &[
    "patients",
    "limbs",
    "episodes",
    "assessments",
    "wounds",
    "wound_measurements",
    "vascular_studies",
    "imaging_studies",
    "procedures",
    "outcome_events",
    "consents",
    "care_team_members",
    "users",
    "sessions",
    "audit",
];

pub async fn counts(store: &Store) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for t in RECORD_TABLES {
        out.push((*t, count(store, t).await));
    }
    out
}

/// Run raw SQL against the store's database, bypassing the store's API (to
/// prove what the database itself refuses).
pub async fn execute_raw(store: &Store, sql: &str) -> Result<u64, sqlx::Error> {
    let sql = AssertSqlSafe(sql.to_owned());
    match store {
        Store::Sqlite(p) => sqlx::query(sql).execute(&p.write).await.map(|r| r.rows_affected()),
        Store::Postgres(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
    }
}
