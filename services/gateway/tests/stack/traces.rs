//! One send is one trace across the real binaries: `deploy/local/e2e.sh` starts the stack
//! with `OTEL_EXPORTER_OTLP_ENDPOINT` at this test's OTLP receiver (a gRPC
//! `opentelemetry.proto.collector.trace.v1.TraceService`) and `RUST_LOG=warn`, so the
//! trace pipeline is shown not to depend on the log level. A REST send must come back as
//! one trace id over the gateway and rooms, through the sequencer and the RabbitMQ
//! publish, with every parent present, and history's batch span linked to it; the spans
//! named and attributed as OpenTelemetry's RPC, messaging and database conventions say.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chat_traces::{Received, Receiver, attribute, tree};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use serde_json::json;

use crate::Stack;

#[tokio::test]
#[ignore = "needs the stack of deploy/local/e2e.sh"]
async fn a_rest_send_is_one_trace_across_gateway_rooms_the_broker_and_history() {
    let addr =
        std::env::var("CHAT_E2E_OTLP_ADDR").expect("CHAT_E2E_OTLP_ADDR (deploy/local/e2e.sh)");
    let receiver = Receiver::default();
    let server = receiver.serve(addr.parse().expect("an address"));
    let stack = Stack::from_env();
    let (_, token) = stack.register("tracer").await;
    let (status, room) = stack
        .post(
            "/api/rooms",
            Some(&token),
            json!({"name": format!("traced-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]), "kind": "public"}),
        )
        .await;
    assert_eq!(status, 201, "{room}");
    let (status, sent) = stack
        .post(
            "/api/messages",
            Some(&token),
            json!({"room_id": room["id"], "content": "follow me", "client_msg_id": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");

    // The services export in batches (OTEL_BSP_SCHEDULE_DELAY): wait for the whole tree.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let (trace, spans) = loop {
        let found = whole_trace(&receiver.spans());
        match found {
            Ok(found) => break found,
            Err(why) if tokio::time::Instant::now() >= deadline => {
                let trees: String = tree::by_trace(receiver.spans())
                    .values()
                    .map(|trace| tree::render(trace))
                    .collect();
                panic!("no whole trace of the send: {why}\nreceived:\n{trees}");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    };
    server.abort();

    let services: BTreeSet<&str> = spans.iter().map(|r| r.service.as_str()).collect();
    let names: BTreeSet<&str> = spans.iter().map(|r| r.span.name.as_str()).collect();
    assert!(
        services.iter().any(|s| s.starts_with("chat-gateway")),
        "{services:?}"
    );
    assert!(
        services.contains("chat-rooms"),
        "the membership check's server side: {services:?}"
    );
    for expected in [
        "messages.send",
        "sequencer.append_once",
        "sequencer.confirm",
    ] {
        assert!(
            names.contains(expected),
            "no `{expected}` span in {names:?}"
        );
    }
    // Spans follow OpenTelemetry's semantic conventions: RPC on both sides of a call,
    // messaging for the broker, database for the queries.
    let kind = |r: &Received, kind: SpanKind| r.span.kind == kind as i32;
    let rpc = |r: &Received, side: SpanKind, method: &str| {
        kind(r, side)
            && attribute(&r.span, "rpc.system") == Some("grpc")
            && attribute(&r.span, "rpc.method") == Some(method)
            && r.span
                .attributes
                .iter()
                .any(|kv| kv.key == "rpc.grpc.status_code")
    };
    let client = spans
        .iter()
        .find(|r| {
            r.service.starts_with("chat-gateway") && rpc(r, SpanKind::Client, "CheckMembership")
        })
        .expect("the gateway's client span of CheckMembership, with rpc.* attributes");
    assert_eq!(client.span.name, "chat.v1.RoomsService/CheckMembership");
    let server = spans
        .iter()
        .find(|r| r.service == "chat-rooms" && rpc(r, SpanKind::Server, "CheckMembership"))
        .expect("rooms' server span of CheckMembership, with rpc.* attributes");
    assert_eq!(
        server.span.parent_span_id, client.span.span_id,
        "the server span is the client span's child"
    );
    assert!(
        spans.iter().any(|r| r.service == "chat-rooms"
            && kind(r, SpanKind::Client)
            && attribute(&r.span, "db.system.name") == Some("postgresql")
            && attribute(&r.span, "db.collection.name") == Some("rooms")
            && r.span.parent_span_id == server.span.span_id),
        "rooms' query of the membership, a database client span under its server span"
    );
    let publish = spans
        .iter()
        .find(|r| {
            kind(r, SpanKind::Producer)
                && attribute(&r.span, "messaging.system") == Some("rabbitmq")
                && attribute(&r.span, "messaging.operation.type") == Some("send")
        })
        .expect("the RabbitMQ publish, a producer span");
    let queue = attribute(&publish.span, "messaging.destination.name").expect("its queue");
    assert_eq!(publish.span.name, format!("publish {queue}"));
    assert!(!trace.is_empty());
}

/// History's batch span linked to `trace`, a consumer span of the same queue, with its
/// insert as a database client span under it.
fn linked_batch(received: &[Received], trace: &[u8]) -> Result<(), String> {
    let batch = received
        .iter()
        .find(|r| {
            r.service == "chat-history"
                && r.span.kind == SpanKind::Consumer as i32
                && attribute(&r.span, "messaging.operation.type") == Some("process")
                && r.span.links.iter().any(|link| link.trace_id == trace)
        })
        .ok_or("no history batch span linked to the trace yet")?;
    let queue = attribute(&batch.span, "messaging.destination.name").unwrap_or_default();
    if batch.span.name != format!("process {queue}") {
        return Err(format!("the batch span is named `{}`", batch.span.name));
    }
    let inserted = received.iter().any(|r| {
        r.service == "chat-history"
            && r.span.parent_span_id == batch.span.span_id
            && attribute(&r.span, "db.system.name") == Some("postgresql")
            && attribute(&r.span, "db.operation.name") == Some("INSERT")
            && r.span.name == "INSERT messages"
    });
    if !inserted {
        return Err("no `INSERT messages` span under the batch span yet".into());
    }
    Ok(())
}

/// The trace of the newest `POST /api/messages`, once it is whole: every span's parent
/// received, a rooms span in it, and history's batch span linked to it.
fn whole_trace(received: &[Received]) -> Result<(Vec<u8>, Vec<Received>), String> {
    let send = received
        .iter()
        .filter(|r| {
            r.service.starts_with("chat-gateway")
                && attribute(&r.span, "http.route") == Some("/api/messages")
        })
        .max_by_key(|r| r.span.start_time_unix_nano)
        .ok_or("no gateway span of POST /api/messages yet")?;
    let trace = send.span.trace_id.clone();
    let spans: Vec<Received> = received
        .iter()
        .filter(|r| r.span.trace_id == trace)
        .cloned()
        .collect();
    let ids: HashMap<&[u8], &Span> = spans
        .iter()
        .map(|r| (r.span.span_id.as_slice(), &r.span))
        .collect();
    for r in &spans {
        if !r.span.parent_span_id.is_empty() && !ids.contains_key(r.span.parent_span_id.as_slice())
        {
            return Err(format!(
                "`{}` of {} has no parent yet",
                r.span.name, r.service
            ));
        }
    }
    if !spans.iter().any(|r| r.service == "chat-rooms") {
        return Err("no rooms span yet".into());
    }
    linked_batch(received, &trace)?;
    Ok((trace, spans))
}
