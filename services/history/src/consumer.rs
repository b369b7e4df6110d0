//! Consumes the persist queues into PostgreSQL in batches: each queue (one unless
//! `PERSIST_QUEUES` spreads the rooms over more) on a connection of its own, as below.
//!
//! Deliveries are collected until the batch is full or `batch_linger` has passed since its
//! first one, then stored in one transaction, and only after the commit acknowledged. So
//! a crash at any moment loses nothing (unacknowledged deliveries go back to the queue)
//! and a redelivery is harmless (the store is idempotent). A payload that can never be
//! stored is rejected without requeue, which sends it to the dead-letter queue, and the
//! consumer carries on. While PostgreSQL is failing the batch is retried with backoff and
//! nothing is acknowledged; when the broker connection drops, the consumer reconnects
//! with backoff.
//!
//! While one batch commits, the next is collected and decoded (the prefetch lets the
//! broker send it meanwhile), so the broker and PostgreSQL work at the same time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chat_bus::persist::{QueueNames, declare_topology, extract_trace_context};
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties};
use opentelemetry::trace::TraceContextExt;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::config::ConsumerConfig;
use crate::entry::Entry;
use crate::store::{Store, Stored, is_refused_data};

/// Entries stored for the first time.
pub const PERSISTED_METRIC: &str = "chat_history_persisted_total";
/// Entries delivered again that were already stored.
pub const DUPLICATES_METRIC: &str = "chat_history_duplicates_total";
/// Deliveries that could never be stored, sent to the dead-letter queue.
pub const DEAD_LETTERED_METRIC: &str = "chat_history_dead_lettered_total";
/// Entries per stored batch.
pub const BATCH_SIZE_METRIC: &str = "chat_history_batch_size";
/// Time from a batch's first delivery to its acknowledgement.
pub const BATCH_DURATION_METRIC: &str = "chat_history_batch_duration_seconds";
/// Messages ready in a persist queue (label `queue`), not yet delivered to any consumer.
pub const CONSUMER_LAG_METRIC: &str = "chat_history_consumer_lag";
/// Failed attempts to store a batch (each one is retried).
pub const STORE_FAILURES_METRIC: &str = "chat_history_store_failures_total";

/// How often the queue depth is read for [`CONSUMER_LAG_METRIC`].
const LAG_INTERVAL: Duration = Duration::from_secs(5);

/// An open broker connection with the topology declared and the prefetch set.
struct QueueSession {
    connection: Connection,
    channel: Channel,
}

/// The open connections of a [`PersistConsumer`], one per queue.
pub struct Session(Vec<QueueSession>);

/// The consumer of the persist queues.
pub struct PersistConsumer {
    queues: Vec<QueueConsumer>,
}

/// The consumer of one persist queue.
struct QueueConsumer {
    store: Store,
    names: QueueNames,
    queue: String,
    config: ConsumerConfig,
    consuming: Arc<AtomicBool>,
}

/// Whether the consumer is attached to every queue (for `/readyz`). Cheap to clone.
#[derive(Debug, Clone)]
pub struct ConsumerStatus(Arc<[Arc<AtomicBool>]>);

impl ConsumerStatus {
    pub fn check(&self) -> Result<(), String> {
        if self
            .0
            .iter()
            .all(|consuming| consuming.load(Ordering::Relaxed))
        {
            Ok(())
        } else {
            Err("not consuming the persist queues (RabbitMQ unreachable)".to_owned())
        }
    }
}

impl PersistConsumer {
    pub fn new(store: Store, config: ConsumerConfig) -> Self {
        let names = config.persist.queue_names();
        let queues = names
            .queues
            .iter()
            .map(|queue| QueueConsumer {
                store: store.clone(),
                names: names.clone(),
                queue: queue.clone(),
                config: config.clone(),
                consuming: Arc::new(AtomicBool::new(false)),
            })
            .collect();
        Self { queues }
    }

    /// Tells whether this consumer is attached to its queues.
    pub fn status(&self) -> ConsumerStatus {
        ConsumerStatus(
            self.queues
                .iter()
                .map(|queue| Arc::clone(&queue.consuming))
                .collect(),
        )
    }

    /// Connects once per queue, declares the topology and sets the prefetch.
    pub async fn connect(&self) -> anyhow::Result<Session> {
        let mut sessions = Vec::with_capacity(self.queues.len());
        for queue in &self.queues {
            sessions.push(queue.connect().await?);
        }
        Ok(Session(sessions))
    }

    /// Consumes every queue until `shutdown` (see [`QueueConsumer::run`]).
    pub async fn run(self, session: Session, shutdown: CancellationToken) {
        futures::future::join_all(
            self.queues
                .into_iter()
                .zip(session.0)
                .map(|(queue, session)| queue.run(session, shutdown.clone())),
        )
        .await;
    }
}

impl QueueConsumer {
    /// Connects, declares the topology and sets the prefetch.
    async fn connect(&self) -> anyhow::Result<QueueSession> {
        let connection = Connection::connect(
            self.config.persist.amqp_url.expose_secret(),
            ConnectionProperties::default()
                .with_connection_name(format!("chat-history {}", self.queue).into()),
        )
        .await?;
        let channel = connection.create_channel().await?;
        declare_topology(&channel, &self.names).await?;
        channel
            .basic_qos(self.config.prefetch, BasicQosOptions::default())
            .await?;
        Ok(QueueSession {
            connection,
            channel,
        })
    }

    /// Consumes until `shutdown`, reconnecting whenever the broker connection is lost.
    /// On shutdown the batch in hand is stored and acknowledged before returning.
    async fn run(self, session: QueueSession, shutdown: CancellationToken) {
        let mut session = Some(session);
        let mut backoff = Backoff::default();
        loop {
            let current = match session.take() {
                Some(current) => current,
                None => match self.connect().await {
                    Ok(current) => current,
                    Err(err) => {
                        let delay = backoff.next_delay();
                        tracing::warn!(%err, ?delay, "cannot connect to RabbitMQ; retrying");
                        if sleep_or_shutdown(delay, &shutdown).await {
                            return;
                        }
                        continue;
                    }
                },
            };
            backoff = Backoff::default();
            let consumed = self.consume(&current, &shutdown).await;
            self.consuming.store(false, Ordering::Relaxed);
            match consumed {
                Ok(()) => {
                    close(current).await;
                    return;
                }
                Err(err) => {
                    tracing::warn!(%err, "lost the RabbitMQ consumer; reconnecting");
                    if sleep_or_shutdown(backoff.next_delay(), &shutdown).await {
                        return;
                    }
                }
            }
        }
    }

    /// Reads batches until `shutdown` (`Ok`) or until the channel fails (`Err`).
    async fn consume(
        &self,
        session: &QueueSession,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let tag = format!("chat-history-{}", uuid::Uuid::now_v7().simple());
        let mut deliveries = session
            .channel
            .basic_consume(
                &self.queue,
                &tag,
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let _lag = AbortOnDropHandle::new(tokio::spawn(report_lag(
            session.connection.create_channel().await?,
            self.queue.clone(),
        )));
        tracing::info!(queue = %self.queue, "consuming the persist queue");
        self.consuming.store(true, Ordering::Relaxed);

        let batch_size = usize::from(self.config.batch_size);
        // The batch being stored while the next one is collected and decoded. At most one
        // is stored at a time and each is acknowledged only after the one before it, so
        // an acknowledgement covering "every tag up to this one" never covers a delivery
        // that is not yet committed.
        let mut storing: Option<AbortOnDropHandle<anyhow::Result<()>>> = None;
        while !shutdown.is_cancelled() {
            let first = tokio::select! {
                () = shutdown.cancelled() => break,
                next = deliveries.next() => received(next)?,
            };
            let started = Instant::now();
            let mut batch = Vec::with_capacity(batch_size);
            batch.push(first);
            let linger = tokio::time::sleep(self.config.batch_linger);
            tokio::pin!(linger);
            while batch.len() < batch_size {
                tokio::select! {
                    biased;
                    next = deliveries.next() => batch.push(received(next)?),
                    () = &mut linger => break,
                    () = shutdown.cancelled() => break,
                }
            }
            let batch = Batch::decode(&session.channel, &self.queue, batch, started).await?;
            if let Some(previous) = storing.take() {
                previous.await??;
            }
            if let Some(batch) = batch {
                storing = Some(AbortOnDropHandle::new(tokio::spawn(
                    batch.settle(self.store.clone(), session.channel.clone()),
                )));
            }
        }
        if let Some(previous) = storing.take() {
            previous.await??;
        }
        session
            .channel
            .basic_cancel(&tag, BasicCancelOptions::default())
            .await?;
        Ok(())
    }
}

/// The storable part of a batch of deliveries.
struct Batch {
    tags: Vec<u64>,
    entries: Vec<Entry>,
    span: tracing::Span,
    started: Instant,
}

impl Batch {
    /// Decodes a batch, dead-lettering every delivery that can never be stored; `None`
    /// when nothing is left to store.
    async fn decode(
        channel: &Channel,
        queue: &str,
        deliveries: Vec<Delivery>,
        started: Instant,
    ) -> lapin::Result<Option<Self>> {
        let span = batch_span(queue, &deliveries);
        let mut tags = Vec::with_capacity(deliveries.len());
        let mut entries = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            match Entry::decode(&delivery.data) {
                Ok(entry) => {
                    tags.push(delivery.delivery_tag);
                    entries.push(entry);
                }
                Err(reason) => {
                    dead_letter(channel, delivery.delivery_tag, &reason)
                        .instrument(span.clone())
                        .await?;
                }
            }
        }
        Ok((!entries.is_empty()).then_some(Self {
            tags,
            entries,
            span,
            started,
        }))
    }

    /// Stores the batch and settles every delivery in it: acknowledged once committed, or
    /// rejected to the dead-letter queue when PostgreSQL can never take it.
    async fn settle(self, store: Store, channel: Channel) -> anyhow::Result<()> {
        let span = self.span.clone();
        async move {
            let last_tag = self.tags.last().copied().unwrap_or_default();
            match store_with_retry(&store, &self.entries).await {
                Ok(stored) => {
                    channel
                        .basic_ack(last_tag, BasicAckOptions { multiple: true })
                        .await?;
                    record(stored, self.entries.len());
                }
                Err(err) => {
                    tracing::warn!(%err, "a batch holds an entry PostgreSQL refuses; storing one by one");
                    self.settle_one_by_one(&store, &channel).await?;
                }
            }
            metrics::histogram!(BATCH_DURATION_METRIC)
                .record(self.started.elapsed().as_secs_f64());
            Ok(())
        }
        .instrument(span)
        .await
    }

    /// Finds the entries of a refused batch that PostgreSQL can never take, dead-letters
    /// them and stores the rest.
    async fn settle_one_by_one(&self, store: &Store, channel: &Channel) -> anyhow::Result<()> {
        for (&tag, entry) in self.tags.iter().zip(&self.entries) {
            match store_with_retry(store, std::slice::from_ref(entry)).await {
                Ok(stored) => {
                    channel.basic_ack(tag, BasicAckOptions::default()).await?;
                    record(stored, 1);
                }
                Err(err) => dead_letter(channel, tag, &err).await?,
            }
        }
        Ok(())
    }
}

/// Stores entries, retrying with backoff while the failure is transient; returns the
/// error when PostgreSQL refuses the data itself (retrying would never succeed).
async fn store_with_retry(store: &Store, entries: &[Entry]) -> Result<Stored, sqlx::Error> {
    let mut backoff = Backoff::default();
    loop {
        match store.insert(entries).await {
            Ok(stored) => return Ok(stored),
            Err(err) if is_refused_data(&err) => return Err(err),
            Err(err) => {
                metrics::counter!(STORE_FAILURES_METRIC).increment(1);
                let delay = backoff.next_delay();
                tracing::error!(%err, ?delay, entries = entries.len(), "cannot store a batch; retrying");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// The span of one batch, linked to the trace of every producer that sent a part of it.
fn batch_span(queue: &str, batch: &[Delivery]) -> tracing::Span {
    let span = tracing::info_span!(
        "persist batch",
        otel.name = %format_args!("process {queue}"),
        otel.kind = "consumer",
        messaging.system = "rabbitmq",
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.destination.name = %queue,
        messaging.batch.message_count = batch.len(),
    );
    for delivery in batch {
        if let Some(headers) = delivery.properties.headers() {
            let producer = extract_trace_context(headers).span().span_context().clone();
            if producer.is_valid() {
                span.add_link(producer);
            }
        }
    }
    span
}

/// A delivery out of the consumer stream; the stream ending means the broker cancelled
/// the consumer or the channel closed.
fn received(next: Option<lapin::Result<Delivery>>) -> anyhow::Result<Delivery> {
    match next {
        Some(Ok(delivery)) => Ok(delivery),
        Some(Err(err)) => Err(err.into()),
        None => Err(anyhow::anyhow!("the broker ended the consumer")),
    }
}

async fn dead_letter(
    channel: &Channel,
    delivery_tag: u64,
    reason: &(dyn std::fmt::Display + Sync),
) -> lapin::Result<()> {
    tracing::warn!(delivery_tag, %reason, "dead-lettering an envelope that cannot be stored");
    metrics::counter!(DEAD_LETTERED_METRIC).increment(1);
    channel
        .basic_reject(delivery_tag, BasicRejectOptions { requeue: false })
        .await
}

fn record(stored: Stored, entries: usize) {
    metrics::counter!(PERSISTED_METRIC).increment(stored.inserted);
    metrics::counter!(DUPLICATES_METRIC).increment(stored.duplicates);
    metrics::histogram!(BATCH_SIZE_METRIC).record(entries as f64);
}

/// Reports the queue depth every few seconds, on a channel of its own.
async fn report_lag(channel: Channel, queue: String) {
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let mut ticks = tokio::time::interval(LAG_INTERVAL);
    loop {
        ticks.tick().await;
        match channel
            .queue_declare(&queue, passive, FieldTable::default())
            .await
        {
            Ok(state) => {
                metrics::gauge!(CONSUMER_LAG_METRIC, "queue" => queue.clone())
                    .set(f64::from(state.message_count()));
            }
            Err(err) => {
                tracing::debug!(%err, "cannot read the persist queue depth");
                return;
            }
        }
    }
}

async fn close(session: QueueSession) {
    // Unacknowledged deliveries still prefetched return to the queue with the channel.
    if let Err(err) = session.connection.close(200, "shutting down").await {
        tracing::debug!(%err, "closing the RabbitMQ connection");
    }
}

/// Sleeps unless shutdown comes first; `true` when it did.
async fn sleep_or_shutdown(delay: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => true,
        () = tokio::time::sleep(delay) => false,
    }
}

/// Exponential backoff from 100 ms to 5 s.
struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            next: Duration::from_millis(100),
        }
    }
}

impl Backoff {
    const MAX: Duration = Duration::from_secs(5);

    fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        delay
    }
}
