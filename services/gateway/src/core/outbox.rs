//! One socket's bounded outbound queue.
//!
//! The fan-out hub pushes into it and never waits: when the queue is full the socket is
//! marked as a slow consumer, its queued items are dropped at once (the memory goes back
//! immediately, not when the socket task gets to run), and the socket task closes the
//! connection with 4003. An idle socket's queue holds no allocation.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use axum::extract::ws::Utf8Bytes;
use chat_proto::v1::room_item::Body;
use chat_proto::v1::{RoomEvent, RoomEventKind, RoomItem};
use chat_protocol::Position;
use chat_protocol::presence::PresenceView;
use chat_protocol::server::RemovalReason;
use futures::task::AtomicWaker;

use crate::core::receipts::ReceiptsDelivery;
use crate::core::typing::TypingDelivery;
use uuid::Uuid;

/// One event of a room's sequence, rendered once for every local socket.
#[derive(Debug)]
pub struct RoomDelivery {
    pub room: Uuid,
    pub position: Position,
    /// The JSON frame; `None` when the entry has no body clients know (it still takes its
    /// position, so the socket's cursor moves past it).
    pub frame: Option<Utf8Bytes>,
    /// Whose membership the entry ends, if it ends one.
    pub removal: Option<Removal>,
}

/// An entry of a room's sequence that ends a membership (a member left, was kicked or
/// banned) or every membership (the room was deleted). A socket of that user stops
/// receiving the room right after the entry, at exactly that position, whether or not
/// the matching event on the user's channel ever arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removal {
    /// The user whose membership ends; `None` for everyone's.
    pub user: Option<Uuid>,
    /// The `reason` of the `room.removed` frame.
    pub reason: RemovalReason,
}

impl Removal {
    /// The membership `event` ends, if any.
    pub fn of(event: &RoomEvent) -> Option<Self> {
        let reason = match event.kind() {
            RoomEventKind::RoomDeleted => {
                return Some(Self {
                    user: None,
                    reason: RemovalReason::Deleted,
                });
            }
            RoomEventKind::MemberLeft => RemovalReason::Left,
            RoomEventKind::MemberKicked => RemovalReason::Kicked,
            RoomEventKind::MemberBanned => RemovalReason::Banned,
            _ => return None,
        };
        Some(Self {
            user: Some(event.user_id.parse().ok()?),
            reason,
        })
    }

    /// The membership the room entry `item` ends, if any.
    pub fn of_item(item: &RoomItem) -> Option<Self> {
        match item.body.as_ref()? {
            Body::RoomEvent(event) => Self::of(event),
            _ => None,
        }
    }

    /// The `room.removed` reason when this ends `user`'s membership.
    pub fn reason_for(&self, user: Uuid) -> Option<RemovalReason> {
        self.user
            .is_none_or(|removed| removed == user)
            .then_some(self.reason)
    }
}

/// What the hub hands a socket.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// An event of a room the socket is subscribed to.
    Room(Arc<RoomDelivery>),
    /// A membership change about the socket's user (from the user's channel).
    Membership(Arc<RoomEvent>),
    /// Someone else in one of the socket's rooms started or stopped writing.
    Typing(Arc<TypingDelivery>),
    /// Other members of one of the socket's rooms read further.
    Receipts(Arc<ReceiptsDelivery>),
    /// A session of the socket's user ended (logout): the socket closes if it is that
    /// session's (an empty id: every session).
    SessionEnded(Arc<str>),
    /// A presence change of a user the socket follows.
    Presence(Arc<PresenceView>),
    /// The user's read position moved: the `read` frame.
    Read(Utf8Bytes),
    /// The hub lost its Redis subscription for a while: compare every cursor with the
    /// room's current position and fill what was missed, then compare the socket's rooms
    /// with the user's memberships (membership events may have been missed too).
    Recheck,
}

/// Why a socket must close, decided outside its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// The queue filled up (4003).
    SlowConsumer,
    /// The gateway is shutting down (`reconnect`, then 1012).
    Shutdown,
}

/// Whether [`Outbox::push`] queued the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// The queue was full: the socket is now closing as a slow consumer.
    Overflowed,
    /// The socket is already closing; the item was dropped.
    Closed,
}

/// A socket's outbound queue, shared between the hub (producer) and the socket task.
#[derive(Debug)]
pub struct Outbox {
    id: u64,
    user: Uuid,
    capacity: usize,
    state: Mutex<State>,
    /// Set by a push or a close, taken by the socket task's next look ([`Outbox::ready`]).
    signalled: AtomicBool,
    /// The socket task, woken after `signalled` is set. One task waits on an outbox (its
    /// socket's), so one waker slot does what a `Notify` would, with no lock.
    waiter: AtomicWaker,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Outbound>,
    closing: Option<Closing>,
}

impl Outbox {
    /// An empty queue of at most `capacity` items for a socket of `user`.
    pub fn new(id: u64, user: Uuid, capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            id,
            user,
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
            signalled: AtomicBool::new(false),
            waiter: AtomicWaker::new(),
        })
    }

    /// The socket's id, unique within the process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The socket's user.
    pub fn user(&self) -> Uuid {
        self.user
    }

    /// Queues `item` without waiting. A full queue turns the socket into a slow consumer.
    pub fn push(&self, item: Outbound) -> Pushed {
        let mut state = self.state.lock().expect("outbox lock");
        if state.closing.is_some() {
            return Pushed::Closed;
        }
        if state.queue.len() >= self.capacity {
            state.closing = Some(Closing::SlowConsumer);
            state.queue = VecDeque::new();
            drop(state);
            self.signal();
            return Pushed::Overflowed;
        }
        state.queue.push_back(item);
        drop(state);
        self.signal();
        Pushed::Queued
    }

    /// Asks the socket to close for `reason`, after what is already queued (shutdown) or
    /// at once (slow consumer). The first reason wins.
    pub fn close(&self, reason: Closing) {
        let mut state = self.state.lock().expect("outbox lock");
        if state.closing.is_none() {
            state.closing = Some(reason);
            if reason == Closing::SlowConsumer {
                state.queue = VecDeque::new();
            }
        }
        drop(state);
        self.signal();
    }

    /// The next queued item, if any.
    pub fn pop(&self) -> Option<Outbound> {
        let mut state = self.state.lock().expect("outbox lock");
        let item = state.queue.pop_front();
        if state.queue.is_empty() && state.queue.capacity() > 16 {
            // A burst is over: give its memory back.
            state.queue = VecDeque::new();
        }
        item
    }

    /// Why the socket must close, once it must.
    pub fn closing(&self) -> Option<Closing> {
        self.state.lock().expect("outbox lock").closing
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.state.lock().expect("outbox lock").queue.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Resolves when something was pushed (or closing was asked) since the last call.
    /// Cancel-safe: a signal not taken stays for the next call.
    pub fn ready(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| {
            if self.signalled.swap(false, Ordering::Acquire) {
                return Poll::Ready(());
            }
            self.waiter.register(cx.waker());
            // A push between the first look and the registration woke no one: look again.
            if self.signalled.swap(false, Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    fn signal(&self) {
        self.signalled.store(true, Ordering::Release);
        self.waiter.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(seq: u64) -> Outbound {
        Outbound::Room(Arc::new(RoomDelivery {
            room: Uuid::nil(),
            position: Position::new(1, seq),
            frame: None,
            removal: None,
        }))
    }

    #[tokio::test]
    async fn a_full_queue_closes_the_socket_and_frees_the_items() {
        let outbox = Outbox::new(1, Uuid::nil(), 2);
        assert_eq!(outbox.push(delivery(1)), Pushed::Queued);
        assert_eq!(outbox.push(delivery(2)), Pushed::Queued);
        assert_eq!(outbox.push(delivery(3)), Pushed::Overflowed);
        assert_eq!(outbox.closing(), Some(Closing::SlowConsumer));
        assert!(outbox.is_empty());
        assert_eq!(outbox.push(delivery(4)), Pushed::Closed);
        // The socket task is woken to close.
        outbox.ready().await;
    }

    #[tokio::test]
    async fn shutdown_keeps_what_is_queued() {
        let outbox = Outbox::new(1, Uuid::nil(), 8);
        outbox.push(delivery(1));
        outbox.close(Closing::Shutdown);
        outbox.close(Closing::SlowConsumer);
        assert_eq!(outbox.closing(), Some(Closing::Shutdown));
        assert!(matches!(outbox.pop(), Some(Outbound::Room(d)) if d.position.seq == 1));
        assert!(outbox.pop().is_none());
    }

    #[test]
    fn entries_that_end_a_membership_name_whom_and_why() {
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let event = |kind: RoomEventKind, user: Uuid| RoomEvent {
            kind: kind as i32,
            user_id: user.to_string(),
            ..RoomEvent::default()
        };
        let kicked = Removal::of(&event(RoomEventKind::MemberKicked, alice)).expect("a removal");
        assert_eq!(kicked.reason_for(alice), Some(RemovalReason::Kicked));
        assert_eq!(kicked.reason_for(bob), None);
        for (kind, reason) in [
            (RoomEventKind::MemberLeft, RemovalReason::Left),
            (RoomEventKind::MemberBanned, RemovalReason::Banned),
        ] {
            assert_eq!(
                Removal::of(&event(kind, alice)).and_then(|r| r.reason_for(alice)),
                Some(reason)
            );
        }
        let deleted =
            Removal::of(&event(RoomEventKind::RoomDeleted, Uuid::nil())).expect("a removal");
        assert_eq!(deleted.reason_for(bob), Some(RemovalReason::Deleted));
        for kind in [
            RoomEventKind::MemberJoined,
            RoomEventKind::MemberInvited,
            RoomEventKind::MemberUnbanned,
            RoomEventKind::RoleChanged,
            RoomEventKind::RoomUpdated,
        ] {
            assert_eq!(Removal::of(&event(kind, alice)), None, "{kind:?}");
        }
    }
}
