//! What every request handler shares, as substates each handler takes the part of it
//! needs from (axum's `FromRef`). Cheap to clone.

use axum::extract::FromRef;
use chat_runtime::token::TokenVerifier;

use crate::client_addr::TrustedProxies;
use crate::core::clients::Clients;
use crate::core::realtime::Realtime;
use crate::core::sockets::Sockets;
use crate::core::user_limit::UserLimit;
use crate::settings::CookieSecurity;

/// The state of the gateway's routers.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub clients: Clients,
    /// Verifies access tokens locally with auth's published keys.
    pub verifier: TokenVerifier,
    /// Proxies whose forwarding headers name the real client.
    pub trusted_proxies: TrustedProxies,
    /// The fan-out hub, the message paths and the rooms facade.
    pub realtime: Realtime,
    /// This gateway's open sockets.
    pub sockets: Sockets,
    /// When the refresh-token cookie is marked `Secure`.
    pub secure_cookies: CookieSecurity,
    /// How often one user may call the API.
    pub rest_limits: RestLimits,
}

/// Per-user rates of API calls, shared by every gateway: reads and writes apart.
#[derive(Clone)]
pub struct RestLimits {
    pub reads: UserLimit,
    pub writes: UserLimit,
}
