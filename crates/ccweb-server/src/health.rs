//! Liveness and readiness: `GET /healthz` (the process answers) and
//! `GET /readyz` (it can take sessions: not shutting down, the database
//! answers, the disk has room, the Claude Code CLI is there to start).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::path::{Path, PathBuf};

use crate::error::error_body;
use crate::state::AppState;

/// `GET /healthz`: 200 while the process is up.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: 200 `{"status":"ready"}`, or 503 with the first failing
/// check as the error code (`shutting_down`, `database_unreachable`,
/// `disk_full`, `claude_not_found`).
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.is_shutting_down() {
        return error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down",
        );
    }
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unreachable",
            "the database is unreachable",
        );
    }
    if let Err(e) = crate::disk::check_free_space(&state.config) {
        return error_body(StatusCode::SERVICE_UNAVAILABLE, e.code(), &e.to_string());
    }
    let claude = &state.config.claude_bin;
    if find_program(claude).is_none() {
        tracing::warn!(claude_bin = %claude.display(), "readiness: the Claude Code CLI was not found");
        return error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "claude_not_found",
            "the Claude Code CLI (claude_bin) is not an executable file or not found in PATH; sessions cannot start",
        );
    }
    Json(json!({"status": "ready"})).into_response()
}

/// Finds a program the way the child's `exec` would: a path (anything
/// with a `/`) must be an executable file; a bare name is looked up in
/// the server's `PATH` (the CLI inherits it unless `child_env` drops it).
pub fn find_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return is_executable(program).then(|| program.to_path_buf());
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_by_path_or_name_and_must_be_executable() {
        assert_eq!(
            find_program(Path::new("/bin/sh")),
            Some(PathBuf::from("/bin/sh"))
        );
        assert!(find_program(Path::new("sh")).is_some());
        assert!(find_program(Path::new("/nonexistent/claude")).is_none());
        assert!(find_program(Path::new("no-such-program-7d1e")).is_none());
        assert!(
            find_program(Path::new("/etc/passwd")).is_none(),
            "not executable"
        );
        assert!(find_program(Path::new("/bin")).is_none(), "a directory");
    }
}
