//! WAL checkpoints beside the direct writer instead of inside it.
//!
//! In WAL mode every commit appends the pages it changed to the WAL, and a
//! checkpoint copies them back into the database file (syncing the WAL before
//! and the database after) so that the WAL can start over. SQLite's own
//! automatic checkpoint runs in the committing connection, after its commit:
//! on the direct writer (`direct.rs`) that stopped every write for the copy
//! and both syncs, about a quarter of the writer's time under a load of
//! assessments (BENCHMARKS.md, "WAL checkpoints beside the writer").
//!
//! Here the writer's connection has no automatic checkpoint. After each
//! commit the writer looks at how many frames the WAL holds:
//! - past [`START_FRAMES`] it wakes the checkpointer, a thread with a
//!   connection of its own, which copies the WAL as it is then (a `PASSIVE`
//!   checkpoint: it waits for no one) while the writer goes on committing;
//! - after each of its copies the checkpointer syncs the database file and
//!   the WAL itself (see below);
//! - once the checkpointer is done, what was committed in the meantime is
//!   copied: by the checkpointer again while it is more than
//!   [`FINISH_FRAMES`], then by the writer itself, between two of its
//!   transactions (a few frames, and syncs of a few pages). The WAL is then
//!   wholly copied, so the writer's next transaction starts it over from the
//!   beginning, as SQLite's automatic checkpoint would have. Left to the
//!   checkpointer alone, the WAL would never be wholly copied while writes
//!   keep coming, and would grow without end.
//!
//! Why the checkpointer syncs: SQLite syncs the database file only at the end
//! of a checkpoint that reached the WAL's last frame. Under a steady stream of
//! writes the checkpointer's copies never do (more was committed while they
//! copied), so every page they wrote was left for the writer's final copy to
//! sync: one sync of thousands of pages scattered over the file, 10 to 50 ms
//! with every write waiting (BENCHMARKS.md, "Syncs off the writer"). Synced
//! by the checkpointer after each copy, the writer's final sync holds only
//! the few pages the writer copied itself. The sync goes through SQLite's own
//! handle of each file (`xSync`), never through a file descriptor of ours:
//! closing any descriptor of the database file would drop the POSIX locks
//! SQLite holds on it for the whole process.
//!
//! Readers are as with SQLite's own checkpoints: a `PASSIVE` checkpoint copies
//! no page a reader's snapshot still needs, and the WAL starts over only when
//! no reader is using it. A long reader (an export, the analysis table read at
//! start-up) therefore lets the WAL grow while it reads (a bench run's WAL
//! reached 42 MB during the analysis read); the backlog is then copied by the
//! checkpointer, not by the writer. (A first version had the writer copy the
//! WAL itself past 16,000 frames, as SQLite's own checkpoint would: that put
//! the copy of such a backlog, up to 64 MB, back on the writer while every
//! write waited.) Past [`WARN_FRAMES`] the WAL's size is logged instead.
//!
//! Durability is unchanged: a commit is acknowledged once it is in the WAL,
//! and the WAL is synced before any page of it is copied into the database
//! (`synchronous` as the writer has it).

use crate::error::Result;
use rusqlite::{Connection, OpenFlags, ffi};
use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// WAL frames (pages) after a commit past which the checkpointer starts a
/// copy (16 MiB). SQLite's own automatic checkpoint starts at 1,000; larger
/// copies are fewer, so are the writer's final copies, and a page changed
/// several times in between is copied once (BENCHMARKS.md, "Syncs off the
/// writer").
pub(crate) const START_FRAMES: i32 = 4096;
/// WAL frames left to copy after the checkpointer's copy that the writer
/// copies itself; more, and the checkpointer copies again.
pub(crate) const FINISH_FRAMES: i32 = 256;
/// WAL frames past which a warning says the WAL is not being copied (256
/// MiB): a reader has held one snapshot for long, or the disk is slower than
/// the writes. (Under a bench's steady load the WAL reached 33,000 frames
/// before a final copy by the writer started it over.)
const WARN_FRAMES: i32 = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No copy under way.
    Idle,
    /// The checkpointer is copying.
    Copying,
    /// The checkpointer has copied the WAL's first frames, this many.
    Copied(i32),
    /// The store is closing: the checkpointer stops.
    Stopping,
}

#[derive(Debug)]
struct Shared {
    phase: Mutex<Phase>,
    wake: Condvar,
}

impl Shared {
    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The checkpointer of one SQLite file, and what the writer asks of it.
#[derive(Debug)]
pub(crate) struct Checkpoints {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// Whether the WAL's size was logged since it last started over.
    warned: AtomicBool,
}

thread_local! {
    /// The WAL's frames after the last commit on this thread (set by
    /// [`on_commit`], read right after the commit by [`Checkpoints::after_commit`]).
    static WAL_FRAMES: Cell<i32> = const { Cell::new(0) };
}

/// SQLite's WAL hook: runs inside every commit of the writer's connection, on
/// the committing thread. Setting it turns that connection's automatic
/// checkpoint off.
fn on_commit(_wal: &rusqlite::hooks::Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.with(|f| f.set(frames));
    Ok(())
}

/// A `PASSIVE` checkpoint on `conn`: how many of the WAL's frames are now
/// copied. A failure is logged (the WAL keeps the pages, and the next
/// checkpoint copies them) and counts as none copied.
fn copy(conn: &Connection, who: &str) -> i32 {
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get::<_, i32>(2)) {
        Ok(copied) => copied.max(0),
        Err(e) => {
            tracing::warn!(error = %e, "WAL checkpoint by the {who} failed; the next one retries");
            0
        }
    }
}

/// One of a connection's files, for [`sync`].
#[derive(Debug, Clone, Copy)]
enum File {
    Database,
    Wal,
}

/// Sync `file` of `conn` through SQLite's own handle of it (`xSync`, as its
/// checkpoints do). A WAL the connection has not opened has nothing to sync.
fn sync(conn: &Connection, file: File) -> rusqlite::Result<()> {
    let op = match file {
        File::Database => ffi::SQLITE_FCNTL_FILE_POINTER,
        File::Wal => ffi::SQLITE_FCNTL_JOURNAL_POINTER,
    };
    let mut handle: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: `conn` is an open connection, used by one thread at a time (it
    // is borrowed); this file control writes one `sqlite3_file` pointer into
    // `handle`, owned by the connection.
    let rc = unsafe { ffi::sqlite3_file_control(conn.handle(), c"main".as_ptr(), op, (&raw mut handle).cast()) };
    if rc != ffi::SQLITE_OK {
        return Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None));
    }
    // SAFETY: a non-null handle is the connection's file object, alive while
    // the connection is; its methods are null when the file is not open.
    let x_sync = unsafe { handle.as_ref().and_then(|f| f.pMethods.as_ref()).and_then(|m| m.xSync) };
    let Some(x_sync) = x_sync else { return Ok(()) };
    // SAFETY: the file is open (it has methods) and belongs to `conn`, which
    // this thread holds for the call.
    let rc = unsafe { x_sync(handle, ffi::SQLITE_SYNC_NORMAL) };
    if rc != ffi::SQLITE_OK {
        return Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None));
    }
    Ok(())
}

/// After the checkpointer's copy: sync what it wrote to the database file,
/// and the frames committed to the WAL since (see the module's
/// documentation). A failure is logged: SQLite's next checkpoint syncs both.
fn sync_after_copy(conn: &Connection) {
    for file in [File::Database, File::Wal] {
        if let Err(e) = sync(conn, file) {
            tracing::warn!(error = %e, ?file, "sync by the WAL checkpointer failed; the next checkpoint syncs");
        }
    }
}

impl Checkpoints {
    /// Take checkpoints of `path` off `writer`: set its WAL hook and start the
    /// checkpointer thread, with a connection of its own.
    pub(crate) fn start(path: &Path, writer: &Connection, synchronous: &str) -> Result<Checkpoints> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.pragma_update(None, "synchronous", synchronous)?;
        let shared = Arc::new(Shared { phase: Mutex::new(Phase::Idle), wake: Condvar::new() });
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let mut phase = theirs.phase();
                loop {
                    match *phase {
                        Phase::Stopping => return,
                        Phase::Copying => {
                            drop(phase);
                            let copied = copy(&conn, "checkpointer");
                            sync_after_copy(&conn);
                            phase = theirs.phase();
                            if *phase == Phase::Copying {
                                *phase = Phase::Copied(copied);
                                theirs.wake.notify_all();
                            }
                        }
                        Phase::Idle | Phase::Copied(_) => {
                            phase = theirs.wake.wait(phase).unwrap_or_else(|poisoned| poisoned.into_inner());
                        }
                    }
                }
            })
            .map_err(|e| crate::error::StoreError::Internal(format!("cannot start the WAL checkpointer: {e}")))?;
        writer.wal_hook(Some(on_commit));
        Ok(Checkpoints { shared, thread: Some(thread), warned: AtomicBool::new(false) })
    }

    /// Call on the writer's thread right after each commit of `writer`,
    /// outside any transaction (see the module's documentation).
    pub(crate) fn after_commit(&self, writer: &Connection) {
        let frames = WAL_FRAMES.with(Cell::take);
        if frames >= WARN_FRAMES && !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(frames, "the WAL is not being copied into the database: a long read, or a slow disk");
        } else if frames < START_FRAMES {
            self.warned.store(false, Ordering::Relaxed);
        }
        let mut phase = self.shared.phase();
        match *phase {
            Phase::Idle if frames >= START_FRAMES => {
                *phase = Phase::Copying;
                self.shared.wake.notify_all();
            }
            // What was committed while the checkpointer copied: few frames
            // are copied here; more, and the checkpointer copies again.
            Phase::Copied(copied) if frames - copied <= FINISH_FRAMES => {
                copy(writer, "writer");
                *phase = Phase::Idle;
            }
            Phase::Copied(_) => {
                *phase = Phase::Copying;
                self.shared.wake.notify_all();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
impl Checkpoints {
    /// Wait until the checkpointer is not copying.
    pub(crate) fn settle(&self) {
        let mut phase = self.shared.phase();
        while *phase == Phase::Copying {
            phase = self.shared.wake.wait(phase).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        *self.shared.phase() = Phase::Stopping;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_file_and_the_wal_are_synced_through_sqlites_handles() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("s.sqlite3")).unwrap();
        // No WAL opened yet: nothing to sync, and no error.
        sync(&conn, File::Wal).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
        sync(&conn, File::Database).unwrap();
        sync(&conn, File::Wal).unwrap();
        // The files are SQLite's own, still open: the connection goes on.
        conn.execute("INSERT INTO t VALUES (2)", []).unwrap();
        let n: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 2);
    }
}
