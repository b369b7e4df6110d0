//! Configuration pieces that several services flatten into their own typed config.
//!
//! Every service reads one `clap` struct from command-line flags and environment
//! variables (flags win), with defaults and `--help` text. Secrets are wrapped in
//! [`secrecy::SecretString`] so they never reach a log line or a `Debug` print.

use std::net::SocketAddr;

use secrecy::SecretString;

/// Logging and tracing.
#[derive(clap::Args, Debug, Clone)]
pub struct TelemetryConfig {
    /// Log filter in `tracing` EnvFilter syntax, e.g. `info,chat_auth=debug`.
    #[arg(long = "log-filter", env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,

    /// Log line format.
    #[arg(long = "log-format", env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// OTLP/gRPC endpoint for traces (e.g. http://127.0.0.1:4317). Unset: no export.
    #[arg(long = "otlp-endpoint", env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// Which spans are exported as traces (EnvFilter syntax), independent of the log
    /// filter: quiet logs (`RUST_LOG=warn`) still export whole traces. Which traces are
    /// kept is the sampler's (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`, read by
    /// the OpenTelemetry SDK; every trace by default, a parent's decision followed).
    #[arg(
        long = "traces-filter",
        env = "OTEL_TRACES_FILTER",
        default_value = "info"
    )]
    pub traces_filter: String,

    /// Name reported as `service.name`; defaults to the binary's service name.
    #[arg(long = "service-name", env = "OTEL_SERVICE_NAME")]
    pub service_name: Option<String>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// A PostgreSQL database owned by one service.
#[derive(clap::Args, Debug, Clone)]
pub struct DatabaseConfig {
    /// PostgreSQL URL of this service's own database; created when missing.
    #[arg(long = "database-url", env = "DATABASE_URL")]
    pub database_url: SecretString,

    /// Largest number of pooled connections.
    #[arg(
        long = "database-max-connections",
        env = "DATABASE_MAX_CONNECTIONS",
        default_value_t = 10
    )]
    pub max_connections: u32,
}

/// The Redis a service keeps its shared state in, and the prefix that keeps one
/// deployment's keys apart from another's.
#[derive(clap::Args, Debug, Clone)]
pub struct RedisConfig {
    /// Redis URL: the room sequences, their live channels and pending records, and the
    /// login-attempt counters shared by every replica.
    #[arg(
        long = "redis-url",
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: SecretString,

    /// Seed nodes of a Redis Cluster, comma-separated URLs (`redis://host:port,...`; a
    /// few masters are enough, the rest is discovered). When set, every process runs
    /// against the cluster, with sharded pub/sub, and `REDIS_URL` is not used.
    #[arg(long = "redis-cluster", env = "REDIS_CLUSTER", value_delimiter = ',')]
    pub redis_cluster: Vec<SecretString>,

    /// Prefix of every Redis key and channel written, so deployments (and tests) sharing
    /// one Redis stay apart. Must be the same for every process of a deployment.
    #[arg(
        long = "redis-key-prefix",
        env = "REDIS_KEY_PREFIX",
        default_value = "chat:"
    )]
    pub redis_key_prefix: String,
}

/// The HTTP listener for `/healthz`, `/readyz` and `/metrics` of a gRPC service.
#[derive(clap::Args, Debug, Clone)]
pub struct OpsConfig {
    /// Address of the operations HTTP listener (health probes and Prometheus metrics).
    #[arg(long = "ops-addr", env = "OPS_ADDR", default_value = "127.0.0.1:0")]
    pub ops_addr: SocketAddr,
}

/// How long a draining process waits for in-flight work after a shutdown signal.
#[derive(clap::Args, Debug, Clone)]
pub struct ShutdownConfig {
    /// Grace period after SIGTERM before remaining work is abandoned (e.g. `20s`).
    #[arg(long = "shutdown-grace", env = "SHUTDOWN_GRACE", default_value = "20s", value_parser = humantime_duration)]
    pub grace: std::time::Duration,
}

/// Parses `20s`, `1m30s`, `500ms`.
pub fn humantime_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| e.to_string())
}
