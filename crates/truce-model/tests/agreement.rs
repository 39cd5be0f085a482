//! Agreement files: the shipped examples load; every kind of mistake is reported with the
//! file, the line and the key.
#![allow(clippy::unwrap_used)] // test helpers may panic: that is a test failure

use std::collections::BTreeMap;
use std::path::Path;

use truce_model::agreement::{AgreementError, FileSource, MemoryFiles, Reciprocity, load};

struct Folder(std::path::PathBuf);

impl FileSource for Folder {
    fn read(&self, relative: &str) -> Result<Vec<u8>, String> {
        std::fs::read(self.0.join(relative)).map_err(|e| e.to_string())
    }
}

fn example(name: &str) -> Vec<truce_model::agreement::Agreement> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let text = std::fs::read_to_string(dir.join("agreement.toml")).unwrap();
    load("agreement.toml", &text, &Folder(dir)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_example_loads() {
    let energy = example("energy-moratorium-2025");
    let readings: Vec<_> = energy.iter().map(|a| a.interpretation.as_str()).collect();
    assert_eq!(readings, ["common", "RU", "UA"]);
    assert_eq!(energy[0].sites.len(), 8);
    // Russia's reading binds Ukraine from 18 March; the common text from 25 March.
    assert_ne!(
        energy[0].party("UA").unwrap().start,
        energy[1].party("UA").unwrap().start
    );

    let sea = example("black-sea-2025");
    assert_eq!(sea[0].conditions.len(), 1);
    assert!(sea[0].conditions[0].met.is_none());
    assert!(
        sea[1].conditions.is_empty(),
        "Ukraine's reading drops the condition"
    );

    let easter = example("easter-truce-2025");
    assert_eq!(easter[0].reciprocity, Reciprocity::Release);
    assert_eq!(
        easter[0].window.start.to_string(),
        "2025-04-19T15:00:00Z",
        "18:00 Moscow time"
    );

    let front = example("front-line-30-day-2025");
    let withdrawal = front[0].zone("withdrawal").unwrap();
    // Two parties' lines × three weapon classes.
    assert_eq!(withdrawal.areas.len(), 6);
    assert!(!front[0].zone("front").unwrap().areas[0].area.0.is_empty());
}

const BASE: &str = r#"id = "t"
version = 1
title = "T"

[[parties]]
id = "RU"
name = "Russia"

[[parties]]
id = "UA"
name = "Ukraine"

[window]
start = "2025-03-18T00:00:00+03:00"
end = "2025-04-17T00:00:00+03:00"

[[zones]]
id = "z"
file = "zone.geojson"

[[rules]]
id = "R1"
actions = ["artillery"]
targets = ["*"]
zones = ["z"]
"#;

const SQUARE: &str =
    r#"{"type":"Polygon","coordinates":[[[30,50],[31,50],[31,51],[30,51],[30,50]]]}"#;

fn files(zone: &str) -> MemoryFiles {
    MemoryFiles(BTreeMap::from([(
        "zone.geojson".to_string(),
        zone.as_bytes().to_vec(),
    )]))
}

fn errors(text: &str, zone: &str) -> Vec<AgreementError> {
    load("a.toml", text, &files(zone))
        .expect_err("should be rejected")
        .0
}

fn one_error(text: &str) -> AgreementError {
    let errors = errors(text, SQUARE);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn the_base_is_valid() {
    let agreements = load("a.toml", BASE, &files(SQUARE)).unwrap();
    assert_eq!(agreements.len(), 1);
}

#[test]
fn a_window_ending_before_it_starts() {
    let e = one_error(&BASE.replace(
        "end = \"2025-04-17T00:00:00+03:00\"",
        "end = \"2025-03-01T00:00:00+03:00\"",
    ));
    assert_eq!(
        (e.file.as_str(), e.line, e.key.as_str()),
        ("a.toml", Some(15), "window.end")
    );
    assert!(e.message.contains("before it starts"), "{e}");
    assert_eq!(
        e.to_string(),
        "a.toml:15: window.end: the window ends (2025-02-28T21:00:00Z) before it starts (2025-03-17T21:00:00Z)"
    );
}

#[test]
fn an_unknown_action_with_a_suggestion() {
    let e = one_error(&BASE.replace("actions = [\"artillery\"]", "actions = [\"artilery\"]"));
    assert_eq!((e.line, e.key.as_str()), (Some(23), "rules[0].actions[0]"));
    assert_eq!(
        e.message,
        "unknown action type `artilery`: did you mean `artillery`?"
    );
}

#[test]
fn an_unknown_zone_in_a_rule() {
    let e = one_error(&BASE.replace("zones = [\"z\"]", "zones = [\"y\"]"));
    assert_eq!(e.key, "rules[0].zones[0]");
    assert!(e.message.contains("unknown zone `y`"), "{e}");
}

#[test]
fn a_civil_time_needs_a_time_zone() {
    let e = one_error(&BASE.replace(
        "start = \"2025-03-18T00:00:00+03:00\"",
        "start = \"2025-03-18T00:00:00\"",
    ));
    assert_eq!((e.line, e.key.as_str()), (Some(14), "window.start"));
    assert!(e.message.contains("no UTC offset"), "{e}");
}

#[test]
fn an_unknown_time_zone() {
    let e = one_error(&BASE.replace("[window]\n", "[window]\ntime_zone = \"Europe/Kiev2\"\n"));
    assert_eq!(e.key, "window.time_zone");
}

#[test]
fn a_misspelt_key_is_refused_with_its_line() {
    let errors = errors(&BASE.replace("title = \"T\"", "titel = \"T\""), SQUARE);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(3));
    assert!(
        errors[0].message.contains("unknown field `titel`"),
        "{}",
        errors[0].message
    );
}

#[test]
fn toml_syntax_errors_name_the_line() {
    let errors = errors(&BASE.replace("version = 1", "version = = 1"), SQUARE);
    assert_eq!(errors[0].line, Some(2));
}

#[test]
fn duplicate_ids() {
    let text = format!("{BASE}\n[[rules]]\nid = \"R1\"\nactions = [\"*\"]\ntargets = [\"*\"]\n");
    let e = one_error(&text);
    assert_eq!(e.key, "rules[1].id");
    assert!(e.message.contains("duplicate"), "{e}");
}

#[test]
fn zone_file_problems_name_the_geojson_file_and_path() {
    let open = r#"{"type":"Polygon","coordinates":[[[30,50],[31,50],[31,51],[30,51]]]}"#;
    let errors = errors(BASE, open);
    assert_eq!(errors[0].file, "zone.geojson");
    assert_eq!(errors[0].key, "$.coordinates[0]");
    let crossing =
        r#"{"type":"Polygon","coordinates":[[[30,50],[31,51],[31,50],[30,51],[30,50]]]}"#;
    let errors = self::errors(BASE, crossing);
    assert!(errors[0].message.contains("invalid polygon"), "{errors:?}");
    let missing = load("a.toml", BASE, &MemoryFiles::default()).unwrap_err().0;
    assert_eq!(
        (missing[0].key.as_str(), missing[0].line),
        ("zones[0].file", Some(19))
    );
    assert!(missing[0].message.contains("cannot read `zone.geojson`"));
}

#[test]
fn a_problem_of_the_common_text_is_told_once_whatever_the_interpretations() {
    let open = r#"{"type":"Polygon","coordinates":[[[30,50],[31,50],[31,51],[30,51]]]}"#;
    let two_readings =
        format!("{BASE}\n[interpretations.UA]\nnote = \"u\"\n[interpretations.RU]\nnote = \"r\"\n");
    let found = errors(&two_readings, open);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].file.as_str(), found[0].key.as_str()),
        ("zone.geojson", "$.coordinates[0]")
    );
    // The common window ends before it starts; UA's reading moves the end, still too early:
    // the common problem once, and UA's own at its own line.
    let text = BASE.replace(
        "end = \"2025-04-17T00:00:00+03:00\"",
        "end = \"2025-03-01T00:00:00+03:00\"",
    );
    let text = format!(
        "{text}\n[interpretations.RU]\nnote = \"r\"\n[interpretations.UA]\nnote = \"u\"\n[interpretations.UA.window]\nend = \"2025-02-01T00:00:00Z\"\n"
    );
    let found = errors(&text, SQUARE);
    let lines: Vec<(&str, Option<u64>)> = found.iter().map(|e| (e.key.as_str(), e.line)).collect();
    assert_eq!(
        lines,
        [("window.end", Some(15)), ("window.end", Some(32))],
        "{found:#?}"
    );
}

#[test]
fn swapped_site_coordinates() {
    let text = format!(
        "{BASE}\n[[sites]]\nid = \"s\"\nname = \"S\"\ncategory = \"energy.oil_refinery\"\nlocation = [50.4, 130.5]\n"
    );
    let e = one_error(&text);
    assert_eq!(e.key, "sites[0].location");
}

#[test]
fn an_interpretation_of_an_unknown_party() {
    let text = format!("{BASE}\n[interpretations.XX]\nnote = \"?\"\n");
    let e = one_error(&text);
    assert_eq!(e.key, "interpretations.XX");
    assert!(e.message.contains("not a party"), "{e}");
}

#[test]
fn an_interpretation_is_validated_as_a_whole_agreement() {
    let text = format!(
        "{BASE}\n[interpretations.UA]\nnote = \"later\"\n[interpretations.UA.window]\nend = \"2025-01-01T00:00:00Z\"\n"
    );
    let e = one_error(&text);
    assert_eq!(e.key, "window.end");
    assert_eq!(e.line, Some(30), "points at the interpretation's key");
    let ok = format!(
        "{BASE}\n[interpretations.UA]\nnote = \"later\"\n[interpretations.UA.window]\nend = \"2025-05-01T00:00:00Z\"\n"
    );
    let readings = load("a.toml", &ok, &files(SQUARE)).unwrap();
    assert_eq!(readings[1].interpretation, "UA");
    assert_eq!(readings[1].interpretation_note, "later");
    assert_eq!(
        readings[1].window.end.unwrap().to_string(),
        "2025-05-01T00:00:00Z"
    );
    assert_eq!(
        readings[1].window.start, readings[0].window.start,
        "other keys are inherited"
    );
}

#[test]
fn several_problems_are_reported_at_once() {
    let text = BASE
        .replace("actions = [\"artillery\"]", "actions = [\"shelling\"]")
        .replace(
            "end = \"2025-04-17T00:00:00+03:00\"",
            "end = \"2025-03-01T00:00:00+03:00\"",
        );
    let errors = errors(&text, SQUARE);
    assert_eq!(errors.len(), 2, "{errors:#?}");
}

#[test]
fn a_buffer_zone_per_party_and_weapon_class() {
    let line = r#"{"type":"LineString","coordinates":[[37.0,48.0],[37.5,48.5]]}"#;
    let text = BASE.replace(
        "file = \"zone.geojson\"",
        "[zones.buffer.lines]\nRU = \"zone.geojson\"\nUA = \"zone.geojson\"\n[zones.buffer.distance_km]\nartillery = 50\ndefault = 10",
    );
    let agreements = load("a.toml", &text, &files(line)).unwrap();
    let zone = &agreements[0].zones[0];
    assert_eq!(zone.areas.len(), 4);
    let artillery: Vec<_> = zone
        .areas_for(Some("RU"), truce_model::ActionType::Artillery)
        .collect();
    assert_eq!(artillery.len(), 1);
    assert!(
        artillery[0].1.origin.contains("50 km"),
        "{}",
        artillery[0].1.origin
    );
    let bad = text.replace("UA = \"zone.geojson\"", "XX = \"zone.geojson\"");
    let errors = self::errors(&bad, line);
    assert!(
        errors.iter().any(|e| e.key == "zones[0].buffer.lines.XX"),
        "{errors:#?}"
    );
}
