//! Registering and signing in.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::helpers::{TestUser, assert_error, json_body, spawn_app};

/// The fields every session response carries, with the caller's own user.
fn assert_session_shape(body: &Value, user: &TestUser) {
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    assert_eq!(
        body["access_token"].as_str().unwrap().split('.').count(),
        3,
        "a JWT"
    );
    assert!(!body["refresh_token"].as_str().unwrap().is_empty());
    let account = &body["user"];
    assert_eq!(account["username"], user.username.as_str());
    assert_eq!(account["email"], user.email.as_str());
    assert!(uuid::Uuid::parse_str(account["id"].as_str().unwrap()).is_ok());
    OffsetDateTime::parse(account["created_at"].as_str().unwrap(), &Rfc3339)
        .expect("created_at is RFC 3339");
    for field in ["display_name", "avatar_url", "bio"] {
        assert!(account.get(field).is_some(), "{field} is always present");
    }
}

#[tokio::test]
async fn register_creates_the_account_and_signs_it_in() {
    let app = spawn_app().await;
    let user = TestUser::generate();
    let mut registration = user.registration();
    registration["display_name"] = json!("Alice Liddell");

    let response = app.post_json("/api/auth/register", &registration).await;

    let body = json_body(response, StatusCode::CREATED).await;
    assert_session_shape(&body, &user);
    assert_eq!(body["user"]["display_name"], "Alice Liddell");
    assert_eq!(body["user"]["bio"], Value::Null);
}

#[tokio::test]
async fn login_works_with_username_or_email_in_any_case() {
    let app = spawn_app().await;
    let user = TestUser::generate();
    let registered = app.signed_up(&user).await;

    for login in [
        user.username.clone(),
        user.email.clone(),
        user.email.to_uppercase(),
    ] {
        let body = json_body(app.login(&login, &user.password).await, StatusCode::OK).await;
        assert_session_shape(&body, &user);
        assert_eq!(body["user"]["id"], registered.user_id(), "login {login}");
    }
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let user = TestUser::generate();
    app.signed_up(&user).await;

    let response = app.login(&user.username, "not the password").await;

    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let unknown = app.login("nobody-here", "whatever password").await;
    assert_error(unknown, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn a_taken_username_or_email_is_a_conflict_whatever_the_case() {
    let app = spawn_app().await;
    let user = TestUser::generate();
    app.signed_up(&user).await;

    let mut same_name = TestUser::generate();
    same_name.username = user.username.clone();
    let response = app.register(&same_name).await;
    assert_error(response, StatusCode::CONFLICT, "username_taken").await;

    let mut same_email = TestUser::generate();
    same_email.email = user.email.to_uppercase();
    let response = app.register(&same_email).await;
    assert_error(response, StatusCode::CONFLICT, "email_taken").await;

    // Neither attempt created an account.
    let response = app.login(&same_email.username, &same_email.password).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn invalid_fields_are_all_reported_and_nothing_is_created() {
    let app = spawn_app().await;

    let response = app
        .post_json(
            "/api/auth/register",
            &json!({"username": "Bad Name!", "email": "not-an-email", "password": "short"}),
        )
        .await;

    let body = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields = body["error"]["fields"].as_object().unwrap();
    for field in ["username", "email", "password"] {
        assert!(
            fields[field].as_str().is_some_and(|why| !why.is_empty()),
            "{field} in {body}"
        );
    }
    let response = app.login("not-an-email", "short").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn answers_with_tokens_are_never_cached() {
    let app = spawn_app().await;
    let user = TestUser::generate();
    let registered = app.register(&user).await;
    let login = app.login(&user.username, &user.password).await;
    let refresh_token = json_body(
        app.login(&user.username, &user.password).await,
        StatusCode::OK,
    )
    .await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refreshed = app.refresh(&refresh_token).await;

    for (what, response) in [
        ("register", registered),
        ("login", login),
        ("refresh", refreshed),
    ] {
        assert_eq!(response.headers()["cache-control"], "no-store", "{what}");
        assert_eq!(response.headers()["pragma"], "no-cache", "{what}");
    }
}
