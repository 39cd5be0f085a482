//! Corroboration: grouping reports that describe the same event into incidents.
//!
//! Every report ends up in exactly one [`Incident`]; a report nobody corroborates is an
//! incident of its own. The grouping is a constrained agglomerative clustering, built so that
//! it cannot chain: a town shelled two hundred times in a day gives many incidents, not one.
//!
//! # Parameters
//! [`CorroborationParams`]:
//! - `max_distance_m` (default 5 000 m) and `max_time_gap_s` (default 5 400 s): two reports can
//!   be linked only if their points are at most this far apart (geodesic, WGS84) and their time
//!   intervals at most this far apart (0 when they overlap).
//! - `uncertainty_factor` `k` (default 1) and `link_slack_m` `c` (default 0 m): the distance
//!   limit of a pair is tightened to `min(max_distance_m, k·(r₁ + r₂) + c)`, `r` being the
//!   reports' uncertainty radii floored at 50 m. With the defaults, two reports can describe
//!   one event only if their uncertainty disks meet: two precise reports 2 km apart are two
//!   events, two reports placed "somewhere in town" 2 km apart may be one. Raise `k` or `c`
//!   for sources known to understate their uncertainty.
//! - `max_extent_m` (default 5 000 m) and `max_duration_s` (default 7 200 s) bound a whole
//!   incident: no two members further apart than `max_extent_m`, and a window of at most
//!   `max_duration_s` that meets every member's interval (`max(starts) − min(ends)`).
//!
//! # Returns
//! The incidents sorted by id (`inc-` + smallest member report id), members as ascending
//! indices into the given slice. The result depends only on the *set* of reports: the input is
//! expected in [`canonical_order`] (so that indices are canonical), and no step depends on the
//! input order, on hashing or on the number of threads.
//!
//! # Algorithm
//! 1. **Candidate links.** Two reports `a`, `b` are *linkable* when they come from different
//!    sources (a source does not corroborate itself), their actions are
//!    [compatible](truce_model::ActionType::compatible), their time intervals are within
//!    `max_time_gap_s`, and their points within the pair's distance limit above (and within
//!    `max_extent_m`). Linkable pairs are found with a grid: latitude rows and longitude
//!    columns at least `min(max_distance_m, max_extent_m)` wide everywhere in the data (the
//!    column width is set for the highest latitude present), reports sorted by (cell, start
//!    time); each cell is swept against itself and its four "forward" neighbours in start-time
//!    order, stopping once a start lies beyond the other report's end plus the time gap. The
//!    exact test runs only on those candidates.
//! 2. **Components.** The linkable pairs form a graph; its connected components are
//!    independent and are processed in parallel (rayon), their groups concatenated and sorted,
//!    so the thread count never shows in the result.
//! 3. **Constrained merging.** Within a component, links are taken in increasing order of a
//!    normalised space–time distance
//!    `(d / (√(r₁² + r₂²) + 250 m))² + (Δt / 900 s)²` (`Δt` the gap between the intervals),
//!    ties broken by the two report ids. Each link proposes to merge the two groups holding
//!    its reports (every report starts as its own group). The merge happens only if **every**
//!    pair across the two groups is linkable (complete linkage: different sources, compatible
//!    actions, within the time gap and the pair's distance limit, within `max_extent_m`) and the
//!    merged group's time window fits in `max_duration_s`. A chain A–B–C where A and C are too
//!    far apart therefore never closes, whatever the order.
//! 4. **Derivation.** Each group becomes an [`Incident`] ([`Incident::from_members`] documents
//!    the derived fields).
//!
//! # Distances
//! Pair distances are geodesic on WGS84. For speed a symmetric equirectangular estimate (radii
//! of curvature averaged over the two points) decides first; whenever the estimate is within
//! [`APPROX_REL_ERROR`]` · d + `[`APPROX_ABS_ERROR_M`] of a limit, beyond
//! [`APPROX_MAX_DISTANCE_M`], or a point lies beyond [`APPROX_MAX_ABS_LAT`], the exact geodesic
//! ([`geodesic_distance_m`]) decides. The estimate only orders links, where no exactness is
//! needed.
//!
//! # Caveats
//! - The result is a heuristic partition: links are greedy, and a report that fits two events
//!   equally well joins the one whose link comes first in the fixed order.
//! - Complete linkage is strict: an event whose reports scatter wider than the pair limit is
//!   split into several incidents rather than risk merging two events.
//! - Reports with no usable position (latitude outside ±90°, non-finite coordinates) are never
//!   linked. A negative or NaN uncertainty radius reads as 0; a reversed interval as the same
//!   interval in order.
//! - Very wide intervals (a whole day) scan every report of their cell and neighbours in that
//!   window; a grid set for high latitudes is coarse at low ones (one column width for all the
//!   data); data within a cell of a pole uses whole-latitude rows.
//! - Invalid parameters (see [`CorroborationParams::validate`]) link nothing: every report is
//!   then its own incident.
//!
//! The scheme follows the classic constrained agglomerative (complete-linkage) clustering, with
//! "cannot-link" constraints for same-source pairs as in Wagstaff et al., *Constrained k-means
//! clustering with background knowledge* (ICML 2001), and a grid-based neighbour search as in
//! Ester et al., *A density-based algorithm for discovering clusters* (KDD 1996).

use std::cmp::Ordering;
use std::f64::consts::{PI, TAU};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use truce_model::{ActionType, Report};

use crate::geodesy::{
    APPROX_ABS_ERROR_M, APPROX_MAX_ABS_LAT, APPROX_MAX_DISTANCE_M, APPROX_REL_ERROR,
    MIN_MERIDIONAL_RADIUS_M, geodesic_distance_m,
};
use crate::incident::{self, Incident, clean_radius, metres_per_radian, ordered_span};

/// The rules by which reports are grouped into incidents; see the [module docs](self).
///
/// Deserializes from an agreement's `[corroboration]` table; missing keys take their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CorroborationParams {
    /// Largest distance between two linked reports, metres (default 5 000).
    pub max_distance_m: f64,
    /// Largest gap between the time intervals of two linked reports, seconds (default 5 400).
    pub max_time_gap_s: i64,
    /// Largest distance between any two members of one incident, metres (default 5 000).
    pub max_extent_m: f64,
    /// Largest window needed to meet every member's interval, seconds (default 7 200).
    pub max_duration_s: i64,
    /// `k` in the pair distance limit `min(max_distance_m, k·(r₁ + r₂) + c)` (default 1).
    pub uncertainty_factor: f64,
    /// `c` in the pair distance limit, metres (default 0).
    pub link_slack_m: f64,
}

impl Default for CorroborationParams {
    fn default() -> Self {
        CorroborationParams {
            max_distance_m: 5_000.0,
            max_time_gap_s: 5_400,
            max_extent_m: 5_000.0,
            max_duration_s: 7_200,
            uncertainty_factor: 1.0,
            link_slack_m: 0.0,
        }
    }
}

impl From<&truce_model::agreement::CorroborationPolicy> for CorroborationParams {
    fn from(policy: &truce_model::agreement::CorroborationPolicy) -> Self {
        CorroborationParams {
            max_distance_m: policy.max_distance_m,
            max_time_gap_s: policy.max_time_gap_s,
            max_extent_m: policy.max_extent_m,
            max_duration_s: policy.max_duration_s,
            ..CorroborationParams::default()
        }
    }
}

/// A corroboration parameter out of its domain.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    /// A distance or factor that must be a finite positive number is not.
    #[error("corroboration parameter `{name}` must be a finite positive number, is {value}")]
    NotPositive {
        /// The parameter's name.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// A distance or factor that must be a finite non-negative number is not.
    #[error("corroboration parameter `{name}` must be a finite number ≥ 0, is {value}")]
    Negative {
        /// The parameter's name.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// A duration that must be positive is not.
    #[error("corroboration parameter `{name}` must be positive, is {value}")]
    NotPositiveDuration {
        /// The parameter's name.
        name: &'static str,
        /// Its value.
        value: i64,
    },
}

impl CorroborationParams {
    /// Checks every parameter's domain: distances finite and positive, durations positive,
    /// `uncertainty_factor` and `link_slack_m` finite and non-negative.
    pub fn validate(&self) -> Result<(), ParamsError> {
        for (name, value) in [
            ("max_distance_m", self.max_distance_m),
            ("max_extent_m", self.max_extent_m),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(ParamsError::NotPositive { name, value });
            }
        }
        for (name, value) in [
            ("uncertainty_factor", self.uncertainty_factor),
            ("link_slack_m", self.link_slack_m),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(ParamsError::Negative { name, value });
            }
        }
        for (name, value) in [
            ("max_time_gap_s", self.max_time_gap_s),
            ("max_duration_s", self.max_duration_s),
        ] {
            if value <= 0 {
                return Err(ParamsError::NotPositiveDuration { name, value });
            }
        }
        Ok(())
    }
}

/// Sorts reports into the canonical order [`corroborate`] expects: by id. Ids are expected to
/// be unique (the caller removes duplicates first); reports sharing an id keep their relative
/// order.
pub fn canonical_order(reports: &mut [Report]) {
    reports.par_sort_by(|a, b| a.id.cmp(&b.id));
}

/// Groups `reports` (in [`canonical_order`]) into incidents; see the [module docs](self).
///
/// Every report is a member of exactly one incident; incidents are sorted by id.
pub fn corroborate(reports: &[Report], params: &CorroborationParams) -> Vec<Incident> {
    let groups = if params.validate().is_ok() && reports.len() < u32::MAX as usize {
        group_reports(reports, params)
    } else {
        (0..reports.len() as u32).map(|i| vec![i]).collect()
    };
    let mut incidents: Vec<Incident> = groups
        .into_par_iter()
        .map(|members| incident::derive(reports, members))
        .collect();
    // Groups come sorted by smallest member index, which is id order for canonical input;
    // sort only when the caller's order was not canonical.
    if !incidents.is_sorted_by(|a, b| a.id <= b.id) {
        incidents.par_sort_by(|a, b| a.id.cmp(&b.id));
    }
    incidents
}

/// The smallest uncertainty radius the link rule uses, metres: two "exact" reports a few
/// metres apart still meet.
const MIN_LINK_RADIUS_M: f64 = 50.0;
/// The smallest cell size the grid allows, metres.
const MIN_CELL_M: f64 = 1.0;
/// Distance scale of the link order, metres, added to the pair's combined uncertainty.
const ORDER_DISTANCE_SCALE_M: f64 = 250.0;
/// Time scale of the link order, seconds.
const ORDER_TIME_SCALE_S: f64 = 900.0;

/// What the pair tests need of a report, precomputed once (kept small: the candidate search
/// streams through these in grid order).
#[derive(Debug, Clone, Copy)]
struct Point {
    lon_rad: f64,
    lat_rad: f64,
    /// Metres per radian east (`N cos φ`).
    east_per_rad: f64,
    /// Metres per radian north (`M`).
    north_per_rad: f64,
    /// Uncertainty radius, floored at [`MIN_LINK_RADIUS_M`].
    radius_m: f64,
    start_ms: i64,
    end_ms: i64,
    /// The report's index.
    report: u32,
    /// The source, numbered for equality tests only.
    source: u32,
    /// The action's position in the vocabulary.
    action: u8,
    /// Whether the position is usable at all.
    valid: bool,
    /// Whether the point is too near a pole for the estimate.
    polar: bool,
}

impl Point {
    fn new(report: &Report, report_idx: u32, source: u32) -> Point {
        let lon_deg = report.location.lon;
        let lat_deg = report.location.lat;
        let valid = lon_deg.is_finite() && lat_deg.is_finite() && lat_deg.abs() <= 90.0;
        let lon_rad = if valid {
            incident::wrap_degrees(lon_deg).to_radians()
        } else {
            0.0
        };
        let lat_rad = if valid { lat_deg.to_radians() } else { 0.0 };
        let (east_per_rad, north_per_rad) = metres_per_radian(lat_rad);
        let (start_ms, end_ms) = ordered_span(report.time);
        Point {
            lon_rad,
            lat_rad,
            east_per_rad,
            north_per_rad,
            radius_m: clean_radius(report.location.uncertainty_m).max(MIN_LINK_RADIUS_M),
            start_ms,
            end_ms,
            report: report_idx,
            source,
            action: report.action as u8,
            valid,
            polar: lat_deg.abs() > APPROX_MAX_ABS_LAT,
        }
    }

    fn lon_deg(&self) -> f64 {
        self.lon_rad.to_degrees()
    }

    fn lat_deg(&self) -> f64 {
        self.lat_rad.to_degrees()
    }
}

/// Parameters in the units the pair tests use.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_distance_m: f64,
    time_gap_ms: i64,
    duration_ms: i64,
    uncertainty_factor: f64,
    link_slack_m: f64,
}

/// Everything the pair tests read.
struct Context<'a> {
    reports: &'a [Report],
    points: Vec<Point>,
    limits: Limits,
    /// `compatible[a]` has bit `b` set when actions `a` and `b` are compatible.
    compatible: Vec<u32>,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("n_reports", &self.reports.len())
            .field("limits", &self.limits)
            .finish()
    }
}

/// A linkable pair of reports (`lo < hi` by index).
#[derive(Debug, Clone, Copy)]
struct Link {
    score: f64,
    lo: u32,
    hi: u32,
}

impl<'a> Context<'a> {
    fn new(reports: &'a [Report], params: &CorroborationParams) -> Self {
        // Sources numbered by their rank among the distinct source ids (few, so a sorted list
        // and a binary search per report).
        let distinct: Vec<&str> = reports
            .par_chunks(4096)
            .map(|chunk| {
                let mut ids: Vec<&str> = Vec::new();
                let mut last: Option<&str> = None;
                for report in chunk {
                    let id = report.source.id.as_str();
                    if last != Some(id) {
                        if let Err(pos) = ids.binary_search(&id) {
                            ids.insert(pos, id);
                        }
                        last = Some(id);
                    }
                }
                ids
            })
            .reduce(Vec::new, |mut a, b| {
                a.extend(b);
                a.sort_unstable();
                a.dedup();
                a
            });
        let sources: Vec<u32> = reports
            .par_iter()
            .map(|report| {
                distinct
                    .binary_search(&report.source.id.as_str())
                    .map_or(u32::MAX, |rank| rank as u32)
            })
            .collect();
        let points: Vec<Point> = reports
            .par_iter()
            .zip(sources.par_iter())
            .enumerate()
            .map(|(i, (report, &source))| Point::new(report, i as u32, source))
            .collect();
        let compatible = ActionType::ALL
            .iter()
            .map(|a| {
                ActionType::ALL
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| a.compatible(**b))
                    .fold(0u32, |mask, (i, _)| mask | (1 << i))
            })
            .collect();
        Context {
            reports,
            points,
            limits: Limits {
                max_distance_m: params.max_distance_m.min(params.max_extent_m),
                time_gap_ms: params.max_time_gap_s.saturating_mul(1000),
                duration_ms: params.max_duration_s.saturating_mul(1000),
                uncertainty_factor: params.uncertainty_factor,
                link_slack_m: params.link_slack_m,
            },
            compatible,
        }
    }

    /// Whether two reports (by index) can be linked.
    fn linkable(&self, a: u32, b: u32) -> bool {
        self.pair_distance(&self.points[a as usize], &self.points[b as usize])
            .is_some()
    }

    /// Whether two points can be linked; if so, the (estimated) distance between them.
    fn pair_distance(&self, p: &Point, q: &Point) -> Option<f64> {
        if !(p.valid && q.valid) || p.source == q.source {
            return None;
        }
        if interval_gap_ms(p, q) > self.limits.time_gap_ms {
            return None;
        }
        if self.compatible[p.action as usize] & (1 << q.action) == 0 {
            return None;
        }
        let limit = self.limits.max_distance_m.min(
            self.limits.uncertainty_factor * (p.radius_m + q.radius_m) + self.limits.link_slack_m,
        );
        within(self.reports, p, q, limit)
    }

    /// The largest distance any pair may be linked at.
    fn reach_m(&self) -> f64 {
        let max_radius = self
            .points
            .iter()
            .filter(|p| p.valid)
            .map(|p| p.radius_m)
            .fold(MIN_LINK_RADIUS_M, f64::max);
        self.limits.max_distance_m.min(
            self.limits.uncertainty_factor * 2.0 * max_radius + self.limits.link_slack_m,
        )
    }

    /// A link between two points if they are linkable.
    fn link(&self, p: &Point, q: &Point) -> Option<Link> {
        let distance_m = self.pair_distance(p, q)?;
        let distance_scale =
            (p.radius_m * p.radius_m + q.radius_m * q.radius_m).sqrt() + ORDER_DISTANCE_SCALE_M;
        let space = distance_m / distance_scale;
        let time = interval_gap_ms(p, q) as f64 / (ORDER_TIME_SCALE_S * 1000.0);
        Some(Link {
            score: space * space + time * time,
            lo: p.report.min(q.report),
            hi: p.report.max(q.report),
        })
    }

    /// The report ids of a link, smaller first.
    fn link_ids(&self, link: &Link) -> (&str, &str) {
        let a = self.reports[link.lo as usize].id.as_str();
        let b = self.reports[link.hi as usize].id.as_str();
        if a <= b { (a, b) } else { (b, a) }
    }

    /// The total order links are taken in: by score, then by the two report ids.
    fn compare_links(&self, x: &Link, y: &Link) -> Ordering {
        x.score
            .total_cmp(&y.score)
            .then_with(|| self.link_ids(x).cmp(&self.link_ids(y)))
    }
}

/// The gap between two intervals in milliseconds (0 when they overlap).
fn interval_gap_ms(p: &Point, q: &Point) -> i64 {
    p.start_ms
        .saturating_sub(q.end_ms)
        .max(q.start_ms.saturating_sub(p.end_ms))
        .max(0)
}

/// The square of [`estimate_distance_m`].
fn estimate_squared_m2(p: &Point, q: &Point) -> f64 {
    let mut dlon = q.lon_rad - p.lon_rad;
    if dlon > PI {
        dlon -= TAU;
    } else if dlon < -PI {
        dlon += TAU;
    }
    let east = dlon * 0.5 * (p.east_per_rad + q.east_per_rad);
    let north = (q.lat_rad - p.lat_rad) * 0.5 * (p.north_per_rad + q.north_per_rad);
    east * east + north * north
}

/// The symmetric equirectangular estimate of the distance between two points, metres: the
/// longitude and latitude differences scaled by the radii of curvature averaged over the two
/// points.
fn estimate_distance_m(p: &Point, q: &Point) -> f64 {
    estimate_squared_m2(p, q).sqrt()
}

/// `Some(distance)` when the geodesic distance between the points is at most `limit_m`; the
/// distance returned is the estimate (used for ordering only). The exact test reads the
/// reports' own coordinates.
fn within(reports: &[Report], p: &Point, q: &Point, limit_m: f64) -> Option<f64> {
    let trusted_frame = !p.polar && !q.polar;
    if trusted_frame && limit_m <= APPROX_MAX_DISTANCE_M {
        // Most candidates are clearly too far: decide those on the squared estimate.
        let beyond = (limit_m + APPROX_ABS_ERROR_M) / (1.0 - APPROX_REL_ERROR);
        if estimate_squared_m2(p, q) > beyond * beyond {
            return None;
        }
    }
    let estimate = estimate_distance_m(p, q);
    if !estimate.is_finite() {
        return None;
    }
    let trusted = trusted_frame && estimate <= APPROX_MAX_DISTANCE_M;
    if trusted {
        let tolerance = APPROX_REL_ERROR * estimate + APPROX_ABS_ERROR_M;
        if estimate + tolerance < limit_m {
            return Some(estimate);
        }
        if estimate - tolerance > limit_m {
            return None;
        }
    }
    let location = |point: &Point| {
        reports
            .get(point.report as usize)
            .map_or((point.lon_deg(), point.lat_deg()), |report| {
                (report.location.lon, report.location.lat)
            })
    };
    let exact = geodesic_distance_m(location(p), location(q));
    (exact <= limit_m).then_some(estimate)
}

/// The lon/lat grid candidate pairs are searched in.
#[derive(Debug, Clone, Copy)]
struct Grid {
    row_height_deg: f64,
    col_width_deg: f64,
    n_cols: i64,
}

impl Grid {
    /// A grid whose cells are at least `cell_m` metres across everywhere in `points`.
    fn new(points: &[Point], cell_m: f64) -> Grid {
        // Any path changing latitude by Δφ is at least M_min·Δφ long; a little slack keeps
        // rounding on the safe side.
        let row_height_deg = (cell_m / MIN_MERIDIONAL_RADIUS_M).to_degrees() * 1.001;
        let max_abs_lat = points
            .iter()
            .filter(|p| p.valid)
            .map(|p| p.lat_deg().abs())
            .fold(0.0_f64, f64::max);
        // A path of length ≤ cell_m between two points stays below this latitude.
        let reach_deg = max_abs_lat + 2.0 * row_height_deg;
        let mut n_cols = 1;
        if reach_deg < 89.0 {
            let (east_per_rad, _) = metres_per_radian(reach_deg.to_radians());
            let min_width_deg = (cell_m / east_per_rad).to_degrees() * 1.001;
            let cols = (360.0 / min_width_deg).floor();
            if cols >= 3.0 {
                n_cols = cols.min(1e9) as i64;
            }
        }
        Grid {
            row_height_deg,
            col_width_deg: 360.0 / n_cols as f64,
            n_cols,
        }
    }

    fn cell(&self, p: &Point) -> (i64, i64) {
        let row = (p.lat_deg() / self.row_height_deg).floor() as i64;
        let col = if self.n_cols == 1 {
            0
        } else {
            let shifted = (p.lon_deg() + 180.0).rem_euclid(360.0);
            ((shifted / self.col_width_deg).floor() as i64).clamp(0, self.n_cols - 1)
        };
        (row, col)
    }

    /// The cells whose pairs with `(row, col)` a sweep of that cell covers: the next column of
    /// the row and three cells of the next row, each unordered pair of neighbours once.
    fn forward_neighbours(&self, row: i64, col: i64) -> Vec<(i64, i64)> {
        if self.n_cols == 1 {
            return vec![(row + 1, 0)];
        }
        let wrap = |c: i64| c.rem_euclid(self.n_cols);
        vec![
            (row, wrap(col + 1)),
            (row + 1, wrap(col - 1)),
            (row + 1, col),
            (row + 1, wrap(col + 1)),
        ]
    }
}

/// A run of reports in one grid cell, sorted by start time.
#[derive(Debug, Clone, Copy)]
struct CellRun {
    row: i64,
    col: i64,
    begin: usize,
    end: usize,
}

/// Every linkable pair, found through the grid.
fn candidate_links(context: &Context<'_>) -> Vec<Link> {
    let grid = Grid::new(&context.points, context.reach_m().max(MIN_CELL_M));
    let mut keyed: Vec<(i64, i64, i64, u32)> = context
        .points
        .par_iter()
        .filter(|p| p.valid)
        .map(|p| {
            let (row, col) = grid.cell(p);
            (row, col, p.start_ms, p.report)
        })
        .collect();
    keyed.par_sort_unstable();
    // The points in grid order, so that the sweeps read memory in sequence.
    let sorted: Vec<Point> = keyed
        .par_iter()
        .map(|key| context.points[key.3 as usize])
        .collect();

    let mut cells: Vec<CellRun> = Vec::new();
    for (pos, key) in keyed.iter().enumerate() {
        match cells.last_mut() {
            Some(cell) if cell.row == key.0 && cell.col == key.1 => cell.end = pos + 1,
            _ => cells.push(CellRun {
                row: key.0,
                col: key.1,
                begin: pos,
                end: pos + 1,
            }),
        }
    }
    drop(keyed);

    let gap = context.limits.time_gap_ms;
    let find_cell = |row: i64, col: i64| {
        cells
            .binary_search_by(|c| (c.row, c.col).cmp(&(row, col)))
            .ok()
            .map(|i| cells[i])
    };
    let chunks: Vec<Vec<Link>> = cells
        .par_chunks(256)
        .map(|chunk| {
            let mut links = Vec::new();
            for cell in chunk {
                // Pairs inside the cell.
                let inside = &sorted[cell.begin..cell.end];
                for (i, p) in inside.iter().enumerate() {
                    let reach = p.end_ms.saturating_add(gap);
                    for q in &inside[i + 1..] {
                        if q.start_ms > reach {
                            break;
                        }
                        links.extend(context.link(p, q));
                    }
                }
                // Pairs with each forward neighbour.
                for (row, col) in grid.forward_neighbours(cell.row, cell.col) {
                    if let Some(other) = find_cell(row, col) {
                        sweep_cells(
                            context,
                            &sorted[cell.begin..cell.end],
                            &sorted[other.begin..other.end],
                            &mut links,
                        );
                    }
                }
            }
            links
        })
        .collect();
    chunks.concat()
}

/// Adds the linkable pairs between the points of two different cells (each sorted by start):
/// every pair whose later-starting point starts at most the time gap after the other ends.
fn sweep_cells(context: &Context<'_>, first: &[Point], second: &[Point], links: &mut Vec<Link>) {
    let gap = context.limits.time_gap_ms;
    // Pairs where the point of `second` starts no earlier than the one of `first`, then those
    // where it starts strictly earlier: each pair once.
    for (from, to, strict) in [(first, second, false), (second, first, true)] {
        let mut lower = 0;
        for p in from {
            while lower < to.len()
                && (to[lower].start_ms < p.start_ms || (strict && to[lower].start_ms == p.start_ms))
            {
                lower += 1;
            }
            let reach = p.end_ms.saturating_add(gap);
            for q in &to[lower..] {
                if q.start_ms > reach {
                    break;
                }
                links.extend(context.link(p, q));
            }
        }
    }
}

/// A disjoint-set forest over `0..n` with path halving and union by size.
#[derive(Debug)]
struct DisjointSets {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl DisjointSets {
    fn new(n: usize) -> Self {
        DisjointSets {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grandparent = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grandparent;
            x = grandparent;
        }
        x
    }

    /// Joins the sets of `a` and `b`; returns the new root.
    fn union(&mut self, a: u32, b: u32) -> u32 {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return a;
        }
        if self.size[a as usize] < self.size[b as usize] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b as usize] = a;
        self.size[a as usize] += self.size[b as usize];
        a
    }
}

/// The partition of all reports into groups, sorted by smallest member index, members
/// ascending.
fn group_reports(reports: &[Report], params: &CorroborationParams) -> Vec<Vec<u32>> {
    let n = reports.len();
    let context = Context::new(reports, params);
    let links = candidate_links(&context);

    // Connected components of the link graph, numbered by their smallest report index.
    let mut forest = DisjointSets::new(n);
    for link in &links {
        forest.union(link.lo, link.hi);
    }
    let mut component_of_root = vec![u32::MAX; n];
    let mut component_of = vec![0u32; n];
    let mut n_components = 0u32;
    for report_idx in 0..n as u32 {
        let root = forest.find(report_idx) as usize;
        if component_of_root[root] == u32::MAX {
            component_of_root[root] = n_components;
            n_components += 1;
        }
        component_of[report_idx as usize] = component_of_root[root];
    }
    drop(component_of_root);
    drop(forest);

    // Reports and links bucketed by component (counting sort: stable and order-free).
    let n_components = n_components as usize;
    let members_by_component = bucket(n_components, (0..n as u32).map(|i| (component_of[i as usize], i)));
    let links_by_component = bucket(
        n_components,
        links
            .iter()
            .map(|link| (component_of[link.lo as usize], *link)),
    );

    let mut groups: Vec<Vec<u32>> = (0..n_components)
        .into_par_iter()
        .flat_map_iter(|component| {
            let members = members_by_component.get(component);
            let mut component_links = links_by_component.get(component).to_vec();
            merge_component(&context, members, &mut component_links)
        })
        .collect();
    groups.par_sort_unstable_by_key(|group| group.first().copied().unwrap_or(u32::MAX));
    groups
}

/// Items grouped by a bucket number, as one flat vector and offsets.
#[derive(Debug)]
struct Buckets<T> {
    offsets: Vec<usize>,
    items: Vec<T>,
}

impl<T> Buckets<T> {
    fn get(&self, bucket: usize) -> &[T] {
        &self.items[self.offsets[bucket]..self.offsets[bucket + 1]]
    }
}

fn bucket<T: Copy>(n_buckets: usize, items: impl Iterator<Item = (u32, T)> + Clone) -> Buckets<T> {
    let mut offsets = vec![0usize; n_buckets + 1];
    for (b, _) in items.clone() {
        offsets[b as usize + 1] += 1;
    }
    for i in 0..n_buckets {
        offsets[i + 1] += offsets[i];
    }
    let mut next = offsets.clone();
    let mut slots: Vec<Option<T>> = vec![None; offsets[n_buckets]];
    for (b, item) in items {
        slots[next[b as usize]] = Some(item);
        next[b as usize] += 1;
    }
    Buckets {
        offsets,
        items: slots.into_iter().flatten().collect(),
    }
}

/// A group being built during merging.
#[derive(Debug)]
struct Group {
    members: Vec<u32>,
    max_start_ms: i64,
    min_end_ms: i64,
}

/// Constrained merging inside one component; returns its groups, members ascending.
fn merge_component(context: &Context<'_>, members: &[u32], links: &mut [Link]) -> Vec<Vec<u32>> {
    if members.len() == 1 {
        return vec![members.to_vec()];
    }
    links.sort_unstable_by(|x, y| context.compare_links(x, y));
    // `members` is ascending: a report's local number is its position there.
    let local = |report_idx: u32| members.partition_point(|&m| m < report_idx) as u32;
    let mut forest = DisjointSets::new(members.len());
    let mut groups: Vec<Option<Group>> = members
        .iter()
        .map(|&m| {
            let p = &context.points[m as usize];
            Some(Group {
                members: vec![m],
                max_start_ms: p.start_ms,
                min_end_ms: p.end_ms,
            })
        })
        .collect();

    for link in links.iter() {
        let a = forest.find(local(link.lo));
        let b = forest.find(local(link.hi));
        if a == b {
            continue;
        }
        let (Some(group_a), Some(group_b)) = (&groups[a as usize], &groups[b as usize]) else {
            continue;
        };
        let max_start = group_a.max_start_ms.max(group_b.max_start_ms);
        let min_end = group_a.min_end_ms.min(group_b.min_end_ms);
        if max_start.saturating_sub(min_end) > context.limits.duration_ms {
            continue;
        }
        let all_linkable = group_a.members.iter().all(|&x| {
            group_b
                .members
                .iter()
                .all(|&y| context.linkable(x, y))
        });
        if !all_linkable {
            continue;
        }
        let root = forest.union(a, b);
        let other = if root == a { b } else { a };
        let Some(absorbed) = groups[other as usize].take() else {
            continue;
        };
        if let Some(kept) = groups[root as usize].as_mut() {
            kept.members.extend(absorbed.members);
            kept.max_start_ms = max_start;
            kept.min_end_ms = min_end;
        }
    }

    groups
        .into_iter()
        .flatten()
        .map(|mut group| {
            group.members.sort_unstable();
            group.members
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_model::{Casualties, Location, Source, SourceKind, Target, TargetKind, TimeSpan};

    fn located(lon: f64, lat: f64) -> Report {
        Report {
            id: "x".into(),
            source: Source {
                id: "s".into(),
                kind: SourceKind::Monitor,
                party: None,
            },
            time: TimeSpan::instant(0),
            location: Location {
                lon,
                lat,
                uncertainty_m: 0.0,
            },
            place: None,
            action: ActionType::Artillery,
            target: Target::of(TargetKind::Unknown),
            site: None,
            accused: None,
            actors: Vec::new(),
            casualties: Casualties::default(),
            text: String::new(),
            evidence: Vec::new(),
        }
    }

    /// A point not backed by a report slice (the exact test then reads its own coordinates).
    fn point(lon: f64, lat: f64) -> Point {
        Point::new(&located(lon, lat), u32::MAX, 0)
    }

    /// A small deterministic generator for the tests (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next_f64(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn estimate_is_within_the_stated_bound_of_the_geodesic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut worst_relative: f64 = 0.0;
        for _ in 0..20_000 {
            let lat = (rng.next_f64() * 2.0 - 1.0) * APPROX_MAX_ABS_LAT;
            let lon = (rng.next_f64() * 2.0 - 1.0) * 180.0;
            let bearing = rng.next_f64() * TAU;
            let distance = rng.next_f64() * APPROX_MAX_DISTANCE_M;
            let (east_per_rad, north_per_rad) = metres_per_radian(lat.to_radians());
            let dlat = (distance * bearing.cos() / north_per_rad).to_degrees();
            let dlon = (distance * bearing.sin() / east_per_rad).to_degrees();
            let p = point(lon, lat);
            let q = point(incident::wrap_degrees(lon + dlon), (lat + dlat).clamp(-90.0, 90.0));
            if q.polar {
                continue;
            }
            let estimate = estimate_distance_m(&p, &q);
            if estimate > APPROX_MAX_DISTANCE_M {
                continue;
            }
            let exact = geodesic_distance_m((p.lon_deg(), p.lat_deg()), (q.lon_deg(), q.lat_deg()));
            let error = (estimate - exact).abs();
            assert!(
                error <= APPROX_REL_ERROR * estimate + APPROX_ABS_ERROR_M,
                "{lon} {lat} → {} {}: estimate {estimate}, geodesic {exact}",
                q.lon_deg(),
                q.lat_deg()
            );
            if exact > 100.0 {
                worst_relative = worst_relative.max(error / exact);
            }
        }
        // The bound is loose by design: the estimate is far better than it.
        assert!(worst_relative < APPROX_REL_ERROR / 10.0, "{worst_relative}");
    }

    #[test]
    fn within_decides_like_the_geodesic_near_the_limit() {
        let reports = vec![located(37.8, 48.0), located(37.85, 48.01)];
        let p = Point::new(&reports[0], 0, 0);
        let q = Point::new(&reports[1], 1, 1);
        let exact = geodesic_distance_m((37.8, 48.0), (37.85, 48.01));
        assert!(within(&reports, &p, &q, exact).is_some());
        assert!(within(&reports, &p, &q, exact * (1.0 - 1e-12)).is_none());
        assert!(within(&reports, &p, &q, exact + 0.5).is_some());
        assert!(within(&reports, &p, &q, exact - 0.5).is_none());
    }

    #[test]
    fn grid_cells_are_wide_enough() {
        let points: Vec<Point> = [(30.0, 45.0), (40.0, 55.0), (-179.99, 55.0)]
            .iter()
            .map(|&(lon, lat)| point(lon, lat))
            .collect();
        let grid = Grid::new(&points, 5_000.0);
        assert!(grid.n_cols >= 3);
        // A column at the highest latitude reached is at least 5 km wide.
        let (east_per_rad, _) = metres_per_radian(55.1_f64.to_radians());
        assert!(grid.col_width_deg.to_radians() * east_per_rad >= 5_000.0);
        // Across the antimeridian the columns are neighbours.
        let west = grid.cell(&point(179.999, 55.0));
        let east = grid.cell(&point(-179.999, 55.0));
        assert_eq!((east.1 + grid.n_cols - 1) % grid.n_cols, west.1);
        // Near a pole, one column per row.
        let polar = Grid::new(&[point(0.0, 89.99)], 5_000.0);
        assert_eq!(polar.n_cols, 1);
    }

    #[test]
    fn bucket_keeps_order_within_buckets() {
        let b = bucket(3, [(2u32, 'a'), (0, 'b'), (2, 'c'), (0, 'd')].into_iter());
        assert_eq!(b.get(0), &['b', 'd']);
        assert_eq!(b.get(1), &[] as &[char]);
        assert_eq!(b.get(2), &['a', 'c']);
    }
}
