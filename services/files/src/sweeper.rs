//! Removes what nobody will use: uploads still pending (attached to no message) long after
//! they began, uploads a crash left unfinished, and blobs whose deletion failed.
//!
//! Every `interval` it deletes (in batches of `limit`) the records of uploads older than
//! `pending_age` that are unfinished, or are files no message carries (avatars are never
//! pending), with their blobs; then it retries the blob deletions left over. Several
//! replicas may sweep at once: rows one has locked the others skip, and deleting a blob
//! twice is harmless.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::SweeperConfig;
use crate::deletions::BlobDeletions;
use crate::files::Files;

/// Uploads deleted by the sweeper.
pub const SWEPT_METRIC: &str = "chat_files_swept_total";
/// Sweeps that failed (PostgreSQL unreachable); the next one retries.
pub const SWEEP_FAILURES_METRIC: &str = "chat_files_sweep_failures_total";

/// The sweeper of pending uploads.
pub struct PendingSweeper {
    files: Files,
    deletions: BlobDeletions,
    config: SweeperConfig,
}

impl PendingSweeper {
    pub fn new(files: Files, deletions: BlobDeletions, config: SweeperConfig) -> Self {
        Self {
            files,
            deletions,
            config,
        }
    }

    /// Sweeps every `interval` until `shutdown`; a full sweep is followed at once by the
    /// next, so a backlog drains without waiting.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut delay = self.config.interval;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            delay = match self.sweep().await {
                Ok(found) if found >= self.config.limit as usize => Duration::ZERO,
                Ok(_) => self.config.interval,
                Err(err) => {
                    metrics::counter!(SWEEP_FAILURES_METRIC).increment(1);
                    tracing::warn!(%err, "files sweep failed; retrying at the next one");
                    self.config.interval
                }
            };
        }
    }

    /// One sweep. Returns the most work done in one of its steps (a full batch means more
    /// is waiting).
    #[tracing::instrument(name = "files sweep", skip(self))]
    pub async fn sweep(&self) -> Result<usize, sqlx::Error> {
        let (swept, keys) = self
            .files
            .sweep_pending(self.config.pending_age, self.config.limit)
            .await?;
        if !swept.is_empty() {
            metrics::counter!(SWEPT_METRIC).increment(swept.len() as u64);
            tracing::info!(count = swept.len(), "deleted uploads never attached");
            self.deletions.delete(&keys).await;
        }
        let retried = self.deletions.retry(self.config.limit).await?;
        Ok(swept.len().max(retried))
    }
}
