//! `/api/me/credentials`: the caller's own Claude credentials. Write-only:
//! a value goes in and is never shown again, only whether one is set and
//! its last characters. Setting and deleting are audited, never the value.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::audit;
use crate::auth::Auth;
use crate::credentials::{check_value, CredentialPolicy};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::state::AppState;
use ccweb_store::CredentialKind;

/// What to send, for every refusal of a body.
const WHAT_TO_SEND: &str =
    "send exactly one of {\"anthropic_api_key\": \"…\"} or {\"claude_oauth_token\": \"…\"}";

/// `PUT /api/me/credentials` body: one kind per request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialChange {
    /// An Anthropic API key.
    anthropic_api_key: Option<String>,
    /// A Claude subscription token (`claude setup-token`).
    claude_oauth_token: Option<String>,
}

/// `GET /api/me/credentials`: per kind, whether one is set and its hint.
pub async fn get(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, ApiError> {
    Ok(Json(listing(&state, &auth).await?))
}

/// `PUT /api/me/credentials`: stores (or replaces) one of the caller's
/// credentials, sealed; answers as `GET` does.
pub async fn put(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CredentialChange>,
) -> Result<Json<Value>, ApiError> {
    if state.config.user_credentials == CredentialPolicy::Disabled {
        return Err(ApiError::forbidden(
            "credentials_disabled",
            "this server uses only its operator's Claude credential (user_credentials = \"disabled\")",
        ));
    }
    let (kind, value) = match (body.anthropic_api_key, body.claude_oauth_token) {
        (Some(key), None) => (CredentialKind::AnthropicApiKey, key),
        (None, Some(token)) => (CredentialKind::ClaudeOauthToken, token),
        _ => return Err(ApiError::bad_request("invalid_credential", WHAT_TO_SEND)),
    };
    check_value(&value).map_err(|message| {
        ApiError::bad_request(
            "invalid_credential",
            format!("{}: {message}", kind.as_str()),
        )
    })?;
    let sealed = state
        .sessions
        .vault()
        .seal(auth.user.id, kind, &value)
        .map_err(ApiError::internal)?;
    state.store.set_credential(auth.user.id, &sealed).await?;
    let mut entry = audit::by(&auth, "credential.set", audit::SUCCESS);
    entry.detail = json!({ "kind": kind.as_str() });
    state.audit.record(entry).await;
    Ok(Json(listing(&state, &auth).await?))
}

/// `DELETE /api/me/credentials/{kind}`: forgets one of the caller's
/// credentials (204 whether or not one was set).
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(kind): Path<String>,
) -> Result<StatusCode, ApiError> {
    let Some(kind) = CredentialKind::parse(&kind) else {
        return Err(ApiError::NotFound(format!(
            "no credential kind {:?}; the kinds are anthropic_api_key and claude_oauth_token",
            kind.chars().take(64).collect::<String>()
        )));
    };
    if state.store.delete_credential(auth.user.id, kind).await? {
        let mut entry = audit::by(&auth, "credential.delete", audit::SUCCESS);
        entry.detail = json!({ "kind": kind.as_str() });
        state.audit.record(entry).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's credentials as the API shows them: set or not, the hint,
/// when it was set. Never the value.
async fn listing(state: &AppState, auth: &Auth) -> Result<Value, ApiError> {
    let stored = state.store.credentials(auth.user.id).await?;
    let mut out = serde_json::Map::new();
    for kind in CredentialKind::ALL {
        let entry = match stored.iter().find(|c| c.kind == kind) {
            Some(c) => json!({
                "set": true,
                "hint": c.hint,
                "updated_at": c.updated_at.format(&time::format_description::well_known::Rfc3339).ok(),
            }),
            None => json!({ "set": false }),
        };
        out.insert(kind.as_str().to_owned(), entry);
    }
    Ok(Value::Object(out))
}
