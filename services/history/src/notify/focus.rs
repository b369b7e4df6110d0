//! Whether someone is looking at a room: an active socket of theirs (presence `a`) whose
//! last `focus` frame named the room. The gateways keep both in Redis
//! (`chat_bus::keys::presence_conns_key`, `chat_bus::keys::focus_key`), one field per
//! socket; a socket on a gateway that died is swept from the presence hash, so its stale
//! focus no longer counts.

use std::collections::HashMap;

use chat_bus::keys::{focus_key, presence_conns_key};
use chat_runtime::redis_connection::RedisConnection;
use uuid::Uuid;

/// Reads focus and presence. Cheap to clone.
#[derive(Clone)]
pub struct Focus {
    redis: RedisConnection,
    prefix: String,
}

impl Focus {
    pub fn new(redis: RedisConnection, prefix: impl Into<String>) -> Self {
        Self {
            redis,
            prefix: prefix.into(),
        }
    }

    /// Whether an active client of `user` shows `room` now. When Redis cannot be asked,
    /// no (better a notification too many than a message missed).
    pub async fn in_view(&self, user: Uuid, room: Uuid) -> bool {
        let user = user.to_string();
        let asked: redis::RedisResult<(HashMap<String, String>, HashMap<String, String>)> =
            redis::pipe()
                .hgetall(presence_conns_key(&self.prefix, &user))
                .hgetall(focus_key(&self.prefix, &user))
                .query_async(&mut self.redis.clone())
                .await;
        match asked {
            Ok((sockets, focus)) => in_view(&sockets, &focus, &room.to_string()),
            Err(err) => {
                tracing::warn!(error = %err, "cannot tell whether a room is in view");
                false
            }
        }
    }
}

fn in_view(sockets: &HashMap<String, String>, focus: &HashMap<String, String>, room: &str) -> bool {
    focus
        .iter()
        .any(|(socket, shown)| shown == room && sockets.get(socket).is_some_and(|a| a == "a"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn only_an_active_socket_showing_the_room_counts() {
        let focus = map(&[("g1:1", "room"), ("g1:2", "other")]);
        assert!(in_view(&map(&[("g1:1", "a")]), &focus, "room"));
        // Idle (hidden window, no input): away, so told.
        assert!(!in_view(&map(&[("g1:1", "i")]), &focus, "room"));
        // A socket that is gone (swept) no longer counts.
        assert!(!in_view(&map(&[("g1:2", "a")]), &focus, "room"));
        assert!(!in_view(&map(&[]), &focus, "room"));
    }
}
