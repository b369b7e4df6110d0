//! Any text a client sends as a frame: a frame or a typed error, never a panic, and an
//! accepted frame reads back the same from what it writes.
#![no_main]

#[path = "../../tests/frame_contract/mod.rs"]
#[allow(dead_code)] // its cursor check is the resume target's
mod frame_contract;

libfuzzer_sys::fuzz_target!(|text: &str| {
    frame_contract::check(text);
});
