//! Changing messages: edits by their author with revisions kept, deletions by the author
//! or a room's admins leaving a tombstone, each a room entry heard live and replayed by
//! catch-up with deleted content never sent again, and retries that change nothing.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::stack::{self, Options, Stack, User};

/// `METHOD /api/messages/{id}{suffix}` as `user` on gateway 0.
async fn call(
    stack: &Stack,
    user: &User,
    method: Method,
    id: &str,
    suffix: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    stack
        .api(0, user, method, &format!("messages/{id}{suffix}"), body)
        .await
}

async fn edit(stack: &Stack, user: &User, id: &str, content: &str) -> (StatusCode, Value) {
    call(
        stack,
        user,
        Method::PUT,
        id,
        "",
        Some(json!({"content": content})),
    )
    .await
}

async fn delete(stack: &Stack, user: &User, id: &str) -> (StatusCode, Value) {
    call(stack, user, Method::DELETE, id, "", None).await
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Entries of `room` history holds, by kind.
async fn stored_kinds(stack: &Stack, room: Uuid) -> Vec<&'static str> {
    use chat_proto::v1::room_item::Body;
    stack
        .stored(room)
        .await
        .iter()
        .map(
            |entry| match entry.item.as_ref().and_then(|item| item.body.as_ref()) {
                Some(Body::Message(_)) => "message",
                Some(Body::Edited(_)) => "edited",
                Some(Body::Deleted(_)) => "deleted",
                _ => "other",
            },
        )
        .filter(|kind| *kind != "other")
        .collect()
}

/// Waits until history holds `count` entries of `room` that are messages or changes.
async fn stored_changes(stack: &Stack, room: Uuid, count: usize) -> Vec<&'static str> {
    let deadline = tokio::time::Instant::now() + stack::PATIENCE;
    loop {
        let kinds = stored_kinds(stack, room).await;
        if kinds.len() >= count || tokio::time::Instant::now() > deadline {
            return kinds;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_author_edits_and_the_room_hears_it_with_every_revision_kept() {
    let stack = stack::spawn().await;
    let (ada, bob) = (stack.user(), stack.user());
    let room = stack.room(&ada, &[&bob]).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    let ack = ada_socket
        .send_message(&room.to_string(), "e-1", "helo")
        .await;
    let id = ack["id"].as_str().unwrap().to_owned();
    bob_socket.next_message().await;

    let (status, edited) = edit(&stack, &ada, &id, "hello").await;

    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["content"], "hello");
    assert!(edited["edited_at"].is_string(), "{edited}");
    assert_eq!(edited["position"], ack["position"]);
    let heard = bob_socket.expect("message.edited").await;
    assert_eq!(heard["message_id"], id.as_str());
    assert_eq!(heard["content"], "hello");
    assert!(heard["position"].as_u64() > ack["position"].as_u64());
    let (_, again) = edit(&stack, &ada, &id, "hello, world").await;
    assert_eq!(again["content"], "hello, world");
    stored_changes(&stack, room, 3).await;
    let (status, revisions) = call(&stack, &bob, Method::GET, &id, "/revisions", None).await;
    assert_eq!(status, StatusCode::OK);
    let contents: Vec<&str> = revisions["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|revision| revision["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["helo", "hello", "hello, world"]);
    let (_, read) = call(&stack, &bob, Method::GET, &id, "", None).await;
    assert_eq!(read["content"], "hello, world");
}

#[tokio::test]
async fn the_same_edit_twice_is_one_entry_and_the_same_answer() {
    let stack = stack::spawn().await;
    let ada = stack.user();
    let room = stack.room(&ada, &[]).await;
    let (mut socket, _) = stack.connect(0, &ada).await;
    let ack = socket.send_message(&room.to_string(), "i-1", "draft").await;
    let id = ack["id"].as_str().unwrap();

    // The retry comes at once, before history may hold the first edit.
    let (_, first) = edit(&stack, &ada, id, "final").await;
    let (status, second) = edit(&stack, &ada, id, "final").await;
    stored_changes(&stack, room, 2).await;
    let (_, third) = edit(&stack, &ada, id, "final").await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(second["content"], first["content"]);
    assert_eq!(second["edited_at"], first["edited_at"]);
    assert_eq!(third["edited_at"], first["edited_at"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stored_kinds(&stack, room).await, ["message", "edited"]);
}

#[tokio::test]
async fn only_the_author_edits_and_content_follows_the_send_rules() {
    let stack = stack::spawn().await;
    let (ada, bob, eve) = (stack.user(), stack.user(), stack.user());
    let room = stack.room(&ada, &[&bob]).await;
    let (mut socket, _) = stack.connect(0, &ada).await;
    let ack = socket.send_message(&room.to_string(), "a-1", "mine").await;
    let id = ack["id"].as_str().unwrap();

    let (status, body) = edit(&stack, &bob, id, "yours now").await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "not_author"));
    let (status, body) = edit(&stack, &eve, id, "outsider").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "message_not_found")
    );
    let (status, body) = call(&stack, &eve, Method::GET, id, "", None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "message_not_found")
    );
    let (status, body) = edit(&stack, &ada, id, "   ").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "empty_content")
    );
    let (status, body) = edit(&stack, &ada, id, &"x".repeat(4001)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "content_too_long")
    );
    let (status, body) = edit(&stack, &ada, &Uuid::now_v7().to_string(), "none").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "message_not_found")
    );
    let (status, body) = edit(&stack, &ada, "not-an-id", "none").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "message_not_found")
    );
    let (_, read) = call(&stack, &ada, Method::GET, id, "", None).await;
    assert_eq!(read["content"], "mine");
    assert!(read["edited_at"].is_null());
}

#[tokio::test]
async fn a_plain_member_deletes_only_their_own_and_an_owner_any() {
    let stack = stack::spawn().await;
    let (ada, bob) = (stack.user(), stack.user());
    let room = stack.room(&ada, &[&bob]).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    let ada_said = ada_socket
        .send_message(&room.to_string(), "d-1", "owner's")
        .await;
    let bob_said = bob_socket
        .send_message(&room.to_string(), "d-2", "member's")
        .await;
    let (ada_id, bob_id) = (
        ada_said["id"].as_str().unwrap(),
        bob_said["id"].as_str().unwrap(),
    );

    let (status, body) = delete(&stack, &bob, ada_id).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, tombstone) = delete(&stack, &ada, bob_id).await;
    assert_eq!(status, StatusCode::OK, "{tombstone}");
    assert_eq!(tombstone["content"], "");
    assert!(tombstone["deleted_at"].is_string());
    let (status, again) = delete(&stack, &ada, bob_id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], tombstone["id"]);
    let (status, own) = delete(&stack, &ada, ada_id).await;
    assert_eq!(status, StatusCode::OK, "{own}");

    stored_changes(&stack, room, 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        stored_kinds(&stack, room).await,
        ["message", "message", "deleted", "deleted"],
        "one deletion entry each"
    );
    let (status, body) = edit(&stack, &bob, bob_id, "back").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "message_deleted")
    );
    let (_, read) = call(&stack, &bob, Method::GET, bob_id, "", None).await;
    assert_eq!(read["content"], "");
    assert!(read["deleted_at"].is_string());
    let (_, revisions) = call(&stack, &bob, Method::GET, bob_id, "/revisions", None).await;
    assert_eq!(revisions["revisions"], json!([]));
    let page: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/rooms/{room}/messages",
            stack.gateways[1].url()
        ))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let contents: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|message| message["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["", ""], "{page}");
}

#[tokio::test]
async fn edit_and_delete_frames_are_answered_with_done() {
    let stack = stack::spawn().await;
    let (ada, bob) = (stack.user(), stack.user());
    let room = stack.room(&ada, &[&bob]).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    let ack = ada_socket
        .send_message(&room.to_string(), "f-1", "frame")
        .await;
    let id = ack["id"].as_str().unwrap();
    bob_socket.next_message().await;

    ada_socket
        .send(json!({"type": "edit", "id": "r1", "message_id": id, "content": "framed"}))
        .await;
    let (_, done) = ada_socket.until("done").await;
    assert_eq!(done["ref"], "r1");
    assert_eq!(done["message"]["content"], "framed");
    bob_socket
        .send(json!({"type": "edit", "id": "r2", "message_id": id, "content": "mine"}))
        .await;
    let (mut heard, refused) = bob_socket.until("error").await;
    assert_eq!(refused["code"], "not_author");
    assert_eq!(refused["ref"], "r2");
    ada_socket
        .send(json!({"type": "delete", "id": "r3", "message_id": id}))
        .await;
    let (_, done) = ada_socket.until("done").await;
    assert_eq!(done["ref"], "r3");
    assert!(done["message"]["deleted_at"].is_string());
    let (before, deleted) = bob_socket.until("message.deleted").await;
    assert_eq!(deleted["message_id"], id);
    heard.extend(before);
    assert!(
        heard.iter().any(|frame| frame["type"] == "message.edited"),
        "{heard:?}"
    );
    ada_socket
        .send(json!({"type": "edit", "id": "r4", "message_id": "nope", "content": "x"}))
        .await;
    let (_, refused) = ada_socket.until("error").await;
    assert_eq!(refused["code"], "invalid_frame");
}

/// What a client holds of one message after applying room entries.
#[derive(Debug, PartialEq)]
struct Seen {
    id: String,
    content: String,
    edited: bool,
    deleted: bool,
    /// Emoji and how many gave each.
    reactions: std::collections::BTreeMap<String, i64>,
}

/// The state a client builds from room entries.
fn replay(frames: &[Value]) -> Vec<Seen> {
    let mut state: Vec<Seen> = Vec::new();
    for frame in frames {
        let target = frame["message_id"].as_str().unwrap_or_default();
        let found = state.iter_mut().find(|seen| seen.id == target);
        match (frame["type"].as_str(), found) {
            (Some("message.created"), _) => state.push(Seen {
                id: frame["message"]["id"].as_str().unwrap().to_owned(),
                content: frame["message"]["content"].as_str().unwrap().to_owned(),
                edited: false,
                deleted: false,
                reactions: Default::default(),
            }),
            (Some("message.edited"), Some(seen)) => {
                seen.content = frame["content"].as_str().unwrap().to_owned();
                seen.edited = true;
            }
            (Some("message.deleted"), Some(seen)) => {
                seen.content.clear();
                seen.deleted = true;
                seen.reactions.clear();
            }
            (Some(kind @ ("reaction.added" | "reaction.removed")), Some(seen)) => {
                let emoji = frame["emoji"].as_str().unwrap().to_owned();
                let count = seen.reactions.entry(emoji.clone()).or_default();
                *count += if kind == "reaction.added" { 1 } else { -1 };
                if *count == 0 {
                    seen.reactions.remove(&emoji);
                }
            }
            _ => {}
        }
    }
    state
}

async fn catch_up_after_changes(trim_to: Option<usize>) {
    let stack = stack::spawn().await;
    let (ada, bob, cleo) = (stack.user(), stack.user(), stack.user());
    let room = stack.room(&ada, &[&bob, &cleo]).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let (mut bob_socket, _) = stack.connect(0, &bob).await;
    let (mut cleo_socket, _) = stack.connect(1, &cleo).await;
    let first = ada_socket
        .send_message(&room.to_string(), "c-0", "before")
        .await;
    let seen = bob_socket.next_message().await;
    bob_socket.close().await;
    cleo_socket.next_message().await;

    // Bob is away while messages come, change and go.
    let kept = ada_socket
        .send_message(&room.to_string(), "c-1", "kept")
        .await;
    let secret = ada_socket
        .send_message(&room.to_string(), "c-2", "secret")
        .await;
    let kept_id = kept["id"].as_str().unwrap();
    let secret_id = secret["id"].as_str().unwrap();
    edit(&stack, &ada, kept_id, "kept, edited").await;
    edit(&stack, &ada, secret_id, "secret, edited").await;
    edit(
        &stack,
        &ada,
        first["id"].as_str().unwrap(),
        "before, edited",
    )
    .await;
    for (who, path, body) in [
        (
            &cleo,
            format!("{kept_id}/react"),
            Some(json!({"emoji": "👍"})),
        ),
        (
            &ada,
            format!("{kept_id}/react"),
            Some(json!({"emoji": "🎉"})),
        ),
        (
            &ada,
            format!("{secret_id}/react"),
            Some(json!({"emoji": "👀"})),
        ),
    ] {
        let (status, _) = call(&stack, who, Method::POST, &path, "", body).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = call(
        &stack,
        &ada,
        Method::DELETE,
        kept_id,
        "/reactions/%F0%9F%8E%89",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = delete(&stack, &ada, secret_id).await;
    assert_eq!(status, StatusCode::OK);
    let (mut live, deleted) = cleo_socket.until("message.deleted").await;
    live.push(deleted);
    let last = stored_changes(&stack, room, 7).await;
    assert_eq!(last.len(), 7, "{last:?}");
    if let Some(keep) = trim_to {
        let stream = stack.sequencer.room_keys(&room.to_string()).stream();
        let _: i64 = redis::cmd("XTRIM")
            .arg(stream)
            .arg("MAXLEN")
            .arg(keep)
            .query_async(&mut stack.redis.clone())
            .await
            .unwrap();
    }

    let resume = json!({room.to_string(): {"epoch": seen["epoch"], "position": seen["position"]}});
    let (mut bob_again, _) = stack.connect_resuming(1, &bob, resume).await;
    let (replayed, _) = bob_again.until("resumed").await;

    let text = serde_json::to_string(&replayed).unwrap();
    assert!(!text.contains("secret"), "deleted content replayed: {text}");
    let mut expected = replay(&live);
    expected.retain(|seen| seen.id != first["id"].as_str().unwrap());
    let caught: Vec<_> = replay(&replayed);
    assert_eq!(caught, expected, "catch-up and live delivery agree");
    assert_eq!(
        caught
            .iter()
            .map(|seen| (seen.content.as_str(), seen.deleted, seen.reactions.len()))
            .collect::<Vec<_>>(),
        [("kept, edited", false, 1), ("", true, 0)]
    );
}

#[tokio::test]
async fn catch_up_from_the_stream_replays_changes_without_deleted_content() {
    catch_up_after_changes(None).await;
}

#[tokio::test]
async fn catch_up_from_history_replays_changes_without_deleted_content() {
    catch_up_after_changes(Some(1)).await;
}

#[tokio::test]
async fn an_edit_window_closes() {
    let stack = stack::spawn_with(Options {
        edit_window: Some("1s"),
        ..Options::default()
    })
    .await;
    let ada = stack.user();
    let room = stack.room(&ada, &[]).await;
    let (mut socket, _) = stack.connect(0, &ada).await;
    let ack = socket.send_message(&room.to_string(), "w-1", "quick").await;
    let id = ack["id"].as_str().unwrap();

    let (status, _) = edit(&stack, &ada, id, "quick fix").await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, body) = edit(&stack, &ada, id, "too late").await;

    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "edit_window_closed")
    );
    let (status, _) = delete(&stack, &ada, id).await;
    assert_eq!(status, StatusCode::OK, "deleting has no window");
}
