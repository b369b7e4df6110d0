//! Direct rooms: one per pair, found or created on demand, no roles or moderation.

use chat_proto::v1::{ListMyRoomsRequest, Role, RoomKind};
use futures::future::join_all;
use tonic::Code;

use crate::helpers::{assert_invalid, assert_refused, spawn_app, user};

#[tokio::test]
async fn a_pair_of_users_has_one_direct_room() {
    let app = spawn_app().await;
    let (alice, bob) = (user(), user());

    let opened = app.open_direct(alice, bob).await.expect("opened");
    let again = app.open_direct(alice, bob).await.expect("opened again");
    let from_bob = app.open_direct(bob, alice).await.expect("opened by bob");

    assert_eq!(again.id, opened.id);
    assert_eq!(from_bob.id, opened.id);
    assert_eq!(opened.kind(), RoomKind::Direct);
    assert_eq!(opened.owner_id, "");
    assert_eq!(opened.member_count, 2);
    assert_eq!(opened.my_role, Some(Role::Member as i32));
    let mut pair = vec![alice.to_string(), bob.to_string()];
    pair.sort();
    let mut listed = opened.direct_user_ids.clone();
    listed.sort();
    assert_eq!(listed, pair);
    let other_pair = app.open_direct(alice, user()).await.expect("opened");
    assert_ne!(other_pair.id, opened.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_users_opening_at_once_get_the_same_room() {
    let app = spawn_app().await;
    let (alice, bob) = (user(), user());

    let calls = (0..20).map(|i| {
        let (caller, other) = if i % 2 == 0 {
            (alice, bob)
        } else {
            (bob, alice)
        };
        let app = &app;
        async move { app.open_direct(caller, other).await.expect("opened").id }
    });
    let opened = join_all(calls).await;

    assert!(opened.iter().all(|id| *id == opened[0]), "{opened:?}");
    for member in [alice, bob] {
        let mine = app
            .client()
            .list_my_rooms(ListMyRoomsRequest {
                caller_id: member.to_string(),
                cursor: None,
                limit: 10,
            })
            .await
            .expect("listed")
            .into_inner();
        let listed: Vec<_> = mine.rooms.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(listed, vec![opened[0].as_str()]);
        assert_eq!(mine.rooms[0].member_count, 2);
    }
}

#[tokio::test]
async fn nobody_opens_a_direct_room_with_themselves() {
    let app = spawn_app().await;
    let alone = user();
    assert_invalid(app.open_direct(alone, alone).await, "user_id");
    assert_invalid(
        app.client()
            .open_direct(chat_proto::v1::OpenDirectRequest {
                caller_id: alone.to_string(),
                user_id: "nobody".into(),
            })
            .await,
        "user_id",
    );
}

#[tokio::test]
async fn a_direct_room_allows_no_roles_invitations_moderation_or_edits() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (user(), user(), user());
    let room = app.open_direct(alice, bob).await.expect("opened");
    let id = room.id.as_str();

    let direct = (Code::FailedPrecondition, "direct_room");
    assert_refused(app.rename(alice, id, "Ours").await, direct.0, direct.1);
    assert_refused(app.delete_room(alice, id).await, direct.0, direct.1);
    assert_refused(app.invite(alice, id, carol).await, direct.0, direct.1);
    assert_refused(app.kick(alice, id, bob).await, direct.0, direct.1);
    assert_refused(app.ban(alice, id, bob, None).await, direct.0, direct.1);
    assert_refused(app.unban(alice, id, bob).await, direct.0, direct.1);
    assert_refused(
        app.set_role(alice, id, bob, Role::Admin).await,
        direct.0,
        direct.1,
    );
    assert_refused(app.leave(bob, id).await, direct.0, direct.1);

    let hidden = (Code::NotFound, "room_not_found");
    assert_refused(app.get_room(carol, id).await, hidden.0, hidden.1);
    assert_refused(app.join(carol, id).await, hidden.0, hidden.1);
    assert_refused(
        app.members_page(carol, id, None, 10).await,
        hidden.0,
        hidden.1,
    );

    app.join(bob, id)
        .await
        .expect("a member joining is a no-op");
    assert_eq!(app.roles(alice, id).await.len(), 2);
}
