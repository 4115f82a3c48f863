//! The session actor: the one owner of a terminal session's child, PTY,
//! terminal state and viewers. Everybody else talks to it through a
//! [`TerminalHandle`].
//!
//! The terminal has one size, and one viewer at a time owns it: the one
//! that last typed or asked to fit the terminal to its screen
//! ([`Viewer::claim_size`]). Until somebody does, the first viewer that
//! attaches or reports its size while nobody owns it; when the owner
//! leaves and one viewer that may own is left, that one. Every viewer
//! reports its own size ([`Viewer::resize`]), but only the owner's reaches
//! the PTY, so a phone attaching next to a desktop neither shrinks the
//! desktop's terminal nor silently gets a clipped one: it is told it does
//! not own the size ([`ViewerEvent::SizeOwner`]) and draws the owner's
//! size scaled. Watchers (read-only viewers) never own the size.

use bytes::Bytes;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::contain::{Containment, Scope};
use crate::lifecycle::{Due, Lifecycle, LifecycleConfig};
use crate::process::{self, Child};
use crate::recording::{Recorder, RecordingSpec};
use crate::sandbox::Sandbox;
use crate::screen::TerminalState;
use crate::viewer::{Pace, Push, Viewer, ViewerEvent, ViewerQueue};
use crate::RunnerError;

/// Commands queued to the actor at once; senders wait when it is full.
const COMMAND_QUEUE: usize = 256;
/// After the process exited, how long to wait for the PTY to drain (other
/// holders of the terminal are signalled meanwhile).
const EXIT_DRAIN: Duration = Duration::from_secs(3);
/// Largest output chunk the actor takes from the reader at once.
const MAX_OUTPUT_CHUNK: usize = 256 * 1024;

/// What to run.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    /// Program path (or a name looked up in `PATH` of the child env).
    pub program: PathBuf,
    /// Arguments after the program.
    pub args: Vec<OsString>,
    /// Working directory (already checked against the allowed roots).
    pub cwd: PathBuf,
    /// The child's whole environment; `TERM` is added.
    pub env: Vec<(OsString, OsString)>,
    /// Initial width.
    pub cols: u16,
    /// Initial height.
    pub rows: u16,
    /// Keeps every process of the session findable, to stop them all.
    pub containment: Containment,
    /// Run the program under bubblewrap.
    pub sandbox: Option<Sandbox>,
    /// `isolation = "unix"`: start it through the launcher, as the
    /// user's own Unix account (the launcher contains it then).
    pub launch: Option<crate::launch::LaunchAs>,
}

/// Tunables of a terminal session.
#[derive(Debug, Clone)]
pub struct TerminalConfig {
    /// Lines of scrollback kept for re-drawing late viewers.
    pub scrollback_lines: usize,
    /// Output bytes a viewer may have queued before it is re-synced.
    pub viewer_queue_bytes: usize,
    /// Stop grace, idle timeout (idle: no input, output or viewers) and
    /// maximum age.
    pub lifecycle: LifecycleConfig,
    /// Record output and resizes as asciicast v2; `None` = no recording.
    pub recording: Option<RecordingSpec>,
    /// Longest the output waits for a viewer that is behind while no other
    /// viewer keeps up (flow control, see `viewer`): long enough to ride
    /// out a busy moment of a lone viewer that keeps up on average (a slow
    /// link), short enough that a stalled connection only briefly stalls
    /// the program before it is left to re-sync.
    pub hold_alone: Duration,
    /// Longest the output waits for a viewer that is behind while another
    /// viewer keeps up: a viewer merely a few frames behind the others
    /// catches up within it, a slow one must not slow the rest.
    pub hold_with_others: Duration,
}

impl Default for TerminalConfig {
    fn default() -> Self {
        Self {
            scrollback_lines: 2000,
            viewer_queue_bytes: 2 * 1024 * 1024,
            lifecycle: LifecycleConfig::default(),
            recording: None,
            hold_alone: Duration::from_secs(1),
            hold_with_others: Duration::from_millis(20),
        }
    }
}

/// Why a session's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// It exited by itself.
    Exit,
    /// A user stopped it.
    Stop,
    /// The idle timeout stopped it.
    Idle,
    /// It ran for the longest a session may (`max_age`).
    MaxAge,
    /// The kernel killed it for going over the session's memory limit.
    MemoryLimit,
    /// The server shut down.
    Shutdown,
}

impl EndReason {
    /// Why a session ended by itself: `MemoryLimit` when its leader was
    /// SIGKILLed (`code` 137) and the OOM killer ended processes of its
    /// cgroup, else `Exit`.
    pub(crate) fn of_exit(code: i32, oom_kills: u64) -> EndReason {
        if code == 128 + 9 && oom_kills > 0 {
            EndReason::MemoryLimit
        } else {
            EndReason::Exit
        }
    }

    /// The stored and reported spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Exit => "exit",
            EndReason::Stop => "stop",
            EndReason::Idle => "idle",
            EndReason::MaxAge => "max_age",
            EndReason::MemoryLimit => "memory_limit",
            EndReason::Shutdown => "shutdown",
        }
    }
}

/// How a session ended.
#[derive(Debug, Clone)]
pub struct ExitInfo {
    /// Exit code (128 + signal number when killed by a signal).
    pub code: i32,
    /// Why.
    pub reason: EndReason,
    /// The last screen, as a restore frame.
    pub final_screen: Bytes,
    /// When.
    pub at: SystemTime,
}

pub(crate) enum Command {
    Attach {
        /// Whether the viewer may own the size (watchers may not).
        may_own: bool,
        reply: oneshot::Sender<(Viewer, u16, u16)>,
    },
    Detach {
        viewer: u64,
    },
    Resync {
        viewer: u64,
    },
    /// A viewer's own size; the PTY's if it owns the size (or nobody does).
    ViewerResize {
        viewer: u64,
        cols: u16,
        rows: u16,
        done: oneshot::Sender<()>,
    },
    /// A viewer takes the size over.
    ClaimSize {
        viewer: u64,
        done: oneshot::Sender<()>,
    },
    Stop {
        reason: EndReason,
    },
    Contents {
        reply: oneshot::Sender<String>,
    },
}

/// State shared read-only with handles (written by the actor or input path).
#[derive(Debug)]
struct Shared {
    viewers: AtomicU32,
    size: Mutex<(u16, u16)>,
    activity: Mutex<(Instant, SystemTime)>,
    pid: i32,
}

impl Shared {
    fn touch(&self) {
        *self.activity.lock().unwrap_or_else(|e| e.into_inner()) =
            (Instant::now(), SystemTime::now());
    }
    fn last_activity(&self) -> (Instant, SystemTime) {
        *self.activity.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A cheap, cloneable handle to a running terminal session.
#[derive(Clone, Debug)]
pub struct TerminalHandle {
    commands: mpsc::Sender<Command>,
    input: Arc<crate::pty_input::PtyInput>,
    shared: Arc<Shared>,
    exit: watch::Receiver<Option<ExitInfo>>,
}

impl TerminalHandle {
    /// Attaches a viewer that may type and so own the terminal's size (it
    /// owns it at once when nobody does, see [`Viewer::owns_size`]): its
    /// first event redraws the current screen, then live output follows
    /// with nothing missing in between. Also returns the size at the
    /// moment of the snapshot.
    pub async fn attach(&self) -> Result<(Viewer, u16, u16), RunnerError> {
        self.attach_viewer(true).await
    }

    /// Attaches a viewer like [`attach`](Self::attach) that never owns the
    /// size: a read-only viewer, or one that does not draw the terminal.
    pub async fn watch(&self) -> Result<(Viewer, u16, u16), RunnerError> {
        self.attach_viewer(false).await
    }

    async fn attach_viewer(&self, may_own: bool) -> Result<(Viewer, u16, u16), RunnerError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Attach { may_own, reply })
            .await
            .map_err(|_| RunnerError::Gone)?;
        rx.await.map_err(|_| RunnerError::Gone)
    }

    /// Types bytes into the PTY. Waits (only this caller) when the program
    /// does not read its input.
    pub async fn input(&self, data: Bytes) -> Result<(), RunnerError> {
        if self.is_finished() {
            return Err(RunnerError::Gone);
        }
        self.shared.touch();
        self.input.write(data).await.map_err(|()| RunnerError::Gone)
    }

    /// Asks the process to stop (SIGTERM to its group, SIGKILL after the grace period).
    pub async fn stop(&self, reason: EndReason) {
        let _ = self.commands.send(Command::Stop { reason }).await;
    }

    /// Waits until the session has ended and returns how.
    pub async fn wait(&self) -> ExitInfo {
        wait_for_exit(&self.exit).await
    }

    /// Whether the session has ended.
    pub fn is_finished(&self) -> bool {
        self.exit.borrow().is_some()
    }

    /// The visible screen as text (tests, diagnostics).
    pub async fn contents(&self) -> Result<String, RunnerError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Contents { reply })
            .await
            .map_err(|_| RunnerError::Gone)?;
        rx.await.map_err(|_| RunnerError::Gone)
    }

    /// Viewers attached now.
    pub fn viewers(&self) -> u32 {
        self.shared.viewers.load(Ordering::Relaxed)
    }

    /// Current `(cols, rows)`.
    pub fn size(&self) -> (u16, u16) {
        *self.shared.size.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Last input, output, attach or detach.
    pub fn last_activity(&self) -> SystemTime {
        self.shared.last_activity().1
    }

    /// The child's process id (also its process group id).
    pub fn pid(&self) -> i32 {
        self.shared.pid
    }
}

/// Waits until `exit` holds how a session ended. An actor that ended
/// without saying (it panicked) counts as exit code -1.
pub(crate) async fn wait_for_exit(exit: &watch::Receiver<Option<ExitInfo>>) -> ExitInfo {
    let mut rx = exit.clone();
    loop {
        if let Some(info) = rx.borrow_and_update().clone() {
            return info;
        }
        if rx.changed().await.is_err() {
            return ExitInfo {
                code: -1,
                reason: EndReason::Exit,
                final_screen: Bytes::new(),
                at: SystemTime::now(),
            };
        }
    }
}

/// Starts `spec` in a PTY and its actor on `tracker`. The actor stops the
/// process when `cancel` fires (reason `Shutdown`).
pub fn spawn_terminal(
    spec: SpawnSpec,
    config: TerminalConfig,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> Result<TerminalHandle, RunnerError> {
    let mut child = process::spawn(&spec)?;
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE);
    let (exit_tx, exit_rx) = watch::channel(None);
    let shared = Arc::new(Shared {
        viewers: AtomicU32::new(0),
        size: Mutex::new((spec.cols, spec.rows)),
        activity: Mutex::new((Instant::now(), SystemTime::now())),
        pid: child.pid.as_raw(),
    });
    let handle = TerminalHandle {
        commands: cmd_tx.clone(),
        input: child.input.clone(),
        shared: shared.clone(),
        exit: exit_rx,
    };
    let recorder = config
        .recording
        .as_ref()
        .and_then(|r| Recorder::start(r, spec.cols, spec.rows));
    let scope = std::mem::replace(&mut child.scope, Scope::empty());
    let lifecycle = Lifecycle::new(config.lifecycle.clone(), scope, child.pid.as_raw(), cancel)
        .hang_up_on_exit(EXIT_DRAIN);
    let actor = Actor {
        recorder,
        lifecycle,
        term: TerminalState::new(spec.cols, spec.rows, config.scrollback_lines),
        config,
        child,
        commands: cmd_rx,
        self_tx: cmd_tx,
        viewers: Vec::new(),
        size_owner: None,
        next_viewer: 0,
        drained: Arc::new(Notify::new()),
        shared,
    };
    tracker.spawn(actor.run(exit_tx));
    Ok(handle)
}

/// The actor's side of one attached viewer.
struct ViewerSlot {
    id: u64,
    queue: Arc<ViewerQueue>,
    /// Whether it may own the size (watchers may not).
    may_own: bool,
    /// The size it last reported as its own, if any.
    size: Option<(u16, u16)>,
}

struct Actor {
    term: TerminalState,
    /// The session's asciicast recording, if on.
    recorder: Option<Recorder>,
    config: TerminalConfig,
    /// When and how it stops; owns the session's scope.
    lifecycle: Lifecycle,
    /// The PTY and the exit to come (its scope is the lifecycle's).
    child: Child,
    commands: mpsc::Receiver<Command>,
    /// Given to viewers so they can ask for a re-sync.
    self_tx: mpsc::Sender<Command>,
    viewers: Vec<ViewerSlot>,
    /// The viewer whose size the terminal has (see the module docs).
    size_owner: Option<u64>,
    next_viewer: u64,
    /// Every viewer's queue tells this when its backlog has shrunk.
    drained: Arc<Notify>,
    shared: Arc<Shared>,
}

impl Actor {
    async fn run(mut self, exit_tx: watch::Sender<Option<ExitInfo>>) {
        let mut eof = false;
        let far = || tokio::time::Instant::now() + Duration::from_secs(86_400);
        // A chunk takes at most a quarter of a viewer's budget, so one push
        // never overflows a viewer that is keeping up.
        let max_chunk = (self.config.viewer_queue_bytes / 4).clamp(1, MAX_OUTPUT_CHUNK);
        loop {
            if eof && self.lifecycle.exit_code().is_some() {
                break;
            }
            let hold = self.hold_output();
            let drained = self.drained.clone();
            let exited = self.lifecycle.exit_code().is_some();
            tokio::select! {
                // Commands, shutdown and the kill timers come before output:
                // a program that writes faster than the terminal state is
                // updated keeps the output branch always ready, and must not
                // keep viewers from attaching or a stop from taking effect.
                // Output comes before the exit: everything the program wrote
                // is processed before its exit is announced.
                biased;
                Some(cmd) = self.commands.recv() => self.on_command(cmd),
                due = self.lifecycle.next_due() => match due {
                    Due::IdleCheck => {
                        let idle_for = self.idle_for();
                        self.lifecycle.check_idle(idle_for);
                    }
                    Due::GiveUp => break,
                    Due::Stopping(_) | Due::Killed => {}
                },
                chunk = self.child.output.recv(max_chunk), if !eof && hold.is_none() => match chunk {
                    Some(data) => self.on_output(data),
                    None => eof = true,
                },
                // Held: look again when a viewer catches up or the hold
                // has lasted its longest.
                () = drained.notified(), if hold.is_some() => {}
                () = tokio::time::sleep_until(hold.unwrap_or_else(far)), if hold.is_some() => {}
                // Whatever else still holds the terminal belongs to this
                // session: the lifecycle asks it to go, then makes it.
                code = &mut self.child.exited, if !exited => self.lifecycle.on_exit(code.unwrap_or(-1)),
            }
        }
        // Nothing of the session outlives it.
        let (code, reason) = self.lifecycle.end().await;
        // The recording is complete before the end is announced, so whoever
        // sees the session ended can export it whole.
        if let Some(writer) = self.recorder.take().and_then(Recorder::finish) {
            if let Err(e) = tokio::task::spawn_blocking(move || writer.join()).await {
                tracing::warn!(error = %e, "finishing the recording failed");
            }
        }
        self.finish(code, reason, &exit_tx);
    }

    /// Until when to leave the program's output unread (flow control, see
    /// `viewer`): while a viewer that counts is behind, for at most
    /// `hold_with_others` if another keeps up, else `hold_alone`;
    /// then that viewer's hold lapses. `None`: read. Never while stopping.
    fn hold_output(&self) -> Option<tokio::time::Instant> {
        if self.lifecycle.stop_reason().is_some() {
            return None;
        }
        let now = tokio::time::Instant::now();
        let keeping_up = self
            .viewers
            .iter()
            .any(|v| v.queue.pace(now) == Pace::KeepingUp);
        let limit = if keeping_up {
            self.config.hold_with_others
        } else {
            self.config.hold_alone
        };
        let mut until: Option<tokio::time::Instant> = None;
        for ViewerSlot { queue, .. } in &self.viewers {
            if let Pace::Behind { since } = queue.pace(now) {
                if now >= since + limit {
                    queue.lapse_hold();
                } else {
                    until = Some(until.map_or(since + limit, |u| u.min(since + limit)));
                }
            }
        }
        until
    }

    fn on_output(&mut self, data: Bytes) {
        // Viewers first: their sockets can send while this task updates the
        // terminal state (the slowest step) on another core. Nothing can
        // observe the state in between: attaches and resizes are handled by
        // this task too, so a snapshot always covers exactly the output that
        // was pushed before it.
        let mut pruned = false;
        for ViewerSlot { queue, .. } in &self.viewers {
            if queue.push_output(&data) == Push::Closed {
                pruned = true;
            }
        }
        if pruned {
            self.prune();
        }
        self.term.process(&data);
        if let Some(recorder) = &mut self.recorder {
            recorder.output(&data);
        }
        self.shared.touch();
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Attach { may_own, reply } => {
                let id = self.next_viewer;
                self.next_viewer += 1;
                let queue = ViewerQueue::new(self.config.viewer_queue_bytes, self.drained.clone());
                queue.push_snapshot(Bytes::from(self.term.snapshot()), false);
                // Nobody owns the size: the newcomer does, before its
                // socket reads `owns_size` for its first message.
                let owns = may_own && self.size_owner.is_none();
                queue.set_owns_size(owns);
                let viewer = Viewer::new(id, queue.clone(), self.self_tx.clone(), may_own);
                let (cols, rows) = self.term.size();
                if reply.send((viewer, cols, rows)).is_ok() {
                    if owns {
                        self.size_owner = Some(id);
                    }
                    self.viewers.push(ViewerSlot {
                        id,
                        queue,
                        may_own,
                        size: None,
                    });
                    self.count_viewers();
                }
            }
            Command::Detach { viewer } => self.forget_viewers(|v| v.id == viewer),
            Command::Resync { viewer } => {
                if let Some(v) = self.viewers.iter().find(|v| v.id == viewer) {
                    if v.queue.needs_resync() {
                        v.queue
                            .push_snapshot(Bytes::from(self.term.snapshot()), true);
                    }
                }
            }
            Command::ViewerResize {
                viewer,
                cols,
                rows,
                done,
            } => {
                let owner = self.size_owner;
                let applies = self
                    .viewers
                    .iter_mut()
                    .find(|v| v.id == viewer)
                    .is_some_and(|v| {
                        v.size = Some((cols, rows));
                        owner == Some(viewer) || (owner.is_none() && v.may_own)
                    });
                if applies {
                    self.give_size_to(Some(viewer));
                }
                // After the PTY has the size, on every path: the caller only
                // waits for order; a failure is logged in `resize`.
                let _ = done.send(());
            }
            Command::ClaimSize { viewer, done } => {
                if self.viewers.iter().any(|v| v.id == viewer && v.may_own) {
                    self.give_size_to(Some(viewer));
                }
                let _ = done.send(());
            }
            Command::Stop { reason } => self.lifecycle.begin_stop(reason),
            Command::Contents { reply } => {
                let _ = reply.send(self.term.contents());
            }
        }
    }

    /// Makes `owner` the size owner, tells every viewer whose ownership
    /// changed (before the resize that may follow), and gives the PTY the
    /// owner's size if it has reported one.
    fn give_size_to(&mut self, owner: Option<u64>) {
        self.size_owner = owner;
        let mut size = None;
        for v in &self.viewers {
            let owns = Some(v.id) == owner;
            if v.queue.set_owns_size(owns) {
                v.queue.push_control(ViewerEvent::SizeOwner { owner: owns });
            }
            if owns {
                size = v.size;
            }
        }
        if let Some((cols, rows)) = size {
            self.resize(cols, rows);
        }
    }

    /// Drops the viewers that match `gone`. When the size owner is among
    /// them and one viewer that may own is left, that one owns the size
    /// (the only one left); with several, nobody does until one of them
    /// reports its size, types or fits.
    fn forget_viewers(&mut self, gone: impl Fn(&ViewerSlot) -> bool) {
        self.viewers.retain(|v| !gone(v));
        self.count_viewers();
        if self
            .size_owner
            .is_some_and(|owner| !self.viewers.iter().any(|v| v.id == owner))
        {
            let mut candidates = self.viewers.iter().filter(|v| v.may_own);
            let heir = match (candidates.next(), candidates.next()) {
                (Some(only), None) => Some(only.id),
                _ => None,
            };
            self.give_size_to(heir);
        }
    }

    fn resize(&mut self, cols: u16, rows: u16) {
        if self.term.size() == (cols, rows) {
            return;
        }
        let size = portable_pty::PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        };
        if let Err(e) = self.child.master.resize(size) {
            tracing::warn!(error = %e, "PTY resize failed");
            return;
        }
        self.term.resize(cols, rows);
        if let Some(recorder) = &mut self.recorder {
            recorder.resize(cols, rows);
        }
        *self.shared.size.lock().unwrap_or_else(|e| e.into_inner()) = (cols, rows);
        for ViewerSlot { queue, .. } in &self.viewers {
            queue.push_control(ViewerEvent::Resize { cols, rows });
        }
    }

    /// How long the terminal has been idle: no input, output, attach or
    /// detach; `None` while a viewer is attached.
    fn idle_for(&self) -> Option<Duration> {
        self.viewers
            .is_empty()
            .then(|| self.shared.last_activity().0.elapsed())
    }

    fn prune(&mut self) {
        self.forget_viewers(|v| v.queue.is_closed());
    }

    fn count_viewers(&self) {
        self.shared
            .viewers
            .store(self.viewers.len() as u32, Ordering::Relaxed);
        self.shared.touch();
    }

    fn finish(mut self, code: i32, reason: EndReason, exit_tx: &watch::Sender<Option<ExitInfo>>) {
        let final_screen = Bytes::from(self.term.snapshot());
        for ViewerSlot { queue, .. } in &self.viewers {
            // A viewer that fell behind still gets the last screen, then
            // the exit: every viewer ends in the same state.
            if queue.needs_resync() {
                queue.push_snapshot(final_screen.clone(), true);
            }
            queue.push_control(ViewerEvent::Exit { code });
        }
        self.shared.viewers.store(0, Ordering::Relaxed);
        let info = ExitInfo {
            code,
            reason,
            final_screen,
            at: SystemTime::now(),
        };
        exit_tx.send_replace(Some(info));
    }
}
