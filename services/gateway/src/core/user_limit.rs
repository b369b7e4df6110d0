//! A rate limit per user shared by every gateway, kept in Redis: two gateways let
//! through the same burst as one. The generic cell rate algorithm (GCRA, what `governor`
//! and redis-cell use) in one Lua script: each user has one key holding the theoretical
//! arrival time of their next request, read and moved atomically with Redis's clock.

use std::num::NonZeroU32;
use std::time::Duration;

use chat_protocol::UserId;
use chat_runtime::redis_connection::RedisConnection;
use redis::Script;

/// `KEYS[1]` the user's key; `ARGV[1]` the emission interval and `ARGV[2]` the burst
/// tolerance, in microseconds. Returns 0 when admitted, else the microseconds to wait.
const GCRA: &str = r#"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allowed_at = tat - tolerance
if now < allowed_at then
  return allowed_at - now
end
local next_tat = tat + interval
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil((next_tat - now) / 1000) + 1)
return 0
"#;

/// A per-user limit of `per_second` requests, with a burst of as many. Cheap to clone.
#[derive(Clone)]
pub struct UserLimit {
    redis: RedisConnection,
    key_prefix: String,
    interval_us: u64,
    tolerance_us: u64,
    script: Script,
}

impl UserLimit {
    /// A limit named `name` (part of the key), under the deployment's key prefix.
    pub fn new(redis: RedisConnection, prefix: &str, name: &str, per_second: NonZeroU32) -> Self {
        let interval_us = 1_000_000 / u64::from(per_second.get());
        Self {
            redis,
            key_prefix: format!("{prefix}limit:{name}:"),
            interval_us,
            tolerance_us: interval_us * u64::from(per_second.get() - 1),
            script: Script::new(GCRA),
        }
    }

    /// `Ok` when `user` may go on, else how long to wait. When Redis cannot be asked the
    /// request goes on (logged): the send it guards needs Redis anyway and says so.
    pub async fn check(&self, user: UserId) -> Result<(), Duration> {
        let wait: redis::RedisResult<u64> = self
            .script
            .key(format!("{}{user}", self.key_prefix))
            .arg(self.interval_us)
            .arg(self.tolerance_us)
            .invoke_async(&mut self.redis.clone())
            .await;
        match wait {
            Ok(0) => Ok(()),
            Ok(wait) => Err(Duration::from_micros(wait)),
            Err(err) => {
                tracing::warn!(error = %err, "cannot check the rate limit; letting the request through");
                Ok(())
            }
        }
    }
}
