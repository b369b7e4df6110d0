//! Replies: `reply_to` names a message of the same room, and every view of the reply
//! carries what it answers (`reply_preview`), as it is now in pages and without the
//! content once the answered message is deleted, in catch-up too.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::stack::{self, Stack, User};

async fn post(stack: &Stack, user: &User, body: Value) -> (StatusCode, Value) {
    stack
        .api(0, user, Method::POST, "messages", Some(body))
        .await
}

async fn page(stack: &Stack, user: &User, room: Uuid) -> Value {
    let (_, page) = stack
        .api(
            1,
            user,
            Method::GET,
            &format!("rooms/{room}/messages"),
            None,
        )
        .await;
    page
}

#[tokio::test]
async fn a_reply_shows_what_it_answers_live_and_in_history() {
    let stack = stack::spawn().await;
    let (ada, bob) = (stack.user(), stack.user());
    let room = stack.room(&ada, &[&bob]).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    let question = ada_socket
        .send_message(
            &room.to_string(),
            "q-1",
            &format!("Who brings the map? {}", "x".repeat(200)),
        )
        .await;
    let question_id = question["id"].as_str().unwrap();
    bob_socket.next_message().await;

    bob_socket
        .send(json!({"type": "send", "room": room, "client_msg_id": "a-1", "content": "I do", "reply_to": question_id}))
        .await;
    let (_, ack) = bob_socket.until("ack").await;
    let created = loop {
        let frame = ada_socket.next_message().await;
        if frame["message"]["client_msg_id"] == "a-1" {
            break frame;
        }
    };

    assert_eq!(created["message"]["reply_to"], question_id);
    let preview = &created["message"]["reply_preview"];
    assert_eq!(preview["id"], question_id);
    assert_eq!(preview["sender_id"], ada.id.to_string());
    assert_eq!(preview["deleted"], false);
    let excerpt = preview["excerpt"].as_str().unwrap();
    assert!(excerpt.starts_with("Who brings the map?"), "{preview}");
    assert_eq!(excerpt.chars().count(), 100);
    stack
        .stored_through(room, ack["position"].as_u64().unwrap())
        .await;
    let stored = page(&stack, &ada, room).await;
    assert_eq!(stored["messages"][1]["reply_preview"], *preview);
}

#[tokio::test]
async fn a_reply_to_a_message_of_another_room_or_of_none_is_refused() {
    let stack = stack::spawn().await;
    let ada = stack.user();
    let here = stack.room(&ada, &[]).await;
    let there = stack.room(&ada, &[]).await;
    let (mut socket, _) = stack.connect(0, &ada).await;
    let elsewhere = socket
        .send_message(&there.to_string(), "e-1", "over there")
        .await;

    for target in [elsewhere["id"].clone(), json!(Uuid::now_v7())] {
        let (status, body) = post(
            &stack,
            &ada,
            json!({"room_id": here, "content": "re", "client_msg_id": format!("r-{target}").replace('"', ""), "reply_to": target}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "validation_failed");
        assert!(body["error"]["fields"]["reply_to"].is_string(), "{body}");
    }
    socket
        .send(json!({"type": "send", "room": here, "client_msg_id": "s-1", "content": "re", "reply_to": elsewhere["id"]}))
        .await;
    let (_, refused) = socket.until("error").await;
    assert_eq!(refused["code"], "invalid_frame");
    assert_eq!(refused["ref"], "s-1");
    assert_eq!(
        page(&stack, &ada, here).await["messages"],
        json!([]),
        "nothing stored"
    );
}

async fn deleted_quote_is_never_replayed(trim_stream: bool) {
    let stack = stack::spawn().await;
    let (ada, bob) = (stack.user(), stack.user());
    let room = stack.room(&ada, &[&bob]).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let (mut bob_socket, _) = stack.connect(0, &bob).await;
    let hello = ada_socket
        .send_message(&room.to_string(), "h-0", "hello")
        .await;
    let seen = bob_socket.next_message().await;
    bob_socket.close().await;
    let secret = ada_socket
        .send_message(&room.to_string(), "h-1", "a secret")
        .await;
    let secret_id = secret["id"].as_str().unwrap();
    ada_socket
        .send(json!({"type": "send", "room": room, "client_msg_id": "h-2", "content": "quoting it", "reply_to": secret_id}))
        .await;
    let (_, reply_ack) = ada_socket.until("ack").await;
    ada_socket
        .send(json!({"type": "delete", "id": "d", "message_id": secret_id}))
        .await;
    ada_socket.until("done").await;
    stack
        .stored_through(room, reply_ack["position"].as_u64().unwrap() + 1)
        .await;
    if trim_stream {
        let stream = stack.sequencer.room_keys(&room.to_string()).stream();
        let _: i64 = redis::cmd("XTRIM")
            .arg(stream)
            .arg("MAXLEN")
            .arg(1)
            .query_async(&mut stack.redis.clone())
            .await
            .unwrap();
    }

    let resume = json!({room.to_string(): {"epoch": seen["epoch"], "position": seen["position"]}});
    let (mut bob_again, _) = stack.connect_resuming(1, &bob, resume).await;
    let (replayed, _) = bob_again.until("resumed").await;

    let text = serde_json::to_string(&replayed).unwrap();
    assert!(
        !text.contains("a secret"),
        "deleted content replayed: {text}"
    );
    let reply = replayed
        .iter()
        .find(|frame| frame["message"]["client_msg_id"] == "h-2")
        .expect("the reply replayed");
    assert_eq!(reply["message"]["reply_preview"]["deleted"], true);
    assert_eq!(reply["message"]["reply_preview"]["excerpt"], "");
    let stored = page(&stack, &bob, room).await;
    let quoted = &stored["messages"][2]["reply_preview"];
    assert_eq!(
        (quoted["deleted"].clone(), quoted["excerpt"].clone()),
        (json!(true), json!(""))
    );
    assert_eq!(stored["messages"][0]["id"], hello["id"]);
}

#[tokio::test]
async fn a_deleted_message_is_not_quoted_by_catch_up_from_the_stream() {
    deleted_quote_is_never_replayed(false).await;
}

#[tokio::test]
async fn a_deleted_message_is_not_quoted_by_catch_up_from_history() {
    deleted_quote_is_never_replayed(true).await;
}
