//! An authenticated socket's state: its connection, its user, where it stands in each
//! room, and what it shares with the rest of the gateway. The session loop, the commands
//! and delivery all work on it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chat_protocol::presence::PresenceView;
use chat_protocol::{Position, RoomId, UserId};
use chat_runtime::token::TokenVerifier;

use crate::ws::confirms::Confirms;
use crate::ws::frame_limits::FrameLimits;
use uuid::Uuid;

use super::connection::{Connection, Flow};
use crate::client_error::ClientError;
use crate::core::messages::SocketLimiter;
use crate::core::outbox::Outbox;
use crate::core::realtime::Realtime;
use crate::core::rooms::UserRooms;
use crate::core::sockets::{CONNECTIONS_METRIC, Sockets};

/// Where a socket stands in each of its rooms. Looked up for every delivery: hashed with
/// foldhash, not SipHash (room ids are the server's, not chosen by clients).
pub type Cursors = HashMap<RoomId, Position, foldhash::fast::RandomState>;

/// An authenticated socket.
pub struct Session {
    pub(super) connection: Connection,
    pub(super) realtime: Realtime,
    pub(super) sockets: Sockets,
    pub(super) verifier: TokenVerifier,
    pub(super) outbox: Arc<Outbox>,
    pub(super) user: UserId,
    /// The refresh session the socket's token belongs to (`sid`); a logout of it closes
    /// the socket.
    pub(super) session_id: String,
    /// Whose presence the socket follows; boxed, and made when it first follows someone.
    pub(super) following: Option<Box<Following>>,
    pub(super) expires_at: tokio::time::Instant,
    /// Where the socket stands in each room whose channel it joined in the hub (inserted
    /// before the join): what the socket is taken out of when it ends.
    pub(super) cursors: Cursors,
    pub(super) limiter: SocketLimiter,
    /// How often each other kind of frame may come.
    pub(super) frame_limits: FrameLimits,
    pub(super) missed_heartbeats: u8,
    /// Sends awaiting their broker confirm, answered in order; none while idle.
    pub(super) confirms: Option<Box<Confirms>>,
}

/// The users whose presence a socket follows, and the changes not yet written.
pub struct Following {
    /// Those of `presence.subscribe` and the other user of each direct room (`partners`).
    pub(super) watching: HashSet<Uuid>,
    pub(super) partners: HashSet<Uuid>,
    /// Presence changes not yet written, and when the next `presence` frame may go.
    pub(super) pending: HashMap<Uuid, PresenceView>,
    pub(super) next: tokio::time::Instant,
}

impl Following {
    /// Whether a `presence` frame is waiting and may go at `now`.
    pub(super) fn due(&self, now: tokio::time::Instant) -> bool {
        !self.pending.is_empty() && now >= self.next
    }
}

/// However the session ends (closed, failed start, early return, panic), the hub stops
/// queueing for it: its outbox leaves every room it joined and its user's sockets.
impl Drop for Session {
    fn drop(&mut self) {
        tracing::debug!(socket = self.outbox.id(), user = %self.user, "socket ended");
        self.realtime.hub().remove_socket(
            &self.outbox,
            self.cursors.keys().map(|room| room.as_uuid()),
            self.following
                .iter()
                .flat_map(|following| following.watching.iter().copied()),
        );
        self.realtime
            .presence()
            .disconnected(self.user, self.outbox.id());
        metrics::gauge!(CONNECTIONS_METRIC).decrement(1.0);
    }
}

/// When a token that expires at `exp` (seconds since 1970) stops being good.
pub(super) fn expiry(exp: i64) -> tokio::time::Instant {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let left = u64::try_from(exp.saturating_sub(now)).unwrap_or(0);
    tokio::time::Instant::now() + Duration::from_secs(left)
}

impl Session {
    /// The rooms the user belongs to now (and their direct partners), or `None` when the
    /// rooms service cannot say.
    pub(super) async fn memberships(&mut self) -> Option<UserRooms> {
        match self.realtime.rooms().memberships_of(self.user).await {
            Ok(rooms) => Some(rooms),
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = %status.message(), "cannot list memberships");
                None
            }
        }
    }

    /// Tells the client a request failed (the socket stays open).
    pub(super) async fn send_error(
        &mut self,
        error: &ClientError,
        reference: Option<&str>,
    ) -> Flow {
        self.connection
            .send(&error.to_counted_frame(reference))
            .await
    }
}

impl Session {
    /// Whose presence the socket follows, made on first use.
    pub(super) fn following_mut(&mut self) -> &mut Following {
        self.following.get_or_insert_with(|| {
            Box::new(Following {
                watching: HashSet::new(),
                partners: HashSet::new(),
                pending: HashMap::new(),
                next: tokio::time::Instant::now(),
            })
        })
    }
}
