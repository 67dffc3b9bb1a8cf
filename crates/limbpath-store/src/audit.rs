//! The audit trail: who did what to which patient's record, when, from where,
//! and how it ended. Append-only: this module has no update or delete, and the
//! database refuses both (triggers in the migrations).

use crate::error::{Result, StoreError};
use crate::records::{bad_cursor, check_limit, cut_page};
use crate::sql::{Begin, RowExt, Val, bind_all, values_list, with_pool, with_writer};
use crate::{Page, Store};
use limbpath_clinical::InvalidInput;
use limbpath_record::Role;
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Ok,
    /// Refused by authorisation (or a failed login).
    Denied,
    NotFound,
    Invalid,
    /// A stale update (version conflict) or a duplicate.
    Conflict,
    Error,
}

impl AuditOutcome {
    pub const ALL: &'static [AuditOutcome] = &[
        AuditOutcome::Ok,
        AuditOutcome::Denied,
        AuditOutcome::NotFound,
        AuditOutcome::Invalid,
        AuditOutcome::Conflict,
        AuditOutcome::Error,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AuditOutcome::Ok => "ok",
            AuditOutcome::Denied => "denied",
            AuditOutcome::NotFound => "not_found",
            AuditOutcome::Invalid => "invalid",
            AuditOutcome::Conflict => "conflict",
            AuditOutcome::Error => "error",
        }
    }

    pub fn from_code(code: &str) -> Option<AuditOutcome> {
        AuditOutcome::ALL.iter().copied().find(|o| o.code() == code)
    }
}

/// One audited event. The server fills it in for every read and write of
/// patient data, every denied attempt, and logins and logouts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, in ms since the Unix epoch (UTC).
    pub at_ms: i64,
    /// Who: the user's id, username and role (absent for anonymous attempts).
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub role: Option<Role>,
    /// What: `read`, `create`, `update`, `list`, `search`, `export`, `login`,
    /// `logout`, … (lower-case letters, digits, `_` and `.`; at most 64).
    pub action: String,
    /// Which record: its entity name (`patient`, `wound_measurement`) and id.
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// Which patient's record, when it is one.
    pub patient_id: Option<String>,
    /// From where: the client address.
    pub remote_addr: Option<String>,
    pub outcome: AuditOutcome,
    /// Anything else worth keeping (the search filters, the error's field).
    #[serde(default)]
    pub detail: String,
}

/// An entry as stored, with its position in the trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAuditEntry {
    /// Increases with every append.
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

const COLUMNS: &str =
    "at_ms, user_id, username, role, action, entity, entity_id, patient_id, remote_addr, outcome, detail";
const WIDTH: usize = 11;

/// Free text is never a reason to lose an audit entry: control characters are
/// escaped and long text is cut (with a mark) instead of refusing the entry.
fn clean(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn clean_opt(text: &Option<String>, max: usize) -> Option<String> {
    text.as_deref().map(|t| clean(t, max))
}

/// Validate what the server controls.
pub(crate) fn check_entry(e: &AuditEntry) -> Result<(), InvalidInput> {
    let action_ok = !e.action.is_empty()
        && e.action.len() <= 64
        && e.action.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if !action_ok {
        return Err(InvalidInput::unrecognised("action", &e.action, "1-64 of a-z, 0-9, '_' and '.'"));
    }
    if e.at_ms < 0 {
        return Err(InvalidInput::out_of_range("at_ms", e.at_ms, "ms since the Unix epoch"));
    }
    Ok(())
}

/// The values of [`APPEND_ONE`] for an entry [`check_entry`] accepts, with
/// what may come from outside cleaned.
pub(crate) fn entry_values(e: &AuditEntry) -> Vec<Val> {
    vec![
        Val::Int(e.at_ms),
        Val::OptText(clean_opt(&e.user_id, 64)),
        Val::OptText(clean_opt(&e.username, 128)),
        Val::opt_code(e.role.map(Role::code)),
        Val::text(&e.action),
        Val::OptText(clean_opt(&e.entity, 64)),
        Val::OptText(clean_opt(&e.entity_id, 128)),
        Val::OptText(clean_opt(&e.patient_id, 64)),
        Val::OptText(clean_opt(&e.remote_addr, 128)),
        Val::text(e.outcome.code()),
        Val::Text(clean(&e.detail, 4000)),
    ]
}

fn decode(r: &impl RowExt) -> Result<StoredAuditEntry> {
    Ok(StoredAuditEntry {
        id: r.int("id")?,
        entry: AuditEntry {
            at_ms: r.int("at_ms")?,
            user_id: r.opt_text("user_id")?,
            username: r.opt_text("username")?,
            role: r.opt_code("role", Role::from_code)?,
            action: r.text("action")?,
            entity: r.opt_text("entity")?,
            entity_id: r.opt_text("entity_id")?,
            patient_id: r.opt_text("patient_id")?,
            remote_addr: r.opt_text("remote_addr")?,
            outcome: r.code("outcome", AuditOutcome::from_code)?,
            detail: r.text("detail")?,
        },
    })
}

impl Store {
    /// Append one entry; returns its id.
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<i64> {
        check_entry(entry)?;
        let vals = entry_values(entry);
        let id = with_writer!(self, p => {
            bind_all!(sqlx::query(APPEND_ONE), vals).fetch_one(p).await?.int("id")?
        });
        Ok(id)
    }

    /// Append many entries in one transaction (all or none), for servers that
    /// buffer the trail of many requests into one write.
    pub async fn append_audit_batch(&self, entries: &[AuditEntry]) -> Result<()> {
        let mut vals = Vec::with_capacity(entries.len() * WIDTH);
        for e in entries {
            check_entry(e)?;
            vals.extend(entry_values(e));
        }
        self.append_audit_values(vals).await
    }

    /// Entries already turned into bind values ([`WIDTH`] per entry), in one
    /// transaction.
    pub(crate) async fn append_audit_values(&self, vals: Vec<Val>) -> Result<()> {
        const ROWS: usize = 500;
        if self.writes_directly() {
            // One prepared single-row INSERT run per entry, on the direct writer.
            let one = format!("INSERT INTO audit ({COLUMNS}) VALUES {}", values_list(1, WIDTH, false));
            return self
                .write_direct(move |tx| {
                    for entry in vals.chunks(WIDTH) {
                        tx.execute(&one, entry)?;
                    }
                    Ok(())
                })
                .await
                .map_err(StoreError::from);
        }
        let numbered = self.numbered_placeholders();
        with_writer!(self, p => {
            let mut tx = p.begin_write().await?;
            for chunk in vals.chunks(ROWS * WIDTH) {
                let sql = format!("INSERT INTO audit ({COLUMNS}) VALUES {}", values_list(chunk.len() / WIDTH, WIDTH, numbered));
                bind_all!(sqlx::query(AssertSqlSafe(sql)), chunk.iter().cloned()).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The trail of one patient's record, newest first.
    pub async fn audit_for_patient(
        &self,
        patient_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<StoredAuditEntry>> {
        self.audit_page(Some(patient_id), cursor, limit).await
    }

    /// The whole trail, newest first (for administrators).
    pub async fn list_audit(&self, cursor: Option<&str>, limit: u32) -> Result<Page<StoredAuditEntry>> {
        self.audit_page(None, cursor, limit).await
    }

    async fn audit_page(
        &self,
        patient_id: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<StoredAuditEntry>> {
        let fetch = check_limit(limit)?;
        let after = match cursor {
            None => None,
            Some(c) => Some((c.parse::<i64>().map_err(|_| bad_cursor(c))?, c)),
        };
        let rows = with_pool!(self, p => {
            let rows = match (patient_id, after) {
                (Some(pid), None) => {
                    sqlx::query(
                        "SELECT id, at_ms, user_id, username, role, action, entity, entity_id, patient_id, remote_addr, \
                         outcome, detail FROM audit WHERE patient_id = $1 ORDER BY at_ms DESC, id DESC LIMIT $2",
                    )
                    .bind(pid)
                    .bind(fetch)
                    .fetch_all(p)
                    .await?
                }
                (Some(pid), Some((id, c))) => {
                    let Some(at) = sqlx::query("SELECT at_ms FROM audit WHERE id = $1 AND patient_id = $2")
                        .bind(id)
                        .bind(pid)
                        .fetch_optional(p)
                        .await?
                    else {
                        return Err(bad_cursor(c));
                    };
                    sqlx::query(
                        "SELECT id, at_ms, user_id, username, role, action, entity, entity_id, patient_id, remote_addr, \
                         outcome, detail FROM audit WHERE patient_id = $1 AND (at_ms, id) < ($3, $4) \
                         ORDER BY at_ms DESC, id DESC LIMIT $2",
                    )
                    .bind(pid)
                    .bind(fetch)
                    .bind(at.int("at_ms")?)
                    .bind(id)
                    .fetch_all(p)
                    .await?
                }
                (None, None) => {
                    sqlx::query(
                        "SELECT id, at_ms, user_id, username, role, action, entity, entity_id, patient_id, remote_addr, \
                         outcome, detail FROM audit ORDER BY id DESC LIMIT $1",
                    )
                    .bind(fetch)
                    .fetch_all(p)
                    .await?
                }
                (None, Some((id, _))) => {
                    sqlx::query(
                        "SELECT id, at_ms, user_id, username, role, action, entity, entity_id, patient_id, remote_addr, \
                         outcome, detail FROM audit WHERE id < $2 ORDER BY id DESC LIMIT $1",
                    )
                    .bind(fetch)
                    .bind(id)
                    .fetch_all(p)
                    .await?
                }
            };
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(decode(&row)?);
            }
            out
        });
        Ok(cut_page(rows, limit, |r| r.id.to_string()))
    }

    /// How many entries the trail holds.
    pub async fn count_audit(&self) -> Result<i64> {
        let n = with_pool!(self, p => {
            sqlx::query("SELECT COUNT(*) AS n FROM audit").fetch_one(p).await?.int("n")?
        });
        Ok(n)
    }
}

/// The most entries [`AuditTrail`] writes in one transaction.
const MAX_GROUP: usize = 256;
/// Entries that may wait for the writer before appenders wait to enqueue.
const QUEUE: usize = 4096;

/// The audit trail as a server writes it: entries from concurrent requests are
/// appended in groups, one transaction per group (group commit), and each
/// [`AuditTrail::append`] returns only once its entry's group is committed, so
/// a request is never answered before its audit entry is stored. Under load
/// the writer takes everything queued while the previous group was being
/// written; when idle, a group is one entry and nothing waits. A failed group
/// fails every append in it, and none of its entries is stored.
///
/// The group writer is a task on the Tokio runtime that [`AuditTrail::start`]
/// is called on; it ends when the last clone of the `AuditTrail` is dropped.
/// It holds nothing across processes: several servers may share a database.
#[derive(Debug, Clone)]
pub struct AuditTrail {
    queue: tokio::sync::mpsc::Sender<PendingEntry>,
}

#[derive(Debug)]
struct PendingEntry {
    vals: Vec<Val>,
    stored: tokio::sync::oneshot::Sender<std::result::Result<(), GroupFailure>>,
}

impl AuditTrail {
    /// Start the group writer on the current Tokio runtime.
    pub fn start(store: Store) -> AuditTrail {
        let (queue, mut pending) = tokio::sync::mpsc::channel::<PendingEntry>(QUEUE);
        tokio::spawn(async move {
            let mut group = Vec::with_capacity(MAX_GROUP);
            while pending.recv_many(&mut group, MAX_GROUP).await > 0 {
                let vals = group.iter().flat_map(|p| p.vals.iter().cloned()).collect();
                let outcome = store.append_audit_values(vals).await.map_err(|e| GroupFailure {
                    storage_full: matches!(e, StoreError::StorageFull(_)),
                    message: e.to_string(),
                });
                for entry in group.drain(..) {
                    // an appender that went away (request cancelled) needs no answer
                    let _ = entry.stored.send(outcome.clone());
                }
            }
        });
        AuditTrail { queue }
    }

    /// Entries queued for the group writer and not yet taken into a group
    /// (for monitoring: a growing backlog means the database is slow to commit).
    pub fn backlog(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Append one entry and wait until it is committed. An entry the store
    /// would refuse is refused here, alone; a database failure is
    /// [`StoreError::Unavailable`] for every entry of the group
    /// ([`StoreError::StorageFull`] when the disk is full).
    pub async fn append(&self, entry: &AuditEntry) -> Result<()> {
        check_entry(entry)?;
        let vals = entry_values(entry);
        let (stored, committed) = tokio::sync::oneshot::channel();
        let stopped = || StoreError::Unavailable("the audit trail writer has stopped".to_owned());
        self.queue.send(PendingEntry { vals, stored }).await.map_err(|_| stopped())?;
        committed.await.map_err(|_| stopped())?.map_err(|e| {
            if e.storage_full {
                StoreError::StorageFull(format!("audit trail: {}", e.message))
            } else {
                StoreError::Unavailable(format!("audit trail: {}", e.message))
            }
        })
    }
}

/// Why a group of audit entries was not stored (sent to each of its appenders).
#[derive(Debug, Clone)]
struct GroupFailure {
    storage_full: bool,
    message: String,
}

/// The single-row insert of an entry ([`entry_values`]).
macro_rules! insert_entry {
    () => {
        "INSERT INTO audit (at_ms, user_id, username, role, action, entity, entity_id, patient_id, remote_addr, \
         outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    };
}
/// An entry stored in a transaction that writes what it audits.
pub(crate) const INSERT_ENTRY: &str = insert_entry!();
const APPEND_ONE: &str = concat!(insert_entry!(), " RETURNING id");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_is_cleaned_not_refused() {
        assert_eq!(clean("a\u{0}b\nc", 100), "a\\u{0}b\nc");
        assert_eq!(clean("abcdef", 3), "abc…");
        assert!(values_list(2, WIDTH, true).ends_with("$22)"));
        for o in AuditOutcome::ALL {
            assert_eq!(AuditOutcome::from_code(o.code()), Some(*o));
        }
    }
}
