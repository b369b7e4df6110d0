//! The original ack of a retried send whose dedup record Redis lost.
//!
//! The sequencer recognises a retried send by its dedup record in Redis, which keeps
//! nothing on disk: after Redis lost its data, a retry of a send acknowledged before
//! would take a second position. History stores every send under its
//! `(room, sender, client_msg_id)`, so a retry is answered from there instead, but only
//! while that can matter: when this Redis is younger than the dedup window
//! ([`Sequencer::born`]) and history holds entries stored before it (a fresh deployment
//! holds none, so it pays nothing). The answer is re-read every few seconds, so a Redis
//! restart is noticed without a word from anyone.
//!
//! A send acknowledged just before Redis lost its data but not yet stored by history (its
//! message still in the queue) is not found; that window is the queue's lag.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chat_bus::Sequencer;
use chat_proto::v1::history_service_client::HistoryServiceClient;
use chat_proto::v1::{FindSendRequest, StoredBeforeRequest, StoredMessage};
use chat_runtime::grpc_trace::TracedChannel;
use uuid::Uuid;

/// How long an answer to "may Redis have lost dedup records?" is reused.
pub const RECHECK: Duration = Duration::from_secs(5);

/// History failed to answer; the send cannot be judged (nothing is appended).
#[derive(Debug, thiserror::Error)]
#[error("cannot tell whether this send was stored before: {0}")]
pub struct LookupFailed(String);

/// Looks up sends in history while Redis may have lost their dedup records. Cheap to
/// clone.
#[derive(Clone)]
pub struct SendLookup {
    sequencer: Sequencer,
    history: HistoryServiceClient<TracedChannel>,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// The born marker history last answered about, and its answer: whether it holds
    /// entries stored before it.
    answered: Option<(u64, bool)>,
    /// The born marker last read and the answer in force (reused for [`RECHECK`]).
    current: Option<(u64, bool)>,
    checked_at: Option<Instant>,
}

impl SendLookup {
    pub fn new(sequencer: Sequencer, history: HistoryServiceClient<TracedChannel>) -> Self {
        Self {
            sequencer,
            history,
            state: Arc::default(),
        }
    }

    /// The message stored for this send, when Redis may have forgotten it.
    pub async fn find(
        &self,
        room: Uuid,
        sender: Uuid,
        client_msg_id: &str,
    ) -> Result<Option<StoredMessage>, LookupFailed> {
        if !self.redis_may_have_forgotten().await? {
            return Ok(None);
        }
        let found = self
            .history
            .clone()
            .find_send(FindSendRequest {
                room_id: room.to_string(),
                sender_id: sender.to_string(),
                client_msg_id: client_msg_id.to_owned(),
            })
            .await
            .map_err(|status| LookupFailed(status.message().to_owned()))?;
        Ok(found.into_inner().message)
    }

    async fn redis_may_have_forgotten(&self) -> Result<bool, LookupFailed> {
        let known = {
            let state = self.state.lock().expect("lock");
            match (state.current, state.checked_at) {
                (Some(born), Some(at)) if at.elapsed() < RECHECK => Some(born),
                _ => None,
            }
        };
        let (born, older_entries) = match known {
            Some(known) => known,
            None => self.check().await?,
        };
        Ok(older_entries && age(born) < self.sequencer.dedup_ttl())
    }

    /// Reads the born marker and, when it changed, asks history about older entries.
    /// History being unreachable does not stop sends: a marker this process saw change
    /// counts as a loss, a first one as none, and history is asked again next time.
    async fn check(&self) -> Result<(u64, bool), LookupFailed> {
        let born = self
            .sequencer
            .born()
            .await
            .map_err(|err| LookupFailed(err.to_string()))?;
        let answered = self.state.lock().expect("lock").answered;
        let older_entries = match answered {
            Some((known, older)) if known == born => older,
            // A Redis older than the dedup window forgot nothing that still matters (and
            // history is not asked to scan for entries older than it).
            _ if age(born) >= self.sequencer.dedup_ttl() => false,
            _ => {
                let at = UNIX_EPOCH + Duration::from_millis(born);
                match self
                    .history
                    .clone()
                    .stored_before(StoredBeforeRequest {
                        at: Some(prost_types::Timestamp::from(at)),
                    })
                    .await
                {
                    Ok(answer) => {
                        let older = answer.into_inner().any;
                        self.state.lock().expect("lock").answered = Some((born, older));
                        older
                    }
                    Err(status) => {
                        tracing::warn!(
                            message = status.message(),
                            "history cannot say whether Redis lost sends; asking again later"
                        );
                        answered.is_some()
                    }
                }
            }
        };
        let mut state = self.state.lock().expect("lock");
        state.current = Some((born, older_entries));
        state.checked_at = Some(Instant::now());
        Ok((born, older_entries))
    }
}

/// How long ago `born` (Unix milliseconds) was.
fn age(born: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    Duration::from_millis(now.saturating_sub(born))
}
