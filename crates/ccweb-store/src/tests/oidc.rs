//! OpenID Connect identities: one link per provider account and per user
//! and issuer, created together with the user or attached to one.

use super::TestStore;
use crate::StoreError;

const ISS: &str = "https://login.example.com";

#[tokio::test]
async fn identities_link_one_account_to_one_user_per_issuer() {
    let t = TestStore::new().await;
    let alice = t
        .store
        .create_oidc_user("alice", false, ISS, "sub-a")
        .await
        .unwrap();
    assert!(!alice.has_password);
    let found = t.store.user_by_oidc_identity(ISS, "sub-a").await.unwrap();
    assert_eq!(found, Some(alice.clone()));
    assert_eq!(
        t.store
            .user_by_oidc_identity("https://other", "sub-a")
            .await
            .unwrap(),
        None
    );

    // The name is taken: nothing is created or linked.
    let err = t
        .store
        .create_oidc_user("alice", false, ISS, "sub-b")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        t.store.user_by_oidc_identity(ISS, "sub-b").await.unwrap(),
        None
    );

    // A second account of the same issuer cannot be attached to alice, nor
    // alice's account to someone else.
    let bob = t.user("bob").await;
    assert!(t.store.has_oidc_identity(alice.id).await.unwrap());
    assert!(!t.store.has_oidc_identity(bob.id).await.unwrap());
    let err = t
        .store
        .link_oidc_identity(alice.id, ISS, "sub-c")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = t
        .store
        .link_oidc_identity(bob.id, ISS, "sub-a")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    t.store
        .link_oidc_identity(bob.id, ISS, "sub-b")
        .await
        .unwrap();
    assert_eq!(
        t.store
            .user_by_oidc_identity(ISS, "sub-b")
            .await
            .unwrap()
            .unwrap()
            .id,
        bob.id
    );

    let bob = t.store.set_user_admin(bob.id, true).await.unwrap();
    assert!(bob.is_admin);
    let bob = t.store.set_user_admin(bob.id, false).await.unwrap();
    assert!(!bob.is_admin);
}
