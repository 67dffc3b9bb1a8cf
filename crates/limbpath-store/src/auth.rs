//! Users (Argon2id password hashes), login with a database-held lockout,
//! cookie sessions and API tokens (only their SHA-256 is stored).

use crate::entity::name_key;
use crate::error::{Result, StoreError, db_kind};
use crate::records::{check_limit, cut_page};
use crate::sql::{RowExt, Val, lookup, new_id, now_ms, with_pool, with_writer};
use crate::{Page, Store};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use limbpath_clinical::InvalidInput;
use limbpath_record::{Role, Stored, UserData, Validate, check_id, check_password, check_text};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use std::time::Duration;

/// Failed logins within [`LOCKOUT_WINDOW_MS`] that lock a username.
pub const LOCKOUT_FAILURES: usize = 5;
/// The window in which [`LOCKOUT_FAILURES`] failures lock a username: 15 minutes.
pub const LOCKOUT_WINDOW_MS: i64 = 15 * 60 * 1000;
/// How long a username stays locked after the failure that locked it: 15 minutes.
pub const LOCKOUT_DURATION_MS: i64 = 15 * 60 * 1000;
/// The longest a session or API token may live: 400 days.
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(400 * 24 * 3600);

/// How stale a browser session's `last_seen_at_ms` may grow before a request
/// moves it forward: 1 minute (a tenth of the idle limit when that is shorter).
pub const SESSION_TOUCH_INTERVAL_MS: i64 = 60 * 1000;

/// Failed-login rows older than this are removed when the username fails again.
const FAILURE_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// The result of a login attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginOutcome {
    Success(Stored<UserData>),
    /// Unknown username or wrong password (deliberately not told apart).
    BadCredentials,
    /// Too many failures: refused without checking the password until `until_ms`.
    Locked {
        until_ms: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A browser session (cookie).
    Session,
    /// A named bearer token for scripts and integrations.
    ApiToken,
}

impl TokenKind {
    fn code(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::ApiToken => "api_token",
        }
    }
}

/// A new secret token: shown once to its owner, stored only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// 64 hex digits (32 random bytes).
    pub token: String,
    pub kind: TokenKind,
    pub expires_at_ms: i64,
}

const USER_COLUMNS: &str = "id, version, created_at_ms, updated_at_ms, username, display_name, role, patient_id";

fn decode_user(r: &impl RowExt) -> Result<Stored<UserData>> {
    Ok(Stored {
        id: r.text("id")?,
        version: r.int("version")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
        data: UserData {
            username: r.text("username")?,
            display_name: r.text("display_name")?,
            role: r.code("role", Role::from_code)?,
            patient_id: r.opt_text("patient_id")?,
        },
    })
}

/// Hash a password with Argon2id on the blocking pool.
async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| StoreError::Internal(format!("password hashing stopped: {e}")))?
    .map_err(|e| StoreError::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the PHC string `hash` (false for an unreadable hash).
async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .map_err(|e| StoreError::Internal(format!("password verification stopped: {e}")))
}

/// A hash of a random password, verified against for unknown usernames so
/// that they cost the same time as known ones.
async fn dummy_hash() -> Result<String> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    let h = hash_password(random_hex()?).await?;
    Ok(DUMMY.get_or_init(|| h).clone())
}

/// 32 random bytes from the OS, as 64 hex digits.
pub(crate) fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Internal(format!("no randomness from the OS: {e}")))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

/// What the database keeps of a token.
pub(crate) fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub(crate) fn is_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

fn ttl_ms(ttl: Duration) -> Result<i64> {
    if ttl.is_zero() || ttl > MAX_TOKEN_TTL {
        return Err(InvalidInput::out_of_range("ttl", format!("{} s", ttl.as_secs()), "1 ms to 400 days").into());
    }
    Ok(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

/// How stale `last_seen_at_ms` may grow before it is written again. Without
/// an idle limit it is still kept (at the full interval), so that turning the
/// limit on later does not end every session at once.
fn touch_interval_ms(idle_ms: Option<i64>) -> i64 {
    idle_ms.map_or(SESSION_TOUCH_INTERVAL_MS, |ms| (ms / 10).clamp(1, SESSION_TOUCH_INTERVAL_MS))
}

/// When a username with these failure times (newest first) is locked until.
fn locked_until(failures_newest_first: &[i64], now: i64) -> Option<i64> {
    let newest = *failures_newest_first.first()?;
    let oldest = *failures_newest_first.get(LOCKOUT_FAILURES - 1)?;
    let until = newest + LOCKOUT_DURATION_MS;
    (newest - oldest <= LOCKOUT_WINDOW_MS && now < until).then_some(until)
}

impl Store {
    /// Create a user with a password (checked against the policy, hashed with
    /// Argon2id). A patient account's `patient_id` must name a patient.
    pub async fn create_user(&self, data: UserData, password: &str) -> Result<Stored<UserData>> {
        data.validate()?;
        check_password(&data.username, password)?;
        let hash = hash_password(password.to_owned()).await?;
        let id = new_id();
        let now = now_ms();
        let result = with_writer!(self, p => {
            sqlx::query(
                "INSERT INTO users (id, version, created_at_ms, updated_at_ms, username, username_key, display_name, \
                 role, patient_id, password_hash) VALUES ($1, 1, $2, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&id)
            .bind(now)
            .bind(&data.username)
            .bind(name_key(&data.username))
            .bind(&data.display_name)
            .bind(data.role.code())
            .bind(&data.patient_id)
            .bind(&hash)
            .execute(p)
            .await
            .map(|_| ())
        });
        result.map_err(|e| user_constraint(e, &data))?;
        Ok(Stored { id, version: 1, created_at_ms: now, updated_at_ms: now, data })
    }

    pub async fn get_user(&self, id: &str) -> Result<Stored<UserData>> {
        let not_found = || StoreError::NotFound { entity: "user", id: id.to_owned(), field: None };
        if check_id("id", id).is_err() {
            return Err(not_found());
        }
        let user = with_pool!(self, p => {
            match sqlx::query(user_by_id_sql()).bind(id).fetch_optional(p).await? {
                Some(row) => Some(decode_user(&row)?),
                None => None,
            }
        });
        user.ok_or_else(not_found)
    }

    /// Change a user's name, display name, role or patient (not the password).
    pub async fn update_user(&self, id: &str, expected_version: i64, data: UserData) -> Result<Stored<UserData>> {
        data.validate()?;
        let current = self.get_user(id).await?;
        let now = now_ms();
        let result = with_writer!(self, p => {
            sqlx::query(
                "UPDATE users SET username = $3, username_key = $4, display_name = $5, role = $6, patient_id = $7, \
                 version = version + 1, updated_at_ms = $8 WHERE id = $1 AND version = $2",
            )
            .bind(id)
            .bind(expected_version)
            .bind(&data.username)
            .bind(name_key(&data.username))
            .bind(&data.display_name)
            .bind(data.role.code())
            .bind(&data.patient_id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        });
        match result.map_err(|e| user_constraint(e, &data))? {
            0 => Err(self.user_conflict(id).await),
            _ => Ok(Stored {
                id: id.to_owned(),
                version: expected_version + 1,
                created_at_ms: current.created_at_ms,
                updated_at_ms: now,
                data,
            }),
        }
    }

    async fn user_conflict(&self, id: &str) -> StoreError {
        match self.get_user(id).await {
            Ok(u) => StoreError::VersionConflict { entity: "user", id: id.to_owned(), current: u.version },
            Err(e) => e,
        }
    }

    /// Set a new password (policy-checked), bump the version and end every
    /// session and API token of the user.
    pub async fn set_password(&self, id: &str, expected_version: i64, password: &str) -> Result<Stored<UserData>> {
        let user = self.get_user(id).await?;
        check_password(&user.data.username, password)?;
        let hash = hash_password(password.to_owned()).await?;
        let now = now_ms();
        let changed: u64 = with_writer!(self, p => {
            let mut tx = crate::sql::Begin::begin_write(p).await?;
            let n = sqlx::query(
                "UPDATE users SET password_hash = $3, version = version + 1, updated_at_ms = $4 \
                 WHERE id = $1 AND version = $2",
            )
            .bind(id)
            .bind(expected_version)
            .bind(&hash)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            n
        });
        if changed == 0 {
            return Err(self.user_conflict(id).await);
        }
        Ok(Stored { version: expected_version + 1, updated_at_ms: now, ..user })
    }

    /// Users in creation order.
    pub async fn list_users(&self, cursor: Option<&str>, limit: u32) -> Result<Page<Stored<UserData>>> {
        let fetch = check_limit(limit)?;
        if let Some(c) = cursor
            && check_id("cursor", c).is_err()
        {
            return Err(crate::records::bad_cursor(c));
        }
        let users = with_pool!(self, p => {
            let rows = match cursor {
                None => {
                    sqlx::query(users_first_sql()).bind(fetch).fetch_all(p).await?
                }
                Some(c) => {
                    sqlx::query(users_after_sql()).bind(fetch).bind(c).fetch_all(p).await?
                }
            };
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(decode_user(&row)?);
            }
            out
        });
        Ok(cut_page(users, limit, |u| u.id.clone()))
    }

    pub async fn count_users(&self) -> Result<i64> {
        let n = with_pool!(self, p => {
            sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(p).await?.int("n")?
        });
        Ok(n)
    }

    /// Check a username and password. Usernames are case-insensitive. See the
    /// crate documentation for the lockout rule. `remote_addr` is kept with a
    /// failure (the audit trail is the caller's: record the outcome there).
    pub async fn verify_login(
        &self,
        username: &str,
        password: &str,
        remote_addr: Option<&str>,
    ) -> Result<LoginOutcome> {
        let key = name_key(username);
        if key.is_empty() || key.len() > 64 || password.len() > 1024 {
            return Ok(LoginOutcome::BadCredentials);
        }
        let now = now_ms();
        if let Some(until_ms) = self.lockout(&key, now).await? {
            return Ok(LoginOutcome::Locked { until_ms });
        }
        let found = with_pool!(self, p => {
            match sqlx::query(user_by_key_sql()).bind(&key).fetch_optional(p).await? {
                Some(row) => Some((decode_user(&row)?, row.text("password_hash")?)),
                None => None,
            }
        });
        let (user, hash) = match found {
            Some((u, h)) => (Some(u), h),
            None => (None, dummy_hash().await?),
        };
        let ok = verify_password(password.to_owned(), hash).await?;
        if let (true, Some(user)) = (ok, user) {
            with_writer!(self, p => {
                sqlx::query("DELETE FROM login_failures WHERE username_key = $1").bind(&key).execute(p).await?;
            });
            return Ok(LoginOutcome::Success(user));
        }
        let remote = remote_addr.map(|r| r.chars().take(128).collect::<String>());
        with_writer!(self, p => {
            sqlx::query("INSERT INTO login_failures (username_key, at_ms, remote_addr) VALUES ($1, $2, $3)")
                .bind(&key)
                .bind(now)
                .bind(&remote)
                .execute(p)
                .await?;
            sqlx::query("DELETE FROM login_failures WHERE username_key = $1 AND at_ms < $2")
                .bind(&key)
                .bind(now - FAILURE_RETENTION_MS)
                .execute(p)
                .await?;
        });
        Ok(match self.lockout(&key, now).await? {
            Some(until_ms) => LoginOutcome::Locked { until_ms },
            None => LoginOutcome::BadCredentials,
        })
    }

    /// Until when a username is locked, if it is.
    async fn lockout(&self, key: &str, now: i64) -> Result<Option<i64>> {
        let times: Vec<i64> = with_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT at_ms FROM login_failures WHERE username_key = $1 ORDER BY at_ms DESC LIMIT $2",
            )
            .bind(key)
            .bind(LOCKOUT_FAILURES as i64)
            .fetch_all(p)
            .await?;
            let mut times = Vec::with_capacity(rows.len());
            for row in rows {
                times.push(row.int("at_ms")?);
            }
            times
        });
        Ok(locked_until(&times, now))
    }

    /// Start a browser session for a user; the token goes in the cookie.
    pub async fn create_session(&self, user_id: &str, ttl: Duration) -> Result<Token> {
        self.create_token(user_id, TokenKind::Session, "", ttl).await
    }

    /// Issue a named bearer token (`Authorization: Bearer <token>`).
    pub async fn create_api_token(&self, user_id: &str, name: &str, ttl: Duration) -> Result<Token> {
        check_text("name", name, 128, true)?;
        self.create_token(user_id, TokenKind::ApiToken, name, ttl).await
    }

    async fn create_token(&self, user_id: &str, kind: TokenKind, name: &str, ttl: Duration) -> Result<Token> {
        let ttl = ttl_ms(ttl)?;
        let user_missing = || StoreError::NotFound { entity: "user", id: user_id.to_owned(), field: Some("user_id") };
        if check_id("user_id", user_id).is_err() {
            return Err(user_missing());
        }
        let token = random_hex()?;
        let now = now_ms();
        let expires_at_ms = now.saturating_add(ttl);
        let result = with_writer!(self, p => {
            sqlx::query(
                "INSERT INTO sessions (token_hash, user_id, kind, name, created_at_ms, expires_at_ms, last_seen_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $5)",
            )
            .bind(token_hash(&token))
            .bind(user_id)
            .bind(kind.code())
            .bind(name)
            .bind(now)
            .bind(expires_at_ms)
            .execute(p)
            .await
            .map(|_| ())
        });
        match result {
            Ok(()) => Ok(Token { token, kind, expires_at_ms }),
            Err(e) if db_kind(&e) == Some(sqlx::error::ErrorKind::ForeignKeyViolation) => Err(user_missing()),
            Err(e) => Err(e.into()),
        }
    }

    /// The user a session or API token belongs to, and when it expires; `None`
    /// for an unknown, malformed, ended or expired token, and for a browser
    /// session unused for longer than `idle_limit` (`None`: no idle limit).
    ///
    /// The idle limit applies to browser sessions ([`TokenKind::Session`])
    /// only: an API token serves a script or integration that may
    /// legitimately run once a night, and keeps just its absolute lifetime.
    pub async fn session_user(
        &self,
        token: &str,
        idle_limit: Option<Duration>,
    ) -> Result<Option<(Stored<UserData>, i64)>> {
        if !is_token(token) {
            return Ok(None);
        }
        let now = now_ms();
        let hash = token_hash(&token.to_ascii_lowercase());
        let idle_ms = idle_limit.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        // A browser session last seen at or before this is refused.
        let seen_after = idle_ms.map_or(i64::MIN, |ms| now.saturating_sub(ms));
        let found = lookup!(
            self,
            "SELECT u.id, u.version, u.created_at_ms, u.updated_at_ms, u.username, u.display_name, u.role, \
             u.patient_id, s.expires_at_ms, s.kind, s.last_seen_at_ms FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at_ms > $2 AND (s.kind <> 'session' OR s.last_seen_at_ms > $3)",
            [Val::text(hash.clone()), Val::Int(now), Val::Int(seen_after)],
            |row| Ok::<_, StoreError>((
                decode_user(row)?,
                row.int("expires_at_ms")?,
                row.text("kind")? == TokenKind::Session.code(),
                row.int("last_seen_at_ms")?,
            ))
        )?;
        let Some((user, expires_at_ms, is_session, last_seen)) = found else {
            return Ok(None);
        };
        // Move `last_seen_at_ms` forward only when it is stale by more than
        // `touch_interval_ms`: every request is a read, and a write per request
        // would cost the store its read throughput (and SQLite its single
        // writer). The price is that a session may end up to that interval
        // before the idle limit counted from its true last use; never after it.
        if is_session && now - last_seen >= touch_interval_ms(idle_ms) {
            with_writer!(self, p => {
                // `<` keeps the column monotonic when processes race.
                sqlx::query("UPDATE sessions SET last_seen_at_ms = $2 WHERE token_hash = $1 AND last_seen_at_ms < $2")
                    .bind(&hash)
                    .bind(now)
                    .execute(p)
                    .await?;
            });
        }
        Ok(Some((user, expires_at_ms)))
    }

    /// End a session or revoke an API token (logout). Whether it existed.
    pub async fn delete_session(&self, token: &str) -> Result<bool> {
        if !is_token(token) {
            return Ok(false);
        }
        let n = with_writer!(self, p => {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token_hash(&token.to_ascii_lowercase()))
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Remove expired sessions and tokens (housekeeping; they already do not
    /// authenticate). The number removed.
    pub async fn purge_expired_sessions(&self) -> Result<u64> {
        let n = with_writer!(self, p => {
            sqlx::query("DELETE FROM sessions WHERE expires_at_ms <= $1").bind(now_ms()).execute(p).await?.rows_affected()
        });
        Ok(n)
    }
}

fn user_constraint(e: sqlx::Error, data: &UserData) -> StoreError {
    match db_kind(&e) {
        Some(sqlx::error::ErrorKind::UniqueViolation) => {
            StoreError::Duplicate { field: "username", value: data.username.clone() }
        }
        Some(sqlx::error::ErrorKind::ForeignKeyViolation) => StoreError::NotFound {
            entity: "patient",
            id: data.patient_id.clone().unwrap_or_default(),
            field: Some("patient_id"),
        },
        _ => e.into(),
    }
}

// The user queries, as constants (they share the column list).
macro_rules! user_sql {
    ($name:ident, $tail:literal) => {
        fn $name() -> &'static str {
            static SQL: OnceLock<String> = OnceLock::new();
            SQL.get_or_init(|| format!("SELECT {USER_COLUMNS}, password_hash FROM users {}", $tail))
        }
    };
}
user_sql!(user_by_id_sql, "WHERE id = $1");
user_sql!(user_by_key_sql, "WHERE username_key = $1");
user_sql!(users_first_sql, "ORDER BY id LIMIT $1");
user_sql!(users_after_sql, "WHERE id > $2 ORDER BY id LIMIT $1");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_rule() {
        let m = 60 * 1000;
        // four failures never lock
        assert_eq!(locked_until(&[4 * m, 3 * m, 2 * m, m], 5 * m), None);
        // five within 15 minutes lock for 15 minutes from the fifth
        let five = [14 * m, 10 * m, 5 * m, 2 * m, 0];
        assert_eq!(locked_until(&five, 15 * m), Some(29 * m));
        assert_eq!(locked_until(&five, 29 * m), None);
        // five spread over more than 15 minutes do not
        assert_eq!(locked_until(&[16 * m, 10 * m, 5 * m, 2 * m, 0], 16 * m), None);
    }

    #[test]
    fn tokens_are_hex_and_hashed() {
        let t = random_hex().unwrap();
        assert!(is_token(&t));
        assert_ne!(t, random_hex().unwrap());
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(!is_token("xyz"));
        assert!(ttl_ms(Duration::ZERO).is_err());
        assert!(ttl_ms(MAX_TOKEN_TTL + Duration::from_secs(1)).is_err());
    }
}
