//! Starts the real history service against real PostgreSQL, RabbitMQ and Redis, each test
//! with its own database, persist queue and Redis key prefix, and publishes envelopes the
//! way gateways do (persistent, with publisher confirms).

use std::borrow::Cow;
use std::future::Future;
use std::time::Duration;

use chat_bus::persist::QueueNames;
use chat_history::{App, Config};
use chat_proto::v1::history_service_client::HistoryServiceClient;
use chat_proto::v1::{
    ChatMessage, EntryPage, ListEntriesAfterRequest, ListMessagesRequest, MessageDeleted,
    MessageEdited, MessageKind, MessagePage, Position, ReactionChanged, RoomEnvelope, RoomEvent,
    RoomEventKind, RoomItem, room_item,
};
use chat_runtime::shutdown::CancellationToken;
use clap::Parser as _;
use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeleteOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::publisher_confirm::Confirmation;
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use prost::Message as _;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use tokio::task::JoinHandle;
use tonic::transport::Channel as GrpcChannel;
use uuid::Uuid;

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// How long a test waits for something the service does in the background before it
/// fails. A guard against hanging, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(30);

/// What one test owns: a database, a persist queue (with its dead-letter queue), a Redis
/// key prefix, and a publisher on that queue. Services started on it share them, so a
/// test can stop one and start another on the same state.
pub struct TestEnv {
    pub database_url: String,
    database_name: String,
    pub queue: QueueNames,
    pub key_prefix: String,
    pub pool: PgPool,
    publisher: Channel,
    _amqp: Connection,
}

/// A running history service.
pub struct TestApp {
    pub grpc: HistoryServiceClient<GrpcChannel>,
    pub ops_addr: std::net::SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

/// A fresh environment with a service running on it.
pub async fn spawn_app() -> (TestEnv, TestApp) {
    let env = TestEnv::new().await;
    let app = env.start(&[]).await;
    (env, app)
}

impl TestEnv {
    pub async fn new() -> Self {
        chat_runtime::telemetry::init_for_tests();
        let id = Uuid::now_v7().simple().to_string();
        let database_name = format!("chat_history_test_{id}");
        let database_url = format!("{POSTGRES}/{database_name}");
        let queue = QueueNames::with_suffix(&format!("test.{id}"));
        chat_runtime::database::ensure_database(&database_url)
            .await
            .expect("create the test database");
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(&database_url)
            .await
            .expect("connect the test database");
        let amqp = Connection::connect(AMQP_URL, ConnectionProperties::default())
            .await
            .expect("connect to RabbitMQ");
        let publisher = amqp.create_channel().await.expect("open a channel");
        chat_bus::persist::declare_topology(&publisher, &queue)
            .await
            .expect("declare the persist topology");
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirm mode");
        Self {
            database_url,
            database_name,
            queue,
            key_prefix: format!("test:{id}:"),
            pool,
            publisher,
            _amqp: amqp,
        }
    }

    /// The configuration a service of this environment runs with, plus `extra` flags.
    pub fn config(&self, extra: &[&str]) -> Config {
        let mut args = vec![
            "chat-history",
            "--database-url",
            &self.database_url,
            "--database-max-connections",
            "4",
            "--amqp-url",
            AMQP_URL,
            "--persist-queue",
            &self.queue.queue,
            "--redis-url",
            REDIS_URL,
            "--redis-key-prefix",
            &self.key_prefix,
            "--grpc-addr",
            "127.0.0.1:0",
            "--ops-addr",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        Config::try_parse_from(args).expect("valid test configuration")
    }

    /// Builds and runs a service on this environment.
    pub async fn start(&self, extra: &[&str]) -> TestApp {
        let config = self.config(extra);
        assert_eq!(config.consumer.persist.queue_names(), self.queue);
        let app = App::build(config).await.expect("build the history service");
        let grpc_addr = app.grpc_addr();
        let ops_addr = app.ops_addr();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run_until(shutdown.clone()));
        let grpc = HistoryServiceClient::connect(format!("http://{grpc_addr}"))
            .await
            .expect("connect to the gRPC listener");
        TestApp {
            grpc,
            ops_addr,
            shutdown,
            task,
        }
    }

    /// Publishes one envelope the way a gateway does.
    pub async fn publish(&self, envelope: &RoomEnvelope) {
        self.publish_raw(&envelope.encode_to_vec()).await;
    }

    /// Publishes a body as it is (persistent, confirmed).
    pub async fn publish_raw(&self, body: &[u8]) {
        let confirm = self
            .publisher
            .basic_publish(
                "",
                &self.queue.queue,
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .expect("publish")
            .await
            .expect("publisher confirm");
        assert_eq!(
            confirm,
            Confirmation::Ack(None),
            "the broker took the message"
        );
    }

    /// Messages in the persist queue not yet delivered to a consumer.
    pub async fn ready_in_queue(&self) -> u32 {
        self.ready_in(&self.queue.queue).await
    }

    /// Messages in `queue` not yet delivered to a consumer.
    pub async fn ready_in(&self, queue: &str) -> u32 {
        self.publisher
            .queue_declare(
                queue,
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("read the queue depth")
            .message_count()
    }

    /// Takes the next message of the dead-letter queue, waiting for one to arrive
    /// (dead-lettering is asynchronous).
    pub async fn next_dead_letter(&self) -> Vec<u8> {
        eventually("a dead letter", || async {
            self.publisher
                .basic_get(
                    &self.queue.dead_letter_queue,
                    BasicGetOptions { no_ack: true },
                )
                .await
                .expect("basic.get")
                .map(|message| message.delivery.data)
        })
        .await
    }

    /// Entries stored for a room, counted in the database.
    pub async fn stored_entries(&self, room_id: Uuid) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM room_entries WHERE room_id = $1")
            .bind(room_id)
            .fetch_one(&self.pool)
            .await
            .expect("count entries")
    }

    /// Messages stored for a room, counted in the database.
    pub async fn stored_messages(&self, room_id: Uuid) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM messages WHERE room_id = $1")
            .bind(room_id)
            .fetch_one(&self.pool)
            .await
            .expect("count messages")
    }

    /// Waits until a room has at least `count` stored entries.
    pub async fn wait_for_entries(&self, room_id: Uuid, count: i64) {
        eventually(&format!("{count} stored entries"), || async {
            (self.stored_entries(room_id).await >= count).then_some(())
        })
        .await;
    }

    /// Deletes what the environment made (queues, exchange, database).
    pub async fn clean_up(self) {
        let _ = self
            .publisher
            .queue_delete(&self.queue.dead_letter_queue, QueueDeleteOptions::default())
            .await;
        for queue in &self.queue.queues {
            let _ = self
                .publisher
                .queue_delete(queue, QueueDeleteOptions::default())
                .await;
        }
        let _ = self
            .publisher
            .exchange_delete(
                &self.queue.dead_letter_exchange,
                ExchangeDeleteOptions::default(),
            )
            .await;
        self.pool.close().await;
        if let Ok(admin) = PgPoolOptions::new()
            .max_connections(1)
            .connect(&format!("{POSTGRES}/postgres"))
            .await
        {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.database_name
            ))
            .execute(&admin)
            .await;
            admin.close().await;
        }
    }
}

impl TestApp {
    /// The newest page of a room's messages.
    pub async fn messages(&mut self, room_id: Uuid) -> MessagePage {
        self.grpc
            .list_messages(ListMessagesRequest {
                room_id: room_id.to_string(),
                ..ListMessagesRequest::default()
            })
            .await
            .expect("list messages")
            .into_inner()
    }

    /// Every entry of a room's `epoch`, as a catch-up replays them.
    pub async fn entries(&mut self, room_id: Uuid, epoch: u64) -> EntryPage {
        self.grpc
            .list_entries_after(ListEntriesAfterRequest {
                room_id: room_id.to_string(),
                after: Some(Position { epoch, seq: 0 }),
                limit: 0,
            })
            .await
            .expect("list entries")
            .into_inner()
    }

    /// Cancels the service and waits for it to drain and stop.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task
            .await
            .expect("service task")
            .expect("service stopped cleanly");
    }
}

/// History's migrations older than `version`: a database as an earlier release left it.
pub fn migrations_before(version: i64) -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            chat_history::MIGRATOR
                .migrations
                .iter()
                .filter(|m| m.version < version)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    }
}

/// Polls `check` until it yields a value; fails the test after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Builds the envelopes of one room's sequence, as the sequencer would position them.
pub struct Room {
    pub id: Uuid,
    pub sender: Uuid,
    pub epoch: u64,
    next_seq: u64,
    sent: u64,
}

impl Room {
    pub fn new() -> Self {
        Self {
            id: Uuid::now_v7(),
            sender: Uuid::now_v7(),
            epoch: 1_763_700_000_000,
            next_seq: 1,
            sent: 0,
        }
    }

    /// Starts a new epoch (as after Redis lost the room's counter).
    pub fn new_epoch(&mut self) {
        self.epoch += 60_000;
        self.next_seq = 1;
    }

    /// The next position taken by a new chat message.
    pub fn message(&mut self, content: &str) -> RoomEnvelope {
        self.message_with_files(content, Vec::new())
    }

    /// A message carrying `attachments` (kind file).
    pub fn message_with_files(
        &mut self,
        content: &str,
        attachments: Vec<chat_proto::v1::FileInfo>,
    ) -> RoomEnvelope {
        let id = Uuid::now_v7().to_string();
        let kind = if attachments.is_empty() {
            MessageKind::Text
        } else {
            MessageKind::File
        };
        self.sent += 1;
        let body = room_item::Body::Message(ChatMessage {
            id: id.clone(),
            room_id: self.id.to_string(),
            sender_id: self.sender.to_string(),
            client_msg_id: format!("c{}", self.sent),
            content: content.to_owned(),
            reply_to: None,
            reply_preview: None,
            mentions: Vec::new(),
            mentions_room: false,
            thread_root: None,
            attachments,
            kind: kind as i32,
            sent_at: Some(now()),
        });
        self.envelope(id, body)
    }

    pub fn edit(&mut self, message: &RoomEnvelope, content: &str) -> RoomEnvelope {
        let body = room_item::Body::Edited(MessageEdited {
            message_id: item_of(message).id,
            content: content.to_owned(),
            edited_at: Some(now()),
            ..MessageEdited::default()
        });
        self.envelope(Uuid::now_v7().to_string(), body)
    }

    pub fn delete(&mut self, message: &RoomEnvelope) -> RoomEnvelope {
        let body = room_item::Body::Deleted(MessageDeleted {
            message_id: item_of(message).id,
            deleted_at: Some(now()),
        });
        self.envelope(Uuid::now_v7().to_string(), body)
    }

    /// `user` adds (or takes back) a reaction.
    pub fn reaction(
        &mut self,
        message: &RoomEnvelope,
        user: Uuid,
        emoji: &str,
        added: bool,
    ) -> RoomEnvelope {
        let body = room_item::Body::Reaction(ReactionChanged {
            message_id: item_of(message).id,
            emoji: emoji.to_owned(),
            added,
        });
        let mut envelope = self.envelope(Uuid::now_v7().to_string(), body);
        let mut item = item_of(&envelope);
        item.actor_id = user.to_string();
        envelope.item = item.encode_to_vec();
        envelope
    }

    pub fn member_joined(&mut self) -> RoomEnvelope {
        let id = Uuid::now_v7().to_string();
        let body = room_item::Body::RoomEvent(RoomEvent {
            room_id: self.id.to_string(),
            kind: RoomEventKind::MemberJoined as i32,
            user_id: Uuid::now_v7().to_string(),
            actor_id: self.sender.to_string(),
            occurred_at: Some(now()),
            event_id: id.clone(),
            ..RoomEvent::default()
        });
        self.envelope(id, body)
    }

    fn envelope(&mut self, id: String, body: room_item::Body) -> RoomEnvelope {
        let item = RoomItem {
            id,
            room_id: self.id.to_string(),
            actor_id: self.sender.to_string(),
            occurred_at: Some(now()),
            body: Some(body),
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        RoomEnvelope {
            epoch: self.epoch,
            seq,
            item: item.encode_to_vec(),
            room_id: self.id.to_string(),
        }
    }
}

/// The item an envelope carries.
pub fn item_of(envelope: &RoomEnvelope) -> RoomItem {
    RoomItem::decode(envelope.item.as_slice()).expect("test envelopes carry an item")
}

fn now() -> prost_types::Timestamp {
    let now = time::OffsetDateTime::now_utc();
    prost_types::Timestamp {
        seconds: now.unix_timestamp(),
        // Microseconds: what PostgreSQL keeps.
        nanos: (now.microsecond() * 1000) as i32,
    }
}
