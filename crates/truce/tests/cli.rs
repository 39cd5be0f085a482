//! End-to-end tests: the real `truce` binary on the shipped examples and on simulator output.
#![allow(clippy::unwrap_used)] // test helpers may panic: that is a test failure

mod common;
use common::{example, ok, root, truce};

#[test]
fn energy_moratorium_markdown_all_readings() {
    let (a, r) = example("energy-moratorium-2025");
    insta::assert_snapshot!(ok(&["assess", &a, &r, "--interpretation", "all"]));
}

#[test]
fn energy_moratorium_json() {
    let (a, r) = example("energy-moratorium-2025");
    insta::assert_snapshot!(ok(&["assess", &a, &r, "--format", "json"]));
}

#[test]
fn black_sea_markdown_all_readings() {
    let (a, r) = example("black-sea-2025");
    insta::assert_snapshot!(ok(&["assess", &a, &r, "--interpretation", "all"]));
}

#[test]
fn easter_truce_csv() {
    let (a, r) = example("easter-truce-2025");
    insta::assert_snapshot!(ok(&["assess", &a, &r, "--format", "csv"]));
}

#[test]
fn front_line_markdown() {
    let (a, r) = example("front-line-30-day-2025");
    insta::assert_snapshot!(ok(&["assess", &a, &r]));
}

#[test]
fn geojson_output_is_a_feature_collection() {
    let (a, r) = example("easter-truce-2025");
    let text = ok(&["assess", &a, &r, "--format", "geojson"]);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["type"], "FeatureCollection");
    let features = value["features"].as_array().unwrap();
    assert_eq!(features.len(), 8);
    assert_eq!(features[0]["geometry"]["type"], "Point");
    assert!(features[0]["properties"]["findings"]["common"]["verdict"].is_string());
}

/// The output depends only on the set of reports: shuffling the rows and splitting them
/// across files changes nothing but the list of input files.
#[test]
fn output_is_independent_of_row_and_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let (a, r) = example("front-line-30-day-2025");
    let text = std::fs::read_to_string(root().join(&r)).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut rows: Vec<&str> = lines.collect();
    // A fixed shuffle: reverse, then interleave halves.
    rows.reverse();
    let (first, second) = rows.split_at(rows.len() / 2);
    let mut shuffled = Vec::new();
    for i in 0..first.len().max(second.len()) {
        shuffled.extend(second.get(i));
        shuffled.extend(first.get(i));
    }
    let (one, two) = shuffled.split_at(shuffled.len() / 3);
    let write = |name: &str, rows: &[&str]| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
        path.to_string_lossy().to_string()
    };
    let p2 = write("part-2.csv", two);
    let p1 = write("part-1.csv", one);
    let original = ok(&["assess", &a, &r, "--format", "json"]);
    let permuted = ok(&["assess", &a, &p2, &p1, "--format", "json"]);
    let strip = |text: &str| {
        let mut value: serde_json::Value = serde_json::from_str(text).unwrap();
        value["inputs"]["reports"] = serde_json::Value::Null;
        serde_json::to_string_pretty(&value).unwrap()
    };
    assert_eq!(strip(&original), strip(&permuted));
}

#[test]
fn bad_rows_are_listed_and_strict_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (a, r) = example("easter-truce-2025");
    let mut text = std::fs::read_to_string(root().join(&r)).unwrap();
    text.push_str("et-99,ua_gs,party,UA,2025-04-20T10:00:00+03:00,,,37.1,48.2,500,artilery,military,,RU,,,,,,,typo,\n");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, &text).unwrap();
    let bad = bad.to_string_lossy().to_string();
    let rejects = dir.path().join("rejects.csv");

    let out = truce(&["assess", &a, &bad, "--rejects", &rejects.to_string_lossy()]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 row(s) rejected"), "{stderr}");
    let listed = std::fs::read_to_string(&rejects).unwrap();
    assert!(
        listed.starts_with("file,row,column,value,reason\n"),
        "{listed}"
    );
    assert!(listed.contains(",12,action,artilery,"), "{listed}");
    assert!(listed.contains("did you mean `artillery`?"), "{listed}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("## Rejected rows (1)"), "{stdout}");

    let target = dir.path().join("out.md");
    let out = truce(&[
        "assess",
        &a,
        &bad,
        "--strict",
        "--out",
        &target.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.csv:12: action = \"artilery\""),
        "{stderr}"
    );
    assert!(!target.exists(), "nothing is written when --strict fails");
}

#[test]
fn an_invalid_agreement_is_refused_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let (a, r) = example("easter-truce-2025");
    let text = std::fs::read_to_string(root().join(&a)).unwrap();
    let broken = text.replace(
        "end = \"2025-04-21T00:00:00\"",
        "end = \"2025-04-18T00:00:00\"",
    );
    assert_ne!(text, broken);
    let path = dir.path().join("agreement.toml");
    std::fs::write(&path, broken).unwrap();
    let out = truce(&["assess", &path.to_string_lossy(), &r]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("agreement.toml:29: window.end: the window ends"),
        "{stderr}"
    );
}

#[test]
fn simulator_output_in_every_input_format_is_assessed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = example("front-line-30-day-2025");
    let mut counts = Vec::new();
    for (format, ext) in [
        ("csv", "csv"),
        ("jsonl", "jsonl"),
        ("geojson", "geojson"),
        ("acled", "csv"),
        ("ucdp", "csv"),
    ] {
        let path = dir.path().join(format!("sim-{format}.{ext}"));
        let path = path.to_string_lossy().to_string();
        ok(&[
            "simulate",
            "--scenario",
            "dense-shelling",
            "--seed",
            "3",
            "--format",
            format,
            "--out",
            &path,
        ]);
        let text = ok(&["assess", &a, &path, "--format", "json"]);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let input = &value["inputs"]["reports"][0];
        assert_eq!(input["format"], format, "{format} detected from the file");
        assert_eq!(input["rejected"], 0, "{format}: {}", value["rejections"]);
        counts.push((
            format,
            input["accepted"].as_u64().unwrap(),
            value["incidents"].as_array().unwrap().len(),
        ));
    }
    // Our own formats carry everything: identical incidents.
    assert_eq!(counts[0].1, counts[1].1);
    assert_eq!(counts[0].2, counts[1].2);
    assert_eq!(counts[0].2, counts[2].2);
    eprintln!("{counts:?}");
}

#[test]
fn simulate_is_deterministic() {
    let a = ok(&["simulate", "--scenario", "dense-shelling", "--seed", "11"]);
    let b = ok(&["simulate", "--scenario", "dense-shelling", "--seed", "11"]);
    let c = ok(&["simulate", "--scenario", "dense-shelling", "--seed", "12"]);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

/// A report file given as a named pipe (as `<(command)` gives one) is read once, its format
/// told from its first bytes: the output is the one the regular file gives, in formats read
/// in pieces (our CSV, JSON Lines) and in one read whole (GeoJSON).
#[cfg(unix)]
#[test]
fn reports_from_a_named_pipe_assess_as_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = example("front-line-30-day-2025");
    for format in ["csv", "jsonl", "geojson"] {
        let file = dir.path().join(format!("sim.{format}"));
        let file = file.to_string_lossy().to_string();
        ok(&[
            "simulate", "--seed", "5", "--format", format, "--out", &file,
        ]);
        let from_file = ok(&["assess", &a, &file, "--format", "json"]);

        let fifo = dir.path().join(format!("pipe-{format}"));
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let writer = {
            let (fifo, file) = (fifo.clone(), file.clone());
            std::thread::spawn(move || std::fs::write(&fifo, std::fs::read(&file).unwrap()))
        };
        let fifo = fifo.to_string_lossy().to_string();
        let from_pipe = ok(&["assess", &a, &fifo, "--format", "json"]);
        writer.join().unwrap().unwrap();
        let strip = |text: &str| {
            let mut value: serde_json::Value = serde_json::from_str(text).unwrap();
            let input = value["inputs"]["reports"][0].take();
            assert_eq!(input["format"], format);
            assert!(input["accepted"].as_u64().unwrap() > 100, "{input}");
            serde_json::to_string_pretty(&value).unwrap()
        };
        assert_eq!(strip(&from_pipe), strip(&from_file), "{format}");
    }
}
