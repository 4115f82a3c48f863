//! The CLI's own conversation files as ccweb transcripts: importing an
//! earlier conversation into a new session, and following the file a
//! terminal session's CLI writes so it can be read as a chat too.

use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use ccweb_protocol::chat::ChatEvent;
use ccweb_runner::transcript;
use ccweb_store::Store;

/// After a terminal session ends, how long to keep following its file: the
/// CLI writes its last records a little after the screen shows them.
pub(crate) const FOLLOW_TAIL: Duration = Duration::from_millis(800);

/// Stores the events of the conversation file `path` (below the Claude
/// home `home`; opened as untrusted input) as the start of session `id`'s
/// transcript, followed by a `system` event `imported`. Returns how many
/// events were imported.
pub(crate) async fn import(
    store: &Store,
    id: Uuid,
    home: PathBuf,
    path: PathBuf,
) -> Result<usize, crate::error::ApiError> {
    let read =
        tokio::task::spawn_blocking(move || transcript::read_transcript(&home, &path, u64::MAX))
            .await
            .map_err(crate::error::ApiError::internal)?
            .map_err(crate::error::ApiError::internal)?;
    for event in &read.events {
        store.append_event(id, event).await?;
    }
    let note = ChatEvent::System {
        subtype: "imported".into(),
        model: None,
        cwd: None,
        tools: Vec::new(),
        slash_commands: Vec::new(),
        permission_mode: None,
        claude_session_id: read.session_id.clone(),
        data: serde_json::json!({"events": read.events.len(), "skipped_lines": read.skipped_lines}),
    };
    store.append_event(id, &note).await?;
    Ok(read.events.len())
}

/// Follows `path` from its current end (records written before were
/// imported or recorded already) and stores what the CLI appends as
/// session `id`'s events, until the returned token is cancelled.
pub(crate) fn follow(
    store: Store,
    id: Uuid,
    home: PathBuf,
    path: PathBuf,
    tracker: &TaskTracker,
    cancel: CancellationToken,
) {
    // lstat: never opens (a FIFO would block) nor follows a symlink.
    let offset = std::fs::symlink_metadata(&path).map_or(0, |m| m.len());
    let (tx, mut rx) = mpsc::channel(64);
    tracker.spawn(transcript::follow(home, path, offset, tx, cancel));
    tracker.spawn(async move {
        while let Some(event) = rx.recv().await {
            if let Err(e) = store.append_event(id, &event).await {
                tracing::warn!(session = %id, error = %e, "could not store a transcript event");
            }
        }
    });
}
