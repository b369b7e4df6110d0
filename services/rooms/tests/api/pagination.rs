//! Cursor pages that stay stable while rooms and members are added between pages.

use std::collections::HashSet;

use chat_proto::v1::{ListMyRoomsRequest, ListPublicRoomsRequest, RoomKind, RoomPage};
use futures::future::join_all;
use uuid::Uuid;

use crate::helpers::{TestApp, assert_invalid, spawn_app, user};

async fn public_page(app: &TestApp, query: &str, cursor: Option<String>, limit: u32) -> RoomPage {
    app.client()
        .list_public_rooms(ListPublicRoomsRequest {
            caller_id: user().to_string(),
            query: query.into(),
            cursor,
            limit,
        })
        .await
        .expect("listed")
        .into_inner()
}

async fn my_page(app: &TestApp, caller: Uuid, cursor: Option<String>, limit: u32) -> RoomPage {
    app.client()
        .list_my_rooms(ListMyRoomsRequest {
            caller_id: caller.to_string(),
            cursor,
            limit,
        })
        .await
        .expect("listed")
        .into_inner()
}

/// Asserts that `seen` has no repeats and contains every one of `existing`.
#[track_caller]
fn assert_complete(seen: &[String], existing: &[String]) {
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a row came twice: {seen:?}");
    for id in existing {
        assert!(unique.contains(id), "{id} was skipped");
    }
}

#[tokio::test]
async fn public_pages_stay_stable_while_rooms_are_created() {
    let app = spawn_app().await;
    let owner = user();
    let mut existing = Vec::new();
    for i in 0..7 {
        existing.push(
            app.create_room(owner, &format!("Room {i}"), RoomKind::Public)
                .await
                .id,
        );
    }
    let private = app.create_room(owner, "Hidden", RoomKind::Private).await.id;

    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = public_page(&app, "", cursor, 3).await;
        assert!(page.rooms.len() <= 3);
        seen.extend(page.rooms.into_iter().map(|r| r.id));
        pages += 1;
        for i in 0..2 {
            app.create_room(owner, &format!("Late {pages}.{i}"), RoomKind::Public)
                .await;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    assert_complete(&seen, &existing);
    assert!(!seen.contains(&private), "private rooms are never listed");
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn public_rooms_are_found_by_any_part_of_their_name_ignoring_case() {
    let app = spawn_app().await;
    let owner = user();
    for name in [
        "Rust Lovers",
        "rustaceans",
        "TRUSTED",
        "Go",
        "100% off",
        "under_score",
    ] {
        app.create_room(owner, name, RoomKind::Public).await;
    }
    app.create_room(owner, "Secret rust", RoomKind::Private)
        .await;

    let names = |page: RoomPage| {
        let mut names: Vec<String> = page.rooms.into_iter().map(|r| r.name).collect();
        names.sort();
        names
    };
    assert_eq!(
        names(public_page(&app, " RuSt ", None, 0).await),
        vec!["Rust Lovers", "TRUSTED", "rustaceans"]
    );
    assert_eq!(
        names(public_page(&app, "%", None, 0).await),
        vec!["100% off"]
    );
    assert_eq!(
        names(public_page(&app, "_", None, 0).await),
        vec!["under_score"]
    );
    assert!(public_page(&app, "python", None, 0).await.rooms.is_empty());
    assert_eq!(public_page(&app, "", None, 0).await.rooms.len(), 6);

    let first = public_page(&app, "rust", None, 2).await;
    assert_eq!(first.rooms.len(), 2);
    let rest = public_page(&app, "rust", first.next_cursor, 2).await;
    assert_eq!(rest.rooms.len(), 1);
    assert_eq!(rest.next_cursor, None);
}

#[tokio::test]
async fn my_rooms_pages_stay_stable_while_i_join_more() {
    let app = spawn_app().await;
    let me = user();
    let mut existing = vec![
        app.create_room(me, "Mine", RoomKind::Private).await.id,
        app.open_direct(me, user()).await.expect("opened").id,
    ];
    for i in 0..4 {
        let room = app
            .create_room(user(), &format!("Theirs {i}"), RoomKind::Public)
            .await;
        app.join(me, &room.id).await.expect("joined");
        existing.push(room.id);
    }

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = my_page(&app, me, cursor, 2).await;
        seen.extend(page.rooms.into_iter().map(|r| r.id));
        let late = app.create_room(user(), "Late", RoomKind::Public).await;
        app.join(me, &late.id).await.expect("joined");
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    assert_complete(&seen, &existing);
}

#[tokio::test]
async fn member_pages_stay_stable_while_members_join() {
    let app = spawn_app().await;
    let owner = user();
    let room = app.create_room(owner, "Busy", RoomKind::Public).await;
    let mut existing = vec![owner.to_string()];
    for _ in 0..6 {
        let member = user();
        app.join(member, &room.id).await.expect("joined");
        existing.push(member.to_string());
    }

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .members_page(owner, &room.id, cursor, 3)
            .await
            .expect("listed");
        seen.extend(page.members.into_iter().map(|m| m.user_id));
        app.join(user(), &room.id).await.expect("joined");
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    assert_complete(&seen, &existing);
    assert_eq!(seen[0], owner.to_string(), "earliest member first");
}

#[tokio::test]
async fn page_sizes_default_to_50_and_stop_at_100() {
    let app = spawn_app().await;
    let owner = user();
    let creations = (0..101).map(|i| {
        let app = &app;
        async move {
            app.create_room(owner, &format!("R{i}"), RoomKind::Public)
                .await
        }
    });
    join_all(creations).await;

    let default = public_page(&app, "", None, 0).await;
    assert_eq!(default.rooms.len(), 50);
    assert!(default.next_cursor.is_some());
    let capped = public_page(&app, "", None, 1000).await;
    assert_eq!(capped.rooms.len(), 100);
    let last = public_page(&app, "", capped.next_cursor, 1000).await;
    assert_eq!((last.rooms.len(), last.next_cursor), (1, None));
}

#[tokio::test]
async fn a_forged_cursor_is_refused() {
    let app = spawn_app().await;
    let result = app
        .client()
        .list_public_rooms(ListPublicRoomsRequest {
            caller_id: user().to_string(),
            query: String::new(),
            cursor: Some("bm90IGEgY3Vyc29y".into()),
            limit: 10,
        })
        .await;
    assert_invalid(result, "cursor");
    let room = app.create_room(user(), "Any", RoomKind::Public).await;
    assert_invalid(
        app.members_page(user(), &room.id, Some("%%%".into()), 10)
            .await,
        "cursor",
    );
}
