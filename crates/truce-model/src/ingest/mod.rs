//! Reading reports from bytes: our own CSV and JSON Lines, ACLED and UCDP GED exports,
//! GeoJSON point features, and the peer benchmark's CSV layout; and writing them back.
//!
//! A bad row never aborts the others: it becomes a [`Rejection`] naming the file, the row,
//! the column and the value. Only problems that make the whole file unreadable (empty, not
//! UTF-8, required columns missing) are an [`IngestError`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::report::Report;

mod acled;
mod classify;
mod csv_table;
mod detect;
mod feature_collection;
mod fields;
mod flat_json;
mod jsonl;
mod lines;
mod native_csv;
mod options;
mod peer;
mod read;
mod sources;
mod time;
mod ucdp;
mod write;

/// ACLED's columns, and the uncertainty our ACLED reader gives `geo_precision` codes and
/// `time_precision` 2: what an ACLED-compatible export must write for its rows to read back
/// the same.
/// Entry points for the fuzz targets (the `fuzzing` feature): not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use super::IngestOptions;
    use super::jsonl::{read_line, read_line_as_value};
    use super::sources::SourceCache;

    /// Reads one JSON Lines line as the reader does (the fast path first) and through the
    /// `serde_json::Value` path alone; the two outcomes, formatted, when they differ. A blank
    /// line reaches neither path.
    pub fn json_line_paths_differ(line: &str) -> Option<(String, String)> {
        if line.trim().is_empty() {
            return None;
        }
        let options = IngestOptions::default();
        let fast = read_line("fuzz", line, 1, &options, &mut SourceCache::default());
        let slow = read_line_as_value("fuzz", line, 1, &options, &mut SourceCache::default());
        (fast != slow).then(|| (format!("{fast:?}"), format!("{slow:?}")))
    }
}

pub use acled::{
    COLUMNS as ACLED_COLUMNS, GEO_PRECISION_M as ACLED_GEO_PRECISION_M,
    TIME_PRECISION_2_DAYS as ACLED_TIME_PRECISION_2_DAYS,
};
pub use detect::detect_format;
pub use options::IngestOptions;
pub use read::{Pieces, SlicePieces, parse_reports, parse_reports_in_pieces, reads_in_pieces};
pub use write::{WriteError, write_reports};

/// The longest offending value a [`Rejection`] keeps, in characters.
pub const MAX_VALUE_CHARS: usize = 200;

/// The input formats truce reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputFormat {
    /// Our own CSV (`docs/report-format.md`).
    Csv,
    /// Our own JSON Lines: one report object per line.
    Jsonl,
    /// ACLED's event export CSV.
    Acled,
    /// UCDP Georeferenced Event Dataset CSV.
    Ucdp,
    /// A GeoJSON FeatureCollection of Point features with report properties.
    Geojson,
    /// The peer benchmark's `reports.csv` (id, ts, lon, lat, loc_unc_m, source, accused,
    /// action, target, civ_cas, true_incident).
    PeerCsv,
}

impl InputFormat {
    /// Every format, for help texts.
    pub const ALL: &'static [InputFormat] = &[
        InputFormat::Csv,
        InputFormat::Jsonl,
        InputFormat::Acled,
        InputFormat::Ucdp,
        InputFormat::Geojson,
        InputFormat::PeerCsv,
    ];

    /// The name used on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            InputFormat::Csv => "csv",
            InputFormat::Jsonl => "jsonl",
            InputFormat::Acled => "acled",
            InputFormat::Ucdp => "ucdp",
            InputFormat::Geojson => "geojson",
            InputFormat::PeerCsv => "peer-csv",
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InputFormat::ALL
            .iter()
            .copied()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<_> = InputFormat::ALL.iter().map(|f| f.as_str()).collect();
                format!("unknown input format `{s}` (known: {})", names.join(", "))
            })
    }
}

/// A row (or feature, or line) that was not accepted, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rejection {
    /// The file name as given by the caller.
    pub file: String,
    /// 1-based line number for CSV and JSON Lines (the header is line 1), or 1-based feature
    /// number for GeoJSON.
    pub row: u64,
    /// The column, JSON path or field at fault, if one is.
    pub column: Option<String>,
    /// The offending value as written (truncated to 200 characters).
    pub value: Option<String>,
    /// What is wrong, lower-case, no trailing period.
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.row)?;
        if let Some(column) = &self.column {
            write!(f, ": {column}")?;
        }
        if let Some(value) = &self.value {
            write!(f, " = {value:?}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// The reports accepted from one input and the rows that were not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ingested {
    /// Accepted reports, in input order.
    pub reports: Vec<Report>,
    /// The 1-based row (line, or feature number for GeoJSON) of each accepted report,
    /// parallel to `reports`, so later checks (duplicate ids) can name the row.
    pub rows: Vec<u64>,
    /// Rejected rows, in input order.
    pub rejections: Vec<Rejection>,
}

/// A problem that makes a whole input unreadable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The input has no bytes, or no rows after the header.
    #[error("{file}: the file is empty")]
    Empty {
        /// File name.
        file: String,
    },
    /// The bytes are not UTF-8.
    #[error("{file}:{line}: the file is not UTF-8 (byte offset {offset}); convert it to UTF-8")]
    NotUtf8 {
        /// File name.
        file: String,
        /// 1-based line of the first bad byte.
        line: u64,
        /// Byte offset of the first bad byte.
        offset: usize,
    },
    /// Columns the format requires are missing from the header.
    #[error("{file}:1: missing column(s) {}: the header has {}", .missing.join(", "), .found.join(", "))]
    MissingColumns {
        /// File name.
        file: String,
        /// Required columns not found.
        missing: Vec<String>,
        /// Columns found.
        found: Vec<String>,
    },
    /// The format could not be told from the file name or the header.
    #[error(
        "{file}: cannot tell the input format from the name or the header; pass --input-format ({})",
        known_formats()
    )]
    UnknownFormat {
        /// File name.
        file: String,
    },
    /// The header names a column the format does not have (our own CSV only: other
    /// formats ignore extra columns).
    #[error("{file}:1: unknown column `{column}`{}", column_hint(.suggestion, .known))]
    UnknownColumn {
        /// File name.
        file: String,
        /// The column as written in the header.
        column: String,
        /// The closest known column, when one is near.
        suggestion: Option<String>,
        /// Every column the format knows, for the message.
        known: Vec<String>,
    },
    /// The input could not be read to its end (the pieces of
    /// [`parse_reports_in_pieces`]).
    #[error("{file}: cannot read the file: {reason}")]
    Unreadable {
        /// File name.
        file: String,
        /// What the reader said.
        reason: String,
    },
    /// The file is not valid for its format as a whole (for example GeoJSON that does not
    /// parse at all).
    #[error("{file}:{line}: {reason}")]
    Malformed {
        /// File name.
        file: String,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        reason: String,
    },
}

fn known_formats() -> String {
    InputFormat::ALL
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn column_hint(suggestion: &Option<String>, known: &[String]) -> String {
    match suggestion {
        Some(name) => format!(": did you mean `{name}`?"),
        None => format!(" (known: {})", known.join(", ")),
    }
}
