//! Our own CSV layout: one report per row, columns named as in `docs/report-format.md`, in
//! any order.

use std::borrow::Cow;
use std::io::Write;

use crate::ingest::csv_table::{CsvTable, Fields};
use crate::ingest::fields::{
    FIELD_NAMES, Field, Problem, RecordFields, RowIssues, build_report, count_from_text,
    number_from_text, suggest_field, trim_cell,
};
use crate::ingest::options::IngestOptions;
use crate::ingest::read::Continuation;
use crate::ingest::sources::SourceCache;
use crate::ingest::write::{WriteError, check_writable, checked_time_strings};
use crate::ingest::{IngestError, Ingested, InputFormat};
use crate::report::Report;

/// The separator of list values (`actors`, `evidence`) inside one cell.
pub(crate) const LIST_SEPARATOR: char = ';';

/// One CSV row seen through the header.
struct CsvRecord<'a> {
    columns: &'a [Option<usize>],
    record: Fields<'a>,
}

impl CsvRecord<'_> {
    fn cell(&self, field: Field) -> Option<&str> {
        self.columns[field.index()].and_then(|index| self.record.get(index))
    }

    fn non_empty(&self, field: Field) -> Option<&str> {
        self.cell(field).filter(|cell| !trim_cell(cell).is_empty())
    }
}

impl RecordFields for CsvRecord<'_> {
    fn column(&self, field: Field) -> String {
        field.name().to_string()
    }

    fn is_present(&self, field: Field) -> bool {
        self.columns[field.index()].is_some()
    }

    fn raw(&self, field: Field) -> Option<String> {
        self.cell(field).map(str::to_string)
    }

    fn text(&self, field: Field) -> Result<Option<Cow<'_, str>>, Problem> {
        Ok(self.cell(field).map(|cell| {
            if field.verbatim() {
                Cow::Borrowed(cell)
            } else {
                Cow::Borrowed(trim_cell(cell))
            }
        }))
    }

    fn number(&self, field: Field) -> Result<Option<f64>, Problem> {
        self.non_empty(field).map(number_from_text).transpose()
    }

    fn count(&self, field: Field) -> Result<Option<u32>, Problem> {
        self.non_empty(field).map(count_from_text).transpose()
    }

    fn list(&self, field: Field) -> Result<Vec<String>, Problem> {
        Ok(self
            .cell(field)
            .map(|cell| {
                cell.split(LIST_SEPARATOR)
                    .map(trim_cell)
                    .filter(|item| !item.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// Reads our CSV layout.
pub(crate) fn parse<'t>(
    file: &'t str,
    text: &'t str,
    rest: Option<Continuation<'t>>,
    options: &IngestOptions,
) -> Result<Ingested, IngestError> {
    let table = CsvTable::open(file, text, rest)?;
    table.reject_duplicate_columns()?;
    for name in &table.header {
        if name.is_empty() {
            // A trailing comma in a spreadsheet export: the unnamed column is ignored.
            continue;
        }
        if Field::from_name(&name.to_ascii_lowercase()).is_none() {
            return Err(IngestError::UnknownColumn {
                file: file.to_string(),
                column: name.clone(),
                suggestion: suggest_field(name).map(str::to_string),
                known: FIELD_NAMES.iter().map(|n| (*n).to_string()).collect(),
            });
        }
    }
    let required: Vec<&str> = Field::ALL
        .iter()
        .filter(|field| field.required())
        .map(|field| field.name())
        .collect();
    table.require(&required)?;
    let columns = table.locate(FIELD_NAMES);
    table.for_each_row_with(false, SourceCache::default, |row, sources, ingested| {
        let record = CsvRecord {
            columns: &columns,
            record: row.record,
        };
        let mut issues = RowIssues::new(file, row.line);
        match build_report(&record, options, sources, &mut issues) {
            Some(report) => {
                ingested.reports.push(report);
                ingested.rows.push(row.line);
            }
            None => ingested.rejections.append(&mut issues.rejections),
        }
    })
}

/// Writes reports in our CSV layout, every column, in the documented order.
pub(crate) fn write(reports: &[Report], out: &mut dyn Write) -> Result<(), WriteError> {
    let mut writer = csv::WriterBuilder::new().from_writer(out);
    writer
        .write_record(FIELD_NAMES)
        .map_err(WriteError::from_csv)?;
    for report in reports {
        check_writable(InputFormat::Csv, report)?;
        let (time, time_end) = checked_time_strings(InputFormat::Csv, report)?;
        let actors = join_list(InputFormat::Csv, report, "actors", report.actors())?;
        let evidence = join_list(InputFormat::Csv, report, "evidence", report.evidence())?;
        let casualties = report.casualties;
        let record: [Cow<'_, str>; 22] = [
            Cow::Borrowed(report.id.as_str()),
            Cow::Borrowed(report.source.id.as_str()),
            Cow::Borrowed(report.source.kind.as_str()),
            Cow::Borrowed(report.source.party.as_deref().unwrap_or("")),
            Cow::Owned(time),
            Cow::Owned(time_end.unwrap_or_default()),
            Cow::Borrowed(report.place().unwrap_or("")),
            Cow::Owned(report.location.lon.to_string()),
            Cow::Owned(report.location.lat.to_string()),
            Cow::Owned(report.location.uncertainty_m.to_string()),
            Cow::Borrowed(report.action.as_str()),
            Cow::Owned(report.target.to_string()),
            Cow::Borrowed(report.site().unwrap_or("")),
            Cow::Borrowed(report.accused.as_deref().unwrap_or("")),
            Cow::Owned(actors),
            Cow::Owned(casualties.civilian_killed.to_string()),
            Cow::Owned(casualties.civilian_injured.to_string()),
            Cow::Owned(casualties.military_killed.to_string()),
            Cow::Owned(casualties.military_injured.to_string()),
            Cow::Owned(casualties.unspecified_killed.to_string()),
            Cow::Borrowed(report.text()),
            Cow::Owned(evidence),
        ];
        writer
            .write_record(record.iter().map(|cell| cell.as_bytes()))
            .map_err(WriteError::from_csv)?;
    }
    writer.flush()?;
    Ok(())
}

/// Joins list values with `;`; a value containing `;` cannot be written in this layout.
fn join_list(
    format: InputFormat,
    report: &Report,
    field: &str,
    values: &[impl AsRef<str>],
) -> Result<String, WriteError> {
    if let Some(value) = values
        .iter()
        .map(AsRef::as_ref)
        .find(|value: &&str| value.contains(LIST_SEPARATOR))
    {
        return Err(WriteError::NotRepresentable {
            format,
            report_id: report.id.to_string(),
            reason: format!(
                "{field} value `{value}` contains `;`, which separates values in a CSV cell; write JSON Lines instead"
            ),
        });
    }
    let texts: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
    Ok(texts.join(";"))
}
