//! Writing a room's entries to a socket at exact positions: live deliveries, fills of
//! what was missed (resume, gaps, Redis restarts), resyncs, and rooms joining or leaving
//! the socket. What to do with each entry is [`super::cursor`]'s decision.
//!
//! An entry that ends this user's membership (left, kicked, banned) or the room
//! (deleted) takes the room off the socket right after it is written, so the socket stops
//! at that exact position whatever happens to the user's channel; the user-channel event
//! that follows finds the room gone and changes nothing. After the hub lost Redis for a
//! while, the socket also compares its rooms with the user's memberships.
//!
//! A position that cannot be read from Redis is never guessed: the socket is closed with
//! 1011 and the client resumes.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use chat_proto::v1::{RoomEvent, RoomEventKind, RoomKind};
use chat_protocol::server::{RemovalReason, Resync, ResyncReason, RoomAdded, RoomRemoved};
use chat_protocol::{Disconnect, Position, RoomId, ServerFrame};

use super::connection::{Ended, Flow};
use super::cursor::{self, Next};
use super::socket::Session;
use crate::core::catchup::{PAGE, Step, Unreadable};
use crate::core::outbox::{Outbound, Removal, RoomDelivery};
use crate::core::render;

/// How long a `leave` waits for the room's own `member.left` entry before it takes the
/// room off the socket regardless, and a `join` for the event that added the user before
/// it adds the room at its current position.
const MEMBERSHIP_WAIT: Duration = Duration::from_secs(3);

impl Session {
    /// Writes what the hub queued, then flushes. The common item, a live entry right
    /// after the socket's cursor that ends no membership of its user, is written here;
    /// anything else goes through [`Self::deliver_one`], boxed, so that the session's
    /// future (held by every idle socket) stays small and a plain delivery allocates
    /// nothing.
    pub(super) async fn deliver_ready(&mut self) -> Flow {
        while let Some(item) = self.outbox.pop() {
            match item {
                Outbound::Room(delivery) if self.is_next_plain(&delivery) => {
                    if let Some(frame) = &delivery.frame {
                        self.connection.feed_text(frame.clone()).await?;
                    }
                    self.cursors
                        .insert(RoomId::from(delivery.room), delivery.position);
                }
                item => Box::pin(self.deliver_one(item)).await?,
            }
        }
        self.connection.flush().await
    }

    /// Whether `delivery` is the next entry of its room for this socket and ends no
    /// membership of its user.
    fn is_next_plain(&self, delivery: &RoomDelivery) -> bool {
        let at = self.cursors.get(&RoomId::from(delivery.room)).copied();
        cursor::on_entry(at, delivery.position) == Next::Deliver
            && delivery
                .removal
                .is_none_or(|removal| removal.reason_for(self.user.into()).is_none())
    }

    /// A live entry the hub queued.
    pub(super) async fn deliver(&mut self, delivery: &RoomDelivery) -> Flow {
        let room = RoomId::from(delivery.room);
        let entry = delivery.position;
        tracing::debug!(
            socket = self.outbox.id(),
            %room,
            ?entry,
            next = ?cursor::on_entry(self.cursors.get(&room).copied(), entry),
            "live entry"
        );
        if let Next::Fill { through } = cursor::on_entry(self.cursors.get(&room).copied(), entry) {
            Box::pin(self.fill(room, Some(through), true)).await?;
        }
        if cursor::on_entry(self.cursors.get(&room).copied(), entry) != Next::Deliver {
            return Ok(());
        }
        if let Some(frame) = &delivery.frame {
            self.connection.feed_text(frame.clone()).await?;
        }
        self.cursors.insert(room, entry);
        self.after_entry(room, delivery.removal).await?;
        Ok(())
    }

    /// After an entry was written: an entry that ends this user's membership (or the
    /// room) takes the room off the socket right there. Returns whether it did.
    async fn after_entry(&mut self, room: RoomId, removal: Option<Removal>) -> Result<bool, Ended> {
        match removal.and_then(|removal| removal.reason_for(self.user.into())) {
            Some(reason) => {
                self.remove_room(room, reason).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Writes what follows the room's cursor, up to `through` (or everything there is),
    /// and returns how many entries were written. With `removals`, an entry that ends the
    /// user's membership takes the room away and ends the fill. A `resync` is written
    /// when the epoch changed; when the new epoch is still in the stream from its start,
    /// its entries follow. When Redis cannot be read the socket is closed with 1011.
    pub(super) async fn fill(
        &mut self,
        room: RoomId,
        through: Option<Position>,
        removals: bool,
    ) -> Result<u64, Ended> {
        let mut replayed = 0;
        loop {
            let Some(at) = self.cursors.get(&room).copied() else {
                return Ok(replayed);
            };
            let Some(wanted) = cursor::still_wanted(at, through) else {
                return Ok(replayed);
            };
            let wanted = wanted.map_or(PAGE, |n| usize::try_from(n).unwrap_or(PAGE));
            let step = self
                .realtime
                .catchup()
                .next(room.as_uuid(), at, wanted)
                .await;
            match step {
                Ok(Step::Entries(entries)) => {
                    for missed in entries {
                        if cursor::beyond(missed.position, through) {
                            return Ok(replayed);
                        }
                        if let Some(frame) = missed.frame {
                            self.connection.feed_text(Utf8Bytes::from(frame)).await?;
                        }
                        replayed += 1;
                        self.cursors.insert(room, missed.position);
                        if removals && self.after_entry(room, missed.removal).await? {
                            return Ok(replayed);
                        }
                    }
                }
                Ok(Step::UpToDate) => return Ok(replayed),
                Ok(Step::Resync(position)) => {
                    self.resync(room, position, ResyncReason::EpochChanged)
                        .await?;
                    if position.epoch == 0 || position.seq != 0 {
                        return Ok(replayed);
                    }
                    // The new epoch is in the stream from its start: go on reading it.
                }
                Ok(Step::Unrecoverable(position)) => {
                    self.resync(room, position, ResyncReason::GapUnrecoverable)
                        .await?;
                    return Ok(replayed);
                }
                Err(Unreadable) => {
                    tracing::warn!(%room, "cannot catch up: Redis unreadable; closing with 1011");
                    self.connection
                        .close(Disconnect::PositionsUnavailable)
                        .await;
                    return Err(Ended);
                }
            }
        }
    }

    /// Tells the client to go on from `position` in `room`.
    pub(super) async fn resync(
        &mut self,
        room: RoomId,
        position: Position,
        reason: ResyncReason,
    ) -> Flow {
        self.connection
            .send(&ServerFrame::Resync(Resync {
                room,
                position,
                reason,
            }))
            .await?;
        self.cursors.insert(room, position);
        Ok(())
    }

    /// After the hub reconnected to Redis: whatever was published meanwhile is missing,
    /// room entries and user-channel events alike. The entries are filled first (an entry
    /// that ended a membership takes the room away with its own reason); then the rooms
    /// service says which rooms the user belongs to: the others are removed, new ones
    /// added at their current position.
    pub(super) async fn recheck(&mut self) -> Flow {
        let rooms: Vec<RoomId> = self.cursors.keys().copied().collect();
        for room in rooms {
            Box::pin(self.fill(room, None, true)).await?;
        }
        let Some(member_of) = self.memberships().await else {
            self.connection.close(Disconnect::RoomsUnavailable).await;
            return Err(Ended);
        };
        let member_of: HashSet<RoomId> = member_of.rooms.into_iter().collect();
        let gone: Vec<RoomId> = self
            .cursors
            .keys()
            .filter(|room| !member_of.contains(room))
            .copied()
            .collect();
        for room in gone {
            self.remove_room(room, RemovalReason::NotAMember).await?;
        }
        for room in member_of {
            if !self.cursors.contains_key(&room) {
                Box::pin(self.add_room(room, RoomKind::Unspecified, None)).await?;
            }
        }
        Ok(())
    }

    /// Subscribes this socket to a room it now belongs to and tells the client. With
    /// `from` (the position of the event that added the user), the room's entries after
    /// it follow; without, the socket starts at the room's current position (and is
    /// closed with 1011 when Redis cannot say what that is).
    pub(super) async fn add_room(
        &mut self,
        room: RoomId,
        kind: RoomKind,
        from: Option<Position>,
    ) -> Flow {
        if self.cursors.contains_key(&room) {
            return Ok(());
        }
        self.cursors.insert(room, Position::NOTHING);
        self.realtime
            .hub()
            .join_rooms(&self.outbox, &[room.as_uuid()])
            .await;
        let position = match from {
            Some(position) => position,
            None => match self.realtime.sequencer().current_position(room).await {
                Ok(position) => position.unwrap_or_default(),
                Err(err) => {
                    tracing::warn!(%room, error = %err, "cannot read the room's position; closing with 1011");
                    self.connection
                        .close(Disconnect::PositionsUnavailable)
                        .await;
                    return Err(Ended);
                }
            },
        };
        self.cursors.insert(room, position);
        self.connection
            .send(&ServerFrame::RoomAdded(RoomAdded {
                room,
                kind: render::room_kind(kind),
                position,
            }))
            .await?;
        if from.is_some() {
            Box::pin(self.fill(room, None, true)).await?;
            self.connection.flush().await?;
        }
        Ok(())
    }

    /// Takes a room off the socket and tells the client (once).
    pub(super) async fn remove_room(&mut self, room: RoomId, reason: RemovalReason) -> Flow {
        if self.cursors.remove(&room).is_none() {
            return Ok(());
        }
        self.realtime.hub().leave_room(&self.outbox, room.as_uuid());
        self.connection
            .send(&ServerFrame::RoomRemoved(RoomRemoved { room, reason }))
            .await
    }

    /// After the user left `room`: its `member.left` entry is delivered first, which takes
    /// the room off the socket; if it does not come in time, the room goes anyway.
    pub(super) async fn await_removal(&mut self, room: RoomId) -> Flow {
        let deadline = tokio::time::Instant::now() + MEMBERSHIP_WAIT;
        while self.cursors.contains_key(&room) {
            Box::pin(self.fill(room, None, true)).await?;
            if !self.cursors.contains_key(&room) {
                break;
            }
            tokio::select! {
                () = self.outbox.ready() => Box::pin(self.deliver_ready()).await?,
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
                () = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(%room, "no member.left entry in time; removing the room");
                    return self.remove_room(room, RemovalReason::Left).await;
                }
            }
        }
        self.connection.flush().await
    }

    /// After the user joined `room`: the event that added them (on the user's channel) is
    /// delivered first, which adds the room from that event's position, so this socket
    /// gets the room's entries after it exactly as the user's other sockets do; if it does
    /// not come in time, the room is added at its current position.
    pub(super) async fn await_addition(&mut self, room: RoomId, kind: RoomKind) -> Flow {
        let deadline = tokio::time::Instant::now() + MEMBERSHIP_WAIT;
        while !self.cursors.contains_key(&room) {
            tokio::select! {
                () = self.outbox.ready() => Box::pin(self.deliver_ready()).await?,
                () = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(%room, "no event of the join in time; adding the room at its position");
                    return self.add_room(room, kind, None).await;
                }
            }
        }
        self.connection.flush().await
    }

    /// Writes one queued item (without flushing). After a slow consumer's overflow the
    /// outbox is empty, so the loop above ends there.
    async fn deliver_one(&mut self, item: Outbound) -> Flow {
        match item {
            Outbound::Room(delivery) => self.deliver(&delivery).await?,
            Outbound::Membership(event) => Box::pin(self.on_membership(&event)).await?,
            Outbound::Recheck => Box::pin(self.recheck()).await?,
            Outbound::Presence(change) => {
                let user = change.user_id.as_uuid();
                if let Some(following) = self.following.as_mut()
                    && following.watching.contains(&user)
                {
                    following.pending.insert(user, (*change).clone());
                    if tokio::time::Instant::now() >= following.next {
                        self.flush_presence().await?;
                    }
                }
            }
            Outbound::SessionEnded(session) => {
                if session.is_empty() || *session == *self.session_id {
                    self.connection.close(Disconnect::SessionEnded).await;
                    return Err(Ended);
                }
            }
            Outbound::Read(frame) => self.connection.feed_text(frame).await?,
            Outbound::Typing(typing) => {
                // Only while the room is still the socket's.
                if self.cursors.contains_key(&RoomId::from(typing.room)) {
                    self.connection.feed_text(typing.frame.clone()).await?;
                }
            }
            Outbound::Receipts(receipts) => {
                if self.cursors.contains_key(&RoomId::from(receipts.room)) {
                    self.connection.feed_text(receipts.frame.clone()).await?;
                }
            }
        }
        Ok(())
    }

    /// An event of the user's channel: a room added to or taken from the user.
    async fn on_membership(&mut self, event: &RoomEvent) -> Flow {
        let Ok(room) = event.room_id.parse::<RoomId>() else {
            return Ok(());
        };
        let about_me = event.user_id == self.user.to_string();
        let kind = event
            .room
            .as_ref()
            .map_or(RoomKind::Unspecified, |r| r.kind());
        // The event's own position: the socket gets the room's entries after it.
        let from = event
            .epoch
            .zip(event.seq)
            .map(|(epoch, seq)| Position::new(epoch, seq));
        match event.kind() {
            RoomEventKind::MemberJoined | RoomEventKind::MemberInvited if about_me => {
                self.add_room(room, kind, from).await
            }
            RoomEventKind::DirectCreated | RoomEventKind::RoomCreated => {
                self.add_room(room, kind, from).await
            }
            _ => {
                match Removal::of(event).and_then(|removal| removal.reason_for(self.user.into())) {
                    // A no-op when the room's own entry already took the room away.
                    Some(reason) => self.remove_room(room, reason).await,
                    None => Ok(()),
                }
            }
        }
    }
}
