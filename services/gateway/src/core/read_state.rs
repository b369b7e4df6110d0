//! How far each member has read each room: the read position (kept by history, only ever
//! moving forward) and the unread and mention counts after it. Moving it tells every
//! socket of the user, on every gateway (a `UserSignal` on the user's channel), so a
//! second device clears its badge at once; the room's other members learn it from a read
//! receipt ([`crate::core::receipts`]).

use std::collections::HashMap;

use chat_bus::{encode_signal, user_channel};
use chat_proto::v1::history_service_client::HistoryServiceClient;
use chat_proto::v1::{self as proto, MarkReadRequest, ReadMoved, ReadStatesRequest, UserSignal};
use chat_protocol::Position;
use chat_protocol::room::ReadState;
use chat_runtime::grpc_trace::TracedChannel;
use chat_runtime::redis_connection::RedisConnection;
use uuid::Uuid;

use crate::core::receipts::Receipts;

/// The most rooms one read of read states covers (history's limit).
pub const MAX_ROOMS: usize = 1000;

/// Reads and moves read positions. Cheap to clone.
#[derive(Clone)]
pub struct ReadStates {
    history: HistoryServiceClient<TracedChannel>,
    redis: RedisConnection,
    prefix: String,
    receipts: Receipts,
}

impl ReadStates {
    pub fn new(
        history: HistoryServiceClient<TracedChannel>,
        redis: RedisConnection,
        prefix: String,
        receipts: Receipts,
    ) -> Self {
        Self {
            history,
            redis,
            prefix,
            receipts,
        }
    }

    /// Moves `user`'s read position in `room` to `position` (the caller checked the
    /// membership); the position now. When it moved, the user's sockets are told, and
    /// the other members by a read receipt where the room has them.
    #[tracing::instrument(name = "read_state.mark", skip(self))]
    pub async fn mark(
        &self,
        user: Uuid,
        room: Uuid,
        position: Position,
    ) -> Result<Position, tonic::Status> {
        let answer = self
            .history
            .clone()
            .mark_read(MarkReadRequest {
                user_id: user.to_string(),
                room_id: room.to_string(),
                position: Some(proto::Position {
                    epoch: position.epoch,
                    seq: position.seq,
                }),
            })
            .await?
            .into_inner();
        let now = answer
            .position
            .map_or(position, |at| Position::new(at.epoch, at.seq));
        if answer.moved {
            self.announce(user, room, now).await;
            self.receipts.moved(user.into(), room.into(), now).await;
        }
        Ok(now)
    }

    /// Tells every socket of `user` where they now stand in `room`. Best effort: the
    /// position is stored; a device that missed it reads it at its next `ready`.
    async fn announce(&self, user: Uuid, room: Uuid, at: Position) {
        let signal = encode_signal(&UserSignal {
            session_id: String::new(),
            read: Some(ReadMoved {
                room_id: room.to_string(),
                epoch: at.epoch,
                seq: at.seq,
            }),
        });
        let published: redis::RedisResult<i64> = redis::cmd("SPUBLISH")
            .arg(user_channel(&self.prefix, user.to_string()))
            .arg(signal)
            .query_async(&mut self.redis.clone())
            .await;
        if let Err(err) = published {
            tracing::warn!(%user, error = %err, "read position not announced to the sockets");
        }
    }

    /// The read state of `user` in each of `rooms` (at most [`MAX_ROOMS`]).
    #[tracing::instrument(name = "read_state.read", skip(self, rooms), fields(rooms = rooms.len()))]
    pub async fn states(
        &self,
        user: Uuid,
        rooms: &[Uuid],
    ) -> Result<HashMap<Uuid, ReadState>, tonic::Status> {
        let mut states = HashMap::with_capacity(rooms.len());
        for chunk in rooms.chunks(MAX_ROOMS) {
            let answer = self
                .history
                .clone()
                .read_states(ReadStatesRequest {
                    user_id: user.to_string(),
                    room_ids: chunk.iter().map(Uuid::to_string).collect(),
                })
                .await?
                .into_inner();
            for state in answer.states {
                let Ok(room) = state.room_id.parse() else {
                    continue;
                };
                let position =
                    |at: Option<proto::Position>| at.map(|at| Position::new(at.epoch, at.seq));
                states.insert(
                    room,
                    ReadState {
                        last_position: position(state.last),
                        read_position: position(state.read),
                        unread: state.unread,
                        mentions: state.mentions,
                    },
                );
            }
        }
        Ok(states)
    }
}
