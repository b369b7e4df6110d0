//! The files a message carries: uploads attached to a message before it is sequenced,
//! and detached (deleted when nothing else carries them) before its deletion goes out.
//! The files service keeps the record that opens a file to a room's members; a send is
//! known there by its sender, room and `client_msg_id`, so a retried send gets the
//! message id its first attempt attached the files to.

use std::time::Duration;

use chat_proto::v1::{self as proto, AttachRequest, DetachRequest, FileInfo, MessageKind};
use chat_runtime::status::RemoteError;
use tonic::Code;
use uuid::Uuid;

use crate::core::clients::FilesClient;

/// Most files one message carries.
pub const MAX_ATTACHMENTS: usize = 10;

/// The longest wait for the files service to attach or detach (its channel has no
/// whole-call timeout: uploads take as long as they take).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why files were not attached or detached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentError {
    /// The files cannot go with this message; `0` says why (about the `attachments`).
    #[error("{0}")]
    Refused(String),
    /// The files service failed or did not answer.
    #[error("the files service is unavailable")]
    Unavailable,
}

/// Files attached to a message about to be sent.
#[derive(Debug, Clone)]
pub struct Attached {
    /// The message's id: the one asked, or an earlier attempt's of the same send.
    pub message_id: Uuid,
    /// What the message shows of each file, in the order sent.
    pub files: Vec<FileInfo>,
    /// `Image` when every file is an image, else `File`.
    pub kind: MessageKind,
}

/// Attaching and detaching. Cheap to clone.
#[derive(Clone)]
pub struct Attachments {
    client: FilesClient,
}

impl Attachments {
    pub fn new(client: FilesClient) -> Self {
        Self { client }
    }

    /// Attaches `files` (the sender's uploads) to the message `message_id` of `room`.
    #[tracing::instrument(name = "attachments.attach", skip(self, files), fields(files = files.len()))]
    pub async fn attach(
        &self,
        sender: Uuid,
        room: Uuid,
        client_msg_id: &str,
        message_id: Uuid,
        files: &[Uuid],
    ) -> Result<Attached, AttachmentError> {
        let mut client = self.client.clone();
        let call = client.attach(AttachRequest {
            uploader_id: sender.to_string(),
            room_id: room.to_string(),
            message_id: message_id.to_string(),
            file_ids: files.iter().map(Uuid::to_string).collect(),
            client_msg_id: client_msg_id.to_owned(),
        });
        let answer = tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| {
                tracing::warn!("the files service did not answer the attach");
                AttachmentError::Unavailable
            })?
            .map_err(refusal)?
            .into_inner();
        let message_id = answer.message_id.parse().map_err(|_| {
            tracing::error!(id = %answer.message_id, "the files service answered a malformed id");
            AttachmentError::Unavailable
        })?;
        let kind = if answer
            .files
            .iter()
            .all(|file| file.kind() == proto::FileKind::Image)
        {
            MessageKind::Image
        } else {
            MessageKind::File
        };
        Ok(Attached {
            message_id,
            files: answer.files.into_iter().map(shown_in_message).collect(),
            kind,
        })
    }

    /// Takes the files of `message_id` away from its room (deleting those no other
    /// message carries). Nothing attached is not an error.
    #[tracing::instrument(name = "attachments.detach", skip(self))]
    pub async fn detach(&self, message_id: Uuid) -> Result<(), AttachmentError> {
        let mut client = self.client.clone();
        let call = client.detach(DetachRequest {
            message_id: message_id.to_string(),
        });
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(status)) => {
                tracing::warn!(code = ?status.code(), message = %status.message(), "cannot detach the message's files");
                Err(AttachmentError::Unavailable)
            }
            Err(_) => {
                tracing::warn!("the files service did not answer the detach");
                Err(AttachmentError::Unavailable)
            }
        }
    }
}

/// What a message carries of a file: how to show and fetch it, nothing about who
/// uploaded it or where else it is shared.
fn shown_in_message(file: FileInfo) -> FileInfo {
    FileInfo {
        id: file.id,
        name: file.name,
        size: file.size,
        content_type: file.content_type,
        kind: file.kind,
        width: file.width,
        height: file.height,
        has_thumbnail: file.has_thumbnail,
        thumbnail_width: file.thumbnail_width,
        thumbnail_height: file.thumbnail_height,
        ..FileInfo::default()
    }
}

/// The files service's refusal as the sender reads it (every refusal is about the
/// message's `attachments`); anything else is the service being unavailable.
fn refusal(status: tonic::Status) -> AttachmentError {
    let remote = RemoteError::from(&status);
    let message = match (remote.code, remote.reason.as_str()) {
        (Code::NotFound, _) => "names an upload that does not exist".to_owned(),
        (Code::PermissionDenied, _) => "must be your own uploads".to_owned(),
        (Code::FailedPrecondition, "already_attached") => {
            "names an upload already sent in another message".to_owned()
        }
        (Code::FailedPrecondition, "avatar_not_attachable") => {
            "names an avatar, which cannot be sent in a message".to_owned()
        }
        (Code::FailedPrecondition | Code::InvalidArgument, _) => remote.message,
        _ => {
            tracing::warn!(code = ?status.code(), message = %status.message(), "cannot attach the files");
            return AttachmentError::Unavailable;
        }
    };
    AttachmentError::Refused(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_in_a_message_tells_nothing_of_its_uploader_or_rooms() {
        let file = FileInfo {
            id: "f".into(),
            name: "a.png".into(),
            uploader_id: "someone".into(),
            room_ids: vec!["elsewhere".into()],
            public: true,
            has_thumbnail: true,
            thumbnail_width: Some(10),
            ..FileInfo::default()
        };
        let shown = shown_in_message(file);
        assert!(shown.uploader_id.is_empty() && shown.room_ids.is_empty() && !shown.public);
        assert_eq!(
            (shown.name.as_str(), shown.thumbnail_width),
            ("a.png", Some(10))
        );
    }

    #[test]
    fn refusals_name_the_attachments_and_failures_are_unavailable() {
        let refused = refusal(tonic::Status::not_found("no such file"));
        assert_eq!(
            refused,
            AttachmentError::Refused("names an upload that does not exist".to_owned())
        );
        assert_eq!(
            refusal(tonic::Status::unavailable("down")),
            AttachmentError::Unavailable
        );
    }
}
