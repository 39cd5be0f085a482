//! The peer benchmark's `reports.csv` (`shared/bench/peer/gen.py`): id, ts, lon, lat,
//! loc_unc_m, source, accused, action, target, civ_cas, true_incident.
//!
//! This path is built for a million rows: a file without any `"` byte is split at newlines
//! into one chunk per thread, each chunk is parsed with plain byte splitting, and the parts
//! are joined in input order, so the result is the same as a single-threaded parse whatever
//! the thread count. Timestamps of the generator's fixed form `2024-05-07T13:02:11Z` and
//! decimals of up to 15 digits are read by hand (with results equal to jiff's and std's);
//! anything else falls back to the general parsers. A file with quotes goes through the
//! `csv` crate on one thread.

use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use crate::ingest::csv_table::{CsvTable, Fields};
use crate::ingest::fields::{
    Problem, RowIssues, coordinate_problems, count_from_text, for_each_comma, number_from_text,
    trim_cell, uncertainty_problem,
};
use crate::ingest::lines::{MIN_CHUNK_BYTES, Outcome, line_spans, split_at_newlines};
use crate::ingest::options::IngestOptions;
use crate::ingest::sources::SourceCache;
use crate::ingest::time::{parse_time_value, parse_utc_seconds_fast};
use crate::ingest::{IngestError, Ingested};
use crate::report::id_order::order_by_id;
use crate::report::{Casualties, Location, Report, Source, TimeSpan};
use crate::vocab::{ActionType, SourceKind, Target, TargetKind, closest};

use smol_str::SmolStr;

const REQUIRED: [&str; 7] = ["id", "ts", "lon", "lat", "source", "action", "target"];

/// Where each used column is.
#[derive(Debug, Clone, Copy)]
struct Layout {
    id: usize,
    ts: usize,
    lon: usize,
    lat: usize,
    loc_unc_m: Option<usize>,
    source: usize,
    accused: Option<usize>,
    action: usize,
    target: usize,
    civ_cas: Option<usize>,
    n_fields: usize,
}

impl Layout {
    fn of(file: &str, header: &[String]) -> Result<Layout, IngestError> {
        let find = |name: &str| {
            header
                .iter()
                .position(|column| column.eq_ignore_ascii_case(name))
        };
        let missing: Vec<String> = REQUIRED
            .iter()
            .filter(|name| find(name).is_none())
            .map(|name| (*name).to_string())
            .collect();
        let required = |name: &str| find(name).unwrap_or(usize::MAX);
        if !missing.is_empty() {
            return Err(IngestError::MissingColumns {
                file: file.to_string(),
                missing,
                found: header.to_vec(),
            });
        }
        Ok(Layout {
            id: required("id"),
            ts: required("ts"),
            lon: required("lon"),
            lat: required("lat"),
            loc_unc_m: find("loc_unc_m"),
            source: required("source"),
            accused: find("accused"),
            action: required("action"),
            target: required("target"),
            civ_cas: find("civ_cas"),
            n_fields: header.len(),
        })
    }
}

/// The fields of one row, by column index.
trait RowFields {
    fn field(&self, index: usize) -> &str;
}

impl RowFields for [&str] {
    #[inline]
    fn field(&self, index: usize) -> &str {
        self.get(index).copied().unwrap_or("")
    }
}

impl RowFields for Fields<'_> {
    #[inline]
    fn field(&self, index: usize) -> &str {
        self.get(index).unwrap_or("")
    }
}

/// The source kind and party of the generator's source names; anything else is OSINT.
pub(crate) fn peer_source(id: &str) -> Source {
    let (kind, party) = match id {
        "osce_smm" | "ngo_monitor_a" | "ngo_monitor_b" | "hrmmu" => (SourceKind::Monitor, None),
        "ua_gs" | "ua_regional_admin" => (SourceKind::Party, Some("UA")),
        "ru_mod" => (SourceKind::Party, Some("RU")),
        "local_media" => (SourceKind::Media, None),
        _ => (SourceKind::Osint, None),
    };
    Source {
        id: SmolStr::new(id),
        kind,
        party: party.map(SmolStr::new_static),
    }
}

/// The generator's action names, then ours.
const ACTION_NAMES: &[&str] = &[
    "shelling",
    "airstrike",
    "missile",
    "drone",
    "mine",
    "artillery",
    "mortar",
    "mlrs",
    "missile_strike",
    "drone_strike",
    "air_strike",
    "ground_assault",
    "small_arms",
    "mine_ied",
    "naval_attack",
    "air_defence_intercept",
    "other",
];

/// The generator's target names, then ours.
const TARGET_NAMES: &[&str] = &[
    "military_position",
    "residential",
    "agricultural",
    "energy",
    "maritime",
    "civilian_residential",
    "civilian_infrastructure",
    "medical",
    "education",
    "transport",
    "military",
    "unknown",
];

#[inline]
fn peer_action(text: &str) -> Result<ActionType, String> {
    let action = match text {
        "artillery" | "shelling" => ActionType::Artillery,
        "mortar" => ActionType::Mortar,
        "mlrs" => ActionType::Mlrs,
        "airstrike" => ActionType::AirStrike,
        "missile" => ActionType::MissileStrike,
        "drone" => ActionType::DroneStrike,
        "small_arms" => ActionType::SmallArms,
        "ground_assault" => ActionType::GroundAssault,
        "mine" => ActionType::MineIed,
        other => {
            let lower = other.to_ascii_lowercase();
            return match lower.as_str() {
                "shelling" => Ok(ActionType::Artillery),
                "airstrike" => Ok(ActionType::AirStrike),
                "missile" => Ok(ActionType::MissileStrike),
                "drone" => Ok(ActionType::DroneStrike),
                "mine" => Ok(ActionType::MineIed),
                _ => other
                    .parse::<ActionType>()
                    .map_err(|_| unknown_term("action type", other, ACTION_NAMES)),
            };
        }
    };
    Ok(action)
}

#[inline]
fn peer_target(text: &str) -> Result<Target, String> {
    let target = match text {
        "military_position" => TargetKind::Military,
        "residential" => TargetKind::CivilianResidential,
        "agricultural" => TargetKind::CivilianInfrastructure,
        "civilian_infrastructure" => TargetKind::CivilianInfrastructure,
        "energy" => TargetKind::Energy,
        "medical" => TargetKind::Medical,
        "education" => TargetKind::Education,
        "transport" => TargetKind::Transport,
        "unknown" => TargetKind::Unknown,
        other => {
            let lower = other.to_ascii_lowercase();
            return match lower.as_str() {
                "military_position" => Ok(Target::of(TargetKind::Military)),
                "residential" => Ok(Target::of(TargetKind::CivilianResidential)),
                "agricultural" => Ok(Target::of(TargetKind::CivilianInfrastructure)),
                _ => other
                    .parse::<Target>()
                    .map_err(|_| unknown_term("target category", other, TARGET_NAMES)),
            };
        }
    };
    Ok(Target::of(target))
}

fn unknown_term(kind: &str, value: &str, known: &'static [&'static str]) -> String {
    match closest(value.trim(), known) {
        Some(suggestion) => format!("unknown {kind} `{value}`: did you mean `{suggestion}`?"),
        None => format!("unknown {kind} `{value}` (known: {})", known.join(", ")),
    }
}

const POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// `-?digits[.digits]` with at most 15 digits, exactly as `str::parse::<f64>` reads it: the
/// digits form an integer below 2^53 and the power of ten is exact, so one IEEE division
/// gives the correctly rounded value. `None` for anything else.
#[inline]
fn fast_decimal(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    let mut mantissa: u64 = 0;
    let mut n_digits = 0usize;
    let mut n_fraction = 0usize;
    let mut seen_point = false;
    for &byte in digits {
        let digit = byte.wrapping_sub(b'0');
        if digit <= 9 {
            mantissa = mantissa * 10 + u64::from(digit);
            n_digits += 1;
            n_fraction += usize::from(seen_point);
            if n_digits > 15 {
                return None;
            }
        } else if byte == b'.' && !seen_point {
            seen_point = true;
        } else {
            return None;
        }
    }
    if n_digits == 0 {
        return None;
    }
    // Exact: mantissa < 10^15 < 2^53.
    #[allow(clippy::cast_precision_loss)]
    let value = mantissa as f64 / POWERS_OF_TEN[n_fraction];
    Some(if negative { -value } else { value })
}

#[inline]
fn decimal(text: &str) -> Result<f64, Problem> {
    match fast_decimal(text) {
        Some(value) => Ok(value),
        None => number_from_text(text),
    }
}

#[inline]
fn count(text: &str) -> Result<u32, Problem> {
    let bytes = text.as_bytes();
    if !bytes.is_empty() && bytes.len() <= 9 && bytes.iter().all(u8::is_ascii_digit) {
        return Ok(bytes
            .iter()
            .fold(0u32, |value, byte| value * 10 + u32::from(byte - b'0')));
    }
    count_from_text(text)
}

/// Context shared by every row of a parse.
#[derive(Debug)]
struct RowContext<'a> {
    file: &'a str,
    layout: Layout,
    options: &'a IngestOptions,
    header: &'a [String],
}

impl RowContext<'_> {
    fn column(&self, index: usize) -> Option<String> {
        self.header.get(index).cloned()
    }

    /// Reads one row whose fields were split already.
    #[inline]
    fn read<F: RowFields + ?Sized>(
        &self,
        fields: &F,
        row: u64,
        cache: &mut SourceCache,
    ) -> Outcome {
        let layout = &self.layout;
        let mut issues = RowIssues::new(self.file, row);
        let empty = |issues: &mut RowIssues<'_>, index: usize| {
            issues.reject(self.column(index), None, "required field is empty");
        };

        let id = trim_cell(fields.field(layout.id));
        if id.is_empty() {
            empty(&mut issues, layout.id);
        }

        let ts = trim_cell(fields.field(layout.ts));
        let time = match parse_utc_seconds_fast(ts.as_bytes()) {
            Some(seconds) => Some(TimeSpan::instant(seconds * 1000)),
            None if ts.is_empty() => {
                empty(&mut issues, layout.ts);
                None
            }
            None => match parse_time_value(ts, &self.options.local_zone) {
                Ok(span) => Some(span),
                Err(reason) => {
                    issues.reject(self.column(layout.ts), Some(ts), reason);
                    None
                }
            },
        };

        let number = |issues: &mut RowIssues<'_>, index: usize| {
            let text = trim_cell(fields.field(index));
            if text.is_empty() {
                empty(issues, index);
                return None;
            }
            decimal(text)
                .map_err(|problem| issues.problem(self.header[index].clone(), problem))
                .ok()
        };
        let lon = number(&mut issues, layout.lon);
        let lat = number(&mut issues, layout.lat);
        if let (Some(lon), Some(lat)) = (lon, lat) {
            let (lon_problem, lat_problem) = coordinate_problems(lon, lat);
            if let Some(reason) = lon_problem {
                let text = trim_cell(fields.field(layout.lon));
                issues.reject(self.column(layout.lon), Some(text), reason);
            }
            if let Some(reason) = lat_problem {
                let text = trim_cell(fields.field(layout.lat));
                issues.reject(self.column(layout.lat), Some(text), reason);
            }
        }

        let uncertainty_m = match layout
            .loc_unc_m
            .map(|index| (index, trim_cell(fields.field(index))))
        {
            None | Some((_, "")) => 0.0,
            Some((index, text)) => match decimal(text) {
                Ok(metres) => match uncertainty_problem(metres) {
                    None => metres,
                    Some(reason) => {
                        issues.reject(self.column(index), Some(text), reason);
                        0.0
                    }
                },
                Err(problem) => {
                    issues.problem(self.header[index].clone(), problem);
                    0.0
                }
            },
        };

        let source_id = trim_cell(fields.field(layout.source));
        if source_id.is_empty() {
            empty(&mut issues, layout.source);
        }

        let accused = layout
            .accused
            .map(|index| trim_cell(fields.field(index)))
            .filter(|accused| !accused.is_empty() && !accused.eq_ignore_ascii_case("unknown"));

        let action = self.vocabulary(&mut issues, layout.action, fields, peer_action);
        let target = self.vocabulary(&mut issues, layout.target, fields, peer_target);

        let civilian_injured = match layout
            .civ_cas
            .map(|index| (index, trim_cell(fields.field(index))))
        {
            None | Some((_, "")) => 0,
            Some((index, text)) => count(text).unwrap_or_else(|problem| {
                issues.problem(self.header[index].clone(), problem);
                0
            }),
        };

        let (true, Some(time), Some(lon), Some(lat), Some(action), Some(target)) =
            (issues.is_clean(), time, lon, lat, action, target)
        else {
            return Outcome::Rejected(issues.rejections);
        };
        Outcome::Accepted(Report {
            id: SmolStr::new(id),
            source: cache.get_by_id(source_id, || peer_source(source_id)),
            time,
            location: Location {
                lon,
                lat,
                uncertainty_m,
            },
            action,
            target,
            accused: accused.map(SmolStr::new),
            casualties: Casualties {
                civilian_injured,
                ..Casualties::default()
            },
            details: crate::Details::default(),
        })
    }

    /// A vocabulary column: required, read by `parse`.
    #[inline]
    fn vocabulary<F: RowFields + ?Sized, T>(
        &self,
        issues: &mut RowIssues<'_>,
        index: usize,
        fields: &F,
        parse: fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = trim_cell(fields.field(index));
        if text.is_empty() {
            issues.reject(self.column(index), None, "required field is empty");
            return None;
        }
        parse(text)
            .map_err(|reason| issues.reject(self.column(index), Some(text), reason))
            .ok()
    }

    fn reject_field_count(&self, n_fields: usize, row: u64) -> Outcome {
        let mut issues = RowIssues::new(self.file, row);
        issues.reject(
            None,
            None,
            format!(
                "row has {n_fields} fields, the header has {}",
                self.layout.n_fields
            ),
        );
        Outcome::Rejected(issues.rejections)
    }

    /// Reads one line of a file without quotes.
    #[inline]
    fn read_line(&self, line: &str, row: u64, cache: &mut SourceCache) -> Outcome {
        let mut fields: [&str; MAX_FAST_FIELDS] = [""; MAX_FAST_FIELDS];
        let mut n_fields = 0usize;
        let mut start = 0usize;
        for_each_comma(line.as_bytes(), |position| {
            if n_fields < MAX_FAST_FIELDS {
                fields[n_fields] = &line[start..position];
            }
            n_fields += 1;
            start = position + 1;
        });
        if n_fields < MAX_FAST_FIELDS {
            fields[n_fields] = &line[start..];
        }
        n_fields += 1;
        let used = &fields[..n_fields.min(MAX_FAST_FIELDS)];
        if used.iter().all(|field| trim_cell(field).is_empty()) && n_fields <= MAX_FAST_FIELDS {
            return Outcome::Blank;
        }
        if n_fields != self.layout.n_fields {
            if n_fields > MAX_FAST_FIELDS && line.split(',').all(|field| field.trim().is_empty()) {
                return Outcome::Blank;
            }
            return self.reject_field_count(n_fields, row);
        }
        self.read(used, row, cache)
    }
}

/// Reads the peer layout.
pub(crate) fn parse(
    file: &str,
    text: &str,
    options: &IngestOptions,
) -> Result<Ingested, IngestError> {
    if has_quote(text) {
        return parse_with_csv(file, text, options);
    }
    // The header is the first line that is not blank.
    let mut header_line = 0u64;
    let mut rest = text;
    let header = loop {
        header_line += 1;
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        rest = after;
        if !line.trim().is_empty() {
            break line;
        }
        if rest.is_empty() {
            return Err(IngestError::Empty {
                file: file.to_string(),
            });
        }
    };
    let header: Vec<String> = header
        .split(',')
        .map(|name| name.trim().to_string())
        .collect();
    let layout = Layout::of(file, &header)?;
    if layout.n_fields > MAX_FAST_FIELDS {
        return parse_with_csv(file, text, options);
    }
    let context = RowContext {
        file,
        layout,
        options,
        header: &header,
    };
    let first_line = header_line + 1;
    let lines = line_spans(rest);
    let n_lines = lines.len();
    // The lines are read in id order when the caller wants it (`IngestOptions::id_order`):
    // `order[position]` is the line read at that position.
    let order = if options.id_order {
        let id_column = context.layout.id;
        order_by_id(
            n_lines,
            |index| {
                let (start, end) = lines[index];
                trim_cell(rest[start..end].split(',').nth(id_column).unwrap_or(""))
            },
            |a, b| a.cmp(&b),
        )
    } else {
        None
    };
    let line_at = |position: usize| order.as_ref().map_or(position, |o| o[position] as usize);
    // Every line yields a report (a placeholder for a rejected or blank line, noted on the
    // side), so rayon can write the reports straight into their final vector; placeholders
    // are removed afterwards, which is rare.
    let flawed_lines: Mutex<Vec<(usize, Outcome)>> = Mutex::new(Vec::new());
    let mut reports = Vec::new();
    (0..n_lines)
        .into_par_iter()
        .with_min_len(1024)
        .map_init(SourceCache::default, |cache, position| {
            let index = line_at(position);
            let (start, end) = lines[index];
            match context.read_line(&rest[start..end], first_line + index as u64, cache) {
                Outcome::Accepted(report) => report,
                flawed => {
                    flawed_lines
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push((position, flawed));
                    placeholder()
                }
            }
        })
        .collect_into_vec(&mut reports);
    drop(lines);
    if n_lines == 0 {
        return Err(IngestError::Empty {
            file: file.to_string(),
        });
    }
    let mut flawed_lines = flawed_lines
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if flawed_lines.is_empty() {
        let mut rows = Vec::new();
        (0..n_lines)
            .into_par_iter()
            .map(|position| first_line + line_at(position) as u64)
            .collect_into_vec(&mut rows);
        return Ok(Ingested {
            reports,
            rows,
            rejections: Vec::new(),
        });
    }
    // Rejections in input order.
    flawed_lines.sort_unstable_by_key(|(position, _)| line_at(*position));
    let mut keep = vec![true; n_lines];
    let mut rejections = Vec::new();
    let mut n_blank = 0usize;
    for (position, outcome) in flawed_lines {
        keep[position] = false;
        match outcome {
            Outcome::Rejected(mut found) => rejections.append(&mut found),
            Outcome::Blank => n_blank += 1,
            Outcome::Accepted(_) => {}
        }
    }
    if n_blank == n_lines {
        return Err(IngestError::Empty {
            file: file.to_string(),
        });
    }
    let mut kept = keep.iter();
    reports.retain(|_| kept.next().copied().unwrap_or(false));
    let rows = (0..n_lines)
        .filter(|position| keep[*position])
        .map(|position| first_line + line_at(position) as u64)
        .collect();
    Ok(Ingested {
        reports,
        rows,
        rejections,
    })
}

/// What a rejected or blank line holds until it is removed.
fn placeholder() -> Report {
    Report {
        id: SmolStr::default(),
        source: Source {
            id: SmolStr::default(),
            kind: SourceKind::Osint,
            party: None,
        }
        .into(),
        time: TimeSpan::instant(0),
        location: Location {
            lon: 0.0,
            lat: 0.0,
            uncertainty_m: 0.0,
        },
        action: ActionType::Other,
        target: Target::of(TargetKind::Unknown),
        accused: None,
        casualties: Casualties::default(),
        details: crate::Details::default(),
    }
}

/// Whether any byte is `"`, searched on all threads.
fn has_quote(text: &str) -> bool {
    let bytes = text.as_bytes();
    split_at_newlines(bytes, rayon::current_num_threads(), MIN_CHUNK_BYTES)
        .par_iter()
        .any(|&(start, end)| memchr::memchr(b'"', &bytes[start..end]).is_some())
}

/// Headers wider than this go through the `csv` crate (the peer layout has 11 columns).
const MAX_FAST_FIELDS: usize = 32;

/// The general path for files with quoted fields: the `csv` crate, in chunks on every core
/// ([`CsvTable`]).
fn parse_with_csv(
    file: &str,
    text: &str,
    options: &IngestOptions,
) -> Result<Ingested, IngestError> {
    let table = CsvTable::open(file, text, None)?;
    let header = table.header.clone();
    let layout = Layout::of(file, &header)?;
    let context = RowContext {
        file,
        layout,
        options,
        header: &header,
    };
    table.for_each_row_with(
        false,
        SourceCache::default,
        |row, cache, ingested| match context.read(&row.record, row.line, cache) {
            Outcome::Accepted(report) => {
                ingested.reports.push(report);
                ingested.rows.push(row.line);
            }
            Outcome::Rejected(mut found) => ingested.rejections.append(&mut found),
            Outcome::Blank => {}
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_decimal_equals_std() {
        for text in [
            "0",
            "-0",
            "0.0",
            "-0.0",
            "48.123456",
            "-179.999999",
            "180",
            "37.5",
            ".5",
            "5.",
            "123456789012345",
            "0.00000000000001",
            "22.000001",
            "52.399999",
            "1000",
        ] {
            let expected: f64 = text.parse().unwrap();
            let fast = fast_decimal(text).unwrap();
            assert_eq!(fast.to_bits(), expected.to_bits(), "{text}");
        }
        for text in [
            "",
            "-",
            ".",
            "1e5",
            "+1",
            "1.2.3",
            "1234567890123456",
            "nan",
            " 1",
        ] {
            assert_eq!(fast_decimal(text), None, "{text}");
        }
    }

    #[test]
    fn fast_decimal_agrees_on_many_values() {
        // Deterministic sweep over six-decimal coordinates like the generator writes.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let micro = (state % 360_000_000) as i64 - 180_000_000;
            let text = format!(
                "{}{}.{:06}",
                if micro < 0 { "-" } else { "" },
                micro.abs() / 1_000_000,
                micro.abs() % 1_000_000
            );
            let expected: f64 = text.parse().unwrap();
            assert_eq!(
                fast_decimal(&text).unwrap().to_bits(),
                expected.to_bits(),
                "{text}"
            );
        }
    }

    proptest::proptest! {
        /// Reading in id order gives the reports of input order sorted by (id, row), with
        /// their rows, and the same rejections in input order.
        #[test]
        fn id_order_is_input_order_sorted(
            rows in proptest::collection::vec((0usize..8, 0usize..5), 1..60)
        ) {
            let ids = ["7", "10", " 2 ", "abcdefghijklmnopq", "abcdefghijklmnopr", "1", "", "10"];
            let mut text = String::from("id,ts,lon,lat,loc_unc_m,source,accused,action,target,civ_cas\n");
            for (id, kind) in rows {
                let id = ids[id];
                text.push_str(&match kind {
                    0 | 1 => format!("{id},2024-05-01T00:00:0{kind}Z,37.5,48.1,250,acled,RU,artillery,energy,0\n"),
                    2 => "\n".to_string(),
                    3 => format!("{id},2024-05-01T00:00:00Z,37.5\n"),
                    _ => format!("{id},2024-05-01T00:00:00Z,east,48.1,250,acled,RU,artillery,energy,0\n"),
                });
            }
            let input = parse("r.csv", &text, &IngestOptions::default());
            let by_id = parse("r.csv", &text, &IngestOptions { id_order: true, ..IngestOptions::default() });
            match (input, by_id) {
                (Ok(input), Ok(by_id)) => {
                    let mut expected: Vec<(Report, u64)> =
                        input.reports.into_iter().zip(input.rows).collect();
                    expected.sort_by(|a, b| (a.0.id.as_str(), a.1).cmp(&(b.0.id.as_str(), b.1)));
                    let got: Vec<(Report, u64)> = by_id.reports.into_iter().zip(by_id.rows).collect();
                    proptest::prop_assert_eq!(got, expected);
                    proptest::prop_assert_eq!(by_id.rejections, input.rejections);
                }
                (input, by_id) => proptest::prop_assert_eq!(input.err(), by_id.err()),
            }
        }
    }

    #[test]
    fn sources_map_to_kinds() {
        assert_eq!(peer_source("ua_gs").party.as_deref(), Some("UA"));
        assert_eq!(peer_source("ru_mod").kind, SourceKind::Party);
        assert_eq!(peer_source("acled").kind, SourceKind::Osint);
        assert_eq!(peer_source("hrmmu").kind, SourceKind::Monitor);
        assert_eq!(peer_source("local_media").kind, SourceKind::Media);
        assert_eq!(peer_source("someone").kind, SourceKind::Osint);
    }
}
