//! Reading a CSV file row by row with its header, true line numbers and per-row field-count
//! checks; shared by our own CSV, ACLED and UCDP.

use rayon::prelude::*;

use crate::ingest::fields::{RowIssues, for_each_comma, trim_cell};
use crate::ingest::lines::split_at_newlines;
use crate::ingest::read::{Continuation, checked_text, next_piece, reserve_for_rest};
use crate::ingest::{IngestError, Ingested};

/// Counts lines up to record starts. The `csv` crate reports the byte where it started
/// looking for a record, which lies before any blank lines it skipped, and its own line
/// count ignores newlines inside quoted fields; this counts real newlines.
#[derive(Debug)]
pub(crate) struct LineCounter<'t> {
    bytes: &'t [u8],
    pos: usize,
    line: u64,
}

impl<'t> LineCounter<'t> {
    pub(crate) fn new(bytes: &'t [u8]) -> Self {
        LineCounter {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    /// The 1-based line of the record whose search started at byte `byte` (positions must
    /// not decrease between calls).
    pub(crate) fn line_of_record(&mut self, byte: usize) -> u64 {
        let byte = byte.min(self.bytes.len());
        if byte > self.pos {
            let newlines = memchr::memchr_iter(b'\n', &self.bytes[self.pos..byte]).count();
            self.line += newlines as u64;
            self.pos = byte;
        }
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'\n' => self.line += 1,
                b'\r' => {}
                _ => break,
            }
            self.pos += 1;
        }
        self.line
    }
}

/// A CSV file opened with its header read.
#[derive(Debug)]
pub(crate) struct CsvTable<'t> {
    file: &'t str,
    /// The whole input, or its first piece when `rest` holds the others.
    text: &'t str,
    /// The header's names, trimmed.
    pub header: Vec<String>,
    reader: csv::Reader<&'t [u8]>,
    lines: LineCounter<'t>,
    /// The byte after the header.
    data_start: usize,
    /// The rest of the input, when it comes in pieces.
    rest: Option<Continuation<'t>>,
}

/// A row handed to the per-format reader.
#[derive(Debug)]
pub(crate) struct CsvRow<'a> {
    /// 1-based line where the row starts.
    pub line: u64,
    /// The fields, as many as the header has.
    pub record: Fields<'a>,
}

/// A row's fields: as the `csv` crate read them, or cut from a plain line at its commas.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fields<'a> {
    Record(&'a csv::StringRecord),
    Cut(&'a [&'a str]),
}

impl<'a> Fields<'a> {
    /// The field at `index`, if the row has one there.
    pub(crate) fn get(&self, index: usize) -> Option<&'a str> {
        match *self {
            Fields::Record(record) => record.get(index),
            Fields::Cut(fields) => fields.get(index).copied(),
        }
    }

    /// How many fields the row has.
    pub(crate) fn len(&self) -> usize {
        match self {
            Fields::Record(record) => record.len(),
            Fields::Cut(fields) => fields.len(),
        }
    }

    /// The fields in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let fields = *self;
        (0..fields.len()).filter_map(move |index| fields.get(index))
    }
}

impl<'t> CsvTable<'t> {
    /// Reads the header. An input with no header is [`IngestError::Empty`]. `rest`, when
    /// given, holds the input's bytes after `text`, which then ends just after a newline.
    pub(crate) fn open(
        file: &'t str,
        text: &'t str,
        rest: Option<Continuation<'t>>,
    ) -> Result<Self, IngestError> {
        let mut reader = table_reader(text.as_bytes());
        let mut record = csv::StringRecord::new();
        let mut lines = LineCounter::new(text.as_bytes());
        loop {
            match reader.read_record(&mut record) {
                Ok(true) if is_blank(Fields::Record(&record)) => continue,
                Ok(true) => break,
                Ok(false) => {
                    return Err(IngestError::Empty {
                        file: file.to_string(),
                    });
                }
                Err(error) => {
                    let line = error
                        .position()
                        .map_or(1, |p| lines.line_of_record(byte_offset(p)));
                    return Err(IngestError::Malformed {
                        file: file.to_string(),
                        line,
                        reason: format!("cannot read the header: {error}"),
                    });
                }
            }
        }
        if let Some(position) = record.position() {
            lines.line_of_record(byte_offset(position));
        }
        let header = record.iter().map(|name| name.trim().to_string()).collect();
        let data_start = byte_offset(reader.position());
        Ok(CsvTable {
            file,
            text,
            header,
            reader,
            lines,
            data_start,
            rest,
        })
    }

    /// The column index of each wanted name (exact match after trimming, ASCII case
    /// ignored), and the wanted names not found.
    pub(crate) fn locate(&self, names: &[&str]) -> Vec<Option<usize>> {
        names
            .iter()
            .map(|name| {
                self.header
                    .iter()
                    .position(|column| column.eq_ignore_ascii_case(name))
            })
            .collect()
    }

    /// [`IngestError::MissingColumns`] when any of `required` is not in the header.
    pub(crate) fn require(&self, required: &[&str]) -> Result<(), IngestError> {
        let missing: Vec<String> = required
            .iter()
            .zip(self.locate(required))
            .filter(|(_, index)| index.is_none())
            .map(|(name, _)| (*name).to_string())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(IngestError::MissingColumns {
                file: self.file.to_string(),
                missing,
                found: self.header.clone(),
            })
        }
    }

    /// A header with the same name twice is ambiguous: [`IngestError::Malformed`].
    pub(crate) fn reject_duplicate_columns(&self) -> Result<(), IngestError> {
        for (index, name) in self.header.iter().enumerate() {
            let twice = self.header[..index]
                .iter()
                .any(|earlier| earlier.eq_ignore_ascii_case(name));
            if twice && !name.is_empty() {
                return Err(IngestError::Malformed {
                    file: self.file.to_string(),
                    line: 1,
                    reason: format!("column `{name}` appears twice in the header"),
                });
            }
        }
        Ok(())
    }

    /// Calls `on_row` for every data row with the header's number of fields and returns
    /// what it added; rows with another number of fields become rejections. Blank rows
    /// (nothing but whitespace and commas) are skipped. With `skip_hxl`, a first data row of
    /// HXL hashtags (`#event+code`, ...) is skipped. An input with a header and no data rows
    /// is [`IngestError::Empty`]. `new_state` makes a state for each chunk (a cache of
    /// sources, say), handed to `on_row` with every row of that chunk.
    ///
    /// Large inputs are read in chunks on every thread ([`CsvTable::read_in_chunks`]); the
    /// rows and rejections come out in input order, exactly as one reader gives them.
    pub(crate) fn for_each_row_with<S>(
        self,
        skip_hxl: bool,
        new_state: impl Fn() -> S + Sync,
        on_row: impl Fn(CsvRow<'_>, &mut S, &mut Ingested) + Sync,
    ) -> Result<Ingested, IngestError> {
        let max_chunks = rayon::current_num_threads() * CHUNKS_PER_THREAD;
        let row_reader = RowReader { new_state, on_row };
        self.read_in_chunks(skip_hxl, max_chunks, MIN_CHUNK_BYTES, true, &row_reader)
    }

    /// Reads the data rows in up to `max_chunks` chunks of at least `min_chunk_bytes`. With
    /// `lines_allowed`, a plain input ([`is_plain`]) is read line by line instead
    /// ([`Chunks::read_lines`]), to the same rows.
    ///
    /// An input in pieces is read piece by piece while the pieces are plain, each piece in
    /// chunks on every thread; from the first piece that is not, the rest of the input is
    /// gathered and read by the `csv` crate's reader. Every piece starts at a record: its
    /// predecessors were plain, so no quoted field is open at its first byte.
    fn read_in_chunks(
        self,
        skip_hxl: bool,
        max_chunks: usize,
        min_chunk_bytes: usize,
        lines_allowed: bool,
        on_row: &(impl ReadRow + Sync),
    ) -> Result<Ingested, IngestError> {
        let CsvTable {
            file,
            text,
            header,
            reader,
            lines,
            data_start,
            rest,
        } = self;
        let body = Body {
            file,
            fields: header.len(),
            max_chunks,
            min_chunk_bytes,
            on_row,
        };
        let mut joined = Joined::new(skip_hxl);
        let first_line = 1 + count_newlines(&text.as_bytes()[..data_start]);
        let plain = lines_allowed && is_plain(&text.as_bytes()[data_start..]);
        let Some(Continuation { pieces, offset }) = rest else {
            if plain {
                body.read_plain(text, data_start, first_line, &mut joined);
            } else {
                body.read_quoted(
                    text,
                    data_start,
                    first_line,
                    Some((reader, lines)),
                    &mut joined,
                );
            }
            return joined.finish(file);
        };
        let mut piece = Vec::new();
        if !plain {
            let mut all = text.as_bytes()[data_start..].to_vec();
            while next_piece(file, pieces, &mut piece)? {
                all.extend_from_slice(&piece);
            }
            let all = checked_text(file, &all, offset + data_start, first_line)?;
            body.read_quoted(all, 0, first_line, None, &mut joined);
            return joined.finish(file);
        }
        let mut line = body.read_plain(text, data_start, first_line, &mut joined);
        if let Some(remaining) = pieces.remaining_bytes() {
            reserve_for_rest(&mut joined.all, text.len() - data_start, remaining);
        }
        let mut at = offset + text.len();
        while next_piece(file, pieces, &mut piece)? {
            if lines_allowed && is_plain(&piece) {
                let piece_text = checked_text(file, &piece, at, line)?;
                line = body.read_plain(piece_text, 0, line, &mut joined);
                at += piece.len();
                continue;
            }
            // A quote or a lone carriage return: the rest of the input is read whole.
            let mut all = std::mem::take(&mut piece);
            while next_piece(file, pieces, &mut piece)? {
                all.extend_from_slice(&piece);
            }
            let all = checked_text(file, &all, at, line)?;
            body.read_quoted(all, 0, line, None, &mut joined);
            break;
        }
        joined.finish(file)
    }
}

/// How the data rows are read, whatever text they come in.
struct Body<'t, 'f, F> {
    file: &'t str,
    /// The header's number of fields.
    fields: usize,
    max_chunks: usize,
    min_chunk_bytes: usize,
    on_row: &'f F,
}

impl<'t, F: ReadRow + Sync> Body<'t, '_, F> {
    /// Reads the plain rows of `text[data_start..]` (line `first_line` at `data_start`) line
    /// by line, in chunks on every thread, into `joined`; returns the line after the text.
    fn read_plain(
        &self,
        text: &'t str,
        data_start: usize,
        first_line: u64,
        joined: &mut Joined,
    ) -> u64 {
        let bytes = text.as_bytes();
        let chunks = self.chunks(text);
        let starts = chunk_starts(bytes, data_start, self.max_chunks, self.min_chunk_bytes);
        let end_at = |index: usize| starts.get(index + 1).copied().unwrap_or(bytes.len());
        let line_at = lines_at(first_line, starts.len(), |index| {
            &bytes[starts[index]..end_at(index)]
        });
        let hxl_first = joined.hxl_pending;
        let reads: Vec<ChunkRead> = (0..starts.len())
            .into_par_iter()
            .with_max_len(1)
            .map(|index| {
                chunks.read_lines(
                    starts[index],
                    end_at(index),
                    (line_at[index], line_at[index + 1]),
                    index == 0 && hxl_first,
                )
            })
            .collect();
        joined.join(reads, |index, read, hxl_pending| {
            // The file's first non-blank row lies in a later chunk when the first chunks
            // hold only blank lines: that chunk is read again, checking for HXL tags.
            Some(if index > 0 && hxl_pending && read.saw_row {
                chunks.read_lines(
                    starts[index],
                    end_at(index),
                    (line_at[index], line_at[index + 1]),
                    true,
                )
            } else {
                read
            })
        });
        line_at[starts.len()]
    }

    /// Reads the rows of `text[data_start..]` (line `first_line` at `data_start`) with the
    /// `csv` crate's reader, in chunks on every thread, into `joined`. `header_reader` is
    /// the reader that read the header just before `data_start`, if one did: the first
    /// chunk goes on with it.
    ///
    /// Every chunk after the first starts just after a newline: a record starts there unless
    /// the newline lies inside a quoted field. Each chunk is read on that assumption by its
    /// own reader, which keeps the records that begin before the chunk's end and notes where
    /// the first record beyond it begins. The chunks are then taken in order. A chunk whose
    /// first record does not begin where the previous chunk's reader found the next one
    /// started inside a quoted field: its rows are dropped and it is read again from that
    /// record. Two readers that begin a record at the same byte read the same records from
    /// there on, so the result is the one reader's.
    fn read_quoted(
        &self,
        text: &'t str,
        data_start: usize,
        first_line: u64,
        header_reader: Option<(csv::Reader<&'t [u8]>, LineCounter<'t>)>,
        joined: &mut Joined,
    ) {
        let bytes = text.as_bytes();
        let chunks = self.chunks(text);
        let starts = chunk_starts(bytes, data_start, self.max_chunks, self.min_chunk_bytes);
        let end_of = |index: usize| starts.get(index + 1).copied().unwrap_or(usize::MAX);
        let line_at = lines_at(first_line, starts.len(), |index| {
            &bytes[starts[index]..end_of(index).min(bytes.len())]
        });
        // A reader of chunk `index` from `from`, a byte at or after the chunk's start.
        let fresh_job = |index: usize, from: usize, hxl_pending: bool| ChunkJob {
            reader: table_reader(&bytes[from..]),
            offset: from,
            end: end_of(index),
            lines: LineCounter {
                bytes,
                pos: from,
                line: line_at[index] + count_newlines(&bytes[starts[index].min(from)..from]),
            },
            hxl_pending,
        };
        let mut header_reader = header_reader;
        let mut jobs = Vec::with_capacity(starts.len());
        for (index, &start) in starts.iter().enumerate() {
            jobs.push(match header_reader.take() {
                // The first chunk goes on with the reader that read the header.
                Some((reader, lines)) => ChunkJob {
                    reader,
                    offset: 0,
                    end: end_of(index),
                    lines,
                    hxl_pending: joined.hxl_pending,
                },
                None => fresh_job(index, start, index == 0 && joined.hxl_pending),
            });
        }
        let reads: Vec<ChunkRead> = jobs
            .into_par_iter()
            .with_max_len(1)
            .map(|job| chunks.read(job))
            .collect();
        let mut next = None;
        joined.join(reads, |index, read, hxl_pending| {
            let read = match next {
                _ if index == 0 => read,
                // The previous reader reached the end of the input.
                None => return None,
                // The chunk's reader started inside a quoted field, or (a reader of a later
                // chunk not knowing whether it holds the file's first data row) did not
                // check an HXL row: the chunk is read again from the record the previous
                // reader found, which lies at or after the chunk's start.
                Some(at) if read.first_record != Some(at) || (hxl_pending && read.saw_row) => {
                    chunks.read(fresh_job(index, at, hxl_pending))
                }
                Some(_) => read,
            };
            next = read.next_record;
            Some(read)
        });
    }

    fn chunks(&self, text: &'t str) -> Chunks<'t, '_, F> {
        Chunks {
            file: self.file,
            fields: self.fields,
            text,
            bytes: text.as_bytes(),
            on_row: self.on_row,
        }
    }
}

/// The line at which each of `n_chunks` chunks starts (`chunk(index)` gives its bytes),
/// the first at `first_line`, and after them the line after the last chunk.
fn lines_at<'b>(
    first_line: u64,
    n_chunks: usize,
    chunk: impl Fn(usize) -> &'b [u8] + Sync,
) -> Vec<u64> {
    let newlines: Vec<u64> = (0..n_chunks)
        .into_par_iter()
        .map(|index| count_newlines(chunk(index)))
        .collect();
    let mut line_at = Vec::with_capacity(n_chunks + 1);
    let mut line = first_line;
    line_at.push(line);
    for newlines in newlines {
        line += newlines;
        line_at.push(line);
    }
    line_at
}

/// The chunks' reads joined in order, over every piece of an input.
#[derive(Debug)]
struct Joined {
    all: Ingested,
    /// Data rows seen (blank rows and an HXL row not counted).
    data_rows: u64,
    /// Whether the file's HXL row may still come.
    hxl_pending: bool,
}

impl Joined {
    fn new(skip_hxl: bool) -> Self {
        Joined {
            all: Ingested::default(),
            data_rows: 0,
            hxl_pending: skip_hxl,
        }
    }

    /// Takes the chunks' reads in order. `settle` gets each read with its index and whether
    /// the file's HXL row may still come, and returns the read to keep (the chunk read again
    /// if need be), or `None` to stop (the input ended in an earlier chunk).
    fn join(
        &mut self,
        reads: Vec<ChunkRead>,
        mut settle: impl FnMut(usize, ChunkRead, bool) -> Option<ChunkRead>,
    ) {
        let mut kept = Vec::with_capacity(reads.len());
        for (index, read) in reads.into_iter().enumerate() {
            let Some(read) = settle(index, read, self.hxl_pending) else {
                break;
            };
            self.data_rows += read.data_rows;
            self.hxl_pending &= !read.saw_row;
            kept.push(read.ingested);
        }
        self.append(kept);
    }

    /// Appends the parts in order, each part's vectors moved once.
    fn append(&mut self, parts: Vec<Ingested>) {
        let mut parts = parts.into_iter();
        if self.all.reports.is_empty() && self.all.rejections.is_empty() {
            match parts.next() {
                Some(first) => self.all = first,
                None => return,
            }
        }
        let rest: Vec<Ingested> = parts.collect();
        let all = &mut self.all;
        all.reports
            .reserve(rest.iter().map(|part| part.reports.len()).sum());
        all.rows
            .reserve(rest.iter().map(|part| part.rows.len()).sum());
        for mut part in rest {
            all.reports.append(&mut part.reports);
            all.rows.append(&mut part.rows);
            all.rejections.append(&mut part.rejections);
        }
    }

    /// What was read; no data rows at all is [`IngestError::Empty`].
    fn finish(self, file: &str) -> Result<Ingested, IngestError> {
        if self.data_rows == 0 {
            return Err(IngestError::Empty {
                file: file.to_string(),
            });
        }
        Ok(self.all)
    }
}

/// Chunks per thread, so that a thread that finishes early takes another.
const CHUNKS_PER_THREAD: usize = 4;

/// Inputs smaller than this are not split (per chunk, in bytes).
const MIN_CHUNK_BYTES: usize = 1 << 20;

/// A reader of records with the settings every format here uses: no header handling (the
/// table reads it), any number of fields per record.
fn table_reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
}

/// Whether `bytes` hold no `"` and no carriage return but before a newline: then the `csv`
/// crate's records are exactly the lines split at commas, and they can be read so, on every
/// core, without its state machine.
pub(crate) fn is_plain(bytes: &[u8]) -> bool {
    split_at_newlines(bytes, rayon::current_num_threads(), 1 << 20)
        .par_iter()
        .all(|&(start, end)| {
            memchr::memchr2_iter(b'"', b'\r', &bytes[start..end])
                .all(|at| bytes[start + at] == b'\r' && bytes.get(start + at + 1) == Some(&b'\n'))
        })
}

fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Where each chunk of the data rows starts: the first at `data_start`, the others just
/// after a newline ([`split_at_newlines`]).
fn chunk_starts(
    bytes: &[u8],
    data_start: usize,
    max_chunks: usize,
    min_chunk_bytes: usize,
) -> Vec<usize> {
    let data_start = data_start.min(bytes.len());
    split_at_newlines(&bytes[data_start..], max_chunks, min_chunk_bytes)
        .into_iter()
        .enumerate()
        .filter(|&(index, (start, end))| index == 0 || start < end)
        .map(|(_, (start, _))| data_start + start)
        .collect()
}

/// The first byte of a record whose reader started looking at `searched`: past the line
/// ends of any blank lines.
fn record_begins(bytes: &[u8], searched: usize) -> usize {
    let skipped = bytes
        .get(searched..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .count();
    searched + skipped
}

/// What is done with each row of a chunk.
trait ReadRow {
    /// A chunk's state.
    type State;
    fn new_state(&self) -> Self::State;
    fn read_row(&self, row: CsvRow<'_>, state: &mut Self::State, ingested: &mut Ingested);
}

/// A [`ReadRow`] from two closures.
struct RowReader<N, F> {
    new_state: N,
    on_row: F,
}

impl<S, N: Fn() -> S, F: Fn(CsvRow<'_>, &mut S, &mut Ingested)> ReadRow for RowReader<N, F> {
    type State = S;

    fn new_state(&self) -> S {
        (self.new_state)()
    }

    fn read_row(&self, row: CsvRow<'_>, state: &mut S, ingested: &mut Ingested) {
        (self.on_row)(row, state, ingested);
    }
}

/// What every chunk's reader shares.
struct Chunks<'t, 'f, F> {
    file: &'t str,
    /// The header's number of fields.
    fields: usize,
    /// The whole input.
    text: &'t str,
    /// The whole input's bytes.
    bytes: &'t [u8],
    on_row: &'f F,
}

/// One chunk to read.
struct ChunkJob<'t> {
    /// A reader positioned at the chunk's start (`offset` in the input).
    reader: csv::Reader<&'t [u8]>,
    /// Where the reader's byte 0 lies in the input.
    offset: usize,
    /// Records that begin at or beyond this byte belong to later chunks.
    end: usize,
    lines: LineCounter<'t>,
    /// Whether the next data row may be the file's row of HXL hashtags.
    hxl_pending: bool,
}

/// What reading one chunk gave.
#[derive(Debug, Default)]
struct ChunkRead {
    ingested: Ingested,
    /// Data rows seen (blank rows and an HXL row not counted).
    data_rows: u64,
    /// Whether a non-blank row was seen.
    saw_row: bool,
    /// Where the reader's first record begins, kept or not.
    first_record: Option<usize>,
    /// Where the first record at or beyond the chunk's end begins; `None` when the input
    /// ended first.
    next_record: Option<usize>,
}

impl<F: ReadRow + Sync> Chunks<'_, '_, F> {
    /// One record read at `line`: skipped when blank or the file's row of HXL tags,
    /// rejected when its number of fields is not the header's, else handed to the reader.
    fn record(
        &self,
        record: Fields<'_>,
        line: u64,
        hxl_pending: &mut bool,
        state: &mut F::State,
        read: &mut ChunkRead,
    ) {
        if is_blank(record) {
            return;
        }
        read.saw_row = true;
        if std::mem::take(hxl_pending) && is_hxl_row(record) {
            return;
        }
        read.data_rows += 1;
        if record.len() != self.fields {
            let mut issues = RowIssues::new(self.file, line);
            issues.reject(
                None,
                None,
                format!(
                    "row has {} fields, the header has {}",
                    record.len(),
                    self.fields
                ),
            );
            read.ingested.rejections.append(&mut issues.rejections);
            return;
        }
        self.on_row
            .read_row(CsvRow { line, record }, state, &mut read.ingested);
    }

    fn read(&self, job: ChunkJob<'_>) -> ChunkRead {
        let ChunkJob {
            mut reader,
            offset,
            end,
            mut lines,
            mut hxl_pending,
        } = job;
        let mut read = ChunkRead::default();
        let mut state = self.on_row.new_state();
        let mut record = csv::StringRecord::new();
        loop {
            let result = reader.read_record(&mut record);
            let searched = match &result {
                Ok(true) => record.position(),
                Ok(false) => break,
                Err(error) => error.position(),
            }
            .map(|position| offset.saturating_add(byte_offset(position)));
            if let Some(searched) = searched {
                let begins = record_begins(self.bytes, searched);
                read.first_record.get_or_insert(begins);
                if begins >= end {
                    read.next_record = Some(begins);
                    break;
                }
            }
            let line = searched.map_or(0, |searched| lines.line_of_record(searched));
            match result {
                Ok(_) => self.record(
                    Fields::Record(&record),
                    line,
                    &mut hxl_pending,
                    &mut state,
                    &mut read,
                ),
                Err(error) => {
                    // Bytes were checked as UTF-8 up front and reading from memory cannot
                    // fail, so this is unexpected; keep going with the next row.
                    read.data_rows += 1;
                    let mut issues = RowIssues::new(self.file, line);
                    issues.reject(None, None, format!("cannot read the row: {error}"));
                    read.ingested.rejections.append(&mut issues.rejections);
                    if matches!(error.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                }
            }
        }
        read
    }
}

impl<F: ReadRow + Sync> Chunks<'_, '_, F> {
    /// Reads the lines of `bytes[start..end]` (`start` at a line's start, line `first_line`;
    /// `next_line` is the line just after `end`) of a plain input ([`is_plain`]): each line is
    /// one record, its fields split at commas, handled as [`Chunks::read`] handles a record.
    fn read_lines(
        &self,
        start: usize,
        end: usize,
        (first_line, next_line): (u64, u64),
        hxl_pending: bool,
    ) -> ChunkRead {
        let mut read = ChunkRead::default();
        // Room for a report per line (the last may lack its newline) from the start: vectors
        // grown by doubling leave their smaller copies behind in the allocator.
        let lines = usize::try_from(next_line - first_line + 1).unwrap_or(0);
        read.ingested.reports.reserve_exact(lines);
        read.ingested.rows.reserve_exact(lines);
        let mut state = self.on_row.new_state();
        let mut cut: Vec<&str> = Vec::new();
        let mut hxl_pending = hxl_pending;
        let mut line = first_line;
        let mut at = start;
        while at < end {
            let (text_end, next) = match memchr::memchr(b'\n', &self.bytes[at..end]) {
                Some(newline) => (at + newline, at + newline + 1),
                None => (end, end),
            };
            // Cut at ASCII bytes only (line ends, commas), so every piece is whole text.
            let text = &self.text[at..text_end];
            let text = text.strip_suffix('\r').unwrap_or(text);
            // An empty line is no record (as the `csv` crate skips it).
            if !text.is_empty() {
                cut.clear();
                let mut field_start = 0;
                for_each_comma(text.as_bytes(), |comma| {
                    cut.push(&text[field_start..comma]);
                    field_start = comma + 1;
                });
                cut.push(&text[field_start..]);
                self.record(
                    Fields::Cut(&cut),
                    line,
                    &mut hxl_pending,
                    &mut state,
                    &mut read,
                );
            }
            line += 1;
            at = next;
        }
        read
    }
}

fn byte_offset(position: &csv::Position) -> usize {
    usize::try_from(position.byte()).unwrap_or(usize::MAX)
}

/// Nothing but whitespace in every field.
fn is_blank(record: Fields<'_>) -> bool {
    record.iter().all(|field| trim_cell(field).is_empty())
}

/// Every non-empty field is an HXL hashtag.
fn is_hxl_row(record: Fields<'_>) -> bool {
    let mut tags = 0;
    for field in record.iter().map(str::trim).filter(|f| !f.is_empty()) {
        if !field.starts_with('#') {
            return false;
        }
        tags += 1;
    }
    tags > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` with `max_chunks` chunks of at least `min_chunk_bytes`, keeping each row
    /// as a rejection whose value holds its fields (so that rows and rejections of wrong
    /// field counts come out in one list, in order).
    fn rows_of(
        text: &str,
        skip_hxl: bool,
        max_chunks: usize,
        min_chunk_bytes: usize,
    ) -> Result<Vec<(u64, String)>, IngestError> {
        rows_read(text, skip_hxl, max_chunks, min_chunk_bytes, true)
    }

    /// As [`rows_of`]; `lines_allowed: false` keeps a plain input on the `csv` crate's reader.
    fn rows_read(
        text: &str,
        skip_hxl: bool,
        max_chunks: usize,
        min_chunk_bytes: usize,
        lines_allowed: bool,
    ) -> Result<Vec<(u64, String)>, IngestError> {
        let table = CsvTable::open("t.csv", text, None)?;
        rows_of_table(table, skip_hxl, max_chunks, min_chunk_bytes, lines_allowed)
    }

    /// As [`rows_read`] with the text handed over in pieces of at least `piece_bytes`.
    fn rows_in_pieces(
        text: &str,
        skip_hxl: bool,
        piece_bytes: usize,
        max_chunks: usize,
        min_chunk_bytes: usize,
    ) -> Result<Vec<(u64, String)>, IngestError> {
        let mut pieces = crate::ingest::SlicePieces::new(text.as_bytes(), piece_bytes);
        let first = pieces.next_slice().unwrap_or_default();
        let first = std::str::from_utf8(first).expect("pieces end at newlines");
        let continuation = Continuation {
            pieces: &mut pieces,
            offset: 0,
        };
        let table = CsvTable::open("t.csv", first, Some(continuation))?;
        rows_of_table(table, skip_hxl, max_chunks, min_chunk_bytes, true)
    }

    fn rows_of_table(
        table: CsvTable<'_>,
        skip_hxl: bool,
        max_chunks: usize,
        min_chunk_bytes: usize,
        lines_allowed: bool,
    ) -> Result<Vec<(u64, String)>, IngestError> {
        let ingested = table.read_in_chunks(
            skip_hxl,
            max_chunks,
            min_chunk_bytes,
            lines_allowed,
            &RowReader {
                new_state: || (),
                on_row: |row: CsvRow<'_>, (): &mut (), ingested: &mut Ingested| {
                    let fields: Vec<&str> = row.record.iter().collect();
                    ingested.rows.push(row.line);
                    ingested.rejections.push(crate::ingest::Rejection {
                        file: String::new(),
                        row: row.line,
                        column: None,
                        value: Some(fields.join("|")),
                        reason: "row".into(),
                    });
                },
            },
        )?;
        let read: Vec<u64> = ingested
            .rejections
            .iter()
            .filter(|r| r.reason == "row")
            .map(|r| r.row)
            .collect();
        assert_eq!(read, ingested.rows);
        Ok(ingested
            .rejections
            .into_iter()
            .map(|r| (r.row, r.value.unwrap_or(r.reason)))
            .collect())
    }

    #[test]
    fn line_numbers_count_blank_lines_and_quoted_newlines() {
        let text = "a,b\n1,2\n\n3,4\n\"x\ny\",5\r\n\r\n6,7\n";
        let expected = vec![
            (2, "1|2".to_string()),
            (4, "3|4".to_string()),
            (5, "x\ny|5".to_string()),
            (8, "6|7".to_string()),
        ];
        assert_eq!(rows_of(text, false, 1, usize::MAX).unwrap(), expected);
        // In chunks of a byte or more: every newline starts a chunk, one of them inside
        // the quoted field.
        assert_eq!(rows_of(text, false, 64, 1).unwrap(), expected);
    }

    #[test]
    fn chunks_that_start_inside_quoted_fields_are_read_again() {
        let mut text = String::from("id,text\n");
        for index in 0..200 {
            text.push_str(&format!(
                "{index},\"line one\nline two, \"\"quoted\"\"\n\n\"\n"
            ));
        }
        let one = rows_of(&text, false, 1, usize::MAX).unwrap();
        assert_eq!(one.len(), 200);
        assert_eq!(
            one[1],
            (6, "1|line one\nline two, \"quoted\"\n\n".to_string())
        );
        for (max_chunks, min_bytes) in [(2, 1), (3, 100), (8, 1), (64, 1), (1000, 1)] {
            assert_eq!(rows_of(&text, false, max_chunks, min_bytes).unwrap(), one);
        }
    }

    #[test]
    fn the_hxl_row_is_skipped_after_blank_chunks() {
        let text = format!("a,b\n{}#x,#y\n1,2\n", "\n".repeat(50));
        let expected = vec![(53, "1|2".to_string())];
        assert_eq!(rows_of(&text, true, 1, usize::MAX).unwrap(), expected);
        assert_eq!(rows_of(&text, true, 16, 1).unwrap(), expected);
        // Only the first data row can be HXL.
        let text = format!("a,b\n1,2\n{}#x,#y\n", "\n".repeat(50));
        assert_eq!(rows_of(&text, true, 16, 1).unwrap().len(), 2);
    }

    #[test]
    fn rows_with_other_field_counts_keep_their_place() {
        let text = "a,b\n1,2\n3\n4,5,6\n7,8\n";
        let rows = rows_of(text, false, 8, 1).unwrap();
        assert_eq!(rows, rows_of(text, false, 1, usize::MAX).unwrap());
        let reasons: Vec<&str> = rows.iter().map(|(_, value)| value.as_str()).collect();
        assert_eq!(
            reasons,
            vec![
                "1|2",
                "row has 1 fields, the header has 2",
                "row has 3 fields, the header has 2",
                "7|8"
            ]
        );
    }

    #[test]
    fn chunk_starts_follow_newlines() {
        let text = b"h\naaaa\nbbbb\ncccc\ndddd\n";
        assert_eq!(chunk_starts(text, 2, 1, 1), vec![2]);
        assert_eq!(chunk_starts(text, 2, 4, 1), vec![2, 12, 17]);
        assert_eq!(chunk_starts(text, 2, 4, 100), vec![2]);
        // No chunk starts at the very end.
        assert_eq!(chunk_starts(b"h\nab\n", 2, 8, 1), vec![2]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Any split into chunks reads the rows one reader reads: quoted fields with line
        /// ends and doubled quotes, stray quotes, CRLF, blank lines, HXL rows. So does the
        /// input handed over in pieces: plain pieces read line by line, and from the first
        /// piece with a quote or a lone carriage return on, the rest gathered for the `csv`
        /// crate's reader.
        #[test]
        fn chunks_read_what_one_reader_reads(
            body in "[a,\"\\n\\r #]{0,300}",
            skip_hxl: bool,
            max_chunks in 1usize..40,
            min_bytes in 1usize..20,
            piece_bytes in 1usize..80,
        ) {
            let text = format!("h1,h2,h3\n{body}");
            let one = rows_of(&text, skip_hxl, 1, usize::MAX);
            let chunked = rows_of(&text, skip_hxl, max_chunks, min_bytes);
            proptest::prop_assert_eq!(&chunked, &one);
            let pieces = rows_in_pieces(&text, skip_hxl, piece_bytes, max_chunks.min(8), min_bytes);
            proptest::prop_assert_eq!(pieces, one);
        }
    }

    /// Inputs with a quote or a lone carriage return are not plain; CRLF line ends are.
    #[test]
    fn plain_inputs_have_no_quotes_and_no_lone_carriage_returns() {
        assert!(is_plain(b"1,2\n3,4\r\n\r\n5,6"));
        assert!(is_plain(b""));
        assert!(!is_plain(b"1,\"2\"\n"));
        assert!(!is_plain(b"1,2\r3,4\n"));
        assert!(!is_plain(b"1,2\r"));
        // Past the first chunk too.
        let mut long = "1,2\n".repeat(600_000);
        assert!(is_plain(long.as_bytes()));
        long.push('"');
        assert!(!is_plain(long.as_bytes()));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Line by line, a plain input gives the rows the `csv` crate's reader gives, in any
        /// chunks, whole or in pieces (every piece then read line by line): blank lines,
        /// lines of spaces and commas, CRLF ends, HXL rows, rows of other field counts, a
        /// last line without a line end, text beyond ASCII.
        #[test]
        fn plain_lines_read_what_the_csv_reader_reads(
            lines in proptest::collection::vec("[a, #é]{0,12}", 0..60),
            crlf in proptest::collection::vec(proptest::bool::ANY, 60),
            last_newline: bool,
            skip_hxl: bool,
            max_chunks in 1usize..40,
            min_bytes in 1usize..20,
            piece_bytes in 1usize..80,
        ) {
            let mut text = String::from("h1,h2,h3\n");
            for (index, line) in lines.iter().enumerate() {
                text.push_str(line);
                if index + 1 < lines.len() || last_newline {
                    text.push_str(if crlf[index] { "\r\n" } else { "\n" });
                }
            }
            let reader = rows_read(&text, skip_hxl, 1, usize::MAX, false);
            let by_lines = rows_read(&text, skip_hxl, max_chunks, min_bytes, true);
            proptest::prop_assert_eq!(&by_lines, &reader);
            let pieces = rows_in_pieces(&text, skip_hxl, piece_bytes, max_chunks.min(8), min_bytes);
            proptest::prop_assert_eq!(pieces, reader);
        }
    }

    /// Pieces are cut just after newlines, at least the asked size apart.
    #[test]
    fn pieces_end_at_newlines() {
        let pieces = |bytes: &'static [u8], size: usize| {
            let mut pieces = crate::ingest::SlicePieces::new(bytes, size);
            std::iter::from_fn(move || pieces.next_slice()).collect::<Vec<_>>()
        };
        assert_eq!(
            pieces(b"ab\ncd\nef\n\ngh", 4),
            vec![&b"ab\ncd\n"[..], b"ef\n\n", b"gh"]
        );
        assert_eq!(pieces(b"", 4), Vec::<&[u8]>::new());
        assert_eq!(pieces(b"abc\n", 1), vec![&b"abc\n"[..]]);
    }

    /// A file of header and blank pieces has no data rows.
    #[test]
    fn blank_pieces_are_empty() {
        let result = rows_in_pieces("h1,h2\n\n\n \n,\n", false, 2, 2, 1);
        assert_eq!(
            result,
            Err(IngestError::Empty {
                file: "t.csv".into()
            })
        );
    }

    #[test]
    fn header_only_is_empty() {
        let table = CsvTable::open("t.csv", "a,b\n\n", None).unwrap();
        let result = table.for_each_row_with(false, || (), |_, (), _| {});
        assert_eq!(
            result.map(|_| ()),
            Err(IngestError::Empty {
                file: "t.csv".into()
            })
        );
        assert!(matches!(
            CsvTable::open("t.csv", "\n\n", None),
            Err(IngestError::Empty { .. })
        ));
    }
}
