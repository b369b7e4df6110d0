//! The resume part of an `auth` frame and the history cursors: the input is put where a
//! client writes them, so the fuzzer spends its time past the frame's outer shape.
#![no_main]

#[path = "../../tests/frame_contract/mod.rs"]
mod frame_contract;

libfuzzer_sys::fuzz_target!(|text: &str| {
    frame_contract::check(&format!(r#"{{"type":"auth","token":"t","resume":{text}}}"#));
    frame_contract::check(&format!(
        r#"{{"type":"history","id":"h","room":"0193a6c1-0000-7000-8000-0000000000c1","before":{text}}}"#
    ));
    frame_contract::check_cursor(text);
});
