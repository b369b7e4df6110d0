//! The WebSocket endpoint `/ws` (protocol: `docs/protocol.md`).
//!
//! The upgrade is refused before it happens when the `Origin` is not allowed (403), when
//! an `Authorization: Bearer` header carries an invalid token (401), and while the
//! gateway drains (503). Everything after the upgrade is one task per socket
//! ([`session`]), which reads client frames and writes what the fan-out hub queued for
//! it, with small buffers so an idle socket costs little.

pub mod frames;
pub mod outbound;
pub mod session;

use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chat_runtime::config::humantime_duration;
use chat_runtime::token::TokenVerifier;
use http::{HeaderMap, StatusCode, header};

use crate::http::error::ApiError;
use crate::http::extract::{AuthenticatedUser, bearer_token};
use crate::realtime::Realtime;

/// Path of the WebSocket endpoint.
pub const WS_PATH: &str = "/ws";

/// Limits and timings of WebSocket sessions.
#[derive(clap::Args, Debug, Clone)]
pub struct WsConfig {
    /// How long a new socket has to send its `auth` frame before it is closed with 4001.
    #[arg(long = "ws-auth-timeout", env = "WS_AUTH_TIMEOUT", default_value = "5s", value_parser = humantime_duration)]
    pub auth_timeout: Duration,

    /// Frames a socket may have waiting to be written; a socket that falls further behind
    /// is closed with 4003 (slow consumer) and resumes.
    #[arg(
        long = "ws-outbound-queue",
        env = "WS_OUTBOUND_QUEUE",
        default_value_t = 256
    )]
    pub outbound_queue: usize,

    /// Largest client frame handled; a larger one gets `frame_too_large` and the socket
    /// stays open.
    #[arg(long = "ws-max-frame-bytes", env = "WS_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,

    /// Largest WebSocket message read at all; a larger one closes the socket with 1009.
    #[arg(long = "ws-max-message-bytes", env = "WS_MAX_MESSAGE_BYTES", default_value_t = 1024 * 1024)]
    pub max_message_bytes: usize,

    /// Initial read buffer of a socket, in bytes (grows for larger frames). Small keeps
    /// idle sockets cheap.
    #[arg(
        long = "ws-read-buffer-bytes",
        env = "WS_READ_BUFFER_BYTES",
        default_value_t = 1024
    )]
    pub read_buffer_bytes: usize,

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

    /// How long a positive membership check is trusted without hearing of a change.
    #[arg(long = "membership-cache-ttl", env = "MEMBERSHIP_CACHE_TTL", default_value = "30s", value_parser = humantime_duration)]
    pub membership_cache_ttl: Duration,
}

/// Whether a browser origin may open a socket: an absent `Origin` (not a browser) is
/// allowed; otherwise it must be on the list (`*` allows any).
pub fn origin_allowed<'a>(
    origin: Option<&str>,
    allowed: impl IntoIterator<Item = &'a str>,
) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    allowed
        .into_iter()
        .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(origin))
}

/// The `/ws` route.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Realtime: FromRef<S>,
    TokenVerifier: FromRef<S>,
{
    Router::new().route(WS_PATH, get(upgrade))
}

async fn upgrade(
    State(realtime): State<Realtime>,
    State(verifier): State<TokenVerifier>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    if realtime.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"error": {
                "code": "unavailable",
                "message": "this gateway is shutting down; connect to another one",
            }})),
        )
            .into_response();
    }
    let origin = headers
        .get(header::ORIGIN)
        .map(|value| value.to_str().unwrap_or("\u{0}"));
    if !origin_allowed(origin, realtime.allowed_origins()) {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({"error": {
                "code": "origin_not_allowed",
                "message": "this origin may not open a WebSocket here",
            }})),
        )
            .into_response();
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let preauthenticated = match bearer_token(&headers) {
        Some(token) => match AuthenticatedUser::from_token(&verifier, token).await {
            Ok(user) => Some(user.claims),
            Err(err) => return err.into_response(),
        },
        None if headers.contains_key(header::AUTHORIZATION) => {
            return ApiError::MissingToken.into_response();
        }
        None => None,
    };
    let settings = realtime.settings();
    upgrade
        .read_buffer_size(settings.read_buffer_bytes)
        .write_buffer_size(0)
        .max_message_size(settings.max_message_bytes)
        .max_frame_size(settings.max_message_bytes)
        .on_upgrade(move |socket| session::run(socket, realtime, verifier, preauthenticated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_only_for_browsers() {
        let allowed = ["https://chat.example"];
        assert!(origin_allowed(None, allowed));
        assert!(origin_allowed(Some("https://chat.example"), allowed));
        assert!(!origin_allowed(Some("https://evil.example"), allowed));
        assert!(!origin_allowed(Some("https://evil.example"), []));
        assert!(origin_allowed(Some("https://any.example"), ["*"]));
    }
}
