//! `/api/admin/…`: user management and the audit log, for admins only.
//! Every change is audited as `admin.<what>`.

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
use crate::json::{ApiJson, ApiQuery};
use crate::state::AppState;
use ccweb_store::{AuditFilter, User, MAX_AUDIT_PAGE};

/// An authenticated admin. As an extractor it refuses everyone else with
/// 403 before the body is read, so non-admins learn nothing from
/// validation errors.
pub struct Admin(pub Auth);

impl axum::extract::FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let auth = Auth::from_request_parts(parts, state).await?;
        if auth.user.is_admin {
            Ok(Admin(auth))
        } else {
            Err(ApiError::forbidden("admin_only", "only admins may do this"))
        }
    }
}

/// A user as the API shows it.
pub(crate) fn user_json(u: &User) -> serde_json::Value {
    json!({
        "id": u.id,
        "name": u.name,
        "is_admin": u.is_admin,
        "disabled": u.disabled,
        "has_password": u.has_password,
        "created_at": u.created_at.format(&time::format_description::well_known::Rfc3339).ok(),
    })
}

/// `GET /api/admin/users`.
pub async fn list_users(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> Result<Json<serde_json::Value>, ApiError> {
    let users = state.store.list_users().await?;
    let running = state.store.running_session_counts().await?;
    let users: Vec<_> = users
        .iter()
        .map(|u| {
            let mut j = user_json(u);
            j["running_sessions"] = json!(running.get(&u.id).copied().unwrap_or(0));
            j
        })
        .collect();
    Ok(Json(json!({ "users": users })))
}

/// `POST /api/admin/users` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    name: String,
    /// Omitted: the user can only use API tokens (or OIDC) until one is set.
    password: Option<String>,
    #[serde(default)]
    is_admin: bool,
}

/// `POST /api/admin/users`: 201 with the user.
pub async fn create_user(
    State(state): State<AppState>,
    Admin(auth): Admin,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<Response, ApiError> {
    let user = state
        .store
        .create_user(&body.name, body.password.as_deref(), body.is_admin)
        .await?;
    let mut entry = audit::by(&auth, "admin.user.create", audit::SUCCESS);
    entry.target = Some(user.name.clone());
    entry.detail = json!({"is_admin": user.is_admin, "password": user.has_password});
    state.audit.record(entry).await;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "user": user_json(&user) })),
    )
        .into_response())
}

/// `PATCH /api/admin/users/{name}` body: any of the fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    disabled: Option<bool>,
    is_admin: Option<bool>,
    password: Option<String>,
}

/// `PATCH /api/admin/users/{name}`: disable or enable (disabling logs the
/// user out everywhere, closes their sockets and stops their sessions at
/// once), grant or take admin, set a password.
pub async fn update_user(
    State(state): State<AppState>,
    Admin(auth): Admin,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<UserChange>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(mut user) = state.store.user_by_name(&name).await? else {
        return Err(ApiError::NotFound(format!("no user {name:?}")));
    };
    if user.id == auth.user.id && (body.disabled == Some(true) || body.is_admin == Some(false)) {
        return Err(ApiError::conflict(
            "cannot_demote_self",
            "an admin cannot disable themselves or drop their own admin rights; ask another admin",
        ));
    }
    if let Some(password) = &body.password {
        state.store.set_password(&user.name, password).await?;
    }
    if let Some(is_admin) = body.is_admin {
        user = state.store.set_user_admin(user.id, is_admin).await?;
    }
    if let Some(disabled) = body.disabled {
        user = state.store.set_user_disabled(&user.name, disabled).await?;
        if disabled {
            let _ = state.revocations.send(Revocation::User(user.id));
            state.sessions.stop_all_of(user.id).await;
        }
    }
    let mut entry = audit::by(&auth, "admin.user.update", audit::SUCCESS);
    entry.target = Some(user.name.clone());
    entry.detail = json!({
        "disabled": body.disabled,
        "is_admin": body.is_admin,
        "password_set": body.password.is_some(),
    });
    state.audit.record(entry).await;
    Ok(Json(json!({ "user": user_json(&user) })))
}

/// `GET /api/admin/audit` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// A user name or id.
    user: Option<String>,
    /// An action, or `prefix.*`.
    action: Option<String>,
    /// success, failure, denied or limited.
    outcome: Option<String>,
    /// RFC 3339, inclusive.
    since: Option<String>,
    /// RFC 3339, exclusive.
    until: Option<String>,
    /// Entries with a smaller id (the next page).
    before: Option<i64>,
    /// 1..=500, default 100.
    limit: Option<i64>,
}

fn parse_time(key: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).map_err(|_| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("{key} must be an RFC 3339 time such as 2026-01-31T12:00:00Z"),
                )
            })
        })
        .transpose()
}

/// `GET /api/admin/audit`: entries newest first, filtered; `next_before`
/// continues with the next page (null at the end).
pub async fn audit_log(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_AUDIT_PAGE}"),
        ));
    }
    if let Some(o) = &q.outcome {
        if ![
            audit::SUCCESS,
            audit::FAILURE,
            audit::DENIED,
            audit::LIMITED,
        ]
        .contains(&o.as_str())
        {
            return Err(ApiError::bad_request(
                "invalid_query",
                "outcome must be success, failure, denied or limited",
            ));
        }
    }
    // A user's entries, and failed logins that tried their name.
    let (user_id, user_name) = match q.user.as_deref() {
        None => (None, None),
        Some(u) => match uuid::Uuid::parse_str(u) {
            Ok(id) => (Some(id), None),
            Err(_) => {
                let id = state.store.user_by_name(u).await?.map(|user| user.id);
                (id, Some(u.to_owned()))
            }
        },
    };
    let filter = AuditFilter {
        user_id,
        user_name,
        action: q.action.clone(),
        outcome: q.outcome.clone(),
        since: parse_time("since", q.since.as_deref())?,
        until: parse_time("until", q.until.as_deref())?,
        before_id: q.before,
    };
    let entries = state.store.audit_page(&filter, limit).await?;
    let next_before = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(
        json!({ "entries": entries, "next_before": next_before }),
    ))
}
