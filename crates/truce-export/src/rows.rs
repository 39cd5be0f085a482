//! The rows of an export: which incident or report each stands for, under which reading, and
//! the cells of the CSV, HXL and GeoJSON exports (one column table drives all three).

use std::borrow::Cow;
use std::ops::Range;

use truce_engine::adjudicate::{Finding, NoViolationReason, Verdict};
use truce_engine::incident::Incident;
use truce_model::{Location, Report, SmolStr, TimeSpan};

use crate::time::{instant_text, round6};
use crate::{AdminRegion, Assessed, ExportError, ExportOptions, RegionLookup, RowsOf};

/// A column of the CSV, HXL and GeoJSON exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The header (CSV, HXL) and property name (GeoJSON).
    pub name: &'static str,
    /// The HXL hashtag with its attributes (the second row of the HXL export).
    pub hxl: &'static str,
}

const fn column(name: &'static str, hxl: &'static str) -> Column {
    Column { name, hxl }
}

/// The column that names the reading, first when several readings are exported.
const INTERPRETATION: Column = column("interpretation", "#meta+interpretation");

/// Where and when, shared by both kinds of rows (after the id).
const PLACE_AND_TIME: [Column; 8] = [
    column("start", "#date+start"),
    column("end", "#date+end"),
    column("lon", "#geo+lon"),
    column("lat", "#geo+lat"),
    column("uncertainty_m", "#geo+uncertainty_m"),
    column("country", "#country+name"),
    column("admin1", "#adm1+name"),
    column("place", "#loc+name"),
];

/// Casualty counts, shared by both kinds of rows.
const CASUALTIES: [Column; 5] = [
    column("civilian_killed", "#affected+killed+civilians"),
    column("civilian_injured", "#affected+injured+civilians"),
    column("military_killed", "#affected+killed+combatants"),
    column("military_injured", "#affected+injured+combatants"),
    column("unspecified_killed", "#affected+killed+unspecified"),
];

/// An incident row, in order.
const INCIDENT_COLUMNS: [Column; 29] = [
    column("incident_id", "#event+code+incident"),
    PLACE_AND_TIME[0],
    PLACE_AND_TIME[1],
    PLACE_AND_TIME[2],
    PLACE_AND_TIME[3],
    PLACE_AND_TIME[4],
    PLACE_AND_TIME[5],
    PLACE_AND_TIME[6],
    PLACE_AND_TIME[7],
    column("action", "#event+type"),
    column("target", "#loc+type"),
    column("site", "#loc+code+site"),
    column("verdict", "#status+finding"),
    column("reason", "#status+reason"),
    column("established", "#status+verified"),
    column("parties", "#group+code"),
    column("rules", "#meta+rule"),
    column("exceptions", "#meta+exception"),
    column("zones", "#loc+code+zone"),
    column("missing", "#meta+missing"),
    column("sources", "#meta+source"),
    column("n_sources", "#meta+sources+num"),
    column("reports", "#event+code+report"),
    column("attributions", "#meta+attributions"),
    CASUALTIES[0],
    CASUALTIES[1],
    CASUALTIES[2],
    CASUALTIES[3],
    CASUALTIES[4],
];

/// The incident row's last column: the finding's reasons in words.
const REASONS: Column = column("reasons", "#description");

/// A report row, in order.
const REPORT_COLUMNS: [Column; 30] = [
    column("report_id", "#event+code+report"),
    column("source_id", "#meta+source"),
    column("source_kind", "#meta+source+type"),
    column("source_party", "#meta+source+party"),
    PLACE_AND_TIME[0],
    PLACE_AND_TIME[1],
    PLACE_AND_TIME[2],
    PLACE_AND_TIME[3],
    PLACE_AND_TIME[4],
    PLACE_AND_TIME[5],
    PLACE_AND_TIME[6],
    PLACE_AND_TIME[7],
    column("action", "#event+type"),
    column("target", "#loc+type"),
    column("site", "#loc+code+site"),
    column("accused", "#group+name+accused"),
    column("actors", "#group+name+involved"),
    CASUALTIES[0],
    CASUALTIES[1],
    CASUALTIES[2],
    CASUALTIES[3],
    CASUALTIES[4],
    column("text", "#description"),
    column("evidence", "#meta+evidence"),
    column("incident_id", "#event+code+incident"),
    column("verdict", "#status+finding"),
    column("reason", "#status+reason"),
    column("established", "#status+verified"),
    column("parties", "#group+code"),
    column("rules", "#meta+rule"),
];

/// The columns of the CSV, HXL and GeoJSON exports for rows of `rows_of`; with
/// `several_readings`, `interpretation` comes first.
pub fn columns(rows_of: RowsOf, several_readings: bool) -> Vec<Column> {
    let mut columns = Vec::new();
    if several_readings {
        columns.push(INTERPRETATION);
    }
    match rows_of {
        RowsOf::Incidents => {
            columns.extend(INCIDENT_COLUMNS);
            columns.push(REASONS);
        }
        RowsOf::Reports => columns.extend(REPORT_COLUMNS),
    }
    columns
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// No value: an empty CSV field, JSON `null`.
    Absent,
    /// Text.
    Text(String),
    /// A count.
    Integer(u64),
    /// A measurement.
    Number(f64),
    /// Yes or no.
    Flag(bool),
    /// Texts: `;`-separated in CSV, an array in JSON.
    List(Vec<String>),
}

impl Cell {
    fn text(value: &str) -> Cell {
        Cell::Text(value.to_string())
    }

    fn optional(value: Option<&str>) -> Cell {
        value.map_or(Cell::Absent, Cell::text)
    }

    fn list<S: AsRef<str>>(values: &[S]) -> Cell {
        Cell::List(values.iter().map(|v| v.as_ref().to_string()).collect())
    }

    /// The CSV field.
    pub(crate) fn csv_text(&self) -> Cow<'_, str> {
        match self {
            Cell::Absent => Cow::Borrowed(""),
            Cell::Text(text) => Cow::Borrowed(text),
            Cell::Integer(count) => Cow::Owned(count.to_string()),
            Cell::Number(value) => Cow::Owned(value.to_string()),
            Cell::Flag(flag) => Cow::Borrowed(if *flag { "true" } else { "false" }),
            Cell::List(items) => Cow::Owned(items.join(";")),
        }
    }

    /// The JSON value.
    pub(crate) fn json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Cell::Absent => Value::Null,
            Cell::Text(text) => Value::String(text.clone()),
            Cell::Integer(count) => Value::from(*count),
            Cell::Number(value) => serde_json::Number::from_f64(*value)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Cell::Flag(flag) => Value::Bool(*flag),
            Cell::List(items) => Value::Array(items.iter().cloned().map(Value::String).collect()),
        }
    }
}

/// One row of the CSV, HXL or GeoJSON export: its point and its cells, parallel to
/// [`columns`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// Longitude, rounded to six decimals.
    pub(crate) lon: f64,
    /// Latitude, rounded to six decimals.
    pub(crate) lat: f64,
    /// The id of the incident or report.
    pub(crate) id: String,
    /// The cells.
    pub(crate) cells: Vec<Cell>,
}

/// What a report row needs of its incident's finding (kept for every incident while report
/// rows are written, so without the reasons).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Judgement {
    pub(crate) verdict: Verdict,
    pub(crate) reason: Option<NoViolationReason>,
    pub(crate) established: bool,
    pub(crate) parties: Vec<SmolStr>,
    pub(crate) rules: Vec<SmolStr>,
}

impl From<Finding> for Judgement {
    fn from(finding: Finding) -> Self {
        Judgement {
            verdict: finding.verdict,
            reason: finding.reason,
            established: finding.established,
            parties: finding.parties,
            rules: finding.rules,
        }
    }
}

/// What one row stands for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    /// An incident and its finding under the row's reading.
    Incident {
        incident: &'a Incident,
        finding: &'a Finding,
    },
    /// A report, and its incident with that incident's judgement under the row's reading.
    Report {
        report: &'a Report,
        incident: Option<(&'a Incident, &'a Judgement)>,
    },
}

/// One row: what it stands for, under which reading.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// The interpretation of the reading.
    pub(crate) interpretation: &'a str,
    /// The incident or report.
    pub(crate) subject: Subject<'a>,
}

/// Incidents judged per chunk, as in `truce-output`: findings of a chunk are held, not all.
const CHUNK: usize = 32 * 1024;

fn chunks(len: usize) -> impl Iterator<Item = Range<usize>> {
    (0..len)
        .step_by(CHUNK)
        .map(move |start| start..(start + CHUNK).min(len))
}

/// Visits every row in output order: incidents (or reports) in canonical order, each once per
/// reading in the assessors' order.
pub(crate) fn walk(
    assessed: &Assessed<'_, '_>,
    rows_of: RowsOf,
    visit: &mut dyn FnMut(&Line<'_>) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    match rows_of {
        RowsOf::Incidents => {
            for range in chunks(assessed.incidents.len()) {
                let findings: Vec<Vec<Finding>> = assessed
                    .assessors
                    .iter()
                    .map(|assessor| assessor.findings(range.clone()))
                    .collect();
                for (offset, incident) in assessed.incidents[range].iter().enumerate() {
                    for (assessor, found) in assessed.assessors.iter().zip(&findings) {
                        visit(&Line {
                            interpretation: &assessor.agreement().interpretation,
                            subject: Subject::Incident {
                                incident,
                                finding: &found[offset],
                            },
                        })?;
                    }
                }
            }
        }
        RowsOf::Reports => {
            let judgements: Vec<Vec<Judgement>> = assessed
                .assessors
                .iter()
                .map(|assessor| {
                    chunks(assessed.incidents.len())
                        .flat_map(|range| assessor.findings(range))
                        .map(Judgement::from)
                        .collect()
                })
                .collect();
            let incident_of = incident_of_each_report(assessed);
            for (report, incident_index) in assessed.reports.iter().zip(incident_of) {
                for (assessor, judged) in assessed.assessors.iter().zip(&judgements) {
                    let incident = incident_index.and_then(|index| {
                        Some((assessed.incidents.get(index)?, judged.get(index)?))
                    });
                    visit(&Line {
                        interpretation: &assessor.agreement().interpretation,
                        subject: Subject::Report { report, incident },
                    })?;
                }
            }
        }
    }
    Ok(())
}

/// For each report (by index), the index of the incident it is a member of.
fn incident_of_each_report(assessed: &Assessed<'_, '_>) -> Vec<Option<usize>> {
    let mut incident_of = vec![None; assessed.reports.len()];
    for (incident_index, incident) in assessed.incidents.iter().enumerate() {
        for &member in &incident.members {
            if let Some(slot) = incident_of.get_mut(member as usize) {
                *slot = Some(incident_index);
            }
        }
    }
    incident_of
}

/// What row building needs besides the row itself.
pub(crate) struct RowContext<'o, 'a> {
    /// Reports in canonical order.
    pub(crate) reports: &'a [Report],
    /// Whether several readings are exported (the interpretation is then written).
    pub(crate) several_readings: bool,
    /// Where the administrative units come from.
    pub(crate) regions: Option<&'o dyn RegionLookup>,
}

impl<'o, 'a> RowContext<'o, 'a> {
    pub(crate) fn new(assessed: &Assessed<'_, 'a>, options: &ExportOptions<'o>) -> Self {
        RowContext {
            reports: assessed.reports,
            several_readings: assessed.assessors.len() > 1,
            regions: options.regions,
        }
    }

    /// The administrative unit of a point, if the lookup knows it.
    pub(crate) fn region(&self, location: Location) -> Option<AdminRegion> {
        self.regions
            .and_then(|regions| regions.region_at(location.lon, location.lat))
    }

    /// The row of the CSV, HXL and GeoJSON exports.
    pub(crate) fn row(&self, line: &Line<'_>) -> Row {
        let mut cells = Vec::with_capacity(32);
        if self.several_readings {
            cells.push(Cell::text(line.interpretation));
        }
        let (location, id) = match line.subject {
            Subject::Incident { incident, finding } => {
                self.incident_cells(incident, finding, &mut cells);
                (incident.location, incident.id.to_string())
            }
            Subject::Report { report, incident } => {
                self.report_cells(report, incident, &mut cells);
                (report.location, report.id.to_string())
            }
        };
        Row {
            lon: round6(location.lon),
            lat: round6(location.lat),
            id,
            cells,
        }
    }

    fn place_and_time(
        &self,
        time: TimeSpan,
        location: Location,
        uncertainty_m: f64,
        place: Cell,
        cells: &mut Vec<Cell>,
    ) {
        let region = self.region(location);
        let country = region
            .as_ref()
            .and_then(|region| country(region.country_code()))
            .map_or(Cell::Absent, |country| Cell::text(country.name));
        cells.extend([
            Cell::Text(instant_text(time.start_ms)),
            Cell::Text(instant_text(time.end_ms)),
            Cell::Number(round6(location.lon)),
            Cell::Number(round6(location.lat)),
            Cell::Number(uncertainty_m),
            country,
            region.map_or(Cell::Absent, |region| Cell::Text(region.name)),
            place,
        ]);
    }

    fn incident_cells(&self, incident: &Incident, finding: &Finding, cells: &mut Vec<Cell>) {
        let attributions = incident.attributions(self.reports);
        cells.push(Cell::text(&incident.id));
        self.place_and_time(
            incident.time,
            incident.location,
            incident.location.uncertainty_m.round(),
            Cell::List(incident_places(&attributions)),
            cells,
        );
        cells.extend([
            Cell::text(incident.action.as_str()),
            Cell::Text(finding.target.to_string()),
            Cell::optional(finding.site.as_deref()),
            Cell::text(finding.verdict.as_str()),
            Cell::optional(finding.reason.map(NoViolationReason::as_str)),
            Cell::Flag(finding.established),
            Cell::list(&finding.parties),
            Cell::list(&finding.rules),
            Cell::list(&finding.exceptions),
            Cell::list(&finding.zones),
            Cell::list(&finding.missing),
            Cell::List(incident_sources(&attributions)),
            Cell::Integer(u64::from(incident.n_sources)),
            Cell::List(
                incident
                    .member_reports(self.reports)
                    .map(|report| report.id.to_string())
                    .collect(),
            ),
            Cell::List(
                attributions
                    .iter()
                    .map(|report| {
                        format!(
                            "{}={}",
                            report.source.id,
                            report.accused.as_deref().unwrap_or("?")
                        )
                    })
                    .collect(),
            ),
        ]);
        casualty_cells(incident.casualties, cells);
        cells.push(Cell::Text(
            finding
                .reasons
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" | "),
        ));
    }

    fn report_cells(
        &self,
        report: &Report,
        incident: Option<(&Incident, &Judgement)>,
        cells: &mut Vec<Cell>,
    ) {
        cells.extend([
            Cell::text(&report.id),
            Cell::text(&report.source.id),
            Cell::text(report.source.kind.as_str()),
            Cell::optional(report.source.party.as_deref()),
        ]);
        self.place_and_time(
            report.time,
            report.location,
            report.location.uncertainty_m,
            Cell::optional(report.place()),
            cells,
        );
        cells.extend([
            Cell::text(report.action.as_str()),
            Cell::Text(report.target.to_string()),
            Cell::optional(report.site()),
            Cell::optional(report.accused.as_deref()),
            Cell::list(report.actors()),
        ]);
        casualty_cells(report.casualties, cells);
        cells.extend([
            if report.text().is_empty() {
                Cell::Absent
            } else {
                Cell::text(report.text())
            },
            Cell::list(report.evidence()),
        ]);
        match incident {
            Some((incident, judgement)) => cells.extend([
                Cell::text(&incident.id),
                Cell::text(judgement.verdict.as_str()),
                Cell::optional(judgement.reason.map(NoViolationReason::as_str)),
                Cell::Flag(judgement.established),
                Cell::list(&judgement.parties),
                Cell::list(&judgement.rules),
            ]),
            None => cells.extend([
                Cell::Absent,
                Cell::Absent,
                Cell::Absent,
                Cell::Absent,
                Cell::List(Vec::new()),
                Cell::List(Vec::new()),
            ]),
        }
    }
}

fn casualty_cells(casualties: truce_model::Casualties, cells: &mut Vec<Cell>) {
    cells.extend(
        [
            casualties.civilian_killed,
            casualties.civilian_injured,
            casualties.military_killed,
            casualties.military_injured,
            casualties.unspecified_killed,
        ]
        .map(|count| Cell::Integer(u64::from(count))),
    );
}

/// The distinct place names the members give, sorted.
pub(crate) fn incident_places(members: &[&Report]) -> Vec<String> {
    let mut places: Vec<String> = members
        .iter()
        .filter_map(|report| report.place())
        .map(str::to_string)
        .collect();
    places.sort();
    places.dedup();
    places
}

/// The distinct source ids of the members, sorted.
pub(crate) fn incident_sources(members: &[&Report]) -> Vec<String> {
    let mut sources: Vec<String> = members
        .iter()
        .map(|report| report.source.id.to_string())
        .collect();
    sources.sort();
    sources.dedup();
    sources
}

/// A country the exports can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Country {
    /// ISO 3166-1 alpha-2.
    pub(crate) alpha2: &'static str,
    /// ISO 3166-1 numeric (ACLED's `iso`).
    pub(crate) numeric: u16,
    /// The name ACLED uses.
    pub(crate) name: &'static str,
    /// ACLED's region.
    pub(crate) acled_region: &'static str,
}

/// The countries of the shipped geography.
const COUNTRIES: [Country; 2] = [
    Country {
        alpha2: "UA",
        numeric: 804,
        name: "Ukraine",
        acled_region: "Europe",
    },
    Country {
        alpha2: "RU",
        numeric: 643,
        name: "Russia",
        acled_region: "Europe",
    },
];

/// The country with this ISO 3166-1 alpha-2 code, when the exports know it.
pub(crate) fn country(alpha2: &str) -> Option<Country> {
    COUNTRIES
        .iter()
        .find(|country| country.alpha2.eq_ignore_ascii_case(alpha2))
        .copied()
}
