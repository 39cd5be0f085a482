//! The record in the database (`record = "database"`): the log, the journal and the report
//! texts live in PostgreSQL beside the store, so the data directory holds only the log's
//! key. A restart (and a store rebuilt from nothing) answers as before from the database
//! alone; a crash loses nothing acknowledged and the next instance takes the lease over
//! once it expires; a second instance waits for the lease while the first holds it and
//! takes over when it is released, and clients feeding both concurrently across the
//! takeover get every report logged once, with the incidents and findings of the batch job
//! over them; a leader whose lease was taken stops accepting writes.
//!
//! Needs `TRUCE_TEST_POSTGRES_URL` (see `common/pg.rs`); without it each test says it was
//! skipped and passes, unless `TRUCE_REQUIRE_POSTGRES=1`.

#![allow(clippy::unwrap_used)]

#[path = "common/batch.rs"]
mod batch;
mod common;
#[path = "common/pg.rs"]
mod pg;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use common::{
    ACTIONS, AGREEMENT, Call, Keys, SPOTS, TARGETS, config, get, open, populate, post, report_at,
};
use pg::Database;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, PgPool};
use truce_log::TilePath;
use truce_server::{DatabaseUrl, NoAppliedEntries, RecordPlace, ServerConfig, Service};

/// The lease the tests run with: short, so that takeovers are quick.
const LEASE_MS: u64 = 1000;

/// A service on `dir` keeping its store and its record in `db`.
fn on(dir: &Path, keys: &Keys, db: &Database) -> ServerConfig {
    ServerConfig {
        database: Some(DatabaseUrl::new(db.url.clone())),
        record: RecordPlace::Database,
        sequencer_lease_ms: LEASE_MS,
        ..config(dir, &keys.admin)
    }
}

/// Registrations, the agreement, reports from the monitor and both parties, a review.
async fn submit_scenario(router: &Router, keys: &Keys) {
    populate(router, keys).await;
    for (id, lon, lat, day, accused, signer) in [
        ("m1", 30.74, 46.49, 7, Some("RU"), &keys.monitor),
        ("u1", 30.742, 46.491, 7, Some("RU"), &keys.ua),
        ("k1", 36.23, 49.99, 7, Some("UA"), &keys.ru),
        ("k2", 30.741, 46.4905, 7, Some("UA"), &keys.ru),
    ] {
        post(
            router,
            "/v1/reports",
            &report_at(id, lon, lat, day, accused),
            signer,
        )
        .await
        .expect(201);
    }
    post(
        router,
        "/v1/reports/batch",
        &json!([
            report_at("u2", 30.76, 46.50, 8, Some("RU")),
            report_at("u3", 31.5, 46.6, 2, None),
        ]),
        &keys.ua,
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
}

/// What readers see: store reads, texts, live incidents and statistics, the checkpoint.
async fn snapshot(router: &Router, keys: &Keys) -> Vec<(String, Value)> {
    let mut seen = Vec::new();
    for path in [
        "/v1/sources".to_owned(),
        "/v1/agreements".to_owned(),
        format!("/v1/agreements/{AGREEMENT}"),
        "/v1/reports".to_owned(),
        "/v1/annotations?subject=m1".to_owned(),
        format!("/v1/agreements/{AGREEMENT}/incidents"),
        format!("/v1/agreements/{AGREEMENT}/statistics?group_by=party,verdict"),
    ] {
        let admin = get(router, &path, Some(&keys.admin)).await.expect(200);
        seen.push((format!("admin {path}"), admin.json()));
        let public = get(router, &path, None).await;
        if public.status == 200 {
            seen.push((format!("public {path}"), public.json()));
        }
    }
    let checkpoint = get(router, "/v1/log/checkpoint", None).await.expect(200);
    seen.push(("checkpoint".into(), json!(checkpoint.text())));
    seen
}

fn assert_same(left: &[(String, Value)], right: &[(String, Value)]) {
    assert_eq!(left.len(), right.len());
    for (a, b) in left.iter().zip(right) {
        assert_eq!(a, b, "{} differs", a.0);
    }
}

/// The names in the data directory.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

async fn pool(db: &Database) -> PgPool {
    PgPool::connect(&db.url).await.unwrap()
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn published(pool: &PgPool) -> Vec<u8> {
    sqlx::query_scalar("SELECT note FROM log_checkpoints WHERE kind = 'published'")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// (holder, token) of the lease row.
async fn lease(pool: &PgPool) -> (Option<String>, i64) {
    sqlx::query_as("SELECT holder, token FROM log_sequencer WHERE id = 1")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Empties the store's projection (every table but the record's and the bookkeeping of
/// migrations and PostGIS) and sets its applied size to 0: a store that knows nothing.
async fn forget_the_store(pool: &PgPool) {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
         AND tablename NOT LIKE 'log\\_%' \
         AND tablename NOT IN ('store_state', '_sqlx_migrations', 'spatial_ref_sys')",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(tables.iter().any(|table| table == "reports"), "{tables:?}");
    sqlx::query(AssertSqlSafe(format!(
        "TRUNCATE {} CASCADE",
        tables.join(", ")
    )))
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE store_state SET applied_size = 0")
        .execute(pool)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_lives_in_the_database_and_a_restart_needs_nothing_else() {
    let Some(db) = Database::create("record").await else {
        return;
    };
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    let (service, router) = open(on(dir.path(), &keys, &db)).await;
    submit_scenario(&router, &keys).await;
    let resent = Call::new("POST", "/v1/reports")
        .json(&report_at("m9", 30.75, 46.5, 9, Some("RU")))
        .by(&keys.monitor);
    let receipt = resent.send(&router).await.expect(201).json();
    let before = snapshot(&router, &keys).await;
    let size = service.state().log_size();
    // The log's files are read from the database (the entry bundle of the tree so far).
    let bundle = TilePath::parse(&format!("tile/entries/000.p/{size}")).unwrap();
    let bytes = service.state().read_tile(bundle).await.unwrap().unwrap();
    assert!(bytes.len() > usize::try_from(size).unwrap());
    let beyond = TilePath::parse("tile/entries/001").unwrap();
    assert_eq!(service.state().read_tile(beyond).await.unwrap(), None);
    // And served by the tile endpoint from there.
    let served = get(&router, &format!("/v1/log/tile/entries/000.p/{size}"), None)
        .await
        .expect(200);
    assert_eq!(served.body, bytes);
    let level0 = get(&router, &format!("/v1/log/tile/0/000.p/{size}"), None)
        .await
        .expect(200);
    assert_eq!(level0.body.len(), 32 * usize::try_from(size).unwrap());
    get(&router, "/v1/log/tile/0/001", None).await.expect(404);
    drop(router);
    service.shutdown().await.unwrap();

    // Only the key is in the directory; the record is in the database.
    assert_eq!(names_in(dir.path()), [truce_server::LOG_KEY_FILE]);
    let db_pool = pool(&db).await;
    assert_eq!(
        count(&db_pool, "log_journal").await,
        i64::try_from(size).unwrap()
    );
    // The texts (one a report) and the agreement's two files.
    assert!(count(&db_pool, "log_blobs").await >= 7 + 2);
    assert_eq!(lease(&db_pool).await.0, None, "the lease was not released");

    // A restart answers the same, a resent request gets its receipt back.
    let (service, router) = open(on(dir.path(), &keys, &db)).await;
    assert_eq!(service.state().log_size(), size);
    assert_same(&before, &snapshot(&router, &keys).await);
    let again = resent.send(&router).await.expect(200).json();
    assert_eq!(
        again["receipts"][0]["index"],
        receipt["receipts"][0]["index"]
    );
    drop(router);
    service.shutdown().await.unwrap();

    // A store that lost everything is rebuilt from the database's log and journal:
    // exact positions, submitters and texts included.
    forget_the_store(&db_pool).await;
    let (service, router) = open(on(dir.path(), &keys, &db)).await;
    assert_same(&before, &snapshot(&router, &keys).await);
    // And it goes on: a new report on the rebuilt state.
    post(
        &router,
        "/v1/reports",
        &report_at("m10", 30.7401, 46.4901, 7, Some("RU")),
        &keys.monitor,
    )
    .await
    .expect(201);
    assert_eq!(service.state().log_size(), size + 1);
    drop(router);
    service.shutdown().await.unwrap();
    db_pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_waits_for_the_lease_then_takes_over() {
    let Some(db) = Database::create("standby").await else {
        return;
    };
    let keys = Keys::new();
    let first_dir = tempfile::tempdir().unwrap();
    let (first, first_router) = open(on(first_dir.path(), &keys, &db)).await;
    submit_scenario(&first_router, &keys).await;
    let db_pool = pool(&db).await;
    let (leader, token) = lease(&db_pool).await;
    let leader = leader.unwrap();

    // The second instance has its own directory with a copy of the key.
    let second_dir = common::with_the_key_of(first_dir.path());
    let second_config = on(second_dir.path(), &keys, &db);
    let second = tokio::spawn(Service::open(second_config, Arc::new(NoAppliedEntries)));

    // Well past several lease periods the first still leads and writes; the second waits.
    for (round, day) in (0..3).zip(10..) {
        tokio::time::sleep(Duration::from_millis(LEASE_MS)).await;
        post(
            &first_router,
            "/v1/reports",
            &report_at(&format!("w{round}"), 30.9, 46.7, day, Some("RU")),
            &keys.monitor,
        )
        .await
        .expect(201);
    }
    assert!(!second.is_finished(), "the second instance did not wait");
    assert_eq!(lease(&db_pool).await, (Some(leader.clone()), token));
    let before = snapshot(&first_router, &keys).await;
    let size = first.state().log_size();
    let journal = count(&db_pool, "log_journal").await;
    assert_eq!(journal, i64::try_from(size).unwrap());

    // The first shuts down and releases the lease: the second opens at once.
    drop(first_router);
    first.shutdown().await.unwrap();
    let released = Instant::now();
    let second = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("the second instance did not take over")
        .unwrap()
        .unwrap();
    assert!(second.wait_ready(Duration::from_secs(20)).await);
    assert!(released.elapsed() < Duration::from_millis(5 * LEASE_MS));
    let (holder, new_token) = lease(&db_pool).await;
    assert_ne!(holder.as_deref(), Some(leader.as_str()));
    assert_eq!(new_token, token + 1);
    let router = truce_server::app(second.state());
    assert_eq!(second.state().log_size(), size);
    assert_same(&before, &snapshot(&router, &keys).await);
    // The new leader appends after what the first logged.
    let added = post(
        &router,
        "/v1/reports",
        &report_at("after", 30.91, 46.71, 14, Some("RU")),
        &keys.monitor,
    )
    .await
    .expect(201)
    .json();
    assert_eq!(added["receipts"][0]["index"], json!(size));
    drop(router);
    second.shutdown().await.unwrap();
    db_pool.close().await;
}

/// The `n`th report of a deterministic mix: four spots (three that corroborate), two
/// days, several actions, targets and accusations.
fn mixed_report(n: usize) -> Value {
    const ACCUSED: [Option<&str>; 3] = [Some("RU"), None, Some("UA")];
    let (lon, lat) = SPOTS[n % SPOTS.len()];
    let day = 7 + (n / 7) % 2;
    let radius = [200, 800, 3000][n % 3];
    json!({
        "agreement": AGREEMENT,
        "id": format!("mix-{n:03}"),
        "time": format!("2025-04-{day:02}T06:{:02}:00Z", (n * 7) % 50),
        "lon": lon + (n % 5) as f64 * 0.0003,
        "lat": lat,
        "uncertainty_m": radius,
        "action": ACTIONS[(n / 4) % ACTIONS.len()],
        "target": TARGETS[(n / 3) % TARGETS.len()],
        "accused": ACCUSED[(n / 2) % ACCUSED.len()],
    })
}

/// Sends `call` to whichever instance takes it: the first while it accepts writes, then the
/// second once it has opened; the same signed request each time, until it is answered with
/// receipts (201, or 200 for a request already logged).
async fn submit_to_the_leader(
    call: &Call<'_>,
    first: &Router,
    second: &tokio::sync::watch::Receiver<Option<Router>>,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "{} was never logged", call.path);
        let answer = call.send(first).await;
        if matches!(answer.status.as_u16(), 200 | 201) {
            return answer.json();
        }
        let standby = second.borrow().clone();
        if let Some(router) = standby {
            let answer = call.send(&router).await;
            if matches!(answer.status.as_u16(), 200 | 201) {
                return answer.json();
            }
            assert_eq!(answer.status.as_u16(), 503, "{}", answer.text());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_feeding_two_instances_across_a_takeover_get_the_batch_jobs_findings() {
    let Some(db) = Database::create("feed").await else {
        return;
    };
    let keys = Arc::new(Keys::new());
    let first_dir = tempfile::tempdir().unwrap();
    let (first, first_router) = open(on(first_dir.path(), &keys, &db)).await;
    populate(&first_router, &keys).await;
    let second_dir = common::with_the_key_of(first_dir.path());
    let (opened, second_router) = tokio::sync::watch::channel(None::<Router>);
    let second = tokio::spawn({
        let config = on(second_dir.path(), &keys, &db);
        async move {
            let service = Service::open(config, Arc::new(NoAppliedEntries))
                .await
                .unwrap();
            assert!(service.wait_ready(Duration::from_secs(20)).await);
            opened.send_replace(Some(truce_server::app(service.state())));
            service
        }
    });

    // Three clients, one per source, each sending its reports one at a time.
    const REPORTS: usize = 60;
    let mut clients = tokio::task::JoinSet::new();
    for source in 0..3 {
        let (keys, first_router, second_router) = (
            Arc::clone(&keys),
            first_router.clone(),
            second_router.clone(),
        );
        clients.spawn(async move {
            let (signer, kind, party) = common::submitter(&keys, source);
            let mut logged = Vec::new();
            for n in (source..REPORTS).step_by(3) {
                let value = mixed_report(n);
                let call = Call::new("POST", "/v1/reports").json(&value).by(signer);
                let answer = submit_to_the_leader(&call, &first_router, &second_router).await;
                let index = answer["receipts"][0]["index"].as_u64().unwrap();
                logged.push((
                    index,
                    batch::read_as_batch_input(&value, signer, kind, party),
                ));
            }
            logged
        });
    }
    // A third of the way in, the first instance shuts down (answering what it took) and
    // the second, which was waiting for the lease, takes over.
    while first.state().log_size() < 6 + REPORTS as u64 / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let taken_at = first.state().log_size();
    first.shutdown().await.unwrap();
    let mut logged = Vec::new();
    while let Some(client) = clients.join_next().await {
        logged.extend(client.unwrap());
    }
    let second = second.await.unwrap();
    let router = second_router.borrow().clone().unwrap();

    // Every report logged exactly once, some by each instance.
    logged.sort_by_key(|(index, _)| *index);
    let indexes: std::collections::BTreeSet<u64> = logged.iter().map(|(index, _)| *index).collect();
    assert_eq!(indexes.len(), REPORTS);
    assert!(indexes.iter().any(|index| *index < taken_at));
    assert!(indexes.iter().any(|index| *index >= taken_at));
    assert_eq!(second.state().log_size(), indexes.last().unwrap() + 1);
    let reports: Vec<_> = logged.into_iter().map(|(_, report)| report).collect();
    // The live incidents and findings of the second are the batch job's over them all.
    let served = batch::served(&router, &keys.admin).await;
    let incidents = served.as_array().unwrap().len();
    assert!(
        (2..REPORTS).contains(&incidents),
        "{incidents} incidents: nothing corroborated"
    );
    assert_eq!(
        served.as_array().unwrap().len(),
        batch::judged(&reports).as_array().unwrap().len()
    );
    assert_eq!(
        batch::canonical(&served),
        batch::canonical(&batch::judged(&reports))
    );
    drop(router);
    drop(first_router);
    second.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_lease_was_taken_writes_nothing_more() {
    let Some(db) = Database::create("fenced").await else {
        return;
    };
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    let (service, router) = open(on(dir.path(), &keys, &db)).await;
    populate(&router, &keys).await;
    post(
        &router,
        "/v1/reports",
        &report_at("m1", 30.74, 46.49, 7, Some("RU")),
        &keys.monitor,
    )
    .await
    .expect(201);
    let db_pool = pool(&db).await;
    let checkpoint = published(&db_pool).await;
    let journal = count(&db_pool, "log_journal").await;

    // Another instance takes the lease (as after this one was paused past its expiry).
    sqlx::query(
        "UPDATE log_sequencer SET holder = 'intruder', token = token + 1, \
         expires_at = now() + interval '1 hour' WHERE id = 1",
    )
    .execute(&db_pool)
    .await
    .unwrap();

    // At once, before any renewal noticed: the write is fenced and answered 503.
    let refused = post(
        &router,
        "/v1/reports",
        &report_at("m2", 30.75, 46.5, 7, Some("RU")),
        &keys.monitor,
    )
    .await
    .expect(503);
    assert_eq!(refused.problem(), "not-sequencer", "{}", refused.text());
    assert!(
        refused.text().contains("intruder"),
        "the refusal names who holds the lease: {}",
        refused.text()
    );
    assert!(refused.headers.contains_key("retry-after"));
    // After renewals: still refused, not ready, and nothing was written.
    tokio::time::sleep(Duration::from_millis(LEASE_MS)).await;
    post(
        &router,
        "/v1/reports",
        &report_at("m3", 30.76, 46.5, 7, Some("RU")),
        &keys.monitor,
    )
    .await
    .expect(503);
    get(&router, "/readyz", None).await.expect(503);
    assert_eq!(published(&db_pool).await, checkpoint);
    assert_eq!(count(&db_pool, "log_journal").await, journal);
    assert_eq!(lease(&db_pool).await.0.as_deref(), Some("intruder"));
    // Reads still answer.
    get(&router, "/v1/reports", None).await.expect(200);
    drop(router);
    service.shutdown().await.unwrap();
    // Shutting down did not release the intruder's lease.
    assert_eq!(lease(&db_pool).await.0.as_deref(), Some("intruder"));
    db_pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_leader_notices_a_lost_lease_at_its_next_renewal() {
    let Some(db) = Database::create("idle").await else {
        return;
    };
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    let (service, router) = open(on(dir.path(), &keys, &db)).await;
    get(&router, "/readyz", None).await.expect(200);
    let db_pool = pool(&db).await;
    let checkpoint = published(&db_pool).await;
    // The lease expires unrenewed (as if this instance were paused) and another takes it.
    sqlx::query(
        "UPDATE log_sequencer SET holder = 'intruder', token = token + 1, \
         expires_at = now() + interval '1 hour' WHERE id = 1",
    )
    .execute(&db_pool)
    .await
    .unwrap();
    // No write was tried: the renewal finds out, and the instance is no longer ready.
    tokio::time::sleep(Duration::from_millis(LEASE_MS)).await;
    get(&router, "/readyz", None).await.expect(503);
    populate_refused(&router, &keys).await;
    assert_eq!(published(&db_pool).await, checkpoint);
    drop(router);
    service.shutdown().await.unwrap();
    db_pool.close().await;
}

/// A registration is refused with 503 (`not-sequencer`, naming the lease's new holder).
async fn populate_refused(router: &Router, keys: &Keys) {
    let refused = post(
        router,
        "/v1/sources",
        &json!({"vkey": keys.monitor.verifier().to_vkey(), "kind": "monitor"}),
        &keys.admin,
    )
    .await
    .expect(503);
    assert_eq!(refused.problem(), "not-sequencer", "{}", refused.text());
    assert!(refused.text().contains("intruder"), "{}", refused.text());
}

/// A crash of the leader while submissions are in flight loses nothing acknowledged: the
/// next instance waits for the crashed one's lease to expire, recovers the log and catches
/// the store up, and every acknowledged report is there.
#[test]
fn a_crashed_leader_loses_nothing_acknowledged_and_its_lease_is_taken_over() {
    let control = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = control.block_on(Database::create("crash")) else {
        return;
    };
    let keys = Arc::new(Keys::new());
    let dir = tempfile::tempdir().unwrap();
    let acked: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();

    // The leader in a runtime of its own, which is then dropped mid-flight.
    let leader = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = on(dir.path(), &keys, &db);
    leader.block_on({
        let (keys, acked) = (Arc::clone(&keys), Arc::clone(&acked));
        async move {
            let (service, router) = open(config).await;
            populate(&router, &keys).await;
            for worker in 0..4 {
                let (router, keys, acked) = (router.clone(), Arc::clone(&keys), Arc::clone(&acked));
                tokio::spawn(async move {
                    for n in 0.. {
                        let id = format!("c{worker}-{n}");
                        let lon = 30.7 + f64::from(worker) * 0.01;
                        let answer = post(
                            &router,
                            "/v1/reports",
                            &report_at(&id, lon, 46.49, 7, Some("RU")),
                            &keys.monitor,
                        )
                        .await;
                        if answer.status == 201 {
                            let index = answer.json()["receipts"][0]["index"].as_u64().unwrap();
                            acked.lock().unwrap().push((id, index));
                        }
                    }
                });
            }
            while acked.lock().unwrap().len() < 40 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // Left running: the crash takes it down.
            std::mem::forget(service);
        }
    });
    leader.shutdown_background();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 40);

    control.block_on(async {
        let db_pool = pool(&db).await;
        let (crashed, token) = lease(&db_pool).await;
        assert!(crashed.is_some(), "the crashed leader released its lease");
        let started = Instant::now();
        let (service, router) = open(on(dir.path(), &keys, &db)).await;
        // It had to wait for the lease to expire (or took it once expired).
        let (holder, new_token) = lease(&db_pool).await;
        assert_ne!(holder, crashed);
        assert_eq!(new_token, token + 1);
        assert!(started.elapsed() < Duration::from_secs(15));
        let size = service.state().log_size();
        for (id, index) in &acked {
            assert!(
                *index < size,
                "acknowledged {id} at {index} beyond the log ({size})"
            );
            let found = get(&router, &format!("/v1/reports/{index}"), Some(&keys.admin))
                .await
                .expect(200)
                .json();
            assert_eq!(found["report_id"], json!(id), "{found}");
        }
        // The store holds exactly the log, and the incidents include every report.
        let ready = get(&router, "/readyz", None).await.expect(200).json();
        assert_eq!(ready["log_size"], json!(size));
        let mut in_incidents = std::collections::BTreeSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(cursor) => format!("/v1/agreements/{AGREEMENT}/incidents?cursor={cursor}"),
                None => format!("/v1/agreements/{AGREEMENT}/incidents"),
            };
            let page = get(&router, &path, Some(&keys.admin))
                .await
                .expect(200)
                .json();
            for incident in page["items"].as_array().unwrap() {
                for index in incident["report_log_indexes"].as_array().unwrap() {
                    in_incidents.insert(index.as_u64().unwrap());
                }
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        for (id, index) in &acked {
            assert!(
                in_incidents.contains(index),
                "{id} at {index} is in no incident"
            );
        }
        drop(router);
        service.shutdown().await.unwrap();
        db_pool.close().await;
    });
    drop(db);
}
