//! Reading what a socket missed in a room: the one mechanism behind resume, gaps in live
//! delivery, history lag and Redis restarts.
//!
//! A socket holds, per room, the last position it delivered (`epoch`, `seq`). Asked for
//! what follows, [`CatchUp::next`] reads the room's recent-events stream in Redis; when
//! the stream no longer reaches back that far, the older part comes from the history
//! service. History may still be behind the persistence queue: then the read is retried
//! with backoff for a bounded time, and only then is the gap declared unrecoverable.
//! When the socket's epoch is not the room's current one (Redis lost its counters), the
//! answer is a resync.

use std::time::{Duration, Instant};

use chat_bus::{CatchUp as Plan, Sequencer, decode_item};
use chat_proto::v1::history_service_client::HistoryServiceClient;
use chat_proto::v1::{ListEntriesAfterRequest, Position};
use chat_runtime::grpc_trace::TracedChannel;
use uuid::Uuid;

use crate::ws::frames::room_item_frame;

/// How many entries one step reads.
const PAGE: usize = 200;

/// One entry a socket missed, rendered for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    pub epoch: u64,
    pub seq: u64,
    /// `None` for an entry clients have no event for (it still takes its position).
    pub frame: Option<String>,
}

/// What follows a socket's position in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The next entries, contiguous from the asked position + 1, in order.
    Entries(Vec<Missed>),
    /// Nothing was missed.
    UpToDate,
    /// The socket's epoch is gone: start again from the room's current position
    /// (`(0, 0)` when Redis has no counter for the room right now).
    Resync { epoch: u64, seq: u64 },
    /// History did not catch up in time: skip to the room's current position.
    Unrecoverable { epoch: u64, seq: u64 },
}

/// Reads missed entries from the stream and from history. Cheap to clone.
#[derive(Clone)]
pub struct CatchUp {
    sequencer: Sequencer,
    history: HistoryServiceClient<TracedChannel>,
    history_wait: Duration,
}

impl CatchUp {
    /// Reads with `sequencer` and `history`, waiting at most `history_wait` for history
    /// to hold what the stream no longer does.
    pub fn new(
        sequencer: Sequencer,
        history: HistoryServiceClient<TracedChannel>,
        history_wait: Duration,
    ) -> Self {
        Self {
            sequencer,
            history,
            history_wait,
        }
    }

    /// What follows `(epoch, seq)` in `room` (see [`Step`]).
    #[tracing::instrument(name = "catchup.next", skip(self))]
    pub async fn next(&self, room: Uuid, epoch: u64, seq: u64) -> Step {
        let (epoch, seq) = if epoch == 0 {
            // Nothing seen yet: everything of the room's current epoch follows.
            match self.sequencer.current_position(&room.to_string()).await {
                Ok(Some((current, _))) => (current, 0),
                Ok(None) => return Step::UpToDate,
                Err(err) => {
                    tracing::warn!(%room, error = %err, "cannot read the room's position");
                    return Step::UpToDate;
                }
            }
        } else {
            (epoch, seq)
        };
        let deadline = Instant::now() + self.history_wait;
        let mut backoff = Duration::from_millis(50);
        let mut last_current = (0, 0);
        loop {
            match self.try_next(room, epoch, seq).await {
                Ok(Some(step)) => return step,
                Ok(None) => tracing::debug!(%room, epoch, seq, "history is behind; waiting"),
                Err(err) => tracing::warn!(%room, error = %err, "catch-up read failed; retrying"),
            }
            if let Ok(Some(current)) = self.sequencer.current_position(&room.to_string()).await {
                last_current = current;
            }
            if Instant::now() + backoff > deadline {
                tracing::warn!(%room, epoch, seq, "gap could not be filled in time");
                return Step::Unrecoverable {
                    epoch: last_current.0,
                    seq: last_current.1,
                };
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    }

    /// One attempt; `Ok(None)` when history does not (yet) hold what is needed.
    async fn try_next(&self, room: Uuid, epoch: u64, seq: u64) -> anyhow::Result<Option<Step>> {
        let room_id = room.to_string();
        let read = self
            .sequencer
            .read_after(&room_id, epoch, seq, PAGE)
            .await?;
        match read.plan(epoch, seq) {
            Plan::UpToDate => Ok(Some(Step::UpToDate)),
            Plan::Resync => {
                let (epoch, seq) = read.current.unwrap_or((0, 0));
                Ok(Some(Step::Resync { epoch, seq }))
            }
            Plan::Stream => {
                let entries = contiguous(
                    seq,
                    read.envelopes.iter().map(|envelope| {
                        let frame = decode_item(envelope)
                            .ok()
                            .and_then(|item| room_item_frame(envelope.epoch, envelope.seq, &item));
                        (envelope.epoch, envelope.seq, frame)
                    }),
                    epoch,
                );
                Ok((!entries.is_empty()).then_some(Step::Entries(entries)))
            }
            Plan::HistoryThenStream { history_through } => {
                let wanted = (history_through - seq).min(PAGE as u64) as u32;
                let page = self
                    .history
                    .clone()
                    .list_entries_after(ListEntriesAfterRequest {
                        room_id,
                        after: Some(Position { epoch, seq }),
                        limit: wanted,
                    })
                    .await?
                    .into_inner();
                let entries = contiguous(
                    seq,
                    page.entries.iter().filter_map(|entry| {
                        let position = entry.position.as_ref()?;
                        let frame = entry
                            .item
                            .as_ref()
                            .and_then(|item| room_item_frame(position.epoch, position.seq, item));
                        Some((position.epoch, position.seq, frame))
                    }),
                    epoch,
                );
                Ok((!entries.is_empty()).then_some(Step::Entries(entries)))
            }
        }
    }
}

/// The entries of `epoch` that follow `after` without a hole.
fn contiguous(
    after: u64,
    entries: impl Iterator<Item = (u64, u64, Option<String>)>,
    epoch: u64,
) -> Vec<Missed> {
    let mut next = after + 1;
    let mut out = Vec::new();
    for (entry_epoch, seq, frame) in entries {
        if entry_epoch != epoch || seq < next {
            continue;
        }
        if seq > next {
            break;
        }
        out.push(Missed { epoch, seq, frame });
        next += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_unbroken_run_after_the_position_counts() {
        let entries = vec![
            (5, 3, None),
            (5, 4, Some("a".to_owned())),
            (5, 5, None),
            (5, 7, None),
        ];
        let got = contiguous(3, entries.into_iter(), 5);
        assert_eq!(got.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![4, 5]);

        let other_epoch = vec![(6, 1, None)];
        assert!(contiguous(3, other_epoch.into_iter(), 5).is_empty());
    }
}
