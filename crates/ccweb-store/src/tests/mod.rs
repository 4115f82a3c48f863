//! Tests of the store against real SQLite files in temporary directories.

mod audit;
mod credentials;
mod events;
mod login;
mod oidc;
mod open;
mod preferences;
mod sessions;
mod shared_identity;
mod tokens;
mod users;

use crate::{Store, User};
use std::path::PathBuf;
use tempfile::TempDir;

/// A store on a fresh file, deleted with the directory on drop.
pub(crate) struct TestStore {
    /// The store under test.
    pub(crate) store: Store,
    /// Path of the database file.
    pub(crate) path: PathBuf,
    /// Keeps the directory alive.
    pub(crate) _dir: TempDir,
}

impl TestStore {
    /// Opens a store on a new file.
    pub(crate) async fn new() -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ccweb.db");
        let store = Store::open(&path).await.unwrap();
        TestStore {
            store,
            path,
            _dir: dir,
        }
    }

    /// Creates a user without a password (no argon2 cost).
    pub(crate) async fn user(&self, name: &str) -> User {
        self.store.create_user(name, None, false).await.unwrap()
    }

    /// Runs raw SQL, to set up states the API does not produce (e.g. the past).
    pub(crate) async fn exec(&self, sql: &str) {
        sqlx::query(sql).execute(&self.store.pool).await.unwrap();
    }
}
