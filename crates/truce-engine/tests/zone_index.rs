//! Zone index and geodesy tests: hand-written cases, then brute-force oracles on random and real
//! zones (proptest, fixed seeds, bounded case counts).
//!
//! The oracle: containment is `geo`'s `Intersects` per polygon (boundary inside), any polygon;
//! the distance to the boundary is the minimum of `distance_to_segment_m` over every edge (edges
//! are visited in order of a lower bound, the latitude gap times the smallest meridional radius,
//! and the scan stops once that bound reaches the best distance: an exact minimum, only faster);
//! the three-valued answer follows the rule of the module documentation.
// Helpers outside `#[test]` functions unwrap too: a panic there is a test failure.
#![allow(clippy::unwrap_used)]

mod zone_index_support;

use geo::Intersects;
use geo_types::{Coord, LineString, MultiPolygon, Polygon, coord};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use truce_engine::geodesy::{
    self, APPROX_ABS_ERROR_M, APPROX_REL_ERROR, LocalFrame, MIN_MERIDIONAL_RADIUS_M,
    distance_to_segment_m, geodesic_distance_m, metres_per_degree,
};
use truce_engine::zone_index::{Tri, ZoneError, ZoneIndex};
use zone_index_support::{SplitMix64, front_buffer, ukraine_adm1};

// ---------------------------------------------------------------------------------------------
// Oracle

/// An edge `(a, b)` as `((lon, lat), (lon, lat))`.
type Edge = ((f64, f64), (f64, f64));

fn edges_of(zone: &MultiPolygon<f64>) -> Vec<Edge> {
    let mut edges = Vec::new();
    for polygon in &zone.0 {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            for pair in ring.0.windows(2) {
                edges.push(((pair[0].x, pair[0].y), (pair[1].x, pair[1].y)));
            }
        }
    }
    edges
}

fn oracle_contains(zone: &MultiPolygon<f64>, lon: f64, lat: f64) -> bool {
    zone.0
        .iter()
        .any(|polygon| polygon.intersects(&coord! { x: lon, y: lat }))
}

fn oracle_distance(edges: &[Edge], p: (f64, f64)) -> f64 {
    let mut bounded: Vec<(f64, usize)> = edges
        .iter()
        .enumerate()
        .map(|(i, (a, b))| {
            let gap = (a.1.min(b.1) - p.1).max(p.1 - a.1.max(b.1)).max(0.0);
            (MIN_MERIDIONAL_RADIUS_M * gap.to_radians() * (1.0 - 1e-9), i)
        })
        .collect();
    bounded.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut best = f64::INFINITY;
    for (bound, i) in bounded {
        if bound >= best {
            break;
        }
        let (a, b) = edges[i];
        best = best.min(distance_to_segment_m(p, a, b));
    }
    best
}

fn oracle_classify(inside: bool, distance: f64, radius: f64) -> Tri {
    if radius == 0.0 {
        Tri::from_bool(inside)
    } else if inside {
        if distance >= radius {
            Tri::Yes
        } else {
            Tri::Unknown
        }
    } else if distance > radius {
        Tri::No
    } else {
        Tri::Unknown
    }
}

const RADII: [f64; 10] = [
    0.0, 1e-3, 1.0, 50.0, 100.0, 500.0, 2_000.0, 15_000.0, 60_000.0, 300_000.0,
];

/// Checks the index against the oracle at `points`, for every radius; returns how many answers of
/// each kind were compared, to let callers check the points were not all trivial.
fn check_against_oracle(
    zone: &MultiPolygon<f64>,
    index: &ZoneIndex,
    points: &[(f64, f64)],
) -> [usize; 3] {
    let edges = edges_of(zone);
    let mut seen = [0; 3];
    for &(lon, lat) in points {
        let inside = oracle_contains(zone, lon, lat);
        assert_eq!(
            index.contains_point(lon, lat),
            inside,
            "contains_point({lon}, {lat})"
        );
        let distance = oracle_distance(&edges, (lon, lat));
        assert_eq!(
            index.distance_to_boundary_m(lon, lat).to_bits(),
            distance.to_bits(),
            "distance_to_boundary_m({lon}, {lat})"
        );
        for radius in RADII {
            let expected = oracle_classify(inside, distance, radius);
            assert_eq!(
                index.classify(lon, lat, radius),
                expected,
                "classify({lon}, {lat}, {radius}), inside {inside}, distance {distance}"
            );
            seen[expected as usize] += 1;
        }
        // Radii right at the distance, where the exact rule matters.
        if distance > 0.0 && distance.is_finite() {
            for radius in [distance, distance * (1.0 - 1e-12), distance * (1.0 + 1e-12)] {
                assert_eq!(
                    index.classify(lon, lat, radius),
                    oracle_classify(inside, distance, radius),
                    "classify({lon}, {lat}, {radius}) at the distance {distance}, inside {inside}"
                );
            }
        }
    }
    seen
}

/// Points to test a zone with: vertices, points near edges (from a millimetre to 30 km, both
/// sides), and uniform points in the bounding box widened by a third.
fn probe_points(zone: &MultiPolygon<f64>, rng: &mut SplitMix64, n: usize) -> Vec<(f64, f64)> {
    let edges = edges_of(zone);
    let (mut lon_min, mut lon_max, mut lat_min, mut lat_max) =
        (180.0_f64, -180.0_f64, 90.0_f64, -90.0_f64);
    for (a, _) in &edges {
        lon_min = lon_min.min(a.0);
        lon_max = lon_max.max(a.0);
        lat_min = lat_min.min(a.1);
        lat_max = lat_max.max(a.1);
    }
    let (wx, wy) = ((lon_max - lon_min) / 3.0, (lat_max - lat_min) / 3.0);
    let mut points = Vec::with_capacity(n);
    for i in 0..n {
        let (a, b) = edges[(rng.next_u64() % edges.len() as u64) as usize];
        let point = match i % 5 {
            0 => a,
            // The midpoint, rarely exactly on the edge in floating point: either side, robustly.
            4 => (0.5 * (a.0 + b.0), 0.5 * (a.1 + b.1)),
            1 | 2 => {
                let t = rng.next_f64();
                let base = (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
                let (kx, ky) = metres_per_degree(base.1);
                let (dx, dy) = ((b.0 - a.0) * kx, (b.1 - a.1) * ky);
                let length = (dx * dx + dy * dy).sqrt().max(1e-9);
                let offset_m = 10f64.powf(rng.range(-3.0, 4.5))
                    * if rng.next_u64().is_multiple_of(2) {
                        1.0
                    } else {
                        -1.0
                    };
                (
                    base.0 - dy / length * offset_m / kx,
                    base.1 + dx / length * offset_m / ky,
                )
            }
            _ => (
                rng.range(lon_min - wx, lon_max + wx),
                rng.range(lat_min - wy, lat_max + wy),
            ),
        };
        if (-180.0..=180.0).contains(&point.0) && (-90.0..=90.0).contains(&point.1) {
            points.push(point);
        }
    }
    points
}

/// A star-shaped ring around `(lon, lat)`: `radii` (fractions) at evenly spread, jittered angles,
/// scaled to `scale_deg` of latitude (and as many metres of longitude).
fn star_ring(lon: f64, lat: f64, scale_deg: f64, radii: &[f64], jitter: &[f64]) -> LineString<f64> {
    let n = radii.len();
    let cos_lat = lat.to_radians().cos();
    (0..n)
        .map(|i| {
            let angle = std::f64::consts::TAU * (i as f64 + 0.8 * jitter[i]) / n as f64;
            let r = scale_deg * radii[i];
            Coord {
                x: lon + r * angle.cos() / cos_lat,
                y: lat + r * angle.sin(),
            }
        })
        .collect()
}

fn proptest_config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Geodesy

#[test]
fn kyiv_kharkiv_is_412_3_km() {
    let distance = geodesic_distance_m((30.52380, 50.45466), (36.25475, 49.98177));
    assert!((distance - 412_300.0).abs() <= 100.0, "{distance}");
}

/// The true distance from `p` to a lon/lat segment: a dense geodesic sampling, then a ternary
/// search around the best sample.
fn sampled_distance_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let at = |t: f64| geodesic_distance_m(p, (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)));
    let n = 400;
    let best = (0..=n)
        .min_by(|&i, &j| at(i as f64 / n as f64).total_cmp(&at(j as f64 / n as f64)))
        .unwrap();
    let (mut lo, mut hi) = (
        ((best as f64) - 1.0) / n as f64,
        ((best as f64) + 1.0) / n as f64,
    );
    lo = lo.max(0.0);
    hi = hi.min(1.0);
    for _ in 0..60 {
        let (m1, m2) = (lo + (hi - lo) / 3.0, hi - (hi - lo) / 3.0);
        if at(m1) < at(m2) { hi = m2 } else { lo = m1 }
    }
    at(0.5 * (lo + hi)).min(at(best as f64 / n as f64))
}

#[test]
fn distance_to_segment_is_close_to_the_dense_geodesic_minimum() {
    let mut rng = SplitMix64(7);
    let mut worst_relative = 0.0_f64;
    let mut worst_short_m = 0.0_f64;
    for case in 0..120 {
        let lat = rng.range(-65.0, 65.0);
        let lon = rng.range(-170.0, 170.0);
        let (kx, ky) = metres_per_degree(lat);
        // Segments of 100 m to 200 km in any direction, the point up to 100 km away.
        let length_m = 10f64.powf(rng.range(2.0, 5.3));
        let heading = rng.range(0.0, std::f64::consts::TAU);
        let a = (lon, lat);
        let b = (
            lon + length_m * heading.cos() / kx,
            lat + length_m * heading.sin() / ky,
        );
        let away_m = 10f64.powf(rng.range(0.0, 5.0));
        let t = rng.range(-0.3, 1.3);
        let side = rng.range(0.0, std::f64::consts::TAU);
        let p = (
            a.0 + t * (b.0 - a.0) + away_m * side.cos() / kx,
            a.1 + t * (b.1 - a.1) + away_m * side.sin() / ky,
        );
        let ours = distance_to_segment_m(p, a, b);
        let truth = sampled_distance_to_segment(p, a, b);
        assert!(
            ours >= truth * (1.0 - 1e-9) - 1e-6,
            "case {case}: ours {ours} < truth {truth}"
        );
        let excess = ours - truth;
        worst_relative = worst_relative.max(excess / truth.max(1.0));
        assert!(
            excess <= 0.005 * truth + 0.01,
            "case {case}: {ours} vs {truth}, segment {length_m} m"
        );
        if length_m <= 5_000.0 {
            worst_short_m = worst_short_m.max(excess);
            assert!(
                excess <= 10.0,
                "case {case}: short segment {length_m} m, excess {excess} m"
            );
        }
    }
    // Far below the documented bounds in practice.
    assert!(worst_relative < 0.001, "{worst_relative}");
    assert!(worst_short_m < 1.0, "{worst_short_m}");
}

#[test]
fn approx_distance_error_is_a_tenth_of_its_bound() {
    let mut rng = SplitMix64(11);
    for case in 0..3_000 {
        let lat = rng.range(-geodesy::APPROX_MAX_ABS_LAT, geodesy::APPROX_MAX_ABS_LAT);
        let lon = rng.range(-170.0, 170.0);
        let frame = LocalFrame::new((lon, lat));
        let (kx, ky) = metres_per_degree(lat);
        let d = 10f64.powf(rng.range(-3.0, 4.4));
        let heading = rng.range(0.0, std::f64::consts::TAU);
        let q = (lon + d * heading.cos() / kx, lat + d * heading.sin() / ky);
        let estimate = frame.approx_distance_m(q);
        if !frame.approx_is_trusted(estimate) {
            continue;
        }
        let truth = geodesic_distance_m((lon, lat), q);
        let bound = APPROX_REL_ERROR * estimate + APPROX_ABS_ERROR_M;
        assert!(
            (estimate - truth).abs() <= bound / 10.0,
            "case {case}: lat {lat}, {estimate} vs {truth}"
        );
    }
}

#[test]
fn disk_bounding_box_contains_the_disk_and_box_bounds_hold() {
    use geo::{Destination, Geodesic, Point};
    let mut rng = SplitMix64(13);
    for case in 0..400 {
        let p = (rng.range(-179.0, 179.0), rng.range(-88.0, 88.0));
        let radius = 10f64.powf(rng.range(0.0, 6.3));
        let (lon_min, lon_max, lat_min, lat_max) = geodesy::disk_bounding_box(p, radius);
        for k in 0..16 {
            let q = Geodesic.destination(Point::new(p.0, p.1), k as f64 * 22.5, radius);
            let lon_ok = lon_min <= -180.0 && lon_max >= 180.0
                || [q.x(), q.x() - 360.0, q.x() + 360.0]
                    .iter()
                    .any(|x| (lon_min..=lon_max).contains(x));
            assert!(
                lon_ok && (lat_min..=lat_max).contains(&q.y()),
                "case {case}: {q:?} not in box"
            );
        }
        // A box somewhere near: its sampled border is never nearer than the lower bound.
        let (cx, cy) = (
            p.0 + rng.range(-3.0, 3.0),
            (p.1 + rng.range(-3.0, 3.0)).clamp(-89.0, 89.0),
        );
        let rect = (
            cx - 0.5,
            cx + 0.5,
            (cy - 0.4).max(-90.0),
            (cy + 0.4).min(90.0),
        );
        let bound = geodesy::lower_bound_distance_to_box_m(p, rect);
        let mut nearest = f64::INFINITY;
        for i in 0..=64 {
            let s = i as f64 / 64.0;
            for q in [
                (rect.0 + s * (rect.1 - rect.0), rect.2),
                (rect.0 + s * (rect.1 - rect.0), rect.3),
                (rect.0, rect.2 + s * (rect.3 - rect.2)),
                (rect.1, rect.2 + s * (rect.3 - rect.2)),
            ] {
                nearest = nearest.min(geodesic_distance_m(p, q));
            }
        }
        let inside = (rect.0..=rect.1).contains(&p.0) && (rect.2..=rect.3).contains(&p.1);
        if !inside {
            assert!(
                bound <= nearest,
                "case {case}: bound {bound} > sampled {nearest}"
            );
            assert!(
                bound >= 0.5 * nearest || nearest < 1.0,
                "case {case}: bound {bound} is loose: {nearest}"
            );
        }
        for r in [0.1 * nearest, 0.5 * bound, 0.999 * bound] {
            if geodesy::box_is_farther_than(p, rect, r) {
                assert!(
                    nearest > r,
                    "case {case}: box said farther than {r}, sampled {nearest}"
                );
            }
        }
        if bound > 0.0 {
            assert!(
                geodesy::box_is_farther_than(p, rect, 0.999 * bound),
                "case {case}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-written cases

fn rect_ring(lon_min: f64, lat_min: f64, lon_max: f64, lat_max: f64) -> LineString<f64> {
    LineString::from(vec![
        (lon_min, lat_min),
        (lon_max, lat_min),
        (lon_max, lat_max),
        (lon_min, lat_max),
        (lon_min, lat_min),
    ])
}

/// A square 30..31 x 50..51 with a hole 30.4..30.6 x 50.4..50.6, and a second square 33..34 x 50..51.
fn square_with_hole_and_island() -> MultiPolygon<f64> {
    MultiPolygon(vec![
        Polygon::new(
            rect_ring(30.0, 50.0, 31.0, 51.0),
            vec![rect_ring(30.4, 50.4, 30.6, 50.6)],
        ),
        Polygon::new(rect_ring(33.0, 50.0, 34.0, 51.0), vec![]),
    ])
}

#[test]
fn points_on_edges_and_vertices_are_inside() {
    let zone = square_with_hole_and_island();
    let index = ZoneIndex::new(&zone).unwrap();
    for (lon, lat) in [
        (30.5, 50.0),
        (31.0, 50.3),
        (30.0, 50.0),
        (31.0, 51.0),
        (30.4, 50.5),
        (30.6, 50.6),
    ] {
        assert!(index.contains_point(lon, lat), "({lon}, {lat})");
        assert_eq!(index.classify(lon, lat, 0.0), Tri::Yes, "({lon}, {lat})");
        assert_eq!(
            index.classify(lon, lat, 10.0),
            Tri::Unknown,
            "({lon}, {lat})"
        );
        assert_eq!(index.distance_to_boundary_m(lon, lat), 0.0);
    }
}

#[test]
fn holes_and_second_polygons() {
    let zone = square_with_hole_and_island();
    let index = ZoneIndex::new(&zone).unwrap();
    // In the hole.
    assert!(!index.contains_point(30.5, 50.5));
    assert_eq!(index.classify(30.5, 50.5, 100.0), Tri::No);
    // The hole is 0.2 degrees across: a 20 km disk straddles it.
    assert_eq!(index.classify(30.5, 50.5, 20_000.0), Tri::Unknown);
    // Between the hole and the exterior.
    assert_eq!(index.classify(30.2, 50.2, 1_000.0), Tri::Yes);
    // In the second polygon, and between the two.
    assert!(index.contains_point(33.5, 50.5));
    assert_eq!(index.classify(33.5, 50.5, 1_000.0), Tri::Yes);
    assert_eq!(index.classify(32.0, 50.5, 1_000.0), Tri::No);
    // A 100 km disk between the polygons reaches both.
    assert_eq!(index.classify(32.0, 50.5, 100_000.0), Tri::Unknown);
}

#[test]
fn disk_straddling_an_edge() {
    let index = ZoneIndex::new(&MultiPolygon(vec![Polygon::new(
        rect_ring(30.0, 50.0, 31.0, 51.0),
        vec![],
    )]))
    .unwrap();
    let (_, north_per_deg) = metres_per_degree(50.0);
    let inner = (30.5, 50.0 + 500.0 / north_per_deg);
    let outer = (30.5, 50.0 - 500.0 / north_per_deg);
    let d_inner = index.distance_to_boundary_m(inner.0, inner.1);
    assert!((d_inner - 500.0).abs() < 0.5, "{d_inner}");
    assert_eq!(index.classify(inner.0, inner.1, 400.0), Tri::Yes);
    assert_eq!(index.classify(inner.0, inner.1, 600.0), Tri::Unknown);
    assert_eq!(index.classify(outer.0, outer.1, 400.0), Tri::No);
    assert_eq!(index.classify(outer.0, outer.1, 600.0), Tri::Unknown);
    // Exactly at the distance: a closed disk inside touching the boundary is still inside.
    assert_eq!(index.classify(inner.0, inner.1, d_inner), Tri::Yes);
    let d_outer = index.distance_to_boundary_m(outer.0, outer.1);
    assert_eq!(index.classify(outer.0, outer.1, d_outer), Tri::Unknown);
}

#[test]
fn metric_scaling_across_latitude_60() {
    // At 60 N a degree of longitude is about 55.8 km, half a degree of latitude's 111.4 km.
    let index = ZoneIndex::new(&MultiPolygon(vec![Polygon::new(
        rect_ring(10.0, 59.0, 12.0, 61.0),
        vec![],
    )]))
    .unwrap();
    let (east_per_deg, _) = metres_per_degree(60.0);
    assert!((east_per_deg - 55_800.0).abs() < 10.0);
    // 0.01 degrees of longitude inside the east edge: about 558 m, not 1,114 m.
    let (lon, lat) = (11.99, 60.0);
    let d = index.distance_to_boundary_m(lon, lat);
    assert!((d - 0.01 * east_per_deg).abs() < 1.0, "{d}");
    assert_eq!(index.classify(lon, lat, 550.0), Tri::Yes);
    assert_eq!(index.classify(lon, lat, 565.0), Tri::Unknown);
    // 0.01 degrees of latitude inside the north edge: about 1,114 m.
    let (lon, lat) = (11.0, 60.99);
    assert_eq!(index.classify(lon, lat, 1_100.0), Tri::Yes);
    assert_eq!(index.classify(lon, lat, 1_125.0), Tri::Unknown);
    // Outside beyond the east edge.
    assert_eq!(index.classify(12.01, 60.0, 550.0), Tri::No);
    assert_eq!(index.classify(12.01, 60.0, 565.0), Tri::Unknown);
}

#[test]
fn kherson_city_lies_just_outside_ua_65() {
    let zone = ukraine_adm1()
        .into_iter()
        .find(|(iso, _)| iso == "UA-65")
        .unwrap()
        .1;
    let index = ZoneIndex::new(&zone).unwrap();
    let (lat, lon) = (46.63695, 32.61458);
    assert!(!index.contains_point(lon, lat));
    let d = index.distance_to_boundary_m(lon, lat);
    assert!((80.0..160.0).contains(&d), "{d}");
    assert_eq!(index.classify(lon, lat, 50.0), Tri::No);
    assert_eq!(index.classify(lon, lat, 500.0), Tri::Unknown);
}

#[test]
fn invalid_zones_are_rejected() {
    assert_eq!(
        ZoneIndex::new(&MultiPolygon(vec![])).unwrap_err(),
        ZoneError::Empty
    );
    let short = Polygon::new(LineString::from(vec![(30.0, 50.0), (31.0, 50.0)]), vec![]);
    assert!(matches!(
        ZoneIndex::new(&MultiPolygon(vec![short])).unwrap_err(),
        ZoneError::RingTooShort {
            polygon: 0,
            ring: 0,
            ..
        }
    ));
    let mut ring = rect_ring(30.0, 50.0, 31.0, 51.0);
    ring.0[2].x = f64::NAN;
    assert!(matches!(
        ZoneIndex::new(&MultiPolygon(vec![Polygon::new(ring, vec![])])).unwrap_err(),
        ZoneError::NonFinite {
            polygon: 0,
            ring: 0,
            vertex: 2,
            ..
        }
    ));
    let bad_hole = Polygon::new(
        rect_ring(30.0, 50.0, 31.0, 51.0),
        vec![rect_ring(30.2, 50.2, 30.3, 95.0)],
    );
    let err = ZoneIndex::new(&MultiPolygon(vec![bad_hole])).unwrap_err();
    assert!(
        matches!(
            err,
            ZoneError::OutOfRange {
                polygon: 0,
                ring: 1,
                vertex: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("out of range"), "{err}");
}

#[test]
fn unusable_queries_are_unknown() {
    let index = ZoneIndex::new(&square_with_hole_and_island()).unwrap();
    assert_eq!(index.classify(30.2, 50.2, f64::NAN), Tri::Unknown);
    assert_eq!(index.classify(30.2, 50.2, -1.0), Tri::Unknown);
    assert_eq!(index.classify(f64::NAN, 50.2, 1.0), Tri::Unknown);
    assert_eq!(index.classify(30.2, 91.0, 1.0), Tri::Unknown);
    assert_eq!(index.classify(30.2, 50.2, f64::INFINITY), Tri::Unknown);
    assert!(!index.contains_point(f64::NAN, 50.2));
    assert!(index.distance_to_boundary_m(30.2, f64::NAN).is_nan());
}

#[test]
fn far_points_are_no_and_bbox_is_the_vertices_box() {
    let index = ZoneIndex::new(&square_with_hole_and_island()).unwrap();
    let bbox = index.bbox();
    assert_eq!(
        (bbox.min().x, bbox.min().y, bbox.max().x, bbox.max().y),
        (30.0, 50.0, 34.0, 51.0)
    );
    assert_eq!(index.classify(-100.0, -40.0, 2_000.0), Tri::No);
    assert_eq!(index.classify(29.0, 50.5, 50_000.0), Tri::No);
    assert_eq!(index.classify(29.0, 50.5, 80_000.0), Tri::Unknown);
}

#[test]
fn index_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<ZoneIndex>();
    let index = ZoneIndex::new(&square_with_hole_and_island()).unwrap();
    let answers: Vec<Tri> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let index = &index;
                scope.spawn(move || index.classify(30.2 + f64::from(i) * 3.3, 50.5, 100.0))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(answers, vec![Tri::Yes, Tri::Yes]);
}

#[test]
fn tri_is_kleene_logic() {
    use Tri::{No, Unknown, Yes};
    let all = [No, Unknown, Yes];
    for a in all {
        assert_eq!(!!a, a);
        for b in all {
            // De Morgan, and the tables at the corners.
            assert_eq!(!(a.and(b)), (!a).or(!b));
            assert_eq!(a.and(b), b.and(a));
        }
    }
    assert_eq!(Yes.and(Unknown), Unknown);
    assert_eq!(No.and(Unknown), No);
    assert_eq!(Yes.or(Unknown), Yes);
    assert_eq!(No.or(Unknown), Unknown);
    assert_eq!(!Unknown, Unknown);
    assert_eq!(Tri::from(true), Yes);
    assert_eq!(Unknown.to_bool(), None);
    assert_eq!(
        serde_json::to_string(&[No, Unknown, Yes]).unwrap(),
        r#"["no","unknown","yes"]"#
    );
}

#[test]
fn self_intersecting_and_overlapping_zones_follow_geo() {
    // A bow tie, and two overlapping squares with a hole in one of them.
    let bow_tie = Polygon::new(
        LineString::from(vec![
            (0.0, 0.0),
            (1.0, 1.0),
            (1.0, 0.0),
            (0.0, 1.0),
            (0.0, 0.0),
        ]),
        vec![],
    );
    let zone = MultiPolygon(vec![
        bow_tie,
        Polygon::new(
            rect_ring(0.5, 0.2, 1.5, 0.8),
            vec![rect_ring(1.1, 0.4, 1.3, 0.6)],
        ),
        Polygon::new(rect_ring(1.0, 0.3, 1.4, 0.7), vec![]),
    ]);
    let index = ZoneIndex::new(&zone).unwrap();
    let mut rng = SplitMix64(17);
    let points = probe_points(&zone, &mut rng, 300);
    check_against_oracle(&zone, &index, &points);
}

// ---------------------------------------------------------------------------------------------
// Oracle on random and real zones

fn star_params() -> impl Strategy<Value = (f64, f64, f64, Vec<(f64, f64)>)> {
    (
        -170.0..170.0_f64,
        -72.0..72.0_f64,
        prop_oneof![0.001..0.05_f64, 0.05..3.0_f64],
        prop::collection::vec((0.3..1.0_f64, 0.0..1.0_f64), 3..40),
    )
}

fn star_zone(params: &(f64, f64, f64, Vec<(f64, f64)>)) -> LineString<f64> {
    let (lon, lat, scale, vertices) = params;
    let radii: Vec<f64> = vertices.iter().map(|v| v.0).collect();
    let jitter: Vec<f64> = vertices.iter().map(|v| v.1).collect();
    star_ring(*lon, *lat, *scale, &radii, &jitter)
}

proptest! {
    #![proptest_config(proptest_config(40, 0x7A0E_0001))]

    #[test]
    fn random_star_polygons_match_the_oracle(params in star_params(), seed in any::<u64>()) {
        let zone = MultiPolygon(vec![Polygon::new(star_zone(&params), vec![])]);
        let index = ZoneIndex::new(&zone).unwrap();
        let points = probe_points(&zone, &mut SplitMix64(seed), 40);
        check_against_oracle(&zone, &index, &points);
    }
}

proptest! {
    #![proptest_config(proptest_config(30, 0x7A0E_0002))]

    #[test]
    fn random_polygons_with_holes_match_the_oracle(
        params in star_params(),
        hole in prop::collection::vec((0.3..1.0_f64, 0.0..1.0_f64), 3..20),
        hole_scale in 0.1..0.28_f64,
        seed in any::<u64>(),
    ) {
        let (lon, lat, scale, _) = params;
        let radii: Vec<f64> = hole.iter().map(|v| v.0).collect();
        let jitter: Vec<f64> = hole.iter().map(|v| v.1).collect();
        // The hole's largest radius is below the exterior's smallest: the hole is inside.
        let hole_ring = star_ring(lon, lat, scale * hole_scale, &radii, &jitter);
        let zone = MultiPolygon(vec![Polygon::new(star_zone(&params), vec![hole_ring])]);
        let index = ZoneIndex::new(&zone).unwrap();
        let points = probe_points(&zone, &mut SplitMix64(seed), 40);
        check_against_oracle(&zone, &index, &points);
    }
}

proptest! {
    #![proptest_config(proptest_config(30, 0x7A0E_0003))]

    #[test]
    fn random_multipolygons_match_the_oracle(
        params in star_params(),
        others in prop::collection::vec((-1.5..1.5_f64, -1.5..1.5_f64, 0.2..1.0_f64, prop::collection::vec((0.3..1.0_f64, 0.0..1.0_f64), 3..15)), 1..4),
        seed in any::<u64>(),
    ) {
        // Parts placed around the first, some overlapping it: the union semantics are geo's.
        let (lon, lat, scale, _) = params;
        let mut polygons = vec![Polygon::new(star_zone(&params), vec![])];
        for (dx, dy, s, vertices) in &others {
            let part = (lon + dx * scale * 2.0, (lat + dy * scale * 2.0).clamp(-80.0, 80.0), scale * s, vertices.clone());
            polygons.push(Polygon::new(star_zone(&part), vec![]));
        }
        let zone = MultiPolygon(polygons);
        let index = ZoneIndex::new(&zone).unwrap();
        let points = probe_points(&zone, &mut SplitMix64(seed), 40);
        check_against_oracle(&zone, &index, &points);
    }
}

#[test]
fn ukrainian_units_match_the_oracle() {
    let mut rng = SplitMix64(0xADA1);
    let mut seen = [0; 3];
    for (iso, zone) in ukraine_adm1() {
        let index = ZoneIndex::new(&zone).unwrap_or_else(|e| panic!("{iso}: {e}"));
        let points = probe_points(&zone, &mut rng, 24);
        let counts = check_against_oracle(&zone, &index, &points);
        for kind in 0..3 {
            seen[kind] += counts[kind];
        }
    }
    assert!(seen.iter().all(|&n| n > 200), "{seen:?}");
}

#[test]
fn front_line_buffer_matches_the_oracle() {
    let zone = front_buffer(15.0, 0.7, 0.8);
    let n_vertices = zone_index_support::n_vertices(&zone);
    assert!((2_000..4_500).contains(&n_vertices), "{n_vertices}");
    let index = ZoneIndex::new(&zone).unwrap();
    let mut rng = SplitMix64(0xB0FF);
    let points = probe_points(&zone, &mut rng, 300);
    let seen = check_against_oracle(&zone, &index, &points);
    assert!(seen.iter().all(|&n| n > 100), "{seen:?}");
}
