//! Creating, reading, editing and deleting rooms; validation; visibility.

use chat_proto::v1::{CreateRoomRequest, Role, RoomKind, UpdateRoomRequest};
use tonic::Code;

use crate::helpers::{assert_invalid, assert_refused, spawn_app, user};

fn create_request(name: &str, kind: RoomKind) -> CreateRoomRequest {
    CreateRoomRequest {
        caller_id: user().to_string(),
        name: name.into(),
        description: None,
        topic: None,
        kind: kind as i32,
    }
}

#[tokio::test]
async fn a_created_room_belongs_to_its_creator() {
    let app = spawn_app().await;
    let owner = user();

    let room = app
        .client()
        .create_room(CreateRoomRequest {
            caller_id: owner.to_string(),
            name: "  Général  ".into(),
            description: Some("Line one\nline two".into()),
            topic: Some("".into()),
            kind: RoomKind::Private as i32,
        })
        .await
        .expect("created")
        .into_inner();

    assert_eq!(room.name, "Général");
    assert_eq!(room.description.as_deref(), Some("Line one\nline two"));
    assert_eq!(room.topic, None);
    assert_eq!(room.kind(), RoomKind::Private);
    assert_eq!(room.owner_id, owner.to_string());
    assert_eq!(room.member_count, 1);
    assert_eq!(room.my_role, Some(Role::Owner as i32));
    assert!(room.direct_user_ids.is_empty());
    assert_eq!(app.get_room(owner, &room.id).await.expect("visible"), room);
}

#[tokio::test]
async fn invalid_rooms_are_refused_field_by_field() {
    let app = spawn_app().await;
    let cases = [
        (create_request("", RoomKind::Public), "name"),
        (create_request("   ", RoomKind::Public), "name"),
        (create_request(&"n".repeat(81), RoomKind::Public), "name"),
        (create_request("tab\there", RoomKind::Public), "name"),
        (create_request("line\nbreak", RoomKind::Public), "name"),
        (create_request("Room", RoomKind::Direct), "kind"),
        (create_request("Room", RoomKind::Unspecified), "kind"),
        (
            CreateRoomRequest {
                description: Some("bell\u{7}".into()),
                ..create_request("Room", RoomKind::Public)
            },
            "description",
        ),
        (
            CreateRoomRequest {
                topic: Some("t".repeat(501)),
                ..create_request("Room", RoomKind::Public)
            },
            "topic",
        ),
        (
            CreateRoomRequest {
                caller_id: "not-a-uuid".into(),
                ..create_request("Room", RoomKind::Public)
            },
            "caller_id",
        ),
    ];
    for (request, field) in cases {
        assert_invalid(app.client().create_room(request).await, field);
    }
}

#[tokio::test]
async fn every_violation_is_reported_at_once() {
    let app = spawn_app().await;
    let status = app
        .client()
        .create_room(CreateRoomRequest {
            caller_id: "x".into(),
            name: "".into(),
            description: None,
            topic: None,
            kind: 0,
        })
        .await
        .expect_err("refused");
    let remote = chat_runtime::status::RemoteError::from(&status);
    let mut fields: Vec<_> = remote.fields.into_iter().map(|(f, _)| f).collect();
    fields.sort();
    assert_eq!(fields, vec!["caller_id", "kind", "name"]);
}

#[tokio::test]
async fn a_public_room_is_visible_to_anyone_without_a_role() {
    let app = spawn_app().await;
    let room = app.create_room(user(), "Lobby", RoomKind::Public).await;

    let seen = app.get_room(user(), &room.id).await.expect("visible");

    assert_eq!(seen.name, "Lobby");
    assert_eq!(seen.my_role, None);
}

#[tokio::test]
async fn an_unknown_or_malformed_room_is_reported_as_such() {
    let app = spawn_app().await;
    assert_refused(
        app.get_room(user(), &user().to_string()).await,
        Code::NotFound,
        "room_not_found",
    );
    assert_invalid(app.get_room(user(), "nope").await, "room_id");
}

#[tokio::test]
async fn an_update_changes_only_the_given_fields() {
    let app = spawn_app().await;
    let owner = user();
    let room = app
        .client()
        .create_room(CreateRoomRequest {
            description: Some("old description".into()),
            topic: Some("old topic".into()),
            caller_id: owner.to_string(),
            ..create_request("Old", RoomKind::Public)
        })
        .await
        .expect("created")
        .into_inner();

    let updated = app
        .client()
        .update_room(UpdateRoomRequest {
            caller_id: owner.to_string(),
            room_id: room.id.clone(),
            name: Some(" New ".into()),
            description: Some("".into()),
            topic: None,
        })
        .await
        .expect("updated")
        .into_inner();

    assert_eq!(updated.name, "New");
    assert_eq!(updated.description, None);
    assert_eq!(updated.topic.as_deref(), Some("old topic"));
    assert_eq!(
        app.get_room(owner, &room.id).await.expect("visible"),
        updated
    );
}

#[tokio::test]
async fn an_invalid_update_changes_nothing() {
    let app = spawn_app().await;
    let owner = user();
    let room = app.create_room(owner, "Keep", RoomKind::Public).await;

    assert_invalid(app.rename(owner, &room.id, "").await, "name");
    let bad_topic = app
        .client()
        .update_room(UpdateRoomRequest {
            caller_id: owner.to_string(),
            room_id: room.id.clone(),
            name: Some("Changed".into()),
            description: None,
            topic: Some("x\u{1b}[31m".into()),
        })
        .await;
    assert_invalid(bad_topic, "topic");

    assert_eq!(
        app.get_room(owner, &room.id).await.expect("visible").name,
        "Keep"
    );
}

#[tokio::test]
async fn a_deleted_room_is_gone_with_its_memberships() {
    let app = spawn_app().await;
    let owner = user();
    let member = user();
    let room = app.create_room(owner, "Doomed", RoomKind::Public).await;
    app.join(member, &room.id).await.expect("joined");

    app.delete_room(owner, &room.id).await.expect("deleted");

    assert_refused(
        app.get_room(owner, &room.id).await,
        Code::NotFound,
        "room_not_found",
    );
    assert_refused(
        app.join(member, &room.id).await,
        Code::NotFound,
        "room_not_found",
    );
}
