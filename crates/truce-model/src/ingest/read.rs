//! The entry point for reading: bytes in, reports and rejections out.

use crate::ingest::options::IngestOptions;
use crate::ingest::{
    IngestError, Ingested, InputFormat, acled, feature_collection, jsonl, native_csv, peer, ucdp,
};

/// Reads the reports of one input. `file_name` is only used in messages and rejections.
///
/// Whole-file problems are errors: no bytes or no rows ([`IngestError::Empty`]), bytes that
/// are not UTF-8 ([`IngestError::NotUtf8`], with the line and offset of the first bad byte),
/// required columns missing, an unknown column in our CSV, GeoJSON that does not parse. A
/// UTF-8 byte-order mark is skipped. Every other problem rejects one row and the others are
/// still read.
pub fn parse_reports(
    format: InputFormat,
    file_name: &str,
    bytes: &[u8],
    options: &IngestOptions,
) -> Result<Ingested, IngestError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let offset = error.valid_up_to();
            let line = memchr::memchr_iter(b'\n', &bytes[..offset]).count() as u64 + 1;
            return Err(IngestError::NotUtf8 {
                file: file_name.to_string(),
                line,
                offset,
            });
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(IngestError::Empty {
            file: file_name.to_string(),
        });
    }
    match format {
        InputFormat::Csv => native_csv::parse(file_name, text, options),
        InputFormat::Jsonl => jsonl::parse(file_name, text, options),
        InputFormat::Geojson => feature_collection::parse(file_name, text, options),
        InputFormat::Acled => acled::parse(file_name, text, options),
        InputFormat::Ucdp => ucdp::parse(file_name, text, options),
        InputFormat::PeerCsv => peer::parse(file_name, text, options),
    }
}
