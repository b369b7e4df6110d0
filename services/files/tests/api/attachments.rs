//! Attaching uploads to messages and detaching them when the message is deleted.

use chat_proto::v1::{FilePurpose, FileStatus};
use image::ImageFormat;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{Storage, assert_refused, binary, picture, spawn_app, user};

#[tokio::test]
async fn attaching_makes_files_readable_in_the_room_and_repeating_it_changes_nothing() {
    let app = spawn_app(Storage::Fs).await;
    let uploader = user();
    let (room, message) = (Uuid::now_v7(), Uuid::now_v7());
    let first = app.upload_file(uploader, "a.bin", &binary(100)).await;
    let second = app.upload_file(uploader, "b.bin", &binary(200)).await;

    let attached = app
        .attach(uploader, room, message, &[&second.id, &first.id])
        .await
        .unwrap();
    let again = app
        .attach(uploader, room, message, &[&second.id, &first.id])
        .await
        .unwrap();

    let ids: Vec<&str> = attached.files.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![second.id.as_str(), first.id.as_str()],
        "in the order asked"
    );
    for file in &attached.files {
        assert_eq!(file.status(), FileStatus::Attached);
        assert_eq!(file.room_ids, vec![room.to_string()]);
    }
    assert_eq!(again.files, attached.files);
    assert_eq!(attached.message_id, message.to_string());
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM attachments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 2);
}

#[tokio::test]
async fn a_retried_send_gets_the_message_id_of_its_first_attempt() {
    let app = spawn_app(Storage::Fs).await;
    let (uploader, other_sender) = (user(), user());
    let room = Uuid::now_v7();
    let first = app.upload_file(uploader, "a.bin", &binary(100)).await;
    let second = app.upload_file(uploader, "b.bin", &binary(100)).await;
    let theirs = app.upload_file(other_sender, "c.bin", &binary(100)).await;
    let original = Uuid::now_v7();

    app.attach_in_send(uploader, room, original, "send-1", &[&first.id])
        .await
        .unwrap();
    let retry = app
        .attach_in_send(
            uploader,
            room,
            Uuid::now_v7(),
            "send-1",
            &[&first.id, &second.id],
        )
        .await
        .unwrap();
    let another_send = app
        .attach_in_send(uploader, room, Uuid::now_v7(), "send-2", &[&first.id])
        .await;
    let same_key_other_sender = app
        .attach_in_send(other_sender, room, Uuid::now_v7(), "send-1", &[&theirs.id])
        .await
        .unwrap();

    assert_eq!(
        retry.message_id,
        original.to_string(),
        "the first attempt's id"
    );
    assert_eq!(retry.files.len(), 2);
    assert_refused(another_send, Code::FailedPrecondition, "already_attached");
    assert_ne!(
        same_key_other_sender.message_id,
        original.to_string(),
        "a send is the sender's own"
    );
}

#[tokio::test]
async fn only_the_uploader_attaches_their_uploads() {
    let app = spawn_app(Storage::Fs).await;
    let (owner, stranger) = (user(), user());
    let mine = app.upload_file(stranger, "mine.bin", &binary(10)).await;
    let theirs = app.upload_file(owner, "theirs.bin", &binary(10)).await;

    let refused = app
        .attach(
            stranger,
            Uuid::now_v7(),
            Uuid::now_v7(),
            &[&mine.id, &theirs.id],
        )
        .await;

    assert_refused(refused, Code::PermissionDenied, "not_your_upload");
    assert_eq!(
        app.file(&mine.id).await.unwrap().status(),
        FileStatus::Pending
    );
    assert_eq!(
        app.file(&theirs.id).await.unwrap().status(),
        FileStatus::Pending
    );
}

#[tokio::test]
async fn an_upload_carried_by_another_message_is_refused() {
    let app = spawn_app(Storage::Fs).await;
    let uploader = user();
    let room = Uuid::now_v7();
    let file = app.upload_file(uploader, "a.bin", &binary(10)).await;
    let other = app.upload_file(uploader, "b.bin", &binary(10)).await;
    app.attach(uploader, room, Uuid::now_v7(), &[&file.id])
        .await
        .unwrap();

    let elsewhere = app
        .attach(uploader, room, Uuid::now_v7(), &[&other.id, &file.id])
        .await;
    let other_room = app
        .attach(uploader, Uuid::now_v7(), Uuid::now_v7(), &[&file.id])
        .await;

    assert_refused(elsewhere, Code::FailedPrecondition, "already_attached");
    assert_refused(other_room, Code::FailedPrecondition, "already_attached");
    assert_eq!(
        app.file(&other.id).await.unwrap().status(),
        FileStatus::Pending,
        "all or nothing"
    );
}

#[tokio::test]
async fn unknown_files_avatars_and_too_many_files_are_refused() {
    let app = spawn_app(Storage::Fs).await;
    let uploader = user();
    let avatar = app
        .upload(
            uploader,
            "me.png",
            "",
            FilePurpose::Avatar,
            &picture(64, 64, ImageFormat::Png),
        )
        .await
        .unwrap();
    let unknown = Uuid::now_v7().to_string();
    let mut files = Vec::new();
    for i in 0..11 {
        files.push(
            app.upload_file(uploader, &format!("{i}.bin"), &binary(10))
                .await
                .id,
        );
    }
    let (room, message) = (Uuid::now_v7(), Uuid::now_v7());

    let not_found = app.attach(uploader, room, message, &[&unknown]).await;
    let avatar = app.attach(uploader, room, message, &[&avatar.id]).await;
    let eleven: Vec<&str> = files.iter().map(String::as_str).collect();
    let too_many_at_once = app.attach(uploader, room, message, &eleven).await;
    app.attach(uploader, room, message, &eleven[..10])
        .await
        .unwrap();
    let an_eleventh = app.attach(uploader, room, message, &eleven[10..]).await;
    let none = app.attach(uploader, room, message, &[]).await;

    assert_refused(not_found, Code::NotFound, "file_not_found");
    assert_refused(avatar, Code::FailedPrecondition, "avatar_not_attachable");
    assert_refused(too_many_at_once, Code::InvalidArgument, "validation_failed");
    assert_refused(
        an_eleventh,
        Code::FailedPrecondition,
        "too_many_attachments",
    );
    assert_refused(none, Code::InvalidArgument, "validation_failed");
}

async fn detaching_deletes_what_no_message_carries(storage: crate::helpers::Storage) {
    let app = spawn_app(storage).await;
    let uploader = user();
    let (room, other_room) = (Uuid::now_v7(), Uuid::now_v7());
    let (message, forwarded, unrelated) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let image = app
        .upload(
            uploader,
            "p.png",
            "",
            FilePurpose::File,
            &picture(400, 300, ImageFormat::Png),
        )
        .await
        .unwrap();
    let kept = app.upload_file(uploader, "kept.bin", &binary(10)).await;
    app.attach(uploader, room, message, &[&image.id])
        .await
        .unwrap();
    app.attach(uploader, room, unrelated, &[&kept.id])
        .await
        .unwrap();
    // A second message carrying the image, as a forward would.
    sqlx::query(
        "INSERT INTO attachments (file_id, message_id, room_id, client_msg_id)
         VALUES ($1, $2, $3, 'forward')",
    )
    .bind(Uuid::parse_str(&image.id).unwrap())
    .bind(forwarded)
    .bind(other_room)
    .execute(&app.pool)
    .await
    .unwrap();
    let image_keys = [
        format!("files/{}", image.id),
        format!("thumbnails/{}", image.id),
    ];

    let first = app.detach(message).await;
    let still_carried = app.file(&image.id).await.unwrap();
    let keys_after_first = app.stored_keys().await;
    let second = app.detach(forwarded).await;
    let keys_after_second = app.stored_keys().await;
    let nothing = app.detach(Uuid::now_v7()).await;

    assert_eq!(first.detached_file_ids, vec![image.id.clone()]);
    assert!(first.deleted_file_ids.is_empty());
    assert_eq!(still_carried.room_ids, vec![other_room.to_string()]);
    assert!(image_keys.iter().all(|key| keys_after_first.contains(key)));
    assert_eq!(second.deleted_file_ids, vec![image.id.clone()]);
    assert_eq!(keys_after_second, vec![format!("files/{}", kept.id)]);
    assert!(app.file(&image.id).await.is_none());
    assert_refused(
        app.download(&image.id, false, None).await,
        Code::NotFound,
        "file_not_found",
    );
    assert!(nothing.detached_file_ids.is_empty());
    let doomed: i64 = sqlx::query_scalar("SELECT count(*) FROM blob_deletions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(doomed, 0, "every doomed blob was deleted");
}

#[tokio::test]
async fn detaching_deletes_what_no_message_carries_in_a_directory() {
    detaching_deletes_what_no_message_carries(Storage::Fs).await;
}

#[tokio::test]
async fn detaching_deletes_what_no_message_carries_in_s3() {
    detaching_deletes_what_no_message_carries(Storage::S3).await;
}
