//! `GET /api/fs/dirs?path=DIR`: subdirectories for the directory picker,
//! under the same rule as working directories (inside an allowed root),
//! listed as the user (through the launcher with `isolation = "unix"`:
//! their roots are 0700 and theirs).

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::ApiQuery;
use crate::state::AppState;

/// Query of the picker.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirsQuery {
    /// The directory; omitted: the first allowed root.
    path: Option<String>,
    /// `1`: include names starting with a dot.
    hidden: Option<u8>,
}

/// Lists the subdirectories of a directory inside the allowed roots.
pub async fn dirs(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<DirsQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let roots = &crate::paths::roots_for(&state.config, &auth.user)?;
    let requested = match q.path.as_deref() {
        Some(p) if !p.is_empty() => p.to_owned(),
        _ => roots
            .first()
            .map(|r| r.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let isolation = state.sessions.isolation();
    let dir = isolation
        .resolve_working_dir(&auth.user.name, &requested, roots)
        .await?;
    let show_hidden = q.hidden == Some(1);
    let listing_dir = dir.clone();
    let files = isolation
        .user_files(&auth.user.name)
        .ok_or_else(crate::isolation::launcher_unavailable)?;
    let listed = tokio::task::spawn_blocking(move || files.list_subdirs(&listing_dir, show_hidden))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            ApiError::bad_request(
                "invalid_working_dir",
                format!("cannot list {requested}: {e}"),
            )
        })?;
    // The parent only when it is itself inside a root.
    let parent = dir
        .parent()
        .filter(|p| roots.iter().any(|r| p.starts_with(r)))
        .map(PathBuf::from);
    let dirs: Vec<_> = listed
        .dirs
        .into_iter()
        .map(|d| json!({"name": d.name, "path": d.path}))
        .collect();
    Ok(Json(
        json!({"path": dir, "parent": parent, "roots": roots, "dirs": dirs, "truncated": listed.truncated}),
    ))
}
