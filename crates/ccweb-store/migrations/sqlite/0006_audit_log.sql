-- The audit log: who did what, from where, with what outcome.
--
-- Entries are only ever appended (and pruned by age). `user_id` is NULL for callers
-- who are not logged in (a failed login); `user_name` keeps the name at the time
-- (for a failed login the name that was tried, truncated), so entries stay
-- readable after a user changes. `detail` is a JSON object with the action's
-- particulars (never a secret).
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    user_id   TEXT,
    user_name TEXT,
    -- Client address (IP) the request came from; NULL for the command line.
    source    TEXT,
    -- What was done, dotted: login, login.failed, token.create, session.stop, …
    action    TEXT NOT NULL,
    -- success | failure | denied | limited
    outcome   TEXT NOT NULL,
    -- What it was done to: a session id, token id or user name.
    target    TEXT,
    detail    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
