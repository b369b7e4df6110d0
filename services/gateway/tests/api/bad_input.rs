//! Bad input gets a typed JSON error with a stable code, and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{BODY_LIMIT, TestApp, TestUser, assert_error, spawn_app};

/// Posts raw bytes to the register route with the given content type.
async fn post_register_raw(
    app: &TestApp,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = app.request(Method::POST, "/api/auth/register").body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.unwrap()
}

/// No account was created by whatever was sent for `user`.
async fn assert_not_registered(app: &TestApp, user: &TestUser) {
    let response = app.login(&user.username, &user.password).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    let user = TestUser::generate();

    for body in [
        format!(r#"{{"username": "{}", "email": "#, user.username),
        "not json".to_owned(),
        String::new(),
        format!("{} trailing", user.registration()),
    ] {
        let response = post_register_raw(&app, Some("application/json"), body.clone()).await;
        assert_error(response, StatusCode::BAD_REQUEST, "malformed_json").await;
    }
    assert_not_registered(&app, &user).await;
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_422_naming_the_field() {
    let app = spawn_app().await;
    let user = TestUser::generate();
    let wrong_type = {
        let mut body = user.registration();
        body["password"] = json!(12345678);
        body
    };
    let missing = json!({"username": user.username, "password": user.password});
    let unknown = {
        let mut body = user.registration();
        body["is_admin"] = json!(true);
        body
    };
    let not_an_object = json!([user.username, user.email, user.password]);

    for (body, field) in [
        (wrong_type, Some("password")),
        (missing, Some("email")),
        (unknown, Some("is_admin")),
        (not_an_object, None),
    ] {
        let response = app.post_json("/api/auth/register", &body).await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
        if let Some(field) = field {
            assert!(
                error["error"]["fields"][field].is_string(),
                "{field} named in {error}"
            );
        }
    }
    assert_not_registered(&app, &user).await;
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = spawn_app().await;
    let user = TestUser::generate();
    let mut body = user.registration();
    body["display_name"] = json!("x".repeat(BODY_LIMIT));

    let response = app.post_json("/api/auth/register", &body).await;

    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_not_registered(&app, &user).await;
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_415() {
    let app = spawn_app().await;
    let user = TestUser::generate();
    let body = user.registration().to_string();

    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let response = post_register_raw(&app, content_type, body.clone()).await;
        assert_error(
            response,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
    assert_not_registered(&app, &user).await;
}

#[tokio::test]
async fn bad_bodies_on_authenticated_routes_are_refused_the_same_way() {
    let app = spawn_app().await;
    let session = app.signed_up(&TestUser::generate()).await;
    let patch = |body: &'static str| {
        app.request(Method::PATCH, "/api/auth/me")
            .bearer_auth(&session.access_token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let response = patch(r#"{"bio": "#).await.unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "malformed_json").await;
    let response = patch(r#"{"bio": 5}"#).await.unwrap();
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let response = patch(r#"{"email": "new@example.com"}"#).await.unwrap();
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = spawn_app().await;

    let response = app.get("/api/nothing-here").await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;

    let response = app.get("/api/auth/login").await;
    assert_eq!(response.headers()["allow"], "POST");
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;

    let response = app
        .request(Method::DELETE, "/api/auth/me")
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn a_nul_character_is_422_in_any_body_or_query() {
    let app = spawn_app().await;
    let session = app.new_user("nul").await;

    let login = app
        .post_json(
            "/api/auth/login",
            &json!({"login": "a\u{0}b", "password": "whatever it is"}),
        )
        .await;
    let body = assert_error(login, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["error"]["fields"]["login"].is_string(), "{body}");
    for path in ["/api/users?search=a%00b", "/api/rooms?search=a%00b"] {
        let response = app.get_as(&session.access_token, path).await;
        let body = assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(
            body["error"]["fields"]["search"].is_string(),
            "{path}: {body}"
        );
    }
    let nested = app
        .post_as(
            &session.access_token,
            "/api/rooms",
            &json!({"name": "fine", "kind": "public", "description": "x\u{0}"}),
        )
        .await;
    let body = assert_error(
        nested,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(body["error"]["fields"]["description"].is_string(), "{body}");
    // A backslash followed by "u0000" is text like any other.
    let literal = app
        .post_as(
            &session.access_token,
            "/api/rooms",
            &json!({"name": "escapes", "kind": "public", "description": "\\u0000 is NUL"}),
        )
        .await;
    assert_eq!(literal.status(), StatusCode::CREATED);
}
