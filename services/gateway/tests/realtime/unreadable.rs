//! When Redis cannot say where a socket stands in a room, the socket is closed with 1011
//! (the client resumes): a position is never made up, and a socket that ends early
//! leaves nothing subscribed behind.

use std::time::Duration;

use chat_test_stack::socket::Socket;
use serde_json::json;

use crate::stack::{self, Options, PATIENCE};

#[tokio::test]
async fn a_socket_whose_start_fails_leaves_no_subscription_behind() {
    // Arrange: Bob's room has a counter nobody can read.
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    stack.silence_counters(&[room]).await;
    let channel = chat_bus::room_channel(&stack.scope.redis_key_prefix, room);

    // Act
    let mut socket = Socket::open(stack.gateways[0].addr, &[]).await;
    socket
        .send(json!({"type": "auth", "token": bob.token}))
        .await;
    let (frames, code) = socket.frames_until_closed().await;

    // Assert: closed before `ready`, and the room's channel is let go.
    assert_eq!(code, Some(1011), "{frames:?}");
    assert!(frames.is_empty(), "{frames:?}");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (_, subscribers): (String, u64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query_async(&mut stack.redis.clone())
            .await
            .expect("numsub");
        if subscribers == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{channel} is still subscribed after the socket ended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn joining_a_room_whose_position_cannot_be_read_closes_with_1011_not_room_added_at_zero() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[]).await;
    let (mut bob_socket, _) = stack.connect(0, &bob).await;
    stack.silence_counters(&[room]).await;

    // Act: the rooms service takes Bob in; the gateway cannot read where the room stands.
    bob_socket
        .send(json!({"type": "join", "id": "j1", "room": room}))
        .await;

    // Assert
    let (frames, code) = bob_socket.frames_until_closed().await;
    assert_eq!(code, Some(1011), "{frames:?}");
    assert!(
        frames.iter().all(|frame| frame["type"] != "room.added"),
        "{frames:?}"
    );
}

#[tokio::test]
async fn a_gap_redis_cannot_fill_closes_with_1011_rather_than_a_made_up_resync() {
    // Arrange
    let stack = stack::spawn_with(Options {
        history_wait: "1s",
        ..Options::default()
    })
    .await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    let (mut bob_socket, _) = stack.connect(0, &bob).await;
    stack.silence_counters(&[room]).await;

    // Act: the gateway's subscriber reconnects, so Bob's socket looks for what it missed.
    stack.kill_subscriber(0).await;

    // Assert
    let (frames, code) = bob_socket.frames_until_closed().await;
    assert_eq!(code, Some(1011), "{frames:?}");
    assert!(
        frames.iter().all(|frame| frame["type"] != "resync"),
        "{frames:?}"
    );
}
