//! API tokens: bearer secrets for scripts, stored as SHA-256 digests.

use crate::codec::{needs_touch, opt_ts, parse_enum, parse_opt_ts, parse_ts, parse_uuid, ts};
use crate::error::{Result, StoreError};
use crate::secret::{random_token, sha256_hex};
use crate::{Store, User};
use ccweb_protocol::session::UnknownVariant;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;
use uuid::Uuid;

/// Prefix of every token secret, so a leaked one is recognisable (e.g. by secret scanners).
const SECRET_PREFIX: &str = "ccweb_";

/// Longest token name, in characters.
const MAX_TOKEN_NAME_CHARS: usize = 100;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Only reading: list and watch sessions.
    Read,
    /// Everything the user may do.
    Full,
}

impl TokenScope {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Full => "full",
        }
    }
}

impl FromStr for TokenScope {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(TokenScope::Read),
            "full" => Ok(TokenScope::Full),
            other => Err(UnknownVariant(other.to_owned())),
        }
    }
}

impl fmt::Display for TokenScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An API token's record. The secret itself is shown once, at creation, and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Random id, used to list and revoke the token.
    pub id: Uuid,
    /// The owning user.
    pub user_id: Uuid,
    /// The user's label for it.
    pub name: String,
    /// What it may do.
    pub scope: TokenScope,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// Last successful use (to within a minute).
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
}

/// The columns of [`TokenRow`].
macro_rules! token_columns {
    () => {
        "id, user_id, name, scope, created_at, expires_at, last_used_at, revoked_at"
    };
}

/// An `api_tokens` row as stored (without the digest).
#[derive(sqlx::FromRow)]
struct TokenRow {
    /// See [`ApiToken::id`].
    id: String,
    /// See [`ApiToken::user_id`].
    user_id: String,
    /// See [`ApiToken::name`].
    name: String,
    /// See [`ApiToken::scope`].
    scope: String,
    /// See [`ApiToken::created_at`].
    created_at: String,
    /// See [`ApiToken::expires_at`].
    expires_at: Option<String>,
    /// See [`ApiToken::last_used_at`].
    last_used_at: Option<String>,
    /// See [`ApiToken::revoked_at`].
    revoked_at: Option<String>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = sqlx::Error;

    fn try_from(row: TokenRow) -> Result<Self, sqlx::Error> {
        Ok(ApiToken {
            id: parse_uuid("api_tokens.id", &row.id)?,
            user_id: parse_uuid("api_tokens.user_id", &row.user_id)?,
            name: row.name,
            scope: parse_enum("api_tokens.scope", &row.scope)?,
            created_at: parse_ts("api_tokens.created_at", &row.created_at)?,
            expires_at: parse_opt_ts("api_tokens.expires_at", row.expires_at.as_deref())?,
            last_used_at: parse_opt_ts("api_tokens.last_used_at", row.last_used_at.as_deref())?,
            revoked_at: parse_opt_ts("api_tokens.revoked_at", row.revoked_at.as_deref())?,
        })
    }
}

impl Store {
    /// Creates a token for `user_id` and returns it with its secret (`ccweb_` followed by 43
    /// characters of URL-safe base64 of 32 random bytes), which is not stored and cannot be
    /// shown again.
    ///
    /// Fails with `InvalidInput` for an empty or over-long name and `NotFound` for an
    /// unknown user.
    pub async fn create_api_token(
        &self,
        user_id: Uuid,
        name: &str,
        scope: TokenScope,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<(ApiToken, String)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME_CHARS {
            return Err(StoreError::InvalidInput(format!(
                "token name must be 1 to {MAX_TOKEN_NAME_CHARS} characters"
            )));
        }
        let secret = format!("{SECRET_PREFIX}{}", random_token());
        let token = ApiToken {
            id: Uuid::new_v4(),
            user_id,
            name: name.to_owned(),
            scope,
            created_at: OffsetDateTime::now_utc(),
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, secret_hash, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token.id.to_string())
        .bind(user_id.to_string())
        .bind(&token.name)
        .bind(sha256_hex(&secret))
        .bind(scope.as_str())
        .bind(ts(token.created_at)?)
        .bind(opt_ts(expires_at)?)
        .execute(&self.pool)
        .await
        .map_err(|err| match err {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            err => StoreError::Database(err),
        })?;
        Ok((token, secret))
    }

    /// The token and its user for a presented secret, if the token is valid: known, not
    /// revoked, not expired, and its user exists and is enabled. Records the use in
    /// `last_used_at` (at most once a minute).
    pub async fn authenticate_api_token(&self, secret: &str) -> Result<Option<(User, ApiToken)>> {
        if !secret.starts_with(SECRET_PREFIX) {
            return Ok(None);
        }
        // Looking up by digest needs no constant-time comparison: an attacker timing the
        // index lookup learns about digests of their own guesses, not about stored secrets.
        let row: Option<TokenRow> = sqlx::query_as(concat!(
            "SELECT ",
            token_columns!(),
            " FROM api_tokens WHERE secret_hash = $1"
        ))
        .bind(sha256_hex(secret))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut token = ApiToken::try_from(row)?;
        let now = OffsetDateTime::now_utc();
        if token.revoked_at.is_some() || token.expires_at.is_some_and(|at| at <= now) {
            return Ok(None);
        }
        let Some(user) = self.user_by_id(token.user_id).await? else {
            return Ok(None);
        };
        if user.disabled {
            return Ok(None);
        }
        if needs_touch(token.last_used_at, now) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(ts(now)?)
                .bind(token.id.to_string())
                .execute(&self.pool)
                .await?;
            token.last_used_at = Some(now);
        }
        Ok(Some((user, token)))
    }

    /// A user's tokens, revoked and expired ones included, newest first.
    pub async fn list_api_tokens(&self, user_id: Uuid) -> Result<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = sqlx::query_as(concat!(
            "SELECT ",
            token_columns!(),
            " FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(ApiToken::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// Revokes one of `user_id`'s tokens. Revoking twice keeps the first time; a token that
    /// does not exist or belongs to someone else is `NotFound`.
    pub async fn revoke_api_token(&self, user_id: Uuid, token_id: Uuid) -> Result<()> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) \
             WHERE id = $2 AND user_id = $3",
        )
        .bind(ts(OffsetDateTime::now_utc())?)
        .bind(token_id.to_string())
        .bind(user_id.to_string())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_spellings_round_trip_and_match_serde() {
        for scope in [TokenScope::Read, TokenScope::Full] {
            assert_eq!(scope.as_str().parse::<TokenScope>().unwrap(), scope);
            assert_eq!(
                serde_json::to_string(&scope).unwrap(),
                format!("\"{}\"", scope.as_str())
            );
        }
        assert!("admin".parse::<TokenScope>().is_err());
    }
}
