//! The typed configuration of the rooms service: command-line flags, each also read from
//! an environment variable (flags win), with defaults and `--help` text.

use std::net::SocketAddr;

use chat_runtime::config::{DatabaseConfig, OpsConfig, ShutdownConfig, TelemetryConfig};
use secrecy::SecretString;

/// Rooms, members, roles, bans and direct-message pairs for the chat services.
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "chat-rooms", version, about, subcommand_negates_reqs = true)]
pub struct Config {
    /// What to do; without a subcommand the service is served.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address of the gRPC listener (`chat.v1.RoomsService` and gRPC health).
    #[arg(
        long = "grpc-addr",
        env = "GRPC_ADDR",
        default_value = "127.0.0.1:50052"
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

    /// Redis holding the room sequences, in which room events take their positions and
    /// are published to the gateways.
    #[arg(
        long = "redis-url",
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: SecretString,

    /// Prefix of every Redis key and channel of the room sequences, so deployments (and
    /// tests) sharing one Redis stay apart. Must match the gateways' and history's prefix.
    #[arg(
        long = "redis-key-prefix",
        env = "REDIS_KEY_PREFIX",
        default_value = "chat:"
    )]
    pub redis_key_prefix: String,

    /// About how many recent entries of a room its Redis stream keeps for short catch-ups;
    /// must match the other processes of the deployment.
    #[arg(
        long = "stream-max-len",
        env = "STREAM_MAX_LEN",
        default_value_t = 10_000
    )]
    pub stream_max_len: usize,

    /// RabbitMQ URL (AMQP 0-9-1), through which room events reach history.
    #[arg(
        long = "amqp-url",
        env = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    pub amqp_url: SecretString,

    /// The durable quorum queue every room event is published to, as history consumes it
    /// (its dead-letter exchange and queue are named after it, as chat-bus names them).
    #[arg(
        long = "persist-queue",
        env = "PERSIST_QUEUE",
        default_value = "chat.messages.persist"
    )]
    pub persist_queue: String,
}

/// Subcommands of the `chat-rooms` binary.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    /// Applies pending database migrations and exits (for a Kubernetes Job).
    Migrate,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Config::command().debug_assert();
    }

    #[test]
    fn other_crates_can_build_a_config_from_flags() {
        let config = Config::try_parse_from([
            "chat-rooms",
            "--database-url",
            "postgres://postgres@127.0.0.1/chat_rooms",
            "--redis-url",
            "redis://127.0.0.1:6379",
            "--redis-key-prefix",
            "t:",
            "--persist-queue",
            "chat.messages.persist.t1",
            "--grpc-addr",
            "127.0.0.1:0",
            "--ops-addr",
            "127.0.0.1:0",
        ])
        .expect("flags parse");
        assert_eq!(config.redis_key_prefix, "t:");
        assert_eq!(config.persist_queue, "chat.messages.persist.t1");
        assert_eq!(config.stream_max_len, 10_000);
        assert_eq!(config.grpc_addr.port(), 0);
        assert!(config.command.is_none());
    }
}
