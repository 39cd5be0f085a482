//! Records for the tests, and a reference reading of a report filter.

#![allow(dead_code, clippy::unwrap_used)]

pub mod pg;

use truce_store::{
    AgreementRecord, AnnotationKind, AnnotationRecord, PageRequest, ReportFilter, ReportRecord,
    SourceRecord, SqliteStore, Store,
};

/// Runs each named behaviour, an `async fn NAME<S: Store>(store: S)` of the
/// test file, as two tests: `sqlite::NAME` on a fresh in-memory SQLite
/// store, and `postgres::NAME` on a fresh PostgreSQL database (skipped, with
/// a notice, when no server is configured; see [`pg`]).
#[allow(unused_macros)]
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(crate::common::memory().await).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    if let Some(db) = crate::common::pg::TestDb::create(stringify!($test)).await {
                        super::$test(db.store.clone()).await;
                    }
                }
            )*
        }
    };
}

/// A fresh in-memory store.
pub async fn memory() -> SqliteStore {
    SqliteStore::open_in_memory().await.unwrap()
}

/// A source registered at `index`.
pub fn source(name: &str, index: u64) -> SourceRecord {
    SourceRecord {
        name: name.to_owned(),
        vkey: format!("{name}+0123456789abcdef"),
        kind: "monitor".to_owned(),
        party: None,
        role: "reporter".to_owned(),
        registered_at_index: index,
        revoked_at_index: None,
        revoked_at_ms: None,
    }
}

/// An agreement version registered at `index`.
pub fn agreement(id: &str, version: u32, interpretation: &str, index: u64) -> AgreementRecord {
    AgreementRecord {
        id: id.to_owned(),
        version,
        interpretation: interpretation.to_owned(),
        log_index: index,
        content_sha256: format!("{:064x}", index),
        title: format!("{id} v{version}"),
        registered_at_ms: 1_742_256_000_000 + i64::try_from(index).unwrap(),
    }
}

/// A report at `index` with id `r-INDEX` under agreement `a`.
pub fn report(index: u64) -> ReportRecord {
    ReportRecord {
        log_index: index,
        report_id: format!("r-{index}"),
        agreement_id: "a".to_owned(),
        source_name: "monitor-1".to_owned(),
        source_kind: "monitor".to_owned(),
        party: None,
        actor: None,
        action: "artillery".to_owned(),
        target: "energy".to_owned(),
        start_ms: 1_000,
        end_ms: 2_000,
        lon: 30.5,
        lat: 47.5,
        radius_m: 250.0,
        zone_ids: Vec::new(),
        submitted_at_ms: 3_000,
    }
}

/// An annotation of `subject` at `index`.
pub fn annotation(index: u64, kind: AnnotationKind, subject: &str) -> AnnotationRecord {
    AnnotationRecord {
        log_index: index,
        kind,
        subject: subject.to_owned(),
        author: "monitor-1".to_owned(),
        body_json: format!("{{\"entry\":{index}}}"),
        submitted_at_ms: 5_000 + i64::try_from(index).unwrap(),
    }
}

/// Whether `report` matches `filter`, read directly from the filter's
/// documentation (the oracle the stored queries are compared with).
pub fn matches(filter: &ReportFilter, report: &ReportRecord) -> bool {
    filter
        .agreement_id
        .as_ref()
        .is_none_or(|id| *id == report.agreement_id)
        && filter
            .zone_id
            .as_ref()
            .is_none_or(|zone| report.zone_ids.contains(zone))
        && filter
            .party
            .as_ref()
            .is_none_or(|party| report.party.as_ref() == Some(party))
        && filter
            .actor
            .as_ref()
            .is_none_or(|actor| report.actor.as_ref() == Some(actor))
        && filter
            .source_kind
            .as_ref()
            .is_none_or(|kind| *kind == report.source_kind)
        && filter
            .time
            .is_none_or(|window| window.overlaps(report.start_ms, report.end_ms))
        && filter
            .bbox
            .is_none_or(|bbox| bbox.contains(report.lon, report.lat))
        && filter
            .log_indexes
            .as_ref()
            .is_none_or(|indexes| indexes.contains(&report.log_index))
}

/// Every report matching `filter`, walked page by page with `limit`,
/// checking that no page is empty and that only the last has no cursor.
pub async fn walk<S: Store>(store: &S, filter: &ReportFilter, limit: u32) -> Vec<ReportRecord> {
    let mut all = Vec::new();
    let mut request = PageRequest::first(limit);
    loop {
        let page = store.reports(filter, request).await.unwrap();
        assert!(page.items.len() <= limit as usize);
        all.extend(page.items.iter().cloned());
        match page.next_cursor {
            Some(cursor) => {
                assert_eq!(
                    page.items.len(),
                    limit as usize,
                    "a short page has a cursor"
                );
                request = PageRequest::after(cursor, limit);
            }
            None => return all,
        }
    }
}

/// The log indexes of `reports`.
pub fn indexes(reports: &[ReportRecord]) -> Vec<u64> {
    reports.iter().map(|report| report.log_index).collect()
}
