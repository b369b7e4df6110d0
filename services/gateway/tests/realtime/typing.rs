//! `typing`: ephemeral signals to the room's other members, on every gateway.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::stack::{self, Options, Stack, User};

fn typing(room: impl ToString, state: &str) -> Value {
    json!({"type": "typing", "room": room.to_string(), "state": state})
}

async fn three_in_a_room(stack: &Stack) -> (User, User, User, uuid::Uuid) {
    let (ada, bob, cleo) = (stack.user(), stack.user(), stack.user());
    let room = stack.room(&ada, &[&bob, &cleo]).await;
    (ada, bob, cleo, room)
}

#[tokio::test]
async fn typing_reaches_the_other_members_on_both_gateways_but_not_the_typist() {
    let stack = stack::spawn().await;
    let (ada, bob, cleo, room) = three_in_a_room(&stack).await;
    let (mut ada_here, ready) = stack.connect(0, &ada).await;
    let (mut ada_phone, _) = stack.connect(1, &ada).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    let (mut cleo_socket, _) = stack.connect(0, &cleo).await;
    assert_eq!(ready["typing_timeout_ms"], 6000);
    assert_eq!(ready["typing_renew_ms"], 3000);

    ada_here.send(typing(room, "start")).await;

    for socket in [&mut bob_socket, &mut cleo_socket] {
        let heard = socket.expect("typing").await;
        assert_eq!(
            heard,
            json!({"type": "typing", "room": room.to_string(), "user_id": ada.id.to_string(), "state": "start"})
        );
    }
    ada_here.send(typing(room, "stop")).await;
    for socket in [&mut bob_socket, &mut cleo_socket] {
        assert_eq!(socket.expect("typing").await["state"], "stop");
    }
    // The typist's own sockets hear nothing of it.
    ada_here.assert_nothing_pending().await;
    ada_phone.assert_nothing_pending().await;
}

#[tokio::test]
async fn renewals_are_forwarded_at_most_every_two_seconds_and_a_stop_only_after_a_start() {
    let stack = stack::spawn().await;
    let (ada, bob, _, room) = three_in_a_room(&stack).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;

    ada_socket.send(typing(room, "stop")).await;
    for _ in 0..5 {
        ada_socket.send(typing(room, "start")).await;
    }

    assert_eq!(bob_socket.expect("typing").await["state"], "start");
    bob_socket.assert_nothing_pending().await;
}

#[tokio::test]
async fn a_start_not_renewed_ends_with_a_stop_from_the_server() {
    let stack = stack::spawn_with(Options {
        typing_timeout: "1s",
        ..Options::default()
    })
    .await;
    let (ada, bob, _, room) = three_in_a_room(&stack).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;

    ada_socket.send(typing(room, "start")).await;
    assert_eq!(bob_socket.expect("typing").await["state"], "start");
    let started = Instant::now();
    // Ada's client vanishes without a word.
    drop(ada_socket);

    let stop = bob_socket.expect("typing").await;
    assert_eq!(stop["state"], "stop");
    assert_eq!(stop["user_id"], ada.id.to_string());
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(3), "the stop took {waited:?}");
}

#[tokio::test]
async fn a_message_ends_typing_without_a_stop() {
    let stack = stack::spawn_with(Options {
        typing_timeout: "1s",
        ..Options::default()
    })
    .await;
    let (ada, bob, _, room) = three_in_a_room(&stack).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;

    ada_socket.send(typing(room, "start")).await;
    assert_eq!(bob_socket.expect("typing").await["state"], "start");
    ada_socket
        .send_message(&room.to_string(), "t-1", "here it is")
        .await;

    assert_eq!(
        bob_socket.next_message().await["message"]["content"],
        "here it is"
    );
    // Past the deadline: no `stop` follows the message.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    bob_socket.assert_nothing_pending().await;
    // And the next `start` goes out at once.
    ada_socket.send(typing(room, "start")).await;
    assert_eq!(bob_socket.expect("typing").await["state"], "start");
}

#[tokio::test]
async fn members_only_and_not_in_rooms_above_the_size_limit() {
    let stack = stack::spawn_with(Options {
        typing_max_room_size: 2,
        ..Options::default()
    })
    .await;
    let (ada, bob, cleo, crowd) = three_in_a_room(&stack).await;
    let pair = stack.room(&ada, &[&bob]).await;
    let outsider_room = stack.room(&cleo, &[]).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    let (mut cleo_socket, _) = stack.connect(0, &cleo).await;

    // Not a member: refused.
    ada_socket.send(typing(outsider_room, "start")).await;
    let refused = ada_socket.expect("error").await;
    assert_eq!(refused["code"], "not_a_member");
    cleo_socket.assert_nothing_pending().await;

    // Three members, above the limit of two: nobody hears it.
    ada_socket.send(typing(crowd, "start")).await;
    ada_socket.assert_nothing_pending().await;
    bob_socket.assert_nothing_pending().await;
    cleo_socket.assert_nothing_pending().await;

    // Two members: heard; Cleo, not in that room, hears nothing.
    ada_socket.send(typing(pair, "start")).await;
    let heard = bob_socket.expect("typing").await;
    assert_eq!(heard["room"], pair.to_string());
    cleo_socket.assert_nothing_pending().await;
}
