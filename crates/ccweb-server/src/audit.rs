//! The audit log: who did what, from where, with what outcome. Entries go
//! to the database (queried by admins at `GET /api/admin/audit`) and,
//! when `audit_log_file` is set, also as JSON lines to that file.
//!
//! Recording never fails the action being recorded: a database or file
//! error is logged and the request goes on. Entries never hold secrets;
//! callers pass names, ids and short summaries only.

use serde_json::Value;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Auth;
use ccweb_store::{NewAuditEntry, Store, User};

/// The action succeeded.
pub const SUCCESS: &str = "success";
/// The caller could not prove who they are (a wrong password, a bad state).
pub const FAILURE: &str = "failure";
/// The caller is known but not allowed.
pub const DENIED: &str = "denied";
/// A rate limit or quota refused the action.
pub const LIMITED: &str = "limited";

/// How often old entries are pruned.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Longest text kept from a caller-supplied value (a tried user name, a tool input summary).
pub const MAX_TEXT_CHARS: usize = 200;

/// Records audit entries. Cheap to clone.
#[derive(Clone)]
pub struct Audit {
    store: Store,
    /// Counts logins and limit refusals as they are recorded.
    metrics: crate::metrics::Metrics,
    /// The JSON-lines copy, if configured.
    file: Option<Arc<tokio::sync::Mutex<tokio::fs::File>>>,
}

impl Audit {
    /// Opens the JSON-lines file (appending, created 0600) if one is
    /// configured, and starts pruning entries older than `retention_days`
    /// (0 keeps them forever).
    pub async fn start(
        store: Store,
        metrics: crate::metrics::Metrics,
        file: Option<&Path>,
        retention_days: u64,
        cancel: CancellationToken,
        tracker: &TaskTracker,
    ) -> std::io::Result<Audit> {
        let file = match file {
            Some(path) => {
                let mut options = tokio::fs::OpenOptions::new();
                options.create(true).append(true).mode(0o600);
                Some(Arc::new(tokio::sync::Mutex::new(options.open(path).await?)))
            }
            None => None,
        };
        if retention_days > 0 {
            let store = store.clone();
            let keep = time::Duration::days(
                i64::try_from(retention_days).unwrap_or(i64::MAX / 86_400 / 2),
            );
            crate::periodic::spawn_every(PRUNE_INTERVAL, cancel, tracker, move || {
                let store = store.clone();
                async move {
                    let Some(cutoff) = time::OffsetDateTime::now_utc().checked_sub(keep) else {
                        return;
                    };
                    match store.prune_audit(cutoff).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(removed = n, "pruned old audit entries"),
                        Err(err) => tracing::warn!(%err, "pruning the audit log failed"),
                    }
                }
            });
        }
        Ok(Audit {
            store,
            metrics,
            file,
        })
    }

    /// Stores `entry` (and appends it to the file). Errors are logged only.
    pub async fn record(&self, entry: NewAuditEntry) {
        self.metrics.audited(&entry);
        let stored = match self.store.append_audit(&entry).await {
            Ok(stored) => stored,
            Err(err) => {
                tracing::warn!(%err, action = %entry.action, "could not store an audit entry");
                return;
            }
        };
        let Some(file) = &self.file else { return };
        let mut line = match serde_json::to_vec(&stored) {
            Ok(line) => line,
            Err(_) => return,
        };
        line.push(b'\n');
        let mut file = file.lock().await;
        // tokio's `File` hands a write to a blocking task and returns before
        // it lands; flushing waits for it, so the line is in the file by the
        // time the audited request is answered (and is not lost on a crash
        // right after).
        let written = match file.write_all(&line).await {
            Ok(()) => file.flush().await,
            Err(err) => Err(err),
        };
        if let Err(err) = written {
            tracing::warn!(%err, "could not write the audit log file");
        }
    }
}

/// The outcome an error stands for: `limited` for rate limits, quotas and
/// capacity, `denied` for refusals, else `failure`.
pub fn outcome_of(e: &crate::error::ApiError) -> &'static str {
    use crate::error::ApiError as E;
    match e {
        E::RateLimited { .. } | E::QuotaExceeded { .. } | E::Unavailable { .. } => LIMITED,
        E::Forbidden { .. } | E::Unauthorized | E::NotFound(_) => DENIED,
        _ => FAILURE,
    }
}

/// An entry for an action of an authenticated caller.
pub fn by(auth: &Auth, action: &str, outcome: &str) -> NewAuditEntry {
    NewAuditEntry {
        source: auth.source.map(|ip| ip.to_string()),
        ..by_user(&auth.user, action, outcome)
    }
}

/// An entry for an action of `user` with no request (the server itself or the command line).
pub fn by_user(user: &User, action: &str, outcome: &str) -> NewAuditEntry {
    NewAuditEntry {
        user_id: Some(user.id),
        user_name: Some(user.name.clone()),
        action: action.to_owned(),
        outcome: outcome.to_owned(),
        ..NewAuditEntry::default()
    }
}

/// An entry for a caller who is not logged in; `tried_name` is truncated.
pub fn anonymous(
    source: Option<IpAddr>,
    tried_name: Option<&str>,
    action: &str,
    outcome: &str,
) -> NewAuditEntry {
    NewAuditEntry {
        user_name: tried_name.map(truncate),
        source: source.map(|ip| ip.to_string()),
        action: action.to_owned(),
        outcome: outcome.to_owned(),
        ..NewAuditEntry::default()
    }
}

/// At most [`MAX_TEXT_CHARS`] characters of `text`, with `…` when cut.
pub fn truncate(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(MAX_TEXT_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// A short, secret-free summary of a tool's input for the audit log: the
/// command, file path, URL or pattern when the input has one, else the
/// input's keys.
pub fn tool_input_summary(input: &Value) -> String {
    const KEYS: [&str; 6] = [
        "command",
        "file_path",
        "path",
        "url",
        "pattern",
        "notebook_path",
    ];
    for key in KEYS {
        if let Some(text) = input.get(key).and_then(Value::as_str) {
            return truncate(&format!("{key}: {text}"));
        }
    }
    match input.as_object() {
        Some(map) => truncate(&map.keys().cloned().collect::<Vec<_>>().join(", ")),
        None => String::new(),
    }
}
