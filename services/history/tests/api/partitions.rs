//! messages and room_entries are partitioned by hash of room: a room's reads touch its
//! partition only, through the same indexes, and the migration from the single tables
//! keeps every row and every rule.

use uuid::Uuid;

use crate::helpers::{Room, TestEnv, migrations_before, spawn_app};

/// The version of the migration that partitions the tables.
const PARTITIONING: i64 = 20261205000001;

/// The plan of a statement as PostgreSQL runs a prepared one (a generic plan, pruned when
/// it starts, like sqlx's statements after a few runs). A test's tables are a few rows,
/// which a sequential scan reads fastest: sequential scans are turned off so the plan
/// shows whether an index serves the statement (on a real table the planner picks it).
async fn generic_plan(pool: &sqlx::PgPool, prepare: &str, execute: &str) -> String {
    let mut conn = pool.acquire().await.expect("a connection");
    for statement in [
        "SET plan_cache_mode = force_generic_plan",
        "SET enable_seqscan = off",
        prepare,
    ] {
        sqlx::raw_sql(statement)
            .execute(&mut *conn)
            .await
            .expect("prepared");
    }
    let lines: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {execute}"))
        .fetch_all(&mut *conn)
        .await
        .expect("a plan");
    lines.join("\n")
}

#[tokio::test]
async fn a_rooms_reads_touch_its_partition_through_its_indexes() {
    let (env, app) = spawn_app().await;
    let mut room = Room::new();
    for n in 0..20 {
        env.publish(&room.message(&format!("hello {n}"))).await;
    }
    env.wait_for_entries(room.id, 20).await;

    let partitions: Vec<(String, i64)> = sqlx::query_as(
        "SELECT parent.relname::text, count(*) FROM pg_inherits
         JOIN pg_class parent ON parent.oid = inhparent
         WHERE parent.relname IN ('messages', 'room_entries') GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&env.pool)
    .await
    .expect("partitions");
    assert_eq!(
        partitions,
        [("messages".into(), 16), ("room_entries".into(), 16)]
    );
    let holding: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT tableoid) FROM messages WHERE room_id = $1")
            .bind(room.id)
            .fetch_one(&env.pool)
            .await
            .expect("partitions holding the room");
    assert_eq!(holding, 1, "a room's messages are in one partition");

    let page = generic_plan(
        &env.pool,
        "PREPARE page(uuid, bigint, bigint) AS SELECT id, content FROM messages
         WHERE room_id = $1 AND (epoch, seq) < ($2, $3) ORDER BY epoch DESC, seq DESC LIMIT 50",
        &format!("EXECUTE page('{}', {}, 100)", room.id, room.epoch),
    )
    .await;
    assert!(page.contains("Subplans Removed: 15"), "{page}");
    assert!(page.contains("room_id_epoch_seq_key"), "{page}");
    assert!(!page.contains("Seq Scan"), "{page}");

    let after = generic_plan(
        &env.pool,
        "PREPARE after(uuid, bigint, bigint) AS SELECT item FROM room_entries
         WHERE room_id = $1 AND (epoch, seq) > ($2, $3) ORDER BY epoch, seq LIMIT 500",
        &format!("EXECUTE after('{}', {}, 0)", room.id, room.epoch),
    )
    .await;
    assert!(after.contains("Subplans Removed: 15"), "{after}");
    assert!(after.contains("room_entries_p"), "{after}");
    assert!(!after.contains("Seq Scan"), "{after}");

    let by_id = generic_plan(
        &env.pool,
        "PREPARE by_id(uuid[]) AS SELECT id FROM messages WHERE id = ANY($1)",
        &format!("EXECUTE by_id(ARRAY['{}'::uuid])", Uuid::now_v7()),
    )
    .await;
    assert!(
        !by_id.contains("Seq Scan"),
        "each partition's id index: {by_id}"
    );

    // A deleted message's replies (their quoted excerpt is erased) are found by index.
    let replies = generic_plan(
        &env.pool,
        "PREPARE replies(uuid, uuid) AS SELECT id FROM messages
         WHERE room_id = $1 AND reply_to = $2",
        &format!("EXECUTE replies('{}', '{}')", room.id, Uuid::now_v7()),
    )
    .await;
    assert!(replies.contains("Subplans Removed: 15"), "{replies}");
    assert!(replies.contains("reply_to_idx"), "{replies}");
    app.stop().await;
    env.clean_up().await;
}

#[tokio::test]
async fn the_migration_moves_every_row_of_the_single_tables_and_keeps_their_rules() {
    let env = TestEnv::new().await;
    migrations_before(PARTITIONING)
        .run(&env.pool)
        .await
        .expect("the migrations before");
    let rooms = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
    for (n, room) in rooms.iter().enumerate() {
        sqlx::query(
            "INSERT INTO messages (id, room_id, epoch, seq, sender_id, client_msg_id, content, kind, sent_at)
             SELECT gen_random_uuid(), $1, 1, g, $2, 'c' || g, 'message ' || g, 1, now()
             FROM generate_series(1, $3) g",
        )
        .bind(room)
        .bind(Uuid::now_v7())
        .bind(10 * (n as i32 + 1))
        .execute(&env.pool)
        .await
        .expect("old messages");
    }
    sqlx::query(
        "INSERT INTO room_entries (room_id, epoch, seq, id, kind, actor_id, occurred_at, item)
         SELECT room_id, epoch, seq, id, 'message', sender_id, sent_at, '\\x00' FROM messages",
    )
    .execute(&env.pool)
    .await
    .expect("old entries");
    let snapshot = "SELECT room_id, seq, id, content FROM messages ORDER BY room_id, seq";
    let old: Vec<(Uuid, i64, Uuid, String)> = sqlx::query_as(snapshot)
        .fetch_all(&env.pool)
        .await
        .expect("old rows");

    chat_history::MIGRATOR
        .run(&env.pool)
        .await
        .expect("the partitioning");

    let moved: Vec<(Uuid, i64, Uuid, String)> = sqlx::query_as(snapshot)
        .fetch_all(&env.pool)
        .await
        .expect("moved rows");
    assert_eq!(moved.len(), 60);
    assert_eq!(moved, old);
    let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM room_entries")
        .fetch_one(&env.pool)
        .await
        .expect("entries");
    assert_eq!(entries, 60);
    // A redelivered message is still skipped, and a second send of one client id refused.
    let again = sqlx::query(
        "INSERT INTO messages (id, room_id, epoch, seq, sender_id, client_msg_id, content, kind, sent_at)
         SELECT id, room_id, epoch, seq, sender_id, client_msg_id, content, kind, sent_at
         FROM messages ON CONFLICT DO NOTHING",
    )
    .execute(&env.pool)
    .await
    .expect("redelivered");
    assert_eq!(again.rows_affected(), 0);
    let twice = sqlx::query(
        "INSERT INTO messages (id, room_id, epoch, seq, sender_id, client_msg_id, content, kind, sent_at)
         SELECT gen_random_uuid(), room_id, epoch, seq + 1000, sender_id, client_msg_id, content, kind, sent_at
         FROM messages LIMIT 1",
    )
    .execute(&env.pool)
    .await;
    assert!(twice.is_err(), "one client message id per sender and room");
    let search: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM messages WHERE room_id = $1 AND search @@ to_tsquery('simple', 'message')",
    )
    .bind(rooms[2])
    .fetch_one(&env.pool)
    .await
    .expect("search");
    assert_eq!(search, 30, "the generated search column is filled again");
    env.clean_up().await;
}
