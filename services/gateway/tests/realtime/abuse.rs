//! A socket fed what no client should send: each probe gets its typed error, the socket
//! stays usable, and the room is as it was (nothing stored, nothing delivered to others).

use serde_json::{Value, json};

use crate::stack::{self, Stack};

/// Sends `text` and returns the `error` it is answered with.
async fn refused(socket: &mut chat_test_stack::socket::Socket, text: String) -> Value {
    socket.send_text(text).await;
    socket.until("error").await.1
}

#[tokio::test]
async fn probes_get_typed_errors_and_leave_the_socket_and_the_room_intact() {
    let stack: Stack = stack::spawn().await;
    let (mallory, alice) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&mallory]).await;
    let (mut socket, _) = stack.connect(0, &mallory).await;
    let (mut watcher, _) = stack.connect(1, &alice).await;
    let room_text = room.to_string();

    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!(
        r#"{{"type":"send","room":"{room_text}","client_msg_id":"deep","content":{}1{}}}"#,
        "[".repeat(500),
        "]".repeat(500)
    );
    let probes: Vec<(String, &str)> = vec![
        (nested, "malformed_frame"),
        (deep_object, "invalid_frame"),
        ("{\"type\": \"send\", \"type\": \"ping\"}".to_owned(), "invalid_frame"),
        ("{\"type\": \"\\u0000\"}".to_owned(), "unknown_type"),
        (
            json!({"type": "send", "room": room, "client_msg_id": "c\u{0}", "content": "x"}).to_string(),
            "invalid_frame",
        ),
        (
            json!({"type": "send", "room": room, "client_msg_id": "ok-1", "content": "bell\u{7}"}).to_string(),
            "invalid_frame",
        ),
        (
            json!({"type": "send", "room": format!("{{{room_text}}}"), "client_msg_id": "ok-2", "content": "x"}).to_string(),
            "invalid_frame",
        ),
        (
            json!({"type": "history", "id": "h", "room": room, "before": "99999999999999999999999:1"}).to_string(),
            "invalid_frame",
        ),
        (
            json!({"type": "history", "id": "h2", "room": room, "limit": -1}).to_string(),
            "invalid_frame",
        ),
        (
            json!({"type": "auth", "token": stack.user().token}).to_string(),
            "already_authenticated",
        ),
        (
            json!({"type": "react", "id": "r", "message_id": room, "emoji": "not an emoji"}).to_string(),
            "invalid_frame",
        ),
    ];
    for (probe, code) in probes {
        let shown: String = probe.chars().take(80).collect();
        let error = refused(&mut socket, probe).await;
        assert_eq!(error["code"], code, "{shown}: {error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    // The socket still works, and the room got exactly the one real message.
    let ack = socket
        .send_message(&room_text, "after-1", "still here")
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let (_, created) = watcher.until("message.created").await;
    assert_eq!(created["message"]["content"], "still here");
    stack
        .stored_through(room, ack["position"].as_u64().unwrap())
        .await;
    let stored = stack::messages(&stack.stored(room).await)
        .iter()
        .map(|message| message.content.clone())
        .collect::<Vec<_>>();
    assert_eq!(stored, ["still here"]);
}
