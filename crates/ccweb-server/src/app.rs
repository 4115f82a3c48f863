//! The router: every route of the API in one place, and the JSON
//! fallbacks for unknown routes and methods.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::auth::Auth;
use crate::error::{error_body, ApiError};
use crate::state::AppState;
use crate::{auth, http, ws};

/// Builds the router over `state`.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/token", post(auth::token_login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/admin/status", get(admin_status))
        .route(
            "/claude/sessions",
            post(http::sessions::create).get(http::sessions::list),
        )
        .route(
            "/claude/sessions/{id}",
            get(http::sessions::get)
                .patch(http::sessions::rename)
                .delete(http::sessions::delete),
        )
        .route("/claude/sessions/{id}/resume", post(http::sessions::resume))
        .route("/claude/sessions/{id}/events", get(http::sessions::events))
        .route("/claude/history", get(http::history::history))
        .route(
            "/claude/sessions/{id}/terminal",
            get(ws::terminal::terminal),
        )
        .route("/claude/sessions/{id}/chat", get(ws::raw_chat::chat))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest("/api", api)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/login", get(auth::login_page))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(axum::middleware::map_response(json_too_large))
        .with_state(state)
}

async fn not_found() -> Response {
    error_body(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn method_not_allowed() -> Response {
    error_body(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}

/// Body-limit rejections from outside our extractors still answer JSON.
async fn json_too_large(resp: Response) -> Response {
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return error_body(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "request body too large",
        );
    }
    resp
}

/// `GET /api/admin/status`: live counts for operators (and leak tests).
async fn admin_status(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !auth.user.is_admin {
        return Err(ApiError::forbidden(
            "admin_only",
            "only admins may read the server status",
        ));
    }
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "live_sessions": state.sessions.live_count(),
        "tasks": state.tracker.len(),
    })))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.is_shutting_down() {
        return error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down",
        );
    }
    match state.store.ping().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            error_body(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unreachable",
                "the database is unreachable",
            )
        }
    }
}
