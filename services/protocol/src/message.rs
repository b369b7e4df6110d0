//! Messages as clients see them, live and in history, and the answer to a send.

use serde::{Deserialize, Serialize};

use crate::file::FileView;
use crate::ids::{FileId, MessageId, RoomId, UserId};
use crate::position::Position;
use crate::timestamp::Timestamp;

/// What a message holds.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    #[default]
    Text,
    File,
    Image,
}

/// A message, the same in `message.created`, `history` pages and REST.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
pub struct MessageView {
    pub id: MessageId,
    pub room_id: RoomId,
    pub sender_id: UserId,
    pub client_msg_id: String,
    /// Empty when deleted.
    pub content: String,
    pub reply_to: Option<MessageId>,
    /// What the message replied to says (with `reply_to`): as it was when this one was
    /// sent in `message.created`, as it is now in pages and REST.
    #[serde(default)]
    pub reply_preview: Option<ReplyPreview>,
    pub kind: MessageKind,
    pub sent_at: Option<Timestamp>,
    pub edited_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
    /// Reactions by emoji, in the order first given (none on a deleted message).
    #[serde(default)]
    pub reactions: Vec<ReactionView>,
    /// The members it mentions by `@username`.
    #[serde(default)]
    pub mentions: Vec<UserId>,
    /// It mentions everyone in the room (`@room`).
    #[serde(default)]
    pub mentions_room: bool,
    /// The root message of the thread it replies in.
    #[serde(default)]
    pub thread_root: Option<MessageId>,
    /// A thread's root: its replies so far (null when it has none).
    #[serde(default)]
    pub thread: Option<ThreadSummary>,
    /// The files it carries (`kind` `file` or `image`), as they were when sent; none on
    /// a deleted message. `url` and `thumbnail.url` are fetched with the access token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<FileView>>", optional)]
    pub attachments: Vec<FileView>,
    #[serde(flatten)]
    pub position: Position,
}

/// What a thread holds so far, on its root message.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
pub struct ThreadSummary {
    /// Replies not deleted.
    pub reply_count: u32,
    pub last_reply_at: Option<Timestamp>,
    /// Who replied, the first repliers first (at most 5).
    pub participants: Vec<UserId>,
}

/// What a reply shows of the message it answers.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
pub struct ReplyPreview {
    pub id: MessageId,
    pub sender_id: UserId,
    /// The start of its content (100 characters at most); empty when deleted.
    pub excerpt: String,
    pub deleted: bool,
}

/// How many gave one emoji to a message, and whether the reader did.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
pub struct ReactionView {
    pub emoji: String,
    pub count: u32,
    /// The reader is among them (always false in live `message.created`: nobody has
    /// reacted yet).
    pub me: bool,
}

/// `POST /api/messages/{id}/react`.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct NewReaction {
    /// One Unicode emoji (a sequence, with skin tone or joiners, counts as one).
    pub emoji: String,
}

/// The `ack` of a send, and the body of `POST /api/messages`.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
pub struct Ack {
    pub client_msg_id: String,
    /// The message id.
    pub id: MessageId,
    pub room: RoomId,
    #[serde(flatten)]
    pub position: Position,
    pub sent_at: Timestamp,
    /// True when this answers a retry of a send already accepted.
    pub duplicate: bool,
}

/// `POST /api/messages`: a message to send.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    pub room_id: RoomId,
    /// 1 to 4,000 characters (configurable), not only whitespace; may be empty (or left
    /// out) when the message carries attachments.
    #[serde(default)]
    pub content: String,
    /// Chosen by the client for each message: 1 to 64 of `A-Z a-z 0-9 _ -`. A retry
    /// with the same id returns the original ack and stores nothing new.
    pub client_msg_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reply_to: Option<MessageId>,
    /// Reply in the thread of this message (of the same room, not itself in a thread).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub thread_root: Option<MessageId>,
    /// Up to 10 of the sender's uploads (`POST /api/uploads`) not yet sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<FileId>>", optional)]
    pub attachments: Vec<FileId>,
}

/// A page of a room's messages, oldest first (`GET /api/rooms/{id}/messages`).
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
pub struct MessagesPage {
    pub messages: Vec<MessageView>,
    /// Older messages exist before the first one.
    pub has_older: bool,
    /// Newer messages exist after the last one.
    pub has_newer: bool,
}

/// `PUT /api/messages/{id}`: the new content of one's own message.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct EditMessage {
    /// The same rules as a send's content.
    pub content: String,
}

/// One version of a message: what it was sent with, or an edit.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
pub struct Revision {
    pub content: String,
    /// When it was sent or edited.
    pub at: Option<Timestamp>,
    /// The position of the message or of the edit.
    #[serde(flatten)]
    pub position: Position,
}

/// `GET /api/messages/{id}/revisions`: every version, oldest first (none once deleted).
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
pub struct RevisionList {
    pub revisions: Vec<Revision>,
}
