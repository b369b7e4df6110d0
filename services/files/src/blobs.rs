//! The object store that holds the bytes: a directory (`LocalFileSystem`) or an
//! S3-compatible bucket (`AmazonS3`), chosen by configuration. Every file has its blob at
//! `files/<id>`, and an image its thumbnail at `thumbnails/<id>`; nothing else is written.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use futures::TryStreamExt as _;
use futures::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt as _,
    PutPayload, RetryConfig,
};
use secrecy::ExposeSecret as _;
use uuid::Uuid;

use crate::config::{StorageConfig, StorageKind};

/// What an upload buffers before it switches to a multipart upload, and the size of each
/// part after that: S3's smallest part size.
pub const PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts of one upload in flight at once (each holds `PART_SIZE` bytes).
const PARTS_IN_FLIGHT: usize = 2;

/// The blobs, wherever they are kept.
#[derive(Clone, Debug)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

/// Which of a file's blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    File,
    Thumbnail,
}

impl Blobs {
    /// The configured store. A directory is created when missing; a bucket must exist.
    pub fn connect(config: &StorageConfig) -> anyhow::Result<Self> {
        let store: Arc<dyn ObjectStore> = match config.kind {
            StorageKind::Fs => {
                std::fs::create_dir_all(&config.dir)
                    .with_context(|| format!("creating {}", config.dir.display()))?;
                Arc::new(
                    LocalFileSystem::new_with_prefix(&config.dir)
                        .with_context(|| format!("opening {}", config.dir.display()))?
                        .with_automatic_cleanup(true),
                )
            }
            StorageKind::S3 => Arc::new(s3(config)?),
        };
        Ok(Self { store })
    }

    /// Blobs in a store built elsewhere (tests look into theirs).
    pub fn from_store(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    /// The store itself.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Where a file's blob of `kind` is.
    pub fn key(id: Uuid, kind: BlobKind) -> Path {
        match kind {
            BlobKind::File => Path::from(format!("files/{id}")),
            BlobKind::Thumbnail => Path::from(format!("thumbnails/{id}")),
        }
    }

    /// Every key a file may have written.
    pub fn keys_of(id: Uuid) -> [Path; 2] {
        [
            Self::key(id, BlobKind::File),
            Self::key(id, BlobKind::Thumbnail),
        ]
    }

    /// A writer that buffers up to [`PART_SIZE`] and puts that in one request, or past it
    /// streams the body as a multipart upload (abort it to leave nothing behind).
    pub fn writer(&self, key: Path) -> BufWriter {
        BufWriter::with_capacity(self.store.clone(), key, PART_SIZE)
            .with_max_concurrency(PARTS_IN_FLIGHT)
    }

    /// Writes a whole blob in one request.
    pub async fn put(&self, key: &Path, bytes: Vec<u8>) -> object_store::Result<()> {
        self.store
            .put(key, PutPayload::from(Bytes::from(bytes)))
            .await
            .map(|_| ())
    }

    /// The bytes `range` of a blob, as the store streams them.
    pub async fn read(
        &self,
        key: &Path,
        range: Range<u64>,
    ) -> object_store::Result<BoxStream<'static, object_store::Result<Bytes>>> {
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        Ok(self.store.get_opts(key, options).await?.into_stream())
    }

    /// Deletes a blob; one that is not there counts as deleted.
    pub async fn delete(&self, key: &Path) -> object_store::Result<()> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Every key in the store (for tests and operators; it lists the whole store).
    pub async fn list_keys(&self) -> object_store::Result<Vec<String>> {
        let mut keys: Vec<String> = self
            .store
            .list(None)
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await?;
        keys.sort();
        Ok(keys)
    }

    /// The readiness check: the store answers a listing (a missing bucket does not).
    pub async fn check(self) -> Result<(), String> {
        let prefix = Path::from("files");
        self.store
            .list_with_delimiter(Some(&prefix))
            .await
            .map(|_| ())
            .map_err(|err| err.to_string())
    }
}

/// An S3 client that fails within seconds when the store is down, rather than retrying for
/// minutes, so a call answers `unavailable` while it is.
fn s3(config: &StorageConfig) -> anyhow::Result<object_store::aws::AmazonS3> {
    let bucket = config
        .bucket
        .as_deref()
        .context("FILES_STORAGE=s3 needs S3_BUCKET")?;
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(&config.region)
        .with_allow_http(config.allow_http)
        .with_client_options(
            ClientOptions::new()
                .with_allow_http(config.allow_http)
                .with_connect_timeout(Duration::from_secs(5))
                .with_timeout(config.timeout),
        )
        .with_retry(RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 2,
            retry_timeout: config.timeout,
        });
    if let Some(endpoint) = &config.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    match (&config.access_key_id, &config.secret_access_key) {
        (Some(id), Some(secret)) => {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret.expose_secret());
        }
        (None, None) => {
            // No credentials: unsigned requests, and no asking an instance metadata
            // service for some.
            builder = builder.with_skip_signature(true);
        }
        _ => anyhow::bail!("S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together"),
    }
    builder.build().context("configuring the S3 store")
}
