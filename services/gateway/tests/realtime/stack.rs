//! The whole chat stack for one test: real auth, rooms and history services and two
//! gateways, all on port 0, with their own databases, Redis key prefix and RabbitMQ
//! queue, so tests run in parallel and leave nothing behind.

use std::net::SocketAddr;
use std::time::Duration;

use chat_bus::Sequencer;
use chat_proto::v1::history_service_client::HistoryServiceClient;
use chat_proto::v1::rooms_service_client::RoomsServiceClient;
use chat_proto::v1::{
    CreateRoomRequest, JoinRoomRequest, ListEntriesAfterRequest, Position, RoomKind, StoredEntry,
};
use chat_runtime::shutdown::CancellationToken;
use clap::Parser;
use sqlx::migrate::MigrateDatabase;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::socket::Socket;

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";
const REDIS: &str = "redis://127.0.0.1:6379";
const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// How long a test waits for something that should happen before it fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// What the tests tune.
#[derive(Debug, Clone)]
pub struct Options {
    pub stream_max_len: usize,
    pub sends_per_second: u32,
    pub outbound_queue: usize,
    pub auth_timeout: &'static str,
    pub history_wait: &'static str,
    pub allowed_origins: &'static str,
    pub max_connections_per_user: usize,
    pub heartbeat_interval: &'static str,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            stream_max_len: 1000,
            sends_per_second: 1000,
            outbound_queue: 256,
            auth_timeout: "5s",
            history_wait: "15s",
            allowed_origins: "https://chat.example",
            max_connections_per_user: 10,
            heartbeat_interval: "20s",
        }
    }
}

/// A running gateway.
pub struct Gateway {
    pub addr: SocketAddr,
    pub realtime: chat_gateway::realtime::Realtime,
    shutdown: CancellationToken,
    running: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Gateway {
    /// `http://<addr>`.
    pub fn http(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops it as SIGTERM would and waits until it exited.
    pub async fn shut_down(&mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            running.await.expect("gateway task").expect("gateway ran");
        }
    }

    /// Stops it at once, as a crash would: its tasks are aborted mid-flight.
    pub fn kill(&mut self) {
        if let Some(running) = self.running.take() {
            running.abort();
        }
        self.shutdown.cancel();
    }
}

/// A user with a valid access token.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub token: String,
}

pub struct Stack {
    pub options: Options,
    pub prefix: String,
    pub queue: String,
    pub gateways: Vec<Gateway>,
    pub rooms: RoomsServiceClient<Channel>,
    pub history: HistoryServiceClient<Channel>,
    pub sequencer: Sequencer,
    pub redis: redis::aio::ConnectionManager,
    signer: chat_auth::TokenSigner,
    auth_url: String,
    rooms_url: String,
    history_addr: std::sync::Mutex<SocketAddr>,
    history_database: String,
    history_service:
        tokio::sync::Mutex<Option<(CancellationToken, JoinHandle<anyhow::Result<()>>)>>,
    databases: Vec<String>,
    shutdown: CancellationToken,
}

pub async fn spawn() -> Stack {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(options: Options) -> Stack {
    chat_runtime::telemetry::init_for_tests();
    let id = Uuid::new_v4().simple().to_string();
    let prefix = format!("test:gw:{id}:");
    let queue = format!("chat.messages.persist.gw{id}");
    let shutdown = CancellationToken::new();
    let database = |service: &str| format!("{POSTGRES}/chat_gw_{service}_test_{id}");

    let signing_key = chat_auth::generate_signing_key_pem();
    let auth = chat_auth::App::build(
        chat_auth::Config::try_parse_from([
            "chat-auth",
            "--database-url",
            &database("auth"),
            "--database-max-connections",
            "2",
            "--redis-url",
            REDIS,
            "--redis-key-prefix",
            &prefix,
            "--grpc-addr",
            "127.0.0.1:0",
            "--ops-addr",
            "127.0.0.1:0",
            "--signing-key",
            &signing_key,
        ])
        .expect("auth config"),
    )
    .await
    .expect("auth starts");
    let auth_url = format!("http://{}", auth.grpc_addr());
    tokio::spawn(auth.run_until(shutdown.clone()));
    let signer = chat_auth::TokenSigner::new(
        &signing_key,
        "",
        "chat-auth",
        "chat",
        Duration::from_secs(900),
    )
    .expect("signer");

    let rooms = chat_rooms::App::build(
        chat_rooms::Config::try_parse_from([
            "chat-rooms",
            "--database-url",
            &database("rooms"),
            "--database-max-connections",
            "3",
            "--redis-url",
            REDIS,
            "--redis-key-prefix",
            &prefix,
            "--amqp-url",
            AMQP,
            "--persist-queue",
            &queue,
            "--stream-max-len",
            &options.stream_max_len.to_string(),
            "--grpc-addr",
            "127.0.0.1:0",
            "--ops-addr",
            "127.0.0.1:0",
        ])
        .expect("rooms config"),
    )
    .await
    .expect("rooms starts");
    let rooms_url = format!("http://{}", rooms.grpc_addr());
    tokio::spawn(rooms.run_until(shutdown.clone()));

    let redis = redis::aio::ConnectionManager::new(redis::Client::open(REDIS).expect("url"))
        .await
        .expect("redis");
    let mut stack = Stack {
        sequencer: Sequencer::new(
            redis.clone(),
            prefix.clone(),
            chat_bus::SequencerConfig {
                stream_max_len: options.stream_max_len,
                ..Default::default()
            },
        ),
        redis,
        rooms: RoomsServiceClient::new(channel(&rooms_url)),
        history: HistoryServiceClient::new(channel("http://127.0.0.1:1")),
        options,
        prefix,
        queue,
        gateways: Vec::new(),
        signer,
        auth_url,
        rooms_url,
        history_addr: std::sync::Mutex::new("127.0.0.1:0".parse().expect("addr")),
        history_database: database("history"),
        history_service: tokio::sync::Mutex::new(None),
        databases: vec![database("auth"), database("rooms"), database("history")],
        shutdown,
    };
    stack.start_history().await;
    stack.history = HistoryServiceClient::new(channel(&stack.history_url()));
    for _ in 0..2 {
        let gateway = stack.start_gateway().await;
        stack.gateways.push(gateway);
    }
    stack
}

fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_owned())
        .expect("url")
        .connect_lazy()
}

impl Stack {
    fn history_url(&self) -> String {
        format!("http://{}", self.history_addr.lock().expect("lock"))
    }

    /// Starts (or restarts, on the same address) the history service.
    pub async fn start_history(&self) {
        let mut service = self.history_service.lock().await;
        let port = self.history_addr.lock().expect("lock").to_string();
        let history = chat_history::App::build(
            chat_history::Config::try_parse_from([
                "chat-history",
                "--database-url",
                &self.history_database,
                "--database-max-connections",
                "3",
                "--redis-url",
                REDIS,
                "--redis-key-prefix",
                &self.prefix,
                "--amqp-url",
                AMQP,
                "--persist-queue",
                &self.queue,
                "--grpc-addr",
                &port,
                "--ops-addr",
                "127.0.0.1:0",
                "--sweep-interval",
                "200ms",
                "--sweep-age",
                "1s",
                "--shutdown-grace",
                "2s",
            ])
            .expect("history config"),
        )
        .await
        .expect("history starts");
        *self.history_addr.lock().expect("lock") = history.grpc_addr();
        let shutdown = self.shutdown.child_token();
        let running = tokio::spawn(history.run_until(shutdown.clone()));
        *service = Some((shutdown, running));
    }

    /// Stops the history service (its consumer and its gRPC server).
    pub async fn stop_history(&self) {
        if let Some((shutdown, running)) = self.history_service.lock().await.take() {
            shutdown.cancel();
            running.await.expect("history task").expect("history ran");
        }
    }

    /// A gateway of this stack (not started twice: each call is a new one).
    pub async fn start_gateway(&self) -> Gateway {
        let options = &self.options;
        let history_url = self.history_url();
        let config = chat_gateway::Config::try_parse_from([
            "chat-gateway",
            "--http-addr",
            "127.0.0.1:0",
            "--auth-url",
            &self.auth_url,
            "--rooms-url",
            &self.rooms_url,
            "--history-url",
            &history_url,
            "--redis-url",
            REDIS,
            "--redis-key-prefix",
            &self.prefix,
            "--amqp-url",
            AMQP,
            "--persist-queue",
            &self.queue,
            "--stream-max-len",
            &options.stream_max_len.to_string(),
            "--sends-per-second",
            &options.sends_per_second.to_string(),
            "--ws-outbound-queue",
            &options.outbound_queue.to_string(),
            "--ws-auth-timeout",
            options.auth_timeout,
            "--catchup-history-wait",
            options.history_wait,
            "--allowed-origins",
            options.allowed_origins,
            "--max-connections-per-user",
            &options.max_connections_per_user.to_string(),
            "--heartbeat-interval",
            options.heartbeat_interval,
            "--shutdown-grace",
            "5s",
        ])
        .expect("gateway config");
        let app = chat_gateway::App::build(config)
            .await
            .expect("gateway starts");
        let addr = app.http_addr();
        let realtime = app.realtime().clone();
        let shutdown = self.shutdown.child_token();
        let running = tokio::spawn(app.run_until(shutdown.clone()));
        Gateway {
            addr,
            realtime,
            shutdown,
            running: Some(running),
        }
    }

    /// A user with a fresh access token (users need no account for rooms and sockets).
    pub fn user(&self) -> User {
        let id = Uuid::now_v7();
        let token = self.signer.issue(id, Uuid::now_v7()).expect("token").token;
        User { id, token }
    }

    /// A token for `user` that expires `seconds` from now.
    pub fn token_expiring_in(&self, user: Uuid, seconds: i64) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.signer
            .issue_at(user, Uuid::now_v7(), now - 900 + seconds)
            .expect("token")
            .token
    }

    /// A public room owned by `owner`, joined by each of `members`.
    pub async fn room(&self, owner: &User, members: &[&User]) -> Uuid {
        let room = self.room_of_kind(owner, RoomKind::Public).await;
        for member in members {
            self.join(member, &room.to_string()).await;
        }
        room
    }

    /// A room of `kind` owned by `owner`.
    pub async fn room_of_kind(&self, owner: &User, kind: RoomKind) -> Uuid {
        let room = self
            .rooms
            .clone()
            .create_room(CreateRoomRequest {
                caller_id: owner.id.to_string(),
                name: format!("room {}", Uuid::new_v4().simple()),
                description: None,
                topic: None,
                kind: kind as i32,
            })
            .await
            .expect("room created")
            .into_inner();
        room.id.parse().expect("room id")
    }

    pub async fn join(&self, user: &User, room: &str) {
        self.rooms
            .clone()
            .join_room(JoinRoomRequest {
                caller_id: user.id.to_string(),
                room_id: room.to_owned(),
            })
            .await
            .expect("joined");
    }

    /// A socket of `user` on gateway `index`, authenticated, `ready` read.
    pub async fn connect(&self, index: usize, user: &User) -> (Socket, serde_json::Value) {
        self.connect_resuming(index, user, serde_json::json!({}))
            .await
    }

    /// Like [`connect`](Self::connect), resuming from `resume` (`{room: {epoch, position}}`).
    pub async fn connect_resuming(
        &self,
        index: usize,
        user: &User,
        resume: serde_json::Value,
    ) -> (Socket, serde_json::Value) {
        let mut socket = Socket::open(self.gateways[index].addr, &[]).await;
        socket
            .send(serde_json::json!({"type": "auth", "token": user.token, "resume": resume}))
            .await;
        let ready = socket.expect("ready").await;
        (socket, ready)
    }

    /// Every stored entry of `room` (all epochs), oldest first.
    pub async fn stored(&self, room: Uuid) -> Vec<StoredEntry> {
        let mut entries = Vec::new();
        let mut after = Position { epoch: 0, seq: 0 };
        loop {
            let page = self
                .history
                .clone()
                .list_entries_after(ListEntriesAfterRequest {
                    room_id: room.to_string(),
                    after: Some(after),
                    limit: 1000,
                })
                .await
                .expect("history answers")
                .into_inner();
            if let Some(last) = page.entries.last() {
                after = last.position.expect("position");
            }
            entries.extend(page.entries);
            if !page.has_more {
                return entries;
            }
        }
    }

    /// Waits until history holds `room`'s entries up to `position` (of the current
    /// epoch), and returns every stored entry.
    pub async fn stored_through(&self, room: Uuid, position: u64) -> Vec<StoredEntry> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(entries) =
                tokio::time::timeout(Duration::from_secs(5), self.stored(room)).await
                && entries
                    .last()
                    .is_some_and(|entry| entry.position.expect("position").seq >= position)
            {
                return entries;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "history never held {room} through {position}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The chat messages among stored entries (room events are entries too).
pub fn messages(entries: &[StoredEntry]) -> Vec<&chat_proto::v1::ChatMessage> {
    entries
        .iter()
        .filter_map(|entry| match entry.item.as_ref()?.body.as_ref()? {
            chat_proto::v1::room_item::Body::Message(message) => Some(message),
            _ => None,
        })
        .collect()
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let databases = std::mem::take(&mut self.databases);
        let prefix = self.prefix.clone();
        let queue = self.queue.clone();
        // Drop cannot await, and the test's runtime may be single-threaded.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                for database in databases {
                    let _ = sqlx::Postgres::force_drop_database(&database).await;
                }
                forget_redis_keys(&prefix).await;
                forget_queues(&queue).await;
            });
        })
        .join();
    }
}

async fn forget_redis_keys(prefix: &str) {
    let Ok(client) = redis::Client::open(REDIS) else {
        return;
    };
    let Ok(mut connection) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: redis::RedisResult<()> = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut connection)
            .await;
    }
}

async fn forget_queues(queue: &str) {
    let Ok(connection) =
        lapin::Connection::connect(AMQP, lapin::ConnectionProperties::default()).await
    else {
        return;
    };
    if let Ok(channel) = connection.create_channel().await {
        let names = chat_bus::QueueNames::for_queue(queue);
        for name in [&names.queue, &names.dead_letter_queue] {
            let _ = channel
                .queue_delete(name, lapin::options::QueueDeleteOptions::default())
                .await;
        }
        let _ = channel
            .exchange_delete(
                &names.dead_letter_exchange,
                lapin::options::ExchangeDeleteOptions::default(),
            )
            .await;
    }
    let _ = connection.close(0, "test over").await;
}
