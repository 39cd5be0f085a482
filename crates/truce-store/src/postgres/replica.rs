//! A read-only handle on the store's database, for a hot standby (a
//! streaming replica) that serves reads: nothing is migrated or written,
//! and the schema found must be the one this build migrates to.

use std::str::FromStr;

use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

use super::{MIGRATOR, PgStore, pool, read};
use crate::StoreError;

/// What the checks below are doing, for [`StoreError::Database`].
const CHECKING: &str = "checking the read replica's schema";

impl PgStore {
    /// Opens a read-only handle on the database at `url`, typically a hot
    /// standby of the primary's database (`pg_basebackup -R`).
    ///
    /// Unlike [`PgStore::connect`], it runs no migrations and never writes:
    /// every connection is made with `default_transaction_read_only=on`, so
    /// a write through this handle fails even on a server that would accept
    /// it. The schema is checked instead: the migrations recorded in the
    /// database (`_sqlx_migrations`) must be exactly those embedded in this
    /// build, with the same checksums, and the store's state row must be
    /// readable. Anything else is refused with a message saying what was
    /// found; a standby that has not yet replayed the primary's latest
    /// migration is refused too, and can be opened once it has.
    ///
    /// The handle answers every read of the [`Store`](crate::Store) trait
    /// with what the database holds, which on a replica may be a prefix of
    /// what the primary holds: [`Store::applied_size`](crate::Store::applied_size)
    /// says which.
    pub async fn open_read_only(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(StoreError::database("reading the PostgreSQL URL"))?
            .options([("default_transaction_read_only", "on")]);
        let pool = pool(options).await?;
        if let Err(error) = check_schema(&pool).await {
            pool.close().await;
            return Err(error);
        }
        if let Err(error) = read::applied_size(&pool).await {
            pool.close().await;
            return Err(error);
        }
        tracing::info!("read-only store opened on PostgreSQL");
        Ok(PgStore { pool })
    }
}

/// A refusal: `message` says what the database holds and what to do.
fn refused(message: String) -> StoreError {
    StoreError::Database {
        operation: CHECKING,
        source: sqlx::Error::InvalidArgument(message),
    }
}

/// Versions, for messages: `1, 2`, or `none`.
fn listed(versions: &[i64]) -> String {
    if versions.is_empty() {
        return "none".to_owned();
    }
    versions
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row of `_sqlx_migrations`.
#[derive(sqlx::FromRow)]
struct Applied {
    version: i64,
    success: bool,
    checksum: Vec<u8>,
}

/// Checks that the database's migrations are this build's, reading only.
async fn check_schema(pool: &PgPool) -> Result<(), StoreError> {
    let table: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(pool)
        .await
        .map_err(StoreError::database(CHECKING))?;
    if table.is_none() {
        return Err(refused(
            "the database holds no truce store (it has no _sqlx_migrations table): \
             read_database must name a replica of the store's database, which the primary \
             has opened at least once"
                .to_owned(),
        ));
    }
    let applied: Vec<Applied> =
        sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
            .fetch_all(pool)
            .await
            .map_err(StoreError::database(CHECKING))?;
    if let Some(partial) = applied.iter().find(|row| !row.success) {
        return Err(refused(format!(
            "migration {} is only partly applied in the database",
            partial.version
        )));
    }
    let expected: Vec<_> = MIGRATOR
        .iter()
        .filter(|migration| migration.migration_type.is_up_migration())
        .collect();
    let found: Vec<i64> = applied.iter().map(|row| row.version).collect();
    let wanted: Vec<i64> = expected.iter().map(|migration| migration.version).collect();
    if let Some(unknown) = found.iter().find(|version| !wanted.contains(version)) {
        return Err(refused(format!(
            "the database has migration {unknown}, which this build does not know \
             (it has migrations {}, this build {}): it was migrated by a newer truce",
            listed(&found),
            listed(&wanted)
        )));
    }
    if found != wanted {
        return Err(refused(format!(
            "the database has migrations {} but this build expects {}: start the primary \
             with this build first, and open the replica once it has replayed the migration",
            listed(&found),
            listed(&wanted)
        )));
    }
    for (row, migration) in applied.iter().zip(&expected) {
        if row.checksum.as_slice() != &*migration.checksum {
            return Err(refused(format!(
                "migration {} ({}) in the database is not this build's (its checksum differs)",
                migration.version, migration.description
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_listed_for_messages() {
        assert_eq!(listed(&[]), "none");
        assert_eq!(listed(&[1, 2]), "1, 2");
    }

    #[test]
    fn this_build_has_up_migrations_to_compare() {
        let versions: Vec<i64> = MIGRATOR
            .iter()
            .filter(|migration| migration.migration_type.is_up_migration())
            .map(|migration| migration.version)
            .collect();
        assert!(versions.len() >= 2, "{versions:?}");
        assert!(versions.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
