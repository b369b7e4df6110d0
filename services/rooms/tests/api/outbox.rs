//! The outbox: room events are committed with their change and relayed in commit order,
//! exactly once, whatever died between the commit and the relay.

use std::time::Duration;

use chat_proto::v1::{RoomEvent, RoomEventKind, RoomKind};
use futures::future::join_all;
use prost::Message;
use uuid::Uuid;

use crate::helpers::{spawn_app, user};

/// The events of `room` in the outbox, in id order, and whether each was relayed.
async fn outbox(conn: &mut sqlx::PgConnection, room: &str) -> Vec<(RoomEvent, bool)> {
    let rows: Vec<(Vec<u8>, bool)> = sqlx::query_as(
        "SELECT event, relayed_at IS NOT NULL FROM room_event_outbox \
         WHERE room_id = $1::uuid ORDER BY id",
    )
    .bind(room)
    .fetch_all(conn)
    .await
    .expect("outbox rows");
    rows.into_iter()
        .map(|(bytes, relayed)| (RoomEvent::decode(&bytes[..]).expect("a RoomEvent"), relayed))
        .collect()
}

#[tokio::test]
async fn concurrent_changes_of_a_room_take_positions_in_commit_order() {
    let app = spawn_app().await;
    let room = app.create_room(user(), "Busy", RoomKind::Public).await;
    let mut listener = app.listen(&[app.room_channel(&room.id)]).await;
    let users: Vec<Uuid> = (0..20).map(|_| user()).collect();

    let joins = join_all(users.iter().map(|user| app.join(*user, &room.id))).await;
    assert!(joins.iter().all(Result::is_ok), "{joins:?}");

    let mut sequenced = Vec::new();
    for _ in &users {
        let (_, event) = listener.next().await;
        sequenced.push((event.seq.expect("a position"), event.event_id));
    }
    sequenced.sort();
    let committed: Vec<String> = outbox(&mut app.database().await, &room.id)
        .await
        .into_iter()
        .skip(1) // the room's creation
        .map(|(event, relayed)| {
            assert!(relayed, "answered once relayed: {event:?}");
            event.event_id
        })
        .collect();
    let by_position: Vec<String> = sequenced.into_iter().map(|(_, id)| id).collect();
    assert_eq!(by_position, committed, "positions follow the commits");
}

#[tokio::test]
async fn what_a_dead_process_left_in_the_outbox_is_relayed_exactly_once() {
    let app = spawn_app().await;
    let owner = user();
    let room = app.create_room(owner, "Lobby", RoomKind::Public).await;
    let mut listener = app.listen(&[app.room_channel(&room.id)]).await;
    let mut db = app.database().await;
    // A join committed by a process killed before it relayed the event...
    let visitor = user();
    let joined = RoomEvent {
        room_id: room.id.clone(),
        kind: RoomEventKind::MemberJoined as i32,
        actor_id: visitor.to_string(),
        user_id: visitor.to_string(),
        event_id: Uuid::now_v7().to_string(),
        occurred_at: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
        ..RoomEvent::default()
    };
    sqlx::query(
        "INSERT INTO room_event_outbox (room_id, event_id, event) VALUES ($1::uuid, $2::uuid, $3)",
    )
    .bind(&room.id)
    .bind(&joined.event_id)
    .bind(joined.encode_to_vec())
    .execute(&mut db)
    .await
    .expect("outbox row");
    // ...and the creation, relayed by a process killed before it marked it relayed.
    sqlx::query("UPDATE room_event_outbox SET relayed_at = NULL WHERE room_id = $1::uuid")
        .bind(&room.id)
        .execute(&mut db)
        .await
        .expect("unmarked");

    // The relay's own loop (no call made here) takes both.
    let (_, relayed) = listener.next().await;
    assert_eq!(relayed.event_id, joined.event_id, "only the join is new");
    assert_eq!(
        relayed.seq,
        Some(2),
        "right after the creation, which kept position 1"
    );
    let sequencer = app.sequencer().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = outbox(&mut db, &room.id).await;
        if rows.iter().all(|(_, relayed)| *relayed) {
            assert_eq!(rows.len(), 2);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still waiting: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let position = sequencer
        .current_position(room.id.parse().expect("a room id"))
        .await
        .expect("position")
        .expect("a position");
    assert_eq!(position.seq, 2, "nothing appended twice");
}
