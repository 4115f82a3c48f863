//! A read-only look at a database file for `ccweb doctor`: does it open,
//! is it intact, and are its migrations the ones this build carries.

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Result;

/// What [`inspect`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbHealth {
    /// Migrations of this build applied to the file.
    pub applied: usize,
    /// Migrations of this build not applied yet (`serve` applies them).
    pub pending: Vec<i64>,
    /// Applied migrations this build does not know (a newer ccweb wrote the file).
    pub unknown: Vec<i64>,
    /// Applied migrations whose checksum differs, or that failed half-way.
    pub broken: Vec<i64>,
    /// `PRAGMA quick_check`'s answer (`ok` when intact).
    pub quick_check: String,
}

/// Opens `path` read-only (never creating or migrating it) and compares its
/// migrations with the embedded ones.
pub async fn inspect(path: &Path) -> Result<DbHealth> {
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await?;
    let (quick_check,): (String,) = sqlx::query_as("PRAGMA quick_check")
        .fetch_one(&mut conn)
        .await?;
    let (has_table,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut conn)
    .await?;
    let rows: Vec<(i64, bool, Vec<u8>)> = if has_table > 0 {
        sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations")
            .fetch_all(&mut conn)
            .await?
    } else {
        Vec::new()
    };
    conn.close().await?;
    let done: BTreeMap<i64, (bool, Vec<u8>)> = rows
        .into_iter()
        .map(|(v, ok, sum)| (v, (ok, sum)))
        .collect();
    let mut health = DbHealth {
        applied: 0,
        pending: Vec::new(),
        unknown: Vec::new(),
        broken: Vec::new(),
        quick_check,
    };
    for m in crate::MIGRATOR.iter() {
        match done.get(&m.version) {
            None => health.pending.push(m.version),
            Some((true, sum)) if *sum == *m.checksum => health.applied += 1,
            Some(_) => health.broken.push(m.version),
        }
    }
    health.unknown = done
        .keys()
        .filter(|v| !crate::MIGRATOR.iter().any(|m| m.version == **v))
        .copied()
        .collect();
    Ok(health)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fresh_database_is_current_and_an_empty_file_has_everything_pending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let store = crate::Store::open(&path).await.unwrap();
        store.close().await;
        let h = inspect(&path).await.unwrap();
        assert_eq!(h.quick_check, "ok");
        assert!(
            h.applied > 0 && h.pending.is_empty() && h.unknown.is_empty() && h.broken.is_empty(),
            "{h:?}"
        );
        let empty = dir.path().join("b.db");
        std::fs::write(&empty, b"").unwrap();
        let h = inspect(&empty).await.unwrap();
        assert_eq!(h.applied, 0);
        assert!(!h.pending.is_empty());
    }
}
