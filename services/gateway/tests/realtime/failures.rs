//! Gateways going away (gracefully or not) and readers that cannot keep up: nothing
//! acknowledged or seen is lost, and one slow reader never holds the others back.

use std::time::SystemTime;

use chat_proto::v1::room_item::Body;
use chat_proto::v1::{ChatMessage, MessageKind, RoomItem};
use chat_test_stack::socket::Socket;
use futures::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::delivery::queued_messages;
use crate::stack::{self, Options, Stack, User};

/// Positions of the `message.created` frames among `frames`.
fn positions(frames: &[serde_json::Value]) -> Vec<u64> {
    frames
        .iter()
        .filter(|frame| frame["type"] == "message.created")
        .map(|frame| frame["position"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_draining_gateway_says_reconnect_and_the_client_resumes_elsewhere_losing_nothing() {
    // Arrange
    let mut stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    let (mut bob_socket, _) = stack.connect(0, &bob).await;
    let (mut alice_socket, _) = stack.connect(1, &alice).await;
    for n in 0..3 {
        alice_socket
            .send_message(&room.to_string(), &format!("a{n}"), "before")
            .await;
    }

    // Act: gateway 0 drains while Bob is connected to it.
    let (drained, ()) = tokio::join!(
        bob_socket.frames_until_closed(),
        stack.gateways[0].shut_down()
    );
    let (frames, code) = drained;

    // Assert
    assert_eq!(code, Some(1012));
    let reconnect = frames.last().expect("frames");
    assert_eq!(reconnect["type"], "reconnect", "{frames:?}");
    assert_eq!(reconnect["reason"], "shutdown");
    let mut seen = positions(&frames);
    let last = *seen.last().unwrap_or(&0);
    for n in 3..6 {
        alice_socket
            .send_message(&room.to_string(), &format!("a{n}"), "after")
            .await;
    }
    let epoch = frames
        .iter()
        .find(|frame| frame["type"] == "message.created")
        .map(|frame| frame["epoch"].clone())
        .expect("an event");
    let (mut resumed, _) = stack
        .connect_resuming(
            1,
            &bob,
            json!({room.to_string(): {"epoch": epoch, "position": last}}),
        )
        .await;
    let (caught_up, _) = resumed.until("resumed").await;
    seen.extend(positions(&caught_up));
    let first = seen[0];
    assert_eq!(seen, (first..first + 6).collect::<Vec<_>>());
}

#[tokio::test]
async fn events_published_while_the_subscriber_was_disconnected_are_not_lost() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    let (mut bob_socket, _) = stack.connect(0, &bob).await;
    let (mut alice_socket, _) = stack.connect(1, &alice).await;
    let before = alice_socket
        .send_message(&room.to_string(), "m0", "before")
        .await;
    let last = bob_socket.next_message().await["position"]
        .as_u64()
        .unwrap();
    assert_eq!(before["position"], last);

    // Act: Redis drops gateway 0's subscriber connection; messages go on meanwhile.
    stack.kill_subscriber(0).await;
    for n in 1..6 {
        alice_socket
            .send_message(&room.to_string(), &format!("m{n}"), "meanwhile")
            .await;
    }

    // Assert: Bob gets every position once, in order.
    let mut seen = Vec::new();
    while seen.len() < 5 {
        let event = bob_socket.next_message().await;
        seen.push(event["position"].as_u64().unwrap());
    }
    assert_eq!(seen, (last + 1..last + 6).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_hub_behind_redis_drops_its_backlog_and_its_sockets_catch_up_losing_nothing() {
    // Arrange: any entry counts as late (1 µs), so gateway 0's hub drops its subscription
    // on the first entry it hears.
    let stack = stack::spawn_with(Options {
        subscriber_max_lag: "1us",
        ..Options::default()
    })
    .await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    let (mut bob_socket, _) = stack.connect(0, &bob).await;
    let (mut alice_socket, _) = stack.connect(1, &alice).await;
    let hub = stack.gateways[0].realtime.hub();
    let subscriber = hub.subscriber_addr().expect("subscriber over TCP");

    // Act: a burst while the hub drops what it read and subscribes again.
    let mut sent = Vec::new();
    for n in 0..10 {
        let ack = alice_socket
            .send_message(&room.to_string(), &format!("m{n}"), "burst")
            .await;
        sent.push(ack["position"].as_u64().expect("a position"));
    }

    // Assert: a new subscriber connection, and Bob gets every position once, in order.
    let mut seen = Vec::new();
    while seen.len() < sent.len() {
        let event = bob_socket.next_message().await;
        seen.push(event["position"].as_u64().expect("a position"));
    }
    assert_eq!(seen, sent);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while hub.subscriber_addr().is_none_or(|now| now == subscriber) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never subscribed again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_message_acknowledged_by_a_gateway_killed_at_once_reaches_history() {
    let mut stack = stack::spawn().await;
    let alice = stack.user();
    let room = stack.room(&alice, &[]).await;
    let (mut socket, _) = stack.connect(0, &alice).await;

    let ack = socket
        .send_message(&room.to_string(), "last-words", "bye")
        .await;
    stack.gateways[0].kill();

    assert_eq!(ack["type"], "ack");
    let stored = stack
        .stored_through(room, ack["position"].as_u64().unwrap())
        .await;
    assert_eq!(stack::messages(&stored)[0].id, ack["id"].as_str().unwrap());
}

/// A chat message of `sender` in `room`, as a gateway builds it.
fn item(room: Uuid, sender: &User, content: String) -> RoomItem {
    let id = Uuid::now_v7().to_string();
    let now = prost_types::Timestamp::from(SystemTime::now());
    RoomItem {
        id: id.clone(),
        room_id: room.to_string(),
        actor_id: sender.id.to_string(),
        occurred_at: Some(now),
        body: Some(Body::Message(ChatMessage {
            id,
            room_id: room.to_string(),
            sender_id: sender.id.to_string(),
            client_msg_id: Uuid::new_v4().simple().to_string(),
            content,
            reply_to: None,
            reply_preview: None,
            mentions: Vec::new(),
            mentions_room: false,
            thread_root: None,
            attachments: Vec::new(),
            kind: MessageKind::Text as i32,
            sent_at: Some(now),
        })),
    }
}

#[tokio::test]
async fn a_message_fanned_out_but_never_confirmed_is_stored_by_the_sweeper() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;

    // Act: sequenced and published to readers, as by a gateway that then died before
    // publishing to the broker.
    let appended = stack
        .sequencer
        .append(&item(room, &alice, "seen".to_owned()))
        .await
        .expect("appended");

    // Assert
    let event = bob_socket.next_message().await;
    assert_eq!(event["position"], appended.envelope.seq);
    let stored = stack.stored_through(room, appended.envelope.seq).await;
    assert_eq!(stack::messages(&stored)[0].content, "seen");
}

#[tokio::test]
async fn a_retry_of_a_send_whose_gateway_died_before_the_confirm_is_made_durable_then_acked() {
    // Arrange: no consumer and no sweeper, so only the retry can hand the message to the
    // broker; the first attempt was sequenced and fanned out by a gateway that died before
    // publishing it.
    let stack = stack::spawn().await;
    let alice = stack.user();
    let room = stack.room(&alice, &[]).await;
    stack.stop_history().await;
    let (mut socket, _) = stack.connect(0, &alice).await;
    let first = item(room, &alice, "first attempt".to_owned());
    let Some(Body::Message(sent)) = &first.body else {
        unreachable!("a message")
    };
    let appended = stack.sequencer.append_once(&first).await.expect("appended");
    let chat_bus::AppendOutcome::New(appended) = appended else {
        panic!("a first attempt: {appended:?}");
    };
    // The room's own entries may still wait there, unconsumed when history stopped.
    let queued = queued_messages(&stack.scope.persist_queue).await;

    // Act
    let retry = socket
        .send_message(&room.to_string(), &sent.client_msg_id, "first attempt")
        .await;

    // Assert
    assert_eq!(retry["type"], "ack", "{retry}");
    assert_eq!(retry["duplicate"], true);
    assert_eq!(retry["id"], sent.id);
    assert_eq!(retry["epoch"], appended.envelope.epoch);
    assert_eq!(retry["position"], appended.envelope.seq);
    assert_eq!(
        queued_messages(&stack.scope.persist_queue).await,
        queued + 1,
        "the retry handed the original to the broker before its ack"
    );
    stack.start_history().await;
    let stored = stack.stored_through(room, appended.envelope.seq).await;
    let stored = stack::messages(&stored);
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].id.as_str(), stored[0].content.as_str()),
        (sent.id.as_str(), "first attempt")
    );
}

/// Appends `count` large messages to `room` as fast as Redis takes them.
async fn flood(stack: &Stack, room: Uuid, sender: &User, count: usize) {
    for _ in 0..count {
        stack
            .sequencer
            .append(&item(room, sender, "x".repeat(3900)))
            .await
            .expect("appended");
    }
}

#[tokio::test]
async fn a_reader_that_cannot_keep_up_is_closed_with_4003_and_others_are_not_held_back() {
    // Arrange
    let stack = stack::spawn_with(Options {
        outbound_queue: 8,
        ..Options::default()
    })
    .await;
    let (alice, bob, slow) = (stack.user(), stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob, &slow]).await;
    let mut slow_socket = Socket::open_with_small_buffers(stack.gateways[0].addr).await;
    slow_socket
        .send(json!({"type": "auth", "token": slow.token}))
        .await;
    slow_socket.expect("ready").await;
    let (mut bob_socket, _) = stack.connect(0, &bob).await;

    // Act: far more than the slow socket's buffers and queue hold, while it reads nothing.
    let mut bob_heard = 0;
    let count = 2500;
    let reading = async {
        while bob_heard < count {
            if bob_socket.next().await["type"] == "message.created" {
                bob_heard += 1;
            }
        }
    };
    tokio::join!(flood(&stack, room, &alice, count), reading);

    // Assert: Bob, on the same gateway, heard everything; the slow reader was cut off.
    assert_eq!(bob_heard, count);
    let (alice_socket, _) = stack.connect(0, &alice).await;
    drop(alice_socket);
    let mut stream = slow_socket.into_inner();
    let mut events = 0;
    let code = loop {
        match stream.next().await {
            Some(Ok(Message::Text(_))) => events += 1,
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break None,
        }
    };
    assert_eq!(code, Some(4003));
    assert!(events < count, "the slow reader got everything ({events})");
}
