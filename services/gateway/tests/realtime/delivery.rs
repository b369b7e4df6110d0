//! Sending and receiving across gateways: order, acks, duplicates, membership.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::stack;

#[tokio::test]
async fn two_users_chat_across_two_gateways() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    let (mut alice_socket, ready) = stack.connect(0, &alice).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    assert_eq!(ready["protocol"], 1);
    assert_eq!(ready["user"]["id"], alice.id.to_string());
    assert!(
        ready["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == room.to_string())
    );

    // Act
    let ack = alice_socket
        .send_message(&room.to_string(), "m-1", "hello bob")
        .await;

    // Assert
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["duplicate"], false);
    let event = bob_socket.next_message().await;
    assert_eq!(event["room"], room.to_string());
    assert_eq!(event["position"], ack["position"]);
    assert_eq!(event["epoch"], ack["epoch"]);
    assert_eq!(event["message"]["content"], "hello bob");
    assert_eq!(event["message"]["sender_id"], alice.id.to_string());
    assert_eq!(event["message"]["id"], ack["id"]);

    let reply = bob_socket
        .send_message(&room.to_string(), "m-2", "hi alice")
        .await;
    assert_eq!(reply["position"], ack["position"].as_u64().unwrap() + 1);
    let (_, heard) = alice_socket.until("message.created").await;
    // Alice hears her own message first, then Bob's.
    assert_eq!(heard["message"]["content"], "hello bob");
    let heard = alice_socket.next_message().await;
    assert_eq!(heard["message"]["content"], "hi alice");
}

#[tokio::test]
async fn concurrent_senders_on_two_gateways_are_heard_in_one_dense_order() {
    // Arrange
    let stack = stack::spawn().await;
    let users: Vec<_> = (0..4).map(|_| stack.user()).collect();
    let room = stack
        .room(&users[0], &users[1..].iter().collect::<Vec<_>>())
        .await;
    let mut listeners = Vec::new();
    for (index, user) in users.iter().enumerate() {
        listeners.push(stack.connect(index % 2, user).await.0);
    }
    let per_sender = 25;

    // Act: two senders, one on each gateway, at once.
    let senders = [(0, &users[0]), (1, &users[1])].map(|(gateway, user)| {
        let stack = &stack;
        async move {
            let (mut socket, _) = stack.connect(gateway, user).await;
            for n in 0..per_sender {
                socket
                    .send(json!({"type": "send", "room": room, "client_msg_id": format!("g{gateway}-{n}"), "content": format!("{gateway}:{n}")}))
                    .await;
            }
            let mut acks = 0;
            while acks < per_sender {
                if socket.next().await["type"] == "ack" {
                    acks += 1;
                }
            }
        }
    });
    futures::future::join_all(senders).await;

    // Assert: every listener hears every message once, positions dense and increasing.
    for listener in &mut listeners {
        let mut positions = Vec::new();
        let mut contents = HashSet::new();
        while positions.len() < 2 * per_sender {
            let event = listener.next().await;
            if event["type"] == "message.created" {
                positions.push(event["position"].as_u64().unwrap());
                contents.insert(event["message"]["content"].as_str().unwrap().to_owned());
            }
        }
        let first = positions[0];
        assert_eq!(
            positions,
            (first..first + 2 * per_sender as u64).collect::<Vec<_>>()
        );
        assert_eq!(contents.len(), 2 * per_sender);
    }
}

#[tokio::test]
async fn sends_that_do_not_wait_for_their_acks_keep_their_order_and_get_answers_in_it() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    let (mut alice_socket, _) = stack.connect(0, &alice).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;

    // Act: ten sends at once, the fifth refused (empty content), none waiting for an ack.
    for n in 0..10 {
        let content = if n == 4 {
            String::new()
        } else {
            format!("line {n}")
        };
        alice_socket
            .send(json!({"type": "send", "room": room, "client_msg_id": format!("p-{n}"), "content": content}))
            .await;
    }

    // Assert: the answers come in the order of the sends, the positions in it too.
    let mut answers = Vec::new();
    while answers.len() < 10 {
        let frame = alice_socket.next().await;
        match frame["type"].as_str() {
            Some("ack") => answers.push((
                frame["client_msg_id"].as_str().unwrap().to_owned(),
                frame["position"].as_u64(),
            )),
            Some("error") => answers.push((frame["ref"].as_str().unwrap().to_owned(), None)),
            _ => {}
        }
    }
    let order: Vec<&str> = answers.iter().map(|(id, _)| id.as_str()).collect();
    let expected: Vec<String> = (0..10).map(|n| format!("p-{n}")).collect();
    assert_eq!(order, expected);
    assert_eq!(answers[4].1, None, "the empty send is refused");
    let positions: Vec<u64> = answers.iter().filter_map(|(_, at)| *at).collect();
    assert!(
        positions.windows(2).all(|w| w[1] == w[0] + 1),
        "{positions:?}"
    );
    let mut heard = Vec::new();
    while heard.len() < 9 {
        let event = bob_socket.next_message().await;
        heard.push(event["message"]["content"].as_str().unwrap().to_owned());
    }
    let sent: Vec<String> = (0..10)
        .filter(|n| *n != 4)
        .map(|n| format!("line {n}"))
        .collect();
    assert_eq!(heard, sent);
}

#[tokio::test]
async fn a_retry_on_the_other_gateway_gets_the_original_ack_and_stores_one_copy() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    let (mut bob_socket, _) = stack.connect(0, &bob).await;
    let (mut first, _) = stack.connect(0, &alice).await;
    let (mut second, _) = stack.connect(1, &alice).await;

    // Act
    let original = first
        .send_message(&room.to_string(), "same-id", "once")
        .await;
    let retry = second
        .send_message(&room.to_string(), "same-id", "once")
        .await;
    let marker = second
        .send_message(&room.to_string(), "after", "marker")
        .await;

    // Assert
    assert_eq!(retry["type"], "ack");
    assert_eq!(retry["duplicate"], true);
    for field in ["id", "epoch", "position", "sent_at", "room"] {
        assert_eq!(retry[field], original[field], "{field}");
    }
    let mut heard = Vec::new();
    loop {
        let event = bob_socket.next_message().await;
        heard.push(event["message"]["content"].clone());
        if event["position"] == marker["position"] {
            break;
        }
    }
    assert_eq!(heard, vec![json!("once"), json!("marker")]);
    let stored = stack
        .stored_through(room, marker["position"].as_u64().unwrap())
        .await;
    assert_eq!(stack::messages(&stored).len(), 2);
}

#[tokio::test]
async fn a_long_message_acknowledged_leaves_only_its_small_ack_for_retries_in_redis() {
    // Arrange
    let stack = stack::spawn().await;
    let alice = stack.user();
    let room = stack.room(&alice, &[]).await;
    let (mut first, _) = stack.connect(0, &alice).await;
    let (mut second, _) = stack.connect(1, &alice).await;
    let content = "x".repeat(4000);
    let record = stack
        .sequencer
        .room_keys(&room.to_string())
        .dedup(&alice.id.to_string(), "long-one");

    // Act
    let original = first
        .send_message(&room.to_string(), "long-one", &content)
        .await;
    let (record_len, ttl): (usize, i64) = redis::pipe()
        .cmd("STRLEN")
        .arg(&record)
        .cmd("PTTL")
        .arg(&record)
        .query_async(&mut stack.redis.clone())
        .await
        .expect("redis");
    let retry = second
        .send_message(&room.to_string(), "long-one", &content)
        .await;

    // Assert
    assert_eq!(original["type"], "ack", "{original}");
    assert!(
        (1..200).contains(&record_len),
        "the record of an acknowledged send holds {record_len} bytes"
    );
    assert!(ttl > 0, "the record keeps its time to live ({ttl} ms)");
    assert_eq!(retry["duplicate"], true);
    for field in ["id", "epoch", "position", "sent_at", "room"] {
        assert_eq!(retry[field], original[field], "{field}");
    }
}

#[tokio::test]
async fn a_non_member_is_refused_and_nothing_is_stored_or_delivered() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, mallory) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[]).await;
    let (mut alice_socket, alice_ready) = stack.connect(0, &alice).await;
    let (mut mallory_socket, ready) = stack.connect(1, &mallory).await;
    assert_eq!(ready["rooms"], json!([]));

    // Act
    let refused = mallory_socket
        .send_message(&room.to_string(), "sneaky", "let me in")
        .await;
    let own = alice_socket
        .send_message(&room.to_string(), "mine", "members only")
        .await;

    // Assert
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "not_a_member");
    assert_eq!(refused["ref"], "sneaky");
    assert_eq!(
        own["position"].as_u64().unwrap(),
        alice_ready["rooms"][0]["position"].as_u64().unwrap() + 1,
        "the refused send took no position"
    );
    let event = alice_socket.next_message().await;
    assert_eq!(event["message"]["content"], "members only");
    let stored = stack
        .stored_through(room, own["position"].as_u64().unwrap())
        .await;
    assert_eq!(stack::messages(&stored).len(), 1);

    // History is refused to a non-member too.
    mallory_socket
        .send(json!({"type": "history", "id": "h1", "room": room}))
        .await;
    let error = mallory_socket.expect("error").await;
    assert_eq!(error["code"], "not_a_member");
    assert_eq!(error["ref"], "h1");
}

#[tokio::test]
async fn an_ack_means_the_broker_holds_the_message() {
    // Arrange: no consumer, so only the broker can hold what was acknowledged.
    let stack = stack::spawn().await;
    let alice = stack.user();
    let room = stack.room(&alice, &[]).await;
    stack.stop_history().await;
    let (mut socket, _) = stack.connect(0, &alice).await;
    // The room's own entries may still wait there, unconsumed when history stopped.
    let queued = queued_messages(&stack.scope.persist_queue).await;

    // Act
    let ack = socket
        .send_message(&room.to_string(), "durable", "kept")
        .await;

    // Assert
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(
        queued_messages(&stack.scope.persist_queue).await,
        queued + 1
    );
    stack.start_history().await;
    let position = ack["position"].as_u64().unwrap();
    let stored = stack.stored_through(room, position).await;
    assert_eq!(stored.last().unwrap().position.unwrap().seq, position);
    assert_eq!(stack::messages(&stored)[0].content, "kept");
}

/// How many messages wait in `queue`.
pub(crate) async fn queued_messages(queue: &str) -> u32 {
    let connection = lapin::Connection::connect(
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        lapin::ConnectionProperties::default(),
    )
    .await
    .expect("rabbitmq");
    let channel = connection.create_channel().await.expect("channel");
    let declared = channel
        .queue_declare(
            queue,
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
        .expect("queue exists");
    let _ = connection.close(0, "done").await;
    declared.message_count()
}

#[tokio::test]
async fn a_joining_socket_gets_every_entry_after_the_event_that_added_the_user() {
    // Arrange: Alice keeps talking in her public room while Bob joins it.
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[]).await;
    let (mut alice_watching, _) = stack.connect(0, &alice).await;
    let (mut alice_talking, _) = stack.connect(1, &alice).await;
    let (mut bob_socket, _) = stack.connect(0, &bob).await;
    let room_text = room.to_string();
    let talking = tokio::spawn(async move {
        let mut last = 0;
        for i in 0..40 {
            let ack = alice_talking
                .send_message(&room_text, &format!("busy-{i}"), &format!("busy {i}"))
                .await;
            last = ack["position"].as_u64().expect("an acknowledged position");
        }
        last
    });

    // Act
    bob_socket
        .send(json!({"type": "join", "id": "j1", "room": room}))
        .await;

    // Assert: his socket starts at the event that added him, as his other sockets would ...
    let (mut frames, _) = bob_socket.until("joined").await;
    let announced = loop {
        let (_, event) = alice_watching.until("member.joined").await;
        if event["user_id"] == bob.id.to_string() {
            break event;
        }
    };
    let added = frames.remove(
        frames
            .iter()
            .position(|f| f["type"] == "room.added")
            .expect("room.added before joined"),
    );
    assert_eq!(added["position"], announced["position"], "{added}");
    assert_eq!(added["epoch"], announced["epoch"]);
    // ... then gets every entry after it once, in order, none skipped.
    let last = talking.await.expect("Alice talked");
    let mut expected = announced["position"].as_u64().expect("a position") + 1;
    let mut frames = std::collections::VecDeque::from(frames);
    while expected <= last {
        let frame = match frames.pop_front() {
            Some(frame) => frame,
            None => bob_socket.next().await,
        };
        if frame["room"] != room.to_string() || frame["position"].is_null() {
            continue;
        }
        assert_eq!(frame["position"], expected, "{frame}");
        expected += 1;
    }
}

#[tokio::test]
async fn joining_and_leaving_change_what_every_socket_of_the_user_receives() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[]).await;
    let (mut bob_here, _) = stack.connect(0, &bob).await;
    let (mut bob_there, _) = stack.connect(1, &bob).await;
    let (mut alice_socket, _) = stack.connect(0, &alice).await;

    // Act
    bob_here
        .send(json!({"type": "join", "id": "j1", "room": room}))
        .await;

    // Assert: both of Bob's sockets now hear the room.
    let (frames, joined) = bob_here.until("joined").await;
    assert_eq!(joined["ref"], "j1");
    let added: Vec<&Value> = frames
        .iter()
        .filter(|f| f["type"] == "room.added")
        .collect();
    assert_eq!(added.len(), 1, "{frames:?}");
    let added_there = bob_there.expect("room.added").await;
    assert_eq!(added_there["room"], room.to_string());
    // The other socket starts right after the event that added Bob.
    let announced = alice_socket.expect("member.joined").await;
    assert_eq!(announced["user_id"], bob.id.to_string());
    assert_eq!(added_there["position"], announced["position"]);
    assert_eq!(added_there["epoch"], announced["epoch"]);
    alice_socket
        .send_message(&room.to_string(), "welcome", "welcome bob")
        .await;
    assert_eq!(
        bob_there.until("message.created").await.1["message"]["content"],
        "welcome bob"
    );
    assert_eq!(
        bob_here.until("message.created").await.1["message"]["content"],
        "welcome bob"
    );

    // Act: leave.
    bob_here
        .send(json!({"type": "leave", "id": "l1", "room": room}))
        .await;
    let (_, left) = bob_here.until("left").await;
    assert_eq!(left["ref"], "l1");
    let (_, removed) = bob_there.until("room.removed").await;
    assert_eq!(removed["reason"], "left");

    // Bob may no longer send there.
    let refused = bob_there
        .send_message(&room.to_string(), "late", "still here?")
        .await;
    assert_eq!(refused["code"], "not_a_member");
}

#[tokio::test]
async fn a_kicked_member_stops_hearing_the_room_at_once() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    let (mut alice_socket, _) = stack.connect(0, &alice).await;

    // Act
    stack
        .rooms
        .clone()
        .kick(chat_proto::v1::KickRequest {
            caller_id: alice.id.to_string(),
            room_id: room.to_string(),
            user_id: bob.id.to_string(),
        })
        .await
        .expect("kicked");

    // Assert
    let (_, removed) = bob_socket.until("room.removed").await;
    assert_eq!(removed["room"], room.to_string());
    assert_eq!(removed["reason"], "kicked");
    alice_socket
        .send_message(&room.to_string(), "after-kick", "bob is gone")
        .await;
    let refused = bob_socket
        .send_message(&room.to_string(), "back", "let me back")
        .await;
    assert_eq!(refused["code"], "not_a_member");
    bob_socket.send(json!({"type": "ping", "id": "end"})).await;
    let (frames, _) = bob_socket.until("pong").await;
    assert!(
        frames
            .iter()
            .all(|frame| frame["type"] != "message.created"),
        "{frames:?}"
    );
}
