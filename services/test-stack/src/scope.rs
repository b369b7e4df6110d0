//! What one test owns on the shared PostgreSQL, Redis and RabbitMQ: databases, a Redis key
//! prefix and a persist queue, all named with one fresh id, and a shutdown token for the
//! services started on them. Dropping the scope stops those services and removes all of it.

use std::sync::Mutex;
use std::time::Duration;

use chat_runtime::config::RedisConfig;
use chat_runtime::redis_connection::{RedisConnection, RedisTarget};
use chat_runtime::shutdown::CancellationToken;
use sqlx::migrate::MigrateDatabase;
use tokio::runtime::RuntimeFlavor;
use uuid::Uuid;

/// The PostgreSQL server test databases are created on.
pub const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";
/// The Redis server every scope shares, apart by key prefix.
pub const REDIS: &str = "redis://127.0.0.1:6379";
/// Names the seed nodes (comma-separated URLs) of a Redis Cluster that tests run against
/// instead of [`REDIS`]; `make test` sets it for the suites it runs on the local cluster
/// (deploy/local/redis-cluster.sh).
pub const REDIS_CLUSTER_ENV: &str = "CHAT_TEST_REDIS_CLUSTER";

/// The seed nodes of the Redis Cluster tests run against, when they do.
pub fn redis_cluster() -> Option<String> {
    std::env::var(REDIS_CLUSTER_ENV)
        .ok()
        .filter(|seeds| !seeds.trim().is_empty())
}

/// Where the tests' Redis is: the cluster when [`REDIS_CLUSTER_ENV`] is set, else
/// [`REDIS`].
pub fn redis_target() -> RedisTarget {
    let config = RedisConfig {
        redis_url: REDIS.into(),
        redis_cluster: redis_cluster()
            .map(|seeds| seeds.split(',').map(|seed| seed.into()).collect())
            .unwrap_or_default(),
        redis_key_prefix: String::new(),
    };
    RedisTarget::from_config(&config).expect("test Redis settings")
}

/// A connection to the tests' Redis, as the services make it.
pub async fn redis_connection() -> RedisConnection {
    redis_target().connect().await.expect("connect to Redis")
}

/// The RabbitMQ broker every scope shares, apart by queue name.
pub const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// The S3-compatible store every scope shares, apart by bucket (the local SeaweedFS of
/// deploy/local/seaweedfs.sh), unless `S3_ENDPOINT` names another.
const DEFAULT_S3_ENDPOINT: &str = "http://127.0.0.1:8333";

/// The S3 endpoint scopes make their buckets on.
pub fn s3_endpoint() -> String {
    std::env::var("S3_ENDPOINT").unwrap_or_else(|_| DEFAULT_S3_ENDPOINT.to_owned())
}

/// How long services on a multi-threaded runtime get to stop after the scope's shutdown
/// before their data goes. (On a current-thread runtime they cannot run while the scope
/// drops, so there is nothing to wait for.)
const STOP_GRACE: Duration = Duration::from_millis(500);

/// Uniquely named resources for one test, and the shutdown of everything started on them.
pub struct Scope {
    id: String,
    suite: String,
    /// The Redis key prefix every service of the scope uses.
    pub redis_key_prefix: String,
    /// The persist queue of the gateways, rooms and history services of the scope.
    pub persist_queue: String,
    databases: Mutex<Vec<String>>,
    directories: Mutex<Vec<std::path::PathBuf>>,
    buckets: Mutex<Vec<String>>,
    shutdown: CancellationToken,
}

impl Scope {
    /// A fresh scope. `suite` (a few lowercase letters) names whose resources these are,
    /// so that anything left behind after a crash can be traced to its test suite.
    pub fn new(suite: &str) -> Self {
        let id = Uuid::new_v4().simple().to_string();
        Self {
            redis_key_prefix: format!("test:{suite}:{id}:"),
            persist_queue: format!("chat.messages.persist.{suite}{id}"),
            databases: Mutex::new(Vec::new()),
            directories: Mutex::new(Vec::new()),
            buckets: Mutex::new(Vec::new()),
            shutdown: CancellationToken::new(),
            suite: suite.to_owned(),
            id,
        }
    }

    /// The URL of this scope's database for `service` (`chat_<suite>_<service>_test_<id>`),
    /// dropped with the scope. The services create it when they start.
    pub fn database(&self, service: &str) -> String {
        let url = format!("{POSTGRES}/chat_{}_{service}_test_{}", self.suite, self.id);
        let mut databases = self.databases.lock().expect("databases");
        if !databases.contains(&url) {
            databases.push(url.clone());
        }
        url
    }

    /// A directory of this scope for `service` under the system's temporary directory
    /// (`chat-<suite>-<service>-<id>`), removed with the scope.
    pub fn directory(&self, service: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("chat-{}-{service}-{}", self.suite, self.id));
        let mut directories = self.directories.lock().expect("directories");
        if !directories.contains(&dir) {
            directories.push(dir.clone());
        }
        dir
    }

    /// A new bucket of this scope for `service` on the S3 store (`chat-<suite>-<service>-
    /// <id>`), deleted with its objects with the scope. The local SeaweedFS takes a plain
    /// `PUT /<bucket>` without credentials (`object_store` has no call to create one).
    pub async fn bucket(&self, service: &str) -> String {
        let name = format!("chat-{}-{service}-{}", self.suite, self.id);
        let response = reqwest::Client::new()
            .put(format!("{}/{name}", s3_endpoint()))
            .send()
            .await
            .unwrap_or_else(|err| {
                panic!(
                    "S3 at {} ({err}): run deploy/local/seaweedfs.sh",
                    s3_endpoint()
                )
            });
        assert!(
            response.status().is_success(),
            "creating bucket {name}: {}",
            response.status()
        );
        self.buckets.lock().expect("buckets").push(name.clone());
        name
    }

    /// A token cancelled when the scope drops; a service started with it can also be
    /// stopped on its own by cancelling it.
    pub fn shutdown(&self) -> CancellationToken {
        self.shutdown.child_token()
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let grace = tokio::runtime::Handle::try_current()
            .is_ok_and(|runtime| runtime.runtime_flavor() == RuntimeFlavor::MultiThread)
            .then_some(STOP_GRACE);
        let databases = std::mem::take(&mut *self.databases.lock().expect("databases"));
        let directories = std::mem::take(&mut *self.directories.lock().expect("directories"));
        let buckets = std::mem::take(&mut *self.buckets.lock().expect("buckets"));
        let prefix = self.redis_key_prefix.clone();
        let queue = self.persist_queue.clone();
        // Drop cannot await, and the test's runtime may be single-threaded or busy: a
        // short-lived runtime on its own thread does the work.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Some(grace) = grace {
                    tokio::time::sleep(grace).await;
                }
                for database in databases {
                    let _ = sqlx::Postgres::force_drop_database(&database).await;
                }
                forget_redis_keys(&prefix).await;
                forget_queues(&queue).await;
                for directory in directories {
                    let _ = std::fs::remove_dir_all(directory);
                }
                for bucket in buckets {
                    // SeaweedFS deletes a bucket with its objects.
                    let _ = reqwest::Client::new()
                        .delete(format!("{}/{bucket}", s3_endpoint()))
                        .send()
                        .await;
                }
            });
        })
        .join();
    }
}

async fn forget_redis_keys(prefix: &str) {
    let Ok(connection) = redis_target().connect().await else {
        return;
    };
    forget_keys(&connection, prefix).await;
}

/// Deletes every key under `prefix` (one by one: in a cluster they live in many slots).
pub async fn forget_keys(connection: &RedisConnection, prefix: &str) {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection.clone())
        .await
        .unwrap_or_default();
    for chunk in keys.chunks(1000) {
        let deletes = chunk.iter().map(|key| {
            let mut connection = connection.clone();
            async move {
                redis::cmd("UNLINK")
                    .arg(key)
                    .query_async::<i64>(&mut connection)
                    .await
            }
        });
        let _ = futures::future::join_all(deletes).await;
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
