//! Hand-written cases for every format: small agreements and reports written here, exports
//! read back with the `csv` and `serde_json` crates and with truce's own ACLED reader.
#![allow(clippy::unwrap_used)] // a panic in a test is a test failure

use std::sync::Arc;

use jiff::tz::TimeZone;
use truce_engine::assess::Assessor;
use truce_engine::corroborate::{CorroborationParams, canonical_order, corroborate};
use truce_engine::incident::Incident;
use truce_model::agreement::{Agreement, MemoryFiles, load};
use truce_model::ingest::{IngestOptions, InputFormat, parse_reports};
use truce_model::{
    ActionType, Casualties, EnergyKind, Location, Report, ReportDetails, SmolStr, Source,
    SourceKind, Target, TargetKind, TimeSpan,
};

use super::*;

/// Two parties, both readings of the window, one rule on energy, an exception for
/// interceptions.
const AGREEMENT: &str = r#"
id = "test-moratorium"
version = 1
title = "Test moratorium"

[[parties]]
id = "RU"
name = "Russia"
aliases = ["Military Forces of Russia (2000-)", "ru_mod"]

[[parties]]
id = "UA"
name = "Ukraine"
aliases = ["Military Forces of Ukraine (2019-)", "ua_gs"]

[window]
time_zone = "Europe/Kyiv"
start = "2025-03-18T00:00:00"
end = "2025-04-17T00:00:00"

[[rules]]
id = "R1"
text = "No strikes on energy"
actions = ["*"]
targets = ["energy"]

[[exceptions]]
id = "E1"
text = "Interception is self-defence"
actions = ["air_defence_intercept"]

[interpretations.UA]
note = "Ukraine's reading: both parties bound from 25 March"
[[interpretations.UA.parties]]
id = "RU"
name = "Russia"
aliases = ["Military Forces of Russia (2000-)", "ru_mod"]
start = "2025-03-25T00:00:00+02:00"
[[interpretations.UA.parties]]
id = "UA"
name = "Ukraine"
aliases = ["Military Forces of Ukraine (2019-)", "ua_gs"]
start = "2025-03-25T00:00:00+02:00"
"#;

/// A place name and a text with every character CSV must quote.
const HOSTILE_PLACE: &str = "Sloviansk, \"north\" district\nline two";
const HOSTILE_TEXT: &str = "He said \"it's over\", then\r\nsilence; commas, \"quotes\"\nand more";

fn readings() -> Vec<Agreement> {
    load("test.toml", AGREEMENT, &MemoryFiles::default()).unwrap()
}

fn ms(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

struct Spec {
    id: &'static str,
    source: &'static str,
    kind: SourceKind,
    party: Option<&'static str>,
    time: &'static str,
    lon: f64,
    lat: f64,
    uncertainty_m: f64,
    action: ActionType,
    target: Target,
    accused: Option<&'static str>,
}

fn report(spec: Spec) -> Report {
    Report {
        id: SmolStr::new(spec.id),
        source: Arc::new(Source {
            id: SmolStr::new(spec.source),
            kind: spec.kind,
            party: spec.party.map(SmolStr::new),
        }),
        time: TimeSpan::instant(ms(spec.time)),
        location: Location {
            lon: spec.lon,
            lat: spec.lat,
            uncertainty_m: spec.uncertainty_m,
        },
        action: spec.action,
        target: spec.target,
        accused: spec.accused.map(SmolStr::new),
        casualties: Casualties::default(),
        details: ReportDetails::default().into(),
    }
}

/// r1 and r2 report one drone strike on a power plant, blamed on RU by a party and by the
/// media (a violation); r3 is shelling of homes nobody is blamed for, with two civilians
/// killed (undetermined); r1 carries hostile text.
fn reports() -> Vec<Report> {
    let mut r1 = report(Spec {
        id: "r1",
        source: "ua_gs",
        kind: SourceKind::Party,
        party: Some("UA"),
        time: "2025-03-28T23:40:00Z",
        lon: 37.77,
        lat: 48.882,
        uncertainty_m: 1000.0,
        action: ActionType::DroneStrike,
        target: Target::energy(EnergyKind::PowerGeneration),
        accused: Some("RU"),
    });
    let details = r1.details.make_mut();
    details.place = Some(SmolStr::new(HOSTILE_PLACE));
    details.text = HOSTILE_TEXT.to_string();
    details.actors = vec![SmolStr::new("Military Forces of Russia (2000-)")];
    let r2 = report(Spec {
        id: "r2",
        source: "media_a",
        kind: SourceKind::Media,
        party: None,
        time: "2025-03-28T23:55:00Z",
        lon: 37.775,
        lat: 48.879,
        uncertainty_m: 2000.0,
        action: ActionType::DroneStrike,
        target: Target::of(TargetKind::Energy),
        accused: Some("RU"),
    });
    let mut r3 = report(Spec {
        id: "r3",
        source: "patrol_1",
        kind: SourceKind::Monitor,
        party: None,
        time: "2025-03-29T08:00:00Z",
        lon: 32.6,
        lat: 46.64,
        uncertainty_m: 250.0,
        action: ActionType::Artillery,
        target: Target::of(TargetKind::CivilianResidential),
        accused: None,
    });
    r3.casualties.civilian_killed = 2;
    let mut reports = vec![r3, r2, r1];
    canonical_order(&mut reports);
    reports
}

/// Everything an export needs, owned.
struct Fixture {
    readings: Vec<Agreement>,
    reports: Vec<Report>,
    incidents: Vec<Incident>,
}

impl Fixture {
    fn new(reports: Vec<Report>) -> Self {
        let readings = readings();
        let params = CorroborationParams::from(&readings[0].corroboration);
        let incidents = corroborate(&reports, &params);
        Fixture {
            readings,
            reports,
            incidents,
        }
    }

    /// The export of the readings `which` (indices into common, UA).
    fn export(&self, which: &[usize], format: ExportFormat, options: &ExportOptions<'_>) -> String {
        let assessors: Vec<Assessor<'_>> = which
            .iter()
            .map(|&i| Assessor::new(&self.readings[i], &self.reports, &self.incidents).unwrap())
            .collect();
        let assessed = Assessed {
            reports: &self.reports,
            incidents: &self.incidents,
            assessors: &assessors,
        };
        let mut out = Vec::new();
        export(&assessed, format, options, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }
}

/// Knows one region: everything east of 35°E is "Eastland" (`UA-99`).
#[derive(Debug)]
struct EastOnly;

impl RegionLookup for EastOnly {
    fn region_at(&self, lon: f64, _lat: f64) -> Option<AdminRegion> {
        (lon > 35.0).then(|| AdminRegion {
            code: "UA-99".to_string(),
            name: "Eastland".to_string(),
        })
    }
}

fn options(rows_of: RowsOf) -> ExportOptions<'static> {
    ExportOptions {
        rows_of,
        local_zone: TimeZone::get("Europe/Kyiv").unwrap(),
        regions: Some(&EastOnly),
    }
}

fn records(text: &str) -> Vec<csv::StringRecord> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect()
}

/// The record whose `column` is `value`, as a map from column name to field.
fn row_where<'a>(
    records: &'a [csv::StringRecord],
    column: &str,
    value: &str,
) -> std::collections::BTreeMap<&'a str, &'a str> {
    let header = &records[0];
    let index = header.iter().position(|name| name == column).unwrap();
    let record = records
        .iter()
        .find(|record| record.get(index) == Some(value))
        .unwrap_or_else(|| panic!("no row with {column} = {value}"));
    header.iter().zip(record.iter()).collect()
}

#[test]
fn csv_has_one_row_per_incident_with_its_finding() {
    let fixture = Fixture::new(reports());
    let text = fixture.export(&[0], ExportFormat::Csv, &options(RowsOf::Incidents));
    let records = records(&text);
    let names: Vec<&str> = columns(RowsOf::Incidents, false)
        .iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(records[0].iter().collect::<Vec<_>>(), names);
    assert_eq!(records.len(), 3, "{text}");

    let strike = row_where(&records, "incident_id", "inc-r1");
    assert_eq!(strike["verdict"], "violation");
    assert_eq!(strike["reason"], "");
    assert_eq!(strike["established"], "true");
    assert_eq!(strike["parties"], "RU");
    assert_eq!(strike["rules"], "R1");
    assert_eq!(strike["reports"], "r1;r2");
    assert_eq!(strike["sources"], "media_a;ua_gs");
    assert_eq!(strike["n_sources"], "2");
    assert_eq!(strike["attributions"], "media_a=RU;ua_gs=RU");
    assert_eq!(strike["action"], "drone_strike");
    assert_eq!(strike["target"], "energy.power_generation");
    assert_eq!(strike["country"], "Ukraine");
    assert_eq!(strike["admin1"], "Eastland");
    assert_eq!(strike["place"], HOSTILE_PLACE);
    assert!(strike["reasons"].contains("violation by RU"), "{strike:?}");

    let shelling = row_where(&records, "incident_id", "inc-r3");
    assert_eq!(shelling["start"], "2025-03-29T08:00:00Z");
    assert_eq!(shelling["end"], "2025-03-29T08:00:00Z");
    assert_eq!(shelling["lon"], "32.6");
    assert_eq!(shelling["lat"], "46.64");
    assert_eq!(shelling["uncertainty_m"], "250");
    assert_eq!(shelling["verdict"], "no_violation");
    assert_eq!(shelling["reason"], "target_not_protected");
    assert_eq!(shelling["civilian_killed"], "2");
    assert_eq!(shelling["attributions"], "patrol_1=?");
    assert_eq!(
        shelling["country"], "",
        "west of 35°E the lookup knows nothing"
    );
    assert_eq!(shelling["place"], "");
}

#[test]
fn hostile_text_is_quoted_and_reads_back_exactly() {
    let fixture = Fixture::new(reports());
    let text = fixture.export(&[0], ExportFormat::Csv, &options(RowsOf::Reports));
    // The quotes are doubled inside a quoted field; the line breaks stay inside it.
    assert!(
        text.contains(
            "\"He said \"\"it's over\"\", then\r\nsilence; commas, \"\"quotes\"\"\nand more\""
        ),
        "{text}"
    );
    let records = records(&text);
    assert_eq!(records.len(), 4, "a header and three reports: {text}");
    let r1 = row_where(&records, "report_id", "r1");
    assert_eq!(r1["text"], HOSTILE_TEXT);
    assert_eq!(r1["place"], HOSTILE_PLACE);
    assert_eq!(r1["actors"], "Military Forces of Russia (2000-)");
    assert_eq!(r1["incident_id"], "inc-r1");
    assert_eq!(r1["verdict"], "violation");
    assert_eq!(r1["source_party"], "UA");
    let r2 = row_where(&records, "report_id", "r2");
    assert_eq!(r2["incident_id"], "inc-r1");
    assert_eq!(r2["text"], "");
    let r3 = row_where(&records, "report_id", "r3");
    assert_eq!(r3["incident_id"], "inc-r3");
    assert_eq!(r3["verdict"], "no_violation");
}

#[test]
fn hxl_has_a_hashtag_row_under_the_header() {
    let fixture = Fixture::new(reports());
    for rows_of in [RowsOf::Incidents, RowsOf::Reports] {
        let hxl = fixture.export(&[0, 1], ExportFormat::Hxl, &options(rows_of));
        let csv = fixture.export(&[0, 1], ExportFormat::Csv, &options(rows_of));
        let hxl_records = records(&hxl);
        let csv_records = records(&csv);
        let tags = &hxl_records[1];
        assert_eq!(tags.len(), hxl_records[0].len());
        for tag in tags {
            let mut parts = tag.split('+');
            let hashtag = parts.next().unwrap();
            let name_ok = |part: &str| {
                part.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            };
            assert!(
                hashtag.strip_prefix('#').is_some_and(name_ok),
                "{tag} is not a hashtag"
            );
            assert!(parts.all(name_ok), "{tag} has a malformed attribute");
        }
        assert_eq!(&tags[0], "#meta+interpretation");
        // The rest is the CSV export, row for row.
        assert_eq!(hxl_records[0], csv_records[0]);
        assert_eq!(&hxl_records[2..], &csv_records[1..]);
    }
}

#[test]
fn several_readings_add_the_interpretation() {
    let fixture = Fixture::new(reports());
    let text = fixture.export(&[0, 1], ExportFormat::Csv, &options(RowsOf::Incidents));
    let records = records(&text);
    assert_eq!(&records[0][0], "interpretation");
    // Two incidents, each under both readings, in incident order.
    let keys: Vec<(&str, &str)> = records[1..]
        .iter()
        .map(|record| (&record[0], &record[1]))
        .collect();
    assert_eq!(
        keys,
        [
            ("common", "inc-r1"),
            ("UA", "inc-r1"),
            ("common", "inc-r3"),
            ("UA", "inc-r3")
        ]
    );
    // The strike of 29 March is after both starts: a violation under both readings.
    let verdict = records[0].iter().position(|c| c == "verdict").unwrap();
    assert_eq!(&records[1][verdict], "violation");
    assert_eq!(&records[2][verdict], "violation");
}

#[test]
fn geojson_is_a_feature_collection_of_points() {
    let fixture = Fixture::new(reports());
    let text = fixture.export(&[0], ExportFormat::Geojson, &options(RowsOf::Incidents));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["type"], "FeatureCollection");
    let features = value["features"].as_array().unwrap();
    assert_eq!(features.len(), 2);
    for feature in features {
        assert_eq!(feature["type"], "Feature");
        assert_eq!(feature["geometry"]["type"], "Point");
        let properties = &feature["properties"];
        // RFC 7946: longitude first.
        assert_eq!(feature["geometry"]["coordinates"][0], properties["lon"]);
        assert_eq!(feature["geometry"]["coordinates"][1], properties["lat"]);
        assert_eq!(feature["id"], properties["incident_id"]);
        assert_eq!(
            properties.as_object().unwrap().len(),
            columns(RowsOf::Incidents, false).len()
        );
    }
    let strike = &features[0]["properties"];
    assert_eq!(strike["incident_id"], "inc-r1");
    assert_eq!(strike["reports"], serde_json::json!(["r1", "r2"]));
    assert_eq!(strike["established"], true);
    assert_eq!(strike["n_sources"], 2);
    assert_eq!(strike["reason"], serde_json::Value::Null);
    assert_eq!(strike["place"], serde_json::json!([HOSTILE_PLACE]));
    let shelling = &features[1]["properties"];
    assert_eq!(shelling["civilian_killed"], 2);
    assert_eq!(shelling["uncertainty_m"], 250.0);
    assert_eq!(shelling["country"], serde_json::Value::Null);
    // One feature per line, properties in column order.
    assert_eq!(text.lines().count(), 4);
    let second_line = text.lines().nth(1).unwrap();
    assert!(
        second_line.contains("\"properties\":{\"incident_id\":\"inc-r1\",\"start\":"),
        "{second_line}"
    );

    let reports_text = fixture.export(&[0, 1], ExportFormat::Geojson, &options(RowsOf::Reports));
    let value: serde_json::Value = serde_json::from_str(&reports_text).unwrap();
    let features = value["features"].as_array().unwrap();
    assert_eq!(features.len(), 6, "three reports under two readings");
    assert!(features.iter().all(|f| f.get("id").is_none()));
    assert_eq!(features[0]["properties"]["interpretation"], "common");
    assert_eq!(features[1]["properties"]["interpretation"], "UA");
    assert_eq!(features[0]["properties"]["text"], HOSTILE_TEXT);
}

#[test]
fn empty_exports_are_well_formed() {
    let fixture = Fixture::new(Vec::new());
    let geojson = fixture.export(&[0], ExportFormat::Geojson, &options(RowsOf::Incidents));
    let value: serde_json::Value = serde_json::from_str(&geojson).unwrap();
    assert_eq!(value["features"], serde_json::json!([]));
    let hxl = fixture.export(&[0], ExportFormat::Hxl, &options(RowsOf::Reports));
    assert_eq!(records(&hxl).len(), 2);
    let acled = fixture.export(&[0], ExportFormat::Acled, &options(RowsOf::Incidents));
    assert_eq!(acled, format!("{}\n", ACLED_COLUMNS.join(",")));
}

#[test]
fn acled_uses_acled_columns_and_codes() {
    let fixture = Fixture::new(reports());
    let text = fixture.export(&[0, 1], ExportFormat::Acled, &options(RowsOf::Incidents));
    let records = records(&text);
    assert_eq!(records[0].iter().collect::<Vec<_>>(), ACLED_COLUMNS);
    assert_eq!(records.len(), 5, "two incidents under two readings");
    let strike = row_where(&records, "event_id_cnty", "inc-r1");
    assert_eq!(
        strike["event_date"], "2025-03-29",
        "23:40 UTC is past midnight in Kyiv"
    );
    assert_eq!(strike["year"], "2025");
    assert_eq!(strike["time_precision"], "1");
    assert_eq!(strike["disorder_type"], "Political violence");
    assert_eq!(strike["event_type"], "Explosions/Remote violence");
    assert_eq!(strike["sub_event_type"], "Air/drone strike");
    assert_eq!(strike["actor1"], "RU");
    assert_eq!(strike["actor2"], "Military Forces of Russia (2000-)");
    assert_eq!(strike["iso"], "804");
    assert_eq!(strike["region"], "Europe");
    assert_eq!(strike["country"], "Ukraine");
    assert_eq!(strike["admin1"], "Eastland");
    assert_eq!(strike["location"], HOSTILE_PLACE);
    assert_eq!(strike["geo_precision"], "1");
    assert_eq!(strike["source"], "media_a; ua_gs");
    assert_eq!(
        strike["notes"],
        "On 29 March 2025, a drone strike (target: a power plant)."
    );
    assert_eq!(strike["fatalities"], "0");
    assert_eq!(strike["tags"], "verdict=violation; interpretation=common");
    assert_eq!(strike["civilian_targeting"], "");
    let shelling = row_where(&records, "event_id_cnty", "inc-r3");
    assert_eq!(
        shelling["sub_event_type"],
        "Shelling/artillery/missile attack"
    );
    assert_eq!(shelling["civilian_targeting"], "Civilian targeting");
    assert_eq!(shelling["fatalities"], "2");
    assert_eq!(shelling["actor1"], "");
    assert_eq!(
        shelling["tags"],
        "verdict=no_violation; reason=target_not_protected; interpretation=common"
    );
    assert_eq!(
        shelling["timestamp"],
        (ms("2025-03-29T08:00:00Z") / 1000).to_string()
    );
}

/// Every action against every target, exported as reports in ACLED's layout and read back
/// by truce's ACLED reader: the same action (a naval attack comes back as artillery), target,
/// position, the accused among the actors, a time span and radius that hold the original.
#[test]
fn acled_reports_read_back_by_the_acled_reader() {
    let mut targets: Vec<Target> = TargetKind::ALL.iter().map(|k| Target::of(*k)).collect();
    targets.extend(EnergyKind::ALL.iter().map(|k| Target::energy(*k)));
    let mut originals = Vec::new();
    for (a, action) in ActionType::ALL.iter().enumerate() {
        for (t, target) in targets.iter().enumerate() {
            let n = a * targets.len() + t;
            // Far apart: every report is an incident of its own. Spans of one instant, three
            // days and twelve days from the 2nd of a month; radii on both sides of each code.
            let month = 1 + (n % 12) as i8;
            let start = jiff::civil::date(2025, month, 2)
                .at(12, 0, 0, 0)
                .in_tz("UTC")
                .unwrap()
                .timestamp()
                .as_millisecond();
            let width_ms = [0, 3 * 86_400_000, 12 * 86_400_000][n % 3];
            let mut original = report(Spec {
                id: "x",
                source: "osint_a",
                kind: SourceKind::Osint,
                party: None,
                time: "2025-03-01T12:00:00Z",
                lon: 30.0 + (n as f64) * 0.25,
                lat: 46.123456,
                uncertainty_m: [0.0, 2_000.0, 2_500.0, 40_000.0][n % 4],
                action: *action,
                target: *target,
                accused: [Some("RU"), Some("UA"), None][n % 3],
            });
            original.id = SmolStr::new(format!("x{n:03}"));
            original.time = TimeSpan {
                start_ms: start,
                end_ms: start + width_ms,
            };
            original.casualties.civilian_killed = (n % 2) as u32;
            originals.push(original);
        }
    }
    canonical_order(&mut originals);
    let fixture = Fixture::new(originals.clone());
    let text = fixture.export(&[0], ExportFormat::Acled, &options(RowsOf::Reports));
    let read = parse_reports(
        InputFormat::Acled,
        "export.csv",
        text.as_bytes(),
        &IngestOptions {
            local_zone: TimeZone::get("Europe/Kyiv").unwrap(),
            id_order: false,
        },
    )
    .unwrap();
    assert_eq!(read.rejections, Vec::new());
    assert_eq!(read.reports.len(), originals.len());
    for (original, back) in originals.iter().zip(&read.reports) {
        let what = format!("{} {} {}", original.id, original.action, original.target);
        assert_eq!(back.id, original.id);
        let action = if original.action == ActionType::NavalAttack {
            ActionType::Artillery
        } else {
            original.action
        };
        assert_eq!(back.action, action, "{what}");
        assert_eq!(back.target, original.target, "{what}");
        assert_eq!(back.location.lon, original.location.lon, "{what}");
        assert_eq!(back.location.lat, original.location.lat, "{what}");
        assert!(
            back.location.uncertainty_m >= original.location.uncertainty_m,
            "{what}"
        );
        assert!(
            back.time.start_ms <= original.time.start_ms
                && original.time.end_ms <= back.time.end_ms,
            "{what}: {:?} does not hold {:?}",
            back.time,
            original.time
        );
        match &original.accused {
            Some(accused) => assert_eq!(back.actors().first(), Some(accused), "{what}"),
            None => assert!(back.actors().is_empty(), "{what}"),
        }
        let killed = back.casualties.civilian_killed + back.casualties.unspecified_killed;
        assert_eq!(killed, original.casualties.civilian_killed, "{what}");
    }
}
