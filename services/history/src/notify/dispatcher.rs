//! Due notifications out to browsers: each checked once more (read already? looking at
//! the room? still wanted?) and pushed to every subscription of the person.

use chat_protocol::notification::PushNotification;
use chat_protocol::{MessageId, RoomId, Timestamp};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::directory::Directory;
use super::focus::Focus;
use super::levels::{self, effective, tells};
use super::subscriptions::{self, Subscription};
use super::webpush::{Outcome, Pusher, Urgency};
use super::{PUSHES_METRIC, SKIPPED_METRIC};

/// Due notifications taken per round.
const BATCH: i64 = 100;

/// A notification whose delay has passed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Due {
    pub user_id: Uuid,
    pub room_id: Uuid,
    pub count: i32,
    pub mention: bool,
    pub direct: bool,
    pub message_id: Uuid,
    pub sender_id: Uuid,
    pub excerpt: String,
    pub sent_at: OffsetDateTime,
    pub epoch: i64,
    pub seq: i64,
}

/// Sends due notifications. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    pool: PgPool,
    directory: Directory,
    focus: Focus,
    pusher: Option<Pusher>,
}

impl Dispatcher {
    pub fn new(pool: PgPool, directory: Directory, focus: Focus, pusher: Option<Pusher>) -> Self {
        Self {
            pool,
            directory,
            focus,
            pusher,
        }
    }

    /// Takes up to one batch of due notifications and sends them; how many it took. A
    /// notification is deleted as it is taken: a crash while sending loses it rather than
    /// sending it twice.
    pub async fn dispatch_once(&self) -> anyhow::Result<usize> {
        let due: Vec<Due> = sqlx::query_as(
            "DELETE FROM pending_notifications WHERE (user_id, room_id) IN (
                 SELECT user_id, room_id FROM pending_notifications WHERE due_at <= now()
                 ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
             RETURNING *",
        )
        .bind(BATCH)
        .fetch_all(&self.pool)
        .await?;
        for notification in &due {
            match self.why_not(notification).await? {
                Some(reason) => {
                    metrics::counter!(SKIPPED_METRIC, "reason" => reason).increment(1);
                }
                None => self.send(notification).await,
            }
        }
        Ok(due.len())
    }

    /// Why `due` is not to be sent, if it is not.
    async fn why_not(&self, due: &Due) -> anyhow::Result<Option<&'static str>> {
        let read: Option<bool> = sqlx::query_scalar(
            "SELECT (epoch, seq) >= ($3, $4) FROM read_positions
             WHERE user_id = $1 AND room_id = $2",
        )
        .bind(due.user_id)
        .bind(due.room_id)
        .bind(due.epoch)
        .bind(due.seq)
        .fetch_optional(&self.pool)
        .await?;
        if read == Some(true) {
            return Ok(Some("read"));
        }
        let setting = levels::room_setting(&self.pool, due.user_id, due.room_id).await?;
        let account = levels::account_level(&self.pool, due.user_id).await?;
        let level = effective(&setting, account, due.direct, OffsetDateTime::now_utc());
        if !tells(level, due.mention) {
            return Ok(Some("level"));
        }
        if self.focus.in_view(due.user_id, due.room_id).await {
            return Ok(Some("in_view"));
        }
        if self.pusher.is_none() {
            return Ok(Some("push_off"));
        }
        Ok(None)
    }

    async fn send(&self, due: &Due) {
        let Some(pusher) = &self.pusher else {
            return;
        };
        let subscriptions = match subscriptions::of_user(&self.pool, due.user_id).await {
            Ok(found) if found.is_empty() => {
                metrics::counter!(SKIPPED_METRIC, "reason" => "no_subscription").increment(1);
                return;
            }
            Ok(found) => found,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read push subscriptions");
                return;
            }
        };
        let payload = match self.payload(due).await {
            Ok(payload) => payload,
            Err(err) => {
                tracing::warn!(error = %err, "cannot describe a notification; not sent");
                metrics::counter!(PUSHES_METRIC, "outcome" => "failed").increment(1);
                return;
            }
        };
        let topic = due.room_id.simple().to_string();
        let urgency = if due.direct || due.mention {
            Urgency::High
        } else {
            Urgency::Normal
        };
        for subscription in &subscriptions {
            self.push(pusher, subscription, &payload, &topic, urgency)
                .await;
        }
    }

    async fn push(
        &self,
        pusher: &Pusher,
        to: &Subscription,
        payload: &[u8],
        topic: &str,
        urgency: Urgency,
    ) {
        match pusher.send(to, payload, topic, urgency).await {
            Outcome::Sent => {
                metrics::counter!(PUSHES_METRIC, "outcome" => "sent").increment(1);
            }
            Outcome::Gone => {
                metrics::counter!(PUSHES_METRIC, "outcome" => "gone").increment(1);
                tracing::info!(subscription = %to.id, "push subscription gone; removed");
                if let Err(err) = subscriptions::remove_gone(&self.pool, to.id).await {
                    tracing::warn!(error = %err, "a gone subscription was not removed");
                }
            }
            Outcome::Failed(why) => {
                metrics::counter!(PUSHES_METRIC, "outcome" => "failed").increment(1);
                tracing::warn!(subscription = %to.id, %why, "push not delivered");
            }
        }
    }

    /// The JSON a browser's service worker receives.
    async fn payload(&self, due: &Due) -> anyhow::Result<Vec<u8>> {
        let sender_name = self.directory.name_of(due.sender_id).await?;
        let room = self.directory.room(due.room_id, due.user_id).await?;
        let room_name = if room.direct || room.name.is_empty() {
            sender_name.clone()
        } else {
            room.name
        };
        let notification = PushNotification {
            kind: "message".to_owned(),
            room_id: RoomId::from(due.room_id),
            room_name,
            message_id: MessageId::from(due.message_id),
            sender_name,
            excerpt: due.excerpt.clone(),
            count: u32::try_from(due.count).unwrap_or(1),
            mention: due.mention,
            sent_at: Timestamp::from(due.sent_at),
            url: format!("/#/rooms/{}", due.room_id),
        };
        Ok(serde_json::to_vec(&notification)?)
    }
}
