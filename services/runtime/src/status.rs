//! The gRPC error model shared by every service: the google.rpc rich error details
//! (`tonic-types`). A failure carries an `ErrorInfo` whose `reason` is a stable
//! snake_case code, field violations for invalid input, and a retry delay when the
//! caller must wait. The gateway turns these into its JSON errors without guessing.

use std::collections::HashMap;
use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// `ErrorInfo.domain` of every error raised by the chat services.
pub const ERROR_DOMAIN: &str = "chat";

/// A status with a stable `reason` code.
pub fn error(code: Code, reason: &str, message: impl Into<String>) -> Status {
    let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(code, message, details)
}

/// An `INVALID_ARGUMENT` status listing which fields are wrong and why.
pub fn invalid_fields(
    reason: &str,
    message: impl Into<String>,
    fields: &[(String, String)],
) -> Status {
    let mut details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new());
    details.set_bad_request(
        fields
            .iter()
            .map(|(field, why)| FieldViolation::new(field.clone(), why.clone()))
            .collect::<Vec<_>>(),
    );
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// A `RESOURCE_EXHAUSTED` status telling the caller when to try again.
pub fn retry_later(reason: &str, message: impl Into<String>, retry_after: Duration) -> Status {
    let mut details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new());
    details.set_retry_info(Some(retry_after));
    Status::with_error_details(Code::ResourceExhausted, message, details)
}

/// An internal failure: the cause is logged here, the caller gets a generic message.
pub fn internal(err: &(dyn std::error::Error + 'static)) -> Status {
    tracing::error!(error = %err, source = ?err.source(), "internal error");
    error(Code::Internal, "internal", "internal error")
}

/// What a caller reads back out of a failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    pub code: Code,
    /// The stable code (`ErrorInfo.reason`), or a code derived from the gRPC status.
    pub reason: String,
    pub message: String,
    pub fields: Vec<(String, String)>,
    pub retry_after: Option<Duration>,
}

impl From<&Status> for RemoteError {
    fn from(status: &Status) -> Self {
        let details = status.get_error_details();
        let reason = details
            .error_info()
            .map(|info| info.reason.clone())
            .unwrap_or_else(|| fallback_reason(status.code()).to_owned());
        let fields = details
            .bad_request()
            .map(|bad| {
                bad.field_violations
                    .iter()
                    .map(|v| (v.field.clone(), v.description.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let retry_after = details.retry_info().and_then(|info| info.retry_delay);
        // A status the server sent carries no source; one with a source was made here
        // from a failed transport (the connection reset mid-call: the peer died). Whether
        // the call took effect is unknown, as for a timeout: the caller may retry.
        let code = match status.code() {
            Code::Unknown if std::error::Error::source(status).is_some() => Code::Unavailable,
            code => code,
        };
        let reason = if code == status.code() {
            reason
        } else {
            fallback_reason(code).to_owned()
        };
        Self {
            code,
            reason,
            message: status.message().to_owned(),
            fields,
            retry_after,
        }
    }
}

fn fallback_reason(code: Code) -> &'static str {
    match code {
        Code::InvalidArgument | Code::OutOfRange => "invalid_argument",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "conflict",
        Code::PermissionDenied => "forbidden",
        Code::Unauthenticated => "unauthenticated",
        Code::ResourceExhausted => "rate_limited",
        Code::FailedPrecondition | Code::Aborted => "conflict",
        Code::Unavailable | Code::DeadlineExceeded => "service_unavailable",
        _ => "internal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_survive_the_round_trip() {
        let status = invalid_fields(
            "validation_failed",
            "bad input",
            &[("username".into(), "too short".into())],
        );
        let remote = RemoteError::from(&status);
        assert_eq!(remote.code, Code::InvalidArgument);
        assert_eq!(remote.reason, "validation_failed");
        assert_eq!(
            remote.fields,
            vec![("username".to_owned(), "too short".to_owned())]
        );

        let limited = RemoteError::from(&retry_later(
            "too_many_attempts",
            "slow down",
            Duration::from_secs(7),
        ));
        assert_eq!(limited.retry_after, Some(Duration::from_secs(7)));
    }

    #[test]
    fn a_plain_status_gets_a_reason_from_its_code() {
        let remote = RemoteError::from(&Status::not_found("nope"));
        assert_eq!(remote.reason, "not_found");
    }

    #[test]
    fn a_transport_failure_is_unavailable_but_an_unknown_answer_is_not() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let failed = Status::from_error(Box::new(reset));
        assert_eq!(failed.code(), Code::Unknown, "how tonic reports it");
        let remote = RemoteError::from(&failed);
        assert_eq!(
            (remote.code, remote.reason.as_str()),
            (Code::Unavailable, "service_unavailable")
        );

        let answered = RemoteError::from(&Status::unknown("the server said so"));
        assert_eq!(
            (answered.code, answered.reason.as_str()),
            (Code::Unknown, "internal")
        );
    }
}
