//! Only members hear a room, on the live path too: a socket stops receiving a room right
//! after the room's own entry that removes its user (or the room), even when the event on
//! the user's channel never comes; after a gateway lost Redis for a while, its sockets
//! follow the user's memberships again.

use std::time::SystemTime;

use chat_proto::v1::{DeleteRoomRequest, KickRequest, RoomEvent, RoomEventKind};
use serde_json::Value;
use uuid::Uuid;

use crate::stack::{self, Stack, User};

/// Appends `kind` about `user` to `room`'s sequence, as the rooms service does, but
/// publishes nothing on any user's channel (as when that publish failed).
async fn announce_on_the_room_channel_only(
    stack: &Stack,
    room: Uuid,
    kind: RoomEventKind,
    actor: &User,
    user: Option<&User>,
) -> u64 {
    let event = RoomEvent {
        event_id: Uuid::now_v7().to_string(),
        room_id: room.to_string(),
        kind: kind as i32,
        actor_id: actor.id.to_string(),
        user_id: user.map(|user| user.id.to_string()).unwrap_or_default(),
        occurred_at: Some(prost_types::Timestamp::from(SystemTime::now())),
        ..RoomEvent::default()
    };
    let item = chat_bus::event_item(&event).expect("an entry");
    stack
        .sequencer
        .append(&item)
        .await
        .expect("appended")
        .envelope
        .seq
}

/// The frames up to the first message of `marker` (a room the user stays in), and it.
async fn frames_until_message_in(
    socket: &mut chat_test_stack::socket::Socket,
    marker: Uuid,
) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let frame = socket.next().await;
        let done = frame["type"] == "message.created" && frame["room"] == marker.to_string();
        frames.push(frame);
        if done {
            return frames;
        }
    }
}

/// `(type, room)` of each frame, to compare sequences at a glance.
fn kinds(frames: &[Value]) -> Vec<(String, String)> {
    frames
        .iter()
        .map(|frame| {
            (
                frame["type"].as_str().unwrap_or_default().to_owned(),
                frame["room"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_removal_heard_only_on_the_room_channel_ends_delivery_at_its_position() {
    // Arrange: Bob is in three rooms; `marker` shows how far his socket got.
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let kicked_from = stack.room(&alice, &[&bob]).await;
    let deleted = stack.room(&alice, &[&bob]).await;
    let marker = stack.room(&alice, &[&bob]).await;
    let (mut alice_socket, _) = stack.connect(0, &alice).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;

    // Act: the removals reach the rooms' channels, never Bob's own; then each room goes on.
    let kick_position = announce_on_the_room_channel_only(
        &stack,
        kicked_from,
        RoomEventKind::MemberKicked,
        &alice,
        Some(&bob),
    )
    .await;
    announce_on_the_room_channel_only(&stack, deleted, RoomEventKind::RoomDeleted, &alice, None)
        .await;
    for (room, id) in [(kicked_from, "after-kick"), (deleted, "after-delete")] {
        let ack = alice_socket
            .send_message(&room.to_string(), id, "not for bob")
            .await;
        assert_eq!(ack["type"], "ack", "{ack}");
    }
    alice_socket
        .send_message(&marker.to_string(), "marker", "still for bob")
        .await;

    // Assert: each removal is the last Bob hears of its room.
    let frames = frames_until_message_in(&mut bob_socket, marker).await;
    let (kicked, deleted) = (kicked_from.to_string(), deleted.to_string());
    assert_eq!(
        kinds(&frames),
        vec![
            ("member.kicked".to_owned(), kicked.clone()),
            ("room.removed".to_owned(), kicked),
            ("room.deleted".to_owned(), deleted.clone()),
            ("room.removed".to_owned(), deleted),
            ("message.created".to_owned(), marker.to_string()),
        ],
        "{frames:?}"
    );
    assert_eq!(frames[0]["position"], kick_position);
    assert_eq!(frames[1]["reason"], "kicked");
    assert_eq!(frames[3]["reason"], "deleted");
}

#[tokio::test]
async fn a_removal_heard_on_both_channels_is_announced_once() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let kicked_from = stack.room(&alice, &[&bob]).await;
    let deleted = stack.room(&alice, &[&bob]).await;
    let marker = stack.room(&alice, &[&bob]).await;
    let (mut alice_socket, _) = stack.connect(0, &alice).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;

    // Act: the rooms service announces on the room's channel and on Bob's.
    stack
        .rooms
        .clone()
        .kick(KickRequest {
            caller_id: alice.id.to_string(),
            room_id: kicked_from.to_string(),
            user_id: bob.id.to_string(),
        })
        .await
        .expect("kicked");
    stack
        .rooms
        .clone()
        .delete_room(DeleteRoomRequest {
            caller_id: alice.id.to_string(),
            room_id: deleted.to_string(),
        })
        .await
        .expect("deleted");
    alice_socket
        .send_message(&marker.to_string(), "marker", "still for bob")
        .await;

    // Assert
    let frames = frames_until_message_in(&mut bob_socket, marker).await;
    let removed: Vec<(&Value, &Value)> = frames
        .iter()
        .filter(|frame| frame["type"] == "room.removed")
        .map(|frame| (&frame["room"], &frame["reason"]))
        .collect();
    assert_eq!(
        removed,
        vec![
            (
                &Value::from(kicked_from.to_string()),
                &Value::from("kicked")
            ),
            (&Value::from(deleted.to_string()), &Value::from("deleted")),
        ],
        "{frames:?}"
    );
}

#[tokio::test]
async fn after_a_lost_subscription_the_socket_follows_the_memberships() {
    // Arrange: Bob is in `left_behind` and `marker`; he is then removed from one room and
    // added to another without a word on any channel (room events are retried until
    // they are sequenced, so the change is made in the rooms database itself).
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let left_behind = stack.room(&alice, &[&bob]).await;
    let joined = stack.room(&alice, &[]).await;
    let marker = stack.room(&alice, &[&bob]).await;
    let (mut alice_socket, _) = stack.connect(0, &alice).await;
    let (mut bob_socket, _) = stack.connect(0, &bob).await;
    stack
        .move_member_unannounced(bob.id, left_behind, joined)
        .await;
    let current = stack
        .sequencer
        .current_position(joined.into())
        .await
        .expect("position")
        .expect("a counter");

    // Act: the gateway's subscriber loses Redis and comes back.
    stack.kill_subscriber(0).await;

    // Assert: the socket now has exactly the rooms Bob is in.
    let (_, removed) = bob_socket.until("room.removed").await;
    assert_eq!(removed["room"], left_behind.to_string());
    assert_eq!(removed["reason"], "not_a_member");
    let (_, added) = bob_socket.until("room.added").await;
    assert_eq!(added["room"], joined.to_string());
    assert_eq!(added["epoch"], current.epoch);
    assert_eq!(added["position"], current.seq);
    for (room, id) in [(left_behind, "gone"), (joined, "new"), (marker, "marker")] {
        alice_socket
            .send_message(&room.to_string(), id, "after")
            .await;
    }
    let frames = frames_until_message_in(&mut bob_socket, marker).await;
    assert_eq!(
        kinds(&frames),
        vec![
            ("message.created".to_owned(), joined.to_string()),
            ("message.created".to_owned(), marker.to_string()),
        ],
        "{frames:?}"
    );
}
