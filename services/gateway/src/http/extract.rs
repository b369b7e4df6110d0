//! Extractors whose every rejection is an [`ClientError`], so bad input always gets the JSON
//! error shape and a stable code, never axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client_error::ClientError;

/// A JSON request body (or response). Rejections:
/// wrong or missing `Content-Type` → 415 `unsupported_media_type`; body over the limit
/// (`DefaultBodyLimit`) → 413 `payload_too_large`; not JSON → 400 `malformed_json`;
/// JSON of the wrong shape (types, missing or unknown fields) → 422 `invalid_body`,
/// naming the field when it can be told.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ClientError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ClientError::new(
                chat_protocol::ErrorCode::UnsupportedMediaType,
                "the request body must be JSON (Content-Type: application/json)",
            ));
        }
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection {
                    BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                        ClientError::new(
                            chat_protocol::ErrorCode::PayloadTooLarge,
                            "the request body is larger than this server accepts",
                        )
                    }
                    other => ClientError::new(
                        chat_protocol::ErrorCode::MalformedJson,
                        format!("the request body is not valid JSON: {}", other.body_text()),
                    ),
                })?;
        decode(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `application/json`, or any `application/*+json`, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

/// Parses a JSON document into `T`, telling syntax errors from shape errors.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ClientError> {
    // Syntax first: a broken document is 400 even when serde would trip over a wrong type
    // before reaching the break.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|err| {
        ClientError::new(
            chat_protocol::ErrorCode::MalformedJson,
            format!("the request body is not valid JSON: {err}"),
        )
    })?;
    // No text takes a NUL (the databases cannot store one): refused before any shape.
    if let Some(path) = chat_protocol::input::nul_in(bytes) {
        return Err(nul_refused(&path));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = chat_protocol::input::without_position(&inner.to_string());
                let field = chat_protocol::input::field_of(&path, &message);
                ClientError::new(chat_protocol::ErrorCode::InvalidBody, message).with_field(field)
            }
            _ => ClientError::new(
                chat_protocol::ErrorCode::MalformedJson,
                format!("the request body is not valid JSON: {inner}"),
            ),
        }
    })?;
    deserializer.end().map_err(|err| {
        ClientError::new(
            chat_protocol::ErrorCode::MalformedJson,
            format!("the request body is not valid JSON: {err}"),
        )
    })?;
    Ok(value)
}

/// 422 `validation_failed` for a NUL character in the input at `path` (`"."`: the input
/// itself).
fn nul_refused(path: &str) -> ClientError {
    let message = chat_protocol::input::NUL_MESSAGE;
    match chat_protocol::input::field_of(path, message) {
        Some(field) => ClientError::new(
            chat_protocol::ErrorCode::ValidationFailed,
            format!("`{field}` {message}"),
        )
        .with_field(Some(field)),
        None => ClientError::new(
            chat_protocol::ErrorCode::ValidationFailed,
            format!("the input {message}"),
        ),
    }
}

/// The query parameter of `query` (a raw query string) holding a NUL, if one does.
fn nul_in_query(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| percent_encoding::percent_decode_str(text).any(|byte| byte == 0);
        (decode(name) || decode(value)).then(|| {
            percent_encoding::percent_decode_str(name)
                .decode_utf8_lossy()
                .replace('\0', "")
        })
    })
}

/// Path parameters. A segment that does not decode into `T` (bad percent-encoding, not a
/// number...) names nothing: 404 `not_found`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ClientError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(err)) => Err(ClientError::new(
                chat_protocol::ErrorCode::NotFound,
                err.body_text(),
            )),
            Err(other) => Err(ClientError::from(anyhow::anyhow!(
                "path parameters: {}",
                other.body_text()
            ))),
        }
    }
}

/// A query string. Rejection: 422 `invalid_query`, naming the parameter when it can.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ClientError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(name) = parts.uri.query().and_then(nul_in_query) {
            return Err(nul_refused(&name));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(query_error)
    }
}

fn query_error(rejection: QueryRejection) -> ClientError {
    let text = rejection.body_text();
    // "Failed to deserialize query string: <path>: <why>" or "...: <why>".
    let detail = text
        .split_once(": ")
        .map(|(_, detail)| detail)
        .unwrap_or(&text);
    let (field, message) = match detail.split_once(": ") {
        Some((path, why)) if !path.contains(' ') => {
            (chat_protocol::input::field_of(path, why), why.to_owned())
        }
        _ => (
            chat_protocol::input::field_of(".", detail),
            detail.to_owned(),
        ),
    };
    ClientError::new(chat_protocol::ErrorCode::InvalidQuery, message).with_field(field)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::access::bearer_token;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        username: String,
        profile: Option<Profile>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Profile {
        bio: String,
    }

    fn body_error(json: &str) -> (String, Option<String>) {
        match decode::<Body>(json.as_bytes()).unwrap_err() {
            error if error.code == chat_protocol::ErrorCode::InvalidBody => (
                error.message,
                error.fields.and_then(|fields| fields.into_keys().next()),
            ),
            other => panic!("expected invalid_body, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        for text in [
            "",
            "{",
            "{\"username\": }",
            "{\"username\": 5",
            "nonsense",
            "{\"username\":\"a\"} trailing",
        ] {
            assert!(
                matches!(
                    decode::<Body>(text.as_bytes()),
                    Err(ClientError {
                        code: chat_protocol::ErrorCode::MalformedJson,
                        ..
                    })
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn shape_errors_name_the_field() {
        assert_eq!(
            body_error(r#"{"username": 5}"#),
            (
                "invalid type: integer `5`, expected a string".to_owned(),
                Some("username".to_owned())
            )
        );
        assert_eq!(body_error("{}").1.as_deref(), Some("username"));
        assert!(body_error("{}").0.starts_with("missing field `username`"));
        assert_eq!(
            body_error(r#"{"username": "a", "admin": true}"#)
                .1
                .as_deref(),
            Some("admin")
        );
        assert_eq!(
            body_error(r#"{"username": "a", "profile": {}}"#)
                .1
                .as_deref(),
            Some("profile.bio")
        );
        assert_eq!(
            body_error(r#"{"username": "a", "profile": {"bio": 1}}"#)
                .1
                .as_deref(),
            Some("profile.bio")
        );
        assert_eq!(body_error("5").1, None);
        assert_eq!(body_error("[5]").1.as_deref(), Some("[0]"));
    }

    #[test]
    fn json_content_types_are_recognised() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("application/json; charset=utf-8"));
        assert!(with("Application/JSON"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("json"));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            bearer_token(&headers).map(str::to_owned)
        };
        assert_eq!(with("Bearer abc.def.ghi").as_deref(), Some("abc.def.ghi"));
        assert_eq!(with("bearer  abc").as_deref(), Some("abc"));
        assert_eq!(with("Basic dXNlcjpwYXNz"), None);
        assert_eq!(with("Bearer "), None);
        assert_eq!(with("Bearer"), None);
    }
}
