//! Read receipts: the other members of a direct or small room see how far each member
//! has read, batched, across gateways; a user can stop sending them; larger rooms and
//! outsiders get none.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use chat_test_stack::socket::Socket;

use crate::stack::{self, Options, Stack, User};

async fn mark_read(stack: &Stack, user: &User, room: Uuid, at: &Value) {
    let body = json!({"epoch": at["epoch"], "position": at["position"]});
    let (status, answer) = stack
        .api(
            1,
            user,
            Method::POST,
            &format!("rooms/{room}/read"),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

async fn reads(stack: &Stack, user: &User, room: Uuid) -> Value {
    let (status, answer) = stack
        .api(0, user, Method::GET, &format!("rooms/{room}/reads"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

/// The position `reads` gives `user`, if any.
fn read_of(reads: &Value, user: &User) -> Option<u64> {
    reads
        .as_array()
        .expect("reads")
        .iter()
        .find(|read| read["user_id"] == user.id.to_string())
        .map(|read| read["position"].as_u64().expect("a position"))
}

/// The next `receipts` frame, skipping the room's messages.
async fn next_receipts(socket: &mut Socket) -> Value {
    loop {
        let frame = socket.next().await;
        if frame["type"] == "receipts" {
            return frame;
        }
        assert_eq!(frame["type"], "message.created", "{frame}");
    }
}

/// No `receipts` frame is waiting (messages may be).
async fn no_receipts(socket: &mut Socket) {
    socket.send(json!({"type": "ping", "id": "quiet"})).await;
    let (before, _) = socket.until("pong").await;
    assert!(
        before.iter().all(|frame| frame["type"] != "receipts"),
        "{before:?}"
    );
}

fn unique(name: &str) -> String {
    format!("{name}{}", &Uuid::now_v7().simple().to_string()[20..])
}

#[tokio::test]
async fn the_other_members_see_how_far_one_has_read_batched_and_across_gateways() {
    let stack = stack::spawn().await;
    let (ada, bob, cat) = (stack.user(), stack.user(), stack.user());
    let room = stack.room(&ada, &[&bob, &cat]).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let (mut cat_socket, _) = stack.connect(1, &cat).await;
    let first = ada_socket
        .send_message(&room.to_string(), "a-1", "one")
        .await;
    let second = ada_socket
        .send_message(&room.to_string(), "a-2", "two")
        .await;

    // Bob reads twice within the batch: the others hear one position per batch, the
    // last one at most a second later, on either gateway.
    mark_read(&stack, &bob, room, &first).await;
    mark_read(&stack, &bob, room, &second).await;
    for socket in [&mut ada_socket, &mut cat_socket] {
        let mut frames = 0;
        loop {
            let receipts = next_receipts(socket).await;
            frames += 1;
            assert_eq!(receipts["room"], room.to_string());
            if read_of(&receipts["reads"], &bob) == second["position"].as_u64() {
                break;
            }
        }
        assert!(frames <= 2, "{frames} receipt frames for two reads");
    }

    // A client opening the room reads where everyone is: Bob where he read, Ada past
    // her own messages, Cat where she joined.
    let answer = reads(&stack, &cat, room).await;
    assert_eq!(answer["receipts"], true);
    assert_eq!(read_of(&answer["reads"], &bob), second["position"].as_u64());
    assert_eq!(read_of(&answer["reads"], &ada), second["position"].as_u64());
    let joined = read_of(&answer["reads"], &cat).expect("Cat's join");
    assert!(joined < first["position"].as_u64().unwrap(), "{answer}");

    // A read that does not move the position sends nothing.
    mark_read(&stack, &bob, room, &first).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    no_receipts(&mut ada_socket).await;
}

#[tokio::test]
async fn a_user_who_turns_receipts_off_sends_none_and_is_left_out() {
    let stack = stack::spawn().await;
    let ada = stack.registered(&unique("ada")).await;
    let bob = stack.registered(&unique("bob")).await;
    let room = stack.room(&ada, &[&bob]).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let first = ada_socket
        .send_message(&room.to_string(), "a-1", "one")
        .await;
    let second = ada_socket
        .send_message(&room.to_string(), "a-2", "two")
        .await;

    let (status, me) = stack
        .api(
            1,
            &bob,
            Method::PATCH,
            "auth/me",
            Some(json!({"send_read_receipts": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["send_read_receipts"], false);
    mark_read(&stack, &bob, room, &first).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    no_receipts(&mut ada_socket).await;
    assert_eq!(
        read_of(&reads(&stack, &ada, room).await["reads"], &bob),
        None
    );

    // Turned on again, the next read goes out, and the room shows where Bob is.
    let (status, me) = stack
        .api(
            0,
            &bob,
            Method::PATCH,
            "auth/me",
            Some(json!({"send_read_receipts": true})),
        )
        .await;
    assert_eq!(
        (status, me["send_read_receipts"].clone()),
        (StatusCode::OK, json!(true))
    );
    mark_read(&stack, &bob, room, &second).await;
    let receipts = next_receipts(&mut ada_socket).await;
    assert_eq!(
        read_of(&receipts["reads"], &bob),
        second["position"].as_u64()
    );
    assert_eq!(
        read_of(&reads(&stack, &ada, room).await["reads"], &bob),
        second["position"].as_u64()
    );
}

#[tokio::test]
async fn rooms_above_the_size_have_no_receipts_and_outsiders_read_none() {
    let stack = stack::spawn_with(Options {
        receipts_max_room_size: 2,
        ..Options::default()
    })
    .await;
    let (ada, bob, cat, eve) = (stack.user(), stack.user(), stack.user(), stack.user());
    let pair = stack.room(&ada, &[&bob]).await;
    let crowd = stack.room(&ada, &[&bob, &cat]).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let in_pair = ada_socket
        .send_message(&pair.to_string(), "p", "just us")
        .await;
    let in_crowd = ada_socket
        .send_message(&crowd.to_string(), "c", "all of us")
        .await;

    mark_read(&stack, &bob, crowd, &in_crowd).await;
    mark_read(&stack, &bob, pair, &in_pair).await;
    let receipts = next_receipts(&mut ada_socket).await;
    assert_eq!(
        receipts["room"],
        pair.to_string(),
        "only the small room: {receipts}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    no_receipts(&mut ada_socket).await;

    let answer = reads(&stack, &ada, crowd).await;
    assert_eq!(answer, json!({"receipts": false, "reads": []}));
    assert_eq!(reads(&stack, &ada, pair).await["receipts"], true);

    let (status, body) = stack
        .api(0, &eve, Method::GET, &format!("rooms/{pair}/reads"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "not_a_member");
    let (status, _) = stack
        .api(
            0,
            &ada,
            Method::GET,
            &format!("rooms/{}/reads", Uuid::now_v7()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
