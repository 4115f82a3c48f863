//! ccweb's database: users and their preferences, OpenID Connect identities, API tokens,
//! login sessions and the record of every CLI session.
//!
//! [`Store`] wraps a SQLite pool. The SQL is kept portable (`$n` parameters, ids and
//! timestamps as TEXT) so a PostgreSQL implementation can follow with its own
//! migrations. Every operation is a method on [`Store`]; the feature modules below each add
//! theirs.

mod audit;
mod codec;
mod credentials;
mod error;
mod events;
pub mod health;
mod login;
mod oidc;
mod preferences;
mod secret;
mod sessions;
mod shares;
mod tokens;
mod users;

#[cfg(test)]
mod tests;

pub use audit::{AuditFilter, AuditRecord, NewAuditEntry, MAX_AUDIT_PAGE};
pub use credentials::{CredentialKind, SealedCredential};
pub use error::{Result, StoreError};
pub use events::MAX_EVENTS_PAGE;
pub use login::LoginSession;
pub use sessions::{NewSession, SessionEnd, SessionRecord};
pub use shares::SessionShare;
pub use tokens::{ApiToken, TokenScope};
pub use users::{User, MAX_PASSWORD_BYTES};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::time::Duration;

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT_SECS: u64 = 5;

/// Connections in the pool. SQLite allows one writer at a time; the others serve reads,
/// which WAL lets run beside the writer.
const MAX_CONNECTIONS: u32 = 8;

/// The migrations in `migrations/sqlite/`, compiled into the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Handle to the database. Cloning is cheap: clones share one pool.
#[derive(Debug, Clone)]
pub struct Store {
    /// The connection pool.
    pool: SqlitePool,
    /// Per-session caps on stored events.
    caps: EventCaps,
    /// Refuse to create or enable a user while another is enabled
    /// (`isolation = "none"` without `allow_shared_identity`).
    single_enabled_user: bool,
}

/// Per-session caps on stored events: past either, the session stores one
/// `storage_cap_reached` notice and then nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCaps {
    /// Events at most.
    pub max_events: u64,
    /// Bytes of event JSON at most.
    pub max_bytes: u64,
}

impl Default for EventCaps {
    /// No caps.
    fn default() -> Self {
        EventCaps {
            max_events: u64::MAX,
            max_bytes: u64::MAX,
        }
    }
}

impl Store {
    /// Opens (creating if missing; the parent directory must exist) the SQLite file at `path`
    /// with WAL journaling, foreign keys on, a 5 s busy timeout and `synchronous = NORMAL`
    /// (durable at each checkpoint, consistent always, which WAL makes safe), then applies the
    /// embedded migrations.
    pub async fn open(path: &Path) -> Result<Store> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(BUSY_TIMEOUT_SECS))
            .synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Store {
            pool,
            caps: EventCaps::default(),
            single_enabled_user: false,
        })
    }

    /// The same store, capping each session's stored events at `caps`.
    pub fn with_event_caps(mut self, caps: EventCaps) -> Store {
        self.caps = caps;
        self
    }

    /// The caps on each session's stored events.
    pub fn event_caps(&self) -> EventCaps {
        self.caps
    }

    /// This store, refusing (with [`StoreError::SharedIdentity`]) to create
    /// or enable a user while another one is enabled, when `on`. The check
    /// and the write are one statement, so two concurrent requests cannot
    /// both get through.
    pub fn single_enabled_user(mut self, on: bool) -> Store {
        self.single_enabled_user = on;
        self
    }

    /// Checks that the database answers (`SELECT 1`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Checkpoints the WAL into the main file (so the file alone is a complete copy), then
    /// closes the pool, waiting for connections in use to be returned. A failed checkpoint is
    /// only logged: the WAL is replayed at the next open anyway. Every clone shares the pool,
    /// so operations on any of them fail afterwards.
    pub async fn close(&self) {
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(%err, "WAL checkpoint before closing the database failed");
        }
        self.pool.close().await;
    }
}
