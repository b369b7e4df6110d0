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
use chat_proto::v1::RoomKind;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use chat_protocol::ErrorBody;

use super::extract::{Json, Path, Query};
use super::members::Role;
use crate::access::AuthenticatedUser;
use crate::client_error::ClientError;
use crate::state::AppState;

/// Page size when the client names none.
pub const PAGE_LIMIT_DEFAULT: u32 = 50;
/// The largest page a client may ask for.
pub const PAGE_LIMIT_MAX: u32 = 100;

/// What kind of room it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoomType {
    /// Listed; anyone may join.
    Public,
    /// Unlisted; members are invited, and only they know it exists.
    Private,
    /// The one room of two users, from `POST /api/dms`.
    Direct,
}

/// A room as the caller sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Room {
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(rename = "type")]
    pub kind: RoomType,
    /// Empty for direct rooms.
    #[schema(example = "General")]
    pub name: String,
    pub description: Option<String>,
    pub topic: Option<String>,
    /// Null for direct rooms, which have no owner.
    #[schema(format = Uuid)]
    pub owner_id: Option<String>,
    pub member_count: u64,
    /// RFC 3339.
    pub created_at: chat_protocol::Timestamp,
    /// The caller's role; null when the caller is not a member (of a public room).
    pub my_role: Option<Role>,
    /// Direct rooms only: the two users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_user_ids: Option<Vec<String>>,
}

impl TryFrom<proto::Room> for Room {
    type Error = ClientError;

    fn try_from(room: proto::Room) -> Result<Self, Self::Error> {
        let kind = match room.kind() {
            RoomKind::Public => RoomType::Public,
            RoomKind::Private => RoomType::Private,
            RoomKind::Direct => RoomType::Direct,
            RoomKind::Unspecified => {
                return Err(anyhow::anyhow!("rooms sent a room of unspecified kind").into());
            }
        };
        let created_at = crate::core::render::required_timestamp(room.created_at)
            .context("rooms sent a bad created_at")?;
        let my_role = room.my_role.map(Role::from_proto).transpose()?;
        Ok(Self {
            id: room.id,
            kind,
            name: room.name,
            description: room.description,
            topic: room.topic,
            owner_id: (!room.owner_id.is_empty()).then_some(room.owner_id),
            member_count: room.member_count,
            created_at,
            my_role,
            direct_user_ids: (kind == RoomType::Direct).then_some(room.direct_user_ids),
        })
    }
}

/// One page of rooms.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RoomList {
    pub rooms: Vec<Room>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl TryFrom<proto::RoomPage> for RoomList {
    type Error = ClientError;

    fn try_from(page: proto::RoomPage) -> Result<Self, Self::Error> {
        Ok(Self {
            rooms: page
                .rooms
                .into_iter()
                .map(Room::try_from)
                .collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }
}

/// The kinds of room a client creates (direct rooms come from `POST /api/dms`).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NewRoomType {
    Public,
    Private,
}

/// A room to create; the caller becomes its owner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRoom {
    /// 1 to 80 characters, no control characters.
    #[schema(example = "General")]
    pub name: String,
    /// Up to 500 characters; line breaks allowed.
    pub description: Option<String>,
    /// Up to 500 characters; line breaks allowed.
    pub topic: Option<String>,
    #[serde(rename = "type")]
    pub kind: NewRoomType,
}

/// Changes to a room. An absent (or null) field is left as it is; an empty description
/// or topic clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub topic: Option<String>,
}

/// The other user of a direct room.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectRoomRequest {
    pub user_id: Uuid,
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

/// A page of a listing: `GET /api/rooms/mine`, `GET /api/rooms/{id}/members`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
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

/// The caller's id as the services expect it. Tokens carry UUIDs; one that does not is
/// not a token this system issued.
pub(super) fn caller(user: &AuthenticatedUser) -> Result<String, ClientError> {
    Uuid::try_parse(&user.user_id)
        .map(|id| id.to_string())
        .map_err(|_| ClientError::from(chat_runtime::token::TokenError::Invalid))
}

/// A room id from the path; one that cannot be a UUID names no room.
pub(super) fn room_id(id: &str) -> Result<String, ClientError> {
    Uuid::try_parse(id)
        .map(|id| id.to_string())
        .map_err(|_| ClientError::room_not_found())
}

/// A page size: default 50, at most 100.
pub(super) fn page_limit(limit: Option<u32>) -> Result<u32, ClientError> {
    let limit = limit.unwrap_or(PAGE_LIMIT_DEFAULT);
    if (1..=PAGE_LIMIT_MAX).contains(&limit) {
        Ok(limit)
    } else {
        Err(ClientError::validation([(
            "limit",
            format!("must be between 1 and {PAGE_LIMIT_MAX}"),
        )]))
    }
}

/// A refusal of the rooms service, its fields named as the client spells them.
pub(super) fn rooms_error(status: tonic::Status) -> ClientError {
    ClientError::from(status)
        .rename_field("kind", "type")
        .rename_field("query", "search")
}

/// Fails with 404 `user_not_found` unless auth knows the user. The rooms service knows
/// users only by id, so the gateway asks before making anyone a member of anything.
pub(super) async fn ensure_user_exists(state: &AppState, user_id: Uuid) -> Result<(), ClientError> {
    state
        .clients
        .auth
        .clone()
        .get_user(proto::GetUserRequest {
            user_id: user_id.to_string(),
            include_email: false,
        })
        .await?;
    Ok(())
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
    Ok(Json(page.try_into()?))
}

/// The caller's rooms of every type, direct rooms included, latest joined first.
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
    Ok(Json(page.try_into()?))
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
        NewRoomType::Public => RoomKind::Public,
        NewRoomType::Private => RoomKind::Private,
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
    Ok((StatusCode::CREATED, Json(room.try_into()?)))
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
    Ok(Json(room.try_into()?))
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
    Ok(Json(room.try_into()?))
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
        .clients
        .rooms
        .clone()
        .join_room(proto::JoinRoomRequest {
            caller_id: caller(&user)?,
            room_id: room_id(&id)?,
        })
        .await
        .map_err(rooms_error)?
        .into_inner();
    Ok(Json(room.try_into()?))
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
        .clients
        .rooms
        .clone()
        .leave_room(proto::LeaveRoomRequest {
            caller_id: caller(&user)?,
            room_id: room_id(&id)?,
        })
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
    Ok(Json(room.try_into()?))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn proto_room(kind: RoomKind) -> proto::Room {
        proto::Room {
            id: Uuid::nil().to_string(),
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
            direct_user_ids: vec!["a".into(), "b".into()],
        }
    }

    #[test]
    fn rooms_render_as_documented() {
        let direct =
            serde_json::to_value(Room::try_from(proto_room(RoomKind::Direct)).unwrap()).unwrap();
        assert_eq!(direct["type"], "direct");
        assert_eq!(direct["owner_id"], json!(null));
        assert_eq!(direct["my_role"], "member");
        assert_eq!(direct["direct_user_ids"], json!(["a", "b"]));
        assert_eq!(direct["created_at"], "2027-01-15T08:00:00Z");

        let mut public = proto_room(RoomKind::Public);
        public.owner_id = Uuid::nil().to_string();
        public.my_role = None;
        let public = serde_json::to_value(Room::try_from(public).unwrap()).unwrap();
        assert_eq!(public["type"], "public");
        assert_eq!(public["owner_id"], Uuid::nil().to_string());
        assert_eq!(public["my_role"], json!(null));
        assert_eq!(public["description"], json!(null));
        assert!(public.get("direct_user_ids").is_none());
    }

    #[test]
    fn rooms_of_no_kind_are_a_service_bug() {
        assert!(matches!(
            Room::try_from(proto_room(RoomKind::Unspecified)),
            Err(ClientError {
                code: chat_protocol::ErrorCode::Internal,
                ..
            })
        ));
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_limit(None).unwrap(), PAGE_LIMIT_DEFAULT);
        assert_eq!(page_limit(Some(1)).unwrap(), 1);
        assert_eq!(page_limit(Some(100)).unwrap(), 100);
        assert!(page_limit(Some(0)).is_err());
        assert!(page_limit(Some(101)).is_err());
    }
}
