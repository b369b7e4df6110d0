//! Who may do what: each action tried by the owner, an admin, a member and an outsider,
//! allowed and refused.

use chat_proto::v1::{Role, RoomKind};
use tonic::Code;

use crate::helpers::{Scene, assert_invalid, assert_refused, spawn_app, user};

const FORBIDDEN: (Code, &str) = (Code::PermissionDenied, "forbidden");
const NOT_FOUND: (Code, &str) = (Code::NotFound, "room_not_found");

#[tokio::test]
async fn admins_and_the_owner_edit_a_room_members_and_outsiders_cannot() {
    let app = spawn_app().await;
    let private = Scene::new(&app, RoomKind::Private).await;
    let public = Scene::new(&app, RoomKind::Public).await;

    app.rename(private.owner, private.id(), "By owner")
        .await
        .expect("the owner may edit");
    app.rename(private.admin, private.id(), "By admin")
        .await
        .expect("an admin may edit");
    let (code, reason) = FORBIDDEN;
    assert_refused(
        app.rename(private.member, private.id(), "x").await,
        code,
        reason,
    );
    assert_refused(
        app.rename(public.outsider, public.id(), "x").await,
        code,
        reason,
    );
    let (code, reason) = NOT_FOUND;
    assert_refused(
        app.rename(private.outsider, private.id(), "x").await,
        code,
        reason,
    );

    let room = app
        .get_room(private.member, private.id())
        .await
        .expect("visible");
    assert_eq!(room.name, "By admin");
}

#[tokio::test]
async fn only_the_owner_deletes_a_room() {
    let app = spawn_app().await;
    let private = Scene::new(&app, RoomKind::Private).await;
    let public = Scene::new(&app, RoomKind::Public).await;

    let (code, reason) = FORBIDDEN;
    assert_refused(
        app.delete_room(private.admin, private.id()).await,
        code,
        reason,
    );
    assert_refused(
        app.delete_room(private.member, private.id()).await,
        code,
        reason,
    );
    assert_refused(
        app.delete_room(public.outsider, public.id()).await,
        code,
        reason,
    );
    let (code, reason) = NOT_FOUND;
    assert_refused(
        app.delete_room(private.outsider, private.id()).await,
        code,
        reason,
    );
    app.get_room(private.owner, private.id())
        .await
        .expect("still there");

    app.delete_room(private.owner, private.id())
        .await
        .expect("the owner may delete");
    assert_refused(
        app.get_room(private.owner, private.id()).await,
        code,
        reason,
    );
}

#[tokio::test]
async fn admins_and_the_owner_invite_members_and_outsiders_cannot() {
    let app = spawn_app().await;
    let private = Scene::new(&app, RoomKind::Private).await;
    let public = Scene::new(&app, RoomKind::Public).await;
    let (by_owner, by_admin) = (user(), user());

    let invited = app
        .invite(private.owner, private.id(), by_owner)
        .await
        .expect("the owner may invite");
    assert_eq!(invited.role(), Role::Member);
    app.invite(private.admin, private.id(), by_admin)
        .await
        .expect("an admin may invite");
    let (code, reason) = FORBIDDEN;
    assert_refused(
        app.invite(private.member, private.id(), user()).await,
        code,
        reason,
    );
    assert_refused(
        app.invite(public.outsider, public.id(), user()).await,
        code,
        reason,
    );
    let (code, reason) = NOT_FOUND;
    assert_refused(
        app.invite(private.outsider, private.id(), user()).await,
        code,
        reason,
    );

    let members = app.roles(private.owner, private.id()).await;
    assert_eq!(members.len(), 7);
    assert!(members.contains(&(by_owner.to_string(), Role::Member)));
    assert!(members.contains(&(by_admin.to_string(), Role::Member)));
}

#[tokio::test]
async fn admins_kick_members_and_only_the_owner_kicks_admins() {
    let app = spawn_app().await;
    let s = Scene::new(&app, RoomKind::Private).await;

    let (code, reason) = FORBIDDEN;
    assert_refused(
        app.kick(s.member, s.id(), s.other_member).await,
        code,
        reason,
    );
    assert_refused(app.kick(s.admin, s.id(), s.other_admin).await, code, reason);
    assert_refused(app.kick(s.admin, s.id(), s.owner).await, code, reason);
    assert_refused(app.kick(s.owner, s.id(), s.owner).await, code, reason);
    let (code, reason) = NOT_FOUND;
    assert_refused(app.kick(s.outsider, s.id(), s.member).await, code, reason);
    assert_refused(
        app.kick(s.admin, s.id(), s.outsider).await,
        Code::NotFound,
        "member_not_found",
    );

    app.kick(s.admin, s.id(), s.member)
        .await
        .expect("an admin may kick a member");
    app.kick(s.owner, s.id(), s.other_admin)
        .await
        .expect("the owner may kick an admin");

    let remaining: Vec<String> = app
        .roles(s.owner, s.id())
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(remaining.len(), 3);
    assert!(!remaining.contains(&s.member.to_string()));
    assert!(!remaining.contains(&s.other_admin.to_string()));
}

#[tokio::test]
async fn admins_ban_members_and_outsiders_and_only_the_owner_bans_admins() {
    let app = spawn_app().await;
    let s = Scene::new(&app, RoomKind::Private).await;

    let (code, reason) = FORBIDDEN;
    assert_refused(
        app.ban(s.member, s.id(), s.other_member, None).await,
        code,
        reason,
    );
    assert_refused(
        app.ban(s.admin, s.id(), s.other_admin, None).await,
        code,
        reason,
    );
    assert_refused(app.ban(s.admin, s.id(), s.owner, None).await, code, reason);
    assert_refused(app.ban(s.owner, s.id(), s.owner, None).await, code, reason);
    let (code, reason) = NOT_FOUND;
    assert_refused(
        app.ban(s.outsider, s.id(), s.member, None).await,
        code,
        reason,
    );

    app.ban(s.admin, s.id(), s.member, None)
        .await
        .expect("an admin may ban a member");
    app.ban(s.admin, s.id(), s.outsider, None)
        .await
        .expect("an admin may ban an outsider");
    app.ban(s.owner, s.id(), s.other_admin, None)
        .await
        .expect("the owner may ban an admin");

    let remaining: Vec<String> = app
        .roles(s.owner, s.id())
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(remaining.len(), 3, "banning removes members");
    assert_refused(
        app.invite(s.owner, s.id(), s.outsider).await,
        Code::PermissionDenied,
        "user_banned",
    );
}

#[tokio::test]
async fn admins_and_the_owner_unban_members_and_outsiders_cannot() {
    let app = spawn_app().await;
    let private = Scene::new(&app, RoomKind::Private).await;
    let public = Scene::new(&app, RoomKind::Public).await;
    let (first, second) = (user(), user());
    for banned in [first, second] {
        app.ban(private.owner, private.id(), banned, None)
            .await
            .expect("banned");
    }
    app.ban(public.owner, public.id(), first, None)
        .await
        .expect("banned");

    let (code, reason) = FORBIDDEN;
    assert_refused(
        app.unban(private.member, private.id(), first).await,
        code,
        reason,
    );
    assert_refused(
        app.unban(public.outsider, public.id(), first).await,
        code,
        reason,
    );
    let (code, reason) = NOT_FOUND;
    assert_refused(
        app.unban(private.outsider, private.id(), first).await,
        code,
        reason,
    );
    assert_refused(
        app.invite(private.owner, private.id(), first).await,
        Code::PermissionDenied,
        "user_banned",
    );

    app.unban(private.admin, private.id(), first)
        .await
        .expect("an admin may unban");
    app.unban(private.owner, private.id(), second)
        .await
        .expect("the owner may unban");
    app.invite(private.owner, private.id(), first)
        .await
        .expect("unbanned users may be invited again");
    app.invite(private.owner, private.id(), second)
        .await
        .expect("unbanned users may be invited again");
}

#[tokio::test]
async fn only_the_owner_changes_roles() {
    let app = spawn_app().await;
    let s = Scene::new(&app, RoomKind::Private).await;

    let (code, reason) = FORBIDDEN;
    assert_refused(
        app.set_role(s.admin, s.id(), s.member, Role::Admin).await,
        code,
        reason,
    );
    assert_refused(
        app.set_role(s.member, s.id(), s.other_member, Role::Admin)
            .await,
        code,
        reason,
    );
    let (code, reason) = NOT_FOUND;
    assert_refused(
        app.set_role(s.outsider, s.id(), s.member, Role::Admin)
            .await,
        code,
        reason,
    );
    assert_refused(
        app.set_role(s.owner, s.id(), s.outsider, Role::Admin).await,
        Code::NotFound,
        "member_not_found",
    );
    assert_refused(
        app.set_role(s.owner, s.id(), s.owner, Role::Member).await,
        Code::FailedPrecondition,
        "owner_must_transfer",
    );
    assert_invalid(
        app.set_role(s.owner, s.id(), s.member, Role::Unspecified)
            .await,
        "role",
    );

    let promoted = app
        .set_role(s.owner, s.id(), s.member, Role::Admin)
        .await
        .expect("the owner may promote");
    assert_eq!(promoted.role(), Role::Admin);
    let demoted = app
        .set_role(s.owner, s.id(), s.admin, Role::Member)
        .await
        .expect("the owner may demote");
    assert_eq!(demoted.role(), Role::Member);

    let roles = app.roles(s.owner, s.id()).await;
    assert!(roles.contains(&(s.member.to_string(), Role::Admin)));
    assert!(roles.contains(&(s.admin.to_string(), Role::Member)));
}

#[tokio::test]
async fn members_list_members_and_outsiders_cannot() {
    let app = spawn_app().await;
    let private = Scene::new(&app, RoomKind::Private).await;
    let public = Scene::new(&app, RoomKind::Public).await;

    for viewer in [private.owner, private.admin, private.member] {
        assert_eq!(app.roles(viewer, private.id()).await.len(), 5);
    }
    let (code, reason) = NOT_FOUND;
    assert_refused(
        app.members_page(private.outsider, private.id(), None, 10)
            .await,
        code,
        reason,
    );
    let (code, reason) = FORBIDDEN;
    assert_refused(
        app.members_page(public.outsider, public.id(), None, 10)
            .await,
        code,
        reason,
    );
}

#[tokio::test]
async fn an_outsider_learns_nothing_about_a_private_room() {
    let app = spawn_app().await;
    let s = Scene::new(&app, RoomKind::Private).await;
    let unknown = user().to_string();

    for room in [s.id(), unknown.as_str()] {
        let (code, reason) = NOT_FOUND;
        assert_refused(app.get_room(s.outsider, room).await, code, reason);
        assert_refused(
            app.members_page(s.outsider, room, None, 10).await,
            code,
            reason,
        );
        assert_refused(app.invite(s.outsider, room, user()).await, code, reason);
        assert_refused(app.join(s.outsider, room).await, code, reason);
        assert_refused(app.leave(s.outsider, room).await, code, reason);
        assert_refused(app.rename(s.outsider, room, "x").await, code, reason);
        assert_refused(app.delete_room(s.outsider, room).await, code, reason);
        assert_refused(app.kick(s.outsider, room, s.member).await, code, reason);
        assert_refused(
            app.ban(s.outsider, room, s.member, None).await,
            code,
            reason,
        );
        assert_refused(app.unban(s.outsider, room, s.member).await, code, reason);
        assert_refused(
            app.set_role(s.outsider, room, s.member, Role::Admin).await,
            code,
            reason,
        );
    }
}
