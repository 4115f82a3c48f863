-- What the session list shows at a glance, kept up to date as events are
-- stored (by the store itself, so chat sessions, terminal transcripts and
-- imported conversations all count) instead of computed per list request,
-- which would read every session's events.

-- 1 while the title is the server's default (the directory's name, then the
-- first prompt); 0 once the user chose it. A user's title always wins.
ALTER TABLE sessions ADD COLUMN title_auto INTEGER NOT NULL DEFAULT 0;
-- The first prompt of the conversation (newlines made spaces, at most 200
-- characters); slash commands do not count.
ALTER TABLE sessions ADD COLUMN first_prompt TEXT;
-- The last user or assistant message, for the one-line preview: who wrote it
-- ('user' | 'assistant') and its text (cut to 200 characters).
ALTER TABLE sessions ADD COLUMN preview_role TEXT;
ALTER TABLE sessions ADD COLUMN preview_text TEXT;
-- 1 while the conversation's last step leaves the turn open (a prompt, a
-- tool call or its result); 0 once the assistant's turn ended. Terminal
-- sessions' "working" vs "waiting" comes from this.
ALTER TABLE sessions ADD COLUMN turn_open INTEGER NOT NULL DEFAULT 0;

-- The project the list groups the session under: the git top-level of its
-- working directory when it lies in a repository, else the directory itself
-- (NULL for rows from before: the directory).
ALTER TABLE sessions ADD COLUMN project_dir TEXT;

-- The conversation's words of an event (user text, assistant text blocks),
-- searched by GET /api/claude/sessions?q=; NULL for other events. Searching
-- the JSON body instead would also match keys and tool inputs.
ALTER TABLE chat_events ADD COLUMN text TEXT;

-- Existing rows. A title equal to the directory's last component was the default.
UPDATE sessions SET title_auto = 1
WHERE working_dir = title OR substr(working_dir, -length(title) - 1) = '/' || title;

UPDATE chat_events SET text = json_extract(body, '$.text')
WHERE kind = 'user_message' AND json_valid(body);

UPDATE chat_events SET text = (
    SELECT group_concat(json_extract(b.value, '$.text'), char(10))
    FROM json_each(chat_events.body, '$.content') AS b
    WHERE json_extract(b.value, '$.type') = 'text'
)
WHERE kind = 'assistant_message' AND json_valid(body);

UPDATE sessions SET first_prompt = (
    SELECT substr(trim(replace(replace(e.text, char(13), ' '), char(10), ' ')), 1, 200)
    FROM chat_events e
    WHERE e.session_id = sessions.id AND e.kind = 'user_message'
      AND trim(e.text) <> '' AND e.text NOT LIKE '/%'
    ORDER BY e.seq LIMIT 1
);

UPDATE sessions SET title = first_prompt WHERE title_auto = 1 AND first_prompt IS NOT NULL;
