//! Users' preferences.

use super::TestStore;
use crate::StoreError;
use ccweb_protocol::{Preferences, Theme};

#[tokio::test]
async fn preferences_are_the_defaults_until_set_then_kept_per_user() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let bob = t.user("bob").await;
    assert_eq!(
        t.store.preferences(alice.id).await.unwrap(),
        Preferences::default()
    );
    let dark = Preferences { theme: Theme::Dark };
    t.store.set_preferences(alice.id, &dark).await.unwrap();
    assert_eq!(t.store.preferences(alice.id).await.unwrap(), dark);
    assert_eq!(
        t.store.preferences(bob.id).await.unwrap().theme,
        Theme::System
    );
    let light = Preferences {
        theme: Theme::Light,
    };
    t.store.set_preferences(alice.id, &light).await.unwrap();
    assert_eq!(t.store.preferences(alice.id).await.unwrap(), light);
}

#[tokio::test]
async fn preferences_of_an_unknown_user_are_not_found_and_bad_stored_values_are_errors() {
    let t = TestStore::new().await;
    let err = t
        .store
        .set_preferences(uuid::Uuid::new_v4(), &Preferences::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let alice = t.user("alice").await;
    // The table refuses a theme it does not know.
    let insert = sqlx::query(
        "INSERT INTO user_preferences (user_id, theme, updated_at) VALUES ($1, 'pink', 'x')",
    )
    .bind(alice.id.to_string())
    .execute(&t.store.pool)
    .await;
    assert!(insert.is_err());
}
