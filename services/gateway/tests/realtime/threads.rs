//! Threads: replies name their root (a message of the same room that is not itself in a
//! thread), take positions like any entry, are counted on the root, are paged apart, and
//! can be left out of the room's main timeline.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::stack::{self, Stack, User};

async fn get(stack: &Stack, user: &User, path: &str) -> (StatusCode, Value) {
    stack.api(1, user, Method::GET, path, None).await
}

async fn post(stack: &Stack, user: &User, body: Value) -> (StatusCode, Value) {
    stack
        .api(0, user, Method::POST, "messages", Some(body))
        .await
}

fn contents(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages in {page}"))
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_thread_is_counted_on_its_root_and_paged_apart() {
    let stack = stack::spawn().await;
    let (ada, bob) = (stack.user(), stack.user());
    let room = stack.room(&ada, &[&bob]).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    let root = ada_socket
        .send_message(&room.to_string(), "t-0", "Route for Saturday?")
        .await;
    let root_id = root["id"].as_str().unwrap();
    ada_socket
        .send_message(&room.to_string(), "t-1", "Also: weather looks fine")
        .await;

    let mut last = Value::Null;
    for (n, (who, text)) in [
        (&bob, "Coast path"),
        (&ada, "Agreed"),
        (&bob, "Nine o'clock"),
    ]
    .iter()
    .enumerate()
    {
        let (status, ack) = post(
            &stack,
            who,
            json!({"room_id": room, "content": text, "client_msg_id": format!("r-{n}"), "thread_root": root_id}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{ack}");
        last = ack;
    }
    let created = loop {
        let frame = bob_socket.next_message().await;
        if frame["message"]["client_msg_id"] == "r-2" {
            break frame;
        }
    };
    assert_eq!(created["message"]["thread_root"], root_id);
    stack
        .stored_through(room, last["position"].as_u64().unwrap())
        .await;

    let (status, thread) = get(&stack, &bob, &format!("messages/{root_id}/thread")).await;
    assert_eq!(status, StatusCode::OK, "{thread}");
    assert_eq!(contents(&thread), ["Coast path", "Agreed", "Nine o'clock"]);
    let (_, main) = get(
        &stack,
        &bob,
        &format!("rooms/{room}/messages?threads=false"),
    )
    .await;
    assert_eq!(
        contents(&main),
        ["Route for Saturday?", "Also: weather looks fine"]
    );
    let summary = &main["messages"][0]["thread"];
    assert_eq!(summary["reply_count"], 3, "{summary}");
    assert_eq!(summary["participants"], json!([bob.id, ada.id]));
    assert!(summary["last_reply_at"].is_string());
    assert!(main["messages"][1]["thread"].is_null());
    let (_, everything) = get(&stack, &bob, &format!("rooms/{room}/messages")).await;
    assert_eq!(contents(&everything).len(), 5);
    let (_, older) = get(
        &stack,
        &bob,
        &format!(
            "messages/{root_id}/thread?before={}&limit=1",
            last["position"]
        ),
    )
    .await;
    assert_eq!(contents(&older), ["Agreed"]);
    assert_eq!(
        (older["has_older"].clone(), older["has_newer"].clone()),
        (json!(true), json!(true))
    );

    // A deleted reply leaves a tombstone in the thread and no longer counts.
    let response = reqwest::Client::new()
        .delete(format!(
            "{}/api/messages/{}",
            stack.gateways[0].url(),
            last["id"].as_str().unwrap()
        ))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let deadline = tokio::time::Instant::now() + stack::PATIENCE;
    loop {
        let (_, thread) = get(&stack, &bob, &format!("messages/{root_id}/thread")).await;
        let (_, main) = get(
            &stack,
            &bob,
            &format!("rooms/{room}/messages?threads=false"),
        )
        .await;
        if contents(&thread) == ["Coast path", "Agreed", ""]
            && main["messages"][0]["thread"]["reply_count"] == 2
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{thread} {main}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn no_thread_of_a_thread_reply_nor_of_another_room() {
    let stack = stack::spawn().await;
    let (ada, eve) = (stack.user(), stack.user());
    let room = stack.room(&ada, &[]).await;
    let other = stack.room(&ada, &[]).await;
    let (mut socket, _) = stack.connect(0, &ada).await;
    let root = socket.send_message(&room.to_string(), "n-0", "root").await;
    let (_, reply) = post(
        &stack,
        &ada,
        json!({"room_id": room, "content": "in it", "client_msg_id": "n-1", "thread_root": root["id"]}),
    )
    .await;
    let elsewhere = socket
        .send_message(&other.to_string(), "n-2", "elsewhere")
        .await;

    for (n, target) in [
        reply["id"].clone(),
        elsewhere["id"].clone(),
        json!(Uuid::now_v7()),
    ]
    .iter()
    .enumerate()
    {
        let (status, body) = post(
            &stack,
            &ada,
            json!({"room_id": room, "content": "nested", "client_msg_id": format!("x-{n}"), "thread_root": target}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["error"]["fields"]["thread_root"].is_string(), "{body}");
    }
    let (status, body) = get(
        &stack,
        &eve,
        &format!("messages/{}/thread", root["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("message_not_found"))
    );
}
