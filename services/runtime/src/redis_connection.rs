//! A service's connection to Redis: one multiplexed connection that reconnects by itself
//! ([`ConnectionManager`], cheap to clone), with bounded waits so a Redis outage fails
//! calls at once instead of hanging them, and the readiness check that pings it.
//!
//! The manager's defaults are unsafe for a server: no response or connection timeout,
//! and a backoff whose multiplier is its `factor` (100 by default), so the second
//! reconnection attempt after a Redis restart waits about a minute, and every call waits
//! with it. Every process connects through [`connect`] instead, which retries quickly
//! and a bounded number of times; when those attempts fail the next call starts new
//! ones, so a Redis that comes back is used within a second.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;

use crate::config::RedisConfig;

/// Longest wait for the answer to one command.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// Longest wait for a TCP connection and its handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Reconnection attempts per outage noticed; a call waiting on them gives up after
/// about `RETRIES x (CONNECT_TIMEOUT + RETRY_DELAY)` and the next call tries again.
const RETRIES: usize = 2;
/// Longest pause between two reconnection attempts (jittered).
const RETRY_DELAY: Duration = Duration::from_millis(300);

/// The manager settings every process uses (see the module docs).
pub fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(TIMEOUT)
        .set_number_of_retries(RETRIES)
        .set_exponent_base(2)
        .set_factor(2)
        .set_max_delay(RETRY_DELAY.as_millis() as u64)
}

/// Connects to `url` with [`manager_config`].
pub async fn connect_url(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url)?;
    Ok(ConnectionManager::new_with_config(client, manager_config()).await?)
}

/// Connects to `config.redis_url` with [`manager_config`].
pub async fn connect(config: &RedisConfig) -> anyhow::Result<ConnectionManager> {
    connect_url(config.redis_url.expose_secret()).await
}

/// A readiness check that sends `PING`.
pub async fn ping(mut connection: ConnectionManager) -> Result<(), String> {
    redis::cmd("PING")
        .query_async::<String>(&mut connection)
        .await
        .map(|_| ())
        .map_err(|err| err.to_string())
}
