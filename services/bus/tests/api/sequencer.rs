use std::collections::HashSet;
use std::time::Duration;

use chat_bus::keys::{RoomKeys, parse_pending_member, pending_member};
use chat_bus::{
    AppendOutcome, Appended, BusError, CatchUp, DurableAck, PersistPublisher, Sequencer,
    SequencerConfig, decode_envelope, decode_item,
};
use chat_proto::v1::room_item::Body;
use chat_proto::v1::{RoomEnvelope, RoomEventKind, RoomItem};
use futures::StreamExt;

use crate::helpers::{AMQP_URL, TestBroker, TestRedis, message, next, room, room_event};

/// The first attempt of a send, which must be new.
async fn first_attempt(sequencer: &Sequencer, item: &RoomItem) -> Appended {
    match sequencer.append_once(item).await.expect("append once") {
        AppendOutcome::New(appended) => appended,
        other => panic!("a first attempt was taken for a retry: {other:?}"),
    }
}

/// The entry of `room_id`'s sequence that a join becomes.
fn joined(room_id: &str) -> RoomItem {
    chat_bus::event_item(&room_event(
        RoomEventKind::MemberJoined,
        room_id,
        "u1",
        "u1",
    ))
    .expect("event item")
}

/// A message from `sender_id` with a time, as a gateway sends it.
fn sent_message(room_id: &str, sender_id: &str, client_msg_id: &str, content: &str) -> RoomItem {
    let mut item = message(room_id, sender_id, client_msg_id, content);
    let now = prost_types::Timestamp::from(std::time::SystemTime::now());
    item.occurred_at = Some(now);
    if let Some(Body::Message(message)) = &mut item.body {
        message.sent_at = Some(now);
    }
    item
}

async fn stream_len(redis: &TestRedis, key: &str) -> usize {
    redis::cmd("XLEN")
        .arg(key)
        .query_async(&mut redis.connection.clone())
        .await
        .expect("XLEN")
}

async fn strlen(redis: &TestRedis, key: &str) -> usize {
    redis::cmd("STRLEN")
        .arg(key)
        .query_async(&mut redis.connection.clone())
        .await
        .expect("STRLEN")
}

async fn pttl(redis: &TestRedis, key: &str) -> i64 {
    redis::cmd("PTTL")
        .arg(key)
        .query_async(&mut redis.connection.clone())
        .await
        .expect("PTTL")
}

/// The pending set and data that hold `member` (one pair per slot in a cluster).
fn pending_keys_of(redis: &TestRedis, member: &str) -> (String, String) {
    let (room, _, _) = parse_pending_member(member).expect("a pending member");
    redis.sequencer().pending_keys(room)
}

/// The envelope kept for the pending `member`.
async fn pending_data(redis: &TestRedis, member: &str) -> Option<Vec<u8>> {
    redis::cmd("HGET")
        .arg(pending_keys_of(redis, member).1)
        .arg(member)
        .query_async(&mut redis.connection.clone())
        .await
        .expect("HGET")
}

/// The score of the pending `member`, if it is in the pending set.
async fn pending_score(redis: &TestRedis, member: &str) -> Option<f64> {
    redis::cmd("ZSCORE")
        .arg(pending_keys_of(redis, member).0)
        .arg(member)
        .query_async(&mut redis.connection.clone())
        .await
        .expect("ZSCORE")
}

#[tokio::test]
async fn positions_are_dense_and_increasing_within_an_epoch() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();

    let mut positions = Vec::new();
    for n in 0..5 {
        let item = message(&room, "u1", &format!("m{n}"), "hello");
        let appended = sequencer.append(&item).await.expect("append");
        assert_eq!(appended.envelope.room_id, room);
        assert_eq!(decode_item(&appended.envelope).expect("item"), item);
        assert_eq!(
            decode_envelope(&appended.bytes).expect("bytes"),
            appended.envelope
        );
        positions.push((appended.envelope.epoch, appended.envelope.seq));
    }

    let epoch = positions[0].0;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    assert!(
        epoch.abs_diff(now_ms) < 60_000,
        "epoch {epoch} is not the time"
    );
    assert_eq!(
        positions,
        (1..=5).map(|seq| (epoch, seq)).collect::<Vec<_>>()
    );
    assert_eq!(
        sequencer
            .current_position(room.parse().expect("a room id"))
            .await
            .expect("position"),
        Some(chat_protocol::Position::new(epoch, 5))
    );
    assert_eq!(
        sequencer
            .current_position(chat_protocol::RoomId::new())
            .await
            .expect("position"),
        None
    );
    redis.cleanup().await;
}

#[tokio::test]
async fn concurrent_appends_are_dense_and_heard_in_position_order() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();
    let mut heard = redis.subscribe(&room).await;
    const TASKS: usize = 20;
    const EACH: usize = 25;

    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let sequencer = sequencer.clone();
            let room = room.clone();
            tokio::spawn(async move {
                let mut seqs = Vec::new();
                for n in 0..EACH {
                    let item = message(&room, &format!("u{task}"), &format!("m{n}"), "hi");
                    let appended = sequencer.append(&item).await.expect("append");
                    seqs.push(appended.envelope.seq);
                }
                seqs
            })
        })
        .collect();
    let mut assigned = Vec::new();
    for task in tasks {
        assigned.extend(task.await.expect("task"));
    }

    let total = (TASKS * EACH) as u64;
    assigned.sort_unstable();
    assert_eq!(assigned, (1..=total).collect::<Vec<_>>());
    let mut order = Vec::new();
    for _ in 0..total {
        order.push(next(&mut heard).await.seq);
    }
    assert_eq!(order, (1..=total).collect::<Vec<_>>());
    redis.cleanup().await;
}

#[tokio::test]
async fn a_retried_send_returns_the_original_and_publishes_nothing() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();
    let mut heard = redis.subscribe(&room).await;
    let first = message(&room, "u1", "c1", "hello");
    let retry = message(&room, "u1", "c1", "hello (retried, new server-side id)");

    let original = first_attempt(&sequencer, &first).await;
    let again = sequencer.append_once(&retry).await.expect("append again");
    let later = first_attempt(&sequencer, &message(&room, "u1", "c2", "next")).await;

    let AppendOutcome::Pending(again) = again else {
        panic!("an unconfirmed send retried must give its envelope back: {again:?}");
    };
    assert_eq!(again, original);
    assert_eq!(decode_item(&again.envelope).expect("item"), first);
    assert_eq!(later.envelope.seq, 2, "the retry took no position");
    assert_eq!(next(&mut heard).await, original.envelope);
    assert_eq!(
        next(&mut heard).await,
        later.envelope,
        "the retry was not published"
    );
    let keys = RoomKeys::new(&redis.prefix, &room);
    assert_eq!(stream_len(&redis, &keys.stream()).await, 2);
    let pending = sequencer
        .pending_older_than(Duration::ZERO, 10)
        .await
        .expect("pending");
    assert_eq!(pending, vec![original.envelope, later.envelope]);
    redis.cleanup().await;
}

#[tokio::test]
async fn a_retry_before_the_confirm_is_republished_and_a_retry_after_gets_the_compact_ack() {
    // Arrange: a first attempt whose sender died before publishing it to the broker.
    let redis = TestRedis::new().await;
    let broker = TestBroker::new().await;
    let publisher = PersistPublisher::connect(AMQP_URL, broker.names.clone())
        .await
        .expect("connect");
    let mut queue = broker.consume(&broker.names.queue).await;
    let sequencer = redis.sequencer();
    let room = room();
    let item = sent_message(&room, "u1", "c1", &"x".repeat(4000));
    let original = first_attempt(&sequencer, &item).await;
    let record = RoomKeys::new(&redis.prefix, &room).dedup("u1", "c1");

    // Act: the retry publishes what it got back, as a gateway does, then confirms.
    let retry = sequencer.append_once(&item).await.expect("retry");
    let AppendOutcome::Pending(retried) = retry else {
        panic!("the first attempt was never confirmed: {retry:?}");
    };
    publisher
        .publish(&retried.bytes, &room)
        .await
        .expect("broker confirm");
    sequencer.confirm_appended(&retried).await.expect("confirm");
    let later = sequencer.append_once(&item).await.expect("later retry");

    // Assert
    let delivery = TestBroker::receive(&mut queue).await;
    assert_eq!(
        delivery.data, original.bytes,
        "the original reached the broker"
    );
    let Some(Body::Message(message)) = &item.body else {
        unreachable!("a message")
    };
    let ack = DurableAck {
        id: message.id.clone(),
        epoch: original.envelope.epoch,
        seq: original.envelope.seq,
        sent_at: message.sent_at,
    };
    assert_eq!(later, AppendOutcome::Confirmed(ack.clone()));
    assert_eq!(DurableAck::of(&original.envelope).expect("ack"), ack);
    assert_eq!(
        retried.ack().expect("the retry's ack"),
        ack,
        "read from the original"
    );
    let record_len = strlen(&redis, &record).await;
    assert!(original.bytes.len() > 4000);
    assert!(
        record_len < 120,
        "the confirmed record holds {record_len} bytes, not the ack"
    );
    let ttl = pttl(&redis, &record).await;
    let dedup_ttl = SequencerConfig::default().dedup_ttl.as_millis() as i64;
    assert!(ttl > dedup_ttl - 60_000 && ttl <= dedup_ttl, "TTL {ttl} ms");
    assert!(
        sequencer
            .pending_older_than(Duration::ZERO, 10)
            .await
            .expect("pending")
            .is_empty()
    );
    broker.cleanup().await;
    redis.cleanup().await;
}

#[tokio::test]
async fn a_message_without_a_time_is_acknowledged_without_one() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();
    let item = message(&room, "u1", "c1", "no times at all");
    let original = first_attempt(&sequencer, &item).await;

    // The sender's path: the ack and the dedup record come from the item it appended.
    sequencer
        .confirm_appended(&original)
        .await
        .expect("confirm");
    let retry = sequencer.append_once(&item).await.expect("retry");

    let ack = DurableAck {
        id: item.id,
        epoch: original.envelope.epoch,
        seq: original.envelope.seq,
        sent_at: None,
    };
    assert_eq!(original.ack().expect("ack"), ack);
    assert_eq!(retry, AppendOutcome::Confirmed(ack));
    assert!(retry.is_duplicate());
    redis.cleanup().await;
}

#[tokio::test]
async fn a_late_confirm_leaves_the_record_of_a_newer_send_with_the_same_id_alone() {
    // Arrange: the record of a first send expired before its confirm, and the client
    // message id was used again.
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();
    let old = first_attempt(&sequencer, &message(&room, "u1", "c1", "old")).await;
    redis
        .del(&RoomKeys::new(&redis.prefix, &room).dedup("u1", "c1"))
        .await;
    let newer = first_attempt(&sequencer, &message(&room, "u1", "c1", "newer")).await;

    // Act
    sequencer.confirm(&old.envelope).await.expect("confirm");
    let retry = sequencer
        .append_once(&message(&room, "u1", "c1", "newer"))
        .await
        .expect("retry");

    // Assert: the newer send is still unconfirmed, so its retry still republishes.
    assert_eq!(retry, AppendOutcome::Pending(newer));
    redis.cleanup().await;
}

#[tokio::test]
async fn only_a_message_with_a_client_id_or_an_event_with_an_id_is_appended_once() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();
    let mut without_id = message(&room, "u1", "c1", "x");
    if let Some(Body::Message(message)) = &mut without_id.body {
        message.client_msg_id.clear();
    }
    let mut event_without_id = joined(&room);
    if let Some(Body::RoomEvent(event)) = &mut event_without_id.body {
        event.event_id.clear();
    }

    for item in [without_id, event_without_id] {
        let outcome = sequencer.append_once(&item).await;
        assert!(matches!(outcome, Err(BusError::Invalid(_))), "{outcome:?}");
    }
    assert_eq!(
        sequencer
            .current_position(room.parse().expect("a room id"))
            .await
            .expect("position"),
        None,
        "nothing was appended"
    );
    redis.cleanup().await;
}

/// The rooms service's outbox relay may append an event again after a crash: the event
/// keeps its first position, and once confirmed it is simply done.
#[tokio::test]
async fn a_room_event_is_appended_once_per_event_id() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();
    let event = joined(&room);

    let first = first_attempt(&sequencer, &event).await;
    let again = sequencer.append_once(&event).await.expect("again");
    assert_eq!(
        again,
        AppendOutcome::Pending(first.clone()),
        "before its confirm the first envelope comes back, to be announced again"
    );
    sequencer.confirm(&first.envelope).await.expect("confirm");
    match sequencer
        .append_once(&event)
        .await
        .expect("after the confirm")
    {
        AppendOutcome::Confirmed(ack) => {
            assert_eq!(
                (ack.epoch, ack.seq),
                (first.envelope.epoch, first.envelope.seq)
            );
            assert_eq!(ack.id, event.id);
        }
        other => panic!("a confirmed event was appended again: {other:?}"),
    }
    let position = sequencer
        .current_position(room.parse().expect("a room id"))
        .await
        .expect("position")
        .expect("a position");
    assert_eq!(position.seq, 1, "one entry however often it was appended");
    redis.cleanup().await;
}

#[tokio::test]
async fn dedup_is_per_sender_and_per_room() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let (room_a, room_b) = (room(), room());

    let a1 = first_attempt(&sequencer, &message(&room_a, "u1", "c1", "x")).await;
    let a2 = first_attempt(&sequencer, &message(&room_a, "u2", "c1", "x")).await;
    let b1 = first_attempt(&sequencer, &message(&room_b, "u1", "c1", "x")).await;

    assert_eq!(
        (a1.envelope.seq, a2.envelope.seq, b1.envelope.seq),
        (1, 2, 1)
    );
    redis.cleanup().await;
}

#[tokio::test]
async fn a_lost_counter_starts_a_later_epoch_from_seq_one() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();
    let before = sequencer
        .append(&message(&room, "u1", "c1", "a"))
        .await
        .expect("append");

    redis.del(&RoomKeys::new(&redis.prefix, &room).seq()).await;
    let after = sequencer
        .append(&message(&room, "u1", "c2", "b"))
        .await
        .expect("append after loss");

    assert!(after.envelope.epoch > before.envelope.epoch);
    assert_eq!(after.envelope.seq, 1);
    assert_eq!(
        sequencer
            .current_position(room.parse().expect("a room id"))
            .await
            .expect("position"),
        Some(chat_protocol::Position::new(after.envelope.epoch, 1))
    );
    redis.cleanup().await;
}

/// Appends `count` messages to `room`, returning the epoch.
async fn fill(sequencer: &chat_bus::Sequencer, room: &str, count: usize) -> u64 {
    let mut epoch = 0;
    for n in 0..count {
        let item = message(room, "u1", &format!("c{n}"), "filler");
        epoch = sequencer
            .append(&item)
            .await
            .expect("append")
            .envelope
            .epoch;
    }
    epoch
}

fn seqs(read: &chat_bus::StreamRead) -> Vec<u64> {
    read.envelopes.iter().map(|e| e.seq).collect()
}

#[tokio::test]
async fn a_short_gap_is_read_from_the_stream_page_by_page() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();
    let epoch = fill(&sequencer, &room, 10).await;

    let first = sequencer
        .read_after(&room, epoch, 4, 4)
        .await
        .expect("read");
    let rest = sequencer
        .read_after(&room, epoch, 8, 4)
        .await
        .expect("read");
    let none = sequencer
        .read_after(&room, epoch, 10, 4)
        .await
        .expect("read");

    assert_eq!(first.plan(epoch, 4), CatchUp::Stream);
    assert_eq!(seqs(&first), vec![5, 6, 7, 8]);
    assert_eq!(first.covers_from, Some(1));
    assert_eq!(first.current, Some((epoch, 10)));
    assert_eq!(seqs(&rest), vec![9, 10]);
    assert_eq!(none.plan(epoch, 10), CatchUp::UpToDate);
    assert!(none.envelopes.is_empty());
    let stored: Vec<RoomItem> = first
        .envelopes
        .iter()
        .map(|e| decode_item(e).expect("item"))
        .collect();
    assert!(stored.iter().all(|item| item.room_id == room));
    redis.cleanup().await;
}

#[tokio::test]
async fn a_gap_older_than_the_capped_stream_asks_history_for_the_older_part() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer_with(SequencerConfig {
        stream_max_len: 10,
        ..SequencerConfig::default()
    });
    let room = room();
    // Trimming with `~` drops whole stream nodes (100 entries each by default).
    let epoch = fill(&sequencer, &room, 350).await;

    let read = sequencer
        .read_after(&room, epoch, 2, 1000)
        .await
        .expect("read");

    let covers_from = read
        .covers_from
        .expect("the stream keeps the latest entries");
    assert!(covers_from > 3, "the stream was trimmed");
    assert_eq!(
        read.plan(epoch, 2),
        CatchUp::HistoryThenStream {
            history_through: covers_from - 1
        }
    );
    assert_eq!(seqs(&read), (covers_from..=350).collect::<Vec<_>>());
    let from_stream = sequencer
        .read_after(&room, epoch, covers_from - 1, 1000)
        .await
        .expect("read");
    assert_eq!(from_stream.plan(epoch, covers_from - 1), CatchUp::Stream);
    assert_eq!(from_stream.envelopes, read.envelopes);
    redis.cleanup().await;
}

#[tokio::test]
async fn a_position_of_an_older_epoch_must_resync() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();
    let old_epoch = fill(&sequencer, &room, 3).await;
    redis.del(&RoomKeys::new(&redis.prefix, &room).seq()).await;
    let new_epoch = fill(&sequencer, &room, 2).await;

    let read = sequencer
        .read_after(&room, old_epoch, 1, 100)
        .await
        .expect("read");

    assert_eq!(read.plan(old_epoch, 1), CatchUp::Resync);
    assert_eq!(read.current, Some((new_epoch, 2)));
    assert_eq!(seqs(&read), vec![2, 3], "only the old epoch's entries");
    let fresh = sequencer
        .read_after(&room, new_epoch, 0, 100)
        .await
        .expect("read");
    assert_eq!(fresh.plan(new_epoch, 0), CatchUp::Stream);
    assert_eq!(seqs(&fresh), vec![1, 2]);
    redis.cleanup().await;
}

#[tokio::test]
async fn a_room_redis_forgot_entirely_must_resync() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();
    let epoch = fill(&sequencer, &room, 3).await;
    let keys = RoomKeys::new(&redis.prefix, &room);
    redis.del(&keys.seq()).await;
    redis.del(&keys.stream()).await;

    let read = sequencer
        .read_after(&room, epoch, 3, 100)
        .await
        .expect("read");

    assert_eq!(read.current, None);
    assert_eq!(read.plan(epoch, 3), CatchUp::Resync);
    redis.cleanup().await;
}

#[tokio::test]
async fn pending_entries_are_listed_by_age_until_confirmed() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let (room_a, room_b) = (room(), room());
    let mut appended = Vec::new();
    for room in [&room_a, &room_b, &room_a] {
        let item = message(room, "u1", "c", "x");
        appended.push(sequencer.append(&item).await.expect("append").envelope);
    }

    let all = sequencer
        .pending_older_than(Duration::ZERO, 10)
        .await
        .expect("pending");
    let young = sequencer
        .pending_older_than(Duration::from_secs(3600), 10)
        .await
        .expect("pending");
    let limited = sequencer
        .pending_older_than(Duration::ZERO, 2)
        .await
        .expect("pending");
    sequencer.confirm(&appended[1]).await.expect("confirm");
    let unconfirmed = sequencer
        .pending_older_than(Duration::ZERO, 10)
        .await
        .expect("pending");

    let as_set = |envelopes: &[chat_proto::v1::RoomEnvelope]| -> HashSet<(String, u64)> {
        envelopes
            .iter()
            .map(|e| (e.room_id.clone(), e.seq))
            .collect()
    };
    assert_eq!(as_set(&all), as_set(&appended));
    assert!(young.is_empty(), "nothing is an hour old");
    assert_eq!(limited.len(), 2);
    assert_eq!(
        as_set(&unconfirmed),
        as_set(&[appended[0].clone(), appended[2].clone()])
    );
    redis.cleanup().await;
}

#[tokio::test]
async fn a_pending_entry_outlives_its_trimmed_stream() {
    // Arrange: a hot room moves far past an entry whose sender died before the confirm.
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer_with(SequencerConfig {
        stream_max_len: 10,
        ..SequencerConfig::default()
    });
    let room = room();
    let unconfirmed = sequencer
        .append(&message(&room, "u1", "c", "seen, never confirmed"))
        .await
        .expect("append")
        .envelope;
    // Trimming with `~` drops whole stream nodes (100 entries each by default).
    for n in 0..350 {
        let filler = sequencer
            .append(&message(&room, "u2", &format!("f{n}"), "filler"))
            .await
            .expect("append");
        sequencer.confirm(&filler.envelope).await.expect("confirm");
    }
    let read = sequencer
        .read_after(&room, unconfirmed.epoch, 0, 1)
        .await
        .expect("read");
    assert!(
        read.covers_from.expect("the stream keeps the latest") > unconfirmed.seq,
        "the stream dropped the entry"
    );

    // Act
    let swept = sequencer
        .pending_older_than(Duration::ZERO, 10)
        .await
        .expect("pending");

    // Assert
    assert_eq!(swept, vec![unconfirmed]);
    redis.cleanup().await;
}

#[tokio::test]
async fn a_pending_entry_whose_stream_is_gone_is_still_swept() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();
    let envelope = sequencer
        .append(&message(&room, "u1", "c", "x"))
        .await
        .expect("append")
        .envelope;
    redis
        .del(&RoomKeys::new(&redis.prefix, &room).stream())
        .await;

    let swept = sequencer
        .pending_older_than(Duration::ZERO, 10)
        .await
        .expect("pending");

    assert_eq!(swept, vec![envelope]);
    redis.cleanup().await;
}

#[tokio::test]
async fn a_confirm_removes_the_pending_entry_with_its_envelope() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let (room, other) = (room(), room());
    let confirmed = first_attempt(&sequencer, &message(&room, "u1", "c1", "x")).await;
    let event = sequencer
        .append(&joined(&room))
        .await
        .expect("append event");
    let kept = sequencer
        .append(&message(&other, "u1", "c1", "y"))
        .await
        .expect("append");
    let member =
        |envelope: &RoomEnvelope| pending_member(&envelope.room_id, envelope.epoch, envelope.seq);
    assert!(
        pending_data(&redis, &member(&confirmed.envelope))
            .await
            .is_some()
    );

    sequencer
        .confirm(&confirmed.envelope)
        .await
        .expect("confirm");
    sequencer
        .confirm(&event.envelope)
        .await
        .expect("confirm event");
    sequencer
        .confirm(&confirmed.envelope)
        .await
        .expect("confirming again does no harm");

    for gone in [&confirmed.envelope, &event.envelope] {
        assert_eq!(pending_data(&redis, &member(gone)).await, None);
        assert_eq!(pending_score(&redis, &member(gone)).await, None);
    }
    assert_eq!(
        pending_data(&redis, &member(&kept.envelope)).await,
        Some(kept.bytes.to_vec())
    );
    assert_eq!(
        sequencer
            .pending_older_than(Duration::ZERO, 10)
            .await
            .expect("pending"),
        vec![kept.envelope]
    );
    redis.cleanup().await;
}

#[tokio::test]
async fn a_pending_member_without_an_envelope_is_dropped() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();
    let envelope = sequencer
        .append(&message(&room, "u1", "c", "x"))
        .await
        .expect("append")
        .envelope;
    let by_hand = pending_member(&room, 1, 999);
    let _: i64 = redis::cmd("ZADD")
        .arg(sequencer.pending_keys(&room).0)
        .arg(0)
        .arg(&by_hand)
        .query_async(&mut redis.connection.clone())
        .await
        .expect("ZADD");

    let swept = sequencer
        .pending_older_than(Duration::ZERO, 10)
        .await
        .expect("pending");

    assert_eq!(swept, vec![envelope]);
    assert_eq!(pending_score(&redis, &by_hand).await, None);
    redis.cleanup().await;
}

#[tokio::test]
async fn an_item_without_a_room_is_refused_and_changes_nothing() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let mut item = message("", "u1", "c", "x");
    item.room_id.clear();

    let outcome = sequencer.append(&item).await;

    assert!(matches!(outcome, Err(BusError::Invalid(_))), "{outcome:?}");
    let pending = sequencer
        .pending_older_than(Duration::ZERO, 10)
        .await
        .expect("pending");
    assert!(pending.is_empty());
    redis.cleanup().await;
}

#[tokio::test]
async fn the_stream_holds_the_published_bytes() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();
    let mut heard = redis.subscribe(&room).await;
    let appended = sequencer
        .append(&message(&room, "u1", "c", "x"))
        .await
        .expect("append");

    let read = sequencer
        .read_after(&room, appended.envelope.epoch, 0, 10)
        .await
        .expect("read");

    assert_eq!(read.envelopes, vec![appended.envelope.clone()]);
    assert_eq!(heard.next().await, Some(appended.envelope));
    redis.cleanup().await;
}
