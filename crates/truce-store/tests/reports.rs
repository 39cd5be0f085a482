//! Report queries: every filter alone and combined, and cursor pagination,
//! on every backend.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use std::collections::BTreeSet;

use common::{indexes, matches, memory, report, walk};
use proptest::prelude::*;
use truce_store::{
    BoundingBox, PageRequest, Projected, ReportFilter, ReportRecord, Store, StoreError, TimeWindow,
    encode_cursor,
};

/// Six reports with distinct attributes: index, agreement, party, actor,
/// source kind, zones, time span, longitude and latitude (`-` for none).
const TABLE: &str = "
    0  a  UA  RU  party    z1     100  200  30.0  47.0
    1  a  RU  UA  party    z1,z2  150  150  31.0  47.5
    2  a  -   RU  monitor  z2     300  400  35.0  48.0
    3  b  UA  RU  media    -      50   99   30.5  47.2
    4  a  UA  -   osint    z3     201  299  37.0  46.0
    5  b  RU  UA  monitor  z1     400  500  29.9  46.9
";

fn table() -> Vec<ReportRecord> {
    let optional = |text: &str| (text != "-").then(|| text.to_owned());
    TABLE
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            ReportRecord {
                agreement_id: cells[1].into(),
                party: optional(cells[2]),
                actor: optional(cells[3]),
                source_kind: cells[4].into(),
                zone_ids: optional(cells[5])
                    .map(|zones| zones.split(',').map(str::to_owned).collect())
                    .unwrap_or_default(),
                start_ms: cells[6].parse().unwrap(),
                end_ms: cells[7].parse().unwrap(),
                lon: cells[8].parse().unwrap(),
                lat: cells[9].parse().unwrap(),
                ..report(cells[0].parse().unwrap())
            }
        })
        .collect()
}

async fn table_store<S: Store>(store: S) -> S {
    let batch: Vec<Projected> = table().into_iter().map(Projected::Report).collect();
    store.apply(0..6, &batch).await.unwrap();
    store
}

async fn found<S: Store>(store: &S, filter: &ReportFilter) -> Vec<u64> {
    let reports = walk(store, filter, 1000).await;
    let expected: Vec<u64> = indexes(&table())
        .into_iter()
        .zip(table())
        .filter(|(_, report)| matches(filter, report))
        .map(|(index, _)| index)
        .collect();
    assert_eq!(indexes(&reports), expected, "the oracle disagrees");
    indexes(&reports)
}

fn window(start_ms: i64, end_ms: i64) -> Option<TimeWindow> {
    Some(TimeWindow { start_ms, end_ms })
}

fn bbox(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> Option<BoundingBox> {
    Some(BoundingBox {
        min_lon,
        min_lat,
        max_lon,
        max_lat,
    })
}

fn set(indexes: &[u64]) -> Option<BTreeSet<u64>> {
    Some(indexes.iter().copied().collect())
}

async fn each_filter_alone<S: Store>(store: S) {
    let store = table_store(store).await;
    let none = ReportFilter::default();
    assert_eq!(found(&store, &none).await, [0, 1, 2, 3, 4, 5]);
    let cases: Vec<(ReportFilter, Vec<u64>)> = vec![
        (
            ReportFilter {
                agreement_id: Some("a".into()),
                ..none.clone()
            },
            vec![0, 1, 2, 4],
        ),
        (
            ReportFilter {
                agreement_id: Some("b".into()),
                ..none.clone()
            },
            vec![3, 5],
        ),
        (
            ReportFilter {
                agreement_id: Some("c".into()),
                ..none.clone()
            },
            vec![],
        ),
        (
            ReportFilter {
                zone_id: Some("z1".into()),
                ..none.clone()
            },
            vec![0, 1, 5],
        ),
        (
            ReportFilter {
                zone_id: Some("z2".into()),
                ..none.clone()
            },
            vec![1, 2],
        ),
        (
            ReportFilter {
                zone_id: Some("z3".into()),
                ..none.clone()
            },
            vec![4],
        ),
        (
            ReportFilter {
                party: Some("UA".into()),
                ..none.clone()
            },
            vec![0, 3, 4],
        ),
        (
            ReportFilter {
                party: Some("RU".into()),
                ..none.clone()
            },
            vec![1, 5],
        ),
        (
            ReportFilter {
                actor: Some("RU".into()),
                ..none.clone()
            },
            vec![0, 2, 3],
        ),
        (
            ReportFilter {
                source_kind: Some("monitor".into()),
                ..none.clone()
            },
            vec![2, 5],
        ),
        (
            ReportFilter {
                time: window(150, 250),
                ..none.clone()
            },
            vec![0, 1, 4],
        ),
        // Both ends are inclusive.
        (
            ReportFilter {
                time: window(99, 100),
                ..none.clone()
            },
            vec![0, 3],
        ),
        (
            ReportFilter {
                time: window(501, 600),
                ..none.clone()
            },
            vec![],
        ),
        // Points on the edge are inside.
        (
            ReportFilter {
                bbox: bbox(30.0, 47.0, 31.0, 47.5),
                ..none.clone()
            },
            vec![0, 1, 3],
        ),
        (
            ReportFilter {
                bbox: bbox(-180.0, -90.0, 180.0, 90.0),
                ..none.clone()
            },
            vec![0, 1, 2, 3, 4, 5],
        ),
        (
            ReportFilter {
                bbox: bbox(37.0, 46.0, 37.0, 46.0),
                ..none.clone()
            },
            vec![4],
        ),
        (
            ReportFilter {
                log_indexes: set(&[1, 4, 5, 99, u64::MAX]),
                ..none.clone()
            },
            vec![1, 4, 5],
        ),
        (
            ReportFilter {
                log_indexes: set(&[]),
                ..none.clone()
            },
            vec![],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(found(&store, &filter).await, expected, "{filter:?}");
    }
}

async fn filters_combined<S: Store>(store: S) {
    let store = table_store(store).await;
    let none = ReportFilter::default();
    let cases: Vec<(ReportFilter, Vec<u64>)> = vec![
        (
            ReportFilter {
                agreement_id: Some("a".into()),
                party: Some("UA".into()),
                ..none.clone()
            },
            vec![0, 4],
        ),
        (
            ReportFilter {
                agreement_id: Some("a".into()),
                party: Some("UA".into()),
                zone_id: Some("z1".into()),
                ..none.clone()
            },
            vec![0],
        ),
        (
            ReportFilter {
                bbox: bbox(30.0, 47.0, 31.0, 47.5),
                actor: Some("RU".into()),
                time: window(0, 150),
                ..none.clone()
            },
            vec![0, 3],
        ),
        (
            ReportFilter {
                bbox: bbox(30.0, 47.0, 31.0, 47.5),
                actor: Some("RU".into()),
                time: window(0, 150),
                log_indexes: set(&[3, 4]),
                ..none.clone()
            },
            vec![3],
        ),
        (
            ReportFilter {
                source_kind: Some("monitor".into()),
                zone_id: Some("z1".into()),
                ..none.clone()
            },
            vec![5],
        ),
        (
            ReportFilter {
                agreement_id: Some("a".into()),
                zone_id: Some("z1".into()),
                party: Some("UA".into()),
                actor: Some("RU".into()),
                source_kind: Some("party".into()),
                time: window(0, 1000),
                bbox: bbox(-180.0, -90.0, 180.0, 90.0),
                log_indexes: set(&[0, 1]),
            },
            vec![0],
        ),
        (
            ReportFilter {
                party: Some("RU".into()),
                actor: Some("RU".into()),
                ..none.clone()
            },
            vec![],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(found(&store, &filter).await, expected, "{filter:?}");
    }
}

async fn the_box_edge_is_decided_by_the_exact_coordinates<S: Store>(store: S) {
    // 32-bit index bounds (SQLite's R*Tree, PostGIS's GiST) cannot tell these
    // points apart; the stored doubles can.
    let inside = ReportRecord {
        lon: 30.000_000_1,
        lat: 47.0,
        ..report(0)
    };
    let outside = ReportRecord {
        lon: 30.000_000_3,
        lat: 47.0,
        ..report(1)
    };
    store
        .apply(
            0..2,
            &[Projected::Report(inside), Projected::Report(outside)],
        )
        .await
        .unwrap();
    let filter = ReportFilter {
        bbox: bbox(29.0, 46.0, 30.000_000_2, 48.0),
        ..ReportFilter::default()
    };
    assert_eq!(indexes(&walk(&store, &filter, 10).await), [0]);
    let filter = ReportFilter {
        bbox: bbox(30.000_000_2, 46.0, 31.0, 48.0),
        ..ReportFilter::default()
    };
    assert_eq!(indexes(&walk(&store, &filter, 10).await), [1]);
}

async fn pages_walk_every_report_once_in_index_order<S: Store>(store: S) {
    // 2500 reports at odd indexes, with even entries that project to nothing.
    let batch: Vec<Projected> = (0..2500)
        .map(|n| Projected::Report(report(2 * n + 1)))
        .collect();
    store.apply(0..5001, &batch).await.unwrap();
    let expected: Vec<u64> = (0..2500).map(|n| 2 * n + 1).collect();
    for limit in [1, 7, 1000] {
        let all = walk(&store, &ReportFilter::default(), limit).await;
        assert_eq!(indexes(&all), expected, "limit {limit}");
    }
    // The default page is 100 long.
    let first = store
        .reports(&ReportFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(first.items.len(), 100);
    assert_eq!(first.next_cursor, Some(encode_cursor(199)));
    // A page that ends exactly at the last report has no cursor.
    let exact = store
        .reports(
            &ReportFilter::default(),
            PageRequest::after(encode_cursor(4997), 2),
        )
        .await
        .unwrap();
    assert_eq!(indexes(&exact.items), [4999]);
    assert_eq!(exact.next_cursor, None);
    let past_the_end = store
        .reports(
            &ReportFilter::default(),
            PageRequest::after(encode_cursor(u64::MAX), 2),
        )
        .await
        .unwrap();
    assert!(past_the_end.items.is_empty());
}

async fn bad_page_requests_and_filters_are_refused<S: Store>(store: S) {
    let store = table_store(store).await;
    let all = ReportFilter::default();
    let error = store
        .reports(&all, PageRequest::after("xx", 10))
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "invalid cursor \"xx\"");
    let error = store
        .reports(&all, PageRequest::first(0))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::InvalidLimit {
                limit: 0,
                max: 1000
            }
        ),
        "{error}"
    );
    let error = store
        .reports(&all, PageRequest::first(1001))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::InvalidLimit { limit: 1001, .. }),
        "{error}"
    );
    let reversed = ReportFilter {
        bbox: bbox(31.0, 47.0, 30.0, 48.0),
        ..ReportFilter::default()
    };
    let error = store
        .reports(&reversed, PageRequest::default())
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::InvalidBoundingBox { .. }),
        "{error}"
    );
}

/// One generated report: the attributes a filter can look at.
#[derive(Debug, Clone)]
struct Shape {
    gap: u64,
    agreement: u8,
    zones: BTreeSet<u8>,
    party: Option<u8>,
    actor: Option<u8>,
    kind: u8,
    start_ms: i64,
    span_ms: i64,
    lon: f64,
    lat: f64,
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        (
            1_u64..4,
            0_u8..3,
            prop::collection::btree_set(0_u8..4, 0..3),
        ),
        (
            prop::option::of(0_u8..3),
            prop::option::of(0_u8..3),
            0_u8..3,
        ),
        (0_i64..100, 0_i64..30, 0.0_f64..10.0, 40.0_f64..50.0),
    )
        .prop_map(
            |((gap, agreement, zones), (party, actor, kind), (start_ms, span_ms, lon, lat))| {
                Shape {
                    gap,
                    agreement,
                    zones,
                    party,
                    actor,
                    kind,
                    start_ms,
                    span_ms,
                    lon,
                    lat,
                }
            },
        )
}

/// Reports at increasing log indexes (with gaps for entries that project to
/// nothing), split into batches.
fn records(shapes: &[Shape]) -> (Vec<ReportRecord>, u64) {
    let mut next = 0;
    let mut reports = Vec::new();
    for shape in shapes {
        let index = next + shape.gap - 1;
        next = index + 1;
        reports.push(ReportRecord {
            agreement_id: format!("a{}", shape.agreement),
            zone_ids: shape.zones.iter().map(|zone| format!("z{zone}")).collect(),
            party: shape.party.map(|party| format!("p{party}")),
            actor: shape.actor.map(|actor| format!("p{actor}")),
            source_kind: format!("k{}", shape.kind),
            start_ms: shape.start_ms,
            end_ms: shape.start_ms + shape.span_ms,
            lon: shape.lon,
            lat: shape.lat,
            ..report(index)
        });
    }
    (reports, next)
}

fn filter() -> impl Strategy<Value = ReportFilter> {
    let text = |prefix: &'static str| {
        prop::option::weighted(0.2, (0_u8..4).prop_map(move |n| format!("{prefix}{n}")))
    };
    (
        (text("a"), text("z"), text("p"), text("p"), text("k")),
        prop::option::weighted(0.2, (0_i64..130, 0_i64..50)),
        prop::option::weighted(
            0.2,
            (0.0_f64..10.0, 40.0_f64..50.0, 0.0_f64..6.0, 0.0_f64..6.0),
        ),
        prop::option::weighted(0.2, prop::collection::btree_set(0_u64..200, 0..40)),
    )
        .prop_map(
            |((agreement_id, zone_id, party, actor, source_kind), time, bbox, log_indexes)| {
                ReportFilter {
                    agreement_id,
                    zone_id,
                    party,
                    actor,
                    source_kind,
                    time: time.map(|(start_ms, length)| TimeWindow {
                        start_ms,
                        end_ms: start_ms + length,
                    }),
                    bbox: bbox.map(|(min_lon, min_lat, width, height)| BoundingBox {
                        min_lon,
                        min_lat,
                        max_lon: min_lon + width,
                        max_lat: min_lat + height,
                    }),
                    log_indexes,
                }
            },
        )
}

/// Applies `reports` in `batches` contiguous slices of the index range up to
/// `size`, then checks that every walk of `filter`'s pages gives the
/// filtered set.
async fn pages_are_the_filtered_set<S: Store>(
    store: &S,
    reports: &[ReportRecord],
    size: u64,
    batches: usize,
    filter: &ReportFilter,
) {
    let chunk = reports.len().div_ceil(batches).max(1);
    let mut applied = 0;
    for slice in reports.chunks(chunk) {
        let end = slice.last().map_or(applied, |last| last.log_index + 1);
        let items: Vec<Projected> = slice.iter().cloned().map(Projected::Report).collect();
        store.apply(applied..end, &items).await.unwrap();
        applied = end;
    }
    store.apply(applied..size, &[]).await.unwrap();
    assert_eq!(store.applied_size().await.unwrap(), size);

    let expected: Vec<ReportRecord> = reports
        .iter()
        .filter(|report| matches(filter, report))
        .cloned()
        .collect();
    for limit in [1, 7, 1000] {
        let pages = walk(store, filter, limit).await;
        assert_eq!(&pages, &expected, "limit {limit}");
    }
}

/// The generated cases: reports, how many batches, a filter.
fn cases() -> impl Strategy<Value = (Vec<Shape>, usize, ReportFilter)> {
    (prop::collection::vec(shape(), 0..60), 1_usize..4, filter())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sqlite_pages_concatenated_are_the_filtered_set((shapes, batches, filter) in cases()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let store = memory().await;
            let (reports, size) = records(&shapes);
            pages_are_the_filtered_set(&store, &reports, size, batches, &filter).await;
        });
    }
}

/// The same property on PostgreSQL: one database for every case (a fresh one
/// each would take most of the time), emptied between cases.
#[test]
fn postgres_pages_concatenated_are_the_filtered_set() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = runtime.block_on(common::pg::TestDb::create("pages_property")) else {
        return;
    };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(24));
    let outcome = runner.run(&cases(), |(shapes, batches, filter)| {
        runtime.block_on(async {
            let mut conn = db.connection().await;
            sqlx::raw_sql(
                "TRUNCATE reports, sources, agreements, annotations, receipts, nonces; \
                 UPDATE store_state SET applied_size = 0",
            )
            .execute(&mut conn)
            .await
            .unwrap();
            let (reports, size) = records(&shapes);
            pages_are_the_filtered_set(&db.store, &reports, size, batches, &filter).await;
        });
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    drop(db);
}

on_every_backend!(
    each_filter_alone,
    filters_combined,
    the_box_edge_is_decided_by_the_exact_coordinates,
    pages_walk_every_report_once_in_index_order,
    bad_page_requests_and_filters_are_refused,
);
