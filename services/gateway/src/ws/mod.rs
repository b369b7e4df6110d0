//! The WebSocket endpoint `/ws` (protocol: `docs/protocol.md`).
//!
//! The upgrade is refused before it happens when the `Origin` is not allowed (403), when
//! an `Authorization: Bearer` header carries an invalid token (401), and while the
//! gateway drains (503). Everything after the upgrade is one task per socket
//! ([`session`]): a [`handshake`] that authenticates, then a loop that dispatches the
//! client's frames to one [`cmd`] each and writes what the fan-out hub queued for the
//! socket at exact positions ([`delivery`], deciding with [`cursor`]), over a
//! [`connection`] that owns framing, writes and closing.

pub mod cmd;
pub mod confirms;
pub mod connection;
pub mod cursor;
pub mod delivery;
pub mod frame_limits;
pub mod handshake;
pub mod session;
pub mod socket;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chat_protocol::ErrorCode;
use chat_runtime::token::TokenVerifier;
use http::{HeaderMap, header};

use crate::access::{AuthenticatedUser, bearer_token};
use crate::client_error::ClientError;
use crate::core::realtime::Realtime;
use crate::core::sockets::Sockets;

/// Path of the WebSocket endpoint.
pub const WS_PATH: &str = "/ws";

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
    Sockets: FromRef<S>,
    TokenVerifier: FromRef<S>,
{
    Router::new().route(WS_PATH, get(upgrade))
}

async fn upgrade(
    State(realtime): State<Realtime>,
    State(sockets): State<Sockets>,
    State(verifier): State<TokenVerifier>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    if sockets.is_draining() {
        return ClientError::new(
            ErrorCode::Unavailable,
            "this gateway is shutting down; connect to another one",
        )
        .into_response();
    }
    let origin = headers
        .get(header::ORIGIN)
        .map(|value| value.to_str().unwrap_or("\u{0}"));
    if !origin_allowed(origin, sockets.allowed_origins()) {
        return ClientError::new(
            ErrorCode::OriginNotAllowed,
            "this origin may not open a WebSocket here",
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
            return ClientError::missing_token().into_response();
        }
        None => None,
    };
    let settings = sockets.settings();
    upgrade
        .read_buffer_size(settings.read_buffer_bytes)
        .write_buffer_size(settings.write_buffer_bytes)
        .max_message_size(settings.max_message_bytes)
        .max_frame_size(settings.max_message_bytes)
        .on_upgrade(move |socket| {
            // A task of the socket's own: axum's upgrade task would keep room for what it
            // and this callback captured (the verifier, the services' handles) for as
            // long as the socket lives, on every socket.
            tokio::spawn(session::run(
                socket,
                realtime,
                sockets,
                verifier,
                preauthenticated,
            ));
            std::future::ready(())
        })
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
