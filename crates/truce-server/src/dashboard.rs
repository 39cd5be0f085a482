//! The dashboard: an offline web interface for monitors, parties and the
//! public, served by the service itself.
//!
//! # Routes
//!
//! | method and path | what |
//! | --- | --- |
//! | `GET /` | the page (`dashboard/index.html`) |
//! | `GET /assets/{file}` | its scripts (ES modules), style sheet and translations, embedded in the binary |
//! | `GET /v1/geography` | the basemap: countries, regions, the line of contact and cities as GeoJSON |
//! | `GET /v1/agreements/{id}/zones?version=` | the zones of an agreement version as GeoJSON, as the service judges by them |
//! | `GET /v1/agreements/{id}/parties?version=` | the parties of an agreement version (id and name), for the per-party panels |
//! | `GET /v1/log/vkey` | the verifier key of the log's checkpoints, for the page's proof check |
//!
//! Nothing is fetched from elsewhere: the page, its code and the map's
//! geography come from this binary (`include_str!`, `include_bytes!`), so it
//! works with no internet at all. Every answer of these routes carries a
//! strict Content-Security-Policy (scripts and styles from this origin only,
//! no inline script), `X-Content-Type-Options: nosniff` and
//! `Referrer-Policy: no-referrer`. The page reads the `/v1` API as the public
//! does (unsigned), so the server's redaction decides what it shows. A
//! monitor who signs in with their key file (`sign.js`, `monitor.js`) has
//! their reports, reviews and reads of annotations signed in the browser
//! with Web Crypto, in truce-auth's canonical form; the API checks them like
//! any other signed request, and the page decides nothing about roles.
//!
//! Assets are answered with `Cache-Control: no-cache` and an `ETag` (a hash
//! of their bytes): a browser keeps them and revalidates, so a new binary's
//! assets are never mixed with an old one's.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use geo::Simplify as _;
use geo_types::{LineString, MultiPolygon, Polygon};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use truce_log::entry::Entry;
use truce_store::Store as _;
use utoipa::IntoParams;

use crate::error::{ApiError, FieldProblem};
use crate::projection::load_from_blobs;
use crate::state::AppState;

/// The Content-Security-Policy of every dashboard answer.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The page.
const INDEX_HTML: &str = include_str!("dashboard/index.html");

/// JavaScript modules.
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
/// JSON (the translations).
const JSON: &str = "application/json";

/// The embedded assets: file name, content type, bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.js", JAVASCRIPT, include_bytes!("dashboard/app.js")),
    ("data.js", JAVASCRIPT, include_bytes!("dashboard/data.js")),
    ("map.js", JAVASCRIPT, include_bytes!("dashboard/map.js")),
    (
        "timeline.js",
        JAVASCRIPT,
        include_bytes!("dashboard/timeline.js"),
    ),
    ("panel.js", JAVASCRIPT, include_bytes!("dashboard/panel.js")),
    (
        "parties.js",
        JAVASCRIPT,
        include_bytes!("dashboard/parties.js"),
    ),
    (
        "verify.js",
        JAVASCRIPT,
        include_bytes!("dashboard/verify.js"),
    ),
    (
        "export.js",
        JAVASCRIPT,
        include_bytes!("dashboard/export.js"),
    ),
    ("i18n.js", JAVASCRIPT, include_bytes!("dashboard/i18n.js")),
    ("sign.js", JAVASCRIPT, include_bytes!("dashboard/sign.js")),
    (
        "outbox.js",
        JAVASCRIPT,
        include_bytes!("dashboard/outbox.js"),
    ),
    (
        "monitor.js",
        JAVASCRIPT,
        include_bytes!("dashboard/monitor.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("dashboard/app.css"),
    ),
    (
        "i18n-en.json",
        JSON,
        include_bytes!("dashboard/i18n-en.json"),
    ),
    (
        "i18n-uk.json",
        JSON,
        include_bytes!("dashboard/i18n-uk.json"),
    ),
    (
        "i18n-ru.json",
        JSON,
        include_bytes!("dashboard/i18n-ru.json"),
    ),
];

/// The names of the embedded assets, for tests and listings.
pub fn asset_names() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|(name, _, _)| *name)
}

/// The shipped geography the basemap is drawn from (the files the compliance
/// report draws its map with).
const UKRAINE_ADM1: &str = include_str!("../../../data/geo/ukraine-adm1-simplified.geojson");
const RUSSIA_BORDER_ADM1: &str =
    include_str!("../../../data/geo/russia-border-adm1-simplified.geojson");
const NEIGHBOURS_ADM0: &str = include_str!("../../../data/geo/region-adm0-50m.geojson");
const LINE_OF_CONTACT: &str = include_str!("../../../data/geo/line-of-contact-2025.geojson");
const CITIES: &str = include_str!("../../../data/geo/cities.csv");

/// Decimal places kept in basemap coordinates (about 100 m).
const BASEMAP_DECIMALS: i32 = 3;
/// Decimal places kept in zone coordinates (about 10 m).
const ZONE_DECIMALS: i32 = 4;
/// Douglas–Peucker tolerance for zone outlines, degrees (about 200 m).
const ZONE_SIMPLIFY_DEG: f64 = 0.002;
/// How many agreement versions' zones are kept ready.
const ZONE_CACHE_SIZE: usize = 32;

/// The page and its assets (outside `/v1`: they are not part of the API).
/// The small reads the page needs (geography, zones, an agreement version's
/// parties, the log's verifier key) are `/v1` routes in the API's router.
pub(crate) fn pages() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/assets/{file}", get(asset))
}

/// Adds the dashboard's security headers to `response`.
fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// An answer with a body, its content type and the cache rule of assets.
fn cacheable(request: &HeaderMap, content_type: &'static str, body: &'static [u8]) -> Response {
    let etag = format!("\"{}\"", hex_prefix(&Sha256::digest(body)));
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = body.into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    secured(response)
}

/// The first 16 bytes of a digest, hex.
fn hex_prefix(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    digest.iter().take(16).fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// `GET /`: the dashboard page.
async fn page(request: HeaderMap) -> Response {
    cacheable(&request, "text/html; charset=utf-8", INDEX_HTML.as_bytes())
}

/// `GET /assets/{file}`: an embedded asset, or a 404 problem.
async fn asset(Path(file): Path<String>, request: HeaderMap) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => cacheable(&request, content_type, body),
        None => secured(
            ApiError::NotFound {
                what: format!("asset {file:?}"),
                parameter: "file",
            }
            .into_response(),
        ),
    }
}

/// A GeoJSON answer.
fn geojson(body: String) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/geo+json"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secured(response)
}

/// The basemap, built once.
static BASEMAP: LazyLock<Result<String, String>> =
    LazyLock::new(|| basemap().map(|doc| doc.to_string()));

/// The basemap of the dashboard: the countries around Ukraine, Ukraine's
/// regions and the Russian oblasts on the border, the line of contact and
/// cities, as one GeoJSON FeatureCollection. Each feature's `layer`
/// property says what it is: `country`, `region`, `line` or `city`.
#[utoipa::path(
    get,
    path = "/v1/geography",
    tag = "dashboard",
    responses(
        (status = 200, description = "A GeoJSON FeatureCollection; each feature's `layer` is `country`, `region`, `line` or `city`; regions carry `id` (ISO 3166-2), `name` and `name_uk` or `name_ru`", content_type = "application/geo+json"),
        (status = 500, description = "The shipped geography could not be read", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn geography() -> Response {
    match BASEMAP.as_ref() {
        Ok(body) => geojson(body.clone()),
        Err(error) => secured(ApiError::internal(error).into_response()),
    }
}

/// Builds the basemap document from the shipped files.
///
/// # Errors
///
/// A message naming the file and the feature that could not be read.
pub fn basemap() -> Result<Value, String> {
    let mut features = Vec::new();
    for (file, text, layer) in [
        ("region-adm0-50m.geojson", NEIGHBOURS_ADM0, "country"),
        ("ukraine-adm1-simplified.geojson", UKRAINE_ADM1, "region"),
        (
            "russia-border-adm1-simplified.geojson",
            RUSSIA_BORDER_ADM1,
            "region",
        ),
        ("line-of-contact-2025.geojson", LINE_OF_CONTACT, "line"),
    ] {
        let doc: Value = serde_json::from_str(text).map_err(|error| format!("{file}: {error}"))?;
        let Some(items) = doc["features"].as_array() else {
            return Err(format!("{file}: no \"features\" array"));
        };
        for (n, feature) in items.iter().enumerate() {
            let geometry = &feature["geometry"];
            let coordinates = rounded(&geometry["coordinates"], BASEMAP_DECIMALS);
            if geometry["type"].as_str().is_none() || coordinates.is_null() {
                return Err(format!("{file}: feature {n}: no geometry"));
            }
            let mut properties = Map::new();
            properties.insert("layer".into(), layer.into());
            let props = &feature["properties"];
            let id = props["iso_3166_2"]
                .as_str()
                .or_else(|| feature["id"].as_str())
                .unwrap_or_default();
            properties.insert("id".into(), id.into());
            for key in ["name", "name_uk", "name_ru"] {
                if let Some(value) = props[key].as_str() {
                    properties.insert(key.into(), value.into());
                }
            }
            features.push(json!({
                "type": "Feature",
                "properties": properties,
                "geometry": {"type": geometry["type"], "coordinates": coordinates},
            }));
        }
    }
    for (n, line) in CITIES.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let row = n + 1;
        let (Some(name), Some(country), Some(lat), Some(lon)) =
            (fields.first(), fields.get(1), fields.get(3), fields.get(4))
        else {
            return Err(format!("cities.csv: row {row}: fewer than 5 fields"));
        };
        let number = |field: &str, value: &str| {
            value
                .parse::<f64>()
                .map_err(|error| format!("cities.csv: row {row}: {field} {value:?}: {error}"))
        };
        let (lon, lat) = (number("longitude", lon)?, number("latitude", lat)?);
        features.push(json!({
            "type": "Feature",
            "properties": {"layer": "city", "name": name, "country": country},
            "geometry": {"type": "Point", "coordinates": [round(lon, BASEMAP_DECIMALS), round(lat, BASEMAP_DECIMALS)]},
        }));
    }
    Ok(json!({
        "type": "FeatureCollection",
        "attribution": "Boundaries: Natural Earth. Places: GeoNames (CC BY 4.0). Line of contact: approximate, drawn by the truce authors.",
        "features": features,
    }))
}

/// `value` rounded to `decimals` places.
fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// Nested coordinate arrays with every number rounded.
fn rounded(coordinates: &Value, decimals: i32) -> Value {
    match coordinates {
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| rounded(item, decimals)).collect())
        }
        Value::Number(number) => number
            .as_f64()
            .map_or(Value::Null, |value| json!(round(value, decimals))),
        _ => Value::Null,
    }
}

/// Which version of the agreement.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ZoneQuery {
    /// The agreement version (the newest when absent).
    version: Option<String>,
}

/// What the dashboard reads of an agreement version: its zones, drawn, and
/// its parties.
struct Loaded {
    /// The zones as a GeoJSON FeatureCollection.
    zones: String,
    /// The version and its parties as the JSON the parties route answers.
    parties: String,
}

/// Agreement versions already read, by the hash of their agreement entry.
static ZONE_CACHE: LazyLock<Mutex<HashMap<[u8; 32], Arc<Loaded>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The zones of an agreement version as GeoJSON: one feature per area of a
/// zone (a zone may have an area per party and per weapon class), with the
/// zone's `zone` id and `name`, the area's `party` and `actions` (absent:
/// every party, every action) and `origin` (how it was built), outlines
/// simplified to about 200 m. The areas are the ones of the common
/// interpretation (the first logged).
#[utoipa::path(
    get,
    path = "/v1/agreements/{id}/zones",
    tag = "dashboard",
    params(("id" = String, Path, description = "The agreement's id"), ZoneQuery),
    responses(
        (status = 200, description = "A GeoJSON FeatureCollection, a feature per zone area", content_type = "application/geo+json"),
        (status = 400, description = "A version that is not a number", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agreement or version", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 500, description = "The agreement's files could not be read", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn zones(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<ZoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match loaded_agreement(&state, &id, query).await {
        Ok(loaded) => geojson(loaded.zones.clone()),
        Err(error) => secured(error.into_response()),
    }
}

/// The parties of an agreement version: `{"agreement_id", "version",
/// "parties": [{"id", "name"}]}`, in the agreement's order (of the common
/// interpretation, the first logged). The dashboard draws a panel per party.
#[utoipa::path(
    get,
    path = "/v1/agreements/{id}/parties",
    tag = "dashboard",
    params(("id" = String, Path, description = "The agreement's id"), ZoneQuery),
    responses(
        (status = 200, description = "The version and its parties, each with `id` and `name`", content_type = "application/json"),
        (status = 400, description = "A version that is not a number", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agreement or version", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 500, description = "The agreement's files could not be read", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn parties(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<ZoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match loaded_agreement(&state, &id, query).await {
        Ok(loaded) => {
            let mut response = loaded.parties.clone().into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            secured(response)
        }
        Err(error) => secured(error.into_response()),
    }
}

/// The verifier key of the log's checkpoints (`name+keyid+base64`, the
/// `vkey` format of `truce log verify`), one line of text. A reader should
/// compare it with the key the log's operator publishes: the page uses it to
/// check the checkpoint's signature, which only shows that the checkpoint was
/// signed by the key this server names.
#[utoipa::path(
    get,
    path = "/v1/log/vkey",
    tag = "dashboard",
    responses(
        (status = 200, description = "The log's verifier key and a newline", body = String, content_type = "text/plain; charset=utf-8"),
    )
)]
pub(crate) async fn log_vkey(State(state): State<AppState>) -> Response {
    let mut response = format!("{}\n", state.log_verifier().to_vkey()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secured(response)
}

/// The agreement version `id` (`query`'s version, else the newest), read
/// from its log entry and the blobs once and then kept.
async fn loaded_agreement(
    state: &AppState,
    id: &str,
    query: Result<Query<ZoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Arc<Loaded>, ApiError> {
    let Query(query) = query.map_err(|error| {
        ApiError::BadParameter(FieldProblem::parameter("version", error.body_text()))
    })?;
    let version = match query.version.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<u32>().map_err(|error| {
            ApiError::BadParameter(FieldProblem::parameter(
                "version",
                format!("version {text:?} is not a version number: {error}"),
            ))
        })?),
    };
    let records = state
        .store()
        .agreement(id, version)
        .await
        .map_err(|error| ApiError::internal(&error))?;
    let Some(first) = records.first() else {
        return Err(ApiError::NotFound {
            what: match version {
                Some(version) => format!("agreement {id:?} version {version}"),
                None => format!("agreement {id:?}"),
            },
            parameter: "id",
        });
    };
    let index = first.log_index;
    let bytes = state
        .with_log(move |log| log.entry(index))
        .await?
        .map_err(|error| ApiError::internal(&error))?;
    let key: [u8; 32] = Sha256::digest(&bytes).into();
    if let Some(done) = ZONE_CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return Ok(Arc::clone(done));
    }
    let Ok(Entry::AgreementVersion(entry)) = Entry::decode(&bytes) else {
        return Err(ApiError::internal(&format!(
            "log entry {index} is not an agreement version"
        )));
    };
    let blobs = state.shared.blobs.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        let agreements = load_from_blobs(&blobs, &entry)?;
        let agreement = agreements
            .iter()
            .find(|agreement| agreement.interpretation == entry.interpretation)
            .or_else(|| agreements.first())
            .ok_or_else(|| "the agreement has no interpretation".to_owned())?;
        let parties = json!({
            "agreement_id": agreement.id,
            "version": agreement.version,
            "parties": agreement
                .parties
                .iter()
                .map(|party| json!({"id": party.id.as_str(), "name": party.name.as_str()}))
                .collect::<Vec<_>>(),
        });
        Ok::<_, String>(Loaded {
            zones: zone_collection(&agreement.zones).to_string(),
            parties: parties.to_string(),
        })
    })
    .await
    .map_err(|error| ApiError::internal(&error))?
    .map_err(|error| ApiError::internal(&error))?;
    let loaded = Arc::new(loaded);
    let mut cache = ZONE_CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= ZONE_CACHE_SIZE {
        cache.clear();
    }
    cache.insert(key, Arc::clone(&loaded));
    Ok(loaded)
}

/// The zones as a FeatureCollection.
fn zone_collection(zones: &[truce_model::agreement::Zone]) -> Value {
    let features: Vec<Value> = zones
        .iter()
        .flat_map(|zone| {
            zone.areas.iter().map(move |area| {
                json!({
                    "type": "Feature",
                    "properties": {
                        "zone": zone.id.as_str(),
                        "name": zone.name.as_str(),
                        "party": area.party,
                        "actions": area.actions.as_ref().map(|actions| actions.iter().map(|action| action.as_str()).collect::<Vec<_>>()),
                        "origin": area.origin,
                    },
                    "geometry": multipolygon(&area.area.simplify(ZONE_SIMPLIFY_DEG)),
                })
            })
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

/// A GeoJSON MultiPolygon geometry.
fn multipolygon(area: &MultiPolygon<f64>) -> Value {
    let ring = |line: &LineString<f64>| -> Value {
        line.coords()
            .map(|point| json!([round(point.x, ZONE_DECIMALS), round(point.y, ZONE_DECIMALS)]))
            .collect()
    };
    let polygon = |polygon: &Polygon<f64>| -> Value {
        std::iter::once(polygon.exterior())
            .chain(polygon.interiors())
            .map(ring)
            .collect()
    };
    json!({"type": "MultiPolygon", "coordinates": area.iter().map(polygon).collect::<Vec<_>>()})
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_basemap_has_every_layer() {
        let doc = basemap().unwrap();
        let features = doc["features"].as_array().unwrap();
        for layer in ["country", "region", "line", "city"] {
            assert!(
                features.iter().any(|f| f["properties"]["layer"] == layer),
                "no {layer}"
            );
        }
        let kyiv = features
            .iter()
            .find(|f| f["properties"]["name"] == "Kyiv" && f["properties"]["layer"] == "city")
            .unwrap();
        assert_eq!(kyiv["geometry"]["coordinates"], json!([30.524, 50.455]));
    }

    #[test]
    fn coordinates_are_rounded() {
        assert_eq!(
            rounded(&json!([[30.123_456, 50.987_654]]), 3),
            json!([[30.123, 50.988]])
        );
        assert_eq!(rounded(&json!("x"), 3), Value::Null);
    }
}
