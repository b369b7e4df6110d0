//! Every failure of the auth service, and how each one reaches a caller: a gRPC status
//! with a stable snake_case reason. Internal causes are logged here and never sent.

use std::time::Duration;

use chat_runtime::status;
use tonic::{Code, Status};

/// A field that failed validation and why, as reported in the status' field violations.
pub type FieldViolation = (String, String);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Validation(Vec<FieldViolation>),
    #[error("the username is taken")]
    UsernameTaken,
    #[error("the email is taken")]
    EmailTaken,
    #[error("invalid login or password")]
    InvalidCredentials,
    #[error("too many login attempts")]
    TooManyAttempts { retry_after: Duration },
    #[error("the refresh token is invalid or expired")]
    InvalidRefreshToken,
    #[error("the refresh token was already used")]
    RefreshTokenReused,
    #[error("the session was revoked")]
    SessionRevoked,
    #[error("no such user")]
    UserNotFound,
    #[error("the link is invalid, expired or already used")]
    InvalidAccountToken,
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("redis error")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// A validation error on a single field.
    pub fn invalid_field(field: impl Into<String>, why: impl Into<String>) -> Self {
        Self::Validation(vec![(field.into(), why.into())])
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::Validation(fields) => {
                status::invalid_fields("validation_failed", "the request is invalid", &fields)
            }
            Error::UsernameTaken => status::error(
                Code::AlreadyExists,
                "username_taken",
                "the username is taken",
            ),
            Error::EmailTaken => {
                status::error(Code::AlreadyExists, "email_taken", "the email is taken")
            }
            Error::InvalidCredentials => status::error(
                Code::Unauthenticated,
                "invalid_credentials",
                "invalid login or password",
            ),
            Error::TooManyAttempts { retry_after } => status::retry_later(
                "too_many_attempts",
                "too many login attempts, try again later",
                retry_after,
            ),
            Error::InvalidRefreshToken => status::error(
                Code::Unauthenticated,
                "invalid_refresh_token",
                "the refresh token is invalid or expired",
            ),
            Error::RefreshTokenReused => status::error(
                Code::Unauthenticated,
                "refresh_token_reused",
                "the refresh token was already used; the session is revoked",
            ),
            Error::SessionRevoked => status::error(
                Code::Unauthenticated,
                "session_revoked",
                "the session was revoked",
            ),
            Error::UserNotFound => status::error(Code::NotFound, "user_not_found", "no such user"),
            Error::InvalidAccountToken => status::error(
                Code::FailedPrecondition,
                "invalid_link",
                "the link is invalid, expired or already used; ask for a new one",
            ),
            Error::Database(sqlx::Error::PoolTimedOut) | Error::Redis(_) => {
                tracing::error!(error = %err, source = ?std::error::Error::source(&err), "dependency unavailable");
                status::error(
                    Code::Unavailable,
                    "service_unavailable",
                    "the service is temporarily unavailable",
                )
            }
            Error::Database(ref inner) => status::internal(inner),
            Error::Internal(ref inner) => status::internal(inner.as_ref()),
        }
    }
}

/// The name of the unique constraint (index) a database error violated, if any.
pub fn unique_violation(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => db.constraint(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use chat_runtime::status::RemoteError;

    use super::*;

    #[test]
    fn validation_errors_list_every_field() {
        let status = Status::from(Error::Validation(vec![
            ("username".into(), "too short".into()),
            ("email".into(), "not an email".into()),
        ]));
        let remote = RemoteError::from(&status);
        assert_eq!(remote.code, Code::InvalidArgument);
        assert_eq!(remote.reason, "validation_failed");
        assert_eq!(remote.fields.len(), 2);
    }

    #[test]
    fn limits_carry_the_delay() {
        let status = Status::from(Error::TooManyAttempts {
            retry_after: Duration::from_secs(30),
        });
        let remote = RemoteError::from(&status);
        assert_eq!(remote.code, Code::ResourceExhausted);
        assert_eq!(remote.reason, "too_many_attempts");
        assert_eq!(remote.retry_after, Some(Duration::from_secs(30)));
    }

    #[test]
    fn internal_causes_are_not_sent() {
        let status = Status::from(Error::Internal(anyhow::anyhow!("secret detail")));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }
}
