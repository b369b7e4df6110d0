//! Who belongs to a room and with what role: joining, leaving, invitations, role changes,
//! kicks and bans, and the membership checks the gateway runs for every message.
//!
//! An invitation makes the user a member at once (there are no pending invitations), so
//! a private room's member list is also the list of who may read it.

use chat_proto::v1::{Member, Membership, Room, RoomEventKind};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::cursor::{self, Cursor};
use crate::error::Error;
use crate::events::{Announcement, Outcome};
use crate::model::{MemberRow, Role, RoomKind};
use crate::outbox;
use crate::rooms;

/// A ban to impose.
#[derive(Debug, Clone)]
pub struct NewBan {
    pub user: Uuid,
    /// `None`: until unbanned.
    pub until: Option<OffsetDateTime>,
    pub reason: Option<String>,
}

#[tracing::instrument(skip(conn))]
async fn member(
    conn: &mut PgConnection,
    room_id: Uuid,
    user_id: Uuid,
) -> Result<Option<MemberRow>, Error> {
    Ok(sqlx::query_as::<_, MemberRow>(
        "SELECT room_id, user_id, role, joined_at FROM room_members \
         WHERE room_id = $1 AND user_id = $2",
    )
    .bind(room_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?)
}

#[tracing::instrument(skip(conn))]
async fn add_member(
    conn: &mut PgConnection,
    room_id: Uuid,
    user_id: Uuid,
) -> Result<MemberRow, Error> {
    Ok(sqlx::query_as::<_, MemberRow>(
        "INSERT INTO room_members (room_id, user_id, role) VALUES ($1, $2, 'member') \
         RETURNING room_id, user_id, role, joined_at",
    )
    .bind(room_id)
    .bind(user_id)
    .fetch_one(conn)
    .await?)
}

#[tracing::instrument(skip(conn))]
async fn remove_member(conn: &mut PgConnection, room_id: Uuid, user_id: Uuid) -> Result<(), Error> {
    sqlx::query("DELETE FROM room_members WHERE room_id = $1 AND user_id = $2")
        .bind(room_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether a ban keeps `user_id` out now: one without end, or one whose end is ahead.
#[tracing::instrument(skip(conn))]
async fn is_banned(conn: &mut PgConnection, room_id: Uuid, user_id: Uuid) -> Result<bool, Error> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM room_bans WHERE room_id = $1 AND user_id = $2 \
         AND (until IS NULL OR until > now()))",
    )
    .bind(room_id)
    .bind(user_id)
    .fetch_one(conn)
    .await?)
}

/// Joins a public room. Joining a room one belongs to succeeds without change; a private
/// or direct room one does not belong to does not exist for the caller.
#[tracing::instrument(skip(pool))]
pub async fn join(pool: &PgPool, caller: Uuid, room_id: Uuid) -> Result<Outcome<Room>, Error> {
    let mut tx = pool.begin().await?;
    let access = rooms::lock(&mut tx, room_id, caller)
        .await?
        .access
        .visible()?;
    if access.role.is_some() {
        let room = rooms::fetch(&mut *tx, room_id, caller).await?;
        return Ok(Outcome::unchanged(room));
    }
    if is_banned(&mut tx, room_id, caller).await? {
        return Err(Error::Banned);
    }
    add_member(&mut tx, room_id, caller).await?;
    let room = rooms::fetch(&mut *tx, room_id, caller).await?;
    let event = Announcement::new(RoomEventKind::MemberJoined, room_id, caller)
        .about(caller)
        .role(Role::Member);
    outbox::commit(tx, Outcome::changed(room, vec![event])).await
}

/// Leaves a room. The owner must hand ownership on first, unless they are the last
/// member: then the room is deleted with them. Leaving a public room one does not belong
/// to succeeds without change; a direct room cannot be left.
#[tracing::instrument(skip(pool))]
pub async fn leave(pool: &PgPool, caller: Uuid, room_id: Uuid) -> Result<Outcome<()>, Error> {
    let mut tx = pool.begin().await?;
    let locked = rooms::lock(&mut tx, room_id, caller).await?;
    let access = locked.access.visible()?;
    let event = match (access.kind, access.role) {
        (_, None) => return Ok(Outcome::unchanged(())),
        (RoomKind::Direct, Some(_)) => return Err(Error::DirectRoom),
        (_, Some(Role::Owner)) if locked.member_count > 1 => {
            return Err(Error::OwnerMustTransfer);
        }
        (_, Some(Role::Owner)) => rooms::remove(&mut tx, room_id, caller).await?,
        (_, Some(_)) => {
            remove_member(&mut tx, room_id, caller).await?;
            Announcement::new(RoomEventKind::MemberLeft, room_id, caller).about(caller)
        }
    };
    outbox::commit(tx, Outcome::changed((), vec![event])).await
}

/// Members of a room, earliest joined first; only members may list them.
#[tracing::instrument(skip(pool))]
pub async fn list(
    pool: &PgPool,
    caller: Uuid,
    room_id: Uuid,
    after: Cursor,
    limit: u32,
) -> Result<(Vec<Member>, Option<String>), Error> {
    rooms::access(pool, room_id, caller).await?.member()?;
    let rows = sqlx::query_as::<_, MemberRow>(
        r#"
        SELECT room_id, user_id, role, joined_at
        FROM room_members
        WHERE room_id = $1 AND (joined_at, user_id) > ($2, $3)
        ORDER BY joined_at, user_id
        LIMIT $4
        "#,
    )
    .bind(room_id)
    .bind(after.at)
    .bind(after.id)
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await?;
    let (rows, next) = cursor::page(rows, limit, |row| Cursor::new(row.joined_at, row.user_id));
    let members = rows
        .iter()
        .map(MemberRow::to_proto)
        .collect::<Result<_, _>>()?;
    Ok((members, next))
}

/// Changes a member's role; only the owner may. Giving `Owner` hands ownership over: the
/// former owner becomes an admin. The owner cannot demote themselves (that would leave
/// the room without owner). Giving a member the role they have changes nothing.
#[tracing::instrument(skip(pool))]
pub async fn set_role(
    pool: &PgPool,
    caller: Uuid,
    room_id: Uuid,
    user: Uuid,
    role: Role,
) -> Result<Outcome<Member>, Error> {
    let mut tx = pool.begin().await?;
    rooms::lock(&mut tx, room_id, caller)
        .await?
        .access
        .at_least(Role::Owner)?;
    let target = member(&mut tx, room_id, user)
        .await?
        .ok_or(Error::MemberNotFound)?;
    let current = Role::parse(&target.role)?;
    if current == role {
        return Ok(Outcome::unchanged(target.to_proto()?));
    }
    if user == caller {
        return Err(Error::OwnerMustTransfer);
    }
    let mut events = Vec::new();
    if role == Role::Owner {
        // The former owner steps down first: a room has at most one owner at any moment.
        set_member_role(&mut tx, room_id, caller, Role::Admin).await?;
        sqlx::query("UPDATE rooms SET owner_id = $2, updated_at = now() WHERE id = $1")
            .bind(room_id)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        events.push(
            Announcement::new(RoomEventKind::RoleChanged, room_id, caller)
                .about(caller)
                .role(Role::Admin),
        );
    }
    let changed = set_member_role(&mut tx, room_id, user, role).await?;
    events.insert(
        0,
        Announcement::new(RoomEventKind::RoleChanged, room_id, caller)
            .about(user)
            .role(role),
    );
    outbox::commit(tx, Outcome::changed(changed.to_proto()?, events)).await
}

#[tracing::instrument(skip(conn))]
async fn set_member_role(
    conn: &mut PgConnection,
    room_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> Result<MemberRow, Error> {
    Ok(sqlx::query_as::<_, MemberRow>(
        "UPDATE room_members SET role = $3 WHERE room_id = $1 AND user_id = $2 \
         RETURNING room_id, user_id, role, joined_at",
    )
    .bind(room_id)
    .bind(user_id)
    .bind(role.as_str())
    .fetch_one(conn)
    .await?)
}

/// Adds a user to the room as a member; admins and the owner may. Inviting a member
/// changes nothing; a banned user cannot be invited.
#[tracing::instrument(skip(pool))]
pub async fn invite(
    pool: &PgPool,
    caller: Uuid,
    room_id: Uuid,
    user: Uuid,
) -> Result<Outcome<Member>, Error> {
    let mut tx = pool.begin().await?;
    rooms::lock(&mut tx, room_id, caller)
        .await?
        .access
        .at_least(Role::Admin)?;
    if let Some(existing) = member(&mut tx, room_id, user).await? {
        return Ok(Outcome::unchanged(existing.to_proto()?));
    }
    if is_banned(&mut tx, room_id, user).await? {
        return Err(Error::UserBanned);
    }
    let added = add_member(&mut tx, room_id, user).await?;
    let event = Announcement::new(RoomEventKind::MemberInvited, room_id, caller)
        .about(user)
        .role(Role::Member);
    outbox::commit(tx, Outcome::changed(added.to_proto()?, vec![event])).await
}

/// Removes a member; admins may remove members, the owner also admins.
#[tracing::instrument(skip(pool))]
pub async fn kick(
    pool: &PgPool,
    caller: Uuid,
    room_id: Uuid,
    user: Uuid,
) -> Result<Outcome<()>, Error> {
    let mut tx = pool.begin().await?;
    let role = rooms::lock(&mut tx, room_id, caller)
        .await?
        .access
        .at_least(Role::Admin)?;
    let target = member(&mut tx, room_id, user)
        .await?
        .ok_or(Error::MemberNotFound)?;
    if !role.outranks(Role::parse(&target.role)?) {
        return Err(Error::Forbidden);
    }
    remove_member(&mut tx, room_id, user).await?;
    let event = Announcement::new(RoomEventKind::MemberKicked, room_id, caller).about(user);
    outbox::commit(tx, Outcome::changed((), vec![event])).await
}

/// Bans a user, member or not, until `until` or until unbanned, and removes them if they
/// are a member; admins may ban members and outsiders, the owner also admins. Banning a
/// banned user replaces the ban.
#[tracing::instrument(skip(pool))]
pub async fn ban(
    pool: &PgPool,
    caller: Uuid,
    room_id: Uuid,
    ban: NewBan,
) -> Result<Outcome<()>, Error> {
    let mut tx = pool.begin().await?;
    let role = rooms::lock(&mut tx, room_id, caller)
        .await?
        .access
        .at_least(Role::Admin)?;
    let target = member(&mut tx, room_id, ban.user).await?;
    if let Some(target) = &target
        && !role.outranks(Role::parse(&target.role)?)
    {
        return Err(Error::Forbidden);
    }
    sqlx::query(
        r#"
        INSERT INTO room_bans (room_id, user_id, banned_by, until, reason)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (room_id, user_id) DO UPDATE
        SET banned_by = EXCLUDED.banned_by, until = EXCLUDED.until,
            reason = EXCLUDED.reason, banned_at = now()
        "#,
    )
    .bind(room_id)
    .bind(ban.user)
    .bind(caller)
    .bind(ban.until)
    .bind(&ban.reason)
    .execute(&mut *tx)
    .await?;
    if target.is_some() {
        remove_member(&mut tx, room_id, ban.user).await?;
    }
    let event = Announcement::new(RoomEventKind::MemberBanned, room_id, caller)
        .about(ban.user)
        .until(ban.until);
    outbox::commit(tx, Outcome::changed((), vec![event])).await
}

/// Lifts a ban; admins and the owner may. Unbanning someone not banned changes nothing.
#[tracing::instrument(skip(pool))]
pub async fn unban(
    pool: &PgPool,
    caller: Uuid,
    room_id: Uuid,
    user: Uuid,
) -> Result<Outcome<()>, Error> {
    let mut tx = pool.begin().await?;
    rooms::lock(&mut tx, room_id, caller)
        .await?
        .access
        .at_least(Role::Admin)?;
    let lifted = sqlx::query("DELETE FROM room_bans WHERE room_id = $1 AND user_id = $2")
        .bind(room_id)
        .bind(user)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        > 0;
    if !lifted {
        return Ok(Outcome::unchanged(()));
    }
    let event = Announcement::new(RoomEventKind::MemberUnbanned, room_id, caller).about(user);
    outbox::commit(tx, Outcome::changed((), vec![event])).await
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    kind: String,
    role: Option<String>,
}

/// Whether `user_id` belongs to the room, with their role and the room's kind: one
/// primary-key lookup in each of `rooms` and `room_members`. An unknown room reports a
/// non-member of an unspecified kind.
#[tracing::instrument(
    name = "SELECT rooms",
    skip(pool),
    fields(
        otel.kind = "client",
        db.system.name = "postgresql",
        db.operation.name = "SELECT",
        db.collection.name = "rooms",
    )
)]
pub async fn check(pool: &PgPool, room_id: Uuid, user_id: Uuid) -> Result<Membership, Error> {
    let row = sqlx::query_as::<_, MembershipRow>(
        r#"
        SELECT r.kind, m.role
        FROM rooms r
        LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $2
        WHERE r.id = $1
        "#,
    )
    .bind(room_id)
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(Membership::default());
    };
    let role = row.role.as_deref().map(Role::parse).transpose()?;
    Ok(Membership {
        is_member: role.is_some(),
        role: role.map(|role| role.to_proto() as i32),
        kind: RoomKind::parse(&row.kind)?.to_proto() as i32,
    })
}

/// What a connecting socket needs of `user_id`: every room they belong to, earliest joined
/// first, and the other user of each of their direct rooms. One statement: a reconnect
/// storm asks this once per socket, and each ask holds one pooled connection for one
/// round trip.
#[tracing::instrument(skip(pool))]
pub async fn memberships(pool: &PgPool, user_id: Uuid) -> Result<UserRooms, Error> {
    let rows: Vec<(Option<Uuid>, Option<Uuid>)> = sqlx::query_as(
        "SELECT room_id, NULL::uuid AS partner, joined_at FROM room_members WHERE user_id = $1 \
         UNION ALL \
         SELECT NULL, CASE WHEN user_low = $1 THEN user_high ELSE user_low END, NULL \
           FROM direct_rooms WHERE user_low = $1 OR user_high = $1 \
         ORDER BY joined_at NULLS LAST, room_id",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    let mut rooms = UserRooms::default();
    for (room, partner) in rows {
        rooms.room_ids.extend(room);
        rooms.direct_partners.extend(partner);
    }
    Ok(rooms)
}

/// The rooms a user belongs to and the people of their direct rooms.
#[derive(Debug, Default)]
pub struct UserRooms {
    pub room_ids: Vec<Uuid>,
    pub direct_partners: Vec<Uuid>,
}
