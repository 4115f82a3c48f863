-- Sessions: one row per Claude Code CLI run started from ccweb, kept after it ends so it can
-- be listed, its last screen shown, and the conversation resumed.
--
-- mode ('terminal' | 'chat') and state ('starting' | 'running' | 'exited' | 'stopped' |
-- 'failed') are the spellings of ccweb_protocol's enums; the store checks them on read
-- rather than with CHECK constraints, which SQLite can only change by rebuilding the table.
CREATE TABLE sessions (
    id                TEXT PRIMARY KEY NOT NULL,
    -- No cascade: users are disabled, never deleted, and sessions outlive that.
    owner_id          TEXT NOT NULL REFERENCES users (id),
    mode              TEXT NOT NULL,
    state             TEXT NOT NULL,
    -- Canonical working directory of the CLI.
    working_dir       TEXT NOT NULL,
    title             TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    -- Last input, output or attach; drives the idle timeout and the list's sorting in the UI.
    last_activity_at  TEXT NOT NULL,
    -- Set when the process ends, cleared when the session is resumed.
    ended_at          TEXT,
    -- 128 + signal number when the process was killed by a signal.
    exit_code         INTEGER,
    -- 'exit' | 'stop' | 'idle' | 'error' | 'shutdown' | 'server_restart'.
    end_reason        TEXT,
    -- The CLI's own conversation id (for --resume), once known.
    claude_session_id TEXT,
    model             TEXT,
    permission_mode   TEXT NOT NULL,
    -- Terminal size in cells (0..=65535).
    cols              INTEGER NOT NULL,
    rows              INTEGER NOT NULL,
    -- Model usage summed over the session's turns.
    cost_usd          DOUBLE PRECISION NOT NULL DEFAULT 0,
    input_tokens      BIGINT NOT NULL DEFAULT 0,
    output_tokens     BIGINT NOT NULL DEFAULT 0,
    -- The last terminal snapshot (escape sequences that redraw it), shown after the end.
    -- A PostgreSQL schema would use BYTEA.
    final_screen      BLOB
);

-- A user's sessions, newest first.
CREATE INDEX sessions_owner_id_created_at ON sessions (owner_id, created_at);
-- Everyone's sessions, newest first (admins).
CREATE INDEX sessions_created_at ON sessions (created_at);
