//! Zone geometry: reading GeoJSON polygons and lines, validating them per RFC 7946, and
//! building buffers of lines at a distance in metres.

use geo::Buffer;
use geo_types::{Coord, LineString, MultiLineString, MultiPolygon, Polygon};
use serde_json::Value;

use super::AgreementError;
use crate::repeated_keys::{Step, repeated_keys};

/// What a GeoJSON file is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// Polygon or MultiPolygon geometry (all features unioned as parts of one multipolygon).
    Area,
    /// LineString or MultiLineString geometry.
    Line,
}

fn err(file: &str, key: impl Into<String>, message: impl Into<String>) -> AgreementError {
    AgreementError {
        file: file.to_string(),
        line: None,
        key: key.into(),
        message: message.into(),
    }
}

/// Parsed geometry: areas or lines.
#[derive(Debug, Clone)]
pub(crate) enum Shape {
    Area(MultiPolygon<f64>),
    Line(MultiLineString<f64>),
}

/// Reads a zone from GeoJSON bytes: a Geometry, a Feature or a FeatureCollection whose
/// geometries are Polygons or MultiPolygons. With `feature`, only the feature whose `id` (or
/// `properties.id`) equals it is taken. Errors name the JSON path.
pub fn parse_zone_geojson(
    file: &str,
    bytes: &[u8],
    feature: Option<&str>,
) -> Result<MultiPolygon<f64>, Vec<AgreementError>> {
    match parse_geojson(file, bytes, feature, Wanted::Area)? {
        Shape::Area(area) => Ok(area),
        Shape::Line(_) => Err(vec![err(file, "$", "expected polygons, found lines")]),
    }
}

pub(crate) fn parse_geojson(
    file: &str,
    bytes: &[u8],
    feature: Option<&str>,
    wanted: Wanted,
) -> Result<Shape, Vec<AgreementError>> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let before = &bytes[..e.valid_up_to()];
        vec![AgreementError {
            line: Some(1 + before.iter().filter(|&&byte| byte == b'\n').count() as u64),
            ..err(file, "$", format!("not UTF-8 at byte {}", e.valid_up_to()))
        }]
    })?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        vec![AgreementError {
            file: file.to_string(),
            line: Some(e.line() as u64),
            key: "$".into(),
            message: format!("not valid JSON: {e}"),
        }]
    })?;
    // A map keeps the last value of a key given twice: a zone file that says two things
    // about a boundary, a type or a feature's id is refused rather than read as its last
    // word. Properties other than `id` are never read, so a repeat among them (or nested in
    // them) is left be.
    let repeats: Vec<AgreementError> = repeated_keys(text)
        .into_iter()
        .filter(|repeat| {
            let is_properties = |step: &Step| matches!(step, Step::Key(key) if key == "properties");
            let feature_id = repeat.object.last().is_some_and(is_properties) && repeat.key == "id";
            feature_id || !repeat.object.iter().any(is_properties)
        })
        .map(|repeat| AgreementError {
            line: repeat.line,
            ..err(file, repeat.path("$."), repeat.reason())
        })
        .collect();
    if !repeats.is_empty() {
        return Err(repeats);
    }
    let mut geometries: Vec<(String, &Value)> = Vec::new();
    let mut errors = Vec::new();
    collect_geometries(file, "$", &value, feature, &mut geometries, &mut errors);
    if let Some(id) = feature
        && geometries.is_empty()
        && errors.is_empty()
    {
        errors.push(err(file, "$", format!("no feature with id `{id}`")));
    }
    if geometries.is_empty() && errors.is_empty() {
        errors.push(err(file, "$", "no geometry found"));
    }
    let mut polygons = Vec::new();
    let mut lines = Vec::new();
    for (path, geometry) in geometries {
        let kind = geometry.get("type").and_then(Value::as_str).unwrap_or("");
        let coords = geometry.get("coordinates");
        match (wanted, kind, coords) {
            (Wanted::Area, "Polygon", Some(c)) => match polygon(file, &path, c) {
                Ok(p) => polygons.push(p),
                Err(e) => errors.extend(e),
            },
            (Wanted::Area, "MultiPolygon", Some(Value::Array(parts))) => {
                for (i, part) in parts.iter().enumerate() {
                    match polygon(file, &format!("{path}.coordinates[{i}]"), part) {
                        Ok(p) => polygons.push(p),
                        Err(e) => errors.extend(e),
                    }
                }
            }
            (Wanted::Line, "LineString", Some(c)) => match line(file, &path, c) {
                Ok(l) => lines.push(l),
                Err(e) => errors.push(e),
            },
            (Wanted::Line, "MultiLineString", Some(Value::Array(parts))) => {
                for (i, part) in parts.iter().enumerate() {
                    match line(file, &format!("{path}.coordinates[{i}]"), part) {
                        Ok(l) => lines.push(l),
                        Err(e) => errors.push(e),
                    }
                }
            }
            (_, _, None) => errors.push(err(file, &path, "geometry has no coordinates")),
            (Wanted::Area, other, _) => errors.push(err(
                file,
                format!("{path}.type"),
                format!("expected Polygon or MultiPolygon, found `{other}`"),
            )),
            (Wanted::Line, other, _) => errors.push(err(
                file,
                format!("{path}.type"),
                format!("expected LineString or MultiLineString, found `{other}`"),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    match wanted {
        Wanted::Area => {
            let area = MultiPolygon(polygons);
            // Each part was validated as it was read; what is left is how they lie.
            if let Some(problem) = super::validity::parts_problem(&area) {
                return Err(vec![err(file, "$", format!("invalid geometry: {problem}"))]);
            }
            Ok(Shape::Area(area))
        }
        Wanted::Line => Ok(Shape::Line(MultiLineString(lines))),
    }
}

fn collect_geometries<'a>(
    file: &str,
    path: &str,
    value: &'a Value,
    feature: Option<&str>,
    out: &mut Vec<(String, &'a Value)>,
    errors: &mut Vec<AgreementError>,
) {
    match value.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => match value.get("features").and_then(Value::as_array) {
            Some(features) => {
                for (i, f) in features.iter().enumerate() {
                    collect_geometries(
                        file,
                        &format!("{path}.features[{i}]"),
                        f,
                        feature,
                        out,
                        errors,
                    );
                }
            }
            None => errors.push(err(
                file,
                format!("{path}.features"),
                "missing features array",
            )),
        },
        Some("Feature") => {
            if let Some(wanted) = feature {
                let id = value
                    .get("id")
                    .or_else(|| value.get("properties").and_then(|p| p.get("id")))
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    });
                if id.as_deref() != Some(wanted) {
                    return;
                }
            }
            match value.get("geometry") {
                Some(g) if !g.is_null() => out.push((format!("{path}.geometry"), g)),
                _ => errors.push(err(
                    file,
                    format!("{path}.geometry"),
                    "feature has no geometry",
                )),
            }
        }
        Some(_) if feature.is_none() => out.push((path.to_string(), value)),
        Some(_) => {}
        None => errors.push(err(file, path, "not a GeoJSON object (no `type`)")),
    }
}

fn position(file: &str, path: &str, value: &Value) -> Result<Coord<f64>, AgreementError> {
    let array = value
        .as_array()
        .ok_or_else(|| err(file, path, "position is not an array"))?;
    if array.len() < 2 {
        return Err(err(file, path, "position needs longitude and latitude"));
    }
    let lon = array[0]
        .as_f64()
        .ok_or_else(|| err(file, path, "longitude is not a number"))?;
    let lat = array[1]
        .as_f64()
        .ok_or_else(|| err(file, path, "latitude is not a number"))?;
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        let hint = if (-90.0..=90.0).contains(&lon) && (-180.0..=180.0).contains(&lat) {
            "; are longitude and latitude swapped? GeoJSON is [lon, lat]"
        } else {
            ""
        };
        return Err(err(
            file,
            path,
            format!("[{lon}, {lat}] is out of range{hint}"),
        ));
    }
    Ok(Coord { x: lon, y: lat })
}

fn ring(file: &str, path: &str, value: &Value) -> Result<LineString<f64>, AgreementError> {
    let array = value
        .as_array()
        .ok_or_else(|| err(file, path, "ring is not an array"))?;
    let coords = array
        .iter()
        .enumerate()
        .map(|(i, p)| position(file, &format!("{path}[{i}]"), p))
        .collect::<Result<Vec<_>, _>>()?;
    if coords.len() < 4 {
        return Err(err(
            file,
            path,
            format!("a ring needs at least 4 positions, has {}", coords.len()),
        ));
    }
    if coords.first() != coords.last() {
        return Err(err(
            file,
            path,
            "ring is not closed (first and last positions differ)",
        ));
    }
    Ok(LineString(coords))
}

fn polygon(file: &str, path: &str, value: &Value) -> Result<Polygon<f64>, Vec<AgreementError>> {
    let rings = value
        .as_array()
        .ok_or_else(|| vec![err(file, path, "polygon is not an array of rings")])?;
    if rings.is_empty() {
        return Err(vec![err(file, path, "polygon has no rings")]);
    }
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    for (i, r) in rings.iter().enumerate() {
        match ring(file, &format!("{path}.coordinates[{i}]"), r) {
            Ok(r) => parsed.push(r),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let exterior = parsed.remove(0);
    let polygon = Polygon::new(exterior, parsed);
    if let Some(problem) = super::validity::polygon_problem(&polygon) {
        return Err(vec![err(file, path, format!("invalid polygon: {problem}"))]);
    }
    Ok(polygon)
}

fn line(file: &str, path: &str, value: &Value) -> Result<LineString<f64>, AgreementError> {
    let array = value
        .as_array()
        .ok_or_else(|| err(file, path, "line is not an array"))?;
    let coords = array
        .iter()
        .enumerate()
        .map(|(i, p)| position(file, &format!("{path}[{i}]"), p))
        .collect::<Result<Vec<_>, _>>()?;
    if coords.len() < 2 {
        return Err(err(file, path, "a line needs at least 2 positions"));
    }
    Ok(LineString(coords))
}

const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Azimuthal equidistant projection on the sphere centred at (lon0, lat0): distances and
/// directions from the centre are true; within 500 km of it, other distances are within
/// 0.1 % (the scale across the radial direction is ρ/sin ρ).
#[derive(Debug, Clone, Copy)]
struct Aeqd {
    lon0: f64,
    sin_lat0: f64,
    cos_lat0: f64,
}

impl Aeqd {
    fn new(lon0: f64, lat0: f64) -> Self {
        let lat0 = lat0.to_radians();
        Aeqd {
            lon0: lon0.to_radians(),
            sin_lat0: lat0.sin(),
            cos_lat0: lat0.cos(),
        }
    }

    fn forward(&self, c: Coord<f64>) -> Coord<f64> {
        let (lon, lat) = (c.x.to_radians(), c.y.to_radians());
        let dlon = lon - self.lon0;
        let cos_c =
            (self.sin_lat0 * lat.sin() + self.cos_lat0 * lat.cos() * dlon.cos()).clamp(-1.0, 1.0);
        let angle = cos_c.acos();
        let k = if angle < 1e-12 {
            1.0
        } else {
            angle / angle.sin()
        };
        Coord {
            x: EARTH_RADIUS_M * k * lat.cos() * dlon.sin(),
            y: EARTH_RADIUS_M
                * k
                * (self.cos_lat0 * lat.sin() - self.sin_lat0 * lat.cos() * dlon.cos()),
        }
    }

    fn inverse(&self, c: Coord<f64>) -> Coord<f64> {
        let rho = c.x.hypot(c.y);
        if rho < 1e-9 {
            return Coord {
                x: self.lon0.to_degrees(),
                y: self.sin_lat0.asin().to_degrees(),
            };
        }
        let angle = rho / EARTH_RADIUS_M;
        let (sin_c, cos_c) = angle.sin_cos();
        let lat = (cos_c * self.sin_lat0 + c.y * sin_c * self.cos_lat0 / rho)
            .clamp(-1.0, 1.0)
            .asin();
        let lon = self.lon0
            + (c.x * sin_c).atan2(rho * self.cos_lat0 * cos_c - c.y * self.sin_lat0 * sin_c);
        Coord {
            x: lon.to_degrees(),
            y: lat.to_degrees(),
        }
    }
}

/// The area within `distance_m` metres of `lines` (round caps and joins), built in an
/// azimuthal equidistant projection centred on the lines' bounding box and returned in
/// lon/lat. Accurate to about 0.1 % of the distance for lines within 500 km of their centre
/// (plus the sphere-vs-ellipsoid difference, about 0.3 %).
pub fn buffer_line_m(lines: &MultiLineString<f64>, distance_m: f64) -> MultiPolygon<f64> {
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for c in lines.0.iter().flat_map(|l| l.0.iter()) {
        min_x = min_x.min(c.x);
        min_y = min_y.min(c.y);
        max_x = max_x.max(c.x);
        max_y = max_y.max(c.y);
    }
    if min_x > max_x {
        return MultiPolygon(Vec::new());
    }
    let projection = Aeqd::new((min_x + max_x) / 2.0, (min_y + max_y) / 2.0);
    let projected = MultiLineString(
        lines
            .0
            .iter()
            .map(|l| LineString(l.0.iter().map(|c| projection.forward(*c)).collect()))
            .collect(),
    );
    let buffered: MultiPolygon<f64> = projected.buffer(distance_m);
    let unproject = |ring: &LineString<f64>| {
        LineString(
            ring.0
                .iter()
                .map(|c| projection.inverse(*c))
                .collect::<Vec<_>>(),
        )
    };
    MultiPolygon(
        buffered
            .0
            .iter()
            .map(|p| {
                Polygon::new(
                    unproject(p.exterior()),
                    p.interiors().iter().map(unproject).collect(),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Contains, Distance, Geodesic, Point};

    #[test]
    fn projection_round_trips() {
        let p = Aeqd::new(36.0, 48.5);
        for (lon, lat) in [(36.0, 48.5), (31.0, 46.0), (40.3, 52.4), (22.0, 44.3)] {
            let back = p.inverse(p.forward(Coord { x: lon, y: lat }));
            assert!(
                (back.x - lon).abs() < 1e-9 && (back.y - lat).abs() < 1e-9,
                "{back:?}"
            );
        }
    }

    #[test]
    fn buffer_distance_is_right_within_a_fraction_of_a_percent() {
        let line = MultiLineString(vec![LineString::from(vec![
            (35.0, 47.5),
            (36.5, 48.0),
            (37.8, 49.5),
        ])]);
        let zone = buffer_line_m(&line, 15_000.0);
        // Measure: the distance from every vertex of the buffer to the line is 15 km ± 0.5 %.
        let segments: Vec<_> = line.0[0].lines().collect();
        for polygon in &zone.0 {
            for c in polygon.exterior().0.iter().step_by(7) {
                let p = Point::from(*c);
                let d = segments
                    .iter()
                    .map(|s| {
                        // dense sampling of the segment, geodesic distances
                        (0..=400)
                            .map(|i| {
                                let t = f64::from(i) / 400.0;
                                let q = Point::new(
                                    s.start.x + t * (s.end.x - s.start.x),
                                    s.start.y + t * (s.end.y - s.start.y),
                                );
                                Geodesic.distance(p, q)
                            })
                            .fold(f64::MAX, f64::min)
                    })
                    .fold(f64::MAX, f64::min);
                assert!((d - 15_000.0).abs() < 75.0, "vertex {c:?} at {d} m");
            }
        }
        assert!(zone.contains(&Point::new(36.5, 48.0)));
        assert!(!zone.contains(&Point::new(36.5, 48.3)));
    }

    #[test]
    fn rejects_open_rings_and_swapped_coordinates() {
        let open = br#"{"type":"Polygon","coordinates":[[[30,50],[31,50],[31,51],[30,51]]]}"#;
        let errors = parse_zone_geojson("z.geojson", open, None).unwrap_err();
        assert_eq!(errors[0].key, "$.coordinates[0]");
        assert!(
            errors[0].message.contains("not closed"),
            "{}",
            errors[0].message
        );
        let swapped = br#"{"type":"Polygon","coordinates":[[[50,30],[50,131],[51,131],[50,30]]]}"#;
        let errors = parse_zone_geojson("z.geojson", swapped, None).unwrap_err();
        assert!(
            errors[0].message.contains("out of range"),
            "{}",
            errors[0].message
        );
        assert_eq!(errors[0].key, "$.coordinates[0][1]");
    }

    #[test]
    fn rejects_self_intersection_and_accepts_holes_and_either_winding() {
        let bowtie =
            br#"{"type":"Polygon","coordinates":[[[30,50],[31,51],[31,50],[30,51],[30,50]]]}"#;
        let errors = parse_zone_geojson("z.geojson", bowtie, None).unwrap_err();
        assert!(
            errors[0].message.contains("invalid polygon"),
            "{}",
            errors[0].message
        );
        let holed = br#"{"type":"Feature","id":"a","properties":{},"geometry":{"type":"Polygon","coordinates":[
            [[30,50],[30,52],[32,52],[32,50],[30,50]],
            [[30.5,50.5],[31.5,50.5],[31.5,51.5],[30.5,51.5],[30.5,50.5]]]}}"#;
        let zone = parse_zone_geojson("z.geojson", holed, Some("a")).unwrap();
        assert!(!zone.contains(&Point::new(31.0, 51.0)));
        assert!(zone.contains(&Point::new(30.2, 51.0)));
        let missing = parse_zone_geojson("z.geojson", holed, Some("b")).unwrap_err();
        assert!(missing[0].message.contains("no feature with id `b`"));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_at_their_line() {
        let errors = parse_zone_geojson("z.geojson", b"{\n\"type\":\n\"Poly\xffgon\"}", None)
            .expect_err("not UTF-8");
        assert_eq!(errors[0].line, Some(3));
        assert_eq!(errors[0].message, "not UTF-8 at byte 15");
    }

    #[test]
    fn a_key_given_twice_refuses_the_zone_unless_it_is_a_property_never_read() {
        let square = "[[[30,50],[31,50],[31,51],[30,51],[30,50]]]";
        let twice_coordinates = format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{}},
            "geometry":{{"type":"Polygon","coordinates":{square},"coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}}}]}}"#
        );
        let errors = parse_zone_geojson("z.geojson", twice_coordinates.as_bytes(), None)
            .expect_err("two boundaries in one geometry");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].key, "$.features[0].geometry.coordinates");
        assert_eq!(errors[0].line, Some(2));
        assert_eq!(
            errors[0].message,
            "key `coordinates` is given 2 times in the object; which value is meant cannot be told"
        );
        let twice_id = format!(
            r#"{{"type":"Feature","properties":{{"id":"a","id":"b"}},"geometry":{{"type":"Polygon","coordinates":{square}}}}}"#
        );
        let errors = parse_zone_geojson("z.geojson", twice_id.as_bytes(), Some("b"))
            .expect_err("which feature is `b` cannot be told");
        assert_eq!(errors[0].key, "$.properties.id");
        let twice_name = format!(
            r#"{{"type":"Feature","properties":{{"name":"x","name":"y"}},"geometry":{{"type":"Polygon","coordinates":{square}}}}}"#
        );
        assert!(parse_zone_geojson("z.geojson", twice_name.as_bytes(), None).is_ok());
        let twice_nested = format!(
            r#"{{"type":"Feature","properties":{{"id":"a","meta":{{"k":1,"k":2}}}},"geometry":{{"type":"Polygon","coordinates":{square}}}}}"#
        );
        assert!(parse_zone_geojson("z.geojson", twice_nested.as_bytes(), Some("a")).is_ok());
    }
}
