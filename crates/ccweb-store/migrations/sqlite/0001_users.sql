-- Users: who may log in, and whether they administer the server.
--
-- Portable-SQL conventions for every table (a PostgreSQL backend follows with its own
-- migrations): ids are UUIDs as hyphenated lower-case TEXT; timestamps are RFC 3339 UTC
-- TEXT of fixed width (2024-05-01T12:00:00.000000000Z), which sorts in time order;
-- booleans are BOOLEAN (stored as 0/1 by SQLite).
--
-- Users are disabled rather than deleted, so sessions keep their owner.
CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    -- Lower-case login name, ^[a-z0-9][a-z0-9_.-]{0,63}$ (checked by the store).
    name          TEXT NOT NULL UNIQUE,
    -- argon2id PHC string; NULL for a user who can only use API tokens.
    password_hash TEXT,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TEXT NOT NULL
);
