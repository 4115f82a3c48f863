//! Chat sessions on the server side: the recorder that stores each event
//! of the CLI before anyone sees it, then fans it out to the sockets, and
//! keeps the session record (Claude session id, usage) and notifications
//! in step.

use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, watch};
use uuid::Uuid;

use ccweb_protocol::chat::{ChatEvent, PromptKind, Resolution, StoredEvent};
use ccweb_protocol::Usage;
use ccweb_runner::chat::ChatHandle;
use ccweb_store::Store;

use crate::audit::{self, Audit};
use crate::metrics::Metrics;
use crate::notify::{Notifier, NotifyKind};
use crate::sessions::SessionManager;
use std::collections::HashMap;
use std::time::Instant;

/// Live events kept for sockets that fall behind; a socket further behind
/// than this re-reads the stored transcript.
const LIVE_EVENTS: usize = 1024;

/// Most events stored in one transaction.
const MAX_BATCH: usize = 256;

/// A running chat session: the runner's handle and the live event feed.
#[derive(Clone, Debug)]
pub struct LiveChat {
    /// Commands to the CLI.
    pub handle: ChatHandle,
    events: broadcast::Sender<Arc<StoredEvent>>,
    /// True once the recorder has stored the last event.
    recorded: watch::Receiver<bool>,
}

impl LiveChat {
    /// Wraps a handle; the [`Recorder`] made with it feeds the events.
    pub(crate) fn new(handle: ChatHandle) -> (Self, watch::Sender<bool>) {
        let (events, _) = broadcast::channel(LIVE_EVENTS);
        let (done_tx, recorded) = watch::channel(false);
        (
            Self {
                handle,
                events,
                recorded,
            },
            done_tx,
        )
    }

    /// Live events from now on (already stored when they arrive).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.events.subscribe()
    }

    /// Waits until every event of the process is stored.
    pub async fn recorded(&self) {
        let mut rx = self.recorded.clone();
        let _ = rx.wait_for(|done| *done).await;
    }
}

/// Stores a chat session's events in order and publishes them.
pub(crate) struct Recorder {
    session_id: Uuid,
    store: Store,
    events: broadcast::Sender<Arc<StoredEvent>>,
    done: watch::Sender<bool>,
    notifier: Notifier,
    audit: Audit,
    manager: SessionManager,
    /// The Claude session id last written to the record.
    claude_session_id: Option<String>,
    /// Open permission requests: tool, input summary and kind, for the audit entry of the decision.
    pending: HashMap<String, (String, String, PromptKind)>,
    /// Counts turns, usage and permission decisions.
    metrics: Metrics,
    /// When the CLI was spawned (the recorder is made right after), until
    /// it is seen ready.
    spawned: Option<Instant>,
    /// When each open permission request arrived.
    asked: HashMap<String, Instant>,
}

impl Recorder {
    /// A recorder for `live`'s session.
    pub(crate) fn new(
        session_id: Uuid,
        live: &LiveChat,
        done: watch::Sender<bool>,
        manager: SessionManager,
        claude_session_id: Option<String>,
    ) -> Self {
        Self {
            session_id,
            store: manager.store().clone(),
            events: live.events.clone(),
            done,
            notifier: manager.notifier().clone(),
            audit: manager.audit().clone(),
            metrics: manager.metrics().clone(),
            spawned: Some(Instant::now()),
            asked: HashMap::new(),
            manager,
            claude_session_id,
            pending: HashMap::new(),
        }
    }

    /// Runs until the runner closes its event channel (after the final state).
    /// Events that are already waiting are stored together, in one
    /// transaction: a burst costs one commit, a lone event its own.
    pub(crate) async fn run(mut self, mut events: mpsc::Receiver<ChatEvent>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while events.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let stored = match self.store.append_events(self.session_id, &batch).await {
                Ok(stored) => stored,
                Err(e) => {
                    // Never shown unless stored: a client resuming later must see the same.
                    tracing::error!(session = %self.session_id, error = %e, events = batch.len(), "could not store chat events");
                    batch.clear();
                    continue;
                }
            };
            batch.clear();
            if stored
                .last()
                .is_some_and(|e| e.event.is_storage_cap_reached())
            {
                // Stored once per session, so this is said once.
                tracing::warn!(session = %self.session_id, "the session reached its storage cap (session_max_events / session_max_event_bytes); nothing more of it is stored or shown");
            }
            for stored in stored {
                self.side_effects(&stored.event).await;
                // No receivers is fine: nobody is watching right now.
                let _ = self.events.send(Arc::new(stored));
            }
        }
        self.done.send_replace(true);
    }

    async fn side_effects(&mut self, event: &ChatEvent) {
        let id = self.session_id;
        self.measure(event);
        match event {
            ChatEvent::System {
                claude_session_id: Some(sid),
                subtype,
                ..
            } if subtype == "init" && self.claude_session_id.as_deref() != Some(sid.as_str()) => {
                // /clear and forks change it mid-process; follow the CLI.
                if let Err(e) = self.store.set_claude_session_id(id, sid).await {
                    tracing::warn!(session = %id, error = %e, "could not record the Claude session id");
                }
                self.claude_session_id = Some(sid.clone());
            }
            ChatEvent::System {
                permission_mode: Some(mode),
                subtype,
                ..
            } if subtype == "status" => {
                // The CLI reports every mode change (ours, or a plan's
                // approval); a resume starts in the last one.
                self.manager.remember_permission_mode(id, mode).await;
            }
            ChatEvent::Result {
                cost_usd,
                input_tokens,
                output_tokens,
                is_error,
                subtype,
                ..
            } => {
                let usage = Usage {
                    cost_usd: *cost_usd,
                    input_tokens: *input_tokens,
                    output_tokens: *output_tokens,
                };
                if let Err(e) = self.store.add_session_usage(id, &usage).await {
                    tracing::warn!(session = %id, error = %e, "could not record usage");
                }
                self.notify(
                    NotifyKind::TurnFinished,
                    serde_json::json!({"is_error": is_error, "subtype": subtype}),
                )
                .await;
            }
            ChatEvent::PermissionRequest {
                tool_name,
                request_id,
                input,
                prompt_kind,
                ..
            } => {
                self.pending.insert(
                    request_id.clone(),
                    (
                        tool_name.clone(),
                        audit::tool_input_summary(input),
                        *prompt_kind,
                    ),
                );
                self.notify(
                    NotifyKind::NeedsAttention,
                    serde_json::json!({"tool_name": tool_name, "request_id": request_id}),
                )
                .await;
            }
            ChatEvent::State {
                state,
                exit_code,
                detail,
                ..
            } if state == "exited" || state == "stopped" => {
                self.notify(
                    NotifyKind::SessionEnded,
                    serde_json::json!({"state": state, "exit_code": exit_code, "reason": detail}),
                )
                .await;
            }
            ChatEvent::PermissionResolved {
                request_id,
                resolution,
                by,
                remember,
                ..
            } => {
                let (tool, input, kind) = self.pending.remove(request_id).unwrap_or((
                    String::new(),
                    String::new(),
                    PromptKind::Tool,
                ));
                let user = match by {
                    Some(name) => self.store.user_by_name(name).await.ok().flatten(),
                    None => None,
                };
                let mut entry = match &user {
                    Some(user) => audit::by_user(user, "permission.decision", audit::SUCCESS),
                    None => audit::anonymous(None, None, "permission.decision", audit::SUCCESS),
                };
                entry.target = Some(id.to_string());
                entry.detail = serde_json::json!({
                    "request_id": request_id,
                    "tool": tool,
                    "input": input,
                    "resolution": resolution.audit_word(kind),
                    "remember": remember,
                });
                self.audit.record(entry).await;
            }
            _ => {}
        }
    }

    /// Updates the metrics an event moves.
    fn measure(&mut self, event: &ChatEvent) {
        match event {
            // The answer to ccweb's `initialize` request says the CLI is up
            // (`init` only comes with the first turn, when a prompt is sent).
            ChatEvent::System { subtype, .. } if subtype == "initialize" || subtype == "init" => {
                if let Some(spawned) = self.spawned.take() {
                    self.metrics.chat_ready(spawned.elapsed());
                }
            }
            ChatEvent::Result {
                cost_usd,
                input_tokens,
                output_tokens,
                is_error,
                ..
            } => {
                self.metrics
                    .turn_finished(*is_error, *cost_usd, *input_tokens, *output_tokens);
            }
            ChatEvent::PermissionRequest { request_id, .. } => {
                self.metrics.permission_requested();
                self.asked.insert(request_id.clone(), Instant::now());
            }
            ChatEvent::PermissionResolved {
                request_id,
                resolution,
                ..
            } => {
                let outcome = match resolution {
                    Resolution::Allow => "allow",
                    Resolution::Deny => "deny",
                    Resolution::Timeout => "timeout",
                    Resolution::Cancelled => "cancelled",
                };
                let waited = self.asked.remove(request_id).map(|at| at.elapsed());
                self.metrics.permission_resolved(outcome, waited);
            }
            _ => {}
        }
    }

    async fn notify(&self, kind: NotifyKind, detail: serde_json::Value) {
        if !self.notifier.is_enabled() {
            return;
        }
        if let Ok(Some(record)) = self.store.get_session(self.session_id).await {
            self.notifier
                .notify(kind, &self.manager.info(record), detail);
        }
    }
}
