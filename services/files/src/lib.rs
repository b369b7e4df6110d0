//! The files service: uploads, their blobs and thumbnails, served as
//! `chat.v1.FilesService` over streaming gRPC.
//!
//! Metadata lives in its own PostgreSQL database (`chat_files`); the bytes live in an
//! object store ([`object_store`]): a directory of the local filesystem (the default, for
//! one machine) or an S3-compatible bucket (AWS, SeaweedFS, MinIO, ...), chosen by
//! `FILES_STORAGE`. Each file has its blob at `files/<id>` and an image its thumbnail at
//! `thumbnails/<id>`. Only the gateway calls the service; it authenticates the user,
//! streams uploads in and downloads out, and decides who may read a file from what the
//! service reports (the uploader while pending, the members of `room_ids` once attached,
//! any signed-in user for an avatar). It never touches storage itself.
//!
//! # What it promises
//!
//! - **Bounded uploads.** A body is streamed to storage (one request up to 5 MiB, a
//!   multipart upload past it), never held whole; past the size limit of its purpose
//!   (25 MiB files, 5 MiB avatars by default) the multipart upload is aborted, the call
//!   answers `file_too_large` and nothing is kept ([`upload`]).
//! - **Types from bytes.** The content type is detected from the bytes ([`content`]),
//!   never taken from the client; `text/plain` only for valid UTF-8 the client called
//!   text, `application/octet-stream` when unknown. Names are sanitised ([`name`]).
//! - **Safe images.** PNG, JPEG, GIF and WebP uploads are decoded under width, height,
//!   pixel and memory limits (decompression bombs answer `image_too_large`, undecodable
//!   bytes `invalid_image`, nothing kept), re-encoded without EXIF/GPS metadata, and get
//!   a thumbnail (320 px box; an avatar's a 256 px centred square), all off the async
//!   threads ([`images`]). An avatar must be such an image.
//! - **Attachments.** A message carries its uploader's files ([`attachments`]): someone
//!   else's are refused (`not_your_upload`), one already carried by another message too
//!   (`already_attached`); the same attach again changes nothing. Deleting the message
//!   (`Detach`) deletes each file no other message carries, blobs and thumbnail included.
//! - **Nothing lost track of.** A record is written before its blob and completed after,
//!   and a blob is deleted only after its record, through a table of doomed keys
//!   ([`deletions`]); the [`sweeper`] removes uploads still pending after a day (avatars
//!   excepted), unfinished ones, and retries failed blob deletions.
//! - **Ranges.** A download streams the file or its thumbnail, whole or one HTTP byte
//!   range ([`range`]; a bad one answers `range_not_satisfiable`).
//!
//! Health (`/healthz`, `/readyz` checking PostgreSQL and the store), Prometheus metrics
//! (`/metrics`, `chat_files_*`) and the drain on SIGTERM are those of every gRPC service
//! (`chat_runtime::grpc_server`). Tests and in-process stacks start it with
//! [`App::build`] and [`App::run_until`], on port 0.

pub mod attachments;
pub mod blobs;
pub mod config;
pub mod content;
pub mod deletions;
pub mod download;
pub mod error;
pub mod files;
pub mod grpc;
pub mod images;
pub mod name;
pub mod range;
pub mod startup;
pub mod sweeper;
pub mod upload;

pub use config::{Command, Config, StorageKind};
pub use error::Error;
pub use startup::{App, MIGRATOR, migrate};
