//! Looking up other users: by id and by name prefix.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestUser, assert_error, json_body, spawn_app};

#[tokio::test]
async fn a_user_is_shown_without_email() {
    let app = spawn_app().await;
    let viewer = app.signed_up(&TestUser::generate()).await;
    let other = app.signed_up(&TestUser::generate()).await;

    let user = json_body(
        app.get_as(
            &viewer.access_token,
            &format!("/api/users/{}", other.user_id()),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let mut expected = other.user.clone();
    // What only the user themself sees.
    expected.as_object_mut().unwrap().remove("email");
    expected.as_object_mut().unwrap().remove("show_presence");
    for own in ["send_read_receipts", "email_verified"] {
        expected.as_object_mut().unwrap().remove(own);
    }
    // With where they are: no socket open, never seen.
    expected["presence"] = serde_json::json!({
        "user_id": other.user_id(), "status": "offline", "last_seen": null,
    });
    assert_eq!(user, expected);
}

#[tokio::test]
async fn an_unknown_user_is_not_found() {
    let app = spawn_app().await;
    let viewer = app.signed_up(&TestUser::generate()).await;

    for id in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
        let response = app
            .get_as(&viewer.access_token, &format!("/api/users/{id}"))
            .await;
        assert_error(response, StatusCode::NOT_FOUND, "user_not_found").await;
    }
    // Not even UTF-8 once decoded: still a JSON 404, never axum's plain-text rejection.
    let response = app.get_as(&viewer.access_token, "/api/users/%FF%FE").await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn looking_users_up_needs_an_access_token() {
    let app = spawn_app().await;

    for path in [
        format!("/api/users/{}", uuid::Uuid::new_v4()),
        "/api/users?search=a".to_owned(),
    ] {
        let response = app.get(&path).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
}

fn usernames(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| {
            assert!(user.get("email").is_none(), "no emails in search: {user}");
            user["username"].as_str().unwrap().to_owned()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn search_finds_users_by_prefix_without_regard_to_case() {
    let app = spawn_app().await;
    let viewer = app.signed_up(&TestUser::named("viewer")).await;
    let mut wanted = Vec::new();
    for _ in 0..3 {
        let user = TestUser::named("zeb");
        app.signed_up(&user).await;
        wanted.push(user.username);
    }
    app.signed_up(&TestUser::named("other")).await;
    wanted.sort();

    let found = json_body(
        app.get_as(&viewer.access_token, "/api/users?search=ZEB")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(usernames(&found), wanted);

    let limited = json_body(
        app.get_as(&viewer.access_token, "/api/users?search=zeb&limit=2")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(usernames(&limited).len(), 2);
}

#[tokio::test]
async fn a_bad_search_is_a_clear_error() {
    let app = spawn_app().await;
    let viewer = app.signed_up(&TestUser::generate()).await;
    let token = &viewer.access_token;

    let response = app.get_as(token, "/api/users").await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    assert!(body["error"]["fields"]["search"].is_string(), "{body}");

    let response = app.get_as(token, "/api/users?search=a&limit=many").await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    assert!(body["error"]["fields"]["limit"].is_string(), "{body}");

    let response = app.get_as(token, "/api/users?search=a&limit=0").await;
    let body = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(body["error"]["fields"]["limit"].is_string(), "{body}");

    let response = app.get_as(token, "/api/users?search=").await;
    let body = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(body["error"]["fields"]["search"].is_string(), "{body}");
}

#[tokio::test]
async fn users_are_looked_up_by_ids_in_one_request() {
    // Arrange
    let app = spawn_app().await;
    let viewer = app.signed_up(&TestUser::generate()).await;
    let (ada, grace) = (
        app.signed_up(&TestUser::generate()).await,
        app.signed_up(&TestUser::generate()).await,
    );
    let token = &viewer.access_token;

    // Act
    let nobody = uuid::Uuid::new_v4();
    let path = format!(
        "/api/users?ids={},{},{nobody}",
        ada.user_id(),
        grace.user_id()
    );
    let found = json_body(app.get_as(token, &path).await, StatusCode::OK).await;

    // Assert: the two users, and nobody for an id of nobody.
    let mut ids: Vec<String> = found["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut expected = vec![ada.user_id().to_string(), grace.user_id().to_string()];
    expected.sort();
    assert_eq!(ids, expected);

    let bad = app.get_as(token, "/api/users?ids=nope").await;
    let body = assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    assert!(body["error"]["fields"]["ids"].is_string(), "{body}");
    let too_many = (0..101)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let body = assert_error(
        app.get_as(token, &format!("/api/users?ids={too_many}"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(body["error"]["fields"]["ids"].is_string(), "{body}");
    let both = app.get_as(token, "/api/users?search=a&ids=x").await;
    assert_error(both, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}
