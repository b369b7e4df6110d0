//! What a room list shows beyond the rooms themselves: each room's newest message, last
//! activity and the caller's read state with unread counts (from history, one request
//! each for the page), and a direct room named for the other person (from auth, one
//! request for the page). Either service being down leaves these out rather than failing
//! the list.

use std::collections::HashMap;

use chat_proto::v1::{GetUsersRequest, LatestMessagesRequest};
use chat_protocol::room::Room;
use chat_protocol::{RoomId, RoomKind, UserId};

use crate::core::render;
use crate::state::AppState;

/// Fills `last_message`, `last_activity_at`, `read_state` and direct rooms' names of
/// `rooms`.
pub async fn add_previews(state: &AppState, caller: UserId, rooms: &mut [Room]) {
    if rooms.is_empty() {
        return;
    }
    let ids: Vec<uuid::Uuid> = rooms.iter().map(|room| room.id.as_uuid()).collect();
    let (latest, mut read_states) = futures::join!(
        latest_messages(state, rooms),
        state.realtime.read_states().states(caller.as_uuid(), &ids)
    );
    if let Err(status) = &read_states {
        tracing::warn!(code = ?status.code(), message = %status.message(), "read states unavailable");
    }
    for room in rooms.iter_mut() {
        if let Ok(states) = read_states.as_mut() {
            room.read_state = states.remove(&room.id.as_uuid());
        }
        room.last_message = latest.get(&room.id).cloned();
        room.last_activity_at = Some(
            room.last_message
                .as_ref()
                .and_then(|message| message.sent_at)
                .map_or(room.created_at, |sent| sent.max(room.created_at)),
        );
    }
    name_direct_rooms(state, caller, rooms).await;
}

async fn latest_messages(
    state: &AppState,
    rooms: &[Room],
) -> HashMap<RoomId, chat_protocol::MessageView> {
    let answer = state
        .clients
        .history
        .clone()
        .latest_messages(LatestMessagesRequest {
            room_ids: rooms.iter().map(|room| room.id.to_string()).collect(),
        })
        .await;
    match answer {
        Ok(response) => response
            .into_inner()
            .messages
            .into_iter()
            .filter_map(render::stored_message)
            .map(|message| (message.room_id, message))
            .collect(),
        Err(status) => {
            tracing::warn!(code = ?status.code(), message = %status.message(), "room previews unavailable");
            HashMap::new()
        }
    }
}

/// A direct room's name is the other person's display name (or username).
async fn name_direct_rooms(state: &AppState, caller: UserId, rooms: &mut [Room]) {
    let others: Vec<UserId> = rooms
        .iter()
        .filter(|room| room.kind == RoomKind::Direct)
        .filter_map(|room| other_user(room, caller))
        .collect();
    if others.is_empty() {
        return;
    }
    let answer = state
        .clients
        .auth
        .clone()
        .get_users(GetUsersRequest {
            user_ids: others.iter().map(ToString::to_string).collect(),
            usernames: Vec::new(),
        })
        .await;
    let names: HashMap<String, String> = match answer {
        Ok(response) => response
            .into_inner()
            .users
            .into_iter()
            .map(|user| {
                let name = user
                    .display_name
                    .filter(|name| !name.trim().is_empty())
                    .unwrap_or(user.username);
                (user.id, name)
            })
            .collect(),
        Err(status) => {
            tracing::warn!(code = ?status.code(), message = %status.message(), "direct room names unavailable");
            return;
        }
    };
    for room in rooms
        .iter_mut()
        .filter(|room| room.kind == RoomKind::Direct)
    {
        if let Some(name) = other_user(room, caller).and_then(|other| names.get(&other.to_string()))
        {
            room.name.clone_from(name);
        }
    }
}

/// The other member of a direct room (the caller themself in a room with themself).
fn other_user(room: &Room, caller: UserId) -> Option<UserId> {
    let users = room.direct_user_ids.as_ref()?;
    users
        .iter()
        .find(|user| **user != caller)
        .or_else(|| users.first())
        .copied()
}
