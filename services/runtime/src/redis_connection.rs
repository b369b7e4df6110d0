//! A service's connection to Redis: one multiplexed connection that reconnects by itself
//! ([`ConnectionManager`], cheap to clone), with bounded waits so a Redis outage fails
//! calls instead of hanging them, and the readiness check that pings it.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;

use crate::config::RedisConfig;

/// Longest wait for a connection, and for the answer to one command.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Connects to `config.redis_url`. Connecting and each command give up after
/// [`TIMEOUT`]; a lost connection is retried three times, with backoff, per attempt.
pub async fn connect(config: &RedisConfig) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(config.redis_url.expose_secret())?;
    let manager = ConnectionManagerConfig::new()
        .set_connection_timeout(TIMEOUT)
        .set_response_timeout(TIMEOUT)
        .set_number_of_retries(3);
    Ok(ConnectionManager::new_with_config(client, manager).await?)
}

/// A readiness check that sends `PING`.
pub async fn ping(mut connection: ConnectionManager) -> Result<(), String> {
    redis::cmd("PING")
        .query_async::<String>(&mut connection)
        .await
        .map(|_| ())
        .map_err(|err| err.to_string())
}
