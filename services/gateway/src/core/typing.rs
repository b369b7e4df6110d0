//! Who is writing where: `typing` signals between gateways, ephemeral (no position, never
//! stored or replayed).
//!
//! * Sending ([`Typing`]): a socket's `start` is published on the room's channel (as a
//!   [`chat_bus::signal`]) at most once per [`FORWARD_EVERY`] per user and room, a `stop`
//!   only after a forwarded `start`; rooms above the configured size get nothing (see
//!   [`RoomSizes`]).
//! * Receiving ([`TypingBoard`], held by the fan-out hub): each gateway keeps who is
//!   typing in the rooms of its sockets with a deadline. A renewal moves the deadline; a
//!   deadline passed means `stop` (the typist's client or gateway vanished); a message
//!   from the typist ends it silently (clients clear it on the `message.created`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use chat_bus::{encode_signal, room_channel};
use chat_proto::v1::RoomSignal;
use chat_protocol::client::TypingState;
use chat_protocol::server::Typing as TypingFrame;
use chat_protocol::{RoomId, ServerFrame, UserId};
use chat_runtime::redis_connection::RedisConnection;
use dashmap::DashMap;
use tokio::time::Instant;
use uuid::Uuid;

use crate::core::room_sizes::RoomSizes;

/// Renewals of a `start` closer together than this are not forwarded.
pub const FORWARD_EVERY: Duration = Duration::from_secs(2);
/// Counter of typing signals published, by `state`.
pub const TYPING_SIGNALS_METRIC: &str = "chat_gateway_typing_signals_total";

/// The sending side. Cheap to clone.
#[derive(Clone)]
pub struct Typing {
    inner: Arc<Inner>,
}

struct Inner {
    redis: RedisConnection,
    prefix: String,
    sizes: RoomSizes,
    max_room_size: u32,
    /// When each (user, room)'s last `start` was forwarded.
    forwarded: DashMap<(Uuid, Uuid), Instant>,
}

impl Typing {
    pub fn new(
        redis: RedisConnection,
        prefix: impl Into<String>,
        sizes: RoomSizes,
        max_room_size: u32,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                redis,
                prefix: prefix.into(),
                sizes,
                max_room_size,
                forwarded: DashMap::new(),
            }),
        }
    }

    /// `user`, a member of `room`, started or stopped writing there. Best effort: a
    /// signal that cannot be published is dropped (the next renewal, or the receivers'
    /// deadline, makes up for it).
    pub async fn signal(&self, user: UserId, room: RoomId, state: TypingState) {
        let key = (user.as_uuid(), room.as_uuid());
        let now = Instant::now();
        match state {
            TypingState::Start => {
                if self
                    .inner
                    .forwarded
                    .get(&key)
                    .is_some_and(|last| now.duration_since(*last) < FORWARD_EVERY)
                {
                    return;
                }
                if !self
                    .inner
                    .sizes
                    .at_most(user, room, self.inner.max_room_size)
                    .await
                {
                    return;
                }
                self.inner.forwarded.insert(key, now);
            }
            TypingState::Stop => {
                if self.inner.forwarded.remove(&key).is_none() {
                    return;
                }
            }
        }
        self.publish(user, room, state).await;
    }

    /// `user` sent a message in `room`: that ends their typing (receivers see the
    /// message), and their next `start` goes out at once.
    pub fn message_sent(&self, user: UserId, room: RoomId) {
        self.inner
            .forwarded
            .remove(&(user.as_uuid(), room.as_uuid()));
    }

    /// Forgets throttling state older than any deadline (called now and then).
    pub fn purge(&self, older_than: Duration) {
        let now = Instant::now();
        self.inner
            .forwarded
            .retain(|_, last| now.duration_since(*last) < older_than);
        self.inner.sizes.purge();
    }

    async fn publish(&self, user: UserId, room: RoomId, state: TypingState) {
        let payload = encode_signal(&RoomSignal {
            user_id: user.to_string(),
            typing: state == TypingState::Start,
            receipts: Vec::new(),
        });
        let channel = room_channel(&self.inner.prefix, room);
        let published: redis::RedisResult<i64> = redis::cmd("SPUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async(&mut self.inner.redis.clone())
            .await;
        match published {
            Ok(_) => {
                let state = match state {
                    TypingState::Start => "start",
                    TypingState::Stop => "stop",
                };
                metrics::counter!(TYPING_SIGNALS_METRIC, "state" => state).increment(1);
            }
            Err(err) => tracing::debug!(%room, error = %err, "typing signal not published"),
        }
    }
}

/// A `typing` frame to write to the local sockets of `room`, except the typist's.
#[derive(Debug, Clone)]
pub struct TypingDelivery {
    pub room: Uuid,
    pub typist: Uuid,
    pub frame: Utf8Bytes,
}

impl TypingDelivery {
    fn new(room: Uuid, typist: Uuid, state: TypingState) -> Self {
        let frame = ServerFrame::Typing(TypingFrame {
            room: room.into(),
            user_id: typist.into(),
            state,
        });
        Self {
            room,
            typist,
            frame: Utf8Bytes::from(frame.to_text()),
        }
    }
}

/// The receiving side: who is typing in the rooms of this gateway's sockets, until when.
#[derive(Debug)]
pub struct TypingBoard {
    timeout: Duration,
    typing: Mutex<HashMap<(Uuid, Uuid), Instant>>,
}

impl TypingBoard {
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            typing: Mutex::new(HashMap::new()),
        }
    }

    /// A signal heard on `room`'s channel; the frame to deliver, if any. A renewal of a
    /// `start` already known moves its deadline and is delivered again (a client that
    /// joined meanwhile learns of it); a `stop` of someone not typing is dropped.
    pub fn heard(
        &self,
        room: Uuid,
        typist: Uuid,
        typing: bool,
        now: Instant,
    ) -> Option<TypingDelivery> {
        let mut board = self.typing.lock().expect("lock");
        if typing {
            board.insert((room, typist), now + self.timeout);
            Some(TypingDelivery::new(room, typist, TypingState::Start))
        } else {
            board
                .remove(&(room, typist))
                .map(|_| TypingDelivery::new(room, typist, TypingState::Stop))
        }
    }

    /// `typist` sent a message in `room`: their typing ends without a frame.
    pub fn message_from(&self, room: Uuid, typist: Uuid) {
        self.typing.lock().expect("lock").remove(&(room, typist));
    }

    /// The `stop`s of every deadline passed by `now`.
    pub fn expire(&self, now: Instant) -> Vec<TypingDelivery> {
        let mut board = self.typing.lock().expect("lock");
        let mut ended = Vec::new();
        board.retain(|(room, typist), deadline| {
            let alive = *deadline > now;
            if !alive {
                ended.push(TypingDelivery::new(*room, *typist, TypingState::Stop));
            }
            alive
        });
        ended
    }

    /// Forgets the typists of a room no local socket is in any more.
    pub fn forget_room(&self, room: Uuid) {
        self.typing
            .lock()
            .expect("lock")
            .retain(|(typing_room, _), _| *typing_room != room);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (Uuid, Uuid) {
        (Uuid::now_v7(), Uuid::now_v7())
    }

    fn state_of(delivery: &TypingDelivery) -> String {
        let frame: serde_json::Value = serde_json::from_str(delivery.frame.as_str()).unwrap();
        frame["state"].as_str().unwrap().to_owned()
    }

    #[test]
    fn a_start_is_delivered_and_a_stop_only_after_one() {
        let board = TypingBoard::new(Duration::from_secs(6));
        let (room, ada) = ids();
        let now = Instant::now();
        assert!(board.heard(room, ada, false, now).is_none());
        let start = board.heard(room, ada, true, now).unwrap();
        assert_eq!(
            (start.room, start.typist, state_of(&start).as_str()),
            (room, ada, "start")
        );
        let stop = board.heard(room, ada, false, now).unwrap();
        assert_eq!(state_of(&stop), "stop");
        assert!(board.heard(room, ada, false, now).is_none());
    }

    #[test]
    fn a_start_not_renewed_in_time_ends_with_a_stop() {
        let board = TypingBoard::new(Duration::from_secs(6));
        let (room, ada) = ids();
        let grace = Uuid::now_v7();
        let t0 = Instant::now();
        board.heard(room, ada, true, t0);
        board.heard(room, grace, true, t0 + Duration::from_secs(4));
        assert!(board.expire(t0 + Duration::from_secs(5)).is_empty());
        // A renewal moves Ada's deadline.
        board.heard(room, ada, true, t0 + Duration::from_secs(5));
        let ended = board.expire(t0 + Duration::from_secs(10));
        assert_eq!(ended.len(), 1);
        assert_eq!(
            (ended[0].typist, state_of(&ended[0]).as_str()),
            (grace, "stop")
        );
        let ended = board.expire(t0 + Duration::from_secs(11));
        assert_eq!(ended[0].typist, ada);
        assert!(board.expire(t0 + Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn a_message_ends_typing_without_a_frame() {
        let board = TypingBoard::new(Duration::from_secs(6));
        let (room, ada) = ids();
        let t0 = Instant::now();
        board.heard(room, ada, true, t0);
        board.message_from(room, ada);
        assert!(board.heard(room, ada, false, t0).is_none());
        assert!(board.expire(t0 + Duration::from_secs(7)).is_empty());
    }

    #[test]
    fn a_room_left_by_every_local_socket_is_forgotten() {
        let board = TypingBoard::new(Duration::from_secs(6));
        let (room, ada) = ids();
        let t0 = Instant::now();
        board.heard(room, ada, true, t0);
        board.forget_room(room);
        assert!(board.expire(t0 + Duration::from_secs(7)).is_empty());
    }
}
