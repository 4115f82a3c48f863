-- Read-only share links: whoever holds the link (and is logged in) may watch
-- the session. The secret is stored as its SHA-256, like API tokens.
CREATE TABLE session_shares (
    id          TEXT PRIMARY KEY NOT NULL,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL UNIQUE,
    created_by  TEXT NOT NULL REFERENCES users (id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT
);
CREATE INDEX session_shares_session ON session_shares (session_id);
