//! A real gateway in front of real auth and rooms services, all on port 0, with fresh
//! databases, a Redis key prefix and a persist queue per test, and a client that speaks
//! to the gateway as users do.

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
const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

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

/// What one test owns on the shared PostgreSQL, Redis and RabbitMQ, named so that tests
/// run in parallel; dropping it removes all of it.
pub struct Scope {
    id: String,
    pub redis_key_prefix: String,
    /// The persist queue of the gateway and the rooms service.
    pub persist_queue: String,
    databases: Vec<String>,
}

impl Scope {
    pub fn new() -> Self {
        let id = Uuid::new_v4().simple().to_string();
        Self {
            redis_key_prefix: format!("chat_gateway_test:{id}:"),
            persist_queue: format!("chat.messages.persist.gwapi{id}"),
            databases: Vec::new(),
            id,
        }
    }

    /// The URL of a fresh database for `service`, dropped with the scope.
    pub fn database(&mut self, service: &str) -> String {
        let url = format!("{POSTGRES}/chat_gateway_{service}_test_{}", self.id);
        self.databases.push(url.clone());
        url
    }
}

impl Default for Scope {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be single-threaded.
        let databases = std::mem::take(&mut self.databases);
        let prefix = self.redis_key_prefix.clone();
        let queue = self.persist_queue.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                for url in databases {
                    let _ = sqlx::Postgres::force_drop_database(&url).await;
                }
                forget_redis_keys(&prefix).await;
                forget_queues(&queue).await;
            });
        })
        .join();
    }
}

async fn forget_redis_keys(prefix: &str) {
    let Ok(client) = redis::Client::open(REDIS) else {
        return;
    };
    let Ok(mut connection) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: redis::RedisResult<()> = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut connection)
            .await;
    }
}

async fn forget_queues(queue: &str) {
    let Ok(connection) =
        lapin::Connection::connect(AMQP, lapin::ConnectionProperties::default()).await
    else {
        return;
    };
    if let Ok(channel) = connection.create_channel().await {
        let names = chat_bus::QueueNames::for_queue(queue);
        for name in [&names.queue, &names.dead_letter_queue] {
            let _ = channel
                .queue_delete(name, lapin::options::QueueDeleteOptions::default())
                .await;
        }
        let _ = channel
            .exchange_delete(
                &names.dead_letter_exchange,
                lapin::options::ExchangeDeleteOptions::default(),
            )
            .await;
    }
    let _ = connection.close(0, "test over").await;
}

pub struct TestApp {
    /// `http://127.0.0.1:<port>` of the gateway.
    pub address: String,
    pub client: reqwest::Client,
    /// The key auth signs access tokens with, for crafting tokens in tests.
    pub signing_key_pem: String,
    shutdown: CancellationToken,
    /// Dropped after the services were told to stop.
    _scope: Scope,
}

/// Where the services behind a gateway listen.
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub auth_url: String,
    pub rooms_url: String,
}

impl Upstreams {
    /// Every service at `url`, where nothing need listen.
    pub fn all_at(url: &str) -> Self {
        Self {
            auth_url: url.to_owned(),
            rooms_url: url.to_owned(),
        }
    }
}

/// A gateway, auth and rooms service with default options.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(AuthOptions::default()).await
}

pub async fn spawn_app_with(options: AuthOptions) -> TestApp {
    chat_runtime::telemetry::init_for_tests();
    let mut scope = Scope::new();
    let (auth_database, rooms_database) = (scope.database("auth"), scope.database("rooms"));
    let signing_key_pem = chat_auth::generate_signing_key_pem();
    let shutdown = CancellationToken::new();

    let (auth_url, rooms_url) = tokio::join!(
        start_auth(
            &auth_database,
            &scope,
            &signing_key_pem,
            &options,
            shutdown.clone()
        ),
        start_rooms(&rooms_database, &scope, shutdown.clone()),
    );
    let upstreams = Upstreams {
        auth_url,
        rooms_url,
    };
    let address = start_gateway(&upstreams, &scope, shutdown.clone()).await;
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
        _scope: scope,
    }
}

/// Starts an auth service on port 0; returns its gRPC URL.
async fn start_auth(
    database_url: &str,
    scope: &Scope,
    signing_key_pem: &str,
    options: &AuthOptions,
    shutdown: CancellationToken,
) -> String {
    let config = chat_auth::Config::try_parse_from([
        "chat-auth",
        "--database-url",
        database_url,
        "--redis-url",
        REDIS,
        "--redis-key-prefix",
        &scope.redis_key_prefix,
        "--grpc-addr",
        "127.0.0.1:0",
        "--ops-addr",
        "127.0.0.1:0",
        "--signing-key",
        signing_key_pem,
        "--login-max-account-failures",
        &options.max_account_failures.to_string(),
        "--login-max-address-attempts",
        &options.max_address_attempts.to_string(),
        "--shutdown-grace",
        "1s",
    ])
    .expect("auth config");
    let auth = chat_auth::App::build(config)
        .await
        .expect("auth service starts");
    let url = format!("http://{}", auth.grpc_addr());
    tokio::spawn(auth.run_until(shutdown));
    url
}

/// Starts a rooms service on port 0; returns its gRPC URL.
async fn start_rooms(database_url: &str, scope: &Scope, shutdown: CancellationToken) -> String {
    let config = chat_rooms::Config::try_parse_from([
        "chat-rooms",
        "--database-url",
        database_url,
        "--database-max-connections",
        "5",
        "--redis-url",
        REDIS,
        "--redis-key-prefix",
        &scope.redis_key_prefix,
        "--amqp-url",
        AMQP,
        "--persist-queue",
        &scope.persist_queue,
        "--grpc-addr",
        "127.0.0.1:0",
        "--ops-addr",
        "127.0.0.1:0",
        "--shutdown-grace",
        "1s",
    ])
    .expect("rooms config");
    let rooms = chat_rooms::App::build(config)
        .await
        .expect("rooms service starts");
    let url = format!("http://{}", rooms.grpc_addr());
    tokio::spawn(rooms.run_until(shutdown));
    url
}

/// Starts a gateway in front of `upstreams` (which need not be up); returns its base URL.
pub async fn start_gateway(
    upstreams: &Upstreams,
    scope: &Scope,
    shutdown: CancellationToken,
) -> String {
    chat_runtime::telemetry::init_for_tests();
    let config = Config::try_parse_from([
        "chat-gateway",
        "--http-addr",
        "127.0.0.1:0",
        "--auth-url",
        &upstreams.auth_url,
        "--rooms-url",
        &upstreams.rooms_url,
        "--redis-url",
        REDIS,
        "--redis-key-prefix",
        &scope.redis_key_prefix,
        "--amqp-url",
        AMQP,
        "--persist-queue",
        &scope.persist_queue,
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

    /// A request as `token`'s user, with a JSON body when one is given.
    pub async fn send_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        let request = self.request(method, path).bearer_auth(token);
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        request.send().await.unwrap()
    }

    pub async fn post_as(&self, token: &str, path: &str, body: &Value) -> Response {
        self.send_as(token, Method::POST, path, Some(body)).await
    }

    pub async fn delete_as(&self, token: &str, path: &str) -> Response {
        self.send_as(token, Method::DELETE, path, None).await
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

    /// Registers a new user named `<prefix><random>`; returns the session.
    pub async fn new_user(&self, prefix: &str) -> Session {
        self.signed_up(&TestUser::named(prefix)).await
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

/// Checks what an attempt got: a success status, or an error status with its code.
pub async fn assert_outcome(
    response: Response,
    status: StatusCode,
    code: Option<&str>,
    case: &str,
) {
    match code {
        None => {
            let got = response.status();
            let text = response.text().await.unwrap();
            assert_eq!(got, status, "{case}: {text}");
        }
        Some(code) => {
            let got = response.status();
            let body = response.text().await.unwrap();
            assert_eq!(got, status, "{case}: {body}");
            let body: Value = serde_json::from_str(&body).expect("a JSON error");
            assert_eq!(body["error"]["code"], code, "{case}: {body}");
        }
    }
}

/// Who acts on a room, by the position the room rules tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Owner,
    Admin,
    /// A plain member.
    Member,
    /// A second plain member, to act on someone of the same rank.
    Other,
    /// Signed in, not a member.
    Outsider,
}

/// One signed-up user in each [`Actor`] position.
pub struct Cast {
    pub owner: Session,
    pub admin: Session,
    pub member: Session,
    pub other: Session,
    pub outsider: Session,
}

impl Cast {
    pub fn session(&self, actor: Actor) -> &Session {
        match actor {
            Actor::Owner => &self.owner,
            Actor::Admin => &self.admin,
            Actor::Member => &self.member,
            Actor::Other => &self.other,
            Actor::Outsider => &self.outsider,
        }
    }

    pub fn token(&self, actor: Actor) -> &str {
        &self.session(actor).access_token
    }

    pub fn id(&self, actor: Actor) -> &str {
        self.session(actor).user_id()
    }
}

impl TestApp {
    /// Signs up the users of a [`Cast`].
    pub async fn cast(&self) -> Cast {
        let (owner, admin, member, other, outsider) = tokio::join!(
            self.new_user("owner"),
            self.new_user("admin"),
            self.new_user("member"),
            self.new_user("other"),
            self.new_user("outsider"),
        );
        Cast {
            owner,
            admin,
            member,
            other,
            outsider,
        }
    }

    /// Creates a room as `token`'s user; returns it.
    pub async fn created_room(&self, token: &str, body: &Value) -> Value {
        json_body(
            self.post_as(token, "/api/rooms", body).await,
            StatusCode::CREATED,
        )
        .await
    }

    /// A `kind` room ("public" or "private") of the cast's owner, with its admin as admin
    /// and its member and other as members; returns the room's id.
    pub async fn cast_room(&self, cast: &Cast, kind: &str) -> String {
        let room = self
            .created_room(
                cast.token(Actor::Owner),
                &json!({"name": format!("{kind} room"), "type": kind}),
            )
            .await;
        let id = room["id"].as_str().expect("room id").to_owned();
        for actor in [Actor::Admin, Actor::Member, Actor::Other] {
            self.invited(cast.token(Actor::Owner), &id, cast.id(actor))
                .await;
        }
        let response = self
            .send_as(
                cast.token(Actor::Owner),
                Method::PUT,
                &format!("/api/rooms/{id}/members/{}/role", cast.id(Actor::Admin)),
                Some(&json!({"role": "admin"})),
            )
            .await;
        json_body(response, StatusCode::OK).await;
        id
    }

    /// Invites `user_id` as `token`'s user, failing the test unless it worked.
    pub async fn invited(&self, token: &str, room: &str, user_id: &str) -> Value {
        let response = self
            .post_as(
                token,
                &format!("/api/rooms/{room}/invites"),
                &json!({"user_id": user_id}),
            )
            .await;
        json_body(response, StatusCode::CREATED).await
    }

    /// The room's members as `token`'s user sees them: user id and role, all pages.
    pub async fn members(&self, token: &str, room: &str) -> Vec<(String, String)> {
        let mut members = Vec::new();
        let mut cursor = String::new();
        loop {
            let response = self
                .get_as(
                    token,
                    &format!("/api/rooms/{room}/members?limit=2&cursor={cursor}"),
                )
                .await;
            let page = json_body(response, StatusCode::OK).await;
            for member in page["members"].as_array().expect("members") {
                members.push((
                    member["user_id"].as_str().unwrap().to_owned(),
                    member["role"].as_str().unwrap().to_owned(),
                ));
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => return members,
            }
        }
    }

    /// The role of `user_id` in the room, seen by `token`'s user; `None` if not a member.
    pub async fn role_of(&self, token: &str, room: &str, user_id: &str) -> Option<String> {
        self.members(token, room)
            .await
            .into_iter()
            .find(|(id, _)| id == user_id)
            .map(|(_, role)| role)
    }
}
