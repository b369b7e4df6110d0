//! Messages stored and not yet planned (`notification_outbox`).

use sqlx::PgConnection;
use uuid::Uuid;

/// Adds messages stored in the current transaction.
pub async fn add(connection: &mut PgConnection, messages: &[Uuid]) -> Result<(), sqlx::Error> {
    if messages.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO notification_outbox (message_id) SELECT * FROM UNNEST($1::uuid[])
         ON CONFLICT DO NOTHING",
    )
    .bind(messages)
    .execute(connection)
    .await?;
    Ok(())
}
