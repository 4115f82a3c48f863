//! Login sessions: the browser's cookie, stored as the SHA-256 of its secret.

use crate::codec::{needs_touch, parse_ts, parse_uuid, ts, ttl};
use crate::error::{Result, StoreError};
use crate::secret::{random_token, sha256_hex};
use crate::{Store, User};
use std::fmt;
use time::OffsetDateTime;
use uuid::Uuid;

/// A logged-in browser. The cookie secret is not here: it is shown once, at creation.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginSession {
    /// The logged-in user.
    pub user_id: Uuid,
    /// Token the page must echo on unsafe requests (double-submit CSRF defence). Not a
    /// credential on its own, but kept out of `Debug` output all the same.
    pub csrf_token: String,
    /// Login time.
    pub created_at: OffsetDateTime,
    /// End of the absolute lifetime.
    pub expires_at: OffsetDateTime,
    /// Last authenticated request (to within a minute).
    pub last_seen_at: OffsetDateTime,
}

impl fmt::Debug for LoginSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginSession")
            .field("user_id", &self.user_id)
            .field("csrf_token", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("last_seen_at", &self.last_seen_at)
            .finish()
    }
}

/// A `login_sessions` row as stored (without the digest).
#[derive(sqlx::FromRow)]
struct LoginRow {
    /// See [`LoginSession::user_id`].
    user_id: String,
    /// See [`LoginSession::csrf_token`].
    csrf_token: String,
    /// See [`LoginSession::created_at`].
    created_at: String,
    /// See [`LoginSession::expires_at`].
    expires_at: String,
    /// See [`LoginSession::last_seen_at`].
    last_seen_at: String,
}

impl TryFrom<LoginRow> for LoginSession {
    type Error = sqlx::Error;

    fn try_from(row: LoginRow) -> Result<Self, sqlx::Error> {
        Ok(LoginSession {
            user_id: parse_uuid("login_sessions.user_id", &row.user_id)?,
            csrf_token: row.csrf_token,
            created_at: parse_ts("login_sessions.created_at", &row.created_at)?,
            expires_at: parse_ts("login_sessions.expires_at", &row.expires_at)?,
            last_seen_at: parse_ts("login_sessions.last_seen_at", &row.last_seen_at)?,
        })
    }
}

/// Converts an idle timeout; one too long to represent never expires.
fn idle_limit(idle_ttl: std::time::Duration) -> time::Duration {
    time::Duration::try_from(idle_ttl).unwrap_or(time::Duration::MAX)
}

impl Store {
    /// Logs `user_id` in for at most `absolute_ttl` and returns the session with its cookie
    /// secret (43 characters of URL-safe base64 of 32 random bytes), which is not stored.
    ///
    /// Fails with `NotFound` for an unknown user and `InvalidInput` for an absurd TTL.
    pub async fn create_login_session(
        &self,
        user_id: Uuid,
        absolute_ttl: std::time::Duration,
    ) -> Result<(LoginSession, String)> {
        let now = OffsetDateTime::now_utc();
        let expires_at = now
            .checked_add(ttl(absolute_ttl, "login session lifetime")?)
            .ok_or_else(|| {
                StoreError::InvalidInput(format!(
                    "login session lifetime of {absolute_ttl:?} is too long"
                ))
            })?;
        let secret = random_token();
        let session = LoginSession {
            user_id,
            csrf_token: random_token(),
            created_at: now,
            expires_at,
            last_seen_at: now,
        };
        sqlx::query(
            "INSERT INTO login_sessions \
             (secret_hash, user_id, csrf_token, created_at, expires_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(sha256_hex(&secret))
        .bind(user_id.to_string())
        .bind(&session.csrf_token)
        .bind(ts(now)?)
        .bind(ts(expires_at)?)
        .bind(ts(now)?)
        .execute(&self.pool)
        .await
        .map_err(|err| match err {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            err => StoreError::Database(err),
        })?;
        Ok((session, secret))
    }

    /// The session and its user for a cookie secret, if valid: known, before `expires_at`,
    /// seen within `idle_ttl`, and its user enabled. Records the request in `last_seen_at`
    /// (at most once a minute). An expired session, or one of a disabled user, is deleted.
    pub async fn authenticate_login_session(
        &self,
        secret: &str,
        idle_ttl: std::time::Duration,
    ) -> Result<Option<(User, LoginSession)>> {
        let hash = sha256_hex(secret);
        let row: Option<LoginRow> = sqlx::query_as(
            "SELECT user_id, csrf_token, created_at, expires_at, last_seen_at \
             FROM login_sessions WHERE secret_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut session = LoginSession::try_from(row)?;
        let now = OffsetDateTime::now_utc();
        let expired =
            now >= session.expires_at || now - session.last_seen_at >= idle_limit(idle_ttl);
        let user = if expired {
            None
        } else {
            self.user_by_id(session.user_id)
                .await?
                .filter(|user| !user.disabled)
        };
        let Some(user) = user else {
            self.delete_login_session_hash(&hash).await?;
            return Ok(None);
        };
        if needs_touch(Some(session.last_seen_at), now) {
            sqlx::query("UPDATE login_sessions SET last_seen_at = $1 WHERE secret_hash = $2")
                .bind(ts(now)?)
                .bind(&hash)
                .execute(&self.pool)
                .await?;
            session.last_seen_at = now;
        }
        Ok(Some((user, session)))
    }

    /// Logs a cookie out. Unknown secrets are fine (logging out twice is not an error).
    pub async fn delete_login_session(&self, secret: &str) -> Result<()> {
        self.delete_login_session_hash(&sha256_hex(secret)).await
    }

    /// Deletes the session with this secret digest, if any.
    async fn delete_login_session_hash(&self, hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_sessions WHERE secret_hash = $1")
            .bind(hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Logs a user out everywhere; returns how many sessions ended.
    pub async fn delete_user_login_sessions(&self, user_id: Uuid) -> Result<u64> {
        let done = sqlx::query("DELETE FROM login_sessions WHERE user_id = $1")
            .bind(user_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Logs a user out everywhere but in the login with cookie secret `keep`
    /// (after a password change, the browser that made it stays logged in);
    /// returns how many sessions ended.
    pub async fn delete_other_login_sessions(&self, user_id: Uuid, keep: &str) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM login_sessions WHERE user_id = $1 AND secret_hash <> $2")
                .bind(user_id.to_string())
                .bind(sha256_hex(keep))
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }

    /// Deletes every session past its absolute lifetime or idle for `idle_ttl`, as of `now`;
    /// returns how many. Sessions are also deleted when presented expired, but ones never
    /// presented again would otherwise stay forever.
    pub async fn delete_expired_login_sessions(
        &self,
        now: OffsetDateTime,
        idle_ttl: std::time::Duration,
    ) -> Result<u64> {
        let idle_cutoff = now.checked_sub(idle_limit(idle_ttl));
        // Fixed-width timestamps compare as text in time order.
        let done =
            sqlx::query("DELETE FROM login_sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
                .bind(ts(now)?)
                .bind(match idle_cutoff {
                    // Before the representable range: nothing is idle that long.
                    Some(cutoff) if cutoff.year() >= 0 => Some(ts(cutoff)?),
                    _ => None,
                })
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }
}
