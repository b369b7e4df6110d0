//! Which messages carry which uploads: the record that opens a file to a room's members.
//!
//! An upload is carried by one message: attaching it to another is refused
//! (`already_attached`), and attaching it again to the same one changes nothing. A send
//! is known by its uploader, room and `client_msg_id`: a retried send whose first attempt
//! attached files gets that attempt's message id back, so the message keeps one id
//! however many times it is tried. Only the
//! uploader attaches their uploads, and avatars are never attached (deleting the message
//! would delete the avatar). When a message is deleted its attachments go, and so does
//! every file no other message carries, blobs included.

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Error;
use crate::files::doom_blobs;

/// Most files one message carries.
pub const MAX_FILES_PER_MESSAGE: usize = 10;

/// A message that carries uploads, as the gateway asks for it.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub uploader_id: Uuid,
    pub room_id: Uuid,
    pub message_id: Uuid,
    /// Distinct, 1 to [`MAX_FILES_PER_MESSAGE`].
    pub file_ids: Vec<Uuid>,
    /// The send's `client_msg_id`.
    pub client_msg_id: String,
}

/// What a detach did.
#[derive(Debug, Clone, Default)]
pub struct Detached {
    /// Files the message carried.
    pub detached: Vec<Uuid>,
    /// Those deleted because no other message carries them.
    pub deleted: Vec<Uuid>,
    /// Their blob keys, in `blob_deletions` until deleted.
    pub doomed_keys: Vec<String>,
}

/// The attachments table.
#[derive(Clone, Debug)]
pub struct Attachments {
    pool: PgPool,
}

#[derive(sqlx::FromRow)]
struct Candidate {
    uploader_id: Uuid,
    purpose: String,
}

impl Attachments {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Records that the message carries the files, after checking that they are the
    /// uploader's stored uploads and carried by no other message; answers the message id
    /// they are attached to (an earlier attempt's of the same send, else the one asked).
    /// The file records stay locked until the commit, so a concurrent sweep, detach or
    /// attempt of the same send cannot get in between.
    #[tracing::instrument(skip(self, attachment), fields(message_id = %attachment.message_id))]
    pub async fn attach(&self, attachment: &Attachment) -> Result<Uuid, Error> {
        let mut tx = self.pool.begin().await?;
        let candidates: Vec<Candidate> = sqlx::query_as(
            "SELECT uploader_id, purpose FROM files
             WHERE id = ANY($1) AND stored_at IS NOT NULL
             ORDER BY id
             FOR UPDATE",
        )
        .bind(&attachment.file_ids)
        .fetch_all(&mut *tx)
        .await?;
        if candidates.len() < attachment.file_ids.len() {
            return Err(Error::FileNotFound);
        }
        if candidates
            .iter()
            .any(|file| file.uploader_id != attachment.uploader_id)
        {
            return Err(Error::NotYourUpload);
        }
        if candidates.iter().any(|file| file.purpose == "avatar") {
            return Err(Error::AvatarNotAttachable);
        }

        let earlier: Option<Uuid> = sqlx::query_scalar(
            "SELECT a.message_id FROM attachments a JOIN files f ON f.id = a.file_id
             WHERE a.room_id = $1 AND a.client_msg_id = $2 AND f.uploader_id = $3
             LIMIT 1",
        )
        .bind(attachment.room_id)
        .bind(&attachment.client_msg_id)
        .bind(attachment.uploader_id)
        .fetch_optional(&mut *tx)
        .await?;
        let message_id = earlier.unwrap_or(attachment.message_id);
        let carriers: Vec<Uuid> =
            sqlx::query_scalar("SELECT message_id FROM attachments WHERE file_id = ANY($1)")
                .bind(&attachment.file_ids)
                .fetch_all(&mut *tx)
                .await?;
        if carriers.iter().any(|carrier| *carrier != message_id) {
            return Err(Error::AlreadyAttached);
        }

        sqlx::query(
            "INSERT INTO attachments (file_id, message_id, room_id, client_msg_id)
             SELECT unnest($1::uuid[]), $2, $3, $4
             ON CONFLICT DO NOTHING",
        )
        .bind(&attachment.file_ids)
        .bind(message_id)
        .bind(attachment.room_id)
        .bind(&attachment.client_msg_id)
        .execute(&mut *tx)
        .await?;
        let carried: i64 =
            sqlx::query_scalar("SELECT count(*) FROM attachments WHERE message_id = $1")
                .bind(message_id)
                .fetch_one(&mut *tx)
                .await?;
        if usize::try_from(carried).unwrap_or(usize::MAX) > MAX_FILES_PER_MESSAGE {
            return Err(Error::TooManyAttachments {
                max: MAX_FILES_PER_MESSAGE,
            });
        }
        tx.commit().await?;
        Ok(message_id)
    }

    /// Removes the message's attachments and deletes the files no other message carries
    /// (their blob keys go to `blob_deletions` in the same transaction).
    #[tracing::instrument(skip(self))]
    pub async fn detach(&self, message_id: Uuid) -> Result<Detached, Error> {
        let mut tx = self.pool.begin().await?;
        let carried: Vec<Uuid> =
            sqlx::query_scalar("SELECT file_id FROM attachments WHERE message_id = $1")
                .bind(message_id)
                .fetch_all(&mut *tx)
                .await?;
        if carried.is_empty() {
            return Ok(Detached::default());
        }
        // The same lock order as attach: files first, by id.
        sqlx::query("SELECT id FROM files WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(&carried)
            .execute(&mut *tx)
            .await?;
        let detached: Vec<Uuid> =
            sqlx::query_scalar("DELETE FROM attachments WHERE message_id = $1 RETURNING file_id")
                .bind(message_id)
                .fetch_all(&mut *tx)
                .await?;
        let deleted: Vec<Uuid> = sqlx::query_scalar(
            "DELETE FROM files f
             WHERE f.id = ANY($1)
               AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.file_id = f.id)
             RETURNING f.id",
        )
        .bind(&detached)
        .fetch_all(&mut *tx)
        .await?;
        let doomed_keys = doom_blobs(&mut tx, &deleted).await?;
        tx.commit().await?;
        Ok(Detached {
            detached,
            deleted,
            doomed_keys,
        })
    }
}
