//! `chat.v1.RoomsService` over gRPC: each call is validated whole, runs one transaction
//! (which writes its events to the outbox), and relays what it changed before answering.

use chat_proto::v1::rooms_service_server::RoomsService;
use chat_proto::v1::{
    BanRequest, BanResponse, CheckMembershipRequest, CreateRoomRequest, DeleteRoomRequest,
    DeleteRoomResponse, GetRoomRequest, InviteRequest, JoinRoomRequest, KickRequest, KickResponse,
    LeaveRoomRequest, LeaveRoomResponse, ListMembersRequest, ListMembershipsRequest,
    ListMembershipsResponse, ListMyRoomsRequest, ListPublicRoomsRequest, Member, MemberPage,
    Membership, OpenDirectRequest, Room, RoomPage, SetRoleRequest, UnbanRequest, UnbanResponse,
    UpdateRoomRequest,
};
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::cursor::Cursor;
use crate::direct;
use crate::error::Error;
use crate::members::{self, NewBan};
use crate::outbox::Relay;
use crate::rooms::{self, NewRoom, RoomChanges};
use crate::validation::{self, Violations};

/// The gRPC face of the rooms service.
#[derive(Debug, Clone)]
pub struct RoomsApi {
    pool: PgPool,
    relay: Relay,
}

impl RoomsApi {
    pub fn new(pool: PgPool, relay: Relay) -> Self {
        Self { pool, relay }
    }
}

/// The ids of a request about one room.
fn caller_and_room(caller_id: &str, room_id: &str) -> Result<(Uuid, Uuid), Error> {
    let mut violations = Violations::new();
    let caller = violations.check("caller_id", validation::id(caller_id));
    let room = violations.check("room_id", validation::id(room_id));
    match (caller, room) {
        (Some(caller), Some(room)) => Ok((caller, room)),
        _ => Err(violations.into_error()),
    }
}

/// The ids of a request about one user of one room.
fn caller_room_and_user(
    caller_id: &str,
    room_id: &str,
    user_id: &str,
) -> Result<(Uuid, Uuid, Uuid), Error> {
    let mut violations = Violations::new();
    let caller = violations.check("caller_id", validation::id(caller_id));
    let room = violations.check("room_id", validation::id(room_id));
    let user = violations.check("user_id", validation::id(user_id));
    match (caller, room, user) {
        (Some(caller), Some(room), Some(user)) => Ok((caller, room, user)),
        _ => Err(violations.into_error()),
    }
}

fn room_page((rooms, next_cursor): (Vec<Room>, Option<String>)) -> Response<RoomPage> {
    Response::new(RoomPage { rooms, next_cursor })
}

#[tonic::async_trait]
impl RoomsService for RoomsApi {
    async fn create_room(
        &self,
        request: Request<CreateRoomRequest>,
    ) -> Result<Response<Room>, Status> {
        let req = request.into_inner();
        let mut violations = Violations::new();
        let caller = violations.check("caller_id", validation::id(&req.caller_id));
        let name = violations.check("name", validation::name(&req.name));
        let description = violations.check(
            "description",
            validation::optional_text(req.description.as_deref()),
        );
        let topic = violations.check("topic", validation::optional_text(req.topic.as_deref()));
        let kind = violations.check("kind", validation::created_kind(req.kind));
        let (Some(caller), Some(name), Some(description), Some(topic), Some(kind)) =
            (caller, name, description, topic, kind)
        else {
            return Err(violations.into_error().into());
        };
        let new = NewRoom {
            kind,
            name,
            description,
            topic,
        };
        let outcome = rooms::create(&self.pool, caller, new).await?;
        Ok(Response::new(self.relay.announce(outcome).await))
    }

    async fn get_room(&self, request: Request<GetRoomRequest>) -> Result<Response<Room>, Status> {
        let req = request.into_inner();
        let (caller, room) = caller_and_room(&req.caller_id, &req.room_id)?;
        Ok(Response::new(rooms::get(&self.pool, caller, room).await?))
    }

    async fn update_room(
        &self,
        request: Request<UpdateRoomRequest>,
    ) -> Result<Response<Room>, Status> {
        let req = request.into_inner();
        let mut violations = Violations::new();
        let caller = violations.check("caller_id", validation::id(&req.caller_id));
        let room = violations.check("room_id", validation::id(&req.room_id));
        let name = violations.check(
            "name",
            req.name.as_deref().map(validation::name).transpose(),
        );
        let description = violations.check(
            "description",
            req.description.as_deref().map(validation::text).transpose(),
        );
        let topic = violations.check(
            "topic",
            req.topic.as_deref().map(validation::text).transpose(),
        );
        let (Some(caller), Some(room), Some(name), Some(description), Some(topic)) =
            (caller, room, name, description, topic)
        else {
            return Err(violations.into_error().into());
        };
        let changes = RoomChanges {
            name,
            description,
            topic,
        };
        let outcome = rooms::update(&self.pool, caller, room, changes).await?;
        Ok(Response::new(self.relay.announce(outcome).await))
    }

    async fn delete_room(
        &self,
        request: Request<DeleteRoomRequest>,
    ) -> Result<Response<DeleteRoomResponse>, Status> {
        let req = request.into_inner();
        let (caller, room) = caller_and_room(&req.caller_id, &req.room_id)?;
        let outcome = rooms::delete(&self.pool, caller, room).await?;
        self.relay.announce(outcome).await;
        Ok(Response::new(DeleteRoomResponse {}))
    }

    async fn list_public_rooms(
        &self,
        request: Request<ListPublicRoomsRequest>,
    ) -> Result<Response<RoomPage>, Status> {
        let req = request.into_inner();
        let mut violations = Violations::new();
        let caller = violations.check("caller_id", validation::id(&req.caller_id));
        let query = violations.check("query", validation::query(&req.query));
        let after = violations.check(
            "cursor",
            Cursor::decode_or(req.cursor.as_deref(), Cursor::LAST),
        );
        let (Some(caller), Some(query), Some(after)) = (caller, query, after) else {
            return Err(violations.into_error().into());
        };
        let limit = validation::limit(req.limit);
        let page = rooms::list_public(&self.pool, caller, query, after, limit).await?;
        Ok(room_page(page))
    }

    async fn list_my_rooms(
        &self,
        request: Request<ListMyRoomsRequest>,
    ) -> Result<Response<RoomPage>, Status> {
        let req = request.into_inner();
        let mut violations = Violations::new();
        let caller = violations.check("caller_id", validation::id(&req.caller_id));
        let after = violations.check(
            "cursor",
            Cursor::decode_or(req.cursor.as_deref(), Cursor::LAST),
        );
        let (Some(caller), Some(after)) = (caller, after) else {
            return Err(violations.into_error().into());
        };
        let limit = validation::limit(req.limit);
        let page = rooms::list_mine(&self.pool, caller, after, limit).await?;
        Ok(room_page(page))
    }

    async fn join_room(&self, request: Request<JoinRoomRequest>) -> Result<Response<Room>, Status> {
        let req = request.into_inner();
        let (caller, room) = caller_and_room(&req.caller_id, &req.room_id)?;
        let outcome = members::join(&self.pool, caller, room).await?;
        Ok(Response::new(self.relay.announce(outcome).await))
    }

    async fn leave_room(
        &self,
        request: Request<LeaveRoomRequest>,
    ) -> Result<Response<LeaveRoomResponse>, Status> {
        let req = request.into_inner();
        let (caller, room) = caller_and_room(&req.caller_id, &req.room_id)?;
        let outcome = members::leave(&self.pool, caller, room).await?;
        self.relay.announce(outcome).await;
        Ok(Response::new(LeaveRoomResponse {}))
    }

    async fn list_members(
        &self,
        request: Request<ListMembersRequest>,
    ) -> Result<Response<MemberPage>, Status> {
        let req = request.into_inner();
        let mut violations = Violations::new();
        let caller = violations.check("caller_id", validation::id(&req.caller_id));
        let room = violations.check("room_id", validation::id(&req.room_id));
        let after = violations.check(
            "cursor",
            Cursor::decode_or(req.cursor.as_deref(), Cursor::FIRST),
        );
        let (Some(caller), Some(room), Some(after)) = (caller, room, after) else {
            return Err(violations.into_error().into());
        };
        let limit = validation::limit(req.limit);
        let (members, next_cursor) = members::list(&self.pool, caller, room, after, limit).await?;
        Ok(Response::new(MemberPage {
            members,
            next_cursor,
        }))
    }

    async fn set_role(&self, request: Request<SetRoleRequest>) -> Result<Response<Member>, Status> {
        let req = request.into_inner();
        let mut violations = Violations::new();
        let caller = violations.check("caller_id", validation::id(&req.caller_id));
        let room = violations.check("room_id", validation::id(&req.room_id));
        let user = violations.check("user_id", validation::id(&req.user_id));
        let role = violations.check("role", validation::role(req.role));
        let (Some(caller), Some(room), Some(user), Some(role)) = (caller, room, user, role) else {
            return Err(violations.into_error().into());
        };
        let outcome = members::set_role(&self.pool, caller, room, user, role).await?;
        Ok(Response::new(self.relay.announce(outcome).await))
    }

    async fn invite(&self, request: Request<InviteRequest>) -> Result<Response<Member>, Status> {
        let req = request.into_inner();
        let (caller, room, user) =
            caller_room_and_user(&req.caller_id, &req.room_id, &req.user_id)?;
        let outcome = members::invite(&self.pool, caller, room, user).await?;
        Ok(Response::new(self.relay.announce(outcome).await))
    }

    async fn kick(&self, request: Request<KickRequest>) -> Result<Response<KickResponse>, Status> {
        let req = request.into_inner();
        let (caller, room, user) =
            caller_room_and_user(&req.caller_id, &req.room_id, &req.user_id)?;
        let outcome = members::kick(&self.pool, caller, room, user).await?;
        self.relay.announce(outcome).await;
        Ok(Response::new(KickResponse {}))
    }

    async fn ban(&self, request: Request<BanRequest>) -> Result<Response<BanResponse>, Status> {
        let req = request.into_inner();
        let mut violations = Violations::new();
        let caller = violations.check("caller_id", validation::id(&req.caller_id));
        let room = violations.check("room_id", validation::id(&req.room_id));
        let user = violations.check("user_id", validation::id(&req.user_id));
        let until = violations.check(
            "until",
            req.until.as_ref().map(validation::timestamp).transpose(),
        );
        let reason = violations.check("reason", validation::optional_text(req.reason.as_deref()));
        let (Some(caller), Some(room), Some(user), Some(until), Some(reason)) =
            (caller, room, user, until, reason)
        else {
            return Err(violations.into_error().into());
        };
        let ban = NewBan {
            user,
            until,
            reason,
        };
        let outcome = members::ban(&self.pool, caller, room, ban).await?;
        self.relay.announce(outcome).await;
        Ok(Response::new(BanResponse {}))
    }

    async fn unban(
        &self,
        request: Request<UnbanRequest>,
    ) -> Result<Response<UnbanResponse>, Status> {
        let req = request.into_inner();
        let (caller, room, user) =
            caller_room_and_user(&req.caller_id, &req.room_id, &req.user_id)?;
        let outcome = members::unban(&self.pool, caller, room, user).await?;
        self.relay.announce(outcome).await;
        Ok(Response::new(UnbanResponse {}))
    }

    async fn open_direct(
        &self,
        request: Request<OpenDirectRequest>,
    ) -> Result<Response<Room>, Status> {
        let req = request.into_inner();
        let mut violations = Violations::new();
        let caller = violations.check("caller_id", validation::id(&req.caller_id));
        let other = violations.check("user_id", validation::id(&req.user_id));
        let (Some(caller), Some(other)) = (caller, other) else {
            return Err(violations.into_error().into());
        };
        let outcome = direct::open(&self.pool, caller, other).await?;
        Ok(Response::new(self.relay.announce(outcome).await))
    }

    async fn check_membership(
        &self,
        request: Request<CheckMembershipRequest>,
    ) -> Result<Response<Membership>, Status> {
        let req = request.into_inner();
        let mut violations = Violations::new();
        let room = violations.check("room_id", validation::id(&req.room_id));
        let user = violations.check("user_id", validation::id(&req.user_id));
        let (Some(room), Some(user)) = (room, user) else {
            return Err(violations.into_error().into());
        };
        Ok(Response::new(members::check(&self.pool, room, user).await?))
    }

    async fn list_memberships(
        &self,
        request: Request<ListMembershipsRequest>,
    ) -> Result<Response<ListMembershipsResponse>, Status> {
        let req = request.into_inner();
        let user = validation::single("user_id", validation::id(&req.user_id))?;
        let rooms = members::memberships(&self.pool, user).await?;
        Ok(Response::new(ListMembershipsResponse {
            room_ids: rooms.room_ids.iter().map(ToString::to_string).collect(),
            direct_partners: rooms
                .direct_partners
                .iter()
                .map(ToString::to_string)
                .collect(),
        }))
    }
}
