//! What the client frame parser promises for any text, checked by the generated-input test
//! (tests/frame_fuzz.rs) and by the coverage-guided fuzz targets (fuzz/): a frame or a typed
//! error, never a panic; an error names a request only as the client wrote it; a frame it
//! accepts reads back the same from what it writes; a history cursor reads back the same
//! from how it is written.

use chat_protocol::ErrorCode;
use chat_protocol::client::{HistoryCursor, parse};
use serde_json::Value;

/// Parses `text` as a client frame and checks the parser's promises.
pub fn check(text: &str) {
    match parse(text) {
        Ok(frame) => {
            let written = frame.to_text();
            assert_eq!(
                parse(&written).as_ref(),
                Ok(&frame),
                "{text} wrote {written}"
            );
        }
        Err(error) => {
            assert!(
                matches!(
                    error.code,
                    ErrorCode::MalformedFrame | ErrorCode::UnknownType | ErrorCode::InvalidFrame
                ),
                "{text}: {error:?}"
            );
            assert!(!error.message.is_empty(), "{text}");
            // A request named in an error is one the client wrote: its `client_msg_id` or `id`.
            if let Some(reference) = &error.reference {
                let named = match serde_json::from_str::<Value>(text) {
                    Ok(written) => [&written["client_msg_id"], &written["id"]]
                        .into_iter()
                        .any(|value| value.as_str() == Some(reference.as_str())),
                    // Not JSON as a whole (a bad escape further on, say): the request's id
                    // was read before the fault, so it is one of the strings written.
                    Err(_) => text.match_indices('"').any(|(at, _)| {
                        serde_json::Deserializer::from_str(&text[at..])
                            .into_iter::<String>()
                            .next()
                            .and_then(Result::ok)
                            .is_some_and(|written| written == *reference)
                    }),
                };
                assert!(named, "{text}: {reference}");
            }
        }
    }
}

/// Reads `text` as a history cursor (`before`/`after` of a `history` frame) and checks
/// that an accepted cursor is written back as it reads.
pub fn check_cursor(text: &str) {
    if let Ok(cursor) = text.parse::<HistoryCursor>() {
        let written = cursor.to_string();
        assert_eq!(
            written.parse::<HistoryCursor>(),
            Ok(cursor),
            "{text:?} wrote {written}"
        );
    }
}
