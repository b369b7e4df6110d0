//! End-to-end through nginx: the stack as `make run` starts it (auth, rooms, history, two
//! gateways, nginx), driven only as a client would. Two people on different gateways chat;
//! one gateway is stopped, and its client resumes on the other with nothing lost.
//!
//! `deploy/local/e2e.sh` brings the stack up and runs this test with `CHAT_E2E_URL` (the
//! nginx address) and `CHAT_E2E_RUN_DIR` (where the gateways' pid files are). Without
//! them the test has nothing to talk to and is ignored: `make test` runs it through the
//! script.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chat_test_stack::socket::Socket;

mod traces;
use serde_json::{Value, json};
use uuid::Uuid;

struct Stack {
    nginx: SocketAddr,
    base: String,
    run_dir: PathBuf,
    http: reqwest::Client,
}

impl Stack {
    fn from_env() -> Self {
        let url = std::env::var("CHAT_E2E_URL").expect("CHAT_E2E_URL (run deploy/local/e2e.sh)");
        let run_dir = std::env::var("CHAT_E2E_RUN_DIR").expect("CHAT_E2E_RUN_DIR");
        let nginx = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("CHAT_E2E_URL is http://IP:PORT");
        Self {
            nginx,
            base: url.trim_end_matches('/').to_owned(),
            run_dir: run_dir.into(),
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON")
    }

    /// Registers a new user; returns (user id, access token).
    async fn register(&self, name: &str) -> (String, String) {
        let username = format!("{name}_{}", &Uuid::new_v4().simple().to_string()[..10]);
        let (status, body) = self
            .post(
                "/api/auth/register",
                None,
                json!({"username": username, "email": format!("{username}@example.com"),
                       "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (
            body["user"]["id"].as_str().expect("id").to_owned(),
            body["access_token"].as_str().expect("token").to_owned(),
        )
    }

    /// Opens a socket through nginx and authenticates with the `auth` frame.
    async fn connect(&self, token: &str, resume: Value) -> (Socket, Value) {
        let mut socket = Socket::open(self.nginx, &[]).await;
        socket
            .send(json!({"type": "auth", "token": token, "resume": resume}))
            .await;
        let ready = socket.expect("ready").await;
        (socket, ready)
    }

    /// Open sockets per gateway, read from each gateway's own metrics (not via nginx).
    async fn connections_per_gateway(&self) -> Vec<(u32, f64)> {
        let mut counts = Vec::new();
        for (index, addr) in self.gateway_addrs() {
            let text = self
                .http
                .get(format!("http://{addr}/metrics"))
                .send()
                .await
                .expect("metrics")
                .text()
                .await
                .expect("text");
            let open = text
                .lines()
                .find(|line| line.starts_with("chat_gateway_connections"))
                .and_then(|line| line.rsplit(' ').next())
                .and_then(|value| value.parse().ok())
                .unwrap_or(0.0);
            counts.push((index, open));
        }
        counts
    }

    fn gateway_addrs(&self) -> Vec<(u32, String)> {
        let ports = std::env::var("CHAT_E2E_GATEWAYS").expect("CHAT_E2E_GATEWAYS");
        ports
            .split_whitespace()
            .enumerate()
            .map(|(i, port)| (i as u32 + 1, format!("127.0.0.1:{port}")))
            .collect()
    }

    fn gateway_pid(&self, index: u32) -> i32 {
        std::fs::read_to_string(self.run_dir.join(format!("gateway{index}.pid")))
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid")
    }
}

/// Which gateway holds the socket just opened: the one whose count went up.
async fn gateway_of_new_socket(stack: &Stack, before: &[(u32, f64)]) -> u32 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let after = stack.connections_per_gateway().await;
        if let Some((index, _)) = after
            .iter()
            .zip(before)
            .find(|((_, now), (_, then))| now > then)
            .map(|(now, _)| *now)
        {
            return index;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no gateway counted the socket"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
#[ignore = "needs the stack from deploy/local/e2e.sh"]
async fn two_clients_on_two_gateways_chat_and_one_resumes_elsewhere_losing_nothing() {
    let stack = Stack::from_env();

    // Arrange: two people in one room, each on a different gateway behind nginx.
    let (_, alice_token) = stack.register("alice").await;
    let (_, bob_token) = stack.register("bob").await;
    let (status, room) = stack
        .post(
            "/api/rooms",
            Some(&alice_token),
            json!({"name": "e2e", "kind": "public"}),
        )
        .await;
    assert_eq!(status, 201, "{room}");
    let room_id = room["id"].as_str().expect("room id").to_owned();
    let (status, body) = stack
        .post(
            &format!("/api/rooms/{room_id}/join"),
            Some(&bob_token),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let before = stack.connections_per_gateway().await;
    let (mut alice, _) = stack.connect(&alice_token, json!({})).await;
    let alice_gateway = gateway_of_new_socket(&stack, &before).await;
    let (mut bob, bob_gateway) = {
        let mut attempt = 0;
        loop {
            let before = stack.connections_per_gateway().await;
            let (socket, _) = stack.connect(&bob_token, json!({})).await;
            let gateway = gateway_of_new_socket(&stack, &before).await;
            if gateway != alice_gateway {
                break (socket, gateway);
            }
            attempt += 1;
            assert!(attempt < 10, "nginx kept sending bob to alice's gateway");
            socket.close().await;
        }
    };
    assert_ne!(alice_gateway, bob_gateway);

    // Act 1: they chat across the two gateways.
    let ack = alice
        .send_message(&room_id, "a-1", "hello from alice")
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let seen = bob.next_message().await;
    assert_eq!(seen["message"]["content"], "hello from alice");
    // Bob's socket also carries his own message; the ack may come before or after it.
    let ack = bob.send_message(&room_id, "b-1", "hello from bob").await;
    assert_eq!(ack["type"], "ack", "{ack}");
    // Alice may see her own message first (every member's sockets get it).
    let mut alice_last = alice.next_message().await;
    if alice_last["message"]["content"] == "hello from alice" {
        alice_last = alice.next_message().await;
    }
    assert_eq!(alice_last["message"]["content"], "hello from bob");

    // Act 2: alice's gateway stops (SIGTERM, as Kubernetes would), and bob keeps talking.
    let pid = stack.gateway_pid(alice_gateway);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let (frames, code) = alice.frames_until_closed().await;
    assert_eq!(code, Some(1012), "alice is told to reconnect: {frames:?}");
    assert!(
        frames.iter().any(|frame| frame["type"] == "reconnect"),
        "{frames:?}"
    );
    for frame in frames.iter().filter(|f| f["type"] == "message.created") {
        alice_last = frame.clone();
    }
    let mut sent_while_away = Vec::new();
    for n in 0..5 {
        let content = format!("while you were away {n}");
        let ack = bob
            .send_message(&room_id, &format!("b-away-{n}"), &content)
            .await;
        assert_eq!(ack["type"], "ack", "{ack}");
        sent_while_away.push(content);
    }

    // Assert: alice resumes through nginx on the remaining gateway and gets exactly what
    // she missed, in order, once.
    let resume = json!({ room_id.clone(): {"epoch": alice_last["epoch"], "position": alice_last["position"]} });
    let (mut alice, _) = stack.connect(&alice_token, resume).await;
    let (replayed, resumed) = alice.until("resumed").await;
    assert_eq!(resumed["room"], room_id.as_str());
    let contents: Vec<&str> = replayed
        .iter()
        .filter(|frame| frame["type"] == "message.created")
        .map(|frame| frame["message"]["content"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        contents, sent_while_away,
        "exactly the missed messages: {replayed:?}"
    );
    let positions: Vec<u64> = replayed
        .iter()
        .map(|frame| frame["position"].as_u64().expect("position"))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[1] == w[0] + 1),
        "dense: {positions:?}"
    );

    // And history holds all seven messages, in order.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let stored: BTreeMap<u64, String> = loop {
        let page = stack
            .get(
                &format!("/api/rooms/{room_id}/messages?limit=100"),
                &alice_token,
            )
            .await;
        let stored: BTreeMap<u64, String> = page["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| {
                (
                    m["position"].as_u64().expect("position"),
                    m["content"].as_str().expect("content").to_owned(),
                )
            })
            .collect();
        if stored.len() == 7 || tokio::time::Instant::now() > deadline {
            break stored;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let contents: Vec<&String> = stored.values().collect();
    assert_eq!(contents.len(), 7, "{stored:?}");
    assert_eq!(contents[0], "hello from alice");
    assert_eq!(contents[6], "while you were away 4");
}

#[tokio::test]
#[ignore = "needs the stack of deploy/local/e2e.sh"]
async fn a_browser_on_the_stacks_own_origin_may_open_a_socket_and_no_other() {
    // Arrange
    let stack = Stack::from_env();
    let own = format!("http://{}", stack.nginx);

    // Act + assert: the page the stack serves may open a socket; another site may not.
    Socket::open(stack.nginx, &[("origin", &own)])
        .await
        .close()
        .await;
    let refused = Socket::try_open(stack.nginx, &[("origin", "https://elsewhere.example")])
        .await
        .err()
        .expect("another origin is refused");
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["error"]["code"], "origin_not_allowed");
}

#[tokio::test]
#[ignore = "needs the stack of deploy/local/e2e.sh"]
async fn a_file_of_several_megabytes_uploads_through_nginx_and_comes_back_whole() {
    // Arrange: more than nginx's general body limit (1 MB), less than the files limit.
    let stack = Stack::from_env();
    let (_, token) = stack.register("uploader").await;
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();

    // Act
    let response = stack
        .http
        .post(format!("{}/api/uploads?name=trace.bin", stack.base))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(body.clone())
        .send()
        .await
        .expect("request");

    // Assert
    assert_eq!(response.status(), 201);
    let file: Value = response.json().await.expect("JSON");
    assert_eq!(file["size"], 3_000_000);
    let back = stack
        .http
        .get(format!(
            "{}{}",
            stack.base,
            file["url"].as_str().expect("a url")
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(back.status(), 200);
    assert_eq!(
        back.bytes().await.expect("the file").as_ref(),
        body.as_slice()
    );
}

#[tokio::test]
#[ignore = "needs the stack of deploy/local/e2e.sh"]
async fn nginx_refuses_in_the_apis_error_shape() {
    let stack = Stack::from_env();
    let (_, token) = stack.register("refused").await;

    // Over nginx's body limit (1 MB) on an ordinary route.
    let big = stack
        .http
        .post(format!("{}/api/messages", stack.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(vec![b' '; 1_500_000])
        .send()
        .await
        .expect("request");
    assert_eq!(big.status(), 413);
    assert_eq!(big.headers()["content-type"], "application/json");
    let body: Value = big.json().await.expect("a JSON error");
    assert_eq!(body["error"]["code"], "payload_too_large");

    // Past the per-address rate of the account routes (10/s, a burst of 20). Calls without
    // a token: the gateway answers them 401, so every 429 is nginx's own (logins would
    // also meet auth's per-address limit).
    let attempts = (0..60).map(|_| stack.http.get(format!("{}/api/auth/sessions", stack.base)));
    let answers = futures::future::join_all(attempts.map(|request| request.send())).await;
    let limited = answers
        .into_iter()
        .filter_map(Result::ok)
        .find(|answer| answer.status() == 429)
        .expect("nginx limits the account routes");
    assert_eq!(limited.headers()["content-type"], "application/json");
    assert_eq!(limited.headers()["x-content-type-options"], "nosniff");
    let body: Value = limited.json().await.expect("a JSON error");
    assert_eq!(body["error"]["code"], "rate_limited");
    // Let the address's bucket refill for whatever runs next.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
}
