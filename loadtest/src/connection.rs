//! Sockets to the stack: where to connect, from which local address, and the
//! WebSocket handshake over that socket.
//!
//! One source address has about 28,000 ephemeral ports towards one destination, and a
//! process may hold 20,000 open files here. So when the target is on loopback each new
//! socket is bound to `127.0.0.(1 + n % N)` before connecting (all of 127.0.0.0/8 is
//! local on Linux), and the open-file soft limit is raised to the hard limit at start;
//! past that, several processes share the users (see `workers`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use reqwest::Url;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A WebSocket to a gateway.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The stack under test: its REST base and the WebSocket endpoints, resolved once.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http(s)://host:port/` of the first URL (REST under `/api`).
    pub api: Url,
    /// Each `ws(s)://host:port/ws` and where it connects; sockets take them in turn.
    pub sockets: Vec<(Url, SocketAddr)>,
    /// Local source addresses to spread sockets over (1 unless every endpoint is
    /// loopback IPv4).
    pub sources: u8,
}

impl Target {
    /// From the stack's URLs (`http`, `https`, `ws` or `wss`, with or without `/ws`):
    /// REST goes to the first, sockets to all of them in turn (several gateways
    /// without a balancer in front).
    pub async fn resolve(urls: &[String], sources: u8) -> anyhow::Result<Self> {
        anyhow::ensure!(!urls.is_empty(), "no URL of the stack");
        let mut api = None;
        let mut sockets = Vec::new();
        for url in urls {
            let (rest, ws) = self::urls(url)?;
            let host = rest.host_str().context("the URL has no host")?.to_owned();
            let port = rest
                .port_or_known_default()
                .context("the URL has no port")?;
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
                    .await
                    .with_context(|| format!("resolving {host}"))?
                    .collect();
            let addr = addrs
                .iter()
                .find(|addr| addr.is_ipv4())
                .or(addrs.first())
                .copied()
                .with_context(|| format!("{host} has no address"))?;
            api.get_or_insert(rest);
            sockets.push((ws, addr));
        }
        let loopback = sockets.iter().all(|(_, addr)| is_loopback_v4(addr.ip()));
        Ok(Self {
            api: api.expect("at least one URL"),
            sockets,
            sources: if loopback { sources.max(1) } else { 1 },
        })
    }

    /// Whether the stack is on this machine's loopback.
    pub fn is_loopback(&self) -> bool {
        self.sockets.iter().all(|(_, addr)| addr.ip().is_loopback())
    }

    /// The local address socket number `n` binds to, when spreading.
    pub fn source(&self, n: usize) -> Option<IpAddr> {
        (self.sources > 1).then(|| source_address(n, self.sources))
    }

    /// Opens WebSocket number `n`: from source address `n`, to endpoint `n` (TCP
    /// connect and the upgrade).
    pub async fn connect(&self, n: usize) -> anyhow::Result<Socket> {
        let (url, addr) = &self.sockets[n % self.sockets.len()];
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(source) = self.source(n) {
            socket
                .bind(SocketAddr::new(source, 0))
                .with_context(|| format!("binding {source}"))?;
        }
        let stream = socket
            .connect(*addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let config = WebSocketConfig::default()
            .write_buffer_size(0)
            .max_message_size(Some(16 << 20));
        let (socket, _response) = tokio_tungstenite::client_async_tls_with_config(
            url.as_str(),
            stream,
            Some(config),
            None,
        )
        .await
        .context("WebSocket handshake")?;
        Ok(socket)
    }
}

/// The REST base and the WebSocket URL for a stack URL.
pub fn urls(url: &str) -> anyhow::Result<(Url, Url)> {
    let parsed = Url::parse(url).with_context(|| format!("not a URL: {url}"))?;
    let (http, ws) = match parsed.scheme() {
        "http" | "ws" => ("http", "ws"),
        "https" | "wss" => ("https", "wss"),
        other => anyhow::bail!("unsupported scheme {other}: use http, https, ws or wss"),
    };
    let host = parsed.host_str().context("the URL has no host")?;
    let authority = match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let path = parsed.path().trim_end_matches('/');
    let base_path = path.strip_suffix("/ws").unwrap_or(path);
    let api = Url::parse(&format!("{http}://{authority}{base_path}/"))?;
    let ws = Url::parse(&format!("{ws}://{authority}{base_path}/ws"))?;
    Ok((api, ws))
}

fn is_loopback_v4(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4.is_loopback())
}

/// `127.0.0.(1 + n % count)`.
pub fn source_address(n: usize, count: u8) -> IpAddr {
    let last = 1 + (n % usize::from(count.max(1))) as u8;
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// Raises this process's open-file soft limit to its hard limit; returns the limit now
/// in force.
pub fn raise_open_file_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0)
}

/// How long to wait before reconnect attempt `attempt` (0-based): doubling from `base`,
/// at most 10 s.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1 << attempt.min(10))
        .min(Duration::from_secs(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_urls_give_the_api_base_and_the_socket_url() {
        let (api, ws) = urls("http://127.0.0.1:8080").expect("urls");
        assert_eq!(api.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(ws.as_str(), "ws://127.0.0.1:8080/ws");

        let (api, ws) = urls("wss://chat.example/ws").expect("urls");
        assert_eq!(api.as_str(), "https://chat.example/");
        assert_eq!(ws.as_str(), "wss://chat.example/ws");

        let (api, ws) = urls("https://chat.example/prefix/").expect("urls");
        assert_eq!(api.as_str(), "https://chat.example/prefix/");
        assert_eq!(ws.as_str(), "wss://chat.example/prefix/ws");

        assert!(urls("ftp://x").is_err());
    }

    #[test]
    fn sources_cycle_over_loopback_addresses() {
        assert_eq!(source_address(0, 4).to_string(), "127.0.0.1");
        assert_eq!(source_address(3, 4).to_string(), "127.0.0.4");
        assert_eq!(source_address(4, 4).to_string(), "127.0.0.1");
        assert_eq!(source_address(9, 1).to_string(), "127.0.0.1");
    }

    #[test]
    fn backoff_doubles_up_to_ten_seconds() {
        let base = Duration::from_millis(200);
        assert_eq!(backoff(base, 0), base);
        assert_eq!(backoff(base, 2), Duration::from_millis(800));
        assert_eq!(backoff(base, 30), Duration::from_secs(10));
    }

    #[tokio::test]
    async fn loopback_targets_spread_sources_and_sockets_over_every_url() {
        let urls = [
            "http://127.0.0.1:9".to_owned(),
            "ws://127.0.0.1:10/ws".to_owned(),
        ];
        let target = Target::resolve(&urls, 8).await.expect("target");
        assert!(target.is_loopback());
        assert_eq!(target.api.as_str(), "http://127.0.0.1:9/");
        assert_eq!(target.sockets.len(), 2);
        assert_eq!(target.sockets[1].1.port(), 10);
        assert_eq!(
            target.source(9).map(|ip| ip.to_string()).as_deref(),
            Some("127.0.0.2")
        );

        let single = Target::resolve(&urls[..1], 1).await.expect("target");
        assert_eq!(single.source(3), None);
    }
}
