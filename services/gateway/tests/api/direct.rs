//! Direct rooms through REST: one per pair of users, found or created by `POST /api/dms`,
//! and closed to everything rooms with roles allow.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{assert_error, json_body, spawn_app};

#[tokio::test]
async fn both_users_opening_at_once_get_the_same_single_room() {
    let app = spawn_app().await;
    let (alice, bob) = tokio::join!(app.new_user("alice"), app.new_user("bob"));

    let (to_bob, to_alice) = (
        json!({"user_id": bob.user_id()}),
        json!({"user_id": alice.user_id()}),
    );
    let (from_alice, from_bob) = tokio::join!(
        app.post_as(&alice.access_token, "/api/dms", &to_bob),
        app.post_as(&bob.access_token, "/api/dms", &to_alice),
    );

    let (from_alice, from_bob) = (
        json_body(from_alice, StatusCode::OK).await,
        json_body(from_bob, StatusCode::OK).await,
    );
    assert_eq!(from_alice["id"], from_bob["id"]);
    let room = &from_alice;
    assert_eq!(room["kind"], "direct");
    assert_eq!(room["member_count"], 2);
    assert_eq!(room["owner_id"], Value::Null);
    assert_eq!(room["my_role"], "member");
    let mut users: Vec<&str> = room["direct_user_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    users.sort_unstable();
    let mut expected = vec![alice.user_id(), bob.user_id()];
    expected.sort_unstable();
    assert_eq!(users, expected);

    let again = json_body(
        app.post_as(
            &alice.access_token,
            "/api/dms",
            &json!({"user_id": bob.user_id()}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["id"], room["id"]);
    for session in [&alice, &bob] {
        let mine = json_body(
            app.get_as(&session.access_token, "/api/rooms/mine").await,
            StatusCode::OK,
        )
        .await;
        let rooms = mine["rooms"].as_array().unwrap();
        assert_eq!(rooms.len(), 1, "exactly one direct room: {mine}");
        assert_eq!(rooms[0]["id"], room["id"]);
    }
}

#[tokio::test]
async fn a_direct_room_has_no_roles_edits_or_leaving_and_stays_hidden() {
    let app = spawn_app().await;
    let (alice, bob, carol) = tokio::join!(
        app.new_user("alice"),
        app.new_user("bob"),
        app.new_user("carol")
    );
    let room = json_body(
        app.post_as(
            &alice.access_token,
            "/api/dms",
            &json!({"user_id": bob.user_id()}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let id = room["id"].as_str().unwrap();
    let token = &alice.access_token;

    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/rooms/{id}"),
            Some(json!({"name": "us"})),
        ),
        (Method::DELETE, format!("/api/rooms/{id}"), None),
        (Method::DELETE, format!("/api/rooms/{id}/leave"), None),
        (
            Method::POST,
            format!("/api/rooms/{id}/invites"),
            Some(json!({"user_id": carol.user_id()})),
        ),
        (
            Method::POST,
            format!("/api/rooms/{id}/kick"),
            Some(json!({"user_id": bob.user_id()})),
        ),
        (
            Method::POST,
            format!("/api/rooms/{id}/bans"),
            Some(json!({"user_id": bob.user_id()})),
        ),
        (
            Method::PUT,
            format!("/api/rooms/{id}/members/{}/role", bob.user_id()),
            Some(json!({"role": "admin"})),
        ),
    ] {
        let response = app
            .send_as(token, method.clone(), &path, body.as_ref())
            .await;
        assert_error(response, StatusCode::CONFLICT, "direct_room").await;
    }
    assert_eq!(app.members(token, id).await.len(), 2);
    let unchanged = json_body(
        app.get_as(token, &format!("/api/rooms/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(unchanged, room);
    assert_error(
        app.get_as(&carol.access_token, &format!("/api/rooms/{id}"))
            .await,
        StatusCode::NOT_FOUND,
        "room_not_found",
    )
    .await;
    assert_error(
        app.send_as(
            &carol.access_token,
            Method::POST,
            &format!("/api/rooms/{id}/join"),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "room_not_found",
    )
    .await;
}

#[tokio::test]
async fn a_direct_room_needs_another_user_who_exists() {
    let app = spawn_app().await;
    let alice = app.new_user("alice").await;
    let token = &alice.access_token;

    let ghost = app
        .post_as(token, "/api/dms", &json!({"user_id": Uuid::new_v4()}))
        .await;
    assert_error(ghost, StatusCode::NOT_FOUND, "user_not_found").await;
    let myself = app
        .post_as(token, "/api/dms", &json!({"user_id": alice.user_id()}))
        .await;
    let body = assert_error(
        myself,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(body["error"]["fields"]["user_id"].is_string(), "{body}");
    for bad in [
        json!({"user_id": "bob"}),
        json!({}),
        json!({"user_id": alice.user_id(), "x": 1}),
    ] {
        let response = app.post_as(token, "/api/dms", &bad).await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    }

    let mine = json_body(app.get_as(token, "/api/rooms/mine").await, StatusCode::OK).await;
    assert_eq!(mine["rooms"], json!([]), "nothing was opened");
}

#[tokio::test]
async fn a_direct_room_in_my_rooms_is_named_for_the_other_person() {
    // Arrange
    let app = spawn_app().await;
    let (alice, bob) = tokio::join!(app.new_user("alice"), app.new_user("bob"));
    let opened = app
        .post_as(
            &alice.access_token,
            "/api/dms",
            &json!({"user_id": bob.user_id()}),
        )
        .await;
    let room = json_body(opened, StatusCode::OK).await;

    // Act
    let mine = json_body(
        app.get_as(&alice.access_token, "/api/rooms/mine").await,
        StatusCode::OK,
    )
    .await;
    let theirs = json_body(
        app.get_as(&bob.access_token, "/api/rooms/mine").await,
        StatusCode::OK,
    )
    .await;

    // Assert: each sees the other's name, and when the room last changed.
    let direct = |list: &Value| {
        list["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == room["id"])
            .cloned()
            .expect("the direct room is listed")
    };
    let (for_alice, for_bob) = (direct(&mine), direct(&theirs));
    assert_eq!(for_alice["name"], bob.user["username"]);
    assert_eq!(for_bob["name"], alice.user["username"]);
    assert_eq!(for_alice["last_activity_at"], room["created_at"]);
}
