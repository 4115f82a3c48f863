-- Chat events: the transcript of a session, one row per event, in order.
--
-- seq counts 1, 2, 3, … per session and is never reused: clients resume a
-- stream with "after_seq", so a gap or a reused number would lose or repeat
-- events. Only the session's own recorder task appends, so MAX(seq) + 1 in
-- the INSERT is race-free. The event itself is JSON text (ccweb_protocol's
-- ChatEvent); kind is copied out for filtering without parsing.
CREATE TABLE chat_events (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    at         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
