//! Notifications as clients see them: how much of a room reaches a person who is not
//! looking (`/api/rooms/{id}/notifications`, `PATCH /api/auth/me`), the browser push
//! subscriptions (`/api/push/*`) and the payload a push message carries to the service
//! worker.

use serde::{Deserialize, Serialize};

use crate::ids::{MessageId, RoomId};
use crate::timestamp::Timestamp;

/// How much of a room's talk reaches someone who is away: every message, only those that
/// mention them (by name or `@room`), or nothing.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NotificationLevel {
    All,
    Mentions,
    None,
}

impl NotificationLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Mentions => "mentions",
            Self::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "all" => Some(Self::All),
            "mentions" => Some(Self::Mentions),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// `PUT /api/rooms/{id}/notifications`: the caller's setting for one room, replaced as a
/// whole.
#[derive(
    Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct RoomNotificationsUpdate {
    /// Absent or `null`: the default (the account's level; `all` in direct rooms unless
    /// that is `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub level: Option<NotificationLevel>,
    /// Nothing of this room until then (a time in the future); absent or `null`: not
    /// muted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub muted_until: Option<Timestamp>,
}

/// The caller's notification setting for a room, and what it comes to.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
pub struct RoomNotifications {
    pub room_id: RoomId,
    /// The room's own level; absent when the default applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub level: Option<NotificationLevel>,
    /// Muted until then; absent when not muted (or the time has passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub muted_until: Option<Timestamp>,
    /// The level that applies now (the room's, else the default; `none` while muted).
    pub effective: NotificationLevel,
}

/// `GET /api/push/config`: what a browser needs to subscribe.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
pub struct PushConfig {
    /// Whether this server sends Web Push notifications at all.
    pub enabled: bool,
    /// The VAPID public key (RFC 8292): an uncompressed P-256 point, base64url without
    /// padding, to pass as `applicationServerKey` to `PushManager.subscribe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub vapid_public_key: Option<String>,
}

/// The keys of a push subscription (`PushSubscription.toJSON().keys`).
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct PushKeys {
    /// The browser's P-256 public key, base64url (65 bytes decoded).
    pub p256dh: String,
    /// The authentication secret, base64url (16 bytes decoded).
    pub auth: String,
}

/// `POST /api/push/subscriptions`: a browser's push subscription, as
/// `PushSubscription.toJSON()` gives it.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct NewPushSubscription {
    /// The push service's URL for this browser (https).
    pub endpoint: String,
    pub keys: PushKeys,
    /// When the browser says it expires (ms since 1970); kept for information.
    #[serde(
        default,
        rename = "expirationTime",
        skip_serializing_if = "Option::is_none"
    )]
    #[ts(optional, type = "number | null")]
    pub expiration_time: Option<f64>,
}

/// `DELETE /api/push/subscriptions`: the subscription to forget, by its endpoint.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct PushEndpoint {
    pub endpoint: String,
}

/// A stored push subscription.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
pub struct PushSubscriptionView {
    pub id: String,
    pub endpoint: String,
    pub created_at: Timestamp,
}

/// What a push message carries to the service worker (JSON, encrypted by RFC 8291):
/// the newest message of a room the person was told about, and how many there are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct PushNotification {
    /// Always `message`.
    #[serde(rename = "type")]
    pub kind: String,
    pub room_id: RoomId,
    /// The room's name (the other person's name for a direct room).
    pub room_name: String,
    /// The newest message's id.
    pub message_id: MessageId,
    /// Who wrote it (display name).
    pub sender_name: String,
    /// The start of its text (or what it carries, `📎 file`).
    pub excerpt: String,
    /// How many messages of the room this notification stands for (1 or more).
    pub count: u32,
    /// Whether one of them mentions the person.
    pub mention: bool,
    pub sent_at: Timestamp,
    /// Where clicking it leads, relative to the web client (`/#/rooms/<id>`).
    pub url: String,
}
