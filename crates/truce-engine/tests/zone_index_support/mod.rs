//! Shapes shared by the zone index tests and benchmark: the real Ukrainian units shipped in
//! `data/geo/`, a front-line buffer-like polygon, and a small deterministic random generator.
#![allow(dead_code)]
// each user takes the parts it needs
// Test and benchmark support: a malformed data file is a failure of the test, with its panic.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use geo::Buffer;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use truce_engine::geodesy::metres_per_degree;

/// `data/geo/` of the workspace.
pub fn geo_data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/geo")
}

fn read_json(name: &str) -> serde_json::Value {
    let path = geo_data_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn ring_from_json(ring: &serde_json::Value) -> LineString<f64> {
    ring.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let c = c.as_array().unwrap();
            Coord {
                x: c[0].as_f64().unwrap(),
                y: c[1].as_f64().unwrap(),
            }
        })
        .collect()
}

fn polygon_from_json(rings: &serde_json::Value) -> Polygon<f64> {
    let rings = rings.as_array().unwrap();
    Polygon::new(
        ring_from_json(&rings[0]),
        rings[1..].iter().map(ring_from_json).collect(),
    )
}

/// The 27 first-level units of `ukraine-adm1.geojson`, as `(iso_3166_2, zone)`.
pub fn ukraine_adm1() -> Vec<(String, MultiPolygon<f64>)> {
    let doc = read_json("ukraine-adm1.geojson");
    doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|feature| {
            let iso = feature["properties"]["iso_3166_2"]
                .as_str()
                .unwrap()
                .to_string();
            let geometry = &feature["geometry"];
            let zone = match geometry["type"].as_str().unwrap() {
                "Polygon" => MultiPolygon(vec![polygon_from_json(&geometry["coordinates"])]),
                "MultiPolygon" => MultiPolygon(
                    geometry["coordinates"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(polygon_from_json)
                        .collect(),
                ),
                other => panic!("unexpected geometry {other}"),
            };
            (iso, zone)
        })
        .collect()
}

/// The vertices `(lon, lat)` of `line-of-contact-2025.geojson`.
pub fn line_of_contact() -> Vec<(f64, f64)> {
    let doc = read_json("line-of-contact-2025.geojson");
    doc["features"][0]["geometry"]["coordinates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
        .collect()
}

/// A buffer-like zone around the line of contact: the line, densified every `step_km` with a
/// deterministic wiggle of up to `wiggle_km` to give it a drawn line's detail, buffered by
/// `width_km` in an equirectangular plane (metres at the line's mean latitude) and brought back to
/// lon/lat. Not a geodesic buffer, only a shape with a buffer's character.
pub fn front_buffer(width_km: f64, step_km: f64, wiggle_km: f64) -> MultiPolygon<f64> {
    let line = line_of_contact();
    let lat0 = line.iter().map(|p| p.1).sum::<f64>() / line.len() as f64;
    let lon0 = line.iter().map(|p| p.0).sum::<f64>() / line.len() as f64;
    let (kx, ky) = metres_per_degree(lat0);
    let to_plane =
        |(lon, lat): (f64, f64)| ((lon - lon0) * kx / 1000.0, (lat - lat0) * ky / 1000.0);
    let mut detailed: Vec<Coord<f64>> = Vec::new();
    let mut along = 0.0_f64;
    for pair in line.windows(2) {
        let (x1, y1) = to_plane(pair[0]);
        let (x2, y2) = to_plane(pair[1]);
        let length = ((x2 - x1).powi(2) + (y2 - y1).powi(2)).sqrt();
        let steps = (length / step_km).ceil().max(1.0) as usize;
        let (nx, ny) = (-(y2 - y1) / length, (x2 - x1) / length);
        for step in 0..steps {
            let t = step as f64 / steps as f64;
            let s = along + t * length;
            // A wiggle that vanishes at the original vertices keeps the line's shape.
            let envelope = (std::f64::consts::PI * t).sin();
            let w = wiggle_km
                * envelope
                * (0.6 * (s / 7.3).sin() + 0.3 * (s / 2.9 + 1.0).sin() + 0.1 * (s / 1.1).sin());
            detailed.push(Coord {
                x: x1 + t * (x2 - x1) + w * nx,
                y: y1 + t * (y2 - y1) + w * ny,
            });
        }
        along += length;
    }
    let (xl, yl) = to_plane(line[line.len() - 1]);
    detailed.push(Coord { x: xl, y: yl });
    let buffered = LineString(detailed).buffer(width_km);
    let to_lon_lat = |c: &Coord<f64>| Coord {
        x: lon0 + c.x * 1000.0 / kx,
        y: lat0 + c.y * 1000.0 / ky,
    };
    MultiPolygon(
        buffered
            .0
            .iter()
            .map(|polygon| {
                Polygon::new(
                    polygon.exterior().0.iter().map(to_lon_lat).collect(),
                    polygon
                        .interiors()
                        .iter()
                        .map(|ring| ring.0.iter().map(to_lon_lat).collect())
                        .collect(),
                )
            })
            .collect(),
    )
}

/// Number of vertices of a zone, closing points included.
pub fn n_vertices(zone: &MultiPolygon<f64>) -> usize {
    zone.0
        .iter()
        .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
        .sum()
}

/// SplitMix64: a tiny deterministic generator for benchmarks and bulk test data.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}
