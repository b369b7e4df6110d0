//! Rooms through REST: creating, reading, listing, editing, deleting, joining and leaving,
//! who may do which, and what a non-member learns about a private room.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Actor, TestApp, assert_error, assert_outcome, json_body, spawn_app};

/// The ids of a page of rooms, and its next cursor.
fn page_of(body: &Value) -> (Vec<String>, Option<String>) {
    let ids = body["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .map(|room| room["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, body["next_cursor"].as_str().map(str::to_owned))
}

async fn room_as(app: &TestApp, token: &str, room: &str) -> Value {
    json_body(
        app.get_as(token, &format!("/api/rooms/{room}")).await,
        StatusCode::OK,
    )
    .await
}

#[tokio::test]
async fn a_created_room_is_owned_by_its_creator() {
    let app = spawn_app().await;
    let alice = app.new_user("alice").await;

    let response = app
        .post_as(
            &alice.access_token,
            "/api/rooms",
            &json!({"name": "  General  ", "description": "Talk", "kind": "public"}),
        )
        .await;

    let room = json_body(response, StatusCode::CREATED).await;
    assert!(Uuid::parse_str(room["id"].as_str().unwrap()).is_ok());
    assert_eq!(room["kind"], "public");
    assert!(room.get("type").is_none(), "one name for the kind: {room}");
    assert_eq!(room["name"], "General");
    assert_eq!(room["description"], "Talk");
    assert_eq!(room["topic"], Value::Null);
    assert_eq!(room["owner_id"], alice.user_id());
    assert_eq!(room["member_count"], 1);
    assert_eq!(room["my_role"], "owner");
    assert!(room.get("direct_user_ids").is_none());
    assert!(
        time::OffsetDateTime::parse(
            room["created_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    let fetched = room_as(&app, &alice.access_token, room["id"].as_str().unwrap()).await;
    assert_eq!(fetched, room);
}

#[tokio::test]
async fn a_room_created_with_the_old_type_field_still_works() {
    let app = spawn_app().await;
    let alice = app.new_user("alice").await;

    let room = app
        .created_room(
            &alice.access_token,
            &json!({"name": "Old client", "type": "private"}),
        )
        .await;

    assert_eq!(room["kind"], "private");
}

#[tokio::test]
async fn anyone_sees_and_joins_a_public_room_and_leaves_it() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let room = app
        .created_room(
            cast.token(Actor::Owner),
            &json!({"name": "Lobby", "kind": "public"}),
        )
        .await;
    let id = room["id"].as_str().unwrap();
    let outsider = cast.token(Actor::Outsider);

    let seen = room_as(&app, outsider, id).await;
    assert_eq!(seen["my_role"], Value::Null);
    assert_eq!(seen["member_count"], 1);

    let joined = json_body(
        app.post_as(outsider, &format!("/api/rooms/{id}/join"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(joined["my_role"], "member");
    assert_eq!(joined["member_count"], 2);
    let again = json_body(
        app.post_as(outsider, &format!("/api/rooms/{id}/join"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["member_count"], 2, "joining twice changes nothing");
    let (mine, _) = page_of(
        &json_body(
            app.get_as(outsider, "/api/rooms/mine").await,
            StatusCode::OK,
        )
        .await,
    );
    assert_eq!(mine, vec![id.to_owned()]);

    let left = app
        .delete_as(outsider, &format!("/api/rooms/{id}/leave"))
        .await;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
    assert_eq!(room_as(&app, outsider, id).await["member_count"], 1);
    let (mine, _) = page_of(
        &json_body(
            app.get_as(outsider, "/api/rooms/mine").await,
            StatusCode::OK,
        )
        .await,
    );
    assert!(mine.is_empty());
}

#[tokio::test]
async fn the_owner_leaves_only_after_handing_the_room_on_unless_alone() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let room = app.cast_room(&cast, "public").await;
    let owner = cast.token(Actor::Owner);

    let refused = app
        .delete_as(owner, &format!("/api/rooms/{room}/leave"))
        .await;
    assert_error(refused, StatusCode::CONFLICT, "owner_must_transfer").await;
    assert_eq!(room_as(&app, owner, &room).await["my_role"], "owner");

    let alone = app
        .created_room(owner, &json!({"name": "Solo", "kind": "private"}))
        .await;
    let alone = alone["id"].as_str().unwrap();
    let left = app
        .delete_as(owner, &format!("/api/rooms/{alone}/leave"))
        .await;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.get_as(owner, &format!("/api/rooms/{alone}")).await,
        StatusCode::NOT_FOUND,
        "room_not_found",
    )
    .await;
}

#[tokio::test]
async fn admins_and_the_owner_edit_a_room_and_nobody_else() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let public = app.cast_room(&cast, "public").await;
    let private = app.cast_room(&cast, "private").await;
    let cases = [
        (&public, Actor::Owner, StatusCode::OK, None),
        (&public, Actor::Admin, StatusCode::OK, None),
        (
            &public,
            Actor::Member,
            StatusCode::FORBIDDEN,
            Some("forbidden"),
        ),
        (
            &public,
            Actor::Outsider,
            StatusCode::FORBIDDEN,
            Some("forbidden"),
        ),
        (&private, Actor::Owner, StatusCode::OK, None),
        (&private, Actor::Admin, StatusCode::OK, None),
        (
            &private,
            Actor::Member,
            StatusCode::FORBIDDEN,
            Some("forbidden"),
        ),
        (
            &private,
            Actor::Outsider,
            StatusCode::NOT_FOUND,
            Some("room_not_found"),
        ),
    ];

    for (room, actor, status, code) in cases {
        let name = format!("renamed by {actor:?}");
        let before = room_as(&app, cast.token(Actor::Owner), room).await;
        let response = app
            .send_as(
                cast.token(actor),
                Method::PATCH,
                &format!("/api/rooms/{room}"),
                Some(&json!({"name": name, "topic": "new topic"})),
            )
            .await;
        let case = format!("{actor:?} edits {room}");
        assert_outcome(response, status, code, &case).await;

        let after = room_as(&app, cast.token(Actor::Owner), room).await;
        if code.is_none() {
            assert_eq!(after["name"], name.as_str(), "{case}");
            assert_eq!(after["topic"], "new topic", "{case}");
        } else {
            assert_eq!(after["name"], before["name"], "{case}: nothing changed");
        }
    }
}

#[tokio::test]
async fn an_edit_changes_only_the_fields_it_names_and_empty_text_clears() {
    let app = spawn_app().await;
    let alice = app.new_user("alice").await;
    let token = &alice.access_token;
    let room = app
        .created_room(
            token,
            &json!({"name": "Book club", "description": "Books", "topic": "Dune", "kind": "public"}),
        )
        .await;
    let id = room["id"].as_str().unwrap();
    let patch = |body: Value| {
        let path = format!("/api/rooms/{id}");
        let app = &app;
        async move { app.send_as(token, Method::PATCH, &path, Some(&body)).await }
    };

    let edited = json_body(patch(json!({"topic": "Emma"})).await, StatusCode::OK).await;
    assert_eq!(
        (&edited["name"], &edited["description"], &edited["topic"]),
        (&json!("Book club"), &json!("Books"), &json!("Emma"))
    );
    let cleared = json_body(
        patch(json!({"description": "", "name": null})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(cleared["name"], "Book club");
    let unchanged = json_body(patch(json!({})).await, StatusCode::OK).await;
    assert_eq!(unchanged, cleared);
}

#[tokio::test]
async fn only_the_owner_deletes_a_room() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let cases = [
        (
            "public",
            Actor::Admin,
            StatusCode::FORBIDDEN,
            Some("forbidden"),
        ),
        (
            "public",
            Actor::Member,
            StatusCode::FORBIDDEN,
            Some("forbidden"),
        ),
        (
            "public",
            Actor::Outsider,
            StatusCode::FORBIDDEN,
            Some("forbidden"),
        ),
        (
            "private",
            Actor::Admin,
            StatusCode::FORBIDDEN,
            Some("forbidden"),
        ),
        (
            "private",
            Actor::Member,
            StatusCode::FORBIDDEN,
            Some("forbidden"),
        ),
        (
            "private",
            Actor::Outsider,
            StatusCode::NOT_FOUND,
            Some("room_not_found"),
        ),
        ("public", Actor::Owner, StatusCode::NO_CONTENT, None),
        ("private", Actor::Owner, StatusCode::NO_CONTENT, None),
    ];

    for (kind, actor, status, code) in cases {
        let room = app.cast_room(&cast, kind).await;
        let case = format!("{actor:?} deletes a {kind} room");

        let response = app
            .delete_as(cast.token(actor), &format!("/api/rooms/{room}"))
            .await;

        assert_outcome(response, status, code, &case).await;
        let after = app
            .get_as(cast.token(Actor::Member), &format!("/api/rooms/{room}"))
            .await;
        if code.is_none() {
            assert_error(after, StatusCode::NOT_FOUND, "room_not_found").await;
        } else {
            assert_eq!(
                json_body(after, StatusCode::OK).await["member_count"],
                4,
                "{case}"
            );
        }
    }
}

#[tokio::test]
async fn a_non_member_learns_nothing_about_a_private_room() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let private = app.cast_room(&cast, "private").await;
    let absent = Uuid::now_v7().to_string();
    let outsider = cast.token(Actor::Outsider);
    let member = cast.id(Actor::Member);
    let attempts = |room: String| {
        [
            (Method::GET, format!("/api/rooms/{room}"), None),
            (
                Method::PATCH,
                format!("/api/rooms/{room}"),
                Some(json!({"name": "mine"})),
            ),
            (Method::DELETE, format!("/api/rooms/{room}"), None),
            (Method::POST, format!("/api/rooms/{room}/join"), None),
            (Method::DELETE, format!("/api/rooms/{room}/leave"), None),
            (Method::GET, format!("/api/rooms/{room}/members"), None),
            (
                Method::PUT,
                format!("/api/rooms/{room}/members/{member}/role"),
                Some(json!({"role": "member"})),
            ),
            (
                Method::POST,
                format!("/api/rooms/{room}/invites"),
                Some(json!({"user_id": cast.id(Actor::Outsider)})),
            ),
            (
                Method::POST,
                format!("/api/rooms/{room}/kick"),
                Some(json!({"user_id": member})),
            ),
            (
                Method::POST,
                format!("/api/rooms/{room}/bans"),
                Some(json!({"user_id": member})),
            ),
            (
                Method::DELETE,
                format!("/api/rooms/{room}/bans/{member}"),
                None,
            ),
            (Method::GET, format!("/api/rooms/{room}/messages"), None),
        ]
    };

    for ((method, path, body), (_, absent_path, absent_body)) in
        attempts(private.clone()).into_iter().zip(attempts(absent))
    {
        let seen = app
            .send_as(outsider, method.clone(), &path, body.as_ref())
            .await;
        let nothing = app
            .send_as(outsider, method.clone(), &absent_path, absent_body.as_ref())
            .await;

        let seen = assert_error(seen, StatusCode::NOT_FOUND, "room_not_found").await;
        let nothing = assert_error(nothing, StatusCode::NOT_FOUND, "room_not_found").await;
        assert_eq!(
            seen, nothing,
            "{method} {path} tells a private room from no room"
        );
    }
    let public = json_body(
        app.get_as(outsider, "/api/rooms?search=private").await,
        StatusCode::OK,
    )
    .await;
    assert!(
        page_of(&public).0.is_empty(),
        "private rooms are not listed"
    );
    assert_eq!(
        app.members(cast.token(Actor::Owner), &private).await.len(),
        4
    );
}

#[tokio::test]
async fn public_rooms_are_searched_by_name_and_private_ones_are_not_listed() {
    let app = spawn_app().await;
    let alice = app.new_user("alice").await;
    let token = &alice.access_token;
    for (name, kind) in [
        ("Rust lovers", "public"),
        ("rusty bikes", "public"),
        ("Gardening", "public"),
        ("Rust secrets", "private"),
        ("100%_real", "public"),
    ] {
        app.created_room(token, &json!({"name": name, "kind": kind}))
            .await;
    }
    let names = |body: Value| -> Vec<String> {
        body["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|room| room["name"].as_str().unwrap().to_owned())
            .collect()
    };

    let rust = json_body(
        app.get_as(token, "/api/rooms?search=RUST").await,
        StatusCode::OK,
    )
    .await;
    let all = json_body(
        app.get_as(token, "/api/rooms?search=").await,
        StatusCode::OK,
    )
    .await;
    let literal = json_body(
        app.get_as(token, "/api/rooms?search=%25_").await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(names(rust), vec!["rusty bikes", "Rust lovers"]);
    assert_eq!(
        names(all),
        vec!["100%_real", "Gardening", "rusty bikes", "Rust lovers"]
    );
    assert_eq!(names(literal), vec!["100%_real"], "wildcards are literal");
}

#[tokio::test]
async fn pages_of_public_rooms_stay_stable_while_rooms_are_created() {
    let app = spawn_app().await;
    let app = &app;
    let alice = app.new_user("alice").await;
    let token = &alice.access_token;
    let tag = Uuid::new_v4().simple().to_string()[..8].to_owned();
    let create = |n: usize| {
        let body = json!({"name": format!("{tag} room {n}"), "kind": "public"});
        async move {
            app.created_room(token, &body).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let mut existing = Vec::new();
    for n in 0..5 {
        existing.push(create(n).await);
    }
    existing.reverse(); // newest first

    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let body = json_body(
            app.get_as(
                token,
                &format!("/api/rooms?search={tag}&limit=2&cursor={cursor}"),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let (ids, next) = page_of(&body);
        assert!(ids.len() <= 2);
        seen.extend(ids);
        pages += 1;
        // A room created between pages sorts before the cursor: never shifts the rest.
        create(100 + pages).await;
        match next {
            Some(next) => cursor = next,
            None => break,
        }
    }

    assert_eq!(seen, existing, "no room skipped or repeated");
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn my_rooms_include_direct_rooms_and_page_without_gaps() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let owner = cast.token(Actor::Owner);
    let mut expected = Vec::new();
    for n in 0..3 {
        let room = app
            .created_room(
                owner,
                &json!({"name": format!("mine {n}"), "kind": "private"}),
            )
            .await;
        expected.push(room["id"].as_str().unwrap().to_owned());
    }
    let direct = json_body(
        app.post_as(
            owner,
            "/api/dms",
            &json!({"user_id": cast.id(Actor::Member)}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expected.push(direct["id"].as_str().unwrap().to_owned());
    expected.reverse();
    // Someone else's room is not the owner's.
    app.created_room(
        cast.token(Actor::Admin),
        &json!({"name": "theirs", "kind": "public"}),
    )
    .await;

    let first = json_body(
        app.get_as(owner, "/api/rooms/mine?limit=3").await,
        StatusCode::OK,
    )
    .await;
    let (mut ids, next) = page_of(&first);
    app.created_room(owner, &json!({"name": "later", "kind": "public"}))
        .await;
    let second = json_body(
        app.get_as(
            owner,
            &format!("/api/rooms/mine?limit=3&cursor={}", next.unwrap()),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let (rest, last) = page_of(&second);
    ids.extend(rest);

    assert_eq!(ids, expected);
    assert_eq!(last, None);
    assert_eq!(first["rooms"][0]["kind"], "direct");
    assert_eq!(first["rooms"][0]["my_role"], "member");
}

#[tokio::test]
async fn bad_room_input_is_refused_and_creates_nothing() {
    let app = spawn_app().await;
    let alice = app.new_user("alice").await;
    let token = &alice.access_token;
    let cases = [
        (
            json!({"name": "x", "kind": "public", "color": "red"}),
            "invalid_body",
            "color",
        ),
        (
            json!({"name": "x", "kind": "direct"}),
            "invalid_body",
            "kind",
        ),
        (
            json!({"name": "x", "kind": "secret"}),
            "invalid_body",
            "kind",
        ),
        (json!({"name": "x"}), "invalid_body", "kind"),
        (json!({"kind": "public"}), "invalid_body", "name"),
        (json!({"name": 5, "kind": "public"}), "invalid_body", "name"),
        (
            json!({"name": "", "kind": "public"}),
            "validation_failed",
            "name",
        ),
        (
            json!({"name": "x".repeat(81), "kind": "public"}),
            "validation_failed",
            "name",
        ),
        (
            json!({"name": "a\u{7}b", "kind": "public"}),
            "validation_failed",
            "name",
        ),
        (
            json!({"name": "x", "kind": "public", "topic": "y".repeat(501)}),
            "validation_failed",
            "topic",
        ),
        (
            json!({"name": "x", "kind": "public", "description": "tab\there"}),
            "validation_failed",
            "description",
        ),
    ];

    for (body, code, field) in cases {
        let response = app.post_as(token, "/api/rooms", &body).await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
        assert!(
            error["error"]["fields"][field].is_string(),
            "{body}: {error}"
        );
    }
    let malformed = app
        .request(Method::POST, "/api/rooms")
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(r#"{"name": "x", "kind": "public""#)
        .send()
        .await
        .unwrap();
    assert_error(malformed, StatusCode::BAD_REQUEST, "malformed_json").await;
    let not_json = app
        .request(Method::POST, "/api/rooms")
        .bearer_auth(token)
        .body(r#"{"name": "x", "kind": "public"}"#)
        .send()
        .await
        .unwrap();
    assert_error(
        not_json,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let anonymous = app
        .post_json("/api/rooms", &json!({"name": "x", "kind": "public"}))
        .await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;

    let mine = json_body(app.get_as(token, "/api/rooms/mine").await, StatusCode::OK).await;
    assert!(page_of(&mine).0.is_empty(), "nothing was created: {mine}");
}

#[tokio::test]
async fn bad_edits_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let alice = app.new_user("alice").await;
    let token = &alice.access_token;
    let room = app
        .created_room(
            token,
            &json!({"name": "Stable", "topic": "t", "kind": "public"}),
        )
        .await;
    let id = room["id"].as_str().unwrap();
    let path = format!("/api/rooms/{id}");
    let cases = [
        (json!({"name": "x", "kind": "private"}), "invalid_body"),
        (json!({"owner_id": Uuid::nil()}), "invalid_body"),
        (json!({"name": ""}), "validation_failed"),
        (json!({"name": "ok", "topic": "\u{1}"}), "validation_failed"),
        (json!(["name"]), "invalid_body"),
    ];

    for (body, code) in cases {
        let response = app.send_as(token, Method::PATCH, &path, Some(&body)).await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
    }
    let malformed = app
        .request(Method::PATCH, &path)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body("{name: 1}")
        .send()
        .await
        .unwrap();
    assert_error(malformed, StatusCode::BAD_REQUEST, "malformed_json").await;

    assert_eq!(room_as(&app, token, id).await, room);
}

#[tokio::test]
async fn ids_that_cannot_exist_are_json_404s() {
    let app = spawn_app().await;
    let alice = app.new_user("alice").await;
    let token = &alice.access_token;
    let room = app
        .created_room(token, &json!({"name": "Real", "kind": "public"}))
        .await;
    let id = room["id"].as_str().unwrap();

    for (method, path, code) in [
        (
            Method::GET,
            "/api/rooms/not-a-uuid".to_owned(),
            "room_not_found",
        ),
        (
            Method::DELETE,
            "/api/rooms/123".to_owned(),
            "room_not_found",
        ),
        (
            Method::POST,
            "/api/rooms/%20/join".to_owned(),
            "room_not_found",
        ),
        (
            Method::GET,
            "/api/rooms/nope/members".to_owned(),
            "room_not_found",
        ),
        (
            Method::DELETE,
            format!("/api/rooms/{id}/bans/nope"),
            "user_not_found",
        ),
    ] {
        let response = app.send_as(token, method, &path, None).await;
        assert_error(response, StatusCode::NOT_FOUND, code).await;
    }
    let role = app
        .send_as(
            token,
            Method::PUT,
            &format!("/api/rooms/{id}/members/nobody/role"),
            Some(&json!({"role": "admin"})),
        )
        .await;
    assert_error(role, StatusCode::NOT_FOUND, "member_not_found").await;
    assert_eq!(room_as(&app, token, id).await, room);
}

#[tokio::test]
async fn bad_listing_queries_name_the_parameter() {
    let app = spawn_app().await;
    let alice = app.new_user("alice").await;
    let token = &alice.access_token;
    let room = app
        .created_room(token, &json!({"name": "Listed", "kind": "public"}))
        .await;
    let members = format!("/api/rooms/{}/members", room["id"].as_str().unwrap());
    let long = "x".repeat(81);

    for (path, code, field) in [
        (
            "/api/rooms?limit=0".to_owned(),
            "validation_failed",
            "limit",
        ),
        (
            "/api/rooms?limit=101".to_owned(),
            "validation_failed",
            "limit",
        ),
        ("/api/rooms?limit=ten".to_owned(), "invalid_query", "limit"),
        (
            "/api/rooms?cursor=garbage".to_owned(),
            "validation_failed",
            "cursor",
        ),
        (
            format!("/api/rooms?search={long}"),
            "validation_failed",
            "search",
        ),
        ("/api/rooms?sort=name".to_owned(), "invalid_query", "sort"),
        (
            "/api/rooms/mine?limit=1000".to_owned(),
            "validation_failed",
            "limit",
        ),
        (
            "/api/rooms/mine?cursor=AAAA".to_owned(),
            "validation_failed",
            "cursor",
        ),
        (format!("{members}?limit=0"), "validation_failed", "limit"),
        (
            format!("{members}?cursor=%20x"),
            "validation_failed",
            "cursor",
        ),
    ] {
        let response = app.get_as(token, &path).await;
        let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
        assert!(body["error"]["fields"][field].is_string(), "{path}: {body}");
    }
    let full = json_body(
        app.get_as(token, "/api/rooms?limit=100").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page_of(&full).0.len(), 1);
}

#[tokio::test]
async fn a_room_id_is_read_only_in_its_canonical_spelling() {
    let app = spawn_app().await;
    let alice = app.new_user("alice").await;
    let room = json_body(
        app.post_as(
            &alice.access_token,
            "/api/rooms",
            &json!({"name": "Spellings", "kind": "public"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = room["id"].as_str().unwrap().to_owned();
    let simple = Uuid::parse_str(&id).unwrap().simple().to_string();

    room_as(&app, &alice.access_token, &id.to_uppercase()).await;
    for other in [
        format!("{{{id}}}"),
        simple.clone(),
        format!("urn:uuid:{id}"),
    ] {
        for path in [
            format!("/api/rooms/{other}"),
            format!("/api/rooms/{other}/messages"),
        ] {
            let response = app.get_as(&alice.access_token, &path).await;
            assert_error(response, StatusCode::NOT_FOUND, "room_not_found").await;
        }
    }
    let send = app
        .post_as(
            &alice.access_token,
            "/api/messages",
            &json!({"room_id": simple, "content": "hi", "client_msg_id": "c1"}),
        )
        .await;
    let body = assert_error(send, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert!(body["error"]["fields"]["room_id"].is_string(), "{body}");
}
