//! Rooms over REST: listing public rooms and the caller's own, creating, reading, editing
//! and deleting a room, joining and leaving it, and opening direct rooms.
//!
//! Every rule (who may see or change what, names and lengths, bans) lives in the rooms
//! service; these routes translate JSON to gRPC and back. The gateway answers by itself
//! only what needs no service: a path id that cannot be a UUID names nothing (404), a page
//! size outside 1 to 100 is refused (422), and a direct room is opened only with a user
//! auth knows (404 `user_not_found`).
//!
//! How the rooms service's reasons reach clients:
//!
//! | code | status |
//! |---|---|
//! | `room_not_found`, `member_not_found`, `user_not_found` | 404 |
//! | `forbidden`, `banned`, `user_banned` | 403 |
//! | `direct_room`, `owner_must_transfer`, `conflict` | 409: well-formed, but the room's state does not allow it |
//! | `validation_failed` (with `fields`, named as the client spells them) | 422 |
//!
//! A private or direct room is `room_not_found` for everyone outside it, on every route,
//! so a non-member cannot tell it from a room that does not exist.

use anyhow::Context as _;
use axum::extract::State;
use chat_proto::v1 as proto;
use http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use chat_protocol::room::{DirectRoomRequest, NewRoom, NewRoomKind, Room, RoomChanges, RoomList};
use chat_protocol::{ErrorBody, RoomKind};

use super::extract::{Json, Path, Query};
use super::room_params::{
    PageQuery, caller, ensure_user_exists, page_limit, path_room, room_id, rooms_error,
};
use crate::access::AuthenticatedUser;
use crate::client_error::ClientError;
use crate::core::render;
use crate::state::AppState;

/// A room the rooms service sent, as the caller sees it.
fn room_view(room: proto::Room) -> Result<Room, ClientError> {
    let kind = render::room_kind(room.kind()).context("rooms sent a room of unspecified kind")?;
    let id = room.id.parse().context("rooms sent a bad room id")?;
    let created_at =
        render::required_timestamp(room.created_at).context("rooms sent a bad created_at")?;
    let my_role = room
        .my_role
        .map(|role| {
            proto::Role::try_from(role)
                .ok()
                .and_then(render::role)
                .with_context(|| format!("rooms sent an unknown role {role}"))
        })
        .transpose()?;
    let owner_id = if room.owner_id.is_empty() {
        None
    } else {
        Some(room.owner_id.parse().context("rooms sent a bad owner_id")?)
    };
    let direct_user_ids = if kind == RoomKind::Direct {
        let ids = room
            .direct_user_ids
            .iter()
            .map(|id| id.parse())
            .collect::<Result<_, _>>()
            .context("rooms sent a bad direct user id")?;
        Some(ids)
    } else {
        None
    };
    Ok(Room {
        id,
        kind,
        name: room.name,
        description: room.description,
        topic: room.topic,
        owner_id,
        member_count: room.member_count,
        created_at,
        my_role,
        direct_user_ids,
        last_message: None,
        last_activity_at: None,
        read_state: None,
    })
}

/// A page of rooms the rooms service sent.
fn room_list(page: proto::RoomPage) -> Result<RoomList, ClientError> {
    Ok(RoomList {
        rooms: page
            .rooms
            .into_iter()
            .map(room_view)
            .collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    })
}

/// Query of `GET /api/rooms`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PublicRoomsQuery {
    /// Case-insensitive part of the name (up to 80 characters); absent or empty lists all.
    pub search: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The room routes, documented.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_public_rooms, create_room))
        .routes(routes!(list_my_rooms))
        .routes(routes!(get_room, update_room, delete_room))
        .routes(routes!(join_room))
        .routes(routes!(leave_room))
        .routes(routes!(open_direct_room))
}

/// Public rooms, newest first, optionally those whose name contains `search`.
#[utoipa::path(
    get,
    path = "/api/rooms",
    tag = "rooms",
    security(("bearer" = [])),
    params(PublicRoomsQuery),
    responses(
        (status = 200, description = "A page of public rooms, newest first", body = RoomList),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 422, description = "`invalid_query` or `validation_failed` (`search`, `cursor`, `limit`)", body = ErrorBody),
    )
)]
async fn list_public_rooms(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Query(query): Query<PublicRoomsQuery>,
) -> Result<Json<RoomList>, ClientError> {
    let limit = page_limit(query.limit)?;
    let page = state
        .clients
        .rooms
        .clone()
        .list_public_rooms(proto::ListPublicRoomsRequest {
            caller_id: caller(&user)?,
            query: query.search.unwrap_or_default(),
            cursor: query.cursor,
            limit,
        })
        .await
        .map_err(rooms_error)?
        .into_inner();
    Ok(Json(room_list(page)?))
}

/// The caller's rooms of every type, direct rooms included, latest joined first; each
/// with its newest message (`last_message`) and `last_activity_at`, and a direct room
/// named for the other person.
#[utoipa::path(
    get,
    path = "/api/rooms/mine",
    tag = "rooms",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the caller's rooms", body = RoomList),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 422, description = "`invalid_query` or `validation_failed` (`cursor`, `limit`)", body = ErrorBody),
    )
)]
async fn list_my_rooms(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Query(query): Query<PageQuery>,
) -> Result<Json<RoomList>, ClientError> {
    let limit = page_limit(query.limit)?;
    let page = state
        .clients
        .rooms
        .clone()
        .list_my_rooms(proto::ListMyRoomsRequest {
            caller_id: caller(&user)?,
            cursor: query.cursor,
            limit,
        })
        .await
        .map_err(rooms_error)?
        .into_inner();
    let mut list = room_list(page)?;
    super::my_rooms::add_previews(&state, user.id()?, &mut list.rooms).await;
    Ok(Json(list))
}

/// Creates a public or private room owned by the caller.
#[utoipa::path(
    post,
    path = "/api/rooms",
    tag = "rooms",
    security(("bearer" = [])),
    request_body = NewRoom,
    responses(
        (status = 201, description = "Created; the caller is its owner", body = Room),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 422, description = "`invalid_body` or `validation_failed`", body = ErrorBody),
    )
)]
async fn create_room(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Json(body): Json<NewRoom>,
) -> Result<(StatusCode, Json<Room>), ClientError> {
    let kind = match body.kind {
        NewRoomKind::Public => proto::RoomKind::Public,
        NewRoomKind::Private => proto::RoomKind::Private,
    };
    let room = state
        .clients
        .rooms
        .clone()
        .create_room(proto::CreateRoomRequest {
            caller_id: caller(&user)?,
            name: body.name,
            description: body.description,
            topic: body.topic,
            kind: kind.into(),
        })
        .await
        .map_err(rooms_error)?
        .into_inner();
    Ok((StatusCode::CREATED, Json(room_view(room)?)))
}

/// A room's details and member count.
#[utoipa::path(
    get,
    path = "/api/rooms/{id}",
    tag = "rooms",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The room")),
    responses(
        (status = 200, description = "The room", body = Room),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 404, description = "`room_not_found`, also for a private room the caller is not in", body = ErrorBody),
    )
)]
async fn get_room(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
) -> Result<Json<Room>, ClientError> {
    let room = state
        .clients
        .rooms
        .clone()
        .get_room(proto::GetRoomRequest {
            caller_id: caller(&user)?,
            room_id: room_id(&id)?,
        })
        .await
        .map_err(rooms_error)?
        .into_inner();
    Ok(Json(room_view(room)?))
}

/// Edits a room's name, description or topic; admins and the owner may.
#[utoipa::path(
    patch,
    path = "/api/rooms/{id}",
    tag = "rooms",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The room")),
    request_body = RoomChanges,
    responses(
        (status = 200, description = "The room as changed", body = Room),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin or the owner", body = ErrorBody),
        (status = 404, description = "`room_not_found`", body = ErrorBody),
        (status = 409, description = "`direct_room`: direct rooms are not edited", body = ErrorBody),
        (status = 422, description = "`invalid_body` or `validation_failed`", body = ErrorBody),
    )
)]
async fn update_room(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    Json(body): Json<RoomChanges>,
) -> Result<Json<Room>, ClientError> {
    let room = state
        .clients
        .rooms
        .clone()
        .update_room(proto::UpdateRoomRequest {
            caller_id: caller(&user)?,
            room_id: room_id(&id)?,
            name: body.name,
            description: body.description,
            topic: body.topic,
        })
        .await
        .map_err(rooms_error)?
        .into_inner();
    Ok(Json(room_view(room)?))
}

/// Deletes a room with its memberships and bans; only the owner may.
#[utoipa::path(
    delete,
    path = "/api/rooms/{id}",
    tag = "rooms",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The room")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the owner", body = ErrorBody),
        (status = 404, description = "`room_not_found`", body = ErrorBody),
        (status = 409, description = "`direct_room`: direct rooms are not deleted", body = ErrorBody),
    )
)]
async fn delete_room(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ClientError> {
    state
        .clients
        .rooms
        .clone()
        .delete_room(proto::DeleteRoomRequest {
            caller_id: caller(&user)?,
            room_id: room_id(&id)?,
        })
        .await
        .map_err(rooms_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Joins a public room. Joining a room the caller is in already changes nothing.
#[utoipa::path(
    post,
    path = "/api/rooms/{id}/join",
    tag = "rooms",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The room")),
    responses(
        (status = 200, description = "The room, the caller a member", body = Room),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "`banned` from this room", body = ErrorBody),
        (status = 404, description = "`room_not_found`, also for a private room", body = ErrorBody),
    )
)]
async fn join_room(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
) -> Result<Json<Room>, ClientError> {
    let room = state
        .realtime
        .rooms()
        .join(user.id()?, path_room(&id)?)
        .await
        .map_err(rooms_error)?;
    Ok(Json(room_view(room)?))
}

/// Leaves a room. The owner hands ownership on first (`PUT .../members/{user_id}/role`
/// with `owner`), unless they are the last member: then the room is deleted. Leaving a
/// public room the caller is not in changes nothing.
#[utoipa::path(
    delete,
    path = "/api/rooms/{id}/leave",
    tag = "rooms",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The room")),
    responses(
        (status = 204, description = "The caller is no longer a member"),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 404, description = "`room_not_found`", body = ErrorBody),
        (status = 409, description = "`owner_must_transfer` or `direct_room`", body = ErrorBody),
    )
)]
async fn leave_room(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ClientError> {
    state
        .realtime
        .rooms()
        .leave(user.id()?, path_room(&id)?)
        .await
        .map_err(rooms_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The direct room of the caller and another user, created on first use. Both users
/// asking at once get the same room. Always 200: the rooms service does not tell a room
/// it found from one it created.
#[utoipa::path(
    post,
    path = "/api/dms",
    tag = "rooms",
    security(("bearer" = [])),
    request_body = DirectRoomRequest,
    responses(
        (status = 200, description = "The direct room of the two users", body = Room),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_body`, or `validation_failed` for the caller's own id", body = ErrorBody),
    )
)]
async fn open_direct_room(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Json(body): Json<DirectRoomRequest>,
) -> Result<Json<Room>, ClientError> {
    let caller_id = caller(&user)?;
    ensure_user_exists(&state, body.user_id).await?;
    let room = state
        .clients
        .rooms
        .clone()
        .open_direct(proto::OpenDirectRequest {
            caller_id,
            user_id: body.user_id.to_string(),
        })
        .await
        .map_err(rooms_error)?
        .into_inner();
    Ok(Json(room_view(room)?))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ROOM: &str = "0193a6c1-0000-7000-8000-0000000000c1";
    const ALICE: &str = "0193a6c1-0000-7000-8000-00000000000a";
    const BOB: &str = "0193a6c1-0000-7000-8000-00000000000b";

    fn proto_room(kind: proto::RoomKind) -> proto::Room {
        proto::Room {
            id: ROOM.into(),
            kind: kind.into(),
            name: String::new(),
            description: None,
            topic: None,
            owner_id: String::new(),
            member_count: 2,
            created_at: Some(prost_types::Timestamp {
                seconds: 1_800_000_000,
                nanos: 0,
            }),
            my_role: Some(proto::Role::Member.into()),
            direct_user_ids: vec![ALICE.into(), BOB.into()],
        }
    }

    #[test]
    fn rooms_render_as_documented() {
        let direct =
            serde_json::to_value(room_view(proto_room(proto::RoomKind::Direct)).unwrap()).unwrap();
        assert_eq!(direct["id"], ROOM);
        assert_eq!(direct["kind"], "direct");
        assert!(direct.get("type").is_none());
        assert_eq!(direct["owner_id"], json!(null));
        assert_eq!(direct["my_role"], "member");
        assert_eq!(direct["direct_user_ids"], json!([ALICE, BOB]));
        assert_eq!(direct["created_at"], "2027-01-15T08:00:00.000Z");

        let mut public = proto_room(proto::RoomKind::Public);
        public.owner_id = ALICE.into();
        public.my_role = None;
        let public = serde_json::to_value(room_view(public).unwrap()).unwrap();
        assert_eq!(public["kind"], "public");
        assert_eq!(public["owner_id"], ALICE);
        assert_eq!(public["my_role"], json!(null));
        assert_eq!(public["description"], json!(null));
        assert!(public.get("direct_user_ids").is_none());
    }

    #[test]
    fn rooms_of_no_kind_or_bad_ids_are_a_service_bug() {
        let mut bad_id = proto_room(proto::RoomKind::Public);
        bad_id.id = "not-a-room".into();
        let mut bad_role = proto_room(proto::RoomKind::Public);
        bad_role.my_role = Some(42);
        for room in [proto_room(proto::RoomKind::Unspecified), bad_id, bad_role] {
            assert!(matches!(
                room_view(room),
                Err(ClientError {
                    code: chat_protocol::ErrorCode::Internal,
                    ..
                })
            ));
        }
    }
}
