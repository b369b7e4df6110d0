//! The real-time core as one handle: the fan-out hub, the send and read paths, catch-up,
//! the sequencer and the rooms facade, connected to Redis and RabbitMQ.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chat_bus::{ChangeMarks, PersistPublisher, Sequencer};
use chat_runtime::shutdown::CancellationToken;
use secrecy::ExposeSecret;

use crate::core::catchup::CatchUp;
use crate::core::clients::{AuthClient, HistoryClient, RoomsClient};
use crate::core::fanout::Hub;
use crate::core::memberships::Memberships;
use crate::core::mentions::Mentions;
use crate::core::message_changes::{MARKS_TTL, MessageChanges};
use crate::core::messages::{MessageLimits, Messages, SendLookups};
use crate::core::presence::{Presence, PresenceConfig};
use crate::core::reactions::Reactions;
use crate::core::read_state::ReadStates;
use crate::core::revocations::Revocations;
use crate::core::rooms::Rooms;
use crate::core::stored_messages::StoredMessages;
use crate::core::typing::Typing;
use crate::core::user_limit::UserLimit;
use crate::settings::{BusConfig, WsConfig};

/// The shared real-time state. Cheap to clone.
#[derive(Clone)]
pub struct Realtime {
    inner: Arc<Inner>,
}

struct Inner {
    hub: Hub,
    messages: Messages,
    changes: MessageChanges,
    reactions: Reactions,
    read_states: ReadStates,
    catchup: CatchUp,
    sequencer: Sequencer,
    rooms: Rooms,
    typing: Typing,
    revocations: Revocations,
    presence: Presence,
    redis: redis::aio::ConnectionManager,
    /// Cancelled once the sockets are gone: the hub stops.
    stop: CancellationToken,
}

impl Realtime {
    /// Connects to Redis and RabbitMQ and starts the hub.
    pub async fn connect(
        bus: &BusConfig,
        settings: &WsConfig,
        auth: AuthClient,
        rooms: RoomsClient,
        history: HistoryClient,
    ) -> anyhow::Result<Self> {
        let client = redis::Client::open(bus.redis.redis_url.expose_secret())
            .context("invalid --redis-url")?;
        let redis = chat_runtime::redis_connection::connect(&bus.redis)
            .await
            .context("cannot connect to Redis")?;
        let prefix = &bus.redis.redis_key_prefix;
        let sequencer =
            Sequencer::new(redis.clone(), prefix.clone(), bus.stream.sequencer_config());
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
            prefix.clone(),
            memberships.clone(),
            settings.typing_timeout,
            stop.clone(),
        );
        let typing = Typing::new(
            redis.clone(),
            prefix.clone(),
            rooms.clone(),
            settings.typing_max_room_size,
        );
        tokio::spawn(purge_typing(
            typing.clone(),
            settings.typing_timeout,
            stop.clone(),
        ));
        let presence = Presence::start(
            redis.clone(),
            prefix.clone(),
            auth.clone(),
            PresenceConfig {
                grace: settings.presence_grace,
                heartbeat: settings.presence_heartbeat,
                enabled: settings.presence,
            },
            stop.clone(),
        );
        let marks = ChangeMarks::new(redis.clone(), prefix.clone(), MARKS_TTL);
        let stored = StoredMessages::new(history.clone(), marks.clone());
        let messages = Messages::new(
            sequencer.clone(),
            publisher,
            memberships.clone(),
            history.clone(),
            SendLookups {
                stored: stored.clone(),
                mentions: Mentions::new(auth.clone(), memberships.clone()),
            },
            MessageLimits {
                max_content_chars: settings.max_content_chars,
                sends_per_second: settings.sends_per_second,
            },
            UserLimit::new(redis.clone(), prefix, "send", settings.sends_per_second),
        );
        let changes = MessageChanges::new(
            messages.clone(),
            memberships.clone(),
            history.clone(),
            stored,
            marks.clone(),
            settings.edit_window,
        );
        let reactions = Reactions::new(messages.clone(), changes.clone(), marks.clone());
        let read_states = ReadStates::new(history.clone(), redis.clone(), prefix.clone());
        let catchup = CatchUp::new(
            sequencer.clone(),
            marks,
            history,
            settings.catchup_history_wait,
        );
        tokio::spawn(purge_cache(memberships.clone(), stop.clone()));
        Ok(Self {
            inner: Arc::new(Inner {
                hub,
                messages,
                changes,
                reactions,
                read_states,
                catchup,
                sequencer,
                rooms: Rooms::new(rooms, memberships),
                typing,
                revocations: Revocations::new(redis.clone(), prefix.clone()),
                presence,
                redis,
                stop,
            }),
        })
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    pub fn messages(&self) -> &Messages {
        &self.inner.messages
    }

    pub fn changes(&self) -> &MessageChanges {
        &self.inner.changes
    }

    pub fn reactions(&self) -> &Reactions {
        &self.inner.reactions
    }

    pub fn read_states(&self) -> &ReadStates {
        &self.inner.read_states
    }

    pub fn catchup(&self) -> &CatchUp {
        &self.inner.catchup
    }

    pub fn sequencer(&self) -> &Sequencer {
        &self.inner.sequencer
    }

    pub fn rooms(&self) -> &Rooms {
        &self.inner.rooms
    }

    pub fn typing(&self) -> &Typing {
        &self.inner.typing
    }

    pub fn revocations(&self) -> &Revocations {
        &self.inner.revocations
    }

    pub fn presence(&self) -> &Presence {
        &self.inner.presence
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

    /// Stops the hub (once the sockets are gone).
    pub fn stop(&self) {
        self.inner.stop.cancel();
    }
}

async fn purge_cache(memberships: Memberships, stop: CancellationToken) {
    let every = memberships.ttl().max(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => memberships.purge_expired(),
            () = stop.cancelled() => return,
        }
    }
}

async fn purge_typing(typing: Typing, timeout: Duration, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(timeout) => typing.purge(timeout),
            () = stop.cancelled() => return,
        }
    }
}
