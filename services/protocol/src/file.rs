//! Uploaded files as clients see them: `POST /api/uploads` answers one, and messages will
//! carry them as attachments.

use serde::{Deserialize, Serialize};

use crate::ids::FileId;

/// What a file is: any file, or an image that decoded (dimensions known, thumbnail made).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    File,
    Image,
}

/// A smaller copy of an image (at most 320 px a side; avatars: a centred square).
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
pub struct ThumbnailView {
    /// `GET` it with the access token.
    pub url: String,
    pub width: u32,
    pub height: u32,
}

/// An uploaded file.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
pub struct FileView {
    pub id: FileId,
    /// The name it was uploaded with, without any directory.
    pub name: String,
    /// Bytes (an image's as stored, without its metadata).
    #[ts(type = "number")]
    pub size: u64,
    /// Detected from the bytes, not taken from the client.
    pub content_type: String,
    pub kind: FileKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub height: Option<u32>,
    /// `GET` it with the access token.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub thumbnail: Option<ThumbnailView>,
}
