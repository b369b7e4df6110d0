//! The fan-out hub: the gateway's one Redis pub/sub connection, and the local sockets
//! behind each channel.
//!
//! * A room channel is subscribed while at least one local socket is in the room, and
//!   unsubscribed after the last leaves; a user channel while the user has a socket here.
//! * Each envelope heard on a room channel is decoded once and rendered to the client's
//!   JSON once; the same bytes (with the room, epoch and seq, so each socket keeps its
//!   own order) go to every local socket of the room.
//! * The hub never waits for a socket: a socket whose bounded queue is full is closed as a
//!   slow consumer (see [`crate::core::outbox`]).
//! * Typing signals heard on a room channel go to the room's local sockets except the
//!   typist's; the hub's [`TypingBoard`] ends those not renewed in time.
//! * A user signal (sessions ended by a logout) closes the user's sockets of those
//!   sessions.
//! * The channels are sharded pub/sub channels, subscribed on the shard of their slot
//!   ([`crate::core::subscriber`]): one connection to a single Redis, one per master of a
//!   Redis Cluster.
//! * When a connection to Redis is lost, the hub reconnects, subscribes everything
//!   again and tells every socket to look for what it missed in between, room entries
//!   and membership changes alike ([`Outbound::Recheck`]); the membership cache is
//!   cleared, as events were missed.
//! * A hub that falls behind Redis (a room entry heard more than `max_lag` after it was
//!   accepted) does the same on purpose: it drops the connection and the backlog read
//!   into it, so memory stays bounded, and its sockets catch up from the room streams.
//!
//! Subscriptions are changed by one task only, which compares what the sockets need
//! with what is subscribed each time it is told something changed: a join racing the
//! last leave of a room can never end unsubscribed.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use chat_bus::{
    Channel, RoomEvents, decode_envelope, decode_item, decode_signal, presence_channel,
    room_channel, user_channel,
};
use chat_proto::v1::room_item::Body;
use chat_proto::v1::{ReadMoved, ReadReceipt, RoomEvent, RoomEventKind, RoomSignal, UserSignal};
use chat_protocol::server::ReadMark;
use chat_runtime::redis_connection::RedisTarget;
use chat_runtime::shutdown::CancellationToken;
use dashmap::DashMap;
use redis::PushInfo;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use chat_protocol::{Position, RoomId, ServerFrame};

use crate::core::memberships::Memberships;
use crate::core::outbox::{Closing, Outbound, Outbox, Pushed, Removal, RoomDelivery};
use crate::core::presence::parse_change;
use crate::core::receipts::ReceiptsDelivery;
use crate::core::render::room_item_frame;
use crate::core::typing::{TypingBoard, TypingDelivery};
use chat_runtime::redis_subscriber::{Heard, Subscriber};

/// Counter of events handed to local sockets.
pub const DELIVERIES_METRIC: &str = "chat_gateway_deliveries_total";
/// Counter of sockets closed because their outbound queue filled up.
pub const SLOW_CONSUMER_CLOSES_METRIC: &str = "chat_gateway_slow_consumer_closes_total";
/// From a room entry's time (when the sending gateway accepted it) to its being queued for
/// this gateway's sockets: sequencing, Redis pub/sub and decoding, once per entry and
/// gateway (clocks of different machines included).
pub const FANOUT_LAG_METRIC: &str = "chat_gateway_fanout_lag_seconds";
/// How often typing deadlines are looked at.
const TYPING_SWEEP: Duration = Duration::from_millis(500);
/// Messages already read from Redis dispatched together before the hub yields.
const READY_BATCH: usize = 64;
/// Counter of (re)connections of the hub's Redis subscriber.
pub const SUBSCRIBER_CONNECTS_METRIC: &str = "chat_gateway_redis_subscriber_connects_total";
/// Counter of subscriptions dropped because the hub fell more than `max_lag` behind.
pub const SUBSCRIBER_BEHIND_METRIC: &str = "chat_gateway_redis_subscriber_behind_total";
/// Least time between two drops for falling behind: if the next entries of a fresh
/// subscription are late too, the clocks disagree, and dropping again would not help.
const BEHIND_RESET_INTERVAL: Duration = Duration::from_secs(60);

/// How long a socket waits for its channels to be subscribed before it goes on anyway
/// (Redis is down; the recheck after reconnecting covers what it misses).
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(5);
/// Longest wait for the subscriber's connection and handshake; past it the attempt is
/// dropped and made again.
const CONNECT_WAIT: Duration = Duration::from_secs(3);
/// Longest wait for the answers to one batch of (un)subscriptions (all of a gateway's
/// channels after a reconnection: tens of thousands take well under a second); past it
/// the connection is dropped and made again.
const SUBSCRIBE_BATCH_WAIT: Duration = Duration::from_secs(10);

/// A channel a socket may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Room(Uuid),
    User(Uuid),
    /// A user's presence channel, while a local socket follows the user.
    Presence(Uuid),
}

/// What the hub allows.
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    /// A typing `start` not renewed within this long ends.
    pub typing_timeout: Duration,
    /// How late a room entry may be heard before the subscription is dropped and made
    /// again (see the module docs).
    pub max_lag: Duration,
}

/// "These keys may have changed; subscribe or unsubscribe as needed, then tell me."
struct Command {
    keys: Vec<Key>,
    done: Option<oneshot::Sender<()>>,
}

/// Too many sockets for one user on this gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many connections for this user")]
pub struct TooManyConnections;

/// The hub. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    prefix: String,
    rooms: DashMap<Uuid, Vec<Arc<Outbox>>>,
    users: DashMap<Uuid, Vec<Arc<Outbox>>>,
    /// The local sockets following each user's presence.
    watchers: DashMap<Uuid, Vec<Arc<Outbox>>>,
    commands: mpsc::UnboundedSender<Command>,
    memberships: Memberships,
    typing: TypingBoard,
    connected: AtomicBool,
    max_lag: Duration,
    /// Set when a room entry was heard more than `max_lag` late.
    behind: AtomicBool,
    /// The subscriber's connections (see [`Hub::subscriber_links`]).
    subscriber_links: std::sync::Mutex<Vec<(String, SocketAddr)>>,
}

impl Hub {
    /// Starts the hub's subscriber task on `target`, for channels under `prefix`; it runs
    /// until `shutdown` is cancelled.
    pub fn start(
        target: RedisTarget,
        prefix: impl Into<String>,
        memberships: Memberships,
        limits: HubLimits,
        shutdown: CancellationToken,
    ) -> Self {
        let (commands, receiver) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            prefix: prefix.into(),
            rooms: DashMap::new(),
            users: DashMap::new(),
            watchers: DashMap::new(),
            commands,
            memberships,
            typing: TypingBoard::new(limits.typing_timeout),
            max_lag: limits.max_lag,
            behind: AtomicBool::new(false),
            connected: AtomicBool::new(false),
            subscriber_links: std::sync::Mutex::new(Vec::new()),
        });
        tokio::spawn(Arc::clone(&inner).expire_typing(shutdown.clone()));
        tokio::spawn(Arc::clone(&inner).run(target, receiver, shutdown));
        Self { inner }
    }

    /// The local address of the current subscriber connection (of the first shard's, in
    /// a cluster; plain TCP only).
    pub fn subscriber_addr(&self) -> Option<SocketAddr> {
        self.subscriber_links().first().map(|(_, local)| *local)
    }

    /// Each shard's node (`host:port`) and the local address of the subscriber's
    /// connection to it (plain TCP only): what operators (and tests) look for in the
    /// node's `CLIENT LIST`.
    pub fn subscriber_links(&self) -> Vec<(String, SocketAddr)> {
        self.inner.subscriber_links.lock().expect("lock").clone()
    }

    /// Whether the subscriber is connected to Redis (for `/readyz`).
    pub fn is_connected(&self) -> bool {
        self.inner.connected.load(Ordering::Relaxed)
    }

    /// Counts `outbox` among its user's sockets and subscribes the user's channel, unless
    /// the user already has `max` sockets here.
    pub async fn add_socket(
        &self,
        outbox: &Arc<Outbox>,
        max: usize,
    ) -> Result<(), TooManyConnections> {
        {
            let mut sockets = self.inner.users.entry(outbox.user()).or_default();
            if sockets.len() >= max {
                return Err(TooManyConnections);
            }
            sockets.push(Arc::clone(outbox));
        }
        self.sync(vec![Key::User(outbox.user())], true).await;
        Ok(())
    }

    /// Adds `outbox` to each of `rooms` and returns once their channels are subscribed
    /// (or after a bounded wait while Redis is unreachable).
    pub async fn join_rooms(&self, outbox: &Arc<Outbox>, rooms: &[Uuid]) {
        if rooms.is_empty() {
            return;
        }
        for room in rooms {
            let mut sockets = self.inner.rooms.entry(*room).or_default();
            if !sockets.iter().any(|s| Arc::ptr_eq(s, outbox)) {
                sockets.push(Arc::clone(outbox));
            }
        }
        self.sync(rooms.iter().copied().map(Key::Room).collect(), true)
            .await;
    }

    /// Takes `outbox` out of `room`.
    pub fn leave_room(&self, outbox: &Arc<Outbox>, room: Uuid) {
        remove(&self.inner.rooms, room, outbox);
        let _ = self.inner.commands.send(Command {
            keys: vec![Key::Room(room)],
            done: None,
        });
    }

    /// `outbox` follows the presence of `users` from now on, besides whom it followed.
    pub async fn watch_presence(&self, outbox: &Arc<Outbox>, users: &[Uuid]) {
        for user in users {
            let mut sockets = self.inner.watchers.entry(*user).or_default();
            if !sockets.iter().any(|s| Arc::ptr_eq(s, outbox)) {
                sockets.push(Arc::clone(outbox));
            }
        }
        self.sync(users.iter().copied().map(Key::Presence).collect(), true)
            .await;
    }

    /// `outbox` no longer follows the presence of `users`.
    pub fn unwatch_presence(&self, outbox: &Arc<Outbox>, users: &[Uuid]) {
        for user in users {
            remove(&self.inner.watchers, *user, outbox);
        }
        let _ = self.inner.commands.send(Command {
            keys: users.iter().copied().map(Key::Presence).collect(),
            done: None,
        });
    }

    /// Takes a closing socket out of its rooms, the presence it followed and its user's
    /// sockets.
    pub fn remove_socket(
        &self,
        outbox: &Arc<Outbox>,
        rooms: impl IntoIterator<Item = Uuid>,
        watched: impl IntoIterator<Item = Uuid>,
    ) {
        let mut keys: Vec<Key> = rooms
            .into_iter()
            .inspect(|room| remove(&self.inner.rooms, *room, outbox))
            .map(Key::Room)
            .collect();
        keys.extend(
            watched
                .into_iter()
                .inspect(|user| remove(&self.inner.watchers, *user, outbox))
                .map(Key::Presence),
        );
        remove(&self.inner.users, outbox.user(), outbox);
        keys.push(Key::User(outbox.user()));
        let _ = self.inner.commands.send(Command { keys, done: None });
    }

    /// Tells every socket to send `reconnect` after what is queued, then close.
    pub fn close_all(&self, reason: Closing) {
        for sockets in self.inner.users.iter() {
            for outbox in sockets.value() {
                outbox.close(reason);
            }
        }
    }

    /// Sockets currently counted (authenticated ones).
    pub fn socket_count(&self) -> usize {
        self.inner
            .users
            .iter()
            .map(|entry| entry.value().len())
            .sum()
    }

    async fn sync(&self, keys: Vec<Key>, wait: bool) {
        let (done, waited) = if wait {
            let (done, waited) = oneshot::channel();
            (Some(done), Some(waited))
        } else {
            (None, None)
        };
        if self.inner.commands.send(Command { keys, done }).is_err() {
            return;
        }
        if let Some(waited) = waited
            && tokio::time::timeout(SUBSCRIBE_WAIT, waited).await.is_err()
        {
            tracing::warn!("channels not subscribed in time; going on");
        }
    }
}

fn timed_out(what: &'static str) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("Redis did not answer in time ({what})"),
    ))
}

fn remove(map: &DashMap<Uuid, Vec<Arc<Outbox>>>, key: Uuid, outbox: &Arc<Outbox>) {
    if let dashmap::Entry::Occupied(mut entry) = map.entry(key) {
        entry.get_mut().retain(|s| !Arc::ptr_eq(s, outbox));
        if entry.get().is_empty() {
            entry.remove();
        }
    }
}

impl Inner {
    fn channel(&self, key: Key) -> String {
        match key {
            Key::Room(room) => room_channel(&self.prefix, room),
            Key::User(user) => user_channel(&self.prefix, user),
            Key::Presence(user) => presence_channel(&self.prefix, user),
        }
    }

    fn wanted(&self, key: Key) -> bool {
        match key {
            Key::Room(room) => self.rooms.contains_key(&room),
            Key::User(user) => self.users.contains_key(&user),
            Key::Presence(user) => self.watchers.contains_key(&user),
        }
    }

    async fn run(
        self: Arc<Self>,
        target: RedisTarget,
        mut commands: mpsc::UnboundedReceiver<Command>,
        shutdown: CancellationToken,
    ) {
        let mut backoff = Duration::from_millis(100);
        let mut reconnecting = false;
        let mut last_behind: Option<tokio::time::Instant> = None;
        loop {
            let connected = tokio::select! {
                connected = tokio::time::timeout(CONNECT_WAIT, Subscriber::connect(&target)) => {
                    connected.unwrap_or_else(|_| Err(timed_out("connecting")))
                }
                () = shutdown.cancelled() => return,
            };
            let (mut subscriber, mut heard) = match connected {
                Ok(connected) => connected,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot connect the Redis subscriber; retrying");
                    if sleep_or_shutdown(backoff, &shutdown).await {
                        return;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            *self.subscriber_links.lock().expect("lock") = subscriber.links().to_vec();
            metrics::counter!(SUBSCRIBER_CONNECTS_METRIC).increment(1);
            let mut subscribed = HashSet::new();
            let everything: Vec<Key> = self
                .rooms
                .iter()
                .map(|entry| Key::Room(*entry.key()))
                .chain(self.users.iter().map(|entry| Key::User(*entry.key())))
                .chain(
                    self.watchers
                        .iter()
                        .map(|entry| Key::Presence(*entry.key())),
                )
                .collect();
            if let Err(err) = self
                .apply(&mut subscriber, &mut subscribed, everything)
                .await
            {
                tracing::warn!(error = %err, "cannot resubscribe; reconnecting");
                if sleep_or_shutdown(backoff, &shutdown).await {
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
            backoff = Duration::from_millis(100);
            self.connected.store(true, Ordering::Relaxed);
            if reconnecting {
                tracing::info!("Redis subscriber reconnected; sockets look for missed events");
                self.memberships.clear();
                for sockets in self.users.iter() {
                    for outbox in sockets.value() {
                        self.push(outbox, Outbound::Recheck);
                    }
                }
            }
            reconnecting = true;

            loop {
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => return,
                    push = heard.recv() => {
                        let lost = match push {
                            // What else has already arrived is queued before any socket
                            // task runs, so a socket woken once writes all of it at once.
                            Some(push) => !self.dispatch_ready(&mut subscriber, push, &mut heard),
                            None => true,
                        };
                        if lost {
                            tracing::warn!("Redis subscriber connection lost; reconnecting");
                            break;
                        }
                        if self.behind.swap(false, Ordering::Relaxed)
                            && last_behind.is_none_or(|at| at.elapsed() >= BEHIND_RESET_INTERVAL)
                        {
                            last_behind = Some(tokio::time::Instant::now());
                            metrics::counter!(SUBSCRIBER_BEHIND_METRIC).increment(1);
                            tracing::warn!(max_lag = ?self.max_lag, "the hub fell behind Redis; dropping the backlog and subscribing again");
                            break;
                        }
                    },
                    command = commands.recv() => {
                        let Some(first) = command else { return };
                        let mut batch = vec![first];
                        while let Ok(more) = commands.try_recv() {
                            batch.push(more);
                        }
                        let keys = batch.iter().flat_map(|c| c.keys.iter().copied()).collect();
                        if let Err(err) = self.apply(&mut subscriber, &mut subscribed, keys).await {
                            tracing::warn!(error = %err, "subscription change failed; reconnecting");
                            break;
                        }
                        for command in batch {
                            if let Some(done) = command.done {
                                let _ = done.send(());
                            }
                        }
                    }
                }
            }
            self.connected.store(false, Ordering::Relaxed);
            self.memberships.release_all();
            if sleep_or_shutdown(backoff, &shutdown).await {
                return;
            }
        }
    }

    /// [`apply_now`](Self::apply_now) within [`SUBSCRIBE_BATCH_WAIT`]: a Redis that stopped
    /// answering (restarting, or the connection half-open) never stalls the hub.
    async fn apply(
        &self,
        subscriber: &mut Subscriber,
        subscribed: &mut HashSet<Key>,
        keys: Vec<Key>,
    ) -> redis::RedisResult<()> {
        tokio::time::timeout(
            SUBSCRIBE_BATCH_WAIT,
            self.apply_now(subscriber, subscribed, keys),
        )
        .await
        .unwrap_or_else(|_| Err(timed_out("subscribing")))
    }

    /// Makes the subscription of each of `keys` match what the sockets need. Each channel
    /// is its own command (a multi-channel SSUBSCRIBE must stay within one slot, and gets
    /// one reply per channel); they are pipelined.
    async fn apply_now(
        &self,
        subscriber: &mut Subscriber,
        subscribed: &mut HashSet<Key>,
        keys: Vec<Key>,
    ) -> redis::RedisResult<()> {
        let mut subscribe = Vec::new();
        let mut unsubscribe = Vec::new();
        let mut seen = HashSet::new();
        for key in keys {
            if !seen.insert(key) {
                continue;
            }
            match (self.wanted(key), subscribed.contains(&key)) {
                (true, false) => subscribe.push(key),
                (false, true) => unsubscribe.push(key),
                _ => {}
            }
        }
        // A user's answers are no longer held once their channel may stop being heard.
        for key in &unsubscribe {
            if let Key::User(user) = key {
                self.memberships.release(*user);
            }
        }
        let subscribing: Vec<_> = subscribe
            .iter()
            .map(|key| subscriber.subscribe(self.channel(*key)))
            .collect();
        let unsubscribing: Vec<_> = unsubscribe
            .iter()
            .map(|key| subscriber.unsubscribe(self.channel(*key)))
            .collect();
        let (subscribed_now, unsubscribed_now) = futures::future::join(
            futures::future::join_all(subscribing),
            futures::future::join_all(unsubscribing),
        )
        .await;
        for result in subscribed_now.into_iter().chain(unsubscribed_now) {
            result?;
        }
        tracing::debug!(?subscribe, ?unsubscribe, "subscriptions changed");
        for key in &subscribe {
            if let Key::User(user) = key {
                self.memberships.hold(*user);
            }
        }
        subscribed.extend(subscribe);
        for key in unsubscribe {
            subscribed.remove(&key);
            if let Key::Room(room) = key {
                self.typing.forget_room(room);
            }
        }
        Ok(())
    }

    fn push(&self, outbox: &Arc<Outbox>, item: Outbound) -> bool {
        match outbox.push(item) {
            Pushed::Queued => true,
            Pushed::Overflowed => {
                metrics::counter!(SLOW_CONSUMER_CLOSES_METRIC).increment(1);
                tracing::info!(socket = outbox.id(), "slow consumer; closing its socket");
                false
            }
            Pushed::Closed => false,
        }
    }

    /// Dispatches `first` and what else was already heard, up to [`READY_BATCH`], without
    /// waiting for more. Returns false when the subscription turned out to be lost.
    fn dispatch_ready(
        &self,
        subscriber: &mut Subscriber,
        first: PushInfo,
        heard: &mut mpsc::UnboundedReceiver<PushInfo>,
    ) -> bool {
        for_each_ready(first, heard, READY_BATCH, |push| {
            match subscriber.read(push) {
                Heard::Message(message) => self.dispatch(&message),
                Heard::Lost => return false,
                Heard::Nothing => {}
            }
            true
        })
    }

    fn dispatch(&self, message: &redis::Msg) {
        let name = message.get_channel_name();
        let payload = message.get_payload_bytes();
        match Channel::parse(&self.prefix, name) {
            Some(Channel::Room(room)) => match room.parse() {
                Ok(room) => self.dispatch_room(room, payload),
                Err(_) => tracing::warn!(channel = name, "room channel with an invalid id"),
            },
            Some(Channel::User(user)) => match user.parse() {
                Ok(user) => self.dispatch_user(user, payload),
                Err(_) => tracing::warn!(channel = name, "user channel with an invalid id"),
            },
            Some(Channel::Presence(user)) => match user.parse() {
                Ok(user) => self.dispatch_presence(user, payload),
                Err(_) => tracing::warn!(channel = name, "presence channel with an invalid id"),
            },
            None => tracing::warn!(channel = name, "message on an unknown channel"),
        }
    }

    fn dispatch_room(&self, room: Uuid, payload: &[u8]) {
        if let Some(signal) = decode_signal::<RoomSignal>(payload) {
            match signal {
                Ok(signal) if !signal.receipts.is_empty() => {
                    self.dispatch_receipts(room, &signal.receipts);
                }
                Ok(signal) => self.dispatch_signal(room, &signal.user_id, signal.typing),
                Err(err) => tracing::warn!(%room, error = %err, "undecodable room signal"),
            }
            return;
        }
        let envelope = match decode_envelope(payload) {
            Ok(envelope) => envelope,
            Err(_) => {
                // Rooms not yet sequenced publish bare room events here: they still tell
                // which memberships changed, but carry no position to deliver at.
                match RoomEvents::decode(payload) {
                    Ok(event) => self.forget_memberships(room, &event),
                    Err(err) => tracing::warn!(%room, error = %err, "undecodable room payload"),
                }
                return;
            }
        };
        let item = decode_item(&envelope)
            .inspect_err(|err| {
                tracing::warn!(%room, seq = envelope.seq, error = %err, "undecodable room item");
            })
            .ok();
        let event = item.as_ref().and_then(|item| match &item.body {
            Some(Body::RoomEvent(event)) => Some(event),
            _ => None,
        });
        if let Some(event) = event {
            self.forget_memberships(room, event);
        }
        if let Some(item) = &item
            && matches!(item.body, Some(Body::Message(_)))
            && let Ok(sender) = item.actor_id.parse()
        {
            self.typing.message_from(room, sender);
        }
        // Rendered only for a room some local socket is in (the channel can outlive its
        // last socket for a moment, until the unsubscribe is through).
        if !self.rooms.contains_key(&room) {
            tracing::debug!(%room, epoch = envelope.epoch, seq = envelope.seq, "room entry for no local socket");
            return;
        }
        let delivery = Arc::new(RoomDelivery {
            room,
            position: Position::new(envelope.epoch, envelope.seq),
            frame: item
                .as_ref()
                .and_then(|item| room_item_frame(Position::new(envelope.epoch, envelope.seq), item))
                .map(Utf8Bytes::from),
            removal: event.and_then(Removal::of),
        });
        let Some(sockets) = self.rooms.get(&room) else {
            return;
        };
        if let Some(lag) = item.as_ref().and_then(|item| lag_since(item.occurred_at)) {
            metrics::histogram!(FANOUT_LAG_METRIC).record(lag.as_secs_f64());
            if lag > self.max_lag {
                self.behind.store(true, Ordering::Relaxed);
            }
        }
        let mut delivered = 0u64;
        for outbox in sockets.iter() {
            if self.push(outbox, Outbound::Room(Arc::clone(&delivery))) {
                delivered += 1;
            }
        }
        tracing::debug!(
            %room,
            epoch = envelope.epoch,
            seq = envelope.seq,
            sockets = ?sockets.iter().map(|outbox| outbox.id()).collect::<Vec<_>>(),
            "room entry queued"
        );
        metrics::counter!(DELIVERIES_METRIC).increment(delivered);
    }

    fn dispatch_signal(&self, room: Uuid, typist: &str, typing: bool) {
        let Ok(typist) = typist.parse() else {
            tracing::warn!(%room, "typing signal with an invalid user id");
            return;
        };
        if !self.rooms.contains_key(&room) {
            return;
        }
        if let Some(delivery) = self
            .typing
            .heard(room, typist, typing, tokio::time::Instant::now())
        {
            self.deliver_typing(delivery);
        }
    }

    /// Writes a typing frame to the room's local sockets, the typist's own excepted.
    fn deliver_typing(&self, delivery: TypingDelivery) {
        let Some(sockets) = self.rooms.get(&delivery.room) else {
            return;
        };
        let delivery = Arc::new(delivery);
        for outbox in sockets
            .iter()
            .filter(|outbox| outbox.user() != delivery.typist)
        {
            self.push(outbox, Outbound::Typing(Arc::clone(&delivery)));
        }
    }

    /// Read receipts of `room`: to every local socket in it but those of a batch's only
    /// reader.
    fn dispatch_receipts(&self, room: Uuid, receipts: &[ReadReceipt]) {
        let Some(sockets) = self.rooms.get(&room) else {
            return;
        };
        let delivery = Arc::new(ReceiptsDelivery::new(room, receipts));
        for outbox in sockets
            .iter()
            .filter(|outbox| delivery.is_for(outbox.user()))
        {
            self.push(outbox, Outbound::Receipts(Arc::clone(&delivery)));
        }
    }

    /// Ends, with a `stop`, every typing not renewed in time.
    async fn expire_typing(self: Arc<Self>, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(TYPING_SWEEP);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {
                    for delivery in self.typing.expire(tokio::time::Instant::now()) {
                        self.deliver_typing(delivery);
                    }
                }
                () = shutdown.cancelled() => return,
            }
        }
    }

    fn dispatch_user(&self, user: Uuid, payload: &[u8]) {
        if let Some(signal) = decode_signal::<UserSignal>(payload) {
            match signal {
                Ok(UserSignal {
                    read: Some(read), ..
                }) => self.read_moved(user, &read),
                Ok(signal) => self.end_sessions(user, &signal.session_id),
                Err(err) => tracing::warn!(%user, error = %err, "undecodable user signal"),
            }
            return;
        }
        let event = match RoomEvents::decode(payload) {
            Ok(event) => Arc::new(event),
            Err(err) => {
                tracing::warn!(%user, error = %err, "undecodable user-channel payload");
                return;
            }
        };
        if let Ok(room) = event.room_id.parse() {
            self.forget_memberships(room, &event);
            self.memberships.forget(room, user);
        }
        let Some(sockets) = self.users.get(&user) else {
            return;
        };
        for outbox in sockets.iter() {
            self.push(outbox, Outbound::Membership(Arc::clone(&event)));
        }
    }

    /// A presence change of `user`: to the local sockets following them.
    fn dispatch_presence(&self, user: Uuid, payload: &[u8]) {
        let Some(change) = std::str::from_utf8(payload)
            .ok()
            .and_then(|message| parse_change(user, message))
        else {
            tracing::warn!(%user, "unreadable presence message");
            return;
        };
        let Some(sockets) = self.watchers.get(&user) else {
            return;
        };
        let change = Arc::new(change);
        for outbox in sockets.iter() {
            self.push(outbox, Outbound::Presence(Arc::clone(&change)));
        }
    }

    /// `user`'s read position in a room moved: every local socket of theirs is told.
    fn read_moved(&self, user: Uuid, read: &ReadMoved) {
        let Ok(room) = read.room_id.parse::<RoomId>() else {
            tracing::warn!(%user, "read signal without a room");
            return;
        };
        let Some(sockets) = self.users.get(&user) else {
            return;
        };
        let frame = Utf8Bytes::from(
            ServerFrame::Read(ReadMark {
                room,
                position: Position::new(read.epoch, read.seq),
            })
            .to_text(),
        );
        for outbox in sockets.iter() {
            self.push(outbox, Outbound::Read(frame.clone()));
        }
    }

    /// Sessions of `user` ended (an empty `session` is every one): their sockets close.
    fn end_sessions(&self, user: Uuid, session: &str) {
        let Some(sockets) = self.users.get(&user) else {
            return;
        };
        let ended: Arc<str> = Arc::from(session);
        for outbox in sockets.iter() {
            self.push(outbox, Outbound::SessionEnded(Arc::clone(&ended)));
        }
    }

    fn forget_memberships(&self, room: Uuid, event: &RoomEvent) {
        match event.kind() {
            RoomEventKind::RoomDeleted => self.memberships.forget_room(room),
            _ => {
                if let Ok(user) = event.user_id.parse() {
                    self.memberships.forget(room, user);
                }
            }
        }
    }
}

/// Hands `first`, then what else is already on `queue`, to `each`, at most `max` items in
/// all, without waiting; stops when `each` returns false, and returns what it returned
/// last. Nothing is taken off the queue that is not handed on: what is left waits for the
/// next call.
fn for_each_ready<T>(
    first: T,
    queue: &mut mpsc::UnboundedReceiver<T>,
    max: usize,
    mut each: impl FnMut(T) -> bool,
) -> bool {
    let mut item = first;
    for _ in 1..max {
        if !each(item) {
            return false;
        }
        match queue.try_recv() {
            Ok(next) => item = next,
            Err(_) => return true,
        }
    }
    each(item)
}

/// How long ago `at` was (nothing for a time in the future: another machine's clock).
fn lag_since(at: Option<prost_types::Timestamp>) -> Option<Duration> {
    let at = std::time::SystemTime::try_from(at?).ok()?;
    std::time::SystemTime::now().duration_since(at).ok()
}

/// Sleeps for `duration`; true when shutdown came first.
async fn sleep_or_shutdown(duration: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => false,
        () = shutdown.cancelled() => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch hands on exactly what it takes off the queue: in order, at most `max`, and
    /// the rest stays queued for the next batch (a push taken and dropped would be a lost
    /// delivery).
    #[test]
    fn a_batch_takes_nothing_it_does_not_hand_on() {
        let (sender, mut queue) = mpsc::unbounded_channel();
        for item in 1..150 {
            sender.send(item).unwrap();
        }
        let mut handed = Vec::new();
        let mut first = 0;
        loop {
            assert!(for_each_ready(first, &mut queue, READY_BATCH, |item| {
                handed.push(item);
                true
            }));
            match queue.try_recv() {
                Ok(next) => first = next,
                Err(_) => break,
            }
        }
        assert_eq!(handed, (0..150).collect::<Vec<_>>());

        let mut sizes = Vec::new();
        for item in 0..100 {
            sender.send(item).unwrap();
        }
        while let Ok(first) = queue.try_recv() {
            let mut size = 0;
            for_each_ready(first, &mut queue, READY_BATCH, |_| {
                size += 1;
                true
            });
            sizes.push(size);
        }
        assert_eq!(sizes, vec![READY_BATCH, 100 - READY_BATCH]);
    }

    #[test]
    fn a_batch_stops_where_an_item_says_so() {
        let (sender, mut queue) = mpsc::unbounded_channel();
        for item in 1..10 {
            sender.send(item).unwrap();
        }
        let mut handed = Vec::new();
        assert!(!for_each_ready(0, &mut queue, READY_BATCH, |item| {
            handed.push(item);
            item != 3
        }));
        assert_eq!(handed, vec![0, 1, 2, 3]);
        assert_eq!(queue.try_recv().ok(), Some(4));
    }
}
