//! Which of an agreement's zones an event may touch, answered once per incident so that judging
//! classifies only those zones against their [`ZoneIndex`]es; every other zone is surely
//! [`Tri::No`].
//!
//! A rule often lists every zone of an agreement (the peer benchmark's rules list 25), while an
//! event lies in one or two of them. Without a screen, judging asks each zone's index in turn.
//!
//! # Algorithm
//! A uniform grid in lon/lat over the bounding box of every zone (about [`TARGET_CELLS`] cells).
//! Each cell holds a bit set of the zones that may have a point in it:
//! - a zone's bit is set in every cell that the bounding box of one of its edges meets (widened
//!   by a millionth of a cell), so every boundary point of the zone lies in a marked cell;
//! - in a cell that no edge of a zone meets, the zone is either everywhere or nowhere, and one
//!   point test at the cell's centre decides which.
//!
//! So each zone, as a closed region, lies in the union of its marked cells. An event, a point
//! with an uncertainty radius, lies in its [`geodesy::disk_bounding_box`], which contains every
//! point within the radius. If none of the cells that box meets marks a zone, no point of the
//! zone (its boundary included) is within the radius, and the zone's index would answer `No`
//! (see [`ZoneIndex::classify`]: a point outside the zone gives `No` when the boundary is
//! farther than the radius). The screen answers nothing (every zone is a candidate) for invalid
//! input, which the index answers with `Unknown`, for disks over more than [`MAX_QUERY_CELLS`]
//! cells, and for disk boxes that cross the antimeridian.

use smallvec::SmallVec;

use crate::geodesy;
use crate::zone_index::{Tri, ZoneIndex, valid_lon_lat};

/// Per zone of an agreement, whether an incident is in it, once known: inline for up to 32
/// zones, so judging an incident allocates nothing for it.
pub type ZoneTris = SmallVec<[Option<Tri>; 32]>;

/// About this many cells over the zones' bounding box.
const TARGET_CELLS: usize = 4096;
/// Disks meeting more cells than this are not screened (every zone is a candidate).
const MAX_QUERY_CELLS: usize = 16;
/// Slack, in cells, added around edges and disk boxes so that rounding cannot drop a cell.
const EPS_CELLS: f64 = 1e-6;

/// The zones an event may touch: bit `z` of word `z / 64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSet(SmallVec<[u64; 2]>);

impl ZoneSet {
    /// The set of the zones `zones` (indices).
    pub fn of(zones: impl IntoIterator<Item = usize>) -> ZoneSet {
        let mut words: SmallVec<[u64; 2]> = SmallVec::new();
        for z in zones {
            if words.len() <= z / 64 {
                words.resize(z / 64 + 1, 0);
            }
            words[z / 64] |= 1 << (z % 64);
        }
        ZoneSet(words)
    }

    /// Whether zone `z` is in the set.
    pub fn contains(&self, z: usize) -> bool {
        self.0
            .get(z / 64)
            .is_some_and(|word| word & (1 << (z % 64)) != 0)
    }

    /// The zones in both sets, ascending.
    pub fn common<'s>(&'s self, other: &'s ZoneSet) -> impl Iterator<Item = usize> + 's {
        self.0
            .iter()
            .zip(&other.0)
            .enumerate()
            .flat_map(|(w, (a, b))| {
                let mut bits = a & b;
                std::iter::from_fn(move || {
                    (bits != 0).then(|| {
                        let z = w * 64 + bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        z
                    })
                })
            })
    }

    /// One entry per zone of `n_zones`: `Some(Tri::No)` for the zones not in the set (surely
    /// missed, when the set is a screen's candidates), `None` for the others.
    pub fn misses(&self, n_zones: usize) -> ZoneTris {
        let mut tris = SmallVec::from_elem(Some(Tri::No), n_zones);
        for z in self.common(self) {
            if let Some(tri) = tris.get_mut(z) {
                *tri = None;
            }
        }
        tris
    }
}

/// The grid of zone bit sets; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct ZoneScreen {
    n_zones: usize,
    x0: f64,
    y0: f64,
    cell_w: f64,
    cell_h: f64,
    nx: usize,
    ny: usize,
    /// `u64` words per cell.
    words: usize,
    /// Cell `iy * nx + ix`'s zones are `bits[cell * words..(cell + 1) * words]`.
    bits: Vec<u64>,
}

impl ZoneScreen {
    /// The screen of the zones whose areas are `zones[z]` (every area of zone `z`, whichever
    /// party or weapon it is for). `None` when there is no zone or no finite bounding box.
    pub fn new(zones: &[Vec<ZoneIndex>]) -> Option<ZoneScreen> {
        let boxes = zones.iter().flatten().map(ZoneIndex::bbox);
        let (mut x_min, mut y_min) = (f64::INFINITY, f64::INFINITY);
        let (mut x_max, mut y_max) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for rect in boxes {
            x_min = x_min.min(rect.min().x);
            y_min = y_min.min(rect.min().y);
            x_max = x_max.max(rect.max().x);
            y_max = y_max.max(rect.max().y);
        }
        if !(x_min.is_finite() && y_min.is_finite() && x_max.is_finite() && y_max.is_finite()) {
            return None;
        }
        // Cells square in degrees; a degenerate box still gets cells of some size.
        let width = (x_max - x_min).max(1e-6);
        let height = (y_max - y_min).max(1e-6);
        let side = (width * height / TARGET_CELLS as f64).sqrt();
        let nx = ((width / side).ceil() as usize).clamp(1, TARGET_CELLS);
        let ny = ((height / side).ceil() as usize).clamp(1, TARGET_CELLS);
        let words = zones.len().div_ceil(64).max(1);
        let mut screen = ZoneScreen {
            n_zones: zones.len(),
            x0: x_min,
            y0: y_min,
            cell_w: width / nx as f64,
            cell_h: height / ny as f64,
            nx,
            ny,
            words,
            bits: vec![0; nx * ny * words],
        };
        for (z, areas) in zones.iter().enumerate() {
            for area in areas {
                for &[ax, ay, bx, by] in area.edges() {
                    let (ix0, ix1) = screen.columns(ax.min(bx), ax.max(bx));
                    let (iy0, iy1) = screen.rows(ay.min(by), ay.max(by));
                    for iy in iy0..=iy1 {
                        for ix in ix0..=ix1 {
                            screen.mark(ix, iy, z);
                        }
                    }
                }
            }
            for area in areas {
                let rect = area.bbox();
                let (ix0, ix1) = screen.columns(rect.min().x, rect.max().x);
                let (iy0, iy1) = screen.rows(rect.min().y, rect.max().y);
                for iy in iy0..=iy1 {
                    for ix in ix0..=ix1 {
                        if screen.marks(ix, iy, z) {
                            continue;
                        }
                        let lon = screen.x0 + (ix as f64 + 0.5) * screen.cell_w;
                        let lat = screen.y0 + (iy as f64 + 0.5) * screen.cell_h;
                        if area.contains_point(lon, lat) {
                            screen.mark(ix, iy, z);
                        }
                    }
                }
            }
        }
        Some(screen)
    }

    /// The zones the closed geodesic disk of `radius_m` metres around `(lon, lat)` may touch;
    /// `None` when the screen cannot tell (every zone is then a candidate).
    pub fn candidates(&self, lon: f64, lat: f64, radius_m: f64) -> Option<ZoneSet> {
        if !valid_lon_lat(lon, lat) || radius_m.is_nan() || radius_m < 0.0 || radius_m.is_infinite()
        {
            return None;
        }
        let (lon_min, lon_max, lat_min, lat_max) = geodesy::disk_bounding_box((lon, lat), radius_m);
        if lon_min < -180.0 || lon_max > 180.0 {
            return None;
        }
        let mut set = ZoneSet(SmallVec::from_elem(0, self.words));
        let x1 = self.x0 + self.nx as f64 * self.cell_w;
        let y1 = self.y0 + self.ny as f64 * self.cell_h;
        let eps_x = EPS_CELLS * self.cell_w;
        let eps_y = EPS_CELLS * self.cell_h;
        if lon_max < self.x0 - eps_x
            || lon_min > x1 + eps_x
            || lat_max < self.y0 - eps_y
            || lat_min > y1 + eps_y
        {
            // Far from every zone.
            return Some(set);
        }
        let (ix0, ix1) = self.columns(lon_min, lon_max);
        let (iy0, iy1) = self.rows(lat_min, lat_max);
        if (ix1 - ix0 + 1) * (iy1 - iy0 + 1) > MAX_QUERY_CELLS {
            return None;
        }
        for iy in iy0..=iy1 {
            for ix in ix0..=ix1 {
                let cell = (iy * self.nx + ix) * self.words;
                for (word, bits) in set.0.iter_mut().zip(&self.bits[cell..cell + self.words]) {
                    *word |= bits;
                }
            }
        }
        Some(set)
    }

    /// One entry per zone: `Some(Tri::No)` for the zones the disk surely misses, `None` for the
    /// others (all `None` when the screen cannot tell).
    pub fn misses(&self, lon: f64, lat: f64, radius_m: f64) -> ZoneTris {
        match self.candidates(lon, lat, radius_m) {
            None => SmallVec::from_elem(None, self.n_zones),
            Some(set) => set.misses(self.n_zones),
        }
    }

    /// The columns a lon range meets (widened by the slack), clamped to the grid.
    fn columns(&self, lon_min: f64, lon_max: f64) -> (usize, usize) {
        let last = self.nx - 1;
        let low = (lon_min - self.x0) / self.cell_w - EPS_CELLS;
        let high = (lon_max - self.x0) / self.cell_w + EPS_CELLS;
        (clamp_index(low, last), clamp_index(high, last))
    }

    /// The rows a lat range meets (widened by the slack), clamped to the grid.
    fn rows(&self, lat_min: f64, lat_max: f64) -> (usize, usize) {
        let last = self.ny - 1;
        let low = (lat_min - self.y0) / self.cell_h - EPS_CELLS;
        let high = (lat_max - self.y0) / self.cell_h + EPS_CELLS;
        (clamp_index(low, last), clamp_index(high, last))
    }

    fn mark(&mut self, ix: usize, iy: usize, z: usize) {
        self.bits[(iy * self.nx + ix) * self.words + z / 64] |= 1 << (z % 64);
    }

    fn marks(&self, ix: usize, iy: usize, z: usize) -> bool {
        self.bits[(iy * self.nx + ix) * self.words + z / 64] & (1 << (z % 64)) != 0
    }
}

/// The cell index `floor(position)` clamped to `0..=last` (NaN gives 0). Only non-negative
/// positions reach the cast, where truncation is the floor (`floor` itself is a library call
/// on the baseline x86-64 target).
fn clamp_index(position: f64, last: usize) -> usize {
    if position >= last as f64 {
        last
    } else if position > 0.0 {
        position as usize
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, polygon};
    use proptest::prelude::*;

    fn square(x0: f64, y0: f64, side: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x0, y: y0),
            (x: x0 + side, y: y0),
            (x: x0 + side, y: y0 + side),
            (x: x0, y: y0 + side),
            (x: x0, y: y0),
        ]])
    }

    /// A ring with a hole, a thin diagonal strip, two distant squares as one zone, and a small
    /// square: zones whose cells are partly inside, partly boundary, partly empty.
    fn zones() -> Vec<Vec<ZoneIndex>> {
        let ring = MultiPolygon(vec![polygon!(
            exterior: [
                (x: 30.0, y: 45.0), (x: 34.0, y: 45.0), (x: 34.0, y: 49.0), (x: 30.0, y: 49.0),
                (x: 30.0, y: 45.0),
            ],
            interiors: [[
                (x: 31.0, y: 46.0), (x: 33.0, y: 46.0), (x: 33.0, y: 48.0), (x: 31.0, y: 48.0),
                (x: 31.0, y: 46.0),
            ]],
        )]);
        let strip = MultiPolygon(vec![polygon![
            (x: 29.0, y: 44.0), (x: 29.05, y: 44.0), (x: 37.05, y: 50.0), (x: 37.0, y: 50.0),
            (x: 29.0, y: 44.0),
        ]]);
        let mut two = square(35.0, 44.5, 1.0);
        two.0.extend(square(38.0, 48.0, 0.5).0);
        let index = |zone: &MultiPolygon<f64>| ZoneIndex::new(zone).expect("valid zone");
        vec![
            vec![index(&ring)],
            vec![index(&strip)],
            vec![index(&two), index(&square(36.0, 49.0, 0.2))],
            vec![index(&square(32.0, 47.0, 0.01))],
        ]
    }

    #[test]
    fn a_zone_left_out_is_one_the_index_answers_no_for() {
        let zones = zones();
        let screen = ZoneScreen::new(&zones).expect("a screen");
        let mut left_out = 0;
        let mut kept = 0;
        for i in 0..120 {
            for j in 0..90 {
                let lon = 28.5 + f64::from(i) * 0.09;
                let lat = 43.5 + f64::from(j) * 0.09;
                for radius_m in [0.0, 250.0, 5_000.0, 30_000.0] {
                    let Some(set) = screen.candidates(lon, lat, radius_m) else {
                        continue;
                    };
                    for (z, areas) in zones.iter().enumerate() {
                        if set.contains(z) {
                            kept += 1;
                            continue;
                        }
                        left_out += 1;
                        for area in areas {
                            assert_eq!(
                                area.classify(lon, lat, radius_m),
                                Tri::No,
                                "zone {z} left out at ({lon}, {lat}) r = {radius_m}"
                            );
                        }
                    }
                }
            }
        }
        // The screen must leave most zones out to be worth asking, and keep some.
        assert!(left_out > 3 * kept, "left out {left_out}, kept {kept}");
    }

    #[test]
    fn a_point_inside_a_zone_keeps_it() {
        let zones = zones();
        let screen = ZoneScreen::new(&zones).expect("a screen");
        // Inside the ring (away from its edges), inside the hole, in the second part of zone 2.
        let ring = screen.candidates(30.5, 45.5, 0.0).expect("screened");
        assert!(ring.contains(0));
        assert!(!ring.contains(3));
        let hole = screen.candidates(32.5, 47.5, 100.0).expect("screened");
        assert!(!hole.contains(3), "the small square is 50 km away");
        let part = screen.candidates(38.25, 48.25, 0.0).expect("screened");
        assert!(part.contains(2));
        assert!(!part.contains(0));
    }

    #[test]
    fn what_the_screen_cannot_tell_leaves_every_zone_in() {
        let zones = zones();
        let screen = ZoneScreen::new(&zones).expect("a screen");
        assert_eq!(screen.candidates(f64::NAN, 45.0, 0.0), None);
        assert_eq!(screen.candidates(30.0, 91.0, 0.0), None);
        assert_eq!(screen.candidates(30.0, 45.0, -1.0), None);
        assert_eq!(screen.candidates(30.0, 45.0, f64::NAN), None);
        assert_eq!(screen.candidates(30.0, 45.0, f64::INFINITY), None);
        // A disk over many cells, and one across the antimeridian.
        assert_eq!(screen.candidates(32.0, 47.0, 500_000.0), None);
        assert_eq!(screen.candidates(179.99, 0.0, 5_000.0), None);
        assert!(
            screen
                .misses(f64::NAN, 45.0, 0.0)
                .iter()
                .all(Option::is_none)
        );
        // Far from every zone: no candidate.
        let far = screen.candidates(-70.0, -30.0, 1_000.0).expect("screened");
        assert!((0..4).all(|z| !far.contains(z)));
        assert!(
            screen
                .misses(-70.0, -30.0, 1_000.0)
                .iter()
                .all(|tri| *tri == Some(Tri::No))
        );
        assert!(ZoneScreen::new(&[]).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Points near the zones' edges, with radii from nothing to a few cells.
        #[test]
        fn screening_never_changes_an_answer(
            lon in 28.5f64..39.0,
            lat in 43.5f64..51.0,
            radius_m in prop_oneof![Just(0.0), 0.0f64..2_000.0, 0.0f64..60_000.0],
        ) {
            let zones = zones();
            let screen = ZoneScreen::new(&zones).expect("a screen");
            let misses = screen.misses(lon, lat, radius_m);
            for (z, areas) in zones.iter().enumerate() {
                if misses[z] == Some(Tri::No) {
                    for area in areas {
                        prop_assert_eq!(area.classify(lon, lat, radius_m), Tri::No);
                    }
                }
            }
        }

        /// A set's common zones with another are the intersection, ascending; its misses
        /// are `No` exactly where it does not hold the zone.
        #[test]
        fn zone_sets_meet_and_miss_as_sets_do(
            a in proptest::collection::btree_set(0usize..150, 0..20),
            b in proptest::collection::btree_set(0usize..150, 0..20),
            n_zones in 0usize..160,
        ) {
            let (set_a, set_b) = (ZoneSet::of(a.iter().copied()), ZoneSet::of(b.iter().copied()));
            let common: Vec<usize> = set_a.common(&set_b).collect();
            let expected: Vec<usize> = a.intersection(&b).copied().collect();
            prop_assert_eq!(common, expected);
            let misses = set_a.misses(n_zones);
            prop_assert_eq!(misses.len(), n_zones);
            for (z, tri) in misses.iter().enumerate() {
                prop_assert_eq!(*tri == Some(Tri::No), !a.contains(&z));
                prop_assert_eq!(set_a.contains(z), a.contains(&z));
            }
        }
    }
}
