//! Every JSON example of docs/protocol.md reads back through the protocol's types and
//! writes out unchanged, and every frame type has an example: the page and the types
//! cannot drift apart.

use std::collections::BTreeSet;

use chat_protocol::notification::PushNotification;
use chat_protocol::{ClientFrame, ServerFrame};
use serde_json::Value;

fn examples() -> Vec<Value> {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/protocol.md"
    ))
    .expect("docs/protocol.md");
    let mut values = Vec::new();
    let mut rest = page.as_str();
    while let Some(start) = rest.find("```json\n") {
        let block = &rest[start + 8..];
        let end = block.find("```").expect("a closed block");
        let stream = serde_json::Deserializer::from_str(&block[..end]).into_iter::<Value>();
        for value in stream {
            values.push(value.unwrap_or_else(|err| panic!("an example is not JSON: {err}")));
        }
        rest = &block[end + 3..];
    }
    values
}

/// The frame's `type`, when it reads back through one of the protocol's types unchanged.
fn round_trip(example: &Value) -> Result<(&'static str, String), String> {
    let text = example.to_string();
    if let Ok(frame) = chat_protocol::client::parse(&text) {
        let written: Value = serde_json::from_str(&frame.to_text()).unwrap();
        if &written == example {
            return Ok(("client", example["type"].as_str().unwrap().to_owned()));
        }
    }
    // The payload of a push message (not a frame, but the same promise).
    if let Ok(push) = serde_json::from_value::<PushNotification>(example.clone()) {
        let written = serde_json::to_value(&push).unwrap();
        return if &written == example {
            Ok(("push", push.kind))
        } else {
            Err(format!("written back as {written}"))
        };
    }
    match serde_json::from_value::<ServerFrame>(example.clone()) {
        Ok(frame) => {
            let written = serde_json::to_value(&frame).unwrap();
            if &written == example {
                Ok(("server", example["type"].as_str().unwrap().to_owned()))
            } else {
                Err(format!("written back as {written}"))
            }
        }
        Err(err) => Err(err.to_string()),
    }
}

#[test]
fn every_example_reads_back_unchanged() {
    let examples = examples();
    assert!(examples.len() > 20, "only {} examples", examples.len());
    for example in &examples {
        if let Err(why) = round_trip(example) {
            panic!("{example}\n  does not round-trip: {why}");
        }
    }
}

#[test]
fn every_frame_type_has_an_example() {
    let mut seen = BTreeSet::new();
    for example in examples() {
        if let Ok(found) = round_trip(&example) {
            seen.insert(found);
        }
        // A frame both sides send alike (`read`) is an example of both.
        if let Ok(frame) = serde_json::from_value::<ServerFrame>(example.clone())
            && serde_json::to_value(&frame).ok().as_ref() == Some(&example)
        {
            seen.insert(("server", example["type"].as_str().unwrap().to_owned()));
        }
    }
    let client_types = schema_types::<ClientFrame>();
    let server_types = schema_types::<ServerFrame>();
    assert_eq!(client_types.len(), 16, "{client_types:?}");
    assert_eq!(server_types.len(), 34, "{server_types:?}");
    for kind in client_types {
        assert!(
            seen.contains(&("client", kind.clone())),
            "no example of the client frame `{kind}`"
        );
    }
    for kind in server_types {
        assert!(
            seen.contains(&("server", kind.clone())),
            "no example of the server frame `{kind}`"
        );
    }
}

/// The `type` values a tagged enum can take, read from its JSON Schema.
fn schema_types<T: schemars::JsonSchema>() -> Vec<String> {
    let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap();
    let mut types = Vec::new();
    collect_type_consts(&schema, &mut types);
    types.sort();
    types.dedup();
    types
}

fn collect_type_consts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties")
                && let Some(kind) = properties.get("type")
            {
                if let Some(Value::String(name)) = kind.get("const") {
                    out.push(name.clone());
                }
                if let Some(Value::Array(names)) = kind.get("enum") {
                    out.extend(names.iter().filter_map(|n| n.as_str().map(str::to_owned)));
                }
            }
            for (key, inner) in map {
                if key != "$defs" {
                    collect_type_consts(inner, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_type_consts(item, out)),
        _ => {}
    }
}
