//! Read receipts: how far the other members of a direct or small room have read.
//!
//! * Sending ([`Receipts::moved`]): a member's read position that moved in a room of at
//!   most the configured size, from a user who shares receipts, waits in this gateway's
//!   batch; every [`BATCH_EVERY`] each room's batch goes out as one `RoomSignal` on the
//!   room's channel (with several gateways, each batches its own readers).
//! * Receiving: the fan-out hub writes a `receipts` frame to the room's local sockets.
//! * Opening a room ([`Receipts::room_reads`]): the members' read positions, from
//!   history, for the members who share receipts.
//!
//! Whether a user shares receipts is their account's `send_read_receipts`, copied from
//! auth to the Redis set `{prefix}receipts:off` at every sign-in and every change (like
//! the presence setting), so a gateway asks Redis, not auth, on every read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use chat_bus::{encode_signal, room_channel};
use chat_proto::v1::{ListMembersRequest, ReadReceipt, RoomReadsRequest, RoomSignal};
use chat_protocol::room::{MemberRead, RoomReads};
use chat_protocol::server::Receipts as ReceiptsFrame;
use chat_protocol::{Position, RoomId, ServerFrame, UserId};
use chat_runtime::redis_connection::RedisConnection;
use chat_runtime::shutdown::CancellationToken;
use redis::AsyncCommands as _;
use uuid::Uuid;

use crate::core::clients::{HistoryClient, RoomsClient};
use crate::core::room_sizes::RoomSizes;

/// How often a gateway publishes each room's batch of receipts.
pub const BATCH_EVERY: Duration = Duration::from_secs(1);
/// Counter of receipt signals published (one per room and batch).
pub const RECEIPT_SIGNALS_METRIC: &str = "chat_gateway_receipt_signals_total";

/// Read receipts, sending and reading. Cheap to clone.
#[derive(Clone)]
pub struct Receipts {
    inner: Arc<Inner>,
}

struct Inner {
    redis: RedisConnection,
    prefix: String,
    sizes: RoomSizes,
    rooms: RoomsClient,
    history: HistoryClient,
    max_room_size: u32,
    /// Per room, the positions read since the last batch went out.
    pending: Mutex<HashMap<Uuid, HashMap<Uuid, Position>>>,
}

/// What [`Receipts`] needs to know.
pub struct ReceiptsConfig {
    pub redis: RedisConnection,
    pub prefix: String,
    pub sizes: RoomSizes,
    pub rooms: RoomsClient,
    pub history: HistoryClient,
    /// Rooms with more members than this have no receipts (direct rooms have two).
    pub max_room_size: u32,
}

impl Receipts {
    /// Starts publishing batches until `stop`.
    pub fn start(config: ReceiptsConfig, stop: CancellationToken) -> Self {
        let receipts = Self {
            inner: Arc::new(Inner {
                redis: config.redis,
                prefix: config.prefix,
                sizes: config.sizes,
                rooms: config.rooms,
                history: config.history,
                max_room_size: config.max_room_size,
                pending: Mutex::new(HashMap::new()),
            }),
        };
        let publisher = receipts.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(BATCH_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = every.tick() => publisher.publish_batches().await,
                }
            }
        });
        receipts
    }

    /// Copies `user`'s `send_read_receipts` setting where the gateways read it.
    pub async fn set_shared(&self, user: UserId, shared: bool) {
        let key = self.off_key();
        let mut redis = self.inner.redis.clone();
        let copied: redis::RedisResult<i64> = if shared {
            redis.srem(key, user.to_string()).await
        } else {
            redis.sadd(key, user.to_string()).await
        };
        if let Err(err) = copied {
            tracing::warn!(%user, error = %err, "read receipt setting not copied");
        }
    }

    /// `user`'s read position in `room` moved to `at`: a receipt for the room's next
    /// batch, when the room is small enough and the user shares receipts. Best effort.
    pub async fn moved(&self, user: UserId, room: RoomId, at: Position) {
        if !self
            .inner
            .sizes
            .at_most(user, room, self.inner.max_room_size)
            .await
        {
            return;
        }
        let off: redis::RedisResult<bool> = self
            .inner
            .redis
            .clone()
            .sismember(self.off_key(), user.to_string())
            .await;
        match off {
            Ok(false) => {}
            Ok(true) => return,
            Err(err) => {
                tracing::debug!(%user, error = %err, "receipt setting unknown; no receipt");
                return;
            }
        }
        let mut pending = self.inner.pending.lock().expect("lock");
        let reads = pending.entry(room.as_uuid()).or_default();
        let read = reads.entry(user.as_uuid()).or_insert(at);
        *read = (*read).max(at);
    }

    /// How far the members of `room` who share receipts have read (the caller, a member,
    /// included); nothing for a room above the size.
    pub async fn room_reads(
        &self,
        caller: UserId,
        room: RoomId,
    ) -> Result<RoomReads, tonic::Status> {
        if !self
            .inner
            .sizes
            .at_most(caller, room, self.inner.max_room_size)
            .await
        {
            return Ok(RoomReads {
                receipts: false,
                reads: Vec::new(),
            });
        }
        let members = self
            .inner
            .rooms
            .clone()
            .list_members(ListMembersRequest {
                caller_id: caller.to_string(),
                room_id: room.to_string(),
                cursor: None,
                limit: self.inner.max_room_size,
            })
            .await?
            .into_inner()
            .members;
        let ids: Vec<String> = members.into_iter().map(|member| member.user_id).collect();
        let off: Vec<bool> = if ids.is_empty() {
            Vec::new()
        } else {
            redis::cmd("SMISMEMBER")
                .arg(self.off_key())
                .arg(&ids)
                .query_async(&mut self.inner.redis.clone())
                .await
                .map_err(|err| tonic::Status::unavailable(format!("redis: {err}")))?
        };
        let sharing = ids
            .into_iter()
            .zip(off)
            .filter_map(|(id, off)| (!off).then_some(id))
            .collect();
        let reads = self
            .inner
            .history
            .clone()
            .room_reads(RoomReadsRequest {
                room_id: room.to_string(),
                user_ids: sharing,
            })
            .await?
            .into_inner()
            .reads;
        Ok(RoomReads {
            receipts: true,
            reads: reads
                .into_iter()
                .filter_map(|read| {
                    let at = read.position?;
                    Some(MemberRead {
                        user_id: read.user_id.parse().ok()?,
                        position: Position::new(at.epoch, at.seq),
                    })
                })
                .collect(),
        })
    }

    /// Publishes each room's batch, one signal per room.
    async fn publish_batches(&self) {
        let batches = std::mem::take(&mut *self.inner.pending.lock().expect("lock"));
        for (room, reads) in batches {
            let payload = encode_signal(&RoomSignal {
                user_id: String::new(),
                typing: false,
                receipts: reads
                    .into_iter()
                    .map(|(user, at)| ReadReceipt {
                        user_id: user.to_string(),
                        epoch: at.epoch,
                        seq: at.seq,
                    })
                    .collect(),
            });
            let published: redis::RedisResult<i64> = redis::cmd("SPUBLISH")
                .arg(room_channel(&self.inner.prefix, room))
                .arg(payload)
                .query_async(&mut self.inner.redis.clone())
                .await;
            match published {
                Ok(_) => metrics::counter!(RECEIPT_SIGNALS_METRIC).increment(1),
                Err(err) => tracing::debug!(%room, error = %err, "receipts not published"),
            }
        }
    }

    fn off_key(&self) -> String {
        format!("{}receipts:off", self.inner.prefix)
    }
}

/// A `receipts` frame to write to the local sockets of `room`.
#[derive(Debug, Clone)]
pub struct ReceiptsDelivery {
    pub room: Uuid,
    /// Whose positions the frame carries.
    pub readers: Vec<Uuid>,
    pub frame: Utf8Bytes,
}

impl ReceiptsDelivery {
    /// Whether the frame is for a socket of `user`: not when it carries only the user's
    /// own position (their sockets had `read` for it already).
    pub fn is_for(&self, user: Uuid) -> bool {
        self.readers.iter().any(|reader| *reader != user)
    }

    /// The frame of a batch heard on `room`'s channel (unreadable receipts left out).
    pub fn new(room: Uuid, receipts: &[ReadReceipt]) -> Self {
        let reads: Vec<MemberRead> = receipts
            .iter()
            .filter_map(|read| {
                Some(MemberRead {
                    user_id: read.user_id.parse().ok()?,
                    position: Position::new(read.epoch, read.seq),
                })
            })
            .collect();
        let readers = reads.iter().map(|read| read.user_id.as_uuid()).collect();
        let frame = ServerFrame::Receipts(ReceiptsFrame {
            room: room.into(),
            reads,
        });
        Self {
            room,
            readers,
            frame: Utf8Bytes::from(frame.to_text()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(user: Uuid, seq: u64) -> ReadReceipt {
        ReadReceipt {
            user_id: user.to_string(),
            epoch: 1,
            seq,
        }
    }

    #[test]
    fn a_batch_of_only_ones_own_read_is_not_for_ones_own_sockets() {
        let (room, ada, bob) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let own = ReceiptsDelivery::new(room, &[receipt(ada, 4)]);
        assert!(!own.is_for(ada));
        assert!(own.is_for(bob));
        let both = ReceiptsDelivery::new(room, &[receipt(ada, 4), receipt(bob, 3)]);
        assert!(both.is_for(ada) && both.is_for(bob));
        let frame: serde_json::Value = serde_json::from_str(both.frame.as_str()).unwrap();
        assert_eq!(frame["type"], "receipts");
        assert_eq!(frame["reads"].as_array().unwrap().len(), 2);
    }
}
