//! The session manager: starts sessions (checking paths and limits), keeps
//! the handles of live ones, and records how each one ended.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use ccweb_protocol::{SessionActivity, SessionInfo, SessionMode, SessionState};
use ccweb_runner::chat::{spawn_chat, stream_json_args, ChatConfig, PERMISSION_MODES};
use ccweb_runner::launch::{Account, LaunchAs};
use ccweb_runner::transcript;
use ccweb_runner::user_files::UserFiles;
use ccweb_runner::{
    spawn_terminal, EndReason, ExitInfo, LifecycleConfig, SpawnSpec, TerminalConfig, TerminalHandle,
};
use ccweb_store::{NewSession, SessionEnd, SessionRecord, Store, User};

use crate::chat::{LiveChat, Recorder};
use crate::config::Config;
use crate::credentials::{credential_env, CredentialPolicy, UserCredential};
use crate::error::ApiError;
use crate::isolation::Isolation;
use crate::notify::Notifier;
use crate::paths::roots_for;
use crate::transcripts;

/// Default terminal size when the client does not say.
const DEFAULT_COLS: u16 = 120;
/// Default terminal height.
const DEFAULT_ROWS: u16 = 35;
/// Longest title, in characters.
const MAX_TITLE_CHARS: usize = 200;

/// `POST /api/claude/sessions` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// terminal or chat.
    pub mode: SessionMode,
    /// Where the CLI runs.
    pub working_dir: String,
    /// Title; defaults to the directory's name.
    pub title: Option<String>,
    /// Model name or alias.
    pub model: Option<String>,
    /// CLI permission mode.
    pub permission_mode: Option<String>,
    /// A Claude session id to continue.
    pub resume: Option<String>,
    /// Initial width.
    pub cols: Option<i64>,
    /// Initial height.
    pub rows: Option<i64>,
}

/// Checks a title: bounded, no control characters.
pub fn validate_title(title: &str) -> Result<String, ApiError> {
    let title = title.trim();
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(ApiError::bad_request(
            "invalid_title",
            format!("title is longer than {MAX_TITLE_CHARS} characters"),
        ));
    }
    if title.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_title",
            "title must not contain control characters",
        ));
    }
    Ok(title.to_owned())
}

pub(crate) fn validate_model(model: &str) -> Result<(), ApiError> {
    let ok = !model.is_empty()
        && model.len() <= 128
        && model.starts_with(|c: char| c.is_ascii_alphanumeric())
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:-[]/@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_model",
            "model must be a model name such as \"sonnet\" or \"claude-sonnet-5\"",
        ))
    }
}

fn validate_claude_session_id(id: &str) -> Result<String, ApiError> {
    Uuid::parse_str(id)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_resume",
                "resume must be a Claude session id (a UUID)",
            )
        })
}

/// Permission modes in which the CLI runs tools without asking anyone:
/// `bypassPermissions` (no prompts at all) and `auto` (a classifier, not a
/// person, approves). Both only where the operator allows it
/// (`allow_bypass_permissions`).
pub const UNATTENDED_PERMISSION_MODES: [&str; 2] = ["bypassPermissions", "auto"];

/// Checks a permission mode against the CLI's modes and the server's
/// policy: the [`UNATTENDED_PERMISSION_MODES`] only where the operator
/// allows them.
pub fn check_permission_mode(config: &Config, mode: &str) -> Result<(), ApiError> {
    if !PERMISSION_MODES.contains(&mode) {
        return Err(ApiError::bad_request(
            "invalid_permission_mode",
            format!(
                "permission_mode must be one of {}",
                PERMISSION_MODES.join(", ")
            ),
        ));
    }
    if UNATTENDED_PERMISSION_MODES.contains(&mode) && !config.allow_bypass_permissions {
        return Err(ApiError::forbidden(
            "permission_mode_not_allowed",
            format!("{mode} is turned off on this server (allow_bypass_permissions)"),
        ));
    }
    Ok(())
}

/// A session being started; see [`SessionManager::claim`].
struct Claim {
    manager: SessionManager,
    id: Uuid,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.manager
            .inner
            .starting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

/// The running-session slots a session holds until it ends.
struct Slots {
    _global: OwnedSemaphorePermit,
    _user: OwnedSemaphorePermit,
}

/// Starts and tracks sessions.
#[derive(Clone)]
pub struct SessionManager {
    inner: Arc<Inner>,
}

/// A running session of either mode.
#[derive(Clone, Debug)]
pub enum Live {
    /// The interactive CLI in a PTY.
    Terminal(TerminalHandle),
    /// The CLI in stream-json mode.
    Chat(LiveChat),
}

impl Live {
    /// Viewers attached now.
    pub fn viewers(&self) -> u32 {
        match self {
            Live::Terminal(h) => h.viewers(),
            Live::Chat(c) => c.handle.viewers(),
        }
    }

    /// Terminal size, for terminal sessions.
    pub fn size(&self) -> Option<(u16, u16)> {
        match self {
            Live::Terminal(h) => Some(h.size()),
            Live::Chat(_) => None,
        }
    }

    /// Last input, output, attach or detach.
    pub fn last_activity(&self) -> std::time::SystemTime {
        match self {
            Live::Terminal(h) => h.last_activity(),
            Live::Chat(c) => c.handle.last_activity(),
        }
    }

    /// A permission request waits for an answer.
    pub fn needs_attention(&self) -> bool {
        match self {
            Live::Terminal(_) => false,
            Live::Chat(c) => c.handle.pending_requests() > 0,
        }
    }

    /// What the session does now. Chat: the runner knows (an open request,
    /// a turn in flight). Terminal: what its transcript last said
    /// (`turn_open`, kept by the store); a terminal's prompts are not seen
    /// yet, so it is never `needs_answer`.
    pub fn activity(&self, turn_open: bool) -> SessionActivity {
        match self {
            Live::Chat(c) if c.handle.pending_requests() > 0 => SessionActivity::NeedsAnswer,
            Live::Chat(c) if c.handle.turn_in_flight() => SessionActivity::Working,
            Live::Terminal(_) if turn_open => SessionActivity::Working,
            Live::Chat(_) | Live::Terminal(_) => SessionActivity::Waiting,
        }
    }

    /// Process id of the CLI.
    pub fn pid(&self) -> i32 {
        match self {
            Live::Terminal(h) => h.pid(),
            Live::Chat(c) => c.handle.pid(),
        }
    }

    /// Asks the process to stop.
    pub async fn stop(&self, reason: EndReason) {
        match self {
            Live::Terminal(h) => h.stop(reason).await,
            Live::Chat(c) => c.handle.stop(reason).await,
        }
    }

    /// Waits for the end.
    pub async fn wait(&self) -> ExitInfo {
        match self {
            Live::Terminal(h) => h.wait().await,
            Live::Chat(c) => c.handle.wait().await,
        }
    }
}

struct Inner {
    live: Mutex<HashMap<Uuid, Live>>,
    notifier: Notifier,
    audit: crate::audit::Audit,
    metrics: crate::metrics::Metrics,
    slots: Arc<Semaphore>,
    /// Running-session slots of each user (`max_sessions_per_user` each).
    user_slots: Mutex<HashMap<Uuid, Arc<Semaphore>>>,
    /// Session starts per user per minute.
    starts: governor::DefaultKeyedRateLimiter<Uuid>,
    /// Sessions being resumed right now.
    starting: Mutex<std::collections::HashSet<Uuid>>,
    store: Store,
    config: Config,
    cancel: CancellationToken,
    tracker: TaskTracker,
    isolation: Isolation,
    /// Opens users' stored credentials for their sessions.
    vault: crate::credentials::Vault,
}

impl SessionManager {
    /// A manager for `config` whose sessions stop when `cancel` fires.
    // Each argument is one of the server's shared parts, built once in
    // `Server::bind`; a struct to bundle them would only rename the list.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Config,
        store: Store,
        notifier: Notifier,
        audit: crate::audit::Audit,
        metrics: crate::metrics::Metrics,
        cancel: CancellationToken,
        tracker: TaskTracker,
        vault: crate::credentials::Vault,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                live: Mutex::new(HashMap::new()),
                notifier,
                audit,
                metrics,
                slots: Arc::new(Semaphore::new(config.max_sessions)),
                user_slots: Mutex::new(HashMap::new()),
                starting: Mutex::new(std::collections::HashSet::new()),
                starts: governor::RateLimiter::keyed(governor::Quota::per_minute(
                    std::num::NonZeroU32::new(config.session_starts_per_user_per_minute)
                        .unwrap_or(std::num::NonZeroU32::MIN),
                )),
                store,
                isolation: Isolation::new(&config),
                vault,
                config,
                cancel,
                tracker,
            }),
        }
    }

    /// The key of users' stored credentials.
    pub(crate) fn vault(&self) -> &crate::credentials::Vault {
        &self.inner.vault
    }

    /// The database.
    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Where session notifications go.
    pub(crate) fn notifier(&self) -> &Notifier {
        &self.inner.notifier
    }

    /// The audit log.
    pub(crate) fn audit(&self) -> &crate::audit::Audit {
        &self.inner.audit
    }

    /// Prometheus metrics.
    pub(crate) fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// Every live session (for the metrics).
    pub(crate) fn all_live(&self) -> Vec<Live> {
        let live = self.inner.live.lock().unwrap_or_else(|e| e.into_inner());
        live.values().cloned().collect()
    }

    /// `None` when session `id` is live or starting; else a guard under
    /// which no session can begin to start (recording retention deletes
    /// the session's old recording under it, so a resume cannot open the
    /// file just before it goes). Hold it briefly: starts wait for it.
    pub(crate) fn hold_starts_unless_running(
        &self,
        id: Uuid,
    ) -> Option<std::sync::MutexGuard<'_, std::collections::HashSet<Uuid>>> {
        // Always `starting`, then `live`: nothing takes them the other way.
        let starting = self
            .inner
            .starting
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let live = self
            .inner
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&id);
        (!starting.contains(&id) && !live).then_some(starting)
    }

    /// A live session.
    pub fn live(&self, id: Uuid) -> Option<Live> {
        self.inner
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    /// The handle of a live terminal session.
    pub fn handle(&self, id: Uuid) -> Option<TerminalHandle> {
        match self.live(id)? {
            Live::Terminal(h) => Some(h),
            Live::Chat(_) => None,
        }
    }

    /// A live chat session.
    pub fn chat(&self, id: Uuid) -> Option<LiveChat> {
        match self.live(id)? {
            Live::Chat(c) => Some(c),
            Live::Terminal(_) => None,
        }
    }

    /// How sessions' processes are contained and limited.
    pub fn containment(&self) -> &ccweb_runner::Containment {
        &self.inner.isolation.containment
    }

    /// How sessions are isolated (and who reads each user's files).
    pub fn isolation(&self) -> &Isolation {
        &self.inner.isolation
    }

    /// `user`'s Claude home and who reads it ([`user_claude_home`]).
    pub async fn claude_home_of(&self, user: &str) -> Option<UserHome> {
        user_claude_home(&self.inner.config, &self.inner.isolation, user).await
    }

    /// Number of live sessions.
    pub fn live_count(&self) -> usize {
        self.inner
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// The session object: the record plus live numbers.
    pub fn info(&self, r: SessionRecord) -> SessionInfo {
        let live = self.live(r.id);
        let stored_activity = r.last_activity_at;
        let turn_open = r.turn_open;
        let mut info = r.into_info(live.as_ref().map_or(0, Live::viewers));
        if let Some(live) = &live {
            if let Some((cols, rows)) = live.size() {
                (info.cols, info.rows) = (cols, rows);
            }
            info.last_activity_at = OffsetDateTime::from(live.last_activity()).max(stored_activity);
            info.needs_attention = live.needs_attention();
            info.activity = match info.state {
                SessionState::Starting => SessionActivity::Working,
                SessionState::Running => live.activity(turn_open),
                _ => SessionActivity::Ended,
            };
        }
        info
    }

    /// Validates a request and starts a new session for `owner`.
    pub async fn create(&self, owner: &User, req: CreateSession) -> Result<SessionInfo, ApiError> {
        // isolation = "unix": the account and its roots exist (the account's
        // own, made by the launcher) before the roots are checked.
        self.inner.isolation.launch_as(&owner.name).await?;
        let roots = roots_for(&self.inner.config, owner)?;
        let cwd = self
            .inner
            .isolation
            .resolve_working_dir(&owner.name, &req.working_dir, &roots)
            .await?;
        // Without a title the directory names the session until the first
        // prompt does (the store replaces it then).
        let title_auto = req.title.is_none();
        let title = match &req.title {
            Some(t) => validate_title(t)?,
            None => cwd
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "/".into()),
        };
        if let Some(m) = &req.model {
            validate_model(m)?;
        }
        let permission_mode = req
            .permission_mode
            .clone()
            .unwrap_or_else(|| "default".into());
        check_permission_mode(&self.inner.config, &permission_mode)?;
        let resume = req
            .resume
            .as_deref()
            .map(validate_claude_session_id)
            .transpose()?;
        if let Some(sid) = &resume {
            self.check_resumable(owner, &cwd, sid).await?;
        }
        crate::disk::check_free_space(&self.inner.config)?;
        let (cols, rows) = ccweb_runner::clamp_size(
            req.cols.unwrap_or(i64::from(DEFAULT_COLS)),
            req.rows.unwrap_or(i64::from(DEFAULT_ROWS)),
        );
        let own = self.own_credential(owner).await?;
        let permit = self.slot(owner.id)?;
        let now = OffsetDateTime::now_utc();
        let record = self
            .inner
            .store
            .insert_session(&NewSession {
                id: Uuid::new_v4(),
                owner_id: owner.id,
                mode: req.mode,
                state: SessionState::Starting,
                working_dir: cwd.to_string_lossy().into_owned(),
                title,
                title_auto,
                project_dir: project_dir(&cwd).to_string_lossy().into_owned(),
                created_at: now,
                claude_session_id: Some(
                    resume.clone().unwrap_or_else(|| Uuid::new_v4().to_string()),
                ),
                model: req.model.clone(),
                permission_mode,
                cols,
                rows,
            })
            .await?;
        if let Some(sid) = &resume {
            // The earlier conversation becomes the start of this transcript.
            if let Some(home) = self.claude_home_of(&owner.name).await {
                let path = transcript::transcript_path(&home.path, &cwd, sid);
                let max_bytes = self.inner.config.session_max_event_bytes;
                transcripts::import(&self.inner.store, record.id, home, path, max_bytes).await?;
            }
        }
        self.start(record, resume.is_some(), permit, own).await
    }

    /// Starts `owner`'s stopped or exited session again, continuing its
    /// conversation.
    pub async fn resume(
        &self,
        owner: &User,
        mut record: SessionRecord,
    ) -> Result<SessionInfo, ApiError> {
        let running = || ApiError::conflict("session_running", "the session is already running");
        if record.state.is_live() || self.live(record.id).is_some() {
            return Err(running());
        }
        // The directory rules of today, not of the day it was created: it may
        // be gone, or no longer inside the owner's roots. Refused as a create
        // would be, with the session left as it was.
        let roots = roots_for(&self.inner.config, owner)?;
        self.inner
            .isolation
            .resolve_working_dir(&owner.name, &record.working_dir, &roots)
            .await?;
        if check_permission_mode(&self.inner.config, &record.permission_mode).is_err() {
            // Allowed when it was chosen, not any more (allow_bypass_permissions
            // turned off): the CLI asks again, as in the default mode.
            self.remember_permission_mode(record.id, "default").await;
            record.permission_mode = "default".into();
        }
        crate::disk::check_free_space(&self.inner.config)?;
        let own = self.own_credential(owner).await?;
        // Concurrent resumes of one session: only the first starts a process.
        let _claim = self.claim(record.id).ok_or_else(running)?;
        if self.inner.cancel.is_cancelled() {
            return Err(ApiError::Unavailable {
                code: "shutting_down",
                message: "the server is shutting down".into(),
            });
        }
        let permit = self.slot(record.owner_id)?;
        self.inner
            .store
            .set_session_state(record.id, SessionState::Starting)
            .await?;
        let record = self.adopt_terminal_settings(owner, record).await;
        self.start(record, true, permit, own).await
    }

    /// The credential `owner`'s sessions get, by the `user_credentials`
    /// policy: their own stored one (an API key before a subscription
    /// token), or `None` for the operator's. Refused when the policy
    /// requires one and there is none, or when theirs no longer opens
    /// (rather than quietly using the operator's in its place).
    async fn own_credential(&self, owner: &User) -> Result<Option<UserCredential>, ApiError> {
        let policy = self.inner.config.user_credentials;
        if policy == CredentialPolicy::Disabled {
            return Ok(None);
        }
        let stored = self.inner.store.credentials(owner.id).await?;
        let Some(first) = stored.first() else {
            if policy == CredentialPolicy::Required {
                return Err(ApiError::forbidden(
                    "credential_required",
                    "this server needs your own Claude credential: set an Anthropic API key or \
                     a Claude subscription token on the Account page (or PUT /api/me/credentials)",
                ));
            }
            return Ok(None);
        };
        match self.inner.vault.open_value(owner.id, first) {
            Ok(value) => Ok(Some(UserCredential {
                kind: first.kind,
                value,
            })),
            Err(e) => {
                tracing::error!(user = %owner.name, kind = first.kind.as_str(), error = %e, "stored credential does not open");
                Err(ApiError::conflict(
                    "credential_unreadable",
                    "your stored Claude credential can no longer be read (the server's key \
                     changed); set it again on the Account page",
                ))
            }
        }
    }

    /// A terminal session's model and permission mode as its conversation
    /// file last shows them (`/model`, Shift+Tab in the TUI), recorded, so
    /// the resumed CLI starts with them. Chat sessions record theirs live.
    async fn adopt_terminal_settings(
        &self,
        owner: &User,
        mut record: SessionRecord,
    ) -> SessionRecord {
        let home = self.claude_home_of(&owner.name).await;
        let (SessionMode::Terminal, Some(home), Some(sid)) =
            (record.mode, home, record.claude_session_id.as_deref())
        else {
            return record;
        };
        let path = transcript::transcript_path(&home.path, Path::new(&record.working_dir), sid);
        let read = tokio::task::spawn_blocking(move || {
            transcript::last_settings(&home.files, &home.path, &path)
        })
        .await;
        let Ok(Ok(last)) = read else {
            // No file yet (nothing was said) or unreadable: what was recorded stays.
            return record;
        };
        if let Some(model) = last
            .model
            .filter(|m| m.as_deref().is_none_or(|m| validate_model(m).is_ok()))
        {
            if model != record.model {
                self.remember_model(record.id, model.as_deref()).await;
                record.model = model;
            }
        }
        // A mode the server does not allow (any more) is not carried over.
        if let Some(mode) = last
            .permission_mode
            .filter(|m| check_permission_mode(&self.inner.config, m).is_ok())
        {
            if mode != record.permission_mode {
                self.remember_permission_mode(record.id, &mode).await;
                record.permission_mode = mode;
            }
        }
        record
    }

    /// Marks `id` as being started; `None` if it already is. The mark goes
    /// with the guard, by when the session is live (or failed).
    fn claim(&self, id: Uuid) -> Option<Claim> {
        let mut starting = self
            .inner
            .starting
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        starting.insert(id).then(|| Claim {
            manager: self.clone(),
            id,
        })
    }

    /// Whether ccweb user `user`'s Claude home has the conversation `sid`
    /// of `cwd` as a regular file that opens safely, read by who may read
    /// it ([`UserHome::files`]: as their account in `isolation = "unix"`).
    async fn conversation_on_disk(&self, user: &str, cwd: &Path, sid: &str) -> bool {
        let Some(home) = self.claude_home_of(user).await else {
            return false;
        };
        let path = transcript::transcript_path(&home.path, cwd, sid);
        tokio::task::spawn_blocking(move || home.files.opens_beneath(&home.path, &path))
            .await
            .unwrap_or(false)
    }

    /// A conversation may be continued when the CLI has it on disk for this
    /// directory in `owner`'s Claude home (it looks nowhere else), as a
    /// regular file that opens safely (not a symlink, FIFO or device: see
    /// [`open_beneath`](ccweb_runner::untrusted::open_beneath)), and no other
    /// user's session ran it. All failures look the same: no existence oracle.
    async fn check_resumable(&self, owner: &User, cwd: &Path, sid: &str) -> Result<(), ApiError> {
        let on_disk = self.conversation_on_disk(&owner.name, cwd, sid).await;
        let owners = self.inner.store.claude_session_owners(sid).await?;
        if !on_disk || owners.iter().any(|o| *o != owner.id) {
            return Err(ApiError::NotFound(format!(
                "no Claude conversation {sid} to continue in {}",
                cwd.display()
            )));
        }
        Ok(())
    }

    /// Slots for one more running session of `owner`: 429 past the start
    /// rate or the user's limit, 503 past the global limit.
    fn slot(&self, owner: Uuid) -> Result<Slots, ApiError> {
        let config = &self.inner.config;
        let user_slots = {
            let mut all = self
                .inner
                .user_slots
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            // Forget users with nothing running, so the map stays small.
            all.retain(|_, s| s.available_permits() < config.max_sessions_per_user);
            all.entry(owner)
                .or_insert_with(|| Arc::new(Semaphore::new(config.max_sessions_per_user)))
                .clone()
        };
        let user = user_slots
            .try_acquire_owned()
            .map_err(|_| ApiError::QuotaExceeded {
                code: "session_quota",
                message: format!(
                    "you already run your maximum of {} sessions; end one and try again",
                    config.max_sessions_per_user
                ),
            })?;
        // Refusals past the quota do not use up the start rate.
        if let Err(not_until) = self.inner.starts.check_key(&owner) {
            use governor::clock::{Clock, DefaultClock};
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(ApiError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            });
        }
        let global =
            self.inner
                .slots
                .clone()
                .try_acquire_owned()
                .map_err(|_| ApiError::Unavailable {
                    code: "at_capacity",
                    message: format!(
                        "the server runs its maximum of {} sessions; end one and try again",
                        config.max_sessions
                    ),
                })?;
        Ok(Slots {
            _global: global,
            _user: user,
        })
    }

    async fn start(
        &self,
        record: SessionRecord,
        continuing: bool,
        permit: Slots,
        own: Option<UserCredential>,
    ) -> Result<SessionInfo, ApiError> {
        let store = &self.inner.store;
        let launch = match self.inner.isolation.launch_as(&record.owner_name).await {
            Ok(launch) => launch,
            Err(e) => {
                self.mark_failed(record.id).await?;
                return Err(e);
            }
        };
        // --resume only works once the CLI has written the conversation.
        let on_disk = match (continuing, record.claude_session_id.as_deref()) {
            (true, Some(sid)) => {
                let cwd = Path::new(&record.working_dir);
                self.conversation_on_disk(&record.owner_name, cwd, sid)
                    .await
            }
            _ => false,
        };
        let mut spec = self.spawn_spec(&record, on_disk, launch);
        credential_env(&mut spec.env, own.as_ref());
        // Where the CLI will keep this conversation, from the environment it gets.
        let transcript = claude_home(&spec.env)
            .zip(record.claude_session_id.as_deref())
            .map(|(home, sid)| {
                let path = transcript::transcript_path(&home, Path::new(&record.working_dir), sid);
                (home, path)
            });
        let config = &self.inner.config;
        let cancel = self.inner.cancel.child_token();
        let tracker = &self.inner.tracker;
        let metrics = &self.inner.metrics;
        let spawn_began = std::time::Instant::now();
        metrics.session_started(record.mode);
        // Both kinds stop, time out and end alike.
        let lifecycle = LifecycleConfig {
            stop_grace: Duration::from_secs(config.stop_grace_secs),
            idle_timeout: config.idle_timeout(),
            max_age: config.session_max_age(),
        };
        let spawned = match record.mode {
            SessionMode::Terminal => {
                let terminal = TerminalConfig {
                    scrollback_lines: config.scrollback_lines,
                    viewer_queue_bytes: config.viewer_queue_bytes,
                    lifecycle: lifecycle.clone(),
                    recording: crate::export::recording_spec(config, record.id),
                    ..TerminalConfig::default()
                };
                spawn_terminal(spec, terminal, cancel, tracker).map(Live::Terminal)
            }
            SessionMode::Chat => {
                let chat = ChatConfig {
                    lifecycle: lifecycle.clone(),
                    permission_timeout: (config.permission_timeout_secs > 0)
                        .then(|| Duration::from_secs(config.permission_timeout_secs)),
                    startup_timeout: Duration::from_secs(config.cli_startup_timeout_secs.max(1)),
                };
                spawn_chat(spec, chat, cancel, tracker).map(|(handle, events)| {
                    let (live, done) = LiveChat::new(handle);
                    let recorder = Recorder::new(
                        record.id,
                        &live,
                        done,
                        self.clone(),
                        record.claude_session_id.clone(),
                    );
                    tracker.spawn(recorder.run(events));
                    Live::Chat(live)
                })
            }
        };
        let live = match spawned {
            Ok(live) => live,
            Err(e) => {
                metrics.session_ended(record.mode, "error");
                self.mark_failed(record.id).await?;
                tracing::warn!(session = %record.id, error = %e, "spawn failed");
                return Err(ApiError::SpawnFailed(e.to_string()));
            }
        };
        let id = record.id;
        tracing::info!(session = %id, pid = live.pid(), mode = %record.mode, dir = %record.working_dir, "session started");
        self.inner
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, live.clone());
        store
            .mark_session_running(id, OffsetDateTime::now_utc())
            .await?;
        metrics.session_spawned(record.mode, spawn_began.elapsed());
        // A terminal session's conversation file becomes its transcript too.
        let following = self.inner.cancel.child_token();
        let files = self.inner.isolation.user_files(&record.owner_name);
        if let (Live::Terminal(_), Some((home, path)), Some(files)) = (&live, transcript, files) {
            let home = UserHome { path: home, files };
            transcripts::follow(store.clone(), id, home, path, tracker, following.clone());
        }
        let manager = self.clone();
        let mode = record.mode;
        self.inner.tracker.spawn(async move {
            let info = live.wait().await;
            manager.record_end(id, &live, &info).await;
            // Gone from the live sessions before it counts as ended, so a
            // scrape that sees the end does not also see it running.
            manager.inner.live.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            manager.inner.metrics.session_ended(mode, info.reason.as_str());
            tracing::info!(session = %id, code = info.code, reason = info.reason.as_str(), "session ended");
            drop(permit);
            // The CLI writes its last records a little after it exits.
            tokio::select! {
                () = tokio::time::sleep(transcripts::FOLLOW_TAIL) => {}
                () = manager.inner.cancel.cancelled() => {}
            }
            following.cancel();
        });
        let record = store
            .get_session(id)
            .await?
            .ok_or(ApiError::NotFound("session vanished".into()))?;
        Ok(self.info(record))
    }

    /// Records that session `id` could not start: failed, reason `error`.
    async fn mark_failed(&self, id: Uuid) -> Result<(), ApiError> {
        let end = SessionEnd {
            state: SessionState::Failed,
            exit_code: None,
            end_reason: "error".into(),
            ended_at: OffsetDateTime::now_utc(),
            final_screen: None,
        };
        self.inner.store.mark_session_ended(id, &end).await?;
        Ok(())
    }

    /// Records how a session ended (state, code, reason, last screen, size, activity).
    async fn record_end(&self, id: Uuid, live: &Live, info: &ExitInfo) {
        let store = &self.inner.store;
        let state = if info.reason == EndReason::Exit {
            SessionState::Exited
        } else {
            SessionState::Stopped
        };
        let end = SessionEnd {
            state,
            exit_code: Some(info.code),
            end_reason: info.reason.as_str().into(),
            ended_at: OffsetDateTime::from(info.at),
            final_screen: (!info.final_screen.is_empty()).then(|| info.final_screen.to_vec()),
        };
        if let Err(e) = store
            .touch_session(id, OffsetDateTime::from(live.last_activity()))
            .await
        {
            tracing::warn!(session = %id, error = %e, "could not record activity");
        }
        if let Some((cols, rows)) = live.size() {
            if let Err(e) = store.set_session_size(id, cols, rows).await {
                tracing::warn!(session = %id, error = %e, "could not record the size");
            }
        }
        if let Err(e) = store.mark_session_ended(id, &end).await {
            tracing::error!(session = %id, error = %e, "could not record the end of a session");
        }
        if let Live::Chat(chat) = live {
            // The recorder stored every event before the process's end was
            // published; wait for it so `ended` follows the last event.
            chat.recorded().await;
        }
    }

    /// Records the model session `id` switched to (`None`: the default):
    /// a resume starts the CLI with it.
    pub(crate) async fn remember_model(&self, id: Uuid, model: Option<&str>) {
        if let Err(e) = self.inner.store.set_session_model(id, model).await {
            tracing::warn!(session = %id, error = %e, "could not record the model");
        }
    }

    /// Records the permission mode session `id` is in now (one the CLI
    /// knows; it reports any string it was sent): a resume starts in it.
    pub(crate) async fn remember_permission_mode(&self, id: Uuid, mode: &str) {
        if !PERMISSION_MODES.contains(&mode) {
            return;
        }
        if let Err(e) = self.inner.store.set_session_permission_mode(id, mode).await {
            tracing::warn!(session = %id, error = %e, "could not record the permission mode");
        }
    }

    /// Stops a live session and waits (bounded) until it has ended.
    pub async fn stop(&self, id: Uuid) {
        let Some(live) = self.live(id) else {
            return;
        };
        live.stop(EndReason::Stop).await;
        let limit = Duration::from_secs(self.inner.config.stop_grace_secs + 5);
        let _ = tokio::time::timeout(limit, live.wait()).await;
        // Let the supervisor record the end before the caller reads it.
        for _ in 0..100 {
            if self.live(id).is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The running sessions of `owner`.
    pub async fn live_of(&self, owner: Uuid) -> Vec<Uuid> {
        match self.inner.store.list_sessions(Some(owner)).await {
            Ok(records) => records
                .iter()
                .filter(|r| self.live(r.id).is_some())
                .map(|r| r.id)
                .collect(),
            Err(e) => {
                tracing::error!(user = %owner, error = %e, "could not list sessions to stop");
                Vec::new()
            }
        }
    }

    /// Stops every running session of `owner` (a disabled user), all at once.
    pub async fn stop_all_of(&self, owner: Uuid) {
        let live = self.live_of(owner).await;
        futures_util::future::join_all(live.into_iter().map(|id| self.stop(id))).await;
    }

    fn spawn_spec(
        &self,
        r: &SessionRecord,
        on_disk: bool,
        launch: Option<(LaunchAs, Account)>,
    ) -> SpawnSpec {
        let config = &self.inner.config;
        let mut env = child_env(config);
        let launch = launch.map(|(launch, account)| {
            account_env(&mut env, &account);
            launch
        });
        let mut args: Vec<OsString> = config.claude_args.iter().map(OsString::from).collect();
        if r.mode == SessionMode::Chat {
            args.extend(stream_json_args());
        }
        if let Some(sid) = &r.claude_session_id {
            // --resume only works once the CLI has written the conversation
            // (`on_disk`); before the first prompt, reuse the same id as a
            // new session.
            args.push(if on_disk { "--resume" } else { "--session-id" }.into());
            args.push(sid.into());
        }
        if let Some(m) = &r.model {
            args.push("--model".into());
            args.push(m.into());
        }
        if r.permission_mode != "default" {
            args.push("--permission-mode".into());
            args.push(r.permission_mode.clone().into());
        }
        SpawnSpec {
            program: config.claude_bin.clone(),
            args,
            cwd: PathBuf::from(&r.working_dir),
            env,
            cols: r.cols,
            rows: r.rows,
            containment: self.inner.isolation.containment.clone(),
            sandbox: self.inner.isolation.sandbox.clone().map(|mut sandbox| {
                if launch.is_some() {
                    // The user's own roots are their account's: all shown.
                    sandbox.own_roots = crate::paths::user_roots_of(config, &r.owner_name);
                }
                sandbox
            }),
            launch,
        }
    }
}

/// `isolation = "unix"`: the account's own `HOME` (so its Claude home is
/// `$HOME/.claude`), `USER`, `LOGNAME` and `SHELL`, in place of the
/// server's; no `CLAUDE_CONFIG_DIR` of the server's gets through.
fn account_env(env: &mut Vec<(OsString, OsString)>, account: &Account) {
    const OWN: [&str; 5] = ["HOME", "USER", "LOGNAME", "SHELL", "CLAUDE_CONFIG_DIR"];
    env.retain(|(k, _)| !OWN.iter().any(|own| k == own));
    env.push(("HOME".into(), account.home.clone().into()));
    env.push(("USER".into(), account.name.clone().into()));
    env.push(("LOGNAME".into(), account.name.clone().into()));
    env.push(("SHELL".into(), account.shell.clone().into()));
}

/// The project `cwd` belongs to: the nearest directory from `cwd` up that
/// holds a `.git` (a repository's or a worktree's top level), else `cwd`.
fn project_dir(cwd: &Path) -> &Path {
    cwd.ancestors()
        .find(|dir| std::fs::symlink_metadata(dir.join(".git")).is_ok())
        .unwrap_or(cwd)
}

/// The CLI's environment: allow-listed variables of the server, then the
/// configured extras. Nothing else of the server's (secrets) gets through.
pub fn child_env(config: &Config) -> Vec<(OsString, OsString)> {
    let allowed = |name: &str| {
        config.child_env.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == p,
        })
    };
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| {
            k.to_str()
                .is_some_and(|k| allowed(k) && !k.starts_with("CCWEB_"))
        })
        .collect();
    for (k, v) in &config.child_env_set {
        env.retain(|(name, _)| name != k.as_str());
        env.push((k.into(), v.into()));
    }
    env
}

/// The Claude home of the CLI's environment: `$CLAUDE_CONFIG_DIR`, else `$HOME/.claude`.
pub fn claude_home(env: &[(OsString, OsString)]) -> Option<PathBuf> {
    let get = |key: &str| {
        env.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| PathBuf::from(v))
    };
    get("CLAUDE_CONFIG_DIR").or_else(|| get("HOME").map(|h| h.join(".claude")))
}

/// A user's Claude home, and who may read it.
#[derive(Debug, Clone)]
pub struct UserHome {
    /// `$CLAUDE_CONFIG_DIR`, else `$HOME/.claude`, of their sessions' CLI.
    pub path: PathBuf,
    /// Reads it: the server, or the launcher as their account.
    pub files: UserFiles,
}

/// The Claude home whose conversations are `user`'s: where their sessions'
/// CLI keeps them, and the only place their history is listed and their
/// resumes are imported from, with who reads it. The one place that
/// decides it: with `isolation = "none"` the sessions' environment
/// ([`child_env`], the same for every user), read by the server; with
/// `"unix"` the home of the user's own Unix account
/// (`unix_user` / `unix_users`, mapped and checked as the launcher does), never the server's, read
/// through the launcher as that account (`None` while the account does
/// not exist or the launcher is not running: nothing to read).
pub async fn user_claude_home(
    config: &Config,
    isolation: &Isolation,
    user: &str,
) -> Option<UserHome> {
    let files = isolation.user_files(user)?;
    if config.isolation != crate::config::IsolationMode::Unix {
        let path = claude_home(&child_env(config))?;
        return Some(UserHome { path, files });
    }
    // The launcher's own mapping and checks (one set of rules for both).
    let policy = crate::isolation::account_policy(config, nix::unistd::getuid().as_raw());
    let user = user.to_owned();
    let found = tokio::task::spawn_blocking(move || policy.lookup(&user)).await;
    match found {
        Ok(Ok(Some(account))) => Some(UserHome {
            path: account.claude_home(),
            files,
        }),
        Ok(Ok(None)) => {
            tracing::debug!("no Unix account yet: no Claude home");
            None
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "no usable Unix account: no Claude home");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "looking up a Unix account failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::project_dir;

    #[test]
    fn a_session_belongs_to_the_repository_around_its_directory_else_to_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        let deep = repo.join("crates/core/src");
        std::fs::create_dir_all(&deep).unwrap();
        let plain = tmp.path().join("plain");
        std::fs::create_dir_all(&plain).unwrap();
        assert_eq!(project_dir(&deep), deep, "no repository yet");
        std::fs::create_dir(repo.join(".git")).unwrap();
        assert_eq!(project_dir(&deep), repo);
        assert_eq!(project_dir(&repo), repo);
        // A worktree's `.git` is a file.
        let worktree = repo.join("crates/core");
        std::fs::write(worktree.join(".git"), "gitdir: ../../.git/worktrees/core\n").unwrap();
        assert_eq!(project_dir(&deep), worktree);
        assert_eq!(project_dir(&plain), plain);
    }
}
