//! Who is here, across every gateway, kept in Redis.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{prefix}presence:{<user>}:conns` | hash | `<instance>:<socket>` -> `a` (active) or `i` (idle), one field per open socket on any gateway |
//! | `{prefix}presence:{<user>}:status` | string | the status last announced: `online`, `away` or `offline` |
//! | `{prefix}presence:{<user>}:seen` | string | when the user last went offline (ms since 1970) |
//! | `{prefix}presence:{<user>}:hidden` | string | `1` while the user hides their presence (`show_presence: false`) |
//! | `{prefix}presence:{<user>}:focus` | hash | `<instance>:<socket>` -> the room the socket shows (`focus` frame), for the notifier |
//! | `{prefix}presence:gateways` | sorted set | gateway instance -> its last heartbeat (ms) |
//! | `{prefix}presence:gw:<instance>` | set | the users who have (or lately had) a socket on that instance |
//!
//! A user's keys and presence channel share the hash tag `{<user>}`: in Redis Cluster
//! they live in one slot, so the scripts below touch one user each and publish from that
//! user's slot. The two instance-wide keys are written by plain commands beside them.
//!
//! A hidden user is announced and answered as `offline` with no last-seen time, whatever
//! their sockets. Auth owns the setting; gateways copy it here when it changes and at
//! every sign-in and token refresh (so a Redis that lost its data is right again within
//! one access token's life). When a user goes offline (not hidden) the gateway records
//! the time with auth (`last_seen_at`, in PostgreSQL), besides the copy kept here.
//!
//! Each gateway boot is a fresh instance id, so a gateway restarted under the same address
//! never revives its predecessor's sockets. Every change of a socket runs one Lua script
//! that recomputes the user's status (the best over all sockets) and, on a transition
//! only, stores it and publishes it on the user's presence channel: a reconnect storm
//! costs one script per socket and a publish per user that really changed. A user whose
//! last socket closed is announced offline only after [`PresenceConfig::grace`], and only
//! if no socket came back meanwhile. Every gateway heartbeats and sweeps: an instance
//! silent for [`DEAD_AFTER`] heartbeats loses its sockets, user by user (its
//! `presence:gw` set names them), and their users are announced (the bound on how stale
//! presence gets when a gateway dies: heartbeat x (DEAD_AFTER + 1), 10 s by default). A
//! gateway that finds its own heartbeat gone (swept while it could not reach Redis, or
//! Redis lost its data) registers its sockets again.
//!
//! The instance's set is written before a socket's field (so a sweep never misses a
//! socket) and a user leaves it once none of the instance's fields remain, unless a
//! socket of the user opened here meanwhile (it is added back).

use std::sync::Arc;
use std::time::Duration;

use chat_bus::keys::{focus_key, presence_conns_key};
use chat_bus::presence_channel;
use chat_proto::v1::{LastSeen, RecordLastSeenRequest};
use chat_runtime::redis_connection::RedisConnection;
use futures::{StreamExt as _, TryStreamExt as _};
use redis::AsyncCommands;

use crate::core::clients::AuthClient;
use chat_protocol::client::ClientActivity;
use chat_protocol::presence::{PresenceStatus, PresenceView};
use chat_protocol::{RoomId, Timestamp, UserId};
use chat_runtime::shutdown::CancellationToken;
use dashmap::DashMap;
use uuid::Uuid;

/// The shortest time between two `presence` frames of one socket.
pub const PRESENCE_INTERVAL: Duration = Duration::from_secs(1);
/// How long a user's focus hash outlives its last change.
const FOCUS_KEPT_SECS: i64 = 24 * 3600;
/// The most last-seen times sent to auth in one call.
const RECORD_BATCH: usize = 200;
/// A gateway whose heartbeat is older than this many heartbeats is dead.
pub const DEAD_AFTER: u32 = 4;
/// Counter of presence transitions this gateway announced, by status.
pub const PRESENCE_CHANGES_METRIC: &str = "chat_gateway_presence_changes_total";

/// How presence is kept.
#[derive(Debug, Clone, Copy)]
pub struct PresenceConfig {
    /// How long a user whose last socket closed is still shown as before.
    pub grace: Duration,
    /// How often this gateway says it is alive and looks for dead ones.
    pub heartbeat: Duration,
    /// Off: nothing is tracked or announced and every user reads as offline.
    pub enabled: bool,
}

/// Recomputes a user's status from their sockets and announces a transition. Shared by
/// both scripts (Lua has no modules here). KEYS: the user's conns, status, seen and
/// hidden keys; `settle(channel, finalize, now)` returns the status and 1 (announced),
/// 0 (no change) or 2 (offline, waiting for the grace), and whether a last-seen time was
/// set.
const SETTLE: &str = r"
local function settle(channel, finalize, now)
  local hidden = redis.call('EXISTS', KEYS[4]) == 1
  local agg = 'offline'
  if not hidden then
    for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
      if v == 'a' then agg = 'online' break end
      agg = 'away'
    end
  end
  local last = redis.call('GET', KEYS[2]) or 'offline'
  if agg == last then return {agg, 0, 0} end
  if agg == 'offline' and finalize ~= '1' and not hidden then return {agg, 2, 0} end
  redis.call('SET', KEYS[2], agg)
  local message = agg
  local seen = 0
  if agg == 'offline' and not hidden then
    redis.call('SET', KEYS[3], now)
    message = 'offline:' .. now
    seen = 1
  end
  redis.call('SPUBLISH', channel, message)
  return {agg, 1, seen}
end

-- Whether any field of conns belongs to the instance whose fields start with tag.
local function holds(tag)
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, #tag) == tag then return 1 end
  end
  return 0
end
";

/// One socket's change. KEYS as for `settle`; ARGV: the user's presence channel, the
/// instance, socket field, value (`a`, `i`, `-` closed, empty: settle only), finalize
/// (`1` after the grace), now (ms). Returns the status, the outcome (0 no change, 1
/// announced, 2 offline after the grace), whether a last-seen time was set, and whether
/// the instance still holds a socket of the user.
const UPDATE: &str = r"
local channel, instance, field, value, finalize, now =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if value == '-' then
  redis.call('HDEL', KEYS[1], field)
elseif value ~= '' then
  redis.call('HSET', KEYS[1], field, value)
end
local result = settle(channel, finalize, now)
if value == '-' or value == '' then
  table.insert(result, holds(instance .. ':'))
else
  table.insert(result, 1)
end
return result
";

/// A dead instance's sockets of one user go. KEYS as for `settle`; ARGV: the user's
/// presence channel, the instance, now (ms). Returns whether the user was announced
/// offline with a last-seen time.
const SWEEP: &str = r"
local channel, instance, now = ARGV[1], ARGV[2], ARGV[3]
local tag = instance .. ':'
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, #tag) == tag then redis.call('HDEL', KEYS[1], f) end
end
return settle(channel, '1', now)[3]
";

/// The keys of one user's presence, in the order the scripts take them.
fn user_keys(prefix: &str, user: &str) -> [String; 4] {
    [
        presence_conns_key(prefix, user),
        format!("{prefix}presence:{{{user}}}:status"),
        format!("{prefix}presence:{{{user}}}:seen"),
        format!("{prefix}presence:{{{user}}}:hidden"),
    ]
}

/// How many users of a dead instance are swept (or of this one registered again) at once.
const SWEEP_CONCURRENCY: usize = 64;

/// This gateway's view of presence. Cheap to clone.
#[derive(Clone)]
pub struct Presence {
    inner: Arc<Inner>,
}

struct Inner {
    redis: RedisConnection,
    auth: AuthClient,
    prefix: String,
    instance: String,
    config: PresenceConfig,
    update: redis::Script,
    sweep: redis::Script,
    /// This gateway's sockets and what each said: registered again if Redis forgot them.
    local: DashMap<(Uuid, u64), ClientActivity>,
    /// How many sockets each user has here (in `local`).
    here: DashMap<Uuid, usize>,
}

fn now_ms() -> i64 {
    Timestamp::now().unix_millis()
}

fn activity_value(activity: ClientActivity) -> &'static str {
    match activity {
        ClientActivity::Active => "a",
        ClientActivity::Idle => "i",
    }
}

/// Reads a stored or published status.
fn parse_status(value: &str) -> Option<PresenceStatus> {
    match value {
        "online" => Some(PresenceStatus::Online),
        "away" => Some(PresenceStatus::Away),
        "offline" => Some(PresenceStatus::Offline),
        _ => None,
    }
}

/// A message of a presence channel (`online`, `away`, `offline:<ms>`) about `user`.
pub fn parse_change(user: Uuid, message: &str) -> Option<PresenceView> {
    let (status, seen) = match message.split_once(':') {
        Some((status, seen)) => (status, seen.parse::<i64>().ok()),
        None => (message, None),
    };
    Some(PresenceView {
        user_id: user.into(),
        status: parse_status(status)?,
        last_seen: seen.and_then(Timestamp::from_unix_millis),
    })
}

impl Presence {
    /// Starts this gateway's heartbeat and sweep, as a new instance; they run until
    /// `stop` is cancelled.
    pub fn start(
        redis: RedisConnection,
        prefix: impl Into<String>,
        auth: AuthClient,
        config: PresenceConfig,
        stop: CancellationToken,
    ) -> Self {
        let presence = Self {
            inner: Arc::new(Inner {
                redis,
                auth,
                prefix: prefix.into(),
                instance: Uuid::now_v7().simple().to_string(),
                config,
                update: redis::Script::new(&format!("{SETTLE}{UPDATE}")),
                sweep: redis::Script::new(&format!("{SETTLE}{SWEEP}")),
                local: DashMap::new(),
                here: DashMap::new(),
            }),
        };
        if config.enabled {
            tokio::spawn(presence.clone().beat(stop));
        }
        presence
    }

    /// This gateway's instance id (fresh per boot).
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    /// Whether presence is kept at all (`PRESENCE`).
    pub fn enabled(&self) -> bool {
        self.inner.config.enabled
    }

    /// A socket of `user` opened (active).
    pub async fn connected(&self, user: UserId, socket: u64) {
        if !self.enabled() {
            return;
        }
        self.inner
            .local
            .insert((user.as_uuid(), socket), ClientActivity::Active);
        *self.inner.here.entry(user.as_uuid()).or_default() += 1;
        if let Err(err) = self.add_here(user).await {
            tracing::warn!(%user, error = %err, "presence not updated");
            return;
        }
        self.change(user, socket, activity_value(ClientActivity::Active), false)
            .await;
    }

    /// Names `user` in this instance's set, before any socket field of theirs is written.
    async fn add_here(&self, user: UserId) -> redis::RedisResult<()> {
        redis::cmd("SADD")
            .arg(self.instance_key(&self.inner.instance))
            .arg(user.to_string())
            .exec_async(&mut self.inner.redis.clone())
            .await
    }

    /// Takes `user` out of this instance's set once no field of theirs is left here;
    /// puts them back if a socket of theirs opened meanwhile (its `add_here` may have run
    /// before this removal).
    async fn remove_here(&self, user: UserId) {
        let removed: redis::RedisResult<()> = redis::cmd("SREM")
            .arg(self.instance_key(&self.inner.instance))
            .arg(user.to_string())
            .exec_async(&mut self.inner.redis.clone())
            .await;
        let back = self
            .inner
            .here
            .get(&user.as_uuid())
            .is_some_and(|count| *count > 0);
        let result = match removed {
            Ok(()) if back => self.add_here(user).await,
            other => other,
        };
        if let Err(err) = result {
            tracing::warn!(%user, error = %err, "presence: this gateway's set of users not updated");
        }
    }

    fn instance_key(&self, instance: &str) -> String {
        format!("{}presence:gw:{instance}", self.inner.prefix)
    }

    /// The client of a socket said it is active or idle.
    pub async fn activity(&self, user: UserId, socket: u64, activity: ClientActivity) {
        if !self.enabled() {
            return;
        }
        let key = (user.as_uuid(), socket);
        if self.inner.local.insert(key, activity) == Some(activity) {
            return;
        }
        self.change(user, socket, activity_value(activity), false)
            .await;
    }

    /// The room a socket shows, or none (its `focus` frame): kept beside the socket's
    /// presence field for the notifier. A day's expiry bounds what a user who never
    /// closes a socket cleanly leaves behind.
    pub async fn focus(&self, user: UserId, socket: u64, room: Option<RoomId>) {
        if !self.enabled() {
            return;
        }
        let key = focus_key(&self.inner.prefix, &user.to_string());
        let field = format!("{}:{socket}", self.inner.instance);
        let mut pipe = redis::pipe();
        match room {
            Some(room) => pipe.hset(&key, field, room.to_string()).ignore(),
            None => pipe.hdel(&key, field).ignore(),
        };
        pipe.expire(&key, FOCUS_KEPT_SECS).ignore();
        let done: redis::RedisResult<()> = pipe.query_async(&mut self.inner.redis.clone()).await;
        if let Err(err) = done {
            tracing::warn!(%user, error = %err, "focus not recorded");
        }
    }

    /// A socket closed. Its user is announced offline after the grace unless a socket of
    /// theirs opened meanwhile (on any gateway).
    pub fn disconnected(&self, user: UserId, socket: u64) {
        if !self.enabled() {
            return;
        }
        if self.inner.local.remove(&(user.as_uuid(), socket)).is_some() {
            self.inner.here.remove_if_mut(&user.as_uuid(), |_, count| {
                *count -= 1;
                *count == 0
            });
        }
        let presence = self.clone();
        tokio::spawn(async move {
            presence.focus(user, socket, None).await;
            if presence.change(user, socket, "-", false).await == Some(2) {
                tokio::time::sleep(presence.inner.config.grace).await;
                presence.change(user, socket, "", true).await;
            }
        });
    }

    /// Runs the update script; the outcome (0, 1, 2), or `None` when Redis failed.
    async fn change(&self, user: UserId, socket: u64, value: &str, finalize: bool) -> Option<i64> {
        let field = format!("{}:{socket}", self.inner.instance);
        let id = user.to_string();
        let mut script = self.inner.update.prepare_invoke();
        for key in user_keys(&self.inner.prefix, &id) {
            script.key(key);
        }
        let result: redis::RedisResult<(String, i64, i64, i64)> = script
            .arg(presence_channel(&self.inner.prefix, &id))
            .arg(&self.inner.instance)
            .arg(field)
            .arg(value)
            .arg(if finalize { "1" } else { "0" })
            .arg(now_ms())
            .invoke_async(&mut self.inner.redis.clone())
            .await;
        match result {
            Ok((status, outcome, seen, held)) => {
                if outcome == 1 {
                    metrics::counter!(PRESENCE_CHANGES_METRIC, "status" => status).increment(1);
                }
                if seen == 1 {
                    self.record_last_seen(vec![user]);
                }
                if held == 0 && outcome != 2 && (value == "-" || value.is_empty()) {
                    self.remove_here(user).await;
                }
                Some(outcome)
            }
            Err(err) => {
                tracing::warn!(%user, error = %err, "presence not updated");
                None
            }
        }
    }

    /// Copies a user's `show_presence` setting here; when it changed, the user's presence
    /// is announced again as others now see it.
    pub async fn set_hidden(&self, user: UserId, hidden: bool) {
        if !self.enabled() {
            return;
        }
        let [_, _, _, key] = user_keys(&self.inner.prefix, &user.to_string());
        let mut redis = self.inner.redis.clone();
        let changed: redis::RedisResult<bool> = if hidden {
            redis::cmd("SET")
                .arg(key)
                .arg("1")
                .arg("NX")
                .query_async::<Option<String>>(&mut redis)
                .await
                .map(|set| set.is_some())
        } else {
            redis.del::<_, i64>(key).await.map(|deleted| deleted == 1)
        };
        match changed {
            Ok(true) => {
                // Announced at once: hiding must not wait for a grace.
                self.change(user, 0, "", true).await;
            }
            Ok(false) => {}
            Err(err) => tracing::warn!(%user, error = %err, "presence setting not copied"),
        }
    }

    /// Tells auth when these users were last online (now). Best effort, in the background.
    fn record_last_seen(&self, users: Vec<UserId>) {
        if users.is_empty() {
            return;
        }
        let at = chat_runtime::time::to_proto(time::OffsetDateTime::now_utc());
        let request = RecordLastSeenRequest {
            seen: users
                .iter()
                .map(|user| LastSeen {
                    user_id: user.to_string(),
                    at: Some(at),
                })
                .collect(),
        };
        let mut auth = self.inner.auth.clone();
        tokio::spawn(async move {
            if let Err(status) = auth.record_last_seen(request).await {
                tracing::warn!(error = %status, "last seen not recorded");
            }
        });
    }

    /// The presence of `users` as announced last.
    pub async fn query(&self, users: &[UserId]) -> redis::RedisResult<Vec<PresenceView>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        if !self.enabled() {
            return Ok(users
                .iter()
                .map(|user| PresenceView {
                    user_id: *user,
                    status: PresenceStatus::Offline,
                    last_seen: None,
                })
                .collect());
        }
        // One pipeline per user (a user's keys share a slot; users do not), sent together.
        let asked = users.iter().map(|user| {
            let [_, status, seen, hidden] = user_keys(&self.inner.prefix, &user.to_string());
            let mut redis = self.inner.redis.clone();
            async move {
                redis::pipe()
                    .get(status)
                    .get(seen)
                    .exists(hidden)
                    .query_async::<Vec<redis::Value>>(&mut redis)
                    .await
            }
        });
        let values: Vec<redis::Value> = futures::future::try_join_all(asked)
            .await?
            .into_iter()
            .flatten()
            .collect();
        let text = |value: &redis::Value| -> Option<String> {
            redis::from_redis_value::<Option<String>>(value)
                .ok()
                .flatten()
        };
        Ok(users
            .iter()
            .zip(values.chunks(3))
            .map(|(user, triple)| {
                let hidden = redis::from_redis_value::<i64>(&triple[2]).unwrap_or(0) == 1;
                let status = text(&triple[0])
                    .as_deref()
                    .and_then(parse_status)
                    .filter(|_| !hidden)
                    .unwrap_or(PresenceStatus::Offline);
                let last_seen = match status {
                    PresenceStatus::Offline if !hidden => text(&triple[1])
                        .and_then(|ms| ms.parse().ok())
                        .and_then(Timestamp::from_unix_millis),
                    _ => None,
                };
                PresenceView {
                    user_id: *user,
                    status,
                    last_seen,
                }
            })
            .collect())
    }

    /// Heartbeats and sweeps until `stop`; then sweeps this instance itself, so a gateway
    /// shutting down does not wait for the others to notice.
    async fn beat(self, stop: CancellationToken) {
        let mut every = tokio::time::interval(self.inner.config.heartbeat);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {
                    if let Err(err) = self.heartbeat().await {
                        tracing::warn!(error = %err, "presence heartbeat failed");
                    }
                }
                () = stop.cancelled() => break,
            }
        }
        if let Err(err) = self.sweep_instance(&self.inner.instance.clone()).await {
            tracing::warn!(error = %err, "presence of this gateway's sockets not cleared");
        }
    }

    async fn heartbeat(&self) -> redis::RedisResult<()> {
        let zset = format!("{}presence:gateways", self.inner.prefix);
        let now = now_ms();
        let mut redis = self.inner.redis.clone();
        let added: i64 = redis::cmd("ZADD")
            .arg(&zset)
            .arg(now)
            .arg(&self.inner.instance)
            .query_async(&mut redis)
            .await?;
        if added == 1 && !self.inner.local.is_empty() {
            // Swept while away, or Redis lost its data: say again what is open here.
            tracing::info!("presence: registering this gateway's sockets again");
            let local: Vec<((Uuid, u64), ClientActivity)> = self
                .inner
                .local
                .iter()
                .map(|entry| (*entry.key(), *entry.value()))
                .collect();
            let registered = futures::stream::iter(local.into_iter().map(
                |((user, socket), activity)| async move {
                    let user = user.into();
                    self.add_here(user).await.is_ok()
                        && self
                            .change(user, socket, activity_value(activity), false)
                            .await
                            .is_some()
                },
            ))
            .buffer_unordered(SWEEP_CONCURRENCY)
            .fold(true, |all, one| std::future::ready(all && one))
            .await;
            if !registered {
                // Some sockets are not registered: the next heartbeat tries them all again.
                redis::cmd("ZREM")
                    .arg(&zset)
                    .arg(&self.inner.instance)
                    .exec_async(&mut redis)
                    .await?;
            }
        }
        let silent = self.inner.config.heartbeat * DEAD_AFTER;
        let cutoff = now - i64::try_from(silent.as_millis()).unwrap_or(i64::MAX);
        let dead: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(&zset)
            .arg("-inf")
            .arg(cutoff)
            .query_async(&mut redis)
            .await?;
        for instance in dead.iter().filter(|i| **i != self.inner.instance) {
            let gone = self.sweep_instance(instance).await?;
            tracing::info!(%instance, users = gone.len(), "presence: swept a silent gateway");
        }
        Ok(())
    }

    /// Takes `instance`'s sockets away, user by user; the users it announced offline
    /// (their last-seen times recorded with auth). The instance is forgotten only once
    /// every user is swept, so a sweep cut short is made again by the next heartbeat.
    async fn sweep_instance(&self, instance: &str) -> redis::RedisResult<Vec<String>> {
        let set = self.instance_key(instance);
        let mut redis = self.inner.redis.clone();
        let users: Vec<String> = redis::cmd("SMEMBERS")
            .arg(&set)
            .query_async(&mut redis)
            .await?;
        let now = now_ms();
        let swept: Vec<(String, i64)> = futures::stream::iter(users.into_iter().map(|user| {
            let mut redis = self.inner.redis.clone();
            async move {
                let mut script = self.inner.sweep.prepare_invoke();
                for key in user_keys(&self.inner.prefix, &user) {
                    script.key(key);
                }
                let seen: i64 = script
                    .arg(presence_channel(&self.inner.prefix, &user))
                    .arg(instance)
                    .arg(now)
                    .invoke_async(&mut redis)
                    .await?;
                Ok::<_, redis::RedisError>((user, seen))
            }
        }))
        .buffer_unordered(SWEEP_CONCURRENCY)
        .try_collect()
        .await?;
        redis::cmd("DEL").arg(&set).exec_async(&mut redis).await?;
        redis::cmd("ZREM")
            .arg(format!("{}presence:gateways", self.inner.prefix))
            .arg(instance)
            .exec_async(&mut redis)
            .await?;
        let gone: Vec<String> = swept
            .into_iter()
            .filter(|(_, seen)| *seen == 1)
            .map(|(user, _)| user)
            .collect();
        for batch in gone.chunks(RECORD_BATCH) {
            self.record_last_seen(batch.iter().filter_map(|id| id.parse().ok()).collect());
        }
        Ok(gone)
    }

    /// The channel name of `user`'s presence.
    pub fn channel(&self, user: Uuid) -> String {
        presence_channel(&self.inner.prefix, user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_messages_read_back() {
        let user = Uuid::now_v7();
        let online = parse_change(user, "online").unwrap();
        assert_eq!(
            (online.status, online.last_seen),
            (PresenceStatus::Online, None)
        );
        assert_eq!(
            parse_change(user, "away").unwrap().status,
            PresenceStatus::Away
        );
        let offline = parse_change(user, "offline:1763712000123").unwrap();
        assert_eq!(offline.status, PresenceStatus::Offline);
        assert_eq!(
            offline.last_seen.unwrap().to_string(),
            "2025-11-21T08:00:00.123Z"
        );
        assert!(parse_change(user, "sleepy").is_none());
    }
}
