//! Messages stored and not yet planned (`notification_outbox`).

use sqlx::PgConnection;
use uuid::Uuid;

/// Adds messages stored in the current transaction, each as (room, message).
pub async fn add(
    connection: &mut PgConnection,
    messages: &[(Uuid, Uuid)],
) -> Result<(), sqlx::Error> {
    if messages.is_empty() {
        return Ok(());
    }
    let (rooms, ids): (Vec<Uuid>, Vec<Uuid>) = messages.iter().copied().unzip();
    sqlx::query(
        "INSERT INTO notification_outbox (room_id, message_id)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[])
         ON CONFLICT DO NOTHING",
    )
    .bind(rooms)
    .bind(ids)
    .execute(connection)
    .await?;
    Ok(())
}
