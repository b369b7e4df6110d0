//! A service's connection to Redis, one node or a Redis Cluster (`REDIS_CLUSTER`):
//! multiplexed, reconnecting by itself, cheap to clone, with bounded waits so a Redis
//! outage fails calls at once instead of hanging them, and the readiness check that
//! pings it.
//!
//! One node: a [`ConnectionManager`]. Its defaults are unsafe for a server: no response
//! or connection timeout, and a backoff whose multiplier is its `factor` (100 by default),
//! so the second reconnection attempt after a Redis restart waits about a minute, and
//! every call waits with it. Every process connects through [`connect`] instead, which
//! retries quickly and a bounded number of times; when those attempts fail the next call
//! starts new ones, so a Redis that comes back is used within a second.
//!
//! A cluster: a [`ClusterConnection`] that routes each command by its first key's slot,
//! follows `MOVED` and `ASK` redirections and reloads the slot map after a failover, with
//! the same timeouts. Everything the services send is slot-safe: a script's keys share
//! one hash tag, and live events go over sharded pub/sub (`SPUBLISH`, Redis 7), which a
//! single node serves the same way.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ConnectionInfo, IntoConnectionInfo, Pipeline, RedisFuture, Value};
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

/// Number of hash slots of a Redis Cluster.
pub const SLOTS: u16 = 16384;

/// The hash slot of `key` in a Redis Cluster: CRC16 of its hash tag (the part between the
/// first `{` and the next `}`, when not empty) or of the whole key, modulo [`SLOTS`].
pub fn key_slot(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let hashed = key
        .find('{')
        .and_then(|open| {
            let rest = &bytes[open + 1..];
            let close = rest.iter().position(|&b| b == b'}')?;
            (close > 0).then(|| &rest[..close])
        })
        .unwrap_or(bytes);
    crc16::State::<crc16::XMODEM>::calculate(hashed) % SLOTS
}

/// Where a deployment's Redis is: one node, or the seed nodes of a cluster.
#[derive(Debug, Clone)]
pub enum RedisTarget {
    Node(ConnectionInfo),
    Cluster(Vec<ConnectionInfo>),
}

impl RedisTarget {
    /// The target `config` names: the cluster when `REDIS_CLUSTER` is set, else
    /// `REDIS_URL`.
    pub fn from_config(config: &RedisConfig) -> anyhow::Result<Self> {
        if config.redis_cluster.is_empty() {
            return Ok(Self::Node(
                config.redis_url.expose_secret().into_connection_info()?,
            ));
        }
        let seeds = config
            .redis_cluster
            .iter()
            .map(|url| url.expose_secret().trim().into_connection_info())
            .collect::<Result<_, _>>()?;
        Ok(Self::Cluster(seeds))
    }

    /// Opens the connection every process uses for commands and scripts.
    pub async fn connect(&self) -> anyhow::Result<RedisConnection> {
        match self {
            Self::Node(info) => {
                let client = redis::Client::open(info.clone())?;
                let manager = ConnectionManager::new_with_config(client, manager_config()).await?;
                Ok(RedisConnection::Node(manager))
            }
            Self::Cluster(seeds) => {
                let client = ClusterClientBuilder::new(seeds.clone())
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(TIMEOUT)
                    .retries(RETRIES as u32 + 1)
                    .max_retry_wait(RETRY_DELAY.as_millis() as u64)
                    .build()?;
                Ok(RedisConnection::Cluster(
                    client.get_async_connection().await?,
                ))
            }
        }
    }
}

/// A connection to a Redis node or cluster (see the module docs). Cheap to clone; every
/// clone shares the same connections.
#[derive(Clone)]
pub enum RedisConnection {
    Node(ConnectionManager),
    Cluster(ClusterConnection),
}

impl RedisConnection {
    /// Whether this is a Redis Cluster (keys that must live together share a hash tag,
    /// and sweeps that cover every slot visit each).
    pub fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Node(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Node(connection) => connection.req_packed_commands(cmd, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

impl RedisConnection {
    /// Publishes `payload` on each of `channels` with sharded pub/sub (`SPUBLISH`): one
    /// command per channel, as each may live in another slot; they are sent together.
    /// Returns how many subscribers heard each.
    pub async fn publish_each(
        &self,
        channels: &[String],
        payload: &[u8],
    ) -> redis::RedisResult<Vec<i64>> {
        futures::future::try_join_all(channels.iter().map(|channel| {
            let mut connection = self.clone();
            async move {
                redis::cmd("SPUBLISH")
                    .arg(channel)
                    .arg(payload)
                    .query_async::<i64>(&mut connection)
                    .await
            }
        }))
        .await
    }
}

/// Connects to `url` (one node) with [`manager_config`].
pub async fn connect_url(url: &str) -> anyhow::Result<RedisConnection> {
    RedisTarget::Node(url.into_connection_info()?)
        .connect()
        .await
}

/// Connects to the Redis `config` names (see [`RedisTarget::from_config`]).
pub async fn connect(config: &RedisConfig) -> anyhow::Result<RedisConnection> {
    RedisTarget::from_config(config)?.connect().await
}

/// A readiness check that sends `PING` (to one node of a cluster: the connection checks
/// the others as it uses them).
pub async fn ping(mut connection: RedisConnection) -> Result<(), String> {
    redis::cmd("PING")
        .query_async::<String>(&mut connection)
        .await
        .map(|_| ())
        .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_cluster_spec() {
        // The examples of the Redis Cluster specification and `CLUSTER KEYSLOT`.
        assert_eq!(key_slot("123456789"), 0x31C3);
        assert_eq!(key_slot("foo"), 12182);
        assert_eq!(key_slot("{user1000}.following"), key_slot("user1000"));
        assert_eq!(key_slot("foo{}{bar}"), key_slot("foo{}{bar}"));
        assert_ne!(key_slot("foo{}{bar}"), key_slot("bar"));
        assert_eq!(key_slot("foo{{bar}}zap"), key_slot("{bar"));
    }
}
