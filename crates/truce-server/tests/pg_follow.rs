//! Several instances on one database (`record = "database"`), over real HTTP on loopback:
//! the first to start is the sequencer; the next follows the log, serves reads (its live
//! incidents and findings included) and forwards writes to the sequencer's advertised
//! address. Clients feeding both at once get every report logged once, and both instances
//! then show the incidents and findings of the batch job over those reports. When the
//! sequencer stops, the follower takes the lease and takes writes itself; when the
//! sequencer cannot be reached, a forwarded write is answered 503 `not-sequencer`.
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
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use common::{ACTIONS, AGREEMENT, Call, Keys, SPOTS, TARGETS, config, get, populate};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use pg::Database;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use truce_server::{DatabaseUrl, RecordPlace, ServerConfig, ServerError};

/// The lease the tests run with: short, so that takeovers are quick.
const LEASE_MS: u64 = 1000;

/// An instance on `dir` keeping its store and its record in `db`.
fn on(dir: &Path, keys: &Keys, db: &Database) -> ServerConfig {
    ServerConfig {
        database: Some(DatabaseUrl::new(db.url.clone())),
        record: RecordPlace::Database,
        sequencer_lease_ms: LEASE_MS,
        follow_interval_ms: 50,
        ..config(dir, &keys.admin)
    }
}

/// A router that sends every request to `base` over HTTP, so that the helpers of
/// `common` talk to a real listener.
fn remote(base: &str) -> Router {
    let client: Client<HttpConnector, Body> = Client::builder(TokioExecutor::new()).build_http();
    let base = base.to_owned();
    Router::new().fallback(move |request: Request<Body>| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let (mut parts, body) = request.into_parts();
            parts.uri = format!("{base}{}", parts.uri.path_and_query().unwrap())
                .parse()
                .unwrap();
            let response = client
                .request(Request::from_parts(parts, body))
                .await
                .unwrap();
            response.map(Body::new)
        }
    })
}

/// `truce_server::run_on` on a loopback port, as `truce serve` runs it.
struct Instance {
    url: String,
    router: Router,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl Instance {
    /// Starts an instance and waits until it answers `/readyz` with 200.
    async fn start(config: ServerConfig) -> Instance {
        // The instances' logs, shown when a test fails.
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_test_writer()
            .try_init();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(truce_server::run_on(config, listener, async {
            let _ = stopped.await;
        }));
        let router = remote(&url);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < deadline, "{url} never became ready");
            assert!(!task.is_finished(), "{url} stopped while starting");
            if get(&router, "/readyz", None).await.status == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Instance {
            url,
            router,
            stop: Some(stop),
            task,
        }
    }

    /// Stops it gracefully (a sequencer releases its lease) and waits.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.unwrap().unwrap();
    }
}

/// (holder, address) of the lease row.
async fn lease(db: &Database) -> (Option<String>, Option<String>) {
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let row = sqlx::query_as("SELECT holder, address FROM log_sequencer WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    row
}

/// The `n`th report of a deterministic mix: four spots (three that corroborate), two
/// days, several actions, targets and accusations.
fn mixed_report(n: usize) -> Value {
    const ACCUSED: [Option<&str>; 3] = [Some("UA"), Some("RU"), None];
    let (lon, lat) = SPOTS[n % SPOTS.len()];
    let radius = [300, 1200, 2500][n % 3];
    json!({
        "agreement": AGREEMENT,
        "id": format!("fw-{n:03}"),
        "time": format!("2025-04-{:02}T07:{:02}:00Z", 7 + (n / 5) % 2, (n * 11) % 50),
        "lon": lon + (n % 4) as f64 * 0.0004,
        "lat": lat,
        "uncertainty_m": radius,
        "action": ACTIONS[(n / 3) % ACTIONS.len()],
        "target": TARGETS[(n / 2) % TARGETS.len()],
        "accused": ACCUSED[n % ACCUSED.len()],
    })
}

/// Waits until `router` shows the log at `size` and the incidents `expected`.
async fn wait_for(router: &Router, keys: &Keys, size: u64, expected: &Value) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let checkpoint = get(router, "/v1/log/checkpoint", None).await.expect(200);
        let at = checkpoint
            .text()
            .lines()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap();
        if at >= size {
            let served = batch::served(router, &keys.admin).await;
            if batch::canonical(&served) == batch::canonical(expected) {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the follower never caught up (log at {at} of {size})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_serves_the_batch_jobs_findings_forwards_writes_and_takes_over() {
    let Some(db) = Database::create("follow").await else {
        return;
    };
    let keys = Arc::new(Keys::new());
    let first_dir = tempfile::tempdir().unwrap();
    let first = Instance::start(on(first_dir.path(), &keys, &db)).await;
    let (holder, address) = lease(&db).await;
    assert!(holder.is_some());
    assert_eq!(address.as_deref(), Some(first.url.as_str()));
    populate(&first.router, &keys).await;

    // The second instance has the log's key and nothing else.
    let second_dir = common::with_the_key_of(first_dir.path());
    let second = Instance::start(on(second_dir.path(), &keys, &db)).await;
    assert_eq!(lease(&db).await.0, holder, "the follower took the lease");

    // Three clients, one per source, each sending its reports one at a time to the two
    // instances in turn.
    const REPORTS: usize = 45;
    let mut clients = tokio::task::JoinSet::new();
    for source in 0..3 {
        let (keys, routers) = (
            Arc::clone(&keys),
            [first.router.clone(), second.router.clone()],
        );
        clients.spawn(async move {
            let (signer, kind, party) = common::submitter(&keys, source);
            let mut logged = Vec::new();
            for n in (source..REPORTS).step_by(3) {
                let value = mixed_report(n);
                let call = Call::new("POST", "/v1/reports").json(&value).by(signer);
                let answer = call.send(&routers[(n / 3) % 2]).await.expect(201).json();
                let index = answer["receipts"][0]["index"].as_u64().unwrap();
                logged.push((
                    index,
                    batch::read_as_batch_input(&value, signer, kind, party),
                ));
            }
            logged
        });
    }
    let mut logged = Vec::new();
    while let Some(client) = clients.join_next().await {
        logged.extend(client.unwrap());
    }
    logged.sort_by_key(|(index, _)| *index);
    let indexes: std::collections::BTreeSet<u64> = logged.iter().map(|(index, _)| *index).collect();
    assert_eq!(
        indexes.len(),
        REPORTS,
        "a report was logged twice or not at all"
    );
    let size = indexes.last().unwrap() + 1;
    let reports: Vec<_> = logged.into_iter().map(|(_, report)| report).collect();
    let expected = batch::judged(&reports);
    let incidents = expected.as_array().unwrap().len();
    assert!(
        (2..REPORTS).contains(&incidents),
        "{incidents} incidents: nothing corroborated"
    );

    // Both show the batch job's incidents and findings, and the same record.
    wait_for(&first.router, &keys, size, &expected).await;
    wait_for(&second.router, &keys, size, &expected).await;
    for path in [
        "/v1/log/checkpoint".to_owned(),
        "/v1/reports?limit=100".to_owned(),
        "/v1/sources".to_owned(),
        format!("/v1/agreements/{AGREEMENT}/statistics?group_by=party,verdict"),
        format!("/v1/log/proof/inclusion?index=7&tree_size={size}"),
        format!("/v1/log/entries?start=0&end={size}"),
    ] {
        let one = get(&first.router, &path, Some(&keys.admin))
            .await
            .expect(200);
        let two = get(&second.router, &path, Some(&keys.admin))
            .await
            .expect(200);
        assert_eq!(one.text(), two.text(), "{path} differs");
    }
    let health = get(&second.router, "/readyz", None)
        .await
        .expect(200)
        .json();
    assert_eq!(health["role"], "follower");

    // Annotations sent through the follower change the findings on both alike: a
    // monitor's review rejecting one report and a party retracting one of its own.
    Call::new("POST", "/v1/reviews")
        .json(&json!({"review_id": "rv-fw", "decision": "reject", "reports": ["fw-003"]}))
        .by(&keys.monitor)
        .send(&second.router)
        .await
        .expect(201);
    Call::new("POST", "/v1/retractions")
        .json(&json!({"agreement": AGREEMENT, "report_id": "fw-001"}))
        .by(&keys.ua)
        .send(&second.router)
        .await
        .expect(201);
    let annotated = size + 2;
    let on_the_sequencer = {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let served = batch::served(&first.router, &keys.admin).await;
            if batch::canonical(&served) != batch::canonical(&expected) {
                break served;
            }
            assert!(Instant::now() < deadline, "the annotations changed nothing");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    wait_for(&second.router, &keys, annotated, &on_the_sequencer).await;
    let health = get(&first.router, "/readyz", None).await.expect(200).json();
    assert_eq!(health["role"], "sequencer");

    // The sequencer stops and releases the lease: the follower takes it over and takes
    // writes itself, with every earlier report still judged.
    first.stop().await;
    let late = mixed_report(REPORTS);
    let call = Call::new("POST", "/v1/reports")
        .json(&late)
        .by(&keys.monitor);
    let deadline = Instant::now() + Duration::from_secs(30);
    let answer = loop {
        let answer = call.send(&second.router).await;
        if answer.status == 201 {
            break answer;
        }
        assert_eq!(answer.status.as_u16(), 503, "{}", answer.text());
        assert!(Instant::now() < deadline, "the follower never took over");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        answer.json()["receipts"][0]["index"].as_u64(),
        Some(annotated)
    );
    let (holder_now, address_now) = lease(&db).await;
    assert_ne!(holder_now, holder);
    assert_eq!(address_now.as_deref(), Some(second.url.as_str()));
    let health = get(&second.router, "/readyz", None)
        .await
        .expect(200)
        .json();
    assert_eq!(health["role"], "sequencer");
    let mut all = reports;
    all.push(batch::read_as_batch_input(
        &late,
        &keys.monitor,
        "monitor",
        None,
    ));
    // The late report is judged beside the others, the annotations still applied.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let served = batch::served(&second.router, &keys.admin).await;
        let late = served
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|incident| incident["report_ids"].as_array())
            .any(|ids| ids.contains(&json!("fw-045")));
        if late {
            assert_ne!(
                batch::canonical(&served),
                batch::canonical(&batch::judged(&all))
            );
            break;
        }
        assert!(Instant::now() < deadline, "the late report never showed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_sequencer_cannot_take_is_answered_503_by_the_follower() {
    let Some(db) = Database::create("follow_unreachable").await else {
        return;
    };
    let keys = Keys::new();
    let first_dir = tempfile::tempdir().unwrap();
    // A sequencer that advertises an address where nothing listens.
    let first = Instance::start(ServerConfig {
        advertise_url: Some("http://127.0.0.1:9".into()),
        ..on(first_dir.path(), &keys, &db)
    })
    .await;
    populate(&first.router, &keys).await;
    let second_dir = common::with_the_key_of(first_dir.path());
    let second = Instance::start(on(second_dir.path(), &keys, &db)).await;
    let call = Call::new("POST", "/v1/reports")
        .json(&mixed_report(0))
        .by(&keys.monitor);
    let refused = call.send(&second.router).await.expect(503);
    assert_eq!(refused.problem(), "not-sequencer", "{}", refused.text());
    assert!(
        refused
            .text()
            .contains("could not be reached at http://127.0.0.1:9"),
        "{}",
        refused.text()
    );
    assert!(refused.headers.contains_key("retry-after"));
    // The refused request was not logged: the same signed request, sent to the
    // sequencer, is new to it.
    let taken = call.send(&first.router).await.expect(201);
    let index = taken.json()["receipts"][0]["index"].as_u64().unwrap();
    first.stop().await;
    // Sent again to the instance that now holds the lease, it is answered with the same
    // receipt, not logged twice.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = call.send(&second.router).await;
        if answer.status == 200 {
            assert_eq!(answer.json()["receipts"][0]["index"].as_u64(), Some(index));
            break;
        }
        assert_eq!(answer.status.as_u16(), 503, "{}", answer.text());
        assert!(Instant::now() < deadline, "the follower never took over");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.stop().await;
}

/// The role `/readyz` names, or the status when it is not ready.
async fn role(router: &Router) -> String {
    let answer = get(router, "/readyz", None).await;
    if answer.status == 200 {
        answer.json()["role"].as_str().unwrap_or("none").to_owned()
    } else {
        format!("status {}", answer.status)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequencer_that_loses_its_lease_follows_and_may_lead_again() {
    let Some(db) = Database::create("follow_lost").await else {
        return;
    };
    let keys = Keys::new();
    let first_dir = tempfile::tempdir().unwrap();
    let first = Instance::start(on(first_dir.path(), &keys, &db)).await;
    populate(&first.router, &keys).await;
    let second_dir = common::with_the_key_of(first_dir.path());
    let second = Instance::start(on(second_dir.path(), &keys, &db)).await;
    assert_eq!(role(&first.router).await, "sequencer");
    assert_eq!(role(&second.router).await, "follower");

    // Another holder takes the lease for three seconds (as a sequencer would after the first
    // was paused past its lease): the first finds its renewal fenced and follows.
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    sqlx::query(
        "UPDATE log_sequencer SET holder = 'elsewhere', token = token + 1, address = NULL, \
         expires_at = now() + interval '3 seconds' WHERE id = 1",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let deadline = Instant::now() + Duration::from_secs(3);
    while role(&first.router).await != "follower" {
        assert!(
            Instant::now() < deadline,
            "the first is still {} with its lease lost",
            role(&first.router).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Meanwhile nobody takes writes: the holder advertises no address.
    let call = Call::new("POST", "/v1/reports")
        .json(&mixed_report(0))
        .by(&keys.monitor);
    let refused = call.send(&first.router).await.expect(503);
    assert_eq!(refused.problem(), "not-sequencer", "{}", refused.text());

    // Once that lease expires one of the two takes it, and writes sent to either are logged.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut logged = Vec::new();
    for (n, router) in [(0, &first.router), (1, &second.router)] {
        let call = Call::new("POST", "/v1/reports")
            .json(&mixed_report(n))
            .by(&keys.monitor);
        loop {
            let answer = call.send(router).await;
            if answer.status == 201 {
                logged.push(answer.json()["receipts"][0]["index"].as_u64().unwrap());
                break;
            }
            assert_eq!(answer.status.as_u16(), 503, "{}", answer.text());
            assert!(Instant::now() < deadline, "nobody took the lease over");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(logged.len(), 2);
    assert_ne!(logged[0], logged[1]);
    let roles = [role(&first.router).await, role(&second.router).await];
    assert!(
        roles.contains(&"sequencer".to_owned()) && roles.contains(&"follower".to_owned()),
        "{roles:?}"
    );
    first.stop().await;
    second.stop().await;
}
