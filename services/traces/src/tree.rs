//! A trace as a person reads it: an indented tree of its spans, children in the order
//! they started, each with its service, duration and attributes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::receiver::Received;

/// Attributes left out of the tree: where in the code (the `tracing` target too), which
/// thread, busy/idle time.
const QUIET: [&str; 5] = ["code.", "target", "thread.", "busy_ns", "idle_ns"];

/// `spans` grouped by trace, each trace's spans in the order they started.
pub fn by_trace(spans: Vec<Received>) -> BTreeMap<Vec<u8>, Vec<Received>> {
    let mut traces: BTreeMap<Vec<u8>, Vec<Received>> = BTreeMap::new();
    for received in spans {
        traces
            .entry(received.span.trace_id.clone())
            .or_default()
            .push(received);
    }
    for spans in traces.values_mut() {
        spans.sort_by_key(|r| r.span.start_time_unix_nano);
    }
    traces
}

/// One trace (its spans, as [`by_trace`] gives them) as text: a heading line, then each
/// span indented under its parent. A span whose parent was not received starts a tree of
/// its own, marked so.
pub fn render(trace: &[Received]) -> String {
    let Some(first) = trace.first() else {
        return String::new();
    };
    let ids: HashSet<&[u8]> = trace.iter().map(|r| r.span.span_id.as_slice()).collect();
    let mut children: HashMap<&[u8], Vec<&Received>> = HashMap::new();
    let mut roots = Vec::new();
    for received in trace {
        let parent = received.span.parent_span_id.as_slice();
        if parent.is_empty() || !ids.contains(parent) {
            roots.push(received);
        } else {
            children.entry(parent).or_default().push(received);
        }
    }
    let start = trace
        .iter()
        .map(|r| r.span.start_time_unix_nano)
        .min()
        .unwrap_or(0);
    let end = trace
        .iter()
        .map(|r| r.span.end_time_unix_nano)
        .max()
        .unwrap_or(0);
    let services: std::collections::BTreeSet<&str> =
        trace.iter().map(|r| r.service.as_str()).collect();
    let mut out = format!(
        "trace {}  {}  {}  ({} spans: {})\n",
        hex(&first.span.trace_id),
        roots.first().map_or("", |r| r.span.name.as_str()),
        millis(end.saturating_sub(start)),
        trace.len(),
        services.into_iter().collect::<Vec<_>>().join(", "),
    );
    for root in roots {
        let orphan = !root.span.parent_span_id.is_empty();
        write_span(&mut out, root, &children, 1, orphan);
    }
    out
}

fn write_span(
    out: &mut String,
    received: &Received,
    children: &HashMap<&[u8], Vec<&Received>>,
    depth: usize,
    orphan: bool,
) {
    let span = &received.span;
    let _ = write!(
        out,
        "{:indent$}{}  [{}]  {}",
        "",
        span.name,
        received.service,
        millis(
            span.end_time_unix_nano
                .saturating_sub(span.start_time_unix_nano)
        ),
        indent = depth * 2
    );
    for (key, value) in attributes(span) {
        let _ = write!(out, "  {key}={value}");
    }
    if orphan {
        out.push_str("  (its parent was not received)");
    }
    for link in &span.links {
        let _ = write!(out, "  -> linked to trace {}", hex(&link.trace_id));
    }
    out.push('\n');
    for child in children.get(span.span_id.as_slice()).into_iter().flatten() {
        write_span(out, child, children, depth + 1, false);
    }
}

fn attributes(span: &Span) -> impl Iterator<Item = (&str, String)> {
    span.attributes
        .iter()
        .filter(|kv| !QUIET.iter().any(|quiet| kv.key.starts_with(quiet)))
        .filter_map(|kv| {
            let value = match kv.value.as_ref()?.value.as_ref()? {
                Any::StringValue(text) => text.clone(),
                Any::IntValue(n) => n.to_string(),
                Any::BoolValue(b) => b.to_string(),
                Any::DoubleValue(x) => x.to_string(),
                _ => return None,
            };
            Some((kv.key.as_str(), value))
        })
}

fn millis(nanos: u64) -> String {
    format!("{:.2} ms", nanos as f64 / 1e6)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
    use opentelemetry_proto::tonic::trace::v1::span::Link;

    use super::*;

    fn span(
        service: &str,
        name: &str,
        id: u8,
        parent: Option<u8>,
        start_ms: u64,
        end_ms: u64,
    ) -> Received {
        Received {
            service: service.into(),
            span: Span {
                trace_id: vec![7; 16],
                span_id: vec![id; 8],
                parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
                name: name.into(),
                start_time_unix_nano: start_ms * 1_000_000,
                end_time_unix_nano: end_ms * 1_000_000,
                attributes: vec![
                    KeyValue {
                        key: "rpc.method".into(),
                        value: Some(AnyValue {
                            value: Some(Any::StringValue("CheckMembership".into())),
                        }),
                    },
                    KeyValue {
                        key: "thread.id".into(),
                        value: Some(AnyValue {
                            value: Some(Any::IntValue(3)),
                        }),
                    },
                ]
                .into_iter()
                .filter(|_| name.contains('/'))
                .collect(),
                ..Span::default()
            },
        }
    }

    #[test]
    fn a_trace_is_a_tree_of_its_spans_in_the_order_they_started() {
        let mut orphan = span("chat-history", "persist batch", 9, Some(8), 5, 6);
        orphan.span.links.push(Link {
            trace_id: vec![1; 16],
            ..Link::default()
        });
        let spans = vec![
            span(
                "chat-rooms",
                "chat.v1.RoomsService/CheckMembership",
                3,
                Some(2),
                2,
                3,
            ),
            span("chat-gateway-1", "POST", 1, None, 0, 10),
            span("chat-gateway-1", "persist.publish", 4, Some(2), 4, 8),
            span("chat-gateway-1", "messages.send", 2, Some(1), 1, 9),
            orphan,
        ];

        let traces = by_trace(spans);
        let text = render(&traces[&vec![7; 16]]);

        assert_eq!(
            text,
            "trace 07070707070707070707070707070707  POST  10.00 ms  (5 spans: chat-gateway-1, chat-history, chat-rooms)\n\
             \x20 POST  [chat-gateway-1]  10.00 ms\n\
             \x20   messages.send  [chat-gateway-1]  8.00 ms\n\
             \x20     chat.v1.RoomsService/CheckMembership  [chat-rooms]  1.00 ms  rpc.method=CheckMembership\n\
             \x20     persist.publish  [chat-gateway-1]  4.00 ms\n\
             \x20 persist batch  [chat-history]  1.00 ms  (its parent was not received)  -> linked to trace 01010101010101010101010101010101\n"
        );
    }
}
