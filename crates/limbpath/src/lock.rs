//! The advisory lock that keeps `limbpath restore --force` from replacing the SQLite database of a running
//! server.
//!
//! Beside the database file is a lock file, `limbpath.sqlite3.lock` (created on first use, empty, never
//! removed: only the lock on it means anything). `limbpath serve` and `limbpath demo` hold a *shared* lock on it
//! for as long as they run, so several may run together, and `limbpath backup`, `user add` and the other
//! commands that only open the database do not take it. `limbpath restore` takes it *exclusively* without
//! waiting: while any server holds it, restore refuses and changes nothing; a server starting during a restore
//! waits for it to finish. The operating system releases the lock when the process ends, however it ends
//! (SIGKILL and crashes included), so there is no stale lock to clean up. It is an `flock(2)` lock, which
//! holds between processes on one host (and on NFSv4, where Linux maps it to a byte-range lock).

use anyhow::{Context, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The lock file of a SQLite database file: `<database>.lock`.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn open(database: &Path) -> Result<(File, PathBuf)> {
    let path = lock_path(database);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Read-only when it exists (a lock needs no write access, and the file may have been created by another
    // user, say root running a restore); created otherwise.
    let file = match File::open(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            OpenOptions::new().write(true).create(true).truncate(false).open(&path)
        }
        opened => opened,
    }
    .with_context(|| format!("opening the lock file {}", path.display()))?;
    Ok((file, path))
}

/// A lock held until it is dropped (or the process ends).
#[derive(Debug)]
pub struct Held {
    _file: File,
}

/// The shared lock of a server on `database`, taken before the database is opened; waits while a
/// `limbpath restore` holds the lock.
pub async fn serving(database: &Path) -> Result<Held> {
    let (file, path) = open(database)?;
    match file.try_lock_shared() {
        Ok(()) => return Ok(Held { _file: file }),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(e)) => return Err(e).with_context(|| format!("locking {}", path.display())),
    }
    tracing::warn!(
        target: "limbpath::serve",
        lock = %path.display(),
        "waiting: `limbpath restore` is replacing this database; the server starts when it has finished"
    );
    let file = tokio::task::spawn_blocking(move || file.lock_shared().map(|()| file))
        .await
        .context("waiting for the lock")?
        .with_context(|| format!("locking {}", path.display()))?;
    Ok(Held { _file: file })
}

/// Why a restore may not replace `database` now.
#[derive(Debug)]
pub enum Busy {
    /// A `limbpath serve` or `limbpath demo` (or another restore) holds the lock.
    InUse { lock: PathBuf },
    /// The lock file could not be created or locked.
    Failed(anyhow::Error),
}

/// The exclusive lock of a restore into `database`; refuses at once while anyone holds the lock.
pub fn restoring(database: &Path) -> Result<Held, Busy> {
    let (file, path) = open(database).map_err(Busy::Failed)?;
    match file.try_lock() {
        Ok(()) => Ok(Held { _file: file }),
        Err(TryLockError::WouldBlock) => Err(Busy::InUse { lock: path }),
        Err(TryLockError::Error(e)) => {
            Err(Busy::Failed(anyhow::Error::new(e).context(format!("locking {}", path.display()))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_sits_beside_the_database() {
        assert_eq!(lock_path(Path::new("data/limbpath.sqlite3")), PathBuf::from("data/limbpath.sqlite3.lock"));
    }

    #[tokio::test]
    async fn servers_share_the_lock_and_a_restore_waits_for_none_of_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("limbpath.sqlite3");
        let a = serving(&db).await.expect("first server");
        let b = serving(&db).await.expect("a second server shares the lock");
        assert!(matches!(restoring(&db), Err(Busy::InUse { .. })));
        drop(a);
        assert!(matches!(restoring(&db), Err(Busy::InUse { .. })), "one server still runs");
        drop(b);
        let restore = restoring(&db).expect("no server: the restore may go ahead");
        assert!(matches!(restoring(&db), Err(Busy::InUse { .. })), "one restore at a time");
        // a server starting now waits for the restore
        let db2 = db.clone();
        let waiting = tokio::spawn(async move { serving(&db2).await.map(|_| ()) });
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "the server waits while the restore runs");
        drop(restore);
        tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
            .await
            .expect("the server starts once the restore is done")
            .expect("task")
            .expect("lock");
    }
}
