//! Who is on the other end of a request: the address that login limits count and that a
//! session records, and the user agent.
//!
//! The TCP peer is the client unless it is a trusted reverse proxy. Behind trusted
//! proxies the client is the rightmost `X-Forwarded-For` entry that is not itself a
//! trusted proxy: every entry to its right was appended by a proxy we trust, every entry
//! to its left was written by the client and proves nothing. Without `X-Forwarded-For`,
//! `X-Real-IP` (nginx's `$remote_addr`) is used.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use chat_proto::v1::DeviceInfo;
use http::HeaderMap;
use http::request::Parts;
use ipnet::IpNet;

/// The networks whose forwarding headers are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    pub fn new(networks: impl IntoIterator<Item = IpNet>) -> Self {
        Self(networks.into_iter().collect())
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client's address for a request that arrived from `peer` with `headers`.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        if forwarded.is_empty() {
            return headers
                .get("x-real-ip")
                .and_then(|value| value.to_str().ok())
                .and_then(parse_address)
                .unwrap_or(peer);
        }
        // Walk from the nearest hop outwards; stop at the first address we do not trust.
        let mut nearest = peer;
        for entry in forwarded.iter().rev() {
            let Some(address) = parse_address(entry) else {
                // Garbage in the chain: the last address we could read is the best we know.
                return nearest;
            };
            if !self.contains(address) {
                return address;
            }
            nearest = address;
        }
        nearest
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:5678`; IPv4-mapped IPv6 becomes IPv4.
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .or_else(|_| text.parse::<SocketAddr>().map(|addr| addr.ip()))
        .ok()
        .map(|address| address.to_canonical())
}

/// The client's address and user agent, for rate limits and session records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    /// `None` only when the server runs without connection info (never in production).
    pub address: Option<IpAddr>,
    pub user_agent: String,
}

impl ClientInfo {
    /// The device description auth stores with a session.
    pub fn device(&self) -> DeviceInfo {
        DeviceInfo {
            user_agent: self.user_agent.clone(),
            ip_address: self
                .address
                .map(|address| address.to_string())
                .unwrap_or_default(),
        }
    }
}

/// The longest user agent passed on; longer ones are cut (at a character boundary).
const MAX_USER_AGENT_LEN: usize = 512;

impl<S> FromRequestParts<S> for ClientInfo
where
    TrustedProxies: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let trusted = TrustedProxies::from_ref(state);
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| trusted.client_address(peer.ip(), &parts.headers));
        let mut user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .unwrap_or_default();
        if user_agent.len() > MAX_USER_AGENT_LEN {
            let mut end = MAX_USER_AGENT_LEN;
            while !user_agent.is_char_boundary(end) {
                end -= 1;
            }
            user_agent.truncate(end);
        }
        Ok(Self {
            address,
            user_agent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::parse_network;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|net| parse_network(net).unwrap()))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = proxies(&["127.0.0.0/8"]);
        let claims = headers(&[("x-forwarded-for", "1.1.1.1"), ("x-real-ip", "2.2.2.2")]);
        assert_eq!(
            trusted.client_address(ip("203.0.113.9"), &claims),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = proxies(&["127.0.0.0/8", "10.0.0.0/8"]);
        // The client forged the first entry; our proxies appended the rest.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.4, 10.0.0.2")]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &chain),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn several_forwarded_headers_form_one_chain() {
        let trusted = proxies(&["127.0.0.0/8", "10.0.0.0/8"]);
        let chain = headers(&[
            ("x-forwarded-for", "198.51.100.4"),
            ("x-forwarded-for", "10.1.1.1"),
        ]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &chain),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn a_chain_of_only_trusted_hops_yields_the_farthest() {
        let trusted = proxies(&["127.0.0.0/8", "10.0.0.0/8"]);
        let chain = headers(&[("x-forwarded-for", "10.0.0.7, 10.0.0.2")]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &chain),
            ip("10.0.0.7")
        );
    }

    #[test]
    fn garbage_in_the_chain_stops_at_the_last_readable_hop() {
        let trusted = proxies(&["127.0.0.0/8", "10.0.0.0/8"]);
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, not-an-ip, 10.0.0.2")]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &chain),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn ports_and_mapped_addresses_are_understood() {
        let trusted = proxies(&["127.0.0.0/8", "::1"]);
        let chain = headers(&[("x-forwarded-for", "[2001:db8::5]:4711, 198.51.100.4:80")]);
        assert_eq!(
            trusted.client_address(ip("::1"), &chain),
            ip("198.51.100.4")
        );
        // An IPv4-mapped loopback peer is still the trusted loopback.
        let chain = headers(&[("x-forwarded-for", "::ffff:198.51.100.9")]);
        assert_eq!(
            trusted.client_address(ip("::ffff:127.0.0.1"), &chain),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn x_real_ip_is_used_without_x_forwarded_for() {
        let trusted = proxies(&["127.0.0.0/8"]);
        let real = headers(&[("x-real-ip", "198.51.100.4")]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &real),
            ip("198.51.100.4")
        );
        let bogus = headers(&[("x-real-ip", "somewhere")]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &bogus),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_trusted_peer_without_headers_is_the_client() {
        let trusted = proxies(&["127.0.0.0/8"]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
    }
}
