//! Login-attempt limits shared by every replica through Redis, shaped after OWASP's
//! authentication guidance: an attacker must not be able to lock the owner out.
//!
//! Fixed-window counters, each a Redis key that expires when its window ends (the window
//! starts with the first counted attempt):
//! - per account and client address: attempts that have not (yet) succeeded, strictly
//!   limited. The attempt is counted before the password is checked, so concurrent
//!   guesses cannot slip past the limit, and a successful login deletes the counter: in
//!   effect it counts failures. Over the limit that address is refused for that account;
//!   every other address is not.
//! - per account, from every address: failures slow the account's logins down instead
//!   of refusing them. Past a threshold each attempt waits a little longer (up to
//!   [`MAX_ACCOUNT_DELAY`]) before its password is checked, so a guessing campaign spread
//!   over many addresses crawls while the owner still gets in.
//! - per client address: every attempt, failed or not; and, apart, every registration.
//!
//! Over a limit the login is refused before any password work, with the time left in the
//! window. Account keys hash the login (or user id) so no email sits in Redis. IPv6
//! addresses are counted per /64, the block one subscriber usually holds.

use std::net::IpAddr;
use std::time::Duration;

use chat_runtime::redis_connection::RedisConnection;
use redis::Script;
use sha2::{Digest, Sha256};

use crate::config::LoginLimitConfig;
use crate::error::Error;

/// Increments a counter and starts its window on the first hit; returns the count and the
/// milliseconds left in the window. Atomic, so concurrent replicas never lose the expiry.
const HIT: &str = r"
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
";

/// Which account an attempt is for.
#[derive(Debug, Clone, Copy)]
pub enum Account<'a> {
    /// A known user: every login name of theirs shares one counter.
    User(uuid::Uuid),
    /// No such user: counted by the normalized login, so probing unknown names is limited
    /// (and looks) the same.
    UnknownLogin(&'a str),
}

/// The longest an attempt on an account under attack waits before its password is checked.
pub const MAX_ACCOUNT_DELAY: Duration = Duration::from_secs(5);
/// What each failure past the threshold adds to the wait.
const DELAY_STEP: Duration = Duration::from_millis(250);

/// The shared login counters.
#[derive(Clone)]
pub struct LoginLimits {
    redis: RedisConnection,
    prefix: String,
    max_account_failures: u32,
    delay_after_account_failures: u32,
    max_address_attempts: u32,
    max_registrations_per_address: u32,
    window: Duration,
    script: Script,
}

impl LoginLimits {
    pub fn new(redis: RedisConnection, key_prefix: &str, config: &LoginLimitConfig) -> Self {
        Self {
            redis,
            prefix: format!("{key_prefix}auth:login:"),
            max_account_failures: config.max_account_failures,
            delay_after_account_failures: config.delay_after_account_failures,
            max_address_attempts: config.max_address_attempts,
            max_registrations_per_address: config.max_registrations_per_address,
            window: config.window,
            script: Script::new(HIT),
        }
    }

    /// Counts an attempt from `ip_address`; refuses it when the address is over its limit.
    /// An empty or unparsable address is not limited (the gateway always sends one).
    #[tracing::instrument(skip(self))]
    pub async fn check_address(&self, ip_address: &str) -> Result<(), Error> {
        let Some(address) = address_key(ip_address) else {
            tracing::warn!(
                "login attempt without a client address; only the account limit applies"
            );
            return Ok(());
        };
        let key = format!("{}address:{address}", self.prefix);
        self.hit(&key, self.max_address_attempts).await
    }

    /// Counts a registration from `ip_address`; refuses it past the address's limit of new
    /// accounts per window. An address that cannot be read is not limited.
    #[tracing::instrument(skip(self))]
    pub async fn check_registration(&self, ip_address: &str) -> Result<(), Error> {
        let Some(address) = address_key(ip_address) else {
            tracing::warn!("registration without a client address; not limited");
            return Ok(());
        };
        let key = format!("{}registration:{address}", self.prefix);
        self.hit(&key, self.max_registrations_per_address).await
    }

    /// Counts an attempt on `account` from `ip_address`; refuses it when that address is
    /// over the account's limit, and otherwise holds it back as long as it should wait
    /// (not at all, unless the account as a whole is failing a lot).
    #[tracing::instrument(skip(self))]
    pub async fn check_account(&self, account: Account<'_>, ip_address: &str) -> Result<(), Error> {
        let pair = self.pair_key(account, ip_address);
        self.hit(&pair, self.max_account_failures).await?;
        let (failures, _) = self.count(&self.account_key(account)).await?;
        let past = failures.saturating_sub(u64::from(self.delay_after_account_failures));
        let delay = DELAY_STEP
            .saturating_mul(u32::try_from(past).unwrap_or(u32::MAX))
            .min(MAX_ACCOUNT_DELAY);
        if !delay.is_zero() {
            metrics::counter!("auth_login_delayed_total").increment(1);
            tokio::time::sleep(delay).await;
        }
        Ok(())
    }

    /// Forgets the account's failures (from this address, and everywhere) after a
    /// successful login.
    #[tracing::instrument(skip(self))]
    pub async fn clear_account(&self, account: Account<'_>, ip_address: &str) -> Result<(), Error> {
        let mut redis = self.redis.clone();
        redis::cmd("DEL")
            .arg(self.pair_key(account, ip_address))
            .arg(self.account_key(account))
            .exec_async(&mut redis)
            .await?;
        Ok(())
    }

    async fn hit(&self, key: &str, limit: u32) -> Result<(), Error> {
        let (count, ttl_ms) = self.count(key).await?;
        if count > u64::from(limit) {
            let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
            let retry_after = Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(window_ms));
            // Whole seconds, rounded up: a client that waits this long is let in.
            let retry_after = Duration::from_secs(retry_after.as_secs_f64().ceil().max(1.0) as u64);
            metrics::counter!("auth_login_limited_total").increment(1);
            return Err(Error::TooManyAttempts { retry_after });
        }
        Ok(())
    }

    /// Counts one more on `key`: the count in the window and the milliseconds left.
    async fn count(&self, key: &str) -> Result<(u64, i64), Error> {
        let window_ms = u64::try_from(self.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut redis = self.redis.clone();
        let counted: (u64, i64) = self
            .script
            .key(key)
            .arg(window_ms)
            .invoke_async(&mut redis)
            .await?;
        Ok(counted)
    }

    fn pair_key(&self, account: Account<'_>, ip_address: &str) -> String {
        let address = address_key(ip_address).unwrap_or_default();
        format!("{}:from:{address}", self.account_key(account))
    }

    fn account_key(&self, account: Account<'_>) -> String {
        let id = match account {
            Account::User(id) => format!("user:{id}"),
            Account::UnknownLogin(login) => format!("login:{login}"),
        };
        let digest = Sha256::digest(id.as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        // The hash tag keeps the account's counters (everywhere and per address) in one
        // slot of a Redis Cluster, so one DEL clears both.
        format!("{}account:{{{hex}}}", self.prefix)
    }
}

/// The counter name of a client address: IPv4 as is, IPv6 by its /64.
fn address_key(ip_address: &str) -> Option<String> {
    match ip_address.trim().parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some(v4.to_string()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => Some(v4.to_string()),
            None => {
                let s = v6.segments();
                Some(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_counted_per_host_or_ipv6_block() {
        assert_eq!(address_key("203.0.113.7").as_deref(), Some("203.0.113.7"));
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1"),
            address_key("2001:db8:1:2:bbbb::2")
        );
        assert_ne!(
            address_key("2001:db8:1:2::1"),
            address_key("2001:db8:1:3::1")
        );
        assert_eq!(
            address_key("::ffff:203.0.113.7").as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(address_key(""), None);
        assert_eq!(address_key("not an address"), None);
    }
}
