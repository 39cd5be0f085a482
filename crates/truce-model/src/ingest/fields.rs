//! The fields of our own formats (CSV, JSON Lines, GeoJSON properties), the checks every
//! format applies to a value, and the one place that turns a record into a [`Report`].

use std::borrow::Cow;

use crate::ingest::options::IngestOptions;
use crate::ingest::sources::SourceCache;
use crate::ingest::time::parse_time_value;
use crate::ingest::{MAX_VALUE_CHARS, Rejection};
use crate::report::{Casualties, Location, Report, TimeSpan};
use crate::vocab::{ActionType, SourceKind, Target, closest};
use smol_str::SmolStr;

/// A field of our own report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Id,
    SourceId,
    SourceKind,
    SourceParty,
    Time,
    TimeEnd,
    Place,
    Lon,
    Lat,
    UncertaintyM,
    Action,
    Target,
    Site,
    Accused,
    Actors,
    CivilianKilled,
    CivilianInjured,
    MilitaryKilled,
    MilitaryInjured,
    UnspecifiedKilled,
    Text,
    Evidence,
}

/// Every field name, in the order our writers put them.
pub(crate) const FIELD_NAMES: &[&str] = &[
    "id",
    "source_id",
    "source_kind",
    "source_party",
    "time",
    "time_end",
    "place",
    "lon",
    "lat",
    "uncertainty_m",
    "action",
    "target",
    "site",
    "accused",
    "actors",
    "civilian_killed",
    "civilian_injured",
    "military_killed",
    "military_injured",
    "unspecified_killed",
    "text",
    "evidence",
];

impl Field {
    /// Every field, in the order of [`FIELD_NAMES`].
    pub(crate) const ALL: [Field; 22] = [
        Field::Id,
        Field::SourceId,
        Field::SourceKind,
        Field::SourceParty,
        Field::Time,
        Field::TimeEnd,
        Field::Place,
        Field::Lon,
        Field::Lat,
        Field::UncertaintyM,
        Field::Action,
        Field::Target,
        Field::Site,
        Field::Accused,
        Field::Actors,
        Field::CivilianKilled,
        Field::CivilianInjured,
        Field::MilitaryKilled,
        Field::MilitaryInjured,
        Field::UnspecifiedKilled,
        Field::Text,
        Field::Evidence,
    ];

    /// The position in [`Field::ALL`] and [`FIELD_NAMES`].
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// The name in files.
    pub(crate) const fn name(self) -> &'static str {
        FIELD_NAMES[self.index()]
    }

    /// Whether a report cannot be built without it.
    pub(crate) const fn required(self) -> bool {
        matches!(
            self,
            Field::Id
                | Field::SourceId
                | Field::SourceKind
                | Field::Time
                | Field::Lon
                | Field::Lat
                | Field::Action
                | Field::Target
        )
    }

    /// The field of a name, exactly as written in [`FIELD_NAMES`].
    pub(crate) fn from_name(name: &str) -> Option<Field> {
        FIELD_NAMES
            .iter()
            .position(|known| *known == name)
            .map(|index| Field::ALL[index])
    }

    /// Whether the value is free text kept exactly as written (never trimmed).
    pub(crate) const fn verbatim(self) -> bool {
        matches!(self, Field::Text)
    }
}

/// Names people commonly write for our fields, for suggestions only (they are not accepted).
const ALIASES: &[(&str, &str)] = &[
    ("latitude", "lat"),
    ("longitude", "lon"),
    ("lng", "lon"),
    ("long", "lon"),
    ("uncertainty", "uncertainty_m"),
    ("radius_m", "uncertainty_m"),
    ("timestamp", "time"),
    ("date", "time"),
    ("ts", "time"),
    ("end_time", "time_end"),
    ("source", "source_id"),
    ("perpetrator", "accused"),
    ("notes", "text"),
    ("description", "text"),
    ("location", "place"),
    ("target_category", "target"),
    ("action_type", "action"),
];

const ALIAS_NAMES: &[&str] = &[
    "latitude",
    "longitude",
    "lng",
    "long",
    "uncertainty",
    "radius_m",
    "timestamp",
    "date",
    "ts",
    "end_time",
    "source",
    "perpetrator",
    "notes",
    "description",
    "location",
    "target_category",
    "action_type",
];

/// The known field a mistyped or foreign name most likely means.
pub(crate) fn suggest_field(name: &str) -> Option<&'static str> {
    let lower = name.trim().to_ascii_lowercase();
    if let Some(field) = Field::from_name(&lower) {
        // Differs only in case or surrounding spaces.
        return Some(field.name());
    }
    if let Some(known) = closest(&lower, FIELD_NAMES) {
        return Some(known);
    }
    let alias = closest(&lower, ALIAS_NAMES)?;
    ALIASES
        .iter()
        .find(|(from, _)| *from == alias)
        .map(|(_, to)| *to)
}

/// A value that could not be read, before it is placed in a file, row and column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    /// The value as written, when there is one.
    pub value: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl Problem {
    pub(crate) fn new(value: impl Into<String>, reason: impl Into<String>) -> Self {
        Problem {
            value: Some(value.into()),
            reason: reason.into(),
        }
    }
}

/// A value cut to [`MAX_VALUE_CHARS`] characters.
pub(crate) fn truncate_value(value: &str) -> String {
    match value.char_indices().nth(MAX_VALUE_CHARS) {
        Some((cut, _)) => value[..cut].to_string(),
        None => value.to_string(),
    }
}

/// The rejections of one row, collected while its fields are read.
#[derive(Debug)]
pub(crate) struct RowIssues<'a> {
    file: &'a str,
    row: u64,
    /// What was found so far, in field order.
    pub rejections: Vec<Rejection>,
}

impl<'a> RowIssues<'a> {
    pub(crate) fn new(file: &'a str, row: u64) -> Self {
        RowIssues {
            file,
            row,
            rejections: Vec::new(),
        }
    }

    /// Records a problem with `column`.
    pub(crate) fn reject(
        &mut self,
        column: Option<String>,
        value: Option<&str>,
        reason: impl Into<String>,
    ) {
        self.rejections.push(Rejection {
            file: self.file.to_string(),
            row: self.row,
            column,
            value: value.map(truncate_value),
            reason: reason.into(),
        });
    }

    /// Records a [`Problem`] with `column`.
    pub(crate) fn problem(&mut self, column: String, problem: Problem) {
        self.reject(Some(column), problem.value.as_deref(), problem.reason);
    }

    /// No problem recorded.
    pub(crate) fn is_clean(&self) -> bool {
        self.rejections.is_empty()
    }
}

/// Calls `each` with the position of every `,` in `bytes`, in order. Eight bytes are tested at
/// a time in a `u64` (cells are short, so a vectorised search restarted after each comma does
/// not pay, and a byte loop mispredicts a branch per comma).
#[inline]
pub(crate) fn for_each_comma(bytes: &[u8], mut each: impl FnMut(usize)) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const COMMAS: u64 = 0x2c2c_2c2c_2c2c_2c2c;
    let (words, tail) = bytes.as_chunks::<8>();
    for (index, word) in words.iter().enumerate() {
        let x = u64::from_le_bytes(*word) ^ COMMAS;
        // The high bit of each byte of `x` that is zero (no carry crosses bytes: each byte's
        // sum is at most 0xfe).
        let mut found = !(((x & LOW7) + LOW7) | x | LOW7);
        while found != 0 {
            each(index * 8 + (found.trailing_zeros() / 8) as usize);
            found &= found - 1;
        }
    }
    let base = words.len() * 8;
    for (offset, &byte) in tail.iter().enumerate() {
        if byte == b',' {
            each(base + offset);
        }
    }
}

/// `str::trim`, skipping the work for the usual cell that starts and ends with a printable
/// ASCII byte (anything else is trimmed as `str::trim` does, Unicode spaces included).
#[inline]
pub(crate) fn trim_cell(text: &str) -> &str {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last))
            if first > b' ' && first < 0x80 && last > b' ' && last < 0x80 =>
        {
            text
        }
        _ => text.trim(),
    }
}

/// Reads a decimal number written as text.
pub(crate) fn number_from_text(text: &str) -> Result<f64, Problem> {
    trim_cell(text)
        .parse::<f64>()
        .map_err(|_| Problem::new(text, "not a number"))
}

/// Reads a count (a non-negative integer that fits 32 bits) written as text.
pub(crate) fn count_from_text(text: &str) -> Result<u32, Problem> {
    let trimmed = trim_cell(text);
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::new(text, "not a non-negative integer"));
    }
    trimmed
        .parse::<u32>()
        .map_err(|_| Problem::new(text, format!("too large (at most {})", u32::MAX)))
}

/// What is wrong with a longitude/latitude pair, for each of the two.
pub(crate) fn coordinate_problems(lon: f64, lat: f64) -> (Option<String>, Option<String>) {
    let lon_problem = if !lon.is_finite() {
        Some("not a finite number".to_string())
    } else if !(-180.0..=180.0).contains(&lon) {
        Some(format!("longitude {lon} is outside -180..180"))
    } else {
        None
    };
    let lat_problem = if !lat.is_finite() {
        Some("not a finite number".to_string())
    } else if !(-90.0..=90.0).contains(&lat) {
        let swapped_valid = lat.abs() <= 180.0 && lon.abs() <= 90.0;
        Some(if swapped_valid {
            format!("latitude {lat} is outside -90..90; are latitude and longitude swapped?")
        } else {
            format!("latitude {lat} is outside -90..90")
        })
    } else {
        None
    };
    (lon_problem, lat_problem)
}

/// What is wrong with an uncertainty radius in metres.
pub(crate) fn uncertainty_problem(metres: f64) -> Option<String> {
    if !metres.is_finite() {
        Some("not a finite number".to_string())
    } else if metres < 0.0 {
        Some("uncertainty must not be negative".to_string())
    } else {
        None
    }
}

/// A record of one of our own formats: a CSV row, a JSON object, a GeoJSON feature.
pub(crate) trait RecordFields {
    /// How rejections name the field (`lon`, `$.lon`, `features[3].geometry.coordinates[0]`).
    fn column(&self, field: Field) -> String;
    /// Whether the field is there at all (a column in the header, a non-null key).
    fn is_present(&self, field: Field) -> bool;
    /// The value as written, for messages.
    fn raw(&self, field: Field) -> Option<String>;
    /// A text value; `None` when absent.
    fn text(&self, field: Field) -> Result<Option<Cow<'_, str>>, Problem>;
    /// A number; `None` when absent or empty.
    fn number(&self, field: Field) -> Result<Option<f64>, Problem>;
    /// A count; `None` when absent or empty.
    fn count(&self, field: Field) -> Result<Option<u32>, Problem>;
    /// A list of texts; empty when absent.
    fn list(&self, field: Field) -> Result<Vec<String>, Problem>;
    /// Whether a problem with this field was reported before the record was read (a
    /// GeoJSON feature without a usable Point), so its absence is not reported again.
    fn already_reported(&self, _field: Field) -> bool {
        false
    }
}

struct Reader<'r, 'i, 'f, R: RecordFields> {
    record: &'r R,
    issues: &'i mut RowIssues<'f>,
}

impl<'r, R: RecordFields> Reader<'r, '_, '_, R> {
    fn missing(&mut self, field: Field) {
        if self.record.already_reported(field) {
            return;
        }
        let reason = if self.record.is_present(field) {
            "required field is empty"
        } else {
            "required field is missing"
        };
        let column = self.record.column(field);
        self.issues.reject(Some(column), None, reason);
    }

    /// A non-empty text, or `None` (a rejection when the field is required).
    fn text(&mut self, field: Field) -> Option<Cow<'r, str>> {
        match self.record.text(field) {
            Ok(Some(text)) if !trim_cell(&text).is_empty() => Some(text),
            Ok(_) => {
                if field.required() {
                    self.missing(field);
                }
                None
            }
            Err(problem) => {
                let column = self.record.column(field);
                self.issues.problem(column, problem);
                None
            }
        }
    }

    fn number(&mut self, field: Field) -> Option<f64> {
        match self.record.number(field) {
            Ok(Some(value)) => Some(value),
            Ok(None) => {
                if field.required() {
                    self.missing(field);
                }
                None
            }
            Err(problem) => {
                let column = self.record.column(field);
                self.issues.problem(column, problem);
                None
            }
        }
    }

    fn count(&mut self, field: Field) -> u32 {
        match self.record.count(field) {
            Ok(value) => value.unwrap_or(0),
            Err(problem) => {
                let column = self.record.column(field);
                self.issues.problem(column, problem);
                0
            }
        }
    }

    fn list(&mut self, field: Field) -> Vec<String> {
        match self.record.list(field) {
            Ok(values) => values,
            Err(problem) => {
                let column = self.record.column(field);
                self.issues.problem(column, problem);
                Vec::new()
            }
        }
    }

    fn vocabulary<T, E: std::fmt::Display>(
        &mut self,
        field: Field,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let text = self.text(field)?;
        match parse(&text) {
            Ok(value) => Some(value),
            Err(error) => {
                let column = self.record.column(field);
                self.issues
                    .reject(Some(column), Some(&text), error.to_string());
                None
            }
        }
    }

    fn time(&mut self, field: Field, options: &IngestOptions) -> Option<TimeSpan> {
        let text = self.text(field)?;
        match parse_time_value(&text, &options.local_zone) {
            Ok(span) => Some(span),
            Err(reason) => {
                let column = self.record.column(field);
                self.issues.reject(Some(column), Some(&text), reason);
                None
            }
        }
    }

    fn reject_raw(&mut self, field: Field, reason: String) {
        let column = self.record.column(field);
        let raw = self.record.raw(field);
        self.issues.reject(Some(column), raw.as_deref(), reason);
    }
}

/// Builds a report from a record of our own formats, or records why it cannot be built.
/// Every field is checked, so one pass reports every problem of the row.
pub(crate) fn build_report<R: RecordFields>(
    record: &R,
    options: &IngestOptions,
    sources: &mut SourceCache,
    issues: &mut RowIssues<'_>,
) -> Option<Report> {
    let mut reader = Reader { record, issues };
    let id = reader.text(Field::Id);
    let source_id = reader.text(Field::SourceId);
    let source_kind = reader.vocabulary(Field::SourceKind, str::parse::<SourceKind>);
    let source_party = reader.text(Field::SourceParty);
    if source_kind == Some(SourceKind::Party) && source_party.is_none() {
        let column = record.column(Field::SourceParty);
        reader.issues.reject(
            Some(column),
            None,
            "source_kind `party` requires source_party",
        );
    }
    let time = reader.time(Field::Time, options);
    let time_end = reader.time(Field::TimeEnd, options);
    let time = match (time, time_end) {
        (Some(start), Some(end)) if end.end_ms < start.start_ms => {
            reader.reject_raw(Field::TimeEnd, "time_end is before time".to_string());
            None
        }
        (Some(start), Some(end)) => Some(TimeSpan {
            start_ms: start.start_ms,
            end_ms: end.end_ms,
        }),
        (Some(start), None) => Some(start),
        (None, _) => None,
    };
    let place = reader.text(Field::Place);
    let lon = reader.number(Field::Lon);
    let lat = reader.number(Field::Lat);
    let mut coordinates = None;
    if let (Some(lon), Some(lat)) = (lon, lat) {
        match coordinate_problems(lon, lat) {
            (None, None) => coordinates = Some((lon, lat)),
            (lon_problem, lat_problem) => {
                if let Some(reason) = lon_problem {
                    reader.reject_raw(Field::Lon, reason);
                }
                if let Some(reason) = lat_problem {
                    reader.reject_raw(Field::Lat, reason);
                }
            }
        }
    } else if let Some(value) = lon.or(lat) {
        // Report a non-finite value even when its partner is missing.
        if !value.is_finite() {
            let field = if lon.is_some() {
                Field::Lon
            } else {
                Field::Lat
            };
            reader.reject_raw(field, "not a finite number".to_string());
        }
    }
    let uncertainty_m = match reader.number(Field::UncertaintyM) {
        Some(metres) => match uncertainty_problem(metres) {
            None => metres,
            Some(reason) => {
                reader.reject_raw(Field::UncertaintyM, reason);
                0.0
            }
        },
        None => 0.0,
    };
    let action = reader.vocabulary(Field::Action, str::parse::<ActionType>);
    let target = reader.vocabulary(Field::Target, str::parse::<Target>);
    let site = reader.text(Field::Site);
    let accused = reader.text(Field::Accused);
    let actors = reader.list(Field::Actors);
    let casualties = Casualties {
        civilian_killed: reader.count(Field::CivilianKilled),
        civilian_injured: reader.count(Field::CivilianInjured),
        military_killed: reader.count(Field::MilitaryKilled),
        military_injured: reader.count(Field::MilitaryInjured),
        unspecified_killed: reader.count(Field::UnspecifiedKilled),
    };
    let text = match record.text(Field::Text) {
        Ok(text) => text.map(Cow::into_owned).unwrap_or_default(),
        Err(problem) => {
            let column = record.column(Field::Text);
            reader.issues.problem(column, problem);
            String::new()
        }
    };
    let evidence = reader.list(Field::Evidence);

    if !reader.issues.is_clean() {
        return None;
    }
    let (id, source_id, source_kind, time, (lon, lat), action, target) = (
        id?,
        source_id?,
        source_kind?,
        time?,
        coordinates?,
        action?,
        target?,
    );
    Some(Report {
        id: SmolStr::new(id),
        source: sources.get(&source_id, source_kind, source_party.as_deref()),
        time,
        location: Location {
            lon,
            lat,
            uncertainty_m,
        },
        action,
        target,
        accused: accused.map(SmolStr::new),
        casualties,
        details: crate::ReportDetails {
            place: place.map(SmolStr::new),
            site: site.map(SmolStr::new),
            actors: actors.into_iter().map(SmolStr::from).collect(),
            text,
            evidence,
        }
        .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_fields_agree() {
        assert_eq!(FIELD_NAMES.len(), Field::ALL.len());
        for (index, field) in Field::ALL.iter().enumerate() {
            assert_eq!(field.index(), index);
            assert_eq!(Field::from_name(field.name()), Some(*field));
        }
        assert_eq!(ALIASES.len(), ALIAS_NAMES.len());
        for ((alias, _), name) in ALIASES.iter().zip(ALIAS_NAMES) {
            assert_eq!(alias, name);
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest_field("lattitude"), Some("lat"));
        assert_eq!(suggest_field("source_knd"), Some("source_kind"));
        assert_eq!(suggest_field("Longitude"), Some("lon"));
        assert_eq!(suggest_field("zzzz"), None);
    }

    #[test]
    fn coordinates() {
        assert_eq!(coordinate_problems(30.5, 50.4), (None, None));
        let (lon, lat) = coordinate_problems(50.4, 130.5);
        assert_eq!(lon, None);
        assert_eq!(
            lat.unwrap(),
            "latitude 130.5 is outside -90..90; are latitude and longitude swapped?"
        );
        let (lon, lat) = coordinate_problems(200.0, 10.0);
        assert_eq!(lon.unwrap(), "longitude 200 is outside -180..180");
        assert_eq!(lat, None);
        let (lon, _) = coordinate_problems(f64::NAN, 10.0);
        assert_eq!(lon.unwrap(), "not a finite number");
    }

    #[test]
    fn counts() {
        assert_eq!(count_from_text(" 12 ").unwrap(), 12);
        assert_eq!(
            count_from_text("-1").unwrap_err().reason,
            "not a non-negative integer"
        );
        assert_eq!(
            count_from_text("2.5").unwrap_err().reason,
            "not a non-negative integer"
        );
        assert!(
            count_from_text("99999999999")
                .unwrap_err()
                .reason
                .starts_with("too large")
        );
    }

    #[test]
    fn truncation_counts_characters() {
        let long = "é".repeat(300);
        assert_eq!(truncate_value(&long).chars().count(), MAX_VALUE_CHARS);
    }

    proptest::proptest! {
        /// The shortcut trims exactly as `str::trim`, Unicode spaces included.
        #[test]
        fn trim_cell_is_str_trim(text in "[ a\\t\\r\\n\u{a0}\u{3000}é#,]{0,12}") {
            proptest::prop_assert_eq!(trim_cell(&text), text.trim());
        }

        /// Every comma is found, in order, and nothing else: bytes of every value, commas
        /// at every offset of a word.
        #[test]
        fn for_each_comma_finds_the_commas(bytes in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just(b','),
                proptest::strategy::Just(0xac_u8),
                proptest::num::u8::ANY,
            ],
            0..80,
        )) {
            let mut found = Vec::new();
            for_each_comma(&bytes, |position| found.push(position));
            let expected: Vec<usize> = bytes
                .iter()
                .enumerate()
                .filter(|(_, byte)| **byte == b',')
                .map(|(position, _)| position)
                .collect();
            proptest::prop_assert_eq!(found, expected);
        }
    }
}
