//! Every failure of the files service, and how each one reaches a caller: a gRPC status
//! with a stable snake_case reason (the gateway maps `file_too_large` to HTTP 413 and
//! `range_not_satisfiable` to 416). Internal causes are logged here and never sent.

use std::collections::HashMap;

use chat_runtime::status::{self, ERROR_DOMAIN};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// A field that failed validation and why, as reported in the status' field violations.
pub type FieldViolation = (String, String);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Validation(Vec<FieldViolation>),
    /// The body passed the purpose's size limit; nothing was kept.
    #[error("the upload is larger than {limit} bytes")]
    FileTooLarge { limit: u64 },
    /// An image whose dimensions (or decoding memory) pass the limits; nothing was kept.
    #[error("{0}")]
    ImageTooLarge(String),
    /// Bytes that claim to be an image (by their signature) and do not decode as one.
    #[error("the image cannot be decoded")]
    InvalidImage,
    /// An avatar that is not a PNG, JPEG, GIF or WebP image.
    #[error("an avatar must be a PNG, JPEG, GIF or WebP image")]
    NotAnImage,
    /// The body ended shorter, or ran longer, than the header's `size`.
    #[error("the body is not the {declared} bytes the header declared")]
    SizeMismatch { declared: u64 },
    /// The stream ended before its `end` message: the caller went away mid-upload.
    #[error("the upload ended before its end message")]
    UploadIncomplete,
    /// The uploading client sent nothing for the idle timeout.
    #[error("the upload stalled")]
    UploadStalled,
    /// The uploading client's stream failed (it went away, or sent something undecodable).
    #[error("the upload stream failed: {0}")]
    UploadStream(Status),
    #[error("no such file")]
    FileNotFound,
    #[error("the file has no thumbnail")]
    ThumbnailNotFound,
    /// A byte range outside a blob of `size` bytes.
    #[error("the range is not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    #[error("the file was uploaded by someone else")]
    NotYourUpload,
    #[error("the file is attached to another message")]
    AlreadyAttached,
    #[error("an avatar cannot be attached to a message")]
    AvatarNotAttachable,
    #[error("a message carries at most {max} files")]
    TooManyAttachments { max: usize },
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("object store error")]
    Storage(#[from] object_store::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// A validation error on a single field.
    pub fn invalid_field(field: impl Into<String>, why: impl Into<String>) -> Self {
        Self::Validation(vec![(field.into(), why.into())])
    }

    /// The stable reason a caller reads (and a metric label): bounded, snake_case.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Validation(_) => "validation_failed",
            Error::FileTooLarge { .. } => "file_too_large",
            Error::ImageTooLarge(_) => "image_too_large",
            Error::InvalidImage => "invalid_image",
            Error::NotAnImage => "not_an_image",
            Error::SizeMismatch { .. } => "size_mismatch",
            Error::UploadIncomplete => "upload_incomplete",
            Error::UploadStalled => "upload_stalled",
            Error::UploadStream(_) => "upload_cancelled",
            Error::FileNotFound => "file_not_found",
            Error::ThumbnailNotFound => "thumbnail_not_found",
            Error::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            Error::NotYourUpload => "not_your_upload",
            Error::AlreadyAttached => "already_attached",
            Error::AvatarNotAttachable => "avatar_not_attachable",
            Error::TooManyAttachments { .. } => "too_many_attachments",
            Error::Database(_) | Error::Storage(_) | Error::Internal(_) => "internal",
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Self::Database(err)
    }
}

/// A status with a stable reason and `metadata` in its `ErrorInfo`.
fn error_with(code: Code, reason: &str, message: String, metadata: &[(&str, String)]) -> Status {
    let metadata: HashMap<String, String> = metadata
        .iter()
        .map(|(key, value)| ((*key).to_owned(), value.clone()))
        .collect();
    let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata);
    Status::with_error_details(code, message, details)
}

fn unavailable() -> Status {
    status::error(
        Code::Unavailable,
        "service_unavailable",
        "the service is temporarily unavailable",
    )
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let reason = err.reason();
        let message = err.to_string();
        match err {
            Error::Validation(fields) => {
                status::invalid_fields(reason, "the request is invalid", &fields)
            }
            Error::FileTooLarge { limit } => error_with(
                Code::InvalidArgument,
                reason,
                message,
                &[("limit_bytes", limit.to_string())],
            ),
            Error::ImageTooLarge(_)
            | Error::InvalidImage
            | Error::NotAnImage
            | Error::SizeMismatch { .. }
            | Error::UploadIncomplete => status::error(Code::InvalidArgument, reason, message),
            Error::UploadStalled => status::error(Code::DeadlineExceeded, reason, message),
            // The client ended the call; what it is told hardly matters, but it is its own
            // status, not an internal error.
            Error::UploadStream(status) => status,
            Error::FileNotFound | Error::ThumbnailNotFound => {
                status::error(Code::NotFound, reason, message)
            }
            Error::RangeNotSatisfiable { size } => error_with(
                Code::OutOfRange,
                reason,
                message,
                &[("size", size.to_string())],
            ),
            Error::NotYourUpload => status::error(Code::PermissionDenied, reason, message),
            Error::AlreadyAttached
            | Error::AvatarNotAttachable
            | Error::TooManyAttachments { .. } => {
                status::error(Code::FailedPrecondition, reason, message)
            }
            Error::Database(
                ref inner @ (sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)),
            ) => {
                tracing::error!(error = %inner, "database unavailable");
                unavailable()
            }
            Error::Database(ref inner) => status::internal(inner),
            Error::Storage(ref inner) => {
                // Whatever the store answered (unreachable, refused, timed out), the
                // request cannot be served now; a retry may be.
                tracing::error!(error = %inner, "object store failed");
                unavailable()
            }
            Error::Internal(err) => status::internal(err.as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use chat_runtime::status::RemoteError;
    use tonic_types::StatusExt as _;

    use super::*;

    #[test]
    fn domain_errors_carry_stable_reasons() {
        for (err, code, reason) in [
            (
                Error::FileTooLarge { limit: 5 },
                Code::InvalidArgument,
                "file_too_large",
            ),
            (
                Error::ImageTooLarge("50000x50000".into()),
                Code::InvalidArgument,
                "image_too_large",
            ),
            (Error::InvalidImage, Code::InvalidArgument, "invalid_image"),
            (Error::NotAnImage, Code::InvalidArgument, "not_an_image"),
            (Error::FileNotFound, Code::NotFound, "file_not_found"),
            (
                Error::RangeNotSatisfiable { size: 10 },
                Code::OutOfRange,
                "range_not_satisfiable",
            ),
            (
                Error::NotYourUpload,
                Code::PermissionDenied,
                "not_your_upload",
            ),
            (
                Error::AlreadyAttached,
                Code::FailedPrecondition,
                "already_attached",
            ),
        ] {
            let remote = RemoteError::from(&Status::from(err));
            assert_eq!((remote.code, remote.reason.as_str()), (code, reason));
        }
    }

    #[test]
    fn limits_travel_in_the_error_info() {
        let status = Status::from(Error::FileTooLarge { limit: 5 << 20 });
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.metadata["limit_bytes"], "5242880");
        let status = Status::from(Error::RangeNotSatisfiable { size: 42 });
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.metadata["size"], "42");
    }

    #[test]
    fn internal_causes_are_not_sent() {
        let status = Status::from(Error::Database(sqlx::Error::Protocol(
            "secret detail".into(),
        )));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
        let status = Status::from(Error::Storage(object_store::Error::Generic {
            store: "S3",
            source: "secret detail".into(),
        }));
        assert_eq!(status.code(), Code::Unavailable);
        assert!(!status.message().contains("secret"));
    }
}
