//! Users disabled outside the server: `ccweb user disable NAME` writes the
//! database while the server runs, and nothing tells the server. A check
//! every few seconds finds disabled users with running sessions and does
//! what `PATCH /api/admin/users/{name}` does at once: ends their sockets
//! (and the share links' viewers of their sessions) and stops their
//! sessions. Their logins and tokens are refused from the moment the
//! database says so (every request checks).

use std::time::Duration;

use crate::auth::Revocation;
use crate::state::AppState;

/// How often the check runs: the longest a disabled user's session keeps
/// running after `ccweb user disable`.
const INTERVAL: Duration = Duration::from_secs(2);

/// Starts the periodic check on the server's task tracker.
pub(crate) fn start(state: &AppState) {
    let job_state = state.clone();
    crate::periodic::spawn_every(INTERVAL, state.cancel.clone(), &state.tracker, move || {
        let state = job_state.clone();
        async move { stop_disabled(&state).await }
    });
}

/// Stops the running sessions of every disabled user.
async fn stop_disabled(state: &AppState) {
    if state.sessions.live_count() == 0 {
        return;
    }
    let users = match state.store.list_users().await {
        Ok(users) => users,
        Err(e) => {
            tracing::warn!(error = %e, "could not list users to find disabled ones");
            return;
        }
    };
    for user in users.iter().filter(|u| u.disabled) {
        if state.sessions.live_of(user.id).await.is_empty() {
            continue;
        }
        // As the HTTP path: sockets close (1008, access ended) before the
        // sessions' ends would close them.
        let _ = state.revocations.send(Revocation::User(user.id));
        state.sessions.stop_all_of(user.id).await;
        tracing::info!(user = %user.name, "stopped the sessions of a disabled user");
    }
}
