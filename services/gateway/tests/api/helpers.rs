//! A real gateway in front of a real auth service, both on port 0, with a fresh database
//! and Redis key prefix per test, and a client that speaks to the gateway as users do.

use std::time::Duration;

use chat_gateway::{App, Config};
use chat_runtime::shutdown::CancellationToken;
use clap::Parser;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::migrate::MigrateDatabase;
use uuid::Uuid;

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";
const REDIS: &str = "redis://127.0.0.1:6379";

/// The largest body the test gateways accept.
pub const BODY_LIMIT: usize = 4096;

/// The password every test user registers with.
pub const PASSWORD: &str = "correct horse battery staple";

/// How the auth service behind the gateway is configured.
#[derive(Debug, Clone)]
pub struct AuthOptions {
    pub max_account_failures: u32,
    pub max_address_attempts: u32,
}

impl Default for AuthOptions {
    fn default() -> Self {
        Self {
            max_account_failures: 5,
            max_address_attempts: 1000,
        }
    }
}

pub struct TestApp {
    /// `http://127.0.0.1:<port>` of the gateway.
    pub address: String,
    pub client: reqwest::Client,
    /// The key auth signs access tokens with, for crafting tokens in tests.
    pub signing_key_pem: String,
    shutdown: CancellationToken,
    database_url: String,
}

/// A gateway and auth service with default options.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(AuthOptions::default()).await
}

pub async fn spawn_app_with(options: AuthOptions) -> TestApp {
    chat_runtime::telemetry::init_for_tests();
    let id = Uuid::new_v4().simple();
    let database_url = format!("{POSTGRES}/chat_gateway_test_{id}");
    let signing_key_pem = chat_auth::generate_signing_key_pem();
    let shutdown = CancellationToken::new();

    let auth_config = chat_auth::Config::try_parse_from([
        "chat-auth",
        "--database-url",
        &database_url,
        "--redis-url",
        REDIS,
        "--redis-key-prefix",
        &format!("chat_gateway_test:{id}:"),
        "--grpc-addr",
        "127.0.0.1:0",
        "--ops-addr",
        "127.0.0.1:0",
        "--signing-key",
        &signing_key_pem,
        "--login-max-account-failures",
        &options.max_account_failures.to_string(),
        "--login-max-address-attempts",
        &options.max_address_attempts.to_string(),
        "--shutdown-grace",
        "1s",
    ])
    .expect("auth config");
    let auth = chat_auth::App::build(auth_config)
        .await
        .expect("auth service starts");
    let auth_url = format!("http://{}", auth.grpc_addr());
    tokio::spawn(auth.run_until(shutdown.clone()));

    let address = start_gateway(&auth_url, shutdown.clone()).await;
    wait_until_ready(&address).await;

    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        signing_key_pem,
        shutdown,
        database_url,
    }
}

/// Starts a gateway in front of the auth service at `auth_url` (which need not be up);
/// returns its base URL.
pub async fn start_gateway(auth_url: &str, shutdown: CancellationToken) -> String {
    chat_runtime::telemetry::init_for_tests();
    let config = Config::try_parse_from([
        "chat-gateway",
        "--http-addr",
        "127.0.0.1:0",
        "--auth-url",
        auth_url,
        "--body-limit",
        &BODY_LIMIT.to_string(),
        "--shutdown-grace",
        "1s",
    ])
    .expect("gateway config");
    let gateway = App::build(config).await.expect("gateway starts");
    let address = format!("http://{}", gateway.http_addr());
    tokio::spawn(gateway.run_until(shutdown));
    address
}

/// Polls `/readyz` until every dependency answers (connections are made in the
/// background after start), so tests begin against a gateway a load balancer would use.
pub async fn wait_until_ready(address: &str) {
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let response = client.get(format!("{address}/readyz")).send().await;
        match response {
            Ok(response) if response.status() == StatusCode::OK => return,
            Ok(response) if tokio::time::Instant::now() > deadline => {
                panic!("gateway not ready: {}", response.text().await.unwrap())
            }
            Err(err) if tokio::time::Instant::now() > deadline => {
                panic!("gateway not reachable: {err}")
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        // Leave no test database behind; done on a thread of its own because Drop cannot
        // await and the test's runtime may be single-threaded.
        let url = self.database_url.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let _ = sqlx::Postgres::force_drop_database(&url).await;
            });
        })
        .join();
    }
}

/// A user the tests register; unique per call so searches can tell users apart.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub username: String,
    pub email: String,
    pub password: String,
}

impl TestUser {
    /// `<prefix><random>`, lowercase as auth requires.
    pub fn named(prefix: &str) -> Self {
        let username = format!("{prefix}{}", &Uuid::new_v4().simple().to_string()[..8]);
        Self {
            email: format!("{username}@example.com"),
            username,
            password: PASSWORD.to_owned(),
        }
    }

    pub fn generate() -> Self {
        Self::named("user")
    }

    pub fn registration(&self) -> Value {
        json!({
            "username": self.username,
            "email": self.email,
            "password": self.password,
        })
    }
}

/// A signed-in user: who, and their tokens.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: Value,
    pub access_token: String,
    pub refresh_token: String,
}

impl Session {
    pub fn user_id(&self) -> &str {
        self.user["id"].as_str().expect("user id")
    }

    fn from_body(body: &Value) -> Self {
        Self {
            user: body["user"].clone(),
            access_token: body["access_token"].as_str().expect("access_token").into(),
            refresh_token: body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .into(),
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.unwrap()
    }

    /// `GET` with `Authorization: Bearer <token>`.
    pub async fn get_as(&self, token: &str, path: &str) -> Response {
        self.request(Method::GET, path)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn register(&self, user: &TestUser) -> Response {
        self.post_json("/api/auth/register", &user.registration())
            .await
    }

    /// Registers `user` and returns the session, failing the test otherwise.
    pub async fn signed_up(&self, user: &TestUser) -> Session {
        let response = self.register(user).await;
        let body = json_body(response, StatusCode::CREATED).await;
        Session::from_body(&body)
    }

    pub async fn login(&self, login: &str, password: &str) -> Response {
        self.post_json(
            "/api/auth/login",
            &json!({"login": login, "password": password}),
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_json(
            "/api/auth/refresh",
            &json!({"refresh_token": refresh_token}),
        )
        .await
    }

    /// Refreshes and returns the new session, failing the test otherwise.
    pub async fn refreshed(&self, refresh_token: &str) -> Session {
        let body = json_body(self.refresh(refresh_token).await, StatusCode::OK).await;
        Session::from_body(&body)
    }
}

/// The JSON body, after checking the status.
pub async fn json_body(response: Response, expected: StatusCode) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, expected, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

/// Checks an error response: its status, its JSON shape, and its code; returns the body.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/json"
    );
    let body = json_body(response, status).await;
    assert_eq!(body["error"]["code"], code, "body: {body}");
    assert!(body["error"]["message"].is_string(), "body: {body}");
    body
}
