//! Building and running the service: `App::build` connects its dependencies and binds its
//! listeners (port 0 works, so tests run many side by side); `run_until` serves until a
//! shutdown token is cancelled, then drains within the configured grace period.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use chat_bus::{PersistPublisher, RoomEvents, Sequencer};
use chat_proto::v1::rooms_service_server::RoomsServiceServer;
use chat_runtime::grpc_server::{GrpcServer, GrpcServices};
use chat_runtime::shutdown::CancellationToken;
use chat_runtime::{database, ops, redis_connection};
use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::migrate::Migrator;

use crate::config::Config;
use crate::grpc::RoomsApi;
use crate::outbox::Relay;

/// The rooms database schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/rooms");

/// How long a room event waits for RabbitMQ's confirm. A change waits for it before it is
/// answered, but never fails for want of it: the pending record gets it stored.
const PERSIST_TIMEOUT: Duration = Duration::from_secs(5);

/// Applies pending migrations to the configured database (the `migrate` subcommand).
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    database::migrate(&config.database, &MIGRATOR).await
}

/// A built rooms service, its listeners bound, not yet serving.
pub struct App {
    server: GrpcServer,
    pool: PgPool,
    api: RoomsApi,
    relay: Relay,
    readiness: ops::Readiness,
    grace: Duration,
}

impl App {
    /// Migrates the database, connects Redis and RabbitMQ and binds the gRPC and ops
    /// listeners.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        ops::metrics_handle();
        metrics::counter!(chat_bus::persist::PUBLISH_FAILURES_METRIC).increment(0);
        metrics::counter!(chat_bus::room_events::PUBLISH_FAILURES_METRIC).increment(0);
        let pool = database::connect_and_migrate(&config.database, &MIGRATOR)
            .await
            .context("cannot prepare the rooms database")?;
        let redis = redis_connection::connect(&config.redis)
            .await
            .context("cannot connect to Redis")?;
        let sequencer = Sequencer::new(
            redis.clone(),
            config.redis.redis_key_prefix,
            config.stream.sequencer_config(),
        );
        // Marks when this Redis began holding the deployment's keys, before anything is
        // appended (see `Sequencer::born`).
        sequencer
            .born()
            .await
            .context("cannot read Redis's born marker")?;
        let persist = PersistPublisher::connect(
            config.persist.amqp_url.expose_secret(),
            config.persist.queue_names(),
        )
        .await
        .context("cannot connect to RabbitMQ")?
        .with_confirm_timeout(PERSIST_TIMEOUT);
        let relay = Relay::new(pool.clone(), RoomEvents::new(sequencer, persist));
        let readiness = ops::Readiness::new()
            .with_check("database", {
                let pool = pool.clone();
                move || database::ping(pool.clone())
            })
            .with_check("redis", move || redis_connection::ping(redis.clone()));
        let server = GrpcServer::bind(config.grpc_addr, config.ops.ops_addr).await?;
        Ok(Self {
            server,
            api: RoomsApi::new(pool.clone(), relay.clone()),
            relay,
            pool,
            readiness,
            grace: config.shutdown.grace,
        })
    }

    /// Where gRPC is served.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.server.grpc_addr()
    }

    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub fn ops_addr(&self) -> SocketAddr {
        self.server.ops_addr()
    }

    /// Serves until `shutdown` is cancelled; then reports not ready, stops accepting and
    /// lets in-flight calls finish for at most the grace period.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        // Relays what an earlier process committed and did not relay, then what a
        // failure leaves behind.
        let relay = tokio::spawn(self.relay.run(shutdown.clone()));
        let served = self
            .server
            .serve(
                GrpcServices::new().add_service(RoomsServiceServer::new(self.api)),
                self.readiness,
                shutdown,
                self.grace,
                Vec::new(),
            )
            .await;
        let _ = relay.await;
        self.pool.close().await;
        served
    }
}
