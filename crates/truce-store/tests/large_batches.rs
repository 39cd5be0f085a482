//! Large batches mixing every kind of item: stored exactly as their items
//! say, and refused, whole, with the same error as item by item in the
//! batch's order, wherever in the batch the problem lies; each on every
//! backend.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use std::time::Duration;

use common::pg::TestDb;
use common::{agreement, annotation, report, source, walk};
use truce_store::{
    AnnotationKind, Projected, ReportFilter, ReportRecord, SeenNonce, Store, StoreError,
};

/// How many entries [`mixed`] projects.
const ENTRIES: u64 = 600;

/// A batch for entries `0..ENTRIES` with every kind of item: sources (one
/// registered and revoked within the batch), agreements, reports with no
/// zone or several in an order of their own and with or without party and
/// actor, annotations (several subjects for one entry) and receipts.
fn mixed() -> Vec<Projected> {
    let mut items = Vec::new();
    for index in 0..ENTRIES {
        match index % 10 {
            0 => {
                let mut record = source(&format!("src-{index}"), index);
                record.party = index.is_multiple_of(20).then(|| "UA".to_owned());
                items.push(Projected::Source(record));
            }
            1 if index > 100 => items.push(Projected::SourceRevoked {
                name: format!("src-{}", index - 91),
                at_index: index,
                at_ms: 7_000 + i64::try_from(index).unwrap(),
            }),
            2 => items.push(Projected::Agreement(agreement(
                "a",
                u32::try_from(index).unwrap(),
                if index.is_multiple_of(4) {
                    "common"
                } else {
                    "UA"
                },
                index,
            ))),
            3 => {
                for subject in ["r-5", "r-6", "r-7"] {
                    items.push(Projected::Annotation(annotation(
                        index,
                        AnnotationKind::ALL[usize::try_from(index % 4).unwrap()],
                        subject,
                    )));
                }
            }
            _ => {
                items.push(Projected::Report(zoned(index)));
                if index.is_multiple_of(2) {
                    items.push(Projected::Receipt {
                        key: format!("key-{}", index % 3),
                        nonce: format!("{index:04x}"),
                        log_index: index,
                    });
                }
            }
        }
    }
    items
}

/// The report at `index`, with up to three zones in a scrambled order and
/// a party and actor only some of the time.
fn zoned(index: u64) -> ReportRecord {
    let zones = ["z2", "z0", "z1"];
    let count = usize::try_from(index % 4).unwrap();
    ReportRecord {
        party: index.is_multiple_of(3).then(|| "RU".to_owned()),
        actor: index.is_multiple_of(5).then(|| "UA".to_owned()),
        lon: 30.0 + f64::from(u32::try_from(index).unwrap()) * 1e-3,
        zone_ids: zones[..count].iter().map(|&zone| zone.to_owned()).collect(),
        ..report(index)
    }
}

async fn a_large_mixed_batch_is_stored_as_its_items_say<S: Store>(store: S) {
    let batch = mixed();
    store.apply(0..ENTRIES, &batch).await.unwrap();
    assert_eq!(store.applied_size().await.unwrap(), ENTRIES);
    let mut reports = Vec::new();
    let mut annotated = 0;
    for item in &batch {
        match item {
            Projected::Source(record) => {
                let stored = store.source(&record.name).await.unwrap().unwrap();
                assert_eq!(stored.registered_at_index, record.registered_at_index);
                assert_eq!(stored.party, record.party);
            }
            Projected::SourceRevoked {
                name,
                at_index,
                at_ms,
            } => {
                let stored = store.source(name).await.unwrap().unwrap();
                assert_eq!(stored.revoked_at_index, Some(*at_index));
                assert_eq!(stored.revoked_at_ms, Some(*at_ms));
            }
            Projected::Agreement(record) => {
                let stored = store
                    .agreement(&record.id, Some(record.version))
                    .await
                    .unwrap();
                assert_eq!(stored, vec![record.clone()]);
            }
            Projected::Report(record) => {
                assert_eq!(
                    store.report(record.log_index).await.unwrap().as_ref(),
                    Some(record)
                );
                reports.push(record.clone());
            }
            Projected::Annotation(_) => annotated += 1,
            Projected::Receipt {
                key,
                nonce,
                log_index,
            } => {
                assert_eq!(
                    store.submission(key, nonce).await.unwrap(),
                    Some(*log_index)
                );
            }
        }
    }
    assert_eq!(store.sources().await.unwrap().len(), 60);
    let mut stored_annotations = 0;
    for subject in ["r-5", "r-6", "r-7"] {
        let about = store.annotations(subject).await.unwrap();
        for record in &about {
            assert!(batch.contains(&Projected::Annotation(record.clone())));
        }
        stored_annotations += about.len();
    }
    assert_eq!(stored_annotations, annotated);
    assert_eq!(walk(&store, &ReportFilter::default(), 100).await, reports);
    for zone in ["z0", "z1", "z2"] {
        let filter = ReportFilter {
            zone_id: Some(zone.into()),
            ..ReportFilter::default()
        };
        let expected: Vec<ReportRecord> = reports
            .iter()
            .filter(|report| report.zone_ids.iter().any(|id| id == zone))
            .cloned()
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(walk(&store, &filter, 100).await, expected);
    }
}

/// Applies `batch` for `0..ENTRIES`, expects it refused with `message`, and
/// checks that nothing of it was stored.
async fn refused<S: Store>(store: &S, batch: &[Projected], message: &str) {
    let error = store.apply(0..ENTRIES, batch).await.unwrap_err();
    assert_eq!(error.to_string(), message);
    assert_eq!(store.applied_size().await.unwrap(), 0);
    assert!(store.sources().await.unwrap().is_empty());
    assert!(store.agreements().await.unwrap().is_empty());
    assert!(walk(store, &ReportFilter::default(), 100).await.is_empty());
    assert!(store.annotations("r-5").await.unwrap().is_empty());
    assert_eq!(store.submission("key-1", "0004").await.unwrap(), None);
}

/// The position in `batch` of the report at `index`.
fn report_at(batch: &[Projected], index: u64) -> usize {
    batch
        .iter()
        .position(|item| matches!(item, Projected::Report(record) if record.log_index == index))
        .unwrap()
}

async fn a_problem_deep_in_a_large_batch_refuses_it_whole<S: Store>(store: S) {
    // A report reusing an earlier report's id, near the end.
    let mut batch = mixed();
    let at = report_at(&batch, 594);
    let mut clash = zoned(594);
    clash.report_id = "r-14".into();
    batch[at] = Projected::Report(clash);
    refused(
        &store,
        &batch,
        "report \"r-14\" of agreement \"a\" already stored",
    )
    .await;

    // A receipt repeating an earlier one, behind the report clash in the
    // batch's order but written before it.
    let mut batch = mixed();
    let at = report_at(&batch, 594);
    let mut clash = zoned(594);
    clash.report_id = "r-14".into();
    batch[at] = Projected::Report(clash);
    batch.insert(
        report_at(&batch, 304),
        Projected::Receipt {
            key: "key-1".into(),
            nonce: "0004".into(),
            log_index: 304,
        },
    );
    refused(
        &store,
        &batch,
        "receipt for key \"key-1\" nonce \"0004\" already stored",
    )
    .await;

    // A report the schema cannot hold, ahead of a duplicate source: the
    // report is named; and the other way round, the source.
    let mut batch = mixed();
    let at = report_at(&batch, 205);
    let mut infinite = zoned(205);
    infinite.lat = f64::INFINITY;
    batch[at] = Projected::Report(infinite);
    batch.push(Projected::Source(source("src-10", 599)));
    refused(
        &store,
        &batch,
        "report 205 field lat is not a finite number: inf",
    )
    .await;
    let mut batch = mixed();
    batch.insert(1, Projected::Source(source("src-0", 599)));
    let at = report_at(&batch, 205);
    let mut infinite = zoned(205);
    infinite.lat = f64::INFINITY;
    batch[at] = Projected::Report(infinite);
    refused(&store, &batch, "source \"src-0\" already stored").await;

    // Two annotations of one subject at one index.
    let mut batch = mixed();
    batch.push(Projected::Annotation(annotation(
        593,
        AnnotationKind::Review,
        "r-6",
    )));
    refused(
        &store,
        &batch,
        "annotation of \"r-6\" at index 593 already stored",
    )
    .await;

    // The refused batches left nothing: the clean one goes in whole.
    store.apply(0..ENTRIES, &mixed()).await.unwrap();
    assert_eq!(store.applied_size().await.unwrap(), ENTRIES);
}

/// Each batch holds two reports, so that it goes the bulk way where there is one.
async fn revocations_see_only_the_registrations_before_them<S: Store>(store: S) {
    // Revoked before it is registered in the same batch: unknown.
    let error = store
        .apply(
            0..3,
            &[
                Projected::Report(report(1)),
                Projected::Report(report(2)),
                Projected::SourceRevoked {
                    name: "n".into(),
                    at_index: 2,
                    at_ms: 9_000,
                },
                Projected::Source(source("n", 0)),
            ],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::UnknownSource { name } if name == "n"),
        "{error:?}"
    );
    assert_eq!(store.source("n").await.unwrap(), None);
    assert_eq!(store.report(1).await.unwrap(), None);

    // Registered, revoked, then registered again under the same name.
    let error = store
        .apply(
            0..3,
            &[
                Projected::Report(report(1)),
                Projected::Report(report(2)),
                Projected::Source(source("n", 0)),
                Projected::SourceRevoked {
                    name: "n".into(),
                    at_index: 1,
                    at_ms: 9_000,
                },
                Projected::Source(source("n", 2)),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "source \"n\" already stored");

    // Revoked twice in one batch.
    let error = store
        .apply(
            0..3,
            &[
                Projected::Report(report(1)),
                Projected::Report(report(2)),
                Projected::Source(source("n", 0)),
                Projected::SourceRevoked {
                    name: "n".into(),
                    at_index: 1,
                    at_ms: 9_000,
                },
                Projected::SourceRevoked {
                    name: "n".into(),
                    at_index: 2,
                    at_ms: 9_001,
                },
            ],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::AlreadyRevoked { name, at_index: 1 } if name == "n"),
        "{error:?}"
    );
    assert_eq!(store.applied_size().await.unwrap(), 0);
    assert!(store.sources().await.unwrap().is_empty());
}

fn nonce(n: u64) -> SeenNonce {
    SeenNonce {
        key: format!("key-{}", n % 3),
        nonce_hex: format!("{n:08x}"),
        ts_ms: 1_000 + i64::try_from(n).unwrap(),
    }
}

async fn many_nonces_are_remembered_or_refused_whole<S: Store>(store: S) {
    let first: Vec<SeenNonce> = (0..500).map(nonce).collect();
    store.remember_nonces(&first).await.unwrap();
    assert_eq!(store.load_nonces(0).await.unwrap().len(), 500);

    // One seen before, deep in a call: named, and nothing of the call kept.
    let mut again: Vec<SeenNonce> = (500..1000).map(nonce).collect();
    again.insert(400, nonce(7));
    let error = store.remember_nonces(&again).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "nonce \"00000007\" of key \"key-1\" already remembered"
    );
    assert_eq!(store.load_nonces(0).await.unwrap().len(), 500);

    // One repeated within the call: the repeat is named; the first new
    // nonce found seen is named even when a later one was seen before.
    let mut twice: Vec<SeenNonce> = (500..1000).map(nonce).collect();
    twice.insert(300, nonce(520));
    twice.push(nonce(3));
    let error = store.remember_nonces(&twice).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "nonce \"00000208\" of key \"key-1\" already remembered"
    );
    assert_eq!(store.load_nonces(0).await.unwrap().len(), 500);

    store
        .remember_nonces(&(500..1000).map(nonce).collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(store.load_nonces(0).await.unwrap().len(), 1000);
    store.remember_nonces(&[]).await.unwrap();
}

/// The connection of a batch written the bulk way is cut while its
/// transaction is open, after its sources and reports statements and while
/// its receipts statement waits for a lock: the batch fails with a database
/// error, nothing of it is stored, and it applies whole afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_bulk_batch_cut_off_leaves_nothing() {
    let Some(db) = TestDb::create("bulk_cut_off").await else {
        return;
    };
    // A session holding a lock that keeps writers out of the receipts table.
    let mut blocker = db.connection().await;
    sqlx::raw_sql("BEGIN; LOCK TABLE receipts IN SHARE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let applying = {
        let store = db.store.clone();
        tokio::spawn(async move { store.apply(0..ENTRIES, &mixed()).await })
    };
    let mut admin = db.admin_connection().await;
    let mut pid = None;
    for _ in 0..500 {
        pid = sqlx::query_scalar::<_, i32>(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 \
             AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO receipts%UNNEST%'",
        )
        .bind(&db.db.name)
        .fetch_optional(&mut admin)
        .await
        .unwrap();
        if pid.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = pid.expect("the batch never reached its receipts");
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(killed);
    let error = tokio::time::timeout(Duration::from_secs(30), applying)
        .await
        .expect("the cut batch returns")
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, StoreError::Database { .. }), "{error:?}");
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap();

    let store = db.another_handle().await;
    assert_eq!(store.applied_size().await.unwrap(), 0);
    assert!(store.sources().await.unwrap().is_empty());
    assert!(walk(&store, &ReportFilter::default(), 100).await.is_empty());
    store.apply(0..ENTRIES, &mixed()).await.unwrap();
    assert_eq!(db.store.applied_size().await.unwrap(), ENTRIES);
    assert_eq!(
        walk(&db.store, &ReportFilter::default(), 100).await.len(),
        mixed()
            .iter()
            .filter(|item| matches!(item, Projected::Report(_)))
            .count()
    );
}

on_every_backend!(
    a_large_mixed_batch_is_stored_as_its_items_say,
    a_problem_deep_in_a_large_batch_refuses_it_whole,
    revocations_see_only_the_registrations_before_them,
    many_nonces_are_remembered_or_refused_whole,
);
