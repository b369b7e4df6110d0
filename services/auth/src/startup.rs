//! Building and running the service: [`App::build`] connects the dependencies and binds
//! both listeners (port 0 works, so tests run many at once); [`App::run_until`] serves
//! until a cancellation, then drains.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use chat_proto::v1::auth_service_server::AuthServiceServer;
use chat_runtime::config::DatabaseConfig;
use chat_runtime::database::{connect_and_migrate, ping};
use chat_runtime::ops::{self, Readiness};
use chat_runtime::shutdown::CancellationToken;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::config::Config;
use crate::grpc::AuthGrpc;
use crate::login_limit::LoginLimits;
use crate::password::Passwords;
use crate::sessions;
use crate::signing::TokenSigner;

/// The migrations of the `chat_auth` database.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/auth");

/// Creates the database when missing and applies pending migrations (the `migrate`
/// subcommand).
pub async fn migrate(database: &DatabaseConfig) -> anyhow::Result<()> {
    let pool = connect_and_migrate(database, &MIGRATOR).await?;
    pool.close().await;
    Ok(())
}

/// A built, not yet serving, auth service.
pub struct App {
    grpc_listener: TcpListener,
    ops_listener: TcpListener,
    grpc_addr: SocketAddr,
    ops_addr: SocketAddr,
    service: AuthGrpc,
    readiness: Readiness,
    grace: Duration,
    sweep_interval: Duration,
}

impl App {
    /// Loads the signing key, connects PostgreSQL (creating and migrating the database)
    /// and Redis, and binds the gRPC and ops listeners.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        ops::metrics_handle();
        let signer = TokenSigner::from_config(&config.signing, config.access_token_ttl)?;
        let pool = connect_and_migrate(&config.database, &MIGRATOR)
            .await
            .context("connecting to the database")?;
        let redis = connect_redis(config.redis_url.expose_secret())
            .await
            .context("connecting to Redis")?;
        let passwords = Passwords::new(config.password_hash_concurrency).await?;
        let limits = LoginLimits::new(redis.clone(), &config.redis_key_prefix, &config.limits);

        let grpc_listener = TcpListener::bind(config.grpc_addr)
            .await
            .with_context(|| format!("binding the gRPC listener {}", config.grpc_addr))?;
        let ops_listener = TcpListener::bind(config.ops.ops_addr)
            .await
            .with_context(|| format!("binding the ops listener {}", config.ops.ops_addr))?;
        let grpc_addr = grpc_listener.local_addr()?;
        let ops_addr = ops_listener.local_addr()?;

        let readiness = readiness(pool.clone(), redis);
        tracing::info!(%grpc_addr, %ops_addr, kid = signer.kid(), "auth service built");
        Ok(App {
            grpc_listener,
            ops_listener,
            grpc_addr,
            ops_addr,
            service: AuthGrpc {
                pool,
                passwords,
                signer,
                limits,
                refresh_ttl: config.refresh_token_ttl,
            },
            readiness,
            grace: config.shutdown.grace,
            sweep_interval: config.session_sweep_interval,
        })
    }

    /// Where `chat.v1.AuthService` and gRPC health are served.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub fn ops_addr(&self) -> SocketAddr {
        self.ops_addr
    }

    /// Serves until `shutdown` is cancelled; then reports not ready, stops accepting, and
    /// waits up to the shutdown grace for calls in flight.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_serving::<AuthServiceServer<AuthGrpc>>().await;

        let ops_shutdown = CancellationToken::new();
        let ops_task = tokio::spawn(ops::serve(
            self.ops_listener,
            ops::router(self.readiness.clone()),
            ops_shutdown.clone(),
        ));
        let sweeper = tokio::spawn(sweep_sessions(
            self.service.pool.clone(),
            self.sweep_interval,
            shutdown.clone(),
        ));

        let draining = {
            let shutdown = shutdown.clone();
            let readiness = self.readiness.clone();
            async move {
                shutdown.cancelled().await;
                readiness.set_draining();
                health
                    .set_not_serving::<AuthServiceServer<AuthGrpc>>()
                    .await;
                tracing::info!("draining gRPC calls");
            }
        };
        let pool = self.service.pool.clone();
        let incoming = TcpIncoming::from(self.grpc_listener).with_nodelay(Some(true));
        let server = Server::builder()
            .layer(chat_runtime::grpc_trace::server_layer())
            .add_service(health_service)
            .add_service(AuthServiceServer::new(self.service))
            .serve_with_incoming_shutdown(incoming, draining);

        let grace = self.grace;
        let served = tokio::select! {
            served = server => served.context("gRPC server"),
            () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(?grace, "calls still in flight after the shutdown grace; abandoning them");
                Ok(())
            }
        };

        ops_shutdown.cancel();
        match ops_task.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(%err, "ops listener failed"),
            Err(err) => tracing::error!(%err, "ops listener task failed"),
        }
        sweeper.abort();
        pool.close().await;
        tracing::info!("auth service stopped");
        served
    }
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

/// Deletes expired sessions every `interval` until `shutdown`.
async fn sweep_sessions(pool: PgPool, interval: Duration, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(interval.max(Duration::from_secs(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        match sessions::sweep_expired(&pool).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "deleted expired sessions and refresh tokens"),
            Err(err) => tracing::warn!(error = %err, "sweeping expired sessions failed"),
        }
    }
}
