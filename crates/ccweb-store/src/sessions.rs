//! The record of every Claude Code CLI session: what was started, its state, how it ended.

use crate::codec::{parse_enum, parse_opt_ts, parse_ts, parse_u16, parse_uuid, ts};
use crate::error::{Result, StoreError};
use crate::Store;
use ccweb_protocol::{Preview, SessionActivity, SessionInfo, SessionMode, SessionState, Usage};
use sqlx::sqlite::SqliteQueryResult;
use time::OffsetDateTime;
use uuid::Uuid;

/// End reason recorded for sessions a previous server process left running.
const SERVER_RESTART_REASON: &str = "server_restart";

/// A session to record, as the server starts it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// Random id, chosen by the caller.
    pub id: Uuid,
    /// The owning user.
    pub owner_id: Uuid,
    /// Terminal or chat.
    pub mode: SessionMode,
    /// Initial state (normally `starting`).
    pub state: SessionState,
    /// Canonical working directory of the CLI.
    pub working_dir: String,
    /// Title shown in lists.
    pub title: String,
    /// The title is the server's default, not the user's: the first prompt replaces it.
    pub title_auto: bool,
    /// The git top-level of `working_dir`, else `working_dir` (the list groups by it).
    pub project_dir: String,
    /// Creation time; also the initial `last_activity_at`.
    pub created_at: OffsetDateTime,
    /// The CLI conversation id, when resuming one.
    pub claude_session_id: Option<String>,
    /// Model asked for, if any.
    pub model: Option<String>,
    /// Permission mode asked for.
    pub permission_mode: String,
    /// Terminal width in cells.
    pub cols: u16,
    /// Terminal height in cells.
    pub rows: u16,
}

/// A recorded session. The final screen is fetched separately ([`Store::final_screen`]):
/// it is large and lists do not need it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// Random id.
    pub id: Uuid,
    /// The owning user.
    pub owner_id: Uuid,
    /// The owning user's name.
    pub owner_name: String,
    /// Terminal or chat.
    pub mode: SessionMode,
    /// Lifecycle state.
    pub state: SessionState,
    /// Canonical working directory of the CLI.
    pub working_dir: String,
    /// Title shown in lists.
    pub title: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last input, output or attach.
    pub last_activity_at: OffsetDateTime,
    /// When the process ended, if it has.
    pub ended_at: Option<OffsetDateTime>,
    /// Exit code of the process (128 + signal number when killed by a signal).
    pub exit_code: Option<i32>,
    /// Why the process ended (`exit`, `stop`, `idle`, `error`, `shutdown`, `server_restart`).
    pub end_reason: Option<String>,
    /// The CLI conversation id, once known.
    pub claude_session_id: Option<String>,
    /// Model asked for, if any.
    pub model: Option<String>,
    /// Permission mode asked for.
    pub permission_mode: String,
    /// Terminal width in cells.
    pub cols: u16,
    /// Terminal height in cells.
    pub rows: u16,
    /// Cost reported by the CLI, in US dollars, summed over turns.
    pub cost_usd: f64,
    /// Input tokens, summed over turns.
    pub input_tokens: i64,
    /// Output tokens, summed over turns.
    pub output_tokens: i64,
    /// The conversation's first prompt (slash commands do not count).
    pub first_prompt: Option<String>,
    /// The last user or assistant message.
    pub preview: Option<Preview>,
    /// The git top-level of `working_dir`, else `working_dir`.
    pub project_dir: String,
    /// The conversation's last step leaves the assistant's turn open (see
    /// [`ccweb_protocol::chat::ChatEvent::turn_step`]).
    pub turn_open: bool,
}

impl SessionRecord {
    /// The REST API's session object, with the live viewer count the store does not know.
    pub fn into_info(self, viewers: u32) -> SessionInfo {
        SessionInfo {
            id: self.id,
            owner: self.owner_name,
            mode: self.mode,
            state: self.state,
            working_dir: self.working_dir,
            title: self.title,
            first_prompt: self.first_prompt,
            preview: self.preview,
            project: self.project_dir,
            created_at: self.created_at,
            last_activity_at: self.last_activity_at,
            ended_at: self.ended_at,
            exit_code: self.exit_code,
            end_reason: self.end_reason,
            claude_session_id: self.claude_session_id,
            model: self.model,
            permission_mode: self.permission_mode,
            cols: self.cols,
            rows: self.rows,
            viewers,
            needs_attention: false,
            // What the store knows; the server adds what the live process says.
            activity: if self.state.is_live() {
                SessionActivity::Waiting
            } else {
                SessionActivity::Ended
            },
            usage: Usage {
                cost_usd: self.cost_usd,
                input_tokens: self.input_tokens,
                output_tokens: self.output_tokens,
            },
        }
    }
}

/// How a session's process ended.
#[derive(Clone, PartialEq)]
pub struct SessionEnd {
    /// `exited`, `stopped` or `failed`.
    pub state: SessionState,
    /// Exit code, if the process ran and was reaped.
    pub exit_code: Option<i32>,
    /// Why it ended (`exit`, `stop`, `idle`, `error`, `shutdown`).
    pub end_reason: String,
    /// When it ended.
    pub ended_at: OffsetDateTime,
    /// The last terminal snapshot; `None` stores none (clearing an earlier one).
    pub final_screen: Option<Vec<u8>>,
}

// By hand so a log line does not carry a whole screen of bytes.
impl std::fmt::Debug for SessionEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionEnd")
            .field("state", &self.state)
            .field("exit_code", &self.exit_code)
            .field("end_reason", &self.end_reason)
            .field("ended_at", &self.ended_at)
            .field(
                "final_screen_bytes",
                &self.final_screen.as_ref().map(Vec::len),
            )
            .finish()
    }
}

/// `SELECT` of [`SessionRow`]: sessions joined with their owner's name. Every column has an
/// explicit alias, since SQLite does not promise result names for `s.id` and the like.
macro_rules! select_sessions {
    () => {
        "SELECT s.id AS id, s.owner_id AS owner_id, u.name AS owner_name, s.mode AS mode, \
         s.state AS state, s.working_dir AS working_dir, s.title AS title, \
         s.created_at AS created_at, s.last_activity_at AS last_activity_at, \
         s.ended_at AS ended_at, s.exit_code AS exit_code, s.end_reason AS end_reason, \
         s.claude_session_id AS claude_session_id, s.model AS model, \
         s.permission_mode AS permission_mode, s.cols AS cols, s.rows AS rows, \
         s.cost_usd AS cost_usd, s.input_tokens AS input_tokens, \
         s.output_tokens AS output_tokens, s.first_prompt AS first_prompt, \
         s.preview_role AS preview_role, s.preview_text AS preview_text, \
         s.turn_open AS turn_open, COALESCE(s.project_dir, s.working_dir) AS project_dir \
         FROM sessions s JOIN users u ON u.id = s.owner_id "
    };
}

/// A `sessions` row joined with the owner's name, as stored.
#[derive(sqlx::FromRow)]
struct SessionRow {
    /// See [`SessionRecord::id`].
    id: String,
    /// See [`SessionRecord::owner_id`].
    owner_id: String,
    /// See [`SessionRecord::owner_name`].
    owner_name: String,
    /// See [`SessionRecord::mode`].
    mode: String,
    /// See [`SessionRecord::state`].
    state: String,
    /// See [`SessionRecord::working_dir`].
    working_dir: String,
    /// See [`SessionRecord::title`].
    title: String,
    /// See [`SessionRecord::created_at`].
    created_at: String,
    /// See [`SessionRecord::last_activity_at`].
    last_activity_at: String,
    /// See [`SessionRecord::ended_at`].
    ended_at: Option<String>,
    /// See [`SessionRecord::exit_code`].
    exit_code: Option<i32>,
    /// See [`SessionRecord::end_reason`].
    end_reason: Option<String>,
    /// See [`SessionRecord::claude_session_id`].
    claude_session_id: Option<String>,
    /// See [`SessionRecord::model`].
    model: Option<String>,
    /// See [`SessionRecord::permission_mode`].
    permission_mode: String,
    /// See [`SessionRecord::cols`].
    cols: i64,
    /// See [`SessionRecord::rows`].
    rows: i64,
    /// See [`SessionRecord::cost_usd`].
    cost_usd: f64,
    /// See [`SessionRecord::input_tokens`].
    input_tokens: i64,
    /// See [`SessionRecord::output_tokens`].
    output_tokens: i64,
    /// See [`SessionRecord::first_prompt`].
    first_prompt: Option<String>,
    /// See [`SessionRecord::preview`].
    preview_role: Option<String>,
    /// See [`SessionRecord::preview`].
    preview_text: Option<String>,
    /// See [`SessionRecord::turn_open`].
    turn_open: bool,
    /// See [`SessionRecord::project_dir`].
    project_dir: String,
}

impl TryFrom<SessionRow> for SessionRecord {
    type Error = sqlx::Error;

    fn try_from(row: SessionRow) -> Result<Self, sqlx::Error> {
        Ok(SessionRecord {
            id: parse_uuid("sessions.id", &row.id)?,
            owner_id: parse_uuid("sessions.owner_id", &row.owner_id)?,
            owner_name: row.owner_name,
            mode: parse_enum("sessions.mode", &row.mode)?,
            state: parse_enum("sessions.state", &row.state)?,
            working_dir: row.working_dir,
            title: row.title,
            created_at: parse_ts("sessions.created_at", &row.created_at)?,
            last_activity_at: parse_ts("sessions.last_activity_at", &row.last_activity_at)?,
            ended_at: parse_opt_ts("sessions.ended_at", row.ended_at.as_deref())?,
            exit_code: row.exit_code,
            end_reason: row.end_reason,
            claude_session_id: row.claude_session_id,
            model: row.model,
            permission_mode: row.permission_mode,
            cols: parse_u16("sessions.cols", row.cols)?,
            rows: parse_u16("sessions.rows", row.rows)?,
            cost_usd: row.cost_usd,
            input_tokens: row.input_tokens,
            output_tokens: row.output_tokens,
            first_prompt: row.first_prompt,
            preview: row
                .preview_role
                .zip(row.preview_text)
                .map(|(role, text)| Preview { role, text }),
            turn_open: row.turn_open,
            project_dir: row.project_dir,
        })
    }
}

/// `NotFound` unless the statement touched a row.
fn found(done: SqliteQueryResult) -> Result<()> {
    if done.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

impl Store {
    /// Records a new session and returns it as stored.
    ///
    /// Fails with `NotFound` for an unknown owner and `Conflict` for a taken id.
    pub async fn insert_session(&self, s: &NewSession) -> Result<SessionRecord> {
        sqlx::query(
            "INSERT INTO sessions (id, owner_id, mode, state, working_dir, title, created_at, \
             last_activity_at, claude_session_id, model, permission_mode, cols, rows, title_auto, \
             project_dir) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(s.id.to_string())
        .bind(s.owner_id.to_string())
        .bind(s.mode.as_str())
        .bind(s.state.as_str())
        .bind(&s.working_dir)
        .bind(&s.title)
        .bind(ts(s.created_at)?)
        .bind(&s.claude_session_id)
        .bind(&s.model)
        .bind(&s.permission_mode)
        .bind(i32::from(s.cols))
        .bind(i32::from(s.rows))
        .bind(s.title_auto)
        .bind(&s.project_dir)
        .execute(&self.pool)
        .await
        .map_err(|err| match err {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(format!("session {} already exists", s.id))
            }
            err => StoreError::Database(err),
        })?;
        self.get_session(s.id).await?.ok_or(StoreError::NotFound)
    }

    /// The session with this id, if any.
    pub async fn get_session(&self, id: Uuid) -> Result<Option<SessionRecord>> {
        let row: Option<SessionRow> =
            sqlx::query_as(concat!(select_sessions!(), "WHERE s.id = $1"))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(SessionRecord::try_from).transpose()?)
    }

    /// Sessions of `owner`, or everyone's for `None`, newest first (`created_at` descending).
    pub async fn list_sessions(&self, owner: Option<Uuid>) -> Result<Vec<SessionRecord>> {
        let rows: Vec<SessionRow> = match owner {
            Some(owner) => {
                sqlx::query_as(concat!(
                    select_sessions!(),
                    "WHERE s.owner_id = $1 ORDER BY s.created_at DESC, s.id"
                ))
                .bind(owner.to_string())
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_as(concat!(
                    select_sessions!(),
                    "ORDER BY s.created_at DESC, s.id"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(SessionRecord::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// Sessions of `owner` (everyone's for `None`) whose title, first
    /// prompt, working directory or conversation text (user and assistant
    /// words, see [`ccweb_protocol::chat::ChatEvent::conversation_text`]) contains `text`
    /// (case-insensitive for ASCII), most recently active first, at most
    /// `limit`. `text` is matched literally: `%`, `_` and `\` are escaped.
    pub async fn search_sessions(
        &self,
        owner: Option<Uuid>,
        text: &str,
        limit: i64,
    ) -> Result<Vec<SessionRecord>> {
        let rows: Vec<SessionRow> = sqlx::query_as(concat!(
            select_sessions!(),
            "WHERE ($1 IS NULL OR s.owner_id = $1) AND ( \
               LOWER(s.title) LIKE LOWER($2) ESCAPE '\\' \
               OR LOWER(s.working_dir) LIKE LOWER($2) ESCAPE '\\' \
               OR LOWER(COALESCE(s.first_prompt, '')) LIKE LOWER($2) ESCAPE '\\' \
               OR EXISTS (SELECT 1 FROM chat_events e WHERE e.session_id = s.id \
                          AND e.text IS NOT NULL AND LOWER(e.text) LIKE LOWER($2) ESCAPE '\\')) \
             ORDER BY s.last_activity_at DESC, s.id LIMIT $3"
        ))
        .bind(owner.map(|o| o.to_string()))
        .bind(crate::codec::like_pattern(text))
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(SessionRecord::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// How many sessions each user runs now (`starting` or `running`);
    /// users with none are absent.
    pub async fn running_session_counts(&self) -> Result<std::collections::HashMap<Uuid, i64>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT owner_id, COUNT(*) FROM sessions WHERE state IN ($1, $2) GROUP BY owner_id",
        )
        .bind(SessionState::Starting.as_str())
        .bind(SessionState::Running.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, n)| Ok((parse_uuid("owner_id", &id)?, n)))
            .collect()
    }

    /// Owners of the sessions that ran the Claude conversation `claude_session_id`
    /// (to keep one user from resuming another's conversation).
    pub async fn claude_session_owners(&self, claude_session_id: &str) -> Result<Vec<Uuid>> {
        let owners: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT owner_id FROM sessions WHERE claude_session_id = $1")
                .bind(claude_session_id)
                .fetch_all(&self.pool)
                .await?;
        owners
            .into_iter()
            .map(|(id,)| crate::codec::parse_uuid("owner_id", &id).map_err(StoreError::from))
            .collect()
    }

    /// Renames a session (the user's title, which first prompts no longer
    /// replace) and returns it; `NotFound` if it does not exist.
    pub async fn set_session_title(&self, id: Uuid, title: &str) -> Result<SessionRecord> {
        found(
            sqlx::query("UPDATE sessions SET title = $1, title_auto = 0 WHERE id = $2")
                .bind(title)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?,
        )?;
        self.get_session(id).await?.ok_or(StoreError::NotFound)
    }

    /// Records the terminal size; `NotFound` if the session does not exist.
    pub async fn set_session_size(&self, id: Uuid, cols: u16, rows: u16) -> Result<()> {
        found(
            sqlx::query("UPDATE sessions SET cols = $1, rows = $2 WHERE id = $3")
                .bind(i32::from(cols))
                .bind(i32::from(rows))
                .bind(id.to_string())
                .execute(&self.pool)
                .await?,
        )
    }

    /// Sets `last_activity_at`; `NotFound` if the session does not exist.
    pub async fn touch_session(&self, id: Uuid, at: OffsetDateTime) -> Result<()> {
        found(
            sqlx::query("UPDATE sessions SET last_activity_at = $1 WHERE id = $2")
                .bind(ts(at)?)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?,
        )
    }

    /// Marks a session running as of `at` (at start and at resume), clearing `ended_at`,
    /// `exit_code` and `end_reason`; `NotFound` if it does not exist. The final screen is
    /// kept until the next end replaces it.
    pub async fn mark_session_running(&self, id: Uuid, at: OffsetDateTime) -> Result<()> {
        found(
            sqlx::query(
                "UPDATE sessions SET state = $1, last_activity_at = $2, ended_at = NULL, \
                 exit_code = NULL, end_reason = NULL WHERE id = $3",
            )
            .bind(SessionState::Running.as_str())
            .bind(ts(at)?)
            .bind(id.to_string())
            .execute(&self.pool)
            .await?,
        )
    }

    /// Records how a session ended: state (`exited`, `stopped` or `failed`, else
    /// `InvalidInput`), exit code, reason, time and final screen (`None` stores NULL).
    /// `NotFound` if the session does not exist.
    pub async fn mark_session_ended(&self, id: Uuid, end: &SessionEnd) -> Result<()> {
        if end.state.is_live() {
            return Err(StoreError::InvalidInput(format!(
                "a session cannot end in state {}",
                end.state
            )));
        }
        found(
            sqlx::query(
                "UPDATE sessions SET state = $1, exit_code = $2, end_reason = $3, ended_at = $4, \
                 final_screen = $5 WHERE id = $6",
            )
            .bind(end.state.as_str())
            .bind(end.exit_code)
            .bind(&end.end_reason)
            .bind(ts(end.ended_at)?)
            .bind(end.final_screen.as_deref())
            .bind(id.to_string())
            .execute(&self.pool)
            .await?,
        )
    }

    /// Records the CLI's conversation id; `NotFound` if the session does not exist.
    pub async fn set_claude_session_id(&self, id: Uuid, claude_session_id: &str) -> Result<()> {
        found(
            sqlx::query("UPDATE sessions SET claude_session_id = $1 WHERE id = $2")
                .bind(claude_session_id)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?,
        )
    }

    /// Records the model the session uses now (`None`: the CLI's default),
    /// so a resume starts with it; `NotFound` if the session does not exist.
    pub async fn set_session_model(&self, id: Uuid, model: Option<&str>) -> Result<()> {
        found(
            sqlx::query("UPDATE sessions SET model = $1 WHERE id = $2")
                .bind(model)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?,
        )
    }

    /// Records the permission mode the session is in now, so a resume
    /// starts in it; `NotFound` if the session does not exist.
    pub async fn set_session_permission_mode(&self, id: Uuid, mode: &str) -> Result<()> {
        found(
            sqlx::query("UPDATE sessions SET permission_mode = $1 WHERE id = $2")
                .bind(mode)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?,
        )
    }

    /// Sets only the state; `NotFound` if the session does not exist.
    pub async fn set_session_state(&self, id: Uuid, state: SessionState) -> Result<()> {
        found(
            sqlx::query("UPDATE sessions SET state = $1 WHERE id = $2")
                .bind(state.as_str())
                .bind(id.to_string())
                .execute(&self.pool)
                .await?,
        )
    }

    /// Adds one turn's usage to a session's totals (in one statement, so concurrent turns
    /// do not lose updates); `NotFound` if the session does not exist.
    pub async fn add_session_usage(&self, id: Uuid, usage: &Usage) -> Result<()> {
        found(
            sqlx::query(
                "UPDATE sessions SET cost_usd = cost_usd + $1, \
                 input_tokens = input_tokens + $2, output_tokens = output_tokens + $3 \
                 WHERE id = $4",
            )
            .bind(usage.cost_usd)
            .bind(usage.input_tokens)
            .bind(usage.output_tokens)
            .bind(id.to_string())
            .execute(&self.pool)
            .await?,
        )
    }

    /// The last terminal snapshot stored at the session's end, if any; `NotFound` if the
    /// session does not exist.
    pub async fn final_screen(&self, id: Uuid) -> Result<Option<Vec<u8>>> {
        let row: Option<(Option<Vec<u8>>,)> =
            sqlx::query_as("SELECT final_screen FROM sessions WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(screen,)| screen).ok_or(StoreError::NotFound)
    }

    /// Deletes a session's record; `NotFound` if it does not exist.
    pub async fn delete_session(&self, id: Uuid) -> Result<()> {
        found(
            sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(id.to_string())
                .execute(&self.pool)
                .await?,
        )
    }

    /// At start-up: sessions a previous process left `starting` or `running` (their
    /// processes died with it) become `stopped` with end reason `server_restart`, ended at
    /// `now`. Returns how many.
    pub async fn mark_orphaned_sessions(&self, now: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET state = $1, end_reason = $2, ended_at = $3 \
             WHERE state IN ($4, $5)",
        )
        .bind(SessionState::Stopped.as_str())
        .bind(SERVER_RESTART_REASON)
        .bind(ts(now)?)
        .bind(SessionState::Starting.as_str())
        .bind(SessionState::Running.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
