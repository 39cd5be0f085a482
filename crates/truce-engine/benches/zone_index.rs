//! Zone index throughput against a plain `geo::Contains` loop with a bounding-box pre-filter.
//!
//! Run: `cargo bench -p truce-engine --bench zone_index`
//!
//! Two workloads over the same 1M random points (lon 22–40.3, lat 44.3–52.4, radius drawn from
//! {100, 250, 500, 1000, 2000} m): a 15 km buffer-like zone around the line of contact (about
//! 3,000 vertices), and 25 zones (that buffer plus 24 of Ukraine's first-level units). Each timing
//! is the median of several runs, of the wall clock and of the thread's on-CPU time (the steadier
//! on a shared machine), in nanoseconds per point (per point and zone set).
// A benchmark: a failure to build its inputs is a panic.
#![allow(clippy::unwrap_used)]

#[path = "../tests/zone_index_support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::Instant;

use geo::{BoundingRect, Contains};
use geo_types::{MultiPolygon, Point, Rect};
use truce_engine::zone_index::{Tri, ZoneIndex};

const N_POINTS: usize = 1_000_000;
const RADII_M: [f64; 5] = [100.0, 250.0, 500.0, 1000.0, 2000.0];

/// Nanoseconds this thread has spent on a CPU, from Linux's `/proc/thread-self/schedstat`.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Median seconds of `runs` runs of `f`: `(wall clock, on-CPU time)`. On a shared machine the
/// on-CPU time is the steadier (it leaves out the time the thread waited for a core); it is
/// `NaN` where the kernel does not report it.
fn time_runs(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut wall = Vec::with_capacity(runs);
    let mut cpu = Vec::with_capacity(runs);
    for _ in 0..runs {
        let cpu_start = thread_cpu_ns();
        let start = Instant::now();
        f();
        wall.push(start.elapsed().as_secs_f64());
        cpu.push(match (cpu_start, thread_cpu_ns()) {
            (Some(a), Some(b)) => (b - a) as f64 * 1e-9,
            _ => f64::NAN,
        });
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[runs / 2]
    };
    (median(wall), median(cpu))
}

fn ns_per_point(secs: f64) -> f64 {
    secs * 1e9 / N_POINTS as f64
}

fn plain_contains(zones: &[(Rect<f64>, &MultiPolygon<f64>)], points: &[(f64, f64, f64)]) -> usize {
    let mut hits = 0;
    for &(lon, lat, _) in points {
        let point = Point::new(lon, lat);
        for (bbox, zone) in zones {
            if lon >= bbox.min().x
                && lon <= bbox.max().x
                && lat >= bbox.min().y
                && lat <= bbox.max().y
                && zone.contains(&point)
            {
                hits += 1;
            }
        }
    }
    hits
}

fn classify_all(indexes: &[ZoneIndex], points: &[(f64, f64, f64)]) -> [usize; 3] {
    let mut counts = [0_usize; 3];
    for &(lon, lat, radius) in points {
        for index in indexes {
            counts[index.classify(lon, lat, radius) as usize] += 1;
        }
    }
    counts
}

fn contains_all(indexes: &[ZoneIndex], points: &[(f64, f64, f64)]) -> usize {
    let mut hits = 0;
    for &(lon, lat, _) in points {
        for index in indexes {
            hits += usize::from(index.contains_point(lon, lat));
        }
    }
    hits
}

fn run(label: &str, zones: &[MultiPolygon<f64>], points: &[(f64, f64, f64)], runs: usize) {
    let n_vertices: usize = zones.iter().map(support::n_vertices).sum();
    println!("== {label}: {} zone(s), {n_vertices} vertices", zones.len());
    let (build_secs, _) = time_runs(5, || {
        black_box(
            zones
                .iter()
                .map(|z| ZoneIndex::new(z).unwrap())
                .collect::<Vec<_>>(),
        );
    });
    let indexes: Vec<ZoneIndex> = zones.iter().map(|z| ZoneIndex::new(z).unwrap()).collect();
    println!("build: {:.2} ms (median of 5)", build_secs * 1e3);
    for index in &indexes {
        if index.n_edges() > 2000 {
            println!("  {index:?}");
        }
    }

    let mut counts = [0; 3];
    let classify = time_runs(runs, || counts = black_box(classify_all(&indexes, points)));
    println!(
        "classify: {:.1} ns/point (median of {runs}; on-CPU {:.1}); no {} / unknown {} / yes {}",
        ns_per_point(classify.0),
        ns_per_point(classify.1),
        counts[Tri::No as usize],
        counts[Tri::Unknown as usize],
        counts[Tri::Yes as usize]
    );
    let mut hits = 0;
    let contains = time_runs(runs, || hits = black_box(contains_all(&indexes, points)));
    println!(
        "contains_point: {:.1} ns/point (median of {runs}; on-CPU {:.1}); {hits} in",
        ns_per_point(contains.0),
        ns_per_point(contains.1)
    );

    let prefiltered: Vec<(Rect<f64>, &MultiPolygon<f64>)> = zones
        .iter()
        .map(|z| (z.bounding_rect().unwrap(), z))
        .collect();
    let mut plain_hits = 0;
    let plain = time_runs(3, || {
        plain_hits = black_box(plain_contains(&prefiltered, points))
    });
    println!(
        "plain geo::Contains + bbox: {:.1} ns/point (median of 3; on-CPU {:.1}); {plain_hits} in",
        ns_per_point(plain.0),
        ns_per_point(plain.1)
    );
    assert_eq!(
        hits, plain_hits,
        "contains_point and geo::Contains disagree"
    );
    println!(
        "ratio plain / classify: {:.1}x (on-CPU {:.1}x); plain / contains_point: {:.1}x",
        plain.0 / classify.0,
        plain.1 / classify.1,
        plain.0 / contains.0
    );
}

fn main() {
    let mut rng = support::SplitMix64(0x5EED_2025);
    let points: Vec<(f64, f64, f64)> = (0..N_POINTS)
        .map(|_| {
            let lon = rng.range(22.0, 40.3);
            let lat = rng.range(44.3, 52.4);
            let radius = RADII_M[(rng.next_u64() % RADII_M.len() as u64) as usize];
            (lon, lat, radius)
        })
        .collect();

    let buffer = support::front_buffer(15.0, 0.7, 0.8);
    run(
        "front-line buffer",
        std::slice::from_ref(&buffer),
        &points,
        7,
    );

    let mut zones = vec![buffer];
    zones.extend(
        support::ukraine_adm1()
            .into_iter()
            .take(24)
            .map(|(_, zone)| zone),
    );
    run("25 zones", &zones, &points, 5);
}
