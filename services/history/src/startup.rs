//! Building and running the service: [`App::build`] connects PostgreSQL, Redis and
//! RabbitMQ (declaring the persist topology) and binds both listeners (port 0 works, so
//! tests run many at once); [`App::run_until`] consumes, sweeps and serves until a
//! cancellation, then drains.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use chat_bus::sequencer::{Sequencer, SequencerConfig};
use chat_proto::v1::history_service_server::HistoryServiceServer;
use chat_runtime::config::DatabaseConfig;
use chat_runtime::database::{connect_and_migrate, ping};
use chat_runtime::ops::{self, Readiness};
use chat_runtime::shutdown::CancellationToken;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::config::Config;
use crate::consumer::{PersistConsumer, Session};
use crate::grpc::History;
use crate::store::Store;
use crate::sweeper::PendingSweeper;

/// The migrations of the `chat_history` database.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/history");

/// Creates the database when missing and applies pending migrations (the `migrate`
/// subcommand).
pub async fn migrate(database: &DatabaseConfig) -> anyhow::Result<()> {
    let pool = connect_and_migrate(database, &MIGRATOR).await?;
    pool.close().await;
    Ok(())
}

/// A built, not yet running, history service.
pub struct App {
    grpc_listener: TcpListener,
    ops_listener: TcpListener,
    grpc_addr: SocketAddr,
    ops_addr: SocketAddr,
    store: Store,
    consumer: PersistConsumer,
    session: Session,
    sweeper: PendingSweeper,
    readiness: Readiness,
    grace: Duration,
}

impl App {
    /// Connects PostgreSQL (creating and migrating the database), Redis and RabbitMQ
    /// (declaring the persist queue, so publishes made after this returns are kept), and
    /// binds the gRPC and ops listeners.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        ops::metrics_handle();
        let pool = connect_and_migrate(&config.database, &MIGRATOR)
            .await
            .context("connecting to the database")?;
        let store = Store::new(pool.clone());
        let redis = connect_redis(config.redis_url.expose_secret())
            .await
            .context("connecting to Redis")?;
        let sequencer = Sequencer::new(
            redis.clone(),
            config.redis_key_prefix.clone(),
            SequencerConfig::default(),
        );
        let consumer = PersistConsumer::new(store.clone(), config.consumer.clone());
        let session = consumer.connect().await.context("connecting to RabbitMQ")?;

        let grpc_listener = TcpListener::bind(config.grpc_addr)
            .await
            .with_context(|| format!("binding the gRPC listener {}", config.grpc_addr))?;
        let ops_listener = TcpListener::bind(config.ops.ops_addr)
            .await
            .with_context(|| format!("binding the ops listener {}", config.ops.ops_addr))?;
        let grpc_addr = grpc_listener.local_addr()?;
        let ops_addr = ops_listener.local_addr()?;
        tracing::info!(%grpc_addr, %ops_addr, queue = %config.consumer.persist_queue, "history service built");

        Ok(App {
            grpc_listener,
            ops_listener,
            grpc_addr,
            ops_addr,
            sweeper: PendingSweeper::new(sequencer, store.clone(), config.sweeper.clone()),
            store,
            consumer,
            session,
            readiness: readiness(pool, redis),
            grace: config.shutdown.grace,
        })
    }

    /// Where `chat.v1.HistoryService` and gRPC health are served.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub fn ops_addr(&self) -> SocketAddr {
        self.ops_addr
    }

    /// Consumes, sweeps and serves until `shutdown` is cancelled; then reports not ready,
    /// stops consuming, stores and acknowledges the batch in hand, and waits up to the
    /// shutdown grace for it and for gRPC calls in flight. Whatever is still unfinished
    /// then is abandoned unacknowledged, so the broker delivers it again.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_serving::<HistoryServiceServer<History>>().await;

        let ops_shutdown = CancellationToken::new();
        let ops_task = tokio::spawn(ops::serve(
            self.ops_listener,
            ops::router(self.readiness.clone()),
            ops_shutdown.clone(),
        ));
        let consumer = tokio::spawn(self.consumer.run(self.session, shutdown.clone()));
        let sweeper = tokio::spawn(self.sweeper.run(shutdown.clone()));

        let draining = {
            let shutdown = shutdown.clone();
            let readiness = self.readiness.clone();
            async move {
                shutdown.cancelled().await;
                readiness.set_draining();
                health
                    .set_not_serving::<HistoryServiceServer<History>>()
                    .await;
                tracing::info!("draining: finishing the batch in hand and gRPC calls");
            }
        };
        let incoming = TcpIncoming::from(self.grpc_listener).with_nodelay(Some(true));
        let server = Server::builder()
            .layer(chat_runtime::grpc_trace::server_layer())
            .add_service(health_service)
            .add_service(HistoryServiceServer::new(History::new(self.store.clone())))
            .serve_with_incoming_shutdown(incoming, draining);

        let mut server = tokio::spawn(server);

        let ended_early = tokio::select! {
            () = shutdown.cancelled() => None,
            // The server ends by itself only on error: stop the rest too.
            ended = &mut server => Some(flatten(ended)),
        };
        shutdown.cancel();
        let deadline = tokio::time::Instant::now() + self.grace;
        let served = match ended_early {
            Some(served) => served,
            None => finish_by(deadline, "gRPC server", server)
                .await
                .map_or(Ok(()), flatten),
        };
        finish_by(deadline, "consumer", consumer).await;
        finish_by(deadline, "sweeper", sweeper).await;

        ops_shutdown.cancel();
        match ops_task.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(%err, "ops listener failed"),
            Err(err) => tracing::error!(%err, "ops listener task failed"),
        }
        self.store.pool().close().await;
        tracing::info!("history service stopped");
        served
    }
}

/// Waits for a task until `deadline`, then abandons it.
async fn finish_by<T>(
    deadline: tokio::time::Instant,
    name: &str,
    task: JoinHandle<T>,
) -> Option<Result<T, tokio::task::JoinError>> {
    let abort = task.abort_handle();
    match tokio::time::timeout_at(deadline, task).await {
        Ok(ended) => Some(ended),
        Err(_) => {
            tracing::warn!(
                task = name,
                "still busy after the shutdown grace; abandoning it"
            );
            abort.abort();
            None
        }
    }
}

fn flatten(
    ended: Result<Result<(), tonic::transport::Error>, tokio::task::JoinError>,
) -> anyhow::Result<()> {
    ended.context("gRPC server task")?.context("gRPC server")
}

async fn connect_redis(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Duration::from_secs(2))
        .set_response_timeout(Duration::from_secs(2))
        .set_number_of_retries(3);
    Ok(ConnectionManager::new_with_config(client, config).await?)
}

fn readiness(pool: PgPool, redis: ConnectionManager) -> Readiness {
    Readiness::new()
        .with_check("database", move || ping(pool.clone()))
        .with_check("redis", move || {
            let mut redis = redis.clone();
            async move {
                redis::cmd("PING")
                    .query_async::<String>(&mut redis)
                    .await
                    .map(|_| ())
                    .map_err(|err| err.to_string())
            }
        })
}
