//! From stored messages to pending notifications: who would be told of each message in
//! the outbox, grouped per (user, room) until the delay has passed.

use std::time::Duration;

use chat_protocol::notification::NotificationLevel;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use tonic::Code;
use uuid::Uuid;

use super::directory::Directory;
use super::levels::{self, effective, tells};

/// Outbox rows planned per transaction.
const BATCH: i64 = 100;
/// Characters of a message a notification shows.
pub const EXCERPT_CHARS: usize = 140;

/// A stored message waiting in the outbox (absent columns: no longer stored).
#[derive(Debug, sqlx::FromRow)]
struct Outgoing {
    message_id: Uuid,
    room_id: Option<Uuid>,
    sender_id: Option<Uuid>,
    epoch: Option<i64>,
    seq: Option<i64>,
    content: Option<String>,
    kind: Option<i16>,
    mentions: Option<Vec<Uuid>>,
    mentions_room: Option<bool>,
    sent_at: Option<OffsetDateTime>,
    deleted: Option<bool>,
}

/// Plans the outbox. Cheap to clone.
#[derive(Clone)]
pub struct Planner {
    pool: PgPool,
    directory: Directory,
    delay: Duration,
    /// Messages sent longer ago than this (planning held up by an outage of rooms) are
    /// told to nobody: a push about them would come too late to help.
    max_age: Duration,
}

impl Planner {
    pub fn new(pool: PgPool, directory: Directory, delay: Duration, max_age: Duration) -> Self {
        Self {
            pool,
            directory,
            delay,
            max_age,
        }
    }

    /// Plans up to one batch of the outbox in one transaction; how many messages it took.
    /// A transient failure (rooms unreachable) leaves the batch for the next try.
    pub async fn plan_once(&self) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await?;
        let batch: Vec<Outgoing> = sqlx::query_as(
            "SELECT o.message_id, m.room_id, m.sender_id, m.epoch, m.seq, m.content, m.kind,
                    m.mentions, m.mentions_room, m.sent_at, m.deleted_at IS NOT NULL AS deleted
             FROM notification_outbox AS o
             LEFT JOIN messages AS m ON m.room_id = o.room_id AND m.id = o.message_id
             ORDER BY o.stored_at
             LIMIT $1
             FOR UPDATE OF o SKIP LOCKED",
        )
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if batch.is_empty() {
            return Ok(0);
        }
        for message in &batch {
            self.plan(&mut tx, message).await?;
        }
        let ids: Vec<Uuid> = batch.iter().map(|m| m.message_id).collect();
        sqlx::query("DELETE FROM notification_outbox WHERE message_id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(batch.len())
    }

    async fn plan(&self, tx: &mut PgConnection, message: &Outgoing) -> anyhow::Result<()> {
        let (Some(room), Some(sender), Some(epoch), Some(seq), Some(sent_at)) = (
            message.room_id,
            message.sender_id,
            message.epoch,
            message.seq,
            message.sent_at,
        ) else {
            return Ok(());
        };
        if message.deleted == Some(true) || OffsetDateTime::now_utc() - sent_at > self.max_age {
            return Ok(());
        }
        let asked = async {
            let direct = self.directory.is_direct(room, sender).await?;
            let members = self.directory.members(room, sender).await?;
            Ok::<_, tonic::Status>((direct, members))
        };
        let (direct, members) = match asked.await {
            Ok(found) => found,
            // The room is gone, or the sender no longer in it: nobody to tell.
            Err(status) if matches!(status.code(), Code::NotFound | Code::PermissionDenied) => {
                return Ok(());
            }
            Err(status) => anyhow::bail!("rooms could not list the members: {status}"),
        };
        let recipients: Vec<Uuid> = members.iter().copied().filter(|m| *m != sender).collect();
        if recipients.is_empty() {
            return Ok(());
        }
        let settings = levels::room_settings(&mut *tx, room, &recipients).await?;
        let accounts = levels::account_levels(&mut *tx, &recipients).await?;
        let now = OffsetDateTime::now_utc();
        let mentions = message.mentions.as_deref().unwrap_or_default();
        let mentions_room = message.mentions_room.unwrap_or(false);
        let mut told = Vec::new();
        let mut mentioned = Vec::new();
        for user in recipients {
            let setting = settings
                .iter()
                .find(|(u, _)| *u == user)
                .map(|(_, s)| s.clone())
                .unwrap_or_default();
            let account = accounts
                .iter()
                .find(|(u, _)| *u == user)
                .map(|(_, level)| *level);
            let level: NotificationLevel = effective(&setting, account, direct, now);
            let is_mentioned = mentions_room || mentions.contains(&user);
            if tells(level, is_mentioned) {
                told.push(user);
                mentioned.push(is_mentioned);
            }
        }
        if told.is_empty() {
            return Ok(());
        }
        let excerpt = excerpt(
            message.content.as_deref().unwrap_or_default(),
            message.kind.unwrap_or(1),
        );
        sqlx::query(
            "INSERT INTO pending_notifications AS p
                 (user_id, room_id, due_at, count, mention, direct, message_id, sender_id,
                  excerpt, sent_at, epoch, seq)
             SELECT u, $3, now() + $4::interval, 1, m, $5, $6, $7, $8, $9, $10, $11
             FROM UNNEST($1::uuid[], $2::bool[]) AS t(u, m)
             ON CONFLICT (user_id, room_id) DO UPDATE SET
                 count = p.count + 1,
                 mention = p.mention OR EXCLUDED.mention,
                 message_id = CASE WHEN (EXCLUDED.epoch, EXCLUDED.seq) > (p.epoch, p.seq)
                                   THEN EXCLUDED.message_id ELSE p.message_id END,
                 sender_id = CASE WHEN (EXCLUDED.epoch, EXCLUDED.seq) > (p.epoch, p.seq)
                                  THEN EXCLUDED.sender_id ELSE p.sender_id END,
                 excerpt = CASE WHEN (EXCLUDED.epoch, EXCLUDED.seq) > (p.epoch, p.seq)
                                THEN EXCLUDED.excerpt ELSE p.excerpt END,
                 sent_at = GREATEST(p.sent_at, EXCLUDED.sent_at),
                 epoch = CASE WHEN (EXCLUDED.epoch, EXCLUDED.seq) > (p.epoch, p.seq)
                              THEN EXCLUDED.epoch ELSE p.epoch END,
                 seq = CASE WHEN (EXCLUDED.epoch, EXCLUDED.seq) > (p.epoch, p.seq)
                            THEN EXCLUDED.seq ELSE p.seq END",
        )
        .bind(&told)
        .bind(&mentioned)
        .bind(room)
        .bind(format!("{} milliseconds", self.delay.as_millis()))
        .bind(direct)
        .bind(message.message_id)
        .bind(sender)
        .bind(excerpt)
        .bind(sent_at)
        .bind(epoch)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

/// What a notification shows of a message: the start of its text, or what it carries.
pub fn excerpt(content: &str, kind: i16) -> String {
    let text = content.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return match kind {
            3 => "🖼 an image".to_owned(),
            2 => "📎 a file".to_owned(),
            _ => String::new(),
        };
    }
    if text.chars().count() <= EXCERPT_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(EXCERPT_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_is_the_start_of_the_text_on_one_line() {
        assert_eq!(excerpt("hello\n  there", 1), "hello there");
        let long = "word ".repeat(100);
        let cut = excerpt(&long, 1);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn a_message_without_text_says_what_it_carries() {
        assert_eq!(excerpt("", 3), "🖼 an image");
        assert_eq!(excerpt("  ", 2), "📎 a file");
    }
}
