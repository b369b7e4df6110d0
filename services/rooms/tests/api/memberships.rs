//! The membership checks the gateway runs for every message and socket.

use chat_proto::v1::{CheckMembershipRequest, ListMembershipsRequest, Membership, Role, RoomKind};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_invalid, spawn_app, user};

async fn check(app: &TestApp, room: &str, user: Uuid) -> Membership {
    app.client()
        .check_membership(CheckMembershipRequest {
            room_id: room.into(),
            user_id: user.to_string(),
        })
        .await
        .expect("checked")
        .into_inner()
}

async fn memberships(app: &TestApp, user: Uuid) -> Vec<String> {
    let mut ids = app
        .client()
        .list_memberships(ListMembershipsRequest {
            user_id: user.to_string(),
        })
        .await
        .expect("listed")
        .into_inner()
        .room_ids;
    ids.sort();
    ids
}

#[tokio::test]
async fn a_membership_check_tells_role_and_kind() {
    let app = spawn_app().await;
    let owner = user();
    let room = app.create_room(owner, "Checked", RoomKind::Public).await;
    let (joiner, stranger, banned) = (user(), user(), user());
    app.join(joiner, &room.id).await.expect("joined");
    app.join(banned, &room.id).await.expect("joined");
    app.ban(owner, &room.id, banned, None)
        .await
        .expect("banned");

    let owned = check(&app, &room.id, owner).await;
    assert_eq!(
        (owned.is_member, owned.role, owned.kind()),
        (true, Some(Role::Owner as i32), RoomKind::Public)
    );
    let joined = check(&app, &room.id, joiner).await;
    assert_eq!(
        (joined.is_member, joined.role),
        (true, Some(Role::Member as i32))
    );
    for outsider in [stranger, banned] {
        let outside = check(&app, &room.id, outsider).await;
        assert_eq!(
            (outside.is_member, outside.role, outside.kind()),
            (false, None, RoomKind::Public)
        );
    }
    let unknown = check(&app, &user().to_string(), owner).await;
    assert_eq!(
        (unknown.is_member, unknown.kind()),
        (false, RoomKind::Unspecified)
    );
    assert_invalid(
        app.client()
            .check_membership(CheckMembershipRequest {
                room_id: "x".into(),
                user_id: owner.to_string(),
            })
            .await,
        "room_id",
    );
}

#[tokio::test]
async fn memberships_follow_joins_and_leaves() {
    let app = spawn_app().await;
    let me = user();
    let owned = app.create_room(me, "Mine", RoomKind::Private).await;
    let public = app.create_room(user(), "Open", RoomKind::Public).await;
    app.join(me, &public.id).await.expect("joined");
    let direct = app.open_direct(user(), me).await.expect("opened");

    let mut expected = vec![owned.id.clone(), public.id.clone(), direct.id.clone()];
    expected.sort();
    assert_eq!(memberships(&app, me).await, expected);

    app.leave(me, &public.id).await.expect("left");
    let mut expected = vec![owned.id, direct.id];
    expected.sort();
    assert_eq!(memberships(&app, me).await, expected);
    assert!(memberships(&app, user()).await.is_empty());
    assert_invalid(
        app.client()
            .list_memberships(ListMembershipsRequest {
                user_id: "me".into(),
            })
            .await,
        "user_id",
    );
}

#[tokio::test]
async fn memberships_come_earliest_joined_first_with_the_people_of_direct_rooms() {
    let app = spawn_app().await;
    // A direct room stores its pair ordered: I am the higher id of one pair and the
    // lower of the other, so both columns are read.
    let mut ids = [user(), user(), user()];
    ids.sort();
    let [below, me, above] = ids;
    let first = app.create_room(me, "First", RoomKind::Private).await;
    let with_one = app.open_direct(me, below).await.expect("opened");
    let second = app.create_room(me, "Second", RoomKind::Public).await;
    let with_other = app.open_direct(above, me).await.expect("opened");

    let listed = app
        .client()
        .list_memberships(ListMembershipsRequest {
            user_id: me.to_string(),
        })
        .await
        .expect("listed")
        .into_inner();

    assert_eq!(
        listed.room_ids,
        [first.id, with_one.id, second.id, with_other.id]
    );
    let mut partners = listed.direct_partners;
    partners.sort();
    let mut expected = vec![below.to_string(), above.to_string()];
    expected.sort();
    assert_eq!(partners, expected);
}
