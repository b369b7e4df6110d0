//! Room events are entries of the room sequence: they take positions among the messages,
//! travel on the room channel as envelopes, reach the users they concern with their
//! position, and are persisted (or left pending for the sweeper).

use std::time::Duration;

use chat_bus::{BusError, PersistPublisher, RoomEvents, decode_envelope, decode_item};
use chat_proto::v1::{RoomEnvelope, RoomEvent, RoomEventKind, RoomItem, room_item};
use lapin::options::QueueDeleteOptions;

use crate::helpers::{AMQP_URL, TestBroker, TestRedis, message, next, room, room_event};

/// Room events published through `redis` and persisted on `broker`'s queue.
async fn room_events(redis: &TestRedis, broker: &TestBroker) -> RoomEvents {
    let publisher = PersistPublisher::connect(AMQP_URL, broker.names.clone())
        .await
        .expect("connect to rabbitmq");
    RoomEvents::new(redis.sequencer(), publisher)
}

/// The event as a user channel carries it: with the envelope's position.
fn positioned(event: &RoomEvent, envelope: &RoomEnvelope) -> RoomEvent {
    RoomEvent {
        epoch: Some(envelope.epoch),
        seq: Some(envelope.seq),
        ..event.clone()
    }
}

/// The room event an envelope carries, checking it is the entry of `event`.
#[track_caller]
fn carried_event(envelope: &RoomEnvelope, event: &RoomEvent) -> RoomEvent {
    let item = decode_item(envelope).expect("an item");
    assert_eq!(
        (item.id.as_str(), item.actor_id.as_str()),
        (event.event_id.as_str(), event.actor_id.as_str())
    );
    assert_eq!(item.occurred_at, event.occurred_at);
    match item.body {
        Some(room_item::Body::RoomEvent(carried)) => carried,
        other => panic!("not a room event: {other:?}"),
    }
}

#[tokio::test]
async fn a_room_event_takes_the_next_position_after_a_message() {
    let (redis, broker) = (TestRedis::new().await, TestBroker::new().await);
    let events = room_events(&redis, &broker).await;
    let sequencer = redis.sequencer();
    let room = room();
    let mut on_room = redis.subscribe(&room).await;
    let mut on_user = redis.subscribe_users(&["u1"]).await;
    let mut persisted = broker.consume(&broker.names.queue).await;
    let sent = message(&room, "u0", "c1", "hello");
    let joined = room_event(RoomEventKind::MemberJoined, &room, "u1", "u1");

    let before = sequencer.append(&sent).await.expect("append");
    let envelope = events.publish(&joined).await.expect("published");

    let (epoch, seq) = (before.envelope.epoch, before.envelope.seq);
    assert_eq!((envelope.epoch, envelope.seq), (epoch, seq + 1));
    assert_eq!(next(&mut on_room).await, before.envelope);
    let heard = next(&mut on_room).await;
    assert_eq!(heard, envelope);
    assert_eq!(carried_event(&heard, &joined), joined);
    let (channel, told) = next(&mut on_user).await;
    assert!(channel.ends_with("user:{u1}"), "{channel}");
    assert_eq!(told, positioned(&joined, &envelope));
    let delivery = TestBroker::receive(&mut persisted).await;
    assert_eq!(decode_envelope(&delivery.data).expect("envelope"), envelope);
    let pending = sequencer
        .pending_older_than(Duration::ZERO, 10)
        .await
        .expect("pending");
    assert_eq!(
        pending,
        vec![before.envelope],
        "the confirmed event is no longer pending; the message (never persisted here) is"
    );
    redis.cleanup().await;
    broker.cleanup().await;
}

#[tokio::test]
async fn messages_and_events_appended_together_are_dense_and_heard_in_order() {
    let (redis, broker) = (TestRedis::new().await, TestBroker::new().await);
    let events = room_events(&redis, &broker).await;
    let sequencer = redis.sequencer();
    let room = room();
    let mut on_room = redis.subscribe(&room).await;
    const EACH: usize = 20;

    let sends = {
        let (sequencer, room) = (sequencer.clone(), room.clone());
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..EACH {
                let item = message(&room, "u0", &format!("m{n}"), "hi");
                sequencer.append(&item).await.expect("append");
                ids.push(item.id);
            }
            ids
        })
    };
    let announcements = {
        let (events, room) = (events.clone(), room.clone());
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..EACH {
                let event = room_event(RoomEventKind::MemberJoined, &room, &format!("u{n}"), "u0");
                events.publish(&event).await.expect("published");
                ids.push(event.event_id);
            }
            ids
        })
    };
    let message_ids = sends.await.expect("sends");
    let event_ids = announcements.await.expect("announcements");

    let mut heard: Vec<(u64, RoomItem)> = Vec::new();
    for _ in 0..2 * EACH {
        let envelope = next(&mut on_room).await;
        heard.push((envelope.seq, decode_item(&envelope).expect("item")));
    }
    let seqs: Vec<u64> = heard.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=2 * EACH as u64).collect::<Vec<_>>());
    let ids_of = |events: bool| -> Vec<String> {
        heard
            .iter()
            .filter(|(_, item)| matches!(item.body, Some(room_item::Body::RoomEvent(_))) == events)
            .map(|(_, item)| item.id.clone())
            .collect()
    };
    assert_eq!(ids_of(false), message_ids, "messages in the order sent");
    assert_eq!(ids_of(true), event_ids, "events in the order announced");
    redis.cleanup().await;
    broker.cleanup().await;
}

#[tokio::test]
async fn a_deletion_is_the_last_entry_and_reaches_every_former_member() {
    let (redis, broker) = (TestRedis::new().await, TestBroker::new().await);
    let events = room_events(&redis, &broker).await;
    let room = room();
    let mut on_room = redis.subscribe(&room).await;
    let mut on_users = redis.subscribe_users(&["u1", "u9"]).await;
    let created = room_event(RoomEventKind::RoomCreated, &room, "u1", "u1");
    let deleted = room_event(RoomEventKind::RoomDeleted, &room, "", "u1");

    let first = events.publish(&created).await.expect("created");
    let last = events
        .publish_to_users(&deleted, ["u1", "u9"])
        .await
        .expect("deleted");

    assert_eq!((first.seq, last.seq), (1, 2));
    assert_eq!(first.epoch, last.epoch);
    assert_eq!(next(&mut on_room).await, first);
    assert_eq!(carried_event(&next(&mut on_room).await, &deleted), deleted);
    let mut told = Vec::new();
    for _ in 0..3 {
        let (channel, event) = next(&mut on_users).await;
        let Some(chat_bus::Channel::User(user)) = chat_bus::Channel::parse(&redis.prefix, &channel)
        else {
            panic!("not a user channel: {channel}")
        };
        told.push((user.to_owned(), event));
    }
    assert_eq!(
        told[0],
        ("u1".to_owned(), positioned(&created, &first)),
        "the creator hears of the new room first"
    );
    let mut deletions = told[1..].to_vec();
    deletions.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        deletions,
        vec![
            ("u1".to_owned(), positioned(&deleted, &last)),
            ("u9".to_owned(), positioned(&deleted, &last)),
        ]
    );
    redis.cleanup().await;
    broker.cleanup().await;
}

#[tokio::test]
async fn an_event_the_broker_did_not_take_is_published_and_left_pending_for_the_sweeper() {
    let (redis, broker) = (TestRedis::new().await, TestBroker::new().await);
    let events = room_events(&redis, &broker).await;
    let sequencer = redis.sequencer();
    broker
        .channel
        .queue_delete(&broker.names.queue, QueueDeleteOptions::default())
        .await
        .expect("delete queue");
    let room = room();
    let mut on_room = redis.subscribe(&room).await;
    let kicked = room_event(RoomEventKind::MemberKicked, &room, "u1", "u0");

    let envelope = events
        .publish(&kicked)
        .await
        .expect("published all the same");

    assert_eq!(next(&mut on_room).await, envelope);
    let pending = sequencer
        .pending_older_than(Duration::ZERO, 10)
        .await
        .expect("pending");
    assert_eq!(
        pending,
        vec![envelope],
        "the sweeper finds it in the stream"
    );
    redis.cleanup().await;
    broker.cleanup().await;
}

#[tokio::test]
async fn an_event_without_an_id_takes_no_position() {
    let (redis, broker) = (TestRedis::new().await, TestBroker::new().await);
    let events = room_events(&redis, &broker).await;
    let room = room();
    let mut nameless = room_event(RoomEventKind::MemberLeft, &room, "u1", "u1");
    nameless.event_id.clear();

    let outcome = events.publish(&nameless).await;

    assert!(matches!(outcome, Err(BusError::Invalid(_))), "{outcome:?}");
    assert_eq!(
        redis
            .sequencer()
            .current_position(room.parse().expect("a room id"))
            .await
            .expect("position"),
        None
    );
    redis.cleanup().await;
    broker.cleanup().await;
}
