//! `ApiError`: every error an HTTP handler returns, mapped to a status and
//! the JSON body `{"error":{"code","message"}}` in one place. Internal
//! causes are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// `Retry-After` of a 503 at capacity.
const AT_CAPACITY_RETRY_SECS: u64 = 5;

/// An error answer of the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or a value is invalid.
    #[error("{message}")]
    BadRequest {
        /// snake_case code.
        code: &'static str,
        /// What to fix.
        message: String,
    },
    /// 401: no valid credentials.
    #[error("authentication required")]
    Unauthorized,
    /// 403: authenticated but not allowed (origin, path, scope).
    #[error("{message}")]
    Forbidden {
        /// snake_case code.
        code: &'static str,
        /// Why.
        message: String,
    },
    /// 404: no such thing (also for other users' sessions).
    #[error("{0}")]
    NotFound(String),
    /// 409: the thing is in the wrong state.
    #[error("{message}")]
    Conflict {
        /// snake_case code.
        code: &'static str,
        /// Why.
        message: String,
    },
    /// 413: body too large.
    #[error("request body too large (limit {limit} bytes)")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 415: the body is not JSON.
    #[error("send the body as JSON with Content-Type: application/json")]
    UnsupportedMediaType,
    /// 500 with a message the user can act on: the CLI could not be started.
    #[error("{0}")]
    SpawnFailed(String),
    /// 429: too many attempts; try again after this many seconds.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the next attempt is allowed.
        retry_after_secs: u64,
    },
    /// 429: a per-user quota is used up (running sessions, open sockets).
    #[error("{message}")]
    QuotaExceeded {
        /// snake_case code.
        code: &'static str,
        /// Which quota, and what to do.
        message: String,
    },
    /// 501: not built yet.
    #[error("{0}")]
    NotImplemented(String),
    /// 503: at capacity or shutting down.
    #[error("{message}")]
    Unavailable {
        /// snake_case code.
        code: &'static str,
        /// Why.
        message: String,
    },
    /// 500: logged with its cause; the client sees a generic message.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// 400 with a code and a message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }
    /// 403 with a code and a message.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }
    /// 409 with a code and a message.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }
    /// 500 from any error.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }
    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::RateLimited { .. } | Self::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::SpawnFailed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    /// The snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unavailable { code, .. }
            | Self::QuotaExceeded { code, .. } => code,
            Self::Unauthorized => "unauthorized",
            Self::NotFound(_) => "not_found",
            Self::TooLarge { .. } => "too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::NotImplemented(_) => "not_implemented",
            Self::RateLimited { .. } => "rate_limited",
            Self::SpawnFailed(_) => "spawn_failed",
            Self::Internal(_) => "internal",
        }
    }
}

/// The JSON error body, also used for errors outside handlers.
pub fn error_body(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = %cause, "internal error");
        }
        let mut resp = error_body(self.status(), self.code(), &self.to_string());
        let retry_after = match self {
            Self::RateLimited { retry_after_secs } => Some(retry_after_secs),
            // At capacity: worth a retry once something has stopped.
            Self::Unavailable { code, .. } if code != "shutting_down" => {
                Some(AT_CAPACITY_RETRY_SECS)
            }
            _ => None,
        };
        if let Some(secs) = retry_after {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        resp
    }
}

impl From<ccweb_store::StoreError> for ApiError {
    fn from(e: ccweb_store::StoreError) -> Self {
        use ccweb_store::StoreError as E;
        match e {
            E::NotFound => Self::NotFound("not found".into()),
            E::Conflict(m) => Self::conflict("conflict", m),
            E::InvalidInput(m) => Self::bad_request("invalid_input", m),
            e @ E::SharedIdentity => Self::conflict("shared_identity", e.to_string()),
            other => Self::internal(other),
        }
    }
}
