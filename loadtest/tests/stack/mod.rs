//! The whole chat stack inside the test process: real auth, rooms and history services
//! and two gateways, all on port 0, with their own databases, Redis key prefix and
//! RabbitMQ queue, so runs never see each other and leave nothing behind.

use std::net::SocketAddr;
use std::time::Duration;

use chat_runtime::shutdown::CancellationToken;
use clap::Parser;
use sqlx::migrate::MigrateDatabase;
use uuid::Uuid;

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";
const REDIS: &str = "redis://127.0.0.1:6379";
const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

pub struct Stack {
    /// The gateways' `http://host:port`.
    pub gateways: Vec<String>,
    prefix: String,
    queue: String,
    databases: Vec<String>,
    shutdown: CancellationToken,
}

impl Stack {
    pub async fn spawn() -> Self {
        chat_runtime::telemetry::init_for_tests();
        let id = Uuid::new_v4().simple().to_string();
        let prefix = format!("test:lt:{id}:");
        let queue = format!("chat.messages.persist.lt{id}");
        let database = |service: &str| format!("{POSTGRES}/chat_lt_{service}_test_{id}");
        let shutdown = CancellationToken::new();
        let mut stack = Self {
            gateways: Vec::new(),
            prefix: prefix.clone(),
            queue: queue.clone(),
            databases: vec![database("auth"), database("rooms"), database("history")],
            shutdown: shutdown.clone(),
        };

        let signing_key = chat_auth::generate_signing_key_pem();
        let auth = chat_auth::App::build(
            chat_auth::Config::try_parse_from([
                "chat-auth",
                "--database-url",
                &database("auth"),
                "--database-max-connections",
                "4",
                "--redis-url",
                REDIS,
                "--redis-key-prefix",
                &prefix,
                "--grpc-addr",
                "127.0.0.1:0",
                "--ops-addr",
                "127.0.0.1:0",
                "--signing-key",
                &signing_key,
                "--login-max-address-attempts",
                "100000",
            ])
            .expect("auth config"),
        )
        .await
        .expect("auth starts");
        let auth_url = format!("http://{}", auth.grpc_addr());
        tokio::spawn(auth.run_until(shutdown.clone()));

        let rooms = chat_rooms::App::build(
            chat_rooms::Config::try_parse_from([
                "chat-rooms",
                "--database-url",
                &database("rooms"),
                "--database-max-connections",
                "4",
                "--redis-url",
                REDIS,
                "--redis-key-prefix",
                &prefix,
                "--amqp-url",
                AMQP,
                "--persist-queue",
                &queue,
                "--grpc-addr",
                "127.0.0.1:0",
                "--ops-addr",
                "127.0.0.1:0",
            ])
            .expect("rooms config"),
        )
        .await
        .expect("rooms starts");
        let rooms_url = format!("http://{}", rooms.grpc_addr());
        tokio::spawn(rooms.run_until(shutdown.clone()));

        let history = chat_history::App::build(
            chat_history::Config::try_parse_from([
                "chat-history",
                "--database-url",
                &database("history"),
                "--database-max-connections",
                "4",
                "--redis-url",
                REDIS,
                "--redis-key-prefix",
                &prefix,
                "--amqp-url",
                AMQP,
                "--persist-queue",
                &queue,
                "--grpc-addr",
                "127.0.0.1:0",
                "--ops-addr",
                "127.0.0.1:0",
            ])
            .expect("history config"),
        )
        .await
        .expect("history starts");
        let history_url = format!("http://{}", history.grpc_addr());
        tokio::spawn(history.run_until(shutdown.clone()));

        for _ in 0..2 {
            let gateway = chat_gateway::App::build(
                chat_gateway::Config::try_parse_from([
                    "chat-gateway",
                    "--http-addr",
                    "127.0.0.1:0",
                    "--auth-url",
                    &auth_url,
                    "--rooms-url",
                    &rooms_url,
                    "--history-url",
                    &history_url,
                    "--redis-url",
                    REDIS,
                    "--redis-key-prefix",
                    &prefix,
                    "--amqp-url",
                    AMQP,
                    "--persist-queue",
                    &queue,
                    "--shutdown-grace",
                    "2s",
                ])
                .expect("gateway config"),
            )
            .await
            .expect("gateway starts");
            let addr: SocketAddr = gateway.http_addr();
            tokio::spawn(gateway.run_until(shutdown.clone()));
            stack.gateways.push(format!("http://{addr}"));
        }
        for gateway in &stack.gateways {
            wait_ready(gateway).await;
        }
        stack
    }
}

/// Waits until a gateway's `/readyz` answers 200 (its dependencies are reachable).
async fn wait_ready(gateway: &str) {
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = client.get(format!("{gateway}/readyz")).send().await
            && response.status().is_success()
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{gateway} never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let databases = std::mem::take(&mut self.databases);
        let prefix = self.prefix.clone();
        let queue = self.queue.clone();
        // Drop cannot await, and the test's runtime may be busy or gone.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                for database in databases {
                    let _ = sqlx::Postgres::force_drop_database(&database).await;
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
    for chunk in keys.chunks(1000) {
        let _: redis::RedisResult<()> = redis::cmd("DEL")
            .arg(chunk)
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
