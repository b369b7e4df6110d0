//! Uploads: stored in either store as sent, refused past the size limit with nothing kept,
//! typed by their bytes, named safely.

use chat_proto::v1::{FileKind, FilePurpose, FileStatus, UploadChunk, upload_chunk};
use image::ImageFormat;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::helpers::{
    Storage, TestApp, assert_refused, binary, bitmap, eventually, header, picture, spawn_app,
    spawn_app_with, upload_stream, user,
};

/// Past one multipart part (5 MiB), so the upload is a multipart one.
const LARGE: usize = 6 * 1024 * 1024 + 123;

async fn a_file_is_stored_as_sent(storage: Storage) {
    let app = spawn_app(storage).await;
    let uploader = user();
    let body = binary(LARGE);

    let info = app
        .upload(
            uploader,
            "backup.bin",
            "application/zip",
            FilePurpose::File,
            &body,
        )
        .await
        .expect("stored");
    let (header, downloaded) = app.download(&info.id, false, None).await.unwrap();

    assert_eq!(info.name, "backup.bin");
    assert_eq!(info.size, LARGE as u64);
    assert_eq!(info.content_type, "application/octet-stream");
    assert_eq!(info.kind(), FileKind::File);
    assert_eq!(info.status(), FileStatus::Pending);
    assert_eq!(info.purpose(), FilePurpose::File);
    assert_eq!(info.uploader_id, uploader.to_string());
    assert!(info.room_ids.is_empty());
    assert!(!info.public);
    assert!(!info.has_thumbnail);
    assert_eq!(info.width, None);
    assert_eq!(
        uuid::Uuid::parse_str(&info.id).unwrap().get_version_num(),
        7
    );
    assert_eq!(header.file.as_ref(), Some(&info));
    assert_eq!(
        (header.start, header.end, header.total_size),
        (0, LARGE as u64, LARGE as u64)
    );
    assert_eq!(header.content_type, "application/octet-stream");
    assert!(
        downloaded == body,
        "the downloaded bytes are the uploaded ones"
    );
    assert_eq!(app.stored_keys().await, vec![format!("files/{}", info.id)]);
    assert_eq!(app.get_files(&[&info.id]).await.unwrap(), vec![info]);
}

#[tokio::test]
async fn a_file_is_stored_as_sent_in_a_directory() {
    a_file_is_stored_as_sent(Storage::Fs).await;
}

#[tokio::test]
async fn a_file_is_stored_as_sent_in_s3() {
    a_file_is_stored_as_sent(Storage::S3).await;
}

async fn an_upload_past_the_limit_keeps_nothing(storage: Storage) {
    let app = spawn_app_with(
        storage,
        &[("--max-file-size", "6MiB"), ("--max-avatar-size", "100KiB")],
    )
    .await;
    let uploader = user();
    // Small enough to go in one request, large enough to be a multipart upload: both are
    // refused once past the limit.
    let file = app
        .upload(uploader, "big.bin", "", FilePurpose::File, &binary(LARGE))
        .await;
    let avatar = app
        .upload(
            uploader,
            "me.png",
            "image/png",
            FilePurpose::Avatar,
            &picture(400, 400, ImageFormat::Png),
        )
        .await;

    let file_refusal = assert_refused(file, Code::InvalidArgument, "file_too_large");
    assert_refused(avatar, Code::InvalidArgument, "file_too_large");
    assert!(file_refusal.message.contains(&(6u64 << 20).to_string()));
    assert_eq!(app.stored_keys().await, Vec::<String>::new());
    assert_eq!(
        app.files_on_disk(),
        Vec::<std::path::PathBuf>::new(),
        "no staging file left"
    );
    assert_eq!(app.records().await, 0);
    // Just within the limit is fine.
    app.upload_file(uploader, "fits.bin", &binary(6 << 20))
        .await;
}

#[tokio::test]
async fn an_upload_past_the_limit_keeps_nothing_in_a_directory() {
    an_upload_past_the_limit_keeps_nothing(Storage::Fs).await;
}

#[tokio::test]
async fn an_upload_past_the_limit_keeps_nothing_in_s3() {
    an_upload_past_the_limit_keeps_nothing(Storage::S3).await;
}

#[tokio::test]
async fn the_bytes_decide_the_type_not_the_name_or_the_client() {
    let app = spawn_app(Storage::Fs).await;
    let uploader = user();
    let png = picture(40, 30, ImageFormat::Png);
    for (name, declared, body, content_type, kind) in [
        (
            "notes.txt",
            "text/plain",
            png.as_slice(),
            "image/png",
            FileKind::Image,
        ),
        (
            "photo.jpg",
            "image/jpeg",
            b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj".as_slice(),
            "application/pdf",
            FileKind::File,
        ),
        (
            "page.html",
            "text/html",
            b"<html><script>alert(1)</script></html>",
            "text/plain",
            FileKind::File,
        ),
        (
            "readme",
            "text/plain",
            "grüße\n".as_bytes(),
            "text/plain",
            FileKind::File,
        ),
        ("notes.md", "", b"# Notes\n", "text/plain", FileKind::File),
        (
            "notes.txt",
            "text/plain",
            b"caf\xE9 latin-1",
            "application/octet-stream",
            FileKind::File,
        ),
        (
            "data.json",
            "application/json",
            b"{\"a\": 1}",
            "application/octet-stream",
            FileKind::File,
        ),
        ("empty.txt", "text/plain", b"", "text/plain", FileKind::File),
        (
            "old.bmp",
            "image/bmp",
            &bitmap(),
            "image/bmp",
            FileKind::File,
        ),
        (
            "BMW.txt",
            "text/plain",
            b"BMW M3: a history",
            "text/plain",
            FileKind::File,
        ),
    ] {
        let info = app
            .upload(uploader, name, declared, FilePurpose::File, body)
            .await
            .unwrap_or_else(|err| panic!("{name}: {err:?}"));
        assert_eq!(
            (info.content_type.as_str(), info.kind()),
            (content_type, kind),
            "{name}"
        );
        let (header, _) = app.download(&info.id, false, None).await.unwrap();
        assert_eq!(header.content_type, content_type, "{name}");
    }
}

#[tokio::test]
async fn names_are_sanitised() {
    let app = spawn_app(Storage::Fs).await;
    let uploader = user();
    for (given, stored) in [
        ("../../etc/pass\u{0}wd", "passwd"),
        ("C:\\temp\\report\u{202E}fdp.exe", "reportfdp.exe"),
        ("", "file"),
    ] {
        let info = app.upload_file(uploader, given, b"x").await;
        assert_eq!(info.name, stored);
    }
    let long = format!("{}.tar.gz", "n".repeat(400));
    let info = app.upload_file(uploader, &long, b"x").await;
    assert_eq!(info.name.len(), 255);
    assert!(info.name.ends_with(".gz"));
}

#[tokio::test]
async fn an_avatar_must_be_an_image() {
    let app = spawn_app(Storage::Fs).await;
    let uploader = user();

    let text = app
        .upload(
            uploader,
            "me.png",
            "image/png",
            FilePurpose::Avatar,
            b"not a picture",
        )
        .await;
    let bmp = app
        .upload(
            uploader,
            "me.bmp",
            "image/bmp",
            FilePurpose::Avatar,
            &bitmap(),
        )
        .await;

    assert_refused(text, Code::InvalidArgument, "not_an_image");
    assert_refused(bmp, Code::InvalidArgument, "not_an_image");
    assert_eq!(app.records().await, 0);
}

#[tokio::test]
async fn a_malformed_upload_is_refused() {
    let app = spawn_app(Storage::Fs).await;
    let uploader = user();
    let data = |bytes: &'static [u8]| UploadChunk {
        part: Some(upload_chunk::Part::Data(bytes.into())),
    };
    let good_header = header(uploader, "a.txt", "text/plain", FilePurpose::File);

    let nothing = app.upload_chunks(Vec::new()).await;
    let data_first = app.upload_chunks(vec![data(b"abc")]).await;
    let mut two_headers = upload_stream(good_header.clone(), b"abc");
    two_headers.insert(2, two_headers[0].clone());
    let two_headers = app.upload_chunks(two_headers).await;
    let mut bad_uploader = good_header.clone();
    bad_uploader.uploader_id = "someone".into();
    let bad_uploader = app.upload_chunks(upload_stream(bad_uploader, b"abc")).await;
    let mut without_end = upload_stream(good_header.clone(), b"abc");
    without_end.pop();
    let without_end = app.upload_chunks(without_end).await;
    let mut no_purpose = good_header;
    no_purpose.purpose = 0;
    let no_purpose = app.upload_chunks(upload_stream(no_purpose, b"abc")).await;

    assert_refused(without_end, Code::InvalidArgument, "upload_incomplete");
    for refused in [nothing, data_first, two_headers] {
        let remote = assert_refused(refused, Code::InvalidArgument, "validation_failed");
        assert_eq!(remote.fields[0].0, "header");
    }
    let remote = assert_refused(bad_uploader, Code::InvalidArgument, "validation_failed");
    assert_eq!(remote.fields[0].0, "uploader_id");
    let remote = assert_refused(no_purpose, Code::InvalidArgument, "validation_failed");
    assert_eq!(remote.fields[0].0, "purpose");
    assert_eq!(app.records().await, 0);
    assert_eq!(app.stored_keys().await, Vec::<String>::new());
}

#[tokio::test]
async fn get_files_leaves_out_unknown_ids_and_refuses_too_many() {
    let app: TestApp = spawn_app(Storage::Fs).await;
    let info = app.upload_file(user(), "a.bin", &binary(10)).await;
    let unknown = uuid::Uuid::now_v7().to_string();

    let found = app
        .get_files(&[&info.id, &unknown, &info.id])
        .await
        .unwrap();
    let ids: Vec<String> = (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let too_many = app
        .get_files(&ids.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    let malformed = app.get_files(&["nope"]).await;

    assert_eq!(found, vec![info]);
    assert_refused(too_many, Code::InvalidArgument, "validation_failed");
    assert_refused(malformed, Code::InvalidArgument, "validation_failed");
}

#[tokio::test]
async fn the_limit_travels_in_the_error_details() {
    let app = spawn_app_with(Storage::Fs, &[("--max-file-size", "1000")]).await;

    let refused = app
        .upload(user(), "a.bin", "", FilePurpose::File, &binary(1001))
        .await
        .unwrap_err();

    let info = refused.get_error_details().error_info().cloned().unwrap();
    assert_eq!(info.reason, "file_too_large");
    assert_eq!(info.metadata["limit_bytes"], "1000");
}

#[tokio::test]
async fn a_stalled_upload_is_given_up_and_nothing_kept() {
    let app = spawn_app_with(Storage::Fs, &[("--upload-idle-timeout", "300ms")]).await;
    let (pieces, receiver) = tokio::sync::mpsc::channel(4);
    pieces
        .send(upload_stream(header(user(), "a.bin", "", FilePurpose::File), b"")[0].clone())
        .await
        .unwrap();
    pieces
        .send(
            upload_stream(header(user(), "a.bin", "", FilePurpose::File), &binary(100))[1].clone(),
        )
        .await
        .unwrap();

    let stalled = app
        .client
        .clone()
        .upload(tokio_stream::wrappers::ReceiverStream::new(receiver))
        .await;

    assert_refused(stalled, Code::DeadlineExceeded, "upload_stalled");
    assert_eq!(app.records().await, 0);
    assert_eq!(app.files_on_disk(), Vec::<std::path::PathBuf>::new());
    drop(pieces);
}

#[tokio::test]
async fn a_body_unlike_its_declared_size_is_refused() {
    let app = spawn_app_with(Storage::Fs, &[("--max-file-size", "1MiB")]).await;
    let uploader = user();
    let sized = |size: u64| {
        let mut sized = header(uploader, "a.bin", "", FilePurpose::File);
        sized.size = Some(size);
        sized
    };

    let short = app
        .upload_chunks(upload_stream(sized(1000), &binary(999)))
        .await;
    let long = app
        .upload_chunks(upload_stream(sized(1000), &binary(1001)))
        .await;
    let too_large = app
        .upload_chunks(upload_stream(sized(2 << 20), &binary(10)))
        .await;
    let exact = app
        .upload_chunks(upload_stream(sized(1000), &binary(1000)))
        .await;

    assert_refused(short, Code::InvalidArgument, "size_mismatch");
    assert_refused(long, Code::InvalidArgument, "size_mismatch");
    assert_refused(too_large, Code::InvalidArgument, "file_too_large");
    assert_eq!(exact.unwrap().size, 1000);
    assert_eq!(app.records().await, 1);
}

#[tokio::test]
async fn an_upload_whose_client_went_away_leaves_nothing() {
    let app = spawn_app(Storage::Fs).await;
    let (pieces, receiver) = tokio::sync::mpsc::channel(4);
    let mut client = app.client.clone();
    let call = tokio::spawn(async move {
        client
            .upload(tokio_stream::wrappers::ReceiverStream::new(receiver))
            .await
    });
    // Past one part, so a multipart upload is under way when the client goes; all of the
    // body but the end.
    let mut chunks = upload_stream(
        header(user(), "a.bin", "", FilePurpose::File),
        &binary(LARGE),
    );
    chunks.pop();
    for chunk in chunks {
        pieces.send(chunk).await.unwrap();
    }
    eventually("the upload begun", || async {
        (app.records().await == 1).then_some(())
    })
    .await;

    // To the server, a call dropped by its caller looks like a stream that ended.
    call.abort();

    eventually("the upload forgotten", || async {
        (app.records().await == 0 && app.files_on_disk().is_empty()).then_some(())
    })
    .await;
    drop(pieces);
}
