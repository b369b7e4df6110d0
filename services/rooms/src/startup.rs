//! Building and running the service: `App::build` connects its dependencies and binds its
//! listeners (port 0 works, so tests run many side by side); `run_until` serves until a
//! shutdown token is cancelled, then drains within the configured grace period.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use chat_bus::{PersistPublisher, QueueNames, RoomEvents, Sequencer, SequencerConfig};
use chat_proto::v1::rooms_service_server::RoomsServiceServer;
use chat_runtime::shutdown::CancellationToken;
use chat_runtime::{database, grpc_trace, ops};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use crate::config::Config;
use crate::events::Announcer;
use crate::grpc::RoomsApi;

/// The rooms database schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/rooms");

/// How long one Redis command (a publication, a readiness ping) may take before it fails.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a room event waits for RabbitMQ's confirm. A change waits for it before it is
/// answered, but never fails for want of it: the pending record gets it stored.
const PERSIST_TIMEOUT: Duration = Duration::from_secs(5);

/// Applies pending migrations to the configured database (the `migrate` subcommand).
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let pool = database::connect_and_migrate(&config.database, &MIGRATOR).await?;
    pool.close().await;
    Ok(())
}

/// A built rooms service, its listeners bound, not yet serving.
pub struct App {
    grpc_listener: TcpListener,
    ops_listener: TcpListener,
    pool: PgPool,
    api: RoomsApi,
    readiness: ops::Readiness,
    grace: Duration,
}

impl App {
    /// Migrates the database, connects Redis and RabbitMQ and binds the gRPC and ops
    /// listeners.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        ops::metrics_handle();
        let pool = database::connect_and_migrate(&config.database, &MIGRATOR)
            .await
            .context("cannot prepare the rooms database")?;
        let client =
            redis::Client::open(config.redis_url.expose_secret()).context("invalid Redis URL")?;
        let redis = ConnectionManager::new_with_config(
            client,
            ConnectionManagerConfig::new()
                .set_connection_timeout(REDIS_TIMEOUT)
                .set_response_timeout(REDIS_TIMEOUT),
        )
        .await
        .context("cannot connect to Redis")?;
        let sequencer = Sequencer::new(
            redis.clone(),
            config.redis_key_prefix,
            SequencerConfig {
                stream_max_len: config.stream_max_len,
                ..SequencerConfig::default()
            },
        );
        let persist = PersistPublisher::connect(
            config.amqp_url.expose_secret(),
            QueueNames::for_queue(&config.persist_queue),
        )
        .await
        .context("cannot connect to RabbitMQ")?
        .with_confirm_timeout(PERSIST_TIMEOUT);
        let announcer = Announcer::new(RoomEvents::new(sequencer, persist));
        let readiness = ops::Readiness::new()
            .with_check("database", {
                let pool = pool.clone();
                move || database::ping(pool.clone())
            })
            .with_check("redis", move || ping_redis(redis.clone()));
        let grpc_listener = TcpListener::bind(config.grpc_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.grpc_addr))?;
        let ops_listener = TcpListener::bind(config.ops.ops_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.ops.ops_addr))?;
        Ok(Self {
            grpc_listener,
            ops_listener,
            api: RoomsApi::new(pool.clone(), announcer),
            pool,
            readiness,
            grace: config.shutdown.grace,
        })
    }

    /// Where gRPC is served.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub fn ops_addr(&self) -> SocketAddr {
        self.ops_listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` is cancelled; then reports not ready, stops accepting and
    /// lets in-flight calls finish for at most the grace period.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            grpc_listener,
            ops_listener,
            pool,
            api,
            readiness,
            grace,
        } = self;
        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_serving::<RoomsServiceServer<RoomsApi>>().await;

        let ops_stop = CancellationToken::new();
        let ops_server = tokio::spawn(ops::serve(
            ops_listener,
            ops::router(readiness.clone()),
            ops_stop.clone(),
        ));

        let draining = {
            let shutdown = shutdown.clone();
            async move {
                shutdown.cancelled().await;
                readiness.set_draining();
                health
                    .set_not_serving::<RoomsServiceServer<RoomsApi>>()
                    .await;
                tracing::info!("draining");
            }
        };
        let grpc = tonic::transport::Server::builder()
            .layer(grpc_trace::server_layer())
            .add_service(health_service)
            .add_service(RoomsServiceServer::new(api))
            .serve_with_incoming_shutdown(TcpListenerStream::new(grpc_listener), draining);
        let grace_elapsed = async {
            shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        };
        let served = tokio::select! {
            served = grpc => served.context("gRPC server failed"),
            () = grace_elapsed => {
                tracing::warn!(?grace, "calls still running after the grace period are abandoned");
                Ok(())
            }
        };

        ops_stop.cancel();
        match ops_server.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(error = %err, "ops listener failed"),
            Err(err) => tracing::error!(error = %err, "ops listener panicked"),
        }
        pool.close().await;
        served
    }
}

async fn ping_redis(mut connection: ConnectionManager) -> Result<(), String> {
    redis::cmd("PING")
        .query_async::<String>(&mut connection)
        .await
        .map(|_| ())
        .map_err(|err| err.to_string())
}
