//! The audit log: append, filtered newest-first pages, pruning.

use super::TestStore;
use crate::{AuditFilter, NewAuditEntry};
use serde_json::json;
use time::{Duration, OffsetDateTime};

fn entry(action: &str, outcome: &str) -> NewAuditEntry {
    NewAuditEntry {
        action: action.into(),
        outcome: outcome.into(),
        source: Some("127.0.0.1".into()),
        ..NewAuditEntry::default()
    }
}

#[tokio::test]
async fn entries_come_back_newest_first_with_their_detail() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let first = t
        .store
        .append_audit(&NewAuditEntry {
            user_id: Some(alice.id),
            user_name: Some("alice".into()),
            target: Some("s1".into()),
            detail: json!({"tool": "Bash"}),
            ..entry("session.create", "success")
        })
        .await
        .unwrap();
    let second = t
        .store
        .append_audit(&entry("login.failed", "failure"))
        .await
        .unwrap();
    assert!(second.id > first.id);
    let page = t
        .store
        .audit_page(&AuditFilter::default(), 10)
        .await
        .unwrap();
    assert_eq!(page, vec![second, first.clone()]);
    assert_eq!(page[1].detail, json!({"tool": "Bash"}));
    assert_eq!(page[1].user_id, Some(alice.id));
}

#[tokio::test]
async fn filters_combine_and_pages_continue_below_an_id() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    for i in 0..5 {
        t.store
            .append_audit(&NewAuditEntry {
                user_id: Some(alice.id),
                target: Some(format!("s{i}")),
                ..entry("session.stop", "success")
            })
            .await
            .unwrap();
    }
    t.store
        .append_audit(&entry("session.create", "denied"))
        .await
        .unwrap();
    t.store
        .append_audit(&entry("login", "success"))
        .await
        .unwrap();

    let mine = AuditFilter {
        user_id: Some(alice.id),
        ..AuditFilter::default()
    };
    let page1 = t.store.audit_page(&mine, 2).await.unwrap();
    assert_eq!(page1.len(), 2);
    let page2 = t
        .store
        .audit_page(
            &AuditFilter {
                before_id: Some(page1[1].id),
                ..mine.clone()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(page2.len(), 3, "the rest of alice's five");
    assert!(page2.iter().all(|e| e.id < page1[1].id));

    let sessions = AuditFilter {
        action: Some("session.*".into()),
        ..AuditFilter::default()
    };
    assert_eq!(t.store.audit_page(&sessions, 50).await.unwrap().len(), 6);
    let denied = AuditFilter {
        action: Some("session.*".into()),
        outcome: Some("denied".into()),
        ..AuditFilter::default()
    };
    assert_eq!(t.store.audit_page(&denied, 50).await.unwrap().len(), 1);
    let exact = AuditFilter {
        action: Some("session".into()),
        ..AuditFilter::default()
    };
    assert!(
        t.store.audit_page(&exact, 50).await.unwrap().is_empty(),
        "no prefix match without .*"
    );

    let future = AuditFilter {
        since: Some(OffsetDateTime::now_utc() + Duration::hours(1)),
        ..AuditFilter::default()
    };
    assert!(t.store.audit_page(&future, 50).await.unwrap().is_empty());
}

#[tokio::test]
async fn pruning_removes_only_older_entries() {
    let t = TestStore::new().await;
    t.store
        .append_audit(&entry("login", "success"))
        .await
        .unwrap();
    let removed = t
        .store
        .prune_audit(OffsetDateTime::now_utc() - Duration::days(1))
        .await
        .unwrap();
    assert_eq!(removed, 0);
    let removed = t
        .store
        .prune_audit(OffsetDateTime::now_utc() + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert!(t
        .store
        .audit_page(&AuditFilter::default(), 10)
        .await
        .unwrap()
        .is_empty());
}
