//! Every failure of the history service, and how each one reaches a caller: a gRPC status
//! with a stable snake_case reason. Internal causes are logged here and never sent.

use chat_runtime::status;
use tonic::Status;

/// A field that failed validation and why, as reported in the status' field violations.
pub type FieldViolation = (String, String);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Validation(Vec<FieldViolation>),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// A validation error on a single field.
    pub fn invalid_field(field: impl Into<String>, why: impl Into<String>) -> Self {
        Self::Validation(vec![(field.into(), why.into())])
    }

    pub fn from_violation(violation: FieldViolation) -> Self {
        Self::Validation(vec![violation])
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::Validation(fields) => {
                status::invalid_fields("validation_failed", "the request is invalid", &fields)
            }
            Error::Database(err) => status::internal(&err),
            Error::Internal(err) => status::internal(err.as_ref()),
        }
    }
}
