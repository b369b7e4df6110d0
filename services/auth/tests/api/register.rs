use chat_proto::v1::RegisterRequest;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestEnv, fields, registration, remote, spawn_app};

#[tokio::test]
async fn registering_returns_the_account_and_a_session() {
    let app = spawn_app().await;

    let response = app
        .client()
        .register(RegisterRequest {
            display_name: Some("  Alice Liddell ".into()),
            ..registration("alice")
        })
        .await
        .unwrap()
        .into_inner();

    let user = response.user.expect("the new user");
    assert_eq!(user.username, "alice");
    assert_eq!(user.email.as_deref(), Some("alice@example.com"));
    assert_eq!(user.display_name.as_deref(), Some("Alice Liddell"));
    assert!(user.created_at.is_some());
    assert_eq!(response.expires_in, 900);
    assert_eq!(response.refresh_token.len(), 43);

    let claims = app
        .verifier()
        .await
        .verify(&response.access_token)
        .await
        .unwrap();
    assert_eq!(claims.sub, user.id);
    assert_eq!(claims.sid, response.session_id);
}

#[tokio::test]
async fn a_taken_username_is_refused() {
    let app = spawn_app().await;
    app.register("alice").await;

    let error = remote(
        app.client()
            .register(RegisterRequest {
                email: "someone.else@example.com".into(),
                ..registration("alice")
            })
            .await,
    );

    assert_eq!(error.code, Code::AlreadyExists);
    assert_eq!(error.reason, "username_taken");
}

#[tokio::test]
async fn a_username_in_another_case_is_taken() {
    let app = spawn_app().await;
    app.register("ada").await;

    for username in ["Ada", "ADA"] {
        let error = remote(
            app.client()
                .register(RegisterRequest {
                    email: format!("{username}.other@example.com"),
                    ..registration(username)
                })
                .await,
        );

        assert_eq!(error.code, Code::AlreadyExists, "{username}");
        assert_eq!(error.reason, "username_taken", "{username}");
    }
}

#[tokio::test]
async fn a_username_is_stored_lowercase_and_shown_as_typed() {
    let env = TestEnv::new();
    let app = env.start(&[]).await;

    let registered = app.register("Grace").await.user.unwrap();
    assert_eq!(registered.username, "grace");
    assert_eq!(registered.display_name.as_deref(), Some("Grace"));
    let stored: (String, Option<String>) =
        sqlx::query_as("SELECT username, display_name FROM users WHERE id = $1")
            .bind(Uuid::parse_str(&registered.id).unwrap())
            .fetch_one(&env.database().await)
            .await
            .unwrap();
    assert_eq!(stored, ("grace".to_owned(), Some("Grace".to_owned())));

    for login in ["GRACE", "grace", "Grace"] {
        let user = app
            .login(login, PASSWORD, "203.0.113.1")
            .await
            .unwrap_or_else(|err| panic!("{login}: {err:?}"))
            .user
            .unwrap();
        assert_eq!(user.id, registered.id, "{login}");
        assert_eq!(user.username, "grace", "{login}");
        assert_eq!(user.display_name.as_deref(), Some("Grace"), "{login}");
    }
}

#[tokio::test]
async fn a_display_name_given_is_kept_and_none_is_made_up_for_a_lowercase_name() {
    let app = spawn_app().await;

    let named = app
        .client()
        .register(RegisterRequest {
            display_name: Some("Ada Lovelace".into()),
            ..registration("AdaL")
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    let plain = app.register("grace").await.user.unwrap();

    assert_eq!(named.username, "adal");
    assert_eq!(named.display_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(plain.username, "grace");
    assert_eq!(plain.display_name, None);
}

#[tokio::test]
async fn a_taken_email_is_refused_whatever_its_case() {
    let app = spawn_app().await;
    app.register("alice").await;

    let error = remote(
        app.client()
            .register(RegisterRequest {
                email: "ALICE@Example.COM".into(),
                ..registration("alice2")
            })
            .await,
    );

    assert_eq!(error.code, Code::AlreadyExists);
    assert_eq!(error.reason, "email_taken");
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    let app = spawn_app().await;

    let error = remote(
        app.client()
            .register(RegisterRequest {
                username: "Al".into(),
                email: "not-an-email".into(),
                password: "short".into(),
                display_name: Some("x".repeat(65)),
                device: None,
            })
            .await,
    );

    assert_eq!(error.code, Code::InvalidArgument);
    assert_eq!(error.reason, "validation_failed");
    assert_eq!(
        fields(&error),
        ["username", "email", "password", "display_name"]
    );
}

#[tokio::test]
async fn each_rule_is_enforced() {
    let app = spawn_app().await;
    let cases: Vec<(&str, RegisterRequest)> = vec![
        (
            "username",
            RegisterRequest {
                username: "ab".into(),
                ..registration("x")
            },
        ),
        (
            "username",
            RegisterRequest {
                username: "a".repeat(33),
                ..registration("x")
            },
        ),
        (
            "username",
            RegisterRequest {
                username: "Ålice".into(),
                ..registration("x")
            },
        ),
        (
            "username",
            RegisterRequest {
                username: "al ice".into(),
                ..registration("x")
            },
        ),
        (
            "username",
            RegisterRequest {
                username: "al!ce".into(),
                ..registration("x")
            },
        ),
        (
            "email",
            RegisterRequest {
                email: "".into(),
                ..registration("valid")
            },
        ),
        (
            "email",
            RegisterRequest {
                email: "a@b".into(),
                ..registration("valid")
            },
        ),
        (
            "email",
            RegisterRequest {
                email: "a b@c.com".into(),
                ..registration("valid")
            },
        ),
        (
            "email",
            RegisterRequest {
                email: "a@b@c.com".into(),
                ..registration("valid")
            },
        ),
        (
            "email",
            RegisterRequest {
                email: format!("{}@example.com", "a".repeat(250)),
                ..registration("valid")
            },
        ),
        (
            "password",
            RegisterRequest {
                password: "1234567".into(),
                ..registration("valid")
            },
        ),
        (
            "password",
            RegisterRequest {
                password: "p".repeat(129),
                ..registration("valid")
            },
        ),
        (
            "display_name",
            RegisterRequest {
                display_name: Some("   ".into()),
                ..registration("valid")
            },
        ),
        (
            "display_name",
            RegisterRequest {
                display_name: Some("tab\there".into()),
                ..registration("valid")
            },
        ),
    ];

    for (field, request) in cases {
        let error = remote(app.client().register(request.clone()).await);
        assert_eq!(error.reason, "validation_failed", "{request:?}");
        assert_eq!(fields(&error), [field], "{request:?}");
    }
}

#[tokio::test]
async fn lengths_count_characters_not_bytes() {
    let app = spawn_app().await;

    // Eight characters, sixteen bytes; 64 two-byte characters as display name.
    let response = app
        .client()
        .register(RegisterRequest {
            password: "ääääääää".into(),
            display_name: Some("é".repeat(64)),
            ..registration("umlaut")
        })
        .await;

    assert!(response.is_ok(), "{response:?}");
    let login = app.login("umlaut", "ääääääää", "203.0.113.9").await;
    assert!(login.is_ok());
    assert!(app.login("umlaut", PASSWORD, "203.0.113.9").await.is_err());
}

#[tokio::test]
async fn concurrent_registrations_of_one_name_have_one_winner() {
    let app = spawn_app().await;
    let attempts = (0..3).map(|n| {
        let mut client = app.client();
        async move {
            client
                .register(RegisterRequest {
                    email: format!("alice{n}@example.com"),
                    ..registration("alice")
                })
                .await
        }
    });

    let results = futures::future::join_all(attempts).await;

    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for result in results.into_iter().filter(Result::is_err) {
        assert_eq!(remote(result).reason, "username_taken");
    }
}

#[tokio::test]
async fn new_accounts_per_address_are_limited_across_replicas() {
    let env = crate::helpers::TestEnv::new();
    let replicas = [
        env.start(&["--register-max-per-address", "3"]).await,
        env.start(&["--register-max-per-address", "3"]).await,
    ];
    for (i, name) in ["one", "two", "three"].iter().enumerate() {
        replicas[i % 2].register(name).await;
    }

    let refused = replicas[0]
        .client()
        .register(crate::helpers::registration("four"))
        .await;
    let error = crate::helpers::remote(refused);
    assert_eq!(error.reason, "too_many_attempts");
    assert!(error.retry_after.is_some());
    // Another address is not limited by this one's registrations.
    let mut elsewhere = crate::helpers::registration("five");
    elsewhere.device = Some(crate::helpers::device("198.51.100.200"));
    replicas[1]
        .client()
        .register(elsewhere)
        .await
        .expect("another address registers");
}
