-- Login sessions: the browser's cookie, one row per login.
--
-- The primary key is the SHA-256 of the cookie secret (see api_tokens for why a fast hash
-- suffices), so the table alone cannot be used to log in. A session ends at expires_at
-- (absolute lifetime) or after an idle period since last_seen_at, whichever comes first.
CREATE TABLE login_sessions (
    -- Lower-case hex SHA-256 of the cookie secret.
    secret_hash  TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Echoed by the page in a header on unsafe requests. Stored plain: on its own it grants
    -- nothing, it only proves a request came from a page that could read it.
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    -- Updated at most once a minute, to keep writes off the request path.
    last_seen_at TEXT NOT NULL
);

-- Logging a user out everywhere (on disable or on request).
CREATE INDEX login_sessions_user_id ON login_sessions (user_id);
