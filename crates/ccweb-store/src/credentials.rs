//! Users' own Claude credentials, stored sealed: the store keeps the nonce,
//! the AEAD output and a hint, and never sees the key or the value (the
//! server seals and opens them, `ccweb_server::credentials`).

use crate::codec::ts;
use crate::error::{Result, StoreError};
use crate::Store;
use time::OffsetDateTime;
use uuid::Uuid;

/// The kinds of credential a user can store, one of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// An Anthropic API key, given to the CLI as `ANTHROPIC_API_KEY`.
    AnthropicApiKey,
    /// A Claude subscription token (what `claude setup-token` prints),
    /// given to the CLI as `CLAUDE_CODE_OAUTH_TOKEN`.
    ClaudeOauthToken,
}

impl CredentialKind {
    /// Every kind, in the order the API lists them.
    pub const ALL: [CredentialKind; 2] = [
        CredentialKind::AnthropicApiKey,
        CredentialKind::ClaudeOauthToken,
    ];

    /// The name in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::AnthropicApiKey => "anthropic_api_key",
            CredentialKind::ClaudeOauthToken => "claude_oauth_token",
        }
    }

    /// The kind named `name`, if any.
    pub fn parse(name: &str) -> Option<CredentialKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// One stored credential, still sealed.
#[derive(Debug, Clone)]
pub struct SealedCredential {
    /// Which kind.
    pub kind: CredentialKind,
    /// The AEAD nonce.
    pub nonce: Vec<u8>,
    /// The sealed value (ciphertext and tag).
    pub sealed: Vec<u8>,
    /// The last characters of the value, shown to its owner.
    pub hint: String,
    /// When it was set.
    pub updated_at: OffsetDateTime,
}

/// A `user_credentials` row: kind, nonce, sealed value, hint, updated_at.
type CredentialRow = (String, Vec<u8>, Vec<u8>, String, String);

impl Store {
    /// The credentials `user_id` has stored, in [`CredentialKind::ALL`] order.
    pub async fn credentials(&self, user_id: Uuid) -> Result<Vec<SealedCredential>> {
        let rows: Vec<CredentialRow> = sqlx::query_as(
            "SELECT kind, nonce, sealed, hint, updated_at FROM user_credentials \
             WHERE user_id = $1",
        )
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .into_iter()
            .map(|(kind, nonce, sealed, hint, updated_at)| {
                let kind = CredentialKind::parse(&kind).ok_or_else(|| {
                    StoreError::Database(sqlx::Error::Decode(
                        format!("user_credentials.kind {kind:?}").into(),
                    ))
                })?;
                Ok(SealedCredential {
                    kind,
                    nonce,
                    sealed,
                    hint,
                    updated_at: crate::codec::parse_ts("user_credentials.updated_at", &updated_at)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|c| CredentialKind::ALL.iter().position(|k| *k == c.kind));
        Ok(out)
    }

    /// Stores (or replaces) a credential of `user_id`. Fails with
    /// `NotFound` for an unknown user.
    pub async fn set_credential(&self, user_id: Uuid, credential: &SealedCredential) -> Result<()> {
        sqlx::query(
            "INSERT INTO user_credentials (user_id, kind, nonce, sealed, hint, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (user_id, kind) DO UPDATE SET nonce = excluded.nonce, \
             sealed = excluded.sealed, hint = excluded.hint, updated_at = excluded.updated_at",
        )
        .bind(user_id.to_string())
        .bind(credential.kind.as_str())
        .bind(&credential.nonce)
        .bind(&credential.sealed)
        .bind(&credential.hint)
        .bind(ts(credential.updated_at)?)
        .execute(&self.pool)
        .await
        .map_err(|err| match err {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            err => StoreError::Database(err),
        })?;
        Ok(())
    }

    /// Deletes a credential of `user_id`; whether there was one.
    pub async fn delete_credential(&self, user_id: Uuid, kind: CredentialKind) -> Result<bool> {
        let done = sqlx::query("DELETE FROM user_credentials WHERE user_id = $1 AND kind = $2")
            .bind(user_id.to_string())
            .bind(kind.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
