//! Building and running the gateway: `App::build` binds the listener (port 0 works, so
//! tests run many gateways side by side) and wires clients, verifier and routes;
//! `run_until` serves until the token is cancelled, then drains within the grace period.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use chat_runtime::ops::{self, Readiness};
use chat_runtime::shutdown::CancellationToken;
use chat_runtime::token::{AuthKeySource, TokenVerifier};
use tokio::net::TcpListener;

use crate::client_addr::TrustedProxies;
use crate::core::clients::Clients;
use crate::core::outbox::Closing;
use crate::core::realtime::Realtime;
use crate::core::sockets::Sockets;
use crate::settings::Config;
use crate::state::{AppState, RestLimits};
use crate::{http, server, ws};

/// A gateway with its listener bound, ready to serve.
pub struct App {
    listener: TcpListener,
    http_addr: SocketAddr,
    router: Router,
    readiness: Readiness,
    realtime: Realtime,
    sockets: Sockets,
    grace: Duration,
    limits: server::Limits,
}

impl App {
    /// Binds the HTTP listener and prepares every route. Services are not contacted here:
    /// channels connect on first use, so the gateway starts even while they are down.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Install the recorder before the first request records anything.
        ops::metrics_handle();
        zero_counters();

        let clients = Clients::connect_lazy(&config.upstreams)?;
        let verifier = TokenVerifier::new(
            AuthKeySource(clients.auth.clone()),
            config.upstreams.keys_refetch_interval,
        );
        let realtime = Realtime::connect(
            &config.bus,
            &config.ws,
            clients.auth.clone(),
            clients.rooms.clone(),
            clients.history.clone(),
            clients.files.clone(),
        )
        .await?;
        let sockets = Sockets::new(
            config.ws.clone(),
            config.http.origins().map(str::to_owned).collect(),
        );
        let readiness = Readiness::new()
            .with_check("auth", {
                let clients = clients.clone();
                move || {
                    let clients = clients.clone();
                    async move { clients.check_auth().await }
                }
            })
            .with_check("redis", {
                let realtime = realtime.clone();
                move || {
                    let realtime = realtime.clone();
                    async move { realtime.check().await }
                }
            })
            .with_check("rabbitmq", {
                let realtime = realtime.clone();
                move || {
                    let realtime = realtime.clone();
                    async move { realtime.messages().check_broker().await }
                }
            });
        let state = AppState {
            clients,
            verifier,
            trusted_proxies: TrustedProxies::new(config.http.trusted_proxies.iter().copied()),
            realtime: realtime.clone(),
            sockets: sockets.clone(),
            secure_cookies: config.http.secure_cookies,
            rest_limits: RestLimits {
                reads: realtime.user_limit("rest-read", config.http.rest_reads_per_second),
                writes: realtime.user_limit("rest-write", config.http.rest_writes_per_second),
            },
        };
        let router = http::router(state, ws::router(), readiness.clone(), &config.http)?;

        let listener = server::bind(config.http_addr, config.http.listen_backlog)
            .with_context(|| format!("cannot bind the HTTP listener to {}", config.http_addr))?;
        let http_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            http_addr,
            router,
            readiness,
            realtime,
            sockets,
            grace: config.shutdown.grace,
            limits: server::Limits {
                header_timeout: config.http.header_timeout,
                body_timeout: config.http.body_timeout,
            },
        })
    }

    /// The bound address of the client-facing listener.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The real-time core (hub, message paths), e.g. to count open sockets.
    pub fn realtime(&self) -> &Realtime {
        &self.realtime
    }

    /// Serves until `shutdown` is cancelled; then `/readyz` reports draining, no new
    /// connections are accepted, every WebSocket is told to reconnect elsewhere (after
    /// what was queued for it), and in-flight work gets the grace period to finish.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(addr = %self.http_addr, "gateway listening");
        let readiness = self.readiness.clone();
        let signal = shutdown.clone();
        let sockets = tokio::spawn({
            let (realtime, sockets, readiness, shutdown, grace) = (
                self.realtime.clone(),
                self.sockets.clone(),
                self.readiness.clone(),
                shutdown.clone(),
                self.grace,
            );
            async move {
                shutdown.cancelled().await;
                readiness.set_draining();
                tracing::info!("draining WebSockets");
                // Draining first: a socket joining the hub after close_all sees it.
                sockets.begin_drain();
                realtime.hub().close_all(Closing::Shutdown);
                sockets.drained(grace).await;
                realtime.stop();
            }
        });
        let serve = server::serve(self.listener, self.router, self.limits, async move {
            signal.cancelled().await;
            readiness.set_draining();
            tracing::info!("draining HTTP connections");
        });
        tokio::pin!(serve);

        let grace = self.grace;
        tokio::select! {
            () = &mut serve => {}
            () = async {
                shutdown.cancelled().await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(?grace, "grace period over; abandoning open connections");
            }
        }
        // Upgraded sockets are not HTTP connections any more: wait for them separately.
        let _ = sockets.await;
        Ok(())
    }
}

/// Counters of what goes wrong start at 0, so they are exported (alerts and dashboards
/// can tell "none" from "not measured") before the first failure.
fn zero_counters() {
    for code in chat_protocol::ErrorCode::ALL {
        metrics::counter!(crate::client_error::FRAME_ERRORS_METRIC, "code" => code.as_str())
            .increment(0);
    }
    metrics::counter!(crate::core::fanout::SLOW_CONSUMER_CLOSES_METRIC).increment(0);
    metrics::counter!(crate::core::sockets::BUSY_CLOSES_METRIC).increment(0);
    metrics::counter!(crate::core::fanout::SUBSCRIBER_BEHIND_METRIC).increment(0);
    metrics::counter!(chat_bus::persist::PUBLISH_FAILURES_METRIC).increment(0);
    metrics::counter!(chat_bus::room_events::PUBLISH_FAILURES_METRIC).increment(0);
}
