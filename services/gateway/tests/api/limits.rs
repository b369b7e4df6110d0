//! Login limits are enforced by auth; the gateway passes the 429 on with `Retry-After`
//! and tells auth the real client address, also behind a trusted proxy.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{AuthOptions, TestApp, TestUser, assert_error, spawn_app_with};

async fn login_from(app: &TestApp, forwarded_for: &str, login: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/auth/login")
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"login": login, "password": "wrong password"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn too_many_failed_logins_lock_the_account_for_a_while() {
    let app = spawn_app_with(AuthOptions {
        max_account_failures: 3,
        ..AuthOptions::default()
    })
    .await;
    let user = TestUser::generate();
    app.signed_up(&user).await;
    for _ in 0..3 {
        let response = app.login(&user.username, "wrong password").await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }

    // Even the right password waits now.
    let response = app.login(&user.username, &user.password).await;

    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After is whole seconds");
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}

#[tokio::test]
async fn attempts_are_counted_per_forwarded_client_address() {
    let app = spawn_app_with(AuthOptions {
        max_address_attempts: 3,
        ..AuthOptions::default()
    })
    .await;
    // The gateway's peer is loopback, a trusted proxy by default, so the forwarded
    // address is the client; the forged leftmost entry is ignored.
    let client = "6.6.6.6, 198.51.100.7";
    for attempt in 0..3 {
        let response = login_from(&app, client, &format!("nobody{attempt}")).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }

    let limited = login_from(&app, client, "nobody-else").await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;

    let neighbour = login_from(&app, "6.6.6.6, 198.51.100.8", "nobody-else").await;
    assert_error(neighbour, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}
