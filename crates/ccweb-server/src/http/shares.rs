//! Read-only share links: the owner of a session makes, lists and revokes
//! them; any logged-in user holding one may watch the session (its record,
//! its events and both sockets, read-only) until it is revoked or expires.
//! Off with `share_links = false` (every route is then 404). A link dies
//! with its owner's account: while the owner is disabled (or gone) it is
//! 404 like an unknown one, and its open sockets close.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::audit;
use crate::auth::{Auth, Revocation};
use crate::error::ApiError;
use crate::http::sessions::{events_page, owned_session, EventsQuery};
use crate::json::{ApiJson, ApiQuery};
use crate::state::AppState;
use ccweb_store::{SessionRecord, SessionShare};

/// Longest lifetime a link can be given: a year.
const MAX_EXPIRY_SECS: u64 = 365 * 24 * 3600;

fn not_found() -> ApiError {
    ApiError::NotFound("no such share link: it is unknown, revoked or expired".into())
}

fn enabled(state: &AppState) -> Result<(), ApiError> {
    if state.config.share_links {
        Ok(())
    } else {
        Err(ApiError::NotFound(
            "share links are turned off on this server".into(),
        ))
    }
}

/// The session a valid link opens (404 for anything else, alike, also
/// when the session's owner is disabled).
pub(crate) async fn shared_session(
    state: &AppState,
    secret: &str,
) -> Result<(SessionShare, SessionRecord), ApiError> {
    enabled(state)?;
    let share = state
        .store
        .share_by_secret(secret)
        .await?
        .ok_or_else(not_found)?;
    let record = state
        .store
        .get_session(share.session_id)
        .await?
        .ok_or_else(not_found)?;
    let owner = state.store.user_by_id(record.owner_id).await?;
    if owner.is_none_or(|o| o.disabled) {
        return Err(not_found());
    }
    Ok((share, record))
}

/// `POST /api/claude/sessions/{id}/shares` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewShare {
    /// Lifetime in seconds; omitted: until revoked.
    expires_in_secs: Option<u64>,
}

/// `POST /api/claude/sessions/{id}/shares`: 201 with the link's secret
/// (shown once) and the app path that opens it.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewShare>,
) -> Result<Response, ApiError> {
    enabled(&state)?;
    let r = owned_session(&state, &auth, &id).await?;
    let expires_at = super::expiry(body.expires_in_secs, MAX_EXPIRY_SECS)?;
    let (share, secret) = state
        .store
        .create_share(r.id, auth.user.id, expires_at)
        .await?;
    let mut entry = audit::by(&auth, "share.create", audit::SUCCESS);
    entry.target = Some(r.id.to_string());
    entry.detail =
        json!({"share_id": share.id, "expires_at": share.expires_at.map(|t| t.unix_timestamp())});
    state.audit.record(entry).await;
    Ok((
        StatusCode::CREATED,
        Json(json!({"share": share, "token": secret, "path": format!("#/share/{secret}")})),
    )
        .into_response())
}

/// `GET /api/claude/sessions/{id}/shares`: the session's links, newest first.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    enabled(&state)?;
    let r = owned_session(&state, &auth, &id).await?;
    Ok(Json(
        json!({"shares": state.store.list_shares(r.id).await?}),
    ))
}

/// `DELETE /api/claude/sessions/{id}/shares/{share_id}`: 204; its viewers' sockets close at once.
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, share_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    enabled(&state)?;
    let r = owned_session(&state, &auth, &id).await?;
    let share_id = uuid::Uuid::parse_str(&share_id).map_err(|_| not_found())?;
    state
        .store
        .revoke_share(r.id, share_id)
        .await
        .map_err(|e| match e {
            ccweb_store::StoreError::NotFound => not_found(),
            other => other.into(),
        })?;
    let _ = state.revocations.send(Revocation::Share(share_id));
    let mut entry = audit::by(&auth, "share.revoke", audit::SUCCESS);
    entry.target = Some(r.id.to_string());
    entry.detail = json!({"share_id": share_id});
    state.audit.record(entry).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/shared/{secret}`: the shared session's object.
pub async fn get(
    State(state): State<AppState>,
    _auth: Auth,
    Path(secret): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (_, r) = shared_session(&state, &secret).await?;
    let info = state.sessions.info(r);
    Ok(Json(
        serde_json::to_value(info).map_err(ApiError::internal)?,
    ))
}

/// `GET /api/shared/{secret}/events`: like the session's events.
pub async fn events(
    State(state): State<AppState>,
    _auth: Auth,
    Path(secret): Path<String>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (_, r) = shared_session(&state, &secret).await?;
    events_page(&state, &r, q).await
}
