//! Deleting blobs whose files are gone, without ever losing track of one.
//!
//! The transaction that deletes a file record writes its blob keys to `blob_deletions`.
//! After the commit the blobs are deleted and their keys removed; a blob that could not be
//! deleted (the store is down, the process died) keeps its key, and the sweeper tries it
//! again. A blob is therefore never deleted while its record exists, and never forgotten
//! once its record is gone.

use object_store::path::Path;
use sqlx::PgPool;

use crate::blobs::Blobs;

/// Blob deletions that failed; the sweeper retries them.
pub const BLOB_DELETE_FAILURES_METRIC: &str = "chat_files_blob_delete_failures_total";

/// Deletes doomed blobs.
#[derive(Clone, Debug)]
pub struct BlobDeletions {
    pool: PgPool,
    blobs: Blobs,
}

impl BlobDeletions {
    pub fn new(pool: PgPool, blobs: Blobs) -> Self {
        Self { pool, blobs }
    }

    /// Deletes the blobs `keys` (already in `blob_deletions`) and then their keys. A
    /// failure is logged and left to the sweeper. Returns how many were deleted.
    pub async fn delete(&self, keys: &[String]) -> usize {
        let mut deleted = Vec::with_capacity(keys.len());
        for key in keys {
            match self.blobs.delete(&Path::from(key.as_str())).await {
                Ok(()) => deleted.push(key.clone()),
                Err(err) => {
                    metrics::counter!(BLOB_DELETE_FAILURES_METRIC).increment(1);
                    tracing::warn!(%err, key, "deleting a blob failed; the sweeper retries");
                }
            }
        }
        if deleted.is_empty() {
            return 0;
        }
        if let Err(err) = sqlx::query("DELETE FROM blob_deletions WHERE key = ANY($1)")
            .bind(&deleted)
            .execute(&self.pool)
            .await
        {
            // The blobs are gone; deleting them again next time is harmless.
            tracing::warn!(%err, "forgetting deleted blobs failed");
        }
        deleted.len()
    }

    /// Deletes up to `limit` blobs left in `blob_deletions` by earlier failures (or by
    /// deletions still in progress elsewhere, which only repeats their work). Returns how
    /// many it deleted.
    #[tracing::instrument(name = "blob deletions retried", skip(self))]
    pub async fn retry(&self, limit: u32) -> Result<usize, sqlx::Error> {
        let keys: Vec<String> =
            sqlx::query_scalar("SELECT key FROM blob_deletions ORDER BY since LIMIT $1")
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
        Ok(self.delete(&keys).await)
    }
}
