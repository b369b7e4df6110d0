//! One message over REST: reading it and its earlier versions, editing, deleting and
//! reacting to it (the same path and promises as the socket's `edit`, `delete`, `react`
//! and `unreact` frames).

use axum::extract::State;
use chat_protocol::ids::parse_uuid;
use chat_protocol::message::{EditMessage, MessagesPage, NewReaction, RevisionList};
use chat_protocol::{ErrorBody, MessageView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{Json, Path, Query};
use super::messages::{PageQuery, cursor};
use crate::access::AuthenticatedUser;
use crate::client_error::ClientError;
use crate::core::message_changes::ChangeError;
use crate::core::messages::PageScope;
use crate::core::realtime::Realtime;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_message, edit_message, delete_message))
        .routes(routes!(list_revisions))
        .routes(routes!(list_thread))
        .routes(routes!(add_reaction))
        .routes(routes!(remove_reaction))
}

fn message_id(id: &str) -> Result<Uuid, ClientError> {
    parse_uuid(id).map_err(|_| ClientError::from(ChangeError::NotFound))
}

/// One message, for a member of its room. A deleted message is a tombstone: no content.
#[utoipa::path(
    get,
    path = "/api/messages/{id}",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The message")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = MessageView),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 404, description = "`message_not_found` (also a message of a room the caller is not in)", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn get_message(
    State(realtime): State<Realtime>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
) -> Result<Json<MessageView>, ClientError> {
    let user_id = user.id()?;
    let message = realtime
        .changes()
        .get(user_id.into(), message_id(&id)?)
        .await?;
    Ok(Json(message))
}

/// Replaces the content of the caller's own message. The room hears `message.edited`;
/// the earlier content stays readable as a revision. Editing to the content the message
/// already has changes nothing (a retry is answered the same).
#[utoipa::path(
    put,
    path = "/api/messages/{id}",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The message")),
    request_body = EditMessage,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The message as it now is", body = MessageView),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 403, description = "`not_author`, or `edit_window_closed` (`EDIT_WINDOW`)", body = ErrorBody),
        (status = 404, description = "`message_not_found`", body = ErrorBody),
        (status = 409, description = "`message_deleted`", body = ErrorBody),
        (status = 422, description = "`invalid_body`, `content_too_long`, `empty_content` or `validation_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
        (status = 503, description = "`unavailable`: nothing changed; retry", body = ErrorBody),
    )
)]
async fn edit_message(
    State(realtime): State<Realtime>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    Json(body): Json<EditMessage>,
) -> Result<Json<MessageView>, ClientError> {
    let user_id = user.id()?;
    let id = message_id(&id)?;
    realtime.messages().admit_user(user_id).await?;
    let message = realtime
        .changes()
        .edit(user_id.into(), id, body.content)
        .await?;
    Ok(Json(message))
}

/// Deletes a message: the caller's own, or any in a room the caller is an admin or
/// owner of. What is left is a tombstone at the message's position (no content, no
/// revisions); the room hears `message.deleted`. Deleting again answers the same.
#[utoipa::path(
    delete,
    path = "/api/messages/{id}",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The message")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tombstone", body = MessageView),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 403, description = "`forbidden`: someone else's message, and the caller is a plain member", body = ErrorBody),
        (status = 404, description = "`message_not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
        (status = 503, description = "`unavailable`: nothing changed; retry", body = ErrorBody),
    )
)]
async fn delete_message(
    State(realtime): State<Realtime>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
) -> Result<Json<MessageView>, ClientError> {
    let user_id = user.id()?;
    let id = message_id(&id)?;
    realtime.messages().admit_user(user_id).await?;
    let message = realtime.changes().delete(user_id.into(), id).await?;
    Ok(Json(message))
}

/// Every version of a message, oldest first: what it was sent with, then each edit.
/// Empty once the message is deleted.
#[utoipa::path(
    get,
    path = "/api/messages/{id}/revisions",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The message")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RevisionList),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 404, description = "`message_not_found`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn list_revisions(
    State(realtime): State<Realtime>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
) -> Result<Json<RevisionList>, ClientError> {
    let user_id = user.id()?;
    let revisions = realtime
        .changes()
        .revisions(user_id.into(), message_id(&id)?)
        .await?;
    Ok(Json(RevisionList { revisions }))
}

/// Adds the caller's reaction to a message (one per emoji; giving it again changes
/// nothing). The room hears `reaction.added`.
#[utoipa::path(
    post,
    path = "/api/messages/{id}/react",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The message")),
    request_body = NewReaction,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The message with its reactions as they now are", body = MessageView),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 404, description = "`message_not_found`", body = ErrorBody),
        (status = 409, description = "`message_deleted`, or `too_many_reactions` (50 different emoji)", body = ErrorBody),
        (status = 422, description = "`invalid_body`, or `validation_failed` (field `emoji`: not one emoji)", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
        (status = 503, description = "`unavailable`: nothing changed; retry", body = ErrorBody),
    )
)]
async fn add_reaction(
    State(realtime): State<Realtime>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    Json(body): Json<NewReaction>,
) -> Result<Json<MessageView>, ClientError> {
    let user_id = user.id()?;
    let id = message_id(&id)?;
    realtime.messages().admit_user(user_id).await?;
    let message = realtime
        .reactions()
        .set(user_id.into(), id, &body.emoji, true)
        .await?;
    Ok(Json(message))
}

/// Takes the caller's reaction back (none given: nothing changes). The room hears
/// `reaction.removed`.
#[utoipa::path(
    delete,
    path = "/api/messages/{id}/reactions/{emoji}",
    tag = "messages",
    params(
        ("id" = Uuid, Path, description = "The message"),
        ("emoji" = String, Path, description = "The emoji, percent-encoded"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The message with its reactions as they now are", body = MessageView),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 404, description = "`message_not_found`", body = ErrorBody),
        (status = 409, description = "`message_deleted`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (field `emoji`: not one emoji)", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
        (status = 503, description = "`unavailable`: nothing changed; retry", body = ErrorBody),
    )
)]
async fn remove_reaction(
    State(realtime): State<Realtime>,
    user: AuthenticatedUser,
    Path((id, emoji)): Path<(String, String)>,
) -> Result<Json<MessageView>, ClientError> {
    let user_id = user.id()?;
    let id = message_id(&id)?;
    realtime.messages().admit_user(user_id).await?;
    let message = realtime
        .reactions()
        .set(user_id.into(), id, &emoji, false)
        .await?;
    Ok(Json(message))
}

/// A page of the replies in the thread of a message, oldest first, by position cursor
/// like a room's history (the root itself is `GET /api/messages/{id}`).
#[utoipa::path(
    get,
    path = "/api/messages/{id}/thread",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The thread's root message"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = MessagesPage),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 404, description = "`message_not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_query` or `validation_failed`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn list_thread(
    State(realtime): State<Realtime>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<MessagesPage>, ClientError> {
    let user_id = user.id()?;
    let root = realtime
        .changes()
        .get(user_id.into(), message_id(&id)?)
        .await?;
    let before = cursor(query.before.as_deref(), "before")?;
    let after = cursor(query.after.as_deref(), "after")?;
    let page = realtime
        .messages()
        .history(
            user_id.into(),
            root.room_id.into(),
            PageScope::Thread(root.id.into()),
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
