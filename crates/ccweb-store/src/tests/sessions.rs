//! CLI session records.

use super::TestStore;
use crate::{NewSession, SessionEnd, StoreError};
use ccweb_protocol::{SessionMode, SessionState, Usage};
use time::macros::datetime;
use time::OffsetDateTime;
use uuid::Uuid;

/// A new terminal session of `owner` created at `created_at`.
pub(super) fn new_session(owner: Uuid, created_at: OffsetDateTime) -> NewSession {
    NewSession {
        id: Uuid::new_v4(),
        owner_id: owner,
        mode: SessionMode::Terminal,
        state: SessionState::Starting,
        working_dir: "/home/alice/project".to_owned(),
        title: "project".to_owned(),
        title_auto: false,
        project_dir: "/home/alice/project".to_owned(),
        created_at,
        claude_session_id: None,
        model: Some("claude-sonnet-4".to_owned()),
        permission_mode: "default".to_owned(),
        cols: 120,
        rows: 40,
    }
}

/// An end with the given state and screen.
fn end(state: SessionState, final_screen: Option<Vec<u8>>) -> SessionEnd {
    SessionEnd {
        state,
        exit_code: Some(0),
        end_reason: "exit".to_owned(),
        ended_at: datetime!(2024-05-01 13:00 UTC),
        final_screen,
    }
}

#[tokio::test]
async fn an_inserted_session_reads_back_unchanged() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let created_at = datetime!(2024-05-01 12:34:56.123456789 +02:00);
    let new = NewSession {
        mode: SessionMode::Chat,
        claude_session_id: Some("c0ffee".to_owned()),
        ..new_session(alice.id, created_at)
    };
    let record = t.store.insert_session(&new).await.unwrap();

    assert_eq!(record.id, new.id);
    assert_eq!(record.owner_id, alice.id);
    assert_eq!(record.owner_name, "alice");
    assert_eq!(record.mode, SessionMode::Chat);
    assert_eq!(record.state, SessionState::Starting);
    assert_eq!(record.working_dir, new.working_dir);
    assert_eq!(record.title, new.title);
    assert_eq!(record.created_at, created_at);
    assert_eq!(record.last_activity_at, created_at);
    assert_eq!(record.ended_at, None);
    assert_eq!(record.exit_code, None);
    assert_eq!(record.end_reason, None);
    assert_eq!(record.claude_session_id.as_deref(), Some("c0ffee"));
    assert_eq!(record.model.as_deref(), Some("claude-sonnet-4"));
    assert_eq!(record.permission_mode, "default");
    assert_eq!((record.cols, record.rows), (120, 40));
    assert_eq!(
        (record.cost_usd, record.input_tokens, record.output_tokens),
        (0.0, 0, 0)
    );
    assert_eq!(t.store.get_session(new.id).await.unwrap(), Some(record));
    assert_eq!(t.store.get_session(Uuid::new_v4()).await.unwrap(), None);
}

#[tokio::test]
async fn inserting_with_an_unknown_owner_or_a_taken_id_fails() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let now = OffsetDateTime::now_utc();
    assert!(matches!(
        t.store
            .insert_session(&new_session(Uuid::new_v4(), now))
            .await,
        Err(StoreError::NotFound)
    ));
    let new = new_session(alice.id, now);
    t.store.insert_session(&new).await.unwrap();
    assert!(matches!(
        t.store.insert_session(&new).await,
        Err(StoreError::Conflict(_))
    ));
}

#[tokio::test]
async fn sessions_are_listed_newest_first_and_filtered_by_owner() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let bob = t.user("bob").await;
    let a1 = new_session(alice.id, datetime!(2024-05-01 10:00 UTC));
    // Sub-second and across a day: fixed-width text must still sort in time order.
    let b1 = new_session(bob.id, datetime!(2024-05-01 10:00:00.5 UTC));
    let a2 = new_session(alice.id, datetime!(2024-05-02 09:00 UTC));
    for s in [&b1, &a2, &a1] {
        t.store.insert_session(s).await.unwrap();
    }

    let ids = |v: Vec<crate::SessionRecord>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(t.store.list_sessions(None).await.unwrap()),
        [a2.id, b1.id, a1.id]
    );
    assert_eq!(
        ids(t.store.list_sessions(Some(alice.id)).await.unwrap()),
        [a2.id, a1.id]
    );
    let bobs = t.store.list_sessions(Some(bob.id)).await.unwrap();
    assert_eq!(bobs[0].owner_name, "bob");
    assert!(t
        .store
        .list_sessions(Some(Uuid::new_v4()))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn setting_a_title_returns_the_updated_session() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let new = new_session(alice.id, OffsetDateTime::now_utc());
    t.store.insert_session(&new).await.unwrap();
    let renamed = t.store.set_session_title(new.id, "Refactor").await.unwrap();
    assert_eq!(renamed.title, "Refactor");
    assert!(matches!(
        t.store.set_session_title(Uuid::new_v4(), "x").await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn size_activity_state_and_claude_id_updates_are_recorded() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let new = new_session(alice.id, datetime!(2024-05-01 12:00 UTC));
    t.store.insert_session(&new).await.unwrap();

    t.store.set_session_size(new.id, 80, 24).await.unwrap();
    let active = datetime!(2024-05-01 12:30 UTC);
    t.store.touch_session(new.id, active).await.unwrap();
    t.store
        .set_claude_session_id(new.id, "abc-123")
        .await
        .unwrap();
    t.store
        .set_session_state(new.id, SessionState::Running)
        .await
        .unwrap();

    let s = t.store.get_session(new.id).await.unwrap().unwrap();
    assert_eq!((s.cols, s.rows), (80, 24));
    assert_eq!(s.last_activity_at, active);
    assert_eq!(s.claude_session_id.as_deref(), Some("abc-123"));
    assert_eq!(s.state, SessionState::Running);

    let missing = Uuid::new_v4();
    assert!(matches!(
        t.store.set_session_size(missing, 1, 1).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        t.store.touch_session(missing, active).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn usage_is_summed_over_turns() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let new = new_session(alice.id, OffsetDateTime::now_utc());
    t.store.insert_session(&new).await.unwrap();
    let turn = Usage {
        cost_usd: 0.25,
        input_tokens: 100,
        output_tokens: 7,
    };
    t.store.add_session_usage(new.id, &turn).await.unwrap();
    t.store.add_session_usage(new.id, &turn).await.unwrap();
    let s = t.store.get_session(new.id).await.unwrap().unwrap();
    assert_eq!(
        (s.cost_usd, s.input_tokens, s.output_tokens),
        (0.5, 200, 14)
    );
    assert_eq!(
        s.into_info(2).usage,
        Usage {
            cost_usd: 0.5,
            input_tokens: 200,
            output_tokens: 14
        }
    );
}

#[tokio::test]
async fn an_ended_session_records_how_it_ended_and_its_final_screen() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let new = new_session(alice.id, datetime!(2024-05-01 12:00 UTC));
    t.store.insert_session(&new).await.unwrap();
    assert_eq!(t.store.final_screen(new.id).await.unwrap(), None);

    // Arbitrary bytes, not UTF-8: escape sequences and a NUL must survive.
    let screen = b"\x1b[2J\x1b[1;1Hhello\x00\xff\xfe".to_vec();
    let the_end = SessionEnd {
        exit_code: Some(130),
        end_reason: "stop".to_owned(),
        ..end(SessionState::Stopped, Some(screen.clone()))
    };
    t.store.mark_session_ended(new.id, &the_end).await.unwrap();

    let s = t.store.get_session(new.id).await.unwrap().unwrap();
    assert_eq!(s.state, SessionState::Stopped);
    assert_eq!(s.exit_code, Some(130));
    assert_eq!(s.end_reason.as_deref(), Some("stop"));
    assert_eq!(s.ended_at, Some(the_end.ended_at));
    assert_eq!(t.store.final_screen(new.id).await.unwrap(), Some(screen));

    // Ending again without a screen clears the old one.
    t.store
        .mark_session_ended(new.id, &end(SessionState::Exited, None))
        .await
        .unwrap();
    assert_eq!(t.store.final_screen(new.id).await.unwrap(), None);
    assert!(matches!(
        t.store.final_screen(Uuid::new_v4()).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn a_session_cannot_end_in_a_live_state() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let new = new_session(alice.id, OffsetDateTime::now_utc());
    t.store.insert_session(&new).await.unwrap();
    assert!(matches!(
        t.store
            .mark_session_ended(new.id, &end(SessionState::Running, None))
            .await,
        Err(StoreError::InvalidInput(_))
    ));
}

#[tokio::test]
async fn marking_a_session_running_clears_its_end() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let new = new_session(alice.id, datetime!(2024-05-01 12:00 UTC));
    t.store.insert_session(&new).await.unwrap();
    t.store
        .mark_session_ended(new.id, &end(SessionState::Exited, Some(b"bye".to_vec())))
        .await
        .unwrap();

    let resumed_at = datetime!(2024-05-02 08:00 UTC);
    t.store
        .mark_session_running(new.id, resumed_at)
        .await
        .unwrap();
    let s = t.store.get_session(new.id).await.unwrap().unwrap();
    assert_eq!(s.state, SessionState::Running);
    assert_eq!((s.ended_at, s.exit_code, s.end_reason), (None, None, None));
    assert_eq!(s.last_activity_at, resumed_at);
}

#[tokio::test]
async fn sessions_left_live_by_a_previous_process_are_marked_stopped() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let then = datetime!(2024-05-01 12:00 UTC);
    let starting = new_session(alice.id, then);
    let running = new_session(alice.id, then);
    let exited = new_session(alice.id, then);
    for s in [&starting, &running, &exited] {
        t.store.insert_session(s).await.unwrap();
    }
    t.store
        .mark_session_running(running.id, then)
        .await
        .unwrap();
    t.store
        .mark_session_ended(exited.id, &end(SessionState::Exited, None))
        .await
        .unwrap();

    let now = datetime!(2024-05-03 00:00 UTC);
    assert_eq!(t.store.mark_orphaned_sessions(now).await.unwrap(), 2);
    for id in [starting.id, running.id] {
        let s = t.store.get_session(id).await.unwrap().unwrap();
        assert_eq!(s.state, SessionState::Stopped);
        assert_eq!(s.end_reason.as_deref(), Some("server_restart"));
        assert_eq!(s.ended_at, Some(now));
    }
    let s = t.store.get_session(exited.id).await.unwrap().unwrap();
    assert_eq!(s.state, SessionState::Exited);
    assert_eq!(s.end_reason.as_deref(), Some("exit"));
    assert_eq!(t.store.mark_orphaned_sessions(now).await.unwrap(), 0);
}

#[tokio::test]
async fn deleting_a_session_removes_it() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let new = new_session(alice.id, OffsetDateTime::now_utc());
    t.store.insert_session(&new).await.unwrap();
    t.store.delete_session(new.id).await.unwrap();
    assert_eq!(t.store.get_session(new.id).await.unwrap(), None);
    assert!(matches!(
        t.store.delete_session(new.id).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn a_bad_stored_state_is_a_decode_error_not_a_panic() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let new = new_session(alice.id, OffsetDateTime::now_utc());
    t.store.insert_session(&new).await.unwrap();
    t.exec("UPDATE sessions SET state = 'zombie'").await;
    let err = t.store.get_session(new.id).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Database(sqlx::Error::ColumnDecode { ref index, .. }) if index == "sessions.state"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_record_becomes_the_api_session_object() {
    let t = TestStore::new().await;
    let alice = t.user("alice").await;
    let new = new_session(alice.id, OffsetDateTime::now_utc());
    let record = t.store.insert_session(&new).await.unwrap();
    let info = record.clone().into_info(3);
    assert_eq!(info.id, record.id);
    assert_eq!(info.owner, "alice");
    assert_eq!(info.viewers, 3);
    assert_eq!((info.cols, info.rows), (120, 40));
}
