//! The read path: queries on the reader connections, rows mapped to records.

use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use crate::db::{AgreementRow, AnnotationRow, SourceRow, convert, from_db, to_db};
use crate::query::{WINDOW_CANDIDATE_LIMIT, report_page, window_rows};
use crate::{
    AgreementRecord, AnnotationKind, AnnotationRecord, Page, PageRequest, ReportFilter,
    ReportRecord, SeenNonce, SourceRecord, StoreError, TimeWindow,
};

/// The columns of a report, with its zones gathered as a JSON array in their
/// order.
macro_rules! report_select {
    () => {
        "SELECT r.log_index, r.report_id, r.agreement_id, r.source_name, r.source_kind, \
         r.party, r.actor, r.action, r.target, r.start_ms, r.end_ms, r.lon, r.lat, r.radius_m, \
         r.submitted_at_ms, \
         (SELECT json_group_array(z.zone_id ORDER BY z.position) FROM report_zones z \
          WHERE z.log_index = r.log_index) AS zone_ids \
         FROM reports r"
    };
}

macro_rules! source_select {
    () => {
        "SELECT name, vkey, kind, party, role, registered_at_index, revoked_at_index, \
         revoked_at_ms FROM sources"
    };
}

macro_rules! agreement_select {
    () => {
        "SELECT id, version, interpretation, log_index, content_sha256, title, registered_at_ms \
         FROM agreements"
    };
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    log_index: i64,
    report_id: String,
    agreement_id: String,
    source_name: String,
    source_kind: String,
    party: Option<String>,
    actor: Option<String>,
    action: String,
    target: String,
    start_ms: i64,
    end_ms: i64,
    lon: f64,
    lat: f64,
    radius_m: f64,
    submitted_at_ms: i64,
    zone_ids: String,
}

impl TryFrom<ReportRow> for ReportRecord {
    type Error = StoreError;

    fn try_from(row: ReportRow) -> Result<Self, StoreError> {
        let zone_ids = serde_json::from_str(&row.zone_ids).map_err(|_| StoreError::Corrupt {
            field: "report_zones.zone_id",
            value: row.zone_ids.clone(),
        })?;
        Ok(ReportRecord {
            log_index: from_db("reports.log_index", row.log_index)?,
            report_id: row.report_id,
            agreement_id: row.agreement_id,
            source_name: row.source_name,
            source_kind: row.source_kind,
            party: row.party,
            actor: row.actor,
            action: row.action,
            target: row.target,
            start_ms: row.start_ms,
            end_ms: row.end_ms,
            lon: row.lon,
            lat: row.lat,
            radius_m: row.radius_m,
            zone_ids,
            submitted_at_ms: row.submitted_at_ms,
        })
    }
}

pub(super) async fn applied_size(readers: &SqlitePool) -> Result<u64, StoreError> {
    let applied: i64 = sqlx::query_scalar("SELECT applied_size FROM store_state WHERE id = 1")
        .fetch_one(readers)
        .await
        .map_err(StoreError::database("reading the applied size"))?;
    from_db("store_state.applied_size", applied)
}

pub(super) async fn source(
    readers: &SqlitePool,
    name: &str,
) -> Result<Option<SourceRecord>, StoreError> {
    let row: Option<SourceRow> = sqlx::query_as(concat!(source_select!(), " WHERE name = ?"))
        .bind(name)
        .fetch_optional(readers)
        .await
        .map_err(StoreError::database("reading a source"))?;
    row.map(SourceRecord::try_from).transpose()
}

pub(super) async fn sources(readers: &SqlitePool) -> Result<Vec<SourceRecord>, StoreError> {
    let rows: Vec<SourceRow> =
        sqlx::query_as(concat!(source_select!(), " ORDER BY registered_at_index"))
            .fetch_all(readers)
            .await
            .map_err(StoreError::database("listing sources"))?;
    convert(rows)
}

pub(super) async fn agreements(readers: &SqlitePool) -> Result<Vec<AgreementRecord>, StoreError> {
    let rows: Vec<AgreementRow> =
        sqlx::query_as(concat!(agreement_select!(), " ORDER BY log_index"))
            .fetch_all(readers)
            .await
            .map_err(StoreError::database("listing agreements"))?;
    convert(rows)
}

pub(super) async fn agreement(
    readers: &SqlitePool,
    id: &str,
    version: Option<u32>,
) -> Result<Vec<AgreementRecord>, StoreError> {
    let rows: Vec<AgreementRow> =
        match version {
            Some(version) => {
                sqlx::query_as(concat!(
                    agreement_select!(),
                    " WHERE id = ? AND version = ? ORDER BY log_index"
                ))
                .bind(id)
                .bind(i64::from(version))
                .fetch_all(readers)
                .await
            }
            None => sqlx::query_as(concat!(
                agreement_select!(),
                " WHERE id = ?1 AND version = (SELECT MAX(version) FROM agreements WHERE id = ?1) \
                 ORDER BY log_index"
            ))
            .bind(id)
            .fetch_all(readers)
            .await,
        }
        .map_err(StoreError::database("reading an agreement"))?;
    convert(rows)
}

pub(super) async fn report(
    readers: &SqlitePool,
    log_index: u64,
) -> Result<Option<ReportRecord>, StoreError> {
    // An index beyond the database's integers names no report.
    let Ok(log_index) = to_db("log_index", log_index) else {
        return Ok(None);
    };
    let row: Option<ReportRow> =
        sqlx::query_as(concat!(report_select!(), " WHERE r.log_index = ?"))
            .bind(log_index)
            .fetch_optional(readers)
            .await
            .map_err(StoreError::database("reading a report"))?;
    row.map(ReportRecord::try_from).transpose()
}

pub(super) async fn report_by_id(
    readers: &SqlitePool,
    agreement_id: &str,
    report_id: &str,
) -> Result<Option<ReportRecord>, StoreError> {
    let row: Option<ReportRow> = sqlx::query_as(concat!(
        report_select!(),
        " WHERE r.agreement_id = ? AND r.report_id = ?"
    ))
    .bind(agreement_id)
    .bind(report_id)
    .fetch_optional(readers)
    .await
    .map_err(StoreError::database("reading a report by id"))?;
    row.map(ReportRecord::try_from).transpose()
}

pub(super) async fn reports(
    readers: &SqlitePool,
    filter: &ReportFilter,
    page: &PageRequest,
) -> Result<Page<ReportRecord>, StoreError> {
    let (after, limit) = page.resolve()?;
    filter.validate()?;
    let after = match after {
        // A cursor beyond the database's integers has nothing after it.
        Some(after) => to_db("cursor", after).unwrap_or(i64::MAX),
        None => -1,
    };
    let wanted = i64::from(limit) + 1;
    let rows = match filter.time {
        None => walk(readers, filter, after, None, wanted).await?,
        Some(window) => {
            window_rows(
                after,
                wanted,
                |row: &ReportRow| row.log_index,
                |after, upto, wanted| walk(readers, filter, after, upto, wanted),
                |after| count_candidates(readers, window, after),
                |after, wanted| from_span_index(readers, filter, window, after, wanted),
            )
            .await?
        }
    };
    Ok(report_page(convert(rows)?, limit))
}

/// The reports matching `filter` after log index `after` (and up to `upto`),
/// at most `wanted`, found by walking the log order.
async fn walk(
    readers: &SqlitePool,
    filter: &ReportFilter,
    after: i64,
    upto: Option<i64>,
    wanted: i64,
) -> Result<Vec<ReportRow>, StoreError> {
    let mut query = QueryBuilder::<Sqlite>::new(concat!(report_select!(), " WHERE r.log_index > "));
    query.push_bind(after);
    if let Some(upto) = upto {
        query.push(" AND r.log_index <= ").push_bind(upto);
    }
    push_filters(&mut query, filter);
    query.push(" ORDER BY r.log_index LIMIT ").push_bind(wanted);
    query
        .build_query_as()
        .fetch_all(readers)
        .await
        .map_err(StoreError::database("listing reports"))
}

/// Appends one `SELECT` per span class of the log indexes of the reports
/// after `after` overlapping `window`, joined by `UNION ALL`: each is one
/// range of the span index.
fn push_candidates(query: &mut QueryBuilder<Sqlite>, window: TimeWindow, after: i64) {
    for (at, (class, earliest)) in window.class_starts().enumerate() {
        if at > 0 {
            query.push(" UNION ALL ");
        }
        query
            .push(
                "SELECT w.log_index FROM reports w INDEXED BY reports_by_span \
                 WHERE w.span_class = ",
            )
            .push_bind(class)
            .push(" AND w.start_ms BETWEEN ")
            .push_bind(earliest)
            .push(" AND ")
            .push_bind(window.end_ms)
            .push(" AND w.end_ms >= ")
            .push_bind(window.start_ms)
            .push(" AND w.log_index > ")
            .push_bind(after);
    }
}

/// How many reports after `after` overlap `window`, counted up to
/// [`WINDOW_CANDIDATE_LIMIT`] on the span index alone.
async fn count_candidates(
    readers: &SqlitePool,
    window: TimeWindow,
    after: i64,
) -> Result<i64, StoreError> {
    let mut query = QueryBuilder::<Sqlite>::new("SELECT count(*) FROM (");
    push_candidates(&mut query, window, after);
    query
        .push(" LIMIT ")
        .push_bind(WINDOW_CANDIDATE_LIMIT)
        .push(")");
    query
        .build_query_scalar()
        .fetch_one(readers)
        .await
        .map_err(StoreError::database("counting reports in a time window"))
}

/// The reports matching `filter` after `after`, at most `wanted`, from the
/// reports overlapping `window` found on the span index: SQLite gathers
/// their log indexes in order and reads the rows in that order until the
/// page is full. `NOT INDEXED` keeps it from walking another index instead
/// (rows are still read by log index).
async fn from_span_index(
    readers: &SqlitePool,
    filter: &ReportFilter,
    window: TimeWindow,
    after: i64,
    wanted: i64,
) -> Result<Vec<ReportRow>, StoreError> {
    let mut query = QueryBuilder::<Sqlite>::new(concat!(
        report_select!(),
        " NOT INDEXED WHERE r.log_index IN ("
    ));
    push_candidates(&mut query, window, after);
    query.push(") AND r.log_index > ").push_bind(after);
    push_filters(&mut query, filter);
    query.push(" ORDER BY r.log_index LIMIT ").push_bind(wanted);
    query
        .build_query_as()
        .fetch_all(readers)
        .await
        .map_err(StoreError::database("listing reports in a time window"))
}

/// Appends the conditions of `filter` (every one, the time window
/// included), each starting with ` AND`.
fn push_filters(query: &mut QueryBuilder<Sqlite>, filter: &ReportFilter) {
    if let Some(agreement_id) = &filter.agreement_id {
        query
            .push(" AND r.agreement_id = ")
            .push_bind(agreement_id.clone());
    }
    if let Some(zone_id) = &filter.zone_id {
        query
            .push(
                " AND EXISTS (SELECT 1 FROM report_zones fz \
                 WHERE fz.log_index = r.log_index AND fz.zone_id = ",
            )
            .push_bind(zone_id.clone())
            .push(")");
    }
    if let Some(party) = &filter.party {
        query.push(" AND r.party = ").push_bind(party.clone());
    }
    if let Some(actor) = &filter.actor {
        query.push(" AND r.actor = ").push_bind(actor.clone());
    }
    if let Some(source_kind) = &filter.source_kind {
        query
            .push(" AND r.source_kind = ")
            .push_bind(source_kind.clone());
    }
    if let Some(window) = filter.time {
        query
            .push(" AND r.start_ms <= ")
            .push_bind(window.end_ms)
            .push(" AND r.end_ms >= ")
            .push_bind(window.start_ms);
    }
    if let Some(bbox) = filter.bbox {
        // The R*Tree narrows (its 32-bit bounds are rounded outwards); the
        // exact comparison on the stored doubles decides.
        query
            .push(
                " AND r.log_index IN (SELECT p.log_index FROM report_points p \
                 WHERE p.max_lon >= ",
            )
            .push_bind(bbox.min_lon)
            .push(" AND p.min_lon <= ")
            .push_bind(bbox.max_lon)
            .push(" AND p.max_lat >= ")
            .push_bind(bbox.min_lat)
            .push(" AND p.min_lat <= ")
            .push_bind(bbox.max_lat)
            .push(") AND r.lon BETWEEN ")
            .push_bind(bbox.min_lon)
            .push(" AND ")
            .push_bind(bbox.max_lon)
            .push(" AND r.lat BETWEEN ")
            .push_bind(bbox.min_lat)
            .push(" AND ")
            .push_bind(bbox.max_lat);
    }
    if let Some(indexes) = &filter.log_indexes {
        // One JSON array parameter, whatever the size of the set. Indexes
        // beyond the database's integers cannot match and are left out.
        let listed: Vec<String> = indexes
            .iter()
            .filter(|index| i64::try_from(**index).is_ok())
            .map(u64::to_string)
            .collect();
        query
            .push(" AND r.log_index IN (SELECT value FROM json_each(")
            .push_bind(format!("[{}]", listed.join(",")))
            .push("))");
    }
}

pub(super) async fn annotations(
    readers: &SqlitePool,
    subject: &str,
) -> Result<Vec<AnnotationRecord>, StoreError> {
    let rows: Vec<AnnotationRow> = sqlx::query_as(
        "SELECT log_index, kind, subject, author, body_json, submitted_at_ms FROM annotations \
         WHERE subject = ? ORDER BY log_index",
    )
    .bind(subject)
    .fetch_all(readers)
    .await
    .map_err(StoreError::database("listing annotations"))?;
    convert(rows)
}

pub(super) async fn annotation_indexes(
    readers: &SqlitePool,
    kinds: &[AnnotationKind],
    range: std::ops::Range<u64>,
) -> Result<Vec<u64>, StoreError> {
    let mut indexes = Vec::new();
    for kind in kinds {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT log_index FROM annotations \
             WHERE kind = ? AND log_index >= ? AND log_index < ? ORDER BY log_index",
        )
        .bind(kind.as_str())
        .bind(crate::db::index_bound(range.start))
        .bind(crate::db::index_bound(range.end))
        .fetch_all(readers)
        .await
        .map_err(StoreError::database("listing annotation entries"))?;
        for index in rows {
            indexes.push(from_db("annotations.log_index", index)?);
        }
    }
    indexes.sort_unstable();
    indexes.dedup();
    Ok(indexes)
}

pub(super) async fn submission(
    readers: &SqlitePool,
    key: &str,
    nonce: &str,
) -> Result<Option<u64>, StoreError> {
    let log_index: Option<i64> =
        sqlx::query_scalar("SELECT log_index FROM receipts WHERE key = ? AND nonce = ?")
            .bind(key)
            .bind(nonce)
            .fetch_optional(readers)
            .await
            .map_err(StoreError::database("reading a receipt"))?;
    log_index
        .map(|index| from_db("receipts.log_index", index))
        .transpose()
}

pub(super) async fn load_nonces(
    readers: &SqlitePool,
    since_ms: i64,
) -> Result<Vec<SeenNonce>, StoreError> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT key, nonce_hex, ts_ms FROM nonces WHERE ts_ms >= ? ORDER BY ts_ms, key, nonce_hex",
    )
    .bind(since_ms)
    .fetch_all(readers)
    .await
    .map_err(StoreError::database("loading nonces"))?;
    Ok(rows
        .into_iter()
        .map(|(key, nonce_hex, ts_ms)| SeenNonce {
            key,
            nonce_hex,
            ts_ms,
        })
        .collect())
}
