//! Corroboration: grouping reports that describe the same event into incidents.
//!
//! Every report ends up in exactly one [`Incident`]; a report nobody corroborates is an
//! incident of its own. The grouping is a constrained agglomerative clustering, built so that
//! it cannot chain: a town shelled two hundred times in a day gives many incidents, not one.
//!
//! # Parameters
//! [`CorroborationParams`] (an agreement's `[corroboration]` table sets the first four):
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
//! input order, on hashing or on the number of threads (the tests check permutations and 1, 2
//! and 3 threads for byte-identical output).
//!
//! # Algorithm
//! 1. **Linkable pairs.** Two reports are *linkable* when they come from different sources (a
//!    source does not corroborate itself), their actions are
//!    [compatible](truce_model::ActionType::compatible), their time intervals are within
//!    `max_time_gap_s`, and their points within the pair's distance limit above and within
//!    `max_extent_m`. They are found with a grid: latitude rows and longitude columns at least
//!    as wide as the largest limit any pair of the data can have (`min(max_distance_m,
//!    max_extent_m, k·2·r_max + c)`; the column width is set at the highest latitude present;
//!    columns wrap at the antimeridian, and near a pole a row is one cell). Reports are sorted
//!    by (cell, start time) — by counting into cells when the data's bounding box is compact,
//!    by a packed key otherwise — and their points, the few numbers the pair test needs, are
//!    built straight in that order; each cell is swept against itself and its four
//!    "forward" neighbours in start order, stopping once a start lies beyond the other
//!    report's end plus the time gap. A test compares the pairs found with a brute-force scan.
//! 2. **Components.** The linkable pairs form a graph; its connected components are
//!    independent and are merged in parallel (rayon); the groups are then sorted by their
//!    smallest report, so the thread count never shows.
//! 3. **Constrained merging.** Within a component, links are taken in increasing order of a
//!    normalised space–time distance `(d / (√(r₁² + r₂²) + 250 m))² + (Δt / 900 s)²` (`Δt` the
//!    gap between the intervals), ties broken by the two report ids. Each link proposes to
//!    merge the two groups holding its reports (every report starts as its own group). The
//!    merge happens only if **every** pair across the two groups is linkable (complete
//!    linkage) and the merged group's time window fits in `max_duration_s`. A chain A–B–C
//!    where A and C are too far apart therefore never closes, whatever the order.
//! 4. **Derivation.** Each group becomes an [`Incident`] ([`Incident::from_members`] documents
//!    the derived fields).
//!
//! # Distances
//! Pair distances are geodesic on WGS84. For speed a symmetric equirectangular estimate (radii
//! of curvature averaged over the two points) decides first; whenever the estimate is within
//! [`APPROX_REL_ERROR`]` · d + `[`APPROX_ABS_ERROR_M`] of a limit, beyond
//! [`APPROX_MAX_DISTANCE_M`], or a point lies beyond [`APPROX_MAX_ABS_LAT`], the exact geodesic
//! ([`geodesic_distance_m`]) decides. The estimate also orders links, where no exactness is
//! needed. A test checks the estimate against the geodesic.
//!
//! # Accuracy
//! Against the simulator's ground truth (`truce-sim`, adjusted Rand index over all reports;
//! fabricated reports are their own incidents there), seeds 1–3: the default scenario scores
//! 0.996–0.998 and the dense-shelling scenario (three bursts of 200 incidents in a day, each
//! in one town) 0.975–0.987. The rule "disks must meet" (`k = 1, c = 0`) was chosen on these
//! runs: `k = 2, c = 1 000 m` merges neighbouring shells (dense-shelling ARI 0.78–0.79),
//! `k = 1, c = 250 m` or `k = 1.5` cost 0.01–0.03. The link order hardly matters once the pair
//! limit is tight. Most remaining errors are distinct shells at one spot within the time gap:
//! a `max_time_gap_s` of 2 700 s raises dense shelling to 0.993–0.999 on the simulator, whose
//! sources misplace instants by at most 30 minutes; the default stays at the agreement
//! default of 5 400 s.
//!
//! # Caveats
//! - The result is a heuristic partition: links are greedy, and a report that fits two events
//!   equally well joins the one whose link comes first in the fixed order.
//! - Complete linkage is strict: an event whose reports scatter wider than their stated
//!   uncertainty is split into several incidents rather than risk merging two events.
//! - Reports with no usable position (latitude outside ±90°, non-finite coordinates) are never
//!   linked. A negative or NaN uncertainty radius reads as 0; a reversed interval as the same
//!   interval in order.
//! - One very vague report (a radius of tens of kilometres) widens the grid for all; very wide
//!   intervals (a whole day) scan every report of their cell and neighbours in that window;
//!   the column width is set for the highest latitude present, so a data set reaching the
//!   Arctic is searched with wide cells everywhere.
//! - Distance limits above [`APPROX_MAX_DISTANCE_M`] are allowed but make every candidate
//!   pair an exact geodesic computation, which is much slower.
//! - Invalid parameters (see [`CorroborationParams::validate`]) link nothing: every report is
//!   then its own incident.
//!
//! The scheme is agglomerative hierarchical clustering with complete linkage under
//! "cannot-link" constraints (same source), as studied by Davidson and Ravi, *Agglomerative
//! hierarchical clustering with constraints: theoretical and empirical results* (PKDD 2005),
//! cut at fixed distance limits instead of a number of clusters.

use std::cmp::Ordering;
use std::f64::consts::{PI, TAU};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use truce_model::{ActionType, Report};

use crate::geodesy::{
    APPROX_ABS_ERROR_M, APPROX_MAX_ABS_LAT, APPROX_MAX_DISTANCE_M, APPROX_REL_ERROR,
    MIN_MERIDIONAL_RADIUS_M, WGS84_A, WGS84_E2, geodesic_distance_m,
};
use crate::incident::{self, Incident, Members, clean_radius, metres_per_radian, ordered_span};
use crate::read_ahead::{BLOCK, block_at, read_ahead};
use crate::review::ReviewIndex;

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
///
/// # Panics
/// If `reports` holds `2³¹` reports or more (members are `u32` indices, one bit of which
/// the grouping keeps for itself).
pub fn corroborate(reports: &[Report], params: &CorroborationParams) -> Vec<Incident> {
    corroborate_reviewed(reports, params, &ReviewIndex::new())
}

/// [`corroborate`] under monitors' and sources' decisions ([`crate::review`]): withdrawn
/// reports are in no incident; reports pinned by a merge or split are grouped as the review
/// says and take no part in the automatic grouping. With no decisions this is
/// [`corroborate`].
pub fn corroborate_reviewed(
    reports: &[Report],
    params: &CorroborationParams,
    reviews: &ReviewIndex,
) -> Vec<Incident> {
    assert!(
        reports.len() < MERGED as usize,
        "corroborate takes at most {} reports, got {}",
        MERGED - 1,
        reports.len()
    );
    // Reports the decisions take out of the automatic grouping, and the pinned groups.
    let (left_out, pinned) = if reviews.is_empty() {
        (None, Vec::new())
    } else {
        let mut left_out = vec![false; reports.len()];
        let mut pinned: std::collections::BTreeMap<&str, Vec<u32>> = Default::default();
        for (report_idx, report) in reports.iter().enumerate() {
            if reviews.withdrawn(report) {
                left_out[report_idx] = true;
            } else if let Some(pin) = reviews.pin(&report.id) {
                left_out[report_idx] = true;
                pinned
                    .entry(pin.group.as_str())
                    .or_default()
                    .push(report_idx as u32);
            }
        }
        let pinned: Vec<Vec<u32>> = pinned.into_values().collect();
        (Some(left_out), pinned)
    };
    let mut groups = if params.validate().is_ok() {
        group_reports(reports, params, left_out.as_deref())
    } else {
        Groups {
            slots: (0..reports.len() as u32).collect(),
            merged: Vec::new(),
        }
    };
    if let Some(left_out) = &left_out {
        groups
            .slots
            .retain(|&slot| slot & MERGED != 0 || !left_out[slot as usize]);
        for mut members in pinned {
            members.sort_unstable();
            groups.push_merged(incident::members_of(members));
        }
    }
    let _span = tracing::debug_span!("corroborate.derive", n_groups = groups.slots.len()).entered();
    let mut incidents: Vec<Incident> = (0..groups.slots.len())
        .into_par_iter()
        .with_min_len(BLOCK)
        .map(|index| {
            if let Some(block) = block_at(&groups.slots, index) {
                let members = (index..index + block.len()).flat_map(|at| groups.members_at(at));
                read_ahead(reports, members.copied());
            }
            incident::derive(reports, Members::from_slice(groups.members_at(index)))
        })
        .collect();
    drop(groups);
    // Groups come sorted by smallest member index, which is id order for canonical input;
    // sort only when the caller's order was not canonical (or pinned groups were added).
    if !incidents
        .par_windows(2)
        .all(|pair| pair[0].id <= pair[1].id)
    {
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
/// The counting sort into cells is used while the data's bounding box in cells has at most
/// this many cells per point (plus a fixed allowance); beyond, a comparison sort.
const DENSE_CELLS_PER_POINT: usize = 4;
/// An absent index: a point in no component, the end of a group's member list.
const NONE: u32 = u32::MAX;

/// FNV-1a (64 bit, folded to 32) of a source id: most "same source?" tests become one integer
/// comparison; equal hashes are confirmed on the ids themselves.
fn source_hash(id: &str) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash ^ (hash >> 32)) as u32
}

// Action sets are `u16` bit sets.
const _: () = assert!(ActionType::ALL.len() <= 16);

/// The bits (`1 << position in the vocabulary`) of the actions compatible with `action`.
const fn compatible_bits(action: ActionType) -> u16 {
    let mut bits = 0u16;
    let mut i = 0;
    while i < ActionType::ALL.len() {
        if action.compatible(ActionType::ALL[i]) {
            bits |= 1 << i;
        }
        i += 1;
    }
    bits
}

/// [`compatible_bits`] of each action, by position in the vocabulary: worked out once, when
/// the program is compiled, instead of for each of a million reports.
const COMPATIBLE_BITS: [u16; ActionType::ALL.len()] = {
    let mut table = [0u16; ActionType::ALL.len()];
    let mut i = 0;
    while i < table.len() {
        table[i] = compatible_bits(ActionType::ALL[i]);
        i += 1;
    }
    table
};

/// A report's longitude (wrapped into ±180°) and latitude in degrees, if usable.
pub(crate) fn usable_position(report: &Report) -> Option<(f64, f64)> {
    let (lon, lat) = (report.location.lon, report.location.lat);
    if !(lon.is_finite() && lat.is_finite() && lat.abs() <= 90.0) {
        return None;
    }
    if (-180.0..=180.0).contains(&lon) {
        Some((lon, lat))
    } else {
        Some((incident::wrap_degrees(lon), lat))
    }
}

/// What the pair tests need of a report, precomputed once (kept small: the candidate search
/// streams through these in grid order).
#[derive(Debug, Clone, Copy)]
struct Point {
    lon_rad: f64,
    lat_rad: f64,
    /// Uncertainty radius, floored at [`MIN_LINK_RADIUS_M`].
    radius_m: f64,
    start_ms: i64,
    end_ms: i64,
    /// Metres per radian east (`N cos φ`); single precision is ample for an estimate whose
    /// tolerance is 10⁻³.
    east_per_rad: f32,
    /// Metres per radian north (`M`).
    north_per_rad: f32,
    source_hash: u32,
    /// The report's index.
    report: u32,
    /// The action as a bit: `1 << position in the vocabulary`.
    action_bit: u16,
    /// The bits of every action compatible with this one.
    compatible_bits: u16,
    /// Whether the point is too near a pole for the estimate.
    polar: bool,
}

impl Point {
    /// The point of a report with a usable position.
    fn new(report: &Report, report_idx: u32) -> Option<Point> {
        usable_position(report).map(|position| Point::at(report, report_idx, position))
    }

    /// The point of a report at its usable position `(lon_deg, lat_deg)`
    /// ([`usable_position`]).
    fn at(report: &Report, report_idx: u32, (lon_deg, lat_deg): (f64, f64)) -> Point {
        let lat_rad = lat_deg.to_radians();
        // The radii of curvature from one sine (cos φ ≥ 0 for |φ| ≤ 90°).
        let sin_lat = lat_rad.sin();
        let cos_lat = (1.0 - sin_lat * sin_lat).max(0.0).sqrt();
        let w2 = 1.0 - WGS84_E2 * sin_lat * sin_lat;
        let w = w2.sqrt();
        let east_per_rad = WGS84_A / w * cos_lat;
        let north_per_rad = WGS84_A * (1.0 - WGS84_E2) / (w2 * w);
        let (start_ms, end_ms) = ordered_span(report.time);
        Point {
            lon_rad: lon_deg.to_radians(),
            lat_rad,
            radius_m: clean_radius(report.location.uncertainty_m).max(MIN_LINK_RADIUS_M),
            start_ms,
            end_ms,
            east_per_rad: east_per_rad as f32,
            north_per_rad: north_per_rad as f32,
            source_hash: source_hash(&report.source.id),
            report: report_idx,
            action_bit: 1 << (report.action as u16),
            compatible_bits: COMPATIBLE_BITS[report.action as usize],
            polar: lat_deg.abs() > APPROX_MAX_ABS_LAT,
        }
    }
}

/// A report's place in the grid (its cell and start), before its [`Point`] is built. 24
/// bytes: a grid row or column always fits 32 bits (rows are at least
/// [`MIN_CELL_M`] high, so |row| < 10⁷; there are at most 10⁹ columns).
#[derive(Debug, Clone, Copy)]
struct Placed {
    start_ms: i64,
    row: i32,
    col: i32,
    /// The report's index; [`NONE`] for a report with no place.
    report: u32,
}

impl Placed {
    /// What a report with no place in the grid gets: no usable position, or left out.
    const NOWHERE: Placed = Placed {
        start_ms: 0,
        row: 0,
        col: 0,
        report: NONE,
    };
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

impl Limits {
    fn new(params: &CorroborationParams) -> Limits {
        Limits {
            max_distance_m: params.max_distance_m.min(params.max_extent_m),
            time_gap_ms: params.max_time_gap_s.saturating_mul(1000),
            duration_ms: params.max_duration_s.saturating_mul(1000),
            uncertainty_factor: params.uncertainty_factor,
            link_slack_m: params.link_slack_m,
        }
    }

    /// The distance limit of a pair with these (floored) radii.
    fn pair_limit_m(&self, radius_a: f64, radius_b: f64) -> f64 {
        self.max_distance_m
            .min(self.uncertainty_factor * (radius_a + radius_b) + self.link_slack_m)
    }
}

/// A run of points in one grid cell, sorted by start time.
#[derive(Debug, Clone, Copy)]
struct CellRun {
    row: i64,
    col: i64,
    begin: usize,
    end: usize,
}

/// The reports prepared for pair tests: points in grid order and the grid's cells.
struct Context<'a> {
    reports: &'a [Report],
    limits: Limits,
    grid: Grid,
    /// Points of the reports with a usable position, sorted by (cell, start, report index). A
    /// point's place in this vector is its *position*.
    points: Vec<Point>,
    /// The non-empty cells, sorted by (row, column).
    cells: Vec<CellRun>,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("n_reports", &self.reports.len())
            .field("limits", &self.limits)
            .field("grid", &self.grid)
            .field("n_cells", &self.cells.len())
            .finish()
    }
}

/// A linkable pair of points (`lo < hi` by position).
#[derive(Debug, Clone, Copy)]
struct Link {
    score: f64,
    lo: u32,
    hi: u32,
}

impl<'a> Context<'a> {
    /// The context of `reports`, leaving out those `left_out` marks (they link to nothing).
    fn new(reports: &'a [Report], params: &CorroborationParams, left_out: Option<&[bool]>) -> Self {
        let limits = Limits::new(params);
        let usable = |report_idx: usize| left_out.is_none_or(|out| !out[report_idx]);
        // The grid needs the highest latitude and the largest radius present.
        let (max_abs_lat, max_radius) = reports
            .par_iter()
            .enumerate()
            .filter(|&(report_idx, _)| usable(report_idx))
            .filter_map(|(_, report)| {
                let (_, lat_deg) = usable_position(report)?;
                let radius_m = clean_radius(report.location.uncertainty_m);
                Some((lat_deg.abs(), radius_m.max(MIN_LINK_RADIUS_M)))
            })
            .reduce(
                || (0.0, MIN_LINK_RADIUS_M),
                |a, b| (a.0.max(b.0), a.1.max(b.1)),
            );
        let reach_m = limits.pair_limit_m(max_radius, max_radius).max(MIN_CELL_M);
        let grid = Grid::new(max_abs_lat, reach_m);
        // Each report's cell first (a few words each), then the points built straight into
        // grid order: the reports are read in that order by both cores, and no vector of
        // points is ever moved or permuted.
        let span = tracing::debug_span!("corroborate.prepare.place").entered();
        // One place per report, collected straight into one vector (a filtered collect joins
        // per-thread pieces, a second copy); the few reports with no place are taken out
        // after, in place.
        let mut placed: Vec<Placed> = Vec::new();
        reports
            .par_iter()
            .enumerate()
            .map(|(report_idx, report)| {
                usable(report_idx)
                    .then(|| grid.place(report, report_idx as u32))
                    .flatten()
                    .unwrap_or(Placed::NOWHERE)
            })
            .collect_into_vec(&mut placed);
        if placed.par_iter().any(|p| p.report == NONE) {
            placed.retain(|p| p.report != NONE);
        }
        drop(span);
        let span = tracing::debug_span!("corroborate.prepare.sort").entered();
        let (order, cells) = grid.sort_into_cells(placed, DENSE_CELLS_PER_POINT);
        drop(span);
        let _span = tracing::debug_span!("corroborate.prepare.points").entered();
        let points: Vec<Point> = order
            .par_iter()
            .enumerate()
            .with_min_len(BLOCK)
            .map(|(position, &report_idx)| {
                if let Some(block) = block_at(&order, position) {
                    read_ahead(reports, block.iter().copied());
                }
                let report = &reports[report_idx as usize];
                let position =
                    usable_position(report).unwrap_or((report.location.lon, report.location.lat));
                Point::at(report, report_idx, position)
            })
            .collect();

        Context {
            reports,
            limits,
            grid,
            points,
            cells,
        }
    }

    /// Whether two points' reports come from the same source.
    fn same_source(&self, p: &Point, q: &Point) -> bool {
        let id = |point: &Point| {
            self.reports
                .get(point.report as usize)
                .map(|report| report.source.id.as_str())
        };
        p.source_hash == q.source_hash && id(p) == id(q)
    }

    /// Whether two points can be linked; if so, the (estimated) distance between them.
    fn pair_distance(&self, p: &Point, q: &Point) -> Option<f64> {
        pair_distance(
            &self.limits,
            p,
            q,
            |point| self.reports.get(point.report as usize),
            || self.same_source(p, q),
        )
    }

    /// A link between the points at two positions if they are linkable.
    fn link(&self, p_pos: usize, q_pos: usize) -> Option<Link> {
        let (p, q) = (&self.points[p_pos], &self.points[q_pos]);
        let distance_m = self.pair_distance(p, q)?;
        let distance_scale =
            (p.radius_m * p.radius_m + q.radius_m * q.radius_m).sqrt() + ORDER_DISTANCE_SCALE_M;
        let space = distance_m / distance_scale;
        let time = interval_gap_ms(p, q) as f64 / (ORDER_TIME_SCALE_S * 1000.0);
        Some(Link {
            score: space * space + time * time,
            lo: p_pos.min(q_pos) as u32,
            hi: p_pos.max(q_pos) as u32,
        })
    }

    /// The report ids of a link, smaller first.
    fn link_ids(&self, link: &Link) -> (&str, &str) {
        let id = |pos: u32| {
            self.reports[self.points[pos as usize].report as usize]
                .id
                .as_str()
        };
        let (a, b) = (id(link.lo), id(link.hi));
        if a <= b { (a, b) } else { (b, a) }
    }

    /// The total order links are taken in: by score, then by the two report ids.
    fn compare_links(&self, x: &Link, y: &Link) -> Ordering {
        x.score
            .total_cmp(&y.score)
            .then_with(|| self.link_ids(x).cmp(&self.link_ids(y)))
    }

    /// Every linkable pair, found through the grid.
    fn candidate_links(&self) -> Vec<Link> {
        let gap = self.limits.time_gap_ms;
        let find_cell = |row: i64, col: i64| {
            self.cells
                .binary_search_by(|c| (c.row, c.col).cmp(&(row, col)))
                .ok()
                .map(|i| self.cells[i])
        };
        let chunks: Vec<Vec<Link>> = self
            .cells
            .par_chunks(256)
            .map(|chunk| {
                let mut links = Vec::new();
                for cell in chunk {
                    // Pairs inside the cell.
                    for p_pos in cell.begin..cell.end {
                        let reach = self.points[p_pos].end_ms.saturating_add(gap);
                        for q_pos in p_pos + 1..cell.end {
                            if self.points[q_pos].start_ms > reach {
                                break;
                            }
                            links.extend(self.link(p_pos, q_pos));
                        }
                    }
                    // Pairs with each forward neighbour.
                    for (row, col) in self.grid.forward_neighbours(cell.row, cell.col) {
                        if let Some(other) = find_cell(row, col) {
                            self.sweep_cells(*cell, other, &mut links);
                        }
                    }
                }
                links
            })
            .collect();
        chunks.concat()
    }

    /// Adds the linkable pairs between the points of two different cells (each sorted by
    /// start): every pair whose later-starting point starts at most the time gap after the
    /// other ends.
    fn sweep_cells(&self, first: CellRun, second: CellRun, links: &mut Vec<Link>) {
        let gap = self.limits.time_gap_ms;
        let start = |pos: usize| self.points[pos].start_ms;
        // Pairs where the point of `second` starts no earlier than the one of `first`, then
        // those where it starts strictly earlier: each pair once.
        for (from, to, strict) in [(first, second, false), (second, first, true)] {
            let mut lower = to.begin;
            for p_pos in from.begin..from.end {
                let p_start = start(p_pos);
                while lower < to.end
                    && (start(lower) < p_start || (strict && start(lower) == p_start))
                {
                    lower += 1;
                }
                let reach = self.points[p_pos].end_ms.saturating_add(gap);
                for q_pos in lower..to.end {
                    if start(q_pos) > reach {
                        break;
                    }
                    links.extend(self.link(p_pos, q_pos));
                }
            }
        }
    }
}

/// `x.floor() as i64` without `floor`, a library call on the baseline x86-64 target: the
/// truncation, one less when it rounded up (a negative fraction). Saturates as the cast does.
fn floor_i64(x: f64) -> i64 {
    let truncated = x as i64;
    if (truncated as f64) > x {
        truncated.saturating_sub(1)
    } else {
        truncated
    }
}

/// The sort key of a point: its cell (row, column) and its start, packed so that the integer
/// order is the order of (row, column, start).
fn grid_key(row: i64, col: i64, start_ms: i64) -> u128 {
    // Rows fit in an i32 (cells are at least a metre tall), columns in a u32.
    let row_bits = u64::from((row as i32 as u32) ^ 0x8000_0000);
    let cell = (row_bits << 32) | u64::from(col as u32);
    let start_bits = (start_ms as u64) ^ (1 << 63);
    (u128::from(cell) << 64) | u128::from(start_bits)
}

/// The (row, column) of a [`grid_key`].
fn cell_of_key(key: u128) -> (i64, i64) {
    let cell = (key >> 64) as u64;
    let row = ((cell >> 32) as u32 ^ 0x8000_0000) as i32;
    (i64::from(row), i64::from(cell as u32))
}

/// The pair test of step 1: `Some(estimated distance)` when the points are linkable.
/// `report_of` gives a point's report (for the exact geodesic, from the report's own
/// coordinates); `same_source` is asked last, as it reads the reports' source ids.
fn pair_distance<'r>(
    limits: &Limits,
    p: &Point,
    q: &Point,
    report_of: impl Fn(&Point) -> Option<&'r Report>,
    same_source: impl FnOnce() -> bool,
) -> Option<f64> {
    if interval_gap_ms(p, q) > limits.time_gap_ms {
        return None;
    }
    if p.compatible_bits & q.action_bit == 0 {
        return None;
    }
    let limit = limits.pair_limit_m(p.radius_m, q.radius_m);
    let distance = within(report_of, p, q, limit)?;
    if same_source() {
        return None;
    }
    Some(distance)
}

/// Whether two reports are linkable (step 1 of the [module docs](self)): different sources,
/// compatible actions, intervals within the time gap, points within the pair's distance limit.
/// The same test the grid search applies, for callers that keep the link graph themselves
/// (the live state). Invalid parameters link nothing.
pub(crate) fn linkable(a: &Report, b: &Report, params: &CorroborationParams) -> bool {
    if params.validate().is_err() {
        return false;
    }
    let (Some(p), Some(q)) = (Point::new(a, 0), Point::new(b, 1)) else {
        return false;
    };
    let pair = [a, b];
    pair_distance(
        &Limits::new(params),
        &p,
        &q,
        |point| pair.get(point.report as usize).copied(),
        || a.source.id == b.source.id,
    )
    .is_some()
}

/// The largest distance at which any two reports can be linked under `params`, metres.
pub(crate) fn link_reach_m(params: &CorroborationParams) -> f64 {
    Limits::new(params).max_distance_m
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
    let east = dlon * 0.5 * (f64::from(p.east_per_rad) + f64::from(q.east_per_rad));
    let north =
        (q.lat_rad - p.lat_rad) * 0.5 * (f64::from(p.north_per_rad) + f64::from(q.north_per_rad));
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
/// reports' own coordinates (a point whose report `report_of` does not give uses its own).
fn within<'r>(
    report_of: impl Fn(&Point) -> Option<&'r Report>,
    p: &Point,
    q: &Point,
    limit_m: f64,
) -> Option<f64> {
    let trusted_frame = !p.polar && !q.polar;
    if trusted_frame && limit_m <= APPROX_MAX_DISTANCE_M {
        // Most candidates are clearly too far: decide those on the squared estimate.
        const INVERSE_OF_ONE_MINUS_ERROR: f64 = 1.0 / (1.0 - APPROX_REL_ERROR);
        let beyond = (limit_m + APPROX_ABS_ERROR_M) * INVERSE_OF_ONE_MINUS_ERROR;
        if estimate_squared_m2(p, q) > beyond * beyond {
            return None;
        }
    }
    let estimate = estimate_distance_m(p, q);
    if !estimate.is_finite() {
        return None;
    }
    if trusted_frame && estimate <= APPROX_MAX_DISTANCE_M {
        let tolerance = APPROX_REL_ERROR * estimate + APPROX_ABS_ERROR_M;
        if estimate + tolerance < limit_m {
            return Some(estimate);
        }
        if estimate - tolerance > limit_m {
            return None;
        }
    }
    let location = |point: &Point| {
        report_of(point)
            .and_then(usable_position)
            .unwrap_or((point.lon_rad.to_degrees(), point.lat_rad.to_degrees()))
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
    /// A grid whose cells are at least `cell_m` metres across for points up to `max_abs_lat`
    /// degrees from the equator.
    fn new(max_abs_lat: f64, cell_m: f64) -> Grid {
        // Any path changing latitude by Δφ is at least M_min·Δφ long; a little slack keeps
        // rounding on the safe side.
        let row_height_deg = (cell_m / MIN_MERIDIONAL_RADIUS_M).to_degrees() * 1.001;
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

    /// The cell of a position in degrees (longitude within ±180°).
    fn cell(&self, lon_deg: f64, lat_deg: f64) -> (i64, i64) {
        let row = floor_i64(lat_deg / self.row_height_deg);
        let col = if self.n_cols == 1 {
            0
        } else {
            // Longitudes are within ±180°: no wrapping needed, only rounding to clamp.
            let shifted = lon_deg + 180.0;
            floor_i64(shifted / self.col_width_deg).clamp(0, self.n_cols - 1)
        };
        (row, col)
    }

    /// Where a report with a usable position goes in the grid.
    fn place(&self, report: &Report, report_idx: u32) -> Option<Placed> {
        let (lon_deg, lat_deg) = usable_position(report)?;
        let (row, col) = self.cell(lon_deg, lat_deg);
        Some(Placed {
            start_ms: ordered_span(report.time).0,
            row: row as i32,
            col: col as i32,
            report: report_idx,
        })
    }

    /// Orders the placed reports by (row, column, start, report index) and returns their
    /// report indices in that order with the runs of each non-empty cell (sorted by row,
    /// column). With a compact bounding box the reports are counted into cells and each cell
    /// sorted on its own, otherwise sorted by a packed key; both give the same order.
    fn sort_into_cells(
        &self,
        placed: Vec<Placed>,
        dense_cells_per_point: usize,
    ) -> (Vec<u32>, Vec<CellRun>) {
        if placed.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let (row_min, row_max, col_min, col_max) = placed
            .par_iter()
            .map(|p| {
                let (row, col) = (i64::from(p.row), i64::from(p.col));
                (row, row, col, col)
            })
            .reduce(
                || (i64::MAX, i64::MIN, i64::MAX, i64::MIN),
                |a, b| (a.0.min(b.0), a.1.max(b.1), a.2.min(b.2), a.3.max(b.3)),
            );
        let n_cols = (col_max - col_min + 1) as u64;
        let n_dense = (row_max - row_min + 1) as u64 * n_cols;
        let dense_limit = (placed.len() * dense_cells_per_point + 4096) as u64;

        if n_dense > dense_limit {
            let mut keyed: Vec<(u128, u32)> = placed
                .par_iter()
                .map(|p| {
                    (
                        grid_key(i64::from(p.row), i64::from(p.col), p.start_ms),
                        p.report,
                    )
                })
                .collect();
            drop(placed);
            keyed.par_sort_unstable();
            let mut cells: Vec<CellRun> = Vec::new();
            for (pos, key) in keyed.iter().enumerate() {
                let (row, col) = cell_of_key(key.0);
                match cells.last_mut() {
                    Some(cell) if cell.row == row && cell.col == col => cell.end = pos + 1,
                    _ => cells.push(CellRun {
                        row,
                        col,
                        begin: pos,
                        end: pos + 1,
                    }),
                }
            }
            let order = keyed.into_iter().map(|(_, report)| report).collect();
            return (order, cells);
        }

        let dense = |p: &Placed| {
            ((i64::from(p.row) - row_min) as u64 * n_cols + (i64::from(p.col) - col_min) as u64)
                as usize
        };
        let mut offsets = vec![0usize; n_dense as usize + 1];
        for p in &placed {
            offsets[dense(p) + 1] += 1;
        }
        let mut cells = Vec::new();
        for i in 0..n_dense as usize {
            if offsets[i + 1] > 0 {
                let begin = offsets[i];
                cells.push(CellRun {
                    row: row_min + (i as u64 / n_cols) as i64,
                    col: col_min + (i as u64 % n_cols) as i64,
                    begin,
                    end: begin + offsets[i + 1],
                });
            }
            offsets[i + 1] += offsets[i];
        }
        // (start, report index) by cell, each cell then sorted on its own (cheap on the
        // nearly sorted runs that reports in id order usually give).
        let mut by_cell = vec![(0i64, 0u32); placed.len()];
        for p in &placed {
            let slot = &mut offsets[dense(p)];
            by_cell[*slot] = (p.start_ms, p.report);
            *slot += 1;
        }
        drop(offsets);
        drop(placed);
        let mut rest = by_cell.as_mut_slice();
        let mut cell_slices = Vec::with_capacity(cells.len());
        for cell in &cells {
            let (head, tail) = rest.split_at_mut(cell.end - cell.begin);
            cell_slices.push(head);
            rest = tail;
        }
        cell_slices
            .into_par_iter()
            .for_each(|slice| slice.sort_unstable());
        let order = by_cell.into_iter().map(|(_, report)| report).collect();
        (order, cells)
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

/// A disjoint-set forest over `0..n` with path halving and union by size.
#[derive(Debug, Default)]
struct DisjointSets {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl DisjointSets {
    fn new(n: usize) -> Self {
        let mut sets = DisjointSets::default();
        sets.reset(n);
        sets
    }

    /// Makes every element of `0..n` its own set again.
    fn reset(&mut self, n: usize) {
        self.parent.clear();
        self.parent.extend(0..n as u32);
        self.size.clear();
        self.size.resize(n, 1);
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

/// The bit of a group's slot that marks a group of several reports ([`Groups`]).
const MERGED: u32 = 1 << 31;

/// The reports' partition into groups, in order. Most groups are a single report, which
/// needs nothing but its index: a slot is four bytes (an enum of an index and a member list
/// took 32, the largest vector of a large run after the reports).
#[derive(Debug)]
struct Groups {
    /// Per group: its report's index, or [`MERGED`] and an index into `merged`.
    slots: Vec<u32>,
    /// The groups of several reports, members ascending (inline up to four).
    merged: Vec<Members>,
}

impl Groups {
    /// The members of the group at `index`, ascending.
    fn members_at(&self, index: usize) -> &[u32] {
        let slot = &self.slots[index];
        if slot & MERGED == 0 {
            std::slice::from_ref(slot)
        } else {
            &self.merged[(slot & !MERGED) as usize]
        }
    }

    /// Appends a group of several reports.
    fn push_merged(&mut self, members: Members) {
        self.slots.push(MERGED | self.merged.len() as u32);
        self.merged.push(members);
    }
}

/// The partition of all reports into groups, sorted by smallest member index, members
/// ascending.
fn group_reports(
    reports: &[Report],
    params: &CorroborationParams,
    left_out: Option<&[bool]>,
) -> Groups {
    let n_reports = reports.len();
    let context = {
        let _span = tracing::debug_span!("corroborate.prepare", n_reports).entered();
        Context::new(reports, params, left_out)
    };
    let links = {
        let _span = tracing::debug_span!("corroborate.candidate_links").entered();
        context.candidate_links()
    };
    let n_points = context.points.len();
    let components_span = tracing::debug_span!("corroborate.components", n_links = links.len());
    let components_guard = components_span.enter();

    // Connected components of the link graph, over positions (grid order keeps the memory
    // accesses local). Only linked points are in components of two or more; the other
    // reports are groups of one as they stand.
    let mut forest = DisjointSets::new(n_points);
    let mut linked = vec![false; n_points];
    for link in &links {
        forest.union(link.lo, link.hi);
        linked[link.lo as usize] = true;
        linked[link.hi as usize] = true;
    }
    let mut component_of_root = vec![NONE; n_points];
    let mut component_of = vec![NONE; n_points];
    let mut n_components = 0u32;
    for pos in (0..n_points).filter(|&pos| linked[pos]) {
        let root = forest.find(pos as u32) as usize;
        if component_of_root[root] == NONE {
            component_of_root[root] = n_components;
            n_components += 1;
        }
        component_of[pos] = component_of_root[root];
    }
    drop(component_of_root);
    drop(forest);

    let n_components = n_components as usize;
    let members_by_component = bucket(
        n_components,
        (0..n_points as u32)
            .filter(|&pos| linked[pos as usize])
            .map(|pos| (component_of[pos as usize], pos)),
        0,
    );
    // Links grouped by component in place (a copy would be the peak of a large run); their
    // order within a component does not matter, `merge_component` sorts them.
    let mut links = links;
    links.par_sort_unstable_by_key(|link| component_of[link.lo as usize]);
    let mut offsets = vec![0usize; n_components + 1];
    for link in &links {
        offsets[component_of[link.lo as usize] as usize + 1] += 1;
    }
    for component in 0..n_components {
        offsets[component + 1] += offsets[component];
    }
    let links_by_component = Buckets {
        offsets,
        items: links,
    };
    drop(component_of);
    drop(components_guard);

    let merge_span = tracing::debug_span!("corroborate.merge", n_components).entered();

    let mut merged: Vec<Members> = (0..n_components)
        .into_par_iter()
        .fold(
            || (MergeScratch::default(), Vec::new()),
            |(mut scratch, mut groups), component| {
                merge_component(
                    &context,
                    members_by_component.get(component),
                    links_by_component.get(component),
                    &mut scratch,
                    &mut groups,
                );
                (scratch, groups)
            },
        )
        .map(|(_, groups)| groups)
        .reduce(Vec::new, |mut a, mut b| {
            a.append(&mut b);
            a
        });
    merged.par_sort_unstable_by_key(|group| group.first().copied().unwrap_or(u32::MAX));

    // The merged groups (sorted by first member) interleaved with the groups of one (in
    // report order).
    let mut in_merged = vec![false; n_reports];
    for (pos, point) in context.points.iter().enumerate() {
        if linked[pos] {
            in_merged[point.report as usize] = true;
        }
    }
    let mut slots = Vec::with_capacity(n_reports - members_by_component.items.len() + merged.len());
    let mut next_merged = 0;
    let first_of = |index: usize| merged.get(index).and_then(|group| group.first().copied());
    for report_idx in (0..n_reports as u32).filter(|&i| !in_merged[i as usize]) {
        while first_of(next_merged).is_some_and(|first| first < report_idx) {
            slots.push(MERGED | next_merged as u32);
            next_merged += 1;
        }
        slots.push(report_idx);
    }
    slots.extend((next_merged..merged.len()).map(|index| MERGED | index as u32));
    drop(merge_span);
    Groups { slots, merged }
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

/// A counting sort of `(bucket, item)` pairs: stable, independent of anything but the input
/// order. `filler` only initialises the storage.
fn bucket<T: Copy>(
    n_buckets: usize,
    items: impl Iterator<Item = (u32, T)> + Clone,
    filler: T,
) -> Buckets<T> {
    let mut offsets = vec![0usize; n_buckets + 1];
    for (b, _) in items.clone() {
        offsets[b as usize + 1] += 1;
    }
    for i in 0..n_buckets {
        offsets[i + 1] += offsets[i];
    }
    let mut next = offsets.clone();
    let mut slots = vec![filler; offsets[n_buckets]];
    for (b, item) in items {
        slots[next[b as usize]] = item;
        next[b as usize] += 1;
    }
    Buckets {
        offsets,
        items: slots,
    }
}

/// Working memory of [`merge_component`], reused from one component to the next.
#[derive(Debug, Default)]
struct MergeScratch {
    forest: DisjointSets,
    /// The component's links, sorted.
    links: Vec<Link>,
    /// Per local member: its point.
    points: Vec<Point>,
    /// Per local member: the next member of its group (a list per group), or [`NONE`].
    next: Vec<u32>,
    /// Per group root: the first and last member of its list.
    first: Vec<u32>,
    last: Vec<u32>,
    /// Per group root: the latest start and earliest end of its members.
    max_start_ms: Vec<i64>,
    min_end_ms: Vec<i64>,
}

/// The local members of the group whose list starts at `first`.
fn group_members(next: &[u32], first: u32) -> impl Iterator<Item = u32> + '_ {
    std::iter::successors(Some(first), move |&member| match next[member as usize] {
        NONE => None,
        following => Some(following),
    })
}

/// Constrained merging inside one component (`members`: its positions, ascending); appends
/// its groups, as ascending report indices, to `groups`.
fn merge_component(
    context: &Context<'_>,
    members: &[u32],
    links: &[Link],
    scratch: &mut MergeScratch,
    groups: &mut Vec<Members>,
) {
    let n_members = members.len();
    if let ([a, b], [_]) = (members, links) {
        // The most common component: two reports and the link between them. The link says
        // they are linkable; the merged group's window is the only thing left to check.
        let (p, q) = (&context.points[*a as usize], &context.points[*b as usize]);
        let window_ms = p
            .start_ms
            .max(q.start_ms)
            .saturating_sub(p.end_ms.min(q.end_ms));
        if window_ms <= context.limits.duration_ms {
            groups.push(smallvec::smallvec![
                p.report.min(q.report),
                p.report.max(q.report)
            ]);
        } else {
            groups.push(smallvec::smallvec![p.report]);
            groups.push(smallvec::smallvec![q.report]);
        }
        return;
    }
    scratch.links.clear();
    scratch.links.extend_from_slice(links);
    scratch
        .links
        .sort_unstable_by(|x, y| context.compare_links(x, y));
    scratch.forest.reset(n_members);
    scratch.points.clear();
    scratch
        .points
        .extend(members.iter().map(|&pos| context.points[pos as usize]));
    scratch.next.clear();
    scratch.next.resize(n_members, NONE);
    scratch.first.clear();
    scratch.first.extend(0..n_members as u32);
    scratch.last.clear();
    scratch.last.extend(0..n_members as u32);
    scratch.max_start_ms.clear();
    scratch
        .max_start_ms
        .extend(scratch.points.iter().map(|p| p.start_ms));
    scratch.min_end_ms.clear();
    scratch
        .min_end_ms
        .extend(scratch.points.iter().map(|p| p.end_ms));

    // `members` is ascending: a position's local number is its place there.
    let local = |pos: u32| members.partition_point(|&m| m < pos) as u32;
    let MergeScratch {
        forest,
        links,
        points,
        next,
        first,
        last,
        max_start_ms,
        min_end_ms,
    } = scratch;
    for link in links.iter() {
        let a = forest.find(local(link.lo));
        let b = forest.find(local(link.hi));
        if a == b {
            continue;
        }
        let (a_idx, b_idx) = (a as usize, b as usize);
        let max_start = max_start_ms[a_idx].max(max_start_ms[b_idx]);
        let min_end = min_end_ms[a_idx].min(min_end_ms[b_idx]);
        if max_start.saturating_sub(min_end) > context.limits.duration_ms {
            continue;
        }
        let all_linkable = group_members(next, first[a_idx]).all(|x| {
            group_members(next, first[b_idx]).all(|y| {
                context
                    .pair_distance(&points[x as usize], &points[y as usize])
                    .is_some()
            })
        });
        if !all_linkable {
            continue;
        }
        let root = forest.union(a, b) as usize;
        let absorbed = if root == a_idx { b_idx } else { a_idx };
        next[last[root] as usize] = first[absorbed];
        last[root] = last[absorbed];
        max_start_ms[root] = max_start;
        min_end_ms[root] = min_end;
    }

    for local_idx in 0..n_members as u32 {
        if forest.find(local_idx) != local_idx {
            continue;
        }
        let mut group: Members = group_members(next, first[local_idx as usize])
            .map(|member| points[member as usize].report)
            .collect();
        group.sort_unstable();
        groups.push(group);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_model::{Casualties, Location, Source, SourceKind, Target, TargetKind, TimeSpan};

    fn located(lon: f64, lat: f64) -> Report {
        Report {
            id: "x".into(),
            source: std::sync::Arc::new(Source {
                id: "s".into(),
                kind: SourceKind::Monitor,
                party: None,
            }),
            time: TimeSpan::instant(0),
            location: Location {
                lon,
                lat,
                uncertainty_m: 0.0,
            },
            action: ActionType::Artillery,
            target: Target::of(TargetKind::Unknown),
            accused: None,
            casualties: Casualties::default(),
            details: truce_model::Details::default(),
        }
    }

    /// A point not backed by a report slice (the exact test then reads its own coordinates).
    fn point(lon: f64, lat: f64) -> Point {
        Point::new(&located(lon, lat), u32::MAX).unwrap()
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
            let q = point(
                incident::wrap_degrees(lon + dlon),
                (lat + dlat).clamp(-90.0, 90.0),
            );
            if q.polar {
                continue;
            }
            let estimate = estimate_distance_m(&p, &q);
            if estimate > APPROX_MAX_DISTANCE_M {
                continue;
            }
            let q_deg = (q.lon_rad.to_degrees(), q.lat_rad.to_degrees());
            let exact = geodesic_distance_m((p.lon_rad.to_degrees(), lat), q_deg);
            let error = (estimate - exact).abs();
            assert!(
                error <= APPROX_REL_ERROR * estimate + APPROX_ABS_ERROR_M,
                "{lon} {lat} → {q_deg:?}: estimate {estimate}, geodesic {exact}",
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
        let reports = [located(37.8, 48.0), located(37.85, 48.01)];
        let p = Point::new(&reports[0], 0).unwrap();
        let q = Point::new(&reports[1], 1).unwrap();
        let exact = geodesic_distance_m((37.8, 48.0), (37.85, 48.01));
        assert!(within(|point| reports.get(point.report as usize), &p, &q, exact).is_some());
        assert!(
            within(
                |point| reports.get(point.report as usize),
                &p,
                &q,
                exact * (1.0 - 1e-12)
            )
            .is_none()
        );
        assert!(
            within(
                |point| reports.get(point.report as usize),
                &p,
                &q,
                exact + 0.5
            )
            .is_some()
        );
        assert!(
            within(
                |point| reports.get(point.report as usize),
                &p,
                &q,
                exact - 0.5
            )
            .is_none()
        );
    }

    /// The table read for each point holds, for each action at its position in the
    /// vocabulary, the bits of exactly the actions it is compatible with.
    #[test]
    fn compatible_bits_table_matches_compatible() {
        for (i, &a) in ActionType::ALL.iter().enumerate() {
            assert_eq!(a as usize, i, "{a:?} is not at its position");
            for (j, &b) in ActionType::ALL.iter().enumerate() {
                assert_eq!(
                    COMPATIBLE_BITS[i] & (1 << j) != 0,
                    a.compatible(b),
                    "{a:?} and {b:?}"
                );
            }
        }
        assert_eq!(
            COMPATIBLE_BITS[ActionType::Artillery as usize] & (1 << ActionType::Mlrs as u16),
            1 << ActionType::Mlrs as u16
        );
    }

    #[test]
    fn floor_i64_is_the_floor() {
        for x in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            2.999,
            -2.999,
            -3.0,
            1e15 + 0.5,
            -1e15 - 0.5,
            1e300,
            -1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
        ] {
            assert_eq!(floor_i64(x), x.floor() as i64, "{x}");
        }
    }

    #[test]
    fn grid_cells_are_wide_enough() {
        let grid = Grid::new(55.0, 5_000.0);
        assert!(grid.n_cols >= 3);
        // A column at the highest latitude reached is at least 5 km wide.
        let (east_per_rad, _) = metres_per_radian(55.1_f64.to_radians());
        assert!(grid.col_width_deg.to_radians() * east_per_rad >= 5_000.0);
        // Across the antimeridian the columns are neighbours.
        let west = grid.cell(179.999, 55.0);
        let east = grid.cell(-179.999, 55.0);
        assert_eq!((east.1 + grid.n_cols - 1) % grid.n_cols, west.1);
        // Near a pole, one column per row.
        let polar = Grid::new(89.99, 5_000.0);
        assert_eq!(polar.n_cols, 1);
    }

    /// A place holds its row and column in 32 bits: they fit for the smallest cells the
    /// grid allows, at every corner of the map.
    #[test]
    fn grid_rows_and_columns_fit_32_bits() {
        for max_abs_lat in [0.0, 45.0, 88.9, 90.0] {
            let grid = Grid::new(max_abs_lat, MIN_CELL_M);
            for (lon, lat) in [
                (-180.0, -90.0),
                (180.0, 90.0),
                (0.0, 0.0),
                (179.999, -89.999),
            ] {
                let (row, col) = grid.cell(lon, lat);
                assert!(i32::try_from(row).is_ok(), "row {row} at {lat}");
                assert!(i32::try_from(col).is_ok(), "column {col} at {lon}");
                let mut report = located(lon, lat);
                report.time = TimeSpan::instant(7);
                let placed = grid.place(&report, 3).map(|p| (p.row, p.col, p.start_ms));
                assert_eq!(placed, Some((row as i32, col as i32, 7)));
            }
        }
    }

    #[test]
    fn counting_and_comparison_sorts_give_the_same_cells() {
        let mut rng = Rng(42);
        let reports: Vec<Report> = (0..3000)
            .map(|i| {
                let mut report = located(32.0 + rng.next_f64() * 8.0, 45.0 + rng.next_f64() * 4.0);
                // Few distinct starts, so that ties between starts are common.
                report.time = TimeSpan::instant((rng.next_f64() * 20.0).floor() as i64 * 60_000);
                report.id = format!("r{i}").into();
                report
            })
            .collect();
        let grid = Grid::new(49.0, 5_000.0);
        let placed: Vec<Placed> = reports
            .iter()
            .enumerate()
            .filter_map(|(i, r)| grid.place(r, i as u32))
            .collect();
        let (dense_order, dense_cells) = grid.sort_into_cells(placed.clone(), 4);
        let (sparse_order, sparse_cells) = grid.sort_into_cells(placed, 0);
        assert_eq!(dense_order, sparse_order);
        let dense: Vec<Point> = dense_order
            .iter()
            .filter_map(|&i| Point::new(&reports[i as usize], i))
            .collect();
        let runs = |cells: &[CellRun]| {
            cells
                .iter()
                .map(|c| (c.row, c.col, c.begin, c.end))
                .collect::<Vec<_>>()
        };
        assert_eq!(runs(&dense_cells), runs(&sparse_cells));
        // The bounding box (8° × 4° in 5 km cells) holds more than 4 096 cells, so the second
        // call did take the comparison sort.
        assert!(dense_cells.len() > 100);
        for cell in &dense_cells {
            let slice = &dense[cell.begin..cell.end];
            assert!(
                slice
                    .windows(2)
                    .all(|w| (w[0].start_ms, w[0].report) < (w[1].start_ms, w[1].report))
            );
            assert!(slice.iter().all(
                |p| grid.cell(p.lon_rad.to_degrees(), p.lat_rad.to_degrees())
                    == (cell.row, cell.col)
            ));
        }
    }

    /// Random reports around `(lon, lat)`, within `spread_deg` (lon, lat), from a few sources, with
    /// radii up to 3 km and intervals up to a day.
    fn scattered(
        rng: &mut Rng,
        n: usize,
        (lon, lat): (f64, f64),
        spread_deg: (f64, f64),
    ) -> Vec<Report> {
        (0..n)
            .map(|i| {
                let mut report = located(
                    incident::wrap_degrees(lon + (rng.next_f64() - 0.5) * spread_deg.0),
                    (lat + (rng.next_f64() - 0.5) * spread_deg.1).clamp(-90.0, 90.0),
                );
                report.id = format!("r{i:04}").into();
                std::sync::Arc::make_mut(&mut report.source).id =
                    format!("s{}", (rng.next_f64() * 4.0) as u32).into();
                report.location.uncertainty_m = rng.next_f64() * 3000.0;
                // Whole ten minutes: many reports share a start.
                let start = (rng.next_f64() * 432.0) as i64 * 600_000;
                let width = if rng.next_f64() < 0.2 {
                    (rng.next_f64() * 86_400_000.0) as i64
                } else {
                    0
                };
                report.time = TimeSpan {
                    start_ms: start,
                    end_ms: start + width,
                };
                report.action = [
                    ActionType::Artillery,
                    ActionType::Mlrs,
                    ActionType::DroneStrike,
                ][(rng.next_f64() * 3.0) as usize];
                report
            })
            .collect()
    }

    /// Every pair the grid search finds is linkable, and it finds every linkable pair.
    fn grid_matches_brute_force(reports: &[Report]) {
        let context = Context::new(reports, &CorroborationParams::default(), None);
        let report_pair = |a: &Point, b: &Point| (a.report.min(b.report), a.report.max(b.report));
        let mut from_grid: Vec<(u32, u32)> = context
            .candidate_links()
            .iter()
            .map(|link| {
                report_pair(
                    &context.points[link.lo as usize],
                    &context.points[link.hi as usize],
                )
            })
            .collect();
        from_grid.sort_unstable();
        let mut brute_force = Vec::new();
        for (i, p) in context.points.iter().enumerate() {
            for q in &context.points[i + 1..] {
                if context.pair_distance(p, q).is_some() {
                    brute_force.push(report_pair(p, q));
                }
            }
        }
        brute_force.sort_unstable();
        assert!(!brute_force.is_empty());
        assert_eq!(from_grid, brute_force);
    }

    #[test]
    fn grid_search_finds_exactly_the_linkable_pairs() {
        let mut rng = Rng(7);
        // Mid-latitudes, many cells.
        grid_matches_brute_force(&scattered(&mut rng, 1500, (37.0, 48.0), (0.8, 0.6)));
        // Across the antimeridian.
        grid_matches_brute_force(&scattered(&mut rng, 1500, (180.0, 64.0), (1.0, 0.6)));
        // Around a pole, every longitude: one column per row.
        grid_matches_brute_force(&scattered(&mut rng, 800, (0.0, 90.0), (360.0, 0.3)));
    }

    #[test]
    fn bucket_keeps_order_within_buckets() {
        let b = bucket(
            3,
            [(2u32, 'a'), (0, 'b'), (2, 'c'), (0, 'd')].into_iter(),
            ' ',
        );
        assert_eq!(b.get(0), &['b', 'd']);
        assert_eq!(b.get(1), &[] as &[char]);
        assert_eq!(b.get(2), &['a', 'c']);
    }
}
