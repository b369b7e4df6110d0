//! Starting one real service in a [`Scope`]: its database, Redis prefix and persist queue
//! come from the scope, it listens on port 0, and it runs until the scope drops or it is
//! stopped on its own. [`Flags`] tune each service as its command line would.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use chat_runtime::shutdown::CancellationToken;
use tokio::task::JoinHandle;

use crate::scope::{AMQP, REDIS, Scope, redis_cluster};

/// A service's command-line flags as `--name value` pairs. Setting a flag again replaces
/// its value, so a suite can change what the stack sets by default.
#[derive(Debug, Clone, Default)]
pub struct Flags(Vec<(String, String)>);

impl Flags {
    pub fn new() -> Self {
        Self::default()
    }

    /// These flags with `name` (such as `--shutdown-grace`) set to `value`.
    pub fn set(mut self, name: &str, value: impl ToString) -> Self {
        let value = value.to_string();
        match self.0.iter_mut().find(|(set, _)| set == name) {
            Some(pair) => pair.1 = value,
            None => self.0.push((name.to_owned(), value)),
        }
        self
    }

    /// These flags, then every one of `overrides`.
    pub fn with(&self, overrides: &Flags) -> Self {
        overrides
            .0
            .iter()
            .fold(self.clone(), |flags, (name, value)| flags.set(name, value))
    }

    /// The configuration `program` would read from these flags.
    fn parse<C: clap::Parser>(&self, program: &str) -> C {
        // `--name=value`: a value may start with `-` (a base64url key does one time in 32).
        let args = self.0.iter().map(|(name, value)| format!("{name}={value}"));
        C::try_parse_from(std::iter::once(program.to_owned()).chain(args))
            .unwrap_or_else(|err| panic!("{program} flags: {err}"))
    }
}

impl<const N: usize> From<[(&str, &str); N]> for Flags {
    fn from(pairs: [(&str, &str); N]) -> Self {
        pairs
            .into_iter()
            .fold(Self::new(), |flags, (name, value)| flags.set(name, value))
    }
}

/// A running service.
pub struct Service {
    /// Where it listens: gRPC for auth, rooms and history, HTTP for a gateway.
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Service {
    fn spawn<F>(addr: SocketAddr, scope: &Scope, run: impl FnOnce(CancellationToken) -> F) -> Self
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let shutdown = scope.shutdown();
        let task = tokio::spawn(run(shutdown.clone()));
        Self {
            addr,
            shutdown,
            task: Some(task),
        }
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops it as SIGTERM would and waits until it exited; panics if it failed.
    pub async fn shut_down(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("service task").expect("service ran");
        }
    }

    /// Stops it at once, as a crash would: its tasks are aborted mid-flight.
    pub fn kill(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.shutdown.cancel();
    }
}

/// A running gateway, with its real-time hub for tests that look inside.
pub struct Gateway {
    /// Its HTTP and WebSocket listener.
    pub addr: SocketAddr,
    pub realtime: chat_gateway::core::realtime::Realtime,
    service: Service,
}

impl Gateway {
    /// `http://<addr>`.
    pub fn url(&self) -> String {
        self.service.url()
    }

    /// Stops it as SIGTERM would (clients are told to reconnect, sockets drain) and waits
    /// until it exited.
    pub async fn shut_down(&mut self) {
        self.service.shut_down().await;
    }

    /// Stops it at once, as a crash would.
    pub fn kill(&mut self) {
        self.service.kill();
    }
}

/// Where the services behind a gateway listen.
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub auth_url: String,
    pub rooms_url: String,
    /// `None`: the gateway's default, for stacks without a history service.
    pub history_url: Option<String>,
    /// `None`: the gateway's default, for stacks without a files service.
    pub files_url: Option<String>,
}

impl Upstreams {
    /// Every service at `url`, where nothing need listen.
    pub fn all_at(url: &str) -> Self {
        Self {
            auth_url: url.to_owned(),
            rooms_url: url.to_owned(),
            history_url: Some(url.to_owned()),
            files_url: Some(url.to_owned()),
        }
    }
}

/// Starts an auth service signing with `signing_key_pem`; `flags` add to or replace the
/// scope's settings.
pub async fn start_auth(scope: &Scope, signing_key_pem: &str, flags: &Flags) -> Service {
    chat_runtime::telemetry::init_for_tests();
    let config: chat_auth::Config = grpc_service(scope, "auth")
        .set("--signing-key", signing_key_pem)
        .set("--mail-dir", scope.directory("mail").display())
        // Tests register many users from one address.
        .set("--register-max-per-address", 1_000_000)
        .set("--public-url", "https://chat.test")
        .with(flags)
        .parse("chat-auth");
    let app = chat_auth::App::build(config).await.expect("auth starts");
    Service::spawn(app.grpc_addr(), scope, |shutdown| app.run_until(shutdown))
}

/// Starts a rooms service; `flags` add to or replace the scope's settings.
pub async fn start_rooms(scope: &Scope, flags: &Flags) -> Service {
    chat_runtime::telemetry::init_for_tests();
    let config: chat_rooms::Config = on_the_bus(scope, "rooms").with(flags).parse("chat-rooms");
    let app = chat_rooms::App::build(config).await.expect("rooms starts");
    Service::spawn(app.grpc_addr(), scope, |shutdown| app.run_until(shutdown))
}

/// Starts a history service (consuming the scope's persist queue); `flags` add to or
/// replace the scope's settings, `--grpc-addr` included to restart where clients point.
pub async fn start_history(scope: &Scope, flags: &Flags) -> Service {
    chat_runtime::telemetry::init_for_tests();
    let config: chat_history::Config = on_the_bus(scope, "history")
        .with(flags)
        .parse("chat-history");
    let app = chat_history::App::build(config)
        .await
        .expect("history starts");
    Service::spawn(app.grpc_addr(), scope, |shutdown| app.run_until(shutdown))
}

/// Where a files service of a scope keeps its blobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FileStorage {
    /// The scope's own directory.
    #[default]
    Directory,
    /// A bucket of the scope's own on the S3 store.
    S3,
}

/// Starts a files service on the scope's database, storing blobs in the scope's own
/// directory or bucket (removed with the scope); `flags` add to or replace that.
pub async fn start_files(scope: &Scope, storage: FileStorage, flags: &Flags) -> Service {
    chat_runtime::telemetry::init_for_tests();
    let store = match storage {
        FileStorage::Directory => Flags::new()
            .set("--files-storage", "fs")
            .set("--files-dir", scope.directory("files").display()),
        FileStorage::S3 => Flags::new()
            .set("--files-storage", "s3")
            .set("--s3-bucket", scope.bucket("files").await)
            .set("--s3-endpoint", crate::scope::s3_endpoint())
            .set("--s3-allow-http", "true")
            // The local SeaweedFS has no credentials configured and accepts any.
            .set("--s3-access-key-id", "chat-test")
            .set("--s3-secret-access-key", "chat-test-secret"),
    };
    let config: chat_files::Config = Flags::from([
        ("--database-url", scope.database("files").as_str()),
        ("--database-max-connections", "2"),
        ("--grpc-addr", "127.0.0.1:0"),
        ("--ops-addr", "127.0.0.1:0"),
    ])
    .with(&store)
    .with(flags)
    .parse("chat-files");
    let app = chat_files::App::build(config).await.expect("files starts");
    Service::spawn(app.grpc_addr(), scope, |shutdown| app.run_until(shutdown))
}

/// What every gRPC service of the scope starts with: its database, the scope's Redis
/// prefix, and port 0 for its listeners.
fn grpc_service(scope: &Scope, service: &str) -> Flags {
    on_redis(Flags::from([
        ("--database-url", scope.database(service).as_str()),
        ("--database-max-connections", "4"),
        ("--redis-url", REDIS),
        ("--redis-key-prefix", &scope.redis_key_prefix),
        ("--grpc-addr", "127.0.0.1:0"),
        ("--ops-addr", "127.0.0.1:0"),
    ]))
}

/// `flags` pointed at the tests' Redis Cluster, when they run against one.
fn on_redis(flags: Flags) -> Flags {
    match redis_cluster() {
        Some(seeds) => flags.set("--redis-cluster", seeds),
        None => flags,
    }
}

/// A gRPC service that also speaks to RabbitMQ, on the scope's persist queue.
fn on_the_bus(scope: &Scope, service: &str) -> Flags {
    grpc_service(scope, service)
        .set("--amqp-url", AMQP)
        .set("--persist-queue", &scope.persist_queue)
}

/// Starts a gateway in front of `upstreams` (which need not be up yet); `flags` add to or
/// replace the scope's settings.
pub async fn start_gateway(scope: &Scope, upstreams: &Upstreams, flags: &Flags) -> Gateway {
    chat_runtime::telemetry::init_for_tests();
    let mut defaults = on_redis(Flags::from([
        ("--http-addr", "127.0.0.1:0"),
        ("--auth-url", upstreams.auth_url.as_str()),
        ("--rooms-url", &upstreams.rooms_url),
        ("--redis-url", REDIS),
        ("--redis-key-prefix", &scope.redis_key_prefix),
        ("--amqp-url", AMQP),
        ("--persist-queue", &scope.persist_queue),
    ]));
    if let Some(history_url) = &upstreams.history_url {
        defaults = defaults.set("--history-url", history_url);
    }
    if let Some(files_url) = &upstreams.files_url {
        defaults = defaults.set("--files-url", files_url);
    }
    let config: chat_gateway::Config = defaults.with(flags).parse("chat-gateway");
    let app = chat_gateway::App::build(config)
        .await
        .expect("gateway starts");
    let addr = app.http_addr();
    let realtime = app.realtime().clone();
    Gateway {
        addr,
        realtime,
        service: Service::spawn(addr, scope, |shutdown| app.run_until(shutdown)),
    }
}

/// Polls `/readyz` at `url` until every dependency answers (connections are made in the
/// background after start), so work begins against a gateway a load balancer would use.
pub async fn wait_ready(url: &str) {
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let response = client.get(format!("{url}/readyz")).send().await;
        match response {
            Ok(response) if response.status().is_success() => return,
            Ok(response) if tokio::time::Instant::now() > deadline => {
                panic!(
                    "{url} not ready: {}",
                    response.text().await.unwrap_or_default()
                )
            }
            Err(err) if tokio::time::Instant::now() > deadline => {
                panic!("{url} not reachable: {err}")
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}
