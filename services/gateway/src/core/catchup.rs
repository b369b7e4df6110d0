//! Reading what a socket missed in a room: the one mechanism behind resume, gaps in live
//! delivery, history lag and Redis restarts.
//!
//! A socket holds, per room, the last position it delivered (`epoch`, `seq`). Asked for
//! what follows, [`CatchUp::next`] reads the room's recent-events stream in Redis; when
//! the stream no longer reaches back that far, the older part comes from the history
//! service. History may still be behind the persistence queue: then the read is retried
//! with backoff for a bounded time, and only then is the gap declared unrecoverable.
//! When the socket's epoch is not the room's current one (Redis lost its counters), the
//! answer is a resync: from the start of the new epoch while the stream still holds its
//! first entry, otherwise from the room's current position.
//!
//! Positions given to a socket are always read from Redis: when Redis cannot be read
//! (after the same bounded retries), the answer is [`Unreadable`], never a made-up one.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::time::{Duration, Instant};

use chat_bus::{BusError, CatchUp as Plan, ChangeMarks, Sequencer, decode_item};
use chat_proto::v1::history_service_client::HistoryServiceClient;
use chat_proto::v1::room_item::Body;
use chat_proto::v1::{self as proto, ListEntriesAfterRequest, RoomItem};
use chat_protocol::Position;
use chat_runtime::grpc_trace::TracedChannel;
use uuid::Uuid;

use crate::core::outbox::Removal;
use crate::core::render::room_item_frame;

/// The most entries one step reads.
pub const PAGE: usize = 200;

/// One entry a socket missed, rendered for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    pub position: Position,
    /// `None` for an entry clients have no event for (it still takes its position).
    pub frame: Option<String>,
    /// Whose membership the entry ends, if it ends one.
    pub removal: Option<Removal>,
}

/// What follows a socket's position in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The next entries, contiguous from the asked position + 1, in order.
    Entries(Vec<Missed>),
    /// Nothing was missed.
    UpToDate,
    /// The socket's position cannot be continued (its epoch is gone, or it is beyond the
    /// room's): go on from this one. Its `seq` is 0 when the stream still holds the new
    /// epoch from its first entry (what follows is read like any other gap); otherwise
    /// it is the room's current position (the client reloads from history). Nothing
    /// when Redis has no counter for the room right now.
    Resync(Position),
    /// History did not catch up in time: skip to the room's current position.
    Unrecoverable(Position),
}

/// Redis could not be read, even after retrying for a bounded time: there is no true
/// position to give the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the room's position or recent events cannot be read from Redis")]
pub struct Unreadable;

/// Why one read attempt failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Redis(#[from] BusError),
    #[error("history: {0}")]
    History(#[from] tonic::Status),
}

/// Reads missed entries from the stream and from history. Cheap to clone.
#[derive(Clone)]
pub struct CatchUp {
    sequencer: Sequencer,
    marks: ChangeMarks,
    history: HistoryServiceClient<TracedChannel>,
    history_wait: Duration,
}

impl CatchUp {
    /// Reads with `sequencer` and `history`, waiting at most `history_wait` for history
    /// to hold what the stream no longer does.
    pub fn new(
        sequencer: Sequencer,
        marks: ChangeMarks,
        history: HistoryServiceClient<TracedChannel>,
        history_wait: Duration,
    ) -> Self {
        Self {
            sequencer,
            marks,
            history,
            history_wait,
        }
    }

    /// What follows `from` in `room` (see [`Step`]), at most `wanted` entries (and at
    /// most [`PAGE`]). Epoch 0 means nothing seen yet: everything of the room's current
    /// epoch follows.
    #[tracing::instrument(name = "catchup.next", skip(self))]
    pub async fn next(
        &self,
        room: Uuid,
        from: Position,
        wanted: usize,
    ) -> Result<Step, Unreadable> {
        let Position { epoch, seq } = from;
        let wanted = wanted.clamp(1, PAGE);
        let deadline = Instant::now() + self.history_wait;
        let mut backoff = Duration::from_millis(50);
        loop {
            let redis_failed = match self.try_next(room, epoch, seq, wanted).await {
                Ok(Some(step)) => return Ok(step),
                Ok(None) => {
                    tracing::debug!(%room, epoch, seq, "history is behind; waiting");
                    false
                }
                Err(Failure::Redis(err)) => {
                    tracing::warn!(%room, error = %err, "catch-up read from Redis failed; retrying");
                    true
                }
                Err(err @ Failure::History(_)) => {
                    tracing::warn!(%room, error = %err, "catch-up read from history failed; retrying");
                    false
                }
            };
            if Instant::now() + backoff > deadline {
                if redis_failed {
                    return Err(Unreadable);
                }
                tracing::warn!(%room, epoch, seq, "gap could not be filled in time");
                return match self.sequencer.current_position(room.into()).await {
                    Ok(current) => Ok(Step::Unrecoverable(current.unwrap_or_default())),
                    Err(err) => {
                        tracing::warn!(%room, error = %err, "cannot read the room's position");
                        Err(Unreadable)
                    }
                };
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    }

    /// One attempt; `Ok(None)` when history does not (yet) hold what is needed.
    async fn try_next(
        &self,
        room: Uuid,
        epoch: u64,
        seq: u64,
        wanted: usize,
    ) -> Result<Option<Step>, Failure> {
        let room_id = room.to_string();
        let (epoch, seq) = if epoch == 0 {
            match self.sequencer.current_position(room.into()).await? {
                Some(current) => (current.epoch, 0),
                None => return Ok(Some(Step::UpToDate)),
            }
        } else {
            (epoch, seq)
        };
        let read = self
            .sequencer
            .read_after(&room_id, epoch, seq, wanted)
            .await?;
        match read.plan(epoch, seq) {
            Plan::UpToDate => Ok(Some(Step::UpToDate)),
            Plan::Resync => {
                let Some((current_epoch, current_seq)) = read.current else {
                    return Ok(Some(Step::Resync(Position::NOTHING)));
                };
                if current_epoch == epoch {
                    // A position beyond the room's: nothing the stream could say fits it.
                    return Ok(Some(Step::Resync(Position::new(
                        current_epoch,
                        current_seq,
                    ))));
                }
                // A new epoch (higher or lower: a Redis restored on a host whose clock is
                // behind gives a lower one). History may not hold it yet, so it is read
                // from the stream whenever the stream still starts at its first entry.
                let fresh = self
                    .sequencer
                    .read_after(&room_id, current_epoch, 0, 1)
                    .await?;
                let from_start = fresh.covers_from == Some(1)
                    && fresh.current.map(|(epoch, _)| epoch) == Some(current_epoch);
                Ok(Some(Step::Resync(Position::new(
                    current_epoch,
                    if from_start { 0 } else { current_seq },
                ))))
            }
            Plan::Stream => {
                let mut items: Vec<(u64, Option<RoomItem>)> = contiguous(
                    seq,
                    epoch,
                    read.envelopes
                        .iter()
                        .map(|envelope| (envelope.epoch, envelope.seq, envelope)),
                )
                .into_iter()
                .map(|(seq, envelope)| (seq, decode_item(envelope).ok()))
                .collect();
                self.redact_deleted(&room_id, &mut items).await?;
                let entries = missed(items, epoch, |item| item);
                Ok((!entries.is_empty()).then_some(Step::Entries(entries)))
            }
            Plan::HistoryThenStream { history_through } => {
                let limit = (history_through - seq).min(wanted as u64) as u32;
                let page = self
                    .history
                    .clone()
                    .list_entries_after(ListEntriesAfterRequest {
                        room_id,
                        after: Some(proto::Position { epoch, seq }),
                        limit,
                    })
                    .await?
                    .into_inner();
                let entries = missed(
                    contiguous(
                        seq,
                        epoch,
                        page.entries.iter().filter_map(|entry| {
                            let position = entry.position.as_ref()?;
                            Some((position.epoch, position.seq, entry))
                        }),
                    ),
                    epoch,
                    |entry| entry.item.as_ref(),
                );
                Ok((!entries.is_empty()).then_some(Step::Entries(entries)))
            }
        }
    }
}

impl CatchUp {
    /// Erases the content of the messages (their edits, and replies' excerpts of them)
    /// among `items` that were deleted since: the stream keeps entries as they were
    /// sequenced, and deleted content is never sent again (history erases its own copy).
    async fn redact_deleted(
        &self,
        room_id: &str,
        items: &mut [(u64, Option<RoomItem>)],
    ) -> Result<(), BusError> {
        let subjects: Vec<String> = items
            .iter()
            .flat_map(
                |(_, item)| match item.as_ref().and_then(|item| item.body.as_ref()) {
                    Some(Body::Message(message)) => {
                        let quoted = message.reply_preview.as_ref().map(|p| p.message_id.clone());
                        [Some(message.id.clone()), quoted]
                    }
                    Some(Body::Edited(edit)) => [Some(edit.message_id.clone()), None],
                    _ => [None, None],
                },
            )
            .flatten()
            .collect();
        let ids: Vec<&str> = subjects.iter().map(String::as_str).collect();
        let deleted = self.marks.deleted_among(room_id, &ids).await?;
        let gone: HashSet<&str> = ids
            .iter()
            .zip(deleted)
            .filter_map(|(id, deleted)| deleted.then_some(*id))
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        for (_, item) in items.iter_mut() {
            match item.as_mut().and_then(|item| item.body.as_mut()) {
                Some(Body::Message(message)) => {
                    if gone.contains(message.id.as_str()) {
                        message.content.clear();
                        message.attachments.clear();
                    }
                    if let Some(preview) = message.reply_preview.as_mut()
                        && gone.contains(preview.message_id.as_str())
                    {
                        preview.excerpt.clear();
                        preview.deleted = true;
                    }
                }
                Some(Body::Edited(edit)) if gone.contains(edit.message_id.as_str()) => {
                    edit.content.clear();
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Renders the kept entries (and only those) for the client.
fn missed<T, I: Borrow<RoomItem>>(
    entries: Vec<(u64, T)>,
    epoch: u64,
    item: impl Fn(T) -> Option<I>,
) -> Vec<Missed> {
    entries
        .into_iter()
        .map(|(seq, entry)| {
            let item = item(entry);
            let item = item.as_ref().map(Borrow::borrow);
            Missed {
                position: Position::new(epoch, seq),
                frame: item.and_then(|item| room_item_frame(Position::new(epoch, seq), item)),
                removal: item.and_then(Removal::of_item),
            }
        })
        .collect()
}

/// The entries of `epoch` that follow `after` without a hole, with their seq.
fn contiguous<T>(
    after: u64,
    epoch: u64,
    entries: impl Iterator<Item = (u64, u64, T)>,
) -> Vec<(u64, T)> {
    let mut next = after + 1;
    let mut out = Vec::new();
    for (entry_epoch, seq, entry) in entries {
        if entry_epoch != epoch || seq < next {
            continue;
        }
        if seq > next {
            break;
        }
        out.push((seq, entry));
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
        let got: Vec<(u64, Option<String>)> = contiguous(3, 5, entries.into_iter());
        assert_eq!(
            got.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
            vec![4, 5]
        );

        let other_epoch = vec![(6, 1, ())];
        assert!(contiguous(3, 5, other_epoch.into_iter()).is_empty());
    }
}
