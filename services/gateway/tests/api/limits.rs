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

#[tokio::test]
async fn each_user_has_a_rate_of_api_calls_shared_by_every_gateway() {
    let stack = chat_test_stack::Stack::spawn(
        crate::helpers::SUITE,
        chat_test_stack::StackOptions {
            history: None,
            gateway: crate::helpers::gateway_flags()
                .set("--rest-reads-per-second", 5)
                .set("--rest-writes-per-second", 2),
            gateways: 2,
            ..chat_test_stack::StackOptions::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let registered: serde_json::Value = http
        .post(format!("{}/api/auth/register", stack.gateways[0].url()))
        .json(&json!({"username": "limited", "email": "limited@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = registered["access_token"].as_str().unwrap().to_owned();
    let other: serde_json::Value = http
        .post(format!("{}/api/auth/register", stack.gateways[1].url()))
        .json(&json!({"username": "unbothered", "email": "unbothered@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // Reads alternate between the gateways: together they count against one rate.
    let mut limited = None;
    for n in 0..12 {
        let response = http
            .get(format!("{}/api/rooms/mine", stack.gateways[n % 2].url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("reads are limited per user across gateways");
    assert!(limited.headers().contains_key("retry-after"));
    let body = assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(body["error"]["retry_after_ms"].as_u64().unwrap() > 0);

    // Another user is not slowed down by this one.
    let theirs = http
        .get(format!("{}/api/rooms/mine", stack.gateways[0].url()))
        .bearer_auth(other["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), StatusCode::OK);
}
