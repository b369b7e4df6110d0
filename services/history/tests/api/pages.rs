//! Reading history: message pages by position cursor, entries after a position, the
//! latest position, and the errors for bad requests.

use chat_proto::v1::{
    LatestPositionRequest, ListEntriesAfterRequest, ListMessagesRequest, MessageKind, MessagePage,
    Position, room_item,
};
use chat_runtime::status::RemoteError;
use tonic::Code;

use crate::helpers::{Room, TestApp, TestEnv, spawn_app};
use uuid::Uuid;

fn at(epoch: u64, seq: u64) -> Option<Position> {
    Some(Position { epoch, seq })
}

async fn page(
    app: &mut TestApp,
    room: &Room,
    before: Option<Position>,
    after: Option<Position>,
    limit: u32,
) -> MessagePage {
    app.grpc
        .list_messages(ListMessagesRequest {
            room_id: room.id.to_string(),
            before,
            after,
            limit,
            viewer_id: String::new(),
            ..Default::default()
        })
        .await
        .expect("list messages")
        .into_inner()
}

fn contents(page: &MessagePage) -> Vec<&str> {
    page.messages.iter().map(|m| m.content.as_str()).collect()
}

/// Publishes the envelopes and waits until all are stored.
async fn store(env: &TestEnv, room: &Room, envelopes: &[chat_proto::v1::RoomEnvelope]) {
    let expected = env.stored_entries(room.id).await + envelopes.len() as i64;
    for envelope in envelopes {
        env.publish(envelope).await;
    }
    env.wait_for_entries(room.id, expected).await;
}

#[tokio::test]
async fn message_pages_walk_both_ways_and_say_what_lies_beyond() {
    // Arrange: messages 1..=7 at seq 1..=7, plus a room event at seq 8 (not a message).
    let (env, mut app) = spawn_app().await;
    let mut room = Room::new();
    let mut envelopes: Vec<_> = (1..=7).map(|n| room.message(&n.to_string())).collect();
    envelopes.push(room.member_joined());
    store(&env, &room, &envelopes).await;
    let epoch = room.epoch;

    // Act + Assert: the newest page.
    let newest = page(&mut app, &room, None, None, 3).await;
    assert_eq!(contents(&newest), ["5", "6", "7"]);
    assert!(newest.has_older);
    assert!(!newest.has_newer);

    // Older pages, from the oldest message of the previous one.
    let older = page(&mut app, &room, at(epoch, 5), None, 3).await;
    assert_eq!(contents(&older), ["2", "3", "4"]);
    assert!(older.has_older);
    assert!(older.has_newer);
    let oldest = page(&mut app, &room, at(epoch, 2), None, 3).await;
    assert_eq!(contents(&oldest), ["1"]);
    assert!(!oldest.has_older);
    assert!(oldest.has_newer);

    // Newer pages, from the newest message of the previous one.
    let newer = page(&mut app, &room, None, at(epoch, 1), 3).await;
    assert_eq!(contents(&newer), ["2", "3", "4"]);
    assert!(newer.has_older);
    assert!(newer.has_newer);
    let last = page(&mut app, &room, None, at(epoch, 4), 3).await;
    assert_eq!(contents(&last), ["5", "6", "7"]);
    assert!(last.has_older);
    assert!(!last.has_newer);

    // The default page size holds them all.
    let all = page(&mut app, &room, None, None, 0).await;
    assert_eq!(all.messages.len(), 7);
    assert!(!all.has_older && !all.has_newer);
    let positions: Vec<_> = all
        .messages
        .iter()
        .map(|m| m.position.expect("position").seq)
        .collect();
    assert_eq!(positions, [1, 2, 3, 4, 5, 6, 7]);

    app.stop().await;
    env.clean_up().await;
}

#[tokio::test]
async fn edits_and_deletions_show_in_pages_whatever_order_they_arrive_in() {
    // Arrange
    let (env, mut app) = spawn_app().await;
    let mut room = Room::new();
    let edited = room.message("original");
    let deleted = room.message("regrettable");
    let edited_late = room.message("typo");
    let first_edit = room.edit(&edited, "first edit");
    let second_edit = room.edit(&edited, "second edit");
    let deletion = room.delete(&deleted);
    let edit_before_message = room.edit(&edited_late, "fixed");

    // Act: the later edit arrives first; an edit arrives before its message.
    store(
        &env,
        &room,
        &[
            edited,
            deleted,
            second_edit,
            first_edit,
            deletion,
            edit_before_message,
        ],
    )
    .await;
    store(&env, &room, &[edited_late]).await;

    // Assert
    let page = page(&mut app, &room, None, None, 0).await;
    assert_eq!(contents(&page), ["second edit", "", "fixed"]);
    let [edited, deleted, edited_late] = &page.messages[..] else {
        panic!("three messages expected: {page:?}");
    };
    assert!(edited.edited_at.is_some() && edited.deleted_at.is_none());
    assert!(deleted.deleted_at.is_some());
    assert!(edited_late.edited_at.is_some());

    app.stop().await;
    env.clean_up().await;
}

#[tokio::test]
async fn attachments_are_kept_with_their_message_and_go_with_its_deletion() {
    // Arrange
    let (env, mut app) = spawn_app().await;
    let mut room = Room::new();
    let file = |name: &str| chat_proto::v1::FileInfo {
        id: Uuid::now_v7().to_string(),
        name: name.to_owned(),
        size: 1234,
        content_type: "application/pdf".to_owned(),
        kind: chat_proto::v1::FileKind::File as i32,
        ..chat_proto::v1::FileInfo::default()
    };
    let (report, notes) = (file("report.pdf"), file("notes.pdf"));
    let kept = room.message_with_files("", vec![report.clone(), notes.clone()]);
    let deleted = room.message_with_files("oops", vec![file("secret.pdf")]);
    let deletion = room.delete(&deleted);

    // Act
    store(&env, &room, &[kept, deleted, deletion]).await;

    // Assert
    let page = page(&mut app, &room, None, None, 0).await;
    let [kept, deleted] = &page.messages[..] else {
        panic!("two messages expected: {page:?}");
    };
    assert_eq!(kept.attachments, [report, notes]);
    assert_eq!(kept.kind(), MessageKind::File);
    assert!(deleted.attachments.is_empty(), "{deleted:?}");
    let entries = app
        .grpc
        .list_entries_after(ListEntriesAfterRequest {
            room_id: room.id.to_string(),
            after: at(room.epoch, 0),
            limit: 0,
        })
        .await
        .expect("list entries")
        .into_inner();
    let replayed = entries
        .entries
        .iter()
        .filter_map(|entry| match entry.item.as_ref()?.body.as_ref()? {
            room_item::Body::Message(message) if message.id == deleted.id => Some(message),
            _ => None,
        })
        .next()
        .expect("the deleted message's entry");
    assert!(replayed.attachments.is_empty(), "redacted: {replayed:?}");

    app.stop().await;
    env.clean_up().await;
}

#[tokio::test]
async fn entries_after_a_position_cross_into_a_later_epoch() {
    // Arrange: three entries in one epoch, then Redis lost the counter: two in the next.
    let (env, mut app) = spawn_app().await;
    let mut room = Room::new();
    let first_epoch = room.epoch;
    let mut envelopes = vec![room.message("a"), room.member_joined(), room.message("b")];
    room.new_epoch();
    envelopes.extend([room.message("c"), room.message("d")]);
    store(&env, &room, &envelopes).await;
    let list = |after, limit| ListEntriesAfterRequest {
        room_id: room.id.to_string(),
        after,
        limit,
    };

    // Act
    let missed = app
        .grpc
        .list_entries_after(list(at(first_epoch, 2), 0))
        .await
        .expect("list entries")
        .into_inner();
    let first_two = app
        .grpc
        .list_entries_after(list(at(first_epoch, 2), 2))
        .await
        .expect("list entries")
        .into_inner();
    let latest = app
        .grpc
        .latest_position(LatestPositionRequest {
            room_id: room.id.to_string(),
        })
        .await
        .expect("latest position")
        .into_inner();

    // Assert
    let positions = |entries: &[chat_proto::v1::StoredEntry]| -> Vec<(u64, u64)> {
        entries
            .iter()
            .map(|e| {
                let p = e.position.expect("position");
                (p.epoch, p.seq)
            })
            .collect()
    };
    assert_eq!(
        positions(&missed.entries),
        [(first_epoch, 3), (room.epoch, 1), (room.epoch, 2)]
    );
    assert!(!missed.has_more);
    assert_eq!(
        positions(&first_two.entries),
        [(first_epoch, 3), (room.epoch, 1)]
    );
    assert!(first_two.has_more);
    assert_eq!(latest.position, at(room.epoch, 2));

    let empty_room = app
        .grpc
        .latest_position(LatestPositionRequest {
            room_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .expect("latest position")
        .into_inner();
    assert_eq!(empty_room.position, None);

    app.stop().await;
    env.clean_up().await;
}

#[tokio::test]
async fn bad_requests_are_refused_with_every_bad_field_named() {
    // Arrange
    let (env, mut app) = spawn_app().await;
    let room = Room::new();

    // Act
    let bad_page = app
        .grpc
        .list_messages(ListMessagesRequest {
            room_id: "not-a-uuid".into(),
            before: None,
            after: None,
            limit: 101,
            viewer_id: String::new(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    let both_bounds = app
        .grpc
        .list_messages(ListMessagesRequest {
            room_id: room.id.to_string(),
            before: at(1, 5),
            after: at(1, 1),
            limit: 10,
            viewer_id: String::new(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    let huge_position = app
        .grpc
        .list_entries_after(ListEntriesAfterRequest {
            room_id: room.id.to_string(),
            after: at(u64::MAX, 1),
            limit: 10,
        })
        .await
        .expect_err("refused");
    let bad_latest = app
        .grpc
        .latest_position(LatestPositionRequest {
            room_id: String::new(),
        })
        .await
        .expect_err("refused");
    let capped = app
        .grpc
        .list_entries_after(ListEntriesAfterRequest {
            room_id: room.id.to_string(),
            after: None,
            limit: 1_000_000,
        })
        .await;

    // Assert
    let fields = |status: &tonic::Status| {
        let remote = RemoteError::from(status);
        assert_eq!(remote.code, Code::InvalidArgument);
        assert_eq!(remote.reason, "validation_failed");
        remote
            .fields
            .into_iter()
            .map(|(field, _)| field)
            .collect::<Vec<_>>()
    };
    assert_eq!(fields(&bad_page), ["room_id", "limit"]);
    assert_eq!(fields(&both_bounds), ["after"]);
    assert_eq!(fields(&huge_position), ["after"]);
    assert_eq!(fields(&bad_latest), ["room_id"]);
    assert!(capped.is_ok(), "a large entry limit is capped, not refused");

    app.stop().await;
    env.clean_up().await;
}

/// The reactions of the only message of `room`, as `viewer` sees them.
async fn reactions_seen(app: &mut TestApp, room: &Room, viewer: Uuid) -> Vec<(String, u32, bool)> {
    let page = app
        .grpc
        .list_messages(ListMessagesRequest {
            room_id: room.id.to_string(),
            before: None,
            after: None,
            limit: 10,
            viewer_id: viewer.to_string(),
            ..Default::default()
        })
        .await
        .expect("list messages")
        .into_inner();
    page.messages[0]
        .reactions
        .iter()
        .map(|r| (r.emoji.clone(), r.count, r.reacted))
        .collect()
}

#[tokio::test]
async fn reactions_replayed_in_any_order_leave_the_latest_and_a_deletion_clears_them() {
    // Arrange: Ada adds then removes a heart; both add a thumbs up. The removal is
    // delivered before the addition it follows.
    let (env, mut app) = spawn_app().await;
    let mut room = Room::new();
    let (ada, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let message = room.message("react to me");
    let thumbs_ada = room.reaction(&message, ada, "👍", true);
    let heart = room.reaction(&message, ada, "❤\u{fe0f}", true);
    let heart_gone = room.reaction(&message, ada, "❤\u{fe0f}", false);
    let thumbs_bob = room.reaction(&message, bob, "👍", true);

    // Act
    store(&env, &room, &[message.clone(), heart_gone, thumbs_ada]).await;
    store(&env, &room, &[heart, thumbs_bob]).await;

    // Assert
    assert_eq!(
        reactions_seen(&mut app, &room, ada).await,
        [("👍".to_owned(), 2, true)]
    );
    assert_eq!(
        reactions_seen(&mut app, &room, Uuid::now_v7()).await,
        [("👍".to_owned(), 2, false)]
    );
    let delete = room.delete(&message);
    let late = room.reaction(&message, bob, "🎉", true);
    store(&env, &room, &[delete, late]).await;
    assert_eq!(reactions_seen(&mut app, &room, bob).await, []);
}
