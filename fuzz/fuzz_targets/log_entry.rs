//! Any bytes as a log entry (format 1 or 2): never panics, and whatever decodes encodes back
//! to exactly the same bytes (an entry's bytes, and so its leaf hash, are a function of its
//! value), with the version byte the value calls for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use truce_log::entry::Entry;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = Entry::decode(data) {
        let bytes = entry.encode().expect("a decoded entry encodes");
        assert_eq!(bytes, data);
        assert_eq!(data[0], entry.format_version());
    }
});
