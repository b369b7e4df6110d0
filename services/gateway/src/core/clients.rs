//! gRPC clients of the services behind the gateway. Every channel connects lazily (the
//! gateway starts before or without its dependencies and `/readyz` tells when they
//! answer), reconnects by itself, bounds each call with a timeout, and carries the
//! caller's trace context.

use anyhow::Context as _;
use chat_proto::v1::GetSigningKeysRequest;
use chat_proto::v1::auth_service_client::AuthServiceClient;
use chat_proto::v1::files_service_client::FilesServiceClient;
use chat_proto::v1::history_service_client::HistoryServiceClient;
use chat_proto::v1::notifications_service_client::NotificationsServiceClient;
use chat_proto::v1::rooms_service_client::RoomsServiceClient;
use chat_runtime::grpc_trace::{TracedChannel, traced};
use tonic::transport::{Channel, Endpoint};

use crate::settings::UpstreamConfig;

/// The client of `chat.v1.AuthService`.
pub type AuthClient = AuthServiceClient<TracedChannel>;

/// The client of `chat.v1.RoomsService`.
pub type RoomsClient = RoomsServiceClient<TracedChannel>;

/// The client of `chat.v1.HistoryService`.
pub type HistoryClient = HistoryServiceClient<TracedChannel>;

/// The client of `chat.v1.NotificationsService` (served by history).
pub type NotificationsClient = NotificationsServiceClient<TracedChannel>;

/// The client of `chat.v1.FilesService`.
pub type FilesClient = FilesServiceClient<TracedChannel>;

/// One client per service; cheap to clone (clones share the connection).
#[derive(Clone)]
pub struct Clients {
    pub auth: AuthClient,
    pub rooms: RoomsClient,
    pub history: HistoryClient,
    pub notifications: NotificationsClient,
    pub files: FilesClient,
}

impl Clients {
    /// Creates the channels without connecting; fails only on a malformed URL.
    pub fn connect_lazy(config: &UpstreamConfig) -> anyhow::Result<Self> {
        let auth = lazy_channel(&config.auth_url, config, Some(config.request_timeout))
            .with_context(|| format!("invalid --auth-url `{}`", config.auth_url))?;
        let rooms = lazy_channel(&config.rooms_url, config, Some(config.request_timeout))
            .with_context(|| format!("invalid --rooms-url `{}`", config.rooms_url))?;
        let history = lazy_channel(&config.history_url, config, Some(config.request_timeout))
            .with_context(|| format!("invalid --history-url `{}`", config.history_url))?;
        // Uploads and downloads last as long as the bytes take (the files service bounds
        // an upload that stalls); no whole-call timeout.
        let files = lazy_channel(&config.files_url, config, None)
            .with_context(|| format!("invalid --files-url `{}`", config.files_url))?;
        Ok(Self {
            auth: AuthServiceClient::new(traced(auth)),
            rooms: RoomsServiceClient::new(traced(rooms)),
            history: HistoryServiceClient::new(traced(history.clone())),
            notifications: NotificationsServiceClient::new(traced(history)),
            files: FilesServiceClient::new(traced(files)),
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

fn lazy_channel(
    url: &str,
    config: &UpstreamConfig,
    timeout: Option<std::time::Duration>,
) -> anyhow::Result<Channel> {
    let mut endpoint =
        Endpoint::from_shared(url.to_owned())?.connect_timeout(config.connect_timeout);
    if let Some(timeout) = timeout {
        endpoint = endpoint.timeout(timeout);
    }
    let endpoint = endpoint
        .tcp_nodelay(true)
        .http2_keep_alive_interval(std::time::Duration::from_secs(30))
        .keep_alive_while_idle(true);
    Ok(endpoint.connect_lazy())
}
