//! The frames of the client protocol (`docs/protocol.md`) that simulated users speak,
//! as `chat-protocol` declares them: the two they send (`auth`, `send`), and what they
//! need from the server's.
//!
//! Server frames are read leniently: a frame of a type the protocol does not know (yet)
//! is kept as [`ServerFrame::Other`], and unknown fields are ignored, since a load tool
//! must not fall over when the server grows. A frame of a known type that does not have
//! the protocol's shape is an error.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use chat_protocol::client::{AuthFrame, SendFrame};
use chat_protocol::server as wire;
use chat_protocol::{ClientFrame, ErrorCode, Position, RoomId};
use serde::Deserialize;

use crate::accounting::MessageTag;

/// `auth`: the token and the positions to resume from.
pub fn auth_frame(token: &str, resume: &[(RoomId, Position)]) -> String {
    ClientFrame::Auth(AuthFrame {
        token: Some(token.to_owned()),
        resume: (!resume.is_empty()).then(|| resume.iter().copied().collect()),
        ..AuthFrame::default()
    })
    .to_text()
}

/// `send`: a chat message.
pub fn send_frame(
    room: RoomId,
    client_msg_id: impl Into<String>,
    content: impl Into<String>,
) -> String {
    ClientFrame::Send(SendFrame::new(room, client_msg_id, content)).to_text()
}

/// What a simulated user needs from a server frame (a digest of
/// [`chat_protocol::ServerFrame`], not a declaration of the wire).
#[derive(Debug, Clone, PartialEq)]
pub enum ServerFrame {
    /// `ready`: the user's rooms and where each stands.
    Ready {
        rooms: Vec<(RoomId, Position)>,
        /// How often the server pings (`heartbeat_interval_ms`).
        heartbeat: Duration,
    },
    /// `ack` of a send.
    Ack {
        client_msg_id: String,
        room: RoomId,
        position: Position,
    },
    /// A room entry (`message.created`, `member.joined`, ...). `tag` is set for this
    /// run's messages.
    Event {
        room: RoomId,
        position: Position,
        kind: String,
        tag: Option<MessageTag>,
    },
    Resumed {
        room: RoomId,
    },
    Resync {
        room: RoomId,
        position: Position,
    },
    RoomAdded {
        room: RoomId,
        position: Position,
    },
    RoomRemoved {
        room: RoomId,
    },
    Error {
        code: ErrorCode,
        reference: Option<String>,
        retry_after_ms: Option<u64>,
    },
    /// The gateway is going away: reconnect elsewhere and resume.
    Reconnect,
    /// Anything else (`pong`, `auth.renewed`, `history`, frames of unknown types).
    Other {
        kind: String,
    },
}

impl ServerFrame {
    /// The digest of a frame of type `kind`; `run` picks out this run's message tags.
    fn digest(run: &str, kind: Cow<'_, str>, frame: wire::ServerFrame) -> Self {
        if let Some((room, position)) = frame.entry() {
            let tag = match &frame {
                wire::ServerFrame::MessageCreated(created) => {
                    MessageTag::parse(run, &created.body.message.content)
                }
                _ => None,
            };
            return Self::Event {
                room,
                position,
                kind: kind.into_owned(),
                tag,
            };
        }
        match frame {
            wire::ServerFrame::Ready(ready) => Self::Ready {
                rooms: ready
                    .rooms
                    .iter()
                    .map(|room| (room.id, room.position))
                    .collect(),
                heartbeat: Duration::from_millis(ready.heartbeat_interval_ms),
            },
            wire::ServerFrame::Ack(ack) => Self::Ack {
                client_msg_id: ack.client_msg_id,
                room: ack.room,
                position: ack.position,
            },
            wire::ServerFrame::Resumed(resumed) => Self::Resumed { room: resumed.room },
            wire::ServerFrame::Resync(resync) => Self::Resync {
                room: resync.room,
                position: resync.position,
            },
            wire::ServerFrame::RoomAdded(added) => Self::RoomAdded {
                room: added.room,
                position: added.position,
            },
            wire::ServerFrame::RoomRemoved(removed) => Self::RoomRemoved { room: removed.room },
            wire::ServerFrame::Error(error) => Self::Error {
                code: error.code,
                reference: error.reference,
                retry_after_ms: error.retry_after_ms,
            },
            wire::ServerFrame::Reconnect(_) => Self::Reconnect,
            _ => Self::Other {
                kind: kind.into_owned(),
            },
        }
    }
}

/// Why a server frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("not a frame: {0}")]
    Json(serde_json::Error),
    #[error("`{kind}` frame not of the protocol's shape: {error}")]
    Invalid {
        kind: String,
        error: serde_json::Error,
    },
}

/// The `type` of a frame, and nothing else.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

/// Reads one server text frame; `run` picks out this run's message tags.
pub fn parse(run: &str, text: &str) -> Result<ServerFrame, FrameError> {
    let Probe { kind } = serde_json::from_str(text).map_err(FrameError::Json)?;
    match serde_json::from_str::<wire::ServerFrame>(text) {
        Ok(frame) => Ok(ServerFrame::digest(run, kind, frame)),
        Err(error) if is_known_type(&kind) => Err(FrameError::Invalid {
            kind: kind.into_owned(),
            error,
        }),
        Err(_) => Ok(ServerFrame::Other {
            kind: kind.into_owned(),
        }),
    }
}

/// Whether some frame of [`chat_protocol::ServerFrame`] has the type `kind`. Serde knows
/// the types: a bare `{"type": kind}` is refused as an unknown variant only when no
/// frame has that type (a known type is refused for its missing fields, or not at all).
fn is_known_type(kind: &str) -> bool {
    /// What serde refused the bare frame for.
    #[derive(Debug)]
    struct Refusal {
        unknown_type: bool,
    }

    impl fmt::Display for Refusal {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(if self.unknown_type {
                "unknown type"
            } else {
                "not a frame"
            })
        }
    }

    impl std::error::Error for Refusal {}

    impl serde::de::Error for Refusal {
        fn custom<T: fmt::Display>(_: T) -> Self {
            Self {
                unknown_type: false,
            }
        }

        fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
            Self { unknown_type: true }
        }
    }

    let bare =
        serde::de::value::MapDeserializer::<_, Refusal>::new(std::iter::once(("type", kind)));
    !matches!(
        wire::ServerFrame::deserialize(bare),
        Err(Refusal { unknown_type: true })
    )
}

#[cfg(test)]
mod tests {
    use chat_protocol::{MessageId, UserId};
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn auth_frames_carry_resume_positions_only_when_there_are_some() {
        let room = RoomId::new();
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
        let room = RoomId::new();
        let frame: Value = serde_json::from_str(&send_frame(room, "m-1", "hi")).expect("json");
        assert_eq!(
            frame,
            json!({"type": "send", "room": room.to_string(), "client_msg_id": "m-1", "content": "hi"})
        );
    }

    #[test]
    fn the_gateway_accepts_the_frames_sent() {
        let room = RoomId::new();
        for text in [
            auth_frame("t", &[(room, Position::new(3, 9))]),
            send_frame(room, "m-1", "hi"),
        ] {
            let parsed = chat_protocol::client::parse(&text).expect("a valid client frame");
            assert_eq!(parsed.to_text(), text);
        }
    }

    /// A live `message.created`, as the gateway writes it.
    fn message_created(room: RoomId, position: u64, content: &str) -> Value {
        let id = MessageId::new();
        json!({"type": "message.created", "room": room, "epoch": 5, "position": position,
            "id": id, "at": "2026-01-01T00:00:00.000Z",
            "message": {"id": id, "room_id": room, "sender_id": UserId::new(),
                "client_msg_id": "c", "content": content, "reply_to": null, "kind": "text",
                "sent_at": "2026-01-01T00:00:00.000Z", "edited_at": null, "deleted_at": null,
                "epoch": 5, "position": position}})
    }

    #[test]
    fn server_frames_are_read() {
        let room = RoomId::new();
        let tag = MessageTag {
            sender: 4,
            seq: 2,
            sent_at_nanos: 123,
        };
        let ready = json!({"type": "ready", "protocol": 1, "connection_id": uuid::Uuid::new_v4(),
            "user": {"id": UserId::new()}, "heartbeat_interval_ms": 20000, "typing_renew_ms": 3000, "typing_timeout_ms": 6000, "presence_interval_ms": 1000,
            "limits": {"max_content_chars": 4000, "max_frame_bytes": 65536, "sends_per_second": 20},
            "rooms": [{"id": room, "kind": "public", "epoch": 5, "position": 45}]});
        assert_eq!(
            parse("r", &ready.to_string()).expect("ready"),
            ServerFrame::Ready {
                rooms: vec![(room, Position::new(5, 45))],
                heartbeat: Duration::from_secs(20),
            }
        );

        let created = message_created(room, 46, &tag.content("r", 60));
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
            "id": "e", "at": null, "user_id": UserId::new(), "actor_id": UserId::new()});
        assert!(matches!(
            parse("r", &joined.to_string()).expect("event"),
            ServerFrame::Event { tag: None, .. }
        ));

        let ack = json!({"type": "ack", "client_msg_id": "c-1", "id": MessageId::new(), "room": room,
            "epoch": 5, "position": 46, "sent_at": "2026-01-01T00:00:00.000Z", "duplicate": false});
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
                code: ErrorCode::RateLimited,
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

    #[test]
    fn frames_of_unknown_types_are_kept_and_known_ones_must_have_their_shape() {
        let room = RoomId::new();
        let future = json!({"type": "typing.started", "room": room, "epoch": 5, "position": 9,
            "user_id": UserId::new()});
        assert_eq!(
            parse("r", &future.to_string()).expect("future frame"),
            ServerFrame::Other {
                kind: "typing.started".to_owned()
            }
        );
        assert!(
            parse("r", r#"{"room": 1}"#).is_err(),
            "a frame without a type"
        );

        let mut grown = message_created(room, 7, "hello");
        grown["reactions"] = json!([]);
        grown["message"]["pinned_by"] = json!({"user": 0});
        assert_eq!(
            parse("r", &grown.to_string()).expect("unknown fields are ignored"),
            ServerFrame::Event {
                room,
                position: Position::new(5, 7),
                kind: "message.created".to_owned(),
                tag: None
            }
        );

        let mut broken = message_created(room, 7, "hello");
        broken["message"]["sender_id"] = json!("nobody");
        assert!(matches!(
            parse("r", &broken.to_string()),
            Err(FrameError::Invalid { kind, .. }) if kind == "message.created"
        ));

        for known in [
            "ready",
            "ack",
            "pong",
            "message.created",
            "member.joined",
            "room.removed",
        ] {
            assert!(is_known_type(known), "{known}");
        }
        for unknown in ["typing.started", "", "Ack", "message"] {
            assert!(!is_known_type(unknown), "{unknown}");
        }
    }
}
