//! The lifecycle both session kinds share: when a session stops, how, and
//! how its end is told.
//!
//! A terminal actor and a chat actor differ in what they carry (a PTY and
//! its viewers; a CLI's JSON pipes and its permission requests), not in how
//! a session ends, so that is written once here and each actor drives it
//! from its `select!` loop:
//!
//! - *when*: a stop request ([`Lifecycle::begin_stop`]), the server's
//!   shutdown, the idle timeout (the actor says whether it is idle, a
//!   kind-specific question, when [`Due::IdleCheck`] comes) and the
//!   maximum age;
//! - *how*: SIGTERM to the session's whole scope, SIGKILL after
//!   `stop_grace`; after the program exited, the same for whatever it left
//!   behind, and optionally giving up on its output after a drain time;
//! - *the end*: the stop reason if something stopped it, else
//!   [`EndReason::of_exit`] from the exit code and the OOM kills counted
//!   when the scope is closed ([`Lifecycle::end`]).
//!
//! The scope (every process of the session, local or through the
//! launcher in unix mode) belongs to the lifecycle, so both kinds are
//! signalled, killed and cleaned up by the same code. Timers are on
//! tokio's clock.

use nix::sys::signal::Signal;
use std::time::Duration;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::actor::EndReason;
use crate::contain::{self, Scope};

/// When a session stops by itself and how long a stop may take: the part
/// of [`TerminalConfig`](crate::TerminalConfig) and
/// [`ChatConfig`](crate::chat::ChatConfig) both kinds share.
#[derive(Debug, Clone)]
pub struct LifecycleConfig {
    /// Between SIGTERM and SIGKILL when stopping.
    pub stop_grace: Duration,
    /// Stop after this long idle (what idle means depends on the kind).
    pub idle_timeout: Option<Duration>,
    /// Stop after running this long, whatever it is doing.
    pub max_age: Option<Duration>,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            stop_grace: Duration::from_secs(5),
            idle_timeout: None,
            max_age: None,
        }
    }
}

/// What [`Lifecycle::next_due`] did or asks of the actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// A stop began (shutdown or maximum age); SIGTERM is sent.
    Stopping(EndReason),
    /// The grace period ran out: every process of the session got SIGKILL.
    Killed,
    /// The program exited long ago and its output still has not ended:
    /// stop waiting for it.
    GiveUp,
    /// Time to look whether the session is idle: the actor answers with
    /// [`Lifecycle::check_idle`].
    IdleCheck,
}

/// One session's lifecycle (see the module docs).
pub(crate) struct Lifecycle {
    config: LifecycleConfig,
    /// Every process of the session.
    scope: Scope,
    /// For the log.
    pid: i32,
    /// The server shuts down when this is cancelled.
    cancel: CancellationToken,
    stop_reason: Option<EndReason>,
    exit_code: Option<i32>,
    kill_at: Option<Instant>,
    give_up_at: Option<Instant>,
    too_old_at: Option<Instant>,
    idle_tick: Interval,
    /// After the exit, SIGHUP too (a terminal's hang-up).
    hang_up_on_exit: bool,
    /// After the exit, how long past the grace period to wait for the
    /// output to end; `None`: until it ends.
    exit_drain: Option<Duration>,
}

impl Lifecycle {
    /// Starts the clock of a session whose processes are in `scope`; it
    /// is shut down when `cancel` is.
    pub(crate) fn new(
        config: LifecycleConfig,
        scope: Scope,
        pid: i32,
        cancel: CancellationToken,
    ) -> Lifecycle {
        let check_every = config.idle_timeout.map_or(Duration::from_secs(3600), |t| {
            (t / 10).clamp(Duration::from_millis(50), Duration::from_secs(30))
        });
        let mut idle_tick = tokio::time::interval(check_every);
        idle_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let too_old_at = config.max_age.map(|age| Instant::now() + age);
        Lifecycle {
            config,
            scope,
            pid,
            cancel,
            stop_reason: None,
            exit_code: None,
            kill_at: None,
            give_up_at: None,
            too_old_at,
            idle_tick,
            hang_up_on_exit: false,
            exit_drain: None,
        }
    }

    /// After the program exited, also send SIGHUP to what is left, and
    /// give up on its output `drain` after the grace period (a terminal:
    /// anything may hold the PTY open).
    pub(crate) fn hang_up_on_exit(mut self, drain: Duration) -> Lifecycle {
        self.hang_up_on_exit = true;
        self.exit_drain = Some(drain);
        self
    }

    /// Why it is stopping, if it is.
    pub(crate) fn stop_reason(&self) -> Option<EndReason> {
        self.stop_reason
    }

    /// The program's exit code, once it exited.
    pub(crate) fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    /// Stops the session for `reason`: SIGTERM to every process of it,
    /// SIGKILL after the grace period. The first reason stays.
    pub(crate) fn begin_stop(&mut self, reason: EndReason) {
        if self.stop_reason.is_some() {
            return;
        }
        self.stop_reason = Some(reason);
        self.scope.signal(Signal::SIGTERM);
        self.kill_at = Some(Instant::now() + self.config.stop_grace);
    }

    /// The program exited with `code`: whatever it left behind belongs to
    /// the session too, so it is asked to go and made to after the grace
    /// period (the kill comes no later than a stop's would).
    pub(crate) fn on_exit(&mut self, code: i32) {
        self.exit_code = Some(code);
        if self.hang_up_on_exit {
            self.scope.signal(Signal::SIGHUP);
        }
        self.scope.signal(Signal::SIGTERM);
        let now = Instant::now();
        let grace = now + self.config.stop_grace;
        self.kill_at = Some(self.kill_at.map_or(grace, |k| k.min(grace)));
        if let Some(drain) = self.exit_drain {
            self.give_up_at = Some(grace + drain);
        }
    }

    /// Stops the session for being idle when the actor says it has been
    /// idle for `idle_for` (`None`: it is busy, e.g. somebody watches).
    pub(crate) fn check_idle(&mut self, idle_for: Option<Duration>) {
        let Some(timeout) = self.config.idle_timeout else {
            return;
        };
        if idle_for.is_some_and(|idle| idle >= timeout) {
            tracing::info!(pid = self.pid, "idle timeout: stopping session");
            self.begin_stop(EndReason::Idle);
        }
    }

    /// Waits for the next thing the lifecycle must do and does it:
    /// shutdown, the kill after the grace period, the give-up after the
    /// drain time, the maximum age; or asks for an idle check. Cancel-safe,
    /// for a branch of the actor's `select!`.
    pub(crate) async fn next_due(&mut self) -> Due {
        let far = || Instant::now() + Duration::from_secs(86_400 * 365);
        let running = self.stop_reason.is_none();
        let due = tokio::select! {
            // Shutdown and the kill before the rest, like the actors' own
            // commands: a stop takes effect whatever else is due.
            biased;
            () = self.cancel.cancelled(), if running => Due::Stopping(EndReason::Shutdown),
            () = tokio::time::sleep_until(self.kill_at.unwrap_or_else(far)), if self.kill_at.is_some() => Due::Killed,
            () = tokio::time::sleep_until(self.give_up_at.unwrap_or_else(far)), if self.give_up_at.is_some() => Due::GiveUp,
            _ = self.idle_tick.tick(), if self.config.idle_timeout.is_some() && running => Due::IdleCheck,
            () = tokio::time::sleep_until(self.too_old_at.unwrap_or_else(far)), if self.too_old_at.is_some() && running => Due::Stopping(EndReason::MaxAge),
            // Nothing left to wait for (stopping, no kill pending): never due.
            else => std::future::pending().await,
        };
        match due {
            Due::Stopping(reason) => {
                if reason == EndReason::MaxAge {
                    tracing::info!(pid = self.pid, "maximum age: stopping session");
                }
                self.begin_stop(reason);
            }
            Due::Killed => {
                self.scope.kill_now();
                self.kill_at = None;
            }
            Due::GiveUp => {
                tracing::warn!(
                    pid = self.pid,
                    "session still held open after exit; giving up on the rest of its output"
                );
                self.give_up_at = None;
            }
            Due::IdleCheck => {}
        }
        due
    }

    /// Ends the session: nothing of it outlives this (it waits until the
    /// scope is empty), and says how it ended: the exit code (-1 if never
    /// known) and why.
    pub(crate) async fn end(&mut self) -> (i32, EndReason) {
        let scope = std::mem::replace(&mut self.scope, Scope::empty());
        let oom_kills = contain::close(scope).await;
        let code = self.exit_code.unwrap_or(-1);
        let reason = *self
            .stop_reason
            .get_or_insert_with(|| EndReason::of_exit(code, oom_kills));
        (code, reason)
    }
}

/// A process's exit code as sessions report it: 128 + the signal's
/// number when a signal ended it.
pub(crate) fn exit_code_of(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;

    /// A lifecycle over a real process (`sleep`, or a shell that ignores
    /// SIGTERM) in its own process group, without a cgroup.
    struct Fixture {
        lifecycle: Lifecycle,
        child: tokio::process::Child,
        cancel: CancellationToken,
        _listed: Listed,
    }

    /// Takes the child off the direct-children list when the test ends.
    struct Listed(i32);

    impl Drop for Listed {
        fn drop(&mut self) {
            crate::contain::forget_child(nix::unistd::Pid::from_raw(self.0));
        }
    }

    fn fixture(script: &str, config: LifecycleConfig) -> Fixture {
        let mut scope = crate::Containment::process_tree()
            .scope()
            .expect("a process-tree scope");
        // Registered as a direct child while spawned, as the actors do:
        // other tests in this binary start the orphan reaper, which would
        // otherwise reap it before `wait` (ECHILD).
        let (child, pid) = {
            let mut direct = crate::contain::direct_children();
            let child = tokio::process::Command::new("/bin/sh")
                .args(["-c", script])
                .stdout(Stdio::piped())
                .process_group(0)
                .kill_on_drop(true)
                .spawn()
                .expect("spawn sh");
            let pid = child.id().and_then(|p| i32::try_from(p).ok()).expect("pid");
            direct.push(pid);
            (child, pid)
        };
        scope.adopt(nix::unistd::Pid::from_raw(pid)).expect("adopt");
        let cancel = CancellationToken::new();
        Fixture {
            lifecycle: Lifecycle::new(config, scope, pid, cancel.clone()),
            child,
            cancel,
            _listed: Listed(pid),
        }
    }

    fn config(grace_ms: u64, idle: Option<Duration>, max_age: Option<Duration>) -> LifecycleConfig {
        LifecycleConfig {
            stop_grace: Duration::from_millis(grace_ms),
            idle_timeout: idle,
            max_age,
        }
    }

    /// What is due next; a test fails (virtual hours later) instead of
    /// hanging when nothing is.
    async fn due(lifecycle: &mut Lifecycle) -> Due {
        tokio::time::timeout(Duration::from_secs(3600), lifecycle.next_due())
            .await
            .expect("something is due within the hour")
    }

    #[tokio::test(start_paused = true)]
    async fn the_idle_check_stops_only_a_session_idle_for_the_timeout() {
        let mut f = fixture(
            "exec sleep 1000",
            config(1000, Some(Duration::from_secs(10)), None),
        );
        // The first tick is at once; then every timeout / 10.
        assert_eq!(due(&mut f.lifecycle).await, Due::IdleCheck);
        let started = Instant::now();
        assert_eq!(due(&mut f.lifecycle).await, Due::IdleCheck);
        assert_eq!(Instant::now() - started, Duration::from_secs(1));
        // Busy (a viewer, a turn): never stopped, however long.
        f.lifecycle.check_idle(None);
        // Idle, but not for long enough.
        f.lifecycle.check_idle(Some(Duration::from_secs(9)));
        assert_eq!(f.lifecycle.stop_reason(), None);
        f.lifecycle.check_idle(Some(Duration::from_secs(10)));
        assert_eq!(f.lifecycle.stop_reason(), Some(EndReason::Idle));
        let code = exit_code_of(f.child.wait().await.expect("wait"));
        assert_eq!(code, 128 + 15, "SIGTERM ended it");
        f.lifecycle.on_exit(code);
        assert_eq!(f.lifecycle.end().await, (128 + 15, EndReason::Idle));
    }

    #[tokio::test(start_paused = true)]
    async fn without_an_idle_timeout_nothing_is_idle() {
        let mut f = fixture(
            "exec sleep 1000",
            config(1000, None, Some(Duration::from_secs(60))),
        );
        f.lifecycle.check_idle(Some(Duration::from_secs(86_400)));
        assert_eq!(f.lifecycle.stop_reason(), None);
        // No idle ticks either: the next thing due is the maximum age.
        assert_eq!(
            due(&mut f.lifecycle).await,
            Due::Stopping(EndReason::MaxAge)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_maximum_age_stops_the_session() {
        let started = Instant::now();
        let mut f = fixture(
            "exec sleep 1000",
            config(1000, None, Some(Duration::from_secs(30))),
        );
        assert_eq!(
            due(&mut f.lifecycle).await,
            Due::Stopping(EndReason::MaxAge)
        );
        assert!(Instant::now() - started >= Duration::from_secs(30));
        let code = exit_code_of(f.child.wait().await.expect("wait"));
        f.lifecycle.on_exit(code);
        assert_eq!(f.lifecycle.end().await, (128 + 15, EndReason::MaxAge));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_sends_sigterm_then_kills_after_the_grace_period() {
        // Ignores SIGTERM: only the kill ends it.
        let mut f = fixture(
            "trap '' TERM; echo ready; while true; do sleep 1; done",
            config(2000, None, None),
        );
        // The trap is set once it says so.
        let stdout = f.child.stdout.take().expect("stdout");
        let mut line = String::new();
        tokio::io::AsyncBufReadExt::read_line(&mut tokio::io::BufReader::new(stdout), &mut line)
            .await
            .expect("read");
        assert_eq!(line, "ready\n");
        let started = Instant::now();
        f.lifecycle.begin_stop(EndReason::Stop);
        // A second reason does not replace the first.
        f.lifecycle.begin_stop(EndReason::Idle);
        assert_eq!(f.lifecycle.stop_reason(), Some(EndReason::Stop));
        assert_eq!(due(&mut f.lifecycle).await, Due::Killed);
        assert_eq!(Instant::now() - started, Duration::from_secs(2));
        // Killed, stopping, not exited: nothing more is due (and waiting
        // for it does not panic).
        let nothing = tokio::time::timeout(Duration::from_secs(3600), f.lifecycle.next_due()).await;
        assert!(nothing.is_err(), "{nothing:?}");
        let code = exit_code_of(f.child.wait().await.expect("wait"));
        assert_eq!(code, 128 + 9, "SIGTERM was ignored, so SIGKILL ended it");
        f.lifecycle.on_exit(code);
        assert_eq!(f.lifecycle.end().await, (128 + 9, EndReason::Stop));
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_with_reason_shutdown() {
        let mut f = fixture("exec sleep 1000", config(1000, None, None));
        f.cancel.cancel();
        assert_eq!(
            due(&mut f.lifecycle).await,
            Due::Stopping(EndReason::Shutdown)
        );
        let code = exit_code_of(f.child.wait().await.expect("wait"));
        f.lifecycle.on_exit(code);
        assert_eq!(f.lifecycle.end().await.1, EndReason::Shutdown);
    }

    #[tokio::test(start_paused = true)]
    async fn after_the_exit_what_is_left_is_killed_and_the_output_given_up() {
        let mut f = fixture("exit 3", config(1000, None, None));
        f.lifecycle = f.lifecycle.hang_up_on_exit(Duration::from_secs(3));
        let code = exit_code_of(f.child.wait().await.expect("wait"));
        let exited = Instant::now();
        f.lifecycle.on_exit(code);
        assert_eq!(due(&mut f.lifecycle).await, Due::Killed);
        assert_eq!(due(&mut f.lifecycle).await, Due::GiveUp);
        assert_eq!(Instant::now() - exited, Duration::from_secs(4));
        assert_eq!(f.lifecycle.end().await, (3, EndReason::Exit));
    }

    #[test]
    fn the_end_reason_of_an_exit_comes_from_the_code_and_the_oom_kills() {
        assert_eq!(EndReason::of_exit(0, 0), EndReason::Exit);
        assert_eq!(EndReason::of_exit(1, 3), EndReason::Exit);
        assert_eq!(EndReason::of_exit(128 + 9, 0), EndReason::Exit);
        assert_eq!(EndReason::of_exit(128 + 9, 1), EndReason::MemoryLimit);
    }
}
