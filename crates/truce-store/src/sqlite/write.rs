//! The write path: batches of projected entries and nonces, each in one
//! transaction on the single writer connection.
//!
//! Every statement is a round trip to the connection's worker thread. A
//! batch (unless it only revokes sources) is first written with multi-row
//! statements, several sent at once together with the new applied size
//! (see [`bulk`](super::bulk)), behind a savepoint taken in the same round
//! trip as the applied size is read. When the bulk way does not go through
//! cleanly (a duplicate, a refused record, a revocation the bulk order
//! cannot judge, a database error), the batch goes back to the savepoint
//! and is written again one item at a time in its own order, which names
//! the first problem exactly as it always has; a batch that fails leaves
//! nothing either way.

use std::ops::Range;

use sqlx::{Row, Sqlite, SqliteConnection, SqlitePool, Transaction};

use super::bulk;

use crate::batch::{check_range, check_report, check_revocation, check_source};
use crate::db::{from_db, to_db};
use crate::{
    AgreementRecord, AnnotationRecord, Projected, ReportRecord, SeenNonce, SourceRecord, StoreError,
};

/// `BEGIN IMMEDIATE` takes the write lock at once, so a transaction never
/// fails half way for want of it.
const BEGIN: &str = "BEGIN IMMEDIATE";

/// Whether `error` is a violated uniqueness (or primary key) constraint.
fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.is_unique_violation())
}

/// Commits `tx` if `result` is `Ok`, otherwise rolls it back and returns the
/// error.
async fn finish<T>(
    tx: Transaction<'static, Sqlite>,
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
    writer: &SqlitePool,
    entries: Range<u64>,
    batch: &[Projected],
) -> Result<(), StoreError> {
    let end = check_range(&entries, batch)?;
    let mut tx = writer
        .begin_with(BEGIN)
        .await
        .map_err(StoreError::database("starting a batch"))?;
    let result = apply_in(&mut tx, entries.start, end, batch).await;
    finish(tx, result, "committing a batch").await
}

async fn apply_in(
    conn: &mut SqliteConnection,
    start: u64,
    end: i64,
    batch: &[Projected],
) -> Result<(), StoreError> {
    if bulk::worthwhile(batch) {
        check_applied_with_savepoint(conn, start).await?;
        match bulk::write(conn, batch, end).await {
            // The applied size went with the bulk statements.
            Ok(true) => return Ok(()),
            outcome => {
                if let Err(error) = &outcome {
                    tracing::debug!(%error, "a batch's bulk statements failed; writing it item by item");
                }
                let back = sqlx::query("ROLLBACK TO SAVEPOINT truce_batch")
                    .execute(&mut *conn)
                    .await;
                match (back, outcome) {
                    (Ok(_), _) => apply_each(conn, batch).await?,
                    // The transaction is gone (SQLite rolls back the whole
                    // transaction on some errors, such as a full disk): the
                    // bulk statement's own error says why.
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
        let applied: i64 = sqlx::query_scalar("SELECT applied_size FROM store_state WHERE id = 1")
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::database("reading the applied size"))?;
        check_applied(start, applied)?;
        apply_each(conn, batch).await?;
    }
    sqlx::query("UPDATE store_state SET applied_size = ? WHERE id = 1")
        .bind(end)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::database("advancing the applied size"))?;
    Ok(())
}

/// Checks that the batch starts at the applied size and takes the savepoint
/// the bulk statements are written behind, in one round trip.
async fn check_applied_with_savepoint(
    conn: &mut SqliteConnection,
    start: u64,
) -> Result<(), StoreError> {
    // `fetch_all`, not `fetch_one`: the worker stops at the first row when
    // asked for one, and the savepoint would not be taken.
    let rows =
        sqlx::query("SELECT applied_size FROM store_state WHERE id = 1; SAVEPOINT truce_batch")
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::database("reading the applied size"))?;
    let applied: i64 = rows
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
pub(super) async fn apply_each(
    conn: &mut SqliteConnection,
    batch: &[Projected],
) -> Result<(), StoreError> {
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

async fn insert_source(
    conn: &mut SqliteConnection,
    source: &SourceRecord,
) -> Result<(), StoreError> {
    check_source(source)?;
    let registered = to_db("registered_at_index", source.registered_at_index)?;
    let revoked = source
        .revoked_at_index
        .map(|index| to_db("revoked_at_index", index))
        .transpose()?;
    let inserted = sqlx::query(
        "INSERT INTO sources (name, vkey, kind, party, role, registered_at_index, \
         revoked_at_index, revoked_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(error) if is_unique_violation(&error) => {
            let same_name: Option<i64> =
                sqlx::query_scalar("SELECT registered_at_index FROM sources WHERE name = ?")
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
        Err(error) => Err(StoreError::Database {
            operation: "storing a source",
            source: error,
        }),
    }
}

pub(super) async fn revoke_source(
    conn: &mut SqliteConnection,
    name: &str,
    at_index: u64,
    at_ms: i64,
) -> Result<(), StoreError> {
    let current: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT registered_at_index, revoked_at_index FROM sources WHERE name = ?")
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
    sqlx::query("UPDATE sources SET revoked_at_index = ?, revoked_at_ms = ? WHERE name = ?")
        .bind(to_db("at_index", at_index)?)
        .bind(at_ms)
        .bind(name)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::database("revoking a source"))?;
    Ok(())
}

async fn insert_agreement(
    conn: &mut SqliteConnection,
    agreement: &AgreementRecord,
) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO agreements (id, version, interpretation, log_index, content_sha256, title, \
         registered_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&agreement.id)
    .bind(i64::from(agreement.version))
    .bind(&agreement.interpretation)
    .bind(to_db("log_index", agreement.log_index)?)
    .bind(&agreement.content_sha256)
    .bind(&agreement.title)
    .bind(agreement.registered_at_ms)
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(error) if is_unique_violation(&error) => {
            let same_key: Option<i64> = sqlx::query_scalar(
                "SELECT log_index FROM agreements WHERE id = ? AND version = ? \
                 AND interpretation = ?",
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
        Err(error) => Err(StoreError::Database {
            operation: "storing an agreement",
            source: error,
        }),
    }
}

async fn insert_report(
    conn: &mut SqliteConnection,
    report: &ReportRecord,
) -> Result<(), StoreError> {
    check_report(report)?;
    let log_index = to_db("log_index", report.log_index)?;
    let inserted = sqlx::query(
        "INSERT INTO reports (log_index, report_id, agreement_id, source_name, source_kind, \
         party, actor, action, target, start_ms, end_ms, lon, lat, radius_m, submitted_at_ms) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(_) => {}
        Err(error) if is_unique_violation(&error) => {
            let same_index: Option<i64> =
                sqlx::query_scalar("SELECT log_index FROM reports WHERE log_index = ?")
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
            return Err(StoreError::AlreadyStored { what });
        }
        Err(error) => {
            return Err(StoreError::Database {
                operation: "storing a report",
                source: error,
            });
        }
    }
    sqlx::query(
        "INSERT INTO report_points (log_index, min_lon, max_lon, min_lat, max_lat) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(log_index)
    .bind(report.lon)
    .bind(report.lon)
    .bind(report.lat)
    .bind(report.lat)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::database("indexing a report's point"))?;
    for (position, zone_id) in (0_i64..).zip(&report.zone_ids) {
        sqlx::query("INSERT INTO report_zones (log_index, position, zone_id) VALUES (?, ?, ?)")
            .bind(log_index)
            .bind(position)
            .bind(zone_id)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::database("storing a report's zones"))?;
    }
    Ok(())
}

async fn insert_annotation(
    conn: &mut SqliteConnection,
    annotation: &AnnotationRecord,
) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO annotations (log_index, kind, subject, author, body_json, submitted_at_ms) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(to_db("log_index", annotation.log_index)?)
    .bind(annotation.kind.as_str())
    .bind(&annotation.subject)
    .bind(&annotation.author)
    .bind(&annotation.body_json)
    .bind(annotation.submitted_at_ms)
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(error) if is_unique_violation(&error) => Err(StoreError::AlreadyStored {
            what: format!(
                "annotation of {:?} at index {}",
                annotation.subject, annotation.log_index
            ),
        }),
        Err(error) => Err(StoreError::Database {
            operation: "storing an annotation",
            source: error,
        }),
    }
}

async fn insert_receipt(
    conn: &mut SqliteConnection,
    key: &str,
    nonce: &str,
    log_index: u64,
) -> Result<(), StoreError> {
    let inserted = sqlx::query("INSERT INTO receipts (key, nonce, log_index) VALUES (?, ?, ?)")
        .bind(key)
        .bind(nonce)
        .bind(to_db("log_index", log_index)?)
        .execute(&mut *conn)
        .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(error) if is_unique_violation(&error) => Err(StoreError::AlreadyStored {
            what: format!("receipt for key {key:?} nonce {nonce:?}"),
        }),
        Err(error) => Err(StoreError::Database {
            operation: "storing a receipt",
            source: error,
        }),
    }
}

/// See [`Store::remember_nonces`](crate::Store::remember_nonces).
pub(super) async fn remember_nonces(
    writer: &SqlitePool,
    nonces: &[SeenNonce],
) -> Result<(), StoreError> {
    let mut tx = writer
        .begin_with(BEGIN)
        .await
        .map_err(StoreError::database("starting to remember nonces"))?;
    let result = remember_in(&mut tx, nonces).await;
    finish(tx, result, "committing nonces").await
}

async fn remember_in(conn: &mut SqliteConnection, nonces: &[SeenNonce]) -> Result<(), StoreError> {
    for nonce in nonces {
        let inserted = sqlx::query("INSERT INTO nonces (key, nonce_hex, ts_ms) VALUES (?, ?, ?)")
            .bind(&nonce.key)
            .bind(&nonce.nonce_hex)
            .bind(nonce.ts_ms)
            .execute(&mut *conn)
            .await;
        match inserted {
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => {
                return Err(StoreError::NonceSeen {
                    key: nonce.key.clone(),
                    nonce_hex: nonce.nonce_hex.clone(),
                });
            }
            Err(error) => {
                return Err(StoreError::Database {
                    operation: "remembering a nonce",
                    source: error,
                });
            }
        }
    }
    Ok(())
}

/// See [`Store::forget_nonces`](crate::Store::forget_nonces).
pub(super) async fn forget_nonces(writer: &SqlitePool, before_ms: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM nonces WHERE ts_ms < ?")
        .bind(before_ms)
        .execute(writer)
        .await
        .map_err(StoreError::database("forgetting nonces"))?;
    Ok(done.rows_affected())
}
