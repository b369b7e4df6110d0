//! Notifications: telling people of messages while they are away.
//!
//! History is where a message is known to be stored, and where read positions live, so
//! the notifier is a part of it (docs/architecture.md, "Notifications"):
//!
//! 1. **Outbox.** Storing a new message adds its key (room and id) to
//!    `notification_outbox` in the same transaction ([`outbox`]); a redelivered message
//!    is a duplicate and adds nothing, so a message is planned once however often the
//!    broker hands it over.
//! 2. **Planning.** The [`planner`] takes outbox rows (`FOR UPDATE SKIP LOCKED`, so any
//!    number of replicas share the work), asks rooms for the members, and for each one
//!    who would be told ([`levels`]: never the sender, never a room muted or at level
//!    `none`, at `mentions` only when mentioned) adds the message to a pending
//!    notification per (user, room), due after the delay; messages of that room arriving
//!    meanwhile join it. The outbox rows go in the same transaction.
//! 3. **Dispatch.** The [`dispatcher`] takes due notifications (deleting them as it takes
//!    them: a crash after that loses a notification rather than sending one twice),
//!    checks again that the person has not read past the newest message, is not looking
//!    at the room (an active socket whose `focus` is the room, [`focus`]) and still wants
//!    it, and pushes it to each of their browsers ([`webpush`]: RFC 8030 with an RFC 8291
//!    encrypted payload and RFC 8292 VAPID). A subscription the push service calls gone
//!    (404, 410) is removed.

pub mod directory;
pub mod dispatcher;
pub mod focus;
pub mod grpc;
pub mod levels;
pub mod outbox;
pub mod planner;
pub mod subscriptions;
pub mod webpush;

use std::time::Duration;

use chat_runtime::config::humantime_duration;
use secrecy::SecretString;

/// Prometheus counter of push messages, by outcome (`sent`, `gone`, `failed`).
pub const PUSHES_METRIC: &str = "chat_history_notification_pushes_total";
/// Prometheus counter of due notifications not sent, by reason (`read`, `in_view`,
/// `level`, `no_subscription`).
pub const SKIPPED_METRIC: &str = "chat_history_notifications_skipped_total";

/// How notifications are planned and sent.
#[derive(clap::Args, Debug, Clone)]
pub struct NotifyConfig {
    /// gRPC URL of the rooms service (who is in a room, its kind and name).
    #[arg(
        long = "rooms-url",
        env = "ROOMS_URL",
        default_value = "http://127.0.0.1:50052"
    )]
    pub rooms_url: String,

    /// gRPC URL of the auth service (the sender's name).
    #[arg(
        long = "auth-url",
        env = "AUTH_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    pub auth_url: String,

    /// How long a message waits before anyone is told of it: read meanwhile (or seen in
    /// an open window), it buzzes nobody; more messages of the room meanwhile make one
    /// notification.
    #[arg(
        long = "notify-delay",
        env = "NOTIFY_DELAY",
        default_value = "30s",
        value_parser = humantime_duration
    )]
    pub delay: Duration,

    /// How often the outbox and the due notifications are looked at.
    #[arg(
        id = "notify_interval",
        long = "notify-interval",
        env = "NOTIFY_INTERVAL",
        default_value = "1s",
        value_parser = humantime_duration
    )]
    pub interval: Duration,

    /// The VAPID private key (RFC 8292): a P-256 scalar, base64url (`chat-history
    /// vapid-key` makes one). Unset: no push notifications (the web client says so).
    #[arg(long = "vapid-private-key", env = "VAPID_PRIVATE_KEY")]
    pub vapid_private_key: Option<SecretString>,

    /// Who runs this server, for push services to contact (`mailto:` or `https:`).
    #[arg(
        long = "vapid-subject",
        env = "VAPID_SUBJECT",
        default_value = "mailto:admin@localhost"
    )]
    pub vapid_subject: String,

    /// How long a push service keeps a notification for a browser that is offline.
    #[arg(
        long = "push-ttl",
        env = "PUSH_TTL",
        default_value = "1day",
        value_parser = humantime_duration
    )]
    pub push_ttl: Duration,

    /// Accept `http://` and loopback push endpoints (a push receiver on this machine, in
    /// tests). Off in production: a subscription's endpoint must be a public `https://`
    /// URL, so nobody makes the server post to its own network.
    #[arg(
        long = "push-allow-http",
        env = "PUSH_ALLOW_HTTP",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub allow_http: bool,
}

/// Plans and dispatches until `shutdown`, every `interval` (sooner while there is more).
pub async fn run(
    planner: planner::Planner,
    dispatcher: dispatcher::Dispatcher,
    interval: Duration,
    shutdown: chat_runtime::shutdown::CancellationToken,
) {
    let mut every = tokio::time::interval(interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = shutdown.cancelled() => return,
        }
        loop {
            let planned = planner.plan_once().await.unwrap_or_else(|err| {
                tracing::warn!(error = %err, "notifications not planned; retrying");
                0
            });
            let sent = dispatcher.dispatch_once().await.unwrap_or_else(|err| {
                tracing::warn!(error = %err, "notifications not dispatched; retrying");
                0
            });
            if (planned == 0 && sent == 0) || shutdown.is_cancelled() {
                break;
            }
        }
    }
}
