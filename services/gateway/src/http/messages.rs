//! Messages over REST: sending one (the same path, promises and ack as the WebSocket
//! `send` frame) and paging a room's history by position.

use std::str::FromStr;

use axum::extract::State;
use chat_proto::v1::RoomKind;
use chat_runtime::status::RemoteError;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use tonic::Code;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::extract::{AuthenticatedUser, Json, Path, Query};
use crate::messages::{MessageError, SendRequest};
use crate::realtime::Realtime;
use crate::state::AppState;
use crate::ws::frames::{Ack, MessageView, PositionCursor};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_message))
        .routes(routes!(list_messages))
}

/// A message to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    pub room_id: Uuid,
    /// 1 to 4,000 characters (configurable), not only whitespace.
    pub content: String,
    /// Chosen by the client for each message: 1 to 64 of `A-Z a-z 0-9 _ -`. A retry
    /// with the same id returns the original ack and stores nothing new.
    pub client_msg_id: String,
    #[serde(default)]
    pub reply_to: Option<Uuid>,
}

/// Sends a message to a room the caller belongs to. Answers only once the message is
/// durable; without an answer, retry with the same `client_msg_id`.
#[utoipa::path(
    post,
    path = "/api/messages",
    tag = "messages",
    request_body = SendMessage,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = Ack),
        (status = 200, description = "A retry of a message already stored (`duplicate: true`)", body = Ack),
        (status = 403, description = "`not_a_member` of this public room", body = ErrorBody),
        (status = 404, description = "`room_not_found` (or a private room the caller is not in)", body = ErrorBody),
        (status = 422, description = "`content_too_long`, `empty_content` or `validation_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
        (status = 503, description = "`unavailable`: nothing acknowledged; retry with the same id", body = ErrorBody),
    )
)]
async fn send_message(
    State(realtime): State<Realtime>,
    user: AuthenticatedUser,
    Json(body): Json<SendMessage>,
) -> Result<(StatusCode, Json<Ack>), ApiError> {
    let user_id = caller(&user)?;
    let messages = realtime.messages();
    messages.admit_rest(user_id).map_err(message_error)?;
    let ack = messages
        .send(
            user_id,
            SendRequest {
                room: body.room_id,
                client_msg_id: body.client_msg_id,
                content: body.content,
                reply_to: body.reply_to,
            },
        )
        .await
        .map_err(message_error)?;
    let status = if ack.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(ack)))
}

/// Bounds of a history page.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Messages strictly before this position: `<epoch>:<position>`, or a bare position
    /// in the room's current epoch.
    pub before: Option<String>,
    /// Messages strictly after this position (same forms as `before`).
    pub after: Option<String>,
    /// 1 to 100, default 50.
    pub limit: Option<u32>,
}

/// A page of a room's messages, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MessagesPage {
    pub messages: Vec<MessageView>,
    /// Older messages exist before the first one.
    pub has_older: bool,
    /// Newer messages exist after the last one.
    pub has_newer: bool,
}

/// A page of a room's messages for one of its members. With neither bound, the newest.
#[utoipa::path(
    get,
    path = "/api/rooms/{id}/messages",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The room"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = MessagesPage),
        (status = 403, description = "`not_a_member` of this public room", body = ErrorBody),
        (status = 404, description = "`room_not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_query` or `validation_failed`", body = ErrorBody),
    )
)]
async fn list_messages(
    State(realtime): State<Realtime>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<MessagesPage>, ApiError> {
    let user_id = caller(&user)?;
    let room = Uuid::parse_str(&id).map_err(|_| room_not_found())?;
    let before = cursor(query.before.as_deref(), "before")?;
    let after = cursor(query.after.as_deref(), "after")?;
    let page = realtime
        .messages()
        .history(user_id, room, before, after, query.limit)
        .await
        .map_err(message_error)?;
    Ok(Json(MessagesPage {
        messages: page.messages,
        has_older: page.has_older,
        has_newer: page.has_newer,
    }))
}

fn caller(user: &AuthenticatedUser) -> Result<Uuid, ApiError> {
    user.user_id
        .parse()
        .map_err(|_| ApiError::Token(chat_runtime::token::TokenError::Invalid))
}

fn cursor(value: Option<&str>, field: &str) -> Result<Option<PositionCursor>, ApiError> {
    value
        .map(|value| {
            PositionCursor::from_str(value).map_err(|why| ApiError::InvalidQuery {
                message: why.to_owned(),
                field: Some(field.to_owned()),
            })
        })
        .transpose()
}

fn room_not_found() -> ApiError {
    ApiError::NotFound {
        code: "room_not_found",
        message: "no such room".to_owned(),
    }
}

fn remote(code: Code, reason: &str, message: String) -> ApiError {
    ApiError::Remote(RemoteError {
        code,
        reason: reason.to_owned(),
        message,
        fields: Vec::new(),
        retry_after: None,
    })
}

/// The REST face of a refused send or read; the same codes as the WebSocket's errors.
fn message_error(error: MessageError) -> ApiError {
    let message = error.to_string();
    match error {
        MessageError::Content { code, .. } => remote(Code::InvalidArgument, code, message),
        MessageError::InvalidField { field, message } => ApiError::Validation {
            message: format!("{field} {message}"),
            fields: vec![(field.to_owned(), message)],
        },
        MessageError::NotAMember {
            kind: RoomKind::Public,
        } => remote(Code::PermissionDenied, "not_a_member", message),
        MessageError::NotAMember { .. } => room_not_found(),
        MessageError::RateLimited { retry_after } => ApiError::Remote(RemoteError {
            code: Code::ResourceExhausted,
            reason: "rate_limited".to_owned(),
            message,
            fields: Vec::new(),
            retry_after: Some(retry_after),
        }),
        MessageError::Unavailable => remote(Code::Unavailable, "unavailable", message),
    }
}
