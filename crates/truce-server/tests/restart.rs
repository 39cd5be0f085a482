//! Restarts: everything survives, the log verifies, a store behind the log
//! catches up (from the log alone, or rebuilt from nothing with the journal),
//! and the admin key is checked.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Call, Keys, config, get, open, populate, post, report, signer};
use serde_json::{Value, json};
use truce_log::entry::{Entry, ReportDisclosure, ReportEntry, SourceRegistration};
use truce_log::{Log, verify_dir};
use truce_model::{ActionType, Location, Report, Source, SourceKind, Target, TargetKind, TimeSpan};
use truce_note::NoteSigner;
use truce_server::{AppliedEntries, ServerError, Service};
use truce_store::Store;

/// The index and leaf hash of each receipt (a receipt for an older entry is
/// made against the latest checkpoint, so the proofs differ).
fn entries_of(receipts: &Value) -> Vec<(Value, Value)> {
    receipts["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|receipt| (receipt["index"].clone(), receipt["leaf_hash"].clone()))
        .collect()
}

fn log_key(dir: &std::path::Path) -> NoteSigner {
    let text = std::fs::read_to_string(dir.join(truce_server::LOG_KEY_FILE)).unwrap();
    NoteSigner::from_skey(text.trim()).unwrap()
}

/// What the readers see, for comparing before and after.
async fn snapshot(router: &axum::Router, keys: &Keys) -> Vec<Value> {
    let mut seen = Vec::new();
    for path in [
        "/v1/sources",
        "/v1/agreements",
        "/v1/reports",
        "/v1/annotations?subject=r1",
    ] {
        seen.push(
            get(router, path, Some(&keys.admin))
                .await
                .expect(200)
                .json(),
        );
        seen.push(get(router, path, None).await.expect(200).json());
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_everything_and_the_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    populate(&router, &keys).await;
    let resent = Call::new("POST", "/v1/reports")
        .json(&report("r1", 30.74, 46.49))
        .by(&keys.monitor);
    let first = resent.send(&router).await.expect(201).json();
    post(
        &router,
        "/v1/reviews",
        &json!({"review_id": "rv1", "decision": "confirm", "reports": ["r1"]}),
        &keys.monitor,
    )
    .await
    .expect(201);
    let before = snapshot(&router, &keys).await;
    let size = service.state().log_size();
    let verifier = service.state().log_verifier();
    drop(router);
    service.shutdown().await.unwrap();

    let verified = verify_dir(
        dir.path().join("log"),
        verifier.name().as_str(),
        &verifier,
        None,
    )
    .unwrap();
    assert_eq!(verified.entries, size);

    // Reopened without the admin key: the log already names the admin.
    let mut again = config(dir.path(), &keys.admin);
    again.admin_vkey = None;
    let (service, router) = open(again).await;
    assert_eq!(service.state().log_size(), size);
    assert_eq!(snapshot(&router, &keys).await, before);
    // The replay window came back from the store: the resent request gets its receipt.
    assert_eq!(
        entries_of(&resent.send(&router).await.expect(200).json()),
        entries_of(&first)
    );
    post(
        &router,
        "/v1/reports",
        &report("r2", 30.74, 46.49),
        &keys.ua,
    )
    .await
    .expect(201);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_key_is_required_first_and_checked_after() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let mut missing = config(dir.path(), &keys.admin);
    missing.admin_vkey = None;
    let error = Service::open(missing, Arc::new(truce_server::NoAppliedEntries))
        .await
        .unwrap_err();
    assert!(matches!(error, ServerError::AdminKey { .. }), "{error}");
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    service.shutdown().await.unwrap();
    // The router holds the service's state (and with it the data directory's blob store,
    // which one handle at a time may append to).
    drop(router);
    let error = Service::open(
        config(dir.path(), &keys.monitor),
        Arc::new(truce_server::NoAppliedEntries),
    )
    .await
    .unwrap_err();
    assert!(
        error.to_string().contains("mission.example/admin"),
        "{error}"
    );
}

/// Records what the hook is handed.
#[derive(Default)]
struct Recorder(Mutex<Vec<(u64, usize)>>);

impl AppliedEntries for Recorder {
    fn applied(&self, first_index: u64, entries: &[Entry]) {
        self.0.lock().unwrap().push((first_index, entries.len()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_behind_the_log_catches_up_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    populate(&router, &keys).await;
    let size = service.state().log_size();
    drop(router);
    service.shutdown().await.unwrap();

    // Another writer appends to the log only: a new monitor and a report.
    let newcomer = signer("mission.example/monitor-2", 8);
    let registration = Entry::SourceRegistration(SourceRegistration {
        source_id: newcomer.name().as_str().to_owned(),
        kind: SourceKind::Monitor,
        party: None,
        public_key: *newcomer.verifier().public_key(),
    });
    let clear = Report {
        id: "direct-1".into(),
        source: Source {
            id: "osint-desk".into(),
            kind: SourceKind::Osint,
            party: None,
        }
        .into(),
        time: TimeSpan::instant(1_744_057_800_000),
        location: Location {
            lon: 30.74,
            lat: 46.49,
            uncertainty_m: 200.0,
        },
        action: ActionType::MissileStrike,
        target: Target::of(TargetKind::Maritime),
        accused: Some("RU".into()),
        casualties: Default::default(),
        details: truce_model::Details::default(),
    };
    let (report_entry, _) = ReportEntry::from_report(&clear, &ReportDisclosure::default()).unwrap();
    let origin = truce_server::ServerConfig::default().log_origin;
    let mut log = Log::open(dir.path().join("log"), log_key(dir.path()), &origin).unwrap();
    log.append_batch(&[
        registration.encode().unwrap(),
        Entry::Report(report_entry).encode().unwrap(),
    ])
    .unwrap();
    drop(log);

    let recorder = Arc::new(Recorder::default());
    let service = Service::open(config(dir.path(), &keys.admin), recorder.clone())
        .await
        .unwrap();
    assert!(service.wait_ready(Duration::from_secs(20)).await);
    let router = truce_server::app(service.state());
    assert_eq!(*recorder.0.lock().unwrap(), [(size, 2)]);
    assert_eq!(
        service.state().store().applied_size().await.unwrap(),
        size + 2
    );
    // The new key signs; the report is filed under the latest agreement.
    let sources = get(&router, "/v1/sources", Some(&keys.admin))
        .await
        .expect(200)
        .json();
    assert!(sources.to_string().contains("mission.example/monitor-2"));
    let reports = get(&router, "/v1/reports", Some(&keys.admin))
        .await
        .expect(200)
        .json();
    assert_eq!(reports["items"][0]["report_id"], json!("direct-1"));
    assert_eq!(
        reports["items"][0]["agreement_id"],
        json!(common::AGREEMENT)
    );
    assert_eq!(reports["items"][0]["source"]["name"], json!("osint-desk"));
    post(
        &router,
        "/v1/reports",
        &report("r2", 30.74, 46.49),
        &newcomer,
    )
    .await
    .expect(201);
    assert_eq!(recorder.0.lock().unwrap().last(), Some(&(size + 2, 1)));
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_store_is_rebuilt_from_the_log_and_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    populate(&router, &keys).await;
    let resent = Call::new("POST", "/v1/reports/batch")
        .json(&json!([
            report("r1", 30.7432, 46.4871),
            report("r2", 30.75, 46.48)
        ]))
        .by(&keys.monitor);
    let receipts = resent.send(&router).await.expect(201).json();
    Call::new("POST", "/v1/sources/ru.example%2Fliaison/revoke")
        .by(&keys.admin)
        .send(&router)
        .await
        .expect(201);
    let before = snapshot(&router, &keys).await;
    let exact = get(&router, "/v1/reports", Some(&keys.monitor))
        .await
        .expect(200)
        .json();
    drop(router);
    service.shutdown().await.unwrap();

    for name in ["truce.sqlite3", "truce.sqlite3-wal", "truce.sqlite3-shm"] {
        let _ = std::fs::remove_file(dir.path().join(name));
    }
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    assert_eq!(snapshot(&router, &keys).await, before);
    // Clear values behind the commitments came back from the journal.
    assert_eq!(
        get(&router, "/v1/reports", Some(&keys.monitor))
            .await
            .expect(200)
            .json(),
        exact
    );
    assert_eq!(exact["items"][0]["location"]["lon"], json!(30.7432));
    // So did the receipts of earlier submissions, and the revocation.
    let again = resent.send(&router).await.expect(200).json();
    assert_eq!(entries_of(&again), entries_of(&receipts));
    assert_eq!(entries_of(&again).len(), 2);
    post(
        &router,
        "/v1/reports",
        &report("r9", 30.74, 46.49),
        &keys.ru,
    )
    .await
    .expect(401);
    service.shutdown().await.unwrap();
}
