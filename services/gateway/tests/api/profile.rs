//! The caller's own account: `/api/auth/me`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, TestUser, assert_error, json_body, spawn_app};

async fn patch_me(app: &TestApp, session: &Session, changes: &Value) -> reqwest::Response {
    app.request(Method::PATCH, "/api/auth/me")
        .bearer_auth(&session.access_token)
        .json(changes)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn me_needs_an_access_token() {
    let app = spawn_app().await;

    let response = app.get("/api/auth/me").await;

    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn me_shows_the_callers_account_with_email() {
    let app = spawn_app().await;
    let user = TestUser::generate();
    let session = app.signed_up(&user).await;

    let me = json_body(
        app.get_as(&session.access_token, "/api/auth/me").await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(me, session.user);
    assert_eq!(me["email"], user.email.as_str());
}

#[tokio::test]
async fn patching_me_changes_only_the_named_fields() {
    let app = spawn_app().await;
    let session = app.signed_up(&TestUser::generate()).await;

    let updated = json_body(
        patch_me(
            &app,
            &session,
            &json!({"display_name": "Alice", "bio": "Down the rabbit hole"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(updated["display_name"], "Alice");
    assert_eq!(updated["bio"], "Down the rabbit hole");
    assert_eq!(updated["avatar_url"], Value::Null);
    assert_eq!(updated["email"], session.user["email"]);
    let me = json_body(
        app.get_as(&session.access_token, "/api/auth/me").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me, updated);

    // An empty string clears; absent fields stay.
    let cleared = json_body(
        patch_me(&app, &session, &json!({"bio": ""})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["bio"], Value::Null);
    assert_eq!(cleared["display_name"], "Alice");
}

#[tokio::test]
async fn invalid_profile_changes_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let session = app.signed_up(&TestUser::generate()).await;

    let response = patch_me(
        &app,
        &session,
        &json!({"display_name": "Alice", "bio": "x".repeat(501)}),
    )
    .await;

    let body = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(body["error"]["fields"]["bio"].is_string(), "{body}");
    let me = json_body(
        app.get_as(&session.access_token, "/api/auth/me").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["display_name"], Value::Null);
}

/// `user`'s presence as `viewer` reads it in the profile.
async fn presence_of(app: &TestApp, viewer: &Session, user: &Session) -> Value {
    json_body(
        app.get_as(
            &viewer.access_token,
            &format!("/api/users/{}", user.user_id()),
        )
        .await,
        StatusCode::OK,
    )
    .await["presence"]
        .clone()
}

#[tokio::test]
async fn a_user_can_hide_their_presence_and_show_it_again() {
    let app = spawn_app().await;
    let ada = app.new_user("ada").await;
    let bob = app.new_user("bob").await;
    let address = app.address.trim_start_matches("http://").parse().unwrap();
    let mut socket = chat_test_stack::socket::Socket::open(address, &[]).await;
    socket
        .send(json!({"type": "auth", "token": ada.access_token}))
        .await;
    socket.expect("ready").await;
    assert_eq!(presence_of(&app, &bob, &ada).await["status"], "online");

    let me = json_body(
        patch_me(&app, &ada, &json!({"show_presence": false})).await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(me["show_presence"], false);
    let hidden = presence_of(&app, &bob, &ada).await;
    assert_eq!(hidden["status"], "offline");
    assert_eq!(hidden["last_seen"], Value::Null);
    let me = json_body(
        patch_me(&app, &ada, &json!({"show_presence": true})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["show_presence"], true);
    assert_eq!(presence_of(&app, &bob, &ada).await["status"], "online");
}
