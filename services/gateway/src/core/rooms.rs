//! The rooms service as the gateway's edges use it for what touches live state: joining,
//! leaving and listing a user's rooms. Both edges (REST and the socket) go through here,
//! so the membership cache is kept right whichever edge the change came from.

use chat_proto::v1::{JoinRoomRequest, LeaveRoomRequest, ListMembershipsRequest, Room};
use chat_protocol::{RoomId, UserId};

use crate::core::clients::RoomsClient;
use crate::core::memberships::Memberships;

/// A user's rooms, and the people of their direct rooms.
#[derive(Debug, Clone, Default)]
pub struct UserRooms {
    pub rooms: Vec<RoomId>,
    pub direct_partners: Vec<UserId>,
}

/// Joins, leaves and lists memberships. Cheap to clone.
#[derive(Clone)]
pub struct Rooms {
    client: RoomsClient,
    memberships: Memberships,
}

impl Rooms {
    pub fn new(client: RoomsClient, memberships: Memberships) -> Self {
        Self {
            client,
            memberships,
        }
    }

    /// Makes `user` a member of the public room `room`; the room as it is now.
    pub async fn join(&self, user: UserId, room: RoomId) -> Result<Room, tonic::Status> {
        let response = self
            .client
            .clone()
            .join_room(JoinRoomRequest {
                caller_id: user.to_string(),
                room_id: room.to_string(),
            })
            .await?;
        Ok(response.into_inner())
    }

    /// Ends `user`'s membership of `room`; the cached membership goes at once, so the
    /// next send from this gateway is refused whether or not the event was heard yet.
    pub async fn leave(&self, user: UserId, room: RoomId) -> Result<(), tonic::Status> {
        self.client
            .clone()
            .leave_room(LeaveRoomRequest {
                caller_id: user.to_string(),
                room_id: room.to_string(),
            })
            .await?;
        self.memberships.forget(room.into(), user.into());
        Ok(())
    }

    /// Forgets what is cached about `user` in `room` (a moderator removed them).
    pub fn forget(&self, user: UserId, room: RoomId) {
        self.memberships.forget(room.into(), user.into());
    }

    /// The rooms `user` belongs to now, and the other user of each direct room.
    pub async fn memberships_of(&self, user: UserId) -> Result<UserRooms, tonic::Status> {
        let response = self
            .client
            .clone()
            .list_memberships(ListMembershipsRequest {
                user_id: user.to_string(),
            })
            .await?
            .into_inner();
        Ok(UserRooms {
            rooms: response
                .room_ids
                .iter()
                .filter_map(|id| id.parse().ok())
                .collect(),
            direct_partners: response
                .direct_partners
                .iter()
                .filter_map(|id| id.parse().ok())
                .collect(),
        })
    }
}
