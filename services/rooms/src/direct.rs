//! Direct rooms: exactly two users, one room per pair, found or created on demand.

use chat_proto::v1::{Room, RoomEventKind};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Error;
use crate::events::{Announcement, Outcome};
use crate::outbox;
use crate::rooms;

/// The pair in the order the `direct_rooms` key uses.
fn ordered(a: Uuid, b: Uuid) -> (Uuid, Uuid) {
    if a < b { (a, b) } else { (b, a) }
}

/// The direct room of `caller` and `other`, created with both as members when it does
/// not exist yet. Two users opening it at the same moment get the same room: both
/// transactions claim the pair's key with `ON CONFLICT DO NOTHING`; the one that loses
/// waits for the winner to commit and then reads the winner's room.
#[tracing::instrument(skip(pool))]
pub async fn open(pool: &PgPool, caller: Uuid, other: Uuid) -> Result<Outcome<Room>, Error> {
    if caller == other {
        return Err(Error::invalid_field(
            "user_id",
            "must be another user than the caller",
        ));
    }
    let (low, high) = ordered(caller, other);
    let mut tx = pool.begin().await?;
    // The room row is written after the claim; the foreign key is checked at commit.
    let claimed: Option<Uuid> = sqlx::query_scalar(
        r#"
        INSERT INTO direct_rooms (user_low, user_high, room_id)
        VALUES ($1, $2, $3)
        ON CONFLICT (user_low, user_high) DO NOTHING
        RETURNING room_id
        "#,
    )
    .bind(low)
    .bind(high)
    .bind(Uuid::now_v7())
    .fetch_optional(&mut *tx)
    .await?;
    let room_id = match claimed {
        Some(room_id) => {
            sqlx::query("INSERT INTO rooms (id, kind, name) VALUES ($1, 'direct', '')")
                .bind(room_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO room_members (room_id, user_id, role) \
                 VALUES ($1, $2, 'member'), ($1, $3, 'member')",
            )
            .bind(room_id)
            .bind(low)
            .bind(high)
            .execute(&mut *tx)
            .await?;
            room_id
        }
        None => {
            sqlx::query_scalar(
                "SELECT room_id FROM direct_rooms WHERE user_low = $1 AND user_high = $2",
            )
            .bind(low)
            .bind(high)
            .fetch_one(&mut *tx)
            .await?
        }
    };
    let room = rooms::fetch(&mut *tx, room_id, caller).await?;
    if claimed.is_none() {
        tx.commit().await?;
        return Ok(Outcome::unchanged(room));
    }
    let event = Announcement::new(RoomEventKind::DirectCreated, room_id, caller)
        .about(other)
        .room(room.clone());
    outbox::commit(tx, Outcome::changed(room, vec![event])).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_has_one_order() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(ordered(a, b), ordered(b, a));
        let (low, high) = ordered(a, b);
        assert!(low < high);
    }
}
