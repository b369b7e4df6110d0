//! Downloads: byte ranges as HTTP names them, from either store; refusals with stable
//! reasons.

use chat_proto::v1::ByteRange;
use tonic::Code;

use crate::helpers::{Storage, assert_refused, binary, spawn_app, user};

fn range(first: Option<u64>, last: Option<u64>, suffix: Option<u64>) -> Option<ByteRange> {
    Some(ByteRange {
        first,
        last,
        suffix,
    })
}

async fn ranges_are_served(storage: Storage) {
    let app = spawn_app(storage).await;
    let body = binary(300_000);
    let info = app.upload_file(user(), "data.bin", &body).await;
    let size = body.len() as u64;

    for (asked, (start, end)) in [
        (range(Some(10), Some(19), None), (10, 20)),
        (range(Some(0), Some(0), None), (0, 1)),
        (range(Some(299_990), None, None), (299_990, 300_000)),
        (
            range(Some(100_000), Some(999_999), None),
            (100_000, 300_000),
        ),
        (range(None, None, Some(5)), (299_995, 300_000)),
        (range(None, None, Some(400_000)), (0, 300_000)),
        (None, (0, 300_000)),
    ] {
        let (header, bytes) = app.download(&info.id, false, asked).await.unwrap();
        assert_eq!(
            (header.start, header.end, header.total_size),
            (start, end, size),
            "{asked:?}"
        );
        assert!(
            bytes == body[start as usize..end as usize],
            "{asked:?}: the bytes differ"
        );
    }
}

#[tokio::test]
async fn ranges_are_served_from_a_directory() {
    ranges_are_served(Storage::Fs).await;
}

#[tokio::test]
async fn ranges_are_served_from_s3() {
    ranges_are_served(Storage::S3).await;
}

#[tokio::test]
async fn an_unsatisfiable_range_is_refused_with_the_size() {
    let app = spawn_app(Storage::Fs).await;
    let info = app.upload_file(user(), "ten.bin", &binary(10)).await;
    let empty = app.upload_file(user(), "empty.bin", b"").await;

    for (id, asked) in [
        (&info.id, range(Some(10), None, None)),
        (&info.id, range(Some(5), Some(2), None)),
        (&info.id, range(None, None, Some(0))),
        (&info.id, range(None, Some(3), None)),
        (&empty.id, range(Some(0), None, None)),
    ] {
        let refused = app.download(id, false, asked).await;
        let remote = assert_refused(refused, Code::OutOfRange, "range_not_satisfiable");
        assert_eq!(remote.code, Code::OutOfRange);
    }
    let (header, bytes) = app.download(&empty.id, false, None).await.unwrap();
    assert_eq!((header.start, header.end, header.total_size), (0, 0, 0));
    assert!(bytes.is_empty());
}

#[tokio::test]
async fn missing_files_and_thumbnails_are_not_found() {
    let app = spawn_app(Storage::Fs).await;
    let info = app.upload_file(user(), "plain.bin", &binary(10)).await;

    let unknown = app
        .download(&uuid::Uuid::now_v7().to_string(), false, None)
        .await;
    let no_thumbnail = app.download(&info.id, true, None).await;
    let malformed = app.download("not-an-id", false, None).await;

    assert_refused(unknown, Code::NotFound, "file_not_found");
    assert_refused(no_thumbnail, Code::NotFound, "thumbnail_not_found");
    assert_refused(malformed, Code::InvalidArgument, "validation_failed");
}
