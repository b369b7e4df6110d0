//! Room events over Redis pub/sub.
//!
//! The rooms service publishes a [`RoomEvent`] (prost-encoded bytes) for every committed
//! change of a room or of its membership. Each event goes to the room's channel, so every
//! gateway with a socket in the room hears it, and to the channel of each user it
//! concerns, so the gateways of a user who was just added to (or removed from) a room
//! learn about a room they were not yet (or are no longer) subscribed to.
//!
//! Channel names share the deployment's key prefix (`chat:` by default):
//! `{prefix}room:{room_id}` and `{prefix}user:{user_id}`.
//!
//! Pub/sub delivers at most once to whoever is subscribed at that moment; a subscriber
//! that was disconnected must re-read the state it caches (memberships) over gRPC.

use std::fmt::Display;

use chat_proto::v1::{RoomEvent, RoomEventKind};
use prost::Message;
use redis::aio::ConnectionManager;

use crate::BusError;

/// Counter of publishes that failed, by payload (`room_event`). A failed publish after a
/// committed change is not retried: the change stands, and subscribers re-sync from gRPC.
pub const PUBLISH_FAILURES_METRIC: &str = "chat_bus_publish_failures_total";

/// The channel every gateway with a socket in the room listens to.
pub fn room_channel(prefix: &str, room_id: impl Display) -> String {
    format!("{prefix}room:{room_id}")
}

/// The channel of one user, listened to by every gateway holding one of the user's sockets.
pub fn user_channel(prefix: &str, user_id: impl Display) -> String {
    format!("{prefix}user:{user_id}")
}

/// What a channel name received by a subscriber stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel<'a> {
    /// A room channel, with the room id as written in the name.
    Room(&'a str),
    /// A user channel, with the user id as written in the name.
    User(&'a str),
}

impl<'a> Channel<'a> {
    /// Reads a channel name built by [`room_channel`] or [`user_channel`] with `prefix`;
    /// `None` for any other name.
    pub fn parse(prefix: &str, name: &'a str) -> Option<Self> {
        let rest = name.strip_prefix(prefix)?;
        if let Some(id) = rest.strip_prefix("room:") {
            Some(Self::Room(id))
        } else {
            rest.strip_prefix("user:").map(Self::User)
        }
    }
}

/// Publishes room events (and decodes them on the subscriber side).
///
/// Cheap to clone: clones share one multiplexed Redis connection that reconnects by itself.
#[derive(Clone)]
pub struct RoomEvents {
    connection: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RoomEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomEvents")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RoomEvents {
    /// Events published on `connection`, on channels whose names start with `key_prefix`.
    pub fn new(connection: ConnectionManager, key_prefix: impl Into<String>) -> Self {
        Self {
            connection,
            prefix: key_prefix.into(),
        }
    }

    /// The prefix of every channel name.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// Publishes `event` to its room's channel and to the channel of every user it
    /// concerns (see [`concerned_users`]).
    pub async fn publish(&self, event: &RoomEvent) -> Result<(), BusError> {
        self.publish_to_users(event, std::iter::empty::<&str>())
            .await
    }

    /// Like [`publish`](Self::publish), and also to the channels of `users`: a deleted
    /// room is announced to every former member, whom the event itself does not name.
    pub async fn publish_to_users<I, S>(&self, event: &RoomEvent, users: I) -> Result<(), BusError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let channels = self.channels(event, users);
        let payload = event.encode_to_vec();
        let mut pipe = redis::pipe();
        for channel in &channels {
            pipe.cmd("PUBLISH").arg(channel).arg(&payload).ignore();
        }
        let mut connection = self.connection.clone();
        let outcome: Result<(), redis::RedisError> = pipe.query_async(&mut connection).await;
        outcome.map_err(|err| {
            metrics::counter!(PUBLISH_FAILURES_METRIC, "payload" => "room_event").increment(1);
            BusError::from(err)
        })
    }

    /// Every channel `event` goes to, the room's first, without repeats.
    pub fn channels<I, S>(&self, event: &RoomEvent, users: I) -> Vec<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut channels = vec![room_channel(&self.prefix, &event.room_id)];
        let extra = users.into_iter();
        let mut user_ids: Vec<String> = concerned_users(event)
            .into_iter()
            .map(str::to_owned)
            .collect();
        for user in extra {
            let user = user.as_ref();
            if !user_ids.iter().any(|known| known == user) {
                user_ids.push(user.to_owned());
            }
        }
        channels.extend(user_ids.iter().map(|u| user_channel(&self.prefix, u)));
        channels
    }

    /// Reads a payload received on a room or user channel.
    pub fn decode(payload: &[u8]) -> Result<RoomEvent, BusError> {
        Ok(RoomEvent::decode(payload)?)
    }
}

/// The users whose own channel hears `event`: the user it is about (joined, left,
/// invited, kicked, banned, unbanned, role changed, and the creator of a new room), and
/// both users of a new direct room. Room updates and deletions name nobody here; a
/// deletion's former members are passed to [`RoomEvents::publish_to_users`].
pub fn concerned_users(event: &RoomEvent) -> Vec<&str> {
    let mut users: Vec<&str> = Vec::new();
    if !event.user_id.is_empty() {
        users.push(&event.user_id);
    }
    if event.kind() == RoomEventKind::DirectCreated
        && let Some(room) = &event.room
    {
        for user in &room.direct_user_ids {
            if !users.contains(&user.as_str()) {
                users.push(user);
            }
        }
    }
    users
}

#[cfg(test)]
mod tests {
    use chat_proto::v1::{Room, RoomKind};
    use futures::StreamExt;

    use super::*;

    fn event(kind: RoomEventKind, user_id: &str) -> RoomEvent {
        RoomEvent {
            room_id: "r1".into(),
            kind: kind as i32,
            user_id: user_id.into(),
            actor_id: "a".into(),
            event_id: "e".into(),
            ..Default::default()
        }
    }

    #[test]
    fn channel_names_round_trip() {
        let room = room_channel("chat:", "abc");
        let user = user_channel("chat:", "def");
        assert_eq!(room, "chat:room:abc");
        assert_eq!(user, "chat:user:def");
        assert_eq!(Channel::parse("chat:", &room), Some(Channel::Room("abc")));
        assert_eq!(Channel::parse("chat:", &user), Some(Channel::User("def")));
        assert_eq!(Channel::parse("other:", &room), None);
        assert_eq!(Channel::parse("chat:", "chat:pos:abc"), None);
    }

    #[test]
    fn events_about_a_user_reach_that_user() {
        let joined = event(RoomEventKind::MemberJoined, "u1");
        assert_eq!(concerned_users(&joined), vec!["u1"]);

        let updated = event(RoomEventKind::RoomUpdated, "");
        assert!(concerned_users(&updated).is_empty());

        let mut direct = event(RoomEventKind::DirectCreated, "u2");
        direct.room = Some(Room {
            kind: RoomKind::Direct as i32,
            direct_user_ids: vec!["u1".into(), "u2".into()],
            ..Default::default()
        });
        assert_eq!(concerned_users(&direct), vec!["u2", "u1"]);
    }

    #[tokio::test]
    async fn a_published_event_reaches_room_and_user_subscribers() {
        let client = redis::Client::open("redis://127.0.0.1:6379").expect("redis url");
        let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
        let events = RoomEvents::new(
            ConnectionManager::new(client.clone()).await.expect("redis"),
            prefix.clone(),
        );
        let mut subscriber = client.get_async_pubsub().await.expect("pubsub");
        subscriber
            .subscribe(room_channel(&prefix, "r1"))
            .await
            .expect("subscribe");
        subscriber
            .subscribe(user_channel(&prefix, "u1"))
            .await
            .expect("subscribe");
        subscriber
            .subscribe(user_channel(&prefix, "u9"))
            .await
            .expect("subscribe");

        let sent = event(RoomEventKind::RoomDeleted, "");
        events
            .publish_to_users(&sent, ["u1", "u9"])
            .await
            .expect("publish");

        let mut messages = subscriber.on_message();
        let mut heard = Vec::new();
        for _ in 0..3 {
            let message = messages.next().await.expect("message");
            assert_eq!(
                RoomEvents::decode(message.get_payload_bytes()).expect("decode"),
                sent
            );
            heard.push(message.get_channel_name().to_owned());
        }
        heard.sort();
        let mut expected = vec![
            room_channel(&prefix, "r1"),
            user_channel(&prefix, "u1"),
            user_channel(&prefix, "u9"),
        ];
        expected.sort();
        assert_eq!(heard, expected);
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(matches!(
            RoomEvents::decode(&[0xff, 0xff, 0xff]),
            Err(BusError::Decode(_))
        ));
    }
}
