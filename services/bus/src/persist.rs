//! The way from a sequenced envelope to history: RabbitMQ with publisher confirms.
//!
//! # Topology ([`declare_topology`], shared by publisher and consumer)
//!
//! - `chat.messages.persist`: a durable quorum queue (replicated on a RabbitMQ cluster)
//!   whose bodies are encoded [`RoomEnvelope`]s. With `PERSIST_QUEUES` above 1 the rooms
//!   are spread over that many queues (`chat.messages.persist`, `chat.messages.persist.q1`,
//!   ...) by a stable hash of the room id ([`QueueNames::queue_of`]): one quorum queue has
//!   one leader, so throughput grows with the queues. A room's entries all go to one
//!   queue; history orders them by position, not by arrival, either way. A message redelivered more than
//!   [`DELIVERY_LIMIT`] times (a poison message) is dead-lettered, at-least-once (the
//!   queue rejects publishes when it is full rather than dropping old messages, which
//!   at-least-once dead-lettering requires).
//! - `chat.messages.dlx`: a durable fanout exchange receiving the dead letters.
//! - `chat.messages.persist.dlq`: a durable quorum queue bound to it, for a person to
//!   look at.
//!
//! # Promise
//!
//! [`PersistPublisher::publish`] returns `Ok` only once the broker confirmed the message:
//! it is then on the quorum queue's disk (on a majority of nodes in a cluster). Messages
//! are published `mandatory`, so a missing queue is an error rather than a silent drop.
//! A publish that failed because the connection broke is retried once on a fresh
//! connection, which can store the message twice: the history consumer is idempotent by
//! position.
//!
//! Each message carries the publisher's trace context in the W3C `traceparent` header;
//! the consumer continues the trace with [`extract_trace_context`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chat_proto::v1::RoomEnvelope;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::publisher_confirm::Confirmation;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt as _;
use secrecy::SecretString;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::BusError;
use crate::keys::pending_member;
use crate::sequencer::decode_envelope;

/// Histogram of the time from publish to broker confirm (retry included), in seconds.
pub const PUBLISH_DURATION_METRIC: &str = "chat_bus_persist_publish_duration_seconds";
/// Counter of publishes that ended in an error (after the retry).
pub const PUBLISH_FAILURES_METRIC: &str = "chat_bus_persist_publish_failures_total";
/// Counter of new connections made to replace a broken one.
pub const RECONNECTS_METRIC: &str = "chat_bus_persist_reconnects_total";

/// How many times the broker delivers a message before dead-lettering it.
pub const DELIVERY_LIMIT: i32 = 10;
/// The content type of every persisted body.
pub const CONTENT_TYPE: &str = "application/x-protobuf";
/// How long [`PersistPublisher::publish`] waits for a confirm (and a reconnect for its
/// connection) unless told otherwise.
pub const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the persist queue lives: the RabbitMQ settings every process that publishes to
/// it or consumes it reads (`--amqp-url`, `--persist-queue`), to `#[command(flatten)]`
/// into its configuration.
#[derive(clap::Args, Debug, Clone)]
pub struct PersistConfig {
    /// RabbitMQ URL (AMQP 0-9-1), through which every message and room event reaches
    /// history.
    #[arg(
        long = "amqp-url",
        env = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    pub amqp_url: SecretString,

    /// The durable quorum queue every message and room event is published to and history
    /// consumes. Its dead-letter exchange and queue are named after it
    /// (`chat.messages.dlx[.<suffix>]`, `<queue>.dlq`).
    #[arg(
        long = "persist-queue",
        env = "PERSIST_QUEUE",
        default_value = "chat.messages.persist"
    )]
    pub persist_queue: String,

    /// How many queues the rooms are spread over (1 to 64): publishers send a room's
    /// entries to its queue, history consumes all of them. Change it without losing
    /// anything as docs/operations.md says (history first when raising it, last when
    /// lowering it).
    #[arg(
        long = "persist-queues",
        env = "PERSIST_QUEUES",
        default_value_t = 1,
        value_parser = clap::value_parser!(u16).range(1..=64)
    )]
    pub persist_queues: u16,
}

impl PersistConfig {
    /// The topology named after the configured queue ([`QueueNames::for_queue`]), spread
    /// over the configured number of queues.
    pub fn queue_names(&self) -> QueueNames {
        QueueNames::for_queue(&self.persist_queue).spread_over(self.persist_queues)
    }
}

/// The names of the persistence topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueNames {
    /// The first (with one queue, the only) quorum queue the history service consumes.
    pub queue: String,
    /// Every queue the rooms are spread over, `queue` first.
    pub queues: Vec<String>,
    /// The exchange that receives the queue's dead letters.
    pub dead_letter_exchange: String,
    /// The queue that keeps the dead letters.
    pub dead_letter_queue: String,
}

impl Default for QueueNames {
    fn default() -> Self {
        Self::named("chat.messages.persist", "chat.messages.dlx")
    }
}

impl QueueNames {
    /// The standard names, each ending in `.{suffix}`: a topology of its own (tests).
    pub fn with_suffix(suffix: &str) -> Self {
        Self::named(
            &format!("chat.messages.persist.{suffix}"),
            &format!("chat.messages.dlx.{suffix}"),
        )
    }

    /// The topology of the persist queue named `queue`, named as every process of a
    /// deployment names it from that one setting: the standard names, a suffixed copy of
    /// them (`chat.messages.persist.<suffix>`), or `<queue>.dlx` and `<queue>.dlq`.
    pub fn for_queue(queue: &str) -> Self {
        let standard = Self::default();
        if queue == standard.queue {
            return standard;
        }
        match queue
            .strip_prefix(standard.queue.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
        {
            Some(suffix) => Self::with_suffix(suffix),
            None => Self::named(queue, &format!("{queue}.dlx")),
        }
    }

    /// The same topology with the rooms spread over `count` queues: `queue`, then
    /// `<queue>.q1` to `<queue>.q<count - 1>` (all dead-lettering to the one exchange).
    pub fn spread_over(mut self, count: u16) -> Self {
        self.queues = std::iter::once(self.queue.clone())
            .chain((1..count).map(|i| format!("{}.q{i}", self.queue)))
            .collect();
        self
    }

    /// The queue of `room_id`: FNV-1a of the id modulo the number of queues, the same in
    /// every process and every version (a room moving between queues would have entries
    /// in two at once).
    pub fn queue_of(&self, room_id: &str) -> &str {
        use std::hash::Hasher as _;
        let mut hasher = fnv::FnvHasher::default();
        hasher.write(room_id.as_bytes());
        let count = self.queues.len() as u64;
        &self.queues[usize::try_from(hasher.finish() % count).unwrap_or_default()]
    }

    fn named(queue: &str, dead_letter_exchange: &str) -> Self {
        Self {
            queue: queue.to_owned(),
            queues: vec![queue.to_owned()],
            dead_letter_exchange: dead_letter_exchange.to_owned(),
            dead_letter_queue: format!("{queue}.dlq"),
        }
    }
}

/// Declares the persistence queues, their dead-letter exchange and queue, and the binding
/// between them. Idempotent; fails (and closes `channel`) when one of them already
/// exists with other arguments.
pub async fn declare_topology(channel: &Channel, names: &QueueNames) -> Result<(), BusError> {
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .exchange_declare(
            &names.dead_letter_exchange,
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;

    let mut dead_letter_args = FieldTable::default();
    dead_letter_args.insert("x-queue-type".into(), text("quorum"));
    channel
        .queue_declare(&names.dead_letter_queue, durable, dead_letter_args)
        .await?;
    channel
        .queue_bind(
            &names.dead_letter_queue,
            &names.dead_letter_exchange,
            "",
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;

    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), text("quorum"));
    args.insert(
        "x-dead-letter-exchange".into(),
        text(&names.dead_letter_exchange),
    );
    args.insert("x-dead-letter-strategy".into(), text("at-least-once"));
    args.insert("x-overflow".into(), text("reject-publish"));
    args.insert(
        "x-delivery-limit".into(),
        AMQPValue::LongInt(DELIVERY_LIMIT),
    );
    for queue in &names.queues {
        channel.queue_declare(queue, durable, args.clone()).await?;
    }
    Ok(())
}

/// The trace context a publisher put in a message's headers (an empty context when it
/// carries none). Use it as the parent of the consumer's span.
pub fn extract_trace_context(headers: &FieldTable) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    })
}

/// Publishes envelopes to the persistence queue and waits for the broker's confirm.
///
/// Cheap to clone; clones share one connection and one confirm-mode channel, on which
/// any number of tasks publish at once. When the connection broke (RabbitMQ restarted),
/// the next publish reconnects (one task does, the others wait for it).
#[derive(Clone)]
pub struct PersistPublisher {
    shared: Arc<Shared>,
    confirm_timeout: Duration,
}

struct Shared {
    url: String,
    names: QueueNames,
    link: RwLock<Arc<Link>>,
    reconnecting: tokio::sync::Mutex<()>,
    generations: AtomicU64,
}

/// One connection with its confirm-mode channel.
struct Link {
    generation: u64,
    connection: Connection,
    channel: Channel,
}

impl Link {
    async fn open(
        url: &str,
        names: &QueueNames,
        generation: u64,
        timeout: Duration,
    ) -> Result<Self, BusError> {
        let opening = async {
            let properties = ConnectionProperties::default()
                .with_connection_name(LongString::from("chat-bus persist publisher"));
            let connection = Connection::connect(url, properties).await?;
            connection.on_error(|err| {
                tracing::warn!(error = %err, "persistence connection to RabbitMQ failed");
            });
            let channel = connection.create_channel().await?;
            declare_topology(&channel, names).await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            Ok(Self {
                generation,
                connection,
                channel,
            })
        };
        tokio::time::timeout(timeout, opening)
            .await
            .map_err(|_| BusError::Timeout {
                what: "connecting to rabbitmq",
                after: timeout,
            })?
    }

    fn is_open(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }
}

impl std::fmt::Debug for PersistPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistPublisher")
            .field("names", &self.shared.names)
            .field("confirm_timeout", &self.confirm_timeout)
            .finish_non_exhaustive()
    }
}

impl PersistPublisher {
    /// Connects to `amqp_url`, declares the topology and enables publisher confirms.
    pub async fn connect(amqp_url: &str, names: QueueNames) -> Result<Self, BusError> {
        let link = Link::open(amqp_url, &names, 0, DEFAULT_CONFIRM_TIMEOUT).await?;
        Ok(Self {
            shared: Arc::new(Shared {
                url: amqp_url.to_owned(),
                names,
                link: RwLock::new(Arc::new(link)),
                reconnecting: tokio::sync::Mutex::new(()),
                generations: AtomicU64::new(1),
            }),
            confirm_timeout: DEFAULT_CONFIRM_TIMEOUT,
        })
    }

    /// The same publisher, waiting at most `timeout` for each confirm.
    pub fn with_confirm_timeout(mut self, timeout: Duration) -> Self {
        self.confirm_timeout = timeout;
        self
    }

    /// A readiness check: the connection to the broker is open, or can be opened again
    /// now (an idle process notices a restarted broker here, not at its next publish).
    pub async fn check(&self) -> Result<(), String> {
        let link = self.current_link();
        if link.is_open() {
            return Ok(());
        }
        self.relink(link.generation)
            .await
            .map(|_| ())
            .map_err(|err| err.to_string())
    }

    /// The topology this publisher publishes to.
    pub fn queue_names(&self) -> &QueueNames {
        &self.shared.names
    }

    /// Publishes one encoded [`RoomEnvelope`] of `room_id` as a persistent message and
    /// returns once the broker confirmed it (see the module docs for the promise).
    pub async fn publish(&self, envelope_bytes: &[u8], room_id: &str) -> Result<(), BusError> {
        let queue = self.shared.names.queue_of(room_id);
        self.publish_to(envelope_bytes, room_id, queue).await
    }

    // Named as OpenTelemetry's messaging conventions say: `publish` and the destination,
    // which is the queue (the default exchange routes by the queue's name). The name is
    // set when the span starts: exporters take it from there.
    #[tracing::instrument(
        name = "persist.publish",
        skip(self, envelope_bytes, queue),
        fields(
            otel.name = %format_args!("publish {queue}"),
            otel.kind = "producer",
            messaging.system = "rabbitmq",
            messaging.operation.type = "send",
            messaging.operation.name = "publish",
            messaging.destination.name = %queue,
            messaging.rabbitmq.destination.routing_key = %queue,
        )
    )]
    async fn publish_to(
        &self,
        envelope_bytes: &[u8],
        room_id: &str,
        queue: &str,
    ) -> Result<(), BusError> {
        let started = Instant::now();
        let outcome = self
            .publish_with_retry(envelope_bytes, room_id, queue)
            .await;
        metrics::histogram!(PUBLISH_DURATION_METRIC).record(started.elapsed().as_secs_f64());
        if let Err(err) = &outcome {
            metrics::counter!(PUBLISH_FAILURES_METRIC).increment(1);
            tracing::warn!(error = %err, room_id, "persistence publish failed");
        }
        outcome
    }

    async fn publish_with_retry(
        &self,
        payload: &[u8],
        room_id: &str,
        queue: &str,
    ) -> Result<(), BusError> {
        let envelope = decode_envelope(payload)?;
        if envelope.room_id != room_id {
            return Err(BusError::Invalid(format!(
                "envelope of room {:?} published for room {room_id:?}",
                envelope.room_id
            )));
        }
        let properties = self.properties(&envelope);

        let mut link = self.current_link();
        if !link.is_open() {
            link = self.relink(link.generation).await?;
        }
        match self
            .publish_on(&link, queue, payload, properties.clone())
            .await
        {
            Err(err) if breaks_link(&err) => {
                tracing::info!(error = %err, "persistence link broken; reconnecting to retry");
                let link = self.relink(link.generation).await?;
                self.publish_on(&link, queue, payload, properties).await
            }
            outcome => outcome,
        }
    }

    fn properties(&self, envelope: &RoomEnvelope) -> BasicProperties {
        let mut headers = FieldTable::default();
        let context = current_trace_context();
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&context, &mut HeaderInjector(&mut headers));
        });
        BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type(ShortString::from(CONTENT_TYPE))
            .with_message_id(ShortString::from(pending_member(
                &envelope.room_id,
                envelope.epoch,
                envelope.seq,
            )))
            .with_headers(headers)
    }

    /// Publishes on `link` and waits for the confirm, all within the confirm timeout (a
    /// broker short of memory or disk blocks publishers rather than failing them).
    async fn publish_on(
        &self,
        link: &Link,
        queue: &str,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<(), BusError> {
        let confirmed = async {
            let confirm = link
                .channel
                .basic_publish(
                    "",
                    queue,
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    payload,
                    properties,
                )
                .await?;
            confirm.await
        };
        let confirmation = tokio::time::timeout(self.confirm_timeout, confirmed)
            .await
            .map_err(|_| BusError::Timeout {
                what: "publisher confirm",
                after: self.confirm_timeout,
            })??;
        match confirmation {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(returned)) => Err(BusError::Refused(format!(
                "returned as unroutable: {} {}",
                returned.reply_code, returned.reply_text
            ))),
            Confirmation::Nack(_) => Err(BusError::Refused("nacked".into())),
            Confirmation::NotRequested => Err(BusError::Refused(
                "the channel is not in confirm mode".into(),
            )),
        }
    }

    fn current_link(&self) -> Arc<Link> {
        let link = self.shared.link.read().unwrap_or_else(|e| e.into_inner());
        Arc::clone(&link)
    }

    /// Replaces the link of generation `broken` with a new one, unless another task
    /// already did.
    async fn relink(&self, broken: u64) -> Result<Arc<Link>, BusError> {
        let _one_at_a_time = self.shared.reconnecting.lock().await;
        let current = self.current_link();
        if current.generation != broken && current.is_open() {
            return Ok(current);
        }
        let generation = self.shared.generations.fetch_add(1, Ordering::Relaxed);
        let link = Link::open(
            &self.shared.url,
            &self.shared.names,
            generation,
            self.confirm_timeout,
        )
        .await?;
        let link = Arc::new(link);
        metrics::counter!(RECONNECTS_METRIC).increment(1);
        tracing::info!(generation, "persistence publisher reconnected to RabbitMQ");
        *self.shared.link.write().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&link);
        if current.connection.status().connected() {
            // A connection that still looks alive may hang on close; let it go aside.
            tokio::spawn(async move {
                let _ = current.connection.close(200, "replaced").await;
            });
        }
        Ok(link)
    }
}

/// Whether a failed publish may succeed on a fresh connection.
fn breaks_link(err: &BusError) -> bool {
    matches!(err, BusError::Amqp(_) | BusError::Timeout { .. })
}

/// The trace context to send along: the current `tracing` span's, or else whatever
/// OpenTelemetry context is attached to the task.
fn current_trace_context() -> opentelemetry::Context {
    let context = tracing::Span::current().context();
    if context.span().span_context().is_valid() {
        context
    } else {
        opentelemetry::Context::current()
    }
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value))
}

struct HeaderInjector<'a>(&'a mut FieldTable);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(ShortString::from(key), text(&value));
    }
}

struct HeaderExtractor<'a>(&'a FieldTable);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match self.0.inner().get(key)? {
            AMQPValue::LongString(value) => std::str::from_utf8(value.as_bytes()).ok(),
            AMQPValue::ShortString(value) => Some(value.as_str()),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.0.inner().keys().map(ShortString::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    #[test]
    fn one_queue_is_the_named_queue_and_more_are_numbered_after_it() {
        assert_eq!(QueueNames::default().queues, ["chat.messages.persist"]);
        let spread = QueueNames::default().spread_over(3);
        assert_eq!(
            spread.queues,
            [
                "chat.messages.persist",
                "chat.messages.persist.q1",
                "chat.messages.persist.q2"
            ]
        );
        assert_eq!(spread.queue, "chat.messages.persist");
        assert_eq!(spread.dead_letter_queue, "chat.messages.persist.dlq");
    }

    #[test]
    fn a_room_keeps_its_queue_in_every_process_and_rooms_spread_evenly() {
        let names = QueueNames::default().spread_over(4);
        // FNV-1a 64 of the id, modulo 4: fixed for good, since a room whose queue changed
        // would have entries in two queues.
        assert_eq!(
            names.queue_of("0193a6c1-0000-7000-8000-0000000000c1"),
            "chat.messages.persist.q2"
        );
        assert_eq!(
            names.queue_of("0193a6c1-0000-7000-8000-0000000000c2"),
            "chat.messages.persist.q3"
        );
        let mut counts = std::collections::HashMap::new();
        for n in 0..4000u32 {
            let room = format!("0193a6c1-0000-7000-8000-{n:012x}");
            *counts.entry(names.queue_of(&room)).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 4);
        assert!(
            counts.values().all(|&n| (800..1200).contains(&n)),
            "{counts:?}"
        );
        assert_eq!(
            QueueNames::default().queue_of("anything"),
            "chat.messages.persist"
        );
    }

    #[test]
    fn trace_context_round_trips_through_headers() {
        chat_runtime::telemetry::init_for_tests();
        let span = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("trace id"),
            SpanId::from_hex("00f067aa0ba902b7").expect("span id"),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let context = opentelemetry::Context::new().with_remote_span_context(span.clone());
        let mut headers = FieldTable::default();
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&context, &mut HeaderInjector(&mut headers));
        });

        assert_eq!(
            HeaderExtractor(&headers).get("traceparent"),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );
        let extracted = extract_trace_context(&headers);
        assert_eq!(extracted.span().span_context().trace_id(), span.trace_id());
        assert_eq!(extracted.span().span_context().span_id(), span.span_id());
    }

    #[test]
    fn suffixed_names_stay_apart() {
        let names = QueueNames::with_suffix("t1");
        assert_eq!(names.queue, "chat.messages.persist.t1");
        assert_eq!(names.dead_letter_exchange, "chat.messages.dlx.t1");
        assert_eq!(names.dead_letter_queue, "chat.messages.persist.t1.dlq");
        assert_eq!(
            QueueNames::default().dead_letter_queue,
            "chat.messages.persist.dlq"
        );
    }

    #[test]
    fn a_queue_name_gives_its_whole_topology() {
        assert_eq!(
            QueueNames::for_queue("chat.messages.persist"),
            QueueNames::default()
        );
        assert_eq!(
            QueueNames::for_queue("chat.messages.persist.t1"),
            QueueNames::with_suffix("t1")
        );
        let other = QueueNames::for_queue("persist");
        assert_eq!(
            (
                other.queue.as_str(),
                other.dead_letter_exchange.as_str(),
                other.dead_letter_queue.as_str()
            ),
            ("persist", "persist.dlx", "persist.dlq")
        );
    }

    #[test]
    fn the_persist_flags_name_the_topology() {
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            persist: PersistConfig,
        }
        use clap::Parser as _;

        let default = Flags::try_parse_from(["test"]).unwrap().persist;
        let suffixed =
            Flags::try_parse_from(["test", "--persist-queue", "chat.messages.persist.t1"])
                .unwrap()
                .persist;

        assert_eq!(default.queue_names(), QueueNames::default());
        assert_eq!(suffixed.queue_names(), QueueNames::with_suffix("t1"));
    }
}
