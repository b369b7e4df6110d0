//! Every failure of the rooms service, and how each one reaches a caller: a gRPC status
//! with a stable snake_case reason. Internal causes are logged here and never sent.

use chat_runtime::status;
use tonic::{Code, Status};

/// A field that failed validation and why, as reported in the status' field violations.
pub type FieldViolation = (String, String);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Validation(Vec<FieldViolation>),
    /// The room does not exist, or the caller may not know that it does (a private or
    /// direct room of which the caller is not a member).
    #[error("no such room")]
    RoomNotFound,
    /// The user named in the request is not a member of the room.
    #[error("no such member")]
    MemberNotFound,
    /// The caller may see the room but lacks the role for this action.
    #[error("not allowed")]
    Forbidden,
    /// The caller is banned from the room they try to join.
    #[error("banned from the room")]
    Banned,
    /// The user to invite is banned from the room.
    #[error("the user is banned from the room")]
    UserBanned,
    /// Direct rooms have no roles, invitations, moderation, edits or deletion.
    #[error("not possible in a direct room")]
    DirectRoom,
    /// The owner must hand ownership to another member first.
    #[error("the owner must transfer ownership first")]
    OwnerMustTransfer,
    /// A concurrent change won; trying again sees its result.
    #[error("conflicting concurrent change")]
    Conflict,
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl Error {
    /// A validation error on a single field.
    pub fn invalid_field(field: impl Into<String>, why: impl Into<String>) -> Self {
        Self::Validation(vec![(field.into(), why.into())])
    }
}

impl From<sqlx::Error> for Error {
    /// Unique violations that locking should have prevented still surface as a domain
    /// conflict rather than an internal error.
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                tracing::warn!(constraint = ?db.constraint(), "unique violation");
                Self::Conflict
            }
            _ => Self::Database(err),
        }
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::Validation(fields) => {
                status::invalid_fields("validation_failed", "the request is invalid", &fields)
            }
            Error::RoomNotFound => status::error(Code::NotFound, "room_not_found", "no such room"),
            Error::MemberNotFound => status::error(
                Code::NotFound,
                "member_not_found",
                "the user is not a member of the room",
            ),
            Error::Forbidden => status::error(
                Code::PermissionDenied,
                "forbidden",
                "your role in this room does not allow this",
            ),
            Error::Banned => status::error(
                Code::PermissionDenied,
                "banned",
                "you are banned from this room",
            ),
            Error::UserBanned => status::error(
                Code::PermissionDenied,
                "user_banned",
                "the user is banned from this room",
            ),
            Error::DirectRoom => status::error(
                Code::FailedPrecondition,
                "direct_room",
                "not possible in a direct room",
            ),
            Error::OwnerMustTransfer => status::error(
                Code::FailedPrecondition,
                "owner_must_transfer",
                "the owner must make another member owner first",
            ),
            Error::Conflict => status::error(
                Code::Aborted,
                "conflict",
                "a concurrent change interfered; try again",
            ),
            Error::Database(
                ref inner @ (sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)),
            ) => {
                tracing::error!(error = %inner, "database unavailable");
                status::error(
                    Code::Unavailable,
                    "service_unavailable",
                    "the service is temporarily unavailable",
                )
            }
            Error::Database(ref inner) => status::internal(inner),
        }
    }
}

#[cfg(test)]
mod tests {
    use chat_runtime::status::RemoteError;

    use super::*;

    #[test]
    fn validation_errors_list_every_field() {
        let status = Status::from(Error::Validation(vec![
            ("name".into(), "must not be empty".into()),
            ("kind".into(), "must be public or private".into()),
        ]));
        let remote = RemoteError::from(&status);
        assert_eq!(remote.code, Code::InvalidArgument);
        assert_eq!(remote.reason, "validation_failed");
        assert_eq!(remote.fields.len(), 2);
    }

    #[test]
    fn domain_errors_carry_stable_reasons() {
        for (err, code, reason) in [
            (Error::RoomNotFound, Code::NotFound, "room_not_found"),
            (Error::Forbidden, Code::PermissionDenied, "forbidden"),
            (Error::Banned, Code::PermissionDenied, "banned"),
            (Error::UserBanned, Code::PermissionDenied, "user_banned"),
            (Error::DirectRoom, Code::FailedPrecondition, "direct_room"),
        ] {
            let remote = RemoteError::from(&Status::from(err));
            assert_eq!((remote.code, remote.reason.as_str()), (code, reason));
        }
    }

    #[test]
    fn internal_causes_are_not_sent() {
        let status = Status::from(Error::Database(sqlx::Error::Protocol(
            "secret detail".into(),
        )));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }
}
