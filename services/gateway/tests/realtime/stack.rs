//! The whole chat stack for one test (the shared test stack: real auth, rooms and history
//! services and two gateways, isolated per test), with the clients the real-time tests
//! drive it with: users with tokens, rooms over gRPC, sockets, and history's view.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use chat_bus::Sequencer;
use chat_proto::v1::history_service_client::HistoryServiceClient;
use chat_proto::v1::rooms_service_client::RoomsServiceClient;
use chat_proto::v1::{
    CreateRoomRequest, JoinRoomRequest, ListEntriesAfterRequest, Position, RoomKind, StoredEntry,
};
use chat_runtime::redis_connection::RedisConnection;
use chat_test_stack::socket::Socket;
use chat_test_stack::{FileStorage, Flags, StackOptions};
use tonic::transport::Channel;
use uuid::Uuid;

pub use chat_test_stack::PATIENCE;

/// What the tests tune.
#[derive(Debug, Clone)]
pub struct Options {
    pub stream_max_len: usize,
    pub sends_per_second: u32,
    /// Each other kind of frame's limit per socket (tests send fast).
    pub frames_per_second: u32,
    pub outbound_queue: usize,
    pub auth_timeout: &'static str,
    pub history_wait: &'static str,
    pub allowed_origins: &'static str,
    pub max_connections_per_user: usize,
    pub heartbeat_interval: &'static str,
    pub typing_timeout: &'static str,
    /// `--subscriber-max-lag`: how late a room entry may be heard before the hub drops its
    /// subscription and subscribes again.
    pub subscriber_max_lag: &'static str,
    pub typing_max_room_size: u32,
    pub receipts_max_room_size: u32,
    pub presence_grace: &'static str,
    pub presence_heartbeat: &'static str,
    pub presence: &'static str,
    pub edit_window: Option<&'static str>,
    /// Start a files service (storing in `file_storage`).
    pub files: bool,
    pub file_storage: FileStorage,
    /// The files service's `--max-file-size`.
    pub files_max_size: Option<&'static str>,
    /// Push notifications on, with this VAPID key (base64url), a short delay, and push
    /// endpoints on this machine allowed.
    pub vapid_private_key: Option<String>,
    /// How long a message waits before anyone is told (`--notify-delay`).
    pub notify_delay: &'static str,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            stream_max_len: 1000,
            sends_per_second: 1000,
            frames_per_second: 1000,
            outbound_queue: 256,
            auth_timeout: "5s",
            history_wait: "15s",
            allowed_origins: "https://chat.example",
            max_connections_per_user: 10,
            heartbeat_interval: "20s",
            typing_timeout: "6s",
            subscriber_max_lag: "30s",
            typing_max_room_size: 100,
            receipts_max_room_size: 50,
            presence_grace: "300ms",
            presence_heartbeat: "200ms",
            presence: "on",
            edit_window: None,
            files: false,
            file_storage: FileStorage::Directory,
            files_max_size: None,
            vapid_private_key: None,
            notify_delay: NOTIFY_DELAY,
        }
    }
}

/// How long a message waits before anyone is told, in stacks with push notifications.
pub const NOTIFY_DELAY: &str = "400ms";

impl Options {
    /// The services as these options tune them.
    fn stack_options(&self) -> StackOptions {
        let history = Flags::from([
            ("--database-max-connections", "3"),
            ("--sweep-interval", "200ms"),
            ("--sweep-age", "1s"),
            ("--shutdown-grace", "2s"),
        ]);
        let mut gateway = Flags::new();
        if let Some(window) = self.edit_window {
            gateway = gateway.set("--edit-window", window);
        }
        StackOptions {
            auth: Flags::new().set("--database-max-connections", 2),
            rooms: Flags::new()
                .set("--database-max-connections", 3)
                .set("--stream-max-len", self.stream_max_len),
            history: Some(match &self.vapid_private_key {
                Some(key) => history
                    .set("--vapid-private-key", key)
                    .set("--push-allow-http", true)
                    .set("--notify-delay", self.notify_delay)
                    .set("--notify-interval", "50ms"),
                None => history,
            }),
            gateway: gateway
                .set("--stream-max-len", self.stream_max_len)
                .set("--sends-per-second", self.sends_per_second)
                .set("--ws-requests-per-second", self.frames_per_second)
                .set("--ws-membership-changes-per-second", self.frames_per_second)
                .set("--ws-signals-per-second", self.frames_per_second)
                .set("--rest-reads-per-second", self.frames_per_second)
                .set("--rest-writes-per-second", self.frames_per_second)
                .set("--ws-outbound-queue", self.outbound_queue)
                .set("--ws-auth-timeout", self.auth_timeout)
                .set("--catchup-history-wait", self.history_wait)
                .set("--allowed-origins", self.allowed_origins)
                .set("--max-connections-per-user", self.max_connections_per_user)
                .set("--heartbeat-interval", self.heartbeat_interval)
                .set("--typing-timeout", self.typing_timeout)
                .set("--subscriber-max-lag", self.subscriber_max_lag)
                .set("--typing-max-room-size", self.typing_max_room_size)
                .set("--receipts-max-room-size", self.receipts_max_room_size)
                .set("--presence-grace", self.presence_grace)
                .set("--presence-heartbeat", self.presence_heartbeat)
                .set("--presence", self.presence)
                .set("--shutdown-grace", "5s"),
            gateways: 2,
            files: self.files.then(|| match self.files_max_size {
                Some(size) => Flags::new().set("--max-file-size", size),
                None => Flags::new(),
            }),
            file_storage: self.file_storage,
        }
    }
}

/// A user with a valid access token.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub token: String,
}

/// The shared stack (gateways, history restarts, the scope's names), plus clients.
pub struct Stack {
    pub rooms: RoomsServiceClient<Channel>,
    pub history: HistoryServiceClient<Channel>,
    pub sequencer: Sequencer,
    pub redis: RedisConnection,
    signer: chat_auth::TokenSigner,
    services: chat_test_stack::Stack,
}

impl Deref for Stack {
    type Target = chat_test_stack::Stack;

    fn deref(&self) -> &Self::Target {
        &self.services
    }
}

impl DerefMut for Stack {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.services
    }
}

pub async fn spawn() -> Stack {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(options: Options) -> Stack {
    let services = chat_test_stack::Stack::spawn("gw", options.stack_options()).await;
    let signer = chat_auth::TokenSigner::new(
        &services.signing_key_pem,
        "",
        "chat-auth",
        "chat",
        Duration::from_secs(900),
    )
    .expect("signer");
    let redis = chat_test_stack::scope::redis_connection().await;
    Stack {
        sequencer: Sequencer::new(
            redis.clone(),
            services.scope.redis_key_prefix.clone(),
            chat_bus::SequencerConfig {
                stream_max_len: options.stream_max_len,
                ..Default::default()
            },
        ),
        redis,
        rooms: RoomsServiceClient::new(channel(&services.rooms_url())),
        history: HistoryServiceClient::new(channel(
            &services.history_url().expect("a stack with history"),
        )),
        signer,
        services,
    }
}

fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_owned())
        .expect("url")
        .connect_lazy()
}

impl Stack {
    /// A user with a fresh access token (users need no account for rooms and sockets).
    pub fn user(&self) -> User {
        let id = Uuid::now_v7();
        let token = self.signer.issue(id, Uuid::now_v7()).expect("token").token;
        User { id, token }
    }

    /// `METHOD /api/{path}` on gateway `index` as `user`, with a JSON body when given:
    /// the status and the JSON answer (null when there is none).
    pub async fn api(
        &self,
        index: usize,
        user: &User,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}/api/{path}", self.gateways[index].url()))
            .bearer_auth(&user.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("gateway answers");
        let status = response.status();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// A user with an account (a username others can mention), signed in.
    pub async fn registered(&self, username: &str) -> User {
        let mut auth = chat_proto::v1::auth_service_client::AuthServiceClient::new(channel(
            &self.services.auth_url(),
        ));
        let answer = auth
            .register(chat_proto::v1::RegisterRequest {
                username: username.to_owned(),
                email: format!("{username}@example.com"),
                password: "correct horse battery".to_owned(),
                ..Default::default()
            })
            .await
            .expect("registered")
            .into_inner();
        let id: Uuid = answer.user.expect("a user").id.parse().expect("a UUID");
        let token = self.signer.issue(id, Uuid::now_v7()).expect("token").token;
        User { id, token }
    }

    /// The same user signed in again: a token of another session (another device).
    pub fn another_session(&self, user: &User) -> User {
        let token = self
            .signer
            .issue(user.id, Uuid::now_v7())
            .expect("token")
            .token;
        User { id: user.id, token }
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

    /// Like [`connect`](Self::connect), as a client connects: told to come back (close
    /// 1011 or 1013, a dependency too slow to list the user's rooms), it comes back, up to
    /// five times.
    pub async fn connect_as_a_client(&self, index: usize, user: &User) -> Socket {
        for _ in 0..5 {
            let mut socket = Socket::open(self.gateways[index].addr, &[]).await;
            socket
                .send(serde_json::json!({"type": "auth", "token": user.token}))
                .await;
            match socket.first_frame_or_close().await {
                Ok(frame) if frame["type"] == "ready" => return socket,
                Err(Some(1011 | 1013)) => tokio::time::sleep(Duration::from_millis(250)).await,
                other => panic!("expected `ready`, got {other:?}"),
            }
        }
        panic!("gateway {index} told the user to come back five times");
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

impl Stack {
    /// Makes Redis drop the subscriber connection of gateway `index`, which reconnects
    /// and has its sockets look for what they missed.
    /// Moves `user` out of `from` and into `to` in the rooms database itself, so that
    /// no room event announces either change: what a gateway sees of changes whose
    /// events it missed.
    pub async fn move_member_unannounced(&self, user: Uuid, from: Uuid, to: Uuid) {
        let pool = sqlx::PgPool::connect(&self.scope.database("rooms"))
            .await
            .expect("rooms database");
        sqlx::query("DELETE FROM room_members WHERE room_id = $1 AND user_id = $2")
            .bind(from)
            .bind(user)
            .execute(&pool)
            .await
            .expect("removed");
        sqlx::query("INSERT INTO room_members (room_id, user_id, role) VALUES ($1, $2, 'member')")
            .bind(to)
            .bind(user)
            .execute(&pool)
            .await
            .expect("added");
        pool.close().await;
    }

    /// Deletes every Redis key of the stack, as a Redis restart (it keeps nothing on
    /// disk) would lose them.
    pub async fn forget_redis_data(&self) {
        chat_test_stack::scope::forget_keys(&self.redis, &self.scope.redis_key_prefix).await;
    }

    /// Has Redis drop every subscriber connection of gateway `index` (one per shard).
    pub async fn kill_subscriber(&self, index: usize) {
        let links = self.gateways[index].realtime.hub().subscriber_links();
        assert!(!links.is_empty(), "a subscriber over TCP");
        for (node, local) in links {
            let client = redis::Client::open(format!("redis://{node}")).expect("node url");
            let mut connection = client
                .get_multiplexed_async_connection()
                .await
                .expect("node");
            let _: () = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("ADDR")
                .arg(local.to_string())
                .query_async(&mut connection)
                .await
                .expect("killed");
        }
    }

    /// Replaces the Redis counter of each of `rooms` with a key of the wrong type, so that
    /// nobody can read a position there or append, for the rest of the test.
    pub async fn silence_counters(&self, rooms: &[Uuid]) {
        for room in rooms {
            let key = self.sequencer.room_keys(&room.to_string()).seq();
            let () = redis::pipe()
                .atomic()
                .cmd("DEL")
                .arg(&key)
                .ignore()
                .cmd("SET")
                .arg(&key)
                .arg("not a counter")
                .ignore()
                .query_async(&mut self.redis.clone())
                .await
                .expect("counter replaced");
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
