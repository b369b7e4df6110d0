//! Isolated Redis key spaces, RabbitMQ topologies and sample items for the tests.

use std::net::SocketAddr;
use std::time::Duration;

use chat_bus::{
    QueueNames, RoomEvents, Sequencer, SequencerConfig, declare_topology, room_channel,
    user_channel,
};
use chat_proto::v1::{
    ChatMessage, MessageKind, RoomEnvelope, RoomEvent, RoomEventKind, RoomItem, room_item,
};
use chat_runtime::config::RedisConfig;
use chat_runtime::redis_connection::{RedisConnection, RedisTarget};
use chat_runtime::redis_subscriber::Subscriber;
use futures::{Stream, StreamExt};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, ExchangeDeleteOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, Consumer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// How long a test waits for something that should arrive at once.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The Redis the tests run against: [`REDIS_URL`], or the Redis Cluster whose seed nodes
/// `CHAT_TEST_REDIS_CLUSTER` names (as `make test` sets it for its cluster run).
pub fn redis_target() -> RedisTarget {
    let cluster = std::env::var("CHAT_TEST_REDIS_CLUSTER").unwrap_or_default();
    RedisTarget::from_config(&RedisConfig {
        redis_url: REDIS_URL.into(),
        redis_cluster: cluster
            .split(',')
            .filter(|seed| !seed.trim().is_empty())
            .map(Into::into)
            .collect(),
        redis_key_prefix: String::new(),
    })
    .expect("test Redis settings")
}

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A key space of its own in the shared Redis.
pub struct TestRedis {
    pub connection: RedisConnection,
    pub prefix: String,
}

impl TestRedis {
    pub async fn new() -> Self {
        chat_runtime::telemetry::init_for_tests();
        let connection = redis_target().connect().await.expect("connect to redis");
        Self {
            connection,
            prefix: format!("test:bus:{}:", unique()),
        }
    }

    pub fn sequencer(&self) -> Sequencer {
        self.sequencer_with(SequencerConfig::default())
    }

    pub fn sequencer_with(&self, config: SequencerConfig) -> Sequencer {
        Sequencer::new(self.connection.clone(), self.prefix.clone(), config)
    }

    /// The envelopes published on a room's channel from now on.
    pub async fn subscribe(&self, room_id: &str) -> impl Stream<Item = RoomEnvelope> + use<> {
        let channels = [room_channel(&self.prefix, room_id)];
        let heard = Subscriber::listen(&redis_target(), &channels)
            .await
            .expect("subscribe");
        heard.map(|message| {
            chat_bus::decode_envelope(message.get_payload_bytes()).expect("envelope")
        })
    }

    /// The room events published on the channels of `users` from now on, with the
    /// channel each came on.
    pub async fn subscribe_users(
        &self,
        users: &[&str],
    ) -> impl Stream<Item = (String, RoomEvent)> + use<> {
        let channels: Vec<String> = users
            .iter()
            .map(|user| user_channel(&self.prefix, user))
            .collect();
        let heard = Subscriber::listen(&redis_target(), &channels)
            .await
            .expect("subscribe");
        heard.map(|message| {
            let event = RoomEvents::decode(message.get_payload_bytes()).expect("room event");
            (message.get_channel_name().to_owned(), event)
        })
    }

    pub async fn del(&self, key: &str) {
        let _: i64 = redis::cmd("DEL")
            .arg(key)
            .query_async(&mut self.connection.clone())
            .await
            .expect("DEL");
    }

    /// Removes every key of this test.
    pub async fn cleanup(self) {
        let mut connection = self.connection.clone();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut connection)
            .await
            .expect("KEYS");
        // One by one: in a cluster they live in many slots.
        for key in keys {
            let _: i64 = redis::cmd("UNLINK")
                .arg(key)
                .query_async(&mut connection)
                .await
                .expect("UNLINK");
        }
    }
}

/// Waits for the next item of `stream`, failing the test if none comes.
pub async fn next<S: Stream + Unpin>(stream: &mut S) -> S::Item {
    tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("nothing arrived in time")
        .expect("stream ended")
}

pub fn room() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A text message from `sender_id` in `room_id`, as the gateway would sequence it.
pub fn message(room_id: &str, sender_id: &str, client_msg_id: &str, content: &str) -> RoomItem {
    let id = uuid::Uuid::now_v7().to_string();
    RoomItem {
        id: id.clone(),
        room_id: room_id.to_owned(),
        actor_id: sender_id.to_owned(),
        occurred_at: None,
        body: Some(room_item::Body::Message(ChatMessage {
            id,
            room_id: room_id.to_owned(),
            sender_id: sender_id.to_owned(),
            client_msg_id: client_msg_id.to_owned(),
            content: content.to_owned(),
            reply_to: None,
            reply_preview: None,
            mentions: Vec::new(),
            mentions_room: false,
            thread_root: None,
            attachments: Vec::new(),
            kind: MessageKind::Text as i32,
            sent_at: None,
        })),
    }
}

/// A change of `kind` in `room_id` about `user_id` (empty: nobody), made by `actor_id`
/// now, as the rooms service announces it.
pub fn room_event(kind: RoomEventKind, room_id: &str, user_id: &str, actor_id: &str) -> RoomEvent {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    let mut event = RoomEvent {
        room_id: room_id.to_owned(),
        kind: kind as i32,
        user_id: user_id.to_owned(),
        actor_id: actor_id.to_owned(),
        event_id: uuid::Uuid::now_v7().to_string(),
        ..RoomEvent::default()
    };
    event.occurred_at.get_or_insert_default().seconds = now.as_secs() as i64;
    event
}

/// A persistence topology of its own on the shared RabbitMQ, with a connection of the
/// test's own for consuming and inspecting it.
pub struct TestBroker {
    pub names: QueueNames,
    pub connection: Connection,
    pub channel: Channel,
}

impl TestBroker {
    pub async fn new() -> Self {
        chat_runtime::telemetry::init_for_tests();
        let names = QueueNames::with_suffix(&unique());
        let connection = Connection::connect(AMQP_URL, ConnectionProperties::default())
            .await
            .expect("connect to rabbitmq");
        let channel = connection.create_channel().await.expect("channel");
        declare_topology(&channel, &names)
            .await
            .expect("declare topology");
        Self {
            names,
            connection,
            channel,
        }
    }

    pub async fn consume(&self, queue: &str) -> Consumer {
        let channel = self.connection.create_channel().await.expect("channel");
        channel
            .basic_consume(
                queue,
                &format!("test-{}", unique()),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("consume")
    }

    /// The next delivery, acknowledged.
    pub async fn receive(consumer: &mut Consumer) -> Delivery {
        let delivery = next(consumer).await.expect("delivery");
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
        delivery
    }

    /// Deletes the test's queues and exchange, over a connection of its own: the test's
    /// connection may still be cancelling consumers (a dropped consumer's cancel crossing
    /// the broker's cancel for a deleted queue is a protocol error on that connection).
    pub async fn cleanup(self) {
        let _ = self.connection.close(200, "done").await;
        let connection = Connection::connect(AMQP_URL, ConnectionProperties::default())
            .await
            .expect("connect to rabbitmq");
        let channel = connection.create_channel().await.expect("channel");
        for queue in [&self.names.queue, &self.names.dead_letter_queue] {
            channel
                .queue_delete(queue, QueueDeleteOptions::default())
                .await
                .expect("delete queue");
        }
        channel
            .exchange_delete(
                &self.names.dead_letter_exchange,
                ExchangeDeleteOptions::default(),
            )
            .await
            .expect("delete exchange");
        let _ = connection.close(200, "done").await;
    }
}

/// A TCP relay to RabbitMQ whose connections the test can drop at once, as a broker
/// restart would.
pub struct Relay {
    pub addr: SocketAddr,
    cut: watch::Sender<u64>,
    open: watch::Sender<usize>,
}

impl Relay {
    pub async fn to_rabbitmq() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (cut, _) = watch::channel(0);
        let (open, _) = watch::channel(0);
        let (cuts, opened) = (cut.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cut = cuts.subscribe();
                let open = opened.clone();
                open.send_modify(|count| *count += 1);
                tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect("127.0.0.1:5672").await {
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cut.changed() => {}
                        }
                    }
                    drop(inbound);
                    open.send_modify(|count| *count -= 1);
                });
            }
        });
        Self { addr, cut, open }
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@{}/%2f", self.addr)
    }

    /// Drops every connection open through the relay, and returns once they are closed;
    /// later ones pass again.
    pub async fn cut(&self) {
        let mut open = self.open.subscribe();
        self.cut.send_modify(|generation| *generation += 1);
        open.wait_for(|count| *count == 0)
            .await
            .expect("relay running");
    }
}
