//! What other services know that notifications need: who is in a room and what kind of
//! room it is (rooms), and what people are called (auth).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chat_proto::v1::auth_service_client::AuthServiceClient;
use chat_proto::v1::rooms_service_client::RoomsServiceClient;
use chat_proto::v1::{GetRoomRequest, GetUsersRequest, ListMembersRequest, RoomKind};
use tonic::transport::{Channel, Endpoint};
use uuid::Uuid;

use super::NotifyConfig;

/// Members asked for per page.
const MEMBER_PAGE: u32 = 500;
/// Room kinds remembered (a kind never changes); past this the memory starts over.
const KINDS_KEPT: usize = 100_000;
/// How long a room's member list is reused: a busy room costs rooms one call per this,
/// not one per message. Someone who joined or left within it may be planned as before.
const MEMBERS_KEPT_FOR: Duration = Duration::from_secs(5);
/// Member lists remembered at most (the rooms with recent messages).
const MEMBER_LISTS_KEPT: usize = 10_000;

/// A room as a notification shows it.
#[derive(Debug, Clone)]
pub struct RoomFacts {
    pub direct: bool,
    pub name: String,
}

/// Asks rooms and auth. Cheap to clone.
#[derive(Clone)]
pub struct Directory {
    rooms: RoomsServiceClient<Channel>,
    auth: AuthServiceClient<Channel>,
    direct: Arc<Mutex<HashMap<Uuid, bool>>>,
    members: Arc<Mutex<HashMap<Uuid, MemberList>>>,
}

/// A room's members, and when they were asked for.
type MemberList = (Instant, Arc<Vec<Uuid>>);

impl Directory {
    /// Channels connect lazily: history starts while rooms or auth are still starting.
    pub fn connect_lazy(config: &NotifyConfig) -> anyhow::Result<Self> {
        let channel = |url: &str| -> anyhow::Result<Channel> {
            Ok(Endpoint::from_shared(url.to_owned())?
                .connect_timeout(Duration::from_secs(3))
                .timeout(Duration::from_secs(10))
                .connect_lazy())
        };
        Ok(Self {
            rooms: RoomsServiceClient::new(channel(&config.rooms_url)?),
            auth: AuthServiceClient::new(channel(&config.auth_url)?),
            direct: Arc::default(),
            members: Arc::default(),
        })
    }

    /// Every member of `room`, asked as `member` (someone in it: the sender); a list
    /// asked for less than [`MEMBERS_KEPT_FOR`] ago is reused.
    pub async fn members(&self, room: Uuid, member: Uuid) -> Result<Arc<Vec<Uuid>>, tonic::Status> {
        if let Some((at, members)) = self.members.lock().expect("members").get(&room)
            && at.elapsed() < MEMBERS_KEPT_FOR
        {
            return Ok(Arc::clone(members));
        }
        let members = Arc::new(self.list_members(room, member).await?);
        let mut kept = self.members.lock().expect("members");
        if kept.len() >= MEMBER_LISTS_KEPT {
            kept.retain(|_, (at, _)| at.elapsed() < MEMBERS_KEPT_FOR);
            if kept.len() >= MEMBER_LISTS_KEPT {
                kept.clear();
            }
        }
        kept.insert(room, (Instant::now(), Arc::clone(&members)));
        Ok(members)
    }

    async fn list_members(&self, room: Uuid, member: Uuid) -> Result<Vec<Uuid>, tonic::Status> {
        let mut members = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .rooms
                .clone()
                .list_members(ListMembersRequest {
                    caller_id: member.to_string(),
                    room_id: room.to_string(),
                    cursor: cursor.take(),
                    limit: MEMBER_PAGE,
                })
                .await?
                .into_inner();
            members.extend(
                page.members
                    .iter()
                    .filter_map(|m| m.user_id.parse::<Uuid>().ok()),
            );
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(members),
            }
        }
    }

    /// Whether `room` is a direct room, asked as `member` once per room.
    pub async fn is_direct(&self, room: Uuid, member: Uuid) -> Result<bool, tonic::Status> {
        if let Some(direct) = self.direct.lock().expect("kinds").get(&room) {
            return Ok(*direct);
        }
        let facts = self.room(room, member).await?;
        let mut kinds = self.direct.lock().expect("kinds");
        if kinds.len() >= KINDS_KEPT {
            kinds.clear();
        }
        kinds.insert(room, facts.direct);
        Ok(facts.direct)
    }

    /// The room's kind and name as `member` sees it (a direct room is named by the
    /// caller: filled in with the other person's name).
    pub async fn room(&self, room: Uuid, member: Uuid) -> Result<RoomFacts, tonic::Status> {
        let room = self
            .rooms
            .clone()
            .get_room(GetRoomRequest {
                caller_id: member.to_string(),
                room_id: room.to_string(),
            })
            .await?
            .into_inner();
        Ok(RoomFacts {
            direct: room.kind == RoomKind::Direct as i32,
            name: room.name,
        })
    }

    /// The name `user` goes by (display name, else username).
    pub async fn name_of(&self, user: Uuid) -> Result<String, tonic::Status> {
        let found = self
            .auth
            .clone()
            .get_users(GetUsersRequest {
                user_ids: vec![user.to_string()],
                usernames: Vec::new(),
            })
            .await?
            .into_inner();
        Ok(found
            .users
            .into_iter()
            .next()
            .map(|user| user.display_name.unwrap_or(user.username))
            .unwrap_or_else(|| "Someone".to_owned()))
    }
}
