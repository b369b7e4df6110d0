use std::collections::HashSet;
use std::time::Duration;

use chat_bus::{BusError, PersistPublisher, declare_topology, extract_trace_context};
use chat_proto::v1::RoomEnvelope;
use lapin::options::{BasicNackOptions, QueueDeleteOptions};
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use prost::Message as _;

use crate::helpers::{Relay, TestBroker, message, room};

/// An encoded envelope of `room_id` at `seq`, as the sequencer would produce it.
fn envelope(room_id: &str, seq: u64) -> Vec<u8> {
    RoomEnvelope {
        epoch: 1_763_700_000_000,
        seq,
        item: message(room_id, "u1", &format!("c{seq}"), "hello").encode_to_vec(),
        room_id: room_id.to_owned(),
    }
    .encode_to_vec()
}

fn header<'a>(delivery: &'a lapin::message::Delivery, name: &str) -> Option<&'a str> {
    let headers = delivery.properties.headers().as_ref()?;
    let value = headers.inner().get(name)?.as_long_string()?;
    std::str::from_utf8(value.as_bytes()).ok()
}

#[tokio::test]
async fn a_confirmed_envelope_reaches_the_queue_with_its_trace_context() {
    let broker = TestBroker::new().await;
    let publisher = PersistPublisher::connect(crate::helpers::AMQP_URL, broker.names.clone())
        .await
        .expect("connect");
    let mut consumer = broker.consume(&broker.names.queue).await;
    let room = room();
    let bytes = envelope(&room, 7);
    let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("trace id");
    let caller = opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
        trace_id,
        SpanId::from_hex("00f067aa0ba902b7").expect("span id"),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ));

    publisher
        .publish(&bytes, &room)
        .with_context(caller)
        .await
        .expect("confirmed");

    let delivery = TestBroker::receive(&mut consumer).await;
    assert_eq!(delivery.data, bytes);
    assert_eq!(delivery.properties.delivery_mode(), &Some(2));
    assert_eq!(
        delivery
            .properties
            .content_type()
            .as_ref()
            .map(|t| t.as_str()),
        Some("application/x-protobuf")
    );
    let expected_id = format!("{room}|1763700000000|7");
    assert_eq!(
        delivery
            .properties
            .message_id()
            .as_ref()
            .map(|t| t.as_str()),
        Some(expected_id.as_str())
    );
    let traceparent = header(&delivery, "traceparent").expect("traceparent");
    assert!(
        traceparent.contains("4bf92f3577b34da6a3ce929d0e0e4736"),
        "{traceparent}"
    );
    let headers = delivery.properties.headers().as_ref().expect("headers");
    let continued = extract_trace_context(headers);
    assert_eq!(continued.span().span_context().trace_id(), trace_id);
    broker.cleanup().await;
}

#[tokio::test]
async fn concurrent_publishes_are_all_confirmed_and_delivered() {
    let broker = TestBroker::new().await;
    let publisher = PersistPublisher::connect(crate::helpers::AMQP_URL, broker.names.clone())
        .await
        .expect("connect");
    let mut consumer = broker.consume(&broker.names.queue).await;
    let room = room();
    const COUNT: u64 = 200;

    let tasks: Vec<_> = (1..=COUNT)
        .map(|seq| {
            let publisher = publisher.clone();
            let room = room.clone();
            tokio::spawn(async move { publisher.publish(&envelope(&room, seq), &room).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("confirmed");
    }

    let mut received = HashSet::new();
    for _ in 0..COUNT {
        let delivery = TestBroker::receive(&mut consumer).await;
        received.insert(
            chat_bus::decode_envelope(&delivery.data)
                .expect("envelope")
                .seq,
        );
    }
    assert_eq!(received, (1..=COUNT).collect());
    broker.cleanup().await;
}

#[tokio::test]
async fn a_publish_after_the_connection_dropped_reconnects() {
    let broker = TestBroker::new().await;
    let relay = Relay::to_rabbitmq().await;
    let publisher = PersistPublisher::connect(&relay.url(), broker.names.clone())
        .await
        .expect("connect")
        .with_confirm_timeout(Duration::from_secs(5));
    let mut consumer = broker.consume(&broker.names.queue).await;
    let room = room();
    publisher
        .publish(&envelope(&room, 1), &room)
        .await
        .expect("first publish");

    relay.cut().await;
    publisher
        .publish(&envelope(&room, 2), &room)
        .await
        .expect("publish after the drop");
    publisher
        .publish(&envelope(&room, 3), &room)
        .await
        .expect("publish on the new connection");

    let mut seqs = Vec::new();
    for _ in 0..3 {
        let delivery = TestBroker::receive(&mut consumer).await;
        seqs.push(
            chat_bus::decode_envelope(&delivery.data)
                .expect("envelope")
                .seq,
        );
    }
    assert_eq!(seqs, vec![1, 2, 3]);
    broker.cleanup().await;
}

#[tokio::test]
async fn publishes_in_flight_when_the_connection_drops_are_confirmed_after_all() {
    let broker = TestBroker::new().await;
    let relay = Relay::to_rabbitmq().await;
    let publisher = PersistPublisher::connect(&relay.url(), broker.names.clone())
        .await
        .expect("connect")
        .with_confirm_timeout(Duration::from_secs(5));
    let mut consumer = broker.consume(&broker.names.queue).await;
    let room = room();
    const COUNT: u64 = 100;

    let tasks: Vec<_> = (1..=COUNT)
        .map(|seq| {
            let publisher = publisher.clone();
            let room = room.clone();
            tokio::spawn(async move { publisher.publish(&envelope(&room, seq), &room).await })
        })
        .collect();
    relay.cut().await;
    for task in tasks {
        task.await.expect("task").expect("confirmed");
    }

    // A publish retried after the drop may be stored twice; none is missing.
    let mut missing: HashSet<u64> = (1..=COUNT).collect();
    while !missing.is_empty() {
        let delivery = TestBroker::receive(&mut consumer).await;
        missing.remove(
            &chat_bus::decode_envelope(&delivery.data)
                .expect("envelope")
                .seq,
        );
    }
    broker.cleanup().await;
}

#[tokio::test]
async fn an_envelope_with_no_queue_to_take_it_is_refused() {
    let broker = TestBroker::new().await;
    let publisher = PersistPublisher::connect(crate::helpers::AMQP_URL, broker.names.clone())
        .await
        .expect("connect");
    broker
        .channel
        .queue_delete(&broker.names.queue, QueueDeleteOptions::default())
        .await
        .expect("delete queue");
    let room = room();

    let outcome = publisher.publish(&envelope(&room, 1), &room).await;

    assert!(matches!(outcome, Err(BusError::Refused(_))), "{outcome:?}");
    broker.cleanup().await;
}

#[tokio::test]
async fn bytes_that_are_not_an_envelope_of_the_room_are_refused() {
    let broker = TestBroker::new().await;
    let publisher = PersistPublisher::connect(crate::helpers::AMQP_URL, broker.names.clone())
        .await
        .expect("connect");
    let room = room();

    let garbage = publisher.publish(&[0xff, 0xff, 0xff], &room).await;
    let elsewhere = publisher.publish(&envelope(&room, 1), "another-room").await;

    assert!(matches!(garbage, Err(BusError::Decode(_))), "{garbage:?}");
    assert!(
        matches!(elsewhere, Err(BusError::Invalid(_))),
        "{elsewhere:?}"
    );
    broker.cleanup().await;
}

#[tokio::test]
async fn the_topology_is_idempotent_and_dead_letters_a_poison_message() {
    let broker = TestBroker::new().await;
    declare_topology(&broker.channel, &broker.names)
        .await
        .expect("declare again");
    let publisher = PersistPublisher::connect(crate::helpers::AMQP_URL, broker.names.clone())
        .await
        .expect("connect");
    let mut dead_letters = broker.consume(&broker.names.dead_letter_queue).await;
    let mut consumer = broker.consume(&broker.names.queue).await;
    let room = room();
    let poison = envelope(&room, 1);
    publisher.publish(&poison, &room).await.expect("confirmed");

    let rejecting = tokio::spawn(async move {
        while let Some(Ok(delivery)) = futures::StreamExt::next(&mut consumer).await {
            let requeue = BasicNackOptions {
                requeue: true,
                ..BasicNackOptions::default()
            };
            if delivery.nack(requeue).await.is_err() {
                break;
            }
        }
    });

    let dead = TestBroker::receive(&mut dead_letters).await;
    assert_eq!(dead.data, poison);
    rejecting.abort();
    broker.cleanup().await;
}
