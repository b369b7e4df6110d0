//! Appends per second through the sequencer script, against a plain Redis SPUBLISH of the
//! same payload measured in the same run, and confirmed publishes per second to RabbitMQ.
//!
//! ```text
//! cargo run --release -p chat-bus --example sequencer_bench -- [total] [concurrency]
//! ```
//!
//! Uses Redis at `REDIS_URL` (default `redis://127.0.0.1:6379`) and RabbitMQ at `AMQP_URL`
//! (default `amqp://guest:guest@127.0.0.1:5672/%2f`), with keys and queues of its own that
//! it removes at the end.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chat_bus::{PersistPublisher, QueueNames, Sequencer, SequencerConfig};
use chat_proto::v1::{ChatMessage, MessageKind, RoomItem, room_item};
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use prost::Message;

const ROOMS: usize = 50;

struct Figures {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `total` operations, `concurrency` at a time; `op(n)` is the n-th one.
async fn measure<F, Fut>(total: usize, concurrency: usize, op: F) -> Figures
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (op, next) = (Arc::clone(&op), Arc::clone(&next));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        return latencies;
                    }
                    let one = Instant::now();
                    op(n).await;
                    latencies.push(one.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Figures {
        per_second: total as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn report(name: &str, figures: &Figures, baseline: Option<&Figures>) {
    let ratio = baseline
        .map(|b| format!("  ({:.2}x the baseline)", figures.per_second / b.per_second))
        .unwrap_or_default();
    println!(
        "{name:<32} {:>9.0} /s   p50 {:>7.2} ms   p99 {:>7.2} ms{ratio}",
        figures.per_second,
        figures.p50.as_secs_f64() * 1e3,
        figures.p99.as_secs_f64() * 1e3,
    );
}

fn item(room_id: &str, n: usize) -> RoomItem {
    let id = uuid::Uuid::now_v7().to_string();
    RoomItem {
        id: id.clone(),
        room_id: room_id.to_owned(),
        actor_id: "bench-user".into(),
        occurred_at: None,
        body: Some(room_item::Body::Message(ChatMessage {
            id,
            room_id: room_id.to_owned(),
            sender_id: "bench-user".into(),
            client_msg_id: format!("c{n}"),
            content: "x".repeat(100),
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let total: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20_000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(64);
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let amqp_url = std::env::var("AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let run = uuid::Uuid::new_v4().simple().to_string();
    let prefix = format!("bench:{run}:");
    let rooms: Arc<Vec<String>> = Arc::new(
        (0..ROOMS)
            .map(|_| uuid::Uuid::now_v7().to_string())
            .collect(),
    );
    println!("{total} operations, {concurrency} at a time, over {ROOMS} rooms, 100-byte messages");

    let connection = chat_runtime::redis_connection::connect_url(&redis_url).await?;
    let payload = item(&rooms[0], 0).encode_to_vec();
    let publish = {
        let (connection, prefix) = (connection.clone(), prefix.clone());
        measure(total, concurrency, move |n| {
            let mut connection = connection.clone();
            let channel = chat_bus::room_channel(&prefix, n % ROOMS);
            let payload = payload.clone();
            async move {
                let _: i64 = redis::cmd("SPUBLISH")
                    .arg(channel)
                    .arg(payload)
                    .query_async(&mut connection)
                    .await
                    .expect("SPUBLISH");
            }
        })
        .await
    };
    report("redis SPUBLISH (baseline)", &publish, None);

    let sequencer = Sequencer::new(
        connection.clone(),
        prefix.clone(),
        SequencerConfig::default(),
    );
    for (name, with_dedup) in [
        ("sequencer append", false),
        ("sequencer append + dedup", true),
    ] {
        let (sequencer, rooms) = (sequencer.clone(), Arc::clone(&rooms));
        let figures = measure(total, concurrency, move |n| {
            let sequencer = sequencer.clone();
            let item = item(&rooms[n % ROOMS], n);
            async move {
                if with_dedup {
                    sequencer.append_once(&item).await.expect("append once");
                } else {
                    sequencer.append(&item).await.expect("append");
                }
            }
        })
        .await;
        report(name, &figures, Some(&publish));
    }

    let names = QueueNames::with_suffix(&format!("bench.{run}"));
    match PersistPublisher::connect(&amqp_url, names.clone()).await {
        Ok(publisher) => {
            let envelope = sequencer.append(&item(&rooms[0], 0)).await?;
            let figures = measure(total, concurrency, move |_| {
                let (publisher, envelope) = (publisher.clone(), envelope.clone());
                async move {
                    publisher
                        .publish(&envelope.bytes, &envelope.envelope.room_id)
                        .await
                        .expect("publish");
                }
            })
            .await;
            report("rabbitmq publish + confirm", &figures, Some(&publish));
            let connection =
                lapin::Connection::connect(&amqp_url, lapin::ConnectionProperties::default())
                    .await?;
            let channel = connection.create_channel().await?;
            for queue in [&names.queue, &names.dead_letter_queue] {
                channel
                    .queue_delete(queue, QueueDeleteOptions::default())
                    .await?;
            }
            channel
                .exchange_delete(
                    &names.dead_letter_exchange,
                    ExchangeDeleteOptions::default(),
                )
                .await?;
        }
        Err(err) => println!("rabbitmq publish + confirm        skipped: {err}"),
    }

    let mut connection = connection;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await?;
    for chunk in keys.chunks(500) {
        let _: i64 = redis::cmd("DEL")
            .arg(chunk)
            .query_async(&mut connection)
            .await?;
    }
    Ok(())
}
