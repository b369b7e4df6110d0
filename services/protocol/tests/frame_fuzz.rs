//! The client frame parser under generated input: whatever a client sends, it answers a
//! frame or a typed error (never a panic), an error names a request only as the client
//! wrote it, and a frame it accepts reads back the same from what it writes.
//!
//! Inputs are arbitrary text, and JSON objects built from the protocol's own types and
//! field names with values of every kind, so most cases get past the JSON syntax into
//! the frames' shapes. `PROPTEST_CASES` runs more (a longer fuzz run).

mod frame_contract;

use chat_protocol::client::FRAME_TYPES;
use frame_contract::{check, check_cursor};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Every frame type, and one that is none.
fn frame_type() -> impl Strategy<Value = &'static str> {
    prop_oneof![prop::sample::select(&FRAME_TYPES[..]), Just("nope")]
}

const FIELDS: &[&str] = &[
    "type",
    "id",
    "room",
    "client_msg_id",
    "content",
    "reply_to",
    "thread_root",
    "attachments",
    "before",
    "after",
    "limit",
    "token",
    "resume",
    "state",
    "status",
    "user_ids",
    "message_id",
    "emoji",
    "epoch",
    "position",
    "q",
    "sender",
    "cursor",
];

const ROOM: &str = "0193a6c1-0000-7000-8000-0000000000c1";

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|n| serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)),
        ".{0,80}".prop_map(Value::String),
        Just(Value::String(ROOM.to_owned())),
        Just(Value::String(format!("{{{ROOM}}}"))),
        Just(Value::String("1700000000000:5".to_owned())),
        Just(Value::String("start".to_owned())),
        Just(Value::String("👍".to_owned())),
        Just(Value::String("a\u{0}b".to_owned())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(FIELDS).prop_map(str::to_owned),
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn frame_object() -> impl Strategy<Value = String> {
    (
        frame_type(),
        prop::collection::btree_map(prop::sample::select(FIELDS), value(), 0..8),
    )
        .prop_map(|(kind, fields)| {
            let mut object = Map::new();
            object.insert("type".to_owned(), json!(kind));
            for (name, value) in fields {
                object.insert(name.to_owned(), value);
            }
            Value::Object(object).to_string()
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_text_gets_a_frame_or_a_typed_error(text in ".{0,300}") {
        check(&text);
    }

    #[test]
    fn any_object_of_the_protocols_words_gets_a_frame_or_a_typed_error(text in frame_object()) {
        check(&text);
    }

    #[test]
    fn any_cursor_text_reads_back_as_written(text in "[0-9:+-]{0,24}|.{0,24}") {
        check_cursor(&text);
    }
}
