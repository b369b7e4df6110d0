//! The typed configuration of the files service: command-line flags, each also read from
//! an environment variable (flags win), with defaults and `--help` text.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chat_runtime::config::{
    DatabaseConfig, OpsConfig, ShutdownConfig, TelemetryConfig, humantime_duration,
};
use secrecy::SecretString;

/// Uploads for the chat services: metadata in PostgreSQL, blobs and thumbnails in an
/// object store (a directory or an S3-compatible bucket), served over streaming gRPC.
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "chat-files", version, about, subcommand_negates_reqs = true)]
pub struct Config {
    /// What to do; without a subcommand the service is served.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address of the gRPC listener (`chat.v1.FilesService` and gRPC health).
    #[arg(
        long = "grpc-addr",
        env = "GRPC_ADDR",
        default_value = "127.0.0.1:50054"
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
    pub storage: StorageConfig,

    #[command(flatten)]
    pub uploads: UploadConfig,

    #[command(flatten)]
    pub images: ImageConfig,

    #[command(flatten)]
    pub sweeper: SweeperConfig,
}

/// Subcommands of the `chat-files` binary.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    /// Applies pending database migrations and exits (for a Kubernetes Job).
    Migrate,
}

/// Where blobs are kept.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// A directory of the local filesystem (`FILES_DIR`).
    Fs,
    /// An S3-compatible bucket (`S3_*`).
    S3,
}

/// The object store that holds the blobs (`files/<id>`, `thumbnails/<id>`).
#[derive(clap::Args, Debug, Clone)]
pub struct StorageConfig {
    /// Which object store holds the blobs.
    #[arg(
        long = "files-storage",
        env = "FILES_STORAGE",
        value_enum,
        default_value_t = StorageKind::Fs
    )]
    pub kind: StorageKind,

    /// The directory of the `fs` store; created when missing.
    #[arg(long = "files-dir", env = "FILES_DIR", default_value = ".run/files")]
    pub dir: PathBuf,

    /// The bucket of the `s3` store (it must exist).
    #[arg(long = "s3-bucket", env = "S3_BUCKET")]
    pub bucket: Option<String>,

    /// The S3 endpoint, e.g. `http://127.0.0.1:8333` for a local SeaweedFS; unset: AWS.
    #[arg(long = "s3-endpoint", env = "S3_ENDPOINT")]
    pub endpoint: Option<String>,

    /// The S3 region (most S3-compatible stores accept any).
    #[arg(long = "s3-region", env = "S3_REGION", default_value = "us-east-1")]
    pub region: String,

    /// The S3 access key id. Without it (and the secret) requests go unsigned, which a
    /// store without credentials (a development SeaweedFS) accepts.
    #[arg(long = "s3-access-key-id", env = "S3_ACCESS_KEY_ID")]
    pub access_key_id: Option<String>,

    /// The S3 secret access key.
    #[arg(long = "s3-secret-access-key", env = "S3_SECRET_ACCESS_KEY")]
    pub secret_access_key: Option<SecretString>,

    /// Allow a plain `http://` endpoint (a store on this machine or in the cluster).
    #[arg(
        long = "s3-allow-http",
        env = "S3_ALLOW_HTTP",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub allow_http: bool,

    /// How long one request to the object store may take before it is retried or fails.
    #[arg(
        long = "storage-timeout",
        env = "FILES_STORAGE_TIMEOUT",
        default_value = "30s",
        value_parser = humantime_duration
    )]
    pub timeout: Duration,
}

/// What an upload may be.
#[derive(clap::Args, Debug, Clone)]
pub struct UploadConfig {
    /// Largest upload for messages (bytes; `KiB`, `MiB`, `KB`, `MB` suffixes work).
    #[arg(
        long = "max-file-size",
        env = "FILES_MAX_FILE_SIZE",
        default_value = "25MiB",
        value_parser = byte_size
    )]
    pub max_file_size: u64,

    /// Largest avatar upload.
    #[arg(
        long = "max-avatar-size",
        env = "FILES_MAX_AVATAR_SIZE",
        default_value = "5MiB",
        value_parser = byte_size
    )]
    pub max_avatar_size: u64,

    /// How long an upload may wait for its next piece before it is given up.
    #[arg(
        long = "upload-idle-timeout",
        env = "FILES_UPLOAD_IDLE_TIMEOUT",
        default_value = "30s",
        value_parser = humantime_duration
    )]
    pub idle_timeout: Duration,
}

/// How images are checked, re-encoded and thumbnailed.
#[derive(clap::Args, Debug, Clone)]
pub struct ImageConfig {
    /// Widest image accepted, in pixels.
    #[arg(
        long = "image-max-width",
        env = "FILES_IMAGE_MAX_WIDTH",
        default_value_t = 12_000
    )]
    pub max_width: u32,

    /// Tallest image accepted, in pixels.
    #[arg(
        long = "image-max-height",
        env = "FILES_IMAGE_MAX_HEIGHT",
        default_value_t = 12_000
    )]
    pub max_height: u32,

    /// Most pixels (width x height) an image may have: what decoding costs in memory.
    #[arg(
        long = "image-max-pixels",
        env = "FILES_IMAGE_MAX_PIXELS",
        default_value_t = 40_000_000
    )]
    pub max_pixels: u64,

    /// Most memory one decoder may allocate (`image::Limits::max_alloc`).
    #[arg(
        long = "image-max-alloc",
        env = "FILES_IMAGE_MAX_ALLOC",
        default_value = "512MiB",
        value_parser = byte_size
    )]
    pub max_alloc: u64,

    /// Images processed at once; more wait (each may take hundreds of megabytes).
    #[arg(
        long = "image-concurrency",
        env = "FILES_IMAGE_CONCURRENCY",
        default_value_t = 2,
        value_parser = clap::value_parser!(u16).range(1..)
    )]
    pub concurrency: u16,

    /// The box a thumbnail fits in (both sides, in pixels), keeping the aspect ratio.
    #[arg(
        long = "thumbnail-size",
        env = "FILES_THUMBNAIL_SIZE",
        default_value_t = 320,
        value_parser = clap::value_parser!(u32).range(1..=4096)
    )]
    pub thumbnail_size: u32,

    /// The side of an avatar's square thumbnail, in pixels.
    #[arg(
        long = "avatar-thumbnail-size",
        env = "FILES_AVATAR_THUMBNAIL_SIZE",
        default_value_t = 256,
        value_parser = clap::value_parser!(u32).range(1..=4096)
    )]
    pub avatar_thumbnail_size: u32,
}

/// How uploads never attached to a message are removed.
#[derive(clap::Args, Debug, Clone)]
pub struct SweeperConfig {
    /// How often pending uploads (and blobs left to delete) are looked at.
    #[arg(
        long = "sweep-interval",
        env = "FILES_SWEEP_INTERVAL",
        default_value = "10m",
        value_parser = humantime_duration
    )]
    pub interval: Duration,

    /// An upload still pending (or unfinished) this long after it began is deleted with
    /// its blobs. Avatars are never pending.
    #[arg(
        long = "pending-age",
        env = "FILES_PENDING_AGE",
        default_value = "24h",
        value_parser = humantime_duration
    )]
    pub pending_age: Duration,

    /// Most uploads deleted per sweep; a full sweep is followed at once by the next.
    #[arg(long = "sweep-limit", env = "FILES_SWEEP_LIMIT", default_value_t = 500)]
    pub limit: u32,
}

/// Parses a size in bytes: `1048576`, `512KiB`, `25MiB`, `1GiB`, `5MB` (10^6), `10 KB`.
pub fn byte_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a size such as 25MiB"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" => 1 << 10,
        "mb" => 1_000_000,
        "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}` (use KiB, MiB, GiB)")),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{s}` is too large"))
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
    fn sizes_read_with_their_units() {
        for (text, bytes) in [
            ("0", 0),
            ("1048576", 1 << 20),
            ("25MiB", 25 << 20),
            ("5 MiB", 5 << 20),
            ("512kib", 512 << 10),
            ("5MB", 5_000_000),
            ("2GiB", 2 << 30),
            ("7B", 7),
        ] {
            assert_eq!(byte_size(text), Ok(bytes), "{text}");
        }
        for text in ["", "MiB", "5 parsecs", "-1", "99999999999999999999GiB"] {
            assert!(byte_size(text).is_err(), "{text}");
        }
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let config = Config::try_parse_from([
            "chat-files",
            "--database-url",
            "postgres://postgres@127.0.0.1/chat_files",
        ])
        .expect("flags parse");
        assert_eq!(config.storage.kind, StorageKind::Fs);
        assert_eq!(config.storage.dir, PathBuf::from(".run/files"));
        assert_eq!(config.storage.region, "us-east-1");
        assert!(!config.storage.allow_http);
        assert_eq!(config.uploads.max_file_size, 25 << 20);
        assert_eq!(config.uploads.max_avatar_size, 5 << 20);
        assert_eq!(config.images.max_pixels, 40_000_000);
        assert_eq!(config.images.thumbnail_size, 320);
        assert_eq!(config.sweeper.pending_age, Duration::from_secs(24 * 3600));
    }

    #[test]
    fn an_s3_store_is_configured_by_flags() {
        let config = Config::try_parse_from([
            "chat-files",
            "--database-url",
            "postgres://postgres@127.0.0.1/chat_files",
            "--files-storage",
            "s3",
            "--s3-bucket",
            "chat",
            "--s3-endpoint",
            "http://127.0.0.1:8333",
            "--s3-allow-http",
            "true",
            "--s3-secret-access-key",
            "hidden",
        ])
        .expect("flags parse");
        assert_eq!(config.storage.kind, StorageKind::S3);
        assert!(config.storage.allow_http);
        assert!(!format!("{config:?}").contains("hidden"));
    }
}
