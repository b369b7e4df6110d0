//! The typed configuration of the rooms service: command-line flags, each also read from
//! an environment variable (flags win), with defaults and `--help` text.

use std::net::SocketAddr;

use chat_bus::{PersistConfig, StreamConfig};
use chat_runtime::config::{
    DatabaseConfig, OpsConfig, RedisConfig, ShutdownConfig, TelemetryConfig,
};

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

    // Redis holds the room sequences, in which room events take their positions and are
    // published to the gateways.
    #[command(flatten)]
    pub redis: RedisConfig,

    #[command(flatten)]
    pub stream: StreamConfig,

    // Room events reach history through the persist queue.
    #[command(flatten)]
    pub persist: PersistConfig,
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
        assert_eq!(config.redis.redis_key_prefix, "t:");
        assert_eq!(config.persist.persist_queue, "chat.messages.persist.t1");
        assert_eq!(config.stream.stream_max_len, 10_000);
        assert_eq!(config.grpc_addr.port(), 0);
        assert!(config.command.is_none());
    }
}
