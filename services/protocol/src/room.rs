//! Rooms and roles as clients see them.

use serde::{Deserialize, Serialize};

use crate::ids::{RoomId, UserId};
use crate::timestamp::Timestamp;

/// What kind of room it is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RoomKind {
    /// Listed; anyone may join.
    Public,
    /// Unlisted; members are invited, and only they know it exists.
    Private,
    /// The one room of two users, from `POST /api/dms`.
    Direct,
}

/// A member's role in a room.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

/// A room as `room.created` and `room.updated` carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct RoomDetails {
    pub id: RoomId,
    pub kind: Option<RoomKind>,
    pub name: String,
    pub description: Option<String>,
    pub topic: Option<String>,
    pub owner_id: Option<UserId>,
    #[ts(type = "number")]
    pub member_count: u64,
    pub created_at: Option<Timestamp>,
    /// Direct rooms only: the two users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub direct_user_ids: Option<Vec<UserId>>,
}
