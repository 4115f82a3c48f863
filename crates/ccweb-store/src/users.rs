//! Users: creation, lookup, disabling and passwords.

use crate::codec::{parse_ts, parse_uuid, ts};
use crate::error::{Result, StoreError};
use crate::secret;
use crate::Store;
use time::OffsetDateTime;
use uuid::Uuid;

/// Longest user name, in characters.
const MAX_NAME_CHARS: usize = 64;

/// Shortest password, in characters.
const MIN_PASSWORD_CHARS: usize = 8;

/// Longest password, in bytes: the most a login accepts, so every password
/// that can be set can also be used.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A user as the rest of ccweb sees it. The password hash never leaves the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Random id.
    pub id: Uuid,
    /// Lower-case login name.
    pub name: String,
    /// Whether the user administers the server (sees and manages everyone).
    pub is_admin: bool,
    /// Disabled users cannot log in and their tokens and cookies stop working.
    pub disabled: bool,
    /// Whether a password is set (without one, only API tokens work).
    pub has_password: bool,
    /// When the user was created.
    pub created_at: OffsetDateTime,
}

/// The columns of [`UserRow`], for every query that reads users.
macro_rules! user_columns {
    () => {
        "id, name, is_admin, disabled, password_hash IS NOT NULL AS has_password, created_at"
    };
}
pub(crate) use user_columns;

/// A `users` row as stored.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    /// See [`User::id`].
    id: String,
    /// See [`User::name`].
    name: String,
    /// See [`User::is_admin`].
    is_admin: bool,
    /// See [`User::disabled`].
    disabled: bool,
    /// See [`User::has_password`].
    has_password: bool,
    /// See [`User::created_at`].
    created_at: String,
}

impl TryFrom<UserRow> for User {
    type Error = sqlx::Error;

    fn try_from(row: UserRow) -> Result<Self, sqlx::Error> {
        Ok(User {
            id: parse_uuid("users.id", &row.id)?,
            name: row.name,
            is_admin: row.is_admin,
            disabled: row.disabled,
            has_password: row.has_password,
            created_at: parse_ts("users.created_at", &row.created_at)?,
        })
    }
}

/// A user row with its password hash, for verification only.
#[derive(sqlx::FromRow)]
struct CredentialRow {
    /// The user.
    #[sqlx(flatten)]
    user: UserRow,
    /// argon2id PHC string, if a password is set.
    password_hash: Option<String>,
}

/// Checks a user name against `^[a-z0-9][a-z0-9_.-]{0,63}$`.
pub(crate) fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok && name.len() <= MAX_NAME_CHARS {
        Ok(())
    } else {
        Err(StoreError::InvalidInput(format!(
            "user name {name:?} is not allowed: use 1 to {MAX_NAME_CHARS} characters from \
             a-z, 0-9, '_', '.' and '-', starting with a letter or digit"
        )))
    }
}

/// Checks a new password's length: the one password policy, for the command
/// line, the admin routes and a user changing their own.
fn validate_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::InvalidInput(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters long"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(StoreError::InvalidInput(format!(
            "password must be at most {MAX_PASSWORD_BYTES} bytes long"
        )));
    }
    Ok(())
}

impl Store {
    /// Creates a user, hashing `password` (at least 8 characters) with argon2id.
    ///
    /// Fails with `InvalidInput` for a bad name or short password and `Conflict` when the
    /// name is taken.
    pub async fn create_user(
        &self,
        name: &str,
        password: Option<&str>,
        is_admin: bool,
    ) -> Result<User> {
        validate_name(name)?;
        let password_hash = match password {
            Some(password) => {
                validate_password(password)?;
                Some(secret::hash_password(password).await?)
            }
            None => None,
        };
        let user = User {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            is_admin,
            disabled: false,
            has_password: password_hash.is_some(),
            created_at: OffsetDateTime::now_utc(),
        };
        // One statement checks the single-user rule and inserts, so two
        // concurrent creations cannot both pass the check.
        let done = sqlx::query(
            "INSERT INTO users (id, name, password_hash, is_admin, disabled, created_at) \
             SELECT $1, $2, $3, $4, FALSE, $5 \
             WHERE NOT $6 OR NOT EXISTS (SELECT 1 FROM users WHERE NOT disabled)",
        )
        .bind(user.id.to_string())
        .bind(&user.name)
        .bind(password_hash)
        .bind(is_admin)
        .bind(ts(user.created_at)?)
        .bind(self.single_enabled_user)
        .execute(&self.pool)
        .await
        .map_err(|err| match err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(format!("user {name} already exists"))
            }
            err => StoreError::Database(err),
        })?;
        if done.rows_affected() == 0 {
            return Err(self.refusal_of_new_user(name).await);
        }
        Ok(user)
    }

    /// The user with this name, if any (disabled ones included).
    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(User::try_from).transpose()?)
    }

    /// The user with this id, if any (disabled ones included).
    pub async fn user_by_id(&self, id: Uuid) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(User::try_from).transpose()?)
    }

    /// All users, by name.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users ORDER BY name"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(User::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// How many users exist (disabled ones included).
    pub async fn count_users(&self) -> Result<i64> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    /// Why a new user named `name` was not inserted under the single-user
    /// rule: the name is taken (as without the rule), or another user is
    /// enabled.
    pub(crate) async fn refusal_of_new_user(&self, name: &str) -> StoreError {
        match self.user_by_name(name).await {
            Ok(Some(_)) => StoreError::Conflict(format!("user {name} already exists")),
            Ok(None) => StoreError::SharedIdentity,
            Err(e) => e,
        }
    }

    /// How many users are enabled.
    pub async fn count_enabled_users(&self) -> Result<i64> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE NOT disabled")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    /// The oldest enabled admin, if any.
    pub async fn first_admin(&self) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE is_admin AND NOT disabled ORDER BY created_at, name LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(User::try_from).transpose()?)
    }

    /// Disables or re-enables a user. Disabling also deletes the user's login sessions, so
    /// open browsers are logged out at once (API tokens are refused while disabled).
    pub async fn set_user_disabled(&self, name: &str, disabled: bool) -> Result<User> {
        // Write first: a transaction that reads before writing can fail with SQLITE_BUSY
        // when another connection commits in between, whatever the busy timeout.
        let mut tx = self.pool.begin().await?;
        // Enabling under the single-user rule: only when no other user is
        // enabled, checked in the same statement.
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "UPDATE users SET disabled = $1 WHERE name = $2 AND ($1 OR NOT $3 \
             OR NOT EXISTS (SELECT 1 FROM users WHERE NOT disabled AND name <> $2)) RETURNING ",
            user_columns!()
        ))
        .bind(disabled)
        .bind(name)
        .bind(self.single_enabled_user)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            drop(tx);
            return Err(match self.user_by_name(name).await? {
                Some(_) => StoreError::SharedIdentity,
                None => StoreError::NotFound,
            });
        };
        let user = User::try_from(row)?;
        if disabled {
            sqlx::query("DELETE FROM login_sessions WHERE user_id = $1")
                .bind(user.id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// Sets (or replaces) a user's password; at least 8 characters.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<()> {
        validate_password(password)?;
        let hash = secret::hash_password(password).await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
            .bind(hash)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Verifies a password. Always runs argon2 verification (against a fixed dummy hash when
    /// the user is unknown or has no password) so timing does not reveal whether a user
    /// exists. Returns `None` for an unknown or disabled user, one without a password, or a
    /// wrong password.
    pub async fn verify_password(&self, name: &str, password: &str) -> Result<Option<User>> {
        let row: Option<CredentialRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            ", password_hash FROM users WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        let (user, hash) = match row {
            Some(row) => (Some(row.user), row.password_hash),
            None => (None, None),
        };
        // Disabled users are verified too, for the same timing reason, then refused.
        let matches = secret::verify_password(password, hash).await?;
        match user {
            Some(user) if matches && !user.disabled => Ok(Some(User::try_from(user)?)),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_pattern() {
        for ok in ["a", "alice", "0day", "a.b-c_d", &"x".repeat(64)] {
            assert!(validate_name(ok).is_ok(), "{ok:?} should be allowed");
        }
        for bad in [
            "",
            "Alice",
            "_a",
            ".a",
            "-a",
            "a b",
            "é",
            "a/b",
            &"x".repeat(65),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn passwords_need_eight_characters_not_bytes() {
        assert!(validate_password("1234567").is_err());
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password("ééééééé").is_err());
    }

    #[test]
    fn passwords_longer_than_a_login_accepts_are_refused() {
        assert!(validate_password(&"x".repeat(MAX_PASSWORD_BYTES)).is_ok());
        assert!(validate_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }
}
