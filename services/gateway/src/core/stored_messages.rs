//! One message as history stores it, read by id for the checks that need it (changes to
//! a message, a reply's target), with what history may not show yet: a deletion marked a
//! moment ago in Redis (`chat_bus::ChangeMarks`), and a message acknowledged a moment
//! ago (history stores it milliseconds after its ack, so the read waits briefly for a
//! recent id).

use std::time::{Duration, SystemTime};

use chat_bus::ChangeMarks;
use chat_proto::v1::history_service_client::HistoryServiceClient;
use chat_proto::v1::{GetMessagesRequest, StoredMessage};
use chat_runtime::grpc_trace::TracedChannel;
use uuid::Uuid;

/// How long a read waits for history to hold a message sent just before.
const STORED_WAIT: Duration = Duration::from_secs(2);

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("history: {0}")]
    History(#[from] tonic::Status),
    #[error("redis: {0}")]
    Marks(#[from] chat_bus::BusError),
}

/// Reads single messages. Cheap to clone.
#[derive(Clone)]
pub struct StoredMessages {
    history: HistoryServiceClient<TracedChannel>,
    marks: ChangeMarks,
}

impl StoredMessages {
    pub fn new(history: HistoryServiceClient<TracedChannel>, marks: ChangeMarks) -> Self {
        Self { history, marks }
    }

    /// The message with its reactions as `viewer` sees them, a tombstone when deleted
    /// (even a moment ago); `None` when there is no such message.
    pub async fn get(&self, id: Uuid, viewer: Uuid) -> Result<Option<StoredMessage>, ReadError> {
        let Some(mut stored) = self.fetch(id, viewer).await? else {
            return Ok(None);
        };
        if stored.deleted_at.is_none()
            && let Some(at) = self
                .marks
                .deleted_at(&stored.room_id, &id.to_string())
                .await?
        {
            stored.content.clear();
            stored.reactions.clear();
            stored.attachments.clear();
            stored.edited_at = None;
            stored.deleted_at = Some(prost_types::Timestamp {
                seconds: at.div_euclid(1000),
                nanos: i32::try_from(at.rem_euclid(1000) * 1_000_000).unwrap_or(0),
            });
        }
        Ok(Some(stored))
    }

    /// The message from history, waiting briefly for one that was just sent.
    async fn fetch(&self, id: Uuid, viewer: Uuid) -> Result<Option<StoredMessage>, ReadError> {
        let deadline = tokio::time::Instant::now() + STORED_WAIT;
        let mut pause = Duration::from_millis(20);
        loop {
            let found = self
                .history
                .clone()
                .get_messages(GetMessagesRequest {
                    ids: vec![id.to_string()],
                    viewer_id: viewer.to_string(),
                })
                .await?
                .into_inner()
                .messages
                .into_iter()
                .next();
            if found.is_some() {
                return Ok(found);
            }
            // Only an id acknowledged recently is worth waiting for: a UUIDv7 of the
            // last minute.
            if tokio::time::Instant::now() + pause > deadline || !recent(id) {
                return Ok(None);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }
}

/// Whether a UUIDv7 was made in the last minute.
fn recent(id: Uuid) -> bool {
    let Some(at) = id.get_timestamp() else {
        return false;
    };
    let (seconds, nanos) = at.to_unix();
    let made = SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos);
    made.elapsed()
        .is_ok_and(|age| age < Duration::from_secs(60))
}
