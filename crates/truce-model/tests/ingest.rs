//! Reading reports: one test per format and per kind of bad input, with the exact rejection
//! (file, row, column, value, reason) each must produce.

// Helpers outside `#[test]` functions unwrap too: a panic there is a test failure.
#![allow(clippy::unwrap_used)]

use truce_model::ingest::{
    IngestError, IngestOptions, Ingested, InputFormat, Rejection, SlicePieces, WriteError,
    detect_format, parse_reports, parse_reports_in_pieces, write_reports,
};
use truce_model::{ActionType, EnergyKind, SourceKind, Target, TargetKind};

mod ingest_support;

fn parse(format: InputFormat, file: &str, text: &str) -> Ingested {
    parse_reports(format, file, text.as_bytes(), &IngestOptions::default())
        .unwrap_or_else(|error| panic!("{file}: {error}"))
}

fn parse_err(format: InputFormat, file: &str, bytes: &[u8]) -> IngestError {
    parse_reports(format, file, bytes, &IngestOptions::default())
        .expect_err("the input must be refused as a whole")
}

fn rejection(file: &str, row: u64, column: &str, value: Option<&str>, reason: &str) -> Rejection {
    Rejection {
        file: file.to_string(),
        row,
        column: (!column.is_empty()).then(|| column.to_string()),
        value: value.map(str::to_string),
        reason: reason.to_string(),
    }
}

/// Epoch milliseconds of an RFC 3339 instant.
fn ms(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

const HEADER: &str = "id,source_id,source_kind,time,lon,lat,action,target";

/// Our CSV with the minimal header and the given rows.
fn csv(rows: &[&str]) -> String {
    let mut text = String::from(HEADER);
    for row in rows {
        text.push('\n');
        text.push_str(row);
    }
    text.push('\n');
    text
}

/// Parses our CSV and expects exactly one rejection, on line 3 (line 2 is a good row).
fn only_rejection(bad_row: &str) -> Rejection {
    let text = csv(&[
        "r1,osce,monitor,2025-03-20T08:00:00Z,30.5,50.4,artillery,energy",
        bad_row,
    ]);
    let ingested = parse(InputFormat::Csv, "r.csv", &text);
    assert_eq!(
        ingested.reports.len(),
        1,
        "the good row is kept: {:?}",
        ingested.rejections
    );
    assert_eq!(ingested.rows, vec![2]);
    assert_eq!(ingested.rejections.len(), 1, "{:?}", ingested.rejections);
    ingested.rejections[0].clone()
}

// ---------------------------------------------------------------------------------------
// Our CSV

#[test]
fn csv_reads_every_column() {
    let text = "\
id,source_id,source_kind,source_party,time,time_end,place,lon,lat,uncertainty_m,action,target,site,accused,actors,civilian_killed,civilian_injured,military_killed,military_injured,unspecified_killed,text,evidence
r1,ua_gs,party,UA,2025-03-20T10:00:00+02:00,2025-03-20T11:30:00+02:00,Kherson,32.6,46.6,500,mlrs,energy.power_transmission,sub-7,RU,Russian forces; Ukrainian forces,1,2,3,4,5,\"Shelling, then fire\",sha256:ab; sha256:cd
";
    let ingested = parse(InputFormat::Csv, "r.csv", text);
    assert!(ingested.rejections.is_empty(), "{:?}", ingested.rejections);
    assert_eq!(ingested.rows, vec![2]);
    let report = &ingested.reports[0];
    assert_eq!(report.id, "r1");
    assert_eq!(report.source.id, "ua_gs");
    assert_eq!(report.source.kind, SourceKind::Party);
    assert_eq!(report.source.party.as_deref(), Some("UA"));
    assert_eq!(report.time.start_ms, ms("2025-03-20T08:00:00Z"));
    assert_eq!(report.time.end_ms, ms("2025-03-20T09:30:00Z"));
    assert_eq!(report.place(), Some("Kherson"));
    assert_eq!((report.location.lon, report.location.lat), (32.6, 46.6));
    assert_eq!(report.location.uncertainty_m, 500.0);
    assert_eq!(report.action, ActionType::Mlrs);
    assert_eq!(report.target, Target::energy(EnergyKind::PowerTransmission));
    assert_eq!(report.site(), Some("sub-7"));
    assert_eq!(report.accused.as_deref(), Some("RU"));
    assert_eq!(report.actors(), vec!["Russian forces", "Ukrainian forces"]);
    let c = report.casualties;
    assert_eq!(
        (
            c.civilian_killed,
            c.civilian_injured,
            c.military_killed,
            c.military_injured,
            c.unspecified_killed
        ),
        (1, 2, 3, 4, 5)
    );
    assert_eq!(report.text(), "Shelling, then fire");
    assert_eq!(report.evidence(), vec!["sha256:ab", "sha256:cd"]);
}

#[test]
fn csv_columns_in_any_order_and_optional_cells_empty() {
    let text = "target,action,lat,lon,time,source_kind,source_id,id,place,accused\n\
                military,small_arms,48.0,37.8,2025-03-20T08:00:00Z,osint,tg,r9,,\n";
    let ingested = parse(InputFormat::Csv, "r.csv", text);
    let report = &ingested.reports[0];
    assert_eq!(report.id, "r9");
    assert_eq!(report.place(), None);
    assert_eq!(report.accused, None);
    assert_eq!(report.location.uncertainty_m, 0.0);
    assert_eq!(report.time.start_ms, report.time.end_ms);
}

#[test]
fn csv_time_forms() {
    let text = csv(&[
        "a,s,osint,2025-03-20T10:00:00+02:00[Europe/Kyiv],30,50,artillery,energy",
        "b,s,osint,2025-03-20T10:00:00[Europe/Kyiv],30,50,artillery,energy",
        "c,s,osint,2025-03-20,30,50,artillery,energy",
    ]);
    let ingested = parse(InputFormat::Csv, "r.csv", &text);
    assert!(ingested.rejections.is_empty(), "{:?}", ingested.rejections);
    let eight_utc = ms("2025-03-20T08:00:00Z");
    assert_eq!(ingested.reports[0].time.start_ms, eight_utc);
    assert_eq!(ingested.reports[1].time.start_ms, eight_utc);
    // A date alone is the whole civil day in Kyiv (UTC+2 in March).
    let day = ingested.reports[2].time;
    assert_eq!(day.start_ms, ms("2025-03-19T22:00:00Z"));
    assert_eq!(day.end_ms, ms("2025-03-20T22:00:00Z") - 1);
}

#[test]
fn csv_date_only_uses_the_configured_zone() {
    let options = IngestOptions {
        local_zone: jiff::tz::TimeZone::UTC,
        id_order: false,
    };
    let text = csv(&["c,s,osint,2025-03-20,30,50,artillery,energy"]);
    let ingested = parse_reports(InputFormat::Csv, "r.csv", text.as_bytes(), &options).unwrap();
    assert_eq!(
        ingested.reports[0].time.start_ms,
        ms("2025-03-20T00:00:00Z")
    );
}

#[test]
fn reject_empty_required_field() {
    assert_eq!(
        only_rejection("r2,osce,monitor,2025-03-20T08:00:00Z,30.5,50.4,,energy"),
        rejection("r.csv", 3, "action", None, "required field is empty")
    );
}

#[test]
fn reject_longitude_out_of_range() {
    assert_eq!(
        only_rejection("r2,osce,monitor,2025-03-20T08:00:00Z,200,50.4,artillery,energy"),
        rejection(
            "r.csv",
            3,
            "lon",
            Some("200"),
            "longitude 200 is outside -180..180"
        )
    );
}

#[test]
fn reject_latitude_out_of_range_with_swap_hint() {
    assert_eq!(
        only_rejection("r2,osce,monitor,2025-03-20T08:00:00Z,50.4,130.5,artillery,energy"),
        rejection(
            "r.csv",
            3,
            "lat",
            Some("130.5"),
            "latitude 130.5 is outside -90..90; are latitude and longitude swapped?"
        )
    );
    // No hint when swapping would not help.
    assert_eq!(
        only_rejection("r2,osce,monitor,2025-03-20T08:00:00Z,150,130.5,artillery,energy"),
        rejection(
            "r.csv",
            3,
            "lat",
            Some("130.5"),
            "latitude 130.5 is outside -90..90"
        )
    );
}

#[test]
fn reject_nan_and_infinity() {
    assert_eq!(
        only_rejection("r2,osce,monitor,2025-03-20T08:00:00Z,NaN,50.4,artillery,energy"),
        rejection("r.csv", 3, "lon", Some("NaN"), "not a finite number")
    );
    assert_eq!(
        only_rejection("r2,osce,monitor,2025-03-20T08:00:00Z,30,-inf,artillery,energy"),
        rejection("r.csv", 3, "lat", Some("-inf"), "not a finite number")
    );
    assert_eq!(
        only_rejection("r2,osce,monitor,2025-03-20T08:00:00Z,30,fifty,artillery,energy"),
        rejection("r.csv", 3, "lat", Some("fifty"), "not a number")
    );
}

#[test]
fn reject_negative_or_infinite_uncertainty() {
    let text = "id,source_id,source_kind,time,lon,lat,action,target,uncertainty_m\n\
                r1,s,osint,2025-03-20T08:00:00Z,30,50,artillery,energy,-5\n\
                r2,s,osint,2025-03-20T08:00:00Z,30,50,artillery,energy,inf\n";
    let ingested = parse(InputFormat::Csv, "u.csv", text);
    assert_eq!(
        ingested.rejections,
        vec![
            rejection(
                "u.csv",
                2,
                "uncertainty_m",
                Some("-5"),
                "uncertainty must not be negative"
            ),
            rejection(
                "u.csv",
                3,
                "uncertainty_m",
                Some("inf"),
                "not a finite number"
            ),
        ]
    );
}

#[test]
fn reject_unknown_vocabulary_with_suggestion() {
    assert_eq!(
        only_rejection("r2,osce,monitor,2025-03-20T08:00:00Z,30,50,artilery,energy"),
        rejection(
            "r.csv",
            3,
            "action",
            Some("artilery"),
            "unknown action type `artilery`: did you mean `artillery`?"
        )
    );
    assert_eq!(
        only_rejection("r2,osce,monitr,2025-03-20T08:00:00Z,30,50,artillery,energy"),
        rejection(
            "r.csv",
            3,
            "source_kind",
            Some("monitr"),
            "unknown source kind `monitr`: did you mean `monitor`?"
        )
    );
    assert_eq!(
        only_rejection("r2,osce,monitor,2025-03-20T08:00:00Z,30,50,artillery,energy.oil_refinry"),
        rejection(
            "r.csv",
            3,
            "target",
            Some("energy.oil_refinry"),
            "unknown energy facility kind `oil_refinry`: did you mean `oil_refinery`?"
        )
    );
}

#[test]
fn reject_casualties_that_are_not_counts() {
    let text = "id,source_id,source_kind,time,lon,lat,action,target,civilian_killed,military_injured\n\
                r1,s,osint,2025-03-20T08:00:00Z,30,50,artillery,energy,-1,\n\
                r2,s,osint,2025-03-20T08:00:00Z,30,50,artillery,energy,,2.5\n\
                r3,s,osint,2025-03-20T08:00:00Z,30,50,artillery,energy,99999999999,\n";
    let ingested = parse(InputFormat::Csv, "c.csv", text);
    assert_eq!(
        ingested.rejections,
        vec![
            rejection(
                "c.csv",
                2,
                "civilian_killed",
                Some("-1"),
                "not a non-negative integer"
            ),
            rejection(
                "c.csv",
                3,
                "military_injured",
                Some("2.5"),
                "not a non-negative integer"
            ),
            rejection(
                "c.csv",
                4,
                "civilian_killed",
                Some("99999999999"),
                "too large (at most 4294967295)"
            ),
        ]
    );
}

#[test]
fn reject_time_end_before_time() {
    let text = "id,source_id,source_kind,time,time_end,lon,lat,action,target\n\
                r1,s,osint,2025-03-20T08:00:00Z,2025-03-20T07:59:59Z,30,50,artillery,energy\n\
                r2,s,osint,2025-03-20,2025-03-20,30,50,artillery,energy\n";
    let ingested = parse(InputFormat::Csv, "t.csv", text);
    assert_eq!(
        ingested.rejections,
        vec![rejection(
            "t.csv",
            2,
            "time_end",
            Some("2025-03-20T07:59:59Z"),
            "time_end is before time"
        )]
    );
    // A date as time_end is the end of that day.
    assert_eq!(ingested.reports[0].time.width_ms(), 86_400_000 - 1);
}

#[test]
fn reject_time_without_offset() {
    assert_eq!(
        only_rejection("r2,osce,monitor,2025-03-20T10:00:00,30,50,artillery,energy"),
        rejection(
            "r.csv",
            3,
            "time",
            Some("2025-03-20T10:00:00"),
            "time has no UTC offset or time zone; write e.g. 2025-03-20T10:00:00+02:00"
        )
    );
    let garbage = only_rejection("r2,osce,monitor,yesterday,30,50,artillery,energy");
    assert_eq!((garbage.row, garbage.column.as_deref()), (3, Some("time")));
    assert!(
        garbage.reason.starts_with("not a valid time"),
        "{}",
        garbage.reason
    );
}

#[test]
fn reject_wrong_number_of_fields() {
    assert_eq!(
        only_rejection("r2,osce,monitor,2025-03-20T08:00:00Z,30,50,artillery"),
        rejection("r.csv", 3, "", None, "row has 7 fields, the header has 8")
    );
}

#[test]
fn reject_party_source_without_party() {
    assert_eq!(
        only_rejection("r2,ua_gs,party,2025-03-20T08:00:00Z,30,50,artillery,energy"),
        rejection(
            "r.csv",
            3,
            "source_party",
            None,
            "source_kind `party` requires source_party"
        )
    );
}

#[test]
fn every_problem_of_a_row_is_reported() {
    let text = csv(&["r2,,monitr,2025-03-20T08:00:00Z,200,50,artillery,energie"]);
    let ingested = parse(InputFormat::Csv, "r.csv", &text);
    let columns: Vec<_> = ingested
        .rejections
        .iter()
        .map(|r| (r.row, r.column.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        columns,
        vec![
            (2, "source_id".to_string()),
            (2, "source_kind".to_string()),
            (2, "lon".to_string()),
            (2, "target".to_string()),
        ]
    );
}

#[test]
fn rows_count_blank_lines_and_quoted_newlines() {
    let text = format!(
        "{HEADER},text\n\nr1,s,osint,2025-03-20T08:00:00Z,30,50,artillery,energy,\"two\nlines\"\n,,,,,,,,\nr2,s,osint,2025-03-20T08:00:00Z,30,50,artilery,energy,x\r\n"
    );
    let ingested = parse(InputFormat::Csv, "r.csv", &text);
    assert_eq!(ingested.rows, vec![3]);
    assert_eq!(ingested.reports[0].text(), "two\nlines");
    assert_eq!(ingested.rejections[0].row, 6);
}

#[test]
fn long_values_are_truncated_in_rejections() {
    let long = "x".repeat(500);
    let rejected = only_rejection(&format!(
        "r2,osce,monitor,2025-03-20T08:00:00Z,30,50,{long},energy"
    ));
    assert_eq!(rejected.value.unwrap().chars().count(), 200);
}

#[test]
fn whole_file_errors() {
    assert_eq!(
        parse_err(InputFormat::Csv, "e.csv", b""),
        IngestError::Empty {
            file: "e.csv".into()
        }
    );
    assert_eq!(
        parse_err(InputFormat::Csv, "e.csv", format!("{HEADER}\n").as_bytes()),
        IngestError::Empty {
            file: "e.csv".into()
        }
    );
    assert_eq!(
        parse_err(InputFormat::Jsonl, "e.jsonl", b"\n  \n"),
        IngestError::Empty {
            file: "e.jsonl".into()
        }
    );
    let mut bytes = format!("{HEADER}\nr1,s,osint,2025-03-20T08:00:00Z,30,50,art").into_bytes();
    let offset = bytes.len();
    bytes.extend_from_slice(b"\xff\xfeillery,energy\n");
    assert_eq!(
        parse_err(InputFormat::Csv, "bad.csv", &bytes),
        IngestError::NotUtf8 {
            file: "bad.csv".into(),
            line: 2,
            offset
        }
    );
    assert_eq!(
        parse_err(
            InputFormat::Csv,
            "m.csv",
            b"id,source_id,time,lon,lat,action\nr1,s,x,1,2,artillery\n"
        ),
        IngestError::MissingColumns {
            file: "m.csv".into(),
            missing: vec!["source_kind".into(), "target".into()],
            found: ["id", "source_id", "time", "lon", "lat", "action"]
                .map(String::from)
                .to_vec(),
        }
    );
    let error = parse_err(
        InputFormat::Csv,
        "u.csv",
        format!("{HEADER},lattitude\nr1,s,osint,2025-03-20T08:00:00Z,30,50,artillery,energy,1\n")
            .as_bytes(),
    );
    assert!(
        matches!(&error, IngestError::UnknownColumn { column, suggestion, .. }
            if column == "lattitude" && suggestion.as_deref() == Some("lat")),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "u.csv:1: unknown column `lattitude`: did you mean `lat`?"
    );
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let text = format!(
        "\u{feff}{}",
        csv(&["r1,s,osint,2025-03-20T08:00:00Z,30,50,artillery,energy"])
    );
    let ingested = parse(InputFormat::Csv, "bom.csv", &text);
    assert_eq!(ingested.reports.len(), 1);
    assert_eq!(ingested.reports[0].id, "r1");
}

// ---------------------------------------------------------------------------------------
// JSON Lines

#[test]
fn jsonl_reads_objects_and_skips_blank_lines() {
    let text = r#"{"id": "j1", "source_id": "hrmmu", "source_kind": "monitor", "time": "2025-04-20T06:00:00Z", "lon": 37.8, "lat": 48.0, "uncertainty_m": 250, "action": "drone_strike", "target": "civilian_residential", "actors": ["A", "B"], "civilian_killed": 2, "evidence": ["sha256:00"], "place": null}

{"id": 7, "source_id": "s", "source_kind": "osint", "time": "2025-04-20", "lon": 37, "lat": 48, "action": "other", "target": "unknown"}
"#;
    let ingested = parse(InputFormat::Jsonl, "r.jsonl", text);
    assert!(ingested.rejections.is_empty(), "{:?}", ingested.rejections);
    assert_eq!(ingested.rows, vec![1, 3]);
    assert_eq!(ingested.reports[0].actors(), vec!["A", "B"]);
    assert_eq!(ingested.reports[0].casualties.civilian_killed, 2);
    assert_eq!(ingested.reports[0].place(), None);
    assert_eq!(ingested.reports[1].id, "7");
}

#[test]
fn jsonl_rejects_bad_lines() {
    let good = r#"{"id": "j1", "source_id": "s", "source_kind": "osint", "time": "2025-04-20T06:00:00Z", "lon": 37.8, "lat": 48.0, "action": "other", "target": "unknown"}"#;
    let text = format!(
        "{good}\n{{\"id\": \"j2\",\n{}\n{}\n[1, 2]\n",
        r#"{"id": "j3", "source_id": "s", "source_kind": "osint", "time": "2025-04-20T06:00:00Z", "lon": 37.8, "lattitude": 48.0, "action": "other", "target": "unknown"}"#,
        r#"{"id": "j4", "source_id": "s", "source_kind": "osint", "time": "2025-04-20T06:00:00Z", "lon": "37.8", "lat": 48.0, "action": "other", "target": "unknown", "civilian_killed": 1.5}"#,
    );
    let ingested = parse(InputFormat::Jsonl, "r.jsonl", &text);
    assert_eq!(ingested.rows, vec![1]);
    assert_eq!(
        ingested.rejections,
        vec![
            rejection(
                "r.jsonl",
                2,
                "",
                Some("{\"id\": \"j2\","),
                "not valid JSON: EOF while parsing a value at line 1 column 12"
            ),
            rejection(
                "r.jsonl",
                3,
                "$.lattitude",
                None,
                "unknown field `lattitude`: did you mean `lat`?"
            ),
            rejection("r.jsonl", 3, "$.lat", None, "required field is missing"),
            rejection(
                "r.jsonl",
                4,
                "$.lon",
                Some("37.8"),
                "expected a number, found a string"
            ),
            rejection(
                "r.jsonl",
                4,
                "$.civilian_killed",
                Some("1.5"),
                "not a non-negative integer"
            ),
            rejection(
                "r.jsonl",
                5,
                "",
                Some("[1, 2]"),
                "a line must be a JSON object, found an array"
            ),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// GeoJSON

#[test]
fn geojson_reads_points_and_rejects_other_geometries() {
    let text = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature", "id": "g1", "geometry": {"type": "Point", "coordinates": [30.52, 50.45]},
   "properties": {"source_id": "s", "source_kind": "media", "time": "2025-03-25T12:00:00+02:00", "action": "missile_strike", "target": "maritime"}},
  {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
   "properties": {"id": "g2", "source_id": "s", "source_kind": "media", "time": "2025-03-25T12:00:00Z", "action": "missile_strike", "target": "maritime"}},
  {"type": "Feature", "geometry": {"type": "Point", "coordinates": [130.52, 95.0]},
   "properties": {"id": "g3", "source_id": "s", "source_kind": "media", "time": "2025-03-25T12:00:00Z", "action": "missle_strike", "target": "maritime"}},
  {"type": "Feature", "geometry": null, "properties": {"id": "g4"}}
]}"#;
    let ingested = parse(InputFormat::Geojson, "r.geojson", text);
    assert_eq!(ingested.rows, vec![1]);
    let report = &ingested.reports[0];
    assert_eq!(report.id, "g1");
    assert_eq!((report.location.lon, report.location.lat), (30.52, 50.45));
    assert_eq!(report.target, Target::of(TargetKind::Maritime));
    assert_eq!(
        ingested.rejections,
        vec![
            rejection(
                "r.geojson",
                2,
                "features[1].geometry.type",
                Some("Polygon"),
                "geometry is a Polygon; only Point features are read"
            ),
            rejection(
                "r.geojson",
                3,
                "features[2].geometry.coordinates[1]",
                Some("95.0"),
                "latitude 95 is outside -90..90"
            ),
            rejection(
                "r.geojson",
                3,
                "features[2].properties.action",
                Some("missle_strike"),
                "unknown action type `missle_strike`: did you mean `missile_strike`?"
            ),
            rejection(
                "r.geojson",
                4,
                "features[3].geometry",
                None,
                "the feature has no geometry; a Point is required"
            ),
            rejection(
                "r.geojson",
                4,
                "features[3].properties.source_id",
                None,
                "required field is missing"
            ),
            rejection(
                "r.geojson",
                4,
                "features[3].properties.source_kind",
                None,
                "required field is missing"
            ),
            rejection(
                "r.geojson",
                4,
                "features[3].properties.time",
                None,
                "required field is missing"
            ),
            rejection(
                "r.geojson",
                4,
                "features[3].properties.action",
                None,
                "required field is missing"
            ),
            rejection(
                "r.geojson",
                4,
                "features[3].properties.target",
                None,
                "required field is missing"
            ),
        ]
    );
}

#[test]
fn geojson_key_given_twice_rejects_its_feature_or_the_file() {
    let props = r#""source_id": "s", "source_kind": "media", "time": "2025-03-25T12:00:00Z", "action": "missile_strike", "target": "maritime""#;
    let text = format!(
        r#"{{"type": "FeatureCollection", "features": [
  {{"type": "Feature", "geometry": {{"type": "Point", "coordinates": [30.5, 50.4]}},
   "properties": {{"id": "k1", {props}}}}},
  {{"type": "Feature", "geometry": {{"type": "Point", "coordinates": [30.5, 50.4]}},
   "properties": {{"id": "k2", "target": "civilian", {props}}}}},
  {{"type": "Feature", "geometry": {{"type": "Point", "coordinates": [30.5, 50.4], "coordinates": [31.0, 49.0]}},
   "properties": {{"id": "k3", {props}}}}}
]}}"#
    );
    let ingested = parse(InputFormat::Geojson, "k.geojson", &text);
    assert_eq!(ingested.rows, vec![1]);
    assert_eq!(ingested.reports[0].id, "k1");
    let reason = |key: &str| {
        format!("key `{key}` is given 2 times in the object; which value is meant cannot be told")
    };
    assert_eq!(
        ingested.rejections,
        vec![
            rejection(
                "k.geojson",
                2,
                "features[1].properties.target",
                None,
                &reason("target")
            ),
            rejection(
                "k.geojson",
                3,
                "features[2].geometry.coordinates",
                None,
                &reason("coordinates")
            ),
        ]
    );
    let twice_features = format!(
        r#"{{"type": "FeatureCollection", "features": [], "features": [
  {{"type": "Feature", "geometry": {{"type": "Point", "coordinates": [30.5, 50.4]}},
   "properties": {{"id": "k1", {props}}}}}]}}"#
    );
    assert_eq!(
        parse_err(InputFormat::Geojson, "k.geojson", twice_features.as_bytes()).to_string(),
        format!("k.geojson:1: `features`: {}", reason("features"))
    );
    let twice_type = format!(
        r#"{{"type": "FeatureCollection", "features": [
  {{"type": "Feature", "geometry": {{"type": "Point", "coordinates": [30.5, 50.4]}},
   "properties": {{"id": "k1", {props}}}}}],
 "type": "FeatureCollection"}}"#
    );
    assert_eq!(
        parse_err(InputFormat::Geojson, "k.geojson", twice_type.as_bytes()).to_string(),
        format!("k.geojson:4: `type`: {}", reason("type"))
    );
}

#[test]
fn geojson_whole_file_errors() {
    let error = parse_err(
        InputFormat::Geojson,
        "g.geojson",
        b"{\"type\": \"FeatureCollection\",\n \"features\": [}",
    );
    assert!(
        matches!(error, IngestError::Malformed { line: 2, .. }),
        "{error:?}"
    );
    let error = parse_err(
        InputFormat::Geojson,
        "g.geojson",
        b"{\"type\": \"Feature\"}",
    );
    assert_eq!(
        error.to_string(),
        "g.geojson:1: expected a GeoJSON FeatureCollection, found type `Feature`"
    );
    assert_eq!(
        parse_err(
            InputFormat::Geojson,
            "g.geojson",
            b"{\"type\": \"FeatureCollection\", \"features\": []}"
        ),
        IngestError::Empty {
            file: "g.geojson".into()
        }
    );
}

// ---------------------------------------------------------------------------------------
// ACLED

const ACLED_HEADER: &str = "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp";

// One argument per varying ACLED column keeps the test rows readable.
#[allow(clippy::too_many_arguments)]
fn acled_row(
    id: &str,
    date: &str,
    time_precision: &str,
    event: (&str, &str),
    civilian_targeting: &str,
    lat_lon: (&str, &str),
    geo_precision: &str,
    notes: &str,
    fatalities: &str,
) -> String {
    format!(
        "{id},{date},2025,{time_precision},Political violence,{},{},Military Forces of Russia (2000-),,8,Civilians (Ukraine),,7,87,{civilian_targeting},804,Europe,Ukraine,Kherson,Khersonskyi,Kherson,Kherson,{},{},{geo_precision},Suspilne,National,\"{notes}\",{fatalities},,1742900000",
        event.0, event.1, lat_lon.0, lat_lon.1
    )
}

#[test]
fn acled_maps_types_keywords_and_precision() {
    let shelling = (
        "Explosions/Remote violence",
        "Shelling/artillery/missile attack",
    );
    let air = ("Explosions/Remote violence", "Air/drone strike");
    let rows = [
        acled_row(
            "UKR1",
            "2025-03-20",
            "1",
            shelling,
            "",
            ("46.6354", "32.6169"),
            "1",
            "Russian forces shelled a substation in Kherson.",
            "0",
        ),
        acled_row(
            "UKR2",
            "20 March 2025",
            "2",
            air,
            "",
            ("46.6354", "32.6169"),
            "2",
            "A Shahed drone hit the port.",
            "1",
        ),
        acled_row(
            "UKR3",
            "20-March-2025",
            "3",
            shelling,
            "Civilian targeting",
            ("46.6354", "32.6169"),
            "3",
            "Iskander strike.",
            "4",
        ),
        acled_row(
            "UKR4",
            "2025-03-20",
            "1",
            ("Strategic developments", "Disrupted weapons use"),
            "",
            ("50.45", "30.52"),
            "1",
            "Air defence downed missiles over Kyiv.",
            "0",
        ),
        acled_row(
            "UKR5",
            "2025-03-20",
            "1",
            ("Protests", "Peaceful protest"),
            "",
            ("50.45", "30.52"),
            "1",
            "A protest.",
            "0",
        ),
        acled_row(
            "UKR6",
            "2025-03-20",
            "1",
            air,
            "",
            ("46.6354", "32.6169"),
            "1",
            "Aircraft dropped glide bombs on residential houses.",
            "0",
        ),
        acled_row(
            "UKR7",
            "2025-03-20",
            "1",
            ("Battles", "Armed clash"),
            "",
            ("246.6", "32.6"),
            "1",
            "Clashes.",
            "0",
        ),
    ];
    let text = format!("{ACLED_HEADER}\n{}\n", rows.join("\n"));
    let ingested = parse(InputFormat::Acled, "acled.csv", &text);
    assert_eq!(ingested.rows, vec![2, 3, 4, 5, 7]);
    let [r1, r2, r3, r4, r6] = &ingested.reports[..] else {
        panic!("{:?}", ingested.reports);
    };

    assert_eq!(r1.id, "UKR1");
    assert_eq!(r1.source.id, "acled");
    assert_eq!(r1.source.kind, SourceKind::Osint);
    assert_eq!(r1.action, ActionType::Artillery);
    assert_eq!(r1.target, Target::energy(EnergyKind::PowerTransmission));
    assert_eq!(r1.time.start_ms, ms("2025-03-19T22:00:00Z"));
    assert_eq!(r1.time.end_ms, ms("2025-03-20T22:00:00Z") - 1);
    assert_eq!(r1.location.uncertainty_m, 2_000.0);
    assert_eq!((r1.location.lon, r1.location.lat), (32.6169, 46.6354));
    assert_eq!(r1.accused, None);
    assert_eq!(
        r1.actors(),
        vec!["Military Forces of Russia (2000-)", "Civilians (Ukraine)"]
    );
    assert_eq!(r1.place(), Some("Kherson"));
    assert_eq!(r1.text(), "Russian forces shelled a substation in Kherson.");

    assert_eq!(r2.action, ActionType::DroneStrike);
    assert_eq!(r2.target, Target::of(TargetKind::Maritime));
    assert_eq!(r2.time.start_ms, ms("2025-03-16T22:00:00Z"));
    assert_eq!(r2.time.end_ms, ms("2025-03-23T22:00:00Z") - 1);
    assert_eq!(r2.location.uncertainty_m, 10_000.0);
    assert_eq!(r2.casualties.unspecified_killed, 1);

    assert_eq!(r3.action, ActionType::MissileStrike);
    assert_eq!(r3.target, Target::of(TargetKind::CivilianResidential));
    assert_eq!(r3.time.start_ms, ms("2025-02-28T22:00:00Z"));
    assert_eq!(r3.time.end_ms, ms("2025-03-31T21:00:00Z") - 1);
    assert_eq!(r3.location.uncertainty_m, 50_000.0);
    assert_eq!(r3.casualties.civilian_killed, 4);
    assert_eq!(r3.casualties.unspecified_killed, 0);

    assert_eq!(r4.action, ActionType::AirDefenceIntercept);
    assert_eq!(r6.action, ActionType::AirStrike);
    assert_eq!(r6.target, Target::of(TargetKind::CivilianResidential));

    assert_eq!(
        ingested.rejections,
        vec![
            rejection(
                "acled.csv",
                6,
                "event_type",
                Some("Protests"),
                "event type `Protests` is out of scope for ceasefire monitoring"
            ),
            rejection(
                "acled.csv",
                8,
                "latitude",
                Some("246.6"),
                "latitude 246.6 is outside -90..90"
            ),
        ]
    );
}

#[test]
fn acled_old_layout_is_read_by_name() {
    // Before March 2023: event_id_no_cnty, data_id and iso3 present; disorder_type,
    // civilian_targeting and tags absent; columns in another order.
    let text = "data_id,iso,event_id_cnty,event_id_no_cnty,event_date,year,time_precision,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,timestamp,iso3\n\
                9001,804,UKR9,9,24 February 2022,2022,1,Explosions/Remote violence,Shelling/artillery/missile attack,Military Forces of Russia (2000-),,8,,,0,80,Europe,Ukraine,Kharkiv,Kharkivskyi,Kharkiv,Kharkiv,49.9935,36.2304,1,Ukrinform,National,Grad rockets hit apartment blocks.,3,1645700000,UKR\n";
    let ingested = parse(InputFormat::Acled, "old.csv", text);
    assert!(ingested.rejections.is_empty(), "{:?}", ingested.rejections);
    let report = &ingested.reports[0];
    assert_eq!(report.id, "UKR9");
    assert_eq!(report.action, ActionType::Mlrs);
    assert_eq!(report.target, Target::of(TargetKind::CivilianResidential));
    assert_eq!(report.casualties.unspecified_killed, 3);
    assert_eq!(report.actors(), vec!["Military Forces of Russia (2000-)"]);
    assert_eq!(report.location.uncertainty_m, 2_000.0);
}

#[test]
fn acled_hxl_row_is_skipped_and_missing_columns_refused() {
    let text = format!(
        "{ACLED_HEADER}\n#event+code,#date+occurred,#date+year,,,#event+type,,#group+name+first,,,,,,,,,,#country+name,,,,#loc+name,#geo+lat,#geo+lon,,#meta+source,,#description,#affected+killed,,\n{}\n",
        acled_row(
            "UKR1",
            "2025-03-20",
            "1",
            ("Battles", "Armed clash"),
            "",
            ("48.0", "37.8"),
            "1",
            "Fighting near positions.",
            "0"
        )
    );
    let ingested = parse(InputFormat::Acled, "hdx.csv", &text);
    assert_eq!(ingested.rows, vec![3]);
    assert_eq!(ingested.reports[0].target, Target::of(TargetKind::Military));
    let error = parse_err(
        InputFormat::Acled,
        "a.csv",
        b"event_id_cnty,event_date,latitude,longitude\nUKR1,2025-03-20,1,2\n",
    );
    assert!(
        matches!(&error, IngestError::MissingColumns { missing, .. } if missing == &["event_type", "sub_event_type"]),
        "{error:?}"
    );
}

// ---------------------------------------------------------------------------------------
// UCDP GED

const UCDP_HEADER: &str = "id,relid,year,active_year,code_status,type_of_violence,conflict_dset_id,conflict_new_id,conflict_name,dyad_dset_id,dyad_new_id,dyad_name,side_a_dset_id,side_a_new_id,side_a,side_b_dset_id,side_b_new_id,side_b,number_of_sources,source_article,source_office,source_date,source_headline,source_original,where_prec,where_coordinates,where_description,adm_1,adm_2,latitude,longitude,geom_wkt,priogrid_gid,country,country_id,region,event_clarity,date_prec,date_start,date_end,deaths_a,deaths_b,deaths_civilians,deaths_unknown,best,high,low,gwnoa,gwnob";

fn ucdp_row(
    id: &str,
    headline: &str,
    where_prec: &str,
    dates: (&str, &str),
    deaths: [&str; 4],
) -> String {
    format!(
        "{id},UKR-2025-1-{id},2025,1,Clear,1,,,Russia - Ukraine,,,Government of Russia - Government of Ukraine,,,Government of Russia,,,Government of Ukraine,2,\"Reuters, 2025-03-21\",,2025-03-21,\"{headline}\",,{where_prec},Odesa town,near the city,Odesa oblast,,46.48,30.73,POINT (30.73 46.48),,Ukraine,369,Europe,1,1,{},{},{},{},{},{},5,5,5,365,369",
        dates.0, dates.1, deaths[0], deaths[1], deaths[2], deaths[3]
    )
}

#[test]
fn ucdp_maps_ids_dates_precision_and_keywords() {
    let rows = [
        ucdp_row(
            "501",
            "Russian missile strike on Odesa port",
            "2",
            ("2025-03-20", "2025-03-22"),
            ["1", "2", "3", "4"],
        ),
        ucdp_row(
            "502",
            "Fighting continued",
            "7",
            ("2025-03-20 00:00:00.000", "2025-03-20 00:00:00.000"),
            ["", "", "", ""],
        ),
        ucdp_row(
            "503",
            "Report",
            "9",
            ("2025-03-20", "2025-03-19"),
            ["0", "0", "0", "0"],
        ),
    ];
    let text = format!("{UCDP_HEADER}\n{}\n", rows.join("\n"));
    let ingested = parse(InputFormat::Ucdp, "ged.csv", &text);
    let [r1, r2] = &ingested.reports[..] else {
        panic!("{:?} {:?}", ingested.reports, ingested.rejections);
    };
    assert_eq!(r1.id, "ucdp:501");
    assert_eq!(r1.source.id, "ucdp");
    assert_eq!(r1.action, ActionType::MissileStrike);
    assert_eq!(r1.target, Target::of(TargetKind::Maritime));
    assert_eq!(r1.time.start_ms, ms("2025-03-19T22:00:00Z"));
    assert_eq!(r1.time.end_ms, ms("2025-03-22T22:00:00Z") - 1);
    assert_eq!(r1.location.uncertainty_m, 10_000.0);
    assert_eq!(
        r1.actors(),
        vec!["Government of Russia", "Government of Ukraine"]
    );
    assert_eq!(r1.place(), Some("Odesa town"));
    let c = r1.casualties;
    assert_eq!(
        (c.military_killed, c.civilian_killed, c.unspecified_killed),
        (3, 3, 4)
    );
    assert_eq!(r2.action, ActionType::GroundAssault);
    assert_eq!(r2.location.uncertainty_m, 50_000.0);
    assert_eq!(r2.time.width_ms(), 86_400_000 - 1);
    assert_eq!(
        ingested.rejections,
        vec![
            rejection(
                "ged.csv",
                4,
                "date_end",
                Some("2025-03-19"),
                "date_end is before date_start"
            ),
            rejection(
                "ged.csv",
                4,
                "where_prec",
                Some("9"),
                "where_prec must be 1 to 7"
            ),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Peer CSV

const PEER_HEADER: &str =
    "id,ts,lon,lat,loc_unc_m,source,accused,action,target,civ_cas,true_incident";

#[test]
fn peer_csv_maps_names() {
    let text = format!(
        "{PEER_HEADER}\n\
         1,2024-03-01T00:00:00Z,37.512345,48.012345,250,ua_gs,RU,shelling,military_position,2,1\n\
         2,2024-03-01T00:10:00Z,37.5,48.0,100,ru_mod,UA,airstrike,residential,0,1\n\
         3,2024-03-01T00:20:00Z,37.5,48.0,100,acled,unknown,missile,agricultural,0,2\n\
         4,2024-03-01T00:30:00Z,37.5,48.0,100,local_media,RU,drone,energy,0,3\n\
         5,2024-03-01T00:40:00Z,37.5,48.0,100,osce_smm,RU,mine,unknown,0,4\n\
         6,2024-03-01T00:50:00+02:00,37.5,48.0,100,telegram_ua,RU,mlrs,transport,0,5\n"
    );
    let ingested = parse(InputFormat::PeerCsv, "reports.csv", &text);
    assert!(ingested.rejections.is_empty(), "{:?}", ingested.rejections);
    let r = &ingested.reports;
    assert_eq!(r[0].id, "1");
    assert_eq!(r[0].time.start_ms, ms("2024-03-01T00:00:00Z"));
    assert_eq!(
        (
            r[0].location.lon,
            r[0].location.lat,
            r[0].location.uncertainty_m
        ),
        (37.512345, 48.012345, 250.0)
    );
    assert_eq!(r[0].source.kind, SourceKind::Party);
    assert_eq!(r[0].source.party.as_deref(), Some("UA"));
    assert_eq!(r[0].accused.as_deref(), Some("RU"));
    assert_eq!(r[0].action, ActionType::Artillery);
    assert_eq!(r[0].target, Target::of(TargetKind::Military));
    assert_eq!(r[0].casualties.civilian_injured, 2);
    assert_eq!(r[1].source.party.as_deref(), Some("RU"));
    assert_eq!(
        (r[1].action, r[1].target.kind),
        (ActionType::AirStrike, TargetKind::CivilianResidential)
    );
    assert_eq!(r[2].source.kind, SourceKind::Osint);
    assert_eq!(r[2].accused, None);
    assert_eq!(
        (r[2].action, r[2].target.kind),
        (
            ActionType::MissileStrike,
            TargetKind::CivilianInfrastructure
        )
    );
    assert_eq!(r[3].source.kind, SourceKind::Media);
    assert_eq!(
        (r[3].action, r[3].target.kind),
        (ActionType::DroneStrike, TargetKind::Energy)
    );
    assert_eq!(r[4].source.kind, SourceKind::Monitor);
    assert_eq!(
        (r[4].action, r[4].target.kind),
        (ActionType::MineIed, TargetKind::Unknown)
    );
    assert_eq!(r[5].time.start_ms, ms("2024-02-29T22:50:00Z"));
    assert_eq!(r[5].action, ActionType::Mlrs);
}

#[test]
fn peer_csv_rejections() {
    let text = format!(
        "{PEER_HEADER}\n\
         1,2024-03-01T00:00:00,37.5,48.0,250,ua_gs,RU,shelling,military_position,2,1\n\
         2,2024-03-01T00:10:00Z,48.0,137.5,100,ru_mod,UA,shellin,residential,-1,1\n\
         3,2024-03-01T00:10:00Z,37.5,48.0,100,ru_mod,UA\n\
         \n\
         4,2024-03-01T00:10:00Z,37.5,48.0,-3,,UA,artillery,residental,0,1\n"
    );
    let ingested = parse(InputFormat::PeerCsv, "reports.csv", &text);
    assert!(ingested.reports.is_empty());
    assert_eq!(
        ingested.rejections,
        vec![
            rejection(
                "reports.csv",
                2,
                "ts",
                Some("2024-03-01T00:00:00"),
                "time has no UTC offset or time zone; write e.g. 2025-03-20T10:00:00+02:00"
            ),
            rejection(
                "reports.csv",
                3,
                "lat",
                Some("137.5"),
                "latitude 137.5 is outside -90..90; are latitude and longitude swapped?"
            ),
            rejection(
                "reports.csv",
                3,
                "action",
                Some("shellin"),
                "unknown action type `shellin`: did you mean `shelling`?"
            ),
            rejection(
                "reports.csv",
                3,
                "civ_cas",
                Some("-1"),
                "not a non-negative integer"
            ),
            rejection(
                "reports.csv",
                4,
                "",
                None,
                "row has 7 fields, the header has 11"
            ),
            rejection(
                "reports.csv",
                6,
                "loc_unc_m",
                Some("-3"),
                "uncertainty must not be negative"
            ),
            rejection("reports.csv", 6, "source", None, "required field is empty"),
            rejection(
                "reports.csv",
                6,
                "target",
                Some("residental"),
                "unknown target category `residental`: did you mean `residential`?"
            ),
        ]
    );
    let header_only = [
        format!("{PEER_HEADER}\n\n"),
        format!("{PEER_HEADER}\n"),
        PEER_HEADER.to_string(),
        format!("\"id\"{}\n", &PEER_HEADER[2..]),
    ];
    for text in header_only {
        assert_eq!(
            parse_err(InputFormat::PeerCsv, "p.csv", text.as_bytes()),
            IngestError::Empty {
                file: "p.csv".into()
            },
            "{text:?}"
        );
    }
    assert!(matches!(
        parse_err(InputFormat::PeerCsv, "p.csv", b"id,ts,lon,lat\n1,2,3,4\n"),
        IngestError::MissingColumns { .. }
    ));
}

/// Injects bad rows and blank lines into generated data, deterministically.
fn peer_file_with_flaws(n: usize) -> String {
    let text = ingest_support::peer_gen::peer_csv(n, 7);
    let mut out = String::with_capacity(text.len() + 1000);
    for (index, line) in text.lines().enumerate() {
        match index % 997 {
            500 => out.push_str(&line.replace('Z', "")), // no offset
            600 => out.push_str(&line.replacen(',', ",,", 1)), // field count
            700 => out.push('\n'),                       // blank line, then the row
            _ => {}
        }
        if index % 997 != 500 && index % 997 != 600 {
            out.push_str(line);
        }
        out.push_str(if index % 2 == 0 { "\n" } else { "\r\n" });
    }
    out
}

fn parse_in_pool(threads: usize, format: InputFormat, text: &str) -> Ingested {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| parse(format, "reports.csv", text))
}

#[test]
fn peer_csv_is_identical_whatever_the_thread_count() {
    let text = peer_file_with_flaws(30_000);
    let sequential = parse_in_pool(1, InputFormat::PeerCsv, &text);
    assert!(sequential.reports.len() > 29_000);
    assert!(!sequential.rejections.is_empty());
    assert_eq!(sequential.rows.len(), sequential.reports.len());
    // Rows are line numbers: the header is line 1, a blank line takes a number.
    assert_eq!(sequential.rows[0], 2);
    assert!(sequential.rows.windows(2).all(|pair| pair[0] < pair[1]));
    for threads in [2, 3, 4, 7] {
        let parallel = parse_in_pool(threads, InputFormat::PeerCsv, &text);
        assert_eq!(parallel, sequential, "{threads} threads");
    }
}

#[test]
fn peer_csv_with_quotes_equals_the_fast_path() {
    let text = peer_file_with_flaws(5_000);
    let fast = parse(InputFormat::PeerCsv, "reports.csv", &text);
    // Quoting one id sends the whole file through the csv crate.
    let quoted = text.replacen("\n1,", "\n\"1\",", 1);
    assert_ne!(quoted, text);
    let slow = parse(InputFormat::PeerCsv, "reports.csv", &quoted);
    assert_eq!(slow, fast);
}

#[test]
fn peer_csv_is_not_writable() {
    let error = write_reports(
        InputFormat::PeerCsv,
        &[],
        &IngestOptions::default(),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(matches!(
        error,
        WriteError::NotWritable {
            format: InputFormat::PeerCsv
        }
    ));
}

// ---------------------------------------------------------------------------------------
// Format detection

#[test]
fn detects_formats_from_names_and_headers() {
    assert_eq!(
        detect_format("x.csv", HEADER.as_bytes()),
        Some(InputFormat::Csv)
    );
    assert_eq!(
        detect_format("x.csv", ACLED_HEADER.as_bytes()),
        Some(InputFormat::Acled)
    );
    assert_eq!(
        detect_format("ged251.csv", UCDP_HEADER.as_bytes()),
        Some(InputFormat::Ucdp)
    );
    assert_eq!(
        detect_format("reports.csv", PEER_HEADER.as_bytes()),
        Some(InputFormat::PeerCsv)
    );
    assert_eq!(detect_format("r.ndjson", b""), Some(InputFormat::Jsonl));
    assert_eq!(
        detect_format("zones.json", b"{\"type\":\"FeatureCollection\"}"),
        Some(InputFormat::Geojson)
    );
    assert_eq!(detect_format("notes.txt", b"hello"), None);
}

// ---------------------------------------------------------------------------------------
// Shared sources

/// How many different `Source` allocations the reports hold.
fn source_allocations(ingested: &Ingested) -> usize {
    let mut pointers: Vec<*const truce_model::Source> = ingested
        .reports
        .iter()
        .map(|report| std::sync::Arc::as_ptr(&report.source))
        .collect();
    pointers.sort_unstable();
    pointers.dedup();
    pointers.len()
}

/// Reads `text` on one thread, expecting `n` reports from `n_sources` sources held in a few
/// copies each (one per reader), never one per report.
fn read_sharing(format: InputFormat, text: &str, n: usize, n_sources: usize) -> Ingested {
    let ingested = parse_in_pool(1, format, text);
    assert_eq!(
        ingested.reports.len(),
        n,
        "{format}: {:?}",
        ingested.rejections
    );
    let copies = source_allocations(&ingested);
    assert!(
        (n_sources..=n_sources * 16).contains(&copies),
        "{format}: {copies} copies of {n_sources} sources"
    );
    ingested
}

/// The reports of one source share one `Source` in every format, and sources that differ
/// only in kind or party stay apart. Each reader (a chunk, a piece of the lines) keeps its
/// own copies, so a few copies per source are expected, never one per report.
#[test]
fn reports_of_one_source_share_it_in_every_format() {
    const N: usize = 3_000;
    // Four sources: two with the same id but another kind and party.
    let sources = [
        ("osce", "monitor", ""),
        ("ua_gs", "party", "UA"),
        ("ua_gs", "media", ""),
        ("ru_mod", "party", "RU"),
    ];
    let mut csv_text =
        String::from("id,source_id,source_kind,source_party,time,lon,lat,action,target\n");
    let mut jsonl_text = String::new();
    let mut features = Vec::new();
    for i in 0..N {
        let (id, kind, party) = sources[i % sources.len()];
        csv_text.push_str(&format!(
            "r{i},{id},{kind},{party},2025-03-20T08:00:00Z,30.5,50.4,artillery,energy\n"
        ));
        let party_json = if party.is_empty() {
            "null".to_string()
        } else {
            format!("\"{party}\"")
        };
        jsonl_text.push_str(&format!(
            "{{\"id\": \"r{i}\", \"source_id\": \"{id}\", \"source_kind\": \"{kind}\", \"source_party\": {party_json}, \"time\": \"2025-03-20T08:00:00Z\", \"lon\": 30.5, \"lat\": 50.4, \"action\": \"artillery\", \"target\": \"energy\"}}\n"
        ));
        features.push(format!(
            "{{\"type\": \"Feature\", \"id\": \"r{i}\", \"geometry\": {{\"type\": \"Point\", \"coordinates\": [30.5, 50.4]}}, \"properties\": {{\"source_id\": \"{id}\", \"source_kind\": \"{kind}\", \"source_party\": {party_json}, \"time\": \"2025-03-20T08:00:00Z\", \"action\": \"artillery\", \"target\": \"energy\"}}}}"
        ));
    }
    let geojson_text = format!(
        "{{\"type\": \"FeatureCollection\", \"features\": [{}]}}",
        features.join(",\n")
    );
    for (format, text) in [
        (InputFormat::Csv, &csv_text),
        (InputFormat::Jsonl, &jsonl_text),
        (InputFormat::Geojson, &geojson_text),
    ] {
        let ingested = read_sharing(format, text, N, sources.len());
        for (i, report) in ingested.reports.iter().enumerate() {
            let (id, kind, party) = sources[i % sources.len()];
            assert_eq!(report.source.id, id, "{format}");
            assert_eq!(report.source.kind.as_str(), kind, "{format}");
            assert_eq!(
                report.source.party.as_deref().unwrap_or(""),
                party,
                "{format}"
            );
        }
    }

    // ACLED and UCDP attribute every row to one source.
    let acled_rows: Vec<String> = (0..N)
        .map(|i| {
            acled_row(
                &format!("UKR{i}"),
                "2025-03-20",
                "1",
                ("Explosions/Remote violence", "Air/drone strike"),
                "",
                ("46.6354", "32.6169"),
                "1",
                "A drone hit the port.",
                "0",
            )
        })
        .collect();
    let acled_text = format!("{ACLED_HEADER}\n{}\n", acled_rows.join("\n"));
    let ucdp_rows: Vec<String> = (0..N)
        .map(|i| {
            ucdp_row(
                &format!("{}", 1000 + i),
                "Shelling",
                "1",
                ("2025-03-20", "2025-03-20"),
                ["", "", "", ""],
            )
        })
        .collect();
    let ucdp_text = format!("{UCDP_HEADER}\n{}\n", ucdp_rows.join("\n"));
    for (format, text) in [
        (InputFormat::Acled, &acled_text),
        (InputFormat::Ucdp, &ucdp_text),
    ] {
        read_sharing(format, text, N, 1);
    }
}

fn read_in_pieces(format: InputFormat, bytes: &[u8], size: usize) -> Result<Ingested, IngestError> {
    let mut pieces = SlicePieces::new(bytes, size);
    let first = pieces.next_slice().unwrap_or_default();
    parse_reports_in_pieces(
        format,
        "f.csv",
        first,
        &mut pieces,
        &IngestOptions::default(),
    )
}

/// Handed over in pieces of any size, every input reads exactly as it does whole: the same
/// reports, rows and rejections, or the same error (a bad byte's line and offset included).
#[test]
fn pieces_read_what_the_whole_file_reads() {
    let mut native = csv(&[
        "r1,osce,monitor,2025-03-20T08:00:00Z,30.5,50.4,artillery,energy",
        "",
        "r2,osce,monitor,2025-03-20T08:00:00Z,30.5,95.4,artillery,energy",
        "r3,ua-gs,party,2025-03-20T08:00:00Z,30.5,50.4,artilery,energy",
        "r4,osce,monitor,2025-03-20T09:00:00Z,30.5,50.4",
    ]);
    for index in 5..400 {
        native.push_str(&format!(
            "r{index},src{},media,2025-03-20T{:02}:00:00Z,30.{index},50.4,artillery,energy{}",
            index % 7,
            index % 24,
            if index % 3 == 0 { "\r\n" } else { "\n" }
        ));
    }
    let quoted_late = format!(
        "{native}r900,\"osce\nmission\",monitor,2025-03-20T08:00:00Z,30.5,50.4,artillery,energy\nr901,osce,monitor,2025-03-20T08:00:00Z,30.5,50.4,artillery,energy\n"
    );
    let mut bad_byte_late = native.clone().into_bytes();
    let at = bad_byte_late.len() - 40;
    bad_byte_late[at] = 0xff;
    let with_bom = format!("\u{feff}{native}");
    let acled_rows: Vec<String> = (0..60)
        .map(|i| {
            acled_row(
                &format!("UKR{i}"),
                "2025-03-20",
                "1",
                (
                    "Explosions/Remote violence",
                    "Shelling/artillery/missile attack",
                ),
                "",
                ("46.6354", if i == 30 { "232.6" } else { "32.6169" }),
                "1",
                "Shelling of the port.",
                "0",
            )
        })
        .collect();
    let acled_quoted = format!("{ACLED_HEADER}\n{}\n", acled_rows.join("\n"));
    let acled_plain = format!(
        "{ACLED_HEADER}\n#event+id,#date,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n{}\n",
        acled_rows.join("\n").replace('"', "")
    );
    let ucdp_rows: Vec<String> = (0..60)
        .map(|i| {
            ucdp_row(
                &format!("{}", 1000 + i),
                "Shelling",
                "1",
                ("2025-03-20", "2025-03-21"),
                ["1", "", "", ""],
            )
            .replace("\"Reuters, 2025-03-21\"", "Reuters 2025-03-21")
            .replace('"', "")
        })
        .collect();
    let ucdp_plain = format!("{UCDP_HEADER}\n{}\n", ucdp_rows.join("\n"));
    // JSON Lines written from the CSV's reports, with blank lines, bad lines and CRLF ends.
    let read = parse_reports(
        InputFormat::Csv,
        "f.csv",
        native.as_bytes(),
        &IngestOptions::default(),
    )
    .unwrap();
    let mut written = Vec::new();
    write_reports(
        InputFormat::Jsonl,
        &read.reports,
        &IngestOptions::default(),
        &mut written,
    )
    .unwrap();
    let mut jsonl = String::new();
    for (index, line) in String::from_utf8(written).unwrap().lines().enumerate() {
        match index % 50 {
            7 => jsonl.push_str("\n   \n"),
            11 => jsonl.push_str("{\"id\": 3\n[1, 2]\n"),
            13 => jsonl.push_str(&line.replace("artillery", "artilery")),
            _ => {}
        }
        jsonl.push_str(line);
        jsonl.push_str(if index % 3 == 0 { "\r\n" } else { "\n" });
    }
    let mut jsonl_bad_byte = jsonl.clone().into_bytes();
    let at = jsonl_bad_byte.len() - 30;
    jsonl_bad_byte[at] = 0xc3;
    let inputs: Vec<(InputFormat, &str, Vec<u8>)> = vec![
        (InputFormat::Jsonl, "json lines", jsonl.into_bytes()),
        (
            InputFormat::Jsonl,
            "json lines, bad byte late",
            jsonl_bad_byte,
        ),
        (InputFormat::Csv, "native", native.clone().into_bytes()),
        (InputFormat::Csv, "quoted late", quoted_late.into_bytes()),
        (InputFormat::Csv, "bad byte late", bad_byte_late.clone()),
        // The header refused, and a bad byte after the first piece: the bad byte is
        // reported, as it is when the whole file is read.
        (
            InputFormat::Acled,
            "not ACLED, bad byte late",
            bad_byte_late,
        ),
        (InputFormat::Ucdp, "not UCDP", native.clone().into_bytes()),
        (InputFormat::Csv, "byte-order mark", with_bom.into_bytes()),
        (
            InputFormat::Csv,
            "header only",
            format!("{HEADER}\n\n\n").into_bytes(),
        ),
        (InputFormat::Csv, "blank", b"\n\n \n".to_vec()),
        (
            InputFormat::Acled,
            "acled quoted",
            acled_quoted.into_bytes(),
        ),
        (InputFormat::Acled, "acled plain", acled_plain.into_bytes()),
        (InputFormat::Ucdp, "ucdp plain", ucdp_plain.into_bytes()),
        (
            InputFormat::PeerCsv,
            "peer",
            ingest_support::peer_gen::peer_csv(300, 3).into_bytes(),
        ),
    ];
    for (format, name, bytes) in &inputs {
        let whole = parse_reports(*format, "f.csv", bytes, &IngestOptions::default());
        if *name == "native" {
            let read = whole.as_ref().unwrap();
            assert_eq!((read.reports.len(), read.rejections.len()), (396, 4));
        }
        for size in [1, 9, 100, 1000, 1 << 20] {
            let pieces = read_in_pieces(*format, bytes, size);
            assert!(
                pieces == whole,
                "{name} in pieces of {size} bytes: {pieces:?}\nwhole: {whole:?}"
            );
        }
    }
}
