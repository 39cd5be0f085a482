//! A batch's items written with multi-row `INSERT … VALUES (…), (…)`
//! statements, one per table (or per chunk of a table's rows), several of
//! them sent to the connection's worker thread at once, so a batch costs a
//! handful of round trips however many items it holds.
//!
//! This is the fast way of the write path, not its judge. [`write`] either
//! stores every item exactly as writing them one at a time in the batch's
//! order would, and says so with `Ok(true)`, or gives up: `Ok(false)` when
//! it cannot tell (a revocation whose source is registered later in the
//! batch), an error when a record is refused by the shared checks or a
//! statement by the database (a duplicate, a violated constraint, anything
//! else). The caller then goes back to its savepoint and writes the items
//! one at a time, which names the first problem.
//!
//! Statements are plain inserts: SQLite undoes a statement that violates a
//! constraint and reports it, leaving the rest of the transaction, so a
//! statement that went through inserted all its rows, and as it inserts
//! them one after another, checking each against the stored rows and those
//! before it, each row went in as it would have on its own.

use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::write::revoke_source;
use crate::batch::{check_report, check_source, revokes_before_registering};
use crate::db::to_db;
use crate::{AgreementRecord, AnnotationRecord, Projected, ReportRecord, SourceRecord, StoreError};

/// The most parameters one statement binds: the limit of SQLite builds
/// before 3.32 (the bundled build allows 32,766), so that no build refuses
/// a chunk for its size.
const STATEMENT_PARAMETERS: usize = 999;

/// The most parameters of the statements sent together in one round trip.
/// SQLite copies the text that remains for every statement it prepares
/// from it, so a round trip's text is kept to a few tens of kilobytes.
const ROUND_TRIP_PARAMETERS: usize = 8_000;

/// Round trips binding at most this many parameters (a batch of a few
/// submissions) stay prepared in the connection's statement cache, as
/// batches of the same shape recur; larger ones are prepared afresh, so
/// the cache never holds large statements.
const KEEP_PREPARED_PARAMETERS: usize = 256;

/// Whether `batch` goes the bulk way: whenever it has an item other than
/// a revocation. One at a time, each row is a round trip (a report with its
/// point and zones several); the bulk way reads the applied size and takes
/// its savepoint in one, and sends the rows and the new applied size in
/// another, so it saves round trips from one row on. (Unlike PostgreSQL,
/// where a bulk statement and its savepoint cost as much as the rows one
/// by one until a table has two rows.) Revocations are written one at a
/// time either way.
pub(super) fn worthwhile(batch: &[Projected]) -> bool {
    batch
        .iter()
        .any(|item| !matches!(item, Projected::SourceRevoked { .. }))
}

/// Writes every item of `batch`, each table's rows with as few statements
/// as the parameter limit allows, then sets the applied size to `end`, and
/// returns `Ok(true)` when all went in as they would one at a time in the
/// batch's order. `Ok(false)` or an error leaves the connection's
/// transaction to be rolled back to before the call.
///
/// Tables are written one after another and only revocations read another
/// table (`sources`), so they run, one at a time, after every registration
/// of the batch: that is what they would see unless a registration of the
/// same name comes later in the batch, which is left to the one-at-a-time
/// writes.
pub(super) async fn write(
    conn: &mut SqliteConnection,
    batch: &[Projected],
    end: i64,
) -> Result<bool, StoreError> {
    if revokes_before_registering(batch) {
        return Ok(false);
    }
    let rows = Rows::gather(batch)?;

    let mut script = Script::default();
    script.insert(
        "INSERT INTO sources (name, vkey, kind, party, role, registered_at_index, \
         revoked_at_index, revoked_at_ms) ",
        8,
        &rows.sources,
        |row, (source, registered, revoked)| {
            row.push_bind(source.name.as_str())
                .push_bind(source.vkey.as_str())
                .push_bind(source.kind.as_str())
                .push_bind(source.party.as_deref())
                .push_bind(source.role.as_str())
                .push_bind(*registered)
                .push_bind(*revoked)
                .push_bind(source.revoked_at_ms);
        },
    );
    if !rows.revocations.is_empty() {
        std::mem::take(&mut script).run(conn).await?;
        for revocation in &rows.revocations {
            revoke_source(conn, revocation.name, revocation.at_index, revocation.at_ms).await?;
        }
    }
    script.insert(
        "INSERT INTO agreements (id, version, interpretation, log_index, content_sha256, title, \
         registered_at_ms) ",
        7,
        &rows.agreements,
        |row, (agreement, log_index)| {
            row.push_bind(agreement.id.as_str())
                .push_bind(i64::from(agreement.version))
                .push_bind(agreement.interpretation.as_str())
                .push_bind(*log_index)
                .push_bind(agreement.content_sha256.as_str())
                .push_bind(agreement.title.as_str())
                .push_bind(agreement.registered_at_ms);
        },
    );
    script.insert(
        "INSERT INTO reports (log_index, report_id, agreement_id, source_name, source_kind, \
         party, actor, action, target, start_ms, end_ms, lon, lat, radius_m, submitted_at_ms) ",
        15,
        &rows.reports,
        |row, (report, log_index)| {
            row.push_bind(*log_index)
                .push_bind(report.report_id.as_str())
                .push_bind(report.agreement_id.as_str())
                .push_bind(report.source_name.as_str())
                .push_bind(report.source_kind.as_str())
                .push_bind(report.party.as_deref())
                .push_bind(report.actor.as_deref())
                .push_bind(report.action.as_str())
                .push_bind(report.target.as_str())
                .push_bind(report.start_ms)
                .push_bind(report.end_ms)
                .push_bind(report.lon)
                .push_bind(report.lat)
                .push_bind(report.radius_m)
                .push_bind(report.submitted_at_ms);
        },
    );
    script.insert(
        "INSERT INTO report_points (log_index, min_lon, max_lon, min_lat, max_lat) ",
        5,
        &rows.reports,
        |row, (report, log_index)| {
            row.push_bind(*log_index)
                .push_bind(report.lon)
                .push_bind(report.lon)
                .push_bind(report.lat)
                .push_bind(report.lat);
        },
    );
    script.insert(
        "INSERT INTO report_zones (log_index, position, zone_id) ",
        3,
        &rows.zones,
        |row, (log_index, position, zone_id)| {
            row.push_bind(*log_index)
                .push_bind(*position)
                .push_bind(*zone_id);
        },
    );
    script.insert(
        "INSERT INTO annotations (log_index, kind, subject, author, body_json, \
         submitted_at_ms) ",
        6,
        &rows.annotations,
        |row, (annotation, log_index)| {
            row.push_bind(*log_index)
                .push_bind(annotation.kind.as_str())
                .push_bind(annotation.subject.as_str())
                .push_bind(annotation.author.as_str())
                .push_bind(annotation.body_json.as_str())
                .push_bind(annotation.submitted_at_ms);
        },
    );
    script.insert(
        "INSERT INTO receipts (key, nonce, log_index) ",
        3,
        &rows.receipts,
        |row, (key, nonce, log_index)| {
            row.push_bind(*key).push_bind(*nonce).push_bind(*log_index);
        },
    );
    script
        .statement(1)
        .push("UPDATE store_state SET applied_size = ")
        .push_bind(end)
        .push(" WHERE id = 1");
    script.run(conn).await?;
    Ok(true)
}

/// A revocation of the batch.
struct Revocation<'a> {
    name: &'a str,
    at_index: u64,
    at_ms: i64,
}

/// The rows of a batch by table, in the batch's order, with their log
/// indexes as the database's integers.
#[derive(Default)]
struct Rows<'a> {
    /// With the registration and revocation indexes.
    sources: Vec<(&'a SourceRecord, i64, Option<i64>)>,
    revocations: Vec<Revocation<'a>>,
    agreements: Vec<(&'a AgreementRecord, i64)>,
    reports: Vec<(&'a ReportRecord, i64)>,
    /// Log index, position in its report's list, zone.
    zones: Vec<(i64, i64, &'a str)>,
    annotations: Vec<(&'a AnnotationRecord, i64)>,
    /// Key, nonce, log index.
    receipts: Vec<(&'a str, &'a str, i64)>,
}

impl<'a> Rows<'a> {
    /// Sorts the items of `batch` into rows, refusing what the shared checks
    /// refuse.
    fn gather(batch: &'a [Projected]) -> Result<Self, StoreError> {
        let mut rows = Rows::default();
        for item in batch {
            match item {
                Projected::Source(source) => {
                    check_source(source)?;
                    let registered = to_db("registered_at_index", source.registered_at_index)?;
                    let revoked = source
                        .revoked_at_index
                        .map(|index| to_db("revoked_at_index", index))
                        .transpose()?;
                    rows.sources.push((source, registered, revoked));
                }
                Projected::SourceRevoked {
                    name,
                    at_index,
                    at_ms,
                } => rows.revocations.push(Revocation {
                    name,
                    at_index: *at_index,
                    at_ms: *at_ms,
                }),
                Projected::Agreement(agreement) => {
                    let log_index = to_db("log_index", agreement.log_index)?;
                    rows.agreements.push((agreement, log_index));
                }
                Projected::Report(report) => {
                    check_report(report)?;
                    let log_index = to_db("log_index", report.log_index)?;
                    rows.reports.push((report, log_index));
                    for (position, zone_id) in (0_i64..).zip(&report.zone_ids) {
                        rows.zones.push((log_index, position, zone_id.as_str()));
                    }
                }
                Projected::Annotation(annotation) => {
                    let log_index = to_db("log_index", annotation.log_index)?;
                    rows.annotations.push((annotation, log_index));
                }
                Projected::Receipt {
                    key,
                    nonce,
                    log_index,
                } => {
                    let log_index = to_db("log_index", *log_index)?;
                    rows.receipts.push((key, nonce, log_index));
                }
            }
        }
        Ok(rows)
    }
}

/// Statements to run in order, grouped into round trips: each round trip
/// is one query of several statements, which sqlx's SQLite worker prepares
/// and runs one after another, binding each its share of the arguments.
#[derive(Default)]
struct Script {
    /// The round trips complete: each with how many parameters it binds.
    sent: Vec<(QueryBuilder<Sqlite>, usize)>,
    /// The round trip being written.
    current: QueryBuilder<Sqlite>,
    /// How many statements `current` holds.
    statements: usize,
    /// How many parameters they bind.
    parameters: usize,
}

impl Script {
    /// Starts a statement that will bind `parameters` parameters, in the
    /// current round trip if it has room, and returns the builder to write
    /// it with.
    fn statement(&mut self, parameters: usize) -> &mut QueryBuilder<Sqlite> {
        if self.statements > 0 && self.parameters + parameters > ROUND_TRIP_PARAMETERS {
            let full = std::mem::take(&mut self.current);
            self.sent.push((full, self.parameters));
            self.statements = 0;
            self.parameters = 0;
        }
        if self.statements > 0 {
            self.current.push("; ");
        }
        self.statements += 1;
        self.parameters += parameters;
        &mut self.current
    }

    /// Inserts `rows` with `head` (`INSERT INTO table (columns) `), in
    /// chunks whose statements bind at most [`STATEMENT_PARAMETERS`];
    /// `bind` binds a row's `columns` values.
    fn insert<T>(
        &mut self,
        head: &str,
        columns: usize,
        rows: &[T],
        bind: impl Fn(&mut Separated<'_, Sqlite, &'static str>, &T),
    ) {
        for chunk in rows.chunks(STATEMENT_PARAMETERS / columns) {
            self.statement(chunk.len() * columns)
                .push(head)
                .push_values(chunk, |mut row, item| bind(&mut row, item));
        }
    }

    /// The round trips, in order, each with how many parameters it binds.
    fn trips(mut self) -> Vec<(QueryBuilder<Sqlite>, usize)> {
        if self.statements > 0 {
            self.sent.push((self.current, self.parameters));
        }
        self.sent
    }

    /// Runs every statement in order, stopping at the first that fails.
    async fn run(self, conn: &mut SqliteConnection) -> Result<(), StoreError> {
        for (mut trip, parameters) in self.trips() {
            trip.build()
                .persistent(parameters <= KEEP_PREPARED_PARAMETERS)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::database("storing a batch"))?;
        }
        Ok(())
    }
}

/// The bulk way seen from inside: which batches take it, that its
/// statements stay within the limits, that a clean batch goes through it
/// and one it cannot take falls back, and that batches applied through it
/// leave every table (row ids included) and return every error exactly as
/// the item-by-item way does. (The suite in `tests/` checks what is stored
/// and refused through the public interface only.)
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::ops::Range;

    use sqlx::{AssertSqlSafe, Connection, Row};

    use super::{
        KEEP_PREPARED_PARAMETERS, ROUND_TRIP_PARAMETERS, STATEMENT_PARAMETERS, Script, worthwhile,
        write,
    };
    use crate::batch::check_range;
    use crate::sqlite::SqliteStore;
    use crate::sqlite::write::apply_each;
    use crate::{
        AgreementRecord, AnnotationKind, AnnotationRecord, Projected, ReportRecord, SourceRecord,
        Store, StoreError,
    };

    fn source(name: &str, index: u64) -> SourceRecord {
        SourceRecord {
            name: name.to_owned(),
            vkey: format!("{name}+00"),
            kind: "monitor".to_owned(),
            party: Some("UA".to_owned()).filter(|_| index.is_multiple_of(2)),
            role: "reporter".to_owned(),
            registered_at_index: index,
            revoked_at_index: None,
            revoked_at_ms: None,
        }
    }

    fn agreement(index: u64) -> AgreementRecord {
        AgreementRecord {
            id: "a".to_owned(),
            version: u32::try_from(index).unwrap(),
            interpretation: "common".to_owned(),
            log_index: index,
            content_sha256: format!("{index:064x}"),
            title: "A".to_owned(),
            registered_at_ms: 4,
        }
    }

    fn report(index: u64) -> ReportRecord {
        let zones = ["z0", "z1", "z2", "z3"];
        let offset = (index % 1000) as f64 / 1000.0;
        ReportRecord {
            log_index: index,
            report_id: format!("r-{index}"),
            agreement_id: "a".to_owned(),
            source_name: "m".to_owned(),
            source_kind: "monitor".to_owned(),
            party: Some("UA".to_owned()).filter(|_| index.is_multiple_of(2)),
            actor: Some("RU".to_owned()).filter(|_| index.is_multiple_of(3)),
            action: "drone".to_owned(),
            target: "energy".to_owned(),
            start_ms: 1,
            end_ms: 2,
            lon: 30.0 + offset,
            lat: 47.0 - offset,
            radius_m: 10.5,
            // None, one, or several zones in an order of the report's own.
            zone_ids: zones
                .iter()
                .rev()
                .take(usize::try_from(index % 4).unwrap())
                .map(|&zone| zone.to_owned())
                .collect(),
            submitted_at_ms: 3,
        }
    }

    fn annotation(index: u64, subject: &str) -> AnnotationRecord {
        AnnotationRecord {
            log_index: index,
            kind: AnnotationKind::Review,
            subject: subject.to_owned(),
            author: "m".to_owned(),
            body_json: format!("{{\"at\":{index}}}"),
            submitted_at_ms: 6,
        }
    }

    fn receipt(index: u64) -> Projected {
        Projected::Receipt {
            key: format!("k{}", index % 3),
            nonce: format!("{index:08x}"),
            log_index: index,
        }
    }

    fn revoked(name: &str, index: u64) -> Projected {
        Projected::SourceRevoked {
            name: name.to_owned(),
            at_index: index,
            at_ms: 5,
        }
    }

    /// Entries `range` as a batch with every kind of item: a source and an
    /// agreement every 50 entries, a revocation of the source before, a
    /// report with a receipt for every other entry and an annotation on
    /// every 7th.
    fn mixed(range: Range<u64>) -> Vec<Projected> {
        let mut items = Vec::new();
        for index in range {
            match index % 50 {
                0 => items.push(Projected::Source(source(&format!("s-{index}"), index))),
                1 if index > 50 => items.push(revoked(&format!("s-{}", index - 51), index)),
                2 => items.push(Projected::Agreement(agreement(index))),
                _ => {
                    items.push(Projected::Report(report(index)));
                    if index.is_multiple_of(7) {
                        items.push(Projected::Annotation(annotation(index, "r-3")));
                        items.push(Projected::Annotation(annotation(index, "r-4")));
                    }
                    items.push(receipt(index));
                }
            }
        }
        items
    }

    /// [`Store::apply`] as it was before the bulk way: every item one at a
    /// time, then the applied size, in one transaction.
    async fn one_by_one(
        store: &SqliteStore,
        entries: Range<u64>,
        batch: &[Projected],
    ) -> Result<(), StoreError> {
        let end = check_range(&entries, batch)?;
        let mut conn = store.writer.acquire().await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        let applied: i64 = sqlx::query_scalar("SELECT applied_size FROM store_state")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        if applied != i64::try_from(entries.start).unwrap() {
            return Err(StoreError::BatchOutOfOrder {
                start: entries.start,
                applied: u64::try_from(applied).unwrap(),
            });
        }
        apply_each(&mut tx, batch).await?;
        sqlx::query("UPDATE store_state SET applied_size = ?")
            .bind(end)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        Ok(())
    }

    /// Every table of `store`, row ids included, as JSON text.
    async fn dump(store: &SqliteStore) -> Vec<String> {
        let tables = [
            ("store_state", "id, applied_size"),
            (
                "sources",
                "name, vkey, kind, party, role, registered_at_index, revoked_at_index, \
                 revoked_at_ms",
            ),
            (
                "agreements",
                "id, version, interpretation, log_index, content_sha256, title, registered_at_ms",
            ),
            (
                "reports",
                "log_index, report_id, agreement_id, source_name, source_kind, party, actor, \
                 action, target, start_ms, end_ms, lon, lat, radius_m, submitted_at_ms",
            ),
            (
                "report_points",
                "log_index, min_lon, max_lon, min_lat, max_lat",
            ),
            ("report_zones", "log_index, position, zone_id"),
            (
                "annotations",
                "log_index, kind, subject, author, body_json, submitted_at_ms",
            ),
            ("receipts", "key, nonce, log_index"),
        ];
        let mut dumped = Vec::new();
        for (table, columns) in tables {
            let sql = format!(
                "SELECT json_group_array(json_array(row_id, {columns})) \
                 FROM (SELECT rowid AS row_id, {columns} FROM {table} ORDER BY rowid)"
            );
            let rows: String = sqlx::query_scalar(AssertSqlSafe(sql))
                .fetch_one(&store.writer)
                .await
                .unwrap();
            dumped.push(format!("{table}: {rows}"));
        }
        dumped
    }

    #[test]
    fn every_batch_but_revocations_alone_goes_the_bulk_way() {
        assert!(!worthwhile(&[]));
        assert!(!worthwhile(&[revoked("m", 2), revoked("n", 3)]));
        assert!(worthwhile(&[receipt(1)]));
        assert!(worthwhile(&[revoked("m", 2), Projected::Report(report(2))]));
        assert!(worthwhile(&mixed(0..100)));
    }

    #[test]
    fn statements_and_round_trips_stay_within_their_parameters() {
        let rows: Vec<u64> = (0..5_000).collect();
        let mut script = Script::default();
        script.insert(
            "INSERT INTO t (a, b, c, d, e, f, g) ",
            7,
            &rows,
            |row, n| {
                for _ in 0..7 {
                    row.push_bind(i64::try_from(*n).unwrap());
                }
            },
        );
        script
            .statement(1)
            .push("UPDATE u SET v = ")
            .push_bind(1_i64);
        let trips = script.trips();
        assert!(trips.len() > 1, "{} round trips", trips.len());
        let mut total = 0;
        for (trip, parameters) in &trips {
            let sql = trip.sql();
            let counted = sql.as_str().matches('?').count();
            assert_eq!(counted, *parameters);
            assert!(counted <= ROUND_TRIP_PARAMETERS);
            for statement in sql.as_str().split("; ") {
                assert!(statement.matches('?').count() <= STATEMENT_PARAMETERS);
            }
            total += counted;
        }
        assert_eq!(total, 5_000 * 7 + 1);
        // Full chunks of 999 / 7 = 142 rows.
        let first = trips[0].0.sql();
        assert!(
            first
                .as_str()
                .split("; ")
                .all(|s| s.matches('?').count() == 142 * 7)
        );
        assert!(trips[0].1 > KEEP_PREPARED_PARAMETERS);
    }

    #[tokio::test]
    async fn clean_batches_go_in_by_the_bulk_statements_and_others_fall_back() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let mut conn = store.writer.acquire().await.unwrap();
        // What `write` says of `batch`, rolled back afterwards.
        let mut attempt = async |batch: &[Projected]| {
            let mut tx = conn.begin().await.unwrap();
            let done = write(&mut tx, batch, 1).await;
            let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM reports")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            (done.ok(), stored)
        };
        // Larger than one round trip, with revocations in it.
        let clean = mixed(0..2_000);
        let reports = i64::try_from(
            clean
                .iter()
                .filter(|item| matches!(item, Projected::Report(_)))
                .count(),
        )
        .unwrap();
        assert_eq!(attempt(&clean).await, (Some(true), reports));
        let mut clash = mixed(0..2_000);
        clash.push(Projected::Report(report(1_999)));
        assert_eq!(attempt(&clash).await.0, None);
        let mut early = mixed(0..10);
        early.insert(0, revoked("s-0", 5));
        assert_eq!(attempt(&early).await.0, Some(false));
        let mut refused = mixed(0..10);
        refused.push(Projected::Report(ReportRecord {
            lon: f64::NAN,
            ..report(9)
        }));
        assert_eq!(attempt(&refused).await, (None, 0));
        drop(conn);

        // Through the store: the applied size went with the statements.
        store.apply(0..2_000, &clean).await.unwrap();
        assert_eq!(store.applied_size().await.unwrap(), 2_000);
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM report_zones")
            .fetch_one(&store.writer)
            .await
            .unwrap();
        let zones: usize = clean
            .iter()
            .map(|item| match item {
                Projected::Report(report) => report.zone_ids.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(stored, i64::try_from(zones).unwrap());
    }

    /// A problem in the last round trip of a batch also undoes the round
    /// trips before it, which went through.
    #[tokio::test]
    async fn a_refusal_after_the_first_round_trip_leaves_nothing() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let first = [Projected::Source(source("s-0", 0)), receipt(0)];
        store.apply(0..1, &first).await.unwrap();
        let mut batch = mixed(1..3_000);
        // Receipts go last; a clash with the stored one.
        batch.push(Projected::Receipt {
            key: "k0".to_owned(),
            nonce: format!("{:08x}", 0),
            log_index: 2_999,
        });
        let error = store.apply(1..3_000, &batch).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            StoreError::AlreadyStored {
                what: "receipt for key \"k0\" nonce \"00000000\"".to_owned()
            }
            .to_string()
        );
        assert_eq!(store.applied_size().await.unwrap(), 1);
        for (table, left) in [
            ("sources", 1),
            ("agreements", 0),
            ("reports", 0),
            ("report_points", 0),
            ("report_zones", 0),
            ("annotations", 0),
            ("receipts", 1),
        ] {
            let rows: i64 =
                sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                    .fetch_one(&store.writer)
                    .await
                    .unwrap();
            assert_eq!(rows, left, "{table}");
        }
        batch.pop();
        store.apply(1..3_000, &batch).await.unwrap();
        assert_eq!(store.applied_size().await.unwrap(), 3_000);
    }

    /// Batches applied the bulk way and one item at a time leave the same
    /// tables and give the same answers, clean or not, wherever a problem
    /// lies.
    #[tokio::test]
    async fn the_bulk_way_stores_and_refuses_as_one_at_a_time() {
        let bulk = SqliteStore::open_in_memory().await.unwrap();
        let single = SqliteStore::open_in_memory().await.unwrap();
        let with = |mut batch: Vec<Projected>, at: usize, item: Projected| {
            batch.insert(at.min(batch.len()), item);
            batch
        };
        let refused = Projected::Report(ReportRecord {
            end_ms: 0,
            ..report(1_203)
        });
        // Each batch with the error one at a time gives ("" when none).
        let cases: Vec<(Range<u64>, Vec<Projected>, &str)> = vec![
            (0..100, mixed(0..100), ""),
            // A duplicate of a stored report (by id), of one earlier in the
            // batch (by log index, in a later chunk), of a stored receipt,
            // of a stored source before a record the checks refuse and
            // after it, a revocation before the registration, a revocation
            // of a revoked source.
            (
                100..1_500,
                with(
                    mixed(100..1_500),
                    700,
                    Projected::Report(ReportRecord {
                        log_index: 702,
                        ..report(5)
                    }),
                ),
                "report \"r-5\" of agreement",
            ),
            (
                100..1_500,
                with(
                    mixed(100..1_500),
                    1_300,
                    Projected::Report(ReportRecord {
                        report_id: "other".to_owned(),
                        ..report(1_498)
                    }),
                ),
                "report 1498 already",
            ),
            (
                100..1_500,
                with(
                    mixed(100..1_500),
                    10,
                    Projected::Receipt {
                        key: "k0".to_owned(),
                        nonce: format!("{:08x}", 3),
                        log_index: 1_100,
                    },
                ),
                "receipt for key",
            ),
            (
                100..1_500,
                with(
                    with(
                        mixed(100..1_500),
                        900,
                        Projected::Source(source("s-0", 1_200)),
                    ),
                    1_000,
                    refused.clone(),
                ),
                "source \"s-0\" already",
            ),
            (
                100..1_500,
                with(
                    with(mixed(100..1_500), 900, refused),
                    1_000,
                    Projected::Source(source("s-0", 1_200)),
                ),
                "1203",
            ),
            (
                100..1_500,
                with(mixed(100..1_500), 0, revoked("s-1450", 1_499)),
                "\"s-1450\" is not registered",
            ),
            (
                100..1_500,
                with(mixed(100..1_500), 3, revoked("s-0", 102)),
                "already revoked",
            ),
            (100..1_500, mixed(100..1_500), ""),
            (1_500..1_501, vec![revoked("s-1450", 1_500)], ""),
            (1_501..1_502, vec![receipt(1_501)], ""),
            (
                1_502..1_503,
                vec![Projected::Receipt {
                    key: "k1".to_owned(),
                    nonce: format!("{:08x}", 1_501),
                    log_index: 1_502,
                }],
                "receipt for key",
            ),
            (1_502..1_503, vec![], ""),
        ];
        for (entries, batch, expected) in cases {
            let by_bulk = bulk.apply(entries.clone(), &batch).await;
            let by_one = one_by_one(&single, entries.clone(), &batch).await;
            let message = by_one.as_ref().err().map(ToString::to_string);
            match (expected, &message) {
                ("", None) => {}
                (part, Some(message)) if !part.is_empty() && message.contains(part) => {}
                _ => panic!("entries {entries:?}: expected {expected:?}, got {message:?}"),
            }
            assert_eq!(
                by_bulk.as_ref().map_err(ToString::to_string),
                by_one.as_ref().map_err(ToString::to_string),
                "entries {entries:?}"
            );
            assert_eq!(
                dump(&bulk).await,
                dump(&single).await,
                "entries {entries:?}"
            );
        }
        assert_eq!(bulk.applied_size().await.unwrap(), 1_503);
    }

    /// The savepoint is taken with the applied size read, so a batch that
    /// does not start there takes nothing.
    #[tokio::test]
    async fn a_batch_out_of_order_is_refused_before_anything_is_written() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let error = store.apply(5..10, &mixed(5..10)).await.unwrap_err();
        assert!(matches!(
            error,
            StoreError::BatchOutOfOrder {
                start: 5,
                applied: 0
            }
        ));
        let rows = sqlx::query("SELECT count(*) FROM reports")
            .fetch_one(&store.writer)
            .await
            .unwrap();
        assert_eq!(rows.get::<i64, _>(0), 0);
        store.apply(0..5, &mixed(0..5)).await.unwrap();
    }
}
