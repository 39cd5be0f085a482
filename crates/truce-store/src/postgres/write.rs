//! The write path: batches of projected entries and nonces, each in one
//! transaction. A batch locks the `store_state` row first, so batches from
//! any number of handles on one database are serialised and only one of two
//! that start at the same applied size can succeed.
//!
//! Inserts say `ON CONFLICT DO NOTHING` and look at the row count: a unique
//! violation would abort the whole transaction before the duplicate could
//! be named.
//!
//! A batch with two rows or more for one table is first written with one
//! statement per table (the rows passed as arrays, see
//! [`bulk`](super::bulk)), behind a savepoint; a smaller one item by item,
//! as that takes as many round trips and no savepoint. When the bulk way
//! does not go through cleanly (a duplicate, a refused record, a revocation
//! the bulk order cannot judge, a database error), the batch goes back to
//! the savepoint and is written again one item at a time in its own order,
//! which names the first problem exactly as it always has; a batch that
//! fails leaves nothing either way.

use std::collections::HashSet;
use std::ops::Range;

use sqlx::{PgConnection, PgPool, Postgres, Row, Transaction};

use super::bulk;

use crate::batch::{check_range, check_report, check_revocation, check_source};
use crate::db::{from_db, to_db};
use crate::{
    AgreementRecord, AnnotationRecord, Projected, ReportRecord, SeenNonce, SourceRecord, StoreError,
};

/// Commits `tx` if `result` is `Ok`, otherwise rolls it back and returns the
/// error.
async fn finish<T>(
    tx: Transaction<'static, Postgres>,
    result: Result<T, StoreError>,
    operation: &'static str,
) -> Result<T, StoreError> {
    match result {
        Ok(value) => {
            tx.commit().await.map_err(StoreError::database(operation))?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(%rollback, "rolling back a failed transaction failed");
            }
            Err(error)
        }
    }
}

/// See [`Store::apply`](crate::Store::apply).
pub(super) async fn apply(
    pool: &PgPool,
    entries: Range<u64>,
    batch: &[Projected],
) -> Result<(), StoreError> {
    let end = check_range(&entries, batch)?;
    let mut tx = pool
        .begin()
        .await
        .map_err(StoreError::database("starting a batch"))?;
    let result = apply_in(&mut tx, entries.start, end, batch).await;
    finish(tx, result, "committing a batch").await
}

async fn apply_in(
    conn: &mut PgConnection,
    start: u64,
    end: i64,
    batch: &[Projected],
) -> Result<(), StoreError> {
    if bulk::worthwhile(batch) {
        lock_with_savepoint(conn, start).await?;
        match bulk::write(conn, batch).await {
            Ok(true) => {}
            outcome => {
                if let Err(error) = &outcome {
                    tracing::debug!(%error, "a batch's bulk statements failed; writing it item by item");
                }
                let back = sqlx::raw_sql("ROLLBACK TO SAVEPOINT truce_batch")
                    .execute(&mut *conn)
                    .await;
                match (back, outcome) {
                    (Ok(_), _) => apply_each(conn, batch).await?,
                    // The connection is gone or broken: the bulk statement's
                    // own error says why.
                    (Err(_), Err(error)) => return Err(error),
                    (Err(error), Ok(_)) => {
                        return Err(StoreError::Database {
                            operation: "going back to a batch's savepoint",
                            source: error,
                        });
                    }
                }
            }
        }
    } else {
        // The row lock waits for any other batch in flight; once it is
        // granted the row read is the one that batch committed.
        let applied: i64 =
            sqlx::query_scalar("SELECT applied_size FROM store_state WHERE id = 1 FOR UPDATE")
                .fetch_one(&mut *conn)
                .await
                .map_err(StoreError::database("reading the applied size"))?;
        check_applied(start, applied)?;
        apply_each(conn, batch).await?;
    }
    sqlx::query("UPDATE store_state SET applied_size = $1 WHERE id = 1")
        .bind(end)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::database("advancing the applied size"))?;
    Ok(())
}

/// Locks the `store_state` row, as the item-by-item way does, checks that
/// the batch starts at the applied size, and takes the savepoint the bulk
/// statements are written behind, in one round trip (a simple query may
/// hold several statements). Taken after the lock, going back to the
/// savepoint keeps the lock.
async fn lock_with_savepoint(conn: &mut PgConnection, start: u64) -> Result<(), StoreError> {
    let locked = sqlx::raw_sql(
        "SELECT applied_size FROM store_state WHERE id = 1 FOR UPDATE; \
         SAVEPOINT truce_batch",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::database("reading the applied size"))?;
    let applied: i64 = locked
        .first()
        .ok_or(sqlx::Error::RowNotFound)
        .and_then(|row| row.try_get(0))
        .map_err(StoreError::database("reading the applied size"))?;
    check_applied(start, applied)
}

/// Refuses a batch that does not start at the applied size.
fn check_applied(start: u64, applied: i64) -> Result<(), StoreError> {
    let applied = from_db("store_state.applied_size", applied)?;
    if applied != start {
        return Err(StoreError::BatchOutOfOrder { start, applied });
    }
    Ok(())
}

/// Writes `batch` one item at a time, in its order, stopping at the first
/// item that cannot be stored.
async fn apply_each(conn: &mut PgConnection, batch: &[Projected]) -> Result<(), StoreError> {
    for item in batch {
        match item {
            Projected::Source(source) => insert_source(conn, source).await?,
            Projected::SourceRevoked {
                name,
                at_index,
                at_ms,
            } => revoke_source(conn, name, *at_index, *at_ms).await?,
            Projected::Agreement(agreement) => insert_agreement(conn, agreement).await?,
            Projected::Report(report) => insert_report(conn, report).await?,
            Projected::Annotation(annotation) => insert_annotation(conn, annotation).await?,
            Projected::Receipt {
                key,
                nonce,
                log_index,
            } => insert_receipt(conn, key, nonce, *log_index).await?,
        }
    }
    Ok(())
}

async fn insert_source(conn: &mut PgConnection, source: &SourceRecord) -> Result<(), StoreError> {
    check_source(source)?;
    let registered = to_db("registered_at_index", source.registered_at_index)?;
    let revoked = source
        .revoked_at_index
        .map(|index| to_db("revoked_at_index", index))
        .transpose()?;
    let inserted = sqlx::query(
        "INSERT INTO sources (name, vkey, kind, party, role, registered_at_index, \
         revoked_at_index, revoked_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&source.name)
    .bind(&source.vkey)
    .bind(&source.kind)
    .bind(&source.party)
    .bind(&source.role)
    .bind(registered)
    .bind(revoked)
    .bind(source.revoked_at_ms)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::database("storing a source"))?;
    if inserted.rows_affected() == 1 {
        return Ok(());
    }
    let same_name: Option<i64> =
        sqlx::query_scalar("SELECT registered_at_index FROM sources WHERE name = $1")
            .bind(&source.name)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::database("looking up a duplicate source"))?;
    let what = match same_name {
        Some(_) => format!("source {:?}", source.name),
        None => format!(
            "source registration at index {}",
            source.registered_at_index
        ),
    };
    Err(StoreError::AlreadyStored { what })
}

pub(super) async fn revoke_source(
    conn: &mut PgConnection,
    name: &str,
    at_index: u64,
    at_ms: i64,
) -> Result<(), StoreError> {
    let current: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT registered_at_index, revoked_at_index FROM sources WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::database("looking up a source to revoke"))?;
    let Some((registered, revoked)) = current else {
        return Err(StoreError::UnknownSource {
            name: name.to_owned(),
        });
    };
    if let Some(revoked) = revoked {
        return Err(StoreError::AlreadyRevoked {
            name: name.to_owned(),
            at_index: from_db("sources.revoked_at_index", revoked)?,
        });
    }
    let registered = from_db("sources.registered_at_index", registered)?;
    check_revocation(name, registered, at_index)?;
    sqlx::query("UPDATE sources SET revoked_at_index = $1, revoked_at_ms = $2 WHERE name = $3")
        .bind(to_db("at_index", at_index)?)
        .bind(at_ms)
        .bind(name)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::database("revoking a source"))?;
    Ok(())
}

async fn insert_agreement(
    conn: &mut PgConnection,
    agreement: &AgreementRecord,
) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO agreements (id, version, interpretation, log_index, content_sha256, title, \
         registered_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(&agreement.id)
    .bind(i64::from(agreement.version))
    .bind(&agreement.interpretation)
    .bind(to_db("log_index", agreement.log_index)?)
    .bind(&agreement.content_sha256)
    .bind(&agreement.title)
    .bind(agreement.registered_at_ms)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::database("storing an agreement"))?;
    if inserted.rows_affected() == 1 {
        return Ok(());
    }
    let same_key: Option<i64> = sqlx::query_scalar(
        "SELECT log_index FROM agreements WHERE id = $1 AND version = $2 AND interpretation = $3",
    )
    .bind(&agreement.id)
    .bind(i64::from(agreement.version))
    .bind(&agreement.interpretation)
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::database("looking up a duplicate agreement"))?;
    let what = match same_key {
        Some(_) => format!(
            "agreement {:?} version {} ({})",
            agreement.id, agreement.version, agreement.interpretation
        ),
        None => format!("agreement at index {}", agreement.log_index),
    };
    Err(StoreError::AlreadyStored { what })
}

async fn insert_report(conn: &mut PgConnection, report: &ReportRecord) -> Result<(), StoreError> {
    check_report(report)?;
    let log_index = to_db("log_index", report.log_index)?;
    let inserted = sqlx::query(
        "INSERT INTO reports (log_index, report_id, agreement_id, source_name, source_kind, \
         party, actor, action, target, start_ms, end_ms, lon, lat, radius_m, submitted_at_ms, \
         zone_ids) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT DO NOTHING",
    )
    .bind(log_index)
    .bind(&report.report_id)
    .bind(&report.agreement_id)
    .bind(&report.source_name)
    .bind(&report.source_kind)
    .bind(&report.party)
    .bind(&report.actor)
    .bind(&report.action)
    .bind(&report.target)
    .bind(report.start_ms)
    .bind(report.end_ms)
    .bind(report.lon)
    .bind(report.lat)
    .bind(report.radius_m)
    .bind(report.submitted_at_ms)
    .bind(&report.zone_ids)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::database("storing a report"))?;
    if inserted.rows_affected() == 1 {
        return Ok(());
    }
    let same_index: Option<i64> =
        sqlx::query_scalar("SELECT log_index FROM reports WHERE log_index = $1")
            .bind(log_index)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::database("looking up a duplicate report"))?;
    let what = match same_index {
        Some(_) => format!("report {}", report.log_index),
        None => format!(
            "report {:?} of agreement {:?}",
            report.report_id, report.agreement_id
        ),
    };
    Err(StoreError::AlreadyStored { what })
}

async fn insert_annotation(
    conn: &mut PgConnection,
    annotation: &AnnotationRecord,
) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO annotations (log_index, kind, subject, author, body_json, submitted_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(to_db("log_index", annotation.log_index)?)
    .bind(annotation.kind.as_str())
    .bind(&annotation.subject)
    .bind(&annotation.author)
    .bind(&annotation.body_json)
    .bind(annotation.submitted_at_ms)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::database("storing an annotation"))?;
    if inserted.rows_affected() == 1 {
        return Ok(());
    }
    Err(StoreError::AlreadyStored {
        what: format!(
            "annotation of {:?} at index {}",
            annotation.subject, annotation.log_index
        ),
    })
}

async fn insert_receipt(
    conn: &mut PgConnection,
    key: &str,
    nonce: &str,
    log_index: u64,
) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO receipts (key, nonce, log_index) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(key)
    .bind(nonce)
    .bind(to_db("log_index", log_index)?)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::database("storing a receipt"))?;
    if inserted.rows_affected() == 1 {
        return Ok(());
    }
    Err(StoreError::AlreadyStored {
        what: format!("receipt for key {key:?} nonce {nonce:?}"),
    })
}

/// See [`Store::remember_nonces`](crate::Store::remember_nonces).
pub(super) async fn remember_nonces(pool: &PgPool, nonces: &[SeenNonce]) -> Result<(), StoreError> {
    let mut tx = pool
        .begin()
        .await
        .map_err(StoreError::database("starting to remember nonces"))?;
    let result = remember_in(&mut tx, nonces).await;
    finish(tx, result, "committing nonces").await
}

async fn remember_in(conn: &mut PgConnection, nonces: &[SeenNonce]) -> Result<(), StoreError> {
    if nonces.is_empty() {
        return Ok(());
    }
    // One statement for all. A nonce another handle is inserting makes this
    // wait for its transaction, then count as seen if that one committed.
    let rows = sqlx::query(
        "INSERT INTO nonces (key, nonce_hex, ts_ms) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[]) \
         ON CONFLICT DO NOTHING RETURNING key, nonce_hex",
    )
    .bind(nonces.iter().map(|n| n.key.as_str()).collect::<Vec<_>>())
    .bind(
        nonces
            .iter()
            .map(|n| n.nonce_hex.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(nonces.iter().map(|n| n.ts_ms).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::database("remembering nonces"))?;
    if rows.len() == nonces.len() {
        return Ok(());
    }
    let mut inserted = HashSet::with_capacity(rows.len());
    for row in rows {
        let key: String = row
            .try_get(0)
            .map_err(StoreError::database("remembering nonces"))?;
        let nonce_hex: String = row
            .try_get(1)
            .map_err(StoreError::database("remembering nonces"))?;
        inserted.insert((key, nonce_hex));
    }
    // In order, the first nonce that was already there, or that repeats
    // one before it, is the one a row-by-row insert would have stopped at.
    for nonce in nonces {
        if !inserted.remove(&(nonce.key.clone(), nonce.nonce_hex.clone())) {
            return Err(StoreError::NonceSeen {
                key: nonce.key.clone(),
                nonce_hex: nonce.nonce_hex.clone(),
            });
        }
    }
    Ok(())
}

/// See [`Store::forget_nonces`](crate::Store::forget_nonces).
pub(super) async fn forget_nonces(pool: &PgPool, before_ms: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM nonces WHERE ts_ms < $1")
        .bind(before_ms)
        .execute(pool)
        .await
        .map_err(StoreError::database("forgetting nonces"))?;
    Ok(done.rows_affected())
}
