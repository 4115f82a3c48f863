-- API tokens: bearer secrets for scripts and the CLI, one user each.
--
-- Only the SHA-256 of a secret is stored. A fast hash is enough because secrets are 256
-- random bits (nothing to brute-force), and a leaked database then opens no doors.
-- Tokens are revoked (revoked_at set), not deleted, so their use stays explainable.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The user's label for the token.
    name         TEXT NOT NULL,
    -- Lower-case hex SHA-256 of the whole secret ("ccweb_..."): how a token is looked up.
    secret_hash  TEXT NOT NULL UNIQUE,
    -- 'read' or 'full' (checked by the store, so a new scope needs no table rebuild).
    scope        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    -- NULL: never expires.
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT
);

-- Listing a user's tokens.
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);
