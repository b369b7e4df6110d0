//! `presence` (this client is active or idle), `focus` (the room it shows) and
//! `presence.subscribe` (whose presence the socket follows), and the batched `presence`
//! frames (see [`crate::core::presence`]).

use std::collections::HashSet;

use chat_protocol::client::{FocusFrame, PresenceFrame, PresenceSubscribeFrame};
use chat_protocol::presence::PresenceList;
use chat_protocol::{ErrorCode, ServerFrame, UserId};
use uuid::Uuid;

use crate::client_error::ClientError;
use crate::core::presence::PRESENCE_INTERVAL;
use crate::ws::connection::Flow;
use crate::ws::socket::Session;

pub async fn activity(session: &mut Session, frame: PresenceFrame) -> Flow {
    let presence = session.realtime.presence().clone();
    presence
        .activity(session.user, session.outbox.id(), frame.status)
        .await;
    Ok(())
}

/// The room this client shows (or none): while an active client shows a room, its
/// messages notify nobody (see `chat_history::notify`).
pub async fn focus(session: &mut Session, frame: FocusFrame) -> Flow {
    let presence = session.realtime.presence().clone();
    presence
        .focus(session.user, session.outbox.id(), frame.room)
        .await;
    Ok(())
}

/// Follows exactly the users named, and answers with their presence now.
pub async fn subscribe(session: &mut Session, frame: PresenceSubscribeFrame) -> Flow {
    if !session.realtime.presence().enabled() {
        // Nothing to follow: the answer (everyone offline) is all there will be.
        return answer(session, frame.user_ids).await;
    }
    let mut wanted: HashSet<Uuid> = frame.user_ids.iter().map(|user| user.as_uuid()).collect();
    // The people of the socket's direct rooms stay followed whatever the client names.
    let following = session.following_mut();
    wanted.extend(following.partners.iter().copied());
    let gone: Vec<Uuid> = following.watching.difference(&wanted).copied().collect();
    let new: Vec<Uuid> = wanted.difference(&following.watching).copied().collect();
    following.pending.retain(|user, _| wanted.contains(user));
    following.watching = wanted;
    let hub = session.realtime.hub().clone();
    hub.unwatch_presence(&session.outbox, &gone);
    // Followed before reading, so no change between the read and the follow is missed.
    hub.watch_presence(&session.outbox, &new).await;
    answer(session, frame.user_ids).await
}

/// A `presence` frame with the users' presence now.
async fn answer(session: &mut Session, mut users: Vec<UserId>) -> Flow {
    let mut seen = HashSet::new();
    users.retain(|user| seen.insert(*user));
    match session.realtime.presence().query(&users).await {
        Ok(users) => {
            // The answer is current: changes queued before it are older.
            if let Some(following) = session.following.as_mut() {
                for user in &users {
                    following.pending.remove(&user.user_id.as_uuid());
                }
            }
            session
                .connection
                .send(&ServerFrame::Presence(PresenceList { users }))
                .await
        }
        Err(err) => {
            tracing::warn!(error = %err, "presence not readable");
            let error = ClientError::new(
                ErrorCode::Unavailable,
                "presence cannot be read right now; changes will follow",
            );
            session.send_error(&error, None).await
        }
    }
}

impl Session {
    /// Follows the other user of each direct room from the start, and says where they
    /// are now (a `presence` frame right after `ready`, when there is any).
    pub(crate) async fn follow_partners(&mut self, partners: &[UserId]) -> Flow {
        if partners.is_empty() || !self.realtime.presence().enabled() {
            return Ok(());
        }
        let ids: Vec<Uuid> = partners.iter().map(UserId::as_uuid).collect();
        let following = self.following_mut();
        following.partners = ids.iter().copied().collect();
        following.watching.extend(ids.iter().copied());
        let hub = self.realtime.hub().clone();
        hub.watch_presence(&self.outbox, &ids).await;
        match self.realtime.presence().query(partners).await {
            Ok(users) => {
                self.connection
                    .send(&ServerFrame::Presence(PresenceList { users }))
                    .await
            }
            // Changes follow regardless; the client can ask with `presence.subscribe`.
            Err(err) => {
                tracing::warn!(error = %err, "presence of direct partners not readable");
                Ok(())
            }
        }
    }

    /// Writes the presence changes gathered since the last `presence` frame.
    pub(crate) async fn flush_presence(&mut self) -> Flow {
        let Some(following) = self.following.as_mut() else {
            return Ok(());
        };
        if following.pending.is_empty() {
            return Ok(());
        }
        let users = following.pending.drain().map(|(_, view)| view).collect();
        following.next = tokio::time::Instant::now() + PRESENCE_INTERVAL;
        self.connection
            .send(&ServerFrame::Presence(PresenceList { users }))
            .await
    }
}
