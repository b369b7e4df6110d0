//! Getting back into an account by mail: a password reset end to end (the link read from
//! the mail a real SMTP server received), tokens that work once and expire, no account
//! enumeration; email verification; the sessions a user can review.

use std::time::Duration;

use chat_proto::v1::{
    ForgotPasswordRequest, GetUserRequest, ListSessionsRequest, LogoutRequest, RefreshRequest,
    ResetPasswordRequest, VerifyEmailRequest,
};
use tonic::Code;

use crate::helpers::{PASSWORD, TestApp, TestEnv, device, remote};
use crate::mailbox::Mailbox;

const NEW_PASSWORD: &str = "a much better passphrase";

async fn start(mailbox: &Mailbox, extra: &[&str]) -> TestApp {
    let mut flags = mailbox.flags();
    flags.extend(extra.iter().map(|flag| (*flag).to_owned()));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    TestEnv::new().start(&flags).await
}

async fn forgot(app: &TestApp, login: &str) {
    app.client()
        .forgot_password(ForgotPasswordRequest {
            login: login.to_owned(),
            device: Some(device("203.0.113.9")),
        })
        .await
        .expect("the same answer for every login");
}

async fn reset(app: &TestApp, token: &str, password: &str) -> Result<String, tonic::Status> {
    app.client()
        .reset_password(ResetPasswordRequest {
            token: token.to_owned(),
            password: password.to_owned(),
            device: Some(device("203.0.113.9")),
        })
        .await
        .map(|answer| answer.into_inner().user_id)
}

#[tokio::test]
async fn a_mailed_link_resets_the_password_once_and_ends_every_session() {
    let mailbox = Mailbox::start().await;
    let app = start(&mailbox, &[]).await;
    let ada = app.register("ada").await;

    forgot(&app, "ADA").await;
    let mail = mailbox
        .expect("ada@example.com", "Reset your password")
        .await;
    assert!(
        mail.text.contains("From: Chat <no-reply@chat.test>"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("https://chat.test/#/reset-password/"));
    let token = mail.token("reset-password");

    let user_id = reset(&app, &token, NEW_PASSWORD).await.expect("reset");
    assert_eq!(user_id, ada.user.as_ref().unwrap().id);
    let again = remote(reset(&app, &token, "yet another passphrase").await);
    assert_eq!(
        (again.code, again.reason.as_str()),
        (Code::FailedPrecondition, "invalid_link")
    );

    // The session from before the reset is over; the old password no longer works.
    let refresh = app
        .client()
        .refresh(RefreshRequest {
            refresh_token: ada.refresh_token.clone(),
            device: None,
        })
        .await;
    assert_eq!(remote(refresh).reason, "session_revoked");
    let old = app.login("ada", PASSWORD, "203.0.113.2").await.unwrap_err();
    assert_eq!(old.reason, "invalid_credentials");
    app.login("ada", NEW_PASSWORD, "203.0.113.2")
        .await
        .expect("the new password works");
}

#[tokio::test]
async fn only_the_newest_link_works_and_an_expired_one_is_refused() {
    let mailbox = Mailbox::start().await;
    let app = start(&mailbox, &["--password-reset-ttl", "2s"]).await;
    app.register("grace").await;

    forgot(&app, "grace@example.com").await;
    let first = mailbox
        .expect("grace@example.com", "Reset your password")
        .await;
    forgot(&app, "grace").await;
    let started = std::time::Instant::now();
    while mailbox.received("grace@example.com").len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the second reset mail"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = mailbox
        .expect("grace@example.com", "Reset your password")
        .await;
    assert_ne!(
        first.token("reset-password"),
        second.token("reset-password")
    );

    let replaced = remote(reset(&app, &first.token("reset-password"), NEW_PASSWORD).await);
    assert_eq!(replaced.reason, "invalid_link");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let expired = remote(reset(&app, &second.token("reset-password"), NEW_PASSWORD).await);
    assert_eq!(expired.reason, "invalid_link");
}

#[tokio::test]
async fn an_unknown_login_gets_the_same_answer_and_no_mail() {
    let mailbox = Mailbox::start().await;
    let app = start(&mailbox, &[]).await;
    app.register("known").await;

    forgot(&app, "nobody").await;
    forgot(&app, "nobody@example.com").await;
    forgot(&app, "known").await;
    mailbox
        .expect("known@example.com", "Reset your password")
        .await;

    assert!(mailbox.received("nobody@example.com").is_empty());
    let empty = remote(
        app.client()
            .forgot_password(ForgotPasswordRequest {
                login: "  ".to_owned(),
                device: None,
            })
            .await,
    );
    assert_eq!(empty.reason, "validation_failed");
    let weak = remote(reset(&app, "whatever", "short").await);
    assert_eq!(weak.reason, "validation_failed");
    let unknown = remote(reset(&app, "not-a-token-we-issued", NEW_PASSWORD).await);
    assert_eq!(unknown.reason, "invalid_link");
}

#[tokio::test]
async fn asking_for_resets_counts_against_the_address() {
    let mailbox = Mailbox::start().await;
    let app = start(&mailbox, &["--login-max-address-attempts", "3"]).await;
    for _ in 0..3 {
        forgot(&app, "someone").await;
    }
    let limited = remote(
        app.client()
            .forgot_password(ForgotPasswordRequest {
                login: "someone".to_owned(),
                device: Some(device("203.0.113.9")),
            })
            .await,
    );
    assert_eq!(limited.reason, "too_many_attempts");
    assert!(limited.retry_after.is_some());
}

#[tokio::test]
async fn a_new_account_verifies_its_email_by_the_mailed_link() {
    let mailbox = Mailbox::start().await;
    let app = start(&mailbox, &[]).await;
    let ada = app.register("ada").await;
    let id = ada.user.as_ref().unwrap().id.clone();
    let me = |app: &TestApp| {
        let mut client = app.client();
        let id = id.clone();
        async move {
            client
                .get_user(GetUserRequest {
                    user_id: id,
                    include_email: true,
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    assert!(!me(&app).await.email_verified);

    let mail = mailbox
        .expect("ada@example.com", "Confirm your email")
        .await;
    let verified = app
        .client()
        .verify_email(VerifyEmailRequest {
            token: mail.token("verify-email"),
        })
        .await
        .expect("verified")
        .into_inner();

    assert_eq!(
        (verified.user_id.as_str(), verified.email.as_str()),
        (id.as_str(), "ada@example.com")
    );
    assert!(me(&app).await.email_verified);
    let again = app
        .client()
        .verify_email(VerifyEmailRequest {
            token: mail.token("verify-email"),
        })
        .await;
    assert_eq!(remote(again).reason, "invalid_link");
}

#[tokio::test]
async fn a_user_sees_their_open_sessions_and_not_the_ended_ones() {
    let mailbox = Mailbox::start().await;
    let app = start(&mailbox, &[]).await;
    let first = app.register("ada").await;
    let second = app.login("ada", PASSWORD, "198.51.100.7").await.unwrap();
    let user_id = first.user.as_ref().unwrap().id.clone();
    let list = || {
        let mut client = app.client();
        let user_id = user_id.clone();
        async move {
            client
                .list_sessions(ListSessionsRequest { user_id })
                .await
                .unwrap()
                .into_inner()
                .sessions
        }
    };

    let open = list().await;
    assert_eq!(open.len(), 2);
    assert_eq!(open[0].id, second.session_id, "most recently used first");
    assert_eq!(open[0].ip_address, "198.51.100.7");
    assert_eq!(open[0].user_agent, "chat-auth-tests/1");

    app.client()
        .logout(LogoutRequest {
            user_id: user_id.clone(),
            session_id: first.session_id.clone(),
            all_sessions: false,
        })
        .await
        .unwrap();
    let open = list().await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, second.session_id);
}
