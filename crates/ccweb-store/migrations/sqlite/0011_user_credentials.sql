-- A user's own Claude credentials (an Anthropic API key, a Claude
-- subscription token), at most one of each kind per user. Only the server
-- can read them: the value is sealed with an AEAD key kept in the data dir,
-- outside the database, with the user id and kind bound as associated data,
-- so neither a copy of this file nor a row moved to another user yields a
-- usable secret. The hint (the last 4 characters) is what the API shows.
CREATE TABLE user_credentials (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('anthropic_api_key', 'claude_oauth_token')),
    -- The AEAD nonce (12 bytes) and the sealed value with its tag.
    nonce      BLOB NOT NULL,
    sealed     BLOB NOT NULL,
    hint       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, kind)
);
