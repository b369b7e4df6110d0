//! Marks of the changes made lately to a room's messages, kept in Redis beside the
//! room's stream (one hash per room, in the room's slot):
//!
//! - `<message_id>:deleted` = when it was deleted (Unix ms). Set at most once
//!   (`HSETNX`), so two deletions of one message at once make one entry; and catch-up
//!   from the stream, which holds entries as they were sequenced, reads it to leave the
//!   content of deleted messages out.
//! - `<message_id>:edit` = `<ms>:<content>` of the message's last edit, so an edit
//!   retried before history stored the first one is recognised and makes no entry.
//!
//! - `<message_id>:r:<user_id>:<emoji>` = `1` (reacted) or `0` (taken back): the last
//!   reaction change of that user and emoji, swapped atomically, so a reaction given
//!   twice at once makes one `reaction.added`.
//!
//! The hash lives as long as the stream may hold the entries (refreshed on every mark);
//! past that, history is the reference and has erased deleted content itself.

use std::time::Duration;

use chat_runtime::redis_connection::RedisConnection;

use crate::BusError;
use crate::keys::RoomKeys;

/// The room's change marks. Cheap to clone.
#[derive(Clone)]
pub struct ChangeMarks {
    connection: RedisConnection,
    prefix: String,
    ttl: Duration,
}

impl ChangeMarks {
    /// Marks under `prefix`, kept for `ttl` after the room's last change.
    pub fn new(connection: RedisConnection, prefix: impl Into<String>, ttl: Duration) -> Self {
        Self {
            connection,
            prefix: prefix.into(),
            ttl,
        }
    }

    fn key(&self, room_id: &str) -> String {
        RoomKeys::new(&self.prefix, room_id).changes()
    }

    fn ttl_seconds(&self) -> i64 {
        i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX).max(1)
    }

    /// Marks message `id` deleted at `at_ms`; `Some(ms)` when it already was (at `ms`).
    pub async fn mark_deleted(
        &self,
        room_id: &str,
        id: &str,
        at_ms: i64,
    ) -> Result<Option<i64>, BusError> {
        let key = self.key(room_id);
        let field = format!("{id}:deleted");
        let (set, existing): (bool, Option<i64>) = redis::pipe()
            .hset_nx(&key, &field, at_ms)
            .hget(&key, &field)
            .expire(&key, self.ttl_seconds())
            .ignore()
            .hdel(&key, format!("{id}:edit"))
            .ignore()
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(if set { None } else { existing })
    }

    /// Takes a deletion mark back (the deletion could not be made durable).
    pub async fn unmark_deleted(&self, room_id: &str, id: &str) -> Result<(), BusError> {
        let () = redis::cmd("HDEL")
            .arg(self.key(room_id))
            .arg(format!("{id}:deleted"))
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }

    /// When message `id` was marked deleted, if it was.
    pub async fn deleted_at(&self, room_id: &str, id: &str) -> Result<Option<i64>, BusError> {
        let at: Option<i64> = redis::cmd("HGET")
            .arg(self.key(room_id))
            .arg(format!("{id}:deleted"))
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(at)
    }

    /// Which of the messages `ids` are marked deleted, in the same order.
    pub async fn deleted_among(&self, room_id: &str, ids: &[&str]) -> Result<Vec<bool>, BusError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let fields: Vec<String> = ids.iter().map(|id| format!("{id}:deleted")).collect();
        let marks: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.key(room_id))
            .arg(&fields)
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(marks.into_iter().map(|mark| mark.is_some()).collect())
    }

    /// Marks whether `user` now reacts to message `id` with `emoji`; the mark before
    /// (`None`: none known).
    pub async fn swap_reaction(
        &self,
        room_id: &str,
        id: &str,
        user: &str,
        emoji: &str,
        present: bool,
    ) -> Result<Option<bool>, BusError> {
        static SWAP: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
            redis::Script::new(
                "local before = redis.call('HGET', KEYS[1], ARGV[1])
                 redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
                 redis.call('EXPIRE', KEYS[1], ARGV[3])
                 return before",
            )
        });
        let before: Option<String> = SWAP
            .key(self.key(room_id))
            .arg(format!("{id}:r:{user}:{emoji}"))
            .arg(if present { "1" } else { "0" })
            .arg(self.ttl_seconds())
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(before.map(|mark| mark == "1"))
    }

    /// Forgets a reaction mark (its change could not be made durable).
    pub async fn forget_reaction(
        &self,
        room_id: &str,
        id: &str,
        user: &str,
        emoji: &str,
    ) -> Result<(), BusError> {
        let () = redis::cmd("HDEL")
            .arg(self.key(room_id))
            .arg(format!("{id}:r:{user}:{emoji}"))
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }

    /// The last edit of message `id` marked: when (ms) and its content.
    pub async fn last_edit(
        &self,
        room_id: &str,
        id: &str,
    ) -> Result<Option<(i64, String)>, BusError> {
        let mark: Option<String> = redis::cmd("HGET")
            .arg(self.key(room_id))
            .arg(format!("{id}:edit"))
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(mark.and_then(|mark| {
            let (at, content) = mark.split_once(':')?;
            Some((at.parse().ok()?, content.to_owned()))
        }))
    }

    /// Marks `content` as the last edit of message `id`, made at `at_ms`.
    pub async fn mark_edit(
        &self,
        room_id: &str,
        id: &str,
        at_ms: i64,
        content: &str,
    ) -> Result<(), BusError> {
        let key = self.key(room_id);
        let () = redis::pipe()
            .hset(&key, format!("{id}:edit"), format!("{at_ms}:{content}"))
            .ignore()
            .expire(&key, self.ttl_seconds())
            .ignore()
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }
}
