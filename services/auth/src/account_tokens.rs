//! Single-use tokens mailed to account holders: a password reset (30 minutes by default)
//! or an email verification (a week). A token is 32 random bytes (base64url); only its
//! SHA-256 is stored. Using one claims it with a conditional update, so of two concurrent
//! uses exactly one wins; a newer reset link replaces the older ones.

use std::time::Duration;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::Error;
use crate::sessions::{new_token, token_hash};

/// Longer than any token this service issues; longer input is not looked up.
const TOKEN_MAX: usize = 128;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    EmailVerification,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
        }
    }
}

/// A claimed token: whose, and the address it was mailed to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub user_id: Uuid,
    pub email: String,
}

/// A new token for `user_id`, mailed to `email`; earlier unused ones of the same purpose
/// stop working (only the newest link works).
pub async fn issue(
    conn: &mut PgConnection,
    user_id: Uuid,
    email: &str,
    purpose: Purpose,
    ttl: Duration,
) -> Result<String, Error> {
    sqlx::query(
        "UPDATE account_tokens SET used_at = now()
          WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(purpose.as_str())
    .execute(&mut *conn)
    .await?;
    let token = new_token();
    sqlx::query(
        "INSERT INTO account_tokens (token_hash, user_id, purpose, email, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(email)
    .bind(ttl.as_secs_f64())
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// Uses `presented` for `purpose`: it must exist, be unused and unexpired. Part of the
/// caller's transaction, so what the token allows and its use commit together.
pub async fn claim(
    conn: &mut PgConnection,
    presented: &str,
    purpose: Purpose,
) -> Result<Claimed, Error> {
    if presented.is_empty() || presented.len() > TOKEN_MAX {
        return Err(Error::InvalidAccountToken);
    }
    sqlx::query_as::<_, Claimed>(
        "UPDATE account_tokens SET used_at = now()
          WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
          RETURNING user_id, email",
    )
    .bind(token_hash(presented))
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await?
    .ok_or(Error::InvalidAccountToken)
}
