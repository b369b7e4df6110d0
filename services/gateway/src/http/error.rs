//! Every failure a REST client can see, and its one JSON shape:
//! `{"error": {"code": "stable_snake_case", "message": "...", "fields": {"name": "why"}}}`.
//!
//! Codes are a contract: clients branch on them, so they never change meaning. Errors
//! from the services arrive as [`RemoteError`]s whose `reason` becomes the code; internal
//! details are logged here and never sent.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::response::{IntoResponse, Response};
use chat_runtime::status::RemoteError;
use chat_runtime::token::TokenError;
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use tonic::Code;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code to branch on, e.g. `username_taken`, `token_expired`.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// Human-readable explanation; may change between versions.
    pub message: String,
    /// Which input fields are wrong and why (validation and body errors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No `Authorization: Bearer` token on a request that needs one.
    #[error("this request needs an access token (Authorization: Bearer)")]
    MissingToken,
    /// The presented access token was refused.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The body is not JSON at all.
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// The body is JSON but not the expected shape (types, missing or unknown fields).
    #[error("{message}")]
    InvalidBody {
        message: String,
        field: Option<String>,
    },
    /// The query string is not the expected shape.
    #[error("{message}")]
    InvalidQuery {
        message: String,
        field: Option<String>,
    },
    /// Well-formed input that breaks a rule the gateway checks itself.
    #[error("{message}")]
    Validation {
        message: String,
        fields: Vec<(String, String)>,
    },
    #[error("the request body is larger than this server accepts")]
    PayloadTooLarge,
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// A resource the gateway itself knows is absent (e.g. an id that cannot exist).
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error("no such route")]
    RouteNotFound,
    #[error("this route does not accept this method")]
    MethodNotAllowed,
    /// A service behind the gateway refused or failed the call.
    #[error("{}", .0.message)]
    Remote(RemoteError),
    /// A bug or an unexpected failure of the gateway itself.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        Self::Remote(RemoteError::from(&status))
    }
}

impl ApiError {
    /// Renames a field a service reported to the name the client used for it
    /// (e.g. auth's `prefix` is the `search` query parameter).
    pub fn rename_field(mut self, service_name: &str, client_name: &str) -> Self {
        if let Self::Remote(remote) = &mut self {
            for (field, _) in &mut remote.fields {
                if field == service_name {
                    client_name.clone_into(field);
                }
            }
        }
        self
    }
}

/// Everything a response needs, decided in one place.
struct Rendered {
    status: StatusCode,
    code: Cow<'static, str>,
    message: String,
    fields: Option<BTreeMap<String, String>>,
    retry_after: Option<Duration>,
}

impl ApiError {
    fn render(self) -> Rendered {
        let plain = |status: StatusCode, code: &'static str, message: String| Rendered {
            status,
            code: Cow::Borrowed(code),
            message,
            fields: None,
            retry_after: None,
        };
        let message = self.to_string();
        match self {
            Self::MissingToken => plain(StatusCode::UNAUTHORIZED, "unauthenticated", message),
            Self::Token(TokenError::Invalid) => {
                plain(StatusCode::UNAUTHORIZED, "invalid_token", message)
            }
            Self::Token(TokenError::Expired) => {
                plain(StatusCode::UNAUTHORIZED, "token_expired", message)
            }
            Self::Token(TokenError::KeysUnavailable) => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "tokens cannot be verified right now; try again shortly".to_owned(),
            ),
            Self::MalformedJson(_) => plain(StatusCode::BAD_REQUEST, "malformed_json", message),
            Self::InvalidBody { field, .. } => Rendered {
                fields: field.map(|field| BTreeMap::from([(field, message.clone())])),
                ..plain(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message)
            },
            Self::InvalidQuery { field, .. } => Rendered {
                fields: field.map(|field| BTreeMap::from([(field, message.clone())])),
                ..plain(StatusCode::UNPROCESSABLE_ENTITY, "invalid_query", message)
            },
            Self::Validation { fields, .. } => Rendered {
                fields: Some(fields.into_iter().collect()),
                ..plain(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    message,
                )
            },
            Self::PayloadTooLarge => {
                plain(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
            }
            Self::UnsupportedMediaType => plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                message,
            ),
            Self::NotFound { code, .. } => plain(StatusCode::NOT_FOUND, code, message),
            Self::RouteNotFound => plain(StatusCode::NOT_FOUND, "not_found", message),
            Self::MethodNotAllowed => plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                message,
            ),
            Self::Remote(remote) => render_remote(remote),
            Self::Internal(err) => {
                tracing::error!(error = ?err, "internal error");
                internal()
            }
        }
    }
}

fn internal() -> Rendered {
    Rendered {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: Cow::Borrowed("internal"),
        message: "internal error".to_owned(),
        fields: None,
        retry_after: None,
    }
}

/// Maps a service's error onto HTTP: the reason is the code, the gRPC code picks the status.
fn render_remote(remote: RemoteError) -> Rendered {
    let status = match remote.code {
        Code::InvalidArgument | Code::OutOfRange => StatusCode::UNPROCESSABLE_ENTITY,
        Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => StatusCode::CONFLICT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            tracing::warn!(code = ?remote.code, message = %remote.message, "a service is unavailable");
            return Rendered {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: Cow::Borrowed("unavailable"),
                message: "a service is unavailable; try again shortly".to_owned(),
                fields: None,
                retry_after: None,
            };
        }
        _ => {
            tracing::error!(
                code = ?remote.code,
                reason = %remote.reason,
                message = %remote.message,
                "a service failed"
            );
            return internal();
        }
    };
    let fields = (!remote.fields.is_empty()).then(|| remote.fields.into_iter().collect());
    let code = if fields.is_some() && status == StatusCode::UNPROCESSABLE_ENTITY {
        Cow::Borrowed("validation_failed")
    } else {
        Cow::Owned(remote.reason)
    };
    Rendered {
        status,
        code,
        message: remote.message,
        fields,
        retry_after: remote
            .retry_after
            .filter(|_| status == StatusCode::TOO_MANY_REQUESTS),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let rendered = self.render();
        let body = ErrorBody {
            error: ErrorDetail {
                code: rendered.code.into_owned(),
                message: rendered.message,
                fields: rendered.fields,
            },
        };
        let mut response = (rendered.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if rendered.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(wait) = rendered.retry_after {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_seconds(wait)),
            );
        }
        response
    }
}

/// Whole seconds, rounded up, and at least one: a client told `0` would retry at once.
fn retry_after_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

#[cfg(test)]
mod tests {
    use chat_runtime::status;
    use serde_json::{Value, json};

    use super::*;

    async fn respond(error: ApiError) -> (StatusCode, http::HeaderMap, Value) {
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
    async fn the_reason_is_the_code_and_the_grpc_code_picks_the_status() {
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
                "already_member",
                StatusCode::CONFLICT,
            ),
            (
                Code::InvalidArgument,
                "bad_cursor",
                StatusCode::UNPROCESSABLE_ENTITY,
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
    }

    #[tokio::test]
    async fn rate_limits_say_when_to_retry_in_whole_seconds_rounded_up() {
        let limited = status::retry_later(
            "too_many_attempts",
            "slow down",
            Duration::from_millis(2300),
        );
        let (code, headers, body) = respond(limited.into()).await;
        assert_eq!(code, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers[header::RETRY_AFTER], "3");
        assert_eq!(body["error"]["code"], "too_many_attempts");

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
            ApiError::from(status::error(
                Code::Internal,
                "internal",
                "db exploded at row 7",
            )),
            ApiError::from(tonic::Status::unknown("panic in handler")),
            ApiError::from(tonic::Status::data_loss("oops")),
            ApiError::Internal(anyhow::anyhow!("secret detail")),
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
            (ApiError::MissingToken, "unauthenticated"),
            (ApiError::Token(TokenError::Invalid), "invalid_token"),
            (ApiError::Token(TokenError::Expired), "token_expired"),
        ] {
            let (code, headers, body) = respond(error).await;
            assert_eq!(code, StatusCode::UNAUTHORIZED);
            assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
            assert_eq!(body["error"]["code"], expected);
        }
        let (code, _, body) = respond(ApiError::Token(TokenError::KeysUnavailable)).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "unavailable");
    }

    #[tokio::test]
    async fn body_errors_name_the_field_when_known() {
        let (code, _, body) = respond(ApiError::InvalidBody {
            message: "invalid type: integer `5`, expected a string".into(),
            field: Some("username".into()),
        })
        .await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["code"], "invalid_body");
        assert_eq!(
            body["error"]["fields"]["username"],
            "invalid type: integer `5`, expected a string"
        );
    }
}
