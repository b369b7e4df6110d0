//! The real-time core of a gateway, shared by the WebSocket sessions and the REST message
//! routes: the fan-out hub, the send path, catch-up, the membership cache, and the
//! bookkeeping of open sockets for a graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use chat_bus::{PersistConfig, PersistPublisher, Sequencer, StreamConfig};
use chat_runtime::config::RedisConfig;
use chat_runtime::shutdown::CancellationToken;
use secrecy::ExposeSecret;
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TaskTrackerToken;

use crate::catchup::CatchUp;
use crate::clients::{HistoryClient, RoomsClient};
use crate::fanout::Hub;
use crate::memberships::Memberships;
use crate::messages::{MessageLimits, Messages};
use crate::ws::WsConfig;

/// Gauge of open, authenticated WebSockets (the autoscaler's custom metric).
pub const CONNECTIONS_METRIC: &str = "chat_gateway_connections";

/// Where the bus lives: Redis (sequence, fan-out) and RabbitMQ (persistence).
#[derive(clap::Args, Debug, Clone)]
pub struct BusConfig {
    // Redis holds the room sequences and carries live events.
    #[command(flatten)]
    pub redis: RedisConfig,

    #[command(flatten)]
    pub stream: StreamConfig,

    // Every message is published to the persist queue, as history consumes it.
    #[command(flatten)]
    pub persist: PersistConfig,
}

/// The shared real-time state. Cheap to clone.
#[derive(Clone)]
pub struct Realtime {
    inner: Arc<Inner>,
}

struct Inner {
    hub: Hub,
    messages: Messages,
    catchup: CatchUp,
    sequencer: Sequencer,
    rooms: RoomsClient,
    redis: redis::aio::ConnectionManager,
    settings: WsConfig,
    allowed_origins: Vec<String>,
    draining: AtomicBool,
    /// Cancelled when the gateway starts draining: every session says `reconnect`.
    drain: CancellationToken,
    /// Cancelled once the sessions are gone: the hub stops.
    stop: CancellationToken,
    sockets: TaskTracker,
    next_socket: AtomicU64,
}

impl Realtime {
    /// Connects to Redis and RabbitMQ and starts the hub.
    pub async fn connect(
        bus: &BusConfig,
        settings: WsConfig,
        allowed_origins: Vec<String>,
        rooms: RoomsClient,
        history: HistoryClient,
    ) -> anyhow::Result<Self> {
        let client = redis::Client::open(bus.redis.redis_url.expose_secret())
            .context("invalid --redis-url")?;
        let redis = chat_runtime::redis_connection::connect(&bus.redis)
            .await
            .context("cannot connect to Redis")?;
        let sequencer = Sequencer::new(
            redis.clone(),
            bus.redis.redis_key_prefix.clone(),
            bus.stream.sequencer_config(),
        );
        // Marks when this Redis began holding the deployment's keys, before anything is
        // appended (see `Sequencer::born`).
        sequencer
            .born()
            .await
            .context("cannot read Redis's born marker")?;
        let publisher = PersistPublisher::connect(
            bus.persist.amqp_url.expose_secret(),
            bus.persist.queue_names(),
        )
        .await
        .context("cannot connect to RabbitMQ")?;
        let memberships = Memberships::new(rooms.clone(), settings.membership_cache_ttl);
        let stop = CancellationToken::new();
        let hub = Hub::start(
            client,
            bus.redis.redis_key_prefix.clone(),
            memberships.clone(),
            stop.clone(),
        );
        let messages = Messages::new(
            sequencer.clone(),
            publisher,
            memberships.clone(),
            history.clone(),
            MessageLimits {
                max_content_chars: settings.max_content_chars,
                sends_per_second: settings.sends_per_second,
            },
        );
        let catchup = CatchUp::new(sequencer.clone(), history, settings.catchup_history_wait);
        tokio::spawn(purge_caches(memberships, messages.clone(), stop.clone()));
        Ok(Self {
            inner: Arc::new(Inner {
                hub,
                messages,
                catchup,
                sequencer,
                rooms,
                redis,
                settings,
                allowed_origins,
                draining: AtomicBool::new(false),
                drain: CancellationToken::new(),
                stop,
                sockets: TaskTracker::new(),
                next_socket: AtomicU64::new(1),
            }),
        })
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    pub fn messages(&self) -> &Messages {
        &self.inner.messages
    }

    pub fn catchup(&self) -> &CatchUp {
        &self.inner.catchup
    }

    pub fn sequencer(&self) -> &Sequencer {
        &self.inner.sequencer
    }

    pub fn rooms(&self) -> RoomsClient {
        self.inner.rooms.clone()
    }

    pub fn settings(&self) -> &WsConfig {
        &self.inner.settings
    }

    pub fn allowed_origins(&self) -> impl Iterator<Item = &str> {
        self.inner.allowed_origins.iter().map(String::as_str)
    }

    /// A process-unique socket number.
    pub fn next_socket_id(&self) -> u64 {
        self.inner.next_socket.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts a socket as open until the token is dropped (the drain waits for it).
    pub fn track_socket(&self) -> TaskTrackerToken {
        self.inner.sockets.token()
    }

    /// Cancelled when the gateway starts draining.
    pub fn draining(&self) -> &CancellationToken {
        &self.inner.drain
    }

    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// Whether Redis answers and the hub is subscribed (for `/readyz`).
    pub async fn check(&self) -> Result<(), String> {
        if !self.inner.hub.is_connected() {
            return Err("the Redis subscriber is not connected".to_owned());
        }
        redis::cmd("PING")
            .query_async::<String>(&mut self.inner.redis.clone())
            .await
            .map(|_| ())
            .map_err(|err| err.to_string())
    }

    /// Stops taking sockets, tells every socket to reconnect elsewhere, and waits (at most
    /// `grace`) for them to flush what was queued for them and close.
    pub async fn drain(&self, grace: Duration) {
        self.inner.draining.store(true, Ordering::SeqCst);
        self.inner.drain.cancel();
        self.inner.sockets.close();
        if tokio::time::timeout(grace, self.inner.sockets.wait())
            .await
            .is_err()
        {
            tracing::warn!(?grace, "sockets still open after the grace period");
        }
        self.inner.stop.cancel();
    }
}

async fn purge_caches(memberships: Memberships, messages: Messages, stop: CancellationToken) {
    let every = memberships.ttl().max(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {
                memberships.purge_expired();
                messages.purge_limiters();
            }
            () = stop.cancelled() => return,
        }
    }
}
