//! Rooms themselves: creating, reading, editing, deleting and listing them.
//!
//! Every change takes the room's row lock first ([`lock`]), so the caller's role, the
//! member count and the change are consistent with concurrent changes of the same room.

use chat_proto::v1::{Room, RoomEventKind};
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use crate::cursor::{self, Cursor};
use crate::error::Error;
use crate::events::{Announcement, Outcome};
use crate::model::{Access, Role, RoomKind, RoomRow};
use crate::outbox;

/// A public or private room to create.
#[derive(Debug, Clone)]
pub struct NewRoom {
    pub kind: RoomKind,
    pub name: String,
    pub description: Option<String>,
    pub topic: Option<String>,
}

/// Fields to change; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct RoomChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub topic: Option<Option<String>>,
}

impl RoomChanges {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.description.is_none() && self.topic.is_none()
    }
}

/// A room locked for a change, and what the caller is to it.
#[derive(Debug, Clone, Copy)]
pub struct Locked {
    pub access: Access,
    pub member_count: i64,
}

#[derive(sqlx::FromRow)]
struct AccessRow {
    kind: String,
    member_count: i64,
    role: Option<String>,
}

/// Locks the room's row until the transaction ends and reads the caller's access.
#[tracing::instrument(skip(conn))]
pub async fn lock(conn: &mut PgConnection, room_id: Uuid, caller: Uuid) -> Result<Locked, Error> {
    let row = sqlx::query_as::<_, AccessRow>(
        r#"
        SELECT r.kind, r.member_count, m.role
        FROM rooms r
        LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $2
        WHERE r.id = $1
        FOR UPDATE OF r
        "#,
    )
    .bind(room_id)
    .bind(caller)
    .fetch_optional(conn)
    .await?
    .ok_or(Error::RoomNotFound)?;
    Ok(Locked {
        access: Access {
            kind: RoomKind::parse(&row.kind)?,
            role: row.role.as_deref().map(Role::parse).transpose()?,
        },
        member_count: row.member_count,
    })
}

/// What the caller is to the room, without locking (for reads).
#[tracing::instrument(skip(executor))]
pub async fn access(
    executor: impl PgExecutor<'_>,
    room_id: Uuid,
    caller: Uuid,
) -> Result<Access, Error> {
    let row = sqlx::query_as::<_, AccessRow>(
        r#"
        SELECT r.kind, r.member_count, m.role
        FROM rooms r
        LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $2
        WHERE r.id = $1
        "#,
    )
    .bind(room_id)
    .bind(caller)
    .fetch_optional(executor)
    .await?
    .ok_or(Error::RoomNotFound)?;
    Ok(Access {
        kind: RoomKind::parse(&row.kind)?,
        role: row.role.as_deref().map(Role::parse).transpose()?,
    })
}

/// The room as `caller` sees it (with the caller's role), whether or not visible to them.
pub async fn fetch(
    executor: impl PgExecutor<'_>,
    room_id: Uuid,
    caller: Uuid,
) -> Result<Room, Error> {
    fetch_row(executor, room_id, caller).await?.to_proto()
}

#[tracing::instrument(skip(executor))]
async fn fetch_row(
    executor: impl PgExecutor<'_>,
    room_id: Uuid,
    caller: Uuid,
) -> Result<RoomRow, Error> {
    sqlx::query_as::<_, RoomRow>(
        r#"
        SELECT r.id, r.kind, r.name, r.description, r.topic, r.owner_id, r.member_count,
               r.created_at, m.role AS my_role, d.user_low, d.user_high,
               r.created_at AS sort_at
        FROM rooms r
        LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $2
        LEFT JOIN direct_rooms d ON d.room_id = r.id
        WHERE r.id = $1
        "#,
    )
    .bind(room_id)
    .bind(caller)
    .fetch_optional(executor)
    .await?
    .ok_or(Error::RoomNotFound)
}

/// Creates a public or private room owned by `caller`, its first member.
#[tracing::instrument(skip(pool))]
pub async fn create(pool: &PgPool, caller: Uuid, new: NewRoom) -> Result<Outcome<Room>, Error> {
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    sqlx::query(
        r#"
        INSERT INTO rooms (id, kind, name, description, topic, owner_id)
        VALUES ($1, $2, $3, $4, $5, $6)
        "#,
    )
    .bind(id)
    .bind(new.kind.as_str())
    .bind(&new.name)
    .bind(&new.description)
    .bind(&new.topic)
    .bind(caller)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO room_members (room_id, user_id, role) VALUES ($1, $2, 'owner')")
        .bind(id)
        .bind(caller)
        .execute(&mut *tx)
        .await?;
    let room = fetch(&mut *tx, id, caller).await?;
    let event = Announcement::new(RoomEventKind::RoomCreated, id, caller)
        .about(caller)
        .role(Role::Owner)
        .room(room.clone());
    outbox::commit(tx, Outcome::changed(room, vec![event])).await
}

/// The room, when the caller may see it.
#[tracing::instrument(skip(pool))]
pub async fn get(pool: &PgPool, caller: Uuid, room_id: Uuid) -> Result<Room, Error> {
    let row = fetch_row(pool, room_id, caller).await?;
    Access {
        kind: RoomKind::parse(&row.kind)?,
        role: row.my_role.as_deref().map(Role::parse).transpose()?,
    }
    .visible()?;
    row.to_proto()
}

/// Edits name, description or topic; admins and the owner may.
#[tracing::instrument(skip(pool))]
pub async fn update(
    pool: &PgPool,
    caller: Uuid,
    room_id: Uuid,
    changes: RoomChanges,
) -> Result<Outcome<Room>, Error> {
    let mut tx = pool.begin().await?;
    lock(&mut tx, room_id, caller)
        .await?
        .access
        .at_least(Role::Admin)?;
    if changes.is_empty() {
        let room = fetch(&mut *tx, room_id, caller).await?;
        return Ok(Outcome::unchanged(room));
    }
    sqlx::query(
        r#"
        UPDATE rooms
        SET name = COALESCE($2, name),
            description = CASE WHEN $3 THEN $4 ELSE description END,
            topic = CASE WHEN $5 THEN $6 ELSE topic END,
            updated_at = now()
        WHERE id = $1
        "#,
    )
    .bind(room_id)
    .bind(&changes.name)
    .bind(changes.description.is_some())
    .bind(changes.description.clone().flatten())
    .bind(changes.topic.is_some())
    .bind(changes.topic.clone().flatten())
    .execute(&mut *tx)
    .await?;
    let room = fetch(&mut *tx, room_id, caller).await?;
    let event = Announcement::new(RoomEventKind::RoomUpdated, room_id, caller).room(room.clone());
    outbox::commit(tx, Outcome::changed(room, vec![event])).await
}

/// Deletes the room with its memberships and bans; only the owner may. Every former
/// member hears of it on their own channel.
#[tracing::instrument(skip(pool))]
pub async fn delete(pool: &PgPool, caller: Uuid, room_id: Uuid) -> Result<Outcome<()>, Error> {
    let mut tx = pool.begin().await?;
    lock(&mut tx, room_id, caller)
        .await?
        .access
        .at_least(Role::Owner)?;
    let event = remove(&mut tx, room_id, caller).await?;
    outbox::commit(tx, Outcome::changed((), vec![event])).await
}

/// Deletes a locked room; the announcement names every former member.
#[tracing::instrument(skip(conn))]
pub async fn remove(
    conn: &mut PgConnection,
    room_id: Uuid,
    caller: Uuid,
) -> Result<Announcement, Error> {
    let members: Vec<Uuid> =
        sqlx::query_scalar("SELECT user_id FROM room_members WHERE room_id = $1")
            .bind(room_id)
            .fetch_all(&mut *conn)
            .await?;
    sqlx::query("DELETE FROM rooms WHERE id = $1")
        .bind(room_id)
        .execute(&mut *conn)
        .await?;
    Ok(Announcement::new(RoomEventKind::RoomDeleted, room_id, caller).also_to(members))
}

/// Public rooms, newest first, optionally those whose name contains `query` (ignoring
/// case). Returns the page and the cursor of the next one.
#[tracing::instrument(skip(pool))]
pub async fn list_public(
    pool: &PgPool,
    caller: Uuid,
    query: Option<String>,
    after: Cursor,
    limit: u32,
) -> Result<(Vec<Room>, Option<String>), Error> {
    let rows = match query {
        None => {
            sqlx::query_as::<_, RoomRow>(
                r#"
                SELECT r.id, r.kind, r.name, r.description, r.topic, r.owner_id,
                       r.member_count, r.created_at, m.role AS my_role,
                       NULL::uuid AS user_low, NULL::uuid AS user_high,
                       r.created_at AS sort_at
                FROM rooms r
                LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $1
                WHERE r.kind = 'public' AND (r.created_at, r.id) < ($2, $3)
                ORDER BY r.created_at DESC, r.id DESC
                LIMIT $4
                "#,
            )
            .bind(caller)
            .bind(after.at)
            .bind(after.id)
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await?
        }
        Some(query) => {
            sqlx::query_as::<_, RoomRow>(
                r#"
                SELECT r.id, r.kind, r.name, r.description, r.topic, r.owner_id,
                       r.member_count, r.created_at, m.role AS my_role,
                       NULL::uuid AS user_low, NULL::uuid AS user_high,
                       r.created_at AS sort_at
                FROM rooms r
                LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $1
                WHERE r.kind = 'public' AND (r.created_at, r.id) < ($2, $3)
                  AND lower(r.name) LIKE lower($5)
                ORDER BY r.created_at DESC, r.id DESC
                LIMIT $4
                "#,
            )
            .bind(caller)
            .bind(after.at)
            .bind(after.id)
            .bind(i64::from(limit) + 1)
            .bind(substring_pattern(&query))
            // Planned with the actual pattern each time (never a cached generic plan), so
            // the planner can weigh the trigram index against the creation-order scan.
            .persistent(false)
            .fetch_all(pool)
            .await?
        }
    };
    to_page(rows, limit)
}

/// The caller's rooms of every kind, latest joined first.
#[tracing::instrument(skip(pool))]
pub async fn list_mine(
    pool: &PgPool,
    caller: Uuid,
    after: Cursor,
    limit: u32,
) -> Result<(Vec<Room>, Option<String>), Error> {
    let rows = sqlx::query_as::<_, RoomRow>(
        r#"
        SELECT r.id, r.kind, r.name, r.description, r.topic, r.owner_id, r.member_count,
               r.created_at, m.role AS my_role, d.user_low, d.user_high,
               m.joined_at AS sort_at
        FROM room_members m
        JOIN rooms r ON r.id = m.room_id
        LEFT JOIN direct_rooms d ON d.room_id = r.id
        WHERE m.user_id = $1 AND (m.joined_at, m.room_id) < ($2, $3)
        ORDER BY m.joined_at DESC, m.room_id DESC
        LIMIT $4
        "#,
    )
    .bind(caller)
    .bind(after.at)
    .bind(after.id)
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await?;
    to_page(rows, limit)
}

fn to_page(rows: Vec<RoomRow>, limit: u32) -> Result<(Vec<Room>, Option<String>), Error> {
    let (rows, next) = cursor::page(rows, limit, |row| Cursor::new(row.sort_at, row.id));
    let rooms = rows
        .iter()
        .map(RoomRow::to_proto)
        .collect::<Result<_, _>>()?;
    Ok((rooms, next))
}

/// A LIKE pattern matching `text` anywhere, with LIKE's own wildcards taken literally.
fn substring_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_in_a_search_are_literal() {
        assert_eq!(substring_pattern("gen"), "%gen%");
        assert_eq!(substring_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
