//! The single-enabled-user rule of `isolation = "none"` without
//! `allow_shared_identity`: no second enabled user, by any path.

use super::TestStore;
use crate::StoreError;

#[tokio::test]
async fn a_second_enabled_user_is_refused_and_a_disabled_one_stays_disabled() {
    let mut t = TestStore::new().await;
    t.store = t.store.clone().single_enabled_user(true);
    let s = &t.store;
    s.create_user("admin", None, true).await.unwrap();
    let second = s.create_user("bob", None, false).await;
    assert!(
        matches!(second, Err(StoreError::SharedIdentity)),
        "{second:?}"
    );
    assert!(s.user_by_name("bob").await.unwrap().is_none());
    // A taken name stays a conflict, as without the rule.
    let taken = s.create_user("admin", None, false).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let oidc = s
        .create_oidc_user("carol", false, "https://idp", "sub-1")
        .await;
    assert!(matches!(oidc, Err(StoreError::SharedIdentity)), "{oidc:?}");
    // Disabling the one user makes room; enabling it again is fine while
    // it is alone, refused once another is enabled.
    s.set_user_disabled("admin", true).await.unwrap();
    s.create_user("bob", None, false).await.unwrap();
    let again = s.set_user_disabled("admin", false).await;
    assert!(
        matches!(again, Err(StoreError::SharedIdentity)),
        "{again:?}"
    );
    assert!(s.user_by_name("admin").await.unwrap().unwrap().disabled);
    s.set_user_disabled("bob", false).await.unwrap();
    assert!(matches!(
        s.set_user_disabled("nobody", false).await,
        Err(StoreError::NotFound)
    ));
    // Without the rule, as before.
    let open = t.store.clone().single_enabled_user(false);
    open.create_user("carol", None, false).await.unwrap();
    open.set_user_disabled("admin", false).await.unwrap();
}
