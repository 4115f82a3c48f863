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

fn assistant(blocks: serde_json::Value) -> ChatEvent {
    ChatEvent::AssistantMessage {
        message_id: "msg_1".into(),
        model: None,
        content: blocks.as_array().unwrap().clone(),
        parent_tool_use_id: None,
        error: None,
    }
}

#[tokio::test]
async fn stored_events_keep_the_list_summary_first_prompt_preview_and_open_turn() {
    let t = TestStore::new().await;
    let store = &t.store;
    let owner = t.user("owner").await;
    let new = crate::NewSession {
        title_auto: true,
        ..super::sessions::new_session(owner.id, time::OffsetDateTime::now_utc())
    };
    let id = store.insert_session(&new).await.unwrap().id;
    let get = || async { store.get_session(id).await.unwrap().unwrap() };
    let r = get().await;
    assert_eq!(
        (r.title.as_str(), r.first_prompt, r.preview, r.turn_open),
        ("project", None, None, false)
    );

    // A slash command neither names the session nor opens a turn.
    store
        .append_event(id, &text("/model sonnet"))
        .await
        .unwrap();
    let r = get().await;
    assert_eq!(
        (r.title.as_str(), r.first_prompt.as_deref(), r.turn_open),
        ("project", None, false)
    );
    assert_eq!(r.preview.unwrap().text, "/model sonnet");

    store
        .append_event(id, &text("  Fix the\n\nflaky   test "))
        .await
        .unwrap();
    let r = get().await;
    assert_eq!(
        (r.title.as_str(), r.first_prompt.as_deref(), r.turn_open),
        ("Fix the flaky test", Some("Fix the flaky test"), true)
    );
    // Thinking and a tool call keep the turn open; the reply's text ends it.
    let tool = serde_json::json!([{"type": "text", "text": "Let me look."}, {"type": "tool_use", "id": "t1", "name": "Read", "input": {}}]);
    store.append_event(id, &assistant(tool)).await.unwrap();
    assert!(get().await.turn_open);
    store
        .append_events(
            id,
            &[
                ChatEvent::ToolResult {
                    tool_use_id: "t1".into(),
                    content: serde_json::json!("file text"),
                    is_error: false,
                    structured: serde_json::Value::Null,
                },
                assistant(serde_json::json!([{"type": "thinking", "thinking": "hmm"}])),
            ],
        )
        .await
        .unwrap();
    let r = get().await;
    assert!(r.turn_open);
    assert_eq!(
        r.preview.as_ref().unwrap().text,
        "Let me look.",
        "tool results and thinking are no preview"
    );
    store
        .append_event(
            id,
            &assistant(serde_json::json!([{"type": "text", "text": "Fixed: the\ntimeout raced."}])),
        )
        .await
        .unwrap();
    let r = get().await;
    assert!(!r.turn_open);
    let preview = r.preview.unwrap();
    assert_eq!(
        (preview.role.as_str(), preview.text.as_str()),
        ("assistant", "Fixed: the timeout raced.")
    );

    // A later prompt is the preview, not the title; an interruption ends the turn.
    store
        .append_event(id, &text("And the docs?"))
        .await
        .unwrap();
    assert_eq!(get().await.title, "Fix the flaky test");
    store
        .append_event(id, &ChatEvent::notice("[Request interrupted by user]"))
        .await
        .unwrap();
    assert!(!get().await.turn_open);

    // The interactive CLI's first records come reply first: the prompt
    // still names the session, the reply stays the last message.
    let tui = store
        .insert_session(&crate::NewSession {
            title_auto: true,
            ..super::sessions::new_session(owner.id, time::OffsetDateTime::now_utc())
        })
        .await
        .unwrap()
        .id;
    store
        .append_event(
            tui,
            &assistant(serde_json::json!([{"type": "text", "text": "Hi."}])),
        )
        .await
        .unwrap();
    store.append_event(tui, &text("Say hi")).await.unwrap();
    let r = store.get_session(tui).await.unwrap().unwrap();
    assert_eq!(
        (
            r.title.as_str(),
            r.preview.unwrap().text.as_str(),
            r.turn_open
        ),
        ("Say hi", "Hi.", false)
    );

    // A user's title wins over the first prompt.
    let other = store
        .insert_session(&crate::NewSession {
            title_auto: false,
            ..super::sessions::new_session(owner.id, time::OffsetDateTime::now_utc())
        })
        .await
        .unwrap()
        .id;
    store
        .append_event(other, &text("Named by me"))
        .await
        .unwrap();
    let r = store.get_session(other).await.unwrap().unwrap();
    assert_eq!(
        (r.title.as_str(), r.first_prompt.as_deref()),
        ("project", Some("Named by me"))
    );
}

#[tokio::test]
async fn session_search_matches_conversation_words_literally_and_per_owner() {
    let t = TestStore::new().await;
    let store = &t.store;
    let a = session(&t).await;
    let b = session(&t).await;
    store.append_event(a, &text("hello")).await.unwrap();
    store
        .append_event(
            a,
            &assistant(
                serde_json::json!([{"type": "text", "text": "About 100% of QUOKKAS_smile"}]),
            ),
        )
        .await
        .unwrap();
    // Tool input is no conversation text.
    store
        .append_event(b, &assistant(serde_json::json!([{"type": "tool_use", "id": "x", "name": "Bash", "input": {"command": "quokkas"}}])))
        .await
        .unwrap();
    let owner = store.get_session(a).await.unwrap().unwrap().owner_id;
    let ids = |v: Vec<crate::SessionRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .search_sessions(Some(owner), "quokkas", 10)
            .await
            .unwrap()),
        [a]
    );
    assert_eq!(
        ids(store.search_sessions(None, "100%", 10).await.unwrap()),
        [a]
    );
    assert_eq!(
        ids(store.search_sessions(None, "s_s", 10).await.unwrap()),
        [a]
    );
    assert!(
        store
            .search_sessions(None, "1_0%", 10)
            .await
            .unwrap()
            .is_empty(),
        "_ and % are literal"
    );
    assert!(store
        .search_sessions(None, "' OR 1=1 --", 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .search_sessions(Some(uuid::Uuid::new_v4()), "quokkas", 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .search_sessions(None, "project", 1)
            .await
            .unwrap()
            .len(),
        1,
        "limited"
    );
}

#[tokio::test]
async fn a_session_past_its_event_cap_stores_one_notice_and_then_nothing() {
    let mut t = TestStore::new().await;
    t.store = t.store.clone().with_event_caps(crate::EventCaps {
        max_events: 3,
        max_bytes: u64::MAX,
    });
    let store = &t.store;
    let a = session(&t).await;
    let b = session(&t).await;
    store.append_event(a, &text("one")).await.unwrap();
    let batch: Vec<_> = (0..5).map(|i| text(&format!("burst {i}"))).collect();
    let stored = store.append_events(a, &batch).await.unwrap();
    // Two fit; the third would be the fourth event: the notice instead.
    assert_eq!(stored.len(), 3);
    assert!(stored[2].event.is_storage_cap_reached(), "{:?}", stored[2]);
    assert!(!stored[1].event.is_storage_cap_reached());
    // Nothing more, ever, for this session; the notice was stored once.
    assert!(store.append_events(a, &batch).await.unwrap().is_empty());
    assert!(store.append_event(a, &text("late")).await.is_err());
    let all = store.events_after(a, 0, 100).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        all.iter()
            .filter(|e| e.event.is_storage_cap_reached())
            .count(),
        1
    );
    // Other sessions have their own count.
    assert_eq!(store.append_events(b, &batch[..3]).await.unwrap().len(), 3);
}

#[tokio::test]
async fn the_byte_cap_counts_the_stored_json() {
    let mut t = TestStore::new().await;
    let one = serde_json::to_string(&text("0123456789")).unwrap().len() as u64;
    t.store = t.store.clone().with_event_caps(crate::EventCaps {
        max_events: u64::MAX,
        max_bytes: 2 * one + 1,
    });
    let a = session(&t).await;
    let batch: Vec<_> = (0..4).map(|_| text("0123456789")).collect();
    let stored = t.store.append_events(a, &batch).await.unwrap();
    assert_eq!(stored.len(), 3);
    assert!(stored[2].event.is_storage_cap_reached());
}
