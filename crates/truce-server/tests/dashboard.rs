//! The dashboard's routes: the page, its embedded assets with their content
//! types and cache headers, the security headers on every answer, the
//! basemap and an agreement's zones as GeoJSON, an agreement's parties, the
//! log's verifier key, a 404 for an unknown asset, and a translation of every
//! vocabulary term in every language.

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, header};
use common::{AGREEMENT, Call, Keys, config, get, open, populate, post, report, send, signer};
use serde_json::{Value, json};
use truce_server::dashboard::{CONTENT_SECURITY_POLICY, asset_names};

/// The exact policy the dashboard promises.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

#[track_caller]
fn assert_secured(path: &str, headers: &HeaderMap) {
    assert_eq!(
        headers
            .get(header::CONTENT_SECURITY_POLICY)
            .map(|v| v.to_str().unwrap()),
        Some(POLICY),
        "{path}: Content-Security-Policy"
    );
    assert_eq!(
        headers[header::X_CONTENT_TYPE_OPTIONS],
        "nosniff",
        "{path}: X-Content-Type-Options"
    );
    assert_eq!(
        headers[header::REFERRER_POLICY],
        "no-referrer",
        "{path}: Referrer-Policy"
    );
}

fn content_type(headers: &HeaderMap) -> &str {
    headers[header::CONTENT_TYPE].to_str().unwrap()
}

#[test]
fn the_policy_is_the_promised_one() {
    assert_eq!(CONTENT_SECURITY_POLICY, POLICY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_loads_only_its_own_assets() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (_service, router) = open(config(dir.path(), &keys.admin)).await;

    let page = get(&router, "/", None).await.expect(200);
    assert_secured("/", &page.headers);
    assert_eq!(content_type(&page.headers), "text/html; charset=utf-8");
    let html = page.text();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    // No inline script or style, nothing from another origin.
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "inline script or style"
    );
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let value = &html[at + attribute.len()..];
            let value = &value[..value.find('"').unwrap()];
            assert!(
                value.starts_with("/assets/") || value.starts_with('#') || value == "data:,",
                "{attribute}{value}\" leaves the page's assets"
            );
            if let Some(file) = value.strip_prefix("/assets/") {
                assert!(
                    asset_names().any(|name| name == file),
                    "the page links {file}, which is not embedded"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_have_their_types_cache_headers_and_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (_service, router) = open(config(dir.path(), &keys.admin)).await;

    let names: Vec<&str> = asset_names().collect();
    for needed in [
        "app.js",
        "map.js",
        "app.css",
        "i18n-en.json",
        "i18n-uk.json",
        "i18n-ru.json",
    ] {
        assert!(names.contains(&needed), "{needed} is not embedded");
    }
    let mut english_keys = None;
    for name in names {
        let path = format!("/assets/{name}");
        let answer = get(&router, &path, None).await.expect(200);
        assert_secured(&path, &answer.headers);
        let expected = match name.rsplit('.').next().unwrap() {
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "json" => "application/json",
            other => panic!("an asset of unexpected kind: {other}"),
        };
        assert_eq!(content_type(&answer.headers), expected, "{path}");
        assert_eq!(answer.headers[header::CACHE_CONTROL], "no-cache", "{path}");
        assert!(!answer.body.is_empty(), "{path} is empty");
        if name.ends_with(".js") {
            // Data is inserted as text, never parsed as markup.
            assert!(
                !answer.text().contains("innerHTML"),
                "{path} uses innerHTML"
            );
        }
        if name.ends_with(".json") {
            let strings: Value = serde_json::from_slice(&answer.body).unwrap();
            let keys: Vec<String> = strings.as_object().unwrap().keys().cloned().collect();
            match &english_keys {
                None => english_keys = Some(keys),
                Some(english) => assert_eq!(&keys, english, "{path} has other keys"),
            }
        }

        // Revalidation: the same ETag answers 304, still with the headers.
        let etag = answer.headers[header::ETAG].to_str().unwrap().to_owned();
        let request = Request::get(&path)
            .header(header::IF_NONE_MATCH, &etag)
            .body(Body::empty())
            .unwrap();
        let again = send(&router, request).await.expect(304);
        assert_secured(&path, &again.headers);
        assert!(again.body.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_asset_is_a_404_problem_with_the_headers() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (_service, router) = open(config(dir.path(), &keys.admin)).await;
    for path in [
        "/assets/nothing.js",
        "/assets/..%2Flib.rs",
        "/assets/app.js.map",
    ] {
        let answer = get(&router, path, None).await.expect(404);
        assert_secured(path, &answer.headers);
        assert_eq!(answer.problem(), "not-found", "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_geography_is_geojson_of_every_layer() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (_service, router) = open(config(dir.path(), &keys.admin)).await;
    let answer = get(&router, "/v1/geography", None).await.expect(200);
    assert_secured("/v1/geography", &answer.headers);
    assert_eq!(content_type(&answer.headers), "application/geo+json");
    let doc = answer.json();
    assert_eq!(doc["type"], "FeatureCollection");
    let features = doc["features"].as_array().unwrap();
    let mut layers = std::collections::BTreeMap::<String, usize>::new();
    for feature in features {
        assert_eq!(feature["type"], "Feature");
        let layer = feature["properties"]["layer"].as_str().unwrap();
        *layers.entry(layer.to_owned()).or_default() += 1;
        let geometry = &feature["geometry"];
        let kind = geometry["type"].as_str().unwrap();
        assert!(
            [
                "Point",
                "LineString",
                "MultiLineString",
                "Polygon",
                "MultiPolygon"
            ]
            .contains(&kind),
            "{kind}"
        );
        assert_positions(&geometry["coordinates"], kind);
    }
    // 27 units of Ukraine and 5 Russian border oblasts; 41 cities.
    assert_eq!(layers["region"], 32, "{layers:?}");
    assert_eq!(layers["city"], 41, "{layers:?}");
    assert!(layers["country"] >= 10, "{layers:?}");
    assert_eq!(layers["line"], 1, "{layers:?}");
    assert!(
        features.iter().any(|f| f["properties"]["id"] == "UA-43"),
        "Crimea is drawn as a Ukrainian unit"
    );
}

/// Every position is [lon, lat] within range, nested as `kind` requires.
fn assert_positions(coordinates: &Value, kind: &str) {
    let depth = match kind {
        "Point" => 0,
        "LineString" => 1,
        "MultiLineString" | "Polygon" => 2,
        _ => 3,
    };
    fn walk(value: &Value, depth: usize) {
        let items = value.as_array().unwrap();
        if depth == 0 {
            assert_eq!(items.len(), 2, "{value}");
            let (lon, lat) = (items[0].as_f64().unwrap(), items[1].as_f64().unwrap());
            assert!((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat));
            return;
        }
        assert!(!items.is_empty());
        for item in items {
            walk(item, depth - 1);
        }
    }
    walk(coordinates, depth);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agreements_zones_are_geojson() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (_service, router) = open(config(dir.path(), &keys.admin)).await;
    let missing = get(&router, "/v1/agreements/no-such/zones", None)
        .await
        .expect(404);
    assert_secured("zones (404)", &missing.headers);
    assert_eq!(missing.problem(), "not-found");
    populate(&router, &keys).await;

    let path = format!("/v1/agreements/{AGREEMENT}/zones");
    let answer = get(&router, &path, None).await.expect(200);
    assert_secured(&path, &answer.headers);
    assert_eq!(content_type(&answer.headers), "application/geo+json");
    let doc = answer.json();
    assert_eq!(doc["type"], "FeatureCollection");
    let features = doc["features"].as_array().unwrap();
    assert!(!features.is_empty());
    for feature in features {
        assert!(
            feature["properties"]["zone"]
                .as_str()
                .is_some_and(|z| !z.is_empty())
        );
        assert_eq!(feature["geometry"]["type"], "MultiPolygon");
        assert_positions(&feature["geometry"]["coordinates"], "MultiPolygon");
    }
    // The same version asked by number answers the same; a version that is
    // not a number is the client's fault, one that does not exist a 404.
    let again = get(&router, &format!("{path}?version=1"), None)
        .await
        .expect(200);
    assert_eq!(again.json(), doc);
    let bad = get(&router, &format!("{path}?version=one"), None)
        .await
        .expect(400);
    assert_eq!(bad.problem_places(), ["version"]);
    get(&router, &format!("{path}?version=9"), None)
        .await
        .expect(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_the_dashboards_data() {
    let doc = truce_server::openapi();
    let json: Value = serde_json::to_value(&doc).unwrap();
    for path in ["/v1/geography", "/v1/agreements/{id}/zones"] {
        assert!(
            json["paths"][path]["get"].is_object(),
            "{path} is not documented"
        );
    }
    // The page and its assets are not part of the API.
    assert!(json["paths"].get("/").is_none());
    assert!(json["paths"].get("/assets/{file}").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agreements_parties_are_listed_in_its_order() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (_service, router) = open(config(dir.path(), &keys.admin)).await;
    let missing = get(&router, "/v1/agreements/no-such/parties", None)
        .await
        .expect(404);
    assert_secured("parties (404)", &missing.headers);
    assert_eq!(missing.problem(), "not-found");
    populate(&router, &keys).await;

    let path = format!("/v1/agreements/{AGREEMENT}/parties");
    let answer = get(&router, &path, None).await.expect(200);
    assert_secured(&path, &answer.headers);
    assert_eq!(content_type(&answer.headers), "application/json");
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(
        answer.json(),
        serde_json::json!({
            "agreement_id": AGREEMENT,
            "version": 1,
            "parties": [
                {"id": "RU", "name": "Russian Federation"},
                {"id": "UA", "name": "Ukraine"},
            ],
        })
    );
    let bad = get(&router, &format!("{path}?version=one"), None)
        .await
        .expect(400);
    assert_secured("parties (400)", &bad.headers);
    assert_eq!(bad.problem_places(), ["version"]);
    get(&router, &format!("{path}?version=9"), None)
        .await
        .expect(404);
    // The zones of the same version are still answered (they share a cache).
    get(&router, &format!("/v1/agreements/{AGREEMENT}/zones"), None)
        .await
        .expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_verifier_key_is_served_and_verifies_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    populate(&router, &keys).await;
    let answer = get(&router, "/v1/log/vkey", None).await.expect(200);
    assert_secured("/v1/log/vkey", &answer.headers);
    assert_eq!(content_type(&answer.headers), "text/plain; charset=utf-8");
    let text = answer.text();
    assert!(
        text.ends_with('\n') && text.lines().count() == 1,
        "{text:?}"
    );
    let verifier = truce_note::Verifier::from_vkey(text.trim()).unwrap();
    assert_eq!(verifier.to_vkey(), service.state().log_verifier().to_vkey());
    // The page checks the checkpoint with it.
    let checkpoint = get(&router, "/v1/log/checkpoint", None).await.expect(200);
    truce_note::Note::parse(&checkpoint.body)
        .unwrap()
        .verify(&[verifier])
        .unwrap();
}

#[test]
fn every_vocabulary_term_has_a_translation_in_every_language() {
    use truce_engine::adjudicate::{NoViolationReason, Verdict};
    use truce_model::{ActionType, EnergyKind, SourceKind, TargetKind};

    let mut needed: Vec<String> = Vec::new();
    needed.extend(
        ActionType::NAMES
            .iter()
            .map(|name| format!("action.{name}")),
    );
    needed.extend(
        TargetKind::NAMES
            .iter()
            .map(|name| format!("target.{name}")),
    );
    needed.extend(
        EnergyKind::NAMES
            .iter()
            .map(|name| format!("target.energy.{name}")),
    );
    needed.extend(
        SourceKind::NAMES
            .iter()
            .map(|name| format!("source.{name}")),
    );
    needed.extend(
        Verdict::ALL
            .iter()
            .map(|verdict| format!("verdict.{}", verdict.as_str())),
    );
    needed.extend(
        NoViolationReason::ALL
            .iter()
            .map(|reason| format!("reason.{}", reason.as_str())),
    );
    for (language, text) in [
        ("en", include_str!("../src/dashboard/i18n-en.json")),
        ("uk", include_str!("../src/dashboard/i18n-uk.json")),
        ("ru", include_str!("../src/dashboard/i18n-ru.json")),
    ] {
        let strings: Value = serde_json::from_str(text).unwrap();
        let missing: Vec<&String> = needed
            .iter()
            .filter(|key| {
                strings[key.as_str()]
                    .as_str()
                    .is_none_or(|value| value.trim().is_empty())
            })
            .collect();
        assert!(
            missing.is_empty(),
            "{language}: no translation of {missing:?}"
        );
    }
}

/// The keys a script asks for with `t('…')` (and, in `sign.js`, the key-file messages).
fn keys_used_by(script: &str) -> Vec<String> {
    let mut keys = Vec::new();
    // Each opener, and how many of its bytes come before the key.
    for (opener, skip) in [("t('", 3), ("'signin.error.", 1)] {
        for (at, _) in script.match_indices(opener) {
            // `t(` itself, not the end of `select(` or `createElement(`.
            let before = at.checked_sub(1).map(|k| script.as_bytes()[k]);
            if skip == 3
                && before.is_some_and(|byte| {
                    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'$')
                })
            {
                continue;
            }
            let start = at + skip;
            if let Some(end) = script[start..].find('\'') {
                keys.push(script[start..start + end].to_owned());
            }
        }
    }
    keys
}

#[test]
fn every_string_of_the_page_is_in_every_language() {
    let english: Value =
        serde_json::from_str(include_str!("../src/dashboard/i18n-en.json")).unwrap();
    let english = english.as_object().unwrap();
    for (language, text) in [
        ("uk", include_str!("../src/dashboard/i18n-uk.json")),
        ("ru", include_str!("../src/dashboard/i18n-ru.json")),
    ] {
        let strings: Value = serde_json::from_str(text).unwrap();
        let missing: Vec<&String> = english
            .keys()
            .filter(|key| {
                strings[key.as_str()]
                    .as_str()
                    .is_none_or(|value| value.trim().is_empty())
            })
            .collect();
        assert!(
            missing.is_empty(),
            "{language}: no translation of {missing:?}"
        );
    }
    let html = include_str!("../src/dashboard/index.html");
    let mut used: Vec<String> = html
        .match_indices("data-i18n=\"")
        .map(|(at, found)| {
            let rest = &html[at + found.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect();
    for script in [
        include_str!("../src/dashboard/monitor.js"),
        include_str!("../src/dashboard/sign.js"),
        include_str!("../src/dashboard/panel.js"),
        include_str!("../src/dashboard/app.js"),
    ] {
        used.extend(keys_used_by(script));
    }
    assert!(
        used.iter().any(|key| key == "signin.error.key_id"),
        "{used:?}"
    );
    assert!(
        used.iter().any(|key| key == "trail.author_withheld"),
        "{used:?}"
    );
    let unknown: Vec<&String> = used
        .iter()
        .filter(|key| !english.contains_key(key.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "strings the page uses with no text: {unknown:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_are_refused_by_the_server_to_the_public_and_the_trail_hides_authors_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (_service, router) = open(config(dir.path(), &keys.admin)).await;
    populate(&router, &keys).await;
    let citizen = signer("citizen.example/1", 9);
    post(
        &router,
        "/v1/sources",
        &json!({"vkey": citizen.verifier().to_vkey(), "kind": "public"}),
        &keys.admin,
    )
    .await
    .expect(201);
    post(&router, "/v1/reports", &report("r1", 31.0, 46.5), &keys.ua)
        .await
        .expect(201);
    let review =
        json!({"review_id": "rv1", "decision": "confirm", "reports": ["r1"], "reasons": "seen"});

    // Whatever a page does, the server decides: unsigned is 401, a public key 403.
    let unsigned = Call::new("POST", "/v1/reviews")
        .json(&review)
        .send(&router)
        .await;
    assert_eq!(unsigned.status, 401, "{}", unsigned.problem());
    post(&router, "/v1/reviews", &review, &citizen)
        .await
        .expect(403);
    post(&router, "/v1/reviews", &review, &keys.monitor)
        .await
        .expect(201);

    // The trail: the monitor sees who reviewed; the public sees the review without its author.
    let path = "/v1/annotations?subject=r1";
    let as_monitor = get(&router, path, Some(&keys.monitor))
        .await
        .expect(200)
        .json();
    let as_public = get(&router, path, None).await.expect(200).json();
    let monitor_name = keys.monitor.name().as_str();
    assert_eq!(as_monitor["annotations"][0]["author"], monitor_name);
    assert_eq!(as_monitor["annotations"][0]["body"]["decision"], "confirm");
    let public = &as_public["annotations"][0];
    assert_eq!(public["body"]["decision"], "confirm");
    assert!(public.get("author").is_none(), "{public}");
    assert!(!public.to_string().contains(monitor_name), "{public}");
}
