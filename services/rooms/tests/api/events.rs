//! Every committed change is an entry of its room's sequence: it reaches subscribers of
//! the room's channel as a RoomEnvelope at the room's next position, and then those of
//! the channels of the users it concerns as a RoomEvent carrying the same position.

use chat_proto::v1::{Role, RoomEvent, RoomEventKind, RoomKind};
use uuid::Uuid;

use crate::helpers::{from_now, spawn_app, user};

#[track_caller]
fn assert_event(event: &RoomEvent, kind: RoomEventKind, user: Option<Uuid>, actor: Uuid) {
    assert_eq!(event.kind(), kind, "{event:?}");
    assert_eq!(
        event.user_id,
        user.map(|u| u.to_string()).unwrap_or_default(),
        "{event:?}"
    );
    assert_eq!(event.actor_id, actor.to_string(), "{event:?}");
    assert!(event.occurred_at.is_some());
    assert!(Uuid::parse_str(&event.event_id).is_ok());
}

#[tokio::test]
async fn a_new_room_is_announced_to_its_creator() {
    let app = spawn_app().await;
    let owner = user();
    let mut listener = app.listen(&[app.user_channel(owner)]).await;

    let room = app.create_room(owner, "Fresh", RoomKind::Private).await;

    let event = listener.expect_on(&[app.user_channel(owner)]).await;
    assert_event(&event, RoomEventKind::RoomCreated, Some(owner), owner);
    assert_eq!(event.room_id, room.id);
    assert_eq!(event.role, Some(Role::Owner as i32));
    assert!(event.epoch.is_some(), "{event:?}");
    assert_eq!(event.seq, Some(1), "a room's creation is its first entry");
    let announced = event.room.expect("the room");
    assert_eq!(
        (announced.name.as_str(), announced.my_role),
        ("Fresh", None)
    );
}

#[tokio::test]
async fn a_room_event_takes_the_next_position_after_a_message() {
    let app = spawn_app().await;
    let owner = user();
    let room = app.create_room(owner, "Lobby", RoomKind::Public).await;
    let visitor = user();
    let channels = [app.room_channel(&room.id), app.user_channel(visitor)];
    let mut listener = app.listen(&channels).await;

    let (sent, _) = app.send(&room.id, owner, "hello").await;
    app.join(visitor, &room.id).await.expect("joined");

    assert_eq!(sent.seq, 2, "the room's creation is its first entry");
    assert_eq!(
        listener.next_entry().await,
        (app.room_channel(&room.id), sent.clone())
    );
    let joined = listener.expect_on(&channels).await;
    assert_event(&joined, RoomEventKind::MemberJoined, Some(visitor), visitor);
    assert_eq!(
        (joined.epoch, joined.seq),
        (Some(sent.epoch), Some(sent.seq + 1)),
        "the next position, on the room's channel and the user's alike"
    );
}

#[tokio::test]
async fn joining_and_leaving_are_announced_to_the_room_and_the_user() {
    let app = spawn_app().await;
    let room = app.create_room(user(), "Lobby", RoomKind::Public).await;
    let visitor = user();
    let channels = [app.room_channel(&room.id), app.user_channel(visitor)];
    let mut listener = app.listen(&channels).await;

    app.join(visitor, &room.id).await.expect("joined");
    app.join(visitor, &room.id).await.expect("joined again");
    app.leave(visitor, &room.id).await.expect("left");

    let joined = listener.expect_on(&channels).await;
    assert_event(&joined, RoomEventKind::MemberJoined, Some(visitor), visitor);
    assert_eq!(joined.role, Some(Role::Member as i32));
    let left = listener.expect_on(&channels).await;
    assert_event(&left, RoomEventKind::MemberLeft, Some(visitor), visitor);
}

#[tokio::test]
async fn invitations_and_kicks_are_announced_to_the_room_and_the_user() {
    let app = spawn_app().await;
    let owner = user();
    let room = app.create_room(owner, "Club", RoomKind::Private).await;
    let guest = user();
    let channels = [app.room_channel(&room.id), app.user_channel(guest)];
    let mut listener = app.listen(&channels).await;

    app.invite(owner, &room.id, guest).await.expect("invited");
    app.invite(owner, &room.id, guest)
        .await
        .expect("invited again");
    app.kick(owner, &room.id, guest).await.expect("kicked");

    let invited = listener.expect_on(&channels).await;
    assert_event(&invited, RoomEventKind::MemberInvited, Some(guest), owner);
    assert_eq!(invited.role, Some(Role::Member as i32));
    let kicked = listener.expect_on(&channels).await;
    assert_event(&kicked, RoomEventKind::MemberKicked, Some(guest), owner);
}

#[tokio::test]
async fn bans_and_unbans_are_announced_to_the_room_and_the_user() {
    let app = spawn_app().await;
    let owner = user();
    let room = app.create_room(owner, "Lobby", RoomKind::Public).await;
    let troll = user();
    app.join(troll, &room.id).await.expect("joined");
    let channels = [app.room_channel(&room.id), app.user_channel(troll)];
    let mut listener = app.listen(&channels).await;
    let until = from_now(3600);

    app.ban(owner, &room.id, troll, Some(until))
        .await
        .expect("banned");
    app.unban(owner, &room.id, troll).await.expect("unbanned");

    let banned = listener.expect_on(&channels).await;
    assert_event(&banned, RoomEventKind::MemberBanned, Some(troll), owner);
    assert_eq!(banned.until, Some(until));
    let unbanned = listener.expect_on(&channels).await;
    assert_event(&unbanned, RoomEventKind::MemberUnbanned, Some(troll), owner);
}

#[tokio::test]
async fn a_handover_announces_both_role_changes() {
    let app = spawn_app().await;
    let owner = user();
    let heir = user();
    let room = app.create_room(owner, "Realm", RoomKind::Public).await;
    app.join(heir, &room.id).await.expect("joined");
    let room_channel = app.room_channel(&room.id);
    let mut listener = app
        .listen(&[
            room_channel.clone(),
            app.user_channel(heir),
            app.user_channel(owner),
        ])
        .await;

    app.set_role(owner, &room.id, heir, Role::Owner)
        .await
        .expect("handed over");

    let promoted = listener
        .expect_on(&[room_channel.clone(), app.user_channel(heir)])
        .await;
    assert_event(&promoted, RoomEventKind::RoleChanged, Some(heir), owner);
    assert_eq!(promoted.role, Some(Role::Owner as i32));
    let stepped_down = listener
        .expect_on(&[room_channel, app.user_channel(owner)])
        .await;
    assert_event(
        &stepped_down,
        RoomEventKind::RoleChanged,
        Some(owner),
        owner,
    );
    assert_eq!(stepped_down.role, Some(Role::Admin as i32));
}

#[tokio::test]
async fn an_update_is_announced_with_the_room_as_it_now_is() {
    let app = spawn_app().await;
    let owner = user();
    let room = app.create_room(owner, "Before", RoomKind::Public).await;
    let mut listener = app
        .listen(&[app.room_channel(&room.id), app.user_channel(owner)])
        .await;

    app.rename(owner, &room.id, "After").await.expect("renamed");
    app.rename(owner, &room.id, "Again").await.expect("renamed");

    let updated = listener.expect_on(&[app.room_channel(&room.id)]).await;
    assert_event(&updated, RoomEventKind::RoomUpdated, None, owner);
    assert_eq!(updated.room.expect("the room").name, "After");
    let again = listener.expect_on(&[app.room_channel(&room.id)]).await;
    assert_eq!(again.room.expect("the room").name, "Again");
}

#[tokio::test]
async fn a_deletion_is_announced_to_every_former_member() {
    let app = spawn_app().await;
    let owner = user();
    let member = user();
    let room = app.create_room(owner, "Doomed", RoomKind::Private).await;
    app.invite(owner, &room.id, member).await.expect("invited");
    let channels = [
        app.room_channel(&room.id),
        app.user_channel(owner),
        app.user_channel(member),
    ];
    let mut listener = app.listen(&channels).await;

    app.delete_room(owner, &room.id).await.expect("deleted");

    let deleted = listener.expect_on(&channels).await;
    assert_event(&deleted, RoomEventKind::RoomDeleted, None, owner);
    assert_eq!(deleted.room_id, room.id);
}

#[tokio::test]
async fn a_new_direct_room_is_announced_to_both_users_once() {
    let app = spawn_app().await;
    let (alice, bob) = (user(), user());
    let channels = [app.user_channel(alice), app.user_channel(bob)];
    let mut listener = app.listen(&channels).await;

    let room = app.open_direct(alice, bob).await.expect("opened");
    app.open_direct(bob, alice).await.expect("opened again");
    let marker = app.create_room(alice, "Marker", RoomKind::Public).await;

    let created = listener.expect_on(&channels).await;
    assert_event(&created, RoomEventKind::DirectCreated, Some(bob), alice);
    assert_eq!(created.room_id, room.id);
    assert_eq!(created.room.expect("the room").direct_user_ids.len(), 2);
    let next = listener.expect_on(&[app.user_channel(alice)]).await;
    assert_eq!(
        (next.kind(), next.room_id),
        (RoomEventKind::RoomCreated, marker.id),
        "reopening announces nothing"
    );
}
