//! Before the store has caught up with the log, a key the log has registered
//! may be unknown to the server: it answers "not ready, retry" (503 with
//! Retry-After), never "unknown key" (401), and serves the key once ready.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Keys, config, get, open, post, report};
use serde_json::{Value, json};
use truce_log::entry::Entry;
use truce_server::{AppliedEntries, Service};

/// Holds the writer's catch-up at its first applied run of entries until
/// released: the service stays not ready meanwhile.
struct Gate {
    entered: Mutex<Option<mpsc::Sender<()>>>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl AppliedEntries for Gate {
    fn applied(&self, _first_index: u64, _entries: &[Entry]) {
        let entered = self.entered.lock().unwrap().take();
        if let Some(entered) = entered {
            entered.send(()).unwrap();
            // Blocks this writer until the test lets it go (or drops the sender); the
            // worker's other tasks move to another thread meanwhile.
            tokio::task::block_in_place(|| {
                let _ = self.release.lock().unwrap().recv();
            });
        }
    }
}

/// More log entries than the writer's catch-up takes in one chunk (4,096).
const ENTRIES_BEFORE_THE_KEY: usize = 4_200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_key_gets_503_until_the_store_has_caught_up() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let settings = config(dir.path(), &keys.admin);
    let (service, router) = open(settings.clone()).await;
    // The monitor's reports fill the first chunks of the log; UA's key is registered after
    // them, so a catch-up held at its first chunk has not seen it yet.
    post(
        &router,
        "/v1/sources",
        &json!({"vkey": keys.monitor.verifier().to_vkey(), "kind": "monitor"}),
        &keys.admin,
    )
    .await
    .expect(201);
    post(
        &router,
        "/v1/agreements",
        &json!({"toml": common::BLACK_SEA_TOML, "files": {"zones/black-sea.geojson": common::BLACK_SEA_ZONE}}),
        &keys.admin,
    )
    .await
    .expect(201);
    let mut filed = 0;
    while filed < ENTRIES_BEFORE_THE_KEY {
        let batch: Vec<Value> = (filed..filed + 700)
            .map(|k| {
                report(
                    &format!("m-{k}"),
                    30.0 + (k % 100) as f64 * 0.02,
                    44.0 + (k / 100) as f64 * 0.02,
                )
            })
            .collect();
        post(
            &router,
            "/v1/reports/batch",
            &Value::Array(batch),
            &keys.monitor,
        )
        .await
        .expect(201);
        filed += 700;
    }
    post(
        &router,
        "/v1/sources",
        &json!({"vkey": keys.ua.verifier().to_vkey(), "kind": "party", "party": "UA"}),
        &keys.admin,
    )
    .await
    .expect(201);
    assert!(service.state().log_size() > 4_096 + 1);
    drop(router);
    service.shutdown().await.unwrap();

    // The store is rebuilt from the log on the next start: remove it.
    for suffix in ["", "-wal", "-shm"] {
        let path = dir
            .path()
            .join(format!("{}{suffix}", truce_store::DATABASE_FILE));
        if path.exists() {
            std::fs::remove_file(path).unwrap();
        }
    }

    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let gate = Arc::new(Gate {
        entered: Mutex::new(Some(entered_tx)),
        release: Mutex::new(release_rx),
    });
    let service = Service::open(settings, gate).await.unwrap();
    let router = truce_server::app(service.state());
    tokio::task::spawn_blocking(move || entered_rx.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap()
        .unwrap();
    assert!(!service.state().is_ready());

    // Registered in the log, not yet known to the store: 503 with Retry-After, not 401.
    let early = report("ua-early", 31.0, 45.0);
    let answer = post(&router, "/v1/reports", &early, &keys.ua).await;
    assert_eq!(answer.status.as_u16(), 503, "{}", answer.text());
    assert!(
        answer.headers.contains_key("retry-after"),
        "{:?}",
        answer.headers
    );
    assert_eq!(answer.problem(), "not-ready", "{}", answer.text());
    get(&router, "/readyz", None).await.expect(503);

    // Released: the catch-up ends, the same key is served, an unregistered one is refused.
    release_tx.send(()).unwrap();
    assert!(service.wait_ready(Duration::from_secs(60)).await);
    post(&router, "/v1/reports", &early, &keys.ua)
        .await
        .expect(201);
    let stranger = common::signer("nobody.example/stranger", 9);
    let answer = post(
        &router,
        "/v1/reports",
        &report("stranger", 31.0, 45.0),
        &stranger,
    )
    .await;
    assert_eq!(answer.status.as_u16(), 401, "{}", answer.text());
    drop(router);
    service.shutdown().await.unwrap();
}
