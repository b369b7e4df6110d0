//! Who is here: a user's presence as others see it, and what a REST query asks for.

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::timestamp::Timestamp;

/// The most users one `presence.subscribe` frame or presence query names.
pub const MAX_PRESENCE_USERS: usize = 500;

/// A user's presence: the best over all their sockets on every gateway.
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
pub enum PresenceStatus {
    /// At least one socket open and active.
    Online,
    /// Sockets open, every one idle.
    Away,
    /// No socket open.
    Offline,
}

/// One user's presence.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct PresenceView {
    pub user_id: UserId,
    pub status: PresenceStatus,
    /// When the user was last online; null while online or never seen.
    pub last_seen: Option<Timestamp>,
}

/// `POST /api/presence/query`: whose presence.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct PresenceQuery {
    /// Up to 500 user ids.
    pub user_ids: Vec<UserId>,
}

/// The answer to a presence query, and the body of the `presence` frame.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct PresenceList {
    pub users: Vec<PresenceView>,
}
