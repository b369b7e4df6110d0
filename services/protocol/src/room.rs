//! Rooms, roles and members as clients see them, in events and over REST
//! (`/api/rooms*`, `/api/dms`).

use serde::{Deserialize, Serialize};

use crate::ids::{RoomId, UserId};
use crate::message::MessageView;
use crate::position::Position;
use crate::presence::PresenceView;
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
    /// Reads and writes.
    Member,
    /// Edits the room, invites, kicks and bans members.
    Admin,
    /// Everything, including deleting the room and giving roles; one per room.
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

/// A room as the caller sees it over REST.
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
pub struct Room {
    pub id: RoomId,
    pub kind: RoomKind,
    /// Empty for direct rooms.
    #[schema(example = "General")]
    pub name: String,
    pub description: Option<String>,
    pub topic: Option<String>,
    /// Null for direct rooms, which have no owner.
    pub owner_id: Option<UserId>,
    #[ts(type = "number")]
    pub member_count: u64,
    pub created_at: Timestamp,
    /// The caller's role; null when the caller is not a member (of a public room).
    pub my_role: Option<Role>,
    /// Direct rooms only: the two users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub direct_user_ids: Option<Vec<UserId>>,
    /// `GET /api/rooms/mine` only: the room's newest message, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub last_message: Option<MessageView>,
    /// `GET /api/rooms/mine` only: when the room last changed (its newest message, else
    /// its creation), for ordering a room list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub last_activity_at: Option<Timestamp>,
    /// `GET /api/rooms/mine` only: how far the caller has read, and what is left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub read_state: Option<ReadState>,
}

/// A member's read state in a room.
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
pub struct ReadState {
    /// The room's last stored entry.
    pub last_position: Option<Position>,
    /// How far the caller has read (null: never).
    pub read_position: Option<Position>,
    /// Messages of others after the read position, not deleted (at most 100).
    pub unread: u32,
    /// Of those, the ones mentioning the caller (at most 100).
    pub mentions: u32,
}

/// A member's read position, as the other members see it (a read receipt).
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
pub struct MemberRead {
    pub user_id: UserId,
    #[serde(flatten)]
    pub position: Position,
}

/// `GET /api/rooms/{id}/reads`: how far the members who share read receipts have read.
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
pub struct RoomReads {
    /// Whether the room has read receipts at all (direct rooms and rooms up to the
    /// configured size); when false, `reads` is empty and no `receipts` frames come.
    pub receipts: bool,
    /// Furthest first; members who turned receipts off are left out.
    pub reads: Vec<MemberRead>,
}

/// `POST /api/rooms/{id}/read`: the caller has read the room up to `position`.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    pub epoch: u64,
    pub position: u64,
}

/// One page of rooms.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
pub struct RoomList {
    pub rooms: Vec<Room>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The kinds of room a client creates (direct rooms come from `POST /api/dms`).
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
#[serde(rename_all = "lowercase")]
pub enum NewRoomKind {
    Public,
    Private,
}

impl From<NewRoomKind> for RoomKind {
    fn from(kind: NewRoomKind) -> Self {
        match kind {
            NewRoomKind::Public => Self::Public,
            NewRoomKind::Private => Self::Private,
        }
    }
}

/// A room to create; the caller becomes its owner.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct NewRoom {
    /// 1 to 80 characters, no control characters.
    #[schema(example = "General")]
    pub name: String,
    /// Up to 500 characters; line breaks allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub description: Option<String>,
    /// Up to 500 characters; line breaks allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub topic: Option<String>,
    /// Also accepted as `type`, its name before it matched the events' `kind`.
    #[serde(alias = "type")]
    pub kind: NewRoomKind,
}

/// Changes to a room. An absent (or null) field is left as it is; an empty description
/// or topic clears it.
#[derive(
    Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct RoomChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub topic: Option<String>,
}

/// The other user of a direct room (`POST /api/dms`).
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct DirectRoomRequest {
    pub user_id: UserId,
}

/// A member of a room.
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
pub struct Member {
    pub user_id: UserId,
    pub role: Role,
    pub joined_at: Timestamp,
    /// `GET /api/rooms/{id}/members` only: where the member is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub presence: Option<PresenceView>,
}

/// One page of a room's members, earliest joined first.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
pub struct MemberList {
    pub members: Vec<Member>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The role to give.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// `owner` hands ownership over: the caller becomes an admin.
    pub role: Role,
}

/// The user an invitation or a kick is about.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct TargetUser {
    pub user_id: UserId,
}

/// A ban to impose (or to replace the user's current ban with).
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct NewBan {
    pub user_id: UserId,
    /// Absent: until unbanned. A ban whose end has passed keeps nobody out.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub until: Option<Timestamp>,
    /// Up to 500 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn new_rooms_name_their_kind_and_still_accept_type() {
        for body in [
            json!({"name": "General", "kind": "public"}),
            json!({"name": "General", "type": "public"}),
        ] {
            let room: NewRoom = serde_json::from_value(body).unwrap();
            assert_eq!(room.kind, NewRoomKind::Public);
        }
        let written = serde_json::to_value(NewRoom {
            name: "General".into(),
            description: None,
            topic: None,
            kind: NewRoomKind::Private,
        })
        .unwrap();
        assert_eq!(written, json!({"name": "General", "kind": "private"}));
        assert!(serde_json::from_value::<NewRoom>(json!({"name": "x", "kind": "direct"})).is_err());
    }

    #[test]
    fn ban_ends_are_rfc3339() {
        let user = UserId::default();
        let ban: NewBan =
            serde_json::from_value(json!({"user_id": user, "until": "2030-01-02T03:04:05Z"}))
                .unwrap();
        assert_eq!(ban.until.map(|at| at.unix_seconds()), Some(1_893_553_445));
        let without: NewBan = serde_json::from_value(json!({"user_id": user})).unwrap();
        assert!(without.until.is_none());
        assert!(
            serde_json::from_value::<NewBan>(json!({"user_id": user, "until": "tomorrow"}))
                .is_err()
        );
    }
}
