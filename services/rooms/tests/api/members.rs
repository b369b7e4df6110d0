//! Joining, leaving, ownership, invitations and bans as members live them.

use chat_proto::v1::{Role, RoomKind};
use tonic::Code;

use crate::helpers::{Scene, assert_refused, from_now, spawn_app, user};

#[tokio::test]
async fn joining_a_public_room_twice_counts_once() {
    let app = spawn_app().await;
    let room = app.create_room(user(), "Lobby", RoomKind::Public).await;
    let joiner = user();

    let first = app.join(joiner, &room.id).await.expect("joined");
    let again = app.join(joiner, &room.id).await.expect("joined again");

    assert_eq!(first.member_count, 2);
    assert_eq!(first.my_role, Some(Role::Member as i32));
    assert_eq!(again, first);
}

#[tokio::test]
async fn a_private_room_is_joined_only_by_invitation() {
    let app = spawn_app().await;
    let owner = user();
    let guest = user();
    let room = app.create_room(owner, "Club", RoomKind::Private).await;

    assert_refused(
        app.join(guest, &room.id).await,
        Code::NotFound,
        "room_not_found",
    );
    app.invite(owner, &room.id, guest).await.expect("invited");
    let again = app
        .invite(owner, &room.id, guest)
        .await
        .expect("invited again");
    assert_eq!(again.role(), Role::Member);

    let joined = app.join(guest, &room.id).await.expect("already a member");
    assert_eq!(joined.member_count, 2);
    assert_eq!(joined.my_role, Some(Role::Member as i32));
}

#[tokio::test]
async fn a_member_who_leaves_is_no_longer_counted_and_may_come_back() {
    let app = spawn_app().await;
    let room = app.create_room(user(), "Lobby", RoomKind::Public).await;
    let visitor = user();
    app.join(visitor, &room.id).await.expect("joined");

    app.leave(visitor, &room.id).await.expect("left");
    app.leave(visitor, &room.id)
        .await
        .expect("leaving twice is harmless");

    let seen = app.get_room(visitor, &room.id).await.expect("public");
    assert_eq!((seen.member_count, seen.my_role), (1, None));
    let back = app.join(visitor, &room.id).await.expect("rejoined");
    assert_eq!(back.member_count, 2);
}

#[tokio::test]
async fn the_owner_leaves_only_after_handing_ownership_on() {
    let app = spawn_app().await;
    let s = Scene::new(&app, RoomKind::Private).await;

    assert_refused(
        app.leave(s.owner, s.id()).await,
        Code::FailedPrecondition,
        "owner_must_transfer",
    );
    let heir = app
        .set_role(s.owner, s.id(), s.member, Role::Owner)
        .await
        .expect("ownership handed on");
    assert_eq!(heir.role(), Role::Owner);
    let roles = app.roles(s.owner, s.id()).await;
    assert!(roles.contains(&(s.owner.to_string(), Role::Admin)));
    assert!(roles.contains(&(s.member.to_string(), Role::Owner)));

    app.leave(s.owner, s.id())
        .await
        .expect("the former owner leaves");

    let room = app.get_room(s.member, s.id()).await.expect("still there");
    assert_eq!(room.owner_id, s.member.to_string());
    assert_eq!(room.my_role, Some(Role::Owner as i32));
    assert_eq!(room.member_count, 4);
    assert_refused(
        app.get_room(s.owner, s.id()).await,
        Code::NotFound,
        "room_not_found",
    );
}

#[tokio::test]
async fn the_former_owner_loses_the_owners_rights() {
    let app = spawn_app().await;
    let s = Scene::new(&app, RoomKind::Public).await;

    app.set_role(s.owner, s.id(), s.admin, Role::Owner)
        .await
        .expect("ownership handed on");

    assert_refused(
        app.delete_room(s.owner, s.id()).await,
        Code::PermissionDenied,
        "forbidden",
    );
    assert_refused(
        app.set_role(s.owner, s.id(), s.member, Role::Admin).await,
        Code::PermissionDenied,
        "forbidden",
    );
    assert_refused(
        app.kick(s.owner, s.id(), s.admin).await,
        Code::PermissionDenied,
        "forbidden",
    );
    app.delete_room(s.admin, s.id())
        .await
        .expect("the new owner may");
}

#[tokio::test]
async fn the_last_member_leaving_deletes_the_room() {
    let app = spawn_app().await;
    let owner = user();
    let room = app.create_room(owner, "Solo", RoomKind::Public).await;

    app.leave(owner, &room.id).await.expect("left");

    assert_refused(
        app.get_room(owner, &room.id).await,
        Code::NotFound,
        "room_not_found",
    );
}

#[tokio::test]
async fn a_ban_stops_rejoining_and_invitations_until_lifted() {
    let app = spawn_app().await;
    let owner = user();
    let troll = user();
    let room = app.create_room(owner, "Lobby", RoomKind::Public).await;
    app.join(troll, &room.id).await.expect("joined");

    app.ban(owner, &room.id, troll, None).await.expect("banned");

    let seen = app.get_room(troll, &room.id).await.expect("public");
    assert_eq!((seen.member_count, seen.my_role), (1, None));
    assert_refused(
        app.join(troll, &room.id).await,
        Code::PermissionDenied,
        "banned",
    );
    assert_refused(
        app.invite(owner, &room.id, troll).await,
        Code::PermissionDenied,
        "user_banned",
    );

    app.unban(owner, &room.id, troll).await.expect("unbanned");
    app.unban(owner, &room.id, troll)
        .await
        .expect("unbanning twice is harmless");
    let back = app.join(troll, &room.id).await.expect("rejoined");
    assert_eq!(back.member_count, 2);
}

#[tokio::test]
async fn a_ban_lasts_until_its_end() {
    let app = spawn_app().await;
    let owner = user();
    let (expired, running) = (user(), user());
    let room = app.create_room(owner, "Lobby", RoomKind::Public).await;

    app.ban(owner, &room.id, expired, Some(from_now(-3600)))
        .await
        .expect("banned in the past");
    app.ban(owner, &room.id, running, Some(from_now(3600)))
        .await
        .expect("banned for an hour");

    app.join(expired, &room.id)
        .await
        .expect("an ended ban does not block");
    assert_refused(
        app.join(running, &room.id).await,
        Code::PermissionDenied,
        "banned",
    );
    assert_refused(
        app.invite(owner, &room.id, running).await,
        Code::PermissionDenied,
        "user_banned",
    );
}

#[tokio::test]
async fn a_private_room_ban_also_blocks_invitations() {
    let app = spawn_app().await;
    let s = Scene::new(&app, RoomKind::Private).await;

    app.ban(s.admin, s.id(), s.member, None)
        .await
        .expect("banned");

    assert_refused(
        app.get_room(s.member, s.id()).await,
        Code::NotFound,
        "room_not_found",
    );
    assert_refused(
        app.invite(s.owner, s.id(), s.member).await,
        Code::PermissionDenied,
        "user_banned",
    );
    app.unban(s.admin, s.id(), s.member)
        .await
        .expect("unbanned");
    app.invite(s.admin, s.id(), s.member)
        .await
        .expect("invited again");
    app.get_room(s.member, s.id()).await.expect("visible again");
}
