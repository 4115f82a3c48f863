//! Request extractors with our error answers: `ApiJson` (415 for non-JSON
//! bodies, 413 naming the limit, 400 naming the bad field), `ApiQuery`
//! (400 naming the bad parameter) and `Upgrade` (a JSON 400 for a plain
//! request to a WebSocket route).

use axum::extract::rejection::JsonRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON request body.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType),
            Err(JsonRejection::JsonDataError(e)) => {
                Err(ApiError::bad_request("invalid_field", e.body_text()))
            }
            Err(JsonRejection::JsonSyntaxError(e)) => {
                Err(ApiError::bad_request("invalid_json", e.body_text()))
            }
            Err(JsonRejection::BytesRejection(e))
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError::TooLarge {
                    limit: state.config.max_body_bytes,
                })
            }
            Err(other) => Err(ApiError::bad_request("invalid_body", other.body_text())),
        }
    }
}

/// Query-string parameters.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Self(v))
            .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))
    }
}

/// A WebSocket upgrade. Put it after `Auth` in a handler's arguments so a
/// caller without credentials gets 401 whatever else is wrong.
pub struct Upgrade(pub WebSocketUpgrade);

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        WebSocketUpgrade::from_request_parts(parts, state)
            .await
            .map(Self)
            .map_err(|e| {
                ApiError::bad_request(
                    "websocket_required",
                    format!("this endpoint is a WebSocket: {}", e.body_text()),
                )
            })
    }
}
