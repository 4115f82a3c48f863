//! Chat transcripts: numbering, paging, isolation between sessions.

use super::TestStore;
use ccweb_protocol::chat::ChatEvent;

async fn session(t: &TestStore) -> uuid::Uuid {
    let owner = match t.store.user_by_name("owner").await.unwrap() {
        Some(u) => u,
        None => t.user("owner").await,
    };
    let new = super::sessions::new_session(owner.id, time::OffsetDateTime::now_utc());
    t.store.insert_session(&new).await.unwrap();
    new.id
}

fn text(t: &str) -> ChatEvent {
    ChatEvent::UserMessage {
        text: t.into(),
        images: vec![],
        by: None,
    }
}

#[tokio::test]
async fn events_are_numbered_per_session_and_paged_in_order() {
    let t = TestStore::new().await;
    let store = &t.store;
    let a = session(&t).await;
    let b = session(&t).await;
    for i in 1..=5 {
        let e = store
            .append_event(a, &text(&format!("a{i}")))
            .await
            .unwrap();
        assert_eq!(e.seq, i);
    }
    assert_eq!(store.append_event(b, &text("b1")).await.unwrap().seq, 1);
    assert_eq!(store.last_seq(a).await.unwrap(), 5);
    assert_eq!(store.last_seq(uuid::Uuid::new_v4()).await.unwrap(), 0);
    let page = store.events_after(a, 2, 2).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(page[0].event, text("a3"));
    assert!(store.events_after(a, 5, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn deleting_a_session_deletes_its_events() {
    let t = TestStore::new().await;
    let store = &t.store;
    let a = session(&t).await;
    store.append_event(a, &text("x")).await.unwrap();
    store.delete_session(a).await.unwrap();
    assert_eq!(store.last_seq(a).await.unwrap(), 0);
}

#[tokio::test]
async fn search_finds_events_containing_the_text_case_insensitively_and_literally() {
    let t = TestStore::new().await;
    let store = &t.store;
    let a = session(&t).await;
    for s in ["Pineapple pizza", "mango", "100% sure", "under_score"] {
        store.append_event(a, &text(s)).await.unwrap();
    }
    let seqs =
        |v: Vec<ccweb_protocol::chat::StoredEvent>| v.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(store.search_events(a, 0, 10, "PINEAPPLE").await.unwrap()),
        [1]
    );
    assert_eq!(
        seqs(store.search_events(a, 0, 10, "%").await.unwrap()),
        [3],
        "% is literal"
    );
    assert!(
        store
            .search_events(a, 0, 10, "n_e")
            .await
            .unwrap()
            .is_empty(),
        "_ is literal (it would match \"nde\")"
    );
    assert!(
        store
            .search_events(a, 1, 10, "pineapple")
            .await
            .unwrap()
            .is_empty(),
        "after applies"
    );
}

#[tokio::test]
async fn a_batch_continues_the_numbering_and_is_stored_whole_or_not_at_all() {
    let t = TestStore::new().await;
    let store = &t.store;
    let a = session(&t).await;
    store.append_event(a, &text("first")).await.unwrap();
    let batch: Vec<_> = (0..300).map(|i| text(&format!("burst {i}"))).collect();
    let stored = store.append_events(a, &batch).await.unwrap();
    let seqs: Vec<i64> = stored.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (2..=301).collect::<Vec<_>>());
    assert_eq!(
        store.append_event(a, &text("after")).await.unwrap().seq,
        302
    );
    let page = store.events_after(a, 1, 1000).await.unwrap();
    assert_eq!(page.len(), 301);
    assert_eq!(page[0].event, batch[0]);
    assert!(store.append_events(a, &[]).await.unwrap().is_empty());
    // A session that does not exist: nothing is stored.
    let ghost = uuid::Uuid::new_v4();
    assert!(store.append_events(ghost, &batch[..2]).await.is_err());
    assert_eq!(store.last_seq(ghost).await.unwrap(), 0);
}
