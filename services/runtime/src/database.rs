//! Each service owns one PostgreSQL database: created when missing, migrated at start
//! with the service's own sqlx migrations (also offered as a `migrate` subcommand for a
//! Kubernetes Job).

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::config::DatabaseConfig;

/// Creates the database when missing, connects a pool and applies pending migrations.
pub async fn connect_and_migrate(
    config: &DatabaseConfig,
    migrator: &Migrator,
) -> anyhow::Result<PgPool> {
    let url = config.database_url.expose_secret();
    ensure_database(url).await?;
    let pool = PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await?;
    migrator.run(&pool).await?;
    Ok(pool)
}

/// Creates the database when missing and applies pending migrations, then lets go of it:
/// the `migrate` subcommand of every service.
pub async fn migrate(config: &DatabaseConfig, migrator: &Migrator) -> anyhow::Result<()> {
    connect_and_migrate(config, migrator).await?.close().await;
    Ok(())
}

/// Creates the database named in `url` unless it exists. Safe when several replicas start
/// at once: losing the race to create it is not an error.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    if sqlx::Postgres::database_exists(url).await? {
        return Ok(());
    }
    match sqlx::Postgres::create_database(url).await {
        Ok(()) => Ok(()),
        Err(sqlx::Error::Database(err))
            if matches!(err.code().as_deref(), Some("42P04") | Some("23505")) =>
        {
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

/// A readiness check that runs `SELECT 1`.
pub async fn ping(pool: PgPool) -> Result<(), String> {
    sqlx::query("SELECT 1")
        .execute(&pool)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
