//! The one error type of the edge: what a client is told when a request or a frame
//! fails. REST renders it as `{"error": {"code", "message", "fields"?, "retry_after_ms"?}}`
//! with the status its code has (`ErrorCode::http_status`), plus `Retry-After` and
//! `WWW-Authenticate` where they apply; the socket sends it as an `error` frame. Every
//! conversion from what can fail below (services, tokens, the send path) is written once,
//! here. Internal details are logged, never sent.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::response::{IntoResponse, Response};
use chat_proto::v1::RoomKind;
use chat_protocol::server::ErrorFrame;
use chat_protocol::{ErrorBody, ErrorCode, ErrorDetail, FrameError, ServerFrame};
use chat_runtime::status::RemoteError;
use chat_runtime::token::TokenError;
use http::{HeaderValue, StatusCode, header};
use tonic::Code;

use crate::core::message_changes::ChangeError;
use crate::core::messages::MessageError;

/// Counter of `error` frames sent on sockets, by `code` (every code starts at 0).
pub const FRAME_ERRORS_METRIC: &str = "chat_gateway_frame_errors_total";

/// A failed request or frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    pub code: ErrorCode,
    pub message: String,
    /// Which input fields are wrong and why.
    pub fields: Option<BTreeMap<String, String>>,
    /// When to retry (`rate_limited`, `too_many_attempts`).
    pub retry_after: Option<Duration>,
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ClientError {}

impl ClientError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: None,
            retry_after: None,
        }
    }

    /// With `fields` naming what is wrong.
    #[must_use]
    pub fn with_fields<K: Into<String>, V: Into<String>>(
        mut self,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.fields = Some(
            fields
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// With a field named when there is one.
    #[must_use]
    pub fn with_field(self, field: Option<String>) -> Self {
        match field {
            Some(field) => {
                let message = self.message.clone();
                self.with_fields([(field, message)])
            }
            None => self,
        }
    }

    #[must_use]
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// A request without an access token.
    pub fn missing_token() -> Self {
        Self::new(
            ErrorCode::Unauthenticated,
            "this request needs an access token (Authorization: Bearer)",
        )
    }

    /// A room the caller may not see, or an id that cannot be a room's.
    pub fn room_not_found() -> Self {
        Self::new(ErrorCode::RoomNotFound, "no such room")
    }

    /// Well-formed input that breaks a rule the gateway checks itself.
    pub fn validation<K: Into<String>, V: Into<String>>(
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self::new(ErrorCode::ValidationFailed, "the request is invalid").with_fields(fields)
    }

    /// A failure of the gateway itself: logged, and told as `internal`.
    pub fn internal(err: &anyhow::Error) -> Self {
        tracing::error!(error = ?err, "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }

    /// Renames a field a service reported to the name the client used for it
    /// (e.g. auth's `prefix` is the `search` query parameter).
    #[must_use]
    pub fn rename_field(mut self, service_name: &str, client_name: &str) -> Self {
        if let Some(fields) = &mut self.fields
            && let Some(why) = fields.remove(service_name)
        {
            fields.insert(client_name.to_owned(), why);
        }
        self
    }

    /// The socket's words for the same failure: a field at fault is an `invalid_frame`,
    /// and a room one may not see is `not_a_member` (the two are not told apart there).
    #[must_use]
    pub fn in_frame(mut self) -> Self {
        self.code = match self.code {
            ErrorCode::ValidationFailed => ErrorCode::InvalidFrame,
            ErrorCode::RoomNotFound => ErrorCode::NotAMember,
            code => code,
        };
        self
    }

    /// The `error` frame of this error for a socket, counted in
    /// [`FRAME_ERRORS_METRIC`] by code.
    pub fn to_counted_frame(&self, reference: Option<&str>) -> ServerFrame {
        metrics::counter!(FRAME_ERRORS_METRIC, "code" => self.code.as_str()).increment(1);
        self.to_frame(reference)
    }

    /// The `error` frame answering the request `reference`.
    pub fn to_frame(&self, reference: Option<&str>) -> ServerFrame {
        ServerFrame::Error(ErrorFrame {
            code: self.code,
            message: self.message.clone(),
            reference: reference.map(str::to_owned),
            fields: self.fields.clone(),
            retry_after_ms: self.retry_after.map(retry_after_ms),
        })
    }
}

/// Milliseconds, at least one: a client told `0` would retry at once.
fn retry_after_ms(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Whole seconds, rounded up, and at least one.
fn retry_after_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

impl From<TokenError> for ClientError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Invalid => Self::new(ErrorCode::InvalidToken, err.to_string()),
            TokenError::Expired => Self::new(ErrorCode::TokenExpired, err.to_string()),
            TokenError::KeysUnavailable => Self::new(
                ErrorCode::Unavailable,
                "tokens cannot be verified right now; try again shortly",
            ),
        }
    }
}

impl From<FrameError> for ClientError {
    fn from(err: FrameError) -> Self {
        Self {
            code: err.code,
            message: err.message,
            fields: err.fields,
            retry_after: None,
        }
    }
}

impl From<anyhow::Error> for ClientError {
    fn from(err: anyhow::Error) -> Self {
        Self::internal(&err)
    }
}

/// A service refused or failed the call: its reason is the code when clients know it,
/// the gRPC code picks a generic one otherwise.
impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        Self::from(RemoteError::from(&status))
    }
}

impl From<RemoteError> for ClientError {
    fn from(remote: RemoteError) -> Self {
        let generic = match remote.code {
            Code::InvalidArgument | Code::OutOfRange => ErrorCode::ValidationFailed,
            Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => ErrorCode::Conflict,
            Code::NotFound => ErrorCode::NotFound,
            Code::Unauthenticated => ErrorCode::Unauthenticated,
            Code::PermissionDenied => ErrorCode::Forbidden,
            Code::ResourceExhausted => ErrorCode::RateLimited,
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                tracing::warn!(code = ?remote.code, message = %remote.message, "a service is unavailable");
                return Self::new(
                    ErrorCode::Unavailable,
                    "a service is unavailable; try again shortly",
                );
            }
            _ => {
                tracing::error!(
                    code = ?remote.code,
                    reason = %remote.reason,
                    message = %remote.message,
                    "a service failed"
                );
                return Self::new(ErrorCode::Internal, "internal error");
            }
        };
        let fields: Option<BTreeMap<String, String>> =
            (!remote.fields.is_empty()).then(|| remote.fields.into_iter().collect());
        let code = match remote.reason.parse::<ErrorCode>() {
            _ if fields.is_some() && generic == ErrorCode::ValidationFailed => {
                ErrorCode::ValidationFailed
            }
            Ok(code) if code.http_status() != 503 && code.http_status() != 500 => code,
            _ => generic,
        };
        Self {
            code,
            message: remote.message,
            fields,
            retry_after: remote
                .retry_after
                .filter(|_| matches!(code, ErrorCode::RateLimited | ErrorCode::TooManyAttempts)),
        }
    }
}

/// A file operation's refusal: the files service's own codes pass through.
impl From<crate::core::files::FileError> for ClientError {
    fn from(error: crate::core::files::FileError) -> Self {
        use crate::core::files::FileError;
        match error {
            FileError::NotFound => Self::new(ErrorCode::FileNotFound, "no such file"),
            FileError::BodyBroken(why) => Self::new(
                ErrorCode::ValidationFailed,
                format!("the upload broke off: {why}"),
            ),
            FileError::Remote(status) => Self::from(status),
        }
    }
}

/// The send path's refusals, in REST's words (see [`ClientError::in_frame`] for the
/// socket's).
impl From<MessageError> for ClientError {
    fn from(error: MessageError) -> Self {
        let message = error.to_string();
        match error {
            MessageError::Content { code, .. } => Self::new(code, message),
            MessageError::InvalidField { field, message } => {
                Self::new(ErrorCode::ValidationFailed, format!("{field} {message}"))
                    .with_fields([(field, message)])
            }
            MessageError::NotAMember {
                kind: RoomKind::Public,
            } => Self::new(ErrorCode::NotAMember, message),
            MessageError::NotAMember { .. } => Self::room_not_found(),
            MessageError::RateLimited { retry_after } => {
                Self::new(ErrorCode::RateLimited, message).with_retry_after(retry_after)
            }
            MessageError::Unavailable => Self::new(ErrorCode::Unavailable, message),
        }
    }
}

/// A refused change to a message, in REST's words.
impl From<ChangeError> for ClientError {
    fn from(error: ChangeError) -> Self {
        match error {
            ChangeError::Content(error) => Self::from(error),
            ChangeError::InvalidEmoji(why) => {
                Self::new(ErrorCode::ValidationFailed, format!("emoji {why}"))
                    .with_fields([("emoji", why)])
            }
            error => Self::new(error.code(), error.to_string()),
        }
    }
}

impl IntoResponse for ClientError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after;
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                fields: self.fields,
                retry_after_ms: retry_after.map(retry_after_ms),
            },
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(wait) = retry_after {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_seconds(wait)),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use chat_runtime::status;
    use serde_json::{Value, json};

    use super::*;

    async fn respond(error: ClientError) -> (StatusCode, http::HeaderMap, Value) {
        let response = error.into_response();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn field_violations_become_validation_failed_with_fields() {
        let remote = status::invalid_fields(
            "validation_failed",
            "some fields are invalid",
            &[
                ("username".into(), "must be 3 to 32 characters".into()),
                ("email".into(), "is not an email address".into()),
            ],
        );
        let (code, _, body) = respond(remote.into()).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body,
            json!({"error": {
                "code": "validation_failed",
                "message": "some fields are invalid",
                "fields": {
                    "username": "must be 3 to 32 characters",
                    "email": "is not an email address",
                },
            }})
        );
    }

    #[tokio::test]
    async fn the_reason_is_the_code_and_the_code_picks_the_status() {
        let cases = [
            (Code::AlreadyExists, "username_taken", StatusCode::CONFLICT),
            (Code::NotFound, "user_not_found", StatusCode::NOT_FOUND),
            (
                Code::PermissionDenied,
                "not_a_member",
                StatusCode::FORBIDDEN,
            ),
            (
                Code::FailedPrecondition,
                "direct_room",
                StatusCode::CONFLICT,
            ),
            (
                Code::Unauthenticated,
                "invalid_credentials",
                StatusCode::UNAUTHORIZED,
            ),
        ];
        for (grpc, reason, http) in cases {
            let (code, headers, body) =
                respond(status::error(grpc, reason, "explained").into()).await;
            assert_eq!(code, http, "{grpc:?}");
            assert_eq!(body["error"]["code"], reason);
            assert_eq!(body["error"]["message"], "explained");
            assert!(body["error"].get("fields").is_none());
            assert_eq!(
                headers.contains_key(header::WWW_AUTHENTICATE),
                http == StatusCode::UNAUTHORIZED
            );
        }
        // A reason clients have no code for gets the gRPC code's generic one.
        let (code, _, body) =
            respond(status::error(Code::FailedPrecondition, "made_up", "x").into()).await;
        assert_eq!(code, StatusCode::CONFLICT);
        assert_eq!(body["error"]["code"], "conflict");
    }

    #[tokio::test]
    async fn rate_limits_say_when_to_retry() {
        let limited = status::retry_later(
            "too_many_attempts",
            "slow down",
            Duration::from_millis(2300),
        );
        let (code, headers, body) = respond(limited.into()).await;
        assert_eq!(code, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers[header::RETRY_AFTER], "3");
        assert_eq!(body["error"]["code"], "too_many_attempts");
        assert_eq!(body["error"]["retry_after_ms"], 2300);

        assert_eq!(retry_after_seconds(Duration::from_secs(7)), 7);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
    }

    #[tokio::test]
    async fn an_unreachable_service_is_503_without_details() {
        let (code, _, body) =
            respond(tonic::Status::unavailable("tcp connect error 10.0.0.1:50051").into()).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "unavailable");
        assert!(!body.to_string().contains("10.0.0.1"));
    }

    #[tokio::test]
    async fn internal_failures_hide_their_details() {
        for error in [
            ClientError::from(status::error(
                Code::Internal,
                "internal",
                "db exploded at row 7",
            )),
            ClientError::from(tonic::Status::unknown("panic in handler")),
            ClientError::from(tonic::Status::data_loss("oops")),
            ClientError::from(anyhow::anyhow!("secret detail")),
        ] {
            let (code, _, body) = respond(error).await;
            assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(
                body,
                json!({"error": {"code": "internal", "message": "internal error"}})
            );
        }
    }

    #[tokio::test]
    async fn token_problems_are_401_with_a_bearer_challenge() {
        for (error, expected) in [
            (ClientError::missing_token(), "unauthenticated"),
            (TokenError::Invalid.into(), "invalid_token"),
            (TokenError::Expired.into(), "token_expired"),
        ] {
            let (code, headers, body) = respond(error).await;
            assert_eq!(code, StatusCode::UNAUTHORIZED);
            assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
            assert_eq!(body["error"]["code"], expected);
        }
        let (code, _, body) = respond(TokenError::KeysUnavailable.into()).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "unavailable");
    }

    #[test]
    fn the_socket_says_not_a_member_and_invalid_frame() {
        let frame = ClientError::from(MessageError::NotAMember {
            kind: RoomKind::Private,
        })
        .in_frame()
        .to_frame(Some("c1"));
        let value = serde_json::to_value(&frame).unwrap();
        assert_eq!(value["code"], "not_a_member");
        assert_eq!(value["ref"], "c1");
        let limited = ClientError::from(MessageError::RateLimited {
            retry_after: Duration::from_millis(40),
        })
        .to_frame(None);
        assert_eq!(
            serde_json::to_value(&limited).unwrap()["retry_after_ms"],
            40
        );
    }
}
