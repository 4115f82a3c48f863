//! Opening, reopening and closing the database file.

use super::TestStore;
use crate::{Store, StoreError};

#[tokio::test]
async fn reopening_the_same_file_keeps_data() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    t.store.close().await;

    let reopened = Store::open(&t.path).await.unwrap();
    assert_eq!(reopened.user_by_name("alice").await.unwrap(), Some(alice));
    assert_eq!(reopened.count_users().await.unwrap(), 1);
}

#[tokio::test]
async fn journal_mode_is_wal_and_foreign_keys_are_on() {
    let t = TestStore::new().await;
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&t.store.pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
        .fetch_one(&t.store.pool)
        .await
        .unwrap();
    assert_eq!(fk, 1);
}

#[tokio::test]
async fn ping_answers_on_an_open_store_and_fails_after_close() {
    let t = TestStore::new().await;
    t.store.ping().await.unwrap();
    t.store.close().await;
    assert!(matches!(t.store.ping().await, Err(StoreError::Database(_))));
}

#[tokio::test]
async fn close_checkpoints_the_wal_into_the_main_file() {
    let t = TestStore::new().await;
    t.user("alice").await;
    t.store.close().await;
    let wal = t.path.with_extension("db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "WAL still holds data after close");
}

#[tokio::test]
async fn opening_in_a_missing_directory_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("ccweb.db");
    assert!(matches!(
        Store::open(&path).await,
        Err(StoreError::Database(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_wait_for_each_other_instead_of_failing() {
    let t = TestStore::new().await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = t.store.clone();
        tasks.push(tokio::spawn(async move {
            let user = store.create_user(&format!("user{i}"), None, false).await?;
            store.set_user_disabled(&user.name, true).await?;
            store
                .create_login_session(user.id, std::time::Duration::from_secs(60))
                .await
                .map(|_| ())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(t.store.count_users().await.unwrap(), 40);
}
