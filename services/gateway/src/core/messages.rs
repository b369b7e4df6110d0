//! Sending and reading chat messages: the path shared by the WebSocket (`send`,
//! `history` frames) and REST (`POST /api/messages`, `GET /api/rooms/{id}/messages`).
//!
//! A send is acknowledged only once the message is durable:
//!
//! 1. the input is validated (nothing is stored for bad input);
//! 2. the sender's membership is checked (cached; a non-member stores nothing);
//! 3. the sequencer gives the message its position, appends it to the room's stream,
//!    publishes it to every gateway and records it as pending, in one atomic step; a
//!    retry of the same `(room, sender, client_msg_id)` takes no position and gets the
//!    original back: its ack at once when the original is known to be durable, else its
//!    envelope;
//! 4. the envelope is published to the persistence queue and the broker's confirm is
//!    awaited (also for a retry that got the envelope: its first attempt may have died
//!    before the confirm);
//! 5. the pending record is cleared (which also shrinks the send's dedup record to the
//!    ack), and the ack carries the original id and position.
//!
//! When step 4 fails the sender gets `unavailable`: the message may already have been
//! fanned out, and its pending record lets the history service's sweeper store it; a
//! retry with the same `client_msg_id` gets the original ack once the broker confirms.

use std::num::NonZeroU32;
use std::time::{Duration, Instant, SystemTime};

use chat_bus::{AppendOutcome, Appended, DurableAck, PersistPublisher, Sequencer};
use chat_proto::v1::history_service_client::HistoryServiceClient;
use chat_proto::v1::room_item::Body;
use chat_proto::v1::{
    ChatMessage, LatestPositionRequest, ListMessagesRequest, MessageKind, Position, ReplyPreview,
    RoomItem, RoomKind,
};
use chat_runtime::grpc_trace::TracedChannel;
use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tracing::Instrument;
use uuid::Uuid;

use chat_protocol::{Ack, ErrorCode, HistoryCursor, MessageView, Timestamp, UserId};

use crate::core::attachments::{AttachmentError, Attachments, MAX_ATTACHMENTS};
use crate::core::memberships::{Membership, Memberships};
use crate::core::mentions::{Mentioned, Mentions};
use crate::core::render;
use crate::core::send_lookup::SendLookup;
use crate::core::stored_messages::StoredMessages;
use crate::core::user_limit::UserLimit;

/// Counter of sends, by `outcome` (`sent`, `duplicate`, `refused`, `failed`).
pub const MESSAGES_SENT_METRIC: &str = "chat_gateway_messages_sent_total";
/// Histogram of the time from a send's arrival to its ack.
pub const SEND_DURATION_METRIC: &str = "chat_gateway_send_duration_seconds";

/// The most characters of a message a reply shows.
pub const EXCERPT_CHARS: usize = 100;

/// Longest `client_msg_id`.
pub const MAX_CLIENT_MSG_ID_CHARS: usize = 64;
/// Largest history page.
pub const MAX_PAGE: u32 = 100;
/// History page size when none is asked for.
pub const DEFAULT_PAGE: u32 = 50;

/// Limits on what clients send.
#[derive(Debug, Clone, Copy)]
pub struct MessageLimits {
    pub max_content_chars: usize,
    pub sends_per_second: NonZeroU32,
}

/// A message to send.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub room: Uuid,
    pub client_msg_id: String,
    pub content: String,
    pub reply_to: Option<Uuid>,
    pub thread_root: Option<Uuid>,
    /// The sender's uploads it carries (at most [`MAX_ATTACHMENTS`]).
    pub attachments: Vec<Uuid>,
}

/// Which of a room's messages a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageScope {
    /// The room's messages, thread replies included or not.
    Room { with_thread_replies: bool },
    /// The replies of the thread of this message.
    Thread(Uuid),
}

/// A page of a room's messages.
#[derive(Debug, Clone)]
pub struct Page {
    pub messages: Vec<MessageView>,
    pub has_older: bool,
    pub has_newer: bool,
}

/// Why a send or a read was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Content too long (`content_too_long`) or empty (`empty_content`).
    #[error("{message}")]
    Content { code: ErrorCode, message: String },
    /// A field is malformed; `field` says which.
    #[error("{message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    /// The user is not in the room, or the room does not exist. `kind` is the room's
    /// kind when it exists and may be told (public rooms).
    #[error("not a member of this room")]
    NotAMember { kind: RoomKind },
    /// More sends than allowed; retry after the delay.
    #[error("too many messages; slow down")]
    RateLimited { retry_after: Duration },
    /// A dependency failed; nothing was acknowledged; retry with the same client_msg_id.
    #[error("the service is unavailable; retry with the same client_msg_id")]
    Unavailable,
}

/// What a send looks up beyond membership: the message it replies to, the people it
/// mentions, and the files it carries.
#[derive(Clone)]
pub struct SendLookups {
    pub stored: StoredMessages,
    pub mentions: Mentions,
    pub attachments: Attachments,
}

/// The message operations. Cheap to clone.
#[derive(Clone)]
pub struct Messages {
    sequencer: Sequencer,
    publisher: PersistPublisher,
    memberships: Memberships,
    history: HistoryServiceClient<TracedChannel>,
    sends: SendLookup,
    lookups: SendLookups,
    limits: MessageLimits,
    user_limit: UserLimit,
}

impl Messages {
    pub fn new(
        sequencer: Sequencer,
        publisher: PersistPublisher,
        memberships: Memberships,
        history: HistoryServiceClient<TracedChannel>,
        lookups: SendLookups,
        limits: MessageLimits,
        user_limit: UserLimit,
    ) -> Self {
        Self {
            sends: SendLookup::new(sequencer.clone(), history.clone()),
            sequencer,
            publisher,
            memberships,
            history,
            lookups,
            limits,
            user_limit,
        }
    }

    pub fn limits(&self) -> MessageLimits {
        self.limits
    }

    /// A fresh send limiter for one socket.
    pub fn socket_limiter(&self) -> SocketLimiter {
        SocketLimiter::new(Quota::per_second(self.limits.sends_per_second))
    }

    /// Applies `limiter` (a socket's) to one send.
    pub fn admit(limiter: &SocketLimiter) -> Result<(), MessageError> {
        limiter
            .check()
            .map_err(|retry_after| MessageError::RateLimited { retry_after })
    }

    /// Applies the per-user limit of REST sends, shared by every gateway.
    pub async fn admit_user(&self, user: UserId) -> Result<(), MessageError> {
        self.user_limit
            .check(user)
            .await
            .map_err(|retry_after| MessageError::RateLimited { retry_after })
    }

    /// Whether the persistence queue's broker can take a send (for `/readyz`).
    pub async fn check_broker(&self) -> Result<(), String> {
        self.publisher.check().await
    }

    /// Checks a send without doing it.
    pub fn validate(&self, request: &SendRequest) -> Result<(), MessageError> {
        validate_client_msg_id(&request.client_msg_id)?;
        if request.attachments.len() > MAX_ATTACHMENTS {
            return Err(MessageError::InvalidField {
                field: "attachments",
                message: format!("at most {MAX_ATTACHMENTS} files"),
            });
        }
        if request.attachments.is_empty() || !request.content.is_empty() {
            validate_content(&request.content, self.limits.max_content_chars)?;
        }
        Ok(())
    }

    /// Sequences a room entry other than a new message (an edit, a deletion) and waits
    /// until the broker confirmed it, as a send does.
    pub async fn append_durably(&self, item: &RoomItem) -> Result<DurableAck, MessageError> {
        let appended = self.sequencer.append(item).await.map_err(|err| {
            tracing::warn!(error = %err, "cannot append the entry");
            MessageError::Unavailable
        })?;
        self.make_durable(&appended).await
    }

    /// Sends a message and returns its ack once it is durable (see the module docs).
    pub async fn send(&self, sender: Uuid, request: SendRequest) -> Result<Ack, MessageError> {
        let span = send_span(&request);
        async {
            let sequenced = self.sequence(sender, request).await?;
            self.make_sent_durable(sequenced).await
        }
        .instrument(span)
        .await
    }

    /// Steps 1-3 of a send (validated, member, positioned and fanned out); what it
    /// returns is made durable by [`Self::make_sent_durable`], which a socket awaits
    /// beside its next sends and deliveries. Sends of one socket sequenced one after the
    /// other keep their order in the room whatever order their confirms come in.
    pub async fn sequence(
        &self,
        sender: Uuid,
        request: SendRequest,
    ) -> Result<Sequenced, MessageError> {
        let started = Instant::now();
        self.sequence_send(sender, request, started)
            .await
            .inspect_err(|err| record_send(Err(err), started))
    }

    /// Steps 4-5 of a send: the broker's confirm awaited, the pending record cleared;
    /// the sender's ack.
    pub async fn make_sent_durable(&self, sequenced: Sequenced) -> Result<Ack, MessageError> {
        let Sequenced {
            started,
            client_msg_id,
            room,
            id,
            duplicate,
            state,
        } = sequenced;
        let durable = match state {
            SendState::Done(ack) => {
                record_send(Ok(&ack), started);
                return Ok(ack);
            }
            SendState::Durable(ack) => Ok(ack),
            SendState::Appended(appended) => self.make_durable(&appended).await,
        };
        let outcome = durable.map(|ack| Ack {
            client_msg_id,
            id: ack.id.parse().unwrap_or(id.into()),
            room: room.into(),
            position: chat_protocol::Position::new(ack.epoch, ack.seq),
            sent_at: sent_at(ack.sent_at.as_ref()),
            duplicate,
        });
        record_send(outcome.as_ref(), started);
        outcome
    }
}

/// The span of one send, from its frame to its ack.
pub fn send_span(request: &SendRequest) -> tracing::Span {
    tracing::info_span!(
        "messages.send",
        room_id = %request.room,
        client_msg_id = %request.client_msg_id
    )
}

fn record_send(outcome: Result<&Ack, &MessageError>, started: Instant) {
    let label = match outcome {
        Ok(ack) if ack.duplicate => "duplicate",
        Ok(_) => "sent",
        Err(MessageError::Unavailable) => "failed",
        Err(_) => "refused",
    };
    metrics::counter!(MESSAGES_SENT_METRIC, "outcome" => label).increment(1);
    if outcome.is_ok() {
        metrics::histogram!(SEND_DURATION_METRIC).record(started.elapsed().as_secs_f64());
    }
}

/// A send with its position (or known from before), not yet acknowledged.
pub struct Sequenced {
    started: Instant,
    client_msg_id: String,
    room: Uuid,
    id: Uuid,
    duplicate: bool,
    state: SendState,
}

enum SendState {
    /// A retry of a send history already holds: its ack.
    Done(Ack),
    /// A retry of a send known to be durable.
    Durable(DurableAck),
    /// Appended; the broker's confirm is still to come.
    Appended(Appended),
}

impl Messages {
    async fn sequence_send(
        &self,
        sender: Uuid,
        request: SendRequest,
        started: Instant,
    ) -> Result<Sequenced, MessageError> {
        self.validate(&request)?;
        self.require_member(request.room, sender).await?;
        if let Some(stored) = self
            .sends
            .find(request.room, sender, &request.client_msg_id)
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, "cannot look the send up in history");
                MessageError::Unavailable
            })?
        {
            let ack = Ack {
                id: stored.id.parse().unwrap_or_default(),
                room: request.room.into(),
                position: stored
                    .position
                    .map_or(chat_protocol::Position::NOTHING, |at| {
                        chat_protocol::Position::new(at.epoch, at.seq)
                    }),
                sent_at: sent_at(stored.sent_at.as_ref()),
                client_msg_id: request.client_msg_id.clone(),
                duplicate: true,
            };
            return Ok(Sequenced {
                started,
                client_msg_id: request.client_msg_id,
                room: request.room,
                id: ack.id.into(),
                duplicate: true,
                state: SendState::Done(ack),
            });
        }

        let mentioned = self
            .lookups
            .mentions
            .resolve(request.room, &request.content)
            .await;
        if let Some(root) = request.thread_root {
            self.check_thread_root(request.room, sender, root).await?;
        }
        let reply_preview = match request.reply_to {
            Some(target) => Some(self.reply_preview(request.room, sender, target).await?),
            None => None,
        };
        let (id, kind, attachments) = if request.attachments.is_empty() {
            (Uuid::now_v7(), MessageKind::Text, Vec::new())
        } else {
            let attached = self
                .lookups
                .attachments
                .attach(
                    sender,
                    request.room,
                    &request.client_msg_id,
                    Uuid::now_v7(),
                    &request.attachments,
                )
                .await
                .map_err(|err| match err {
                    AttachmentError::Refused(message) => MessageError::InvalidField {
                        field: "attachments",
                        message,
                    },
                    AttachmentError::Unavailable => MessageError::Unavailable,
                })?;
            (attached.message_id, attached.kind, attached.files)
        };
        let now = prost_types::Timestamp::from(SystemTime::now());
        let room_id = request.room.to_string();
        let item = RoomItem {
            id: id.to_string(),
            room_id: room_id.clone(),
            actor_id: sender.to_string(),
            occurred_at: Some(now),
            body: Some(Body::Message(ChatMessage {
                id: id.to_string(),
                room_id: room_id.clone(),
                sender_id: sender.to_string(),
                client_msg_id: request.client_msg_id.clone(),
                content: request.content,
                reply_to: request.reply_to.map(|reply| reply.to_string()),
                reply_preview,
                mentions: mentioned.users.iter().map(Uuid::to_string).collect(),
                mentions_room: mentioned.room,
                thread_root: request.thread_root.map(|root| root.to_string()),
                attachments,
                kind: kind as i32,
                sent_at: Some(now),
            })),
        };
        let outcome = self.sequencer.append_once(&item).await.map_err(|err| {
            tracing::warn!(error = %err, "cannot append the message");
            MessageError::Unavailable
        })?;
        let duplicate = outcome.is_duplicate();
        let state = match outcome {
            AppendOutcome::Confirmed(ack) => SendState::Durable(ack),
            AppendOutcome::New(appended) | AppendOutcome::Pending(appended) => {
                SendState::Appended(appended)
            }
        };
        Ok(Sequenced {
            started,
            client_msg_id: request.client_msg_id,
            room: request.room,
            id,
            duplicate,
            state,
        })
    }

    /// Publishes an appended envelope to the persistence queue, waits for the broker's
    /// confirm and clears its pending record; returns what the sender's ack says. A retry
    /// whose first attempt is not known to be durable takes this path too: that attempt
    /// may have died before the confirm.
    async fn make_durable(&self, appended: &Appended) -> Result<DurableAck, MessageError> {
        self.publisher
            .publish(&appended.bytes, &appended.envelope.room_id)
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, "the broker did not confirm the message");
                MessageError::Unavailable
            })?;
        if let Err(err) = self.sequencer.confirm_appended(appended).await {
            // Durable already; the sweeper will store it again, which history ignores.
            tracing::warn!(error = %err, "cannot clear the pending record");
        }
        appended.ack().map_err(|err| {
            tracing::error!(error = %err, "the sequencer returned an undecodable item");
            MessageError::Unavailable
        })
    }

    /// What a reply shows of `target`, which must be a message of `room`.
    async fn reply_preview(
        &self,
        room: Uuid,
        sender: Uuid,
        target: Uuid,
    ) -> Result<ReplyPreview, MessageError> {
        let stored = self
            .lookups
            .stored
            .get(target, sender)
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, "cannot read the message replied to");
                MessageError::Unavailable
            })?
            .filter(|stored| stored.room_id == room.to_string())
            .ok_or_else(|| MessageError::InvalidField {
                field: "reply_to",
                message: "must be a message of this room".to_owned(),
            })?;
        let deleted = stored.deleted_at.is_some();
        Ok(ReplyPreview {
            message_id: stored.id,
            sender_id: stored.sender_id,
            excerpt: if deleted {
                String::new()
            } else {
                stored.content.chars().take(EXCERPT_CHARS).collect()
            },
            deleted,
        })
    }

    /// Refuses a thread whose root is not a message of `room`, is deleted, or is itself
    /// a reply in a thread.
    async fn check_thread_root(
        &self,
        room: Uuid,
        sender: Uuid,
        root: Uuid,
    ) -> Result<(), MessageError> {
        let refuse = |why: &str| MessageError::InvalidField {
            field: "thread_root",
            message: why.to_owned(),
        };
        let stored = self
            .lookups
            .stored
            .get(root, sender)
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, "cannot read the thread's root");
                MessageError::Unavailable
            })?
            .filter(|stored| stored.room_id == room.to_string())
            .ok_or_else(|| refuse("must be a message of this room"))?;
        if stored.deleted_at.is_some() {
            return Err(refuse("names a deleted message"));
        }
        if stored.thread_root.is_some() {
            return Err(refuse(
                "names a reply in a thread; reply in that thread instead",
            ));
        }
        Ok(())
    }

    /// Who `content`, written in `room`, mentions.
    pub async fn mentioned(&self, room: Uuid, content: &str) -> Mentioned {
        self.lookups.mentions.resolve(room, content).await
    }

    /// Forgets the cached membership of `user` in `room` (the user just left).
    pub fn forget_membership(&self, room: Uuid, user: Uuid) {
        self.memberships.forget(room, user);
    }

    /// Refuses a user who is not in the room.
    pub async fn require_member(&self, room: Uuid, user: Uuid) -> Result<(), MessageError> {
        self.member_of(room, user).await.map(|_| ())
    }

    /// What kind of room `room` is, when `user` is in it (else as [`Self::require_member`]).
    pub async fn member_of(&self, room: Uuid, user: Uuid) -> Result<RoomKind, MessageError> {
        match self.memberships.check(room, user).await {
            Ok(Membership::Member(member)) => Ok(member.kind),
            Ok(Membership::NotMember { kind }) => Err(MessageError::NotAMember { kind }),
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = %status.message(), "membership check failed");
                Err(MessageError::Unavailable)
            }
        }
    }

    /// A page of `room`'s messages for `user`, by position cursor (exclusive bounds).
    #[tracing::instrument(name = "messages.history", skip(self))]
    pub async fn history(
        &self,
        user: Uuid,
        room: Uuid,
        scope: PageScope,
        before: Option<HistoryCursor>,
        after: Option<HistoryCursor>,
        limit: Option<u32>,
    ) -> Result<Page, MessageError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(MessageError::InvalidField {
                field: "limit",
                message: format!("must be 1 to {MAX_PAGE}"),
            });
        }
        if before.is_some() && after.is_some() {
            return Err(MessageError::InvalidField {
                field: "after",
                message: "cannot be given with `before`; give one or neither".to_owned(),
            });
        }
        self.require_member(room, user).await?;
        let before = match before {
            Some(cursor) => Some(self.position(room, cursor).await?),
            None => None,
        };
        let after = match after {
            Some(cursor) => Some(self.position(room, cursor).await?),
            None => None,
        };
        let page = self
            .history
            .clone()
            .list_messages(ListMessagesRequest {
                room_id: room.to_string(),
                before,
                after,
                limit,
                viewer_id: user.to_string(),
                thread_root: match scope {
                    PageScope::Thread(root) => Some(root.to_string()),
                    PageScope::Room { .. } => None,
                },
                without_thread_replies: scope
                    == PageScope::Room {
                        with_thread_replies: false,
                    },
            })
            .await
            .map_err(|status| {
                tracing::warn!(code = ?status.code(), message = %status.message(), "history failed");
                MessageError::Unavailable
            })?
            .into_inner();
        Ok(Page {
            messages: page
                .messages
                .into_iter()
                .filter_map(render::stored_message)
                .collect(),
            has_older: page.has_older,
            has_newer: page.has_newer,
        })
    }

    /// A cursor with its epoch: a bare position means the room's current epoch.
    async fn position(&self, room: Uuid, cursor: HistoryCursor) -> Result<Position, MessageError> {
        if let Some(epoch) = cursor.epoch {
            return Ok(Position {
                epoch,
                seq: cursor.seq,
            });
        }
        let epoch = match self.sequencer.current_position(room.into()).await {
            Ok(Some(current)) => current.epoch,
            Ok(None) => self
                .history
                .clone()
                .latest_position(LatestPositionRequest {
                    room_id: room.to_string(),
                })
                .await
                .map_err(|_| MessageError::Unavailable)?
                .into_inner()
                .position
                .map_or(0, |position| position.epoch),
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the room's position");
                return Err(MessageError::Unavailable);
            }
        };
        Ok(Position {
            epoch,
            seq: cursor.seq,
        })
    }
}

/// The content rules of a send (and of an edit): not blank, at most `max` characters,
/// no control characters but line breaks and tabs.
pub fn validate_content(content: &str, max: usize) -> Result<(), MessageError> {
    if content.chars().all(is_invisible) {
        return Err(MessageError::Content {
            code: ErrorCode::EmptyContent,
            message: "content must not be empty or only whitespace".to_owned(),
        });
    }
    validate_content_characters(content)?;
    if content.chars().count() > max {
        return Err(MessageError::Content {
            code: ErrorCode::ContentTooLong,
            message: format!("content must be at most {max} characters"),
        });
    }
    Ok(())
}

/// Whitespace, and the characters that show nothing on their own: zero-width spaces and
/// joiners, the word joiner and invisible operators, the byte-order mark, the soft hyphen,
/// variation selectors and the Hangul fillers. A message of only these looks empty.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2064}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
        )
}

/// Refuses control characters other than line breaks and tabs. History refuses NUL, and
/// no client means to send the others: refusing them before anything is sequenced keeps
/// an acknowledged message from ever being unstorable.
fn validate_content_characters(content: &str) -> Result<(), MessageError> {
    match content
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        Some(c) => Err(MessageError::InvalidField {
            field: "content",
            message: format!(
                "must not contain control characters (found U+{:04X})",
                u32::from(c)
            ),
        }),
        None => Ok(()),
    }
}

fn validate_client_msg_id(id: &str) -> Result<(), MessageError> {
    let valid = !id.is_empty()
        && id.len() <= MAX_CLIENT_MSG_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(MessageError::InvalidField {
            field: "client_msg_id",
            message: format!(
                "must be 1 to {MAX_CLIENT_MSG_ID_CHARS} characters of A-Z a-z 0-9 _ -"
            ),
        })
    }
}

/// The time an ack names; the sequencer always records one.
fn sent_at(at: Option<&prost_types::Timestamp>) -> Timestamp {
    at.and_then(render::timestamp)
        .unwrap_or_else(Timestamp::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_of_only_invisible_characters_is_empty() {
        for empty in [
            "",
            "  \n\t",
            "\u{200B}",
            "\u{200B}\u{200D}\u{FEFF} \u{2060}",
            "\u{3164}",
        ] {
            let refused = validate_content(empty, 100);
            assert!(
                matches!(
                    refused,
                    Err(MessageError::Content {
                        code: ErrorCode::EmptyContent,
                        ..
                    })
                ),
                "{empty:?}: {refused:?}"
            );
        }
        for shown in ["a\u{200B}", "👨\u{200D}👩", "x"] {
            assert!(validate_content(shown, 100).is_ok(), "{shown:?}");
        }
    }

    #[test]
    fn content_may_hold_line_breaks_but_no_other_control_characters() {
        assert!(validate_content_characters("two\nlines\r\n\tand a tab, ünïcode 👋").is_ok());
        for bad in [
            "nul\u{0}",
            "bell\u{7}",
            "escape\u{1b}[31m",
            "del\u{7f}",
            "c1\u{85}",
        ] {
            assert!(validate_content_characters(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn client_message_ids_are_short_and_plain() {
        assert!(validate_client_msg_id("6f9d-a_B9").is_ok());
        assert!(validate_client_msg_id(&"x".repeat(64)).is_ok());
        for bad in ["", "with space", "é", &"x".repeat(65), "a/b"] {
            assert!(validate_client_msg_id(bad).is_err(), "{bad:?}");
        }
    }
}

/// One rate limit of one socket (its sends, or a kind of frame). Every socket holds a few,
/// so they use the standard monotonic clock, which takes no room, rather than governor's
/// default (a calibrated clock in every limiter): 40 bytes instead of 72.
#[derive(Debug)]
pub struct SocketLimiter(
    RateLimiter<NotKeyed, InMemoryState, MonotonicClock, NoOpMiddleware<std::time::Instant>>,
);

impl SocketLimiter {
    pub fn new(quota: Quota) -> Self {
        Self(RateLimiter::direct_with_clock(quota, MonotonicClock))
    }

    /// Counts one more; `Err` with the time to wait when over the limit.
    pub fn check(&self) -> Result<(), Duration> {
        self.0
            .check()
            .map_err(|not_until| not_until.wait_time_from(MonotonicClock.now()))
    }
}
