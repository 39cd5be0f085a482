//! The shipped geography (`data/geo/`), compiled into the binary so a report renders the
//! same from any directory: regions to count casualties by, and outlines, the line of
//! contact and cities to draw the map with.
//!
//! Regions are Ukraine's 27 first-level units and the five Russian oblasts on the border, at
//! 1:10m detail (accurate to a few hundred metres); the map draws the simplified outlines.
//! Borders are the internationally recognised ones (see `data/geo/README.md`).

use std::sync::LazyLock;

use geo::{BoundingRect, Intersects};
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon, Rect};
use serde_json::Value;

use crate::error::ReportError;

/// The region key of a place outside every shipped region (at sea, or further inside
/// Russia or another country).
pub const OUTSIDE_REGIONS: &str = "outside";

const UKRAINE_ADM1: &str = include_str!("../../../data/geo/ukraine-adm1.geojson");
const RUSSIA_BORDER_ADM1: &str = include_str!("../../../data/geo/russia-border-adm1.geojson");
const UKRAINE_ADM1_SIMPLIFIED: &str =
    include_str!("../../../data/geo/ukraine-adm1-simplified.geojson");
const RUSSIA_BORDER_ADM1_SIMPLIFIED: &str =
    include_str!("../../../data/geo/russia-border-adm1-simplified.geojson");
const NEIGHBOURS_ADM0: &str = include_str!("../../../data/geo/region-adm0-50m.geojson");
const LINE_OF_CONTACT: &str = include_str!("../../../data/geo/line-of-contact-2025.geojson");
const CITIES: &str = include_str!("../../../data/geo/cities.csv");

/// A region to count by.
#[derive(Debug)]
pub(crate) struct Region {
    /// ISO 3166-2 code.
    pub(crate) code: String,
    /// English name.
    pub(crate) name: String,
    area: MultiPolygon<f64>,
    bounds: Rect<f64>,
}

/// What an outline on the map stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutlineKind {
    /// A country around Ukraine (Russia with Ukraine's outline cut out of it).
    Country,
    /// A first-level unit of Ukraine.
    UkraineRegion,
    /// A Russian oblast on the border.
    BorderRegion,
}

/// One feature to draw: polygons as rings of lon/lat points.
#[derive(Debug)]
pub(crate) struct Outline {
    /// What it is.
    pub(crate) kind: OutlineKind,
    /// Rings (exteriors and holes), lon/lat.
    pub(crate) rings: Vec<Vec<(f64, f64)>>,
}

/// A named place.
#[derive(Debug)]
pub(crate) struct City {
    /// Name.
    pub(crate) name: String,
    /// Longitude.
    pub(crate) lon: f64,
    /// Latitude.
    pub(crate) lat: f64,
}

/// Everything read from `data/geo/`.
#[derive(Debug)]
pub(crate) struct Geography {
    /// Regions at full detail, Ukraine's first.
    pub(crate) regions: Vec<Region>,
    /// Outlines to draw, countries first.
    pub(crate) outlines: Vec<Outline>,
    /// The line of contact, as lines of lon/lat points.
    pub(crate) line_of_contact: Vec<Vec<(f64, f64)>>,
    /// Cities and towns.
    pub(crate) cities: Vec<City>,
}

static GEOGRAPHY: LazyLock<Result<Geography, (&'static str, String)>> =
    LazyLock::new(Geography::parse);

/// The shipped geography, parsed once.
pub(crate) fn geography() -> Result<&'static Geography, ReportError> {
    GEOGRAPHY
        .as_ref()
        .map_err(|(file, message)| ReportError::Geography {
            file,
            message: message.clone(),
        })
}

/// The region of the shipped geography containing a point: its ISO 3166-2 code and name,
/// or `None` outside every region. A point on a shared boundary goes to the region listed
/// first (Ukraine's units by code, then the Russian oblasts).
///
/// # Errors
///
/// [`ReportError::Geography`] when the compiled-in geography cannot be read.
pub fn region_of(lon: f64, lat: f64) -> Result<Option<(&'static str, &'static str)>, ReportError> {
    Ok(geography()?
        .region_at(lon, lat)
        .map(|region| (region.code.as_str(), region.name.as_str())))
}

impl Geography {
    fn parse() -> Result<Geography, (&'static str, String)> {
        let mut regions = Vec::new();
        for (file, text) in [
            ("ukraine-adm1.geojson", UKRAINE_ADM1),
            ("russia-border-adm1.geojson", RUSSIA_BORDER_ADM1),
        ] {
            for feature in features(text).map_err(|message| (file, message))? {
                let code = string_property(&feature, "iso_3166_2").map_err(|m| (file, m))?;
                let name = string_property(&feature, "name").map_err(|m| (file, m))?;
                let polygons = polygons(&feature["geometry"]).map_err(|m| (file, m))?;
                let area = MultiPolygon(
                    polygons
                        .iter()
                        .filter_map(|rings| {
                            let mut rings = rings.iter().map(|ring| {
                                LineString(ring.iter().map(|&(x, y)| Coord { x, y }).collect())
                            });
                            let exterior = rings.next()?;
                            Some(Polygon::new(exterior, rings.collect()))
                        })
                        .collect(),
                );
                let bounds = area
                    .bounding_rect()
                    .ok_or_else(|| (file, format!("region `{code}` has no points")))?;
                regions.push(Region {
                    code,
                    name,
                    area,
                    bounds,
                });
            }
        }
        let mut outlines = Vec::new();
        for (file, text, kind) in [
            (
                "region-adm0-50m.geojson",
                NEIGHBOURS_ADM0,
                OutlineKind::Country,
            ),
            (
                "ukraine-adm1-simplified.geojson",
                UKRAINE_ADM1_SIMPLIFIED,
                OutlineKind::UkraineRegion,
            ),
            (
                "russia-border-adm1-simplified.geojson",
                RUSSIA_BORDER_ADM1_SIMPLIFIED,
                OutlineKind::BorderRegion,
            ),
        ] {
            for feature in features(text).map_err(|message| (file, message))? {
                let rings = polygons(&feature["geometry"])
                    .map_err(|m| (file, m))?
                    .into_iter()
                    .flatten()
                    .collect();
                outlines.push(Outline { kind, rings });
            }
        }
        let file = "line-of-contact-2025.geojson";
        let mut line_of_contact = Vec::new();
        for feature in features(LINE_OF_CONTACT).map_err(|message| (file, message))? {
            line_of_contact.extend(lines(&feature["geometry"]).map_err(|m| (file, m))?);
        }
        let cities = parse_cities(CITIES).map_err(|message| ("cities.csv", message))?;
        Ok(Geography {
            regions,
            outlines,
            line_of_contact,
            cities,
        })
    }

    /// The regions whose area touches `shape` (boundary included), in order; `bounds` is
    /// the shape's bounding box.
    pub(crate) fn regions_touching(
        &self,
        shape: &MultiPolygon<f64>,
        bounds: Rect<f64>,
    ) -> Vec<&Region> {
        let (low, high) = (bounds.min(), bounds.max());
        self.regions
            .iter()
            .filter(|region| {
                let (min, max) = (region.bounds.min(), region.bounds.max());
                low.x <= max.x
                    && high.x >= min.x
                    && low.y <= max.y
                    && high.y >= min.y
                    && region.area.intersects(shape)
            })
            .collect()
    }

    /// The first region whose area holds the point (boundary included).
    pub(crate) fn region_at(&self, lon: f64, lat: f64) -> Option<&Region> {
        if !(lon.is_finite() && lat.is_finite()) {
            return None;
        }
        let point = Point::new(lon, lat);
        self.regions.iter().find(|region| {
            let (min, max) = (region.bounds.min(), region.bounds.max());
            lon >= min.x
                && lon <= max.x
                && lat >= min.y
                && lat <= max.y
                && region.area.intersects(&point)
        })
    }
}

/// The features of a GeoJSON FeatureCollection.
fn features(text: &str) -> Result<Vec<Value>, String> {
    let mut document: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    match document.get_mut("features").map(Value::take) {
        Some(Value::Array(features)) => Ok(features),
        _ => Err("no `features` array".to_owned()),
    }
}

fn string_property(feature: &Value, key: &str) -> Result<String, String> {
    feature["properties"][key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("a feature has no string property `{key}`"))
}

/// `[lon, lat]` positions of a GeoJSON ring or line.
fn positions(value: &Value) -> Result<Vec<(f64, f64)>, String> {
    let array = value
        .as_array()
        .ok_or_else(|| "coordinates: expected an array of positions".to_owned())?;
    array
        .iter()
        .map(
            |position| match (position[0].as_f64(), position[1].as_f64()) {
                (Some(lon), Some(lat)) if lon.is_finite() && lat.is_finite() => Ok((lon, lat)),
                _ => Err(format!("coordinates: `{position}` is not a position")),
            },
        )
        .collect()
}

/// Rings of lon/lat points: a polygon's exterior and holes, or lines.
type Rings = Vec<Vec<(f64, f64)>>;

/// Polygons (each a list of rings) of a Polygon or MultiPolygon geometry.
fn polygons(geometry: &Value) -> Result<Vec<Rings>, String> {
    let coordinates = &geometry["coordinates"];
    let rings_of = |polygon: &Value| -> Result<Rings, String> {
        polygon
            .as_array()
            .ok_or_else(|| "coordinates: expected an array of rings".to_owned())?
            .iter()
            .map(positions)
            .collect()
    };
    match geometry["type"].as_str() {
        Some("Polygon") => Ok(vec![rings_of(coordinates)?]),
        Some("MultiPolygon") => coordinates
            .as_array()
            .ok_or_else(|| "coordinates: expected an array of polygons".to_owned())?
            .iter()
            .map(rings_of)
            .collect(),
        other => Err(format!("geometry type {other:?} is not a polygon")),
    }
}

/// Lines of a LineString or MultiLineString geometry.
fn lines(geometry: &Value) -> Result<Rings, String> {
    let coordinates = &geometry["coordinates"];
    match geometry["type"].as_str() {
        Some("LineString") => Ok(vec![positions(coordinates)?]),
        Some("MultiLineString") => coordinates
            .as_array()
            .ok_or_else(|| "coordinates: expected an array of lines".to_owned())?
            .iter()
            .map(positions)
            .collect(),
        other => Err(format!("geometry type {other:?} is not a line")),
    }
}

/// `name,country,admin1_iso,latitude,longitude,...` rows (no quoted fields in the file).
fn parse_cities(text: &str) -> Result<Vec<City>, String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| format!("no `{name}` column"))
    };
    let (name_at, lat_at, lon_at) = (column("name")?, column("latitude")?, column("longitude")?);
    lines
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(row, line)| {
            let fields: Vec<&str> = line.split(',').collect();
            let number = |at: usize| fields.get(at).and_then(|f| f.parse::<f64>().ok());
            match (fields.get(name_at), number(lat_at), number(lon_at)) {
                (Some(name), Some(lat), Some(lon)) => Ok(City {
                    name: (*name).to_owned(),
                    lon,
                    lat,
                }),
                _ => Err(format!("row {}: not a city", row + 2)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_shipped_files_parse_completely() {
        let geography = geography().unwrap();
        assert_eq!(geography.regions.len(), 27 + 5);
        assert_eq!(
            geography
                .outlines
                .iter()
                .filter(|o| o.kind == OutlineKind::Country)
                .count(),
            19
        );
        assert_eq!(geography.cities.len(), 41);
        assert!(geography.line_of_contact[0].len() > 10);
    }

    #[test]
    fn cities_fall_in_their_listed_region() {
        // Every GeoNames point of cities.csv marked `in_polygon = yes` lies in the unit of
        // its `admin1_iso` column: an independent check of the containment test.
        let mut checked = 0;
        for line in CITIES.lines().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            let (admin1, lat, lon, inside) = (fields[2], fields[3], fields[4], fields[7]);
            let found = region_of(lon.parse().unwrap(), lat.parse().unwrap()).unwrap();
            if inside == "yes" {
                assert_eq!(found.map(|(code, _)| code), Some(admin1), "{line}");
                checked += 1;
            }
        }
        assert_eq!(checked, 40);
    }

    #[test]
    fn kherson_lies_just_outside_its_generalised_unit() {
        // data/geo/README.md: Kherson's point is about 120 m outside UA-65, on the river.
        assert_ne!(
            region_of(32.61458, 46.63695).unwrap().map(|(code, _)| code),
            Some("UA-65")
        );
    }

    #[test]
    fn points_at_sea_or_far_away_are_outside() {
        assert_eq!(region_of(31.5, 43.5).unwrap(), None); // the Black Sea
        assert_eq!(region_of(37.6, 55.75).unwrap(), None); // Moscow
        assert_eq!(region_of(f64::NAN, 48.0).unwrap(), None);
        assert_eq!(
            region_of(36.58091, 50.60343).unwrap(),
            Some(("RU-BEL", "Belgorod Oblast"))
        );
    }

    #[test]
    fn broken_geojson_is_an_error_not_a_panic() {
        assert!(features("{").is_err());
        assert!(features("{\"features\": 3}").is_err());
        let geometry: Value = serde_json::json!({"type": "Point", "coordinates": [1, 2]});
        assert!(polygons(&geometry).is_err());
        assert!(lines(&geometry).is_err());
        let bad: Value = serde_json::json!({"type": "Polygon", "coordinates": [[["a", 1]]]});
        assert!(polygons(&bad).unwrap_err().contains("is not a position"));
        assert!(parse_cities("name,latitude\nx,1\n").is_err());
        assert!(parse_cities("name,latitude,longitude\nx,1,nope\n").is_err());
    }
}
