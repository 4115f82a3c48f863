-- Per-session caps on stored events (config session_max_events and
-- session_max_event_bytes): what a session has stored so far, kept by the
-- store as it appends, so checking the cap costs no scan of chat_events.
-- An agent that appends to its conversation file, or a chatty CLI, must not
-- fill the disk: past the cap the session stores nothing more.

-- Events stored for the session, and the bytes of their JSON bodies.
ALTER TABLE sessions ADD COLUMN events_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN events_bytes INTEGER NOT NULL DEFAULT 0;
-- 1 once the cap was reached (and the storage_cap_reached notice stored):
-- nothing more is stored for this session.
ALTER TABLE sessions ADD COLUMN events_capped INTEGER NOT NULL DEFAULT 0;

-- Existing rows.
UPDATE sessions SET
    events_count = (SELECT COUNT(*) FROM chat_events e WHERE e.session_id = sessions.id),
    events_bytes = (SELECT COALESCE(SUM(LENGTH(CAST(e.body AS BLOB))), 0)
                    FROM chat_events e WHERE e.session_id = sessions.id);
