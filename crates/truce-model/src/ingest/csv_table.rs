//! Reading a CSV file row by row with its header, true line numbers and per-row field-count
//! checks; shared by our own CSV, ACLED and UCDP.

use crate::ingest::fields::RowIssues;
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
    /// The header's names, trimmed.
    pub header: Vec<String>,
    reader: csv::Reader<&'t [u8]>,
    lines: LineCounter<'t>,
}

/// A row handed to the per-format reader.
#[derive(Debug)]
pub(crate) struct CsvRow<'a> {
    /// 1-based line where the row starts.
    pub line: u64,
    /// The fields, as many as the header has.
    pub record: &'a csv::StringRecord,
}

impl<'t> CsvTable<'t> {
    /// Reads the header. An input with no header is [`IngestError::Empty`].
    pub(crate) fn open(file: &'t str, text: &'t str) -> Result<Self, IngestError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut record = csv::StringRecord::new();
        let mut lines = LineCounter::new(text.as_bytes());
        loop {
            match reader.read_record(&mut record) {
                Ok(true) if is_blank(&record) => continue,
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
        Ok(CsvTable {
            file,
            header,
            reader,
            lines,
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

    /// Calls `on_row` for every data row with the header's number of fields; rows with
    /// another number of fields become rejections. Blank rows (nothing but whitespace and
    /// commas) are skipped. With `skip_hxl`, a first data row of HXL hashtags
    /// (`#event+code`, ...) is skipped. An input with a header and no data rows is
    /// [`IngestError::Empty`].
    pub(crate) fn for_each_row(
        mut self,
        skip_hxl: bool,
        ingested: &mut Ingested,
        mut on_row: impl FnMut(CsvRow<'_>, &mut Ingested),
    ) -> Result<(), IngestError> {
        let mut record = csv::StringRecord::new();
        let mut data_rows = 0u64;
        let mut first = true;
        loop {
            match self.reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    if is_blank(&record) {
                        continue;
                    }
                    let line = record
                        .position()
                        .map_or(0, |p| self.lines.line_of_record(byte_offset(p)));
                    if std::mem::take(&mut first) && skip_hxl && is_hxl_row(&record) {
                        continue;
                    }
                    data_rows += 1;
                    if record.len() != self.header.len() {
                        let mut issues = RowIssues::new(self.file, line);
                        issues.reject(
                            None,
                            None,
                            format!(
                                "row has {} fields, the header has {}",
                                record.len(),
                                self.header.len()
                            ),
                        );
                        ingested.rejections.append(&mut issues.rejections);
                        continue;
                    }
                    on_row(
                        CsvRow {
                            line,
                            record: &record,
                        },
                        ingested,
                    );
                }
                Err(error) => {
                    // Bytes were checked as UTF-8 up front and reading from memory cannot
                    // fail, so this is unexpected; keep going with the next row.
                    let line = error
                        .position()
                        .map_or(0, |p| self.lines.line_of_record(byte_offset(p)));
                    data_rows += 1;
                    let mut issues = RowIssues::new(self.file, line);
                    issues.reject(None, None, format!("cannot read the row: {error}"));
                    ingested.rejections.append(&mut issues.rejections);
                    if matches!(error.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                }
            }
        }
        if data_rows == 0 {
            return Err(IngestError::Empty {
                file: self.file.to_string(),
            });
        }
        Ok(())
    }
}

fn byte_offset(position: &csv::Position) -> usize {
    usize::try_from(position.byte()).unwrap_or(usize::MAX)
}

/// Nothing but whitespace in every field.
fn is_blank(record: &csv::StringRecord) -> bool {
    record.iter().all(|field| field.trim().is_empty())
}

/// Every non-empty field is an HXL hashtag.
fn is_hxl_row(record: &csv::StringRecord) -> bool {
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

    #[test]
    fn line_numbers_count_blank_lines_and_quoted_newlines() {
        let text = "a,b\n1,2\n\n3,4\n\"x\ny\",5\r\n\r\n6,7\n";
        let table = CsvTable::open("t.csv", text).unwrap();
        let mut ingested = Ingested::default();
        let mut lines = Vec::new();
        table
            .for_each_row(false, &mut ingested, |row, _| {
                lines.push((row.line, row.record.get(0).unwrap().to_string()))
            })
            .unwrap();
        assert_eq!(
            lines,
            vec![
                (2, "1".to_string()),
                (4, "3".to_string()),
                (5, "x\ny".to_string()),
                (8, "6".to_string())
            ]
        );
    }

    #[test]
    fn header_only_is_empty() {
        let table = CsvTable::open("t.csv", "a,b\n\n").unwrap();
        let mut ingested = Ingested::default();
        let result = table.for_each_row(false, &mut ingested, |_, _| {});
        assert_eq!(
            result,
            Err(IngestError::Empty {
                file: "t.csv".into()
            })
        );
        assert!(matches!(
            CsvTable::open("t.csv", "\n\n"),
            Err(IngestError::Empty { .. })
        ));
    }
}
