//! Validity of zone polygons (OGC simple features, as RFC 7946 asks), checked with a segment
//! index.
//!
//! `geo`'s `Validation` tests every pair of a ring's segments for a self-intersection, which
//! for the 3,000-vertex front-line buffers of real agreements is nine million segment tests
//! per check. The checks here are the same checks with the same outcome, but a ring's
//! segments are first put in an R-tree, so only segments whose bounding boxes meet are
//! tested: near-linear in the ring's size. Rules between the rings of one polygon (holes
//! inside the exterior, holes not crossing each other) and between the parts of a
//! multipolygon (no overlap, no shared edge) are decided by `geo`'s DE-9IM `relate`, as
//! `geo` does, but only for pairs whose bounding boxes meet.

use geo::coordinate_position::CoordPos;
use geo::dimensions::Dimensions;
use geo::{BoundingRect, Intersects, Relate, RemoveRepeatedPoints, Validation};
use geo_types::{Coord, Line, LineString, MultiPolygon, Polygon, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

/// Rings with fewer segments than this are checked pair by pair: building an index costs
/// more than it saves.
const INDEX_FROM_SEGMENTS: usize = 64;

/// Which ring of a polygon.
fn ring_name(index: usize) -> String {
    if index == 0 {
        "exterior ring".to_string()
    } else {
        format!("interior ring {}", index - 1)
    }
}

/// Whether two segments of one ring cross or touch anywhere but at the vertex they share as
/// consecutive segments (the rule `geo` applies, tested in both orders).
fn segments_conflict(a: &Line<f64>, b: &Line<f64>) -> bool {
    a.intersects(b) && a.start != b.end && a.end != b.start
}

fn segment_box(line: &Line<f64>) -> AABB<[f64; 2]> {
    AABB::from_corners([line.start.x, line.start.y], [line.end.x, line.end.y])
}

/// Whether a ring crosses or touches itself.
pub(crate) fn ring_self_intersects(ring: &LineString<f64>) -> bool {
    let segments: Vec<Line<f64>> = ring.lines().collect();
    if segments.len() < INDEX_FROM_SEGMENTS {
        return segments.iter().enumerate().any(|(i, a)| {
            segments
                .iter()
                .enumerate()
                .any(|(j, b)| i != j && segments_conflict(a, b))
        });
    }
    let tree = RTree::bulk_load(
        segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                GeomWithData::new(
                    Rectangle::from_corners([s.start.x, s.start.y], [s.end.x, s.end.y]),
                    i,
                )
            })
            .collect(),
    );
    // Two segments that meet have bounding boxes that meet (closed boxes), so the index
    // drops only pairs that cannot conflict.
    segments.iter().enumerate().any(|(i, a)| {
        tree.locate_in_envelope_intersecting(&segment_box(a))
            .any(|candidate| {
                let j = candidate.data;
                i != j && segments_conflict(a, &segments[j])
            })
    })
}

/// The first problem of one ring: too few distinct points, a non-finite coordinate, or a
/// self-intersection.
fn ring_problem(index: usize, ring: &LineString<f64>) -> Option<String> {
    if ring.0.is_empty() {
        return None;
    }
    let name = ring_name(index);
    if ring.remove_repeated_points().0.len() < 4 {
        return Some(format!("{name} must have at least 3 distinct points"));
    }
    if let Some(at) = ring
        .0
        .iter()
        .position(|c: &Coord<f64>| !(c.x.is_finite() && c.y.is_finite()))
    {
        return Some(format!("{name} has a non-finite coordinate at index {at}"));
    }
    if ring_self_intersects(ring) {
        return Some(format!("{name} has a self-intersection"));
    }
    None
}

fn boxes_meet(a: Option<Rect<f64>>, b: Option<Rect<f64>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.intersects(&b),
        _ => false,
    }
}

/// The first problem of a polygon, in words; `None` when it is valid.
pub(crate) fn polygon_problem(polygon: &Polygon<f64>) -> Option<String> {
    let rings = std::iter::once(polygon.exterior()).chain(polygon.interiors());
    for (index, ring) in rings.enumerate() {
        if let Some(problem) = ring_problem(index, ring) {
            return Some(problem);
        }
    }
    if polygon.interiors().iter().all(|ring| ring.0.is_empty()) {
        return None;
    }
    // Holes: every ring is valid on its own, so what is left is how they lie against the
    // exterior and each other, which `geo` decides. Its validation repeats the ring tests
    // pair by pair, so a zone with holes still pays that cost once.
    polygon
        .check_validation()
        .err()
        .map(|problem| problem.to_string())
}

/// The first problem of a multipolygon, in words; `None` when it is valid. Parts must be
/// valid polygons that neither overlap nor share an edge.
#[cfg(test)]
pub(crate) fn multipolygon_problem(area: &MultiPolygon<f64>) -> Option<String> {
    for (i, polygon) in area.0.iter().enumerate() {
        if let Some(problem) = polygon_problem(polygon) {
            return Some(format!("polygon at index {i} is invalid: {problem}"));
        }
    }
    parts_problem(area)
}

/// How the parts of a multipolygon whose parts are each valid lie against each other: the
/// first pair that overlaps or shares an edge, in words; `None` when none does.
pub(crate) fn parts_problem(area: &MultiPolygon<f64>) -> Option<String> {
    let boxes: Vec<Option<Rect<f64>>> = area.0.iter().map(BoundingRect::bounding_rect).collect();
    for (i, polygon) in area.0.iter().enumerate() {
        for (j, other) in area.0.iter().enumerate().skip(i + 1) {
            if !boxes_meet(boxes[i], boxes[j]) {
                continue;
            }
            let matrix = polygon.relate(other);
            if matrix.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
                return Some(format!("polygons at indices {i} and {j} overlap"));
            }
            if matrix.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional
            {
                return Some(format!("polygons at indices {i} and {j} touch on a line"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ring(points: &[(f64, f64)]) -> LineString<f64> {
        let mut coords: Vec<Coord<f64>> = points.iter().map(|&(x, y)| Coord { x, y }).collect();
        if let Some(&first) = coords.first() {
            coords.push(first);
        }
        LineString(coords)
    }

    /// A star-shaped ring of `n` vertices around (30, 50): simple whatever the radii.
    fn star(radii: &[f64]) -> LineString<f64> {
        let n = radii.len() as f64;
        let points: Vec<(f64, f64)> = radii
            .iter()
            .enumerate()
            .map(|(k, r)| {
                let angle = std::f64::consts::TAU * k as f64 / n;
                (30.0 + r * angle.cos(), 50.0 + r * angle.sin())
            })
            .collect();
        ring(&points)
    }

    #[test]
    fn a_large_simple_ring_is_valid_and_a_crossed_one_is_not() {
        let radii: Vec<f64> = (0..3000)
            .map(|k| 1.0 + 0.3 * ((k * 7 % 13) as f64) / 13.0)
            .collect();
        let simple = star(&radii);
        assert!(!ring_self_intersects(&simple));
        assert_eq!(polygon_problem(&Polygon::new(simple.clone(), vec![])), None);
        // Swap two far-apart vertices: the ring now crosses itself.
        let mut crossed = simple.clone();
        crossed.0.swap(100, 1600);
        assert!(ring_self_intersects(&crossed));
        assert_eq!(
            polygon_problem(&Polygon::new(crossed, vec![])).as_deref(),
            Some("exterior ring has a self-intersection")
        );
    }

    #[test]
    fn a_ring_that_touches_itself_at_a_vertex_is_invalid() {
        // A figure eight through (1, 1), many vertices so the index is used.
        let mut points = Vec::new();
        for k in 0..=40 {
            points.push((k as f64 / 40.0, 0.0));
        }
        points.push((1.0, 1.0));
        points.push((2.0, 2.0));
        points.push((2.0, 1.0));
        points.push((1.0, 1.0));
        points.push((0.0, 1.0));
        let eight = ring(&points);
        assert!(eight.lines().count() >= 40);
        assert_eq!(
            ring_self_intersects(&eight),
            geo_says_self_intersecting(&eight)
        );
        assert!(ring_self_intersects(&eight));
    }

    #[test]
    fn multipolygon_parts_that_overlap_or_share_an_edge_are_invalid() {
        let a = Polygon::new(
            ring(&[(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]),
            vec![],
        );
        let overlapping = Polygon::new(
            ring(&[(1.0, 1.0), (3.0, 1.0), (3.0, 3.0), (1.0, 3.0)]),
            vec![],
        );
        let sharing = Polygon::new(
            ring(&[(2.0, 0.0), (4.0, 0.0), (4.0, 2.0), (2.0, 2.0)]),
            vec![],
        );
        let apart = Polygon::new(
            ring(&[(5.0, 5.0), (6.0, 5.0), (6.0, 6.0), (5.0, 6.0)]),
            vec![],
        );
        assert_eq!(
            multipolygon_problem(&MultiPolygon(vec![a.clone(), overlapping])).as_deref(),
            Some("polygons at indices 0 and 1 overlap")
        );
        assert_eq!(
            multipolygon_problem(&MultiPolygon(vec![a.clone(), sharing])).as_deref(),
            Some("polygons at indices 0 and 1 touch on a line")
        );
        assert_eq!(multipolygon_problem(&MultiPolygon(vec![a, apart])), None);
    }

    #[test]
    fn holes_are_checked_against_the_exterior() {
        let outer = ring(&[(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)]);
        let inside = ring(&[(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 2.0)]);
        let outside = ring(&[(5.0, 5.0), (6.0, 5.0), (6.0, 6.0), (5.0, 6.0)]);
        assert_eq!(
            polygon_problem(&Polygon::new(outer.clone(), vec![inside])),
            None
        );
        let problem = polygon_problem(&Polygon::new(outer, vec![outside])).unwrap_or_default();
        assert!(problem.contains("not contained"), "{problem}");
    }

    /// `geo`'s own verdict on a ring's self-intersection, through its public validation.
    fn geo_says_self_intersecting(ring: &LineString<f64>) -> bool {
        Polygon::new(ring.clone(), vec![])
            .validation_errors()
            .iter()
            .any(|e| {
                matches!(
                    e,
                    geo::algorithm::validation::InvalidPolygon::SelfIntersection(_)
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// On random rings, many of them crossing themselves, on a coarse grid so that
        /// touching vertices and collinear overlaps are common, the indexed test agrees with
        /// `geo`'s pairwise test.
        #[test]
        fn indexed_test_agrees_with_pairwise_test(
            points in prop::collection::vec((0i32..12, 0i32..12), 3..120)
        ) {
            let points: Vec<(f64, f64)> =
                points.iter().map(|&(x, y)| (f64::from(x), f64::from(y))).collect();
            let r = ring(&points);
            prop_assert_eq!(ring_self_intersects(&r), geo_says_self_intersecting(&r));
        }
    }
}
