//! Ended sessions, as the sockets see them. Logging out revokes a session's refresh token
//! in auth, but the access tokens already issued stay valid until they expire; for the
//! live connection that is not good enough (someone logging out of every device because
//! one was stolen expects it gone now). So a logout through this gateway:
//!
//! * publishes a [`UserSignal`] on the user's channel: every gateway closes the user's
//!   open sockets of that session (or of every session) with 4001 `session ended`;
//! * marks the session (or the user, with the time) as ended in Redis for longer than any
//!   access token lives, so a socket opened afterwards with a token of an ended session is
//!   refused.
//!
//! REST requests still accept such a token until it expires (minutes): checking Redis on
//! every request would cost more than that window is worth.

use std::time::Duration;

use chat_bus::{encode_signal, user_channel};
use chat_proto::v1::UserSignal;
use chat_protocol::UserId;
use chat_runtime::token::AccessClaims;

/// How long an ended session is remembered: longer than any access token lives.
const REMEMBERED: Duration = Duration::from_secs(24 * 3600);

/// Ends sessions and answers whether a token's session ended. Cheap to clone.
#[derive(Clone)]
pub struct Revocations {
    redis: redis::aio::ConnectionManager,
    prefix: String,
}

/// Which sessions of a user ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended<'a> {
    /// One session (one device).
    Session(&'a str),
    /// Every session of the user, as of `at` (Unix seconds): tokens issued up to that
    /// second (JWTs count in seconds; a login in that very second waits one out).
    Every { at: i64 },
}

impl Revocations {
    pub fn new(redis: redis::aio::ConnectionManager, prefix: impl Into<String>) -> Self {
        Self {
            redis,
            prefix: prefix.into(),
        }
    }

    fn session_key(&self, session: &str) -> String {
        format!("{}ended:session:{session}", self.prefix)
    }

    fn user_key(&self, user: &str) -> String {
        format!("{}ended:user:{user}", self.prefix)
    }

    /// Records that `ended` sessions of `user` are over and tells every gateway. Best
    /// effort: auth has already revoked the refresh tokens, which is what the logout
    /// promises; a Redis failure is logged.
    pub async fn end(&self, user: UserId, ended: Ended<'_>) {
        let user = user.to_string();
        let (key, value, session) = match ended {
            Ended::Session(session) => (self.session_key(session), "1".to_owned(), session),
            Ended::Every { at } => (self.user_key(&user), at.to_string(), ""),
        };
        let signal = encode_signal(&UserSignal {
            read: None,
            session_id: session.to_owned(),
        });
        let done: redis::RedisResult<()> = redis::pipe()
            .set_ex(&key, value, REMEMBERED.as_secs())
            .ignore()
            .publish(user_channel(&self.prefix, &user), signal)
            .ignore()
            .query_async(&mut self.redis.clone())
            .await;
        if let Err(err) = done {
            tracing::warn!(%user, error = %err, "ended session not announced to the sockets");
        }
    }

    /// Whether the session of `claims` has ended. When Redis cannot be asked the answer is
    /// no (the token itself is valid; the socket would be refused for an outage).
    pub async fn has_ended(&self, claims: &AccessClaims) -> bool {
        let asked: redis::RedisResult<(Option<String>, Option<i64>)> = redis::pipe()
            .get(self.session_key(&claims.sid))
            .get(self.user_key(&claims.sub))
            .query_async(&mut self.redis.clone())
            .await;
        match asked {
            Ok((session, every)) => session.is_some() || every.is_some_and(|at| claims.iat <= at),
            Err(err) => {
                tracing::warn!(error = %err, "cannot tell whether a session ended; letting it in");
                false
            }
        }
    }
}
