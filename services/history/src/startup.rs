//! Building and running the service: [`App::build`] connects PostgreSQL, Redis and
//! RabbitMQ (declaring the persist topology) and binds both listeners (port 0 works, so
//! tests run many at once); [`App::run_until`] consumes, sweeps and serves until a
//! cancellation, then drains.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use chat_bus::sequencer::{Sequencer, SequencerConfig};
use chat_proto::v1::history_service_server::HistoryServiceServer;
use chat_proto::v1::notifications_service_server::NotificationsServiceServer;
use chat_runtime::config::DatabaseConfig;
use chat_runtime::database::{connect_and_migrate, ping};
use chat_runtime::grpc_server::{GrpcServer, GrpcServices};
use chat_runtime::ops::{self, Readiness};
use chat_runtime::redis_connection;
use chat_runtime::redis_connection::RedisConnection;
use chat_runtime::shutdown::CancellationToken;
use sqlx::PgPool;
use sqlx::migrate::Migrator;

use crate::config::Config;
use crate::consumer::{ConsumerStatus, PersistConsumer, Session};
use crate::grpc::History;
use crate::notify;
use crate::notify::directory::Directory;
use crate::notify::dispatcher::Dispatcher;
use crate::notify::focus::Focus;
use crate::notify::grpc::NotificationsApi;
use crate::notify::planner::Planner;
use crate::notify::webpush::Pusher;
use crate::store::Store;
use crate::sweeper::PendingSweeper;

/// The migrations of the `chat_history` database.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/history");

/// Creates the database when missing and applies pending migrations (the `migrate`
/// subcommand).
pub async fn migrate(database: &DatabaseConfig) -> anyhow::Result<()> {
    chat_runtime::database::migrate(database, &MIGRATOR).await
}

/// A built, not yet running, history service.
pub struct App {
    server: GrpcServer,
    notifier: Notifier,
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
        zero_counters();
        let pool = connect_and_migrate(&config.database, &MIGRATOR)
            .await
            .context("connecting to the database")?;
        let store = Store::new(pool.clone());
        let redis = redis_connection::connect(&config.redis)
            .await
            .context("connecting to Redis")?;
        let sequencer = Sequencer::new(
            redis.clone(),
            config.redis.redis_key_prefix.clone(),
            SequencerConfig::default(),
        );
        let consumer = PersistConsumer::new(store.clone(), config.consumer.clone());
        let session = consumer.connect().await.context("connecting to RabbitMQ")?;

        let server = GrpcServer::bind(config.grpc_addr, config.ops.ops_addr).await?;
        tracing::info!(
            grpc_addr = %server.grpc_addr(),
            ops_addr = %server.ops_addr(),
            queue = %config.consumer.persist.persist_queue,
            "history service built"
        );

        let consumer_status = consumer.status();
        let notifier = Notifier::build(&config, pool.clone(), redis.clone())?;
        Ok(App {
            server,
            notifier,
            sweeper: PendingSweeper::new(sequencer, store.clone(), config.sweeper.clone()),
            store,
            consumer,
            session,
            readiness: readiness(pool, redis, consumer_status),
            grace: config.shutdown.grace,
        })
    }

    /// Where `chat.v1.HistoryService` and gRPC health are served.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.server.grpc_addr()
    }

    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub fn ops_addr(&self) -> SocketAddr {
        self.server.ops_addr()
    }

    /// Consumes, sweeps and serves until `shutdown` is cancelled; then reports not ready,
    /// stops consuming, stores and acknowledges the batch in hand, and waits up to the
    /// shutdown grace for it and for gRPC calls in flight. Whatever is still unfinished
    /// then is abandoned unacknowledged, so the broker delivers it again.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let consumer = tokio::spawn(self.consumer.run(self.session, shutdown.clone()));
        let sweeper = tokio::spawn(self.sweeper.run(shutdown.clone()));
        let notifier = tokio::spawn(notify::run(
            self.notifier.planner,
            self.notifier.dispatcher,
            self.notifier.interval,
            shutdown.clone(),
        ));
        let history = HistoryServiceServer::new(History::new(self.store.clone()));
        let notifications = NotificationsServiceServer::new(self.notifier.api);
        let served = self
            .server
            .serve(
                GrpcServices::new()
                    .add_service(history)
                    .add_service(notifications),
                self.readiness,
                shutdown,
                self.grace,
                vec![
                    ("consumer", consumer),
                    ("sweeper", sweeper),
                    ("notifier", notifier),
                ],
            )
            .await;
        self.store.pool().close().await;
        tracing::info!("history service stopped");
        served
    }
}

/// The notifier's parts (see [`crate::notify`]).
struct Notifier {
    planner: Planner,
    dispatcher: Dispatcher,
    api: NotificationsApi,
    interval: Duration,
}

impl Notifier {
    fn build(config: &Config, pool: PgPool, redis: RedisConnection) -> anyhow::Result<Self> {
        let pusher = Pusher::from_config(&config.notify)?;
        if pusher.is_none() {
            tracing::info!("no VAPID_PRIVATE_KEY: push notifications are off");
        }
        let directory = Directory::connect_lazy(&config.notify)?;
        let focus = Focus::new(redis, config.redis.redis_key_prefix.clone());
        Ok(Self {
            planner: Planner::new(
                pool.clone(),
                directory.clone(),
                config.notify.delay,
                config.notify.push_ttl,
            ),
            dispatcher: Dispatcher::new(pool.clone(), directory, focus, pusher.clone()),
            api: NotificationsApi::new(pool, pusher),
            interval: config.notify.interval,
        })
    }
}

fn readiness(pool: PgPool, redis: RedisConnection, consumer: ConsumerStatus) -> Readiness {
    Readiness::new()
        .with_check("database", move || ping(pool.clone()))
        .with_check("redis", move || redis_connection::ping(redis.clone()))
        .with_check("rabbitmq", move || std::future::ready(consumer.check()))
}

/// Counters of what goes wrong (or has not happened yet) start at 0, so they are exported
/// before the first occurrence.
fn zero_counters() {
    use crate::consumer::{DEAD_LETTERED_METRIC, DUPLICATES_METRIC, STORE_FAILURES_METRIC};
    use crate::notify::{PUSHES_METRIC, SKIPPED_METRIC};
    for name in [
        DEAD_LETTERED_METRIC,
        DUPLICATES_METRIC,
        STORE_FAILURES_METRIC,
    ] {
        metrics::counter!(name).increment(0);
    }
    for outcome in ["sent", "gone", "failed"] {
        metrics::counter!(PUSHES_METRIC, "outcome" => outcome).increment(0);
    }
    for reason in ["read", "in_view", "level", "push_off", "no_subscription"] {
        metrics::counter!(SKIPPED_METRIC, "reason" => reason).increment(0);
    }
}
