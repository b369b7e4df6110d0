//! Building and running the service: [`App::build`] connects the dependencies and binds
//! both listeners (port 0 works, so tests run many at once); [`App::run_until`] serves
//! until a cancellation, then drains.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use chat_proto::v1::auth_service_server::AuthServiceServer;
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
use crate::grpc::AuthGrpc;
use crate::login_limit::LoginLimits;
use crate::mail::Mailer;
use crate::password::Passwords;
use crate::recovery::Recovery;
use crate::sessions;
use crate::signing::TokenSigner;

/// The migrations of the `chat_auth` database.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/auth");

/// Creates the database when missing and applies pending migrations (the `migrate`
/// subcommand).
pub async fn migrate(database: &DatabaseConfig) -> anyhow::Result<()> {
    chat_runtime::database::migrate(database, &MIGRATOR).await
}

/// A built, not yet serving, auth service.
pub struct App {
    server: GrpcServer,
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
        // Exported from the start, so the reuse alert reads 0 rather than nothing.
        metrics::counter!("auth_refresh_token_reuse_total").increment(0);
        let signer = TokenSigner::from_config(&config.signing, config.access_token_ttl)?;
        let pool = connect_and_migrate(&config.database, &MIGRATOR)
            .await
            .context("connecting to the database")?;
        let redis = redis_connection::connect(&config.redis)
            .await
            .context("connecting to Redis")?;
        let passwords = Passwords::new(config.password_hash_concurrency).await?;
        let limits = LoginLimits::new(
            redis.clone(),
            &config.redis.redis_key_prefix,
            &config.limits,
        );

        let mailer = Mailer::new(&config.mail)?;
        tracing::info!(mail = %mailer.describe(), "mail transport");
        let recovery = Recovery::new(
            pool.clone(),
            passwords.clone(),
            limits.clone(),
            mailer,
            config.recovery.clone(),
        );

        let server = GrpcServer::bind(config.grpc_addr, config.ops.ops_addr).await?;
        let readiness = readiness(pool.clone(), redis);
        tracing::info!(
            grpc_addr = %server.grpc_addr(),
            ops_addr = %server.ops_addr(),
            kid = signer.kid(),
            "auth service built"
        );
        Ok(App {
            server,
            service: AuthGrpc {
                pool,
                passwords,
                signer,
                limits,
                recovery,
                refresh_ttl: config.refresh_token_ttl,
            },
            readiness,
            grace: config.shutdown.grace,
            sweep_interval: config.session_sweep_interval,
        })
    }

    /// Where `chat.v1.AuthService` and gRPC health are served.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.server.grpc_addr()
    }

    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub fn ops_addr(&self) -> SocketAddr {
        self.server.ops_addr()
    }

    /// Serves until `shutdown` is cancelled; then reports not ready, stops accepting, and
    /// waits up to the shutdown grace for calls in flight.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let pool = self.service.pool.clone();
        let sweeper = tokio::spawn(sweep_sessions(
            pool.clone(),
            self.sweep_interval,
            shutdown.clone(),
        ));
        let served = self
            .server
            .serve(
                GrpcServices::new().add_service(AuthServiceServer::new(self.service)),
                self.readiness,
                shutdown,
                self.grace,
                vec![("session sweeper", sweeper)],
            )
            .await;
        pool.close().await;
        tracing::info!("auth service stopped");
        served
    }
}

fn readiness(pool: PgPool, redis: RedisConnection) -> Readiness {
    Readiness::new()
        .with_check("database", move || ping(pool.clone()))
        .with_check("redis", move || redis_connection::ping(redis.clone()))
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
