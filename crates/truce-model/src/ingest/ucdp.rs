//! UCDP Georeferenced Event Dataset (GED) CSV (UCDP GED codebook). Columns are found by
//! name; the writer produces the 49 columns of the GED CSV in their documented order.

use std::io::Write;
use std::sync::Arc;

use crate::ingest::acled::actor_pair;
use crate::ingest::classify::{Words, classify_action, classify_target, describe};
use crate::ingest::csv_table::{CsvTable, Fields};
use crate::ingest::fields::{RowIssues, coordinate_problems, count_from_text, number_from_text};
use crate::ingest::options::IngestOptions;
use crate::ingest::read::Continuation;
use crate::ingest::time::{days_between, days_span, local_date, parse_calendar_date};
use crate::ingest::write::{WriteError, check_writable};
use crate::ingest::{IngestError, Ingested, InputFormat};
use crate::report::{Casualties, Location, Report, Source, TimeSpan};
use crate::vocab::{ActionType, SourceKind};
use smol_str::SmolStr;

/// The 49 columns of the GED CSV, in order.
pub(crate) const COLUMNS: [&str; 49] = [
    "id",
    "relid",
    "year",
    "active_year",
    "code_status",
    "type_of_violence",
    "conflict_dset_id",
    "conflict_new_id",
    "conflict_name",
    "dyad_dset_id",
    "dyad_new_id",
    "dyad_name",
    "side_a_dset_id",
    "side_a_new_id",
    "side_a",
    "side_b_dset_id",
    "side_b_new_id",
    "side_b",
    "number_of_sources",
    "source_article",
    "source_office",
    "source_date",
    "source_headline",
    "source_original",
    "where_prec",
    "where_coordinates",
    "where_description",
    "adm_1",
    "adm_2",
    "latitude",
    "longitude",
    "geom_wkt",
    "priogrid_gid",
    "country",
    "country_id",
    "region",
    "event_clarity",
    "date_prec",
    "date_start",
    "date_end",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
    "best",
    "high",
    "low",
    "gwnoa",
    "gwnob",
];

const REQUIRED: [&str; 6] = [
    "id",
    "date_start",
    "date_end",
    "latitude",
    "longitude",
    "where_prec",
];

/// Columns the reader uses, in the order of [`Col`].
const USED: [&str; 16] = [
    "id",
    "date_start",
    "date_end",
    "latitude",
    "longitude",
    "where_prec",
    "where_coordinates",
    "where_description",
    "source_headline",
    "source_article",
    "side_a",
    "side_b",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
];

#[derive(Debug, Clone, Copy)]
enum Col {
    Id,
    DateStart,
    DateEnd,
    Latitude,
    Longitude,
    WherePrec,
    WhereCoordinates,
    WhereDescription,
    SourceHeadline,
    SourceArticle,
    SideA,
    SideB,
    DeathsA,
    DeathsB,
    DeathsCivilians,
    DeathsUnknown,
}

/// The uncertainty radius, in metres, we give each `where_prec` code (our choice; the
/// codebook describes the codes in words).
pub(crate) const WHERE_PREC_M: [(u8, f64); 7] = [
    (1, 1_000.0),
    (2, 10_000.0),
    (3, 25_000.0),
    (4, 100_000.0),
    (5, 200_000.0),
    (6, 500_000.0),
    (7, 50_000.0),
];

/// Prefix of report ids made from GED ids.
pub(crate) const ID_PREFIX: &str = "ucdp:";

struct Row<'a> {
    columns: &'a [Option<usize>],
    record: Fields<'a>,
    /// The one source of every row, shared by the reports of a chunk.
    source: &'a Arc<Source>,
}

impl Row<'_> {
    fn get(&self, col: Col) -> &str {
        self.columns[col as usize]
            .and_then(|index| self.record.get(index))
            .map_or("", str::trim)
    }
}

fn name(col: Col) -> String {
    USED[col as usize].to_string()
}

/// Reads a GED CSV.
pub(crate) fn parse<'t>(
    file: &'t str,
    text: &'t str,
    rest: Option<Continuation<'t>>,
    options: &IngestOptions,
) -> Result<Ingested, IngestError> {
    let table = CsvTable::open(file, text, rest)?;
    table.require(&REQUIRED)?;
    let columns = table.locate(&USED);
    // Every row has the one UCDP source: each chunk shares one copy among its reports.
    let new_source = || Arc::new(ucdp_source());
    table.for_each_row_with(true, new_source, |csv_row, source, ingested| {
        let row = Row {
            columns: &columns,
            record: csv_row.record,
            source,
        };
        let mut issues = RowIssues::new(file, csv_row.line);
        match read_row(&row, options, &mut issues) {
            Some(report) if issues.is_clean() => {
                ingested.reports.push(report);
                ingested.rows.push(csv_row.line);
            }
            _ => ingested.rejections.append(&mut issues.rejections),
        }
    })
}

fn required<'r>(row: &'r Row<'_>, col: Col, issues: &mut RowIssues<'_>) -> Option<&'r str> {
    let text = row.get(col);
    if text.is_empty() {
        issues.reject(Some(name(col)), None, "required field is empty");
        None
    } else {
        Some(text)
    }
}

fn count(row: &Row<'_>, col: Col, issues: &mut RowIssues<'_>) -> u32 {
    match row.get(col) {
        "" => 0,
        text => count_from_text(text).unwrap_or_else(|problem| {
            issues.problem(name(col), problem);
            0
        }),
    }
}

/// The source every GED row is attributed to.
fn ucdp_source() -> Source {
    Source {
        id: SmolStr::new_static("ucdp"),
        kind: SourceKind::Osint,
        party: None,
    }
}

fn read_row(row: &Row<'_>, options: &IngestOptions, issues: &mut RowIssues<'_>) -> Option<Report> {
    let id = required(row, Col::Id, issues);
    let time = read_time(row, options, issues);
    let location = read_location(row, issues);
    let words = Words::of([
        row.get(Col::SourceHeadline),
        row.get(Col::SourceArticle),
        row.get(Col::WhereDescription),
    ]);
    let action = classify_action(&words).unwrap_or(ActionType::Other);
    let target = classify_target(&words, false);
    let casualties = Casualties {
        civilian_killed: count(row, Col::DeathsCivilians, issues),
        civilian_injured: 0,
        military_killed: count(row, Col::DeathsA, issues).saturating_add(count(
            row,
            Col::DeathsB,
            issues,
        )),
        military_injured: 0,
        unspecified_killed: count(row, Col::DeathsUnknown, issues),
    };
    let actors = [Col::SideA, Col::SideB]
        .into_iter()
        .map(|col| row.get(col))
        .filter(|side| !side.is_empty())
        .map(SmolStr::new)
        .collect();
    let (id, time, location) = (id?, time?, location?);
    let place = Some(row.get(Col::WhereCoordinates))
        .filter(|place| !place.is_empty())
        .map(SmolStr::new);
    let text = [row.get(Col::SourceHeadline), row.get(Col::WhereDescription)]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" — ");
    Some(Report {
        id: smol_str::format_smolstr!("{ID_PREFIX}{id}"),
        source: Arc::clone(row.source),
        time,
        location,
        action,
        target,
        accused: None,
        casualties,
        details: crate::ReportDetails {
            place,
            site: None,
            actors,
            text,
            evidence: Vec::new(),
        }
        .into(),
    })
}

fn read_time(
    row: &Row<'_>,
    options: &IngestOptions,
    issues: &mut RowIssues<'_>,
) -> Option<TimeSpan> {
    let mut date = |col: Col| {
        let text = required(row, col, issues)?;
        parse_calendar_date(text)
            .map_err(|reason| issues.reject(Some(name(col)), Some(text), reason))
            .ok()
    };
    let start = date(Col::DateStart);
    let end = date(Col::DateEnd);
    let (start, end) = (start?, end?);
    if end < start {
        issues.reject(
            Some(name(Col::DateEnd)),
            Some(row.get(Col::DateEnd)),
            "date_end is before date_start",
        );
        return None;
    }
    days_span(start, end, &options.local_zone)
        .map_err(|reason| {
            issues.reject(
                Some(name(Col::DateStart)),
                Some(row.get(Col::DateStart)),
                reason,
            )
        })
        .ok()
}

fn read_location(row: &Row<'_>, issues: &mut RowIssues<'_>) -> Option<Location> {
    let mut number = |col: Col| {
        let text = required(row, col, issues)?;
        number_from_text(text)
            .map_err(|problem| issues.problem(name(col), problem))
            .ok()
    };
    let lat = number(Col::Latitude);
    let lon = number(Col::Longitude);
    let precision = required(row, Col::WherePrec, issues);
    let uncertainty_m = precision.and_then(|code| {
        let metres = WHERE_PREC_M
            .iter()
            .find(|(known, _)| code == known.to_string())
            .map(|(_, metres)| *metres);
        if metres.is_none() {
            issues.reject(
                Some(name(Col::WherePrec)),
                Some(code),
                "where_prec must be 1 to 7",
            );
        }
        metres
    });
    let (lon, lat) = (lon?, lat?);
    let (lon_problem, lat_problem) = coordinate_problems(lon, lat);
    if let Some(reason) = &lat_problem {
        issues.reject(
            Some(name(Col::Latitude)),
            Some(row.get(Col::Latitude)),
            reason.as_str(),
        );
    }
    if let Some(reason) = &lon_problem {
        issues.reject(
            Some(name(Col::Longitude)),
            Some(row.get(Col::Longitude)),
            reason.as_str(),
        );
    }
    if lon_problem.is_some() || lat_problem.is_some() {
        return None;
    }
    Some(Location {
        lon,
        lat,
        uncertainty_m: uncertainty_m?,
    })
}

/// The smallest `where_prec` whose radius contains the uncertainty (code 7, "at sea", is
/// never chosen).
fn where_prec(uncertainty_m: f64) -> Result<u8, String> {
    WHERE_PREC_M[..6]
        .iter()
        .find(|(_, metres)| uncertainty_m <= *metres)
        .map(|(code, _)| *code)
        .ok_or_else(|| {
            format!("uncertainty {uncertainty_m} m is larger than where_prec 6 (500000 m)")
        })
}

/// `date_prec` for a span of `days` whole days after the first (0: one day).
fn date_prec(first: jiff::civil::Date, last: jiff::civil::Date) -> u8 {
    let days = days_between(first, last);
    if days == 0 {
        1
    } else if days <= 5 {
        2
    } else if days <= 6 {
        3
    } else if first.year() == last.year() && first.month() == last.month() {
        4
    } else {
        5
    }
}

/// Writes reports as a GED CSV (49 columns).
pub(crate) fn write(
    reports: &[Report],
    options: &IngestOptions,
    out: &mut dyn Write,
) -> Result<(), WriteError> {
    let mut writer = csv::WriterBuilder::new().from_writer(out);
    writer.write_record(COLUMNS).map_err(WriteError::from_csv)?;
    for report in reports {
        check_writable(InputFormat::Ucdp, report)?;
        let not_representable =
            |reason: String| WriteError::not_representable(InputFormat::Ucdp, report, reason);
        let zone = &options.local_zone;
        let first = local_date(report.time.start_ms, zone).map_err(not_representable)?;
        let last = local_date(report.time.end_ms, zone).map_err(not_representable)?;
        let where_prec = where_prec(report.location.uncertainty_m).map_err(not_representable)?;
        let (side_a, side_b) = actor_pair(report);
        let dyad_name = match (side_a, side_b) {
            ("", _) | (_, "") => String::new(),
            (a, b) => format!("{a} - {b}"),
        };
        let casualties = report.casualties;
        // Saturating: readers take counts as 32-bit.
        let best = casualties
            .civilian_killed
            .saturating_add(casualties.military_killed)
            .saturating_add(casualties.unspecified_killed);
        let id = report.id.strip_prefix(ID_PREFIX).unwrap_or(&report.id);
        let year = first.year().to_string();
        let first_text = first.to_string();
        let last_text = last.to_string();
        let headline = describe(first, report.action, report.target);
        let where_prec = where_prec.to_string();
        let latitude = report.location.lat.to_string();
        let longitude = report.location.lon.to_string();
        let wkt = format!("POINT ({} {})", report.location.lon, report.location.lat);
        let date_prec = date_prec(first, last).to_string();
        let deaths_a = casualties.military_killed.to_string();
        let deaths_civilians = casualties.civilian_killed.to_string();
        let deaths_unknown = casualties.unspecified_killed.to_string();
        let best = best.to_string();
        let record: [&str; 49] = [
            id,
            "",
            &year,
            "",
            "Clear",
            "1",
            "",
            "",
            "",
            "",
            "",
            &dyad_name,
            "",
            "",
            side_a,
            "",
            "",
            side_b,
            "1",
            "",
            "",
            &first_text,
            &headline,
            &report.source.id,
            &where_prec,
            report.place().unwrap_or(""),
            "",
            "",
            "",
            &latitude,
            &longitude,
            &wkt,
            "",
            "",
            "",
            "",
            "1",
            &date_prec,
            &first_text,
            &last_text,
            &deaths_a,
            "0",
            &deaths_civilians,
            &deaths_unknown,
            &best,
            &best,
            &best,
            "",
            "",
        ];
        writer.write_record(record).map_err(WriteError::from_csv)?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(where_prec(1_000.0).unwrap(), 1);
        assert_eq!(where_prec(400_000.0).unwrap(), 6);
        assert!(where_prec(600_000.0).is_err());
        let day = |d| jiff::civil::Date::new(2025, 3, d).unwrap();
        assert_eq!(date_prec(day(1), day(1)), 1);
        assert_eq!(date_prec(day(1), day(6)), 2);
        assert_eq!(date_prec(day(1), day(7)), 3);
        assert_eq!(date_prec(day(1), day(31)), 4);
    }
}
