//! `/api/tokens`: a user's own API tokens: list, create (the secret is
//! shown once), revoke (its open sockets close at once).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::audit;
use crate::auth::{Auth, Revocation};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::state::AppState;
use ccweb_store::{ApiToken, TokenScope};

/// Longest lifetime a token can be given: ten years.
const MAX_EXPIRY_SECS: u64 = 10 * 365 * 24 * 3600;

/// A token as the API shows it (never its secret or digest).
pub(crate) fn token_json(t: &ApiToken) -> serde_json::Value {
    let at = |t: Option<OffsetDateTime>| {
        t.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
    };
    json!({
        "id": t.id,
        "name": t.name,
        "scope": t.scope,
        "created_at": at(Some(t.created_at)),
        "expires_at": at(t.expires_at),
        "last_used_at": at(t.last_used_at),
        "revoked_at": at(t.revoked_at),
    })
}

/// `GET /api/tokens`: the caller's tokens, newest first.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tokens = state.store.list_api_tokens(auth.user.id).await?;
    Ok(Json(
        json!({ "tokens": tokens.iter().map(token_json).collect::<Vec<_>>() }),
    ))
}

/// `POST /api/tokens` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// A label.
    name: String,
    /// `read` or `full` (default `full`).
    scope: Option<TokenScope>,
    /// Lifetime in seconds; omitted: no expiry.
    expires_in_secs: Option<u64>,
}

/// `POST /api/tokens`: creates a token of the caller; 201 with the secret,
/// which is never shown again.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<Response, ApiError> {
    let expires_at = super::expiry(body.expires_in_secs, MAX_EXPIRY_SECS)?;
    let scope = body.scope.unwrap_or(TokenScope::Full);
    let (token, secret) = state
        .store
        .create_api_token(auth.user.id, &body.name, scope, expires_at)
        .await?;
    let mut entry = audit::by(&auth, "token.create", audit::SUCCESS);
    entry.target = Some(token.id.to_string());
    entry.detail = json!({"name": token.name, "scope": token.scope, "expires_at": token_json(&token)["expires_at"]});
    state.audit.record(entry).await;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": token_json(&token), "secret": secret })),
    )
        .into_response())
}

/// `DELETE /api/tokens/{id}`: revokes one of the caller's tokens; sockets
/// opened with it close at once.
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound("no such token".into());
    let id = uuid::Uuid::parse_str(&id).map_err(|_| not_found())?;
    state
        .store
        .revoke_api_token(auth.user.id, id)
        .await
        .map_err(|e| match e {
            ccweb_store::StoreError::NotFound => not_found(),
            other => other.into(),
        })?;
    let _ = state.revocations.send(Revocation::Token(id));
    let mut entry = audit::by(&auth, "token.revoke", audit::SUCCESS);
    entry.target = Some(id.to_string());
    state.audit.record(entry).await;
    Ok(StatusCode::NO_CONTENT)
}
