//! How many members a room has, cached for [`SIZE_TTL`]: what decides whether a room is
//! small enough for the signals whose cost grows with every member (typing, read
//! receipts). A size a little stale only moves that line a little late.

use std::sync::Arc;
use std::time::Duration;

use chat_proto::v1::GetRoomRequest;
use chat_protocol::{RoomId, UserId};
use dashmap::DashMap;
use tokio::time::Instant;
use uuid::Uuid;

use crate::core::clients::RoomsClient;

/// How long a room's member count is trusted.
pub const SIZE_TTL: Duration = Duration::from_secs(30);

/// Member counts of rooms, read from the rooms service. Cheap to clone.
#[derive(Clone)]
pub struct RoomSizes {
    rooms: RoomsClient,
    sizes: Arc<DashMap<Uuid, (u64, Instant)>>,
}

impl RoomSizes {
    pub fn new(rooms: RoomsClient) -> Self {
        Self {
            rooms,
            sizes: Arc::new(DashMap::new()),
        }
    }

    /// Whether `room` has at most `max` members; `false` when its size cannot be read
    /// (asked as `caller`, a member).
    pub async fn at_most(&self, caller: UserId, room: RoomId, max: u32) -> bool {
        let id = room.as_uuid();
        let cached = self
            .sizes
            .get(&id)
            .filter(|entry| entry.1.elapsed() < SIZE_TTL)
            .map(|entry| entry.0);
        let size = match cached {
            Some(size) => size,
            None => {
                let answer = self
                    .rooms
                    .clone()
                    .get_room(GetRoomRequest {
                        caller_id: caller.to_string(),
                        room_id: room.to_string(),
                    })
                    .await;
                match answer {
                    Ok(found) => {
                        let size = found.into_inner().member_count;
                        self.sizes.insert(id, (size, Instant::now()));
                        size
                    }
                    Err(status) => {
                        tracing::debug!(%room, error = %status, "room size unknown");
                        return false;
                    }
                }
            }
        };
        size <= u64::from(max)
    }

    /// Forgets sizes no longer trusted (called now and then).
    pub fn purge(&self) {
        self.sizes.retain(|_, (_, read)| read.elapsed() < SIZE_TTL);
    }
}
