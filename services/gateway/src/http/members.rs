//! A room's members over REST: listing them, roles, invitations, kicks and bans.
//!
//! The rights are the rooms service's: the owner does everything; admins invite, kick,
//! ban and unban members (never the owner or another admin); members only list the
//! members. A member lacking the role, or a non-member of a public room, gets 403
//! `forbidden`; a non-member of a private room gets 404 `room_not_found` for every route
//! here. Status codes as in [`super::rooms`].

use anyhow::Context as _;
use axum::extract::State;
use chat_proto::v1 as proto;
use chat_protocol::ids::parse_uuid;
use http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use chat_protocol::room::{Member, MemberList, NewBan, RoleChange, TargetUser};
use chat_protocol::{ErrorBody, Role};

use super::extract::{Json, Path, Query};
use super::room_params::{
    PageQuery, caller, ensure_user_exists, page_limit, path_room, room_id, rooms_error,
};
use crate::access::AuthenticatedUser;
use crate::client_error::ClientError;
use crate::core::render;
use crate::state::AppState;

/// A role as the rooms service takes it.
fn role_to_proto(role: Role) -> proto::Role {
    match role {
        Role::Owner => proto::Role::Owner,
        Role::Admin => proto::Role::Admin,
        Role::Member => proto::Role::Member,
    }
}

/// A member the rooms service sent, as clients see them.
fn member_view(member: proto::Member) -> Result<Member, ClientError> {
    let role = proto::Role::try_from(member.role)
        .ok()
        .and_then(render::role)
        .with_context(|| format!("rooms sent an unknown role {}", member.role))?;
    Ok(Member {
        user_id: member
            .user_id
            .parse()
            .context("rooms sent a bad member id")?,
        role,
        joined_at: render::required_timestamp(member.joined_at)
            .context("rooms sent a bad joined_at")?,
        presence: None,
    })
}

/// The member routes, documented.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(set_role))
        .routes(routes!(invite))
        .routes(routes!(kick))
        .routes(routes!(ban))
        .routes(routes!(unban))
}

/// A user id from the path; one that cannot be a UUID names nobody.
fn path_user_id(id: &str, code: chat_protocol::ErrorCode) -> Result<String, ClientError> {
    parse_uuid(id)
        .map(|id| id.to_string())
        .map_err(|_| ClientError::new(code, "no such user in this room"))
}

/// The room's members, earliest joined first; members only.
#[utoipa::path(
    get,
    path = "/api/rooms/{id}/members",
    tag = "members",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The room"), PageQuery),
    responses(
        (status = 200, description = "A page of members", body = MemberList),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a member of this public room", body = ErrorBody),
        (status = 404, description = "`room_not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_query` or `validation_failed` (`cursor`, `limit`)", body = ErrorBody),
    )
)]
async fn list_members(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<MemberList>, ClientError> {
    let limit = page_limit(query.limit)?;
    let page = state
        .clients
        .rooms
        .clone()
        .list_members(proto::ListMembersRequest {
            caller_id: caller(&user)?,
            room_id: room_id(&id)?,
            cursor: query.cursor,
            limit,
        })
        .await
        .map_err(rooms_error)?
        .into_inner();
    let mut members: Vec<Member> = page
        .members
        .into_iter()
        .map(member_view)
        .collect::<Result<_, _>>()?;
    let ids: Vec<_> = members.iter().map(|member| member.user_id).collect();
    // Best effort: the list without presence beats no list.
    if let Ok(presence) = state.realtime.presence().query(&ids).await {
        for (member, presence) in members.iter_mut().zip(presence) {
            member.presence = Some(presence);
        }
    }
    Ok(Json(MemberList {
        members,
        next_cursor: page.next_cursor,
    }))
}

/// Gives a member a role; only the owner may. Giving `owner` hands ownership over.
#[utoipa::path(
    put,
    path = "/api/rooms/{id}/members/{user_id}/role",
    tag = "members",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, format = Uuid, description = "The room"),
        ("user_id" = String, Path, format = Uuid, description = "The member"),
    ),
    request_body = RoleChange,
    responses(
        (status = 200, description = "The member with their new role", body = Member),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the owner", body = ErrorBody),
        (status = 404, description = "`room_not_found` or `member_not_found`", body = ErrorBody),
        (status = 409, description = "`owner_must_transfer` (the owner demoting themselves) or `direct_room`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
    )
)]
async fn set_role(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path((id, user_id)): Path<(String, String)>,
    Json(body): Json<RoleChange>,
) -> Result<Json<Member>, ClientError> {
    let member = state
        .clients
        .rooms
        .clone()
        .set_role(proto::SetRoleRequest {
            caller_id: caller(&user)?,
            room_id: room_id(&id)?,
            user_id: path_user_id(&user_id, chat_protocol::ErrorCode::MemberNotFound)?,
            role: role_to_proto(body.role).into(),
        })
        .await
        .map_err(rooms_error)?
        .into_inner();
    Ok(Json(member_view(member)?))
}

/// Makes a user a member at once (there are no pending invitations); admins and the
/// owner may. Inviting a member returns them unchanged.
#[utoipa::path(
    post,
    path = "/api/rooms/{id}/invites",
    tag = "members",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The room")),
    request_body = TargetUser,
    responses(
        (status = 201, description = "The user is a member", body = Member),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "`forbidden`, or `user_banned` from this room", body = ErrorBody),
        (status = 404, description = "`user_not_found` or `room_not_found`", body = ErrorBody),
        (status = 409, description = "`direct_room`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
    )
)]
async fn invite(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    Json(body): Json<TargetUser>,
) -> Result<(StatusCode, Json<Member>), ClientError> {
    let (caller_id, room_id) = (caller(&user)?, room_id(&id)?);
    ensure_user_exists(&state, body.user_id).await?;
    let member = state
        .clients
        .rooms
        .clone()
        .invite(proto::InviteRequest {
            caller_id,
            room_id,
            user_id: body.user_id.to_string(),
        })
        .await
        .map_err(rooms_error)?
        .into_inner();
    Ok((StatusCode::CREATED, Json(member_view(member)?)))
}

/// Removes a member; admins remove members, the owner also admins.
#[utoipa::path(
    post,
    path = "/api/rooms/{id}/kick",
    tag = "members",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The room")),
    request_body = TargetUser,
    responses(
        (status = 204, description = "The user is no longer a member"),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`room_not_found` or `member_not_found`", body = ErrorBody),
        (status = 409, description = "`direct_room`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
    )
)]
async fn kick(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    Json(body): Json<TargetUser>,
) -> Result<StatusCode, ClientError> {
    state
        .clients
        .rooms
        .clone()
        .kick(proto::KickRequest {
            caller_id: caller(&user)?,
            room_id: room_id(&id)?,
            user_id: body.user_id.to_string(),
        })
        .await
        .map_err(rooms_error)?;
    // The removed user's next send through this gateway is refused at once.
    state.realtime.rooms().forget(body.user_id, path_room(&id)?);
    Ok(StatusCode::NO_CONTENT)
}

/// Bans a user, member or not, and removes them: they can neither join nor be invited
/// until unbanned or until the ban's end. Admins ban members and outsiders, the owner
/// also admins. Banning a banned user replaces their ban.
#[utoipa::path(
    post,
    path = "/api/rooms/{id}/bans",
    tag = "members",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The room")),
    request_body = NewBan,
    responses(
        (status = 204, description = "Banned"),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`room_not_found`", body = ErrorBody),
        (status = 409, description = "`direct_room`", body = ErrorBody),
        (status = 422, description = "`invalid_body` or `validation_failed`", body = ErrorBody),
    )
)]
async fn ban(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    Json(body): Json<NewBan>,
) -> Result<StatusCode, ClientError> {
    state
        .clients
        .rooms
        .clone()
        .ban(proto::BanRequest {
            caller_id: caller(&user)?,
            room_id: room_id(&id)?,
            user_id: body.user_id.to_string(),
            until: body
                .until
                .map(|at| chat_runtime::time::to_proto(at.as_offset_date_time())),
            reason: body.reason,
        })
        .await
        .map_err(rooms_error)?;
    state.realtime.rooms().forget(body.user_id, path_room(&id)?);
    Ok(StatusCode::NO_CONTENT)
}

/// Lifts a ban; admins and the owner may. Unbanning someone not banned changes nothing.
#[utoipa::path(
    delete,
    path = "/api/rooms/{id}/bans/{user_id}",
    tag = "members",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, format = Uuid, description = "The room"),
        ("user_id" = String, Path, format = Uuid, description = "The banned user"),
    ),
    responses(
        (status = 204, description = "Not banned (any more)"),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`room_not_found`, or `user_not_found` for an id that is no UUID", body = ErrorBody),
        (status = 409, description = "`direct_room`", body = ErrorBody),
    )
)]
async fn unban(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ClientError> {
    state
        .clients
        .rooms
        .clone()
        .unban(proto::UnbanRequest {
            caller_id: caller(&user)?,
            room_id: room_id(&id)?,
            user_id: path_user_id(&user_id, chat_protocol::ErrorCode::UserNotFound)?,
        })
        .await
        .map_err(rooms_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "0193a6c1-0000-7000-8000-000000000077";

    #[test]
    fn roles_round_trip_and_unknown_ones_are_refused() {
        for role in [Role::Owner, Role::Admin, Role::Member] {
            let member = member_view(proto::Member {
                user_id: USER.into(),
                role: role_to_proto(role).into(),
                joined_at: Some(prost_types::Timestamp::default()),
                ..Default::default()
            })
            .unwrap();
            assert_eq!(member.role, role);
        }
        for role in [proto::Role::Unspecified.into(), 42] {
            assert!(
                member_view(proto::Member {
                    user_id: USER.into(),
                    role,
                    joined_at: Some(prost_types::Timestamp::default()),
                    ..Default::default()
                })
                .is_err()
            );
        }
    }
}
