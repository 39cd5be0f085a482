//! End-to-end tests of `truce export`: the real binary on the energy moratorium example, in
//! every format, and ACLED exports read back by truce's own ACLED reader.
#![allow(clippy::unwrap_used)] // a panic in a test is a test failure

mod common;
use common::{example, ok, root, truce};

use truce_model::agreement::{MemoryFiles, load};
use truce_model::ingest::{IngestOptions, InputFormat, parse_reports};

const EXAMPLE: &str = "energy-moratorium-2025";

/// The 31 columns of ACLED's exports since March 2023, written out here rather than taken
/// from the code under test.
const ACLED_HEADER: &str = "event_id_cnty,event_date,year,time_precision,disorder_type,\
event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,\
interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,\
longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp";

fn records(text: &str) -> Vec<csv::StringRecord> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect()
}

/// The field `column` of every record after the header (and after the HXL row if `skip`).
fn column<'a>(records: &'a [csv::StringRecord], name: &str, skip: usize) -> Vec<&'a str> {
    let index = records[0].iter().position(|c| c == name).unwrap();
    records[1 + skip..].iter().map(|r| &r[index]).collect()
}

#[test]
fn csv_of_incidents() {
    let (a, r) = example(EXAMPLE);
    let text = ok(&["export", &a, &r]);
    let records = records(&text);
    assert_eq!(records.len(), 1 + 12, "12 incidents");
    assert_eq!(
        column(&records, "verdict", 0)
            .iter()
            .filter(|v| **v == "violation")
            .count(),
        3,
        "as `truce assess` finds under the common reading"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn csv_of_reports() {
    let (a, r) = example(EXAMPLE);
    let text = ok(&["export", &a, &r, "--of", "reports"]);
    let records = records(&text);
    assert_eq!(records.len(), 1 + 17, "17 reports");
    let ids = column(&records, "report_id", 0);
    let incidents = column(&records, "incident_id", 0);
    let verdicts = column(&records, "verdict", 0);
    let row = |id: &str| ids.iter().position(|i| *i == id).unwrap();
    // em-02 and em-03 are one drone strike on the Sloviansk power plant: a violation by RU.
    assert_eq!(incidents[row("em-02")], "inc-em-02");
    assert_eq!(incidents[row("em-03")], "inc-em-02");
    assert_eq!(verdicts[row("em-03")], "violation");
    assert!(incidents.iter().all(|i| i.starts_with("inc-em-")));
}

#[test]
fn hxl_with_every_reading() {
    let (a, r) = example(EXAMPLE);
    let text = ok(&[
        "export",
        &a,
        &r,
        "--format",
        "hxl",
        "--interpretation",
        "all",
    ]);
    let records = records(&text);
    assert!(records[1].iter().all(|tag| tag.starts_with('#')));
    assert_eq!(&records[0][0], "interpretation");
    assert_eq!(&records[1][0], "#meta+interpretation");
    assert_eq!(records.len(), 2 + 12 * 3, "12 incidents under 3 readings");
    let readings = column(&records, "interpretation", 1);
    assert_eq!(&readings[..3], ["common", "RU", "UA"]);
    insta::assert_snapshot!(text);
}

#[test]
fn geojson_is_a_feature_collection_of_points() {
    let (a, r) = example(EXAMPLE);
    let text = ok(&["export", &a, &r, "--format", "geojson"]);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["type"], "FeatureCollection");
    let features = value["features"].as_array().unwrap();
    assert_eq!(features.len(), 12);
    for feature in features {
        assert_eq!(feature["type"], "Feature");
        assert_eq!(feature["geometry"]["type"], "Point");
        let [lon, lat] = [0, 1].map(|i| feature["geometry"]["coordinates"][i].as_f64().unwrap());
        assert!((22.0..41.0).contains(&lon) && (44.0..53.0).contains(&lat));
        assert_eq!(feature["properties"]["lon"].as_f64(), Some(lon));
        assert_eq!(feature["id"], feature["properties"]["incident_id"]);
        assert!(feature["properties"]["verdict"].is_string());
    }

    let all = ok(&[
        "export",
        &a,
        &r,
        "--format",
        "geojson",
        "--of",
        "reports",
        "--interpretation",
        "all",
    ]);
    let value: serde_json::Value = serde_json::from_str(&all).unwrap();
    let features = value["features"].as_array().unwrap();
    assert_eq!(features.len(), 17 * 3);
    assert!(features.iter().all(|f| f.get("id").is_none()));
    assert_eq!(features[2]["properties"]["interpretation"], "UA");
}

#[test]
fn acled_of_reports() {
    let (a, r) = example(EXAMPLE);
    let text = ok(&["export", &a, &r, "--format", "acled", "--of", "reports"]);
    assert_eq!(text.lines().next(), Some(ACLED_HEADER));
    insta::assert_snapshot!(text);
}

/// Reports exported as ACLED and read back by truce's ACLED reader have the same action,
/// target and position, a date span and radius containing the original ones, and the
/// accused as the first actor, which the agreement resolves to the same party.
#[test]
fn acled_export_of_reports_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let (a, r) = example(EXAMPLE);
    let exported = dir.path().join("acled.csv");
    let exported_name = exported.to_string_lossy().to_string();
    ok(&[
        "export",
        &a,
        &r,
        "--format",
        "acled",
        "--of",
        "reports",
        "--out",
        &exported_name,
    ]);
    let options = IngestOptions::default();
    let original = std::fs::read(root().join(&r)).unwrap();
    let original = parse_reports(InputFormat::Csv, &r, &original, &options).unwrap();
    let back = std::fs::read(&exported).unwrap();
    let back = parse_reports(InputFormat::Acled, &exported_name, &back, &options).unwrap();
    assert!(back.rejections.is_empty(), "{:?}", back.rejections);
    assert_eq!(back.reports.len(), original.reports.len());

    let text = std::fs::read_to_string(root().join(&a)).unwrap();
    let agreement = load(&a, &text, &MemoryFiles::default()).unwrap().remove(0);
    for report in &original.reports {
        let read = back.reports.iter().find(|b| b.id == report.id).unwrap();
        let id = &report.id;
        assert_eq!(read.action, report.action, "{id}");
        assert_eq!(read.target, report.target, "{id}");
        assert_eq!(read.location.lon, report.location.lon, "{id}");
        assert_eq!(read.location.lat, report.location.lat, "{id}");
        assert!(
            read.location.uncertainty_m >= report.location.uncertainty_m,
            "{id}"
        );
        assert!(
            read.time.start_ms <= report.time.start_ms && report.time.end_ms <= read.time.end_ms,
            "{id}: {:?} does not contain {:?}",
            read.time,
            report.time
        );
        // Every report of the example lies within a week: read back as one local day or as
        // the seven days of time_precision 2 (an hour more when the clocks change).
        let day_ms = 86_400_000;
        assert!(read.time.width_ms() < 7 * day_ms + 3_600_000, "{id}");
        if report.time.width_ms() == 0 {
            assert!(read.time.width_ms() < day_ms + 3_600_000, "{id}");
        }
        match &report.accused {
            Some(accused) => {
                assert_eq!(read.actors().first(), Some(accused), "{id}");
                assert_eq!(
                    agreement.resolve_party(&read.actors()[0]),
                    agreement.resolve_party(accused),
                    "{id}"
                );
            }
            None => assert!(read.actors().is_empty(), "{id}"),
        }
        let killed = |c: truce_model::Casualties| {
            c.civilian_killed + c.military_killed + c.unspecified_killed
        };
        assert_eq!(killed(read.casualties), killed(report.casualties), "{id}");
    }

    // The binary reads its own export too (the header says it is ACLED).
    let again = ok(&["export", &a, &exported_name, "--of", "reports"]);
    assert_eq!(records(&again).len(), 1 + 17);
}

/// The export depends only on the set of reports: shuffled rows split across two files give
/// the same bytes in every format.
#[test]
fn exports_are_independent_of_row_and_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let (a, r) = example(EXAMPLE);
    let text = std::fs::read_to_string(root().join(&r)).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut rows: Vec<&str> = lines.collect();
    rows.reverse();
    rows.rotate_left(5);
    let (one, two) = rows.split_at(7);
    let write = |name: &str, rows: &[&str]| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
        path.to_string_lossy().to_string()
    };
    let p2 = write("part-2.csv", two);
    let p1 = write("part-1.csv", one);
    for format in ["csv", "hxl", "geojson", "acled"] {
        for of in ["incidents", "reports"] {
            let args = ["--format", format, "--of", of, "--interpretation", "all"];
            let original = ok(&[&["export", &a, &r][..], &args].concat());
            let permuted = ok(&[&["export", &a, &p2, &p1][..], &args].concat());
            assert_eq!(original, permuted, "{format} of {of}");
        }
    }
}

#[test]
fn out_writes_the_file_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let (a, r) = example(EXAMPLE);
    let target = dir.path().join("incidents.geojson");
    let target_name = target.to_string_lossy().to_string();
    let stdout = ok(&["export", &a, &r, "-f", "geojson", "-o", &target_name]);
    assert_eq!(stdout, "");
    let written = std::fs::read_to_string(&target).unwrap();
    assert_eq!(written, ok(&["export", &a, &r, "-f", "geojson"]));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, ["incidents.geojson"], "no temporary file is left");
}

#[test]
fn strict_refuses_rejected_rows_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (a, r) = example(EXAMPLE);
    let mut text = std::fs::read_to_string(root().join(&r)).unwrap();
    text.push_str("em-99,ua_gs,party,UA,2025-04-01T10:00:00+03:00,,,37.1,48.2,500,dron_strike,energy,,RU,,,,,,,typo,\n");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, &text).unwrap();
    let bad = bad.to_string_lossy().to_string();
    let target = dir.path().join("out.csv");
    let rejects = dir.path().join("rejects.csv");
    let out = truce(&[
        "export",
        &a,
        &bad,
        "--strict",
        "--out",
        &target.to_string_lossy(),
        "--rejects",
        &rejects.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!target.exists(), "nothing is written under --strict");
    let listed = std::fs::read_to_string(&rejects).unwrap();
    assert!(listed.contains(",19,action,dron_strike,"), "{listed}");

    // Without --strict the row is left out, reported on standard error, and the rest exported.
    let out = truce(&["export", &a, &bad]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 row(s) rejected"));
    assert_eq!(
        records(&String::from_utf8(out.stdout).unwrap()).len(),
        1 + 12
    );
}

#[test]
fn an_unknown_reading_is_an_error_naming_the_known_ones() {
    let (a, r) = example(EXAMPLE);
    let out = truce(&["export", &a, &r, "--interpretation", "EU"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`EU` is not one of common, RU, UA"),
        "{stderr}"
    );
}
