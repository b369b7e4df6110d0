//! The room events a committed change announces.
//!
//! Every operation returns the events of what it changed and commits them with the
//! change into the outbox (`crate::outbox`), whose relay gives each its room's next
//! position, like a message, and persists it through RabbitMQ to history (see
//! `chat_bus::RoomEvents`). A subscriber never hears of a change that was rolled back,
//! and never misses one that committed.

use chat_proto::v1::{Room, RoomEvent, RoomEventKind};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::{Role, timestamp};

/// One event to publish, and the users beyond those it names who must hear it on their
/// own channel (the former members of a deleted room).
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement {
    pub room_id: Uuid,
    /// The event's id (also in `event`): the entry's id in the room's sequence.
    pub event_id: Uuid,
    pub event: RoomEvent,
    pub also_to: Vec<Uuid>,
}

impl Announcement {
    /// An event of `kind` in `room_id`, caused by `actor`, happening now.
    pub fn new(kind: RoomEventKind, room_id: Uuid, actor: Uuid) -> Self {
        let event_id = Uuid::now_v7();
        Self {
            room_id,
            event_id,
            event: RoomEvent {
                room_id: room_id.to_string(),
                kind: kind as i32,
                actor_id: actor.to_string(),
                occurred_at: Some(timestamp(OffsetDateTime::now_utc())),
                event_id: event_id.to_string(),
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
