//! Refresh-token rotation, reuse detection and logout.

use reqwest::{Method, StatusCode};

use crate::helpers::{TestUser, assert_error, json_body, spawn_app};

#[tokio::test]
async fn refresh_rotates_both_tokens() {
    let app = spawn_app().await;
    let first = app.signed_up(&TestUser::generate()).await;

    let second = app.refreshed(&first.refresh_token).await;

    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(second.user_id(), first.user_id());
    let me = json_body(
        app.get_as(&second.access_token, "/api/auth/me").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["id"], first.user_id());
    // The new refresh token works in turn.
    app.refreshed(&second.refresh_token).await;
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_the_whole_session() {
    let app = spawn_app().await;
    let first = app.signed_up(&TestUser::generate()).await;
    let second = app.refreshed(&first.refresh_token).await;

    let replay = app.refresh(&first.refresh_token).await;

    assert_eq!(replay.headers()["www-authenticate"], "Bearer");
    assert_error(replay, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    // The legitimate holder's newer token died with the session.
    let response = app.refresh(&second.refresh_token).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "session_revoked").await;
}

#[tokio::test]
async fn an_unknown_refresh_token_is_refused() {
    let app = spawn_app().await;

    let response = app.refresh("made-up-token").await;

    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[tokio::test]
async fn after_logout_the_session_cannot_be_refreshed() {
    let app = spawn_app().await;
    let user = TestUser::generate();
    let session = app.signed_up(&user).await;
    let other_device = json_body(
        app.login(&user.username, &user.password).await,
        StatusCode::OK,
    )
    .await;

    let response = app
        .request(Method::POST, "/api/auth/logout")
        .bearer_auth(&session.access_token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
    let refresh = app.refresh(&session.refresh_token).await;
    assert_error(refresh, StatusCode::UNAUTHORIZED, "session_revoked").await;
    // Only that session ended.
    app.refreshed(other_device["refresh_token"].as_str().unwrap())
        .await;
}

#[tokio::test]
async fn logout_needs_an_access_token() {
    let app = spawn_app().await;

    let response = app
        .request(Method::POST, "/api/auth/logout")
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}
