//! A real gateway in front of real auth and rooms services (the shared test stack, without
//! history), isolated per test, and a client that speaks to the gateway as users do.

use std::time::Duration;

use chat_test_stack::{Flags, Stack, StackOptions};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// This suite's name in the test stacks' databases, Redis prefix and queue.
pub const SUITE: &str = "gwapi";

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
    /// Dropping it stops the services and removes their data.
    _stack: Stack,
}

/// The flags of every test gateway.
pub fn gateway_flags() -> Flags {
    Flags::new()
        .set("--body-limit", BODY_LIMIT)
        .set("--shutdown-grace", "1s")
        // Tests call fast; the limit has its own test.
        .set("--rest-reads-per-second", 100_000)
        .set("--rest-writes-per-second", 100_000)
}

/// A gateway, auth and rooms service with default options.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(AuthOptions::default()).await
}

pub async fn spawn_app_with(options: AuthOptions) -> TestApp {
    let stack = Stack::spawn(
        SUITE,
        StackOptions {
            auth: Flags::new()
                .set("--login-max-account-failures", options.max_account_failures)
                .set("--login-max-address-attempts", options.max_address_attempts)
                .set("--shutdown-grace", "1s"),
            rooms: Flags::new().set("--shutdown-grace", "1s"),
            history: None,
            gateway: gateway_flags(),
            gateways: 1,
            ..StackOptions::default()
        },
    )
    .await;
    TestApp {
        address: stack.gateways[0].url(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        signing_key_pem: stack.signing_key_pem.clone(),
        _stack: stack,
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

    /// The mail the auth service behind the gateway wrote.
    pub fn mail(&self) -> chat_test_stack::mail::MailDir {
        self._stack.mail()
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
                &json!({"name": format!("{kind} room"), "kind": kind}),
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
