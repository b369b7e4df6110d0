//! Bad input and limits: each gets its documented error or close code, and a socket that
//! got an error frame stays usable.

use std::time::Duration;

use chat_test_stack::socket::Socket;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::stack::{self, Options};

#[tokio::test]
async fn every_malformed_frame_gets_its_error_and_the_socket_stays_usable() {
    // Arrange
    let stack = stack::spawn().await;
    let alice = stack.user();
    let room = stack.room(&alice, &[]).await;
    let (mut socket, ready) = stack.connect(0, &alice).await;
    let long = "x".repeat(4001);
    let cases: Vec<(String, &str, Option<&str>)> = vec![
        ("not json".into(), "malformed_frame", None),
        ("[1, 2]".into(), "malformed_frame", None),
        ("{\"type\": \"send\"".into(), "malformed_frame", None),
        ("{}".into(), "unknown_type", None),
        (json!({"type": 7}).to_string(), "unknown_type", None),
        (json!({"type": "dance"}).to_string(), "unknown_type", None),
        (
            json!({"type": "send", "room": room, "content": "x"}).to_string(),
            "invalid_frame",
            Some("client_msg_id"),
        ),
        (
            json!({"type": "send", "room": room, "client_msg_id": "c1", "content": "x", "extra": 1})
                .to_string(),
            "invalid_frame",
            Some("extra"),
        ),
        (
            json!({"type": "send", "room": "not-a-uuid", "client_msg_id": "c1", "content": "x"})
                .to_string(),
            "invalid_frame",
            Some("room"),
        ),
        (
            json!({"type": "send", "room": room, "client_msg_id": "bad id!", "content": "x"})
                .to_string(),
            "invalid_frame",
            Some("client_msg_id"),
        ),
        (
            json!({"type": "send", "room": room, "client_msg_id": "c2", "content": 5}).to_string(),
            "invalid_frame",
            Some("content"),
        ),
        (
            json!({"type": "send", "room": room, "client_msg_id": "c3", "content": "  \n "})
                .to_string(),
            "empty_content",
            None,
        ),
        (
            json!({"type": "send", "room": room, "client_msg_id": "c4", "content": long})
                .to_string(),
            "content_too_long",
            None,
        ),
        (
            json!({"type": "history", "id": "h", "room": room, "limit": 101}).to_string(),
            "invalid_frame",
            Some("limit"),
        ),
        (
            json!({"type": "history", "id": "h", "room": room, "before": "x:y"}).to_string(),
            "invalid_frame",
            Some("before"),
        ),
        (
            json!({"type": "join", "room": room}).to_string(),
            "invalid_frame",
            Some("id"),
        ),
    ];

    for (text, code, field) in cases {
        // Act
        socket.send_text(text.clone()).await;

        // Assert
        let error = socket.expect("error").await;
        assert_eq!(error["code"], code, "{text}: {error}");
        if let Some(field) = field {
            assert!(
                error["fields"].get(field).is_some(),
                "{text}: expected field {field} in {error}"
            );
        }
    }
    socket.send_raw(Message::Binary(vec![1, 2, 3].into())).await;
    assert_eq!(socket.expect("error").await["code"], "malformed_frame");

    // Still usable, and nothing was stored.
    socket.send(json!({"type": "ping", "id": "p1"})).await;
    assert_eq!(socket.expect("pong").await["ref"], "p1");
    let ack = socket.send_message(&room.to_string(), "fine", "ok").await;
    assert_eq!(
        ack["position"].as_u64().unwrap(),
        ready["rooms"][0]["position"].as_u64().unwrap() + 1,
        "nothing took a position before: {ack}"
    );
}

#[tokio::test]
async fn a_frame_over_the_limit_is_refused_and_the_socket_stays_usable() {
    let stack = stack::spawn().await;
    let alice = stack.user();
    let room = stack.room(&alice, &[]).await;
    let (mut socket, ready) = stack.connect(0, &alice).await;
    assert_eq!(ready["limits"]["max_frame_bytes"], 65536);

    socket
        .send(json!({"type": "send", "room": room, "client_msg_id": "big", "content": "x".repeat(70_000)}))
        .await;
    assert_eq!(socket.expect("error").await["code"], "frame_too_large");

    let ack = socket.send_message(&room.to_string(), "small", "ok").await;
    assert_eq!(ack["type"], "ack");
}

#[tokio::test]
async fn a_message_over_the_hard_limit_closes_with_1009() {
    let stack = stack::spawn().await;
    let alice = stack.user();
    let (mut socket, _) = stack.connect(0, &alice).await;

    socket.send_text("x".repeat(2 * 1024 * 1024)).await;

    assert_eq!(socket.closed().await, Some(1009));
}

#[tokio::test]
async fn sends_beyond_the_rate_are_refused_with_a_retry_delay() {
    let stack = stack::spawn_with(Options {
        sends_per_second: 2,
        ..Options::default()
    })
    .await;
    let alice = stack.user();
    let room = stack.room(&alice, &[]).await;
    let (mut socket, ready) = stack.connect(0, &alice).await;
    assert_eq!(ready["limits"]["sends_per_second"], 2);

    let mut refused = None;
    for n in 0..5 {
        let answer = socket
            .send_message(&room.to_string(), &format!("r{n}"), "spam")
            .await;
        if answer["type"] == "error" {
            refused = Some(answer);
            break;
        }
    }

    let refused = refused.expect("a send was refused");
    assert_eq!(refused["code"], "rate_limited");
    assert!(refused["retry_after_ms"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn every_kind_of_frame_has_a_rate_and_the_socket_stays_usable() {
    let stack = stack::spawn_with(Options {
        frames_per_second: 2,
        ..Options::default()
    })
    .await;
    let alice = stack.user();
    let room = stack.room(&alice, &[]).await;
    let other = stack.room(&alice, &[]).await;
    let (mut socket, _) = stack.connect(0, &alice).await;

    // A flood of history requests: the first few seconds' worth are answered, the rest
    // refused with their request id and a delay.
    for n in 0..10 {
        socket
            .send(serde_json::json!({"type": "history", "id": format!("h{n}"), "room": room}))
            .await;
    }
    let mut answered = 0;
    let mut refused = Vec::new();
    while answered + refused.len() < 10 {
        let frame = socket.next().await;
        match frame["type"].as_str() {
            Some("history") => answered += 1,
            Some("error") => refused.push(frame),
            _ => {}
        }
    }
    assert!((1..10).contains(&answered), "{answered} answered");
    assert!(refused.iter().all(|error| error["code"] == "rate_limited"
        && error["retry_after_ms"].as_u64().unwrap_or(0) > 0
        && error["ref"].as_str().is_some_and(|id| id.starts_with('h'))));

    // Join and leave cycles are limited the same way; each one let through is a room entry.
    let mut limited = false;
    for n in 0..20 {
        let kind = if n % 2 == 0 { "leave" } else { "join" };
        socket
            .send(serde_json::json!({"type": kind, "id": format!("m{n}"), "room": other}))
            .await;
        let (_, answer) = loop {
            let frame = socket.next().await;
            if frame["ref"] == format!("m{n}") {
                break ((), frame);
            }
        };
        if answer["type"] == "error" && answer["code"] == "rate_limited" {
            limited = true;
            break;
        }
    }
    assert!(limited, "join and leave are limited");

    // Once the rate allows again, the socket answers as before.
    tokio::time::sleep(Duration::from_secs(3)).await;
    socket
        .send(serde_json::json!({"type": "ping", "id": "after"}))
        .await;
    let pong = socket.until("pong").await.1;
    assert_eq!(pong["ref"], "after");
}

#[tokio::test]
async fn a_socket_without_an_auth_frame_in_time_is_closed_with_4001() {
    let stack = stack::spawn_with(Options {
        auth_timeout: "300ms",
        ..Options::default()
    })
    .await;
    let mut socket = Socket::open(stack.gateways[0].addr, &[]).await;

    assert_eq!(socket.closed().await, Some(4001));
}

#[tokio::test]
async fn a_first_frame_other_than_auth_or_a_bad_token_is_closed_with_4001() {
    let stack = stack::spawn().await;
    let mut socket = Socket::open(stack.gateways[0].addr, &[]).await;
    socket.send(json!({"type": "ping"})).await;
    assert_eq!(socket.closed().await, Some(4001));

    let mut socket = Socket::open(stack.gateways[0].addr, &[]).await;
    socket
        .send(json!({"type": "auth", "token": "not.a.token"}))
        .await;
    assert_eq!(socket.closed().await, Some(4001));
}

#[tokio::test]
async fn origins_and_bearer_tokens_are_checked_before_the_upgrade() {
    let stack = stack::spawn().await;
    let addr = stack.gateways[0].addr;

    let refused = Socket::try_open(addr, &[("origin", "https://evil.example")])
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["error"]["code"], "origin_not_allowed");

    let refused = Socket::try_open(addr, &[("authorization", "Bearer nonsense")])
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.status, 401);

    // An allowed origin, and a bearer token with an auth frame that carries none.
    let alice = stack.user();
    let bearer = format!("Bearer {}", alice.token);
    let mut socket = Socket::open(
        addr,
        &[
            ("origin", "https://chat.example"),
            ("authorization", &bearer),
        ],
    )
    .await;
    socket.send(json!({"type": "auth"})).await;
    assert_eq!(
        socket.expect("ready").await["user"]["id"],
        alice.id.to_string()
    );
}

#[tokio::test]
async fn tokens_are_renewed_by_auth_frames_and_an_expired_session_is_closed_with_4002() {
    let stack = stack::spawn().await;
    let alice = stack.user();
    let mut socket = Socket::open(stack.gateways[0].addr, &[]).await;
    socket
        .send(json!({"type": "auth", "token": stack.token_expiring_in(alice.id, 2)}))
        .await;
    socket.expect("ready").await;

    // Another user's token is refused on this socket.
    let bob = stack.user();
    socket
        .send(json!({"type": "auth", "token": bob.token}))
        .await;
    assert_eq!(
        socket.expect("error").await["code"],
        "already_authenticated"
    );

    // A fresh token of the same user renews the session...
    socket
        .send(json!({"type": "auth", "token": stack.token_expiring_in(alice.id, 3)}))
        .await;
    assert!(socket.expect("auth.renewed").await["expires_at"].is_string());

    // ...until it too expires.
    let started = tokio::time::Instant::now();
    assert_eq!(socket.closed().await, Some(4002));
    assert!(started.elapsed() > Duration::from_secs(1));
}

#[tokio::test]
async fn one_connection_too_many_is_closed_with_4004() {
    let stack = stack::spawn_with(Options {
        max_connections_per_user: 2,
        ..Options::default()
    })
    .await;
    let alice = stack.user();
    let _first = stack.connect(0, &alice).await;
    let _second = stack.connect(0, &alice).await;

    let mut third = Socket::open(stack.gateways[0].addr, &[]).await;
    third
        .send(json!({"type": "auth", "token": alice.token}))
        .await;

    assert_eq!(third.closed().await, Some(4004));
    // The limit is per gateway.
    let (_, ready) = stack.connect(1, &alice).await;
    assert_eq!(ready["type"], "ready");
}

#[tokio::test]
async fn a_peer_that_answers_no_heartbeat_is_closed_with_4005_after_three_intervals() {
    let stack = stack::spawn_with(Options {
        heartbeat_interval: "1s",
        ..Options::default()
    })
    .await;
    let alice = stack.user();
    let (mut socket, ready) = stack.connect(0, &alice).await;
    assert_eq!(ready["heartbeat_interval_ms"], 1000);

    // Not reading means not answering the server's pings. Three silent intervals end
    // the socket; reading only after a fourth had begun would answer the pings waiting
    // (and keep a socket the server had not closed yet).
    tokio::time::sleep(Duration::from_millis(3700)).await;

    assert_eq!(socket.closed().await, Some(4005));
}
