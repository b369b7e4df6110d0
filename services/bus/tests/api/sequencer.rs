use std::collections::HashSet;
use std::time::Duration;

use chat_bus::keys::{RoomKeys, pending_key};
use chat_bus::{BusError, CatchUp, DedupKey, SequencerConfig, decode_envelope, decode_item};
use chat_proto::v1::RoomItem;
use futures::StreamExt;

use crate::helpers::{TestRedis, message, next, room};

fn dedup(sender_id: &str, client_msg_id: &str) -> DedupKey {
    DedupKey {
        sender_id: sender_id.into(),
        client_msg_id: client_msg_id.into(),
    }
}

async fn stream_len(redis: &TestRedis, key: &str) -> usize {
    redis::cmd("XLEN")
        .arg(key)
        .query_async(&mut redis.connection.clone())
        .await
        .expect("XLEN")
}

#[tokio::test]
async fn positions_are_dense_and_increasing_within_an_epoch() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let room = room();

    let mut positions = Vec::new();
    for n in 0..5 {
        let item = message(&room, "u1", &format!("m{n}"), "hello");
        let appended = sequencer.append(&item, None).await.expect("append");
        assert!(!appended.duplicate);
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
        sequencer.current_position(&room).await.expect("position"),
        Some((epoch, 5))
    );
    assert_eq!(
        sequencer
            .current_position("elsewhere")
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
                    let appended = sequencer.append(&item, None).await.expect("append");
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

    let original = sequencer
        .append(&first, Some(&dedup("u1", "c1")))
        .await
        .expect("append");
    let again = sequencer
        .append(&retry, Some(&dedup("u1", "c1")))
        .await
        .expect("append again");
    let later = sequencer
        .append(
            &message(&room, "u1", "c2", "next"),
            Some(&dedup("u1", "c2")),
        )
        .await
        .expect("append later");

    assert!(!original.duplicate);
    assert!(again.duplicate);
    assert_eq!(again.envelope, original.envelope);
    assert_eq!(again.bytes, original.bytes);
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
async fn dedup_is_per_sender_and_per_room() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let (room_a, room_b) = (room(), room());

    let a1 = sequencer
        .append(&message(&room_a, "u1", "c1", "x"), Some(&dedup("u1", "c1")))
        .await
        .expect("append");
    let a2 = sequencer
        .append(&message(&room_a, "u2", "c1", "x"), Some(&dedup("u2", "c1")))
        .await
        .expect("other sender");
    let b1 = sequencer
        .append(&message(&room_b, "u1", "c1", "x"), Some(&dedup("u1", "c1")))
        .await
        .expect("other room");

    assert!(!a1.duplicate && !a2.duplicate && !b1.duplicate);
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
        .append(&message(&room, "u1", "c1", "a"), None)
        .await
        .expect("append");

    redis.del(&RoomKeys::new(&redis.prefix, &room).seq()).await;
    let after = sequencer
        .append(&message(&room, "u1", "c2", "b"), None)
        .await
        .expect("append after loss");

    assert!(after.envelope.epoch > before.envelope.epoch);
    assert_eq!(after.envelope.seq, 1);
    assert_eq!(
        sequencer.current_position(&room).await.expect("position"),
        Some((after.envelope.epoch, 1))
    );
    redis.cleanup().await;
}

/// Appends `count` messages to `room`, returning the epoch.
async fn fill(sequencer: &chat_bus::Sequencer, room: &str, count: usize) -> u64 {
    let mut epoch = 0;
    for n in 0..count {
        let item = message(room, "u1", &format!("c{n}"), "filler");
        epoch = sequencer
            .append(&item, None)
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
        appended.push(
            sequencer
                .append(&item, None)
                .await
                .expect("append")
                .envelope,
        );
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
async fn a_pending_entry_gone_from_its_stream_is_dropped() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let (kept, lost) = (room(), room());
    let kept_envelope = sequencer
        .append(&message(&kept, "u1", "c", "x"), None)
        .await
        .expect("append")
        .envelope;
    sequencer
        .append(&message(&lost, "u1", "c", "x"), None)
        .await
        .expect("append");
    redis
        .del(&RoomKeys::new(&redis.prefix, &lost).stream())
        .await;

    let swept = sequencer
        .pending_older_than(Duration::ZERO, 10)
        .await
        .expect("pending");

    assert_eq!(swept, vec![kept_envelope]);
    let remaining: usize = redis::cmd("ZCARD")
        .arg(pending_key(&redis.prefix))
        .query_async(&mut redis.connection.clone())
        .await
        .expect("ZCARD");
    assert_eq!(remaining, 1, "the lost entry left the pending set");
    redis.cleanup().await;
}

#[tokio::test]
async fn an_item_without_a_room_is_refused_and_changes_nothing() {
    let redis = TestRedis::new().await;
    let sequencer = redis.sequencer();
    let mut item = message("", "u1", "c", "x");
    item.room_id.clear();

    let outcome = sequencer.append(&item, None).await;

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
        .append(&message(&room, "u1", "c", "x"), None)
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
