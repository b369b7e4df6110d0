//! The consumer: what is published reaches PostgreSQL once, in order, whatever happens
//! to the delivery or to the consumer.

use chat_proto::v1::{Position, room_item};
use prost::Message as _;

use crate::helpers::{AMQP_URL, Room, TestEnv, eventually, item_of, migrations_before, spawn_app};

/// The version of the migration that adds `changes_before_message`.
const WAITING_TABLE: i64 = 20261205000004;

#[tokio::test]
async fn published_envelopes_are_stored_and_listed_in_position_order() {
    // Arrange
    let (env, mut app) = spawn_app().await;
    let mut room = Room::new();
    let envelopes = vec![
        room.member_joined(),
        room.message("first"),
        room.message("second"),
        room.message("third"),
    ];

    // Act
    for envelope in &envelopes {
        env.publish(envelope).await;
    }
    env.wait_for_entries(room.id, 4).await;

    // Assert
    let page = app.entries(room.id, room.epoch).await;
    let listed: Vec<_> = page
        .entries
        .iter()
        .map(|entry| {
            (
                entry.position.expect("position"),
                entry.item.clone().expect("item"),
            )
        })
        .collect();
    let expected: Vec<_> = envelopes
        .iter()
        .map(|envelope| {
            (
                Position {
                    epoch: envelope.epoch,
                    seq: envelope.seq,
                },
                item_of(envelope),
            )
        })
        .collect();
    assert_eq!(listed, expected);
    assert!(!page.has_more);

    let messages = app.messages(room.id).await;
    let contents: Vec<_> = messages
        .messages
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(contents, ["first", "second", "third"]);

    app.stop().await;
    env.clean_up().await;
}

#[tokio::test]
async fn an_envelope_delivered_twice_is_stored_once() {
    // Arrange
    let (env, app) = spawn_app().await;
    let mut room = Room::new();
    let first = room.message("once");
    let second = room.message("after it");

    // Act: the same envelope twice (a gateway's retry, a redelivery), then another.
    env.publish(&first).await;
    env.publish(&first).await;
    env.publish(&second).await;
    env.wait_for_entries(room.id, 2).await;

    // Assert: the queue is consumed in order, so once `second` is stored both copies of
    // `first` were handled.
    assert_eq!(env.stored_entries(room.id).await, 2);
    assert_eq!(env.stored_messages(room.id).await, 2);
    // Each message is planned for notification once: the redelivered copy added nothing
    // to the outbox (no rooms service runs here, so the outbox keeps what it got).
    let pool = sqlx::PgPool::connect(&env.database_url).await.expect("db");
    let planned: i64 = sqlx::query_scalar("SELECT count(*) FROM notification_outbox")
        .fetch_one(&pool)
        .await
        .expect("outbox");
    assert_eq!(planned, 2);
    pool.close().await;

    app.stop().await;
    env.clean_up().await;
}

#[tokio::test]
async fn an_undecodable_payload_is_dead_lettered_and_the_next_message_is_still_stored() {
    // Arrange
    let (env, app) = spawn_app().await;
    let mut room = Room::new();
    let mut bad_uuid = room.message("bad sender");
    bad_uuid.room_id = "not-a-uuid".to_owned();
    let valid = room.message("fine");

    // Act
    env.publish_raw(b"\xff\xfe not protobuf").await;
    env.publish(&bad_uuid).await;
    env.publish(&valid).await;
    env.wait_for_entries(room.id, 1).await;

    // Assert
    let mut dead = vec![env.next_dead_letter().await, env.next_dead_letter().await];
    dead.sort();
    let mut expected = vec![
        b"\xff\xfe not protobuf".to_vec(),
        prost::Message::encode_to_vec(&bad_uuid),
    ];
    expected.sort();
    assert_eq!(dead, expected);
    assert_eq!(env.stored_entries(room.id).await, 1);

    app.stop().await;
    env.clean_up().await;
}

#[tokio::test]
async fn deliveries_in_hand_when_the_consumer_dies_are_redelivered_and_stored_once() {
    // Arrange: a first message stored, then PostgreSQL made to hang the next batch.
    let env = TestEnv::new().await;
    let first_app = env.start(&["--shutdown-grace", "1s"]).await;
    let mut room = Room::new();
    let first = room.message("stored before the crash");
    env.publish(&first).await;
    env.wait_for_entries(room.id, 1).await;

    let mut lock = env.pool.begin().await.expect("begin");
    sqlx::query("LOCK TABLE room_entries IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .expect("lock the table");
    let later = [room.message("a"), room.message("b"), room.message("c")];
    for envelope in &later {
        env.publish(envelope).await;
    }
    env.publish(&first).await;
    crate::helpers::eventually("every delivery handed to the consumer", || async {
        (env.ready_in_queue().await == 0).then_some(())
    })
    .await;

    // Act: the consumer is stopped while its batch cannot commit; after the grace it is
    // abandoned unacknowledged.
    let stopping = tokio::spawn(first_app.stop());
    // The four published while locked, and the first one too when its acknowledgement
    // had not gone out before the lock (it is committed, so its redelivery is a duplicate).
    crate::helpers::eventually("the deliveries back in the queue", || async {
        (env.ready_in_queue().await >= 4).then_some(())
    })
    .await;
    lock.rollback().await.expect("unlock");
    stopping.await.expect("the first service stops");
    assert_eq!(env.stored_entries(room.id).await, 1);

    let second_app = env.start(&[]).await;
    env.wait_for_entries(room.id, 4).await;

    // Assert
    let mut grpc = second_app.grpc.clone();
    let page = grpc
        .list_messages(chat_proto::v1::ListMessagesRequest {
            room_id: room.id.to_string(),
            ..Default::default()
        })
        .await
        .expect("list messages")
        .into_inner();
    let contents: Vec<_> = page.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents, ["stored before the crash", "a", "b", "c"]);
    assert_eq!(env.stored_entries(room.id).await, 4);

    second_app.stop().await;
    env.clean_up().await;
}

#[tokio::test]
async fn a_stopped_service_stores_what_it_received_and_a_new_one_carries_on() {
    // Arrange
    let env = TestEnv::new().await;
    let first_app = env.start(&[]).await;
    let mut room = Room::new();
    let before = room.message("before the restart");
    env.publish(&before).await;
    env.wait_for_entries(room.id, 1).await;

    // Act
    first_app.stop().await;
    let after = room.message("during the restart");
    env.publish(&after).await;
    let second_app = env.start(&[]).await;
    env.wait_for_entries(room.id, 2).await;

    // Assert
    assert_eq!(env.stored_entries(room.id).await, 2);

    second_app.stop().await;
    env.clean_up().await;
}

#[tokio::test]
async fn the_ops_listener_reports_readiness_and_persistence_metrics() {
    // Arrange
    let (env, app) = spawn_app().await;
    let mut room = Room::new();
    env.publish(&room.message("counted")).await;
    env.wait_for_entries(room.id, 1).await;
    let http = reqwest::Client::new();

    // Act
    let ready = http
        .get(format!("http://{}/readyz", app.ops_addr))
        .send()
        .await
        .expect("GET /readyz");
    // The batch's metrics are recorded just after its commit, which the row above may
    // have been seen before: scrape until they appear, within a bound.
    let names = [
        "chat_history_persisted_total",
        "chat_history_batch_size",
        "chat_history_batch_duration_seconds",
    ];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let metrics = loop {
        let metrics = http
            .get(format!("http://{}/metrics", app.ops_addr))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics body");
        if names.iter().all(|name| metrics.contains(name)) || tokio::time::Instant::now() > deadline
        {
            break metrics;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };

    // Assert
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    for name in names {
        assert!(metrics.contains(name), "{name} missing from:\n{metrics}");
    }

    app.stop().await;
    env.clean_up().await;
}

#[tokio::test]
async fn rooms_spread_over_several_queues_are_all_stored_in_order() {
    // Arrange: four queues, and rooms until every queue has some.
    let mut env = TestEnv::new().await;
    env.queue = env.queue.clone().spread_over(4);
    let mut app = env.start(&["--persist-queues", "4"]).await;
    let publisher = chat_bus::PersistPublisher::connect(AMQP_URL, env.queue.clone())
        .await
        .expect("connect the publisher");
    let mut rooms: Vec<Room> = Vec::new();
    while env.queue.queues.iter().any(|queue| {
        !rooms
            .iter()
            .any(|room| env.queue.queue_of(&room.id.to_string()) == queue)
    }) {
        rooms.push(Room::new());
    }

    // Act: each room's messages through its own queue, as a gateway publishes them.
    for room in &mut rooms {
        for n in 0..3 {
            let envelope = room.message(&format!("message {n}"));
            publisher
                .publish(&envelope.encode_to_vec(), &envelope.room_id)
                .await
                .expect("published and confirmed");
        }
    }

    // Assert: every queue is consumed, every room's entries stored in position order.
    for room in &rooms {
        env.wait_for_entries(room.id, 3).await;
        let page = app.entries(room.id, room.epoch).await;
        let seqs: Vec<u64> = page
            .entries
            .iter()
            .map(|entry| entry.position.expect("position").seq)
            .collect();
        assert_eq!(seqs, [1, 2, 3]);
    }
    for queue in &env.queue.queues {
        assert_eq!(env.ready_in(queue).await, 0, "{queue} drained");
    }
    app.stop().await;
    env.clean_up().await;
}

/// What waits in `changes_before_message` for a room's messages.
async fn changes_waiting(env: &TestEnv, room: &Room) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM changes_before_message WHERE room_id = $1")
        .bind(room.id)
        .fetch_one(&env.pool)
        .await
        .expect("count waiting changes")
}

#[tokio::test]
async fn a_deletion_stored_before_its_message_erases_it_when_it_comes() {
    // Arrange: the message is edited, then deleted; both changes reach history first (a
    // message swept from Redis late).
    let (env, mut app) = spawn_app().await;
    let mut room = Room::new();
    let message = room.message("regrettable");
    let edit = room.edit(&message, "still regrettable");
    let deletion = room.delete(&message);
    let kept = room.message("fine");
    let edit_kept = room.edit(&kept, "fine, edited");
    for envelope in [&edit, &deletion, &kept, &edit_kept] {
        env.publish(envelope).await;
    }
    env.wait_for_entries(room.id, 4).await;
    assert_eq!(changes_waiting(&env, &room).await, 2, "both changes wait");

    // Act
    env.publish(&message).await;
    env.wait_for_entries(room.id, 5).await;

    // Assert: the message is deleted, in its row and in the sequence a catch-up replays,
    // and nothing waits any more.
    let page = app.messages(room.id).await;
    let shown: Vec<_> = page
        .messages
        .iter()
        .map(|m| (m.content.as_str(), m.deleted_at.is_some()))
        .collect();
    assert_eq!(shown, [("", true), ("fine, edited", false)]);
    let entries = app.entries(room.id, room.epoch).await;
    let replayed = format!("{:?}", entries.entries);
    assert!(
        !replayed.contains("regrettable"),
        "the deleted content is replayed: {replayed}"
    );
    assert_eq!(changes_waiting(&env, &room).await, 0);

    app.stop().await;
    env.clean_up().await;
}

#[tokio::test]
async fn a_message_and_its_edit_stored_at_once_by_two_writers_meet() {
    // Arrange: one writer stores a message (with a member's arrival), another its edit
    // (two replicas, or a consumer and the sweeper). The message's transaction is held
    // just before it commits (a lock on the new member's read position) until the edit's
    // has committed: neither could see the other's rows.
    let (env, app) = spawn_app().await;
    let store = chat_history::store::Store::new(env.pool.clone());
    let mut room = Room::new();
    let message = room.message("draft");
    let joined = room.member_joined();
    let edit = room.edit(&message, "final");
    let entry = |envelope: &chat_proto::v1::RoomEnvelope| {
        chat_history::entry::Entry::from_envelope(envelope.clone()).expect("entry")
    };
    let member = item_of(&joined);
    let Some(room_item::Body::RoomEvent(event)) = member.body else {
        panic!("a room event");
    };
    let member: uuid::Uuid = event.user_id.parse().expect("member id");
    sqlx::query("INSERT INTO read_positions (user_id, room_id, epoch, seq) VALUES ($1, $2, 1, 1)")
        .bind(member)
        .bind(room.id)
        .execute(&env.pool)
        .await
        .expect("a read position to hold");
    let mut holder = env.pool.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM read_positions WHERE user_id = $1 FOR UPDATE")
        .bind(member)
        .execute(&mut *holder)
        .await
        .expect("hold the read position");

    // Act: the message's batch runs until it waits for the held row, then the edit's
    // batch runs to its end, then the message's commits.
    let batch = [entry(&message), entry(&joined)];
    let storing_message = store.insert(&batch);
    let edit_then_release = async {
        eventually("the message's batch to wait for the held row", || async {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&env.pool)
            .await
            .expect("read pg_stat_activity");
            (waiting > 0).then_some(())
        })
        .await;
        store.insert(&[entry(&edit)]).await.expect("store the edit");
        holder.rollback().await.expect("release the read position");
    };
    let (stored, ()) = tokio::join!(storing_message, edit_then_release);
    stored.expect("store the message");

    // Assert: the message shows its edit, and nothing is left waiting.
    let content: String = sqlx::query_scalar("SELECT content FROM messages WHERE room_id = $1")
        .bind(room.id)
        .fetch_one(&env.pool)
        .await
        .expect("read the message");
    assert_eq!(content, "final");
    assert_eq!(changes_waiting(&env, &room).await, 0);

    app.stop().await;
    env.clean_up().await;
}

#[tokio::test]
async fn changes_already_waiting_when_the_table_comes_are_kept_for_their_message() {
    // Arrange: a database of the release before the waiting table, holding a message
    // with its edit, and the edit of a message not stored yet (still pending in Redis).
    let env = TestEnv::new().await;
    migrations_before(WAITING_TABLE)
        .run(&env.pool)
        .await
        .expect("the migrations before");
    let store = chat_history::store::Store::new(env.pool.clone());
    let mut room = Room::new();
    let stored = room.message("stored");
    let stored_edit = room.edit(&stored, "stored, edited");
    let late = room.message("draft");
    let late_edit = room.edit(&late, "final");
    for (envelope, kind, subject) in [
        (&stored, "message", None),
        (&stored_edit, "message_edited", Some(&stored)),
        (&late_edit, "message_edited", Some(&late)),
    ] {
        let item = item_of(envelope);
        let subject = subject.map(|message| item_of(message).id.parse::<uuid::Uuid>().expect("id"));
        sqlx::query(
            "INSERT INTO room_entries (room_id, epoch, seq, id, kind, actor_id, subject_id,
                                       occurred_at, item)
             VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8)",
        )
        .bind(room.id)
        .bind(envelope.epoch as i64)
        .bind(envelope.seq as i64)
        .bind(item.id.parse::<uuid::Uuid>().expect("id"))
        .bind(kind)
        .bind(room.sender)
        .bind(subject)
        .bind(&envelope.item)
        .execute(&env.pool)
        .await
        .expect("an entry of the earlier release");
    }
    sqlx::query(
        "INSERT INTO messages (id, room_id, epoch, seq, sender_id, client_msg_id, content, kind,
                               sent_at)
         VALUES ($1, $2, $3, $4, $5, 'c1', 'stored, edited', 1, now())",
    )
    .bind(item_of(&stored).id.parse::<uuid::Uuid>().expect("id"))
    .bind(room.id)
    .bind(stored.epoch as i64)
    .bind(stored.seq as i64)
    .bind(room.sender)
    .execute(&env.pool)
    .await
    .expect("a message of the earlier release");

    // Act
    chat_history::MIGRATOR
        .run(&env.pool)
        .await
        .expect("the waiting table");
    let kept = changes_waiting(&env, &room).await;
    let entry = chat_history::entry::Entry::from_envelope(late.clone()).expect("entry");
    store.insert(&[entry]).await.expect("the late message");

    // Assert: only the edit without its message was kept, and its message took it.
    assert_eq!(kept, 1);
    let contents: Vec<String> =
        sqlx::query_scalar("SELECT content FROM messages WHERE room_id = $1 ORDER BY seq")
            .bind(room.id)
            .fetch_all(&env.pool)
            .await
            .expect("read messages");
    assert_eq!(contents, ["stored, edited", "final"]);
    assert_eq!(changes_waiting(&env, &room).await, 0);
    env.clean_up().await;
}
