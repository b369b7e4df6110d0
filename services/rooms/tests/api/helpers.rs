//! Starts the real rooms service on port 0 against a fresh database, a unique Redis
//! prefix and a persist queue of its own, and offers typed calls and a Redis subscriber
//! to the tests.

use std::time::Duration;

use chat_bus::{
    Channel as BusChannel, PersistPublisher, QueueNames, RoomEvents, Sequencer, SequencerConfig,
    decode_envelope, decode_item, room_channel, user_channel,
};
use chat_proto::v1::history_service_client::HistoryServiceClient;
use chat_proto::v1::rooms_service_client::RoomsServiceClient;
use chat_proto::v1::{
    BanRequest, ChatMessage, CreateRoomRequest, DeleteRoomRequest, GetRoomRequest, InviteRequest,
    JoinRoomRequest, KickRequest, LeaveRoomRequest, ListEntriesAfterRequest, ListMembersRequest,
    Member, MemberPage, MessageKind, OpenDirectRequest, Role, Room, RoomEnvelope, RoomEvent,
    RoomItem, RoomKind, SetRoleRequest, StoredEntry, UnbanRequest, UpdateRoomRequest, room_item,
};
use chat_rooms::{App, Config};
use chat_runtime::shutdown::CancellationToken;
use chat_runtime::status::RemoteError;
use clap::Parser;
use futures::StreamExt;
use sqlx::Connection;
use tonic::transport::Channel;
use tonic::{Code, Status};
use uuid::Uuid;

/// PostgreSQL server the test databases are created on.
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";
pub const REDIS: &str = "redis://127.0.0.1:6379";
pub const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// How long a test waits for an event before failing instead of hanging.
const EVENT_WAIT: Duration = Duration::from_secs(10);

/// A running rooms service with its own database, Redis prefix and persist queue.
/// Dropping it stops the service and drops the database and the queues.
pub struct TestApp {
    pub client: RoomsServiceClient<Channel>,
    pub channel: Channel,
    pub prefix: String,
    /// Where the service persists room events (history consumes the same queue).
    pub queue: QueueNames,
    pub ops_addr: std::net::SocketAddr,
    database: String,
    shutdown: CancellationToken,
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// The URL of a test database named `name`.
pub fn database_url(name: &str) -> String {
    format!("{POSTGRES}/{name}")
}

pub async fn spawn_app() -> TestApp {
    chat_runtime::telemetry::init_for_tests();
    let id = Uuid::new_v4().simple();
    let database = format!("chat_rooms_test_{id}");
    let prefix = format!("test:rooms:{id}:");
    let queue = QueueNames::with_suffix(&format!("rooms.{id}"));
    let config = Config::try_parse_from([
        "chat-rooms",
        "--database-url",
        &database_url(&database),
        "--database-max-connections",
        "5",
        "--redis-url",
        REDIS,
        "--redis-key-prefix",
        &prefix,
        "--amqp-url",
        AMQP,
        "--persist-queue",
        &queue.queue,
        "--grpc-addr",
        "127.0.0.1:0",
        "--ops-addr",
        "127.0.0.1:0",
    ])
    .expect("test config parses");
    let app = App::build(config).await.expect("the service starts");
    let endpoint = format!("http://{}", app.grpc_addr());
    let ops_addr = app.ops_addr();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run_until(shutdown.clone()));
    let channel = Channel::from_shared(endpoint)
        .expect("endpoint")
        .connect()
        .await
        .expect("the gRPC listener accepts");
    TestApp {
        client: RoomsServiceClient::new(channel.clone()),
        channel,
        prefix,
        queue,
        ops_addr,
        database,
        shutdown,
        running: Some(running),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let database = self.database.clone();
        let queue = self.queue.clone();
        clean_up(async move {
            drop_database(&database).await?;
            let amqp = lapin::Connection::connect(AMQP, Default::default()).await?;
            let channel = amqp.create_channel().await?;
            for name in [&queue.queue, &queue.dead_letter_queue] {
                channel.queue_delete(name, Default::default()).await?;
            }
            channel
                .exchange_delete(&queue.dead_letter_exchange, Default::default())
                .await?;
            amqp.close(200, "done").await?;
            Ok(())
        });
    }
}

/// Runs `cleaning` to its end from a `Drop`, reporting a failure without panicking.
pub fn clean_up(cleaning: impl Future<Output = anyhow::Result<()>> + Send + 'static) {
    // A fresh runtime on its own thread: Drop cannot await, and the test's runtime may be
    // single-threaded.
    let cleaned = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(cleaning)
    })
    .join();
    if let Ok(Err(err)) = cleaned {
        eprintln!("test resources not cleaned up: {err}");
    }
}

/// Drops the test database `name`, even while connections are open.
pub async fn drop_database(name: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(&database_url("postgres")).await?;
    sqlx::query(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// A new user id (the rooms service knows users only by id).
pub fn user() -> Uuid {
    Uuid::new_v4()
}

/// Asserts that a call failed with `code` and the stable `reason`.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, reason: &str) {
    let status = result.expect_err("the call should have been refused");
    let remote = RemoteError::from(&status);
    assert_eq!(
        (remote.code, remote.reason.as_str()),
        (code, reason),
        "unexpected error: {status:?}"
    );
}

/// Asserts a validation failure naming `field`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Status>, field: &str) {
    let status = result.expect_err("the call should have been refused");
    let remote = RemoteError::from(&status);
    assert_eq!(remote.code, Code::InvalidArgument, "{status:?}");
    assert_eq!(remote.reason, "validation_failed");
    assert!(
        remote.fields.iter().any(|(f, _)| f == field),
        "no violation of {field} in {:?}",
        remote.fields
    );
}

impl TestApp {
    /// Cancels the service and waits for it to drain and stop.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        match self.running.take() {
            Some(running) => running.await?,
            None => Ok(()),
        }
    }

    pub fn client(&self) -> RoomsServiceClient<Channel> {
        self.client.clone()
    }

    /// A connection to the service's own database.
    pub async fn database(&self) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(&database_url(&self.database))
            .await
            .expect("the test database")
    }

    pub async fn create_room(&self, owner: Uuid, name: &str, kind: RoomKind) -> Room {
        self.client()
            .create_room(CreateRoomRequest {
                caller_id: owner.to_string(),
                name: name.into(),
                description: None,
                topic: None,
                kind: kind as i32,
            })
            .await
            .expect("room created")
            .into_inner()
    }

    pub async fn get_room(&self, caller: Uuid, room: &str) -> Result<Room, Status> {
        self.client()
            .get_room(GetRoomRequest {
                caller_id: caller.to_string(),
                room_id: room.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Renames the room.
    pub async fn rename(&self, caller: Uuid, room: &str, name: &str) -> Result<Room, Status> {
        self.client()
            .update_room(UpdateRoomRequest {
                caller_id: caller.to_string(),
                room_id: room.into(),
                name: Some(name.into()),
                description: None,
                topic: None,
            })
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn delete_room(&self, caller: Uuid, room: &str) -> Result<(), Status> {
        self.client()
            .delete_room(DeleteRoomRequest {
                caller_id: caller.to_string(),
                room_id: room.into(),
            })
            .await
            .map(|_| ())
    }

    pub async fn join(&self, caller: Uuid, room: &str) -> Result<Room, Status> {
        self.client()
            .join_room(JoinRoomRequest {
                caller_id: caller.to_string(),
                room_id: room.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn leave(&self, caller: Uuid, room: &str) -> Result<(), Status> {
        self.client()
            .leave_room(LeaveRoomRequest {
                caller_id: caller.to_string(),
                room_id: room.into(),
            })
            .await
            .map(|_| ())
    }

    pub async fn kick(&self, caller: Uuid, room: &str, user: Uuid) -> Result<(), Status> {
        self.client()
            .kick(KickRequest {
                caller_id: caller.to_string(),
                room_id: room.into(),
                user_id: user.to_string(),
            })
            .await
            .map(|_| ())
    }

    pub async fn unban(&self, caller: Uuid, room: &str, user: Uuid) -> Result<(), Status> {
        self.client()
            .unban(UnbanRequest {
                caller_id: caller.to_string(),
                room_id: room.into(),
                user_id: user.to_string(),
            })
            .await
            .map(|_| ())
    }

    pub async fn open_direct(&self, caller: Uuid, other: Uuid) -> Result<Room, Status> {
        self.client()
            .open_direct(OpenDirectRequest {
                caller_id: caller.to_string(),
                user_id: other.to_string(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn members_page(
        &self,
        caller: Uuid,
        room: &str,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<MemberPage, Status> {
        self.client()
            .list_members(ListMembersRequest {
                caller_id: caller.to_string(),
                room_id: room.into(),
                cursor,
                limit,
            })
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn invite(&self, caller: Uuid, room: &str, user: Uuid) -> Result<Member, Status> {
        self.client()
            .invite(InviteRequest {
                caller_id: caller.to_string(),
                room_id: room.into(),
                user_id: user.to_string(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn set_role(
        &self,
        caller: Uuid,
        room: &str,
        user: Uuid,
        role: Role,
    ) -> Result<Member, Status> {
        self.client()
            .set_role(SetRoleRequest {
                caller_id: caller.to_string(),
                room_id: room.into(),
                user_id: user.to_string(),
                role: role as i32,
            })
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn ban(
        &self,
        caller: Uuid,
        room: &str,
        user: Uuid,
        until: Option<prost_types::Timestamp>,
    ) -> Result<(), Status> {
        self.client()
            .ban(BanRequest {
                caller_id: caller.to_string(),
                room_id: room.into(),
                user_id: user.to_string(),
                until,
                reason: Some("spam".into()),
            })
            .await
            .map(|_| ())
    }

    /// Every member of the room as `viewer` sees them: user id and role.
    pub async fn roles(&self, viewer: Uuid, room: &str) -> Vec<(String, Role)> {
        let page = self
            .members_page(viewer, room, None, 100)
            .await
            .expect("members listed");
        page.members
            .into_iter()
            .map(|m| {
                let role = m.role();
                (m.user_id, role)
            })
            .collect()
    }

    /// The room sequence as a gateway sees it (same Redis and prefix).
    pub async fn sequencer(&self) -> Sequencer {
        let connection = chat_runtime::redis_connection::connect_url(REDIS)
            .await
            .expect("redis");
        Sequencer::new(connection, self.prefix.clone(), SequencerConfig::default())
    }

    /// Sends a text message to `room` the way a gateway does: sequenced, persisted on this
    /// service's queue with the broker's confirm, then no longer pending.
    pub async fn send(&self, room: &str, sender: Uuid, content: &str) -> (RoomEnvelope, RoomItem) {
        let item = message(room, sender, content);
        let sequencer = self.sequencer().await;
        let appended = sequencer.append(&item).await.expect("appended");
        let publisher = PersistPublisher::connect(AMQP, self.queue.clone())
            .await
            .expect("connect to rabbitmq");
        publisher
            .publish(&appended.bytes, room)
            .await
            .expect("confirmed");
        sequencer
            .confirm(&appended.envelope)
            .await
            .expect("confirm");
        (appended.envelope, item)
    }

    /// A history service storing what this service and its gateways persist (same queue
    /// and Redis prefix), on a database of its own.
    pub async fn spawn_history(&self) -> HistoryApp {
        let database = format!("chat_history_test_{}", Uuid::new_v4().simple());
        let config = chat_history::Config::try_parse_from([
            "chat-history",
            "--database-url",
            &database_url(&database),
            "--database-max-connections",
            "4",
            "--amqp-url",
            AMQP,
            "--persist-queue",
            &self.queue.queue,
            "--redis-url",
            REDIS,
            "--redis-key-prefix",
            &self.prefix,
            "--grpc-addr",
            "127.0.0.1:0",
            "--ops-addr",
            "127.0.0.1:0",
        ])
        .expect("history config parses");
        let app = chat_history::App::build(config)
            .await
            .expect("the history service starts");
        let endpoint = format!("http://{}", app.grpc_addr());
        let shutdown = CancellationToken::new();
        tokio::spawn(app.run_until(shutdown.clone()));
        let client = HistoryServiceClient::connect(endpoint)
            .await
            .expect("the history gRPC listener accepts");
        HistoryApp {
            client,
            database,
            shutdown,
        }
    }

    pub fn room_channel(&self, room: &str) -> String {
        room_channel(&self.prefix, room)
    }

    pub fn user_channel(&self, user: Uuid) -> String {
        user_channel(&self.prefix, user)
    }

    /// A Redis subscriber of `channels`, subscribed before this returns.
    pub async fn listen(&self, channels: &[String]) -> Listener {
        let target =
            chat_runtime::redis_connection::RedisTarget::Node(REDIS.parse().expect("redis url"));
        let messages = chat_runtime::redis_subscriber::Subscriber::listen(&target, channels)
            .await
            .expect("subscribed");
        Listener {
            messages: Box::pin(messages),
            prefix: self.prefix.clone(),
        }
    }
}

/// A text message from `sender` in `room`, as a gateway sequences it.
pub fn message(room: &str, sender: Uuid, content: &str) -> RoomItem {
    let id = Uuid::now_v7().to_string();
    let sent_at = Some(from_now(0));
    RoomItem {
        id: id.clone(),
        room_id: room.to_owned(),
        actor_id: sender.to_string(),
        occurred_at: sent_at,
        body: Some(room_item::Body::Message(ChatMessage {
            id,
            room_id: room.to_owned(),
            sender_id: sender.to_string(),
            client_msg_id: Uuid::new_v4().to_string(),
            content: content.to_owned(),
            reply_to: None,
            reply_preview: None,
            mentions: Vec::new(),
            mentions_room: false,
            thread_root: None,
            attachments: Vec::new(),
            kind: MessageKind::Text as i32,
            sent_at,
        })),
    }
}

/// A running history service with its own database, dropped with it.
pub struct HistoryApp {
    pub client: HistoryServiceClient<Channel>,
    database: String,
    shutdown: CancellationToken,
}

impl HistoryApp {
    /// The first `count` entries stored for `room`, waiting until history has them all
    /// (it consumes the queue in the background).
    pub async fn entries(&self, room: &str, count: usize) -> Vec<StoredEntry> {
        let reading = async {
            loop {
                let page = self
                    .client
                    .clone()
                    .list_entries_after(ListEntriesAfterRequest {
                        room_id: room.to_owned(),
                        after: None,
                        limit: count as u32,
                    })
                    .await
                    .expect("entries listed")
                    .into_inner();
                if page.entries.len() >= count {
                    return page.entries;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(EVENT_WAIT, reading)
            .await
            .unwrap_or_else(|_| panic!("history did not store {count} entries of {room}"))
    }
}

impl Drop for HistoryApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let database = self.database.clone();
        clean_up(async move { drop_database(&database).await });
    }
}

/// Room events heard on some channels, in the order Redis delivered them.
pub struct Listener {
    messages: std::pin::Pin<Box<dyn futures::Stream<Item = redis::Msg> + Send>>,
    prefix: String,
}

impl Listener {
    /// The next event, with its position, and the channel it came on: a room channel
    /// carries it as an entry of the room's sequence (a RoomEnvelope whose RoomItem is the
    /// event, the position in the envelope), a user channel bare with its position.
    pub async fn next(&mut self) -> (String, RoomEvent) {
        let message = tokio::time::timeout(EVENT_WAIT, self.messages.next())
            .await
            .expect("an event arrives")
            .expect("the subscription is open");
        let channel = message.get_channel_name().to_owned();
        let payload = message.get_payload_bytes();
        let event = match BusChannel::parse(&self.prefix, &channel) {
            Some(BusChannel::Room(room)) => {
                let envelope = decode_envelope(payload).expect("a RoomEnvelope");
                let item = decode_item(&envelope).expect("a RoomItem");
                let Some(room_item::Body::RoomEvent(event)) = item.body else {
                    panic!("not a room event: {item:?}");
                };
                assert_eq!(
                    (envelope.room_id.as_str(), item.id.as_str()),
                    (room, event.event_id.as_str())
                );
                assert_eq!(
                    (event.epoch, event.seq),
                    (None, None),
                    "the envelope holds the position"
                );
                RoomEvent {
                    epoch: Some(envelope.epoch),
                    seq: Some(envelope.seq),
                    ..event
                }
            }
            _ => RoomEvents::decode(payload).expect("a RoomEvent"),
        };
        (channel, event)
    }

    /// The next entry of a room's sequence, whatever it is, and the room channel it came
    /// on.
    pub async fn next_entry(&mut self) -> (String, RoomEnvelope) {
        let message = tokio::time::timeout(EVENT_WAIT, self.messages.next())
            .await
            .expect("an entry arrives")
            .expect("the subscription is open");
        let envelope = decode_envelope(message.get_payload_bytes()).expect("a RoomEnvelope");
        (message.get_channel_name().to_owned(), envelope)
    }

    /// The next event, which must arrive once on each of `channels`, at the same position
    /// (and nowhere else among the subscribed channels in between).
    pub async fn expect_on(&mut self, channels: &[String]) -> RoomEvent {
        let (first_channel, event) = self.next().await;
        let mut heard = vec![first_channel];
        while heard.len() < channels.len() {
            let (channel, copy) = self.next().await;
            assert_eq!(copy, event, "a different event arrived on {channel}");
            heard.push(channel);
        }
        heard.sort();
        let mut expected = channels.to_vec();
        expected.sort();
        assert_eq!(heard, expected, "event {event:?}");
        event
    }
}

/// A room with one user of each role, and one outsider.
pub struct Scene {
    pub room: Room,
    pub owner: Uuid,
    pub admin: Uuid,
    pub other_admin: Uuid,
    pub member: Uuid,
    pub other_member: Uuid,
    pub outsider: Uuid,
}

impl Scene {
    pub async fn new(app: &TestApp, kind: RoomKind) -> Self {
        let owner = user();
        let room = app.create_room(owner, "Scene", kind).await;
        let scene = Self {
            room,
            owner,
            admin: user(),
            other_admin: user(),
            member: user(),
            other_member: user(),
            outsider: user(),
        };
        for (user, role) in [
            (scene.admin, Role::Admin),
            (scene.other_admin, Role::Admin),
            (scene.member, Role::Member),
            (scene.other_member, Role::Member),
        ] {
            app.invite(owner, scene.id(), user).await.expect("invited");
            if role != Role::Member {
                app.set_role(owner, scene.id(), user, role)
                    .await
                    .expect("role set");
            }
        }
        scene
    }

    pub fn id(&self) -> &str {
        &self.room.id
    }
}

/// A protobuf timestamp `seconds` from now (negative: in the past).
pub fn from_now(seconds: i64) -> prost_types::Timestamp {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    prost_types::Timestamp {
        seconds: now + seconds,
        nanos: 0,
    }
}
