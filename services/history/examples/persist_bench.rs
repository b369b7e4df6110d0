//! Persistence throughput: envelopes through RabbitMQ into PostgreSQL, batched.
//!
//! Runs the real history service in-process on a fresh database and its own persist
//! queue, then measures three phases and prints messages per second for each:
//!
//! 1. publish: N envelopes published with confirms from several tasks, no consumer
//!    running (the broker alone: the baseline the consumer is compared with);
//! 2. drain: the service started on that backlog, until all N are in PostgreSQL;
//! 3. live: N more published while the service consumes, until all are stored.
//!
//! ```text
//! cargo run --release -p chat-history --example persist_bench -- --messages 200000
//! ```
//!
//! The target is 25,000 messages/s through RabbitMQ into PostgreSQL; `--queues` spreads
//! the rooms over several persist queues, as `PERSIST_QUEUES` does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chat_bus::persist::{QueueNames, declare_topology};
use chat_history::consumer::{BATCH_DURATION_METRIC, BATCH_SIZE_METRIC, PERSISTED_METRIC};
use chat_history::{App, Config};
use chat_proto::v1::{ChatMessage, MessageKind, RoomEnvelope, RoomItem, room_item};
use chat_runtime::shutdown::CancellationToken;
use clap::Parser;
use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeleteOptions, QueueDeleteOptions,
};
use lapin::publisher_confirm::Confirmation;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use prost::Message as _;
use sqlx::PgPool;
use uuid::Uuid;

/// Publishes envelopes to the persist queue and measures how fast the history service
/// stores them.
#[derive(Parser, Debug)]
struct Args {
    /// Envelopes per phase.
    #[arg(long, default_value_t = 200_000)]
    messages: u64,
    /// Concurrent publishing tasks, each on its own channel.
    #[arg(long, default_value_t = 4)]
    publishers: u64,
    /// Unconfirmed publishes each task keeps in flight.
    #[arg(long, default_value_t = 500)]
    in_flight: usize,
    /// Rooms the envelopes are spread over.
    #[arg(long, default_value_t = 200)]
    rooms: u64,
    /// Characters of content per message.
    #[arg(long, default_value_t = 100)]
    content_len: usize,
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp_url: String,
    /// PostgreSQL server; the benchmark creates (and drops) its own database on it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Consumer batch size.
    #[arg(long, default_value_t = 500)]
    batch_size: u16,
    /// Consumer prefetch.
    #[arg(long, default_value_t = 1000)]
    prefetch: u16,
    /// Consumer batch linger.
    #[arg(long, default_value = "20ms")]
    batch_linger: String,
    /// Database connections of the service.
    #[arg(long, default_value_t = 10)]
    database_connections: u32,
    /// Persist queues the rooms are spread over (`PERSIST_QUEUES`).
    #[arg(long, default_value_t = 1)]
    queues: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    chat_runtime::telemetry::init_for_tests();
    let id = Uuid::now_v7().simple().to_string();
    let names = QueueNames::with_suffix(&format!("bench.{id}")).spread_over(args.queues);
    let database_name = format!("chat_history_bench_{id}");
    let database_url = format!("{}/{database_name}", args.postgres);
    let rooms: Vec<Uuid> = (0..args.rooms).map(|_| Uuid::now_v7()).collect();
    let epoch = 1_763_700_000_000;

    let amqp = Connection::connect(&args.amqp_url, ConnectionProperties::default()).await?;
    let setup = amqp.create_channel().await?;
    declare_topology(&setup, &names).await?;

    println!(
        "persist_bench: {} envelopes per phase over {} queue(s), {} publishers x {} in flight, \
         {} rooms, {}-char messages, batch {} / prefetch {} / linger {}",
        args.messages,
        args.queues,
        args.publishers,
        args.in_flight,
        args.rooms,
        args.content_len,
        args.batch_size,
        args.prefetch,
        args.batch_linger
    );

    // 1. publish only
    let started = Instant::now();
    publish(&args, &amqp, &names, &rooms, epoch, 0).await?;
    let publish_rate = rate(args.messages, started.elapsed());
    println!("publish (confirmed, no consumer): {publish_rate:>9.0} msg/s");

    // 2. drain the backlog
    let config = Config::try_parse_from([
        "chat-history",
        "--database-url",
        &database_url,
        "--database-max-connections",
        &args.database_connections.to_string(),
        "--amqp-url",
        &args.amqp_url,
        "--persist-queue",
        &names.queue,
        "--persist-queues",
        &args.queues.to_string(),
        "--redis-url",
        &args.redis_url,
        "--redis-key-prefix",
        &format!("bench:{id}:"),
        "--grpc-addr",
        "127.0.0.1:0",
        "--ops-addr",
        "127.0.0.1:0",
        "--batch-size",
        &args.batch_size.to_string(),
        "--prefetch",
        &args.prefetch.to_string(),
        "--batch-linger",
        &args.batch_linger,
    ])?;
    let app = App::build(config)
        .await
        .context("starting the history service")?;
    let pool = PgPool::connect(&database_url).await?;
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let service = tokio::spawn(app.run_until(shutdown.clone()));
    wait_for_stored(args.messages).await?;
    let drain_rate = rate(args.messages, started.elapsed());
    check_stored(&pool, args.messages).await?;
    println!(
        "drain (backlog into PostgreSQL):  {drain_rate:>9.0} msg/s ({})",
        batch_figures()
    );

    // 3. publish and persist at once
    let started = Instant::now();
    publish(&args, &amqp, &names, &rooms, epoch, args.messages).await?;
    let published = started.elapsed();
    wait_for_stored(2 * args.messages).await?;
    let live_rate = rate(args.messages, started.elapsed());
    check_stored(&pool, 2 * args.messages).await?;
    println!(
        "live (publish + persist):         {live_rate:>9.0} msg/s (publishing took {:.2}s; {} in all)",
        published.as_secs_f64(),
        batch_figures()
    );
    println!(
        "ratios: drain/publish {:.2}, live/publish {:.2}; live vs the 25,000 msg/s target: {:.2}x",
        drain_rate / publish_rate,
        live_rate / publish_rate,
        live_rate / 25_000.0
    );

    shutdown.cancel();
    service.await??;
    pool.close().await;
    for queue in &names.queues {
        let _ = setup
            .queue_delete(queue, QueueDeleteOptions::default())
            .await;
    }
    let _ = setup
        .queue_delete(&names.dead_letter_queue, QueueDeleteOptions::default())
        .await;
    let _ = setup
        .exchange_delete(
            &names.dead_letter_exchange,
            ExchangeDeleteOptions::default(),
        )
        .await;
    let admin = PgPool::connect(&format!("{}/postgres", args.postgres)).await?;
    sqlx::query(&format!(
        "DROP DATABASE IF EXISTS {database_name} WITH (FORCE)"
    ))
    .execute(&admin)
    .await?;
    Ok(())
}

/// Publishes `args.messages` envelopes (positions from `offset` on, round-robin over the
/// rooms) from `args.publishers` tasks, each keeping `args.in_flight` confirms pending.
async fn publish(
    args: &Args,
    amqp: &Connection,
    names: &QueueNames,
    rooms: &[Uuid],
    epoch: u64,
    offset: u64,
) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let content: Arc<str> = "x".repeat(args.content_len).into();
    let mut tasks = Vec::new();
    for _ in 0..args.publishers {
        let channel = amqp.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let next = Arc::clone(&next);
        let rooms = rooms.to_vec();
        let names = names.clone();
        let content = Arc::clone(&content);
        let (total, in_flight) = (args.messages, args.in_flight);
        tasks.push(tokio::spawn(async move {
            let mut pending = FuturesUnordered::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let envelope = envelope(&rooms, epoch, offset + n, &content);
                let confirm = channel
                    .basic_publish(
                        "",
                        names.queue_of(&envelope.room_id),
                        BasicPublishOptions::default(),
                        &envelope.encode_to_vec(),
                        BasicProperties::default().with_delivery_mode(2),
                    )
                    .await?;
                pending.push(confirm);
                while pending.len() >= in_flight {
                    confirmed(pending.next().await)?;
                }
            }
            while let Some(confirm) = pending.next().await {
                confirmed(Some(confirm))?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

fn confirmed(confirm: Option<lapin::Result<Confirmation>>) -> anyhow::Result<()> {
    match confirm {
        Some(Ok(Confirmation::Ack(_))) | None => Ok(()),
        Some(Ok(other)) => anyhow::bail!("the broker did not take a message: {other:?}"),
        Some(Err(err)) => Err(err.into()),
    }
}

/// The `n`-th envelope: room `n % rooms`, seq `n / rooms + 1`.
fn envelope(rooms: &[Uuid], epoch: u64, n: u64, content: &str) -> RoomEnvelope {
    let room_id = rooms[(n % rooms.len() as u64) as usize].to_string();
    let id = Uuid::now_v7().to_string();
    let sender = Uuid::now_v7().to_string();
    let now = prost_types::Timestamp {
        seconds: 1_763_700_000 + (n as i64 / 1000),
        nanos: 0,
    };
    let item = RoomItem {
        id: id.clone(),
        room_id: room_id.clone(),
        actor_id: sender.clone(),
        occurred_at: Some(now),
        body: Some(room_item::Body::Message(ChatMessage {
            id,
            room_id: room_id.clone(),
            sender_id: sender,
            client_msg_id: format!("bench-{n}"),
            content: content.to_owned(),
            reply_to: None,
            reply_preview: None,
            mentions: Vec::new(),
            mentions_room: false,
            thread_root: None,
            attachments: Vec::new(),
            kind: MessageKind::Text as i32,
            sent_at: Some(now),
        })),
    };
    RoomEnvelope {
        epoch,
        seq: n / rooms.len() as u64 + 1,
        item: item.encode_to_vec(),
        room_id,
    }
}

/// Waits until the service reports `count` entries stored. Reads the service's own
/// counter (it runs in this process), so measuring costs PostgreSQL nothing.
async fn wait_for_stored(count: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let stored = metric(PERSISTED_METRIC) as u64;
        if stored >= count {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "only {stored} of {count} stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The current value of one of the service's metrics (it runs in this process).
fn metric(name: &str) -> f64 {
    chat_runtime::ops::metrics_handle()
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_default()
}

/// Mean batch size and mean time per batch (first delivery to acknowledgement) so far.
fn batch_figures() -> String {
    let batches = metric(&format!("{BATCH_SIZE_METRIC}_count"));
    format!(
        "{batches:.0} batches, mean {:.0} entries, mean {:.1} ms from first delivery to ack",
        metric(&format!("{BATCH_SIZE_METRIC}_sum")) / batches,
        metric(&format!("{BATCH_DURATION_METRIC}_sum")) / batches * 1000.0
    )
}

/// Checks in PostgreSQL that exactly `count` entries and messages are stored.
async fn check_stored(pool: &PgPool, count: u64) -> anyhow::Result<()> {
    let (entries, messages): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM room_entries), (SELECT count(*) FROM messages)",
    )
    .fetch_one(pool)
    .await?;
    anyhow::ensure!(
        entries as u64 == count && messages as u64 == count,
        "expected {count} stored, found {entries} entries and {messages} messages"
    );
    Ok(())
}

fn rate(messages: u64, elapsed: Duration) -> f64 {
    messages as f64 / elapsed.as_secs_f64()
}
