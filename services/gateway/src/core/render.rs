//! What the services say (protobuf) as what clients read (`chat_protocol`): room entries,
//! messages, rooms. Room entries are rendered once per entry by the fan-out hub and the
//! same bytes go to every local socket.
//!
//! Ids the services send are UUIDs; one that is not is a service's bug, and the entry is
//! rendered as nothing (it still takes its position) rather than as something false.

use chat_proto::v1 as proto;
use chat_proto::v1::room_item::Body;
use chat_proto::v1::{RoomEvent, RoomEventKind, RoomItem};
use chat_protocol::file::{FileKind, FileView, ThumbnailView};
use chat_protocol::message::{ReactionView, ReplyPreview, ThreadSummary};
use chat_protocol::room::RoomDetails;
use chat_protocol::server::{
    Entry, MemberChange, MessageCreated, MessageDeleted, MessageEdited, ReactionChange,
    RemovalReason, RoomChange,
};
use chat_protocol::{
    MessageKind, MessageView, Position, Role, RoomId, RoomKind, ServerFrame, Timestamp, UserId,
};

/// A protobuf timestamp as clients read it.
pub fn timestamp(at: &prost_types::Timestamp) -> Option<Timestamp> {
    Timestamp::from_unix(at.seconds, at.nanos)
}

/// A timestamp a service must send; absent or out of range is the service's bug.
pub fn required_timestamp(at: Option<prost_types::Timestamp>) -> anyhow::Result<Timestamp> {
    use anyhow::Context as _;
    at.as_ref()
        .and_then(timestamp)
        .context("the timestamp is missing or out of range")
}

fn timestamp_of(at: Option<&prost_types::Timestamp>) -> Option<Timestamp> {
    at.and_then(timestamp)
}

/// The kind of message clients see.
pub fn message_kind(kind: proto::MessageKind) -> MessageKind {
    match kind {
        proto::MessageKind::File => MessageKind::File,
        proto::MessageKind::Image => MessageKind::Image,
        proto::MessageKind::Text | proto::MessageKind::Unspecified => MessageKind::Text,
    }
}

/// The kind of room clients see; `None` when the service did not say.
pub fn room_kind(kind: proto::RoomKind) -> Option<RoomKind> {
    match kind {
        proto::RoomKind::Public => Some(RoomKind::Public),
        proto::RoomKind::Private => Some(RoomKind::Private),
        proto::RoomKind::Direct => Some(RoomKind::Direct),
        proto::RoomKind::Unspecified => None,
    }
}

/// The role clients see; `None` when the service did not say.
pub fn role(role: proto::Role) -> Option<Role> {
    match role {
        proto::Role::Member => Some(Role::Member),
        proto::Role::Admin => Some(Role::Admin),
        proto::Role::Owner => Some(Role::Owner),
        proto::Role::Unspecified => None,
    }
}

/// The `room.removed` reason of an event that ends a membership (or the room).
pub fn removal_reason(kind: RoomEventKind) -> Option<RemovalReason> {
    match kind {
        RoomEventKind::MemberLeft => Some(RemovalReason::Left),
        RoomEventKind::MemberKicked => Some(RemovalReason::Kicked),
        RoomEventKind::MemberBanned => Some(RemovalReason::Banned),
        RoomEventKind::RoomDeleted => Some(RemovalReason::Deleted),
        _ => None,
    }
}

/// The user ids a service sent that are UUIDs.
fn user_ids(ids: &[String]) -> Vec<UserId> {
    ids.iter().filter_map(|id| id.parse().ok()).collect()
}

/// What a reply shows of the message it answers.
pub fn reply_preview(preview: &proto::ReplyPreview) -> Option<ReplyPreview> {
    Some(ReplyPreview {
        id: preview.message_id.parse().ok()?,
        sender_id: preview.sender_id.parse().ok()?,
        excerpt: preview.excerpt.clone(),
        deleted: preview.deleted,
    })
}

/// A stored file as clients see it.
pub fn file_view(file: proto::FileInfo) -> Option<FileView> {
    let id = file.id.parse().ok()?;
    let url = format!("/api/files/{}", file.id);
    let thumbnail = file.has_thumbnail.then(|| ThumbnailView {
        url: format!("{url}/thumbnail"),
        width: file.thumbnail_width.unwrap_or(0),
        height: file.thumbnail_height.unwrap_or(0),
    });
    Some(FileView {
        id,
        kind: match file.kind() {
            proto::FileKind::Image => FileKind::Image,
            _ => FileKind::File,
        },
        name: file.name,
        size: file.size,
        content_type: file.content_type,
        width: file.width,
        height: file.height,
        url,
        thumbnail,
    })
}

/// A stored message as clients see it.
pub fn stored_message(message: proto::StoredMessage) -> Option<MessageView> {
    let position = message
        .position
        .map_or(Position::NOTHING, |at| Position::new(at.epoch, at.seq));
    Some(MessageView {
        kind: message_kind(message.kind()),
        id: message.id.parse().ok()?,
        room_id: message.room_id.parse().ok()?,
        sender_id: message.sender_id.parse().ok()?,
        client_msg_id: message.client_msg_id,
        content: message.content,
        reply_to: message.reply_to.and_then(|id| id.parse().ok()),
        reply_preview: message.reply_preview.as_ref().and_then(reply_preview),
        sent_at: timestamp_of(message.sent_at.as_ref()),
        edited_at: timestamp_of(message.edited_at.as_ref()),
        deleted_at: timestamp_of(message.deleted_at.as_ref()),
        reactions: message
            .reactions
            .into_iter()
            .map(|reaction| ReactionView {
                emoji: reaction.emoji,
                count: reaction.count,
                me: reaction.reacted,
            })
            .collect(),
        mentions: user_ids(&message.mentions),
        mentions_room: message.mentions_room,
        thread_root: message.thread_root.and_then(|root| root.parse().ok()),
        thread: message.thread.map(|thread| ThreadSummary {
            reply_count: thread.reply_count,
            last_reply_at: timestamp_of(thread.last_reply_at.as_ref()),
            participants: user_ids(&thread.participants),
        }),
        attachments: attachments(message.attachments)?,
        position,
    })
}

/// The files a message carries; `None` when one is malformed.
fn attachments(files: Vec<proto::FileInfo>) -> Option<Vec<FileView>> {
    files.into_iter().map(file_view).collect()
}

/// A room as events carry it.
pub fn room_details(room: &proto::Room) -> Option<RoomDetails> {
    let kind = room_kind(room.kind());
    Some(RoomDetails {
        id: room.id.parse().ok()?,
        kind,
        name: room.name.clone(),
        description: room.description.clone(),
        topic: room.topic.clone(),
        owner_id: room.owner_id.parse().ok(),
        member_count: room.member_count,
        created_at: timestamp_of(room.created_at.as_ref()),
        direct_user_ids: (kind == Some(RoomKind::Direct)).then(|| {
            room.direct_user_ids
                .iter()
                .filter_map(|id| id.parse().ok())
                .collect()
        }),
    })
}

/// The JSON frame clients receive for one entry of a room's sequence; `None` for an
/// entry without a body clients know (it still takes its position).
pub fn room_item_frame(position: Position, item: &RoomItem) -> Option<String> {
    room_item(position, item).map(|frame| frame.to_text())
}

/// The frame of one entry of a room's sequence.
pub fn room_item(position: Position, item: &RoomItem) -> Option<ServerFrame> {
    let room: RoomId = item.room_id.parse().ok()?;
    let entry = |at: Option<&prost_types::Timestamp>| Entry {
        room,
        position,
        id: item.id.clone(),
        at: timestamp_of(item.occurred_at.as_ref().or(at)),
        body: (),
    };
    let frame = match item.body.as_ref()? {
        Body::Message(message) => {
            let view = MessageView {
                id: message.id.parse().ok()?,
                room_id: room,
                sender_id: message.sender_id.parse().ok()?,
                client_msg_id: message.client_msg_id.clone(),
                content: message.content.clone(),
                reply_to: message.reply_to.as_deref().and_then(|id| id.parse().ok()),
                reply_preview: message.reply_preview.as_ref().and_then(reply_preview),
                kind: message_kind(message.kind()),
                sent_at: timestamp_of(message.sent_at.as_ref()),
                edited_at: None,
                deleted_at: None,
                reactions: Vec::new(),
                mentions: user_ids(&message.mentions),
                mentions_room: message.mentions_room,
                thread_root: message
                    .thread_root
                    .as_deref()
                    .and_then(|root| root.parse().ok()),
                thread: None,
                attachments: attachments(message.attachments.clone())?,
                position,
            };
            ServerFrame::MessageCreated(with_body(entry(None), MessageCreated { message: view }))
        }
        Body::Edited(edited) => ServerFrame::MessageEdited(with_body(
            entry(None),
            MessageEdited {
                message_id: edited.message_id.parse().ok()?,
                content: edited.content.clone(),
                edited_at: timestamp_of(edited.edited_at.as_ref()),
                mentions: user_ids(&edited.mentions),
                mentions_room: edited.mentions_room,
            },
        )),
        Body::Deleted(deleted) => ServerFrame::MessageDeleted(with_body(
            entry(None),
            MessageDeleted {
                message_id: deleted.message_id.parse().ok()?,
                deleted_at: timestamp_of(deleted.deleted_at.as_ref()),
            },
        )),
        Body::Reaction(reaction) => {
            let change = ReactionChange {
                message_id: reaction.message_id.parse().ok()?,
                emoji: reaction.emoji.clone(),
                user_id: item.actor_id.parse().ok()?,
            };
            if reaction.added {
                ServerFrame::ReactionAdded(with_body(entry(None), change))
            } else {
                ServerFrame::ReactionRemoved(with_body(entry(None), change))
            }
        }
        Body::RoomEvent(event) => room_event(entry(event.occurred_at.as_ref()), event)?,
    };
    Some(frame)
}

fn with_body<B>(entry: Entry<()>, body: B) -> Entry<B> {
    Entry {
        room: entry.room,
        position: entry.position,
        id: entry.id,
        at: entry.at,
        body,
    }
}

fn room_event(entry: Entry<()>, event: &RoomEvent) -> Option<ServerFrame> {
    let actor_id = event.actor_id.parse().ok()?;
    let member = || -> Option<Entry<MemberChange>> {
        Some(with_body(
            entry.clone(),
            MemberChange {
                user_id: event.user_id.parse().ok()?,
                actor_id,
                role: event
                    .role
                    .and_then(|r| role(proto::Role::try_from(r).ok()?)),
                until: timestamp_of(event.until.as_ref()),
            },
        ))
    };
    let room = || {
        with_body(
            entry.clone(),
            RoomChange {
                actor_id,
                details: event.room.as_ref().and_then(room_details),
            },
        )
    };
    Some(match event.kind() {
        RoomEventKind::MemberJoined => ServerFrame::MemberJoined(member()?),
        RoomEventKind::MemberLeft => ServerFrame::MemberLeft(member()?),
        RoomEventKind::MemberInvited => ServerFrame::MemberInvited(member()?),
        RoomEventKind::MemberKicked => ServerFrame::MemberKicked(member()?),
        RoomEventKind::MemberBanned => ServerFrame::MemberBanned(member()?),
        RoomEventKind::MemberUnbanned => ServerFrame::MemberUnbanned(member()?),
        RoomEventKind::RoleChanged => ServerFrame::MemberRoleChanged(member()?),
        RoomEventKind::RoomUpdated => ServerFrame::RoomUpdated(room()),
        RoomEventKind::RoomDeleted => ServerFrame::RoomDeleted(room()),
        RoomEventKind::RoomCreated | RoomEventKind::DirectCreated => {
            ServerFrame::RoomCreated(room())
        }
        RoomEventKind::Unspecified => return None,
    })
}

#[cfg(test)]
mod tests {
    use chat_proto::v1::ChatMessage;
    use serde_json::{Value, json};

    use super::*;

    const ROOM: &str = "0193a6c1-0000-7000-8000-0000000000c1";
    const USER: &str = "0193a6c1-0000-7000-8000-000000000077";
    const OTHER: &str = "0193a6c1-0000-7000-8000-000000000078";
    const MESSAGE: &str = "0193a6c1-0000-7000-8000-0000000000e4";

    #[test]
    fn a_message_event_carries_its_position_and_message() {
        let at = prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 123_456_789,
        };
        let item = RoomItem {
            id: MESSAGE.into(),
            room_id: ROOM.into(),
            actor_id: USER.into(),
            occurred_at: Some(at),
            body: Some(Body::Message(ChatMessage {
                id: MESSAGE.into(),
                room_id: ROOM.into(),
                sender_id: USER.into(),
                client_msg_id: "c1".into(),
                content: "hello".into(),
                reply_to: None,
                reply_preview: None,
                mentions: Vec::new(),
                mentions_room: false,
                thread_root: None,
                attachments: Vec::new(),
                kind: proto::MessageKind::Text as i32,
                sent_at: Some(at),
            })),
        };
        let text = room_item_frame(Position::new(7, 42), &item).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            json!({
                "type": "message.created", "room": ROOM, "epoch": 7, "position": 42, "id": MESSAGE,
                "at": "2023-11-14T22:13:20.123Z",
                "message": {"id": MESSAGE, "room_id": ROOM, "sender_id": USER, "client_msg_id": "c1",
                            "content": "hello", "reply_to": null, "reply_preview": null,
                            "kind": "text", "sent_at": "2023-11-14T22:13:20.123Z",
                            "edited_at": null, "deleted_at": null, "reactions": [],
                            "mentions": [], "mentions_room": false, "thread_root": null,
                            "thread": null, "epoch": 7, "position": 42}
            })
        );
        let parsed: ServerFrame = serde_json::from_str(&text).unwrap();
        assert_eq!(
            parsed.entry(),
            Some((ROOM.parse().unwrap(), Position::new(7, 42)))
        );
    }

    #[test]
    fn membership_events_name_the_user() {
        let item = RoomItem {
            id: "e1".into(),
            room_id: ROOM.into(),
            actor_id: OTHER.into(),
            occurred_at: None,
            body: Some(Body::RoomEvent(RoomEvent {
                room_id: ROOM.into(),
                kind: RoomEventKind::MemberKicked as i32,
                user_id: USER.into(),
                actor_id: OTHER.into(),
                ..Default::default()
            })),
        };
        let value: Value =
            serde_json::from_str(&room_item_frame(Position::new(1, 2), &item).unwrap()).unwrap();
        assert_eq!(value["type"], "member.kicked");
        assert_eq!(value["user_id"], USER);
        assert_eq!(value["actor_id"], OTHER);
    }

    #[test]
    fn an_entry_with_ids_that_are_not_uuids_renders_as_nothing() {
        let item = RoomItem {
            id: "e1".into(),
            room_id: "not-a-room".into(),
            ..Default::default()
        };
        assert!(room_item_frame(Position::new(1, 1), &item).is_none());
    }
}
