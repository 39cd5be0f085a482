//! The service on PostgreSQL, through the router: registrations, submissions and every
//! kind of read with filters give the same answers after a restart on the same data
//! directory and database, and the same answers as on SQLite over the same log, both
//! ways (a log written on PostgreSQL served from SQLite, and one written on SQLite served
//! from PostgreSQL). Then `truce migrate`'s library half: a store replayed into an empty
//! database answers every store query as the SQLite store does, and a database that is
//! not empty is refused.
//!
//! Needs `TRUCE_TEST_POSTGRES_URL` (see `common/pg.rs`); without it each test says it was
//! skipped and passes, unless `TRUCE_REQUIRE_POSTGRES=1`.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::path::Path;

use axum::Router;
use common::{AGREEMENT, Keys, config, get, open, populate, post, report_at};
use pg::Database;
use serde_json::{Value, json};
use truce_server::migrate::{MigrateError, compare_stores, copy_nonces, replay_into_empty};
use truce_server::{DatabaseUrl, ServerConfig};
use truce_store::{AnyStore, PgStore, SqliteStore, Store};

/// The service's configuration on `dir` with its store in `database` (SQLite in `dir`
/// when `None`).
fn on(dir: &Path, keys: &Keys, database: Option<&Database>) -> ServerConfig {
    ServerConfig {
        database: database.map(|db| DatabaseUrl::new(db.url.clone())),
        ..config(dir, &keys.admin)
    }
}

/// Registrations, the agreement, reports from the monitor and both parties (one batch),
/// a review and a retraction.
async fn submit_everything(router: &Router, keys: &Keys) {
    populate(router, keys).await;
    post(
        router,
        "/v1/reports",
        &report_at("m1", 30.74, 46.49, 7, Some("RU")),
        &keys.monitor,
    )
    .await
    .expect(201);
    post(
        router,
        "/v1/reports/batch",
        &json!([
            report_at("u1", 30.742, 46.491, 7, Some("RU")),
            report_at("u2", 30.76, 46.50, 8, Some("RU")),
            report_at("u3", 31.5, 46.6, 2, None),
        ]),
        &keys.ua,
    )
    .await
    .expect(201);
    post(
        router,
        "/v1/reports",
        &report_at("k1", 36.23, 49.99, 7, Some("UA")),
        &keys.ru,
    )
    .await
    .expect(201);
    post(
        router,
        "/v1/reports",
        &report_at("k2", 30.741, 46.4905, 7, Some("UA")),
        &keys.ru,
    )
    .await
    .expect(201);
    post(
        router,
        "/v1/reviews",
        &json!({"review_id": "rv1", "decision": "confirm", "reports": ["m1"]}),
        &keys.monitor,
    )
    .await
    .expect(201);
    post(
        router,
        "/v1/retractions",
        &json!({"agreement": AGREEMENT, "report_id": "u3", "reason": "wrong place"}),
        &keys.ua,
    )
    .await
    .expect(201);
}

/// The paths every reader asks.
fn questions() -> Vec<String> {
    let incidents = format!("/v1/agreements/{AGREEMENT}/incidents");
    let mut paths = vec![
        "/v1/sources".to_owned(),
        "/v1/agreements".to_owned(),
        format!("/v1/agreements/{AGREEMENT}"),
        "/v1/reports".to_owned(),
        "/v1/reports?limit=2".to_owned(),
        format!("/v1/reports?agreement={AGREEMENT}&bbox=30.7,46.45,30.75,46.495"),
        "/v1/reports?bbox=36,49,37,51".to_owned(),
        "/v1/reports?party=UA".to_owned(),
        "/v1/reports?party=RU&source_kind=party".to_owned(),
        "/v1/reports?actor=RU".to_owned(),
        "/v1/reports?zone=black-sea".to_owned(),
        "/v1/reports?from=2025-04-07T00:00:00Z&to=2025-04-07T23:59:59Z".to_owned(),
        "/v1/reports?verdict=violation&interpretation=UA".to_owned(),
        "/v1/reports?verdict=alleged".to_owned(),
        "/v1/reports/3".to_owned(),
        incidents.clone(),
        format!("{incidents}?limit=1"),
        format!("{incidents}?bbox=30.7,46.45,30.8,46.55"),
        format!("{incidents}?party=RU"),
        format!("{incidents}?interpretation=UA&verdict=violation"),
        format!("{incidents}?verdict=disputed"),
        format!("{incidents}?zone=black-sea&from=2025-04-07T00:00:00Z"),
        format!("/v1/agreements/{AGREEMENT}/statistics?group_by=party,verdict"),
        format!("/v1/agreements/{AGREEMENT}/statistics?group_by=day,zone&interpretation=UA"),
        "/v1/annotations?subject=m1".to_owned(),
        "/v1/annotations?subject=u3".to_owned(),
        "/v1/annotations?subject=rv1".to_owned(),
    ];
    paths.extend(["inc-k2", "inc-k1", "inc-u2"].map(|incident| format!("{incidents}/{incident}")));
    paths
}

/// Every answer, as the admin, a party and the public see it: (who, path, status, body).
async fn answers(router: &Router, keys: &Keys) -> Vec<(String, String, u16, Value)> {
    let mut seen = Vec::new();
    for path in questions() {
        for (who, signer) in [
            ("admin", Some(&keys.admin)),
            ("ua", Some(&keys.ua)),
            ("public", None),
        ] {
            let answer = get(router, &path, signer).await;
            seen.push((
                who.to_owned(),
                path.clone(),
                answer.status.as_u16(),
                answer.json(),
            ));
        }
    }
    // Following the cursors of a small page gives every report.
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/reports?limit=2&cursor={cursor}"),
            None => "/v1/reports?limit=2".to_owned(),
        };
        let page = get(router, &path, None).await.expect(200).json();
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        seen.push(("public".to_owned(), path, 200, page));
        if cursor.is_none() {
            break;
        }
    }
    seen
}

/// Checks that the answers say something: filters select, the scenario's incidents exist.
fn assert_meaningful(answers: &[(String, String, u16, Value)]) {
    let find = |path: &str| {
        answers
            .iter()
            .find(|(who, at, ..)| who == "admin" && at == path)
            .unwrap_or_else(|| panic!("no answer to {path}"))
    };
    let count = |path: &str| {
        let (_, _, status, body) = find(path);
        assert_eq!(*status, 200, "{path}: {body:#}");
        body["items"].as_array().unwrap().len()
    };
    assert_eq!(count("/v1/reports"), 6);
    assert_eq!(count("/v1/reports?bbox=36,49,37,51"), 1);
    assert_eq!(count("/v1/reports?party=UA"), 3);
    assert_eq!(count("/v1/reports?actor=RU"), 3);
    let incidents = format!("/v1/agreements/{AGREEMENT}/incidents");
    assert!(count(&incidents) >= 3);
    assert!(count(&format!("{incidents}?bbox=30.7,46.45,30.8,46.55")) < count(&incidents));
    assert!(count(&format!("{incidents}?party=RU")) >= 1);
    let (_, _, _, list) = find(&incidents);
    assert_eq!(find(&format!("{incidents}/inc-k2")).2, 200, "{list:#}");
    let (_, _, _, annotations) = find("/v1/annotations?subject=m1");
    assert!(
        !annotations["annotations"].as_array().unwrap().is_empty(),
        "{annotations:#}"
    );
}

/// Opens a service with `config`, returns its answers and shuts it down.
async fn answers_of(config: ServerConfig, keys: &Keys) -> Vec<(String, String, u16, Value)> {
    let (service, router) = open(config).await;
    let seen = answers(&router, keys).await;
    drop(router);
    service.shutdown().await.unwrap();
    seen
}

/// Writes the scenario through a service with `config`; returns its answers.
async fn write_and_answer(config: ServerConfig, keys: &Keys) -> Vec<(String, String, u16, Value)> {
    let (service, router) = open(config).await;
    submit_everything(&router, keys).await;
    let seen = answers(&router, keys).await;
    drop(router);
    service.shutdown().await.unwrap();
    seen
}

/// The first answer that differs, for a readable failure.
fn assert_same(left: &[(String, String, u16, Value)], right: &[(String, String, u16, Value)]) {
    assert_eq!(left.len(), right.len());
    for (a, b) in left.iter().zip(right) {
        assert_eq!(a, b, "{} asking {} got different answers", a.0, a.1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_serves_what_sqlite_serves() {
    let Some(db) = Database::create("serves").await else {
        return;
    };
    let keys = Keys::new();

    // Written on PostgreSQL through the router.
    let dir = tempfile::tempdir().unwrap();
    let written = write_and_answer(on(dir.path(), &keys, Some(&db)), &keys).await;
    assert_meaningful(&written);
    assert!(
        !dir.path().join(truce_store::DATABASE_FILE).exists(),
        "a PostgreSQL service made an SQLite store"
    );
    // A restart on the same directory and database.
    let restarted = answers_of(on(dir.path(), &keys, Some(&db)), &keys).await;
    assert_same(&written, &restarted);
    // The same log served from SQLite (built by the catch-up).
    let from_sqlite = answers_of(on(dir.path(), &keys, None), &keys).await;
    assert_same(&written, &from_sqlite);

    // Written on SQLite through the router, then served from a new PostgreSQL database.
    let dir = tempfile::tempdir().unwrap();
    let on_sqlite = write_and_answer(on(dir.path(), &keys, None), &keys).await;
    assert_meaningful(&on_sqlite);
    let Some(second) = Database::create("caughtup").await else {
        return;
    };
    let from_postgres = answers_of(on(dir.path(), &keys, Some(&second)), &keys).await;
    assert_same(&on_sqlite, &from_postgres);
    // And once more after a restart on that database.
    let again = answers_of(on(dir.path(), &keys, Some(&second)), &keys).await;
    assert_same(&on_sqlite, &again);
    // The two runs differ only in the submission times the journal holds: the lists
    // with no times agree too.
    let ids = |seen: &[(String, String, u16, Value)]| {
        seen.iter()
            .filter(|(who, path, ..)| who == "public" && path.contains("/incidents?"))
            .map(|(_, path, _, body)| {
                (
                    path.clone(),
                    body["items"]
                        .as_array()
                        .map(|items| items.iter().map(|item| item["id"].clone()).collect())
                        .unwrap_or_else(Vec::new),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&written), ids(&on_sqlite));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_database_url_is_named_without_its_password() {
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), &keys.admin);
    config.database = Some(DatabaseUrl::new("mysql://root:pa55word@db/truce"));
    let error =
        truce_server::Service::open(config, std::sync::Arc::new(truce_server::NoAppliedEntries))
            .await
            .unwrap_err();
    let text = format!("{error}");
    assert!(text.contains("mysql://root:***@db/truce"), "{text}");
    assert!(text.contains("not supported"), "{text}");
    assert!(!text.contains("pa55word"), "{text}");
    // Unreachable PostgreSQL: named, password left out, in every cause.
    let mut config = common::config(dir.path(), &keys.admin);
    config.database = Some(DatabaseUrl::new(
        "postgres://truce:pa55word@127.0.0.1:1/truce?connect_timeout=2",
    ));
    let error =
        truce_server::Service::open(config, std::sync::Arc::new(truce_server::NoAppliedEntries))
            .await
            .unwrap_err();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    assert!(
        text.contains("postgres://truce:***@127.0.0.1:1/truce"),
        "{text}"
    );
    assert!(!text.contains("pa55word"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_replayed_into_postgres_answers_as_sqlite_and_a_used_one_is_refused() {
    let Some(db) = Database::create("migrate").await else {
        return;
    };
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    write_and_answer(on(dir.path(), &keys, None), &keys).await;

    let sqlite = SqliteStore::open(dir.path()).await.unwrap();
    let target = AnyStore::open(Some(&db.url), dir.path()).await.unwrap();
    let replay = replay_into_empty(dir.path(), &target).await.unwrap();
    assert!(!replay.subjects.is_empty());
    assert!(!replay.receipts.is_empty());
    copy_nonces(&sqlite, &target).await.unwrap();
    let matched = compare_stores(&sqlite, &target, &replay)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(matched.applied, sqlite.applied_size().await.unwrap());
    assert_eq!(matched.reports, 6);

    // Not empty any more: refused, naming what it holds.
    let error = replay_into_empty(dir.path(), &target).await.unwrap_err();
    assert!(matches!(error, MigrateError::NotEmpty { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains(&format!("{} applied log entries", matched.applied)),
        "{error}"
    );

    // A store that differs is caught: one nonce more in PostgreSQL.
    let extra = truce_store::SeenNonce {
        key: "mission.example/extra".to_owned(),
        nonce_hex: "00".repeat(16),
        ts_ms: 1,
    };
    let handle = PgStore::connect(&db.url).await.unwrap();
    handle.remember_nonces(&[extra]).await.unwrap();
    handle.close().await;
    let difference = compare_stores(&sqlite, &target, &replay)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(difference.question, "the nonces remembered");
    target.close().await;
    sqlite.close().await;
}
