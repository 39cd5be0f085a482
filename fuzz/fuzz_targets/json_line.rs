//! Any line of JSON Lines: the reader's fast path (`ingest::flat_json`) and the
//! `serde_json::Value` path alone give the same report, or the same rejections.
#![no_main]

use libfuzzer_sys::fuzz_target;
use truce_model::ingest::fuzzing::json_line_paths_differ;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // One line, as the reader hands it over.
    let line = text.split('\n').next().unwrap_or("");
    if let Some((fast, slow)) = json_line_paths_differ(line) {
        panic!("the paths differ on {line:?}\nfast: {fast}\nslow: {slow}");
    }
});
