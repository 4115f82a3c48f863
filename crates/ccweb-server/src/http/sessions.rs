//! `/api/claude/sessions…`: create, list, get, rename, stop, resume.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::{ApiJson, ApiQuery};
use crate::sessions::{validate_title, CreateSession};
use crate::state::AppState;
use ccweb_store::SessionRecord;

/// Parses a session id; anything else is a 404 like an unknown id.
pub fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound("no such session".into()))
}

/// Loads a session the caller may see: their own, or any for an admin.
/// Others' sessions are 404, exactly like missing ones.
pub async fn visible_session(
    state: &AppState,
    auth: &Auth,
    raw_id: &str,
) -> Result<SessionRecord, ApiError> {
    let id = parse_id(raw_id)?;
    match state.store.get_session(id).await? {
        Some(r) if r.owner_id == auth.user.id || auth.user.is_admin => Ok(r),
        _ => Err(ApiError::NotFound("no such session".into())),
    }
}

/// Loads a session only its owner may change (rename, resume, share); for
/// everyone else it does not exist.
pub(crate) async fn owned_session(
    state: &AppState,
    auth: &Auth,
    raw_id: &str,
) -> Result<SessionRecord, ApiError> {
    let r = visible_session(state, auth, raw_id).await?;
    if r.owner_id != auth.user.id {
        return Err(ApiError::NotFound("no such session".into()));
    }
    Ok(r)
}

/// Audits `action` on session `r`; on someone else's session (an admin)
/// the action is recorded as `admin.<action>` with the owner.
pub(crate) async fn record_on_session(
    state: &AppState,
    auth: &Auth,
    action: &str,
    r: &SessionRecord,
    outcome: &str,
) {
    let on_behalf = r.owner_id != auth.user.id;
    let action = if on_behalf {
        format!("admin.{action}")
    } else {
        action.to_owned()
    };
    let mut entry = audit::by(auth, &action, outcome);
    entry.target = Some(r.id.to_string());
    if on_behalf {
        entry.detail = json!({"owner_id": r.owner_id});
    }
    state.audit.record(entry).await;
}

/// `POST /api/claude/sessions`.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateSession>,
) -> Result<Response, ApiError> {
    if state.is_shutting_down() {
        return Err(ApiError::Unavailable {
            code: "shutting_down",
            message: "the server is shutting down".into(),
        });
    }
    let detail = json!({"mode": body.mode, "working_dir": body.working_dir, "resume": body.resume});
    match state.sessions.create(&auth.user, body).await {
        Ok(info) => {
            let mut entry = audit::by(&auth, "session.create", audit::SUCCESS);
            entry.target = Some(info.id.to_string());
            entry.detail = detail;
            state.audit.record(entry).await;
            Ok((StatusCode::CREATED, Json(info)).into_response())
        }
        Err(e) => {
            let mut entry = audit::by(&auth, "session.create", audit::outcome_of(&e));
            entry.detail = json!({"request": detail, "error": e.code()});
            state.audit.record(entry).await;
            Err(e)
        }
    }
}

/// Longest search text (`q`), in bytes.
const MAX_SEARCH_BYTES: usize = 200;
/// Most sessions a search returns.
const MAX_SEARCH_RESULTS: i64 = 100;

/// A search text from a query: trimmed, `None` when empty, 400 when longer
/// than [`MAX_SEARCH_BYTES`].
fn search_text(q: Option<&str>) -> Result<Option<&str>, ApiError> {
    match q.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) if text.len() > MAX_SEARCH_BYTES => Err(ApiError::bad_request(
            "invalid_query",
            format!("q is longer than {MAX_SEARCH_BYTES} bytes"),
        )),
        other => Ok(other),
    }
}

/// `GET /api/claude/sessions` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    all: bool,
    /// Only sessions whose title, first prompt, directory or conversation
    /// contains this text.
    q: Option<String>,
}

/// `GET /api/claude/sessions`.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if q.all && !auth.user.is_admin {
        return Err(ApiError::forbidden(
            "admin_only",
            "only admins may list everyone's sessions",
        ));
    }
    let owner = if q.all { None } else { Some(auth.user.id) };
    let text = search_text(q.q.as_deref())?;
    if q.all {
        state
            .audit
            .record(audit::by(&auth, "admin.sessions.list", audit::SUCCESS))
            .await;
    }
    let records = match text {
        Some(text) => {
            state
                .store
                .search_sessions(owner, text, MAX_SEARCH_RESULTS)
                .await?
        }
        None => state.store.list_sessions(owner).await?,
    };
    let sessions: Vec<_> = records
        .into_iter()
        .map(|r| state.sessions.info(r))
        .collect();
    Ok(Json(json!({ "sessions": sessions })))
}

/// `GET /api/claude/sessions/{id}`.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = visible_session(&state, &auth, &id).await?;
    Ok(Json(state.sessions.info(r)).into_response())
}

/// `PATCH /api/claude/sessions/{id}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    title: String,
}

/// `PATCH /api/claude/sessions/{id}`: rename.
pub async fn rename(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Rename>,
) -> Result<Response, ApiError> {
    let r = owned_session(&state, &auth, &id).await?;
    let title = validate_title(&body.title)?;
    if title.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_title",
            "title must not be empty",
        ));
    }
    let r = state.store.set_session_title(r.id, &title).await?;
    Ok(Json(state.sessions.info(r)).into_response())
}

/// `DELETE /api/claude/sessions/{id}` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    #[serde(default)]
    purge: bool,
}

/// `DELETE /api/claude/sessions/{id}`: stop; `?purge=true` also deletes the record.
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> Result<Response, ApiError> {
    // Admins may stop anyone's session.
    let r = visible_session(&state, &auth, &id).await?;
    state.sessions.stop(r.id).await;
    let action = if q.purge {
        "session.delete"
    } else {
        "session.stop"
    };
    record_on_session(&state, &auth, action, &r, audit::SUCCESS).await;
    if q.purge {
        state.store.delete_session(r.id).await?;
        crate::export::remove_recording(&state.config, r.id).await;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let r = state
        .store
        .get_session(r.id)
        .await?
        .ok_or(ApiError::NotFound("no such session".into()))?;
    Ok(Json(state.sessions.info(r)).into_response())
}

/// `POST /api/claude/sessions/{id}/resume`.
pub async fn resume(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = owned_session(&state, &auth, &id).await?;
    let result = state.sessions.resume(&auth.user, r.clone()).await;
    let outcome = match &result {
        Ok(_) => audit::SUCCESS,
        Err(e) => audit::outcome_of(e),
    };
    record_on_session(&state, &auth, "session.resume", &r, outcome).await;
    Ok(Json(result?).into_response())
}

/// `GET /api/claude/sessions/{id}/events` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Events with a larger seq (default 0).
    after: Option<i64>,
    /// At most this many (1..=1000, default 100).
    limit: Option<i64>,
    /// Only events containing this text (case-insensitive).
    q: Option<String>,
}

/// `GET /api/claude/sessions/{id}/events?after=N&limit=M[&q=TEXT]`: a page
/// of the stored transcript, oldest first, optionally only matching events.
pub async fn events(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let r = visible_session(&state, &auth, &id).await?;
    events_page(&state, &r, q).await
}

/// A page of `r`'s stored events, as `q` asks.
pub(crate) async fn events_page(
    state: &AppState,
    r: &SessionRecord,
    q: EventsQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::bad_request("invalid_query", "after must be >= 0"));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=ccweb_store::MAX_EVENTS_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "limit must be between 1 and {}",
                ccweb_store::MAX_EVENTS_PAGE
            ),
        ));
    }
    let events = match search_text(q.q.as_deref())? {
        Some(text) => state.store.search_events(r.id, after, limit, text).await?,
        None => state.store.events_after(r.id, after, limit).await?,
    };
    let last_seq = state.store.last_seq(r.id).await?;
    Ok(Json(json!({ "events": events, "last_seq": last_seq })))
}
