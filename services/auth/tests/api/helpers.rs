//! Starts the real auth service against real PostgreSQL and Redis. Each test owns a fresh
//! database, a Redis key prefix and a signing key; replicas started on the same
//! environment share all three, as replicas behind one load balancer do.

use std::sync::Arc;
use std::time::Duration;

use chat_auth::{App, Config};
use chat_proto::v1::auth_service_client::AuthServiceClient;
use chat_proto::v1::{AuthResponse, DeviceInfo, LoginRequest, RegisterRequest};
use chat_runtime::shutdown::CancellationToken;
use chat_runtime::status::RemoteError;
use chat_runtime::token::{AuthKeySource, TokenVerifier};
use clap::Parser as _;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use uuid::Uuid;

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";
const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// The password every test user registers with.
pub const PASSWORD: &str = "correct horse battery";

/// What one test owns; every replica started on it shares it.
#[derive(Clone)]
pub struct TestEnv {
    pub database_url: String,
    pub key_prefix: String,
    pub signing_key_pem: String,
    database: Arc<TestDatabase>,
}

/// A running auth service and a client connected to it.
pub struct TestApp {
    pub client: AuthServiceClient<Channel>,
    pub grpc_addr: std::net::SocketAddr,
    pub ops_addr: std::net::SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _database: Arc<TestDatabase>,
}

/// Drops the test database once the environment and every replica on it are gone.
struct TestDatabase {
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let statement = format!(r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#, self.name);
        // Drop runs inside the test's runtime, which cannot be blocked on; a short-lived
        // runtime on its own thread does the work.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let pool = PgPool::connect(&format!("{POSTGRES}/postgres"))
                    .await
                    .ok()?;
                sqlx::query(&statement).execute(&pool).await.ok()
            })
        });
        let _ = dropped.join();
    }
}

/// A fresh environment with one service running on it (the database lives as long as
/// the service).
pub async fn spawn_app() -> TestApp {
    TestEnv::new().start(&[]).await
}

impl TestEnv {
    pub fn new() -> Self {
        chat_runtime::telemetry::init_for_tests();
        let id = Uuid::new_v4().simple().to_string();
        let name = format!("chat_auth_test_{id}");
        Self {
            database_url: format!("{POSTGRES}/{name}"),
            key_prefix: format!("{name}:"),
            signing_key_pem: chat_auth::generate_signing_key_pem(),
            database: Arc::new(TestDatabase { name }),
        }
    }

    /// The same database and Redis prefix with another signing key (a key rotation).
    pub fn with_signing_key(&self, signing_key_pem: String) -> TestEnv {
        TestEnv {
            signing_key_pem,
            ..self.clone()
        }
    }

    /// The same database and signing key with another Redis prefix.
    pub fn with_key_prefix(&self, key_prefix: String) -> TestEnv {
        TestEnv {
            key_prefix,
            ..self.clone()
        }
    }

    /// Starts a replica; `extra` flags are appended to the defaults.
    pub async fn start(&self, extra: &[&str]) -> TestApp {
        let mut args = vec![
            "chat-auth",
            "--grpc-addr",
            "127.0.0.1:0",
            "--ops-addr",
            "127.0.0.1:0",
            "--database-url",
            &self.database_url,
            "--database-max-connections",
            "4",
            "--redis-url",
            REDIS_URL,
            "--redis-key-prefix",
            &self.key_prefix,
            "--signing-key",
            &self.signing_key_pem,
            "--password-hash-concurrency",
            "2",
        ];
        // Tests register many users from one address; the limit has its own test.
        if !extra.contains(&"--register-max-per-address") {
            args.extend(["--register-max-per-address", "1000000"]);
        }
        args.extend_from_slice(extra);
        let config = Config::try_parse_from(args).expect("valid test configuration");
        let app = App::build(config).await.expect("the service builds");
        let grpc_addr = app.grpc_addr();
        let ops_addr = app.ops_addr();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run_until(shutdown.clone()));
        let channel = Channel::from_shared(format!("http://{grpc_addr}"))
            .expect("a valid URI")
            .connect()
            .await
            .expect("the gRPC listener accepts");
        TestApp {
            client: AuthServiceClient::new(channel),
            grpc_addr,
            ops_addr,
            shutdown,
            task: Some(task),
            _database: self.database.clone(),
        }
    }

    /// A direct connection to the service's database, for arranging what the API cannot
    /// (such as an expired session).
    pub async fn database(&self) -> PgPool {
        PgPool::connect(&self.database_url)
            .await
            .expect("connect to the test database")
    }
}

impl TestApp {
    /// A clone of the client, for concurrent calls.
    pub fn client(&self) -> AuthServiceClient<Channel> {
        self.client.clone()
    }

    /// Registers `username` (email `<username>@example.com`, password [`PASSWORD`]).
    pub async fn register(&self, username: &str) -> AuthResponse {
        self.client()
            .register(registration(username))
            .await
            .unwrap_or_else(|status| panic!("registering {username}: {status:?}"))
            .into_inner()
    }

    pub async fn login(
        &self,
        login: &str,
        password: &str,
        ip_address: &str,
    ) -> Result<AuthResponse, RemoteError> {
        self.client()
            .login(LoginRequest {
                login: login.into(),
                password: password.into(),
                device: Some(device(ip_address)),
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| RemoteError::from(&status))
    }

    /// A verifier that fetches this service's published keys over gRPC, as gateways do.
    pub async fn verifier(&self) -> TokenVerifier {
        let channel = Channel::from_shared(format!("http://{}", self.grpc_addr))
            .expect("a valid URI")
            .connect()
            .await
            .expect("the gRPC listener accepts");
        let client = AuthServiceClient::new(chat_runtime::grpc_trace::traced(channel));
        TokenVerifier::new(AuthKeySource(client), Duration::ZERO)
    }

    /// Stops the service and waits for it to drain.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await
                .expect("the service task")
                .expect("the service stops cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A valid registration of `username`.
pub fn registration(username: &str) -> RegisterRequest {
    RegisterRequest {
        username: username.into(),
        email: format!("{username}@example.com"),
        password: PASSWORD.into(),
        display_name: None,
        device: Some(device("203.0.113.1")),
    }
}

pub fn device(ip_address: &str) -> DeviceInfo {
    DeviceInfo {
        user_agent: "chat-auth-tests/1".into(),
        ip_address: ip_address.into(),
    }
}

/// What a caller reads out of a failed call.
pub fn remote<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> RemoteError {
    let status = result.expect_err("the call should fail");
    RemoteError::from(&status)
}

/// The names of the fields a validation error lists.
pub fn fields(error: &RemoteError) -> Vec<&str> {
    error
        .fields
        .iter()
        .map(|(field, _)| field.as_str())
        .collect()
}
