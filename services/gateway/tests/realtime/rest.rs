//! Messages over REST: the same send path and promises as the WebSocket, and history
//! pages by position, for members only.

use std::time::Duration;

use chat_proto::v1::RoomKind;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::stack::{self, Stack, User};

async fn post_message(stack: &Stack, user: &User, body: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/messages", stack.gateways[0].url()))
        .bearer_auth(&user.token)
        .json(&body)
        .send()
        .await
        .expect("gateway answers");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

async fn get_page(stack: &Stack, user: &User, room: Uuid, query: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(format!(
            "{}/api/rooms/{room}/messages{query}",
            stack.gateways[1].url()
        ))
        .bearer_auth(&user.token)
        .send()
        .await
        .expect("gateway answers");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

fn positions(page: &Value) -> Vec<u64> {
    page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|message| message["position"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_message_posted_is_acknowledged_once_and_a_retry_gets_the_same_ack() {
    let stack = stack::spawn().await;
    let alice = stack.user();
    let room = stack.room(&alice, &[]).await;
    let body = json!({"room_id": room, "content": "over rest", "client_msg_id": "r-1"});

    let (status, ack) = post_message(&stack, &alice, body.clone()).await;
    let (retry_status, retry) = post_message(&stack, &alice, body).await;

    assert_eq!(status, StatusCode::CREATED, "{ack}");
    assert_eq!(ack["duplicate"], false);
    assert_eq!(retry_status, StatusCode::OK);
    assert_eq!(retry["duplicate"], true);
    assert_eq!(retry["id"], ack["id"]);
    assert_eq!(retry["position"], ack["position"]);
    let stored = stack
        .stored_through(room, ack["position"].as_u64().unwrap())
        .await;
    assert_eq!(stack::messages(&stored).len(), 1);
}

#[tokio::test]
async fn a_retry_after_redis_lost_its_data_gets_the_original_ack_from_history() {
    // Arrange: a send acknowledged and stored, then Redis loses every key.
    let stack = stack::spawn().await;
    let alice = stack.user();
    let room = stack.room(&alice, &[]).await;
    let body = json!({"room_id": room, "content": "before the loss", "client_msg_id": "lost-1"});
    let (status, ack) = post_message(&stack, &alice, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{ack}");
    stack
        .stored_through(room, ack["position"].as_u64().unwrap())
        .await;
    stack.forget_redis_data().await;
    // Gateways re-read Redis's age every few seconds.
    tokio::time::sleep(chat_gateway::core::send_lookup::RECHECK + Duration::from_millis(500)).await;

    // Act
    let (retry_status, retry) = post_message(&stack, &alice, body).await;
    let (next_status, next) = post_message(
        &stack,
        &alice,
        json!({"room_id": room, "content": "after the loss", "client_msg_id": "lost-2"}),
    )
    .await;

    // Assert: the original ack, and no second copy anywhere.
    assert_eq!(retry_status, StatusCode::OK, "{retry}");
    assert_eq!(retry["duplicate"], true);
    for field in ["id", "epoch", "position", "sent_at", "room"] {
        assert_eq!(retry[field], ack[field], "{field}");
    }
    assert_eq!(next_status, StatusCode::CREATED, "{next}");
    let stored = stack
        .stored_through(room, next["position"].as_u64().unwrap())
        .await;
    let copies = stack::messages(&stored)
        .iter()
        .filter(|message| message.client_msg_id == "lost-1")
        .count();
    assert_eq!(copies, 1);
}

#[tokio::test]
async fn bad_sends_get_stable_codes_and_store_nothing() {
    let stack = stack::spawn().await;
    let (alice, mallory) = (stack.user(), stack.user());
    let public = stack.room(&alice, &[]).await;
    let private = stack.room_of_kind(&alice, RoomKind::Private).await;
    let cases = [
        (
            &mallory,
            json!({"room_id": public, "content": "hi", "client_msg_id": "m1"}),
            StatusCode::FORBIDDEN,
            "not_a_member",
        ),
        (
            &mallory,
            json!({"room_id": private, "content": "hi", "client_msg_id": "m2"}),
            StatusCode::NOT_FOUND,
            "room_not_found",
        ),
        (
            &alice,
            json!({"room_id": public, "content": " ", "client_msg_id": "a1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_content",
        ),
        (
            &alice,
            json!({"room_id": public, "content": "\u{200B}\u{200D}\u{FEFF}", "client_msg_id": "a4"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_content",
        ),
        (
            &alice,
            json!({"room_id": public, "content": "x".repeat(4001), "client_msg_id": "a2"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "content_too_long",
        ),
        (
            &alice,
            json!({"room_id": public, "content": "hi", "client_msg_id": "no spaces"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            &alice,
            json!({"room_id": public, "content": "hi", "client_msg_id": "a3", "admin": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (user, body, status, code) in cases {
        let (got, error) = post_message(&stack, user, body.clone()).await;
        assert_eq!(got, status, "{body}: {error}");
        assert_eq!(error["error"]["code"], code, "{body}");
    }
    let (_, bell) = post_message(
        &stack,
        &alice,
        json!({"room_id": public, "content": "ding\u{7}", "client_msg_id": "a5"}),
    )
    .await;
    assert_eq!(
        bell["error"]["message"],
        "content must not contain control characters (found U+0007)"
    );
    let (status, ack) = post_message(
        &stack,
        &alice,
        json!({"room_id": public, "content": "first", "client_msg_id": "ok"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let position = ack["position"].as_u64().unwrap();
    let stored = stack.stored_through(public, position).await;
    assert_eq!(
        stack::messages(&stored).len(),
        1,
        "only the valid send was stored"
    );
    assert_eq!(stored.len(), usize::try_from(position).unwrap(), "dense");

    let response = reqwest::Client::new()
        .post(format!("{}/api/messages", stack.gateways[0].url()))
        .json(&json!({"room_id": public, "content": "x", "client_msg_id": "anon"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn history_pages_by_position_for_members_only() {
    // Arrange
    let stack = stack::spawn().await;
    let (alice, mallory) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[]).await;
    let private = stack.room_of_kind(&alice, RoomKind::Private).await;
    let mut epoch = Value::Null;
    let mut p = vec![0];
    for n in 1..=5 {
        let (_, ack) = post_message(
            &stack,
            &alice,
            json!({"room_id": room, "content": format!("m{n}"), "client_msg_id": format!("c{n}")}),
        )
        .await;
        epoch = ack["epoch"].clone();
        p.push(ack["position"].as_u64().unwrap());
    }
    stack.stored_through(room, p[5]).await;

    // Act and assert: newest page, then older, then newer.
    let (status, newest) = get_page(&stack, &alice, room, "?limit=2").await;
    assert_eq!(status, StatusCode::OK, "{newest}");
    assert_eq!(positions(&newest), vec![p[4], p[5]]);
    assert_eq!(newest["has_older"], true);
    assert_eq!(newest["has_newer"], false);
    assert_eq!(newest["messages"][1]["content"], "m5");
    assert_eq!(newest["messages"][1]["client_msg_id"], "c5");
    assert_eq!(newest["messages"][1]["sender_id"], alice.id.to_string());

    let query = format!("?before={}&limit=2", p[4]);
    let (_, older) = get_page(&stack, &alice, room, &query).await;
    assert_eq!(positions(&older), vec![p[2], p[3]]);
    let query = format!("?after={epoch}:{}", p[3]);
    let (_, newer) = get_page(&stack, &alice, room, &query).await;
    assert_eq!(positions(&newer), vec![p[4], p[5]]);
    assert_eq!(newer["has_older"], true);

    for (query, code) in [
        ("?limit=0", "validation_failed"),
        ("?limit=101", "validation_failed"),
        ("?before=nope", "invalid_query"),
        ("?colour=red", "invalid_query"),
    ] {
        let (status, error) = get_page(&stack, &alice, room, query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {error}");
        assert_eq!(error["error"]["code"], code, "{query}");
    }

    let (status, error) = get_page(&stack, &mallory, room, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error["error"]["code"], "not_a_member");
    let (status, error) = get_page(&stack, &mallory, private, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["code"], "room_not_found");
    assert!(error.get("messages").is_none());
}

#[tokio::test]
async fn the_websocket_history_frame_pages_the_same_way() {
    let stack = stack::spawn().await;
    let alice = stack.user();
    let room = stack.room(&alice, &[]).await;
    let (mut socket, _) = stack.connect(0, &alice).await;
    let mut p = Vec::new();
    for n in 1..=3 {
        let ack = socket
            .send_message(&room.to_string(), &format!("w{n}"), &format!("w{n}"))
            .await;
        p.push(ack["position"].as_u64().unwrap());
    }
    stack.stored_through(room, p[2]).await;

    socket
        .send(json!({"type": "history", "id": "h1", "room": room, "before": p[2], "limit": 5}))
        .await;

    let (_, page) = socket.until("history").await;
    assert_eq!(page["ref"], "h1");
    assert_eq!(positions(&page), vec![p[0], p[1]]);
    assert_eq!(page["has_newer"], true);
}

#[tokio::test]
async fn the_openapi_document_describes_the_message_routes() {
    let stack = stack::spawn().await;

    let document: Value = reqwest::get(format!("{}/api/openapi.json", stack.gateways[0].url()))
        .await
        .expect("gateway answers")
        .json()
        .await
        .expect("JSON");

    assert!(document["paths"]["/api/messages"]["post"].is_object());
    assert!(document["paths"]["/api/rooms/{id}/messages"]["get"].is_object());
    assert!(document["components"]["schemas"]["Ack"].is_object());
}

#[tokio::test]
async fn my_rooms_show_each_rooms_newest_message() {
    // Arrange: two rooms, one with two messages.
    let stack = stack::spawn().await;
    let alice = stack.user();
    let chatty = stack.room(&alice, &[]).await;
    let quiet = stack.room(&alice, &[]).await;
    for (n, text) in ["first", "the newest"].iter().enumerate() {
        let body = json!({"room_id": chatty, "content": text, "client_msg_id": format!("p{n}")});
        let (status, _) = post_message(&stack, &alice, body).await;
        assert_eq!(status, StatusCode::CREATED);
    }

    // Act: history stores what was acknowledged shortly after; ask until it shows.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let rooms = loop {
        let page: Value = reqwest::Client::new()
            .get(format!("{}/api/rooms/mine", stack.gateways[0].url()))
            .bearer_auth(&alice.token)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        let rooms = page["rooms"].as_array().expect("rooms").clone();
        let stored = rooms
            .iter()
            .any(|r| r["id"] == chatty.to_string() && r["last_message"]["content"] == "the newest");
        if stored || std::time::Instant::now() > deadline {
            break rooms;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Assert
    let room = |id: uuid::Uuid| {
        rooms
            .iter()
            .find(|r| r["id"] == id.to_string())
            .expect("listed")
            .clone()
    };
    let (chatty, quiet) = (room(chatty), room(quiet));
    assert_eq!(chatty["last_message"]["content"], "the newest", "{chatty}");
    assert_eq!(
        chatty["last_activity_at"],
        chatty["last_message"]["sent_at"]
    );
    assert!(quiet.get("last_message").is_none(), "{quiet}");
    assert_eq!(quiet["last_activity_at"], quiet["created_at"]);
}
