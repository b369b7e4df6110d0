//! The frames of the client protocol (`docs/protocol.md`) that simulated users speak:
//! the two they send (`auth`, `send`) and what they need from the server's.
//!
//! Server frames are read leniently (unknown types and fields are kept as
//! [`ServerFrame::Other`]), since a load tool must not fall over when the server grows.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::accounting::{MessageTag, Position};

/// `auth`: the token and the positions to resume from.
pub fn auth_frame(token: &str, resume: &[(Uuid, Position)]) -> String {
    #[derive(Serialize)]
    struct Auth<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        token: &'a str,
        #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
        resume: serde_json::Map<String, serde_json::Value>,
    }
    let resume = resume
        .iter()
        .map(|(room, at)| {
            (
                room.to_string(),
                serde_json::json!({"epoch": at.epoch, "position": at.position}),
            )
        })
        .collect();
    serde_json::to_string(&Auth {
        kind: "auth",
        token,
        resume,
    })
    .expect("auth frames serialize")
}

/// `send`: a chat message.
pub fn send_frame(room: Uuid, client_msg_id: &str, content: &str) -> String {
    #[derive(Serialize)]
    struct Send<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        room: Uuid,
        client_msg_id: &'a str,
        content: &'a str,
    }
    serde_json::to_string(&Send {
        kind: "send",
        room,
        client_msg_id,
        content,
    })
    .expect("send frames serialize")
}

/// What a simulated user needs from a server frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerFrame {
    /// `ready`: the user's rooms and where each stands.
    Ready {
        rooms: Vec<(Uuid, Position)>,
    },
    /// `ack` of a send.
    Ack {
        client_msg_id: String,
        room: Uuid,
        position: Position,
    },
    /// A room event (`message.created`, `member.joined`, ...). `tag` is set for this
    /// run's messages.
    Event {
        room: Uuid,
        position: Position,
        kind: String,
        tag: Option<MessageTag>,
    },
    Resumed {
        room: Uuid,
    },
    Resync {
        room: Uuid,
        position: Position,
    },
    RoomAdded {
        room: Uuid,
        position: Position,
    },
    RoomRemoved {
        room: Uuid,
    },
    Error {
        code: String,
        reference: Option<String>,
        retry_after_ms: Option<u64>,
    },
    /// The gateway is going away: reconnect elsewhere and resume.
    Reconnect,
    /// Anything else (`pong`, `auth.renewed`, `history`, future frames).
    Other {
        kind: String,
    },
}

/// Every field any frame the tool reads may carry.
#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    room: Option<Uuid>,
    epoch: Option<u64>,
    position: Option<u64>,
    #[serde(borrow)]
    client_msg_id: Option<Cow<'a, str>>,
    message: Option<RawMessage>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(rename = "ref", borrow)]
    reference: Option<Cow<'a, str>>,
    retry_after_ms: Option<u64>,
    rooms: Option<Vec<RawRoom>>,
}

/// `message`: an object with `content` in room events, a string in `error` frames.
struct RawMessage {
    content: Option<String>,
}

impl<'de> Deserialize<'de> for RawMessage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawMessage;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a message object or an error message")
            }

            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<RawMessage, E> {
                Ok(RawMessage { content: None })
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawMessage, A::Error> {
                let mut content = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "content" {
                        content = map.next_value::<Option<String>>()?;
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(RawMessage { content })
            }
        }

        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Deserialize)]
struct RawRoom {
    id: Uuid,
    epoch: u64,
    position: u64,
}

/// Why a server frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("not a frame: {0}")]
    Json(serde_json::Error),
    #[error("`{1}` frame without `{0}`")]
    Missing(&'static str, String),
}

/// Reads one server text frame; `run` picks out this run's message tags.
pub fn parse(run: &str, text: &str) -> Result<ServerFrame, FrameError> {
    let raw: Raw<'_> = serde_json::from_str(text).map_err(FrameError::Json)?;
    let kind = raw.kind.as_ref();
    let missing = |field: &'static str| FrameError::Missing(field, kind.to_owned());
    let room = || raw.room.ok_or_else(|| missing("room"));
    let position = || match (raw.epoch, raw.position) {
        (Some(epoch), Some(position)) => Ok(Position::new(epoch, position)),
        _ => Err(missing("position")),
    };
    Ok(match kind {
        "ready" => ServerFrame::Ready {
            rooms: raw
                .rooms
                .ok_or_else(|| missing("rooms"))?
                .into_iter()
                .map(|r| (r.id, Position::new(r.epoch, r.position)))
                .collect(),
        },
        "ack" => ServerFrame::Ack {
            client_msg_id: raw
                .client_msg_id
                .as_deref()
                .ok_or_else(|| missing("client_msg_id"))?
                .to_owned(),
            room: room()?,
            position: position()?,
        },
        "resumed" => ServerFrame::Resumed { room: room()? },
        "resync" => ServerFrame::Resync {
            room: room()?,
            position: position()?,
        },
        "room.added" => ServerFrame::RoomAdded {
            room: room()?,
            position: position()?,
        },
        "room.removed" => ServerFrame::RoomRemoved { room: room()? },
        "error" => ServerFrame::Error {
            code: raw.code.as_deref().unwrap_or("unknown").to_owned(),
            reference: raw.reference.map(Cow::into_owned),
            retry_after_ms: raw.retry_after_ms,
        },
        "reconnect" => ServerFrame::Reconnect,
        _ if raw.room.is_some() && raw.epoch.is_some() && raw.position.is_some() => {
            let tag = raw
                .message
                .as_ref()
                .and_then(|message| message.content.as_deref())
                .and_then(|content| MessageTag::parse(run, content));
            ServerFrame::Event {
                room: room()?,
                position: position()?,
                kind: kind.to_owned(),
                tag,
            }
        }
        _ => ServerFrame::Other {
            kind: kind.to_owned(),
        },
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn auth_frames_carry_resume_positions_only_when_there_are_some() {
        let room = Uuid::new_v4();
        let plain: Value = serde_json::from_str(&auth_frame("t", &[])).expect("json");
        assert_eq!(plain, json!({"type": "auth", "token": "t"}));

        let resuming: Value =
            serde_json::from_str(&auth_frame("t", &[(room, Position::new(3, 9))])).expect("json");
        assert_eq!(
            resuming,
            json!({"type": "auth", "token": "t", "resume": {room.to_string(): {"epoch": 3, "position": 9}}})
        );
    }

    #[test]
    fn send_frames_match_the_protocol() {
        let room = Uuid::new_v4();
        let frame: Value = serde_json::from_str(&send_frame(room, "m-1", "hi")).expect("json");
        assert_eq!(
            frame,
            json!({"type": "send", "room": room.to_string(), "client_msg_id": "m-1", "content": "hi"})
        );
    }

    #[test]
    fn server_frames_are_read() {
        let room = Uuid::new_v4();
        let tag = MessageTag {
            sender: 4,
            seq: 2,
            sent_at_nanos: 123,
        };
        let ready = json!({"type": "ready", "protocol": 1, "connection_id": Uuid::new_v4(),
            "user": {"id": "u"}, "heartbeat_interval_ms": 20000,
            "limits": {"max_content_chars": 4000, "max_frame_bytes": 65536, "sends_per_second": 20},
            "rooms": [{"id": room, "kind": "public", "epoch": 5, "position": 45}]});
        assert_eq!(
            parse("r", &ready.to_string()).expect("ready"),
            ServerFrame::Ready {
                rooms: vec![(room, Position::new(5, 45))]
            }
        );

        let created = json!({"type": "message.created", "room": room, "epoch": 5, "position": 46,
            "id": "e", "at": "2026-01-01T00:00:00Z",
            "message": {"id": "m", "room": room, "sender_id": "s", "client_msg_id": "c",
                "content": tag.content("r", 60), "reply_to": null, "kind": "text", "sent_at": null}});
        assert_eq!(
            parse("r", &created.to_string()).expect("event"),
            ServerFrame::Event {
                room,
                position: Position::new(5, 46),
                kind: "message.created".to_owned(),
                tag: Some(tag)
            }
        );

        let joined = json!({"type": "member.joined", "room": room, "epoch": 5, "position": 47,
            "id": "e", "at": null, "user_id": "u", "actor_id": "u"});
        assert!(matches!(
            parse("r", &joined.to_string()).expect("event"),
            ServerFrame::Event { tag: None, .. }
        ));

        let ack = json!({"type": "ack", "client_msg_id": "c-1", "id": "m", "room": room,
            "epoch": 5, "position": 46, "sent_at": "x", "duplicate": false});
        assert_eq!(
            parse("r", &ack.to_string()).expect("ack"),
            ServerFrame::Ack {
                client_msg_id: "c-1".to_owned(),
                room,
                position: Position::new(5, 46)
            }
        );

        let error = json!({"type": "error", "code": "rate_limited", "message": "slow down",
            "ref": "c-2", "retry_after_ms": 50});
        assert_eq!(
            parse("r", &error.to_string()).expect("error"),
            ServerFrame::Error {
                code: "rate_limited".to_owned(),
                reference: Some("c-2".to_owned()),
                retry_after_ms: Some(50)
            }
        );

        let resync = json!({"type": "resync", "room": room, "epoch": 6, "position": 0, "reason": "epoch_changed"});
        assert_eq!(
            parse("r", &resync.to_string()).expect("resync"),
            ServerFrame::Resync {
                room,
                position: Position::new(6, 0)
            }
        );
        assert_eq!(
            parse("r", r#"{"type":"pong"}"#).expect("pong"),
            ServerFrame::Other {
                kind: "pong".to_owned()
            }
        );
        assert!(parse("r", "not json").is_err());
        assert!(parse("r", r#"{"type":"ack"}"#).is_err());
    }
}
