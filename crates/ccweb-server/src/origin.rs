//! Which origins and `Host` values the server accepts: the defence against
//! cross-site requests, cross-site WebSocket hijacking and DNS rebinding.

use crate::config::Config;

/// Normalises an origin (`scheme://host[:port]`) to lower case without a
/// default port; `None` for anything else (paths, `null`, other schemes).
pub fn parse_origin(s: &str) -> Option<String> {
    let (scheme, rest) = s.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ', '\\']) {
        return None;
    }
    let (host, port) = split_host_port(authority)?;
    let port = port.filter(|p| *p != default_port);
    Some(match port {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    })
}

/// Splits `host[:port]` (IPv6 in brackets); the host comes back lower-case.
fn split_host_port(authority: &str) -> Option<(String, Option<&str>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{}]", h.to_ascii_lowercase()), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
            None => (authority.to_ascii_lowercase(), None),
        }
    };
    if host.is_empty()
        || port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some((host, port))
}

/// The policy built from the configuration.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    /// Extra accepted origins (normalised).
    origins: Vec<String>,
    /// Accepted `Host` values (lower case, with port).
    hosts: Vec<String>,
    /// Loopback listener: any port on a loopback name is fine (SSH tunnels).
    loopback: bool,
    /// Scheme users reach us with.
    scheme: &'static str,
}

const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl OriginPolicy {
    /// Builds the policy; `config` must have been validated.
    pub fn new(config: &Config) -> Self {
        let mut origins: Vec<String> = config
            .allowed_origins
            .iter()
            .filter_map(|o| parse_origin(o))
            .collect();
        let mut hosts: Vec<String> = config
            .allowed_hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        if let Some(public) = config.public_url.as_deref().and_then(parse_origin) {
            if let Some((_, authority)) = public.split_once("://") {
                hosts.push(authority.to_owned());
            }
            origins.push(public);
        }
        hosts.push(config.listen.to_string());
        Self {
            origins,
            hosts,
            loopback: config.listen.ip().is_loopback(),
            scheme: if config.behind_https() {
                "https"
            } else {
                "http"
            },
        }
    }

    /// Whether the server answers to this `Host` header.
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        if self.hosts.contains(&host) {
            return true;
        }
        if self.loopback {
            if let Some((name, _)) = split_host_port(&host) {
                return LOOPBACK_NAMES.contains(&name.as_str());
            }
        }
        false
    }

    /// Whether `origin` may make cookie-authenticated requests to a server
    /// reached as `host`: exactly our own origin or a configured one.
    pub fn origin_allowed(&self, origin: &str, host: &str) -> bool {
        let Some(origin) = parse_origin(origin) else {
            return false;
        };
        if self.origins.contains(&origin) {
            return true;
        }
        if !self.host_allowed(host) {
            return false;
        }
        parse_origin(&format!("{}://{host}", self.scheme)).is_some_and(|own| own == origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> OriginPolicy {
        let config = Config {
            allowed_origins: vec!["https://app.example.com".into()],
            ..Config::default()
        };
        OriginPolicy::new(&config)
    }

    #[test]
    fn own_origin_is_accepted_and_lookalikes_are_not() {
        let p = policy();
        assert!(p.origin_allowed("http://127.0.0.1:7878", "127.0.0.1:7878"));
        assert!(p.origin_allowed("HTTP://LOCALHOST:7878", "localhost:7878"));
        assert!(p.origin_allowed("https://app.example.com", "127.0.0.1:7878"));
        for bad in [
            "null",
            "",
            "http://127.0.0.1:7879",
            "https://127.0.0.1:7878",
            "http://evil.example",
            "https://app.example.com.evil.com",
            "https://evilapp.example.com",
            "https://app.example.com:444",
            "http://app.example.com",
            "file://",
            "http://127.0.0.1:7878/path",
        ] {
            assert!(
                !p.origin_allowed(bad, "127.0.0.1:7878"),
                "{bad} must be refused"
            );
        }
    }

    #[test]
    fn rebinding_hosts_are_refused_but_loopback_tunnels_work() {
        let p = policy();
        assert!(p.host_allowed("127.0.0.1:7878"));
        assert!(p.host_allowed("localhost:9000"));
        assert!(!p.host_allowed("attacker.example:7878"));
        assert!(!p.origin_allowed("http://attacker.example:7878", "attacker.example:7878"));
    }
}
