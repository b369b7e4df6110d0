//! Read state over many rooms: one `ReadStates` call for a user in 1,000 rooms, each with
//! a long unread tail, stays one bounded index range per room (counts stop at 100). The
//! test prints how long it took; `make test` output and docs/benchmarks.md keep the figure.

use std::time::Instant;

use chat_proto::v1::{MarkReadRequest, Position, ReadStatesRequest};
use uuid::Uuid;

use crate::helpers::spawn_app;

#[tokio::test]
async fn read_states_of_a_thousand_rooms_are_one_cheap_call() {
    // Arrange: 1,000 rooms of 300 messages by someone else; the user has read half of
    // the first room and nothing of the others.
    let (env, mut app) = spawn_app().await;
    let (user, other) = (Uuid::now_v7(), Uuid::now_v7());
    let rooms: Vec<Uuid> = (0..1000).map(|_| Uuid::now_v7()).collect();
    sqlx::query(
        "INSERT INTO messages (id, room_id, epoch, seq, sender_id, client_msg_id, content, kind, sent_at)
         SELECT gen_random_uuid(), r.room_id, 1, s.seq, $2, 'c' || s.seq, 'message ' || s.seq, 1, now()
         FROM UNNEST($1::uuid[]) AS r (room_id) CROSS JOIN generate_series(1, 300) AS s (seq)",
    )
    .bind(&rooms)
    .bind(other)
    .execute(&env.pool)
    .await
    .expect("messages inserted");
    // As autovacuum leaves a table in steady state.
    sqlx::query("VACUUM ANALYZE messages")
        .execute(&env.pool)
        .await
        .unwrap();
    app.grpc
        .mark_read(MarkReadRequest {
            user_id: user.to_string(),
            room_id: rooms[0].to_string(),
            position: Some(Position { epoch: 1, seq: 250 }),
        })
        .await
        .expect("marked");

    // Act
    let started = Instant::now();
    let states = app
        .grpc
        .read_states(ReadStatesRequest {
            user_id: user.to_string(),
            room_ids: rooms.iter().map(Uuid::to_string).collect(),
        })
        .await
        .expect("read states")
        .into_inner()
        .states;
    let took = started.elapsed();

    // Assert
    println!("read states of 1,000 rooms (300 messages each, 100+ unread): {took:?}");
    assert_eq!(states.len(), 1000);
    let first = states
        .iter()
        .find(|s| s.room_id == rooms[0].to_string())
        .unwrap();
    assert_eq!((first.unread, first.read.map(|p| p.seq)), (50, Some(250)));
    assert!(
        states
            .iter()
            .filter(|s| s.room_id != rooms[0].to_string())
            .all(|s| s.unread == 100)
    );
    let too_many = app
        .grpc
        .read_states(ReadStatesRequest {
            user_id: user.to_string(),
            room_ids: (0..1001).map(|_| Uuid::now_v7().to_string()).collect(),
        })
        .await;
    assert!(too_many.is_err());
    env.clean_up().await;
}
