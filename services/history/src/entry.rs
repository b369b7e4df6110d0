//! One entry of a room's sequence as the store keeps it, read out of a `RoomEnvelope`.
//!
//! Everything a row needs is checked here, before any SQL runs: a payload that cannot
//! become a row (bad protobuf, a malformed UUID, a missing field, a position out of range)
//! is refused with the reason, so the consumer can dead-letter it and carry on.

use chat_proto::v1::{MessageKind, RoomEnvelope, RoomEventKind, RoomItem, room_item};
use prost::Message as _;
use time::OffsetDateTime;
use uuid::Uuid;

/// A position in a room's sequence: `seq` is dense within one `epoch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub epoch: i64,
    pub seq: i64,
}

impl Position {
    /// Reads a wire position; `None` when it does not fit a PostgreSQL `bigint`.
    pub fn from_wire(epoch: u64, seq: u64) -> Option<Self> {
        Some(Self {
            epoch: i64::try_from(epoch).ok()?,
            seq: i64::try_from(seq).ok()?,
        })
    }

    pub fn to_wire(self) -> chat_proto::v1::Position {
        chat_proto::v1::Position {
            epoch: u64::try_from(self.epoch).unwrap_or_default(),
            seq: u64::try_from(self.seq).unwrap_or_default(),
        }
    }
}

/// Why a payload cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Undecodable {
    #[error("not a protobuf {message}: {reason}")]
    Protobuf {
        message: &'static str,
        reason: String,
    },
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("{0} is not a UUID")]
    InvalidUuid(&'static str),
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    #[error("{0} contradicts the envelope")]
    Mismatch(&'static str),
    #[error("{0} holds a NUL character")]
    NulCharacter(&'static str),
}

/// What an entry does to the `messages` table.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A new message.
    Message(NewMessage),
    /// A message's content replaced.
    Edited(Edit),
    /// A message deleted.
    Deleted(Deletion),
    /// A reaction added or removed.
    Reaction(ReactionChange),
    /// A membership or room change: kept in the sequence; a user it makes a member
    /// has read the room up to it.
    RoomEvent(Option<Uuid>),
}

impl Effect {
    /// The `room_entries.kind` of the entry.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Message(_) => "message",
            Self::Edited(_) => "message_edited",
            Self::Deleted(_) => "message_deleted",
            Self::Reaction(_) => "reaction",
            Self::RoomEvent(_) => "room_event",
        }
    }

    /// The message an edit or a deletion is about.
    pub fn subject(&self) -> Option<Uuid> {
        match self {
            Self::Edited(edit) => Some(edit.message_id),
            Self::Deleted(deletion) => Some(deletion.message_id),
            Self::Reaction(reaction) => Some(reaction.message_id),
            Self::Message(_) | Self::RoomEvent(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub sender_id: Uuid,
    pub client_msg_id: String,
    pub content: String,
    pub reply_to: Option<Uuid>,
    /// `chat.v1.MessageKind`, unspecified read as text.
    pub kind: i16,
    pub sent_at: OffsetDateTime,
    pub mentions: Vec<Uuid>,
    pub mentions_room: bool,
    pub thread_root: Option<Uuid>,
    /// The encoded `chat.v1.Attachments`, when it carries files.
    pub attachments: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub message_id: Uuid,
    pub content: String,
    pub edited_at: OffsetDateTime,
    pub mentions: Vec<Uuid>,
    pub mentions_room: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReactionChange {
    pub message_id: Uuid,
    /// Who reacted (the entry's actor).
    pub user_id: Uuid,
    pub emoji: String,
    pub added: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deletion {
    pub message_id: Uuid,
    pub deleted_at: OffsetDateTime,
}

/// One entry ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub room_id: Uuid,
    pub position: Position,
    pub id: Uuid,
    pub actor_id: Uuid,
    pub occurred_at: OffsetDateTime,
    /// The encoded `RoomItem`, stored byte for byte as sequenced.
    pub item: Vec<u8>,
    pub effect: Effect,
}

impl Entry {
    /// Reads an encoded `RoomEnvelope` (an AMQP message body).
    pub fn decode(payload: &[u8]) -> Result<Self, Undecodable> {
        let envelope = RoomEnvelope::decode(payload).map_err(|err| Undecodable::Protobuf {
            message: "RoomEnvelope",
            reason: err.to_string(),
        })?;
        Self::from_envelope(envelope)
    }

    /// Reads a decoded envelope, checking every field a row needs.
    pub fn from_envelope(envelope: RoomEnvelope) -> Result<Self, Undecodable> {
        let position = Position::from_wire(envelope.epoch, envelope.seq)
            .ok_or(Undecodable::OutOfRange("epoch/seq"))?;
        if position.epoch == 0 || position.seq == 0 {
            return Err(Undecodable::Missing("epoch/seq"));
        }
        let room_id = uuid("room_id", &envelope.room_id)?;
        let item =
            RoomItem::decode(envelope.item.as_slice()).map_err(|err| Undecodable::Protobuf {
                message: "RoomItem",
                reason: err.to_string(),
            })?;
        same_or_empty("item.room_id", &item.room_id, room_id)?;
        let id = uuid("item.id", &item.id)?;
        let actor_id = uuid("item.actor_id", &item.actor_id)?;
        let occurred_at = timestamp("item.occurred_at", item.occurred_at.as_ref())?;
        let effect = match item.body {
            Some(room_item::Body::Message(message)) => {
                same_or_empty("message.id", &message.id, id)?;
                same_or_empty("message.room_id", &message.room_id, room_id)?;
                if message.client_msg_id.is_empty() {
                    return Err(Undecodable::Missing("message.client_msg_id"));
                }
                let kind = match MessageKind::try_from(message.kind) {
                    Ok(MessageKind::Unspecified) => MessageKind::Text,
                    Ok(kind) => kind,
                    Err(_) => return Err(Undecodable::OutOfRange("message.kind")),
                };
                Effect::Message(NewMessage {
                    sender_id: uuid("message.sender_id", &message.sender_id)?,
                    client_msg_id: text("message.client_msg_id", message.client_msg_id)?,
                    content: text("message.content", message.content)?,
                    reply_to: message
                        .reply_to
                        .as_deref()
                        .map(|reply_to| uuid("message.reply_to", reply_to))
                        .transpose()?,
                    kind: kind as i16,
                    sent_at: optional_timestamp("message.sent_at", message.sent_at.as_ref())?
                        .unwrap_or(occurred_at),
                    mentions: uuids("message.mentions", &message.mentions)?,
                    mentions_room: message.mentions_room,
                    thread_root: message
                        .thread_root
                        .as_deref()
                        .map(|root| uuid("message.thread_root", root))
                        .transpose()?,
                    attachments: (!message.attachments.is_empty()).then(|| {
                        chat_proto::v1::Attachments {
                            files: message.attachments,
                        }
                        .encode_to_vec()
                    }),
                })
            }
            Some(room_item::Body::Edited(edited)) => Effect::Edited(Edit {
                message_id: uuid("edited.message_id", &edited.message_id)?,
                content: text("edited.content", edited.content)?,
                edited_at: optional_timestamp("edited.edited_at", edited.edited_at.as_ref())?
                    .unwrap_or(occurred_at),
                mentions: uuids("edited.mentions", &edited.mentions)?,
                mentions_room: edited.mentions_room,
            }),
            Some(room_item::Body::Deleted(deleted)) => Effect::Deleted(Deletion {
                message_id: uuid("deleted.message_id", &deleted.message_id)?,
                deleted_at: optional_timestamp("deleted.deleted_at", deleted.deleted_at.as_ref())?
                    .unwrap_or(occurred_at),
            }),
            Some(room_item::Body::Reaction(reaction)) => {
                if reaction.emoji.is_empty() {
                    return Err(Undecodable::Missing("reaction.emoji"));
                }
                Effect::Reaction(ReactionChange {
                    message_id: uuid("reaction.message_id", &reaction.message_id)?,
                    user_id: actor_id,
                    emoji: text("reaction.emoji", reaction.emoji)?,
                    added: reaction.added,
                })
            }
            Some(room_item::Body::RoomEvent(event)) => {
                let joins = matches!(
                    event.kind(),
                    RoomEventKind::MemberJoined | RoomEventKind::MemberInvited
                );
                Effect::RoomEvent(if joins {
                    Uuid::parse_str(&event.user_id).ok()
                } else {
                    None
                })
            }
            None => return Err(Undecodable::Missing("item.body")),
        };
        Ok(Self {
            room_id,
            position,
            id,
            actor_id,
            occurred_at,
            item: envelope.item,
            effect,
        })
    }
}

fn uuids(field: &'static str, values: &[String]) -> Result<Vec<Uuid>, Undecodable> {
    values.iter().map(|value| uuid(field, value)).collect()
}

fn uuid(field: &'static str, value: &str) -> Result<Uuid, Undecodable> {
    if value.is_empty() {
        return Err(Undecodable::Missing(field));
    }
    Uuid::parse_str(value).map_err(|_| Undecodable::InvalidUuid(field))
}

/// PostgreSQL `text` cannot hold U+0000, which protobuf strings may carry.
fn text(field: &'static str, value: String) -> Result<String, Undecodable> {
    if value.contains('\0') {
        Err(Undecodable::NulCharacter(field))
    } else {
        Ok(value)
    }
}

/// An inner copy of an id may be left out; when present it must agree.
fn same_or_empty(field: &'static str, value: &str, expected: Uuid) -> Result<(), Undecodable> {
    if value.is_empty() || uuid(field, value)? == expected {
        Ok(())
    } else {
        Err(Undecodable::Mismatch(field))
    }
}

fn timestamp(
    field: &'static str,
    value: Option<&prost_types::Timestamp>,
) -> Result<OffsetDateTime, Undecodable> {
    optional_timestamp(field, value)?.ok_or(Undecodable::Missing(field))
}

fn optional_timestamp(
    field: &'static str,
    value: Option<&prost_types::Timestamp>,
) -> Result<Option<OffsetDateTime>, Undecodable> {
    value
        .map(|ts| from_timestamp(ts).ok_or(Undecodable::OutOfRange(field)))
        .transpose()
}

pub use chat_runtime::time::{from_proto as from_timestamp, to_proto as to_timestamp};

#[cfg(test)]
mod tests {
    use chat_proto::v1::{ChatMessage, MessageEdited};

    use super::*;

    fn envelope(body: room_item::Body) -> RoomEnvelope {
        let room_id = Uuid::now_v7().to_string();
        let item = RoomItem {
            id: Uuid::now_v7().to_string(),
            room_id: room_id.clone(),
            actor_id: Uuid::now_v7().to_string(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            body: Some(body),
        };
        RoomEnvelope {
            epoch: 1,
            seq: 1,
            item: item.encode_to_vec(),
            room_id,
        }
    }

    fn message() -> room_item::Body {
        room_item::Body::Message(ChatMessage {
            sender_id: Uuid::now_v7().to_string(),
            client_msg_id: "c1".into(),
            content: "hello".into(),
            ..Default::default()
        })
    }

    #[test]
    fn a_message_becomes_an_entry_with_defaults_from_the_item() {
        let entry = Entry::from_envelope(envelope(message())).expect("valid");
        let Effect::Message(message) = &entry.effect else {
            panic!("not a message: {:?}", entry.effect)
        };
        assert_eq!(message.kind, MessageKind::Text as i16);
        assert_eq!(message.sent_at, entry.occurred_at);
        assert_eq!(entry.effect.kind(), "message");
    }

    #[test]
    fn malformed_fields_are_named() {
        let mut bad_room = envelope(message());
        bad_room.room_id = "not-a-uuid".into();
        assert_eq!(
            Entry::from_envelope(bad_room),
            Err(Undecodable::InvalidUuid("room_id"))
        );

        let mut no_seq = envelope(message());
        no_seq.seq = 0;
        assert_eq!(
            Entry::from_envelope(no_seq),
            Err(Undecodable::Missing("epoch/seq"))
        );

        let mut too_far = envelope(message());
        too_far.epoch = u64::MAX;
        assert_eq!(
            Entry::from_envelope(too_far),
            Err(Undecodable::OutOfRange("epoch/seq"))
        );

        let edit = envelope(room_item::Body::Edited(MessageEdited {
            message_id: "nope".into(),
            ..Default::default()
        }));
        assert_eq!(
            Entry::from_envelope(edit),
            Err(Undecodable::InvalidUuid("edited.message_id"))
        );

        assert!(matches!(
            Entry::decode(b"\xff\xff\xff"),
            Err(Undecodable::Protobuf { .. })
        ));
    }

    #[test]
    fn an_item_of_another_room_is_refused() {
        let mut other = envelope(message());
        other.room_id = Uuid::now_v7().to_string();
        assert_eq!(
            Entry::from_envelope(other),
            Err(Undecodable::Mismatch("item.room_id"))
        );
    }
}
