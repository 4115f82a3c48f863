//! OpenID Connect login: the authorization code flow with PKCE, `state`
//! and `nonce`, ID token verification, and the mapping from the
//! provider's claims to a ccweb user.
//!
//! `GET /api/auth/oidc/start` remembers the flow server-side (state → PKCE
//! verifier, nonce, `next`), bound to the browser by a random HttpOnly
//! cookie, and redirects to the provider. `GET /api/auth/oidc/callback`
//! takes the flow out (single use, at most [`PENDING_TTL_SECS`] old),
//! checks the binding cookie, exchanges the code, verifies the ID token
//! (signature, issuer, audience, expiry, nonce, access token hash), reads
//! the claims (ID token, then userinfo), applies the allow-lists and logs
//! the user in exactly as a password login does.
//!
//! The provider's metadata and keys are fetched on first use and re-fetched
//! after [`METADATA_TTL_SECS`], so a provider outage at start-up does not
//! stop ccweb; OIDC logins answer 503 until the provider is reachable.

use axum::extract::State;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::{check_host, constant_time_eq, cookie, hash_token, start_login};
use crate::client_ip::ClientAddr;
use crate::config::{Config, ConfigError};
use crate::error::ApiError;
use crate::json::ApiQuery;
use crate::state::AppState;

mod users;

use users::{resolve_user, Policy};

/// Cookie binding a pending flow to the browser that started it.
const FLOW_COOKIE: &str = "ccweb_oidc";
/// A flow must come back from the provider within this long.
const PENDING_TTL_SECS: u64 = 600;
/// Flows remembered at once; past it new ones are refused (503) until some expire.
const MAX_PENDING: usize = 10_000;
/// Provider metadata and signing keys are re-fetched after this long.
const METADATA_TTL_SECS: u64 = 900;
/// Timeout of one request to the provider.
const HTTP_TIMEOUT_SECS: u64 = 10;
/// Longest `next` path kept, in bytes.
const MAX_NEXT_BYTES: usize = 1024;
/// Where the callback lies below the app's base, as a relative way back.
const APP_FROM_CALLBACK: &str = "../../../";

/// The client as built from discovered metadata.
type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Every claim of a userinfo answer, kept as JSON (groups and other
/// provider-specific claims included).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AllClaims(Map<String, Value>);
impl AdditionalClaims for AllClaims {}

/// A flow between start and callback.
struct Pending {
    /// sha256 of the browser-binding cookie.
    binding: [u8; 32],
    /// The nonce the ID token must carry.
    nonce: Nonce,
    /// The PKCE verifier of the code challenge sent.
    pkce: PkceCodeVerifier,
    /// Where to go after login (a checked path).
    next: String,
    /// When the flow started.
    started: Instant,
}

/// The OpenID Connect login, configured.
pub struct Oidc {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    redirect: RedirectUrl,
    scopes: Vec<Scope>,
    label: String,
    policy: Policy,
    /// Does not follow redirects (SSRF advice of the openidconnect crate).
    http: reqwest::Client,
    /// Discovered metadata and when it was fetched.
    metadata: tokio::sync::Mutex<Option<(CoreProviderMetadata, Instant)>>,
    /// Flows by `state`.
    pending: Mutex<HashMap<String, Pending>>,
}

/// Whether `url` is https, or http to a loopback host (tests, local providers).
fn secure_or_loopback(url: &reqwest::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => url.host_str().is_some_and(|h| {
            h.eq_ignore_ascii_case("localhost")
                || h.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }),
        _ => false,
    }
}

/// Checks the `oidc_*` keys, reads `oidc_client_secret_file` and fills in
/// the default `oidc_redirect_url`.
pub(crate) fn validate_config(config: &mut Config) -> Result<(), ConfigError> {
    let err = |key, message: String| Err(ConfigError { key, message });
    let Some(issuer) = config.oidc_issuer.clone() else {
        if config.oidc_client_id.is_some() {
            return err(
                "oidc_issuer",
                "oidc_client_id is set, so set the provider's issuer URL too".into(),
            );
        }
        return Ok(());
    };
    match reqwest::Url::parse(&issuer) {
        Ok(u) if secure_or_loopback(&u) && u.query().is_none() && u.fragment().is_none() => {}
        _ => {
            return err(
                "oidc_issuer",
                format!(
                    "{issuer:?} is not an https URL such as https://login.example.com/realms/x"
                ),
            )
        }
    }
    if config.oidc_client_id.as_deref().is_none_or(str::is_empty) {
        return err(
            "oidc_client_id",
            "the client id registered at the provider is needed".into(),
        );
    }
    if let Some(path) = config.oidc_client_secret_file.clone() {
        if config.oidc_client_secret.is_some() {
            return err(
                "oidc_client_secret_file",
                "set either oidc_client_secret or oidc_client_secret_file, not both".into(),
            );
        }
        config.oidc_client_secret =
            Some(read_secret_file(&path).map_err(|message| ConfigError {
                key: "oidc_client_secret_file",
                message,
            })?);
    }
    if config.oidc_redirect_url.is_none() {
        match &config.public_url {
            Some(base) => {
                config.oidc_redirect_url = Some(format!(
                    "{}{}/api/auth/oidc/callback",
                    base.trim_end_matches('/'),
                    config.base_path.as_deref().unwrap_or("")
                ))
            }
            None => {
                return err(
                    "oidc_redirect_url",
                    "set it (or public_url) to the URL of /api/auth/oidc/callback as the provider \
                     redirects browsers to it"
                        .into(),
                )
            }
        }
    }
    if let Some(url) = &config.oidc_redirect_url {
        let ok = reqwest::Url::parse(url)
            .ok()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !ok {
            return err(
                "oidc_redirect_url",
                format!("{url:?} is not an http(s) URL"),
            );
        }
    }
    if config.oidc_username_claim.trim().is_empty() {
        return err("oidc_username_claim", "must not be empty".into());
    }
    if config.oidc_groups_claim.trim().is_empty() {
        return err("oidc_groups_claim", "must not be empty".into());
    }
    if config.oidc_label.trim().is_empty() {
        return err("oidc_label", "must not be empty".into());
    }
    Ok(())
}

/// Reads a secret file, refusing one that every local user can read.
fn read_secret_file(path: &std::path::Path) -> Result<crate::config::Secret, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.permissions().mode() & 0o004 != 0 {
        return Err(format!(
            "{} is readable by every user; chmod o-r it",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let secret = text.trim_end_matches(['\r', '\n']);
    if secret.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(crate::config::Secret::new(secret))
}

/// Lower-cased, trimmed, empty entries dropped.
fn lower_list(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| s.trim().trim_start_matches('@').to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

impl Oidc {
    /// The login, if `oidc_issuer` is set (`config` validated).
    pub fn from_config(config: &Config) -> Result<Option<Self>, std::io::Error> {
        let invalid = |what: &str| std::io::Error::other(format!("invalid {what}"));
        let Some(issuer) = &config.oidc_issuer else {
            return Ok(None);
        };
        let issuer = IssuerUrl::new(issuer.clone()).map_err(|_| invalid("oidc_issuer"))?;
        let redirect = RedirectUrl::new(config.oidc_redirect_url.clone().unwrap_or_default())
            .map_err(|_| invalid("oidc_redirect_url"))?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(HTTP_TIMEOUT_SECS))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Some(Self {
            issuer,
            client_id: ClientId::new(config.oidc_client_id.clone().unwrap_or_default()),
            client_secret: config
                .oidc_client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose().to_owned())),
            redirect,
            // authorize_url always asks for `openid` itself.
            scopes: config
                .oidc_scopes
                .iter()
                .filter(|s| s.as_str() != "openid" && !s.trim().is_empty())
                .map(|s| Scope::new(s.trim().to_owned()))
                .collect(),
            label: config.oidc_label.clone(),
            policy: Policy {
                username_claim: config.oidc_username_claim.trim().to_owned(),
                groups_claim: config.oidc_groups_claim.trim().to_owned(),
                allowed_emails: lower_list(&config.oidc_allowed_emails),
                allowed_domains: lower_list(&config.oidc_allowed_domains),
                require_verified_email: config.oidc_require_verified_email,
                allowed_groups: config.oidc_allowed_groups.clone(),
                admin_groups: config.oidc_admin_groups.clone(),
                auto_provision: config.oidc_auto_provision,
            },
            http,
            metadata: tokio::sync::Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
        }))
    }

    /// The client, discovering the provider first if needed. A failed
    /// refresh keeps using the metadata fetched before.
    async fn client(&self) -> Result<OidcClient, ApiError> {
        let mut slot = self.metadata.lock().await;
        let fresh = slot
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < Duration::from_secs(METADATA_TTL_SECS));
        if !fresh {
            match CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http).await {
                Ok(meta) => *slot = Some((meta, Instant::now())),
                Err(e) => {
                    tracing::warn!(issuer = %self.issuer.as_str(), error = %error_chain(&e), "OpenID Connect discovery failed");
                    if slot.is_none() {
                        return Err(ApiError::Unavailable {
                            code: "oidc_unavailable",
                            message: "the sign-in provider cannot be reached; try again later"
                                .into(),
                        });
                    }
                }
            }
        }
        let Some((meta, _)) = slot.as_ref() else {
            return Err(ApiError::Unavailable {
                code: "oidc_unavailable",
                message: "the sign-in provider cannot be reached; try again later".into(),
            });
        };
        Ok(CoreClient::from_provider_metadata(
            meta.clone(),
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(self.redirect.clone()))
    }

    /// Remembers a flow, dropping expired ones; 503 when too many are open.
    fn remember(&self, state: String, pending: Pending) -> Result<(), ApiError> {
        let mut map = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let ttl = Duration::from_secs(PENDING_TTL_SECS);
        if map.len() >= MAX_PENDING {
            map.retain(|_, p| p.started.elapsed() < ttl);
        }
        if map.len() >= MAX_PENDING {
            return Err(ApiError::Unavailable {
                code: "oidc_busy",
                message: "too many sign-ins are in progress; try again in a few minutes".into(),
            });
        }
        map.insert(state, pending);
        Ok(())
    }

    /// Takes a flow out (single use); `None` if unknown, used or expired.
    fn take(&self, state: &str) -> Option<Pending> {
        let mut map = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(state)
            .filter(|p| p.started.elapsed() < Duration::from_secs(PENDING_TTL_SECS))
    }
}

/// An error and its causes on one line (for logs).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `next` if it is a plain path on this site, else `/`. Refuses
/// protocol-relative (`//host`, `/\host`), absolute and backslashed
/// targets, `..` segments and anything outside printable ASCII.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(next) = next else {
        return "/".into();
    };
    let ok = next.len() <= MAX_NEXT_BYTES
        && next.starts_with('/')
        && !next.starts_with("//")
        && next
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'\\' | b'"' | b'<' | b'>' | b'`'))
        && !next
            .split(['/', '?', '#'])
            .any(|segment| segment == ".." || segment == ".");
    if ok {
        next.to_owned()
    } else {
        "/".into()
    }
}

/// The flow cookie (`Max-Age=0` clears it).
fn flow_cookie(state: &AppState, value: &str, max_age_secs: u64) -> HeaderValue {
    crate::auth::cookie_header(state, FLOW_COOKIE, value, max_age_secs)
}

/// 302 to `location`.
fn found(location: &str) -> Result<Response, ApiError> {
    let value = HeaderValue::from_str(location).map_err(ApiError::internal)?;
    let mut resp = StatusCode::FOUND.into_response();
    resp.headers_mut().insert(LOCATION, value);
    Ok(resp)
}

/// The configured login, or 404.
fn configured(state: &AppState) -> Result<&Oidc, ApiError> {
    state
        .oidc
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("OpenID Connect login is not configured".into()))
}

/// `GET /api/auth/config`: which login methods the login page offers.
pub async fn login_config(State(state): State<AppState>) -> Json<Value> {
    let oidc = match &state.oidc {
        Some(o) => json!({"enabled": true, "label": o.label, "path": "api/auth/oidc/start"}),
        None => json!({"enabled": false}),
    };
    // Whether `serve` printed a one-time login link (auth mode `token`), so
    // the login page can tell a first-time user where to find it.
    let login_link = state.config.auth == crate::config::AuthMode::Token;
    Json(json!({"password": true, "login_link": login_link, "oidc": oidc}))
}

/// `GET /api/auth/oidc/start` query.
#[derive(Deserialize)]
pub struct StartQuery {
    /// Path to open after login.
    next: Option<String>,
}

/// `GET /api/auth/oidc/start[?next=/path]`: redirects to the provider.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StartQuery>,
) -> Result<Response, ApiError> {
    check_host(&state, &headers)?;
    let oidc = configured(&state)?;
    let client = oidc.client().await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scopes(oidc.scopes.iter().cloned())
        .set_pkce_challenge(challenge)
        .url();
    let binding = hex::encode(rand::random::<[u8; 32]>());
    oidc.remember(
        csrf.secret().clone(),
        Pending {
            binding: hash_token(&binding),
            nonce,
            pkce: verifier,
            next: safe_next(q.next.as_deref()),
            started: Instant::now(),
        },
    )?;
    let mut resp = found(url.as_str())?;
    resp.headers_mut()
        .insert(SET_COOKIE, flow_cookie(&state, &binding, PENDING_TTL_SECS));
    Ok(resp)
}

/// `GET /api/auth/oidc/callback` query (providers add more, e.g. `iss`).
#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// 403 for a refused login, logged with the reason (never a token).
fn refused(code: &'static str, message: impl Into<String>, reason: &str) -> ApiError {
    tracing::info!(reason, "OpenID Connect login refused");
    ApiError::forbidden(code, message)
}

/// `GET /api/auth/oidc/callback?code&state`: verifies and logs in, then
/// redirects to `next` (relative, so a proxy sub-path is kept).
pub async fn callback(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> Result<Response, ApiError> {
    let result = finish_login(&state, peer, &headers, q).await;
    if let Err(e) = &result {
        let mut entry =
            crate::audit::anonymous(Some(peer.ip()), None, "login", crate::audit::outcome_of(e));
        entry.detail = serde_json::json!({"method": "oidc", "error": e.code()});
        state.audit.record(entry).await;
    }
    result
}

/// The callback's work; its errors are audited by [`callback`].
async fn finish_login(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    q: CallbackQuery,
) -> Result<Response, ApiError> {
    let state = state.clone();
    let headers = headers.clone();
    check_host(&state, &headers)?;
    let oidc = configured(&state)?;
    let Some(flow_state) = q.state.as_deref().filter(|s| !s.is_empty()) else {
        return Err(ApiError::bad_request(
            "oidc_state_missing",
            "the provider's answer has no state; start the sign-in again",
        ));
    };
    let invalid_state = || {
        refused(
            "oidc_state_invalid",
            "this sign-in is unknown, expired, already used or was started in another browser; start it again",
            "state",
        )
    };
    // Taken out before any other check: a state is good for one try.
    let pending = oidc.take(flow_state).ok_or_else(invalid_state)?;
    let bound = cookie(&headers, FLOW_COOKIE)
        .is_some_and(|c| constant_time_eq(&hash_token(c), &pending.binding));
    if !bound {
        return Err(invalid_state());
    }
    if let Some(error) = &q.error {
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return Err(refused(
            "oidc_provider_error",
            format!("the sign-in provider refused: {error}"),
            "provider error",
        ));
    }
    let Some(code) = q.code.filter(|c| !c.is_empty()) else {
        return Err(ApiError::bad_request(
            "oidc_code_missing",
            "the provider's answer has no code; start the sign-in again",
        ));
    };
    let claims = verified_claims(oidc, code, pending.pkce, &pending.nonce).await?;
    let user = resolve_user(&state, oidc, &claims).await?;
    let mut resp = start_login(&state, &user, StatusCode::OK, "oidc", Some(peer.ip())).await?;
    let session_cookie = resp.headers_mut().remove(SET_COOKIE);
    let target = format!(
        "{APP_FROM_CALLBACK}{}",
        pending.next.trim_start_matches('/')
    );
    let mut redirect = found(&target)?;
    if let Some(c) = session_cookie {
        redirect.headers_mut().append(SET_COOKIE, c);
    }
    redirect
        .headers_mut()
        .append(SET_COOKIE, flow_cookie(&state, "", 0));
    Ok(redirect)
}

/// Exchanges the code and returns the verified claims: the ID token's,
/// overlaid with userinfo's (whose `sub` must match).
async fn verified_claims(
    oidc: &Oidc,
    code: String,
    pkce: PkceCodeVerifier,
    nonce: &Nonce,
) -> Result<Map<String, Value>, ApiError> {
    let client = oidc.client().await?;
    let token_refused = |reason: &str| {
        refused(
            "oidc_token_invalid",
            "the sign-in provider's answer could not be verified; start the sign-in again",
            reason,
        )
    };
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|_| token_refused("the provider has no token endpoint"))?
        .set_pkce_verifier(pkce)
        .request_async(&oidc.http)
        .await
        .map_err(|e| token_refused(&format!("code exchange: {}", error_chain(&e))))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| token_refused("no ID token in the token response"))?;
    let verifier = client.id_token_verifier();
    let id_claims = id_token
        .claims(&verifier, nonce)
        .map_err(|e| token_refused(&format!("ID token: {}", error_chain(&e))))?;
    if let Some(expected) = id_claims.access_token_hash() {
        let alg = id_token
            .signing_alg()
            .map_err(|e| token_refused(&format!("ID token: {e}")))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| token_refused(&format!("ID token: {e}")))?;
        let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
            .map_err(|e| token_refused(&format!("at_hash: {e}")))?;
        if actual != *expected {
            return Err(token_refused("at_hash does not match the access token"));
        }
    }
    // The signature is verified: the payload can be read as plain JSON,
    // which keeps provider-specific claims such as groups.
    let mut claims = id_token
        .to_string()
        .split('.')
        .nth(1)
        .and_then(|p| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<Map<String, Value>>(&bytes).ok())
        .ok_or_else(|| token_refused("ID token payload is not a JSON object"))?;
    let subject = id_claims.subject().clone();
    if client.user_info_url().is_some() {
        let info: UserInfoClaims<AllClaims, CoreGenderClaim> = client
            .user_info(tokens.access_token().clone(), Some(subject))
            .map_err(|_| token_refused("no userinfo endpoint"))?
            .request_async(&oidc.http)
            .await
            .map_err(|e| token_refused(&format!("userinfo: {}", error_chain(&e))))?;
        if let Ok(Value::Object(more)) = serde_json::to_value(&info) {
            claims.extend(more);
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_client_secret_is_redacted_in_debug_and_serialisation() {
        let config = Config {
            oidc_client_secret: Some(crate::config::Secret::new("hunter2-canary")),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!serde_json::to_string(&config).unwrap().contains("hunter2"));
        let oidc = Oidc::from_config(&Config {
            oidc_issuer: Some("https://login.example.com".into()),
            oidc_client_id: Some("x".into()),
            oidc_redirect_url: Some("https://ccweb.example.com/api/auth/oidc/callback".into()),
            ..config
        })
        .unwrap()
        .unwrap();
        assert_eq!(
            oidc.client_secret.as_ref().unwrap().secret(),
            "hunter2-canary"
        );
        assert!(!format!("{:?}", oidc.client_secret).contains("hunter2"));
    }

    #[test]
    fn next_stays_on_site() {
        for bad in [
            "//evil.com",
            "///evil.com",
            "\\\\evil.com",
            "/\\evil.com",
            "https://evil.com",
            "evil.com",
            "/a/../../x",
            "/ok path",
            "/x\u{0}",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        for good in ["/", "/sessions/abc", "/s?x=1&y=%2F#frag"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        assert_eq!(safe_next(None), "/");
    }
}
