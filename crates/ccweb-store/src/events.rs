//! Chat transcripts: append-only, numbered events per session.

use crate::codec::{parse_ts, ts};
use crate::error::{Result, StoreError};
use crate::Store;
use ccweb_protocol::chat::{ChatEvent, StoredEvent};
use time::OffsetDateTime;
use uuid::Uuid;

/// Most events one page returns.
pub const MAX_EVENTS_PAGE: i64 = 1000;

/// Longest first prompt and preview kept, in characters (also the longest title).
const MAX_SUMMARY_CHARS: usize = 200;

/// Appends one event as the session's next (`MAX(seq) + 1`), with its
/// conversation text for search.
const INSERT_EVENT: &str = "INSERT INTO chat_events (session_id, seq, at, kind, body, text) \
     SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5 FROM chat_events WHERE session_id = $1 \
     RETURNING seq";

/// One line of at most [`MAX_SUMMARY_CHARS`]: runs of whitespace (newlines
/// too) become one space.
fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX_SUMMARY_CHARS) {
        Some((cut, _)) => line[..cut].to_owned(),
        None => line,
    }
}

/// Keeps the session row's list summary in step with `event`: the first
/// prompt (and, while the title is the default, the title), the preview of
/// the last message, and whether the turn is open. In the caller's
/// transaction, so the row never disagrees with the stored events.
async fn note_in_session(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    session_id: &str,
    event: &ChatEvent,
) -> Result<()> {
    let text = event.conversation_text().map(|t| one_line(&t));
    let turn = event.turn_step();
    if text.as_deref().is_none_or(str::is_empty) && turn.is_none() {
        return Ok(());
    }
    let (role, first_prompt) = match event {
        ChatEvent::UserMessage { .. } => (
            "user",
            text.clone()
                .filter(|t| !t.is_empty() && !t.starts_with('/')),
        ),
        _ => ("assistant", None),
    };
    let preview = text.filter(|t| !t.is_empty());
    // SET expressions all read the old row, so `first_prompt IS NULL` is the
    // value before this statement. Hazard: the interactive CLI writes its
    // conversation file first at the end of the first turn, and then the
    // reply's record before the prompt's; a first prompt that arrives after
    // a reply is older than it, so it names the session but is neither the
    // preview nor reopens the turn (`stale`).
    sqlx::query(
        "UPDATE sessions SET \
           title = CASE WHEN title_auto = 1 AND first_prompt IS NULL AND $1 IS NOT NULL \
                   THEN $1 ELSE title END, \
           first_prompt = COALESCE(first_prompt, $1), \
           preview_role = CASE WHEN $3 IS NULL OR stale THEN preview_role ELSE $2 END, \
           preview_text = CASE WHEN stale THEN preview_text ELSE COALESCE($3, preview_text) END, \
           turn_open = CASE WHEN stale THEN turn_open ELSE COALESCE($4, turn_open) END \
         FROM (SELECT $1 IS NOT NULL AND first_prompt IS NULL AND preview_role = 'assistant' AS stale \
               FROM sessions WHERE id = $5) AS old \
         WHERE id = $5",
    )
    .bind(first_prompt)
    .bind(role)
    .bind(preview)
    .bind(turn)
    .bind(session_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Stores `event` as the session's next event and returns it with its
    /// seq (see [`append_events`](Self::append_events): the storage cap
    /// notice instead, when this event reached the session's cap; a
    /// `Conflict` once the cap was reached before).
    pub async fn append_event(&self, session_id: Uuid, event: &ChatEvent) -> Result<StoredEvent> {
        self.append_events(session_id, std::slice::from_ref(event))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Conflict("the session reached its storage cap".into()))
    }

    /// Stores `events` as the session's next events, in order, in one
    /// transaction (all or none), and returns them with their seqs. One
    /// commit for a burst instead of one per event is what lets a chat
    /// session store thousands of events a second.
    ///
    /// Capped per session ([`EventCaps`](crate::EventCaps)): the event that
    /// would go past `max_events` or `max_bytes` is replaced by the
    /// [`storage_cap_reached`](ChatEvent::storage_cap_reached) notice,
    /// stored and returned as the last one; after it nothing more is stored
    /// for the session (an empty list comes back). Callers tell viewers by
    /// publishing what comes back, as always.
    pub async fn append_events(
        &self,
        session_id: Uuid,
        events: &[ChatEvent],
    ) -> Result<Vec<StoredEvent>> {
        let at = OffsetDateTime::now_utc();
        let at_text = ts(at)?;
        let id = session_id.to_string();
        let mut tx = self.pool.begin().await?;
        // A write first, so the transaction holds the write lock from its
        // first statement (no read-then-write race); it reads the counters.
        let (mut count, mut bytes, capped): (i64, i64, bool) = sqlx::query_as(
            "UPDATE sessions SET events_count = events_count WHERE id = $1 \
             RETURNING events_count, events_bytes, events_capped",
        )
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
        if capped {
            return Ok(Vec::new());
        }
        let caps = self.caps;
        let mut stored = Vec::with_capacity(events.len());
        let mut reached = false;
        for event in events {
            let body = serde_json::to_string(event)
                .map_err(|e| StoreError::InvalidInput(e.to_string()))?;
            let size = body.len() as i64;
            let over = count.saturating_add(1) as u64 > caps.max_events
                || bytes.saturating_add(size) as u64 > caps.max_bytes;
            let (event, body) = if over {
                let notice = ChatEvent::storage_cap_reached(caps.max_events, caps.max_bytes);
                let body = serde_json::to_string(&notice)
                    .map_err(|e| StoreError::InvalidInput(e.to_string()))?;
                reached = true;
                (notice, body)
            } else {
                (event.clone(), body)
            };
            let size = body.len() as i64;
            let (seq,): (i64,) = sqlx::query_as(INSERT_EVENT)
                .bind(&id)
                .bind(&at_text)
                .bind(event.kind())
                .bind(body)
                .bind(event.conversation_text())
                .fetch_one(&mut *tx)
                .await?;
            note_in_session(&mut tx, &id, &event).await?;
            count += 1;
            bytes += size;
            stored.push(StoredEvent { seq, at, event });
            if reached {
                break;
            }
        }
        sqlx::query(
            "UPDATE sessions SET events_count = $1, events_bytes = $2, events_capped = $3 WHERE id = $4",
        )
        .bind(count)
        .bind(bytes)
        .bind(reached)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Events with `seq > after`, oldest first, at most `limit` (capped at [`MAX_EVENTS_PAGE`]).
    /// A stored body that no longer parses comes back as an `error` event, not a failure.
    pub async fn events_after(
        &self,
        session_id: Uuid,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>> {
        self.events_page(session_id, after, limit, None).await
    }

    /// Like [`events_after`](Self::events_after), only events whose JSON
    /// contains `text` (case-insensitive for ASCII).
    pub async fn search_events(
        &self,
        session_id: Uuid,
        after: i64,
        limit: i64,
        text: &str,
    ) -> Result<Vec<StoredEvent>> {
        self.events_page(session_id, after, limit, Some(text)).await
    }

    async fn events_page(
        &self,
        session_id: Uuid,
        after: i64,
        limit: i64,
        text: Option<&str>,
    ) -> Result<Vec<StoredEvent>> {
        // LOWER(..) LIKE LOWER(..) rather than ILIKE: portable SQL.
        let pattern = text.map(crate::codec::like_pattern);
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT seq, at, body FROM chat_events WHERE session_id = $1 AND seq > $2 \
             AND ($4 IS NULL OR LOWER(body) LIKE LOWER($4) ESCAPE '\\') ORDER BY seq LIMIT $3",
        )
        .bind(session_id.to_string())
        .bind(after)
        .bind(limit.clamp(0, MAX_EVENTS_PAGE))
        .bind(pattern)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(seq, at, body)| {
                let at = parse_ts("at", &at)?;
                let event = serde_json::from_str(&body).unwrap_or_else(|e| ChatEvent::Error {
                    code: "unreadable_event".into(),
                    message: format!("stored event {seq} could not be read: {e}"),
                    line: None,
                });
                Ok(StoredEvent { seq, at, event })
            })
            .collect()
    }

    /// The newest event's seq (0 when there is none).
    pub async fn last_seq(&self, session_id: Uuid) -> Result<i64> {
        let (seq,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM chat_events WHERE session_id = $1")
                .bind(session_id.to_string())
                .fetch_one(&self.pool)
                .await?;
        Ok(seq)
    }
}
