//! The router: every route of the API in one place, and the JSON
//! fallbacks for unknown routes and methods.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde_json::json;

use crate::auth::Auth;
use crate::error::{error_body, ApiError};
use crate::state::AppState;
use crate::{auth, http, ws};

/// Builds the router over `state`, under `base_path` when one is set.
pub fn router(state: AppState) -> Router {
    let Some(base) = state.config.base_path.clone() else {
        return routes(state);
    };
    // `/ccweb` itself goes to `/ccweb/`: the UI's relative links need the slash.
    let slash = format!("{base}/");
    Router::new()
        .route(
            &base,
            get(move || async move { axum::response::Redirect::permanent(&slash) }),
        )
        // The nested router never sees `/ccweb/` itself (its wildcard needs a
        // character): that is the UI's start page.
        .route(&format!("{base}/"), get(ui))
        .nest(&base, routes(state))
        .fallback(not_found)
}

/// Every route, relative to the base path.
fn routes(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/token", post(auth::token_login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/logout-all", post(auth::logout_all))
        .route("/auth/config", get(crate::oidc::login_config))
        .route("/auth/oidc/start", get(crate::oidc::start))
        .route("/auth/oidc/callback", get(crate::oidc::callback))
        .route("/me", get(auth::me))
        .route("/me/password", post(http::account::change_password))
        .route(
            "/me/preferences",
            get(http::account::preferences).put(http::account::set_preferences),
        )
        .route(
            "/me/credentials",
            get(http::credentials::get).put(http::credentials::put),
        )
        .route("/me/credentials/{kind}", delete(http::credentials::delete))
        .route("/openapi.json", get(http::openapi::document))
        .route("/admin/status", get(admin_status))
        .route("/admin/audit", get(http::admin::audit_log))
        .route(
            "/admin/users",
            get(http::admin::list_users).post(http::admin::create_user),
        )
        .route("/admin/users/{name}", patch(http::admin::update_user))
        .route(
            "/admin/users/{name}/password",
            post(http::account::reset_password),
        )
        .route(
            "/tokens",
            get(http::tokens::list).post(http::tokens::create),
        )
        .route("/tokens/{id}", delete(http::tokens::revoke))
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
        .route("/claude/sessions/{id}/export", get(http::export::export))
        .route(
            "/claude/sessions/{id}/shares",
            get(http::shares::list).post(http::shares::create),
        )
        .route(
            "/claude/sessions/{id}/shares/{share_id}",
            delete(http::shares::revoke),
        )
        .route("/shared/{secret}", get(http::shares::get))
        .route("/shared/{secret}/events", get(http::shares::events))
        .route(
            "/shared/{secret}/terminal",
            get(ws::terminal::shared_terminal),
        )
        .route("/shared/{secret}/chat", get(ws::raw_chat::shared_chat))
        .route("/claude/history", get(http::history::history))
        .route("/fs/dirs", get(http::fs::dirs))
        .route(
            "/claude/sessions/{id}/terminal",
            get(ws::terminal::terminal),
        )
        .route("/claude/sessions/{id}/chat", get(ws::raw_chat::chat))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    let app = Router::new()
        .nest("/api", api)
        .route("/healthz", get(crate::health::healthz))
        .route("/readyz", get(crate::health::readyz))
        .route("/metrics", get(crate::metrics::scrape))
        .route("/login", get(auth::login_page))
        .fallback(ui)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        // A slow client cannot hold a request (body included) open forever.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_secs(state.config.http_request_timeout_secs),
        ))
        .layer(axum::middleware::map_response(json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.config.behind_https(),
            security_headers,
        ))
        .layer(tower_http::compression::CompressionLayer::new());
    crate::telemetry::instrument(app, state.metrics.clone()).with_state(state)
}

/// The web UI for page requests; 404 for anything else.
async fn ui(req: axum::extract::Request) -> Response {
    if matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    ) {
        crate::assets::serve(req).await
    } else {
        not_found().await
    }
}

/// Content-Security-Policy of every response: scripts only from this
/// origin (the UI has no inline script), no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; \
manifest-src 'self'; base-uri 'self'; form-action 'self'; object-src 'none'; frame-ancestors 'none'";

/// Security headers on every response (HSTS only behind https).
async fn security_headers(
    State(https): State<bool>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::{header, HeaderValue};
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    resp
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

/// Body-limit and timeout answers from outside our extractors still answer JSON.
async fn json_errors(resp: Response) -> Response {
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return resp;
    }
    match resp.status() {
        StatusCode::PAYLOAD_TOO_LARGE => error_body(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "request body too large",
        ),
        StatusCode::REQUEST_TIMEOUT => error_body(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request took too long to arrive or to answer",
        ),
        _ => resp,
    }
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
        "containment": state.sessions.containment().kind(),
        "session_limits": state.sessions.containment().limits_report(),
        "isolation": {
            "mode": state.config.isolation,
            "allow_shared_identity": state.config.allow_shared_identity,
        },
        "user_credentials": state.config.user_credentials.as_str(),
    })))
}
