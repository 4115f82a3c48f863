//! The store's error type.

/// Everything a store operation can fail with.
#[derive(thiserror::Error, Debug)]
pub enum StoreError {
    /// The addressed row does not exist.
    #[error("not found")]
    NotFound,
    /// The row would clash with an existing one, e.g. "user alice already exists".
    #[error("conflict: {0}")]
    Conflict(String),
    /// Another user is enabled and this server's sessions all share one
    /// identity (`isolation = "none"` without `allow_shared_identity`).
    #[error(
        "this server runs every session as one Unix account with one Claude home and \
         credential (isolation = \"none\"), so it allows only one enabled user; set \
         isolation = \"unix\" to give each user their own account, or \
         allow_shared_identity = true to accept that every user's agent can read and change \
         everyone's work"
    )]
    SharedIdentity,
    /// The caller's input breaks a rule; the message says which.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The database failed, or a stored value could not be decoded.
    // The cause is in the message as well as `source()`: the server logs these with `%err`,
    // and a bare "database error" in a log helps nobody.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The embedded migrations could not be applied.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Password hashing or verification failed (not a wrong password: that is `Ok(None)`).
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
