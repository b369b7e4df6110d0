//! File records in PostgreSQL: what each upload is, and the rooms where it is shared.
//!
//! A record is written when an upload begins (`stored_at` null: invisible to every
//! reader) and completed once its blobs are stored. Deleting records writes their blob
//! keys to `blob_deletions` in the same transaction (see [`crate::deletions`]).

use std::time::Duration;

use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::blobs::Blobs;

/// What an upload is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    File,
    Avatar,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::File => "file",
            Purpose::Avatar => "avatar",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "avatar" => Purpose::Avatar,
            _ => Purpose::File,
        }
    }
}

/// Whether a file is an image with dimensions and a thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Image,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Image => "image",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "image" => Kind::Image,
            _ => Kind::File,
        }
    }
}

/// A stored blob's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub size: u64,
    pub content_type: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// A stored upload, as readers see it.
#[derive(Debug, Clone)]
pub struct FileRecord {
    pub id: Uuid,
    pub uploader_id: Uuid,
    pub name: String,
    pub purpose: Purpose,
    pub kind: Kind,
    pub created_at: OffsetDateTime,
    pub blob: BlobInfo,
    pub thumbnail: Option<BlobInfo>,
    /// The rooms where a message carries it.
    pub room_ids: Vec<Uuid>,
}

impl FileRecord {
    /// Carried by a message.
    pub fn is_attached(&self) -> bool {
        !self.room_ids.is_empty()
    }
}

/// What is known of an upload once its blobs are stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub kind: Kind,
    pub blob: BlobInfo,
    pub thumbnail: Option<BlobInfo>,
}

#[derive(sqlx::FromRow)]
struct FileRow {
    id: Uuid,
    uploader_id: Uuid,
    name: String,
    purpose: String,
    kind: String,
    created_at: OffsetDateTime,
    size: i64,
    content_type: String,
    width: Option<i32>,
    height: Option<i32>,
    thumbnail_size: Option<i64>,
    thumbnail_content_type: Option<String>,
    thumbnail_width: Option<i32>,
    thumbnail_height: Option<i32>,
    room_ids: Vec<Uuid>,
}

impl From<FileRow> for FileRecord {
    fn from(row: FileRow) -> Self {
        let dimension = |value: Option<i32>| value.and_then(|v| u32::try_from(v).ok());
        let thumbnail = match (row.thumbnail_size, row.thumbnail_content_type) {
            (Some(size), Some(content_type)) => Some(BlobInfo {
                size: u64::try_from(size).unwrap_or_default(),
                content_type,
                width: dimension(row.thumbnail_width),
                height: dimension(row.thumbnail_height),
            }),
            _ => None,
        };
        Self {
            id: row.id,
            uploader_id: row.uploader_id,
            name: row.name,
            purpose: Purpose::parse(&row.purpose),
            kind: Kind::parse(&row.kind),
            created_at: row.created_at,
            blob: BlobInfo {
                size: u64::try_from(row.size).unwrap_or_default(),
                content_type: row.content_type,
                width: dimension(row.width),
                height: dimension(row.height),
            },
            thumbnail,
            room_ids: row.room_ids,
        }
    }
}

/// Stored files with the rooms they are shared in; `$1` is the array of ids.
const SELECT_STORED: &str = "
    SELECT f.id, f.uploader_id, f.name, f.purpose, f.kind, f.created_at, f.size,
           f.content_type, f.width, f.height, f.thumbnail_size, f.thumbnail_content_type,
           f.thumbnail_width, f.thumbnail_height,
           coalesce(array_agg(DISTINCT a.room_id) FILTER (WHERE a.room_id IS NOT NULL),
                    '{}') AS room_ids
    FROM files f
    LEFT JOIN attachments a ON a.file_id = f.id
    WHERE f.id = ANY($1) AND f.stored_at IS NOT NULL
    GROUP BY f.id";

/// The file records.
#[derive(Clone, Debug)]
pub struct Files {
    pool: PgPool,
}

impl Files {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Notes an upload that begins, so a crash before it is stored leaves a record the
    /// sweeper finds.
    #[tracing::instrument(skip(self, name))]
    pub async fn begin(
        &self,
        id: Uuid,
        uploader_id: Uuid,
        name: &str,
        purpose: Purpose,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO files (id, uploader_id, name, purpose) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(uploader_id)
            .bind(name)
            .bind(purpose.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Completes an upload whose blobs are stored: from now on it is readable.
    #[tracing::instrument(skip(self, stored))]
    pub async fn complete(&self, id: Uuid, stored: &Stored) -> Result<FileRecord, sqlx::Error> {
        let signed = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        let dimension = |value: Option<u32>| value.map(|v| i32::try_from(v).unwrap_or(i32::MAX));
        let thumbnail = stored.thumbnail.as_ref();
        sqlx::query(
            "UPDATE files SET stored_at = now(), kind = $2, size = $3, content_type = $4,
                 width = $5, height = $6, thumbnail_size = $7, thumbnail_content_type = $8,
                 thumbnail_width = $9, thumbnail_height = $10
             WHERE id = $1",
        )
        .bind(id)
        .bind(stored.kind.as_str())
        .bind(signed(stored.blob.size))
        .bind(&stored.blob.content_type)
        .bind(dimension(stored.blob.width))
        .bind(dimension(stored.blob.height))
        .bind(thumbnail.map(|t| signed(t.size)))
        .bind(thumbnail.map(|t| t.content_type.as_str()))
        .bind(thumbnail.and_then(|t| dimension(t.width)))
        .bind(thumbnail.and_then(|t| dimension(t.height)))
        .execute(&self.pool)
        .await?;
        self.get(id).await?.ok_or(sqlx::Error::RowNotFound)
    }

    /// Forgets an upload that failed; its blob keys go to `blob_deletions`. Returns them.
    #[tracing::instrument(skip(self))]
    pub async fn discard(&self, id: Uuid) -> Result<Vec<String>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM files WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let keys = doom_blobs(&mut tx, &[id]).await?;
        tx.commit().await?;
        Ok(keys)
    }

    /// A stored file.
    #[tracing::instrument(skip(self))]
    pub async fn get(&self, id: Uuid) -> Result<Option<FileRecord>, sqlx::Error> {
        Ok(self.get_many(&[id]).await?.into_iter().next())
    }

    /// The stored files among `ids`, in no particular order.
    #[tracing::instrument(skip(self, ids), fields(count = ids.len()))]
    pub async fn get_many(&self, ids: &[Uuid]) -> Result<Vec<FileRecord>, sqlx::Error> {
        let rows: Vec<FileRow> = sqlx::query_as(SELECT_STORED)
            .bind(ids)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(FileRecord::from).collect())
    }

    /// Deletes at most `limit` uploads that began more than `age` ago and are either
    /// still unfinished or, not being avatars, carried by no message; their blob keys go
    /// to `blob_deletions`. Returns the ids and keys. Rows locked by a concurrent Attach
    /// are skipped (and, attached, are not pending any more).
    #[tracing::instrument(skip(self))]
    pub async fn sweep_pending(
        &self,
        age: Duration,
        limit: u32,
    ) -> Result<(Vec<Uuid>, Vec<String>), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "DELETE FROM files WHERE id IN (
                 SELECT f.id FROM files f
                 WHERE f.created_at < now() - make_interval(secs => $1)
                   AND (f.stored_at IS NULL
                        OR (f.purpose = 'file'
                            AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.file_id = f.id)))
                 ORDER BY f.created_at
                 LIMIT $2
                 FOR UPDATE SKIP LOCKED)
             RETURNING id",
        )
        .bind(age.as_secs_f64())
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let keys = doom_blobs(&mut tx, &ids).await?;
        tx.commit().await?;
        Ok((ids, keys))
    }
}

/// Writes the blob keys of the files `ids` to `blob_deletions` (their records are being
/// deleted in `tx`). Returns the keys.
pub(crate) async fn doom_blobs(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[Uuid],
) -> Result<Vec<String>, sqlx::Error> {
    let keys: Vec<String> = ids
        .iter()
        .flat_map(|&id| Blobs::keys_of(id).map(|key| key.to_string()))
        .collect();
    if !keys.is_empty() {
        sqlx::query(
            "INSERT INTO blob_deletions (key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(&keys)
        .execute(&mut **tx)
        .await?;
    }
    Ok(keys)
}
