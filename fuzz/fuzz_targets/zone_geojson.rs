//! Any bytes as a zone GeoJSON file: never panics; accepted zones are valid and in range.
#![no_main]

use libfuzzer_sys::fuzz_target;
use truce_model::agreement::parse_zone_geojson;

fuzz_target!(|data: &[u8]| {
    if let Ok(zone) = parse_zone_geojson("fuzz.geojson", data, None) {
        for polygon in &zone.0 {
            for c in polygon.exterior().0.iter().chain(polygon.interiors().iter().flat_map(|r| r.0.iter())) {
                assert!((-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y));
            }
        }
    }
});
