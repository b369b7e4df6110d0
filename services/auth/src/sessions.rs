//! Refresh sessions and their rotating refresh tokens.
//!
//! A session is one login on one device: the family of refresh tokens descending from it.
//! A refresh token is 32 random bytes (base64url); only its SHA-256 is stored. Each works
//! once: exchanging it marks it used and issues the next one. Presenting a used token
//! again means two parties hold the family (a stolen token), so the whole session is
//! revoked: the thief and the user both have to log in again. Two concurrent exchanges of
//! the same token are the same situation and end the same way: the first wins, the second
//! is reuse.
//!
//! Sessions slide: each exchange gives a token with the full lifetime. Revoking a session
//! (logout, reuse) stops its refresh tokens at once; access tokens already issued stay
//! valid until they expire (minutes), since gateways verify them without asking auth.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::Error;

const USER_AGENT_MAX: usize = 512;
const IP_ADDRESS_MAX: usize = 64;
/// Longer than any token this service issues; longer input is not looked up.
const TOKEN_MAX: usize = 128;
/// Rows deleted per statement by the sweep, so it never holds locks for long.
const SWEEP_BATCH: i64 = 1000;

/// Where a session comes from, as the gateway saw it.
#[derive(Debug, Clone, Default)]
pub struct Device {
    pub user_agent: String,
    pub ip_address: String,
}

impl From<Option<chat_proto::v1::DeviceInfo>> for Device {
    fn from(info: Option<chat_proto::v1::DeviceInfo>) -> Self {
        let info = info.unwrap_or_default();
        Self {
            user_agent: truncate(&info.user_agent, USER_AGENT_MAX),
            ip_address: truncate(info.ip_address.trim(), IP_ADDRESS_MAX),
        }
    }
}

fn truncate(value: &str, max_chars: usize) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect()
}

/// A refresh token handed to a client, and the session it belongs to.
#[derive(Debug, Clone)]
pub struct Refresh {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub token: String,
}

/// Starts a session for `user_id` with its first refresh token.
#[tracing::instrument(skip(conn, device))]
pub async fn create(
    conn: &mut PgConnection,
    user_id: Uuid,
    device: &Device,
    ttl: Duration,
) -> Result<Refresh, Error> {
    let session_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO sessions (id, user_id, user_agent, ip_address, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
    )
    .bind(session_id)
    .bind(user_id)
    .bind(&device.user_agent)
    .bind(&device.ip_address)
    .bind(ttl.as_secs_f64())
    .execute(&mut *conn)
    .await?;
    let token = insert_token(conn, session_id, ttl).await?;
    Ok(Refresh {
        session_id,
        user_id,
        token,
    })
}

#[derive(sqlx::FromRow)]
struct Claimed {
    session_id: Uuid,
    user_id: Uuid,
}

#[derive(sqlx::FromRow)]
struct TokenState {
    session_id: Uuid,
    user_id: Uuid,
    used: bool,
    expired: bool,
    revoked: bool,
}

/// Exchanges `presented` for the next token of its session. Exactly one of any number of
/// concurrent exchanges of one token succeeds: the claim is a conditional
/// `UPDATE ... WHERE used_at IS NULL`, which the losers wait on and then find used.
#[tracing::instrument(skip_all)]
pub async fn rotate(pool: &PgPool, presented: &str, ttl: Duration) -> Result<Refresh, Error> {
    if presented.is_empty() || presented.len() > TOKEN_MAX {
        return Err(Error::InvalidRefreshToken);
    }
    let hash = token_hash(presented);
    let mut tx = pool.begin().await?;
    let conn = &mut *tx;
    let claimed = sqlx::query_as::<_, Claimed>(
        "UPDATE refresh_tokens AS t SET used_at = now()
           FROM sessions AS s
          WHERE t.token_hash = $1
            AND t.used_at IS NULL
            AND t.expires_at > now()
            AND s.id = t.session_id
            AND s.revoked_at IS NULL
         RETURNING t.session_id, s.user_id",
    )
    .bind(&hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(claimed) = claimed else {
        tx.rollback().await?;
        return Err(refusal(pool, &hash).await);
    };
    sqlx::query(
        "UPDATE sessions
            SET last_used_at = now(), expires_at = now() + make_interval(secs => $2)
          WHERE id = $1",
    )
    .bind(claimed.session_id)
    .bind(ttl.as_secs_f64())
    .execute(&mut *conn)
    .await?;
    let token = insert_token(conn, claimed.session_id, ttl).await?;
    tx.commit().await?;
    Ok(Refresh {
        session_id: claimed.session_id,
        user_id: claimed.user_id,
        token,
    })
}

/// Why a token could not be claimed; revokes its session when the token was reused.
async fn refusal(pool: &PgPool, hash: &[u8]) -> Error {
    let state = sqlx::query_as::<_, TokenState>(
        "SELECT t.session_id, s.user_id,
                t.used_at IS NOT NULL AS used,
                t.expires_at <= now() AS expired,
                s.revoked_at IS NOT NULL AS revoked
           FROM refresh_tokens AS t
           JOIN sessions AS s ON s.id = t.session_id
          WHERE t.token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await;
    let state = match state {
        Ok(Some(state)) => state,
        Ok(None) => return Error::InvalidRefreshToken,
        Err(err) => return err.into(),
    };
    if state.revoked {
        return Error::SessionRevoked;
    }
    if state.expired || !state.used {
        return Error::InvalidRefreshToken;
    }
    tracing::warn!(
        session_id = %state.session_id,
        user_id = %state.user_id,
        "a used refresh token was presented again; revoking its session"
    );
    metrics::counter!("auth_refresh_token_reuse_total").increment(1);
    match revoke_session(pool, state.session_id, "refresh_token_reused").await {
        Ok(()) => Error::RefreshTokenReused,
        Err(err) => err,
    }
}

/// Revokes `session_id` if it belongs to `user_id`. Idempotent: revoking a revoked,
/// expired or unknown session succeeds and changes nothing.
#[tracing::instrument(skip(pool))]
pub async fn logout(pool: &PgPool, user_id: Uuid, session_id: Uuid) -> Result<(), Error> {
    let result = sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = 'logout'
          WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(session_id)
    .bind(user_id)
    .execute(pool)
    .await?;
    tracing::debug!(revoked = result.rows_affected(), "logout");
    Ok(())
}

/// Revokes every open session of `user_id`: each device's refresh token stops working.
/// Idempotent like `logout`.
#[tracing::instrument(skip(pool))]
pub async fn logout_everywhere(pool: &PgPool, user_id: Uuid) -> Result<(), Error> {
    let result = sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = 'logout_everywhere'
          WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .execute(pool)
    .await?;
    tracing::debug!(revoked = result.rows_affected(), "logout everywhere");
    Ok(())
}

/// An open session, as its user reviews it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenSession {
    pub id: Uuid,
    pub user_agent: String,
    pub ip_address: String,
    pub created_at: time::OffsetDateTime,
    pub last_used_at: time::OffsetDateTime,
}

/// The sessions of `user_id` neither revoked nor expired, most recently used first.
#[tracing::instrument(skip(pool))]
pub async fn list(pool: &PgPool, user_id: Uuid) -> Result<Vec<OpenSession>, Error> {
    let sessions = sqlx::query_as::<_, OpenSession>(
        "SELECT id, user_agent, ip_address, created_at, last_used_at FROM sessions
          WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
          ORDER BY last_used_at DESC
          LIMIT 100",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    Ok(sessions)
}

/// Revokes every open session of `user_id` for `reason` (a password reset), inside the
/// caller's transaction.
pub async fn revoke_all(conn: &mut PgConnection, user_id: Uuid, reason: &str) -> Result<(), Error> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = $2
          WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

async fn revoke_session(pool: &PgPool, session_id: Uuid, reason: &str) -> Result<(), Error> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = $2
          WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(session_id)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes expired refresh tokens and sessions (revoked ones too, once expired), in small
/// batches. Returns how many rows went. Safe to run on every replica at once.
#[tracing::instrument(skip(pool))]
pub async fn sweep_expired(pool: &PgPool) -> Result<u64, Error> {
    let mut deleted = 0;
    for statement in [
        "DELETE FROM refresh_tokens WHERE token_hash IN (
             SELECT token_hash FROM refresh_tokens WHERE expires_at < now() LIMIT $1)",
        "DELETE FROM sessions WHERE id IN (
             SELECT id FROM sessions WHERE expires_at < now() LIMIT $1)",
        "DELETE FROM account_tokens WHERE token_hash IN (
             SELECT token_hash FROM account_tokens WHERE expires_at < now() LIMIT $1)",
    ] {
        loop {
            let batch = sqlx::query(statement)
                .bind(SWEEP_BATCH)
                .execute(pool)
                .await?
                .rows_affected();
            deleted += batch;
            if batch < SWEEP_BATCH as u64 {
                break;
            }
        }
    }
    Ok(deleted)
}

async fn insert_token(
    conn: &mut PgConnection,
    session_id: Uuid,
    ttl: Duration,
) -> Result<String, Error> {
    let token = new_token();
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(token_hash(&token))
    .bind(session_id)
    .bind(ttl.as_secs_f64())
    .execute(conn)
    .await?;
    Ok(token)
}

/// 32 random bytes from the OS, base64url without padding (43 characters).
/// 32 random bytes in base64url: a refresh token, or a mailed account token.
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a token: its SHA-256.
pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_random_bytes_in_base64url() {
        let token = new_token();
        assert_eq!(token.len(), 43);
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        assert_ne!(token, new_token());
    }

    #[test]
    fn only_the_hash_identifies_a_token() {
        let token = new_token();
        assert_eq!(token_hash(&token), token_hash(&token));
        assert_eq!(token_hash(&token).len(), 32);
        assert_ne!(token_hash(&token), token.as_bytes());
    }

    #[test]
    fn device_info_is_bounded_and_printable() {
        let device = Device::from(Some(chat_proto::v1::DeviceInfo {
            user_agent: format!("agent\n{}", "x".repeat(1000)),
            ip_address: " 203.0.113.7 ".into(),
        }));
        assert_eq!(device.user_agent.chars().count(), USER_AGENT_MAX);
        assert!(!device.user_agent.contains('\n'));
        assert_eq!(device.ip_address, "203.0.113.7");
    }
}
