//! JSON Lines: one report object per line, with the field names of our CSV; and the JSON
//! record shared with GeoJSON properties.

use std::borrow::Cow;
use std::io::Write;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::ingest::fields::{
    FIELD_NAMES, Field, Problem, RecordFields, RowIssues, build_report, suggest_field,
    truncate_value,
};
use crate::ingest::flat_json;
use crate::ingest::lines::{Outcome, collect, line_spans, refuse_empty};
use crate::ingest::options::IngestOptions;
use crate::ingest::read::{Continuation, checked_text, next_piece, reserve_for_rest};
use crate::ingest::sources::SourceCache;
use crate::ingest::write::{WriteError, check_writable, checked_time_strings};
use crate::ingest::{IngestError, Ingested, InputFormat};
use crate::repeated_keys::repeated_top_level_keys;
use crate::report::Report;
use crate::vocab::{ActionType, SourceKind, Target};

/// Where a GeoJSON feature's coordinates come from.
#[derive(Debug)]
pub(crate) enum Coordinates<'v> {
    /// JSON Lines: `lon` and `lat` are ordinary fields.
    Fields,
    /// A Point geometry's `coordinates` array and its path.
    Point { values: &'v [Value], path: String },
    /// The geometry was unusable and has been rejected already.
    Rejected,
}

/// A JSON object read as a report.
#[derive(Debug)]
pub(crate) struct JsonRecord<'v> {
    /// The report fields (the line's object, or a feature's `properties`).
    pub properties: &'v Map<String, Value>,
    /// Prefix of every field's path (`$.`, `features[3].properties.`).
    pub path: String,
    /// Where `lon`/`lat` come from.
    pub coordinates: Coordinates<'v>,
    /// A GeoJSON feature's own `id`, used when the properties have none.
    pub id_fallback: Option<&'v Value>,
}

/// The JSON type of a value, for messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value as written, for messages: strings without their quotes.
pub(crate) fn raw_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

impl<'v> JsonRecord<'v> {
    fn value(&self, field: Field) -> Option<&'v Value> {
        let found = match (field, &self.coordinates) {
            (Field::Lon, Coordinates::Point { values, .. }) => values.first(),
            (Field::Lat, Coordinates::Point { values, .. }) => values.get(1),
            (Field::Lon | Field::Lat, Coordinates::Rejected) => None,
            (Field::Id, _) => self.properties.get("id").or(self.id_fallback),
            _ => self.properties.get(field.name()),
        };
        found.filter(|value| !value.is_null())
    }

    fn wrong_type(&self, value: &Value, expected: &str) -> Problem {
        Problem::new(
            raw_text(value),
            format!("expected {expected}, found {}", type_name(value)),
        )
    }

    /// Rejections for keys that are not report fields.
    pub(crate) fn unknown_keys(&self, issues: &mut RowIssues<'_>) {
        for key in self.properties.keys() {
            if Field::from_name(key).is_some() {
                continue;
            }
            let reason = match suggest_field(key) {
                Some(known) => format!("unknown field `{key}`: did you mean `{known}`?"),
                None => format!("unknown field `{key}` (known: {})", FIELD_NAMES.join(", ")),
            };
            issues.reject(Some(format!("{}{key}", self.path)), None, reason);
        }
    }
}

impl RecordFields for JsonRecord<'_> {
    fn column(&self, field: Field) -> String {
        match (field, &self.coordinates) {
            (Field::Lon, Coordinates::Point { path, .. }) => format!("{path}[0]"),
            (Field::Lat, Coordinates::Point { path, .. }) => format!("{path}[1]"),
            _ => format!("{}{}", self.path, field.name()),
        }
    }

    fn is_present(&self, field: Field) -> bool {
        self.value(field).is_some()
    }

    fn raw(&self, field: Field) -> Option<String> {
        self.value(field).map(raw_text)
    }

    fn text(&self, field: Field) -> Result<Option<Cow<'_, str>>, Problem> {
        match self.value(field) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(Cow::Borrowed(text.as_str()))),
            // Numeric ids are common in GeoJSON and harmless.
            Some(Value::Number(number)) if field == Field::Id => {
                Ok(Some(Cow::Owned(number.to_string())))
            }
            Some(other) => Err(self.wrong_type(other, "a string")),
        }
    }

    fn number(&self, field: Field) -> Result<Option<f64>, Problem> {
        match self.value(field) {
            None => Ok(None),
            Some(Value::Number(number)) => number
                .as_f64()
                .map(Some)
                .ok_or_else(|| Problem::new(number.to_string(), "not a number")),
            Some(other) => Err(self.wrong_type(other, "a number")),
        }
    }

    fn count(&self, field: Field) -> Result<Option<u32>, Problem> {
        match self.value(field) {
            None => Ok(None),
            Some(Value::Number(number)) => match number.as_u64() {
                Some(count) => u32::try_from(count).map(Some).map_err(|_| {
                    Problem::new(
                        number.to_string(),
                        format!("too large (at most {})", u32::MAX),
                    )
                }),
                None => Err(Problem::new(
                    number.to_string(),
                    "not a non-negative integer",
                )),
            },
            Some(other) => Err(self.wrong_type(other, "a non-negative integer")),
        }
    }

    fn list(&self, field: Field) -> Result<Vec<String>, Problem> {
        match self.value(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text.clone()),
                    other => Err(self.wrong_type(other, "an array of strings")),
                })
                .collect(),
            Some(other) => Err(self.wrong_type(other, "an array of strings")),
        }
    }

    fn already_reported(&self, field: Field) -> bool {
        matches!(field, Field::Lon | Field::Lat)
            && matches!(self.coordinates, Coordinates::Rejected)
    }
}

/// Reads JSON Lines.
pub(crate) fn parse(
    file: &str,
    text: &str,
    options: &IngestOptions,
) -> Result<Ingested, IngestError> {
    let (ingested, data_rows) = read_lines(file, text, 1, options);
    refuse_empty(file, data_rows)?;
    Ok(ingested)
}

/// Reads JSON Lines given as `text` (ending just after a newline) and the pieces of `rest`,
/// each read and let go before the next is asked for; the result is [`parse`]'s on the
/// whole input.
pub(crate) fn parse_in_pieces(
    file: &str,
    text: &str,
    rest: Continuation<'_>,
    options: &IngestOptions,
) -> Result<Ingested, IngestError> {
    let Continuation { pieces, offset } = rest;
    let (mut all, mut data_rows) = read_lines(file, text, 1, options);
    if let Some(remaining) = pieces.remaining_bytes() {
        reserve_for_rest(&mut all, text.len(), remaining);
    }
    let mut line = 1 + count_newlines(text);
    let mut at = offset + text.len();
    let mut piece = Vec::new();
    while next_piece(file, pieces, &mut piece)? {
        let piece_text = checked_text(file, &piece, at, line)?;
        let (mut read, rows) = read_lines(file, piece_text, line, options);
        all.reports.append(&mut read.reports);
        all.rows.append(&mut read.rows);
        all.rejections.append(&mut read.rejections);
        data_rows += rows;
        line += count_newlines(piece_text);
        at += piece.len();
    }
    refuse_empty(file, data_rows)?;
    Ok(all)
}

/// The lines of `text` (the first being line `first_line`), read on every core, their
/// outcomes collected in input order; and how many were not blank.
fn read_lines(file: &str, text: &str, first_line: u64, options: &IngestOptions) -> (Ingested, u64) {
    let spans = line_spans(text);
    let mut outcomes = Vec::new();
    spans
        .par_iter()
        .enumerate()
        .with_min_len(256)
        .map_init(SourceCache::default, |sources, (index, &(start, end))| {
            read_line(
                file,
                &text[start..end],
                first_line + index as u64,
                options,
                sources,
            )
        })
        .collect_into_vec(&mut outcomes);
    collect(outcomes, |index| first_line + index as u64)
}

fn count_newlines(text: &str) -> u64 {
    memchr::memchr_iter(b'\n', text.as_bytes()).count() as u64
}

/// One line (without its line end): a report, the reasons it is rejected, or blank.
pub(crate) fn read_line(
    file: &str,
    line: &str,
    row: u64,
    options: &IngestOptions,
    sources: &mut SourceCache,
) -> Outcome {
    if line.trim().is_empty() {
        return Outcome::Blank;
    }
    if let Some(report) = flat_json::accepted_report(file, line, row, options, sources) {
        return Outcome::Accepted(report);
    }
    read_line_as_value(file, line, row, options, sources)
}

/// [`read_line`] through a `serde_json::Value`: every line the fast path
/// ([`flat_json`]) does not take, and the messages of every rejected one.
pub(crate) fn read_line_as_value(
    file: &str,
    line: &str,
    row: u64,
    options: &IngestOptions,
    sources: &mut SourceCache,
) -> Outcome {
    let mut issues = RowIssues::new(file, row);
    match serde_json::from_str::<Value>(line) {
        Err(error) => {
            issues.reject(None, Some(line), format!("not valid JSON: {error}"));
        }
        Ok(Value::Object(object)) => {
            // The map keeps only the last value of a key given twice: the line says two
            // things, and neither is taken silently.
            for repeat in repeated_top_level_keys(line) {
                issues.reject(Some(repeat.path("$.")), None, repeat.reason());
            }
            let record = JsonRecord {
                properties: &object,
                path: "$.".to_string(),
                coordinates: Coordinates::Fields,
                id_fallback: None,
            };
            record.unknown_keys(&mut issues);
            let report = build_report(&record, options, sources, &mut issues);
            if let (Some(report), true) = (report, issues.is_clean()) {
                return Outcome::Accepted(report);
            }
        }
        Ok(other) => {
            issues.reject(
                None,
                Some(&truncate_value(line)),
                format!("a line must be a JSON object, found {}", type_name(&other)),
            );
        }
    }
    Outcome::Rejected(issues.rejections)
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

/// A report as our JSON formats write it: the CSV's field names, in the same order, with
/// absent values left out.
#[derive(Debug, Serialize)]
pub(crate) struct WireReport<'a> {
    id: &'a str,
    source_id: &'a str,
    source_kind: SourceKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_party: Option<&'a str>,
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    place: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    uncertainty_m: f64,
    action: ActionType,
    target: Target,
    #[serde(skip_serializing_if = "Option::is_none")]
    site: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accused: Option<&'a str>,
    #[serde(skip_serializing_if = "<[smol_str::SmolStr]>::is_empty")]
    actors: &'a [smol_str::SmolStr],
    #[serde(skip_serializing_if = "is_zero")]
    civilian_killed: u32,
    #[serde(skip_serializing_if = "is_zero")]
    civilian_injured: u32,
    #[serde(skip_serializing_if = "is_zero")]
    military_killed: u32,
    #[serde(skip_serializing_if = "is_zero")]
    military_injured: u32,
    #[serde(skip_serializing_if = "is_zero")]
    unspecified_killed: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    text: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    evidence: &'a [String],
}

impl<'a> WireReport<'a> {
    /// The wire form of a report; `with_coordinates` false leaves `lon`/`lat` out (GeoJSON
    /// puts them in the geometry).
    pub(crate) fn new(
        format: InputFormat,
        report: &'a Report,
        with_coordinates: bool,
    ) -> Result<Self, WriteError> {
        check_writable(format, report)?;
        let (time, time_end) = checked_time_strings(format, report)?;
        let casualties = report.casualties;
        Ok(WireReport {
            id: &report.id,
            source_id: &report.source.id,
            source_kind: report.source.kind,
            source_party: report.source.party.as_deref(),
            time,
            time_end,
            place: report.place(),
            lon: with_coordinates.then_some(report.location.lon),
            lat: with_coordinates.then_some(report.location.lat),
            uncertainty_m: report.location.uncertainty_m,
            action: report.action,
            target: report.target,
            site: report.site(),
            accused: report.accused.as_deref(),
            actors: report.actors(),
            civilian_killed: casualties.civilian_killed,
            civilian_injured: casualties.civilian_injured,
            military_killed: casualties.military_killed,
            military_injured: casualties.military_injured,
            unspecified_killed: casualties.unspecified_killed,
            text: report.text(),
            evidence: report.evidence(),
        })
    }
}

/// Writes JSON Lines, one report per line.
pub(crate) fn write(reports: &[Report], out: &mut dyn Write) -> Result<(), WriteError> {
    let mut out = std::io::BufWriter::new(out);
    for report in reports {
        let wire = WireReport::new(InputFormat::Jsonl, report, true)?;
        serde_json::to_writer(&mut out, &wire).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
