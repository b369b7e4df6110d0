//! The typed configuration of the auth service: command-line flags, each also read from an
//! environment variable (flags win), with defaults and `--help` text.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chat_runtime::config::{
    DatabaseConfig, OpsConfig, RedisConfig, ShutdownConfig, TelemetryConfig, humantime_duration,
};
use secrecy::SecretString;

/// Accounts, credentials, refresh sessions and access-token signing for the chat services.
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "chat-auth", version, about, subcommand_negates_reqs = true)]
pub struct Config {
    /// What to do; without a subcommand the service is served.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address of the gRPC listener (`chat.v1.AuthService` and gRPC health).
    #[arg(
        long = "grpc-addr",
        env = "GRPC_ADDR",
        default_value = "127.0.0.1:50051"
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

    // Redis holds the login-attempt counters shared by every replica.
    #[command(flatten)]
    pub redis: RedisConfig,

    #[command(flatten)]
    pub signing: SigningConfig,

    #[command(flatten)]
    pub limits: LoginLimitConfig,

    #[command(flatten)]
    pub mail: MailConfig,

    #[command(flatten)]
    pub recovery: RecoveryConfig,

    /// Lifetime of an access token (JWT). Logout cannot recall an access token, so keep
    /// this short.
    #[arg(
        long = "access-token-ttl",
        env = "AUTH_ACCESS_TOKEN_TTL",
        default_value = "15m",
        value_parser = humantime_duration
    )]
    pub access_token_ttl: Duration,

    /// Lifetime of a refresh token. Each refresh issues a new one with the full lifetime,
    /// so a session used at least this often never expires.
    #[arg(
        long = "refresh-token-ttl",
        env = "AUTH_REFRESH_TOKEN_TTL",
        default_value = "30days",
        value_parser = humantime_duration
    )]
    pub refresh_token_ttl: Duration,

    /// Largest number of password hashes computed at once. Each Argon2id computation holds
    /// 19 MiB, so this bounds memory under a login storm. 0: the number of CPU cores.
    #[arg(
        long = "password-hash-concurrency",
        env = "AUTH_PASSWORD_HASH_CONCURRENCY",
        default_value_t = 0
    )]
    pub password_hash_concurrency: usize,

    /// How often expired sessions and refresh tokens are deleted.
    #[arg(
        long = "session-sweep-interval",
        env = "AUTH_SESSION_SWEEP_INTERVAL",
        default_value = "1h",
        value_parser = humantime_duration
    )]
    pub session_sweep_interval: Duration,
}

/// Subcommands of the `chat-auth` binary.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    /// Applies pending database migrations and exits (for a Kubernetes Job).
    Migrate,
    /// Writes a new Ed25519 signing key (PKCS#8 PEM) and exits.
    Keygen(KeygenArgs),
}

/// Where `keygen` writes the new key.
#[derive(clap::Args, Debug, Clone)]
pub struct KeygenArgs {
    /// File to create with mode 0600; an existing file is never overwritten. Unset: stdout.
    #[arg(long = "out")]
    pub out: Option<PathBuf>,
}

/// The key access tokens are signed with, and the public keys still accepted.
#[derive(clap::Args, Debug, Clone)]
pub struct SigningConfig {
    /// File holding the Ed25519 signing key as PKCS#8 PEM (`chat-auth keygen` writes one).
    #[arg(
        long = "signing-key-file",
        env = "AUTH_SIGNING_KEY_FILE",
        conflicts_with = "signing_key"
    )]
    pub signing_key_file: Option<PathBuf>,

    /// The Ed25519 signing key itself as PKCS#8 PEM, for secret stores that inject values
    /// rather than files.
    // A PEM value begins with `-----`; it is a value, not a flag.
    #[arg(
        long = "signing-key",
        env = "AUTH_SIGNING_KEY",
        allow_hyphen_values = true
    )]
    pub signing_key: Option<SecretString>,

    /// File of PEM public keys (SPKI) of earlier signing keys, still published so tokens
    /// they signed verify until they expire. May be empty.
    #[arg(
        long = "previous-public-keys-file",
        env = "AUTH_PREVIOUS_PUBLIC_KEYS_FILE"
    )]
    pub previous_public_keys_file: Option<PathBuf>,

    /// `iss` of every access token.
    #[arg(long = "issuer", env = "AUTH_ISSUER", default_value = "chat-auth")]
    pub issuer: String,

    /// `aud` of every access token.
    #[arg(long = "audience", env = "AUTH_AUDIENCE", default_value = "chat")]
    pub audience: String,
}

/// Login-attempt limits, counted in fixed windows in Redis and shared by every replica.
#[derive(clap::Args, Debug, Clone)]
pub struct LoginLimitConfig {
    /// Failed logins allowed per account from one client address per window; past it that
    /// address is refused for the account (others are not). A successful login resets it.
    #[arg(
        long = "login-max-account-failures",
        env = "AUTH_LOGIN_MAX_ACCOUNT_FAILURES",
        default_value_t = 5
    )]
    pub max_account_failures: u32,

    /// Failed logins of an account from all addresses in a window after which each attempt
    /// waits a little longer (250 ms more per failure, at most 5 s) before the password is
    /// checked: guessing spread over many addresses slows down, the owner is never refused.
    #[arg(
        long = "login-delay-after-account-failures",
        env = "AUTH_LOGIN_DELAY_AFTER_ACCOUNT_FAILURES",
        default_value_t = 20
    )]
    pub delay_after_account_failures: u32,

    /// Login attempts (failed or not) allowed per client address per window.
    #[arg(
        long = "login-max-address-attempts",
        env = "AUTH_LOGIN_MAX_ADDRESS_ATTEMPTS",
        default_value_t = 20
    )]
    pub max_address_attempts: u32,

    /// Accounts one client address may create per window (every replica counts together).
    #[arg(
        long = "register-max-per-address",
        env = "AUTH_REGISTER_MAX_PER_ADDRESS",
        default_value_t = 10
    )]
    pub max_registrations_per_address: u32,

    /// Length of the counting window; it starts with the first counted attempt.
    #[arg(
        long = "login-limit-window",
        env = "AUTH_LOGIN_LIMIT_WINDOW",
        default_value = "15m",
        value_parser = humantime_duration
    )]
    pub window: Duration,
}

/// How mail reaches account holders: an SMTP server, or (with none) `.eml` files in a
/// directory.
#[derive(clap::Args, Debug, Clone)]
pub struct MailConfig {
    /// SMTP server host. Unset: mails go to `--mail-dir` (or nowhere, with a warning).
    #[arg(long = "smtp-host", env = "SMTP_HOST")]
    pub smtp_host: Option<String>,

    /// SMTP server port (587 for STARTTLS, 465 for TLS, 25 without).
    #[arg(long = "smtp-port", env = "SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,

    /// How the connection to the SMTP server is secured.
    #[arg(long = "smtp-security", env = "SMTP_SECURITY", value_enum, default_value_t = SmtpSecurity::Starttls)]
    pub smtp_security: SmtpSecurity,

    #[arg(long = "smtp-username", env = "SMTP_USERNAME")]
    pub smtp_username: Option<String>,

    #[arg(long = "smtp-password", env = "SMTP_PASSWORD")]
    pub smtp_password: Option<SecretString>,

    /// The longest wait for the SMTP server.
    #[arg(
        long = "smtp-timeout",
        env = "SMTP_TIMEOUT",
        default_value = "10s",
        value_parser = humantime_duration
    )]
    pub smtp_timeout: Duration,

    /// Sender of every mail (`Name <address>` or an address).
    #[arg(
        long = "mail-from",
        env = "MAIL_FROM",
        default_value = "Chat <no-reply@localhost>"
    )]
    pub from: String,

    /// Directory mails are written to as `.eml` files when no SMTP host is set.
    #[arg(long = "mail-dir", env = "MAIL_DIR")]
    pub dir: Option<PathBuf>,
}

/// How the SMTP connection is secured.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text (a local relay only).
    None,
    /// Upgraded with STARTTLS, which the server must offer.
    Starttls,
    /// TLS from the first byte (implicit TLS, port 465).
    Tls,
}

/// Password resets and email verification by mailed links.
#[derive(clap::Args, Debug, Clone)]
pub struct RecoveryConfig {
    /// The web client's address, which mailed links open (`<url>/#/reset-password/<token>`).
    #[arg(
        long = "public-url",
        env = "PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,

    /// How long a password-reset link works.
    #[arg(
        long = "password-reset-ttl",
        env = "AUTH_PASSWORD_RESET_TTL",
        default_value = "30m",
        value_parser = humantime_duration
    )]
    pub reset_ttl: Duration,

    /// How long an email-verification link works.
    #[arg(
        long = "email-verification-ttl",
        env = "AUTH_EMAIL_VERIFICATION_TTL",
        default_value = "7days",
        value_parser = humantime_duration
    )]
    pub verification_ttl: Duration,
}
