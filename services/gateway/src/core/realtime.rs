//! The real-time core as one handle: the fan-out hub, the send and read paths, catch-up,
//! the sequencer and the rooms facade, connected to Redis and RabbitMQ.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chat_bus::{ChangeMarks, PersistPublisher, Sequencer};
use chat_runtime::redis_connection::{RedisConnection, RedisTarget};
use chat_runtime::shutdown::CancellationToken;
use secrecy::ExposeSecret;

use crate::core::attachments::Attachments;
use crate::core::catchup::CatchUp;
use crate::core::clients::{AuthClient, FilesClient, HistoryClient, RoomsClient};
use crate::core::fanout::{Hub, HubLimits};
use crate::core::files::Files;
use crate::core::memberships::Memberships;
use crate::core::mentions::Mentions;
use crate::core::message_changes::{MARKS_TTL, MessageChanges};
use crate::core::messages::{MessageLimits, Messages, SendLookups};
use crate::core::presence::{Presence, PresenceConfig};
use crate::core::reactions::Reactions;
use crate::core::read_state::ReadStates;
use crate::core::receipts::{Receipts, ReceiptsConfig};
use crate::core::revocations::Revocations;
use crate::core::room_sizes::RoomSizes;
use crate::core::rooms::Rooms;
use crate::core::search::MessageSearch;
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
    receipts: Receipts,
    search: MessageSearch,
    files: Files,
    catchup: CatchUp,
    sequencer: Sequencer,
    rooms: Rooms,
    typing: Typing,
    revocations: Revocations,
    presence: Presence,
    redis: RedisConnection,
    /// The deployment's Redis key prefix.
    prefix: String,
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
        files: FilesClient,
    ) -> anyhow::Result<Self> {
        let target = RedisTarget::from_config(&bus.redis)
            .context("invalid --redis-url or --redis-cluster")?;
        let redis = target.connect().await.context("cannot connect to Redis")?;
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
            target,
            prefix.clone(),
            memberships.clone(),
            HubLimits {
                typing_timeout: settings.typing_timeout,
                max_lag: settings.subscriber_max_lag,
            },
            stop.clone(),
        );
        let sizes = RoomSizes::new(rooms.clone());
        let typing = Typing::new(
            redis.clone(),
            prefix.clone(),
            sizes.clone(),
            settings.typing_max_room_size,
        );
        let receipts = Receipts::start(
            ReceiptsConfig {
                redis: redis.clone(),
                prefix: prefix.clone(),
                sizes,
                rooms: rooms.clone(),
                history: history.clone(),
                max_room_size: settings.receipts_max_room_size,
            },
            stop.clone(),
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
        let attachments = Attachments::new(files.clone());
        let messages = Messages::new(
            sequencer.clone(),
            publisher,
            memberships.clone(),
            history.clone(),
            SendLookups {
                stored: stored.clone(),
                mentions: Mentions::new(auth.clone(), memberships.clone()),
                attachments: attachments.clone(),
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
            attachments,
            settings.edit_window,
        );
        let reactions = Reactions::new(messages.clone(), changes.clone(), marks.clone());
        let read_states = ReadStates::new(
            history.clone(),
            redis.clone(),
            prefix.clone(),
            receipts.clone(),
        );
        let rooms = Rooms::new(rooms, memberships.clone());
        let search = MessageSearch::new(history.clone(), rooms.clone(), messages.clone());
        let files = Files::new(files, messages.clone());
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
                receipts,
                search,
                files,
                catchup,
                sequencer,
                rooms,
                typing,
                revocations: Revocations::new(redis.clone(), prefix.clone()),
                presence,
                redis,
                prefix: prefix.clone(),
                stop,
            }),
        })
    }

    /// A limit of `per_second` requests per user named `name`, shared by every gateway.
    pub fn user_limit(&self, name: &str, per_second: NonZeroU32) -> UserLimit {
        UserLimit::new(
            self.inner.redis.clone(),
            &self.inner.prefix,
            name,
            per_second,
        )
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

    pub fn receipts(&self) -> &Receipts {
        &self.inner.receipts
    }

    pub fn search(&self) -> &MessageSearch {
        &self.inner.search
    }

    pub fn files(&self) -> &Files {
        &self.inner.files
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
