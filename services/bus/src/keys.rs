//! Names of the Redis keys behind a room's sequence.
//!
//! Every key of one room carries the hash tag `{<room_id>}`, so in Redis Cluster all of
//! them live in one slot and the append script may touch them together:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{prefix}room:{<room_id>}:seq` | hash | `epoch`, `seq`: the room's last position |
//! | `{prefix}room:{<room_id>}:stream` | stream | the last entries, id `<epoch>-<seq>`, field `e` = envelope |
//! | `{prefix}room:{<room_id>}:dedup:<n>:<sender_id>:<client_msg_id>` | string (TTL) | the original send: its envelope until the broker confirmed it, then its compact ack |
//! | `{prefix}room:{<room_id>}:changes` | hash (TTL) | `<message_id>:deleted` = deletion time (ms), `<message_id>:edit` = `<ms>:<content>` of the last edit, `<message_id>:r:<user_id>:<emoji>` = `1`/`0` |
//! | `{prefix}pending` | sorted set | `<room_id>\|<epoch>\|<seq>` scored by fan-out time (ms) |
//! | `{prefix}pending:data` | hash | field `<room_id>\|<epoch>\|<seq>` = the envelope of that pending entry |
//!
//! `<n>` is the length of the sender id, so no choice of ids makes two sends share a
//! record. On one Redis node the pending set and its data are one pair for every room.
//! In Redis Cluster a script may only touch keys of one slot, so there is one pair per
//! slot, `{prefix}pending:{<tag>}` and `{prefix}pending:{<tag>}:data`, where `<tag>` is
//! the shortest decimal number whose hash slot is the room's ([`slot_tag`]).
//!
//! Live channels carry their owner's hash tag too (`{prefix}room:{<room_id>}`,
//! `{prefix}user:{<user_id>}`, `{prefix}presence:{<user_id>}`): sharded pub/sub sends a
//! channel's messages through the shard that owns its slot, and a script may publish on
//! a room's channel only from that room's slot.
//!
//! Names are joined from their parts rather than formatted: a send builds a dozen of
//! them, and the formatting machinery costs several times the copying.

use std::sync::LazyLock;

/// The keys of one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomKeys {
    base: String,
}

impl RoomKeys {
    /// The keys of `room_id` under `prefix`.
    pub fn new(prefix: &str, room_id: &str) -> Self {
        Self {
            base: [prefix, "room:{", room_id, "}:"].concat(),
        }
    }

    /// The hash holding the room's current epoch and seq.
    pub fn seq(&self) -> String {
        [&self.base, "seq"].concat()
    }

    /// The capped stream of the room's latest envelopes.
    pub fn stream(&self) -> String {
        [&self.base, "stream"].concat()
    }

    /// The hash of the room's messages changed lately (see [`crate::change_marks`]).
    pub fn changes(&self) -> String {
        [&self.base, "changes"].concat()
    }

    /// The record of one send of `sender_id` with `client_msg_id`.
    pub fn dedup(&self, sender_id: &str, client_msg_id: &str) -> String {
        let mut length = itoa::Buffer::new();
        [
            &self.base,
            "dedup:",
            length.format(sender_id.len()),
            ":",
            sender_id,
            ":",
            client_msg_id,
        ]
        .concat()
    }

    /// The record of the room event `event_id` (a send's record starts with a digit, so
    /// the two never meet).
    pub fn dedup_event(&self, event_id: &str) -> String {
        [&self.base, "dedup:event:", event_id].concat()
    }
}

/// Presence: one field per open socket of `user` on any gateway (`<instance>:<socket>`),
/// `a` (active) or `i` (idle). Written by the gateways' presence scripts.
pub fn presence_conns_key(prefix: &str, user: &str) -> String {
    [prefix, "presence:{", user, "}:conns"].concat()
}

/// Focus: the room each socket of `user` shows (same fields as [`presence_conns_key`]),
/// from its last `focus` frame. Read by the notifier.
pub fn focus_key(prefix: &str, user: &str) -> String {
    [prefix, "presence:{", user, "}:focus"].concat()
}

/// When this Redis began holding the deployment's keys (its own clock, milliseconds):
/// lost with everything else when Redis loses its data, which is how a newer one shows.
pub fn born_key(prefix: &str) -> String {
    [prefix, "born"].concat()
}

/// The sorted set of entries fanned out but not yet confirmed by the broker.
pub fn pending_key(prefix: &str) -> String {
    [prefix, "pending"].concat()
}

/// The hash of the envelopes of the pending entries, by member of the pending set: what
/// the sweeper stores, however far the room's stream has moved on since.
pub fn pending_data_key(prefix: &str) -> String {
    [prefix, "pending:data"].concat()
}

pub use chat_runtime::redis_connection::{SLOTS, key_slot};

/// For each slot, the shortest decimal number whose slot it is.
static SLOT_TAGS: LazyLock<Vec<u32>> = LazyLock::new(|| {
    let mut tags = vec![u32::MAX; usize::from(SLOTS)];
    let mut missing = usize::from(SLOTS);
    let mut n = 0u32;
    while missing > 0 {
        let slot = usize::from(key_slot(&n.to_string()));
        if tags[slot] == u32::MAX {
            tags[slot] = n;
            missing -= 1;
        }
        n += 1;
    }
    tags
});

/// A hash tag that puts a key in `slot` (see the module docs).
pub fn slot_tag(slot: u16) -> u32 {
    SLOT_TAGS[usize::from(slot % SLOTS)]
}

/// The pending set and its envelopes' hash for the rooms of `slot` in a Redis Cluster.
pub fn slot_pending_keys(prefix: &str, slot: u16) -> (String, String) {
    let mut tag = itoa::Buffer::new();
    let set = [prefix, "pending:{", tag.format(slot_tag(slot)), "}"].concat();
    let data = [&set, ":data"].concat();
    (set, data)
}

/// The member of the pending set that stands for one position of a room.
pub fn pending_member(room_id: &str, epoch: u64, seq: u64) -> String {
    let (mut epoch_text, mut seq_text) = (itoa::Buffer::new(), itoa::Buffer::new());
    [
        room_id,
        "|",
        epoch_text.format(epoch),
        "|",
        seq_text.format(seq),
    ]
    .concat()
}

/// Reads a member built by [`pending_member`]: `(room_id, epoch, seq)`.
pub fn parse_pending_member(member: &str) -> Option<(&str, u64, u64)> {
    let mut parts = member.rsplitn(3, '|');
    let seq = parts.next()?.parse().ok()?;
    let epoch = parts.next()?.parse().ok()?;
    let room_id = parts.next()?;
    Some((room_id, epoch, seq))
}

/// The id of a position in a room's stream.
pub fn stream_id(epoch: u64, seq: u64) -> String {
    let (mut epoch_text, mut seq_text) = (itoa::Buffer::new(), itoa::Buffer::new());
    [epoch_text.format(epoch), "-", seq_text.format(seq)].concat()
}

/// Reads a stream id built by [`stream_id`]: `(epoch, seq)`.
pub fn parse_stream_id(id: &str) -> Option<(u64, u64)> {
    let (epoch, seq) = id.split_once('-')?;
    Some((epoch.parse().ok()?, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_keys_share_one_hash_tag() {
        let keys = RoomKeys::new("chat:", "r1");
        assert_eq!(keys.seq(), "chat:room:{r1}:seq");
        assert_eq!(keys.stream(), "chat:room:{r1}:stream");
        assert_eq!(keys.dedup("u1", "m:1"), "chat:room:{r1}:dedup:2:u1:m:1");
        assert_ne!(keys.dedup("u1:a", "b"), keys.dedup("u1", "a:b"));
    }

    #[test]
    fn every_slot_has_a_tag_and_pending_keys_land_in_it() {
        for slot in 0..SLOTS {
            let (set, data) = slot_pending_keys("chat:", slot);
            assert_eq!(key_slot(&set), slot);
            assert_eq!(key_slot(&data), slot);
        }
        let room = RoomKeys::new("chat:", "r1");
        let (set, _) = slot_pending_keys("chat:", key_slot(&room.seq()));
        assert_eq!(key_slot(&set), key_slot(&room.stream()));
    }

    #[test]
    fn members_and_ids_round_trip() {
        let member = pending_member("room|odd", 1_700_000_000_000, 42);
        assert_eq!(
            parse_pending_member(&member),
            Some(("room|odd", 1_700_000_000_000, 42))
        );
        assert_eq!(parse_pending_member("garbage"), None);
        assert_eq!(parse_stream_id(&stream_id(5, 6)), Some((5, 6)));
        assert_eq!(parse_stream_id("5"), None);
    }
}
