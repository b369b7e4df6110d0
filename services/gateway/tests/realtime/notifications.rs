//! Push notifications end to end: a push receiver written here (it checks the VAPID JWT
//! of RFC 8292 and decrypts the RFC 8291 payload with the subscription's private key)
//! stands for the browsers' push services, and each rule of who is told is tried both
//! ways: level, mention, mute, read already, room in view, the delay's grouping, a gone
//! subscription.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;
use web_push_native::jwt_simple::algorithms::{
    ECDSAP256PublicKeyLike, ES256KeyPair, ES256PublicKey,
};
use web_push_native::jwt_simple::claims::NoCustomClaims;
use web_push_native::p256::SecretKey;
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
use web_push_native::{Auth, decrypt};

use crate::stack::{self, NOTIFY_DELAY, Options, Stack, User};

/// A push as the receiver took it: whose browser, the headers that matter, the payload.
#[derive(Debug)]
struct Received {
    browser: String,
    urgency: String,
    topic: String,
    ttl: u64,
    payload: Value,
}

/// One browser's subscription keys, kept by the receiver to decrypt what comes for it.
struct Browser {
    secret: SecretKey,
    auth: [u8; 16],
    /// What the receiver answers for it (201, or 410 for a subscription gone).
    answer: StatusCode,
}

#[derive(Clone)]
struct Receiver {
    browsers: Arc<Mutex<HashMap<String, Browser>>>,
    vapid_public_key: Arc<String>,
    pushed: mpsc::UnboundedSender<Received>,
}

/// The receiver: `POST /push/{browser}`.
struct PushService {
    url: String,
    state: Receiver,
    pushed: mpsc::UnboundedReceiver<Received>,
}

impl PushService {
    async fn start(vapid_public_key: String) -> Self {
        let (tx, pushed) = mpsc::unbounded_channel();
        let state = Receiver {
            browsers: Arc::default(),
            vapid_public_key: Arc::new(vapid_public_key),
            pushed: tx,
        };
        let app = axum::Router::new()
            .route("/push/{browser}", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, state, pushed }
    }

    /// A new browser: its subscription as `PushSubscription.toJSON()` gives it.
    fn browser(&self, name: &str, answer: StatusCode) -> Value {
        let secret =
            SecretKey::random(&mut web_push_native::p256::elliptic_curve::rand_core::OsRng);
        let auth: [u8; 16] = rand_bytes();
        let public = secret.public_key().to_encoded_point(false);
        let subscription = json!({
            "endpoint": format!("{}/push/{name}", self.url),
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(public.as_bytes()),
                "auth": URL_SAFE_NO_PAD.encode(auth),
            },
        });
        self.state.browsers.lock().unwrap().insert(
            name.to_owned(),
            Browser {
                secret,
                auth,
                answer,
            },
        );
        subscription
    }

    /// The next push, within a few delays.
    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.pushed.recv())
            .await
            .expect("a push within 10 s")
            .expect("the receiver runs")
    }

    /// Nothing pushed now (what was due by now has been sent).
    fn nothing_yet(&mut self) {
        if let Ok(push) = self.pushed.try_recv() {
            panic!("no push expected, got {push:?}");
        }
    }
}

fn rand_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&Uuid::new_v4().as_bytes()[..]);
    bytes
}

async fn receive(
    State(state): State<Receiver>,
    Path(browser): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    // RFC 8292: `vapid t=<JWT>, k=<the server's public key>`, the JWT signed by it.
    let authorization = header("authorization");
    let (token, key) = authorization
        .strip_prefix("vapid t=")
        .and_then(|rest| rest.split_once(", k="))
        .expect("a VAPID authorization");
    assert_eq!(key, state.vapid_public_key.as_str(), "the server's key");
    let public = ES256PublicKey::from_bytes(&URL_SAFE_NO_PAD.decode(key).unwrap()).unwrap();
    let claims = public
        .verify_token::<NoCustomClaims>(token, None)
        .expect("a JWT signed by the VAPID key");
    assert!(
        claims.audiences.as_ref().is_some_and(|aud| aud.contains(
            &std::collections::HashSet::from(["http://127.0.0.1".to_owned()])
        )),
        "the push service's origin as audience: {:?}",
        claims.audiences
    );
    assert!(claims.subject.is_some_and(|sub| sub.starts_with("mailto:")));
    assert_eq!(header("content-encoding"), "aes128gcm");

    let (secret, auth, answer) = {
        let browsers = state.browsers.lock().unwrap();
        let known = browsers.get(&browser).expect("a known browser");
        (known.secret.clone(), known.auth, known.answer)
    };
    if answer.is_success() {
        let plain = decrypt(body.to_vec(), &secret, &Auth::clone_from_slice(&auth))
            .expect("a payload encrypted for this browser");
        let _ = state.pushed.send(Received {
            browser,
            urgency: header("urgency"),
            topic: header("topic"),
            ttl: header("ttl").parse().unwrap_or_default(),
            payload: serde_json::from_slice(&plain).expect("JSON"),
        });
    } else {
        let _ = state.pushed.send(Received {
            browser,
            urgency: header("urgency"),
            topic: header("topic"),
            ttl: 0,
            payload: Value::Null,
        });
    }
    answer
}

/// A stack with push notifications and a receiver for its pushes.
async fn stack_with_push() -> (Stack, PushService) {
    stack_with_push_after(NOTIFY_DELAY).await
}

/// A stack with push notifications sent `delay` after a message.
async fn stack_with_push_after(delay: &'static str) -> (Stack, PushService) {
    let key = ES256KeyPair::generate();
    let public = URL_SAFE_NO_PAD.encode(key.public_key().public_key().to_bytes_uncompressed());
    let stack = stack::spawn_with(Options {
        vapid_private_key: Some(URL_SAFE_NO_PAD.encode(key.to_bytes())),
        notify_delay: delay,
        ..Options::default()
    })
    .await;
    (stack, PushService::start(public).await)
}

async fn subscribe(stack: &Stack, user: &User, subscription: Value) {
    let (status, body) = stack
        .api(
            0,
            user,
            Method::POST,
            "push/subscriptions",
            Some(subscription),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn say(stack: &Stack, user: &User, room: Uuid, content: &str) -> Value {
    let (status, body) = stack
        .api(
            0,
            user,
            Method::POST,
            "messages",
            Some(json!({"room_id": room, "content": content, "client_msg_id": Uuid::new_v4().to_string()})),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    body
}

async fn set_room(stack: &Stack, user: &User, room: Uuid, setting: Value) -> Value {
    let (status, body) = stack
        .api(
            0,
            user,
            Method::PUT,
            &format!("rooms/{room}/notifications"),
            Some(setting),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Waits past the delay and a few rounds, so what would be due has gone out.
async fn past_the_delay() {
    tokio::time::sleep(Duration::from_millis(1200)).await;
}

#[tokio::test]
async fn a_mention_reaches_an_away_member_as_an_encrypted_push_and_plain_talk_does_not() {
    let (stack, mut push) = stack_with_push().await;
    let suffix = &Uuid::new_v4().simple().to_string()[..8];
    let ada = stack.registered(&format!("ada{suffix}")).await;
    let grace = stack.registered(&format!("grace{suffix}")).await;
    let room = stack.room(&ada, &[&grace]).await;
    subscribe(&stack, &grace, push.browser("grace", StatusCode::CREATED)).await;
    subscribe(&stack, &ada, push.browser("ada", StatusCode::CREATED)).await;

    // Grace's level in a group room is `mentions` (the default): plain talk tells nobody,
    // and the sender is never told of their own message.
    let (_, setting) = stack
        .api(
            0,
            &grace,
            Method::GET,
            &format!("rooms/{room}/notifications"),
            None,
        )
        .await;
    assert_eq!(setting["effective"], "mentions", "{setting}");
    say(&stack, &ada, room, "just talking").await;
    past_the_delay().await;
    push.nothing_yet();

    let sent = say(
        &stack,
        &ada,
        room,
        &format!("@grace{suffix} could you look at this?"),
    )
    .await;
    let got = push.next().await;
    assert_eq!(got.browser, "grace");
    assert_eq!(got.payload["type"], "message");
    assert_eq!(got.payload["room_id"], room.to_string());
    assert_eq!(got.payload["message_id"], sent["id"]);
    assert_eq!(got.payload["sender_name"], format!("ada{suffix}"));
    assert_eq!(
        got.payload["excerpt"],
        format!("@grace{suffix} could you look at this?")
    );
    assert_eq!(got.payload["count"], 1);
    assert_eq!(got.payload["mention"], true);
    assert_eq!(got.payload["url"], format!("/#/rooms/{room}"));
    assert_eq!(got.urgency, "high");
    assert_eq!(got.topic, room.simple().to_string());
    assert!(got.ttl > 0);
    past_the_delay().await;
    push.nothing_yet();
}

#[tokio::test]
async fn messages_within_the_delay_become_one_notification_and_what_was_read_none() {
    // A delay that three sends and a read fit in on a loaded machine (the suite's 400 ms
    // does not always: the first message was then told alone).
    let delay = Duration::from_secs(2);
    let (stack, mut push) = stack_with_push_after("2s").await;
    let (ada, grace) = (stack.user(), stack.user());
    let room = stack.room(&ada, &[&grace]).await;
    set_room(&stack, &grace, room, json!({"level": "all"})).await;
    subscribe(&stack, &grace, push.browser("grace", StatusCode::CREATED)).await;

    for text in ["one", "two", "three"] {
        say(&stack, &ada, room, text).await;
    }
    let got = push.next().await;
    assert_eq!(got.payload["count"], 3, "{:?}", got.payload);
    assert_eq!(got.payload["excerpt"], "three");
    assert_eq!(got.payload["mention"], false);
    assert_eq!(got.urgency, "normal");

    // Read before the delay ran out: nobody buzzed.
    let sent = say(&stack, &ada, room, "read at once").await;
    let (status, _) = stack
        .api(
            0,
            &grace,
            Method::POST,
            &format!("rooms/{room}/read"),
            Some(json!({"epoch": sent["epoch"], "position": sent["position"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(delay + Duration::from_millis(800)).await;
    push.nothing_yet();
}

#[tokio::test]
async fn a_room_in_view_is_not_notified_and_one_left_is() {
    let (stack, mut push) = stack_with_push().await;
    let (ada, grace) = (stack.user(), stack.user());
    let room = stack.room(&ada, &[&grace]).await;
    set_room(&stack, &grace, room, json!({"level": "all"})).await;
    subscribe(&stack, &grace, push.browser("grace", StatusCode::CREATED)).await;
    let (mut socket, _) = stack.connect(0, &grace).await;

    socket.send(json!({"type": "focus", "room": room})).await;
    socket
        .send(json!({"type": "ping", "id": "focus seen"}))
        .await;
    socket.until("pong").await;
    say(&stack, &ada, room, "you are looking at this").await;
    past_the_delay().await;
    push.nothing_yet();

    // The room in view but the window idle (hidden, or nobody at the keyboard): away, so
    // told.
    socket
        .send(json!({"type": "presence", "status": "idle"}))
        .await;
    socket
        .send(json!({"type": "ping", "id": "idle seen"}))
        .await;
    socket.until("pong").await;
    say(&stack, &ada, room, "while you were away").await;
    assert_eq!(push.next().await.payload["excerpt"], "while you were away");
    socket
        .send(json!({"type": "presence", "status": "active"}))
        .await;

    // Another room in view (or none): told.
    socket.send(json!({"type": "focus"})).await;
    socket
        .send(json!({"type": "ping", "id": "focus gone"}))
        .await;
    socket.until("pong").await;
    say(&stack, &ada, room, "and now you are not").await;
    assert_eq!(push.next().await.payload["excerpt"], "and now you are not");

    // A focus frame names a room by a canonical id.
    socket
        .send(json!({"type": "focus", "room": "not-a-room"}))
        .await;
    let (_, refused) = socket.until("error").await;
    assert_eq!(refused["code"], "invalid_frame", "{refused}");
}

#[tokio::test]
async fn muted_and_silenced_rooms_tell_nobody_and_a_direct_room_tells_everything() {
    let (stack, mut push) = stack_with_push().await;
    let (ada, grace) = (stack.user(), stack.user());
    let room = stack.room(&ada, &[&grace]).await;
    subscribe(&stack, &grace, push.browser("grace", StatusCode::CREATED)).await;

    let until = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let muted = set_room(
        &stack,
        &grace,
        room,
        json!({"level": "all", "muted_until": until}),
    )
    .await;
    assert_eq!(muted["effective"], "none", "{muted}");
    assert_eq!(muted["level"], "all");
    say(&stack, &ada, room, "muted").await;
    set_room(&stack, &grace, room, json!({"level": "none"})).await;
    say(&stack, &ada, room, "silenced").await;
    past_the_delay().await;
    push.nothing_yet();

    // The account's level: `none` silences direct rooms too; `all` tells everything.
    let direct = stack
        .rooms
        .clone()
        .open_direct(chat_proto::v1::OpenDirectRequest {
            caller_id: ada.id.to_string(),
            user_id: grace.id.to_string(),
        })
        .await
        .expect("a direct room")
        .into_inner()
        .id
        .parse::<Uuid>()
        .unwrap();
    let (_, view) = stack
        .api(
            0,
            &grace,
            Method::GET,
            &format!("rooms/{direct}/notifications"),
            None,
        )
        .await;
    assert_eq!(view["effective"], "all", "{view}");
    say(&stack, &ada, direct, "a direct word").await;
    let got = push.next().await;
    assert_eq!(
        (got.payload["excerpt"].as_str(), got.urgency.as_str()),
        (Some("a direct word"), "high")
    );

    // Bad settings are refused, clearly.
    let (status, body) = stack
        .api(
            0,
            &grace,
            Method::PUT,
            &format!("rooms/{room}/notifications"),
            Some(json!({"level": "loud"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let stranger = stack.user();
    let (status, _) = stack
        .api(
            0,
            &stranger,
            Method::GET,
            &format!("rooms/{direct}/notifications"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_subscription_the_push_service_calls_gone_is_removed_and_bad_ones_refused() {
    let (stack, mut push) = stack_with_push().await;
    let (ada, grace) = (stack.user(), stack.user());
    let room = stack.room(&ada, &[&grace]).await;
    set_room(&stack, &grace, room, json!({"level": "all"})).await;
    subscribe(&stack, &grace, push.browser("old-laptop", StatusCode::GONE)).await;

    say(&stack, &ada, room, "first").await;
    assert_eq!(push.next().await.browser, "old-laptop");
    say(&stack, &ada, room, "second").await;
    past_the_delay().await;
    push.nothing_yet();

    // A new browser, then turned off by its owner: nothing more reaches it.
    let phone = push.browser("phone", StatusCode::CREATED);
    subscribe(&stack, &grace, phone.clone()).await;
    let (status, _) = stack
        .api(
            0,
            &grace,
            Method::DELETE,
            "push/subscriptions",
            Some(json!({"endpoint": phone["endpoint"]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    say(&stack, &ada, room, "third").await;
    past_the_delay().await;
    push.nothing_yet();

    let mut bad = push.browser("bad", StatusCode::CREATED);
    bad["keys"]["p256dh"] = json!("not a key");
    let (status, body) = stack
        .api(0, &grace, Method::POST, "push/subscriptions", Some(bad))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["error"]["fields"]["keys.p256dh"], "must be a P-256 public key, base64url",
        "{body}"
    );
}
