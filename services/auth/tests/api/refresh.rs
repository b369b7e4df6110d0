use chat_proto::v1::{AuthResponse, LogoutRequest, RefreshRequest};
use chat_runtime::status::RemoteError;
use tonic::Code;

use crate::helpers::{PASSWORD, TestApp, TestEnv, device, spawn_app};

async fn refresh(app: &TestApp, token: &str) -> Result<AuthResponse, RemoteError> {
    app.client()
        .refresh(RefreshRequest {
            refresh_token: token.into(),
            device: Some(device("203.0.113.1")),
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| RemoteError::from(&status))
}

async fn logout(app: &TestApp, user_id: &str, session_id: &str) {
    end_sessions(app, user_id, session_id, false).await;
}

async fn end_sessions(app: &TestApp, user_id: &str, session_id: &str, all_sessions: bool) {
    app.client()
        .logout(LogoutRequest {
            user_id: user_id.into(),
            session_id: session_id.into(),
            all_sessions,
        })
        .await
        .expect("logout succeeds");
}

fn assert_refused(result: Result<AuthResponse, RemoteError>, reason: &str) {
    let error = result.expect_err("the refresh should be refused");
    assert_eq!(error.code, Code::Unauthenticated);
    assert_eq!(error.reason, reason);
}

#[tokio::test]
async fn a_refresh_token_is_exchanged_for_a_new_pair_in_the_same_session() {
    let app = spawn_app().await;
    let registered = app.register("alice").await;

    let refreshed = refresh(&app, &registered.refresh_token).await.unwrap();

    assert_eq!(refreshed.session_id, registered.session_id);
    assert_ne!(refreshed.refresh_token, registered.refresh_token);
    assert_ne!(refreshed.access_token, registered.access_token);
    assert_eq!(refreshed.user.unwrap().id, registered.user.unwrap().id);
    let claims = app
        .verifier()
        .await
        .verify(&refreshed.access_token)
        .await
        .unwrap();
    assert_eq!(claims.sid, registered.session_id);
    // The chain goes on.
    assert!(refresh(&app, &refreshed.refresh_token).await.is_ok());
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_the_whole_session() {
    let app = spawn_app().await;
    let registered = app.register("alice").await;
    let refreshed = refresh(&app, &registered.refresh_token).await.unwrap();

    let reused = refresh(&app, &registered.refresh_token).await;

    assert_refused(reused, "refresh_token_reused");
    // The newer token of the family is dead too.
    assert_refused(
        refresh(&app, &refreshed.refresh_token).await,
        "session_revoked",
    );
}

#[tokio::test]
async fn reuse_revokes_only_its_own_session() {
    let app = spawn_app().await;
    let registered = app.register("alice").await;
    let other_session = app
        .login("alice", crate::helpers::PASSWORD, "203.0.113.1")
        .await
        .unwrap();
    refresh(&app, &registered.refresh_token).await.unwrap();

    assert_refused(
        refresh(&app, &registered.refresh_token).await,
        "refresh_token_reused",
    );

    assert!(refresh(&app, &other_session.refresh_token).await.is_ok());
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_have_exactly_one_winner() {
    let app = spawn_app().await;
    let registered = app.register("alice").await;

    let attempts = (0..4).map(|_| refresh(&app, &registered.refresh_token));
    let results = futures::future::join_all(attempts).await;

    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    for error in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(error.code, Code::Unauthenticated);
        assert!(
            ["refresh_token_reused", "session_revoked"].contains(&error.reason.as_str()),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn unknown_and_malformed_tokens_are_invalid() {
    let app = spawn_app().await;

    for token in ["", "not-a-token", &"x".repeat(43), &"y".repeat(10_000)] {
        assert_refused(refresh(&app, token).await, "invalid_refresh_token");
    }
}

#[tokio::test]
async fn an_expired_refresh_token_is_invalid() {
    let env = TestEnv::new();
    let app = env.start(&[]).await;
    let registered = app.register("alice").await;
    let database = env.database().await;
    sqlx::query("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'")
        .execute(&database)
        .await
        .unwrap();

    assert_refused(
        refresh(&app, &registered.refresh_token).await,
        "invalid_refresh_token",
    );
}

#[tokio::test]
async fn logout_ends_the_session_and_can_be_repeated() {
    let app = spawn_app().await;
    let registered = app.register("alice").await;
    let user_id = registered.user.as_ref().unwrap().id.clone();

    logout(&app, &user_id, &registered.session_id).await;
    logout(&app, &user_id, &registered.session_id).await;

    assert_refused(
        refresh(&app, &registered.refresh_token).await,
        "session_revoked",
    );
}

#[tokio::test]
async fn logging_out_everywhere_ends_every_session_of_the_user_only() {
    let app = spawn_app().await;
    let registered = app.register("alice").await;
    let user_id = registered.user.as_ref().unwrap().id.clone();
    let other_device = app
        .login("alice", PASSWORD, "192.0.2.1")
        .await
        .expect("second login");
    let bob = app.register("bob").await;

    end_sessions(&app, &user_id, &registered.session_id, true).await;
    end_sessions(&app, &user_id, &registered.session_id, true).await;

    for token in [&registered.refresh_token, &other_device.refresh_token] {
        assert_refused(refresh(&app, token).await, "session_revoked");
    }
    assert!(refresh(&app, &bob.refresh_token).await.is_ok());
    // A new login after that works as ever.
    let again = app
        .login("alice", PASSWORD, "192.0.2.1")
        .await
        .expect("login after");
    assert!(refresh(&app, &again.refresh_token).await.is_ok());
}

#[tokio::test]
async fn a_session_says_how_long_its_refresh_token_lives() {
    let app = spawn_app().await;

    let registered = app.register("alice").await;

    assert_eq!(registered.refresh_expires_in, 30 * 24 * 3600);
    let refreshed = refresh(&app, &registered.refresh_token).await.unwrap();
    assert_eq!(refreshed.refresh_expires_in, registered.refresh_expires_in);
}

#[tokio::test]
async fn nobody_logs_out_someone_elses_session() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mallory = app.register("mallory").await;

    logout(&app, &mallory.user.unwrap().id, &alice.session_id).await;

    assert!(refresh(&app, &alice.refresh_token).await.is_ok());
}

#[tokio::test]
async fn logout_needs_valid_ids() {
    let app = spawn_app().await;

    let error = crate::helpers::remote(
        app.client()
            .logout(LogoutRequest {
                user_id: "nope".into(),
                session_id: String::new(),
                all_sessions: false,
            })
            .await,
    );

    assert_eq!(error.reason, "validation_failed");
    assert_eq!(crate::helpers::fields(&error), ["user_id", "session_id"]);
}
