//! The sweeper: old pending uploads and unfinished ones go with their blobs; attached
//! files, avatars and recent uploads stay.

use chat_files::blobs::{BlobKind, Blobs};
use chat_proto::v1::FilePurpose;
use image::ImageFormat;
use uuid::Uuid;

use crate::helpers::{Storage, binary, eventually, picture, spawn_app_with, user};

#[tokio::test]
async fn old_pending_uploads_are_swept_and_the_rest_kept() {
    let app = spawn_app_with(
        Storage::Fs,
        &[("--sweep-interval", "100ms"), ("--pending-age", "1h")],
    )
    .await;
    let uploader = user();
    let old_pending = app
        .upload(
            uploader,
            "old.png",
            "",
            FilePurpose::File,
            &picture(50, 50, ImageFormat::Png),
        )
        .await
        .unwrap();
    let recent_pending = app.upload_file(uploader, "recent.bin", &binary(10)).await;
    let attached = app.upload_file(uploader, "attached.bin", &binary(10)).await;
    let avatar = app
        .upload(
            uploader,
            "me.png",
            "",
            FilePurpose::Avatar,
            &picture(50, 50, ImageFormat::Png),
        )
        .await
        .unwrap();
    app.attach(uploader, Uuid::now_v7(), Uuid::now_v7(), &[&attached.id])
        .await
        .unwrap();
    // An upload a crash left unfinished: its record and part of its blob.
    let unfinished = Uuid::now_v7();
    sqlx::query("INSERT INTO files (id, uploader_id, name, purpose) VALUES ($1, $2, 'x', 'file')")
        .bind(unfinished)
        .bind(uploader)
        .execute(&app.pool)
        .await
        .unwrap();
    app.blobs
        .put(&Blobs::key(unfinished, BlobKind::File), b"half".to_vec())
        .await
        .unwrap();
    // All but the recent one began two days ago.
    let old: Vec<Uuid> = [&old_pending.id, &attached.id, &avatar.id]
        .iter()
        .map(|id| Uuid::parse_str(id).unwrap())
        .chain([unfinished])
        .collect();
    sqlx::query("UPDATE files SET created_at = now() - interval '2 days' WHERE id = ANY($1)")
        .bind(&old)
        .execute(&app.pool)
        .await
        .unwrap();

    eventually("the old pending upload swept", || async {
        app.file(&old_pending.id).await.is_none().then_some(())
    })
    .await;
    eventually("the unfinished upload swept", || async {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM files WHERE id = $1")
            .bind(unfinished)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        (left == 0).then_some(())
    })
    .await;
    let keys = eventually("the swept blobs deleted", || async {
        let keys = app.stored_keys().await;
        (keys.len() == 4).then_some(keys)
    })
    .await;

    let mut expected = [
        format!("files/{}", attached.id),
        format!("files/{}", avatar.id),
        format!("files/{}", recent_pending.id),
        format!("thumbnails/{}", avatar.id),
    ];
    expected.sort();
    assert_eq!(keys, expected.to_vec());
    for kept in [&recent_pending.id, &attached.id, &avatar.id] {
        assert!(app.file(kept).await.is_some(), "{kept} is kept");
    }
}
