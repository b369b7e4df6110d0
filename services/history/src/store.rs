//! The PostgreSQL side of history: storing batches of entries idempotently, and reading
//! them back by position.
//!
//! A batch is written in one transaction with one multi-row statement per table
//! (`UNNEST` of column arrays), so the cost per entry stays small at tens of thousands of
//! entries a second. Every write is idempotent: an entry already stored (same position
//! or same id) is skipped, and edits and deletions are applied by position, so replaying
//! any mix of envelopes in any order leaves the same rows.

use std::collections::HashMap;

use chat_proto::v1::{ReplyPreview, RoomEnvelope, RoomItem, room_item};
use prost::Message as _;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entry::{Deletion, Edit, Effect, Entry, NewMessage, Position, ReactionChange};
use crate::error::Error;

/// The columns of a message row, in `MessageRow`'s order.
pub(crate) const COLUMNS: &str = "id, room_id, epoch, seq, sender_id, client_msg_id, content, \
                       reply_to, kind, sent_at, edited_at, deleted_at, mentions, mentions_room, \
                       thread_root, attachments";

/// How many gave one emoji to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionCount {
    pub emoji: String,
    pub count: u32,
    /// The viewer is among them.
    pub reacted: bool,
}

/// One version of a message's content.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub position: Position,
    pub content: String,
    pub at: Option<prost_types::Timestamp>,
}

/// Unread and mention counts stop here (a client shows "99+").
pub const MAX_COUNTED: i64 = 100;

/// A user's read state in one room.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReadStateRow {
    pub room_id: Uuid,
    pub last_epoch: Option<i64>,
    pub last_seq: Option<i64>,
    pub read_epoch: Option<i64>,
    pub read_seq: Option<i64>,
    pub unread: i64,
    pub mentions: i64,
}

/// The most characters of a message a reply shows.
pub const EXCERPT_CHARS: usize = 100;

/// What one batch changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    /// Entries that were new.
    pub inserted: u64,
    /// Entries that were already stored (redeliveries, or swept and also delivered).
    pub duplicates: u64,
}

/// Which messages of a room a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The room's, thread replies included (or not).
    Room { with_thread_replies: bool },
    /// The replies of one thread.
    Thread(Uuid),
}

impl Scope {
    /// The SQL condition, the thread's root bound as parameter `$n`.
    fn predicate(self, n: u8) -> String {
        match self {
            Self::Room {
                with_thread_replies: true,
            } => String::new(),
            Self::Room {
                with_thread_replies: false,
            } => " AND thread_root IS NULL".to_owned(),
            Self::Thread(_) => format!(" AND thread_root = ${n}"),
        }
    }
}

/// What a thread holds so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadRow {
    pub reply_count: u32,
    pub last_reply_at: OffsetDateTime,
    pub participants: Vec<Uuid>,
}

/// The most repliers a thread summary names.
pub const THREAD_PARTICIPANTS: usize = 5;

/// Which page of messages to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageBound {
    /// The newest messages.
    Newest,
    /// The messages just older than this position (exclusive).
    Before(Position),
    /// The messages just newer than this position (exclusive).
    After(Position),
}

/// A page of messages, oldest first.
#[derive(Debug, Clone, Default)]
pub struct MessagePage {
    pub messages: Vec<MessageRow>,
    pub has_older: bool,
    pub has_newer: bool,
}

/// A stored message as readers see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub room_id: Uuid,
    pub epoch: i64,
    pub seq: i64,
    pub sender_id: Uuid,
    pub client_msg_id: String,
    pub content: String,
    pub reply_to: Option<Uuid>,
    pub kind: i16,
    pub sent_at: OffsetDateTime,
    pub edited_at: Option<OffsetDateTime>,
    pub deleted_at: Option<OffsetDateTime>,
    pub mentions: Vec<Uuid>,
    pub mentions_room: bool,
    pub thread_root: Option<Uuid>,
    /// The encoded `chat.v1.Attachments`; none once deleted.
    pub attachments: Option<Vec<u8>>,
}

impl MessageRow {
    pub fn position(&self) -> Position {
        Position {
            epoch: self.epoch,
            seq: self.seq,
        }
    }
}

/// A stored entry: its position and the encoded `RoomItem`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub epoch: i64,
    pub seq: i64,
    pub item: Vec<u8>,
}

/// The history database.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: PgPool,
}

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Stores a batch in one transaction: the entries, the new messages, then the edits
    /// and deletions (those of the batch, and those stored earlier for a message of the
    /// batch, which wait in `changes_before_message`). A reader never sees a message of
    /// the batch without the changes known when it committed. A change whose message is
    /// not stored waits in that table for it.
    ///
    /// Other writers (another replica, the sweeper) may store a message and its edit in
    /// two transactions at once, each unable to see the other's rows: the edit's batch
    /// finds no message and leaves the edit waiting, which the message's batch cannot
    /// see yet. So once committed, the changes are applied again: whichever of the two
    /// commits last then sees the other's rows (the message, or the waiting edit). The
    /// second pass is idempotent and nearly always matches nothing.
    #[tracing::instrument(
        name = "INSERT messages",
        skip_all,
        fields(
            otel.kind = "client",
            db.system.name = "postgresql",
            db.operation.name = "INSERT",
            db.collection.name = "messages",
            db.operation.batch.size = entries.len(),
        )
    )]
    pub async fn insert(&self, entries: &[Entry]) -> Result<Stored, sqlx::Error> {
        if entries.is_empty() {
            return Ok(Stored::default());
        }
        // One order for every writer, so two writers storing the same entries wait for
        // each other instead of deadlocking.
        let mut entries: Vec<&Entry> = entries.iter().collect();
        entries.sort_by_key(|entry| (entry.room_id, entry.position));
        let message_ids: Vec<Uuid> = entries
            .iter()
            .filter(|entry| matches!(entry.effect, Effect::Message(_)))
            .map(|entry| entry.id)
            .collect();
        let has_changes = entries.iter().any(|entry| entry.effect.subject().is_some());

        let mut tx = self.pool.begin().await?;
        let inserted = insert_entries(&mut tx, &entries).await?;
        insert_messages(&mut tx, &entries).await?;
        apply_changes(&mut tx, &entries, &message_ids).await?;
        tx.commit().await?;

        if has_changes || !message_ids.is_empty() {
            let mut connection = self.pool.acquire().await?;
            apply_changes(&mut connection, &entries, &message_ids).await?;
        }
        Ok(Stored {
            inserted,
            duplicates: entries.len() as u64 - inserted,
        })
    }

    /// Entries of a room strictly after `after`, oldest first, crossing into later epochs;
    /// the flag says whether more follow.
    #[tracing::instrument(skip(self))]
    pub async fn entries_after(
        &self,
        room_id: Uuid,
        after: Position,
        limit: u32,
    ) -> Result<(Vec<EntryRow>, bool), Error> {
        let mut rows = sqlx::query_as::<_, EntryRow>(
            "SELECT epoch, seq, item FROM room_entries
             WHERE room_id = $1 AND (epoch, seq) > ($2, $3)
             ORDER BY epoch, seq
             LIMIT $4",
        )
        .bind(room_id)
        .bind(after.epoch)
        .bind(after.seq)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        Ok((rows, has_more))
    }

    /// The newest message (not a thread reply) of each of `rooms` that has one; one index
    /// range per room.
    #[tracing::instrument(skip(self, rooms), fields(rooms = rooms.len()))]
    pub async fn latest_messages(&self, rooms: &[Uuid]) -> Result<Vec<MessageRow>, Error> {
        let sql = format!(
            "SELECT m.* FROM UNNEST($1::uuid[]) AS r(room_id)
             CROSS JOIN LATERAL (
                 SELECT {COLUMNS} FROM messages
                 WHERE messages.room_id = r.room_id AND messages.thread_root IS NULL
                 ORDER BY epoch DESC, seq DESC LIMIT 1
             ) AS m"
        );
        Ok(sqlx::query_as::<_, MessageRow>(&sql)
            .bind(rooms)
            .fetch_all(&self.pool)
            .await?)
    }

    /// A page of messages by position cursor, returned oldest first. One query reads one
    /// extra row to learn whether the page's far side goes on; the near side (towards the
    /// cursor) is one index probe.
    #[tracing::instrument(skip(self))]
    pub async fn messages(
        &self,
        room_id: Uuid,
        scope: Scope,
        bound: PageBound,
        limit: u32,
    ) -> Result<MessagePage, Error> {
        let cursor = match bound {
            PageBound::Newest => None,
            PageBound::Before(position) | PageBound::After(position) => Some(position),
        };
        let only = scope.predicate(if cursor.is_some() { 5 } else { 3 });
        let sql = match bound {
            PageBound::Newest => format!(
                "SELECT {COLUMNS} FROM messages WHERE room_id = $1{only}
                 ORDER BY epoch DESC, seq DESC LIMIT $2"
            ),
            PageBound::Before(_) => format!(
                "SELECT {COLUMNS} FROM messages WHERE room_id = $1 AND (epoch, seq) < ($3, $4){only}
                 ORDER BY epoch DESC, seq DESC LIMIT $2"
            ),
            PageBound::After(_) => format!(
                "SELECT {COLUMNS} FROM messages WHERE room_id = $1 AND (epoch, seq) > ($3, $4){only}
                 ORDER BY epoch, seq LIMIT $2"
            ),
        };
        let mut query = sqlx::query_as::<_, MessageRow>(&sql)
            .bind(room_id)
            .bind(i64::from(limit) + 1);
        if let Some(position) = cursor {
            query = query.bind(position.epoch).bind(position.seq);
        }
        if let Scope::Thread(root) = scope {
            query = query.bind(root);
        }
        let mut messages = query.fetch_all(&self.pool).await?;
        let more_beyond = messages.len() > limit as usize;
        messages.truncate(limit as usize);

        let page = match bound {
            PageBound::Newest => {
                messages.reverse();
                MessagePage {
                    messages,
                    has_older: more_beyond,
                    has_newer: false,
                }
            }
            PageBound::Before(position) => {
                messages.reverse();
                MessagePage {
                    messages,
                    has_older: more_beyond,
                    has_newer: self.message_exists(room_id, scope, position, ">=").await?,
                }
            }
            PageBound::After(position) => MessagePage {
                messages,
                has_older: self.message_exists(room_id, scope, position, "<=").await?,
                has_newer: more_beyond,
            },
        };
        Ok(page)
    }

    /// Whether a message of the room (in `scope`) lies on the given side of `position`
    /// (`>=` or `<=`).
    async fn message_exists(
        &self,
        room_id: Uuid,
        scope: Scope,
        position: Position,
        side: &'static str,
    ) -> Result<bool, Error> {
        let only = scope.predicate(4);
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM messages
                            WHERE room_id = $1 AND (epoch, seq) {side} ($2, $3){only})"
        );
        let mut query = sqlx::query_scalar::<_, bool>(&sql)
            .bind(room_id)
            .bind(position.epoch)
            .bind(position.seq);
        if let Scope::Thread(root) = scope {
            query = query.bind(root);
        }
        Ok(query.fetch_one(&self.pool).await?)
    }

    /// What the threads rooted at `roots` hold so far, by root: replies that are not
    /// deleted, the last one's time, and the first repliers (at most
    /// [`THREAD_PARTICIPANTS`]).
    #[tracing::instrument(skip(self, roots), fields(roots = roots.len()))]
    pub async fn threads(&self, roots: &[Uuid]) -> Result<HashMap<Uuid, ThreadRow>, Error> {
        if roots.is_empty() {
            return Ok(HashMap::new());
        }
        let counts = sqlx::query_as::<_, (Uuid, i64, OffsetDateTime)>(
            "SELECT thread_root, count(*), max(sent_at) FROM messages
             WHERE thread_root = ANY($1) AND deleted_at IS NULL
             GROUP BY thread_root",
        )
        .bind(roots)
        .fetch_all(&self.pool)
        .await?;
        let repliers = sqlx::query_as::<_, (Uuid, Uuid)>(
            "SELECT thread_root, sender_id FROM messages
             WHERE thread_root = ANY($1) AND deleted_at IS NULL
             GROUP BY thread_root, sender_id
             ORDER BY thread_root, min(ARRAY[epoch, seq])",
        )
        .bind(roots)
        .fetch_all(&self.pool)
        .await?;
        let mut threads: HashMap<Uuid, ThreadRow> = counts
            .into_iter()
            .map(|(root, count, last)| {
                let row = ThreadRow {
                    reply_count: u32::try_from(count).unwrap_or(u32::MAX),
                    last_reply_at: last,
                    participants: Vec::new(),
                };
                (root, row)
            })
            .collect();
        for (root, sender) in repliers {
            if let Some(thread) = threads.get_mut(&root)
                && thread.participants.len() < THREAD_PARTICIPANTS
            {
                thread.participants.push(sender);
            }
        }
        Ok(threads)
    }

    /// The message stored for one send, if any (the unique index of a send).
    #[tracing::instrument(skip(self))]
    pub async fn find_send(
        &self,
        room_id: Uuid,
        sender_id: Uuid,
        client_msg_id: &str,
    ) -> Result<Option<MessageRow>, Error> {
        let row = sqlx::query_as::<_, MessageRow>(&format!(
            "SELECT {COLUMNS} FROM messages
                 WHERE room_id = $1 AND sender_id = $2 AND client_msg_id = $3"
        ))
        .bind(room_id)
        .bind(sender_id)
        .bind(client_msg_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// Whether any entry was stored before `at`. Stops at the first one found, which in
    /// a table filled over time is one of the first rows read.
    #[tracing::instrument(skip(self))]
    pub async fn stored_before(&self, at: OffsetDateTime) -> Result<bool, Error> {
        let any = sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM room_entries WHERE stored_at < $1)",
        )
        .bind(at)
        .fetch_one(&self.pool)
        .await?;
        Ok(any)
    }

    /// The reactions of `messages` that are there, by message, each emoji in the order
    /// it was first given, with whether `viewer` is among those who gave it.
    #[tracing::instrument(skip(self, messages), fields(messages = messages.len()))]
    pub async fn reactions(
        &self,
        messages: &[Uuid],
        viewer: Option<Uuid>,
    ) -> Result<HashMap<Uuid, Vec<ReactionCount>>, Error> {
        if messages.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query_as::<_, (Uuid, String, i64, bool)>(
            "SELECT message_id, emoji, count(*), coalesce(bool_or(user_id = $2), false)
             FROM reactions WHERE message_id = ANY($1) AND present
             GROUP BY message_id, emoji
             ORDER BY message_id, min(ARRAY[epoch, seq])",
        )
        .bind(messages)
        .bind(viewer)
        .fetch_all(&self.pool)
        .await?;
        let mut by_message: HashMap<Uuid, Vec<ReactionCount>> = HashMap::new();
        for (message, emoji, count, reacted) in rows {
            by_message.entry(message).or_default().push(ReactionCount {
                emoji,
                count: u32::try_from(count).unwrap_or(u32::MAX),
                reacted,
            });
        }
        Ok(by_message)
    }

    /// What replies show of the messages `targets`, by id (deleted ones without
    /// content).
    #[tracing::instrument(skip(self, targets), fields(targets = targets.len()))]
    pub async fn reply_previews(
        &self,
        targets: &[Uuid],
    ) -> Result<HashMap<Uuid, ReplyPreview>, Error> {
        if targets.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query_as::<_, (Uuid, Uuid, String, bool)>(
            "SELECT id, sender_id, left(content, $2), deleted_at IS NOT NULL
             FROM messages WHERE id = ANY($1)",
        )
        .bind(targets)
        .bind(i32::try_from(EXCERPT_CHARS).unwrap_or(i32::MAX))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, sender, excerpt, deleted)| {
                let preview = ReplyPreview {
                    message_id: id.to_string(),
                    sender_id: sender.to_string(),
                    excerpt: if deleted { String::new() } else { excerpt },
                    deleted,
                };
                (id, preview)
            })
            .collect())
    }

    /// The stored messages with these ids.
    #[tracing::instrument(skip(self, ids), fields(ids = ids.len()))]
    pub async fn messages_by_id(&self, ids: &[Uuid]) -> Result<Vec<MessageRow>, Error> {
        let sql = format!("SELECT {COLUMNS} FROM messages WHERE id = ANY($1)");
        Ok(sqlx::query_as::<_, MessageRow>(&sql)
            .bind(ids)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every version of a message, oldest first: its own entry, then each edit entry by
    /// position. Empty for a deleted message (or one not stored).
    #[tracing::instrument(skip(self))]
    pub async fn revisions(&self, message_id: Uuid) -> Result<Vec<Revision>, Error> {
        let rows = sqlx::query_as::<_, (i64, i64, Vec<u8>)>(
            "SELECT e.epoch, e.seq, e.item FROM room_entries e
             JOIN messages m ON m.id = $1 AND m.deleted_at IS NULL AND e.room_id = m.room_id
             WHERE (e.id = $1 AND e.kind = 'message')
                OR (e.subject_id = $1 AND e.kind = 'message_edited')
             ORDER BY e.epoch, e.seq",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?;
        let mut revisions = Vec::with_capacity(rows.len());
        for (epoch, seq, item) in rows {
            let item = RoomItem::decode(item.as_slice()).map_err(|err| {
                Error::Internal(anyhow::anyhow!(
                    "stored entry ({epoch}, {seq}) of message {message_id} is unreadable: {err}"
                ))
            })?;
            let (content, at) = match item.body {
                Some(room_item::Body::Message(message)) => (message.content, message.sent_at),
                Some(room_item::Body::Edited(edit)) => (edit.content, edit.edited_at),
                _ => continue,
            };
            revisions.push(Revision {
                position: Position { epoch, seq },
                content,
                at,
            });
        }
        Ok(revisions)
    }

    /// Moves `user`'s read position in `room` to `position` unless it is already there
    /// or beyond; the position now, and whether it moved.
    #[tracing::instrument(skip(self))]
    pub async fn mark_read(
        &self,
        user: Uuid,
        room: Uuid,
        position: Position,
    ) -> Result<(Position, bool), Error> {
        let moved = sqlx::query_as::<_, (i64, i64)>(
            "INSERT INTO read_positions (user_id, room_id, epoch, seq) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, room_id) DO UPDATE
             SET epoch = EXCLUDED.epoch, seq = EXCLUDED.seq, updated_at = now()
             WHERE (read_positions.epoch, read_positions.seq) < (EXCLUDED.epoch, EXCLUDED.seq)
             RETURNING epoch, seq",
        )
        .bind(user)
        .bind(room)
        .bind(position.epoch)
        .bind(position.seq)
        .fetch_optional(&self.pool)
        .await?;
        if let Some((epoch, seq)) = moved {
            return Ok((Position { epoch, seq }, true));
        }
        let (epoch, seq) = sqlx::query_as::<_, (i64, i64)>(
            "SELECT epoch, seq FROM read_positions WHERE user_id = $1 AND room_id = $2",
        )
        .bind(user)
        .bind(room)
        .fetch_one(&self.pool)
        .await?;
        Ok((Position { epoch, seq }, false))
    }

    /// The read positions in `room` of those of `users` who have one, furthest first.
    #[tracing::instrument(skip(self, users), fields(users = users.len()))]
    pub async fn room_reads(
        &self,
        room: Uuid,
        users: &[Uuid],
    ) -> Result<Vec<(Uuid, Position)>, Error> {
        let rows = sqlx::query_as::<_, (Uuid, i64, i64)>(
            "SELECT user_id, epoch, seq FROM read_positions
             WHERE room_id = $1 AND user_id = ANY($2)
             ORDER BY epoch DESC, seq DESC",
        )
        .bind(room)
        .bind(users)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(user, epoch, seq)| (user, Position { epoch, seq }))
            .collect())
    }

    /// The read state of `user` in each of `rooms`: one query, each room an index range
    /// after the read position, each count stopping at [`MAX_COUNTED`].
    #[tracing::instrument(skip(self, rooms), fields(rooms = rooms.len()))]
    pub async fn read_states(
        &self,
        user: Uuid,
        rooms: &[Uuid],
    ) -> Result<Vec<ReadStateRow>, Error> {
        if rooms.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as::<_, ReadStateRow>(
            "SELECT r.room_id, last.epoch AS last_epoch, last.seq AS last_seq,
                    rp.epoch AS read_epoch, rp.seq AS read_seq,
                    (SELECT count(*) FROM (
                        SELECT 1 FROM messages m
                        WHERE m.room_id = r.room_id
                          AND (m.epoch, m.seq) > (coalesce(rp.epoch, 0), coalesce(rp.seq, 0))
                          AND m.sender_id <> $1 AND m.deleted_at IS NULL
                        LIMIT $3) u) AS unread,
                    (SELECT count(*) FROM (
                        SELECT mn.message_id FROM mentions mn
                        WHERE mn.user_id = $1 AND mn.room_id = r.room_id
                          AND (mn.epoch, mn.seq) > (coalesce(rp.epoch, 0), coalesce(rp.seq, 0))
                        UNION
                        SELECT m.id FROM messages m
                        WHERE m.room_id = r.room_id AND m.mentions_room
                          AND (m.epoch, m.seq) > (coalesce(rp.epoch, 0), coalesce(rp.seq, 0))
                          AND m.sender_id <> $1 AND m.deleted_at IS NULL
                        LIMIT $3) x) AS mentions
             FROM UNNEST($2::uuid[]) AS r (room_id)
             LEFT JOIN read_positions rp ON rp.user_id = $1 AND rp.room_id = r.room_id
             LEFT JOIN LATERAL (
                 SELECT epoch, seq FROM room_entries e WHERE e.room_id = r.room_id
                 ORDER BY epoch DESC, seq DESC LIMIT 1
             ) AS last ON true",
        )
        .bind(user)
        .bind(rooms)
        .bind(MAX_COUNTED)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The latest stored position of a room's sequence.
    #[tracing::instrument(skip(self))]
    pub async fn latest_position(&self, room_id: Uuid) -> Result<Option<Position>, Error> {
        let row = sqlx::query_as::<_, (i64, i64)>(
            "SELECT epoch, seq FROM room_entries WHERE room_id = $1
             ORDER BY epoch DESC, seq DESC LIMIT 1",
        )
        .bind(room_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(epoch, seq)| Position { epoch, seq }))
    }
}

/// Inserts the entries, skipping those already stored; returns how many were new.
#[tracing::instrument(skip_all)]
async fn insert_entries(
    connection: &mut PgConnection,
    entries: &[&Entry],
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO room_entries
             (room_id, epoch, seq, id, kind, actor_id, subject_id, occurred_at, item)
         SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::int8[], $4::uuid[], $5::text[],
                              $6::uuid[], $7::uuid[], $8::timestamptz[], $9::bytea[])
         ON CONFLICT DO NOTHING",
    )
    .bind(column(entries, |e| e.room_id))
    .bind(column(entries, |e| e.position.epoch))
    .bind(column(entries, |e| e.position.seq))
    .bind(column(entries, |e| e.id))
    .bind(column(entries, |e| e.effect.kind()))
    .bind(column(entries, |e| e.actor_id))
    .bind(column(entries, |e| e.effect.subject()))
    .bind(column(entries, |e| e.occurred_at))
    .bind(column(entries, |e| e.item.as_slice()))
    .execute(connection)
    .await?;
    Ok(result.rows_affected())
}

/// Inserts the new messages of the batch, skipping those already stored.
#[tracing::instrument(skip_all)]
async fn insert_messages(
    connection: &mut PgConnection,
    entries: &[&Entry],
) -> Result<(), sqlx::Error> {
    let messages: Vec<(&Entry, &NewMessage)> = entries
        .iter()
        .filter_map(|&entry| match &entry.effect {
            Effect::Message(message) => Some((entry, message)),
            _ => None,
        })
        .collect();
    if messages.is_empty() {
        return Ok(());
    }
    // Mentions travel as one text per message (PostgreSQL has no arrays of arrays).
    let mentions: Vec<String> = messages
        .iter()
        .map(|(_, m)| {
            let ids: Vec<String> = m.mentions.iter().map(Uuid::to_string).collect();
            format!("{{{}}}", ids.join(","))
        })
        .collect();
    let stored: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "INSERT INTO messages
             (id, room_id, epoch, seq, sender_id, client_msg_id, content, reply_to, kind, sent_at,
              mentions, mentions_room, thread_root, attachments)
         SELECT id, room_id, epoch, seq, sender_id, client_msg_id, content, reply_to, kind,
                sent_at, mentions::uuid[], mentions_room, thread_root, attachments
         FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::int8[], $5::uuid[],
                     $6::text[], $7::text[], $8::uuid[], $9::int2[], $10::timestamptz[],
                     $11::text[], $12::bool[], $13::uuid[], $14::bytea[])
              AS m (id, room_id, epoch, seq, sender_id, client_msg_id, content, reply_to, kind,
                    sent_at, mentions, mentions_room, thread_root, attachments)
         ON CONFLICT DO NOTHING
         RETURNING room_id, id",
    )
    .bind(column(&messages, |(e, _)| e.id))
    .bind(column(&messages, |(e, _)| e.room_id))
    .bind(column(&messages, |(e, _)| e.position.epoch))
    .bind(column(&messages, |(e, _)| e.position.seq))
    .bind(column(&messages, |(_, m)| m.sender_id))
    .bind(column(&messages, |(_, m)| m.client_msg_id.as_str()))
    .bind(column(&messages, |(_, m)| m.content.as_str()))
    .bind(column(&messages, |(_, m)| m.reply_to))
    .bind(column(&messages, |(_, m)| m.kind))
    .bind(column(&messages, |(_, m)| m.sent_at))
    .bind(&mentions)
    .bind(column(&messages, |(_, m)| m.mentions_room))
    .bind(column(&messages, |(_, m)| m.thread_root))
    .bind(column(&messages, |(_, m)| m.attachments.as_deref()))
    .fetch_all(&mut *connection)
    .await?;
    // Only messages stored now are to be planned: a redelivered one was planned already.
    crate::notify::outbox::add(connection, &stored).await?;
    // A sender has read their room up to what they sent.
    let readers: Vec<(Uuid, Uuid, Position)> = messages
        .iter()
        .map(|(e, m)| (m.sender_id, e.room_id, e.position))
        .collect();
    move_read_positions(connection, &readers).await
}

/// Moves read positions forward (never back): one per (user, room), the furthest.
async fn move_read_positions(
    connection: &mut PgConnection,
    readers: &[(Uuid, Uuid, Position)],
) -> Result<(), sqlx::Error> {
    let mut furthest: HashMap<(Uuid, Uuid), Position> = HashMap::new();
    for (user, room, position) in readers {
        let slot = furthest.entry((*user, *room)).or_insert(*position);
        if *slot < *position {
            *slot = *position;
        }
    }
    if furthest.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = furthest.into_iter().collect();
    sqlx::query(
        "INSERT INTO read_positions (user_id, room_id, epoch, seq)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::int8[])
         ON CONFLICT (user_id, room_id) DO UPDATE
         SET epoch = EXCLUDED.epoch, seq = EXCLUDED.seq, updated_at = now()
         WHERE (read_positions.epoch, read_positions.seq) < (EXCLUDED.epoch, EXCLUDED.seq)",
    )
    .bind(column(&rows, |((user, _), _)| *user))
    .bind(column(&rows, |((_, room), _)| *room))
    .bind(column(&rows, |(_, position)| position.epoch))
    .bind(column(&rows, |(_, position)| position.seq))
    .execute(connection)
    .await?;
    Ok(())
}

/// Applies the batch's edits and deletions, and those stored for the batch's messages
/// (an edit stored before its message: the message swept from Redis late, or
/// redelivered after its edit).
#[tracing::instrument(skip_all)]
async fn apply_changes(
    connection: &mut PgConnection,
    entries: &[&Entry],
    message_ids: &[Uuid],
) -> Result<(), sqlx::Error> {
    let mut changes = Changes::default();
    for entry in entries {
        changes.add(entry);
    }
    if !message_ids.is_empty() {
        for entry in take_waiting_changes(connection, message_ids).await? {
            changes.add(&entry);
        }
    }
    apply_deletions(connection, &changes.deletions).await?;
    apply_edits(connection, &changes.edits).await?;
    apply_reactions(connection, &changes.reactions).await?;
    keep_changes_without_message(connection, entries).await?;
    let mentioning = entries.iter().filter_map(|entry| match &entry.effect {
        Effect::Message(message) if !message.mentions.is_empty() => Some(entry.id),
        _ => None,
    });
    let touched: Vec<Uuid> = mentioning
        .chain(changes.edits.keys().copied())
        .chain(changes.deletions.keys().copied())
        .collect();
    sync_mentions(connection, &touched).await?;
    let joined: Vec<(Uuid, Uuid, Position)> = entries
        .iter()
        .filter_map(|entry| match entry.effect {
            Effect::RoomEvent(Some(user)) => Some((user, entry.room_id, entry.position)),
            _ => None,
        })
        .collect();
    move_read_positions(connection, &joined).await?;
    Ok(())
}

/// A message by its key: its room (the partition) and its id.
#[derive(Debug, Clone, Copy)]
struct MessageKey {
    room_id: Uuid,
    id: Uuid,
}

/// The changes stored before these messages (`changes_before_message`), taken from the
/// table: the caller applies them with the messages. The table is nearly always empty, so
/// a batch of messages costs one probe of a small index, not one per partition of
/// `room_entries`.
#[tracing::instrument(skip_all, fields(messages = message_ids.len()))]
async fn take_waiting_changes(
    connection: &mut PgConnection,
    message_ids: &[Uuid],
) -> Result<Vec<Entry>, sqlx::Error> {
    let rows = sqlx::query_as::<_, (Uuid, i64, i64, Vec<u8>)>(
        "DELETE FROM changes_before_message WHERE subject_id = ANY($1)
         RETURNING room_id, epoch, seq, item",
    )
    .bind(message_ids)
    .fetch_all(connection)
    .await?;
    let entries = rows
        .into_iter()
        .filter_map(|(room_id, epoch, seq, item)| {
            let envelope = RoomEnvelope {
                epoch: epoch as u64,
                seq: seq as u64,
                item,
                room_id: room_id.to_string(),
            };
            Entry::from_envelope(envelope)
                .inspect_err(
                    |err| tracing::error!(%room_id, epoch, seq, %err, "stored entry is unreadable"),
                )
                .ok()
        })
        .collect();
    Ok(entries)
}

/// Keeps the batch's changes whose message is not stored (as this transaction sees the
/// tables) in `changes_before_message`, for the message's batch to take. Planned each
/// time (`persistent(false)`): it runs only for batches with changes, and a kept plan
/// made while `messages` was empty would scan every partition.
#[tracing::instrument(skip_all)]
async fn keep_changes_without_message(
    connection: &mut PgConnection,
    entries: &[&Entry],
) -> Result<(), sqlx::Error> {
    let changes: Vec<(&Entry, Uuid)> = entries
        .iter()
        .filter_map(|&entry| entry.effect.subject().map(|subject| (entry, subject)))
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO changes_before_message (subject_id, room_id, epoch, seq, item)
         SELECT c.subject_id, c.room_id, c.epoch, c.seq, c.item
         FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::int8[], $5::bytea[])
              AS c (subject_id, room_id, epoch, seq, item)
         WHERE NOT EXISTS (SELECT 1 FROM messages m
                           WHERE m.room_id = c.room_id AND m.id = c.subject_id)
         ON CONFLICT DO NOTHING",
    )
    .persistent(false)
    .bind(column(&changes, |(_, subject)| *subject))
    .bind(column(&changes, |(e, _)| e.room_id))
    .bind(column(&changes, |(e, _)| e.position.epoch))
    .bind(column(&changes, |(e, _)| e.position.seq))
    .bind(column(&changes, |(e, _)| e.item.as_slice()))
    .execute(connection)
    .await?;
    Ok(())
}

/// The edits and deletions to apply, at most one of each per message.
#[derive(Default)]
struct Changes {
    /// The latest edit of each message by position.
    edits: HashMap<Uuid, (Uuid, Position, Edit)>,
    /// The first deletion of each message by position.
    deletions: HashMap<Uuid, (Uuid, Position, Deletion)>,
    /// The latest change of each (message, user, emoji) by position.
    reactions: HashMap<(Uuid, Uuid, String), (Uuid, Position, ReactionChange)>,
}

impl Changes {
    fn add(&mut self, entry: &Entry) {
        match &entry.effect {
            Effect::Edited(edit) => {
                let slot = self
                    .edits
                    .entry(edit.message_id)
                    .or_insert_with(|| (entry.room_id, entry.position, edit.clone()));
                if slot.1 < entry.position {
                    *slot = (entry.room_id, entry.position, edit.clone());
                }
            }
            Effect::Deleted(deletion) => {
                let slot = self
                    .deletions
                    .entry(deletion.message_id)
                    .or_insert_with(|| (entry.room_id, entry.position, deletion.clone()));
                if entry.position < slot.1 {
                    *slot = (entry.room_id, entry.position, deletion.clone());
                }
            }
            Effect::Reaction(reaction) => {
                let key = (
                    reaction.message_id,
                    reaction.user_id,
                    reaction.emoji.clone(),
                );
                let slot = self
                    .reactions
                    .entry(key)
                    .or_insert_with(|| (entry.room_id, entry.position, reaction.clone()));
                if slot.1 < entry.position {
                    *slot = (entry.room_id, entry.position, reaction.clone());
                }
            }
            Effect::Message(_) | Effect::RoomEvent(_) => {}
        }
    }
}

/// Applies the latest change of each reaction unless a later one is already applied;
/// none on a deleted message.
#[tracing::instrument(skip_all, fields(reactions = reactions.len()))]
async fn apply_reactions(
    connection: &mut PgConnection,
    reactions: &HashMap<(Uuid, Uuid, String), (Uuid, Position, ReactionChange)>,
) -> Result<(), sqlx::Error> {
    if reactions.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = reactions.values().collect();
    sqlx::query(
        "INSERT INTO reactions (message_id, user_id, emoji, room_id, present, epoch, seq)
         SELECT r.* FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::bool[],
                                $6::int8[], $7::int8[])
              AS r (message_id, user_id, emoji, room_id, present, epoch, seq)
         WHERE NOT EXISTS (SELECT 1 FROM messages m
                           WHERE m.id = r.message_id AND m.deleted_at IS NOT NULL)
         ON CONFLICT (message_id, user_id, emoji) DO UPDATE
         SET present = EXCLUDED.present, epoch = EXCLUDED.epoch, seq = EXCLUDED.seq
         WHERE (reactions.epoch, reactions.seq) < (EXCLUDED.epoch, EXCLUDED.seq)",
    )
    .bind(column(&rows, |(_, _, r)| r.message_id))
    .bind(column(&rows, |(_, _, r)| r.user_id))
    .bind(column(&rows, |(_, _, r)| r.emoji.as_str()))
    .bind(column(&rows, |(room_id, _, _)| *room_id))
    .bind(column(&rows, |(_, _, r)| r.added))
    .bind(column(&rows, |(_, position, _)| position.epoch))
    .bind(column(&rows, |(_, position, _)| position.seq))
    .execute(connection)
    .await?;
    Ok(())
}

/// Marks messages deleted and erases their content; a deletion is final.
#[tracing::instrument(skip_all, fields(deletions = deletions.len()))]
async fn apply_deletions(
    connection: &mut PgConnection,
    deletions: &HashMap<Uuid, (Uuid, Position, Deletion)>,
) -> Result<(), sqlx::Error> {
    if deletions.is_empty() {
        return Ok(());
    }
    let deletions: Vec<_> = deletions.values().collect();
    sqlx::query(
        "UPDATE messages m
         SET deleted_at = d.deleted_at, content = '', attachments = NULL
         FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[]) AS d (id, room_id, deleted_at)
         WHERE m.id = d.id AND m.room_id = d.room_id AND m.deleted_at IS NULL",
    )
    .bind(column(&deletions, |(_, _, d)| d.message_id))
    .bind(column(&deletions, |(room_id, _, _)| *room_id))
    .bind(column(&deletions, |(_, _, d)| d.deleted_at))
    .execute(&mut *connection)
    .await?;
    let ids: Vec<Uuid> = deletions.iter().map(|(_, _, d)| d.message_id).collect();
    sqlx::query("DELETE FROM reactions WHERE message_id = ANY($1)")
        .bind(&ids)
        .execute(&mut *connection)
        .await?;
    let deleted: Vec<MessageKey> = deletions
        .iter()
        .map(|(room_id, _, d)| MessageKey {
            room_id: *room_id,
            id: d.message_id,
        })
        .collect();
    rewrite_entries(connection, &deleted, ENTRIES_OF_DELETED, redacted_item).await?;
    rewrite_entries(
        connection,
        &deleted,
        REPLIES_TO_DELETED,
        without_reply_excerpt,
    )
    .await
}

/// A deleted message's own entry and its edits, whose content is erased from the
/// sequence itself so that a catch-up never replays what was deleted.
const ENTRIES_OF_DELETED: &str = "SELECT e.room_id, e.epoch, e.seq, e.item
    FROM UNNEST($1::uuid[], $2::uuid[]) AS d (room_id, id)
    CROSS JOIN LATERAL (
        SELECT room_id, epoch, seq, item FROM room_entries
        WHERE room_id = d.room_id AND id = d.id AND kind = 'message'
        UNION ALL
        SELECT room_id, epoch, seq, item FROM room_entries
        WHERE room_id = d.room_id AND subject_id = d.id AND kind = 'message_edited'
    ) AS e";

/// The entries of the replies quoting a deleted message, whose excerpt of it is erased (a
/// reply keeps what it answered as it was sent, for live delivery and catch-up). Replies
/// are in the quoted message's room (`messages_reply_to_idx`).
const REPLIES_TO_DELETED: &str = "SELECT e.room_id, e.epoch, e.seq, e.item
    FROM UNNEST($1::uuid[], $2::uuid[]) AS d (room_id, id)
    CROSS JOIN LATERAL (
        SELECT id FROM messages
        WHERE room_id = d.room_id AND reply_to = d.id
    ) AS m
    CROSS JOIN LATERAL (
        SELECT room_id, epoch, seq, item FROM room_entries
        WHERE room_id = d.room_id AND id = m.id AND kind = 'message'
    ) AS e";

/// The item with its reply preview marked deleted; `None` when nothing changes.
fn without_reply_excerpt(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut item = RoomItem::decode(bytes).ok()?;
    let Some(room_item::Body::Message(message)) = item.body.as_mut() else {
        return None;
    };
    let preview = message.reply_preview.as_mut()?;
    if preview.deleted && preview.excerpt.is_empty() {
        return None;
    }
    preview.excerpt.clear();
    preview.deleted = true;
    Some(item.encode_to_vec())
}

/// Rewrites stored items in place (erasing deleted content).
async fn update_items(
    connection: &mut PgConnection,
    items: &[(Uuid, i64, i64, Vec<u8>)],
) -> Result<(), sqlx::Error> {
    if items.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE room_entries e SET item = r.item
         FROM UNNEST($1::uuid[], $2::int8[], $3::int8[], $4::bytea[]) AS r (room_id, epoch, seq, item)
         WHERE e.room_id = r.room_id AND e.epoch = r.epoch AND e.seq = r.seq",
    )
    .bind(column(items, |r| r.0))
    .bind(column(items, |r| r.1))
    .bind(column(items, |r| r.2))
    .bind(column(items, |r| r.3.as_slice()))
    .execute(connection)
    .await?;
    Ok(())
}

/// Rewrites the entries `sql` finds for deleted messages (bound to their rooms and ids,
/// returning each entry's room, position and item) with `rewrite`; an entry it returns
/// `None` for stays as it is.
#[tracing::instrument(skip_all, fields(messages = deleted.len()))]
async fn rewrite_entries(
    connection: &mut PgConnection,
    deleted: &[MessageKey],
    sql: &'static str,
    rewrite: fn(&[u8]) -> Option<Vec<u8>>,
) -> Result<(), sqlx::Error> {
    let rows = sqlx::query_as::<_, (Uuid, i64, i64, Vec<u8>)>(sql)
        .bind(column(deleted, |m| m.room_id))
        .bind(column(deleted, |m| m.id))
        // Planned for each run (deletions are rare), never from a plan made when the
        // tables were small.
        .persistent(false)
        .fetch_all(&mut *connection)
        .await?;
    let rewritten: Vec<(Uuid, i64, i64, Vec<u8>)> = rows
        .into_iter()
        .filter_map(|(room_id, epoch, seq, item)| Some((room_id, epoch, seq, rewrite(&item)?)))
        .collect();
    update_items(connection, &rewritten).await
}

/// The item with its message or edit content (and a message's attachments) erased;
/// `None` when there is nothing to erase (already erased, or unreadable: kept as it is
/// for an operator to look at).
fn redacted_item(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut item = RoomItem::decode(bytes).ok()?;
    match item.body.as_mut()? {
        room_item::Body::Message(message)
            if !message.content.is_empty() || !message.attachments.is_empty() =>
        {
            message.content.clear();
            message.attachments.clear();
        }
        room_item::Body::Edited(edit) if !edit.content.is_empty() => edit.content.clear(),
        _ => return None,
    }
    Some(item.encode_to_vec())
}

/// Replaces the content of messages with their latest edit, unless a later edit is
/// already applied or the message is deleted.
#[tracing::instrument(skip_all, fields(edits = edits.len()))]
async fn apply_edits(
    connection: &mut PgConnection,
    edits: &HashMap<Uuid, (Uuid, Position, Edit)>,
) -> Result<(), sqlx::Error> {
    if edits.is_empty() {
        return Ok(());
    }
    let edits: Vec<_> = edits.values().collect();
    let mentions: Vec<String> = edits
        .iter()
        .map(|(_, _, e)| {
            let ids: Vec<String> = e.mentions.iter().map(Uuid::to_string).collect();
            format!("{{{}}}", ids.join(","))
        })
        .collect();
    sqlx::query(
        "UPDATE messages m
         SET content = e.content, edited_at = e.edited_at,
             edit_epoch = e.epoch, edit_seq = e.seq,
             mentions = e.mentions::uuid[], mentions_room = e.mentions_room
         FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::int8[], $6::int8[],
                     $7::text[], $8::bool[])
              AS e (id, room_id, content, edited_at, epoch, seq, mentions, mentions_room)
         WHERE m.id = e.id AND m.room_id = e.room_id AND m.deleted_at IS NULL
           AND (m.epoch, m.seq) < (e.epoch, e.seq)
           AND (m.edit_epoch IS NULL OR (m.edit_epoch, m.edit_seq) < (e.epoch, e.seq))",
    )
    .bind(column(&edits, |(_, _, e)| e.message_id))
    .bind(column(&edits, |(room_id, _, _)| *room_id))
    .bind(column(&edits, |(_, _, e)| e.content.as_str()))
    .bind(column(&edits, |(_, _, e)| e.edited_at))
    .bind(column(&edits, |(_, position, _)| position.epoch))
    .bind(column(&edits, |(_, position, _)| position.seq))
    .bind(&mentions)
    .bind(column(&edits, |(_, _, e)| e.mentions_room))
    .execute(connection)
    .await?;
    Ok(())
}

/// Makes the mention rows of these messages match what each mentions now (none once
/// deleted). Idempotent: a user mentioned again by an edit keeps their one row.
#[tracing::instrument(skip_all, fields(messages = ids.len()))]
async fn sync_mentions(connection: &mut PgConnection, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "DELETE FROM mentions mn USING messages m
         WHERE mn.message_id = ANY($1) AND m.id = mn.message_id
           AND (m.deleted_at IS NOT NULL OR NOT (mn.user_id = ANY(m.mentions)))",
    )
    .bind(ids)
    .execute(&mut *connection)
    .await?;
    sqlx::query(
        "INSERT INTO mentions (user_id, message_id, room_id, epoch, seq)
         SELECT u.user_id, m.id, m.room_id, m.epoch, m.seq
         FROM messages m CROSS JOIN LATERAL UNNEST(m.mentions) AS u (user_id)
         WHERE m.id = ANY($1) AND m.deleted_at IS NULL
         ON CONFLICT DO NOTHING",
    )
    .bind(ids)
    .execute(connection)
    .await?;
    Ok(())
}

/// One column of a multi-row statement, to bind as a PostgreSQL array.
fn column<'a, T, C>(rows: &'a [T], field: impl Fn(&'a T) -> C) -> Vec<C> {
    rows.iter().map(field).collect()
}

/// Whether PostgreSQL refused the data itself: a data exception (class 22) or an
/// integrity violation (class 23) that the idempotent inserts do not absorb. The same
/// statement would fail again, so retrying is pointless.
pub fn is_refused_data(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("22") || code.starts_with("23")),
        sqlx::Error::Encode(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use chat_proto::v1::{ChatMessage, MessageDeleted, MessageEdited};

    use super::*;

    fn item(body: room_item::Body) -> Vec<u8> {
        RoomItem {
            id: Uuid::now_v7().to_string(),
            room_id: Uuid::now_v7().to_string(),
            actor_id: Uuid::now_v7().to_string(),
            occurred_at: None,
            body: Some(body),
        }
        .encode_to_vec()
    }

    #[test]
    fn deleted_content_is_erased_from_messages_and_edits_only() {
        let message = item(room_item::Body::Message(ChatMessage {
            content: "secret".into(),
            ..ChatMessage::default()
        }));
        let redacted = RoomItem::decode(redacted_item(&message).unwrap().as_slice()).unwrap();
        let Some(room_item::Body::Message(message)) = redacted.body else {
            panic!("still a message");
        };
        assert_eq!(message.content, "");

        let edit = item(room_item::Body::Edited(MessageEdited {
            content: "secret, edited".into(),
            ..MessageEdited::default()
        }));
        let redacted = RoomItem::decode(redacted_item(&edit).unwrap().as_slice()).unwrap();
        assert!(matches!(redacted.body, Some(room_item::Body::Edited(e)) if e.content.is_empty()));

        // Nothing to erase: left as stored.
        let erased = redacted_item(&message_without_content()).is_none();
        assert!(erased);
        let deletion = item(room_item::Body::Deleted(MessageDeleted::default()));
        assert!(redacted_item(&deletion).is_none());
        assert!(redacted_item(b"not protobuf at all").is_none());
    }

    fn message_without_content() -> Vec<u8> {
        item(room_item::Body::Message(ChatMessage::default()))
    }
}
