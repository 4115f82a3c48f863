//! The client's address behind trusted reverse proxies. A request whose TCP
//! peer is one of `trusted_proxies` comes from the address its proxy put in
//! `X-Forwarded-For`: the right-most entry that is not itself a trusted
//! proxy (entries further left are whatever the client claimed). From any
//! other peer the header is ignored, so nobody can pick their own address
//! for rate limits, caps or the audit log. A request on the proxy's Unix
//! socket (`listen_unix`) came through the proxy: its header is read the
//! same way.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

use crate::error::ApiError;
use crate::state::AppState;

/// The trusted proxies.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// From `trusted_proxies` (validated: each an address or a CIDR).
    pub fn new(entries: &[String]) -> Self {
        Self(
            entries
                .iter()
                .filter_map(|s| {
                    let s = s.trim();
                    s.parse::<IpNet>()
                        .ok()
                        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
                })
                .collect(),
        )
    }

    /// Whether `ip` is a trusted proxy (IPv4-mapped IPv6 counts as IPv4).
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        self.forwarded_client(headers).unwrap_or(peer)
    }

    /// The client a proxy named in `X-Forwarded-For`: the right-most entry
    /// that is not itself a trusted proxy.
    fn forwarded_client(&self, headers: &HeaderMap) -> Option<IpAddr> {
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .collect();
        forwarded
            .iter()
            .rev()
            .find(|ip| !self.trusts(**ip))
            .copied()
    }

    /// `peer` with the client's address (same port).
    pub fn client_addr(&self, peer: SocketAddr, headers: &HeaderMap) -> SocketAddr {
        SocketAddr::new(self.client_ip(peer.ip(), headers), peer.port())
    }
}

/// The client's address of a request (behind trusted proxies, the one they
/// name), for handlers that rate-limit or audit by address.
pub struct ClientAddr(pub SocketAddr);

/// The address requests on the proxy's Unix socket get when the proxy
/// names no client (`0.0.0.0`: unknown; they share one rate-limit key).
pub const UNNAMED_PROXY_CLIENT: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

/// The client's address of a request whose parts are `parts`, if the
/// connection's address is known.
pub(crate) fn client_addr_of(state: &AppState, parts: &Parts) -> Option<SocketAddr> {
    let ConnectInfo(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>()?;
    if parts
        .extensions
        .get::<crate::proxy_socket::ViaProxySocket>()
        .is_some()
    {
        let ip = state.trusted_proxies.forwarded_client(&parts.headers);
        return Some(ip.map_or(*peer, |ip| SocketAddr::new(ip, 0)));
    }
    Some(state.trusted_proxies.client_addr(*peer, &parts.headers))
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        client_addr_of(state, parts).map(ClientAddr).ok_or_else(|| {
            // The accept loop always records it; without it, a bug.
            ApiError::internal(std::io::Error::other("the connection's address is unknown"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_a_trusted_peers_header_counts_and_spoofed_entries_are_skipped() {
        let proxies = TrustedProxies::new(&["10.0.0.0/24".into(), "127.0.0.1".into()]);
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        // From a stranger the header is ignored.
        assert_eq!(
            proxies.client_ip(stranger, &headers(&["203.0.113.7"])),
            stranger
        );
        // From a proxy: the right-most address that is not a proxy.
        assert_eq!(proxies.client_ip(proxy, &headers(&["203.0.113.7"])), client);
        assert_eq!(
            proxies.client_ip(proxy, &headers(&["1.2.3.4, 203.0.113.7, 10.0.0.9"])),
            client,
            "a client-supplied 1.2.3.4 on the left is not believed"
        );
        assert_eq!(
            proxies.client_ip(proxy, &headers(&["1.2.3.4", "203.0.113.7"])),
            client
        );
        // Nothing usable: the proxy itself.
        assert_eq!(proxies.client_ip(proxy, &headers(&[])), proxy);
        assert_eq!(proxies.client_ip(proxy, &headers(&["garbage"])), proxy);
        let mapped: IpAddr = "::ffff:10.0.0.5".parse().unwrap();
        assert_eq!(
            proxies.client_ip(mapped, &headers(&["203.0.113.7"])),
            client
        );
    }
}
