//! A point index for one zone: is an event, a point with an uncertainty radius, in the zone?
//!
//! # Semantics
//! - A zone is a [`MultiPolygon`] in lon/lat degrees as RFC 7946 writes it: rings closed (an unclosed
//!   ring is closed implicitly, though `geo_types` already closes rings when a polygon is built),
//!   holes allowed, winding order free. Its edges are straight lines in lon/lat.
//! - Containment ([`ZoneIndex::contains_point`]) is the planar test in lon/lat, and the boundary
//!   counts as inside: a point is in the zone if it is in the closed region of any of its polygons,
//!   the region of a polygon being decided as `geo`'s `Intersects` decides it (non-zero winding
//!   against the exterior ring, minus the open interiors of the holes, robust predicates). This is
//!   exactly `zone.0.iter().any(|polygon| polygon.intersects(&point))`, for valid and invalid
//!   geometry alike.
//! - An event is a point and a radius `r` in metres: the closed geodesic disk of radius `r` on
//!   WGS84. [`ZoneIndex::classify`] answers [`Tri::Yes`] if the whole disk is in the zone,
//!   [`Tri::No`] if none of it is, and [`Tri::Unknown`] otherwise. With `d` the distance to the
//!   boundary ([`ZoneIndex::distance_to_boundary_m`]): a point in the zone gives `Yes` if `d >= r`
//!   and `Unknown` if `d < r`; a point outside gives `No` if `d > r` and `Unknown` if `d <= r`;
//!   `r == 0` gives the point test alone. A negative or NaN radius, or a point that is not a
//!   finite lon/lat in range, gives `Unknown`.
//! - The boundary is the union of all ring edges. A multipolygon whose parts share edges (units not
//!   dissolved) keeps those inner edges as boundary: near them an answer can only turn from `Yes`
//!   into `Unknown`, never into a wrong `Yes` or `No`.
//! - The distance from a point to an edge is [`geodesy::distance_to_segment_m`]: the geodesic
//!   (WGS84, Karney) distance to the edge's point closest in the tangent plane at the point. It is
//!   never below the true distance and, for edges up to 200 km, within 0.5 % of it.
//! - Longitudes are not wrapped: zones and events are assumed not to straddle the antimeridian.
//!
//! # Algorithm
//! A uniform grid over the zone's bounding box (two cells of margin on each side), about
//! [`CELLS_PER_EDGE`] cells per edge, between [`MIN_CELLS`] and [`MAX_CELLS`], cells roughly square
//! in metres. Each cell is
//! - *boundary* if an edge passes through it (or within a millionth of a cell of it), with the list
//!   of those edges; or
//! - *inside* or *outside*, decided by one point test at the centre of each run of such cells in a
//!   row (a run touches no edge, so the answer holds for all of it), with its Chebyshev distance
//!   `k` in cells to the nearest boundary cell (capped at 63; a two-pass distance transform).
//!
//! The class and `k` fit in one byte per cell, the only memory the common query touches, so that
//! the grids of a few dozen zones stay in cache.
//!
//! For a point in a non-boundary cell, the square of `2k - 1` cells around its cell is free of
//! edges, so a path to the boundary first leaves that square: it changes latitude by at least
//! `k - 1` cells plus the point's distance to its cell's side (at least [`geodesy::MIN_MERIDIONAL_RADIUS_M`]
//! metres per radian), or longitude by as much at the square's worst latitude (at least
//! `WGS84_A cos(lat)` per radian; precomputed per row). If `r` is below that bound, the cell
//! answers in a few operations. Otherwise (boundary cells, or large radii) the point test scans the
//! edges of the cell's row (kept in a per-row list), and the disk is checked against the edges of
//! the cells it overlaps, or those of an `rstar` R-tree for disks over more than 64 cells. Every
//! edge within `r` meets [`geodesy::disk_bounding_box`], a lon/lat box that contains the disk, so
//! the edges checked are a superset of those that matter. Each is decided with the cheap estimate
//! [`geodesy::LocalFrame::approx_distance_m`] and its error bound, and with the geodesic only when
//! the estimate is too close to `r` to tell. Points outside the grid are `No` if `r` is below the
//! margin's width in metres, or below a lower bound of their distance to the bounding box.
//!
//! [`ZoneIndex::distance_to_boundary_m`] takes the R-tree's nearest edge in a plane scaled to the
//! zone's mid-latitude as a first candidate `d`, gathers every edge meeting the disk box of radius
//! `d`, and computes them in order of a lower bound until the bound reaches the best distance.
//!
//! Every shortcut is conservative, so the answers equal the brute-force ones (containment by `geo`
//! and the minimum of `distance_to_segment_m` over all edges), which the tests check.
//!
//! Cost: building is `O(cells + edges x cells crossed)`; a query in a non-boundary cell is `O(1)`
//! (tens of nanoseconds); near the boundary it is proportional to the edges in the row and near the
//! disk.

use std::fmt;

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo_types::{Coord, MultiPolygon, Rect, coord};
use rstar::{AABB, PointDistance, RTree, RTreeObject};

use crate::geodesy::{self, LocalFrame};

/// Target number of grid cells per zone edge.
pub const CELLS_PER_EDGE: usize = 16;
/// The fewest grid cells an index uses, however few edges the zone has.
pub const MIN_CELLS: usize = 4_096;
/// The most grid cells an index uses (5 bytes each: the class byte and an offset into the
/// cells' edge lists), however many edges the zone has.
pub const MAX_CELLS: usize = 1 << 21;

/// Cells of margin around the bounding box on each side.
const MARGIN_CELLS: usize = 2;
/// Disks overlapping more grid cells than this take their candidate edges from the R-tree.
const GRID_SCAN_LIMIT: usize = 64;
/// Slack, in cells, that the rasterisation adds around edges and the bounds subtract.
const EPS_CELLS: f64 = 1e-6;

/// The distance bound of a non-boundary cell uses at most this many cells around it.
const K_BOUND_CAP: u8 = 63;
/// Radii up to this many metres test points outside the grid against a precomputed scale.
const FAR_RADIUS_M: f64 = 100_000.0;
/// A lower bound of the metres per degree of latitude.
const LAT_M_PER_DEG_FLOOR: f64 =
    geodesy::MIN_MERIDIONAL_RADIUS_M * (std::f64::consts::PI / 180.0) * (1.0 - 1e-12);

/// A cell's byte: `0` for a boundary cell, else `NON_BOUNDARY`, `INSIDE` if in the zone, and
/// `k`, the Chebyshev distance in cells to the nearest boundary cell, capped at `K_BOUND_CAP`.
const NON_BOUNDARY: u8 = 0x80;
const INSIDE: u8 = 0x40;
const K_MASK: u8 = 0x3f;

/// A three-valued answer (Kleene logic): `No < Unknown < Yes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tri {
    /// Certainly not.
    No,
    /// The uncertainty straddles the question.
    Unknown,
    /// Certainly.
    Yes,
}

impl Tri {
    /// `Yes` for `true`, `No` for `false`.
    pub fn from_bool(value: bool) -> Tri {
        if value { Tri::Yes } else { Tri::No }
    }

    /// Kleene conjunction: `No` if either is `No`, else `Unknown` if either is `Unknown`.
    pub fn and(self, other: Tri) -> Tri {
        self.min(other)
    }

    /// Kleene disjunction: `Yes` if either is `Yes`, else `Unknown` if either is `Unknown`.
    pub fn or(self, other: Tri) -> Tri {
        self.max(other)
    }

    /// Kleene negation: swaps `Yes` and `No`, keeps `Unknown` (also available as `!`).
    // An inherent method, so that `a.and(b).not()` reads without importing `std::ops::Not`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Tri {
        match self {
            Tri::No => Tri::Yes,
            Tri::Unknown => Tri::Unknown,
            Tri::Yes => Tri::No,
        }
    }

    /// `Some(true)` for `Yes`, `Some(false)` for `No`, `None` for `Unknown`.
    pub fn to_bool(self) -> Option<bool> {
        match self {
            Tri::No => Some(false),
            Tri::Unknown => None,
            Tri::Yes => Some(true),
        }
    }

    /// Whether this is `Yes`.
    pub fn is_yes(self) -> bool {
        self == Tri::Yes
    }

    /// Whether this is `No`.
    pub fn is_no(self) -> bool {
        self == Tri::No
    }

    /// Whether this is `Unknown`.
    pub fn is_unknown(self) -> bool {
        self == Tri::Unknown
    }
}

impl std::ops::Not for Tri {
    type Output = Tri;

    /// Kleene negation: swaps `Yes` and `No`, keeps `Unknown`.
    fn not(self) -> Tri {
        Tri::not(self)
    }
}

impl From<bool> for Tri {
    fn from(value: bool) -> Tri {
        Tri::from_bool(value)
    }
}

/// Why a zone cannot be indexed. Rings are numbered within their polygon: `0` is the exterior,
/// `1..` the holes in order; vertices are numbered within their ring.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ZoneError {
    /// The multipolygon has no polygon.
    #[error("zone has no polygon")]
    Empty,
    /// A ring has fewer than 3 distinct positions (4 points once closed).
    #[error("ring {ring} of polygon {polygon} has {points} points, a closed ring needs at least 4")]
    RingTooShort {
        /// Index of the polygon in the multipolygon.
        polygon: usize,
        /// Index of the ring in the polygon (0 = exterior).
        ring: usize,
        /// Number of points in the ring, counting the closing point if present.
        points: usize,
    },
    /// A coordinate is NaN or infinite.
    #[error("vertex {vertex} of ring {ring} of polygon {polygon} is not finite: ({lon}, {lat})")]
    NonFinite {
        /// Index of the polygon in the multipolygon.
        polygon: usize,
        /// Index of the ring in the polygon (0 = exterior).
        ring: usize,
        /// Index of the vertex in the ring.
        vertex: usize,
        /// The vertex's longitude.
        lon: f64,
        /// The vertex's latitude.
        lat: f64,
    },
    /// A longitude is outside [-180, 180] or a latitude outside [-90, 90].
    #[error(
        "vertex {vertex} of ring {ring} of polygon {polygon} is out of range: ({lon}, {lat}); \
         lon must be within [-180, 180] and lat within [-90, 90]"
    )]
    OutOfRange {
        /// Index of the polygon in the multipolygon.
        polygon: usize,
        /// Index of the ring in the polygon (0 = exterior).
        ring: usize,
        /// Index of the vertex in the ring.
        vertex: usize,
        /// The vertex's longitude.
        lon: f64,
        /// The vertex's latitude.
        lat: f64,
    },
    /// The zone's edges cross more grid cells or rows than the index can number.
    #[error("zone's edges cross {crossings} grid cells or rows, more than the index supports")]
    TooLarge {
        /// Number of (cell or row, edge) pairs.
        crossings: usize,
    },
    /// The zone has more edges than the index can number.
    #[error("zone has {edges} edges, more than the index supports ({max})")]
    TooManyEdges {
        /// Number of edges in the zone.
        edges: usize,
        /// The largest supported number.
        max: usize,
    },
}

/// Which polygon a ring belongs to and whether it is the exterior.
#[derive(Debug, Clone, Copy)]
struct RingInfo {
    polygon: u32,
    exterior: bool,
}

/// The zone's edges and rings, with the exact point test.
#[derive(Debug, Clone)]
struct Shape {
    /// `[ax, ay, bx, by]` in lon/lat, in ring order, rings in order (polygon, exterior, holes).
    edges: Vec<[f64; 4]>,
    /// The ring of each edge: non-decreasing along `edges`.
    edge_ring: Vec<u32>,
    rings: Vec<RingInfo>,
}

/// A ring's position relative to a point, as `geo`'s `coord_pos_relative_to_ring` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RingPos {
    Outside,
    OnBoundary,
    Inside,
}

/// A polygon's state while its rings are read in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PolygonState {
    /// The point is not within the exterior, or is in the interior of a hole.
    Out,
    /// The point is in the interior of the exterior and, so far, of no hole.
    In,
}

impl Shape {
    fn edge(&self, edge_idx: u32) -> [f64; 4] {
        self.edges[edge_idx as usize]
    }

    /// Whether `(x, y)` is in the zone, from `list`, the indices (ascending) of every edge whose
    /// latitude range contains `y` (it may hold others).
    fn contains(&self, list: &[u32], x: f64, y: f64) -> bool {
        let point = coord! { x: x, y: y };
        let mut current: Option<(u32, PolygonState)> = None;
        let mut start = 0;
        while start < list.len() {
            let ring_idx = self.edge_ring[list[start] as usize];
            let mut end = start + 1;
            while end < list.len() && self.edge_ring[list[end] as usize] == ring_idx {
                end += 1;
            }
            let ring = self.rings[ring_idx as usize];
            if let Some((polygon, state)) = current
                && polygon != ring.polygon
            {
                if state == PolygonState::In {
                    return true;
                }
                current = None;
            }
            if ring.exterior {
                match self.ring_position(&list[start..end], point) {
                    RingPos::OnBoundary => return true,
                    RingPos::Inside => current = Some((ring.polygon, PolygonState::In)),
                    RingPos::Outside => current = Some((ring.polygon, PolygonState::Out)),
                }
            } else if let Some((polygon, PolygonState::In)) = current
                && polygon == ring.polygon
            {
                // A hole of a polygon whose exterior holds the point; holes whose exterior was not
                // in the list (winding 0, outside) or that follow an enclosing hole are skipped.
                match self.ring_position(&list[start..end], point) {
                    RingPos::OnBoundary => return true,
                    RingPos::Inside => current = Some((ring.polygon, PolygonState::Out)),
                    RingPos::Outside => {}
                }
            }
            start = end;
        }
        matches!(current, Some((_, PolygonState::In)))
    }

    /// The winding-number test of `geo` (with its on-boundary short cut) over some edges of one
    /// ring: those whose latitude range contains the point's, and maybe others.
    fn ring_position(&self, ring_edges: &[u32], point: Coord<f64>) -> RingPos {
        let mut winding = 0_i32;
        for &edge_idx in ring_edges {
            let [ax, ay, bx, by] = self.edge(edge_idx);
            let start = coord! { x: ax, y: ay };
            let end = coord! { x: bx, y: by };
            if ay <= point.y {
                if by >= point.y {
                    let orientation = RobustKernel::orient2d(start, end, point);
                    if orientation == Orientation::CounterClockwise && by != point.y {
                        winding += 1;
                    } else if orientation == Orientation::Collinear
                        && value_in_between(point.x, ax, bx)
                    {
                        return RingPos::OnBoundary;
                    }
                }
            } else if by <= point.y {
                let orientation = RobustKernel::orient2d(start, end, point);
                if orientation == Orientation::Clockwise {
                    winding -= 1;
                } else if orientation == Orientation::Collinear && value_in_between(point.x, ax, bx)
                {
                    return RingPos::OnBoundary;
                }
            }
        }
        if winding == 0 {
            RingPos::Outside
        } else {
            RingPos::Inside
        }
    }
}

fn value_in_between(value: f64, bound_1: f64, bound_2: f64) -> bool {
    if bound_1 < bound_2 {
        value >= bound_1 && value <= bound_2
    } else {
        value >= bound_2 && value <= bound_1
    }
}

/// The uniform grid's geometry.
#[derive(Debug, Clone, Copy)]
struct Grid {
    x0: f64,
    y0: f64,
    cell_w: f64,
    cell_h: f64,
    inv_w: f64,
    inv_h: f64,
    nx: usize,
    ny: usize,
    /// Lower bound of the metres of a path crossing one cell height.
    lat_cell_m: f64,
    /// Lower bound of the distance from a point outside the grid to the bounding box.
    outside_bound_m: f64,
    /// Slack in degrees added around edges when they are rasterised.
    eps_x: f64,
    eps_y: f64,
}

impl Grid {
    fn for_bbox(bbox: Rect<f64>, n_edges: usize) -> Grid {
        let target = n_edges
            .saturating_mul(CELLS_PER_EDGE)
            .clamp(MIN_CELLS, MAX_CELLS) as f64;
        let width = bbox.width();
        let height = bbox.height();
        let mid_lat = 0.5 * (bbox.min().y + bbox.max().y);
        let cos_mid = (mid_lat.to_radians().cos()).max(0.05);
        // Cell side `side` in "north degrees": square in metres.
        let width_n = width * cos_mid;
        let side = (width_n * height / target)
            .sqrt()
            .max(width_n.max(height) / target)
            .max(1e-7);
        let nx_inner = ((width_n / side).ceil() as usize).clamp(1, 8_190);
        let ny_inner = ((height / side).ceil() as usize).clamp(1, 8_190);
        let cell_w = if width > 0.0 {
            width / nx_inner as f64
        } else {
            side / cos_mid
        };
        let cell_h = if height > 0.0 {
            height / ny_inner as f64
        } else {
            side
        };
        let nx = nx_inner + 2 * MARGIN_CELLS;
        let ny = ny_inner + 2 * MARGIN_CELLS;
        let y0 = bbox.min().y - MARGIN_CELLS as f64 * cell_h;
        // A path from outside the grid to the bounding box crosses the margin: across its height,
        // or across its width within the grid's latitudes.
        let margin = MARGIN_CELLS as f64 - EPS_CELLS;
        let grid_abs_lat = y0.abs().max((y0 + ny as f64 * cell_h).abs());
        let outside_bound_m = (geodesy::MIN_MERIDIONAL_RADIUS_M * (margin * cell_h).to_radians())
            .min(lon_m_per_deg_at_or_below(grid_abs_lat) * margin * cell_w)
            * (1.0 - 1e-9);
        Grid {
            x0: bbox.min().x - MARGIN_CELLS as f64 * cell_w,
            y0,
            outside_bound_m,
            cell_w,
            cell_h,
            inv_w: 1.0 / cell_w,
            inv_h: 1.0 / cell_h,
            nx,
            ny,
            lat_cell_m: geodesy::MIN_MERIDIONAL_RADIUS_M * cell_h.to_radians() * (1.0 - 1e-9),
            eps_x: (cell_w * EPS_CELLS).max(1e-11),
            eps_y: (cell_h * EPS_CELLS).max(1e-11),
        }
    }

    /// `(ix, iy, fx, fy)`: the cell of a point and its position in cell units, if in the grid.
    #[inline]
    fn locate(&self, lon: f64, lat: f64) -> Option<(usize, usize, f64, f64)> {
        let fx = (lon - self.x0) * self.inv_w;
        let fy = (lat - self.y0) * self.inv_h;
        if fx >= 0.0 && fy >= 0.0 && fx < self.nx as f64 && fy < self.ny as f64 {
            Some((fx as usize, fy as usize, fx, fy))
        } else {
            None
        }
    }

    /// The columns whose cells hold longitudes `lo..=hi`, clipped to the grid.
    fn cols(&self, lo: f64, hi: f64) -> Option<(usize, usize)> {
        index_range(
            (lo - self.x0) * self.inv_w,
            (hi - self.x0) * self.inv_w,
            self.nx,
        )
    }

    /// The rows whose cells hold latitudes `lo..=hi`, clipped to the grid.
    fn rows(&self, lo: f64, hi: f64) -> Option<(usize, usize)> {
        index_range(
            (lo - self.y0) * self.inv_h,
            (hi - self.y0) * self.inv_h,
            self.ny,
        )
    }

    fn row_lat_range(&self, iy: usize) -> (f64, f64) {
        let y = self.y0 + iy as f64 * self.cell_h;
        (y, y + self.cell_h)
    }
}

/// `floor(lo)..=floor(hi)` clipped to `0..n`, or `None` if they do not meet. (No `floor`
/// call: on the non-negative values that reach a cast, truncation is the floor, and `floor`
/// is a library call on the baseline x86-64 target.)
fn index_range(lo: f64, hi: f64, n: usize) -> Option<(usize, usize)> {
    if hi.is_nan() || lo.is_nan() || hi < 0.0 || lo >= n as f64 {
        return None;
    }
    let first = if lo < 0.0 { 0 } else { lo as usize };
    let last = if hi >= n as f64 { n - 1 } else { hi as usize };
    (first <= last).then_some((first, last))
}

/// An edge in the R-tree, in `(lon * lon_scale, lat)` coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
struct EdgeEntry {
    idx: u32,
    a: [f64; 2],
    b: [f64; 2],
}

impl RTreeObject for EdgeEntry {
    type Envelope = AABB<[f64; 2]>;

    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(self.a, self.b)
    }
}

impl PointDistance for EdgeEntry {
    fn distance_2(&self, point: &[f64; 2]) -> f64 {
        let dx = self.b[0] - self.a[0];
        let dy = self.b[1] - self.a[1];
        let px = point[0] - self.a[0];
        let py = point[1] - self.a[1];
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            ((px * dx + py * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let ex = px - t * dx;
        let ey = py - t * dy;
        ex * ex + ey * ey
    }
}

/// The index of one zone; see the [module documentation](self) for the semantics.
///
/// Immutable once built, `Send + Sync`: share it between threads.
#[derive(Clone)]
pub struct ZoneIndex {
    bbox: Rect<f64>,
    shape: Shape,
    grid: Grid,
    /// Per cell: `0` for a boundary cell, or `NON_BOUNDARY | INSIDE? | k` (one byte, so that the
    /// grids of many zones stay in cache).
    cells: Vec<u8>,
    /// Per row: a lower bound of the metres of a path crossing one cell width within
    /// `K_BOUND_CAP - 1` rows of the row.
    row_lon_cell_m: Vec<f64>,
    /// A lower bound of the metres per degree of longitude for paths of at most `FAR_RADIUS_M`
    /// from points within that distance of the bounding box's latitudes.
    far_lon_m_per_deg: f64,
    /// Cell `c`'s edges are `cell_edges[cell_start[c]..cell_start[c + 1]]`.
    cell_start: Vec<u32>,
    cell_edges: Vec<u32>,
    /// Row `iy`'s edges (ascending) are `row_edges[row_start[iy]..row_start[iy + 1]]`.
    row_start: Vec<u32>,
    row_edges: Vec<u32>,
    rtree: RTree<EdgeEntry>,
    rtree_lon_scale: f64,
}

impl fmt::Debug for ZoneIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZoneIndex")
            .field("bbox", &self.bbox)
            .field("edges", &self.shape.edges.len())
            .field("rings", &self.shape.rings.len())
            .field("grid", &(self.grid.nx, self.grid.ny))
            .field(
                "boundary_cells",
                &self.cells.iter().filter(|&&c| c == 0).count(),
            )
            .finish()
    }
}

/// Turns `(key, value)` pairs into CSR form over keys `0..n_keys`: `(start, values)`.
fn to_csr(mut pairs: Vec<(u32, u32)>, n_keys: usize) -> (Vec<u32>, Vec<u32>) {
    pairs.sort_unstable();
    pairs.dedup();
    let mut start = vec![0_u32; n_keys + 1];
    for &(key, _) in &pairs {
        start[key as usize + 1] += 1;
    }
    for key in 0..n_keys {
        start[key + 1] += start[key];
    }
    (start, pairs.into_iter().map(|(_, value)| value).collect())
}

impl ZoneIndex {
    /// Indexes a zone.
    ///
    /// Rejects a zone without polygons, a ring with fewer than 4 points once closed (unclosed rings
    /// are tolerated and closed implicitly), a vertex that is not finite, and a vertex outside
    /// lon [-180, 180] / lat [-90, 90]. Self-intersecting or overlapping rings are accepted and read
    /// as `geo` reads them (see the module documentation).
    pub fn new(zone: &MultiPolygon<f64>) -> Result<ZoneIndex, ZoneError> {
        let shape = collect_shape(zone)?;
        let n_edges = shape.edges.len();
        let mut bbox_min = coord! { x: f64::INFINITY, y: f64::INFINITY };
        let mut bbox_max = coord! { x: f64::NEG_INFINITY, y: f64::NEG_INFINITY };
        for &[ax, ay, bx, by] in &shape.edges {
            bbox_min.x = bbox_min.x.min(ax).min(bx);
            bbox_min.y = bbox_min.y.min(ay).min(by);
            bbox_max.x = bbox_max.x.max(ax).max(bx);
            bbox_max.y = bbox_max.y.max(ay).max(by);
        }
        let bbox = Rect::new(bbox_min, bbox_max);
        let grid = Grid::for_bbox(bbox, n_edges);
        let n_cells = grid.nx * grid.ny;

        // Rasterise the edges into cells (conservatively) and rows.
        let mut cell_pairs: Vec<(u32, u32)> = Vec::with_capacity(n_edges * 3);
        let mut row_pairs: Vec<(u32, u32)> = Vec::with_capacity(n_edges * 2);
        for (edge_idx, &[ax, ay, bx, by]) in shape.edges.iter().enumerate() {
            let edge_idx = edge_idx as u32;
            let (y_lo, y_hi) = (ay.min(by), ay.max(by));
            let Some((row_first, row_last)) = grid.rows(y_lo - grid.eps_y, y_hi + grid.eps_y)
            else {
                continue;
            };
            for iy in row_first..=row_last {
                row_pairs.push((iy as u32, edge_idx));
                let (band_lo, band_hi) = grid.row_lat_range(iy);
                let band_lo = (band_lo - grid.eps_y).max(y_lo);
                let band_hi = (band_hi + grid.eps_y).min(y_hi);
                let (x_lo, x_hi) = if ay == by {
                    (ax.min(bx), ax.max(bx))
                } else {
                    let x_at = |y: f64| {
                        let t = ((y - ay) / (by - ay)).clamp(0.0, 1.0);
                        ax + t * (bx - ax)
                    };
                    let (x1, x2) = (x_at(band_lo), x_at(band_hi));
                    (x1.min(x2), x1.max(x2))
                };
                if let Some((col_first, col_last)) = grid.cols(x_lo - grid.eps_x, x_hi + grid.eps_x)
                {
                    for ix in col_first..=col_last {
                        cell_pairs.push(((iy * grid.nx + ix) as u32, edge_idx));
                    }
                }
            }
        }
        if cell_pairs.len() >= u32::MAX as usize || row_pairs.len() >= u32::MAX as usize {
            let crossings = cell_pairs.len().max(row_pairs.len());
            return Err(ZoneError::TooLarge { crossings });
        }
        let (row_start, row_edges) = to_csr(row_pairs, grid.ny);
        let (cell_start, cell_edges) = to_csr(cell_pairs, n_cells);

        // Cells with edges are boundary cells; the others are classified per run in a row.
        let mut cells: Vec<u8> = (0..n_cells)
            .map(|c| {
                if cell_start[c] == cell_start[c + 1] {
                    NON_BOUNDARY
                } else {
                    0
                }
            })
            .collect();
        for iy in 0..grid.ny {
            let row = &row_edges[row_start[iy] as usize..row_start[iy + 1] as usize];
            let y = grid.y0 + (iy as f64 + 0.5) * grid.cell_h;
            let mut run_inside: Option<bool> = None;
            for ix in 0..grid.nx {
                let cell = &mut cells[iy * grid.nx + ix];
                if *cell & NON_BOUNDARY == 0 {
                    run_inside = None;
                    continue;
                }
                let inside = *run_inside.get_or_insert_with(|| {
                    let x = grid.x0 + (ix as f64 + 0.5) * grid.cell_w;
                    shape.contains(row, x, y)
                });
                if inside {
                    *cell |= INSIDE;
                }
            }
        }

        // Chebyshev distance, in cells, to the nearest boundary cell (two passes).
        let chebyshev = chebyshev_distance(&cells, grid.nx, grid.ny);
        for (cell, k) in cells.iter_mut().zip(chebyshev) {
            if *cell & NON_BOUNDARY != 0 {
                // k >= 1 here; the cap keeps it within K_MASK.
                *cell |= k.min(u32::from(K_BOUND_CAP)) as u8;
            }
        }
        // The bound uses a square of at most K_BOUND_CAP - 1 cells around the point's cell, whose
        // worst latitude gives the row's metres per cell width.
        let reach = f64::from(K_BOUND_CAP - 1) * grid.cell_h + grid.eps_y;
        let row_lon_cell_m = (0..grid.ny)
            .map(|iy| {
                let (row_lo, row_hi) = grid.row_lat_range(iy);
                let worst_abs_lat = (row_lo - reach).abs().max((row_hi + reach).abs());
                lon_m_per_deg_at_or_below(worst_abs_lat) * grid.cell_w
            })
            .collect();
        let band = bbox.min().y.abs().max(bbox.max().y.abs())
            + 2.0 * (FAR_RADIUS_M / geodesy::MIN_MERIDIONAL_RADIUS_M).to_degrees();
        let far_lon_m_per_deg = lon_m_per_deg_at_or_below(band);

        let mid_lat = 0.5 * (bbox.min().y + bbox.max().y);
        let rtree_lon_scale = mid_lat.to_radians().cos().max(0.01);
        let entries = shape
            .edges
            .iter()
            .enumerate()
            .map(|(edge_idx, &[ax, ay, bx, by])| EdgeEntry {
                idx: edge_idx as u32,
                a: [ax * rtree_lon_scale, ay],
                b: [bx * rtree_lon_scale, by],
            })
            .collect();
        let rtree = RTree::bulk_load(entries);

        Ok(ZoneIndex {
            bbox,
            shape,
            grid,
            cells,
            row_lon_cell_m,
            far_lon_m_per_deg,
            cell_start,
            cell_edges,
            row_start,
            row_edges,
            rtree,
            rtree_lon_scale,
        })
    }

    /// The bounding box of the zone's vertices.
    pub fn bbox(&self) -> Rect<f64> {
        self.bbox
    }

    /// The zone's edges, `[ax, ay, bx, by]` in lon/lat, every ring's in turn.
    pub fn edges(&self) -> &[[f64; 4]] {
        &self.shape.edges
    }

    /// The number of edges of the zone.
    pub fn n_edges(&self) -> usize {
        self.shape.edges.len()
    }

    /// Whether `(lon, lat)` is in the zone: the planar test in lon/lat; the boundary counts as
    /// inside. `false` for a NaN coordinate.
    pub fn contains_point(&self, lon: f64, lat: f64) -> bool {
        match self.grid.locate(lon, lat) {
            None => false,
            Some((ix, iy, _, _)) => {
                let cell = self.cells[iy * self.grid.nx + ix];
                if cell & NON_BOUNDARY != 0 {
                    cell & INSIDE != 0
                } else {
                    self.row_contains(iy, lon, lat)
                }
            }
        }
    }

    fn row_contains(&self, iy: usize, lon: f64, lat: f64) -> bool {
        let row = &self.row_edges[self.row_start[iy] as usize..self.row_start[iy + 1] as usize];
        self.shape.contains(row, lon, lat)
    }

    /// Whether the closed geodesic disk of `radius_m` metres around `(lon, lat)` is wholly in the
    /// zone (`Yes`), wholly outside it (`No`) or neither (`Unknown`); see the module documentation
    /// for the exact rule and the answers to invalid input.
    pub fn classify(&self, lon: f64, lat: f64, radius_m: f64) -> Tri {
        if radius_m.is_nan() || radius_m < 0.0 || !valid_lon_lat(lon, lat) {
            return Tri::Unknown;
        }
        let Some((ix, iy, fx, fy)) = self.grid.locate(lon, lat) else {
            if radius_m < self.grid.outside_bound_m || self.bbox_is_farther_than(lon, lat, radius_m)
            {
                return Tri::No;
            }
            return self.classify_near(lon, lat, radius_m, false);
        };
        let cell = self.cells[iy * self.grid.nx + ix];
        if cell & NON_BOUNDARY != 0 {
            let inside = cell & INSIDE != 0;
            if radius_m == 0.0 {
                return Tri::from_bool(inside);
            }
            // The square of k - 1 cells around this one is edge-free: to reach an edge, a path
            // crosses it plus the point's distance to its own cell's side.
            let k_minus_1 = f64::from(cell & K_MASK) - 1.0;
            let frac_x = fx - ix as f64;
            let frac_y = fy - iy as f64;
            let across_y =
                (k_minus_1 + frac_y.min(1.0 - frac_y) - EPS_CELLS) * self.grid.lat_cell_m;
            let across_x =
                (k_minus_1 + frac_x.min(1.0 - frac_x) - EPS_CELLS) * self.row_lon_cell_m[iy];
            if radius_m < across_x.min(across_y) {
                return Tri::from_bool(inside);
            }
            return self.classify_near(lon, lat, radius_m, inside);
        }
        let inside = self.row_contains(iy, lon, lat);
        if radius_m == 0.0 {
            return Tri::from_bool(inside);
        }
        self.classify_near(lon, lat, radius_m, inside)
    }

    /// Whether the bounding box is surely farther than `radius_m` from a point (outside the grid).
    #[inline]
    fn bbox_is_farther_than(&self, lon: f64, lat: f64, radius_m: f64) -> bool {
        let (min, max) = (self.bbox.min(), self.bbox.max());
        if radius_m > FAR_RADIUS_M {
            return geodesy::box_is_farther_than(
                (lon, lat),
                (min.x, max.x, min.y, max.y),
                radius_m,
            );
        }
        let dlat = (min.y - lat).max(lat - max.y).max(0.0);
        // The longitude gap the shorter way round the globe.
        let gap = |x: f64| (min.x - x).max(x - max.x).max(0.0);
        let dlon = gap(lon).min(gap(lon + 360.0)).min(gap(lon - 360.0));
        // If the latitude bound is at most r, |lat| + 2 r / M_min covers the band of any path of
        // length r, where `far_lon_m_per_deg` applies; if it is above r, the maximum is too.
        radius_m < (dlat * LAT_M_PER_DEG_FLOOR).max(dlon * self.far_lon_m_per_deg)
    }

    /// The answer once containment is known and the disk may reach the boundary.
    fn classify_near(&self, lon: f64, lat: f64, radius_m: f64, inside: bool) -> Tri {
        // Inside: Unknown iff some edge is nearer than r. Outside: iff some edge is within r.
        if self.disk_reaches_boundary((lon, lat), radius_m, inside) {
            Tri::Unknown
        } else {
            Tri::from_bool(inside)
        }
    }

    /// Whether some edge is at distance `< radius_m` (`strict`) or `<= radius_m` from `p`, the
    /// distance being [`geodesy::distance_to_segment_m`].
    fn disk_reaches_boundary(&self, p: (f64, f64), radius_m: f64, strict: bool) -> bool {
        let frame = LocalFrame::new(p);
        let disk = geodesy::disk_bounding_box(p, radius_m);
        let grid = &self.grid;
        let (Some((col_first, col_last)), Some((row_first, row_last))) =
            (grid.cols(disk.0, disk.1), grid.rows(disk.2, disk.3))
        else {
            return false;
        };
        let n_cells = (col_last - col_first + 1) * (row_last - row_first + 1);
        if n_cells <= GRID_SCAN_LIMIT {
            for iy in row_first..=row_last {
                for ix in col_first..=col_last {
                    let cell_idx = iy * grid.nx + ix;
                    let edges = &self.cell_edges[self.cell_start[cell_idx] as usize
                        ..self.cell_start[cell_idx + 1] as usize];
                    for &edge_idx in edges {
                        if self.edge_within(&frame, &disk, edge_idx, radius_m, strict) {
                            return true;
                        }
                    }
                }
            }
            false
        } else {
            self.rtree
                .locate_in_envelope_intersecting(&self.rtree_envelope(disk))
                .any(|entry| self.edge_within(&frame, &disk, entry.idx, radius_m, strict))
        }
    }

    fn rtree_envelope(
        &self,
        (lon_min, lon_max, lat_min, lat_max): (f64, f64, f64, f64),
    ) -> AABB<[f64; 2]> {
        AABB::from_corners(
            [lon_min * self.rtree_lon_scale, lat_min],
            [lon_max * self.rtree_lon_scale, lat_max],
        )
    }

    /// Whether edge `edge_idx` is within `radius_m` of the frame's origin (see
    /// [`ZoneIndex::disk_reaches_boundary`]); `disk` is the disk's bounding box.
    #[inline]
    fn edge_within(
        &self,
        frame: &LocalFrame,
        disk: &(f64, f64, f64, f64),
        edge_idx: u32,
        radius_m: f64,
        strict: bool,
    ) -> bool {
        let [ax, ay, bx, by] = self.shape.edge(edge_idx);
        if ax.max(bx) < disk.0 || ax.min(bx) > disk.1 || ay.max(by) < disk.2 || ay.min(by) > disk.3
        {
            return false;
        }
        let q = frame.closest_point_on_segment((ax, ay), (bx, by));
        let estimate = frame.approx_distance_m(q);
        if frame.approx_is_trusted(estimate) {
            let margin = estimate * geodesy::APPROX_REL_ERROR + geodesy::APPROX_ABS_ERROR_M;
            if estimate + margin < radius_m {
                return true;
            }
            if estimate - margin > radius_m {
                return false;
            }
        }
        let distance = geodesy::geodesic_distance_m(frame.origin(), q);
        if strict {
            distance < radius_m
        } else {
            distance <= radius_m
        }
    }

    /// The geodesic distance in metres from `(lon, lat)` to the nearest point of the zone's boundary
    /// (the minimum of [`geodesy::distance_to_segment_m`] over all edges); NaN for a point that is
    /// not a finite lon/lat in range.
    pub fn distance_to_boundary_m(&self, lon: f64, lat: f64) -> f64 {
        if !valid_lon_lat(lon, lat) {
            return f64::NAN;
        }
        let p = (lon, lat);
        let frame = LocalFrame::new(p);
        let edge_distance = |edge_idx: u32| {
            let [ax, ay, bx, by] = self.shape.edge(edge_idx);
            frame.distance_to_segment_m((ax, ay), (bx, by))
        };
        // A first candidate: the nearest edge in the R-tree's scaled plane.
        let Some(first) = self
            .rtree
            .nearest_neighbor(&[lon * self.rtree_lon_scale, lat])
        else {
            return f64::NAN;
        };
        let mut best = edge_distance(first.idx);
        // Every edge that could beat it meets the disk of radius `best`: gather them, order them by
        // a lower bound, and stop when the bound reaches the best distance found.
        let disk = geodesy::disk_bounding_box(p, best);
        let band_abs_lat = lat.abs() + (best / geodesy::MIN_MERIDIONAL_RADIUS_M).to_degrees();
        let lon_m_per_deg = if band_abs_lat >= 90.0 {
            0.0
        } else {
            geodesy::WGS84_A * band_abs_lat.to_radians().cos() * 1.0_f64.to_radians()
        };
        let lat_m_per_deg = geodesy::MIN_MERIDIONAL_RADIUS_M * 1.0_f64.to_radians();
        let mut candidates: Vec<(f64, u32)> = self
            .rtree
            .locate_in_envelope_intersecting(&self.rtree_envelope(disk))
            .map(|entry| {
                let [ax, ay, bx, by] = self.shape.edge(entry.idx);
                let dlat = (ay.min(by) - lat).max(lat - ay.max(by)).max(0.0);
                let dlon = (ax.min(bx) - lon).max(lon - ax.max(bx)).max(0.0);
                let bound = (dlat * lat_m_per_deg).max(dlon * lon_m_per_deg) * (1.0 - 1e-9);
                (bound, entry.idx)
            })
            .collect();
        candidates.sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        for (bound, edge_idx) in candidates {
            if bound >= best {
                break;
            }
            best = best.min(edge_distance(edge_idx));
        }
        best
    }
}

/// A lower bound of the metres per degree of longitude at latitudes up to `abs_lat` degrees.
fn lon_m_per_deg_at_or_below(abs_lat: f64) -> f64 {
    if abs_lat >= 90.0 {
        0.0
    } else {
        (geodesy::WGS84_A * abs_lat.to_radians().cos() * 1.0_f64.to_radians() * (1.0 - 1e-9))
            .max(0.0)
    }
}

pub(crate) fn valid_lon_lat(lon: f64, lat: f64) -> bool {
    (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)
}

/// Validates the zone and lists its edges and rings.
fn collect_shape(zone: &MultiPolygon<f64>) -> Result<Shape, ZoneError> {
    if zone.0.is_empty() {
        return Err(ZoneError::Empty);
    }
    let mut shape = Shape {
        edges: Vec::new(),
        edge_ring: Vec::new(),
        rings: Vec::new(),
    };
    for (polygon, poly) in zone.0.iter().enumerate() {
        let rings = std::iter::once(poly.exterior()).chain(poly.interiors());
        for (ring, line_string) in rings.enumerate() {
            let coords = &line_string.0;
            for (vertex, c) in coords.iter().enumerate() {
                if !c.x.is_finite() || !c.y.is_finite() {
                    return Err(ZoneError::NonFinite {
                        polygon,
                        ring,
                        vertex,
                        lon: c.x,
                        lat: c.y,
                    });
                }
                if !valid_lon_lat(c.x, c.y) {
                    return Err(ZoneError::OutOfRange {
                        polygon,
                        ring,
                        vertex,
                        lon: c.x,
                        lat: c.y,
                    });
                }
            }
            let closed = coords.len() > 1 && coords.first() == coords.last();
            let points = if closed {
                coords.len()
            } else {
                coords.len() + 1
            };
            if coords.is_empty() || points < 4 {
                return Err(ZoneError::RingTooShort {
                    polygon,
                    ring,
                    points: coords.len(),
                });
            }
            let ring_idx = shape.rings.len() as u32;
            shape.rings.push(RingInfo {
                polygon: polygon as u32,
                exterior: ring == 0,
            });
            for pair in coords.windows(2) {
                shape
                    .edges
                    .push([pair[0].x, pair[0].y, pair[1].x, pair[1].y]);
                shape.edge_ring.push(ring_idx);
            }
            if !closed {
                let (last, first) = (coords[coords.len() - 1], coords[0]);
                shape.edges.push([last.x, last.y, first.x, first.y]);
                shape.edge_ring.push(ring_idx);
            }
        }
    }
    let max = u32::MAX as usize - 1;
    if shape.edges.len() > max {
        return Err(ZoneError::TooManyEdges {
            edges: shape.edges.len(),
            max,
        });
    }
    Ok(shape)
}

/// Chebyshev distance in cells from each cell to the nearest boundary cell (0 for a boundary cell),
/// by the classic two-pass chamfer transform, exact for this metric.
fn chebyshev_distance(cells: &[u8], nx: usize, ny: usize) -> Vec<u32> {
    const FAR: u32 = u32::MAX / 2;
    let mut dist: Vec<u32> = cells
        .iter()
        .map(|&cell| if cell & NON_BOUNDARY == 0 { 0 } else { FAR })
        .collect();
    for iy in 0..ny {
        for ix in 0..nx {
            let mut d = dist[iy * nx + ix];
            if ix > 0 {
                d = d.min(dist[iy * nx + ix - 1] + 1);
            }
            if iy > 0 {
                let up = (iy - 1) * nx;
                d = d.min(dist[up + ix] + 1);
                if ix > 0 {
                    d = d.min(dist[up + ix - 1] + 1);
                }
                if ix + 1 < nx {
                    d = d.min(dist[up + ix + 1] + 1);
                }
            }
            dist[iy * nx + ix] = d;
        }
    }
    for iy in (0..ny).rev() {
        for ix in (0..nx).rev() {
            let mut d = dist[iy * nx + ix];
            if ix + 1 < nx {
                d = d.min(dist[iy * nx + ix + 1] + 1);
            }
            if iy + 1 < ny {
                let down = (iy + 1) * nx;
                d = d.min(dist[down + ix] + 1);
                if ix > 0 {
                    d = d.min(dist[down + ix - 1] + 1);
                }
                if ix + 1 < nx {
                    d = d.min(dist[down + ix + 1] + 1);
                }
            }
            dist[iy * nx + ix] = d;
        }
    }
    dist
}
