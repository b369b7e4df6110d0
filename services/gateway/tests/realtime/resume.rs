//! Catch-up: a client resuming from its last positions gets exactly what it missed,
//! from the Redis stream, from history, or both; a lost epoch is announced with resync.

use std::time::Duration;

use chat_test_stack::socket::Socket;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::stack::{self, Options, Stack, User};

/// Sends `count` messages as `sender` and returns their acks.
async fn send_many(socket: &mut Socket, room: Uuid, prefix: &str, count: usize) -> Vec<Value> {
    let mut acks = Vec::new();
    for n in 0..count {
        let ack = socket
            .send_message(
                &room.to_string(),
                &format!("{prefix}{n}"),
                &format!("{prefix} {n}"),
            )
            .await;
        assert_eq!(ack["type"], "ack", "{ack}");
        acks.push(ack);
    }
    acks
}

/// The positions the acks name.
fn positions_of(acks: &[Value]) -> Vec<u64> {
    acks.iter()
        .map(|ack| ack["position"].as_u64().unwrap())
        .collect()
}

/// A room where `alice` said one thing that `bob` saw; returns the room, Bob's last
/// position and Alice's socket.
async fn seen_once(stack: &Stack, alice: &User, bob: &User) -> (Uuid, Value, Socket) {
    let room = stack.room(alice, &[bob]).await;
    let (mut bob_socket, _) = stack.connect(0, bob).await;
    let (mut alice_socket, _) = stack.connect(0, alice).await;
    send_many(&mut alice_socket, room, "first", 1).await;
    let seen = bob_socket.next_message().await;
    bob_socket.close().await;
    let last = json!({room.to_string(): {"epoch": seen["epoch"], "position": seen["position"]}});
    (room, last, alice_socket)
}

/// Reads a resumed room's catch-up: the replayed events and the `resumed` frame.
async fn catch_up(socket: &mut Socket) -> (Vec<u64>, Value) {
    let (frames, resumed) = socket.until("resumed").await;
    let positions = frames
        .iter()
        .map(|frame| {
            assert_eq!(frame["type"], "message.created", "{frame}");
            frame["position"].as_u64().unwrap()
        })
        .collect();
    (positions, resumed)
}

#[tokio::test]
async fn a_short_gap_is_filled_from_the_stream_on_another_gateway() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let (room, last, mut alice_socket) = seen_once(&stack, &alice, &bob).await;
    let missed = positions_of(&send_many(&mut alice_socket, room, "missed", 3).await);

    // Act
    let (mut bob_socket, _) = stack.connect_resuming(1, &bob, last).await;

    // Assert
    let (replayed, resumed) = catch_up(&mut bob_socket).await;
    assert_eq!(replayed, missed);
    assert_eq!(resumed["replayed"], 3);
    assert_eq!(resumed["position"], missed[2]);
    let live = send_many(&mut alice_socket, room, "live", 1).await;
    let event = bob_socket.next_message().await;
    assert_eq!(event["position"], live[0]["position"]);
}

#[tokio::test]
async fn a_long_gap_is_filled_from_history_then_the_stream() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let (room, last, mut alice_socket) = seen_once(&stack, &alice, &bob).await;
    let missed = positions_of(&send_many(&mut alice_socket, room, "missed", 6).await);
    stack.stored_through(room, missed[5]).await;
    // The stream keeps only the last two entries.
    trim_stream(&stack, room, 2).await;

    // Act
    let (mut bob_socket, _) = stack.connect_resuming(1, &bob, last).await;

    // Assert
    let (replayed, resumed) = catch_up(&mut bob_socket).await;
    assert_eq!(replayed, missed);
    assert_eq!(resumed["replayed"], 6);
}

#[tokio::test]
async fn a_gap_history_does_not_yet_hold_is_waited_for() {
    // Arrange: history is down while messages are sent, and the stream lost them.
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let (room, last, mut alice_socket) = seen_once(&stack, &alice, &bob).await;
    let seen = last[room.to_string()]["position"].as_u64().unwrap();
    stack.stored_through(room, seen).await;
    stack.stop_history().await;
    let missed = positions_of(&send_many(&mut alice_socket, room, "while-down", 4).await);
    trim_stream(&stack, room, 1).await;

    // Act: resume, and bring history back while the gateway waits for it.
    let resuming = async {
        let (mut socket, _) = stack.connect_resuming(1, &bob, last).await;
        catch_up(&mut socket).await
    };
    let restart = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stack.start_history().await;
    };
    let ((replayed, resumed), ()) = tokio::join!(resuming, restart);

    // Assert
    assert_eq!(replayed, missed);
    assert_eq!(resumed["position"], missed[3]);
}

#[tokio::test]
async fn a_gap_history_never_fills_ends_in_resync_not_silence() {
    // Arrange: history stays down, and the stream lost what was missed.
    let stack = stack::spawn_with(Options {
        history_wait: "1s",
        ..Options::default()
    })
    .await;
    let (alice, bob) = (stack.user(), stack.user());
    let (room, last, mut alice_socket) = seen_once(&stack, &alice, &bob).await;
    stack.stop_history().await;
    let missed = positions_of(&send_many(&mut alice_socket, room, "lost", 3).await);
    trim_stream(&stack, room, 1).await;

    // Act
    let (mut bob_socket, _) = stack.connect_resuming(1, &bob, last).await;

    // Assert
    let (frames, resumed) = bob_socket.until("resumed").await;
    let resync = frames
        .iter()
        .find(|frame| frame["type"] == "resync")
        .expect("a resync");
    assert_eq!(resync["reason"], "gap_unrecoverable");
    assert_eq!(resync["position"], missed[2]);
    assert_eq!(resumed["position"], missed[2]);
}

#[tokio::test]
async fn a_lost_epoch_is_announced_with_resync_live_and_on_resume() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, bob, carol) = (stack.user(), stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob, &carol]).await;
    let (mut alice_socket, _) = stack.connect(0, &alice).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    let before = send_many(&mut alice_socket, room, "before", 2).await;
    bob_socket.next_message().await;
    bob_socket.next_message().await;
    let old_epoch = before[0]["epoch"].as_u64().unwrap();

    // Act: Redis loses everything under this deployment's prefix.
    forget_everything(&stack).await;
    let after = send_many(&mut alice_socket, room, "after", 1).await;

    // Assert: the live reader is told to resync, then hears the new epoch.
    let new_epoch = after[0]["epoch"].as_u64().unwrap();
    assert!(new_epoch > old_epoch);
    assert_eq!(after[0]["position"], 1);
    let resync = bob_socket.expect("resync").await;
    assert_eq!(resync["reason"], "epoch_changed");
    assert_eq!(resync["epoch"], new_epoch);
    assert_eq!(resync["position"], 0);
    let event = bob_socket.next_message().await;
    assert_eq!(event["epoch"], new_epoch);

    // A client resuming with the old epoch is told too.
    let (mut carol_socket, ready) = stack
        .connect_resuming(
            0,
            &carol,
            json!({room.to_string(): {"epoch": old_epoch, "position": 2}}),
        )
        .await;
    let current = ready["rooms"][0].clone();
    assert_eq!(current["epoch"], new_epoch);
    let resync = carol_socket.expect("resync").await;
    assert_eq!(resync["epoch"], new_epoch);
    assert_eq!(resync["position"], 1);
}

async fn trim_stream(stack: &Stack, room: Uuid, keep: usize) {
    let stream = stack.sequencer.room_keys(&room.to_string()).stream();
    let _: i64 = redis::cmd("XTRIM")
        .arg(stream)
        .arg("MAXLEN")
        .arg(keep)
        .query_async(&mut stack.redis.clone())
        .await
        .expect("trimmed");
}

async fn forget_everything(stack: &Stack) {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", stack.scope.redis_key_prefix))
        .query_async(&mut stack.redis.clone())
        .await
        .expect("keys");
    if !keys.is_empty() {
        let _: i64 = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut stack.redis.clone())
            .await
            .expect("deleted");
    }
}
