//! The caller's own account: changing their password and their
//! preferences; and an admin resetting another user's password.
//!
//! A password change ends the user's other login sessions (and closes their
//! sockets at once): whoever knew the old password, or held a cookie from
//! before, is out. API tokens stay, as with "log out everywhere": they are
//! separate credentials, revoked one by one.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::audit;
use crate::auth::{hash_token, user_ref, Auth, Credential, Revocation, Via};
use crate::client_ip::ClientAddr;
use crate::error::ApiError;
use crate::http::admin::{user_json, Admin};
use crate::json::ApiJson;
use crate::state::AppState;
use ccweb_protocol::{Preferences, PreferencesChange};
use ccweb_store::{User, MAX_PASSWORD_BYTES};

/// Whether `auth`'s user may set their own password. Someone who has one may
/// change it (knowing it). Someone without one may set a first one (the
/// first admin, logged in by the one-time link, or a user an admin made
/// without one) — unless their logins come from single sign-on (a linked
/// OpenID Connect identity) or a trusted proxy: a password would be a way in
/// that outlives their removal there. An admin can still set one for them.
pub(crate) async fn may_set_own_password(state: &AppState, auth: &Auth) -> Result<bool, ApiError> {
    if auth.user.has_password {
        return Ok(true);
    }
    if matches!(auth.via, Via::Proxy) {
        return Ok(false);
    }
    Ok(!state.store.has_oidc_identity(auth.user.id).await?)
}

/// Ends every login session of `user` but the caller's own (when the caller
/// is `user`, by cookie), closing their sockets at once; returns how many ended.
async fn end_other_logins(state: &AppState, user: &User, caller: &Auth) -> Result<u64, ApiError> {
    let keep = match &caller.credential {
        Credential::Cookie(secret) if caller.user.id == user.id => Some(secret.as_str()),
        _ => None,
    };
    let (ended, revocation) = match keep {
        Some(secret) => (
            state
                .store
                .delete_other_login_sessions(user.id, secret)
                .await?,
            Revocation::OtherLogins(user.id, hash_token(secret)),
        ),
        None => (
            state.store.delete_user_login_sessions(user.id).await?,
            Revocation::UserLogins(user.id),
        ),
    };
    // No receivers means no socket is open: nothing to close.
    let _ = state.revocations.send(revocation);
    Ok(ended)
}

/// `POST /api/me/password` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// Required when the caller has a password.
    current_password: Option<String>,
    /// Checked by the one password policy (8+ characters, at most 1 KiB).
    new_password: String,
}

/// `POST /api/me/password`: the caller sets a new password. With a password
/// set, `current_password` must be right (wrong: 403 `wrong_password`,
/// counted like failed logins, 429 past the budget). Ends the caller's
/// other login sessions.
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    auth: Auth,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = &auth.user;
    let had_password = user.has_password;
    if had_password {
        if let Some(wait) = state.login_limits.retry_after(peer.ip(), Some(&user.name)) {
            state
                .audit
                .record(audit::by(&auth, "password.change", audit::LIMITED))
                .await;
            return Err(ApiError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            });
        }
        let Some(current) = body.current_password.as_deref() else {
            return Err(ApiError::bad_request(
                "current_password_required",
                "current_password is required to change a password that is set",
            ));
        };
        let right = current.len() <= MAX_PASSWORD_BYTES
            && state
                .store
                .verify_password(&user.name, current)
                .await?
                .is_some_and(|u| u.id == user.id);
        if !right {
            state.login_limits.failed(peer.ip(), Some(&user.name));
            state
                .audit
                .record(audit::by(&auth, "password.change", audit::FAILURE))
                .await;
            return Err(ApiError::forbidden(
                "wrong_password",
                "the current password is wrong",
            ));
        }
    } else if !may_set_own_password(&state, &auth).await? {
        return Err(ApiError::forbidden(
            "password_not_allowed",
            "your logins come from single sign-on or a proxy; ask an admin to set a password",
        ));
    }
    state
        .store
        .set_password(&user.name, &body.new_password)
        .await?;
    let ended = end_other_logins(&state, user, &auth).await?;
    let mut entry = audit::by(&auth, "password.change", audit::SUCCESS);
    entry.detail = json!({ "first_password": !had_password, "login_sessions": ended });
    state.audit.record(entry).await;
    let user = User {
        has_password: true,
        ..user.clone()
    };
    Ok(Json(json!({ "user": user_ref(&user), "ended": ended })))
}

/// `POST /api/admin/users/{name}/password` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    /// Checked by the one password policy.
    new_password: String,
}

/// `POST /api/admin/users/{name}/password`: an admin sets another user's
/// password (no current password needed). Ends that user's login sessions
/// (all of them; the admin's own but this one when resetting their own).
pub async fn reset_password(
    State(state): State<AppState>,
    Admin(auth): Admin,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<PasswordReset>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(user) = state.store.user_by_name(&name).await? else {
        return Err(ApiError::NotFound(format!("no user {name:?}")));
    };
    state
        .store
        .set_password(&user.name, &body.new_password)
        .await?;
    let ended = end_other_logins(&state, &user, &auth).await?;
    let mut entry = audit::by(&auth, "admin.user.password", audit::SUCCESS);
    entry.target = Some(user.name.clone());
    entry.detail = json!({ "login_sessions": ended });
    state.audit.record(entry).await;
    let user = User {
        has_password: true,
        ..user
    };
    Ok(Json(json!({ "user": user_json(&user), "ended": ended })))
}

/// `GET /api/me/preferences`: the caller's preferences (the defaults until
/// they change one).
pub async fn preferences(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Preferences>, ApiError> {
    Ok(Json(state.store.preferences(auth.user.id).await?))
}

/// `PUT /api/me/preferences`: changes the preferences named in the body
/// (others keep their value); answers with all of them.
pub async fn set_preferences(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(change): ApiJson<PreferencesChange>,
) -> Result<Json<Preferences>, ApiError> {
    let prefs = state.store.preferences(auth.user.id).await?.with(change);
    state.store.set_preferences(auth.user.id, &prefs).await?;
    Ok(Json(prefs))
}
