//! Users and passwords.

use super::TestStore;
use crate::StoreError;

#[tokio::test]
async fn created_users_are_listed_by_name_and_counted() {
    let t = TestStore::new().await;
    t.user("carol").await;
    let alice = t.store.create_user("alice", None, true).await.unwrap();
    t.user("bob").await;

    assert!(alice.is_admin && !alice.disabled && !alice.has_password);
    let names: Vec<_> = t
        .store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert_eq!(t.store.count_users().await.unwrap(), 3);
    assert_eq!(t.store.user_by_id(alice.id).await.unwrap(), Some(alice));
    assert_eq!(t.store.user_by_name("dave").await.unwrap(), None);
}

#[tokio::test]
async fn a_duplicate_user_name_is_a_conflict() {
    let t = TestStore::new().await;
    t.user("alice").await;
    let err = t.store.create_user("alice", None, true).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m == "user alice already exists"));
}

#[tokio::test]
async fn a_bad_user_name_is_invalid_input() {
    let t = TestStore::new().await;
    for name in ["Alice", "", "-x", "a b"] {
        let err = t.store.create_user(name, None, false).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidInput(_)),
            "{name:?}: {err:?}"
        );
    }
    assert_eq!(t.store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn a_short_password_is_invalid_input() {
    let t = TestStore::new().await;
    let err = t
        .store
        .create_user("alice", Some("short"), false)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)));
    t.user("bob").await;
    let err = t.store.set_password("bob", "1234567").await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)));
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_phc_strings() {
    let t = TestStore::new().await;
    let alice = t
        .store
        .create_user("alice", Some("correct horse"), false)
        .await
        .unwrap();
    assert!(alice.has_password);
    let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM users WHERE name = 'alice'")
        .fetch_one(&t.store.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse"));
}

#[tokio::test]
async fn verify_password_accepts_the_right_password_only() {
    let t = TestStore::new().await;
    let alice = t
        .store
        .create_user("alice", Some("correct horse"), false)
        .await
        .unwrap();
    let right = t
        .store
        .verify_password("alice", "correct horse")
        .await
        .unwrap();
    assert_eq!(right, Some(alice));
    assert_eq!(
        t.store
            .verify_password("alice", "wrong horse")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        t.store
            .verify_password("nobody", "correct horse")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn verify_password_refuses_disabled_users_and_users_without_a_password() {
    let t = TestStore::new().await;
    t.store
        .create_user("alice", Some("correct horse"), false)
        .await
        .unwrap();
    t.store.set_user_disabled("alice", true).await.unwrap();
    assert_eq!(
        t.store
            .verify_password("alice", "correct horse")
            .await
            .unwrap(),
        None
    );

    t.user("bob").await;
    assert_eq!(t.store.verify_password("bob", "").await.unwrap(), None);
    assert_eq!(
        t.store
            .verify_password("bob", "anything at all")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn set_password_replaces_the_password() {
    let t = TestStore::new().await;
    t.user("alice").await;
    t.store
        .set_password("alice", "first password")
        .await
        .unwrap();
    t.store
        .set_password("alice", "second password")
        .await
        .unwrap();
    assert_eq!(
        t.store
            .verify_password("alice", "first password")
            .await
            .unwrap(),
        None
    );
    let user = t
        .store
        .verify_password("alice", "second password")
        .await
        .unwrap();
    assert!(user.is_some_and(|u| u.has_password));
    assert!(matches!(
        t.store.set_password("nobody", "whatever123").await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn disabling_and_enabling_a_user_is_recorded() {
    let t = TestStore::new().await;
    t.user("alice").await;
    let disabled = t.store.set_user_disabled("alice", true).await.unwrap();
    assert!(disabled.disabled);
    assert!(
        t.store
            .user_by_name("alice")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    let enabled = t.store.set_user_disabled("alice", false).await.unwrap();
    assert!(!enabled.disabled);
    assert!(matches!(
        t.store.set_user_disabled("nobody", true).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn disabling_a_user_deletes_their_login_sessions_only() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let bob = t.user("bob").await;
    let ttl = std::time::Duration::from_secs(3600);
    let (_, alice_secret) = t.store.create_login_session(alice.id, ttl).await.unwrap();
    let (_, bob_secret) = t.store.create_login_session(bob.id, ttl).await.unwrap();

    t.store.set_user_disabled("alice", true).await.unwrap();
    t.store.set_user_disabled("alice", false).await.unwrap();

    let auth = |s| t.store.authenticate_login_session(s, ttl);
    assert!(auth(&alice_secret).await.unwrap().is_none());
    assert!(auth(&bob_secret).await.unwrap().is_some());
}

#[tokio::test]
async fn first_admin_is_the_oldest_enabled_admin() {
    let t = TestStore::new().await;
    assert_eq!(t.store.first_admin().await.unwrap(), None);
    t.user("plain").await;
    t.store.create_user("zed", None, true).await.unwrap();
    // Distinct creation times, so the order is by time and not by the name tie-break.
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let younger = t.store.create_user("amy", None, true).await.unwrap();
    assert_eq!(t.store.first_admin().await.unwrap().unwrap().name, "zed");

    t.store.set_user_disabled("zed", true).await.unwrap();
    assert_eq!(t.store.first_admin().await.unwrap(), Some(younger));
}
