-- A user's settings for the web UI, kept on the server so they follow the
-- user to every browser and device. One row per user, written the first time
-- a setting changes; a user without a row has the defaults. One column per
-- setting (checked here, so a bad value cannot reach the UI from the
-- database either).
CREATE TABLE user_preferences (
    user_id    TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The colour theme: follow the system, or always light or dark.
    theme      TEXT NOT NULL DEFAULT 'system' CHECK (theme IN ('system', 'light', 'dark')),
    updated_at TEXT NOT NULL
);
