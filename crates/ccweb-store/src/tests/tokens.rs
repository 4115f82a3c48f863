//! API tokens.

use super::TestStore;
use crate::{StoreError, TokenScope};
use time::{Duration, OffsetDateTime};

#[tokio::test]
async fn a_new_token_has_the_documented_format_and_authenticates() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let (token, secret) = t
        .store
        .create_api_token(alice.id, "laptop", TokenScope::Read, None)
        .await
        .unwrap();
    let body = secret.strip_prefix("ccweb_").unwrap();
    assert_eq!(body.len(), 43);
    assert!(body
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));

    let (user, found) = t
        .store
        .authenticate_api_token(&secret)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user, alice);
    assert_eq!(found.id, token.id);
    assert_eq!(found.scope, TokenScope::Read);
    assert_eq!(found.name, "laptop");
}

#[tokio::test]
async fn unknown_or_malformed_secrets_do_not_authenticate() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let (_, secret) = t
        .store
        .create_api_token(alice.id, "x", TokenScope::Full, None)
        .await
        .unwrap();
    let auth = |s| t.store.authenticate_api_token(s);
    assert!(auth("ccweb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await
        .unwrap()
        .is_none());
    assert!(auth(&secret[6..]).await.unwrap().is_none());
    assert!(auth("").await.unwrap().is_none());
}

#[tokio::test]
async fn authenticating_records_last_used_at() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let (token, secret) = t
        .store
        .create_api_token(alice.id, "ci", TokenScope::Full, None)
        .await
        .unwrap();
    assert_eq!(token.last_used_at, None);

    let before = OffsetDateTime::now_utc();
    let (_, used) = t
        .store
        .authenticate_api_token(&secret)
        .await
        .unwrap()
        .unwrap();
    let last_used = used.last_used_at.unwrap();
    assert!(last_used >= before);
    let listed = t.store.list_api_tokens(alice.id).await.unwrap();
    assert_eq!(listed[0].last_used_at, Some(last_used));
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let past = OffsetDateTime::now_utc() - Duration::seconds(1);
    let (_, expired) = t
        .store
        .create_api_token(alice.id, "old", TokenScope::Full, Some(past))
        .await
        .unwrap();
    let future = OffsetDateTime::now_utc() + Duration::hours(1);
    let (_, valid) = t
        .store
        .create_api_token(alice.id, "new", TokenScope::Full, Some(future))
        .await
        .unwrap();
    assert!(t
        .store
        .authenticate_api_token(&expired)
        .await
        .unwrap()
        .is_none());
    assert!(t
        .store
        .authenticate_api_token(&valid)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_revoked_token_is_refused_and_only_its_owner_may_revoke_it() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let bob = t.user("bob").await;
    let (token, secret) = t
        .store
        .create_api_token(alice.id, "x", TokenScope::Full, None)
        .await
        .unwrap();

    assert!(matches!(
        t.store.revoke_api_token(bob.id, token.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(t
        .store
        .authenticate_api_token(&secret)
        .await
        .unwrap()
        .is_some());

    t.store.revoke_api_token(alice.id, token.id).await.unwrap();
    assert!(t
        .store
        .authenticate_api_token(&secret)
        .await
        .unwrap()
        .is_none());
    let revoked_at = t.store.list_api_tokens(alice.id).await.unwrap()[0].revoked_at;
    assert!(revoked_at.is_some());

    // Revoking again is fine and keeps the first time.
    t.store.revoke_api_token(alice.id, token.id).await.unwrap();
    assert_eq!(
        t.store.list_api_tokens(alice.id).await.unwrap()[0].revoked_at,
        revoked_at
    );
    assert!(matches!(
        t.store
            .revoke_api_token(alice.id, uuid::Uuid::new_v4())
            .await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn tokens_of_a_disabled_user_are_refused_until_re_enabled() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let (_, secret) = t
        .store
        .create_api_token(alice.id, "x", TokenScope::Full, None)
        .await
        .unwrap();
    t.store.set_user_disabled("alice", true).await.unwrap();
    assert!(t
        .store
        .authenticate_api_token(&secret)
        .await
        .unwrap()
        .is_none());
    t.store.set_user_disabled("alice", false).await.unwrap();
    assert!(t
        .store
        .authenticate_api_token(&secret)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn token_secrets_are_stored_only_as_their_sha256() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let (_, secret) = t
        .store
        .create_api_token(alice.id, "x", TokenScope::Full, None)
        .await
        .unwrap();
    t.store.close().await;

    let mut bytes = std::fs::read(&t.path).unwrap();
    if let Ok(wal) = std::fs::read(t.path.with_extension("db-wal")) {
        bytes.extend(wal);
    }
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(secret.as_bytes()));
    assert!(!contains(&secret.as_bytes()[6..]));
    assert!(contains(crate::secret::sha256_hex(&secret).as_bytes()));
}

#[tokio::test]
async fn tokens_are_listed_per_user_newest_first() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let bob = t.user("bob").await;
    for name in ["first", "second"] {
        t.store
            .create_api_token(alice.id, name, TokenScope::Read, None)
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    t.store
        .create_api_token(bob.id, "bobs", TokenScope::Read, None)
        .await
        .unwrap();
    let names: Vec<_> = t
        .store
        .list_api_tokens(alice.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["second", "first"]);
}

#[tokio::test]
async fn a_token_for_an_unknown_user_or_without_a_name_is_refused() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    assert!(matches!(
        t.store
            .create_api_token(uuid::Uuid::new_v4(), "x", TokenScope::Full, None)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        t.store
            .create_api_token(alice.id, "  ", TokenScope::Full, None)
            .await,
        Err(StoreError::InvalidInput(_))
    ));
}
