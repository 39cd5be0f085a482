//! What only shows with real concurrency or failures, and the backends
//! against each other: two handles racing for one range, a batch cut off
//! before it commits, a log replayed into both backends giving the same
//! answers, and opening a store by URL.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::pg::{EmptyDb, TestDb, with_database};
use common::{agreement, annotation, indexes, memory, report, source, walk};
use sqlx::Connection;
use truce_store::{
    AnnotationKind, AnyStore, BoundingBox, PageRequest, PgStore, Projected, ReportFilter,
    ReportRecord, SeenNonce, SqliteStore, Store, StoreError, TimeWindow,
};

// ---------------------------------------------------------------- concurrent appends

/// Rounds of the race in [`concurrent_appends`].
const ROUNDS: u64 = 15;

/// Two handles on one database apply different batches for the same range
/// at the same moment, round after round: exactly one wins each round, the
/// loser is told the range is taken, and the store holds the winner's
/// batch whole and nothing of the loser's.
async fn concurrent_appends<S: Store + 'static>(a: S, b: S) {
    let handles = [Arc::new(a), Arc::new(b)];
    let mut winners = Vec::new();
    for round in 0..ROUNDS {
        let start = 2 * round;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = handles
            .iter()
            .enumerate()
            .map(|(who, store)| {
                let store = Arc::clone(store);
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    let batch: Vec<Projected> = (start..start + 2)
                        .map(|index| {
                            Projected::Report(ReportRecord {
                                report_id: format!("h{who}-{index}"),
                                ..report(index)
                            })
                        })
                        .chain([Projected::Receipt {
                            key: format!("h{who}"),
                            nonce: format!("n{round}"),
                            log_index: start,
                        }])
                        .collect();
                    barrier.wait().await;
                    store.apply(start..start + 2, &batch).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        let won: Vec<usize> = (0..2).filter(|who| results[*who].is_ok()).collect();
        assert_eq!(won.len(), 1, "round {round}: {results:?}");
        let winner = won[0];
        match &results[1 - winner] {
            Err(StoreError::BatchOutOfOrder { start: s, applied }) => {
                assert_eq!((*s, *applied), (start, start + 2), "round {round}");
            }
            other => panic!("round {round}: the loser got {other:?}"),
        }
        winners.push(winner);
    }
    // Both handles see the same, consistent store.
    for store in &handles {
        assert_eq!(store.applied_size().await.unwrap(), 2 * ROUNDS);
        let all = walk(store.as_ref(), &ReportFilter::default(), 1000).await;
        assert_eq!(indexes(&all), (0..2 * ROUNDS).collect::<Vec<_>>());
        for report in &all {
            let winner = winners[usize::try_from(report.log_index / 2).unwrap()];
            assert_eq!(report.report_id, format!("h{winner}-{}", report.log_index));
        }
        for (round, winner) in (0..ROUNDS).zip(&winners) {
            let nonce = format!("n{round}");
            assert_eq!(
                store
                    .submission(&format!("h{winner}"), &nonce)
                    .await
                    .unwrap(),
                Some(2 * round)
            );
            let loser = 1 - winner;
            assert_eq!(
                store
                    .submission(&format!("h{loser}"), &nonce)
                    .await
                    .unwrap(),
                None
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_appends_from_two_handles() {
    let dir = tempfile::tempdir().unwrap();
    let a = SqliteStore::open(dir.path()).await.unwrap();
    let b = SqliteStore::open(dir.path()).await.unwrap();
    concurrent_appends(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_appends_from_two_handles() {
    let Some(db) = TestDb::create("concurrent_appends").await else {
        return;
    };
    let b = db.another_handle().await;
    concurrent_appends(db.store.clone(), b).await;
}

/// Several instances opening one new database at the same moment: the
/// migrations run once, under their lock, and every instance works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instances_opening_at_once_share_one_schema() {
    let Some(db) = EmptyDb::create("opening_at_once").await else {
        return;
    };
    let opening: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { PgStore::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for task in opening {
        stores.push(task.await.unwrap().unwrap());
    }
    stores[0]
        .apply(0..1, &[Projected::Report(report(0))])
        .await
        .unwrap();
    for store in &stores {
        assert_eq!(store.report(0).await.unwrap(), Some(report(0)));
    }
    let mut conn = db.connection().await;
    let migrations: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    // Each migration ran once, however many handles raced to run it.
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count();
    assert_eq!(migrations, i64::try_from(shipped).unwrap());
    for store in &stores {
        store.close().await;
    }
}

// ---------------------------------------------------------------- crashes

/// The batch [`killed_mid_batch`] cuts off, for log entries 2..5, with its
/// receipt last.
fn doomed_batch() -> Vec<Projected> {
    let mut zoned = report(2);
    zoned.zone_ids = vec!["z".into()];
    vec![
        Projected::Report(zoned),
        Projected::Source(source("n", 3)),
        Projected::Receipt {
            key: "k".into(),
            nonce: "n1".into(),
            log_index: 4,
        },
    ]
}

/// Asserts that the store is as it was before the doomed batch: two entries
/// applied and nothing of the batch visible.
async fn nothing_of_the_batch<S: Store>(store: &S) {
    assert_eq!(store.applied_size().await.unwrap(), 2);
    assert_eq!(store.report(2).await.unwrap(), None);
    assert_eq!(store.source("n").await.unwrap(), None);
    assert_eq!(store.submission("k", "n1").await.unwrap(), None);
    let zoned = ReportFilter {
        zone_id: Some("z".into()),
        ..ReportFilter::default()
    };
    assert!(walk(store, &zoned, 10).await.is_empty());
    assert_eq!(
        indexes(&walk(store, &ReportFilter::default(), 10).await),
        [1]
    );
}

/// The server process dies, or its connection is cut, while a batch's
/// transaction is open: the backend that serves the batch's connection is
/// terminated (`pg_terminate_backend`) after the batch has written its
/// report and source and while it waits to write its receipt. Nothing of the
/// batch is visible afterwards, the applied size has not moved, and the same
/// batch applies cleanly next time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connection_killed_mid_batch() {
    let Some(db) = TestDb::create("killed_mid_batch").await else {
        return;
    };
    let store = db.store.clone();
    store
        .apply(
            0..2,
            &[
                Projected::Source(source("m", 0)),
                Projected::Report(report(1)),
            ],
        )
        .await
        .unwrap();

    // Keep writers out of the receipts table (readers may still read it), so
    // the batch stops inside its transaction.
    let mut blocker = db.connection().await;
    sqlx::raw_sql("BEGIN; LOCK TABLE receipts IN SHARE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let applying = {
        let store = store.clone();
        tokio::spawn(async move { store.apply(2..5, &doomed_batch()).await })
    };

    // Find the batch's backend waiting on the lock, after its first writes.
    let mut admin = db.admin_connection().await;
    let mut waiting = None;
    for _ in 0..500 {
        waiting = sqlx::query_scalar::<_, i32>(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' \
             AND query LIKE 'INSERT INTO receipts%'",
        )
        .bind(&db.db.name)
        .fetch_optional(&mut admin)
        .await
        .unwrap();
        if waiting.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = waiting.expect("the batch never reached its receipt");
    // Uncommitted, so no reader sees it yet.
    nothing_of_the_batch(&store).await;

    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(terminated);
    let error = tokio::time::timeout(Duration::from_secs(30), applying)
        .await
        .expect("the cut batch returns")
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Database { .. }),
        "the cut batch fails with a database error, not {error:?}"
    );
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap();
    blocker.close().await.unwrap();

    nothing_of_the_batch(&store).await;
    // A store opened afresh (a restarted instance) sees the same.
    let restarted = db.another_handle().await;
    nothing_of_the_batch(&restarted).await;
    // Replaying the entries applies the batch whole, through either handle.
    restarted.apply(2..5, &doomed_batch()).await.unwrap();
    for handle in [&store, &restarted] {
        assert_eq!(handle.applied_size().await.unwrap(), 5);
        assert_eq!(handle.source("n").await.unwrap(), Some(source("n", 3)));
        assert_eq!(handle.submission("k", "n1").await.unwrap(), Some(4));
    }
}

/// How many entries the abandoned batch of [`abandoned_batch`] holds.
const LARGE: u64 = 3000;

/// A task applying a large batch is aborted while it runs (its future is
/// dropped, as when the service is shut down mid-write): afterwards the
/// batch is there whole or not at all, and the store goes on from there.
async fn abandoned_batch<S: Store + Clone + 'static>(store: S) {
    store
        .apply(0..1, &[Projected::Source(source("m", 0))])
        .await
        .unwrap();
    let batch: Vec<Projected> = (1..=LARGE)
        .map(|index| Projected::Report(report(index)))
        .collect();
    let applying = {
        let store = store.clone();
        let batch = batch.clone();
        tokio::spawn(async move { store.apply(1..LARGE + 1, &batch).await })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    applying.abort();
    let _ = applying.await;
    // The dropped transaction is rolled back when its connection is next
    // used; wait until the store answers again.
    let size = store.applied_size().await.unwrap();
    let held = walk(&store, &ReportFilter::default(), 1000).await;
    if size == 1 {
        assert!(
            held.is_empty(),
            "a rolled-back batch left {} reports",
            held.len()
        );
        store.apply(1..LARGE + 1, &batch).await.unwrap();
    } else {
        assert_eq!(size, LARGE + 1);
        assert_eq!(indexes(&held), (1..=LARGE).collect::<Vec<_>>());
    }
    store
        .apply(
            LARGE + 1..LARGE + 2,
            &[Projected::Report(report(LARGE + 1))],
        )
        .await
        .unwrap();
    assert_eq!(store.applied_size().await.unwrap(), LARGE + 2);
    assert_eq!(
        walk(&store, &ReportFilter::default(), 1000).await.len(),
        usize::try_from(LARGE + 1).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_abandoned_batch_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    abandoned_batch(SqliteStore::open(dir.path()).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_abandoned_batch_is_all_or_nothing() {
    let Some(db) = TestDb::create("abandoned_batch").await else {
        return;
    };
    abandoned_batch(db.store.clone()).await;
}

// ---------------------------------------------------------------- replay

/// A small deterministic generator (xorshift64*), so the log below is the
/// same on every run.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[usize::try_from(self.below(options.len() as u64)).unwrap()]
    }
}

/// A log of `size` entries as the store sees it: for each index, the items
/// its entry projects to (none for some, like a published assessment).
fn log(size: u64) -> Vec<Vec<Projected>> {
    let mut dice = Dice(0x7472_6365_0000_0001);
    let mut entries = Vec::new();
    let mut sources: Vec<(String, u64)> = Vec::new();
    let mut agreement_versions = 0;
    for index in 0..size {
        let mut items = Vec::new();
        match dice.below(10) {
            0 => {
                let name = format!("src-{index}");
                let mut record = source(&name, index);
                record.kind = dice.pick(&["party", "monitor", "media", "osint"]).into();
                record.party = Some(dice.pick(&["UA", "RU"]).into()).filter(|_| dice.below(2) == 0);
                items.push(Projected::Source(record));
                sources.push((name, index));
            }
            1 if !sources.is_empty() && dice.below(3) == 0 => {
                let at = usize::try_from(dice.below(sources.len() as u64)).unwrap();
                let (name, _) = sources.remove(at);
                items.push(Projected::SourceRevoked {
                    name,
                    at_index: index,
                    at_ms: 9_000 + i64::try_from(index).unwrap(),
                });
            }
            2 => {
                agreement_versions += 1;
                let id = dice.pick(&["energy", "black-sea"]);
                let interpretation = dice.pick(&["common", "UA", "RU"]);
                items.push(Projected::Agreement(agreement(
                    id,
                    agreement_versions,
                    interpretation,
                    index,
                )));
            }
            3 | 4 => {
                let kind = AnnotationKind::ALL[usize::try_from(dice.below(4)).unwrap()];
                let subjects = 1 + dice.below(3);
                let mut named = BTreeSet::new();
                for _ in 0..subjects {
                    named.insert(format!("r-{}", dice.below(index + 1)));
                }
                for subject in named {
                    items.push(Projected::Annotation(annotation(index, kind, &subject)));
                }
            }
            5 => {}
            _ => {
                let zones = ["z1", "z2", "z3", "z4"];
                let mut zone_ids: Vec<String> = Vec::new();
                for _ in 0..dice.below(4) {
                    let zone = dice.pick(&zones).to_owned();
                    if !zone_ids.contains(&zone) {
                        zone_ids.push(zone);
                    }
                }
                let start_ms = i64::try_from(dice.below(1000)).unwrap() - 100;
                let record = ReportRecord {
                    agreement_id: dice.pick(&["energy", "black-sea"]).into(),
                    source_kind: dice.pick(&["party", "monitor", "media", "osint"]).into(),
                    party: Some(dice.pick(&["UA", "RU"]).into()).filter(|_| dice.below(3) > 0),
                    actor: Some(dice.pick(&["UA", "RU"]).into()).filter(|_| dice.below(3) > 0),
                    action: dice.pick(&["artillery", "drone", "missile"]).into(),
                    target: dice.pick(&["energy", "port", "residential"]).into(),
                    start_ms,
                    end_ms: start_ms + i64::try_from(dice.below(200)).unwrap(),
                    // Some points on a 0.5° grid, so boxes have points on their edges.
                    lon: if dice.below(3) == 0 {
                        30.0 + f64::from(u32::try_from(dice.below(10)).unwrap()) * 0.5
                    } else {
                        28.0 + f64::from(u32::try_from(dice.below(1_000_000)).unwrap()) * 1e-5
                    },
                    lat: if dice.below(3) == 0 {
                        46.0 + f64::from(u32::try_from(dice.below(8)).unwrap()) * 0.5
                    } else {
                        45.0 + f64::from(u32::try_from(dice.below(1_000_000)).unwrap()) * 6e-6
                    },
                    radius_m: f64::from(u32::try_from(dice.below(5000)).unwrap()),
                    zone_ids,
                    submitted_at_ms: 20_000 + i64::try_from(index).unwrap(),
                    ..report(index)
                };
                items.push(Projected::Report(record));
                if dice.below(2) == 0 {
                    items.push(Projected::Receipt {
                        key: dice.pick(&["liaison-ua", "liaison-ru", "monitor-1"]).into(),
                        nonce: format!("{index:08x}"),
                        log_index: index,
                    });
                }
            }
        }
        entries.push(items);
    }
    entries
}

/// Applies `log` in batches of `per_batch` entries.
async fn replay<S: Store>(store: &S, log: &[Vec<Projected>], per_batch: usize) {
    let mut start = 0_u64;
    for chunk in log.chunks(per_batch) {
        let end = start + chunk.len() as u64;
        let items: Vec<Projected> = chunk.iter().flatten().cloned().collect();
        store.apply(start..end, &items).await.unwrap();
        start = end;
    }
}

/// The filters compared: each alone, some combined, and none.
fn filters() -> Vec<ReportFilter> {
    let none = ReportFilter::default();
    let bbox = |min_lon, min_lat, max_lon, max_lat| {
        Some(BoundingBox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
    };
    let window = |start_ms, end_ms| Some(TimeWindow { start_ms, end_ms });
    let mut filters = vec![none.clone()];
    for agreement_id in ["energy", "black-sea", "none"] {
        filters.push(ReportFilter {
            agreement_id: Some(agreement_id.into()),
            ..none.clone()
        });
    }
    for zone in ["z1", "z2", "z3", "z4", "z9"] {
        filters.push(ReportFilter {
            zone_id: Some(zone.into()),
            ..none.clone()
        });
    }
    for party in ["UA", "RU"] {
        filters.push(ReportFilter {
            party: Some(party.into()),
            ..none.clone()
        });
        filters.push(ReportFilter {
            actor: Some(party.into()),
            ..none.clone()
        });
    }
    for kind in ["party", "monitor", "media", "osint"] {
        filters.push(ReportFilter {
            source_kind: Some(kind.into()),
            ..none.clone()
        });
    }
    for (start, end) in [(0, 0), (-100, 50), (200, 400), (950, 2000)] {
        filters.push(ReportFilter {
            time: window(start, end),
            ..none.clone()
        });
    }
    for b in [
        bbox(30.0, 46.0, 31.0, 47.0),
        bbox(30.5, 46.5, 30.5, 46.5),
        bbox(28.0, 45.0, 29.0, 46.0),
        bbox(-180.0, -90.0, 180.0, 90.0),
        bbox(31.5, 47.5, 40.0, 50.0),
    ] {
        filters.push(ReportFilter {
            bbox: b,
            ..none.clone()
        });
    }
    filters.push(ReportFilter {
        log_indexes: Some((0..400).step_by(3).collect()),
        ..none.clone()
    });
    filters.push(ReportFilter {
        log_indexes: Some(BTreeSet::new()),
        ..none.clone()
    });
    filters.push(ReportFilter {
        agreement_id: Some("energy".into()),
        zone_id: Some("z2".into()),
        party: Some("UA".into()),
        ..none.clone()
    });
    filters.push(ReportFilter {
        actor: Some("RU".into()),
        time: window(100, 600),
        bbox: bbox(29.0, 45.0, 32.0, 48.0),
        ..none.clone()
    });
    filters.push(ReportFilter {
        source_kind: Some("monitor".into()),
        zone_id: Some("z1".into()),
        log_indexes: Some((0..400).filter(|i| i % 2 == 0).collect()),
        time: window(-1000, 10_000),
        ..none.clone()
    });
    filters
}

/// Asserts that `a` and `b` answer every query the same way.
/// Every (key, nonce) with a receipt, read three at a time.
async fn all_receipt_keys<S: Store>(store: &S) -> Vec<(String, String)> {
    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = store.receipt_keys(after.clone(), 3).await.unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last().cloned() else {
            return listed;
        };
        listed.extend(page);
        after = Some(last);
    }
}

async fn same_answers<A: Store, B: Store>(a: &A, b: &B, log: &[Vec<Projected>]) {
    assert_eq!(
        a.applied_size().await.unwrap(),
        b.applied_size().await.unwrap()
    );
    let sources = a.sources().await.unwrap();
    assert_eq!(sources, b.sources().await.unwrap());
    assert!(sources.iter().any(|s| s.revoked_at_index.is_some()));
    for name in sources.iter().map(|s| s.name.as_str()).chain(["nobody"]) {
        assert_eq!(a.source(name).await.unwrap(), b.source(name).await.unwrap());
    }
    let agreements = a.agreements().await.unwrap();
    assert_eq!(agreements, b.agreements().await.unwrap());
    for id in ["energy", "black-sea", "none"] {
        for version in [None, Some(1), Some(2), Some(3)] {
            assert_eq!(
                a.agreement(id, version).await.unwrap(),
                b.agreement(id, version).await.unwrap(),
                "agreement {id} {version:?}"
            );
        }
    }
    for index in 0..log.len() as u64 + 1 {
        let report = a.report(index).await.unwrap();
        assert_eq!(report, b.report(index).await.unwrap(), "report {index}");
        if let Some(report) = report {
            assert_eq!(
                a.report_by_id(&report.agreement_id, &report.report_id)
                    .await
                    .unwrap(),
                Some(report.clone())
            );
            assert_eq!(
                b.report_by_id(&report.agreement_id, &report.report_id)
                    .await
                    .unwrap(),
                Some(report)
            );
        }
    }
    for filter in filters() {
        for limit in [1, 7, 1000] {
            // Page by page, cursors included.
            let mut request = PageRequest::first(limit);
            loop {
                let page_a = a.reports(&filter, request.clone()).await.unwrap();
                let page_b = b.reports(&filter, request.clone()).await.unwrap();
                assert_eq!(page_a, page_b, "{filter:?} limit {limit}");
                match page_a.next_cursor {
                    Some(cursor) => request = PageRequest::after(cursor, limit),
                    None => break,
                }
            }
        }
    }
    let mut subjects = BTreeSet::new();
    let mut receipts = Vec::new();
    for item in log.iter().flatten() {
        match item {
            Projected::Annotation(annotation) => {
                subjects.insert(annotation.subject.clone());
            }
            Projected::Receipt { key, nonce, .. } => receipts.push((key.clone(), nonce.clone())),
            _ => {}
        }
    }
    subjects.insert("nothing".into());
    for subject in &subjects {
        assert_eq!(
            a.annotations(subject).await.unwrap(),
            b.annotations(subject).await.unwrap(),
            "annotations of {subject}"
        );
    }
    for mask in 0_u32..16 {
        let kinds: Vec<AnnotationKind> = AnnotationKind::ALL
            .into_iter()
            .enumerate()
            .filter(|(bit, _)| mask & (1 << bit) != 0)
            .map(|(_, kind)| kind)
            .collect();
        let all = a.annotation_indexes(&kinds, 0..u64::MAX).await.unwrap();
        assert_eq!(
            all,
            b.annotation_indexes(&kinds, 0..u64::MAX).await.unwrap(),
            "{kinds:?}"
        );
        // A range lists the indexes inside it, on both.
        let (from, until) = match (all.first(), all.last()) {
            (Some(first), Some(last)) => (first + 1, *last),
            _ => (0, 1),
        };
        let inside: Vec<u64> = all
            .iter()
            .copied()
            .filter(|index| (from..until).contains(index))
            .collect();
        assert_eq!(
            a.annotation_indexes(&kinds, from..until).await.unwrap(),
            inside,
            "{kinds:?} in {from}..{until}"
        );
        assert_eq!(
            b.annotation_indexes(&kinds, from..until).await.unwrap(),
            inside,
            "{kinds:?} in {from}..{until}"
        );
    }
    // Every receipt's (key, nonce) once, page by page, on both.
    let expected: BTreeSet<(String, String)> = receipts.iter().cloned().collect();
    assert!(expected.len() > 3, "the log has receipts to page through");
    for listed in [all_receipt_keys(a).await, all_receipt_keys(b).await] {
        assert_eq!(listed.len(), expected.len(), "no pair twice");
        assert_eq!(listed.into_iter().collect::<BTreeSet<_>>(), expected);
    }
    receipts.push(("liaison-ua".into(), "absent".into()));
    for (key, nonce) in &receipts {
        assert_eq!(
            a.submission(key, nonce).await.unwrap(),
            b.submission(key, nonce).await.unwrap()
        );
    }
    // Nonces in byte order of key and nonce, whatever the server's collation.
    let nonces = [
        ("b", "0a", 5),
        ("B", "0A", 5),
        ("a", "ff", 5),
        ("a-z", "01", 7),
        ("a_z", "01", 7),
        ("é", "00", 5),
    ];
    let nonces: Vec<SeenNonce> = nonces
        .into_iter()
        .map(|(key, nonce_hex, ts_ms)| SeenNonce {
            key: key.into(),
            nonce_hex: nonce_hex.into(),
            ts_ms,
        })
        .collect();
    a.remember_nonces(&nonces).await.unwrap();
    b.remember_nonces(&nonces).await.unwrap();
    assert_eq!(
        a.load_nonces(0).await.unwrap(),
        b.load_nonces(0).await.unwrap()
    );
    assert_eq!(
        a.forget_nonces(6).await.unwrap(),
        b.forget_nonces(6).await.unwrap()
    );
    assert_eq!(
        a.load_nonces(0).await.unwrap(),
        b.load_nonces(0).await.unwrap()
    );
}

/// The same log replayed into SQLite and into PostgreSQL, cut into batches
/// differently, gives the same answer to every query; and both agree with a
/// second SQLite store fed one entry at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_into_either_backend_gives_the_same_answers() {
    let log = log(400);
    let sqlite = memory().await;
    replay(&sqlite, &log, 7).await;
    let one_by_one = memory().await;
    replay(&one_by_one, &log, 1).await;
    same_answers(&sqlite, &one_by_one, &log).await;
    let Some(db) = TestDb::create("replay").await else {
        return;
    };
    let sqlite = memory().await;
    replay(&sqlite, &log, 7).await;
    replay(&db.store, &log, 13).await;
    same_answers(&sqlite, &db.store, &log).await;
}

// ---------------------------------------------------------------- opening by URL

#[tokio::test]
async fn any_store_defaults_to_sqlite_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = AnyStore::open(None, &data).await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    store
        .apply(0..1, &[Projected::Report(report(0))])
        .await
        .unwrap();
    store.close().await;
    assert!(data.join(truce_store::DATABASE_FILE).exists());
    let again = AnyStore::open(Some("sqlite:"), &data).await.unwrap();
    assert_eq!(again.backend(), "sqlite");
    assert_eq!(again.report(0).await.unwrap(), Some(report(0)));
}

#[tokio::test]
async fn any_store_opens_postgres_urls() {
    let Some(db) = TestDb::create("any_store").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let alias = db.url().replacen("postgres://", "postgresql://", 1);
    for url in [db.url(), alias.as_str()] {
        let store = AnyStore::open(Some(url), dir.path()).await.unwrap();
        assert_eq!(store.backend(), "postgres");
        let size = store.applied_size().await.unwrap();
        store
            .apply(size..size + 1, &[Projected::Report(report(size))])
            .await
            .unwrap();
        assert_eq!(db.store.report(size).await.unwrap(), Some(report(size)));
        store.close().await;
    }
    // Nothing was written to the data directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn postgres_backup_is_refused_with_advice() {
    let Some(db) = TestDb::create("backup").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("snapshot");
    let error = db.store.backup(&dest).await.unwrap_err();
    assert!(
        matches!(error, StoreError::BackupUnsupported { .. }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "a PostgreSQL store cannot be backed up to {}: use pg_dump on the database, or \
             base backups of the server",
            dest.display()
        )
    );
    assert!(!dest.exists());
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://u@h:5/postgres", "t"),
        "postgres://u@h:5/t"
    );
    assert_eq!(
        with_database("postgres://u@h:5/postgres?sslmode=disable", "t"),
        "postgres://u@h:5/t?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h:5", "t"), "postgres://u@h:5/t");
}
