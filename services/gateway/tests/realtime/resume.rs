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
    // The stream still holds the new epoch from its start: it follows, from position 1.
    assert_eq!(resync["position"], 0);
    let (replayed, resumed) = catch_up(&mut carol_socket).await;
    assert_eq!(replayed, vec![1]);
    assert_eq!(resumed["epoch"], new_epoch);
    assert_eq!(resumed["position"], 1);
    assert_eq!(resumed["replayed"], 1);
}

#[tokio::test]
async fn a_new_epoch_the_stream_holds_from_its_start_is_replayed_after_the_resync() {
    // Arrange: Redis lost the room; the new epoch has three messages Carol never saw.
    let stack = stack::spawn().await;
    let (alice, carol) = (stack.user(), stack.user());
    let (room, last, mut alice_socket) = seen_once(&stack, &alice, &carol).await;
    forget_everything(&stack).await;
    let after = send_many(&mut alice_socket, room, "after", 3).await;
    let new_epoch = after[0]["epoch"].clone();

    // Act
    let (mut carol_socket, _) = stack.connect_resuming(1, &carol, last).await;

    // Assert: resync to the new epoch's start, then all of it, then resumed.
    let resync = carol_socket.expect("resync").await;
    assert_eq!(resync["reason"], "epoch_changed");
    assert_eq!(resync["epoch"], new_epoch);
    assert_eq!(resync["position"], 0);
    let (replayed, resumed) = catch_up(&mut carol_socket).await;
    assert_eq!(replayed, positions_of(&after));
    assert_eq!(replayed, vec![1, 2, 3]);
    assert_eq!(resumed["epoch"], new_epoch);
    assert_eq!(resumed["position"], 3);
    assert_eq!(resumed["replayed"], 3);
}

#[tokio::test]
async fn a_new_epoch_the_stream_lost_the_start_of_is_reloaded_from_history_and_resumed() {
    // Arrange: Redis lost the room, and the new epoch's stream kept only its last entry.
    let stack = stack::spawn().await;
    let (alice, carol) = (stack.user(), stack.user());
    let (room, last, mut alice_socket) = seen_once(&stack, &alice, &carol).await;
    forget_everything(&stack).await;
    let after = send_many(&mut alice_socket, room, "after", 3).await;
    trim_stream(&stack, room, 1).await;

    // Act
    let (mut carol_socket, _) = stack.connect_resuming(1, &carol, last).await;

    // Assert: resync at the current position (history has the rest), then resumed.
    let resync = carol_socket.expect("resync").await;
    assert_eq!(resync["reason"], "epoch_changed");
    assert_eq!(resync["epoch"], after[2]["epoch"]);
    assert_eq!(resync["position"], 3);
    let resumed = carol_socket.expect("resumed").await;
    assert_eq!(resumed["epoch"], after[2]["epoch"]);
    assert_eq!(resumed["position"], 3);
    assert_eq!(resumed["replayed"], 0);
}

#[tokio::test]
async fn resuming_from_nothing_seen_replays_the_room_from_its_first_position() {
    // Arrange: Redis lost the room, so `ready` reports it without events (0, 0).
    let stack = stack::spawn().await;
    let (alice, carol) = (stack.user(), stack.user());
    let (room, _, mut alice_socket) = seen_once(&stack, &alice, &carol).await;
    forget_everything(&stack).await;
    let (carol_socket, ready) = stack.connect(1, &carol).await;
    let seen = ready["rooms"][0].clone();
    assert_eq!(seen["id"], room.to_string());
    assert_eq!((&seen["epoch"], &seen["position"]), (&json!(0), &json!(0)));
    carol_socket.close().await;
    let after = send_many(&mut alice_socket, room, "after", 2).await;

    // Act: resume with exactly what `ready` said.
    let (mut carol_socket, _) = stack
        .connect_resuming(
            0,
            &carol,
            json!({room.to_string(): {"epoch": 0, "position": 0}}),
        )
        .await;

    // Assert
    let (replayed, resumed) = catch_up(&mut carol_socket).await;
    assert_eq!(replayed, vec![1, 2]);
    assert_eq!(resumed["epoch"], after[1]["epoch"]);
    assert_eq!(resumed["position"], 2);
    assert_eq!(resumed["replayed"], 2);
}

#[tokio::test]
async fn a_lower_epoch_is_an_epoch_change_too() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    let (mut alice_socket, _) = stack.connect(0, &alice).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    let before = send_many(&mut alice_socket, room, "before", 2).await;
    bob_socket.next_message().await;
    bob_socket.next_message().await;
    let old_epoch = before[0]["epoch"].as_u64().unwrap();

    // Act: Redis comes back with the room's counter at an earlier epoch (restored on a
    // host whose clock is behind), and the conversation goes on.
    let lower_epoch = old_epoch - 60_000;
    let keys = stack.sequencer.room_keys(&room.to_string());
    // On a Redis Cluster the counter names the node that wrote it (else the next append
    // takes it for a failover's and starts an epoch of its own).
    let node: String = if chat_test_stack::scope::redis_cluster().is_some() {
        redis::cmd("EVAL")
            .arg("return redis.call('CLUSTER', 'MYID')")
            .arg(1)
            .arg(keys.seq())
            .query_async(&mut stack.redis.clone())
            .await
            .expect("the node's id")
    } else {
        String::new()
    };
    let mut restore = redis::pipe();
    restore
        .cmd("DEL")
        .arg(keys.stream())
        .arg(keys.seq())
        .ignore()
        .cmd("HSET")
        .arg(keys.seq())
        .arg("epoch")
        .arg(lower_epoch)
        .arg("seq")
        .arg(0)
        .ignore();
    if !node.is_empty() {
        restore
            .cmd("HSET")
            .arg(keys.seq())
            .arg("node")
            .arg(node)
            .ignore();
    }
    let _: () = restore
        .query_async(&mut stack.redis.clone())
        .await
        .expect("counter restored");
    let after = send_many(&mut alice_socket, room, "after", 1).await;

    // Assert: Bob is told, and hears the lower epoch from its start.
    assert_eq!(after[0]["epoch"], lower_epoch);
    assert_eq!(after[0]["position"], 1);
    let resync = bob_socket.expect("resync").await;
    assert_eq!(resync["reason"], "epoch_changed");
    assert_eq!(resync["epoch"], lower_epoch);
    assert_eq!(resync["position"], 0);
    let event = bob_socket.next_message().await;
    assert_eq!(event["epoch"], lower_epoch);
    assert_eq!(event["position"], 1);
    assert_eq!(event["message"]["content"], "after 0");
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

/// Reads frames until the message sent as `client_msg_id` shows, counting how often it
/// did (a few seconds more after it, to see a second copy); a `resync` ends the wait.
async fn copies_of(socket: &mut Socket, client_msg_id: &str) -> (usize, bool) {
    let mut copies = 0;
    let mut resynced = false;
    let mut deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(frame) = tokio::time::timeout_at(deadline, socket.next()).await {
        match frame["type"].as_str() {
            Some("message.created") if frame["message"]["client_msg_id"] == client_msg_id => {
                copies += 1;
                deadline = tokio::time::Instant::now() + Duration::from_millis(500);
            }
            Some("resync") => resynced = true,
            _ => {}
        }
    }
    (copies, resynced)
}

#[tokio::test]
async fn a_send_cut_off_by_a_storm_and_retried_after_resuming_reaches_both_once() {
    // A storm's race, many times over: Alice sends and her socket drops at once with
    // Bob's; both come back resuming from what they saw, and Alice sends the same message
    // again (its ack never came). Wherever the first attempt's append falls against the
    // new sockets' set-up, each gets the message exactly once.
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    let (mut alice_socket, _) = stack.connect(0, &alice).await;
    let (mut bob_socket, _) = stack.connect(0, &bob).await;
    for round in 0..10 {
        let seen = send_many(&mut alice_socket, room, &format!("r{round}-"), 1).await;
        let bob_seen = bob_socket.next_message().await;
        assert_eq!(bob_seen["position"], seen[0]["position"]);
        alice_socket.next_message().await;
        let last =
            json!({room.to_string(): {"epoch": seen[0]["epoch"], "position": seen[0]["position"]}});

        let id = format!("cut-{round}");
        alice_socket
            .send(json!({"type": "send", "room": room, "client_msg_id": id, "content": id}))
            .await;
        drop(alice_socket.into_inner());
        drop(bob_socket.into_inner());
        if round % 2 == 1 {
            tokio::time::sleep(Duration::from_millis(10 * round)).await;
        }
        let ((alice_back, _), (bob_back, _)) = tokio::join!(
            stack.connect_resuming(0, &alice, last.clone()),
            stack.connect_resuming(0, &bob, last.clone())
        );
        alice_socket = alice_back;
        bob_socket = bob_back;
        let ack = alice_socket.send_message(&room.to_string(), &id, &id).await;
        assert_eq!(ack["type"], "ack", "{ack}");

        let (alice_copies, alice_resync) = copies_of(&mut alice_socket, &id).await;
        let (bob_copies, bob_resync) = copies_of(&mut bob_socket, &id).await;
        assert!(
            alice_copies == 1 || alice_resync,
            "round {round}: Alice got {alice_copies} copies"
        );
        assert!(
            bob_copies == 1 || bob_resync,
            "round {round}: Bob got {bob_copies} copies"
        );
    }
}
