//! Read-only share links of sessions: a random secret per link, stored as
//! its SHA-256; revocable, optionally expiring.

use crate::codec::{opt_ts, parse_opt_ts, parse_ts, parse_uuid, ts};
use crate::error::{Result, StoreError};
use crate::secret::{random_token, sha256_hex};
use crate::Store;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// Prefix of every share secret, so a leaked one is recognisable.
const SECRET_PREFIX: &str = "ccweb_share_";

/// A share link's record (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionShare {
    /// Random id, to list and revoke the link.
    pub id: Uuid,
    /// The shared session.
    pub session_id: Uuid,
    /// Who made it (the session's owner).
    pub created_by: Uuid,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops working, if ever.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// When it was revoked, if it was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
struct ShareRow {
    id: String,
    session_id: String,
    created_by: String,
    created_at: String,
    expires_at: Option<String>,
    revoked_at: Option<String>,
}

impl TryFrom<ShareRow> for SessionShare {
    type Error = sqlx::Error;

    fn try_from(row: ShareRow) -> Result<Self, sqlx::Error> {
        Ok(SessionShare {
            id: parse_uuid("session_shares.id", &row.id)?,
            session_id: parse_uuid("session_shares.session_id", &row.session_id)?,
            created_by: parse_uuid("session_shares.created_by", &row.created_by)?,
            created_at: parse_ts("session_shares.created_at", &row.created_at)?,
            expires_at: parse_opt_ts("session_shares.expires_at", row.expires_at.as_deref())?,
            revoked_at: parse_opt_ts("session_shares.revoked_at", row.revoked_at.as_deref())?,
        })
    }
}

/// The columns of [`ShareRow`].
const SHARE_COLUMNS: &str = "id, session_id, created_by, created_at, expires_at, revoked_at";

impl Store {
    /// Makes a share link of `session_id` and returns it with its secret
    /// (shown once, never stored).
    pub async fn create_share(
        &self,
        session_id: Uuid,
        created_by: Uuid,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<(SessionShare, String)> {
        let share = SessionShare {
            id: Uuid::new_v4(),
            session_id,
            created_by,
            created_at: OffsetDateTime::now_utc(),
            expires_at,
            revoked_at: None,
        };
        let secret = format!("{SECRET_PREFIX}{}", random_token());
        sqlx::query(
            "INSERT INTO session_shares (id, session_id, secret_hash, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(share.id.to_string())
        .bind(session_id.to_string())
        .bind(sha256_hex(&secret))
        .bind(created_by.to_string())
        .bind(ts(share.created_at)?)
        .bind(opt_ts(expires_at)?)
        .execute(&self.pool)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound,
            other => other.into(),
        })?;
        Ok((share, secret))
    }

    /// The session's links, revoked and expired ones included, newest first.
    pub async fn list_shares(&self, session_id: Uuid) -> Result<Vec<SessionShare>> {
        let rows: Vec<ShareRow> = sqlx::query_as(&format!(
            "SELECT {SHARE_COLUMNS} FROM session_shares WHERE session_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(session_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(SessionShare::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// Revokes a link of `session_id`; revoking twice keeps the first time.
    /// `NotFound` for a link of another session.
    pub async fn revoke_share(&self, session_id: Uuid, share_id: Uuid) -> Result<()> {
        let done = sqlx::query(
            "UPDATE session_shares SET revoked_at = COALESCE(revoked_at, $1) \
             WHERE id = $2 AND session_id = $3",
        )
        .bind(ts(OffsetDateTime::now_utc())?)
        .bind(share_id.to_string())
        .bind(session_id.to_string())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The link a secret opens, if it is valid now (not revoked, not expired).
    pub async fn share_by_secret(&self, secret: &str) -> Result<Option<SessionShare>> {
        if !secret.starts_with(SECRET_PREFIX) {
            return Ok(None);
        }
        let row: Option<ShareRow> = sqlx::query_as(&format!(
            "SELECT {SHARE_COLUMNS} FROM session_shares WHERE secret_hash = $1"
        ))
        .bind(sha256_hex(secret))
        .fetch_optional(&self.pool)
        .await?;
        let Some(share) = row.map(SessionShare::try_from).transpose()? else {
            return Ok(None);
        };
        let now = OffsetDateTime::now_utc();
        let valid = share.revoked_at.is_none() && share.expires_at.is_none_or(|at| at > now);
        Ok(valid.then_some(share))
    }
}
