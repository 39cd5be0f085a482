//! `truce migrate` on the real binary: a service on SQLite takes submissions, is stopped,
//! its store is moved to PostgreSQL, and `truce serve --database` serves the same answers;
//! a target that is not empty is refused, naming what it holds; the password of the URL is
//! never printed; `truce backup` refuses a PostgreSQL-backed deployment with advice.
//!
//! Needs `TRUCE_TEST_POSTGRES_URL` (see the service's `tests/common/pg.rs`); without it the
//! tests say they were skipped and pass, unless `TRUCE_REQUIRE_POSTGRES=1`.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "../../truce-server/tests/common/pg.rs"]
mod pg;

use std::path::{Path, PathBuf};

use common::service::{Server, fails, get, key, succeeds};
use pg::Database;
use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/black-sea-2025")
}

/// A database of the test's own, made on a runtime of its own.
fn database(tag: &str) -> Option<Database> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(Database::create(tag))
}

/// `url` with a password for its user (the throwaway server trusts loopback connections,
/// so any password is accepted, and the tests can check it is never shown).
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    match rest.split_once('@') {
        Some((user, host)) if !user.contains(':') => {
            format!("{scheme}://{user}:{password}@{host}")
        }
        _ => url.to_owned(),
    }
}

/// What readers are answered: reports, incidents and findings, statistics, sources.
fn answers(url: &str) -> Vec<Value> {
    [
        "/v1/sources",
        "/v1/agreements",
        "/v1/reports",
        "/v1/reports?bbox=30,46,31,47&limit=3",
        "/v1/reports?party=UA",
        "/v1/agreements/black-sea-2025/incidents",
        "/v1/agreements/black-sea-2025/incidents?party=RU",
        "/v1/agreements/black-sea-2025/incidents?interpretation=UA&verdict=violation",
        "/v1/agreements/black-sea-2025/statistics?group_by=party,verdict",
    ]
    .iter()
    .map(|path| {
        let (status, body) = get(&format!("{url}{path}")).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        body
    })
    .collect()
}

/// The line of `printed` that starts with `prefix`.
fn line<'a>(printed: &'a str, prefix: &str) -> &'a str {
    printed
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in {printed}"))
}

#[test]
fn a_stopped_deployment_moves_to_postgres_and_serves_the_same_findings() {
    let Some(db) = database("migratecli") else {
        return;
    };
    let secret = "cli-test-pw-7";
    let target = with_password(&db.url, secret);
    let temp = tempfile::tempdir().unwrap();
    let keys = temp.path().join("keys");
    let data = temp.path().join("data");
    let (admin, admin_pub) = key(&keys, "mission.example/admin");
    let (ua, ua_pub) = key(&keys, "ua.example/liaison");

    // On SQLite: a source, the agreement, the example reports.
    let server = Server::start_unlimited(&data, &admin_pub);
    succeeds(&[
        "submit",
        "--key",
        &admin,
        "--url",
        &server.url,
        "source",
        &ua_pub,
        "--kind",
        "party",
        "--party",
        "UA",
    ]);
    let agreement = examples().join("agreement.toml");
    succeeds(&[
        "submit",
        "--key",
        &admin,
        "--url",
        &server.url,
        "agreement",
        agreement.to_str().unwrap(),
    ]);
    let reports = examples().join("reports.csv");
    succeeds(&[
        "submit",
        "--key",
        &ua,
        "--url",
        &server.url,
        "reports",
        reports.to_str().unwrap(),
        "--agreement",
        "black-sea-2025",
        "--batch",
        "3",
    ]);
    let retraction = temp.path().join("retraction.json");
    std::fs::write(
        &retraction,
        r#"{"agreement": "black-sea-2025", "report_id": "bs-02", "reason": "wrong day"}"#,
    )
    .unwrap();
    succeeds(&[
        "submit",
        "--key",
        &ua,
        "--url",
        &server.url,
        "annotation",
        "retraction",
        retraction.to_str().unwrap(),
    ]);
    let before = answers(&server.url);
    assert_eq!(before[2]["items"].as_array().unwrap().len(), 7);
    assert!(!before[5]["items"].as_array().unwrap().is_empty());
    server.terminate();

    // The move.
    let data_arg = data.to_str().unwrap();
    let printed = succeeds(&["migrate", "--data", data_arg, "--to", &target]);
    assert!(!printed.contains(secret), "{printed}");
    let log_before = line(&printed, "log before: ");
    let log_after = line(&printed, "log after: ");
    assert_eq!(
        log_before.trim_start_matches("log before: "),
        log_after.trim_start_matches("log after: ")
    );
    assert!(log_before.contains("size 12, root "), "{printed}");
    let summary = line(&printed, "migrated ");
    assert!(summary.contains("12 log entries"), "{summary}");
    assert!(summary.contains("1 annotations"), "{summary}");
    assert!(summary.contains("7 reports"), "{summary}");
    assert!(
        summary.contains("both stores give the same answers"),
        "{summary}"
    );
    assert!(summary.contains(":***@"), "{summary}");

    // Served from PostgreSQL: the same answers, and later submissions work.
    let server = Server::start(&data, &["--database", &target]);
    assert_eq!(answers(&server.url), before);
    assert!(!server.server_log().contains(secret));
    server.terminate();

    // Again into the same database: refused, naming what it holds.
    let refused = fails(&["migrate", "--data", data_arg, "--to", &target]);
    assert!(
        refused.contains("the target store is not empty"),
        "{refused}"
    );
    assert!(refused.contains("12 applied log entries"), "{refused}");
    assert!(!refused.contains(secret), "{refused}");

    // `truce backup` of the deployment now on PostgreSQL: refused with advice.
    let backup = temp.path().join("backup");
    let refused = fails(&[
        "backup",
        "--data",
        data_arg,
        "--out",
        backup.to_str().unwrap(),
        "--database",
        &target,
    ]);
    assert!(refused.contains("pg_dump"), "{refused}");
    assert!(refused.contains("base backups"), "{refused}");
    assert!(!refused.contains(secret), "{refused}");
    assert!(!backup.exists());
}

#[test]
fn a_directory_without_a_log_or_a_sqlite_store_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let refused = fails(&[
        "migrate",
        "--data",
        temp.path().to_str().unwrap(),
        "--to",
        "postgres://truce:never-shown@127.0.0.1:1/truce",
    ]);
    assert!(refused.contains("not a truce data directory"), "{refused}");
    assert!(!refused.contains("never-shown"), "{refused}");
}
