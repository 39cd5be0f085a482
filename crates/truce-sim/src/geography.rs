//! The embedded geography: the approximate line of contact and the list of cities, with the
//! local metric the simulator uses to move points by metres.

use serde::{Deserialize, Serialize};

use crate::error::SimError;

const LINE_FILE: &str = "line-of-contact-2025.geojson";
const CITIES_FILE: &str = "cities.csv";
const LINE_TEXT: &str = include_str!("../../../data/geo/line-of-contact-2025.geojson");
const CITIES_TEXT: &str = include_str!("../../../data/geo/cities.csv");

/// WGS84 semi-major axis in metres.
const WGS84_A: f64 = 6_378_137.0;
/// WGS84 flattening.
const WGS84_F: f64 = 1.0 / 298.257_223_563;
const DEGREE: f64 = std::f64::consts::PI / 180.0;

/// A side of the line of contact, looking along it in the order its coordinates are written
/// (from the Dnipro near Kherson towards the Russian border north-east of Kharkiv).
///
/// On the shipped line, `Left` is the Ukrainian-held side (north of the southern stretch, west
/// of the eastern one) and `Right` the Russian-held side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineSide {
    /// Left of the direction of travel.
    Left,
    /// Right of the direction of travel.
    Right,
}

impl LineSide {
    /// The other side.
    pub const fn opposite(self) -> LineSide {
        match self {
            LineSide::Left => LineSide::Right,
            LineSide::Right => LineSide::Left,
        }
    }
}

/// A city or town of `cities.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct City {
    /// English name as used in the file (`Chasiv Yar`).
    pub name: String,
    /// ISO country code (`UA`, `RU`).
    pub country: String,
    /// ISO 3166-2 code of the first-level unit (`UA-14`).
    pub admin1: String,
    /// Longitude in degrees.
    pub lon: f64,
    /// Latitude in degrees.
    pub lat: f64,
}

/// Metres per degree of longitude and of latitude at a latitude, on the WGS84 ellipsoid
/// (radii of curvature in the prime vertical and the meridian). Good to about 1e-4 relative
/// over the tens of kilometres the simulator moves points.
pub(crate) fn metres_per_degree(lat: f64) -> (f64, f64) {
    let e2 = WGS84_F * (2.0 - WGS84_F);
    let phi = lat * DEGREE;
    let sin = libm::sin(phi);
    let w = (1.0 - e2 * sin * sin).sqrt();
    let prime_vertical = WGS84_A / w;
    let meridian = WGS84_A * (1.0 - e2) / (w * w * w);
    (prime_vertical * libm::cos(phi) * DEGREE, meridian * DEGREE)
}

/// Moves a point by `east` and `north` metres (local tangent plane at the point).
pub(crate) fn offset(lon: f64, lat: f64, east: f64, north: f64) -> (f64, f64) {
    let (per_lon, per_lat) = metres_per_degree(lat);
    (lon + east / per_lon, lat + north / per_lat)
}

/// Approximate distance in metres between two nearby points (local plane at the first).
pub(crate) fn local_distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (per_lon, per_lat) = metres_per_degree(lat1);
    let east = (lon2 - lon1) * per_lon;
    let north = (lat2 - lat1) * per_lat;
    (east * east + north * north).sqrt()
}

/// One segment of the line, in a local plane around its midpoint.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: (f64, f64),
    end: (f64, f64),
    /// Unit vector along the segment, metres east and north.
    along: (f64, f64),
    length_m: f64,
}

/// A point on the line and the unit vector (east, north) pointing to one of its sides.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinePoint {
    pub(crate) lon: f64,
    pub(crate) lat: f64,
    pub(crate) normal: (f64, f64),
}

/// The embedded line of contact and cities, parsed.
#[derive(Debug, Clone)]
pub struct Geography {
    line: Vec<(f64, f64)>,
    segments: Vec<Segment>,
    /// Cumulative length at the start of each segment, then the total length.
    cumulative_m: Vec<f64>,
    cities: Vec<City>,
}

impl Geography {
    /// Parses the geography embedded in the crate (`data/geo/line-of-contact-2025.geojson`
    /// and `data/geo/cities.csv`).
    pub fn embedded() -> Result<Geography, SimError> {
        let line = parse_line(LINE_TEXT)?;
        let cities = parse_cities(CITIES_TEXT)?;
        Ok(Geography::new(line, cities))
    }

    fn new(line: Vec<(f64, f64)>, cities: Vec<City>) -> Geography {
        let mut segments = Vec::with_capacity(line.len().saturating_sub(1));
        let mut cumulative_m = vec![0.0];
        let mut total = 0.0;
        for pair in line.windows(2) {
            let (start, end) = (pair[0], pair[1]);
            let (per_lon, per_lat) = metres_per_degree((start.1 + end.1) / 2.0);
            let east = (end.0 - start.0) * per_lon;
            let north = (end.1 - start.1) * per_lat;
            let length_m = (east * east + north * north).sqrt();
            segments.push(Segment {
                start,
                end,
                along: (east / length_m, north / length_m),
                length_m,
            });
            total += length_m;
            cumulative_m.push(total);
        }
        Geography {
            line,
            segments,
            cumulative_m,
            cities,
        }
    }

    /// The line of contact's vertices, `(lon, lat)`.
    pub fn line_of_contact(&self) -> &[(f64, f64)] {
        &self.line
    }

    /// The line's length in metres (local-plane sum over its segments).
    pub fn line_length_m(&self) -> f64 {
        self.cumulative_m.last().copied().unwrap_or(0.0)
    }

    /// The cities, in file order.
    pub fn cities(&self) -> &[City] {
        &self.cities
    }

    /// A city by its exact name.
    pub fn city(&self, name: &str) -> Option<&City> {
        self.cities.iter().find(|city| city.name == name)
    }

    /// The nearest city within `max_m` metres, if any.
    pub fn nearest_city(&self, lon: f64, lat: f64, max_m: f64) -> Option<&City> {
        let mut best: Option<(&City, f64)> = None;
        for city in &self.cities {
            let distance = local_distance(lon, lat, city.lon, city.lat);
            if distance <= max_m && best.is_none_or(|(_, d)| distance < d) {
                best = Some((city, distance));
            }
        }
        best.map(|(city, _)| city)
    }

    /// The point at `fraction` (0..1) of the line's length, with the unit normal towards
    /// `side`.
    pub(crate) fn point_at(&self, fraction: f64, side: LineSide) -> LinePoint {
        let target = fraction.clamp(0.0, 1.0) * self.line_length_m();
        // The segment whose cumulative range holds `target`.
        let index = self.cumulative_m[1..]
            .partition_point(|end| *end <= target)
            .min(self.segments.len().saturating_sub(1));
        let segment = self.segments[index];
        let t = ((target - self.cumulative_m[index]) / segment.length_m).clamp(0.0, 1.0);
        let lon = segment.start.0 + t * (segment.end.0 - segment.start.0);
        let lat = segment.start.1 + t * (segment.end.1 - segment.start.1);
        let (east, north) = segment.along;
        let normal = match side {
            LineSide::Left => (-north, east),
            LineSide::Right => (north, -east),
        };
        LinePoint { lon, lat, normal }
    }
}

fn geography_error(file: &'static str, reason: impl Into<String>) -> SimError {
    SimError::Geography {
        file,
        reason: reason.into(),
    }
}

fn parse_line(text: &str) -> Result<Vec<(f64, f64)>, SimError> {
    let collection: geojson::FeatureCollection = text
        .parse()
        .map_err(|e: geojson::Error| geography_error(LINE_FILE, e.to_string()))?;
    let geometry = collection
        .features
        .first()
        .and_then(|feature| feature.geometry.as_ref())
        .ok_or_else(|| geography_error(LINE_FILE, "no feature with a geometry"))?;
    let geojson::GeometryValue::LineString { coordinates } = &geometry.value else {
        return Err(geography_error(
            LINE_FILE,
            "the first feature is not a LineString",
        ));
    };
    let mut line = Vec::with_capacity(coordinates.len());
    for position in coordinates {
        let (lon, lat) = match position.as_slice() {
            [lon, lat, ..] => (*lon, *lat),
            _ => {
                return Err(geography_error(
                    LINE_FILE,
                    "a position has fewer than two numbers",
                ));
            }
        };
        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return Err(geography_error(
                LINE_FILE,
                format!("position [{lon}, {lat}] out of range"),
            ));
        }
        // Repeated vertices would make zero-length segments.
        if line.last() != Some(&(lon, lat)) {
            line.push((lon, lat));
        }
    }
    if line.len() < 2 {
        return Err(geography_error(
            LINE_FILE,
            "the line has fewer than two distinct vertices",
        ));
    }
    Ok(line)
}

fn parse_cities(text: &str) -> Result<Vec<City>, SimError> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| geography_error(CITIES_FILE, "empty file"))?
        .split(',')
        .map(str::trim)
        .collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| geography_error(CITIES_FILE, format!("no `{name}` column")))
    };
    let (name_at, country_at, admin_at, lat_at, lon_at) = (
        column("name")?,
        column("country")?,
        column("admin1_iso")?,
        column("latitude")?,
        column("longitude")?,
    );
    let mut cities = Vec::new();
    for (line_index, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row = line_index + 2;
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != header.len() {
            return Err(geography_error(
                CITIES_FILE,
                format!(
                    "row {row} has {} fields, the header {}",
                    fields.len(),
                    header.len()
                ),
            ));
        }
        let number = |at: usize| {
            fields[at].parse::<f64>().map_err(|_| {
                geography_error(
                    CITIES_FILE,
                    format!("row {row}: `{}` is not a number", fields[at]),
                )
            })
        };
        let (lat, lon) = (number(lat_at)?, number(lon_at)?);
        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return Err(geography_error(
                CITIES_FILE,
                format!("row {row}: coordinates out of range"),
            ));
        }
        cities.push(City {
            name: fields[name_at].to_string(),
            country: fields[country_at].to_string(),
            admin1: fields[admin_at].to_string(),
            lon,
            lat,
        });
    }
    if cities.is_empty() {
        return Err(geography_error(CITIES_FILE, "no cities"));
    }
    Ok(cities)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_geography_parses() {
        let geography = Geography::embedded().unwrap();
        assert_eq!(geography.cities().len(), 41);
        assert_eq!(geography.line_of_contact().len(), 34);
        let length_km = geography.line_length_m() / 1000.0;
        assert!((750.0..900.0).contains(&length_km), "{length_km}");
        let toretsk = geography.city("Toretsk").unwrap();
        assert_eq!(toretsk.admin1, "UA-14");
        assert_eq!(
            geography.nearest_city(37.85, 48.40, 5_000.0).unwrap().name,
            "Toretsk"
        );
        assert!(geography.nearest_city(25.0, 45.0, 20_000.0).is_none());
    }

    #[test]
    fn metric_matches_known_values() {
        // At the equator a degree of longitude is 111.319 km, of latitude 110.574 km.
        let (per_lon, per_lat) = metres_per_degree(0.0);
        assert!((per_lon - 111_319.5).abs() < 1.0, "{per_lon}");
        assert!((per_lat - 110_574.3).abs() < 1.0, "{per_lat}");
        // At 48° N: 74.62 km and 111.18 km.
        let (per_lon, per_lat) = metres_per_degree(48.0);
        assert!((per_lon - 74_625.0).abs() < 30.0, "{per_lon}");
        assert!((per_lat - 111_175.0).abs() < 30.0, "{per_lat}");
        let (lon, lat) = offset(37.0, 48.0, 3_000.0, 4_000.0);
        assert!((local_distance(37.0, 48.0, lon, lat) - 5_000.0).abs() < 0.01);
    }

    #[test]
    fn sides_follow_the_line_orientation() {
        let geography = Geography::embedded().unwrap();
        // The first segment runs east along the Dnipro: left is north, right is south.
        let start = geography.point_at(0.0, LineSide::Left);
        assert!(start.normal.1 > 0.9, "{:?}", start.normal);
        let start = geography.point_at(0.0, LineSide::Right);
        assert!(start.normal.1 < -0.9, "{:?}", start.normal);
        // Near Lyman the line runs north: right is east (the Russian-held side).
        let north = geography.point_at(0.8, LineSide::Right);
        assert!(north.normal.0 > 0.5, "{:?}", north.normal);
        let end = geography.point_at(1.0, LineSide::Left);
        let last = *geography.line_of_contact().last().unwrap();
        assert!((end.lon - last.0).abs() < 1e-9 && (end.lat - last.1).abs() < 1e-9);
    }

    #[test]
    fn broken_files_are_errors_not_panics() {
        assert!(parse_line("{}").is_err());
        assert!(parse_line(r#"{"type":"FeatureCollection","features":[]}"#).is_err());
        let point = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},
            "geometry":{"type":"Point","coordinates":[1,2]}}]}"#;
        assert!(parse_line(point).is_err());
        assert!(parse_cities("").is_err());
        assert!(parse_cities("name,country\n").is_err());
        let bad = "name,country,admin1_iso,latitude,longitude\nX,UA,UA-1,north,30\n";
        assert!(parse_cities(bad).is_err());
        let short = "name,country,admin1_iso,latitude,longitude\nX,UA,UA-1\n";
        assert!(parse_cities(short).is_err());
    }
}
