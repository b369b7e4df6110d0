use chat_proto::v1::LoginRequest;
use tonic::Code;

use crate::helpers::{PASSWORD, device, fields, remote, spawn_app};

#[tokio::test]
async fn users_log_in_by_username_or_email_in_any_case() {
    let app = spawn_app().await;
    let registered = app.register("alice").await.user.unwrap();

    for login in ["alice", "ALICE", "alice@example.com", "Alice@EXAMPLE.com"] {
        let response = app
            .login(login, PASSWORD, "203.0.113.1")
            .await
            .unwrap_or_else(|err| panic!("{login}: {err:?}"));
        let user = response.user.unwrap();
        assert_eq!(user.id, registered.id, "{login}");
        assert!(!response.access_token.is_empty());
    }
}

#[tokio::test]
async fn each_login_starts_its_own_session() {
    let app = spawn_app().await;
    let registered = app.register("alice").await;

    let first = app.login("alice", PASSWORD, "203.0.113.1").await.unwrap();
    let second = app.login("alice", PASSWORD, "203.0.113.1").await.unwrap();

    assert_ne!(first.session_id, registered.session_id);
    assert_ne!(first.session_id, second.session_id);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_look_the_same() {
    let app = spawn_app().await;
    app.register("alice").await;

    let wrong_password = app
        .login("alice", "not the password", "203.0.113.1")
        .await
        .unwrap_err();
    let unknown_user = app
        .login("nobody", "not the password", "203.0.113.1")
        .await
        .unwrap_err();
    let unknown_email = app
        .login("nobody@example.com", PASSWORD, "203.0.113.1")
        .await
        .unwrap_err();

    assert_eq!(wrong_password.code, Code::Unauthenticated);
    assert_eq!(wrong_password.reason, "invalid_credentials");
    assert_eq!(unknown_user, wrong_password);
    assert_eq!(unknown_email, wrong_password);
}

#[tokio::test]
async fn an_empty_login_is_invalid() {
    let app = spawn_app().await;

    let error = remote(
        app.client()
            .login(LoginRequest {
                login: "  ".into(),
                password: String::new(),
                device: Some(device("203.0.113.1")),
            })
            .await,
    );

    assert_eq!(error.code, Code::InvalidArgument);
    assert_eq!(fields(&error), ["login", "password"]);
}
