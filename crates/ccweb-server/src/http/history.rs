//! `GET /api/claude/history?working_dir=DIR`: conversations the CLI saved
//! on disk for a directory, which a new session can continue (`resume`).

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::ApiQuery;
use crate::state::AppState;

/// Query of the history endpoint.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// The directory (inside an allowed root).
    working_dir: String,
}

/// Lists the CLI's saved conversations for a directory, newest first, from
/// the caller's own Claude home ([`user_claude_home`](crate::sessions::user_claude_home)), read as them
/// (through the launcher with `isolation = "unix"`). Conversations that
/// another user's ccweb session ran are left out.
pub async fn history(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let roots = crate::paths::roots_for(&state.config, &auth.user)?;
    let cwd = state
        .sessions
        .isolation()
        .resolve_working_dir(&auth.user.name, &q.working_dir, &roots)
        .await?;
    let Some(home) = state.sessions.claude_home_of(&auth.user.name).await else {
        return Ok(Json(json!({"working_dir": cwd, "conversations": []})));
    };
    let dir = cwd.clone();
    let found =
        tokio::task::spawn_blocking(move || home.files.list_conversations(&home.path, &dir))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
    let mut conversations = Vec::with_capacity(found.len());
    for c in found {
        let owners = state.store.claude_session_owners(&c.session_id).await?;
        if owners.iter().all(|o| *o == auth.user.id) {
            conversations.push(c);
        }
    }
    Ok(Json(
        json!({"working_dir": cwd, "conversations": conversations}),
    ))
}
