//! A batch's items written with one statement per table: each table's rows
//! go to the server as one array per column and are spread back into rows
//! by `UNNEST`, so a batch costs a handful of round trips however many
//! items it holds.
//!
//! This is the fast way of the write path, not its judge. [`write`] says
//! whether it stored every item exactly as writing them one at a time in
//! the batch's order would; when it cannot say so (a record the checks
//! refuse, a row that was not inserted, a revocation whose source is
//! registered later in the batch) or a statement fails, the caller goes
//! back to its savepoint and writes the items one at a time, which names
//! the first problem.

use sqlx::PgConnection;

use super::write::revoke_source;
use crate::batch::{check_report, check_source, revokes_before_registering};
use crate::db::to_db;
use crate::{AnnotationRecord, Projected, StoreError};

/// Whether `batch` has two rows or more for some table, so that writing
/// it the bulk way saves round trips. (Revocations are written one at a
/// time either way.)
pub(super) fn worthwhile(batch: &[Projected]) -> bool {
    let mut seen = [false; 5];
    batch.iter().any(|item| {
        let table = match item {
            Projected::Source(_) => 0,
            Projected::Agreement(_) => 1,
            Projected::Report(_) => 2,
            Projected::Annotation(_) => 3,
            Projected::Receipt { .. } => 4,
            Projected::SourceRevoked { .. } => return false,
        };
        std::mem::replace(&mut seen[table], true)
    })
}

/// Writes every item of `batch`, each table's rows in one statement, and
/// returns `Ok(true)` when all went in as they would one at a time in the
/// batch's order. `Ok(false)` or an error leaves the connection's
/// transaction to be rolled back to before the call.
///
/// Row by row, an item sees the rows of the items before it. Here all of a
/// table's rows are inserted at once, in the batch's order and with
/// `ON CONFLICT DO NOTHING`: when every row was inserted, none clashed with
/// a stored row or with another item, so the one-at-a-time writes would
/// have succeeded with the same rows. Tables are written one after another
/// and only revocations read another table (`sources`), so they run, one at
/// a time, after every registration of the batch: that is what they would
/// see unless a registration of the same name comes later in the batch,
/// which is left to the one-at-a-time writes.
pub(super) async fn write(
    conn: &mut PgConnection,
    batch: &[Projected],
) -> Result<bool, StoreError> {
    if revokes_before_registering(batch) {
        return Ok(false);
    }
    let mut rows = Rows::default();
    let mut revocations = Vec::new();
    let mut report_place: i64 = 0;
    for item in batch {
        match item {
            Projected::Source(source) => {
                check_source(source)?;
                let sources = &mut rows.sources;
                sources.name.push(source.name.as_str());
                sources.vkey.push(source.vkey.as_str());
                sources.kind.push(source.kind.as_str());
                sources.party.push(source.party.as_deref());
                sources.role.push(source.role.as_str());
                sources
                    .registered_at_index
                    .push(to_db("registered_at_index", source.registered_at_index)?);
                sources.revoked_at_index.push(
                    source
                        .revoked_at_index
                        .map(|index| to_db("revoked_at_index", index))
                        .transpose()?,
                );
                sources.revoked_at_ms.push(source.revoked_at_ms);
            }
            Projected::SourceRevoked {
                name,
                at_index,
                at_ms,
            } => revocations.push((name.as_str(), *at_index, *at_ms)),
            Projected::Agreement(agreement) => {
                let agreements = &mut rows.agreements;
                agreements.id.push(agreement.id.as_str());
                agreements.version.push(i64::from(agreement.version));
                agreements
                    .interpretation
                    .push(agreement.interpretation.as_str());
                agreements
                    .log_index
                    .push(to_db("log_index", agreement.log_index)?);
                agreements
                    .content_sha256
                    .push(agreement.content_sha256.as_str());
                agreements.title.push(agreement.title.as_str());
                agreements.registered_at_ms.push(agreement.registered_at_ms);
            }
            Projected::Report(report) => {
                check_report(report)?;
                let reports = &mut rows.reports;
                reports
                    .log_index
                    .push(to_db("log_index", report.log_index)?);
                reports.report_id.push(report.report_id.as_str());
                reports.agreement_id.push(report.agreement_id.as_str());
                reports.source_name.push(report.source_name.as_str());
                reports.source_kind.push(report.source_kind.as_str());
                reports.party.push(report.party.as_deref());
                reports.actor.push(report.actor.as_deref());
                reports.action.push(report.action.as_str());
                reports.target.push(report.target.as_str());
                reports.start_ms.push(report.start_ms);
                reports.end_ms.push(report.end_ms);
                reports.lon.push(report.lon);
                reports.lat.push(report.lat);
                reports.radius_m.push(report.radius_m);
                reports.submitted_at_ms.push(report.submitted_at_ms);
                // The report's place among the batch's reports, counted from
                // one as `WITH ORDINALITY` counts.
                report_place += 1;
                for zone_id in &report.zone_ids {
                    reports.zone_owner.push(report_place);
                    reports.zone_id.push(zone_id.as_str());
                }
            }
            Projected::Annotation(annotation) => rows.annotations.push(annotation)?,
            Projected::Receipt {
                key,
                nonce,
                log_index,
            } => {
                let receipts = &mut rows.receipts;
                receipts.key.push(key.as_str());
                receipts.nonce.push(nonce.as_str());
                receipts.log_index.push(to_db("log_index", *log_index)?);
            }
        }
    }
    Ok(rows.sources.insert(conn).await?
        && revoke_all(conn, &revocations).await?
        && rows.agreements.insert(conn).await?
        && rows.reports.insert(conn).await?
        && rows.annotations.insert(conn).await?
        && rows.receipts.insert(conn).await?)
}

/// Applies the batch's revocations one at a time, in its order (they are
/// rare: one per revoked key).
async fn revoke_all(
    conn: &mut PgConnection,
    revocations: &[(&str, u64, i64)],
) -> Result<bool, StoreError> {
    for (name, at_index, at_ms) in revocations {
        revoke_source(conn, name, *at_index, *at_ms).await?;
    }
    Ok(true)
}

/// Whether a statement meant to insert `expected` rows inserted them all.
fn all_inserted(done: &sqlx::postgres::PgQueryResult, expected: usize) -> bool {
    usize::try_from(done.rows_affected()).is_ok_and(|inserted| inserted == expected)
}

/// The rows of a batch, one vector per column, by table.
#[derive(Default)]
struct Rows<'a> {
    sources: Sources<'a>,
    agreements: Agreements<'a>,
    reports: Reports<'a>,
    annotations: Annotations<'a>,
    receipts: Receipts<'a>,
}

#[derive(Default)]
struct Sources<'a> {
    name: Vec<&'a str>,
    vkey: Vec<&'a str>,
    kind: Vec<&'a str>,
    party: Vec<Option<&'a str>>,
    role: Vec<&'a str>,
    registered_at_index: Vec<i64>,
    revoked_at_index: Vec<Option<i64>>,
    revoked_at_ms: Vec<Option<i64>>,
}

impl Sources<'_> {
    async fn insert(self, conn: &mut PgConnection) -> Result<bool, StoreError> {
        let expected = self.name.len();
        if expected == 0 {
            return Ok(true);
        }
        let done = sqlx::query(
            "INSERT INTO sources (name, vkey, kind, party, role, registered_at_index, \
             revoked_at_index, revoked_at_ms) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::bigint[], $7::bigint[], $8::bigint[]) \
             ON CONFLICT DO NOTHING",
        )
        .bind(self.name)
        .bind(self.vkey)
        .bind(self.kind)
        .bind(self.party)
        .bind(self.role)
        .bind(self.registered_at_index)
        .bind(self.revoked_at_index)
        .bind(self.revoked_at_ms)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::database("storing sources"))?;
        Ok(all_inserted(&done, expected))
    }
}

#[derive(Default)]
struct Agreements<'a> {
    id: Vec<&'a str>,
    version: Vec<i64>,
    interpretation: Vec<&'a str>,
    log_index: Vec<i64>,
    content_sha256: Vec<&'a str>,
    title: Vec<&'a str>,
    registered_at_ms: Vec<i64>,
}

impl Agreements<'_> {
    async fn insert(self, conn: &mut PgConnection) -> Result<bool, StoreError> {
        let expected = self.id.len();
        if expected == 0 {
            return Ok(true);
        }
        let done = sqlx::query(
            "INSERT INTO agreements (id, version, interpretation, log_index, content_sha256, \
             title, registered_at_ms) \
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::bigint[], \
             $5::text[], $6::text[], $7::bigint[]) \
             ON CONFLICT DO NOTHING",
        )
        .bind(self.id)
        .bind(self.version)
        .bind(self.interpretation)
        .bind(self.log_index)
        .bind(self.content_sha256)
        .bind(self.title)
        .bind(self.registered_at_ms)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::database("storing agreements"))?;
        Ok(all_inserted(&done, expected))
    }
}

/// Reports, with their zones flattened: `zone_id[i]` belongs to the report
/// whose place (from one) is `zone_owner[i]`, and a report's zones keep
/// their order. The statement gathers them back into each report's array;
/// a report without zones gets an empty one.
#[derive(Default)]
struct Reports<'a> {
    log_index: Vec<i64>,
    report_id: Vec<&'a str>,
    agreement_id: Vec<&'a str>,
    source_name: Vec<&'a str>,
    source_kind: Vec<&'a str>,
    party: Vec<Option<&'a str>>,
    actor: Vec<Option<&'a str>>,
    action: Vec<&'a str>,
    target: Vec<&'a str>,
    start_ms: Vec<i64>,
    end_ms: Vec<i64>,
    lon: Vec<f64>,
    lat: Vec<f64>,
    radius_m: Vec<f64>,
    submitted_at_ms: Vec<i64>,
    zone_owner: Vec<i64>,
    zone_id: Vec<&'a str>,
}

impl Reports<'_> {
    async fn insert(self, conn: &mut PgConnection) -> Result<bool, StoreError> {
        let expected = self.log_index.len();
        if expected == 0 {
            return Ok(true);
        }
        // The point column is generated from lon and lat.
        let done = sqlx::query(
            "INSERT INTO reports (log_index, report_id, agreement_id, source_name, source_kind, \
             party, actor, action, target, start_ms, end_ms, lon, lat, radius_m, \
             submitted_at_ms, zone_ids) \
             SELECT r.log_index, r.report_id, r.agreement_id, r.source_name, r.source_kind, \
             r.party, r.actor, r.action, r.target, r.start_ms, r.end_ms, r.lon, r.lat, \
             r.radius_m, r.submitted_at_ms, COALESCE(z.zone_ids, '{}'::text[]) \
             FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], \
             $12::float8[], $13::float8[], $14::float8[], $15::bigint[]) WITH ORDINALITY \
             AS r(log_index, report_id, agreement_id, source_name, source_kind, party, actor, \
             action, target, start_ms, end_ms, lon, lat, radius_m, submitted_at_ms, place) \
             LEFT JOIN (SELECT owner, array_agg(zone_id ORDER BY zone_place) AS zone_ids \
             FROM UNNEST($16::bigint[], $17::text[]) WITH ORDINALITY \
             AS zones(owner, zone_id, zone_place) GROUP BY owner) AS z ON z.owner = r.place \
             ORDER BY r.place \
             ON CONFLICT DO NOTHING",
        )
        .bind(self.log_index)
        .bind(self.report_id)
        .bind(self.agreement_id)
        .bind(self.source_name)
        .bind(self.source_kind)
        .bind(self.party)
        .bind(self.actor)
        .bind(self.action)
        .bind(self.target)
        .bind(self.start_ms)
        .bind(self.end_ms)
        .bind(self.lon)
        .bind(self.lat)
        .bind(self.radius_m)
        .bind(self.submitted_at_ms)
        .bind(self.zone_owner)
        .bind(self.zone_id)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::database("storing reports"))?;
        Ok(all_inserted(&done, expected))
    }
}

#[derive(Default)]
struct Annotations<'a> {
    log_index: Vec<i64>,
    kind: Vec<&'static str>,
    subject: Vec<&'a str>,
    author: Vec<&'a str>,
    body_json: Vec<&'a str>,
    submitted_at_ms: Vec<i64>,
}

impl<'a> Annotations<'a> {
    fn push(&mut self, annotation: &'a AnnotationRecord) -> Result<(), StoreError> {
        self.log_index
            .push(to_db("log_index", annotation.log_index)?);
        self.kind.push(annotation.kind.as_str());
        self.subject.push(annotation.subject.as_str());
        self.author.push(annotation.author.as_str());
        self.body_json.push(annotation.body_json.as_str());
        self.submitted_at_ms.push(annotation.submitted_at_ms);
        Ok(())
    }

    async fn insert(self, conn: &mut PgConnection) -> Result<bool, StoreError> {
        let expected = self.log_index.len();
        if expected == 0 {
            return Ok(true);
        }
        let done = sqlx::query(
            "INSERT INTO annotations (log_index, kind, subject, author, body_json, \
             submitted_at_ms) \
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], \
             $5::text[], $6::bigint[]) \
             ON CONFLICT DO NOTHING",
        )
        .bind(self.log_index)
        .bind(self.kind)
        .bind(self.subject)
        .bind(self.author)
        .bind(self.body_json)
        .bind(self.submitted_at_ms)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::database("storing annotations"))?;
        Ok(all_inserted(&done, expected))
    }
}

#[derive(Default)]
struct Receipts<'a> {
    key: Vec<&'a str>,
    nonce: Vec<&'a str>,
    log_index: Vec<i64>,
}

impl Receipts<'_> {
    async fn insert(self, conn: &mut PgConnection) -> Result<bool, StoreError> {
        let expected = self.key.len();
        if expected == 0 {
            return Ok(true);
        }
        let done = sqlx::query(
            "INSERT INTO receipts (key, nonce, log_index) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[]) \
             ON CONFLICT DO NOTHING",
        )
        .bind(self.key)
        .bind(self.nonce)
        .bind(self.log_index)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::database("storing receipts"))?;
        Ok(all_inserted(&done, expected))
    }
}

/// Whether the bulk statements are the way clean batches go in (the suite
/// in `tests/` checks what is stored and refused; a batch the bulk way
/// cannot take goes in item by item with the same result, so only here can
/// the bulk way be seen to work). Runs on a fresh database of the server
/// `TRUCE_TEST_POSTGRES_URL` names, like the suite, and is skipped without it.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::str::FromStr;

    use sqlx::postgres::{PgConnectOptions, PgConnection};
    use sqlx::{AssertSqlSafe, Connection};

    use super::{worthwhile, write};
    use crate::{
        AgreementRecord, AnnotationKind, AnnotationRecord, PgStore, Projected, ReportRecord,
        SourceRecord,
    };

    fn source(name: &str, index: u64) -> SourceRecord {
        SourceRecord {
            name: name.to_owned(),
            vkey: format!("{name}+00"),
            kind: "monitor".to_owned(),
            party: None,
            role: "reporter".to_owned(),
            registered_at_index: index,
            revoked_at_index: None,
            revoked_at_ms: None,
        }
    }

    fn report(index: u64, zones: &[&str]) -> ReportRecord {
        ReportRecord {
            log_index: index,
            report_id: format!("r-{index}"),
            agreement_id: "a".to_owned(),
            source_name: "m".to_owned(),
            source_kind: "monitor".to_owned(),
            party: Some("UA".to_owned()).filter(|_| index.is_multiple_of(2)),
            actor: None,
            action: "drone".to_owned(),
            target: "energy".to_owned(),
            start_ms: 1,
            end_ms: 2,
            lon: 30.0,
            lat: 47.0,
            radius_m: 10.0,
            zone_ids: zones.iter().map(|&zone| zone.to_owned()).collect(),
            submitted_at_ms: 3,
        }
    }

    /// Entries 0..8 with two of every kind of item.
    fn batch() -> Vec<Projected> {
        let mut items = vec![
            Projected::Source(source("m", 0)),
            Projected::Source(source("n", 1)),
            Projected::SourceRevoked {
                name: "m".to_owned(),
                at_index: 2,
                at_ms: 5,
            },
        ];
        for index in [2, 3] {
            items.push(Projected::Agreement(AgreementRecord {
                id: "a".to_owned(),
                version: u32::try_from(index).unwrap(),
                interpretation: "common".to_owned(),
                log_index: index,
                content_sha256: "00".to_owned(),
                title: "A".to_owned(),
                registered_at_ms: 4,
            }));
        }
        items.push(Projected::Report(report(4, &["z1", "z0"])));
        items.push(Projected::Report(report(5, &[])));
        for index in [6, 7] {
            items.push(Projected::Annotation(AnnotationRecord {
                log_index: index,
                kind: AnnotationKind::Review,
                subject: "r-4".to_owned(),
                author: "m".to_owned(),
                body_json: "{}".to_owned(),
                submitted_at_ms: 6,
            }));
            items.push(Projected::Receipt {
                key: "k".to_owned(),
                nonce: format!("{index}"),
                log_index: index,
            });
        }
        items
    }

    /// What [`write`] says of `batch` on `store`, rolled back afterwards.
    async fn try_write(store: &PgStore, batch: &[Projected]) -> Option<bool> {
        let mut tx = store.pool.begin().await.unwrap();
        let done = write(&mut tx, batch).await.ok();
        tx.rollback().await.unwrap();
        done
    }

    async fn admin(url: &str) -> PgConnection {
        PgConnection::connect_with(&PgConnectOptions::from_str(url).unwrap())
            .await
            .unwrap()
    }

    #[test]
    fn only_batches_with_two_rows_for_a_table_go_the_bulk_way() {
        let receipt = |index: u64| Projected::Receipt {
            key: "k".to_owned(),
            nonce: format!("{index}"),
            log_index: index,
        };
        let revoked = |index: u64| Projected::SourceRevoked {
            name: "m".to_owned(),
            at_index: index,
            at_ms: 5,
        };
        let one_each = [
            Projected::Source(source("m", 0)),
            Projected::Report(report(1, &[])),
            receipt(1),
            revoked(2),
            revoked(3),
        ];
        assert!(!worthwhile(&[]));
        assert!(!worthwhile(&one_each));
        let two_receipts = [receipt(1), Projected::Report(report(1, &[])), receipt(2)];
        assert!(worthwhile(&two_receipts));
        assert!(worthwhile(&batch()));
    }

    #[tokio::test]
    async fn clean_batches_go_in_by_the_bulk_statements() {
        let Some(url) = std::env::var("TRUCE_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
        else {
            return;
        };
        let name = format!("truce_{}_bulk_unit", std::process::id());
        let mut conn = admin(&url).await;
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap();
        let options = PgConnectOptions::from_str(&url).unwrap().database(&name);
        let store = PgStore::connect_with(options).await.unwrap();

        let clean = try_write(&store, &batch()).await;
        let mut clash = batch();
        clash.push(Projected::Report(report(8, &["z"])));
        clash.push(Projected::Report(report(8, &["z"])));
        let clashing = try_write(&store, &clash).await;
        let mut early = batch();
        early.insert(
            0,
            Projected::SourceRevoked {
                name: "n".to_owned(),
                at_index: 2,
                at_ms: 5,
            },
        );
        let revoked_early = try_write(&store, &early).await;
        let mut bad = batch();
        bad.push(Projected::Report(ReportRecord {
            lon: f64::NAN,
            ..report(9, &[])
        }));
        let refused = try_write(&store, &bad).await;
        let stored = crate::Store::apply(&store, 0..8, &batch()).await;

        store.close().await;
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
        assert_eq!(clean, Some(true));
        assert_eq!(clashing, Some(false));
        assert_eq!(revoked_early, Some(false));
        assert_eq!(refused, None);
        stored.unwrap();
    }
}
