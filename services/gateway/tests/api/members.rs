//! A room's members through REST: listing, roles, invitations, kicks and bans, each tried
//! by every kind of actor, and what a refusal leaves unchanged.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Actor, Cast, TestApp, assert_error, assert_outcome, json_body, spawn_app};

const FORBIDDEN: (StatusCode, Option<&str>) = (StatusCode::FORBIDDEN, Some("forbidden"));
const HIDDEN: (StatusCode, Option<&str>) = (StatusCode::NOT_FOUND, Some("room_not_found"));

/// Each actor tries the same thing in a fresh `kind` room; returns what each got.
struct Attempt<'a> {
    app: &'a TestApp,
    cast: &'a Cast,
}

impl Attempt<'_> {
    async fn kick(&self, room: &str, actor: Actor, target: Actor) -> reqwest::Response {
        self.app
            .post_as(
                self.cast.token(actor),
                &format!("/api/rooms/{room}/kick"),
                &json!({"user_id": self.cast.id(target)}),
            )
            .await
    }

    async fn ban(&self, room: &str, actor: Actor, target: Actor) -> reqwest::Response {
        self.app
            .post_as(
                self.cast.token(actor),
                &format!("/api/rooms/{room}/bans"),
                &json!({"user_id": self.cast.id(target), "reason": "spam"}),
            )
            .await
    }

    async fn unban(&self, room: &str, actor: Actor, target: Actor) -> reqwest::Response {
        self.app
            .delete_as(
                self.cast.token(actor),
                &format!("/api/rooms/{room}/bans/{}", self.cast.id(target)),
            )
            .await
    }

    async fn set_role(
        &self,
        room: &str,
        actor: Actor,
        target: Actor,
        role: &str,
    ) -> reqwest::Response {
        self.app
            .send_as(
                self.cast.token(actor),
                Method::PUT,
                &format!("/api/rooms/{room}/members/{}/role", self.cast.id(target)),
                Some(&json!({"role": role})),
            )
            .await
    }

    async fn invite(&self, room: &str, actor: Actor, target: Actor) -> reqwest::Response {
        self.app
            .post_as(
                self.cast.token(actor),
                &format!("/api/rooms/{room}/invites"),
                &json!({"user_id": self.cast.id(target)}),
            )
            .await
    }

    async fn join(&self, room: &str, actor: Actor) -> reqwest::Response {
        self.app
            .send_as(
                self.cast.token(actor),
                Method::POST,
                &format!("/api/rooms/{room}/join"),
                None,
            )
            .await
    }

    /// The role of `target` as the owner sees it.
    async fn role(&self, room: &str, target: Actor) -> Option<String> {
        self.app
            .role_of(self.cast.token(Actor::Owner), room, self.cast.id(target))
            .await
    }
}

#[tokio::test]
async fn members_list_members_and_nobody_else_does() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let public = app.cast_room(&cast, "public").await;
    let private = app.cast_room(&cast, "private").await;

    for room in [&public, &private] {
        for actor in [Actor::Owner, Actor::Admin, Actor::Member] {
            let members = app.members(cast.token(actor), room).await;
            let expected = [
                (Actor::Owner, "owner"),
                (Actor::Admin, "admin"),
                (Actor::Member, "member"),
                (Actor::Other, "member"),
            ]
            .map(|(who, role)| (cast.id(who).to_owned(), role.to_owned()));
            assert_eq!(members, expected, "{actor:?} lists {room}, earliest first");
        }
    }
    let first = json_body(
        app.get_as(
            cast.token(Actor::Member),
            &format!("/api/rooms/{public}/members?limit=1"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(first["next_cursor"].is_string());
    assert!(first["members"][0]["joined_at"].is_string());
    // Each with where they are (nobody here has a socket open).
    assert_eq!(first["members"][0]["presence"]["status"], "offline");
    assert_eq!(
        first["members"][0]["presence"]["user_id"],
        first["members"][0]["user_id"]
    );
    for (room, (status, code)) in [(&public, FORBIDDEN), (&private, HIDDEN)] {
        let response = app
            .get_as(
                cast.token(Actor::Outsider),
                &format!("/api/rooms/{room}/members"),
            )
            .await;
        assert_outcome(response, status, code, "an outsider lists members").await;
    }
}

#[tokio::test]
async fn only_the_owner_gives_roles() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let attempt = Attempt {
        app: &app,
        cast: &cast,
    };
    let cases = [
        ("public", Actor::Owner, (StatusCode::OK, None)),
        ("private", Actor::Owner, (StatusCode::OK, None)),
        ("public", Actor::Admin, FORBIDDEN),
        ("private", Actor::Admin, FORBIDDEN),
        ("public", Actor::Member, FORBIDDEN),
        ("private", Actor::Member, FORBIDDEN),
        ("public", Actor::Outsider, FORBIDDEN),
        ("private", Actor::Outsider, HIDDEN),
    ];

    for (kind, actor, (status, code)) in cases {
        let room = app.cast_room(&cast, kind).await;
        let case = format!("{actor:?} makes another member admin in a {kind} room");

        let response = attempt.set_role(&room, actor, Actor::Other, "admin").await;

        if code.is_none() {
            let member = json_body(response, status).await;
            assert_eq!(member["user_id"], cast.id(Actor::Other), "{case}");
            assert_eq!(member["role"], "admin", "{case}");
            assert!(member["joined_at"].is_string(), "{case}");
        } else {
            assert_outcome(response, status, code, &case).await;
        }
        let expected = if code.is_none() { "admin" } else { "member" };
        assert_eq!(
            attempt.role(&room, Actor::Other).await.as_deref(),
            Some(expected),
            "{case}"
        );
    }
}

#[tokio::test]
async fn ownership_is_handed_on_and_never_dropped() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let attempt = Attempt {
        app: &app,
        cast: &cast,
    };
    let room = app.cast_room(&cast, "private").await;

    let demoted = attempt
        .set_role(&room, Actor::Owner, Actor::Owner, "member")
        .await;
    assert_error(demoted, StatusCode::CONFLICT, "owner_must_transfer").await;
    let stranger = attempt
        .set_role(&room, Actor::Owner, Actor::Outsider, "admin")
        .await;
    assert_error(stranger, StatusCode::NOT_FOUND, "member_not_found").await;
    let bad_role = attempt
        .set_role(&room, Actor::Owner, Actor::Other, "king")
        .await;
    let body = assert_error(bad_role, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert!(body["error"]["fields"]["role"].is_string(), "{body}");
    assert_eq!(
        attempt.role(&room, Actor::Other).await.as_deref(),
        Some("member")
    );

    let handed = attempt
        .set_role(&room, Actor::Owner, Actor::Admin, "owner")
        .await;
    assert_eq!(json_body(handed, StatusCode::OK).await["role"], "owner");

    let seen = json_body(
        app.get_as(cast.token(Actor::Owner), &format!("/api/rooms/{room}"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(seen["owner_id"], cast.id(Actor::Admin));
    assert_eq!(seen["my_role"], "admin", "the former owner is an admin");
    let left = app
        .delete_as(
            cast.token(Actor::Owner),
            &format!("/api/rooms/{room}/leave"),
        )
        .await;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn admins_and_the_owner_invite_and_an_invitation_makes_a_member() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let attempt = Attempt {
        app: &app,
        cast: &cast,
    };
    let cases = [
        ("private", Actor::Owner, (StatusCode::CREATED, None)),
        ("private", Actor::Admin, (StatusCode::CREATED, None)),
        ("public", Actor::Admin, (StatusCode::CREATED, None)),
        ("public", Actor::Member, FORBIDDEN),
        ("private", Actor::Member, FORBIDDEN),
    ];

    for (kind, actor, (status, code)) in cases {
        let room = app.cast_room(&cast, kind).await;
        let case = format!("{actor:?} invites an outsider to a {kind} room");

        let response = attempt.invite(&room, actor, Actor::Outsider).await;

        if code.is_none() {
            let member = json_body(response, status).await;
            assert_eq!(member["user_id"], cast.id(Actor::Outsider), "{case}");
            assert_eq!(member["role"], "member", "{case}");
            let seen = json_body(
                app.get_as(cast.token(Actor::Outsider), &format!("/api/rooms/{room}"))
                    .await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(seen["my_role"], "member", "{case}");
        } else {
            assert_outcome(response, status, code, &case).await;
            assert_eq!(attempt.role(&room, Actor::Outsider).await, None, "{case}");
        }
    }
    // An outsider cannot invite anyone, not even themselves into a hidden room.
    for (kind, (status, code)) in [("public", FORBIDDEN), ("private", HIDDEN)] {
        let room = app.cast_room(&cast, kind).await;
        let response = attempt
            .invite(&room, Actor::Outsider, Actor::Outsider)
            .await;
        assert_outcome(response, status, code, kind).await;
        assert_eq!(attempt.role(&room, Actor::Outsider).await, None);
    }
}

#[tokio::test]
async fn only_users_that_exist_are_invited() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let room = app.cast_room(&cast, "private").await;
    let path = format!("/api/rooms/{room}/invites");
    let owner = cast.token(Actor::Owner);

    let ghost = app
        .post_as(owner, &path, &json!({"user_id": Uuid::new_v4()}))
        .await;
    assert_error(ghost, StatusCode::NOT_FOUND, "user_not_found").await;
    let malformed = app.post_as(owner, &path, &json!({"user_id": "bob"})).await;
    let body = assert_error(malformed, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert!(body["error"]["fields"]["user_id"].is_string(), "{body}");
    let extra = app
        .post_as(
            owner,
            &path,
            &json!({"user_id": cast.id(Actor::Outsider), "role": "admin"}),
        )
        .await;
    assert_error(extra, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;

    assert_eq!(app.members(owner, &room).await.len(), 4);
    let again = app.invited(owner, &room, cast.id(Actor::Member)).await;
    assert_eq!(again["role"], "member", "inviting a member changes nothing");
}

#[tokio::test]
async fn admins_kick_members_and_the_owner_also_admins() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let attempt = Attempt {
        app: &app,
        cast: &cast,
    };
    let done = (StatusCode::NO_CONTENT, None);
    let cases = [
        ("public", Actor::Owner, Actor::Admin, done),
        ("private", Actor::Owner, Actor::Member, done),
        ("public", Actor::Admin, Actor::Member, done),
        ("private", Actor::Admin, Actor::Member, done),
        ("public", Actor::Admin, Actor::Owner, FORBIDDEN),
        ("private", Actor::Admin, Actor::Other, FORBIDDEN), // Other is made an admin below
        ("public", Actor::Member, Actor::Other, FORBIDDEN),
        ("private", Actor::Member, Actor::Admin, FORBIDDEN),
        ("public", Actor::Outsider, Actor::Member, FORBIDDEN),
        ("private", Actor::Outsider, Actor::Member, HIDDEN),
        (
            "public",
            Actor::Owner,
            Actor::Outsider,
            (StatusCode::NOT_FOUND, Some("member_not_found")),
        ),
    ];

    for (n, (kind, actor, target, (status, code))) in cases.into_iter().enumerate() {
        let room = app.cast_room(&cast, kind).await;
        if n == 5 {
            let response = attempt
                .set_role(&room, Actor::Owner, Actor::Other, "admin")
                .await;
            assert_eq!(response.status(), StatusCode::OK);
        }
        let before = attempt.role(&room, target).await;
        let case = format!("{actor:?} kicks {target:?} from a {kind} room");

        let response = attempt.kick(&room, actor, target).await;

        assert_outcome(response, status, code, &case).await;
        let after = attempt.role(&room, target).await;
        if code.is_none() {
            assert_eq!(after, None, "{case}");
            let back = attempt.join(&room, target).await;
            let expected = if kind == "public" {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(back.status(), expected, "{case}: a kick is not a ban");
        } else {
            assert_eq!(after, before, "{case}: nothing changed");
        }
    }
}

#[tokio::test]
async fn admins_ban_members_and_outsiders_and_the_owner_also_admins() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let attempt = Attempt {
        app: &app,
        cast: &cast,
    };
    let done = (StatusCode::NO_CONTENT, None);
    let cases = [
        ("public", Actor::Owner, Actor::Admin, done),
        ("private", Actor::Owner, Actor::Member, done),
        ("public", Actor::Admin, Actor::Member, done),
        ("public", Actor::Admin, Actor::Outsider, done),
        ("private", Actor::Admin, Actor::Outsider, done),
        ("public", Actor::Admin, Actor::Owner, FORBIDDEN),
        ("private", Actor::Admin, Actor::Other, FORBIDDEN), // Other is made an admin below
        ("public", Actor::Member, Actor::Other, FORBIDDEN),
        ("private", Actor::Member, Actor::Outsider, FORBIDDEN),
        ("public", Actor::Outsider, Actor::Member, FORBIDDEN),
        ("private", Actor::Outsider, Actor::Member, HIDDEN),
    ];

    for (n, (kind, actor, target, (status, code))) in cases.into_iter().enumerate() {
        let room = app.cast_room(&cast, kind).await;
        if n == 6 {
            let response = attempt
                .set_role(&room, Actor::Owner, Actor::Other, "admin")
                .await;
            assert_eq!(response.status(), StatusCode::OK);
        }
        let before = attempt.role(&room, target).await;
        let case = format!("{actor:?} bans {target:?} in a {kind} room");

        let response = attempt.ban(&room, actor, target).await;

        assert_outcome(response, status, code, &case).await;
        let after = attempt.role(&room, target).await;
        if code.is_none() {
            assert_eq!(after, None, "{case}");
            let invited = attempt.invite(&room, Actor::Owner, target).await;
            assert_error(invited, StatusCode::FORBIDDEN, "user_banned").await;
        } else {
            assert_eq!(after, before, "{case}: nothing changed");
            if before.is_none() {
                let invited = attempt.invite(&room, Actor::Owner, target).await;
                assert_eq!(invited.status(), StatusCode::CREATED, "{case}: not banned");
            }
        }
    }
}

#[tokio::test]
async fn admins_and_the_owner_lift_bans() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let attempt = Attempt {
        app: &app,
        cast: &cast,
    };
    let done = (StatusCode::NO_CONTENT, None);
    let cases = [
        ("public", Actor::Owner, done),
        ("private", Actor::Admin, done),
        ("public", Actor::Member, FORBIDDEN),
        ("private", Actor::Member, FORBIDDEN),
        ("public", Actor::Outsider, FORBIDDEN),
        ("private", Actor::Outsider, HIDDEN),
    ];

    for (kind, actor, (status, code)) in cases {
        let room = app.cast_room(&cast, kind).await;
        let banned = attempt.ban(&room, Actor::Owner, Actor::Other).await;
        assert_eq!(banned.status(), StatusCode::NO_CONTENT);
        let case = format!("{actor:?} lifts a ban in a {kind} room");

        let response = attempt.unban(&room, actor, Actor::Other).await;

        assert_outcome(response, status, code, &case).await;
        let invited = attempt.invite(&room, Actor::Owner, Actor::Other).await;
        if code.is_none() {
            assert_eq!(invited.status(), StatusCode::CREATED, "{case}");
        } else {
            assert_error(invited, StatusCode::FORBIDDEN, "user_banned").await;
        }
    }
}

#[tokio::test]
async fn a_ban_keeps_a_user_out_until_lifted_or_over() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let attempt = Attempt {
        app: &app,
        cast: &cast,
    };
    let room = app.cast_room(&cast, "public").await;
    let owner = cast.token(Actor::Owner);
    let bans = format!("/api/rooms/{room}/bans");

    let banned = app
        .post_as(
            owner,
            &bans,
            &json!({"user_id": cast.id(Actor::Member), "until": "2999-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(banned.status(), StatusCode::NO_CONTENT);

    assert_error(
        attempt.join(&room, Actor::Member).await,
        StatusCode::FORBIDDEN,
        "banned",
    )
    .await;
    assert_error(
        attempt.invite(&room, Actor::Admin, Actor::Member).await,
        StatusCode::FORBIDDEN,
        "user_banned",
    )
    .await;
    let seen: Value = json_body(
        app.get_as(cast.token(Actor::Member), &format!("/api/rooms/{room}"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(seen["my_role"], Value::Null);
    assert_eq!(seen["member_count"], 3);

    // A ban that is already over keeps nobody out.
    let over = app
        .post_as(
            owner,
            &bans,
            &json!({"user_id": cast.id(Actor::Member), "until": "2020-01-01T00:00:00+02:00"}),
        )
        .await;
    assert_eq!(over.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        attempt.join(&room, Actor::Member).await.status(),
        StatusCode::OK
    );

    let lifted = attempt.unban(&room, Actor::Admin, Actor::Outsider).await;
    assert_eq!(
        lifted.status(),
        StatusCode::NO_CONTENT,
        "lifting no ban changes nothing"
    );
}

#[tokio::test]
async fn bad_ban_input_is_refused_and_bans_nobody() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let attempt = Attempt {
        app: &app,
        cast: &cast,
    };
    let room = app.cast_room(&cast, "public").await;
    let bans = format!("/api/rooms/{room}/bans");
    let member = cast.id(Actor::Member);

    for (body, code, field) in [
        (
            json!({"user_id": member, "until": "tomorrow"}),
            "invalid_body",
            "until",
        ),
        (
            json!({"user_id": member, "until": 5}),
            "invalid_body",
            "until",
        ),
        (
            json!({"user_id": member, "reason": "r".repeat(501)}),
            "validation_failed",
            "reason",
        ),
        (
            json!({"user_id": member, "forever": true}),
            "invalid_body",
            "forever",
        ),
        (
            json!({"until": "2999-01-01T00:00:00Z"}),
            "invalid_body",
            "user_id",
        ),
    ] {
        let response = app.post_as(cast.token(Actor::Owner), &bans, &body).await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
        assert!(
            error["error"]["fields"][field].is_string(),
            "{body}: {error}"
        );
    }
    let kick = app
        .post_as(
            cast.token(Actor::Owner),
            &format!("/api/rooms/{room}/kick"),
            &json!({}),
        )
        .await;
    assert_error(kick, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;

    assert_eq!(
        attempt.role(&room, Actor::Member).await.as_deref(),
        Some("member")
    );
}
