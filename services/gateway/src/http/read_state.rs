//! Read positions over REST: the caller's own (the same as the socket's `read`), and the
//! other members' in a room with read receipts.

use axum::extract::State;
use chat_protocol::ids::parse_uuid;
use chat_protocol::room::{MarkRead, RoomReads};
use chat_protocol::{ErrorBody, Position};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path};
use crate::access::AuthenticatedUser;
use crate::client_error::ClientError;
use crate::core::realtime::Realtime;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mark_read))
        .routes(routes!(room_reads))
}

/// Moves the caller's read position in a room forward to `{epoch, position}` (a
/// position before the current one changes nothing) and answers where it now is. Every
/// socket of the caller gets `read`; unread counts (`GET /api/rooms/mine`, `ready`) count
/// from it.
#[utoipa::path(
    post,
    path = "/api/rooms/{id}/read",
    tag = "rooms",
    params(("id" = Uuid, Path, description = "The room")),
    request_body = MarkRead,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The read position now", body = MarkRead),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 403, description = "`not_a_member` of this public room", body = ErrorBody),
        (status = 404, description = "`room_not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_body`, or `validation_failed` (`epoch` 0)", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn mark_read(
    State(realtime): State<Realtime>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    Json(body): Json<MarkRead>,
) -> Result<Json<MarkRead>, ClientError> {
    let user_id = user.id()?;
    let room = parse_uuid(&id).map_err(|_| ClientError::room_not_found())?;
    if body.epoch == 0 {
        return Err(ClientError::new(
            chat_protocol::ErrorCode::ValidationFailed,
            "epoch must be the epoch of a position of the room",
        )
        .with_fields([("epoch", "must be above 0")]));
    }
    realtime
        .messages()
        .require_member(room, user_id.as_uuid())
        .await?;
    let now = realtime
        .read_states()
        .mark(
            user_id.as_uuid(),
            room,
            Position::new(body.epoch, body.position),
        )
        .await?;
    Ok(Json(MarkRead {
        epoch: now.epoch,
        position: now.seq,
    }))
}

/// How far the members of a direct or small room have read (read receipts), furthest
/// first; members who turned `send_read_receipts` off are left out. Changes come as
/// `receipts` frames. In a room above the size (`RECEIPTS_MAX_ROOM_SIZE`), `receipts` is
/// false and `reads` empty.
#[utoipa::path(
    get,
    path = "/api/rooms/{id}/reads",
    tag = "rooms",
    params(("id" = Uuid, Path, description = "The room")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The members' read positions", body = RoomReads),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 403, description = "`not_a_member` of this public room", body = ErrorBody),
        (status = 404, description = "`room_not_found`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn room_reads(
    State(realtime): State<Realtime>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
) -> Result<Json<RoomReads>, ClientError> {
    let user_id = user.id()?;
    let room = parse_uuid(&id).map_err(|_| ClientError::room_not_found())?;
    realtime
        .messages()
        .require_member(room, user_id.as_uuid())
        .await?;
    Ok(Json(
        realtime.receipts().room_reads(user_id, room.into()).await?,
    ))
}
