//! The frames the server sends: answers, the user's room changes, and room entries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::client::TypingState;
use crate::error::ErrorCode;
use crate::ids::{MessageId, RoomId, UserId};
use crate::message::{Ack, MessageView};
use crate::position::Position;
use crate::presence::PresenceList;
use crate::room::{MemberRead, Role, RoomDetails, RoomKind};
use crate::timestamp::Timestamp;

/// The protocol version announced in `ready`.
pub const PROTOCOL_VERSION: u32 = 1;

/// A frame the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(tag = "type")]
pub enum ServerFrame {
    #[serde(rename = "ready")]
    Ready(Ready),
    #[serde(rename = "auth.renewed")]
    AuthRenewed { expires_at: Timestamp },
    #[serde(rename = "ack")]
    Ack(Ack),
    #[serde(rename = "history")]
    History(HistoryPage),
    #[serde(rename = "joined")]
    Joined(Answer),
    #[serde(rename = "left")]
    Left(Answer),
    #[serde(rename = "pong")]
    Pong {
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        reference: Option<String>,
    },
    #[serde(rename = "resumed")]
    Resumed(Resumed),
    #[serde(rename = "resync")]
    Resync(Resync),
    #[serde(rename = "room.added")]
    RoomAdded(RoomAdded),
    #[serde(rename = "room.removed")]
    RoomRemoved(RoomRemoved),
    #[serde(rename = "reconnect")]
    Reconnect(Reconnect),
    #[serde(rename = "error")]
    Error(ErrorFrame),
    /// Someone else in one of the socket's rooms started or stopped writing (ephemeral:
    /// no position).
    #[serde(rename = "typing")]
    Typing(Typing),
    /// Presence changes of users the socket follows (`presence.subscribe`), at most one
    /// frame per second; also the answer to `presence.subscribe`.
    #[serde(rename = "presence")]
    Presence(PresenceList),
    /// The user's read position in a room moved (on this device or another).
    #[serde(rename = "read")]
    Read(ReadMark),
    /// Other members of a small room read further (read receipts), at most about once a
    /// second per room.
    #[serde(rename = "receipts")]
    Receipts(Receipts),
    /// The answer to `search`.
    #[serde(rename = "search.results")]
    SearchResults(SearchAnswer),
    /// The answer to `edit` and `delete`: the message as it now is.
    #[serde(rename = "done")]
    Done(Done),

    // Room entries: each has its room's position.
    #[serde(rename = "message.created")]
    MessageCreated(Entry<MessageCreated>),
    #[serde(rename = "message.edited")]
    MessageEdited(Entry<MessageEdited>),
    #[serde(rename = "message.deleted")]
    MessageDeleted(Entry<MessageDeleted>),
    #[serde(rename = "reaction.added")]
    ReactionAdded(Entry<ReactionChange>),
    #[serde(rename = "reaction.removed")]
    ReactionRemoved(Entry<ReactionChange>),
    #[serde(rename = "member.joined")]
    MemberJoined(Entry<MemberChange>),
    #[serde(rename = "member.left")]
    MemberLeft(Entry<MemberChange>),
    #[serde(rename = "member.invited")]
    MemberInvited(Entry<MemberChange>),
    #[serde(rename = "member.kicked")]
    MemberKicked(Entry<MemberChange>),
    #[serde(rename = "member.banned")]
    MemberBanned(Entry<MemberChange>),
    #[serde(rename = "member.unbanned")]
    MemberUnbanned(Entry<MemberChange>),
    #[serde(rename = "member.role_changed")]
    MemberRoleChanged(Entry<MemberChange>),
    #[serde(rename = "room.created")]
    RoomCreated(Entry<RoomChange>),
    #[serde(rename = "room.updated")]
    RoomUpdated(Entry<RoomChange>),
    #[serde(rename = "room.deleted")]
    RoomDeleted(Entry<RoomChange>),
}

impl ServerFrame {
    /// The JSON text of the frame.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialize")
    }

    /// The room and position of a room entry; `None` for any other frame.
    pub fn entry(&self) -> Option<(RoomId, Position)> {
        let at = |room: RoomId, position: Position| Some((room, position));
        match self {
            Self::MessageCreated(e) => at(e.room, e.position),
            Self::MessageEdited(e) => at(e.room, e.position),
            Self::MessageDeleted(e) => at(e.room, e.position),
            Self::ReactionAdded(e) | Self::ReactionRemoved(e) => at(e.room, e.position),
            Self::MemberJoined(e)
            | Self::MemberLeft(e)
            | Self::MemberInvited(e)
            | Self::MemberKicked(e)
            | Self::MemberBanned(e)
            | Self::MemberUnbanned(e)
            | Self::MemberRoleChanged(e) => at(e.room, e.position),
            Self::RoomCreated(e) | Self::RoomUpdated(e) | Self::RoomDeleted(e) => {
                at(e.room, e.position)
            }
            _ => None,
        }
    }
}

/// `ready`: the session is authenticated; the user's rooms and where each stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct Ready {
    pub protocol: u32,
    #[ts(type = "string")]
    pub connection_id: Uuid,
    pub user: UserRef,
    #[ts(type = "number")]
    pub heartbeat_interval_ms: u64,
    /// While the user writes, repeat `typing` `start` this often.
    #[ts(type = "number")]
    pub typing_renew_ms: u64,
    /// A `typing` `start` not renewed within this long ends: the room is told `stop`.
    #[ts(type = "number")]
    pub typing_timeout_ms: u64,
    /// `presence` frames come at most this often.
    #[ts(type = "number")]
    pub presence_interval_ms: u64,
    pub limits: Limits,
    pub rooms: Vec<RoomPosition>,
}

/// `typing`: `user_id` started or stopped writing in `room`. A message from them ends it
/// too; clients need no `stop` for that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Typing {
    pub room: RoomId,
    pub user_id: UserId,
    pub state: TypingState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct UserRef {
    pub id: UserId,
}

/// The limits a client should respect (`ready.limits`).
#[derive(
    Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS,
)]
pub struct Limits {
    pub max_content_chars: u32,
    pub max_frame_bytes: u32,
    pub sends_per_second: u32,
}

/// One room of `ready.rooms`: where it stands now.
#[derive(
    Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS,
)]
pub struct RoomPosition {
    pub id: RoomId,
    #[serde(flatten)]
    pub position: Position,
    /// How far the user has read (absent: never, or unknown right now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub read_position: Option<Position>,
    /// Messages of others after the read position (at most 100: show "99+").
    #[serde(default)]
    pub unread: u32,
    /// Of those, the ones mentioning the user (`@username` or `@room`).
    #[serde(default)]
    pub mentions: u32,
}

/// The `history` reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct HistoryPage {
    #[serde(rename = "ref")]
    pub reference: String,
    pub room: RoomId,
    pub messages: Vec<MessageView>,
    pub has_older: bool,
    pub has_newer: bool,
}

/// `joined` and `left`: the request with this `ref` is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct Answer {
    #[serde(rename = "ref")]
    pub reference: String,
    pub room: RoomId,
}

/// `read` (server): how far the user has read a room now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct ReadMark {
    pub room: RoomId,
    #[serde(flatten)]
    pub position: Position,
}

/// `receipts`: members of `room` whose read positions moved (their own `read`, seen by
/// the others).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct Receipts {
    pub room: RoomId,
    pub reads: Vec<MemberRead>,
}

/// `search.results`: a page of what `search` found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct SearchAnswer {
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(flatten)]
    pub results: crate::search::SearchResults,
}

/// `done`: a change to a message went through (or had already: a retry gets the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct Done {
    #[serde(rename = "ref")]
    pub reference: String,
    pub message: MessageView,
}

/// `resumed`: the end of a room's catch-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct Resumed {
    pub room: RoomId,
    #[serde(flatten)]
    pub position: Position,
    /// Entries sent in the catch-up.
    #[ts(type = "number")]
    pub replayed: u64,
}

/// `resync`: the client's position cannot be continued; reload from here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct Resync {
    pub room: RoomId,
    #[serde(flatten)]
    pub position: Position,
    pub reason: ResyncReason,
}

/// Why a `resync`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum ResyncReason {
    /// The room's epoch is not the client's (or the client named a position the room
    /// has not reached).
    EpochChanged,
    /// The missed entries could not be read.
    GapUnrecoverable,
}

/// `room.added`: the socket now receives the room's entries after this position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct RoomAdded {
    pub room: RoomId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub kind: Option<RoomKind>,
    #[serde(flatten)]
    pub position: Position,
}

/// `room.removed`: the socket no longer receives the room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct RoomRemoved {
    pub room: RoomId,
    pub reason: RemovalReason,
}

/// Why a room left a socket.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    Left,
    Kicked,
    Banned,
    Deleted,
    /// The membership was found gone without its event.
    NotAMember,
}

/// `reconnect`: the gateway is going away.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct Reconnect {
    pub reason: ReconnectReason,
    #[ts(type = "number")]
    pub retry_after_ms: u64,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum ReconnectReason {
    Shutdown,
}

/// `error`: a request failed; the socket stays open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct ErrorFrame {
    pub code: ErrorCode,
    pub message: String,
    /// The request it answers (`client_msg_id` of a `send`, `id` of others).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub fields: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub retry_after_ms: Option<u64>,
}

/// What every room entry carries: its room, position, id and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct Entry<B> {
    pub room: RoomId,
    #[serde(flatten)]
    pub position: Position,
    /// The entry's id (the message id for `message.created`).
    pub id: String,
    pub at: Option<Timestamp>,
    #[serde(flatten)]
    pub body: B,
}

/// `message.created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct MessageCreated {
    pub message: MessageView,
}

/// `message.edited`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct MessageEdited {
    pub message_id: MessageId,
    pub content: String,
    pub edited_at: Option<Timestamp>,
    /// Who the new content mentions.
    #[serde(default)]
    pub mentions: Vec<UserId>,
    #[serde(default)]
    pub mentions_room: bool,
}

/// `message.deleted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct MessageDeleted {
    pub message_id: MessageId,
    pub deleted_at: Option<Timestamp>,
}

/// `reaction.added` and `reaction.removed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct ReactionChange {
    pub message_id: MessageId,
    pub emoji: String,
    /// Who reacted.
    pub user_id: UserId,
}

/// `member.*`: a change to one member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct MemberChange {
    pub user_id: UserId,
    pub actor_id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub role: Option<Role>,
    /// The end of a ban.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub until: Option<Timestamp>,
}

/// `room.created`, `room.updated`, `room.deleted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct RoomChange {
    pub actor_id: UserId,
    /// The room as it is now; absent for `room.deleted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub details: Option<RoomDetails>,
}
