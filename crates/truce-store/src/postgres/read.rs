//! The read path: single statements on the pool, each seeing the batches
//! committed when it starts; rows mapped to records.

use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::db::{AgreementRow, AnnotationRow, SourceRow, convert, from_db, to_db};
use crate::query::{WINDOW_CANDIDATE_LIMIT, report_page, window_rows};
use crate::{
    AgreementRecord, AnnotationKind, AnnotationRecord, Page, PageRequest, ReportFilter,
    ReportRecord, SeenNonce, SourceRecord, StoreError, TimeWindow,
};

/// The columns of a report.
macro_rules! report_select {
    () => {
        "SELECT r.log_index, r.report_id, r.agreement_id, r.source_name, r.source_kind, \
         r.party, r.actor, r.action, r.target, r.start_ms, r.end_ms, r.lon, r.lat, r.radius_m, \
         r.submitted_at_ms, r.zone_ids FROM reports r"
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

/// A row of `reports`; its zones are an array column.
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
    zone_ids: Vec<String>,
}

impl TryFrom<ReportRow> for ReportRecord {
    type Error = StoreError;

    fn try_from(row: ReportRow) -> Result<Self, StoreError> {
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
            zone_ids: row.zone_ids,
            submitted_at_ms: row.submitted_at_ms,
        })
    }
}

pub(super) async fn applied_size(pool: &PgPool) -> Result<u64, StoreError> {
    let applied: i64 = sqlx::query_scalar("SELECT applied_size FROM store_state WHERE id = 1")
        .fetch_one(pool)
        .await
        .map_err(StoreError::database("reading the applied size"))?;
    from_db("store_state.applied_size", applied)
}

pub(super) async fn source(pool: &PgPool, name: &str) -> Result<Option<SourceRecord>, StoreError> {
    let row: Option<SourceRow> = sqlx::query_as(concat!(source_select!(), " WHERE name = $1"))
        .bind(name)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::database("reading a source"))?;
    row.map(SourceRecord::try_from).transpose()
}

pub(super) async fn sources(pool: &PgPool) -> Result<Vec<SourceRecord>, StoreError> {
    let rows: Vec<SourceRow> =
        sqlx::query_as(concat!(source_select!(), " ORDER BY registered_at_index"))
            .fetch_all(pool)
            .await
            .map_err(StoreError::database("listing sources"))?;
    convert(rows)
}

pub(super) async fn agreements(pool: &PgPool) -> Result<Vec<AgreementRecord>, StoreError> {
    let rows: Vec<AgreementRow> =
        sqlx::query_as(concat!(agreement_select!(), " ORDER BY log_index"))
            .fetch_all(pool)
            .await
            .map_err(StoreError::database("listing agreements"))?;
    convert(rows)
}

pub(super) async fn agreement(
    pool: &PgPool,
    id: &str,
    version: Option<u32>,
) -> Result<Vec<AgreementRecord>, StoreError> {
    let rows: Vec<AgreementRow> =
        match version {
            Some(version) => {
                sqlx::query_as(concat!(
                    agreement_select!(),
                    " WHERE id = $1 AND version = $2 ORDER BY log_index"
                ))
                .bind(id)
                .bind(i64::from(version))
                .fetch_all(pool)
                .await
            }
            None => sqlx::query_as(concat!(
                agreement_select!(),
                " WHERE id = $1 AND version = (SELECT MAX(version) FROM agreements WHERE id = $1) \
                 ORDER BY log_index"
            ))
            .bind(id)
            .fetch_all(pool)
            .await,
        }
        .map_err(StoreError::database("reading an agreement"))?;
    convert(rows)
}

pub(super) async fn report(
    pool: &PgPool,
    log_index: u64,
) -> Result<Option<ReportRecord>, StoreError> {
    // An index beyond the database's integers names no report.
    let Ok(log_index) = to_db("log_index", log_index) else {
        return Ok(None);
    };
    let row: Option<ReportRow> =
        sqlx::query_as(concat!(report_select!(), " WHERE r.log_index = $1"))
            .bind(log_index)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::database("reading a report"))?;
    row.map(ReportRecord::try_from).transpose()
}

pub(super) async fn report_by_id(
    pool: &PgPool,
    agreement_id: &str,
    report_id: &str,
) -> Result<Option<ReportRecord>, StoreError> {
    let row: Option<ReportRow> = sqlx::query_as(concat!(
        report_select!(),
        " WHERE r.agreement_id = $1 AND r.report_id = $2"
    ))
    .bind(agreement_id)
    .bind(report_id)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::database("reading a report by id"))?;
    row.map(ReportRecord::try_from).transpose()
}

pub(super) async fn reports(
    pool: &PgPool,
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
        None => walk(pool, filter, after, None, wanted).await?,
        Some(window) => {
            window_rows(
                after,
                wanted,
                |row: &ReportRow| row.log_index,
                |after, upto, wanted| walk(pool, filter, after, upto, wanted),
                |after| count_candidates(pool, window, after),
                |after, wanted| from_span_index(pool, filter, window, after, wanted),
            )
            .await?
        }
    };
    Ok(report_page(convert(rows)?, limit))
}

/// The reports matching `filter` after log index `after` (and up to `upto`),
/// at most `wanted`, found by walking the log order.
async fn walk(
    pool: &PgPool,
    filter: &ReportFilter,
    after: i64,
    upto: Option<i64>,
    wanted: i64,
) -> Result<Vec<ReportRow>, StoreError> {
    let mut query =
        QueryBuilder::<Postgres>::new(concat!(report_select!(), " WHERE r.log_index > "));
    query.push_bind(after);
    if let Some(upto) = upto {
        query.push(" AND r.log_index <= ").push_bind(upto);
    }
    push_filters(&mut query, filter, true);
    query.push(" ORDER BY r.log_index LIMIT ").push_bind(wanted);
    // A listing by bounding box is planned for its values each time, not prepared: after
    // five runs of a prepared statement PostgreSQL may switch to a generic plan, and for a
    // large box that plan reads every report in the box and sorts them (223 ms at 1M
    // reports) where a plan for the values walks the log order and stops at the page's end
    // (1.1 ms). Other listings keep the prepared plan: a list of log indexes (a verdict)
    // took 5 ms with it and 37 ms planned each time (examples/query_latency.rs).
    let planned_each_time = filter.bbox.is_some() && filter.log_indexes.is_none();
    query
        .build_query_as()
        .persistent(!planned_each_time)
        .fetch_all(pool)
        .await
        .map_err(StoreError::database("listing reports"))
}

/// How many reports after `after` overlap `window`, counted up to
/// [`WINDOW_CANDIDATE_LIMIT`] on the span index alone: one range of it per
/// span class.
async fn count_candidates(
    pool: &PgPool,
    window: TimeWindow,
    after: i64,
) -> Result<i64, StoreError> {
    let mut query = QueryBuilder::<Postgres>::new("SELECT count(*) FROM (");
    for (at, (class, earliest)) in window.class_starts().enumerate() {
        if at > 0 {
            query.push(" UNION ALL ");
        }
        query
            .push("SELECT w.log_index FROM reports w WHERE w.span_class = ")
            .push_bind(class as i16)
            .push(" AND w.start_ms BETWEEN ")
            .push_bind(earliest)
            .push(" AND ")
            .push_bind(window.end_ms)
            .push(" AND w.end_ms >= ")
            .push_bind(window.start_ms)
            .push(" AND w.log_index > ")
            .push_bind(after);
    }
    query
        .push(" LIMIT ")
        .push_bind(WINDOW_CANDIDATE_LIMIT)
        .push(") AS candidates");
    query
        .build_query_scalar()
        .fetch_one(pool)
        .await
        .map_err(StoreError::database("counting reports in a time window"))
}

/// The reports matching `filter` after `after`, at most `wanted`, from the
/// reports overlapping `window` found on the span index. The matches are
/// gathered first (a materialised CTE, so that the planner cannot turn it
/// into a walk in log order; a bitmap scan of one range per span class),
/// then sorted into log order. The zone is checked on each row there rather
/// than with the GIN index, which for a large zone reads far more than the
/// window holds.
async fn from_span_index(
    pool: &PgPool,
    filter: &ReportFilter,
    window: TimeWindow,
    after: i64,
    wanted: i64,
) -> Result<Vec<ReportRow>, StoreError> {
    let mut query = QueryBuilder::<Postgres>::new(concat!(
        "WITH hits AS MATERIALIZED (",
        report_select!(),
        " WHERE ("
    ));
    for (at, (class, earliest)) in window.class_starts().enumerate() {
        if at > 0 {
            query.push(" OR ");
        }
        query
            .push("(r.span_class = ")
            .push_bind(class as i16)
            .push(" AND r.start_ms >= ")
            .push_bind(earliest)
            .push(")");
    }
    query.push(") AND r.log_index > ").push_bind(after);
    push_filters(&mut query, filter, false);
    query
        .push(") SELECT * FROM hits ORDER BY log_index LIMIT ")
        .push_bind(wanted);
    query
        .build_query_as()
        .fetch_all(pool)
        .await
        .map_err(StoreError::database("listing reports in a time window"))
}

/// Appends the conditions of `filter` (every one, the time window
/// included), each starting with ` AND`; the zone as containment, which the
/// GIN index answers, when `zone_indexed`, else as membership checked on the
/// row.
fn push_filters(query: &mut QueryBuilder<Postgres>, filter: &ReportFilter, zone_indexed: bool) {
    if let Some(agreement_id) = &filter.agreement_id {
        query
            .push(" AND r.agreement_id = ")
            .push_bind(agreement_id.clone());
    }
    if let Some(zone_id) = &filter.zone_id {
        if zone_indexed {
            // Containment, which the GIN index on the array answers.
            query
                .push(" AND r.zone_ids @> ARRAY[")
                .push_bind(zone_id.clone())
                .push("]::text[]");
        } else {
            query
                .push(" AND ")
                .push_bind(zone_id.clone())
                .push(" = ANY(r.zone_ids)");
        }
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
        // The GiST index narrows with `&&` (its bounds are 32-bit floats
        // rounded outwards); the exact comparison on the stored doubles
        // decides, as in every backend.
        query
            .push(" AND r.point && ST_MakeEnvelope(")
            .push_bind(bbox.min_lon)
            .push(", ")
            .push_bind(bbox.min_lat)
            .push(", ")
            .push_bind(bbox.max_lon)
            .push(", ")
            .push_bind(bbox.max_lat)
            .push(", 4326) AND r.lon BETWEEN ")
            .push_bind(bbox.min_lon)
            .push(" AND ")
            .push_bind(bbox.max_lon)
            .push(" AND r.lat BETWEEN ")
            .push_bind(bbox.min_lat)
            .push(" AND ")
            .push_bind(bbox.max_lat);
    }
    if let Some(indexes) = &filter.log_indexes {
        // One array parameter, whatever the size of the set. Indexes beyond
        // the database's integers cannot match and are left out.
        let listed: Vec<i64> = indexes
            .iter()
            .filter_map(|index| i64::try_from(*index).ok())
            .collect();
        query
            .push(" AND r.log_index = ANY(")
            .push_bind(listed)
            .push(")");
    }
}

pub(super) async fn annotations(
    pool: &PgPool,
    subject: &str,
) -> Result<Vec<AnnotationRecord>, StoreError> {
    let rows: Vec<AnnotationRow> = sqlx::query_as(
        "SELECT log_index, kind, subject, author, body_json, submitted_at_ms FROM annotations \
         WHERE subject = $1 ORDER BY log_index",
    )
    .bind(subject)
    .fetch_all(pool)
    .await
    .map_err(StoreError::database("listing annotations"))?;
    convert(rows)
}

pub(super) async fn annotation_indexes(
    pool: &PgPool,
    kinds: &[AnnotationKind],
    range: std::ops::Range<u64>,
) -> Result<Vec<u64>, StoreError> {
    let kinds: Vec<&str> = kinds.iter().map(|kind| kind.as_str()).collect();
    let rows: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT log_index FROM annotations \
         WHERE kind = ANY($1) AND log_index >= $2 AND log_index < $3 ORDER BY log_index",
    )
    .bind(kinds)
    .bind(crate::db::index_bound(range.start))
    .bind(crate::db::index_bound(range.end))
    .fetch_all(pool)
    .await
    .map_err(StoreError::database("listing annotation entries"))?;
    rows.into_iter()
        .map(|index| from_db("annotations.log_index", index))
        .collect()
}

pub(super) async fn submission(
    pool: &PgPool,
    key: &str,
    nonce: &str,
) -> Result<Option<u64>, StoreError> {
    let log_index: Option<i64> =
        sqlx::query_scalar("SELECT log_index FROM receipts WHERE key = $1 AND nonce = $2")
            .bind(key)
            .bind(nonce)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::database("reading a receipt"))?;
    log_index
        .map(|index| from_db("receipts.log_index", index))
        .transpose()
}

pub(super) async fn load_nonces(
    pool: &PgPool,
    since_ms: i64,
) -> Result<Vec<SeenNonce>, StoreError> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT key, nonce_hex, ts_ms FROM nonces WHERE ts_ms >= $1 \
         ORDER BY ts_ms, key, nonce_hex",
    )
    .bind(since_ms)
    .fetch_all(pool)
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
