//! Who belongs to which room, as the gateway caches it in front of
//! `rooms.CheckMembership`: every send and every read checks membership, and most of them
//! come from users whose membership has not changed in a long time.
//!
//! Only positive answers are cached (a user who just joined can send at once), for a
//! bounded time. Membership events heard on Redis (room and user channels) drop the
//! affected entries at once, so a user who left or was kicked is refused as soon as this
//! gateway hears of it, and within the time-to-live otherwise.

use std::sync::Arc;
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
    ttl: Duration,
    entries: DashMap<(Uuid, Uuid), (Member, Instant)>,
}

impl Memberships {
    /// A cache in front of `rooms`, keeping positive answers for `ttl`.
    pub fn new(rooms: RoomsServiceClient<TracedChannel>, ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                rooms,
                ttl,
                entries: DashMap::new(),
            }),
        }
    }

    /// Whether `user` is a member of `room`.
    #[tracing::instrument(name = "memberships.check", skip(self))]
    pub async fn check(&self, room: Uuid, user: Uuid) -> Result<Membership, tonic::Status> {
        if let Some(entry) = self.inner.entries.get(&(room, user)) {
            let (member, expires) = *entry;
            if expires > Instant::now() {
                return Ok(Membership::Member(member));
            }
        }
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
            self.inner.entries.remove(&(room, user));
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
        self.inner
            .entries
            .insert((room, user), (member, Instant::now() + self.inner.ttl));
        Ok(Membership::Member(member))
    }

    /// Forgets what is known about `user` in `room` (a membership event was heard).
    pub fn forget(&self, room: Uuid, user: Uuid) {
        self.inner.entries.remove(&(room, user));
    }

    /// Forgets everything about `room` (deleted, or an event naming nobody).
    pub fn forget_room(&self, room: Uuid) {
        self.inner.entries.retain(|(r, _), _| *r != room);
    }

    /// Forgets everything (the gateway may have missed events).
    pub fn clear(&self) {
        self.inner.entries.clear();
    }

    /// Drops expired entries; run now and then so the cache does not grow forever.
    pub fn purge_expired(&self) {
        let now = Instant::now();
        self.inner.entries.retain(|_, (_, expires)| *expires > now);
    }

    /// How often [`purge_expired`](Self::purge_expired) is worth running.
    pub fn ttl(&self) -> Duration {
        self.inner.ttl
    }
}
