//! Messages over REST: sending one (the same path, promises and ack as the WebSocket
//! `send` frame) and paging a room's history by position.

use axum::extract::State;
use chat_protocol::ids::parse_uuid;
use chat_protocol::message::{MessagesPage, SendMessage};
use chat_protocol::{Ack, ErrorBody, ErrorCode, HistoryCursor};
use http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path, Query};
use crate::access::AuthenticatedUser;
use crate::client_error::ClientError;
use crate::core::messages::{PageScope, SendRequest};
use crate::core::realtime::Realtime;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_message))
        .routes(routes!(list_messages))
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
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 403, description = "`not_a_member` of this public room", body = ErrorBody),
        (status = 404, description = "`room_not_found` (or a private room the caller is not in)", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_body`, `content_too_long`, `empty_content` or `validation_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: `Retry-After` and `retry_after_ms` say when to retry", body = ErrorBody),
        (status = 503, description = "`unavailable`: nothing acknowledged; retry with the same id", body = ErrorBody),
    )
)]
async fn send_message(
    State(realtime): State<Realtime>,
    user: AuthenticatedUser,
    Json(body): Json<SendMessage>,
) -> Result<(StatusCode, Json<Ack>), ClientError> {
    let user_id = user.id()?;
    let messages = realtime.messages();
    messages.admit_user(user_id).await?;
    let ack = messages
        .send(
            user_id.into(),
            SendRequest {
                room: body.room_id.into(),
                client_msg_id: body.client_msg_id,
                content: body.content,
                reply_to: body.reply_to.map(Into::into),
                thread_root: body.thread_root.map(Into::into),
                attachments: body.attachments.into_iter().map(Into::into).collect(),
            },
        )
        .await?;
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
    /// Messages strictly after this position (same forms as `before`); not with `before`.
    pub after: Option<String>,
    /// 1 to 100, default 50.
    pub limit: Option<u32>,
    /// `false` leaves thread replies out (a room's main timeline); default `true`.
    pub threads: Option<bool>,
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
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 403, description = "`not_a_member` of this public room", body = ErrorBody),
        (status = 404, description = "`room_not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_query` or `validation_failed`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn list_messages(
    State(realtime): State<Realtime>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<MessagesPage>, ClientError> {
    let user_id = user.id()?;
    let room = parse_uuid(&id).map_err(|_| ClientError::room_not_found())?;
    let before = cursor(query.before.as_deref(), "before")?;
    let after = cursor(query.after.as_deref(), "after")?;
    let page = realtime
        .messages()
        .history(
            user_id.into(),
            room,
            PageScope::Room {
                with_thread_replies: query.threads.unwrap_or(true),
            },
            before,
            after,
            query.limit,
        )
        .await?;
    Ok(Json(MessagesPage {
        messages: page.messages,
        has_older: page.has_older,
        has_newer: page.has_newer,
    }))
}

pub fn cursor(value: Option<&str>, field: &str) -> Result<Option<HistoryCursor>, ClientError> {
    value
        .map(|value| {
            value.parse::<HistoryCursor>().map_err(|why| {
                ClientError::new(ErrorCode::InvalidQuery, why).with_field(Some(field.to_owned()))
            })
        })
        .transpose()
}
