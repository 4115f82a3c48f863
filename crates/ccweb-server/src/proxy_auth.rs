//! Trusted reverse-proxy header login: a request that arrived on the
//! proxy's Unix socket (`listen_unix`) and carries `proxy_user_header` is
//! that user. Over TCP the header is ignored entirely, whatever the peer's
//! address: a session's process on the proxy's host shares its loopback
//! address (see `proxy_socket`). Browser requests
//! authenticated this way follow the cookie rules: state changes and
//! WebSocket upgrades need an allowed `Origin`.

use axum::http::request::Parts;
use axum::http::HeaderName;
use ipnet::IpNet;
use std::net::IpAddr;

use crate::auth::{Auth, Credential, Via};
use crate::config::{Config, ConfigError};
use crate::error::ApiError;
use crate::state::AppState;

/// Longest user name a proxy may send, in bytes (the store allows 64 characters).
const MAX_NAME_BYTES: usize = 64;

/// The proxy-header policy built from the configuration.
#[derive(Debug, Clone)]
pub struct ProxyAuth {
    /// The header naming the user.
    header: HeaderName,
    /// Create unknown users.
    provision: bool,
}

/// Parses one `trusted_proxies` entry: an address or a CIDR.
fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Checks `trusted_proxies` and `proxy_user_header`.
pub(crate) fn validate_config(config: &mut Config) -> Result<(), ConfigError> {
    let err = |key, message: String| Err(ConfigError { key, message });
    for entry in &config.trusted_proxies {
        match parse_net(entry) {
            None => {
                return err(
                    "trusted_proxies",
                    format!(
                        "{entry:?} is not an IP address or CIDR such as 10.0.0.5 or 10.0.0.0/24"
                    ),
                )
            }
            // Trusting everyone would let any client name any user.
            Some(net) if net.prefix_len() == 0 => {
                return err(
                    "trusted_proxies",
                    format!("{entry:?} trusts every address; list your proxies' addresses"),
                )
            }
            Some(_) => {}
        }
    }
    if let Some(header) = &config.proxy_user_header {
        if HeaderName::try_from(header.as_str()).is_err() {
            return err(
                "proxy_user_header",
                format!("{header:?} is not a valid header name"),
            );
        }
    }
    Ok(())
}

impl ProxyAuth {
    /// The policy, if proxy header login is configured (`config` validated).
    pub fn from_config(config: &Config) -> Option<Self> {
        let header = HeaderName::try_from(config.proxy_user_header.as_deref()?).ok()?;
        Some(Self {
            header,
            provision: config.proxy_auto_provision,
        })
    }
}

/// The caller named by the proxy, if this request came through its Unix
/// socket and carries the header; `None` to go on with the other methods.
pub(crate) async fn authenticate(
    state: &AppState,
    parts: &Parts,
) -> Result<Option<Auth>, ApiError> {
    let Some(policy) = &state.proxy_auth else {
        return Ok(None);
    };
    if parts
        .extensions
        .get::<crate::proxy_socket::ViaProxySocket>()
        .is_none()
    {
        return Ok(None);
    }
    let Some(value) = parts.headers.get(&policy.header) else {
        return Ok(None);
    };
    let name = value
        .to_str()
        .ok()
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty() && v.len() <= MAX_NAME_BYTES)
        .ok_or(ApiError::Unauthorized)?;
    let user = match state.store.user_by_name(&name).await? {
        Some(user) => user,
        None if policy.provision => match state.store.create_user(&name, None, false).await {
            Ok(user) => {
                tracing::info!(user = %user.name, "created user named by the proxy");
                user
            }
            // Created by a concurrent request.
            Err(ccweb_store::StoreError::Conflict(_)) => state
                .store
                .user_by_name(&name)
                .await?
                .ok_or(ApiError::Unauthorized)?,
            Err(ccweb_store::StoreError::InvalidInput(_)) => {
                tracing::info!(user = %name.escape_debug(), "proxy named an invalid user name");
                return Err(ApiError::Unauthorized);
            }
            Err(e) => return Err(e.into()),
        },
        None => {
            tracing::info!(user = %name.escape_debug(), "proxy named an unknown user");
            return Err(ApiError::Unauthorized);
        }
    };
    if user.disabled {
        return Err(ApiError::Unauthorized);
    }
    check_origin(state, parts)?;
    Ok(Some(Auth {
        credential: Credential::Proxy(user.id),
        user,
        via: Via::Proxy,
        source: crate::client_ip::client_addr_of(state, parts).map(|a| a.ip()),
    }))
}

/// Browsers send the proxy's login along with every request, like a
/// cookie: state changes and WebSocket upgrades need an allowed `Origin`.
fn check_origin(state: &AppState, parts: &Parts) -> Result<(), ApiError> {
    let upgrade = crate::auth::is_websocket_upgrade(&parts.headers);
    if !upgrade && !crate::auth::is_state_changing(&parts.method) {
        return Ok(());
    }
    if crate::auth::origin_allowed(state, &parts.headers) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "origin_not_allowed",
            "cross-origin request refused: send a same-origin Origin header",
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config(proxies: &[&str], header: Option<&str>) -> Config {
        Config {
            trusted_proxies: proxies.iter().map(|s| s.to_string()).collect(),
            proxy_user_header: header.map(String::from),
            ..Config::default()
        }
    }

    #[test]
    fn trusted_proxies_take_addresses_and_cidrs_but_not_everyone() {
        assert!(validate_config(&mut config(
            &["10.0.0.5", "10.1.0.0/16", "::1"],
            Some("X-Forwarded-User")
        ))
        .is_ok());
        for bad in ["0.0.0.0/0", "::/0", "proxy.example", "10.0.0.0/33"] {
            let e = validate_config(&mut config(&[bad], None)).unwrap_err();
            assert_eq!(e.key, "trusted_proxies", "{bad}");
        }
        let e = validate_config(&mut config(&["10.0.0.5"], Some("bad header"))).unwrap_err();
        assert_eq!(e.key, "proxy_user_header");
    }
}
