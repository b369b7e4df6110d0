//! `chat.v1.FilesService` over gRPC: requests parsed into domain types, answers built from
//! file records. The work is in [`crate::upload`], [`crate::download`] and
//! [`crate::attachments`].

use std::collections::HashSet;
use std::pin::Pin;

use chat_proto::v1::files_service_server::FilesService;
use chat_proto::v1::{
    AttachRequest, AttachResponse, DetachRequest, DetachResponse, DownloadChunk, DownloadHeader,
    DownloadRequest, FileInfo, FileKind, FilePurpose, FileStatus, GetFilesRequest,
    GetFilesResponse, UploadChunk, download_chunk,
};
use futures::{Stream, StreamExt as _, stream};
use tonic::{Request, Response, Status, Streaming};
use uuid::Uuid;

use crate::attachments::{Attachment, Attachments, MAX_FILES_PER_MESSAGE};
use crate::deletions::BlobDeletions;
use crate::download::Downloads;
use crate::error::Error;
use crate::files::{FileRecord, Files, Kind, Purpose};
use crate::upload::Uploads;

/// Most ids in one `GetFiles`.
pub const MAX_GET_FILES: usize = 100;

/// The gRPC service.
#[derive(Clone)]
pub struct FilesApi {
    files: Files,
    uploads: Uploads,
    downloads: Downloads,
    attachments: Attachments,
    deletions: BlobDeletions,
}

impl FilesApi {
    pub fn new(
        files: Files,
        uploads: Uploads,
        downloads: Downloads,
        attachments: Attachments,
        deletions: BlobDeletions,
    ) -> Self {
        Self {
            files,
            uploads,
            downloads,
            attachments,
            deletions,
        }
    }
}

type DownloadStream = Pin<Box<dyn Stream<Item = Result<DownloadChunk, Status>> + Send>>;

#[tonic::async_trait]
impl FilesService for FilesApi {
    async fn upload(
        &self,
        request: Request<Streaming<UploadChunk>>,
    ) -> Result<Response<FileInfo>, Status> {
        let uploads = self.uploads.clone();
        let chunks = request.into_inner();
        // On a task of its own, so an upload whose caller went away still cleans up
        // (aborts its multipart upload, forgets its record) instead of being dropped
        // halfway.
        let received = tokio::spawn(async move { uploads.receive(chunks).await })
            .await
            .map_err(|err| Status::from(Error::Internal(err.into())))?;
        Ok(Response::new(file_info(&received?)))
    }

    async fn get_files(
        &self,
        request: Request<GetFilesRequest>,
    ) -> Result<Response<GetFilesResponse>, Status> {
        let request = request.into_inner();
        if request.ids.len() > MAX_GET_FILES {
            return Err(Error::invalid_field("ids", format!("at most {MAX_GET_FILES}")).into());
        }
        let ids = parse_ids("ids", &request.ids)?;
        let files = self.files.get_many(&ids).await.map_err(Error::from)?;
        Ok(Response::new(GetFilesResponse {
            files: files.iter().map(file_info).collect(),
        }))
    }

    type DownloadStream = DownloadStream;

    async fn download(
        &self,
        request: Request<DownloadRequest>,
    ) -> Result<Response<DownloadStream>, Status> {
        let request = request.into_inner();
        let id = parse_id("file_id", &request.file_id)?;
        let download = self
            .downloads
            .open(id, request.thumbnail, request.range.as_ref())
            .await?;
        let header = DownloadChunk {
            part: Some(download_chunk::Part::Header(DownloadHeader {
                file: Some(file_info(&download.file)),
                content_type: download.blob.content_type.clone(),
                total_size: download.blob.size,
                start: download.range.start,
                end: download.range.end,
            })),
        };
        let body = download.body.map(|piece| {
            piece
                .map(|bytes| DownloadChunk {
                    part: Some(download_chunk::Part::Data(bytes)),
                })
                .map_err(Status::from)
        });
        let chunks = stream::once(async { Ok(header) }).chain(body);
        Ok(Response::new(Box::pin(chunks)))
    }

    async fn attach(
        &self,
        request: Request<AttachRequest>,
    ) -> Result<Response<AttachResponse>, Status> {
        let attachment = parse_attachment(request.into_inner())?;
        let message_id = self.attachments.attach(&attachment).await?;
        let mut files = self
            .files
            .get_many(&attachment.file_ids)
            .await
            .map_err(Error::from)?;
        files.sort_by_key(|file| {
            attachment
                .file_ids
                .iter()
                .position(|id| *id == file.id)
                .unwrap_or(usize::MAX)
        });
        Ok(Response::new(AttachResponse {
            files: files.iter().map(file_info).collect(),
            message_id: message_id.to_string(),
        }))
    }

    async fn detach(
        &self,
        request: Request<DetachRequest>,
    ) -> Result<Response<DetachResponse>, Status> {
        let message_id = parse_id("message_id", &request.into_inner().message_id)?;
        let detached = self.attachments.detach(message_id).await?;
        self.deletions.delete(&detached.doomed_keys).await;
        Ok(Response::new(DetachResponse {
            detached_file_ids: detached.detached.iter().map(Uuid::to_string).collect(),
            deleted_file_ids: detached.deleted.iter().map(Uuid::to_string).collect(),
        }))
    }
}

fn parse_id(field: &str, text: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(text).map_err(|_| Error::invalid_field(field, "must be a UUID"))
}

/// Distinct ids, in the order given.
fn parse_ids(field: &str, texts: &[String]) -> Result<Vec<Uuid>, Error> {
    let mut seen = HashSet::new();
    let mut ids = Vec::with_capacity(texts.len());
    for (index, text) in texts.iter().enumerate() {
        let id = parse_id(&format!("{field}[{index}]"), text)?;
        if seen.insert(id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn parse_attachment(request: AttachRequest) -> Result<Attachment, Error> {
    let mut violations = Vec::new();
    let mut id = |field: &str, text: &str| {
        Uuid::parse_str(text)
            .map_err(|_| violations.push((field.to_owned(), "must be a UUID".to_owned())))
            .ok()
    };
    let uploader_id = id("uploader_id", &request.uploader_id);
    let room_id = id("room_id", &request.room_id);
    let message_id = id("message_id", &request.message_id);
    if request.file_ids.is_empty() || request.file_ids.len() > MAX_FILES_PER_MESSAGE {
        violations.push((
            "file_ids".to_owned(),
            format!("1 to {MAX_FILES_PER_MESSAGE} files"),
        ));
    }
    if request.client_msg_id.is_empty() || request.client_msg_id.chars().count() > 64 {
        violations.push(("client_msg_id".to_owned(), "1 to 64 characters".to_owned()));
    }
    let file_ids = parse_ids("file_ids", &request.file_ids);
    match (uploader_id, room_id, message_id, file_ids) {
        (Some(uploader_id), Some(room_id), Some(message_id), Ok(file_ids))
            if violations.is_empty() =>
        {
            Ok(Attachment {
                uploader_id,
                room_id,
                message_id,
                file_ids,
                client_msg_id: request.client_msg_id,
            })
        }
        (_, _, _, Err(Error::Validation(more))) => {
            violations.extend(more);
            Err(Error::Validation(violations))
        }
        _ => Err(Error::Validation(violations)),
    }
}

/// What callers see of a file.
pub fn file_info(file: &FileRecord) -> FileInfo {
    let thumbnail = file.thumbnail.as_ref();
    FileInfo {
        id: file.id.to_string(),
        name: file.name.clone(),
        size: file.blob.size,
        content_type: file.blob.content_type.clone(),
        kind: match file.kind {
            Kind::File => FileKind::File,
            Kind::Image => FileKind::Image,
        } as i32,
        width: file.blob.width,
        height: file.blob.height,
        has_thumbnail: thumbnail.is_some(),
        thumbnail_width: thumbnail.and_then(|t| t.width),
        thumbnail_height: thumbnail.and_then(|t| t.height),
        uploader_id: file.uploader_id.to_string(),
        created_at: Some(chat_runtime::time::to_proto(file.created_at)),
        status: if file.is_attached() {
            FileStatus::Attached
        } else {
            FileStatus::Pending
        } as i32,
        room_ids: file.room_ids.iter().map(Uuid::to_string).collect(),
        purpose: match file.purpose {
            Purpose::File => FilePurpose::File,
            Purpose::Avatar => FilePurpose::Avatar,
        } as i32,
        public: file.purpose == Purpose::Avatar,
    }
}
