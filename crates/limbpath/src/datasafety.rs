//! `limbpath backup`, `limbpath restore` and `limbpath migrate`: keeping a
//! programme's data safe and moving it from SQLite to PostgreSQL. The work is
//! in `limbpath_store::portable`; this module parses, reports and exits.

use crate::config::Settings;
use crate::serve::redact;
use anyhow::{Context, Result, bail};
use limbpath_store::{SQLITE_FILE_NAME, SqliteFileReport, Store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The backup file to write (must not exist yet).
    #[arg(long)]
    pub out: PathBuf,
    /// The database the server uses (flags, environment or `--config` file, as for `serve`); the SQLite
    /// database in its data directory is copied while the server keeps running. A PostgreSQL database is
    /// refused: back it up with pg_dump (README).
    #[command(flatten)]
    pub db: crate::serve::DatabaseArgs,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A backup made by `limbpath backup` (or another LimbPath SQLite database).
    pub file: PathBuf,
    /// Directory to restore the database into.
    #[arg(long, env = "LIMBPATH_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Replace a database already in the data directory (it is moved aside,
    /// not deleted). Refused while a server runs on the directory: stop it first.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The data directory of the SQLite programme to move (stop its server first).
    #[arg(long)]
    pub from_data_dir: PathBuf,
    /// The empty PostgreSQL database to move it into: `postgres://USER@HOST:PORT/DATABASE`.
    #[arg(long)]
    pub to: String,
}

/// Where the settings' database is.
pub enum Location {
    Postgres,
    /// A SQLite database file: the data directory's, or a `sqlite:` URL's.
    SqliteFile(PathBuf),
    SqliteInMemory,
    /// A URL of neither kind (opening it fails, naming it).
    Unknown,
}

pub fn database_location(settings: &Settings) -> Location {
    match settings.database_url.as_deref() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Location::Postgres,
        Some(url) if url.starts_with("sqlite:") => {
            let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
            let path = rest.split('?').next().unwrap_or(rest);
            if path.is_empty() || path.contains(":memory:") {
                Location::SqliteInMemory
            } else {
                Location::SqliteFile(PathBuf::from(path))
            }
        }
        Some(_) => Location::Unknown,
        None => Location::SqliteFile(settings.data_dir.join(SQLITE_FILE_NAME)),
    }
}

/// Where the backup command's SQLite database is.
fn sqlite_source(args: &BackupArgs) -> Result<Option<PathBuf>> {
    let settings = args.db.settings()?;
    let url = settings.database_url.as_deref().unwrap_or_default();
    match database_location(&settings) {
        Location::Postgres => Ok(None),
        Location::SqliteFile(path) => Ok(Some(path)),
        Location::SqliteInMemory => bail!("{url} is an in-memory database; there is nothing on disk to back up"),
        Location::Unknown => bail!("{} is neither a sqlite: nor a postgres: URL", redact(url)),
    }
}

fn print_report(heading: &str, report: &SqliteFileReport) {
    println!("{heading} {}", report.path.display());
    println!(
        "  size {} bytes ({:.1} MiB), schema at migration {}, integrity check ok",
        report.size_bytes,
        report.size_bytes as f64 / (1024.0 * 1024.0),
        report.migration
    );
    let width = report.row_counts.keys().map(String::len).max().unwrap_or(0);
    for (table, rows) in &report.row_counts {
        println!("  {table:<width$} {rows:>10} rows");
    }
}

pub async fn backup(args: BackupArgs) -> Result<ExitCode> {
    let Some(source) = sqlite_source(&args)? else {
        eprintln!(
            "limbpath: `limbpath backup` copies SQLite databases only; back up PostgreSQL with pg_dump \
             (README.md, \"Backup, restore and moving to PostgreSQL\"): \
             pg_dump --format=custom --file=limbpath.dump DATABASE"
        );
        return Ok(ExitCode::from(2));
    };
    if !source.is_file() {
        bail!("there is no SQLite database at {}", source.display());
    }
    let started = std::time::Instant::now();
    let report = limbpath_store::backup_sqlite(&source, &args.out)
        .await
        .with_context(|| format!("backing up {} to {}", source.display(), args.out.display()))?;
    print_report("backup written to", &report);
    println!("  taken in {:.1} s from {}", started.elapsed().as_secs_f64(), source.display());
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(args: RestoreArgs) -> Result<ExitCode> {
    // Held until the restored database has been opened and checked, so no server starts on it before.
    let _lock = match crate::lock::restoring(&args.data_dir.join(SQLITE_FILE_NAME)) {
        Ok(held) => held,
        Err(crate::lock::Busy::InUse { lock }) => {
            eprintln!(
                "limbpath: a LimbPath server is running on {} (it holds the lock {}); stop it (systemctl stop \
                 limbpath, or end `limbpath serve`/`limbpath demo`), then run the restore again. Nothing was changed.",
                args.data_dir.display(),
                lock.display()
            );
            return Ok(ExitCode::from(2));
        }
        Err(crate::lock::Busy::Failed(e)) => return Err(e),
    };
    let restored = match limbpath_store::restore_sqlite(&args.file, &args.data_dir, args.force).await {
        Ok(r) => r,
        Err(limbpath_store::StoreError::Duplicate { value, .. }) => {
            eprintln!(
                "limbpath: {value} already holds a database; restore into another --data-dir, or stop the server and pass --force (the old database is moved aside, not deleted)"
            );
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e).with_context(|| format!("restoring {}", args.file.display())),
    };
    for p in &restored.moved_aside {
        println!("moved the previous database aside: {}", p.display());
    }
    // Open it as the server will: migrations newer than the backup are applied here.
    let store = Store::open_data_dir(&args.data_dir).await.context("opening the restored database")?;
    let problems = store.integrity_check().await.context("checking the restored database")?;
    store.close().await;
    if !problems.is_empty() {
        bail!("the restored database fails its integrity check: {}", problems.join("; "));
    }
    print_report("restored into", &restored.report);
    Ok(ExitCode::SUCCESS)
}

pub async fn migrate(args: MigrateArgs) -> Result<ExitCode> {
    if !(args.to.starts_with("postgres://") || args.to.starts_with("postgresql://")) {
        eprintln!("limbpath: --to must be a postgres:// URL (the empty PostgreSQL database to move into)");
        return Ok(ExitCode::from(2));
    }
    let file = args.from_data_dir.join(SQLITE_FILE_NAME);
    if !file.is_file() {
        bail!("there is no SQLite database at {}", file.display());
    }
    check_source(&file).await?;
    let source = Store::open_data_dir(&args.from_data_dir).await.context("opening the SQLite programme")?;
    let target = Store::connect(&args.to).await.with_context(|| format!("connecting to {}", redact(&args.to)))?;
    let started = std::time::Instant::now();
    eprintln!("limbpath: copying {} into {} (one transaction)", file.display(), redact(&args.to));
    let report = limbpath_store::copy_sqlite_to_postgres(&source, &target, |table, rows| {
        eprintln!("  copied {table}: {rows} rows");
    })
    .await;
    source.close().await;
    target.close().await;
    let report = match report {
        Ok(r) => r,
        Err(limbpath_store::StoreError::Duplicate { value, .. }) => {
            eprintln!("limbpath: refusing to copy: {value}; migrate into a new, empty database");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e).context("moving the programme to PostgreSQL"),
    };
    println!(
        "moved {} tables, {} rows, from {} to {} in {:.1} s; verified: row counts and content checksums equal",
        report.digests.len(),
        report.digests.iter().map(|d| d.rows).sum::<i64>(),
        file.display(),
        redact(&args.to),
        started.elapsed().as_secs_f64()
    );
    let width = report.digests.iter().map(|d| d.table.len()).max().unwrap_or(0);
    for d in &report.digests {
        println!("  {:<width$} {:>10} rows  checksum {}", d.table, d.rows, d.checksum);
    }
    Ok(ExitCode::SUCCESS)
}

/// The source must pass SQLite's checks before anything is copied.
async fn check_source(file: &Path) -> Result<()> {
    limbpath_store::inspect_sqlite_file(file).await.with_context(|| format!("checking {}", file.display()))?;
    Ok(())
}
