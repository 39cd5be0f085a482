//! `truce report --data DIR` on the real binary: `truce serve` on a temporary directory,
//! an agreement, sources, reports, a patrol and an access denial submitted with `truce
//! submit`, then the report read from the data directory while the service runs. Its
//! findings must be the service's, its log indexes must prove with `truce log prove`
//! under its checkpoint, its coverage figures must be the hand-counted ones, reading must
//! leave the directory untouched, and a backup restored with `truce restore` must give
//! the same report.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use common::service::{Server, fails, get, key, now_ms, succeeds};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

const AGREEMENT: &str = r#"format = "truce-agreement/1"
id = "test-front"
version = 1
title = "Test front-line truce"

[[parties]]
id = "RU"
name = "Russian Federation"

[[parties]]
id = "UA"
name = "Ukraine"

[window]
time_zone = "UTC"
start = "2025-03-11T00:00:00"
end = "2025-03-21T00:00:00"

[[zones]]
id = "front"
name = "Front zone"
geometry = { type = "Polygon", coordinates = [[[36.0, 47.0], [38.5, 47.0], [38.5, 49.0], [36.0, 49.0], [36.0, 47.0]]] }

[[rules]]
id = "R1"
text = "No attacks in the front zone"
actions = ["*"]
targets = ["*"]
zones = ["front"]

[corroboration]
min_independent_sources = 2
monitor_alone_establishes = true
"#;

const HEADER: &str = "id,source_id,source_kind,source_party,time,time_end,place,lon,lat,\
uncertainty_m,action,target,site,accused,actors,civilian_killed,civilian_injured,\
military_killed,military_injured,unspecified_killed,text,evidence";

/// A report row (the source columns are the signing key's, whatever is written here).
fn row(id: &str, time: &str, (lon, lat): (f64, f64), accused: &str) -> String {
    format!("{id},x,monitor,,{time},,,{lon},{lat},200,artillery,military,,{accused},,,,,,,,")
}

/// Submits `rows` as `key`'s reports; returns each report id's log index.
fn submit_reports(
    url: &str,
    key: &str,
    dir: &Path,
    name: &str,
    rows: &[String],
) -> BTreeMap<String, u64> {
    let file = dir.join(format!("{name}.csv"));
    std::fs::write(&file, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    let printed = succeeds(&[
        "submit",
        "--key",
        key,
        "--url",
        url,
        "reports",
        file.to_str().unwrap(),
        "--agreement",
        "test-front",
    ]);
    printed
        .lines()
        .map(|line| {
            // "report m-05: logged at index 7, checkpoint size 8 root …"
            let rest = line.strip_prefix("report ").unwrap();
            let (id, rest) = rest.split_once(": logged at index ").unwrap();
            let index = rest.split(',').next().unwrap().parse().unwrap();
            (id.to_owned(), index)
        })
        .collect()
}

/// Submits an annotation (a JSON body); returns its log index.
fn submit_annotation(url: &str, key: &str, dir: &Path, kind: &str, body: &Value) -> u64 {
    let file = dir.join(format!("{kind}-{}.json", now_ms()));
    std::fs::write(&file, serde_json::to_vec(body).unwrap()).unwrap();
    let printed = succeeds(&[
        "submit",
        "--key",
        key,
        "--url",
        url,
        "annotation",
        kind,
        file.to_str().unwrap(),
    ]);
    let (_, rest) = printed.split_once("logged at index ").unwrap();
    rest.split(',').next().unwrap().parse().unwrap()
}

fn report_json(data: &Path) -> Value {
    let text = succeeds(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
    ]);
    serde_json::from_str(&text).unwrap()
}

/// Every incident the service holds: id → (common verdict, member log indexes).
fn service_incidents(url: &str) -> BTreeMap<String, (String, Vec<u64>)> {
    let (status, page) = get(&format!(
        "{url}/v1/agreements/test-front/incidents?limit=1000"
    ))
    .unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(page.get("next_cursor").is_none(), "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|incident| {
            let finding = incident["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["interpretation"] == "common")
                .unwrap();
            let mut indexes: Vec<u64> = incident["report_log_indexes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap())
                .collect();
            indexes.sort_unstable();
            (
                incident["id"].as_str().unwrap().to_owned(),
                (finding["verdict"].as_str().unwrap().to_owned(), indexes),
            )
        })
        .collect()
}

/// `truce assess --data` must judge what the service judges: the same incidents with the same
/// verdict under the common reading.
fn assert_assess_matches_service(data: &Path, url: &str) {
    let text = succeeds(&[
        "assess",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let assessed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(assessed["inputs"]["reports"][0]["format"], "log");
    let verdicts: BTreeMap<String, String> = assessed["assessments"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["incident_id"].as_str().unwrap().to_owned(),
                finding["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let served: BTreeMap<String, String> = service_incidents(url)
        .into_iter()
        .map(|(id, (verdict, _))| (id, verdict))
        .collect();
    assert!(!served.is_empty());
    assert_eq!(verdicts, served);
}

/// The report's findings must be the service's: every incident of the period counted under
/// the same verdicts, and the listed ones with the same verdict and member log indexes.
fn assert_same_findings(report: &Value, url: &str) {
    let service = service_incidents(url);
    let period = &report["period"];
    assert_eq!(
        period["incidents"], period["incidents_total"],
        "every incident is in the period"
    );
    assert_eq!(period["incidents"].as_u64().unwrap(), service.len() as u64);
    let total = &report["readings"][0]["headline"]["total"];
    for verdict in [
        "violation",
        "alleged",
        "disputed",
        "undetermined",
        "no_violation",
    ] {
        let served = service.values().filter(|(v, _)| v == verdict).count() as u64;
        assert_eq!(total[verdict].as_u64().unwrap(), served, "{verdict}");
    }
    let listed: BTreeMap<String, (String, Vec<u64>)> = report["readings"][0]["violations"]["shown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["incident"].as_str().unwrap().to_owned(),
                (
                    finding["verdict"].as_str().unwrap().to_owned(),
                    finding["log_indices"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| i.as_u64().unwrap())
                        .collect(),
                ),
            )
        })
        .collect();
    let served: BTreeMap<String, (String, Vec<u64>)> = service
        .into_iter()
        .filter(|(_, (verdict, _))| verdict == "violation" || verdict == "disputed")
        .collect();
    assert_eq!(listed, served);
}

/// Names, sizes and modification times of every file under `dir`.
/// Every file under `dir` with its size and time, except the service's own
/// SQLite files: the running service writes those whenever it likes (a late
/// projection, a WAL checkpoint), and reading a data directory never opens
/// them.
fn listing(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        for item in std::fs::read_dir(&at).unwrap() {
            let item = item.unwrap();
            let meta = item.metadata().unwrap();
            if meta.is_dir() {
                stack.push(item.path());
            } else if !item
                .file_name()
                .to_string_lossy()
                .starts_with("truce.sqlite3")
            {
                out.push((item.path(), meta.len(), meta.modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_report_from_a_running_services_data_directory() {
    let temp = tempfile::tempdir().unwrap();
    let keys = temp.path().join("keys");
    let files = temp.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let data = temp.path().join("data");
    let (admin, admin_pub) = key(&keys, "mission.example/admin");
    let (monitor, monitor_pub) = key(&keys, "mission.example/monitor-1");
    let (ua, ua_pub) = key(&keys, "ua.example/liaison");
    let server = Server::start_unlimited(&data, &admin_pub);
    let url = server.url.clone();

    // Before any agreement, the log holds none.
    let error = fails(&["report", "--data", data.to_str().unwrap()]);
    assert!(error.contains("holds no agreement"), "{error}");

    for (public, kind, party) in [
        (&monitor_pub, "monitor", None),
        (&ua_pub, "party", Some("UA")),
    ] {
        let mut args = vec![
            "submit", "--key", &admin, "--url", &url, "source", public, "--kind", kind,
        ];
        if let Some(party) = party {
            args.extend(["--party", party]);
        }
        succeeds(&args);
    }
    let agreement = files.join("agreement.toml");
    std::fs::write(&agreement, AGREEMENT).unwrap();
    succeeds(&[
        "submit",
        "--key",
        &admin,
        "--url",
        &url,
        "agreement",
        agreement.to_str().unwrap(),
    ]);
    let mut at = submit_reports(
        &url,
        &monitor,
        &files,
        "monitor",
        &[
            row("m-05", "2025-03-05T10:00:00Z", (37.0, 48.0), "RU"),
            row("m-12", "2025-03-12T06:00:00Z", (37.0, 48.0), "RU"),
            row("m-14", "2025-03-14T08:00:00Z", (37.8, 48.6), "UA"),
        ],
    );
    at.extend(submit_reports(
        &url,
        &ua,
        &files,
        "ua",
        &[
            row("u-12", "2025-03-12T06:10:00Z", (37.002, 48.001), "RU"),
            row("u-15", "2025-03-15T12:00:00Z", (36.5, 47.5), "RU"),
            row("u-16", "2025-03-16T12:00:00Z", (36.6, 47.6), "RU"),
        ],
    ));
    let polygon = |[west, south, east, north]: [f64; 4]| json!({"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]]});
    let patrol_index = submit_annotation(
        &url,
        &monitor,
        &files,
        "coverage",
        &json!({
            "coverage_id": "p-12",
            "kind": "patrol",
            "start": "2025-03-12T00:00:00Z",
            "end": "2025-03-12T12:00:00Z",
            "extent": [36.5, 47.5, 37.5, 48.5],
            "area": polygon([36.5, 47.5, 37.5, 48.5]),
        }),
    );
    let denial_index = submit_annotation(
        &url,
        &monitor,
        &files,
        "coverage",
        &json!({
            "coverage_id": "d-14",
            "kind": "access_denial",
            "start": "2025-03-14T07:00:00Z",
            "end": "2025-03-14T09:00:00Z",
            "extent": [37.6, 48.4, 38.0, 48.8],
            "area": polygon([37.6, 48.4, 38.0, 48.8]),
            "restricted_by": "RU",
        }),
    );
    assert!(denial_index > patrol_index);

    // The report, while the service runs; reading changes nothing in the directory.
    let before = listing(&data);
    let report = report_json(&data);
    assert_eq!(
        listing(&data),
        before,
        "reading wrote to the data directory"
    );

    // The log's checkpoint: every entry so far.
    let log = &report["inputs"]["log"];
    let size = log["size"].as_u64().unwrap();
    assert_eq!(size, denial_index + 1);
    let (_, health) = get(&format!("{url}/readyz")).unwrap();
    assert_eq!(health["log_size"].as_u64(), Some(size));
    let checkpoint = log["checkpoint"].as_str().unwrap();
    let mut lines = checkpoint.lines();
    assert_eq!(Some(log["origin"].as_str().unwrap()), lines.next());
    assert_eq!(Some(size.to_string().as_str()), lines.next());
    assert_eq!(Some(log["root"].as_str().unwrap()), lines.next());
    assert_eq!(log["signatures"].as_array().unwrap().len(), 1);
    assert_eq!(log["reports"], 6);
    assert_eq!(log["agreements"][0]["id"], "test-front");
    assert!(report["inputs"]["reports"].as_array().unwrap().is_empty());

    // The findings are the service's; the violations carry their log indexes.
    assert_same_findings(&report, &url);
    assert_assess_matches_service(&data, &url);
    let shown = report["readings"][0]["violations"]["shown"]
        .as_array()
        .unwrap();
    let joint = shown
        .iter()
        .find(|f| f["incident"] == "inc-m-12")
        .unwrap_or_else(|| panic!("{shown:?}"));
    assert_eq!(joint["verdict"], "violation");
    let mut expected = vec![at["m-12"], at["u-12"]];
    expected.sort_unstable();
    assert_eq!(joint["log_indices"], json!(expected));
    assert!(shown.iter().all(|f| f["checkpoint_size"] == size));

    // One index proves with the log commands under the report's checkpoint.
    let vkey = succeeds(&["key", "show", data.join("log.key").to_str().unwrap()]);
    let vkey = vkey.trim();
    let index = expected[0];
    let (status, entries) = get(&format!(
        "{url}/v1/log/entries?start={index}&end={}",
        index + 1
    ))
    .unwrap();
    assert_eq!(status, 200, "{entries}");
    let entry = STANDARD
        .decode(entries["entries"][0]["entry"].as_str().unwrap())
        .unwrap();
    let proof = succeeds(&[
        "log",
        "prove",
        data.join("log").to_str().unwrap(),
        "--index",
        &index.to_string(),
        "--size",
        &size.to_string(),
    ]);
    let root =
        truce_merkle::Hash::from_slice(&STANDARD.decode(log["root"].as_str().unwrap()).unwrap())
            .unwrap();
    let verifier = truce_note::Verifier::from_vkey(vkey).unwrap();
    if proof.starts_with(truce_log::TLOG_PROOF_HEADER) {
        let policy =
            truce_note::Policy::new(log["origin"].as_str().unwrap(), verifier, vec![]).unwrap();
        let verified = truce_log::verify_receipt(proof.as_bytes(), &entry, &policy).unwrap();
        assert_eq!(verified.index, index);
        assert_eq!(verified.checkpoint.size(), size);
        assert_eq!(verified.checkpoint.root(), root);
    } else {
        let hashes: Vec<truce_merkle::Hash> = proof
            .lines()
            .map(|line| truce_merkle::Hash::from_slice(&STANDARD.decode(line).unwrap()).unwrap())
            .collect();
        truce_merkle::verify_inclusion(
            &truce_merkle::leaf_hash(&entry),
            index,
            size,
            &hashes,
            &root,
        )
        .unwrap();
    }
    // And the checkpoint of the report is one the log verifies as its own prefix.
    let saved = files.join("report-checkpoint");
    std::fs::write(&saved, checkpoint).unwrap();
    let verified = succeeds(&[
        "log",
        "verify",
        data.join("log").to_str().unwrap(),
        "--vkey",
        vkey,
        "--previous",
        saved.to_str().unwrap(),
    ]);
    assert!(verified.starts_with("ok:"), "{verified}");

    // Coverage, counted by hand. The period runs from 5 March (the first day with data) to
    // the end of 16 March: 12 days. The patrol covers 12 hours of 12 March over the joint
    // incident inc-m-12 (06:00–06:10); the other four incidents are outside it.
    let coverage = &report["coverage"];
    assert_eq!(coverage["records"], 2);
    let observation = &coverage["observation"];
    assert_eq!(observation["period_days"], 12.0);
    assert_eq!(observation["covered_days"], 1);
    assert_eq!(observation["covered_hours"], 12.0);
    assert_eq!(observation["incidents"], 5);
    assert_eq!(observation["incidents_observed"], 1);
    assert_eq!(observation["observed_percent"], 20.0);
    // Acts: RU m-05, inc-m-12, u-15, u-16; UA m-14.
    assert_eq!(
        observation["by_party"],
        json!([
            {"acts": 5, "acts_observed": 1, "observed_percent": 20.0, "per_day": 0.417, "per_covered_day": 1.0},
            {"party": "RU", "acts": 4, "acts_observed": 1, "observed_percent": 25.0, "per_day": 0.333, "per_covered_day": 1.0},
            {"party": "UA", "acts": 1, "acts_observed": 0, "observed_percent": 0.0, "per_day": 0.083, "per_covered_day": 0.0},
        ])
    );
    let front = &observation["by_area"][0];
    assert_eq!(front["area"], "zone");
    assert_eq!(front["key"], "front");
    assert_eq!(
        (
            &front["records"],
            &front["incidents"],
            &front["incidents_observed"]
        ),
        (&json!(1), &json!(5), &json!(1))
    );
    let access = coverage["access"].as_array().unwrap();
    assert_eq!(access.len(), 1);
    assert_eq!(access[0]["party"], "RU");
    assert_eq!(access[0]["denials"], 1);
    assert_eq!(access[0]["hours"], 2.0);
    assert_eq!(access[0]["dates"], json!(["2025-03-14"]));
    assert_eq!(access[0]["events"][0]["id"], "d-14");
    assert_eq!(access[0]["events"][0]["log_index"], denial_index);

    // The Markdown says how to verify, next to each finding.
    let markdown = succeeds(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    assert!(
        markdown.contains(&format!("in the checkpoint of size {size}")),
        "{markdown}"
    );
    assert!(markdown.contains("truce log verify COPY --vkey LOG_KEY --previous THAT_FILE"));
    assert!(markdown.contains("RU: 1 denials of access, 0 of jamming, 2 hours, on 2025-03-14"));

    // Flags: the agreement by id and version; an unknown one is named.
    let again: Value = serde_json::from_str(&succeeds(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "--agreement-id",
        "test-front@1",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(again, report);
    let error = fails(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "--agreement-id",
        "test-front@2",
    ]);
    assert!(
        error.contains("no agreement test-front version 2"),
        "{error}"
    );
    let error = fails(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "examples/easter-truce-2025/reports.csv",
    ]);
    assert!(error.contains("cannot be used with"), "{error}");

    // A backup taken while serving, restored, gives the same report.
    let backup = temp.path().join("backup");
    succeeds(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--out",
        backup.to_str().unwrap(),
    ]);
    let restored = temp.path().join("restored");
    succeeds(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(report_json(&restored), report);

    // A retraction: u-16 is withdrawn by its source, in the report as in the service.
    let retraction_index = submit_annotation(
        &url,
        &ua,
        &files,
        "retraction",
        &json!({"agreement": "test-front", "report_id": "u-16", "reason": "wrong place"}),
    );
    let after = report_json(&data);
    assert_eq!(
        after["inputs"]["log"]["retracted"],
        json!([{"report_id": "u-16", "log_index": at["u-16"], "retraction_index": retraction_index}])
    );
    assert_eq!(after["coverage"]["observation"]["incidents"], 4);
    assert_same_findings(&after, &url);
    assert_assess_matches_service(&data, &url);
    drop(server);
}

#[test]
fn a_directory_that_is_not_a_data_directory_is_named() {
    let temp = tempfile::tempdir().unwrap();
    let error = fails(&["report", "--data", temp.path().to_str().unwrap()]);
    assert!(error.contains("is not a truce data directory"), "{error}");
    assert!(error.contains("checkpoint"), "{error}");
}

#[test]
fn a_directory_whose_record_is_in_the_database_says_so() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(temp.path().join("log.key"), "key").unwrap();
    for command in ["report", "assess"] {
        let error = fails(&[command, "--data", temp.path().to_str().unwrap()]);
        assert!(error.contains("holds only the log's key"), "{error}");
        assert!(error.contains("PostgreSQL"), "{error}");
    }
}

#[test]
fn a_coverage_file_in_batch_mode() {
    let temp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let agreement = root.join("examples/easter-truce-2025/agreement.toml");
    let reports = root.join("examples/easter-truce-2025/reports.csv");
    let coverage = temp.path().join("coverage.csv");
    std::fs::write(
        &coverage,
        "coverage_id,observer,kind,start,end,area,restricted_by\n\
         p-1,osce-1,patrol,2025-04-19T18:00:00+03:00,2025-04-20T06:00:00+03:00,37.0 48.0 37.5 48.5,\n\
         d-1,osce-1,jamming,2025-04-20T10:00:00+03:00,2025-04-20T11:30:00+03:00,\"37.0,48.0,37.5,48.5\",RU\n",
    )
    .unwrap();
    let args = |coverage: &Path| {
        vec![
            "report".to_owned(),
            agreement.to_str().unwrap().to_owned(),
            reports.to_str().unwrap().to_owned(),
            "--coverage".to_owned(),
            coverage.to_str().unwrap().to_owned(),
            "--format".to_owned(),
            "json".to_owned(),
        ]
    };
    let owned = args(&coverage);
    let borrowed: Vec<&str> = owned.iter().map(String::as_str).collect();
    let report: Value = serde_json::from_str(&succeeds(&borrowed)).unwrap();
    let section = &report["coverage"];
    assert_eq!(section["records"], 2);
    assert!(
        section["statement"]
            .as_str()
            .unwrap()
            .starts_with("2 coverage records from the file "),
        "{section}"
    );
    assert_eq!(section["observation"]["covered_hours"], 12.0);
    assert_eq!(section["access"][0]["party"], "RU");
    assert_eq!(section["access"][0]["jamming"], 1);
    assert_eq!(section["access"][0]["hours"], 1.5);
    assert_eq!(report["inputs"]["coverage_files"][0]["records"], 2);
    assert!(report["inputs"].get("log").is_none());
    // Listed findings carry no log index in batch mode.
    for finding in report["readings"][0]["violations"]["shown"]
        .as_array()
        .unwrap()
    {
        assert!(finding.get("log_indices").is_none(), "{finding}");
    }

    // A bad row is named by file, line and column, and nothing is written.
    let bad = temp.path().join("bad.csv");
    std::fs::write(
        &bad,
        "coverage_id,observer,kind,start,end,area\n\
         p-1,osce-1,patrol,2025-04-19T18:00:00+03:00,2025-04-19,37.0 48.0 37.5 48.5\n\
         p-2,osce-1,camera,2025-04-19T18:00:00+03:00,2025-04-20T06:00:00+03:00,front\n",
    )
    .unwrap();
    let out = temp.path().join("report.md");
    let mut owned = args(&bad);
    owned.extend(["--out".to_owned(), out.to_str().unwrap().to_owned()]);
    let borrowed: Vec<&str> = owned.iter().map(String::as_str).collect();
    let error = fails(&borrowed);
    assert!(
        error.contains("has 3 problem(s); nothing was written"),
        "{error}"
    );
    assert!(error.contains("bad.csv:2: end = \"2025-04-19\""), "{error}");
    assert!(error.contains("bad.csv:3: kind = \"camera\""), "{error}");
    assert!(
        error.contains(
            "bad.csv:3: area = \"front\": unknown zone `front`: the agreement has no zones"
        ),
        "{error}"
    );
    assert!(!out.exists());
}
