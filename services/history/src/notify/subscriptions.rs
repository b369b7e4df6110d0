//! Browsers' push subscriptions (`push_subscriptions`): an endpoint with its RFC 8291
//! keys, owned by the user who registered it last.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Error;

/// The most subscriptions one user keeps (browsers, devices); registering past it drops
/// the oldest.
pub const MAX_PER_USER: i64 = 20;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Subscription {
    pub id: Uuid,
    pub user_id: Uuid,
    pub endpoint: String,
    pub p256dh: Vec<u8>,
    pub auth: Vec<u8>,
    pub created_at: OffsetDateTime,
}

/// The keys of a subscription, checked: a P-256 point and a 16-byte secret.
pub fn decode_keys(p256dh: &str, auth: &str) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let mut violations = Vec::new();
    let key = URL_SAFE_NO_PAD
        .decode(p256dh.trim_end_matches('='))
        .ok()
        .filter(|key| web_push_native::p256::PublicKey::from_sec1_bytes(key).is_ok());
    if key.is_none() {
        violations.push((
            "keys.p256dh".to_owned(),
            "must be a P-256 public key, base64url".to_owned(),
        ));
    }
    let secret = URL_SAFE_NO_PAD
        .decode(auth.trim_end_matches('='))
        .ok()
        .filter(|secret| secret.len() == 16);
    if secret.is_none() {
        violations.push((
            "keys.auth".to_owned(),
            "must be 16 bytes, base64url".to_owned(),
        ));
    }
    match (key, secret) {
        (Some(key), Some(secret)) => Ok((key, secret)),
        _ => Err(Error::Validation(violations)),
    }
}

/// Stores a subscription; the same endpoint again takes the new keys and owner.
pub async fn add(
    pool: &PgPool,
    user: Uuid,
    endpoint: &str,
    p256dh: &[u8],
    auth: &[u8],
) -> Result<Subscription, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let stored: Subscription = sqlx::query_as(
        "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (endpoint) DO UPDATE
             SET user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth
         RETURNING *",
    )
    .bind(Uuid::now_v7())
    .bind(user)
    .bind(endpoint)
    .bind(p256dh)
    .bind(auth)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM push_subscriptions WHERE user_id = $1 AND id NOT IN (
             SELECT id FROM push_subscriptions WHERE user_id = $1
             ORDER BY created_at DESC LIMIT $2)",
    )
    .bind(user)
    .bind(MAX_PER_USER)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(stored)
}

/// Forgets `user`'s subscription at `endpoint` (nothing when there is none).
pub async fn remove(pool: &PgPool, user: Uuid, endpoint: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2")
        .bind(user)
        .bind(endpoint)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets a subscription the push service said is gone.
pub async fn remove_gone(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Every subscription of `user`.
pub async fn of_user(pool: &PgPool, user: Uuid) -> Result<Vec<Subscription>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at")
        .bind(user)
        .fetch_all(pool)
        .await
}
