//! Read state: read positions that only move forward and reach the user's other devices
//! at once, unread and mention counts in `ready` and the room list (checked against a
//! brute-force count over a generated conversation), mentions resolved against members,
//! and a send moving the sender's own read position.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::stack::{self, Stack, User};

async fn mark_read(stack: &Stack, user: &User, room: Uuid, at: &Value) -> (StatusCode, Value) {
    let body = json!({"epoch": at["epoch"], "position": at["position"]});
    stack
        .api(
            0,
            user,
            Method::POST,
            &format!("rooms/{room}/read"),
            Some(body),
        )
        .await
}

/// `read_state` of `room` in the user's room list.
async fn read_state(stack: &Stack, user: &User, room: Uuid) -> Value {
    let (_, list) = stack.api(1, user, Method::GET, "rooms/mine", None).await;
    list["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .find(|r| r["id"] == room.to_string())
        .unwrap_or_else(|| panic!("{room} not in {list}"))["read_state"]
        .clone()
}

/// Waits until the room list shows `unread` and `mentions` for `user`.
async fn counts_become(
    stack: &Stack,
    user: &User,
    room: Uuid,
    unread: u64,
    mentions: u64,
) -> Value {
    let deadline = tokio::time::Instant::now() + stack::PATIENCE;
    loop {
        let state = read_state(stack, user, room).await;
        if (state["unread"].as_u64(), state["mentions"].as_u64()) == (Some(unread), Some(mentions))
        {
            return state;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected {unread} unread, {mentions} mentions: {state}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn room_in(ready: &Value, room: Uuid) -> &Value {
    ready["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == room.to_string())
        .expect("the room in ready")
}

#[tokio::test]
async fn unread_and_mentions_count_what_others_wrote_after_the_read_position() {
    let stack = stack::spawn().await;
    let ada = stack
        .registered(&format!(
            "ada{}",
            &Uuid::now_v7().simple().to_string()[20..]
        ))
        .await;
    let bob_name = format!("bob{}", &Uuid::now_v7().simple().to_string()[20..]);
    let bob = stack.registered(&bob_name).await;
    let room = stack.room(&ada, &[&bob]).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let room_text = room.to_string();
    ada_socket.send_message(&room_text, "m-1", "morning").await;
    let mention = ada_socket
        .send_message(&room_text, "m-2", &format!("@{bob_name} did you see this?"))
        .await;
    let last = ada_socket
        .send_message(&room_text, "m-3", "@room lunch at one")
        .await;
    stack
        .stored_through(room, last["position"].as_u64().unwrap())
        .await;

    // Both of Bob's devices start with the counts.
    let (mut phone, ready) = stack.connect(1, &bob).await;
    let state = room_in(&ready, room);
    assert_eq!(
        (state["unread"].clone(), state["mentions"].clone()),
        (json!(3), json!(2)),
        "{state}"
    );
    let (mut laptop, _) = stack.connect(0, &stack.another_session(&bob)).await;

    // The mention is stored with the message.
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
    assert_eq!(page["messages"][1]["mentions"], json!([bob.id]));
    assert_eq!(page["messages"][2]["mentions_room"], true);

    // Reading up to the mention on the phone clears it on the laptop at once.
    let (status, now) = mark_read(&stack, &bob, room, &mention).await;
    assert_eq!(status, StatusCode::OK, "{now}");
    assert_eq!(now["position"], mention["position"]);
    let (_, read) = laptop.until("read").await;
    assert_eq!(read["room"], room.to_string());
    assert_eq!(read["position"], mention["position"]);
    phone.until("read").await;
    let state = counts_become(&stack, &bob, room, 1, 1).await;
    assert_eq!(state["read_position"]["position"], mention["position"]);
    assert_eq!(state["last_position"]["position"], last["position"]);

    // It never moves back.
    let first = json!({"epoch": mention["epoch"], "position": 1});
    let (_, still) = mark_read(&stack, &bob, room, &first).await;
    assert_eq!(still["position"], mention["position"]);
    laptop.assert_nothing_pending().await;

    // A deleted message is not unread; a message Bob sends moves his own position.
    ada_socket
        .send(json!({"type": "delete", "id": "d", "message_id": last["id"]}))
        .await;
    ada_socket.until("done").await;
    counts_become(&stack, &bob, room, 0, 0).await;
    ada_socket.send_message(&room_text, "m-4", "anyone?").await;
    counts_become(&stack, &bob, room, 1, 0).await;
    let mine = laptop.send_message(&room_text, "b-1", "here").await;
    let state = counts_become(&stack, &bob, room, 0, 0).await;
    assert_eq!(state["read_position"]["position"], mine["position"]);
}

#[tokio::test]
async fn a_read_frame_moves_the_position_and_outsiders_are_refused() {
    let stack = stack::spawn().await;
    let (ada, eve) = (stack.user(), stack.user());
    let room = stack.room(&ada, &[]).await;
    let (mut socket, _) = stack.connect(0, &ada).await;
    let ack = socket.send_message(&room.to_string(), "x", "hello").await;

    socket
        .send(json!({"type": "read", "room": room, "epoch": ack["epoch"], "position": ack["position"]}))
        .await;
    let (status, body) = mark_read(&stack, &eve, room, &ack).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "not_a_member");
    let (status, body) = mark_read(&stack, &ada, room, &json!({"epoch": 0, "position": 1})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (mut eve_socket, _) = stack.connect(1, &eve).await;
    eve_socket
        .send(json!({"type": "read", "room": room, "epoch": ack["epoch"], "position": ack["position"]}))
        .await;
    let refused = eve_socket.expect("error").await;
    assert_eq!(refused["code"], "not_a_member");
}

/// A small deterministic generator, so a failing case can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[tokio::test]
async fn counts_match_a_brute_force_count_over_a_generated_conversation() {
    let stack = stack::spawn().await;
    let suffix = &Uuid::now_v7().simple().to_string()[20..];
    let names: Vec<String> = ["ann", "ben", "cat"]
        .iter()
        .map(|n| format!("{n}{suffix}"))
        .collect();
    let mut people = Vec::new();
    for name in &names {
        people.push(stack.registered(name).await);
    }
    let room = stack.room(&people[0], &[&people[1], &people[2]]).await;
    let mut sockets = Vec::new();
    for person in &people {
        sockets.push(stack.connect(0, person).await.0);
    }
    let mut random = Lcg(7);
    // (position, sender, mentions per person, @room, deleted)
    let mut sent: Vec<(u64, usize, Vec<bool>, bool, bool, String)> = Vec::new();
    for n in 0..40 {
        let sender = random.below(3) as usize;
        let mut content = format!("message {n}");
        let mut mentioned = vec![false; 3];
        for (who, name) in names.iter().enumerate() {
            if random.below(5) == 0 {
                content.push_str(&format!(" @{name}"));
                mentioned[who] = true;
            }
        }
        let everyone = random.below(10) == 0;
        if everyone {
            content.push_str(" @room");
        }
        let ack = sockets[sender]
            .send_message(&room.to_string(), &format!("g-{n}"), &content)
            .await;
        sent.push((
            ack["position"].as_u64().unwrap(),
            sender,
            mentioned,
            everyone,
            false,
            ack["id"].as_str().unwrap().to_owned(),
        ));
    }
    for entry in sent.iter_mut() {
        if random.below(8) == 0 {
            sockets[entry.1]
                .send(json!({"type": "delete", "id": "d", "message_id": entry.5}))
                .await;
            sockets[entry.1].until("done").await;
            entry.4 = true;
        }
    }
    let epoch = stack
        .sequencer
        .current_position(room.into())
        .await
        .unwrap()
        .unwrap()
        .epoch;
    let reader = 1;
    mark_read(
        &stack,
        &people[reader],
        room,
        &json!({"epoch": epoch, "position": sent[17].0}),
    )
    .await;
    // A send moves the sender's own read position too.
    let after = sent
        .iter()
        .filter(|e| e.1 == reader)
        .map(|e| e.0)
        .fold(sent[17].0, u64::max);
    let others: Vec<_> = sent
        .iter()
        .filter(|e| e.0 > after && e.1 != reader && !e.4)
        .collect();
    let unread = others.len() as u64;
    let mentions = others.iter().filter(|e| e.2[reader] || e.3).count() as u64;
    counts_become(
        &stack,
        &people[reader],
        room,
        unread.min(100),
        mentions.min(100),
    )
    .await;
}
