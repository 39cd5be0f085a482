//! The PostgreSQL backend: the store in a database of a PostgreSQL server
//! with the PostGIS extension, shared by any number of service instances.
//!
//! Everything specific to PostgreSQL's dialect lives in this module.

mod bulk;
mod lease;
mod log;
mod read;
mod record;
mod replica;
mod write;

pub use lease::{SequencerLease, SequencerState};
pub use log::{PgLog, PgLogError, PgTileStore};
pub use record::{PgBlobs, PgJournal};

use std::ops::Range;
use std::path::Path;
use std::str::FromStr;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::{
    AgreementRecord, AnnotationKind, AnnotationRecord, Page, PageRequest, Projected, ReportFilter,
    ReportRecord, SeenNonce, SourceRecord, Store, StoreError,
};

/// How many connections a store keeps at most.
const CONNECTIONS: u32 = 8;

/// The schema migrations, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// The store in a PostgreSQL database (see the crate documentation for the
/// schema). Clones share the connections; several stores, in one process or
/// in several, may use one database at once.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`,
    /// with any option libpq's URLs take) and brings its schema up to date.
    ///
    /// The migrations hold a PostgreSQL advisory lock while they run, so
    /// several instances may open one database at the same time. The first
    /// migration creates the PostGIS extension unless it exists; a role that
    /// may not create extensions needs an administrator to run
    /// `CREATE EXTENSION postgis` in the database first.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(StoreError::database("reading the PostgreSQL URL"))?;
        Self::connect_with(options).await
    }

    /// Like [`PgStore::connect`], with options already parsed.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = pool(options).await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate { source })?;
        tracing::info!("store opened on PostgreSQL");
        Ok(PgStore { pool })
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A pool of connections made with `options`.
async fn pool(options: PgConnectOptions) -> Result<PgPool, StoreError> {
    // One direct connection first: a server that is down or refuses us is named at
    // once, where the pool would keep retrying until its acquire timeout (30 s).
    let probe = <sqlx::PgConnection as sqlx::Connection>::connect_with(&options)
        .await
        .map_err(StoreError::database("connecting to PostgreSQL"))?;
    // Closing politely can only fail if the server went away meanwhile; the pool below
    // then says so.
    let _ = sqlx::Connection::close(probe).await;
    PgPoolOptions::new()
        .max_connections(CONNECTIONS)
        .connect_with(options)
        .await
        .map_err(StoreError::database("connecting to PostgreSQL"))
}

impl Store for PgStore {
    async fn applied_size(&self) -> Result<u64, StoreError> {
        read::applied_size(&self.pool).await
    }

    async fn apply(&self, entries: Range<u64>, batch: &[Projected]) -> Result<(), StoreError> {
        write::apply(&self.pool, entries, batch).await
    }

    async fn source(&self, name: &str) -> Result<Option<SourceRecord>, StoreError> {
        read::source(&self.pool, name).await
    }

    async fn sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        read::sources(&self.pool).await
    }

    async fn agreements(&self) -> Result<Vec<AgreementRecord>, StoreError> {
        read::agreements(&self.pool).await
    }

    async fn agreement(
        &self,
        id: &str,
        version: Option<u32>,
    ) -> Result<Vec<AgreementRecord>, StoreError> {
        read::agreement(&self.pool, id, version).await
    }

    async fn report(&self, log_index: u64) -> Result<Option<ReportRecord>, StoreError> {
        read::report(&self.pool, log_index).await
    }

    async fn report_by_id(
        &self,
        agreement_id: &str,
        report_id: &str,
    ) -> Result<Option<ReportRecord>, StoreError> {
        read::report_by_id(&self.pool, agreement_id, report_id).await
    }

    async fn reports(
        &self,
        filter: &ReportFilter,
        page: PageRequest,
    ) -> Result<Page<ReportRecord>, StoreError> {
        read::reports(&self.pool, filter, &page).await
    }

    async fn annotations(&self, subject: &str) -> Result<Vec<AnnotationRecord>, StoreError> {
        read::annotations(&self.pool, subject).await
    }

    async fn annotation_indexes(
        &self,
        kinds: &[AnnotationKind],
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u64>, StoreError> {
        read::annotation_indexes(&self.pool, kinds, range).await
    }

    async fn submission(&self, key: &str, nonce: &str) -> Result<Option<u64>, StoreError> {
        read::submission(&self.pool, key, nonce).await
    }

    async fn receipt_keys(
        &self,
        after: Option<(String, String)>,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let query = match &after {
            Some((key, nonce)) => sqlx::query_as(
                "SELECT key, nonce FROM receipts WHERE (key, nonce) > ($1, $2) \
                 ORDER BY key, nonce LIMIT $3",
            )
            .bind(key)
            .bind(nonce),
            None => sqlx::query_as("SELECT key, nonce FROM receipts ORDER BY key, nonce LIMIT $1"),
        };
        query
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::database("listing receipts"))
    }

    async fn remember_nonces(&self, nonces: &[SeenNonce]) -> Result<(), StoreError> {
        write::remember_nonces(&self.pool, nonces).await
    }

    async fn load_nonces(&self, since_ms: i64) -> Result<Vec<SeenNonce>, StoreError> {
        read::load_nonces(&self.pool, since_ms).await
    }

    async fn forget_nonces(&self, before_ms: i64) -> Result<u64, StoreError> {
        write::forget_nonces(&self.pool, before_ms).await
    }

    /// Refused: a PostgreSQL store is backed up with the server's own tools
    /// (`pg_dump` of the database, or base backups with WAL archiving), which
    /// take consistent snapshots while it serves.
    async fn backup(&self, dest: &Path) -> Result<(), StoreError> {
        Err(StoreError::BackupUnsupported {
            path: dest.to_owned(),
            backend: "PostgreSQL",
            advice: "use pg_dump on the database, or base backups of the server",
        })
    }
}
