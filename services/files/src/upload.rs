//! One upload, from the client's stream to a stored file.
//!
//! 1. The header is checked; its name is sanitised. A declared size past the limit is
//!    refused before any byte is read.
//! 2. The first bytes (up to [`HEAD_LEN`]) say what the upload is ([`content::sniff`]). An
//!    avatar that is no PNG, JPEG, GIF or WebP image is refused here.
//! 3. The record is written, unfinished (so a crash from here on leaves something the
//!    sweeper finds).
//! 4. A file that is no image streams to its blob as it arrives (one request up to
//!    [`PART_SIZE`], a multipart upload past it), its bytes counted and checked as UTF-8;
//!    an image is gathered in memory (at most the size limit), then decoded, re-encoded
//!    and thumbnailed on a blocking thread, and only the result is written. The original
//!    of an image, with its EXIF, is never stored.
//! 5. Past the size limit, at a body longer or shorter than declared, on a refused image,
//!    a stream that stalls, fails or stops before its `end` message, or a failing store, the multipart upload is aborted and
//!    the record and any blob deleted: nothing is kept. Otherwise the record is completed
//!    and returned.
//!
//! [`PART_SIZE`]: crate::blobs::PART_SIZE

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use chat_proto::v1::upload_chunk::Part;
use chat_proto::v1::{FilePurpose, UploadChunk, UploadHeader};
use futures::{Stream, StreamExt as _};
use image::ImageFormat;
use object_store::buffered::BufWriter;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::Semaphore;
use tonic::Status;
use uuid::Uuid;

use crate::blobs::{BlobKind, Blobs};
use crate::config::{ImageConfig, UploadConfig};
use crate::content::{self, HEAD_LEN, Sniffed, Utf8Check};
use crate::deletions::BlobDeletions;
use crate::error::Error;
use crate::files::{BlobInfo, FileRecord, Files, Kind, Purpose, Stored};
use crate::images::{self, Refusal, ThumbnailShape};
use crate::name;

/// Uploads by outcome (`stored`, or the error's reason) and purpose.
pub const UPLOADS_METRIC: &str = "chat_files_uploads_total";
/// Bytes received in uploads that were stored.
pub const UPLOADED_BYTES_METRIC: &str = "chat_files_uploaded_bytes_total";
/// How long decoding, re-encoding and thumbnailing one image took.
pub const IMAGE_SECONDS_METRIC: &str = "chat_files_image_processing_seconds";

/// A checked upload header.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub uploader_id: Uuid,
    pub name: String,
    pub declared_content_type: String,
    pub purpose: Purpose,
    /// The body's length, when the caller knows it.
    pub size: Option<u64>,
}

impl NewUpload {
    fn parse(header: UploadHeader) -> Result<Self, Error> {
        let mut violations = Vec::new();
        let uploader_id = Uuid::parse_str(&header.uploader_id).map_err(|_| {
            violations.push(("uploader_id".to_owned(), "must be a UUID".to_owned()));
        });
        let purpose = match header.purpose() {
            FilePurpose::File => Ok(Purpose::File),
            FilePurpose::Avatar => Ok(Purpose::Avatar),
            FilePurpose::Unspecified => {
                violations.push(("purpose".to_owned(), "must be FILE or AVATAR".to_owned()));
                Err(())
            }
        };
        match (uploader_id, purpose) {
            (Ok(uploader_id), Ok(purpose)) => Ok(Self {
                uploader_id,
                name: name::sanitise(&header.name),
                declared_content_type: header.declared_content_type,
                purpose,
                size: header.size,
            }),
            _ => Err(Error::Validation(violations)),
        }
    }
}

/// Receives uploads.
#[derive(Clone)]
pub struct Uploads {
    files: Files,
    blobs: Blobs,
    deletions: BlobDeletions,
    limits: UploadConfig,
    images: Arc<ImageConfig>,
    /// Images processed at once.
    image_permits: Arc<Semaphore>,
}

impl Uploads {
    pub fn new(
        files: Files,
        blobs: Blobs,
        deletions: BlobDeletions,
        limits: UploadConfig,
        images: ImageConfig,
    ) -> Self {
        Self {
            files,
            blobs,
            deletions,
            limits,
            image_permits: Arc::new(Semaphore::new(usize::from(images.concurrency))),
            images: Arc::new(images),
        }
    }

    /// Stores the upload `chunks` carry (header first, then the body), as the
    /// [module](self) describes.
    pub async fn receive<S>(&self, chunks: S) -> Result<FileRecord, Error>
    where
        S: Stream<Item = Result<UploadChunk, Status>> + Send + Unpin,
    {
        let mut purpose = "unknown";
        let outcome = self.receive_inner(chunks, &mut purpose).await;
        let label = match &outcome {
            Ok(record) => {
                metrics::counter!(UPLOADED_BYTES_METRIC).increment(record.blob.size);
                "stored"
            }
            Err(err) => err.reason(),
        };
        metrics::counter!(UPLOADS_METRIC, "outcome" => label, "purpose" => purpose).increment(1);
        outcome
    }

    async fn receive_inner<S>(
        &self,
        mut chunks: S,
        purpose_label: &mut &'static str,
    ) -> Result<FileRecord, Error>
    where
        S: Stream<Item = Result<UploadChunk, Status>> + Send + Unpin,
    {
        let header = match next_message(&mut chunks, self.limits.idle_timeout).await? {
            Some(Part::Header(header)) => header,
            Some(Part::Data(_) | Part::End(_)) => {
                return Err(Error::invalid_field(
                    "header",
                    "the first message must be the header",
                ));
            }
            None => return Err(Error::invalid_field("header", "missing")),
        };
        let upload = NewUpload::parse(header)?;
        *purpose_label = upload.purpose.as_str();
        let limit = match upload.purpose {
            Purpose::File => self.limits.max_file_size,
            Purpose::Avatar => self.limits.max_avatar_size,
        };
        if upload.size.is_some_and(|size| size > limit) {
            return Err(Error::FileTooLarge { limit });
        }
        let mut body = Body {
            chunks,
            limit,
            declared: upload.size,
            received: 0,
            ended: false,
            idle_timeout: self.limits.idle_timeout,
        };

        let mut head = Vec::new();
        let mut head_len = 0;
        while head_len < HEAD_LEN {
            match body.next().await? {
                Some(piece) => {
                    head_len += piece.len();
                    head.push(piece);
                }
                None => break,
            }
        }
        let first_bytes: Vec<u8> = head
            .iter()
            .flat_map(|piece| piece.iter().copied())
            .take(HEAD_LEN)
            .collect();
        let sniffed = content::sniff(&first_bytes);
        if upload.purpose == Purpose::Avatar && !matches!(sniffed, Sniffed::Image(_)) {
            return Err(Error::NotAnImage);
        }

        let id = Uuid::now_v7();
        self.files
            .begin(id, upload.uploader_id, &upload.name, upload.purpose)
            .await?;
        let stored = match sniffed {
            Sniffed::Image(format) => self.store_image(id, format, &upload, head, body).await,
            _ => self.store_file(id, sniffed, &upload, head, body).await,
        };
        let completed = match stored {
            Ok(stored) => self.files.complete(id, &stored).await.map_err(Error::from),
            Err(err) => Err(err),
        };
        if completed.is_err() {
            self.discard(id).await;
        }
        completed
    }

    /// Streams a body that is no image to its blob.
    async fn store_file<S>(
        &self,
        id: Uuid,
        sniffed: Sniffed,
        upload: &NewUpload,
        head: Vec<Bytes>,
        mut body: Body<S>,
    ) -> Result<Stored, Error>
    where
        S: Stream<Item = Result<UploadChunk, Status>> + Send + Unpin,
    {
        let mut writer = self.blobs.writer(Blobs::key(id, BlobKind::File));
        let mut utf8 = Utf8Check::new();
        let streamed = async {
            for piece in head {
                utf8.feed(&piece);
                writer.put(piece).await?;
            }
            while let Some(piece) = body.next().await? {
                utf8.feed(&piece);
                writer.put(piece).await?;
            }
            Ok::<_, Error>(())
        }
        .await;
        if let Err(err) = streamed {
            abort(&mut writer).await;
            return Err(err);
        }
        // Completes the single put or the multipart upload. Once begun, a writer cannot be
        // aborted; a failed completion leaves the blob to the discard that follows.
        writer.shutdown().await.map_err(storage_error)?;
        Ok(Stored {
            kind: Kind::File,
            blob: BlobInfo {
                size: body.received,
                content_type: content::content_type(
                    sniffed,
                    &upload.declared_content_type,
                    &upload.name,
                    utf8.is_valid(),
                )
                .to_owned(),
                width: None,
                height: None,
            },
            thumbnail: None,
        })
    }

    /// Gathers an image, processes it, and writes the re-encoded image and its thumbnail.
    async fn store_image<S>(
        &self,
        id: Uuid,
        format: ImageFormat,
        upload: &NewUpload,
        head: Vec<Bytes>,
        mut body: Body<S>,
    ) -> Result<Stored, Error>
    where
        S: Stream<Item = Result<UploadChunk, Status>> + Send + Unpin,
    {
        let mut gathered = BytesMut::new();
        for piece in head {
            gathered.extend_from_slice(&piece);
        }
        while let Some(piece) = body.next().await? {
            gathered.extend_from_slice(&piece);
        }
        let bytes = gathered.freeze();
        let shape = match upload.purpose {
            Purpose::File => ThumbnailShape::Fit(self.images.thumbnail_size),
            Purpose::Avatar => ThumbnailShape::Square(self.images.avatar_thumbnail_size),
        };
        let permit = self
            .image_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|err| Error::Internal(err.into()))?;
        let config = self.images.clone();
        let started = Instant::now();
        let processed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            images::process(&bytes, format, &config, shape)
        })
        .await
        .map_err(|err| Error::Internal(err.into()))?;
        metrics::histogram!(IMAGE_SECONDS_METRIC).record(started.elapsed().as_secs_f64());
        let processed = processed.map_err(|refusal| match refusal {
            Refusal::TooLarge(why) => Error::ImageTooLarge(why),
            Refusal::Invalid => Error::InvalidImage,
        })?;

        let image = processed.image;
        let thumbnail = processed.thumbnail;
        let image_info = BlobInfo {
            size: image.bytes.len() as u64,
            content_type: image.content_type.to_owned(),
            width: Some(image.width),
            height: Some(image.height),
        };
        let thumbnail_info = BlobInfo {
            size: thumbnail.bytes.len() as u64,
            content_type: thumbnail.content_type.to_owned(),
            width: Some(thumbnail.width),
            height: Some(thumbnail.height),
        };
        self.blobs
            .put(&Blobs::key(id, BlobKind::File), image.bytes)
            .await?;
        self.blobs
            .put(&Blobs::key(id, BlobKind::Thumbnail), thumbnail.bytes)
            .await?;
        Ok(Stored {
            kind: Kind::Image,
            blob: image_info,
            thumbnail: Some(thumbnail_info),
        })
    }

    /// Deletes the record of a failed upload and whatever blob it wrote. Failures are
    /// left to the sweeper (an unfinished record, or a key in `blob_deletions`).
    async fn discard(&self, id: Uuid) {
        match self.files.discard(id).await {
            Ok(keys) => {
                self.deletions.delete(&keys).await;
            }
            Err(err) => {
                tracing::warn!(%err, %id, "forgetting a failed upload failed; the sweeper will");
            }
        }
    }
}

/// Aborts a writer: nothing of it stays in the store.
async fn abort(writer: &mut BufWriter) {
    if let Err(err) = writer.abort().await {
        tracing::warn!(%err, "aborting a multipart upload failed");
    }
}

fn storage_error(err: std::io::Error) -> Error {
    match err.downcast::<object_store::Error>() {
        Ok(err) => Error::Storage(err),
        Err(err) => Error::Internal(err.into()),
    }
}

/// The next message of the client's stream, within the idle timeout. Empty messages are
/// skipped.
async fn next_message<S>(chunks: &mut S, idle_timeout: Duration) -> Result<Option<Part>, Error>
where
    S: Stream<Item = Result<UploadChunk, Status>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(idle_timeout, chunks.next())
            .await
            .map_err(|_| Error::UploadStalled)?;
        match message {
            None => return Ok(None),
            Some(Err(status)) => return Err(Error::UploadStream(status)),
            Some(Ok(UploadChunk { part: None })) => continue,
            Some(Ok(UploadChunk { part: Some(part) })) => return Ok(Some(part)),
        }
    }
}

/// The body of an upload: the data messages between the header and `end`, counted
/// against the limit.
struct Body<S> {
    chunks: S,
    limit: u64,
    /// The length the header declared.
    declared: Option<u64>,
    received: u64,
    /// The `end` message came.
    ended: bool,
    idle_timeout: Duration,
}

impl<S> Body<S>
where
    S: Stream<Item = Result<UploadChunk, Status>> + Unpin,
{
    /// The next piece of the body; `None` after the `end` message. `FileTooLarge` as soon
    /// as the pieces pass the limit, `SizeMismatch` as soon as they pass the declared size
    /// or end short of it, `UploadIncomplete` when the stream stops before `end`.
    async fn next(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            if self.ended {
                return Ok(None);
            }
            match next_message(&mut self.chunks, self.idle_timeout).await? {
                None => return Err(Error::UploadIncomplete),
                Some(Part::End(_)) => {
                    self.ended = true;
                    return match self.declared {
                        Some(declared) if declared != self.received => {
                            Err(Error::SizeMismatch { declared })
                        }
                        _ => Ok(None),
                    };
                }
                Some(Part::Header(_)) => {
                    return Err(Error::invalid_field(
                        "header",
                        "only the first message is a header",
                    ));
                }
                Some(Part::Data(piece)) if piece.is_empty() => continue,
                Some(Part::Data(piece)) => {
                    self.received += piece.len() as u64;
                    if self.received > self.limit {
                        return Err(Error::FileTooLarge { limit: self.limit });
                    }
                    if let Some(declared) = self.declared.filter(|&d| self.received > d) {
                        return Err(Error::SizeMismatch { declared });
                    }
                    return Ok(Some(piece));
                }
            }
        }
    }
}
