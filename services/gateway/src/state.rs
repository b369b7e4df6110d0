//! What every request handler shares. Cheap to clone: clients share their connections,
//! the verifier shares its key cache.

use axum::extract::FromRef;
use chat_runtime::token::TokenVerifier;

use crate::client_addr::TrustedProxies;
use crate::clients::Clients;
use crate::realtime::Realtime;

/// The state of the gateway's routers (REST now, WebSocket later).
#[derive(Clone, FromRef)]
pub struct AppState {
    pub clients: Clients,
    /// Verifies access tokens locally with auth's published keys.
    pub verifier: TokenVerifier,
    /// Proxies whose forwarding headers name the real client.
    pub trusted_proxies: TrustedProxies,
    /// The WebSocket sessions, the fan-out hub and the message paths.
    pub realtime: Realtime,
}
