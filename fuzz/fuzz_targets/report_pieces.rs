//! Any bytes, handed over in pieces as a file reader hands them (each ending just after a
//! newline, the first byte choosing their size), read in every input format exactly as the
//! whole input reads: the same reports, rows and rejections, or the same error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use truce_model::ingest::{
    IngestOptions, InputFormat, Pieces, parse_reports, parse_reports_in_pieces,
};

/// `bytes` cut after the first newline at or beyond every `size` bytes.
struct CutPieces<'b> {
    bytes: &'b [u8],
    at: usize,
    size: usize,
}

impl<'b> CutPieces<'b> {
    fn next_slice(&mut self) -> Option<&'b [u8]> {
        if self.at >= self.bytes.len() {
            return None;
        }
        let from = (self.at + self.size).min(self.bytes.len());
        let end = self.bytes[from - 1..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.bytes.len(), |newline| from + newline);
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Some(slice)
    }
}

impl Pieces for CutPieces<'_> {
    fn next_piece(&mut self, piece: &mut Vec<u8>) -> std::io::Result<bool> {
        piece.clear();
        match self.next_slice() {
            Some(slice) => {
                piece.extend_from_slice(slice);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&size, input)) = data.split_first() else {
        return;
    };
    let options = IngestOptions::default();
    for format in InputFormat::ALL {
        let whole = parse_reports(*format, "fuzz", input, &options);
        let mut pieces = CutPieces {
            bytes: input,
            at: 0,
            size: usize::from(size) + 1,
        };
        let first = pieces.next_slice().unwrap_or_default();
        let in_pieces = parse_reports_in_pieces(*format, "fuzz", first, &mut pieces, &options);
        assert!(in_pieces == whole, "{format}: in pieces of {} bytes", usize::from(size) + 1);
    }
});
