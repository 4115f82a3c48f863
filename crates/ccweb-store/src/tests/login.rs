//! Login (cookie) sessions.

use super::TestStore;
use crate::StoreError;
use std::time::Duration;
use time::OffsetDateTime;

/// A generous idle timeout for tests that are not about idling.
const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_login_session_authenticates_with_its_secret() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let (session, secret) = t.store.create_login_session(alice.id, HOUR).await.unwrap();
    assert_eq!(session.user_id, alice.id);
    assert_eq!(
        session.expires_at - session.created_at,
        time::Duration::hours(1)
    );
    assert_eq!(secret.len(), 43);
    assert_eq!(session.csrf_token.len(), 43);
    assert_ne!(secret, session.csrf_token);

    let (user, found) = t
        .store
        .authenticate_login_session(&secret, HOUR)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user, alice);
    assert_eq!(found, session);
    assert!(t
        .store
        .authenticate_login_session("not-a-secret", HOUR)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn an_idle_login_session_is_refused_and_deleted() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let (_, secret) = t.store.create_login_session(alice.id, HOUR).await.unwrap();
    t.exec("UPDATE login_sessions SET last_seen_at = '2000-01-01T00:00:00.000000000Z'")
        .await;

    let idle = Duration::from_secs(600);
    assert!(t
        .store
        .authenticate_login_session(&secret, idle)
        .await
        .unwrap()
        .is_none());
    // Deleted: not even a longer idle timeout brings it back.
    assert!(t
        .store
        .authenticate_login_session(&secret, Duration::MAX)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_login_session_past_its_absolute_lifetime_is_refused_and_deleted() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let (_, secret) = t.store.create_login_session(alice.id, HOUR).await.unwrap();
    t.exec("UPDATE login_sessions SET expires_at = '2000-01-01T00:00:00.000000000Z'")
        .await;
    assert!(t
        .store
        .authenticate_login_session(&secret, HOUR)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        t.store.delete_user_login_sessions(alice.id).await.unwrap(),
        0
    );

    let (_, instant) = t
        .store
        .create_login_session(alice.id, Duration::ZERO)
        .await
        .unwrap();
    assert!(t
        .store
        .authenticate_login_session(&instant, HOUR)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn authenticating_refreshes_a_stale_last_seen_at() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let (_, secret) = t.store.create_login_session(alice.id, HOUR).await.unwrap();
    let two_minutes_ago = OffsetDateTime::now_utc() - time::Duration::minutes(2);
    t.exec(&format!(
        "UPDATE login_sessions SET last_seen_at = '{}'",
        crate::codec::ts(two_minutes_ago).unwrap()
    ))
    .await;

    let (_, session) = t
        .store
        .authenticate_login_session(&secret, HOUR)
        .await
        .unwrap()
        .unwrap();
    assert!(session.last_seen_at > two_minutes_ago + time::Duration::minutes(1));
    let (_, again) = t
        .store
        .authenticate_login_session(&secret, HOUR)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.last_seen_at, session.last_seen_at);
}

#[tokio::test]
async fn deleting_a_login_session_logs_it_out_and_may_be_repeated() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let (_, secret) = t.store.create_login_session(alice.id, HOUR).await.unwrap();
    let (_, other) = t.store.create_login_session(alice.id, HOUR).await.unwrap();
    t.store.delete_login_session(&secret).await.unwrap();
    t.store.delete_login_session(&secret).await.unwrap();
    let auth = |s| t.store.authenticate_login_session(s, HOUR);
    assert!(auth(&secret).await.unwrap().is_none());
    assert!(auth(&other).await.unwrap().is_some());
}

#[tokio::test]
async fn deleting_a_users_login_sessions_ends_all_of_them_and_no_others() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let bob = t.user("bob").await;
    for _ in 0..3 {
        t.store.create_login_session(alice.id, HOUR).await.unwrap();
    }
    let (_, bobs) = t.store.create_login_session(bob.id, HOUR).await.unwrap();
    assert_eq!(
        t.store.delete_user_login_sessions(alice.id).await.unwrap(),
        3
    );
    assert_eq!(
        t.store.delete_user_login_sessions(alice.id).await.unwrap(),
        0
    );
    assert!(t
        .store
        .authenticate_login_session(&bobs, HOUR)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn expired_login_sessions_are_purged_in_bulk() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let (_, fresh) = t.store.create_login_session(alice.id, HOUR).await.unwrap();
    t.store
        .create_login_session(alice.id, Duration::ZERO)
        .await
        .unwrap();
    let (_, idle) = t.store.create_login_session(alice.id, HOUR).await.unwrap();
    t.exec(&format!(
        "UPDATE login_sessions SET last_seen_at = '2000-01-01T00:00:00.000000000Z' \
         WHERE secret_hash = '{}'",
        crate::secret::sha256_hex(&idle)
    ))
    .await;

    let now = OffsetDateTime::now_utc();
    let purged = t
        .store
        .delete_expired_login_sessions(now, HOUR)
        .await
        .unwrap();
    assert_eq!(purged, 2);
    assert!(t
        .store
        .authenticate_login_session(&fresh, HOUR)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        t.store
            .delete_expired_login_sessions(now, Duration::MAX)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_login_session_for_an_unknown_user_or_absurd_lifetime_is_refused() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    assert!(matches!(
        t.store
            .create_login_session(uuid::Uuid::new_v4(), HOUR)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        t.store.create_login_session(alice.id, Duration::MAX).await,
        Err(StoreError::InvalidInput(_))
    ));
}

#[tokio::test]
async fn login_session_debug_hides_the_csrf_token() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let (session, _) = t.store.create_login_session(alice.id, HOUR).await.unwrap();
    let debug = format!("{session:?}");
    assert!(!debug.contains(&session.csrf_token));
    assert!(debug.contains("redacted"));
}

#[tokio::test]
async fn ending_a_users_other_logins_keeps_the_one_named_and_other_users() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let bob = t.user("bob").await;
    let (_, kept) = t.store.create_login_session(alice.id, HOUR).await.unwrap();
    let (_, other) = t.store.create_login_session(alice.id, HOUR).await.unwrap();
    let (_, bobs) = t.store.create_login_session(bob.id, HOUR).await.unwrap();
    assert_eq!(
        t.store
            .delete_other_login_sessions(alice.id, &kept)
            .await
            .unwrap(),
        1
    );
    for (secret, alive) in [(&kept, true), (&other, false), (&bobs, true)] {
        let found = t
            .store
            .authenticate_login_session(secret, HOUR)
            .await
            .unwrap();
        assert_eq!(found.is_some(), alive);
    }
}
