//! Starts the real files service on port 0 against a fresh database and a fresh store of
//! its own (a temporary directory, or a new bucket of the local SeaweedFS), and offers
//! typed calls, a view into the store and the database to the tests.

use std::io::Cursor;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use chat_files::blobs::Blobs;
use chat_files::{App, Config};
use chat_proto::v1::files_service_client::FilesServiceClient;
use chat_proto::v1::{
    AttachRequest, AttachResponse, ByteRange, DetachRequest, DetachResponse, DownloadHeader,
    DownloadRequest, FileInfo, FilePurpose, GetFilesRequest, UploadChunk, UploadEnd, UploadHeader,
    download_chunk, upload_chunk,
};
use chat_runtime::shutdown::CancellationToken;
use chat_runtime::status::RemoteError;
use clap::Parser as _;
use futures::StreamExt as _;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tonic::transport::Channel;
use tonic::{Code, Status};
use uuid::Uuid;

/// PostgreSQL server the test databases are created on.
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";
/// The local SeaweedFS (deploy/local/seaweedfs.sh), unless `S3_ENDPOINT` names another.
const DEFAULT_S3_ENDPOINT: &str = "http://127.0.0.1:8333";
/// Size of the upload messages the tests send.
pub const PIECE: usize = 64 * 1024;
/// How long a test waits for something the service does in the background before it
/// fails: a guard against hanging, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(30);

/// Where a test's service keeps its blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Fs,
    S3,
}

fn s3_endpoint() -> String {
    std::env::var("S3_ENDPOINT").unwrap_or_else(|_| DEFAULT_S3_ENDPOINT.to_owned())
}

/// A running files service with its own database and store. Dropping it stops the
/// service and removes the database and the store.
pub struct TestApp {
    pub client: FilesServiceClient<Channel>,
    pub grpc_addr: std::net::SocketAddr,
    pub ops_addr: std::net::SocketAddr,
    /// The same store the service writes, to look into.
    pub blobs: Blobs,
    /// The service's database.
    pub pool: PgPool,
    database: String,
    dir: Option<PathBuf>,
    bucket: Option<String>,
    shutdown: CancellationToken,
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// A service on `storage` with the default settings.
pub async fn spawn_app(storage: Storage) -> TestApp {
    spawn_app_with(storage, &[]).await
}

/// A service on `storage` with `extra` flags.
pub async fn spawn_app_with(storage: Storage, extra: &[(&str, &str)]) -> TestApp {
    chat_runtime::telemetry::init_for_tests();
    let id = Uuid::new_v4().simple().to_string();
    let database = format!("chat_files_test_{id}");
    let database_url = format!("{POSTGRES}/{database}");
    let mut args: Vec<String> = [
        "chat-files",
        "--database-url",
        &database_url,
        "--database-max-connections",
        "4",
        "--grpc-addr",
        "127.0.0.1:0",
        "--ops-addr",
        "127.0.0.1:0",
    ]
    .map(str::to_owned)
    .to_vec();
    let (mut dir, mut bucket) = (None, None);
    match storage {
        Storage::Fs => {
            let path = std::env::temp_dir().join(format!("chat-files-test-{id}"));
            args.extend(["--files-dir".to_owned(), path.display().to_string()]);
            dir = Some(path);
        }
        Storage::S3 => {
            let name = format!("chat-files-test-{id}");
            create_bucket(&name).await;
            args.extend(
                [
                    "--files-storage",
                    "s3",
                    "--s3-bucket",
                    &name,
                    "--s3-endpoint",
                    &s3_endpoint(),
                    "--s3-allow-http",
                    "true",
                    // The local SeaweedFS has no credentials configured and accepts any.
                    "--s3-access-key-id",
                    "chat-test",
                    "--s3-secret-access-key",
                    "chat-test-secret",
                ]
                .map(str::to_owned),
            );
            bucket = Some(name);
        }
    }
    for (flag, value) in extra {
        args.extend([(*flag).to_owned(), (*value).to_owned()]);
    }
    let config = Config::try_parse_from(&args).expect("test config parses");
    let blobs = Blobs::connect(&config.storage).expect("the test store opens");
    let app = App::build(config).await.expect("the service starts");
    let grpc_addr = app.grpc_addr();
    let endpoint = format!("http://{grpc_addr}");
    let ops_addr = app.ops_addr();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run_until(shutdown.clone()));
    let channel = Channel::from_shared(endpoint)
        .expect("endpoint")
        .connect()
        .await
        .expect("the gRPC listener accepts");
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&database_url)
        .await
        .expect("connect the test database");
    TestApp {
        client: FilesServiceClient::new(channel),
        grpc_addr,
        ops_addr,
        blobs,
        pool,
        database,
        dir,
        bucket,
        shutdown,
        running: Some(running),
    }
}

/// Creates a bucket in the local SeaweedFS: a plain `PUT /<bucket>` (it checks no
/// credentials; `object_store` has no call for it).
async fn create_bucket(name: &str) {
    let response = reqwest::Client::new()
        .put(format!("{}/{name}", s3_endpoint()))
        .send()
        .await
        .unwrap_or_else(|err| {
            panic!(
                "S3 at {} ({err}): run deploy/local/seaweedfs.sh",
                s3_endpoint()
            )
        });
    assert!(
        response.status().is_success(),
        "creating bucket {name}: {}",
        response.status()
    );
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            running.abort();
        }
        let database = self.database.clone();
        let dir = self.dir.clone();
        let bucket = self.bucket.clone();
        clean_up(async move {
            // The database goes with its connections (FORCE); closing the test's pool
            // here would wait for the test's runtime, which waits for this.
            let mut admin =
                <sqlx::PgConnection as sqlx::Connection>::connect(&format!("{POSTGRES}/postgres"))
                    .await?;
            sqlx::query(&format!(
                r#"DROP DATABASE IF EXISTS "{database}" WITH (FORCE)"#
            ))
            .execute(&mut admin)
            .await?;
            if let Some(dir) = dir {
                let _ = std::fs::remove_dir_all(dir);
            }
            if let Some(bucket) = bucket {
                // SeaweedFS deletes a bucket with its objects.
                reqwest::Client::new()
                    .delete(format!("{}/{bucket}", s3_endpoint()))
                    .send()
                    .await?;
            }
            Ok(())
        });
    }
}

/// Runs `cleaning` to its end from a `Drop`, reporting a failure without panicking.
fn clean_up(cleaning: impl Future<Output = anyhow::Result<()>> + Send + 'static) {
    // A fresh runtime on its own thread: Drop cannot await, and the test's runtime may be
    // single-threaded.
    let cleaned = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(cleaning)
    })
    .join();
    if let Ok(Err(err)) = cleaned {
        eprintln!("test resources not cleaned up: {err}");
    }
}

/// A new user id (the service knows users only by id).
pub fn user() -> Uuid {
    Uuid::new_v4()
}

/// Asserts that a call failed with `code` and the stable `reason`; returns the error.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    reason: &str,
) -> RemoteError {
    let status = result.expect_err("the call should have been refused");
    let remote = RemoteError::from(&status);
    assert_eq!(
        (remote.code, remote.reason.as_str()),
        (code, reason),
        "unexpected error: {status:?}"
    );
    remote
}

/// The upload stream of a header, `body` in pieces of [`PIECE`] bytes, and the end.
pub fn upload_stream(header: UploadHeader, body: &[u8]) -> Vec<UploadChunk> {
    std::iter::once(UploadChunk {
        part: Some(upload_chunk::Part::Header(header)),
    })
    .chain(body.chunks(PIECE).map(|piece| UploadChunk {
        part: Some(upload_chunk::Part::Data(Bytes::copy_from_slice(piece))),
    }))
    .chain(std::iter::once(UploadChunk {
        part: Some(upload_chunk::Part::End(UploadEnd {})),
    }))
    .collect()
}

pub fn header(uploader: Uuid, name: &str, declared: &str, purpose: FilePurpose) -> UploadHeader {
    UploadHeader {
        uploader_id: uploader.to_string(),
        name: name.to_owned(),
        declared_content_type: declared.to_owned(),
        purpose: purpose as i32,
        size: None,
    }
}

impl TestApp {
    /// Uploads `body` as `uploader`'s file named `name`.
    pub async fn upload(
        &self,
        uploader: Uuid,
        name: &str,
        declared: &str,
        purpose: FilePurpose,
        body: &[u8],
    ) -> Result<FileInfo, Status> {
        self.upload_chunks(upload_stream(
            header(uploader, name, declared, purpose),
            body,
        ))
        .await
    }

    /// Uploads a file that must be stored.
    pub async fn upload_file(&self, uploader: Uuid, name: &str, body: &[u8]) -> FileInfo {
        self.upload(uploader, name, "", FilePurpose::File, body)
            .await
            .expect("the upload is stored")
    }

    /// Sends exactly these messages as an upload.
    pub async fn upload_chunks(&self, chunks: Vec<UploadChunk>) -> Result<FileInfo, Status> {
        self.client
            .clone()
            .upload(futures::stream::iter(chunks))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Downloads a file (or its thumbnail), whole or a range: the header and the bytes.
    pub async fn download(
        &self,
        file_id: &str,
        thumbnail: bool,
        range: Option<ByteRange>,
    ) -> Result<(DownloadHeader, Vec<u8>), Status> {
        let mut chunks = self
            .client
            .clone()
            .download(DownloadRequest {
                file_id: file_id.to_owned(),
                thumbnail,
                range,
            })
            .await?
            .into_inner();
        let header = match chunks.next().await.expect("a header")?.part {
            Some(download_chunk::Part::Header(header)) => header,
            other => panic!("the first message is not the header: {other:?}"),
        };
        let mut body = Vec::new();
        while let Some(chunk) = chunks.next().await {
            match chunk?.part {
                Some(download_chunk::Part::Data(bytes)) => body.extend_from_slice(&bytes),
                other => panic!("a second header: {other:?}"),
            }
        }
        Ok((header, body))
    }

    pub async fn get_files(&self, ids: &[&str]) -> Result<Vec<FileInfo>, Status> {
        Ok(self
            .client
            .clone()
            .get_files(GetFilesRequest {
                ids: ids.iter().map(|id| (*id).to_owned()).collect(),
            })
            .await?
            .into_inner()
            .files)
    }

    /// The file as the service reports it now, if it has it.
    pub async fn file(&self, id: &str) -> Option<FileInfo> {
        self.get_files(&[id]).await.unwrap().into_iter().next()
    }

    /// Attaches `files` to `message`, sent with the message's id as its client_msg_id.
    pub async fn attach(
        &self,
        uploader: Uuid,
        room: Uuid,
        message: Uuid,
        files: &[&str],
    ) -> Result<AttachResponse, Status> {
        self.attach_in_send(uploader, room, message, &message.to_string(), files)
            .await
    }

    pub async fn attach_in_send(
        &self,
        uploader: Uuid,
        room: Uuid,
        message: Uuid,
        client_msg_id: &str,
        files: &[&str],
    ) -> Result<AttachResponse, Status> {
        self.client
            .clone()
            .attach(AttachRequest {
                uploader_id: uploader.to_string(),
                room_id: room.to_string(),
                message_id: message.to_string(),
                file_ids: files.iter().map(|id| (*id).to_owned()).collect(),
                client_msg_id: client_msg_id.to_owned(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn detach(&self, message: Uuid) -> DetachResponse {
        self.client
            .clone()
            .detach(DetachRequest {
                message_id: message.to_string(),
            })
            .await
            .expect("detach succeeds")
            .into_inner()
    }

    /// Every key in the service's store.
    pub async fn stored_keys(&self) -> Vec<String> {
        self.blobs.list_keys().await.expect("list the store")
    }

    /// Every file under a directory store, staging files of multipart uploads included
    /// (which listing the store does not show); empty for an S3 store.
    pub fn files_on_disk(&self) -> Vec<PathBuf> {
        fn walk(dir: &std::path::Path, found: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        if let Some(dir) = &self.dir {
            walk(dir, &mut found);
        }
        found
    }

    /// File records in the database, finished or not.
    pub async fn records(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM files")
            .fetch_one(&self.pool)
            .await
            .expect("count the records")
    }
}

/// Polls `check` until it yields a value; fails the test after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `len` bytes that match no file signature and are not UTF-8.
pub fn binary(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    let mut bytes: Vec<u8> = b"chat binary \xFF"
        .iter()
        .copied()
        .chain(std::iter::repeat_with(|| {
            // xorshift: cheap bytes that do not compress to nothing.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        }))
        .take(len)
        .collect();
    bytes.truncate(len);
    bytes
}

/// A `width` x `height` picture encoded as `format`.
pub fn picture(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let pixels = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(pixels)
        .write_to(Cursor::new(&mut bytes), format)
        .expect("encode the test picture");
    bytes
}

/// A 1 x 1 BMP: an image format the service stores as a file, not as an image.
pub fn bitmap() -> Vec<u8> {
    let mut bmp = b"BM".to_vec();
    bmp.extend_from_slice(&58u32.to_le_bytes());
    bmp.extend_from_slice(&[0, 0, 0, 0]);
    bmp.extend_from_slice(&54u32.to_le_bytes());
    bmp.extend_from_slice(&40u32.to_le_bytes());
    bmp.extend_from_slice(&1i32.to_le_bytes());
    bmp.extend_from_slice(&1i32.to_le_bytes());
    bmp.extend_from_slice(&1u16.to_le_bytes());
    bmp.extend_from_slice(&24u16.to_le_bytes());
    bmp.extend_from_slice(&[0; 24]);
    // One blue pixel, padded to four bytes.
    bmp.extend_from_slice(&[255, 0, 0, 0]);
    assert_eq!(bmp.len(), 58);
    bmp
}

/// A PNG that declares `width` x `height` grey pixels and carries almost none: the
/// shape of a decompression bomb, a few dozen bytes long.
pub fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // 8-bit greyscale, deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    png_chunk(&mut png, b"IHDR", &ihdr);
    // A zlib stream holding one empty stored block.
    png_chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    png_chunk(&mut png, b"IEND", &[]);
    png
}

fn png_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(kind.iter().chain(data));
    png.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (ISO-HDLC), as PNG chunks carry it.
fn crc32<'a>(bytes: impl IntoIterator<Item = &'a u8>) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A JPEG photo with an EXIF segment (APP1) that holds its orientation (turn a quarter
/// clockwise) and a GPS position.
pub fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let jpeg = picture(width, height, ImageFormat::Jpeg);
    assert_eq!(&jpeg[..2], b"\xFF\xD8", "a JPEG starts with SOI");
    let exif = exif_with_gps();
    let mut with_exif = jpeg[..2].to_vec();
    with_exif.extend_from_slice(&[0xFF, 0xE1]);
    with_exif.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    with_exif.extend_from_slice(&exif);
    with_exif.extend_from_slice(&jpeg[2..]);
    with_exif
}

/// `Exif\0\0` and a little-endian TIFF structure: IFD0 says the picture is to be turned a
/// quarter clockwise (Orientation 6) and points to a GPS IFD that says 48° 51' 30" N.
fn exif_with_gps() -> Vec<u8> {
    fn entry(tiff: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]) {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&count.to_le_bytes());
        tiff.extend_from_slice(&value);
    }
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const ASCII: u16 = 2;
    const RATIONAL: u16 = 5;
    let mut tiff = b"II\x2A\x00".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    // IFD0 at 8: Orientation, then GPSInfo -> the GPS IFD at 38.
    tiff.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut tiff, 0x0112, SHORT, 1, [6, 0, 0, 0]);
    entry(&mut tiff, 0x8825, LONG, 1, 38u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    // GPS IFD at 38: GPSLatitudeRef "N", GPSLatitude (3 RATIONALs at 68).
    tiff.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut tiff, 0x0001, ASCII, 2, *b"N\0\0\0");
    entry(&mut tiff, 0x0002, RATIONAL, 3, 68u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(tiff.len(), 68);
    for value in [48u32, 51, 30] {
        tiff.extend_from_slice(&value.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
    }
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend_from_slice(&tiff);
    exif
}

/// The markers of a JPEG's segments before its image data (SOI first).
pub fn jpeg_markers(jpeg: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], b"\xFF\xD8", "a JPEG starts with SOI");
    let mut markers = vec![0xD8];
    let mut at = 2;
    while at + 4 <= jpeg.len() {
        assert_eq!(jpeg[at], 0xFF, "a segment starts with 0xFF at {at}");
        let marker = jpeg[at + 1];
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        at += 2 + len;
    }
    markers
}
