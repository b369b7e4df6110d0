//! Who belongs to which room, as the gateway caches it in front of
//! `rooms.CheckMembership`: every send and every read checks membership, and most of them
//! come from users whose membership has not changed in a long time.
//!
//! Only positive answers are cached (a user who just joined can send at once), for a
//! bounded time. Membership events heard on Redis (room and user channels) drop the
//! affected entries at once, so a user who left or was kicked is refused as soon as this
//! gateway hears of it, and within the time-to-live otherwise.
//!
//! A user with a socket here has their user channel subscribed by the hub, and every
//! change to their memberships is published there. While the hub holds that channel
//! ([`hold`](Memberships::hold)), an answer fetched during the hold is kept past its
//! time-to-live: nothing can change it unheard. Without this, a user who sends less often
//! than the time-to-live would cost a `CheckMembership` call on nearly every send. The
//! trust ends when the channel is released, when the subscription is lost, and with any
//! change heard about the user or the room (an answer fetched before the change and
//! stored after it is not trusted either: each change starts a new era).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chat_proto::v1::rooms_service_client::RoomsServiceClient;
use chat_proto::v1::{CheckMembershipRequest, RoomKind};
use chat_runtime::grpc_trace::TracedChannel;
use dashmap::DashMap;
use uuid::Uuid;

/// What a positive membership check says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub kind: RoomKind,
    /// The member's role, when the rooms service said (role changes heard on Redis drop
    /// the cached answer).
    pub role: Option<chat_protocol::Role>,
}

/// The answer to "is this user in this room?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    Member(Member),
    /// Not a member. `kind` is the room's kind when the rooms service tells it (a public
    /// room), `Unspecified` when the room does not exist or may not be told about.
    NotMember {
        kind: RoomKind,
    },
}

/// The membership cache. Cheap to clone (clones share the cache).
#[derive(Clone)]
pub struct Memberships {
    inner: Arc<Inner>,
}

struct Inner {
    rooms: RoomsServiceClient<TracedChannel>,
    answers: Answers,
}

impl Memberships {
    /// A cache in front of `rooms`, keeping positive answers for `ttl`.
    pub fn new(rooms: RoomsServiceClient<TracedChannel>, ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                rooms,
                answers: Answers::new(ttl),
            }),
        }
    }

    /// Whether `user` is a member of `room`.
    #[tracing::instrument(name = "memberships.check", skip(self))]
    pub async fn check(&self, room: Uuid, user: Uuid) -> Result<Membership, tonic::Status> {
        let answers = &self.inner.answers;
        if let Some(member) = answers.get(room, user, Instant::now()) {
            return Ok(Membership::Member(member));
        }
        // Taken before asking: a change heard while the answer is on its way ends the hold.
        let asked = answers.asking(user);
        let answer = self
            .inner
            .rooms
            .clone()
            .check_membership(CheckMembershipRequest {
                room_id: room.to_string(),
                user_id: user.to_string(),
            })
            .await;
        let membership = match answer {
            Ok(response) => response.into_inner(),
            Err(status) if status.code() == tonic::Code::NotFound => {
                return Ok(Membership::NotMember {
                    kind: RoomKind::Unspecified,
                });
            }
            Err(status) => return Err(status),
        };
        if !membership.is_member {
            answers.forget(room, user);
            let kind = match membership.kind() {
                RoomKind::Public => RoomKind::Public,
                _ => RoomKind::Unspecified,
            };
            return Ok(Membership::NotMember { kind });
        }
        let member = Member {
            kind: membership.kind(),
            role: crate::core::render::role(membership.role()),
        };
        answers.put(room, user, member, asked, Instant::now());
        Ok(Membership::Member(member))
    }

    /// The hub now hears `user`'s channel: their answers fetched from now on are kept
    /// while it does.
    pub fn hold(&self, user: Uuid) {
        self.inner.answers.hold(user);
    }

    /// The hub is letting `user`'s channel go: their answers expire as usual.
    pub fn release(&self, user: Uuid) {
        self.inner.answers.release(user);
    }

    /// The hub's subscription is lost: no answer is held any more.
    pub fn release_all(&self) {
        self.inner.answers.release_all();
    }

    /// Forgets what is known about `user` in `room` (a membership event was heard).
    pub fn forget(&self, room: Uuid, user: Uuid) {
        self.inner.answers.forget(room, user);
    }

    /// Forgets everything about `room` (deleted, or an event naming nobody).
    pub fn forget_room(&self, room: Uuid) {
        self.inner.answers.forget_room(room);
    }

    /// Forgets everything (the gateway may have missed events).
    pub fn clear(&self) {
        self.inner.answers.clear();
    }

    /// Drops entries that expired and are not held; run now and then so the cache does not
    /// grow forever.
    pub fn purge_expired(&self) {
        self.inner.answers.purge_expired(Instant::now());
    }

    /// How often [`purge_expired`](Self::purge_expired) is worth running.
    pub fn ttl(&self) -> Duration {
        self.inner.answers.ttl
    }
}

/// The positive answers and the holds they may be kept under.
struct Answers {
    ttl: Duration,
    entries: DashMap<(Uuid, Uuid), Answer>,
    /// Users whose channel the hub holds, each with a number that changes when the hold
    /// begins and with every change heard about the user.
    held: DashMap<Uuid, u64>,
    /// Where those numbers come from.
    holds: AtomicU64,
    /// Moves on when a room is deleted or the subscription is lost: no answer held from
    /// before is trusted after.
    era: AtomicU64,
}

/// One user's hold and the era, as they stood when an answer was asked for.
type Asked = Option<(u64, u64)>;

/// A cached positive answer.
#[derive(Debug, Clone, Copy)]
struct Answer {
    member: Member,
    expires: Instant,
    asked: Asked,
}

impl Answers {
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: DashMap::new(),
            held: DashMap::new(),
            holds: AtomicU64::new(0),
            era: AtomicU64::new(0),
        }
    }

    /// The answer kept for `user` in `room`: within its time-to-live, or past it when the
    /// user's hold and the era are still those it was asked under.
    fn get(&self, room: Uuid, user: Uuid, now: Instant) -> Option<Member> {
        let answer = *self.entries.get(&(room, user))?;
        let kept =
            answer.expires > now || answer.asked.is_some() && answer.asked == self.asking(user);
        kept.then_some(answer.member)
    }

    /// Where things stand for `user`, to be handed to [`put`](Self::put) with the answer.
    fn asking(&self, user: Uuid) -> Asked {
        let hold = *self.held.get(&user)?;
        Some((hold, self.era.load(Ordering::Acquire)))
    }

    fn put(&self, room: Uuid, user: Uuid, member: Member, asked: Asked, now: Instant) {
        let answer = Answer {
            member,
            expires: now + self.ttl,
            asked,
        };
        self.entries.insert((room, user), answer);
    }

    fn next_hold(&self) -> u64 {
        self.holds.fetch_add(1, Ordering::Relaxed)
    }

    fn next_era(&self) {
        self.era.fetch_add(1, Ordering::AcqRel);
    }

    fn hold(&self, user: Uuid) {
        let hold = self.next_hold();
        self.held.insert(user, hold);
    }

    fn release(&self, user: Uuid) {
        self.held.remove(&user);
    }

    fn release_all(&self) {
        self.next_era();
        self.held.clear();
    }

    fn forget(&self, room: Uuid, user: Uuid) {
        if let Some(mut hold) = self.held.get_mut(&user) {
            *hold = self.next_hold();
        }
        self.entries.remove(&(room, user));
    }

    fn forget_room(&self, room: Uuid) {
        self.next_era();
        self.entries.retain(|(r, _), _| *r != room);
    }

    fn clear(&self) {
        self.next_era();
        self.entries.clear();
    }

    fn purge_expired(&self, now: Instant) {
        let era = self.era.load(Ordering::Acquire);
        self.entries.retain(|(_, user), answer| {
            answer.expires > now
                || answer.asked.is_some_and(|(hold, at)| {
                    at == era && self.held.get(user).is_some_and(|held| *held == hold)
                })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(30);

    fn member() -> Member {
        Member {
            kind: RoomKind::Public,
            role: None,
        }
    }

    fn ids() -> (Uuid, Uuid) {
        (Uuid::now_v7(), Uuid::now_v7())
    }

    /// Stores an answer asked for at `at` as things stood then.
    fn answered(answers: &Answers, room: Uuid, user: Uuid, at: Instant) {
        let asked = answers.asking(user);
        answers.put(room, user, member(), asked, at);
    }

    #[test]
    fn an_answer_without_a_hold_expires_after_its_time_to_live() {
        let answers = Answers::new(TTL);
        let (room, user) = ids();
        let now = Instant::now();
        answered(&answers, room, user, now);
        assert_eq!(answers.get(room, user, now + TTL / 2), Some(member()));
        assert_eq!(answers.get(room, user, now + TTL), None);
    }

    #[test]
    fn an_answer_asked_for_during_a_hold_is_kept_past_its_time_to_live() {
        let answers = Answers::new(TTL);
        let (room, user) = ids();
        answers.hold(user);
        let now = Instant::now();
        answered(&answers, room, user, now);
        assert_eq!(answers.get(room, user, now + TTL * 10), Some(member()));
        answers.purge_expired(now + TTL * 10);
        assert_eq!(answers.get(room, user, now + TTL * 10), Some(member()));
    }

    #[test]
    fn an_answer_asked_for_before_the_hold_expires_as_usual() {
        let answers = Answers::new(TTL);
        let (room, user) = ids();
        let now = Instant::now();
        answered(&answers, room, user, now);
        answers.hold(user);
        assert_eq!(answers.get(room, user, now + TTL), None);
    }

    #[test]
    fn the_hold_ends_with_its_release_the_lost_subscription_or_a_change_heard() {
        let now = Instant::now();
        let late = now + TTL * 2;
        type End = fn(&Answers, Uuid, Uuid);
        let ends: [(&str, End); 4] = [
            ("release", |answers, _, user| answers.release(user)),
            ("release_all", |answers, _, _| answers.release_all()),
            (
                "a change about another room of the user",
                |answers, _, user| {
                    answers.forget(Uuid::now_v7(), user);
                },
            ),
            ("the room deleted", |answers, room, _| {
                answers.forget_room(room)
            }),
        ];
        for (what, end) in ends {
            let answers = Answers::new(TTL);
            let (room, user) = ids();
            answers.hold(user);
            answered(&answers, room, user, now);
            end(&answers, room, user);
            // Held again at once (another socket): the old answer still is not trusted.
            answers.hold(user);
            assert_eq!(answers.get(room, user, late), None, "after {what}");
        }
    }

    #[test]
    fn an_answer_on_its_way_while_a_change_is_heard_is_not_held() {
        let answers = Answers::new(TTL);
        let (room, user) = ids();
        answers.hold(user);
        let now = Instant::now();
        let asked = answers.asking(user);
        // The user is removed while the rooms service's answer (still "member") travels.
        answers.forget(room, user);
        answers.put(room, user, member(), asked, now);
        assert_eq!(answers.get(room, user, now + TTL), None);
        let asked = answers.asking(user);
        answers.forget_room(room);
        answers.put(room, user, member(), asked, now);
        assert_eq!(answers.get(room, user, now + TTL), None);
    }

    #[test]
    fn other_users_holds_are_left_alone() {
        let answers = Answers::new(TTL);
        let (room, user) = ids();
        let other = Uuid::now_v7();
        answers.hold(user);
        answers.hold(other);
        let now = Instant::now();
        answered(&answers, room, user, now);
        answers.forget(room, other);
        answers.release(other);
        answers.hold(Uuid::now_v7());
        assert_eq!(answers.get(room, user, now + TTL * 2), Some(member()));
    }
}
