//! The transactional outbox of room events: written with the change, relayed to the
//! room's sequence after the commit.
//!
//! Every change commits through [`commit`], which writes the change's events to
//! `room_event_outbox` in the same transaction: a committed change has its events, a
//! rolled-back one has none, and nothing that dies after the commit (the process, Redis,
//! the network) can lose them. The [`Relay`] then appends each waiting event to its
//! room's sequence (`chat_bus::RoomEvents`: position, room channel, the users' channels,
//! persistence) in id order, and marks it relayed.
//!
//! Order: changes of one room lock the room's row first (`rooms::lock`), so the outbox
//! rows of one room get their ids in the order the changes committed, and the relay
//! takes them in that order. One relay runs at a time across every replica (a
//! transaction-level advisory lock), and a pass stops at the first event it cannot
//! append, so a later event never overtakes an earlier one.
//!
//! Exactly once: a relay that dies after appending an event but before marking it
//! relayed appends it again next time; the sequencer appends an event once per event id
//! (`Sequencer::append_once`), so the second attempt finds the first position instead of
//! taking a new one.
//!
//! Latency: a call relays right after its commit ([`Relay::flush`]) and answers after
//! that pass, so its events are in the sequence when the caller hears back (as before the
//! outbox), waiting 2 s at most. When Redis is away the call is answered anyway (without
//! waiting for a pass once one failed) and the relay's own loop retries with backoff.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chat_bus::{AppendOutcome, Appended, BusError, RoomEvents};
use chat_proto::v1::RoomEvent;
use chat_runtime::shutdown::CancellationToken;
use prost::Message;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::error::Error;
use crate::events::{Announcement, Outcome};

/// Gauge of committed changes whose events wait in the outbox for their position.
pub const BACKLOG_METRIC: &str = "chat_rooms_announcements_backlog";

/// The advisory lock that makes one relay pass run at a time across replicas.
const RELAY_LOCK: i64 = 0x726f_6f6d_7265_6c61; // "roomrela"
/// The most events one pass relays.
const BATCH: i64 = 200;
/// Time between two passes of the loop while nothing waits (a call relays its own events
/// at once; the loop is for what a failure or a crash left behind).
const IDLE_PASS: Duration = Duration::from_secs(1);
/// First and longest pause between two passes after a failure.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(2);
/// The longest a call waits for the pass that relays its events.
const FLUSH_WAIT: Duration = Duration::from_secs(2);
/// How long a relayed event's row is kept.
const KEEP_RELAYED: Duration = Duration::from_secs(3600);
/// How often relayed rows past [`KEEP_RELAYED`] are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Commits `tx` with `outcome`'s events written to the outbox in it, in order.
pub async fn commit<T>(
    mut tx: Transaction<'_, Postgres>,
    outcome: Outcome<T>,
) -> Result<Outcome<T>, Error> {
    for Announcement {
        room_id,
        event_id,
        event,
        also_to,
    } in &outcome.events
    {
        sqlx::query(
            "INSERT INTO room_event_outbox (room_id, event_id, event, also_to) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(room_id)
        .bind(event_id)
        .bind(event.encode_to_vec())
        .bind(also_to)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Appends the outbox's events to their rooms' sequences. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    bus: RoomEvents,
    /// One pass at a time in this process (the advisory lock is per transaction).
    pass: tokio::sync::Mutex<()>,
    /// The last pass stopped at an event it could not append (Redis away): calls leave
    /// the retries to the loop instead of each waiting for a failing pass in turn.
    failing: AtomicBool,
}

/// Why a pass stopped before the end of the outbox.
#[derive(Debug, thiserror::Error)]
enum PassError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Bus(#[from] BusError),
}

impl Relay {
    pub fn new(pool: PgPool, bus: RoomEvents) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                bus,
                pass: tokio::sync::Mutex::new(()),
                failing: AtomicBool::new(false),
            }),
        }
    }

    /// Relays what waits now, the caller's committed events among them, waiting for it
    /// at most [`FLUSH_WAIT`]: a pass slowed by the broker (a confirm may take 5 s per
    /// event while RabbitMQ blocks publishers) goes on in the background rather than
    /// holding every call behind it. A failure is logged and left to [`run`](Self::run):
    /// the change stands either way. While passes fail (Redis away) it returns at once:
    /// the loop relays once they succeed again.
    pub async fn flush(&self) {
        if self.inner.failing.load(Ordering::Relaxed) {
            return;
        }
        let relay = self.clone();
        let pass = tokio::spawn(async move { relay.pass().await });
        match tokio::time::timeout(FLUSH_WAIT, pass).await {
            Ok(Ok(Ok(_))) => {}
            Ok(Ok(Err(err))) => {
                tracing::warn!(error = %err, "room events not relayed yet; retrying in the background");
            }
            Ok(Err(err)) => tracing::error!(error = %err, "a relay pass panicked"),
            Err(_) => tracing::warn!(
                "room events still being relayed after {FLUSH_WAIT:?}; answering without waiting"
            ),
        }
    }

    /// Publishes `outcome`'s events (committed with [`commit`]) and hands back its value.
    pub async fn announce<T>(&self, outcome: Outcome<T>) -> T {
        if !outcome.events.is_empty() {
            self.flush().await;
        }
        outcome.value
    }

    /// Relays until `stop`: what a failure or a crash left waiting, and prunes old rows.
    pub async fn run(self, stop: CancellationToken) {
        let mut delay = Duration::ZERO;
        let mut pruned = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            delay = match self.pass().await {
                Ok(0) => IDLE_PASS,
                Ok(_) => Duration::ZERO,
                Err(err) => {
                    tracing::debug!(error = %err, "room events still not relayed");
                    (delay * 2).clamp(FIRST_RETRY, MAX_RETRY)
                }
            };
            if pruned.elapsed() >= PRUNE_EVERY {
                pruned = tokio::time::Instant::now();
                if let Err(err) = self.prune().await {
                    tracing::warn!(error = %err, "relayed room events not pruned");
                }
            }
        }
    }

    /// One pass: the waiting events in id order, each appended, until one cannot be;
    /// returns how many still wait.
    async fn pass(&self) -> Result<i64, PassError> {
        let _one = self.inner.pass.lock().await;
        let mut tx = self.inner.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(RELAY_LOCK)
            .execute(&mut *tx)
            .await?;
        let waiting: Vec<(i64, Vec<u8>, Vec<Uuid>)> = sqlx::query_as(
            "SELECT id, event, also_to FROM room_event_outbox \
             WHERE relayed_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let mut relayed = Vec::with_capacity(waiting.len());
        let mut stopped = None;
        for (id, bytes, also_to) in &waiting {
            match self.relay_one(*id, bytes, also_to).await {
                Ok(()) => relayed.push(*id),
                Err(err) => {
                    stopped = Some(err);
                    break;
                }
            }
        }
        if !relayed.is_empty() {
            sqlx::query("UPDATE room_event_outbox SET relayed_at = now() WHERE id = ANY($1)")
                .bind(&relayed)
                .execute(&mut *tx)
                .await?;
        }
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM room_event_outbox WHERE relayed_at IS NULL")
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        metrics::gauge!(BACKLOG_METRIC).set(left as f64);
        self.inner
            .failing
            .store(stopped.is_some(), Ordering::Relaxed);
        match stopped {
            Some(err) => Err(err.into()),
            None => Ok(left),
        }
    }

    /// Appends one event and tells its users; `Err` only for what a retry may cure.
    async fn relay_one(&self, id: i64, bytes: &[u8], also_to: &[Uuid]) -> Result<(), BusError> {
        let event = match RoomEvent::decode(bytes) {
            Ok(event) => event,
            Err(err) => {
                tracing::error!(outbox_id = id, error = %err, "unreadable room event dropped");
                return Ok(());
            }
        };
        match self.inner.bus.sequence(&event).await {
            Ok(AppendOutcome::New(appended) | AppendOutcome::Pending(appended)) => {
                self.tell(&event, also_to, &appended).await;
                Ok(())
            }
            // Relayed before, by a pass that died before marking it.
            Ok(AppendOutcome::Confirmed(_)) => Ok(()),
            Err(BusError::Invalid(reason)) => {
                tracing::error!(
                    outbox_id = id,
                    reason,
                    room_id = %event.room_id,
                    event_id = %event.event_id,
                    "room event cannot be sequenced; dropped"
                );
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    /// Tells the users an event concerns and persists it, once it has its position.
    async fn tell(&self, event: &RoomEvent, also_to: &[Uuid], appended: &Appended) {
        let users = also_to.iter().map(Uuid::to_string);
        match self
            .inner
            .bus
            .announce_sequenced(event, users, appended)
            .await
        {
            Ok(envelope) => tracing::debug!(
                room_id = %envelope.room_id,
                epoch = envelope.epoch,
                seq = envelope.seq,
                kind = ?event.kind(),
                "room event announced"
            ),
            // In the room's sequence all the same; gateways re-read memberships over gRPC.
            Err(err) => tracing::warn!(
                error = %err,
                room_id = %event.room_id,
                kind = ?event.kind(),
                event_id = %event.event_id,
                "room event sequenced, but its users' channels were not reached"
            ),
        }
    }

    async fn prune(&self) -> Result<(), sqlx::Error> {
        sqlx::query(
            "DELETE FROM room_event_outbox \
             WHERE relayed_at < now() - make_interval(secs => $1)",
        )
        .bind(KEEP_RELAYED.as_secs_f64())
        .execute(&self.inner.pool)
        .await?;
        Ok(())
    }
}
