//! ACLED's event export CSV (ACLED codebook; column layout since the March 2023 change).
//! Columns are found by name, never by position: older exports with other columns work.

use std::io::Write;
use std::sync::Arc;

use jiff::civil::Date;

use crate::ingest::classify::{DRONE, MISSILE, MLRS, MORTAR, Words, classify_target, describe};
use crate::ingest::csv_table::{CsvTable, Fields};
use crate::ingest::fields::{RowIssues, coordinate_problems, count_from_text, number_from_text};
use crate::ingest::options::IngestOptions;
use crate::ingest::read::Continuation;
use crate::ingest::time::{add_days, days_between, days_span, local_date, parse_calendar_date};
use crate::ingest::write::{WriteError, check_writable};
use crate::ingest::{IngestError, Ingested, InputFormat};
use crate::report::{Casualties, Location, Report, Source, TimeSpan};
use crate::vocab::{ActionType, SourceKind, TargetKind};
use smol_str::SmolStr;

/// ACLED's 31 columns, in the order of its exports since March 2023.
pub const COLUMNS: [&str; 31] = [
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
];

/// Columns without which a row cannot be read.
const REQUIRED: [&str; 6] = [
    "event_id_cnty",
    "event_date",
    "event_type",
    "sub_event_type",
    "latitude",
    "longitude",
];

/// Columns the reader uses, in the order of [`Col`].
const USED: [&str; 15] = [
    "event_id_cnty",
    "event_date",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "actor2",
    "civilian_targeting",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "notes",
    "fatalities",
    "tags",
];

#[derive(Debug, Clone, Copy)]
enum Col {
    Id,
    EventDate,
    TimePrecision,
    EventType,
    SubEventType,
    Actor1,
    Actor2,
    CivilianTargeting,
    Location,
    Latitude,
    Longitude,
    GeoPrecision,
    Notes,
    Fatalities,
    Tags,
}

/// The uncertainty radius, in metres, we give each `geo_precision` code (our choice; the
/// codebook describes the codes in words only). A missing code counts as 3.
pub const GEO_PRECISION_M: [(u8, f64); 3] = [(1, 2_000.0), (2, 10_000.0), (3, 50_000.0)];

/// Days either side of `event_date` for `time_precision` 2 (our choice: "the week or a few
/// days").
pub const TIME_PRECISION_2_DAYS: i32 = 3;

/// The source every ACLED row is attributed to.
fn acled_source() -> Source {
    Source {
        id: SmolStr::new_static("acled"),
        kind: SourceKind::Osint,
        party: None,
    }
}

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

fn column_name(col: Col) -> Option<String> {
    Some(USED[col as usize].to_string())
}

/// Reads an ACLED export.
pub(crate) fn parse<'t>(
    file: &'t str,
    text: &'t str,
    rest: Option<Continuation<'t>>,
    options: &IngestOptions,
) -> Result<Ingested, IngestError> {
    let table = CsvTable::open(file, text, rest)?;
    table.require(&REQUIRED)?;
    let columns = table.locate(&USED);
    // Every row has the one ACLED source: each chunk shares one copy among its reports.
    let new_source = || Arc::new(acled_source());
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

fn read_row(row: &Row<'_>, options: &IngestOptions, issues: &mut RowIssues<'_>) -> Option<Report> {
    let id = row.get(Col::Id);
    if id.is_empty() {
        issues.reject(column_name(Col::Id), None, "required field is empty");
    }
    let time = read_time(row, options, issues);
    let location = read_location(row, issues);
    let notes = row.get(Col::Notes);
    let words = Words::of([notes, row.get(Col::Tags)]);
    let action = read_action(row, &words, issues);
    let civilian_targeting = !row.get(Col::CivilianTargeting).is_empty();
    let target = classify_target(&words, civilian_targeting);
    let fatalities = match row.get(Col::Fatalities) {
        "" => 0,
        text => match count_from_text(text) {
            Ok(count) => count,
            Err(problem) => {
                issues.problem(USED[Col::Fatalities as usize].to_string(), problem);
                0
            }
        },
    };
    let casualties = if civilian_targeting {
        Casualties {
            civilian_killed: fatalities,
            ..Casualties::default()
        }
    } else {
        Casualties {
            unspecified_killed: fatalities,
            ..Casualties::default()
        }
    };
    let actors = [Col::Actor1, Col::Actor2]
        .into_iter()
        .map(|col| row.get(col))
        .filter(|actor| !actor.is_empty())
        .map(SmolStr::new)
        .collect();
    let (time, location, action) = (time?, location?, action?);
    if id.is_empty() {
        return None;
    }
    let place = Some(row.get(Col::Location))
        .filter(|place| !place.is_empty())
        .map(SmolStr::new);
    // Notes are kept as written (the row getter trims; read the cell itself).
    let text = row.columns[Col::Notes as usize]
        .and_then(|index| row.record.get(index))
        .unwrap_or("")
        .to_string();
    Some(Report {
        id: SmolStr::new(id),
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
    let text = row.get(Col::EventDate);
    if text.is_empty() {
        issues.reject(column_name(Col::EventDate), None, "required field is empty");
        return None;
    }
    let date = match parse_calendar_date(text) {
        Ok(date) => date,
        Err(reason) => {
            issues.reject(column_name(Col::EventDate), Some(text), reason);
            return None;
        }
    };
    let precision = row.get(Col::TimePrecision);
    let span = match precision {
        "" | "1" => days_span(date, date, &options.local_zone),
        "2" => add_days(date, -TIME_PRECISION_2_DAYS).and_then(|first| {
            let last = add_days(date, TIME_PRECISION_2_DAYS)?;
            days_span(first, last, &options.local_zone)
        }),
        "3" => days_span(
            date.first_of_month(),
            date.last_of_month(),
            &options.local_zone,
        ),
        other => {
            issues.reject(
                column_name(Col::TimePrecision),
                Some(other),
                "time_precision must be 1, 2 or 3",
            );
            return None;
        }
    };
    match span {
        Ok(span) => Some(span),
        Err(reason) => {
            issues.reject(column_name(Col::EventDate), Some(text), reason);
            None
        }
    }
}

fn read_location(row: &Row<'_>, issues: &mut RowIssues<'_>) -> Option<Location> {
    let mut number = |col: Col| -> Option<f64> {
        let text = row.get(col);
        if text.is_empty() {
            issues.reject(column_name(col), None, "required field is empty");
            return None;
        }
        match number_from_text(text) {
            Ok(value) => Some(value),
            Err(problem) => {
                issues.problem(USED[col as usize].to_string(), problem);
                None
            }
        }
    };
    let lat = number(Col::Latitude);
    let lon = number(Col::Longitude);
    let (lon, lat) = (lon?, lat?);
    let (lon_problem, lat_problem) = coordinate_problems(lon, lat);
    if let Some(reason) = &lat_problem {
        issues.reject(
            column_name(Col::Latitude),
            Some(row.get(Col::Latitude)),
            reason.as_str(),
        );
    }
    if let Some(reason) = &lon_problem {
        issues.reject(
            column_name(Col::Longitude),
            Some(row.get(Col::Longitude)),
            reason.as_str(),
        );
    }
    if lon_problem.is_some() || lat_problem.is_some() {
        return None;
    }
    let precision = row.get(Col::GeoPrecision);
    let code = if precision.is_empty() { "3" } else { precision };
    let uncertainty_m = GEO_PRECISION_M
        .iter()
        .find(|(known, _)| code == known.to_string())
        .map(|(_, metres)| *metres);
    match uncertainty_m {
        Some(uncertainty_m) => Some(Location {
            lon,
            lat,
            uncertainty_m,
        }),
        None => {
            issues.reject(
                column_name(Col::GeoPrecision),
                Some(precision),
                "geo_precision must be 1, 2 or 3",
            );
            None
        }
    }
}

/// ACLED's `event_type`/`sub_event_type` as an action; the notes refine the broad
/// shelling and air/drone sub-types.
fn read_action(row: &Row<'_>, words: &Words, issues: &mut RowIssues<'_>) -> Option<ActionType> {
    let event_type = row.get(Col::EventType);
    let sub_event_type = row.get(Col::SubEventType);
    if event_type.is_empty() {
        issues.reject(column_name(Col::EventType), None, "required field is empty");
        return None;
    }
    match acled_action(event_type, sub_event_type, words) {
        Ok(action) => Some(action),
        Err((col, reason)) => {
            let value = row.get(col);
            issues.reject(column_name(col), Some(value), reason);
            None
        }
    }
}

fn acled_action(
    event_type: &str,
    sub_event_type: &str,
    words: &Words,
) -> Result<ActionType, (Col, String)> {
    let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let out_of_scope = || {
        Err((
            Col::EventType,
            format!("event type `{event_type}` is out of scope for ceasefire monitoring"),
        ))
    };
    let unknown_sub = || {
        Err((
            Col::SubEventType,
            format!("unknown sub-event type `{sub_event_type}` for event type `{event_type}`"),
        ))
    };
    if is(event_type, "Battles") {
        return Ok(ActionType::GroundAssault);
    }
    if is(event_type, "Explosions/Remote violence") {
        return if is(sub_event_type, "Shelling/artillery/missile attack") {
            Ok(if words.mention_any(MISSILE) {
                ActionType::MissileStrike
            } else if words.mention_any(MLRS) {
                ActionType::Mlrs
            } else if words.mention_any(MORTAR) {
                ActionType::Mortar
            } else {
                ActionType::Artillery
            })
        } else if is(sub_event_type, "Air/drone strike") {
            Ok(if words.mention_any(DRONE) {
                ActionType::DroneStrike
            } else {
                ActionType::AirStrike
            })
        } else if is(sub_event_type, "Remote explosive/landmine/IED") {
            Ok(ActionType::MineIed)
        } else if is(sub_event_type, "Grenade")
            || is(sub_event_type, "Suicide bomb")
            || is(sub_event_type, "Chemical weapon")
        {
            Ok(ActionType::Other)
        } else {
            unknown_sub()
        };
    }
    if is(event_type, "Violence against civilians") {
        return if is(sub_event_type, "Attack") {
            Ok(ActionType::SmallArms)
        } else if is(sub_event_type, "Abduction/forced disappearance")
            || is(sub_event_type, "Sexual violence")
        {
            Ok(ActionType::Other)
        } else {
            unknown_sub()
        };
    }
    if is(event_type, "Strategic developments") {
        return if is(sub_event_type, "Disrupted weapons use") {
            Ok(ActionType::AirDefenceIntercept)
        } else {
            Err((
                Col::SubEventType,
                format!(
                    "sub-event type `{sub_event_type}` of `{event_type}` is out of scope for ceasefire monitoring"
                ),
            ))
        };
    }
    if is(event_type, "Protests") || is(event_type, "Riots") {
        return out_of_scope();
    }
    Err((
        Col::EventType,
        format!(
            "unknown event type `{event_type}` (known: Battles, Explosions/Remote violence, Violence against civilians, Strategic developments, Protests, Riots)"
        ),
    ))
}

/// ACLED's `event_type`, `sub_event_type` and `disorder_type` for an action.
fn acled_event_type(action: ActionType) -> (&'static str, &'static str, &'static str) {
    const VIOLENCE: &str = "Political violence";
    const EXPLOSIONS: &str = "Explosions/Remote violence";
    const SHELLING: &str = "Shelling/artillery/missile attack";
    match action {
        ActionType::Artillery
        | ActionType::Mortar
        | ActionType::Mlrs
        | ActionType::MissileStrike
        | ActionType::NavalAttack => (EXPLOSIONS, SHELLING, VIOLENCE),
        ActionType::DroneStrike | ActionType::AirStrike => {
            (EXPLOSIONS, "Air/drone strike", VIOLENCE)
        }
        ActionType::GroundAssault => ("Battles", "Armed clash", VIOLENCE),
        ActionType::SmallArms => ("Violence against civilians", "Attack", VIOLENCE),
        ActionType::MineIed => (EXPLOSIONS, "Remote explosive/landmine/IED", VIOLENCE),
        ActionType::AirDefenceIntercept => (
            "Strategic developments",
            "Disrupted weapons use",
            "Strategic developments",
        ),
        ActionType::Other => (EXPLOSIONS, "Grenade", VIOLENCE),
    }
}

/// `event_date` and `time_precision` whose reading contains the report's span.
fn event_date(report: &Report, options: &IngestOptions) -> Result<(Date, u8), String> {
    let zone = &options.local_zone;
    let first = local_date(report.time.start_ms, zone)?;
    let last = local_date(report.time.end_ms, zone)?;
    let days = days_between(first, last);
    if days == 0 {
        return Ok((first, 1));
    }
    if days <= 2 * i64::from(TIME_PRECISION_2_DAYS) {
        let middle = i32::try_from(days / 2).map_err(|e| e.to_string())?;
        return Ok((add_days(first, middle)?, 2));
    }
    if first.year() == last.year() && first.month() == last.month() {
        let middle = Date::new(first.year(), first.month(), 15).map_err(|e| e.to_string())?;
        return Ok((middle, 3));
    }
    Err(format!(
        "the time span {first} to {last} is longer than 7 days and crosses a month boundary; ACLED's time_precision cannot express it"
    ))
}

/// `geo_precision` whose radius contains the report's uncertainty.
fn geo_precision(uncertainty_m: f64) -> Result<u8, String> {
    GEO_PRECISION_M
        .iter()
        .find(|(_, metres)| uncertainty_m <= *metres)
        .map(|(code, _)| *code)
        .ok_or_else(|| {
            format!(
                "uncertainty {uncertainty_m} m is larger than geo_precision 3 ({} m)",
                GEO_PRECISION_M[2].1
            )
        })
}

/// Writes reports as an ACLED export (31 columns). See `docs/report-format.md` for what
/// is kept and what is lost.
pub(crate) fn write(
    reports: &[Report],
    options: &IngestOptions,
    out: &mut dyn Write,
) -> Result<(), WriteError> {
    let mut writer = csv::WriterBuilder::new().from_writer(out);
    writer.write_record(COLUMNS).map_err(WriteError::from_csv)?;
    for report in reports {
        check_writable(InputFormat::Acled, report)?;
        let not_representable =
            |reason: String| WriteError::not_representable(InputFormat::Acled, report, reason);
        let (date, time_precision) = event_date(report, options).map_err(not_representable)?;
        let geo_precision =
            geo_precision(report.location.uncertainty_m).map_err(not_representable)?;
        let (event_type, sub_event_type, disorder_type) = acled_event_type(report.action);
        let actors = actor_pair(report);
        let casualties = report.casualties;
        // Saturating: readers take counts as 32-bit.
        let fatalities = casualties
            .civilian_killed
            .saturating_add(casualties.military_killed)
            .saturating_add(casualties.unspecified_killed);
        let civilians_only = casualties.civilian_killed > 0
            && casualties.military_killed == 0
            && casualties.unspecified_killed == 0;
        let civilian_targeting = report.target.kind != TargetKind::Unknown
            && (report.target.kind == TargetKind::CivilianResidential || civilians_only);
        let date_text = date.to_string();
        let year = date.year().to_string();
        let latitude = report.location.lat.to_string();
        let longitude = report.location.lon.to_string();
        let notes = describe(date, report.action, report.target);
        let time_precision = time_precision.to_string();
        let geo_precision = geo_precision.to_string();
        let fatalities = fatalities.to_string();
        let timestamp = report.time.end_ms.div_euclid(1000).to_string();
        let record: [&str; 31] = [
            &report.id,
            &date_text,
            &year,
            &time_precision,
            disorder_type,
            event_type,
            sub_event_type,
            actors.0,
            "",
            "",
            actors.1,
            "",
            "",
            "",
            if civilian_targeting {
                "Civilian targeting"
            } else {
                ""
            },
            "",
            "",
            "",
            "",
            "",
            "",
            report.place().unwrap_or(""),
            &latitude,
            &longitude,
            &geo_precision,
            &report.source.id,
            "",
            &notes,
            &fatalities,
            "",
            &timestamp,
        ];
        writer.write_record(record).map_err(WriteError::from_csv)?;
    }
    writer.flush()?;
    Ok(())
}

/// The first two of: the accused, then the named actors (without repeating the accused).
pub(crate) fn actor_pair(report: &Report) -> (&str, &str) {
    let mut names = report
        .accused
        .iter()
        .chain(
            report
                .actors()
                .iter()
                .filter(|actor| Some(*actor) != report.accused.as_ref()),
        )
        .map(SmolStr::as_str);
    (names.next().unwrap_or(""), names.next().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_codes_contain_the_span() {
        assert_eq!(geo_precision(0.0).unwrap(), 1);
        assert_eq!(geo_precision(2_000.0).unwrap(), 1);
        assert_eq!(geo_precision(2_000.5).unwrap(), 2);
        assert_eq!(geo_precision(50_000.0).unwrap(), 3);
        assert!(geo_precision(50_001.0).is_err());
    }

    #[test]
    fn every_sub_event_type_of_the_codebook_is_handled() {
        let words = Words::default();
        let in_scope = [
            ("Battles", "Armed clash", ActionType::GroundAssault),
            (
                "Battles",
                "Government regains territory",
                ActionType::GroundAssault,
            ),
            (
                "Battles",
                "Non-state actor overtakes territory",
                ActionType::GroundAssault,
            ),
            (
                "Explosions/Remote violence",
                "Chemical weapon",
                ActionType::Other,
            ),
            (
                "Explosions/Remote violence",
                "Air/drone strike",
                ActionType::AirStrike,
            ),
            (
                "Explosions/Remote violence",
                "Suicide bomb",
                ActionType::Other,
            ),
            (
                "Explosions/Remote violence",
                "Shelling/artillery/missile attack",
                ActionType::Artillery,
            ),
            (
                "Explosions/Remote violence",
                "Remote explosive/landmine/IED",
                ActionType::MineIed,
            ),
            ("Explosions/Remote violence", "Grenade", ActionType::Other),
            (
                "Violence against civilians",
                "Sexual violence",
                ActionType::Other,
            ),
            (
                "Violence against civilians",
                "Attack",
                ActionType::SmallArms,
            ),
            (
                "Violence against civilians",
                "Abduction/forced disappearance",
                ActionType::Other,
            ),
            (
                "Strategic developments",
                "Disrupted weapons use",
                ActionType::AirDefenceIntercept,
            ),
        ];
        for (event_type, sub_event_type, action) in in_scope {
            assert_eq!(
                acled_action(event_type, sub_event_type, &words).unwrap(),
                action
            );
        }
        for (event_type, sub_event_type) in [
            ("Protests", "Peaceful protest"),
            ("Protests", "Protest with intervention"),
            ("Protests", "Excessive force against protesters"),
            ("Riots", "Violent demonstration"),
            ("Riots", "Mob violence"),
            ("Strategic developments", "Agreement"),
            ("Strategic developments", "Arrests"),
            ("Strategic developments", "Change to group/activity"),
            ("Strategic developments", "Headquarters or base established"),
            ("Strategic developments", "Looting/property destruction"),
            (
                "Strategic developments",
                "Non-violent transfer of territory",
            ),
            ("Strategic developments", "Other"),
        ] {
            let (_, reason) = acled_action(event_type, sub_event_type, &words).unwrap_err();
            assert!(
                reason.contains("out of scope"),
                "{event_type}/{sub_event_type}: {reason}"
            );
        }
    }
}
