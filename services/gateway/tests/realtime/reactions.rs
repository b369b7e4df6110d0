//! Reactions: one per (message, user, emoji), counted in every view of the message with
//! the reader's own marked, each add and remove a room entry, normalised emoji, a limit
//! of different emoji per message, and none on a deleted message.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::stack::{self, Stack, User};

async fn call(
    stack: &Stack,
    user: &User,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    stack
        .api(1, user, method, &format!("messages/{path}"), body)
        .await
}

async fn react(stack: &Stack, user: &User, id: &str, emoji: &str) -> (StatusCode, Value) {
    call(
        stack,
        user,
        Method::POST,
        &format!("{id}/react"),
        Some(json!({"emoji": emoji})),
    )
    .await
}

async fn unreact(stack: &Stack, user: &User, id: &str, emoji: &str) -> (StatusCode, Value) {
    let emoji: String = url_escape(emoji);
    call(
        stack,
        user,
        Method::DELETE,
        &format!("{id}/reactions/{emoji}"),
        None,
    )
    .await
}

fn url_escape(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn counts(view: &Value) -> Vec<(String, u64, bool)> {
    view["reactions"]
        .as_array()
        .unwrap_or_else(|| panic!("no reactions in {view}"))
        .iter()
        .map(|r| {
            (
                r["emoji"].as_str().unwrap().to_owned(),
                r["count"].as_u64().unwrap(),
                r["me"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Reads the message until history shows `expected` reactions for `user`.
async fn settled(stack: &Stack, user: &User, id: &str, expected: &[(&str, u64, bool)]) -> Value {
    let expected: Vec<(String, u64, bool)> = expected
        .iter()
        .map(|(e, c, m)| ((*e).to_owned(), *c, *m))
        .collect();
    let deadline = tokio::time::Instant::now() + stack::PATIENCE;
    loop {
        let (_, view) = call(stack, user, Method::GET, id, None).await;
        if counts(&view) == expected || tokio::time::Instant::now() > deadline {
            assert_eq!(counts(&view), expected, "{view}");
            return view;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn reactions_are_counted_once_per_person_and_heard_live() {
    let stack = stack::spawn().await;
    let (ada, bob) = (stack.user(), stack.user());
    let room = stack.room(&ada, &[&bob]).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    let ack = ada_socket
        .send_message(&room.to_string(), "x-1", "lunch?")
        .await;
    let id = ack["id"].as_str().unwrap();
    let created = bob_socket.next_message().await;
    assert_eq!(created["message"]["reactions"], json!([]));

    let (status, view) = react(&stack, &bob, id, "👍").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(counts(&view), [("👍".into(), 1, true)]);
    // Twice at once is still one reaction, and one entry.
    let (_, again) = react(&stack, &bob, id, "👍").await;
    assert_eq!(counts(&again), [("👍".into(), 1, true)]);
    react(&stack, &ada, id, "👍").await;
    react(&stack, &ada, id, "❤").await;

    let (_, added) = ada_socket.until("reaction.added").await;
    assert_eq!(added["message_id"], id);
    assert_eq!(added["emoji"], "👍");
    assert_eq!(added["user_id"], bob.id.to_string());
    settled(&stack, &ada, id, &[("👍", 2, true), ("❤\u{fe0f}", 1, true)]).await;
    settled(
        &stack,
        &bob,
        id,
        &[("👍", 2, true), ("❤\u{fe0f}", 1, false)],
    )
    .await;

    // Taken back with the other spelling of the same emoji.
    let (status, view) = unreact(&stack, &ada, id, "❤\u{fe0f}").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(counts(&view), [("👍".into(), 2, true)]);
    settled(&stack, &bob, id, &[("👍", 2, true)]).await;
    // Taking back what one never gave changes nothing.
    let (status, none) = unreact(&stack, &bob, id, "🎉").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counts(&none), [("👍".into(), 2, true)]);
    let page: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/rooms/{room}/messages",
            stack.gateways[0].url()
        ))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    settled(&stack, &bob, id, &[("👍", 2, true)]).await;
    let (kinds, _) = bob_socket.until("reaction.removed").await;
    let added = kinds
        .iter()
        .filter(|f| f["type"] == "reaction.added")
        .count();
    assert_eq!(added, 3, "one entry per reaction: {kinds:?}");
    assert!(page["messages"][0]["reactions"].is_array(), "{page}");
}

#[tokio::test]
async fn bad_emoji_limits_and_deleted_messages_are_refused() {
    let stack = stack::spawn().await;
    let (ada, eve) = (stack.user(), stack.user());
    let room = stack.room(&ada, &[]).await;
    let (mut socket, _) = stack.connect(0, &ada).await;
    let ack = socket
        .send_message(&room.to_string(), "y-1", "react to me")
        .await;
    let id = ack["id"].as_str().unwrap();

    for bad in ["", "x", "👍👍", ":+1:"] {
        let (status, body) = react(&stack, &ada, id, bad).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{bad:?}"
        );
        assert!(body["error"]["fields"]["emoji"].is_string(), "{body}");
    }
    let (status, body) = react(&stack, &eve, id, "👍").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "message_not_found")
    );

    let many = [
        "😀", "😃", "😄", "😁", "😆", "😅", "🤣", "😂", "🙂", "🙃", "😉", "😊", "😇", "🥰", "😍",
        "🤩", "😘", "😗", "😚", "😙", "😋", "😛", "😜", "🤪", "😝", "🤑", "🤗", "🤭", "🤫", "🤔",
        "🤐", "🤨", "😐", "😑", "😶", "😏", "😒", "🙄", "😬", "🤥", "😌", "😔", "😪", "🤤", "😴",
        "😷", "🤒", "🤕", "🤢", "🤮",
    ];
    assert_eq!(many.len(), 50);
    for emoji in many {
        let (status, body) = react(&stack, &ada, id, emoji).await;
        assert_eq!(status, StatusCode::OK, "{emoji} {body}");
    }
    let expected: Vec<(&str, u64, bool)> = many.iter().map(|e| (*e, 1, true)).collect();
    settled(&stack, &ada, id, &expected).await;
    let (status, body) = react(&stack, &ada, id, "🎉").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "too_many_reactions")
    );
    // One of the fifty again is fine.
    let (status, _) = react(&stack, &ada, id, "😀").await;
    assert_eq!(status, StatusCode::OK);

    call(&stack, &ada, Method::DELETE, id, None).await;
    let (status, body) = react(&stack, &ada, id, "👍").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "message_deleted")
    );
    let tombstone = settled(&stack, &ada, id, &[]).await;
    assert_eq!(tombstone["content"], "");
}

#[tokio::test]
async fn react_frames_are_answered_with_done() {
    let stack = stack::spawn().await;
    let ada = stack.user();
    let room = stack.room(&ada, &[]).await;
    let (mut socket, _) = stack.connect(0, &ada).await;
    let ack = socket
        .send_message(&room.to_string(), "z-1", "frames")
        .await;
    let id = ack["id"].as_str().unwrap();

    socket
        .send(json!({"type": "react", "id": "q1", "message_id": id, "emoji": "🎉"}))
        .await;
    let (_, done) = socket.until("done").await;
    assert_eq!(done["ref"], "q1");
    assert_eq!(counts(&done["message"]), [("🎉".into(), 1, true)]);
    socket
        .send(json!({"type": "unreact", "id": "q2", "message_id": id, "emoji": "🎉"}))
        .await;
    let (_, done) = socket.until("done").await;
    assert_eq!(done["ref"], "q2");
    assert_eq!(done["message"]["reactions"], json!([]));
    socket
        .send(json!({"type": "react", "id": "q3", "message_id": id, "emoji": "nope"}))
        .await;
    let (_, refused) = socket.until("error").await;
    assert_eq!(refused["code"], "invalid_frame");
    assert_eq!(refused["ref"], "q3");
}
