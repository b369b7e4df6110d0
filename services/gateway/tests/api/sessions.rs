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

/// The `chat_refresh` cookie a response sets: its value and the whole header.
fn refresh_cookie(response: &reqwest::Response) -> (String, String) {
    let header = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with("chat_refresh="))
        .expect("a chat_refresh cookie is set");
    let value = header
        .trim_start_matches("chat_refresh=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    (value, header)
}

async fn cookie_login(app: &crate::helpers::TestApp, user: &TestUser) -> (String, String) {
    let response = app
        .post_json(
            "/api/auth/login",
            &serde_json::json!({
                "login": user.username, "password": user.password, "refresh_cookie": true,
            }),
        )
        .await;
    let (cookie, _) = refresh_cookie(&response);
    let body = json_body(response, StatusCode::OK).await;
    (cookie, body["access_token"].as_str().unwrap().to_owned())
}

async fn cookie_refresh(app: &crate::helpers::TestApp, cookie: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/auth/refresh")
        .header("cookie", format!("chat_refresh={cookie}"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_cookie_session_keeps_the_refresh_token_out_of_reach_of_scripts() {
    let app = spawn_app().await;
    let user = TestUser::generate();
    let response = app
        .post_json(
            "/api/auth/register",
            &serde_json::json!({
                "username": user.username, "email": user.email,
                "password": user.password, "refresh_cookie": true,
            }),
        )
        .await;

    let (first, header) = refresh_cookie(&response);
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/api/auth", "Max-Age="] {
        assert!(header.contains(attribute), "{attribute} missing: {header}");
    }
    // Plain HTTP without a proxy saying otherwise: not `Secure`, or browsers would drop it.
    assert!(!header.contains("Secure"), "{header}");
    let body = json_body(response, StatusCode::CREATED).await;
    assert!(body.get("refresh_token").is_none(), "body: {body}");
    assert!(body["access_token"].is_string());

    // Refreshing with the cookie rotates it; the body still carries no refresh token.
    let response = cookie_refresh(&app, &first).await;
    let (second, _) = refresh_cookie(&response);
    assert_ne!(second, first);
    let body = json_body(response, StatusCode::OK).await;
    assert!(body.get("refresh_token").is_none(), "body: {body}");
    assert_eq!(body["user"]["username"], user.username);

    // The spent cookie is reuse: the session ends and the browser is told to drop it.
    let replay = cookie_refresh(&app, &first).await;
    let (cleared, header) = refresh_cookie(&replay);
    assert!(
        cleared.is_empty() && header.contains("Max-Age=0"),
        "{header}"
    );
    assert_error(replay, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    let response = cookie_refresh(&app, &second).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "session_revoked").await;
}

#[tokio::test]
async fn a_refresh_without_token_or_cookie_is_refused() {
    let app = spawn_app().await;

    let response = app
        .post_json("/api/auth/refresh", &serde_json::json!({}))
        .await;

    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[tokio::test]
async fn behind_https_the_cookie_is_secure() {
    let app = spawn_app().await;
    let user = TestUser::generate();
    app.signed_up(&user).await;

    let response = app
        .request(Method::POST, "/api/auth/login")
        .header("x-forwarded-proto", "https")
        .json(&serde_json::json!({
            "login": user.username, "password": user.password, "refresh_cookie": true,
        }))
        .send()
        .await
        .unwrap();

    let (_, header) = refresh_cookie(&response);
    assert!(header.contains("; Secure"), "{header}");
}

#[tokio::test]
async fn logout_clears_the_cookie() {
    let app = spawn_app().await;
    let user = TestUser::generate();
    app.signed_up(&user).await;
    let (cookie, access) = cookie_login(&app, &user).await;

    let response = app
        .request(Method::POST, "/api/auth/logout")
        .bearer_auth(&access)
        .header("cookie", format!("chat_refresh={cookie}"))
        .send()
        .await
        .unwrap();

    let (cleared, header) = refresh_cookie(&response);
    assert!(
        cleared.is_empty() && header.contains("Max-Age=0"),
        "{header}"
    );
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let refresh = cookie_refresh(&app, &cookie).await;
    assert_error(refresh, StatusCode::UNAUTHORIZED, "session_revoked").await;
}

#[tokio::test]
async fn logout_everywhere_ends_every_device_of_the_caller_only() {
    let app = spawn_app().await;
    let user = TestUser::generate();
    let phone = app.signed_up(&user).await;
    let (laptop_cookie, laptop_access) = cookie_login(&app, &user).await;
    let someone_else = app.new_user("other").await;

    let response = app
        .request(Method::POST, "/api/auth/logout/all")
        .bearer_auth(&laptop_access)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let refresh = app.refresh(&phone.refresh_token).await;
    assert_error(refresh, StatusCode::UNAUTHORIZED, "session_revoked").await;
    let refresh = cookie_refresh(&app, &laptop_cookie).await;
    assert_error(refresh, StatusCode::UNAUTHORIZED, "session_revoked").await;
    app.refreshed(&someone_else.refresh_token).await;
    // Signing in again afterwards works as ever.
    cookie_login(&app, &user).await;
}

#[tokio::test]
async fn logout_everywhere_needs_an_access_token() {
    let app = spawn_app().await;

    let response = app
        .request(Method::POST, "/api/auth/logout/all")
        .send()
        .await
        .unwrap();

    assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}
