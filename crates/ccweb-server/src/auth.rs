//! Who is calling: the `Auth` extractor (API token, trusted proxy header or
//! cookie, with the Origin/CSRF check for cookies), and the login endpoints.

use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::audit;
use crate::client_ip::{client_addr_of, ClientAddr};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::state::AppState;
use ccweb_store::{TokenScope, User};

/// Name of the login cookie over plain http (loopback).
pub const COOKIE_NAME: &str = "ccweb_session";
/// Name of the login cookie behind https: the `__Host-` prefix makes
/// browsers insist on `Secure`, `Path=/` and no `Domain`, so a sibling
/// subdomain can neither set nor shadow it.
pub const SECURE_COOKIE_NAME: &str = "__Host-ccweb_session";

/// The login cookie's name on this server.
fn cookie_name(state: &AppState) -> &'static str {
    if state.config.behind_https() {
        SECURE_COOKIE_NAME
    } else {
        COOKIE_NAME
    }
}
/// Header carrying the CSRF token as an alternative to `Origin`.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Longest username or password accepted at login, in bytes.
const MAX_CREDENTIAL_BYTES: usize = 1024;

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    /// A bearer API token.
    Token(TokenScope),
    /// The login cookie.
    Cookie,
    /// A trusted reverse proxy's user header.
    Proxy,
}

/// The secret a caller presented, kept so long-lived sockets can check
/// that it is still valid.
#[derive(Clone)]
pub enum Credential {
    /// The login cookie's secret.
    Cookie(String),
    /// A bearer API token: its secret and id.
    Token(String, uuid::Uuid),
    /// A trusted proxy named this user.
    Proxy(uuid::Uuid),
}

/// An ended credential, announced so open sockets close at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// One login cookie (sha256 of its secret) logged out.
    Login([u8; 32]),
    /// Every login cookie of this user (logout everywhere).
    UserLogins(uuid::Uuid),
    /// Every login cookie of this user but the one with this hash (sha256
    /// of its secret): the browser that changed the password stays.
    OtherLogins(uuid::Uuid, [u8; 32]),
    /// One API token revoked.
    Token(uuid::Uuid),
    /// Every credential of this user (disabled).
    User(uuid::Uuid),
    /// One share link revoked: its viewers close.
    Share(uuid::Uuid),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret itself.
        f.write_str(match self {
            Credential::Cookie(_) => "Cookie(<redacted>)",
            Credential::Token(..) => "Token(<redacted>)",
            Credential::Proxy(_) => "Proxy",
        })
    }
}

impl Credential {
    /// Whether `r` ends this credential (of `user`).
    pub fn ended_by(&self, r: &Revocation, user: uuid::Uuid) -> bool {
        match (self, r) {
            (_, Revocation::User(u)) => *u == user,
            (Credential::Cookie(_), Revocation::UserLogins(u)) => *u == user,
            (Credential::Cookie(secret), Revocation::OtherLogins(u, keep)) => {
                *u == user && hash_token(secret) != *keep
            }
            (Credential::Cookie(secret), Revocation::Login(hash)) => hash_token(secret) == *hash,
            (Credential::Token(_, id), Revocation::Token(revoked)) => id == revoked,
            _ => false,
        }
    }

    /// Whether the credential still grants access (not logged out, revoked,
    /// expired, or its user disabled). A database error counts as valid: a
    /// hiccup must not throw everyone out.
    pub async fn still_valid(&self, state: &AppState) -> bool {
        let result = match self {
            Credential::Cookie(secret) => {
                let idle = Duration::from_secs(state.config.login_idle_ttl_secs);
                state
                    .store
                    .authenticate_login_session(secret, idle)
                    .await
                    .map(|v| v.is_some())
            }
            Credential::Token(secret, _) => state
                .store
                .authenticate_api_token(secret)
                .await
                .map(|v| v.is_some()),
            Credential::Proxy(id) => state
                .store
                .user_by_id(*id)
                .await
                .map(|u| u.is_some_and(|u| !u.disabled)),
        };
        result.unwrap_or(true)
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The user.
    pub user: User,
    /// How.
    pub via: Via,
    /// What they presented.
    pub credential: Credential,
    /// The client's address.
    pub source: Option<std::net::IpAddr>,
}

pub(crate) fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub(crate) fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The value of cookie `name`, if any.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// The login cookie's value, if any.
fn cookie_value<'h>(state: &AppState, headers: &'h HeaderMap) -> Option<&'h str> {
    cookie(headers, cookie_name(state))
}

/// Whether the request's `Origin` is one this server accepts (its own, for
/// the `Host` it answers to, or a configured one).
pub(crate) fn origin_allowed(state: &AppState, headers: &HeaderMap) -> bool {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    headers
        .get(ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| state.origins.origin_allowed(o, host))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Checks the `Host` header against the policy (DNS rebinding).
pub fn check_host(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if state.origins.host_allowed(host) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "host_not_allowed",
            "this server does not answer to that Host; set public_url or allowed_hosts",
        ))
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        check_host(state, &parts.headers)?;
        let source = client_addr_of(state, parts).map(|a| a.ip());
        if let Some(token_secret) = bearer(&parts.headers) {
            let Some((user, token)) = state.store.authenticate_api_token(token_secret).await?
            else {
                return Err(ApiError::Unauthorized);
            };
            if token.scope == TokenScope::Read
                && (is_state_changing(&parts.method) || is_websocket_upgrade(&parts.headers))
            {
                // A read token may watch (readonly sockets are checked by the socket handler).
                if !(is_websocket_upgrade(&parts.headers)
                    && parts.uri.query().is_some_and(|q| q.contains("readonly=1")))
                {
                    return Err(ApiError::forbidden(
                        "read_only_token",
                        "this API token is read-only",
                    ));
                }
            }
            return Ok(Auth {
                user,
                via: Via::Token(token.scope),
                credential: Credential::Token(token_secret.to_owned(), token.id),
                source,
            });
        }
        if let Some(auth) = crate::proxy_auth::authenticate(state, parts).await? {
            return Ok(auth);
        }
        let Some(secret) = cookie_value(state, &parts.headers) else {
            return Err(ApiError::Unauthorized);
        };
        let idle = Duration::from_secs(state.config.login_idle_ttl_secs);
        let Some((user, login)) = state.store.authenticate_login_session(secret, idle).await?
        else {
            return Err(ApiError::Unauthorized);
        };
        let upgrade = is_websocket_upgrade(&parts.headers);
        if upgrade || is_state_changing(&parts.method) {
            let origin_ok = origin_allowed(state, &parts.headers);
            // Browsers always send Origin on WebSocket upgrades; the CSRF
            // header is an alternative for plain requests only.
            let csrf_ok = !upgrade
                && parts
                    .headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| constant_time_eq(v.as_bytes(), login.csrf_token.as_bytes()));
            if !origin_ok && !csrf_ok {
                return Err(ApiError::forbidden(
                    "origin_not_allowed",
                    "cross-origin request refused: send a same-origin Origin header or X-CSRF-Token",
                ));
            }
        }
        Ok(Auth {
            user,
            via: Via::Cookie,
            credential: Credential::Cookie(secret.to_owned()),
            source,
        })
    }
}

/// Compares secrets without an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The one-time login token's hash.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A `Set-Cookie` value for one of ccweb's cookies: `HttpOnly`,
/// `SameSite=Lax` (a provider's redirect back is a top-level cross-site
/// GET), `Path=/`, and `Secure` behind https. `value` is token text (URL-safe
/// base64 or hex), so the header value is always valid.
pub(crate) fn cookie_header(
    state: &AppState,
    name: &str,
    value: &str,
    max_age_secs: u64,
) -> HeaderValue {
    let secure = if state.config.behind_https() {
        "; Secure"
    } else {
        ""
    };
    let value =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn session_cookie(state: &AppState, secret: &str, max_age_secs: u64) -> HeaderValue {
    cookie_header(state, cookie_name(state), secret, max_age_secs)
}

/// Creates a login session for `user` and answers with its cookie.
/// `method` (password, token, one_time_url, oidc) goes to the audit log.
pub(crate) async fn start_login(
    state: &AppState,
    user: &User,
    status: StatusCode,
    method: &str,
    source: Option<IpAddr>,
) -> Result<Response, ApiError> {
    let ttl = Duration::from_secs(state.config.login_ttl_secs);
    let (login, secret) = state.store.create_login_session(user.id, ttl).await?;
    tracing::info!(user = %user.name, method, "login");
    let mut entry = audit::by_user(user, "login", audit::SUCCESS);
    entry.source = source.map(|ip| ip.to_string());
    entry.detail = json!({ "method": method });
    state.audit.record(entry).await;
    let body = json!({
        "user": user_ref(user),
        "csrf_token": login.csrf_token,
    });
    let mut resp = (status, Json(body)).into_response();
    resp.headers_mut().insert(
        SET_COOKIE,
        session_cookie(state, &secret, state.config.login_ttl_secs),
    );
    Ok(resp)
}

/// `POST /api/auth/login` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

/// `POST /api/auth/login`: password login.
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    check_login_origin(&state, &headers)?;
    rate_check(&state, peer, Some(&body.username), "password").await?;
    if body.username.len() > MAX_CREDENTIAL_BYTES || body.password.len() > MAX_CREDENTIAL_BYTES {
        return Err(ApiError::bad_request(
            "invalid_credentials",
            "username or password is too long",
        ));
    }
    match state
        .store
        .verify_password(&body.username, &body.password)
        .await?
    {
        Some(user) => start_login(&state, &user, StatusCode::OK, "password", Some(peer.ip())).await,
        None => {
            tracing::info!(user = %body.username.chars().take(64).collect::<String>().escape_debug(), "failed login");
            state.login_limits.failed(peer.ip(), Some(&body.username));
            login_failed(&state, peer, Some(&body.username), "password").await;
            Err(ApiError::Unauthorized)
        }
    }
}

/// `POST /api/auth/token` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    token: String,
}

/// `POST /api/auth/token`: exchange the one-time login token or an API
/// token for a cookie session.
pub async fn token_login(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<Response, ApiError> {
    check_login_origin(&state, &headers)?;
    rate_check(&state, peer, None, "token").await?;
    if body.token.len() > MAX_CREDENTIAL_BYTES {
        login_failed(&state, peer, None, "token").await;
        return Err(ApiError::Unauthorized);
    }
    let (user, method) = match redeem_one_time(&state, &body.token).await? {
        Some(user) => (user, "one_time_url"),
        None => match state.store.authenticate_api_token(&body.token).await? {
            Some((user, t)) if t.scope == TokenScope::Full => (user, "token"),
            _ => {
                state.login_limits.failed(peer.ip(), None);
                login_failed(&state, peer, None, "token").await;
                return Err(ApiError::Unauthorized);
            }
        },
    };
    start_login(&state, &user, StatusCode::OK, method, Some(peer.ip())).await
}

/// 429 while this client (or account) has used up its failed logins.
async fn rate_check(
    state: &AppState,
    peer: SocketAddr,
    account: Option<&str>,
    method: &str,
) -> Result<(), ApiError> {
    match state.login_limits.retry_after(peer.ip(), account) {
        Some(wait) => {
            tracing::info!(client = %peer.ip(), "login rate limited");
            let mut entry = audit::anonymous(Some(peer.ip()), account, "login", audit::LIMITED);
            entry.detail = json!({ "method": method });
            state.audit.record(entry).await;
            Err(ApiError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            })
        }
        None => Ok(()),
    }
}

/// Records a failed login (the tried name truncated, never the secret).
async fn login_failed(state: &AppState, peer: SocketAddr, account: Option<&str>, method: &str) {
    let mut entry = audit::anonymous(Some(peer.ip()), account, "login", audit::FAILURE);
    entry.detail = json!({ "method": method });
    state.audit.record(entry).await;
}

/// Login endpoints change state (they set a cookie), so a cross-site page
/// must not be able to log a victim into an attacker's account.
fn check_login_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    check_host(state, headers)?;
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    match headers.get(ORIGIN).and_then(|o| o.to_str().ok()) {
        // Scripts (curl) send no Origin; browsers always do on POST.
        None => Ok(()),
        Some(o) if state.origins.origin_allowed(o, host) => Ok(()),
        Some(_) => Err(ApiError::forbidden(
            "origin_not_allowed",
            "cross-origin login refused",
        )),
    }
}

/// Uses up the one-time token if `token` is it; returns the admin it logs in.
async fn redeem_one_time(state: &AppState, token: &str) -> Result<Option<User>, ApiError> {
    let hash = hash_token(token);
    let matched = {
        let mut slot = state
            .one_time_token
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match *slot {
            Some(expected) if constant_time_eq(&expected, &hash) => {
                *slot = None;
                true
            }
            _ => false,
        }
    };
    if !matched {
        return Ok(None);
    }
    Ok(state.store.first_admin().await?)
}

/// `GET /login?token=…` query.
#[derive(Deserialize)]
pub struct LoginQuery {
    token: Option<String>,
}

/// `GET /login?token=…`: the one-time URL printed at start. Sets the
/// cookie and redirects to `./` (the app next to it, also under a proxy
/// sub-path), dropping the token from the address bar.
pub async fn login_page(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    headers: HeaderMap,
    crate::json::ApiQuery(q): crate::json::ApiQuery<LoginQuery>,
) -> Result<Response, ApiError> {
    check_host(&state, &headers)?;
    let Some(token) = q.token else {
        return Ok((
            StatusCode::OK,
            axum::response::Html(crate::login_pages::LOGIN_HELP),
        )
            .into_response());
    };
    if !crate::login_pages::is_navigation(&headers) {
        // An image, script or fetch a page (e.g. Markdown the model wrote:
        // `![x](/login?token=x)`) makes the viewer's browser load: refused
        // before the token is looked at, so it neither counts as a failed
        // login nor uses anything up.
        return Err(ApiError::forbidden(
            "navigation_required",
            "open the login link in the browser's address bar",
        ));
    }
    if let Err(err) = rate_check(&state, peer, None, "one_time_url").await {
        return Ok(crate::login_pages::link_refused(
            &headers,
            err,
            crate::login_pages::LINK_RATE_LIMITED,
        ));
    }
    let Some(user) = redeem_one_time(&state, &token).await? else {
        state.login_limits.failed(peer.ip(), None);
        login_failed(&state, peer, None, "one_time_url").await;
        let err = ApiError::forbidden(
            "invalid_login_token",
            "this login link is invalid or was already used: log in with your password, \
             or with a token from `ccweb token create --user NAME` (or an admin); \
             restarting ccweb serve prints a new link",
        );
        return Ok(crate::login_pages::link_refused(
            &headers,
            err,
            crate::login_pages::LINK_USED,
        ));
    };
    let mut resp = start_login(
        &state,
        &user,
        StatusCode::OK,
        "one_time_url",
        Some(peer.ip()),
    )
    .await?;
    let cookie = resp.headers_mut().remove(SET_COOKIE);
    let mut redirect = Redirect::to("./").into_response();
    if let Some(c) = cookie {
        redirect.headers_mut().insert(SET_COOKIE, c);
    }
    Ok(redirect)
}

/// `POST /api/auth/logout`: ends this login session.
pub async fn logout(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_login_origin(&state, &headers)?;
    if let Some(secret) = cookie_value(&state, &headers) {
        let idle = Duration::from_secs(state.config.login_idle_ttl_secs);
        if let Ok(Some((user, _))) = state.store.authenticate_login_session(secret, idle).await {
            let mut entry = audit::by_user(&user, "logout", audit::SUCCESS);
            entry.source = Some(peer.ip().to_string());
            state.audit.record(entry).await;
        }
        state.store.delete_login_session(secret).await?;
        // Its open sockets close at once (no receivers: nothing was open).
        let _ = state
            .revocations
            .send(Revocation::Login(hash_token(secret)));
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(SET_COOKIE, session_cookie(&state, "", 0));
    Ok(resp)
}

/// `POST /api/auth/logout-all`: ends every login session of the caller
/// (all browsers; API tokens stay), closing their sockets at once.
pub async fn logout_all(State(state): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    let ended = state.store.delete_user_login_sessions(auth.user.id).await?;
    let _ = state.revocations.send(Revocation::UserLogins(auth.user.id));
    let mut entry = audit::by(&auth, "logout_all", audit::SUCCESS);
    entry.detail = json!({ "login_sessions": ended });
    state.audit.record(entry).await;
    let mut resp = Json(json!({ "ended": ended })).into_response();
    if matches!(auth.via, Via::Cookie) {
        resp.headers_mut()
            .insert(SET_COOKIE, session_cookie(&state, "", 0));
    }
    Ok(resp)
}

/// The caller as the login answers and `/api/me` show them.
pub(crate) fn user_ref(user: &User) -> serde_json::Value {
    json!({
        "id": user.id,
        "name": user.name,
        "is_admin": user.is_admin,
        "has_password": user.has_password,
    })
}

/// `GET /api/me`: the caller, whether they may set a password themselves
/// (see `http::account`), their preferences, and what the server lets
/// them choose (so the UI offers only that: `server.allow_bypass_permissions`).
pub async fn me(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let can_set_password = crate::http::account::may_set_own_password(&state, &auth).await?;
    let preferences = state.store.preferences(auth.user.id).await?;
    Ok(Json(json!({
        "user": user_ref(&auth.user),
        "can_set_password": can_set_password,
        "preferences": preferences,
        "server": {
            "allow_bypass_permissions": state.config.allow_bypass_permissions,
            "user_credentials": state.config.user_credentials.as_str(),
        },
    })))
}
