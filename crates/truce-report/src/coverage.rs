//! Observation coverage and access (section 6): the records, read from the log by the
//! caller or from a CSV file here, and the figures they give against the incidents.
//!
//! A record covers from its start up to, not including, its end (a record whose end is its
//! start covers that instant). Its area is an extent (west, south, east, north in degrees,
//! as the log keeps it) or a zone of the primary agreement. An incident is *observed* when
//! its time (the midpoint of its interval) and its estimated centre fall inside one
//! patrol, camera or drone record's time and area.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use geo::{BoundingRect, Intersects};
use geo_types::{Coord, MultiPolygon, Point, Polygon, Rect};
use truce_engine::adjudicate::Finding;
use truce_model::agreement::Agreement;

use crate::counting::is_prohibited_act;
use crate::error::{CoverageFileError, ReportError};
use crate::figures::{
    AccessDenials, AccessEvent, AreaCoverage, KindCoverage, ObservationCoverage, PartyCoverage,
};
use crate::geography::{Geography, OUTSIDE_REGIONS};
use crate::period::{DAY_MS, DayAxis, timestamp};

/// Milliseconds in an hour.
const HOUR_MS: f64 = 3_600_000.0;

/// What a coverage record records, in the log's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CoverageKind {
    /// A patrol's track.
    Patrol,
    /// A fixed camera's field of view.
    FixedCamera,
    /// A drone's flight.
    Drone,
    /// A party denied monitors access.
    AccessDenial,
    /// A party jammed the monitors' means (drones, radios, positioning).
    Jamming,
}

impl CoverageKind {
    /// Every kind, observation first.
    pub const ALL: [CoverageKind; 5] = [
        CoverageKind::Patrol,
        CoverageKind::FixedCamera,
        CoverageKind::Drone,
        CoverageKind::AccessDenial,
        CoverageKind::Jamming,
    ];

    /// The term: `patrol`, `fixed_camera`, `drone`, `access_denial`, `jamming`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            CoverageKind::Patrol => "patrol",
            CoverageKind::FixedCamera => "fixed_camera",
            CoverageKind::Drone => "drone",
            CoverageKind::AccessDenial => "access_denial",
            CoverageKind::Jamming => "jamming",
        }
    }

    /// The kind spelled `term`, exactly.
    #[must_use]
    pub fn parse(term: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == term)
    }

    /// Whether the record says monitors could see (patrol, camera, drone), rather than that
    /// they were kept from seeing.
    #[must_use]
    pub const fn observes(self) -> bool {
        matches!(
            self,
            CoverageKind::Patrol | CoverageKind::FixedCamera | CoverageKind::Drone
        )
    }
}

/// Where a coverage record applies.
#[derive(Debug, Clone, PartialEq)]
pub enum CoverageArea {
    /// A box in degrees, edges included.
    Extent {
        /// Western longitude.
        west: f64,
        /// Southern latitude.
        south: f64,
        /// Eastern longitude.
        east: f64,
        /// Northern latitude.
        north: f64,
    },
    /// A zone of the primary agreement, by id.
    Zone(String),
}

impl fmt::Display for CoverageArea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoverageArea::Extent {
                west,
                south,
                east,
                north,
            } => write!(f, "{west}, {south}, {east}, {north}"),
            CoverageArea::Zone(zone) => write!(f, "zone {zone}"),
        }
    }
}

/// One observation-coverage record or access denial.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageRecord {
    /// Its id.
    pub id: String,
    /// Who recorded it (a monitor's source id).
    pub observer: String,
    /// What it records.
    pub kind: CoverageKind,
    /// Start, Unix epoch milliseconds.
    pub start_ms: i64,
    /// End, Unix epoch milliseconds (not before the start).
    pub end_ms: i64,
    /// Where.
    pub area: CoverageArea,
    /// The party that denied access or jammed.
    pub restricted_by: Option<String>,
    /// Its log index, when read from a log.
    pub log_index: Option<u64>,
}

impl CoverageRecord {
    /// Whether the record's time holds `ms`: `[start, end)`, or the instant itself.
    fn holds_time(&self, ms: i64) -> bool {
        (self.start_ms <= ms && ms < self.end_ms) || ms == self.start_ms
    }
}

// ---------------------------------------------------------------------------------------
// The CSV file

/// The columns of a coverage file (`restricted_by` may be left out).
pub const COVERAGE_COLUMNS: [&str; 7] = [
    "coverage_id",
    "observer",
    "kind",
    "start",
    "end",
    "area",
    "restricted_by",
];

/// One problem of a coverage file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageProblem {
    /// The file name as given.
    pub file: String,
    /// 1-based line (the header is line 1).
    pub line: u64,
    /// The column at fault, if one is.
    pub column: Option<String>,
    /// The value as written.
    pub value: Option<String>,
    /// What is wrong, lower-case.
    pub reason: String,
}

impl fmt::Display for CoverageProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(column) = &self.column {
            write!(f, ": {column}")?;
        }
        if let Some(value) = &self.value {
            write!(f, " = {value:?}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Reads a coverage file: a header naming the [`COVERAGE_COLUMNS`] (any order;
/// `restricted_by` optional), then one record per row. `zones` are the zone ids an `area`
/// may name. Every problem of every row is returned at once, each with its line and
/// column; a file with any problem gives no records.
///
/// | column | value |
/// | --- | --- |
/// | `coverage_id` | unique in the file |
/// | `observer` | who recorded it |
/// | `kind` | `patrol`, `fixed_camera`, `drone`, `access_denial` or `jamming` |
/// | `start`, `end` | RFC 3339 instants with an offset; `end` not before `start` |
/// | `area` | `west south east north` in degrees (spaces or commas), or a zone id |
/// | `restricted_by` | the party, for `access_denial` and `jamming` only |
///
/// # Errors
///
/// [`CoverageFileError`] listing every problem.
pub fn parse_coverage_csv(
    file: &str,
    bytes: &[u8],
    zones: &[&str],
) -> Result<Vec<CoverageRecord>, CoverageFileError> {
    let mut problems = Vec::new();
    let problem = |problems: &mut Vec<CoverageProblem>,
                   line: u64,
                   column: Option<&str>,
                   value: Option<&str>,
                   reason: String| {
        problems.push(CoverageProblem {
            file: file.to_owned(),
            line,
            column: column.map(str::to_owned),
            value: value.map(|v| v.chars().take(200).collect()),
            reason,
        });
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: Vec<String> = match reader.headers() {
        Ok(header) => header.iter().map(str::to_owned).collect(),
        Err(error) => {
            problem(
                &mut problems,
                1,
                None,
                None,
                format!("the header cannot be read: {error}"),
            );
            return Err(CoverageFileError { problems });
        }
    };
    let mut at = [None; COVERAGE_COLUMNS.len()];
    for (position, name) in header.iter().enumerate() {
        match COVERAGE_COLUMNS.iter().position(|known| known == name) {
            Some(slot) if at[slot].is_none() => at[slot] = Some(position),
            Some(_) => problem(
                &mut problems,
                1,
                Some(name),
                None,
                "the column is named twice".to_owned(),
            ),
            None => problem(
                &mut problems,
                1,
                Some(name),
                None,
                format!(
                    "unknown column; the columns are {}",
                    COVERAGE_COLUMNS.join(", ")
                ),
            ),
        }
    }
    for (slot, name) in COVERAGE_COLUMNS.iter().enumerate() {
        if at[slot].is_none() && *name != "restricted_by" {
            problem(
                &mut problems,
                1,
                Some(name),
                None,
                "the column is missing".to_owned(),
            );
        }
    }
    if !problems.is_empty() {
        return Err(CoverageFileError { problems });
    }
    let mut records = Vec::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for row in reader.records() {
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                let line = error.position().map_or(0, csv::Position::line);
                problem(
                    &mut problems,
                    line,
                    None,
                    None,
                    format!("the row cannot be read: {error}"),
                );
                continue;
            }
        };
        let line = row.position().map_or(0, csv::Position::line);
        let field = |slot: usize| {
            at[slot]
                .and_then(|position| row.get(position))
                .unwrap_or("")
        };
        let before = problems.len();
        let id = field(0);
        if id.is_empty() {
            problem(
                &mut problems,
                line,
                Some("coverage_id"),
                None,
                "must not be empty".to_owned(),
            );
        } else if let Some(first) = seen.insert(id.to_owned(), line) {
            problem(
                &mut problems,
                line,
                Some("coverage_id"),
                Some(id),
                format!("already used on line {first}"),
            );
        }
        let observer = field(1);
        if observer.is_empty() {
            problem(
                &mut problems,
                line,
                Some("observer"),
                None,
                "must not be empty".to_owned(),
            );
        }
        let kind = CoverageKind::parse(field(2));
        if kind.is_none() {
            problem(
                &mut problems,
                line,
                Some("kind"),
                Some(field(2)),
                "expected patrol, fixed_camera, drone, access_denial or jamming".to_owned(),
            );
        }
        let mut instant = |slot: usize, name: &str| {
            let text = field(slot);
            match text.parse::<jiff::Timestamp>() {
                Ok(instant) => Some(instant.as_millisecond()),
                Err(_) => {
                    problem(&mut problems,
                        line,
                        Some(name),
                        Some(text),
                        "expected an RFC 3339 instant with an offset, e.g. 2025-03-12T06:00:00+02:00"
                            .to_owned(),
                    );
                    None
                }
            }
        };
        let start = instant(3, "start");
        let end = instant(4, "end");
        if let (Some(start), Some(end)) = (start, end)
            && end < start
        {
            problem(
                &mut problems,
                line,
                Some("end"),
                Some(field(4)),
                "the end is before the start".to_owned(),
            );
        }
        let area = match parse_area(field(5), zones) {
            Ok(area) => Some(area),
            Err(reason) => {
                problem(&mut problems, line, Some("area"), Some(field(5)), reason);
                None
            }
        };
        let restricted_by = Some(field(6)).filter(|party| !party.is_empty());
        if restricted_by.is_some() && kind.is_some_and(CoverageKind::observes) {
            problem(
                &mut problems,
                line,
                Some("restricted_by"),
                restricted_by,
                "a party restricts only access_denial and jamming records".to_owned(),
            );
        }
        if problems.len() > before {
            continue;
        }
        if let (Some(kind), Some(start_ms), Some(end_ms), Some(area)) = (kind, start, end, area) {
            records.push(CoverageRecord {
                id: id.to_owned(),
                observer: observer.to_owned(),
                kind,
                start_ms,
                end_ms,
                area,
                restricted_by: restricted_by.map(str::to_owned),
                log_index: None,
            });
        }
    }
    if problems.is_empty() {
        Ok(records)
    } else {
        Err(CoverageFileError { problems })
    }
}

/// `west south east north` (spaces or commas) or a zone id.
fn parse_area(text: &str, zones: &[&str]) -> Result<CoverageArea, String> {
    let parts: Vec<&str> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .collect();
    let numbers: Vec<f64> = parts.iter().filter_map(|p| p.parse().ok()).collect();
    if parts.len() == 4 && numbers.len() == 4 {
        let (west, south, east, north) = (numbers[0], numbers[1], numbers[2], numbers[3]);
        let lon = |v: f64| (-180.0..=180.0).contains(&v);
        let lat = |v: f64| (-90.0..=90.0).contains(&v);
        if !(lon(west) && lon(east) && lat(south) && lat(north)) || west > east || south > north {
            return Err(
                "an extent needs west ≤ east in -180..180 and south ≤ north in -90..90".to_owned(),
            );
        }
        return Ok(CoverageArea::Extent {
            west,
            south,
            east,
            north,
        });
    }
    match parts.as_slice() {
        [zone] if numbers.is_empty() => {
            if zones.contains(zone) {
                Ok(CoverageArea::Zone((*zone).to_owned()))
            } else if zones.is_empty() {
                Err(format!("unknown zone `{zone}`: the agreement has no zones"))
            } else {
                Err(format!(
                    "unknown zone `{zone}`; the agreement's zones are {}",
                    zones.join(", ")
                ))
            }
        }
        _ => Err(
            "expected `west south east north` in degrees, or a zone id of the agreement".to_owned(),
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Time: merged stretches, covered days

/// `[start, end)` stretches of the period, sorted and merged (an instant is a stretch of
/// length 0 that still touches its day).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Stretches(Vec<(i64, i64)>);

impl Stretches {
    /// The records' times cut to the period `[period.0, period.1)`, merged.
    pub(crate) fn of<'r>(
        records: impl IntoIterator<Item = &'r CoverageRecord>,
        period: (i64, i64),
    ) -> Self {
        let mut cut: Vec<(i64, i64)> = records
            .into_iter()
            .filter_map(|record| cut_to(record, period))
            .collect();
        cut.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(cut.len());
        for (start, end) in cut {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        Stretches(merged)
    }

    /// Hours inside, rounded to two decimals.
    pub(crate) fn hours(&self) -> f64 {
        let ms: i64 = self.0.iter().map(|(start, end)| end - start).sum();
        round_to(ms as f64 / HOUR_MS, 2)
    }

    /// Indexes of the days of `axis` they touch, ascending.
    pub(crate) fn days(&self, axis: &DayAxis) -> BTreeSet<usize> {
        let mut days = BTreeSet::new();
        for &(start, end) in &self.0 {
            let last = if end > start { end - 1 } else { start };
            if let (Some(first), Some(last)) = (axis.index_of(start), axis.index_of(last)) {
                days.extend(first..=last);
            }
        }
        days
    }
}

/// A record's time cut to the period, `None` when it lies outside.
fn cut_to(record: &CoverageRecord, (period_start, period_end): (i64, i64)) -> Option<(i64, i64)> {
    let start = record.start_ms.max(period_start);
    let end = record.end_ms.min(period_end);
    let instant_inside = record.start_ms == record.end_ms
        && record.start_ms >= period_start
        && record.start_ms < period_end;
    (end > start || instant_inside).then_some((start, end.max(start)))
}

fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// `100 · part / whole`, one decimal; `None` when `whole` is 0.
fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| round_to(100.0 * part as f64 / whole as f64, 1))
}

/// `count / days`, three decimals; `None` when there are no days.
fn rate(count: u64, days: f64) -> Option<f64> {
    (days > 0.0).then(|| round_to(count as f64 / days, 3))
}

// ---------------------------------------------------------------------------------------
// The plan and the tally

/// A record's area as geometry.
#[derive(Debug, Clone)]
enum Shape {
    Extent(Rect<f64>),
    Areas(MultiPolygon<f64>),
}

impl Shape {
    fn holds(&self, lon: f64, lat: f64) -> bool {
        match self {
            Shape::Extent(rect) => {
                let (min, max) = (rect.min(), rect.max());
                lon >= min.x && lon <= max.x && lat >= min.y && lat <= max.y
            }
            Shape::Areas(areas) => areas.intersects(&Point::new(lon, lat)),
        }
    }

    fn as_areas(&self) -> (MultiPolygon<f64>, Option<Rect<f64>>) {
        match self {
            Shape::Extent(rect) => (MultiPolygon(vec![Polygon::from(*rect)]), Some(*rect)),
            Shape::Areas(areas) => (areas.clone(), areas.bounding_rect()),
        }
    }
}

/// A record with its geometry and what it touches.
#[derive(Debug)]
struct Prepared<'a> {
    record: &'a CoverageRecord,
    shape: Shape,
    /// Indexes of the primary agreement's zones its area touches.
    zones: Vec<usize>,
    /// Region keys and names its area touches (the outside key when none).
    regions: Vec<(String, String)>,
    /// Whether it overlaps the period.
    in_period: bool,
}

/// The coverage records prepared for a report period: shapes, the zones and regions they
/// touch, and the observation records active on each day.
#[derive(Debug)]
pub(crate) struct CoveragePlan<'a> {
    records: Vec<Prepared<'a>>,
    /// Per day of the axis, the observation records active on it.
    by_day: Vec<Vec<usize>>,
    /// The primary agreement's zones: id, name, areas.
    zones: Vec<(String, String, Vec<MultiPolygon<f64>>)>,
    period: (i64, i64),
}

impl<'a> CoveragePlan<'a> {
    /// Prepares `records` for the period `[period.0, period.1)` of `axis`, with the zones
    /// of `agreement` (the primary one).
    pub(crate) fn new(
        records: &'a [CoverageRecord],
        agreement: &Agreement,
        geography: &Geography,
        axis: &DayAxis,
        period: (i64, i64),
    ) -> Result<Self, ReportError> {
        let zones: Vec<(String, String, Vec<MultiPolygon<f64>>)> = agreement
            .zones
            .iter()
            .map(|zone| {
                (
                    zone.id.to_string(),
                    zone.name.to_string(),
                    zone.areas.iter().map(|area| area.area.clone()).collect(),
                )
            })
            .collect();
        let mut prepared = Vec::with_capacity(records.len());
        let mut by_day = vec![Vec::new(); axis.dates.len()];
        for record in records {
            let shape = match &record.area {
                CoverageArea::Extent {
                    west,
                    south,
                    east,
                    north,
                } => Shape::Extent(Rect::new(
                    Coord {
                        x: *west,
                        y: *south,
                    },
                    Coord {
                        x: *east,
                        y: *north,
                    },
                )),
                CoverageArea::Zone(id) => {
                    let (_, _, areas) =
                        zones
                            .iter()
                            .find(|(known, _, _)| known == id)
                            .ok_or_else(|| ReportError::UnknownCoverageZone {
                                record: record.id.clone(),
                                zone: id.clone(),
                                agreement: agreement.id.clone(),
                            })?;
                    Shape::Areas(MultiPolygon(
                        areas
                            .iter()
                            .flat_map(|area| area.0.iter().cloned())
                            .collect(),
                    ))
                }
            };
            let (areas, bounds) = shape.as_areas();
            let touched_zones = zones
                .iter()
                .enumerate()
                .filter(|(_, (id, _, zone_areas))| {
                    matches!(&record.area, CoverageArea::Zone(named) if named == id)
                        || zone_areas
                            .iter()
                            .any(|zone_area| zone_area.intersects(&areas))
                })
                .map(|(index, _)| index)
                .collect();
            let mut regions: Vec<(String, String)> = match bounds {
                Some(bounds) => geography
                    .regions_touching(&areas, bounds)
                    .into_iter()
                    .map(|region| {
                        (
                            region.code.clone(),
                            format!("{} ({})", region.name, region.code),
                        )
                    })
                    .collect(),
                None => Vec::new(),
            };
            if regions.is_empty() {
                regions.push((
                    OUTSIDE_REGIONS.to_owned(),
                    "outside the mapped regions".to_owned(),
                ));
            }
            let cut = cut_to(record, period);
            if record.kind.observes()
                && let Some((start, end)) = cut
            {
                let last = if end > start { end - 1 } else { start };
                if let (Some(first), Some(last)) = (axis.index_of(start), axis.index_of(last)) {
                    for day in &mut by_day[first..=last] {
                        day.push(prepared.len());
                    }
                }
            }
            prepared.push(Prepared {
                record,
                shape,
                zones: touched_zones,
                regions,
                in_period: cut.is_some(),
            });
        }
        Ok(CoveragePlan {
            records: prepared,
            by_day,
            zones,
            period,
        })
    }

    /// Whether an incident at `at_ms` (a day of the axis) centred at `lon`, `lat` lies
    /// inside one observation record's time and area.
    pub(crate) fn observed(&self, day: Option<usize>, at_ms: i64, lon: f64, lat: f64) -> bool {
        day.and_then(|day| self.by_day.get(day))
            .is_some_and(|active| {
                active.iter().any(|&at| {
                    let prepared = &self.records[at];
                    prepared.record.holds_time(at_ms) && prepared.shape.holds(lon, lat)
                })
            })
    }

    /// The indexes of the zones holding a point.
    fn zones_at(&self, lon: f64, lat: f64) -> impl Iterator<Item = usize> + '_ {
        let point = Point::new(lon, lat);
        self.zones
            .iter()
            .enumerate()
            .filter(move |(_, (_, _, areas))| areas.iter().any(|area| area.intersects(&point)))
            .map(|(index, _)| index)
    }
}

/// Incidents and acts counted against coverage, one incident at a time.
#[derive(Debug)]
pub(crate) struct CoverageTally {
    incidents: u64,
    observed: u64,
    /// Per zone of the plan: incidents, observed.
    zones: Vec<(u64, u64)>,
    /// Region key → (name, incidents, observed).
    regions: BTreeMap<String, (String, u64, u64)>,
    /// All parties, then each party of the primary agreement: acts, observed acts.
    acts: Vec<(u64, u64)>,
    parties: Vec<String>,
}

impl CoverageTally {
    /// Nothing counted, for the plan's zones and the primary agreement's parties.
    pub(crate) fn new(plan: &CoveragePlan<'_>, agreement: &Agreement) -> Self {
        CoverageTally {
            incidents: 0,
            observed: 0,
            zones: vec![(0, 0); plan.zones.len()],
            regions: BTreeMap::new(),
            acts: vec![(0, 0); agreement.parties.len() + 1],
            parties: agreement.parties.iter().map(|p| p.id.to_string()).collect(),
        }
    }

    /// Counts one incident of the period: its day, time, centre, region (key and name),
    /// and its finding as a prohibited act or not (judged as the truce test judges).
    pub(crate) fn count(
        &mut self,
        plan: &CoveragePlan<'_>,
        day: Option<usize>,
        at_ms: i64,
        (lon, lat): (f64, f64),
        region: (String, String),
        act: &Finding,
    ) {
        let observed = plan.observed(day, at_ms, lon, lat);
        let seen = u64::from(observed);
        self.incidents += 1;
        self.observed += seen;
        for zone in plan.zones_at(lon, lat) {
            self.zones[zone].0 += 1;
            self.zones[zone].1 += seen;
        }
        let (key, name) = region;
        let entry = self.regions.entry(key).or_insert((name, 0, 0));
        entry.1 += 1;
        entry.2 += seen;
        if is_prohibited_act(act.verdict) {
            self.acts[0].0 += 1;
            self.acts[0].1 += seen;
            for (slot, party) in self.parties.iter().enumerate() {
                if act.parties.iter().any(|named| named == party) {
                    self.acts[slot + 1].0 += 1;
                    self.acts[slot + 1].1 += seen;
                }
            }
        }
    }
}

/// What coverage says to the caveat and the statement.
pub(crate) const COVERAGE_CAVEAT: &str = "A covered day is a calendar day on which some \
patrol, camera or drone record was active for any part of it: an hour of patrol makes a \
covered day. An incident counts as observed when its time and estimated centre fall inside \
one record's time and area; areas are the boxes (or zones) the records give, wider than what \
was actually in view. Rates per covered day divide the observed acts by the covered days: \
they describe what monitors could see, not the whole period, and acts reported outside \
coverage (by the parties, the media) are not less real for it. Where nothing was covered, \
no recorded violation means nobody could see, not that nothing happened. Coverage is what \
the monitors recorded, not every observation made.";

/// Section 6 from the plan and the tally: the observation figures and each party's
/// denials. `axis` holds the report's days.
pub(crate) fn coverage_figures(
    plan: &CoveragePlan<'_>,
    tally: CoverageTally,
    axis: &DayAxis,
) -> Result<(ObservationCoverage, Vec<AccessDenials>), ReportError> {
    let period = plan.period;
    let period_days = (period.1 - period.0) as f64 / DAY_MS as f64;
    let observing =
        |prepared: &&Prepared<'_>| prepared.record.kind.observes() && prepared.in_period;
    let all = Stretches::of(
        plan.records.iter().filter(observing).map(|p| p.record),
        period,
    );
    let covered_days = all.days(axis).len() as u64;
    let by_kind = CoverageKind::ALL
        .into_iter()
        .filter(|kind| kind.observes())
        .map(|kind| {
            let of_kind: Vec<&CoverageRecord> = plan
                .records
                .iter()
                .filter(observing)
                .filter(|p| p.record.kind == kind)
                .map(|p| p.record)
                .collect();
            let stretches = Stretches::of(of_kind.iter().copied(), period);
            KindCoverage {
                kind: kind.as_str().to_owned(),
                records: of_kind.len() as u64,
                covered_days: stretches.days(axis).len() as u64,
                covered_hours: stretches.hours(),
            }
        })
        .collect();
    let covered_days_f = covered_days as f64;
    let by_party = tally
        .acts
        .iter()
        .enumerate()
        .map(|(slot, &(acts, observed))| PartyCoverage {
            party: slot.checked_sub(1).map(|p| tally.parties[p].clone()),
            acts,
            acts_observed: observed,
            observed_percent: percent(observed, acts),
            per_day: rate(acts, period_days),
            per_covered_day: rate(observed, covered_days_f),
        })
        .collect();

    let area_row = |area: &str,
                    key: &str,
                    name: &str,
                    touching: Vec<&CoverageRecord>,
                    (incidents, observed): (u64, u64)| {
        let stretches = Stretches::of(touching.iter().copied(), period);
        let days = stretches.days(axis).len() as u64;
        AreaCoverage {
            area: area.to_owned(),
            key: key.to_owned(),
            name: name.to_owned(),
            records: touching.len() as u64,
            covered_days: days,
            covered_hours: stretches.hours(),
            incidents,
            incidents_observed: observed,
            observed_percent: percent(observed, incidents),
            per_covered_day: rate(observed, days as f64),
        }
    };
    let mut by_area = Vec::new();
    for (index, (id, name, _)) in plan.zones.iter().enumerate() {
        let touching = plan
            .records
            .iter()
            .filter(observing)
            .filter(|p| p.zones.contains(&index))
            .map(|p| p.record)
            .collect();
        by_area.push(area_row("zone", id, name, touching, tally.zones[index]));
    }
    let mut regions: BTreeMap<String, (String, u64, u64)> = tally.regions;
    for prepared in plan.records.iter().filter(observing) {
        for (key, name) in &prepared.regions {
            regions
                .entry(key.clone())
                .or_insert_with(|| (name.clone(), 0, 0));
        }
    }
    let mut region_rows: Vec<AreaCoverage> = regions
        .into_iter()
        .map(|(key, (name, incidents, observed))| {
            let touching = plan
                .records
                .iter()
                .filter(observing)
                .filter(|p| p.regions.iter().any(|(code, _)| *code == key))
                .map(|p| p.record)
                .collect();
            area_row("region", &key, &name, touching, (incidents, observed))
        })
        .collect();
    // Outside the mapped regions last.
    region_rows.sort_by_key(|row| row.key == OUTSIDE_REGIONS);
    by_area.extend(region_rows);

    let observation = ObservationCoverage {
        period_days: round_to(period_days, 3),
        covered_days,
        covered_hours: all.hours(),
        by_kind,
        incidents: tally.incidents,
        incidents_observed: tally.observed,
        observed_percent: percent(tally.observed, tally.incidents),
        by_party,
        by_area,
        records_outside_period: plan.records.iter().filter(|p| !p.in_period).count() as u64,
        caveat: COVERAGE_CAVEAT.to_owned(),
    };

    // Access: the denial and jamming records of the period, per party named.
    let mut by_party: BTreeMap<(usize, Option<String>), Vec<&Prepared<'_>>> = BTreeMap::new();
    for prepared in plan
        .records
        .iter()
        .filter(|p| !p.record.kind.observes() && p.in_period)
    {
        let party = prepared.record.restricted_by.clone();
        // The primary agreement's parties in its order, then others by name, then none.
        let rank = match &party {
            Some(name) => tally
                .parties
                .iter()
                .position(|known| known == name)
                .unwrap_or(tally.parties.len()),
            None => tally.parties.len() + 1,
        };
        by_party.entry((rank, party)).or_default().push(prepared);
    }
    let mut access = Vec::new();
    for ((_, party), mut records) in by_party {
        records.sort_by(|a, b| {
            (a.record.start_ms, &a.record.id).cmp(&(b.record.start_ms, &b.record.id))
        });
        let stretches = Stretches::of(records.iter().map(|p| p.record), period);
        let dates = stretches
            .days(axis)
            .into_iter()
            .filter_map(|day| axis.dates.get(day).copied())
            .collect();
        let events = records
            .iter()
            .map(|p| {
                Ok(AccessEvent {
                    id: p.record.id.clone(),
                    kind: p.record.kind.as_str().to_owned(),
                    observer: p.record.observer.clone(),
                    start: timestamp(p.record.start_ms, "a coverage record's start")?,
                    end: timestamp(p.record.end_ms, "a coverage record's end")?,
                    area: p.record.area.to_string(),
                    regions: p.regions.iter().map(|(_, name)| name.clone()).collect(),
                    log_index: p.record.log_index,
                })
            })
            .collect::<Result<_, ReportError>>()?;
        access.push(AccessDenials {
            party,
            denials: count_kind(&records, CoverageKind::AccessDenial),
            jamming: count_kind(&records, CoverageKind::Jamming),
            hours: stretches.hours(),
            dates,
            events,
        });
    }
    Ok((observation, access))
}

fn count_kind(records: &[&Prepared<'_>], kind: CoverageKind) -> u64 {
    records.iter().filter(|p| p.record.kind == kind).count() as u64
}

/// The statement of section 6 when records were given: how many, of which kinds, from
/// where (`origin`: ` from the log`, ` from the file F` or empty).
pub(crate) fn statement(records: &[CoverageRecord], origin: &str) -> String {
    let observing = records.iter().filter(|r| r.kind.observes()).count();
    let denying = records.len() - observing;
    let mut text = format!(
        "{} coverage records{origin}: {observing} of observation (patrols, fixed cameras, \
         drones) and {denying} of denied access or jamming.",
        records.len()
    );
    if observing == 0 {
        text.push_str(
            " No patrol, camera or drone record was given: nothing shows that monitors could \
             see any place at any time of the period, so fewer recorded incidents cannot be \
             told from less observation.",
        );
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use jiff::tz::TimeZone;

    use super::*;
    use crate::period::Calendar;

    fn ms(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    fn record(id: &str, kind: CoverageKind, start: &str, end: &str) -> CoverageRecord {
        CoverageRecord {
            id: id.to_owned(),
            observer: "mon".to_owned(),
            kind,
            start_ms: ms(start),
            end_ms: ms(end),
            area: CoverageArea::Extent {
                west: 36.0,
                south: 49.0,
                east: 37.0,
                north: 50.5,
            },
            restricted_by: None,
            log_index: None,
        }
    }

    fn axis(start: &str, end: &str) -> DayAxis {
        Calendar::new(TimeZone::UTC)
            .days(ms(start), ms(end))
            .unwrap()
    }

    #[test]
    fn stretches_merge_overlaps_and_count_hours_and_days_by_hand() {
        let period = (ms("2025-03-10T00:00:00Z"), ms("2025-03-14T00:00:00Z"));
        let days = axis("2025-03-10T00:00:00Z", "2025-03-14T00:00:00Z");
        let records = [
            // 10 March 22:00 – 11 March 02:00: 4 hours over two days.
            record(
                "a",
                CoverageKind::Patrol,
                "2025-03-10T22:00:00Z",
                "2025-03-11T02:00:00Z",
            ),
            // Overlaps a by one hour: adds 1 hour (02:00–03:00).
            record(
                "b",
                CoverageKind::Drone,
                "2025-03-11T01:00:00Z",
                "2025-03-11T03:00:00Z",
            ),
            // An instant on 13 March: no hours, one day.
            record(
                "c",
                CoverageKind::Patrol,
                "2025-03-13T12:00:00Z",
                "2025-03-13T12:00:00Z",
            ),
            // Ends exactly at 12 March 00:00: does not touch 12 March.
            record(
                "d",
                CoverageKind::Patrol,
                "2025-03-11T23:00:00Z",
                "2025-03-12T00:00:00Z",
            ),
            // Before the period: cut away.
            record(
                "e",
                CoverageKind::Patrol,
                "2025-03-01T00:00:00Z",
                "2025-03-02T00:00:00Z",
            ),
        ];
        let stretches = Stretches::of(&records, period);
        assert_eq!(stretches.hours(), 6.0);
        assert_eq!(
            stretches.days(&days).into_iter().collect::<Vec<_>>(),
            [0, 1, 3]
        );
        // Running past the period's end is cut at it.
        let long = [record(
            "f",
            CoverageKind::Patrol,
            "2025-03-13T18:00:00Z",
            "2025-03-20T00:00:00Z",
        )];
        let cut = Stretches::of(&long, period);
        assert_eq!(cut.hours(), 6.0);
        assert_eq!(cut.days(&days).into_iter().collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn zero_coverage_zero_days_and_one_day_give_no_nan() {
        // Nothing covered.
        let period = (ms("2025-03-10T00:00:00Z"), ms("2025-03-11T00:00:00Z"));
        let one_day = axis("2025-03-10T00:00:00Z", "2025-03-11T00:00:00Z");
        let none = Stretches::of(&[], period);
        assert_eq!(none.hours(), 0.0);
        assert!(none.days(&one_day).is_empty());
        assert_eq!(rate(3, 0.0), None);
        assert_eq!(percent(0, 0), None);
        // An empty period: no days at all, and a record inside nothing.
        let empty = (period.0, period.0);
        let inside = [record(
            "a",
            CoverageKind::Patrol,
            "2025-03-10T00:00:00Z",
            "2025-03-10T06:00:00Z",
        )];
        let cut = Stretches::of(&inside, empty);
        assert_eq!(cut.hours(), 0.0);
        assert!(cut.days(&DayAxis::default()).is_empty());
        // A single day, six hours covered: 1 covered day, 2 acts in it → 2 per covered day.
        let single = Stretches::of(&inside, period);
        assert_eq!(single.hours(), 6.0);
        assert_eq!(single.days(&one_day).len(), 1);
        assert_eq!(rate(2, 1.0), Some(2.0));
        assert_eq!(rate(1, 3.0), Some(0.333));
        assert_eq!(percent(1, 3), Some(33.3));
    }

    #[test]
    fn a_record_holds_its_start_up_to_its_end() {
        let r = record(
            "a",
            CoverageKind::Patrol,
            "2025-03-10T00:00:00Z",
            "2025-03-10T06:00:00Z",
        );
        assert!(r.holds_time(ms("2025-03-10T00:00:00Z")));
        assert!(r.holds_time(ms("2025-03-10T05:59:59Z")));
        assert!(!r.holds_time(ms("2025-03-10T06:00:00Z")));
        let instant = record(
            "i",
            CoverageKind::Patrol,
            "2025-03-10T00:00:00Z",
            "2025-03-10T00:00:00Z",
        );
        assert!(instant.holds_time(ms("2025-03-10T00:00:00Z")));
        assert!(!instant.holds_time(ms("2025-03-10T00:00:01Z")));
    }

    const HEADER: &str = "coverage_id,observer,kind,start,end,area,restricted_by";

    #[test]
    fn a_good_file_reads_extents_and_zones() {
        let text = format!(
            "{HEADER}\n\
             p1,mon,patrol,2025-03-12T06:00:00+02:00,2025-03-12T18:00:00+02:00,36.5 47.5 37.5 48.5,\n\
             d1,mon,access_denial,2025-03-14T08:00:00Z,2025-03-14T09:00:00Z,\"37.4,48.4,37.6,48.6\",RU\n\
             c1,mon,fixed_camera,2025-03-12T00:00:00Z,2025-03-13T00:00:00Z,front,\n"
        );
        let records = parse_coverage_csv("coverage.csv", text.as_bytes(), &["front"]).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].start_ms, ms("2025-03-12T04:00:00Z"));
        assert_eq!(
            records[1].area,
            CoverageArea::Extent {
                west: 37.4,
                south: 48.4,
                east: 37.6,
                north: 48.6
            }
        );
        assert_eq!(records[1].restricted_by.as_deref(), Some("RU"));
        assert_eq!(records[2].area, CoverageArea::Zone("front".to_owned()));
        // Columns in any order, restricted_by left out.
        let reordered = "kind,coverage_id,observer,area,start,end\n\
                         drone,x,mon,1 2 3 4,2025-03-12T00:00:00Z,2025-03-12T01:00:00Z\n";
        let records = parse_coverage_csv("c.csv", reordered.as_bytes(), &[]).unwrap();
        assert_eq!(records[0].kind, CoverageKind::Drone);
    }

    #[test]
    fn bad_rows_are_named_by_file_line_and_column() {
        let text = format!(
            "{HEADER}\n\
             p1,mon,patrl,2025-03-12T06:00:00Z,2025-03-12T18:00:00Z,36.5 47.5 37.5 48.5,\n\
             p2,mon,patrol,2025-03-12 06:00,2025-03-12T18:00:00Z,front,\n\
             p3,mon,patrol,2025-03-12T18:00:00Z,2025-03-12T06:00:00Z,37.5 47.5 36.5 48.5,\n\
             p1,,drone,2025-03-12T06:00:00Z,2025-03-12T07:00:00Z,rear,RU\n"
        );
        let error = parse_coverage_csv("cov.csv", text.as_bytes(), &["front"]).unwrap_err();
        let lines: Vec<String> = error.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "cov.csv:2: kind = \"patrl\": expected patrol, fixed_camera, drone, access_denial or jamming",
                "cov.csv:3: start = \"2025-03-12 06:00\": expected an RFC 3339 instant with an offset, e.g. 2025-03-12T06:00:00+02:00",
                "cov.csv:4: end = \"2025-03-12T06:00:00Z\": the end is before the start",
                "cov.csv:4: area = \"37.5 47.5 36.5 48.5\": an extent needs west ≤ east in -180..180 and south ≤ north in -90..90",
                "cov.csv:5: coverage_id = \"p1\": already used on line 2",
                "cov.csv:5: observer: must not be empty",
                "cov.csv:5: area = \"rear\": unknown zone `rear`; the agreement's zones are front",
                "cov.csv:5: restricted_by = \"RU\": a party restricts only access_denial and jamming records",
            ]
        );
        let header = parse_coverage_csv("h.csv", b"coverage_id,who,kind\n", &[]).unwrap_err();
        let lines: Vec<String> = header.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines[0],
            "h.csv:1: who: unknown column; the columns are coverage_id, observer, kind, start, end, area, restricted_by"
        );
        assert!(lines.contains(&"h.csv:1: observer: the column is missing".to_owned()));
        let short = format!("{HEADER}\np1,mon,patrol\n");
        let error = parse_coverage_csv("s.csv", short.as_bytes(), &[]).unwrap_err();
        assert_eq!(error.problems[0].line, 2, "{error}");
    }
}
