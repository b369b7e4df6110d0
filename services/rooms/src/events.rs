//! The room events a committed change announces, and their publication on the bus.
//!
//! Every operation returns the events of what it changed; they are published only after
//! the transaction committed, so a subscriber never hears of a change that was rolled
//! back. Each event takes its room's next position, like a message, and is persisted
//! through RabbitMQ to history (see `chat_bus::RoomEvents`). A publication that fails
//! does not fail the request: the change stands; an event that took no position is
//! retried until it does ([`Announcer`]); an event the broker did not confirm is stored
//! by history's sweeper from its pending record.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_bus::{Appended, BusError, RoomEvents};
use chat_proto::v1::{Room, RoomEvent, RoomEventKind};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::model::{Role, timestamp};

/// One event to publish, and the users beyond those it names who must hear it on their
/// own channel (the former members of a deleted room).
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement {
    pub event: RoomEvent,
    pub also_to: Vec<Uuid>,
}

impl Announcement {
    /// An event of `kind` in `room_id`, caused by `actor`, happening now.
    pub fn new(kind: RoomEventKind, room_id: Uuid, actor: Uuid) -> Self {
        Self {
            event: RoomEvent {
                room_id: room_id.to_string(),
                kind: kind as i32,
                actor_id: actor.to_string(),
                occurred_at: Some(timestamp(OffsetDateTime::now_utc())),
                event_id: Uuid::now_v7().to_string(),
                ..RoomEvent::default()
            },
            also_to: Vec::new(),
        }
    }

    /// The user the change is about.
    pub fn about(mut self, user: Uuid) -> Self {
        self.event.user_id = user.to_string();
        self
    }

    /// The role given (joined, invited, role changed).
    pub fn role(mut self, role: Role) -> Self {
        self.event.role = Some(role.to_proto() as i32);
        self
    }

    /// The end of a ban.
    pub fn until(mut self, until: Option<OffsetDateTime>) -> Self {
        self.event.until = until.map(timestamp);
        self
    }

    /// The room as it now is, as anyone (not a particular caller) sees it.
    pub fn room(mut self, mut room: Room) -> Self {
        room.my_role = None;
        self.event.room = Some(room);
        self
    }

    /// Users who must also hear it on their own channel.
    pub fn also_to(mut self, users: Vec<Uuid>) -> Self {
        self.also_to = users;
        self
    }
}

/// A value produced by a committed change, with the events announcing it.
#[derive(Debug)]
pub struct Outcome<T> {
    pub value: T,
    pub events: Vec<Announcement>,
}

impl<T> Outcome<T> {
    /// Nothing changed (an idempotent repeat): nothing to announce.
    pub fn unchanged(value: T) -> Self {
        Self {
            value,
            events: Vec::new(),
        }
    }

    pub fn changed(value: T, events: Vec<Announcement>) -> Self {
        Self { value, events }
    }
}

/// Gauge of committed changes whose events wait for a position (Redis unreachable).
pub const BACKLOG_METRIC: &str = "chat_rooms_announcements_backlog";

/// Longest pause between two attempts to sequence an event of the backlog.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(2);

/// Publishes announcements on the bus, in order: a change's events take consecutive
/// positions unless another change of the room comes between.
///
/// Nothing committed stays unannounced: an event that could not take a position (Redis
/// down or restarting) goes to a backlog that one task retries, with backoff, until
/// it is sequenced; later events of the same room queue behind it, so a room's creation
/// stays its first entry. The request that made the change is answered without waiting
/// for the backlog. The backlog lives in memory: a process killed while Redis is away
/// loses it (the transactional outbox of the scale-out work closes that gap).
#[derive(Debug, Clone)]
pub struct Announcer {
    bus: RoomEvents,
    backlog: Backlog,
}

impl Announcer {
    /// An announcer on `bus`; its backlog task runs as long as the announcer (or a
    /// clone) exists.
    pub fn new(bus: RoomEvents) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let backlog = Backlog {
            sender,
            waiting: Arc::new(Mutex::new(HashMap::new())),
        };
        // The task holds no sender: it ends once every announcer clone is gone.
        tokio::spawn(retry_backlog(
            bus.clone(),
            Arc::clone(&backlog.waiting),
            receiver,
        ));
        Self { bus, backlog }
    }

    /// Publishes `outcome`'s events and hands back its value.
    pub async fn announce<T>(&self, outcome: Outcome<T>) -> T {
        for announcement in outcome.events {
            if self.backlog.holds(&announcement.event.room_id) {
                self.backlog.push(announcement);
                continue;
            }
            match self.bus.sequence(&announcement.event).await {
                Ok(appended) => tell(&self.bus, &announcement, &appended).await,
                Err(BusError::Invalid(reason)) => tracing::error!(
                    reason,
                    room_id = %announcement.event.room_id,
                    event_id = %announcement.event.event_id,
                    "room event cannot be sequenced"
                ),
                Err(err) => {
                    tracing::warn!(
                        error = %err,
                        room_id = %announcement.event.room_id,
                        kind = ?announcement.event.kind(),
                        event_id = %announcement.event.event_id,
                        "room event not sequenced yet; retrying in the background"
                    );
                    self.backlog.push(announcement);
                }
            }
        }
        outcome.value
    }
}

/// Events waiting for a position, in commit order, and how many each room has there.
#[derive(Debug, Clone)]
struct Backlog {
    sender: mpsc::UnboundedSender<Announcement>,
    waiting: Arc<Mutex<HashMap<String, usize>>>,
}

impl Backlog {
    fn holds(&self, room_id: &str) -> bool {
        self.waiting.lock().expect("lock").contains_key(room_id)
    }

    fn push(&self, announcement: Announcement) {
        let mut waiting = self.waiting.lock().expect("lock");
        *waiting
            .entry(announcement.event.room_id.clone())
            .or_default() += 1;
        metrics::gauge!(BACKLOG_METRIC).increment(1.0);
        // The receiver lives as long as the process serves requests.
        let _ = self.sender.send(announcement);
    }
}

/// One event of the backlog took its position: its room counts one fewer.
fn done(waiting: &Mutex<HashMap<String, usize>>, room_id: &str) {
    let mut waiting = waiting.lock().expect("lock");
    if let Some(count) = waiting.get_mut(room_id) {
        *count -= 1;
        if *count == 0 {
            waiting.remove(room_id);
        }
    }
    metrics::gauge!(BACKLOG_METRIC).decrement(1.0);
}

/// Sequences the backlog's events one at a time, in order, each retried until it takes
/// a position.
async fn retry_backlog(
    bus: RoomEvents,
    waiting: Arc<Mutex<HashMap<String, usize>>>,
    mut receiver: mpsc::UnboundedReceiver<Announcement>,
) {
    while let Some(announcement) = receiver.recv().await {
        let mut delay = Duration::from_millis(100);
        loop {
            match bus.sequence(&announcement.event).await {
                Ok(appended) => {
                    tracing::info!(
                        room_id = %announcement.event.room_id,
                        event_id = %announcement.event.event_id,
                        "room event sequenced after a retry"
                    );
                    tell(&bus, &announcement, &appended).await;
                    break;
                }
                Err(BusError::Invalid(_)) => break,
                Err(err) => tracing::debug!(error = %err, "room event still not sequenced"),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RETRY_DELAY);
        }
        done(&waiting, &announcement.event.room_id);
    }
}

/// Tells the users an event concerns and persists it, once it has its position.
async fn tell(bus: &RoomEvents, announcement: &Announcement, appended: &Appended) {
    let users = announcement.also_to.iter().map(Uuid::to_string);
    match bus
        .announce_sequenced(&announcement.event, users, appended)
        .await
    {
        Ok(envelope) => tracing::debug!(
            room_id = %envelope.room_id,
            epoch = envelope.epoch,
            seq = envelope.seq,
            kind = ?announcement.event.kind(),
            "room event announced"
        ),
        // In the room's sequence all the same; gateways re-read memberships over gRPC.
        Err(err) => tracing::warn!(
            error = %err,
            room_id = %announcement.event.room_id,
            kind = ?announcement.event.kind(),
            event_id = %announcement.event.event_id,
            "room event sequenced, but its users' channels were not reached"
        ),
    }
}
