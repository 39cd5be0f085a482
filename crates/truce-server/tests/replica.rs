//! The read-only endpoints served from a streaming replica (`read_database`): after the
//! replica has replayed up to the log's size, the store-backed answers through it equal
//! byte for byte those of a service reading the primary, and carry the store size they
//! reflect; while the replica's replay is paused its answers say the older size and lack
//! the newer report. A replica whose schema is missing or not this build's is refused at
//! start, opening one never writes, one that goes away makes `/readyz` say not ready, and
//! `read_database` without a PostgreSQL `database` is refused.
//!
//! Needs `TRUCE_TEST_POSTGRES_URL` and `TRUCE_TEST_POSTGRES_REPLICA_URL` (a hot standby of
//! that server, `.ci/postgres.sh replica`); without them each test says it was skipped
//! and passes, unless `TRUCE_REQUIRE_POSTGRES=1`, when it fails.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use common::{AGREEMENT, Keys, config, get, open, populate, post, report};
use pg::{Database, REQUIRE_VAR, naming};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};
use truce_server::{DatabaseUrl, NoAppliedEntries, ServerConfig, Service};
use truce_store::{PgStore, SeenNonce, Store};

/// The hot standby of the test server.
const REPLICA_VAR: &str = "TRUCE_TEST_POSTGRES_REPLICA_URL";
/// The header of answers read from the store.
const STORE_SIZE: &str = "truce-store-size";
/// How long a replica may take to replay what the tests wait for.
const PATIENCE: Duration = Duration::from_secs(60);

/// The replica's administration URL; `None` after telling so when the tests are skipped.
fn replica_server() -> Option<String> {
    let url = std::env::var(REPLICA_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty());
    if url.is_none() {
        assert!(
            std::env::var(REQUIRE_VAR).as_deref() != Ok("1"),
            "{REQUIRE_VAR}=1 but {REPLICA_VAR} is not set"
        );
        let _ = writeln!(
            std::io::stderr(),
            "replica tests skipped: {REPLICA_VAR} not set"
        );
    }
    url
}

/// A database of the primary and the URL of the same database on the replica; `None`
/// when the tests are skipped.
async fn database_and_replica(tag: &str) -> Option<(Database, String)> {
    let db = Database::create(tag).await?;
    let replica = replica_server()?;
    let name = db
        .url
        .split('?')
        .next()
        .and_then(|base| base.rsplit('/').next())
        .unwrap()
        .to_owned();
    Some((db, naming(&replica, &name)))
}

/// Brings the database's schema up to date through a primary handle.
async fn migrate(db: &Database) {
    PgStore::connect(&db.url).await.unwrap().close().await;
}

/// Waits until `check` holds (it is retried on errors), or fails after [`PATIENCE`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, String>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let last = match check().await {
            Ok(Some(value)) => return value,
            Ok(None) => "not yet".to_owned(),
            Err(error) => error,
        };
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: still not after {PATIENCE:?} ({last})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens a read-only handle on the replica once it has replayed the schema.
async fn replica_handle(url: &str) -> PgStore {
    eventually("the replica has the store's schema", || async {
        PgStore::open_read_only(url)
            .await
            .map(Some)
            .map_err(|error| chain(&error))
    })
    .await
}

/// Waits until the replica's store has applied `size` entries.
async fn replayed_to(replica: &PgStore, size: u64) {
    eventually("the replica has replayed the log's size", || async {
        let applied = replica
            .applied_size()
            .await
            .map_err(|error| chain(&error))?;
        Ok((applied >= size).then_some(()))
    })
    .await;
}

/// Runs `sql` on `url` over a connection of its own, returning the first column of the
/// first row as text.
async fn scalar(url: &str, sql: &str) -> Result<Option<String>, String> {
    let mut connection = PgConnection::connect(url)
        .await
        .map_err(|error| error.to_string())?;
    let value: Option<String> = sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
        .fetch_optional(&mut connection)
        .await
        .map_err(|error| error.to_string())?
        .flatten();
    connection
        .close()
        .await
        .map_err(|error| error.to_string())?;
    Ok(value)
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// The service on `dir` writing to `db` and reading from `read` (the primary if `None`).
fn on(dir: &Path, keys: &Keys, db: &Database, read: Option<&str>) -> ServerConfig {
    ServerConfig {
        database: Some(DatabaseUrl::new(db.url.clone())),
        read_database: read.map(DatabaseUrl::new),
        ..config(dir, &keys.admin)
    }
}

/// A report of `id` at (`lon`, `lat`) on `day` of April 2025.
fn report_at(id: &str, lon: f64, lat: f64, day: u32) -> Value {
    let mut value = report(id, lon, lat);
    value["time"] = json!(format!("2025-04-{day:02}T06:00:00Z"));
    value
}

/// Registrations, the agreement, reports from the monitor and both parties, a review and
/// a retraction.
async fn submit_scenario(router: &Router, keys: &Keys) {
    populate(router, keys).await;
    post(
        router,
        "/v1/reports",
        &report_at("m1", 30.74, 46.49, 7),
        &keys.monitor,
    )
    .await
    .expect(201);
    post(
        router,
        "/v1/reports/batch",
        &json!([
            report_at("u1", 30.742, 46.491, 7),
            report_at("u2", 30.76, 46.50, 8),
            report_at("u3", 31.5, 46.6, 2),
        ]),
        &keys.ua,
    )
    .await
    .expect(201);
    let mut k1 = report_at("k1", 36.23, 49.99, 7);
    k1["accused"] = json!("UA");
    post(router, "/v1/reports", &k1, &keys.ru).await.expect(201);
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

/// The store-backed reads.
fn questions(log_size: u64) -> Vec<String> {
    let mut paths = vec![
        "/v1/sources".to_owned(),
        "/v1/agreements".to_owned(),
        format!("/v1/agreements/{AGREEMENT}"),
        format!("/v1/agreements/{AGREEMENT}?version=1"),
        "/v1/agreements/no-such-agreement".to_owned(),
        "/v1/reports".to_owned(),
        "/v1/reports?party=UA".to_owned(),
        "/v1/reports?bbox=36,49,37,51".to_owned(),
        "/v1/reports?verdict=alleged".to_owned(),
        "/v1/annotations?subject=m1".to_owned(),
        "/v1/annotations?subject=u3".to_owned(),
        "/v1/annotations?subject=rv1".to_owned(),
    ];
    paths.extend((0..log_size + 1).map(|index| format!("/v1/reports/{index}")));
    paths
}

/// An answer as compared: who asked, the path, the status, `Truce-Store-Size` and the
/// body's bytes.
type Seen = (String, String, u16, Option<String>, Vec<u8>);

/// Every store-backed answer, as the admin, a party and the public see it, and every
/// page of a small-paged report list.
async fn answers(router: &Router, keys: &Keys, log_size: u64) -> Vec<Seen> {
    let mut seen = Vec::new();
    let size_of = |answer: &common::Answer| {
        answer
            .headers
            .get(STORE_SIZE)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    for path in questions(log_size) {
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
                size_of(&answer),
                answer.body.clone(),
            ));
        }
    }
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/reports?limit=2&cursor={cursor}"),
            None => "/v1/reports?limit=2".to_owned(),
        };
        let answer = get(router, &path, Some(&keys.analyst)).await.expect(200);
        cursor = answer.json()["next_cursor"].as_str().map(str::to_owned);
        seen.push((
            "analyst".to_owned(),
            path,
            200,
            size_of(&answer),
            answer.body.clone(),
        ));
        if cursor.is_none() {
            break;
        }
    }
    seen
}

/// The first answer that differs, for a readable failure.
fn assert_same(replica: &[Seen], primary: &[Seen]) {
    assert_eq!(replica.len(), primary.len());
    for (a, b) in replica.iter().zip(primary) {
        assert_eq!(
            a,
            b,
            "{} asking {} got different answers: through the replica {}, from the primary {}",
            a.0,
            a.1,
            String::from_utf8_lossy(&a.4),
            String::from_utf8_lossy(&b.4)
        );
    }
}

/// The replica's WAL replay paused; resumed when dropped, failing or not.
struct ReplayPaused {
    admin: String,
}

impl ReplayPaused {
    async fn pause(admin: &str) -> Self {
        scalar(admin, "SELECT pg_wal_replay_pause()::text")
            .await
            .unwrap();
        let paused = Self {
            admin: admin.to_owned(),
        };
        eventually("the replica's replay has paused", || async {
            let state = scalar(admin, "SELECT pg_get_wal_replay_pause_state()").await?;
            Ok((state.as_deref() == Some("paused")).then_some(()))
        })
        .await;
        paused
    }
}

impl Drop for ReplayPaused {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        // A destructor cannot wait on the test's runtime: a thread with its own.
        let resumed = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?
                .block_on(scalar(&admin, "SELECT pg_wal_replay_resume()::text"))
        })
        .join();
        if !matches!(resumed, Ok(Ok(_))) {
            let _ = writeln!(
                std::io::stderr(),
                "cannot resume the replica's replay: {resumed:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_through_the_replica_are_the_primarys_at_the_size_they_name() {
    let Some((db, replica_url)) = database_and_replica("served").await else {
        return;
    };
    let Some(replica_admin) = replica_server() else {
        return;
    };
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    migrate(&db).await;
    let watch = replica_handle(&replica_url).await;

    let (service, router) = open(on(dir.path(), &keys, &db, Some(&replica_url))).await;
    submit_scenario(&router, &keys).await;
    let size = service.state().log_size();
    assert!(size >= 10, "{size}");
    replayed_to(&watch, size).await;
    let through_replica = answers(&router, &keys, size).await;
    for (who, path, status, store_size, _) in &through_replica {
        if *status == 200 || path.starts_with("/v1/reports/") {
            assert_eq!(
                store_size.as_deref(),
                Some(size.to_string().as_str()),
                "{who} asking {path} ({status})"
            );
        }
    }
    let find = |path: &str| {
        through_replica
            .iter()
            .find(|(who, at, ..)| who == "admin" && at == path)
            .unwrap()
    };
    let list: Value = serde_json::from_slice(&find("/v1/reports").4).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 5, "{list:#}");
    let sources: Value = serde_json::from_slice(&find("/v1/sources").4).unwrap();
    assert_eq!(
        sources["sources"].as_array().unwrap().len(),
        5,
        "{sources:#}"
    );
    assert_eq!(find("/v1/annotations?subject=m1").2, 200);
    assert_eq!(find(&format!("/v1/reports/{size}")).2, 404);

    // Replay paused: the primary takes a report the replica does not have yet, and
    // reads through the replica say the size they reflect.
    {
        let _paused = ReplayPaused::pause(&replica_admin).await;
        post(
            &router,
            "/v1/reports",
            &report_at("m2", 30.75, 46.48, 9),
            &keys.monitor,
        )
        .await
        .expect(201);
        assert_eq!(service.state().log_size(), size + 1);
        let behind = get(&router, "/v1/reports", None).await.expect(200);
        assert_eq!(
            behind.headers[STORE_SIZE].to_str().unwrap(),
            size.to_string()
        );
        assert_eq!(behind.json()["items"].as_array().unwrap().len(), 5);
        let missing = get(&router, &format!("/v1/reports/{size}"), None)
            .await
            .expect(404);
        assert_eq!(
            missing.headers[STORE_SIZE].to_str().unwrap(),
            size.to_string()
        );
        // The primary has it: the writes and what they check never read the replica.
        let primary = PgStore::connect(&db.url).await.unwrap();
        assert_eq!(primary.applied_size().await.unwrap(), size + 1);
        assert!(primary.report(size).await.unwrap().is_some());
        primary.close().await;
    }
    let size = size + 1;
    replayed_to(&watch, size).await;
    let found = get(&router, &format!("/v1/reports/{}", size - 1), None)
        .await
        .expect(200);
    assert_eq!(
        found.headers[STORE_SIZE].to_str().unwrap(),
        size.to_string()
    );
    assert_eq!(found.json()["report_id"], "m2", "{}", found.text());
    let ready = get(&router, "/readyz", None).await.expect(200);
    assert_eq!(ready.json()["log_size"], size);

    let through_replica = answers(&router, &keys, size).await;
    drop(router);
    service.shutdown().await.unwrap();
    watch.close().await;

    // The same directory and database, reading the primary.
    let (service, router) = open(on(dir.path(), &keys, &db, None)).await;
    let from_primary = answers(&router, &keys, size).await;
    drop(router);
    service.shutdown().await.unwrap();
    assert_same(&through_replica, &from_primary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_without_this_builds_schema_is_refused_and_one_gone_is_not_ready() {
    let Some((empty, empty_on_replica)) = database_and_replica("noschema").await else {
        return;
    };
    let Some((primary, _)) = database_and_replica("primary").await else {
        return;
    };
    let Some((other, other_on_replica)) = database_and_replica("otherschema").await else {
        return;
    };
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    migrate(&primary).await;
    let refusal = |config: ServerConfig| async move {
        let error = Service::open(config, Arc::new(NoAppliedEntries))
            .await
            .unwrap_err();
        chain(&error)
    };

    // No schema at all, on the replica or on a database that would accept writes: refused,
    // and nothing is created.
    eventually("the empty database is on the replica", || async {
        scalar(&empty_on_replica, "SELECT current_database()::text").await
    })
    .await;
    for read in [&empty_on_replica, &empty.url] {
        let text = refusal(on(dir.path(), &keys, &primary, Some(read))).await;
        assert!(
            text.contains("cannot open the store (read replica"),
            "{text}"
        );
        assert!(text.contains("holds no truce store"), "{text}");
    }
    assert_eq!(
        scalar(&empty.url, "SELECT to_regclass('_sqlx_migrations')::text")
            .await
            .unwrap(),
        None,
        "opening a read replica created the migrations table"
    );

    // A read-only handle writes nothing even where writes are allowed.
    let read_only = PgStore::open_read_only(&primary.url).await.unwrap();
    let nonce = SeenNonce {
        key: "mission.example/reader".to_owned(),
        nonce_hex: "11".repeat(16),
        ts_ms: 1,
    };
    let error = read_only.remember_nonces(&[nonce]).await.unwrap_err();
    assert!(chain(&error).contains("read-only"), "{}", chain(&error));
    read_only.close().await;

    // A migration this build does not know, then one whose checksum is not this build's.
    migrate(&other).await;
    scalar(
        &other.url,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (20991231, 'from a newer truce', true, '\\x00', 0) RETURNING version::text",
    )
    .await
    .unwrap();
    eventually("the newer migration is on the replica", || async {
        scalar(
            &other_on_replica,
            "SELECT version::text FROM _sqlx_migrations WHERE version = 20991231",
        )
        .await
    })
    .await;
    let text = refusal(on(dir.path(), &keys, &primary, Some(&other_on_replica))).await;
    assert!(
        text.contains("has migration 20991231, which this build does not know"),
        "{text}"
    );
    scalar(
        &other.url,
        "WITH gone AS (DELETE FROM _sqlx_migrations WHERE version = 20991231 RETURNING 1) \
         UPDATE _sqlx_migrations SET checksum = '\\x00' WHERE version = 1 \
         RETURNING (SELECT count(*) FROM gone)::text",
    )
    .await
    .unwrap();
    eventually("the changed checksum is on the replica", || async {
        scalar(
            &other_on_replica,
            "SELECT version::text FROM _sqlx_migrations WHERE version = 1 \
             AND checksum = '\\x00' AND NOT EXISTS \
             (SELECT 1 FROM _sqlx_migrations WHERE version = 20991231)",
        )
        .await
    })
    .await;
    let text = refusal(on(dir.path(), &keys, &primary, Some(&other_on_replica))).await;
    assert!(text.contains("migration 1 ("), "{text}");
    assert!(text.contains("is not this build's"), "{text}");

    // A replica that answers: ready. Once its database is gone: not ready, and the reads
    // from it fail while the service keeps running.
    let (second, second_on_replica) = database_and_replica("gone").await.unwrap();
    migrate(&second).await;
    replica_handle(&second_on_replica).await.close().await;
    let (service, router) = open(on(dir.path(), &keys, &primary, Some(&second_on_replica))).await;
    get(&router, "/readyz", None).await.expect(200);
    drop(second);
    eventually("the replica's database is gone", || async {
        let answer = get(&router, "/readyz", None).await;
        Ok((answer.status.as_u16() == 503).then_some(()))
    })
    .await;
    get(&router, "/v1/agreements", None).await.expect(500);
    get(&router, "/healthz", None).await.expect(200);
    drop(router);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_database_without_a_postgres_database_is_refused() {
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    for database in [None, Some("sqlite:")] {
        let config = ServerConfig {
            database: database.map(DatabaseUrl::new),
            read_database: Some(DatabaseUrl::new(
                "postgres://reader:rep1ica-pw@127.0.0.1:1/truce",
            )),
            ..config(dir.path(), &keys.admin)
        };
        let error = Service::open(config, Arc::new(NoAppliedEntries))
            .await
            .unwrap_err();
        let text = chain(&error);
        assert!(text.contains("read_database"), "{text}");
        assert!(text.contains("needs a PostgreSQL `database`"), "{text}");
        assert!(!text.contains("rep1ica-pw"), "{text}");
    }
    assert!(
        !dir.path().join(truce_store::DATABASE_FILE).exists(),
        "a refused configuration opened a store"
    );
}
