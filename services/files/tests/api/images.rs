//! Images: decompression bombs and broken images refused with nothing kept, metadata
//! stripped, thumbnails of the documented sizes.

use chat_proto::v1::{FileKind, FilePurpose, FileStatus};
use image::ImageFormat;
use tonic::Code;

use crate::helpers::{
    Storage, assert_refused, jpeg_markers, jpeg_with_gps, picture, png_declaring, spawn_app, user,
};

/// JPEG APP1: where EXIF (and XMP) live.
const APP1: u8 = 0xE1;

#[tokio::test]
async fn a_decompression_bomb_is_refused_and_nothing_kept() {
    let app = spawn_app(Storage::Fs).await;
    let uploader = user();
    // 50,000 x 50,000 passes the side limit; 8,000 x 6,000 only the 40 megapixels.
    for (width, height) in [(50_000, 50_000), (8_000, 6_000)] {
        let bomb = png_declaring(width, height);
        assert!(bomb.len() < 100, "the bomb is tiny");
        for purpose in [FilePurpose::File, FilePurpose::Avatar] {
            let refused = app
                .upload(uploader, "bomb.png", "image/png", purpose, &bomb)
                .await;
            let remote = assert_refused(refused, Code::InvalidArgument, "image_too_large");
            assert!(
                remote.message.contains(&format!("{width}x{height}")),
                "{}",
                remote.message
            );
        }
    }
    assert_eq!(app.stored_keys().await, Vec::<String>::new());
    assert_eq!(app.records().await, 0);
}

#[tokio::test]
async fn the_image_limits_are_configurable() {
    let app = crate::helpers::spawn_app_with(
        Storage::Fs,
        &[("--image-max-width", "100"), ("--image-max-pixels", "5000")],
    )
    .await;
    let uploader = user();

    let wide = app
        .upload(
            uploader,
            "wide.png",
            "",
            FilePurpose::File,
            &picture(101, 10, ImageFormat::Png),
        )
        .await;
    let many = app
        .upload(
            uploader,
            "many.png",
            "",
            FilePurpose::File,
            &picture(80, 80, ImageFormat::Png),
        )
        .await;
    let fits = app
        .upload(
            uploader,
            "fits.png",
            "",
            FilePurpose::File,
            &picture(100, 50, ImageFormat::Png),
        )
        .await;

    assert_refused(wide, Code::InvalidArgument, "image_too_large");
    assert_refused(many, Code::InvalidArgument, "image_too_large");
    assert_eq!(fits.unwrap().width, Some(100));
}

#[tokio::test]
async fn a_broken_image_is_refused_and_nothing_kept() {
    let app = spawn_app(Storage::Fs).await;
    let uploader = user();
    let mut truncated = picture(300, 200, ImageFormat::Png);
    truncated.truncate(truncated.len() / 2);
    let mut not_a_jpeg = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00".to_vec();
    not_a_jpeg.extend_from_slice(&[0x55; 500]);

    for (name, body) in [("half.png", truncated), ("fake.jpg", not_a_jpeg)] {
        let refused = app
            .upload(uploader, name, "", FilePurpose::File, &body)
            .await;
        assert_refused(refused, Code::InvalidArgument, "invalid_image");
    }
    assert_eq!(app.stored_keys().await, Vec::<String>::new());
    assert_eq!(app.records().await, 0);
}

#[tokio::test]
async fn exif_and_its_gps_position_are_removed_and_the_orientation_applied() {
    let app = spawn_app(Storage::Fs).await;
    // Stored 64 x 48, to be shown turned a quarter: 48 x 64.
    let photo = jpeg_with_gps(64, 48);
    assert!(jpeg_markers(&photo).contains(&APP1), "the photo has EXIF");
    assert!(photo.windows(4).any(|w| w == b"Exif"));

    let info = app
        .upload(
            user(),
            "holiday.jpg",
            "image/jpeg",
            FilePurpose::File,
            &photo,
        )
        .await
        .unwrap();
    let (header, stored) = app.download(&info.id, false, None).await.unwrap();
    let (_, thumbnail) = app.download(&info.id, true, None).await.unwrap();

    assert_eq!(info.content_type, "image/jpeg");
    assert_eq!(header.content_type, "image/jpeg");
    assert_eq!(info.size, stored.len() as u64);
    for blob in [&stored, &thumbnail] {
        let markers = jpeg_markers(blob);
        assert!(
            !markers.contains(&APP1),
            "an APP1 segment is left: {markers:x?}"
        );
        assert!(!blob.windows(4).any(|w| w == b"Exif"));
    }
    assert_eq!((info.width, info.height), (Some(48), Some(64)));
    let decoded = image::load_from_memory_with_format(&stored, ImageFormat::Jpeg).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (48, 64),
        "turned as EXIF said"
    );
}

#[tokio::test]
async fn an_image_gets_a_thumbnail_that_fits_320_pixels() {
    let app = spawn_app(Storage::Fs).await;
    let uploader = user();
    for (format, (width, height), thumbnail_size) in [
        (ImageFormat::Png, (1000, 500), (320, 160)),
        (ImageFormat::Jpeg, (300, 900), (107, 320)),
        (ImageFormat::Gif, (200, 100), (200, 100)),
        (ImageFormat::WebP, (640, 640), (320, 320)),
    ] {
        let info = app
            .upload(
                uploader,
                "picture",
                "",
                FilePurpose::File,
                &picture(width, height, format),
            )
            .await
            .unwrap();
        let (header, thumbnail) = app.download(&info.id, true, None).await.unwrap();

        assert_eq!(info.kind(), FileKind::Image, "{format:?}");
        assert_eq!(info.content_type, format.to_mime_type());
        assert_eq!((info.width, info.height), (Some(width), Some(height)));
        assert!(info.has_thumbnail);
        assert_eq!(
            (info.thumbnail_width, info.thumbnail_height),
            (Some(thumbnail_size.0), Some(thumbnail_size.1)),
            "{format:?}"
        );
        assert_eq!(header.content_type, "image/jpeg");
        assert_eq!(header.total_size, thumbnail.len() as u64);
        let decoded = image::load_from_memory(&thumbnail).unwrap();
        assert_eq!((decoded.width(), decoded.height()), thumbnail_size);
        let (_, stored) = app.download(&info.id, false, None).await.unwrap();
        let decoded = image::load_from_memory_with_format(&stored, format).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (width, height));
    }
    assert_eq!(app.stored_keys().await.len(), 8);
}

#[tokio::test]
async fn an_avatar_is_public_with_a_square_thumbnail() {
    let app = spawn_app(Storage::S3).await;
    let uploader = user();

    let info = app
        .upload(
            uploader,
            "me.png",
            "image/png",
            FilePurpose::Avatar,
            &picture(600, 400, ImageFormat::Png),
        )
        .await
        .unwrap();
    let (_, thumbnail) = app.download(&info.id, true, None).await.unwrap();

    assert!(info.public);
    assert_eq!(info.purpose(), FilePurpose::Avatar);
    assert_eq!(info.status(), FileStatus::Pending);
    assert_eq!((info.width, info.height), (Some(600), Some(400)));
    assert_eq!(
        (info.thumbnail_width, info.thumbnail_height),
        (Some(256), Some(256))
    );
    let decoded = image::load_from_memory(&thumbnail).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (256, 256));
    let mut keys = app.stored_keys().await;
    keys.sort();
    assert_eq!(
        keys,
        vec![
            format!("files/{}", info.id),
            format!("thumbnails/{}", info.id)
        ]
    );
}
