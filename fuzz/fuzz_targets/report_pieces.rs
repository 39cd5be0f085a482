//! Any bytes, handed over in pieces as a file reader hands them (each ending just after a
//! newline, the first byte choosing their size), read in every input format exactly as the
//! whole input reads: the same reports, rows and rejections, or the same error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use truce_model::ingest::{
    IngestOptions, InputFormat, SlicePieces, parse_reports, parse_reports_in_pieces,
};

fuzz_target!(|data: &[u8]| {
    let Some((&size, input)) = data.split_first() else {
        return;
    };
    let options = IngestOptions::default();
    for format in InputFormat::ALL {
        let whole = parse_reports(*format, "fuzz", input, &options);
        let mut pieces = SlicePieces::new(input, usize::from(size) + 1);
        let first = pieces.next_slice().unwrap_or_default();
        let in_pieces = parse_reports_in_pieces(*format, "fuzz", first, &mut pieces, &options);
        assert!(in_pieces == whole, "{format}: in pieces of {} bytes", usize::from(size) + 1);
    }
});
