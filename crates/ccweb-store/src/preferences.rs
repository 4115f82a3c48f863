//! A user's preferences for the web UI (the colour theme), one row per user
//! that has changed any; everyone else has the defaults.

use crate::codec::{parse_enum, ts};
use crate::error::{Result, StoreError};
use crate::Store;
use ccweb_protocol::{Preferences, Theme};
use time::OffsetDateTime;
use uuid::Uuid;

impl Store {
    /// The preferences of `user_id` (the defaults until one is changed).
    pub async fn preferences(&self, user_id: Uuid) -> Result<Preferences> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT theme FROM user_preferences WHERE user_id = $1")
                .bind(user_id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        let Some((theme,)) = row else {
            return Ok(Preferences::default());
        };
        Ok(Preferences {
            theme: parse_enum::<Theme>("user_preferences.theme", &theme)?,
        })
    }

    /// Stores `prefs` as the preferences of `user_id`. Fails with `NotFound`
    /// for an unknown user.
    pub async fn set_preferences(&self, user_id: Uuid, prefs: &Preferences) -> Result<()> {
        sqlx::query(
            "INSERT INTO user_preferences (user_id, theme, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET theme = excluded.theme, \
             updated_at = excluded.updated_at",
        )
        .bind(user_id.to_string())
        .bind(prefs.theme.as_str())
        .bind(ts(OffsetDateTime::now_utc())?)
        .execute(&self.pool)
        .await
        .map_err(|err| match err {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            err => StoreError::Database(err),
        })?;
        Ok(())
    }
}
