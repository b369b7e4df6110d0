//! Rooms and members as stored, the rules of who may see and do what, and their gRPC form.

use chat_proto::v1 as proto;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomKind {
    /// Listed, anyone may join.
    Public,
    /// Invitation only, invisible to non-members.
    Private,
    /// Exactly two users, no roles; one per pair.
    Direct,
}

impl RoomKind {
    /// The spelling in the `rooms.kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::Direct => "direct",
        }
    }

    pub fn parse(value: &str) -> Result<Self, Error> {
        match value {
            "public" => Ok(Self::Public),
            "private" => Ok(Self::Private),
            "direct" => Ok(Self::Direct),
            other => Err(Error::Database(sqlx::Error::Decode(
                format!("unknown room kind {other:?}").into(),
            ))),
        }
    }

    pub fn to_proto(self) -> proto::RoomKind {
        match self {
            Self::Public => proto::RoomKind::Public,
            Self::Private => proto::RoomKind::Private,
            Self::Direct => proto::RoomKind::Direct,
        }
    }
}

/// A member's role; declared in increasing order of rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads, writes, leaves.
    Member,
    /// Also edits the room, invites, kicks, bans and unbans members.
    Admin,
    /// Also deletes the room and changes roles; exactly one per public or private room.
    Owner,
}

impl Role {
    /// The spelling in the `room_members.role` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }

    pub fn parse(value: &str) -> Result<Self, Error> {
        match value {
            "member" => Ok(Self::Member),
            "admin" => Ok(Self::Admin),
            "owner" => Ok(Self::Owner),
            other => Err(Error::Database(sqlx::Error::Decode(
                format!("unknown role {other:?}").into(),
            ))),
        }
    }

    pub fn to_proto(self) -> proto::Role {
        match self {
            Self::Member => proto::Role::Member,
            Self::Admin => proto::Role::Admin,
            Self::Owner => proto::Role::Owner,
        }
    }

    /// Whether someone with this role may kick or ban someone with `target`'s role:
    /// admins act on members, the owner on admins and members, nobody on the owner.
    pub fn outranks(self, target: Role) -> bool {
        self >= Role::Admin && self > target
    }
}

/// What the caller is to a room, read (under the room's lock, for changes) before acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub kind: RoomKind,
    /// The caller's role; `None` for a non-member.
    pub role: Option<Role>,
}

impl Access {
    /// Public rooms are visible to everyone, the others only to their members.
    pub fn is_visible(&self) -> bool {
        self.kind == RoomKind::Public || self.role.is_some()
    }

    /// A room the caller may not see does not exist as far as the caller is told.
    pub fn visible(self) -> Result<Self, Error> {
        if self.is_visible() {
            Ok(self)
        } else {
            Err(Error::RoomNotFound)
        }
    }

    /// The caller's role, for reading the room's insides (its member list).
    pub fn member(self) -> Result<Role, Error> {
        self.visible()?.role.ok_or(Error::Forbidden)
    }

    /// The caller's role when it is at least `needed`, in a room that is not direct.
    /// A non-member of a hidden room is told it does not exist; a member of a direct room
    /// that it is not possible there; anyone else who lacks the role that it is forbidden.
    pub fn at_least(self, needed: Role) -> Result<Role, Error> {
        let access = self.visible()?;
        if access.kind == RoomKind::Direct {
            return Err(Error::DirectRoom);
        }
        match access.role {
            Some(role) if role >= needed => Ok(role),
            _ => Err(Error::Forbidden),
        }
    }
}

/// A room as listed, seen by one caller.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoomRow {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub description: Option<String>,
    pub topic: Option<String>,
    pub owner_id: Option<Uuid>,
    pub member_count: i64,
    pub created_at: OffsetDateTime,
    /// The caller's role, when a member.
    pub my_role: Option<String>,
    /// Direct rooms: the ordered pair of users.
    pub user_low: Option<Uuid>,
    pub user_high: Option<Uuid>,
    /// The listing's sort key (creation or joining time).
    pub sort_at: OffsetDateTime,
}

impl RoomRow {
    pub fn to_proto(&self) -> Result<proto::Room, Error> {
        Ok(proto::Room {
            id: self.id.to_string(),
            kind: RoomKind::parse(&self.kind)?.to_proto() as i32,
            name: self.name.clone(),
            description: self.description.clone(),
            topic: self.topic.clone(),
            owner_id: self.owner_id.map(|id| id.to_string()).unwrap_or_default(),
            member_count: u64::try_from(self.member_count).unwrap_or_default(),
            created_at: Some(timestamp(self.created_at)),
            my_role: self
                .my_role
                .as_deref()
                .map(Role::parse)
                .transpose()?
                .map(|role| role.to_proto() as i32),
            direct_user_ids: self
                .user_low
                .into_iter()
                .chain(self.user_high)
                .map(|id| id.to_string())
                .collect(),
        })
    }
}

/// One membership.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub room_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub joined_at: OffsetDateTime,
}

impl MemberRow {
    pub fn to_proto(&self) -> Result<proto::Member, Error> {
        Ok(proto::Member {
            room_id: self.room_id.to_string(),
            user_id: self.user_id.to_string(),
            role: Role::parse(&self.role)?.to_proto() as i32,
            joined_at: Some(timestamp(self.joined_at)),
        })
    }
}

pub use chat_runtime::time::to_proto as timestamp;

#[cfg(test)]
mod tests {
    use super::*;

    fn access(kind: RoomKind, role: Option<Role>) -> Access {
        Access { kind, role }
    }

    #[test]
    fn hidden_rooms_do_not_exist_for_non_members() {
        for kind in [RoomKind::Private, RoomKind::Direct] {
            let outsider = access(kind, None);
            assert!(matches!(outsider.visible(), Err(Error::RoomNotFound)));
            assert!(matches!(outsider.member(), Err(Error::RoomNotFound)));
            assert!(matches!(
                outsider.at_least(Role::Member),
                Err(Error::RoomNotFound)
            ));
        }
        let public = access(RoomKind::Public, None);
        assert!(public.visible().is_ok());
        assert!(matches!(public.member(), Err(Error::Forbidden)));
        assert!(matches!(
            public.at_least(Role::Admin),
            Err(Error::Forbidden)
        ));
    }

    #[test]
    fn roles_grant_in_order() {
        let member = access(RoomKind::Private, Some(Role::Member));
        let admin = access(RoomKind::Private, Some(Role::Admin));
        assert!(matches!(
            member.at_least(Role::Admin),
            Err(Error::Forbidden)
        ));
        assert_eq!(admin.at_least(Role::Admin).ok(), Some(Role::Admin));
        assert!(matches!(admin.at_least(Role::Owner), Err(Error::Forbidden)));
    }

    #[test]
    fn direct_rooms_allow_no_moderation() {
        let direct = access(RoomKind::Direct, Some(Role::Member));
        assert!(matches!(
            direct.at_least(Role::Member),
            Err(Error::DirectRoom)
        ));
        assert_eq!(direct.member().ok(), Some(Role::Member));
    }

    #[test]
    fn only_a_higher_moderator_outranks() {
        assert!(Role::Owner.outranks(Role::Admin));
        assert!(Role::Admin.outranks(Role::Member));
        assert!(!Role::Admin.outranks(Role::Admin));
        assert!(!Role::Admin.outranks(Role::Owner));
        assert!(!Role::Member.outranks(Role::Member));
        assert!(!Role::Owner.outranks(Role::Owner));
    }
}
