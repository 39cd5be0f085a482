//! Any text as an agreement file (with any bytes as its one zone file): never panics, and a
//! rejected file always carries at least one located problem.
#![no_main]

use libfuzzer_sys::fuzz_target;
use truce_model::agreement::{MemoryFiles, load};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (text, zone) = data.split_at(split);
    let Ok(text) = std::str::from_utf8(text) else { return };
    let mut files = MemoryFiles::default();
    files.0.insert("zone.geojson".into(), zone.get(1..).unwrap_or_default().to_vec());
    if let Err(errors) = load("fuzz.toml", text, &files) {
        assert!(!errors.0.is_empty());
        for e in &errors.0 {
            assert!(!e.message.is_empty());
        }
    }
});
