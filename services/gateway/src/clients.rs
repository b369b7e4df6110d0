//! gRPC clients of the services behind the gateway. Every channel connects lazily (the
//! gateway starts before or without its dependencies and `/readyz` tells when they
//! answer), reconnects by itself, bounds each call with a timeout, and carries the
//! caller's trace context.

use anyhow::Context as _;
use chat_proto::v1::GetSigningKeysRequest;
use chat_proto::v1::auth_service_client::AuthServiceClient;
use chat_runtime::grpc_trace::{TracedChannel, traced};
use tonic::transport::{Channel, Endpoint};

use crate::config::UpstreamConfig;

/// The client of `chat.v1.AuthService`.
pub type AuthClient = AuthServiceClient<TracedChannel>;

/// One client per service; cheap to clone (clones share the connection).
#[derive(Clone)]
pub struct Clients {
    pub auth: AuthClient,
}

impl Clients {
    /// Creates the channels without connecting; fails only on a malformed URL.
    pub fn connect_lazy(config: &UpstreamConfig) -> anyhow::Result<Self> {
        let auth = lazy_channel(&config.auth_url, config)
            .with_context(|| format!("invalid --auth-url `{}`", config.auth_url))?;
        Ok(Self {
            auth: AuthServiceClient::new(traced(auth)),
        })
    }

    /// Whether auth answers; fetching the signing keys also proves it can serve what the
    /// gateway needs to verify tokens.
    pub async fn check_auth(&self) -> Result<(), String> {
        self.auth
            .clone()
            .get_signing_keys(GetSigningKeysRequest {})
            .await
            .map(|_| ())
            .map_err(|status| format!("{:?}: {}", status.code(), status.message()))
    }
}

fn lazy_channel(url: &str, config: &UpstreamConfig) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(url.to_owned())?
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(std::time::Duration::from_secs(30))
        .keep_alive_while_idle(true);
    Ok(endpoint.connect_lazy())
}
