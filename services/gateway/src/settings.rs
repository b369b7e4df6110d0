//! The gateway's settings: one typed struct read from flags and environment variables
//! (flags win), with defaults that run the whole stack on one machine. Every clap type
//! of the gateway is here; the layers above take these as plain values.

use std::net::{IpAddr, SocketAddr};
use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use chat_bus::{PersistConfig, StreamConfig};
use chat_runtime::config::{RedisConfig, ShutdownConfig, TelemetryConfig, humantime_duration};
use clap::Parser;
use ipnet::IpNet;

/// A stateless chat gateway: REST (and later WebSocket) for clients, gRPC to the services.
#[derive(Parser, Debug, Clone)]
#[command(name = "chat-gateway", version, about)]
pub struct Config {
    /// Address of the client-facing HTTP listener (REST, OpenAPI, JWKS, health, metrics).
    #[arg(
        long = "http-addr",
        env = "HTTP_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub http_addr: SocketAddr,

    #[command(flatten)]
    pub upstreams: UpstreamConfig,

    #[command(flatten)]
    pub http: HttpConfig,

    #[command(flatten)]
    pub bus: BusConfig,

    #[command(flatten)]
    pub ws: WsConfig,

    #[command(flatten)]
    pub telemetry: TelemetryConfig,

    #[command(flatten)]
    pub shutdown: ShutdownConfig,
}

/// Where the services behind the gateway listen, and how long the gateway waits for them.
/// Channels connect lazily, so the gateway starts (and reports not ready) while a service
/// is still starting.
#[derive(clap::Args, Debug, Clone)]
pub struct UpstreamConfig {
    /// gRPC URL of the auth service.
    #[arg(
        long = "auth-url",
        env = "AUTH_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    pub auth_url: String,

    /// gRPC URL of the rooms service.
    #[arg(
        long = "rooms-url",
        env = "ROOMS_URL",
        default_value = "http://127.0.0.1:50052"
    )]
    pub rooms_url: String,

    /// gRPC URL of the history service.
    #[arg(
        long = "history-url",
        env = "HISTORY_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    pub history_url: String,

    /// gRPC URL of the files service (uploads and downloads).
    #[arg(
        long = "files-url",
        env = "FILES_URL",
        default_value = "http://127.0.0.1:50054"
    )]
    pub files_url: String,

    /// Longest wait for a TCP connection to a service.
    #[arg(long = "grpc-connect-timeout", env = "GRPC_CONNECT_TIMEOUT", default_value = "2s", value_parser = humantime_duration)]
    pub connect_timeout: Duration,

    /// Longest wait for one gRPC call, connection included.
    #[arg(long = "grpc-request-timeout", env = "GRPC_REQUEST_TIMEOUT", default_value = "10s", value_parser = humantime_duration)]
    pub request_timeout: Duration,

    /// Shortest time between two fetches of auth's signing keys triggered by tokens with
    /// an unknown `kid`; bounds the load a stream of forged tokens can put on auth.
    #[arg(long = "signing-keys-refetch-interval", env = "SIGNING_KEYS_REFETCH_INTERVAL", default_value = "10s", value_parser = humantime_duration)]
    pub keys_refetch_interval: Duration,
}

/// How the HTTP edge treats requests.
#[derive(clap::Args, Debug, Clone)]
pub struct HttpConfig {
    /// Largest accepted request body in bytes; larger bodies get 413 `payload_too_large`.
    #[arg(long = "body-limit", env = "BODY_LIMIT", default_value_t = 64 * 1024)]
    pub body_limit: usize,

    /// Comma-separated CIDRs (or single addresses) of reverse proxies whose
    /// `X-Forwarded-For` / `X-Real-IP` headers are believed. Any other peer is the client.
    #[arg(
        long = "trusted-proxies",
        env = "TRUSTED_PROXIES",
        value_delimiter = ',',
        default_value = "127.0.0.0/8,::1",
        value_parser = parse_network
    )]
    pub trusted_proxies: Vec<IpNet>,

    /// Comma-separated browser origins allowed to call the API cross-origin and to open
    /// WebSockets (e.g. `https://chat.example.com`). `*` allows any origin; empty allows
    /// none (same-origin only).
    #[arg(
        long = "allowed-origins",
        env = "ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub allowed_origins: Vec<String>,

    /// When the refresh-token cookie of browser sessions carries `Secure`: `auto` when the
    /// request came over HTTPS (`X-Forwarded-Proto: https` from the proxy), `always`
    /// behind a proxy that terminates TLS before nginx (a Kubernetes ingress), `never`.
    #[arg(
        long = "secure-cookies",
        env = "SECURE_COOKIES",
        value_enum,
        default_value_t = CookieSecurity::Auto
    )]
    pub secure_cookies: CookieSecurity,

    /// API requests that only read (`GET`) one user may make per second, on all gateways
    /// together (a burst of as many); more get 429 `rate_limited`.
    #[arg(long = "rest-reads-per-second", env = "REST_READS_PER_SECOND", default_value_t = NonZeroU32::new(50).expect("non-zero"))]
    pub rest_reads_per_second: NonZeroU32,

    /// API requests that change something (`POST`, `PUT`, `PATCH`, `DELETE`) one user may
    /// make per second, on all gateways together; more get 429 `rate_limited`.
    #[arg(long = "rest-writes-per-second", env = "REST_WRITES_PER_SECOND", default_value_t = NonZeroU32::new(20).expect("non-zero"))]
    pub rest_writes_per_second: NonZeroU32,

    /// The longest a client may take to send a request's head (line and headers); a
    /// connection slower than this is closed (slow-header attacks).
    #[arg(
        long = "header-timeout",
        env = "HTTP_HEADER_TIMEOUT",
        default_value = "10s",
        value_parser = humantime_duration
    )]
    pub header_timeout: Duration,

    /// The longest a request body may stall between two pieces; a body that stalls longer
    /// fails the request (a slow upload that keeps moving is fine).
    #[arg(
        long = "body-timeout",
        env = "HTTP_BODY_TIMEOUT",
        default_value = "30s",
        value_parser = humantime_duration
    )]
    pub body_timeout: Duration,

    /// Connections the kernel may hold, fully opened, until the gateway accepts them (the
    /// listen backlog; Linux caps it at `net.core.somaxconn`). When every client of a
    /// restarted gateway or a network blip comes back at once, a short queue drops their
    /// connection attempts, which the clients' TCP only retries after 1, 3 and 7 s.
    #[arg(
        long = "listen-backlog",
        env = "HTTP_LISTEN_BACKLOG",
        default_value_t = 4096
    )]
    pub listen_backlog: u32,
}

/// When a cookie is marked `Secure` (sent over HTTPS only).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieSecurity {
    Auto,
    Always,
    Never,
}

/// Where the bus lives: Redis (sequence, fan-out) and RabbitMQ (persistence).
#[derive(clap::Args, Debug, Clone)]
pub struct BusConfig {
    // Redis holds the room sequences and carries live events.
    #[command(flatten)]
    pub redis: RedisConfig,

    #[command(flatten)]
    pub stream: StreamConfig,

    // Every message is published to the persist queue, as history consumes it.
    #[command(flatten)]
    pub persist: PersistConfig,
}

/// Limits and timings of WebSocket sessions.
#[derive(clap::Args, Debug, Clone)]
pub struct WsConfig {
    /// How long a new socket has to send its `auth` frame before it is closed with 4001.
    #[arg(long = "ws-auth-timeout", env = "WS_AUTH_TIMEOUT", default_value = "5s", value_parser = humantime_duration)]
    pub auth_timeout: Duration,

    /// Sockets that may be setting up at once: after `auth`, listing the user's rooms,
    /// subscribing them, reading their positions and sending `ready` and the catch-up.
    /// The others wait their turn, so a reconnect storm queues here instead of piling
    /// requests on the rooms service, history and Redis until they time out.
    #[arg(long = "ws-max-opening", env = "WS_MAX_OPENING", default_value_t = NonZeroUsize::new(256).expect("non-zero"))]
    pub max_opening: NonZeroUsize,

    /// How long a socket waits for its turn to set up before it is closed with 1013 (the
    /// gateway is busy; reconnect later): short enough to leave the set-up itself within a
    /// client's wait for `ready` (the web client's is 10 s).
    #[arg(long = "ws-opening-wait", env = "WS_OPENING_WAIT", default_value = "8s", value_parser = humantime_duration)]
    pub opening_wait: Duration,

    /// Frames a socket may have waiting to be written; a socket that falls further behind
    /// is closed with 4003 (slow consumer) and resumes.
    #[arg(
        long = "ws-outbound-queue",
        env = "WS_OUTBOUND_QUEUE",
        default_value_t = 256
    )]
    pub outbound_queue: usize,

    /// `history`, `search` and `presence.subscribe` frames a socket may send per second
    /// (reads that cost); more get `rate_limited`.
    #[arg(long = "ws-requests-per-second", env = "WS_REQUESTS_PER_SECOND", default_value_t = NonZeroU32::new(10).expect("non-zero"))]
    pub requests_per_second: NonZeroU32,

    /// `join` and `leave` frames a socket may send per second (each is a room entry every
    /// member receives and history keeps); more get `rate_limited`.
    #[arg(long = "ws-membership-changes-per-second", env = "WS_MEMBERSHIP_CHANGES_PER_SECOND", default_value_t = NonZeroU32::new(2).expect("non-zero"))]
    pub membership_changes_per_second: NonZeroU32,

    /// `typing`, `presence`, `read` and `ping` frames a socket may send per second; more
    /// get `rate_limited`.
    #[arg(long = "ws-signals-per-second", env = "WS_SIGNALS_PER_SECOND", default_value_t = NonZeroU32::new(20).expect("non-zero"))]
    pub signals_per_second: NonZeroU32,

    /// Largest client frame handled; a larger one gets `frame_too_large` and the socket
    /// stays open.
    #[arg(long = "ws-max-frame-bytes", env = "WS_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,

    /// Largest WebSocket message read at all; a larger one closes the socket with 1009.
    #[arg(long = "ws-max-message-bytes", env = "WS_MAX_MESSAGE_BYTES", default_value_t = 1024 * 1024)]
    pub max_message_bytes: usize,

    /// Initial read buffer of a socket, and the most read from the network at once, in
    /// bytes. A larger frame grows the buffer to its size (which the socket then keeps),
    /// so small keeps idle sockets cheap: 1024 costs an idle socket about 450 bytes more
    /// than 256, whose `auth` frame grows it to about 600.
    #[arg(
        long = "ws-read-buffer-bytes",
        env = "WS_READ_BUFFER_BYTES",
        default_value_t = 256
    )]
    pub read_buffer_bytes: usize,

    /// Bytes of frames a socket gathers before writing them to the network (the end of
    /// each batch writes the rest): several frames waiting for the same socket go out in
    /// one system call. 0 writes every frame at once.
    #[arg(
        long = "ws-write-buffer-bytes",
        env = "WS_WRITE_BUFFER_BYTES",
        default_value_t = 8 * 1024
    )]
    pub write_buffer_bytes: usize,

    /// How long a socket woken for a delivery waits before writing, so that frames
    /// arriving meanwhile go out together: fewer system calls and wake-ups for that much
    /// more latency. Off (0) by default.
    #[arg(long = "ws-write-delay", env = "WS_WRITE_DELAY", default_value = "0s", value_parser = humantime_duration)]
    pub write_delay: Duration,

    /// Longest message content, in characters.
    #[arg(
        long = "max-content-chars",
        env = "MAX_CONTENT_CHARS",
        default_value_t = 4000
    )]
    pub max_content_chars: usize,

    /// Sends allowed per second per socket (and per user over REST); more get
    /// `rate_limited`.
    #[arg(long = "sends-per-second", env = "SENDS_PER_SECOND", default_value_t = std::num::NonZeroU32::new(20).expect("non-zero"))]
    pub sends_per_second: std::num::NonZeroU32,

    /// How long after sending a message its author may edit it; unset: always.
    #[arg(long = "edit-window", env = "EDIT_WINDOW", value_parser = humantime_duration)]
    pub edit_window: Option<Duration>,

    /// Sockets one user may hold open on one gateway; one more is closed with 4004.
    #[arg(
        long = "max-connections-per-user",
        env = "MAX_CONNECTIONS_PER_USER",
        default_value_t = 20
    )]
    pub max_connections_per_user: usize,

    /// How often the server pings; a socket silent for three intervals is closed (4005).
    #[arg(long = "heartbeat-interval", env = "HEARTBEAT_INTERVAL", default_value = "20s", value_parser = humantime_duration)]
    pub heartbeat_interval: Duration,

    /// How long catch-up waits for history to hold what the Redis stream no longer does
    /// before telling the client to resync (`gap_unrecoverable`), and retries failed Redis
    /// reads before closing the socket with 1011.
    #[arg(long = "catchup-history-wait", env = "CATCHUP_HISTORY_WAIT", default_value = "10s", value_parser = humantime_duration)]
    pub catchup_history_wait: Duration,

    /// How long a positive membership check is trusted without hearing of a change (past
    /// it while the user's channel is held; see `core::memberships`).
    #[arg(long = "membership-cache-ttl", env = "MEMBERSHIP_CACHE_TTL", default_value = "30s", value_parser = humantime_duration)]
    pub membership_cache_ttl: Duration,

    /// How far behind Redis the hub may fall (a room entry heard this long after it was
    /// accepted) before it drops its subscription, the backlog with it, and subscribes
    /// again: its sockets then recover what they missed through catch-up, as after a
    /// lost connection, so a gateway that cannot keep up keeps its memory bounded.
    #[arg(long = "subscriber-max-lag", env = "SUBSCRIBER_MAX_LAG", default_value = "30s", value_parser = humantime_duration)]
    pub subscriber_max_lag: Duration,

    /// A `typing` `start` not renewed within this long ends: the room is told `stop`.
    /// Clients are told to renew at half of it (`ready.typing_renew_ms`).
    #[arg(long = "typing-timeout", env = "TYPING_TIMEOUT", default_value = "6s", value_parser = humantime_duration)]
    pub typing_timeout: Duration,

    /// Rooms with more members than this get no typing signals (the cost would grow with
    /// every member, and nobody reads "37 people are typing").
    #[arg(
        long = "typing-max-room-size",
        env = "TYPING_MAX_ROOM_SIZE",
        default_value_t = 100
    )]
    pub typing_max_room_size: u32,

    /// Rooms with more members than this have no read receipts (direct rooms always
    /// have them: two members). At most 100.
    #[arg(
        long = "receipts-max-room-size",
        env = "RECEIPTS_MAX_ROOM_SIZE",
        default_value_t = 50,
        value_parser = clap::value_parser!(u32).range(2..=100)
    )]
    pub receipts_max_room_size: u32,

    /// A user whose last socket closed is announced offline only after this long, and
    /// only if no socket of theirs opened meanwhile (a reconnect causes no flapping).
    #[arg(long = "presence-grace", env = "PRESENCE_GRACE", default_value = "5s", value_parser = humantime_duration)]
    pub presence_grace: Duration,

    /// How often a gateway tells the others it is alive; one silent for four of these is
    /// dead and its sockets are taken away (the bound on stale presence is five).
    #[arg(long = "presence-heartbeat", env = "PRESENCE_HEARTBEAT", default_value = "2s", value_parser = humantime_duration)]
    pub presence_heartbeat: Duration,

    /// `off` keeps no presence at all: no Redis work per socket, no heartbeat, nobody
    /// followed; everyone reads as offline without a last-seen time, as if hidden. For
    /// deployments that do not want the feature, and to measure what it costs.
    #[arg(long = "presence", env = "PRESENCE", default_value = "on", value_parser = on_off, action = clap::ArgAction::Set)]
    pub presence: bool,
}

impl WsConfig {
    /// How often a client repeats `typing` `start` while writing.
    pub fn typing_renew(&self) -> Duration {
        self.typing_timeout / 2
    }
}

/// Parses `on` or `off` (also `true`/`false`, `1`/`0`).
pub fn on_off(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        other => Err(format!("`{other}` is neither `on` nor `off`")),
    }
}

/// Parses `10.0.0.0/8`, or a bare address as a network of one.
pub fn parse_network(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    if let Ok(net) = s.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("`{s}` is neither a CIDR network nor an IP address"))
}

impl HttpConfig {
    /// The configured origins, without blanks.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.allowed_origins
            .iter()
            .map(|origin| origin.trim())
            .filter(|origin| !origin.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_on_one_machine() {
        let config = Config::try_parse_from(["chat-gateway"]).unwrap();
        assert_eq!(config.http_addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.upstreams.auth_url, "http://127.0.0.1:50051");
        assert_eq!(config.http.body_limit, 65536);
        assert_eq!(
            config.http.trusted_proxies,
            vec![
                "127.0.0.0/8".parse::<IpNet>().unwrap(),
                "::1/128".parse().unwrap()
            ]
        );
        assert_eq!(config.http.origins().count(), 0);
    }

    #[test]
    fn presence_is_on_unless_switched_off() {
        let on = Config::try_parse_from(["chat-gateway"]).unwrap();
        assert!(on.ws.presence);
        let off = Config::try_parse_from(["chat-gateway", "--presence", "off"]).unwrap();
        assert!(!off.ws.presence);
        assert!(Config::try_parse_from(["chat-gateway", "--presence", "maybe"]).is_err());
    }

    #[test]
    fn lists_are_comma_separated() {
        let config = Config::try_parse_from([
            "chat-gateway",
            "--trusted-proxies",
            "10.0.0.0/8,192.168.1.7",
            "--allowed-origins",
            "https://a.example,https://b.example",
        ])
        .unwrap();
        assert_eq!(
            config.http.trusted_proxies,
            vec![
                "10.0.0.0/8".parse::<IpNet>().unwrap(),
                "192.168.1.7/32".parse().unwrap()
            ]
        );
        assert_eq!(
            config.http.origins().collect::<Vec<_>>(),
            vec!["https://a.example", "https://b.example"]
        );
        assert!(Config::try_parse_from(["chat-gateway", "--trusted-proxies", "nope"]).is_err());
    }
}
