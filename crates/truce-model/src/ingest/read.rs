//! The entry point for reading: bytes in, reports and rejections out.

use crate::ingest::csv_table;
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
    let text = checked_text(file_name, bytes, 0, 1)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(IngestError::Empty {
            file: file_name.to_string(),
        });
    }
    match format {
        InputFormat::Csv => native_csv::parse(file_name, text, None, options),
        InputFormat::Jsonl => jsonl::parse(file_name, text, options),
        InputFormat::Geojson => feature_collection::parse(file_name, text, options),
        InputFormat::Acled => acled::parse(file_name, text, None, options),
        InputFormat::Ucdp => ucdp::parse(file_name, text, None, options),
        InputFormat::PeerCsv => peer::parse(file_name, text, options),
    }
}

/// The rest of an input, handed over in pieces, for [`parse_reports_in_pieces`]: the edge
/// that reads a file implements it, so that a large input need not be held whole.
pub trait Pieces {
    /// Clears `piece` and fills it with the input's next bytes; `false` (and `piece` empty)
    /// at the end of the input. Every piece but the last must end just after a newline
    /// (`\n`), so that no line is cut in two.
    fn next_piece(&mut self, piece: &mut Vec<u8>) -> std::io::Result<bool>;

    /// How many bytes the pieces still to come hold, if known (a file's length less what was
    /// read): readers make room for the rows ahead in one step.
    fn remaining_bytes(&self) -> Option<u64> {
        None
    }
}

/// An input held in memory, handed over in pieces as a file reader hands them: each piece
/// ends just after the first newline at or beyond `size` bytes from its start (the last one
/// may end anywhere). For checking that an input read in pieces reads as it does whole.
#[derive(Debug, Clone)]
pub struct SlicePieces<'b> {
    bytes: &'b [u8],
    at: usize,
    size: usize,
}

impl<'b> SlicePieces<'b> {
    /// The pieces of `bytes`, of at least `size` bytes each (at least one).
    pub fn new(bytes: &'b [u8], size: usize) -> Self {
        SlicePieces {
            bytes,
            at: 0,
            size: size.max(1),
        }
    }

    /// The next piece, as a slice of the input; `None` at its end.
    pub fn next_slice(&mut self) -> Option<&'b [u8]> {
        if self.at >= self.bytes.len() {
            return None;
        }
        let from = (self.at + self.size).min(self.bytes.len());
        let end = memchr::memchr(b'\n', &self.bytes[from - 1..])
            .map_or(self.bytes.len(), |newline| from + newline);
        let piece = &self.bytes[self.at..end];
        self.at = end;
        Some(piece)
    }
}

impl Pieces for SlicePieces<'_> {
    fn next_piece(&mut self, piece: &mut Vec<u8>) -> std::io::Result<bool> {
        piece.clear();
        let next = self.next_slice();
        piece.extend_from_slice(next.unwrap_or_default());
        Ok(next.is_some())
    }

    fn remaining_bytes(&self) -> Option<u64> {
        Some((self.bytes.len() - self.at) as u64)
    }
}

/// Whether [`parse_reports_in_pieces`] reads `format` piece by piece (rather than whole):
/// JSON Lines and the CSV layouts read row by row (ours, ACLED, UCDP). The peer layout reads
/// its rows in id order and GeoJSON is one document: both are read whole.
pub fn reads_in_pieces(format: InputFormat) -> bool {
    matches!(
        format,
        InputFormat::Csv | InputFormat::Jsonl | InputFormat::Acled | InputFormat::Ucdp
    )
}

/// As [`parse_reports`], with the input given as its first piece (`first`, which must end
/// just after a newline unless it is the whole input) and the rest in `more`: what is read
/// is exactly what [`parse_reports`] reads from the whole input. While the pieces hold no
/// quote (`"`) and no carriage return but before a newline, each is read and let go before
/// the next is asked for, so memory holds one piece at a time; from the first piece that
/// holds one, the rest of the input is gathered and read whole. JSON Lines are read piece
/// by piece throughout (a JSON string holds no line break). Formats that are not read
/// in pieces ([`reads_in_pieces`]) are gathered whole first.
///
/// A failure to read `more` is [`IngestError::Unreadable`].
pub fn parse_reports_in_pieces(
    format: InputFormat,
    file_name: &str,
    first: &[u8],
    more: &mut dyn Pieces,
    options: &IngestOptions,
) -> Result<Ingested, IngestError> {
    let streams = reads_in_pieces(format)
        && (format == InputFormat::Jsonl || csv_table::is_plain(first))
        && std::str::from_utf8(first).is_ok_and(|text| !text.trim().is_empty());
    if !streams {
        let mut all = first.to_vec();
        let mut piece = Vec::new();
        while next_piece(file_name, more, &mut piece)? {
            all.extend_from_slice(&piece);
        }
        return parse_reports(format, file_name, &all, options);
    }
    let text = checked_text(file_name, first, 0, 1)?;
    let (text, bom) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, '\u{feff}'.len_utf8()),
        None => (text, 0),
    };
    let rest = Continuation {
        pieces: &mut *more,
        offset: bom,
    };
    let read = match format {
        InputFormat::Csv => native_csv::parse(file_name, text, Some(rest), options),
        InputFormat::Jsonl => jsonl::parse_in_pieces(file_name, text, rest, options),
        InputFormat::Acled => acled::parse(file_name, text, Some(rest), options),
        InputFormat::Ucdp => ucdp::parse(file_name, text, Some(rest), options),
        _ => unreachable!("only the formats read in pieces get here"),
    };
    match read {
        Err(error @ (IngestError::NotUtf8 { .. } | IngestError::Unreadable { .. })) => Err(error),
        // The header was refused before any piece after the first was read (the rows'
        // problems are rejections, and a file without rows is refused once all are read):
        // the whole input reports a bad byte first, wherever it lies, and so does this.
        Err(error) => {
            let mut at = first.len();
            let mut line = 1 + memchr::memchr_iter(b'\n', first).count() as u64;
            let mut piece = Vec::new();
            while next_piece(file_name, more, &mut piece)? {
                checked_text(file_name, &piece, at, line)?;
                at += piece.len();
                line += memchr::memchr_iter(b'\n', &piece).count() as u64;
            }
            Err(error)
        }
        Ok(ingested) => Ok(ingested),
    }
}

/// The rest of an input after the text a reader was opened on, given in pieces
/// ([`parse_reports_in_pieces`]).
pub(crate) struct Continuation<'t> {
    /// The pieces after the opened text.
    pub(crate) pieces: &'t mut dyn Pieces,
    /// Where the opened text begins in the input, in bytes (after a byte-order mark).
    pub(crate) offset: usize,
}

impl std::fmt::Debug for Continuation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Continuation")
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

/// `bytes` as text, or [`IngestError::NotUtf8`] naming the first bad byte's line and offset
/// in the input, `bytes` starting at byte `offset` and line `line` of it.
pub(crate) fn checked_text<'b>(
    file_name: &str,
    bytes: &'b [u8],
    offset: usize,
    line: u64,
) -> Result<&'b str, IngestError> {
    std::str::from_utf8(bytes).map_err(|error| {
        let valid = error.valid_up_to();
        IngestError::NotUtf8 {
            file: file_name.to_string(),
            line: line + memchr::memchr_iter(b'\n', &bytes[..valid]).count() as u64,
            offset: offset + valid,
        }
    })
}

/// The next piece of `more`, a read failure as [`IngestError::Unreadable`].
pub(crate) fn next_piece(
    file_name: &str,
    more: &mut dyn Pieces,
    piece: &mut Vec<u8>,
) -> Result<bool, IngestError> {
    more.next_piece(piece)
        .map_err(|error| IngestError::Unreadable {
            file: file_name.to_string(),
            reason: error.to_string(),
        })
}

/// Makes room in `all` for the rows `remaining` more bytes likely hold, at the density of the
/// `read` bytes that gave its rows so far, and a tenth more: its vectors then grow once
/// instead of doubling, each doubling of a large vector copying it while both copies are
/// held (room never used costs address space, not memory).
pub(crate) fn reserve_for_rest(all: &mut Ingested, read: usize, remaining: u64) {
    if read == 0 {
        return;
    }
    let remaining = usize::try_from(remaining).unwrap_or(usize::MAX);
    // A row takes at least two bytes (one character and a line end).
    let most = remaining / 2 + 1;
    let likely = |rows: usize| (rows as f64 * remaining as f64 / read as f64 * 1.1) as usize;
    all.reports
        .reserve_exact(likely(all.reports.len()).min(most));
    all.rows.reserve_exact(likely(all.rows.len()).min(most));
}
