//! Batches: round trips of every record kind, all-or-nothing application,
//! ordering against the applied size, bookkeeping, and reopening a store;
//! each on every backend.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use std::sync::Arc;

use common::{agreement, annotation, report, source, walk};
use truce_store::{
    AnnotationKind, PageRequest, PgStore, Projected, ReportFilter, ReportRecord, SeenNonce,
    SqliteStore, Store, StoreError,
};

async fn a_new_store_is_empty<S: Store>(store: S) {
    assert_eq!(store.applied_size().await.unwrap(), 0);
    assert!(store.sources().await.unwrap().is_empty());
    assert!(store.agreements().await.unwrap().is_empty());
    let page = store
        .reports(&ReportFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next_cursor, None);
}

async fn sources_round_trip_and_are_revoked<S: Store>(store: S) {
    let monitor = source("monitor-1", 0);
    let mut liaison = source("liaison-ua", 1);
    liaison.kind = "party".into();
    liaison.party = Some("UA".into());
    liaison.role = "party".into();
    store
        .apply(
            0..2,
            &[
                Projected::Source(liaison.clone()),
                Projected::Source(monitor.clone()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(store.applied_size().await.unwrap(), 2);
    assert_eq!(
        store.source("liaison-ua").await.unwrap(),
        Some(liaison.clone())
    );
    assert_eq!(store.source("nobody").await.unwrap(), None);
    assert_eq!(
        store.sources().await.unwrap(),
        vec![monitor.clone(), liaison.clone()],
        "in registration order"
    );

    store
        .apply(
            2..4,
            &[Projected::SourceRevoked {
                name: "liaison-ua".into(),
                at_index: 3,
                at_ms: 77,
            }],
        )
        .await
        .unwrap();
    let revoked = store.source("liaison-ua").await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at_index, Some(3));
    assert_eq!(revoked.revoked_at_ms, Some(77));
    assert_eq!(store.applied_size().await.unwrap(), 4);

    let again = store
        .apply(
            4..5,
            &[Projected::SourceRevoked {
                name: "liaison-ua".into(),
                at_index: 4,
                at_ms: 78,
            }],
        )
        .await
        .unwrap_err();
    assert_eq!(
        again.to_string(),
        "source \"liaison-ua\" was already revoked at index 3"
    );
    let unknown = store
        .apply(
            4..5,
            &[Projected::SourceRevoked {
                name: "ghost".into(),
                at_index: 4,
                at_ms: 78,
            }],
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.to_string(), "source \"ghost\" is not registered");
    assert_eq!(store.applied_size().await.unwrap(), 4);
}

async fn a_source_cannot_be_revoked_where_it_is_registered<S: Store>(store: S) {
    let error = store
        .apply(
            0..1,
            &[
                Projected::Source(source("m", 0)),
                Projected::SourceRevoked {
                    name: "m".into(),
                    at_index: 0,
                    at_ms: 1,
                },
            ],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::InvalidRevocation { ref name, registered_at_index: 0, .. } if name == "m"),
        "{error}"
    );
    let mut half = source("h", 0);
    half.revoked_at_index = Some(3);
    let error = store
        .apply(0..4, &[Projected::Source(half)])
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "source \"h\" registered at index 0 cannot be revoked at index 3 without revoked_at_ms"
    );
    assert_eq!(store.applied_size().await.unwrap(), 0);
    assert!(store.sources().await.unwrap().is_empty());
}

async fn a_source_registered_already_revoked_round_trips<S: Store>(store: S) {
    let mut gone = source("gone", 0);
    gone.revoked_at_index = Some(2);
    gone.revoked_at_ms = Some(9);
    store
        .apply(0..3, &[Projected::Source(gone.clone())])
        .await
        .unwrap();
    assert_eq!(store.source("gone").await.unwrap(), Some(gone));
}

async fn agreements_round_trip_by_version_and_interpretation<S: Store>(store: S) {
    let v1 = agreement("energy-2025", 1, "common", 0);
    let v1_ru = agreement("energy-2025", 1, "RU", 1);
    let v2 = agreement("energy-2025", 2, "common", 2);
    let other = agreement("black-sea", 1, "common", 3);
    store
        .apply(
            0..4,
            &[
                Projected::Agreement(other.clone()),
                Projected::Agreement(v2.clone()),
                Projected::Agreement(v1_ru.clone()),
                Projected::Agreement(v1.clone()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        store.agreements().await.unwrap(),
        vec![v1.clone(), v1_ru.clone(), v2.clone(), other.clone()]
    );
    assert_eq!(
        store.agreement("energy-2025", Some(1)).await.unwrap(),
        vec![v1, v1_ru]
    );
    assert_eq!(
        store.agreement("energy-2025", None).await.unwrap(),
        vec![v2]
    );
    assert_eq!(
        store.agreement("black-sea", None).await.unwrap(),
        vec![other]
    );
    assert!(
        store
            .agreement("energy-2025", Some(3))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.agreement("none", None).await.unwrap().is_empty());

    let duplicate = store
        .apply(
            4..5,
            &[Projected::Agreement(agreement(
                "energy-2025",
                2,
                "common",
                4,
            ))],
        )
        .await
        .unwrap_err();
    assert_eq!(
        duplicate.to_string(),
        "agreement \"energy-2025\" version 2 (common) already stored"
    );
}

async fn reports_round_trip_by_index_and_id<S: Store>(store: S) {
    let mut first = report(0);
    first.party = Some("UA".into());
    first.actor = Some("RU".into());
    first.zone_ids = vec!["zone-b".into(), "zone-a".into(), "zone-c".into()];
    first.lon = -0.1;
    first.lat = 51.5;
    first.start_ms = -5;
    let second = report(2);
    store
        .apply(
            0..3,
            &[
                Projected::Report(first.clone()),
                Projected::Report(second.clone()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(store.report(0).await.unwrap(), Some(first.clone()));
    assert_eq!(store.report(2).await.unwrap(), Some(second));
    assert_eq!(store.report(1).await.unwrap(), None);
    assert_eq!(store.report(u64::MAX).await.unwrap(), None);
    assert_eq!(store.report_by_id("a", "r-0").await.unwrap(), Some(first));
    assert_eq!(store.report_by_id("b", "r-0").await.unwrap(), None);
}

async fn annotations_round_trip_by_subject<S: Store>(store: S) {
    let review_a = annotation(3, AnnotationKind::Review, "r-1");
    let review_b = annotation(3, AnnotationKind::Review, "r-2");
    let contest = annotation(1, AnnotationKind::Contest, "r-1");
    let coverage = annotation(0, AnnotationKind::Coverage, "cov-1");
    let retraction = annotation(2, AnnotationKind::Retraction, "r-1");
    store
        .apply(
            0..4,
            &[
                Projected::Annotation(review_a.clone()),
                Projected::Annotation(review_b.clone()),
                Projected::Annotation(contest.clone()),
                Projected::Annotation(coverage.clone()),
                Projected::Annotation(retraction.clone()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        store.annotations("r-1").await.unwrap(),
        vec![contest, retraction, review_a.clone()]
    );
    assert_eq!(store.annotations("r-2").await.unwrap(), vec![review_b]);
    assert_eq!(store.annotations("cov-1").await.unwrap(), vec![coverage]);
    assert!(store.annotations("r-9").await.unwrap().is_empty());

    let twice = Projected::Annotation(annotation(4, AnnotationKind::Review, "r-1"));
    let duplicate = store
        .apply(4..5, &[twice.clone(), twice])
        .await
        .unwrap_err();
    assert_eq!(
        duplicate.to_string(),
        "annotation of \"r-1\" at index 4 already stored"
    );
    assert_eq!(store.annotations("r-1").await.unwrap().len(), 3);
}

async fn a_batch_that_fails_half_way_leaves_nothing<S: Store>(store: S) {
    store
        .apply(
            0..2,
            &[
                Projected::Report(report(0)),
                Projected::Source(source("m", 1)),
            ],
        )
        .await
        .unwrap();

    // The second report reuses report id r-0 of agreement a.
    let mut clash = report(3);
    clash.report_id = "r-0".into();
    let mut kept = report(2);
    kept.zone_ids = vec!["z".into()];
    let batch = [
        Projected::Report(kept.clone()),
        Projected::Source(source("n", 4)),
        Projected::Receipt {
            key: "k".into(),
            nonce: "n1".into(),
            log_index: 2,
        },
        Projected::Report(clash),
    ];
    let error = store.apply(2..5, &batch).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "report \"r-0\" of agreement \"a\" already stored"
    );
    assert_eq!(store.applied_size().await.unwrap(), 2);
    assert_eq!(store.report(2).await.unwrap(), None);
    assert_eq!(store.source("n").await.unwrap(), None);
    assert_eq!(store.submission("k", "n1").await.unwrap(), None);
    let zoned = ReportFilter {
        zone_id: Some("z".into()),
        ..ReportFilter::default()
    };
    assert!(walk(&store, &zoned, 10).await.is_empty());

    // Nothing of it lingers: the same items without the clash go in.
    store.apply(2..5, &batch[..3]).await.unwrap();
    assert_eq!(store.applied_size().await.unwrap(), 5);
    assert_eq!(store.report(2).await.unwrap(), Some(kept));
    assert_eq!(walk(&store, &zoned, 10).await.len(), 1);
}

async fn duplicates_are_named<S: Store>(store: S) {
    store
        .apply(
            0..3,
            &[
                Projected::Source(source("m", 0)),
                Projected::Report(report(1)),
                Projected::Agreement(agreement("a", 1, "common", 2)),
            ],
        )
        .await
        .unwrap();
    let twice = store
        .apply(
            3..4,
            &[Projected::Report(report(3)), Projected::Report(report(3))],
        )
        .await
        .unwrap_err();
    assert_eq!(twice.to_string(), "report 3 already stored");
    let mut same_id = report(3);
    same_id.report_id = "r-1".into();
    let same_id = store
        .apply(3..4, &[Projected::Report(same_id)])
        .await
        .unwrap_err();
    assert_eq!(
        same_id.to_string(),
        "report \"r-1\" of agreement \"a\" already stored"
    );
    let same_name = store
        .apply(3..4, &[Projected::Source(source("m", 3))])
        .await
        .unwrap_err();
    assert_eq!(same_name.to_string(), "source \"m\" already stored");
    let same_version = store
        .apply(
            3..4,
            &[Projected::Agreement(agreement("a", 1, "common", 3))],
        )
        .await
        .unwrap_err();
    assert_eq!(
        same_version.to_string(),
        "agreement \"a\" version 1 (common) already stored"
    );
    let registration_clash = store
        .apply(
            3..4,
            &[
                Projected::Source(source("x", 3)),
                Projected::Source(source("y", 3)),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(
        registration_clash.to_string(),
        "source registration at index 3 already stored"
    );
    let agreement_clash = store
        .apply(
            3..4,
            &[
                Projected::Agreement(agreement("b", 1, "common", 3)),
                Projected::Agreement(agreement("c", 1, "common", 3)),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(
        agreement_clash.to_string(),
        "agreement at index 3 already stored"
    );
    assert_eq!(store.applied_size().await.unwrap(), 3);
}

async fn batches_must_continue_where_the_store_left_off<S: Store>(store: S) {
    store.apply(0..10, &[]).await.unwrap();
    let error = store
        .apply(12..15, &[Projected::Report(report(12))])
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "batch starts at 12 but the store has applied 10"
    );
    let error = store.apply(8..15, &[]).await.unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::BatchOutOfOrder {
                start: 8,
                applied: 10
            }
        ),
        "{error}"
    );
    assert_eq!(store.applied_size().await.unwrap(), 10);
    store.apply(10..10, &[]).await.unwrap();
    assert_eq!(store.applied_size().await.unwrap(), 10);
    #[allow(clippy::reversed_empty_ranges)]
    let error = store.apply(10..9, &[]).await.unwrap_err();
    assert_eq!(error.to_string(), "batch range 10..9 ends before it starts");
}

async fn items_must_lie_inside_their_batch<S: Store>(store: S) {
    let error = store
        .apply(0..5, &[Projected::Report(report(20))])
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "report \"r-20\" at index 20 lies outside the batch's range 0..5"
    );
    let error = store
        .apply(
            0..5,
            &[Projected::Receipt {
                key: "k".into(),
                nonce: "n".into(),
                log_index: 5,
            }],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::OutsideBatch { index: 5, .. }),
        "{error}"
    );
    let error = store.apply(0..u64::MAX, &[]).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "batch end 18446744073709551615 exceeds the largest log index the store can hold"
    );
    assert_eq!(store.applied_size().await.unwrap(), 0);
}

async fn reports_the_schema_cannot_hold_faithfully_are_refused<S: Store>(store: S) {
    let mut nan = report(0);
    nan.lat = f64::NAN;
    let error = store
        .apply(0..1, &[Projected::Report(nan)])
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "report 0 field lat is not a finite number: NaN"
    );
    let mut reversed = report(0);
    reversed.start_ms = 10;
    reversed.end_ms = 9;
    let error = store
        .apply(0..1, &[Projected::Report(reversed)])
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "report 0 has start_ms 10 after end_ms 9");
    let mut twice = report(0);
    twice.zone_ids = vec!["z".into(), "z".into()];
    let error = store
        .apply(0..1, &[Projected::Report(twice)])
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "report 0 lists zone \"z\" twice in zone_ids"
    );
    assert_eq!(store.applied_size().await.unwrap(), 0);
}

async fn receipts_give_a_retry_its_original_entry<S: Store>(store: S) {
    store
        .apply(
            0..2,
            &[
                Projected::Report(report(1)),
                Projected::Receipt {
                    key: "liaison-ua".into(),
                    nonce: "00ff".into(),
                    log_index: 1,
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        store.submission("liaison-ua", "00ff").await.unwrap(),
        Some(1)
    );
    assert_eq!(store.submission("liaison-ua", "00fe").await.unwrap(), None);
    assert_eq!(store.submission("liaison-ru", "00ff").await.unwrap(), None);
    let again = store
        .apply(
            2..3,
            &[Projected::Receipt {
                key: "liaison-ua".into(),
                nonce: "00ff".into(),
                log_index: 2,
            }],
        )
        .await
        .unwrap_err();
    assert_eq!(
        again.to_string(),
        "receipt for key \"liaison-ua\" nonce \"00ff\" already stored"
    );
    assert_eq!(store.applied_size().await.unwrap(), 2);
}

fn nonce(key: &str, nonce_hex: &str, ts_ms: i64) -> SeenNonce {
    SeenNonce {
        key: key.into(),
        nonce_hex: nonce_hex.into(),
        ts_ms,
    }
}

async fn nonces_are_remembered_loaded_and_forgotten<S: Store>(store: S) {
    store
        .remember_nonces(&[
            nonce("b", "01", 20),
            nonce("a", "02", 10),
            nonce("a", "01", 20),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.load_nonces(0).await.unwrap(),
        vec![
            nonce("a", "02", 10),
            nonce("a", "01", 20),
            nonce("b", "01", 20)
        ]
    );
    assert_eq!(
        store.load_nonces(20).await.unwrap(),
        vec![nonce("a", "01", 20), nonce("b", "01", 20)]
    );

    // A replay refuses the whole call.
    let error = store
        .remember_nonces(&[nonce("c", "01", 30), nonce("a", "02", 31)])
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "nonce \"02\" of key \"a\" already remembered"
    );
    assert_eq!(store.load_nonces(30).await.unwrap(), vec![]);

    assert_eq!(store.forget_nonces(20).await.unwrap(), 1);
    assert_eq!(store.forget_nonces(20).await.unwrap(), 0);
    assert_eq!(store.load_nonces(i64::MIN).await.unwrap().len(), 2);
    // A forgotten nonce can be remembered again.
    store
        .remember_nonces(&[nonce("a", "02", 40)])
        .await
        .unwrap();
    assert_eq!(store.forget_nonces(i64::MAX).await.unwrap(), 3);
}

/// What [`keeps_everything_when_reopened`] writes.
fn everything() -> (Vec<Projected>, ReportRecord) {
    let mut zoned = report(2);
    zoned.zone_ids = vec!["z1".into(), "z0".into()];
    let batch = vec![
        Projected::Source(source("m", 0)),
        Projected::Agreement(agreement("a", 1, "common", 1)),
        Projected::Report(zoned.clone()),
        Projected::Annotation(annotation(3, AnnotationKind::Review, "r-2")),
        Projected::Receipt {
            key: "m".into(),
            nonce: "aa".into(),
            log_index: 2,
        },
    ];
    (batch, zoned)
}

/// Writes [`everything`] through `first`, then reads it back through
/// `reopened`, a store opened afresh on the same database.
async fn keeps_everything_when_reopened<S: Store>(first: S, reopened: impl AsyncFnOnce(S) -> S) {
    let (batch, zoned) = everything();
    first.apply(0..4, &batch).await.unwrap();
    first.remember_nonces(&[nonce("m", "bb", 9)]).await.unwrap();
    let store = reopened(first).await;
    assert_eq!(store.applied_size().await.unwrap(), 4);
    assert_eq!(store.source("m").await.unwrap(), Some(source("m", 0)));
    assert_eq!(
        store.agreements().await.unwrap(),
        vec![agreement("a", 1, "common", 1)]
    );
    assert_eq!(store.report(2).await.unwrap(), Some(zoned));
    assert_eq!(
        store.annotations("r-2").await.unwrap(),
        vec![annotation(3, AnnotationKind::Review, "r-2")]
    );
    assert_eq!(store.submission("m", "aa").await.unwrap(), Some(2));
    assert_eq!(
        store.load_nonces(0).await.unwrap(),
        vec![nonce("m", "bb", 9)]
    );
    // And it goes on from where it was.
    store
        .apply(4..5, &[Projected::Report(report(4))])
        .await
        .unwrap();
    assert_eq!(store.applied_size().await.unwrap(), 5);
}

#[tokio::test]
async fn sqlite_file_store_keeps_everything_when_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = SqliteStore::open(&data).await.unwrap();
    assert!(store.path().unwrap().ends_with("data/truce.sqlite3"));
    keeps_everything_when_reopened(store, async |first: SqliteStore| {
        first.close().await;
        SqliteStore::open(&data).await.unwrap()
    })
    .await;
}

#[tokio::test]
async fn postgres_store_keeps_everything_when_reopened() {
    let Some(db) = common::pg::TestDb::create("reopened").await else {
        return;
    };
    let url = db.url().to_owned();
    keeps_everything_when_reopened(db.store.clone(), async |first: PgStore| {
        first.close().await;
        PgStore::connect(&url).await.unwrap()
    })
    .await;
}

/// What a server does: hold the store in an `Arc` and use it from spawned
/// tasks (which needs every future to be `Send`).
async fn serve_from_tasks<S: Store + 'static>(store: Arc<S>) -> (u64, usize) {
    let writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for start in 0..20 {
                store
                    .apply(start..start + 1, &[Projected::Report(report(start))])
                    .await
                    .unwrap();
            }
        })
    };
    let reader = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let mut last = 0;
            for _ in 0..20 {
                let size = store.applied_size().await.unwrap();
                assert!(size >= last, "the applied size never goes back");
                last = size;
                tokio::task::yield_now().await;
            }
        })
    };
    writer.await.unwrap();
    reader.await.unwrap();
    let all = walk(store.as_ref(), &ReportFilter::default(), 1000).await;
    (store.applied_size().await.unwrap(), all.len())
}

async fn a_shared_store_serves_tasks<S: Store + 'static>(store: S) {
    assert_eq!(serve_from_tasks(Arc::new(store)).await, (20, 20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_store_serves_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    a_shared_store_serves_tasks(store).await;
}

on_every_backend!(
    a_new_store_is_empty,
    sources_round_trip_and_are_revoked,
    a_source_cannot_be_revoked_where_it_is_registered,
    a_source_registered_already_revoked_round_trips,
    agreements_round_trip_by_version_and_interpretation,
    reports_round_trip_by_index_and_id,
    annotations_round_trip_by_subject,
    a_batch_that_fails_half_way_leaves_nothing,
    duplicates_are_named,
    batches_must_continue_where_the_store_left_off,
    items_must_lie_inside_their_batch,
    reports_the_schema_cannot_hold_faithfully_are_refused,
    receipts_give_a_retry_its_original_entry,
    nonces_are_remembered_loaded_and_forgotten,
    a_shared_store_serves_tasks,
);
