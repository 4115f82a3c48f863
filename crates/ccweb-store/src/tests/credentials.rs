//! Users' sealed credentials: stored per user and kind, replaced, deleted,
//! gone with the user.

use super::TestStore;
use crate::{CredentialKind, SealedCredential, StoreError};
use time::OffsetDateTime;

fn sealed(kind: CredentialKind, byte: u8) -> SealedCredential {
    SealedCredential {
        kind,
        nonce: vec![byte; 12],
        sealed: vec![byte; 40],
        hint: format!("{byte:04}"),
        updated_at: OffsetDateTime::now_utc(),
    }
}

#[tokio::test]
async fn credentials_are_per_user_and_kind_replaced_and_deleted() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let bob = t.user("bob").await;
    let s = &t.store;
    assert!(s.credentials(alice.id).await.unwrap().is_empty());
    s.set_credential(alice.id, &sealed(CredentialKind::ClaudeOauthToken, 1))
        .await
        .unwrap();
    s.set_credential(alice.id, &sealed(CredentialKind::AnthropicApiKey, 2))
        .await
        .unwrap();
    s.set_credential(alice.id, &sealed(CredentialKind::AnthropicApiKey, 3))
        .await
        .unwrap();
    let got = s.credentials(alice.id).await.unwrap();
    let kinds: Vec<_> = got.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, CredentialKind::ALL, "one of each, in API order");
    assert_eq!(got[0].sealed, vec![3; 40], "replaced");
    assert_eq!(got[0].hint, "0003");
    assert!(s.credentials(bob.id).await.unwrap().is_empty());
    assert!(!s
        .delete_credential(bob.id, CredentialKind::AnthropicApiKey)
        .await
        .unwrap());
    assert!(s
        .delete_credential(alice.id, CredentialKind::AnthropicApiKey)
        .await
        .unwrap());
    assert_eq!(s.credentials(alice.id).await.unwrap().len(), 1);
    let unknown = s
        .set_credential(
            uuid::Uuid::new_v4(),
            &sealed(CredentialKind::AnthropicApiKey, 4),
        )
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)));
    t.exec(&format!("DELETE FROM users WHERE id = '{}'", alice.id))
        .await;
    t.exec("SELECT 1").await;
    assert!(s.credentials(alice.id).await.unwrap().is_empty(), "cascade");
}
