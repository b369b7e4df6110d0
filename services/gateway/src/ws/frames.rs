//! Every frame of the client protocol (`docs/protocol.md`), as Rust types: client frames
//! are parsed strictly (unknown fields are an error, so typos do not pass silently);
//! server frames are serialized with `serde_json`.
//!
//! Room events are rendered once per event by the fan-out hub ([`room_item_frame`]) and
//! the same bytes go to every local socket.

use std::collections::{BTreeMap, HashMap};

use chat_proto::v1::room_item::Body;
use chat_proto::v1::{MessageKind, Role, Room, RoomEvent, RoomEventKind, RoomItem, RoomKind};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

/// The protocol version announced in `ready`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest accepted request id (`id` of `history`, `join`, `leave`, `ping`).
pub const MAX_REQUEST_ID_CHARS: usize = 64;

// ---------------------------------------------------------------------------------------
// Client frames

/// A frame a client sent, after parsing.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    Auth(AuthFrame),
    Send(SendFrame),
    History(HistoryFrame),
    Join(RoomRequest),
    Leave(RoomRequest),
    Ping(PingFrame),
}

/// `auth`: the token (unless the upgrade request carried one) and the positions to resume.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFrame {
    #[serde(rename = "type")]
    _type: TypeTag,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub resume: Option<HashMap<Uuid, ResumePosition>>,
}

/// The last position a client saw in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResumePosition {
    pub epoch: u64,
    pub position: u64,
}

/// `send`: a new chat message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendFrame {
    #[serde(rename = "type")]
    _type: TypeTag,
    pub room: Uuid,
    pub client_msg_id: String,
    pub content: String,
    #[serde(default)]
    pub reply_to: Option<Uuid>,
}

/// `history`: a page of a room's messages.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryFrame {
    #[serde(rename = "type")]
    _type: TypeTag,
    #[serde(deserialize_with = "request_id")]
    pub id: String,
    pub room: Uuid,
    #[serde(default)]
    pub before: Option<PositionCursor>,
    #[serde(default)]
    pub after: Option<PositionCursor>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `join` and `leave`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomRequest {
    #[serde(rename = "type")]
    _type: TypeTag,
    #[serde(deserialize_with = "request_id")]
    pub id: String,
    pub room: Uuid,
}

/// `ping`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingFrame {
    #[serde(rename = "type")]
    _type: TypeTag,
    #[serde(default, deserialize_with = "optional_request_id")]
    pub id: Option<String>,
}

/// The `type` field of a client frame, already looked at by [`parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TypeTag;

impl<'de> Deserialize<'de> for TypeTag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| TypeTag)
    }
}

fn request_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let id = String::deserialize(deserializer)?;
    if id.is_empty() || id.chars().count() > MAX_REQUEST_ID_CHARS {
        return Err(serde::de::Error::custom(format!(
            "must be 1 to {MAX_REQUEST_ID_CHARS} characters"
        )));
    }
    Ok(id)
}

fn optional_request_id<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    request_id(deserializer).map(Some)
}

/// A position in a room as a cursor: `"<epoch>:<position>"`, or a bare position (a
/// string or a number) meaning the room's current epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionCursor {
    pub epoch: Option<u64>,
    pub position: u64,
}

impl std::str::FromStr for PositionCursor {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((epoch, position)) => Ok(Self {
                epoch: Some(cursor_number(epoch)?),
                position: cursor_number(position)?,
            }),
            None => Ok(Self {
                epoch: None,
                position: cursor_number(s)?,
            }),
        }
    }
}

impl<'de> Deserialize<'de> for PositionCursor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer).map_err(|_| serde::de::Error::custom(CURSOR_SHAPE))? {
            Raw::Number(position) if position <= MAX_CURSOR_NUMBER => Ok(Self {
                epoch: None,
                position,
            }),
            Raw::Number(_) => Err(serde::de::Error::custom(CURSOR_SHAPE)),
            Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

const CURSOR_SHAPE: &str = "must be `<epoch>:<position>` or `<position>`";

/// Positions and epochs are stored as PostgreSQL `bigint`: a cursor beyond it can match
/// nothing and is the client's mistake, not the service's.
const MAX_CURSOR_NUMBER: u64 = i64::MAX as u64;

fn cursor_number(s: &str) -> Result<u64, &'static str> {
    s.parse::<u64>()
        .ok()
        .filter(|n| *n <= MAX_CURSOR_NUMBER)
        .ok_or(CURSOR_SHAPE)
}

/// Why a client frame was refused: the `error` frame to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: &'static str,
    pub message: String,
    /// The request the error answers (`client_msg_id` of a `send`, `id` of others), when
    /// it could be read.
    pub reference: Option<String>,
    pub fields: Option<BTreeMap<String, String>>,
}

impl FrameError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            reference: None,
            fields: None,
        }
    }

    /// The `error` frame for this failure.
    pub fn to_frame(&self) -> ServerFrame<'_> {
        ServerFrame::Error(ErrorFrame {
            code: self.code,
            message: &self.message,
            reference: self.reference.as_deref(),
            fields: self.fields.as_ref(),
            retry_after_ms: None,
        })
    }
}

/// The fields every client frame is first looked at for: which type it is, and which
/// request an error would answer.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "type", default)]
    kind: Option<serde_json::Value>,
    #[serde(default)]
    client_msg_id: Option<serde_json::Value>,
    #[serde(default)]
    id: Option<serde_json::Value>,
}

/// Parses one text frame. The error says exactly what the protocol promises:
/// `malformed_frame` (not a JSON object), `unknown_type` (no or an unknown `type`),
/// `invalid_frame` (wrong, missing or unknown fields, named in `fields`).
pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
    if !text.trim_start().starts_with('{') {
        return Err(FrameError::new(
            "malformed_frame",
            "a frame must be a JSON object",
        ));
    }
    let probe: Probe = match serde_json::from_str(text) {
        Ok(probe) => probe,
        Err(err) if err.is_data() => {
            return Err(FrameError::new(
                "malformed_frame",
                "a frame must be a JSON object",
            ));
        }
        Err(err) => {
            return Err(FrameError::new(
                "malformed_frame",
                format!("the frame is not valid JSON: {err}"),
            ));
        }
    };
    let reference = probe
        .client_msg_id
        .as_ref()
        .or(probe.id.as_ref())
        .and_then(|value| value.as_str())
        .filter(|value| value.chars().count() <= MAX_REQUEST_ID_CHARS)
        .map(str::to_owned);
    let with_reference = |mut err: FrameError| {
        err.reference = reference.clone();
        err
    };
    let kind = match probe.kind {
        Some(serde_json::Value::String(kind)) => kind,
        Some(_) => {
            return Err(with_reference(FrameError::new(
                "unknown_type",
                "`type` must be a string",
            )));
        }
        None => {
            return Err(with_reference(FrameError::new(
                "unknown_type",
                "the frame has no `type`",
            )));
        }
    };
    let frame = match kind.as_str() {
        "auth" => decode(text).map(ClientFrame::Auth),
        "send" => decode(text).map(ClientFrame::Send),
        "history" => decode(text).map(ClientFrame::History),
        "join" => decode(text).map(ClientFrame::Join),
        "leave" => decode(text).map(ClientFrame::Leave),
        "ping" => decode(text).map(ClientFrame::Ping),
        other => {
            return Err(with_reference(FrameError::new(
                "unknown_type",
                format!(
                    "unknown frame type `{}`",
                    other.chars().take(64).collect::<String>()
                ),
            )));
        }
    };
    frame.map_err(with_reference)
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T, FrameError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = match inner.to_string().rfind(" at line ") {
            Some(at) => inner.to_string()[..at].to_owned(),
            None => inner.to_string(),
        };
        let field = field_of(&path, &message);
        FrameError {
            code: "invalid_frame",
            fields: Some(BTreeMap::from([(field, message.clone())])),
            message,
            reference: None,
        }
    })
}

/// The field an error is about: the path where it happened, or the field named by a
/// "missing field `x`" / "unknown field `x`" message.
fn field_of(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (path, named) {
        ("." | "", Some(name)) => name.to_owned(),
        (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => {
            path.to_owned()
        }
        (path, Some(name)) => format!("{path}.{name}"),
        ("." | "", None) => "type".to_owned(),
        (path, None) => path.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------
// Server frames

/// Every frame the server sends, except room events (see [`room_item_frame`]).
#[derive(Debug, Serialize)]
#[serde(tag = "type")]
pub enum ServerFrame<'a> {
    #[serde(rename = "ready")]
    Ready(Ready<'a>),
    #[serde(rename = "auth.renewed")]
    AuthRenewed { expires_at: String },
    #[serde(rename = "ack")]
    Ack(&'a Ack),
    #[serde(rename = "history")]
    History(HistoryPage<'a>),
    #[serde(rename = "joined")]
    Joined {
        #[serde(rename = "ref")]
        reference: &'a str,
        room: Uuid,
    },
    #[serde(rename = "left")]
    Left {
        #[serde(rename = "ref")]
        reference: &'a str,
        room: Uuid,
    },
    #[serde(rename = "pong")]
    Pong {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
    },
    #[serde(rename = "resumed")]
    Resumed {
        room: Uuid,
        epoch: u64,
        position: u64,
        replayed: u64,
    },
    #[serde(rename = "resync")]
    Resync {
        room: Uuid,
        epoch: u64,
        position: u64,
        reason: &'static str,
    },
    #[serde(rename = "room.added")]
    RoomAdded {
        room: Uuid,
        #[serde(skip_serializing_if = "Option::is_none")]
        kind: Option<&'static str>,
        epoch: u64,
        position: u64,
    },
    #[serde(rename = "room.removed")]
    RoomRemoved { room: Uuid, reason: &'static str },
    #[serde(rename = "reconnect")]
    Reconnect {
        reason: &'static str,
        retry_after_ms: u64,
    },
    #[serde(rename = "error")]
    Error(ErrorFrame<'a>),
}

impl ServerFrame<'_> {
    /// The JSON text of the frame.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialize")
    }
}

/// `ready`: the session is authenticated; the user's rooms and where each stands.
#[derive(Debug, Serialize)]
pub struct Ready<'a> {
    pub protocol: u32,
    pub connection_id: Uuid,
    pub user: UserRef<'a>,
    pub heartbeat_interval_ms: u64,
    pub limits: Limits,
    pub rooms: &'a [RoomPositionView],
}

#[derive(Debug, Serialize)]
pub struct UserRef<'a> {
    pub id: &'a str,
}

/// The limits a client should respect (`ready.limits`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Limits {
    pub max_content_chars: usize,
    pub max_frame_bytes: usize,
    pub sends_per_second: u32,
}

/// One room of `ready.rooms`.
#[derive(Debug, Clone, Serialize)]
pub struct RoomPositionView {
    pub id: Uuid,
    pub epoch: u64,
    pub position: u64,
}

/// The `ack` of a send (also the body of `POST /api/messages`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ack {
    pub client_msg_id: String,
    /// The message id.
    pub id: Uuid,
    pub room: Uuid,
    pub epoch: u64,
    pub position: u64,
    /// RFC 3339, UTC.
    pub sent_at: String,
    /// True when this answers a retry of a send already accepted.
    pub duplicate: bool,
}

/// The `history` reply.
#[derive(Debug, Serialize)]
pub struct HistoryPage<'a> {
    #[serde(rename = "ref")]
    pub reference: &'a str,
    pub room: Uuid,
    pub messages: &'a [MessageView],
    pub has_older: bool,
    pub has_newer: bool,
}

/// A stored message as clients see it, in history pages (WS and REST).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: String,
    pub room_id: String,
    pub sender_id: String,
    pub client_msg_id: String,
    /// Empty when deleted.
    pub content: String,
    pub reply_to: Option<String>,
    /// `text`, `file` or `image`.
    pub kind: String,
    pub sent_at: Option<String>,
    pub edited_at: Option<String>,
    pub deleted_at: Option<String>,
    pub epoch: u64,
    pub position: u64,
}

/// `error`.
#[derive(Debug, Serialize)]
pub struct ErrorFrame<'a> {
    pub code: &'a str,
    pub message: &'a str,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

// ---------------------------------------------------------------------------------------
// Room events

/// A protobuf timestamp as RFC 3339 in UTC, with milliseconds.
pub fn rfc3339(timestamp: &prost_types::Timestamp) -> String {
    let nanos = i128::from(timestamp.seconds) * 1_000_000_000 + i128::from(timestamp.nanos);
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let millis = at
        .replace_nanosecond(at.millisecond() as u32 * 1_000_000)
        .unwrap_or(at);
    millis
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn rfc3339_opt(timestamp: Option<&prost_types::Timestamp>) -> Option<String> {
    timestamp.map(rfc3339)
}

/// The name clients see for a message kind.
pub fn message_kind(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::File => "file",
        MessageKind::Image => "image",
        MessageKind::Text | MessageKind::Unspecified => "text",
    }
}

/// The name clients see for a room kind.
pub fn room_kind(kind: RoomKind) -> Option<&'static str> {
    match kind {
        RoomKind::Public => Some("public"),
        RoomKind::Private => Some("private"),
        RoomKind::Direct => Some("direct"),
        RoomKind::Unspecified => None,
    }
}

fn role(role: Role) -> Option<&'static str> {
    match role {
        Role::Member => Some("member"),
        Role::Admin => Some("admin"),
        Role::Owner => Some("owner"),
        Role::Unspecified => None,
    }
}

/// The event type clients see for a room event.
pub fn room_event_type(kind: RoomEventKind) -> Option<&'static str> {
    Some(match kind {
        RoomEventKind::MemberJoined => "member.joined",
        RoomEventKind::MemberLeft => "member.left",
        RoomEventKind::MemberInvited => "member.invited",
        RoomEventKind::MemberKicked => "member.kicked",
        RoomEventKind::MemberBanned => "member.banned",
        RoomEventKind::MemberUnbanned => "member.unbanned",
        RoomEventKind::RoleChanged => "member.role_changed",
        RoomEventKind::RoomUpdated => "room.updated",
        RoomEventKind::RoomDeleted => "room.deleted",
        RoomEventKind::RoomCreated | RoomEventKind::DirectCreated => "room.created",
        RoomEventKind::Unspecified => return None,
    })
}

/// What every room event carries.
#[derive(Serialize, Clone)]
struct EventHeader<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    room: &'a str,
    epoch: u64,
    position: u64,
    id: &'a str,
    at: Option<String>,
}

#[derive(Serialize)]
struct EventFrame<'a, B: Serialize> {
    #[serde(flatten)]
    header: EventHeader<'a>,
    #[serde(flatten)]
    body: B,
}

#[derive(Serialize)]
struct MessageBody<'a> {
    message: MessageCreated<'a>,
}

#[derive(Serialize)]
struct MessageCreated<'a> {
    id: &'a str,
    room: &'a str,
    sender_id: &'a str,
    client_msg_id: &'a str,
    content: &'a str,
    reply_to: Option<&'a str>,
    kind: &'static str,
    sent_at: Option<String>,
}

#[derive(Serialize)]
struct EditedBody<'a> {
    message_id: &'a str,
    content: &'a str,
    edited_at: Option<String>,
}

#[derive(Serialize)]
struct DeletedBody<'a> {
    message_id: &'a str,
    deleted_at: Option<String>,
}

#[derive(Serialize)]
struct MemberBody<'a> {
    user_id: &'a str,
    actor_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<String>,
}

#[derive(Serialize)]
struct RoomBody<'a> {
    actor_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<RoomDetails<'a>>,
}

/// A room as events carry it (`room.created`, `room.updated`).
#[derive(Serialize)]
pub struct RoomDetails<'a> {
    pub id: &'a str,
    pub kind: Option<&'static str>,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub topic: Option<&'a str>,
    pub owner_id: Option<&'a str>,
    pub member_count: u64,
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub direct_user_ids: &'a [String],
}

impl<'a> RoomDetails<'a> {
    pub fn of(room: &'a Room) -> Self {
        Self {
            id: &room.id,
            kind: room_kind(room.kind()),
            name: &room.name,
            description: room.description.as_deref(),
            topic: room.topic.as_deref(),
            owner_id: (!room.owner_id.is_empty()).then_some(room.owner_id.as_str()),
            member_count: room.member_count,
            created_at: rfc3339_opt(room.created_at.as_ref()),
            direct_user_ids: &room.direct_user_ids,
        }
    }
}

/// The JSON event clients receive for one entry of a room's sequence; `None` for an entry
/// without a body clients know (it still takes its position).
pub fn room_item_frame(epoch: u64, seq: u64, item: &RoomItem) -> Option<String> {
    let event = |kind: &'static str| EventHeader {
        kind,
        room: &item.room_id,
        epoch,
        position: seq,
        id: &item.id,
        at: rfc3339_opt(item.occurred_at.as_ref()),
    };
    let text = match item.body.as_ref()? {
        Body::Message(message) => serde_json::to_string(&EventFrame {
            body: MessageBody {
                message: MessageCreated {
                    id: &message.id,
                    room: &message.room_id,
                    sender_id: &message.sender_id,
                    client_msg_id: &message.client_msg_id,
                    content: &message.content,
                    reply_to: message.reply_to.as_deref(),
                    kind: message_kind(message.kind()),
                    sent_at: rfc3339_opt(message.sent_at.as_ref()),
                },
            },
            header: event("message.created"),
        }),
        Body::Edited(edited) => serde_json::to_string(&EventFrame {
            body: EditedBody {
                message_id: &edited.message_id,
                content: &edited.content,
                edited_at: rfc3339_opt(edited.edited_at.as_ref()),
            },
            header: event("message.edited"),
        }),
        Body::Deleted(deleted) => serde_json::to_string(&EventFrame {
            body: DeletedBody {
                message_id: &deleted.message_id,
                deleted_at: rfc3339_opt(deleted.deleted_at.as_ref()),
            },
            header: event("message.deleted"),
        }),
        Body::RoomEvent(room_event) => room_event_frame(epoch, seq, item, room_event)?,
    };
    Some(text.expect("events always serialize"))
}

fn room_event_frame(
    epoch: u64,
    seq: u64,
    item: &RoomItem,
    room_event: &RoomEvent,
) -> Option<serde_json::Result<String>> {
    let kind = room_event_type(room_event.kind())?;
    let event = EventHeader {
        kind,
        room: &item.room_id,
        epoch,
        position: seq,
        id: &item.id,
        at: rfc3339_opt(
            item.occurred_at
                .as_ref()
                .or(room_event.occurred_at.as_ref()),
        ),
    };
    Some(if kind.starts_with("member.") {
        serde_json::to_string(&EventFrame {
            body: MemberBody {
                user_id: &room_event.user_id,
                actor_id: &room_event.actor_id,
                role: room_event.role.and_then(|r| role(Role::try_from(r).ok()?)),
                until: rfc3339_opt(room_event.until.as_ref()),
            },
            header: event,
        })
    } else {
        serde_json::to_string(&EventFrame {
            body: RoomBody {
                actor_id: &room_event.actor_id,
                details: room_event.room.as_ref().map(RoomDetails::of),
            },
            header: event,
        })
    })
}

#[cfg(test)]
mod tests {
    use chat_proto::v1::ChatMessage;
    use serde_json::{Value, json};

    use super::*;

    fn error_of(text: &str) -> FrameError {
        parse(text).expect_err(text)
    }

    #[test]
    fn cursors_beyond_what_history_stores_are_refused() {
        let max = i64::MAX as u64;
        assert_eq!(
            format!("{max}:{max}").parse::<PositionCursor>(),
            Ok(PositionCursor {
                epoch: Some(max),
                position: max
            })
        );
        for bad in [
            format!("{}", max + 1),
            format!("1:{}", max + 1),
            format!("{}:1", max + 1),
        ] {
            assert!(bad.parse::<PositionCursor>().is_err(), "{bad}");
        }
        let room = Uuid::now_v7();
        let error = error_of(
            &json!({"type": "history", "id": "h", "room": room, "before": max + 1}).to_string(),
        );
        assert_eq!(error.code, "invalid_frame", "{error:?}");
    }

    #[test]
    fn every_client_frame_parses() {
        let room = Uuid::now_v7();
        let frames = [
            json!({"type": "auth", "token": "t", "resume": {room.to_string(): {"epoch": 5, "position": 7}}}),
            json!({"type": "auth"}),
            json!({"type": "send", "room": room, "client_msg_id": "c1", "content": "hi"}),
            json!({"type": "send", "room": room, "client_msg_id": "c1", "content": "hi", "reply_to": null}),
            json!({"type": "history", "id": "h", "room": room, "before": "5:7", "limit": 10}),
            json!({"type": "history", "id": "h", "room": room, "after": 3}),
            json!({"type": "join", "id": "j", "room": room}),
            json!({"type": "leave", "id": "l", "room": room}),
            json!({"type": "ping"}),
            json!({"type": "ping", "id": "p"}),
        ];
        for frame in frames {
            parse(&frame.to_string()).unwrap_or_else(|err| panic!("{frame}: {err:?}"));
        }
        let Ok(ClientFrame::History(history)) = parse(
            &json!({"type": "history", "id": "h", "room": room, "before": "5:7"}).to_string(),
        ) else {
            panic!("history");
        };
        assert_eq!(
            history.before,
            Some(PositionCursor {
                epoch: Some(5),
                position: 7
            })
        );
    }

    #[test]
    fn bad_frames_get_the_documented_codes() {
        let room = Uuid::now_v7();
        assert_eq!(error_of("not json").code, "malformed_frame");
        assert_eq!(error_of("[1,2]").code, "malformed_frame");
        assert_eq!(error_of("\"text\"").code, "malformed_frame");
        assert_eq!(error_of("{}").code, "unknown_type");
        assert_eq!(error_of(r#"{"type": 5}"#).code, "unknown_type");
        assert_eq!(error_of(r#"{"type": "dance"}"#).code, "unknown_type");

        let missing = error_of(&json!({"type": "send", "room": room, "content": "x"}).to_string());
        assert_eq!(missing.code, "invalid_frame");
        assert!(missing.fields.unwrap().contains_key("client_msg_id"));

        let unknown = error_of(
            &json!({"type": "send", "room": room, "client_msg_id": "c9", "content": "x", "colour": 1})
                .to_string(),
        );
        assert_eq!(unknown.code, "invalid_frame");
        assert_eq!(unknown.reference.as_deref(), Some("c9"));
        assert!(unknown.fields.unwrap().contains_key("colour"));

        let bad_room = error_of(&json!({"type": "join", "id": "j", "room": "nope"}).to_string());
        assert_eq!(bad_room.code, "invalid_frame");
        assert_eq!(bad_room.reference.as_deref(), Some("j"));
        assert!(bad_room.fields.unwrap().contains_key("room"));

        let bad_resume = error_of(
            &json!({"type": "auth", "resume": {room.to_string(): {"epoch": 1}}}).to_string(),
        );
        assert!(
            bad_resume
                .fields
                .unwrap()
                .keys()
                .any(|field| field.ends_with("position"))
        );

        let bad_cursor = error_of(
            &json!({"type": "history", "id": "h", "room": room, "before": "x:y"}).to_string(),
        );
        assert!(bad_cursor.fields.unwrap().contains_key("before"));
    }

    #[test]
    fn a_message_event_carries_its_position_and_message() {
        let item = RoomItem {
            id: "m1".into(),
            room_id: "r1".into(),
            actor_id: "u1".into(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 123_456_789,
            }),
            body: Some(Body::Message(ChatMessage {
                id: "m1".into(),
                room_id: "r1".into(),
                sender_id: "u1".into(),
                client_msg_id: "c1".into(),
                content: "hello".into(),
                reply_to: None,
                kind: MessageKind::Text as i32,
                sent_at: Some(prost_types::Timestamp {
                    seconds: 1_700_000_000,
                    nanos: 123_456_789,
                }),
            })),
        };
        let text = room_item_frame(7, 42, &item).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            json!({
                "type": "message.created", "room": "r1", "epoch": 7, "position": 42, "id": "m1",
                "at": "2023-11-14T22:13:20.123Z",
                "message": {"id": "m1", "room": "r1", "sender_id": "u1", "client_msg_id": "c1",
                            "content": "hello", "reply_to": null, "kind": "text",
                            "sent_at": "2023-11-14T22:13:20.123Z"}
            })
        );
    }

    #[test]
    fn membership_events_name_the_user() {
        let item = RoomItem {
            id: "e1".into(),
            room_id: "r1".into(),
            actor_id: "u2".into(),
            occurred_at: None,
            body: Some(Body::RoomEvent(RoomEvent {
                room_id: "r1".into(),
                kind: RoomEventKind::MemberKicked as i32,
                user_id: "u1".into(),
                actor_id: "u2".into(),
                ..Default::default()
            })),
        };
        let value: Value = serde_json::from_str(&room_item_frame(1, 2, &item).unwrap()).unwrap();
        assert_eq!(value["type"], "member.kicked");
        assert_eq!(value["user_id"], "u1");
        assert_eq!(value["actor_id"], "u2");
    }
}
