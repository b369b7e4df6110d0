//! The frames a client sends, parsed strictly: unknown fields are an error, so typos do
//! not pass silently. Every refusal says exactly what the protocol promises
//! (`malformed_frame`, `unknown_type`, `invalid_frame` with the fields at fault).

use std::collections::{BTreeMap, HashMap};

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ErrorCode;
use crate::ids::{FileId, MessageId, RoomId, UserId};
use crate::position::Position;

/// Longest accepted request id (`id` of `history`, `join`, `leave`, `ping`).
pub const MAX_REQUEST_ID_CHARS: usize = 64;

/// A frame a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Auth(AuthFrame),
    Send(SendFrame),
    History(HistoryFrame),
    Join(RoomRequest),
    Leave(RoomRequest),
    Ping(PingFrame),
    Typing(TypingFrame),
    /// `presence`: this client is active or idle.
    Presence(PresenceFrame),
    /// `presence.subscribe`: the users whose presence this socket follows.
    #[serde(rename = "presence.subscribe")]
    PresenceSubscribe(PresenceSubscribeFrame),
    /// `edit`: replace the content of one's own message.
    Edit(EditFrame),
    /// `delete`: delete a message (one's own, or any as a room admin or owner).
    Delete(DeleteFrame),
    /// `react`: add one's reaction to a message.
    React(ReactFrame),
    /// `unreact`: take one's reaction back.
    Unreact(ReactFrame),
    /// `read`: the user has read a room up to a position.
    Read(ReadFrame),
    /// `search`: full-text search over the user's rooms; answered by `search.results`.
    Search(SearchFrame),
    /// `focus`: the room this client shows (or none), so nobody is notified of what they
    /// are looking at.
    Focus(FocusFrame),
}

/// `focus`: the room this client has in view, or none (`room` absent or `null`: the
/// window is hidden, or shows no room). While an active client of a user has a room in
/// view, that room's messages notify nobody; send it again whenever it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct FocusFrame {
    #[serde(rename = "type", default, skip_serializing)]
    #[schemars(skip)]
    #[ts(skip)]
    pub _type: TypeTag,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub room: Option<RoomId>,
}

impl FocusFrame {
    pub fn new(room: Option<RoomId>) -> Self {
        Self {
            _type: TypeTag,
            room,
        }
    }
}

/// `auth`: the token (unless the upgrade request carried one) and the positions to resume.
#[derive(
    Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS,
)]
#[serde(deny_unknown_fields)]
pub struct AuthFrame {
    #[serde(rename = "type", default, skip_serializing)]
    #[schemars(skip)]
    #[ts(skip)]
    pub _type: TypeTag,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub token: Option<String>,
    /// The last position the client saw, per room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub resume: Option<HashMap<RoomId, Position>>,
}

/// `send`: a new chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct SendFrame {
    #[serde(rename = "type", default, skip_serializing)]
    #[schemars(skip)]
    #[ts(skip)]
    pub _type: TypeTag,
    pub room: RoomId,
    /// Chosen by the client; a retry with the same id is answered with the first `ack`.
    pub client_msg_id: String,
    /// May be empty (or left out) when the message carries attachments.
    #[serde(default)]
    pub content: String,
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

/// `history`: a page of a room's messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct HistoryFrame {
    #[serde(rename = "type", default, skip_serializing)]
    #[schemars(skip)]
    #[ts(skip)]
    pub _type: TypeTag,
    #[serde(deserialize_with = "request_id")]
    pub id: String,
    pub room: RoomId,
    /// Messages before this position (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub before: Option<HistoryCursor>,
    /// Messages after this position (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub after: Option<HistoryCursor>,
    /// 1 to 100; 50 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub limit: Option<u32>,
}

/// `join` and `leave`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct RoomRequest {
    #[serde(rename = "type", default, skip_serializing)]
    #[schemars(skip)]
    #[ts(skip)]
    pub _type: TypeTag,
    #[serde(deserialize_with = "request_id")]
    pub id: String,
    pub room: RoomId,
}

/// `ping`.
#[derive(
    Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS,
)]
#[serde(deny_unknown_fields)]
pub struct PingFrame {
    #[serde(rename = "type", default, skip_serializing)]
    #[schemars(skip)]
    #[ts(skip)]
    pub _type: TypeTag,
    #[serde(
        default,
        deserialize_with = "optional_request_id",
        skip_serializing_if = "Option::is_none"
    )]
    #[ts(optional)]
    pub id: Option<String>,
}

/// `typing`: the user started (or goes on) writing in a room, or stopped. Ephemeral: no
/// position, never stored or replayed. While writing, a client repeats `start` every
/// `ready.typing_renew_ms`; without a renewal the room is told `stop` after
/// `ready.typing_timeout_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct TypingFrame {
    #[serde(rename = "type", default, skip_serializing)]
    #[schemars(skip)]
    #[ts(skip)]
    pub _type: TypeTag,
    pub room: RoomId,
    pub state: TypingState,
}

/// Whether someone is writing.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum TypingState {
    Start,
    Stop,
}

/// `presence`: whether the person is using this client (`active`) or it sits unused
/// (`idle`: hidden, or no input for a while). A user whose every socket is idle is `away`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct PresenceFrame {
    #[serde(rename = "type", default, skip_serializing)]
    #[schemars(skip)]
    #[ts(skip)]
    pub _type: TypeTag,
    pub status: ClientActivity,
}

/// What a client says of itself.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum ClientActivity {
    Active,
    Idle,
}

/// `presence.subscribe`: the socket follows exactly these users from now on (up to 500;
/// an empty list follows nobody). Answered with a `presence` frame of their current
/// presence; changes follow, at most one `presence` frame per second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct PresenceSubscribeFrame {
    #[serde(rename = "type", default, skip_serializing)]
    #[schemars(skip)]
    #[ts(skip)]
    pub _type: TypeTag,
    #[serde(deserialize_with = "presence_users")]
    pub user_ids: Vec<UserId>,
}

/// `edit`: the new content of one's own message; answered with `done` (the message as
/// it now is), the room hears `message.edited`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct EditFrame {
    #[serde(rename = "type", default, skip_serializing)]
    #[schemars(skip)]
    #[ts(skip)]
    pub _type: TypeTag,
    #[serde(deserialize_with = "request_id")]
    pub id: String,
    pub message_id: MessageId,
    /// The same rules as a send's content.
    pub content: String,
}

/// `delete`: answered with `done` (the tombstone), the room hears `message.deleted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct DeleteFrame {
    #[serde(rename = "type", default, skip_serializing)]
    #[schemars(skip)]
    #[ts(skip)]
    pub _type: TypeTag,
    #[serde(deserialize_with = "request_id")]
    pub id: String,
    pub message_id: MessageId,
}

/// `react` and `unreact`: answered with `done`; the room hears `reaction.added` /
/// `reaction.removed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct ReactFrame {
    #[serde(rename = "type", default, skip_serializing)]
    #[schemars(skip)]
    #[ts(skip)]
    pub _type: TypeTag,
    #[serde(deserialize_with = "request_id")]
    pub id: String,
    pub message_id: MessageId,
    pub emoji: String,
}

/// `read`: moves the user's read position forward (a position before the current one
/// changes nothing); the user's sockets, this one included, get `read`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct ReadFrame {
    #[serde(rename = "type", default, skip_serializing)]
    #[schemars(skip)]
    #[ts(skip)]
    pub _type: TypeTag,
    pub room: RoomId,
    #[serde(flatten)]
    pub position: Position,
}

/// `search`: the query of `GET /api/search/messages`, with a request id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct SearchFrame {
    #[serde(rename = "type", default, skip_serializing)]
    #[schemars(skip)]
    #[ts(skip)]
    pub _type: TypeTag,
    #[serde(deserialize_with = "request_id")]
    pub id: String,
    #[serde(flatten)]
    pub query: crate::search::SearchQuery,
}

fn presence_users<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<UserId>, D::Error> {
    let users = Vec::<UserId>::deserialize(deserializer)?;
    if users.len() > crate::presence::MAX_PRESENCE_USERS {
        return Err(serde::de::Error::custom(format!(
            "at most {} users",
            crate::presence::MAX_PRESENCE_USERS
        )));
    }
    Ok(users)
}

impl TypingFrame {
    pub fn new(room: RoomId, state: TypingState) -> Self {
        Self {
            _type: TypeTag,
            room,
            state,
        }
    }
}

impl SendFrame {
    pub fn new(room: RoomId, client_msg_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            _type: TypeTag,
            room,
            client_msg_id: client_msg_id.into(),
            content: content.into(),
            reply_to: None,
            thread_root: None,
            attachments: Vec::new(),
        }
    }
}

impl RoomRequest {
    pub fn new(id: impl Into<String>, room: RoomId) -> Self {
        Self {
            _type: TypeTag,
            id: id.into(),
            room,
        }
    }
}

impl ClientFrame {
    /// The JSON text of the frame.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("client frames always serialize")
    }
}

/// The `type` field of a client frame, already looked at by [`parse`]; the enum around
/// the frame writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TypeTag;

impl<'de> Deserialize<'de> for TypeTag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| TypeTag)
    }
}

impl Serialize for TypeTag {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
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

/// A bound of a history page: `"<epoch>:<position>"`, or a bare position (a string or a
/// number) meaning the room's current epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, schemars::JsonSchema, ts_rs::TS)]
#[schemars(with = "String")]
#[ts(type = "string | number")]
pub struct HistoryCursor {
    pub epoch: Option<u64>,
    pub seq: u64,
}

impl HistoryCursor {
    /// The cursor of an exact position.
    pub fn at(position: Position) -> Self {
        Self {
            epoch: Some(position.epoch),
            seq: position.seq,
        }
    }
}

impl std::str::FromStr for HistoryCursor {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((epoch, seq)) => Ok(Self {
                epoch: Some(cursor_number(epoch)?),
                seq: cursor_number(seq)?,
            }),
            None => Ok(Self {
                epoch: None,
                seq: cursor_number(s)?,
            }),
        }
    }
}

impl std::fmt::Display for HistoryCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.epoch {
            Some(epoch) => write!(f, "{epoch}:{}", self.seq),
            None => write!(f, "{}", self.seq),
        }
    }
}

impl Serialize for HistoryCursor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HistoryCursor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer).map_err(|_| serde::de::Error::custom(CURSOR_SHAPE))? {
            Raw::Number(seq) if seq <= MAX_CURSOR_NUMBER => Ok(Self { epoch: None, seq }),
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

/// Why a client frame was refused: what the `error` frame says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
    /// The request the error answers (`client_msg_id` of a `send`, `id` of others), when
    /// it could be read.
    pub reference: Option<String>,
    pub fields: Option<BTreeMap<String, String>>,
    /// The frame's `type`, when it had a known one.
    pub kind: Option<&'static str>,
}

impl FrameError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            reference: None,
            fields: None,
            kind: None,
        }
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

/// Every `type` a client frame may have.
pub const FRAME_TYPES: [&str; 16] = [
    "auth",
    "send",
    "history",
    "join",
    "leave",
    "ping",
    "typing",
    "presence",
    "presence.subscribe",
    "edit",
    "delete",
    "react",
    "unreact",
    "read",
    "search",
    "focus",
];

/// Parses one text frame.
pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
    if !text.trim_start().starts_with('{') {
        return Err(FrameError::new(
            ErrorCode::MalformedFrame,
            "a frame must be a JSON object",
        ));
    }
    let probe: Probe = match serde_json::from_str(text) {
        Ok(probe) => probe,
        // An object, but with a key twice: which one is meant cannot be told.
        Err(err) if err.is_data() && err.to_string().starts_with("duplicate field `") => {
            let message = crate::input::without_position(&err.to_string());
            let field = crate::input::field_of(".", &message.replace("duplicate", "unknown"))
                .unwrap_or_else(|| "type".to_owned());
            return Err(FrameError {
                fields: Some(BTreeMap::from([(field, message.clone())])),
                ..FrameError::new(ErrorCode::InvalidFrame, message)
            });
        }
        Err(err) if err.is_data() => {
            return Err(FrameError::new(
                ErrorCode::MalformedFrame,
                "a frame must be a JSON object",
            ));
        }
        Err(err) => {
            return Err(FrameError::new(
                ErrorCode::MalformedFrame,
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
                ErrorCode::UnknownType,
                "`type` must be a string",
            )));
        }
        None => {
            return Err(with_reference(FrameError::new(
                ErrorCode::UnknownType,
                "the frame has no `type`",
            )));
        }
    };
    let Some(known) = FRAME_TYPES.iter().find(|known| **known == kind) else {
        return Err(with_reference(FrameError::new(
            ErrorCode::UnknownType,
            format!(
                "unknown frame type `{}`",
                kind.chars().take(64).collect::<String>()
            ),
        )));
    };
    if let Some(path) = crate::input::nul_in(text.as_bytes()) {
        let message = crate::input::NUL_MESSAGE;
        let field = crate::input::field_of(&path, message).unwrap_or_else(|| "type".to_owned());
        let mut err = FrameError {
            fields: Some(BTreeMap::from([(field.clone(), message.to_owned())])),
            ..FrameError::new(ErrorCode::InvalidFrame, format!("`{field}` {message}"))
        };
        err.kind = Some(known);
        return Err(with_reference(err));
    }
    let frame = match *known {
        "auth" => decode(text).map(ClientFrame::Auth),
        "send" => decode(text).map(ClientFrame::Send),
        "history" => decode(text).map(ClientFrame::History),
        "join" => decode(text).map(ClientFrame::Join),
        "leave" => decode(text).map(ClientFrame::Leave),
        "typing" => decode(text).map(ClientFrame::Typing),
        "presence" => decode(text).map(ClientFrame::Presence),
        "presence.subscribe" => decode(text).map(ClientFrame::PresenceSubscribe),
        "edit" => decode(text).map(ClientFrame::Edit),
        "delete" => decode(text).map(ClientFrame::Delete),
        "react" => decode(text).map(ClientFrame::React),
        "unreact" => decode(text).map(ClientFrame::Unreact),
        "read" => decode(text).map(ClientFrame::Read),
        "search" => decode(text).map(ClientFrame::Search),
        "focus" => decode(text).map(ClientFrame::Focus),
        _ => decode(text).map(ClientFrame::Ping),
    };
    frame.map_err(|mut err| {
        err.kind = Some(known);
        with_reference(err)
    })
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T, FrameError> {
    // Nearly every frame is well-formed: it is read without tracking where the reader is
    // (which keeps every key it passes), and read again with the path only to say where
    // a bad one went wrong. Both readings accept the same frames.
    if let Ok(frame) = serde_json::from_str(text) {
        return Ok(frame);
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        let message = crate::input::without_position(&inner);
        // A frame's own shape is its `type`'s when nothing narrower is named.
        let field = crate::input::field_of(&path, &message).unwrap_or_else(|| "type".to_owned());
        FrameError {
            fields: Some(BTreeMap::from([(field, message.clone())])),
            ..FrameError::new(ErrorCode::InvalidFrame, message)
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn error_of(text: &str) -> FrameError {
        parse(text).expect_err(text)
    }

    fn room() -> RoomId {
        RoomId::new()
    }

    #[test]
    fn cursors_beyond_what_history_stores_are_refused() {
        let max = i64::MAX as u64;
        assert_eq!(
            format!("{max}:{max}").parse::<HistoryCursor>(),
            Ok(HistoryCursor {
                epoch: Some(max),
                seq: max
            })
        );
        for bad in [
            format!("{}", max + 1),
            format!("1:{}", max + 1),
            format!("{}:1", max + 1),
        ] {
            assert!(bad.parse::<HistoryCursor>().is_err(), "{bad}");
        }
        let error = error_of(
            &json!({"type": "history", "id": "h", "room": room(), "before": max + 1}).to_string(),
        );
        assert_eq!(error.code, ErrorCode::InvalidFrame, "{error:?}");
    }

    #[test]
    fn a_key_given_twice_is_an_invalid_frame() {
        let error = error_of(r#"{"type": "ping", "type": "send", "id": "p"}"#);
        assert_eq!(error.code, ErrorCode::InvalidFrame, "{error:?}");
        assert!(error.fields.unwrap().contains_key("type"));
    }

    #[test]
    fn a_nul_character_in_any_field_is_an_invalid_frame_naming_it() {
        let error = error_of(&json!({"type": "search", "id": "s1", "q": "a\u{0}b"}).to_string());
        assert_eq!(error.code, ErrorCode::InvalidFrame);
        assert_eq!(error.reference.as_deref(), Some("s1"));
        assert!(error.fields.unwrap().contains_key("q"));
    }

    #[test]
    fn every_client_frame_parses_and_writes_back() {
        let room = room();
        let frames = [
            json!({"type": "auth", "token": "t", "resume": {room.to_string(): {"epoch": 5, "position": 7}}}),
            json!({"type": "auth"}),
            json!({"type": "send", "room": room, "client_msg_id": "c1", "content": "hi"}),
            json!({"type": "history", "id": "h", "room": room, "before": "5:7", "limit": 10}),
            json!({"type": "history", "id": "h", "room": room, "after": "3"}),
            json!({"type": "join", "id": "j", "room": room}),
            json!({"type": "leave", "id": "l", "room": room}),
            json!({"type": "ping"}),
            json!({"type": "ping", "id": "p"}),
        ];
        for frame in frames {
            let parsed = parse(&frame.to_string()).unwrap_or_else(|err| panic!("{frame}: {err:?}"));
            let written: serde_json::Value = serde_json::from_str(&parsed.to_text()).unwrap();
            assert_eq!(written, frame);
        }
        parse(&json!({"type": "send", "room": room, "client_msg_id": "c1", "content": "hi", "reply_to": null}).to_string()).unwrap();
        let Ok(ClientFrame::History(history)) = parse(
            &json!({"type": "history", "id": "h", "room": room, "before": "5:7"}).to_string(),
        ) else {
            panic!("history");
        };
        assert_eq!(history.before, Some(HistoryCursor::at(Position::new(5, 7))));
    }

    #[test]
    fn bad_frames_get_the_documented_codes() {
        let room = room();
        assert_eq!(error_of("not json").code, ErrorCode::MalformedFrame);
        assert_eq!(error_of("[1,2]").code, ErrorCode::MalformedFrame);
        assert_eq!(error_of("\"text\"").code, ErrorCode::MalformedFrame);
        assert_eq!(error_of("{}").code, ErrorCode::UnknownType);
        assert_eq!(error_of(r#"{"type": 5}"#).code, ErrorCode::UnknownType);
        assert_eq!(
            error_of(r#"{"type": "dance"}"#).code,
            ErrorCode::UnknownType
        );

        let missing = error_of(&json!({"type": "send", "room": room, "content": "x"}).to_string());
        assert_eq!(missing.code, ErrorCode::InvalidFrame);
        assert_eq!(missing.kind, Some("send"));
        assert!(missing.fields.unwrap().contains_key("client_msg_id"));

        let unknown = error_of(
            &json!({"type": "send", "room": room, "client_msg_id": "c9", "content": "x", "colour": 1})
                .to_string(),
        );
        assert_eq!(unknown.code, ErrorCode::InvalidFrame);
        assert_eq!(unknown.reference.as_deref(), Some("c9"));
        assert!(unknown.fields.unwrap().contains_key("colour"));

        let bad_room = error_of(&json!({"type": "join", "id": "j", "room": "nope"}).to_string());
        assert_eq!(bad_room.code, ErrorCode::InvalidFrame);
        assert_eq!(bad_room.reference.as_deref(), Some("j"));
        assert!(bad_room.fields.unwrap().contains_key("room"));

        let bad_resume = error_of(
            &json!({"type": "auth", "resume": {room.to_string(): {"epoch": 1}}}).to_string(),
        );
        assert_eq!(bad_resume.kind, Some("auth"));
        assert!(
            bad_resume
                .fields
                .unwrap()
                .keys()
                .any(|field| field.ends_with("position"))
        );
        let bad_resume_room = error_of(
            &json!({"type": "auth", "resume": {"nope": {"epoch": 1, "position": 2}}}).to_string(),
        );
        assert_eq!(bad_resume_room.code, ErrorCode::InvalidFrame);
        assert!(
            bad_resume_room
                .fields
                .unwrap()
                .keys()
                .any(|field| field.starts_with("resume"))
        );

        let bad_cursor = error_of(
            &json!({"type": "history", "id": "h", "room": room, "before": "x:y"}).to_string(),
        );
        assert!(bad_cursor.fields.unwrap().contains_key("before"));
    }
}
