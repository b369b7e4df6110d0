use chat_proto::v1::{
    GetUserRequest, GetUsersRequest, RegisterRequest, SearchUsersRequest, UpdateProfileRequest,
    User,
};
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{TestApp, fields, registration, remote, spawn_app};

async fn user_id(app: &TestApp, username: &str) -> String {
    app.register(username).await.user.unwrap().id
}

async fn search(app: &TestApp, prefix: &str, limit: u32) -> Vec<String> {
    app.client()
        .search_users(SearchUsersRequest {
            prefix: prefix.into(),
            limit,
        })
        .await
        .unwrap()
        .into_inner()
        .users
        .into_iter()
        .map(|user| user.username)
        .collect()
}

async fn update(app: &TestApp, request: UpdateProfileRequest) -> User {
    app.client()
        .update_profile(request)
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn a_user_is_found_by_id_with_the_email_only_on_request() {
    let app = spawn_app().await;
    let id = user_id(&app, "alice").await;

    let public = app
        .client()
        .get_user(GetUserRequest {
            user_id: id.clone(),
            include_email: false,
        })
        .await
        .unwrap()
        .into_inner();
    let own = app
        .client()
        .get_user(GetUserRequest {
            user_id: id.clone(),
            include_email: true,
        })
        .await
        .unwrap()
        .into_inner();

    assert_eq!(public.username, "alice");
    assert_eq!(public.email, None);
    assert_eq!(own.email.as_deref(), Some("alice@example.com"));
}

#[tokio::test]
async fn an_unknown_or_malformed_user_id_is_refused() {
    let app = spawn_app().await;

    let unknown = remote(
        app.client()
            .get_user(GetUserRequest {
                user_id: Uuid::new_v4().to_string(),
                include_email: false,
            })
            .await,
    );
    let malformed = remote(
        app.client()
            .get_user(GetUserRequest {
                user_id: "42".into(),
                include_email: false,
            })
            .await,
    );

    assert_eq!(unknown.code, Code::NotFound);
    assert_eq!(unknown.reason, "user_not_found");
    assert_eq!(malformed.reason, "validation_failed");
    assert_eq!(fields(&malformed), ["user_id"]);
}

#[tokio::test]
async fn users_are_fetched_in_batches_in_the_order_asked() {
    let app = spawn_app().await;
    let alice = user_id(&app, "alice").await;
    let bob = user_id(&app, "bob").await;

    let users = app
        .client()
        .get_users(GetUsersRequest {
            user_ids: vec![
                bob.clone(),
                Uuid::new_v4().to_string(),
                alice.clone(),
                bob.clone(),
            ],
            usernames: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .users;

    let ids: Vec<_> = users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, [bob.as_str(), alice.as_str()]);
    assert!(users.iter().all(|u| u.email.is_none()));

    // By username too, whatever the case, each user once.
    let by_name = app
        .client()
        .get_users(GetUsersRequest {
            user_ids: vec![alice.clone()],
            usernames: vec!["ALICE".into(), "Bob".into(), "nobody".into()],
        })
        .await
        .unwrap()
        .into_inner()
        .users;
    let ids: Vec<_> = by_name.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, [alice.as_str(), bob.as_str()]);
}

#[tokio::test]
async fn batches_are_bounded_and_checked() {
    let app = spawn_app().await;

    let too_many = remote(
        app.client()
            .get_users(GetUsersRequest {
                user_ids: (0..201).map(|_| Uuid::new_v4().to_string()).collect(),
                usernames: Vec::new(),
            })
            .await,
    );
    let malformed = remote(
        app.client()
            .get_users(GetUsersRequest {
                user_ids: vec![Uuid::new_v4().to_string(), "nope".into()],
                usernames: Vec::new(),
            })
            .await,
    );

    assert_eq!(too_many.reason, "validation_failed");
    assert_eq!(fields(&too_many), ["user_ids"]);
    assert_eq!(fields(&malformed), ["user_ids[1]"]);
    let full = app
        .client()
        .get_users(GetUsersRequest {
            user_ids: (0..200).map(|_| Uuid::new_v4().to_string()).collect(),
            usernames: Vec::new(),
        })
        .await;
    assert!(full.unwrap().into_inner().users.is_empty());
}

#[tokio::test]
async fn a_profile_changes_only_the_fields_sent_and_blank_clears() {
    let app = spawn_app().await;
    let id = user_id(&app, "alice").await;

    let set = update(
        &app,
        UpdateProfileRequest {
            user_id: id.clone(),
            display_name: Some("Alice".into()),
            avatar_url: Some("https://cdn.example.com/alice.png".into()),
            bio: Some("Down the rabbit hole.\nTwice.".into()),
            show_presence: None,
            send_read_receipts: None,
        },
    )
    .await;
    let untouched = update(
        &app,
        UpdateProfileRequest {
            user_id: id.clone(),
            display_name: None,
            avatar_url: None,
            bio: Some("Once.".into()),
            show_presence: None,
            send_read_receipts: None,
        },
    )
    .await;
    let cleared = update(
        &app,
        UpdateProfileRequest {
            user_id: id.clone(),
            display_name: Some(String::new()),
            avatar_url: Some(String::new()),
            bio: None,
            show_presence: None,
            send_read_receipts: None,
        },
    )
    .await;

    assert_eq!(set.display_name.as_deref(), Some("Alice"));
    assert_eq!(
        set.avatar_url.as_deref(),
        Some("https://cdn.example.com/alice.png")
    );
    assert_eq!(set.bio.as_deref(), Some("Down the rabbit hole.\nTwice."));
    assert_eq!(untouched.display_name.as_deref(), Some("Alice"));
    assert_eq!(untouched.bio.as_deref(), Some("Once."));
    assert_eq!(cleared.display_name, None);
    assert_eq!(cleared.avatar_url, None);
    assert_eq!(cleared.bio.as_deref(), Some("Once."));
    let stored = app
        .client()
        .get_user(GetUserRequest {
            user_id: id,
            include_email: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored, cleared);
}

#[tokio::test]
async fn invalid_profile_fields_are_all_reported_and_nothing_changes() {
    let app = spawn_app().await;
    let id = user_id(&app, "alice").await;

    let error = remote(
        app.client()
            .update_profile(UpdateProfileRequest {
                user_id: id.clone(),
                display_name: Some("d".repeat(65)),
                avatar_url: Some("ftp://example.com/a.png".into()),
                bio: Some("b".repeat(501)),
                show_presence: None,
                send_read_receipts: None,
            })
            .await,
    );

    assert_eq!(error.code, Code::InvalidArgument);
    assert_eq!(fields(&error), ["display_name", "avatar_url", "bio"]);
    let stored = app
        .client()
        .get_user(GetUserRequest {
            user_id: id,
            include_email: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (stored.display_name, stored.avatar_url, stored.bio),
        (None, None, None)
    );
}

#[tokio::test]
async fn updating_an_unknown_user_is_not_found() {
    let app = spawn_app().await;

    let error = remote(
        app.client()
            .update_profile(UpdateProfileRequest {
                user_id: Uuid::new_v4().to_string(),
                display_name: Some("Ghost".into()),
                avatar_url: None,
                bio: None,
                show_presence: None,
                send_read_receipts: None,
            })
            .await,
    );

    assert_eq!(error.reason, "user_not_found");
}

#[tokio::test]
async fn search_matches_username_or_display_name_prefixes_in_any_case() {
    let app = spawn_app().await;
    for username in ["alice", "alfred", "bob", "al_x", "alxy"] {
        app.register(username).await;
    }
    app.client()
        .register(RegisterRequest {
            display_name: Some("Älva Alison".into()),
            ..registration("zed")
        })
        .await
        .unwrap();

    assert_eq!(
        search(&app, "AL", 0).await,
        ["al_x", "alfred", "alice", "alxy"]
    );
    assert_eq!(search(&app, "ali", 0).await, ["alice"]);
    assert_eq!(search(&app, "äl", 0).await, ["zed"]);
    // `_` is a literal, not a wildcard.
    assert_eq!(search(&app, "al_", 0).await, ["al_x"]);
    assert_eq!(search(&app, "al", 2).await, ["al_x", "alfred"]);
    assert!(search(&app, "q", 0).await.is_empty());
}

#[tokio::test]
async fn search_results_are_capped() {
    let app = spawn_app().await;
    let app = &app;
    let registrations = (0..55).map(|n| async move { app.register(&format!("user{n:02}")).await });
    futures::future::join_all(registrations).await;

    assert_eq!(search(app, "user", 0).await.len(), 20);
    assert_eq!(search(app, "user", 500).await.len(), 50);
    let error = remote(
        app.client()
            .search_users(SearchUsersRequest {
                prefix: " ".into(),
                limit: 0,
            })
            .await,
    );
    assert_eq!(fields(&error), ["prefix"]);
}

#[tokio::test]
async fn presence_and_read_receipts_can_be_turned_off_and_last_seen_is_kept_latest_first() {
    let app = spawn_app().await;
    let id = user_id(&app, "alice").await;
    let other = user_id(&app, "bob").await;
    let fresh = app
        .client()
        .get_user(GetUserRequest {
            user_id: id.clone(),
            include_email: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(fresh.show_presence);
    assert!(fresh.send_read_receipts);
    assert_eq!(fresh.last_seen_at, None);

    let hidden = update(
        &app,
        UpdateProfileRequest {
            user_id: id.clone(),
            show_presence: Some(false),
            send_read_receipts: Some(false),
            ..UpdateProfileRequest::default()
        },
    )
    .await;
    assert!(!hidden.show_presence);
    assert!(!hidden.send_read_receipts);

    let at = |seconds| prost_types::Timestamp { seconds, nanos: 0 };
    let record = |seen: Vec<(String, i64)>| {
        let mut client = app.client();
        async move {
            client
                .record_last_seen(chat_proto::v1::RecordLastSeenRequest {
                    seen: seen
                        .into_iter()
                        .map(|(user_id, seconds)| chat_proto::v1::LastSeen {
                            user_id,
                            at: Some(at(seconds)),
                        })
                        .collect(),
                })
                .await
        }
    };
    record(vec![
        (id.clone(), 1_800_000_000),
        (other.clone(), 1_700_000_000),
    ])
    .await
    .unwrap();
    // An older time never replaces a newer one.
    record(vec![(id.clone(), 1_600_000_000)]).await.unwrap();
    let stored = app
        .client()
        .get_users(GetUsersRequest {
            user_ids: vec![id.clone(), other.clone()],
            usernames: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .users;
    let seen_of = |user: &str| {
        stored
            .iter()
            .find(|u| u.id == user)
            .and_then(|u| u.last_seen_at)
            .map(|t| t.seconds)
    };
    assert_eq!(seen_of(&id), Some(1_800_000_000));
    assert_eq!(seen_of(&other), Some(1_700_000_000));

    let refused = remote(record(vec![("nobody".into(), 1)]).await);
    assert_eq!(refused.code, Code::InvalidArgument);
}
