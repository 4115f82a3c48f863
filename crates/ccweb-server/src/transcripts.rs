//! The CLI's own conversation files as ccweb transcripts: importing an
//! earlier conversation into a new session, and following the file a
//! terminal session's CLI writes so it can be read as a chat too.

use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use ccweb_protocol::chat::{ChatEvent, StoredEvent};
use ccweb_runner::transcript;
use ccweb_store::Store;

use crate::sessions::UserHome;

/// After a terminal session ends, how long to keep following its file: the
/// CLI writes its last records a little after the screen shows them.
pub(crate) const FOLLOW_TAIL: Duration = Duration::from_millis(800);

/// Most events stored in one transaction by an import or a follower.
const BATCH: usize = 256;

/// Stores the events of the conversation file `path` (below the Claude
/// home `home`, read by who may read it; opened as untrusted input, read
/// at most `max_bytes` far) as
/// the start of session `id`'s transcript, followed by a `system` event
/// `imported`. The session's storage cap applies: past it the import stops
/// (the store keeps the `storage_cap_reached` notice). Returns how many
/// events were imported.
pub(crate) async fn import(
    store: &Store,
    id: Uuid,
    home: UserHome,
    path: PathBuf,
    max_bytes: u64,
) -> Result<usize, crate::error::ApiError> {
    let read = tokio::task::spawn_blocking(move || {
        transcript::read_transcript(&home.files, &home.path, &path, max_bytes)
    })
    .await
    .map_err(crate::error::ApiError::internal)?
    .map_err(crate::error::ApiError::internal)?;
    if read.cut {
        tracing::warn!(session = %id, max_bytes, "the imported conversation file is bigger than session_max_event_bytes; only its start was imported");
    }
    let mut imported = 0;
    for chunk in read.events.chunks(BATCH) {
        let stored = store.append_events(id, chunk).await?;
        if capped(id, &stored) || stored.len() < chunk.len() {
            return Ok(imported + stored.len().saturating_sub(1));
        }
        imported += stored.len();
    }
    let note = ChatEvent::System {
        subtype: "imported".into(),
        model: None,
        cwd: None,
        tools: Vec::new(),
        slash_commands: Vec::new(),
        permission_mode: None,
        claude_session_id: read.session_id.clone(),
        data: serde_json::json!({"events": read.events.len(), "skipped_lines": read.skipped_lines, "cut": read.cut}),
    };
    let stored = store.append_events(id, &[note]).await?;
    capped(id, &stored);
    Ok(read.events.len())
}

/// Whether `stored` ends with the storage cap notice (logged once: the
/// store stores it once per session).
fn capped(id: Uuid, stored: &[StoredEvent]) -> bool {
    let reached = stored
        .last()
        .is_some_and(|e| e.event.is_storage_cap_reached());
    if reached {
        tracing::warn!(session = %id, "the session reached its storage cap (session_max_events / session_max_event_bytes); nothing more of it is stored");
    }
    reached
}

/// Follows `path` (below the Claude home `home`, read by who may read it)
/// from its current end
/// (records written before were imported or recorded already) and stores
/// what the CLI appends as session `id`'s events, until the returned token
/// is cancelled, or the session reaches its storage cap (then following
/// stops; the session goes on).
pub(crate) fn follow(
    store: Store,
    id: Uuid,
    home: UserHome,
    path: PathBuf,
    tracker: &TaskTracker,
    cancel: CancellationToken,
) {
    let (tx, mut rx) = mpsc::channel(64);
    let following = cancel.clone();
    tracker.spawn(async move {
        // Never a blocking open nor a symlink followed (see `len_beneath`).
        let (files, base, file) = (home.files.clone(), home.path.clone(), path.clone());
        let offset = tokio::task::spawn_blocking(move || files.len_beneath(&base, &file))
            .await
            .unwrap_or(0);
        transcript::follow(home.files, home.path, path, offset, tx, following).await
    });
    tracker.spawn(async move {
        let mut batch = Vec::with_capacity(BATCH);
        while rx.recv_many(&mut batch, BATCH).await > 0 {
            match store.append_events(id, &batch).await {
                Ok(stored) if capped(id, &stored) || stored.is_empty() => {
                    cancel.cancel();
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(session = %id, error = %e, "could not store transcript events");
                }
            }
            batch.clear();
        }
    });
}
