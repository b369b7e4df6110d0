//! Files for a user: uploads streamed to the files service, and downloads after the
//! access check (the uploader while the file is pending, the members of a room where it
//! was shared, any signed-in user for a public one). The gateway never touches storage.

use bytes::Bytes;
use chat_proto::v1::{
    self as proto, ByteRange, DownloadChunk, DownloadHeader, DownloadRequest, FileInfo,
    FilePurpose, GetFilesRequest, UploadChunk, UploadEnd, UploadHeader, download_chunk,
    upload_chunk,
};
use chat_protocol::file::FileView;
use chat_protocol::{FileId, UserId};
use futures::{Stream, StreamExt as _};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use uuid::Uuid;

use crate::core::clients::FilesClient;
use crate::core::messages::Messages;
use crate::core::render;

/// Upload pieces waiting for the files service; the body is read no faster than it
/// takes them.
const UPLOAD_QUEUE: usize = 4;
/// The longest wait for a file's description or the start of its download (the channel
/// has no whole-call timeout: the bytes take as long as they take).
const OPEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a file operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// No such file, or one the user may not see (not told apart).
    #[error("no such file")]
    NotFound,
    /// The client's body broke off.
    #[error("the upload broke off: {0}")]
    BodyBroken(String),
    /// The files service refused or failed.
    #[error("{0}")]
    Remote(#[from] tonic::Status),
}

/// What an upload is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An attachment for messages.
    File,
    /// A profile picture.
    Avatar,
}

/// The file's description, as the client names it.
#[derive(Debug, Clone)]
pub struct UploadMeta {
    pub name: String,
    pub declared_content_type: String,
    pub purpose: Purpose,
    /// The body's length when the client said it (`Content-Length`): an upload over the
    /// limit is refused before its body is read.
    pub size: Option<u64>,
}

/// A download under way: what is served and its bytes.
pub struct Download {
    pub header: DownloadHeader,
    pub bytes: futures::stream::BoxStream<'static, Result<Bytes, tonic::Status>>,
}

/// Uploads and downloads. Cheap to clone.
#[derive(Clone)]
pub struct Files {
    client: FilesClient,
    messages: Messages,
}

impl Files {
    pub fn new(client: FilesClient, messages: Messages) -> Self {
        Self { client, messages }
    }

    /// Streams `body` to the files service as `user`'s upload.
    #[tracing::instrument(name = "files.upload", skip(self, body), fields(name = %meta.name))]
    pub async fn upload<S, E>(
        &self,
        user: UserId,
        meta: UploadMeta,
        body: S,
    ) -> Result<FileView, FileError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let (sender, receiver) = mpsc::channel(UPLOAD_QUEUE);
        let header = UploadChunk {
            part: Some(upload_chunk::Part::Header(UploadHeader {
                uploader_id: user.to_string(),
                name: meta.name,
                declared_content_type: meta.declared_content_type,
                size: meta.size,
                purpose: match meta.purpose {
                    Purpose::File => FilePurpose::File,
                    Purpose::Avatar => FilePurpose::Avatar,
                }
                .into(),
            })),
        };
        // The body is read here while the call sends what was read; a broken body ends
        // the stream early and is reported instead of the service's answer.
        let reader = tokio::spawn(async move {
            if sender.send(header).await.is_err() {
                return Ok(());
            }
            let mut body = std::pin::pin!(body);
            while let Some(piece) = body.next().await {
                let piece = piece.map_err(|err| err.to_string())?;
                if piece.is_empty() {
                    continue;
                }
                let chunk = UploadChunk {
                    part: Some(upload_chunk::Part::Data(piece)),
                };
                if sender.send(chunk).await.is_err() {
                    // The service answered early (a refusal): stop reading.
                    return Ok(());
                }
            }
            // Only a body read to its end says so: a client gone mid-way never stores a
            // truncated file.
            let end = UploadChunk {
                part: Some(upload_chunk::Part::End(UploadEnd {})),
            };
            let _ = sender.send(end).await;
            Ok::<(), String>(())
        });
        let answer = self
            .client
            .clone()
            .upload(ReceiverStream::new(receiver))
            .await;
        if let Ok(Err(broken)) = reader.await {
            return Err(FileError::BodyBroken(broken));
        }
        render::file_view(answer?.into_inner()).ok_or_else(|| {
            tonic::Status::internal("the files service answered a malformed file").into()
        })
    }

    /// Opens `file` (or its thumbnail) for `user`, whole or the `range` asked.
    #[tracing::instrument(name = "files.download", skip(self))]
    pub async fn open(
        &self,
        user: UserId,
        file: FileId,
        thumbnail: bool,
        range: Option<ByteRange>,
    ) -> Result<Download, FileError> {
        let mut client = self.client.clone();
        let lookup = client.get_files(GetFilesRequest {
            ids: vec![file.to_string()],
        });
        let info = tokio::time::timeout(OPEN_TIMEOUT, lookup)
            .await
            .map_err(|_| tonic::Status::unavailable("the files service did not answer"))??
            .into_inner()
            .files
            .into_iter()
            .next()
            .ok_or(FileError::NotFound)?;
        if !self.may_read(user, &info).await {
            return Err(FileError::NotFound);
        }
        let mut chunks = self
            .client
            .clone()
            .download(DownloadRequest {
                file_id: file.to_string(),
                thumbnail,
                range,
            })
            .await?
            .into_inner();
        let first = tokio::time::timeout(OPEN_TIMEOUT, chunks.message())
            .await
            .map_err(|_| {
                tonic::Status::unavailable("the files service did not start the download")
            })??;
        let header = match first {
            Some(DownloadChunk {
                part: Some(download_chunk::Part::Header(header)),
            }) => header,
            _ => return Err(tonic::Status::internal("a download without its header").into()),
        };
        let bytes = chunks
            .filter_map(|chunk| async move {
                match chunk {
                    Ok(DownloadChunk {
                        part: Some(download_chunk::Part::Data(data)),
                    }) => Some(Ok(data)),
                    Ok(_) => None,
                    Err(status) => Some(Err(status)),
                }
            })
            .boxed();
        Ok(Download { header, bytes })
    }

    /// Whether `user` may read `file`: theirs while pending, public, or shared in a
    /// room they are a member of.
    async fn may_read(&self, user: UserId, file: &FileInfo) -> bool {
        if file.public {
            return true;
        }
        if file.status() == proto::FileStatus::Pending {
            return file.uploader_id == user.to_string();
        }
        for room in &file.room_ids {
            let Ok(room) = room.parse::<Uuid>() else {
                continue;
            };
            if self
                .messages
                .require_member(room, user.as_uuid())
                .await
                .is_ok()
            {
                return true;
            }
        }
        false
    }
}
