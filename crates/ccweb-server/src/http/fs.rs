//! `GET /api/fs/dirs?path=DIR`: subdirectories for the directory picker,
//! under the same rule as working directories (inside an allowed root).

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::ApiQuery;
use crate::paths::resolve_working_dir;
use crate::state::AppState;

/// Entries listed at most.
const MAX_ENTRIES: usize = 1000;

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
    let dir = resolve_working_dir(&requested, roots)?;
    let show_hidden = q.hidden == Some(1);
    let listing_dir = dir.clone();
    let (entries, truncated) = tokio::task::spawn_blocking(move || list(&listing_dir, show_hidden))
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
    let dirs: Vec<_> = entries
        .into_iter()
        .map(|(name, path)| json!({"name": name, "path": path}))
        .collect();
    Ok(Json(
        json!({"path": dir, "parent": parent, "roots": roots, "dirs": dirs, "truncated": truncated}),
    ))
}

/// Subdirectories of `dir` (following symlinks only when they stay a directory), sorted by name.
fn list(
    dir: &std::path::Path,
    show_hidden: bool,
) -> std::io::Result<(Vec<(String, PathBuf)>, bool)> {
    let mut out = Vec::new();
    let mut truncated = false;
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        if !show_hidden && name.starts_with('.') {
            continue;
        }
        if !entry.path().is_dir() {
            continue;
        }
        if out.len() == MAX_ENTRIES {
            truncated = true;
            break;
        }
        out.push((name, entry.path()));
    }
    out.sort_by_key(|(name, _)| name.to_lowercase());
    Ok((out, truncated))
}
