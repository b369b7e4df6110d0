//! Presence across two gateways: every device counts, idle devices make a user away, a
//! quick reconnect is invisible, a silent gateway's sockets go within the bound, and only
//! the sockets that follow a user hear of them.

use std::time::{Duration, Instant};

use futures::StreamExt;
use redis::AsyncCommands;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::stack::{self, Options, User};
use chat_test_stack::socket::Socket;

/// The test options' grace and heartbeat.
const GRACE: Duration = Duration::from_millis(300);
const HEARTBEAT: Duration = Duration::from_millis(200);

async fn follow(socket: &mut Socket, users: &[&User]) -> Value {
    let ids: Vec<String> = users.iter().map(|user| user.id.to_string()).collect();
    socket
        .send(json!({"type": "presence.subscribe", "user_ids": ids}))
        .await;
    socket.expect("presence").await
}

fn status_of(frame: &Value, user: &User) -> String {
    frame["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|view| view["user_id"] == user.id.to_string())
        .unwrap_or_else(|| panic!("{} not in {frame}", user.id))["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_device_on_every_gateway_counts_and_offline_comes_after_the_grace() {
    let stack = stack::spawn().await;
    let (ada, bob) = (stack.user(), stack.user());
    let (laptop, ready) = stack.connect(0, &ada).await;
    assert_eq!(ready["presence_interval_ms"], 1000);
    let (mut bob_socket, _) = stack.connect(1, &bob).await;

    let now = follow(&mut bob_socket, &[&ada]).await;
    assert_eq!(status_of(&now, &ada), "online");
    let phone = stack.another_session(&ada);
    let (phone_socket, _) = stack.connect(1, &phone).await;
    laptop.close().await;
    tokio::time::sleep(GRACE * 2).await;
    // One device left: still online, nothing said.
    bob_socket.assert_nothing_pending().await;

    let closed = Instant::now();
    phone_socket.close().await;
    let gone = bob_socket.expect("presence").await;
    assert_eq!(status_of(&gone, &ada), "offline");
    assert!(gone["users"][0]["last_seen"].is_string(), "{gone}");
    assert!(
        closed.elapsed() >= GRACE,
        "offline before the grace: {:?}",
        closed.elapsed()
    );
}

#[tokio::test]
async fn a_user_is_away_when_every_device_is_idle() {
    let stack = stack::spawn().await;
    let (ada, bob) = (stack.user(), stack.user());
    let (mut laptop, _) = stack.connect(0, &ada).await;
    let (mut phone, _) = stack.connect(1, &stack.another_session(&ada)).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    follow(&mut bob_socket, &[&ada]).await;

    laptop
        .send(json!({"type": "presence", "status": "idle"}))
        .await;
    tokio::time::sleep(GRACE).await;
    bob_socket.assert_nothing_pending().await;
    phone
        .send(json!({"type": "presence", "status": "idle"}))
        .await;
    assert_eq!(
        status_of(&bob_socket.expect("presence").await, &ada),
        "away"
    );
    laptop
        .send(json!({"type": "presence", "status": "active"}))
        .await;
    assert_eq!(
        status_of(&bob_socket.expect("presence").await, &ada),
        "online"
    );
}

#[tokio::test]
async fn a_reconnect_within_the_grace_causes_no_event() {
    let stack = stack::spawn().await;
    let (ada, bob) = (stack.user(), stack.user());
    let (laptop, _) = stack.connect(0, &ada).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    follow(&mut bob_socket, &[&ada]).await;

    laptop.close().await;
    let (_back, _) = stack.connect(1, &ada).await;
    tokio::time::sleep(GRACE * 3).await;

    bob_socket.assert_nothing_pending().await;
}

#[tokio::test]
async fn presence_reaches_only_the_sockets_that_follow_the_user() {
    let stack = stack::spawn().await;
    let (ada, bob, cleo) = (stack.user(), stack.user(), stack.user());
    let (mut bob_socket, _) = stack.connect(0, &bob).await;
    let (mut cleo_socket, _) = stack.connect(1, &cleo).await;
    let before = follow(&mut bob_socket, &[&ada]).await;
    assert_eq!(status_of(&before, &ada), "offline");

    let (_ada_socket, _) = stack.connect(1, &ada).await;

    assert_eq!(
        status_of(&bob_socket.expect("presence").await, &ada),
        "online"
    );
    cleo_socket.assert_nothing_pending().await;
    // Following nobody any more: nothing more comes.
    let none = follow(&mut bob_socket, &[]).await;
    assert_eq!(none["users"], json!([]));
}

#[tokio::test]
async fn with_presence_off_nothing_is_kept_and_everyone_reads_offline() {
    let stack = stack::spawn_with(Options {
        presence: "off",
        ..Options::default()
    })
    .await;
    let (ada, bob) = (stack.user(), stack.user());
    let (_ada_socket, _) = stack.connect(0, &ada).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;

    let now = follow(&mut bob_socket, &[&ada]).await;
    assert_eq!(status_of(&now, &ada), "offline");
    assert!(now["users"][0]["last_seen"].is_null(), "{now}");
    let (_phone, _) = stack.connect(1, &stack.another_session(&ada)).await;
    tokio::time::sleep(HEARTBEAT * 3).await;
    bob_socket.assert_nothing_pending().await;
    let prefix = stack.scope.redis_key_prefix.clone();
    let keys: Vec<String> = stack
        .redis
        .clone()
        .keys(format!("{prefix}presence:*"))
        .await
        .unwrap();
    assert!(keys.is_empty(), "presence kept in Redis: {keys:?}");
}

#[tokio::test]
async fn a_silent_gateway_loses_its_sockets_within_the_bound() {
    let stack = stack::spawn().await;
    let (carol, bob) = (stack.user(), stack.user());
    let prefix = stack.scope.redis_key_prefix.clone();
    // A gateway that died without a word (kill -9): its socket of Carol is still
    // recorded, its heartbeat long silent.
    let mut redis = stack.redis.clone();
    let dead = "0193a6c10000700080000000000000dd";
    let _: () = redis
        .hset(
            chat_bus::keys::presence_conns_key(&prefix, &carol.id.to_string()),
            format!("{dead}:7"),
            "a",
        )
        .await
        .unwrap();
    let _: () = redis
        .sadd(format!("{prefix}presence:gw:{dead}"), carol.id.to_string())
        .await
        .unwrap();
    let _: () = redis
        .set(
            format!("{prefix}presence:{{{}}}:status", carol.id),
            "online",
        )
        .await
        .unwrap();
    let (mut bob_socket, _) = stack.connect(0, &bob).await;
    assert_eq!(
        status_of(&follow(&mut bob_socket, &[&carol]).await, &carol),
        "online"
    );

    let silent_since = Instant::now();
    let _: () = redis
        .zadd(format!("{prefix}presence:gateways"), dead, 1)
        .await
        .unwrap();

    let gone = bob_socket.expect("presence").await;
    assert_eq!(status_of(&gone, &carol), "offline");
    // The bound: five heartbeats (and the heartbeat that notices).
    assert!(
        silent_since.elapsed() < HEARTBEAT * 7,
        "took {:?}",
        silent_since.elapsed()
    );
    let left: i64 = redis
        .exists(format!("{prefix}presence:gw:{dead}"))
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_reconnect_storm_publishes_nothing_and_first_connects_publish_once_each() {
    // Long enough for 1,000 closes and reconnects on a loaded machine (a debug build
    // beside the rest of the suite took 21 s once).
    let grace = Duration::from_secs(30);
    // A heartbeat that a loaded machine cannot starve for four beats in a row: a gateway
    // taken for dead mid-storm would announce its users offline and online again.
    let stack = stack::spawn_with(Options {
        presence_grace: "30s",
        presence_heartbeat: "2s",
        ..Options::default()
    })
    .await;
    let prefix = stack.scope.redis_key_prefix.clone();
    let users: Vec<User> = (0..1000).map(|_| stack.user()).collect();
    let channels: Vec<String> = users
        .iter()
        .map(|user| chat_bus::presence_channel(&prefix, user.id))
        .collect();
    let mut messages = Box::pin(
        chat_runtime::redis_subscriber::Subscriber::listen(
            &chat_test_stack::scope::redis_target(),
            &channels,
        )
        .await
        .unwrap(),
    );
    // A hundred at a time: a test stack's services have pools of two or three database
    // connections, which a thousand simultaneous `ready`s would wait on past their
    // timeouts on a loaded machine (the sockets would be told to come back later).
    let on = &stack;
    let connect_all = |shift: usize| {
        futures::stream::iter(
            users
                .iter()
                .enumerate()
                .map(move |(n, user)| on.connect_as_a_client((n + shift) % 2, user)),
        )
        .buffer_unordered(100)
        .collect::<Vec<_>>()
    };

    let sockets = connect_all(0).await;
    // Everyone drops at once and comes back within the grace, on the other gateway.
    let dropped = Instant::now();
    futures::future::join_all(sockets.into_iter().map(Socket::close)).await;
    let _back = connect_all(1).await;
    assert!(
        dropped.elapsed() < grace,
        "the storm took {:?}",
        dropped.elapsed()
    );
    // Past the grace of the first to drop: an `offline` would have been published by now.
    tokio::time::sleep_until((dropped + grace + HEARTBEAT * 5).into()).await;

    let mut published = 0;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(200), messages.next()).await
    {
        published += 1;
    }
    assert_eq!(
        published,
        users.len(),
        "one `online` per user, nothing for the storm"
    );
}

#[tokio::test]
async fn the_presence_of_many_users_is_one_request() {
    let stack = stack::spawn().await;
    let (ada, bob) = (stack.user(), stack.user());
    let (_ada_socket, _) = stack.connect(0, &ada).await;

    let response = reqwest::Client::new()
        .post(format!("{}/api/presence/query", stack.gateways[1].url()))
        .bearer_auth(&bob.token)
        .json(&json!({"user_ids": [ada.id, bob.id, ada.id]}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["users"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(body["users"][0]["status"], "online");
    assert_eq!(body["users"][0]["last_seen"], Value::Null);
    assert_eq!(body["users"][1]["status"], "offline");

    let too_many: Vec<String> = (0..501).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let response = reqwest::Client::new()
        .post(format!("{}/api/presence/query", stack.gateways[1].url()))
        .bearer_auth(&bob.token)
        .json(&json!({"user_ids": too_many}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_people_of_ones_direct_rooms_are_followed_without_asking() {
    let stack = stack::spawn().await;
    let (ada, bob, cleo) = (stack.user(), stack.user(), stack.user());
    stack
        .rooms
        .clone()
        .open_direct(chat_proto::v1::OpenDirectRequest {
            caller_id: ada.id.to_string(),
            user_id: bob.id.to_string(),
        })
        .await
        .expect("a direct room");
    let (_bob_socket, _) = stack.connect(1, &bob).await;

    let (mut ada_socket, _) = stack.connect(0, &ada).await;

    // Right after `ready`: where Bob is, unasked.
    let now = ada_socket.expect("presence").await;
    assert_eq!(status_of(&now, &bob), "online");
    // Asking for others keeps Bob followed.
    follow(&mut ada_socket, &[&cleo]).await;
    let (cleo_socket, _) = stack.connect(1, &cleo).await;
    assert_eq!(
        status_of(&ada_socket.expect("presence").await, &cleo),
        "online"
    );
    drop(cleo_socket);
    drop(_bob_socket);
    let mut statuses = std::collections::HashMap::new();
    while statuses.len() < 2 {
        let frame = ada_socket.expect("presence").await;
        for view in frame["users"].as_array().unwrap() {
            statuses.insert(
                view["user_id"].as_str().unwrap().to_owned(),
                view["status"].clone(),
            );
        }
    }
    assert_eq!(statuses[&bob.id.to_string()], "offline");
    assert_eq!(statuses[&cleo.id.to_string()], "offline");
}
