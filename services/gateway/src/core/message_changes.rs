//! Changing messages after they were sent: edits and deletions, and reading one message
//! with its earlier versions.
//!
//! A change is a room entry like a message (`message.edited`, `message.deleted`): the
//! sequencer gives it the room's next position and fans it out, RabbitMQ carries it to
//! history, and the caller is answered once the broker confirmed it. Live delivery, exact
//! catch-up and history keep their promises for changes unchanged.
//!
//! What a change may do is decided against the message as history stores it (author,
//! room, deletion), so a message is changeable once history holds it (milliseconds after
//! its ack; a change right after the send waits briefly for it). A retry is answered the
//! same without a second entry: editing to the content the message already has, or
//! deleting a deleted message, changes nothing and answers the message as it is.
//!
//! A deletion is final and erases the content everywhere: history erases it from the
//! message row and from the stored entries, and the room's change marks in Redis
//! (`chat_bus::ChangeMarks`, kept as long as the stream may hold the message) let
//! catch-up from the stream leave it out too. The marks also make a retry that comes
//! before history stored the first attempt change nothing.

use std::time::{Duration, SystemTime};

use chat_bus::ChangeMarks;
use chat_proto::v1::history_service_client::HistoryServiceClient;
use chat_proto::v1::room_item::Body;
use chat_proto::v1::{self as proto, ListRevisionsRequest, RoomItem, StoredMessage};
use chat_protocol::message::Revision;
use chat_protocol::{ErrorCode, MessageView, Position, Role, Timestamp};
use chat_runtime::grpc_trace::TracedChannel;
use uuid::Uuid;

use crate::core::attachments::Attachments;
use crate::core::memberships::{Membership, Memberships};
use crate::core::messages::{MessageError, Messages, validate_content};
use crate::core::render;
use crate::core::stored_messages::StoredMessages;

/// How long a room's change marks are kept after its last change: longer than the
/// Redis stream keeps any entry in practice (catch-up past it reads history, which has
/// erased deleted content itself).
pub const MARKS_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// A deletion mark this old whose deletion history does not show was left by an attempt
/// that failed: a new attempt makes the deletion.
const ABANDONED_AFTER: Duration = Duration::from_secs(10);

/// Why a change or a read was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// The content breaks the send rules.
    #[error(transparent)]
    Content(MessageError),
    /// No such message, or not in a room of the caller's.
    #[error("no such message")]
    NotFound,
    /// Only the author may edit.
    #[error("only the author may edit a message")]
    NotAuthor,
    /// Deleting someone else's message takes a room admin or owner.
    #[error("only the author, or an admin or owner of the room, may delete a message")]
    Forbidden,
    /// The message is older than the edit window.
    #[error("messages can be edited for {0} after sending")]
    WindowClosed(String),
    /// The message was deleted.
    #[error("the message was deleted")]
    Deleted,
    /// Not one Unicode emoji.
    #[error("{0}")]
    InvalidEmoji(String),
    /// The message has as many different reactions as it may.
    #[error("this message has as many different reactions as it may have")]
    TooManyReactions,
    /// A dependency failed; nothing changed; retry.
    #[error("the service is unavailable; nothing changed, retry")]
    Unavailable,
}

impl ChangeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Content(_) => ErrorCode::ValidationFailed,
            Self::NotFound => ErrorCode::MessageNotFound,
            Self::NotAuthor => ErrorCode::NotAuthor,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::WindowClosed(_) => ErrorCode::EditWindowClosed,
            Self::Deleted => ErrorCode::MessageDeleted,
            Self::InvalidEmoji(_) => ErrorCode::ValidationFailed,
            Self::TooManyReactions => ErrorCode::TooManyReactions,
            Self::Unavailable => ErrorCode::Unavailable,
        }
    }
}

/// Edits, deletions and single-message reads. Cheap to clone.
#[derive(Clone)]
pub struct MessageChanges {
    messages: Messages,
    memberships: Memberships,
    history: HistoryServiceClient<TracedChannel>,
    stored: StoredMessages,
    marks: ChangeMarks,
    attachments: Attachments,
    edit_window: Option<Duration>,
}

impl MessageChanges {
    pub fn new(
        messages: Messages,
        memberships: Memberships,
        history: HistoryServiceClient<TracedChannel>,
        stored: StoredMessages,
        marks: ChangeMarks,
        attachments: Attachments,
        edit_window: Option<Duration>,
    ) -> Self {
        Self {
            messages,
            memberships,
            history,
            stored,
            marks,
            attachments,
            edit_window,
        }
    }

    /// One message, for a member of its room.
    #[tracing::instrument(name = "messages.get", skip(self))]
    pub async fn get(&self, user: Uuid, id: Uuid) -> Result<MessageView, ChangeError> {
        let (stored, _) = self.readable(user, id).await?;
        render::stored_message(stored).ok_or(ChangeError::Unavailable)
    }

    /// Every version of a message, oldest first, for a member of its room; none once
    /// it is deleted.
    #[tracing::instrument(name = "messages.revisions", skip(self))]
    pub async fn revisions(&self, user: Uuid, id: Uuid) -> Result<Vec<Revision>, ChangeError> {
        let (stored, _) = self.readable(user, id).await?;
        if stored.deleted_at.is_some() {
            return Ok(Vec::new());
        }
        let revisions = self
            .history
            .clone()
            .list_revisions(ListRevisionsRequest {
                message_id: id.to_string(),
            })
            .await
            .map_err(unavailable)?
            .into_inner()
            .revisions;
        Ok(revisions
            .into_iter()
            .map(|revision| Revision {
                content: revision.content,
                at: revision.at.as_ref().and_then(render::timestamp),
                position: revision
                    .position
                    .map_or(Position::NOTHING, |at| Position::new(at.epoch, at.seq)),
            })
            .collect())
    }

    /// Replaces the content of the caller's own message.
    #[tracing::instrument(name = "messages.edit", skip(self, content))]
    pub async fn edit(
        &self,
        user: Uuid,
        id: Uuid,
        content: String,
    ) -> Result<MessageView, ChangeError> {
        validate_content(&content, self.messages.limits().max_content_chars)
            .map_err(ChangeError::Content)?;
        let (stored, _) = self.readable(user, id).await?;
        if stored.deleted_at.is_some() {
            return Err(ChangeError::Deleted);
        }
        if stored.sender_id != user.to_string() {
            return Err(ChangeError::NotAuthor);
        }
        if let Some(window) = self.edit_window {
            let sent = stored
                .sent_at
                .and_then(|at| SystemTime::try_from(at).ok())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            if sent.elapsed().unwrap_or_default() > window {
                return Err(ChangeError::WindowClosed(
                    humantime::format_duration(window).to_string(),
                ));
            }
        }
        let mut view = render::stored_message(stored.clone()).ok_or(ChangeError::Unavailable)?;
        // The latest content: an edit history does not hold yet is marked in Redis.
        let latest = match self.marks.last_edit(&stored.room_id, &id.to_string()).await {
            Ok(Some((at, latest))) => Some((at, latest)),
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the message's last edit");
                return Err(ChangeError::Unavailable);
            }
        };
        match &latest {
            Some((at, latest)) if *latest == content => {
                view.content = content;
                view.edited_at = Timestamp::from_unix_millis(*at);
                return Ok(view);
            }
            None if stored.content == content => return Ok(view),
            _ => {}
        }
        let room: Uuid = stored
            .room_id
            .parse()
            .map_err(|_| ChangeError::Unavailable)?;
        let mentioned = self.messages.mentioned(room, &content).await;
        let now = SystemTime::now();
        let at = prost_types::Timestamp::from(now);
        let item = change_item(
            &stored,
            user,
            at,
            Body::Edited(proto::MessageEdited {
                message_id: id.to_string(),
                content: content.clone(),
                edited_at: Some(at),
                mentions: mentioned.users.iter().map(Uuid::to_string).collect(),
                mentions_room: mentioned.room,
            }),
        );
        self.messages
            .append_durably(&item)
            .await
            .map_err(|_| ChangeError::Unavailable)?;
        if let Err(err) = self
            .marks
            .mark_edit(&stored.room_id, &id.to_string(), unix_ms(now), &content)
            .await
        {
            tracing::warn!(error = %err, "cannot mark the edit; a retry may make a second entry");
        }
        view.content = content;
        view.edited_at = render::timestamp(&at);
        view.mentions = mentioned.users.into_iter().map(Into::into).collect();
        view.mentions_room = mentioned.room;
        Ok(view)
    }

    /// Deletes a message: the author's own, or any as an admin or owner of its room.
    #[tracing::instrument(name = "messages.delete", skip(self))]
    pub async fn delete(&self, user: Uuid, id: Uuid) -> Result<MessageView, ChangeError> {
        let (stored, role) = self.readable(user, id).await?;
        let mut view = render::stored_message(stored.clone()).ok_or(ChangeError::Unavailable)?;
        if stored.deleted_at.is_some() {
            return Ok(view);
        }
        if stored.sender_id != user.to_string() && !matches!(role, Some(Role::Admin | Role::Owner))
        {
            return Err(ChangeError::Forbidden);
        }
        let now = SystemTime::now();
        let room = stored.room_id.as_str();
        let marked = self
            .marks
            .mark_deleted(room, &id.to_string(), unix_ms(now))
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, "cannot mark the deletion");
                ChangeError::Unavailable
            })?;
        if let Some(at) = marked {
            // Deleted a moment ago (history does not show it yet), unless that attempt
            // failed and left its mark: then this one makes the deletion.
            let age = Duration::from_millis(u64::try_from(unix_ms(now) - at).unwrap_or(0));
            if age < ABANDONED_AFTER {
                view.content.clear();
                view.attachments.clear();
                view.edited_at = None;
                view.deleted_at = Timestamp::from_unix_millis(at);
                return Ok(view);
            }
        }
        let at = prost_types::Timestamp::from(now);
        let item = change_item(
            &stored,
            user,
            at,
            Body::Deleted(proto::MessageDeleted {
                message_id: id.to_string(),
                deleted_at: Some(at),
            }),
        );
        // The files go first: once the deletion is out nobody may read them, and a
        // failure here leaves the message as it was for the author to try again.
        let detached = if stored.attachments.is_empty() {
            Ok(())
        } else {
            self.attachments.detach(id).await
        };
        if detached.is_err() || self.messages.append_durably(&item).await.is_err() {
            if let Err(err) = self.marks.unmark_deleted(room, &id.to_string()).await {
                tracing::warn!(error = %err, "cannot take the deletion mark back");
            }
            return Err(ChangeError::Unavailable);
        }
        view.content.clear();
        view.attachments.clear();
        view.deleted_at = render::timestamp(&at);
        view.edited_at = None;
        Ok(view)
    }

    /// The message as stored (reactions as `user` sees them), and the caller's role in
    /// its room; `NotFound` for anyone outside the room.
    pub(crate) async fn readable(
        &self,
        user: Uuid,
        id: Uuid,
    ) -> Result<(StoredMessage, Option<Role>), ChangeError> {
        let stored = self
            .stored
            .get(id, user)
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, "cannot read the message");
                ChangeError::Unavailable
            })?
            .ok_or(ChangeError::NotFound)?;
        let room: Uuid = stored
            .room_id
            .parse()
            .map_err(|_| ChangeError::Unavailable)?;
        match self.memberships.check(room, user).await {
            Ok(Membership::Member(member)) => Ok((stored, member.role)),
            Ok(Membership::NotMember { .. }) => Err(ChangeError::NotFound),
            Err(status) => Err(unavailable(status)),
        }
    }
}

fn unix_ms(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// A change's room entry.
fn change_item(
    stored: &StoredMessage,
    actor: Uuid,
    now: prost_types::Timestamp,
    body: Body,
) -> RoomItem {
    RoomItem {
        id: Uuid::now_v7().to_string(),
        room_id: stored.room_id.clone(),
        actor_id: actor.to_string(),
        occurred_at: Some(now),
        body: Some(body),
    }
}

fn unavailable(status: tonic::Status) -> ChangeError {
    tracing::warn!(code = ?status.code(), message = %status.message(), "a message change failed");
    ChangeError::Unavailable
}
