//! The typed configuration of the history service: command-line flags, each also read from
//! an environment variable (flags win), with defaults and `--help` text.

use std::net::SocketAddr;
use std::time::Duration;

use chat_bus::PersistConfig;
use chat_runtime::config::{
    DatabaseConfig, OpsConfig, RedisConfig, ShutdownConfig, TelemetryConfig, humantime_duration,
};

/// Stored room sequences: consumes the persist queue into PostgreSQL, sweeps pending
/// records out of Redis, and serves history over gRPC.
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "chat-history", version, about, subcommand_negates_reqs = true)]
pub struct Config {
    /// What to do; without a subcommand the service is served.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address of the gRPC listener (`chat.v1.HistoryService` and gRPC health).
    #[arg(
        long = "grpc-addr",
        env = "GRPC_ADDR",
        default_value = "127.0.0.1:50053"
    )]
    pub grpc_addr: SocketAddr,

    #[command(flatten)]
    pub ops: OpsConfig,

    #[command(flatten)]
    pub database: DatabaseConfig,

    #[command(flatten)]
    pub telemetry: TelemetryConfig,

    #[command(flatten)]
    pub shutdown: ShutdownConfig,

    #[command(flatten)]
    pub consumer: ConsumerConfig,

    #[command(flatten)]
    pub sweeper: SweeperConfig,

    // Redis holds the room sequences and their pending records.
    #[command(flatten)]
    pub redis: RedisConfig,

    #[command(flatten)]
    pub notify: crate::notify::NotifyConfig,
}

/// Subcommands of the `chat-history` binary.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    /// Applies pending database migrations and exits (for a Kubernetes Job).
    Migrate,
    /// Prints a new VAPID private key (base64url) for `VAPID_PRIVATE_KEY`, and its public
    /// key, and exits.
    VapidKey,
}

/// How the persist queue is consumed.
#[derive(clap::Args, Debug, Clone)]
pub struct ConsumerConfig {
    // The queue the gateways and the rooms service publish every RoomEnvelope to.
    #[command(flatten)]
    pub persist: PersistConfig,

    /// Largest number of envelopes written in one transaction.
    #[arg(
        long = "batch-size",
        env = "HISTORY_BATCH_SIZE",
        default_value_t = 500,
        value_parser = clap::value_parser!(u16).range(1..)
    )]
    pub batch_size: u16,

    /// How long a batch waits for more envelopes after its first one arrived.
    #[arg(
        long = "batch-linger",
        env = "HISTORY_BATCH_LINGER",
        default_value = "20ms",
        value_parser = humantime_duration
    )]
    pub batch_linger: Duration,

    /// Largest number of unacknowledged deliveries the broker hands this consumer
    /// (AMQP `basic.qos` prefetch count). Twice the batch size lets the next batch arrive
    /// while one is being committed (measured 30-45% more throughput than prefetch equal
    /// to the batch size); below the batch size, batches stay small.
    #[arg(long = "prefetch", env = "HISTORY_PREFETCH", default_value_t = 1000)]
    pub prefetch: u16,
}

/// How pending records (envelopes fanned out whose broker confirm never came) are swept.
#[derive(clap::Args, Debug, Clone)]
pub struct SweeperConfig {
    /// How often the pending records are looked at.
    #[arg(
        long = "sweep-interval",
        env = "HISTORY_SWEEP_INTERVAL",
        default_value = "3s",
        value_parser = humantime_duration
    )]
    pub interval: Duration,

    /// A pending record older than this is taken to have lost its gateway and is stored
    /// from Redis. Much longer than a broker confirm takes, so the sweeper rarely races a
    /// live gateway (and when it does, the insert is idempotent).
    #[arg(
        long = "sweep-age",
        env = "HISTORY_SWEEP_AGE",
        default_value = "10s",
        value_parser = humantime_duration
    )]
    pub age: Duration,

    /// Largest number of pending records stored per sweep.
    #[arg(
        long = "sweep-limit",
        env = "HISTORY_SWEEP_LIMIT",
        default_value_t = 1000
    )]
    pub limit: usize,
}
