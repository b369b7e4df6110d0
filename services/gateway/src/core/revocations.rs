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
use chat_runtime::redis_connection::RedisConnection;
use chat_runtime::token::AccessClaims;

/// How long an ended session is remembered: longer than any access token lives.
const REMEMBERED: Duration = Duration::from_secs(24 * 3600);

/// Ends sessions and answers whether a token's session ended. Cheap to clone.
#[derive(Clone)]
pub struct Revocations {
    redis: RedisConnection,
    prefix: String,
}

/// Which sessions of a user ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended<'a> {
    /// One session (one device).
    Session(&'a str),
    /// Every session of the user started up to `at_ms` (Unix milliseconds, by auth's
    /// clock, as auth reported it): a session's start is in its id (a UUIDv7), so a
    /// sign-in right after the logout or the password reset is not caught by it.
    Every { at_ms: i64 },
}

/// When the session of `claims` started, in Unix milliseconds: from its id, a UUIDv7;
/// for an id of another kind, the start of the second the token was issued in (which
/// errs on the side of refusing).
fn session_started_ms(claims: &AccessClaims) -> i64 {
    uuid::Uuid::try_parse(&claims.sid)
        .ok()
        .filter(|id| id.get_version_num() == 7)
        .and_then(|id| id.get_timestamp())
        .map(|at| {
            let (seconds, nanos) = at.to_unix();
            i64::try_from(seconds)
                .unwrap_or(i64::MAX)
                .saturating_mul(1000)
                .saturating_add(i64::from(nanos / 1_000_000))
        })
        .unwrap_or_else(|| claims.iat.saturating_mul(1000))
}

impl Revocations {
    pub fn new(redis: RedisConnection, prefix: impl Into<String>) -> Self {
        Self {
            redis,
            prefix: prefix.into(),
        }
    }

    // Both keys carry the user's hash tag: one slot, so one pipeline asks for both.
    fn session_key(&self, user: &str, session: &str) -> String {
        format!("{}ended:{{{user}}}:session:{session}", self.prefix)
    }

    fn user_key(&self, user: &str) -> String {
        format!("{}ended:{{{user}}}:user_ms", self.prefix)
    }

    /// Records that `ended` sessions of `user` are over and tells every gateway. Best
    /// effort: auth has already revoked the refresh tokens, which is what the logout
    /// promises; a Redis failure is logged.
    pub async fn end(&self, user: UserId, ended: Ended<'_>) {
        let user = user.to_string();
        let (key, value, session) = match ended {
            Ended::Session(session) => (self.session_key(&user, session), "1".to_owned(), session),
            Ended::Every { at_ms } => (self.user_key(&user), at_ms.to_string(), ""),
        };
        let signal = encode_signal(&UserSignal {
            read: None,
            session_id: session.to_owned(),
        });
        // Marked first, announced second: a socket the announcement misses (opened in
        // between) meets the mark. Two commands, as the key and the channel may live in
        // different slots of a cluster.
        let mut redis = self.redis.clone();
        let done: redis::RedisResult<()> = async {
            redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("EX")
                .arg(REMEMBERED.as_secs())
                .exec_async(&mut redis)
                .await?;
            redis
                .publish_each(&[user_channel(&self.prefix, &user)], &signal)
                .await
                .map(drop)
        }
        .await;
        if let Err(err) = done {
            tracing::warn!(%user, error = %err, "ended session not announced to the sockets");
        }
    }

    /// Whether the session of `claims` has ended. When Redis cannot be asked the answer is
    /// no (the token itself is valid; the socket would be refused for an outage).
    pub async fn has_ended(&self, claims: &AccessClaims) -> bool {
        let asked: redis::RedisResult<(Option<String>, Option<i64>)> = redis::pipe()
            .get(self.session_key(&claims.sub, &claims.sid))
            .get(self.user_key(&claims.sub))
            .query_async(&mut self.redis.clone())
            .await;
        match asked {
            Ok((session, every)) => {
                session.is_some() || every.is_some_and(|at_ms| session_started_ms(claims) <= at_ms)
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot tell whether a session ended; letting it in");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(sid: String, iat: i64) -> AccessClaims {
        AccessClaims {
            iss: "auth".into(),
            aud: "chat".into(),
            sub: uuid::Uuid::nil().to_string(),
            sid,
            jti: "token".into(),
            iat,
            exp: iat + 900,
        }
    }

    #[test]
    fn a_session_starts_when_its_uuidv7_id_says() {
        let at = uuid::Timestamp::from_unix(uuid::NoContext, 1_700_000_000, 123_456_789);
        let sid = uuid::Uuid::new_v7(at).to_string();
        assert_eq!(
            session_started_ms(&claims(sid, 1_800_000_000)),
            1_700_000_000_123
        );
    }

    #[test]
    fn another_id_counts_from_the_start_of_the_tokens_second() {
        let sid = uuid::Uuid::new_v4().to_string();
        assert_eq!(
            session_started_ms(&claims(sid, 1_700_000_000)),
            1_700_000_000_000
        );
        assert_eq!(session_started_ms(&claims("x".into(), 5)), 5_000);
    }
}
