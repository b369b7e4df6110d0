//! Stores what was fanned out but never confirmed by the broker.
//!
//! Every append leaves a pending record in Redis that its gateway removes once RabbitMQ
//! confirmed the envelope. A record still there after `sweep_age` means the gateway died
//! (or lost the broker) in between: readers may have seen the envelope, so history must
//! have it too. The sweeper stores such envelopes with the same idempotent insert as the
//! consumer (the envelope may yet arrive through the queue as well), then confirms them;
//! for a chat message that also shrinks its dedup record to the compact ack, so a retry of
//! it is acknowledged at once (stored in history, it is as durable as a broker confirm
//! would have made it). The envelopes come from the pending records themselves, so a
//! busy room's stream moving past one loses nothing.
//! Several history replicas may sweep at once; that only repeats idempotent work.

use std::time::Duration;

use chat_bus::sequencer::Sequencer;
use tokio_util::sync::CancellationToken;

use crate::config::SweeperConfig;
use crate::entry::Entry;
use crate::store::{Store, is_refused_data};

/// Entries stored from pending records (new ones; the rest were already stored).
pub const SWEPT_METRIC: &str = "chat_history_swept_total";
/// Pending envelopes that can never be stored; their records are dropped.
pub const SWEEP_UNSTORABLE_METRIC: &str = "chat_history_sweep_unstorable_total";
/// Sweeps that failed (Redis or PostgreSQL unreachable); the next one retries.
pub const SWEEP_FAILURES_METRIC: &str = "chat_history_sweep_failures_total";

/// The sweeper of pending records.
pub struct PendingSweeper {
    sequencer: Sequencer,
    store: Store,
    config: SweeperConfig,
}

impl PendingSweeper {
    pub fn new(sequencer: Sequencer, store: Store, config: SweeperConfig) -> Self {
        Self {
            sequencer,
            store,
            config,
        }
    }

    /// Sweeps every `interval` until `shutdown`. A full sweep is followed at once by the
    /// next, so a backlog drains without waiting.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut delay = self.config.interval;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            delay = match self.sweep().await {
                Ok(found) if found >= self.config.limit => Duration::ZERO,
                Ok(_) => self.config.interval,
                Err(err) => {
                    metrics::counter!(SWEEP_FAILURES_METRIC).increment(1);
                    tracing::warn!(%err, "pending sweep failed; retrying at the next one");
                    self.config.interval
                }
            };
        }
    }

    /// One sweep: stores the pending envelopes older than `age` and confirms them.
    /// Returns how many pending records it found.
    #[tracing::instrument(name = "pending sweep", skip(self))]
    pub async fn sweep(&self) -> anyhow::Result<usize> {
        let envelopes = self
            .sequencer
            .pending_older_than(self.config.age, self.config.limit)
            .await?;
        if envelopes.is_empty() {
            return Ok(0);
        }
        let mut entries = Vec::with_capacity(envelopes.len());
        for envelope in &envelopes {
            match Entry::from_envelope(envelope.clone()) {
                Ok(entry) => entries.push(entry),
                Err(reason) => {
                    metrics::counter!(SWEEP_UNSTORABLE_METRIC).increment(1);
                    tracing::error!(
                        room_id = %envelope.room_id,
                        epoch = envelope.epoch,
                        seq = envelope.seq,
                        %reason,
                        "dropping a pending envelope that cannot be stored"
                    );
                }
            }
        }
        let inserted = match self.store.insert(&entries).await {
            Ok(stored) => stored.inserted,
            Err(err) if is_refused_data(&err) => self.insert_one_by_one(&entries).await?,
            Err(err) => return Err(err.into()),
        };
        metrics::counter!(SWEPT_METRIC).increment(inserted);
        if inserted > 0 {
            tracing::info!(inserted, "stored envelopes whose broker confirm never came");
        }
        for envelope in &envelopes {
            self.sequencer.confirm(envelope).await?;
        }
        Ok(envelopes.len())
    }

    /// Stores what PostgreSQL takes of a refused sweep and drops the rest.
    async fn insert_one_by_one(&self, entries: &[Entry]) -> Result<u64, sqlx::Error> {
        let mut inserted = 0;
        for entry in entries {
            match self.store.insert(std::slice::from_ref(entry)).await {
                Ok(stored) => inserted += stored.inserted,
                Err(err) if is_refused_data(&err) => {
                    metrics::counter!(SWEEP_UNSTORABLE_METRIC).increment(1);
                    tracing::error!(%err, room_id = %entry.room_id, position = ?entry.position, "dropping a pending envelope PostgreSQL refuses");
                }
                Err(err) => return Err(err),
            }
        }
        Ok(inserted)
    }
}
