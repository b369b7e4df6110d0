//! Room events: entries of the room sequence, announced to the users they concern.
//!
//! The rooms service announces every committed change of a room or of its membership
//! with [`RoomEvents::publish`] (or [`RoomEvents::publish_to_users`]). An event is an
//! entry of its room's sequence, like a message:
//!
//! 1. It becomes a [`RoomItem`] ([`event_item`]: the event id is the item id, the event is
//!    its body) and takes the room's next position through [`Sequencer::append_once`],
//!    which stores the [`RoomEnvelope`] in the room's stream, PUBLISHes it on the room's
//!    channel and records it as pending, in one atomic step. So a room channel carries
//!    only envelopes, and its subscribers hear a room's messages and events interleaved
//!    in position order, with no gap. An event is appended once per event id: the rooms
//!    service's outbox relay, appending again after a crash, gets the first position
//!    back instead of a second entry.
//! 2. Only then is the bare [`RoomEvent`], with `epoch` and `seq` set to that position,
//!    published on the channel of each user it concerns ([`concerned_users`], plus the
//!    former members of a deleted room). The gateways of a user just added to (or removed
//!    from) a room learn of it there, and a socket they subscribe to the room on hearing
//!    it must receive the room's entries after that position.
//! 3. The envelope is published to the persistence queue ([`PersistPublisher`]) and, once
//!    the broker confirmed it, its pending record is cleared ([`Sequencer::confirm`]).
//!    When that fails the change still stands: the failure is logged and counted
//!    (`chat_bus_persist_publish_failures_total`), and the history service's sweeper
//!    stores the entry from its pending record.
//!
//! A deleted room's `ROOM_DELETED` event is its last entry; a new room's `ROOM_CREATED`
//! (or `DIRECT_CREATED`) event its first.
//!
//! Channel names share the deployment's key prefix (`chat:` by default):
//! `{prefix}room:{room_id}` and `{prefix}user:{user_id}`.
//!
//! Pub/sub delivers at most once to whoever is subscribed at that moment. A room channel's
//! subscriber catches up by position (the room's stream, then history); a user channel's
//! subscriber that was disconnected must re-read the state it caches (memberships) over
//! gRPC.

use std::fmt::Display;

use chat_proto::v1::{RoomEnvelope, RoomEvent, RoomEventKind, RoomItem, room_item};
use prost::Message;

use crate::sequencer::{AppendOutcome, Appended};
use crate::{BusError, PersistPublisher, Sequencer};

/// Counter of room events not published, by payload (`room_event`): no position could be
/// taken (nothing was published), or the users' channels were not reached. Not retried:
/// the change stands, and subscribers re-sync over gRPC.
pub const PUBLISH_FAILURES_METRIC: &str = "chat_bus_publish_failures_total";

// Every channel is a sharded pub/sub channel (`SPUBLISH`/`SSUBSCRIBE`) named with its
// owner's hash tag, so in Redis Cluster it lives in the slot of the owner's keys.

/// The channel every gateway with a socket in the room listens to.
pub fn room_channel(prefix: &str, room_id: impl Display) -> String {
    format!("{prefix}room:{{{room_id}}}")
}

/// The channel of one user, listened to by every gateway holding one of the user's sockets.
pub fn user_channel(prefix: &str, user_id: impl Display) -> String {
    format!("{prefix}user:{{{user_id}}}")
}

/// The channel of one user's presence, listened to by every gateway with a socket that
/// follows the user. Its messages are text: `online`, `away`, or `offline:<ms>` (when
/// the user was last online, milliseconds since 1970).
pub fn presence_channel(prefix: &str, user_id: impl Display) -> String {
    format!("{prefix}presence:{{{user_id}}}")
}

/// What a channel name received by a subscriber stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel<'a> {
    /// A room channel, with the room id as written in the name.
    Room(&'a str),
    /// A user channel, with the user id as written in the name.
    User(&'a str),
    /// A user's presence channel, with the user id as written in the name.
    Presence(&'a str),
}

impl<'a> Channel<'a> {
    /// Reads a channel name built by [`room_channel`], [`user_channel`] or
    /// [`presence_channel`] with `prefix`; `None` for any other name.
    pub fn parse(prefix: &str, name: &'a str) -> Option<Self> {
        let rest = name.strip_prefix(prefix)?;
        let (kind, tagged) = rest.split_once(':')?;
        let id = tagged.strip_prefix('{')?.strip_suffix('}')?;
        match kind {
            "room" => Some(Self::Room(id)),
            "presence" => Some(Self::Presence(id)),
            "user" => Some(Self::User(id)),
            _ => None,
        }
    }
}

/// Sequences, publishes and persists room events (and decodes them on the user-channel
/// side).
///
/// Cheap to clone: clones share the sequencer's Redis connection and the publisher's
/// RabbitMQ connection, each reconnecting by itself.
#[derive(Clone)]
pub struct RoomEvents {
    sequencer: Sequencer,
    persist: PersistPublisher,
}

impl std::fmt::Debug for RoomEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomEvents")
            .field("sequencer", &self.sequencer)
            .field("persist", &self.persist)
            .finish()
    }
}

impl RoomEvents {
    /// Events sequenced by `sequencer` (whose key prefix names the channels too) and
    /// persisted through `persist`.
    pub fn new(sequencer: Sequencer, persist: PersistPublisher) -> Self {
        Self { sequencer, persist }
    }

    /// The prefix of every channel name.
    pub fn key_prefix(&self) -> &str {
        self.sequencer.key_prefix()
    }

    /// Appends `event` to its room's sequence (which publishes it on the room's channel),
    /// then publishes it with its position on the channel of every user it concerns (see
    /// [`concerned_users`]), then persists it; returns the envelope at its position.
    ///
    /// Fails when the event took no position (nothing was published) or when the users'
    /// channels were not reached (the event is in the sequence all the same). A failed
    /// persistence is not an error: it is logged and counted, and history's sweeper
    /// stores the entry (see the module docs).
    pub async fn publish(&self, event: &RoomEvent) -> Result<RoomEnvelope, BusError> {
        self.publish_to_users(event, std::iter::empty::<&str>())
            .await
    }

    /// Like [`publish`](Self::publish), and also to the channels of `users`: a deleted
    /// room is announced to every former member, whom the event itself does not name.
    #[tracing::instrument(
        name = "room_events.publish",
        skip_all,
        fields(room_id = %event.room_id, kind = ?event.kind(), event_id = %event.event_id)
    )]
    pub async fn publish_to_users<I, S>(
        &self,
        event: &RoomEvent,
        users: I,
    ) -> Result<RoomEnvelope, BusError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        match self.sequence(event).await? {
            AppendOutcome::New(appended) | AppendOutcome::Pending(appended) => {
                self.announce_sequenced(event, users, &appended).await
            }
            // Announced and persisted by an earlier call: its position, nothing to do.
            AppendOutcome::Confirmed(ack) => Ok(RoomEnvelope {
                epoch: ack.epoch,
                seq: ack.seq,
                item: event_item(event)?.encode_to_vec(),
                room_id: event.room_id.clone(),
            }),
        }
    }

    /// Step 1 of [`publish_to_users`](Self::publish_to_users): gives `event` its room's
    /// next position (stored in the room's stream, published on the room's channel,
    /// recorded as pending), once per event id within the sequencer's dedup time. A
    /// caller that must not leave a committed change unannounced retries this step until
    /// it succeeds, then takes the next. An event sequenced before is not appended again:
    /// [`AppendOutcome::Pending`] (its confirm is not recorded: announce it again, which
    /// is idempotent) or [`AppendOutcome::Confirmed`] (nothing left to do).
    pub async fn sequence(&self, event: &RoomEvent) -> Result<AppendOutcome, BusError> {
        match event_item(event) {
            Ok(item) => self.sequencer.append_once(&item).await,
            Err(err) => Err(err),
        }
        .inspect_err(|_| count_publish_failure())
    }

    /// Steps 2 and 3 of [`publish_to_users`](Self::publish_to_users) for an event
    /// [`sequence`](Self::sequence)d already: its users' channels, then persistence.
    pub async fn announce_sequenced<I, S>(
        &self,
        event: &RoomEvent,
        users: I,
        appended: &Appended,
    ) -> Result<RoomEnvelope, BusError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let told_users = self
            .publish_to_user_channels(event, users, &appended.envelope)
            .await;
        self.persist(appended, event).await;
        told_users.map(|()| appended.envelope.clone())
    }

    /// Every user channel `event` goes to, without repeats: those of the users it
    /// concerns, then those of `users`.
    pub fn user_channels<I, S>(&self, event: &RoomEvent, users: I) -> Vec<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut user_ids: Vec<String> = concerned_users(event)
            .into_iter()
            .map(str::to_owned)
            .collect();
        for user in users {
            let user = user.as_ref();
            if !user_ids.iter().any(|known| known == user) {
                user_ids.push(user.to_owned());
            }
        }
        user_ids
            .iter()
            .map(|user| user_channel(self.key_prefix(), user))
            .collect()
    }

    /// Reads a payload received on a user channel: a bare [`RoomEvent`] with its
    /// position. (A room channel carries [`RoomEnvelope`]s: read them with
    /// [`decode_envelope`](crate::decode_envelope) and [`decode_item`](crate::decode_item).)
    pub fn decode(payload: &[u8]) -> Result<RoomEvent, BusError> {
        Ok(RoomEvent::decode(payload)?)
    }

    async fn publish_to_user_channels<I, S>(
        &self,
        event: &RoomEvent,
        users: I,
        envelope: &RoomEnvelope,
    ) -> Result<(), BusError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let channels = self.user_channels(event, users);
        if channels.is_empty() {
            return Ok(());
        }
        let payload = RoomEvent {
            epoch: Some(envelope.epoch),
            seq: Some(envelope.seq),
            ..event.clone()
        }
        .encode_to_vec();
        match self
            .sequencer
            .connection()
            .publish_each(&channels, &payload)
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => {
                count_publish_failure();
                Err(BusError::from(err))
            }
        }
    }

    /// Hands the envelope to RabbitMQ and clears its pending record once confirmed; a
    /// failure leaves the record for history's sweeper.
    async fn persist(&self, appended: &Appended, event: &RoomEvent) {
        let envelope = &appended.envelope;
        if let Err(err) = self
            .persist
            .publish(&appended.bytes, &envelope.room_id)
            .await
        {
            tracing::warn!(
                error = %err,
                room_id = %envelope.room_id,
                epoch = envelope.epoch,
                seq = envelope.seq,
                event_id = %event.event_id,
                "room event not confirmed by the broker; history's sweeper will store it"
            );
            return;
        }
        if let Err(err) = self.sequencer.confirm_appended(appended).await {
            tracing::warn!(
                error = %err,
                room_id = %envelope.room_id,
                epoch = envelope.epoch,
                seq = envelope.seq,
                "pending record of a persisted room event not cleared; it will be stored again, idempotently"
            );
        }
    }
}

fn count_publish_failure() {
    metrics::counter!(PUBLISH_FAILURES_METRIC, "payload" => "room_event").increment(1);
}

/// The entry of its room's sequence that `event` becomes: its id is the event id (a
/// UUIDv7), its actor and time the event's, its body the event (without a position: the
/// envelope carries that).
pub fn event_item(event: &RoomEvent) -> Result<RoomItem, BusError> {
    if event.event_id.is_empty() {
        return Err(BusError::Invalid("a room event needs an event id".into()));
    }
    Ok(RoomItem {
        id: event.event_id.clone(),
        room_id: event.room_id.clone(),
        actor_id: event.actor_id.clone(),
        occurred_at: event.occurred_at,
        body: Some(room_item::Body::RoomEvent(RoomEvent {
            epoch: None,
            seq: None,
            ..event.clone()
        })),
    })
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
        assert_eq!(room, "chat:room:{abc}");
        assert_eq!(user, "chat:user:{def}");
        assert_eq!(
            crate::keys::key_slot(&room),
            crate::keys::key_slot(&crate::keys::RoomKeys::new("chat:", "abc").seq())
        );
        assert_eq!(Channel::parse("chat:", &room), Some(Channel::Room("abc")));
        assert_eq!(Channel::parse("chat:", &user), Some(Channel::User("def")));
        let presence = presence_channel("chat:", "ghi");
        assert_eq!(presence, "chat:presence:{ghi}");
        assert_eq!(
            Channel::parse("chat:", &presence),
            Some(Channel::Presence("ghi"))
        );
        assert_eq!(Channel::parse("other:", &room), None);
        assert_eq!(Channel::parse("chat:", "chat:pos:{abc}"), None);
        assert_eq!(Channel::parse("chat:", "chat:room:abc"), None);
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

    #[test]
    fn an_event_becomes_an_entry_named_by_its_id_without_a_position() {
        let mut sent = event(RoomEventKind::MemberJoined, "u1");
        sent.occurred_at.get_or_insert_default().seconds = 1_763_700_000;
        sent.epoch = Some(7);
        sent.seq = Some(3);

        let item = event_item(&sent).expect("an entry");

        assert_eq!(
            (
                item.id.as_str(),
                item.room_id.as_str(),
                item.actor_id.as_str()
            ),
            ("e", "r1", "a")
        );
        assert_eq!(item.occurred_at, sent.occurred_at);
        let Some(room_item::Body::RoomEvent(body)) = item.body else {
            panic!("a room event body");
        };
        assert_eq!((body.epoch, body.seq), (None, None));
        assert_eq!(
            body,
            RoomEvent {
                epoch: None,
                seq: None,
                ..sent
            }
        );
    }

    #[test]
    fn an_event_without_an_id_is_no_entry() {
        let mut sent = event(RoomEventKind::MemberJoined, "u1");
        sent.event_id.clear();
        assert!(matches!(event_item(&sent), Err(BusError::Invalid(_))));
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(matches!(
            RoomEvents::decode(&[0xff, 0xff, 0xff]),
            Err(BusError::Decode(_))
        ));
    }
}
