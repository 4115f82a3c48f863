//! OpenID Connect identities: the link from a provider account
//! (issuer, subject) to a user, and the user changes an OIDC login makes.

use crate::codec::ts;
use crate::error::{Result, StoreError};
use crate::users::{user_columns, validate_name, UserRow};
use crate::{Store, User};
use time::OffsetDateTime;
use uuid::Uuid;

impl Store {
    /// The user linked to this provider account, if any (disabled ones included).
    pub async fn user_by_oidc_identity(&self, issuer: &str, subject: &str) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = (SELECT user_id FROM oidc_identities \
             WHERE issuer = $1 AND subject = $2)"
        ))
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(User::try_from).transpose()?)
    }

    /// Whether any provider account is linked to `user_id` (their logins
    /// come from single sign-on).
    pub async fn has_oidc_identity(&self, user_id: Uuid) -> Result<bool> {
        let (linked,): (bool,) =
            sqlx::query_as("SELECT EXISTS (SELECT 1 FROM oidc_identities WHERE user_id = $1)")
                .bind(user_id.to_string())
                .fetch_one(&self.pool)
                .await?;
        Ok(linked)
    }

    /// Links a provider account to an existing user. `Conflict` when the
    /// account is linked already or the user already has an identity at
    /// this issuer.
    pub async fn link_oidc_identity(
        &self,
        user_id: Uuid,
        issuer: &str,
        subject: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO oidc_identities (issuer, subject, user_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(issuer)
        .bind(subject)
        .bind(user_id.to_string())
        .bind(ts(OffsetDateTime::now_utc())?)
        .execute(&self.pool)
        .await
        .map_err(|err| match err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict("this account is linked to another identity already".into())
            }
            err => StoreError::Database(err),
        })?;
        Ok(())
    }

    /// Creates a user without a password and links the provider account to
    /// it, in one transaction. `Conflict` when the name is taken (the
    /// caller decides; an existing user is never taken over here).
    pub async fn create_oidc_user(
        &self,
        name: &str,
        is_admin: bool,
        issuer: &str,
        subject: &str,
    ) -> Result<User> {
        validate_name(name)?;
        let now = OffsetDateTime::now_utc();
        let user = User {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            is_admin,
            disabled: false,
            has_password: false,
            created_at: now,
        };
        let conflict = |err: sqlx::Error| match err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(format!("user {name} already exists"))
            }
            err => StoreError::Database(err),
        };
        let mut tx = self.pool.begin().await?;
        // The single-user rule checked in the insert itself, as in `create_user`.
        let done = sqlx::query(
            "INSERT INTO users (id, name, password_hash, is_admin, disabled, created_at) \
             SELECT $1, $2, NULL, $3, FALSE, $4 \
             WHERE NOT $5 OR NOT EXISTS (SELECT 1 FROM users WHERE NOT disabled)",
        )
        .bind(user.id.to_string())
        .bind(&user.name)
        .bind(is_admin)
        .bind(ts(now)?)
        .bind(self.single_enabled_user)
        .execute(&mut *tx)
        .await
        .map_err(conflict)?;
        if done.rows_affected() == 0 {
            drop(tx);
            return Err(self.refusal_of_new_user(name).await);
        }
        sqlx::query(
            "INSERT INTO oidc_identities (issuer, subject, user_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(issuer)
        .bind(subject)
        .bind(user.id.to_string())
        .bind(ts(now)?)
        .execute(&mut *tx)
        .await
        .map_err(conflict)?;
        tx.commit().await?;
        Ok(user)
    }

    /// Grants or revokes admin rights; returns the updated user.
    pub async fn set_user_admin(&self, id: Uuid, is_admin: bool) -> Result<User> {
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "UPDATE users SET is_admin = $1 WHERE id = $2 RETURNING ",
            user_columns!()
        ))
        .bind(is_admin)
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(User::try_from(row.ok_or(StoreError::NotFound)?)?)
    }
}
