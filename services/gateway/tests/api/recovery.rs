//! Account recovery through the gateway: a forgotten password reset from the mailed link
//! (every device signed out), the same answer for any login, links that work once; the
//! mailed email confirmation, and a changed email confirmed again; the sessions a user
//! reviews and ends.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestUser, assert_error, json_body, spawn_app};

const NEW_PASSWORD: &str = "a much better passphrase";

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_mailed_link() {
    let app = spawn_app().await;
    let user = TestUser::named("ada");
    let before = app.signed_up(&user).await;

    let asked = app
        .post_json("/api/auth/password/forgot", &json!({"login": user.email}))
        .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let mail = app.mail().expect(&user.email, "Reset your password").await;
    let token = mail.token("reset-password");
    assert!(mail.text.contains("https://chat.test/#/reset-password/"));

    let reset = app
        .post_json(
            "/api/auth/password/reset",
            &json!({"token": token, "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);

    // Every device is signed out; only the new password signs in; the link is spent.
    assert_error(
        app.refresh(&before.refresh_token).await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
    assert_error(
        app.login(&user.username, &user.password).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    json_body(
        app.login(&user.username, NEW_PASSWORD).await,
        StatusCode::OK,
    )
    .await;
    let again = app
        .post_json(
            "/api/auth/password/reset",
            &json!({"token": token, "password": "yet another passphrase"}),
        )
        .await;
    assert_error(again, StatusCode::BAD_REQUEST, "invalid_link").await;
}

#[tokio::test]
async fn any_login_gets_the_same_answer_and_bad_input_a_clear_one() {
    let app = spawn_app().await;

    for login in ["nobody", "nobody@example.com"] {
        let asked = app
            .post_json("/api/auth/password/forgot", &json!({"login": login}))
            .await;
        assert_eq!(asked.status(), StatusCode::ACCEPTED);
        assert_eq!(asked.text().await.unwrap(), "");
    }
    let blank = app
        .post_json("/api/auth/password/forgot", &json!({"login": ""}))
        .await;
    assert_error(blank, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let short = app
        .post_json(
            "/api/auth/password/reset",
            &json!({"token": "x", "password": "short"}),
        )
        .await;
    let body = assert_error(short, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["error"]["fields"]["password"].is_string(), "{body}");
    let unknown = app
        .post_json(
            "/api/auth/password/reset",
            &json!({"token": "never-issued", "password": NEW_PASSWORD}),
        )
        .await;
    assert_error(unknown, StatusCode::BAD_REQUEST, "invalid_link").await;
    let extra = app
        .post_json(
            "/api/auth/password/forgot",
            &json!({"login": "ada", "admin": true}),
        )
        .await;
    assert_error(extra, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
}

#[tokio::test]
async fn the_mailed_confirmation_verifies_the_email() {
    let app = spawn_app().await;
    let user = TestUser::named("grace");
    let session = app.signed_up(&user).await;
    let me = json_body(
        app.get_as(&session.access_token, "/api/auth/me").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["email_verified"], false);

    let mail = app.mail().expect(&user.email, "Confirm your email").await;
    let verified = app
        .post_json(
            "/api/auth/email/verify",
            &json!({"token": mail.token("verify-email")}),
        )
        .await;
    let verified = json_body(verified, StatusCode::OK).await;

    assert_eq!(verified["email"], user.email.as_str());
    let me = json_body(
        app.get_as(&session.access_token, "/api/auth/me").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["email_verified"], true);
}

#[tokio::test]
async fn a_user_reviews_their_sessions_and_ends_one() {
    let app = spawn_app().await;
    let user = TestUser::named("ada");
    let laptop = app.signed_up(&user).await;
    let phone = json_body(
        app.login(&user.username, &user.password).await,
        StatusCode::OK,
    )
    .await;
    let phone_refresh = phone["refresh_token"].as_str().unwrap();

    let list = json_body(
        app.get_as(&laptop.access_token, "/api/auth/sessions").await,
        StatusCode::OK,
    )
    .await;
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{list}");
    let current: Vec<bool> = sessions
        .iter()
        .map(|s| s["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current.iter().filter(|c| **c).count(), 1);
    let other = sessions
        .iter()
        .find(|s| s["current"] == false)
        .expect("the phone's session");
    assert!(other["last_used_at"].is_string() && other["ip_address"].is_string());

    let ended = app
        .delete_as(
            &laptop.access_token,
            &format!("/api/auth/sessions/{}", other["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.refresh(phone_refresh).await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
    let list = json_body(
        app.get_as(&laptop.access_token, "/api/auth/sessions").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1);

    let bad = app
        .delete_as(&laptop.access_token, "/api/auth/sessions/not-a-session")
        .await;
    assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let everywhere = app
        .post_as(&laptop.access_token, "/api/auth/logout-all", &json!({}))
        .await;
    assert_eq!(everywhere.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.refresh(&laptop.refresh_token).await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
}

#[tokio::test]
async fn a_changed_email_is_confirmed_again_and_the_old_address_told() {
    let app = spawn_app().await;
    let user = TestUser::named("hedy");
    let other = TestUser::named("mary");
    let session = app.signed_up(&user).await;
    app.signed_up(&other).await;
    let change = |body: serde_json::Value| {
        let app = &app;
        let token = session.access_token.clone();
        async move {
            app.send_as(&token, Method::PUT, "/api/auth/me/email", Some(&body))
                .await
        }
    };
    // Not containing the old address (the mailbox matches recipients by substring).
    let new_email = user.email.replace("@example.com", ".moved@example.org");

    // Wrong password, someone else's address, no address at all: refused, nothing changed.
    let wrong = change(json!({"email": new_email, "password": "not the password"})).await;
    assert_error(wrong, StatusCode::FORBIDDEN, "wrong_password").await;
    let taken = change(json!({"email": other.email, "password": user.password})).await;
    assert_error(taken, StatusCode::CONFLICT, "email_taken").await;
    let bad = change(json!({"email": "nobody", "password": user.password})).await;
    assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    let changed = change(json!({"email": new_email, "password": user.password})).await;
    let me = json_body(changed, StatusCode::OK).await;
    assert_eq!(me["email"], new_email.as_str());
    assert_eq!(me["email_verified"], false);
    let told = app
        .mail()
        .expect(&user.email, "Your email address was changed")
        .await;
    assert!(told.text.contains(&new_email), "{}", told.text);

    // The link mailed to the new address confirms it; the old address's link does not.
    let first = app.mail().expect(&user.email, "Confirm your email").await;
    let stale = app
        .post_json(
            "/api/auth/email/verify",
            &json!({"token": first.token("verify-email")}),
        )
        .await;
    assert_error(stale, StatusCode::BAD_REQUEST, "invalid_link").await;
    let mail = app.mail().expect(&new_email, "Confirm your email").await;
    let verified = app
        .post_json(
            "/api/auth/email/verify",
            &json!({"token": mail.token("verify-email")}),
        )
        .await;
    assert_eq!(
        json_body(verified, StatusCode::OK).await["email"],
        new_email.as_str()
    );
    json_body(app.login(&new_email, &user.password).await, StatusCode::OK).await;
}
