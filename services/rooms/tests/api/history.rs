//! Room events are stored by the history service among the messages, in position order.

use chat_proto::v1::{RoomEventKind, RoomKind, StoredEntry, room_item};

use crate::helpers::{spawn_app, user};

/// What a stored entry is, in a word: a message's content or a room event's kind.
fn what(entry: &StoredEntry) -> String {
    let item = entry.item.as_ref().expect("an item");
    match &item.body {
        Some(room_item::Body::Message(message)) => format!("message {}", message.content),
        Some(room_item::Body::RoomEvent(event)) => {
            assert_eq!(item.id, event.event_id, "the entry is named by its event");
            event.kind().as_str_name().to_owned()
        }
        other => panic!("unexpected entry {other:?}"),
    }
}

#[tokio::test]
async fn history_stores_room_events_among_messages_in_position_order() {
    let app = spawn_app().await;
    let history = app.spawn_history().await;
    let (owner, visitor) = (user(), user());
    let room = app.create_room(owner, "Archive", RoomKind::Public).await;

    let (sent, _) = app.send(&room.id, owner, "hello").await;
    app.join(visitor, &room.id).await.expect("joined");
    app.leave(visitor, &room.id).await.expect("left");
    app.delete_room(owner, &room.id).await.expect("deleted");

    let entries = history.entries(&room.id, 5).await;
    let positions: Vec<(u64, u64)> = entries
        .iter()
        .map(|entry| {
            let position = entry.position.expect("a position");
            (position.epoch, position.seq)
        })
        .collect();
    assert_eq!(
        positions,
        (1..=5).map(|seq| (sent.epoch, seq)).collect::<Vec<_>>()
    );
    let kinds: Vec<String> = entries.iter().map(what).collect();
    assert_eq!(
        kinds,
        [
            RoomEventKind::RoomCreated.as_str_name(),
            "message hello",
            RoomEventKind::MemberJoined.as_str_name(),
            RoomEventKind::MemberLeft.as_str_name(),
            RoomEventKind::RoomDeleted.as_str_name(),
        ]
    );
}
