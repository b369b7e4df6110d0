//! What clients got wrong answers to before: a resume ahead of the room, a socket leave,
//! a malformed resume, history bounds given together, and the REST send limit across
//! gateways.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::stack::{self, Options, Stack, User};

async fn post_message(
    stack: &Stack,
    gateway: usize,
    user: &User,
    n: u32,
    room: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/messages", stack.gateways[gateway].url()))
        .bearer_auth(&user.token)
        .json(&json!({"room_id": room, "content": "burst", "client_msg_id": format!("b{n}")}))
        .send()
        .await
        .expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.json().await.expect("json"))
}

#[tokio::test]
async fn a_resume_ahead_of_the_room_is_answered_with_resync_and_later_messages_arrive() {
    // Arrange: a direct-like room at position 5; Bob claims to have seen 55.
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    let (mut alice_socket, _) = stack.connect(0, &alice).await;
    let mut last = Value::Null;
    for n in 0..3 {
        last = alice_socket
            .send_message(&room.to_string(), &format!("m{n}"), "hello")
            .await;
    }
    let epoch = last["epoch"].clone();
    let current = last["position"].as_u64().unwrap();

    // Act
    let ahead = json!({room.to_string(): {"epoch": epoch, "position": current + 50}});
    let (mut bob_socket, _) = stack.connect_resuming(1, &bob, ahead).await;

    // Assert: told where the room stands, and the next message is delivered.
    let resync = bob_socket.expect("resync").await;
    assert_eq!(resync["position"], current);
    assert_eq!(resync["reason"], "epoch_changed");
    let resumed = bob_socket.expect("resumed").await;
    assert_eq!(resumed["position"], current);
    let next = alice_socket
        .send_message(&room.to_string(), "after", "are you there?")
        .await;
    let delivered = bob_socket.next_message().await;
    assert_eq!(delivered["position"], next["position"]);
}

#[tokio::test]
async fn a_socket_leave_delivers_member_left_before_room_removed() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    let (mut bob_socket, _) = stack.connect(0, &bob).await;

    // Act
    bob_socket
        .send(json!({"type": "leave", "id": "l1", "room": room}))
        .await;

    // Assert
    let (frames, left) = bob_socket.until("left").await;
    assert_eq!(left["ref"], "l1");
    let kinds: Vec<&str> = frames
        .iter()
        .map(|frame| frame["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["member.left", "room.removed"], "{frames:?}");
    assert_eq!(frames[0]["user_id"], bob.id.to_string());
    assert_eq!(frames[1]["reason"], "left");
}

#[tokio::test]
async fn a_malformed_resume_is_an_invalid_frame_and_the_socket_may_try_again() {
    // Arrange
    let stack = stack::spawn().await;
    let bob = stack.user();
    let mut socket = chat_test_stack::socket::Socket::open(stack.gateways[0].addr, &[]).await;

    // Act
    socket
        .send(json!({"type": "auth", "token": bob.token, "resume": {"not-a-room": {"epoch": 1, "position": 2}}}))
        .await;
    let error = socket.expect("error").await;
    socket
        .send(json!({"type": "auth", "token": bob.token, "resume": {uuid::Uuid::now_v7().to_string(): {"epoch": 1}}}))
        .await;
    let missing = socket.expect("error").await;
    socket
        .send(json!({"type": "auth", "token": bob.token}))
        .await;

    // Assert
    assert_eq!(error["code"], "invalid_frame", "{error}");
    assert!(
        error["fields"]
            .as_object()
            .unwrap()
            .keys()
            .any(|f| f.starts_with("resume")),
        "{error}"
    );
    assert_eq!(missing["code"], "invalid_frame", "{missing}");
    assert!(
        missing["fields"]
            .as_object()
            .unwrap()
            .keys()
            .any(|f| f.ends_with("position")),
        "{missing}"
    );
    socket.expect("ready").await;
}

#[tokio::test]
async fn history_bounds_given_together_name_the_field_at_fault() {
    let stack = stack::spawn().await;
    let alice = stack.user();
    let room = stack.room(&alice, &[]).await;

    let response = reqwest::Client::new()
        .get(format!(
            "{}/api/rooms/{room}/messages?before=5&after=2",
            stack.gateways[0].url()
        ))
        .bearer_auth(&alice.token)
        .send()
        .await
        .expect("request");

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(
        body["error"]["message"],
        "after cannot be given with `before`; give one or neither"
    );
    assert!(body["error"]["fields"]["after"].is_string(), "{body}");
}

#[tokio::test]
async fn the_rest_send_limit_is_per_user_across_gateways() {
    // Arrange: a user with 10 sends per second, spread over two gateways.
    let stack = stack::spawn_with(Options {
        sends_per_second: 10,
        ..Options::default()
    })
    .await;
    let alice = stack.user();
    let room = stack.room(&alice, &[]).await.to_string();

    // Act: 40 sends at once, alternating gateways (a limit per gateway would let 20 in).
    let answers = futures::future::join_all(
        (0..40u32).map(|n| post_message(&stack, (n % 2) as usize, &alice, n, &room)),
    )
    .await;
    let mut limited = None;
    let mut accepted = 0;
    for (status, headers, body) in answers {
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited.get_or_insert((headers, body));
        } else {
            assert_eq!(status, StatusCode::CREATED, "{body}");
            accepted += 1;
        }
    }

    // Assert: about one burst gets through in all, and the refusal says when to retry.
    assert!(accepted <= 14, "{accepted} sends went through two gateways");
    let (headers, body) = limited.expect("some sends were limited");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(
        body["error"]["retry_after_ms"].as_u64().unwrap() >= 1,
        "{body}"
    );
    assert!(headers.contains_key("retry-after"));
}
