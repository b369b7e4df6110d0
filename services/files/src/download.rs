//! Serving a blob, whole or one byte range, as the store streams it: never read whole
//! into memory. Small pieces from the store are gathered into messages of about
//! [`MESSAGE_BYTES`], and larger ones cut to at most [`MAX_MESSAGE_BYTES`], so a download
//! is neither thousands of tiny messages nor one past gRPC's size limit.

use std::ops::Range;

use bytes::{Bytes, BytesMut};
use chat_proto::v1::ByteRange as ProtoRange;
use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt as _};
use uuid::Uuid;

use crate::blobs::{BlobKind, Blobs};
use crate::error::Error;
use crate::files::{BlobInfo, FileRecord, Files};
use crate::range;

/// The size download messages are gathered to.
pub const MESSAGE_BYTES: usize = 64 * 1024;
/// The largest download message.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Bytes served by downloads.
pub const DOWNLOADED_BYTES_METRIC: &str = "chat_files_downloaded_bytes_total";

/// A download about to stream.
pub struct Download {
    pub file: FileRecord,
    /// The blob served (the file's or its thumbnail's).
    pub blob: BlobInfo,
    /// The bytes served, end exclusive.
    pub range: Range<u64>,
    /// Those bytes, in order.
    pub body: BoxStream<'static, Result<Bytes, Error>>,
}

/// Serves downloads.
#[derive(Clone)]
pub struct Downloads {
    files: Files,
    blobs: Blobs,
}

impl Downloads {
    pub fn new(files: Files, blobs: Blobs) -> Self {
        Self { files, blobs }
    }

    /// Opens the file's blob (or thumbnail) at the range asked for.
    #[tracing::instrument(skip(self, range))]
    pub async fn open(
        &self,
        id: Uuid,
        thumbnail: bool,
        range: Option<&ProtoRange>,
    ) -> Result<Download, Error> {
        let file = self.files.get(id).await?.ok_or(Error::FileNotFound)?;
        let (kind, blob) = if thumbnail {
            let blob = file.thumbnail.clone().ok_or(Error::ThumbnailNotFound)?;
            (BlobKind::Thumbnail, blob)
        } else {
            (BlobKind::File, file.blob.clone())
        };
        let served = range::served(range, blob.size)
            .map_err(|_| Error::RangeNotSatisfiable { size: blob.size })?;
        let body = if served.is_empty() {
            stream::empty().boxed()
        } else {
            let pieces = match self.blobs.read(&Blobs::key(id, kind), served.clone()).await {
                Ok(pieces) => pieces,
                Err(object_store::Error::NotFound { .. }) => {
                    // Deleted between the record's read and now (a detach or a sweep).
                    return Err(Error::FileNotFound);
                }
                Err(err) => return Err(err.into()),
            };
            sized(pieces)
                .map(|piece| {
                    if let Ok(piece) = &piece {
                        metrics::counter!(DOWNLOADED_BYTES_METRIC).increment(piece.len() as u64);
                    }
                    piece.map_err(Error::from)
                })
                .boxed()
        };
        Ok(Download {
            file,
            blob,
            range: served,
            body,
        })
    }
}

/// `pieces` gathered to about [`MESSAGE_BYTES`] and cut to at most [`MAX_MESSAGE_BYTES`].
fn sized<E: Send + 'static>(
    pieces: impl Stream<Item = Result<Bytes, E>> + Send + 'static,
) -> impl Stream<Item = Result<Bytes, E>> + Send + 'static {
    let cut = pieces.flat_map(|piece| match piece {
        Ok(piece) if piece.len() > MAX_MESSAGE_BYTES => stream::iter(
            (0..piece.len())
                .step_by(MAX_MESSAGE_BYTES)
                .map(|start| Ok(piece.slice(start..(start + MAX_MESSAGE_BYTES).min(piece.len()))))
                .collect::<Vec<_>>(),
        ),
        other => stream::iter(vec![other]),
    });
    stream::unfold((Box::pin(cut), false), |(mut pieces, ended)| async move {
        if ended {
            return None;
        }
        let mut gathered = BytesMut::new();
        loop {
            match pieces.next().await {
                Some(Ok(piece)) if gathered.is_empty() && piece.len() >= MESSAGE_BYTES => {
                    return Some((Ok(piece), (pieces, false)));
                }
                Some(Ok(piece)) => {
                    gathered.extend_from_slice(&piece);
                    if gathered.len() >= MESSAGE_BYTES {
                        return Some((Ok(gathered.freeze()), (pieces, false)));
                    }
                }
                // What was gathered before a failure is useless to a reader who then gets
                // the error.
                Some(Err(err)) => return Some((Err(err), (pieces, true))),
                None if gathered.is_empty() => return None,
                None => return Some((Ok(gathered.freeze()), (pieces, true))),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn messages(
        pieces: Vec<Result<Bytes, &'static str>>,
    ) -> Vec<Result<usize, &'static str>> {
        sized(stream::iter(pieces))
            .map(|piece| piece.map(|bytes| bytes.len()))
            .collect()
            .await
    }

    fn piece(len: usize) -> Result<Bytes, &'static str> {
        Ok(Bytes::from(vec![7; len]))
    }

    #[tokio::test]
    async fn small_pieces_are_gathered_and_large_ones_cut() {
        assert_eq!(messages(vec![]).await, vec![]);
        assert_eq!(messages(vec![piece(10)]).await, vec![Ok(10)]);
        assert_eq!(
            messages(vec![piece(8192); 9]).await,
            vec![Ok(MESSAGE_BYTES), Ok(8192)]
        );
        assert_eq!(
            messages(vec![piece(MAX_MESSAGE_BYTES * 2 + 5)]).await,
            vec![Ok(MAX_MESSAGE_BYTES), Ok(MAX_MESSAGE_BYTES), Ok(5)]
        );
        assert_eq!(
            messages(vec![piece(100), Err("broken"), piece(100)]).await,
            vec![Err("broken")]
        );
    }

    #[tokio::test]
    async fn every_byte_arrives_in_order() {
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let pieces: Vec<Result<Bytes, &str>> = bytes
            .chunks(7_001)
            .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
            .collect();
        let joined: Vec<u8> = sized(stream::iter(pieces))
            .map(|piece| piece.unwrap().to_vec())
            .concat()
            .await;
        assert_eq!(joined, bytes);
    }
}
