//! The chat actor: owns the CLI process and its pipes, the pending
//! permission requests and its control requests, and emits events.

use ccweb_protocol::chat::{Behavior, ChatEvent, ImageInput, Resolution};
use nix::unistd::Pid;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::edit_lines::{edit_lines, edits_of, Edit, MAX_READ_BYTES};
use super::lines::{read_lines, Line};
use super::translate::{cut, Parsed, Translator};
use super::{
    Answer, ChatConfig, ChatError, ChatHandle, Command, Shared, COMMAND_QUEUE, EVENT_QUEUE,
    MAX_LINE_BYTES, MAX_STDERR_EVENTS,
};
use crate::actor::{EndReason, ExitInfo, SpawnSpec};
use crate::contain::{self, Scope};
use crate::launch::LaunchAs;
use crate::lifecycle::{exit_code_of, Due, Lifecycle};
use crate::process::{prepare, spawn_error, spawn_launched};
use crate::RunnerError;

/// Starts the CLI described by `spec` (its args must include
/// [`stream_json_args`]) and its actor on `tracker`. Events come out of the
/// returned receiver, which closes after the final `state` event.
pub fn spawn_chat(
    spec: SpawnSpec,
    config: ChatConfig,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> Result<(ChatHandle, mpsc::Receiver<ChatEvent>), RunnerError> {
    let Started {
        process,
        stdin,
        stdout,
        stderr,
        scope,
        pid,
    } = match &spec.launch {
        Some(launch) => start_launched(&spec, launch)?,
        None => start_direct(&spec)?,
    };
    let (line_tx, line_rx) = mpsc::channel(64);
    let (err_tx, err_rx) = mpsc::channel(64);
    let reader_cancel = cancel.child_token();
    tracker.spawn(read_lines(
        BufReader::new(stdout),
        line_tx,
        reader_cancel.clone(),
    ));
    tracker.spawn(read_lines(
        BufReader::new(stderr),
        err_tx,
        reader_cancel.clone(),
    ));
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE);
    let (event_tx, event_rx) = mpsc::channel(EVENT_QUEUE);
    let (exit_tx, exit_rx) = watch::channel(None);
    let shared = Arc::new(Shared {
        pid,
        ..Shared::default()
    });
    shared.touch();
    let handle = ChatHandle {
        commands: cmd_tx,
        shared: shared.clone(),
        exit: exit_rx,
    };
    let lifecycle = Lifecycle::new(config.lifecycle.clone(), scope, pid, cancel);
    let actor = Actor {
        config,
        lifecycle,
        child: process,
        stdin: Some(stdin),
        lines: line_rx,
        stderr: err_rx,
        commands: cmd_rx,
        events: event_tx,
        shared,
        translator: Translator::default(),
        pending: HashMap::new(),
        controls: HashMap::new(),
        next_control: 0,
        slash_commands: Vec::new(),
        stderr_events: 0,
        stderr_tail: Vec::new(),
        turns: 0,
        startup_deadline: None,
        held: HashMap::new(),
    };
    tracker.spawn(actor.run(reader_cancel, exit_tx));
    Ok((handle, event_rx))
}

/// The CLI's process, as far as waiting for it goes.
enum Process {
    /// Started by ccweb itself (`isolation = "none"`).
    Direct(tokio::process::Child),
    /// Started by the launcher: its exit code arrives on this channel.
    Launched(Option<oneshot::Receiver<i32>>),
}

impl Process {
    /// Waits for the exit code (cancel-safe; call again only before it returned).
    async fn wait(&mut self) -> i32 {
        match self {
            Process::Direct(child) => child.wait().await.map(exit_code_of).unwrap_or(-1),
            Process::Launched(rx) => {
                let code = match rx.as_mut() {
                    Some(exited) => exited.await.unwrap_or(-1),
                    None => return std::future::pending().await,
                };
                *rx = None;
                code
            }
        }
    }
}

/// A started CLI: its process, pipes and scope.
struct Started {
    process: Process,
    stdin: Box<dyn AsyncWrite + Send + Sync + Unpin>,
    stdout: Box<dyn AsyncRead + Send + Sync + Unpin>,
    stderr: Box<dyn AsyncRead + Send + Sync + Unpin>,
    scope: Scope,
    pid: i32,
}

/// Starts the CLI with pipes, in its own process group (`isolation = "none"`).
fn start_direct(spec: &SpawnSpec) -> Result<Started, RunnerError> {
    let spawn_error = |e: std::io::Error| spawn_error(spec, e);
    // Under the sandbox, a new session: no controlling terminal to inject into.
    let (mut scope, dir, program, args) = prepare(spec, true)?;
    let mut cmd = tokio::process::Command::new(&program);
    cmd.args(&args)
        .current_dir(dir.path())
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a stop reaches everything it started.
        .process_group(0)
        // Should the actor die, the child dies with it.
        .kill_on_drop(true);
    let mut child = {
        // Held across the spawn: the orphan reaper must not reap this child.
        let mut direct = contain::direct_children();
        let child = cmd.spawn().map_err(spawn_error)?;
        direct.extend(child.id().and_then(|p| i32::try_from(p).ok()));
        child
    };
    let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    if let Err(e) = scope.adopt(Pid::from_raw(pid)) {
        // kill_on_drop takes the child down; tokio reaps it.
        contain::forget_child(Pid::from_raw(pid));
        return Err(spawn_error(std::io::Error::other(format!(
            "cannot move the child into its cgroup: {e}"
        ))));
    }
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(spawn_error(std::io::Error::other("missing stdio pipes")));
    };
    Ok(Started {
        process: Process::Direct(child),
        stdin: Box::new(stdin),
        stdout: Box::new(stdout),
        stderr: Box::new(stderr),
        scope,
        pid,
    })
}

/// Starts the CLI through the launcher, as the user's account, with pipes
/// the server made (`isolation = "unix"`).
fn start_launched(spec: &SpawnSpec, launch: &LaunchAs) -> Result<Started, RunnerError> {
    use nix::fcntl::OFlag;
    use tokio::net::unix::pipe;
    let failed = |e: std::io::Error| spawn_error(spec, e);
    let pipe = || nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| failed(e.into()));
    let (stdin_r, stdin_w) = pipe()?;
    let (stdout_r, stdout_w) = pipe()?;
    let (stderr_r, stderr_w) = pipe()?;
    let stdin = pipe::Sender::from_owned_fd(stdin_w).map_err(failed)?;
    let stdout = pipe::Receiver::from_owned_fd(stdout_r).map_err(failed)?;
    let stderr = pipe::Receiver::from_owned_fd(stderr_r).map_err(failed)?;
    // Under the sandbox, a new session: no controlling terminal to inject into.
    let (pid, exited, scope) = spawn_launched(
        spec,
        launch,
        true,
        vec![stdin_r, stdout_w, stderr_w],
        spec.env.clone(),
    )?;
    Ok(Started {
        process: Process::Launched(Some(exited)),
        stdin: Box::new(stdin),
        stdout: Box::new(stdout),
        stderr: Box::new(stderr),
        scope,
        pid: pid.as_raw(),
    })
}

struct Pending {
    input: Value,
    suggestions: Vec<Value>,
    deadline: Option<tokio::time::Instant>,
}

/// How long an `Edit` prompt waits for the CLI to read its file (for the
/// diff's line numbers) before it is shown without them.
const READ_FILE_WAIT: Duration = Duration::from_secs(2);

/// An `Edit` / `MultiEdit` prompt held back until its file is read.
struct Held {
    event: ChatEvent,
    edits: Vec<Edit>,
    /// Shown without line numbers at this time, whatever happens.
    until: tokio::time::Instant,
}

/// The `controls` entry of a `read_file` request for a held prompt.
const READ_FILE_PREFIX: &str = "read_file ";

struct Actor {
    config: ChatConfig,
    /// When and how it stops; owns every process of the session (the CLI
    /// and what it starts).
    lifecycle: Lifecycle,
    child: Process,
    stdin: Option<Box<dyn AsyncWrite + Send + Sync + Unpin>>,
    lines: mpsc::Receiver<Line>,
    stderr: mpsc::Receiver<Line>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<ChatEvent>,
    shared: Arc<Shared>,
    translator: Translator,
    /// Permission requests waiting for an answer, by the CLI's request id.
    pending: HashMap<String, Pending>,
    /// Our control requests awaiting the CLI's response: what they were.
    controls: HashMap<String, String>,
    next_control: u64,
    /// Slash commands the CLI offers in this mode (from `initialize` and `init`).
    slash_commands: Vec<String>,
    stderr_events: usize,
    stderr_tail: Vec<String>,
    /// Turns asked for and not yet ended by a `result` (messages sent
    /// during a turn queue up in the CLI).
    turns: u32,
    /// Until `initialize` is answered: when to report the CLI as unresponsive.
    startup_deadline: Option<tokio::time::Instant>,
    /// Edit prompts waiting for their file, by permission request id.
    held: HashMap<String, Held>,
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400 * 365)
}

impl Actor {
    async fn run(mut self, readers: CancellationToken, exit_tx: watch::Sender<Option<ExitInfo>>) {
        self.emit(state_event("starting", false, None, None)).await;
        self.startup_deadline = Some(tokio::time::Instant::now() + self.config.startup_timeout);
        // `initialize` is the readiness signal and lists the slash commands.
        self.send_control(json!({"subtype": "initialize"}), "initialize")
            .await;
        let mut stdout_open = true;
        let mut stderr_open = true;
        loop {
            let exited = self.lifecycle.exit_code().is_some();
            if exited && !stdout_open && !stderr_open {
                break;
            }
            let next_deadline = self.pending.values().filter_map(|p| p.deadline).min();
            let next_held = self.held.values().map(|h| h.until).min();
            let running = self.lifecycle.stop_reason().is_none();
            tokio::select! {
                // Commands (interrupt, stop, answers), shutdown and the kill
                // timer first: a CLI that floods stdout must not delay them.
                biased;
                Some(cmd) = self.commands.recv() => self.on_command(cmd).await,
                due = self.lifecycle.next_due() => match due {
                    Due::IdleCheck => {
                        let idle_for = self.idle_for();
                        self.lifecycle.check_idle(idle_for);
                    }
                    // Whatever still held the pipes is dead now; stop waiting for them.
                    Due::Killed if exited => readers.cancel(),
                    Due::Killed | Due::GiveUp | Due::Stopping(_) => {}
                },
                line = self.lines.recv(), if stdout_open => match line {
                    Some(line) => self.on_stdout(line).await,
                    None => stdout_open = false,
                },
                line = self.stderr.recv(), if stderr_open => match line {
                    Some(line) => self.on_stderr(line).await,
                    None => stderr_open = false,
                },
                code = self.child.wait(), if !exited => {
                    contain::forget_child(Pid::from_raw(self.shared.pid));
                    // Anything it started goes too; then the pipes close.
                    self.lifecycle.on_exit(code);
                }
                () = tokio::time::sleep_until(next_deadline.unwrap_or_else(far_future)), if next_deadline.is_some() => {
                    self.expire_requests().await;
                }
                () = tokio::time::sleep_until(next_held.unwrap_or_else(far_future)), if next_held.is_some() => {
                    self.release_held().await;
                }
                () = tokio::time::sleep_until(self.startup_deadline.unwrap_or_else(far_future)), if self.startup_deadline.is_some() && running => {
                    self.startup_deadline = None;
                    let message = format!("the CLI has not answered for {} s; it may be hanging (stop the session to end it)", self.config.startup_timeout.as_secs());
                    self.emit(ChatEvent::Error { code: "cli_unresponsive".into(), message, line: None }).await;
                }
            }
        }
        readers.cancel();
        // Nothing of the session outlives it.
        let (code, reason) = self.lifecycle.end().await;
        self.finish(code, reason, &exit_tx).await;
    }

    async fn emit(&self, event: ChatEvent) {
        // The recorder only goes away when the server does; nothing to do then.
        let _ = self.events.send(event).await;
    }

    async fn write(&mut self, value: &Value) -> bool {
        let Some(stdin) = self.stdin.as_mut() else {
            return false;
        };
        let mut line = value.to_string();
        line.push('\n');
        let ok = stdin.write_all(line.as_bytes()).await.is_ok() && stdin.flush().await.is_ok();
        if !ok {
            self.stdin = None;
        }
        ok
    }

    async fn send_control(&mut self, request: Value, what: &str) -> bool {
        self.next_control += 1;
        let id = format!("ccweb-{}", self.next_control);
        self.controls.insert(id.clone(), what.to_owned());
        self.write(&json!({"type": "control_request", "request_id": id, "request": request}))
            .await
    }

    async fn on_stdout(&mut self, line: Line) {
        self.shared.touch();
        let text = match line {
            Line::Text(t) => t,
            Line::TooLong(n) => {
                let message = format!("the CLI printed a line of {n} bytes, over the {MAX_LINE_BYTES}-byte limit; it was skipped");
                return self
                    .emit(ChatEvent::Error {
                        code: "line_too_long".into(),
                        message,
                        line: None,
                    })
                    .await;
            }
        };
        match self.translator.line(&text) {
            Parsed::Nothing => {}
            Parsed::Events(events) => {
                for event in events {
                    let turn_ended = matches!(event, ChatEvent::Result { .. });
                    self.observe(&event).await;
                    self.emit(event).await;
                    if turn_ended {
                        self.emit_turn_state().await;
                    }
                }
            }
            Parsed::Permission {
                request_id,
                event,
                input,
                suggestions,
            } => {
                let deadline = self
                    .config
                    .permission_timeout
                    .map(|t| tokio::time::Instant::now() + t);
                self.pending.insert(
                    request_id,
                    Pending {
                        input,
                        suggestions,
                        deadline,
                    },
                );
                self.shared
                    .pending
                    .store(self.pending.len(), Ordering::Relaxed);
                self.hold_or_show(*event).await;
            }
            Parsed::OtherRequest {
                request_id,
                subtype,
            } => {
                // Not served by ccweb: answer so the CLI does not wait forever.
                let response = if subtype == "request_user_dialog" {
                    json!({"subtype": "success", "request_id": request_id, "response": {"behavior": "cancelled"}})
                } else {
                    json!({"subtype": "error", "request_id": request_id, "error": format!("ccweb does not handle {subtype}")})
                };
                self.write(&json!({"type": "control_response", "response": response}))
                    .await;
            }
            Parsed::ControlResponse {
                request_id,
                error,
                response,
            } => self.on_control_response(&request_id, error, response).await,
            Parsed::Cancel { request_id } => {
                // Withdrawn before it was shown: the UI never hears of it.
                let shown = self.held.remove(&request_id).is_none();
                if self.pending.remove(&request_id).is_some() && shown {
                    self.shared
                        .pending
                        .store(self.pending.len(), Ordering::Relaxed);
                    let message = Some("the CLI withdrew the request".to_owned());
                    self.emit(ChatEvent::PermissionResolved {
                        request_id,
                        resolution: Resolution::Cancelled,
                        by: None,
                        message,
                        remember: false,
                    })
                    .await;
                    self.emit_turn_state().await;
                }
            }
        }
    }

    /// Shows a permission request; an `Edit` / `MultiEdit` one first asks
    /// the CLI for its file (at most `READ_FILE_WAIT`), for the line numbers.
    async fn hold_or_show(&mut self, event: ChatEvent) {
        let edits = match &event {
            ChatEvent::PermissionRequest {
                request_id,
                tool_name,
                input,
                ..
            } => edits_of(tool_name, input).map(|e| (request_id.clone(), e)),
            _ => None,
        };
        if let Some((request_id, (path, edits))) = edits {
            let read = json!({"subtype": "read_file", "path": path, "max_bytes": MAX_READ_BYTES});
            let what = format!("{READ_FILE_PREFIX}{request_id}");
            if self.send_control(read, &what).await {
                let until = tokio::time::Instant::now() + READ_FILE_WAIT;
                self.held.insert(
                    request_id,
                    Held {
                        event,
                        edits,
                        until,
                    },
                );
                return;
            }
        }
        self.show_prompt(event).await;
    }

    /// Shows a held prompt, with line numbers when `contents` came.
    async fn show_held(&mut self, request_id: &str, contents: Option<&str>) {
        let Some(Held {
            mut event, edits, ..
        }) = self.held.remove(request_id)
        else {
            return; // released on time already, or withdrawn
        };
        if let (Some(text), ChatEvent::PermissionRequest { edit_lines: l, .. }) =
            (contents, &mut event)
        {
            *l = edit_lines(text, &edits);
        }
        if self.pending.contains_key(request_id) {
            self.show_prompt(event).await;
        }
    }

    /// Shows held prompts whose file did not come in time.
    async fn release_held(&mut self) {
        let now = tokio::time::Instant::now();
        let due: Vec<String> = self
            .held
            .iter()
            .filter(|(_, h)| h.until <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            self.show_held(&id, None).await;
        }
    }

    async fn show_prompt(&self, event: ChatEvent) {
        self.emit(event).await;
        self.emit(state_event("requires_action", true, None, None))
            .await;
    }

    /// Learns from events as they pass: slash commands, turn boundaries.
    async fn observe(&mut self, event: &ChatEvent) {
        match event {
            ChatEvent::System {
                subtype,
                slash_commands,
                ..
            } if subtype == "init" && !slash_commands.is_empty() => {
                self.slash_commands.clone_from(slash_commands);
            }
            ChatEvent::Result { .. } => {
                self.turns = self.turns.saturating_sub(1);
                self.shared.turns.store(self.turns, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    async fn emit_turn_state(&self) {
        let (state, attention) = match (self.pending.is_empty(), self.turns > 0) {
            (false, _) => ("requires_action", true),
            (true, true) => ("running", false),
            (true, false) => ("idle", false),
        };
        self.emit(state_event(state, attention, None, None)).await;
    }

    async fn on_control_response(
        &mut self,
        request_id: &str,
        error: Option<String>,
        response: Value,
    ) {
        let Some(what) = self.controls.remove(request_id) else {
            return;
        };
        if let Some(prompt) = what.strip_prefix(READ_FILE_PREFIX) {
            // A file that cannot be read only costs the line numbers.
            let contents = error
                .is_none()
                .then(|| response.get("contents").and_then(Value::as_str))
                .flatten();
            return self.show_held(prompt, contents).await;
        }
        if what == "initialize" {
            // Answered, even if with an error: the CLI is alive.
            self.startup_deadline = None;
        }
        if let Some(error) = error {
            let message = format!("{what} failed: {error}");
            return self
                .emit(ChatEvent::Error {
                    code: "control_failed".into(),
                    message,
                    line: None,
                })
                .await;
        }
        if what == "initialize" {
            let names: Vec<String> = response
                .get("commands")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if !names.is_empty() {
                self.slash_commands = names.clone();
            }
            self.emit(ChatEvent::System {
                subtype: "initialize".into(),
                model: None,
                cwd: None,
                tools: Vec::new(),
                slash_commands: names,
                permission_mode: None,
                claude_session_id: None,
                data: json!({
                    "commands": response.get("commands").cloned().unwrap_or(Value::Null),
                    "models": response.get("models").cloned().unwrap_or(Value::Null),
                    "output_style": response.get("output_style").cloned().unwrap_or(Value::Null),
                }),
            })
            .await;
            self.emit_turn_state().await;
        }
    }

    async fn on_stderr(&mut self, line: Line) {
        let Line::Text(text) = line else { return };
        let text = text.trim_end().to_owned();
        if text.is_empty() {
            return;
        }
        self.stderr_tail.push(cut(&text));
        if self.stderr_tail.len() > 20 {
            self.stderr_tail.remove(0);
        }
        self.stderr_events += 1;
        if self.stderr_events <= MAX_STDERR_EVENTS {
            let message = if self.stderr_events == MAX_STDERR_EVENTS {
                format!("{text} (further stderr lines are not reported)")
            } else {
                text
            };
            self.emit(ChatEvent::Error {
                code: "cli_stderr".into(),
                message: cut(&message),
                line: None,
            })
            .await;
        }
    }

    async fn on_command(&mut self, cmd: Command) {
        if let Command::Stop { reason } = cmd {
            return self.lifecycle.begin_stop(reason);
        }
        if self.lifecycle.stop_reason().is_some() || self.stdin.is_none() {
            let reply = match cmd {
                Command::UserMessage { reply, .. }
                | Command::Answer { reply, .. }
                | Command::Control { reply, .. } => reply,
                Command::Stop { .. } => return,
            };
            let _ = reply.send(Err(ChatError::Gone));
            return;
        }
        self.shared.touch();
        match cmd {
            Command::UserMessage {
                text,
                images,
                by,
                reply,
            } => {
                let result = self.user_message(text, images, by).await;
                let _ = reply.send(result);
            }
            Command::Answer {
                request_id,
                answer,
                reply,
            } => {
                let result = self.answer(request_id, answer).await;
                let _ = reply.send(result);
            }
            Command::Control { request, reply } => {
                let what = request
                    .get("subtype")
                    .and_then(Value::as_str)
                    .unwrap_or("control")
                    .to_owned();
                let ok = self.send_control(request, &what).await;
                let _ = reply.send(if ok { Ok(()) } else { Err(ChatError::Gone) });
            }
            Command::Stop { .. } => {}
        }
    }

    async fn user_message(
        &mut self,
        text: String,
        images: Vec<ImageInput>,
        by: String,
    ) -> Result<(), ChatError> {
        if let Some(command) = text.trim_start().strip_prefix('/') {
            let name = command.split_whitespace().next().unwrap_or("");
            if !self.slash_commands.is_empty() && !self.slash_commands.iter().any(|c| c == name) {
                return Err(ChatError::Invalid(format!(
                    "/{name} is not available in chat sessions; available: /{}",
                    self.slash_commands.join(", /")
                )));
            }
        }
        let content = if images.is_empty() {
            Value::String(text.clone())
        } else {
            let mut blocks = vec![json!({"type": "text", "text": text})];
            blocks.extend(images.iter().map(|i| {
                json!({"type": "image", "source": {"type": "base64", "media_type": i.media_type, "data": i.data}})
            }));
            Value::Array(blocks)
        };
        let media_types = images.into_iter().map(|i| i.media_type).collect();
        // Recorded before it is sent: the transcript shows the prompt before the reply.
        self.emit(ChatEvent::UserMessage {
            text,
            images: media_types,
            by: Some(by),
        })
        .await;
        if !self
            .write(&json!({"type": "user", "message": {"role": "user", "content": content}}))
            .await
        {
            return Err(ChatError::Gone);
        }
        // Messages sent during a turn queue up; each becomes a turn of its own.
        self.turns += 1;
        self.shared.turns.store(self.turns, Ordering::Relaxed);
        if self.turns == 1 {
            self.emit_turn_state().await;
        }
        Ok(())
    }

    async fn answer(&mut self, request_id: String, answer: Answer) -> Result<(), ChatError> {
        let Some(pending) = self.pending.remove(&request_id) else {
            return Err(ChatError::UnknownRequest(request_id));
        };
        self.shared
            .pending
            .store(self.pending.len(), Ordering::Relaxed);
        let (response, resolution, message) = match answer.behavior {
            Behavior::Allow => {
                // The CLI requires updatedInput on allow: echo the input to allow it as is.
                let mut body = json!({"behavior": "allow", "updatedInput": answer.updated_input.unwrap_or(pending.input)});
                if answer.remember && !pending.suggestions.is_empty() {
                    body["updatedPermissions"] = Value::Array(pending.suggestions);
                }
                (body, Resolution::Allow, None)
            }
            Behavior::Deny => {
                // ... and a message on deny.
                let message = answer
                    .message
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or_else(|| format!("{} denied this.", answer.by));
                (
                    json!({"behavior": "deny", "message": message, "interrupt": false}),
                    Resolution::Deny,
                    Some(message),
                )
            }
        };
        let remember = answer.remember && resolution == Resolution::Allow;
        self.write(&json!({"type": "control_response", "response": {"subtype": "success", "request_id": request_id, "response": response}}))
            .await;
        self.emit(ChatEvent::PermissionResolved {
            request_id,
            resolution,
            by: Some(answer.by),
            message,
            remember,
        })
        .await;
        self.emit_turn_state().await;
        Ok(())
    }

    async fn expire_requests(&mut self) {
        let now = tokio::time::Instant::now();
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for request_id in expired {
            self.pending.remove(&request_id);
            let secs = self.config.permission_timeout.map_or(0, |t| t.as_secs());
            let message = format!(
                "No one answered this permission request within {secs} s, so ccweb denied it."
            );
            self.write(&json!({"type": "control_response", "response": {"subtype": "success", "request_id": request_id, "response": {"behavior": "deny", "message": message, "interrupt": false}}}))
                .await;
            self.emit(ChatEvent::PermissionResolved {
                request_id,
                resolution: Resolution::Timeout,
                by: None,
                message: Some(message),
                remember: false,
            })
            .await;
        }
        self.shared
            .pending
            .store(self.pending.len(), Ordering::Relaxed);
        self.emit_turn_state().await;
    }

    /// How long the chat has been idle: no input or output; `None` while
    /// a turn runs, a permission request waits or a viewer is attached.
    fn idle_for(&self) -> Option<std::time::Duration> {
        let busy = self.turns > 0
            || !self.pending.is_empty()
            || self.shared.viewers.load(Ordering::Relaxed) > 0;
        (!busy).then(|| self.shared.last_activity().0.elapsed())
    }

    async fn finish(
        mut self,
        code: i32,
        reason: EndReason,
        exit_tx: &watch::Sender<Option<ExitInfo>>,
    ) {
        for (request_id, _) in std::mem::take(&mut self.pending) {
            let message = Some("the session ended before anyone answered".to_owned());
            self.emit(ChatEvent::PermissionResolved {
                request_id,
                resolution: Resolution::Cancelled,
                by: None,
                message,
                remember: false,
            })
            .await;
        }
        self.shared.pending.store(0, Ordering::Relaxed);
        if reason == EndReason::Exit && code != 0 {
            let tail = self.stderr_tail.join("\n");
            let message = if tail.is_empty() {
                format!("the CLI exited with code {code}")
            } else {
                format!("the CLI exited with code {code}: {tail}")
            };
            self.emit(ChatEvent::Error {
                code: "cli_exited".into(),
                message,
                line: None,
            })
            .await;
        }
        if reason == EndReason::MemoryLimit {
            self.emit(ChatEvent::Error {
                code: "memory_limit".into(),
                message: "the session went over its memory limit (session_max_memory_bytes) and the kernel killed the CLI".into(),
                line: None,
            })
            .await;
        }
        let state = if reason == EndReason::Exit {
            "exited"
        } else {
            "stopped"
        };
        self.emit(state_event(
            state,
            false,
            Some(code),
            Some(reason.as_str().to_owned()),
        ))
        .await;
        exit_tx.send_replace(Some(ExitInfo {
            code,
            reason,
            final_screen: Default::default(),
            at: SystemTime::now(),
        }));
    }
}

fn state_event(
    state: &str,
    needs_attention: bool,
    exit_code: Option<i32>,
    detail: Option<String>,
) -> ChatEvent {
    ChatEvent::State {
        state: state.into(),
        needs_attention,
        exit_code,
        detail,
    }
}
